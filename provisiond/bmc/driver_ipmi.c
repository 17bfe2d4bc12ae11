/* driver_ipmi.c - the "ipmi" driver: IPMI 2.0 (RMCP+, "lanplus") with libfreeipmi.
 *
 * One session per instance, and the dispatch layer opens one instance per operation
 * (see bmc.c): a session costs 1-3 ms to open, while an idle one expires on the BMC
 * (OpenIPMI's ipmi_sim drops it after 30 s; libfreeipmi then fails client-side with
 * IPMI_ERR_SESSION_TIMEOUT), and BMCs have few session slots to hold open. The
 * per-command timeout is fixed at open (ipmi_timeouts()); libfreeipmi retransmits
 * within it, so a lost datagram costs a retransmit, not a retry.
 *
 * Options: docs/bmc.md. The password lives in the instance only and is wiped on close. */
#include <stdlib.h>
#include <string.h>

#include "provisiond/bmc/driver_ipmi.h"

/* libfreeipmi gives up at the first retransmission point after its session timeout,
 * and those points lie at 1, 2, 4, 6, 9, ... times the retransmission timeout
 * (measured with 1.6.10: session 700 / retransmit 250 ends after 1000 ms). With
 * retransmit = T/2 and session = 1.5 T/2 the second point falls on T, so a call ends
 * within its timeout T. Why only one retransmission: a BMC may execute a
 * retransmitted command again (ipmi_sim does), so every retransmit of a chassis
 * command risks a second power action; a lost datagram is rarer on a management LAN
 * than a BMC slow to answer, and T/2 (2.5 s by default) is far above any sane reply. */
static void ipmi_timeouts(int timeout_ms, unsigned *session_ms, unsigned *retransmit_ms)
{
	unsigned r = timeout_ms >= 4 ? (unsigned)timeout_ms / 2 : 2;

	*retransmit_ms = r;
	*session_ms = r + r / 2;
}

static enum bmc_status ipmi_validate(const struct bmc_target *t, const json_t *opts,
				     struct bmc_error *e)
{
	struct ipmi_conf c;
	enum bmc_status st = bmc_ipmi_conf_parse(t, opts, &c, e);

	explicit_bzero(c.pass, sizeof(c.pass));
	return st;
}

static void ipmi_close(void *inst)
{
	struct ipmi_inst *in = inst;

	if (in == NULL)
		return;
	if (in->ctx != NULL) {
		ipmi_ctx_close(in->ctx);
		ipmi_ctx_destroy(in->ctx);
	}
	explicit_bzero(in, sizeof(*in));
	free(in);
}

static enum bmc_status ipmi_open(void *priv, const struct bmc_target *t, const json_t *opts,
				 int timeout_ms, void **out, struct bmc_error *e)
{
	struct ipmi_inst *in = calloc(1, sizeof(*in));
	enum bmc_status st;
	const struct ipmi_conf *c;
	unsigned session_ms, retransmit_ms;

	(void)priv;
	if (in == NULL)
		return bmc_error_set(e, BMC_ERR_FAILED, NULL, "out of memory");
	in->timeout_ms = timeout_ms;
	st = bmc_ipmi_conf_parse(t, opts, &in->c, e);
	if (st == BMC_OK && (in->ctx = ipmi_ctx_create()) == NULL)
		st = bmc_error_set(e, BMC_ERR_FAILED, NULL, "out of memory");
	c = &in->c;
	ipmi_timeouts(timeout_ms, &session_ms, &retransmit_ms);
	if (st == BMC_OK &&
	    ipmi_ctx_open_outofband_2_0(in->ctx, c->host, c->user, c->pass, NULL, 0, c->privilege,
					c->cipher_suite, session_ms, retransmit_ms, c->workarounds,
					IPMI_FLAGS_DEFAULT) < 0) {
		st = bmc_ipmi_error(in, "open session", true, NULL, e);
		ipmi_ctx_destroy(in->ctx); /* never opened: nothing to close */
		in->ctx = NULL;
	}
	if (st != BMC_OK) {
		ipmi_close(in);
		return st;
	}
	*out = in;
	return BMC_OK;
}

static enum bmc_status ipmi_power_get(void *inst, int timeout_ms, enum bmc_power_state *out,
				      struct bmc_error *e)
{
	struct ipmi_inst *in = inst;
	fiid_obj_t rs = fiid_obj_create(tmpl_cmd_get_chassis_status_rs);
	uint64_t on = 0;
	enum bmc_status st = BMC_OK;

	(void)timeout_ms; /* fixed per session at open */
	if (rs == NULL)
		return bmc_error_set(e, BMC_ERR_FAILED, NULL, "out of memory");
	if (ipmi_cmd_get_chassis_status(in->ctx, rs) < 0)
		st = bmc_ipmi_error(in, "get chassis status", false, rs, e);
	else if (FIID_OBJ_GET(rs, "current_power_state.power_is_on", &on) != 1)
		st = bmc_error_set(e, BMC_ERR_FAILED, NULL,
				   "BMC at %s sent a chassis status without a power state",
				   in->c.label);
	else
		*out = on ? BMC_POWER_ON : BMC_POWER_OFF;
	fiid_obj_destroy(rs);
	return st;
}

static uint8_t chassis_control_of(enum bmc_power_action a)
{
	switch (a) {
	case BMC_POWER_ACTION_ON:
		return IPMI_CHASSIS_CONTROL_POWER_UP;
	case BMC_POWER_ACTION_OFF:
		return IPMI_CHASSIS_CONTROL_POWER_DOWN;
	case BMC_POWER_ACTION_CYCLE:
		return IPMI_CHASSIS_CONTROL_POWER_CYCLE;
	case BMC_POWER_ACTION_RESET:
		return IPMI_CHASSIS_CONTROL_HARD_RESET;
	case BMC_POWER_ACTION_SOFT_OFF:
	case BMC_POWER_ACTION__COUNT:
		break;
	}
	return IPMI_CHASSIS_CONTROL_INITIATE_SOFT_SHUTDOWN;
}

static enum bmc_status ipmi_power_set(void *inst, int timeout_ms, enum bmc_power_action a,
				      struct bmc_error *e)
{
	struct ipmi_inst *in = inst;
	fiid_obj_t rs = fiid_obj_create(tmpl_cmd_chassis_control_rs);
	enum bmc_status st = BMC_OK;

	(void)timeout_ms;
	if (rs == NULL)
		return bmc_error_set(e, BMC_ERR_FAILED, NULL, "out of memory");
	if (ipmi_cmd_chassis_control(in->ctx, chassis_control_of(a), rs) < 0)
		st = bmc_ipmi_error(in, "chassis control", false, rs, e);
	fiid_obj_destroy(rs);
	return st;
}

static uint8_t boot_device_of(enum bmc_boot_device d)
{
	if (d == BMC_BOOT_PXE)
		return IPMI_SYSTEM_BOOT_OPTION_BOOT_FLAG_BOOT_DEVICE_FORCE_PXE;
	if (d == BMC_BOOT_CD)
		return IPMI_SYSTEM_BOOT_OPTION_BOOT_FLAG_BOOT_DEVICE_FORCE_CD_DVD;
	return IPMI_SYSTEM_BOOT_OPTION_BOOT_FLAG_BOOT_DEVICE_FORCE_HARD_DRIVE;
}

/* Set System Boot Options, parameter 5 (boot flags): valid, next boot or persistent,
 * legacy or EFI, device PXE, hard drive or CD/DVD; everything else left at its default. */
static enum bmc_status ipmi_boot_set(void *inst, int timeout_ms, enum bmc_boot_device d,
				     bool persistent, struct bmc_error *e)
{
	struct ipmi_inst *in = inst;
	fiid_obj_t rs = fiid_obj_create(tmpl_cmd_set_system_boot_options_rs);
	enum bmc_status st = BMC_OK;
	const uint8_t off = IPMI_SYSTEM_BOOT_OPTION_DISABLE;

	(void)timeout_ms;
	if (rs == NULL)
		return bmc_error_set(e, BMC_ERR_FAILED, NULL, "out of memory");
	if (ipmi_cmd_set_system_boot_options_boot_flags(
		in->ctx, IPMI_SYSTEM_BOOT_OPTIONS_PARAMETER_VALID_UNLOCKED,
		in->c.efi ? IPMI_SYSTEM_BOOT_OPTION_BOOT_FLAG_BOOT_TYPE_EFI
			  : IPMI_SYSTEM_BOOT_OPTION_BOOT_FLAG_BOOT_TYPE_PC_COMPATIBLE,
		persistent ? IPMI_SYSTEM_BOOT_OPTION_BOOT_FLAG_VALID_PERSISTENTLY
			   : IPMI_SYSTEM_BOOT_OPTION_BOOT_FLAG_VALID_FOR_NEXT_BOOT,
		IPMI_SYSTEM_BOOT_OPTION_BOOT_FLAG_VALID, off, off, boot_device_of(d), off, off,
		IPMI_SYSTEM_BOOT_OPTION_BOOT_FLAG_CONSOLE_REDIRECTION_DEFAULT, off, off, off,
		IPMI_SYSTEM_BOOT_OPTION_BOOT_FLAG_FIRMWARE_BIOS_VERBOSITY_DEFAULT, off, 0, 0, 0,
		rs) < 0)
		st = bmc_ipmi_error(in, "set boot flags", false, rs, e);
	fiid_obj_destroy(rs);
	return st;
}

const struct bmc_driver bmc_driver_ipmi = {
    .name = "ipmi",
    .caps = BMC_CAP_SOFT_OFF | BMC_CAP_BOOT_NEXT | BMC_CAP_BOOT_PERSISTENT,
    .validate = ipmi_validate,
    .open = ipmi_open,
    .close = ipmi_close,
    .power_get = ipmi_power_get,
    .power_set = ipmi_power_set,
    .boot_set = ipmi_boot_set,
#ifdef HAVE_IPMICONSOLE
    .console_open = bmc_ipmi_console_open,
    .console_read = bmc_ipmi_console_read,
    .console_close = bmc_ipmi_console_close,
#else
    .console_missing = "libipmiconsole; configure with -DWITH_IPMICONSOLE=ON",
#endif
};
