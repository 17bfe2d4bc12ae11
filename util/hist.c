/* hist.c - lock-free Prometheus histograms (util.h). */
#include <stdio.h>

#include "util/util.h"

void util_hist_observe_us(struct util_hist *h, int64_t us)
{
	int b = 0;
	if (us < 0)
		us = 0;
	while (b < h->nle && b < UTIL_HIST_MAX && (double)us / 1e6 > h->le[b])
		b++;
	atomic_fetch_add(&h->bucket[b], 1);
	atomic_fetch_add(&h->sum_us, (unsigned long long)us);
	atomic_fetch_add(&h->count, 1);
}

void util_hist_render(const struct util_hist *h, const char *name, const char *labels,
		      void (*emit)(void *ctx, const char *line), void *ctx)
{
	char line[512];
	const char *l = labels ? labels : "";
	const char *sep = labels && *labels ? "," : "";
	unsigned long long cum = 0;
	for (int b = 0; b < h->nle && b < UTIL_HIST_MAX; b++) {
		cum += atomic_load(&h->bucket[b]);
		snprintf(line, sizeof line, "%s_bucket{%s%sle=\"%g\"} %llu", name, l, sep, h->le[b],
			 cum);
		emit(ctx, line);
	}
	/* +Inf is the running total, not count: both are read without a lock,
	 * and the buckets must never exceed +Inf in one scrape */
	cum += atomic_load(&h->bucket[h->nle < UTIL_HIST_MAX ? h->nle : UTIL_HIST_MAX]);
	snprintf(line, sizeof line, "%s_bucket{%s%sle=\"+Inf\"} %llu", name, l, sep, cum);
	emit(ctx, line);
	snprintf(line, sizeof line, "%s_sum%s%s%s %.6f", name, *l ? "{" : "", l, *l ? "}" : "",
		 (double)atomic_load(&h->sum_us) / 1e6);
	emit(ctx, line);
	snprintf(line, sizeof line, "%s_count%s%s%s %llu", name, *l ? "{" : "", l, *l ? "}" : "",
		 cum);
	emit(ctx, line);
}
