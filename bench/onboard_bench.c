/* onboard_bench.c - a site's onboarding through the real daemon.
 *
 * Starts provisiond on a new database, enrolls N fake machines through the
 * API with C clients (racks of 40, as a tech would), then watches
 * GET /v1/capacity until every machine is `available` (or a time limit).
 * Prints the enrollment rate, machines per second from the first enroll to
 * the last machine available, the daemon's peak RSS, and inventory commits
 * and writes per machine. With BMC and agent delays (-b, -a: "MIN-MAX" ms,
 * jittered per call) it also prints the floor such a run cannot beat: the
 * slowest machine's chain of waits, the BMC-seconds the caps allow at once,
 * or a rack's BMC-seconds under max_per_rack, whichever is longest, and the
 * ratio to it.
 *
 * Usage: onboard_bench [-n MACHINES] [-c CLIENTS] [-b BMC_MS] [-a AGENT_MS]
 *                      [-t LIMIT_S] [-p PROVISIOND] [-o KEY=VALUE]...
 *                      [-d DATABASE [-R REPLICAS]]
 * (-o adds a setting, SECTION.KEY=VALUE, e.g. -o lifecycle.workers=256.)
 * -d runs on that database (an empty PostgreSQL database) instead of a new
 * SQLite file; -R starts that many replicas on it (bench/daemon.h), enroller
 * i sends to replica i % REPLICAS, the figures from /metrics and the peak
 * RSS are the sums over the replicas. */
#include "bench/daemon.h"
#include "util/util.h"

#include <curl/curl.h>
#include <getopt.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Agent runs per machine from enrolled to available (inspect, clean). The
 * BMC driver calls (session opens, commands, confirmation polls: each
 * takes the fake BMC's delay) are counted from the daemon's metrics. */
#define AGENT_RUNS_PER_MACHINE 2
#define RACK_UNITS 40

enum { MAX_REPLICAS = 16 };
static int n_machines = 1000, n_clients = 8, limit_s = 600, n_replicas = 1;
static const char *database; /* -d; NULL: DIR/p.db */
static long bmc_min, bmc_max, agent_min, agent_max;
static char urls[MAX_REPLICAS][128], token[128], settings[2048];
static int bmc_cap = 32, per_rack = 8; /* provisiond's defaults */
static atomic_int next_machine;
static atomic_long enroll_failed, enroll_retried;

static double now_s(void)
{
	return (double)util_now_us() / 1e6;
}

static size_t sink(char *p, size_t s, size_t n, void *u)
{
	struct util_buf *b = u;
	if (b)
		util_buf_append(b, p, s * n);
	return s * n;
}

static CURL *client_new(struct curl_slist **h)
{
	char auth[200];
	snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
	*h = curl_slist_append(NULL, auth);
	*h = curl_slist_append(*h, "Content-Type: application/json");
	CURL *c = curl_easy_init();
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, *h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, NULL); /* not curl's default, stdout */
	return c;
}

static void enroll_body(int i, char *body, size_t len)
{
	char opts[200];
	if (bmc_max || agent_max)
		snprintf(opts, sizeof opts,
			 "{\"sku\":\"lab.small\",\"delay_ms\":%ld,\"delay_jitter_ms\":%ld,"
			 "\"agent_ms\":%ld,\"agent_jitter_ms\":%ld}",
			 bmc_min, bmc_max - bmc_min, agent_min, agent_max - agent_min);
	else
		snprintf(opts, sizeof opts, "{\"sku\":\"lab.small\"}");
	snprintf(
	    body, len,
	    "{\"name\":\"m%06d\",\"location\":{\"site\":\"s1\",\"rack\":\"r%04d\",\"unit\":%d},"
	    "\"macs\":[\"52:54:02:%02x:%02x:%02x\"],\"bmc\":{\"driver\":\"fake\",\"options\":%s}}",
	    i, i / RACK_UNITS, i % RACK_UNITS + 1, i >> 16 & 255, i >> 8 & 255, i & 255, opts);
}

static void *enroller(void *arg)
{
	struct curl_slist *h;
	CURL *c = client_new(&h);
	char u[160], body[600];
	snprintf(u, sizeof u, "%s/v1/machines", urls[(long)arg % n_replicas]);
	curl_easy_setopt(c, CURLOPT_URL, u);
	for (int i; (i = atomic_fetch_add(&next_machine, 1)) < n_machines;) {
		enroll_body(i, body, sizeof body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		long code = 0;
		/* as a well-behaved client: a 503 or 429 (admission control) is
		 * tried again after its Retry-After (at most a second here) */
		for (int tries = 0; tries < 100; tries++) {
			curl_off_t after = 0;
			code = 0;
			if (curl_easy_perform(c) == CURLE_OK)
				curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
			if (code != 503 && code != 429)
				break;
			atomic_fetch_add(&enroll_retried, 1);
			curl_easy_getinfo(c, CURLINFO_RETRY_AFTER, &after);
			util_sleep_ms(after >= 1 ? 1000 : 100);
		}
		if (code != 201)
			atomic_fetch_add(&enroll_failed, 1);
	}
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return NULL;
}

/* GET path of base into out (cleared first); the HTTP status. */
static long get(CURL *c, const char *base, const char *path, struct util_buf *out)
{
	char u[300];
	snprintf(u, sizeof u, "%s%s", base, path);
	out->len = 0;
	curl_easy_setopt(c, CURLOPT_URL, u);
	curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
	long code = 0;
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	util_buf_append(out, "", 1);
	out->len--;
	return code;
}

/* Counts of lab.small machines in state (0 if none). */
static long capacity(CURL *c, const char *state)
{
	struct util_buf b = {0};
	long n = 0;
	if (get(c, urls[0], "/v1/capacity", &b) == 200) {
		json_t *j = json_loads(b.p, 0, NULL);
		n = (long)json_integer_value(json_object_get(
		    json_object_get(json_object_get(j, "skus"), "lab.small"), state));
		json_decref(j);
	}
	util_buf_free(&b);
	return n;
}

/* A counter or a histogram's _count from /metrics. */
/* The /metrics sample name (exact) or the sum of those starting with it,
 * summed over the replicas. */
static double metric_of(CURL *c, const char *name, int exact)
{
	struct util_buf b = {0};
	double v = 0;
	for (int i = 0; i < n_replicas; i++)
		if (get(c, urls[i], "/metrics", &b) == 200)
			v += bench_metric(b.p, name, exact);

	util_buf_free(&b);
	return v;
}

static double metric(CURL *c, const char *name)
{
	return metric_of(c, name, 1);
}

static double metric_sum(CURL *c, const char *prefix)
{
	return metric_of(c, prefix, 0);
}

static long peak_rss_kib(pid_t pid)
{
	char path[64], line[256];
	long kib = 0;
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	while (f && fgets(line, sizeof line, f))
		if (strncmp(line, "VmHWM:", 6) == 0)
			kib = strtol(line + 6, NULL, 10);
	if (f)
		fclose(f);
	return kib;
}

static void run_or_die(const char *cmd)
{
	if (system(cmd) != 0) {
		fprintf(stderr, "onboard_bench: failed: %s\n", cmd);
		exit(1);
	}
}

/* Initialises the database (DIR/p.ini: the key and admin token files in
 * DIR, the -o settings) and starts the replicas on it. */
static void start_daemons(const char *bin, const char *dir, pid_t *pids)
{
	char cmd[1600], path[700], db[700], extra[sizeof settings + 800];
	snprintf(db, sizeof db, "%s", database ? database : "");
	if (!database)
		snprintf(db, sizeof db, "%s/p.db", dir);
	snprintf(extra, sizeof extra, "[auth]\nadmin_token_file = %s/p.db.admin-token\n%s", dir,
		 settings);
	snprintf(path, sizeof path, "%s/p.ini", dir);
	FILE *f = fopen(path, "w");
	if (f == NULL)
		exit(1);
	fprintf(f, "[database]\nkey_file = %s/p.db.key\n%s", dir, extra);
	fclose(f);
	snprintf(cmd, sizeof cmd, "'%s' --init --db '%s' --config '%s' >/dev/null", bin, db, path);
	run_or_die(cmd);
	snprintf(path, sizeof path, "%s/p.db.admin-token", dir);
	f = fopen(path, "r");
	if (!f || !fgets(token, sizeof token, f))
		exit(1);
	fclose(f);
	token[strcspn(token, "\n")] = 0;
	bench_replicas_start(bin, dir, database, n_replicas, extra, pids, urls);
}

static void range(const char *s, long *lo, long *hi)
{
	char *end;
	*lo = strtol(s, &end, 10);
	*hi = *end == '-' ? strtol(end + 1, NULL, 10) : *lo;
	if (*hi < *lo)
		*hi = *lo;
}

/* SECTION.KEY=VALUE -> a line of the daemon's ini; the caps the floor
 * needs are noted. */
static int add_setting(const char *arg)
{
	const char *dot = strchr(arg, '.'), *eq = strchr(arg, '=');
	size_t used = strlen(settings);
	if (!dot || !eq || eq < dot)
		return -1;
	int n = snprintf(settings + used, sizeof settings - used, "[%.*s]\n%.*s\n",
			 (int)(dot - arg), arg, (int)(strlen(dot) - 1), dot + 1);
	if (n < 0 || (size_t)n >= sizeof settings - used)
		return -1;
	int v = (int)strtol(eq + 1, NULL, 10);
	if (strncmp(arg, "bmc.max_concurrent=", 19) == 0)
		bmc_cap = v;
	else if (strncmp(arg, "lifecycle.max_per_rack=", 23) == 0)
		per_rack = v;
	return 0;
}

static void parse_args(int argc, char **argv, const char **bin)
{
	int o;
	while ((o = getopt(argc, argv, "n:c:b:a:t:p:o:d:R:")) != -1) {
		if (o == 'n')
			n_machines = (int)strtol(optarg, NULL, 10);
		else if (o == 'c')
			n_clients = (int)strtol(optarg, NULL, 10);
		else if (o == 'b')
			range(optarg, &bmc_min, &bmc_max);
		else if (o == 'a')
			range(optarg, &agent_min, &agent_max);
		else if (o == 't')
			limit_s = (int)strtol(optarg, NULL, 10);
		else if (o == 'p')
			*bin = optarg;
		else if (o == 'o' && add_setting(optarg) == 0)
			;
		else if (o == 'd')
			database = optarg;
		else if (o == 'R')
			n_replicas = (int)strtol(optarg, NULL, 10);
		else {
			fprintf(stderr, "usage: onboard_bench [-n N] [-c CLIENTS] [-b MS[-MS]] "
					"[-a MS[-MS]] [-t LIMIT_S] [-p PROVISIOND] [-o KEY=VALUE] "
					"[-d DATABASE [-R REPLICAS]]\n");
			exit(2);
		}
	}
	if (n_clients < 1 || n_clients > 256 || n_machines < 1 || n_replicas < 1 ||
	    n_replicas > MAX_REPLICAS || (n_replicas > 1 && !database))
		exit(2);
}

struct outcome {
	double enroll_s, done_s;
	long available, failed;
	long available_at_enrolled; /* when the last enrollment was answered */
	double bmc_calls;
};

static void watch(CURL *c, double t0, struct outcome *r)
{
	while (now_s() - t0 < limit_s) {
		r->available = capacity(c, "available");
		r->failed = capacity(c, "failed");
		if (r->available + r->failed >= n_machines)
			break;
		util_sleep_ms(100);
	}
	r->done_s = now_s() - t0;
}

/* The run cannot beat the slowest chain of waits of one machine, nor the
 * BMC-seconds of the whole site spread over the BMC calls the caps allow at
 * once: [bmc] max_concurrent (also the lifecycle's call pool; each replica
 * has its own) and
 * max_per_rack times the racks, nor one rack's: a rack's BMC-seconds over
 * its max_per_rack machines at once (a machine holds its rack's slot
 * through its BMC operations), plus the agent runs of its last machine
 * (they cannot all come before the rack's last BMC work). [lifecycle] workers is no cap: a
 * step waiting for a BMC gives its worker up. Delays are taken at their
 * mean where many add up (a site's, a rack's), at their longest for the
 * slowest machine. */
static void print_floor(const struct outcome *r)
{
	double per_machine = r->bmc_calls / n_machines, mean_bmc = (bmc_min + bmc_max) / 2e3;
	double chain = (per_machine * bmc_max + AGENT_RUNS_PER_MACHINE * agent_max) / 1e3;
	long racks = (n_machines + RACK_UNITS - 1) / RACK_UNITS;
	long cap = (long)bmc_cap * n_replicas; /* each replica has its own call pool */
	if (per_rack > 0 && racks * per_rack < cap)
		cap = racks * per_rack;
	double bmc_s = r->bmc_calls * mean_bmc / (double)cap;
	double rack_s = 0;
	if (per_rack > 0 && per_rack < RACK_UNITS) {
		int in_rack = n_machines < RACK_UNITS ? n_machines : RACK_UNITS;
		rack_s = per_machine * mean_bmc * in_rack / per_rack +
			 AGENT_RUNS_PER_MACHINE * (agent_min + agent_max) / 2e3;
	}
	double floor = chain > bmc_s ? chain : bmc_s;
	if (rack_s > floor)
		floor = rack_s;
	printf("floor: %.1f s (%.1f BMC driver calls per machine; the slowest machine's waits "
	       "%.1f s; the site's BMC-seconds over %ld calls at once %.1f s; a rack's "
	       "BMC-seconds over max_per_rack %d, plus its last machine's agent runs %.1f s): "
	       "ratio %.2fx (target <= 1.2x)\n",
	       floor, per_machine, chain, cap, bmc_s, per_rack, rack_s,
	       floor > 0 ? r->done_s / floor : 0);
}

int main(int argc, char **argv)
{
	const char *bin = "provisiond/provisiond";
	parse_args(argc, argv, &bin);
	char dir[] = "/tmp/onboard-bench.XXXXXX";
	if (!mkdtemp(dir))
		return 1;
	pid_t pids[MAX_REPLICAS];
	start_daemons(bin, dir, pids);
	curl_global_init(CURL_GLOBAL_ALL);
	struct curl_slist *h;
	CURL *c = client_new(&h);
	pthread_t th[256];
	struct outcome r = {0};
	double t0 = now_s();
	for (int i = 0; i < n_clients; i++)
		pthread_create(&th[i], NULL, enroller, (void *)(long)i);
	for (int i = 0; i < n_clients; i++)
		pthread_join(th[i], NULL);
	r.enroll_s = now_s() - t0;
	r.available_at_enrolled = capacity(c, "available");
	watch(c, t0, &r);
	double commits = metric(c, "provisiond_inventory_commit_seconds_count");
	double writes = metric(c, "provisiond_inventory_writes_total");
	r.bmc_calls = metric_sum(c, "provisiond_bmc_driver_calls_total{driver=\"fake\"");
	long rss = 0;
	for (int i = 0; i < n_replicas; i++)
		rss += peak_rss_kib(pids[i]);
	bench_replicas_stop(pids, n_replicas);
	printf("machine: %ld cores; the load generator shares them; %d replica(s) %s\n",
	       sysconf(_SC_NPROCESSORS_ONLN), n_replicas, database ? "on -d" : "on SQLite");
	printf("enrolled %d machines (%ld refused; %ld answers 503/429 tried again) by %d clients "
	       "in %.2f s: %.0f enrollments/s\n",
	       n_machines, (long)enroll_failed, (long)enroll_retried, n_clients, r.enroll_s,
	       n_machines / r.enroll_s);
	printf("%ld available, %ld failed after %.2f s from the first enroll: %.0f machines/s "
	       "(target >= 500/s at BMC delay 0)\n",
	       r.available, r.failed, r.done_s, (double)r.available / r.done_s);
	if (r.done_s > r.enroll_s)
		printf("after the last enrollment (%ld available then): %.0f machines/s\n",
		       r.available_at_enrolled,
		       (double)(r.available - r.available_at_enrolled) / (r.done_s - r.enroll_s));
	printf("peak RSS %.1f MiB; %.1f commits and %.1f writes per machine (enroll included)\n",
	       rss / 1024.0, commits / n_machines, writes / n_machines);
	if (bmc_max || agent_max)
		print_floor(&r);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	char cmd[700];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	run_or_die(cmd);
	return r.available == n_machines && !enroll_failed ? 0 : 1;
}
