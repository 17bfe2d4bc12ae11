/* backoff.c - exponential backoff with jitter, and the small random generator
 * it draws from. See util.h. */
#include "util/util.h"

#include <stdatomic.h>
#include <sys/random.h>

int64_t util_backoff_exp_ms(int retry, int64_t base_ms, int64_t max_ms)
{
	int64_t d = base_ms;

	if (base_ms <= 0)
		return 0;
	for (int i = 0; i < retry && d < max_ms; i++)
		d *= 2;
	return d > max_ms ? max_ms : d;
}

int64_t util_backoff_ms(int retry, int64_t base_ms, int64_t max_ms, uint64_t *rng)
{
	int64_t d = util_backoff_exp_ms(retry, base_ms, max_ms);

	if (d < 2)
		return d;
	return d / 2 + (int64_t)(util_rng_next(rng) % (uint64_t)(d - d / 2 + 1));
}

uint64_t util_rng_next(uint64_t *state)
{
	uint64_t x = *state ? *state : 0x2545F4914F6CDD1Dull;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*state = x;
	return x;
}

uint64_t util_rng_seed(void)
{
	static atomic_uint_fast64_t counter;
	uint64_t r = 0, s;

	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r))
		r = 0;
	s = r ^ (uint64_t)util_real_now_ms() * 0x9E3779B97F4A7C15ull;
	s ^= (uint64_t)(uintptr_t)pthread_self() * 0xBF58476D1CE4E5B9ull;
	s ^= (atomic_fetch_add(&counter, 1) + 1) * 0x94D049BB133111EBull;
	return s != 0 ? s : 0x2545F4914F6CDD1Dull;
}
