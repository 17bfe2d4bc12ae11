/* test_console.c - the console module: ring offsets, wrap-around and truncation;
 * bytes -> text; the manager's sessions, bound, waits and metrics with the fake
 * BMC driver (whose console connects and stays silent). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "provisiond/bmc/bmc.h"
#include "provisiond/bmc/driver.h"
#include "provisiond/console/console.h"
#include "util/util.h"

static size_t rd(const struct con_ring *r, bool has, uint64_t after, char *out, struct con_slice *s)
{
	size_t n = con_ring_read(r, has, after, out, 4096, s);
	out[n] = '\0';
	return n;
}

static void test_ring_offsets(void **state)
{
	struct con_ring r;
	struct con_slice s;
	char out[4097];

	(void)state;
	assert_int_equal(con_ring_init(&r, 8), 0);
	assert_int_equal(rd(&r, false, 0, out, &s), 0);
	assert_true(s.start == 0 && s.end == 0 && !s.truncated);
	con_ring_append(&r, "abc", 3);
	assert_int_equal(rd(&r, false, 0, out, &s), 3);
	assert_string_equal(out, "abc");
	assert_true(s.start == 0 && s.end == 3 && !s.truncated);
	con_ring_append(&r, "defg", 4);
	assert_int_equal(rd(&r, true, 3, out, &s), 4); /* only what is new */
	assert_string_equal(out, "defg");
	assert_true(s.start == 3 && s.end == 7 && !s.truncated);
	assert_int_equal(rd(&r, true, 7, out, &s), 0); /* nothing after the end */
	assert_true(s.start == 7 && s.end == 7 && !s.truncated);
	con_ring_free(&r);
	con_ring_free(&r); /* twice is fine */
	assert_int_equal(con_ring_init(&r, 0), -1);
}

static void test_ring_wrap_and_truncation(void **state)
{
	struct con_ring r;
	struct con_slice s;
	char out[4097];

	(void)state;
	assert_int_equal(con_ring_init(&r, 8), 0);
	con_ring_append(&r, "0123456789", 10); /* more than fits: the last 8 stay */
	assert_int_equal(con_ring_start(&r), 2);
	assert_int_equal(rd(&r, false, 0, out, &s), 8);
	assert_string_equal(out, "23456789");
	assert_true(s.start == 2 && s.end == 10 && s.truncated);
	con_ring_append(&r, "ABC", 3); /* wraps inside the buffer */
	assert_int_equal(rd(&r, true, 0, out, &s), 8);
	assert_string_equal(out, "56789ABC");
	assert_true(s.start == 5 && s.end == 13 && s.truncated);
	assert_int_equal(rd(&r, true, 9, out, &s), 4); /* still held: not truncated */
	assert_string_equal(out, "9ABC");
	assert_true(s.start == 9 && !s.truncated);
	assert_int_equal(rd(&r, true, 100, out, &s), 8); /* another stream's offset */
	assert_true(s.start == 5 && s.end == 13 && s.truncated);
	for (int i = 0; i < 1000; i++) /* many small writes across the edge */
		con_ring_append(&r, i % 2 ? "xy" : "z", i % 2 ? 2 : 1);
	assert_int_equal(r.end, 13 + 1500);
	assert_int_equal(rd(&r, false, 0, out, &s), 8);
	assert_string_equal(out, "xyzxyzxy");
	assert_int_equal(s.end - s.start, 8);
	con_ring_free(&r);
}

static const struct {
	const char *in;
	size_t n;
	const char *want;
} texts[] = {
    {"plain line\n\ttab", 0, "plain line\n\ttab"},
    {"crlf\r\n", 0, "crlf\n"},
    {"\x1b[1;31mred\x1b[0m", 0, "red"},
    {"\x1b]0;title\x07"
     "after",
     0, "after"},
    {"\x1b(Bkeep", 0, "keep"},
    {"\x1b"
     "c"
     "reset",
     0, "reset"},
    {"bell\x07"
     " nul",
     0, "bell nul"},
    {"bad\xff"
     "z",
     0, "bad\xef\xbf\xbdz"},
    {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 0, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"},
    {"cut \xe2\x82", 0, "cut \xef\xbf\xbd\xef\xbf\xbd"},
    {"overlong \xc0\xaf", 0, "overlong \xef\xbf\xbd\xef\xbf\xbd"},
    {"surrogate \xed\xa0\x80", 0, "surrogate \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
    {"c1 \xc2\x9b ok", 0, "c1  ok"},
    {"del\x7f", 0, "del"},
    {"nul\0inside", 10, "nulinside"},
    {"\x1b[", 0, ""},
};

static void test_text(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		size_t n = texts[i].n ? texts[i].n : strlen(texts[i].in);
		char *t = con_text(texts[i].in, n);
		assert_non_null(t);
		if (strcmp(t, texts[i].want) != 0)
			fail_msg("case %zu: got '%s', want '%s'", i, t, texts[i].want);
		free(t);
	}
	unsigned char all[256];
	for (int i = 0; i < 256; i++)
		all[i] = (unsigned char)i;
	char *t = con_text(all, sizeof(all));
	assert_non_null(t);
	for (const unsigned char *p = (const unsigned char *)t; *p; p++)
		assert_true(*p >= 0x20 || *p == '\n' || *p == '\t');
	free(t);
}

/* ---------------------------------------------------------------- mask */

#define SECRET "pvd_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

/* Runs in through a fresh mask in pieces of `step` bytes (a token cut by the
 * edge of a console read) and returns what would be stored. */
static char *masked(const char *in, size_t step)
{
	struct con_mask st = {0};
	size_t n = strlen(in), o = 0;
	char *out = malloc(CON_MASK_OUT(n) + 1);

	assert_non_null(out);
	for (size_t i = 0; i < n; i += step) {
		size_t k = n - i < step ? n - i : step;
		o += con_mask_apply(&st, in + i, k, out + o);
	}
	out[o] = '\0';
	return out;
}

static const struct {
	const char *in, *want;
} masks[] = {
    {"Command line: console=ttyS0 provisiond.token=" SECRET " quiet\r\n",
     "Command line: console=ttyS0 provisiond.token=*** quiet\r\n"},
    {"kernel vmlinuz provisiond.machine=m-1 provisiond.token=" SECRET,
     "kernel vmlinuz provisiond.machine=m-1 provisiond.token=***"},
    {"provisiond.token=\"" SECRET "\" x", "provisiond.token=\"***\" x"},
    {"token=a\ttoken=b\x1b[0m", "token=***\ttoken=***\x1b[0m"},
    {"token= empty, tokentoken=x tok=en", "token= empty, tokentoken=*** tok=en"},
    {"no secret here\n", "no secret here\n"},
};

static void test_mask_boot_token(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(masks) / sizeof(masks[0]); i++) {
		for (size_t step = 1; step <= strlen(masks[i].in); step++) {
			char *got = masked(masks[i].in, step);
			if (strcmp(got, masks[i].want) != 0)
				fail_msg("case %zu step %zu: got '%s', want '%s'", i, step, got,
					 masks[i].want);
			assert_null(strstr(got, "0123456789abcdef"));
			free(got);
		}
	}
}

/* ------------------------------------------------------------- manager */

struct metrics_buf {
	char text[4096];
	size_t n;
};

static void collect(void *ctx, const char *line)
{
	struct metrics_buf *b = ctx;
	int k = snprintf(b->text + b->n, sizeof(b->text) - b->n, "%s\n", line);
	if (k > 0 && b->n + (size_t)k < sizeof(b->text))
		b->n += (size_t)k;
}

/* The value of the sample named exactly `name` (with its labels), or -1. */
static long long metric(struct con_manager *m, const char *name)
{
	struct metrics_buf b = {.n = 0};
	con_metrics(m, collect, &b);
	size_t len = strlen(name);
	for (const char *p = b.text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (strncmp(p, name, len) == 0 && p[len] == ' ')
			return atoll(p + len + 1);
	return -1;
}

/* Waits (real time, generously) until the metric shows want. */
static bool metric_becomes(struct con_manager *m, const char *name, long long want)
{
	for (int i = 0; i < 500; i++) {
		if (metric(m, name) == want)
			return true;
		util_sleep_ms(10);
	}
	return metric(m, name) == want;
}

static bool wanted_answer = true;
static bool wanted(void *arg, const char *id)
{
	(void)arg, (void)id;
	return wanted_answer;
}

static const struct bmc_target fake_t = {.key = "m1", .driver = "fake", .options_json = "{}"};

static struct con_manager *manager(struct bmc_manager **bmc)
{
	struct con_limits l;
	con_limits_default(&l);
	l.max_sessions = 1;
	l.read_ms = 20;
	l.check_ms = 50;
	l.buffer_kib = 1;
	*bmc = bmc_manager_new(NULL);
	assert_non_null(*bmc);
	struct con_manager *m = con_manager_new(*bmc, &l, wanted, NULL);
	assert_non_null(m);
	return m;
}

static void test_sessions_bound_and_stop(void **state)
{
	struct bmc_manager *bmc;
	struct con_manager *m = manager(&bmc);

	(void)state;
	wanted_answer = true;
	assert_int_equal(metric(m, "provisiond_console_sessions_limit"), 1);
	con_capture(m, "m1", &fake_t);
	assert_true(metric_becomes(m, "provisiond_console_sessions", 1));
	con_capture(m, "m1", &fake_t); /* asked again: the same session */
	assert_int_equal(metric(m, "provisiond_console_sessions_started_total"), 1);
	con_capture(m, "m2", &fake_t); /* over max_sessions */
	assert_int_equal(metric(m, "provisiond_console_sessions_refused_total"), 1);
	assert_int_equal(metric(m, "provisiond_console_sessions"), 1);
	con_capture(m, "m1", NULL);
	assert_true(metric_becomes(m, "provisiond_console_sessions", 0));
	con_capture(m, "m2", &fake_t); /* room again */
	assert_true(metric_becomes(m, "provisiond_console_sessions", 1));
	wanted_answer = false; /* the machine left the captured states by another path */
	assert_true(metric_becomes(m, "provisiond_console_sessions", 0));
	assert_int_equal(metric(m, "provisiond_console_errors_total{stage=\"open\"}"), 0);
	con_capture(m, "m3", &fake_t);
	con_manager_free(m); /* stops a running session */
	bmc_manager_free(bmc);
}

/* A driver without console slots (every built-in driver has them now). */
static enum bmc_status noconsole_open(void *priv, const struct bmc_target *t, const json_t *opts,
				      int timeout_ms, void **inst, struct bmc_error *e)
{
	(void)priv, (void)t, (void)opts, (void)timeout_ms, (void)e;
	*inst = NULL;
	return BMC_OK;
}

static const struct bmc_driver noconsole_driver = {.name = "noconsole", .open = noconsole_open};

static void test_unsupported_driver_not_retried(void **state)
{
	struct bmc_manager *bmc;
	struct con_manager *m;
	const struct bmc_target nc = {.key = "r1", .driver = "noconsole"};

	(void)state;
	bmc_registry_set_test_driver(&noconsole_driver);
	m = manager(&bmc);
	wanted_answer = true;
	con_capture(m, "r1", &nc);
	assert_true(metric_becomes(m, "provisiond_console_errors_total{stage=\"open\"}", 1));
	assert_true(metric_becomes(m, "provisiond_console_sessions", 0));
	con_capture(m, "r1", &nc); /* the lifecycle asks again: not started again */
	assert_int_equal(metric(m, "provisiond_console_sessions_started_total"), 1);
	con_capture(m, "r1", NULL); /* left the state: the next capture may try again */
	con_capture(m, "r1", &nc);
	assert_int_equal(metric(m, "provisiond_console_sessions_started_total"), 2);
	con_manager_free(m);
	bmc_manager_free(bmc);
	bmc_registry_set_test_driver(NULL);
}

static void test_read_empty_and_wait(void **state)
{
	struct bmc_manager *bmc;
	struct con_manager *m = manager(&bmc);
	struct con_view v;
	atomic_bool stop = false;

	(void)state;
	assert_int_equal(con_read(m, "nobody", false, 0, 0, NULL, &v), 0);
	assert_true(v.start == 0 && v.end == 0 && !v.truncated && !v.capturing);
	assert_string_equal(v.text, "");
	free(v.text);
	int64_t t0 = util_now_ms();
	assert_int_equal(con_read(m, "nobody", true, 0, 150, &stop, &v), 0);
	assert_true(util_now_ms() - t0 >= 150); /* waited for bytes that never came */
	assert_string_equal(v.text, "");
	free(v.text);
	atomic_store(&stop, true); /* draining: a wait answers at once */
	assert_int_equal(con_read(m, "nobody", true, 0, 60000, &stop, &v), 0);
	free(v.text);
	assert_int_equal(con_read(NULL, "x", false, 0, 0, NULL, &v), 0);
	assert_string_equal(v.text, "");
	free(v.text);
	con_manager_free(m);
	bmc_manager_free(bmc);
	struct con_limits bad;
	con_limits_default(&bad);
	bad.buffer_kib = 0;
	assert_null(con_manager_new(NULL, &bad, NULL, NULL));
	con_manager_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ring_offsets),
	    cmocka_unit_test(test_ring_wrap_and_truncation),
	    cmocka_unit_test(test_text),
	    cmocka_unit_test(test_mask_boot_token),
	    cmocka_unit_test(test_sessions_bound_and_stop),
	    cmocka_unit_test(test_unsupported_driver_not_retried),
	    cmocka_unit_test(test_read_empty_and_wait),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
