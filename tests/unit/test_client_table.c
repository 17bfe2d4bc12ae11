/* Table, key/value and counts rendering of provisionctl (golden strings). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provisiond/client/ctl.h"
#include "test_client.h"

/* Runs fn(out, arg) into a string the caller frees. */
static char *capture(void (*fn)(FILE *, const void *), const void *arg)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	assert_non_null(f);
	fn(f, arg);
	fclose(f);
	return text;
}

static size_t g_max;

static void print_table(FILE *f, const void *t)
{
	ctl_table_print(f, t, g_max);
}

static void print_kv(FILE *f, const void *j)
{
	ctl_kv_print(f, j);
}

static void assert_table(const struct ctl_table *t, size_t max, const char *want)
{
	g_max = max;
	char *got = capture(print_table, t);
	if (strcmp(got, want) != 0) {
		fprintf(stderr, "got:\n%s---\nwant:\n%s---\n", got, want);
		fail();
	}
	free(got);
}

static void test_table_basic(void **state)
{
	const char *h[] = {"ID", "NAME", "STATE"};
	const char *r1[] = {"m1", "r12-u07", "available"};
	const char *r2[] = {"machine-2", "é-node", NULL};
	struct ctl_table *t = ctl_table_new(3, h);

	(void)state;
	assert_int_equal(ctl_table_add(t, r1), 0);
	assert_int_equal(ctl_table_add(t, r2), 0);
	assert_int_equal(ctl_table_rows(t), 2);
	assert_table(t, 0,
		     "ID         NAME     STATE\n"
		     "m1         r12-u07  available\n"
		     "machine-2  é-node   -\n");
	ctl_table_free(t);
}

/* A width fits the lines to it: the free-text column is cut first, with
 * "...", the last column too; control characters print as '?'. */
static void test_table_truncate_and_sanitize(void **state)
{
	const char *h[] = {"A", "B"};
	const char *r1[] = {"abcdefghijkl", "the last column is cut when it does not fit"};
	const char *r2[] = {"a\tb\x1b[0m", "x\ny"};
	struct ctl_table *t = ctl_table_new(2, h);

	(void)state;
	ctl_table_add(t, r1);
	ctl_table_add(t, r2);
	ctl_table_set_flags(t, 1, CTL_COL_FREE);
	assert_table(t, 30,
		     "A             B\n"
		     "abcdefghijkl  the last colu...\n"
		     "a?b?[0m       x?y\n");
	assert_table(t, 0,
		     "A             B\n"
		     "abcdefghijkl  the last column is cut when it does not fit\n"
		     "a?b?[0m       x?y\n");
	/* free text at its narrowest: then the other columns give way */
	assert_table(t, 22,
		     "A         B\n"
		     "abcde...  the last ...\n"
		     "a?b?[0m   x?y\n");
	ctl_table_free(t);
}

/* Fitting a width: free text first gives way down to 24 characters, then
 * optional columns go (widest first), then free text goes down to 12, then
 * any column is cut. */
static void test_table_fit_order(void **state)
{
	const char *h[] = {"ID", "NAME", "NOTE"};
	const char *r1[] = {"0123456789abcdef0123", "node-1",
			    "a note that is quite a bit longer than twenty-four characters"};
	struct ctl_table *t = ctl_table_new(3, h);

	(void)state;
	ctl_table_add(t, r1);
	ctl_table_set_flags(t, 0, CTL_COL_OPTIONAL);
	ctl_table_set_flags(t, 2, CTL_COL_FREE);
	/* 20+2+6+2+24 = 54: the note shrinks, the ID stays */
	assert_table(t, 54,
		     "ID                    NAME    NOTE\n"
		     "0123456789abcdef0123  node-1  a note that is quite ...\n");
	/* narrower: the optional ID goes before the note drops under 24 */
	assert_table(t, 40,
		     "NAME    NOTE\n"
		     "node-1  a note that is quite a bit lo...\n");
	assert_table(t, 20,
		     "NAME    NOTE\n"
		     "node-1  a note th...\n");
	ctl_table_free(t);
}

/* A column whose cells are all "-" is left out; one with any value stays. */
static void test_table_drops_empty_columns(void **state)
{
	const char *h[] = {"ID", "GONE", "NOTE"};
	const char *r1[] = {"m1", NULL, "x"};
	const char *r2[] = {"m2", "-", NULL};
	struct ctl_table *t = ctl_table_new(3, h);

	(void)state;
	ctl_table_add(t, r1);
	ctl_table_add(t, r2);
	assert_table(t, 0,
		     "ID  NOTE\n"
		     "m1  x\n"
		     "m2  -\n");
	ctl_table_free(t);
}

static void test_table_empty_and_headerless(void **state)
{
	const char *h[] = {"ID", "NAME"};
	struct ctl_table *t = ctl_table_new(2, h);
	const char *row[] = {"k:", "v"};

	(void)state;
	assert_table(t, 0, "ID  NAME\n");
	ctl_table_free(t);
	t = ctl_table_new(2, NULL);
	ctl_table_add(t, row);
	assert_table(t, 0, "k:  v\n");
	ctl_table_free(t);
	assert_null(ctl_table_new(0, NULL));
	ctl_table_free(NULL);
}

static void test_table_from_json(void **state)
{
	static const struct ctl_col cols[] = {
	    {.header = "ID", .path = "id"},	  {.header = "RACK", .path = "location.rack"},
	    {.header = "N", .path = "#machines"}, {.header = "POWER", .path = "power|power_state"},
	    {.header = "TAGS", .path = "tags"},	  {.header = "OK", .path = "ok"},
	};
	json_t *items = json_loads(
	    "[{\"id\":\"a\",\"location\":{\"rack\":\"r1\"},\"machines\":[1,2],"
	    "\"power_state\":\"on\",\"tags\":[\"x\",\"y\"],\"ok\":true},"
	    "{\"id\":\"b\",\"power\":null,\"tags\":[],\"ok\":false,\"machines\":\"no\"}]",
	    0, NULL);
	struct ctl_table *t = ctl_table_from_json(cols, 6, items);

	(void)state;
	assert_non_null(t);
	assert_table(t, 0,
		     "ID  RACK  N  POWER  TAGS  OK\n"
		     "a   r1    2  on     x,y   true\n"
		     "b   -     -  -      -     false\n");
	ctl_table_free(t);
	json_decref(items);
}

static void test_json_cell(void **state)
{
	static const struct {
		const char *json, *cell;
	} cases[] = {
	    {"\"s\"", "s"},
	    {"\"\"", "-"},
	    {"42", "42"},
	    {"1.5", "1.5"},
	    {"null", "-"},
	    {"true", "true"},
	    {"[1,\"a\"]", "1,a"},
	    {"[]", "-"},
	    {"[{\"a\":1}]", "[1 item]"},
	    {"{\"a\":1}", "{\"a\":1}"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *v = json_loads(cases[i].json, JSON_DECODE_ANY, NULL);
		char *c = ctl_json_cell(v);
		assert_string_equal(c, cases[i].cell);
		free(c);
		json_decref(v);
	}
	char *c = ctl_json_cell(NULL);
	assert_string_equal(c, "-");
	free(c);
}

static void test_kv(void **state)
{
	json_t *o = json_loads("{\"id\":\"m1\",\"location\":{\"site\":\"dc1\",\"unit\":7},"
			       "\"bmc\":{\"driver\":\"ipmi\",\"password\":\"x\"},"
			       "\"machines\":[{\"a\":1}],\"empty\":{},\"n\":null}",
			       0, NULL);
	char *got = capture(print_kv, o);

	(void)state;
	assert_string_equal(got, "id:             m1\n"
				 "location.site:  dc1\n"
				 "location.unit:  7\n"
				 "bmc.driver:     ipmi\n"
				 "bmc.password:   ********\n"
				 "machines:       [1 item]\n"
				 "empty:          {}\n"
				 "n:              -\n");
	free(got);
	json_decref(o);
}

/* Byte counts in key/value listings read as sizes, with the exact number. */
static void test_kv_sizes(void **state)
{
	json_t *o = json_loads("{\"size\":1610612736,\"disks\":{\"min_size_bytes\":512},"
			       "\"sizes\":3,\"count\":4096}",
			       0, NULL);
	char *got = capture(print_kv, o);

	(void)state;
	assert_string_equal(got, "size:                  1.5 GiB (1610612736 bytes)\n"
				 "disks.min_size_bytes:  512 B (512 bytes)\n"
				 "sizes:                 3\n"
				 "count:                 4096\n");
	free(got);
	json_decref(o);
}

/* Only lifecycle states are columns and add up to TOTAL: in_maintenance
 * (machines in the maintenance state, counted there already) and other
 * keys are not. Rows are sorted by name, "(unmatched)" last. */
static void test_counts_table(void **state)
{
	json_t *items = json_loads(
	    "[{\"name\":\"lab.small\",\"counts\":{\"available\":3,\"active\":2,\"failed\":1,"
	    "\"maintenance\":2,\"in_maintenance\":2,\"total\":10}},{\"name\":\"(unmatched)\","
	    "\"counts\":{\"enrolled\":4}},{\"name\":\"lab.big\",\"counts\":{\"enrolled\":1}},"
	    "{\"sku\":\"bare\",\"available\":2,\"cpus\":8}]",
	    0, NULL);
	struct ctl_table *t = ctl_counts_table("SKU", "name|sku", items);

	(void)state;
	assert_non_null(t);
	assert_table(t, 0,
		     "SKU          ENROLLED  AVAILABLE  ACTIVE  MAINTENANCE  FAILED  TOTAL\n"
		     "bare         0         2          0       0            0       2\n"
		     "lab.big      1         0          0       0            0       1\n"
		     "lab.small    0         3          2       2            1       8\n"
		     "(unmatched)  4         0          0       0            0       4\n");
	ctl_table_free(t);
	json_decref(items);
}

static void test_items_of(void **state)
{
	json_t *arr = json_loads("[1]", 0, NULL), *wrapped = json_loads("{\"items\":[2]}", 0, NULL);
	json_t *map = json_loads("{\"lab.small\":{\"available\":1}}", 0, NULL);
	json_t *bad = json_loads("{\"a\":1}", 0, NULL), *r;

	(void)state;
	r = ctl_items_of(arr, "sku");
	assert_ptr_equal(r, arr);
	json_decref(r);
	r = ctl_items_of(wrapped, "sku");
	assert_int_equal(json_integer_value(json_array_get(r, 0)), 2);
	json_decref(r);
	r = ctl_items_of(map, "sku");
	assert_string_equal(json_string_value(json_object_get(json_array_get(r, 0), "sku")),
			    "lab.small");
	/* the input is not modified */
	assert_null(json_object_get(json_object_get(map, "lab.small"), "sku"));
	json_decref(r);
	assert_null(ctl_items_of(bad, "sku"));
	json_decref(arr);
	json_decref(wrapped);
	json_decref(map);
	json_decref(bad);
}

const struct CMUnitTest client_table_tests[] = {
    cmocka_unit_test(test_table_basic),
    cmocka_unit_test(test_table_truncate_and_sanitize),
    cmocka_unit_test(test_table_drops_empty_columns),
    cmocka_unit_test(test_table_fit_order),
    cmocka_unit_test(test_table_empty_and_headerless),
    cmocka_unit_test(test_table_from_json),
    cmocka_unit_test(test_json_cell),
    cmocka_unit_test(test_kv),
    cmocka_unit_test(test_kv_sizes),
    cmocka_unit_test(test_counts_table),
    cmocka_unit_test(test_items_of),
};
const size_t client_table_ntests = sizeof(client_table_tests) / sizeof(client_table_tests[0]);
