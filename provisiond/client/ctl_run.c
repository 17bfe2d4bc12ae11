/* provisionctl's driver: finds the command named by the leading words,
 * parses its options, prints help, resolves configuration, runs it. */
#include <stdlib.h>
#include <string.h>

#include "provisiond/client/ctl.h"

#define MAX_WORDS 8

const struct ctl_opt ctl_global_opts[] = {
    {"url", 0, CTL_VALUE, "URL", "server URL (env PROVISIOND_URL; default " PC_DEFAULT_URL ")"},
    {"token", 0, CTL_VALUE, "TOKEN", "bearer token (env PROVISIOND_TOKEN; visible in ps)"},
    {"token-file", 0, CTL_VALUE, "FILE", "read the token from FILE (env PROVISIOND_TOKEN_FILE)"},
    {"config", 0, CTL_VALUE, "FILE", "config file (default ~/.config/provisionctl.ini)"},
    {"output", 'o', CTL_VALUE, "table|json", "output format (default table)"},
    {"timeout", 0, CTL_VALUE, "SECONDS", "per-request timeout (default 30)"},
    {"request-id", 0, CTL_VALUE, "ID", "X-Request-Id to send with each request"},
    {"verbose", 'v', CTL_FLAG, NULL, "trace requests on stderr (never bodies or secrets)"},
    {"help", 'h', CTL_FLAG, NULL, "show help for the command"},
    {NULL, 0, 0, NULL, NULL},
};

const struct ctl_cmd *const ctl_cmd_tables[] = {
    ctl_machine_cmds, ctl_alloc_cmds, ctl_rollout_cmds, ctl_image_cmds, ctl_token_cmds,
    ctl_fleet_cmds,   NULL,
};

/* Non-option words of argv (values of global options skipped). */
static size_t collect_words(int argc, char **argv, const char **words)
{
	size_t n = 0;

	for (int i = 1; i < argc && n < MAX_WORDS; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--") == 0)
			break;
		if (a[0] != '-' || a[1] == '\0') {
			words[n++] = a;
			continue;
		}
		for (const struct ctl_opt *o = ctl_global_opts; o->name; o++) {
			bool is_long = a[1] == '-' && strcmp(a + 2, o->name) == 0;
			bool is_short = a[1] == o->short_name && a[2] == '\0';
			if ((is_long || is_short) && o->kind != CTL_FLAG)
				i++;
		}
	}
	return n;
}

/* Number of words of cmd when `words` starts with all of them, else 0.
 * With prefix=true: 1 when cmd's words start with all of `words`. */
static size_t match_words(const char *cmd_words, const char **words, size_t n, bool prefix)
{
	const char *p = cmd_words;
	size_t k = 0;

	while (*p) {
		size_t len = strcspn(p, " ");
		if (k == n)
			return prefix ? 1 : 0;
		if (strlen(words[k]) != len || strncmp(words[k], p, len) != 0)
			return 0;
		k++;
		p += len + (p[len] == ' ');
	}
	return prefix ? (k == n) : k;
}

static const struct ctl_cmd *find_cmd(const char **words, size_t n, size_t *nmatched)
{
	const struct ctl_cmd *best = NULL;
	size_t best_k = 0;

	for (size_t t = 0; ctl_cmd_tables[t] != NULL; t++)
		for (const struct ctl_cmd *c = ctl_cmd_tables[t]; c->words; c++) {
			size_t k = match_words(c->words, words, n, false);
			if (k > best_k) {
				best = c;
				best_k = k;
			}
		}
	*nmatched = best_k;
	return best;
}

static void print_opts(FILE *out, const struct ctl_opt *opts)
{
	struct ctl_table *t = ctl_table_new(2, NULL);

	for (const struct ctl_opt *o = opts; t && o && o->name; o++) {
		char left[96];
		snprintf(left, sizeof(left), "  %c%c%s--%s%s%s%s", o->short_name ? '-' : ' ',
			 o->short_name ? o->short_name : ' ', o->short_name ? ", " : "  ", o->name,
			 o->metavar ? " " : "", o->metavar ? o->metavar : "",
			 o->kind == CTL_MULTI ? " (repeatable)" : "");
		const char *row[2] = {left, o->help ? o->help : ""};
		ctl_table_add(t, row);
	}
	if (t != NULL)
		ctl_table_print(out, t, 0);
	ctl_table_free(t);
}

/* Lists the commands whose words start with `words` (all when n == 0). */
static void print_cmd_list(FILE *out, const char **words, size_t n)
{
	struct ctl_table *t = ctl_table_new(2, NULL);

	for (size_t i = 0; t != NULL && ctl_cmd_tables[i] != NULL; i++)
		for (const struct ctl_cmd *c = ctl_cmd_tables[i]; c->words; c++) {
			if (n > 0 && !match_words(c->words, words, n, true))
				continue;
			char left[128];
			snprintf(left, sizeof(left), "  %s %s", c->words, c->synopsis);
			const char *row[2] = {left, c->summary};
			ctl_table_add(t, row);
		}
	if (t != NULL)
		ctl_table_print(out, t, 0);
	ctl_table_free(t);
}

static void print_help(FILE *out, const struct ctl_cmd *c, const char **words, size_t n)
{
	if (c == NULL) {
		fprintf(out, "Usage: provisionctl [global options] COMMAND [options] [ARGS]\n\n"
			     "Commands:\n");
		print_cmd_list(out, words, n);
		fprintf(out, "\nRun 'provisionctl COMMAND --help' for a command's options.\n");
	} else {
		fprintf(out, "Usage: provisionctl %s [options]%s%s\n\n%s\n", c->words,
			c->synopsis[0] ? " " : "", c->synopsis, c->summary);
		if (c->choices != NULL) {
			fprintf(out, "\n%.*s:", (int)strcspn(c->synopsis, " "), c->synopsis);
			for (size_t i = 0; c->choices[i]; i++)
				fprintf(out, " %s", c->choices[i]);
			fprintf(out, "\n");
		}
		if (c->details != NULL)
			fprintf(out, "\n%s\n", c->details);
		if (c->opts != NULL && c->opts->name != NULL) {
			fprintf(out, "\nOptions:\n");
			print_opts(out, c->opts);
		}
	}
	fprintf(out, "\nGlobal options:\n");
	print_opts(out, ctl_global_opts);
	fprintf(out, "\nExit status: 0 ok, 1 API error, 2 usage error, 3 transport error.\n");
}

static const char *real_getenv(const char *name)
{
	return getenv(name);
}

static int make_client(struct ctl *ctl, const struct ctl_args *a)
{
	struct ctl_config_src src = {
	    .flag_url = ctl_arg(a, "url"),
	    .flag_token = ctl_arg(a, "token"),
	    .flag_token_file = ctl_arg(a, "token-file"),
	    .flag_config = ctl_arg(a, "config"),
	    .flag_timeout = ctl_arg(a, "timeout"),
	    .getenv = real_getenv,
	    .warn = ctl->err,
	};
	struct ctl_config cfg;
	struct pc_error err;
	char msg[512];
	int rc = CTL_EXIT_OK;

	if (ctl_config_resolve(&src, &cfg, msg, sizeof(msg)) != 0) {
		rc = ctl_usage(ctl, NULL, "%s", msg);
	} else if ((ctl->client = pc_client_new(cfg.url, cfg.token, &err)) == NULL) {
		rc = ctl_usage(ctl, NULL, "%s (url from %s)", err.message, cfg.url_from);
	} else {
		pc_client_set_timeout(ctl->client, cfg.timeout_ms);
		ctl->no_token = cfg.token == NULL;
		if (ctl->verbose) {
			pc_client_set_trace(ctl->client, ctl->err);
			fprintf(ctl->err, "* url %s (from %s), token from %s%s%s\n", cfg.url,
				cfg.url_from, cfg.token_from, cfg.config_path ? ", config " : "",
				cfg.config_path ? cfg.config_path : "");
		}
		const char *rid = ctl_arg(a, "request-id");
		if (rid != NULL && pc_client_set_request_id(ctl->client, rid) != PC_OK)
			rc = ctl_usage(ctl, NULL, "invalid --request-id");
	}
	ctl_config_free(&cfg);
	return rc;
}

/* Checks output format and positional count; drops the command words. */
static int check_args(struct ctl *ctl, const struct ctl_cmd *c, struct ctl_args *a, size_t k)
{
	const char *o = ctl_arg(a, "output");

	if (o != NULL && strcmp(o, "json") != 0 && strcmp(o, "table") != 0)
		return ctl_usage(ctl, c, "--output must be table or json");
	ctl->json = o != NULL && strcmp(o, "json") == 0;
	ctl->verbose = ctl_flag(a, "verbose");
	for (size_t i = 0; i < k; i++)
		if (i >= a->npos || !match_words(c->words, a->pos, i + 1, true))
			return ctl_usage(ctl, c, "options must follow the command words");
	memmove(a->pos, a->pos + k, (a->npos - k) * sizeof(a->pos[0]));
	a->npos -= k;
	if ((int)a->npos < c->min_pos)
		return ctl_usage(ctl, c, "missing argument: %s", c->synopsis);
	if ((int)a->npos > c->max_pos)
		return ctl_usage(ctl, c, "unexpected argument '%s'", a->pos[c->max_pos]);
	return CTL_EXIT_OK;
}

static int help_or_unknown(struct ctl *ctl, const char **words, size_t n, bool help)
{
	bool is_help_cmd = n > 0 && strcmp(words[0], "help") == 0;
	size_t k = 0;

	if (is_help_cmd) {
		words++;
		n--;
		const struct ctl_cmd *c = find_cmd(words, n, &k);
		print_help(ctl->out, c, words, c ? 0 : n);
		return CTL_EXIT_OK;
	}
	if (n == 0 || help) {
		print_help(help ? ctl->out : ctl->err, NULL, words, n);
		return help ? CTL_EXIT_OK : CTL_EXIT_USAGE;
	}
	for (size_t i = 0; ctl_cmd_tables[i] != NULL; i++)
		for (const struct ctl_cmd *c = ctl_cmd_tables[i]; c->words; c++)
			if (match_words(c->words, words, 1, true)) {
				fprintf(ctl->err, "provisionctl: '%s' needs a subcommand:\n",
					words[0]);
				print_cmd_list(ctl->err, words, 1);
				return CTL_EXIT_USAGE;
			}
	return ctl_usage(ctl, NULL, "unknown command '%s'", words[0]);
}

int ctl_run(int argc, char **argv, FILE *out, FILE *err)
{
	struct ctl ctl = {.out = out, .err = err};
	const char *words[MAX_WORDS];
	size_t n = collect_words(argc, argv, words), k = 0;
	const struct ctl_cmd *c = find_cmd(words, n, &k);
	struct ctl_args a;
	char msg[256];
	int rc;

	if (ctl_args_parse(argc, argv, 1, ctl_global_opts, c ? c->opts : NULL, &a, msg,
			   sizeof(msg)))
		return ctl_usage(&ctl, c, "%s", msg);
	if (c == NULL)
		return help_or_unknown(&ctl, words, n, ctl_flag(&a, "help"));
	if (ctl_flag(&a, "help")) {
		print_help(out, c, NULL, 0);
		return CTL_EXIT_OK;
	}
	rc = check_args(&ctl, c, &a, k);
	if (rc == CTL_EXIT_OK && !c->no_client)
		rc = make_client(&ctl, &a);
	if (rc == CTL_EXIT_OK)
		rc = c->run(&ctl, c, &a);
	pc_client_free(ctl.client);
	fflush(out);
	return rc;
}
