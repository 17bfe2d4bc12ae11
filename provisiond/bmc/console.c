/* console.c - serial console capture: the public bmc_console_* of bmc.h.
 *
 * Why not through the dispatch layer (bmc.c): an operation holds the BMC's turn
 * for its whole length, and a capture lasts as long as the machine runs its agent
 * (minutes to an hour). Serializing it with power and boot operations would lock
 * the BMC for the engine; IPMI keeps Serial-over-LAN in its own session, which
 * BMCs hold beside command sessions. The watchdog is not needed either: the
 * console slots bound their own I/O (driver.h). Retries belong to the caller,
 * which reopens with a backoff of its own. */
#include <stdlib.h>
#include <string.h>

#include "provisiond/bmc/manager.h"
#include "provisiond/bmc/options.h"

struct bmc_console {
	const struct bmc_driver *drv;
	void *cs;
};

enum bmc_status bmc_console_open(struct bmc_manager *m, const struct bmc_target *t,
				 struct bmc_console **out, struct bmc_error *e)
{
	struct bmc_error local;
	const struct bmc_driver *d = NULL;
	json_t *opts = NULL;
	long long tmo = 0;
	enum bmc_status st;

	if (e == NULL)
		e = &local;
	bmc_error_clear(e);
	if (out == NULL || m == NULL)
		return bmc_error_set(e, BMC_ERR_INVALID, NULL, "no BMC manager or console");
	*out = NULL;
	st = bmc_prepare(t, &d, &opts, e);
	if (st == BMC_OK && d->console_missing != NULL)
		st = bmc_error_set(e, BMC_ERR_NOT_COMPILED, NULL,
				   "driver %s: console capture not compiled in (built without %s)",
				   d->name, d->console_missing);
	else if (st == BMC_OK && !(bmc_driver_caps_of(d) & BMC_CAP_CONSOLE))
		st = bmc_error_set(e, BMC_ERR_UNSUPPORTED, NULL,
				   "driver %s does not support console capture", d->name);
	if (st == BMC_OK)
		st = bmc_opt_int(opts, "timeout_ms", 1, 600000, m->lim.call_timeout_ms, &tmo, e);
	struct bmc_console *c = st == BMC_OK ? calloc(1, sizeof(*c)) : NULL;
	if (st == BMC_OK && c == NULL)
		st = bmc_error_set(e, BMC_ERR_FAILED, NULL, "out of memory");
	if (st == BMC_OK) {
		c->drv = d;
		st = d->console_open(bmc_manager_driver_priv(m, d), t, opts, (int)tmo, &c->cs, e);
	}
	json_decref(opts);
	if (st != BMC_OK) {
		free(c);
		return st;
	}
	*out = c;
	return BMC_OK;
}

enum bmc_status bmc_console_read(struct bmc_console *c, char *buf, size_t len, int wait_ms,
				 size_t *got, struct bmc_error *e)
{
	struct bmc_error local;

	if (e == NULL)
		e = &local;
	bmc_error_clear(e);
	if (got != NULL)
		*got = 0;
	if (c == NULL || buf == NULL || len == 0 || got == NULL || wait_ms < 0)
		return bmc_error_set(e, BMC_ERR_INVALID, NULL, "bad console read arguments");
	return c->drv->console_read(c->cs, buf, len, wait_ms, got, e);
}

void bmc_console_close(struct bmc_console *c)
{
	if (c == NULL)
		return;
	c->drv->console_close(c->cs);
	free(c);
}

const char *bmc_console_driver(const struct bmc_console *c)
{
	return c != NULL ? c->drv->name : "?";
}
