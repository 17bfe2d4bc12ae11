/* test_inventory_schema.c - opening, migrations and refusing files that are
 * not ours (inventory/schema.c, inventory/db.c). */
#include "inventory/internal.h"
#include "inventory/secrets.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* test_inventory_util.c */
const struct inv_key *tinv_key(void);
int tinv_setup_dir(void **state);
int tinv_teardown(void **state);
const char *tinv_path(void **state);
const char *tinv_dir(void **state);
int64_t tinv_scalar(const char *path, const char *sql, const char *arg);
void tinv_exec(const char *path, const char *sql);
unsigned char *tinv_slurp(const char *path, size_t *len);
void tinv_spit(const char *path, const void *data, size_t len);
void tinv_machine(struct inv *inv, const char *name, const char *mac, const char *sku,
		  char id[INV_ID_LEN]);
const char *tinv_pg(void);
void tinv_new_db(void **state, const char *name, char *out, size_t len);

/* On PostgreSQL (tinv_pg()) the databases are schemas, the version is the
 * row of provisiond_schema, and the tests of damaged or foreign files are
 * SQLite's alone. */
static int64_t user_version(const char *path)
{
	if (tinv_pg())
		return tinv_scalar(path, "SELECT version FROM provisiond_schema", NULL);
	return tinv_scalar(path, "PRAGMA user_version", NULL);
}

static void set_version(const char *path, int v)
{
	char sql[64];
	snprintf(sql, sizeof sql,
		 tinv_pg() ? "UPDATE provisiond_schema SET version = %d" : "PRAGMA user_version=%d",
		 v);
	tinv_exec(path, sql);
}

static bool has_table(const char *path, const char *name)
{
	if (tinv_pg())
		return tinv_scalar(path,
				   "SELECT count(*) FROM pg_tables WHERE schemaname ="
				   " current_schema() AND tablename=?1",
				   name) == 1;
	return tinv_scalar(path,
			   "SELECT count(*) FROM sqlite_master WHERE type='table' AND name=?1",
			   name) == 1;
}

/* The tables each schema version introduced. */
static const struct {
	int since;
	const char *table;
} tables[] = {
    {1, "machines"},
    {1, "nics"},
    {1, "bmcs"},
    {1, "machine_events"},
    {1, "images"},
    {1, "allocations"},
    {1, "allocation_machines"},
    {1, "audit"},
    {1, "tokens"},
    {1, "idempotency_keys"},
    {1, "quotas"},
    {2, "boot_tokens"},
    {2, "settings"},
    {7, "machine_counts"},
};

static void check_tables(const char *path, int version)
{
	for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++)
		if (has_table(path, tables[i].table) != (tables[i].since <= version))
			fail_msg("version %d: table %s %s", version, tables[i].table,
				 tables[i].since <= version ? "missing" : "present too early");
}

/* ------------------------------------------------- empty file -> latest */

static void test_empty_to_latest(void **state)
{
	static const struct {
		const char *what;
		bool create_empty_file;
	} cases[] = {{"no file", false}, {"zero-byte file", true}};
	assert_true(inv_schema_version() >= 1);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char path[700], name[32];
		snprintf(name, sizeof name, "empty-%zu", i);
		tinv_new_db(state, name, path, sizeof path);
		if (cases[i].create_empty_file && !tinv_pg())
			tinv_spit(path, "", 0);
		struct inv *inv = NULL;
		struct inv_err err = {0};
		enum inv_status s = inv_open(path, tinv_key(), &inv, &err);
		if (s != INV_OK)
			fail_msg("%s: %s: %s", cases[i].what, inv_status_name(s), err.message);
		assert_non_null(inv);
		/* usable right away */
		tinv_machine(inv, "first", "02:00:00:00:00:01", NULL, NULL);
		inv_close(inv);
		assert_int_equal(user_version(path), inv_schema_version());
		check_tables(path, inv_schema_version());
		assert_int_equal(tinv_scalar(path, "SELECT count(*) FROM machines", NULL), 1);
	}
}

/* ------------------------------------------- every earlier version -> latest */

#define M1 "00000000-0000-4000-8000-000000000001"
#define A1 "00000000-0000-4000-8000-0000000000a1"

/* Representative rows valid at each version, and a check that each is still
 * there after the upgrade. */
static const struct {
	int since;
	const char *insert;
	const char *check; /* SELECT count(*) ... that must be 1 */
} seeds[] = {
    {1,
     "INSERT INTO machines(id, name, state, sku, allocation_id, created_at, updated_at,"
     " state_since) VALUES('" M1 "', 'seed-m1', 'deploying', 's1', '" A1 "', 1, 1, 1)",
     "SELECT count(*) FROM machines WHERE id='" M1 "' AND name='seed-m1' AND"
     " state='deploying' AND sku='s1' AND allocation_id='" A1 "'"},
    {1, "INSERT INTO nics(mac, machine_id) VALUES('02:00:00:00:00:01', '" M1 "')",
     "SELECT count(*) FROM nics WHERE mac='02:00:00:00:00:01' AND machine_id='" M1 "'"},
    {1,
     "INSERT INTO machine_events(machine_id, at, from_state, to_state, actor)"
     " VALUES('" M1 "', 1, 'available', 'deploying', 'seed')",
     "SELECT count(*) FROM machine_events WHERE machine_id='" M1 "' AND to_state='deploying'"},
    {1,
     "INSERT INTO images(name, path, format, sha256, size, created_at)"
     " VALUES('img1', '/srv/img1', 'raw', 'ab', 10, 1)",
     "SELECT count(*) FROM images WHERE name='img1' AND size=10"},
    {1,
     "INSERT INTO images(name, url, format, sha256, created_at)"
     " VALUES('img2', 'http://h/img2', 'raw', 'cd', 1)",
     "SELECT count(*) FROM images WHERE name='img2' AND url='http://h/img2'"},
    {1,
     "INSERT INTO allocations(id, name, owner, sku, image, count, min_count, state,"
     " created_at, updated_at) VALUES('" A1 "', 'seed-a', 'alice', 's1', 'img1', 1, 1,"
     " 'deploying', 1, 1)",
     "SELECT count(*) FROM allocations WHERE id='" A1 "' AND owner='alice'"},
    {1,
     "INSERT INTO allocation_machines(allocation_id, machine_id, attached_at)"
     " VALUES('" A1 "', '" M1 "', 1)",
     "SELECT count(*) FROM allocation_machines WHERE allocation_id='" A1 "'"},
    {1,
     "INSERT INTO audit(at, actor, action, target_type, target_id)"
     " VALUES(1, 'seed', 'seed.action', 'machine', '" M1 "')",
     "SELECT count(*) FROM audit WHERE action='seed.action'"},
    {1,
     "INSERT INTO tokens(id, name, role, owner, hash, created_at)"
     " VALUES('t1', 'seed-token', 'admin', '', 'hash1', 1)",
     "SELECT count(*) FROM tokens WHERE hash='hash1'"},
    {1,
     "INSERT INTO idempotency_keys(owner, key, allocation_id, created_at)"
     " VALUES('alice', 'k1', '" A1 "', 1)",
     "SELECT count(*) FROM idempotency_keys WHERE owner='alice' AND key='k1'"},
    {1, "INSERT INTO quotas(owner, sku, machines) VALUES('alice', 's1', 5)",
     "SELECT count(*) FROM quotas WHERE owner='alice' AND machines=5"},
    {2,
     "INSERT INTO boot_tokens(hash, machine_id, kind, created_at, expires_at)"
     " VALUES('bt1', '" M1 "', 'boot', 1, 99999999999999)",
     "SELECT count(*) FROM boot_tokens WHERE hash='bt1'"},
    {2, "INSERT INTO settings(key, value, updated_at) VALUES('freeze', 'on', 1)",
     "SELECT count(*) FROM settings WHERE key='freeze' AND value='on'"},
};

/* BMC passwords are stored sealed from this version on (secrets.h). */
#define SEALED_SINCE 5

/* M1's BMC access as the provisiond of version v stored it: the password in
 * clear before SEALED_SINCE, sealed from then on. */
static void seed_bmc(const char *path, int v)
{
	char ad[INV_AD_LEN], sql[1024];
	inv_bmc_password_ad(M1, ad);
	char *pw = v >= SEALED_SINCE ? inv_seal(tinv_key(), ad, "pw", NULL) : strdup("pw");
	assert_non_null(pw);
	snprintf(sql, sizeof sql,
		 "INSERT INTO bmcs(machine_id, driver, address, username, password)"
		 " VALUES('" M1 "', 'ipmi', '10.0.0.1', 'admin', '%s')",
		 pw);
	free(pw);
	tinv_exec(path, sql);
}

/* The upgraded database must also work through the API. */
static void check_api_after_upgrade(struct inv *inv, int from)
{
	struct inv_err err = {0};
	struct inv_machine m = {0};
	assert_int_equal(inv_machine_get_by_mac(inv, "02:00:00:00:00:01", &m, &err), INV_OK);
	assert_string_equal(m.name, "seed-m1");
	assert_string_equal(m.allocation_id, A1);
	assert_string_equal(m.owner, "alice");
	assert_true(m.has_bmc);
	inv_machine_clear(&m);
	/* the password stored in clear (or sealed) before still reads back */
	struct inv_bmc b = {0};
	assert_int_equal(inv_machine_bmc(inv, M1, &b, &err), INV_OK);
	assert_string_equal(b.username, "admin");
	assert_string_equal(b.password, "pw");
	inv_bmc_clear(&b);

	struct inv_allocation a = {0};
	assert_int_equal(inv_allocation_get(inv, A1, &a, &err), INV_OK);
	assert_int_equal(a.nmachines, 1);
	assert_string_equal(a.machines[0].id, M1);
	inv_allocation_clear(&a);

	/* schema 5: images have a state; a URL image (the agent fetched it
	 * from its URL) is fetched into the store after the upgrade */
	struct inv_image img;
	assert_int_equal(inv_image_get(inv, "img1", &img, &err), INV_OK);
	assert_int_equal(img.state, INV_IMG_READY);
	assert_string_equal(img.path, "/srv/img1");
	if (from < 5) {
		assert_int_equal(img.file_inode, 0); /* not recorded: not compared */
		assert_int_equal(img.file_size, -1);
		assert_int_equal(inv_image_get(inv, "img2", &img, &err), INV_OK);
		assert_int_equal(img.state, INV_IMG_FETCHING);
		assert_int_equal(inv_image_next_fetching(inv, 0, &img, &err), INV_OK);
		assert_string_equal(img.name, "img2");
	}

	int q = 0;
	assert_int_equal(inv_quota_get(inv, "alice", "s1", &q, &err), INV_OK);
	assert_int_equal(q, 5);

	char mid[INV_ID_LEN];
	if (from < 2) /* the table came with the upgrade: it must take new rows */
		assert_int_equal(
		    inv_boot_token_add(inv, "bt1", M1, "boot", inv_now_ms() + 60000, &err), INV_OK);
	assert_int_equal(inv_boot_token_take(inv, "bt1", "boot", false, mid, &err), INV_OK);
	assert_string_equal(mid, M1);
	/* an idempotency key stored at the old version still replays */
	struct inv_alloc_request r = {.owner = "alice",
				      .sku = "s1",
				      .image = "img1",
				      .count = 1,
				      .min_count = 1,
				      .idempotency_key = "k1",
				      .quota = -1,
				      .actor = "test"};
	assert_int_equal(inv_allocation_reserve(inv, &r, &a, &err), INV_OK);
	assert_string_equal(a.id, A1);
	assert_true(a.replayed);
	inv_allocation_clear(&a);
}

static void test_upgrade_from_every_version(void **state)
{
	const int latest = inv_schema_version();
	for (size_t i = 0; i < sizeof seeds / sizeof seeds[0]; i++)
		assert_true(seeds[i].since <= latest);
	for (int v = 1; v <= latest; v++) {
		char path[700], name[32];
		snprintf(name, sizeof name, "v%d", v);
		tinv_new_db(state, name, path, sizeof path);
		struct inv *inv = NULL;
		struct inv_err err = {0};
		enum inv_status s = inv_open_at(path, v, tinv_key(), &inv, &err);
		if (s != INV_OK)
			fail_msg("open at %d: %s: %s", v, inv_status_name(s), err.message);
		inv_close(inv);
		assert_int_equal(user_version(path), v);
		check_tables(path, v);
		for (size_t i = 0; i < sizeof seeds / sizeof seeds[0]; i++)
			if (seeds[i].since <= v)
				tinv_exec(path, seeds[i].insert);
		seed_bmc(path, v);

		s = inv_open(path, tinv_key(), &inv, &err);
		if (s != INV_OK)
			fail_msg("upgrade from %d: %s: %s", v, inv_status_name(s), err.message);
		check_api_after_upgrade(inv, v);
		inv_close(inv);
		assert_int_equal(user_version(path), latest);
		check_tables(path, latest);
		for (size_t i = 0; i < sizeof seeds / sizeof seeds[0]; i++)
			if (seeds[i].since <= v && tinv_scalar(path, seeds[i].check, NULL) != 1)
				fail_msg("upgrade from %d lost: %s", v, seeds[i].check);
		assert_int_equal(tinv_scalar(path,
					     "SELECT count(*) FROM bmcs WHERE machine_id='" M1
					     "' AND password LIKE '" INV_SEAL_PREFIX "%'",
					     NULL),
				 1);
	}
}

/* ------------------------------------------------------ refused files */

static void expect_refused(const char *path, enum inv_status want, const char *what)
{
	size_t n0, n1;
	unsigned char *before = tinv_slurp(path, &n0);
	struct inv *inv = (struct inv *)&n0; /* must be reset to NULL */
	struct inv_err err = {0};
	enum inv_status s = inv_open(path, tinv_key(), &inv, &err);
	if (s != want)
		fail_msg("%s: got %s (%s), want %s", what, inv_status_name(s), err.message,
			 inv_status_name(want));
	assert_null(inv);
	assert_int_equal(err.status, want);
	if (!strstr(err.message, path))
		fail_msg("%s: message does not name the file: '%s'", what, err.message);
	unsigned char *after = tinv_slurp(path, &n1);
	if (n0 != n1 || memcmp(before, after, n0) != 0) {
		size_t at = 0;
		while (at < n0 && at < n1 && before[at] == after[at])
			at++;
		free(before);
		free(after);
		fail_msg("%s: file was modified (size %zu -> %zu, first difference at byte %zu)",
			 what, n0, n1, at);
	}
	free(before);
	free(after);
}

/* A provisiond database, left in journal mode jm, then marked newer. */
static void test_newer_schema_refused(void **state)
{
	if (tinv_pg())
		skip(); /* files: SQLite's */
	static const char *const modes[] = {"wal", "delete"};
	for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
		char path[700], sql[200], what[64];
		snprintf(path, sizeof path, "%s/newer-%s.db", tinv_dir(state), modes[i]);
		struct inv *inv = NULL;
		struct inv_err err = {0};
		assert_int_equal(inv_open(path, tinv_key(), &inv, &err), INV_OK);
		tinv_machine(inv, "keep-me", "02:00:00:00:00:02", "s1", NULL);
		inv_close(inv);
		snprintf(sql, sizeof sql, "PRAGMA journal_mode=%s; PRAGMA user_version=%d;",
			 modes[i], inv_schema_version() + 1);
		tinv_exec(path, sql);
		snprintf(what, sizeof what, "newer schema (%s journal)", modes[i]);
		expect_refused(path, INV_SCHEMA_NEWER, what);
		assert_int_equal(user_version(path), inv_schema_version() + 1);
		assert_int_equal(tinv_scalar(path, "SELECT count(*) FROM machines", NULL), 1);
	}
}

static void test_newer_schema_message(void **state)
{
	struct inv *inv = NULL;
	struct inv_err err = {0};
	assert_int_equal(inv_open(tinv_path(state), tinv_key(), &inv, &err), INV_OK);
	inv_close(inv);
	char want[16];
	set_version(tinv_path(state), inv_schema_version() + 7);
	assert_int_equal(inv_open(tinv_path(state), tinv_key(), &inv, &err), INV_SCHEMA_NEWER);
	snprintf(want, sizeof want, "%d", inv_schema_version() + 7);
	assert_non_null(strstr(err.message, want));
}

enum garbage { G_TEXT, G_BINARY, G_FAKE_HEADER, G_TORN_PAGES };

static void make_garbage(const char *path, enum garbage g)
{
	unsigned char buf[8192];
	size_t n = sizeof buf;
	switch (g) {
	case G_TEXT:
		for (size_t i = 0; i < n; i++)
			buf[i] = (unsigned char)"hello, this is not a database\n"[i % 30];
		break;
	case G_BINARY:
		for (size_t i = 0; i < n; i++)
			buf[i] = (unsigned char)(i * 37 + 11);
		break;
	case G_FAKE_HEADER: /* right magic, nonsense after it */
		memset(buf, 0xff, n);
		memcpy(buf, "SQLite format 3", 16);
		break;
	case G_TORN_PAGES: { /* a real provisiond file whose later pages are garbage */
		struct inv *inv = NULL;
		struct inv_err err = {0};
		assert_int_equal(inv_open(path, tinv_key(), &inv, &err), INV_OK);
		tinv_machine(inv, "m", "02:00:00:00:00:03", "s1", NULL);
		inv_close(inv);
		/* fold the WAL into the file (closing this connection removes it) */
		tinv_exec(path, "PRAGMA wal_checkpoint(TRUNCATE)");
		unsigned char *db = tinv_slurp(path, &n);
		int64_t page = tinv_scalar(path, "PRAGMA page_size", NULL);
		assert_true((size_t)page * 3 <= n);
		for (size_t i = (size_t)page; i < n; i++)
			db[i] = (unsigned char)(i * 131 + 7);
		tinv_spit(path, db, n);
		free(db);
		return;
	}
	}
	tinv_spit(path, buf, n);
}

static void test_garbage_refused(void **state)
{
	if (tinv_pg())
		skip(); /* files: SQLite's */
	static const struct {
		const char *what;
		enum garbage g;
	} cases[] = {
	    {"text file", G_TEXT},
	    {"binary noise", G_BINARY},
	    {"sqlite magic then noise", G_FAKE_HEADER},
	    {"valid header, garbage pages", G_TORN_PAGES},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char path[700];
		snprintf(path, sizeof path, "%s/garbage-%zu.db", tinv_dir(state), i);
		make_garbage(path, cases[i].g);
		expect_refused(path, INV_CORRUPT, cases[i].what);
	}
}

/* Someone else's PostgreSQL schema: tables, no provisiond_schema. */
static void foreign_pg_refused(void **state)
{
	const char *path = tinv_path(state);
	tinv_exec(path, "CREATE TABLE customers(id BIGINT PRIMARY KEY, name TEXT);"
			" INSERT INTO customers VALUES (1, 'acme'), (2, 'globex');");
	struct inv *inv = (struct inv *)&path; /* must be reset to NULL */
	struct inv_err err = {0};
	assert_int_equal(inv_open(path, tinv_key(), &inv, &err), INV_CORRUPT);
	assert_null(inv);
	assert_non_null(strstr(err.message, "no provisiond schema version"));
	assert_int_equal(tinv_scalar(path,
				     "SELECT count(*) FROM pg_tables WHERE schemaname ="
				     " current_schema()",
				     NULL),
			 1);
	assert_int_equal(tinv_scalar(path, "SELECT count(*) FROM customers", NULL), 2);
}

/* Someone else's SQLite database: tables, user_version 0. */
static void test_foreign_db_refused(void **state)
{
	if (tinv_pg()) {
		foreign_pg_refused(state);
		return;
	}
	static const char *const modes[] = {"delete", "wal"};
	for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
		char path[700], sql[300], what[64];
		snprintf(path, sizeof path, "%s/foreign-%s.db", tinv_dir(state), modes[i]);
		snprintf(sql, sizeof sql,
			 "PRAGMA journal_mode=%s;"
			 " CREATE TABLE customers(id INTEGER PRIMARY KEY, name TEXT);"
			 " INSERT INTO customers(name) VALUES('acme'), ('globex');",
			 modes[i]);
		tinv_exec(path, sql);
		snprintf(what, sizeof what, "foreign database (%s journal)", modes[i]);
		expect_refused(path, INV_CORRUPT, what);
		assert_int_equal(user_version(path), 0);
		assert_int_equal(tinv_scalar(path, "SELECT count(*) FROM sqlite_master", NULL), 1);
		assert_int_equal(tinv_scalar(path, "SELECT count(*) FROM customers", NULL), 2);
	}
}

static void test_missing_directory(void **state)
{
	if (tinv_pg())
		skip(); /* files: SQLite's */
	char dir[700], path[760];
	snprintf(dir, sizeof dir, "%s/no-such-dir", tinv_dir(state));
	snprintf(path, sizeof path, "%s/inv.db", dir);
	struct inv *inv = (struct inv *)&dir;
	struct inv_err err = {0};
	assert_int_equal(inv_open(path, tinv_key(), &inv, &err), INV_IO);
	assert_null(inv);
	assert_int_equal(err.status, INV_IO);
	assert_non_null(strstr(err.message, path));
	struct stat sb;
	assert_int_not_equal(stat(dir, &sb), 0);
	assert_int_equal(inv_open(path, tinv_key(), &inv, NULL), INV_IO);
}

/* err may be NULL: the status alone must still say what went wrong. */
static void test_refused_without_err(void **state)
{
	if (tinv_pg())
		skip(); /* files: SQLite's */
	static const struct {
		const char *what;
		enum inv_status want;
	} cases[] = {
	    {"newer schema", INV_SCHEMA_NEWER},
	    {"not a database", INV_CORRUPT},
	    {"foreign database", INV_CORRUPT},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char path[700], sql[64];
		snprintf(path, sizeof path, "%s/noerr-%zu.db", tinv_dir(state), i);
		struct inv *inv = NULL;
		switch (cases[i].want == INV_SCHEMA_NEWER ? 0 : i) {
		case 0:
			assert_int_equal(inv_open(path, tinv_key(), &inv, NULL), INV_OK);
			inv_close(inv);
			snprintf(sql, sizeof sql, "PRAGMA user_version=%d",
				 inv_schema_version() + 1);
			tinv_exec(path, sql);
			break;
		case 1:
			make_garbage(path, G_TEXT);
			break;
		default:
			tinv_exec(path, "CREATE TABLE t(x)");
			break;
		}
		enum inv_status s = inv_open(path, tinv_key(), &inv, NULL);
		if (s != cases[i].want)
			fail_msg("%s: got %s, want %s", cases[i].what, inv_status_name(s),
				 inv_status_name(cases[i].want));
		assert_null(inv);
	}
}

/* PostgreSQL: replicas starting together on an empty database migrate it
 * one at a time (an advisory lock around the check and the migrations):
 * every one opens, the schema is built once. */
struct opener {
	const char *path;
	enum inv_status st;
	struct inv_err err;
};

static void *open_one(void *p)
{
	struct opener *o = p;
	struct inv *inv = NULL;
	o->st = inv_open(o->path, tinv_key(), &inv, &o->err);
	inv_close(inv);
	return NULL;
}

static void test_replicas_migrate_together(void **state)
{
	if (!tinv_pg())
		skip(); /* one process per SQLite file */
	char path[700];
	tinv_new_db(state, "together", path, sizeof path);
	struct opener o[4];
	pthread_t t[4];
	for (int i = 0; i < 4; i++) {
		o[i] = (struct opener){.path = path};
		assert_int_equal(pthread_create(&t[i], NULL, open_one, &o[i]), 0);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < 4; i++)
		if (o[i].st != INV_OK)
			fail_msg("opener %d: %s: %s", i, inv_status_name(o[i].st),
				 o[i].err.message);
	assert_int_equal(user_version(path), inv_schema_version());
	check_tables(path, inv_schema_version());
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_empty_to_latest, tinv_setup_dir, tinv_teardown),
	    cmocka_unit_test_setup_teardown(test_upgrade_from_every_version, tinv_setup_dir,
					    tinv_teardown),
	    cmocka_unit_test_setup_teardown(test_newer_schema_refused, tinv_setup_dir,
					    tinv_teardown),
	    cmocka_unit_test_setup_teardown(test_newer_schema_message, tinv_setup_dir,
					    tinv_teardown),
	    cmocka_unit_test_setup_teardown(test_garbage_refused, tinv_setup_dir, tinv_teardown),
	    cmocka_unit_test_setup_teardown(test_foreign_db_refused, tinv_setup_dir, tinv_teardown),
	    cmocka_unit_test_setup_teardown(test_missing_directory, tinv_setup_dir, tinv_teardown),
	    cmocka_unit_test_setup_teardown(test_refused_without_err, tinv_setup_dir,
					    tinv_teardown),
	    cmocka_unit_test_setup_teardown(test_replicas_migrate_together, tinv_setup_dir,
					    tinv_teardown),
	};
	return cmocka_run_group_tests_name("inventory_schema", tests, NULL, NULL);
}
