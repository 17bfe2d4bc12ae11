/* catalog.c - images, API tokens, quotas, settings and boot-plane tokens:
 * small tables whose writes are one statement plus an audit row. */
#include "inventory/internal.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One bound value: text when s is set (or is_null), else integer. */
struct arg {
	const char *s;
	int64_t i;
	bool is_text;
};
#define T(x) ((struct arg){.s = (x), .is_text = true})
#define I(x) ((struct arg){.i = (x)})

struct exec_ctx {
	const char *sql;
	int n;
	struct arg args[8];
	bool must_change; /* 0 rows changed -> INV_NOT_FOUND */
	const char *what;
	const char *actor, *action, *type, *target, *before, *after, *rid;
	int changed;
};

static void bind_args(sqlite3_stmt *st, const struct arg *a, int n)
{
	for (int i = 0; i < n; i++)
		if (a[i].is_text)
			inv_bind_text(st, i + 1, a[i].s);
		else
			sqlite3_bind_int64(st, i + 1, a[i].i);
}

static enum inv_status exec_fn(sqlite3 *db, void *arg, struct inv_err *err)
{
	struct exec_ctx *x = arg;
	sqlite3_stmt *st = inv_prep(db, x->sql, err);
	if (!st)
		return INV_IO;
	bind_args(st, x->args, x->n);
	enum inv_status s = inv_exec_done(db, st, x->what, err);
	x->changed = sqlite3_changes(db);
	if (s == INV_OK && x->must_change && x->changed == 0)
		s = inv_fail(err, INV_NOT_FOUND, "id", "%s: not found", x->what);
	if (s == INV_OK && x->action)
		s = inv_audit_row(db, x->actor, x->action, x->type, x->target, x->before, x->after,
				  x->rid, err);
	return s;
}

_Static_assert(offsetof(struct inv_image, seq) == 0, "read_page needs seq first");
_Static_assert(offsetof(struct inv_token, seq) == 0, "read_page needs seq first");

/* One page of rows whose struct begins with `int64_t seq` (images, tokens):
 * up to limit rows after after_seq, and the cursor for the next page. */
static enum inv_status read_page(struct inv *inv, const char *sql, int64_t after_seq, int limit,
				 size_t item_size, void (*read)(sqlite3_stmt *st, void *item),
				 void **items, size_t *n, int64_t *next_seq, struct inv_err *err)
{
	sqlite3 *db = inv_reader(inv, err);
	sqlite3_stmt *st = db ? inv_prep(db, sql, err) : NULL;
	*items = NULL;
	*n = 0;
	*next_seq = 0;
	if (!st)
		return INV_IO;
	limit = inv_clamp_limit(limit);
	sqlite3_bind_int64(st, 1, after_seq);
	sqlite3_bind_int(st, 2, limit + 1);
	char *buf = calloc((size_t)limit + 1, item_size);
	while (buf && sqlite3_step(st) == SQLITE_ROW && *n < (size_t)limit + 1)
		read(st, buf + (*n)++ * item_size);
	sqlite3_finalize(st);
	if (!buf)
		return inv_fail(err, INV_IO, NULL, "out of memory");
	if (*n > (size_t)limit) {
		(*n)--;
		memcpy(next_seq, buf + (*n - 1) * item_size, sizeof *next_seq);
	}
	*items = buf;
	return INV_OK;
}

/* --------------------------------------------------------------- images */

void inv_image_list_clear(struct inv_image_list *l)
{
	if (!l)
		return;
	free(l->items);
	memset(l, 0, sizeof *l);
}

enum inv_status inv_image_create(struct inv *inv, const struct inv_image *img, const char *actor,
				 const char *request_id, struct inv_err *err)
{
	char after[256];
	snprintf(after, sizeof after, "{\"format\":\"%s\",\"sha256\":\"%s\",\"size\":%lld}",
		 img->format, img->sha256, (long long)img->size);
	struct exec_ctx x = {
	    .sql = "INSERT INTO images(name, path, url, format, sha256, size, created_at)"
		   " VALUES(?1,?2,?3,?4,?5,?6,?7)",
	    .n = 7,
	    .args = {T(img->name), T(img->path), T(img->url), T(img->format), T(img->sha256),
		     I(img->size), I(inv_now_ms())},
	    .what = "register image",
	    .actor = actor,
	    .action = "image.register",
	    .type = "image",
	    .target = img->name,
	    .after = after,
	    .rid = request_id};
	enum inv_status s = inv_write(inv, exec_fn, &x, err);
	if (s == INV_DUPLICATE)
		return inv_fail(err, INV_DUPLICATE, "name", "an image named '%s' already exists",
				img->name);
	return s;
}

static void read_image(sqlite3_stmt *st, struct inv_image *m)
{
	memset(m, 0, sizeof *m);
	m->seq = sqlite3_column_int64(st, 0);
	inv_col_copy(st, 1, m->name, sizeof m->name);
	inv_col_copy(st, 2, m->path, sizeof m->path);
	inv_col_copy(st, 3, m->url, sizeof m->url);
	inv_col_copy(st, 4, m->format, sizeof m->format);
	inv_col_copy(st, 5, m->sha256, sizeof m->sha256);
	m->size = sqlite3_column_int64(st, 6);
	m->created_at = sqlite3_column_int64(st, 7);
}

#define IMAGE_SELECT "SELECT seq, name, path, url, format, sha256, size, created_at FROM images"

enum inv_status inv_image_get(struct inv *inv, const char *name, struct inv_image *out,
			      struct inv_err *err)
{
	sqlite3 *db = inv_reader(inv, err);
	sqlite3_stmt *st = db ? inv_prep(db, IMAGE_SELECT " WHERE name = ?1", err) : NULL;
	if (!st)
		return INV_IO;
	inv_bind_text(st, 1, name);
	enum inv_status s = INV_OK;
	if (sqlite3_step(st) == SQLITE_ROW)
		read_image(st, out);
	else
		s = inv_fail(err, INV_NOT_FOUND, "image", "no image '%s'", name);
	sqlite3_finalize(st);
	return s;
}

static void read_image_row(sqlite3_stmt *st, void *item)
{
	read_image(st, item);
}

enum inv_status inv_image_list(struct inv *inv, int64_t after_seq, int limit,
			       struct inv_image_list *out, struct inv_err *err)
{
	void *items;
	enum inv_status s =
	    read_page(inv, IMAGE_SELECT " WHERE seq > ?1 ORDER BY seq LIMIT ?2", after_seq, limit,
		      sizeof *out->items, read_image_row, &items, &out->n, &out->next_seq, err);
	out->items = items;
	return s;
}

static enum inv_status image_delete_fn(sqlite3 *db, void *arg, struct inv_err *err)
{
	struct exec_ctx *x = arg;
	sqlite3_stmt *st = inv_prep(db,
				    "SELECT count(*) FROM allocations WHERE image = ?1"
				    " AND state NOT IN ('released', 'failed')",
				    err);
	if (!st)
		return INV_IO;
	inv_bind_text(st, 1, x->target);
	int64_t n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_finalize(st);
	if (n > 0)
		return inv_fail(err, INV_CONFLICT, "name", "image %s is used by %lld allocation(s)",
				x->target, (long long)n);
	return exec_fn(db, arg, err);
}

enum inv_status inv_image_delete(struct inv *inv, const char *name, const char *actor,
				 const char *request_id, struct inv_err *err)
{
	struct exec_ctx x = {.sql = "DELETE FROM images WHERE name = ?1",
			     .n = 1,
			     .args = {T(name)},
			     .must_change = true,
			     .what = "delete image",
			     .actor = actor,
			     .action = "image.delete",
			     .type = "image",
			     .target = name,
			     .rid = request_id};
	return inv_write(inv, image_delete_fn, &x, err);
}

/* --------------------------------------------------------------- tokens */

void inv_token_list_clear(struct inv_token_list *l)
{
	if (!l)
		return;
	free(l->items);
	memset(l, 0, sizeof *l);
}

enum inv_status inv_token_create(struct inv *inv, const struct inv_token *t, const char *actor,
				 const char *request_id, struct inv_err *err)
{
	char after[200];
	snprintf(after, sizeof after, "{\"role\":\"%s\",\"owner\":\"%s\"}", t->role, t->owner);
	struct exec_ctx x = {
	    .sql = "INSERT INTO tokens(id, name, role, owner, hash, created_at)"
		   " VALUES(?1,?2,?3,?4,?5,?6)",
	    .n = 6,
	    .args = {T(t->id), T(t->name), T(t->role), T(t->owner), T(t->hash), I(inv_now_ms())},
	    .what = "create token",
	    .actor = actor,
	    .action = "token.create",
	    .type = "token",
	    .target = t->id,
	    .after = after,
	    .rid = request_id};
	return inv_write(inv, exec_fn, &x, err);
}

static void read_token(sqlite3_stmt *st, struct inv_token *t)
{
	memset(t, 0, sizeof *t);
	t->seq = sqlite3_column_int64(st, 0);
	inv_col_copy(st, 1, t->id, sizeof t->id);
	inv_col_copy(st, 2, t->name, sizeof t->name);
	inv_col_copy(st, 3, t->role, sizeof t->role);
	inv_col_copy(st, 4, t->owner, sizeof t->owner);
	inv_col_copy(st, 5, t->hash, sizeof t->hash);
	t->created_at = sqlite3_column_int64(st, 6);
}

#define TOKEN_SELECT "SELECT seq, id, name, role, owner, hash, created_at FROM tokens"

enum inv_status inv_token_by_hash(struct inv *inv, const char *hash, struct inv_token *out,
				  struct inv_err *err)
{
	sqlite3 *db = inv_reader(inv, err);
	sqlite3_stmt *st = db ? inv_prep(db, TOKEN_SELECT " WHERE hash = ?1", err) : NULL;
	if (!st)
		return INV_IO;
	inv_bind_text(st, 1, hash);
	enum inv_status s = INV_OK;
	if (sqlite3_step(st) == SQLITE_ROW)
		read_token(st, out);
	else
		s = inv_fail(err, INV_NOT_FOUND, NULL, "unknown token");
	sqlite3_finalize(st);
	return s;
}

static void read_token_row(sqlite3_stmt *st, void *item)
{
	read_token(st, item);
}

enum inv_status inv_token_list(struct inv *inv, int64_t after_seq, int limit,
			       struct inv_token_list *out, struct inv_err *err)
{
	void *items;
	enum inv_status s =
	    read_page(inv, TOKEN_SELECT " WHERE seq > ?1 ORDER BY seq LIMIT ?2", after_seq, limit,
		      sizeof *out->items, read_token_row, &items, &out->n, &out->next_seq, err);
	out->items = items;
	return s;
}

enum inv_status inv_token_delete(struct inv *inv, const char *id, const char *actor,
				 const char *request_id, struct inv_err *err)
{
	struct exec_ctx x = {.sql = "DELETE FROM tokens WHERE id = ?1",
			     .n = 1,
			     .args = {T(id)},
			     .must_change = true,
			     .what = "delete token",
			     .actor = actor,
			     .action = "token.delete",
			     .type = "token",
			     .target = id,
			     .rid = request_id};
	return inv_write(inv, exec_fn, &x, err);
}

/* --------------------------------------------------------------- quotas */

enum inv_status inv_quota_set(struct inv *inv, const char *owner, const char *sku, int machines,
			      const char *actor, const char *request_id, struct inv_err *err)
{
	char target[160], after[64];
	snprintf(target, sizeof target, "%s/%s", owner, sku);
	snprintf(after, sizeof after, "{\"machines\":%d}", machines);
	struct exec_ctx x = {
	    .sql = machines < 0 ? "DELETE FROM quotas WHERE owner = ?1 AND sku = ?2"
				: "INSERT INTO quotas(owner, sku, machines) VALUES(?1,?2,?3)"
				  " ON CONFLICT(owner, sku) DO UPDATE SET machines = ?3",
	    .n = machines < 0 ? 2 : 3,
	    .args = {T(owner), T(sku), I(machines)},
	    .what = "set quota",
	    .actor = actor,
	    .action = "quota.set",
	    .type = "quota",
	    .target = target,
	    .after = after,
	    .rid = request_id};
	return inv_write(inv, exec_fn, &x, err);
}

enum inv_status inv_quota_get(struct inv *inv, const char *owner, const char *sku, int *machines,
			      struct inv_err *err)
{
	sqlite3 *db = inv_reader(inv, err);
	sqlite3_stmt *st =
	    db ? inv_prep(db, "SELECT machines FROM quotas WHERE owner = ?1 AND sku = ?2", err)
	       : NULL;
	if (!st)
		return INV_IO;
	inv_bind_text(st, 1, owner);
	inv_bind_text(st, 2, sku);
	*machines = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
	sqlite3_finalize(st);
	return INV_OK;
}

enum inv_status inv_quota_list(struct inv *inv, const char *owner,
			       void (*fn)(void *ctx, const char *sku, int machines, int used),
			       void *ctx, struct inv_err *err)
{
	sqlite3 *db = inv_reader(inv, err);
	sqlite3_stmt *st =
	    db ? inv_prep(db,
			  "SELECT q.sku, q.machines, (SELECT count(*) FROM allocation_machines am"
			  " JOIN allocations a ON a.id = am.allocation_id WHERE a.owner = q.owner"
			  " AND a.sku = q.sku AND am.detached = 0) FROM quotas q"
			  " WHERE q.owner = ?1 ORDER BY q.sku",
			  err)
	       : NULL;
	if (!st)
		return INV_IO;
	inv_bind_text(st, 1, owner);
	while (sqlite3_step(st) == SQLITE_ROW)
		fn(ctx, (const char *)sqlite3_column_text(st, 0), sqlite3_column_int(st, 1),
		   sqlite3_column_int(st, 2));
	sqlite3_finalize(st);
	return INV_OK;
}

/* ------------------------------------------------------------- settings */

enum inv_status inv_setting_get(struct inv *inv, const char *key, char **out, struct inv_err *err)
{
	*out = NULL;
	sqlite3 *db = inv_reader(inv, err);
	sqlite3_stmt *st =
	    db ? inv_prep(db, "SELECT value FROM settings WHERE key = ?1", err) : NULL;
	if (!st)
		return INV_IO;
	inv_bind_text(st, 1, key);
	if (sqlite3_step(st) == SQLITE_ROW)
		*out = inv_col_dup(st, 0);
	sqlite3_finalize(st);
	return INV_OK;
}

enum inv_status inv_setting_set(struct inv *inv, const char *key, const char *value,
				const char *actor, const char *request_id, const char *audit_before,
				struct inv_err *err)
{
	char action[80];
	snprintf(action, sizeof action, "setting.%s", key);
	struct exec_ctx x = {.sql = "INSERT INTO settings(key, value, updated_at) VALUES(?1,?2,?3)"
				    " ON CONFLICT(key) DO UPDATE SET value = ?2, updated_at = ?3",
			     .n = 3,
			     .args = {T(key), T(value), I(inv_now_ms())},
			     .what = "store setting",
			     .actor = actor,
			     .action = action,
			     .type = "setting",
			     .target = key,
			     .before = audit_before,
			     .after = value,
			     .rid = request_id};
	return inv_write(inv, exec_fn, &x, err);
}

/* ---------------------------------------------------------- boot tokens */

enum inv_status inv_boot_token_add(struct inv *inv, const char *hash, const char *machine_id,
				   const char *kind, int64_t expires_at, struct inv_err *err)
{
	struct exec_ctx x = {
	    .sql = "INSERT INTO boot_tokens(hash, machine_id, kind, created_at, expires_at)"
		   " VALUES(?1,?2,?3,?4,?5)",
	    .n = 5,
	    .args = {T(hash), T(machine_id), T(kind), I(inv_now_ms()), I(expires_at)},
	    .what = "store boot token"};
	return inv_write(inv, exec_fn, &x, err);
}

enum inv_status inv_boot_token_take(struct inv *inv, const char *hash, const char *kind,
				    bool consume, char machine_id[INV_ID_LEN], struct inv_err *err)
{
	machine_id[0] = 0;
	sqlite3 *db = inv_reader(inv, err);
	sqlite3_stmt *st = db ? inv_prep(db,
					 "SELECT machine_id FROM boot_tokens WHERE hash = ?1"
					 " AND kind = ?2 AND used_at = 0 AND expires_at > ?3",
					 err)
			      : NULL;
	if (!st)
		return INV_IO;
	inv_bind_text(st, 1, hash);
	inv_bind_text(st, 2, kind);
	sqlite3_bind_int64(st, 3, inv_now_ms());
	if (sqlite3_step(st) == SQLITE_ROW)
		inv_col_copy(st, 0, machine_id, INV_ID_LEN);
	sqlite3_finalize(st);
	if (!machine_id[0])
		return inv_fail(err, INV_NOT_FOUND, NULL, "unknown, used or expired %s token",
				kind);
	if (!consume)
		return INV_OK;
	/* The consuming update re-checks used_at = 0: of two racing uses
	 * exactly one changes the row. */
	struct exec_ctx x = {.sql = "UPDATE boot_tokens SET used_at = ?2 WHERE hash = ?1"
				    " AND used_at = 0",
			     .n = 2,
			     .args = {T(hash), I(inv_now_ms())},
			     .must_change = true,
			     .what = "use boot token"};
	enum inv_status s = inv_write(inv, exec_fn, &x, err);
	if (s != INV_OK)
		machine_id[0] = 0;
	return s;
}

enum inv_status inv_boot_token_revoke(struct inv *inv, const char *machine_id, const char *kind,
				      struct inv_err *err)
{
	struct exec_ctx x = {.sql = "UPDATE boot_tokens SET used_at = ?3 WHERE machine_id = ?1"
				    " AND (?2 IS NULL OR kind = ?2) AND used_at = 0",
			     .n = 3,
			     .args = {T(machine_id), T(kind), I(inv_now_ms())},
			     .what = "revoke boot tokens"};
	return inv_write(inv, exec_fn, &x, err);
}
