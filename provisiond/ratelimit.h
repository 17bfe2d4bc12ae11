/* ratelimit.h - token buckets per key (a client address, a token id): rate
 * tokens a minute, up to burst saved. The table holds a fixed number of
 * keys; the one idle longest gives its slot to a new key, so a flood of
 * distinct keys costs a bounded amount of memory (and at worst lets an
 * evicted key start with a full bucket again).
 *
 * Thread-safe (one mutex). rl_new allocates; rl_free accepts NULL. */
#ifndef PROVISIOND_RATELIMIT_H
#define PROVISIOND_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

struct rl;

/* NULL when out of memory. */
struct rl *rl_new(int rate_per_min, int burst, int slots);
void rl_free(struct rl *r);
/* Takes one token for key at now_ms; false when its bucket is empty. */
bool rl_allow(struct rl *r, const char *key, int64_t now_ms);
/* rl_allow that also tells, when it refuses, in how many ms the bucket
 * holds a token again (*retry_ms, at least 1; may be NULL). */
bool rl_take(struct rl *r, const char *key, int64_t now_ms, int64_t *retry_ms);

#endif
