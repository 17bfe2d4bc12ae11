/* ui_assets.h - the web console's files, built into the binary from
 * provisiond/ui/ (provisiond/ui/embed.cmake writes ui_assets.c). */
#ifndef PROVISIOND_UI_ASSETS_H
#define PROVISIOND_UI_ASSETS_H

#include <stddef.h>

struct ui_asset {
	const char *name; /* "index.html": the path below /ui/ */
	const unsigned char *data;
	size_t len;
};
extern const struct ui_asset ui_assets[];
extern const size_t ui_nassets;

#endif
