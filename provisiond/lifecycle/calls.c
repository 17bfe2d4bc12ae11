/* calls.c - the lifecycle's BMC operations on a pool (calls.h). */
#include "provisiond/lifecycle/calls.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"

/* How long a worker waits for an operation before it gives the machine up:
 * a fake or a nearby BMC answers within it, so its steps need no replay. */
#define INLINE_WAIT_MS 5
#define MEMO_MAX 12 /* operations one step run may ask (boot_agent asks 3) */
#define MEMO_BUCKETS 1024

enum waiter { NONE, INLINE, DETACHED };

/* What one machine's step was answered so far. */
struct memo {
	struct memo *next;
	char id[INV_ID_LEN];
	char key[INV_ID_LEN + 64];
	int n;
	struct lc_call calls[MEMO_MAX];
	struct lc_call_result res[MEMO_MAX];
	enum waiter pending;	   /* an operation is on the pool, and who waits for it */
	int64_t began, wakes_seen; /* the first run's (struct lc_run) */
};

struct job {
	struct job *next;
	char id[INV_ID_LEN];
	struct lc_call call;
	struct bmc_target_copy t;
};

struct lc_calls {
	struct bmc_manager *bmc;
	void (*done)(void *ctx, const char *id);
	void *ctx;
	pthread_mutex_t mu;
	pthread_cond_t work_cv, done_cv;
	struct job *head, *tail;
	long queued, running;
	unsigned long yields;
	bool stopping;
	int nthreads;
	pthread_t *threads;
	struct memo *buckets[MEMO_BUCKETS];
};

static struct memo **slot(struct lc_calls *c, const char *id)
{
	struct memo **p = &c->buckets[util_fnv(UTIL_FNV_BASIS, id) % MEMO_BUCKETS];

	while (*p != NULL && strcmp((*p)->id, id) != 0)
		p = &(*p)->next;
	return p;
}

static void forget(struct lc_calls *c, const char *id)
{
	struct memo **p = slot(c, id), *m = *p;

	if (m != NULL && m->pending == NONE) {
		*p = m->next;
		free(m);
	}
}

static struct lc_call_result run_op(struct bmc_manager *b, const struct bmc_target *t,
				    const struct lc_call *call)
{
	struct lc_call_result r = {.power = BMC_POWER_UNKNOWN};

	switch (call->kind) {
	case LC_CALL_POWER_GET:
		r.st = bmc_power_get(b, t, &r.power, &r.err);
		break;
	case LC_CALL_POWER_SET:
		r.st = bmc_power_set(b, t, (enum bmc_power_action)call->arg, &r.err);
		break;
	case LC_CALL_BOOT_SET:
		r.st =
		    bmc_boot_set(b, t, (enum bmc_boot_device)call->arg, call->persistent, &r.err);
		break;
	}
	return r;
}

static void job_free(struct job *j)
{
	bmc_target_copy_free(&j->t);
	free(j);
}

static struct job *job_new(const char *id, const struct bmc_target *t, const struct lc_call *call)
{
	struct job *j = calloc(1, sizeof *j);

	if (j == NULL)
		return NULL;
	if (bmc_target_copy(&j->t, t) != 0) {
		free(j);
		return NULL;
	}
	snprintf(j->id, sizeof j->id, "%s", id);
	j->call = *call;
	return j;
}

/* A pool thread's answer: kept for the step, and the machine queued again
 * when its worker is gone. */
static void answered(struct lc_calls *c, struct job *j, const struct lc_call_result *r)
{
	bool requeue = false;

	pthread_mutex_lock(&c->mu);
	c->running--;
	struct memo *m = *slot(c, j->id);
	if (m != NULL && m->pending != NONE) {
		m->calls[m->n] = j->call;
		m->res[m->n++] = *r;
		requeue = m->pending == DETACHED;
		m->pending = NONE;
	}
	pthread_cond_broadcast(&c->done_cv);
	pthread_mutex_unlock(&c->mu);
	if (requeue)
		c->done(c->ctx, j->id);
}

static void *pool_main(void *arg)
{
	struct lc_calls *c = arg;

	pthread_mutex_lock(&c->mu);
	for (;;) {
		while (c->head == NULL && !c->stopping)
			pthread_cond_wait(&c->work_cv, &c->mu);
		if (c->stopping)
			break;
		struct job *j = c->head;
		c->head = j->next;
		if (c->head == NULL)
			c->tail = NULL;
		c->queued--;
		c->running++;
		pthread_mutex_unlock(&c->mu);
		struct lc_call_result r = run_op(c->bmc, &j->t.t, &j->call);
		answered(c, j, &r);
		job_free(j);
		pthread_mutex_lock(&c->mu);
	}
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

struct lc_calls *lc_calls_new(struct bmc_manager *bmc, int nthreads,
			      void (*done)(void *ctx, const char *id), void *ctx)
{
	struct lc_calls *c = calloc(1, sizeof *c);

	if (c == NULL || nthreads < 1 ||
	    (c->threads = calloc((size_t)nthreads, sizeof *c->threads)) == NULL) {
		free(c);
		return NULL;
	}
	c->bmc = bmc, c->done = done, c->ctx = ctx;
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->work_cv, NULL);
	util_cond_init(&c->done_cv); /* timed on util's clock */
	for (; c->nthreads < nthreads; c->nthreads++)
		if (pthread_create(&c->threads[c->nthreads], NULL, pool_main, c) != 0)
			break;
	if (c->nthreads == 0) {
		lc_calls_free(c);
		return NULL;
	}
	return c;
}

void lc_calls_free(struct lc_calls *c)
{
	if (c == NULL)
		return;
	pthread_mutex_lock(&c->mu);
	c->stopping = true;
	pthread_cond_broadcast(&c->work_cv);
	pthread_mutex_unlock(&c->mu);
	for (int i = 0; i < c->nthreads; i++)
		pthread_join(c->threads[i], NULL);
	while (c->head != NULL) {
		struct job *j = c->head;
		c->head = j->next;
		job_free(j);
	}
	for (size_t b = 0; b < MEMO_BUCKETS; b++)
		while (c->buckets[b] != NULL) {
			struct memo *m = c->buckets[b];
			c->buckets[b] = m->next;
			free(m);
		}
	pthread_mutex_destroy(&c->mu);
	pthread_cond_destroy(&c->work_cv);
	pthread_cond_destroy(&c->done_cv);
	free(c->threads);
	free(c);
}

void lc_run_begin(struct lc_calls *calls, struct bmc_manager *bmc, struct lc_run *r,
		  const struct inv_machine *m, int64_t now)
{
	*r = (struct lc_run){.calls = calls, .bmc = bmc, .began = now, .wakes_seen = m->wakes};
	snprintf(r->id, sizeof r->id, "%s", m->id);
	snprintf(r->key, sizeof r->key, "%s|%s|%s", inv_state_name(m->state), m->phase,
		 m->allocation_id);
	if (calls == NULL)
		return;
	pthread_mutex_lock(&calls->mu);
	struct memo *mm = *slot(calls, r->id);
	if (mm != NULL && mm->pending != NONE) {
		mm->pending = DETACHED; /* the answer queues the machine again */
		r->yielded = true;
	} else if (mm != NULL && strcmp(mm->key, r->key) != 0) {
		forget(calls, r->id); /* kept for other work */
	} else if (mm != NULL) {      /* a replay: the step began with the first run */
		r->began = mm->began;
		r->wakes_seen = mm->wakes_seen;
	}
	pthread_mutex_unlock(&calls->mu);
}

void lc_run_end(struct lc_run *r)
{
	if (r->calls == NULL || r->yielded)
		return;
	pthread_mutex_lock(&r->calls->mu);
	forget(r->calls, r->id);
	pthread_mutex_unlock(&r->calls->mu);
}

void lc_calls_forget(struct lc_calls *c, const char *id)
{
	if (c == NULL)
		return;
	pthread_mutex_lock(&c->mu);
	forget(c, id);
	pthread_mutex_unlock(&c->mu);
}

bool lc_run_replaying(const struct lc_run *r)
{
	bool replaying = false;

	if (r->calls == NULL)
		return false;
	pthread_mutex_lock(&r->calls->mu);
	struct memo *m = *slot(r->calls, r->id);
	replaying = m != NULL && r->n < m->n;
	pthread_mutex_unlock(&r->calls->mu);
	return replaying;
}

static bool same_call(const struct lc_call *a, const struct lc_call *b)
{
	return a->kind == b->kind && a->arg == b->arg && a->persistent == b->persistent;
}

/* The memo of r's machine, made if needed; NULL when full or out of memory.
 * Caller holds c->mu. */
static struct memo *memo_for(struct lc_calls *c, const struct lc_run *r)
{
	struct memo **p = slot(c, r->id);

	if (*p == NULL && (*p = calloc(1, sizeof **p)) != NULL) {
		snprintf((*p)->id, sizeof(*p)->id, "%s", r->id);
		snprintf((*p)->key, sizeof(*p)->key, "%s", r->key);
		(*p)->began = r->began;
		(*p)->wakes_seen = r->wakes_seen;
	}
	return *p != NULL && (*p)->n < MEMO_MAX ? *p : NULL;
}

/* Puts call on the pool and waits for it a little. Caller holds c->mu. */
static bool submit(struct lc_calls *c, struct lc_run *r, struct memo *m, const struct bmc_target *t,
		   const struct lc_call *call, struct lc_call_result *out)
{
	struct job *j = job_new(r->id, t, call);
	int i = m->n;

	if (j == NULL)
		return false;
	if (c->tail != NULL)
		c->tail->next = j;
	else
		c->head = j;
	c->tail = j;
	c->queued++;
	m->pending = INLINE;
	pthread_cond_signal(&c->work_cv);
	int64_t until = util_now_ms() + INLINE_WAIT_MS;
	while (m->pending != NONE && !c->stopping)
		if (util_cond_wait_until_ms(&c->done_cv, &c->mu, until) != 0)
			break;
	r->n++;
	if (m->pending == NONE) {
		*out = m->res[i];
		return true;
	}
	m->pending = DETACHED;
	c->yields++;
	r->yielded = true;
	return true;
}

bool lc_call(struct lc_run *r, const struct bmc_target *t, const struct lc_call *call,
	     struct lc_call_result *out)
{
	struct lc_calls *c = r->calls;
	bool queued = false;

	if (r->yielded)
		return false;
	if (c != NULL && !r->sync) {
		pthread_mutex_lock(&c->mu);
		struct memo *m = *slot(c, r->id);
		if (m != NULL && r->n < m->n && same_call(&m->calls[r->n], call)) {
			*out = m->res[r->n++];
			pthread_mutex_unlock(&c->mu);
			return true;
		}
		if (m != NULL && r->n < m->n)
			m->n = r->n; /* the step went another way: what followed is stale */
		m = memo_for(c, r);
		queued = m != NULL && submit(c, r, m, t, call, out);
		pthread_mutex_unlock(&c->mu);
		if (queued)
			return !r->yielded;
		r->sync = true; /* no room to remember: this run waits on its worker */
	}
	*out = run_op(r->bmc, t, call);
	return true;
}

void lc_calls_counts(struct lc_calls *c, long *queued, long *running, unsigned long *yields)
{
	*queued = *running = 0;
	*yields = 0;
	if (c == NULL)
		return;
	pthread_mutex_lock(&c->mu);
	*queued = c->queued, *running = c->running, *yields = c->yields;
	pthread_mutex_unlock(&c->mu);
}
