/* warm_bench.c - allocation -> ready for warm and for cold machines, in
 * one run on one host: the lifecycle engine in process (lc_start) on a
 * temporary SQLite inventory with fake machines whose BMC calls take
 * delay_ms and whose agent works agent_ms (docs/performance.md).
 *
 * Two SKUs with the same fake hardware options: warm.small (lab.small's
 * hardware, warm_pool = 1) and lab.large (none). Each round allocates one
 * machine of each, one after the other, timing reserve -> allocation
 * `ready`, and waits for the warm pool to refill before the next round.
 *
 * Usage: warm_bench [-r ROUNDS] [-d DELAY_MS] [-a AGENT_MS] [-s SOURCE_DIR]
 */
#include "inventory/inventory.h"
#include "provisiond/app.h"
#include "provisiond/bmc/bmc.h"
#include "provisiond/lifecycle/lifecycle.h"
#include "skus/sku.h"
#include "util/util.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int rounds = 5, delay_ms = 300, agent_ms = 1000;
static char src[512] = ".", dir[256];
static struct app a;

static int sh(const char *fmt, const char *x, const char *y)
{
	char cmd[1400];
	snprintf(cmd, sizeof cmd, fmt, x, y);
	return system(cmd);
}

static void catalog(void)
{
	char path[600];
	snprintf(path, sizeof path, "%s/skus", dir);
	if (mkdir(path, 0700) != 0 ||
	    sh("sed 's/^name = .*/name = warm.small\\nwarm_pool = 1/' %s/skus/catalog/lab.small.ini"
	       " > %s/warm.small.ini",
	       src, path) != 0 ||
	    sh("cp %s/skus/catalog/lab.large.ini %s/", src, path) != 0) {
		fprintf(stderr, "warm_bench: cannot write the catalog\n");
		exit(1);
	}
	struct err e = {0};
	if (sku_catalog_load_dir(path, &a.catalog, &e) != ERR_OK) {
		fprintf(stderr, "warm_bench: catalog: %s\n", e.message);
		exit(1);
	}
}

static void open_all(void)
{
	char path[600];
	struct inv_err ie = {0};
	struct err e = {0};
	struct bmc_limits bl;
	snprintf(dir, sizeof dir, "/tmp/warm_bench.XXXXXX");
	if (!mkdtemp(dir))
		exit(1);
	snprintf(path, sizeof path, "%s/p.db", dir);
	static const struct inv_key key = {.bytes = "warm bench key"};
	if (inv_open(path, &key, &a.inv, &ie) != INV_OK) {
		fprintf(stderr, "warm_bench: %s\n", ie.message);
		exit(1);
	}
	bmc_limits_default(&bl);
	a.bmc = bmc_manager_new(&bl);
	catalog();
	pthread_rwlock_init(&a.catalog_lock, NULL);
	config_defaults(&a.cfg);
	if (lc_start(&a, &a.lc, &e) != ERR_OK) {
		fprintf(stderr, "warm_bench: %s\n", e.message);
		exit(1);
	}
}

static void enroll(const char *sku, int n)
{
	static int serial;
	for (int i = 0; i < n; i++, serial++) {
		char name[32], mac[18], opts[160];
		snprintf(name, sizeof name, "m%d", serial);
		snprintf(mac, sizeof mac, "52:54:08:00:%02x:%02x", serial >> 8, serial & 0xff);
		snprintf(opts, sizeof opts, "{\"sku\":\"%s\",\"delay_ms\":%d,\"agent_ms\":%d}", sku,
			 delay_ms, agent_ms);
		struct inv_bmc b = {.driver = "fake", .options_json = opts};
		snprintf(b.address, sizeof b.address, "fake-%s", name);
		struct inv_machine_new m = {.name = name,
					    .location = {.unit = -1},
					    .nmacs = 1,
					    .macs = {mac},
					    .bmc = &b,
					    .actor = "bench",
					    .wake_at = inv_now_ms()};
		struct inv_machine out = {0};
		struct inv_err e = {0};
		if (inv_machine_create(a.inv, &m, &out, &e) != INV_OK)
			fprintf(stderr, "warm_bench: enroll: %s\n", e.message);
		inv_machine_clear(&out);
	}
	lc_kick(a.lc);
}

/* Machines of sku in state (and phase, unless NULL). */
static int count(const char *sku, enum inv_state st, const char *phase)
{
	struct inv_machine_list l = {0};
	struct inv_err e = {0};
	struct inv_machine_filter f = {.state = (int)st, .sku = sku, .limit = 1000};
	int n = 0;
	if (inv_machine_list(a.inv, &f, &l, &e) == INV_OK)
		for (size_t i = 0; i < l.n; i++)
			n += !phase || strcmp(l.items[i].phase, phase) == 0;
	inv_machine_list_clear(&l);
	return n;
}

static void wait_count(const char *sku, enum inv_state st, const char *phase, int want)
{
	while (count(sku, st, phase) < want)
		usleep(10000);
}

/* Seconds from the reservation of one machine of sku to its allocation
 * `ready`; *warm whether the machine taken was warm. */
static double allocate(const char *sku, bool *warm)
{
	struct inv_err e = {0};
	struct inv_allocation al = {0};
	struct inv_alloc_request r = {.owner = "bench",
				      .sku = sku,
				      .image = "img",
				      .count = 1,
				      .min_count = 1,
				      .quota = -1,
				      .actor = "bench",
				      .request_id = "",
				      .wake_at = inv_now_ms(),
				      .prefer_warm = lc_sku_warm_pool(&a, sku) > 0};
	struct inv_machine m = {0};
	int64_t t0 = util_now_us();
	if (inv_allocation_reserve(a.inv, &r, &al, &e) != INV_OK) {
		fprintf(stderr, "warm_bench: reserve %s: %s\n", sku, e.message);
		exit(1);
	}
	lc_kick(a.lc);
	*warm = inv_machine_get(a.inv, al.machines[0].id, &m, &e) == INV_OK &&
		strcmp(m.power, "on") == 0;
	inv_machine_clear(&m);
	char id[INV_ID_LEN];
	snprintf(id, sizeof id, "%s", al.id);
	while (al.state != INV_AL_READY && al.state != INV_AL_FAILED) {
		usleep(5000);
		inv_allocation_clear(&al);
		if (inv_allocation_get(a.inv, id, &al, &e) != INV_OK)
			exit(1);
	}
	double s = (double)(util_now_us() - t0) / 1e6;
	if (al.state == INV_AL_FAILED)
		fprintf(stderr, "warm_bench: allocation of %s failed\n", sku);
	inv_allocation_clear(&al);
	return s;
}

static void image(void)
{
	struct inv_err e = {0};
	struct inv_image img = {.name = "img", .format = "raw", .size = 1024};
	snprintf(img.url, sizeof img.url, "http://images.example/img.raw");
	memset(img.sha256, 'a', 64);
	if (inv_image_create(a.inv, &img, "bench", "", &e) != INV_OK) {
		fprintf(stderr, "warm_bench: image: %s\n", e.message);
		exit(1);
	}
}

static int cmp(const void *x, const void *y)
{
	double a1 = *(const double *)x, b1 = *(const double *)y;
	return (a1 > b1) - (a1 < b1);
}

static void report(const char *what, double *v, int n, int nwarm)
{
	double sum = 0;
	for (int i = 0; i < n; i++)
		sum += v[i];
	qsort(v, (size_t)n, sizeof *v, cmp);
	printf("| %s | %d | %d | %.2f s | %.2f s | %.2f s | %.2f s |\n", what, n, nwarm, v[0],
	       v[n / 2], sum / n, v[n - 1]);
}

static void options(int argc, char **argv)
{
	for (int c; (c = getopt(argc, argv, "r:d:a:s:")) != -1;) {
		if (c == 'r')
			rounds = (int)strtol(optarg, NULL, 10);
		else if (c == 'd')
			delay_ms = (int)strtol(optarg, NULL, 10);
		else if (c == 'a')
			agent_ms = (int)strtol(optarg, NULL, 10);
		else if (c == 's')
			snprintf(src, sizeof src, "%s", optarg);
		else
			exit(2);
	}
	if (rounds < 1 || rounds > 100)
		exit(2);
}

int main(int argc, char **argv)
{
	options(argc, argv);
	open_all();
	image();
	enroll("warm.small", rounds + 1);
	enroll("lab.large", rounds);
	wait_count("warm.small", INV_ST_AVAILABLE, NULL, rounds + 1);
	wait_count("lab.large", INV_ST_AVAILABLE, NULL, rounds);
	double warm_s[100], cold_s[100];
	int nw = 0, nc = 0;
	for (int i = 0; i < rounds; i++) {
		bool w;
		wait_count("warm.small", INV_ST_AVAILABLE, INV_PHASE_WARM, 1);
		warm_s[i] = allocate("warm.small", &w);
		nw += w;
		cold_s[i] = allocate("lab.large", &w);
		nc += w;
	}
	printf("fake machines: BMC calls %d ms, agent work %d ms; %d rounds\n\n", delay_ms,
	       agent_ms, rounds);
	printf("| machines | allocations | taken warm | min | median | mean | max |\n");
	printf("|---|---|---|---|---|---|---|\n");
	report("warm pool (warm.small, warm_pool = 1)", warm_s, rounds, nw);
	report("cold (lab.large)", cold_s, rounds, nc);
	lc_stop(a.lc);
	inv_close(a.inv);
	sh("rm -rf %s%s", dir, "");
	return 0;
}
