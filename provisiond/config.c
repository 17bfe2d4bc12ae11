/* config.c - INI parsing with inih into struct config. */
#include "provisiond/config.h"

#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum kind { K_STR, K_INT };

struct option {
	const char *section, *key;
	enum kind kind;
	size_t offset, size;
	long min, max;
};

#define S(sec, k, f)                                                                               \
	{                                                                                          \
		sec, k, K_STR, offsetof(struct config, f), sizeof(((struct config *)0)->f), 0, 0   \
	}
#define N(sec, k, f, lo, hi)                                                                       \
	{                                                                                          \
		sec, k, K_INT, offsetof(struct config, f), 0, lo, hi                               \
	}

static const struct option options[] = {
    S("server", "listen", listen),
    S("server", "boot_listen", boot_listen),
    S("server", "boot_url", boot_url),
    S("server", "boot_netns", boot_netns),
    N("server", "http_threads", http_threads, 1, 64),
    N("server", "api_workers", api_workers, 2, 1024),
    N("server", "boot_workers", boot_workers, 2, 4096),
    N("server", "max_queue", max_queue, 1, 1000000),
    N("server", "connection_limit", connection_limit, 16, 100000),
    N("server", "client_connection_limit", client_connection_limit, 1, 100000),
    N("server", "request_timeout_s", request_timeout_s, 1, 3600),
    N("server", "long_poll_max_s", long_poll_max_s, 1, 3600),
    S("database", "path", db_path),
    S("catalog", "skus_dir", skus_dir),
    S("auth", "admin_token_file", admin_token_file),
    N("lifecycle", "workers", lc_workers, 1, 256),
    N("lifecycle", "verify_timeout_s", verify_timeout_s, 1, 86400),
    N("lifecycle", "inspect_timeout_s", inspect_timeout_s, 1, 86400),
    N("lifecycle", "clean_timeout_s", clean_timeout_s, 1, 86400),
    N("lifecycle", "deploy_timeout_s", deploy_timeout_s, 1, 86400),
    N("lifecycle", "release_timeout_s", release_timeout_s, 1, 86400),
    N("lifecycle", "max_attempts", max_attempts, 1, 100),
    N("lifecycle", "backoff_base_ms", backoff_base_ms, 1, 3600000),
    N("lifecycle", "backoff_max_ms", backoff_max_ms, 1, 3600000),
    N("lifecycle", "max_substitutions", max_substitutions, 0, 1000),
    N("lifecycle", "max_concurrent_deploys", max_concurrent_deploys, 1, 100000),
    N("bmc", "call_timeout_ms", bmc_call_timeout_ms, 100, 600000),
    N("bmc", "max_concurrent", bmc_max_concurrent, 1, 10000),
    N("bmc", "retries", bmc_retries, 0, 20),
    N("bmc", "breaker_threshold", bmc_breaker_threshold, 1, 1000),
    N("bmc", "breaker_cooldown_ms", bmc_breaker_cooldown_ms, 10, 3600000),
    N("bmc", "confirm_timeout_ms", bmc_confirm_timeout_ms, 100, 600000),
    S("boot", "unknown_mac", unknown_mac_policy),
    S("boot", "ramdisk_dir", ramdisk_dir),
    S("boot", "images_dir", images_dir),
    S("boot", "kernel_args", kernel_args),
    S("dnsmasq", "mode", dnsmasq_mode),
    S("dnsmasq", "interface", dnsmasq_interface),
    S("dnsmasq", "netns", dnsmasq_netns),
    S("dnsmasq", "range_start", dnsmasq_range_start),
    S("dnsmasq", "range_end", dnsmasq_range_end),
    S("dnsmasq", "netmask", dnsmasq_netmask),
    S("dnsmasq", "network", dnsmasq_network),
    S("dnsmasq", "lease_time", dnsmasq_lease_time),
    S("dnsmasq", "dir", dnsmasq_dir),
    N("dnsmasq", "ipv6_ra", dnsmasq_ipv6_ra, 0, 1),
    S("log", "level", log_level),
};

void config_defaults(struct config *c)
{
	memset(c, 0, sizeof *c);
	snprintf(c->listen, sizeof c->listen, "127.0.0.1:7480");
	snprintf(c->boot_listen, sizeof c->boot_listen, "127.0.0.1:7481");
	c->http_threads = 2;
	c->api_workers = 32;
	c->boot_workers = 64;
	c->max_queue = 1024;
	c->connection_limit = 1000;
	c->client_connection_limit = 64;
	c->request_timeout_s = 15;
	c->long_poll_max_s = 60;
	snprintf(c->db_path, sizeof c->db_path, "/var/lib/provisiond/provisiond.db");
	snprintf(c->skus_dir, sizeof c->skus_dir, "%s", PROVISIOND_DEFAULT_SKUS_DIR);
	c->lc_workers = 8;
	c->verify_timeout_s = 60;
	c->inspect_timeout_s = c->clean_timeout_s = c->deploy_timeout_s = 1800;
	c->release_timeout_s = 600;
	c->max_attempts = 3;
	c->backoff_base_ms = 1000;
	c->backoff_max_ms = 60000;
	c->max_substitutions = 2;
	c->max_concurrent_deploys = 64;
	c->bmc_call_timeout_ms = 10000;
	c->bmc_max_concurrent = 32;
	c->bmc_retries = 2;
	c->bmc_breaker_threshold = 3;
	c->bmc_breaker_cooldown_ms = 30000;
	c->bmc_confirm_timeout_ms = 30000;
	snprintf(c->unknown_mac_policy, sizeof c->unknown_mac_policy, "discover");
	snprintf(c->ramdisk_dir, sizeof c->ramdisk_dir, "/var/lib/provisiond/ramdisk");
	snprintf(c->images_dir, sizeof c->images_dir, "/var/lib/provisiond/images");
	snprintf(c->log_level, sizeof c->log_level, "info");
	snprintf(c->dnsmasq_mode, sizeof c->dnsmasq_mode, "off");
	snprintf(c->dnsmasq_dir, sizeof c->dnsmasq_dir, "/var/lib/provisiond/dnsmasq");
}

struct load_ctx {
	struct config *c;
	char *err;
	size_t errlen;
	const char *path;
	int line;
	FILE *f;
};

/* inih reader that counts lines, so errors can name them (Debian's inih
 * does not pass line numbers to the handler). */
static char *read_line(char *str, int num, void *stream)
{
	struct load_ctx *x = stream;
	char *r = fgets(str, num, x->f);
	if (r)
		x->line++;
	return r;
}

static int set_option(struct load_ctx *x, const struct option *o, const char *value, int line)
{
	char *dst = (char *)x->c + o->offset;
	if (o->kind == K_STR) {
		if (strlen(value) >= o->size) {
			snprintf(x->err, x->errlen, "%s:%d: %s.%s is too long", x->path, line,
				 o->section, o->key);
			return 0;
		}
		snprintf(dst, o->size, "%s", value);
		return 1;
	}
	char *end;
	errno = 0;
	long v = strtol(value, &end, 10);
	if (errno || end == value || *end || v < o->min || v > o->max) {
		snprintf(x->err, x->errlen, "%s:%d: %s.%s must be an integer in %ld..%ld", x->path,
			 line, o->section, o->key, o->min, o->max);
		return 0;
	}
	*(int *)(void *)dst = (int)v;
	return 1;
}

static int on_entry(void *user, const char *section, const char *name, const char *value)
{
	struct load_ctx *x = user;
	int lineno = x->line;
	for (size_t i = 0; i < sizeof options / sizeof options[0]; i++)
		if (strcmp(options[i].section, section) == 0 && strcmp(options[i].key, name) == 0)
			return set_option(x, &options[i], value, lineno);
	snprintf(x->err, x->errlen, "%s:%d: unknown option [%s] %s", x->path, lineno, section,
		 name);
	return 0;
}

static int check(struct config *c, char *err, size_t errlen, const char *path)
{
	if (strcmp(c->unknown_mac_policy, "discover") && strcmp(c->unknown_mac_policy, "ignore")) {
		snprintf(err, errlen, "%s: boot.unknown_mac must be discover or ignore", path);
		return -1;
	}
	if (strcmp(c->dnsmasq_mode, "off") && strcmp(c->dnsmasq_mode, "full") &&
	    strcmp(c->dnsmasq_mode, "proxy")) {
		snprintf(err, errlen, "%s: dnsmasq.mode must be off, full or proxy", path);
		return -1;
	}
	if (c->backoff_max_ms < c->backoff_base_ms) {
		snprintf(err, errlen, "%s: lifecycle.backoff_max_ms < backoff_base_ms", path);
		return -1;
	}
	return 0;
}

int config_load(struct config *c, const char *path, char *err, size_t errlen)
{
	struct load_ctx x = {c, err, errlen, path, 0, fopen(path, "r")};
	err[0] = 0;
	int rc = x.f ? ini_parse_stream(read_line, &x, on_entry, &x) : -1;
	if (x.f)
		fclose(x.f);
	if (rc < 0) {
		snprintf(err, errlen, "%s: cannot read config file", path);
		return -1;
	}
	if (rc > 0) {
		if (!err[0])
			snprintf(err, errlen, "%s:%d: syntax error", path, rc);
		return -1;
	}
	return check(c, err, errlen, path);
}
