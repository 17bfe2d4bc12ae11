/* clock.c - the real clock, the installed-clock pointer and the helpers that
 * read and sleep on whichever clock is installed.
 *
 * Why one pointer and not a clock per module: timeouts cross modules (the
 * BMC layer's watchdog waits on a driver, the supervisor on a child), and a
 * test that moves time must move it for all of them at once. */
#include "util/util.h"

#include <errno.h>
#include <stdatomic.h>
#include <time.h>

static int64_t ts_us(const struct timespec *ts)
{
	return (int64_t)ts->tv_sec * 1000000 + ts->tv_nsec / 1000;
}

static struct timespec us_ts(int64_t us)
{
	if (us < 0)
		us = 0;
	return (struct timespec){.tv_sec = (time_t)(us / 1000000),
				 .tv_nsec = (long)(us % 1000000) * 1000};
}

static int64_t real_now_us(void *ctx)
{
	struct timespec ts;

	(void)ctx;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts_us(&ts);
}

static int64_t real_wall_us(void *ctx)
{
	struct timespec ts;

	(void)ctx;
	clock_gettime(CLOCK_REALTIME, &ts);
	return ts_us(&ts);
}

/* An absolute deadline, so a signal that interrupts the sleep cannot stretch it. */
static void real_sleep_until_us(void *ctx, int64_t deadline_us)
{
	struct timespec ts = us_ts(deadline_us);

	(void)ctx;
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

static const struct util_clock real_clock = {
    .now_us = real_now_us,
    .wall_us = real_wall_us,
    .sleep_until_us = real_sleep_until_us,
};

static _Atomic(const struct util_clock *) installed = &real_clock;

static const struct util_clock *current(void)
{
	return atomic_load_explicit(&installed, memory_order_acquire);
}

void util_clock_set(const struct util_clock *c)
{
	atomic_store_explicit(&installed, c ? c : &real_clock, memory_order_release);
}

int64_t util_now_us(void)
{
	const struct util_clock *c = current();

	return c->now_us(c->ctx);
}

int64_t util_now_ms(void)
{
	return util_now_us() / 1000;
}

int64_t util_wall_ms(void)
{
	const struct util_clock *c = current();

	return c->wall_us(c->ctx) / 1000;
}

void util_sleep_until_ms(int64_t deadline_ms)
{
	const struct util_clock *c = current();

	if (c->now_us(c->ctx) < deadline_ms * 1000)
		c->sleep_until_us(c->ctx, deadline_ms * 1000);
}

void util_sleep_ms(int64_t ms)
{
	const struct util_clock *c = current();

	if (ms > 0)
		c->sleep_until_us(c->ctx, c->now_us(c->ctx) + ms * 1000);
}

int64_t util_real_now_ms(void)
{
	return real_now_us(NULL) / 1000;
}

void util_real_sleep_ms(int64_t ms)
{
	if (ms > 0)
		real_sleep_until_us(NULL, real_now_us(NULL) + ms * 1000);
}

int util_cond_init(pthread_cond_t *cv)
{
	pthread_condattr_t a;
	int rc = pthread_condattr_init(&a);

	if (rc != 0)
		return rc;
	rc = pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	if (rc == 0)
		rc = pthread_cond_init(cv, &a);
	pthread_condattr_destroy(&a);
	return rc;
}

int util_cond_wait_until_ms(pthread_cond_t *cv, pthread_mutex_t *mu, int64_t deadline_ms)
{
	const struct util_clock *c = current();
	int64_t left_us;
	struct timespec ts;
	int rc;

	if (c == &real_clock) {
		ts = us_ts(deadline_ms * 1000);
		return pthread_cond_timedwait(cv, mu, &ts);
	}
	/* A test clock: wait what is left in real time, then let the test clock
	 * catch up with the deadline (see util.h). */
	left_us = deadline_ms * 1000 - c->now_us(c->ctx);
	if (left_us <= 0)
		return ETIMEDOUT;
	ts = us_ts(real_now_us(NULL) + left_us);
	rc = pthread_cond_timedwait(cv, mu, &ts);
	if (rc == ETIMEDOUT)
		util_sleep_until_ms(deadline_ms);
	return rc;
}
