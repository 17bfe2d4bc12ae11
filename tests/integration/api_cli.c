/* api_cli.c - provisionctl against the real daemon: enroll, machine list,
 * image register, allocation create --wait, -o json, release, tokens, and
 * the exit status and stderr of errors (API 1, usage 2, transport 3). */
#include "harness.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static int setup(void **state)
{
	static struct h_daemon d;
	*state = &d;
	return h_start(&d, NULL);
}

/* Runs provisionctl; prints its output when the exit status is not want. */
static int ctl(struct h_daemon *d, const char *token, int want, char **out, char **err,
	       const char *const *argv)
{
	char *o = NULL, *e = NULL;
	int rc = h_ctl(d, token, &o, &e, argv);
	if (rc != want) {
		fprintf(stderr, "provisionctl");
		for (size_t i = 0; argv[i]; i++)
			fprintf(stderr, " %s", argv[i]);
		fprintf(stderr, "\n-> exit %d (want %d)\nstdout:\n%s\nstderr:\n%s\n", rc, want,
			o ? o : "", e ? e : "");
	}
	if (out)
		*out = o;
	else
		free(o);
	if (err)
		*err = e;
	else
		free(e);
	return rc;
}

static json_t *ctl_json(struct h_daemon *d, const char *const *argv)
{
	char *out = NULL;
	assert_int_equal(ctl(d, d->admin, 0, &out, NULL, argv), 0);
	json_error_t je;
	json_t *j = json_loads(out ? out : "", 0, &je);
	if (!j)
		fprintf(stderr, "-o json output does not parse (%s): %s\n", je.text, out);
	assert_non_null(j);
	free(out);
	return j;
}

static void test_provisionctl_against_daemon(void **state)
{
	struct h_daemon *d = *state;
	char *out = NULL, *err = NULL;

	for (int i = 0; i < 2; i++) {
		char name[16], mac[18];
		snprintf(name, sizeof name, "cli-%d", i);
		h_mac((unsigned)i + 1, mac);
		const char *enroll[] = {"machine",
					"enroll",
					"--name",
					name,
					"--mac",
					mac,
					"--bmc-driver",
					"fake",
					"--bmc-option",
					"sku=lab.small",
					"--bmc-option",
					"delay_ms=20",
					NULL};
		assert_int_equal(ctl(d, d->admin, 0, &out, NULL, enroll), 0);
		assert_non_null(strstr(out, name));
		free(out);
	}
	assert_true(h_wait_count(d, "available", "lab.small", 2, 120));

	/* machine list: a table with a header and the machines */
	const char *list[] = {"machine", "list", NULL};
	assert_int_equal(ctl(d, d->admin, 0, &out, NULL, list), 0);
	assert_non_null(strstr(out, "cli-0"));
	assert_non_null(strstr(out, "cli-1"));
	assert_non_null(strstr(out, "available"));
	assert_non_null(strstr(out, "lab.small"));
	assert_true(strchr(out, '\n') != NULL && strchr(out, '\n') < strstr(out, "cli-0"));
	free(out);
	const char *list_json[] = {"-o", "json", "machine", "list", NULL};
	json_t *j = ctl_json(d, list_json);
	assert_int_equal(json_array_size(json_object_get(j, "items")), 2);
	json_decref(j);

	/* image register, allocation create --wait */
	char img[400];
	snprintf(img, sizeof img, "%s/cli.raw", d->images);
	FILE *f = fopen(img, "w");
	assert_non_null(f);
	fputs("cli image\n", f);
	fclose(f);
	const char *reg[] = {"image", "register", "--name", "img", "--path", img, NULL};
	assert_int_equal(ctl(d, d->admin, 0, NULL, NULL, reg), 0);
	const char *create[] = {"allocation", "create",	 "--sku", "lab.small", "--count",
				"2",	      "--image", "img",	  "--name",    "cli-alloc",
				"--wait",     "60",	 NULL};
	assert_int_equal(ctl(d, d->admin, 0, &out, NULL, create), 0);
	assert_non_null(strstr(out, "ready"));
	assert_non_null(strstr(out, "cli-alloc"));
	free(out);

	/* -o json parses and says what the API says */
	const char *alist[] = {"allocation", "list", "-o", "json", NULL};
	j = ctl_json(d, alist);
	json_t *items = json_object_get(j, "items");
	assert_int_equal(json_array_size(items), 1);
	char aid[H_ID_LEN];
	snprintf(aid, sizeof aid, "%s",
		 json_string_value(json_object_get(json_array_get(items, 0), "id")));
	json_decref(j);
	const char *show[] = {"-o", "json", "allocation", "show", aid, NULL};
	j = ctl_json(d, show);
	assert_string_equal(json_string_value(json_object_get(j, "state")), "ready");
	assert_string_equal(json_string_value(json_object_get(j, "name")), "cli-alloc");
	assert_int_equal(json_array_size(json_object_get(j, "machines")), 2);
	json_decref(j);
	const char *mshow[] = {"machine", "show", "cli-0", "-o", "json", NULL};
	j = ctl_json(d, mshow);
	assert_string_equal(json_string_value(json_object_get(j, "state")), "active");
	assert_string_equal(json_string_value(json_object_get(j, "allocation_id")), aid);
	json_decref(j);

	/* a server error: exit 1, the server's message on stderr, nothing on stdout */
	const char *toomany[] = {"allocation", "create",  "--sku", "lab.small", "--count",
				 "5",	       "--image", "img",   NULL};
	assert_int_equal(ctl(d, d->admin, 1, &out, &err, toomany), 1);
	assert_non_null(strstr(err, "sku lab.small: 0 available, 5 requested"));
	assert_non_null(strstr(err, "insufficient_capacity"));
	assert_non_null(strstr(err, "409"));
	assert_string_equal(out, "");
	free(out);
	free(err);
	const char *dup[] = {"machine", "enroll",	"--name",	 "cli-0", "--bmc-driver",
			     "fake",	"--bmc-option", "sku=lab.small", NULL};
	assert_int_equal(ctl(d, d->admin, 1, NULL, &err, dup), 1);
	assert_non_null(strstr(err, "a machine named 'cli-0' already exists"));
	free(err);
	/* a bad token is the server's 401 */
	const char *skus[] = {"sku", "list", NULL};
	assert_int_equal(ctl(d, "pvd_nope", 1, NULL, &err, skus), 1);
	assert_non_null(strstr(err, "invalid token"));
	free(err);
	/* usage errors send nothing (exit 2); no server is a transport error (3) */
	const char *usage[] = {"allocation", "create", "--count", "1", NULL};
	assert_int_equal(ctl(d, d->admin, 2, NULL, NULL, usage), 2);
	const char *nosrv[] = {"--url", "http://127.0.0.1:1", "sku", "list", NULL};
	assert_int_equal(ctl(d, d->admin, 3, NULL, NULL, nosrv), 3);

	/* tokens: create a service token, use it */
	const char *tcreate[] = {"-o",	    "json",    "token", "create", "--role",
				 "service", "--owner", "cli",	NULL};
	j = ctl_json(d, tcreate);
	char svc[H_TOKEN_LEN];
	snprintf(svc, sizeof svc, "%s", json_string_value(json_object_get(j, "token")));
	assert_true(strlen(svc) > 8);
	json_decref(j);
	const char *svc_list[] = {"-o", "json", "allocation", "list", NULL};
	assert_int_equal(ctl(d, svc, 0, &out, NULL, svc_list), 0);
	j = json_loads(out, 0, NULL);
	assert_non_null(j);
	assert_int_equal(json_array_size(json_object_get(j, "items")), 0); /* not the admin's */
	json_decref(j);
	free(out);

	/* release --wait: back to the pool */
	const char *rel[] = {"allocation", "release", aid, "--wait", "60", NULL};
	assert_int_equal(ctl(d, d->admin, 0, &out, NULL, rel), 0);
	assert_non_null(strstr(out, "released"));
	free(out);
	assert_true(h_wait_count(d, "available", "lab.small", 2, 120));
}

static json_t *items_of(struct h_daemon *d, const char *const *argv)
{
	json_t *j = ctl_json(d, argv);
	json_t *items = json_incref(json_object_get(j, "items"));
	json_decref(j);
	assert_non_null(items);
	return items;
}

/* machine list --site/--rack, and the audit log: newest first, filters
 * (the API's and provisionctl's), TARGET filled in. */
static void test_cli_filters_and_audit(void **state)
{
	struct h_daemon *d = *state;
	static const char *const racks[][3] = {{"v-a", "dc1", "r1"}, {"v-b", "dc1", "r2"}};
	char *out = NULL, *err = NULL;

	for (int i = 0; i < 2; i++) {
		const char *enroll[] = {"machine",   "enroll", "--name",    racks[i][0], "--site",
					racks[i][1], "--rack", racks[i][2], NULL};
		assert_int_equal(ctl(d, d->admin, 0, NULL, NULL, enroll), 0);
	}
	json_t *items =
	    items_of(d, (const char *[]){"-o", "json", "machine", "list", "--rack", "r2", NULL});
	assert_int_equal(json_array_size(items), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(items, 0), "name")),
			    "v-b");
	char vb[H_ID_LEN];
	snprintf(vb, sizeof vb, "%s",
		 json_string_value(json_object_get(json_array_get(items, 0), "id")));
	json_decref(items);
	items =
	    items_of(d, (const char *[]){"-o", "json", "machine", "list", "--site", "dc1", NULL});
	assert_int_equal(json_array_size(items), 2);
	json_decref(items);

	/* per rack: one row per site and rack, by site and rack; the rack's
	 * counts under the machine list of one rack */
	json_t *by_rack =
	    ctl_json(d, (const char *[]){"-o", "json", "capacity", "--by-rack", NULL});
	json_t *r2 = json_array_get(json_object_get(by_rack, "racks"), 1);
	assert_string_equal(json_string_value(json_object_get(r2, "site")), "dc1");
	assert_string_equal(json_string_value(json_object_get(r2, "rack")), "r2");
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(r2, "counts"), "enrolled")), 1);
	json_decref(by_rack);
	assert_int_equal(ctl(d, d->admin, 0, &out, NULL,
			     (const char *[]){"machine", "list", "--rack", "r2", NULL}),
			 0);
	assert_non_null(strstr(out, "rack dc1/r2: 1 enrolled"));
	free(out);
	out = NULL;
	assert_int_equal(
	    ctl(d, d->admin, 0, &out, NULL, (const char *[]){"capacity", "--by-rack", NULL}), 0);
	assert_non_null(strstr(out, "dc1/r1"));
	assert_non_null(strstr(out, "ENROLLED"));
	free(out);
	out = NULL;

	/* capacity lists the SKUs in the order of sku list, "(unmatched)" last */
	json_t *cap = ctl_json(d, (const char *[]){"-o", "json", "capacity", NULL});
	json_t *skus = ctl_json(d, (const char *[]){"-o", "json", "sku", "list", NULL});
	const char *key, *prev = NULL;
	json_t *v;
	size_t k = 0;
	json_object_foreach(json_object_get(cap, "skus"), key, v)
	{
		if (k < json_array_size(json_object_get(skus, "items")))
			assert_string_equal(
			    key, json_string_value(json_object_get(
				     json_array_get(json_object_get(skus, "items"), k), "name")));
		prev = key;
		k++;
	}
	assert_non_null(prev);
	assert_string_equal(prev, "(unmatched)");
	json_decref(cap);
	json_decref(skus);

	/* newest first: the last enrollment leads */
	items = items_of(d, (const char *[]){"-o", "json", "audit", "--limit", "1", NULL});
	assert_int_equal(json_array_size(items), 1);
	assert_string_equal(
	    json_string_value(json_object_get(json_array_get(items, 0), "target_id")), vb);
	json_decref(items);
	/* a machine named as the target; an action family; an age */
	items = items_of(d, (const char *[]){"-o", "json", "audit", "--target", "v-b", "--action",
					     "machine", "--since", "1h", NULL});
	assert_int_equal(json_array_size(items), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(items, 0), "action")),
			    "machine.enroll");
	json_decref(items);
	items = items_of(d, (const char *[]){"-o", "json", "audit", "--actor", "nobody", NULL});
	assert_int_equal(json_array_size(items), 0);
	json_decref(items);
	items = items_of(
	    d, (const char *[]){"-o", "json", "audit", "--since", "2999-01-01T00:00:00Z", NULL});
	assert_int_equal(json_array_size(items), 0);
	json_decref(items);
	const char *table[] = {"audit", "--target", "v-b", NULL};
	assert_int_equal(ctl(d, d->admin, 0, &out, NULL, table), 0);
	char want[64];
	snprintf(want, sizeof want, "machine:%s", vb);
	assert_non_null(strstr(out, want));
	free(out);
	/* the API refuses what it cannot read */
	struct h_resp r = {0};
	assert_int_equal(h_call(d, d->admin, "GET", "/v1/audit?order=sideways", NULL, &r), 400);
	assert_string_equal(h_err_field(&r), "order");
	h_resp_clear(&r);
	assert_int_equal(h_call(d, d->admin, "GET", "/v1/audit?since=yesterday", NULL, &r), 400);
	assert_string_equal(h_err_field(&r), "since");
	h_resp_clear(&r);
	const char *bad[] = {"audit", "--since", "yesterday", NULL};
	assert_int_equal(ctl(d, d->admin, 2, NULL, &err, bad), 2);
	free(err);
}

/* allocation show/release by name, list filters, --wait progress, and an
 * Idempotency-Key replay that says so (also once released). */
static void test_cli_allocations_by_name(void **state)
{
	struct h_daemon *d = *state;
	char *out = NULL, *err = NULL;

	for (unsigned i = 0; i < 2; i++) {
		char name[16];
		snprintf(name, sizeof name, "an-%u", i);
		assert_int_equal(h_enroll_fake(d, name, 0x6100 + i, "lab.small", 20, 0, NULL), 201);
	}
	assert_true(h_wait_count(d, "available", "lab.small", 2, 120));
	assert_int_equal(h_image(d, "img"), 201);
	const char *create[] = {
	    "allocation", "create", "--sku",  "lab.small", "--count",		"2",
	    "--image",	  "img",    "--name", "web",	   "--idempotency-key", "k-web",
	    "--wait",	  "60",	    NULL};
	assert_int_equal(ctl(d, d->admin, 0, &out, &err, create), 0);
	assert_non_null(strstr(err, "2/2 machines active"));
	assert_null(strstr(err, "used before"));
	free(out);
	free(err);
	json_t *j = ctl_json(d, (const char *[]){"-o", "json", "allocation", "show", "web", NULL});
	assert_string_equal(json_string_value(json_object_get(j, "state")), "ready");
	json_decref(j);
	/* another owner's service learns nothing by name either */
	char other[H_TOKEN_LEN];
	assert_int_equal(h_token(d, "service", "other", other), 201);
	const char *peek[] = {"allocation", "show", "web", NULL};
	assert_int_equal(ctl(d, other, 1, NULL, &err, peek), 1);
	assert_non_null(strstr(err, "HTTP 404"));
	free(err);
	json_t *items = items_of(
	    d, (const char *[]){"-o", "json", "allocation", "list", "--state", "ready", NULL});
	assert_int_equal(json_array_size(items), 1);
	json_decref(items);
	items = items_of(d, (const char *[]){"-o", "json", "allocation", "list", "--owner",
					     "someone-else", NULL});
	assert_int_equal(json_array_size(items), 0);
	json_decref(items);
	/* the same key again: a replay, and it says so */
	assert_int_equal(ctl(d, d->admin, 0, NULL, &err, create), 0);
	assert_non_null(strstr(err, "Idempotency-Key 'k-web' was used before"));
	free(err);
	const char *rel[] = {"allocation", "release", "web", "--wait", "60", NULL};
	assert_int_equal(ctl(d, d->admin, 0, &out, NULL, rel), 0);
	assert_non_null(strstr(out, "released"));
	free(out);
	/* replaying it now returns the released allocation: exit 1, no dangling colon */
	assert_int_equal(ctl(d, d->admin, 1, NULL, &err, create), 1);
	assert_non_null(strstr(err, "was used before"));
	assert_non_null(strstr(err, "is released, not ready, after waiting\n"));
	free(err);
	const char *missing[] = {"allocation", "show", "no-such-name", NULL};
	assert_int_equal(ctl(d, d->admin, 1, NULL, NULL, missing), 1);
}

/* What allocation create --wait draws from: ?watch=machines answers a
 * long-poll when one machine turns active while the allocation is still
 * deploying (a slow second machine keeps it deploying). */
static void test_alloc_watch_machines(void **state)
{
	struct h_daemon *d = *state;
	char slow[H_ID_LEN], aid[H_ID_LEN], path[200];
	struct h_resp r = {0};

	assert_int_equal(h_enroll_fake(d, "w-fast", 0x6200, "lab.small", 5, 0, NULL), 201);
	assert_int_equal(h_enroll_fake(d, "w-slow", 0x6201, "lab.small", 5, 0, slow), 201);
	assert_true(h_wait_count(d, "available", "lab.small", 2, 120));
	assert_int_equal(h_patch_fake(d, slow, "lab.small", 1500, 0), 200);
	assert_int_equal(h_image(d, "img"), 201);
	assert_int_equal(h_allocate(d, d->admin, "lab.small", 2, 0, "img", NULL, aid, NULL), 202);
	snprintf(path, sizeof path, "/v1/allocations/%s?wait=60&watch=machines", aid);
	bool seen = false;
	for (int i = 0; i < 10 && !seen; i++) {
		assert_int_equal(h_call(d, d->admin, "GET", path, NULL, &r), 200);
		json_t *ms = json_object_get(r.json, "machines"), *m;
		size_t k;
		json_array_foreach(ms, k, m)
		{
			const char *name = json_string_value(json_object_get(m, "name"));
			const char *st = json_string_value(json_object_get(m, "state"));
			if (strcmp(name, "w-fast") == 0 && strcmp(st, "active") == 0 &&
			    strcmp(h_str(&r, "state"), "deploying") == 0)
				seen = true;
		}
		bool done = strcmp(h_str(&r, "state"), "deploying") != 0;
		h_resp_clear(&r);
		if (done)
			break;
	}
	assert_true(seen);
}

/* Without a token, a 401 says where one goes. */
static void test_missing_token_hint(void **state)
{
	struct h_daemon *d = *state;
	const char *argv[] = {"machine", "list", NULL};
	char *err = NULL;
	assert_int_not_equal(h_ctl(d, NULL, NULL, &err, argv), 0);
	assert_non_null(strstr(err, "PROVISIOND_TOKEN_FILE"));
	free(err);
}

/* Every power verb the CLI offers is one the daemon takes: soft-off is a
 * graceful shutdown, not a 400. */
static void test_power_verbs(void **state)
{
	struct h_daemon *d = *state;
	char id[H_ID_LEN];
	assert_int_equal(h_enroll_fake(d, "pw-0", 0x5151, "lab.small", 5, 0, id), 201);
	assert_true(h_wait_machine(d, id, "available", 120));
	static const char *const verbs[] = {"on", "cycle", "reset", "soft-off", "off"};
	for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++) {
		const char *argv[] = {"machine", "power", verbs[i], "pw-0", NULL};
		assert_int_equal(ctl(d, d->admin, 0, NULL, NULL, argv), 0);
	}
}

/* allocation create --spread, capacity --by-site */
static void test_cli_spread(void **state)
{
	struct h_daemon *d = *state;
	static const char *const where[][2] = {{"dc1", "r1"}, {"dc1", "r2"}, {"dc2", "r1"}};
	char *out = NULL, *err = NULL;
	for (unsigned i = 0; i < 3; i++) {
		char name[16], mac[18];
		snprintf(name, sizeof name, "sp-%u", i);
		h_mac(i + 1, mac);
		const char *enroll[] = {
		    "machine",	    "enroll",	     "--name", name,	    "--mac",	    mac,
		    "--site",	    where[i][0],     "--rack", where[i][1], "--bmc-driver", "fake",
		    "--bmc-option", "sku=lab.small", NULL};
		assert_int_equal(ctl(d, d->admin, 0, NULL, NULL, enroll), 0);
	}
	assert_true(h_wait_count(d, "available", "lab.small", 3, 120));
	assert_int_equal(h_image(d, "img"), 201);

	json_t *j = ctl_json(d, (const char *[]){"-o", "json", "capacity", "--by-site", NULL});
	json_t *dc2 = json_array_get(json_object_get(j, "sites"), 1);
	assert_string_equal(json_string_value(json_object_get(dc2, "site")), "dc2");
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(dc2, "counts"), "available")), 1);
	json_decref(j);
	assert_int_equal(
	    ctl(d, d->admin, 0, &out, NULL, (const char *[]){"capacity", "--by-site", NULL}), 0);
	assert_non_null(strstr(out, "SITE"));
	assert_non_null(strstr(out, "dc2"));
	free(out);
	assert_int_equal(ctl(d, d->admin, 2, NULL, NULL,
			     (const char *[]){"capacity", "--by-site", "--by-rack", NULL}),
			 2);

	/* usage errors send nothing; names the server does not know are its 400 */
	static const char *const bad[] = {"rack:", ":strict", "rack:strict:x", ""};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(
		    ctl(d, d->admin, 2, NULL, NULL,
			(const char *[]){"allocation", "create", "--sku", "lab.small", "--count",
					 "1", "--image", "img", "--spread", bad[i], NULL}),
		    2);
	assert_int_equal(
	    ctl(d, d->admin, 1, NULL, &err,
		(const char *[]){"allocation", "create", "--sku", "lab.small", "--count", "1",
				 "--image", "img", "--spread", "row", NULL}),
	    1);
	assert_non_null(strstr(err, "spread.across"));
	free(err);
	assert_int_equal(
	    ctl(d, d->admin, 1, NULL, &err,
		(const char *[]){"allocation", "create", "--sku", "lab.small", "--count", "3",
				 "--image", "img", "--spread", "site", NULL}),
	    1);
	assert_non_null(strstr(err, "spread across site needs 3 sites with an available "
				    "lab.small machine; 2 have one"));
	free(err);

	j = ctl_json(d,
		     (const char *[]){"-o", "json", "allocation", "create", "--sku", "lab.small",
				      "--count", "2", "--image", "img", "--spread", "site", NULL});
	json_t *sp = json_object_get(j, "spread");
	assert_string_equal(json_string_value(json_object_get(sp, "across")), "site");
	assert_string_equal(json_string_value(json_object_get(sp, "mode")), "strict");
	assert_int_equal(json_integer_value(json_object_get(sp, "domains")), 2);
	json_decref(j);
	j = ctl_json(d, (const char *[]){"-o", "json", "allocation", "create", "--sku", "lab.small",
					 "--count", "1", "--image", "img", "--spread",
					 "rack:best_effort", NULL});
	sp = json_object_get(j, "spread");
	assert_string_equal(json_string_value(json_object_get(sp, "across")), "rack");
	assert_string_equal(json_string_value(json_object_get(sp, "mode")), "best_effort");
	assert_int_equal(json_integer_value(json_object_get(sp, "domains")), 1);
	json_decref(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_provisionctl_against_daemon, setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_power_verbs, setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_missing_token_hint, setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_cli_filters_and_audit, setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_cli_allocations_by_name, setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_alloc_watch_machines, setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_cli_spread, setup, h_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
