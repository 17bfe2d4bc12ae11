/* main.c — provisiond-agent: the deploy agent of the provisiond ramdisk. */
#include "agent.h"

#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

static void usage(FILE *out)
{
	fputs("usage: provisiond-agent [run|booted|facts] [options]\n"
	      "  run      (default) look up, report facts, heartbeat, run commands\n"
	      "  booted   deployed image: read the disk-tail metadata, print\n"
	      "           PROVISIOND-BOOTED allocation=... machine=..., report booted\n"
	      "  facts    print the hardware facts JSON and exit\n"
	      "options (override provisiond.* on the kernel command line):\n"
	      "  --cmdline FILE     kernel parameters from FILE (default SYSROOT/proc/cmdline)\n"
	      "  --url URL          boot listener base URL           (provisiond.url)\n"
	      "  --mode agent|discover                              (provisiond.mode)\n"
	      "  --machine ID       machine id                       (provisiond.machine)\n"
	      "  --token TOKEN      one-time boot token              (provisiond.token)\n"
	      "  --heartbeat S      heartbeat period, default 10     (provisiond.heartbeat)\n"
	      "  --sysroot DIR      read DIR/proc and DIR/sys instead of /proc and /sys\n"
	      "  --devroot DIR      disk nodes live in DIR (default /dev)\n"
	      "  --disk PATH        booted: the disk holding the metadata (default: search)\n"
	      "  --no-power         reboot/poweroff: report, then exit 0 instead of acting\n"
	      "  --poll-wait S      long-poll wait for commands, default 30\n"
	      "  --retry-max S      give up on network errors after S seconds, default 600\n"
	      "  --retry-base MS    first retry delay in ms, default 1000 (doubles to 30 s)\n"
	      "  --fail-write-at B  test hook: image writes past byte B fail with EIO\n"
	      "  --fail-hash        test hook: the image's SHA-256 comes out wrong\n"
	      "  --stop-write-at B  test hook: SIGSTOP itself when the image write reaches B\n"
	      "  --debug            debug logging\n",
	      out);
}

static int print_facts(const struct agent_config *cfg, struct agent_err *err)
{
	json_t *facts = NULL;
	if (agent_facts_collect(cfg->sysroot, &facts, err))
		return 1;
	json_dumpf(facts, stdout, JSON_INDENT(2));
	fputc('\n', stdout);
	json_decref(facts);
	return 0;
}

int main(int argc, char **argv)
{
	struct agent_config cfg;
	struct agent_err err = {0};
	const char *command = "run";
	if (agent_config_init(&cfg, &err))
		return 1;
	enum agent_rc rc = agent_options_parse(argc, argv, &cfg, &command, &err);
	if (rc) {
		bool help = strcmp(err.msg, "help") == 0;
		if (!help && err.msg[0])
			fprintf(stderr, "provisiond-agent: %s\n", err.msg);
		usage(help ? stdout : stderr);
		agent_config_free(&cfg);
		return help ? 0 : 2;
	}
	signal(SIGPIPE, SIG_IGN);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	int status = 0;
	if (strcmp(command, "facts") == 0)
		status = print_facts(&cfg, &err);
	else if (strcmp(command, "booted") == 0)
		status = agent_booted(&cfg, stdout, &err) ? 1 : 0;
	else if (strcmp(command, "run") == 0)
		status = agent_run(&cfg, &err) ? 1 : 0;
	else {
		fprintf(stderr, "provisiond-agent: unknown command '%s'\n", command);
		usage(stderr);
		status = 2;
	}
	if (status == 1)
		agent_log(AGENT_LOG_ERROR, "%s failed: %s", command, err.msg);
	curl_global_cleanup();
	agent_config_free(&cfg);
	return status;
}
