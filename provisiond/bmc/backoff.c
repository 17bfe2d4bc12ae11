/* backoff.c - jittered exponential backoff, see backoff.h.
 * Jitter keeps many machines that failed together (a rack switch reboot) from
 * retrying in lockstep against their BMCs. */
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "provisiond/bmc/backoff.h"

static uint64_t xorshift64(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

long long bmc_backoff_ms(int retry, int base_ms, int max_ms, uint64_t *rng)
{
	long long d = base_ms > 0 ? base_ms : 1;

	for (int i = 0; i < retry && d < max_ms; i++)
		d *= 2;
	if (d > max_ms)
		d = max_ms;
	if (d < 2)
		return d;
	return d / 2 + (long long)(xorshift64(rng) % (uint64_t)(d - d / 2 + 1));
}

uint64_t bmc_backoff_seed(void)
{
	static atomic_uint_fast64_t counter;
	struct timespec ts;
	uint64_t s;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	s = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32);
	s ^= (uint64_t)(uintptr_t)pthread_self() * 0x9E3779B97F4A7C15ull;
	s ^= atomic_fetch_add(&counter, 1) * 0xBF58476D1CE4E5B9ull;
	return s != 0 ? s : 0x2545F4914F6CDD1Dull;
}
