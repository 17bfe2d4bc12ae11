/* rollout_write.c - the writes of staged image rollouts: creation (the
 * API's) and the engine's moves (record outcomes, start a wave, finish).
 * Each move first compare-and-swaps the rollout's row on the state and
 * wave the caller read, so a move made twice (two replicas, a pass
 * repeated after a crash) applies once. */
#include "inventory/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Free text for an audit row's JSON string: quotes, backslashes and
 * control characters become spaces. */
static void json_safe(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src ? src : "");
	for (char *p = dst; *p; p++)
		if (*p == '"' || *p == '\\' || (unsigned char)*p < 0x20)
			*p = ' ';
}

struct create_ctx {
	const struct inv_rollout_new *n;
	char id[INV_ID_LEN];
};

/* A rollout of allocation id still open: INV_CONFLICT on "rebuild". */
static enum inv_status check_none_open(struct inv_conn *c, const char *id, struct inv_err *err)
{
	struct inv_q *st = inv_stmt(c, SQL_ROLLOUT_OPEN_OF, err);
	if (!st)
		return INV_IO;
	inv_bind_text(st, ":alloc", id);
	inv_rollout_bind_open(st);
	bool row;
	enum inv_status s = inv_step(st, &row, "find open rollouts", err);
	int64_t open = s == INV_OK && row ? inv_col_int64(st, 0) : 0;
	inv_stmt_done(st);
	if (s == INV_OK && open > 0)
		return inv_fail(err, INV_CONFLICT, "rebuild",
				"a rollout of allocation %s is running (POST .../rebuild/cancel "
				"stops it)",
				id);
	return s;
}

/* The allocation may be rebuilt: no open rollout (checked first: while
 * one runs, its machines are down and the allocation may be busy because
 * of it), ready, every attached machine active, and not every machine on
 * the image already. *nm gets the attached machines. */
static enum inv_status check_alloc(struct inv_conn *c, const struct inv_rollout_new *n,
				   const struct inv_allocation *al, int *nm, struct inv_err *err)
{
	enum inv_status s = check_none_open(c, al->id, err);
	if (s != INV_OK)
		return s;
	if (al->state != INV_AL_READY)
		return inv_fail(err, INV_CONFLICT, "state",
				"allocation %s is %s: only a ready allocation can be rebuilt",
				al->id, inv_alloc_state_name(al->state));
	bool all_on = true;
	*nm = 0;
	for (size_t i = 0; i < al->nmachines; i++) {
		const struct inv_alloc_machine *m = &al->machines[i];
		if (m->detached)
			continue;
		if (m->state != INV_ST_ACTIVE)
			return inv_fail(err, INV_CONFLICT, "machines",
					"machine %s of allocation %s is %s, not active", m->name,
					al->id, inv_state_name(m->state));
		all_on = all_on && strcmp(m->image[0] ? m->image : al->image, n->image) == 0;
		(*nm)++;
	}
	if (*nm == 0)
		return inv_fail(err, INV_CONFLICT, "machines", "allocation %s has no machine left",
				al->id);
	if (all_on)
		return inv_fail(err, INV_INVALID, "image",
				"every machine of allocation %s runs image '%s' already", al->id,
				n->image);
	return INV_OK;
}

static enum inv_status insert_rollout(struct inv_conn *c, struct create_ctx *x,
				      const struct inv_allocation *al, struct inv_err *err)
{
	const struct inv_rollout_new *n = x->n;
	char waves[INV_ROLLOUT_MAX_WAVES * 9] = "";
	for (int i = 0; i < n->nwaves; i++) {
		size_t used = strlen(waves);
		snprintf(waves + used, sizeof waves - used, "%s%.7s", i ? "," : "", n->waves[i]);
	}
	struct inv_q *st = inv_stmt(c, SQL_ROLLOUT_INSERT, err);
	if (!st)
		return INV_IO;
	inv_bind_text(st, ":id", x->id);
	inv_bind_text(st, ":alloc", al->id);
	inv_bind_text(st, ":image", n->image);
	inv_bind_text(st, ":old_image", al->image);
	inv_bind_text(st, ":waves", waves);
	inv_bind_int(st, ":max_failures", n->max_failures);
	inv_bind_text(st, ":state", inv_rollout_state_name(INV_RO_RUNNING));
	inv_bind_text(st, ":actor", n->actor);
	inv_bind_text(st, ":request_id", n->request_id ? n->request_id : "");
	inv_bind_int(st, ":now", inv_now_ms());
	enum inv_status s = inv_exec_done(st, "insert rollout", err);
	char after[640];
	snprintf(after, sizeof after,
		 "{\"rollout\":\"%s\",\"image\":\"%s\",\"old_image\":\"%s\",\"waves\":\"%s\","
		 "\"max_failures\":%d}",
		 x->id, n->image, al->image, waves, n->max_failures);
	if (s == INV_OK)
		s = inv_audit_row(c, n->actor, "rollout.create", "allocation", al->id, NULL, after,
				  n->request_id ? n->request_id : "", err);
	return s;
}

/* Machine i of the attached ones goes to the first wave whose total
 * exceeds i. */
static enum inv_status insert_machines(struct inv_conn *c, const char *id,
				       const struct inv_allocation *al, const int *cum,
				       struct inv_err *err)
{
	enum inv_status s = INV_OK;
	int i = 0, wave = 0;
	for (size_t k = 0; s == INV_OK && k < al->nmachines; k++) {
		if (al->machines[k].detached)
			continue;
		while (cum[wave] <= i)
			wave++;
		struct inv_q *st = inv_stmt(c, SQL_ROLLOUT_MACHINE_INSERT, err);
		if (!st)
			return INV_IO;
		inv_bind_text(st, ":id", id);
		inv_bind_text(st, ":machine", al->machines[k].id);
		inv_bind_int(st, ":wave", wave);
		inv_bind_text(st, ":state", inv_rollout_mstate_name(INV_RM_PENDING));
		s = inv_exec_done(st, "insert rollout machine", err);
		i++;
	}
	return s;
}

static enum inv_status create_fn(struct inv_conn *c, void *arg, struct inv_err *err)
{
	struct create_ctx *x = arg;
	struct inv_allocation al = {0};
	int nm = 0, cum[INV_ROLLOUT_MAX_WAVES];
	enum inv_status s = inv_alloc_read_on(c, x->n->allocation_id, &al, err);
	if (s == INV_OK)
		s = check_alloc(c, x->n, &al, &nm, err);
	if (s == INV_OK)
		s = inv_rollout_waves(x->n->waves, x->n->nwaves, nm, cum, err);
	if (s == INV_OK)
		s = insert_rollout(c, x, &al, err);
	if (s == INV_OK)
		s = insert_machines(c, x->id, &al, cum, err);
	inv_allocation_clear(&al);
	return s;
}

enum inv_status inv_rollout_create(struct inv *inv, const struct inv_rollout_new *n,
				   struct inv_rollout *out, struct inv_err *err)
{
	struct create_ctx x = {.n = n};
	if (n->max_failures < 0)
		return inv_fail(err, INV_INVALID, "max_failures", "max_failures must be >= 0");
	inv_uuid(x.id);
	enum inv_status s = inv_write(inv, create_fn, &x, err);
	if (s == INV_OK && out)
		s = inv_rollout_get(inv, x.id, out, err);
	return s;
}

/* The rollout's row moves from r's state and wave to these values, or
 * INV_CONFLICT when it is not there any more. */
struct ro_cas {
	enum inv_rollout_state state;
	int wave;
	int64_t wave_started_at;
	int failed; /* added to failures */
	const char *reason;
	int64_t finished_at;
};

static enum inv_status rollout_cas(struct inv_conn *c, const struct inv_rollout *r,
				   const struct ro_cas *v, struct inv_err *err)
{
	struct inv_q *st = inv_stmt(c, SQL_ROLLOUT_CAS, err);
	if (!st)
		return INV_IO;
	inv_bind_text(st, ":id", r->id);
	inv_bind_text(st, ":expect_state", inv_rollout_state_name(r->state));
	inv_bind_int(st, ":expect_wave", r->wave);
	inv_bind_text(st, ":state", inv_rollout_state_name(v->state));
	inv_bind_int(st, ":wave", v->wave);
	inv_bind_int(st, ":wave_started_at", v->wave_started_at);
	inv_bind_int(st, ":failed", v->failed);
	inv_bind_text(st, ":reason", v->reason ? v->reason : r->reason);
	inv_bind_int(st, ":now", inv_now_ms());
	inv_bind_int(st, ":finished_at", v->finished_at);
	enum inv_status s = inv_exec_done(st, "update rollout", err);
	if (s == INV_OK && inv_changes(c) != 1)
		s = inv_fail(err, INV_CONFLICT, "rebuild", "rollout %s changed meanwhile", r->id);
	return s;
}

/* The same state, wave and reason as r: a move that only counts. */
static struct ro_cas same_as(const struct inv_rollout *r)
{
	return (struct ro_cas){.state = r->state,
			       .wave = r->wave,
			       .wave_started_at = r->wave_started_at,
			       .finished_at = r->finished_at};
}

static enum inv_status machine_set(struct inv_conn *c, const char *rid, const char *mid,
				   enum inv_rollout_mstate from, enum inv_rollout_mstate to,
				   const char *message, int64_t started, int64_t finished,
				   struct inv_err *err)
{
	struct inv_q *st = inv_stmt(c, SQL_ROLLOUT_MACHINE_SET, err);
	if (!st)
		return INV_IO;
	inv_bind_text(st, ":id", rid);
	inv_bind_text(st, ":machine", mid);
	inv_bind_text(st, ":expect", inv_rollout_mstate_name(from));
	inv_bind_text(st, ":state", inv_rollout_mstate_name(to));
	inv_bind_text(st, ":message", message ? message : "");
	inv_bind_int(st, ":started_at", started);
	inv_bind_int(st, ":finished_at", finished);
	enum inv_status s = inv_exec_done(st, "update rollout machine", err);
	if (s == INV_OK && inv_changes(c) != 1)
		s = inv_fail(err, INV_CONFLICT, "rebuild", "machine %s of rollout %s changed", mid,
			     rid);
	return s;
}

static int64_t started_of(const struct inv_rollout *r, const char *mid)
{
	for (size_t i = 0; i < r->nmachines; i++)
		if (strcmp(r->machines[i].id, mid) == 0)
			return r->machines[i].started_at;
	return 0;
}

struct record_ctx {
	const struct inv_rollout *r;
	const struct inv_rollout_outcome *o;
	int n;
};

static enum inv_status record_fn(struct inv_conn *c, void *arg, struct inv_err *err)
{
	struct record_ctx *x = arg;
	struct ro_cas v = same_as(x->r);
	int64_t now = inv_now_ms();
	for (int i = 0; i < x->n; i++)
		v.failed += !x->o[i].ok;
	enum inv_status s = rollout_cas(c, x->r, &v, err);
	for (int i = 0; s == INV_OK && i < x->n; i++) {
		const struct inv_rollout_outcome *o = &x->o[i];
		s = machine_set(c, x->r->id, o->machine_id, INV_RM_REIMAGING,
				o->ok ? INV_RM_DONE : INV_RM_FAILED, o->ok ? "" : o->message,
				started_of(x->r, o->machine_id), now, err);
		char msg[300], after[512];
		json_safe(msg, sizeof msg, o->ok ? "" : o->message);
		snprintf(after, sizeof after,
			 "{\"rollout\":\"%s\",\"wave\":%d,\"machine\":\"%s\",\"image\":\"%s\","
			 "\"result\":\"%s\",\"error\":\"%s\"}",
			 x->r->id, x->r->wave + 1, o->machine_id, x->r->image,
			 o->ok ? "done" : "failed", msg);
		if (s == INV_OK)
			s = inv_audit_row(c, "lifecycle", "rollout.machine", "allocation",
					  x->r->allocation_id, NULL, after, "", err);
	}
	return s;
}

enum inv_status inv_rollout_record(struct inv *inv, const struct inv_rollout *r,
				   const struct inv_rollout_outcome *o, int n, struct inv_err *err)
{
	struct record_ctx x = {r, o, n};
	return n > 0 ? inv_write(inv, record_fn, &x, err) : INV_OK;
}

/* Machine mid moves active -> deploying for the rollout (one event); false
 * in *moved when it is not active, attached and out of maintenance. */
static enum inv_status reimage(struct inv_conn *c, const struct inv_rollout *r, const char *mid,
			       int64_t now, bool *moved, struct inv_err *err)
{
	struct inv_q *st = inv_stmt(c, SQL_ROLLOUT_REIMAGE, err);
	if (!st)
		return INV_IO;
	inv_bind_text(st, ":id", mid);
	inv_bind_text(st, ":alloc", r->allocation_id);
	inv_bind_text(st, ":active", inv_state_name(INV_ST_ACTIVE));
	inv_bind_text(st, ":deploying", inv_state_name(INV_ST_DEPLOYING));
	inv_bind_int(st, ":now", now);
	enum inv_status s = inv_exec_done(st, "reimage machine", err);
	*moved = s == INV_OK && inv_changes(c) == 1;
	if (!*moved)
		return s;
	char reason[256];
	snprintf(reason, sizeof reason, "rollout %s wave %d/%d: reimaging with image %s", r->id,
		 r->wave + 2, r->nwaves, r->image);
	s = inv_event_row(c, mid, inv_state_name(INV_ST_ACTIVE), inv_state_name(INV_ST_DEPLOYING),
			  "lifecycle", reason, "", err);
	if (s == INV_OK && !(st = inv_stmt(c, SQL_ALLOC_MACHINE_IMAGE, err)))
		s = INV_IO;
	if (s == INV_OK) {
		inv_bind_text(st, ":alloc", r->allocation_id);
		inv_bind_text(st, ":machine", mid);
		inv_bind_text(st, ":image", r->image);
		s = inv_exec_done(st, "set machine image", err);
	}
	return s;
}

static enum inv_status start_wave_fn(struct inv_conn *c, void *arg, struct inv_err *err)
{
	const struct inv_rollout *r = arg;
	int wave = r->wave + 1, started = 0, failed = 0;
	int64_t now = inv_now_ms();
	enum inv_status s = INV_OK;
	for (size_t i = 0; s == INV_OK && i < r->nmachines; i++) {
		const struct inv_rollout_machine *m = &r->machines[i];
		if (m->wave != wave || m->state != INV_RM_PENDING)
			continue;
		bool moved = false;
		s = reimage(c, r, m->id, now, &moved, err);
		if (s == INV_OK)
			s = machine_set(c, r->id, m->id, INV_RM_PENDING,
					moved ? INV_RM_REIMAGING : INV_RM_FAILED,
					moved ? ""
					      : "not active (or in maintenance) when its wave "
						"started",
					now, moved ? 0 : now, err);
		started += moved;
		failed += !moved;
	}
	struct ro_cas v = same_as(r);
	v.wave = wave;
	v.wave_started_at = now;
	v.failed = failed;
	if (s == INV_OK)
		s = rollout_cas(c, r, &v, err);
	char after[256];
	snprintf(after, sizeof after,
		 "{\"rollout\":\"%s\",\"wave\":%d,\"of\":%d,\"image\":\"%s\",\"machines\":%d,"
		 "\"failed\":%d}",
		 r->id, wave + 1, r->nwaves, r->image, started, failed);
	if (s == INV_OK)
		s = inv_audit_row(c, "lifecycle", "rollout.wave", "allocation", r->allocation_id,
				  NULL, after, "", err);
	return s;
}

enum inv_status inv_rollout_start_wave(struct inv *inv, const struct inv_rollout *r,
				       struct inv_err *err)
{
	if (r->state != INV_RO_RUNNING || r->wave + 1 >= r->nwaves)
		return inv_fail(err, INV_CONFLICT, "rebuild", "rollout %s has no wave to start",
				r->id);
	return inv_write(inv, start_wave_fn, (void *)r, err);
}

struct finish_ctx {
	const struct inv_rollout *r;
	enum inv_rollout_state to;
	const char *reason, *actor, *request_id;
};

/* Completed: the image becomes the allocation's, and the machines that
 * run it no longer need their own. */
static enum inv_status adopt_image(struct inv_conn *c, const struct inv_rollout *r,
				   struct inv_err *err)
{
	struct inv_q *st = inv_stmt(c, SQL_ALLOC_SET_IMAGE, err);
	if (!st)
		return INV_IO;
	inv_bind_text(st, ":id", r->allocation_id);
	inv_bind_text(st, ":image", r->image);
	inv_bind_int(st, ":now", inv_now_ms());
	enum inv_status s = inv_exec_done(st, "set allocation image", err);
	if (s == INV_OK && !(st = inv_stmt(c, SQL_ALLOC_CLEAR_IMAGES, err)))
		s = INV_IO;
	if (s == INV_OK) {
		inv_bind_text(st, ":id", r->allocation_id);
		inv_bind_text(st, ":image", r->image);
		s = inv_exec_done(st, "clear machine images", err);
	}
	return s;
}

static enum inv_status skip_pending(struct inv_conn *c, const struct finish_ctx *x,
				    struct inv_err *err)
{
	struct inv_q *st = inv_stmt(c, SQL_ROLLOUT_SKIP_PENDING, err);
	if (!st)
		return INV_IO;
	inv_bind_text(st, ":id", x->r->id);
	inv_bind_text(st, ":skipped", inv_rollout_mstate_name(INV_RM_SKIPPED));
	inv_bind_text(st, ":pending", inv_rollout_mstate_name(INV_RM_PENDING));
	inv_bind_text(st, ":message", x->reason ? x->reason : x->r->reason);
	inv_bind_int(st, ":now", inv_now_ms());
	return inv_exec_done(st, "skip rollout machines", err);
}

static enum inv_status finish_fn(struct inv_conn *c, void *arg, struct inv_err *err)
{
	struct finish_ctx *x = arg;
	struct ro_cas v = same_as(x->r);
	v.state = x->to;
	v.reason = x->reason;
	v.finished_at = inv_rollout_open(x->to) ? 0 : inv_now_ms();
	enum inv_status s = rollout_cas(c, x->r, &v, err);
	if (s == INV_OK && x->to != INV_RO_COMPLETED)
		s = skip_pending(c, x, err);
	if (s == INV_OK && x->to == INV_RO_COMPLETED)
		s = adopt_image(c, x->r, err);
	char action[48], reason[300], after[512];
	snprintf(action, sizeof action, "rollout.%s", inv_rollout_state_name(x->to));
	json_safe(reason, sizeof reason, x->reason ? x->reason : x->r->reason);
	snprintf(after, sizeof after,
		 "{\"rollout\":\"%s\",\"state\":\"%s\",\"image\":\"%s\",\"wave\":%d,\"of\":%d,"
		 "\"failures\":%d,\"reason\":\"%s\"}",
		 x->r->id, inv_rollout_state_name(x->to), x->r->image, x->r->wave + 1, x->r->nwaves,
		 x->r->failures, reason);
	char before[96];
	snprintf(before, sizeof before, "{\"state\":\"%s\"}", inv_rollout_state_name(x->r->state));
	if (s == INV_OK)
		s = inv_audit_row(c, x->actor, action, "allocation", x->r->allocation_id, before,
				  after, x->request_id ? x->request_id : "", err);
	return s;
}

enum inv_status inv_rollout_finish(struct inv *inv, const struct inv_rollout *r,
				   enum inv_rollout_state to, const char *reason, const char *actor,
				   const char *request_id, struct inv_err *err)
{
	if (!inv_rollout_open(r->state))
		return inv_fail(err, INV_CONFLICT, "rebuild", "rollout %s is %s already", r->id,
				inv_rollout_state_name(r->state));
	struct finish_ctx x = {r, to, reason, actor, request_id};
	return inv_write(inv, finish_fn, &x, err);
}
