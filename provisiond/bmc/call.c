/* call.c - every driver slot runs here, on its own short-lived thread, so that a
 * timeout holds even for a library call that cannot be bounded (a DNS lookup in
 * libfreeipmi, a remote libvirt connection that hangs).
 *
 * Why a thread per call: a BMC call costs milliseconds to seconds, a thread a few
 * tens of microseconds, and only a separate thread lets the caller walk away from a
 * stuck call. When it does, the stuck call keeps the BMC's turn (busy flag) and its
 * global slot until it returns, so a hung BMC never gets a second concurrent call and
 * shows up as "busy" rather than being hammered. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provisiond/bmc/manager.h"
#include "provisiond/bmc/options.h"

struct job {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int refs;
	bool done, abandoned;

	struct bmc_manager *m;
	const struct bmc_driver *drv;
	int drv_index;
	void *priv;
	int timeout_ms;
	struct bmc_call_args args;
	void *inst;		  /* in: open instance; out for OPEN */
	struct bmc_target_copy t; /* OPEN only */
	char *url;		  /* MEDIA_INSERT: owned copy */
	json_t *opts;		  /* OPEN only: owned */
	struct bmc_entry *entry;  /* released by the job when abandoned */
	int64_t claim_epoch;	  /* asked of the gate again before the driver runs */
	char label[128];	  /* "BMC at <label>" */
	bool refused;		  /* the gate refused it: not sent */

	enum bmc_status st;
	struct bmc_error err;
};

/* The watchdog is for calls that hang, not for calls a loaded machine scheduled a
 * little late: a driver that bounds its own I/O must get to report its own error. */
int bmc_call_grace_ms(int timeout_ms)
{
	int g = timeout_ms / 4;

	return g < 250 ? 250 : (g > 2000 ? 2000 : g);
}

static void job_unref(struct job *j)
{
	bool last;

	pthread_mutex_lock(&j->mu);
	last = --j->refs == 0;
	pthread_mutex_unlock(&j->mu);
	if (!last)
		return;
	bmc_target_copy_free(&j->t);
	free(j->url);
	json_decref(j->opts);
	pthread_cond_destroy(&j->cv);
	pthread_mutex_destroy(&j->mu);
	free(j);
}

static enum bmc_status job_run(struct job *j, struct bmc_error *e)
{
	struct bmc_call_args *a = &j->args;
	const struct bmc_driver *d = j->drv;

	switch (a->kind) {
	case BMC_CALL_OPEN:
		return d->open(j->priv, &j->t.t, j->opts, j->timeout_ms, &j->inst, e);
	case BMC_CALL_POWER_GET:
		return d->power_get(j->inst, j->timeout_ms, &a->power, e);
	case BMC_CALL_POWER_SET:
		return d->power_set(j->inst, j->timeout_ms, a->action, e);
	case BMC_CALL_BOOT_SET:
		return d->boot_set(j->inst, j->timeout_ms, a->device, a->persistent, e);
	case BMC_CALL_MEDIA_INSERT:
		return d->media_insert(j->inst, j->timeout_ms, j->url, e);
	case BMC_CALL_MEDIA_EJECT:
		return d->media_eject(j->inst, j->timeout_ms, e);
	case BMC_CALL__COUNT:
		break;
	}
	return bmc_error_set(e, BMC_ERR_FAILED, NULL, "internal: bad call kind");
}

/* The caller left: give back what it handed over, then let the manager go. */
static void job_cleanup_abandoned(struct job *j)
{
	struct bmc_manager *m = j->m;

	if (j->inst != NULL && j->drv->close != NULL)
		j->drv->close(j->inst);
	j->inst = NULL;
	bmc_entry_unbusy(m, j->entry);
	pthread_mutex_lock(&m->mu);
	m->abandoned--;
	pthread_cond_broadcast(&m->idle_cv);
	pthread_mutex_unlock(&m->mu);
}

/* Whether the replica's gate refuses a call under claim_epoch (e says why). */
static bool gate_refuses(struct bmc_manager *m, int64_t claim_epoch, const char *label,
			 struct bmc_error *e)
{
	char why[200];
	if (!m->gate || m->gate(m->gate_ctx, claim_epoch, why, sizeof why))
		return false;
	bmc_error_set(e, BMC_ERR_BUSY, NULL, "BMC at %s: not sent: %s", label, why);
	return true;
}

static void *job_main(void *arg)
{
	struct job *j = arg;
	struct bmc_error err;
	enum bmc_status st;
	bool abandoned;

	bmc_error_clear(&err);
	/* asked again here: the caller asked before it waited for a slot and
	 * for this thread, and the replica may have been fenced meanwhile */
	if (gate_refuses(j->m, j->claim_epoch, j->label, &err)) {
		j->refused = true;
		st = BMC_ERR_BUSY;
	} else {
		bmc_metrics_call(j->m, j->drv_index, j->args.kind);
		st = job_run(j, &err);
	}
	if (st != BMC_OK && err.status == BMC_OK) /* a driver that forgot its message */
		bmc_error_set(&err, st, NULL, "driver %s: %s", j->drv->name, bmc_status_name(st));
	bmc_slot_release(j->m);
	pthread_mutex_lock(&j->mu);
	j->st = st;
	j->err = err;
	j->done = true;
	abandoned = j->abandoned;
	pthread_cond_signal(&j->cv);
	pthread_mutex_unlock(&j->mu);
	if (abandoned)
		job_cleanup_abandoned(j);
	job_unref(j);
	return NULL;
}

/* OPEN runs on after an abandon, so it needs its own copies of the target. */
static int job_copy_target(struct job *j, const struct bmc_session *s)
{
	int rc = bmc_target_copy(&j->t, s->t);

	j->opts = json_deep_copy(s->opts);
	return (rc != 0 || j->opts == NULL) ? -1 : 0;
}

static struct job *job_new(struct bmc_session *s, const struct bmc_call_args *a)
{
	struct job *j = calloc(1, sizeof(*j));

	if (j == NULL)
		return NULL;
	if (pthread_mutex_init(&j->mu, NULL) != 0) {
		free(j);
		return NULL;
	}
	if (util_cond_init(&j->cv) != 0) {
		pthread_mutex_destroy(&j->mu);
		free(j);
		return NULL;
	}
	j->refs = 1;
	j->m = s->m;
	j->drv = s->drv;
	j->drv_index = s->drv_index;
	j->priv = bmc_manager_driver_priv(s->m, s->drv);
	j->timeout_ms = s->timeout_ms;
	j->args = *a;
	j->inst = s->inst;
	j->entry = s->entry;
	j->claim_epoch = s->t->claim_epoch;
	snprintf(j->label, sizeof j->label, "%s", s->label);
	/* an abandoned call runs on after the caller's strings are gone */
	if (a->url != NULL && (j->url = strdup(a->url)) == NULL) {
		job_unref(j);
		return NULL;
	}
	if (a->kind == BMC_CALL_OPEN && job_copy_target(j, s) != 0) {
		job_unref(j);
		return NULL;
	}
	return j;
}

static int job_start(struct job *j)
{
	pthread_attr_t attr;
	pthread_t tid;
	int rc;

	if (pthread_attr_init(&attr) != 0)
		return -1;
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	j->refs = 2;
	rc = pthread_create(&tid, &attr, job_main, j);
	pthread_attr_destroy(&attr);
	if (rc != 0)
		j->refs = 1;
	return rc == 0 ? 0 : -1;
}

/* Waits for the job; on timeout hands it the instance and the BMC's turn. Returns
 * true when the job finished. */
static bool job_wait(struct bmc_session *s, struct job *j)
{
	long long deadline = util_now_ms() + s->timeout_ms + bmc_call_grace_ms(s->timeout_ms);
	bool done;

	pthread_mutex_lock(&j->mu);
	while (!j->done && util_cond_wait_until_ms(&j->cv, &j->mu, deadline) != ETIMEDOUT)
		;
	done = j->done;
	if (!done) {
		/* counted before the job can see the flag and count itself out */
		j->abandoned = true;
		pthread_mutex_lock(&s->m->mu);
		s->m->abandoned++;
		pthread_mutex_unlock(&s->m->mu);
	}
	pthread_mutex_unlock(&j->mu);
	if (!done) {
		s->inst = NULL;
		s->entry_given_away = true;
		bmc_metrics_abandoned(s->m, s->drv_index);
	}
	return done;
}

enum bmc_status bmc_call(struct bmc_session *s, struct bmc_call_args *a, struct bmc_error *e)
{
	enum bmc_status st;
	struct job *j;

	a->ran = false;
	if (gate_refuses(s->m, s->t->claim_epoch, s->label, e))
		return BMC_ERR_BUSY;
	/* per call, not per operation: a long confirmation must not run out of queue */
	st = bmc_slot_acquire(s->m, util_now_ms() + s->m->lim.queue_timeout_ms, e);
	if (st != BMC_OK)
		return st;
	j = job_new(s, a);
	if (j == NULL || job_start(j) != 0) {
		bmc_slot_release(s->m);
		if (j != NULL)
			job_unref(j);
		return bmc_error_set(e, BMC_ERR_FAILED, NULL,
				     "cannot start a thread for a call to BMC at %s", s->label);
	}
	a->ran = true;
	bool reached = s->reached;
	s->reached = true;
	if (!job_wait(s, j)) {
		job_unref(j);
		s->last_call = BMC_ERR_TIMEOUT;
		return bmc_error_set(e, BMC_ERR_TIMEOUT, NULL,
				     "BMC at %s: driver %s did not return from %s within %d ms "
				     "(left running; the BMC stays locked until it returns)",
				     s->label, s->drv->name, bmc_call_kind_name(a->kind),
				     s->timeout_ms + bmc_call_grace_ms(s->timeout_ms));
	}
	st = j->st;
	if (j->refused) { /* not sent: the breaker learns nothing from it */
		a->ran = false;
		s->reached = reached;
	}
	if (st != BMC_OK)
		*e = j->err;
	else if (a->kind == BMC_CALL_OPEN)
		s->inst = j->inst;
	a->power = j->args.power;
	s->last_call = st;
	job_unref(j);
	return st;
}
