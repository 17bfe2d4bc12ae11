/* test_inventory_secrets.c - BMC passwords at rest: sealing (round trip,
 * tampering, another machine's associated data, another key), the key file,
 * and the database file itself: no password in clear in it, its WAL, or
 * after the upgrade that seals the passwords an older provisiond stored. */
#include "inventory/internal.h"
#include "inventory/secrets.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* test_inventory_util.c */
const struct inv_key *tinv_key(void);
int tinv_setup(void **state);
int tinv_setup_dir(void **state);
int tinv_teardown(void **state);
struct inv *tinv_inv(void **state);
const char *tinv_path(void **state);
const char *tinv_dir(void **state);
void tinv_reopen(void **state);
int64_t tinv_scalar(const char *path, const char *sql, const char *arg);
void tinv_exec(const char *path, const char *sql);
const char *tinv_pg(void);
unsigned char *tinv_slurp(const char *path, size_t *len);
void tinv_spit(const char *path, const void *data, size_t len);

static const struct inv_key other_key = {.bytes = "another key, not the test one"};

#define AD_A "bmc-password:00000000-0000-4000-8000-00000000000a"
#define AD_B "bmc-password:00000000-0000-4000-8000-00000000000b"

/* ------------------------------------------------------------- sealing */

static char *seal(const struct inv_key *k, const char *ad, const char *plain)
{
	struct inv_err err = {0};
	char *s = inv_seal(k, ad, plain, &err);
	if (!s)
		fail_msg("seal: %s", err.message);
	return s;
}

static void test_round_trip(void **state)
{
	(void)state;
	char long_pw[2001];
	memset(long_pw, 'x', sizeof long_pw - 1);
	long_pw[sizeof long_pw - 1] = 0;
	const char *const cases[] = {
	    "", "a", "calvin", "p@ss w0rd;'\"\\", "pässwörd-ユニコード", long_pw};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char *s = seal(tinv_key(), AD_A, cases[i]), *plain = NULL;
		assert_true(strncmp(s, INV_SEAL_PREFIX, strlen(INV_SEAL_PREFIX)) == 0);
		if (strlen(cases[i]) >= 6) /* a letter or two may be in the base64 */
			assert_null(strstr(s, cases[i]));
		struct inv_err err = {0};
		assert_int_equal(inv_unseal(tinv_key(), AD_A, s, &plain, &err), INV_OK);
		assert_string_equal(plain, cases[i]);
		free(plain);
		free(s);
	}
}

/* A random nonce per value: the same password seals differently each time. */
static void test_fresh_nonce(void **state)
{
	(void)state;
	char *a = seal(tinv_key(), AD_A, "same"), *b = seal(tinv_key(), AD_A, "same");
	assert_string_not_equal(a, b);
	free(a);
	free(b);
}

/* The bytes behind a sealed text, and back. */
static unsigned char *raw_of(const char *sealed, size_t *n)
{
	const char *b64 = sealed + strlen(INV_SEAL_PREFIX);
	size_t len = strlen(b64);
	unsigned char *raw = malloc(len);
	assert_non_null(raw);
	int got = EVP_DecodeBlock(raw, (const unsigned char *)b64, (int)len);
	assert_true(got > 0);
	*n = (size_t)got - (b64[len - 1] == '=') - (b64[len - 2] == '=');
	return raw;
}

static char *sealed_of(const unsigned char *raw, size_t n)
{
	size_t pre = strlen(INV_SEAL_PREFIX);
	char *s = malloc(pre + 4 * ((n + 2) / 3) + 1);
	assert_non_null(s);
	memcpy(s, INV_SEAL_PREFIX, pre);
	EVP_EncodeBlock((unsigned char *)s + pre, raw, (int)n);
	return s;
}

static void expect_refused(const struct inv_key *k, const char *ad, const char *sealed,
			   const char *what)
{
	char *plain = (char *)"not reset";
	struct inv_err err = {0};
	enum inv_status s = inv_unseal(k, ad, sealed, &plain, &err);
	if (s != INV_CORRUPT)
		fail_msg("%s: got %s, want corrupt", what, inv_status_name(s));
	assert_null(plain);
	assert_int_equal(err.status, INV_CORRUPT);
	assert_null(strstr(err.message, "hunter2"));
}

/* Every bit of nonce, ciphertext and tag is covered by the tag. */
static void test_tamper_detected(void **state)
{
	(void)state;
	char *s = seal(tinv_key(), AD_A, "hunter2");
	size_t n;
	unsigned char *raw = raw_of(s, &n);
	assert_int_equal(n, 12 + strlen("hunter2") + 16);
	for (size_t i = 0; i < n; i++)
		for (int bit = 0; bit < 8; bit++) {
			raw[i] ^= (unsigned char)(1u << bit);
			char *t = sealed_of(raw, n), what[64];
			snprintf(what, sizeof what, "byte %zu bit %d flipped", i, bit);
			expect_refused(tinv_key(), AD_A, t, what);
			free(t);
			raw[i] ^= (unsigned char)(1u << bit);
		}
	/* cut short, or grown */
	for (size_t cut = 0; cut < n; cut++) {
		char *t = sealed_of(raw, cut);
		expect_refused(tinv_key(), AD_A, t, "truncated");
		free(t);
	}
	unsigned char *longer = calloc(1, n + 1);
	assert_non_null(longer);
	memcpy(longer, raw, n);
	char *t = sealed_of(longer, n + 1);
	expect_refused(tinv_key(), AD_A, t, "a byte appended");
	free(t);
	free(longer);
	free(raw);
	free(s);
}

/* Values that are not sealed at all: clear text, another version, broken
 * base64. */
static void test_not_sealed_refused(void **state)
{
	(void)state;
	char *s = seal(tinv_key(), AD_A, "hunter2");
	char v2[600];
	snprintf(v2, sizeof v2, "v2:%s", s + strlen(INV_SEAL_PREFIX));
	const char *const cases[] = {"", "hunter2", "v1:", "v1:!!!!", "v1:AAA", v2, "V1:AAAA"};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		expect_refused(tinv_key(), AD_A, cases[i], cases[i]);
	free(s);
}

/* Moved to another machine's row, or opened with another key. */
static void test_wrong_ad_and_key(void **state)
{
	(void)state;
	char *s = seal(tinv_key(), AD_A, "hunter2");
	expect_refused(tinv_key(), AD_B, s, "another machine's ad");
	expect_refused(tinv_key(), "", s, "empty ad");
	expect_refused(&other_key, AD_A, s, "another key");
	free(s);
	char ad[INV_AD_LEN];
	inv_bmc_password_ad("m-1", ad);
	assert_string_equal(ad, "bmc-password:m-1");
}

/* ------------------------------------------------------------ key file */

static void key_path(void **state, const char *name, char *out, size_t len)
{
	snprintf(out, len, "%s/%s", tinv_dir(state), name);
}

static void test_key_file_create_load(void **state)
{
	char path[700];
	key_path(state, "k1", path, sizeof path);
	struct inv_err err = {0};
	assert_int_equal(inv_key_create(path, &err), INV_OK);
	struct stat sb;
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);
	assert_int_equal(sb.st_size, 65);
	struct inv_key k1, k2;
	assert_int_equal(inv_key_load(path, &k1, &err), INV_OK);
	/* never over an existing key: the file is unchanged */
	size_t n0, n1;
	unsigned char *before = tinv_slurp(path, &n0);
	assert_int_equal(inv_key_create(path, &err), INV_DUPLICATE);
	assert_non_null(strstr(err.message, path));
	unsigned char *after = tinv_slurp(path, &n1);
	assert_int_equal(n0, n1);
	assert_memory_equal(before, after, n0);
	free(before);
	free(after);
	/* a second key is another key */
	key_path(state, "k2", path, sizeof path);
	assert_int_equal(inv_key_create(path, &err), INV_OK);
	assert_int_equal(inv_key_load(path, &k2, &err), INV_OK);
	assert_memory_not_equal(k1.bytes, k2.bytes, INV_KEY_LEN);
	/* without the newline, upper-case hex: the same key */
	char text[65];
	for (int i = 0; i < INV_KEY_LEN; i++)
		snprintf(text + 2 * i, 3, "%02X", k2.bytes[i]);
	key_path(state, "k3", path, sizeof path);
	tinv_spit(path, text, 64);
	assert_int_equal(chmod(path, 0600), 0);
	struct inv_key k3;
	assert_int_equal(inv_key_load(path, &k3, &err), INV_OK);
	assert_memory_equal(k2.bytes, k3.bytes, INV_KEY_LEN);
	inv_key_clear(&k3);
	assert_memory_equal(k3.bytes, (unsigned char[INV_KEY_LEN]){0}, INV_KEY_LEN);
}

/* Every refusal names the file; the key is left zeroed. */
static void test_key_file_refused(void **state)
{
	static const struct {
		const char *what, *content; /* content NULL: no file */
		mode_t mode;
		enum inv_status want;
		const char *says;
	} cases[] = {
	    {"missing", NULL, 0, INV_NOT_FOUND, "No such file"},
	    {"world-readable", "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n",
	     0644, INV_INVALID, "chmod 600"},
	    {"group-readable", "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n",
	     0640, INV_INVALID, "mode 0640"},
	    {"too short", "0011\n", 0600, INV_CORRUPT, "64 hex digits"},
	    {"not hex", "zz112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n", 0600,
	     INV_CORRUPT, "64 hex digits"},
	    {"trailing junk",
	     "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\nxx", 0600,
	     INV_CORRUPT, "64 hex digits"},
	    {"empty", "", 0600, INV_CORRUPT, "64 hex digits"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char path[700];
		snprintf(path, sizeof path, "%s/bad-key-%zu", tinv_dir(state), i);
		if (cases[i].content) {
			tinv_spit(path, cases[i].content, strlen(cases[i].content));
			assert_int_equal(chmod(path, cases[i].mode), 0);
		}
		struct inv_key k;
		memset(&k, 0xaa, sizeof k);
		struct inv_err err = {0};
		enum inv_status s = inv_key_load(path, &k, &err);
		if (s != cases[i].want || !strstr(err.message, path) ||
		    !strstr(err.message, cases[i].says))
			fail_msg("%s: got %s '%s'", cases[i].what, inv_status_name(s), err.message);
		assert_string_equal(err.field, "key_file");
		assert_memory_equal(k.bytes, (unsigned char[INV_KEY_LEN]){0}, INV_KEY_LEN);
	}
	/* a directory is not a key file */
	struct inv_key k;
	struct inv_err err = {0};
	assert_int_equal(inv_key_load(tinv_dir(state), &k, &err), INV_INVALID);
	assert_non_null(strstr(err.message, "not a regular file"));
	/* nor is there a database without a key */
	struct inv *inv = NULL;
	assert_int_equal(inv_open(tinv_path(state), NULL, &inv, &err), INV_INVALID);
	assert_null(inv);
}

/* ------------------------------------------------- the database file */

#define PW1 "Enrol-Pw-7c1e-DistinctBytes"
#define PW2 "Patch-Pw-93ab-DistinctBytes"

/* Whether the file at path (missing: no) holds needle's bytes. */
static bool file_has(const char *path, const char *needle)
{
	struct stat sb;
	if (stat(path, &sb) != 0)
		return false;
	size_t n;
	unsigned char *buf = tinv_slurp(path, &n);
	bool found = memmem(buf, n, needle, strlen(needle)) != NULL;
	free(buf);
	return found;
}

/* Neither the database nor its WAL holds needle. On PostgreSQL, whose
 * files are the server's: no row of bmcs or audit holds it. */
static void expect_not_on_disk(const char *db, const char *needle)
{
	if (tinv_pg()) {
		if (tinv_scalar(db,
				"SELECT (SELECT count(*) FROM bmcs WHERE strpos(password, ?1) > 0)"
				" + (SELECT count(*) FROM audit WHERE strpos(coalesce(before, '')"
				" || coalesce(after, ''), ?1) > 0)",
				needle) != 0)
			fail_msg("'%s' is stored in clear", needle);
		return;
	}
	char wal[720];
	snprintf(wal, sizeof wal, "%s-wal", db);
	if (file_has(db, needle) || file_has(wal, needle))
		fail_msg("'%s' is on disk in clear (%s%s)", needle, file_has(db, needle) ? db : "",
			 file_has(wal, needle) ? " and its WAL" : "");
}

/* id NULL: the machine is not read back (a database of an older schema
 * lacks columns today's reads want). */
static void enrol(struct inv *inv, const char *name, const char *password, char id[INV_ID_LEN])
{
	char pw[64];
	snprintf(pw, sizeof pw, "%s", password);
	struct inv_bmc b = {.driver = "ipmi",
			    .address = "10.0.0.9",
			    .username = "admin",
			    .password = pw,
			    .options_json = (char *)"{}"};
	struct inv_machine_new n = {
	    .name = name, .location = {.unit = -1}, .bmc = &b, .actor = "test"};
	struct inv_machine m = {0};
	struct inv_err err = {0};
	if (inv_machine_create(inv, &n, id ? &m : NULL, &err) != INV_OK)
		fail_msg("enrol %s: %s", name, err.message);
	if (id)
		snprintf(id, INV_ID_LEN, "%s", m.id);
	inv_machine_clear(&m);
}

/* key: the machine's id or name */
static void expect_password(struct inv *inv, const char *key, const char *want)
{
	struct inv_bmc b = {0};
	struct inv_err err = {0};
	struct inv_machine m = {0};
	if (inv_machine_get(inv, key, &m, &err) != INV_OK)
		fail_msg("machine %s: %s", key, err.message);
	if (inv_machine_bmc(inv, m.id, &b, &err) != INV_OK)
		fail_msg("bmc of %s: %s", key, err.message);
	inv_machine_clear(&m);
	assert_string_equal(b.password, want);
	assert_string_equal(b.username, "admin");
	inv_bmc_clear(&b);
}

/* Enrolment and a PATCH store sealed passwords only, and read them back. */
static void test_db_holds_no_clear_password(void **state)
{
	struct inv *inv = tinv_inv(state);
	char id[INV_ID_LEN];
	enrol(inv, "m-1", PW1, id);
	struct inv_machine m = {0};
	struct inv_err err = {0};
	assert_int_equal(inv_machine_get(inv, id, &m, &err), INV_OK);
	char pw[64];
	snprintf(pw, sizeof pw, "%s", PW2);
	struct inv_bmc b = {
	    .driver = "ipmi", .address = "10.0.0.9", .username = "admin", .password = pw};
	struct inv_machine_change c = {
	    .expect_version = m.version, .set_bmc = true, .bmc = &b, .actor = "test"};
	assert_int_equal(inv_machine_change(inv, id, &c, NULL, &err), INV_OK);
	inv_machine_clear(&m);
	expect_password(inv, id, PW2);
	/* while open (the change is in the WAL), and after the close folded it in */
	expect_not_on_disk(tinv_path(state), PW1);
	expect_not_on_disk(tinv_path(state), PW2);
	assert_int_equal(tinv_scalar(tinv_path(state),
				     "SELECT count(*) FROM bmcs WHERE password LIKE 'v1:%'", NULL),
			 1);
	tinv_reopen(state);
	expect_password(tinv_inv(state), id, PW2);
	expect_not_on_disk(tinv_path(state), PW1);
	expect_not_on_disk(tinv_path(state), PW2);
}

/* Another key file: the read fails and says why; nothing else breaks. A
 * sealed password copied into another machine's row does not open. */
static void test_wrong_key_and_moved_row(void **state)
{
	char a[INV_ID_LEN], b[INV_ID_LEN];
	enrol(tinv_inv(state), "m-a", PW1, a);
	enrol(tinv_inv(state), "m-b", PW2, b);
	/* a second inventory on the same file, with another key */
	struct inv *inv = NULL;
	struct inv_err err = {0};
	assert_int_equal(inv_open(tinv_path(state), &other_key, &inv, &err), INV_OK);
	struct inv_bmc bmc = {0};
	assert_int_equal(inv_machine_bmc(inv, a, &bmc, &err), INV_CORRUPT);
	assert_string_equal(err.field, "bmc.password");
	assert_non_null(strstr(err.message, "does not decrypt"));
	assert_non_null(strstr(err.message, a));
	assert_null(strstr(err.message, PW1));
	assert_null(bmc.password);
	struct inv_machine m = {0};
	assert_int_equal(inv_machine_get(inv, a, &m, &err), INV_OK);
	assert_true(m.has_bmc);
	inv_machine_clear(&m);
	inv_close(inv);

	char sql[400];
	snprintf(sql, sizeof sql,
		 "UPDATE bmcs SET password = (SELECT password FROM bmcs WHERE machine_id = '%s')"
		 " WHERE machine_id = '%s'",
		 a, b);
	tinv_exec(tinv_path(state), sql);
	expect_password(tinv_inv(state), a, PW1);
	assert_int_equal(inv_machine_bmc(tinv_inv(state), b, &bmc, &err), INV_CORRUPT);
	assert_null(bmc.password);
}

#define OLD1 "Old-Clear-Pw-1-a5e0"
#define OLD2 "Old-Clear-Pw-2-PATCHED-d44f"
#define OLD3 "Old-Clear-Pw-3-b812"
#define STALE "Stale-Clear-Pw-of-a-removed-bmc-e9c3"

/* A database of schema 4 holds passwords in clear, and the clear passwords
 * of many BMC accesses since removed in its free pages. The upgrade seals
 * them all and leaves no clear copy anywhere in the file or its WAL. */
static void test_upgrade_seals_clear_passwords(void **state)
{
	if (tinv_pg())
		skip(); /* the file of a SQLite database of schema 4 */
	const char *path = tinv_path(state);
	struct inv *inv = NULL;
	struct inv_err err = {0};
	assert_int_equal(inv_open_at(path, 4, tinv_key(), &inv, &err), INV_OK);
	enrol(inv, "old-1", "x", NULL);
	enrol(inv, "old-2", "y", NULL);
	enrol(inv, "new-3", OLD3, NULL); /* sealed by this provisiond: kept as is */
	inv_close(inv);
	char sql[800];
	/* secure_delete off, as in SQLite's default build (Debian's turns it
	 * on): the removed rows' pages keep their bytes on the free list */
	snprintf(sql, sizeof sql,
		 "PRAGMA secure_delete=OFF;"
		 "UPDATE bmcs SET password = '" OLD1 "'"
		 " WHERE machine_id = (SELECT id FROM machines WHERE name = 'old-1');"
		 "UPDATE bmcs SET password = '" OLD2 "'"
		 " WHERE machine_id = (SELECT id FROM machines WHERE name = 'old-2');"
		 "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300)"
		 " INSERT INTO bmcs(machine_id, driver, password)"
		 " SELECT 'gone-' || i, 'ipmi', '" STALE "' FROM n;"
		 "DELETE FROM bmcs WHERE machine_id LIKE 'gone-%%';");
	tinv_exec(path, sql);
	assert_int_equal(tinv_scalar(path, "PRAGMA user_version", NULL), 4);
	assert_true(tinv_scalar(path, "PRAGMA freelist_count", NULL) > 0);
	/* the scan is real: the clear values are in the file */
	assert_true(file_has(path, OLD1));
	assert_true(file_has(path, STALE));

	assert_int_equal(inv_open(path, tinv_key(), &inv, &err), INV_OK);
	assert_int_equal(tinv_scalar(path, "PRAGMA user_version", NULL), inv_schema_version());
	expect_not_on_disk(path, OLD1);
	expect_not_on_disk(path, OLD2);
	expect_not_on_disk(path, OLD3);
	expect_not_on_disk(path, STALE);
	assert_int_equal(
	    tinv_scalar(path, "SELECT count(*) FROM bmcs WHERE password LIKE 'v1:%'", NULL), 3);
	expect_password(inv, "old-1", OLD1);
	expect_password(inv, "old-2", OLD2);
	expect_password(inv, "new-3", OLD3);
	inv_close(inv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_fresh_nonce),
	    cmocka_unit_test(test_tamper_detected),
	    cmocka_unit_test(test_not_sealed_refused),
	    cmocka_unit_test(test_wrong_ad_and_key),
	    cmocka_unit_test_setup_teardown(test_key_file_create_load, tinv_setup_dir,
					    tinv_teardown),
	    cmocka_unit_test_setup_teardown(test_key_file_refused, tinv_setup_dir, tinv_teardown),
	    cmocka_unit_test_setup_teardown(test_db_holds_no_clear_password, tinv_setup,
					    tinv_teardown),
	    cmocka_unit_test_setup_teardown(test_wrong_key_and_moved_row, tinv_setup,
					    tinv_teardown),
	    cmocka_unit_test_setup_teardown(test_upgrade_seals_clear_passwords, tinv_setup_dir,
					    tinv_teardown),
	};
	return cmocka_run_group_tests_name("inventory_secrets", tests, NULL, NULL);
}
