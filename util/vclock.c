/* vclock.c - the virtual clock for tests, see util.h. */
#include "util/util.h"

#include <sched.h>
#include <stdatomic.h>

static int64_t v_now_us(void *ctx)
{
	struct util_vclock *v = ctx;

	return atomic_load(&v->now_us);
}

static int64_t v_wall_us(void *ctx)
{
	struct util_vclock *v = ctx;

	return atomic_load(&v->now_us) + v->wall_offset_us;
}

/* Moves time to the deadline unless another sleeper got further already. The
 * yield lets other threads run: a caller that polls on virtual sleeps would
 * otherwise spin without giving the thread it waits for a turn. */
static void v_sleep_until_us(void *ctx, int64_t deadline_us)
{
	struct util_vclock *v = ctx;
	int64_t cur = atomic_load(&v->now_us);

	while (cur < deadline_us) {
		if (atomic_compare_exchange_weak(&v->now_us, &cur, deadline_us)) {
			atomic_fetch_add(&v->slept_us, deadline_us - cur);
			atomic_fetch_add(&v->sleeps, 1);
			break;
		}
	}
	sched_yield();
}

void util_vclock_init(struct util_vclock *v, int64_t now_ms, int64_t wall_ms)
{
	v->clock = (struct util_clock){
	    .now_us = v_now_us, .wall_us = v_wall_us, .sleep_until_us = v_sleep_until_us, .ctx = v};
	atomic_init(&v->now_us, now_ms * 1000);
	atomic_init(&v->slept_us, 0);
	atomic_init(&v->sleeps, 0);
	v->wall_offset_us = (wall_ms - now_ms) * 1000;
}

void util_vclock_advance_ms(struct util_vclock *v, int64_t ms)
{
	if (ms > 0)
		atomic_fetch_add(&v->now_us, ms * 1000);
}

int64_t util_vclock_slept_ms(const struct util_vclock *v)
{
	return atomic_load(&((struct util_vclock *)v)->slept_us) / 1000;
}

unsigned util_vclock_sleeps(const struct util_vclock *v)
{
	return atomic_load(&((struct util_vclock *)v)->sleeps);
}
