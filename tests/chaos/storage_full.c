/* storage_full.c - the database's filesystem fills up in the middle of a
 * write storm (docs/reliability.md, "Storage faults").
 *
 * The database and its key live on a small tmpfs the test mounts (root
 * only, as in CI). Four clients enroll machines as fast as they can while
 * the engine works on the ones already enrolled; then a filler file takes
 * the rest of the space. While the disk is full: writes answer
 * 503 storage_unavailable at once (no hang, no crash), reads keep working,
 * /readyz and /metrics say the database takes no writes. When the filler is
 * removed, writes work again without a restart. Every enrollment that was
 * acknowledged (201) exists afterwards, also after a restart, and the
 * database passes PRAGMA integrity_check.
 *
 * A database file that is not provisiond's (random bytes, another
 * program's SQLite database, a truncated copy) stops the start: exit 1 and
 * one line naming the file and the reason, and the file is not touched. */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

enum { CLIENTS = 4, MAX_ACKED = 20000 };

struct storm {
	struct h_daemon *d;
	atomic_bool stop;
	pthread_mutex_t mu;
	char (*acked)[32]; /* names enrolled with 201 */
	int nacked;
	atomic_int full_answers;  /* 503 storage_unavailable */
	atomic_int slow_answers;  /* any answer after more than 2 s */
	atomic_int other_answers; /* anything but 201 or 503 storage_unavailable */
	atomic_int since_full_ok; /* 201s after the disk was full */
	atomic_bool disk_full;
};

struct client {
	struct storm *s;
	int n;
	pthread_t tid;
};

static void *client_main(void *arg)
{
	struct client *c = arg;
	struct storm *s = c->s;
	for (unsigned i = 0; !atomic_load(&s->stop); i++) {
		char name[32];
		snprintf(name, sizeof name, "c%d-%u", c->n, i);
		struct h_resp r = {0};
		char mac[18];
		h_mac((unsigned)c->n * 100000u + i + 1, mac);
		json_t *b = json_pack("{s:s, s:[s], s:{s:s, s:{s:s}}}", "name", name, "macs", mac,
				      "bmc", "driver", "fake", "options", "sku", "lab.small");
		int64_t t0 = h_now_ms();
		long st = h_call(s->d, s->d->admin, "POST", "/v1/machines", b, &r);
		if (h_now_ms() - t0 > 2000)
			atomic_fetch_add(&s->slow_answers, 1);
		if (st == 201) {
			pthread_mutex_lock(&s->mu);
			if (s->nacked < MAX_ACKED)
				snprintf(s->acked[s->nacked++], 32, "%s", name);
			pthread_mutex_unlock(&s->mu);
			if (atomic_load(&s->disk_full))
				atomic_fetch_add(&s->since_full_ok, 1);
		} else if (st == 503 && !strcmp(h_err_code(&r), "storage_unavailable")) {
			atomic_fetch_add(&s->full_answers, 1);
		} else {
			print_message("enroll %s: %ld %s\n", name, st, r.body);
			atomic_fetch_add(&s->other_answers, 1);
		}
		h_resp_clear(&r);
		h_sleep_ms(2);
	}
	return NULL;
}

static char mnt[300];

static int setup(void **state)
{
	static struct h_daemon d;
	*state = &d;
	if (geteuid() != 0) {
		fprintf(stderr, "storage_full: must run as root (it mounts a tmpfs)\n");
		return -1;
	}
	/* many short connections from one address: no per-address cap in the way */
	if (h_start(&d, "[server]\ntoken_rate_per_s = 0\nclient_connection_limit = 10000\n") != 0 ||
	    h_term(&d) != 0)
		return -1;
	/* move the database and its key onto a 64 MiB filesystem */
	snprintf(mnt, sizeof mnt, "%s/dbfs", d.dir);
	if (mkdir(mnt, 0700) != 0 || mount("tmpfs", mnt, "tmpfs", 0, "size=64m,mode=0700") != 0) {
		perror("storage_full: mount tmpfs");
		return -1;
	}
	const char *const files[] = {"", ".key", ".admin-token"};
	for (size_t i = 0; i < 3; i++) {
		char from[400], to[450];
		snprintf(from, sizeof from, "%s%s", d.db, files[i]);
		snprintf(to, sizeof to, "%s/p.db%s", mnt, files[i]);
		char cmd[1024];
		snprintf(cmd, sizeof cmd, "cp -p '%s' '%s'", from, to);
		if (system(cmd) != 0)
			return -1;
	}
	snprintf(d.db, sizeof d.db, "%.300s/p.db", mnt);
	return h_restart(&d);
}

static int teardown(void **state)
{
	struct h_daemon *d = *state;
	int rc = h_term(d);
	umount2(mnt, MNT_DETACH);
	h_stop(d);
	return rc == 0 ? 0 : -1;
}

/* Writes zeros into path until the filesystem is full. */
static void fill(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	static char block[65536];
	ssize_t w;
	while ((w = write(fd, block, sizeof block)) > 0)
		;
	assert_int_equal(errno, ENOSPC);
	close(fd);
}

static bool wait_status(struct h_daemon *d, const char *path, long want, int timeout_s)
{
	for (int64_t end = h_now_ms() + timeout_s * 1000LL; h_now_ms() < end; h_sleep_ms(100))
		if (h_call(d, NULL, "GET", path, NULL, NULL) == want)
			return true;
	return false;
}

static void while_full(struct storm *s)
{
	struct h_daemon *d = s->d;
	/* the first write that needs a new page fails; it must come soon */
	for (int i = 0; i < 100 && !atomic_load(&s->full_answers); i++)
		h_sleep_ms(100);
	assert_true(atomic_load(&s->full_answers) > 0);
	/* a small write may still fit now and then (SQLite reuses freed pages),
	 * so /readyz may flap; it must say 503 while the disk stays full */
	struct h_resp r = {0};
	long st = 0;
	for (int i = 0; i < 100 && (st = h_call(d, NULL, "GET", "/readyz", NULL, &r)) != 503; i++) {
		h_resp_clear(&r);
		h_sleep_ms(100);
	}
	assert_int_equal(st, 503);
	assert_string_equal(h_err_code(&r), "storage_unavailable");
	assert_non_null(strstr(h_err_message(&r), "full"));
	h_resp_clear(&r);
	assert_int_equal(h_call(d, d->admin, "GET", "/v1/machines?limit=10", NULL, &r), 200);
	h_resp_clear(&r);
	bool unwritable = false;
	for (int i = 0; i < 100 && !unwritable; i++, h_sleep_ms(100)) {
		assert_int_equal(h_call(d, NULL, "GET", "/metrics", NULL, &r), 200);
		unwritable = strstr(r.body, "\nprovisiond_inventory_writable 0\n") != NULL;
		h_resp_clear(&r);
	}
	assert_true(unwritable);
	h_sleep_ms(2000); /* the storm goes on against the full disk */
}

static void test_disk_fills_mid_storm(void **state)
{
	struct h_daemon *d = *state;
	struct storm s = {.d = d, .acked = calloc(MAX_ACKED, 32)};
	assert_non_null(s.acked);
	pthread_mutex_init(&s.mu, NULL);
	struct client c[CLIENTS];
	for (int i = 0; i < CLIENTS; i++) {
		c[i] = (struct client){.s = &s, .n = i};
		assert_int_equal(pthread_create(&c[i].tid, NULL, client_main, &c[i]), 0);
	}
	h_sleep_ms(1500);
	char filler[450];
	snprintf(filler, sizeof filler, "%s/filler", mnt);
	fill(filler);
	atomic_store(&s.disk_full, true);
	while_full(&s);
	int acked_while_full = atomic_load(&s.since_full_ok);
	assert_int_equal(unlink(filler), 0);
	assert_true(wait_status(d, "/readyz", 200, 15));
	for (int i = 0; i < 100 && atomic_load(&s.since_full_ok) <= acked_while_full + 10; i++)
		h_sleep_ms(100);
	atomic_store(&s.stop, true);
	for (int i = 0; i < CLIENTS; i++)
		pthread_join(c[i].tid, NULL);
	print_message("acknowledged %d enrollments, %d answered 503 while full\n", s.nacked,
		      atomic_load(&s.full_answers));
	assert_true(atomic_load(&s.since_full_ok) > acked_while_full + 10); /* writes resumed */
	assert_int_equal(atomic_load(&s.slow_answers), 0);
	assert_int_equal(atomic_load(&s.other_answers), 0);
	/* nothing acknowledged is lost, before or after a restart */
	for (int pass = 0; pass < 2; pass++) {
		for (int i = 0; i < s.nacked; i++) {
			char path[64];
			snprintf(path, sizeof path, "/v1/machines/%s", s.acked[i]);
			if (h_call(d, d->admin, "GET", path, NULL, NULL) != 200)
				fail_msg("acknowledged machine %s is missing (pass %d)", s.acked[i],
					 pass);
		}
		if (pass == 0) {
			assert_int_equal(h_term(d), 0);
			assert_int_equal(h_restart(d), 0);
		}
	}
	assert_int_equal(h_db_int(d, "SELECT count(*) FROM pragma_integrity_check "
				     "WHERE integrity_check != 'ok'"),
			 0);
	free(s.acked);
	pthread_mutex_destroy(&s.mu);
}

/* Runs provisiond on db (key file beside it) and returns its exit status;
 * its stderr into err. */
static int start_on(const char *dir, const char *db, char *err, size_t len)
{
	char cmd[2048];
	snprintf(
	    cmd, sizeof cmd,
	    "cd '%s' && cp p.db.key '%s.key' 2>/dev/null; '%s/provisiond/provisiond' --db '%s' "
	    "--config p.ini --listen 127.0.0.1:0 --boot-listen 127.0.0.1:0 2>&1 >/dev/null",
	    dir, db, getenv("PROVISIOND_BINARY_DIR"), db);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	size_t n = fread(err, 1, len - 1, p);
	err[n] = '\0';
	int st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_foreign_database_refused(void **state)
{
	struct h_daemon *d = *state;
	static const struct {
		const char *file, *make, *reason;
	} cases[] = {
	    {"random.db", "head -c 65536 /dev/urandom > random.db", "not a database"},
	    {"other.db", "sqlite3 other.db 'CREATE TABLE notes(x); INSERT INTO notes VALUES(1);'",
	     "no provisiond schema"},
	    {"cut.db", "head -c 6000 p.db > cut.db", "malformed"},
	};
	assert_int_equal(h_term(d), 0);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char cmd[1024], err[2048], sum[2][80];
		snprintf(cmd, sizeof cmd, "cd '%s' && %s && sha256sum %s", d->dir, cases[i].make,
			 cases[i].file);
		FILE *p = popen(cmd, "r");
		assert_non_null(p);
		assert_non_null(fgets(sum[0], sizeof sum[0], p));
		pclose(p);
		assert_int_equal(start_on(d->dir, cases[i].file, err, sizeof err), 1);
		print_message("%s: %s", cases[i].file, err);
		assert_non_null(strstr(err, cases[i].file));
		assert_non_null(strstr(err, cases[i].reason));
		assert_non_null(strchr(err, '\n'));
		assert_int_equal(strchr(err, '\n')[1], '\0'); /* one line */
		snprintf(cmd, sizeof cmd, "cd '%s' && sha256sum %s", d->dir, cases[i].file);
		p = popen(cmd, "r");
		assert_non_null(fgets(sum[1], sizeof sum[1], p));
		pclose(p);
		assert_string_equal(sum[0], sum[1]); /* untouched */
	}
}

static int teardown_stopped(void **state)
{
	h_stop(*state); /* the test stopped the daemon itself */
	return 0;
}

static int setup_plain(void **state)
{
	static struct h_daemon d;
	*state = &d;
	return h_start(&d, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_disk_fills_mid_storm, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_foreign_database_refused, setup_plain,
					    teardown_stopped),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
