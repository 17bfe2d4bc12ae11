/* args.h - provisiond's command line: one table of options that the parser,
 * --help, the provisiond(8) man page and the documentation check all read.
 *
 * Nothing here allocates; strings in struct daemon_args point into argv.
 * Not thread-safe (getopt); called once from main(). */
#ifndef PROVISIOND_ARGS_H
#define PROVISIOND_ARGS_H

#include <stdbool.h>
#include <stdio.h>

struct daemon_args {
	const char *config, *db, *listen, *boot_listen, *skus, *token_file, *ready_file;
	bool init, init_if_new, write_dnsmasq, check_config;
};

/* One option. A NULL name ends the table. */
struct daemon_opt {
	const char *name;      /* long name without "--" */
	char short_name;       /* 0 = none */
	const char *metavar;   /* NULL: a flag without a value */
	const char *overrides; /* the INI setting it overrides ("database.path") or NULL */
	const char *help;      /* one sentence, for --help and the man page */
};

extern const struct daemon_opt daemon_opts[];
/* The usage lines ("provisiond --init [--config FILE] …"), NULL-ended. */
extern const char *const daemon_synopsis[];

/* Prints the usage lines and every option with its help. */
void daemon_usage(FILE *f);
/* Parses argv into *a. --help and --version print and exit 0. Returns 0,
 * or -1 after printing the problem and the usage on stderr. */
int daemon_parse_args(int argc, char **argv, struct daemon_args *a);

#endif
