/* docgen_completion.c - provisionctl's bash completion, written from its
 * command tables: command words, each command's options, the values of the
 * first argument, and option values named by the metavar ("table|json";
 * a metavar starting with FILE completes file names). */
#include <string.h>

#include "provisiond/client/ctl.h"
#include "provisiond/docgen.h"

#define MAX_CMDS 128

/* Every command of every table, in order; returns the count. */
static size_t all_cmds(const struct ctl_cmd **cmds)
{
	size_t n = 0;

	for (size_t t = 0; ctl_cmd_tables[t]; t++)
		for (const struct ctl_cmd *c = ctl_cmd_tables[t]; c->words && n < MAX_CMDS; c++)
			cmds[n++] = c;
	return n;
}

/* Whether a metavar lists literal values ("on|off"), not a placeholder. */
static bool literal_choices(const char *metavar)
{
	if (metavar == NULL || strchr(metavar, '|') == NULL)
		return false;
	for (const char *p = metavar; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			return false;
	return true;
}

/* Prints s[0..len) with '|' as ' '. */
static void put_choices(FILE *out, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		fputc(s[i] == '|' ? ' ' : s[i], out);
}

/* Length of the first k words of s ("machine power", k = 1: 7). */
static size_t prefix_len(const char *s, size_t k)
{
	size_t len = 0;

	for (size_t i = 0; i < k && s[len]; i++) {
		len += strcspn(s + len, " ");
		if (i + 1 < k && s[len] == ' ')
			len++;
	}
	return len;
}

static size_t word_count(const char *s)
{
	size_t n = 1;

	for (; *s; s++)
		n += *s == ' ';
	return n;
}

/* Whether an earlier command has the same first k+1 words as cmds[i]. */
static bool seen_before(const struct ctl_cmd **cmds, size_t i, size_t k)
{
	size_t len = prefix_len(cmds[i]->words, k + 1);

	for (size_t j = 0; j < i; j++)
		if (prefix_len(cmds[j]->words, k + 1) == len &&
		    strncmp(cmds[j]->words, cmds[i]->words, len) == 0)
			return true;
	return false;
}

/* _provisionctl_next PREFIX: the words that may follow PREFIX. */
static void next_words_fn(FILE *out, const struct ctl_cmd **cmds, size_t n)
{
	fprintf(out, "_provisionctl_next()\n{\n\tcase $1 in\n");
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < word_count(cmds[i]->words); k++) {
			if (seen_before(cmds, i, k))
				continue;
			const char *w = cmds[i]->words;
			size_t start = k ? prefix_len(w, k) + 1 : 0;
			fprintf(out, "\t\"%.*s\") printf '%%s ' %.*s ;;&\n",
				(int)(k ? start - 1 : 0), w, (int)strcspn(w + start, " "),
				w + start);
		}
	fprintf(out, "\t\"\") printf '%%s ' help ;;\n\tesac\n}\n");
}

/* _provisionctl_cmd_opts CMD: the command's options; fails for a prefix. */
static void cmd_opts_fn(FILE *out, const struct ctl_cmd **cmds, size_t n)
{
	fprintf(out, "_provisionctl_cmd_opts()\n{\n\tcase $1 in\n");
	for (size_t i = 0; i < n; i++) {
		fprintf(out, "\t\"%s\") echo \"", cmds[i]->words);
		for (const struct ctl_opt *o = cmds[i]->opts; o && o->name; o++)
			fprintf(out, "%s--%s", o == cmds[i]->opts ? "" : " ", o->name);
		fprintf(out, "\" ;;\n");
	}
	fprintf(out, "\t*) return 1 ;;\n\tesac\n}\n");
}

/* _provisionctl_choices CMD: values of the command's first argument, from
 * .choices or from a synopsis that starts "a|b|c". */
static void choices_fn(FILE *out, const struct ctl_cmd **cmds, size_t n)
{
	fprintf(out, "_provisionctl_choices()\n{\n\tcase $1 in\n");
	for (size_t i = 0; i < n; i++) {
		const struct ctl_cmd *c = cmds[i];
		size_t len = strcspn(c->synopsis, " ");
		if (c->choices) {
			fprintf(out, "\t\"%s\") echo", c->words);
			for (size_t j = 0; c->choices[j]; j++)
				fprintf(out, " %s", c->choices[j]);
			fprintf(out, " ;;\n");
		} else if (memchr(c->synopsis, '|', len)) {
			fprintf(out, "\t\"%s\") echo ", c->words);
			put_choices(out, c->synopsis, len);
			fprintf(out, " ;;\n");
		}
	}
	fprintf(out, "\tesac\n}\n");
}

static void option_values(FILE *out, const struct ctl_opt *opts)
{
	for (const struct ctl_opt *o = opts; o && o->name; o++) {
		if (literal_choices(o->metavar)) {
			fprintf(out, "\t--%s) echo ", o->name);
			put_choices(out, o->metavar, strlen(o->metavar));
			fprintf(out, " ;;\n");
		} else if (o->metavar && strncmp(o->metavar, "FILE", 4) == 0) {
			fprintf(out, "\t--%s) echo @file ;;\n", o->name);
		}
	}
}

/* _provisionctl_values CMD OPTION: completions of an option's value
 * ("@file": file names). */
static void values_fn(FILE *out, const struct ctl_cmd **cmds, size_t n)
{
	fprintf(out, "_provisionctl_values()\n{\n\tcase $2 in\n\t-o) echo table json ;;\n");
	option_values(out, ctl_global_opts);
	fprintf(out, "\tesac\n\tcase \"$1\" in\n");
	for (size_t i = 0; i < n; i++) {
		fprintf(out, "\t\"%s\")\n\t\tcase $2 in\n", cmds[i]->words);
		option_values(out, cmds[i]->opts);
		fprintf(out, "\t\tesac ;;\n");
	}
	fprintf(out, "\tesac\n}\n");
}

/* Every option that takes a value, so that its value is not read as a word. */
static void valued_opts(FILE *out, const struct ctl_cmd **cmds, size_t n)
{
	fprintf(out, "_provisionctl_valued=\" -o");
	for (const struct ctl_opt *o = ctl_global_opts; o->name; o++)
		if (o->kind != CTL_FLAG)
			fprintf(out, " --%s", o->name);
	for (size_t i = 0; i < n; i++)
		for (const struct ctl_opt *o = cmds[i]->opts; o && o->name; o++)
			if (o->kind != CTL_FLAG)
				fprintf(out, " --%s", o->name);
	fprintf(out, " \"\n_provisionctl_global=\"");
	for (const struct ctl_opt *o = ctl_global_opts; o->name; o++)
		fprintf(out, "%s--%s", o == ctl_global_opts ? "" : " ", o->name);
	fprintf(out, "\"\n");
}

/* The completion function itself: reads the command words so far (values
 * of options skipped, a leading "help" ignored), then completes an option,
 * an option's value, the next command word or the first argument. */
static const char main_fn[] =
    "_provisionctl()\n"
    "{\n"
    "\tlocal cur=${COMP_WORDS[COMP_CWORD]} prev= cmd= w i npos=0 list\n"
    "\t[ \"$COMP_CWORD\" -gt 0 ] && prev=${COMP_WORDS[COMP_CWORD-1]}\n"
    "\tfor ((i = 1; i < COMP_CWORD; i++)); do\n"
    "\t\tw=${COMP_WORDS[i]}\n"
    "\t\tcase $_provisionctl_valued in *\" $w \"*) i=$((i + 1)); continue ;; esac\n"
    "\t\tcase $w in -*) continue ;; esac\n"
    "\t\t[ -z \"$cmd\" ] && [ \"$w\" = help ] && continue\n"
    "\t\tif [ $npos -eq 0 ] && [[ \" $(_provisionctl_next \"$cmd\") \" == *\" $w \"* ]]; then\n"
    "\t\t\tcmd=${cmd:+$cmd }$w\n"
    "\t\telse\n"
    "\t\t\tnpos=$((npos + 1))\n"
    "\t\tfi\n"
    "\tdone\n"
    "\tif [[ $_provisionctl_valued == *\" $prev \"* ]]; then\n"
    "\t\tlist=$(_provisionctl_values \"$cmd\" \"$prev\")\n"
    "\t\tif [ \"$list\" = @file ]; then\n"
    "\t\t\tCOMPREPLY=($(compgen -f -- \"$cur\"))\n"
    "\t\telse\n"
    "\t\t\tCOMPREPLY=($(compgen -W \"$list\" -- \"$cur\"))\n"
    "\t\tfi\n"
    "\t\treturn 0\n"
    "\tfi\n"
    "\tif [[ $cur == -* ]]; then\n"
    "\t\tCOMPREPLY=($(compgen -W \"$(_provisionctl_cmd_opts \"$cmd\") $_provisionctl_global\" "
    "-- \"$cur\"))\n"
    "\telif _provisionctl_cmd_opts \"$cmd\" >/dev/null; then\n"
    "\t\t[ $npos -eq 0 ] && COMPREPLY=($(compgen -W \"$(_provisionctl_choices \"$cmd\")\" "
    "-- \"$cur\"))\n"
    "\telse\n"
    "\t\tCOMPREPLY=($(compgen -W \"$(_provisionctl_next \"$cmd\")\" -- \"$cur\"))\n"
    "\tfi\n"
    "\treturn 0\n"
    "}\n"
    "complete -F _provisionctl provisionctl\n";

int docgen_completion(FILE *out)
{
	const struct ctl_cmd *cmds[MAX_CMDS];
	size_t n = all_cmds(cmds);

	fprintf(out, "# bash completion for provisionctl. Generated by provisiond-docgen from\n"
		     "# provisionctl's command tables: do not edit.\n");
	valued_opts(out, cmds, n);
	next_words_fn(out, cmds, n);
	cmd_opts_fn(out, cmds, n);
	choices_fn(out, cmds, n);
	values_fn(out, cmds, n);
	fputs(main_fn, out);
	return ferror(out) ? -1 : 0;
}
