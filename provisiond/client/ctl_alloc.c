/* provisionctl allocation …: the service-facing calls (docs/api.md, Allocations). */
#include <stdlib.h>
#include <string.h>

#include "provisiond/client/ctl.h"

#define MAX_KEYS 64

static const struct ctl_col alloc_cols[] = {
    {.header = "ID", .path = "id"},
    {.header = "NAME", .path = "name"},
    {.header = "OWNER", .path = "owner"},
    {.header = "SKU", .path = "sku"},
    {.header = "COUNT", .path = "count"},
    {.header = "STATE", .path = "state"},
    {.header = "IMAGE", .path = "image"},
    {.header = "CREATED", .path = "created_at"},
    {.header = "LAST ERROR", .path = "last_error", .flags = CTL_COL_FREE},
};

static const struct ctl_col member_cols[] = {
    {.header = "ID", .path = "id"},
    {.header = "NAME", .path = "name"},
    {.header = "STATE", .path = "state"},
    {.header = "IP", .path = "ip"},
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

/* With --wait: polls until settled; exit 1 unless the state is `want`. */
static int wait_for(struct ctl *ctl, const char *id, long secs, const char *want)
{
	struct pc_error err;
	json_t *a = NULL;
	pc_status rc = pc_alloc_wait(ctl->client, id, secs, &a, &err);

	if (rc != PC_OK)
		return ctl_fail(ctl, rc, &err);
	show_alloc(ctl, a);
	const char *state = json_string_value(json_object_get(a, "state"));
	int code = CTL_EXIT_OK;
	if (state == NULL || strcmp(state, want) != 0) {
		const char *why = json_string_value(json_object_get(a, "last_error"));
		fprintf(ctl->err, "provisionctl: allocation %s is %s, not %s, after waiting%s%s\n",
			id, state ? state : "(unknown)", want, why ? ": " : "", why ? why : "");
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

static int run_create(struct ctl *ctl, const struct ctl_cmd *cmd, const struct ctl_args *a)
{
	struct pc_alloc_spec spec = {0};
	const char *keys[MAX_KEYS];
	struct pc_error err;
	json_t *alloc = NULL;
	long wait;
	int code = parse_spec(ctl, cmd, a, &spec, keys);

	if (code == CTL_EXIT_OK)
		code = parse_wait(ctl, cmd, a, &wait);
	if (code != CTL_EXIT_OK)
		return code;
	pc_status rc = pc_alloc_create(ctl->client, &spec, &alloc, &err);
	if (rc != PC_OK)
		return ctl_fail(ctl, rc, &err);
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
	struct pc_error err;
	json_t *body = NULL;

	(void)cmd;
	(void)a;
	pc_status rc = pc_alloc_list(ctl->client, &body, &err);
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
	if (wait > 0)
		code = wait_for(ctl, a->pos[0], wait, "released");
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
    {"idempotency-key", 0, CTL_VALUE, "KEY", "retry-safe key: same key, same allocation"},
    {"wait", 0, CTL_VALUE, "SECONDS", "wait until ready (exit 1 if failed or still deploying)"},
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
		"--idempotency-key build-42 --wait 900"},
    {.words = "allocation list",
     .synopsis = "",
     .run = run_list,
     .summary = "list allocations (a service token sees its own)"},
    {.words = "allocation show",
     .synopsis = "ID",
     .min_pos = 1,
     .max_pos = 1,
     .opts = show_opts,
     .run = run_show,
     .summary = "show an allocation and its machines"},
    {.words = "allocation release",
     .synopsis = "ID",
     .min_pos = 1,
     .max_pos = 1,
     .opts = release_opts,
     .run = run_release,
     .summary = "release an allocation (machines are cleaned and return to the pool)"},
    {.words = NULL},
};
