/* Helpers shared by the pxe library's files; not part of the public API. */
#ifndef PXE_INTERNAL_H
#define PXE_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/util.h"

/* Fills e (may be NULL) and returns status. field (NULL for none) is
 * stored up to its first space, so "range_start (dhcp-range)" names the
 * field range_start; the message is used as formatted. */
enum err_status pxe_fail(struct err *e, enum err_status status, const char *field, const char *fmt,
			 ...) __attribute__((format(printf, 4, 5)));

/* Validators. Each returns ERR_OK, or ERR_INVALID with e->field set from
 * `field` and a message that starts with `field`. A NULL or empty value is
 * "is required". */

/* Every byte is an ASCII letter, digit or one of `extra`; 1..maxlen bytes. */
enum err_status pxe_check_chars(const char *field, const char *v, const char *extra, size_t maxlen,
				struct err *e);
/* Printable ASCII (no control bytes) without any of `banned`. */
enum err_status pxe_check_printable(const char *field, const char *v, const char *banned,
				    size_t maxlen, struct err *e);
/* http(s)://HOST[:PORT][/PATH] in a conservative URL character set. */
enum err_status pxe_check_url(const char *field, const char *v, struct err *e);
/* Dotted-quad IPv4; the address in host order goes to *out when non-NULL. */
enum err_status pxe_check_ipv4(const char *field, const char *v, uint32_t *out, struct err *e);
/* Absolute path without whitespace, ',', '#', quotes or '$'. */
enum err_status pxe_check_path(const char *field, const char *v, struct err *e);
/* A Linux interface name (1..15 bytes of [A-Za-z0-9._-]). */
enum err_status pxe_check_ifname(const char *field, const char *v, struct err *e);
/* A DNS label: [A-Za-z0-9-], 1..63, no leading or trailing '-'. */
enum err_status pxe_check_label(const char *field, const char *v, struct err *e);

/* Replaces path with data atomically: a hidden temp file ".NAME.XXXXXX" in
 * the same directory (ignored by dnsmasq's inotify), fsync, rename, fsync of
 * the directory. Mode 0644. ERR_OK or ERR_IO. */
enum err_status pxe_write_atomic(const char *path, const void *data, size_t len, struct err *e);

/* Child processes (spawn.c). */
struct pxe_spawn {
	char *const *argv;	 /* argv[0] is the program's path */
	const char *output_path; /* stdout+stderr appended here; NULL -> /dev/null */
	int output_fd;		 /* used instead of output_path when >= 0 */
	bool own_session;	 /* setpgid(0, 0) and PR_SET_PDEATHSIG(SIGTERM) */
};
/* fork + exec with a clean signal state and only fds 0-2 open. ERR_OK with
 * *pid set once exec has succeeded, else ERR_IO. */
enum err_status pxe_spawn(const struct pxe_spawn *s, pid_t *pid, struct err *e);
/* malloc'd path of an executable: $PATH, then /usr/sbin and /sbin. */
char *pxe_find_program(const char *name);

struct pxe_script_params;
struct util_buf;
/* The agent's kernel arguments for p (AGENT or DISCOVER), each with a leading
 * space: provisiond.url= ... console=ttyS0,115200n8 [extra_args] (script.c).
 * p must have passed pxe_check_script_params. */
void pxe_agent_args(struct util_buf *b, const struct pxe_script_params *p);
/* Every check of pxe_render_script on p (script.c). */
enum err_status pxe_check_script_params(const struct pxe_script_params *p, struct err *e);

/* Length of url without trailing '/' characters. */
size_t pxe_url_base_len(const char *url);

#endif
