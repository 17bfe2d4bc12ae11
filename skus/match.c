/* The matcher: parsed facts against each SKU, and the text a datacenter tech
 * reads when a machine matches none ("lab.small: memory 2048 MiB outside
 * 512 MiB ±15% (436-588 MiB); disk count 2, want 1"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "skus/sku_internal.h"

/* Per-device problems listed per SKU line, so a 24-disk box stays readable. */
#define MAX_DEVICE_ITEMS 3

struct explain {
	struct util_buf *out;
	int n;
};

__attribute__((format(printf, 2, 3))) static void add(struct explain *e, const char *fmt, ...)
{
	char text[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (e->n++ > 0)
		util_buf_puts(e->out, "; ");
	util_buf_puts(e->out, text);
}

static void format_range(struct sku_range r, char *buf, size_t len)
{
	if (r.lo == r.hi)
		snprintf(buf, len, "%lld", r.lo);
	else
		snprintf(buf, len, "%lld-%lld", r.lo, r.hi);
}

static bool in_range(struct sku_range r, long long v)
{
	return v >= r.lo && v <= r.hi;
}

static void explain_scalars(const struct sku *s, const struct sku_facts *f, struct explain *e)
{
	char want[48];
	if (strcmp(f->arch, s->arch) != 0)
		add(e, "arch %s, want %s", f->arch, s->arch);
	if (f->boot_mode != s->boot_mode)
		add(e, "boot mode %s, want %s", sku_boot_mode_str(f->boot_mode),
		    sku_boot_mode_str(s->boot_mode));
	format_range(s->cores, want, sizeof(want));
	if (!in_range(s->cores, f->cores))
		add(e, "cpu cores %lld, want %s", f->cores, want);
	if (in_range(s->memory, f->memory_mib))
		return;
	if (s->memory_tolerance_pct == 0)
		add(e, "memory %lld MiB, want %lld MiB", f->memory_mib, s->memory_mib);
	else
		add(e, "memory %lld MiB outside %lld MiB ±%d%% (%lld-%lld MiB)", f->memory_mib,
		    s->memory_mib, s->memory_tolerance_pct, s->memory.lo, s->memory.hi);
}

/* Whether another per-device problem may be listed; counts the rest. */
static bool room(int *items, int *more)
{
	if (*items < MAX_DEVICE_ITEMS) {
		(*items)++;
		return true;
	}
	(*more)++;
	return false;
}

static void explain_disks(const struct sku *s, const struct sku_facts *f, struct explain *e)
{
	char want[48], have[32], min[32];
	format_range(s->disk_count, want, sizeof(want));
	if (!in_range(s->disk_count, (long long)f->ndisks))
		add(e, "disk count %zu, want %s", f->ndisks, want);
	sku_format_bytes(s->disk_min_bytes, s->disk_min_decimal, min, sizeof(min));
	int items = 0, more = 0;
	for (size_t i = 0; i < f->ndisks; i++) {
		const struct sku_fact_disk *d = &f->disks[i];
		if (s->disk_kind != SKU_DISK_ANY && d->kind != s->disk_kind && room(&items, &more))
			add(e, "disk %s: kind %s, want %s", d->name, sku_disk_kind_str(d->kind),
			    sku_disk_kind_str(s->disk_kind));
		if (d->size_bytes < s->disk_min_bytes && room(&items, &more)) {
			sku_format_bytes(d->size_bytes, s->disk_min_decimal, have, sizeof(have));
			add(e, "disk %s: size %s, want at least %s", d->name, have, min);
		}
	}
	if (more)
		add(e, "%d more disk problem%s", more, more == 1 ? "" : "s");
}

static void explain_nics(const struct sku *s, const struct sku_facts *f, struct explain *e)
{
	char want[48];
	format_range(s->nic_count, want, sizeof(want));
	if (!in_range(s->nic_count, (long long)f->nnics))
		add(e, "NIC count %zu, want %s", f->nnics, want);
	int items = 0, more = 0;
	for (size_t i = 0; i < f->nnics; i++) {
		const struct sku_fact_nic *n = &f->nics[i];
		/* Unknown speed (-1) only satisfies a minimum of 0. */
		bool ok =
		    n->speed_mbps < 0 ? s->nic_min_mbps == 0 : n->speed_mbps >= s->nic_min_mbps;
		if (ok || !room(&items, &more))
			continue;
		if (n->speed_mbps < 0)
			add(e, "NIC %s: speed unknown, want at least %lld Mb/s", n->name,
			    s->nic_min_mbps);
		else
			add(e, "NIC %s: %lld Mb/s, want at least %lld Mb/s", n->name, n->speed_mbps,
			    s->nic_min_mbps);
	}
	if (more)
		add(e, "%d more NIC%s too slow", more, more == 1 ? "" : "s");
}

int sku_explain(const struct sku *s, const struct sku_facts *f, struct util_buf *out)
{
	struct explain e = {.out = out};
	explain_scalars(s, f, &e);
	explain_disks(s, f, &e);
	explain_nics(s, f, &e);
	return e.n;
}

/* Appends "name: problems" for s; returns the number of problems. */
static int explain_line(const struct sku *s, const struct sku_facts *f, struct util_buf *out)
{
	util_buf_printf(out, "%s: ", s->name);
	return sku_explain(s, f, out);
}

static int parse_or_fail(const char *json, struct sku_facts *f, char **reasons)
{
	char *msg = NULL;
	if (sku_facts_parse(json, f, &msg) == 0)
		return 0;
	if (reasons)
		*reasons = msg;
	else
		free(msg);
	return -1;
}

/* Builds the reasons text; returns the number of SKUs that match. */
static size_t explain_all(const struct sku_catalog *c, const struct sku_facts *f,
			  const struct sku **match, struct util_buf *out)
{
	size_t matches = 0;
	for (size_t i = 0; i < c->count; i++) {
		if (i > 0)
			util_buf_puts(out, "\n");
		size_t mark = out->len;
		if (explain_line(c->skus[i], f, out) > 0)
			continue;
		/* Unreachable for a loaded catalog (overlaps are refused), but
		 * never pick one of two arbitrarily. */
		out->len = mark;
		util_buf_printf(out, "%s: matches, but so does another SKU", c->skus[i]->name);
		*match = c->skus[i];
		matches++;
	}
	if (c->count == 0)
		util_buf_puts(out, "no SKUs in the catalog");
	return matches;
}

int sku_match_json(const struct sku_catalog *c, const char *facts_json, const struct sku **out,
		   char **reasons)
{
	const struct sku *match = NULL;
	struct sku_facts f;
	struct util_buf text = {0};
	if (out)
		*out = NULL;
	if (reasons)
		*reasons = NULL;
	if (parse_or_fail(facts_json, &f, reasons) < 0)
		return -1;
	static const struct sku_catalog empty = {0};
	size_t matches = explain_all(c ? c : &empty, &f, &match, &text);
	sku_facts_release(&f);
	if (matches == 1) {
		util_buf_free(&text);
		if (out)
			*out = match;
		return 0;
	}
	char *t = util_buf_take(&text, NULL);
	if (!t)
		return -1;
	if (reasons)
		*reasons = t;
	else
		free(t);
	return 1;
}

int sku_check_json(const struct sku *s, const char *facts_json, char **reason)
{
	struct sku_facts f;
	struct util_buf text = {0};
	if (reason)
		*reason = NULL;
	if (parse_or_fail(facts_json, &f, reason) < 0)
		return -1;
	int n = explain_line(s, &f, &text);
	sku_facts_release(&f);
	if (n == 0) {
		util_buf_free(&text);
		return 0;
	}
	char *t = util_buf_take(&text, NULL);
	if (!t)
		return -1;
	if (reason)
		*reason = t;
	else
		free(t);
	return 1;
}
