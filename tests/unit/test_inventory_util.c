/* test_inventory_util.c - fixtures and helpers shared by the inventory tests.
 *
 * Each test gets its own temporary directory (removed afterwards) holding
 * inv.db. With PROVISIOND_TEST_PG set (tests/pg_fixture.sh: the conninfo of
 * a throwaway PostgreSQL server) the inventory is on PostgreSQL instead, in
 * a schema of its own per test (dropped afterwards), and tinv_path() is
 * that schema's conninfo. The test files declare the few helpers they use
 * from here; the fixture struct stays private behind the tinv_* accessors. */
#include "inventory/internal.h"

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
	char schema[48];    /* PostgreSQL: this test's schema ("" on SQLite) */
	char extra[16][48]; /* PostgreSQL: schemas of tinv_new_db(), dropped too */
	int nextra;
	struct inv *inv;
};

/* The PostgreSQL server's conninfo, or NULL: the tests run on SQLite. */
const char *tinv_pg(void)
{
	const char *pg = getenv("PROVISIOND_TEST_PG");
	return pg && *pg ? pg : NULL;
}

/* Runs sql on the server's own database (not a test's schema). */
static void pg_admin(const char *sql)
{
	struct inv_conn c = {0};
	struct inv_err err = {0};
	if (inv_conn_open(&c, tinv_pg(), true, &err) != INV_OK ||
	    inv_exec_sql(&c, sql, "fixture", &err) != INV_OK)
		fail_msg("PostgreSQL fixture: %s", err.message);
	inv_conn_close(&c);
}

/* A new empty schema: its name in schema, its conninfo in path. */
static void pg_schema(char schema[48], char *path, size_t len)
{
	static int n;
	snprintf(schema, 48, "t%d_%d", (int)getpid(), ++n);
	char sql[160];
	snprintf(sql, sizeof sql, "DROP SCHEMA IF EXISTS %s CASCADE; CREATE SCHEMA %s", schema,
		 schema);
	pg_admin(sql);
	snprintf(path, len, "%s options='-c search_path=%s'", tinv_pg(), schema);
}

static void pg_drop(const char *schema)
{
	char sql[96];
	snprintf(sql, sizeof sql, "DROP SCHEMA %.48s CASCADE", schema);
	pg_admin(sql);
}

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
	if (tinv_pg())
		pg_schema(fx->schema, fx->path, sizeof fx->path);
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
	if (fx->schema[0])
		pg_drop(fx->schema);
	for (int i = 0; i < fx->nextra; i++)
		pg_drop(fx->extra[i]);
	int rc = nftw(fx->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(fx);
	*state = NULL;
	return rc;
}

/* A further database of this test, named name: a file in its directory
 * on SQLite (not created), a new empty schema on PostgreSQL. */
void tinv_new_db(void **state, const char *name, char *out, size_t len)
{
	struct tinv_fx *fx = *state;
	if (!tinv_pg()) {
		snprintf(out, len, "%s/%s.db", fx->dir, name);
		return;
	}
	if (fx->nextra == (int)(sizeof fx->extra / sizeof fx->extra[0]))
		fail_msg("tinv_new_db: too many databases in one test");
	pg_schema(fx->extra[fx->nextra++], out, len);
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

/* tinv_scalar() and tinv_exec() on PostgreSQL, through the inventory's
 * own statement layer (?1 is its :arg). */
static int64_t pg_scalar(const char *path, const char *sql, const char *arg)
{
	char text[1024];
	snprintf(text, sizeof text, "%s", sql);
	for (char *p = strstr(text, "?1"); p && strlen(text) + 2 < sizeof text;
	     p = strstr(p, "?1")) {
		memmove(p + 4, p + 2, strlen(p + 2) + 1);
		memcpy(p, ":arg", 4);
	}
	struct inv_conn c = {0};
	struct inv_err err = {0};
	struct inv_q *q = NULL;
	bool row = false;
	if (inv_conn_open(&c, path, false, &err) != INV_OK || !(q = inv_prep(&c, text, &err)))
		fail_msg("prepare %s: %s", sql, err.message);
	if (arg)
		inv_bind_text(q, ":arg", arg);
	if (inv_step(q, &row, "scalar", &err) != INV_OK || !row)
		fail_msg("no row for %s: %s", sql, err.message);
	int64_t v = inv_col_int64(q, 0);
	inv_q_free(q);
	inv_conn_close(&c);
	return v;
}

static void pg_exec(const char *path, const char *sql)
{
	struct inv_conn c = {0};
	struct inv_err err = {0};
	if (inv_conn_open(&c, path, true, &err) != INV_OK ||
	    inv_exec_sql(&c, sql, "exec", &err) != INV_OK)
		fail_msg("exec %s: %s", sql, err.message);
	inv_conn_close(&c);
}

/* One integer from sql (optional text parameter ?1) on a private
 * connection, so tests see what is in the file, not what the API says. */
int64_t tinv_scalar(const char *path, const char *sql, const char *arg)
{
	if (tinv_pg() && strstr(path, "search_path"))
		return pg_scalar(path, sql, arg);
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
	if (tinv_pg() && strstr(path, "search_path")) {
		pg_exec(path, sql);
		return;
	}
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
