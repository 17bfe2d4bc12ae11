/*
 * provisionctl internals (library `provctl`): argument parsing, configuration
 * precedence, table rendering and the command tables. Only provisionctl.c
 * and the unit tests use this header. Nothing here is thread-safe: the CLI
 * is single-threaded. Functions that allocate say who frees.
 */
#ifndef PROVISIOND_CTL_H
#define PROVISIOND_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

#include "provisiond/client/provclient.h"
#include "util/util.h"

/* Exit codes (documented in docs/provisionctl.md). */
enum ctl_exit {
	CTL_EXIT_OK = 0,
	CTL_EXIT_API = 1,	/* the server said no (non-2xx), or a wait ended badly */
	CTL_EXIT_USAGE = 2,	/* bad command line or configuration */
	CTL_EXIT_TRANSPORT = 3, /* no usable answer: connect, timeout, bad JSON */
};

/* Entry point used by main() and by tests; out/err are borrowed. */
int ctl_run(int argc, char **argv, FILE *out, FILE *err);

/* ---- arguments ------------------------------------------------------- */

enum ctl_opt_kind {
	CTL_FLAG,  /* --x */
	CTL_VALUE, /* --x V or --x=V; the last one wins */
	CTL_MULTI, /* --x V, repeatable; all kept in order */
};

struct ctl_opt {
	const char *name; /* long name without "--"; NULL ends a table */
	char short_name;  /* 0 = none */
	enum ctl_opt_kind kind;
	const char *metavar;
	const char *help;
};

#define CTL_MAX_POS 16
#define CTL_MAX_VALS 128

struct ctl_val {
	const char *name;  /* the spec's name */
	const char *value; /* points into argv ("1" for flags) */
};

/* Parsed command line; all strings point into argv (nothing to free). */
struct ctl_args {
	const char *pos[CTL_MAX_POS];
	size_t npos;
	struct ctl_val vals[CTL_MAX_VALS];
	size_t nvals;
};

/* Parses argv[start..argc) against two option tables (either may be NULL).
 * "--" ends options. Returns 0, or -1 with a message in errbuf. */
int ctl_args_parse(int argc, char **argv, int start, const struct ctl_opt *global,
		   const struct ctl_opt *cmd, struct ctl_args *a, char *errbuf, size_t errlen);
/* Last value of option `name`, or NULL. */
const char *ctl_arg(const struct ctl_args *a, const char *name);
bool ctl_flag(const struct ctl_args *a, const char *name);
/* Stores up to max values of a CTL_MULTI option in order; returns count. */
size_t ctl_arg_all(const struct ctl_args *a, const char *name, const char **vals, size_t max);
/* Strict integer parse of s into [min,max]; 0 or -1. */
int ctl_parse_long(const char *s, long min, long max, long *out);

/* ---- configuration --------------------------------------------------- */

struct ctl_config_src {
	const char *flag_url;
	const char *flag_token;
	const char *flag_token_file;
	const char *flag_config;		 /* --config FILE: must exist */
	const char *flag_timeout;		 /* seconds */
	const char *(*getenv)(const char *name); /* NULL = no environment */
	FILE *warn;				 /* warnings (may be NULL) */
};

struct ctl_config {
	char *url;   /* malloc'd */
	char *token; /* malloc'd, NULL if none */
	long timeout_ms;
	const char *url_from;	/* "flag", "env", "config" or "default" */
	const char *token_from; /* same, or "none" */
	char *config_path;	/* file that was read (malloc'd) or NULL */
};

/* Resolves URL, token and timeout: flags > environment (PROVISIOND_URL,
 * PROVISIOND_TOKEN, PROVISIOND_TOKEN_FILE) > config file (--config or
 * $XDG_CONFIG_HOME|~/.config/provisionctl.ini) > defaults. Within a level an
 * inline token beats a token file. Returns 0, or -1 with errbuf filled;
 * free cfg with ctl_config_free either way. */
int ctl_config_resolve(const struct ctl_config_src *src, struct ctl_config *cfg, char *errbuf,
		       size_t errlen);
void ctl_config_free(struct ctl_config *cfg);

/* Reads the first line of a file (its line ending dropped) into a
 * malloc'd string the caller wipes and frees. "~/" expands with HOME via
 * getenv_fn. Empty content is an error. A file group or others may access
 * gets a warning on warn (may be NULL); it is still read. Returns 0 or -1
 * with errbuf. */
int ctl_read_secret(const char *path, const char *(*getenv_fn)(const char *), FILE *warn,
		    char **out, char *errbuf, size_t errlen);

/* Whole file (or stdin for "-") up to max bytes; malloc'd, NUL-terminated. */
int ctl_read_file(const char *path, size_t max, char **out, size_t *len, char *errbuf,
		  size_t errlen);

/* ---- tables ---------------------------------------------------------- */

struct ctl_table; /* opaque: headers + rows of cell strings */

/* Column flags. */
enum {
	CTL_COL_FREE = 1u << 0,	    /* free text: the first column cut to fit the width */
	CTL_COL_BYTES = 1u << 1,    /* an integer of bytes, shown as "1.5 GiB" */
	CTL_COL_OPTIONAL = 1u << 2, /* left out (rather than cut) when the width is short */
};

/* Column of a JSON table: `path` is dotted ("location.rack"); '|' gives
 * fallbacks ("created_at|time"); a leading '#' counts an array ("#machines").
 * `cell`, when set, makes the cell instead (malloc'd text, NULL = "-"). */
struct ctl_col {
	const char *header;
	const char *path;
	unsigned flags; /* CTL_COL_* */
	char *(*cell)(const json_t *item);
};

/* New table with copies of the headers; NULL on allocation failure. */
struct ctl_table *ctl_table_new(size_t ncols, const char *const *headers);
/* Sets the CTL_COL_* flags of column col. */
void ctl_table_set_flags(struct ctl_table *t, size_t col, unsigned flags);
/* Appends a row; copies the ncols cells (NULL cell = "-"). 0 or -1. */
int ctl_table_add(struct ctl_table *t, const char *const *cells);
size_t ctl_table_rows(const struct ctl_table *t);
/* Prints aligned columns. A column with a header whose cells are all "-"
 * is left out. With width > 0 the lines are fitted to it: CTL_COL_FREE
 * columns are cut first (widest first, cells end in "...") down to 24
 * characters, then CTL_COL_OPTIONAL columns are left out, then free text
 * is cut down to 12 and any column down to 6; 0 = no limit. Control
 * characters print as '?'. */
void ctl_table_print(FILE *out, const struct ctl_table *t, size_t width);
void ctl_table_free(struct ctl_table *t);
/* Width tables printed to `out` fit: the terminal's (TIOCGWINSZ) when out
 * is a terminal, else $COLUMNS when set, else 0 (no limit: piped output is
 * never cut). */
size_t ctl_term_width(FILE *out);
/* "512 B", "1.5 GiB": bytes for people, into buf; returns buf. */
char *ctl_human_size(long long bytes, char *buf, size_t len);

/* Builds a table from an array of objects; NULL on allocation failure. */
struct ctl_table *ctl_table_from_json(const struct ctl_col *cols, size_t ncols,
				      const json_t *items);
/* Counts-by-state table: one row per item named by name_path, one column
 * per state present (lifecycle order first), plus TOTAL. Counts are read
 * from the item's "counts"/"by_state"/"states" object, else the item. */
struct ctl_table *ctl_counts_table(const char *name_header, const char *name_path,
				   const json_t *items);

/* Value at a dotted path with '|' fallbacks, or NULL (borrowed). */
json_t *ctl_json_path(const json_t *obj, const char *path);
/* Renders one JSON value as a table cell; malloc'd ("-" for null). */
char *ctl_json_cell(const json_t *v);
/* "key: value" lines for an object, nested objects as dotted keys; arrays
 * of objects show their size. Keys containing "password" are masked. */
void ctl_kv_print(FILE *out, const json_t *obj);

/* The list inside a body: an array, {"items":[…]}, or an object of objects
 * turned into an array of objects with the key stored under key_name.
 * Returns a new reference or NULL. */
json_t *ctl_items_of(const json_t *body, const char *key_name);

/* ---- commands ---------------------------------------------------------- */

struct ctl {
	FILE *out;
	FILE *err;
	pc_client *client;
	bool json; /* -o json */
	bool verbose;
	const char *secret; /* masked in any error text (BMC password) */
	bool no_token;	    /* none was configured: a 401 says where one goes */
};

struct ctl_cmd;
typedef int (*ctl_run_fn)(struct ctl *ctl, const struct ctl_cmd *cmd, const struct ctl_args *a);

struct ctl_cmd {
	const char *words;    /* "machine list"; NULL ends a table */
	const char *synopsis; /* positional part, e.g. "ID" */
	int min_pos;
	int max_pos;
	const struct ctl_opt *opts;
	const char *summary;
	const char *details; /* extra help text or NULL */
	ctl_run_fn run;
	bool no_client; /* runs without configuration or server (version) */
	/* Values the first positional argument takes (NULL-ended), when the
	 * synopsis does not spell them ("a|b|c"); completion offers them. */
	const char *const *choices;
};

extern const struct ctl_cmd ctl_machine_cmds[];
/* ctl_console.c: provisionctl machine console. */
int ctl_run_console(struct ctl *ctl, const struct ctl_cmd *cmd, const struct ctl_args *a);
extern const struct ctl_cmd ctl_alloc_cmds[];
extern const struct ctl_cmd ctl_rollout_cmds[];
extern const struct ctl_cmd ctl_image_cmds[];
extern const struct ctl_cmd ctl_token_cmds[];
extern const struct ctl_cmd ctl_fleet_cmds[];

/* The global options and the NULL-ended list of the command tables above
 * (ctl_run.c). Help, the provisionctl(1) man page, the bash completion and
 * the documentation check (provisiond/docgen.c) all read these. */
extern const struct ctl_opt ctl_global_opts[];
extern const struct ctl_cmd *const ctl_cmd_tables[];

/* ---- output helpers (ctl_output.c) ----------------------------------- */

/* Prints the failure (server message, field, code, status, request id;
 * secret masked) and returns the exit code for rc. */
int ctl_fail(struct ctl *ctl, pc_status rc, const struct pc_error *err);
/* Prints "provisionctl: MSG" and a --help hint; returns CTL_EXIT_USAGE. */
int ctl_usage(struct ctl *ctl, const struct ctl_cmd *cmd, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Exit code for a pc_status. */
int ctl_exit_code(pc_status rc);
void ctl_print_json(FILE *out, const json_t *j);
/* -o json: the JSON; else kv lines. Returns CTL_EXIT_OK. */
int ctl_show(struct ctl *ctl, const json_t *obj);
/* -o json: the body; else a table of its items. Returns CTL_EXIT_OK. */
int ctl_show_list(struct ctl *ctl, const json_t *body, const struct ctl_col *cols, size_t ncols);
/* pc_call(method, path, body) then ctl_show of the answer ("ok" when it
 * has no body). path NULL means it could not be built (out of memory). */
int ctl_call_show(struct ctl *ctl, const char *method, const char *path, const json_t *body);
/* pc_list(path, query, max_items) then ctl_show_list. */
int ctl_call_list(struct ctl *ctl, const char *path, const struct pc_query *q, size_t nq,
		  const char *cursor, size_t max_items, const struct ctl_col *cols, size_t ncols);
/* Copies src to dst[size] with every occurrence of secret replaced. */
void ctl_mask(char *dst, size_t size, const char *src, const char *secret);

/* ---- request bodies (ctl_body.c) ------------------------------------- */

/* --bmc-option value typing: integer, real, true/false, else string. */
json_t *ctl_option_value(const char *v);
/* Body of `machine enroll`/`machine patch` from flags or --json. *secret
 * gets the BMC password if any (malloc'd; caller wipes and frees). */
int ctl_machine_body(const struct ctl_args *a, bool patch, json_t **out, char **secret,
		     char *errbuf, size_t errlen);
/* Wipes and frees a secret string; accepts NULL. */
void ctl_secret_free(char *s);

#endif /* PROVISIOND_CTL_H */
