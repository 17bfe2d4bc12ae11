/* main.c - provisiond: composes inventory, SKU catalog, BMC layer, lifecycle
 * engine and the two HTTP listeners; handles --init and signals. */
#include "provisiond/api.h"
#include "provisiond/args.h"
#include "provisiond/ratelimit.h"
#include "provisiond/routes.h"
#include "provisiond/app.h"
#include "provisiond/dnsmasq.h"
#include "provisiond/image_fetcher.h"
#include "provisiond/bmc/bmc.h"
#include "provisiond/console/console.h"
#include "provisiond/lifecycle/lifecycle.h"
#include "provisiond/log.h"
#include "provisiond/notify.h"
#include "provisiond/replica.h"
#include "provisiond/events.h"
#include "skus/sku.h"

#include <errno.h>
#include <jansson.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uuid/uuid.h>

static void copy_opt(char *dst, size_t len, const char *v)
{
	if (v)
		snprintf(dst, len, "%s", v);
}

static void print_problem(void *ctx, const struct err *e)
{
	(void)ctx;
	fprintf(stderr, "provisiond: %s\n", e->message);
}

/* --check-config: every problem of the file and of the SKU catalog it
 * names, each as FILE:LINE: message. 2 if there was one, else 0. */
static int check_config(const struct daemon_args *args)
{
	struct config c;
	config_defaults(&c);
	int problems = args->config ? config_check(&c, args->config, print_problem, NULL) : 0;
	copy_opt(c.skus_dir, sizeof c.skus_dir, args->skus);
	struct sku_catalog *cat = NULL;
	struct err e = {0};
	if (sku_catalog_load_dir(c.skus_dir, &cat, &e) != ERR_OK) {
		print_problem(NULL, &e);
		problems++;
	}
	sku_catalog_free(cat);
	if (!problems)
		printf("provisiond: configuration %s and SKU catalog %s are valid\n",
		       args->config ? args->config : "(defaults)", c.skus_dir);
	return problems ? 2 : 0;
}

static int setup_config(struct app *a, const struct daemon_args *args)
{
	struct err e = {0};
	config_defaults(&a->cfg);
	if (args->config && config_load(&a->cfg, args->config, &e) != ERR_OK) {
		fprintf(stderr, "provisiond: %s\n", e.message);
		return -1;
	}
	copy_opt(a->cfg.db_path, sizeof a->cfg.db_path, args->db);
	copy_opt(a->cfg.listen, sizeof a->cfg.listen, args->listen);
	copy_opt(a->cfg.boot_listen, sizeof a->cfg.boot_listen, args->boot_listen);
	copy_opt(a->cfg.skus_dir, sizeof a->cfg.skus_dir, args->skus);
	copy_opt(a->cfg.admin_token_file, sizeof a->cfg.admin_token_file, args->token_file);
	if (!a->cfg.key_file[0] && !inv_database_is_file(a->cfg.db_path)) {
		fprintf(stderr, "provisiond: database.path is a PostgreSQL database: set "
				"database.key_file (no file beside it to derive it from)\n");
		return -1;
	}
	if (!a->cfg.key_file[0] && snprintf(a->cfg.key_file, sizeof a->cfg.key_file, "%s.key",
					    a->cfg.db_path) >= (int)sizeof a->cfg.key_file) {
		fprintf(stderr, "provisiond: database.path is too long to derive key_file\n");
		return -1;
	}
	/* With a fixed boot port the URL is known now (dnsmasq needs it before
	 * the listeners start); port 0 is filled in once bound. */
	const char *colon = strrchr(a->cfg.boot_listen, ':');
	if (!a->cfg.boot_url[0] && colon && strcmp(colon, ":0") != 0 &&
	    strncmp(a->cfg.boot_listen, "0.0.0.0:", 8) != 0)
		snprintf(a->cfg.boot_url, sizeof a->cfg.boot_url, "http://%.200s",
			 a->cfg.boot_listen);
	enum log_level lvl;
	if (log_level_from_name(a->cfg.log_level, &lvl) != 0) {
		fprintf(stderr, "provisiond: log.level must be debug, info, warn or error\n");
		return -1;
	}
	log_set_level(lvl);
	return 0;
}

static int write_secret_file(const char *path, const char *secret)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	fchmod(fd, 0600);
	size_t n = strlen(secret);
	int rc = write(fd, secret, n) == (ssize_t)n && write(fd, "\n", 1) == 1 ? 0 : -1;
	return close(fd) == 0 ? rc : -1;
}

static int do_init(struct app *a)
{
	char path[600], secret[80], db[256];
	inv_database_display(a->cfg.db_path, db, sizeof db);
	if (a->cfg.admin_token_file[0])
		snprintf(path, sizeof path, "%s", a->cfg.admin_token_file);
	else if (inv_database_is_file(a->cfg.db_path))
		snprintf(path, sizeof path, "%s.admin-token", a->cfg.db_path);
	else
		return fprintf(stderr, "provisiond: --init with a PostgreSQL database needs"
				       " database.admin_token_file or --token-file\n"),
		       -1;
	struct inv_token t = {0};
	uuid_t u;
	uuid_generate_random(u);
	uuid_unparse_lower(u, t.id);
	snprintf(t.role, sizeof t.role, "admin");
	snprintf(t.name, sizeof t.name, "initial-admin");
	struct inv_err e = {0};
	if (tok_new_secret(secret, sizeof secret) != 0)
		return fprintf(stderr, "provisiond: no randomness\n"), -1;
	tok_hash(secret, t.hash);
	if (inv_token_create(a->inv, &t, "provisiond --init", "", &e) != INV_OK ||
	    write_secret_file(path, secret) != 0) {
		fprintf(stderr, "provisiond: cannot create the admin token in %s: %s\n", path,
			e.message[0] ? e.message : strerror(errno));
		return -1;
	}
	printf("database %s ready (schema %d); admin token written to %s\n", db,
	       inv_schema_version(), path);
	return 0;
}

/* --init-if-new: whether there is anything to initialise. An existing
 * database with its key file is left alone, so a service may run this
 * before every start without adding an admin token each time. A
 * PostgreSQL database is a server's: there the key file alone decides. */
static bool init_needed(const struct config *c)
{
	bool file = inv_database_is_file(c->db_path);
	if ((!file || access(c->db_path, F_OK) == 0) && access(c->key_file, F_OK) == 0) {
		char db[256];
		inv_database_display(c->db_path, db, sizeof db);
		printf("database %s and key file %s exist: nothing to initialise\n", db,
		       c->key_file);
		return false;
	}
	return true;
}

/* The key that seals BMC passwords in the database. --init creates the
 * key file when there is none (never over one: the passwords sealed with
 * it would be lost); a start needs it. */
static int load_key(const struct config *c, bool init, struct inv_key *key)
{
	struct inv_err e = {0};
	if (init) {
		enum inv_status s = inv_key_create(c->key_file, &e);
		if (s == INV_OK)
			printf("key file %s created: back it up apart from the database "
			       "(docs/operations.md, \"Backups\")\n",
			       c->key_file);
		else if (s != INV_DUPLICATE)
			return fprintf(stderr, "provisiond: %s\n", e.message), -1;
	}
	if (inv_key_load(c->key_file, key, &e) != INV_OK) {
		fprintf(stderr, "provisiond: %s%s\n", e.message,
			e.status == INV_NOT_FOUND
			    ? " (provisiond --init creates it; see docs/operations.md)"
			    : "");
		return -1;
	}
	return 0;
}

enum err_status app_reload_catalog(struct app *a, struct err *e)
{
	struct sku_catalog *c = NULL;
	enum err_status rc = sku_catalog_load_dir(a->cfg.skus_dir, &c, e);
	if (rc != ERR_OK)
		return rc;
	pthread_rwlock_wrlock(&a->catalog_lock);
	struct sku_catalog *old = a->catalog;
	a->catalog = c;
	pthread_rwlock_unlock(&a->catalog_lock);
	sku_catalog_free(old);
	return ERR_OK;
}

/* The fleet freeze as stored. Starting without knowing it could run power
 * and deploy actions an operator stopped, so a failed read fails the start. */
static int load_freeze(struct app *a)
{
	char *v = NULL;
	struct inv_err e = {0};
	if (inv_setting_get(a->inv, "freeze", &v, &e) != INV_OK) {
		log_event(LOG_ERROR, "cannot read the fleet freeze", "error", e.message, NULL);
		return -1;
	}
	json_t *o = v ? json_loads(v, 0, NULL) : NULL;
	atomic_store(&a->frozen, json_is_true(json_object_get(o, "frozen")));
	json_decref(o);
	free(v);
	return 0;
}

static struct bmc_manager *make_bmc(const struct config *c)
{
	struct bmc_limits l;
	bmc_limits_default(&l);
	l.call_timeout_ms = c->bmc_call_timeout_ms;
	l.max_concurrent = c->bmc_max_concurrent;
	l.retries = c->bmc_retries;
	l.breaker_threshold = c->bmc_breaker_threshold;
	l.breaker_cooldown_ms = c->bmc_breaker_cooldown_ms;
	l.confirm_timeout_ms = c->bmc_confirm_timeout_ms;
	return bmc_manager_new(&l);
}

/* Whether a machine's console is still captured (asked by capture sessions): its
 * state says so; a machine gone is not; an inventory that cannot answer keeps it. */
static bool console_wanted(void *arg, const char *id)
{
	struct app *a = arg;
	struct inv_machine m = {0};
	struct inv_err e = {0};
	enum inv_status st = inv_machine_get(a->inv, id, &m, &e);
	bool want = st == INV_OK ? lc_console_state(m.state) : st != INV_NOT_FOUND;
	inv_machine_clear(&m);
	return want;
}

static struct con_manager *make_console(struct app *a)
{
	struct con_limits l;
	con_limits_default(&l);
	l.buffer_kib = a->cfg.console_buffer_kib;
	l.max_sessions = a->cfg.console_max_sessions;
	l.max_buffers = a->cfg.console_max_buffers;
	return con_manager_new(a->bmc, &l, console_wanted, a);
}

static int start_http(struct app *a, char *err, size_t errlen)
{
	struct http_opts o = {.name = "api",
			      .threads = a->cfg.http_threads,
			      .workers = a->cfg.api_workers,
			      .max_queue = a->cfg.max_queue,
			      .connection_limit = a->cfg.connection_limit,
			      .client_connection_limit = a->cfg.client_connection_limit,
			      .connection_timeout_s = a->cfg.request_timeout_s,
			      .max_body = 1024 * 1024,
			      .max_streams = a->cfg.max_streams};
	struct http_table api = api_http_table(api_routes, api_nroutes);
	a->api = http_start(a->cfg.listen, &api, a, &o, err, errlen);
	o.netns = a->cfg.boot_netns[0] ? a->cfg.boot_netns : NULL;
	if (!a->api)
		return -1;
	if (!a->cfg.boot_listen[0] || !(a->roles & CONFIG_ROLE_BOOT))
		return 0;
	o.name = "boot";
	o.workers = a->cfg.boot_workers;
	o.max_body = 256 * 1024; /* agent reports are a few KiB of facts */
	o.max_streams = 0;	 /* the boot plane has no streams */
	struct http_table boot = api_http_table(boot_routes, boot_nroutes);
	a->boot = http_start(a->cfg.boot_listen, &boot, a, &o, err, errlen);
	if (a->boot && !a->cfg.boot_url[0]) {
		/* machines reach the boot listener where it listens */
		char host[128];
		snprintf(host, sizeof host, "%s", a->cfg.boot_listen);
		char *colon = strrchr(host, ':');
		if (colon)
			*colon = 0;
		if (strcmp(host, "0.0.0.0") == 0) {
			snprintf(err, errlen,
				 "server.boot_url is required when boot_listen is 0.0.0.0");
			return -1;
		}
		snprintf(a->cfg.boot_url, sizeof a->cfg.boot_url, "http://%s:%d", host,
			 http_port(a->boot));
	}
	return a->boot ? 0 : -1;
}

static void write_ready_file(struct app *a, const char *path)
{
	if (!path)
		return;
	char tmp[600];
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	if (!f)
		return;
	fprintf(f, "%d %d\n", http_port(a->api), a->boot ? http_port(a->boot) : 0);
	fclose(f);
	rename(tmp, path);
}

/* Wakes the boot listener's parked long-polls when the inventory changes
 * (a command queued, a session revoked), at most ten times a second so a
 * fleet of heartbeats does not turn into a storm of re-runs. */
static void *notifier_main(void *arg)
{
	struct app *a = arg;
	uint64_t seen = inv_change_counter(a->inv);
	while (!atomic_load(&a->draining)) {
		if (inv_wait_change(a->inv, &seen, 1000)) {
			http_wake_parked(a->boot);
			lc_kick(a->lc);	      /* another replica may have woken a machine */
			(void)load_freeze(a); /* or set the freeze */
		} else /* a quiet second: if writes were failing, do they work again? */
			inv_storage_probe(a->inv);
		util_sleep_ms(100);
	}
	return NULL;
}

/* Everything that serves, in order; 0 or 1 with the reason on stderr. */
static int start_services(struct app *a)
{
	char err[512];
	struct err e = {0};
	a->roles = config_roles(a->cfg.replica_roles);
	if (app_reload_catalog(a, &e) != ERR_OK) {
		fprintf(stderr, "provisiond: SKU catalog %s: %s\n", a->cfg.skus_dir, e.message);
		return 1;
	}
	if (load_freeze(a) != 0)
		return 1;
	a->discovery_rl =
	    rl_new(a->cfg.discovery_rate_per_min, a->cfg.discovery_rate_per_min, 1024);
	if (a->cfg.token_rate_per_s > 0)
		a->token_rl = rl_new(a->cfg.token_rate_per_s * 60, a->cfg.token_burst, 4096);
	if (!a->discovery_rl || (a->cfg.token_rate_per_s > 0 && !a->token_rl)) {
		fprintf(stderr, "provisiond: out of memory\n");
		return 1;
	}
	if ((a->roles & CONFIG_ROLE_BOOT) &&
	    boot_dnsmasq_start(&a->cfg, &a->dnsmasq, &e) != ERR_OK) {
		fprintf(stderr, "provisiond: dnsmasq: %s\n", e.message);
		return 1;
	}
	boot_dnsmasq_sync(a->dnsmasq, a->inv);
	if (image_fetcher_start(a, &a->fetcher, &e) != ERR_OK) {
		fprintf(stderr, "provisiond: %s\n", e.message);
		return 1;
	}
	snprintf(err, sizeof err, "out of memory");
	if (!(a->bmc = make_bmc(&a->cfg)) || !(a->console = make_console(a)) ||
	    start_http(a, err, sizeof err) != 0) {
		fprintf(stderr, "provisiond: %s\n", err);
		return 1;
	}
	if (!(a->replica = replica_start(a->inv, a->bmc, &a->cfg, err, sizeof err))) {
		fprintf(stderr, "provisiond: %s\n", err);
		return 1;
	}
	if (((a->roles & CONFIG_ROLE_ENGINE) && lc_start(a, &a->lc, &e) != ERR_OK) ||
	    event_hub_start(a, &a->events, &e) != ERR_OK) {
		fprintf(stderr, "provisiond: %s\n", e.message);
		return 1;
	}
	return 0;
}

static int serve(struct app *a, const struct daemon_args *args, sigset_t *sigs)
{
	struct err e = {0};
	pthread_t notifier;
	if (start_services(a) != 0 || pthread_create(&notifier, NULL, notifier_main, a) != 0)
		return 1;
	atomic_store(&a->ready, true);
	write_ready_file(a, args->ready_file);
	char ports[32];
	snprintf(ports, sizeof ports, "%d", http_port(a->api));
	char db[256];
	inv_database_display(a->cfg.db_path, db, sizeof db);
	log_event(LOG_INFO, "provisiond ready", "listen", a->cfg.listen, "port", ports, "db", db,
		  NULL);
	/* both listeners serve, the database is open, the engine runs */
	svc_notify_ready(a->cfg.listen);
	for (;;) {
		int sig = 0;
		sigwait(sigs, &sig);
		if (sig != SIGHUP)
			break;
		svc_notify_reloading();
		if (app_reload_catalog(a, &e) == ERR_OK)
			log_event(LOG_INFO, "SKU catalog reloaded", "dir", a->cfg.skus_dir, NULL);
		else {
			atomic_fetch_add(&a->catalog_reload_failures, 1);
			log_event(LOG_ERROR, "SKU catalog reload failed; keeping the old one",
				  "error", e.message, NULL);
		}
		svc_notify_ready(a->cfg.listen);
	}
	svc_notify_stopping();
	log_event(LOG_INFO, "draining", NULL);
	atomic_store(&a->ready, false);
	atomic_store(&a->draining, true);
	pthread_join(notifier, NULL);
	event_hub_stop(a->events); /* event streams end */
	http_quiesce(a->api);
	http_quiesce(a->boot);
	http_stop(a->api, 10000);
	http_stop(a->boot, 10000);
	event_hub_free(a->events); /* no stream reads it any more */
	lc_stop(a->lc);
	replica_stop(a->replica);
	con_manager_free(a->console); /* before the BMC manager its sessions use */
	a->console = NULL;
	boot_dnsmasq_stop(a->dnsmasq);
	rl_free(a->discovery_rl);
	rl_free(a->token_rl);
	log_event(LOG_INFO, "stopped", NULL);
	return 0;
}

int main(int argc, char **argv)
{
	struct daemon_args args = {0};
	struct app *a = calloc(1, sizeof *a);
	if (!a || daemon_parse_args(argc, argv, &args) != 0)
		return 2;
	if (args.check_config) {
		free(a);
		return check_config(&args);
	}
	if (setup_config(a, &args) != 0)
		return 2;
	if (args.init_if_new && !(args.init = init_needed(&a->cfg))) {
		free(a);
		return 0;
	}
	/* glibc gives threads their own malloc arenas, up to 8 per core, and
	 * each keeps what was freed in it: with ~100 threads (API and boot
	 * workers, engine, BMC calls) that is memory held, not used. One arena
	 * per core (at least two) keeps contention as low as more would. */
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	mallopt(M_ARENA_MAX, cores > 2 ? (int)cores : 2);
	/* Signals are taken by sigwait in the main thread only. */
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* The database holds BMC credentials: files we create are ours only. */
	umask(0077);
	pthread_rwlock_init(&a->catalog_lock, NULL);
	if (args.write_dnsmasq) {
		struct err de = {0};
		if (boot_dnsmasq_write(&a->cfg, &de) != ERR_OK) {
			fprintf(stderr, "provisiond: dnsmasq: %s\n", de.message);
			return 1;
		}
		return 0;
	}
	struct inv_err e = {0};
	struct inv_key key;
	int rc = 1;
	if (load_key(&a->cfg, args.init, &key) == 0) {
		enum inv_status st = inv_open(a->cfg.db_path, &key, &a->inv, &e);
		inv_key_clear(&key);
		if (st != INV_OK)
			fprintf(stderr, "provisiond: %s\n", e.message);
		else
			rc = args.init ? (do_init(a) == 0 ? 0 : 1) : serve(a, &args, &sigs);
	}
	image_fetcher_stop(a->fetcher); /* a transfer in progress stops within a second */
	con_manager_free(a->console);
	bmc_manager_free(a->bmc);
	inv_close(a->inv);
	sku_catalog_free(a->catalog);
	pthread_rwlock_destroy(&a->catalog_lock);
	free(a);
	return rc;
}
