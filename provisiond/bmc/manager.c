/* manager.c - the manager: limits, per-BMC entries with their breakers, and the
 * global cap on driver calls. See manager.h for the locking rules. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "provisiond/bmc/manager.h"

void bmc_limits_default(struct bmc_limits *l)
{
	l->call_timeout_ms = 5000;
	l->max_concurrent = 32;
	l->retries = 2;
	l->breaker_threshold = 3;
	l->breaker_cooldown_ms = 30000;
	l->confirm_timeout_ms = 30000;
	l->confirm_poll_ms = 1000;
	l->queue_timeout_ms = 60000;
	l->retry_base_ms = 200;
	l->retry_max_ms = 5000;
}

static bool limits_valid(const struct bmc_limits *l)
{
	return l->call_timeout_ms > 0 && l->max_concurrent > 0 && l->retries >= 0 &&
	       l->breaker_threshold > 0 && l->breaker_cooldown_ms > 0 &&
	       l->confirm_timeout_ms > 0 && l->confirm_poll_ms > 0 && l->queue_timeout_ms > 0 &&
	       l->retry_base_ms > 0 && l->retry_max_ms >= l->retry_base_ms;
}

static int drivers_init(struct bmc_manager *m)
{
	for (int i = 0; i < BMC_DRIVER_MAX; i++) {
		const struct bmc_driver *d = bmc_driver_at(i);
		if (d != NULL && d->missing == NULL && d->init != NULL && d->init(&m->priv[i]) != 0)
			return -1;
	}
	return 0;
}

struct bmc_manager *bmc_manager_new(const struct bmc_limits *l)
{
	struct bmc_manager *m = calloc(1, sizeof(*m));

	if (m == NULL)
		return NULL;
	if (l != NULL)
		m->lim = *l;
	else
		bmc_limits_default(&m->lim);
	m->nbuckets = 64;
	m->buckets = calloc(m->nbuckets, sizeof(*m->buckets));
	if (!limits_valid(&m->lim) || m->buckets == NULL)
		goto fail_alloc;
	if (pthread_mutex_init(&m->mu, NULL) != 0)
		goto fail_alloc;
	if (util_cond_init(&m->idle_cv) != 0)
		goto fail_mutex;
	if (drivers_init(m) != 0) {
		bmc_manager_free(m);
		return NULL;
	}
	return m;
fail_mutex:
	pthread_mutex_destroy(&m->mu);
fail_alloc:
	free(m->buckets);
	free(m);
	return NULL;
}

void bmc_manager_free(struct bmc_manager *m)
{
	if (m == NULL)
		return;
	/* Abandoned calls still reference entries and slots; wait for them. */
	pthread_mutex_lock(&m->mu);
	while (m->abandoned > 0)
		pthread_cond_wait(&m->idle_cv, &m->mu);
	pthread_mutex_unlock(&m->mu);
	for (size_t i = 0; i < m->nbuckets; i++) {
		struct bmc_entry *en = m->buckets[i], *next;
		for (; en != NULL; en = next) {
			next = en->next;
			pthread_cond_destroy(&en->cv);
			free(en->key);
			free(en);
		}
	}
	for (int i = 0; i < BMC_DRIVER_MAX; i++) {
		const struct bmc_driver *d = bmc_driver_at(i);
		if (d != NULL && d->fini != NULL && m->priv[i] != NULL)
			d->fini(m->priv[i]);
	}
	pthread_cond_destroy(&m->idle_cv);
	pthread_mutex_destroy(&m->mu);
	free(m->buckets);
	free(m);
}

void *bmc_manager_driver_priv(struct bmc_manager *m, const struct bmc_driver *d)
{
	int i = bmc_driver_index(d);

	return (m != NULL && i >= 0) ? m->priv[i] : NULL;
}

static void rehash(struct bmc_manager *m)
{
	size_t n = m->nbuckets * 2;
	struct bmc_entry **b = calloc(n, sizeof(*b));

	if (b == NULL)
		return; /* keep the longer chains; still correct */
	for (size_t i = 0; i < m->nbuckets; i++) {
		struct bmc_entry *en = m->buckets[i], *next;
		for (; en != NULL; en = next) {
			next = en->next;
			size_t j = util_fnv(UTIL_FNV_BASIS, en->key) % n;
			en->next = b[j];
			b[j] = en;
		}
	}
	free(m->buckets);
	m->buckets = b;
	m->nbuckets = n;
}

/* Caller holds m->mu. */
static struct bmc_entry *entry_get(struct bmc_manager *m, const struct bmc_target *t)
{
	size_t i = util_fnv(UTIL_FNV_BASIS, t->key) % m->nbuckets;
	unsigned long long fp = util_fnv(util_fnv(UTIL_FNV_BASIS, t->driver), t->address);
	struct bmc_entry *en;

	for (en = m->buckets[i]; en != NULL; en = en->next)
		if (strcmp(en->key, t->key) == 0)
			break;
	if (en == NULL) {
		en = calloc(1, sizeof(*en));
		if (en == NULL || (en->key = strdup(t->key)) == NULL || util_cond_init(&en->cv)) {
			if (en != NULL)
				free(en->key);
			free(en);
			return NULL;
		}
		en->fingerprint = fp;
		bmc_breaker_init(&en->breaker);
		en->next = m->buckets[i];
		m->buckets[i] = en;
		if (++m->nentries > 2 * m->nbuckets)
			rehash(m);
	}
	if (en->fingerprint != fp) { /* re-enrolled at another address: a new BMC */
		en->fingerprint = fp;
		bmc_breaker_init(&en->breaker);
		en->cause[0] = '\0';
	}
	return en;
}

/* Caller holds m->mu. The message ends with what the BMC last (did not) answer, so
 * an error that is only "failing fast" still names the cause. */
static enum bmc_status circuit_open(struct bmc_session *s, const struct bmc_entry *en,
				    long long wait_ms, struct bmc_error *e)
{
	char why[64];

	if (wait_ms <= 0)
		snprintf(why, sizeof(why), "circuit half-open, trial in progress");
	else
		snprintf(why, sizeof(why), "circuit open, retry in %llds", (wait_ms + 999) / 1000);
	if (en->cause[0] != '\0')
		bmc_error_set(e, BMC_ERR_CIRCUIT_OPEN, NULL,
			      "BMC at %s unreachable (%s); last error: %s", s->label, why,
			      en->cause);
	else
		bmc_error_set(e, BMC_ERR_CIRCUIT_OPEN, NULL, "BMC at %s unreachable (%s)", s->label,
			      why);
	e->retry_in_ms = wait_ms > 0 ? wait_ms : 0;
	return BMC_ERR_CIRCUIT_OPEN;
}

/* Caller holds m->mu. Waits for the entry's turn. */
static enum bmc_status entry_wait(struct bmc_session *s, struct bmc_entry *en, struct bmc_error *e)
{
	long long waited_from = util_now_ms(), wait_ms;

	while (en->busy) {
		if (util_cond_wait_until_ms(&en->cv, &s->m->mu, s->queue_deadline) == ETIMEDOUT &&
		    en->busy)
			return bmc_error_set(
			    e, BMC_ERR_BUSY, NULL,
			    "BMC at %s is busy with another operation (waited %lld ms)", s->label,
			    util_now_ms() - waited_from);
	}
	if (!bmc_breaker_allow(&en->breaker, util_now_ms(), &wait_ms))
		return circuit_open(s, en, wait_ms, e);
	en->busy = true;
	return BMC_OK;
}

enum bmc_status bmc_entry_acquire(struct bmc_session *s, struct bmc_error *e)
{
	struct bmc_manager *m = s->m;
	struct bmc_entry *en;
	enum bmc_status st;
	long long wait_ms;

	pthread_mutex_lock(&m->mu);
	en = entry_get(m, s->t);
	if (en == NULL)
		st = bmc_error_set(e, BMC_ERR_FAILED, NULL, "out of memory");
	else if (!bmc_breaker_would_allow(&en->breaker, util_now_ms(), &wait_ms))
		st = circuit_open(s, en, wait_ms, e); /* fail fast, do not queue */
	else
		st = entry_wait(s, en, e);
	if (st == BMC_OK)
		s->entry = en;
	pthread_mutex_unlock(&m->mu);
	return st;
}

void bmc_entry_finish(struct bmc_session *s, const struct bmc_error *e)
{
	enum bmc_breaker_outcome o = BMC_OUTCOME_NEUTRAL;

	if (s->entry == NULL)
		return;
	if (s->reached)
		o = (s->last_call == BMC_ERR_UNREACHABLE || s->last_call == BMC_ERR_TIMEOUT)
			? BMC_OUTCOME_DEAD
			: BMC_OUTCOME_ALIVE;
	pthread_mutex_lock(&s->m->mu);
	bmc_breaker_record(&s->entry->breaker, o, util_now_ms(), s->m->lim.breaker_threshold,
			   s->m->lim.breaker_cooldown_ms);
	if (o == BMC_OUTCOME_DEAD && e != NULL)
		snprintf(s->entry->cause, sizeof(s->entry->cause), "%s", e->message);
	else if (o == BMC_OUTCOME_ALIVE)
		s->entry->cause[0] = '\0';
	pthread_mutex_unlock(&s->m->mu);
}

void bmc_entry_unbusy(struct bmc_manager *m, struct bmc_entry *en)
{
	pthread_mutex_lock(&m->mu);
	en->busy = false;
	/* broadcast: a waiter that then finds the breaker open leaves without taking
	 * the turn, and must not swallow the wakeup of the others */
	pthread_cond_broadcast(&en->cv);
	pthread_mutex_unlock(&m->mu);
}

/* With m->mu held: takes w out of the wait queue. */
static void unqueue(struct bmc_manager *m, struct bmc_slot_waiter *w)
{
	struct bmc_slot_waiter **pp = &m->wait_head, *prev = NULL;
	while (*pp && *pp != w) {
		prev = *pp;
		pp = &(*pp)->next;
	}
	if (!*pp)
		return;
	*pp = w->next;
	if (m->wait_tail == w)
		m->wait_tail = prev;
	m->waiting--;
}

enum bmc_status bmc_slot_acquire(struct bmc_manager *m, long long deadline_ms, struct bmc_error *e)
{
	long long from = util_now_ms();
	enum bmc_status st = BMC_OK;
	struct bmc_slot_waiter w = {.granted = false};

	pthread_mutex_lock(&m->mu);
	if (m->in_flight < m->lim.max_concurrent && !m->wait_head) {
		m->in_flight++;
		pthread_mutex_unlock(&m->mu);
		return BMC_OK;
	}
	if (util_cond_init(&w.cv) != 0) {
		pthread_mutex_unlock(&m->mu);
		return bmc_error_set(e, BMC_ERR_BUSY, NULL, "cannot wait for a BMC call slot");
	}
	if (m->wait_tail)
		m->wait_tail->next = &w;
	else
		m->wait_head = &w;
	m->wait_tail = &w;
	m->waiting++;
	while (!w.granted)
		if (util_cond_wait_until_ms(&w.cv, &m->mu, deadline_ms) == ETIMEDOUT && !w.granted)
			break;
	if (!w.granted) {
		unqueue(m, &w);
		st = bmc_error_set(e, BMC_ERR_BUSY, NULL,
				   "too many BMC calls in flight (%d, %d waiting); waited %lld ms",
				   m->in_flight, m->waiting, util_now_ms() - from);
	}
	pthread_mutex_unlock(&m->mu);
	pthread_cond_destroy(&w.cv);
	return st;
}

void bmc_slot_release(struct bmc_manager *m)
{
	pthread_mutex_lock(&m->mu);
	struct bmc_slot_waiter *w = m->wait_head;
	if (w) { /* the slot passes to the first waiter: in_flight stays */
		unqueue(m, w);
		w->granted = true;
		pthread_cond_signal(&w->cv);
	} else {
		m->in_flight--;
	}
	pthread_mutex_unlock(&m->mu);
}

void bmc_manager_set_gate(struct bmc_manager *m, bmc_gate_fn gate, void *ctx)
{
	m->gate = gate;
	m->gate_ctx = ctx;
}
