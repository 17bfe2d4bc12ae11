/* Command-line option parsing for provisionctl: long options (--x V,
 * --x=V), short aliases (-o V), flags, repeatable options, and "--". */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "provisiond/client/ctl.h"

static const struct ctl_opt *find_long(const struct ctl_opt *t, const char *name, size_t len)
{
	for (; t != NULL && t->name != NULL; t++)
		if (strlen(t->name) == len && strncmp(t->name, name, len) == 0)
			return t;
	return NULL;
}

static const struct ctl_opt *find_short(const struct ctl_opt *t, char c)
{
	for (; t != NULL && t->name != NULL; t++)
		if (t->short_name != 0 && t->short_name == c)
			return t;
	return NULL;
}

static int add_val(struct ctl_args *a, const char *name, const char *value, char *errbuf,
		   size_t errlen)
{
	if (a->nvals >= CTL_MAX_VALS) {
		snprintf(errbuf, errlen, "too many options");
		return -1;
	}
	a->vals[a->nvals].name = name;
	a->vals[a->nvals].value = value;
	a->nvals++;
	return 0;
}

/* Handles argv[*i], an option; may consume argv[*i + 1] as its value. */
static int parse_option(int argc, char **argv, int *i, const struct ctl_opt *g,
			const struct ctl_opt *c, struct ctl_args *a, char *errbuf, size_t errlen)
{
	const char *arg = argv[*i];
	const char *inline_val = NULL;
	const struct ctl_opt *o;

	if (arg[1] == '-') {
		const char *name = arg + 2, *eq = strchr(name, '=');
		size_t len = eq ? (size_t)(eq - name) : strlen(name);
		o = find_long(c, name, len);
		o = o ? o : find_long(g, name, len);
		inline_val = eq ? eq + 1 : NULL;
	} else {
		o = arg[2] == '\0' ? find_short(c, arg[1]) : NULL;
		o = (o || arg[2] != '\0') ? o : find_short(g, arg[1]);
	}
	if (o == NULL) {
		snprintf(errbuf, errlen, "unknown option '%s'", arg);
		return -1;
	}
	if (o->kind == CTL_FLAG) {
		if (inline_val != NULL) {
			snprintf(errbuf, errlen, "option --%s takes no value", o->name);
			return -1;
		}
		return add_val(a, o->name, "1", errbuf, errlen);
	}
	if (inline_val == NULL) {
		if (*i + 1 >= argc) {
			snprintf(errbuf, errlen, "option --%s needs a value (%s)", o->name,
				 o->metavar ? o->metavar : "VALUE");
			return -1;
		}
		inline_val = argv[++*i];
	}
	return add_val(a, o->name, inline_val, errbuf, errlen);
}

int ctl_args_parse(int argc, char **argv, int start, const struct ctl_opt *global,
		   const struct ctl_opt *cmd, struct ctl_args *a, char *errbuf, size_t errlen)
{
	bool options_done = false;

	memset(a, 0, sizeof(*a));
	for (int i = start; i < argc; i++) {
		const char *arg = argv[i];
		bool is_opt = !options_done && arg[0] == '-' && arg[1] != '\0';
		if (is_opt && strcmp(arg, "--") == 0) {
			options_done = true;
			continue;
		}
		if (is_opt) {
			if (parse_option(argc, argv, &i, global, cmd, a, errbuf, errlen) != 0)
				return -1;
			continue;
		}
		if (a->npos >= CTL_MAX_POS) {
			snprintf(errbuf, errlen, "too many arguments");
			return -1;
		}
		a->pos[a->npos++] = arg;
	}
	return 0;
}

const char *ctl_arg(const struct ctl_args *a, const char *name)
{
	const char *v = NULL;

	for (size_t i = 0; i < a->nvals; i++)
		if (strcmp(a->vals[i].name, name) == 0)
			v = a->vals[i].value;
	return v;
}

bool ctl_flag(const struct ctl_args *a, const char *name)
{
	return ctl_arg(a, name) != NULL;
}

size_t ctl_arg_all(const struct ctl_args *a, const char *name, const char **vals, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < a->nvals && n < max; i++)
		if (strcmp(a->vals[i].name, name) == 0)
			vals[n++] = a->vals[i].value;
	return n;
}

int ctl_parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	if (s == NULL || *s == '\0' || *s == ' ' || *s == '+')
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}
