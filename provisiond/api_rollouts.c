/* api_rollouts.c - /v1/allocations/{id}/rebuild: staged image rollouts
 * (docs/allocations.md, "Staged rollouts"). The handlers validate and
 * record; the lifecycle engine (provisiond/lifecycle/rollout.c) drives the
 * waves. */
#include "provisiond/routes.h"
#include "provisiond/lifecycle/lifecycle.h"

#include <stdio.h>
#include <string.h>

/* The largest max_failures taken: more than any allocation has machines. */
#define MAX_FAILURES_MAX 100000

static const struct field rebuild_fields[] = {
    API_NAME_FIELD("image", true, "must be an image name"),
    {.name = "waves", .kind = F_ARR, .required = true},
    {.name = "max_failures", .kind = F_INT, .min = 0, .max = MAX_FAILURES_MAX},
};
const struct api_schema rebuild_schema = {rebuild_fields, ARRAY_SIZE(rebuild_fields)};

/* "waves": strings ("1", "10%") or integers (counts), copied into specs;
 * false with a 400 naming the field. The arithmetic (inv_rollout_waves)
 * checks the rest against the allocation's machines. */
static bool parse_waves(struct http_req *r, json_t *arr, char (*buf)[16], const char **specs,
			int *n)
{
	size_t i;
	json_t *v;
	*n = 0;
	if (json_array_size(arr) == 0 || json_array_size(arr) > INV_ROLLOUT_MAX_WAVES) {
		http_error(r, 400, "invalid_value", "waves", "waves must list 1 to %d waves",
			   INV_ROLLOUT_MAX_WAVES);
		return false;
	}
	json_array_foreach(arr, i, v)
	{
		if (json_is_integer(v) && json_integer_value(v) > 0 &&
		    json_integer_value(v) <= INV_MAX_ALLOC)
			snprintf(buf[i], sizeof buf[i], "%lld", (long long)json_integer_value(v));
		else if (json_is_string(v) && json_string_length(v) > 0 &&
			 json_string_length(v) < 8)
			snprintf(buf[i], sizeof buf[i], "%s", json_string_value(v));
		else {
			http_error(r, 400, "invalid_value", "waves",
				   "waves[%zu] must be a count (\"2\") or a percentage (\"10%%\")",
				   i);
			return false;
		}
		specs[(*n)++] = buf[i];
	}
	return true;
}

/* The image exists and is ready; false with the response set. */
static bool image_usable(struct http_req *r, struct app *a, const char *name)
{
	struct inv_image img;
	struct inv_err e = {0};
	enum inv_status st = inv_image_get(a->inv, name, &img, &e);
	if (st == INV_NOT_FOUND) {
		http_error(r, 400, "invalid_value", "image", "unknown image '%s' (GET /v1/images)",
			   name);
		return false;
	}
	if (st != INV_OK) {
		api_fail_inv(r, "image get", &e);
		return false;
	}
	if (img.state != INV_IMG_READY) {
		http_error(r, 409, "invalid_state", "image", "image '%s' is %s", name,
			   inv_image_state_name(img.state));
		return false;
	}
	return true;
}

static json_t *rollout_machine_json(const struct inv_rollout_machine *m)
{
	json_t *o = json_pack("{s:s, s:s, s:s}", "id", m->id, "name", m->name, "state",
			      inv_rollout_mstate_name(m->state));
	if (m->message[0])
		json_object_set_new(o, "error", json_string(m->message));
	return o;
}

/* Per wave: its size asked, its machines and how they are doing. */
static json_t *waves_json(const struct inv_rollout *ro)
{
	json_t *waves = json_array();
	for (int w = 0; w < ro->nwaves; w++) {
		json_t *ms = json_array();
		int counts[INV_RM__COUNT] = {0};
		for (size_t i = 0; i < ro->nmachines; i++)
			if (ro->machines[i].wave == w) {
				counts[ro->machines[i].state]++;
				json_array_append_new(ms, rollout_machine_json(&ro->machines[i]));
			}
		const char *st = w > ro->wave ? "pending" : w < ro->wave ? "done" : "current";
		if (w == ro->wave && !inv_rollout_open(ro->state))
			st = "done";
		json_array_append_new(waves, json_pack("{s:i, s:s, s:s, s:i, s:i, s:i, s:o}",
						       "wave", w + 1, "size", ro->waves[w], "state",
						       st, "reimaging", counts[INV_RM_REIMAGING],
						       "done", counts[INV_RM_DONE], "failures",
						       counts[INV_RM_FAILED], "machines", ms));
	}
	return waves;
}

json_t *api_rollout_json(const struct inv_rollout *ro)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:i, s:i, s:i, s:s}", "id", ro->id,
			      "allocation_id", ro->allocation_id, "image", ro->image, "old_image",
			      ro->old_image, "state", inv_rollout_state_name(ro->state), "wave",
			      ro->wave + 1, "waves_total", ro->nwaves, "max_failures",
			      ro->max_failures, "failures", ro->failures, "actor", ro->actor);
	json_object_set_new(o, "reason", ro->reason[0] ? json_string(ro->reason) : json_null());
	json_object_set_new(o, "waves", waves_json(ro));
	json_object_set_new(o, "created_at", api_time(ro->created_at));
	json_object_set_new(o, "updated_at", api_time(ro->updated_at));
	json_object_set_new(o, "finished_at", api_time(ro->finished_at));
	return o;
}

void api_alloc_rebuild(struct api_call *c)
{
	struct http_req *r = c->r;
	struct inv_allocation al = {0};
	char buf[INV_ROLLOUT_MAX_WAVES][16];
	const char *specs[INV_ROLLOUT_MAX_WAVES];
	int n = 0;
	const char *image = json_string_value(json_object_get(c->body, "image"));
	json_t *mf = json_object_get(c->body, "max_failures");
	if (!parse_waves(r, json_object_get(c->body, "waves"), buf, specs, &n) ||
	    !image_usable(r, c->a, image) || !api_alloc_load(c, &al))
		return;
	struct inv_rollout_new q = {.allocation_id = al.id,
				    .image = image,
				    .waves = specs,
				    .nwaves = n,
				    .max_failures = mf ? (int)json_integer_value(mf) : 0,
				    .actor = c->p->actor,
				    .request_id = r->request_id};
	struct inv_rollout ro = {0};
	struct inv_err e = {0};
	if (inv_rollout_create(c->a->inv, &q, &ro, &e) == INV_OK) {
		lc_kick(c->a->lc);
		api_json(r, 202, api_rollout_json(&ro));
	} else {
		api_fail_inv(r, "rollout create", &e);
	}
	inv_rollout_clear(&ro);
	inv_allocation_clear(&al);
}

void api_alloc_rebuild_get(struct api_call *c)
{
	struct inv_allocation al = {0};
	if (!api_alloc_load(c, &al))
		return;
	struct inv_rollout ro = {0};
	struct inv_err e = {0};
	if (inv_rollout_latest(c->a->inv, al.id, &ro, &e) == INV_OK)
		api_json(c->r, 200, api_rollout_json(&ro));
	else if (e.status == INV_NOT_FOUND)
		http_error(c->r, 404, "not_found", "rebuild", "allocation %s was never rebuilt",
			   al.id);
	else
		api_fail_inv(c->r, "rollout get", &e);
	inv_rollout_clear(&ro);
	inv_allocation_clear(&al);
}

void api_alloc_rebuild_cancel(struct api_call *c)
{
	struct inv_allocation al = {0};
	if (!api_alloc_load(c, &al))
		return;
	struct inv_rollout ro = {0};
	struct inv_err e = {0};
	enum inv_status st = inv_rollout_latest(c->a->inv, al.id, &ro, &e);
	if (st == INV_OK && ro.state != INV_RO_RUNNING) {
		http_error(c->r, 409, "invalid_state", "rebuild", "the rollout of %s is %s", al.id,
			   inv_rollout_state_name(ro.state));
		goto out;
	}
	char reason[192];
	snprintf(reason, sizeof reason, "cancelled by %s", c->p->actor);
	if (st == INV_OK)
		st = inv_rollout_finish(c->a->inv, &ro, INV_RO_CANCELLING, reason, c->p->actor,
					c->r->request_id, &e);
	char id[INV_ID_LEN];
	snprintf(id, sizeof id, "%s", ro.id); /* the read clears ro first */
	if (st == INV_OK)
		st = inv_rollout_get(c->a->inv, id, &ro, &e);
	if (st == INV_OK) {
		lc_kick(c->a->lc);
		api_json(c->r, 202, api_rollout_json(&ro));
	} else if (st == INV_NOT_FOUND) {
		http_error(c->r, 404, "not_found", "rebuild", "allocation %s was never rebuilt",
			   al.id);
	} else {
		api_fail_inv(c->r, "rollout cancel", &e);
	}
out:
	inv_rollout_clear(&ro);
	inv_allocation_clear(&al);
}
