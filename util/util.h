/* util.h - the small helpers every module shares: array sizes, the error
 * shape used at module boundaries, clocks, growable buffers, jittered
 * backoff and histograms.
 *
 * util/ depends on libc only, so the deploy agent links it too (it is not
 * daemon code). Nothing here allocates unless its comment says so; every
 * function is thread-safe unless its comment says otherwise. */
#ifndef PROVISIOND_UTIL_H
#define PROVISIOND_UTIL_H

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Number of elements of an array (not a pointer: the build fails). */
#define ARRAY_SIZE(a)                                                                              \
	(sizeof(a) / sizeof((a)[0]) +                                                              \
	 0 * sizeof(                                                                               \
		 char[1 - 2 * __builtin_types_compatible_p(__typeof__(a), __typeof__(&(a)[0]))]))

/* ------------------------------------------------------------ errors
 *
 * The error shape every module boundary uses: a status, the input field at
 * fault (for validation errors, named as the API names it) and a human
 * sentence. status is 0 for success; the rest of enum err_status says what
 * kind of failure it was so the daemon can choose an HTTP status without
 * parsing messages. (inventory's struct inv_err and the BMC layer's struct
 * bmc_error have the same three members with their own, finer status enums.)
 */
enum err_status {
	ERR_OK = 0,
	ERR_INVALID,	 /* an input was rejected; field names it */
	ERR_NOT_FOUND,	 /* a named thing does not exist */
	ERR_CONFLICT,	 /* the current state does not allow it */
	ERR_IO,		 /* a file, process or network operation failed */
	ERR_UNSUPPORTED, /* not compiled in or not available here */
	ERR_INTERNAL,	 /* a bug or out of memory */
	ERR_STATUS__COUNT
};

struct err {
	enum err_status status;
	char field[64];
	/* Room for "file:line: message" with long paths, e.g. a SKU overlap
	 * naming two files; longer messages are truncated. */
	char message[512];
};

/* Snake-case name of a status ("invalid", "not_found", ...). */
const char *err_status_name(enum err_status s);
/* Fills e (may be NULL) and returns status, so `return err_set(...)` reads
 * naturally. field may be NULL. */
enum err_status err_set(struct err *e, enum err_status status, const char *field, const char *fmt,
			...) __attribute__((format(printf, 4, 5)));
enum err_status err_vset(struct err *e, enum err_status status, const char *field, const char *fmt,
			 va_list ap) __attribute__((format(printf, 4, 0)));
/* Resets e to success. NULL ok. */
void err_clear(struct err *e);

/* ------------------------------------------------------------ clocks
 *
 * All time goes through one replaceable clock so that tests can run timeouts,
 * backoff and polling on virtual time. Monotonic readings ("now") have an
 * arbitrary origin and only differences mean anything; wall readings are
 * since the Unix epoch (log lines, database timestamps).
 *
 * The clock in use is one atomic pointer: installing a clock is thread-safe,
 * but the struct must stay valid (and its functions callable) until another
 * clock is installed and no thread can still be inside it. */
struct util_clock {
	int64_t (*now_us)(void *ctx);				/* monotonic microseconds */
	int64_t (*wall_us)(void *ctx);				/* microseconds since the epoch */
	void (*sleep_until_us)(void *ctx, int64_t deadline_us); /* on now_us's scale */
	void *ctx;
};

/* Installs c (borrowed, see above); NULL restores the real clock. Tests only. */
void util_clock_set(const struct util_clock *c);

/* Monotonic time in microseconds and milliseconds. */
int64_t util_now_us(void);
int64_t util_now_ms(void);
/* Wall-clock time in milliseconds since the epoch. */
int64_t util_wall_ms(void);
/* Sleeps until the monotonic deadline (util_now_ms's scale); signals do not
 * stretch or cut it (EINTR is retried against the same deadline). Returns at
 * once when the deadline has passed. */
void util_sleep_until_ms(int64_t deadline_ms);
/* Sleeps ms (<= 0: not at all), as util_sleep_until_ms(now + ms). */
void util_sleep_ms(int64_t ms);

/* Formats wall-clock ms (util_wall_ms's scale) as UTC RFC 3339 with
 * milliseconds, "2024-05-01T12:00:00.123Z", into buf (UTIL_ISO_TIME_LEN bytes
 * hold any year up to 9999); returns buf. */
#define UTIL_ISO_TIME_LEN 32
char *util_iso_time(int64_t wall_ms, char *buf, size_t len);
/* Parses RFC 3339 ("2024-05-01T12:00:00.123Z", fraction optional, zone Z
 * or +hh:mm/-hh:mm) into wall-clock ms. 0, or -1 for anything else. */
int util_parse_iso_time(const char *s, int64_t *wall_ms);

/* The real monotonic clock whatever is installed: for tests that must wait
 * for a real process (with a generous deadline) while a test clock runs. */
int64_t util_real_now_ms(void);
void util_real_sleep_ms(int64_t ms);

/* Condition-variable waits against the installed clock.
 *
 * util_cond_init initialises cv to time its waits on CLOCK_MONOTONIC; returns
 * 0 or an errno value. util_cond_wait_until_ms waits (mu held) until cv is
 * signalled or the deadline (util_now_ms's scale) passes; returns 0 (woken,
 * maybe spuriously: re-check the condition) or ETIMEDOUT. cv must come from
 * util_cond_init.
 *
 * On the real clock this is pthread_cond_timedwait. Under a test clock a
 * condition variable cannot wait on virtual time, so the wait stays real: it
 * lasts what remains to the deadline on the test clock, in real time, and when
 * it times out it sleeps the test clock to the deadline, so the timeout shows
 * at the virtual deadline. Time another thread adds to the test clock during
 * the wait does not end it early. Untimed waits (pthread_cond_wait) need
 * nothing from here. */
int util_cond_init(pthread_cond_t *cv);
int util_cond_wait_until_ms(pthread_cond_t *cv, pthread_mutex_t *mu, int64_t deadline_ms);

/* A virtual clock for tests: time moves only when someone sleeps on it (the
 * sleep returns at once, having moved time to its deadline) or the test
 * advances it. Thread-safe; concurrent sleepers move it to the latest of their
 * deadlines. Owned by the test (static or on its stack); install with
 * util_clock_set(&v->clock) and uninstall with util_clock_set(NULL) before it
 * goes away. */
struct util_vclock {
	struct util_clock clock;
	_Atomic int64_t now_us;
	_Atomic int64_t slept_us; /* time added by sleeps (and timed-out waits) */
	_Atomic unsigned sleeps;  /* sleeps that moved the time */
	int64_t wall_offset_us;	  /* wall = now + offset */
};

/* Starts v at monotonic now_ms and wall-clock wall_ms (both move together). */
void util_vclock_init(struct util_vclock *v, int64_t now_ms, int64_t wall_ms);
/* Moves v forward by ms (the test's own "time passes"); not counted as a sleep. */
void util_vclock_advance_ms(struct util_vclock *v, int64_t ms);
/* Total time sleeps moved v forward by, and how many sleeps did. */
int64_t util_vclock_slept_ms(const struct util_vclock *v);
unsigned util_vclock_sleeps(const struct util_vclock *v);

/* ------------------------------------------------------------ buffers
 *
 * A growable byte buffer. Start from {0}. p is NULL until the first append
 * and NUL-terminated after it (len does not count the NUL), so p can be used
 * as a string at once. Appends allocate (realloc); the buffer owns p,
 * util_buf_take hands it over, util_buf_free releases it.
 *
 * When an allocation fails the buffer is marked failed and every later append
 * is ignored (returning -1), so a sequence of appends can be checked once at
 * the end: util_buf_take returns NULL for a failed buffer. Not thread-safe:
 * one buffer, one thread at a time. */
struct util_buf {
	char *p;
	size_t len, cap;
	bool failed;
};

/* Each returns 0, or -1 if this or an earlier allocation (or a printf
 * format) failed; a failed append leaves the contents as they were. */
int util_buf_append(struct util_buf *b, const void *data, size_t n);
int util_buf_puts(struct util_buf *b, const char *s);
int util_buf_printf(struct util_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int util_buf_vprintf(struct util_buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/* Returns the malloc'd contents (caller frees; "" when nothing was appended)
 * and stores their length in *len (may be NULL); NULL if the buffer failed.
 * Either way b is empty again afterwards. */
char *util_buf_take(struct util_buf *b, size_t *len);
/* Frees the contents and empties b (also resets failed). NULL ok. */
void util_buf_free(struct util_buf *b);

/* ------------------------------------------------------------ backoff
 *
 * Exponential backoff between retries, optionally jittered so that many
 * clients that failed together (a rack switch reboot) do not retry in
 * lockstep. Pure functions apart from the caller's random state. */

/* Delay before retry `retry` (0 = the first retry) without jitter: base_ms *
 * 2^retry, capped at max_ms. base_ms <= 0 gives 0; retry < 0 counts as 0. */
int64_t util_backoff_exp_ms(int retry, int64_t base_ms, int64_t max_ms);
/* The same delay d, jittered: uniformly random in [d/2, d]. *rng is the
 * caller's xorshift64 state (seed it with util_rng_seed); one state must not
 * be used by two threads at once. */
int64_t util_backoff_ms(int retry, int64_t base_ms, int64_t max_ms, uint64_t *rng);

/* A non-zero seed that differs between threads, calls and machines
 * (getrandom when it does not block, else the clock, thread and a counter).
 * Spread, not secrecy: never use it for secrets. Thread-safe. */
uint64_t util_rng_seed(void);
/* Next value of the xorshift64 generator *state (a zero state is reseeded
 * from a constant). */
uint64_t util_rng_next(uint64_t *state);

/* ------------------------------------------------------------ histograms
 *
 * A Prometheus histogram over fixed upper bounds in seconds (ascending, at
 * most UTIL_HIST_MAX of them). Lock-free: any thread may observe while
 * another renders; a render may then be off by the observation in flight.
 * Define one as {.le = bounds, .nle = ARRAY_SIZE(bounds)} (the counters
 * start at zero); the bounds are borrowed and must outlive it. */
#define UTIL_HIST_MAX 16
struct util_hist {
	const double *le;
	int nle;
	atomic_ullong bucket[UTIL_HIST_MAX + 1]; /* per bound, not cumulative; last: +Inf */
	atomic_ullong count, sum_us;
};

/* Counts one observation of us microseconds (negative counts as 0). */
void util_hist_observe_us(struct util_hist *h, int64_t us);
/* Emits the _bucket lines (cumulative, then le="+Inf"), _sum and _count of
 * family `name`, each with `labels` (e.g. "state=\"deploying\"", or NULL
 * for none) before le. One line per emit call, without a newline; HELP and
 * TYPE are the caller's. */
void util_hist_render(const struct util_hist *h, const char *name, const char *labels,
		      void (*emit)(void *ctx, const char *line), void *ctx);

/* FNV-1a of s (NULL: none) continued from h, with an end marker so that
 * ("ab","c") and ("a","bc") differ; start from UTIL_FNV_BASIS. In-memory
 * hashing only: not a digest. */
#define UTIL_FNV_BASIS 14695981039346656037ull
unsigned long long util_fnv(unsigned long long h, const char *s);

/* ------------------------------------------------------- metric lines
 *
 * The sink every metrics source writes to (the /metrics emit callback and
 * its context), and a formatted line into it (at most 511 bytes; longer is
 * cut). Thread-safety is the sink's. */
struct util_lines {
	void (*emit)(void *ctx, const char *line);
	void *ctx;
};
void util_linef(const struct util_lines *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The HELP and TYPE lines of family provisiond_<family> (type "counter",
 * "gauge" or "histogram"). */
void util_metric_head(const struct util_lines *o, const char *family, const char *type,
		      const char *help);
/* A family of one unlabelled sample: its HELP, TYPE and value. */
void util_metric_one(const struct util_lines *o, const char *family, const char *type,
		     const char *help, long long v);

#endif
