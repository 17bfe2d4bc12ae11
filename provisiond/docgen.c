/* docgen.c - provisiond-docgen: writes the man pages provisiond(8),
 * provisionctl(1) and provisiond.ini(5) and provisionctl's bash completion
 * from the tables the programs themselves use (daemon_opts, config.c's
 * settings, provisionctl's command tables), filling the hand-written
 * templates under docs/man/; and checks the Markdown documentation against
 * the same tables (docgen_check.c). Run by the build; not installed.
 *
 *   provisiond-docgen man provisiond|provisionctl TEMPLATE OUT
 *   provisiond-docgen man ini TEMPLATE CONFIG_MD OUT
 *   provisiond-docgen completion OUT
 *   provisiond-docgen check SOURCE_DIR          (docgen_check.c)
 */
#include <stdlib.h>
#include <string.h>

#include "provisiond/args.h"
#include "provisiond/client/ctl.h"
#include "provisiond/config.h"
#include "provisiond/docgen.h"
#include "provisiond/docgen_md.h"

/* ---------------------------------------------------------- provisionctl */

static void man_opt(FILE *out, const struct ctl_opt *o)
{
	fprintf(out, ".TP\n");
	if (o->short_name)
		fprintf(out, "\\fB\\-%c\\fR, ", o->short_name);
	fprintf(out, "\\fB\\-\\-");
	roff_text(out, o->name);
	fprintf(out, "\\fR");
	if (o->metavar) {
		fprintf(out, " \\fI");
		roff_text(out, o->metavar);
		fprintf(out, "\\fR");
	}
	fprintf(out, "\n");
	roff_text(out, o->help ? o->help : "");
	fprintf(out, "%s\n", o->kind == CTL_MULTI ? " (repeatable)" : "");
}

static void man_ctl_global(FILE *out)
{
	for (const struct ctl_opt *o = ctl_global_opts; o->name; o++)
		man_opt(out, o);
}

static void man_ctl_cmd(FILE *out, const struct ctl_cmd *c)
{
	fprintf(out, ".TP\n\\fBprovisionctl ");
	roff_text(out, c->words);
	fprintf(out, "\\fR%s", c->opts && c->opts->name ? " [\\fIoptions\\fR]" : "");
	if (c->synopsis[0]) {
		fprintf(out, " \\fI");
		roff_text(out, c->synopsis);
		fprintf(out, "\\fR");
	}
	fprintf(out, "\n");
	roff_text(out, c->summary);
	fprintf(out, ".\n");
	if (c->choices) {
		fprintf(out, ".IP\n\\fI%.*s\\fR is one of:", (int)strcspn(c->synopsis, " "),
			c->synopsis);
		for (size_t i = 0; c->choices[i]; i++) {
			fprintf(out, " \\fB");
			roff_text(out, c->choices[i]);
			fprintf(out, "\\fR");
		}
		fprintf(out, ".\n");
	}
	if (c->details) {
		fprintf(out, ".IP\n.nf\n");
		roff_text(out, c->details);
		fprintf(out, "\n.fi\n");
	}
	if (c->opts && c->opts->name) {
		fprintf(out, ".RS\n");
		for (const struct ctl_opt *o = c->opts; o->name; o++)
			man_opt(out, o);
		fprintf(out, ".RE\n");
	}
}

static void man_ctl_commands(FILE *out)
{
	for (size_t t = 0; ctl_cmd_tables[t]; t++)
		for (const struct ctl_cmd *c = ctl_cmd_tables[t]; c->words; c++)
			man_ctl_cmd(out, c);
}

/* ------------------------------------------------------------ provisiond */

/* One usage line per mode, filled; an option and its value ("[--db PATH]")
 * never break apart. */
static void man_daemon_synopsis(FILE *out)
{
	fprintf(out, ".ad l\n.nh\n"); /* no stretched blanks, no hyphens */
	for (size_t i = 0; daemon_synopsis[i]; i++) {
		const char *s = daemon_synopsis[i] + strlen("provisiond");
		int depth = 0;
		fprintf(out, "%s\\fBprovisiond\\fR", i ? ".br\n" : "");
		for (; *s; s++) {
			depth += (*s == '[') - (*s == ']');
			if (*s == ' ' && depth > 0)
				fputs("\\ ", out);
			else if (*s == '-')
				fputs("\\-", out);
			else
				fputc(*s, out);
		}
		fprintf(out, "\n");
	}
	fprintf(out, ".ad\n.hy\n");
}

static void man_daemon_options(FILE *out)
{
	for (const struct daemon_opt *o = daemon_opts; o->name; o++) {
		fprintf(out, ".TP\n");
		if (o->short_name)
			fprintf(out, "\\fB\\-%c\\fR, ", o->short_name);
		fprintf(out, "\\fB\\-\\-");
		roff_text(out, o->name);
		fprintf(out, "\\fR");
		if (o->metavar) {
			fprintf(out, " \\fI");
			roff_text(out, o->metavar);
			fprintf(out, "\\fR");
		}
		fprintf(out, "\n");
		roff_text(out, o->help);
		if (o->overrides) {
			fprintf(out, "; overrides \\fB");
			roff_text(out, o->overrides);
			fprintf(out, "\\fR");
		}
		fprintf(out, ".\n");
	}
}

/* ------------------------------------------------------ provisiond.ini */

static void man_setting(FILE *out, const struct config_setting *s, const struct md_setting *doc)
{
	fprintf(out, ".TP\n\\fB");
	roff_text(out, s->key);
	fprintf(out, "\\fR = ");
	if (s->value[0] || doc == NULL) {
		fprintf(out, "\\fI");
		roff_text(out, s->value[0] ? s->value : "(empty)");
		fprintf(out, "\\fR");
	} else {
		md_to_roff(out, doc->deflt);
	}
	if (s->is_int)
		fprintf(out, " (integer, %ld to %ld)", s->min, s->max);
	fprintf(out, "\n");
	if (doc)
		md_to_roff(out, doc->meaning);
	else
		fprintf(out, "Not documented in docs/config.md.");
	fprintf(out, "\n");
}

static const struct md_config *ini_doc;

static void man_ini_settings(FILE *out)
{
	struct config defaults;
	const char *section = "";

	config_defaults(&defaults);
	for (size_t i = 0; i < config_setting_count(); i++) {
		struct config_setting s;
		config_setting_at(i, &defaults, &s);
		if (strcmp(section, s.section) != 0) {
			fprintf(out, ".SS [%s]\n", s.section);
			section = s.section;
		}
		man_setting(out, &s, md_config_find(ini_doc, s.section, s.key));
	}
}

/* -------------------------------------------------------------- templates */

struct marker {
	const char *name;
	void (*emit)(FILE *out);
};

static const struct marker markers[] = {
    {.name = "@GLOBAL_OPTIONS@", .emit = man_ctl_global},
    {.name = "@COMMANDS@", .emit = man_ctl_commands},
    {.name = "@DAEMON_SYNOPSIS@", .emit = man_daemon_synopsis},
    {.name = "@DAEMON_OPTIONS@", .emit = man_daemon_options},
    {.name = "@SETTINGS@", .emit = man_ini_settings},
};

/* Copies the template to out: a line that is a marker is replaced by its
 * generated text; "@VERSION@" anywhere by the version. */
static int fill_template(const char *tmpl, FILE *out)
{
	char *text = md_read_file(tmpl), *save = NULL;

	if (text == NULL)
		return -1;
	for (char *l = text; l && *l; l = save) {
		save = strchr(l, '\n');
		if (save)
			*save++ = '\0';
		const struct marker *m = NULL;
		for (size_t i = 0; i < ARRAY_SIZE(markers); i++)
			if (strcmp(l, markers[i].name) == 0)
				m = &markers[i];
		if (m) {
			m->emit(out);
			continue;
		}
		char *v = strstr(l, "@VERSION@");
		if (v)
			fprintf(out, "%.*s%s%s\n", (int)(v - l), l, PROVISIOND_VERSION, v + 9);
		else
			fprintf(out, "%s\n", l);
	}
	free(text);
	return 0;
}

static int write_file(const char *path, int (*fn)(FILE *out, const char *arg), const char *arg)
{
	FILE *f = fopen(path, "w");

	if (f == NULL) {
		fprintf(stderr, "provisiond-docgen: cannot write %s\n", path);
		return 1;
	}
	int rc = fn(f, arg);
	if (fclose(f) != 0 || rc != 0) {
		fprintf(stderr, "provisiond-docgen: %s failed\n", path);
		remove(path);
		return 1;
	}
	return 0;
}

static int fill(FILE *out, const char *tmpl)
{
	return fill_template(tmpl, out);
}

static int run_man(int argc, char **argv)
{
	struct md_config doc = {0};
	int rc;

	if (argc == 5 && strcmp(argv[2], "ini") != 0)
		return write_file(argv[4], fill, argv[3]);
	if (argc != 6 || strcmp(argv[2], "ini") != 0)
		return 2;
	char *md = md_read_file(argv[4]);
	if (md == NULL || md_config_parse(md, &doc) != 0) {
		fprintf(stderr, "provisiond-docgen: cannot read %s\n", argv[4]);
		free(md);
		return 1;
	}
	ini_doc = &doc;
	rc = write_file(argv[5], fill, argv[3]);
	md_config_free(&doc);
	free(md);
	return rc;
}

static int completion(FILE *out, const char *arg)
{
	(void)arg;
	return docgen_completion(out);
}

int main(int argc, char **argv)
{
	int rc = 2;

	if (argc >= 2 && strcmp(argv[1], "man") == 0 && argc >= 5)
		rc = run_man(argc, argv);
	else if (argc == 3 && strcmp(argv[1], "completion") == 0)
		rc = write_file(argv[2], completion, NULL);
	else if (argc >= 3 && strcmp(argv[1], "check") == 0)
		rc = docgen_check(argc - 2, argv + 2);
	if (rc == 2)
		fprintf(stderr,
			"usage: provisiond-docgen man provisiond|provisionctl TEMPLATE OUT\n"
			"       provisiond-docgen man ini TEMPLATE CONFIG_MD OUT\n"
			"       provisiond-docgen completion OUT\n"
			"       provisiond-docgen check SOURCE_DIR\n");
	return rc;
}
