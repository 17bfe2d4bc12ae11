/* validate.c - bmc_validate(): the checks made before any I/O, shared by every
 * operation. Driver-specific checks are the driver's validate slot. */
#include <stdio.h>
#include <string.h>

#include "provisiond/bmc/manager.h"
#include "provisiond/bmc/options.h"

static void known_drivers(char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (int i = 0; i < BMC_DRIVER_MAX && n < len; i++) {
		const struct bmc_driver *d = bmc_driver_at(i);
		if (d != NULL)
			n += (size_t)snprintf(buf + n, len - n, "%s%s", n ? ", " : "", d->name);
	}
}

static enum bmc_status check_driver(const struct bmc_target *t, const struct bmc_driver **out,
				    struct bmc_error *e)
{
	const struct bmc_driver *d;
	char known[96];

	if (t->driver == NULL || t->driver[0] == '\0')
		return bmc_error_set(e, BMC_ERR_INVALID, "bmc.driver", "required");
	d = bmc_driver_lookup(t->driver);
	if (d == NULL) {
		known_drivers(known, sizeof(known));
		return bmc_error_set(e, BMC_ERR_INVALID, "bmc.driver",
				     "unknown driver '%.40s' (known: %s)", t->driver, known);
	}
	if (d->missing != NULL)
		return bmc_error_set(e, BMC_ERR_NOT_COMPILED, "bmc.driver",
				     "driver %s not compiled in (built without %s)", d->name,
				     d->missing);
	*out = d;
	return BMC_OK;
}

/* Options every driver accepts. */
static enum bmc_status check_common(const struct bmc_target *t, const json_t *opts,
				    struct bmc_error *e)
{
	long long v;

	if (t->address != NULL && strlen(t->address) > 255)
		return bmc_error_set(e, BMC_ERR_INVALID, "bmc.address", "longer than 255 bytes");
	if (t->username != NULL && strlen(t->username) > 255)
		return bmc_error_set(e, BMC_ERR_INVALID, "bmc.username", "longer than 255 bytes");
	if (t->password != NULL && strlen(t->password) > 255)
		return bmc_error_set(e, BMC_ERR_INVALID, "bmc.password", "longer than 255 bytes");
	return bmc_opt_int(opts, "timeout_ms", 1, 600000, 0, &v, e);
}

enum bmc_status bmc_prepare(const struct bmc_target *t, const struct bmc_driver **drv,
			    json_t **opts, struct bmc_error *e)
{
	enum bmc_status st;

	*opts = NULL;
	if (t == NULL)
		return bmc_error_set(e, BMC_ERR_INVALID, "bmc", "no BMC description");
	st = check_driver(t, drv, e);
	if (st == BMC_OK)
		st = bmc_opts_parse(t->options_json, opts, e);
	if (st == BMC_OK)
		st = check_common(t, *opts, e);
	if (st == BMC_OK && (*drv)->validate != NULL)
		st = (*drv)->validate(t, *opts, e);
	if (st != BMC_OK) {
		json_decref(*opts);
		*opts = NULL;
	}
	return st;
}

enum bmc_status bmc_validate(const struct bmc_target *t, struct bmc_error *e)
{
	struct bmc_error local;
	const struct bmc_driver *d;
	json_t *opts;
	enum bmc_status st;

	if (e == NULL)
		e = &local;
	bmc_error_clear(e);
	st = bmc_prepare(t, &d, &opts, e);
	json_decref(opts);
	return st;
}
