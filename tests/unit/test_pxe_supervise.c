/* pxe: supervising a real dnsmasq. The plain tests run a dnsmasq that serves
 * nothing (port=0, no DHCP, no TFTP). The netns test builds a private network
 * namespace with a veth pair and runs the full boot-plane config there: a
 * DHCP exchange (busybox udhcpc) and a TFTP fetch (curl) that never leave the
 * namespace. It needs root and iproute2 and is skipped otherwise.
 *
 * Restart backoff and the stop deadline run on util's virtual clock and are
 * checked to the millisecond; the children are real, so the tests wait for them
 * in real time with generous deadlines and never assert how short that was. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pxe/pxe.h"
#include "tests/vclock_fixture.h"

extern char **environ;

struct fixture {
	char dir[64];
	char conf[128];
	char netns[32];
	struct pxe_dnsmasq *d;
};

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Runs argv (looked up in PATH) with stdout+stderr to out (NULL: /dev/null);
 * returns its exit status or -1. */
static int run(const char *out, const char *const argv[])
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int status = -1;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, out ? out : "/dev/null",
					 O_WRONLY | O_CREAT | O_TRUNC, 0600);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	if (posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)argv, environ) == 0)
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
	posix_spawn_file_actions_destroy(&fa);
	return status >= 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Reads a whole file, also /proc ones whose size reads as 0. */
static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	struct util_buf b = {0};
	char chunk[4096], *text = NULL;
	size_t got;

	if (!f)
		return NULL;
	while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0)
		util_buf_append(&b, chunk, got);
	if (ferror(f))
		util_buf_free(&b);
	else
		text = util_buf_take(&b, len);
	fclose(f);
	return text;
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char *bin = pxe_dnsmasq_find();

	if (!f || !bin) {
		free(f);
		print_message("dnsmasq not installed\n");
		return -1;
	}
	free(bin);
	snprintf(f->dir, sizeof(f->dir), "/tmp/pxe-test-sup-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->conf, sizeof(f->conf), "%s/dnsmasq.conf", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	pxe_dnsmasq_free(f->d);
	if (f->netns[0])
		run(NULL, (const char *const[]){"ip", "netns", "del", f->netns, NULL});
	nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

/* A dnsmasq that listens on nothing: no DNS, no DHCP, no TFTP. */
static void write_idle_conf(struct fixture *f)
{
	char log[128], pid[128];
	struct err e = {0};
	struct pxe_dnsmasq_params p = {.mode = PXE_DHCP_OFF,
				       .interface = "lo",
				       .log_file = log,
				       .pid_file = pid,
				       .run_as_root = true};
	char *conf = NULL;

	snprintf(log, sizeof(log), "%s/dnsmasq.log", f->dir);
	snprintf(pid, sizeof(pid), "%s/dnsmasq.pid", f->dir);
	assert_int_equal(pxe_dnsmasq_conf(&p, &conf, &e), ERR_OK);
	assert_non_null(conf);
	write_text(f->conf, conf);
	free(conf);
	assert_int_equal(pxe_dnsmasq_test(f->conf, &e), ERR_OK);
}

static int setup_vclock(void **state)
{
	int rc = setup(state);

	return rc ? rc : vclock_on(state);
}

static int teardown_vclock(void **state)
{
	int rc = teardown(state);

	vclock_off(state);
	return rc;
}

static struct pxe_dnsmasq *new_sup(struct fixture *f, const char *netns, const char *bin)
{
	char out[128];
	struct err e = {0};
	struct pxe_dnsmasq_opts o = {.conf_path = f->conf,
				     .netns = netns,
				     .dnsmasq_path = bin,
				     .output_path = out,
				     .stop_timeout_ms = 2000,
				     .backoff_min_ms = 50,
				     .backoff_max_ms = 200};
	struct pxe_dnsmasq *d = NULL;

	snprintf(out, sizeof(out), "%s/output.log", f->dir);
	if (pxe_dnsmasq_new(&o, &d, &e) != ERR_OK)
		fail_msg("pxe_dnsmasq_new: %s", e.message);
	return d;
}

static pid_t current_pid(struct pxe_dnsmasq *d)
{
	struct pxe_dnsmasq_info info;

	pxe_dnsmasq_info(d, &info);
	return info.pid;
}

static void assert_gone(pid_t pid)
{
	assert_int_equal(kill(pid, 0), -1);
	assert_int_equal(errno, ESRCH);
}

/* Waits (real time: a killed process takes a moment to become a zombie) until
 * the supervisor has reaped its child; info is its view then. */
static void wait_reaped(struct pxe_dnsmasq *d, struct pxe_dnsmasq_info *info)
{
	for (int i = 0; i < 1000; i++) {
		pxe_dnsmasq_info(d, info);
		if (info->pid == 0)
			return;
		util_real_sleep_ms(10);
	}
	fail_msg("the supervisor did not see its child exit within 10 s");
}

static void assert_is_dnsmasq(pid_t pid)
{
	char path[64];
	char *comm;

	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	comm = read_file(path, NULL);
	assert_non_null(comm);
	assert_string_equal(comm, "dnsmasq\n");
	free(comm);
}

static void test_lifecycle(void **state)
{
	struct fixture *f = *state;
	char pidfile[128];
	struct err e = {0};
	char *text;
	pid_t pid;

	write_idle_conf(f);
	f->d = new_sup(f, NULL, NULL);
	assert_false(pxe_dnsmasq_alive(f->d));
	assert_int_equal(pxe_dnsmasq_reload(f->d, &e), ERR_CONFLICT);
	if (pxe_dnsmasq_start(f->d, &e))
		fail_msg("start: %s", e.message);
	assert_true(pxe_dnsmasq_alive(f->d));
	pid = current_pid(f->d);
	assert_true(pid > 0);
	assert_is_dnsmasq(pid);
	snprintf(pidfile, sizeof(pidfile), "%s/dnsmasq.pid", f->dir);
	text = read_file(pidfile, NULL);
	assert_non_null(text);
	assert_int_equal(strtol(text, NULL, 10), pid);
	free(text);
	assert_int_equal(pxe_dnsmasq_start(f->d, &e), ERR_CONFLICT);
	assert_int_equal(pxe_dnsmasq_reload(f->d, &e), ERR_OK);
	util_real_sleep_ms(100);
	assert_true(pxe_dnsmasq_alive(f->d));
	assert_int_equal(current_pid(f->d), pid);
	assert_int_equal(pxe_dnsmasq_stop(f->d, &e), ERR_OK);
	assert_false(pxe_dnsmasq_alive(f->d));
	assert_gone(pid);
	assert_int_equal(pxe_dnsmasq_stop(f->d, &e), ERR_OK);
}

/* Each exit soon after a start doubles the wait before the next start (50 ms to
 * the 200 ms cap); a run longer than stable_ms starts over at 50 ms. On the
 * virtual clock: the restart comes exactly at its deadline, not a millisecond
 * before. */
static void test_restart_with_backoff(void **state)
{
	static const int64_t waits[] = {50, 100, 200, 200};
	struct fixture *f = *state;
	struct pxe_dnsmasq_info info;
	struct err e = {0};
	pid_t pid, next;

	write_idle_conf(f);
	f->d = new_sup(f, NULL, NULL);
	assert_int_equal(pxe_dnsmasq_start(f->d, &e), ERR_OK);
	pid = current_pid(f->d);
	for (size_t i = 0; i <= ARRAY_SIZE(waits); i++) {
		int64_t wait = i < ARRAY_SIZE(waits) ? waits[i] : 50;

		if (i == ARRAY_SIZE(waits))
			util_vclock_advance_ms(&vclock, 60000); /* a stable run */
		assert_int_equal(kill(pid, SIGKILL), 0);
		wait_reaped(f->d, &info);
		assert_true(WIFSIGNALED(info.last_exit) && WTERMSIG(info.last_exit) == SIGKILL);
		assert_int_equal(info.next_restart_ms, wait);
		util_vclock_advance_ms(&vclock, wait - 1);
		assert_int_equal(pxe_dnsmasq_poll(f->d, &e), ERR_OK);
		assert_int_equal(current_pid(f->d), 0);
		util_vclock_advance_ms(&vclock, 1);
		assert_int_equal(pxe_dnsmasq_poll(f->d, &e), ERR_OK);
		next = current_pid(f->d);
		assert_true(next > 0 && next != pid);
		assert_is_dnsmasq(next);
		pid = next;
	}
	pxe_dnsmasq_info(f->d, &info);
	assert_int_equal(info.starts, 6);
	assert_int_equal(pxe_dnsmasq_stop(f->d, &e), ERR_OK);
	assert_gone(pid);
	/* Stopped on purpose: no restart follows. */
	util_vclock_advance_ms(&vclock, 1000);
	assert_int_equal(pxe_dnsmasq_poll(f->d, &e), ERR_OK);
	assert_false(pxe_dnsmasq_alive(f->d));
}

static void test_start_failures(void **state)
{
	struct fixture *f = *state;
	struct pxe_dnsmasq_info info;
	struct err e = {0};

	write_text(f->conf, "port=0\nno-such-option\n");
	f->d = new_sup(f, NULL, NULL);
	assert_int_equal(pxe_dnsmasq_start(f->d, &e), ERR_IO);
	assert_non_null(strstr(e.message, "exited during startup"));
	pxe_dnsmasq_info(f->d, &info);
	assert_int_equal(info.pid, 0);
	assert_true(info.next_restart_ms >= 0);
	assert_non_null(strstr(info.error, "exited during startup"));
	assert_int_equal(pxe_dnsmasq_stop(f->d, &e), ERR_OK);
	pxe_dnsmasq_info(f->d, &info);
	assert_int_equal(info.next_restart_ms, -1);
	pxe_dnsmasq_free(f->d);

	f->d = new_sup(f, NULL, "/nonexistent/dnsmasq");
	assert_int_equal(pxe_dnsmasq_start(f->d, &e), ERR_IO);
	assert_non_null(strstr(e.message, "No such file"));
	assert_int_equal(pxe_dnsmasq_stop(f->d, &e), ERR_OK);
}

static void test_new_invalid(void **state)
{
	struct pxe_dnsmasq_opts o = {.conf_path = "dnsmasq.conf"};
	struct err e = {0};
	struct pxe_dnsmasq *d = (struct pxe_dnsmasq *)&e; /* must be reset to NULL */

	(void)state;
	assert_int_equal(pxe_dnsmasq_new(&o, &d, &e), ERR_INVALID);
	assert_null(d);
	assert_int_equal(strncmp(e.message, "conf_path:", 10), 0);
	assert_string_equal(e.field, "conf_path");
	o.conf_path = "/tmp/x.conf";
	o.netns = "bad ns";
	assert_int_equal(pxe_dnsmasq_new(&o, &d, &e), ERR_INVALID);
	assert_int_equal(strncmp(e.message, "netns:", 6), 0);
	assert_string_equal(e.field, "netns");
	o.netns = NULL;
	o.backoff_min_ms = -1;
	assert_int_equal(pxe_dnsmasq_new(&o, &d, &e), ERR_INVALID);
	assert_int_equal(strncmp(e.message, "backoff_min_ms:", 15), 0);
	assert_string_equal(e.field, "backoff_min_ms");
	assert_int_equal(pxe_dnsmasq_new(NULL, &d, NULL), ERR_INVALID);
	assert_null(d);
	pxe_dnsmasq_free(NULL);
}

/* A child that ignores SIGTERM is killed once stop_timeout_ms has passed: at the
 * 200 ms deadline of the virtual clock. */
static void test_stop_escalates(void **state)
{
	struct fixture *f = *state;
	char script[128], ready[128], text[256];
	struct err e = {0};
	struct pxe_dnsmasq_opts o = {
	    .conf_path = f->conf, .dnsmasq_path = script, .stop_timeout_ms = 200, .settle_ms = 50};
	struct pxe_dnsmasq_info info;
	int64_t t0;
	pid_t pid;

	snprintf(script, sizeof(script), "%s/stubborn.sh", f->dir);
	snprintf(ready, sizeof(ready), "%s/ready", f->dir);
	snprintf(text, sizeof(text), "#!/bin/sh\ntrap '' TERM\n: >'%s'\nexec sleep 30\n", ready);
	write_text(script, text);
	assert_int_equal(chmod(script, 0700), 0);
	assert_int_equal(pxe_dnsmasq_new(&o, &f->d, &e), ERR_OK);
	assert_non_null(f->d);
	assert_int_equal(pxe_dnsmasq_start(f->d, &e), ERR_OK);
	pid = current_pid(f->d);
	/* real time: until the child ignores SIGTERM */
	for (int i = 0; i < 1000 && access(ready, F_OK) != 0; i++)
		util_real_sleep_ms(10);
	assert_int_equal(access(ready, F_OK), 0);
	t0 = util_now_ms();
	assert_int_equal(pxe_dnsmasq_stop(f->d, &e), ERR_OK);
	assert_int_equal(util_now_ms() - t0, 200);
	pxe_dnsmasq_info(f->d, &info);
	assert_true(WIFSIGNALED(info.last_exit) && WTERMSIG(info.last_exit) == SIGKILL);
	assert_gone(pid);
}

static void *run_thread(void *arg)
{
	return (void *)(intptr_t)pxe_dnsmasq_run(arg);
}

static void test_run_thread(void **state)
{
	struct fixture *f = *state;
	pthread_t th;
	void *ret;
	pid_t first = 0, second = 0;

	write_idle_conf(f);
	f->d = new_sup(f, NULL, NULL);
	assert_int_equal(pthread_create(&th, NULL, run_thread, f->d), 0);
	for (int i = 0; i < 300 && !first; i++, util_real_sleep_ms(10))
		first = current_pid(f->d);
	assert_true(first > 0);
	kill(first, SIGTERM);
	for (int i = 0; i < 300 && (!second || second == first); i++, util_real_sleep_ms(10))
		second = current_pid(f->d);
	assert_true(second > 0 && second != first);
	pxe_dnsmasq_shutdown(f->d);
	assert_int_equal(pthread_join(th, &ret), 0);
	assert_int_equal((int)(intptr_t)ret, ERR_OK);
	assert_false(pxe_dnsmasq_alive(f->d));
	assert_gone(second);
}

/* Runs `ip netns exec NETNS argv...`. */
static int ns_run(struct fixture *f, const char *out, const char *const argv[])
{
	const char *full[32] = {"ip", "netns", "exec", f->netns};
	size_t n = 4;

	for (size_t i = 0; argv[i] && n < 31; i++)
		full[n++] = argv[i];
	full[n] = NULL;
	return run(out, full);
}

/* Private namespace: lo up, veth pxe0 (server, 10.213.99.1/24 and an IPv6
 * prefix for RAs) <-> pxe1 (client, a known MAC). */
static bool make_netns(struct fixture *f)
{
	const char *const steps[][12] = {
	    {"ip", "link", "set", "lo", "up", NULL},
	    {"ip", "link", "add", "pxe0", "type", "veth", "peer", "name", "pxe1", NULL},
	    {"ip", "link", "set", "pxe1", "address", "52:54:00:12:34:56", NULL},
	    {"ip", "addr", "add", "10.213.99.1/24", "dev", "pxe0", NULL},
	    {"ip", "addr", "add", "fd00:213:99::1/64", "dev", "pxe0", "nodad", NULL},
	    {"ip", "link", "set", "pxe0", "up", NULL},
	    {"ip", "link", "set", "pxe1", "up", NULL},
	};

	if (geteuid() != 0)
		return false;
	snprintf(f->netns, sizeof(f->netns), "pxe-test-%d", (int)getpid());
	if (run(NULL, (const char *const[]){"ip", "netns", "add", f->netns, NULL})) {
		f->netns[0] = '\0';
		return false;
	}
	for (size_t i = 0; i < ARRAY_SIZE(steps); i++)
		if (ns_run(f, NULL, steps[i]))
			return false;
	return true;
}

static void write_boot_plane_conf(struct fixture *f, const char *tftp, const char *hosts)
{
	char log[128], pid[128], leases[128];
	struct err e = {0};
	struct pxe_dnsmasq_params p = {.mode = PXE_DHCP_FULL,
				       .interface = "pxe0",
				       .boot_url = "http://10.213.99.1:7481",
				       .range_start = "10.213.99.100",
				       .range_end = "10.213.99.150",
				       .netmask = "255.255.255.0",
				       .tftp_root = tftp,
				       .hosts_dir = hosts,
				       .pid_file = pid,
				       .lease_file = leases,
				       .log_file = log,
				       .ipv6_ra = true,
				       .only_known = true,
				       .run_as_root = true,
				       .log_dhcp = true};
	char *conf = NULL;

	snprintf(log, sizeof(log), "%s/dnsmasq.log", f->dir);
	snprintf(pid, sizeof(pid), "%s/dnsmasq.pid", f->dir);
	snprintf(leases, sizeof(leases), "%s/dnsmasq.leases", f->dir);
	assert_int_equal(pxe_dnsmasq_conf(&p, &conf, &e), ERR_OK);
	assert_non_null(conf);
	write_text(f->conf, conf);
	free(conf);
	if (pxe_dnsmasq_test(f->conf, &e))
		fail_msg("%s", e.message);
}

/* One DHCP exchange from pxe1; returns udhcpc's "bound" line or NULL. */
static char *dhcp_exchange(struct fixture *f, const char *option)
{
	char script[128], out[128];
	char *text, *line;

	snprintf(script, sizeof(script), "%s/udhcpc.sh", f->dir);
	snprintf(out, sizeof(out), "%s/udhcpc.out", f->dir);
	write_text(script,
		   "#!/bin/sh\n[ \"$1\" = bound ] && echo \"BOUND ip=$ip file=$boot_file\"\n"
		   "exit 0\n");
	chmod(script, 0700);
	ns_run(f, out,
	       (const char *const[]){"timeout", "30", "busybox", "udhcpc", "-i", "pxe1", "-f", "-q",
				     "-n", "-t", "5", "-T", "1", "-s", script, "-x", option, NULL});
	text = read_file(out, NULL);
	line = text ? strstr(text, "BOUND ") : NULL;
	line = line ? strndup(line, strcspn(line, "\n")) : NULL;
	free(text);
	return line;
}

static void check_dhcp(struct fixture *f)
{
	char *line;

	if (run(NULL, (const char *const[]){"busybox", "udhcpc", "--help", NULL}) < 0) {
		print_message("busybox not installed: skipping the DHCP exchange\n");
		return;
	}
	line = dhcp_exchange(f, "0x5d:0000"); /* client arch 0: legacy BIOS PXE */
	assert_non_null(line);
	assert_string_equal(line, "BOUND ip=10.213.99.20 file=undionly.kpxe");
	free(line);
	line = dhcp_exchange(f, "0x5d:0007"); /* client arch 7: x86-64 UEFI */
	assert_non_null(line);
	assert_string_equal(line, "BOUND ip=10.213.99.20 file=ipxe.efi");
	free(line);
	line = dhcp_exchange(f, "0x4d:69505845"); /* user class "iPXE" */
	assert_non_null(line);
	assert_string_equal(line, "BOUND ip=10.213.99.20 "
				  "file=http://10.213.99.1:7481/boot.ipxe?mac=${net0/mac}");
	free(line);
}

static void check_tftp(struct fixture *f, const char *tftp)
{
	char got_path[256], want_path[256];
	char *got, *want;
	size_t got_len = 0, want_len = 0;

	if (run(NULL, (const char *const[]){"curl", "--version", NULL}) != 0) {
		print_message("curl not installed: skipping the TFTP fetch\n");
		return;
	}
	snprintf(got_path, sizeof(got_path), "%s/fetched.kpxe", f->dir);
	snprintf(want_path, sizeof(want_path), "%s/undionly.kpxe", tftp);
	assert_int_equal(
	    ns_run(f, NULL,
		   (const char *const[]){"curl", "-sS", "--max-time", "20", "-o", got_path,
					 "tftp://10.213.99.1/undionly.kpxe", NULL}),
	    0);
	got = read_file(got_path, &got_len);
	want = read_file(want_path, &want_len);
	assert_non_null(got);
	assert_non_null(want);
	assert_int_equal(got_len, want_len);
	assert_memory_equal(got, want, want_len);
	free(got);
	free(want);
}

static void prepare_roots(struct fixture *f, char *tftp, char *hosts, size_t size)
{
	char fake[128], path[192];
	struct err e = {0};

	snprintf(tftp, size, "%s/tftp", f->dir);
	snprintf(hosts, size, "%s/hosts", f->dir);
	assert_int_equal(mkdir(hosts, 0755), 0);
	if (pxe_tftp_prepare(tftp, NULL, &e)) {
		print_message("%s: using stand-in binaries\n", e.message);
		snprintf(fake, sizeof(fake), "%s/ipxe", f->dir);
		assert_int_equal(mkdir(fake, 0755), 0);
		snprintf(path, sizeof(path), "%s/undionly.kpxe", fake);
		write_text(path, "stand-in undionly.kpxe\n");
		snprintf(path, sizeof(path), "%s/ipxe.efi", fake);
		write_text(path, "stand-in ipxe.efi\n");
		assert_int_equal(pxe_tftp_prepare(tftp, fake, &e), ERR_OK);
	}
	assert_int_equal(pxe_hosts_write(hosts, "52:54:00:12:34:56", "node1", "10.213.99.20", &e),
			 ERR_OK);
}

static void test_boot_plane_in_netns(void **state)
{
	struct fixture *f = *state;
	char tftp[128], hosts[128];
	struct err e = {0};
	pid_t pid;

	if (!make_netns(f)) {
		print_message("no private network namespace (needs root, iproute2, veth)\n");
		skip();
	}
	prepare_roots(f, tftp, hosts, sizeof(tftp));
	write_boot_plane_conf(f, tftp, hosts);
	f->d = new_sup(f, f->netns, NULL);
	if (pxe_dnsmasq_start(f->d, &e))
		fail_msg("start in %s: %s", f->netns, e.message);
	pid = current_pid(f->d);
	assert_is_dnsmasq(pid); /* `ip netns exec` exec'd dnsmasq in place */
	check_dhcp(f);
	check_tftp(f, tftp);
	assert_int_equal(pxe_dnsmasq_reload(f->d, &e), ERR_OK);
	assert_int_equal(pxe_dnsmasq_stop(f->d, &e), ERR_OK);
	assert_gone(pid);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_lifecycle, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_restart_with_backoff, setup_vclock,
					    teardown_vclock),
	    cmocka_unit_test_setup_teardown(test_start_failures, setup, teardown),
	    cmocka_unit_test(test_new_invalid),
	    cmocka_unit_test_setup_teardown(test_stop_escalates, setup_vclock, teardown_vclock),
	    cmocka_unit_test_setup_teardown(test_run_thread, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_boot_plane_in_netns, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
