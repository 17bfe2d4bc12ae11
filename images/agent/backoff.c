/* backoff.c — the agent's face on util's clock and backoff (util/util.h), in
 * seconds: monotonic time, sleeping, jitter and the retry window. */
#include "agent.h"

/* Whole milliseconds, rounded up so a short positive wait never becomes none. */
static int64_t to_ms(double seconds)
{
	return seconds > 0 ? (int64_t)(seconds * 1000.0 + 0.999) : 0;
}

double agent_now(void)
{
	return (double)util_now_us() / 1e6;
}

void agent_sleep(double seconds)
{
	util_sleep_ms(to_ms(seconds));
}

/* Jitter needs spread, not secrecy: a per-thread xorshift state. */
static double uniform01(void)
{
	static _Thread_local uint64_t rng;

	if (!rng)
		rng = util_rng_seed();
	return (double)(util_rng_next(&rng) >> 11) / (double)(1ULL << 53);
}

double agent_jitter(double value, double fraction)
{
	return value * (1.0 - fraction + 2.0 * fraction * uniform01());
}

void agent_backoff_init(struct agent_backoff *b, double base_s, double cap_s, double window_s)
{
	b->base_s = base_s;
	b->cap_s = cap_s;
	b->retry = 0;
	b->rng = util_rng_seed();
	b->deadline = agent_now() + window_s;
}

void agent_backoff_reset(struct agent_backoff *b, double window_s)
{
	agent_backoff_init(b, b->base_s, b->cap_s, window_s);
}

bool agent_backoff_next(struct agent_backoff *b, double *delay_s)
{
	double now = agent_now();
	if (now >= b->deadline)
		return false;
	double d =
	    (double)util_backoff_ms(b->retry, to_ms(b->base_s), to_ms(b->cap_s), &b->rng) / 1000.0;
	if (now + d > b->deadline)
		d = b->deadline - now;
	b->retry += b->retry < 62;
	*delay_s = d;
	return true;
}
