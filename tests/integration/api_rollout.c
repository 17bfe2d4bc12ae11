/* api_rollout.c - staged image rollouts through the real daemon
 * (docs/allocations.md, "Staged rollouts"): POST, GET and cancel of
 * /v1/allocations/{id}/rebuild on fake machines whose simulated agent works
 * 300 ms per image write, and which fail writing the image "img-bad".
 *
 * One daemon, one allocation of 5 machines, tests in order:
 *  - bad requests answer 4xx naming the field, and leave nothing behind;
 *  - a full rollout in waves 1, 40%, 100%: while it runs, every machine
 *    that is not active belongs to the current wave; each wave's first
 *    machine left `active` only after the previous wave's last one was
 *    active again (the machines' own events); then the allocation's image is
 *    the new one, and the audit log and the events say every step;
 *  - a rollout whose first wave fails halts with the rest untouched on the
 *    old image; the allocation reports which machine runs which;
 *  - cancel: the wave being reimaged finishes, no later wave starts;
 *  - kill -9 of the daemon in the middle of waves, twice: the restarted
 *    daemon resumes the rollout and completes it;
 *  - provisionctl's rebuild, rebuild-status and rebuild-cancel.
 * A second daemon (deploy_timeout_s = 3): a wave whose machine never
 * finishes fails it at the deadline, and the rollout halts. */
#include "harness.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define NMACHINES 5

static struct h_daemon daemon_;
static char alloc_id[H_ID_LEN];

static long enroll(struct h_daemon *d, int i)
{
	char name[32], mac[18];
	snprintf(name, sizeof name, "ro-%d", i);
	h_mac(700 + (unsigned)i, mac);
	json_t *b = json_pack("{s:s, s:[s], s:{s:s, s:{s:s, s:i, s:s}}}", "name", name, "macs", mac,
			      "bmc", "driver", "fake", "options", "sku", "lab.small", "agent_ms",
			      300, "fail_image", "img-bad");
	return h_call(d, d->admin, "POST", "/v1/machines", b, NULL);
}

static int setup(void **state)
{
	struct h_daemon *d = &daemon_;
	*state = d;
	if (h_start(d, NULL) != 0)
		return -1;
	for (int i = 0; i < NMACHINES; i++)
		if (enroll(d, i) != 201)
			return -1;
	const char *images[] = {"img-a", "img-b", "img-c", "img-d", "img-bad"};
	for (size_t i = 0; i < sizeof images / sizeof images[0]; i++)
		if (h_image(d, images[i]) != 201)
			return -1;
	if (!h_wait_count(d, "available", "lab.small", NMACHINES, 60))
		return -1;
	if (h_allocate(d, d->admin, "lab.small", NMACHINES, 0, "img-a", NULL, alloc_id, NULL) !=
	    202)
		return -1;
	return h_wait_alloc(d, NULL, alloc_id, "ready", 60, NULL) ? 0 : -1;
}

static long rebuild(struct h_daemon *d, const char *body, struct h_resp *r)
{
	char path[128];
	snprintf(path, sizeof path, "/v1/allocations/%s/rebuild", alloc_id);
	return h_request(d, d->admin, "POST", path, body, strlen(body), NULL, r);
}

static long status(struct h_daemon *d, struct h_resp *r)
{
	char path[128];
	snprintf(path, sizeof path, "/v1/allocations/%s/rebuild", alloc_id);
	return h_call(d, d->admin, "GET", path, NULL, r);
}

/* POST .../rebuild that must answer 202: the rollout into r. */
static void rebuild_ok(struct h_daemon *d, const char *body, struct h_resp *r)
{
	long s = rebuild(d, body, r);
	if (s != 202)
		fail_msg("%s -> %ld %s", body, s, r->body);
}

static json_t *get_alloc(struct h_daemon *d)
{
	char path[128];
	struct h_resp r = {0};
	snprintf(path, sizeof path, "/v1/allocations/%s", alloc_id);
	json_t *j = h_call(d, d->admin, "GET", path, NULL, &r) == 200 ? json_incref(r.json) : NULL;
	h_resp_clear(&r);
	assert_non_null(j);
	return j;
}

/* Polls GET .../rebuild until its state is `state` (a final state other
 * than it fails the test); the last answer into out. */
static void wait_rollout(struct h_daemon *d, const char *state, int timeout_s, struct h_resp *out)
{
	int64_t deadline = h_now_ms() + (int64_t)timeout_s * 1000;
	for (;;) {
		h_resp_clear(out);
		long s = status(d, out);
		const char *st = h_str(out, "state");
		if (s == 200 && strcmp(st, state) == 0)
			return;
		if (s == 200 && strcmp(st, "running") && strcmp(st, "halting") &&
		    strcmp(st, "cancelling"))
			fail_msg("rollout is %s, waited for %s: %s", st, state, out->body);
		if (h_now_ms() > deadline)
			fail_msg("rollout not %s after %d s: %s", state, timeout_s, out->body);
		h_sleep_ms(50);
	}
}

/* The rollout's wave (1-based) of machine id, 0 if none. */
static int wave_of(const json_t *ro, const char *id)
{
	size_t i, j;
	json_t *w, *m;
	json_array_foreach(json_object_get(ro, "waves"), i, w)
	{
		json_array_foreach(json_object_get(w, "machines"), j, m)
		{
			if (strcmp(json_string_value(json_object_get(m, "id")), id) == 0)
				return (int)json_integer_value(json_object_get(w, "wave"));
		}
	}
	return 0;
}

static const char *member_str(const json_t *m, const char *k)
{
	const char *s = json_string_value(json_object_get(m, k));
	return s ? s : "";
}

static void expect_4xx(struct h_daemon *d, const char *body, long want, const char *field)
{
	struct h_resp r = {0};
	long s = rebuild(d, body, &r);
	if (s != want || strcmp(h_err_field(&r), field) != 0)
		fail_msg("%s: %ld field '%s' (%s), want %ld field '%s'", body, s, h_err_field(&r),
			 r.body, want, field);
	h_resp_clear(&r);
}

static void test_validation(void **state)
{
	struct h_daemon *d = *state;
	expect_4xx(d, "{\"image\":\"nope\",\"waves\":[\"100%\"]}", 400, "image");
	expect_4xx(d, "{\"image\":\"img-b\",\"waves\":[]}", 400, "waves");
	expect_4xx(d, "{\"image\":\"img-b\"}", 400, "waves");
	expect_4xx(d, "{\"image\":\"img-b\",\"waves\":[\"50%\",\"1\",\"100%\"]}", 400, "waves");
	expect_4xx(d, "{\"image\":\"img-b\",\"waves\":[\"0\",\"100%\"]}", 400, "waves");
	expect_4xx(d, "{\"image\":\"img-b\",\"waves\":[\"150%\"]}", 400, "waves");
	expect_4xx(d, "{\"image\":\"img-b\",\"waves\":[\"6\"]}", 400, "waves");
	expect_4xx(d, "{\"image\":\"img-b\",\"waves\":[\"1\",\"50%\"]}", 400, "waves");
	expect_4xx(d, "{\"image\":\"img-b\",\"waves\":[\"1x\",\"100%\"]}", 400, "waves");
	expect_4xx(d, "{\"image\":\"img-b\",\"waves\":[true]}", 400, "waves");
	expect_4xx(d, "{\"image\":\"img-b\",\"waves\":[\"100%\"],\"max_failures\":-1}", 400,
		   "max_failures");
	expect_4xx(d, "{\"image\":\"img-a\",\"waves\":[\"100%\"]}", 400, "image");
	expect_4xx(d, "{\"image\":\"img-b\",\"waves\":[\"100%\"],\"speed\":1}", 400, "speed");
	/* nothing was recorded */
	struct h_resp r = {0};
	assert_int_equal(status(d, &r), 404);
	assert_string_equal(h_err_field(&r), "rebuild");
	h_resp_clear(&r);
	assert_int_equal(h_db_int(d, "SELECT count(*) FROM rollouts"), 0);
	/* another owner's service sees no such allocation */
	char tok[H_TOKEN_LEN], path[128];
	assert_int_equal(h_token(d, "service", "someone-else", tok), 201);
	snprintf(path, sizeof path, "/v1/allocations/%s/rebuild", alloc_id);
	const char *body = "{\"image\":\"img-b\",\"waves\":[\"100%\"]}";
	assert_int_equal(h_request(d, tok, "POST", path, body, strlen(body), NULL, &r), 404);
	h_resp_clear(&r);
}

/* While the rollout runs: reads it, the allocation, and it again; when
 * the wave did not change between, every machine that is not active is
 * one of that wave's. Returns the rollout's state. */
static bool check_down_in_wave(struct h_daemon *d, int *max_down, char *state, size_t len)
{
	struct h_resp a = {0}, b = {0};
	assert_int_equal(status(d, &a), 200);
	json_t *al = get_alloc(d);
	assert_int_equal(status(d, &b), 200);
	long wave = json_integer_value(json_object_get(a.json, "wave"));
	bool same = wave == json_integer_value(json_object_get(b.json, "wave"));
	size_t i;
	json_t *m;
	int down = 0;
	json_array_foreach(json_object_get(al, "machines"), i, m)
	{
		if (strcmp(member_str(m, "state"), "active") == 0)
			continue;
		down++;
		if (same && wave_of(a.json, member_str(m, "id")) != wave)
			fail_msg("machine %s is %s in wave %ld but the rollout is in wave %d",
				 member_str(m, "name"), member_str(m, "state"),
				 (long)wave_of(a.json, member_str(m, "id")), (int)wave);
	}
	if (down > *max_down)
		*max_down = down;
	snprintf(state, len, "%s", h_str(&b, "state"));
	json_decref(al);
	h_resp_clear(&a);
	h_resp_clear(&b);
	return strcmp(state, "running") == 0;
}

/* "at" of machine id's newest event from -> to (RFC 3339, sortable). */
static void event_at(struct h_daemon *d, const char *id, const char *from, const char *to,
		     char out[40])
{
	char path[160];
	struct h_resp r = {0};
	snprintf(path, sizeof path, "/v1/machines/%s/events?limit=1000", id);
	assert_int_equal(h_call(d, d->admin, "GET", path, NULL, &r), 200);
	size_t i;
	json_t *e;
	out[0] = 0;
	json_array_foreach(json_object_get(r.json, "items"), i, e)
	{
		if (strcmp(member_str(e, "from"), from) == 0 &&
		    strcmp(member_str(e, "to"), to) == 0)
			snprintf(out, 40, "%s", member_str(e, "at"));
	}
	h_resp_clear(&r);
	if (!out[0])
		fail_msg("machine %s has no event %s -> %s", id, from, to);
}

/* Each wave's first machine left active after the previous wave's last
 * one was active again. */
static void check_wave_order(struct h_daemon *d, const json_t *ro)
{
	char prev_done[40] = "";
	size_t i, j;
	json_t *w, *m;
	json_array_foreach(json_object_get(ro, "waves"), i, w)
	{
		char first_start[40] = "~", last_done[40] = "";
		json_array_foreach(json_object_get(w, "machines"), j, m)
		{
			char start[40], done[40];
			event_at(d, member_str(m, "id"), "active", "deploying", start);
			event_at(d, member_str(m, "id"), "deploying", "active", done);
			if (strcmp(start, first_start) < 0)
				snprintf(first_start, sizeof first_start, "%s", start);
			if (strcmp(done, last_done) > 0)
				snprintf(last_done, sizeof last_done, "%s", done);
		}
		if (prev_done[0] && json_array_size(json_object_get(w, "machines")) &&
		    strcmp(first_start, prev_done) < 0)
			fail_msg("wave %zu started at %s, before the previous wave's last machine "
				 "was active (%s)",
				 i + 1, first_start, prev_done);
		if (last_done[0])
			snprintf(prev_done, sizeof prev_done, "%s", last_done);
	}
}

static int audit_count(struct h_daemon *d, const char *action)
{
	char path[256];
	struct h_resp r = {0};
	snprintf(path, sizeof path, "/v1/audit?action=%s&target=%s&limit=1000", action, alloc_id);
	assert_int_equal(h_call(d, d->admin, "GET", path, NULL, &r), 200);
	int n = (int)json_array_size(json_object_get(r.json, "items"));
	h_resp_clear(&r);
	return n;
}

/* Every attached machine runs image (and is active). */
static void expect_images(struct h_daemon *d, const char *image, int n)
{
	json_t *al = get_alloc(d);
	size_t i;
	json_t *m;
	assert_int_equal(json_array_size(json_object_get(al, "machines")), n);
	json_array_foreach(json_object_get(al, "machines"), i, m)
	{
		assert_string_equal(member_str(m, "state"), "active");
		assert_string_equal(member_str(m, "image"), image);
	}
	json_decref(al);
}

/* Waits until a machine of the allocation is not active. */
static void wait_down(struct h_daemon *d)
{
	for (int i = 0; i < 3000; i++) {
		json_t *al = get_alloc(d), *m;
		size_t k;
		bool down = false;
		json_array_foreach(json_object_get(al, "machines"), k, m)
		{
			down |= strcmp(member_str(m, "state"), "active") != 0;
		}
		json_decref(al);
		if (down)
			return;
		h_sleep_ms(10);
	}
	fail_msg("no machine left active");
}

static void test_full_rollout(void **state)
{
	struct h_daemon *d = *state;
	struct h_resp r = {0};
	rebuild_ok(d,
		   "{\"image\":\"img-b\",\"waves\":[\"1\",\"40%\",\"100%\"],"
		   "\"max_failures\":0}",
		   &r);
	assert_string_equal(h_str(&r, "state"), "running");
	assert_string_equal(h_str(&r, "old_image"), "img-a");
	h_resp_clear(&r);
	/* a second one while it runs, once its first machine is down: the
	 * running rollout is the conflict, not that machine */
	wait_down(d);
	expect_4xx(d, "{\"image\":\"img-c\",\"waves\":[\"100%\"]}", 409, "rebuild");
	int max_down = 0;
	char st[32] = "running";
	int64_t deadline = h_now_ms() + 90000;
	while (check_down_in_wave(d, &max_down, st, sizeof st) && h_now_ms() < deadline)
		h_sleep_ms(20);
	assert_string_equal(st, "completed");
	/* waves of 1, 1 and 3 machines: never more than 3 down, and some
	 * were seen down */
	assert_in_range(max_down, 1, 3);
	assert_int_equal(status(d, &r), 200);
	json_t *waves = json_object_get(r.json, "waves");
	assert_int_equal(json_array_size(waves), 3);
	static const int sizes[] = {1, 1, 3};
	for (int w = 0; w < 3; w++) {
		json_t *wj = json_array_get(waves, (size_t)w);
		assert_int_equal(json_array_size(json_object_get(wj, "machines")), sizes[w]);
		assert_int_equal(json_integer_value(json_object_get(wj, "done")), sizes[w]);
	}
	assert_int_equal(json_integer_value(json_object_get(r.json, "failures")), 0);
	check_wave_order(d, r.json);
	h_resp_clear(&r);
	json_t *al = get_alloc(d);
	assert_string_equal(member_str(al, "image"), "img-b");
	json_decref(al);
	expect_images(d, "img-b", NMACHINES);
	assert_int_equal(audit_count(d, "rollout.create"), 1);
	assert_int_equal(audit_count(d, "rollout.wave"), 3);
	assert_int_equal(audit_count(d, "rollout.machine"), NMACHINES);
	assert_int_equal(audit_count(d, "rollout.completed"), 1);
}

/* The machines of the allocation, id -> image, as it reports them. */
static json_t *images_by_machine(struct h_daemon *d)
{
	json_t *al = get_alloc(d), *out = json_object();
	size_t i;
	json_t *m;
	json_array_foreach(json_object_get(al, "machines"), i, m)
	{
		json_object_set_new(out, member_str(m, "id"), json_string(member_str(m, "image")));
	}
	json_decref(al);
	return out;
}

static void test_halt(void **state)
{
	struct h_daemon *d = *state;
	struct h_resp r = {0};
	int64_t deploys_before =
	    h_db_int(d, "SELECT count(*) FROM machine_events"
			" WHERE from_state = 'active' AND to_state = 'deploying'");
	rebuild_ok(d, "{\"image\":\"img-bad\",\"waves\":[\"1\",\"100%\"],\"max_failures\":0}", &r);
	h_resp_clear(&r);
	wait_rollout(d, "halted", 90, &r);
	assert_int_equal(json_integer_value(json_object_get(r.json, "failures")), 1);
	assert_non_null(strstr(h_str(&r, "reason"), "max_failures is 0"));
	json_t *w1 = json_array_get(json_object_get(r.json, "waves"), 0);
	json_t *w2 = json_array_get(json_object_get(r.json, "waves"), 1);
	json_t *failed = json_array_get(json_object_get(w1, "machines"), 0);
	assert_string_equal(member_str(failed, "state"), "failed");
	assert_non_null(strstr(member_str(failed, "error"), "fail_image"));
	size_t i;
	json_t *m;
	json_array_foreach(json_object_get(w2, "machines"), i, m)
	{
		assert_string_equal(member_str(m, "state"), "skipped");
	}
	/* the failed machine left for repair; the rest never moved */
	char fid[H_ID_LEN];
	snprintf(fid, sizeof fid, "%s", member_str(failed, "id"));
	h_resp_clear(&r);
	assert_true(h_wait_machine(d, fid, "failed", 30));
	assert_int_equal(h_db_int(d, "SELECT count(*) FROM machine_events"
				     " WHERE from_state = 'active' AND to_state = 'deploying'"),
			 deploys_before + 1);
	expect_images(d, "img-b", NMACHINES - 1);
	json_t *al = get_alloc(d);
	assert_string_equal(member_str(al, "image"), "img-b");
	assert_string_equal(member_str(al, "state"), "ready");
	json_decref(al);
	assert_int_equal(audit_count(d, "rollout.halting"), 1);
	assert_int_equal(audit_count(d, "rollout.halted"), 1);
}

/* Waits until the running rollout's wave is at least wave. */
static void wait_wave(struct h_daemon *d, int wave)
{
	struct h_resp r = {0};
	for (int i = 0; i < 3000; i++) {
		assert_int_equal(status(d, &r), 200);
		long w = (long)json_integer_value(json_object_get(r.json, "wave"));
		h_resp_clear(&r);
		if (w >= wave)
			return;
		h_sleep_ms(10);
	}
	fail_msg("wave %d never started", wave);
}

static void test_cancel(void **state)
{
	struct h_daemon *d = *state;
	struct h_resp r = {0};
	char path[160];
	rebuild_ok(d,
		   "{\"image\":\"img-c\",\"waves\":[\"1\",\"2\",\"3\",\"100%\"],"
		   "\"max_failures\":0}",
		   &r);
	h_resp_clear(&r);
	/* cancel once the first wave is being reimaged (after at most 4 s
	 * of waiting it cancelled anyway, and then found nothing reimaged) */
	wait_wave(d, 1);
	snprintf(path, sizeof path, "/v1/allocations/%s/rebuild/cancel", alloc_id);
	if (h_call(d, d->admin, "POST", path, NULL, &r) != 202)
		fail_msg("cancel: %ld %s", r.status, r.body);
	assert_string_equal(h_str(&r, "state"), "cancelling");
	long wave = (long)json_integer_value(json_object_get(r.json, "wave"));
	h_resp_clear(&r);
	/* a second cancel: nothing runs any more */
	assert_int_equal(h_call(d, d->admin, "POST", path, NULL, &r), 409);
	assert_string_equal(h_err_field(&r), "rebuild");
	h_resp_clear(&r);
	wait_rollout(d, "cancelled", 60, &r);
	json_t *images = images_by_machine(d);
	size_t i, j;
	json_t *w, *m;
	int reimaged = 0;
	json_array_foreach(json_object_get(r.json, "waves"), i, w)
	{
		json_array_foreach(json_object_get(w, "machines"), j, m)
		{
			const char *img =
			    json_string_value(json_object_get(images, member_str(m, "id")));
			bool in_started = (long)i + 1 <= wave;
			/* started waves finish on the new image, later ones are skipped */
			assert_string_equal(member_str(m, "state"),
					    in_started ? "done" : "skipped");
			assert_string_equal(img, in_started ? "img-c" : "img-b");
			reimaged += in_started;
		}
	}
	assert_in_range(reimaged, 1, NMACHINES - 2);
	json_decref(images);
	h_resp_clear(&r);
	expect_4xx(d, "{\"image\":\"img-b\",\"waves\":[\"0\"]}", 400, "waves");
	json_t *al = get_alloc(d);
	assert_string_equal(member_str(al, "image"), "img-b");
	json_decref(al);
	assert_int_equal(audit_count(d, "rollout.cancelling"), 1);
	assert_int_equal(audit_count(d, "rollout.cancelled"), 1);
}

static void test_kill9_resumes(void **state)
{
	struct h_daemon *d = *state;
	struct h_resp r = {0};
	rebuild_ok(d,
		   "{\"image\":\"img-d\",\"waves\":[\"1\",\"50%\",\"100%\"],"
		   "\"max_failures\":0}",
		   &r);
	h_resp_clear(&r);
	wait_wave(d, 1);
	h_kill9(d);
	assert_int_equal(h_restart(d), 0);
	wait_wave(d, 2);
	h_sleep_ms(100); /* in the middle of the wave's deploys */
	h_kill9(d);
	assert_int_equal(h_restart(d), 0);
	wait_rollout(d, "completed", 90, &r);
	assert_int_equal(json_integer_value(json_object_get(r.json, "failures")), 0);
	h_resp_clear(&r);
	expect_images(d, "img-d", NMACHINES - 1);
	json_t *al = get_alloc(d);
	assert_string_equal(member_str(al, "image"), "img-d");
	json_decref(al);
	assert_int_equal(h_db_int(d, "SELECT count(*) FROM allocation_machines"
				     " WHERE image != '' AND detached = 0"),
			 0);
}

/* provisionctl allocation rebuild / rebuild-status / rebuild-cancel. */
static void test_cli(void **state)
{
	struct h_daemon *d = *state;
	char *out = NULL, *err = NULL;
	const char *missing[] = {"allocation", "rebuild", alloc_id, "--image", "img-a", NULL};
	assert_int_equal(h_ctl(d, d->admin, NULL, NULL, missing), 2);
	const char *bad[] = {"allocation", "rebuild", alloc_id, "--image",
			     "img-a",	   "--waves", "50%,1",	NULL};
	assert_int_equal(h_ctl(d, d->admin, NULL, &err, bad), 1);
	assert_non_null(strstr(err, "waves"));
	free(err);
	const char *run[] = {"allocation", "rebuild", alloc_id, "--image",
			     "img-a",	   "--waves", "2,100%", "--max-failures",
			     "0",	   "--wait",  "120",	NULL};
	int rc = h_ctl(d, d->admin, &out, &err, run);
	if (rc != 0)
		fail_msg("provisionctl rebuild: %d\n%s\n%s", rc, out, err);
	assert_non_null(strstr(out, "completed"));
	assert_non_null(strstr(out, "FAILURES"));
	free(out);
	free(err);
	const char *show[] = {"allocation", "rebuild-status", alloc_id, "-o", "json", NULL};
	assert_int_equal(h_ctl(d, d->admin, &out, NULL, show), 0);
	json_t *j = json_loads(out, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "image")), "img-a");
	assert_int_equal(json_array_size(json_object_get(j, "waves")), 2);
	json_decref(j);
	free(out);
	const char *cancel[] = {"allocation", "rebuild-cancel", alloc_id, NULL};
	assert_int_equal(h_ctl(d, d->admin, NULL, &err, cancel), 1); /* nothing runs */
	assert_non_null(strstr(err, "completed"));
	free(err);
	expect_images(d, "img-a", NMACHINES - 1);
}

/* ------------------------------------------- a wave that never completes */

static struct h_daemon slow_;

/* deploy_timeout_s = 3: a first deploy (300 ms of agent work) fits. */
static int setup_slow(void **state)
{
	struct h_daemon *d = &slow_;
	*state = d;
	if (h_start(d, "deploy_timeout_s = 3\n") != 0)
		return -1;
	for (int i = 0; i < 2; i++)
		if (enroll(d, i) != 201)
			return -1;
	if (h_image(d, "img-a") != 201 || h_image(d, "img-b") != 201 ||
	    !h_wait_count(d, "available", "lab.small", 2, 60))
		return -1;
	if (h_allocate(d, d->admin, "lab.small", 2, 0, "img-a", NULL, alloc_id, NULL) != 202)
		return -1;
	return h_wait_alloc(d, NULL, alloc_id, "ready", 60, NULL) ? 0 : -1;
}

/* The machines' agents now take 20 s to write an image: longer than the
 * deploy timeout. The first wave's machine misses its deadline, fails and
 * counts as the rollout's failure: it halts. */
static void test_wave_deadline(void **state)
{
	struct h_daemon *d = *state;
	json_t *al = get_alloc(d);
	size_t i;
	json_t *m;
	json_array_foreach(json_object_get(al, "machines"), i, m)
	{
		char path[128];
		snprintf(path, sizeof path, "/v1/machines/%s", member_str(m, "id"));
		json_t *b = json_pack("{s:{s:s, s:{s:s, s:i}}}", "bmc", "driver", "fake", "options",
				      "sku", "lab.small", "agent_ms", 20000);
		assert_int_equal(h_call(d, d->admin, "PATCH", path, b, NULL), 200);
	}
	json_decref(al);
	struct h_resp r = {0};
	int64_t t0 = h_now_ms();
	rebuild_ok(d, "{\"image\":\"img-b\",\"waves\":[\"1\",\"100%\"]}", &r);
	h_resp_clear(&r);
	wait_rollout(d, "halted", 60, &r);
	assert_true(h_now_ms() - t0 >= 3000); /* not before the deadline */
	json_t *w1 = json_array_get(json_object_get(r.json, "waves"), 0);
	json_t *failed = json_array_get(json_object_get(w1, "machines"), 0);
	assert_string_equal(member_str(failed, "state"), "failed");
	if (!strstr(member_str(failed, "error"), "deadline"))
		fail_msg("error: %s", member_str(failed, "error"));
	assert_int_equal(json_integer_value(json_object_get(r.json, "failures")), 1);
	h_resp_clear(&r);
	expect_images(d, "img-a", 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_validation),	  cmocka_unit_test(test_full_rollout),
	    cmocka_unit_test(test_halt),	  cmocka_unit_test(test_cancel),
	    cmocka_unit_test(test_kill9_resumes), cmocka_unit_test(test_cli),
	};
	const struct CMUnitTest slow[] = {
	    cmocka_unit_test(test_wave_deadline),
	};
	int failed = cmocka_run_group_tests(tests, setup, h_teardown);
	return failed + cmocka_run_group_tests(slow, setup_slow, h_teardown);
}
