/* dnsmasq supervision: start, stop, liveness and restart with backoff.
 * One mutex guards the whole state; the blocking parts (settle after a start,
 * the stop deadline) run under it so that a stop can never race a restart. */
#include "pxe/internal.h"
#include "pxe/pxe.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#define POLL_MS 100
#define REAP_STEP_MS 10

struct pxe_dnsmasq {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	char *conf_arg, *netns, *dnsmasq, *ip, *output;
	int stop_timeout_ms, settle_ms, backoff_min_ms, backoff_max_ms, stable_ms;
	pid_t pid;
	bool wanted;   /* restart when it exits */
	bool shutdown; /* pxe_dnsmasq_run should return */
	unsigned starts;
	int last_exit;
	int64_t started_at, restart_at; /* restart_at < 0: none scheduled */
	int quick_exits;		/* since the last stable run: the backoff's retry */
	char error[256];
};

static enum err_status opt_ms(const char *field, int v, int dflt, int *out, struct err *e)
{
	if (v < 0)
		return pxe_fail(e, ERR_INVALID, field, "%s: negative", field);
	*out = v ? v : dflt;
	return ERR_OK;
}

static enum err_status check_opts(const struct pxe_dnsmasq_opts *o, struct pxe_dnsmasq *d,
				  struct err *e)
{
	enum err_status rc;

	if (!o)
		return pxe_fail(e, ERR_INVALID, "opts", "opts: required");
	if ((rc = pxe_check_path("conf_path", o->conf_path, e)) ||
	    (o->netns && (rc = pxe_check_chars("netns", o->netns, "._-", 64, e))) ||
	    (o->dnsmasq_path && (rc = pxe_check_path("dnsmasq_path", o->dnsmasq_path, e))) ||
	    (o->output_path && (rc = pxe_check_path("output_path", o->output_path, e))))
		return rc;
	if ((rc = opt_ms("stop_timeout_ms", o->stop_timeout_ms, 5000, &d->stop_timeout_ms, e)) ||
	    (rc = opt_ms("settle_ms", o->settle_ms, 300, &d->settle_ms, e)) ||
	    (rc = opt_ms("backoff_min_ms", o->backoff_min_ms, 500, &d->backoff_min_ms, e)) ||
	    (rc = opt_ms("backoff_max_ms", o->backoff_max_ms, 30000, &d->backoff_max_ms, e)) ||
	    (rc = opt_ms("stable_ms", o->stable_ms, 60000, &d->stable_ms, e)))
		return rc;
	if (d->backoff_max_ms < d->backoff_min_ms)
		return pxe_fail(e, ERR_INVALID, "backoff_max_ms",
				"backoff_max_ms: below backoff_min_ms");
	return ERR_OK;
}

static enum err_status fill_paths(const struct pxe_dnsmasq_opts *o, struct pxe_dnsmasq *d,
				  struct err *e)
{
	size_t n = strlen(o->conf_path) + sizeof("--conf-file=");

	d->conf_arg = malloc(n);
	if (d->conf_arg)
		snprintf(d->conf_arg, n, "--conf-file=%s", o->conf_path);
	d->dnsmasq = o->dnsmasq_path ? strdup(o->dnsmasq_path) : pxe_dnsmasq_find();
	d->netns = o->netns ? strdup(o->netns) : NULL;
	d->ip = o->netns ? pxe_find_program("ip") : NULL;
	d->output = o->output_path ? strdup(o->output_path) : NULL;
	if (!d->conf_arg || (o->netns && !d->netns) || (o->output_path && !d->output))
		return pxe_fail(e, ERR_INTERNAL, NULL, "out of memory");
	if (!d->dnsmasq)
		return pxe_fail(e, ERR_NOT_FOUND, NULL,
				"dnsmasq_path: dnsmasq not found in PATH, /usr/sbin or /sbin");
	if (o->netns && !d->ip)
		return pxe_fail(e, ERR_NOT_FOUND, NULL,
				"netns: the ip program (iproute2) was not found");
	return ERR_OK;
}

static int init_sync(struct pxe_dnsmasq *d)
{
	if (util_cond_init(&d->cv))
		return -1;
	if (pthread_mutex_init(&d->mu, NULL)) {
		pthread_cond_destroy(&d->cv);
		return -1;
	}
	return 0;
}

static void free_fields(struct pxe_dnsmasq *d)
{
	free(d->conf_arg);
	free(d->netns);
	free(d->dnsmasq);
	free(d->ip);
	free(d->output);
	free(d);
}

enum err_status pxe_dnsmasq_new(const struct pxe_dnsmasq_opts *o, struct pxe_dnsmasq **out,
				struct err *e)
{
	struct pxe_dnsmasq *d = calloc(1, sizeof(*d));
	enum err_status rc;

	*out = NULL;
	if (!d)
		return pxe_fail(e, ERR_INTERNAL, NULL, "out of memory");
	d->last_exit = -1;
	d->restart_at = -1;
	if ((rc = check_opts(o, d, e)) || (rc = fill_paths(o, d, e))) {
		free_fields(d);
		return rc;
	}
	if (init_sync(d)) {
		free_fields(d);
		return pxe_fail(e, ERR_INTERNAL, NULL, "cannot initialise mutex/condvar");
	}
	*out = d;
	return ERR_OK;
}

static void schedule_restart_locked(struct pxe_dnsmasq *d)
{
	/* no jitter: one dnsmasq per host, nothing to spread */
	d->restart_at = util_now_ms() +
			util_backoff_exp_ms(d->quick_exits, d->backoff_min_ms, d->backoff_max_ms);
	d->quick_exits += d->quick_exits < 64;
}

/* Collects an exited child; schedules its restart when one is wanted. */
static bool reap_locked(struct pxe_dnsmasq *d, int options)
{
	int status;
	pid_t r;

	if (!d->pid)
		return false;
	while ((r = waitpid(d->pid, &status, options)) < 0 && errno == EINTR)
		;
	if (r == 0)
		return false;
	/* r < 0 (ECHILD): reaped elsewhere against the contract; treat as gone. */
	d->last_exit = r > 0 ? status : -1;
	d->pid = 0;
	if (d->wanted) {
		if (util_now_ms() - d->started_at >= d->stable_ms)
			d->quick_exits = 0;
		schedule_restart_locked(d);
	}
	return true;
}

static void describe_exit(int status, char *buf, size_t size)
{
	if (status >= 0 && WIFEXITED(status))
		snprintf(buf, size, "exit status %d", WEXITSTATUS(status));
	else if (status >= 0 && WIFSIGNALED(status))
		snprintf(buf, size, "signal %d", WTERMSIG(status));
	else
		snprintf(buf, size, "unknown status");
}

static enum err_status spawn_locked(struct pxe_dnsmasq *d, struct err *e)
{
	char *plain[] = {d->dnsmasq, "--keep-in-foreground", d->conf_arg, NULL};
	/* `ip netns exec` execs dnsmasq in place, so the pid stays dnsmasq's. */
	char *ns[] = {d->ip,	   "netns", "exec", d->netns, d->dnsmasq, "--keep-in-foreground",
		      d->conf_arg, NULL};
	struct pxe_spawn s = {.argv = d->netns ? ns : plain,
			      .output_path = d->output,
			      .output_fd = -1,
			      .own_session = true};
	char how[64];
	enum err_status rc = pxe_spawn(&s, &d->pid, e);

	if (rc) {
		d->pid = 0;
		return rc;
	}
	d->started_at = util_now_ms();
	while (util_now_ms() - d->started_at < d->settle_ms) {
		util_sleep_ms(REAP_STEP_MS);
		if (reap_locked(d, WNOHANG)) {
			describe_exit(d->last_exit, how, sizeof(how));
			return pxe_fail(e, ERR_IO, NULL,
					"dnsmasq exited during startup (%s); see %s", how,
					d->output ? d->output : "its log-facility");
		}
	}
	d->starts++;
	return ERR_OK;
}

/* Starts now; a failure is remembered and retried after the backoff. */
static enum err_status start_locked(struct pxe_dnsmasq *d, struct err *e)
{
	struct err why = {0};
	enum err_status rc;

	d->wanted = true;
	d->restart_at = -1;
	rc = spawn_locked(d, &why);
	if (rc) {
		snprintf(d->error, sizeof(d->error), "%.*s", (int)sizeof(d->error) - 1,
			 why.message);
		if (e)
			*e = why;
		if (d->restart_at < 0) /* not yet scheduled by reap_locked */
			schedule_restart_locked(d);
	}
	return rc;
}

static enum err_status stop_locked(struct pxe_dnsmasq *d, struct err *e)
{
	int64_t deadline = util_now_ms() + d->stop_timeout_ms;

	d->wanted = false;
	d->restart_at = -1;
	if (!d->pid)
		return ERR_OK;
	if (kill(d->pid, SIGTERM) && errno != ESRCH)
		return pxe_fail(e, ERR_IO, NULL, "kill %d: %s", (int)d->pid, strerror(errno));
	while (!reap_locked(d, WNOHANG)) {
		if (util_now_ms() >= deadline) {
			kill(d->pid, SIGKILL);
			reap_locked(d, 0);
			break;
		}
		util_sleep_ms(REAP_STEP_MS);
	}
	return ERR_OK;
}

static enum err_status poll_locked(struct pxe_dnsmasq *d, struct err *e)
{
	reap_locked(d, WNOHANG);
	if (d->pid || !d->wanted || d->restart_at < 0 || util_now_ms() < d->restart_at)
		return ERR_OK;
	return start_locked(d, e);
}

enum err_status pxe_dnsmasq_start(struct pxe_dnsmasq *d, struct err *e)
{
	enum err_status rc;

	pthread_mutex_lock(&d->mu);
	reap_locked(d, WNOHANG);
	if (d->pid)
		rc = pxe_fail(e, ERR_CONFLICT, NULL, "dnsmasq already running (pid %d)",
			      (int)d->pid);
	else
		rc = start_locked(d, e);
	pthread_mutex_unlock(&d->mu);
	return rc;
}

enum err_status pxe_dnsmasq_stop(struct pxe_dnsmasq *d, struct err *e)
{
	enum err_status rc;

	pthread_mutex_lock(&d->mu);
	rc = stop_locked(d, e);
	pthread_mutex_unlock(&d->mu);
	return rc;
}

bool pxe_dnsmasq_alive(struct pxe_dnsmasq *d)
{
	bool alive;

	pthread_mutex_lock(&d->mu);
	reap_locked(d, WNOHANG);
	alive = d->pid != 0;
	pthread_mutex_unlock(&d->mu);
	return alive;
}

enum err_status pxe_dnsmasq_reload(struct pxe_dnsmasq *d, struct err *e)
{
	enum err_status rc = ERR_OK;

	pthread_mutex_lock(&d->mu);
	reap_locked(d, WNOHANG);
	if (!d->pid)
		rc = pxe_fail(e, ERR_CONFLICT, NULL, "dnsmasq is not running");
	else if (kill(d->pid, SIGHUP))
		rc = pxe_fail(e, ERR_IO, NULL, "kill %d: %s", (int)d->pid, strerror(errno));
	pthread_mutex_unlock(&d->mu);
	return rc;
}

enum err_status pxe_dnsmasq_poll(struct pxe_dnsmasq *d, struct err *e)
{
	enum err_status rc;

	pthread_mutex_lock(&d->mu);
	rc = poll_locked(d, e);
	pthread_mutex_unlock(&d->mu);
	return rc;
}

static void wait_poll_interval_locked(struct pxe_dnsmasq *d)
{
	util_cond_wait_until_ms(&d->cv, &d->mu, util_now_ms() + POLL_MS);
}

enum err_status pxe_dnsmasq_run(struct pxe_dnsmasq *d)
{
	struct err why = {0};
	enum err_status rc;

	pthread_mutex_lock(&d->mu);
	d->wanted = true;
	if (!d->pid && d->restart_at < 0)
		d->restart_at = util_now_ms();
	while (!d->shutdown) {
		poll_locked(d, NULL);
		wait_poll_interval_locked(d);
	}
	rc = stop_locked(d, &why);
	if (rc)
		snprintf(d->error, sizeof(d->error), "%.*s", (int)sizeof(d->error) - 1,
			 why.message);
	pthread_mutex_unlock(&d->mu);
	return rc;
}

void pxe_dnsmasq_shutdown(struct pxe_dnsmasq *d)
{
	pthread_mutex_lock(&d->mu);
	d->shutdown = true;
	pthread_cond_broadcast(&d->cv);
	pthread_mutex_unlock(&d->mu);
}

void pxe_dnsmasq_info(struct pxe_dnsmasq *d, struct pxe_dnsmasq_info *out)
{
	int64_t left;

	pthread_mutex_lock(&d->mu);
	reap_locked(d, WNOHANG);
	left = d->restart_at - util_now_ms();
	out->pid = d->pid;
	out->starts = d->starts;
	out->last_exit = d->last_exit;
	out->next_restart_ms = d->pid || d->restart_at < 0 ? -1 : (left > 0 ? (long)left : 0);
	snprintf(out->error, sizeof(out->error), "%s", d->error);
	pthread_mutex_unlock(&d->mu);
}

void pxe_dnsmasq_free(struct pxe_dnsmasq *d)
{
	if (!d)
		return;
	pxe_dnsmasq_stop(d, NULL);
	pthread_mutex_destroy(&d->mu);
	pthread_cond_destroy(&d->cv);
	free_fields(d);
}
