/* Column-aligned tables for provisionctl's human output. Widths are fitted
 * to the content (in UTF-8 characters); control characters never reach the
 * terminal. */
#include <stdlib.h>
#include <string.h>

#include "provisiond/client/ctl.h"

#define GUTTER 2

struct ctl_table {
	size_t ncols;
	size_t nrows;
	size_t cap;
	char **headers; /* NULL: print no header line */
	char **cells;	/* nrows * ncols */
};

/* Characters on screen, counting UTF-8 sequences as one. */
static size_t text_width(const char *s)
{
	size_t w = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			w++;
	return w;
}

struct ctl_table *ctl_table_new(size_t ncols, const char *const *headers)
{
	struct ctl_table *t = calloc(1, sizeof(*t));

	if (t == NULL || ncols == 0) {
		free(t);
		return NULL;
	}
	t->ncols = ncols;
	if (headers == NULL)
		return t;
	t->headers = calloc(ncols, sizeof(char *));
	for (size_t i = 0; t->headers != NULL && i < ncols; i++)
		if ((t->headers[i] = strdup(headers[i])) == NULL) {
			ctl_table_free(t);
			return NULL;
		}
	if (t->headers == NULL) {
		ctl_table_free(t);
		return NULL;
	}
	return t;
}

int ctl_table_add(struct ctl_table *t, const char *const *cells)
{
	if (t->nrows == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		char **p = realloc(t->cells, cap * t->ncols * sizeof(char *));
		if (p == NULL)
			return -1;
		t->cells = p;
		t->cap = cap;
	}
	char **row = t->cells + t->nrows * t->ncols;
	for (size_t i = 0; i < t->ncols; i++) {
		row[i] = strdup(cells[i] ? cells[i] : "-");
		if (row[i] == NULL) {
			while (i > 0)
				free(row[--i]);
			return -1;
		}
	}
	t->nrows++;
	return 0;
}

size_t ctl_table_rows(const struct ctl_table *t)
{
	return t->nrows;
}

void ctl_table_free(struct ctl_table *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; t->headers != NULL && i < t->ncols; i++)
		free(t->headers[i]);
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->headers);
	free(t->cells);
	free(t);
}

/* Prints at most `limit` characters of s (0 = all), control chars as '?';
 * returns the number of characters printed. */
static size_t put_text(FILE *out, const char *s, size_t limit)
{
	size_t w = 0;

	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		bool lead = (ch & 0xC0) != 0x80;
		if (lead && limit > 0 && w == limit)
			break;
		w += lead;
		fputc(ch < 0x20 || ch == 0x7f ? '?' : ch, out);
	}
	return w;
}

static void put_cell(FILE *out, const char *s, size_t width, size_t max, bool last)
{
	size_t w = text_width(s), shown;

	if (!last && max > 3 && w > max) {
		shown = put_text(out, s, max - 3) + 3;
		fputs("...", out);
	} else {
		shown = put_text(out, s, 0);
	}
	if (last)
		return;
	for (size_t k = shown; k < width + GUTTER; k++)
		fputc(' ', out);
}

static void put_row(FILE *out, char *const *cells, const size_t *widths, size_t ncols, size_t max)
{
	for (size_t c = 0; c < ncols; c++)
		put_cell(out, cells[c], widths[c], max, c + 1 == ncols);
	fputc('\n', out);
}

void ctl_table_print(FILE *out, const struct ctl_table *t, size_t max_width)
{
	size_t *widths = calloc(t->ncols, sizeof(size_t));

	if (widths == NULL)
		return;
	for (size_t c = 0; c < t->ncols; c++) {
		size_t w = t->headers ? text_width(t->headers[c]) : 0;
		for (size_t r = 0; r < t->nrows; r++) {
			size_t cw = text_width(t->cells[r * t->ncols + c]);
			if (max_width > 3 && cw > max_width && c + 1 < t->ncols)
				cw = max_width;
			w = cw > w ? cw : w;
		}
		widths[c] = w;
	}
	if (t->headers != NULL)
		put_row(out, t->headers, widths, t->ncols, max_width);
	for (size_t r = 0; r < t->nrows; r++)
		put_row(out, t->cells + r * t->ncols, widths, t->ncols, max_width);
	free(widths);
}
