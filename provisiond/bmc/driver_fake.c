/* driver_fake.c - the "fake" BMC: a machine per key kept in memory by the manager.
 *
 * Options (all optional): sku (string, read by other layers), delay_ms (sleep per
 * call) + delay_jitter_ms (up to this much more, at random), agent_ms and
 * agent_jitter_ms (the simulated agent's work, read by other layers), warm_ms (its boot
 * when a warm pool warms the machine, read by other layers), fail_rate (0..1, read by
 * other layers), fail_image (an image whose write fails, read by other layers), unreachable (every
 * open times out like a dead BMC), settle_ms (a power change shows in power_get only after this
 * long), hang_ms (every call sleeps this long ignoring its timeout: a stuck library call, for the
 * watchdog's tests), timeout_ms (common). Any address is accepted. */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "provisiond/bmc/driver.h"
#include "provisiond/bmc/fake.h"
#include "provisiond/bmc/options.h"
#include "util/util.h"

enum fk_call { FK_OPEN, FK_GET, FK_SET, FK_BOOT, FK__COUNT };
static const char *const fk_call_names[FK__COUNT] = {"open", "power_get", "power_set", "boot_set"};

struct fake_machine {
	struct fake_machine *next;
	char *key;
	enum bmc_power_state power, shown; /* power_get says shown until visible_at */
	long long visible_at;
	enum bmc_boot_device boot;
	bool persistent;
	char history[512];
	int in_flight, max_in_flight;
	int calls[FK__COUNT];
	enum bmc_status inject_st[FK__COUNT];
	int inject_n[FK__COUNT];
};

struct fake_priv {
	pthread_mutex_t mu; /* guards everything here and in the machines */
	struct fake_machine *machines;
	int in_flight, max_in_flight;
};

struct fake_conf {
	long long delay_ms, jitter_ms, settle_ms, hang_ms;
	bool unreachable;
};

struct fake_inst {
	struct fake_priv *p;
	struct fake_machine *fm;
	struct fake_conf c;
	char label[300];
	long long claim_epoch; /* the target's: for the call log */
};

static const char *const fake_keys[] = {
    "sku",	 "delay_ms",	"delay_jitter_ms", "agent_ms", "agent_jitter_ms",
    "fail_rate", "unreachable", "settle_ms",	   "hang_ms",  "timeout_ms",
    "deploy",	 "fail_image",	"warm_ms",	   NULL};
/* deploy: "fake" simulates the agent; "pxe" uses the real boot plane (a
 * test or a person plays the machine and runs the agent). */
static const char *const deploy_choices[] = {"fake", "pxe", NULL};

static enum bmc_status fake_parse(const json_t *o, struct fake_conf *c, struct bmc_error *e)
{
	const char *sku;
	double rate;
	int deploy;
	long long agent_ms;
	enum bmc_status st = bmc_opts_check_keys(o, "fake", fake_keys, e);

	if (st == BMC_OK)
		st = bmc_opt_string(o, "sku", NULL, &sku, e);
	if (st == BMC_OK)
		st = bmc_opt_int(o, "delay_ms", 0, 600000, 0, &c->delay_ms, e);
	if (st == BMC_OK)
		st = bmc_opt_int(o, "delay_jitter_ms", 0, 600000, 0, &c->jitter_ms, e);
	if (st == BMC_OK) /* read by the fake deploy interface; checked here */
		st = bmc_opt_int(o, "agent_ms", 0, 3600000, 0, &agent_ms, e);
	if (st == BMC_OK)
		st = bmc_opt_int(o, "agent_jitter_ms", 0, 3600000, 0, &agent_ms, e);
	if (st == BMC_OK)
		st = bmc_opt_int(o, "warm_ms", 0, 3600000, 0, &agent_ms, e);
	if (st == BMC_OK)
		st = bmc_opt_number(o, "fail_rate", 0.0, 1.0, 0.0, &rate, e);
	if (st == BMC_OK) /* read by the fake deploy interface */
		st = bmc_opt_string(o, "fail_image", NULL, &sku, e);
	if (st == BMC_OK)
		st = bmc_opt_bool(o, "unreachable", false, &c->unreachable, e);
	if (st == BMC_OK)
		st = bmc_opt_int(o, "settle_ms", 0, 600000, 0, &c->settle_ms, e);
	if (st == BMC_OK)
		st = bmc_opt_int(o, "hang_ms", 0, 600000, 0, &c->hang_ms, e);
	if (st == BMC_OK)
		st = bmc_opt_choice(o, "deploy", deploy_choices, 0, &deploy, e);
	return st;
}

static enum bmc_status fake_validate(const struct bmc_target *t, const json_t *opts,
				     struct bmc_error *e)
{
	struct fake_conf c;

	(void)t;
	return fake_parse(opts, &c, e);
}

static int fake_init(void **priv)
{
	struct fake_priv *p = calloc(1, sizeof(*p));

	if (p == NULL || pthread_mutex_init(&p->mu, NULL) != 0) {
		free(p);
		return -1;
	}
	*priv = p;
	return 0;
}

static void fake_fini(void *priv)
{
	struct fake_priv *p = priv;
	struct fake_machine *fm, *next;

	for (fm = p->machines; fm != NULL; fm = next) {
		next = fm->next;
		free(fm->key);
		free(fm);
	}
	pthread_mutex_destroy(&p->mu);
	free(p);
}

/* Caller holds p->mu. */
static struct fake_machine *machine_find(struct fake_priv *p, const char *key, bool create)
{
	struct fake_machine *fm;

	for (fm = p->machines; fm != NULL; fm = fm->next)
		if (strcmp(fm->key, key) == 0)
			return fm;
	if (!create || (fm = calloc(1, sizeof(*fm))) == NULL)
		return NULL;
	if ((fm->key = strdup(key)) == NULL) {
		free(fm);
		return NULL;
	}
	fm->power = fm->shown = BMC_POWER_OFF;
	fm->boot = BMC_BOOT_DISK;
	fm->persistent = true;
	fm->next = p->machines;
	p->machines = fm;
	return fm;
}

static void history_add(struct fake_machine *fm, const char *what)
{
	size_t n = strlen(fm->history);

	if (n + strlen(what) + 2 < sizeof(fm->history))
		snprintf(fm->history + n, sizeof(fm->history) - n, "%s%s", n ? "," : "", what);
}

/* With PROVISIOND_FAKE_CALL_LOG set (tests of several replicas), every
 * call appends "MS PID KEY CALL EPOCH" (the claim's epoch it was sent under,
 * 0 none) to that file when it starts, and "MS PID KEY done:CALL EPOCH"
 * when it returns: which process called which machine's BMC when. One write(2) per line with
 * O_APPEND: lines of several processes do not interleave. */
static void log_call(const struct fake_inst *in, enum fk_call k, const char *prefix)
{
	const char *path = getenv("PROVISIOND_FAKE_CALL_LOG");
	if (!path || !*path)
		return;
	char line[400];
	int n = snprintf(line, sizeof line, "%lld %d %s %s%s %lld\n", (long long)util_wall_ms(),
			 (int)getpid(), in->fm->key, prefix, fk_call_names[k], in->claim_epoch);
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	if (n > 0 && n < (int)sizeof line && write(fd, line, (size_t)n) < 0)
		n = -1; /* a test's log: nothing to do about a failed write */
	close(fd);
}

/* Counts the call and picks an injected failure; *injected is BMC_OK if none. */
static void fake_enter(struct fake_inst *in, enum fk_call k, enum bmc_status *injected)
{
	struct fake_priv *p = in->p;
	struct fake_machine *fm = in->fm;

	log_call(in, k, "");
	pthread_mutex_lock(&p->mu);
	fm->calls[k]++;
	if (++p->in_flight > p->max_in_flight)
		p->max_in_flight = p->in_flight;
	if (++fm->in_flight > fm->max_in_flight)
		fm->max_in_flight = fm->in_flight;
	*injected = BMC_OK;
	if (fm->inject_n[k] > 0) {
		fm->inject_n[k]--;
		*injected = fm->inject_st[k];
	}
	pthread_mutex_unlock(&p->mu);
}

static void fake_leave(struct fake_inst *in, enum fk_call k)
{
	pthread_mutex_lock(&in->p->mu);
	in->p->in_flight--;
	in->fm->in_flight--;
	pthread_mutex_unlock(&in->p->mu);
	log_call(in, k, "done:");
}

/* The BMC's think time, then the injected failure if any. */
static enum bmc_status fake_wait(struct fake_inst *in, int timeout_ms, enum bmc_status injected,
				 struct bmc_error *e)
{
	static __thread unsigned seed;
	if (!seed)
		seed = (unsigned)util_rng_seed();
	long long delay =
	    in->c.delay_ms + (in->c.jitter_ms > 0 ? rand_r(&seed) % (in->c.jitter_ms + 1) : 0);
	util_sleep_ms(in->c.hang_ms);
	if (delay > timeout_ms) {
		util_sleep_ms(timeout_ms);
		return bmc_error_set(e, BMC_ERR_TIMEOUT, NULL,
				     "BMC at %s did not answer within %d ms", in->label,
				     timeout_ms);
	}
	util_sleep_ms(delay);
	if (injected != BMC_OK)
		return bmc_error_set(e, injected, NULL, "BMC at %s: injected failure (%s)",
				     in->label, bmc_status_name(injected));
	return BMC_OK;
}

static enum bmc_status fake_open(void *priv, const struct bmc_target *t, const json_t *opts,
				 int timeout_ms, void **out, struct bmc_error *e)
{
	struct fake_inst *in = calloc(1, sizeof(*in));
	enum bmc_status st, injected;

	if (in == NULL)
		return bmc_error_set(e, BMC_ERR_FAILED, NULL, "out of memory");
	in->p = priv;
	in->claim_epoch = (long long)t->claim_epoch;
	if (t->address != NULL && t->address[0] != '\0')
		snprintf(in->label, sizeof(in->label), "%s", t->address);
	else
		snprintf(in->label, sizeof(in->label), "fake://%s", t->key);
	st = fake_parse(opts, &in->c, e);
	pthread_mutex_lock(&in->p->mu);
	in->fm = st == BMC_OK ? machine_find(in->p, t->key, true) : NULL;
	pthread_mutex_unlock(&in->p->mu);
	if (st == BMC_OK && in->fm == NULL)
		st = bmc_error_set(e, BMC_ERR_FAILED, NULL, "out of memory");
	if (st != BMC_OK) {
		free(in);
		return st;
	}
	fake_enter(in, FK_OPEN, &injected);
	if (in->c.unreachable) {
		util_sleep_ms(timeout_ms);
		st = bmc_error_set(e, BMC_ERR_UNREACHABLE, NULL,
				   "no answer from BMC at %s within %d ms", in->label, timeout_ms);
	} else {
		st = fake_wait(in, timeout_ms, injected, e);
	}
	fake_leave(in, FK_OPEN);
	if (st != BMC_OK) {
		free(in);
		return st;
	}
	*out = in;
	return BMC_OK;
}

static void fake_close(void *inst)
{
	free(inst);
}

static enum bmc_status fake_power_get(void *inst, int timeout_ms, enum bmc_power_state *out,
				      struct bmc_error *e)
{
	struct fake_inst *in = inst;
	enum bmc_status st, injected;

	fake_enter(in, FK_GET, &injected);
	st = fake_wait(in, timeout_ms, injected, e);
	if (st == BMC_OK) {
		pthread_mutex_lock(&in->p->mu);
		*out = util_now_ms() < in->fm->visible_at ? in->fm->shown : in->fm->power;
		pthread_mutex_unlock(&in->p->mu);
	}
	fake_leave(in, FK_GET);
	return st;
}

/* Caller holds p->mu. What power_get shows until the change settles. */
static void apply_power(struct fake_inst *in, enum bmc_power_action a)
{
	struct fake_machine *fm = in->fm;
	long long now = util_now_ms();
	enum bmc_power_state before = now < fm->visible_at ? fm->shown : fm->power;

	fm->shown = before;
	fm->power = (a == BMC_POWER_ACTION_OFF || a == BMC_POWER_ACTION_SOFT_OFF) ? BMC_POWER_OFF
										  : BMC_POWER_ON;
	if (a == BMC_POWER_ACTION_CYCLE)
		fm->shown = BMC_POWER_OFF;
	fm->visible_at = now + in->c.settle_ms;
	history_add(fm, bmc_power_action_name(a));
}

static enum bmc_status fake_power_set(void *inst, int timeout_ms, enum bmc_power_action a,
				      struct bmc_error *e)
{
	struct fake_inst *in = inst;
	enum bmc_status st, injected;

	fake_enter(in, FK_SET, &injected);
	st = fake_wait(in, timeout_ms, injected, e);
	if (st == BMC_OK) {
		pthread_mutex_lock(&in->p->mu);
		apply_power(in, a);
		pthread_mutex_unlock(&in->p->mu);
	}
	fake_leave(in, FK_SET);
	return st;
}

static enum bmc_status fake_boot_set(void *inst, int timeout_ms, enum bmc_boot_device d,
				     bool persistent, struct bmc_error *e)
{
	struct fake_inst *in = inst;
	enum bmc_status st, injected;
	char what[64];

	fake_enter(in, FK_BOOT, &injected);
	st = fake_wait(in, timeout_ms, injected, e);
	if (st == BMC_OK) {
		snprintf(what, sizeof(what), "boot:%s:%s", bmc_boot_device_name(d),
			 persistent ? "persistent" : "next");
		pthread_mutex_lock(&in->p->mu);
		in->fm->boot = d;
		in->fm->persistent = persistent;
		history_add(in->fm, what);
		pthread_mutex_unlock(&in->p->mu);
	}
	fake_leave(in, FK_BOOT);
	return st;
}

/* A fake machine's serial console: it connects and stays silent, so the console
 * module's sessions (start, bound, stop) run against fake fleets too. */
static enum bmc_status fake_console_open(void *priv, const struct bmc_target *t, const json_t *opts,
					 int timeout_ms, void **cs, struct bmc_error *e)
{
	static char silent; /* nothing to hold: any non-NULL handle will do */

	(void)priv, (void)t, (void)opts, (void)timeout_ms, (void)e;
	*cs = &silent;
	return BMC_OK;
}

static enum bmc_status fake_console_read(void *cs, char *buf, size_t len, int wait_ms, size_t *got,
					 struct bmc_error *e)
{
	(void)cs, (void)buf, (void)len, (void)e;
	util_sleep_ms(wait_ms);
	*got = 0;
	return BMC_OK;
}

static void fake_console_close(void *cs)
{
	(void)cs;
}

const struct bmc_driver bmc_driver_fake = {
    .name = "fake",
    .caps = BMC_CAP_SOFT_OFF | BMC_CAP_BOOT_NEXT | BMC_CAP_BOOT_PERSISTENT | BMC_CAP_CYCLE_AT_ONCE,
    .init = fake_init,
    .fini = fake_fini,
    .validate = fake_validate,
    .open = fake_open,
    .close = fake_close,
    .power_get = fake_power_get,
    .power_set = fake_power_set,
    .boot_set = fake_boot_set,
    .console_open = fake_console_open,
    .console_read = fake_console_read,
    .console_close = fake_console_close,
};

/* Public peek and test controls. */

static struct fake_priv *priv_of(struct bmc_manager *m)
{
	return bmc_manager_driver_priv(m, &bmc_driver_fake);
}

int bmc_fake_peek(struct bmc_manager *m, const char *key, enum bmc_power_state *power,
		  enum bmc_boot_device *boot, bool *persistent)
{
	struct fake_priv *p = priv_of(m);
	struct fake_machine *fm;

	if (p == NULL || key == NULL)
		return -1;
	pthread_mutex_lock(&p->mu);
	fm = machine_find(p, key, false);
	if (fm != NULL && power != NULL)
		*power = util_now_ms() < fm->visible_at ? fm->shown : fm->power;
	if (fm != NULL && boot != NULL)
		*boot = fm->boot;
	if (fm != NULL && persistent != NULL)
		*persistent = fm->persistent;
	pthread_mutex_unlock(&p->mu);
	return fm != NULL ? 0 : -1;
}

static int call_index(const char *call)
{
	for (int i = 0; call != NULL && i < FK__COUNT; i++)
		if (strcmp(fk_call_names[i], call) == 0)
			return i;
	return -1;
}

int bmc_fake_inject(struct bmc_manager *m, const char *key, const char *call, enum bmc_status st,
		    int count)
{
	struct fake_priv *p = priv_of(m);
	struct fake_machine *fm;
	int k = call_index(call);

	if (p == NULL || key == NULL || k < 0)
		return -1;
	pthread_mutex_lock(&p->mu);
	fm = machine_find(p, key, true);
	if (fm != NULL) {
		fm->inject_st[k] = st;
		fm->inject_n[k] = count;
	}
	pthread_mutex_unlock(&p->mu);
	return fm != NULL ? 0 : -1;
}

int bmc_fake_history(struct bmc_manager *m, const char *key, char *buf, size_t len)
{
	struct fake_priv *p = priv_of(m);
	struct fake_machine *fm;
	int n = -1;

	if (p == NULL || key == NULL)
		return -1;
	pthread_mutex_lock(&p->mu);
	fm = machine_find(p, key, false);
	if (fm != NULL)
		n = snprintf(buf, len, "%s", fm->history);
	pthread_mutex_unlock(&p->mu);
	return n;
}

int bmc_fake_calls(struct bmc_manager *m, const char *key, const char *call)
{
	struct fake_priv *p = priv_of(m);
	struct fake_machine *fm;
	int k = call_index(call), n = 0;

	if (p == NULL || key == NULL || k < 0)
		return -1;
	pthread_mutex_lock(&p->mu);
	fm = machine_find(p, key, false);
	n = fm ? fm->calls[k] : 0;
	pthread_mutex_unlock(&p->mu);
	return n;
}

int bmc_fake_max_in_flight(struct bmc_manager *m)
{
	struct fake_priv *p = priv_of(m);
	int n;

	if (p == NULL)
		return -1;
	pthread_mutex_lock(&p->mu);
	n = p->max_in_flight;
	pthread_mutex_unlock(&p->mu);
	return n;
}

int bmc_fake_max_in_flight_key(struct bmc_manager *m, const char *key)
{
	struct fake_priv *p = priv_of(m);
	struct fake_machine *fm;
	int n;

	if (p == NULL || key == NULL)
		return -1;
	pthread_mutex_lock(&p->mu);
	fm = machine_find(p, key, false);
	n = fm ? fm->max_in_flight : 0;
	pthread_mutex_unlock(&p->mu);
	return n;
}
