/* provisionctl token …: API tokens (admin only on the server side). */
#include <stdlib.h>
#include <string.h>

#include "provisiond/client/ctl.h"

/* No LAST USED: the server does not record when a token was last used
 * (that would be a write on every request). */
static const struct ctl_col token_cols[] = {
    {.header = "ID", .path = "id"},
    {.header = "NAME", .path = "name"},
    {.header = "ROLE", .path = "role"},
    {.header = "OWNER", .path = "owner"},
    {.header = "CREATED", .path = "created_at"},
};

static int run_create(struct ctl *ctl, const struct ctl_cmd *cmd, const struct ctl_args *a)
{
	const char *role = ctl_arg(a, "role");
	struct pc_error err;
	json_t *tok = NULL;

	if (role == NULL)
		return ctl_usage(ctl, cmd, "--role is required (admin, tech or service)");
	pc_status rc =
	    pc_token_create(ctl->client, role, ctl_arg(a, "owner"), ctl_arg(a, "name"), &tok, &err);
	if (rc != PC_OK)
		return ctl_fail(ctl, rc, &err);
	ctl_show(ctl, tok);
	if (!ctl->json)
		fprintf(ctl->err, "Store the token now: the server does not show it again.\n");
	json_decref(tok);
	return CTL_EXIT_OK;
}

static int run_list(struct ctl *ctl, const struct ctl_cmd *cmd, const struct ctl_args *a)
{
	(void)cmd;
	(void)a;
	return ctl_call_list(ctl, "/v1/tokens", NULL, 0, NULL, 0, token_cols,
			     ARRAY_SIZE(token_cols));
}

static int run_delete(struct ctl *ctl, const struct ctl_cmd *cmd, const struct ctl_args *a)
{
	struct pc_error err;

	(void)cmd;
	pc_status rc = pc_token_delete(ctl->client, a->pos[0], &err);
	if (rc != PC_OK)
		return ctl_fail(ctl, rc, &err);
	if (!ctl->json)
		fprintf(ctl->out, "deleted token %s\n", a->pos[0]);
	return CTL_EXIT_OK;
}

static const struct ctl_opt create_opts[] = {
    {"role", 0, CTL_VALUE, "admin|tech|service", "role of the new token (required)"},
    {"owner", 0, CTL_VALUE, "OWNER", "owner a service token acts for"},
    {"name", 0, CTL_VALUE, "NAME", "label for the token"},
    {NULL, 0, 0, NULL, NULL},
};

const struct ctl_cmd ctl_token_cmds[] = {
    {.words = "token create",
     .synopsis = "",
     .opts = create_opts,
     .run = run_create,
     .summary = "create a token (the secret is printed once)",
     .details = "Example:\n  provisionctl token create --role service --owner search "
		"--name search-ci"},
    {.words = "token list",
     .synopsis = "",
     .run = run_list,
     .summary = "list tokens (never their secrets)"},
    {.words = "token delete",
     .synopsis = "ID",
     .min_pos = 1,
     .max_pos = 1,
     .run = run_delete,
     .summary = "revoke a token"},
    {.words = NULL},
};
