/* engine_fixture.c - the lifecycle tests' inventory, BMC manager and catalog
 * (engine_fixture.h). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_fixture.h"
#include "provisiond/bmc/bmc.h"
#include "provisiond/lifecycle/lifecycle.h"
#include "skus/sku.h"

const char *ef_source_dir(void)
{
	const char *src = getenv("PROVISIOND_SOURCE_DIR");
	if (!src || !*src)
		fail_msg("PROVISIOND_SOURCE_DIR is not set (run the test through ctest)");
	return src;
}

void ef_open(struct engine_fixture *f, const char *test, const struct bmc_limits *bl)
{
	static const struct inv_key key = {.bytes = "engine fixture key"};
	const char *tmp = getenv("TMPDIR");
	char path[512];
	struct inv_err ie = {0};
	struct bmc_limits def;

	*f = (struct engine_fixture){0};
	snprintf(f->dir, sizeof f->dir, "%s/%s.XXXXXX", tmp && *tmp ? tmp : "/tmp", test);
	assert_non_null(mkdtemp(f->dir));
	snprintf(path, sizeof path, "%s/provisiond.db", f->dir);
	if (inv_open(path, &key, &f->a.inv, &ie) != INV_OK)
		fail_msg("inv_open: %s", ie.message);
	if (bl == NULL) {
		bmc_limits_default(&def);
		bl = &def;
	}
	f->a.bmc = bmc_manager_new(bl);
	assert_non_null(f->a.bmc);
	pthread_rwlock_init(&f->a.catalog_lock, NULL);
	config_defaults(&f->a.cfg);
}

void ef_load_catalog(struct engine_fixture *f, const char *dir)
{
	char path[512];
	struct err e = {0};

	if (dir == NULL) {
		snprintf(path, sizeof path, "%s/skus/catalog", ef_source_dir());
		dir = path;
	}
	if (sku_catalog_load_dir(dir, &f->a.catalog, &e) != ERR_OK)
		fail_msg("catalog %s: %s", dir, e.message);
}

void ef_start(struct engine_fixture *f)
{
	struct err e = {0};
	if (lc_start(&f->a, &f->a.lc, &e) != ERR_OK)
		fail_msg("lc_start: %s", e.message);
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	if (remove(path) != 0)
		fprintf(stderr, "cannot remove %s\n", path);
	return 0;
}

void ef_close(struct engine_fixture *f)
{
	lc_stop(f->a.lc);
	f->a.lc = NULL;
	inv_close(f->a.inv);
	bmc_manager_free(f->a.bmc);
	sku_catalog_free(f->a.catalog);
	pthread_rwlock_destroy(&f->a.catalog_lock);
	nftw(f->dir, remove_one, 8, FTW_DEPTH | FTW_PHYS);
}

void ef_enroll(struct engine_fixture *f, const char *name, const char *options,
	       const struct inv_location *loc, char *id)
{
	static unsigned serial;
	char password[] = "secret", opts[256], mac[18];
	snprintf(mac, sizeof mac, "52:54:0f:%02x:%02x:%02x", (serial >> 16) & 0xff,
		 (serial >> 8) & 0xff, serial & 0xff);
	serial++;
	snprintf(opts, sizeof opts, "%s", options);
	struct inv_bmc b = {.driver = "fake", .password = password, .options_json = opts};
	snprintf(b.address, sizeof b.address, "fake-%s", name);
	snprintf(b.username, sizeof b.username, "admin");
	struct inv_machine_new n = {.name = name,
				    .location = loc ? *loc : (struct inv_location){.unit = -1},
				    .nmacs = 1,
				    .macs = {mac},
				    .bmc = &b,
				    .actor = "test",
				    .request_id = "req",
				    .wake_at = inv_now_ms()};
	struct inv_machine m = {0};
	struct inv_err e = {0};
	if (inv_machine_create(f->a.inv, &n, &m, &e) != INV_OK)
		fail_msg("enroll %s: %s", name, e.message);
	if (id != NULL)
		snprintf(id, INV_ID_LEN, "%s", m.id);
	inv_machine_clear(&m);
}

void ef_reserve(struct engine_fixture *f, const char *sku, bool prefer_warm,
		struct inv_allocation *al)
{
	struct inv_err e = {0};
	struct inv_image img = {.name = "img", .format = "raw", .size = 1024};
	snprintf(img.url, sizeof img.url, "http://images.example/img.raw");
	memset(img.sha256, 'a', 64);
	if (inv_image_create(f->a.inv, &img, "test", "req", &e) != INV_OK &&
	    e.status != INV_DUPLICATE)
		fail_msg("image: %s", e.message);
	struct inv_alloc_request r = {.owner = "alice",
				      .sku = sku,
				      .image = "img",
				      .count = 1,
				      .min_count = 1,
				      .quota = -1,
				      .actor = "alice",
				      .request_id = "req",
				      .wake_at = inv_now_ms(),
				      .prefer_warm = prefer_warm};
	if (inv_allocation_reserve(f->a.inv, &r, al, &e) != INV_OK)
		fail_msg("reserve: %s", e.message);
}
