/* docgen_md.h - what provisiond's documentation generator reads from the
 * Markdown documentation: the option tables of docs/config.md, and text
 * helpers shared by the generator (docgen.c) and its checks (docgen_check.c).
 * Functions that allocate say so; nothing is thread-safe (a build tool). */
#ifndef PROVISIOND_DOCGEN_MD_H
#define PROVISIOND_DOCGEN_MD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* One key of a settings table of docs/config.md ("### `[section]`"). */
struct md_setting {
	char section[32], key[64];
	char deflt[256]; /* the default cell as written */
	char range[64];	 /* the range cell ("" when the table has none) */
	char meaning[4096];
	bool has_range; /* the table has a range column */
	int line;
};

/* One row of the "Command line" table of docs/config.md. */
struct md_flag {
	char flags[128];     /* "`-h`, `--help`" */
	char overrides[128]; /* "database.path" or "" */
	int line;
};

struct md_config {
	struct md_setting *settings; /* malloc'd */
	size_t nsettings;
	struct md_flag *flags; /* malloc'd */
	size_t nflags;
};

/* Reads a whole file; malloc'd and NUL-terminated, NULL on error. */
char *md_read_file(const char *path);
/* Parses docs/config.md text into *out (free with md_config_free). 0 or -1
 * (out of memory). */
int md_config_parse(const char *text, struct md_config *out);
void md_config_free(struct md_config *c);
/* The documented row of section.key, or NULL. */
const struct md_setting *md_config_find(const struct md_config *c, const char *section,
					const char *key);
/* Copies a Markdown cell without its backticks and surrounding blanks. */
void md_plain(char *dst, size_t size, const char *cell);
/* Writes Markdown inline text as roff: `code` and **bold** bold, links as
 * their text, roff's special characters escaped. */
void md_to_roff(FILE *out, const char *md);
/* Writes plain text escaped for roff (backslashes, leading dots, hyphens). */
void roff_text(FILE *out, const char *s);

#endif
