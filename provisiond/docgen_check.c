/* docgen_check.c - the documentation check: docs/config.md lists every
 * setting config.c accepts (with its default and range) and every option of
 * provisiond, and nothing else; docs/provisionctl.md names every command and
 * option of provisionctl's tables, and its example lines use only options
 * the command has; numbers the documents quote from the code (a setting's
 * "(default N)", the database schema) are the code's. */
#include <dirent.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "inventory/inventory.h"
#include "provisiond/args.h"
#include "provisiond/client/ctl.h"
#include "provisiond/config.h"
#include "provisiond/docgen.h"
#include "provisiond/docgen_md.h"

static int problems;

__attribute__((format(printf, 3, 4))) static void problem(const char *file, int line,
							  const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	problems++;
}

/* One setting of config.c against its row: default and range. */
static void check_setting(const char *file, const struct config_setting *s,
			  const struct md_setting *d)
{
	char range[64];

	if (s->is_int) {
		snprintf(range, sizeof range, "%ld-%ld", s->min, s->max);
		if (strcmp(d->deflt, s->value) != 0)
			problem(file, d->line, "[%s] %s: default %s documented, the code has %s",
				s->section, s->key, d->deflt, s->value);
		if (!d->has_range || strcmp(d->range, range) != 0)
			problem(file, d->line, "[%s] %s: range '%s' documented, the code has %s",
				s->section, s->key, d->range, range);
	} else if (s->value[0] && d->deflt[0] != '<' && strchr(d->deflt, ' ') == NULL &&
		   strcmp(d->deflt, s->value) != 0) {
		problem(file, d->line, "[%s] %s: default '%s' documented, the code has '%s'",
			s->section, s->key, d->deflt, s->value);
	}
}

static void check_settings(const char *file, const struct md_config *doc)
{
	struct config defaults;

	config_defaults(&defaults);
	for (size_t i = 0; i < config_setting_count(); i++) {
		struct config_setting s;
		config_setting_at(i, &defaults, &s);
		const struct md_setting *d = md_config_find(doc, s.section, s.key);
		if (d == NULL)
			problem(file, 0, "[%s] %s is a setting (config.c) but not documented",
				s.section, s.key);
		else
			check_setting(file, &s, d);
	}
	for (size_t i = 0; i < doc->nsettings; i++) {
		const struct md_setting *d = &doc->settings[i];
		bool known = false;
		for (size_t j = 0; j < config_setting_count() && !known; j++) {
			struct config_setting s;
			config_setting_at(j, &defaults, &s);
			known = strcmp(s.section, d->section) == 0 && strcmp(s.key, d->key) == 0;
		}
		if (!known)
			problem(file, d->line,
				"[%s] %s is documented but config.c has no such setting",
				d->section, d->key);
	}
}

/* Whether text has "--name" not followed by more of an option name. */
static bool names_option(const char *text, const char *name)
{
	size_t len = strlen(name);

	for (const char *p = strstr(text, "--"); p; p = strstr(p + 2, "--")) {
		char next = p[2 + len];
		if (strncmp(p + 2, name, len) == 0 &&
		    !(next == '-' || next == '_' || (next >= 'a' && next <= 'z') ||
		      (next >= '0' && next <= '9')))
			return true;
	}
	return false;
}

static void check_daemon_flags(const char *file, const struct md_config *doc)
{
	for (const struct daemon_opt *o = daemon_opts; o->name; o++) {
		const struct md_flag *f = NULL;
		for (size_t i = 0; i < doc->nflags && f == NULL; i++)
			if (names_option(doc->flags[i].flags, o->name))
				f = &doc->flags[i];
		if (f == NULL)
			problem(file, 0, "provisiond --%s is not in the Command line table",
				o->name);
		else if (strcmp(f->overrides, o->overrides ? o->overrides : "") != 0)
			problem(file, f->line, "--%s overrides '%s' documented, the code says '%s'",
				o->name, f->overrides, o->overrides ? o->overrides : "");
	}
	for (size_t i = 0; i < doc->nflags; i++) {
		bool known = false;
		for (const struct daemon_opt *o = daemon_opts; o->name && !known; o++)
			known = names_option(doc->flags[i].flags, o->name);
		if (!known)
			problem(file, doc->flags[i].line,
				"%s is documented but provisiond has none", doc->flags[i].flags);
	}
}

static void check_config_md(const char *file)
{
	struct md_config doc;
	char *text = md_read_file(file);

	if (text == NULL || md_config_parse(text, &doc) != 0) {
		problem(file, 0, "cannot read it");
		free(text);
		return;
	}
	check_settings(file, &doc);
	check_daemon_flags(file, &doc);
	md_config_free(&doc);
	free(text);
}

/* Whether text has "provisionctl WORDS" as a whole command. */
static bool names_command(const char *text, const char *words)
{
	char want[128];
	size_t len = (size_t)snprintf(want, sizeof want, "provisionctl %s", words);

	for (const char *p = strstr(text, want); p; p = strstr(p + 1, want)) {
		char next = p[len];
		if (!(next >= 'a' && next <= 'z') && next != '-')
			return true;
	}
	return false;
}

/* The section around text + pos, from its heading to the next one, as a
 * malloc'd string (NULL when out of memory). */
static char *section_at(const char *text, size_t pos)
{
	size_t start = pos, end = pos;

	while (start > 0 && !(text[start - 1] == '\n' && text[start] == '#'))
		start--;
	while (text[end] && !(text[end] == '\n' && text[end + 1] == '#'))
		end++;
	return strndup(text + start, end - start);
}

/* Whether a section that names the command also names its option. */
static bool documented_with(const char *text, const char *words, const char *opt)
{
	char want[128];
	bool found = false;

	snprintf(want, sizeof want, "provisionctl %s", words);
	for (const char *p = strstr(text, want); p && !found; p = strstr(p + 1, want)) {
		char *sec = section_at(text, (size_t)(p - text));
		found = sec && names_option(sec, opt);
		free(sec);
	}
	return found;
}

/* Every global option anywhere; every command, and each of its options in
 * a section that names the command. */
static void check_ctl_coverage(const char *file, const char *text)
{
	for (const struct ctl_opt *o = ctl_global_opts; o->name; o++)
		if (!names_option(text, o->name))
			problem(file, 0, "global option --%s is not documented", o->name);
	for (size_t t = 0; ctl_cmd_tables[t]; t++)
		for (const struct ctl_cmd *c = ctl_cmd_tables[t]; c->words; c++) {
			if (!names_command(text, c->words))
				problem(file, 0, "command 'provisionctl %s' is not documented",
					c->words);
			for (const struct ctl_opt *o = c->opts; o && o->name; o++)
				if (!documented_with(text, c->words, o->name))
					problem(file, 0,
						"option --%s of '%s' is not documented in its "
						"section",
						o->name, c->words);
		}
}

/* The command an example line runs (longest words match), or NULL. */
static const struct ctl_cmd *example_cmd(const char *line)
{
	const struct ctl_cmd *best = NULL;
	size_t best_len = 0;

	for (size_t t = 0; ctl_cmd_tables[t]; t++)
		for (const struct ctl_cmd *c = ctl_cmd_tables[t]; c->words; c++) {
			size_t len = strlen(c->words);
			char next = line[len];
			if (strncmp(line, c->words, len) == 0 && (next == ' ' || next == '\0') &&
			    len > best_len) {
				best = c;
				best_len = len;
			}
		}
	return best;
}

static bool has_opt(const struct ctl_opt *opts, const char *name, size_t len)
{
	for (const struct ctl_opt *o = opts; o && o->name; o++)
		if (strlen(o->name) == len && strncmp(o->name, name, len) == 0)
			return true;
	return false;
}

/* Every --option of an example line (up to a '#' comment) is the command's. */
/* Every --option of one command of an example line (up to the end of the
 * command: ; | ) & or a # comment) is the command's or a global one. */
static void check_example(const char *file, int line, const struct ctl_cmd *c, const char *l)
{
	size_t end = strcspn(l, "#;|)&");

	for (const char *p = strstr(l, " --"); p && (size_t)(p - l) < end;
	     p = strstr(p + 3, " --")) {
		const char *name = p + 3;
		size_t len = strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789-");
		if (!has_opt(c->opts, name, len) && !has_opt(ctl_global_opts, name, len))
			problem(file, line, "'provisionctl %s' has no option --%.*s", c->words,
				(int)len, name);
	}
}

/* Checks each "provisionctl WORDS …" command of a code line (at its start or
 * after a blank, '(' or '|'); returns the command of the last one, for a
 * continuation line. */
static const struct ctl_cmd *check_code_line(const char *file, int line, const char *l)
{
	const struct ctl_cmd *last = NULL;

	for (const char *p = strstr(l, "provisionctl "); p; p = strstr(p + 13, "provisionctl ")) {
		if (p > l && !strchr(" \t(|", p[-1]))
			continue;
		const struct ctl_cmd *c = example_cmd(p + 13);
		if (c)
			check_example(file, line, c, p);
		last = c;
	}
	return last;
}

/* Example lines in code blocks: "provisionctl WORDS …" and their "\"
 * continuation lines. */
static void check_ctl_examples(const char *file, char *text)
{
	const struct ctl_cmd *cont = NULL;
	bool code = false;
	int line = 0;

	for (char *l = text, *save; l; l = save) {
		save = strchr(l, '\n');
		if (save)
			*save++ = '\0';
		line++;
		l += strspn(l, " \t");
		if (strncmp(l, "```", 3) == 0) {
			code = !code;
			continue;
		}
		const struct ctl_cmd *c = cont;
		if (c)
			check_example(file, line, c, l);
		else if (code)
			c = check_code_line(file, line, l);
		size_t len = strlen(l);
		cont = c && len > 0 && l[len - 1] == '\\' ? c : NULL;
	}
}

static void check_ctl_md(const char *file)
{
	char *text = md_read_file(file);

	if (text == NULL) {
		problem(file, 0, "cannot read it");
		return;
	}
	check_ctl_coverage(file, text);
	check_ctl_examples(file, text);
	free(text);
}

/* "`[section] key` (default N)": N is the code's default. */
static void check_quoted_defaults(const char *file, const char *text)
{
	struct config defaults;

	config_defaults(&defaults);
	for (const char *p = strstr(text, "`["); p; p = strstr(p + 2, "`[")) {
		char sec[32], key[64], val[64];
		if (sscanf(p, "`[%31[a-z_]] %63[a-z_]` (default %63[^)])", sec, key, val) != 3)
			continue;
		int line = 1;
		for (const char *q = text; q < p; q++)
			line += *q == '\n';
		md_plain(val, sizeof val, val);
		if (strpbrk(val, "< ") != NULL) /* not a literal value */
			continue;
		for (size_t i = 0; i < config_setting_count(); i++) {
			struct config_setting s;
			config_setting_at(i, &defaults, &s);
			if (strcmp(s.section, sec) == 0 && strcmp(s.key, key) == 0 && s.value[0] &&
			    strcmp(s.value, val) != 0)
				problem(file, line, "[%s] %s: default %s quoted, the code has %s",
					sec, key, val, s.value);
		}
	}
}

/* The schema version in --init's output and the "newer than" message. */
static void check_schema(const char *file, const char *text)
{
	static const char *const forms[] = {"ready (schema %d)", "than this provisiond (%d)"};

	for (size_t f = 0; f < ARRAY_SIZE(forms); f++) {
		size_t plen = strcspn(forms[f], "%");
		int line = 1;
		for (const char *p = text; *p; p++) {
			int n;
			line += *p == '\n';
			if (strncmp(p, forms[f], plen) == 0 && sscanf(p + plen, "%d", &n) == 1 &&
			    n != inv_schema_version())
				problem(file, line, "schema %d quoted, the code is at schema %d", n,
					inv_schema_version());
		}
	}
}

static void check_numbers(const char *file)
{
	char *text = md_read_file(file);

	if (text == NULL) {
		problem(file, 0, "cannot read it");
		return;
	}
	check_quoted_defaults(file, text);
	check_schema(file, text);
	check_ctl_examples(file, text); /* last: it cuts text into lines */
	free(text);
}

/* roff's "\-" back to '-', in place. */
static void unescape_dashes(char *s)
{
	char *w = s;

	for (const char *r = s; *r; r++) {
		if (r[0] == '\\' && r[1] == '-')
			r++;
		*w++ = *r;
	}
	*w = '\0';
}

/* The example blocks (.nf to .fi) of a man page template: provisionctl
 * commands there use only their options too. */
static void check_man_template(const char *file)
{
	char *text = md_read_file(file);
	bool nf = false;
	int line = 0;

	if (text == NULL) {
		problem(file, 0, "cannot read it");
		return;
	}
	unescape_dashes(text);
	for (char *l = text, *save; l; l = save) {
		save = strchr(l, '\n');
		if (save)
			*save++ = '\0';
		line++;
		if (strcmp(l, ".nf") == 0 || strcmp(l, ".fi") == 0)
			nf = l[1] == 'n';
		else if (nf)
			check_code_line(file, line, l);
	}
	free(text);
}

/* Every Markdown file under docs/ of the source tree, README.md too: quoted
 * defaults, the schema, and the options of provisionctl example lines. */
static void check_all_numbers(const char *src)
{
	char path[1024];
	DIR *d;
	struct dirent *e;

	snprintf(path, sizeof path, "%s/README.md", src);
	check_numbers(path);
	snprintf(path, sizeof path, "%s/docs", src);
	if ((d = opendir(path)) == NULL) {
		problem(path, 0, "cannot read it");
		return;
	}
	while ((e = readdir(d)) != NULL) {
		size_t len = strlen(e->d_name);
		if (len > 3 && strcmp(e->d_name + len - 3, ".md") == 0) {
			snprintf(path, sizeof path, "%s/docs/%s", src, e->d_name);
			check_numbers(path);
		}
	}
	closedir(d);
}

int docgen_check(int argc, char **argv)
{
	char path[1024];

	problems = 0;
	if (argc == 1) {
		snprintf(path, sizeof path, "%s/docs/config.md", argv[0]);
		check_config_md(path);
		snprintf(path, sizeof path, "%s/docs/provisionctl.md", argv[0]);
		check_ctl_md(path);
		check_all_numbers(argv[0]);
		snprintf(path, sizeof path, "%s/docs/man/provisionctl.1.in", argv[0]);
		check_man_template(path);
		snprintf(path, sizeof path, "%s/docs/man/provisiond.8.in", argv[0]);
		check_man_template(path);
	} else if (argc == 2 && strcmp(argv[0], "config") == 0) {
		check_config_md(argv[1]);
	} else if (argc == 2 && strcmp(argv[0], "provisionctl") == 0) {
		check_ctl_md(argv[1]);
	} else if (argc == 2 && strcmp(argv[0], "man") == 0) {
		check_man_template(argv[1]);
	} else if (argc >= 2 && strcmp(argv[0], "numbers") == 0) {
		for (int i = 1; i < argc; i++)
			check_numbers(argv[i]);
	} else {
		return 2;
	}
	if (problems)
		fprintf(stderr, "provisiond-docgen: %d documentation problem(s)\n", problems);
	return problems ? 1 : 0;
}
