/* api_metrics.c - /metrics in Prometheus text format. */
#include "provisiond/routes.h"
#include "provisiond/bmc/bmc.h"
#include "provisiond/dnsmasq.h"
#include "provisiond/lifecycle/lifecycle.h"

#include <stdio.h>

/* One line of the exposition (the emit callback of every metrics source). */
static void emit(void *ctx, const char *line)
{
	util_buf_printf(ctx, "%s\n", line);
}

static void machine_gauge(void *ctx, const char *sku, enum inv_state st, int64_t n, int64_t m)
{
	(void)m;
	char line[256];
	snprintf(line, sizeof line, "provisiond_machines{sku=\"%s\",state=\"%s\"} %lld", sku,
		 inv_state_name(st), (long long)n);
	emit(ctx, line);
}

void api_metrics(struct api_call *c)
{
	struct app *a = c->a;
	struct util_buf b = {0};
	struct inv_err e = {0};
	char info[256];
	snprintf(info, sizeof info,
		 "# TYPE provisiond_build_info gauge\n"
		 "provisiond_build_info{version=\"%s\",commit=\"%s\",schema=\"%d\"} 1",
		 PROVISIOND_VERSION, PROVISIOND_COMMIT, inv_schema_version());
	emit(&b, info);
	emit(&b, "# TYPE provisiond_machines gauge");
	/* a scrape that cannot read the inventory still reports the rest */
	enum inv_status st = inv_capacity(a->inv, machine_gauge, &b, &e);
	api_note_inv(c->r, "metrics capacity", st, &e);
	char line[128];
	emit(&b, "# TYPE provisiond_inventory_up gauge");
	snprintf(line, sizeof line, "provisiond_inventory_up %d", st == INV_OK);
	emit(&b, line);
	snprintf(line, sizeof line, "provisiond_frozen %d", atomic_load(&a->frozen) ? 1 : 0);
	emit(&b, line);
	snprintf(line, sizeof line, "provisiond_auth_failures_total %lu",
		 atomic_load(&a->auth_failures));
	emit(&b, line);
	emit(&b, "# TYPE provisiond_discovery_refused_total counter");
	snprintf(line, sizeof line, "provisiond_discovery_refused_total %lu",
		 atomic_load(&a->discovery_refused));
	emit(&b, line);
	static const char *const load_names[] = {"workers_busy", "queued", "parked"};
	for (int k = 0; k < 3; k++) {
		snprintf(line, sizeof line, "# TYPE provisiond_http_%s gauge", load_names[k]);
		emit(&b, line);
		struct http_server *servers[] = {a->api, a->boot};
		for (int i = 0; i < 2; i++) {
			int v[3];
			if (!servers[i])
				continue;
			http_load(servers[i], &v[0], &v[1], &v[2]);
			snprintf(line, sizeof line, "provisiond_http_%s{listener=\"%s\"} %d",
				 load_names[k], i ? "boot" : "api", v[k]);
			emit(&b, line);
		}
	}
	emit(&b, "# TYPE provisiond_http_request_seconds histogram");
	if (a->api)
		http_metrics(a->api, emit, &b);
	if (a->boot)
		http_metrics(a->boot, emit, &b);
	if (a->lc)
		lc_metrics(a->lc, emit, &b);
	if (a->bmc)
		bmc_manager_metrics(a->bmc, emit, &b);
	boot_dnsmasq_metrics(a->dnsmasq, emit, &b);
	size_t len;
	char *text = util_buf_take(&b, &len);
	if (text)
		http_reply(c->r, 200, "text/plain; version=0.0.4", text, len);
	else
		http_error(c->r, 500, "internal", NULL, "out of memory rendering the metrics");
}
