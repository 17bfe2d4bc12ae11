/* provisionctl allocation …: the service-facing calls (docs/api.md, Allocations). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "provisiond/client/ctl.h"

#define MAX_KEYS 64

static const struct ctl_col alloc_cols[] = {
    {.header = "ID", .path = "id", .flags = CTL_COL_OPTIONAL}, /* NAME names it too */
    {.header = "NAME", .path = "name"},
    {.header = "OWNER", .path = "owner"},
    {.header = "SKU", .path = "sku"},
    {.header = "COUNT", .path = "count"},
    {.header = "STATE", .path = "state"},
    {.header = "IMAGE", .path = "image"},
    {.header = "CREATED", .path = "created_at", .flags = CTL_COL_OPTIONAL},
    {.header = "LAST ERROR", .path = "last_error", .flags = CTL_COL_FREE},
};

static const struct ctl_col member_cols[] = {
    {.header = "ID", .path = "id"},
    {.header = "NAME", .path = "name"},
    {.header = "STATE", .path = "state"},
    {.header = "IP", .path = "ip"},
    {.header = "ADDRESS", .path = "address", .flags = CTL_COL_OPTIONAL},
};

static void show_alloc(struct ctl *ctl, const json_t *alloc)
{
	json_t *machines = json_object_get(alloc, "machines");

	ctl_show(ctl, alloc);
	if (ctl->json || !json_is_array(machines) || json_array_size(machines) == 0)
		return;
	struct ctl_table *t = ctl_table_from_json(member_cols, ARRAY_SIZE(member_cols), machines);
	if (t != NULL) {
		fprintf(ctl->out, "\n");
		ctl_table_print(ctl->out, t, ctl_term_width(ctl->out));
	}
	ctl_table_free(t);
}

/* What --wait shows while it waits, on ctl->err: on a terminal a block of
 * lines redrawn in place, else one plain line per change. */
struct progress {
	struct ctl *ctl;
	bool tty;
	json_t *last; /* the previous answer (owned) */
	size_t lines; /* lines of the block drawn last (tty) */
	bool show;    /* false: -o json, print nothing */
};

static const char *str_of(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s != NULL && s[0] ? s : "-";
}

static const char *alloc_id(const json_t *a)
{
	return str_of(a, "id");
}

/* "2/4 machines active" of an allocation. */
static void active_count(const json_t *a, char *buf, size_t len)
{
	json_t *ms = json_object_get(a, "machines"), *m;
	size_t i, active = 0;

	json_array_foreach(ms, i, m)
	{
		active += strcmp(str_of(m, "state"), "active") == 0;
	}
	snprintf(buf, len, "%zu/%zu machines active", active, json_array_size(ms));
}

/* The state `name` had in the allocation `a`, or NULL. */
static const char *member_state(const json_t *a, const char *name)
{
	json_t *ms = json_object_get(a, "machines"), *m;
	size_t i;

	json_array_foreach(ms, i, m)
	{
		if (strcmp(str_of(m, "name"), name) == 0)
			return str_of(m, "state");
	}
	return NULL;
}

static void draw_plain(struct progress *p, const json_t *a)
{
	FILE *f = p->ctl->err;
	const char *was = p->last ? str_of(p->last, "state") : NULL, *now = str_of(a, "state");
	char count[64];
	json_t *m;
	size_t i;

	active_count(a, count, sizeof(count));
	if (was == NULL)
		fprintf(f, "%s: %s, %s\n", alloc_id(a), now, count);
	json_array_foreach(json_object_get(a, "machines"), i, m)
	{
		const char *name = str_of(m, "name"), *st = str_of(m, "state");
		const char *before = p->last ? member_state(p->last, name) : NULL;
		if (before == NULL)
			fprintf(f, "  %s  %s\n", name, st);
		else if (strcmp(before, st) != 0)
			fprintf(f, "  %s  %s -> %s\n", name, before, st);
	}
	if (was != NULL && strcmp(was, now) != 0)
		fprintf(f, "%s: %s -> %s, %s\n", alloc_id(a), was, now, count);
}

/* Terminal: move up over the last block and draw it again, each line
 * cleared to its end. */
static void draw_tty(struct progress *p, const json_t *a)
{
	FILE *f = p->ctl->err;
	char count[64];
	json_t *m;
	size_t i;

	if (p->lines > 0)
		fprintf(f, "\033[%zuF\033[J", p->lines); /* up, and clear below */
	active_count(a, count, sizeof(count));
	fprintf(f, "\033[K%s: %s, %s\n", alloc_id(a), str_of(a, "state"), count);
	p->lines = 1;
	json_array_foreach(json_object_get(a, "machines"), i, m)
	{
		fprintf(f, "\033[K  %-20s %s\n", str_of(m, "name"), str_of(m, "state"));
		p->lines++;
	}
	fflush(f);
}

static void on_progress(void *ctx, const json_t *a)
{
	struct progress *p = ctx;

	if (!p->show)
		return;
	if (p->tty)
		draw_tty(p, a);
	else
		draw_plain(p, a);
	json_decref(p->last);
	p->last = json_deep_copy(a);
}

/* With --wait: polls until settled, showing progress; exit 1 unless the
 * state is `want`. */
static int wait_for(struct ctl *ctl, const char *id, long secs, const char *want)
{
	struct progress p = {.ctl = ctl, .tty = isatty(fileno(ctl->err)), .show = !ctl->json};
	struct pc_error err;
	json_t *a = NULL;
	pc_status rc = pc_alloc_wait_progress(ctl->client, id, secs, on_progress, &p, &a, &err);

	json_decref(p.last);
	if (rc != PC_OK)
		return ctl_fail(ctl, rc, &err);
	show_alloc(ctl, a);
	const char *state = json_string_value(json_object_get(a, "state"));
	int code = CTL_EXIT_OK;
	if (state == NULL || strcmp(state, want) != 0) {
		const char *why = json_string_value(json_object_get(a, "last_error"));
		bool has_why = why != NULL && why[0] != '\0';
		fprintf(ctl->err, "provisionctl: allocation %s is %s, not %s, after waiting%s%s\n",
			id, state ? state : "(unknown)", want, has_why ? ": " : "",
			has_why ? why : "");
		code = CTL_EXIT_API;
	}
	json_decref(a);
	return code;
}

static int parse_wait(struct ctl *ctl, const struct ctl_cmd *cmd, const struct ctl_args *a,
		      long *wait)
{
	const char *w = ctl_arg(a, "wait");

	*wait = 0;
	if (w != NULL && ctl_parse_long(w, 1, 86400, wait) != 0)
		return ctl_usage(ctl, cmd, "--wait takes seconds (1-86400)");
	return CTL_EXIT_OK;
}

/* --spread ACROSS[:MODE] into s (buf holds ACROSS); the server checks
 * the names. */
static int parse_spread(struct ctl *ctl, const struct ctl_cmd *cmd, const char *arg,
			struct pc_alloc_spec *s, char *buf, size_t len)
{
	if (arg == NULL)
		return CTL_EXIT_OK;
	const char *colon = strchr(arg, ':');
	size_t n = colon ? (size_t)(colon - arg) : strlen(arg);
	if (n == 0 || n >= len || (colon && (colon[1] == '\0' || strchr(colon + 1, ':'))))
		return ctl_usage(ctl, cmd,
				 "--spread takes rack or site, and :strict or "
				 ":best_effort (rack:best_effort)");
	memcpy(buf, arg, n);
	buf[n] = '\0';
	s->spread_across = buf;
	s->spread_mode = colon ? colon + 1 : NULL;
	return CTL_EXIT_OK;
}

/* --address (one per machine), --gateway, --nameserver: a static
 * network (the server checks the addresses). */
struct net_args {
	const char *addresses[256], *nameservers[MAX_KEYS];
};
static int parse_network(struct ctl *ctl, const struct ctl_cmd *cmd, const struct ctl_args *a,
			 struct pc_alloc_spec *s, struct net_args *n)
{
	s->n_addresses = ctl_arg_all(a, "address", n->addresses, ARRAY_SIZE(n->addresses));
	s->addresses = n->addresses;
	s->gateway = ctl_arg(a, "gateway");
	s->n_nameservers = ctl_arg_all(a, "nameserver", n->nameservers, MAX_KEYS);
	s->nameservers = n->nameservers;
	if (s->n_addresses == 0 && (s->gateway != NULL || s->n_nameservers > 0))
		return ctl_usage(ctl, cmd, "--gateway and --nameserver go with --address");
	return CTL_EXIT_OK;
}

static int parse_spec(struct ctl *ctl, const struct ctl_cmd *cmd, const struct ctl_args *a,
		      struct pc_alloc_spec *s, const char **keys)
{
	const char *count = ctl_arg(a, "count"), *min = ctl_arg(a, "min-count");

	s->sku = ctl_arg(a, "sku");
	s->image = ctl_arg(a, "image");
	s->name = ctl_arg(a, "name");
	s->idempotency_key = ctl_arg(a, "idempotency-key");
	s->n_ssh_keys = ctl_arg_all(a, "ssh-key", keys, MAX_KEYS);
	s->ssh_keys = keys;
	if (s->sku == NULL || s->image == NULL || count == NULL)
		return ctl_usage(ctl, cmd, "--sku, --count and --image are required");
	if (ctl_parse_long(count, 1, 100000, &s->count) != 0)
		return ctl_usage(ctl, cmd, "--count must be a whole number from 1");
	if (min != NULL && ctl_parse_long(min, 1, s->count, &s->min_count) != 0)
		return ctl_usage(ctl, cmd, "--min-count must be from 1 to --count");
	return CTL_EXIT_OK;
}

/* --user-data FILE into *out (malloc'd; NULL without the option). The
 * server checks that it is text of at most 64 KiB. */
static int read_user_data(struct ctl *ctl, const char *path, char **out)
{
	char errbuf[256];
	size_t len;
	*out = NULL;
	if (path == NULL)
		return CTL_EXIT_OK;
	if (ctl_read_file(path, 64 * 1024, out, &len, errbuf, sizeof errbuf) != 0) {
		fprintf(ctl->err, "provisionctl: --user-data: %s\n", errbuf);
		return CTL_EXIT_USAGE;
	}
	return CTL_EXIT_OK;
}

/* A replayed Idempotency-Key: the allocation is the one made then. */
static void say_replay(struct ctl *ctl, const char *key, const json_t *alloc)
{
	fprintf(ctl->err,
		"provisionctl: Idempotency-Key '%s' was used before: this is allocation %s "
		"(%s), now %s; nothing new was created\n",
		key ? key : "", alloc_id(alloc), str_of(alloc, "name"), str_of(alloc, "state"));
}

static int run_create(struct ctl *ctl, const struct ctl_cmd *cmd, const struct ctl_args *a)
{
	struct pc_alloc_spec spec = {0};
	const char *keys[MAX_KEYS];
	char across[32];
	struct pc_error err;
	json_t *alloc = NULL;
	bool replayed = false;
	long wait;
	int code = parse_spec(ctl, cmd, a, &spec, keys);

	if (code == CTL_EXIT_OK)
		code = parse_spread(ctl, cmd, ctl_arg(a, "spread"), &spec, across, sizeof(across));
	struct net_args net;
	if (code == CTL_EXIT_OK)
		code = parse_network(ctl, cmd, a, &spec, &net);

	if (code == CTL_EXIT_OK)
		code = parse_wait(ctl, cmd, a, &wait);
	char *user_data = NULL;
	if (code == CTL_EXIT_OK)
		code = read_user_data(ctl, ctl_arg(a, "user-data"), &user_data);
	if (code != CTL_EXIT_OK)
		return code;
	spec.user_data = user_data;
	pc_status rc = pc_alloc_create_ex(ctl->client, &spec, &alloc, &replayed, &err);
	free(user_data);
	if (rc != PC_OK)
		return ctl_fail(ctl, rc, &err);
	if (replayed)
		say_replay(ctl, spec.idempotency_key, alloc);
	const char *id = json_string_value(json_object_get(alloc, "id"));
	if (wait > 0 && id != NULL) {
		if (!ctl->json)
			fprintf(ctl->err, "allocation %s accepted; waiting up to %ld s\n", id,
				wait);
		code = wait_for(ctl, id, wait, "ready");
	} else {
		show_alloc(ctl, alloc);
	}
	json_decref(alloc);
	return code;
}

static int run_list(struct ctl *ctl, const struct ctl_cmd *cmd, const struct ctl_args *a)
{
	struct pc_alloc_filter f = {.state = ctl_arg(a, "state"),
				    .owner = ctl_arg(a, "owner"),
				    .cursor = ctl_arg(a, "cursor")};
	const char *limit = ctl_arg(a, "limit");
	struct pc_error err;
	json_t *body = NULL;
	long n;

	if (limit != NULL && ctl_parse_long(limit, 1, 1000000, &n) != 0)
		return ctl_usage(ctl, cmd, "--limit must be a positive whole number");
	f.max_items = limit ? (size_t)n : 0;
	pc_status rc = pc_alloc_list_filter(ctl->client, &f, &body, &err);
	if (rc != PC_OK)
		return ctl_fail(ctl, rc, &err);
	ctl_show_list(ctl, body, alloc_cols, ARRAY_SIZE(alloc_cols));
	json_decref(body);
	return CTL_EXIT_OK;
}

static int run_show(struct ctl *ctl, const struct ctl_cmd *cmd, const struct ctl_args *a)
{
	struct pc_error err;
	json_t *alloc = NULL;
	long wait;
	int code = parse_wait(ctl, cmd, a, &wait);

	if (code != CTL_EXIT_OK)
		return code;
	pc_status rc = pc_alloc_get(ctl->client, a->pos[0], wait, &alloc, &err);
	if (rc != PC_OK)
		return ctl_fail(ctl, rc, &err);
	show_alloc(ctl, alloc);
	json_decref(alloc);
	return CTL_EXIT_OK;
}

static int run_release(struct ctl *ctl, const struct ctl_cmd *cmd, const struct ctl_args *a)
{
	struct pc_error err;
	json_t *body = NULL;
	long wait;
	int code = parse_wait(ctl, cmd, a, &wait);

	if (code != CTL_EXIT_OK)
		return code;
	pc_status rc = pc_alloc_release(ctl->client, a->pos[0], &body, &err);
	if (rc != PC_OK)
		return ctl_fail(ctl, rc, &err);
	/* by id from here on: a name may be taken by a newer allocation */
	const char *id = json_string_value(json_object_get(body, "id"));
	if (wait > 0)
		code = wait_for(ctl, id ? id : a->pos[0], wait, "released");
	else if (body != NULL)
		show_alloc(ctl, body);
	else if (!ctl->json)
		fprintf(ctl->out, "releasing %s\n", a->pos[0]);
	json_decref(body);
	return code;
}

static const struct ctl_opt create_opts[] = {
    {"sku", 0, CTL_VALUE, "SKU", "machine SKU (required)"},
    {"count", 0, CTL_VALUE, "N", "machines wanted (required)"},
    {"min-count", 0, CTL_VALUE, "M", "accept as few as M (default: N)"},
    {"image", 0, CTL_VALUE, "IMAGE", "image name (required)"},
    {"name", 0, CTL_VALUE, "NAME", "allocation name"},
    {"ssh-key", 0, CTL_MULTI, "KEY", "SSH public key for the machines"},
    {"user-data", 0, CTL_VALUE, "FILE",
     "cloud-init user data for the machines' config drive (- = stdin; at most 64 KiB)"},
    {"idempotency-key", 0, CTL_VALUE, "KEY", "retry-safe key: same key, same allocation"},
    {"address", 0, CTL_MULTI, "CIDR",
     "static address of a machine with its prefix length (10.0.0.5/24): once per machine, "
     "in order (default: DHCP)"},
    {"gateway", 0, CTL_VALUE, "IP", "default gateway of the static addresses"},
    {"nameserver", 0, CTL_MULTI, "IP", "DNS server for the static addresses"},
    {"spread", 0, CTL_VALUE, "ACROSS[:MODE]",
     "machines in distinct racks or sites: rack, site, rack:best_effort (default mode strict)"},
    {"wait", 0, CTL_VALUE, "SECONDS",
     "wait until ready, showing each machine's progress (exit 1 if failed or still deploying)"},
    {NULL, 0, 0, NULL, NULL},
};

static const struct ctl_opt list_opts[] = {
    {"state", 0, CTL_VALUE, "STATE", "only allocations in STATE (deploying, ready, failed, ...)"},
    {"owner", 0, CTL_VALUE, "OWNER", "only allocations of OWNER (a service sees its own)"},
    {"limit", 0, CTL_VALUE, "N", "at most N allocations (default: all pages)"},
    {"cursor", 0, CTL_VALUE, "CURSOR", "start from CURSOR (from an earlier --limit)"},
    {NULL, 0, 0, NULL, NULL},
};

static const struct ctl_opt show_opts[] = {
    {"wait", 0, CTL_VALUE, "SECONDS", "long-poll: answer when the state changes"},
    {NULL, 0, 0, NULL, NULL},
};

static const struct ctl_opt release_opts[] = {
    {"wait", 0, CTL_VALUE, "SECONDS", "wait until released (exit 1 otherwise)"},
    {NULL, 0, 0, NULL, NULL},
};

const struct ctl_cmd ctl_alloc_cmds[] = {
    {.words = "allocation create",
     .synopsis = "",
     .opts = create_opts,
     .run = run_create,
     .summary = "reserve machines of a SKU and deploy an image on them",
     .details = "Example:\n  provisionctl allocation create --sku lab.small --count 2 "
		"--image lab-image \\\n    --ssh-key \"$(cat ~/.ssh/id_ed25519.pub)\" "
		"--idempotency-key build-42 --wait 900\n"
		"  provisionctl allocation create --sku lab.small --count 3 --image lab-image "
		"--spread rack\n"
		"  provisionctl allocation create --sku lab.small --count 2 --image debian-12 "
		"\\\n    --address 10.0.0.50/24 --address 10.0.0.51/24 --gateway 10.0.0.1 "
		"--nameserver 10.0.0.1"},
    {.words = "allocation list",
     .synopsis = "",
     .opts = list_opts,
     .run = run_list,
     .summary = "list allocations (a service token sees its own)"},
    {.words = "allocation show",
     .synopsis = "ID|NAME",
     .min_pos = 1,
     .max_pos = 1,
     .opts = show_opts,
     .run = run_show,
     .summary = "show an allocation and its machines"},
    {.words = "allocation release",
     .synopsis = "ID|NAME",
     .min_pos = 1,
     .max_pos = 1,
     .opts = release_opts,
     .run = run_release,
     .summary = "release an allocation (machines are cleaned and return to the pool)"},
    {.words = NULL},
};
