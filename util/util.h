/* util.h - the small helpers every module shares: array sizes, the error
 * shape used at module boundaries, clocks, growable buffers and jittered
 * backoff.
 *
 * util/ depends on libc only, so the deploy agent links it too (it is not
 * daemon code). Nothing here allocates unless its comment says so; every
 * function is thread-safe unless its comment says otherwise. */
#ifndef PROVISIOND_UTIL_H
#define PROVISIOND_UTIL_H

#include <stdarg.h>
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

#endif
