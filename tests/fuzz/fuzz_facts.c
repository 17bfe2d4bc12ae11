/* fuzz_facts.c - agent-reported hardware facts (network input) through the
 * SKU matcher, against the shipped catalog. Beyond "no crash", what
 * sku_match_json promises and agent_api_inventory relies on: a match names
 * one SKU; no match says why per SKU; invalid facts give a reason that
 * starts with the offending field and ": " (the error's field). */
#include "skus/sku.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct sku_catalog *catalog;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!catalog) {
		char dir[512];
		struct err e = {0};
		const char *src = getenv("PROVISIOND_SOURCE_DIR");
		snprintf(dir, sizeof dir, "%s/skus/catalog", src ? src : ".");
		if (sku_catalog_load_dir(dir, &catalog, &e) != ERR_OK) {
			fprintf(stderr, "catalog: %s\n", e.message);
			abort();
		}
	}
	char *s = malloc(size + 1);
	memcpy(s, data, size);
	s[size] = 0;
	const struct sku *out = NULL;
	char *reasons = NULL;
	int rc = sku_match_json(catalog, s, &out, &reasons);
	if ((rc == 0) != (out != NULL) || (rc == 0) != (reasons == NULL))
		abort();
	if (rc < 0 && (!strstr(reasons, ": ") || strstr(reasons, ": ") == reasons))
		abort(); /* the field is missing */
	if (rc == 1 && (!*reasons || reasons[strlen(reasons) - 1] == '\n'))
		abort();
	free(reasons);
	free(s);
	return 0;
}
