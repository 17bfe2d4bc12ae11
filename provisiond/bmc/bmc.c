/* bmc.c - the dispatch layer: the public operations of bmc.h.
 *
 * Every operation: check arguments and the target (validate.c), check the driver has
 * the slot (else "unsupported"), take the BMC's turn and pass its breaker
 * (manager.c), then run driver calls (call.c) with retries, and for power changes
 * confirm the result by polling.
 *
 * Sessions: one driver instance per operation. The operation opens it on first use,
 * reuses it for its command and confirmation polls, drops it after a transient error
 * (the next attempt opens a fresh one) and closes it at the end. No session outlives
 * an operation, so there are no idle sessions to expire (an IPMI session opens in
 * 1-3 ms, while BMCs drop idle ones after ~30-60 s and hold few session slots). */
#include <stdio.h>
#include <string.h>

#include "provisiond/bmc/backoff.h"
#include "provisiond/bmc/manager.h"
#include "provisiond/bmc/options.h"

struct op {
	struct bmc_session s;
	json_t *opts;
	char label[300];
	long long t0;
	enum bmc_op_kind kind;
	uint64_t rng;
};

static bool transient(enum bmc_status st)
{
	return st == BMC_ERR_TIMEOUT || st == BMC_ERR_BUSY;
}

static void append_note(struct bmc_error *e, const char *note)
{
	size_t n = strlen(e->message);

	if (n < sizeof(e->message) - 1)
		snprintf(e->message + n, sizeof(e->message) - n, "%s", note);
}

static void make_label(const struct bmc_target *t, char *buf, size_t len)
{
	if (t->address != NULL && t->address[0] != '\0')
		snprintf(buf, len, "%s", t->address);
	else
		snprintf(buf, len, "%s://%s", t->driver, t->key);
}

static enum bmc_status check_caps(const struct bmc_driver *d, unsigned need, const char *what,
				  struct bmc_error *e)
{
	if ((bmc_driver_caps_of(d) & need) == need)
		return BMC_OK;
	return bmc_error_set(e, BMC_ERR_UNSUPPORTED, NULL, "driver %s does not support %s", d->name,
			     what);
}

static enum bmc_status op_begin(struct op *o, struct bmc_manager *m, const struct bmc_target *t,
				enum bmc_op_kind k, struct bmc_error *e)
{
	struct bmc_session *s = &o->s;
	const struct bmc_driver *d;
	long long tmo;
	enum bmc_status st;

	memset(o, 0, sizeof(*o));
	o->kind = k;
	o->t0 = util_now_ms();
	o->rng = bmc_backoff_seed();
	s->m = m;
	s->t = t;
	s->drv_index = -1;
	if (m == NULL || t == NULL)
		return bmc_error_set(e, BMC_ERR_INVALID, NULL, "no BMC manager or target");
	st = bmc_prepare(t, &d, &o->opts, e);
	if (st != BMC_OK)
		return st;
	if (t->key == NULL || t->key[0] == '\0')
		return bmc_error_set(e, BMC_ERR_INVALID, "bmc.key", "required (the machine id)");
	s->drv = d;
	s->drv_index = bmc_driver_index(d);
	s->opts = o->opts;
	make_label(t, o->label, sizeof(o->label));
	s->label = o->label;
	bmc_opt_int(o->opts, "timeout_ms", 1, 600000, m->lim.call_timeout_ms, &tmo, e);
	s->timeout_ms = (int)tmo;
	s->queue_deadline = o->t0 + m->lim.queue_timeout_ms;
	return BMC_OK;
}

static void close_inst(struct bmc_session *s)
{
	if (s->inst != NULL && s->drv->close != NULL)
		s->drv->close(s->inst);
	s->inst = NULL;
}

static enum bmc_status op_end(struct op *o, enum bmc_status st, const struct bmc_error *e)
{
	struct bmc_session *s = &o->s;

	close_inst(s);
	if (s->entry != NULL) {
		bmc_entry_finish(s, e);
		if (!s->entry_given_away)
			bmc_entry_unbusy(s->m, s->entry);
	}
	if (s->drv_index >= 0)
		bmc_metrics_op(s->m, s->drv_index, o->kind, st, util_now_ms() - o->t0);
	json_decref(o->opts);
	return st;
}

/* One attempt: open a session if there is none, then the call. *in_command tells
 * whether the failure (if any) came from the command rather than the open. */
static enum bmc_status attempt(struct bmc_session *s, struct bmc_call_args *a, bool *in_command,
			       struct bmc_error *e)
{
	enum bmc_status st;

	*in_command = false;
	if (s->inst == NULL) {
		struct bmc_call_args open = {.kind = BMC_CALL_OPEN};
		st = bmc_call(s, &open, e);
		a->ran = open.ran;
		if (st != BMC_OK)
			return st;
	}
	*in_command = true;
	st = bmc_call(s, a, e);
	if (transient(st))
		close_inst(s); /* the session may be broken: start afresh */
	return st;
}

/* resend: whether the command may be sent again after a timeout, when it may have
 * reached the BMC. A BMC that answered "busy" did not act, so that is always safe. */
static enum bmc_status with_retries(struct op *o, struct bmc_call_args *a, bool resend,
				    struct bmc_error *e)
{
	struct bmc_session *s = &o->s;
	const struct bmc_limits *l = &s->m->lim;
	bool in_command;

	for (int i = 0;; i++) {
		enum bmc_status st = attempt(s, a, &in_command, e);
		if (st == BMC_OK || !transient(st) || !a->ran || s->entry_given_away)
			return st;
		if (in_command && !resend && st == BMC_ERR_TIMEOUT) {
			append_note(e, " (not resent: it may have reached the BMC)");
			return st;
		}
		if (i >= l->retries)
			return st;
		bmc_metrics_retry(s->m, s->drv_index);
		util_sleep_ms(bmc_backoff_ms(i, l->retry_base_ms, l->retry_max_ms, &o->rng));
	}
}

static enum bmc_status confirm_failed(struct op *o, enum bmc_status st, enum bmc_power_state seen,
				      enum bmc_power_action a, enum bmc_power_state want,
				      struct bmc_error *e)
{
	char last[sizeof(e->message)];
	int ms = o->s.m->lim.confirm_timeout_ms;

	if (st == BMC_OK) /* it answers, and accepted the action: the machine did not follow */
		return bmc_error_set(
		    e, BMC_ERR_TIMEOUT, NULL,
		    "BMC at %s accepted '%s' but the power never reached %s: still "
		    "%s after %d ms",
		    o->s.label, bmc_power_action_name(a), bmc_power_state_name(want),
		    bmc_power_state_name(seen), ms);
	snprintf(last, sizeof(last), "%s", e->message);
	return bmc_error_set(e, BMC_ERR_TIMEOUT, NULL,
			     "power %s after '%s' not confirmed within %d ms; last error: %s",
			     bmc_power_state_name(want), bmc_power_action_name(a), ms, last);
}

/* Polls power_get until want or the confirm deadline. Transient errors are polled
 * through; others end the wait at once (a paused VM, a password changed meanwhile). */
static enum bmc_status confirm(struct op *o, enum bmc_power_action a, enum bmc_power_state want,
			       struct bmc_error *e)
{
	struct bmc_session *s = &o->s;
	int poll = s->m->lim.confirm_poll_ms;
	long long deadline = util_now_ms() + s->m->lim.confirm_timeout_ms;
	struct bmc_call_args g;
	enum bmc_status st;
	bool in_command;

	/* A BMC may still report "on" for a moment after accepting a cycle. */
	if (a == BMC_POWER_ACTION_CYCLE && !(bmc_driver_caps_of(s->drv) & BMC_CAP_CYCLE_AT_ONCE))
		util_sleep_ms(poll < s->m->lim.confirm_timeout_ms ? poll : 0);
	for (;;) {
		g = (struct bmc_call_args){.kind = BMC_CALL_POWER_GET};
		st = attempt(s, &g, &in_command, e);
		if (st == BMC_OK && g.power == want)
			return BMC_OK;
		if (st != BMC_OK && (!transient(st) || s->entry_given_away || !g.ran))
			return st;
		if (util_now_ms() + poll > deadline)
			return confirm_failed(o, st, g.power, a, want, e);
		util_sleep_ms(poll);
	}
}

static enum bmc_status do_power_set(struct op *o, enum bmc_power_action a, struct bmc_error *e)
{
	enum bmc_power_state want = (a == BMC_POWER_ACTION_OFF || a == BMC_POWER_ACTION_SOFT_OFF)
					? BMC_POWER_OFF
					: BMC_POWER_ON;
	struct bmc_call_args c = {.kind = BMC_CALL_POWER_SET, .action = a};
	enum bmc_status st;

	/* cycle/reset of an off machine means "start it"; soft of an off one, nothing.
	 * Both are refused or ignored by many BMCs, so the layer decides, uniformly. */
	if (a == BMC_POWER_ACTION_CYCLE || a == BMC_POWER_ACTION_RESET ||
	    a == BMC_POWER_ACTION_SOFT_OFF) {
		struct bmc_call_args g = {.kind = BMC_CALL_POWER_GET};
		st = with_retries(o, &g, true, e);
		if (st != BMC_OK)
			return st;
		if (g.power == BMC_POWER_OFF && a == BMC_POWER_ACTION_SOFT_OFF)
			return BMC_OK;
		if (g.power == BMC_POWER_OFF)
			c.action = BMC_POWER_ACTION_ON;
	}
	st = with_retries(o, &c,
			  c.action == BMC_POWER_ACTION_ON || c.action == BMC_POWER_ACTION_OFF, e);
	if (st != BMC_OK)
		return st;
	return confirm(o, c.action, want, e);
}

enum bmc_status bmc_power_get(struct bmc_manager *m, const struct bmc_target *t,
			      enum bmc_power_state *out, struct bmc_error *e)
{
	struct bmc_error local;
	struct bmc_call_args a = {.kind = BMC_CALL_POWER_GET};
	struct op o;
	enum bmc_status st;

	if (e == NULL)
		e = &local;
	bmc_error_clear(e);
	st = op_begin(&o, m, t, BMC_OP_POWER_GET, e);
	if (st == BMC_OK && out == NULL)
		st = bmc_error_set(e, BMC_ERR_INVALID, NULL, "power_get: no place for the result");
	if (st == BMC_OK)
		st = check_caps(o.s.drv, BMC_CAP_POWER_GET, "power_get", e);
	if (st == BMC_OK)
		st = bmc_entry_acquire(&o.s, e);
	if (st == BMC_OK)
		st = with_retries(&o, &a, true, e);
	if (st == BMC_OK)
		*out = a.power;
	return op_end(&o, st, e);
}

enum bmc_status bmc_power_set(struct bmc_manager *m, const struct bmc_target *t,
			      enum bmc_power_action a, struct bmc_error *e)
{
	struct bmc_error local;
	struct op o;
	enum bmc_status st;
	unsigned need = BMC_CAP_POWER_SET | BMC_CAP_POWER_GET;

	if (e == NULL)
		e = &local;
	bmc_error_clear(e);
	st = op_begin(&o, m, t, BMC_OP_POWER_SET, e);
	if (st == BMC_OK && (unsigned)a >= BMC_POWER_ACTION__COUNT)
		st =
		    bmc_error_set(e, BMC_ERR_INVALID, NULL, "power_set: unknown action %d", (int)a);
	if (st == BMC_OK && a == BMC_POWER_ACTION_SOFT_OFF)
		need |= BMC_CAP_SOFT_OFF;
	if (st == BMC_OK)
		st = check_caps(o.s.drv, need,
				a == BMC_POWER_ACTION_SOFT_OFF ? "soft power off" : "power_set", e);
	if (st == BMC_OK)
		st = bmc_entry_acquire(&o.s, e);
	if (st == BMC_OK)
		st = do_power_set(&o, a, e);
	return op_end(&o, st, e);
}

enum bmc_status bmc_boot_set(struct bmc_manager *m, const struct bmc_target *t,
			     enum bmc_boot_device d, bool persistent, struct bmc_error *e)
{
	struct bmc_error local;
	struct bmc_call_args a = {.kind = BMC_CALL_BOOT_SET, .device = d, .persistent = persistent};
	struct op o;
	enum bmc_status st;

	if (e == NULL)
		e = &local;
	bmc_error_clear(e);
	st = op_begin(&o, m, t, BMC_OP_BOOT_SET, e);
	if (st == BMC_OK && (unsigned)d >= BMC_BOOT_DEVICE__COUNT)
		st = bmc_error_set(e, BMC_ERR_INVALID, NULL, "boot_set: unknown device %d", (int)d);
	if (st == BMC_OK)
		st = check_caps(o.s.drv, persistent ? BMC_CAP_BOOT_PERSISTENT : BMC_CAP_BOOT_NEXT,
				persistent ? "a persistent boot device"
					   : "a next-boot-only boot device (use persistent)",
				e);
	if (st == BMC_OK)
		st = bmc_entry_acquire(&o.s, e);
	if (st == BMC_OK)
		st = with_retries(&o, &a, true, e);
	return op_end(&o, st, e);
}

/* insert and eject share everything but the call. */
static enum bmc_status media_op(struct bmc_manager *m, const struct bmc_target *t,
				struct bmc_call_args *a, enum bmc_op_kind k, struct bmc_error *e)
{
	struct bmc_error local;
	struct op o;
	enum bmc_status st;

	if (e == NULL)
		e = &local;
	bmc_error_clear(e);
	st = op_begin(&o, m, t, k, e);
	if (st == BMC_OK && k == BMC_OP_MEDIA_INSERT &&
	    (a->url == NULL || strlen(a->url) > 1000 ||
	     (strncmp(a->url, "http://", 7) != 0 && strncmp(a->url, "https://", 8) != 0)))
		st = bmc_error_set(e, BMC_ERR_INVALID, NULL,
				   "media_insert: the image URL must be http(s)://, at most 1000 "
				   "bytes");
	if (st == BMC_OK)
		st = check_caps(o.s.drv, BMC_CAP_VMEDIA, "virtual media", e);
	if (st == BMC_OK)
		st = bmc_entry_acquire(&o.s, e);
	if (st == BMC_OK)
		st = with_retries(&o, a, true, e);
	return op_end(&o, st, e);
}

enum bmc_status bmc_media_insert(struct bmc_manager *m, const struct bmc_target *t, const char *url,
				 struct bmc_error *e)
{
	struct bmc_call_args a = {.kind = BMC_CALL_MEDIA_INSERT, .url = url};

	return media_op(m, t, &a, BMC_OP_MEDIA_INSERT, e);
}

enum bmc_status bmc_media_eject(struct bmc_manager *m, const struct bmc_target *t,
				struct bmc_error *e)
{
	struct bmc_call_args a = {.kind = BMC_CALL_MEDIA_EJECT};

	return media_op(m, t, &a, BMC_OP_MEDIA_EJECT, e);
}
