/* engine_fixture.h - what the lifecycle tests (test_lifecycle, test_engine,
 * test_warm) run on: a real SQLite inventory in a temporary directory, a BMC
 * manager with the fake driver, a SKU catalog and the configuration's
 * defaults, in a struct app as provisiond has them. Every function fails
 * the test (cmocka) on error. */
#ifndef PROVISIOND_TESTS_ENGINE_FIXTURE_H
#define PROVISIOND_TESTS_ENGINE_FIXTURE_H

#include "inventory/inventory.h"
#include "provisiond/app.h"

struct bmc_limits;

struct engine_fixture {
	char dir[256]; /* the temporary directory: provisiond.db, and what a test adds */
	struct app a;  /* inv, bmc, catalog (after ef_load_catalog), catalog_lock, cfg */
};

/* The source tree (PROVISIOND_SOURCE_DIR, which ctest sets). */
const char *ef_source_dir(void);
/* A directory $TMPDIR/test.XXXXXX with an inventory, a BMC manager with bl
 * (NULL: bmc_limits_default) and the configuration's defaults. */
void ef_open(struct engine_fixture *f, const char *test, const struct bmc_limits *bl);
/* Loads the catalog of dir (NULL: the shipped skus/catalog). */
void ef_load_catalog(struct engine_fixture *f, const char *dir);
/* Starts the engine's threads (lc_start) into f->a.lc. */
void ef_start(struct engine_fixture *f);
/* Stops the engine if it runs, frees everything and removes the directory. */
void ef_close(struct engine_fixture *f);

/* Enrolls a machine with a MAC of its own and a fake BMC (user admin,
 * password secret) of the given options JSON, at loc (NULL: no location),
 * due now; its id to id when not NULL. */
void ef_enroll(struct engine_fixture *f, const char *name, const char *options,
	       const struct inv_location *loc, char *id);
/* Reserves one machine of sku for alice (no quota) with image "img",
 * registered on first use; prefer_warm as the request's. */
void ef_reserve(struct engine_fixture *f, const char *sku, bool prefer_warm,
		struct inv_allocation *al);

#endif
