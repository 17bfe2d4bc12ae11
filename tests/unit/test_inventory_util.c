/* test_inventory_util.c - fixtures and helpers shared by the inventory tests.
 *
 * Each test gets its own temporary directory (removed afterwards) holding
 * inv.db. The test files declare the few helpers they use from here; the
 * fixture struct stays private behind the tinv_* accessors. */
#include "inventory/inventory.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ftw.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct tinv_fx {
	char dir[512];
	char path[600];
	struct inv *inv;
};

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* The key every test inventory is opened with (a fixed one: tests that
 * need another key make their own). */
const struct inv_key *tinv_key(void)
{
	static const struct inv_key key = {.bytes = "unit-test key, not a secret"};
	return &key;
}

/* Creates the temp directory only (schema tests open files themselves). */
int tinv_setup_dir(void **state)
{
	struct tinv_fx *fx = calloc(1, sizeof *fx);
	if (!fx)
		return -1;
	const char *tmp = getenv("TMPDIR");
	snprintf(fx->dir, sizeof fx->dir, "%s/invtest.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(fx->dir)) {
		free(fx);
		return -1;
	}
	snprintf(fx->path, sizeof fx->path, "%s/inv.db", fx->dir);
	*state = fx;
	return 0;
}

/* Temp directory plus an open, migrated inventory at inv.db. */
int tinv_setup(void **state)
{
	if (tinv_setup_dir(state) != 0)
		return -1;
	struct tinv_fx *fx = *state;
	struct inv_err err = {0};
	if (inv_open(fx->path, tinv_key(), &fx->inv, &err) != INV_OK) {
		fprintf(stderr, "inv_open: %s\n", err.message);
		return -1;
	}
	return 0;
}

int tinv_teardown(void **state)
{
	struct tinv_fx *fx = *state;
	if (!fx)
		return 0;
	inv_close(fx->inv);
	int rc = nftw(fx->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(fx);
	*state = NULL;
	return rc;
}

struct inv *tinv_inv(void **state)
{
	return ((struct tinv_fx *)*state)->inv;
}

const char *tinv_path(void **state)
{
	return ((struct tinv_fx *)*state)->path;
}

const char *tinv_dir(void **state)
{
	return ((struct tinv_fx *)*state)->dir;
}

/* Closes and reopens the fixture's inventory (e.g. after editing the file). */
void tinv_reopen(void **state)
{
	struct tinv_fx *fx = *state;
	inv_close(fx->inv);
	fx->inv = NULL;
	struct inv_err err = {0};
	enum inv_status s = inv_open(fx->path, tinv_key(), &fx->inv, &err);
	if (s != INV_OK)
		fail_msg("reopen: %s: %s", inv_status_name(s), err.message);
}

/* One integer from sql (optional text parameter ?1) on a private
 * connection, so tests see what is in the file, not what the API says. */
int64_t tinv_scalar(const char *path, const char *sql, const char *arg)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		fail_msg("open %s: %s", path, sqlite3_errmsg(db));
	sqlite3_busy_timeout(db, 10000);
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		fail_msg("prepare %s: %s", sql, sqlite3_errmsg(db));
	if (arg)
		sqlite3_bind_text(st, 1, arg, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) != SQLITE_ROW)
		fail_msg("no row for %s: %s", sql, sqlite3_errmsg(db));
	int64_t v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

/* Runs sql (several statements allowed) on a read-write connection. */
void tinv_exec(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
	    SQLITE_OK)
		fail_msg("open %s: %s", path, sqlite3_errmsg(db));
	sqlite3_busy_timeout(db, 10000);
	char *msg = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("exec %s: %s", sql, msg ? msg : "?");
	sqlite3_close(db);
}

/* Whole file into a malloc'd buffer; *len gets its size. */
unsigned char *tinv_slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot read %s", path);
	size_t cap = 4096, n = 0;
	unsigned char *buf = malloc(cap);
	size_t got;
	while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
		n += got;
		if (n == cap) {
			unsigned char *p = realloc(buf, cap * 2);
			if (!p) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = p;
			cap *= 2;
		}
	}
	fclose(f);
	assert_non_null(buf);
	*len = n;
	return buf;
}

void tinv_spit(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		fail_msg("cannot write %s", path);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* Enrolls a machine with one MAC (NULL: none); with sku set, moves it to
 * available with that SKU, as the lifecycle would after inspection. */
void tinv_machine(struct inv *inv, const char *name, const char *mac, const char *sku,
		  char id[INV_ID_LEN])
{
	struct inv_machine_new n = {
	    .name = name,
	    .location = {.site = "lab", .rack = "r1", .unit = 3},
	    .nmacs = mac ? 1 : 0,
	    .macs = {mac},
	    .actor = "test",
	    .request_id = "req",
	};
	struct inv_machine m = {0};
	struct inv_err err = {0};
	enum inv_status s = inv_machine_create(inv, &n, &m, &err);
	if (s != INV_OK)
		fail_msg("create %s: %s: %s", name, inv_status_name(s), err.message);
	if (sku) {
		struct inv_machine_change c = {
		    .expect_version = m.version,
		    .set_state = true,
		    .state = INV_ST_AVAILABLE,
		    .set_sku = true,
		    .sku = sku,
		    .actor = "test",
		};
		s = inv_machine_change(inv, m.id, &c, &m, &err);
		if (s != INV_OK)
			fail_msg("make %s available: %s: %s", name, inv_status_name(s),
				 err.message);
	}
	if (id)
		snprintf(id, INV_ID_LEN, "%s", m.id);
	inv_machine_clear(&m);
}

/* A pool of n available machines of sku named <prefix>-<i>. */
void tinv_pool(struct inv *inv, const char *prefix, const char *sku, int n)
{
	for (int i = 0; i < n; i++) {
		char name[64];
		snprintf(name, sizeof name, "%s-%d", prefix, i);
		tinv_machine(inv, name, NULL, sku, NULL);
	}
}

/* Moves machine id (any state) to state, compare-and-swap on its version. */
void tinv_set_state(struct inv *inv, const char *id, enum inv_state st)
{
	struct inv_machine m = {0};
	struct inv_err err = {0};
	assert_int_equal(inv_machine_get(inv, id, &m, &err), INV_OK);
	struct inv_machine_change c = {
	    .expect_version = m.version, .set_state = true, .state = st, .actor = "test"};
	enum inv_status s = inv_machine_change(inv, id, &c, NULL, &err);
	inv_machine_clear(&m);
	if (s != INV_OK)
		fail_msg("set %s %s: %s", id, inv_state_name(st), err.message);
}
