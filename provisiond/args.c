/* args.c - provisiond's options table and its getopt parser. */
#include "provisiond/args.h"
#include "inventory/inventory.h"
#include "provisiond/routes.h"
#include "util/util.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

const struct daemon_opt daemon_opts[] = {
    {.name = "config",
     .short_name = 'c',
     .metavar = "FILE",
     .help = "the INI file (provisiond.ini(5)); a missing or unreadable one exits 2"},
    {.name = "db",
     .short_name = 'd',
     .metavar = "PATH",
     .overrides = "database.path",
     .help = "the database: a SQLite file, or a PostgreSQL URI or conninfo"},
    {.name = "listen",
     .short_name = 'l',
     .metavar = "HOST:PORT",
     .overrides = "server.listen",
     .help = "address of the management API; port 0 lets the kernel pick one"},
    {.name = "boot-listen",
     .short_name = 'b',
     .metavar = "HOST:PORT",
     .overrides = "server.boot_listen",
     .help = "address of the boot/agent plane; an empty value turns it off"},
    {.name = "skus",
     .short_name = 's',
     .metavar = "DIR",
     .overrides = "catalog.skus_dir",
     .help = "directory of the SKU catalog"},
    {.name = "token-file",
     .short_name = 't',
     .metavar = "FILE",
     .overrides = "auth.admin_token_file",
     .help = "where --init writes the admin token (mode 0600)"},
    {.name = "ready-file",
     .short_name = 'r',
     .metavar = "FILE",
     .help = "once serving, atomically write API_PORT BOOT_PORT to FILE (0: no boot listener)"},
    {.name = "init",
     .short_name = 'i',
     .help = "create the key file if there is none, create or migrate the database, add an "
	     "admin token, write it to the token file, and exit"},
    {.name = "init-if-new",
     .help = "do what --init does only when the database or the key file is missing (a "
	     "service's first start), and nothing otherwise"},
    {.name = "write-dnsmasq-config",
     .short_name = 'w',
     .help = "write the [dnsmasq] configuration, TFTP root and hosts directory for a dnsmasq "
	     "the operator runs, and exit"},
    {.name = "check-config",
     .help = "report every problem of the configuration and the SKU catalog as FILE:LINE: "
	     "message; exit 2 if there is one, 0 if none"},
    {.name = "version", .help = "print the version, commit and database schema, and exit"},
    {.name = "openapi",
     .help = "print the API's OpenAPI 3.1 document (what GET /v1/openapi.json serves), and exit"},
    {.name = "help", .short_name = 'h', .help = "print this help and exit"},
    {.name = NULL},
};

const char *const daemon_synopsis[] = {
    "provisiond [--config FILE] [--db PATH] [--listen HOST:PORT] [--boot-listen HOST:PORT] "
    "[--skus DIR] [--ready-file FILE]",
    "provisiond --init|--init-if-new [--config FILE] [--db PATH] [--token-file FILE]",
    "provisiond --write-dnsmasq-config [--config FILE]",
    "provisiond --check-config [--config FILE] [--skus DIR]",
    "provisiond --version | --openapi",
    NULL,
};

#define N_OPTS 24

void daemon_usage(FILE *f)
{
	for (size_t i = 0; daemon_synopsis[i]; i++)
		fprintf(f, "%s %s\n", i == 0 ? "usage:" : "      ", daemon_synopsis[i]);
	fprintf(f, "\noptions:\n");
	for (const struct daemon_opt *o = daemon_opts; o->name; o++) {
		char left[64];
		snprintf(left, sizeof left, "%s%c%s--%s%s%s", o->short_name ? "-" : " ",
			 o->short_name ? o->short_name : ' ', o->short_name ? ", " : "  ", o->name,
			 o->metavar ? " " : "", o->metavar ? o->metavar : "");
		fprintf(f, "  %-28s %s%s%s%s\n", left, o->help, o->overrides ? " (overrides " : "",
			o->overrides ? o->overrides : "", o->overrides ? ")" : "");
	}
	fprintf(f, "\nSettings: man 5 provisiond.ini, or docs/config.md.\n");
}

/* getopt_long's table and short-option string from daemon_opts. Options
 * without a short name get a code from 256 up (their index + 256). */
static void getopt_tables(struct option *longs, char *shorts, size_t shorts_len)
{
	size_t n = 0, s = 0;

	for (const struct daemon_opt *o = daemon_opts; o->name && n + 1 < N_OPTS; o++, n++) {
		longs[n] = (struct option){.name = o->name,
					   .has_arg = o->metavar ? required_argument : no_argument,
					   .val = o->short_name ? o->short_name : (int)(256 + n)};
		if (o->short_name && s + 3 < shorts_len) {
			shorts[s++] = o->short_name;
			if (o->metavar)
				shorts[s++] = ':';
		}
	}
	longs[n] = (struct option){0};
	shorts[s] = '\0';
}

/* The daemon_opts entry getopt_long answered with code c, or NULL. */
static const struct daemon_opt *opt_of(int c)
{
	size_t n = 0;

	for (const struct daemon_opt *o = daemon_opts; o->name; o++, n++)
		if ((o->short_name && c == o->short_name) || c == (int)(256 + n))
			return o;
	return NULL;
}

/* Stores one parsed option; exits for --help and --version. false: the
 * table names an option this function does not know (a programming error). */
static bool store(struct daemon_args *a, const char *name, const char *value)
{
	const struct {
		const char *name;
		const char **value;
		bool *flag;
	} slots[] = {
	    {"config", &a->config, NULL},
	    {"db", &a->db, NULL},
	    {"listen", &a->listen, NULL},
	    {"boot-listen", &a->boot_listen, NULL},
	    {"skus", &a->skus, NULL},
	    {"token-file", &a->token_file, NULL},
	    {"ready-file", &a->ready_file, NULL},
	    {"init", NULL, &a->init},
	    {"init-if-new", NULL, &a->init_if_new},
	    {"write-dnsmasq-config", NULL, &a->write_dnsmasq},
	    {"check-config", NULL, &a->check_config},
	};

	if (strcmp(name, "help") == 0) {
		daemon_usage(stdout);
		exit(0);
	}
	if (strcmp(name, "openapi") == 0) {
		json_t *doc = api_openapi();
		int rc = doc && json_dumpf(doc, stdout, JSON_INDENT(2)) == 0 ? 0 : 1;
		json_decref(doc);
		exit(rc);
	}
	if (strcmp(name, "version") == 0) {
		printf("provisiond %s (%s, schema %d)\n", PROVISIOND_VERSION, PROVISIOND_COMMIT,
		       inv_schema_version());
		exit(0);
	}
	for (size_t i = 0; i < ARRAY_SIZE(slots); i++)
		if (strcmp(name, slots[i].name) == 0) {
			if (slots[i].value)
				*slots[i].value = value;
			else
				*slots[i].flag = true;
			return true;
		}
	fprintf(stderr, "provisiond: option --%s is not handled\n", name);
	return false;
}

int daemon_parse_args(int argc, char **argv, struct daemon_args *a)
{
	struct option longs[N_OPTS];
	char shorts[2 * N_OPTS + 1];
	int c;

	getopt_tables(longs, shorts, sizeof shorts);
	while ((c = getopt_long(argc, argv, shorts, longs, NULL)) != -1) {
		const struct daemon_opt *o = opt_of(c);
		if (o == NULL) {
			daemon_usage(stderr);
			return -1;
		}
		if (!store(a, o->name, optarg))
			return -1;
	}
	if (optind != argc) {
		fprintf(stderr, "provisiond: unexpected argument '%s'\n", argv[optind]);
		daemon_usage(stderr);
		return -1;
	}
	return 0;
}
