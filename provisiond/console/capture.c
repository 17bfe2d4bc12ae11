/* capture.c - the console manager: per machine a ring and at most one capture
 * session, a thread that reads the machine's console through the BMC layer
 * (bmc_console_*) into the ring.
 *
 * Why a thread per session: consoles are few at once (max_sessions, 32 by
 * default: machines running the agent), a read is a blocking poll of at most
 * read_ms, and a thread keeps a session's reopen backoff and its "still wanted?"
 * checks plain sequential code. libipmiconsole multiplexes the SOL sessions on
 * its own engine threads behind the descriptors these threads poll.
 *
 * Locking: m->mu guards the entries, the rings, the session flags and the
 * counters; it is never held across a BMC call or a sleep. Readers of the API
 * wait on data_cv, which every append broadcasts. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provisiond/bmc/bmc.h"
#include "provisiond/console/console.h"
#include "provisiond/log.h"
#include "util/util.h"

#define ID_MAX 64
#define READ_MAX 4096 /* bytes a session reads at once */

struct con_session;

struct con_entry {
	struct con_entry *next;
	char id[ID_MAX];
	struct con_ring ring;	     /* buf NULL until the first byte */
	int64_t touched;	     /* last write or creation (eviction order) */
	struct con_session *session; /* NULL: not capturing */
	char unsupported[32];	     /* driver that cannot capture (not retried) */
	bool refused_logged;	     /* max_sessions refusal already logged */
	struct con_mask mask;	     /* boot tokens masked before the ring */
};

struct con_session {
	struct con_manager *m;
	char id[ID_MAX];
	bool stop; /* under m->mu */
	/* the BMC, copied: the lifecycle's strings live for one step only */
	struct bmc_target_copy t;
	uint64_t rng;
};

struct con_manager {
	struct bmc_manager *bmc;
	struct con_limits lim;
	bool (*wanted)(void *arg, const char *machine_id);
	void *arg;
	pthread_mutex_t mu;
	pthread_cond_t data_cv, wake_cv, idle_cv;
	struct con_entry *entries;
	int nentries, sessions;
	bool closing;
	unsigned long long bytes, open_errors, read_errors, refused, started;
	int64_t refused_logged_at; /* last refusal logged (at most one a minute) */
};

void con_limits_default(struct con_limits *l)
{
	*l = (struct con_limits){.buffer_kib = 64,
				 .max_sessions = 32,
				 .max_buffers = 1024,
				 .read_ms = 500,
				 .check_ms = 5000,
				 .reopen_min_ms = 2000,
				 .reopen_max_ms = 60000};
}

static bool limits_ok(const struct con_limits *l)
{
	return l->buffer_kib > 0 && l->max_sessions >= 0 && l->max_buffers > 0 && l->read_ms > 0 &&
	       l->check_ms > 0 && l->reopen_min_ms > 0 && l->reopen_max_ms >= l->reopen_min_ms;
}

struct con_manager *con_manager_new(struct bmc_manager *bmc, const struct con_limits *l,
				    bool (*wanted)(void *arg, const char *machine_id), void *arg)
{
	struct con_limits def;
	struct con_manager *m;

	if (l == NULL) {
		con_limits_default(&def);
		l = &def;
	}
	if (!limits_ok(l) || (m = calloc(1, sizeof(*m))) == NULL)
		return NULL;
	m->bmc = bmc;
	m->lim = *l;
	m->wanted = wanted;
	m->arg = arg;
	pthread_mutex_init(&m->mu, NULL);
	if (util_cond_init(&m->data_cv) != 0 || util_cond_init(&m->wake_cv) != 0 ||
	    util_cond_init(&m->idle_cv) != 0) {
		free(m);
		return NULL;
	}
	return m;
}

void con_manager_free(struct con_manager *m)
{
	if (m == NULL)
		return;
	pthread_mutex_lock(&m->mu);
	m->closing = true;
	for (struct con_entry *en = m->entries; en != NULL; en = en->next)
		if (en->session != NULL)
			en->session->stop = true;
	pthread_cond_broadcast(&m->wake_cv);
	pthread_cond_broadcast(&m->data_cv);
	while (m->sessions > 0)
		pthread_cond_wait(&m->idle_cv, &m->mu);
	pthread_mutex_unlock(&m->mu);
	for (struct con_entry *en = m->entries, *next; en != NULL; en = next) {
		next = en->next;
		con_ring_free(&en->ring);
		free(en);
	}
	pthread_cond_destroy(&m->data_cv);
	pthread_cond_destroy(&m->wake_cv);
	pthread_cond_destroy(&m->idle_cv);
	pthread_mutex_destroy(&m->mu);
	free(m);
}

/* ------------------------------------------------------------- entries */

static struct con_entry *entry_find(struct con_manager *m, const char *id)
{
	for (struct con_entry *en = m->entries; en != NULL; en = en->next)
		if (strcmp(en->id, id) == 0)
			return en;
	return NULL;
}

/* Drops the ring least recently written of a machine not being captured. */
static bool entry_evict(struct con_manager *m)
{
	struct con_entry **victim = NULL;

	for (struct con_entry **p = &m->entries; *p != NULL; p = &(*p)->next)
		if ((*p)->session == NULL && (victim == NULL || (*p)->touched < (*victim)->touched))
			victim = p;
	if (victim == NULL)
		return false;
	struct con_entry *en = *victim;
	*victim = en->next;
	con_ring_free(&en->ring);
	free(en);
	m->nentries--;
	return true;
}

/* The machine's entry, made if needed (NULL: out of memory, or every kept ring
 * belongs to a running capture). m->mu held. */
static struct con_entry *entry_get(struct con_manager *m, const char *id)
{
	struct con_entry *en = entry_find(m, id);

	if (en != NULL)
		return en;
	if (m->nentries >= m->lim.max_buffers && !entry_evict(m))
		return NULL;
	if ((en = calloc(1, sizeof(*en))) == NULL)
		return NULL;
	snprintf(en->id, sizeof(en->id), "%s", id);
	en->touched = util_now_ms();
	en->next = m->entries;
	m->entries = en;
	m->nentries++;
	return en;
}

/* Appends what a session read, its boot tokens masked. m->mu held. */
static void entry_append(struct con_manager *m, struct con_entry *en, const char *buf, size_t n)
{
	char masked[CON_MASK_OUT(READ_MAX)];

	if (en->ring.buf == NULL &&
	    con_ring_init(&en->ring, (size_t)m->lim.buffer_kib * 1024) != 0) {
		log_event(LOG_WARN, "console: out of memory for the buffer", "machine", en->id,
			  NULL);
		return;
	}
	if (n > READ_MAX)
		n = READ_MAX; /* read_loop's buffer */
	n = con_mask_apply(&en->mask, buf, n, masked);
	con_ring_append(&en->ring, masked, n);
	en->touched = util_now_ms();
	m->bytes += n;
	pthread_cond_broadcast(&m->data_cv);
}

/* ------------------------------------------------------------- sessions */

static void session_free(struct con_session *s)
{
	if (s == NULL)
		return;
	bmc_target_copy_free(&s->t);
	free(s);
}

static struct con_session *session_new(struct con_manager *m, const char *id,
				       const struct bmc_target *t)
{
	struct con_session *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->m = m;
	snprintf(s->id, sizeof(s->id), "%s", id);
	s->rng = util_rng_seed();
	if (bmc_target_copy(&s->t, t) != 0 || s->t.t.driver == NULL) {
		session_free(s);
		return NULL;
	}
	return s;
}

static bool stopping(struct con_session *s)
{
	pthread_mutex_lock(&s->m->mu);
	bool stop = s->stop;
	pthread_mutex_unlock(&s->m->mu);
	return stop;
}

/* Sleeps ms unless the session is stopped meanwhile; false when it is. */
static bool session_sleep(struct con_session *s, int64_t ms)
{
	struct con_manager *m = s->m;
	int64_t until = util_now_ms() + ms;

	pthread_mutex_lock(&m->mu);
	while (!s->stop && util_now_ms() < until)
		util_cond_wait_until_ms(&m->wake_cv, &m->mu, until);
	bool stop = s->stop;
	pthread_mutex_unlock(&m->mu);
	return !stop;
}

/* Asks the lifecycle whether the machine is still in a captured state; when not,
 * the session stops itself. */
static bool still_wanted(struct con_session *s)
{
	if (s->m->wanted == NULL || s->m->wanted(s->m->arg, s->id))
		return true;
	pthread_mutex_lock(&s->m->mu);
	s->stop = true;
	pthread_mutex_unlock(&s->m->mu);
	return false;
}

/* A failure is logged and counted; final ones (the driver cannot capture) mark
 * the machine's entry so the lifecycle's next ask does not start it again. */
static void note_failure(struct con_session *s, bool opening, const struct bmc_error *be)
{
	struct con_manager *m = s->m;
	bool final = be->status == BMC_ERR_UNSUPPORTED || be->status == BMC_ERR_NOT_COMPILED ||
		     be->status == BMC_ERR_INVALID;

	pthread_mutex_lock(&m->mu);
	if (opening)
		m->open_errors++;
	else
		m->read_errors++;
	struct con_entry *en = entry_find(m, s->id);
	if (final && en != NULL)
		snprintf(en->unsupported, sizeof(en->unsupported), "%s", s->t.t.driver);
	if (final)
		s->stop = true;
	pthread_mutex_unlock(&m->mu);
	log_event(final ? LOG_INFO : LOG_WARN,
		  final ? "console: not captured"
			: (opening ? "console: cannot open" : "console: capture ended"),
		  "machine", s->id, "driver", s->t.t.driver, "status", bmc_status_name(be->status),
		  "error", be->message, NULL);
}

/* Reads until the session stops, the machine leaves the captured states, or the
 * console ends (false: the error is noted). */
static bool read_loop(struct con_session *s, struct bmc_console *c)
{
	struct con_manager *m = s->m;
	char buf[READ_MAX];
	int64_t next_check = util_now_ms() + m->lim.check_ms;

	while (!stopping(s)) {
		struct bmc_error be = {0};
		size_t got = 0;
		if (bmc_console_read(c, buf, sizeof(buf), m->lim.read_ms, &got, &be) != BMC_OK) {
			note_failure(s, false, &be);
			return false;
		}
		if (got > 0) {
			pthread_mutex_lock(&m->mu);
			struct con_entry *en = entry_find(m, s->id);
			if (en != NULL)
				entry_append(m, en, buf, got);
			pthread_mutex_unlock(&m->mu);
		}
		if (util_now_ms() >= next_check) {
			next_check = util_now_ms() + m->lim.check_ms;
			if (!still_wanted(s))
				break;
		}
	}
	return true;
}

static void *session_main(void *arg)
{
	struct con_session *s = arg;
	struct con_manager *m = s->m;
	int failures = 0;

	while (!stopping(s)) {
		struct bmc_target t = s->t.t;
		t.key = s->id;
		struct bmc_console *c = NULL;
		struct bmc_error be = {0};
		bool ok = bmc_console_open(m->bmc, &t, &c, &be) == BMC_OK;
		if (!ok) {
			note_failure(s, true, &be);
		} else {
			log_event(LOG_INFO, "console: capture started", "machine", s->id, "driver",
				  s->t.t.driver, NULL);
			ok = read_loop(s, c);
			bmc_console_close(c);
		}
		failures = ok ? 0 : failures + 1;
		if (failures > 0 &&
		    !session_sleep(s, util_backoff_ms(failures - 1, m->lim.reopen_min_ms,
						      m->lim.reopen_max_ms, &s->rng)))
			break;
		if (failures > 0 && !still_wanted(s))
			break;
	}
	log_event(LOG_INFO, "console: capture stopped", "machine", s->id, NULL);
	pthread_mutex_lock(&m->mu);
	struct con_entry *en = entry_find(m, s->id);
	if (en != NULL && en->session == s)
		en->session = NULL;
	m->sessions--;
	pthread_cond_broadcast(&m->idle_cv);
	pthread_mutex_unlock(&m->mu);
	session_free(s);
	return NULL;
}

/* ---------------------------------------------------------- public API */

/* Starts a session for en (m->mu held); false when refused. */
static bool session_start(struct con_manager *m, struct con_entry *en, const struct bmc_target *t)
{
	if (m->sessions >= m->lim.max_sessions) {
		/* logged once per machine, and at most once a minute (a fake fleet of
		 * thousands deploying at once must not flood the log) */
		m->refused++;
		int64_t now = util_now_ms();
		if (!en->refused_logged && m->lim.max_sessions > 0 &&
		    (m->refused_logged_at == 0 || now - m->refused_logged_at >= 60000)) {
			char cap[16], n[24];
			snprintf(cap, sizeof(cap), "%d", m->lim.max_sessions);
			snprintf(n, sizeof(n), "%llu", m->refused);
			log_event(LOG_WARN, "console: not captured, [console] max_sessions reached",
				  "machine", en->id, "max_sessions", cap, "refused_total", n, NULL);
			m->refused_logged_at = now;
		}
		en->refused_logged = true;
		return false;
	}
	struct con_session *s = session_new(m, en->id, t);
	pthread_t th;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	int rc = s == NULL ? ENOMEM : pthread_create(&th, &attr, session_main, s);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		session_free(s);
		log_event(LOG_WARN, "console: cannot start a capture", "machine", en->id, "error",
			  strerror(rc), NULL);
		m->open_errors++;
		return false;
	}
	en->session = s;
	en->refused_logged = false;
	m->sessions++;
	m->started++;
	return true;
}

void con_capture(struct con_manager *m, const char *machine_id, const struct bmc_target *t)
{
	if (m == NULL || machine_id == NULL || strlen(machine_id) >= ID_MAX)
		return;
	pthread_mutex_lock(&m->mu);
	struct con_entry *en = t != NULL ? entry_get(m, machine_id) : entry_find(m, machine_id);
	if (m->closing || en == NULL) {
		pthread_mutex_unlock(&m->mu);
		return;
	}
	if (t == NULL) {
		if (en->session != NULL)
			en->session->stop = true;
		en->unsupported[0] = '\0'; /* the next capture may find another driver */
		pthread_cond_broadcast(&m->wake_cv);
	} else if (en->session != NULL) {
		en->session->stop = false; /* asked again before it ended: keep it */
	} else if (t->driver == NULL || strcmp(en->unsupported, t->driver) != 0) {
		session_start(m, en, t);
	}
	pthread_mutex_unlock(&m->mu);
}

/* The view of the bytes after `after` (m->mu held); false when out of memory. */
static bool view_fill(struct con_manager *m, const char *id, bool has_after, uint64_t after,
		      struct con_view *v, bool *any)
{
	struct con_entry *en = entry_find(m, id);
	struct con_slice sl = {0};
	char *raw = NULL;
	size_t n = 0;

	if (en != NULL && en->ring.buf != NULL) {
		raw = malloc(en->ring.cap);
		if (raw == NULL)
			return false;
		n = con_ring_read(&en->ring, has_after, after, raw, en->ring.cap, &sl);
	}
	free(v->text);
	v->text = con_text(raw != NULL ? raw : "", n);
	free(raw);
	v->start = sl.start;
	v->end = sl.end;
	v->truncated = sl.truncated;
	v->capturing = en != NULL && en->session != NULL && !en->session->stop;
	/* something new to show: bytes, or an offset of another stream answered */
	*any = n > 0 || (has_after && after != sl.start);
	return v->text != NULL;
}

int con_read(struct con_manager *m, const char *machine_id, bool has_after, uint64_t after,
	     int wait_ms, const atomic_bool *stop, struct con_view *v)
{
	int64_t until = util_now_ms() + (wait_ms > 0 ? wait_ms : 0);
	bool any = false;
	int rc = 0;

	*v = (struct con_view){0};
	if (m == NULL) { /* no capture in this process: an empty console */
		v->text = strdup("");
		return v->text != NULL ? 0 : -1;
	}
	pthread_mutex_lock(&m->mu);
	for (;;) {
		if (!view_fill(m, machine_id, has_after, after, v, &any)) {
			rc = -1;
			break;
		}
		int64_t now = util_now_ms();
		if (any || now >= until || m->closing || (stop != NULL && atomic_load(stop)))
			break;
		util_cond_wait_until_ms(&m->data_cv, &m->mu,
					now + 1000 < until ? now + 1000 : until);
	}
	pthread_mutex_unlock(&m->mu);
	if (rc != 0) {
		free(v->text);
		v->text = NULL;
	}
	return rc;
}

void con_metrics(struct con_manager *m, void (*emit)(void *ctx, const char *line), void *ctx)
{
	const struct util_lines o = {emit, ctx};
	struct {
		int sessions, limit, nentries;
		unsigned long long started, refused, bytes, open_errors, read_errors;
	} c;

	pthread_mutex_lock(&m->mu);
	c.sessions = m->sessions, c.limit = m->lim.max_sessions, c.nentries = m->nentries;
	c.started = m->started, c.refused = m->refused, c.bytes = m->bytes;
	c.open_errors = m->open_errors, c.read_errors = m->read_errors;
	pthread_mutex_unlock(&m->mu);
	util_metric_one(&o, "console_sessions", "gauge", "Serial console capture sessions running",
			c.sessions);
	util_metric_one(&o, "console_sessions_limit", "gauge", "[console] max_sessions", c.limit);
	util_metric_one(&o, "console_sessions_started_total", "counter", "Capture sessions started",
			(long long)c.started);
	util_metric_one(&o, "console_sessions_refused_total", "counter",
			"Captures not started: max_sessions reached", (long long)c.refused);
	util_metric_one(&o, "console_bytes_total", "counter", "Console bytes captured",
			(long long)c.bytes);
	util_metric_head(&o, "console_errors_total", "counter",
			 "Console capture failures, by stage");
	util_linef(&o, "provisiond_console_errors_total{stage=\"open\"} %llu", c.open_errors);
	util_linef(&o, "provisiond_console_errors_total{stage=\"read\"} %llu", c.read_errors);
	util_metric_one(&o, "console_buffers", "gauge", "Machines whose console buffer is kept",
			c.nentries);
}
