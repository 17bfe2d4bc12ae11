/* fuzz_facts.c - agent-reported hardware facts (network input) through the
 * SKU matcher, against the shipped catalog. */
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
	if ((rc == 0) != (out != NULL))
		abort();
	free(reasons);
	free(s);
	return 0;
}
