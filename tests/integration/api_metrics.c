/* api_metrics.c - /metrics against the real daemon, and what ships with it:
 *   - a few fake machines enrolled, allocated and deployed, and a SIGHUP on
 *     a broken SKU catalog, so every family has samples
 *   - `promtool check metrics` prints nothing on the scrape, and our own
 *     lint: HELP and TYPE exactly once per family, families not interleaved,
 *     no empty label values, the families an operator needs all present
 *   - docs/alerts.yml passes `promtool check rules`, and
 *     tests/integration/alerts_test.yml (each alert fires on the series that
 *     should trigger it) passes `promtool test rules`
 *   - docs/grafana-dashboard.json parses, and every metric it or the alert
 *     rules name is a family of the scrape
 * promtool (Debian package prometheus, scripts/deps) missing is a failure. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <ctype.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define MAX_FAMILIES 128

static const char *const required[] = {
    "provisiond_bmc_operations_total",
    "provisiond_bmc_driver_calls_total",
    "provisiond_bmc_operation_duration_seconds",
    "provisiond_lifecycle_queue_depth",
    "provisiond_lifecycle_state_duration_seconds",
    "provisiond_lifecycle_admission_waits_total",
    "provisiond_admission_rejections_total",
    "provisiond_bmc_calls_queued",
    "provisiond_agent_sessions_quiet",
    "provisiond_catalog_reload_failures_total",
    "provisiond_inventory_commit_seconds",
    "provisiond_http_request_seconds",
    "provisiond_http_responses_total",
    "provisiond_machines",
    "provisiond_replica_engines",
    "provisiond_replica_refused_calls_total",
};

struct families {
	char name[MAX_FAMILIES][96];
	char type[MAX_FAMILIES][16];
	int samples[MAX_FAMILIES];
	int n;
};

static struct h_daemon daemon_;
static char skus[256];

static int setup(void **state)
{
	char cmd[700], ini[400];
	snprintf(skus, sizeof skus, "%s/pvd-skus-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(skus))
		return -1;
	snprintf(cmd, sizeof cmd, "cp %s/skus/catalog/*.ini %s/", PROVISIOND_IT_SOURCE_DIR, skus);
	if (system(cmd) != 0)
		return -1;
	snprintf(ini, sizeof ini, "\n[catalog]\nskus_dir = %s\n", skus);
	*state = &daemon_;
	return h_start(&daemon_, ini);
}

static int teardown(void **state)
{
	char cmd[300];
	h_stop(*state);
	snprintf(cmd, sizeof cmd, "rm -rf %s", skus);
	return system(cmd) == 0 ? 0 : -1;
}

/* Output of a shell command (malloc'd) and its exit status. */
static char *run(const char *cmd, int *status)
{
	FILE *f = popen(cmd, "r");
	struct util_buf b = {0};
	char chunk[512];
	size_t n;
	assert_non_null(f);
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		util_buf_append(&b, chunk, n);
	int st = pclose(f);
	*status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	char *out = util_buf_take(&b, NULL);
	assert_non_null(out);
	return out;
}

static char *scrape(struct h_daemon *d)
{
	struct h_resp r;
	assert_int_equal(h_call(d, NULL, "GET", "/metrics", NULL, &r), 200);
	char *body = strdup(r.body);
	h_resp_clear(&r);
	assert_non_null(body);
	return body;
}

static int64_t metric(struct h_daemon *d, const char *line_start)
{
	char *body = scrape(d);
	const char *p = body;
	/* a sample line, not the HELP line that also names the family */
	while ((p = strstr(p, line_start)) != NULL && p != body && p[-1] != '\n')
		p++;
	int64_t v = p ? strtoll(p + strlen(line_start), NULL, 10) : -1;
	free(body);
	return v;
}

/* Machines through verify, inspect, clean and deploy on the fake drivers. */
static void populate(struct h_daemon *d)
{
	char svc[H_TOKEN_LEN], aid[H_ID_LEN];
	for (unsigned i = 0; i < 4; i++) {
		char name[32];
		snprintf(name, sizeof name, "m%u", i);
		assert_int_equal(h_enroll_fake(d, name, 300 + i, "lab.small", 10, 0, NULL), 201);
	}
	assert_true(h_wait_count(d, "available", "lab.small", 4, 120));
	assert_int_equal(h_image(d, "img"), 201);
	assert_int_equal(h_token(d, "service", "metrics", svc), 201);
	assert_int_equal(h_allocate(d, svc, "lab.small", 2, 0, "img", NULL, aid, NULL), 202);
	assert_true(h_wait_alloc(d, svc, aid, "ready", 120, NULL));
}

/* A SIGHUP on a broken catalog keeps the old one and counts the failure. */
static void reload_fails(struct h_daemon *d)
{
	char path[320];
	snprintf(path, sizeof path, "%s/zz-broken.ini", skus);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("[sku\nthis is not an ini file\n", f);
	fclose(f);
	assert_int_equal(metric(d, "provisiond_catalog_reload_failures_total "), 0);
	kill(d->pid, SIGHUP);
	int64_t end = h_now_ms() + 10000;
	while (metric(d, "provisiond_catalog_reload_failures_total ") != 1 && h_now_ms() < end)
		h_sleep_ms(100);
	assert_int_equal(metric(d, "provisiond_catalog_reload_failures_total "), 1);
	unlink(path);
}

static int family_index(const struct families *fs, const char *name)
{
	for (int i = 0; i < fs->n; i++)
		if (strcmp(fs->name[i], name) == 0)
			return i;
	return -1;
}

/* The family a sample or query name belongs to: itself, or a histogram's
 * or summary's _bucket, _sum or _count. -1 when none. */
static int family_of(const struct families *fs, const char *name)
{
	static const char *const suffixes[] = {"_bucket", "_sum", "_count"};
	int i = family_index(fs, name);
	if (i >= 0)
		return i;
	for (size_t k = 0; k < ARRAY_SIZE(suffixes); k++) {
		size_t n = strlen(name), s = strlen(suffixes[k]);
		char base[96];
		if (n <= s || n - s >= sizeof base || strcmp(name + n - s, suffixes[k]) != 0)
			continue;
		snprintf(base, sizeof base, "%.*s", (int)(n - s), name);
		i = family_index(fs, base);
		if (i >= 0 && (strcmp(fs->type[i], "histogram") == 0 ||
			       (strcmp(fs->type[i], "summary") == 0 && k > 0)))
			return i;
	}
	return -1;
}

/* "# HELP name ..." then "# TYPE name type": exactly once each, in that order. */
static int comment_line(struct families *fs, const char *line)
{
	char name[96], type[16] = "";
	bool help = strncmp(line, "# HELP ", 7) == 0;
	assert_true(help || strncmp(line, "# TYPE ", 7) == 0);
	assert_int_equal(sscanf(line + 7, "%95s %15s", name, type), 2);
	int i = family_index(fs, name);
	if (help) {
		assert_int_equal(i, -1); /* HELP once, and first */
		assert_true(fs->n < MAX_FAMILIES);
		i = fs->n++;
		snprintf(fs->name[i], sizeof fs->name[i], "%s", name);
		fs->type[i][0] = '\0';
	} else {
		assert_true(i >= 0);		      /* TYPE after HELP */
		assert_string_equal(fs->type[i], ""); /* and once */
		snprintf(fs->type[i], sizeof fs->type[i], "%s", type);
	}
	return i;
}

/* Our lint over the exposition: families in fs. */
static void lint(const char *text, struct families *fs)
{
	int last = -1;
	bool closed[MAX_FAMILIES] = {false};
	char *copy = strdup(text), *save = NULL;
	assert_non_null(copy);
	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		int i;
		if (line[0] == '#') {
			i = comment_line(fs, line);
		} else {
			char name[96];
			assert_int_equal(sscanf(line, "%95[a-zA-Z0-9_:]", name), 1);
			i = family_of(fs, name);
			if (i < 0)
				fail_msg("sample of no declared family: %s", line);
			assert_string_not_equal(fs->type[i], "");
			fs->samples[i]++;
			if (strstr(line, "=\"\""))
				fail_msg("empty label value: %s", line);
		}
		if (i != last && last >= 0)
			closed[last] = true;
		if (closed[i])
			fail_msg("family %s interleaved with others", fs->name[i]);
		last = i;
	}
	free(copy);
}

/* Every provisiond_ metric named in text is a family of the scrape. */
static void names_exist(const struct families *fs, const char *text, const char *where)
{
	for (const char *p = text; (p = strstr(p, "provisiond_")) != NULL;) {
		char name[96];
		size_t n = 0;
		while (n + 1 < sizeof name && (isalnum((unsigned char)p[n]) || p[n] == '_'))
			name[n] = p[n], n++;
		name[n] = '\0';
		if (family_of(fs, name) < 0)
			fail_msg("%s names %s, which /metrics does not have", where, name);
		p += n;
	}
}

static void promtool_metrics(struct h_daemon *d, const char *text)
{
	char path[320], cmd[400];
	int st;
	snprintf(path, sizeof path, "%s/metrics.txt", d->dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	snprintf(cmd, sizeof cmd, "promtool check metrics < %s 2>&1", path);
	char *out = run(cmd, &st);
	if (st != 0 || out[0] != '\0')
		fail_msg("promtool check metrics (exit %d):\n%s", st, out);
	free(out);
}

static void promtool_rules(void)
{
	char cmd[600];
	int st;
	snprintf(cmd, sizeof cmd,
		 "cd %s && promtool check rules docs/alerts.yml 2>&1 && "
		 "promtool test rules tests/integration/alerts_test.yml 2>&1",
		 PROVISIOND_IT_SOURCE_DIR);
	char *out = run(cmd, &st);
	if (st != 0)
		fail_msg("promtool rules (exit %d):\n%s", st, out);
	free(out);
}

static void dashboard(const struct families *fs)
{
	char path[400];
	json_error_t e;
	snprintf(path, sizeof path, "%s/docs/grafana-dashboard.json", PROVISIOND_IT_SOURCE_DIR);
	json_t *dash = json_load_file(path, 0, &e);
	if (!dash)
		fail_msg("%s:%d: %s", path, e.line, e.text);
	json_t *panels = json_object_get(dash, "panels"), *panel, *target;
	size_t i, j, exprs = 0;
	assert_true(json_is_string(json_object_get(dash, "title")));
	assert_true(json_array_size(panels) > 0);
	json_array_foreach(panels, i, panel)
	{
		json_array_foreach(json_object_get(panel, "targets"), j, target)
		{
			const char *expr = json_string_value(json_object_get(target, "expr"));
			assert_non_null(expr);
			names_exist(fs, expr, "docs/grafana-dashboard.json");
			exprs++;
		}
	}
	assert_true(exprs >= json_array_size(panels));
	json_decref(dash);
}

static void alert_names(const struct families *fs)
{
	char path[400];
	int st;
	snprintf(path, sizeof path, "cat %s/docs/alerts.yml", PROVISIOND_IT_SOURCE_DIR);
	char *text = run(path, &st);
	assert_int_equal(st, 0);
	names_exist(fs, text, "docs/alerts.yml");
	free(text);
}

static void test_metrics(void **state)
{
	struct h_daemon *d = *state;
	int st;
	free(run("command -v promtool", &st));
	if (st != 0)
		fail_msg("promtool is not installed (Debian package prometheus, scripts/deps)");
	populate(d);
	reload_fails(d);
	char *text = scrape(d);
	promtool_metrics(d, text);
	static struct families fs;
	lint(text, &fs);
	for (size_t i = 0; i < ARRAY_SIZE(required); i++) {
		int k = family_index(&fs, required[i]);
		if (k < 0 || fs.samples[k] == 0)
			fail_msg("family %s missing or without samples", required[i]);
	}
	assert_non_null(strstr(text, "provisiond_bmc_operations_total{driver=\"fake\""));
	assert_non_null(strstr(text, "provisiond_lifecycle_state_duration_seconds_count{state="
				     "\"deploying\"}"));
	free(text);
	promtool_rules();
	dashboard(&fs);
	alert_names(&fs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_metrics),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
