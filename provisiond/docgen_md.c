/* docgen_md.c - reading docs/config.md's tables and writing Markdown as roff
 * for the documentation generator (docgen.c). */
#include "provisiond/docgen_md.h"

#include <stdlib.h>
#include <string.h>

#include "util/util.h"

#define MAX_CELLS 8

char *md_read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0, cap = 0, n;
	char chunk[4096];

	if (f == NULL)
		return NULL;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
		if (len + n + 1 > cap) {
			cap = (len + n + 1) * 2;
			char *b = realloc(buf, cap);
			if (b == NULL) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = b;
		}
		memcpy(buf + len, chunk, n);
		len += n;
	}
	fclose(f);
	if (buf == NULL)
		buf = calloc(1, 1);
	else
		buf[len] = '\0';
	return buf;
}

void md_plain(char *dst, size_t size, const char *cell)
{
	size_t n = 0;

	while (*cell == ' ')
		cell++;
	for (; *cell && n + 1 < size; cell++)
		if (*cell != '`')
			dst[n++] = *cell;
	while (n > 0 && dst[n - 1] == ' ')
		n--;
	dst[n] = '\0';
}

/* Splits a table row "| a | b `x|y` | c |" into cells (pipes inside
 * backticks do not split). Cells point into line, which is modified.
 * Returns the number of cells. */
static size_t split_row(char *line, char **cells, size_t max)
{
	size_t n = 0;
	bool code = false;
	char *start = line + 1;

	for (char *p = line + 1; *p && n < max; p++) {
		if (*p == '`')
			code = !code;
		else if (*p == '|' && !code) {
			*p = '\0';
			cells[n++] = start;
			start = p + 1;
		}
	}
	return n;
}

/* A row of a settings table: one md_setting per `key` in the first cell. */
static int add_settings(struct md_config *c, const char *section, bool has_range, char **cells,
			size_t n, int line)
{
	const char *keys = cells[0];

	if (n < (has_range ? 4u : 3u))
		return 0;
	for (const char *p = strchr(keys, '`'); p; p = strchr(p, '`')) {
		const char *end = strchr(p + 1, '`');
		if (end == NULL)
			break;
		struct md_setting *s = realloc(c->settings, (c->nsettings + 1) * sizeof *s);
		if (s == NULL)
			return -1;
		c->settings = s;
		s = &c->settings[c->nsettings++];
		memset(s, 0, sizeof *s);
		snprintf(s->section, sizeof s->section, "%s", section);
		snprintf(s->key, sizeof s->key, "%.*s", (int)(end - p - 1), p + 1);
		md_plain(s->deflt, sizeof s->deflt, cells[1]);
		if (has_range)
			md_plain(s->range, sizeof s->range, cells[2]);
		const char *m = cells[has_range ? 3 : 2];
		while (*m == ' ')
			m++;
		snprintf(s->meaning, sizeof s->meaning, "%s", m);
		for (size_t k = strlen(s->meaning); k > 0 && s->meaning[k - 1] == ' '; k--)
			s->meaning[k - 1] = '\0';
		s->has_range = has_range;
		s->line = line;
		p = end + 1;
	}
	return 0;
}

static int add_flag(struct md_config *c, char **cells, size_t n, int line)
{
	if (n < 3 || strstr(cells[0], "--") == NULL)
		return 0;
	struct md_flag *f = realloc(c->flags, (c->nflags + 1) * sizeof *f);
	if (f == NULL)
		return -1;
	c->flags = f;
	f = &c->flags[c->nflags++];
	snprintf(f->flags, sizeof f->flags, "%s", cells[0]);
	md_plain(f->overrides, sizeof f->overrides, cells[1]);
	f->line = line;
	return 0;
}

/* The table a heading opens: a settings section ("### `[server]`") or the
 * "## Command line" table; anything else closes the current one. */
static void heading(const char *l, char *section, size_t size, bool *cmdline)
{
	const char *b = strstr(l, "`[");
	const char *e = b ? strstr(b, "]`") : NULL;

	*cmdline = strcmp(l, "## Command line") == 0;
	if (strncmp(l, "### ", 4) == 0 && b && e)
		snprintf(section, size, "%.*s", (int)(e - b - 2), b + 2);
	else
		section[0] = '\0';
}

int md_config_parse(const char *text, struct md_config *out)
{
	char section[32] = "", *copy = strdup(text), *save = NULL, *cells[MAX_CELLS];
	bool cmdline = false, has_range = false;
	int line = 0, rc = 0;

	memset(out, 0, sizeof *out);
	if (copy == NULL)
		return -1;
	for (char *l = copy; rc == 0 && l; l = save) {
		save = strchr(l, '\n');
		if (save)
			*save++ = '\0';
		line++;
		if (l[0] == '#') {
			heading(l, section, sizeof section, &cmdline);
		} else if (strncmp(l, "| key |", 7) == 0) {
			has_range = strstr(l, "| range |") != NULL;
		} else if (strncmp(l, "| `", 3) == 0 || strncmp(l, "| `-", 4) == 0) {
			size_t n = split_row(l, cells, MAX_CELLS);
			if (section[0])
				rc = add_settings(out, section, has_range, cells, n, line);
			else if (cmdline)
				rc = add_flag(out, cells, n, line);
		}
	}
	free(copy);
	return rc;
}

void md_config_free(struct md_config *c)
{
	free(c->settings);
	free(c->flags);
	memset(c, 0, sizeof *c);
}

const struct md_setting *md_config_find(const struct md_config *c, const char *section,
					const char *key)
{
	for (size_t i = 0; i < c->nsettings; i++)
		if (strcmp(c->settings[i].section, section) == 0 &&
		    strcmp(c->settings[i].key, key) == 0)
			return &c->settings[i];
	return NULL;
}

/* One character of text, escaped for roff; at_line_start guards '.'/'\''. */
static void roff_char(FILE *out, char ch, bool at_line_start)
{
	if (ch == '\\')
		fputs("\\e", out);
	else if (ch == '-')
		fputs("\\-", out);
	else if ((ch == '.' || ch == '\'') && at_line_start)
		fprintf(out, "\\&%c", ch);
	else
		fputc(ch, out);
}

/* A UTF-8 sequence at s as groff's \[uXXXX] (man pages stay ASCII); returns
 * the bytes it took, 0 when s is ASCII or not valid UTF-8. */
static size_t roff_utf8(FILE *out, const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t len = u[0] >= 0xf0 ? 4 : u[0] >= 0xe0 ? 3 : u[0] >= 0xc0 ? 2 : 0;
	unsigned long cp = len == 4 ? u[0] & 0x07u : len == 3 ? u[0] & 0x0fu : u[0] & 0x1fu;

	for (size_t i = 1; i < len; i++) {
		if ((u[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (u[i] & 0x3fu);
	}
	if (len)
		fprintf(out, "\\[u%04lX]", cp);
	return len;
}

void roff_text(FILE *out, const char *s)
{
	bool start = true;

	for (; *s; s++) {
		size_t n = roff_utf8(out, s);
		if (n) {
			s += n - 1;
		} else {
			roff_char(out, *s, start);
		}
		start = *s == '\n';
	}
}

/* Length of a Markdown link "[text](target)" at p (0 if none); text and its
 * length go to *t and *tlen. */
static size_t md_link(const char *p, const char **t, size_t *tlen)
{
	const char *close = strstr(p, "](");
	const char *end = close ? strchr(close, ')') : NULL;

	if (*p != '[' || close == NULL || end == NULL || memchr(p, '\n', (size_t)(end - p)))
		return 0;
	*t = p + 1;
	*tlen = (size_t)(close - p - 1);
	return (size_t)(end - p + 1);
}

void md_to_roff(FILE *out, const char *md)
{
	bool code = false, bold = false, start = true;

	for (const char *p = md; *p; p++) {
		const char *t;
		size_t tlen, skip;
		if (*p == '`') {
			code = !code;
			fputs(code ? "\\fB" : "\\fR", out);
		} else if (!code && p[0] == '*' && p[1] == '*') {
			bold = !bold;
			fputs(bold ? "\\fB" : "\\fR", out);
			p++;
		} else if (!code && (skip = md_link(p, &t, &tlen)) > 0) {
			for (size_t i = 0; i < tlen; i++)
				roff_char(out, t[i], false);
			p += skip - 1;
		} else if ((skip = roff_utf8(out, p)) > 0) {
			p += skip - 1;
		} else {
			roff_char(out, *p, start);
		}
		start = false;
	}
	if (code || bold)
		fputs("\\fR", out);
}
