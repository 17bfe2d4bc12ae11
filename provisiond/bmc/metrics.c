/* metrics.c - the BMC layer's counters and their Prometheus text form. */
#include <stdio.h>
#include <stdlib.h>

#include "provisiond/bmc/manager.h"

static const char *const op_names[] = {
    [BMC_OP_POWER_GET] = "power_get",	  [BMC_OP_POWER_SET] = "power_set",
    [BMC_OP_BOOT_SET] = "boot_set",	  [BMC_OP_MEDIA_INSERT] = "media_insert",
    [BMC_OP_MEDIA_EJECT] = "media_eject",
};
_Static_assert(ARRAY_SIZE(op_names) == BMC_OP__COUNT, "op_names covers bmc_op_kind");

static const char *const call_names[] = {
    [BMC_CALL_OPEN] = "open",
    [BMC_CALL_POWER_GET] = "power_get",
    [BMC_CALL_POWER_SET] = "power_set",
    [BMC_CALL_BOOT_SET] = "boot_set",
    [BMC_CALL_MEDIA_INSERT] = "media_insert",
    [BMC_CALL_MEDIA_EJECT] = "media_eject",
};
_Static_assert(ARRAY_SIZE(call_names) == BMC_CALL__COUNT, "call_names covers bmc_call_kind");

const char *bmc_op_kind_name(enum bmc_op_kind k)
{
	return (unsigned)k < BMC_OP__COUNT ? op_names[k] : "?";
}

const char *bmc_call_kind_name(enum bmc_call_kind k)
{
	return (unsigned)k < BMC_CALL__COUNT ? call_names[k] : "?";
}

void bmc_metrics_op(struct bmc_manager *m, int drv, enum bmc_op_kind k, enum bmc_status st,
		    long long elapsed_ms)
{
	if (drv < 0 || (unsigned)k >= BMC_OP__COUNT || (unsigned)st >= BMC_STATUS__COUNT)
		return;
	pthread_mutex_lock(&m->mu);
	m->metrics.ops[drv][k][st]++;
	m->metrics.seconds[drv][k] += (double)elapsed_ms / 1000.0;
	pthread_mutex_unlock(&m->mu);
}

void bmc_metrics_call(struct bmc_manager *m, int drv, enum bmc_call_kind k)
{
	pthread_mutex_lock(&m->mu);
	m->metrics.calls[drv][k]++;
	pthread_mutex_unlock(&m->mu);
}

void bmc_metrics_retry(struct bmc_manager *m, int drv)
{
	pthread_mutex_lock(&m->mu);
	m->metrics.retries[drv]++;
	pthread_mutex_unlock(&m->mu);
}

void bmc_metrics_abandoned(struct bmc_manager *m, int drv)
{
	pthread_mutex_lock(&m->mu);
	m->metrics.abandoned[drv]++;
	pthread_mutex_unlock(&m->mu);
}

void bmc_manager_circuits(struct bmc_manager *m, void (*fn)(void *ctx, const struct bmc_circuit *c),
			  void *ctx)
{
	long long now = util_now_ms();
	pthread_mutex_lock(&m->mu);
	for (size_t i = 0; i < m->nbuckets; i++)
		for (struct bmc_entry *en = m->buckets[i]; en != NULL; en = en->next) {
			const struct bmc_breaker *b = &en->breaker;
			if (b->state == BMC_BREAKER_CLOSED)
				continue;
			long long left = b->open_until > now ? b->open_until - now : 0;
			struct bmc_circuit c = {.key = en->key,
						.open = b->state == BMC_BREAKER_OPEN && left > 0,
						.failures = b->failures,
						.retry_in_ms =
						    b->state == BMC_BREAKER_OPEN ? left : 0};
			fn(ctx, &c);
		}
	pthread_mutex_unlock(&m->mu);
}

struct snapshot {
	struct bmc_metrics c;
	int in_flight, waiting, abandoned, open, half_open;
};

static void take_snapshot(struct bmc_manager *m, struct snapshot *s)
{
	pthread_mutex_lock(&m->mu);
	s->c = m->metrics;
	s->in_flight = m->in_flight;
	s->waiting = m->waiting;
	s->abandoned = m->abandoned;
	s->open = s->half_open = 0;
	for (size_t i = 0; i < m->nbuckets; i++)
		for (struct bmc_entry *en = m->buckets[i]; en != NULL; en = en->next) {
			s->open += en->breaker.state == BMC_BREAKER_OPEN;
			s->half_open += en->breaker.state == BMC_BREAKER_HALF_OPEN;
		}
	pthread_mutex_unlock(&m->mu);
}

static bool driver_listed(int d, const char **name)
{
	const struct bmc_driver *drv = bmc_driver_at(d);

	*name = drv ? drv->name : NULL;
	return drv != NULL && drv->missing == NULL;
}

static void head(const struct util_lines *o, const char *name, const char *type, const char *help)
{
	char family[96];

	snprintf(family, sizeof family, "bmc_%s", name);
	util_metric_head(o, family, type, help);
}

/* Prometheus wants each family's samples together, so each loops over drivers. */
static void emit_ops(const struct util_lines *o, const struct snapshot *s)
{
	const char *dn;

	head(o, "operations_total", "counter", "BMC operations by driver, operation and result.");
	for (int d = 0; d < BMC_DRIVER_MAX; d++)
		for (int k = 0; driver_listed(d, &dn) && k < BMC_OP__COUNT; k++)
			for (int st = 0; st < BMC_STATUS__COUNT; st++)
				if (s->c.ops[d][k][st] != 0 || st == BMC_OK)
					util_linef(
					    o,
					    "provisiond_bmc_operations_total{driver=\"%s\",op=\"%"
					    "s\","
					    "status=\"%s\"} %llu",
					    dn, op_names[k], bmc_status_name(st),
					    s->c.ops[d][k][st]);
}

static void emit_durations(const struct util_lines *o, const struct snapshot *s)
{
	const char *dn;

	head(o, "operation_duration_seconds", "summary",
	     "BMC operation latency, retries and confirmation included.");
	for (int d = 0; d < BMC_DRIVER_MAX; d++)
		for (int k = 0; driver_listed(d, &dn) && k < BMC_OP__COUNT; k++) {
			unsigned long long n = 0;
			for (int st = 0; st < BMC_STATUS__COUNT; st++)
				n += s->c.ops[d][k][st];
			util_linef(
			    o,
			    "provisiond_bmc_operation_duration_seconds_sum{driver=\"%s\",op=\"%"
			    "s\"} "
			    "%.6f",
			    dn, op_names[k], s->c.seconds[d][k]);
			util_linef(
			    o,
			    "provisiond_bmc_operation_duration_seconds_count{driver=\"%s\",op=\"%"
			    "s\"} "
			    "%llu",
			    dn, op_names[k], n);
		}
}

static void emit_calls(const struct util_lines *o, const struct snapshot *s)
{
	const char *dn;

	head(o, "driver_calls_total", "counter",
	     "Driver calls: sessions opened, commands, confirmation polls.");
	for (int d = 0; d < BMC_DRIVER_MAX; d++)
		for (int k = 0; driver_listed(d, &dn) && k < BMC_CALL__COUNT; k++)
			util_linef(
			    o, "provisiond_bmc_driver_calls_total{driver=\"%s\",call=\"%s\"} %llu",
			    dn, call_names[k], s->c.calls[d][k]);
	head(o, "retries_total", "counter", "Driver calls repeated after a transient error.");
	for (int d = 0; d < BMC_DRIVER_MAX; d++)
		if (driver_listed(d, &dn))
			util_linef(o, "provisiond_bmc_retries_total{driver=\"%s\"} %llu", dn,
				   s->c.retries[d]);
	head(o, "abandoned_calls_total", "counter",
	     "Driver calls the watchdog gave up on (still running when counted).");
	for (int d = 0; d < BMC_DRIVER_MAX; d++)
		if (driver_listed(d, &dn))
			util_linef(o, "provisiond_bmc_abandoned_calls_total{driver=\"%s\"} %llu",
				   dn, s->c.abandoned[d]);
}

void bmc_manager_metrics(struct bmc_manager *m, void (*emit)(void *ctx, const char *line),
			 void *ctx)
{
	struct snapshot *s;
	struct util_lines o = {.emit = emit, .ctx = ctx};

	if (m == NULL || emit == NULL || (s = malloc(sizeof(*s))) == NULL)
		return;
	take_snapshot(m, s);
	emit_ops(&o, s);
	emit_durations(&o, s);
	emit_calls(&o, s);
	head(&o, "calls_in_flight", "gauge", "Driver calls running now.");
	util_linef(&o, "provisiond_bmc_calls_in_flight %d", s->in_flight);
	head(&o, "calls_queued", "gauge",
	     "Driver calls waiting for a slot (max_concurrent reached), served in order.");
	util_linef(&o, "provisiond_bmc_calls_queued %d", s->waiting);
	head(&o, "calls_in_flight_limit", "gauge", "Cap on driver calls running at once.");
	util_linef(&o, "provisiond_bmc_calls_in_flight_limit %d", m->lim.max_concurrent);
	head(&o, "circuits", "gauge", "BMCs whose circuit breaker is not closed.");
	util_linef(&o, "provisiond_bmc_circuits{state=\"open\"} %d", s->open);
	util_linef(&o, "provisiond_bmc_circuits{state=\"half_open\"} %d", s->half_open);
	free(s);
}
