/* test_bmc_ipmi_sol.c - Serial-over-LAN opens that fail, against real OpenIPMI
 * ipmi_sim BMCs on loopback, must leave the rest of the process alone.
 *
 * The sims of sim_harness have no `sol` line: libipmiconsole's open fails there
 * ("BMC Error"). A BMC address whose name does not resolve, or whose port is
 * above 32767 (the kernel's ephemeral range, where sim_start puts sims), fails
 * earlier, inside libipmiconsole's own setup ("hostname invalid"), which in
 * FreeIPMI 1.6 closes descriptor 0 (twice) on its way out: in a daemon,
 * descriptor 0 is soon a socket of libfreeipmi or libmicrohttpd, and those then
 * fail ("internal error", "Close socket failed"). The driver must keep such
 * addresses from libipmiconsole.
 *
 * While two threads open consoles that fail, two threads run IPMI commands on
 * the same BMCs; afterwards every descriptor the test set aside (0 included, a
 * pipe here) must still be the same file, no IPMI command may have failed, and
 * the process holds no more descriptors than before. The capture manager
 * (provisiond/console) over the same BMC must count each failed open and retry
 * it after a growing backoff (on the virtual clock), never in a tight loop.
 * Exits 77 (skipped) without ipmi_sim or without the console compiled in. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "provisiond/bmc/bmc.h"
#include "provisiond/console/console.h"
#include "sim_harness.h"
#include "tests/vclock_fixture.h"

#define NSIMS 2
#define NSENTRY 8 /* sentinel pipes besides descriptor 0 */
#define OPENS 6	  /* failing opens per console thread */

static struct sim sims[NSIMS];
static struct bmc_manager *mgr;
static char addrs[NSIMS][64];
static atomic_bool opening_done;
static atomic_int ipmi_failures, ipmi_calls, sol_mismatches;
static char first_failure[256], first_mismatch[512];

static const char *const opts =
    "{\"workarounds\":\"opensesspriv,solpayloadsize,solchannelsupport\",\"timeout_ms\":4000}";

static struct bmc_target target(const char *key, const char *address)
{
	return (struct bmc_target){.key = key,
				   .driver = "ipmi",
				   .address = address,
				   .username = "admin",
				   .password = "secret",
				   .options_json = opts};
}

struct sentinel {
	int fd;
	dev_t dev;
	ino_t ino;
};
static struct sentinel sentries[NSENTRY + 1];

static int record(struct sentinel *s, int fd)
{
	struct stat st;

	if (fstat(fd, &st) != 0)
		return -1;
	*s = (struct sentinel){.fd = fd, .dev = st.st_dev, .ino = st.st_ino};
	return 0;
}

/* Descriptor 0 becomes a pipe of ours, and NSENTRY more pipes are kept open. */
static int sentinels_set(void)
{
	int p[2];

	if (pipe(p) != 0 || dup2(p[0], 0) != 0 || close(p[0]) != 0)
		return -1;
	if (record(&sentries[0], 0) != 0)
		return -1;
	for (int i = 1; i <= NSENTRY; i++) {
		if (pipe(p) != 0 || record(&sentries[i], p[i % 2]) != 0)
			return -1;
		close(p[(i + 1) % 2]);
	}
	return 0;
}

static int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (d == NULL)
		return -1;
	while (readdir(d) != NULL)
		n++;
	closedir(d);
	return n;
}

static int setup(void **state)
{
	struct bmc_limits l;

	(void)state;
	bmc_limits_default(&l);
	l.call_timeout_ms = 4000;
	for (int i = 0; i < NSIMS; i++) {
		char name[16];
		snprintf(name, sizeof(name), "sol%d", i);
		/* sol0 where libipmiconsole reaches it, sol1 in the ephemeral range */
		if ((i == 0 ? sim_start_below(&sims[i], name, 32768) : sim_start(&sims[i], name)) !=
		    0)
			return -1;
		snprintf(addrs[i], sizeof(addrs[i]), "127.0.0.1:%d", sims[i].port);
	}
	mgr = bmc_manager_new(&l);
	return mgr != NULL && sentinels_set() == 0 ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	bmc_manager_free(mgr);
	for (int i = 0; i < NSIMS; i++)
		sim_stop(&sims[i]);
	return 0;
}

/* One open that must fail with status want and a message; returns its status.
 * Any thread: a mismatch is counted (the first one kept), the caller asserts. */
static enum bmc_status open_fails(const char *key, const char *address, enum bmc_status want)
{
	struct bmc_target t = target(key, address);
	struct bmc_console *c = NULL;
	struct bmc_error e = {0};
	enum bmc_status st = bmc_console_open(mgr, &t, &c, &e);

	if (st == BMC_OK)
		bmc_console_close(c);
	if (st != BMC_ERR_NOT_COMPILED && (st != want || e.message[0] == '\0') &&
	    atomic_fetch_add(&sol_mismatches, 1) == 0)
		snprintf(first_mismatch, sizeof(first_mismatch), "SOL open of %s: %s, want %s (%s)",
			 address, bmc_status_name(st), bmc_status_name(want), e.message);
	return st;
}

static void *console_thread(void *arg)
{
	int k = (int)(intptr_t)arg;
	char key[16];

	snprintf(key, sizeof(key), "c%d", k);
	for (int i = 0; i < OPENS; i++) {
		switch ((i + k) % 3) {
		case 0: /* a name that cannot resolve (RFC 6761): retried later */
			open_fails(key, "no-such-bmc.invalid:623", BMC_ERR_UNREACHABLE);
			break;
		case 1: /* the BMC answers, without SOL: libipmiconsole's engine fails */
			open_fails(key, addrs[0], BMC_ERR_FAILED);
			break;
		default: /* a port libipmiconsole cannot use: refused before it */
			open_fails(key, addrs[1],
				   sims[1].port > 32767 ? BMC_ERR_UNSUPPORTED : BMC_ERR_FAILED);
		}
	}
	return NULL;
}

static void *ipmi_thread(void *arg)
{
	int k = (int)(intptr_t)arg;
	char key[16];

	snprintf(key, sizeof(key), "p%d", k);
	while (!atomic_load(&opening_done)) {
		struct bmc_target t = target(key, addrs[k % NSIMS]);
		enum bmc_power_state p = BMC_POWER_UNKNOWN;
		struct bmc_error e = {0};
		atomic_fetch_add(&ipmi_calls, 1);
		if (bmc_power_get(mgr, &t, &p, &e) != BMC_OK &&
		    atomic_fetch_add(&ipmi_failures, 1) == 0)
			snprintf(first_failure, sizeof(first_failure), "%s", e.message);
	}
	return NULL;
}

static void assert_sentinels(void)
{
	for (int i = 0; i <= NSENTRY; i++) {
		struct stat st;
		if (fstat(sentries[i].fd, &st) != 0)
			fail_msg("descriptor %d was closed: %s", sentries[i].fd, strerror(errno));
		if (st.st_dev != sentries[i].dev || st.st_ino != sentries[i].ino)
			fail_msg("descriptor %d was closed and reused", sentries[i].fd);
	}
}

static void test_failed_opens_leave_descriptors(void **state)
{
	pthread_t con[2], ipmi[2];

	(void)state;
	/* the first open starts libipmiconsole's engine (its descriptors stay) */
	if (open_fails("warm", addrs[0], BMC_ERR_FAILED) == BMC_ERR_NOT_COMPILED)
		skip();
	assert_int_equal(atomic_load(&sol_mismatches), 0);
	assert_sentinels();
	int before = open_fds();
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&ipmi[i], NULL, ipmi_thread, (void *)(intptr_t)i),
				 0);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&con[i], NULL, console_thread, (void *)(intptr_t)i),
				 0);
	for (int i = 0; i < 2; i++)
		pthread_join(con[i], NULL);
	atomic_store(&opening_done, true);
	for (int i = 0; i < 2; i++)
		pthread_join(ipmi[i], NULL);
	assert_sentinels();
	if (atomic_load(&sol_mismatches) > 0)
		fail_msg("%d SOL opens ended otherwise than expected, first: %s",
			 atomic_load(&sol_mismatches), first_mismatch);
	if (atomic_load(&ipmi_failures) > 0)
		fail_msg("%d of %d IPMI commands failed beside the SOL opens, first: %s",
			 atomic_load(&ipmi_failures), atomic_load(&ipmi_calls), first_failure);
	assert_true(atomic_load(&ipmi_calls) > 0);
	/* the engine closes its side of a failed session on its own thread: wait for it
	 * (a condition, not a time bound: 20 s is far beyond a few closes) */
	int after = open_fds();
	for (int i = 0; i < 200 && after > before; i++) {
		usleep(100 * 1000);
		after = open_fds();
	}
	assert_int_equal(after, before);
}

struct lines {
	char text[4096];
	size_t n;
};

static void collect(void *ctx, const char *line)
{
	struct lines *b = ctx;
	int w = snprintf(b->text + b->n, sizeof(b->text) - b->n, "%s\n", line);

	if (w > 0 && (size_t)w < sizeof(b->text) - b->n)
		b->n += (size_t)w;
}

static long long metric(struct con_manager *m, const char *name)
{
	struct lines b = {.n = 0};
	size_t len = strlen(name);

	con_metrics(m, collect, &b);
	for (const char *p = b.text; p != NULL && *p;
	     p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (strncmp(p, name, len) == 0 && p[len] == ' ')
			return atoll(p + len + 1);
	return -1;
}

#define OPEN_ERRORS "provisiond_console_errors_total{stage=\"open\"}"

/* Runs on the virtual clock: the backoff sleeps move it instead of waiting, so
 * the time they add up to shows they happened and grew. */
static void test_capture_retries_with_backoff(void **state)
{
	struct con_limits l;
	struct bmc_target t = target("cap", addrs[0]);

	(void)state;
	con_limits_default(&l); /* reopen after 2 s, doubling up to 60 s */
	struct con_manager *m = con_manager_new(mgr, &l, NULL, NULL);
	assert_non_null(m);
	con_capture(m, "cap", &t);
	/* a condition, not a time bound: each failed open takes milliseconds */
	for (int i = 0; i < 600 && metric(m, OPEN_ERRORS) < 4; i++)
		usleep(100 * 1000);
	if (metric(m, "provisiond_console_sessions_started_total") == 1 &&
	    metric(m, OPEN_ERRORS) == 1 && metric(m, "provisiond_console_sessions") == 0)
		skip(); /* final at once: the console is not compiled in */
	assert_true(metric(m, OPEN_ERRORS) >= 4);
	/* still trying (a BMC without SOL may get one later), and after 3 failures
	 * at least 3 backoffs of at least half of 2, 4 and 8 s passed */
	assert_int_equal(metric(m, "provisiond_console_sessions"), 1);
	assert_true(util_vclock_slept_ms(&vclock) >= 1000 + 2000 + 4000);
	assert_true(util_vclock_sleeps(&vclock) >= 3);
	con_capture(m, "cap", NULL);
	con_manager_free(m);
	assert_sentinels();
}

int main(void)
{
	if (!sim_available()) {
		fprintf(stderr, "ipmi_sim not installed: skipped\n");
		return 77;
	}
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_failed_opens_leave_descriptors),
	    cmocka_unit_test_setup_teardown(test_capture_retries_with_backoff, vclock_on,
					    vclock_off),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
