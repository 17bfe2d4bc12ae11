/* main.c - redfish-bmc: the lab's Redfish BMC. Usage in usage() below; the project's
 * docs/bmc.md ("The lab's Redfish BMC") describes it. */
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rbmc.h"

struct args {
	const char *listen, *cert, *key, *port_file, *log, *systems, *password_file;
	const char *console_listen;
};

static void usage(void)
{
	fprintf(stderr,
		"usage: redfish-bmc (--simulate ID[,ID...] | --hook CMD --system ID[,ID...])\n"
		"         [--listen 127.0.0.1:PORT] [--user U] [--password P | --password-file F]\n"
		"         [--log OPLOG] [--port-file F] [--tls-cert PEM --tls-key PEM]\n"
		"         [--session-timeout S] [--max-sessions N]\n"
		"         [--console-upstream HOST:PORT [--console-listen 127.0.0.1:PORT]]\n"
		"Serves each ID as /redfish/v1/Systems/ID (and Managers/ID with a virtual CD).\n"
		"--console-upstream (one system only): its serial line is the TCP service at\n"
		"HOST:PORT, relayed as a telnet service on --console-listen and advertised as\n"
		"SerialConsole.Telnet.\n"
		"Defaults: --listen and --console-listen 127.0.0.1:0 (a free port, printed),\n"
		"user admin, password password, session timeout 600 s, 16 sessions.\n");
}

static int add_systems(struct rbmc *b, const char *list)
{
	char buf[1024], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", list);
	for (char *id = strtok_r(buf, ",", &save); id != NULL; id = strtok_r(NULL, ",", &save)) {
		struct rbmc_system *s;
		if (b->nsys >= RBMC_MAX_SYSTEMS || strlen(id) >= sizeof(s->id) || strchr(id, '/'))
			return -1;
		s = &b->sys[b->nsys++];
		snprintf(s->id, sizeof(s->id), "%s", id);
		snprintf(s->power, sizeof(s->power), "Off");
		snprintf(s->boot_enabled, sizeof(s->boot_enabled), "Disabled");
		snprintf(s->boot_target, sizeof(s->boot_target), "None");
		snprintf(s->boot_mode, sizeof(s->boot_mode), "UEFI");
	}
	return b->nsys > 0 ? 0 : -1;
}

static int read_password(struct rbmc *b, const char *path)
{
	FILE *f = fopen(path, "r");

	if (f == NULL || fgets(b->pass, sizeof(b->pass), f) == NULL) {
		if (f != NULL)
			fclose(f);
		return -1;
	}
	fclose(f);
	b->pass[strcspn(b->pass, "\r\n")] = '\0';
	return 0;
}

static int parse_option(struct rbmc *b, struct args *a, int opt, const char *v)
{
	switch (opt) {
	case 's':
		a->systems = v;
		b->be = &rbmc_backend_sim;
		break;
	case 'H':
		snprintf(b->hook, sizeof(b->hook), "%s", v);
		b->be = &rbmc_backend_hook;
		break;
	case 'S':
		a->systems = v;
		break;
	case 'l':
		a->listen = v;
		break;
	case 'u':
		snprintf(b->user, sizeof(b->user), "%s", v);
		break;
	case 'p':
		snprintf(b->pass, sizeof(b->pass), "%s", v);
		break;
	case 'P':
		a->password_file = v;
		break;
	case 'L':
		a->log = v;
		break;
	case 'f':
		a->port_file = v;
		break;
	case 'c':
		a->cert = v;
		break;
	case 'k':
		a->key = v;
		break;
	case 't':
		b->session_timeout_s = (int)strtol(v, NULL, 10);
		break;
	case 'm':
		b->max_sessions = (int)strtol(v, NULL, 10);
		break;
	case 'U':
		snprintf(b->console_upstream, sizeof(b->console_upstream), "%s", v);
		break;
	case 'C':
		a->console_listen = v;
		break;
	default:
		return -1;
	}
	return 0;
}

static int parse_args(int argc, char **argv, struct rbmc *b, struct args *a)
{
	static const struct option opts[] = {
	    {"simulate", 1, NULL, 's'},	      {"hook", 1, NULL, 'H'},
	    {"system", 1, NULL, 'S'},	      {"listen", 1, NULL, 'l'},
	    {"user", 1, NULL, 'u'},	      {"password", 1, NULL, 'p'},
	    {"password-file", 1, NULL, 'P'},  {"log", 1, NULL, 'L'},
	    {"port-file", 1, NULL, 'f'},      {"tls-cert", 1, NULL, 'c'},
	    {"tls-key", 1, NULL, 'k'},	      {"session-timeout", 1, NULL, 't'},
	    {"max-sessions", 1, NULL, 'm'},   {"console-upstream", 1, NULL, 'U'},
	    {"console-listen", 1, NULL, 'C'}, {NULL, 0, NULL, 0}};
	int opt;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1)
		if (parse_option(b, a, opt, optarg) != 0)
			return -1;
	if (b->be == NULL || a->systems == NULL || add_systems(b, a->systems) != 0)
		return -1;
	if (a->password_file != NULL && read_password(b, a->password_file) != 0)
		return -1;
	if (b->session_timeout_s <= 0 || b->max_sessions <= 0 ||
	    b->max_sessions > RBMC_MAX_SESSIONS || (a->cert == NULL) != (a->key == NULL))
		return -1;
	if (b->console_upstream[0] != '\0' &&
	    (b->nsys != 1 || rbmc_parse_addr(b->console_upstream, &(struct sockaddr_in){0}) != 0))
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	static struct rbmc b = {.session_timeout_s = 600, .max_sessions = 16};
	struct args a = {.listen = "127.0.0.1:0", .console_listen = "127.0.0.1:0"};
	sigset_t sigs;
	int sig = 0;

	snprintf(b.user, sizeof(b.user), "admin");
	snprintf(b.pass, sizeof(b.pass), "password");
	if (parse_args(argc, argv, &b, &a) != 0) {
		usage();
		return 2;
	}
	pthread_mutex_init(&b.mu, NULL);
	if (a.log != NULL && (b.oplog = fopen(a.log, "a")) == NULL) {
		perror(a.log);
		return 1;
	}
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (b.console_upstream[0] != '\0' && rbmc_console_start(&b, a.console_listen) != 0)
		return 1;
	if (rbmc_serve(&b, a.listen, a.cert, a.key, a.port_file) != 0)
		return 1;
	pthread_mutex_lock(&b.mu);
	rbmc_log(&b, "started", "backend", b.be->name, "systems", a.systems, NULL);
	pthread_mutex_unlock(&b.mu);
	sigwait(&sigs, &sig);
	pthread_mutex_lock(&b.mu);
	rbmc_log(&b, "stopped", NULL);
	return 0;
}
