/* provisionctl fleet-wide commands: sku, capacity, quota, audit, freeze,
 * replica, health, metrics, version. */
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "provisiond/client/ctl.h"

#define AUDIT_DEFAULT_LIMIT 100

/* "machine:fc5c…": the audit row's target_type and target_id. */
static char *target_cell(const json_t *row)
{
	const char *type = json_string_value(json_object_get(row, "target_type"));
	const char *id = json_string_value(json_object_get(row, "target_id"));
	char *s = NULL;

	if ((type == NULL || !type[0]) && (id == NULL || !id[0]))
		return NULL;
	if (asprintf(&s, "%s%s%s", type && type[0] ? type : "", type && type[0] ? ":" : "",
		     id ? id : "") < 0)
		return NULL;
	return s;
}

static const struct ctl_col audit_cols[] = {
    {.header = "TIME", .path = "time|at|created_at"},
    {.header = "ACTOR", .path = "actor"},
    {.header = "ACTION", .path = "action|what|event"},
    {.header = "TARGET", .cell = target_cell},
    {.header = "REQUEST ID", .path = "request_id", .flags = CTL_COL_OPTIONAL},
};

static const struct ctl_col quota_cols[] = {
    {.header = "SKU", .path = "sku|name"},
    {.header = "MACHINES", .path = "machines|limit"},
    {.header = "USED", .path = "used|in_use"},
};

static const struct ctl_col replica_cols[] = {
    {.header = "NAME", .path = "name"},
    {.header = "STATUS", .path = "status"},
    {.header = "EPOCH", .path = "epoch"},
    {.header = "MACHINES", .path = "machines"},
    {.header = "HEARTBEAT AGE MS", .path = "heartbeat_age_ms"},
    {.header = "ADDRESS", .path = "address"},
};

/* Counts-by-state view of a list body (sku list, capacity). */
static int show_counts(struct ctl *ctl, const char *path, const char *name_header)
{
	struct pc_error err;
	json_t *body = NULL, *items;
	pc_status rc = pc_call(ctl->client, "GET", path, NULL, &body, &err);

	if (rc != PC_OK)
		return ctl_fail(ctl, rc, &err);
	if (ctl->json) {
		ctl_print_json(ctl->out, body);
		json_decref(body);
		return CTL_EXIT_OK;
	}
	json_t *inner = json_object_get(body, "skus");
	items = ctl_items_of(inner ? inner : body, "sku");
	struct ctl_table *t = ctl_counts_table(name_header, "name|sku", items);
	if (t != NULL)
		ctl_table_print(ctl->out, t, ctl_term_width(ctl->out));
	ctl_table_free(t);
	json_decref(items);
	json_decref(body);
	return CTL_EXIT_OK;
}

static int run_sku_list(struct ctl *ctl, const struct ctl_cmd *cmd, const struct ctl_args *a)
{
	(void)cmd;
	(void)a;
	return show_counts(ctl, "/v1/skus", "SKU");
}

/* GET /v1/capacity?by=rack as a table: one row per site/rack; with sites,
 * ?by=site: one row per site. */
static int show_rack_counts(struct ctl *ctl, bool sites)
{
	struct pc_error err;
	json_t *body = NULL, *item;
	size_t i;
	pc_status rc =
	    pc_call(ctl->client, "GET", sites ? "/v1/capacity?by=site" : "/v1/capacity?by=rack",
		    NULL, &body, &err);

	if (rc != PC_OK)
		return ctl_fail(ctl, rc, &err);
	if (ctl->json) {
		ctl_print_json(ctl->out, body);
		json_decref(body);
		return CTL_EXIT_OK;
	}
	json_t *racks = json_object_get(body, sites ? "sites" : "racks");
	json_array_foreach(racks, i, item)
	{
		const char *site = json_string_value(json_object_get(item, "site"));
		const char *rack = json_string_value(json_object_get(item, "rack"));
		char name[160];
		if (sites)
			snprintf(name, sizeof name, "%s", site && *site ? site : "(no site)");
		else
			snprintf(name, sizeof name, "%s/%s", site && *site ? site : "-",
				 rack && *rack ? rack : "(no rack)");
		json_object_set_new(item, "name", json_string(name));
	}
	struct ctl_table *t = ctl_counts_table(sites ? "SITE" : "SITE/RACK", "name", racks);
	if (t != NULL)
		ctl_table_print(ctl->out, t, ctl_term_width(ctl->out));
	ctl_table_free(t);
	json_decref(body);
	return CTL_EXIT_OK;
}

static int run_capacity(struct ctl *ctl, const struct ctl_cmd *cmd, const struct ctl_args *a)
{
	if (ctl_flag(a, "by-rack") && ctl_flag(a, "by-site"))
		return ctl_usage(ctl, cmd, "--by-rack or --by-site, not both");
	if (ctl_flag(a, "by-rack") || ctl_flag(a, "by-site"))
		return show_rack_counts(ctl, ctl_flag(a, "by-site"));
	return show_counts(ctl, "/v1/capacity", "SKU");
}

static int run_sku_show(struct ctl *ctl, const struct ctl_cmd *cmd, const struct ctl_args *a)
{
	char *path = pc_path_new("/v1/skus", a->pos[0], PC_END);
	int code = ctl_call_show(ctl, "GET", path, NULL);

	(void)cmd;
	free(path);
	return code;
}

static int run_quota_set(struct ctl *ctl, const struct ctl_cmd *cmd, const struct ctl_args *a)
{
	long n = -1; /* "none": the API removes the quota */

	if (strcmp(a->pos[2], "none") != 0 && ctl_parse_long(a->pos[2], 0, 1000000, &n) != 0)
		return ctl_usage(ctl, cmd, "MACHINES must be a whole number from 0, or none");
	char *path = pc_path_new("/v1/owners", a->pos[0], "quotas", a->pos[1], PC_END);
	json_t *body = json_pack("{s:I}", "machines", (json_int_t)n);
	int code = ctl_call_show(ctl, "PUT", body ? path : NULL, body);
	json_decref(body);
	free(path);
	return code;
}

static int run_quota_list(struct ctl *ctl, const struct ctl_cmd *cmd, const struct ctl_args *a)
{
	char *path = pc_path_new("/v1/owners", a->pos[0], "quotas", PC_END);
	struct pc_error err;
	json_t *body = NULL;
	int code = CTL_EXIT_OK;

	(void)cmd;
	if (path == NULL)
		return ctl_call_show(ctl, "GET", NULL, NULL); /* reports out of memory */
	pc_status rc = pc_call(ctl->client, "GET", path, NULL, &body, &err);
	free(path);
	if (rc != PC_OK)
		return ctl_fail(ctl, rc, &err);
	json_t *inner = json_object_get(body, "quotas");
	json_t *items = ctl_items_of(inner ? inner : body, "sku");
	json_t *list = json_pack("{s:O?}", "items", items);
	if (ctl->json)
		ctl_print_json(ctl->out, body);
	else
		code = ctl_show_list(ctl, list, quota_cols, ARRAY_SIZE(quota_cols));
	json_decref(list);
	json_decref(items);
	json_decref(body);
	return code;
}

/* --since: an RFC 3339 time as it is, or N followed by s, m, h or d ("2h")
 * meaning that long ago, into buf. false when it is neither. */
static bool since_time(const char *v, char *buf, size_t len)
{
	static const struct {
		char unit;
		int64_t ms;
	} units[] = {{'s', 1000}, {'m', 60000}, {'h', 3600000}, {'d', 86400000}};
	size_t n = strlen(v);
	int64_t ms;
	long num;
	char digits[24];

	if (util_parse_iso_time(v, &ms) == 0) {
		snprintf(buf, len, "%s", v);
		return true;
	}
	if (n < 2 || n >= sizeof(digits))
		return false;
	memcpy(digits, v, n - 1);
	digits[n - 1] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(units); i++)
		if (v[n - 1] == units[i].unit && ctl_parse_long(digits, 0, 100000000, &num) == 0) {
			util_iso_time(util_wall_ms() - (int64_t)num * units[i].ms, buf, len);
			return true;
		}
	return false;
}

static int run_audit(struct ctl *ctl, const struct ctl_cmd *cmd, const struct ctl_args *a)
{
	const char *limit = ctl_arg(a, "limit"), *since = ctl_arg(a, "since");
	char when[UTIL_ISO_TIME_LEN];
	long n = AUDIT_DEFAULT_LIMIT;

	if (limit != NULL && ctl_parse_long(limit, 1, 1000000, &n) != 0)
		return ctl_usage(ctl, cmd, "--limit must be a positive whole number");
	if (since != NULL && !since_time(since, when, sizeof(when)))
		return ctl_usage(ctl, cmd,
				 "--since takes an RFC 3339 time (2026-11-22T13:00:00Z) or an "
				 "age such as 90m, 2h or 7d");
	struct pc_query q[] = {
	    {"order", ctl_flag(a, "oldest-first") ? "asc" : "desc"},
	    {"since", since ? when : NULL},
	    {"actor", ctl_arg(a, "actor")},
	    {"action", ctl_arg(a, "action")},
	    {"target", ctl_arg(a, "target")},
	};
	return ctl_call_list(ctl, "/v1/audit", q, ARRAY_SIZE(q), ctl_arg(a, "cursor"), (size_t)n,
			     audit_cols, ARRAY_SIZE(audit_cols));
}

static int run_replica_list(struct ctl *ctl, const struct ctl_cmd *cmd, const struct ctl_args *a)
{
	struct pc_error err;
	json_t *body = NULL;
	(void)cmd;
	(void)a;
	pc_status rc = pc_call(ctl->client, "GET", "/v1/replicas", NULL, &body, &err);
	if (rc != PC_OK)
		return ctl_fail(ctl, rc, &err);
	int code = CTL_EXIT_OK;
	if (ctl->json)
		ctl_print_json(ctl->out, body);
	else
		code = ctl_show_list(ctl, body, replica_cols, ARRAY_SIZE(replica_cols));
	json_decref(body);
	return code;
}

static int run_freeze(struct ctl *ctl, const struct ctl_cmd *cmd, const struct ctl_args *a)
{
	const char *mode = a->pos[0], *reason = ctl_arg(a, "reason");

	if (strcmp(mode, "status") == 0)
		return ctl_call_show(ctl, "GET", "/v1/freeze", NULL);
	if (strcmp(mode, "on") != 0 && strcmp(mode, "off") != 0)
		return ctl_usage(ctl, cmd, "freeze takes on, off or status");
	if (mode[1] == 'n' && reason == NULL)
		return ctl_usage(ctl, cmd, "freeze on needs --reason");
	json_t *body = json_pack("{s:b, s:s*}", "frozen", mode[1] == 'n', "reason", reason);
	int code = ctl_call_show(ctl, "PUT", body ? "/v1/freeze" : NULL, body);
	json_decref(body);
	return code;
}

/* One health endpoint: adds {"status":N,"body":…} to out; 0 if 2xx. */
static pc_status probe(struct ctl *ctl, const char *path, json_t *out, struct pc_error *err)
{
	struct pc_request req = {.method = "GET", .path = path};
	struct pc_response resp;
	pc_status rc = pc_request(ctl->client, &req, &resp, err);

	if (rc != PC_E_TRANSPORT) {
		json_t *b =
		    resp.json ? json_incref(resp.json) : json_string(resp.text ? resp.text : "");
		json_object_set_new(
		    out, path + 1,
		    json_pack("{s:I, s:o?}", "status", (json_int_t)resp.status, "body", b));
	}
	pc_response_clear(&resp);
	return rc;
}

static void print_health(FILE *out, const json_t *h)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)h, key, v)
	{
		json_t *body = json_object_get(v, "body");
		char *text =
		    json_is_string(body) ? strdup(json_string_value(body)) : ctl_json_cell(body);
		if (text != NULL)
			text[strcspn(text, "\r\n")] = '\0';
		fprintf(out, "%-8s %" JSON_INTEGER_FORMAT "  %s\n", key,
			json_integer_value(json_object_get(v, "status")),
			text && text[0] ? text : "-");
		free(text);
	}
}

static int run_health(struct ctl *ctl, const struct ctl_cmd *cmd, const struct ctl_args *a)
{
	json_t *h = json_object();
	struct pc_error err;
	pc_status r1, r2 = PC_OK;

	(void)cmd;
	(void)a;
	r1 = probe(ctl, "/healthz", h, &err);
	if (r1 != PC_E_TRANSPORT)
		r2 = probe(ctl, "/readyz", h, &err);
	int code = (r1 == PC_E_TRANSPORT || r2 == PC_E_TRANSPORT)
		       ? ctl_fail(ctl, PC_E_TRANSPORT, &err)
		   : (r1 != PC_OK || r2 != PC_OK) ? CTL_EXIT_API
						  : CTL_EXIT_OK;
	if (code != CTL_EXIT_TRANSPORT) {
		if (ctl->json)
			ctl_print_json(ctl->out, h);
		else
			print_health(ctl->out, h);
	}
	json_decref(h);
	return code;
}

static int run_metrics(struct ctl *ctl, const struct ctl_cmd *cmd, const struct ctl_args *a)
{
	struct pc_request req = {.method = "GET", .path = "/metrics"};
	struct pc_response resp;
	struct pc_error err;

	(void)cmd;
	(void)a;
	pc_status rc = pc_request(ctl->client, &req, &resp, &err);
	if (rc == PC_OK && resp.text != NULL)
		fputs(resp.text, ctl->out);
	pc_response_clear(&resp);
	return rc == PC_OK ? CTL_EXIT_OK : ctl_fail(ctl, rc, &err);
}

static int run_version(struct ctl *ctl, const struct ctl_cmd *cmd, const struct ctl_args *a)
{
	(void)cmd;
	(void)a;
	fprintf(ctl->out, "provisionctl %s (libcurl %s, jansson %s)\n", PC_VERSION,
		curl_version_info(CURLVERSION_NOW)->version, jansson_version_str());
	return CTL_EXIT_OK;
}

static const struct ctl_opt capacity_opts[] = {
    {"by-rack", 0, CTL_FLAG, NULL, "counts per site and rack instead of per SKU"},
    {"by-site", 0, CTL_FLAG, NULL, "counts per site instead of per SKU"},
    {NULL, 0, 0, NULL, NULL},
};

static const struct ctl_opt audit_opts[] = {
    {"limit", 0, CTL_VALUE, "N", "at most N entries (default 100)"},
    {"cursor", 0, CTL_VALUE, "CURSOR", "continue from CURSOR"},
    {"since", 0, CTL_VALUE, "TIME|AGE", "entries since an RFC 3339 time or an age (90m, 2h, 7d)"},
    {"actor", 0, CTL_VALUE, "ACTOR", "entries by ACTOR (role:name, or the token name alone)"},
    {"action", 0, CTL_VALUE, "ACTION", "entries of ACTION (machine.patch), or all of machine"},
    {"target", 0, CTL_VALUE, "ID|NAME", "entries about this target id (or machine name)"},
    {"oldest-first", 0, CTL_FLAG, NULL, "oldest entries first"},
    {NULL, 0, 0, NULL, NULL},
};

static const struct ctl_opt freeze_opts[] = {
    {"reason", 0, CTL_VALUE, "TEXT", "why (required for on)"},
    {NULL, 0, 0, NULL, NULL},
};

const struct ctl_cmd ctl_fleet_cmds[] = {
    {.words = "sku list",
     .synopsis = "",
     .run = run_sku_list,
     .summary = "list SKUs with machine counts by state"},
    {.words = "sku show",
     .synopsis = "NAME",
     .min_pos = 1,
     .max_pos = 1,
     .run = run_sku_show,
     .summary = "show one SKU"},
    {.words = "capacity",
     .synopsis = "",
     .opts = capacity_opts,
     .run = run_capacity,
     .summary = "machine counts by SKU (or --by-rack, --by-site: by rack, site) and state"},
    {.words = "quota set",
     .synopsis = "OWNER SKU MACHINES",
     .min_pos = 3,
     .max_pos = 3,
     .run = run_quota_set,
     .summary = "limit how many machines of SKU an owner may hold",
     .details = "MACHINES is a whole number (0: no new allocations of SKU for OWNER),\n"
		"or none to remove the quota (no limit)."},
    {.words = "quota list",
     .synopsis = "OWNER",
     .min_pos = 1,
     .max_pos = 1,
     .run = run_quota_list,
     .summary = "show an owner's quotas"},
    {.words = "audit",
     .synopsis = "",
     .opts = audit_opts,
     .run = run_audit,
     .summary = "show the audit log, newest first",
     .details = "Example:\n  provisionctl audit --since 2h --action machine --target r12-u07"},
    {.words = "freeze",
     .synopsis = "on|off|status",
     .min_pos = 1,
     .max_pos = 1,
     .opts = freeze_opts,
     .run = run_freeze,
     .summary = "fleet-wide stop of all power and deploy actions (big red switch)"},
    {.words = "replica list",
     .synopsis = "",
     .run = run_replica_list,
     .summary = "the provisiond replicas on this database: status, epoch, machines each drives",
     .details = "STATUS is live, silent (no heartbeat for takeover_s: about to be taken\n"
		"over) or fenced (taken over; a restart under its name brings it back)."},
    {.words = "health",
     .synopsis = "",
     .run = run_health,
     .summary = "check /healthz and /readyz (exit 1 if either fails)"},
    {.words = "metrics",
     .synopsis = "",
     .run = run_metrics,
     .summary = "print the Prometheus metrics text"},
    {.words = "version",
     .synopsis = "",
     .run = run_version,
     .no_client = true,
     .summary = "print the client version"},
    {.words = NULL},
};
