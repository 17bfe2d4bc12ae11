/* fuzz_sku_file.c - one SKU file (an operator's INI) through the per-file
 * parser the catalog loader uses (sku_load_file, over an in-memory file),
 * then what the catalog does with an accepted SKU: its JSON, its example
 * machine (which must match it) and the overlap check against every SKU of
 * the shipped catalog (a pair it passes has no machine in common, so the
 * new SKU's example machine matches none of those). */
#include "fuzz_common.h"
#include "skus/sku_internal.h"

#include <jansson.h>

static struct sku_catalog *catalog;

static void load_catalog(void)
{
	char dir[512];
	struct err e = {0};
	const char *src = getenv("PROVISIOND_SOURCE_DIR");
	snprintf(dir, sizeof dir, "%s/skus/catalog", src ? src : ".");
	if (sku_catalog_load_dir(dir, &catalog, &e) != ERR_OK) {
		fprintf(stderr, "catalog: %s\n", e.message);
		abort();
	}
}

static void check_accepted(const struct sku *s)
{
	FUZZ_CHECK(sku_name_valid(sku_name(s)));
	char *js = sku_to_json(s);
	json_t *o = js ? json_loads(js, 0, NULL) : NULL;
	FUZZ_CHECK(json_is_object(o));
	json_decref(o);
	free(js);
	char *example = sku_example_facts_json(s, NULL);
	FUZZ_CHECK(example && sku_check_json(s, example, NULL) == 0);
	for (size_t i = 0; i < sku_catalog_count(catalog); i++) {
		const struct sku *c = sku_catalog_at(catalog, i);
		struct err e = {0};
		if (sku_check_overlap(c, s, &e) == ERR_OK)
			FUZZ_CHECK(sku_check_json(c, example, NULL) != 0);
		else
			FUZZ_CHECK(e.status == ERR_INVALID && e.message[0]);
	}
	free(example);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!catalog)
		load_catalog();
	char path[64];
	int fd = fuzz_memfile(data, size, path, sizeof path);
	FUZZ_CHECK(fd >= 0);
	struct sku *s = NULL;
	struct err e = {0};
	enum err_status st = sku_load_file(path, &s, &e);
	close(fd);
	FUZZ_CHECK((st == ERR_OK) == (s != NULL));
	if (s) {
		check_accepted(s);
		sku_free(s);
		return 0;
	}
	/* a bad file: "PATH:LINE: message", the key at fault when there is one */
	char prefix[80];
	snprintf(prefix, sizeof prefix, "%s:", path);
	FUZZ_CHECK(st == ERR_INVALID && fuzz_starts(e.message, prefix));
	return 0;
}
