/* backoff.h - jittered exponential backoff between retries (internal): the
 * BMC layer's names for util's backoff (util/util.h). */
#ifndef PROVISIOND_BMC_BACKOFF_H
#define PROVISIOND_BMC_BACKOFF_H

#include <stdint.h>

#include "util/util.h"

/* Delay before retry number `retry` (0 = first retry): base * 2^retry capped at max,
 * then a uniformly random value in [d/2, d]. *rng is the caller's xorshift state
 * (never 0); pure otherwise. */
static inline long long bmc_backoff_ms(int retry, int base_ms, int max_ms, uint64_t *rng)
{
	return util_backoff_ms(retry, base_ms, max_ms, rng);
}

/* A seed that differs between threads and calls. */
static inline uint64_t bmc_backoff_seed(void)
{
	return util_rng_seed();
}

#endif
