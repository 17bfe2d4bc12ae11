/* alloc_bench.c - allocation rate and latency through the real daemon.
 *
 * Prepares a database with N available fake machines (through the inventory
 * API), starts provisiond on it, and has C client threads POST
 * /v1/allocations (count K each) until the pool is exhausted. Prints the
 * allocation rate and latency percentiles, and the machine it ran on.
 *
 * Usage: alloc_bench [-n MACHINES] [-c CLIENTS] [-k COUNT] [-p PROVISIOND] [-d DATABASE]
 *                    [-R REPLICAS] [-r RACKS [-s ACROSS[:MODE]]]
 *                    [-b BMC_MS[-MS]] [-a AGENT_MS[-MS]] [-w | -K] [-T TAKEOVER_S]
 *                    [-H HEARTBEAT_S] [-t LIMIT_S]
 *        alloc_bench -P DIR [-n MACHINES] [-x CLEANING]
 * -d runs on that database (e.g. an empty PostgreSQL database or schema:
 * "host=127.0.0.1 port=5432 dbname=bench") instead of a new SQLite file;
 * the key file stays in the temporary directory.
 * -R starts that many replicas of provisiond on the -d database (each its
 * own ports and [replica] name, bench/daemon.h); client i sends to replica
 * i % REPLICAS.
 * -b, -a give every fake machine that BMC and agent delay ("MIN-MAX" ms,
 * jittered per call). -w then waits (at most -t seconds, 600) until every
 * allocated machine is active and prints the time from the first
 * allocation; -K (with -R > 1) first kills -9 the replica driving the most
 * machines and prints when they were unclaimed (bench/takeover.h). -T and
 * -H set [replica] takeover_s and heartbeat_s.
 * -r puts machine i in rack r<i % RACKS> of site dc<i % RACKS % 4> (else
 * none has a location); -s asks every allocation for that spread
 * ("rack", "site:best_effort", docs/allocations.md).
 * -P only prepares DIR/p.db (and its key) with the machines, the first
 * CLEANING of them in cleaning, the rest available, an image "img", and a
 * service and an admin token of owner "bench" whose secrets go to
 * DIR/token and DIR/admin-token; bench/run starts provisiond on it. The
 * machines are named b000000.., MAC 52:54:01:XX:XX:XX by their number.
 */
#include "bench/daemon.h"
#include "bench/takeover.h"
#include "inventory/inventory.h"
#include "provisiond/tokens.h"
#include "util/util.h"

#include <curl/curl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

enum { MAX_REPLICAS = 16 };
static int n_machines = 2000, n_clients = 16, per_alloc = 1, n_cleaning, n_racks, n_replicas = 1;
static const char *database; /* -d; NULL: DIR/p.db */
static char spread[96];	     /* ,"spread":{...} or "" */
static char fake_opts[200] = "{\"sku\":\"lab.small\"}";
static long bmc_ms[2], agent_ms[2];
static int wait_mode, limit_s = 600; /* wait_mode: 'w' or 'K' */
static char replica_ini[128];	     /* -T, -H */
static char urls[MAX_REPLICAS][128], token[80], admin_token[80];
static double *lat;
static long n_lat, n_409, n_other, last_other; /* last_other: its HTTP status, 0 none */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static double now_s(void)
{
	return (double)util_now_us() / 1e6;
}

/* Machines [from, to) of the pool: the first n_cleaning wait in cleaning
 * (an agent state with no boot grant and no wake-up, for the boot storm),
 * the others are available. */
struct prep_job {
	struct inv *inv;
	int from, to;
};

static void *prepare_range(void *arg)
{
	struct prep_job *j = arg;
	struct inv_err e = {0};
	struct inv_bmc bmc = {.driver = "fake", .options_json = fake_opts};
	for (int i = j->from; i < j->to; i++) {
		char name[32], mac[18];
		snprintf(name, sizeof name, "b%06d", i);
		snprintf(mac, sizeof mac, "52:54:01:%02x:%02x:%02x", i >> 16 & 255, i >> 8 & 255,
			 i & 255);
		struct inv_machine_new n = {.name = name,
					    .nmacs = 1,
					    .macs = {mac},
					    .bmc = &bmc,
					    .actor = "bench",
					    .location = {.unit = -1}};
		if (n_racks > 0) {
			snprintf(n.location.site, sizeof n.location.site, "dc%d", i % n_racks % 4);
			snprintf(n.location.rack, sizeof n.location.rack, "r%d", i % n_racks);
		}
		struct inv_machine m = {0};
		if (inv_machine_create(j->inv, &n, &m, &e) != INV_OK)
			exit(1);
		struct inv_machine_change c = {.expect_version = m.version,
					       .set_state = true,
					       .state = i < n_cleaning ? INV_ST_CLEANING
								       : INV_ST_AVAILABLE,
					       .set_sku = true,
					       .sku = "lab.small",
					       .actor = "bench"};
		if (inv_machine_change(j->inv, m.id, &c, NULL, &e) != INV_OK)
			exit(1);
		inv_machine_clear(&m);
	}
	return NULL;
}

/* A token of role for owner; its secret goes to out. */
static void add_token(struct inv *inv, const char *id, const char *role, char *out, size_t len)
{
	struct inv_err e = {0};
	struct inv_token t = {.role = "", .owner = "bench", .name = ""};
	snprintf(t.id, sizeof t.id, "%s", id);
	snprintf(t.role, sizeof t.role, "%s", role);
	snprintf(t.name, sizeof t.name, "bench-%s", role);
	tok_new_secret(out, len);
	tok_hash(out, t.hash);
	if (inv_token_create(inv, &t, "bench", "", &e) != INV_OK) {
		fprintf(stderr, "alloc_bench: token: %s\n", e.message);
		exit(1);
	}
}

static void prepare(const char *dir, const char *db)
{
	struct inv *inv;
	struct inv_err e = {0};
	struct inv_key key;
	char key_file[700];
	/* where provisiond looks for it by default beside DIR/p.db, and where
	 * the config of a -d database names it */
	snprintf(key_file, sizeof key_file, "%s/p.db.key", dir);
	if (inv_key_create(key_file, &e) != INV_OK || inv_key_load(key_file, &key, &e) != INV_OK ||
	    inv_open(db, &key, &inv, &e) != INV_OK) {
		fprintf(stderr, "%s\n", e.message);
		exit(1);
	}
	/* several threads: the writer commits their machines together */
	enum { PREP_THREADS = 8 };
	pthread_t th[PREP_THREADS];
	struct prep_job jobs[PREP_THREADS];
	for (int t = 0; t < PREP_THREADS; t++) {
		jobs[t] = (struct prep_job){.inv = inv,
					    .from = n_machines * t / PREP_THREADS,
					    .to = n_machines * (t + 1) / PREP_THREADS};
		pthread_create(&th[t], NULL, prepare_range, &jobs[t]);
	}
	for (int t = 0; t < PREP_THREADS; t++)
		pthread_join(th[t], NULL);
	struct inv_image img = {
	    .name = "img",
	    .path = "/dev/null",
	    .format = "raw",
	    .sha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"};
	add_token(inv, "00000000-0000-4000-8000-000000000001", "service", token, sizeof token);
	add_token(inv, "00000000-0000-4000-8000-000000000002", "admin", admin_token,
		  sizeof admin_token);
	if (inv_image_create(inv, &img, "bench", "", &e) != INV_OK) {
		fprintf(stderr, "alloc_bench: setup: %s\n", e.message);
		exit(1);
	}
	inv_close(inv);
}

static size_t sink(char *p, size_t s, size_t n, void *u)
{
	(void)p;
	(void)u;
	return s * n;
}

static void *client(void *arg)
{
	const char *url = urls[(long)arg % n_replicas];
	CURL *c = curl_easy_init();
	char body[256], auth[128];
	snprintf(body, sizeof body, "{\"sku\":\"lab.small\",\"count\":%d,\"image\":\"img\"%s}",
		 per_alloc, spread);
	snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
	struct curl_slist *h = curl_slist_append(NULL, auth);
	h = curl_slist_append(h, "Content-Type: application/json");
	char u[160];
	snprintf(u, sizeof u, "%s/v1/allocations", url);
	curl_easy_setopt(c, CURLOPT_URL, u);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
	for (;;) {
		double t0 = now_s();
		long code = 0;
		if (curl_easy_perform(c) == CURLE_OK)
			curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
		double dt = now_s() - t0;
		pthread_mutex_lock(&mu);
		if (code == 202)
			lat[n_lat++] = dt;
		else if (code == 409)
			n_409++;
		else
			n_other++, last_other = code;
		pthread_mutex_unlock(&mu);
		if (code != 202)
			break;
	}
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return NULL;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void machine_note(void);

static void report(double el)
{
	qsort(lat, (size_t)n_lat, sizeof *lat, cmp);
	machine_note();
	printf("%ld allocations of %d machine(s) by %d clients over %d replica(s) in %.2f s: %.0f "
	       "allocations/s\n",
	       n_lat, per_alloc, n_clients, n_replicas, el, (double)n_lat / el);
	if (n_lat)
		printf("latency ms: p50 %.2f  p95 %.2f  p99 %.2f  max %.2f\n", lat[n_lat / 2] * 1e3,
		       lat[n_lat * 95 / 100] * 1e3, lat[n_lat * 99 / 100] * 1e3,
		       lat[n_lat - 1] * 1e3);
	printf("409 insufficient_capacity at the end: %ld, other: %ld (the last: HTTP %ld)\n",
	       n_409, n_other, last_other);
	fflush(stdout);
}

static void machine_note(void)
{
	char line[256], model[256] = "?";
	FILE *f = fopen("/proc/cpuinfo", "r");
	while (f && fgets(line, sizeof line, f))
		if (strncmp(line, "model name", 10) == 0) {
			snprintf(model, sizeof model, "%s", strchr(line, ':') + 2);
			model[strcspn(model, "\n")] = 0;
			break;
		}
	if (f)
		fclose(f);
	printf("machine: %ld cores, %s\n", sysconf(_SC_NPROCESSORS_ONLN), model);
}

static int write_secret(const char *dir, const char *name, const char *secret)
{
	char path[700];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	if (!f || fprintf(f, "%s\n", secret) < 0 || fclose(f) != 0)
		return 1;
	return 0;
}

static int prepare_only(const char *dir)
{
	char db[600];
	snprintf(db, sizeof db, "%s/p.db", dir);
	double t0 = now_s();
	prepare(dir, db);
	printf("prepared=%d cleaning=%d seconds=%.1f\n", n_machines, n_cleaning, now_s() - t0);
	return write_secret(dir, "token", token) || write_secret(dir, "admin-token", admin_token);
}

/* -s ACROSS[:MODE] into spread. */
static void spread_arg(const char *arg)
{
	const char *colon = strchr(arg, ':');
	int n = colon ? (int)(colon - arg) : (int)strlen(arg);
	n = n > 20 ? 20 : n;
	if (colon)
		snprintf(spread, sizeof spread,
			 ",\"spread\":{\"across\":\"%.*s\",\"mode\":\"%.20s\"}", n, arg, colon + 1);
	else
		snprintf(spread, sizeof spread, ",\"spread\":{\"across\":\"%.20s\"}", arg);
}

/* "MIN[-MAX]" into v[0], v[1] (MAX >= MIN). */
static void range(const char *arg, long v[2])
{
	char *end;
	v[0] = strtol(arg, &end, 10);
	v[1] = *end == '-' ? strtol(end + 1, NULL, 10) : v[0];
	if (v[1] < v[0])
		v[1] = v[0];
}

static void parse_args(int argc, char **argv, const char **bin, const char **prep_dir)
{
	int o;
	while ((o = getopt(argc, argv, "n:c:k:p:P:x:d:r:s:R:b:a:wKt:T:H:")) != -1) {
		if (o == 'n')
			n_machines = (int)strtol(optarg, NULL, 10);
		else if (o == 'c')
			n_clients = (int)strtol(optarg, NULL, 10);
		else if (o == 'k')
			per_alloc = (int)strtol(optarg, NULL, 10);
		else if (o == 'p')
			*bin = optarg;
		else if (o == 'P')
			*prep_dir = optarg;
		else if (o == 'x')
			n_cleaning = (int)strtol(optarg, NULL, 10);
		else if (o == 'd')
			database = optarg;
		else if (o == 'r')
			n_racks = (int)strtol(optarg, NULL, 10);
		else if (o == 's')
			spread_arg(optarg);
		else if (o == 'R')
			n_replicas = (int)strtol(optarg, NULL, 10);
		else if (o == 'b' || o == 'a')
			range(optarg, o == 'b' ? bmc_ms : agent_ms);
		else if (o == 'w' || o == 'K')
			wait_mode = o;
		else if (o == 't')
			limit_s = (int)strtol(optarg, NULL, 10);
		else if (o == 'T' || o == 'H')
			snprintf(replica_ini + strlen(replica_ini),
				 sizeof replica_ini - strlen(replica_ini), "[replica]\n%s = %d\n",
				 o == 'T' ? "takeover_s" : "heartbeat_s",
				 (int)strtol(optarg, NULL, 10));
		else
			exit(2);
	}
	if (bmc_ms[1] || agent_ms[1])
		snprintf(fake_opts, sizeof fake_opts,
			 "{\"sku\":\"lab.small\",\"delay_ms\":%ld,\"delay_jitter_ms\":%ld,"
			 "\"agent_ms\":%ld,\"agent_jitter_ms\":%ld}",
			 bmc_ms[0], bmc_ms[1] - bmc_ms[0], agent_ms[0], agent_ms[1] - agent_ms[0]);
}

int main(int argc, char **argv)
{
	const char *bin = "provisiond/provisiond", *prep_dir = NULL;
	parse_args(argc, argv, &bin, &prep_dir);
	if (prep_dir)
		return prepare_only(prep_dir);
	if (n_replicas < 1 || n_replicas > MAX_REPLICAS || (n_replicas > 1 && !database)) {
		fprintf(stderr, "alloc_bench: -R takes 1..%d, more than 1 with -d\n", MAX_REPLICAS);
		return 2;
	}
	char dir[] = "/tmp/alloc-bench.XXXXXX", db[600];
	if (!mkdtemp(dir))
		return 1;
	snprintf(db, sizeof db, "%s", database ? database : "");
	if (!database)
		snprintf(db, sizeof db, "%s/p.db", dir);
	double t0 = now_s();
	prepare(dir, db);
	printf("prepared %d available machines in %.1f s\n", n_machines, now_s() - t0);
	pid_t pids[MAX_REPLICAS];
	bench_replicas_start(bin, dir, db, n_replicas, replica_ini, pids, urls);
	curl_global_init(CURL_GLOBAL_ALL);
	lat = calloc((size_t)n_machines + 1, sizeof *lat);
	pthread_t th[256];
	t0 = now_s();
	for (int i = 0; i < n_clients && i < 256; i++)
		pthread_create(&th[i], NULL, client, (void *)(long)i);
	for (int i = 0; i < n_clients && i < 256; i++)
		pthread_join(th[i], NULL);
	double el = now_s() - t0;
	report(el);
	int failed = 0;
	if (wait_mode) {
		struct bench_takeover t = {.urls = urls,
					   .pids = pids,
					   .n = n_replicas,
					   .token = admin_token,
					   .want = n_lat * per_alloc,
					   .kill = wait_mode == 'K' && n_replicas > 1,
					   .t0 = t0,
					   .limit_s = limit_s};
		failed = bench_takeover_run(&t);
	}
	bench_replicas_stop(pids, n_replicas);
	char cmd[700];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	return system(cmd) == 0 && n_other == 0 && !failed ? 0 : 1;
}
