/* backoff.c — jittered exponential backoff, monotonic time, sleeping. */
#include "agent.h"

#include <errno.h>
#include <sys/random.h>
#include <time.h>

double agent_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void agent_sleep(double seconds)
{
	if (seconds <= 0)
		return;
	struct timespec ts = {.tv_sec = (time_t)seconds};
	ts.tv_nsec = (long)((seconds - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* xorshift64*, seeded once from getrandom (never blocks: GRND_NONBLOCK,
 * falling back to the clock early in boot). Jitter needs spread, not
 * secrecy. */
static _Atomic unsigned long long rng_state;

static double uniform01(void)
{
	unsigned long long x = rng_state;
	if (!x) {
		if (getrandom(&x, sizeof(x), GRND_NONBLOCK) != (ssize_t)sizeof(x) || !x)
			x = (unsigned long long)(agent_now() * 1e9) ^ 0x9e3779b97f4a7c15ULL;
	}
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rng_state = x;
	return (double)((x * 2685821657736338717ULL) >> 11) / (double)(1ULL << 53);
}

double agent_jitter(double value, double fraction)
{
	return value * (1.0 - fraction + 2.0 * fraction * uniform01());
}

void agent_backoff_init(struct agent_backoff *b, double base_s, double cap_s, double window_s)
{
	b->base_s = base_s;
	b->cap_s = cap_s;
	b->next_s = base_s;
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
	double d = b->next_s * (0.5 + 0.5 * uniform01());
	if (now + d > b->deadline)
		d = b->deadline - now;
	b->next_s = b->next_s * 2 > b->cap_s ? b->cap_s : b->next_s * 2;
	*delay_s = d;
	return true;
}
