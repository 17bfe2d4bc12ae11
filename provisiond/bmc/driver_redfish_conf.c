/* driver_redfish_conf.c - the redfish driver's address and options (no I/O). See
 * docs/bmc.md for each option. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "provisiond/bmc/address.h"
#include "provisiond/bmc/driver_redfish.h"
#include "provisiond/bmc/options.h"
#include "util/util.h"

static const char *const rf_keys[] = {"system_id", "auth",	 "ca_file", "tls_insecure",
				      "boot_mode", "timeout_ms", "deploy",  NULL};
/* read by the lifecycle (deploy_select.c), checked here */
static const char *const deploys[] = {"pxe", "vmedia", NULL};
static const char *const auths[] = {"session", "basic", "session_or_basic", NULL};
static const char *const boot_modes[] = {"UEFI", "Legacy", NULL};

/* "https://host[:port][/]", "http://..." or "host[:port]" (https). */
static enum bmc_status parse_address(const char *s, struct rf_conf *c, struct bmc_error *e)
{
	char auth[272], host[256];
	const char *scheme = "https", *rest = s;
	size_t n;
	int port;
	enum bmc_status st;

	if (s == NULL || s[0] == '\0')
		return bmc_error_set(e, BMC_ERR_INVALID, "bmc.address",
				     "required (https://host[:port])");
	if (strncmp(s, "https://", 8) == 0) {
		rest = s + 8;
	} else if (strncmp(s, "http://", 7) == 0) {
		scheme = "http";
		rest = s + 7;
	} else if (strstr(s, "://") != NULL) {
		return bmc_error_set(e, BMC_ERR_INVALID, "bmc.address",
				     "scheme must be https:// or http:// in '%.64s'", s);
	}
	n = strcspn(rest, "/");
	if (n >= sizeof(auth) || (rest[n] != '\0' && strcmp(rest + n, "/") != 0))
		return bmc_error_set(e, BMC_ERR_INVALID, "bmc.address",
				     "give the BMC's origin only (https://host[:port]), not a "
				     "path: '%.64s'",
				     s);
	memcpy(auth, rest, n);
	auth[n] = '\0';
	st = bmc_address_parse(auth, strcmp(scheme, "https") == 0 ? 443 : 80, host, sizeof(host),
			       &port, e);
	if (st != BMC_OK)
		return st;
	snprintf(c->base, sizeof(c->base), strchr(host, ':') ? "%s://[%s]:%d" : "%s://%s:%d",
		 scheme, host, port);
	return BMC_OK;
}

static enum bmc_status copy_opt(const json_t *o, const char *key, char *dst, size_t len,
				struct bmc_error *e)
{
	const char *v;
	char f[64];
	enum bmc_status st = bmc_opt_string(o, key, "", &v, e);

	if (st != BMC_OK)
		return st;
	if (strlen(v) >= len) {
		snprintf(f, sizeof(f), "bmc.options.%s", key);
		return bmc_error_set(e, BMC_ERR_INVALID, f, "longer than %zu bytes", len - 1);
	}
	snprintf(dst, len, "%s", v);
	return BMC_OK;
}

/* A number is taken as a string: ids like "1" are common, and provisionctl's
 * --bmc-option system_id=1 sends a number. */
static enum bmc_status system_id(const json_t *o, struct rf_conf *c, struct bmc_error *e)
{
	const json_t *v = o ? json_object_get(o, "system_id") : NULL;

	if (json_is_integer(v) && json_integer_value(v) >= 0) {
		snprintf(c->system_id, sizeof(c->system_id), "%lld",
			 (long long)json_integer_value(v));
		return BMC_OK;
	}
	return copy_opt(o, "system_id", c->system_id, sizeof(c->system_id), e);
}

static enum bmc_status parse_options(const json_t *o, struct rf_conf *c, struct bmc_error *e)
{
	int auth, mode, deploy;
	enum bmc_status st = bmc_opts_check_keys(o, "redfish", rf_keys, e);

	if (st == BMC_OK)
		st = system_id(o, c, e);
	if (st == BMC_OK)
		st = copy_opt(o, "ca_file", c->ca_file, sizeof(c->ca_file), e);
	if (st == BMC_OK)
		st = bmc_opt_bool(o, "tls_insecure", false, &c->insecure, e);
	if (st == BMC_OK)
		st = bmc_opt_choice(o, "auth", auths, 0, &auth, e);
	if (st == BMC_OK)
		st = bmc_opt_choice(o, "boot_mode", boot_modes, -1, &mode, e);
	if (st == BMC_OK)
		st = bmc_opt_choice(o, "deploy", deploys, 0, &deploy, e);
	if (st != BMC_OK)
		return st;
	if (c->ca_file[0] != '\0' && c->ca_file[0] != '/')
		return bmc_error_set(e, BMC_ERR_INVALID, "bmc.options.ca_file",
				     "must be an absolute path");
	if (c->ca_file[0] != '\0' && c->insecure)
		return bmc_error_set(e, BMC_ERR_INVALID, "bmc.options.tls_insecure",
				     "contradicts ca_file: choose one");
	c->auth = (enum rf_auth)auth;
	snprintf(c->boot_mode, sizeof(c->boot_mode), "%s", mode >= 0 ? boot_modes[mode] : "");
	return BMC_OK;
}

enum bmc_status rf_conf_parse(const struct bmc_target *t, const json_t *opts, struct rf_conf *c,
			      struct bmc_error *e)
{
	enum bmc_status st;
	unsigned long long h = 14695981039346656037ULL;

	memset(c, 0, sizeof(*c));
	st = parse_address(t->address, c, e);
	if (st == BMC_OK && (t->username == NULL || t->username[0] == '\0'))
		st = bmc_error_set(e, BMC_ERR_INVALID, "bmc.username",
				   "required for driver redfish");
	if (st == BMC_OK)
		st = parse_options(opts, c, e);
	if (st != BMC_OK)
		return st;
	/* the SKU's mode, unless the machine's own option says otherwise */
	if (c->boot_mode[0] == '\0' && t->boot_mode != NULL && t->boot_mode[0] != '\0') {
		int i;
		for (i = 0; boot_modes[i] != NULL && strcasecmp(boot_modes[i], t->boot_mode); i++)
			;
		if (boot_modes[i] == NULL)
			return bmc_error_set(e, BMC_ERR_INVALID, "sku.boot_override_mode",
					     "must be UEFI or Legacy, not '%.20s'", t->boot_mode);
		snprintf(c->boot_mode, sizeof(c->boot_mode), "%s", boot_modes[i]);
	}
	snprintf(c->user, sizeof(c->user), "%s", t->username);
	snprintf(c->pass, sizeof(c->pass), "%s", t->password ? t->password : "");
	h = util_fnv(util_fnv(util_fnv(h, c->base), c->user), c->pass);
	h = util_fnv(util_fnv(util_fnv(h, c->ca_file), c->insecure ? "i" : "v"), c->system_id);
	c->fingerprint = util_fnv(h, auths[c->auth]);
	return BMC_OK;
}
