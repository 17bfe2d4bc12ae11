/* api_secrets.c - BMC passwords at rest, against the real daemon: the
 * database file, its WAL and a backup made with the documented recipe
 * (docs/operations.md, "Backups") hold no password in clear, yet the BMC
 * path reads every password back; the key file is required at start and
 * refused when others may read it; another key fails the BMC call with a
 * clear error; a database whose passwords an older provisiond stored in
 * clear is sealed at start. */
#include "harness.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PW "Bmc-AtRest-5ec7e7-QUUX"
#define N_MACHINES 4

static int setup(void **state)
{
	static struct h_daemon d;
	*state = &d;
	return h_start(&d, NULL);
}

static int mode_of(const char *path)
{
	struct stat sb;
	return stat(path, &sb) == 0 ? (int)(sb.st_mode & 07777) : -1;
}

static void key_path(const struct h_daemon *d, char *out, size_t len)
{
	snprintf(out, len, "%s.key", d->db); /* [database] key_file's default */
}

/* Neither the database nor its WAL holds needle. */
static void expect_not_on_disk(const struct h_daemon *d, const char *needle)
{
	char wal[400];
	snprintf(wal, sizeof wal, "%s-wal", d->db);
	if (h_file_contains(d->db, needle))
		fail_msg("'%s' is in %s in clear", needle, d->db);
	if (h_file_contains(wal, needle))
		fail_msg("'%s' is in %s in clear", needle, wal);
}

/* Enrols a fake machine whose BMC password is password. */
static void enroll(struct h_daemon *d, int i, const char *password, char id[H_ID_LEN])
{
	char name[32], address[32], mac[18];
	snprintf(name, sizeof name, "sec-%d", i);
	snprintf(address, sizeof address, "fake-bmc-sec-%d", i);
	h_mac((unsigned)i + 1, mac);
	json_t *b = json_pack("{s:s, s:[s], s:{s:s, s:s, s:s, s:s, s:{s:s}}}", "name", name, "macs",
			      mac, "bmc", "driver", "fake", "address", address, "username", "admin",
			      "password", password, "options", "sku", "lab.small");
	struct h_resp r;
	assert_int_equal(h_call(d, d->admin, "POST", "/v1/machines", b, &r), 201);
	snprintf(id, H_ID_LEN, "%s", h_str(&r, "id"));
	h_resp_clear(&r);
}

/* GET /v1/machines/{id}/power: the BMC path, which opens the password. */
static long power_get(struct h_daemon *d, const char *id, struct h_resp *r)
{
	char path[256];
	snprintf(path, sizeof path, "/v1/machines/%s/power", id);
	return h_call(d, d->admin, "GET", path, NULL, r);
}

/* The documented backup recipe, as an operator runs it:
 *   (umask 077 && sqlite3 DB "VACUUM INTO 'BACKUP'")
 * Without the sqlite3 shell, the same statement through the library. */
static int backup(const struct h_daemon *d, const char *out)
{
	if (system("command -v sqlite3 >/dev/null 2>&1") == 0) {
		char cmd[1200];
		snprintf(cmd, sizeof cmd, "(umask 077 && sqlite3 '%s' \"VACUUM INTO '%s'\")", d->db,
			 out);
		return system(cmd);
	}
	mode_t old = umask(077);
	sqlite3 *db = NULL;
	char sql[600];
	snprintf(sql, sizeof sql, "VACUUM INTO '%s'", out);
	int rc = sqlite3_open_v2(d->db, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
			 sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK
		     ? 0
		     : -1;
	sqlite3_close(db);
	umask(old);
	return rc;
}

/* An integer from a read-only look at the file at path. */
static int64_t scalar(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int64_t v = -1;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static unsigned char *slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	unsigned char *b = malloc(4096);
	assert_non_null(b);
	*n = fread(b, 1, 4096, f);
	fclose(f);
	return b;
}

/* Runs provisiond --init on the daemon's files (the daemon stopped). */
static int run_init(const struct h_daemon *d)
{
	const char *bin = getenv("PROVISIOND_BINARY_DIR");
	char cmd[1400];
	snprintf(cmd, sizeof cmd,
		 "'%s/provisiond/provisiond' --init --db '%s' --config '%s' >>'%s' 2>&1",
		 bin ? bin : ".", d->db, d->ini, d->log);
	return system(cmd);
}

/* Enrolment and PATCH store sealed passwords: the file, its WAL and a
 * backup hold none in clear; the BMC path reads them all back, also from
 * the backup restored in place. */
static void test_no_password_on_disk(void **state)
{
	struct h_daemon *d = *state;
	char key[400], ids[N_MACHINES][H_ID_LEN], bak[400], pw[64];
	key_path(d, key, sizeof key);
	assert_int_equal(mode_of(key), 0600);
	assert_int_equal(mode_of(d->db), 0600);
	for (int i = 0; i < N_MACHINES; i++) {
		snprintf(pw, sizeof pw, PW "-%d", i);
		enroll(d, i, pw, ids[i]);
	}
	assert_true(h_wait_count(d, "available", NULL, N_MACHINES, 120));
	/* a new password by PATCH (once the engine is done with the machine) */
	char path[128];
	snprintf(path, sizeof path, "/v1/machines/%s", ids[0]);
	json_t *b = json_pack("{s:{s:s, s:s, s:s, s:{s:s}}}", "bmc", "driver", "fake", "username",
			      "admin", "password", PW "-patched", "options", "sku", "lab.small");
	assert_int_equal(h_call(d, d->admin, "PATCH", path, b, NULL), 200);
	assert_true(h_wait_machine(d, ids[0], "available", 120));
	for (int i = 0; i < N_MACHINES; i++)
		assert_int_equal(power_get(d, ids[i], NULL), 200);

	/* the scan is real: the rows are there, the passwords are not */
	char wal[400];
	snprintf(wal, sizeof wal, "%s-wal", d->db);
	assert_true(h_file_contains(d->db, "fake-bmc-sec-1") ||
		    h_file_contains(wal, "fake-bmc-sec-1"));
	expect_not_on_disk(d, PW);
	assert_int_equal(h_db_int(d, "SELECT count(*) FROM bmcs WHERE password LIKE 'v1:%'"),
			 N_MACHINES);

	snprintf(bak, sizeof bak, "%s/backup.db", d->dir);
	assert_int_equal(backup(d, bak), 0);
	assert_int_equal(mode_of(bak), 0600);
	assert_true(h_file_contains(bak, "fake-bmc-sec-1"));
	assert_false(h_file_contains(bak, PW));
	assert_int_equal(scalar(bak, "SELECT count(*) FROM bmcs WHERE password LIKE 'v1:%'"),
			 N_MACHINES);

	/* after a clean stop (the WAL folded in), --init again keeps the key */
	assert_int_equal(h_term(d), 0);
	expect_not_on_disk(d, PW);
	size_t n0, n1;
	unsigned char *k0 = slurp(key, &n0);
	assert_int_equal(run_init(d), 0);
	unsigned char *k1 = slurp(key, &n1);
	assert_int_equal(n0, 65);
	assert_int_equal(n0, n1);
	assert_memory_equal(k0, k1, n0);
	free(k0);
	free(k1);

	/* restore the backup in place: the key opens its passwords */
	char shm[400];
	snprintf(shm, sizeof shm, "%s-shm", d->db);
	unlink(wal);
	unlink(shm);
	assert_int_equal(rename(bak, d->db), 0);
	assert_int_equal(h_restart(d), 0);
	assert_int_equal(h_count_machines(d, NULL, NULL), N_MACHINES);
	for (int i = 0; i < N_MACHINES; i++)
		assert_int_equal(power_get(d, ids[i], NULL), 200);
}

/* A start without a usable key file stops with the file named. */
static void test_key_file_required(void **state)
{
	struct h_daemon *d = *state;
	char key[400], moved[420];
	key_path(d, key, sizeof key);
	snprintf(moved, sizeof moved, "%s.moved", key);
	assert_int_equal(h_term(d), 0);

	assert_int_equal(chmod(key, 0644), 0);
	assert_int_equal(h_restart(d), -1);
	assert_true(h_file_contains(d->log, key));
	assert_true(h_file_contains(d->log, "chmod 600"));

	assert_int_equal(chmod(key, 0600), 0);
	assert_int_equal(rename(key, moved), 0);
	assert_int_equal(h_restart(d), -1);
	assert_true(h_file_contains(d->log, "provisiond --init creates it"));

	assert_int_equal(rename(moved, key), 0);
	assert_int_equal(h_restart(d), 0);
}

/* Another key file (lost and replaced, or the wrong one restored): the BMC
 * call fails and says why; nothing crashes, nothing reaches the BMC. */
static void test_wrong_key(void **state)
{
	struct h_daemon *d = *state;
	char id[H_ID_LEN], key[400];
	enroll(d, 0, PW, id);
	assert_true(h_wait_machine(d, id, "available", 120));
	assert_int_equal(h_term(d), 0);
	key_path(d, key, sizeof key);
	assert_int_equal(unlink(key), 0);
	assert_int_equal(run_init(d), 0); /* a new key file */
	assert_int_equal(mode_of(key), 0600);
	assert_int_equal(h_restart(d), 0);
	struct h_resp r;
	assert_int_equal(power_get(d, id, &r), 500);
	assert_string_equal(h_err_code(&r), "storage_corrupt");
	assert_string_equal(h_err_field(&r), "bmc.password");
	assert_non_null(strstr(h_err_message(&r), "does not decrypt"));
	assert_null(strstr(r.body, PW));
	h_resp_clear(&r);
	assert_int_equal(h_request(d, NULL, "GET", "/healthz", NULL, 0, NULL, NULL), 200);
	/* reads that need no password still work */
	assert_int_equal(h_count_machines(d, NULL, NULL), 1);
	/* the documented way back with the new key (docs/operations.md, "Lost
	 * key file"): drop the accesses that no longer open, set them again */
	assert_int_equal(h_term(d), 0);
	assert_int_equal(h_db_exec(d, "DELETE FROM bmcs"), 0);
	assert_int_equal(h_restart(d), 0);
	char path[256];
	snprintf(path, sizeof path, "/v1/machines/%s", id);
	json_t *b = json_pack("{s:{s:s, s:s, s:s, s:s, s:{s:s}}}", "bmc", "driver", "fake",
			      "address", "fake-bmc-sec-0", "username", "admin", "password",
			      PW "-new", "options", "sku", "lab.small");
	assert_int_equal(h_call(d, d->admin, "PATCH", path, b, NULL), 200);
	assert_true(h_wait_machine(d, id, "available", 120));
	assert_int_equal(power_get(d, id, NULL), 200);
	expect_not_on_disk(d, PW);
}

/* A database whose passwords an older provisiond (schema 4) stored in
 * clear: the start seals them, and the BMC path still reads them. */
static void test_clear_rows_sealed_at_start(void **state)
{
	struct h_daemon *d = *state;
	char id[H_ID_LEN];
	enroll(d, 0, "whatever", id);
	assert_true(h_wait_machine(d, id, "available", 120));
	assert_int_equal(h_term(d), 0);
	/* back to schema 4: clear passwords, and without the image store's
	 * columns of migration 6, the machine counts of migration 7, the
	 * allocations' spread of migration 8, the rollouts of migration 10,
	 * the replicas of migration 11, the user data of migration 12 and the
	 * static network of migration 13 */
	assert_int_equal(h_db_exec(d, "UPDATE bmcs SET password = '" PW "-clear';"
				      " ALTER TABLE machines DROP COLUMN wakes;"
				      " DROP INDEX allocation_addresses_ip;"
				      " DROP TABLE allocation_addresses;"
				      " ALTER TABLE allocations DROP COLUMN network;"
				      " ALTER TABLE allocations DROP COLUMN user_data;"
				      " DROP TABLE rollout_machines; DROP TABLE rollouts;"
				      " ALTER TABLE allocation_machines DROP COLUMN image;"
				      " DROP INDEX machines_replica; DROP TABLE replicas;"
				      " ALTER TABLE machines DROP COLUMN replica;"
				      " ALTER TABLE machines DROP COLUMN replica_epoch;"
				      " DROP INDEX machines_pool_domain;"
				      " ALTER TABLE allocations DROP COLUMN spread_across;"
				      " ALTER TABLE allocations DROP COLUMN spread_mode;"
				      " DROP TRIGGER machine_counts_insert;"
				      " DROP TRIGGER machine_counts_delete;"
				      " DROP TRIGGER machine_counts_update;"
				      " DROP TABLE machine_counts;"
				      " ALTER TABLE images DROP COLUMN state;"
				      " ALTER TABLE images DROP COLUMN last_error;"
				      " ALTER TABLE images DROP COLUMN file_size;"
				      " ALTER TABLE images DROP COLUMN file_inode;"
				      " ALTER TABLE images DROP COLUMN updated_at;"
				      " PRAGMA user_version = 4;"),
			 0);
	assert_true(h_file_contains(d->db, PW "-clear")); /* the scan is real */
	assert_int_equal(h_restart(d), 0);
	expect_not_on_disk(d, PW);
	assert_true(h_db_int(d, "PRAGMA user_version") >= 5);
	assert_int_equal(h_db_int(d, "SELECT count(*) FROM bmcs WHERE password LIKE 'v1:%'"), 1);
	assert_int_equal(power_get(d, id, NULL), 200);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_no_password_on_disk, setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_key_file_required, setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_wrong_key, setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_clear_rows_sealed_at_start, setup, h_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
