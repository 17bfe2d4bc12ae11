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

#define CMD_COLS "id, machine_id, name, args, state, message, details, created_at, updated_at"

static void read_cmd(sqlite3_stmt *st, struct inv_command *c)
{
	memset(c, 0, sizeof *c);
	inv_col_copy(st, 0, c->id, sizeof c->id);
	inv_col_copy(st, 1, c->machine_id, sizeof c->machine_id);
	inv_col_copy(st, 2, c->name, sizeof c->name);
	c->args_json = inv_col_dup(st, 3);
	inv_col_copy(st, 4, c->state, sizeof c->state);
	inv_col_copy(st, 5, c->message, sizeof c->message);
	c->details_json = inv_col_dup(st, 6);
	c->created_at = sqlite3_column_int64(st, 7);
	c->updated_at = sqlite3_column_int64(st, 8);
}

struct add_ctx {
	const char *mid, *name, *args;
	bool external;
	char *id;
};

static enum inv_status add_fn(sqlite3 *db, void *arg, struct inv_err *err)
{
	struct add_ctx *x = arg;
	int64_t now = inv_now_ms();
	sqlite3_stmt *st =
	    inv_prep(db,
		     "UPDATE agent_commands SET state = 'failed', message = 'superseded',"
		     " updated_at = ?2 WHERE machine_id = ?1 AND state IN"
		     " ('pending', 'sent', 'external')",
		     err);
	if (!st)
		return INV_IO;
	inv_bind_text(st, 1, x->mid);
	sqlite3_bind_int64(st, 2, now);
	enum inv_status s = inv_exec_done(db, st, "cancel commands", err);
	if (s != INV_OK)
		return s;
	st = inv_prep(db,
		      "INSERT INTO agent_commands(id, machine_id, name, args, state, created_at,"
		      " updated_at) VALUES(?1,?2,?3,?4,?5,?6,?6)",
		      err);
	if (!st)
		return INV_IO;
	inv_bind_text(st, 1, x->id);
	inv_bind_text(st, 2, x->mid);
	inv_bind_text(st, 3, x->name);
	inv_bind_text(st, 4, x->args ? x->args : "{}");
	inv_bind_text(st, 5, x->external ? "external" : "pending");
	sqlite3_bind_int64(st, 6, now);
	return inv_exec_done(db, st, "queue command", err);
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
	sqlite3 *db = inv_reader(inv, err);
	sqlite3_stmt *st =
	    db ? inv_prep(db,
			  "SELECT " CMD_COLS " FROM agent_commands WHERE machine_id = ?1"
			  " AND name = ?2 ORDER BY seq DESC LIMIT 1",
			  err)
	       : NULL;
	if (!st)
		return INV_IO;
	inv_bind_text(st, 1, machine_id);
	inv_bind_text(st, 2, name);
	enum inv_status s = INV_OK;
	inv_command_clear(out);
	if (sqlite3_step(st) == SQLITE_ROW)
		read_cmd(st, out);
	else
		s = inv_fail(err, INV_NOT_FOUND, NULL, "no %s command", name);
	sqlite3_finalize(st);
	return s;
}

struct next_ctx {
	const char *mid;
	struct inv_command *out;
};

static enum inv_status next_fn(sqlite3 *db, void *arg, struct inv_err *err)
{
	struct next_ctx *x = arg;
	sqlite3_stmt *st = inv_prep(db,
				    "SELECT " CMD_COLS " FROM agent_commands WHERE machine_id = ?1"
				    " AND state = 'pending' ORDER BY seq LIMIT 1",
				    err);
	if (!st)
		return INV_IO;
	inv_bind_text(st, 1, x->mid);
	bool found = sqlite3_step(st) == SQLITE_ROW;
	if (found)
		read_cmd(st, x->out);
	sqlite3_finalize(st);
	if (!found)
		return inv_fail(err, INV_NOT_FOUND, NULL, "no pending command");
	st = inv_prep(db, "UPDATE agent_commands SET state = 'sent', updated_at = ?2 WHERE id = ?1",
		      err);
	if (!st)
		return INV_IO;
	inv_bind_text(st, 1, x->out->id);
	sqlite3_bind_int64(st, 2, inv_now_ms());
	snprintf(x->out->state, sizeof x->out->state, "sent");
	return inv_exec_done(db, st, "mark command sent", err);
}

enum inv_status inv_command_next(struct inv *inv, const char *machine_id, struct inv_command *out,
				 struct inv_err *err)
{
	inv_command_clear(out);
	struct next_ctx x = {machine_id, out};
	enum inv_status s = inv_write(inv, next_fn, &x, err);
	if (s != INV_OK)
		inv_command_clear(out);
	return s;
}

struct finish_ctx {
	const char *mid, *id, *name, *message, *details;
	bool ok;
};

static enum inv_status finish_fn(sqlite3 *db, void *arg, struct inv_err *err)
{
	struct finish_ctx *x = arg;
	int64_t now = inv_now_ms();
	sqlite3_stmt *st = inv_prep(
	    db,
	    "UPDATE agent_commands SET state = ?3, message = ?4, details = ?5, updated_at = ?6"
	    " WHERE seq = (SELECT seq FROM agent_commands WHERE machine_id = ?1"
	    " AND state IN ('pending', 'sent', 'external') AND (?2 IS NULL OR id = ?2)"
	    " AND (?7 IS NULL OR name = ?7) ORDER BY seq DESC LIMIT 1)",
	    err);
	if (!st)
		return INV_IO;
	inv_bind_text(st, 1, x->mid);
	inv_bind_text(st, 2, x->id);
	inv_bind_text(st, 3, x->ok ? "done" : "failed");
	inv_bind_text(st, 4, x->message ? x->message : "");
	inv_bind_text(st, 5, x->details);
	sqlite3_bind_int64(st, 6, now);
	inv_bind_text(st, 7, x->name);
	enum inv_status s = inv_exec_done(db, st, "finish command", err);
	if (s == INV_OK && sqlite3_changes(db) != 1)
		return inv_fail(err, INV_NOT_FOUND, "id", "no unfinished command %s",
				x->id ? x->id : x->name);
	if (s != INV_OK)
		return s;
	st = inv_prep(db,
		      "UPDATE machines SET wake_at = ?2"
		      " WHERE id = ?1",
		      err);
	if (!st)
		return INV_IO;
	inv_bind_text(st, 1, x->mid);
	sqlite3_bind_int64(st, 2, now);
	return inv_exec_done(db, st, "wake machine", err);
}

enum inv_status inv_command_finish(struct inv *inv, const char *machine_id, const char *id,
				   const char *name, bool ok, const char *message,
				   const char *details_json, struct inv_err *err)
{
	struct finish_ctx x = {machine_id, id, name, message, details_json, ok};
	return inv_write(inv, finish_fn, &x, err);
}

static enum inv_status requeue_fn(sqlite3 *db, void *arg, struct inv_err *err)
{
	sqlite3_stmt *st = inv_prep(db,
				    "UPDATE agent_commands SET state = 'pending', updated_at = ?2"
				    " WHERE machine_id = ?1 AND state = 'sent'",
				    err);
	if (!st)
		return INV_IO;
	inv_bind_text(st, 1, arg);
	sqlite3_bind_int64(st, 2, inv_now_ms());
	return inv_exec_done(db, st, "requeue commands", err);
}

enum inv_status inv_command_requeue(struct inv *inv, const char *machine_id, struct inv_err *err)
{
	return inv_write(inv, requeue_fn, (void *)machine_id, err);
}

struct seen_ctx {
	const char *mid;
	int64_t at;
};

static enum inv_status seen_fn(sqlite3 *db, void *arg, struct inv_err *err)
{
	struct seen_ctx *x = arg;
	sqlite3_stmt *st =
	    inv_prep(db, "UPDATE machines SET agent_seen_at = ?2 WHERE id = ?1", err);
	if (!st)
		return INV_IO;
	inv_bind_text(st, 1, x->mid);
	sqlite3_bind_int64(st, 2, x->at);
	return inv_exec_done(db, st, "agent seen", err);
}

enum inv_status inv_machine_agent_seen(struct inv *inv, const char *machine_id, int64_t at,
				       struct inv_err *err)
{
	struct seen_ctx x = {machine_id, at};
	return inv_write(inv, seen_fn, &x, err);
}

int64_t inv_machine_agent_seen_at(struct inv *inv, const char *machine_id)
{
	sqlite3 *db = inv_reader(inv, NULL);
	sqlite3_stmt *st =
	    db ? inv_prep(db, "SELECT agent_seen_at FROM machines WHERE id = ?1", NULL) : NULL;
	if (!st)
		return 0;
	inv_bind_text(st, 1, machine_id);
	int64_t v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_finalize(st);
	return v;
}

struct ip_ctx {
	const char *mid, *ip;
};

static enum inv_status ip_fn(sqlite3 *db, void *arg, struct inv_err *err)
{
	struct ip_ctx *x = arg;
	sqlite3_stmt *st = inv_prep(db, "UPDATE machines SET ip = ?2 WHERE id = ?1", err);
	if (!st)
		return INV_IO;
	inv_bind_text(st, 1, x->mid);
	inv_bind_text(st, 2, x->ip);
	return inv_exec_done(db, st, "store ip", err);
}

enum inv_status inv_machine_set_ip(struct inv *inv, const char *machine_id, const char *ip,
				   struct inv_err *err)
{
	struct ip_ctx x = {machine_id, ip};
	return inv_write(inv, ip_fn, &x, err);
}
