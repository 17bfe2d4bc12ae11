/* err.c — the agent's one error type: a code plus a human message. */
#include "agent.h"

#include <stdio.h>
#include <string.h>

enum agent_rc agent_fail(struct agent_err *err, enum agent_rc rc, const char *fmt, ...)
{
	if (!err)
		return rc;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	err->rc = rc;
	return rc;
}

enum agent_rc agent_err_prefix(struct agent_err *err, const char *fmt, ...)
{
	if (!err)
		return AGENT_E_IO;
	char prefix[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix) - 2, fmt, ap);
	va_end(ap);
	size_t p = strlen(prefix);
	memcpy(prefix + p, ": ", 3);
	p += 2;
	size_t cap = sizeof(err->msg) - 1;
	if (p > cap)
		p = cap;
	size_t old = strnlen(err->msg, cap);
	if (old > cap - p)
		old = cap - p;
	memmove(err->msg + p, err->msg, old);
	memcpy(err->msg, prefix, p);
	err->msg[p + old] = '\0';
	return err->rc;
}

static const char *const rc_names[] = {
    [AGENT_OK] = "ok",		 [AGENT_E_USAGE] = "usage",  [AGENT_E_IO] = "io",
    [AGENT_E_NET] = "network",	 [AGENT_E_HTTP] = "refused", [AGENT_E_PROTO] = "protocol",
    [AGENT_E_VERIFY] = "verify", [AGENT_E_NOMEM] = "nomem",
};
_Static_assert(sizeof(rc_names) / sizeof(rc_names[0]) == AGENT_E_NOMEM + 1,
	       "rc_names must cover enum agent_rc");

const char *agent_rc_name(enum agent_rc rc)
{
	if ((unsigned)rc < sizeof(rc_names) / sizeof(rc_names[0]))
		return rc_names[rc];
	return "unknown";
}
