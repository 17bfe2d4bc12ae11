/* commands.c - the deploy agent's command queue per machine. */
#include "inventory/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void inv_command_clear(struct inv_command *c)
{
	if (!c)
		return;
	free(c->args_json);
	free(c->details_json);
	memset(c, 0, sizeof *c);
}

/* Command states, bound into the statements from this table. */
enum cmd_state { CMD_PENDING, CMD_SENT, CMD_EXTERNAL, CMD_DONE, CMD_FAILED, CMD__COUNT };
static const char *const cmd_state_names[] = {
    [CMD_PENDING] = "pending", [CMD_SENT] = "sent",	[CMD_EXTERNAL] = "external",
    [CMD_DONE] = "done",       [CMD_FAILED] = "failed",
};
_Static_assert(ARRAY_SIZE(cmd_state_names) == CMD__COUNT,
	       "cmd_state_names must cover enum cmd_state");

/* The unfinished states, as :pending, :sent and :external. */
static void bind_unfinished(struct inv_q *st)
{
	inv_bind_text(st, ":pending", cmd_state_names[CMD_PENDING]);
	inv_bind_text(st, ":sent", cmd_state_names[CMD_SENT]);
	inv_bind_text(st, ":external", cmd_state_names[CMD_EXTERNAL]);
}

/* Command reads return these columns in this order (sql_sqlite.c). */
static void read_cmd(struct inv_q *st, struct inv_command *c)
{
	memset(c, 0, sizeof *c);
	inv_col_copy(st, 0, c->id, sizeof c->id);
	inv_col_copy(st, 1, c->machine_id, sizeof c->machine_id);
	inv_col_copy(st, 2, c->name, sizeof c->name);
	c->args_json = inv_col_dup(st, 3);
	inv_col_copy(st, 4, c->state, sizeof c->state);
	inv_col_copy(st, 5, c->message, sizeof c->message);
	c->details_json = inv_col_dup(st, 6);
	c->created_at = inv_col_int64(st, 7);
	c->updated_at = inv_col_int64(st, 8);
}

struct add_ctx {
	const char *mid, *name, *args;
	bool external;
	char *id;
};

static enum inv_status add_fn(struct inv_conn *c, void *arg, struct inv_err *err)
{
	struct add_ctx *x = arg;
	int64_t now = inv_now_ms();
	struct inv_q *st = inv_stmt(c, SQL_CMD_SUPERSEDE, err);
	if (!st)
		return INV_IO;
	inv_bind_text(st, ":machine", x->mid);
	inv_bind_text(st, ":failed", cmd_state_names[CMD_FAILED]);
	inv_bind_text(st, ":message", "superseded");
	inv_bind_int(st, ":now", now);
	bind_unfinished(st);
	enum inv_status s = inv_exec_done(st, "cancel commands", err);
	if (s != INV_OK)
		return s;
	if (!(st = inv_stmt(c, SQL_CMD_INSERT, err)))
		return INV_IO;
	inv_bind_text(st, ":id", x->id);
	inv_bind_text(st, ":machine", x->mid);
	inv_bind_text(st, ":name", x->name);
	inv_bind_text(st, ":args", x->args ? x->args : "{}");
	inv_bind_text(st, ":state", cmd_state_names[x->external ? CMD_EXTERNAL : CMD_PENDING]);
	inv_bind_int(st, ":now", now);
	return inv_exec_done(st, "queue command", err);
}

enum inv_status inv_command_add(struct inv *inv, const char *machine_id, const char *name,
				const char *args_json, bool external, char id[INV_ID_LEN],
				struct inv_err *err)
{
	inv_uuid(id);
	struct add_ctx x = {machine_id, name, args_json, external, id};
	return inv_write(inv, add_fn, &x, err);
}

enum inv_status inv_command_latest(struct inv *inv, const char *machine_id, const char *name,
				   struct inv_command *out, struct inv_err *err)
{
	struct inv_conn *c = inv_reader(inv, err);
	struct inv_q *st = c ? inv_stmt(c, SQL_CMD_LATEST, err) : NULL;
	if (!st)
		return INV_IO;
	inv_bind_text(st, ":machine", machine_id);
	inv_bind_text(st, ":name", name);
	inv_command_clear(out);
	bool row;
	enum inv_status s = inv_step(st, &row, "read command", err);
	if (s == INV_OK && row)
		read_cmd(st, out);
	else if (s == INV_OK)
		s = inv_fail(err, INV_NOT_FOUND, NULL, "no %s command", name);
	inv_stmt_done(st);
	return s;
}

struct next_ctx {
	const char *mid;
	struct inv_command *out;
};

static enum inv_status next_fn(struct inv_conn *c, void *arg, struct inv_err *err)
{
	struct next_ctx *x = arg;
	struct inv_q *st = inv_stmt(c, SQL_CMD_NEXT_PENDING, err);
	if (!st)
		return INV_IO;
	inv_bind_text(st, ":machine", x->mid);
	inv_bind_text(st, ":pending", cmd_state_names[CMD_PENDING]);
	bool row;
	enum inv_status s = inv_step(st, &row, "read command", err);
	if (s == INV_OK && row)
		read_cmd(st, x->out);
	inv_stmt_done(st);
	if (s != INV_OK)
		return s;
	if (!row)
		return inv_fail(err, INV_NOT_FOUND, NULL, "no pending command");
	if (!(st = inv_stmt(c, SQL_CMD_SET_STATE, err)))
		return INV_IO;
	inv_bind_text(st, ":id", x->out->id);
	inv_bind_text(st, ":state", cmd_state_names[CMD_SENT]);
	inv_bind_int(st, ":now", inv_now_ms());
	snprintf(x->out->state, sizeof x->out->state, "%s", cmd_state_names[CMD_SENT]);
	return inv_exec_done(st, "mark command sent", err);
}

enum inv_status inv_command_next(struct inv *inv, const char *machine_id, struct inv_command *out,
				 struct inv_err *err)
{
	inv_command_clear(out);
	/* Most calls find nothing (agents poll): a read answers those without
	 * queueing on the writer, which then re-checks under its lock. */
	struct inv_conn *rc = inv_reader(inv, err);
	struct inv_q *st = rc ? inv_stmt(rc, SQL_CMD_NEXT_PENDING, err) : NULL;
	if (!st)
		return INV_IO;
	inv_bind_text(st, ":machine", machine_id);
	inv_bind_text(st, ":pending", cmd_state_names[CMD_PENDING]);
	bool row = false;
	enum inv_status s = inv_step(st, &row, "read command", err);
	inv_stmt_done(st);
	if (s != INV_OK)
		return s;
	if (!row)
		return inv_fail(err, INV_NOT_FOUND, NULL, "no pending command");
	struct next_ctx x = {machine_id, out};
	s = inv_write(inv, next_fn, &x, err);
	if (s != INV_OK)
		inv_command_clear(out);
	return s;
}

struct finish_ctx {
	const char *mid, *id, *name, *message, *details;
	bool ok;
};

static enum inv_status finish_fn(struct inv_conn *c, void *arg, struct inv_err *err)
{
	struct finish_ctx *x = arg;
	int64_t now = inv_now_ms();
	struct inv_q *st = inv_stmt(c, SQL_CMD_FINISH, err);
	if (!st)
		return INV_IO;
	inv_bind_text(st, ":machine", x->mid);
	inv_bind_text(st, ":id", x->id);
	inv_bind_text(st, ":name", x->name);
	inv_bind_text(st, ":state", cmd_state_names[x->ok ? CMD_DONE : CMD_FAILED]);
	inv_bind_text(st, ":message", x->message ? x->message : "");
	inv_bind_text(st, ":details", x->details);
	inv_bind_int(st, ":now", now);
	bind_unfinished(st);
	enum inv_status s = inv_exec_done(st, "finish command", err);
	if (s == INV_OK && inv_changes(c) != 1)
		return inv_fail(err, INV_NOT_FOUND, "id", "no unfinished command %s",
				x->id ? x->id : x->name);
	if (s != INV_OK)
		return s;
	/* the inventory's own wake-up: docs/lifecycle.md, "Transitions the
	 * inventory makes itself" */
	if (!(st = inv_stmt(c, SQL_MACHINE_WAKE_NOW, err)))
		return INV_IO;
	inv_bind_text(st, ":id", x->mid);
	inv_bind_int(st, ":now", now);
	return inv_exec_done(st, "wake machine", err);
}

enum inv_status inv_command_finish(struct inv *inv, const char *machine_id, const char *id,
				   const char *name, bool ok, const char *message,
				   const char *details_json, struct inv_err *err)
{
	struct finish_ctx x = {machine_id, id, name, message, details_json, ok};
	return inv_write(inv, finish_fn, &x, err);
}

static enum inv_status requeue_fn(struct inv_conn *c, void *arg, struct inv_err *err)
{
	struct inv_q *st = inv_stmt(c, SQL_CMD_REQUEUE, err);
	if (!st)
		return INV_IO;
	inv_bind_text(st, ":machine", arg);
	inv_bind_text(st, ":pending", cmd_state_names[CMD_PENDING]);
	inv_bind_text(st, ":sent", cmd_state_names[CMD_SENT]);
	inv_bind_int(st, ":now", inv_now_ms());
	enum inv_status s = inv_exec_done(st, "requeue commands", err);
	if (s != INV_OK)
		return s;
	/* a new agent run is news for a step waiting on it (virtual media
	 * goes once the agent is up): the inventory's own wake-up */
	if (!(st = inv_stmt(c, SQL_MACHINE_WAKE_NOW, err)))
		return INV_IO;
	inv_bind_text(st, ":id", arg);
	inv_bind_int(st, ":now", inv_now_ms());
	return inv_exec_done(st, "wake machine", err);
}

enum inv_status inv_command_requeue(struct inv *inv, const char *machine_id, struct inv_err *err)
{
	return inv_write(inv, requeue_fn, (void *)machine_id, err);
}

struct seen_ctx {
	const char *mid;
	int64_t at;
};

static enum inv_status seen_fn(struct inv_conn *c, void *arg, struct inv_err *err)
{
	struct seen_ctx *x = arg;
	struct inv_q *st = inv_stmt(c, SQL_MACHINE_AGENT_SEEN, err);
	if (!st)
		return INV_IO;
	inv_bind_text(st, ":id", x->mid);
	inv_bind_int(st, ":at", x->at);
	return inv_exec_done(st, "agent seen", err);
}

enum inv_status inv_machine_agent_seen(struct inv *inv, const char *machine_id, int64_t at,
				       struct inv_err *err)
{
	struct seen_ctx x = {machine_id, at};
	return inv_write(inv, seen_fn, &x, err);
}

enum inv_status inv_machine_agent_seen_at(struct inv *inv, const char *machine_id, int64_t *at,
					  struct inv_err *err)
{
	*at = 0;
	struct inv_conn *c = inv_reader(inv, err);
	struct inv_q *st = c ? inv_stmt(c, SQL_MACHINE_AGENT_SEEN_AT, err) : NULL;
	if (!st)
		return INV_IO;
	inv_bind_text(st, ":id", machine_id);
	bool row;
	enum inv_status s = inv_step(st, &row, "read agent liveness", err);
	if (s == INV_OK && row)
		*at = inv_col_int64(st, 0);
	else if (s == INV_OK)
		s = inv_fail(err, INV_NOT_FOUND, "id", "no machine '%s'", machine_id);
	inv_stmt_done(st);
	return s;
}

enum inv_status inv_agent_sessions_quiet(struct inv *inv, int64_t quiet_before, int64_t *n,
					 struct inv_err *err)
{
	*n = 0;
	struct inv_conn *c = inv_reader(inv, err);
	struct inv_q *st = c ? inv_stmt(c, SQL_AGENT_SESSIONS_QUIET, err) : NULL;
	if (!st)
		return INV_IO;
	inv_bind_int(st, ":now", inv_now_ms());
	inv_bind_int(st, ":before", quiet_before);
	bool row;
	enum inv_status s = inv_step(st, &row, "count quiet agent sessions", err);
	if (s == INV_OK && row)
		*n = inv_col_int64(st, 0);
	inv_stmt_done(st);
	return s;
}

enum inv_status inv_deploys_ahead(struct inv *inv, const char *machine_id, const char *sku,
				  int64_t state_since, int64_t *ahead, int64_t *ahead_sku,
				  struct inv_err *err)
{
	*ahead = *ahead_sku = 0;
	struct inv_conn *c = inv_reader(inv, err);
	struct inv_q *st = c ? inv_stmt(c, SQL_DEPLOY_AHEAD, err) : NULL;
	if (!st)
		return INV_IO;
	inv_bind_text(st, ":state", inv_state_name(INV_ST_DEPLOYING));
	inv_bind_int(st, ":since", state_since);
	inv_bind_text(st, ":id", machine_id);
	inv_bind_text(st, ":sku", sku);
	bool row;
	enum inv_status s = inv_step(st, &row, "count deploys ahead", err);
	if (s == INV_OK && row) {
		*ahead = inv_col_int64(st, 0);
		*ahead_sku = inv_col_int64(st, 1);
	}
	inv_stmt_done(st);
	return s;
}

struct ip_ctx {
	const char *mid, *ip;
};

static enum inv_status ip_fn(struct inv_conn *c, void *arg, struct inv_err *err)
{
	struct ip_ctx *x = arg;
	struct inv_q *st = inv_stmt(c, SQL_MACHINE_SET_IP, err);
	if (!st)
		return INV_IO;
	inv_bind_text(st, ":id", x->mid);
	inv_bind_text(st, ":ip", x->ip);
	return inv_exec_done(st, "store ip", err);
}

enum inv_status inv_machine_set_ip(struct inv *inv, const char *machine_id, const char *ip,
				   struct inv_err *err)
{
	struct ip_ctx x = {machine_id, ip};
	return inv_write(inv, ip_fn, &x, err);
}
