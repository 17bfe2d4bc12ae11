/* bmc_faults.c - BMC faults on real OpenIPMI ipmi_sim BMCs, through the real
 * daemon (ipmi driver, pxe deploy interface). Eight machines, each with its own
 * simulated BMC (tests/integration/bmc/sim_harness.c, chassis_hook.sh); the test
 * plays each machine's agent and deployed OS over the boot listener, and only
 * while the machine's BMC says its power is on (the hook's state file).
 *
 * Four single-machine allocations are made; the four machines they get are the
 * victims. While each victim's agent holds its image write back (the middle of
 * the deploy), one fault per victim:
 *   kill      its ipmi_sim is SIGKILLed (a BMC that dies);
 *   stop      its ipmi_sim is SIGSTOPped (a BMC that answers slower than the
 *             timeout: it answers nothing within it);
 *   password  the user's password is changed on the BMC itself (ipmi-config
 *             over the BMC's own LAN interface);
 *   nopower   the BMC accepts power-on but the host never comes on (the hook's
 *             no_power_on knob).
 * Then the writes finish. For each: the allocation is ready on a substitute from
 * the pool; the victim is failed with a last_error naming the cause; the breakers
 * of the BMCs that stopped answering (kill, stop) open (GET /v1/bmc/circuits),
 * those of the BMCs that answer (password, nopower) never do. Then the BMCs
 * recover (restarted on the same port, SIGCONT, the new password PATCHed in, the
 * knob removed). The two whose BMC did not answer (kill, stop) come back to the
 * pool by themselves once it answers again (re-verified, inspected, cleaned: no
 * repair), while the two whose BMC answered (password, nopower) stay failed
 * until a tech repairs them; then all four are in the pool with every breaker
 * closed. Skipped (77) without ipmi_sim or ipmi-config. */
#include "harness.h"

#include "bmc/sim_harness.h"

#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#define NM 8 /* machines, each with a BMC */
#define NV 4 /* victims: one per fault */
#define NEW_PASSWORD "N3w-pa55"

enum fault { F_KILL, F_STOP, F_PASSWORD, F_NOPOWER };
static const char *const fault_names[NV] = {"kill", "stop", "password", "nopower"};

/* One machine as the test plays it: its agent while it network-boots, its
 * deployed OS while it boots from disk. */
struct agent {
	struct h_daemon *d;
	struct sim *sim;
	char name[16], mac[18], machine[H_ID_LEN];
	char session[H_TOKEN_LEN];  /* the agent's, "" when not running */
	char instance[H_TOKEN_LEN]; /* from write_image, for the OS's booted call */
	char held[64];		    /* a write_image command held back, "" none */
	char power[8];		    /* last power state read from the sim */
	int powered_on;		    /* power-ons the sim's hook logged, seen so far */
	int fresh;		    /* rounds left to fetch the boot script */
	atomic_bool hold;	    /* hold write_image results back */
	atomic_bool holding;	    /* one is held now */
	atomic_bool stop;
	atomic_int boots, writes, booted;
	pthread_t tid;
};

static struct h_daemon daemon_;
static struct sim sims[NM];
static struct agent ags[NM];
static char ramdisk[256];
static int64_t t_start;

static const char facts_fmt[] =
    "{\"arch\":\"x86_64\",\"boot_mode\":\"bios\",\"cpu\":{\"cores\":1,\"model\":\"QEMU\"},"
    "\"memory_mib\":512,\"disks\":[{\"name\":\"vda\",\"size_bytes\":4294967296,"
    "\"rotational\":false,\"kind\":\"ssd\",\"model\":\"\",\"serial\":\"d1\"}],"
    "\"nics\":[{\"name\":\"eth0\",\"mac\":\"%s\",\"speed_mbps\":-1}],"
    "\"dmi\":{\"vendor\":\"QEMU\",\"product\":\"pc\",\"serial\":\"\",\"uuid\":\"\"}}";

/* ------------------------------------------------------- the played machine */

/* The machine network-boots: its boot script's token buys an agent session
 * (only while the engine holds a boot grant), and the agent reports its facts. */
static bool agent_boot(struct agent *ag)
{
	char path[64], tok[H_TOKEN_LEN] = "", body[96], facts[1024];
	struct h_resp r;
	snprintf(path, sizeof path, "/boot.ipxe?mac=%s", ag->mac);
	if (h_boot_get(ag->d, path, NULL, &r) == 200)
		h_script_arg(r.body, "token", tok, sizeof tok);
	h_resp_clear(&r);
	if (!tok[0])
		return false;
	snprintf(body, sizeof body, "{\"macs\":[\"%s\"]}", ag->mac);
	if (h_boot_request(ag->d, tok, "POST", "/v1/agent/lookup", body, &r) == 200)
		snprintf(ag->session, sizeof ag->session, "%s", h_str(&r, "token"));
	h_resp_clear(&r);
	snprintf(facts, sizeof facts, facts_fmt, ag->mac);
	if (!ag->session[0] ||
	    h_boot_request(ag->d, ag->session, "POST", "/v1/agent/inventory", facts, NULL) != 204) {
		ag->session[0] = 0;
		return false;
	}
	atomic_fetch_add(&ag->boots, 1);
	return true;
}

static void report(struct agent *ag, const char *id, const char *name)
{
	char body[200];
	snprintf(body, sizeof body, "{\"id\":\"%s\",\"ok\":true,\"message\":\"%s done\"}", id,
		 name);
	if (h_boot_request(ag->d, ag->session, "POST", "/v1/agent/result", body, NULL) == 401)
		ag->session[0] = 0;
}

/* Carries out a command (inspect, wipe: at once; write_image: unless held). */
static void take_command(struct agent *ag, json_t *cmd)
{
	const char *name = json_string_value(json_object_get(cmd, "name"));
	const char *id = json_string_value(json_object_get(cmd, "id"));
	json_t *meta = json_object_get(json_object_get(cmd, "args"), "metadata");
	const char *inst = json_string_value(json_object_get(meta, "token"));
	if (!name || !id)
		return;
	if (strcmp(name, "write_image") == 0) {
		if (inst)
			snprintf(ag->instance, sizeof ag->instance, "%s", inst);
		atomic_fetch_add(&ag->writes, 1);
		if (atomic_load(&ag->hold)) {
			snprintf(ag->held, sizeof ag->held, "%s", id);
			atomic_store(&ag->holding, true);
			return;
		}
	}
	report(ag, id, name);
}

static void forget_session(struct agent *ag)
{
	ag->session[0] = 0;
	ag->held[0] = 0;
	atomic_store(&ag->holding, false);
}

/* One round of the agent: just powered on, it fetches its boot script (a
 * few times: the boot listener may be busy); then heartbeat, and finish the
 * held write or poll for a command (1 s). An agent whose session ended
 * (401) stays idle until the next power-on. */
static void agent_round(struct agent *ag)
{
	struct h_resp r;
	if (!ag->session[0]) {
		if (ag->fresh > 0 && !agent_boot(ag))
			ag->fresh--;
		else
			ag->fresh = 0;
		if (!ag->session[0])
			h_sleep_ms(100);
		return;
	}
	long s = h_boot_request(ag->d, ag->session, "POST", "/v1/agent/heartbeat",
				"{\"state\":\"idle\"}", NULL);
	if (s == 401) { /* a new boot, or the engine ended the session */
		forget_session(ag);
		return;
	}
	if (ag->held[0]) {
		if (atomic_load(&ag->hold)) {
			h_sleep_ms(200);
			return;
		}
		report(ag, ag->held, "write_image");
		ag->held[0] = 0;
		atomic_store(&ag->holding, false);
		return;
	}
	s = h_boot_request(ag->d, ag->session, "GET", "/v1/agent/command?wait=1", NULL, &r);
	if (s == 200)
		take_command(ag, r.json);
	else if (s == 401)
		forget_session(ag);
	h_resp_clear(&r);
}

/* The deployed OS calls in once with its instance token. */
static void os_round(struct agent *ag)
{
	if (ag->instance[0]) {
		char body[96];
		snprintf(body, sizeof body, "{\"machine_id\":\"%s\"}", ag->machine);
		long s =
		    h_boot_request(ag->d, ag->instance, "POST", "/v1/agent/booted", body, NULL);
		if (s == 204)
			atomic_fetch_add(&ag->booted, 1);
		if (s == 204 || s == 401) /* 401: that deploy is over */
			ag->instance[0] = 0;
	}
	h_sleep_ms(100);
}

/* Power-ons the hook logged: "set power 1" (on, or the second half of a
 * cycle) and "set reset 1". */
static int power_ons(const struct sim *s)
{
	char path[300], line[128];
	int n = 0;
	snprintf(path, sizeof path, "%s/hook.log", s->dir);
	FILE *f = fopen(path, "r");
	while (f && fgets(line, sizeof line, f))
		n += strncmp(line, "set power 1", 11) == 0 || strncmp(line, "set reset 1", 11) == 0;
	if (f)
		fclose(f);
	return n;
}

/* The machine runs while its BMC's power is on: the agent when it boots from
 * the network (boot device pxe), its OS otherwise; every power-on the BMC
 * logged is a fresh boot. A file read half-written by the hook reads as "":
 * the last state stays. */
static void *agent_main(void *arg)
{
	struct agent *ag = arg;
	while (!atomic_load(&ag->stop)) {
		char power[8], boot[16];
		int ons = power_ons(ag->sim);
		if (ons != ag->powered_on) {
			ag->powered_on = ons;
			forget_session(ag);
			ag->fresh = 20;
		}
		sim_read(ag->sim, "power", power, sizeof power);
		sim_read(ag->sim, "boot", boot, sizeof boot);
		if (power[0])
			snprintf(ag->power, sizeof ag->power, "%s", power);
		if (strcmp(ag->power, "1") != 0) {
			forget_session(ag);
			h_sleep_ms(50);
		} else if (strcmp(boot, "pxe") == 0) {
			agent_round(ag);
		} else {
			os_round(ag);
		}
	}
	return NULL;
}

/* ------------------------------------------------------------------ helpers */

/* GET /v1/machines/{id}: state and last_error copied out. */
static void machine(const char *id, char *state, size_t slen, char *err, size_t elen)
{
	char path[96];
	struct h_resp r;
	snprintf(path, sizeof path, "/v1/machines/%s", id);
	h_request(&daemon_, daemon_.admin, "GET", path, NULL, 0, NULL, &r);
	snprintf(state, slen, "%s", h_str(&r, "state"));
	if (err)
		snprintf(err, elen, "%s", h_str(&r, "last_error"));
	h_resp_clear(&r);
}

static bool machine_in(int i, const char *want)
{
	char state[32];
	machine(ags[i].machine, state, sizeof state, NULL, 0);
	return strcmp(state, want) == 0;
}

/* What GET /v1/bmc/circuits said about each machine, ever: 1 half-open,
 * 2 open (the highest seen). */
static int circuit_seen[NM];

static int circuits_now(int now[NM])
{
	struct h_resp r;
	int n = 0;
	memset(now, 0, sizeof(int) * NM);
	assert_int_equal(
	    h_request(&daemon_, daemon_.admin, "GET", "/v1/bmc/circuits", NULL, 0, NULL, &r), 200);
	json_t *items = json_object_get(r.json, "items"), *it;
	size_t k;
	json_array_foreach(items, k, it)
	{
		const char *mid = json_string_value(json_object_get(it, "machine"));
		const char *st = json_string_value(json_object_get(it, "state"));
		for (int i = 0; i < NM && mid && st; i++)
			if (strcmp(mid, ags[i].machine) == 0) {
				now[i] = strcmp(st, "open") == 0 ? 2 : 1;
				if (now[i] > circuit_seen[i])
					circuit_seen[i] = now[i];
				n++;
			}
	}
	h_resp_clear(&r);
	return n;
}

static void watch_circuits(void)
{
	int now[NM];
	circuits_now(now);
}

/* The value of a metric line (exact name and labels) in /metrics, -1 if none. */
static long metric(const char *series)
{
	struct h_resp r;
	long v = -1;
	h_request(&daemon_, daemon_.admin, "GET", "/metrics", NULL, 0, NULL, &r);
	size_t n = strlen(series);
	for (const char *p = r.body; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (strncmp(p, series, n) == 0 && p[n] == ' ')
			v = strtol(p + n + 1, NULL, 10);
	h_resp_clear(&r);
	return v;
}

static double secs(int64_t since)
{
	return (double)(h_now_ms() - since) / 1000.0;
}

/* Waits until every machine of list is in state want, watching the breakers;
 * a machine that is failed meanwhile ends the test unless failed_ok (machines
 * expected to come back from failed by themselves). */
static void wait_states(const int *list, int n, const char *want, int timeout_s, bool failed_ok)
{
	int64_t end = h_now_ms() + (int64_t)timeout_s * 1000;
	for (;;) {
		int ok = 0;
		char late[300] = "";
		for (int k = 0; k < n; k++) {
			char state[32], err[600];
			machine(ags[list[k]].machine, state, sizeof state, err, sizeof err);
			if (strcmp(state, want) == 0)
				ok++;
			else if (strcmp(state, "failed") == 0 && !failed_ok)
				fail_msg("%s failed (waiting for %s): %s", ags[list[k]].name, want,
					 err);
			else
				snprintf(late + strlen(late), sizeof late - strlen(late), " %s:%s",
					 ags[list[k]].name, state);
		}
		watch_circuits();
		if (ok == n)
			return;
		if (h_now_ms() > end)
			fail_msg("%d of %d machines %s after %d s; others:%s", ok, n, want,
				 timeout_s, late);
		h_sleep_ms(200);
	}
}

/* ------------------------------------------------------------ setup/teardown */

static int enroll(int i)
{
	char addr[32];
	struct h_resp r;
	snprintf(addr, sizeof addr, "127.0.0.1:%d", sims[i].port);
	json_t *b =
	    json_pack("{s:s, s:[s], s:{s:s, s:s, s:s, s:s, s:{s:s}}}", "name", ags[i].name, "macs",
		      ags[i].mac, "bmc", "driver", "ipmi", "address", addr, "username", "admin",
		      "password", "secret", "options", "workarounds", "opensesspriv");
	long s = h_call(&daemon_, daemon_.admin, "POST", "/v1/machines", b, &r);
	snprintf(ags[i].machine, sizeof ags[i].machine, "%s", h_str(&r, "id"));
	h_resp_clear(&r);
	return s == 201 ? 0 : -1;
}

/* Short BMC timeouts so the faults show within seconds; a breaker that
 * opens after two operations that got no answer and lets a trial through
 * 4 s later. Console capture stays on (the default): these sims have no SOL
 * and sit below port 32768, where libipmiconsole reaches them, so every
 * capture fails inside it and is retried; the failures must not reach the
 * process's other sockets (test_bmc_ipmi_sol has the cause it once had). */
static int start_daemon(void)
{
	static char ini[600];
	const char *tmp = getenv("TMPDIR");
	char kernel[300];
	snprintf(ramdisk, sizeof ramdisk, "%s/pvd-ramdisk-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(ramdisk))
		return -1;
	snprintf(kernel, sizeof kernel, "%s/vmlinuz", ramdisk);
	FILE *f = fopen(kernel, "w");
	if (!f || fputs("KERNEL", f) < 0 || fclose(f) != 0)
		return -1;
	snprintf(ini, sizeof ini,
		 "[bmc]\ncall_timeout_ms = 1000\nbreaker_threshold = 2\n"
		 "breaker_cooldown_ms = 4000\nconfirm_timeout_ms = 3000\n"
		 "[boot]\nramdisk_dir = %s\n",
		 ramdisk);
	return h_start(&daemon_, ini);
}

static int setup(void **state)
{
	(void)state;
	t_start = h_now_ms();
	if (start_daemon() != 0)
		return -1;
	for (int i = 0; i < NM; i++) {
		struct agent *ag = &ags[i];
		snprintf(ag->name, sizeof ag->name, "bmcf-%d", i);
		h_mac(0xbf00 + (unsigned)i, ag->mac);
		ag->d = &daemon_;
		ag->sim = &sims[i];
		if (sim_start_below(&sims[i], ag->name, 32768) != 0 ||
		    sim_write(&sims[i], "power", "0\n") != 0 || enroll(i) != 0)
			return -1;
		if (pthread_create(&ag->tid, NULL, agent_main, ag) != 0)
			return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char kernel[300];
	for (int i = 0; i < NM; i++)
		atomic_store(&ags[i].stop, true);
	for (int i = 0; i < NM; i++)
		if (ags[i].tid)
			pthread_join(ags[i].tid, NULL);
	for (int i = 0; i < NM; i++) {
		if (sims[i].pid > 0)
			kill(-sims[i].pid, SIGCONT);
		sim_stop(&sims[i]);
	}
	snprintf(kernel, sizeof kernel, "%s/vmlinuz", ramdisk);
	unlink(kernel);
	rmdir(ramdisk);
	void *d = &daemon_;
	return h_teardown(&d);
}

/* ------------------------------------------------------------------- phases */

static int victim[NV];		     /* machine index per fault */
static char alloc[NV][H_ID_LEN];     /* the allocation that first got victim[f] */
static int64_t t_fault, t_ready[NV]; /* when the faults began; each allocation ready */

static int index_of(const char *machine_id)
{
	for (int i = 0; i < NM; i++)
		if (strcmp(ags[i].machine, machine_id) == 0)
			return i;
	return -1;
}

/* GET /v1/allocations/{id}: its state, its one attached machine's index. */
static void allocation(const char *id, char *state, size_t len, int *member, char *err, size_t elen)
{
	char path[96];
	struct h_resp r;
	snprintf(path, sizeof path, "/v1/allocations/%s", id);
	assert_int_equal(h_request(&daemon_, daemon_.admin, "GET", path, NULL, 0, NULL, &r), 200);
	snprintf(state, len, "%s", h_str(&r, "state"));
	snprintf(err, elen, "%s", h_str(&r, "last_error"));
	json_t *ms = json_object_get(r.json, "machines");
	*member = json_array_size(ms) == 1
		      ? index_of(json_string_value(json_object_get(json_array_get(ms, 0), "id")))
		      : -1;
	h_resp_clear(&r);
}

/* Four allocations of one machine each; the machines they got are the
 * victims, their agents hold the image write back. */
static void allocate_victims(void)
{
	int all[NM];
	for (int i = 0; i < NM; i++)
		all[i] = i, atomic_store(&ags[i].hold, true);
	wait_states(all, NM, "available", 90, false);
	print_message("pool of %d ipmi_sim machines inspected and cleaned in %.1f s\n", NM,
		      secs(t_start));
	assert_int_equal(h_image(&daemon_, "bmcf-img"), 201);
	for (int f = 0; f < NV; f++) {
		char state[32], err[600];
		assert_int_equal(h_allocate(&daemon_, daemon_.admin, "lab.small", 1, 0, "bmcf-img",
					    NULL, alloc[f], NULL),
				 202);
		allocation(alloc[f], state, sizeof state, &victim[f], err, sizeof err);
		assert_true(victim[f] >= 0);
	}
	for (int i = 0; i < NM; i++) {
		bool is_victim = false;
		for (int f = 0; f < NV; f++)
			is_victim |= victim[f] == i;
		atomic_store(&ags[i].hold, is_victim);
	}
}

static void change_password(const struct sim *s)
{
	char cmd[300];
	snprintf(cmd, sizeof cmd,
		 "ipmi-config -h 127.0.0.1:%d -u admin -p secret -W opensesspriv --commit "
		 "-e User2:Password=" NEW_PASSWORD " >/dev/null 2>&1",
		 s->port);
	assert_int_equal(system(cmd), 0);
}

/* Once every victim's agent holds its write (the machine is deploying, on,
 * in the agent), each BMC gets its fault; then the writes finish. */
static void inject_faults(void)
{
	int64_t end = h_now_ms() + 60000;
	for (int f = 0; f < NV; f++)
		while (!atomic_load(&ags[victim[f]].holding)) {
			if (h_now_ms() > end)
				fail_msg("%s never got its image write", ags[victim[f]].name);
			h_sleep_ms(100);
		}
	for (int f = 0; f < NV; f++)
		assert_true(machine_in(victim[f], "deploying"));
	t_fault = h_now_ms();
	kill(-sims[victim[F_KILL]].pid, SIGKILL);
	kill(-sims[victim[F_STOP]].pid, SIGSTOP);
	change_password(&sims[victim[F_PASSWORD]]);
	assert_int_equal(sim_write(&sims[victim[F_NOPOWER]], "no_power_on", "1\n"), 0);
	for (int f = 0; f < NV; f++)
		atomic_store(&ags[victim[f]].hold, false);
}

/* Polls until every allocation is ready and every victim failed. */
static void wait_failover(int sub[NV])
{
	int64_t end = h_now_ms() + 90000;
	for (;;) {
		int done = 0;
		for (int f = 0; f < NV; f++) {
			char state[32], err[600];
			allocation(alloc[f], state, sizeof state, &sub[f], err, sizeof err);
			if (strcmp(state, "failed") == 0)
				fail_msg("allocation of the %s victim failed: %s", fault_names[f],
					 err);
			if (strcmp(state, "ready") == 0 && !t_ready[f])
				t_ready[f] = h_now_ms();
			done += strcmp(state, "ready") == 0 && machine_in(victim[f], "failed");
		}
		watch_circuits();
		if (done == NV)
			return;
		if (h_now_ms() > end)
			fail_msg(
			    "after 90 s only %d of %d allocations ready with their victim failed",
			    done, NV);
		h_sleep_ms(200);
	}
}

/* last_error of the victim of fault f holds each of the needles. */
static void expect_error(int f, const char *const *needles)
{
	char state[32], err[600];
	machine(ags[victim[f]].machine, state, sizeof state, err, sizeof err);
	print_message("  %-8s -> %s: %s\n", fault_names[f], state, err);
	for (; *needles; needles++)
		if (!strstr(err, *needles))
			fail_msg("%s: last_error does not say '%s': %s", fault_names[f], *needles,
				 err);
}

static void check_failover(void)
{
	int sub[NV];
	char addr[NV][40];
	wait_failover(sub);
	for (int f = 0; f < NV; f++) {
		snprintf(addr[f], sizeof addr[f], "BMC at 127.0.0.1:%d", sims[victim[f]].port);
		/* a substitute from the pool, not another victim, deployed */
		assert_true(sub[f] >= 0);
		for (int g = 0; g < NV; g++)
			assert_int_not_equal(sub[f], victim[g]);
		assert_true(machine_in(sub[f], "active"));
		assert_true(atomic_load(&ags[sub[f]].booted) >= 1);
		print_message("%-8s: allocation ready on substitute %s %.1f s after the fault\n",
			      fault_names[f], ags[sub[f]].name,
			      (double)(t_ready[f] - t_fault) / 1000.0);
	}
	expect_error(F_KILL, (const char *const[]){"no answer from", addr[F_KILL], NULL});
	expect_error(F_STOP, (const char *const[]){"no answer from", addr[F_STOP], NULL});
	expect_error(F_PASSWORD, (const char *const[]){"rejected the credentials for user admin",
						       addr[F_PASSWORD], NULL});
	expect_error(F_NOPOWER, (const char *const[]){"never reached on", addr[F_NOPOWER], NULL});
	watch_circuits();
	/* the BMCs that stopped answering opened their breaker; the ones that
	 * answer (a wrong password, a host that does not start) never did */
	assert_int_equal(circuit_seen[victim[F_KILL]], 2);
	assert_int_equal(circuit_seen[victim[F_STOP]], 2);
	assert_int_equal(circuit_seen[victim[F_PASSWORD]], 0);
	assert_int_equal(circuit_seen[victim[F_NOPOWER]], 0);
}

/* The BMCs that did not answer come back (restarted on the same port,
 * continued): their machines return to the pool with no repair, once the
 * breaker lets the engine's look at them through. The machines whose BMC
 * answered (a wrong password, a host that did not power on: faults a human
 * fixes) stay failed meanwhile. */
static void recover_silent(void)
{
	int64_t t0 = h_now_ms();
	const int silent[] = {victim[F_KILL], victim[F_STOP]};
	assert_int_equal(sim_restart(&sims[victim[F_KILL]]), 0);
	kill(-sims[victim[F_STOP]].pid, SIGCONT);
	wait_states(silent, 2, "available", 90, true);
	print_message("kill, stop: back in the pool by themselves %.1f s after their BMC "
		      "answered again\n",
		      secs(t0));
	assert_true(machine_in(victim[F_PASSWORD], "failed"));
	assert_true(machine_in(victim[F_NOPOWER], "failed"));
}

/* Then a tech fixes the other two (the new password is PATCHed in, which
 * re-verifies by itself; the power fixed and the machine repaired); all four
 * are in the pool and every breaker is closed. */
static void recover(void)
{
	int64_t t0 = h_now_ms();
	struct h_resp r;
	char path[96], addr[32];
	recover_silent();
	assert_int_equal(sim_unlink(&sims[victim[F_NOPOWER]], "no_power_on"), 0);
	const struct agent *pw = &ags[victim[F_PASSWORD]];
	snprintf(path, sizeof path, "/v1/machines/%s", pw->machine);
	snprintf(addr, sizeof addr, "127.0.0.1:%d", sims[victim[F_PASSWORD]].port);
	json_t *b = json_pack("{s:{s:s, s:s, s:s, s:s, s:{s:s}}}", "bmc", "driver", "ipmi",
			      "address", addr, "username", "admin", "password", NEW_PASSWORD,
			      "options", "workarounds", "opensesspriv");
	assert_int_equal(h_call(&daemon_, daemon_.admin, "PATCH", path, b, NULL), 200);
	snprintf(path, sizeof path, "/v1/machines/%s/actions", ags[victim[F_NOPOWER]].machine);
	const char *repair = "{\"action\":\"repair\"}";
	assert_int_equal(
	    h_request(&daemon_, daemon_.admin, "POST", path, repair, strlen(repair), NULL, &r),
	    202);
	h_resp_clear(&r);
	wait_states(victim, NV, "available", 90, false);
	int now[NM];
	assert_int_equal(circuits_now(now), 0);
	assert_int_equal(metric("provisiond_bmc_circuits{state=\"open\"}"), 0);
	assert_int_equal(metric("provisiond_bmc_circuits{state=\"half_open\"}"), 0);
	print_message("recovered: 4 BMCs back, machines in the pool %.1f s after the repair; "
		      "breakers closed\n",
		      secs(t0));
}

static void test_bmc_faults(void **state)
{
	(void)state;
	allocate_victims();
	inject_faults();
	check_failover();
	recover();
	print_message("bmc_faults: %.1f s in all\n", secs(t_start));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_bmc_faults, setup, teardown),
	};
	if (!sim_available() || system("command -v ipmi-config >/dev/null 2>&1") != 0) {
		fprintf(stderr, "ipmi_sim (openipmi) or ipmi-config (freeipmi-tools) missing: "
				"skipped\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
