/* driver_ipmi.h - pieces of the ipmi driver shared by its files (internal). */
#ifndef PROVISIOND_BMC_DRIVER_IPMI_H
#define PROVISIOND_BMC_DRIVER_IPMI_H

#include <stdint.h>
#include <freeipmi/freeipmi.h>

#include "provisiond/bmc/driver.h"

struct ipmi_conf {
	char host[272];	 /* as handed to libfreeipmi: "host" or "host:port" */
	char label[272]; /* "host:port", for messages */
	char user[IPMI_MAX_USER_NAME_LENGTH + 1];
	char pass[IPMI_2_0_MAX_PASSWORD_LENGTH + 1];
	uint8_t privilege;
	const char *privilege_name;
	uint8_t cipher_suite;
	unsigned workarounds;	  /* libfreeipmi's flags */
	unsigned sol_workarounds; /* libipmiconsole's flags (console capture) */
	int privilege_index;	  /* 0 user, 1 operator, 2 admin */
	bool efi;
};

struct ipmi_inst {
	ipmi_ctx_t ctx;
	struct ipmi_conf c;
	int timeout_ms;
};

/* driver_ipmi_conf.c: target + options -> conf, errors naming the field. No I/O. */
enum bmc_status bmc_ipmi_conf_parse(const struct bmc_target *t, const json_t *opts,
				    struct ipmi_conf *c, struct bmc_error *e);

/* driver_ipmi_errors.c: the context's last error as a bmc_status and a sentence.
 * what: the command ("open session", "chassis control"); opening: the failure was
 * in session setup; rs: the command's response (for the completion code) or NULL. */
enum bmc_status bmc_ipmi_error(const struct ipmi_inst *in, const char *what, bool opening,
			       fiid_obj_t rs, struct bmc_error *e);

/* driver_ipmi_console.c (with libipmiconsole): Serial-over-LAN capture. */
enum bmc_status bmc_ipmi_console_open(void *priv, const struct bmc_target *t, const json_t *opts,
				      int timeout_ms, void **cs, struct bmc_error *e);
enum bmc_status bmc_ipmi_console_read(void *cs, char *buf, size_t len, int wait_ms, size_t *got,
				      struct bmc_error *e);
void bmc_ipmi_console_close(void *cs);

#endif
