/* config.c - INI parsing with inih into struct config. */
#include "provisiond/config.h"
#include "provisiond/http.h"

#include <errno.h>
#include <stdarg.h>
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
    N("server", "token_rate_per_s", token_rate_per_s, 0, 1000000),
    N("server", "token_burst", token_burst, 1, 1000000),
    N("server", "connection_limit", connection_limit, 16, 100000),
    N("server", "client_connection_limit", client_connection_limit, 1, 100000),
    N("server", "request_timeout_s", request_timeout_s, 1, 3600),
    N("server", "long_poll_max_s", long_poll_max_s, 1, 3600),
    N("server", "max_streams", max_streams, 0, 100000),
    S("database", "path", db_path),
    S("database", "key_file", key_file),
    S("catalog", "skus_dir", skus_dir),
    S("auth", "admin_token_file", admin_token_file),
    N("lifecycle", "workers", lc_workers, 1, 1024),
    N("lifecycle", "max_per_rack", lc_max_per_rack, 0, 100000),
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
    N("lifecycle", "warm_max_s", warm_max_s, 1, 31536000),
    N("lifecycle", "agent_boot_timeout_s", agent_boot_timeout_s, 0, 86400),
    N("bmc", "call_timeout_ms", bmc_call_timeout_ms, 100, 600000),
    N("bmc", "max_concurrent", bmc_max_concurrent, 1, 10000),
    N("bmc", "retries", bmc_retries, 0, 20),
    N("bmc", "breaker_threshold", bmc_breaker_threshold, 1, 1000),
    N("bmc", "breaker_cooldown_ms", bmc_breaker_cooldown_ms, 10, 3600000),
    N("bmc", "confirm_timeout_ms", bmc_confirm_timeout_ms, 100, 600000),
    N("console", "buffer_kib", console_buffer_kib, 1, 1024),
    N("console", "max_sessions", console_max_sessions, 0, 4096),
    N("console", "max_buffers", console_max_buffers, 1, 1000000),
    S("boot", "unknown_mac", unknown_mac_policy),
    N("boot", "discovery_max", discovery_max, 0, 1000000),
    N("boot", "discovery_rate_per_min", discovery_rate_per_min, 1, 100000),
    N("boot", "discovery_ttl_s", discovery_ttl_s, 1, 31536000),
    S("boot", "ramdisk_dir", ramdisk_dir),
    S("boot", "images_dir", images_dir),
    S("boot", "vmedia_dir", vmedia_dir),
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
    S("replica", "name", replica_name),
    S("replica", "roles", replica_roles),
    N("replica", "heartbeat_s", replica_heartbeat_s, 1, 600),
    N("replica", "takeover_s", replica_takeover_s, 3, 3600),
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
	c->token_rate_per_s = 1000;
	c->token_burst = 2000;
	c->connection_limit = 1000;
	c->discovery_max = 200;
	c->discovery_rate_per_min = 20;
	c->discovery_ttl_s = 86400;
	c->client_connection_limit = 64;
	c->request_timeout_s = 15;
	c->max_streams = 64;
	c->long_poll_max_s = 60;
	snprintf(c->db_path, sizeof c->db_path, "/var/lib/provisiond/provisiond.db");
	snprintf(c->skus_dir, sizeof c->skus_dir, "%s", PROVISIOND_DEFAULT_SKUS_DIR);
	c->lc_workers = 16;
	c->lc_max_per_rack = 8;
	c->verify_timeout_s = 60;
	c->inspect_timeout_s = c->clean_timeout_s = c->deploy_timeout_s = 1800;
	c->release_timeout_s = 600;
	c->max_attempts = 3;
	c->backoff_base_ms = 1000;
	c->backoff_max_ms = 60000;
	c->max_substitutions = 2;
	c->max_concurrent_deploys = 64;
	c->warm_max_s = 86400;
	c->agent_boot_timeout_s = 600;
	c->bmc_call_timeout_ms = 10000;
	c->bmc_max_concurrent = 32;
	c->bmc_retries = 2;
	c->bmc_breaker_threshold = 3;
	c->bmc_breaker_cooldown_ms = 30000;
	c->bmc_confirm_timeout_ms = 30000;
	c->console_buffer_kib = 64;
	c->console_max_sessions = 32;
	c->console_max_buffers = 1024;
	snprintf(c->unknown_mac_policy, sizeof c->unknown_mac_policy, "discover");
	snprintf(c->ramdisk_dir, sizeof c->ramdisk_dir, "/var/lib/provisiond/ramdisk");
	snprintf(c->images_dir, sizeof c->images_dir, "/var/lib/provisiond/images");
	snprintf(c->vmedia_dir, sizeof c->vmedia_dir, "/var/lib/provisiond/vmedia");
	snprintf(c->log_level, sizeof c->log_level, "info");
	snprintf(c->replica_roles, sizeof c->replica_roles, "api,boot,engine");
	c->replica_heartbeat_s = 5;
	c->replica_takeover_s = 30;
	snprintf(c->dnsmasq_mode, sizeof c->dnsmasq_mode, "off");
	snprintf(c->dnsmasq_dir, sizeof c->dnsmasq_dir, "/var/lib/provisiond/dnsmasq");
}

size_t config_setting_count(void)
{
	return ARRAY_SIZE(options);
}

void config_setting_at(size_t i, const struct config *c, struct config_setting *out)
{
	const struct option *o = &options[i];
	const char *src = (const char *)c + o->offset;

	*out = (struct config_setting){.section = o->section,
				       .key = o->key,
				       .is_int = o->kind == K_INT,
				       .min = o->min,
				       .max = o->max};
	if (o->kind == K_INT)
		snprintf(out->value, sizeof out->value, "%d", *(const int *)(const void *)src);
	else
		snprintf(out->value, sizeof out->value, "%.*s", (int)o->size, src);
}

struct load_ctx {
	struct config *c;
	struct err *e; /* never NULL */
	const char *path;
	int line;
	FILE *f;
	bool failed;
	int failed_line; /* the first error's */
	/* config_check: every problem goes here, not only the first */
	void (*report)(void *ctx, const struct err *e);
	void *report_ctx;
	int problems;
	int lines[ARRAY_SIZE(options)]; /* line that set each option, 0 = default */
};

/* Records the first error only (inih goes on after a failing handler):
 * "file:line: message", and "section.key" as the field when key is set. */
__attribute__((format(printf, 5, 6))) static void
fail(struct load_ctx *x, int line, const char *section, const char *key, const char *fmt, ...)
{
	if (x->failed && !x->report)
		return;
	char msg[256], field[64] = "";
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (key)
		snprintf(field, sizeof field, "%s%s%s", section, *section ? "." : "", key);
	struct err one;
	err_set(x->report ? &one : x->e, ERR_INVALID, field, "%s:%d: %s", x->path, line, msg);
	if (x->report) {
		x->problems++;
		x->report(x->report_ctx, &one);
		if (!x->failed)
			*x->e = one;
	}
	if (!x->failed)
		x->failed_line = line;
	x->failed = true;
}

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
	x->lines[o - options] = line;
	if (o->kind == K_STR) {
		if (strlen(value) >= o->size) {
			fail(x, line, o->section, o->key, "%s.%s is too long", o->section, o->key);
			return 0;
		}
		snprintf(dst, o->size, "%s", value);
		return 1;
	}
	char *end;
	errno = 0;
	long v = strtol(value, &end, 10);
	if (errno || end == value || *end || v < o->min || v > o->max) {
		fail(x, line, o->section, o->key, "%s.%s must be an integer in %ld..%ld",
		     o->section, o->key, o->min, o->max);
		return 0;
	}
	*(int *)(void *)dst = (int)v;
	return 1;
}

static int on_entry(void *user, const char *section, const char *name, const char *value)
{
	struct load_ctx *x = user;
	int lineno = x->line;
	for (size_t i = 0; i < ARRAY_SIZE(options); i++)
		if (strcmp(options[i].section, section) == 0 && strcmp(options[i].key, name) == 0)
			return set_option(x, &options[i], value, lineno);
	fail(x, lineno, section, name, "unknown option [%s] %s", section, name);
	return 0;
}

/* The line that set section.key (0: not in the file). */
static int line_of(const struct load_ctx *x, const char *section, const char *key)
{
	for (size_t i = 0; i < ARRAY_SIZE(options); i++)
		if (strcmp(options[i].section, section) == 0 && strcmp(options[i].key, key) == 0)
			return x->lines[i];
	return 0;
}

static const char *const log_levels[] = {"debug", "info", "warn", "error"};

int config_roles(const char *list)
{
	static const char *const names[] = {"api", "boot", "engine"};
	int roles = 0;
	char buf[sizeof((struct config *)0)->replica_roles];
	snprintf(buf, sizeof buf, "%s", list);
	char *save = NULL;
	for (char *t = strtok_r(buf, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
		int bit = -1;
		for (size_t i = 0; i < ARRAY_SIZE(names); i++)
			if (strcmp(t, names[i]) == 0)
				bit = 1 << i;
		if (bit < 0)
			return -1;
		roles |= bit;
	}
	return roles ? roles : -1;
}

static bool one_of(const char *v, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v, names[i]) == 0)
			return true;
	return false;
}

/* Checks across options and of values' shapes, once the file is read; an
 * error names the line that set the option (0 for a default). */
static enum err_status check(struct load_ctx *x)
{
	const struct config *c = x->c;
	static const char *const macs[] = {"discover", "ignore"}, *const modes[] = {"off", "full",
										    "proxy"};
	if (!one_of(c->unknown_mac_policy, macs, ARRAY_SIZE(macs)))
		fail(x, line_of(x, "boot", "unknown_mac"), "boot", "unknown_mac",
		     "boot.unknown_mac must be discover or ignore");
	if (!one_of(c->dnsmasq_mode, modes, ARRAY_SIZE(modes)))
		fail(x, line_of(x, "dnsmasq", "mode"), "dnsmasq", "mode",
		     "dnsmasq.mode must be off, full or proxy");
	if (!one_of(c->log_level, log_levels, ARRAY_SIZE(log_levels)))
		fail(x, line_of(x, "log", "level"), "log", "level",
		     "log.level must be debug, info, warn or error");
	if (!http_listen_valid(c->listen))
		fail(x, line_of(x, "server", "listen"), "server", "listen",
		     "server.listen '%s' must be IPv4-ADDRESS:PORT", c->listen);
	if (c->boot_listen[0] && !http_listen_valid(c->boot_listen))
		fail(x, line_of(x, "server", "boot_listen"), "server", "boot_listen",
		     "server.boot_listen '%s' must be IPv4-ADDRESS:PORT (or empty: off)",
		     c->boot_listen);
	if (config_roles(c->replica_roles) < 0)
		fail(x, line_of(x, "replica", "roles"), "replica", "roles",
		     "replica.roles '%s' must list one or more of api, boot, engine "
		     "(comma-separated)",
		     c->replica_roles);
	if (c->replica_heartbeat_s * 3 > c->replica_takeover_s) {
		int hb = line_of(x, "replica", "heartbeat_s"),
		    to = line_of(x, "replica", "takeover_s");
		fail(x, hb > to ? hb : to, "replica", hb > to ? "heartbeat_s" : "takeover_s",
		     "replica.takeover_s must be at least 3 x replica.heartbeat_s");
	}
	if (c->backoff_max_ms < c->backoff_base_ms) {
		/* name the one the file set (the later one if both) */
		int max = line_of(x, "lifecycle", "backoff_max_ms");
		int base = line_of(x, "lifecycle", "backoff_base_ms");
		fail(x, max > base ? max : base, "lifecycle",
		     max > base ? "backoff_max_ms" : "backoff_base_ms",
		     "lifecycle.backoff_max_ms < backoff_base_ms");
	}
	return x->failed ? x->e->status : ERR_OK;
}

static enum err_status load(struct load_ctx *x)
{
	err_clear(x->e);
	if (!x->f)
		return err_set(x->e, ERR_IO, NULL, "%s:0: cannot read config file: %s", x->path,
			       strerror(errno));
	int rc = ini_parse_stream(read_line, x, on_entry, x);
	fclose(x->f);
	if (rc < 0)
		return err_set(x->e, ERR_IO, NULL, "%s:0: cannot read config file", x->path);
	if (rc > 0 && (!x->failed || rc != x->failed_line)) { /* a syntax error */
		if (!x->report)
			x->failed = false;
		fail(x, rc, NULL, NULL, "syntax error");
	}
	if (rc > 0 && !x->report)
		return x->e->status;
	return check(x);
}

enum err_status config_load(struct config *c, const char *path, struct err *e)
{
	struct err local;
	struct load_ctx x = {.c = c, .e = e ? e : &local, .path = path, .f = fopen(path, "r")};
	return load(&x);
}

int config_check(struct config *c, const char *path, void (*report)(void *ctx, const struct err *e),
		 void *ctx)
{
	struct err first;
	struct load_ctx x = {.c = c,
			     .e = &first,
			     .path = path,
			     .f = fopen(path, "r"),
			     .report = report,
			     .report_ctx = ctx};
	if (load(&x) == ERR_IO && !x.problems) { /* the file itself: one problem */
		report(ctx, &first);
		return 1;
	}
	return x.problems;
}
