/* cmdline.c — agent configuration: defaults and the kernel command line. */
#include "agent.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum agent_rc agent_set_str(char **slot, const char *value, struct agent_err *err)
{
	char *copy = NULL;
	if (value) {
		copy = strdup(value);
		if (!copy)
			return agent_fail(err, AGENT_E_NOMEM, "out of memory");
	}
	free(*slot);
	*slot = copy;
	return AGENT_OK;
}

enum agent_rc agent_parse_int(const char *s, long min, long max, long *out, struct agent_err *err)
{
	char *end = NULL;
	errno = 0;
	long v = s && *s ? strtol(s, &end, 10) : 0;
	if (!s || !*s || errno || *end || v < min || v > max)
		return agent_fail(err, AGENT_E_USAGE, "'%s' is not an integer in [%ld, %ld]",
				  s ? s : "", min, max);
	*out = v;
	return AGENT_OK;
}

enum agent_rc agent_config_init(struct agent_config *cfg, struct agent_err *err)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->mode = AGENT_MODE_AGENT;
	cfg->heartbeat_s = AGENT_HEARTBEAT_DEFAULT_S;
	cfg->poll_wait_s = AGENT_COMMAND_WAIT_MAX_S;
	cfg->retry_max_s = 600;
	cfg->retry_base_s = 1.0;
	cfg->retry_cap_s = 30.0;
	if (agent_set_str(&cfg->sysroot, "", err) || agent_set_str(&cfg->devroot, "/dev", err)) {
		agent_config_free(cfg);
		return AGENT_E_NOMEM;
	}
	return AGENT_OK;
}

void agent_config_free(struct agent_config *cfg)
{
	if (!cfg)
		return;
	free(cfg->url);
	free(cfg->machine);
	free(cfg->token);
	free(cfg->sysroot);
	free(cfg->devroot);
	free(cfg->cmdline_path);
	free(cfg->disk);
	memset(cfg, 0, sizeof(*cfg));
}

static enum agent_rc set_url(struct agent_config *cfg, const char *v, struct agent_err *err)
{
	if (strncmp(v, "http://", 7) != 0 && strncmp(v, "https://", 8) != 0)
		return agent_fail(err, AGENT_E_USAGE, "provisiond.url=%s: must start with http://",
				  v);
	if (agent_set_str(&cfg->url, v, err))
		return AGENT_E_NOMEM;
	size_t n = strlen(cfg->url);
	while (n > 0 && cfg->url[n - 1] == '/')
		cfg->url[--n] = '\0';
	return AGENT_OK;
}

enum agent_rc agent_config_set(struct agent_config *cfg, const char *key, const char *v,
			       struct agent_err *err)
{
	long n;
	if (strcmp(key, AGENT_KARG_URL) == 0)
		return set_url(cfg, v, err);
	if (strcmp(key, AGENT_KARG_MACHINE) == 0)
		return agent_set_str(&cfg->machine, *v ? v : NULL, err);
	if (strcmp(key, AGENT_KARG_TOKEN) == 0)
		return agent_set_str(&cfg->token, *v ? v : NULL, err);
	if (strcmp(key, AGENT_KARG_MODE) == 0) {
		if (strcmp(v, AGENT_MODE_NAME_AGENT) == 0)
			cfg->mode = AGENT_MODE_AGENT;
		else if (strcmp(v, AGENT_MODE_NAME_DISCOVER) == 0)
			cfg->mode = AGENT_MODE_DISCOVER;
		else
			return agent_fail(err, AGENT_E_USAGE,
					  "provisiond.mode=%s: expected agent or discover", v);
		return AGENT_OK;
	}
	if (strcmp(key, AGENT_KARG_HEARTBEAT) == 0) {
		if (agent_parse_int(v, AGENT_HEARTBEAT_MIN_S, AGENT_HEARTBEAT_MAX_S, &n, err))
			return agent_err_prefix(err, "provisiond.heartbeat");
		cfg->heartbeat_s = (int)n;
		return AGENT_OK;
	}
	if (strcmp(key, AGENT_KARG_SHELL) == 0) /* read by the ramdisk's /init, not by us */
		return AGENT_OK;
	agent_log(AGENT_LOG_WARN, "ignoring unknown kernel parameter provisiond.%s", key);
	return AGENT_OK;
}

/* Copies the next kernel-style word of *p into buf (quotes removed, spaces
 * inside quotes kept) and advances *p. Returns false at the end. */
static bool next_word(const char **p, char *buf, size_t size)
{
	const char *s = *p;
	while (*s && isspace((unsigned char)*s))
		s++;
	if (!*s)
		return false;
	size_t n = 0;
	bool quoted = false;
	for (; *s && (quoted || !isspace((unsigned char)*s)); s++) {
		if (*s == '"') {
			quoted = !quoted;
			continue;
		}
		if (n + 1 < size)
			buf[n++] = *s;
	}
	buf[n] = '\0';
	*p = s;
	return true;
}

enum agent_rc agent_cmdline_parse(const char *text, struct agent_config *cfg, struct agent_err *err)
{
	static const char prefix[] = AGENT_KARG_PREFIX;
	char word[4096];
	const char *p = text;
	while (next_word(&p, word, sizeof(word))) {
		if (strcmp(word, "--") == 0)
			break;
		if (strncmp(word, prefix, sizeof(prefix) - 1) != 0)
			continue;
		char *key = word + sizeof(prefix) - 1;
		char *eq = strchr(key, '=');
		if (!eq)
			return agent_fail(err, AGENT_E_USAGE, "kernel parameter %s has no value",
					  word);
		*eq = '\0';
		enum agent_rc rc = agent_config_set(cfg, key, eq + 1, err);
		if (rc)
			return rc;
	}
	return AGENT_OK;
}

enum agent_rc agent_config_check(const struct agent_config *cfg, struct agent_err *err)
{
	if (!cfg->url)
		return agent_fail(err, AGENT_E_USAGE,
				  "no provisiond.url on the kernel command line (or --url)");
	if (cfg->mode == AGENT_MODE_AGENT && !cfg->token)
		return agent_fail(
		    err, AGENT_E_USAGE,
		    "provisiond.token missing (required unless provisiond.mode=discover)");
	return AGENT_OK;
}
