/* test_inventory_sql.c - the statement layer (every statement id prepares
 * against a migrated database, with named parameters and no state literal)
 * and the getters' "none" versus "error" answers. */
#include "inventory/backend.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* test_inventory_util.c */
int tinv_setup(void **state);
int tinv_teardown(void **state);
struct inv *tinv_inv(void **state);
const char *tinv_path(void **state);
void tinv_exec(const char *path, const char *sql);
const char *tinv_pg(void);
const struct inv_key *tinv_key(void);
int64_t tinv_scalar(const char *path, const char *sql, const char *arg);
void tinv_machine(struct inv *inv, const char *name, const char *mac, const char *sku,
		  char id[INV_ID_LEN]);

static struct inv_conn open_conn(void **state)
{
	struct inv_conn c = {0};
	struct inv_err err = {0};
	if (inv_conn_open(&c, tinv_path(state), true, &err) != INV_OK)
		fail_msg("open: %s", err.message);
	return c;
}

/* Parameters are :name only (no ?, ?NNN, @name or $name of SQLite's). */
static void assert_named_parameters(int id, const char *sql)
{
	for (const char *p = sql; *p; p++) {
		if (*p == '\'') { /* skip a literal */
			p = strchr(p + 1, '\'');
			if (!p)
				fail_msg("statement %d: unterminated literal: %s", id, sql);
			continue;
		}
		if (*p == '?' || *p == '@' || *p == '$')
			fail_msg("statement %d: a parameter that is not :name: %s", id, sql);
	}
}

/* A quoted state name in a text means a literal where a bound parameter
 * belongs. */
static void assert_no_state_literal(int id, const char *sql)
{
	char quoted[32];
	for (int s = 0; s < INV_ST__COUNT; s++) {
		snprintf(quoted, sizeof quoted, "'%s'", inv_state_name((enum inv_state)s));
		if (strstr(sql, quoted))
			fail_msg("statement %d has the literal %s: %s", id, quoted, sql);
	}
	for (int s = 0; s < INV_AL__COUNT; s++) {
		snprintf(quoted, sizeof quoted, "'%s'",
			 inv_alloc_state_name((enum inv_alloc_state)s));
		if (strstr(sql, quoted))
			fail_msg("statement %d has the literal %s: %s", id, quoted, sql);
	}
}

static void test_every_statement_prepares(void **state)
{
	struct inv_conn c = open_conn(state);
	for (int id = 0; id < SQL__COUNT; id++) {
		const char *sql = c.be->sql_text((enum inv_sql)id); /* this backend's */
		if (!sql)
			fail_msg("statement %d has no text", id);
		struct inv_err err = {0};
		struct inv_q *st = inv_stmt(&c, (enum inv_sql)id, &err);
		if (!st)
			fail_msg("statement %d does not prepare: %s\n%s", id, err.message, sql);
		assert_named_parameters(id, sql);
		assert_no_state_literal(id, sql);
		inv_stmt_done(st);
		/* cached: the same statement comes back */
		assert_ptr_equal(inv_stmt(&c, (enum inv_sql)id, &err), st);
		inv_stmt_done(st);
	}
	assert_null(c.be->sql_text(SQL__COUNT));
	inv_conn_close(&c);
}

/* Binding a name the statement lacks is an error at the next step, not a
 * silent NULL; the step after it runs normally. */
static void test_unbound_name_is_an_error(void **state)
{
	struct inv_conn c = open_conn(state);
	struct inv_err err = {0};
	struct inv_q *st = inv_stmt(&c, SQL_SETTING_GET, &err);
	assert_non_null(st);
	inv_bind_text(st, ":no_such_name", "x");
	bool row = true;
	assert_int_equal(inv_step(st, &row, "read setting", &err), INV_IO);
	assert_false(row);
	assert_non_null(strstr(err.message, ":no_such_name"));
	inv_stmt_done(st);
	st = inv_stmt(&c, SQL_SETTING_GET, &err);
	inv_bind_text(st, ":key", "freeze");
	assert_int_equal(inv_step(st, &row, "read setting", &err), INV_OK);
	assert_false(row);
	inv_stmt_done(st);
	inv_conn_close(&c);
}

/* ------------------------------------------------------------- getters */

/* One getter: calls it for key, says whether the answer is "none". */
struct getter {
	const char *name;
	enum inv_status none_status; /* for a key that does not exist */
	enum inv_status (*get)(struct inv *inv, const char *key, bool *none, struct inv_err *err);
};

static enum inv_status get_next_wake(struct inv *inv, const char *key, bool *none,
				     struct inv_err *err)
{
	(void)key;
	int64_t w = -1;
	enum inv_status s = inv_machines_next_wake(inv, 0, &w, err);
	*none = w == 0;
	return s;
}

static enum inv_status get_agent_seen(struct inv *inv, const char *key, bool *none,
				      struct inv_err *err)
{
	int64_t at = -1;
	enum inv_status s = inv_machine_agent_seen_at(inv, key, &at, err);
	*none = at == 0;
	return s;
}

static enum inv_status get_quota(struct inv *inv, const char *key, bool *none, struct inv_err *err)
{
	int n = 0;
	enum inv_status s = inv_quota_get(inv, key, "sku", &n, err);
	*none = n == -1;
	return s;
}

static enum inv_status get_setting(struct inv *inv, const char *key, bool *none,
				   struct inv_err *err)
{
	char *v = (char *)"unset";
	enum inv_status s = inv_setting_get(inv, key, &v, err);
	*none = v == NULL;
	if (v && strcmp(v, "unset") != 0)
		free(v);
	return s;
}

static enum inv_status get_image(struct inv *inv, const char *key, bool *none, struct inv_err *err)
{
	struct inv_image img = {0};
	enum inv_status s = inv_image_get(inv, key, &img, err);
	*none = !img.name[0];
	return s;
}

static enum inv_status get_token(struct inv *inv, const char *key, bool *none, struct inv_err *err)
{
	struct inv_token t = {0};
	enum inv_status s = inv_token_by_hash(inv, key, &t, err);
	*none = !t.id[0];
	return s;
}

static enum inv_status get_boot_token(struct inv *inv, const char *key, bool *none,
				      struct inv_err *err)
{
	char mid[INV_ID_LEN] = "x";
	enum inv_status s = inv_boot_token_take(inv, key, "boot", false, mid, err);
	*none = !mid[0];
	return s;
}

static enum inv_status get_command(struct inv *inv, const char *key, bool *none,
				   struct inv_err *err)
{
	struct inv_command cmd = {0};
	enum inv_status s = inv_command_latest(inv, key, "wipe", &cmd, err);
	*none = !cmd.id[0];
	inv_command_clear(&cmd);
	return s;
}

static const struct getter getters[] = {
    {.name = "next_wake", .none_status = INV_OK, .get = get_next_wake},
    {.name = "agent_seen_at", .none_status = INV_NOT_FOUND, .get = get_agent_seen},
    {.name = "quota_get", .none_status = INV_OK, .get = get_quota},
    {.name = "setting_get", .none_status = INV_OK, .get = get_setting},
    {.name = "image_get", .none_status = INV_NOT_FOUND, .get = get_image},
    {.name = "token_by_hash", .none_status = INV_NOT_FOUND, .get = get_token},
    {.name = "boot_token_take", .none_status = INV_NOT_FOUND, .get = get_boot_token},
    {.name = "command_latest", .none_status = INV_NOT_FOUND, .get = get_command},
};

/* "None" is answered with its status; a read that fails (here: the tables
 * are gone under the daemon) is INV_IO, never "none". */
static void test_getters_none_and_error(void **state)
{
	struct inv *inv = tinv_inv(state);
	for (size_t i = 0; i < ARRAY_SIZE(getters); i++) {
		struct inv_err err = {0};
		bool none = false;
		enum inv_status s = getters[i].get(inv, "no-such-key", &none, &err);
		if (s != getters[i].none_status || !none)
			fail_msg("%s on an empty inventory: %s (%s)", getters[i].name,
				 inv_status_name(s), err.message);
	}
	if (tinv_pg()) /* CASCADE: the other tables' foreign keys */
		tinv_exec(tinv_path(state), "DROP TABLE machines, quotas, settings, images, tokens,"
					    " boot_tokens, agent_commands CASCADE");
	else
		tinv_exec(tinv_path(state), "DROP TABLE machines; DROP TABLE quotas;"
					    " DROP TABLE settings; DROP TABLE images;"
					    " DROP TABLE tokens; DROP TABLE boot_tokens;"
					    " DROP TABLE agent_commands;");
	for (size_t i = 0; i < ARRAY_SIZE(getters); i++) {
		struct inv_err err = {0};
		bool none = false;
		enum inv_status s = getters[i].get(inv, "no-such-key", &none, &err);
		if (s != INV_IO || err.status != INV_IO || !err.message[0])
			fail_msg("%s on missing tables: %s (%s)", getters[i].name,
				 inv_status_name(s), err.message);
		assert_true(none); /* out-parameters hold "none" on errors too */
	}
}

static void test_agent_seen_at(void **state)
{
	struct inv *inv = tinv_inv(state);
	char id[INV_ID_LEN];
	tinv_machine(inv, "seen", NULL, NULL, id);
	struct inv_err err = {0};
	int64_t at = -1;
	assert_int_equal(inv_machine_agent_seen_at(inv, id, &at, &err), INV_OK);
	assert_int_equal(at, 0); /* never heard from */
	assert_int_equal(inv_machine_agent_seen(inv, id, 4242, &err), INV_OK);
	assert_int_equal(inv_machine_agent_seen_at(inv, id, &at, &err), INV_OK);
	assert_int_equal(at, 4242);
}

/* PostgreSQL: after the server restarts, every connection is reset when it
 * is next used outside a transaction, without reopening the inventory: a
 * read that met the break is read again, a BEGIN that met it is sent
 * again, so the first read and the first write after the restart work. */
static void test_reconnect_after_restart(void **state)
{
	const char *ctl = getenv("PG_FIXTURE_CTL");
	if (!tinv_pg() || !ctl)
		skip();
	struct inv *inv = tinv_inv(state);
	char id[INV_ID_LEN];
	tinv_machine(inv, "before", NULL, NULL, id);
	struct inv_conn rc = {0}; /* a reader of our own, to try a write on */
	struct inv_err err = {0};
	assert_int_equal(inv_conn_open(&rc, tinv_path(state), false, &err), INV_OK);
	assert_int_equal(inv_conn_configure(&rc, false, &err), INV_OK);
	char cmd[1024];
	snprintf(cmd, sizeof cmd, "cd / && %s -m fast restart >/dev/null 2>&1", ctl);
	assert_int_equal(system(cmd), 0);
	/* the reader's new session is read-only too */
	struct inv_q *q = inv_prep(&rc, "CREATE TABLE ro_probe(i BIGINT)", &err);
	assert_non_null(q);
	bool row;
	assert_int_equal(inv_step(q, &row, "probe", &err), INV_IO);
	assert_non_null(strstr(err.message, "read-only"));
	inv_q_free(q);
	inv_conn_close(&rc);
	struct inv_machine m = {0};
	assert_int_equal(inv_machine_get(inv, id, &m, &err), INV_OK); /* a reader */
	inv_machine_clear(&m);
	struct inv_machine_new n = {.name = "after", .actor = "test", .request_id = "r"};
	enum inv_status s = inv_machine_create(inv, &n, &m, &err); /* the writer */
	if (s != INV_OK)
		fail_msg("write after the restart: %s: %s", inv_status_name(s), err.message);
	assert_string_equal(m.name, "after");
	inv_machine_clear(&m);
}

static enum inv_status midbreak_table(struct inv_conn *c, void *arg, struct inv_err *err)
{
	(void)arg;
	return inv_exec_sql(c, "CREATE TABLE midbreak(i BIGINT)", "create", err);
}

static enum inv_status insert(struct inv_conn *c, int64_t i, struct inv_err *err)
{
	struct inv_q *q = inv_prep(c, "INSERT INTO midbreak VALUES (:i)", err);
	if (!q)
		return INV_IO;
	inv_bind_int(q, ":i", i);
	bool row;
	enum inv_status s = inv_step(q, &row, "insert", err);
	inv_q_free(q);
	return s;
}

/* Writes row 1, loses its session (as a failover ends it), writes row 2
 * and, ignoring the errors, says it succeeded. */
static enum inv_status midbreak_write(struct inv_conn *c, void *arg, struct inv_err *err)
{
	(void)arg;
	struct inv_err ignored = {0};
	(void)insert(c, 1, &ignored);
	(void)inv_exec_sql(c, "SELECT pg_terminate_backend(pg_backend_pid())", "break", &ignored);
	(void)insert(c, 2, err);
	return INV_OK;
}

/* PostgreSQL: the connection breaks inside the writer's transaction. The
 * rest of it must not run on a new connection (there it would commit on
 * its own, without the first half): the write fails, and nothing of it is
 * in the database. The next write works. */
static void test_break_inside_transaction(void **state)
{
	if (!tinv_pg())
		skip();
	struct inv *inv = tinv_inv(state);
	struct inv_err err = {0};
	assert_int_equal(inv_write(inv, midbreak_table, NULL, &err), INV_OK);
	enum inv_status s = inv_write(inv, midbreak_write, NULL, &err);
	int64_t rows = tinv_scalar(tinv_path(state), "SELECT count(*) FROM midbreak", NULL);
	if (s == INV_OK || rows != 0)
		fail_msg("after a break inside the transaction: %s, %lld rows (%s)",
			 inv_status_name(s), (long long)rows, err.message);
	assert_int_equal(s, INV_IO);
	tinv_machine(inv, "after-break", NULL, NULL, NULL);
}

/* nft ARGS, quietly; 0 ok. */
static int nft(const char *args)
{
	char cmd[256];
	snprintf(cmd, sizeof cmd, "nft %s >/dev/null 2>&1", args);
	return system(cmd);
}

/* Drops (on input) every packet to and from the server's port, with a
 * table of this process's own: the server goes silent and nothing closes
 * the connections, as when its machine loses power. on=false removes it. */
static void silence(int port, bool on)
{
	char args[200];
	snprintf(args, sizeof args, "delete table inet pvd_silent_%d", (int)getpid());
	(void)nft(args);
	if (!on)
		return;
	int me = (int)getpid();
	snprintf(args, sizeof args, "add table inet pvd_silent_%d", me);
	assert_int_equal(nft(args), 0);
	snprintf(args, sizeof args,
		 "add chain inet pvd_silent_%d in '{ type filter hook input priority 0 ; }'", me);
	assert_int_equal(nft(args), 0);
	snprintf(args, sizeof args, "add rule inet pvd_silent_%d in tcp dport %d drop", me, port);
	assert_int_equal(nft(args), 0);
	snprintf(args, sizeof args, "add rule inet pvd_silent_%d in tcp sport %d drop", me, port);
	assert_int_equal(nft(args), 0);
}

struct silent_write {
	struct inv *inv;
	enum inv_status st;
	struct inv_err err;
	atomic_bool done;
};

static void *silent_writer(void *arg)
{
	struct silent_write *w = arg;
	struct inv_machine_new n = {.name = "silent", .actor = "test", .request_id = "r"};
	struct inv_machine m = {0};
	w->st = inv_machine_create(w->inv, &n, &m, &w->err);
	inv_machine_clear(&m);
	atomic_store(&w->done, true);
	return NULL;
}

/* PostgreSQL: the server goes silent under an open writer connection. The
 * write fails within the connection's TCP bounds (db_pg.c: tcp_user_timeout
 * and keepalives, 10 s; then a reset that meets connect_timeout) instead
 * of waiting for TCP's retransmissions (minutes); once the packets flow
 * again, the next write works. Needs root and nft (CI has both). */
static void test_silent_server(void **state)
{
	const char *pg = tinv_pg(), *at = pg ? strstr(pg, "port=") : NULL;
	if (!at || geteuid() != 0 || system("nft list tables >/dev/null 2>&1") != 0)
		skip();
	struct inv *inv = tinv_inv(state);
	tinv_machine(inv, "before-silence", NULL, NULL, NULL); /* the writer is connected */
	int port = (int)strtol(at + 5, NULL, 10);
	silence(port, true);
	struct silent_write w = {.inv = inv};
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, silent_writer, &w), 0);
	int64_t t0 = util_real_now_ms();
	while (!atomic_load(&w.done) && util_real_now_ms() - t0 < 60000)
		util_real_sleep_ms(50);
	int64_t took = util_real_now_ms() - t0;
	bool done = atomic_load(&w.done);
	silence(port, false);
	pthread_join(th, NULL);
	if (!done)
		fail_msg("a write to a silent server still waited after %lld ms", (long long)took);
	assert_int_equal(w.st, INV_IO);
	fprintf(stderr, "silent server: the write failed after %lld ms: %s\n", (long long)took,
		w.err.message);
	tinv_machine(inv, "after-silence", NULL, NULL, NULL);
}

/* The table goes also when the test fails half-way. */
static int silent_teardown(void **state)
{
	silence(0, false);
	return tinv_teardown(state);
}

/* Which backend a setting names, and how messages show it. */
static void test_database_setting(void **state)
{
	(void)state;
	static const struct {
		const char *setting;
		bool file;
		const char *shown;
	} cases[] = {
	    {"/var/lib/provisiond/provisiond.db", true, "/var/lib/provisiond/provisiond.db"},
	    {"relative.db", true, "relative.db"},
	    {"postgresql://pvd:s3cret@db1,db2/pvd?target_session_attrs=read-write", false,
	     "postgresql://pvd:***@db1,db2/pvd?target_session_attrs=read-write"},
	    {"postgres://db1:5432/pvd?password=s3cret&sslmode=require", false,
	     "postgres://db1:5432/pvd?password=***&sslmode=require"},
	    {"host=db1 password=s3cret dbname=pvd", false, "host=db1 password=*** dbname=pvd"},
	    {" dbname = pvd", false, " dbname = pvd"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char shown[256];
		inv_database_display(cases[i].setting, shown, sizeof shown);
		if (inv_database_is_file(cases[i].setting) != cases[i].file)
			fail_msg("%s: file %d", cases[i].setting, !cases[i].file);
		assert_string_equal(shown, cases[i].shown);
	}
}

/* PostgreSQL: the setting's two forms with two hosts, the first of which
 * refuses connections (a dead primary): libpq takes the one that accepts
 * writes, the inventory works. */
static void test_multi_host_settings(void **state)
{
	const char *pg = tinv_pg(), *path = tinv_path(state);
	const char *at = pg ? strstr(pg, "port=") : NULL;
	const char *schema = strstr(path, "search_path=");
	if (!at || !schema)
		skip();
	int port = (int)strtol(at + 5, NULL, 10);
	char kv[512], uri[512];
	snprintf(kv, sizeof kv,
		 "host=127.0.0.1,127.0.0.1 port=1,%d user=postgres dbname=postgres"
		 " target_session_attrs=read-write options='-c %.*s'",
		 port, (int)strcspn(schema, "'"), schema);
	snprintf(uri, sizeof uri,
		 "postgresql://postgres@127.0.0.1:1,127.0.0.1:%d/postgres"
		 "?target_session_attrs=read-write&options=-csearch_path%%3D%.*s",
		 port, (int)strcspn(schema + 12, "'"), schema + 12);
	const char *settings[] = {kv, uri};
	for (int i = 0; i < 2; i++) {
		struct inv *inv = NULL;
		struct inv_err err = {0};
		if (inv_open(settings[i], tinv_key(), &inv, &err) != INV_OK)
			fail_msg("%s: %s", settings[i], err.message);
		char name[16];
		snprintf(name, sizeof name, "multi-%d", i);
		tinv_machine(inv, name, NULL, NULL, NULL);
		inv_close(inv);
	}
	assert_int_equal(tinv_scalar(path, "SELECT count(*) FROM machines", NULL), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_every_statement_prepares, tinv_setup,
					    tinv_teardown),
	    cmocka_unit_test_setup_teardown(test_unbound_name_is_an_error, tinv_setup,
					    tinv_teardown),
	    cmocka_unit_test_setup_teardown(test_getters_none_and_error, tinv_setup, tinv_teardown),
	    cmocka_unit_test_setup_teardown(test_agent_seen_at, tinv_setup, tinv_teardown),
	    cmocka_unit_test_setup_teardown(test_reconnect_after_restart, tinv_setup,
					    tinv_teardown),
	    cmocka_unit_test_setup_teardown(test_multi_host_settings, tinv_setup, tinv_teardown),
	    cmocka_unit_test_setup_teardown(test_break_inside_transaction, tinv_setup,
					    tinv_teardown),
	    cmocka_unit_test_setup_teardown(test_silent_server, tinv_setup, silent_teardown),
	    cmocka_unit_test(test_database_setting),
	};
	return cmocka_run_group_tests_name("inventory_sql", tests, NULL, NULL);
}
