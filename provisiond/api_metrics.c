/* api_metrics.c - /metrics in Prometheus text format.
 *
 * Every family is written whole: `# HELP`, `# TYPE`, then all its samples,
 * never interleaved with another family, and no label value is empty (an
 * empty value reads as an absent label). `promtool check metrics` runs on
 * the output in tests/integration/metrics.sh; docs/operations.md lists the
 * families. */
#include "provisiond/routes.h"
#include "provisiond/console/console.h"
#include "images/agent/protocol.h"
#include "provisiond/bmc/bmc.h"
#include "provisiond/dnsmasq.h"
#include "provisiond/events.h"
#include "provisiond/lifecycle/lifecycle.h"
#include "provisiond/replica.h"

#include <stdarg.h>
#include <stdio.h>

/* One line of the exposition (the emit callback of every metrics source). */
static void emit(void *ctx, const char *line)
{
	util_buf_printf(ctx, "%s\n", line);
}

static void head(struct util_buf *b, const char *name, const char *type, const char *help)
{
	util_buf_printf(b, "# HELP provisiond_%s %s\n# TYPE provisiond_%s %s\n", name, help, name,
			type);
}

static void sample(struct util_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sample(struct util_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	util_buf_vprintf(b, fmt, ap);
	va_end(ap);
	util_buf_puts(b, "\n");
}

static void machine_gauge(void *ctx, const char *sku, enum inv_state st, int64_t n, int64_t m)
{
	(void)m;
	sample(ctx, "provisiond_machines{sku=\"%s\",state=\"%s\"} %lld",
	       sku && *sku ? sku : "unmatched", inv_state_name(st), (long long)n);
}

/* Build, inventory and fleet-wide flags and counters held in struct app. */
static void emit_app(struct api_call *c, struct util_buf *b)
{
	struct app *a = c->a;
	struct inv_err e = {0};
	head(b, "build_info", "gauge", "Version, commit and database schema of this daemon.");
	sample(b, "provisiond_build_info{version=\"%s\",commit=\"%s\",schema=\"%d\"} 1",
	       PROVISIOND_VERSION, PROVISIOND_COMMIT, inv_schema_version());
	head(b, "machines", "gauge", "Machines by SKU (\"unmatched\": none yet) and state.");
	/* a scrape that cannot read the inventory still reports the rest */
	enum inv_status st = inv_capacity(a->inv, machine_gauge, b, &e);
	api_note_inv(c->r, "metrics capacity", st, &e);
	int64_t quiet = 0;
	enum inv_status qst =
	    inv_agent_sessions_quiet(a->inv, inv_now_ms() - AGENT_ALIVE_S * 1000LL, &quiet, &e);
	api_note_inv(c->r, "metrics quiet agents", qst, &e);
	head(b, "inventory_up", "gauge", "Whether the last inventory read of this scrape worked.");
	sample(b, "provisiond_inventory_up %d", st == INV_OK && qst == INV_OK);
	head(b, "inventory_writable", "gauge",
	     "0 while database writes fail on storage (disk full, I/O error); see /readyz.");
	sample(b, "provisiond_inventory_writable %d", inv_storage_ok(a->inv, NULL, 0, NULL));
	head(b, "agent_sessions_quiet", "gauge",
	     "Live agent sessions whose agent missed its heartbeats (silent for 30 s).");
	sample(b, "provisiond_agent_sessions_quiet %lld", (long long)quiet);
	head(b, "frozen", "gauge", "Whether the fleet freeze is on.");
	sample(b, "provisiond_frozen %d", atomic_load(&a->frozen) ? 1 : 0);
	head(b, "streams_open", "gauge",
	     "Event streams (GET /v1/stream, the web console's) open now; at most "
	     "server.max_streams.");
	sample(b, "provisiond_streams_open %d", http_streams(a->api));
	head(b, "stream_events_total", "counter",
	     "Machine and allocation changes written to the event streams' feed.");
	sample(b, "provisiond_stream_events_total %lu", event_hub_events(a->events));
	head(b, "auth_failures_total", "counter", "API calls refused for a bad or missing token.");
	sample(b, "provisiond_auth_failures_total %lu", atomic_load(&a->auth_failures));
	head(b, "discovery_refused_total", "counter",
	     "Tokenless agent lookups refused by the discovery rate limit.");
	sample(b, "provisiond_discovery_refused_total %lu", atomic_load(&a->discovery_refused));
	head(b, "catalog_reload_failures_total", "counter",
	     "SKU catalog reloads (SIGHUP) that failed and kept the old catalog.");
	sample(b, "provisiond_catalog_reload_failures_total %lu",
	       atomic_load(&a->catalog_reload_failures));
}

static void emit_http(struct app *a, struct util_buf *b)
{
	static const char *const load_names[] = {"workers_busy", "queued", "parked"};
	static const char *const load_help[] = {
	    "API workers running a handler now.",
	    "Requests waiting for a worker (full: 503 overloaded).",
	    "Requests parked without a worker (agent long-polls).",
	};
	struct http_server *servers[] = {a->api, a->boot};
	for (size_t k = 0; k < ARRAY_SIZE(load_names); k++) {
		char name[64];
		snprintf(name, sizeof name, "http_%s", load_names[k]);
		head(b, name, "gauge", load_help[k]);
		for (int i = 0; i < 2; i++) {
			int v[3];
			if (!servers[i])
				continue;
			http_load(servers[i], &v[0], &v[1], &v[2]);
			sample(b, "provisiond_http_%s{listener=\"%s\"} %d", load_names[k],
			       i ? "boot" : "api", v[k]);
		}
	}
	head(b, "admission_rejections_total", "counter",
	     "API requests refused by admission control: over the token's rate (429), beyond "
	     "the in-flight maximum (503 overloaded), while frozen (503 frozen).");
	sample(b, "provisiond_admission_rejections_total{reason=\"token_rate\"} %lu",
	       atomic_load(&a->token_rate_refused));
	sample(b, "provisiond_admission_rejections_total{reason=\"in_flight\"} %lu",
	       a->api ? http_shed(a->api) : 0UL);
	sample(b, "provisiond_admission_rejections_total{reason=\"frozen\"} %lu",
	       atomic_load(&a->frozen_refused));
	head(b, "http_request_seconds", "histogram", "Request latency by listener and route.");
	for (int i = 0; i < 2; i++)
		if (servers[i])
			http_metrics_latency(servers[i], emit, b);
	head(b, "http_responses_total", "counter", "Responses by listener and status code.");
	for (int i = 0; i < 2; i++)
		if (servers[i])
			http_metrics_responses(servers[i], emit, b);
}

void api_metrics(struct api_call *c)
{
	struct app *a = c->a;
	struct util_buf b = {0};
	emit_app(c, &b);
	emit_http(a, &b);
	inv_metrics(a->inv, emit, &b);
	if (a->lc)
		lc_metrics(a->lc, emit, &b);
	if (a->bmc)
		bmc_manager_metrics(a->bmc, emit, &b);
	if (a->console)
		con_metrics(a->console, emit, &b);
	boot_dnsmasq_metrics(a->dnsmasq, emit, &b);
	if (a->replica)
		replica_metrics(a->replica, &(struct util_lines){.emit = emit, .ctx = &b});
	size_t len;
	char *text = util_buf_take(&b, &len);
	if (text)
		http_reply(c->r, 200, "text/plain; version=0.0.4", text, len);
	else
		http_error(c->r, 500, "internal", NULL, "out of memory rendering the metrics");
}
