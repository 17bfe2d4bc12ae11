/* fuzz_config.c - provisiond's configuration file (config_load and
 * config_check, over an in-memory file). Both read the same file from the
 * defaults: config_load succeeds exactly when config_check finds no
 * problem, and the problem config_load reports is one config_check reports
 * too; every problem is "PATH:LINE: message". An accepted file leaves a
 * configuration that passes the cross-option checks. */
#include "fuzz_common.h"
#include "provisiond/config.h"
#include "provisiond/http.h"

struct problems {
	const char *prefix;
	const struct err *first; /* config_load's problem, NULL when none */
	int n;
	bool first_seen;
};

static void report(void *ctx, const struct err *e)
{
	struct problems *p = ctx;
	p->n++;
	FUZZ_CHECK((e->status == ERR_INVALID || e->status == ERR_IO) &&
		   fuzz_starts(e->message, p->prefix));
	if (p->first && strcmp(p->first->message, e->message) == 0 &&
	    strcmp(p->first->field, e->field) == 0)
		p->first_seen = true;
}

static bool one_of(const char *v, const char *a, const char *b, const char *c, const char *d)
{
	return strcmp(v, a) == 0 || strcmp(v, b) == 0 || (c && strcmp(v, c) == 0) ||
	       (d && strcmp(v, d) == 0);
}

static void check_accepted(const struct config *c)
{
	FUZZ_CHECK(http_listen_valid(c->listen));
	FUZZ_CHECK(!c->boot_listen[0] || http_listen_valid(c->boot_listen));
	FUZZ_CHECK(c->backoff_base_ms <= c->backoff_max_ms);
	FUZZ_CHECK(one_of(c->unknown_mac_policy, "discover", "ignore", NULL, NULL));
	FUZZ_CHECK(one_of(c->dnsmasq_mode, "off", "full", "proxy", NULL));
	FUZZ_CHECK(one_of(c->log_level, "debug", "info", "warn", "error"));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64], prefix[80];
	int fd = fuzz_memfile(data, size, path, sizeof path);
	FUZZ_CHECK(fd >= 0);
	snprintf(prefix, sizeof prefix, "%s:", path);
	struct config c;
	struct err e = {0};
	config_defaults(&c);
	enum err_status st = config_load(&c, path, &e);
	if (st == ERR_OK)
		check_accepted(&c);
	else
		FUZZ_CHECK(st == ERR_INVALID && e.status == st && fuzz_starts(e.message, prefix));
	struct problems p = {.prefix = prefix, .first = st == ERR_OK ? NULL : &e};
	config_defaults(&c);
	int n = config_check(&c, path, report, &p);
	close(fd);
	FUZZ_CHECK(n == p.n && (st == ERR_OK) == (n == 0));
	FUZZ_CHECK(st == ERR_OK || p.first_seen);
	return 0;
}
