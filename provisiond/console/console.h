/* console.h - serial console capture: the last N KiB of each machine's console,
 * kept in memory and served by GET /v1/machines/{id}/console (docs/api.md).
 *
 * Three parts:
 *  - a ring (ring.c): one machine's console as a byte stream with monotonic
 *    offsets, of which the last `capacity` bytes are kept;
 *  - text (text.c): bytes of the console -> text a JSON string can carry (valid
 *    UTF-8, no control characters but newline and tab, no terminal escapes);
 *  - the manager (capture.c): one capture session (a thread reading the BMC's
 *    console through bmc_console_*) per machine the lifecycle wants captured, at
 *    most max_sessions at once, and the rings of at most max_buffers machines.
 *
 * Nothing is persisted: a restart starts every ring empty at offset 0.
 * Thread-safety: the manager's functions may be called from any thread; a ring
 * is not thread-safe by itself (the manager locks around it). */
#ifndef PROVISIOND_CONSOLE_CONSOLE_H
#define PROVISIOND_CONSOLE_CONSOLE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bmc_manager;
struct bmc_target;

/* ------------------------------------------------------------------ ring */

struct con_ring {
	unsigned char *buf;
	size_t cap;   /* bytes kept at most */
	uint64_t end; /* offset after the last byte written (bytes ever written) */
};

/* Allocates the buffer; -1 when out of memory or cap is 0. */
int con_ring_init(struct con_ring *r, size_t cap);
/* Frees the buffer; accepts a ring never initialised (zeroed). */
void con_ring_free(struct con_ring *r);
/* Appends n bytes; older bytes beyond the capacity are dropped. */
void con_ring_append(struct con_ring *r, const void *data, size_t n);
/* Offset of the oldest byte kept. */
uint64_t con_ring_start(const struct con_ring *r);

/* What a reader gets: the bytes [start, end) of the stream. */
struct con_slice {
	uint64_t start, end;
	bool truncated; /* bytes after `after` were dropped before they could be read */
};
/* Copies the bytes after offset `after` (all kept bytes when after is below the
 * oldest kept one, or when has_after is false; none when after >= end) into out,
 * at most len of them, the oldest first. An after beyond the end (a client of a
 * daemon that restarted) reads from the oldest byte kept. Returns the number of
 * bytes copied; *s tells which. */
size_t con_ring_read(const struct con_ring *r, bool has_after, uint64_t after, void *out,
		     size_t len, struct con_slice *s);

/* ------------------------------------------------------------------ text */

/* Console bytes -> text (malloc'd, NUL-terminated; NULL when out of memory):
 * valid UTF-8 kept, each invalid byte becomes U+FFFD, CR and NUL dropped, other
 * C0/C1 controls but newline and tab dropped, terminal escape sequences (ESC [
 * ... final byte, ESC ] ... BEL/ST, ESC + one byte) dropped. */
char *con_text(const void *data, size_t n);

/* ------------------------------------------------------------------ mask */

/* Boot tokens on the console: the iPXE script and the kernel print the kernel
 * command line, and with it provisiond.token=<secret> (tok_new_secret: "pvd_" and
 * 64 hex digits). What the capture stores has the value after each "token=" (up
 * to a blank, a quote or a control byte) replaced by "***". The state carries a
 * match across reads, so a token cut by a read's edge is masked too. */
struct con_mask {
	unsigned char matched; /* bytes of "token=" matched so far */
	bool in_value;	       /* inside a value, "***" already written */
};
/* Bytes con_mask_apply may write for n bytes in. */
#define CON_MASK_OUT(n) ((n)*3 + 3)
/* Filters n bytes of in into out (room for CON_MASK_OUT(n)); returns the bytes
 * written. */
size_t con_mask_apply(struct con_mask *st, const void *in, size_t n, void *out);

/* --------------------------------------------------------------- manager */

struct con_limits {
	int buffer_kib;	   /* bytes kept per machine, in KiB */
	int max_sessions;  /* capture sessions at once; 0 turns capture off */
	int max_buffers;   /* machines whose rings are kept */
	int read_ms;	   /* a session's read slice (stop latency) */
	int check_ms;	   /* how often a session asks `wanted` */
	int reopen_min_ms; /* backoff after a failed open or an ended console */
	int reopen_max_ms; /*   doubling up to this */
};
void con_limits_default(struct con_limits *l);

struct con_manager;

/* wanted(arg, machine_id): whether the machine is still in a state whose console
 * is captured (asked by each session every check_ms, so a machine taken out by
 * another path than the lifecycle's steps stops too). Called without locks, from
 * session threads. Returns NULL when out of memory or l is invalid. */
struct con_manager *con_manager_new(struct bmc_manager *bmc, const struct con_limits *l,
				    bool (*wanted)(void *arg, const char *machine_id), void *arg);
/* Stops every session (within about read_ms) and frees. Accepts NULL. */
void con_manager_free(struct con_manager *m);

/* The lifecycle's hook: t non-NULL asks for machine_id's console to be captured
 * through that BMC (a session starts unless one runs, or max_sessions run: then
 * it is refused, counted and logged, and asked again at the machine's next step);
 * t NULL stops its capture. t is copied (its password too, wiped when the
 * session ends). Never blocks on I/O. */
void con_capture(struct con_manager *m, const char *machine_id, const struct bmc_target *t);

/* One read of a machine's console for the API. */
struct con_view {
	uint64_t start, end;
	bool truncated;
	bool capturing; /* a session runs now */
	char *text;	/* con_text of the bytes; the caller frees */
};
/* Reads the bytes after `after` (see con_ring_read); when there are none yet and
 * wait_ms > 0, waits for some until wait_ms passes or *stop becomes true (checked
 * every second; NULL: never). A machine with nothing captured reads as empty at
 * offsets 0. Returns 0, or -1 when out of memory. */
int con_read(struct con_manager *m, const char *machine_id, bool has_after, uint64_t after,
	     int wait_ms, const atomic_bool *stop, struct con_view *v);

/* Prometheus lines (HELP, TYPE, samples), one per call of emit. */
void con_metrics(struct con_manager *m, void (*emit)(void *ctx, const char *line), void *ctx);

#endif
