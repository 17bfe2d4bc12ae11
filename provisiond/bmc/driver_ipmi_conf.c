/* driver_ipmi_conf.c - the ipmi driver's options. See docs/bmc.md for each one. */
#include <stdio.h>
#include <string.h>

#include "provisiond/bmc/address.h"
#include "provisiond/bmc/driver_ipmi.h"
#include "provisiond/bmc/options.h"

#ifdef HAVE_IPMICONSOLE
#include <ipmiconsole.h>
#define SOL(flag) IPMICONSOLE_WORKAROUND_##flag
#else
#define SOL(flag) 0u /* the console is not compiled in: the names stay valid */
#endif

/* Names as FreeIPMI's tools spell them (ipmipower -W ..., ipmiconsole -W ...), each
 * with its flag for libfreeipmi (commands) and for libipmiconsole (Serial-over-LAN).
 * The sol* flags concern only the console. */
static const struct {
	const char *name;
	unsigned flag, sol;
} workarounds[] = {
    {"authcap", IPMI_WORKAROUND_FLAGS_OUTOFBAND_2_0_AUTHENTICATION_CAPABILITIES,
     SOL(AUTHENTICATION_CAPABILITIES)},
    {"intel20", IPMI_WORKAROUND_FLAGS_OUTOFBAND_2_0_INTEL_2_0_SESSION, SOL(INTEL_2_0_SESSION)},
    {"supermicro20", IPMI_WORKAROUND_FLAGS_OUTOFBAND_2_0_SUPERMICRO_2_0_SESSION,
     SOL(SUPERMICRO_2_0_SESSION)},
    {"sun20", IPMI_WORKAROUND_FLAGS_OUTOFBAND_2_0_SUN_2_0_SESSION, SOL(SUN_2_0_SESSION)},
    {"opensesspriv", IPMI_WORKAROUND_FLAGS_OUTOFBAND_2_0_OPEN_SESSION_PRIVILEGE,
     SOL(OPEN_SESSION_PRIVILEGE)},
    {"integritycheckvalue", IPMI_WORKAROUND_FLAGS_OUTOFBAND_2_0_NON_EMPTY_INTEGRITY_CHECK_VALUE,
     SOL(NON_EMPTY_INTEGRITY_CHECK_VALUE)},
    {"nochecksumcheck", IPMI_WORKAROUND_FLAGS_OUTOFBAND_2_0_NO_CHECKSUM_CHECK,
     SOL(NO_CHECKSUM_CHECK)},
    {"solpayloadsize", 0, SOL(IGNORE_SOL_PAYLOAD_SIZE)},
    {"solport", 0, SOL(IGNORE_SOL_PORT)},
    {"solstatus", 0, SOL(SKIP_SOL_ACTIVATION_STATUS)},
    {"solchannelsupport", 0, SOL(SKIP_CHANNEL_PAYLOAD_SUPPORT)},
    {"serialalertsdeferred", 0, SOL(SERIAL_ALERTS_DEFERRED)},
    {"solpacketseq", 0, SOL(INCREMENT_SOL_PACKET_SEQUENCE)},
};

static const char *const ipmi_keys[] = {"privilege",  "cipher_suite", "workarounds",
					"timeout_ms", "boot_mode",    NULL};
static const char *const privileges[] = {"user", "operator", "admin", NULL};
static const uint8_t privilege_levels[] = {IPMI_PRIVILEGE_LEVEL_USER, IPMI_PRIVILEGE_LEVEL_OPERATOR,
					   IPMI_PRIVILEGE_LEVEL_ADMIN};
static const char *const boot_modes[] = {"legacy", "efi", NULL};

static enum bmc_status unknown_workaround(const char *w, size_t n, struct bmc_error *e)
{
	char known[256];
	size_t k = 0;

	for (size_t i = 0; i < ARRAY_SIZE(workarounds) && k < sizeof(known); i++)
		k += (size_t)snprintf(known + k, sizeof(known) - k, "%s%s", i ? ", " : "",
				      workarounds[i].name);
	return bmc_error_set(e, BMC_ERR_INVALID, "bmc.options.workarounds",
			     "unknown flag '%.*s' (known: %s)", (int)(n > 40 ? 40 : n), w, known);
}

/* "a, b,c" -> flags; blanks and empty items are ignored. */
static enum bmc_status parse_workarounds(const char *s, unsigned *flags, unsigned *sol,
					 struct bmc_error *e)
{
	*flags = *sol = 0;
	while (s != NULL && *s != '\0') {
		size_t n = strcspn(s, ","), i;
		const char *w = s;
		while (n > 0 && (*w == ' ' || *w == '\t'))
			w++, n--;
		while (n > 0 && (w[n - 1] == ' ' || w[n - 1] == '\t'))
			n--;
		for (i = 0; n > 0 && i < ARRAY_SIZE(workarounds); i++)
			if (strlen(workarounds[i].name) == n &&
			    strncmp(workarounds[i].name, w, n) == 0)
				break;
		if (n > 0 && i == ARRAY_SIZE(workarounds))
			return unknown_workaround(w, n, e);
		if (n > 0) {
			*flags |= workarounds[i].flag;
			*sol |= workarounds[i].sol;
		}
		s += strcspn(s, ",");
		if (*s == ',')
			s++;
	}
	return BMC_OK;
}

static enum bmc_status parse_options(const json_t *o, struct ipmi_conf *c, struct bmc_error *e)
{
	const char *wa;
	long long cs;
	int priv, mode;
	enum bmc_status st = bmc_opts_check_keys(o, "ipmi", ipmi_keys, e);

	if (st == BMC_OK)
		st = bmc_opt_choice(o, "privilege", privileges, 2, &priv, e);
	if (st == BMC_OK)
		st = bmc_opt_int(o, "cipher_suite", 0, 17, 3, &cs, e);
	if (st == BMC_OK && !IPMI_CIPHER_SUITE_ID_SUPPORTED(cs))
		st = bmc_error_set(e, BMC_ERR_INVALID, "bmc.options.cipher_suite",
				   "cipher suite %lld is not one FreeIPMI supports "
				   "(0-3, 6-8, 11, 12, 15-17)",
				   cs);
	if (st == BMC_OK)
		st = bmc_opt_string(o, "workarounds", "", &wa, e);
	if (st == BMC_OK)
		st = parse_workarounds(wa, &c->workarounds, &c->sol_workarounds, e);
	if (st == BMC_OK)
		st = bmc_opt_choice(o, "boot_mode", boot_modes, 0, &mode, e);
	if (st != BMC_OK)
		return st;
	c->privilege = privilege_levels[priv];
	c->privilege_name = privileges[priv];
	c->privilege_index = priv;
	c->cipher_suite = (uint8_t)cs;
	c->efi = mode == 1;
	return BMC_OK;
}

static enum bmc_status parse_credentials(const struct bmc_target *t, struct ipmi_conf *c,
					 struct bmc_error *e)
{
	const char *pass = t->password ? t->password : "";

	if (t->username == NULL || t->username[0] == '\0')
		return bmc_error_set(e, BMC_ERR_INVALID, "bmc.username",
				     "required for driver ipmi");
	if (strlen(t->username) > IPMI_MAX_USER_NAME_LENGTH)
		return bmc_error_set(e, BMC_ERR_INVALID, "bmc.username",
				     "IPMI user names have at most %d characters",
				     IPMI_MAX_USER_NAME_LENGTH);
	if (strlen(pass) > IPMI_2_0_MAX_PASSWORD_LENGTH)
		return bmc_error_set(e, BMC_ERR_INVALID, "bmc.password",
				     "IPMI 2.0 passwords have at most %d characters",
				     IPMI_2_0_MAX_PASSWORD_LENGTH);
	snprintf(c->user, sizeof(c->user), "%s", t->username);
	snprintf(c->pass, sizeof(c->pass), "%s", pass);
	return BMC_OK;
}

enum bmc_status bmc_ipmi_conf_parse(const struct bmc_target *t, const json_t *opts,
				    struct ipmi_conf *c, struct bmc_error *e)
{
	char host[256];
	int port;
	bool v6;
	enum bmc_status st = bmc_address_parse(t->address, 623, host, sizeof(host), &port, e);

	if (st != BMC_OK)
		return st;
	v6 = strchr(host, ':') != NULL;
	snprintf(c->label, sizeof(c->label), v6 ? "[%s]:%d" : "%s:%d", host, port);
	if (port == 623)
		snprintf(c->host, sizeof(c->host), "%s", host);
	else
		snprintf(c->host, sizeof(c->host), "%s", c->label);
	st = parse_credentials(t, c, e);
	if (st == BMC_OK)
		st = parse_options(opts, c, e);
	return st;
}
