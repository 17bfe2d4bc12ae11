/* api_metrics.c - /metrics in Prometheus text format, and the route tables. */
#include "provisiond/api_routes.h"
#include "provisiond/bmc/bmc.h"
#include "provisiond/dnsmasq.h"
#include "provisiond/lifecycle/lifecycle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct buf {
	char *p;
	size_t len, cap;
};

static void emit(void *ctx, const char *line)
{
	struct buf *b = ctx;
	size_t n = strlen(line) + 1;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 8192;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (!p)
			return;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, line, n - 1);
	b->p[b->len + n - 1] = '\n';
	b->len += n;
	b->p[b->len] = 0;
}

static void machine_gauge(void *ctx, const char *sku, enum inv_state st, int64_t n, int64_t m)
{
	(void)m;
	char line[256];
	snprintf(line, sizeof line, "provisiond_machines{sku=\"%s\",state=\"%s\"} %lld", sku,
		 inv_state_name(st), (long long)n);
	emit(ctx, line);
}

void api_metrics(struct http_req *r, void *app)
{
	struct app *a = app;
	struct buf b = {0};
	struct inv_err e = {0};
	emit(&b, "# TYPE provisiond_machines gauge");
	inv_capacity(a->inv, machine_gauge, &b, &e);
	char line[128];
	snprintf(line, sizeof line, "provisiond_frozen %d", atomic_load(&a->frozen) ? 1 : 0);
	emit(&b, line);
	snprintf(line, sizeof line, "provisiond_auth_failures_total %lu",
		 atomic_load(&a->auth_failures));
	emit(&b, line);
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
	http_reply(r, 200, "text/plain; version=0.0.4", b.p, b.len);
}

const struct http_route api_routes[] = {
    {"GET", "/healthz", api_health, true},
    {"GET", "/readyz", api_ready, true},
    {"GET", "/metrics", api_metrics, true},
    {"POST", "/v1/tokens", api_token_create, false},
    {"GET", "/v1/tokens", api_token_list, true},
    {"DELETE", "/v1/tokens/{}", api_token_delete, false},
    {"GET", "/v1/skus", api_sku_list, true},
    {"GET", "/v1/skus/{}", api_sku_get, true},
    {"POST", "/v1/machines", api_machine_enroll, false},
    {"GET", "/v1/machines", api_machine_list, true},
    {"GET", "/v1/machines/{}", api_machine_get, true},
    {"PATCH", "/v1/machines/{}", api_machine_patch, false},
    {"POST", "/v1/machines/{}/actions", api_machine_action, false},
    {"GET", "/v1/machines/{}/events", api_machine_events, true},
    {"GET", "/v1/machines/{}/power", api_machine_power_get, false},
    {"PUT", "/v1/machines/{}/power", api_machine_power_set, false},
    {"PUT", "/v1/machines/{}/bootdev", api_machine_bootdev, false},
    {"POST", "/v1/images", api_image_create, false},
    {"GET", "/v1/images", api_image_list, true},
    {"GET", "/v1/images/{}", api_image_get, true},
    {"DELETE", "/v1/images/{}", api_image_delete, false},
    {"POST", "/v1/allocations", api_alloc_create, false},
    {"GET", "/v1/allocations", api_alloc_list, true},
    {"GET", "/v1/allocations/{}", api_alloc_get, false},
    {"DELETE", "/v1/allocations/{}", api_alloc_delete, false},
    {"GET", "/v1/audit", api_audit_list, true},
    {"GET", "/v1/capacity", api_capacity, true},
    {"PUT", "/v1/owners/{}/quotas/{}", api_quota_set, false},
    {"GET", "/v1/owners/{}/quotas", api_quota_list, true},
    {"GET", "/v1/freeze", api_freeze_get, true},
    {"PUT", "/v1/freeze", api_freeze_set, false},
};
const size_t api_nroutes = sizeof api_routes / sizeof api_routes[0];

/* The boot/agent plane listener: grows with the boot plane. */
const struct http_route boot_routes[] = {
    {"GET", "/healthz", api_health, true},
    {"GET", "/boot.ipxe", boot_ipxe, false},
    {"GET", "/boot/{}", boot_file, true},
    {"GET", "/images/{}", boot_image, true},
    {"POST", "/v1/agent/lookup", agent_lookup, false},
    {"POST", "/v1/agent/inventory", agent_inventory, false},
    {"POST", "/v1/agent/heartbeat", agent_heartbeat, false},
    {"GET", "/v1/agent/command", agent_command, false},
    {"POST", "/v1/agent/result", agent_result, false},
    {"POST", "/v1/agent/booted", agent_booted, false},
};
const size_t boot_nroutes = sizeof boot_routes / sizeof boot_routes[0];
