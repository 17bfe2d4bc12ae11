/* driver_ipmi_errors.c - libfreeipmi errors -> bmc_status + a sentence that says
 * what to do. The exact cases matter to the layer above: BMC_ERR_AUTH is never
 * retried and never opens the breaker, UNREACHABLE/TIMEOUT do. */
#include <stdio.h>

#include "provisiond/bmc/driver_ipmi.h"

enum kind {
	K_CREDENTIALS,
	K_PRIVILEGE,
	K_NO_ANSWER,
	K_BUSY,
	K_CIPHER,
	K_NO_LANPLUS,
	K_HOST,
	K_UNSUPPORTED,
	K_COMPLETION,
	K_OTHER
};

static const struct {
	int errnum;
	enum kind kind;
} table[] = {
    {IPMI_ERR_USERNAME_INVALID, K_CREDENTIALS},
    {IPMI_ERR_PASSWORD_INVALID, K_CREDENTIALS},
    {IPMI_ERR_K_G_INVALID, K_CREDENTIALS},
    {IPMI_ERR_PASSWORD_VERIFICATION_TIMEOUT, K_CREDENTIALS},
    {IPMI_ERR_PRIVILEGE_LEVEL_INSUFFICIENT, K_PRIVILEGE},
    {IPMI_ERR_PRIVILEGE_LEVEL_CANNOT_BE_OBTAINED, K_PRIVILEGE},
    {IPMI_ERR_CONNECTION_TIMEOUT, K_NO_ANSWER},
    {IPMI_ERR_SESSION_TIMEOUT, K_NO_ANSWER},
    {IPMI_ERR_BMC_BUSY, K_BUSY},
    {IPMI_ERR_DRIVER_BUSY, K_BUSY},
    {IPMI_ERR_CIPHER_SUITE_ID_UNAVAILABLE, K_CIPHER},
    {IPMI_ERR_AUTHENTICATION_TYPE_UNAVAILABLE, K_NO_LANPLUS},
    {IPMI_ERR_IPMI_2_0_UNAVAILABLE, K_NO_LANPLUS},
    {IPMI_ERR_HOSTNAME_INVALID, K_HOST},
    {IPMI_ERR_COMMAND_INVALID_OR_UNSUPPORTED, K_UNSUPPORTED},
    {IPMI_ERR_BAD_COMPLETION_CODE, K_COMPLETION},
};

static enum kind kind_of(int errnum)
{
	for (size_t i = 0; i < ARRAY_SIZE(table); i++)
		if (table[i].errnum == errnum)
			return table[i].kind;
	return K_OTHER;
}

static enum bmc_status no_answer(const struct ipmi_inst *in, const char *what, bool opening,
				 struct bmc_error *e)
{
	if (opening)
		return bmc_error_set(e, BMC_ERR_UNREACHABLE, NULL,
				     "no answer from BMC at %s within %d ms", in->c.label,
				     in->timeout_ms);
	return bmc_error_set(e, BMC_ERR_TIMEOUT, NULL, "BMC at %s did not answer %s within %d ms",
			     in->c.label, what, in->timeout_ms);
}

static enum bmc_status completion(const struct ipmi_inst *in, const char *what, fiid_obj_t rs,
				  struct bmc_error *e)
{
	uint64_t cc = 0;

	if (rs != NULL && FIID_OBJ_GET(rs, "comp_code", &cc) == 1)
		return bmc_error_set(e, BMC_ERR_FAILED, NULL,
				     "BMC at %s refused %s (completion code 0x%02x)", in->c.label,
				     what, (unsigned)cc);
	return bmc_error_set(e, BMC_ERR_FAILED, NULL, "BMC at %s refused %s", in->c.label, what);
}

enum bmc_status bmc_ipmi_error(const struct ipmi_inst *in, const char *what, bool opening,
			       fiid_obj_t rs, struct bmc_error *e)
{
	int n = in->ctx ? ipmi_ctx_errnum(in->ctx) : IPMI_ERR_OUT_OF_MEMORY;
	const char *a = in->c.label;

	switch (kind_of(n)) {
	case K_CREDENTIALS:
		return bmc_error_set(e, BMC_ERR_AUTH, NULL,
				     "BMC at %s rejected the credentials for user %s", a,
				     in->c.user);
	case K_PRIVILEGE:
		return bmc_error_set(e, BMC_ERR_AUTH, NULL,
				     "BMC at %s refused privilege %s to user %s (lower "
				     "options.privilege, or try workaround opensesspriv)",
				     a, in->c.privilege_name, in->c.user);
	case K_NO_ANSWER:
		return no_answer(in, what, opening, e);
	case K_BUSY:
		return bmc_error_set(e, BMC_ERR_BUSY, NULL, "BMC at %s is busy (%s)", a, what);
	case K_CIPHER:
		return bmc_error_set(
		    e, BMC_ERR_FAILED, NULL,
		    "BMC at %s does not offer cipher suite %u (options.cipher_suite)", a,
		    in->c.cipher_suite);
	case K_NO_LANPLUS:
		return bmc_error_set(e, BMC_ERR_FAILED, NULL,
				     "BMC at %s does not offer IPMI 2.0 (lanplus) sessions", a);
	case K_HOST:
		return bmc_error_set(e, BMC_ERR_UNREACHABLE, NULL, "cannot resolve BMC host %s", a);
	case K_UNSUPPORTED:
		return bmc_error_set(e, BMC_ERR_UNSUPPORTED, NULL, "BMC at %s does not support %s",
				     a, what);
	case K_COMPLETION:
		return completion(in, what, rs, e);
	case K_OTHER:
		break;
	}
	return bmc_error_set(e, BMC_ERR_FAILED, NULL, "BMC at %s: %s failed: %s", a, what,
			     in->ctx ? ipmi_ctx_errormsg(in->ctx) : "out of memory");
}
