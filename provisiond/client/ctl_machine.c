/* provisionctl machine …: inventory, lifecycle actions, BMC power and boot. */
#include <stdlib.h>
#include <string.h>

#include "provisiond/client/ctl.h"

/* "dc1/r12/7": the parts of the location that are set, or NULL. */
static char *location_cell(const json_t *m)
{
	const json_t *loc = json_object_get(m, "location");
	const char *site = json_string_value(json_object_get(loc, "site"));
	const char *rack = json_string_value(json_object_get(loc, "rack"));
	json_t *unit = json_object_get(loc, "unit");
	char buf[160] = "";
	size_t n = 0;

	if (site != NULL && site[0])
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s", site);
	if (rack != NULL && rack[0] && n < sizeof(buf))
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s", n ? "/" : "", rack);
	if (json_is_integer(unit) && n < sizeof(buf))
		snprintf(buf + n, sizeof(buf) - n, "%s%" JSON_INTEGER_FORMAT, n ? "/" : "u",
			 json_integer_value(unit));
	return buf[0] ? strdup(buf) : NULL;
}

/* The maintenance reason of a machine in maintenance ("yes" without one). */
static char *maintenance_cell(const json_t *m)
{
	const char *why = json_string_value(json_object_get(m, "maintenance_reason"));

	if (!json_is_true(json_object_get(m, "maintenance")))
		return NULL;
	return strdup(why != NULL && why[0] ? why : "yes");
}

static const struct ctl_col machine_cols[] = {
    {.header = "ID", .path = "id", .flags = CTL_COL_OPTIONAL}, /* NAME names it too */
    {.header = "NAME", .path = "name"},
    {.header = "STATE", .path = "state"},
    {.header = "SKU", .path = "sku"},
    {.header = "POWER", .path = "power|power_state"},
    {.header = "LOCATION", .cell = location_cell},
    {.header = "MACS", .path = "macs"},
    {.header = "ALLOCATION",
     .path = "allocation_id|allocation.id|allocation",
     .flags = CTL_COL_OPTIONAL},
    {.header = "MAINTENANCE", .cell = maintenance_cell, .flags = CTL_COL_FREE},
    {.header = "LAST ERROR", .path = "last_error", .flags = CTL_COL_FREE},
};

static const struct ctl_col event_cols[] = {
    {.header = "TIME", .path = "time|at|created_at"},
    {.header = "FROM", .path = "from|from_state"},
    {.header = "TO", .path = "to|to_state"},
    {.header = "ACTOR", .path = "actor"},
    {.header = "REASON", .path = "reason", .flags = CTL_COL_FREE},
    {.header = "REQUEST ID", .path = "request_id", .flags = CTL_COL_OPTIONAL},
};

static const char *const actions[] = {
    "inspect", "clean",	 "power_on",	   "power_off",	      "reboot",
    "repair",  "retire", "maintenance_on", "maintenance_off", NULL,
};

static bool one_of(const char *v, const char *const *list)
{
	for (size_t i = 0; list[i] != NULL; i++)
		if (strcmp(v, list[i]) == 0)
			return true;
	return false;
}

/* Shows a returned object (or "ok") and frees it; maps rc to an exit code. */
static int finish(struct ctl *ctl, pc_status rc, json_t *body, const struct pc_error *err)
{
	int code = rc == PC_OK ? CTL_EXIT_OK : ctl_fail(ctl, rc, err);

	if (rc == PC_OK && body != NULL)
		ctl_show(ctl, body);
	else if (rc == PC_OK && !ctl->json)
		fprintf(ctl->out, "ok\n");
	json_decref(body);
	return code;
}

/* After a list of one rack: how many of its machines are in each state
 * (GET /v1/capacity?by=rack), for a tech watching the rack come up. Best
 * effort: the list is shown either way. */
static void rack_summary(struct ctl *ctl, const char *site, const char *rack)
{
	struct pc_error err;
	json_t *body = NULL, *item, *n;
	size_t i;
	const char *state;

	if (pc_call(ctl->client, "GET", "/v1/capacity?by=rack", NULL, &body, &err) != PC_OK)
		return;
	json_array_foreach(json_object_get(body, "racks"), i, item)
	{
		const char *s = json_string_value(json_object_get(item, "site"));
		if (strcmp(json_string_value(json_object_get(item, "rack")), rack) != 0 ||
		    (site && strcmp(s, site) != 0))
			continue;
		fprintf(ctl->out, "rack %s%s%s:", s, s[0] ? "/" : "", rack);
		json_object_foreach(json_object_get(item, "counts"), state, n)
		{
			if (strcmp(state, "in_maintenance") != 0)
				fprintf(ctl->out, " %" JSON_INTEGER_FORMAT " %s",
					json_integer_value(n), state);
		}
		fputc('\n', ctl->out);
	}
	json_decref(body);
}

static int run_list(struct ctl *ctl, const struct ctl_cmd *cmd, const struct ctl_args *a)
{
	struct pc_machine_filter f = {.state = ctl_arg(a, "state"),
				      .sku = ctl_arg(a, "sku"),
				      .owner = ctl_arg(a, "owner"),
				      .site = ctl_arg(a, "site"),
				      .rack = ctl_arg(a, "rack"),
				      .cursor = ctl_arg(a, "cursor")};
	const char *limit = ctl_arg(a, "limit");
	struct pc_error err;
	json_t *body = NULL;
	long n;

	if (limit != NULL && ctl_parse_long(limit, 1, 1000000, &n) != 0)
		return ctl_usage(ctl, cmd, "--limit must be a positive whole number");
	f.max_items = limit ? (size_t)n : 0;
	pc_status rc = pc_machine_list(ctl->client, &f, &body, &err);
	if (rc != PC_OK)
		return ctl_fail(ctl, rc, &err);
	ctl_show_list(ctl, body, machine_cols, ARRAY_SIZE(machine_cols));
	json_decref(body);
	if (f.rack && !ctl->json)
		rack_summary(ctl, f.site, f.rack);
	return CTL_EXIT_OK;
}

static int run_show(struct ctl *ctl, const struct ctl_cmd *cmd, const struct ctl_args *a)
{
	struct pc_error err;
	json_t *body = NULL;

	(void)cmd;
	pc_status rc = pc_machine_get(ctl->client, a->pos[0], &body, &err);
	return finish(ctl, rc, body, &err);
}

/* enroll (pos 0) and patch (pos 1: the id). */
static int run_body_cmd(struct ctl *ctl, const struct ctl_cmd *cmd, const struct ctl_args *a)
{
	bool patch = strcmp(cmd->words, "machine patch") == 0;
	struct pc_error err;
	json_t *body = NULL, *res = NULL;
	char *secret = NULL, msg[512];
	pc_status rc;

	if (ctl_machine_body(a, patch, &body, &secret, msg, sizeof(msg)) != 0)
		return ctl_usage(ctl, cmd, "%s", msg);
	ctl->secret = secret;
	if (patch)
		rc = pc_machine_patch(ctl->client, a->pos[0], body, &res, &err);
	else
		rc = pc_machine_enroll(ctl->client, body, &res, &err);
	int code = finish(ctl, rc, res, &err);
	ctl->secret = NULL;
	ctl_secret_free(secret);
	json_decref(body);
	return code;
}

static int run_events(struct ctl *ctl, const struct ctl_cmd *cmd, const struct ctl_args *a)
{
	struct pc_error err;
	json_t *body = NULL;

	(void)cmd;
	pc_status rc = pc_machine_events(ctl->client, a->pos[0], &body, &err);
	if (rc != PC_OK)
		return ctl_fail(ctl, rc, &err);
	ctl_show_list(ctl, body, event_cols, ARRAY_SIZE(event_cols));
	json_decref(body);
	return CTL_EXIT_OK;
}

static int run_action(struct ctl *ctl, const struct ctl_cmd *cmd, const struct ctl_args *a)
{
	struct pc_error err;
	json_t *body = NULL;

	if (!one_of(a->pos[0], cmd->choices))
		return ctl_usage(ctl, cmd, "unknown action '%s'", a->pos[0]);
	pc_status rc =
	    pc_machine_action(ctl->client, a->pos[1], a->pos[0], ctl_arg(a, "reason"), &body, &err);
	return finish(ctl, rc, body, &err);
}

static int run_maintenance(struct ctl *ctl, const struct ctl_cmd *cmd, const struct ctl_args *a)
{
	struct pc_error err;
	json_t *body = NULL;
	const char *mode = a->pos[0];

	if (strcmp(mode, "on") != 0 && strcmp(mode, "off") != 0)
		return ctl_usage(ctl, cmd, "maintenance takes on or off, not '%s'", mode);
	pc_status rc = pc_machine_action(ctl->client, a->pos[1],
					 mode[1] == 'n' ? "maintenance_on" : "maintenance_off",
					 ctl_arg(a, "reason"), &body, &err);
	return finish(ctl, rc, body, &err);
}

static int run_power(struct ctl *ctl, const struct ctl_cmd *cmd, const struct ctl_args *a)
{
	static const char *const verbs[] = {"on", "off", "cycle", "reset", "soft-off", NULL};
	struct pc_error err;
	json_t *body = NULL;
	const char *verb = a->pos[0];
	pc_status rc;

	if (strcmp(verb, "status") == 0)
		rc = pc_power_get(ctl->client, a->pos[1], &body, &err);
	else if (one_of(verb, verbs))
		rc = pc_power_set_force(ctl->client, a->pos[1],
					strcmp(verb, "soft-off") == 0 ? "soft" : verb,
					ctl_flag(a, "force"), &body, &err);
	else
		return ctl_usage(ctl, cmd, "unknown power command '%s'", verb);
	return finish(ctl, rc, body, &err);
}

static int run_bootdev(struct ctl *ctl, const struct ctl_cmd *cmd, const struct ctl_args *a)
{
	struct pc_error err;
	json_t *body = NULL;
	const char *dev = a->pos[0];

	if (strcmp(dev, "pxe") != 0 && strcmp(dev, "disk") != 0 && strcmp(dev, "cd") != 0)
		return ctl_usage(ctl, cmd, "boot device must be pxe, disk or cd, not '%s'", dev);
	pc_status rc =
	    pc_bootdev_set(ctl->client, a->pos[1], dev, ctl_flag(a, "persistent"), &body, &err);
	return finish(ctl, rc, body, &err);
}

static const struct ctl_opt list_opts[] = {
    {"state", 0, CTL_VALUE, "STATE", "only machines in STATE"},
    {"sku", 0, CTL_VALUE, "SKU", "only machines of SKU"},
    {"owner", 0, CTL_VALUE, "OWNER", "only machines allocated to OWNER"},
    {"site", 0, CTL_VALUE, "SITE", "only machines at SITE"},
    {"rack", 0, CTL_VALUE, "RACK", "only machines in RACK"},
    {"limit", 0, CTL_VALUE, "N", "at most N machines (default: all pages)"},
    {"cursor", 0, CTL_VALUE, "CURSOR", "start from CURSOR (from an earlier --limit)"},
    {NULL, 0, 0, NULL, NULL},
};

#define BODY_OPTS                                                                                  \
	{"name", 0, CTL_VALUE, "NAME", "machine name, e.g. r12-u07"},                              \
	    {"site", 0, CTL_VALUE, "SITE", "location: site"},                                      \
	    {"rack", 0, CTL_VALUE, "RACK", "location: rack"},                                      \
	    {"unit", 0, CTL_VALUE, "U", "location: rack unit (number)"},                           \
	    {"bmc-driver", 0, CTL_VALUE, "DRIVER", "ipmi, redfish, libvirt, fake"},                \
	    {"bmc-address", 0, CTL_VALUE, "HOST[:PORT]", "BMC address"},                           \
	    {"bmc-user", 0, CTL_VALUE, "USER", "BMC user name"},                                   \
	    {"bmc-password-file", 0, CTL_VALUE, "FILE", "read the BMC password from FILE"},        \
	    {"bmc-password-env", 0, CTL_VALUE, "VAR", "take the BMC password from $VAR"},          \
	    {"bmc-option", 0, CTL_MULTI, "KEY=VALUE", "BMC driver option"},                        \
	{                                                                                          \
		"json", 0, CTL_VALUE, "FILE|-", "send this JSON body instead of field flags"       \
	}

static const struct ctl_opt enroll_opts[] = {
    BODY_OPTS,
    {"mac", 0, CTL_MULTI, "MAC", "boot MAC address"},
    {NULL, 0, 0, NULL, NULL},
};

static const struct ctl_opt patch_opts[] = {
    BODY_OPTS,
    {"maintenance", 0, CTL_VALUE, "on|off", "set or clear maintenance"},
    {"maintenance-reason", 0, CTL_VALUE, "TEXT", "why (with --maintenance on)"},
    {NULL, 0, 0, NULL, NULL},
};

static const struct ctl_opt reason_opts[] = {
    {"reason", 0, CTL_VALUE, "TEXT", "reason, kept in the machine's events"},
    {NULL, 0, 0, NULL, NULL},
};

static const struct ctl_opt power_opts[] = {
    {"force", 0, CTL_FLAG, NULL, "also power off or cycle a machine serving an allocation"},
    {NULL, 0, 0, NULL, NULL},
};

static const struct ctl_opt console_opts[] = {
    {"follow", 'f', CTL_FLAG, NULL, "keep printing what the console writes (Ctrl-C ends)"},
    {NULL, 0, 0, NULL, NULL},
};

static const struct ctl_opt bootdev_opts[] = {
    {"persistent", 0, CTL_FLAG, NULL, "keep the device for every boot, not only the next"},
    {NULL, 0, 0, NULL, NULL},
};

static const char enroll_details[] =
    "The BMC password is never taken on the command line (it would show in ps):\n"
    "use --bmc-password-file or --bmc-password-env. --bmc-option values that look\n"
    "like numbers or true/false are sent as such. Example:\n"
    "  provisionctl machine enroll --name r12-u07 --mac 52:54:00:12:34:56 \\\n"
    "    --bmc-driver ipmi --bmc-address 10.0.0.7:623 --bmc-user admin \\\n"
    "    --bmc-password-file ./bmc.pw --site dc1 --rack r12 --unit 7";

static int run_delete(struct ctl *ctl, const struct ctl_cmd *cmd, const struct ctl_args *a)
{
	struct pc_error err;

	(void)cmd;
	pc_status rc = pc_machine_delete(ctl->client, a->pos[0], &err);
	if (rc != PC_OK)
		return ctl_fail(ctl, rc, &err);
	if (!ctl->json)
		fprintf(ctl->out, "deleted machine %s\n", a->pos[0]);
	return CTL_EXIT_OK;
}

const struct ctl_cmd ctl_machine_cmds[] = {
    {.words = "machine list",
     .synopsis = "",
     .opts = list_opts,
     .run = run_list,
     .summary = "list machines (all pages unless --limit)"},
    {.words = "machine show",
     .synopsis = "ID|NAME",
     .min_pos = 1,
     .max_pos = 1,
     .run = run_show,
     .summary = "show one machine"},
    {.words = "machine enroll",
     .synopsis = "",
     .opts = enroll_opts,
     .run = run_body_cmd,
     .summary = "enroll a machine",
     .details = enroll_details},
    {.words = "machine patch",
     .synopsis = "ID",
     .min_pos = 1,
     .max_pos = 1,
     .opts = patch_opts,
     .run = run_body_cmd,
     .summary = "change name, location, BMC or maintenance of a machine"},
    {.words = "machine events",
     .synopsis = "ID",
     .min_pos = 1,
     .max_pos = 1,
     .run = run_events,
     .summary = "list a machine's state transitions"},
    {.words = "machine console",
     .synopsis = "ID|NAME",
     .min_pos = 1,
     .max_pos = 1,
     .opts = console_opts,
     .run = ctl_run_console,
     .summary = "show a machine's serial console (the last bytes provisiond captured)",
     .details = "provisiond captures the console while the machine runs the agent or is\n"
		"deployed (inspecting, cleaning, deploying) and keeps the last\n"
		"[console] buffer_kib of it. --follow prints new output as it comes."},
    {.words = "machine action",
     .synopsis = "ACTION ID",
     .min_pos = 2,
     .max_pos = 2,
     .opts = reason_opts,
     .run = run_action,
     .choices = actions,
     .summary = "request a lifecycle action"},
    {.words = "machine power",
     .synopsis = "status|on|off|cycle|reset|soft-off ID",
     .min_pos = 2,
     .max_pos = 2,
     .opts = power_opts,
     .run = run_power,
     .summary = "read or set power through the BMC (waits for confirmation)"},
    {.words = "machine bootdev",
     .synopsis = "pxe|disk|cd ID",
     .min_pos = 2,
     .max_pos = 2,
     .opts = bootdev_opts,
     .run = run_bootdev,
     .summary = "set the next boot device"},
    {.words = "machine delete",
     .synopsis = "ID|NAME",
     .min_pos = 1,
     .max_pos = 1,
     .run = run_delete,
     .summary = "delete a machine enrolled and never allocated, failed or retired",
     .details = "What the machine was stays in the audit log (provisionctl audit)."},
    {.words = "machine maintenance",
     .synopsis = "on|off ID",
     .min_pos = 2,
     .max_pos = 2,
     .opts = reason_opts,
     .run = run_maintenance,
     .summary = "take a machine out of the pool, or return it"},
    {.words = NULL},
};
