/* Column-aligned tables for provisionctl's human output. Widths are fitted
 * to the content (in UTF-8 characters) and, when a width is given, to the
 * terminal: free-text columns are cut first, widest first. Columns empty in
 * every row are left out. Control characters never reach the terminal. */
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "provisiond/client/ctl.h"

#define GUTTER 2
#define ELLIPSIS "..."
/* Widths a column keeps while a table is fitted: free text gives way down
 * to FREE_COMFORT before optional columns are left out, then down to
 * MIN_FREE; then any column keeps MIN_ANY. */
#define FREE_COMFORT 24
#define MIN_FREE 12
#define MIN_ANY 6

struct ctl_table {
	size_t ncols;
	size_t nrows;
	size_t cap;
	char **headers;	 /* NULL: print no header line */
	char **cells;	 /* nrows * ncols */
	unsigned *flags; /* CTL_COL_* per column */
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
	t->flags = calloc(ncols, sizeof(unsigned));
	if (t->flags == NULL) {
		free(t);
		return NULL;
	}
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
	free(t->flags);
	free(t);
}

void ctl_table_set_flags(struct ctl_table *t, size_t col, unsigned flags)
{
	if (col < t->ncols)
		t->flags[col] = flags;
}

size_t ctl_term_width(FILE *out)
{
	struct winsize ws;
	const char *cols = getenv("COLUMNS");
	long n;
	int fd = out != NULL ? fileno(out) : -1;

	if (fd >= 0 && isatty(fd) && ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	if (cols != NULL && ctl_parse_long(cols, 1, 100000, &n) == 0)
		return (size_t)n;
	return 0;
}

/* Prints the first `limit` characters of s, control chars as '?'; returns
 * the number of characters printed. */
static size_t put_text(FILE *out, const char *s, size_t limit)
{
	size_t w = 0;

	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		bool lead = (ch & 0xC0) != 0x80;
		if (lead && w == limit)
			break;
		w += lead;
		fputc(ch < 0x20 || ch == 0x7f ? '?' : ch, out);
	}
	return w;
}

/* One cell in a column `width` wide: cut with "..." when longer; padded
 * unless it is the last one shown. */
static void put_cell(FILE *out, const char *s, size_t width, bool last)
{
	size_t shown, el = strlen(ELLIPSIS);

	if (text_width(s) > width && width > el) {
		shown = put_text(out, s, width - el) + el;
		fputs(ELLIPSIS, out);
	} else {
		shown = put_text(out, s, width);
	}
	if (last)
		return;
	for (size_t k = shown; k < width + GUTTER; k++)
		fputc(' ', out);
}

/* Prints one row of the visible columns (width 0 = hidden). */
static void put_row(FILE *out, char *const *cells, const size_t *widths, size_t ncols)
{
	size_t last = 0;

	for (size_t c = 0; c < ncols; c++)
		if (widths[c] > 0)
			last = c;
	for (size_t c = 0; c < ncols; c++)
		if (widths[c] > 0)
			put_cell(out, cells[c], widths[c], c == last);
	fputc('\n', out);
}

/* A column is left out when it has a header, there are rows, and every
 * cell of it is "-": it would take room to say nothing. */
static bool column_empty(const struct ctl_table *t, size_t c)
{
	if (t->headers == NULL || t->nrows == 0)
		return false;
	for (size_t r = 0; r < t->nrows; r++)
		if (strcmp(t->cells[r * t->ncols + c], "-") != 0)
			return false;
	return true;
}

static size_t line_width(const size_t *widths, size_t ncols)
{
	size_t total = 0, shown = 0;

	for (size_t c = 0; c < ncols; c++)
		if (widths[c] > 0) {
			total += widths[c];
			shown++;
		}
	return total + (shown > 1 ? (shown - 1) * GUTTER : 0);
}

/* The widest visible column (with `flag` when flag != 0) wider than
 * floor, or ncols when none is. */
static size_t widest(const struct ctl_table *t, const size_t *widths, unsigned flag, size_t floor)
{
	size_t best = t->ncols;

	for (size_t c = 0; c < t->ncols; c++)
		if (widths[c] > floor && (flag == 0 || (t->flags[c] & flag)) &&
		    (best == t->ncols || widths[c] > widths[best]))
			best = c;
	return best;
}

/* Narrows columns with `flag` (0: any), widest first, down to floor,
 * until a line fits width. */
static void shrink(const struct ctl_table *t, size_t *widths, size_t width, unsigned flag,
		   size_t floor)
{
	size_t total, c;

	while ((total = line_width(widths, t->ncols)) > width &&
	       (c = widest(t, widths, flag, floor)) < t->ncols) {
		size_t excess = total - width, room = widths[c] - floor;
		widths[c] -= excess < room ? excess : room;
	}
}

/* Leaves out CTL_COL_OPTIONAL columns, widest first, until a line fits. */
static void drop_optional(const struct ctl_table *t, size_t *widths, size_t width)
{
	size_t c;

	while (line_width(widths, t->ncols) > width &&
	       (c = widest(t, widths, CTL_COL_OPTIONAL, 0)) < t->ncols)
		widths[c] = 0;
}

/* Gives room left over (after columns were dropped) back to the free-text
 * columns, up to their natural widths. */
static void regrow(const struct ctl_table *t, size_t *widths, const size_t *natural, size_t width)
{
	for (size_t c = 0; c < t->ncols; c++) {
		size_t total = line_width(widths, t->ncols);
		if (total >= width)
			return;
		if (widths[c] > 0 && (t->flags[c] & CTL_COL_FREE) && widths[c] < natural[c]) {
			size_t more = natural[c] - widths[c], slack = width - total;
			widths[c] += more < slack ? more : slack;
		}
	}
}

/* Fits a line to `width`: free text gives way first (down to FREE_COMFORT),
 * then optional columns are left out, then free text goes down to
 * MIN_FREE, then any column down to MIN_ANY; room freed by a dropped
 * column goes back to free text. What still does not fit overflows. */
static void fit(const struct ctl_table *t, size_t *widths, size_t width)
{
	size_t *natural = malloc(t->ncols * sizeof(size_t));

	if (natural == NULL)
		return;
	memcpy(natural, widths, t->ncols * sizeof(size_t));
	shrink(t, widths, width, CTL_COL_FREE, FREE_COMFORT);
	drop_optional(t, widths, width);
	shrink(t, widths, width, CTL_COL_FREE, MIN_FREE);
	shrink(t, widths, width, 0, MIN_ANY);
	regrow(t, widths, natural, width);
	free(natural);
}

void ctl_table_print(FILE *out, const struct ctl_table *t, size_t width)
{
	size_t *widths = calloc(t->ncols, sizeof(size_t));

	if (widths == NULL)
		return;
	for (size_t c = 0; c < t->ncols; c++) {
		size_t w = t->headers ? text_width(t->headers[c]) : 0;
		for (size_t r = 0; r < t->nrows; r++) {
			size_t cw = text_width(t->cells[r * t->ncols + c]);
			w = cw > w ? cw : w;
		}
		widths[c] = column_empty(t, c) ? 0 : w > 0 ? w : 1;
	}
	if (width > 0)
		fit(t, widths, width);
	if (t->headers != NULL)
		put_row(out, t->headers, widths, t->ncols);
	for (size_t r = 0; r < t->nrows; r++)
		put_row(out, t->cells + r * t->ncols, widths, t->ncols);
	free(widths);
}
