/* options.c — command-line flags; they override the kernel command line. */
#include "agent.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

enum {
	OPT_CMDLINE = 1000,
	OPT_URL,
	OPT_MODE,
	OPT_MACHINE,
	OPT_TOKEN,
	OPT_HEARTBEAT,
	OPT_SYSROOT,
	OPT_DEVROOT,
	OPT_DISK,
	OPT_NO_POWER,
	OPT_POLL_WAIT,
	OPT_RETRY_MAX,
	OPT_RETRY_BASE,
	OPT_FAIL_WRITE_AT,
	OPT_FAIL_HASH,
	OPT_STOP_WRITE_AT,
	OPT_DEBUG,
	OPT_HELP,
};

static const struct option long_opts[] = {
    {"cmdline", required_argument, NULL, OPT_CMDLINE},
    {"url", required_argument, NULL, OPT_URL},
    {"mode", required_argument, NULL, OPT_MODE},
    {"machine", required_argument, NULL, OPT_MACHINE},
    {"token", required_argument, NULL, OPT_TOKEN},
    {"heartbeat", required_argument, NULL, OPT_HEARTBEAT},
    {"sysroot", required_argument, NULL, OPT_SYSROOT},
    {"devroot", required_argument, NULL, OPT_DEVROOT},
    {"disk", required_argument, NULL, OPT_DISK},
    {"no-power", no_argument, NULL, OPT_NO_POWER},
    {"poll-wait", required_argument, NULL, OPT_POLL_WAIT},
    {"retry-max", required_argument, NULL, OPT_RETRY_MAX},
    {"retry-base", required_argument, NULL, OPT_RETRY_BASE},
    {"fail-write-at", required_argument, NULL, OPT_FAIL_WRITE_AT},
    {"fail-hash", no_argument, NULL, OPT_FAIL_HASH},
    {"stop-write-at", required_argument, NULL, OPT_STOP_WRITE_AT},
    {"debug", no_argument, NULL, OPT_DEBUG},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

/* Kernel parameters named by their flag (applied after the cmdline file). */
static const char *param_for(int opt)
{
	switch (opt) {
	case OPT_URL:
		return AGENT_KARG_URL;
	case OPT_MODE:
		return AGENT_KARG_MODE;
	case OPT_MACHINE:
		return AGENT_KARG_MACHINE;
	case OPT_TOKEN:
		return AGENT_KARG_TOKEN;
	case OPT_HEARTBEAT:
		return AGENT_KARG_HEARTBEAT;
	default:
		return NULL;
	}
}

static enum agent_rc set_number(const char *v, long min, long max, int *out, struct agent_err *err)
{
	long n;
	if (agent_parse_int(v, min, max, &n, err))
		return AGENT_E_USAGE;
	*out = (int)n;
	return AGENT_OK;
}

/* Flags that configure where things are read, applied in the first pass. */
static enum agent_rc apply_early(struct agent_config *cfg, int opt, const char *v,
				 struct agent_err *err)
{
	int ms = 0;
	switch (opt) {
	case OPT_CMDLINE:
		return agent_set_str(&cfg->cmdline_path, v, err);
	case OPT_SYSROOT:
		return agent_set_str(&cfg->sysroot, v, err);
	case OPT_DEVROOT:
		return agent_set_str(&cfg->devroot, v, err);
	case OPT_DISK:
		return agent_set_str(&cfg->disk, v, err);
	case OPT_NO_POWER:
		cfg->no_power = true;
		return AGENT_OK;
	case OPT_DEBUG:
		agent_log_set_level(AGENT_LOG_DEBUG);
		return AGENT_OK;
	case OPT_POLL_WAIT:
		return set_number(v, 0, 3600, &cfg->poll_wait_s, err);
	case OPT_RETRY_MAX:
		return set_number(v, 0, 86400, &cfg->retry_max_s, err);
	case OPT_RETRY_BASE:
		if (set_number(v, 1, 60000, &ms, err))
			return AGENT_E_USAGE;
		cfg->retry_base_s = ms / 1000.0;
		return AGENT_OK;
	case OPT_FAIL_WRITE_AT: /* test hook: an image write past this offset fails (EIO) */
		if (set_number(v, 0, 1 << 30, &ms, err))
			return AGENT_E_USAGE;
		agent_sink_fail_at((uint64_t)ms);
		return AGENT_OK;
	case OPT_FAIL_HASH: /* test hook: the image's SHA-256 comes out wrong */
		agent_sink_fail_hash();
		return AGENT_OK;
	case OPT_STOP_WRITE_AT: /* test hook: SIGSTOP itself mid-write */
		if (set_number(v, 1, 1 << 30, &ms, err))
			return AGENT_E_USAGE;
		agent_sink_stop_at((uint64_t)ms);
		return AGENT_OK;
	default:
		return AGENT_OK;
	}
}

static enum agent_rc read_cmdline(struct agent_config *cfg, struct agent_err *err)
{
	char *text = NULL;
	enum agent_rc rc = cfg->cmdline_path
			       ? agent_read_text(NULL, cfg->cmdline_path, &text, err)
			       : agent_read_text(cfg->sysroot, "/proc/cmdline", &text, err);
	if (rc && !cfg->cmdline_path) {
		agent_log(AGENT_LOG_WARN, "%s; using flags only", err->msg);
		return AGENT_OK;
	}
	if (rc == AGENT_OK)
		rc = agent_cmdline_parse(text, cfg, err);
	free(text);
	return rc;
}

enum agent_rc agent_options_parse(int argc, char **argv, struct agent_config *cfg,
				  const char **command, struct agent_err *err)
{
	int opt;
	optind = 0;
	while ((opt = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
		if (opt == '?' || opt == OPT_HELP)
			return agent_fail(err, AGENT_E_USAGE, "%s", opt == OPT_HELP ? "help" : "");
		if (apply_early(cfg, opt, optarg, err))
			return agent_err_prefix(err, "--%s", long_opts[opt - OPT_CMDLINE].name);
	}
	*command = optind < argc ? argv[optind] : "run";
	if (optind + 1 < argc)
		return agent_fail(err, AGENT_E_USAGE, "unexpected argument '%s'", argv[optind + 1]);
	enum agent_rc rc = read_cmdline(cfg, err);
	if (rc)
		return rc;
	optind = 0;
	while ((opt = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
		const char *key = param_for(opt);
		if (key && agent_config_set(cfg, key, optarg, err))
			return agent_err_prefix(err, "--%s", key);
	}
	return AGENT_OK;
}
