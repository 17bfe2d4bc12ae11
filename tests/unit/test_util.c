/* test_util.c - util/: ARRAY_SIZE, the error shape, the growable buffer (growth
 * and allocation failure), backoff bounds, the virtual clock and waits on it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"

/* Linked with -Wl,--wrap=realloc: fails the nth realloc from now when armed. */
static int realloc_fail_in;
void *__real_realloc(void *p, size_t n);
void *__wrap_realloc(void *p, size_t n)
{
	if (realloc_fail_in > 0 && --realloc_fail_in == 0)
		return NULL;
	return __real_realloc(p, n);
}

static void test_array_size(void **state)
{
	static const char *const names[] = {"a", "b", "c"};
	int numbers[7];
	struct {
		char c;
		double d;
	} wide[2];
	char text[] = "four";

	(void)state;
	(void)numbers;
	(void)wide;
	_Static_assert(ARRAY_SIZE(names) == 3, "a constant expression");
	assert_int_equal(ARRAY_SIZE(numbers), 7);
	assert_int_equal(ARRAY_SIZE(wide), 2);
	assert_int_equal(ARRAY_SIZE(text), 5);
}

static void test_err_set(void **state)
{
	struct err e;
	char longer[600];

	(void)state;
	memset(&e, 0x55, sizeof e);
	assert_int_equal(err_set(&e, ERR_INVALID, "bmc.address", "bad port %d", 70000),
			 ERR_INVALID);
	assert_int_equal(e.status, ERR_INVALID);
	assert_string_equal(e.field, "bmc.address");
	assert_string_equal(e.message, "bad port 70000");
	assert_int_equal(err_set(&e, ERR_IO, NULL, "disk full"), ERR_IO);
	assert_string_equal(e.field, "");
	assert_int_equal(err_set(NULL, ERR_CONFLICT, "x", "nobody reads this"), ERR_CONFLICT);
	memset(longer, 'x', sizeof longer - 1);
	longer[sizeof longer - 1] = '\0';
	err_set(&e, ERR_INTERNAL, longer, "%s", longer);
	assert_int_equal(strlen(e.field), sizeof e.field - 1);
	assert_int_equal(strlen(e.message), sizeof e.message - 1);
	err_clear(&e);
	assert_int_equal(e.status, ERR_OK);
	assert_string_equal(e.message, "");
	err_clear(NULL);
	for (int s = 0; s < ERR_STATUS__COUNT; s++)
		assert_non_null(err_status_name((enum err_status)s));
	assert_string_equal(err_status_name(ERR_NOT_FOUND), "not_found");
	assert_string_equal(err_status_name((enum err_status)99), "internal");
}

static void test_buf_grows(void **state)
{
	struct util_buf b = {0};
	char *s;
	size_t len;

	(void)state;
	assert_int_equal(util_buf_puts(&b, ""), 0);
	assert_non_null(b.p);
	assert_string_equal(b.p, "");
	for (int i = 0; i < 5000; i++) {
		assert_int_equal(util_buf_printf(&b, "%d,", i % 10), 0);
		assert_int_equal(b.p[b.len], '\0');
	}
	assert_int_equal(b.len, 10000);
	assert_true(b.cap > b.len);
	assert_memory_equal(b.p + 9980, "0,1,2,3,4,5,6,7,8,9,", 20);
	/* one printf far larger than what is left */
	assert_int_equal(util_buf_printf(&b, "%0*d", 20000, 7), 0);
	assert_int_equal(b.len, 30000);
	assert_int_equal(b.p[29999], '7');
	assert_int_equal(util_buf_append(&b, "\0bin", 4), 0);
	s = util_buf_take(&b, &len);
	assert_non_null(s);
	assert_int_equal(len, 30004);
	assert_memory_equal(s + 30000, "\0bin", 5);
	free(s);
	assert_null(b.p);
	assert_int_equal(b.len, 0);
	s = util_buf_take(&b, NULL); /* nothing appended: "" */
	assert_string_equal(s, "");
	free(s);
	util_buf_free(&b);
	util_buf_free(NULL);
}

static void test_buf_failure_sticks(void **state)
{
	struct util_buf b = {0};
	size_t len = 99;

	(void)state;
	assert_int_equal(util_buf_puts(&b, "kept so far"), 0);
	assert_int_equal(util_buf_append(&b, "x", SIZE_MAX - 4), -1); /* size overflow */
	assert_true(b.failed);
	assert_string_equal(b.p, "kept so far");
	assert_int_equal(util_buf_puts(&b, "more"), -1);
	assert_int_equal(util_buf_printf(&b, "%d", 1), -1);
	assert_int_equal(b.len, 11);
	assert_null(util_buf_take(&b, &len));
	assert_int_equal(len, 0);
	assert_false(b.failed); /* take reset it */

	realloc_fail_in = 1; /* the first allocation fails */
	assert_int_equal(util_buf_puts(&b, "a"), -1);
	assert_null(b.p);
	assert_int_equal(util_buf_puts(&b, "b"), -1);
	assert_null(util_buf_take(&b, NULL));

	assert_int_equal(util_buf_puts(&b, "small"), 0);
	realloc_fail_in = 1; /* growing fails inside printf */
	assert_int_equal(util_buf_printf(&b, "%0*d", 1000, 1), -1);
	assert_string_equal(b.p, "small"); /* no partial text */
	assert_int_equal(util_buf_puts(&b, "x"), -1);
	util_buf_free(&b);
	assert_false(b.failed);
	realloc_fail_in = 0;
}

struct backoff_case {
	int retry;
	int64_t base, max, exp; /* exp: the delay before jitter */
};

static void test_backoff_bounds(void **state)
{
	static const struct backoff_case cases[] = {
	    {.retry = 0, .base = 100, .max = 1000, .exp = 100},
	    {.retry = 1, .base = 100, .max = 1000, .exp = 200},
	    {.retry = 3, .base = 100, .max = 1000, .exp = 800},
	    {.retry = 4, .base = 100, .max = 1000, .exp = 1000},
	    {.retry = 60, .base = 100, .max = 1000, .exp = 1000},
	    {.retry = 2, .base = 5, .max = 20, .exp = 20},
	    {.retry = 0, .base = 5, .max = 20, .exp = 5}, /* odd: [2, 5] */
	    {.retry = -3, .base = 50, .max = 200, .exp = 50},
	    {.retry = 0, .base = 300, .max = 200, .exp = 200}, /* max below base */
	    {.retry = 1, .base = 1, .max = 1, .exp = 1},
	    {.retry = 5, .base = 0, .max = 100, .exp = 0},
	    {.retry = 40, .base = 1000, .max = INT64_MAX / 2, .exp = 1000LL << 40},
	};
	uint64_t rng = util_rng_seed();

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct backoff_case *c = &cases[i];
		int64_t lo = c->exp < 2 ? c->exp : c->exp / 2, min = INT64_MAX, max = -1;

		assert_int_equal(util_backoff_exp_ms(c->retry, c->base, c->max), c->exp);
		for (int k = 0; k < 2000; k++) {
			int64_t d = util_backoff_ms(c->retry, c->base, c->max, &rng);
			assert_in_range(d, lo, c->exp);
			min = d < min ? d : min;
			max = d > max ? d : max;
		}
		if (c->exp <= 20) { /* small ranges: both ends are drawn */
			assert_int_equal(min, lo);
			assert_int_equal(max, c->exp);
		}
	}
}

static void test_rng(void **state)
{
	uint64_t a = util_rng_seed(), b = util_rng_seed(), zero = 0;

	(void)state;
	assert_true(a != 0 && b != 0 && a != b);
	assert_true(util_rng_next(&zero) != 0);
	assert_true(zero != 0);
}

static void test_vclock(void **state)
{
	struct util_vclock v;
	int64_t real;

	(void)state;
	util_vclock_init(&v, -1000000, 1700000000000);
	util_clock_set(&v.clock);
	assert_int_equal(util_now_ms(), -1000000);
	assert_int_equal(util_now_us(), -1000000000LL);
	assert_int_equal(util_wall_ms(), 1700000000000);
	util_sleep_ms(250);
	assert_int_equal(util_now_ms(), -999750);
	assert_int_equal(util_wall_ms(), 1700000000250);
	util_sleep_until_ms(-999000);
	assert_int_equal(util_now_ms(), -999000);
	util_sleep_until_ms(-999500); /* in the past: no sleep */
	util_sleep_ms(0);
	util_sleep_ms(-5);
	assert_int_equal(util_vclock_sleeps(&v), 2);
	assert_int_equal(util_vclock_slept_ms(&v), 1000);
	util_vclock_advance_ms(&v, 3000); /* the test's time, not a sleep */
	assert_int_equal(util_now_ms(), -996000);
	assert_int_equal(util_vclock_slept_ms(&v), 1000);

	real = util_real_now_ms();
	assert_true(real >= 0); /* the real clock is still there */
	util_clock_set(NULL);
	assert_true(util_now_ms() >= real);
	assert_true(util_wall_ms() > 1600000000000);
}

static void test_iso_time(void **state)
{
	static const struct {
		int64_t ms;
		const char *text;
	} cases[] = {
	    {.ms = 0, .text = "1970-01-01T00:00:00.000Z"},
	    {.ms = 1700000000123, .text = "2023-11-14T22:13:20.123Z"},
	    {.ms = 951782400999, .text = "2000-02-29T00:00:00.999Z"},
	    {.ms = -1, .text = "1969-12-31T23:59:59.999Z"},
	};
	char buf[UTIL_ISO_TIME_LEN], small[8];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		assert_string_equal(util_iso_time(cases[i].ms, buf, sizeof buf), cases[i].text);
	assert_string_equal(util_iso_time(0, small, sizeof small), ""); /* does not fit */
}

static void test_parse_iso_time(void **state)
{
	static const struct {
		const char *text;
		int rc;
		int64_t ms;
	} cases[] = {
	    {"2023-11-14T22:13:20.123Z", 0, 1700000000123},
	    {"2023-11-14T22:13:20Z", 0, 1700000000000},
	    {"2023-11-14T22:13:20.1Z", 0, 1700000000100},
	    {"2023-11-14t22:13:20z", 0, 1700000000000},
	    {"2023-11-14T23:13:20+01:00", 0, 1700000000000},
	    {"2023-11-14T20:43:20.5-01:30", 0, 1700000000500},
	    {"1970-01-01T00:00:00.000Z", 0, 0},
	    {"2000-02-29T00:00:00.999Z", 0, 951782400999},
	    {"2023-11-14T22:13:20", -1, 0},   /* no zone */
	    {"2023-11-14", -1, 0},	      /* no time */
	    {"2023-13-01T00:00:00Z", -1, 0},  /* month 13 */
	    {"2023-11-14T25:00:00Z", -1, 0},  /* hour 25 */
	    {"2023-11-14T22:13:20Zx", -1, 0}, /* trailing text */
	    {" 2023-11-14T22:13:20Z", -1, 0},
	    {"yesterday", -1, 0},
	    {"", -1, 0},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		int64_t ms = -7;
		int rc = util_parse_iso_time(cases[i].text, &ms);
		if (rc != cases[i].rc || (rc == 0 && ms != cases[i].ms))
			fail_msg("%s: rc %d ms %lld", cases[i].text, rc, (long long)ms);
	}
}

struct sleeper {
	pthread_t tid;
	int64_t until_ms;
};

static void *sleeper_main(void *arg)
{
	struct sleeper *s = arg;

	for (int i = 0; i < 100; i++)
		util_sleep_until_ms(s->until_ms - 100 + i + 1);
	return NULL;
}

static void test_vclock_threads(void **state)
{
	struct util_vclock v;
	struct sleeper s[4];

	(void)state;
	util_vclock_init(&v, 0, 0);
	util_clock_set(&v.clock);
	for (int i = 0; i < 4; i++) {
		s[i].until_ms = 1000 * (i + 1);
		assert_int_equal(pthread_create(&s[i].tid, NULL, sleeper_main, &s[i]), 0);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(s[i].tid, NULL);
	assert_int_equal(util_now_ms(), 4000); /* the latest deadline wins */
	assert_int_equal(util_vclock_slept_ms(&v), 4000);
	util_clock_set(NULL);
}

struct waiter {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool ready;
};

static void *signal_main(void *arg)
{
	struct waiter *w = arg;

	util_real_sleep_ms(20);
	pthread_mutex_lock(&w->mu);
	w->ready = true;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* A timed-out wait on a test clock ends exactly at the virtual deadline; a
 * signalled one leaves the virtual time alone. */
static void test_cond_wait_on_vclock(void **state)
{
	struct util_vclock v;
	struct waiter w = {.mu = PTHREAD_MUTEX_INITIALIZER};
	pthread_t t;
	int rc = 0;

	(void)state;
	assert_int_equal(util_cond_init(&w.cv), 0);
	util_vclock_init(&v, 5000, 0);
	util_clock_set(&v.clock);
	pthread_mutex_lock(&w.mu);
	assert_int_equal(util_cond_wait_until_ms(&w.cv, &w.mu, 5030), ETIMEDOUT);
	assert_int_equal(util_now_ms(), 5030);
	assert_int_equal(util_cond_wait_until_ms(&w.cv, &w.mu, 5000), ETIMEDOUT); /* past */
	assert_int_equal(util_now_ms(), 5030);
	assert_int_equal(pthread_create(&t, NULL, signal_main, &w), 0);
	while (!w.ready && rc == 0)
		rc = util_cond_wait_until_ms(&w.cv, &w.mu, util_now_ms() + 600000);
	pthread_mutex_unlock(&w.mu);
	pthread_join(t, NULL);
	assert_int_equal(rc, 0);
	assert_int_equal(util_now_ms(), 5030);
	util_clock_set(NULL);

	/* the real clock: a timeout never comes early */
	int64_t deadline = util_now_ms() + 20;
	pthread_mutex_lock(&w.mu);
	while ((rc = util_cond_wait_until_ms(&w.cv, &w.mu, deadline)) == 0)
		;
	pthread_mutex_unlock(&w.mu);
	assert_int_equal(rc, ETIMEDOUT);
	assert_true(util_now_ms() >= deadline);
	pthread_cond_destroy(&w.cv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_array_size),
	    cmocka_unit_test(test_err_set),
	    cmocka_unit_test(test_buf_grows),
	    cmocka_unit_test(test_buf_failure_sticks),
	    cmocka_unit_test(test_backoff_bounds),
	    cmocka_unit_test(test_rng),
	    cmocka_unit_test(test_vclock),
	    cmocka_unit_test(test_vclock_threads),
	    cmocka_unit_test(test_cond_wait_on_vclock),
	    cmocka_unit_test(test_iso_time),
	    cmocka_unit_test(test_parse_iso_time),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
