/* ratelimit.c - token buckets per key in a fixed table (see ratelimit.h). */
#include "provisiond/ratelimit.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct bucket {
	char key[64];
	double tokens;
	int64_t at; /* last refill, ms; 0 = free slot */
};

struct rl {
	pthread_mutex_t mu;
	double per_ms, burst;
	int slots;
	struct bucket b[];
};

struct rl *rl_new(int rate_per_min, int burst, int slots)
{
	struct rl *r = calloc(1, sizeof *r + (size_t)slots * sizeof r->b[0]);
	if (!r)
		return NULL;
	pthread_mutex_init(&r->mu, NULL);
	r->per_ms = rate_per_min / 60000.0;
	r->burst = burst > 0 ? burst : 1;
	r->slots = slots;
	return r;
}

void rl_free(struct rl *r)
{
	if (!r)
		return;
	pthread_mutex_destroy(&r->mu);
	free(r);
}

/* The key's bucket, or the slot idle longest made into a full one. */
static struct bucket *find(struct rl *r, const char *key, int64_t now_ms)
{
	struct bucket *oldest = &r->b[0];
	for (int i = 0; i < r->slots; i++) {
		if (r->b[i].at && strcmp(r->b[i].key, key) == 0)
			return &r->b[i];
		if (r->b[i].at < oldest->at)
			oldest = &r->b[i];
	}
	snprintf(oldest->key, sizeof oldest->key, "%s", key);
	oldest->tokens = r->burst;
	oldest->at = now_ms ? now_ms : 1;
	return oldest;
}

bool rl_allow(struct rl *r, const char *key, int64_t now_ms)
{
	return rl_take(r, key, now_ms, NULL);
}

bool rl_take(struct rl *r, const char *key, int64_t now_ms, int64_t *retry_ms)
{
	pthread_mutex_lock(&r->mu);
	struct bucket *b = find(r, key, now_ms);
	b->tokens += (double)(now_ms - b->at) * r->per_ms;
	if (b->tokens > r->burst)
		b->tokens = r->burst;
	b->at = now_ms ? now_ms : 1;
	bool ok = b->tokens >= 1.0;
	if (ok)
		b->tokens -= 1.0;
	else if (retry_ms)
		*retry_ms = r->per_ms > 0 ? (int64_t)((1.0 - b->tokens) / r->per_ms) + 1 : 60000;
	pthread_mutex_unlock(&r->mu);
	return ok;
}
