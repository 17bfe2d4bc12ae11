/* deploy_fake.c - a simulated deploy agent: reports facts matching the SKU
 * named in the fake BMC options, and "cleans" and "writes" with a delay and
 * a failure probability (options agent_ms + agent_jitter_ms, else delay_ms;
 * fail_rate; fail_image: an image whose write always fails on this machine,
 * to fail one machine of a staged rollout). The delay is a timer, not a sleep: the machine waits in
 * phase "agent" holding no thread, as it would for a real agent. */
#include "provisiond/lifecycle/deploy.h"

#include "skus/sku.h"
#include "util/util.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct fake_opts {
	char sku[64];
	long agent_ms, jitter_ms, warm_ms;
	double fail_rate;
	char fail_image[64];
};

static long opt_ms(const json_t *j, const char *key, long dflt)
{
	json_t *v = json_object_get(j, key);
	return json_is_integer(v) ? (long)json_integer_value(v) : dflt;
}

static void parse_opts(const struct inv_bmc *b, struct fake_opts *o)
{
	memset(o, 0, sizeof *o);
	json_t *j = json_loads(b && b->options_json ? b->options_json : "{}", 0, NULL);
	const char *sku = json_string_value(json_object_get(j, "sku"));
	snprintf(o->sku, sizeof o->sku, "%s", sku ? sku : "");
	o->agent_ms = opt_ms(j, "agent_ms", opt_ms(j, "delay_ms", 0));
	o->jitter_ms = opt_ms(j, "agent_jitter_ms", 0);
	o->warm_ms = opt_ms(j, "warm_ms", o->agent_ms);
	json_t *f = json_object_get(j, "fail_rate");
	o->fail_rate = json_is_number(f) ? json_number_value(f) : 0;
	const char *fi = json_string_value(json_object_get(j, "fail_image"));
	snprintf(o->fail_image, sizeof o->fail_image, "%s", fi ? fi : "");
	json_decref(j);
}

static unsigned *rng(void)
{
	static __thread unsigned seed;
	if (!seed)
		seed = (unsigned)time(NULL) ^ (unsigned)(uintptr_t)&seed;
	return &seed;
}

/* The same answer for every run of one attempt (a step replayed after a BMC
 * operation, calls.h, must not roll again), a fresh one for the next. */
static bool roll_failure(const struct inv_machine *m, double rate)
{
	char attempt[64];
	snprintf(attempt, sizeof attempt, "%s/%lld/%d", inv_state_name(m->state),
		 (long long)m->state_since, m->attempts);
	unsigned long long h = util_fnv(util_fnv(UTIL_FNV_BASIS, m->id), attempt);
	return rate > 0 && (double)(h >> 11) / (double)(1ull << 53) < rate;
}

/* Phase "": boot the agent and let it work for agent_ms (+ jitter); phase
 * "agent": it finished (or failed, at fail_rate). */
static enum dep_result fake_step(struct deploy_ctx *c, const char *what, struct fake_opts *o)
{
	if (strcmp(c->m->phase, "agent") != 0) {
		if (!c->boot_agent(c->step))
			return DEP_ABORT;
		long ms = o->agent_ms + (o->jitter_ms > 0 ? rand_r(rng()) % (o->jitter_ms + 1) : 0);
		if (ms > 0) {
			c->phase_out = "agent";
			c->wake_in_ms = ms;
			return DEP_PENDING;
		}
	}
	if (roll_failure(c->m, o->fail_rate)) {
		snprintf(c->err, sizeof c->err, "fake agent: simulated %s failure (fail_rate %.2f)",
			 what, o->fail_rate);
		return DEP_ERROR;
	}
	return DEP_DONE;
}

static enum dep_result fake_inspect(struct deploy_ctx *c)
{
	struct fake_opts o;
	parse_opts(c->bmc, &o);
	enum dep_result r = fake_step(c, "inspection", &o);
	if (r != DEP_DONE)
		return r;
	pthread_rwlock_rdlock(c->lc->catalog_lock);
	const struct sku *s = sku_catalog_find(*c->lc->catalog, o.sku);
	c->facts_json = s ? sku_example_facts_json(s, c->m->nmacs ? c->m->macs[0] : NULL) : NULL;
	pthread_rwlock_unlock(c->lc->catalog_lock);
	if (!c->facts_json) {
		snprintf(c->err, sizeof c->err, "fake agent: SKU '%s' is not in the catalog",
			 o.sku);
		return DEP_ERROR;
	}
	return DEP_DONE;
}

static enum dep_result fake_clean(struct deploy_ctx *c)
{
	struct fake_opts o;
	parse_opts(c->bmc, &o);
	return fake_step(c, "cleaning", &o);
}

/* Whether the machine runs an image of its own in the allocation: a staged
 * rollout reimages it, so "on" means its OS runs, not a warm agent. */
static bool reimaged(const struct deploy_ctx *c, const struct inv_allocation *al)
{
	for (size_t i = 0; al && i < al->nmachines; i++)
		if (strcmp(al->machines[i].id, c->m->id) == 0)
			return al->machines[i].image[0] != 0;
	return false;
}

/* A first deploy attempt on a machine powered on in the agent (a warm
 * pool's) writes at once: no boot. A machine a staged rollout reimages is
 * on too, running its OS: it boots the agent first. */
static enum dep_result fake_write_run(struct deploy_ctx *c, struct fake_opts *o,
				      const struct inv_allocation *al)
{
	if (!c->m->phase[0] && c->m->attempts == 0 && strcmp(c->m->power, "on") == 0 &&
	    !reimaged(c, al)) {
		if (o->agent_ms <= 0)
			return DEP_DONE;
		c->phase_out = "agent";
		c->wake_in_ms = o->agent_ms;
		return DEP_PENDING;
	}
	return fake_step(c, "image write", o);
}

static enum dep_result fake_write(struct deploy_ctx *c, const struct inv_image *img,
				  const struct inv_allocation *al)
{
	struct fake_opts o;
	parse_opts(c->bmc, &o);
	enum dep_result r = fake_write_run(c, &o, al);
	if (r == DEP_DONE && o.fail_image[0] && strcmp(o.fail_image, img->name) == 0) {
		snprintf(c->err, sizeof c->err,
			 "fake agent: simulated failure writing image %s (fail_image)", img->name);
		return DEP_ERROR;
	}
	return r;
}

/* Warming: boot "the agent", which is up warm_ms (default agent_ms) later;
 * once the machine is on (pending() recorded it), it is warm. */
static enum dep_result fake_warm(struct deploy_ctx *c)
{
	if (strcmp(c->m->power, "on") == 0)
		return DEP_DONE;
	struct fake_opts o;
	parse_opts(c->bmc, &o);
	if (!c->boot_agent(c->step))
		return DEP_ABORT;
	c->phase_out = INV_PHASE_WARMING;
	c->wake_in_ms = o.warm_ms > 0 ? o.warm_ms : 1;
	return DEP_PENDING;
}

static enum dep_result fake_booted(struct deploy_ctx *c)
{
	(void)c;
	return DEP_DONE; /* the simulated OS is up as soon as it is powered on */
}

const struct deploy_driver deploy_fake = {
    .name = "fake",
    .inspect = fake_inspect,
    .clean = fake_clean,
    .write_image = fake_write,
    .wait_booted = fake_booted,
    .warm = fake_warm,
};
