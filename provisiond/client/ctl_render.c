/* JSON -> cells: paths into objects, cell text, key/value listings, tables
 * of resources and of counts by machine state. */
#include <stdlib.h>
#include <string.h>

#include "provisiond/client/ctl.h"

#define MAX_COUNT_COLS 24

/* Lifecycle order (docs/lifecycle.md), used to order count columns. */
static const char *const state_order[] = {
    "enrolled", "verifying", "inspecting",  "cleaning", "available", "deploying",
    "active",	"releasing", "maintenance", "failed",	"retired",   NULL,
};

static json_t *walk(const json_t *obj, const char *path, size_t len)
{
	char key[128];
	const json_t *cur = obj;

	while (len > 0 && cur != NULL) {
		const char *dot = memchr(path, '.', len);
		size_t k = dot ? (size_t)(dot - path) : len;
		if (k >= sizeof(key))
			return NULL;
		memcpy(key, path, k);
		key[k] = '\0';
		cur = json_object_get(cur, key);
		path += k + (dot != NULL);
		len -= k + (dot != NULL);
	}
	return (json_t *)cur;
}

json_t *ctl_json_path(const json_t *obj, const char *path)
{
	while (path != NULL && *path) {
		const char *bar = strchr(path, '|');
		size_t len = bar ? (size_t)(bar - path) : strlen(path);
		json_t *v = walk(obj, path, len);
		if (v != NULL && !json_is_null(v))
			return v;
		path = bar ? bar + 1 : NULL;
	}
	return NULL;
}

static char *scalar_text(const json_t *v)
{
	char buf[64];

	switch (json_typeof(v)) {
	case JSON_STRING:
		return strdup(json_string_length(v) ? json_string_value(v) : "-");
	case JSON_INTEGER:
		snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return strdup(buf);
	case JSON_REAL:
		snprintf(buf, sizeof(buf), "%g", json_real_value(v));
		return strdup(buf);
	case JSON_TRUE:
		return strdup("true");
	case JSON_FALSE:
		return strdup("false");
	default:
		return strdup("-");
	}
}

static char *array_text(const json_t *arr)
{
	size_t i, n = json_array_size(arr);
	json_t *v;
	char *joined = NULL;
	size_t len = 0;
	FILE *m;

	for (i = 0; i < n; i++) {
		v = json_array_get(arr, i);
		if (json_is_object(v) || json_is_array(v)) {
			char buf[48];
			snprintf(buf, sizeof(buf), "[%zu item%s]", n, n == 1 ? "" : "s");
			return strdup(buf);
		}
	}
	if (n == 0)
		return strdup("-");
	m = open_memstream(&joined, &len);
	if (m == NULL)
		return NULL;
	json_array_foreach(arr, i, v)
	{
		char *s = scalar_text(v);
		fprintf(m, "%s%s", i ? "," : "", s ? s : "");
		free(s);
	}
	fclose(m);
	return joined;
}

char *ctl_json_cell(const json_t *v)
{
	if (v == NULL || json_is_null(v))
		return strdup("-");
	if (json_is_array(v))
		return array_text(v);
	if (json_is_object(v))
		return json_dumps(v, JSON_COMPACT);
	return scalar_text(v);
}

char *ctl_human_size(long long bytes, char *buf, size_t len)
{
	static const char *const units[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
	double v = (double)bytes;
	size_t u = 0;

	if (bytes < 1024) {
		snprintf(buf, len, "%lld B", bytes);
		return buf;
	}
	v /= 1024.0;
	while (v >= 1024.0 && u + 1 < ARRAY_SIZE(units)) {
		v /= 1024.0;
		u++;
	}
	snprintf(buf, len, "%.1f %s", v, units[u]);
	return buf;
}

static char *column_text(const json_t *item, const struct ctl_col *col)
{
	char buf[32];

	if (col->cell != NULL)
		return col->cell(item);
	if (col->path[0] == '#') {
		json_t *arr = ctl_json_path(item, col->path + 1);
		if (!json_is_array(arr))
			return strdup("-");
		snprintf(buf, sizeof(buf), "%zu", json_array_size(arr));
		return strdup(buf);
	}
	json_t *v = ctl_json_path(item, col->path);
	if ((col->flags & CTL_COL_BYTES) && json_is_integer(v))
		return strdup(ctl_human_size((long long)json_integer_value(v), buf, sizeof(buf)));
	return ctl_json_cell(v);
}

struct ctl_table *ctl_table_from_json(const struct ctl_col *cols, size_t ncols, const json_t *items)
{
	const char *headers[32];
	char *cells[32];
	struct ctl_table *t;
	size_t i;
	json_t *item;
	int rc = 0;

	if (ncols == 0 || ncols > 32)
		return NULL;
	for (size_t c = 0; c < ncols; c++)
		headers[c] = cols[c].header;
	t = ctl_table_new(ncols, headers);
	for (size_t c = 0; t != NULL && c < ncols; c++)
		ctl_table_set_flags(t, c, cols[c].flags);
	json_array_foreach(items, i, item)
	{
		for (size_t c = 0; c < ncols; c++) {
			cells[c] = t ? column_text(item, &cols[c]) : NULL;
			if (cells[c] != NULL && cells[c][0] == '\0') {
				free(cells[c]);
				cells[c] = NULL; /* an empty cell shows as "-" */
			}
		}
		if (t != NULL)
			rc = ctl_table_add(t, (const char *const *)cells);
		for (size_t c = 0; c < ncols; c++)
			free(cells[c]);
		if (rc != 0) {
			ctl_table_free(t);
			return NULL;
		}
	}
	return t;
}

/* "size", "file_size", "min_size_bytes": keys whose integers are bytes. */
static bool size_key(const char *key)
{
	size_t n = strlen(key);

	return strcmp(key, "size") == 0 || (n > 5 && strcmp(key + n - 5, "_size") == 0) ||
	       (n > 6 && strcmp(key + n - 6, "_bytes") == 0);
}

/* A value's text in a key/value listing: sizes for people, with the
 * exact number. */
static char *kv_text(const char *key, const json_t *v)
{
	char human[32], *s = NULL;

	if (strstr(key, "password") != NULL && !json_is_null(v))
		return strdup("********");
	if (!json_is_integer(v) || !size_key(key))
		return ctl_json_cell(v);
	ctl_human_size((long long)json_integer_value(v), human, sizeof(human));
	if (asprintf(&s, "%s (%" JSON_INTEGER_FORMAT " bytes)", human, json_integer_value(v)) < 0)
		return NULL;
	return s;
}

static void kv_collect(struct ctl_table *t, const char *prefix, const json_t *obj)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)obj, key, v)
	{
		char full[256];
		snprintf(full, sizeof(full), "%s%s%s", prefix, prefix[0] ? "." : "", key);
		if (json_is_object(v) && json_object_size(v) > 0) {
			kv_collect(t, full, v);
			continue;
		}
		char *text = kv_text(key, v);
		size_t n = strlen(full);
		if (n + 1 < sizeof(full)) {
			full[n] = ':';
			full[n + 1] = '\0';
		}
		const char *row[2] = {full, text ? text : "-"};
		ctl_table_add(t, row);
		free(text);
	}
}

void ctl_kv_print(FILE *out, const json_t *obj)
{
	struct ctl_table *t;

	if (!json_is_object(obj)) {
		char *s = ctl_json_cell(obj);
		fprintf(out, "%s\n", s ? s : "-");
		free(s);
		return;
	}
	t = ctl_table_new(2, NULL);
	if (t == NULL)
		return;
	kv_collect(t, "", obj);
	ctl_table_print(out, t, 0);
	ctl_table_free(t);
}

json_t *ctl_items_of(const json_t *body, const char *key_name)
{
	json_t *items = json_object_get(body, "items"), *arr, *v;
	const char *key;

	if (json_is_array(body))
		return json_incref((json_t *)body);
	if (json_is_array(items))
		return json_incref(items);
	if (!json_is_object(body) || (arr = json_array()) == NULL)
		return NULL;
	json_object_foreach((json_t *)body, key, v)
	{
		json_t *copy = json_is_object(v) ? json_copy(v) : NULL;
		if (copy == NULL || json_object_set_new(copy, key_name, json_string(key)) != 0 ||
		    json_array_append_new(arr, copy) != 0) {
			json_decref(copy);
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

/* ---- counts by state ---------------------------------------------------- */

/* The object holding the counts: "counts", "by_state", "states" or
 * "machines" when the item has one, else the item itself. */
static const json_t *counts_of(const json_t *item)
{
	static const char *const names[] = {"counts", "by_state", "states", "machines", NULL};

	for (size_t i = 0; names[i] != NULL; i++) {
		json_t *o = json_object_get(item, names[i]);
		if (json_is_object(o))
			return o;
	}
	return item;
}

/* The states present in any item, in lifecycle order. Only states are
 * counted: every machine is in exactly one, so they add up to TOTAL. Other
 * keys ("in_maintenance": the machines of the maintenance state once more,
 * "total") would count machines twice. */
static size_t count_columns(const json_t *items, const char **cols)
{
	size_t n = 0, i;
	json_t *item;

	for (size_t s = 0; state_order[s] != NULL && n < MAX_COUNT_COLS; s++)
		json_array_foreach(items, i, item)
		{
			if (json_is_integer(json_object_get(counts_of(item), state_order[s]))) {
				cols[n++] = state_order[s];
				break;
			}
		}
	return n;
}

static int counts_row(struct ctl_table *t, const json_t *item, const char *name_path,
		      const char **cols, size_t n)
{
	char num[MAX_COUNT_COLS + 2][24];
	const char *row[MAX_COUNT_COLS + 2];
	char *name = ctl_json_cell(ctl_json_path(item, name_path));
	json_int_t total = 0;
	const json_t *cnt = counts_of(item);
	int rc;

	row[0] = name ? name : "-";
	for (size_t c = 0; c < n; c++) {
		json_int_t v = json_integer_value(json_object_get(cnt, cols[c]));
		total += v;
		snprintf(num[c], sizeof(num[c]), "%" JSON_INTEGER_FORMAT, v);
		row[c + 1] = num[c];
	}
	snprintf(num[n], sizeof(num[n]), "%" JSON_INTEGER_FORMAT, total);
	row[n + 1] = num[n];
	rc = ctl_table_add(t, row);
	free(name);
	return rc;
}

/* Row order of counts tables: by name, names in parentheses such as
 * "(unmatched)" last. */
struct named {
	const char *name;
	const json_t *item;
};

static int cmp_named(const void *a, const void *b)
{
	const char *x = ((const struct named *)a)->name, *y = ((const struct named *)b)->name;
	bool px = x[0] == '(', py = y[0] == '(';

	return px != py ? (px ? 1 : -1) : strcmp(x, y);
}

static struct named *sorted_items(const json_t *items, const char *name_path)
{
	size_t n = json_array_size(items);
	struct named *v = calloc(n + 1, sizeof(*v));

	for (size_t i = 0; v != NULL && i < n; i++) {
		v[i].item = json_array_get(items, i);
		v[i].name = json_string_value(ctl_json_path(v[i].item, name_path));
		v[i].name = v[i].name ? v[i].name : "";
	}
	if (v != NULL)
		qsort(v, n, sizeof(*v), cmp_named);
	return v;
}

struct ctl_table *ctl_counts_table(const char *name_header, const char *name_path,
				   const json_t *items)
{
	const char *cols[MAX_COUNT_COLS], *headers[MAX_COUNT_COLS + 2];
	char upper[MAX_COUNT_COLS][32];
	size_t n = count_columns(items, cols);
	struct named *rows = sorted_items(items, name_path);
	struct ctl_table *t;

	headers[0] = name_header;
	for (size_t c = 0; c < n; c++) {
		size_t k = 0;
		for (; cols[c][k] && k + 1 < sizeof(upper[c]); k++)
			upper[c][k] =
			    (char)(cols[c][k] >= 'a' && cols[c][k] <= 'z' ? cols[c][k] - 32
									  : cols[c][k]);
		upper[c][k] = '\0';
		headers[c + 1] = upper[c];
	}
	headers[n + 1] = "TOTAL";
	t = rows ? ctl_table_new(n + 2, headers) : NULL;
	for (size_t i = 0; t != NULL && i < json_array_size(items); i++)
		if (counts_row(t, rows[i].item, name_path, cols, n) != 0) {
			ctl_table_free(t);
			t = NULL;
		}
	free(rows);
	return t;
}
