/* api_console.c - GET /v1/machines/{id}/console: the last bytes of a machine's
 * serial console as text, by offsets of its console stream (docs/api.md). */
#include "provisiond/routes.h"
#include "provisiond/console/console.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

/* ?after=OFFSET: a byte offset (0 .. 2^53, so JavaScript clients keep it exact). */
static bool parse_after(struct http_req *r, bool *has, uint64_t *after)
{
	const char *s = http_arg(r, "after");
	char *end = NULL;

	*has = s != NULL;
	if (s == NULL)
		return true;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (*s < '0' || *s > '9' || *end || errno || v > (1ULL << 53)) {
		http_error(r, 400, "invalid_value", "after",
			   "after must be a byte offset (a whole number, 0 or more)");
		return false;
	}
	*after = v;
	return true;
}

static bool parse_wait(struct http_req *r, int max_s, int *wait_s)
{
	const char *w = http_arg(r, "wait");
	char *end = NULL;
	long v = w ? strtol(w, &end, 10) : 0;

	if (w && (!*w || *end || v < 0 || v > max_s)) {
		http_error(r, 400, "invalid_value", "wait", "wait must be 0..%d seconds", max_s);
		return false;
	}
	*wait_s = (int)v;
	return true;
}

static json_t *console_json(const char *machine_id, const struct con_view *v)
{
	return json_pack("{s:s, s:I, s:I, s:s, s:b, s:b}", "machine", machine_id, "start",
			 (json_int_t)v->start, "end", (json_int_t)v->end, "data", v->text,
			 "truncated", v->truncated, "capturing", v->capturing);
}

void api_machine_console(struct api_call *c)
{
	struct http_req *r = c->r;
	struct app *a = c->a;
	struct inv_machine m = {0};
	struct con_view v = {0};
	bool has_after, polling = false;
	uint64_t after = 0;
	int wait_s;

	if (!parse_after(r, &has_after, &after) || !parse_wait(r, a->cfg.long_poll_max_s, &wait_s))
		return;
	if (!api_load_machine(c, r->params[0], &m))
		return;
	if (wait_s > 0) { /* a long-poll holds a worker: keep half of them for the rest */
		polling = atomic_fetch_add(&a->long_polls, 1) < a->cfg.api_workers / 2;
		if (!polling) {
			atomic_fetch_sub(&a->long_polls, 1);
			http_error(r, 503, "overloaded", "wait",
				   "too many long-polls in flight; retry after a second");
			snprintf(r->retry_after, sizeof r->retry_after, "1");
			inv_machine_clear(&m);
			return;
		}
	}
	if (con_read(a->console, m.id, has_after, after, wait_s * 1000, &a->draining, &v) != 0)
		http_error(r, 500, "internal", NULL, "out of memory reading the console");
	else
		api_json(r, 200, console_json(m.id, &v));
	if (polling)
		atomic_fetch_sub(&a->long_polls, 1);
	free(v.text);
	inv_machine_clear(&m);
}
