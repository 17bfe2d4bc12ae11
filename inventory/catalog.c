/* catalog.c - images, API tokens, quotas, settings and boot-plane tokens:
 * small tables whose writes are one statement plus an audit row. */
#include "inventory/internal.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uuid/uuid.h>

/* One named value: text (NULL binds NULL) or integer. */
struct arg {
	const char *name;
	const char *s;
	int64_t i;
	bool is_text;
};
#define T(n, x) ((struct arg){.name = (n), .s = (x), .is_text = true})
#define I(n, x) ((struct arg){.name = (n), .i = (x)})

struct exec_ctx {
	enum inv_sql sql;
	int n;
	struct arg args[12];
	bool must_change; /* 0 rows changed -> INV_NOT_FOUND */
	const char *what;
	const char *actor, *action, *type, *target, *before, *after, *rid;
	int changed;
};

static void bind_args(struct inv_q *st, const struct arg *a, int n)
{
	for (int i = 0; i < n; i++)
		if (a[i].is_text)
			inv_bind_text(st, a[i].name, a[i].s);
		else
			inv_bind_int(st, a[i].name, a[i].i);
}

static enum inv_status exec_fn(struct inv_conn *c, void *arg, struct inv_err *err)
{
	struct exec_ctx *x = arg;
	struct inv_q *st = inv_stmt(c, x->sql, err);
	if (!st)
		return INV_IO;
	bind_args(st, x->args, x->n);
	enum inv_status s = inv_exec_done(st, x->what, err);
	x->changed = inv_changes(c);
	if (s == INV_OK && x->must_change && x->changed == 0)
		s = inv_fail(err, INV_NOT_FOUND, "id", "%s: not found", x->what);
	if (s == INV_OK && x->action)
		s = inv_audit_row(c, x->actor, x->action, x->type, x->target, x->before, x->after,
				  x->rid, err);
	return s;
}

_Static_assert(offsetof(struct inv_image, seq) == 0, "read_page needs seq first");
_Static_assert(offsetof(struct inv_token, seq) == 0, "read_page needs seq first");

/* One page of rows whose struct begins with `int64_t seq` (images, tokens):
 * up to limit rows after after_seq, and the cursor for the next page. */
static enum inv_status read_page(struct inv *inv, enum inv_sql sql, int64_t after_seq, int limit,
				 size_t item_size, void (*read)(struct inv_q *st, void *item),
				 void **items, size_t *n, int64_t *next_seq, struct inv_err *err)
{
	struct inv_conn *c = inv_reader(inv, err);
	struct inv_q *st = c ? inv_stmt(c, sql, err) : NULL;
	*items = NULL;
	*n = 0;
	*next_seq = 0;
	if (!st)
		return INV_IO;
	limit = inv_clamp_limit(limit);
	inv_bind_int(st, ":after", after_seq);
	inv_bind_int(st, ":limit", limit + 1);
	char *buf = calloc((size_t)limit + 1, item_size);
	enum inv_status s = buf ? INV_OK : inv_fail(err, INV_IO, NULL, "out of memory");
	bool row = false;
	while (s == INV_OK && (s = inv_step(st, &row, "list", err)) == INV_OK && row &&
	       *n < (size_t)limit + 1)
		read(st, buf + (*n)++ * item_size);
	inv_stmt_done(st);
	if (s != INV_OK) {
		*n = 0;
		free(buf);
		return s;
	}
	if (*n > (size_t)limit) {
		(*n)--;
		memcpy(next_seq, buf + (*n - 1) * item_size, sizeof *next_seq);
	}
	*items = buf;
	return INV_OK;
}

/* --------------------------------------------------------------- images */

static const char *const image_state_names[] = {
    [INV_IMG_READY] = "ready",
    [INV_IMG_FETCHING] = "fetching",
    [INV_IMG_FAILED] = "failed",
};
_Static_assert(ARRAY_SIZE(image_state_names) == INV_IMG__COUNT,
	       "image_state_names must cover enum inv_image_state");

const char *inv_image_state_name(enum inv_image_state s)
{
	return (unsigned)s < INV_IMG__COUNT ? image_state_names[s] : "unknown";
}

static enum inv_image_state image_state_from_name(const char *name)
{
	for (int i = 0; i < INV_IMG__COUNT; i++)
		if (name && strcmp(name, image_state_names[i]) == 0)
			return (enum inv_image_state)i;
	return INV_IMG_FAILED; /* unknown: never usable */
}

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
	    .sql = SQL_IMAGE_INSERT,
	    .n = 10,
	    .args = {T(":name", img->name), T(":path", img->path), T(":url", img->url),
		     T(":format", img->format), T(":sha256", img->sha256), I(":size", img->size),
		     I(":now", inv_now_ms()), T(":state", inv_image_state_name(img->state)),
		     I(":file_size", img->file_size), I(":file_inode", img->file_inode)},
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

static void read_image(struct inv_q *st, struct inv_image *m)
{
	memset(m, 0, sizeof *m);
	m->seq = inv_col_int64(st, 0);
	inv_col_copy(st, 1, m->name, sizeof m->name);
	inv_col_copy(st, 2, m->path, sizeof m->path);
	inv_col_copy(st, 3, m->url, sizeof m->url);
	inv_col_copy(st, 4, m->format, sizeof m->format);
	inv_col_copy(st, 5, m->sha256, sizeof m->sha256);
	m->size = inv_col_int64(st, 6);
	m->created_at = inv_col_int64(st, 7);
	m->state = image_state_from_name(inv_col_text(st, 8));
	inv_col_copy(st, 9, m->last_error, sizeof m->last_error);
	m->file_size = inv_col_int64(st, 10);
	m->file_inode = inv_col_int64(st, 11);
	m->updated_at = inv_col_int64(st, 12);
}

enum inv_status inv_image_get(struct inv *inv, const char *name, struct inv_image *out,
			      struct inv_err *err)
{
	struct inv_conn *c = inv_reader(inv, err);
	struct inv_q *st = c ? inv_stmt(c, SQL_IMAGE_GET, err) : NULL;
	if (!st)
		return INV_IO;
	inv_bind_text(st, ":name", name);
	bool row;
	enum inv_status s = inv_step(st, &row, "read image", err);
	if (s == INV_OK && row)
		read_image(st, out);
	else if (s == INV_OK)
		s = inv_fail(err, INV_NOT_FOUND, "image", "no image '%s'", name);
	inv_stmt_done(st);
	return s;
}

static void read_image_row(struct inv_q *st, void *item)
{
	read_image(st, item);
}

enum inv_status inv_image_list(struct inv *inv, int64_t after_seq, int limit,
			       struct inv_image_list *out, struct inv_err *err)
{
	void *items;
	enum inv_status s = read_page(inv, SQL_IMAGE_LIST, after_seq, limit, sizeof *out->items,
				      read_image_row, &items, &out->n, &out->next_seq, err);
	out->items = items;
	return s;
}

enum inv_status inv_image_fetch_done(struct inv *inv, const struct inv_image *img,
				     struct inv_err *err)
{
	bool ok = img->state == INV_IMG_READY;
	char after[400];
	snprintf(after, sizeof after, "{\"state\":\"%s\",\"size\":%lld}",
		 inv_image_state_name(img->state), (long long)img->size);
	struct exec_ctx x = {.sql = SQL_IMAGE_FETCH_DONE,
			     .n = 9,
			     .args = {I(":seq", img->seq),
				      T(":fetching", inv_image_state_name(INV_IMG_FETCHING)),
				      T(":state", inv_image_state_name(img->state)),
				      T(":last_error", img->last_error), T(":path", img->path),
				      I(":size", img->size), I(":file_size", img->file_size),
				      I(":file_inode", img->file_inode), I(":now", inv_now_ms())},
			     .must_change = true,
			     .what = "record image fetch",
			     .actor = "image-fetcher",
			     .action = ok ? "image.fetched" : "image.fetch_failed",
			     .type = "image",
			     .target = img->name,
			     .after = after};
	return inv_write(inv, exec_fn, &x, err);
}

enum inv_status inv_image_next_fetching(struct inv *inv, int64_t after_seq, struct inv_image *out,
					struct inv_err *err)
{
	struct inv_conn *c = inv_reader(inv, err);
	struct inv_q *st = c ? inv_stmt(c, SQL_IMAGE_NEXT_FETCHING, err) : NULL;
	if (!st)
		return INV_IO;
	inv_bind_int(st, ":after", after_seq);
	inv_bind_text(st, ":fetching", inv_image_state_name(INV_IMG_FETCHING));
	bool row;
	enum inv_status s = inv_step(st, &row, "next fetching image", err);
	if (s == INV_OK && row)
		read_image(st, out);
	else if (s == INV_OK)
		s = inv_fail(err, INV_NOT_FOUND, "image", "no image is fetching");
	inv_stmt_done(st);
	return s;
}

static enum inv_status image_delete_fn(struct inv_conn *c, void *arg, struct inv_err *err)
{
	struct exec_ctx *x = arg;
	struct inv_q *st = inv_stmt(c, SQL_IMAGE_IN_USE, err);
	if (!st)
		return INV_IO;
	inv_bind_text(st, ":name", x->target);
	inv_bind_text(st, ":released", inv_alloc_state_name(INV_AL_RELEASED));
	inv_bind_text(st, ":failed", inv_alloc_state_name(INV_AL_FAILED));
	bool row;
	enum inv_status s = inv_step(st, &row, "count image users", err);
	int64_t n = s == INV_OK && row ? inv_col_int64(st, 0) : 0;
	inv_stmt_done(st);
	if (s != INV_OK)
		return s;
	if (n > 0)
		return inv_fail(err, INV_CONFLICT, "name", "image %s is used by %lld allocation(s)",
				x->target, (long long)n);
	return exec_fn(c, arg, err);
}

enum inv_status inv_image_delete(struct inv *inv, const char *name, const char *actor,
				 const char *request_id, struct inv_err *err)
{
	struct exec_ctx x = {.sql = SQL_IMAGE_DELETE,
			     .n = 1,
			     .args = {T(":name", name)},
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
	struct exec_ctx x = {.sql = SQL_TOKEN_INSERT,
			     .n = 6,
			     .args = {T(":id", t->id), T(":name", t->name), T(":role", t->role),
				      T(":owner", t->owner), T(":hash", t->hash),
				      I(":now", inv_now_ms())},
			     .what = "create token",
			     .actor = actor,
			     .action = "token.create",
			     .type = "token",
			     .target = t->id,
			     .after = after,
			     .rid = request_id};
	return inv_write(inv, exec_fn, &x, err);
}

static void read_token(struct inv_q *st, struct inv_token *t)
{
	memset(t, 0, sizeof *t);
	t->seq = inv_col_int64(st, 0);
	inv_col_copy(st, 1, t->id, sizeof t->id);
	inv_col_copy(st, 2, t->name, sizeof t->name);
	inv_col_copy(st, 3, t->role, sizeof t->role);
	inv_col_copy(st, 4, t->owner, sizeof t->owner);
	inv_col_copy(st, 5, t->hash, sizeof t->hash);
	t->created_at = inv_col_int64(st, 6);
}

enum inv_status inv_token_by_hash(struct inv *inv, const char *hash, struct inv_token *out,
				  struct inv_err *err)
{
	struct inv_conn *c = inv_reader(inv, err);
	struct inv_q *st = c ? inv_stmt(c, SQL_TOKEN_BY_HASH, err) : NULL;
	if (!st)
		return INV_IO;
	inv_bind_text(st, ":hash", hash);
	bool row;
	enum inv_status s = inv_step(st, &row, "read token", err);
	if (s == INV_OK && row)
		read_token(st, out);
	else if (s == INV_OK)
		s = inv_fail(err, INV_NOT_FOUND, NULL, "unknown token");
	inv_stmt_done(st);
	return s;
}

static void read_token_row(struct inv_q *st, void *item)
{
	read_token(st, item);
}

enum inv_status inv_token_list(struct inv *inv, int64_t after_seq, int limit,
			       struct inv_token_list *out, struct inv_err *err)
{
	void *items;
	enum inv_status s = read_page(inv, SQL_TOKEN_LIST, after_seq, limit, sizeof *out->items,
				      read_token_row, &items, &out->n, &out->next_seq, err);
	out->items = items;
	return s;
}

enum inv_status inv_token_delete(struct inv *inv, const char *id, const char *actor,
				 const char *request_id, struct inv_err *err)
{
	struct exec_ctx x = {.sql = SQL_TOKEN_DELETE,
			     .n = 1,
			     .args = {T(":id", id)},
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
	struct exec_ctx x = {.sql = machines < 0 ? SQL_QUOTA_DELETE : SQL_QUOTA_UPSERT,
			     .n = machines < 0 ? 2 : 3,
			     .args = {T(":owner", owner), T(":sku", sku), I(":machines", machines)},
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
	*machines = -1;
	struct inv_conn *c = inv_reader(inv, err);
	struct inv_q *st = c ? inv_stmt(c, SQL_QUOTA_GET, err) : NULL;
	if (!st)
		return INV_IO;
	inv_bind_text(st, ":owner", owner);
	inv_bind_text(st, ":sku", sku);
	bool row;
	enum inv_status s = inv_step(st, &row, "read quota", err);
	if (s == INV_OK && row)
		*machines = inv_col_int(st, 0);
	inv_stmt_done(st);
	return s;
}

enum inv_status inv_quota_list(struct inv *inv, const char *owner,
			       void (*fn)(void *ctx, const char *sku, int machines, int used),
			       void *ctx, struct inv_err *err)
{
	struct inv_conn *c = inv_reader(inv, err);
	struct inv_q *st = c ? inv_stmt(c, SQL_QUOTA_LIST, err) : NULL;
	if (!st)
		return INV_IO;
	inv_bind_text(st, ":owner", owner);
	bool row;
	enum inv_status s;
	while ((s = inv_step(st, &row, "list quotas", err)) == INV_OK && row)
		fn(ctx, inv_col_text(st, 0), inv_col_int(st, 1), inv_col_int(st, 2));
	inv_stmt_done(st);
	return s;
}

/* ------------------------------------------------------------- settings */

enum inv_status inv_setting_get(struct inv *inv, const char *key, char **out, struct inv_err *err)
{
	*out = NULL;
	struct inv_conn *c = inv_reader(inv, err);
	struct inv_q *st = c ? inv_stmt(c, SQL_SETTING_GET, err) : NULL;
	if (!st)
		return INV_IO;
	inv_bind_text(st, ":key", key);
	bool row;
	enum inv_status s = inv_step(st, &row, "read setting", err);
	if (s == INV_OK && row)
		*out = inv_col_dup(st, 0);
	inv_stmt_done(st);
	return s;
}

enum inv_status inv_setting_set(struct inv *inv, const char *key, const char *value,
				const char *actor, const char *request_id, const char *audit_before,
				struct inv_err *err)
{
	char action[80];
	snprintf(action, sizeof action, "setting.%s", key);
	struct exec_ctx x = {.sql = SQL_SETTING_UPSERT,
			     .n = 3,
			     .args = {T(":key", key), T(":value", value), I(":now", inv_now_ms())},
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
	struct exec_ctx x = {.sql = SQL_BOOT_TOKEN_INSERT,
			     .n = 5,
			     .args = {T(":hash", hash), T(":machine", machine_id), T(":kind", kind),
				      I(":now", inv_now_ms()), I(":expires_at", expires_at)},
			     .what = "store boot token"};
	return inv_write(inv, exec_fn, &x, err);
}

enum inv_status inv_boot_token_take(struct inv *inv, const char *hash, const char *kind,
				    bool consume, char machine_id[INV_ID_LEN], struct inv_err *err)
{
	machine_id[0] = 0;
	struct inv_conn *c = inv_reader(inv, err);
	struct inv_q *st = c ? inv_stmt(c, SQL_BOOT_TOKEN_FIND, err) : NULL;
	if (!st)
		return INV_IO;
	inv_bind_text(st, ":hash", hash);
	inv_bind_text(st, ":kind", kind);
	inv_bind_int(st, ":now", inv_now_ms());
	bool row;
	enum inv_status s = inv_step(st, &row, "read boot token", err);
	if (s == INV_OK && row)
		inv_col_copy(st, 0, machine_id, INV_ID_LEN);
	inv_stmt_done(st);
	if (s != INV_OK)
		return s;
	if (!machine_id[0])
		return inv_fail(err, INV_NOT_FOUND, NULL, "unknown, used or expired %s token",
				kind);
	if (!consume)
		return INV_OK;
	/* The consuming update re-checks used_at = 0: of two racing uses
	 * exactly one changes the row. */
	struct exec_ctx x = {.sql = SQL_BOOT_TOKEN_USE,
			     .n = 2,
			     .args = {T(":hash", hash), I(":now", inv_now_ms())},
			     .must_change = true,
			     .what = "use boot token"};
	s = inv_write(inv, exec_fn, &x, err);
	if (s != INV_OK)
		machine_id[0] = 0;
	return s;
}

enum inv_status inv_boot_token_revoke(struct inv *inv, const char *machine_id, const char *kind,
				      struct inv_err *err)
{
	struct exec_ctx x = {
	    .sql = SQL_BOOT_TOKEN_REVOKE,
	    .n = 3,
	    .args = {T(":machine", machine_id), T(":kind", kind), I(":now", inv_now_ms())},
	    .what = "revoke boot tokens"};
	return inv_write(inv, exec_fn, &x, err);
}

/* ----------------------------------------------------------- boot grants */

struct grant_ctx {
	struct exec_ctx revoke, insert;
};

static enum inv_status grant_fn(struct inv_conn *c, void *arg, struct inv_err *err)
{
	struct grant_ctx *g = arg;
	enum inv_status s = exec_fn(c, &g->revoke, err);
	return s == INV_OK ? exec_fn(c, &g->insert, err) : s;
}

enum inv_status inv_boot_grant(struct inv *inv, const char *machine_id, int64_t expires_at,
			       struct inv_err *err)
{
	char hash[64];
	uuid_t u;
	uuid_generate_random(u);
	memcpy(hash, "grant-", 6);
	uuid_unparse_lower(u, hash + 6);
	int64_t now = inv_now_ms();
	struct grant_ctx g = {
	    .revoke = {.sql = SQL_BOOT_TOKEN_REVOKE,
		       .n = 3,
		       .args = {T(":machine", machine_id), T(":kind", NULL), I(":now", now)},
		       .what = "end the previous boot's tokens"},
	    .insert = {.sql = SQL_BOOT_TOKEN_INSERT,
		       .n = 5,
		       .args = {T(":hash", hash), T(":machine", machine_id), T(":kind", "grant"),
				I(":now", now), I(":expires_at", expires_at)},
		       .what = "open a boot grant"}};
	return inv_write(inv, grant_fn, &g, err);
}

enum inv_status inv_boot_grant_take(struct inv *inv, const char *machine_id, struct inv_err *err)
{
	/* Most boot scripts find no grant (a machine polled by iPXE again, a
	 * storm of reboots): a read answers those without queuing a write on
	 * the writer. A grant is committed before the engine powers the
	 * machine on, so a boot it caused always sees it here; the write below
	 * still takes it by compare-and-swap, once. */
	bool open = false;
	enum inv_status s = inv_boot_live(inv, machine_id, "grant", &open, err);
	if (s != INV_OK || !open)
		return s != INV_OK ? s : INV_NOT_FOUND;
	struct exec_ctx x = {
	    .sql = SQL_BOOT_GRANT_TAKE,
	    .n = 3,
	    .args = {T(":machine", machine_id), T(":kind", "grant"), I(":now", inv_now_ms())},
	    .must_change = true,
	    .what = "boot grant"};
	return inv_write(inv, exec_fn, &x, err);
}

enum inv_status inv_boot_live(struct inv *inv, const char *machine_id, const char *kind, bool *live,
			      struct inv_err *err)
{
	*live = false;
	struct inv_conn *c = inv_reader(inv, err);
	struct inv_q *st = c ? inv_stmt(c, SQL_BOOT_LIVE_COUNT, err) : NULL;
	if (!st)
		return INV_IO;
	inv_bind_text(st, ":machine", machine_id);
	inv_bind_text(st, ":kind", kind);
	inv_bind_int(st, ":now", inv_now_ms());
	bool row;
	enum inv_status s = inv_step(st, &row, "count live boot tokens", err);
	if (s == INV_OK && row)
		*live = inv_col_int64(st, 0) > 0;
	inv_stmt_done(st);
	return s;
}

enum inv_status inv_boot_tokens_purge(struct inv *inv, struct inv_err *err)
{
	struct exec_ctx x = {.sql = SQL_BOOT_TOKEN_PURGE,
			     .n = 1,
			     .args = {I(":now", inv_now_ms())},
			     .what = "purge boot tokens"};
	return inv_write(inv, exec_fn, &x, err);
}
