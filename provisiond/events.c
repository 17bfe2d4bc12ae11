/* events.c - the change feed of GET /v1/stream (see events.h).
 *
 * Why a snapshot diff and not the machine_events table: a machine changes
 * without a state transition too (maintenance, power, last_error, BMC
 * access), and an allocation's progress is its machines' states. Comparing
 * versions catches all of it with the typed queries the inventory already
 * has, at the cost of one read of the fleet per burst of commits, and only
 * while someone watches. */
#include "provisiond/events.h"
#include "provisiond/log.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RING 2048		 /* events kept for readers that lag */
#define BEAT_MS 15000		 /* a comment this often keeps a quiet stream checked */
#define SCAN_GAP_MS 200		 /* at most five reads of the fleet a second */
#define READER_CHUNK (32 * 1024) /* format this much of the ring at a time */

struct event {
	int64_t seq;
	const char *kind;
	char owner[64];	      /* "" : staff only */
	char *staff, *tenant; /* JSON texts; tenant NULL: staff only */
};

/* What the hub saw of one object: id and a signature of its rendering. */
struct seen {
	char id[INV_ID_LEN];
	uint64_t sig;
};
struct seen_set {
	struct seen *v;
	size_t n, cap;
};

struct event_hub {
	struct app *a;
	pthread_t thread;
	bool started;
	atomic_bool stop;
	atomic_int readers;
	atomic_ulong appended;
	pthread_mutex_t mu; /* ring, head, valid */
	struct event ring[RING];
	int64_t head; /* seq of the newest event (0: none yet) */
	bool valid;   /* a snapshot is held: every change after it becomes an event */
	/* the hub thread's own */
	bool have_snapshot;
	struct seen_set machines, allocs;
	char *freeze; /* the freeze setting as last read (NULL: never set) */
	int64_t last_beat_ms;
};

struct event_reader {
	struct event_hub *h;
	enum role role;
	char owner[64];
	int64_t cursor; /* seq of the last event looked at */
	bool hello;
	struct util_buf out; /* formatted, not yet sent */
	size_t off;
	int64_t last_send_ms;
};

/* ---------------------------------------------------------------- sets */

static int seen_cmp(const void *x, const void *y)
{
	return strcmp(((const struct seen *)x)->id, ((const struct seen *)y)->id);
}

static int seen_add(struct seen_set *s, const char *id, uint64_t sig)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 256;
		struct seen *v = realloc(s->v, cap * sizeof *v);
		if (!v)
			return -1;
		s->v = v;
		s->cap = cap;
	}
	snprintf(s->v[s->n].id, sizeof s->v[s->n].id, "%s", id);
	s->v[s->n++].sig = sig;
	return 0;
}

static const struct seen *seen_find(const struct seen_set *s, const char *id)
{
	struct seen key;
	snprintf(key.id, sizeof key.id, "%s", id);
	return s->n ? bsearch(&key, s->v, s->n, sizeof *s->v, seen_cmp) : NULL;
}

static void seen_free(struct seen_set *s)
{
	free(s->v);
	*s = (struct seen_set){0};
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 1099511628211ull;
	return h;
}

static uint64_t alloc_sig(const struct inv_allocation *al)
{
	uint64_t h = fnv(14695981039346656037ull, &al->version, sizeof al->version);
	h = fnv(h, &al->state, sizeof al->state);
	for (size_t i = 0; i < al->nmachines; i++) {
		h = fnv(h, al->machines[i].id, strlen(al->machines[i].id));
		h = fnv(h, &al->machines[i].state, sizeof al->machines[i].state);
		h = fnv(h, &al->machines[i].detached, sizeof al->machines[i].detached);
	}
	return h;
}

/* ---------------------------------------------------------------- ring */

static char *dump(json_t *o)
{
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	return s;
}

/* Appends one event (takes staff and tenant, which may be NULL). */
static void append(struct event_hub *h, const char *kind, const char *owner, char *staff,
		   char *tenant)
{
	if (!staff) {
		free(tenant);
		log_event(LOG_WARN, "event stream: out of memory, an event is lost", "kind", kind,
			  NULL);
		return;
	}
	pthread_mutex_lock(&h->mu);
	struct event *ev = &h->ring[(h->head + 1) % RING];
	free(ev->staff);
	free(ev->tenant);
	*ev = (struct event){.seq = ++h->head, .kind = kind, .staff = staff, .tenant = tenant};
	snprintf(ev->owner, sizeof ev->owner, "%s", owner ? owner : "");
	pthread_mutex_unlock(&h->mu);
	atomic_fetch_add(&h->appended, 1);
}

static void machine_event(struct event_hub *h, const struct inv_machine *m)
{
	json_t *o = api_machine_json(m, false);
	char *staff = dump(json_incref(o));
	char *tenant = NULL;
	if (m->owner[0]) {
		json_object_del(o, "bmc"); /* services never see how machines are managed */
		tenant = dump(json_incref(o));
	}
	json_decref(o);
	append(h, "machine", m->owner, staff, tenant);
}

static void alloc_event(struct event_hub *h, const struct inv_allocation *al)
{
	char *staff = dump(api_allocation_json(h->a, al));
	append(h, "allocation", al->owner, staff, staff ? strdup(staff) : NULL);
}

/* -------------------------------------------------------------- scanning */

static void scan_failed(const char *what, const struct inv_err *e)
{
	log_event(LOG_WARN, "event stream: cannot read the inventory", "what", what, "error",
		  e->message, NULL);
}

/* Every machine, paged; an event for each one new or changed when emit. */
static int scan_machines(struct event_hub *h, struct seen_set *now, bool emit)
{
	struct inv_machine_filter f = {.state = -1, .limit = 1000};
	for (;;) {
		struct inv_machine_list l = {0};
		struct inv_err e = {0};
		if (inv_machine_list(h->a->inv, &f, &l, &e) != INV_OK) {
			scan_failed("machines", &e);
			return -1;
		}
		int rc = 0;
		for (size_t i = 0; i < l.n && rc == 0; i++) {
			const struct inv_machine *m = &l.items[i];
			const struct seen *old = seen_find(&h->machines, m->id);
			if (emit && (!old || old->sig != (uint64_t)m->version))
				machine_event(h, m);
			rc = seen_add(now, m->id, (uint64_t)m->version);
		}
		f.after_seq = l.next_seq;
		inv_machine_list_clear(&l);
		if (rc != 0 || !f.after_seq)
			return rc;
	}
}

/* The allocations not yet released, paged, per state. */
static int scan_allocs_in(struct event_hub *h, enum inv_alloc_state st, struct seen_set *now,
			  bool emit)
{
	struct inv_alloc_filter f = {.state = (int)st, .limit = 1000};
	for (;;) {
		struct inv_alloc_list l = {0};
		struct inv_err e = {0};
		if (inv_allocation_list(h->a->inv, &f, &l, &e) != INV_OK) {
			scan_failed("allocations", &e);
			return -1;
		}
		int rc = 0;
		for (size_t i = 0; i < l.n && rc == 0; i++) {
			const struct inv_allocation *al = &l.items[i];
			uint64_t sig = alloc_sig(al);
			const struct seen *old = seen_find(&h->allocs, al->id);
			if (emit && (!old || old->sig != sig))
				alloc_event(h, al);
			rc = seen_add(now, al->id, sig);
		}
		f.after_seq = l.next_seq;
		inv_alloc_list_clear(&l);
		if (rc != 0 || !f.after_seq)
			return rc;
	}
}

/* Objects seen before and gone now: machines deleted, allocations
 * released (read once more for their last state). */
static void scan_gone(struct event_hub *h, const struct seen_set *machines,
		      const struct seen_set *allocs)
{
	for (size_t i = 0; i < h->machines.n; i++)
		if (!seen_find(machines, h->machines.v[i].id))
			append(h, "machine_deleted", NULL,
			       dump(json_pack("{s:s}", "id", h->machines.v[i].id)), NULL);
	for (size_t i = 0; i < h->allocs.n; i++) {
		if (seen_find(allocs, h->allocs.v[i].id))
			continue;
		struct inv_allocation al = {0};
		struct inv_err e = {0};
		if (inv_allocation_get(h->a->inv, h->allocs.v[i].id, &al, &e) == INV_OK)
			alloc_event(h, &al);
		inv_allocation_clear(&al);
	}
}

/* The fleet freeze (a setting, not a machine): an event when it changed. */
static void scan_freeze(struct event_hub *h, bool emit)
{
	char *v = NULL;
	struct inv_err e = {0};
	enum inv_status st = inv_setting_get(h->a->inv, "freeze", &v, &e);
	if (st != INV_OK && st != INV_NOT_FOUND) {
		scan_failed("freeze", &e);
		return;
	}
	bool same = (!v && !h->freeze) || (v && h->freeze && strcmp(v, h->freeze) == 0);
	if (emit && !same)
		append(h, "freeze", NULL, strdup(v ? v : "{\"frozen\":false,\"reason\":\"\"}"),
		       NULL);
	free(h->freeze);
	h->freeze = v;
}

static void scan(struct event_hub *h)
{
	static const enum inv_alloc_state live[] = {INV_AL_DEPLOYING, INV_AL_READY,
						    INV_AL_RELEASING, INV_AL_FAILED};
	bool emit = h->have_snapshot;
	struct seen_set m = {0}, al = {0};
	scan_freeze(h, emit);
	int rc = scan_machines(h, &m, emit);
	for (size_t i = 0; i < ARRAY_SIZE(live) && rc == 0; i++)
		rc = scan_allocs_in(h, live[i], &al, emit);
	if (rc != 0) { /* try again after the next commit, from the old snapshot */
		seen_free(&m);
		seen_free(&al);
		return;
	}
	if (m.n) /* qsort must not see NULL, even for nothing */
		qsort(m.v, m.n, sizeof *m.v, seen_cmp);
	if (al.n)
		qsort(al.v, al.n, sizeof *al.v, seen_cmp);
	if (emit)
		scan_gone(h, &m, &al);
	seen_free(&h->machines);
	seen_free(&h->allocs);
	h->machines = m;
	h->allocs = al;
	h->have_snapshot = true;
	pthread_mutex_lock(&h->mu);
	h->valid = true;
	pthread_mutex_unlock(&h->mu);
}

static void *hub_main(void *arg)
{
	struct event_hub *h = arg;
	uint64_t seen = inv_change_counter(h->a->inv);
	while (!atomic_load(&h->stop)) {
		bool changed = inv_wait_change(h->a->inv, &seen, 250);
		if (atomic_load(&h->readers) == 0) {
			pthread_mutex_lock(&h->mu);
			h->valid = false;
			pthread_mutex_unlock(&h->mu);
			h->have_snapshot = false; /* nobody watches: read nothing */
			seen_free(&h->machines);
			seen_free(&h->allocs);
			continue;
		}
		unsigned long before = atomic_load(&h->appended);
		int64_t now = util_real_now_ms();
		bool scanned = changed || !h->have_snapshot;
		if (scanned)
			scan(h);
		bool beat = now - h->last_beat_ms >= BEAT_MS;
		if (beat)
			h->last_beat_ms = now;
		if (beat || scanned || atomic_load(&h->appended) != before)
			http_stream_wake(h->a->api);
		util_real_sleep_ms(SCAN_GAP_MS);
	}
	http_stream_wake(h->a->api); /* readers see the stop and end */
	return NULL;
}

/* ---------------------------------------------------------------- hub */

enum err_status event_hub_start(struct app *a, struct event_hub **out, struct err *e)
{
	*out = NULL;
	struct event_hub *h = calloc(1, sizeof *h);
	if (!h)
		return err_set(e, ERR_INTERNAL, NULL, "event stream: out of memory");
	h->a = a;
	pthread_mutex_init(&h->mu, NULL);
	if (pthread_create(&h->thread, NULL, hub_main, h) != 0) {
		pthread_mutex_destroy(&h->mu);
		free(h);
		return err_set(e, ERR_INTERNAL, NULL, "event stream: cannot start its thread");
	}
	h->started = true;
	*out = h;
	return ERR_OK;
}

void event_hub_stop(struct event_hub *h)
{
	if (!h || !h->started)
		return;
	atomic_store(&h->stop, true);
	pthread_join(h->thread, NULL);
	h->started = false;
}

void event_hub_free(struct event_hub *h)
{
	if (!h)
		return;
	event_hub_stop(h);
	for (size_t i = 0; i < RING; i++) {
		free(h->ring[i].staff);
		free(h->ring[i].tenant);
	}
	seen_free(&h->machines);
	seen_free(&h->allocs);
	free(h->freeze);
	pthread_mutex_destroy(&h->mu);
	free(h);
}

unsigned long event_hub_events(struct event_hub *h)
{
	return h ? atomic_load(&h->appended) : 0;
}

/* -------------------------------------------------------------- readers */

struct event_reader *event_reader_new(struct event_hub *h, enum role role, const char *owner)
{
	struct event_reader *rd = calloc(1, sizeof *rd);
	if (!rd)
		return NULL;
	rd->h = h;
	rd->role = role;
	snprintf(rd->owner, sizeof rd->owner, "%s", owner ? owner : "");
	pthread_mutex_lock(&h->mu);
	rd->cursor = h->head; /* what came before is in the view it loads on hello */
	pthread_mutex_unlock(&h->mu);
	rd->last_send_ms = util_real_now_ms();
	atomic_fetch_add(&h->readers, 1);
	return rd;
}

void event_reader_free(void *reader)
{
	struct event_reader *rd = reader;
	if (!rd)
		return;
	atomic_fetch_sub(&rd->h->readers, 1);
	util_buf_free(&rd->out);
	free(rd);
}

/* The text of ev this reader may see, or NULL. */
static const char *visible(const struct event_reader *rd, const struct event *ev)
{
	if (rd->role != ROLE_SERVICE)
		return ev->staff;
	return ev->tenant && strcmp(ev->owner, rd->owner) == 0 ? ev->tenant : NULL;
}

/* Formats the events after the cursor (up to READER_CHUNK) into rd->out;
 * called with h->mu held. */
static void format_events_locked(struct event_reader *rd)
{
	struct event_hub *h = rd->h;
	if (!rd->hello) {
		if (!h->valid)
			return; /* the view it loads on hello must be covered by events */
		rd->hello = true;
		rd->cursor = h->head;
		util_buf_printf(
		    &rd->out, "retry: 2000\nevent: hello\ndata: {\"role\":\"%s\",\"seq\":%lld}\n\n",
		    role_name(rd->role), (long long)h->head);
		return;
	}
	if (rd->cursor < h->head - RING) { /* it lagged past the ring */
		rd->cursor = h->head;
		util_buf_puts(&rd->out, "event: resync\ndata: {}\n\n");
		return;
	}
	while (rd->cursor < h->head && rd->out.len < READER_CHUNK) {
		const struct event *ev = &h->ring[++rd->cursor % RING];
		const char *text = visible(rd, ev);
		if (text)
			util_buf_printf(&rd->out, "id: %lld\nevent: %s\ndata: %s\n\n",
					(long long)ev->seq, ev->kind, text);
	}
}

long event_reader_fill(void *reader, char *buf, size_t max)
{
	struct event_reader *rd = reader;
	struct event_hub *h = rd->h;
	if (rd->off >= rd->out.len) {
		rd->out.len = rd->off = 0;
		if (atomic_load(&h->stop))
			return -1;
		pthread_mutex_lock(&h->mu);
		format_events_locked(rd);
		pthread_mutex_unlock(&h->mu);
		int64_t now = util_real_now_ms();
		if (!rd->out.len && rd->hello && now - rd->last_send_ms >= BEAT_MS)
			util_buf_puts(&rd->out, ": keep-alive\n\n");
		if (rd->out.failed) {
			util_buf_free(&rd->out);
			return -1; /* out of memory: end the stream, the client reconnects */
		}
	}
	size_t n = rd->out.len - rd->off;
	if (n == 0)
		return 0; /* nothing yet: the stream waits for a wake */
	if (n > max)
		n = max;
	memcpy(buf, rd->out.p + rd->off, n);
	rd->off += n;
	rd->last_send_ms = util_real_now_ms();
	return (long)n;
}
