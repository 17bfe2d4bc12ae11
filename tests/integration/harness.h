/* harness.h - integration test harness: runs the real provisiond binary on a
 * temporary directory (SQLite file, INI config, JSON log), talks to it over
 * loopback HTTP with libcurl, reads its database read-only with SQLite and
 * runs provisionctl as a subprocess.
 *
 * Deadlines in the wait helpers are generous on purpose: these are
 * correctness tests, never timing assertions.
 *
 * Thread-safety: h_request()/h_call() and the read helpers may be called
 * from several threads on one daemon; start/stop/kill/restart may not run
 * concurrently with anything else on the same daemon. */
#ifndef PROVISIOND_TESTS_HARNESS_H
#define PROVISIOND_TESTS_HARNESS_H

#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/util.h"

#define H_ID_LEN 37
#define H_TOKEN_LEN 128

struct h_daemon {
	char dir[256];	    /* temporary directory, removed by h_stop() */
	char db[320];	    /* DIR/p.db, or a PostgreSQL schema's conninfo (h_pg()) */
	char pg_schema[48]; /* that schema ("" on SQLite) */
	char ini[320];	    /* DIR/p.ini */
	char log[320];	    /* DIR/log: the daemon's stderr (JSON lines), appended */
	char ready[320];    /* DIR/ready */
	char images[320];   /* DIR/images: [boot] images_dir, the image store */
	char url[64];	    /* http://127.0.0.1:PORT */
	pid_t pid;	    /* 0 when not running */
	/* atomic: h_request() from other threads may race h_restart() */
	atomic_int port, boot_port;
	char admin[H_TOKEN_LEN]; /* the admin token written by --init */
	/* When set, every response body is scanned for this string and
	 * leaks counts the bodies that contain it. */
	char secret[128];
	atomic_int leaks;
};

/* Creates the temp dir and its image store DIR/images, writes the config
 * ("[boot] images_dir", "[lifecycle]" short settings plus extra_ini, may be
 * NULL, appended in [lifecycle]), runs --init and starts the daemon. 0 ok. */
int h_start(struct h_daemon *d, const char *extra_ini);
/* Starts another replica on first's database (PostgreSQL: its schema, key
 * file and admin token), in a directory of its own; extra_ini as h_start's.
 * 0 ok. */
int h_start_replica(struct h_daemon *d, const struct h_daemon *first, const char *extra_ini);
/* Starts the daemon again on the same DB (after h_kill9 or h_term). */
int h_restart(struct h_daemon *d);
/* SIGKILL and reap. */
void h_kill9(struct h_daemon *d);
/* SIGTERM, waits for the exit (SIGKILL after 30 s); returns the exit status
 * (0 clean, 128+N killed by signal N, -1 not running). */
int h_term(struct h_daemon *d);
/* h_term() if running, then removes the temp dir (kept when the
 * environment has PROVISIOND_IT_KEEP=1). Returns h_term's status. */
int h_stop(struct h_daemon *d);
/* Lines of the daemon log that report sanitizer errors (0 expected). */
int h_log_sanitizer_reports(const struct h_daemon *d);
/* A cmocka teardown for *state = the h_daemon: stops it; fails on a bad
 * exit or sanitizer reports. */
int h_teardown(void **state);

/* ------------------------------------------------------------------ HTTP */
struct h_resp {
	long status;  /* 0: no HTTP answer (transport error) */
	json_t *json; /* parsed body (any JSON) or NULL */
	char *body;   /* raw body, NUL-terminated, never NULL after a call */
	size_t body_len;
	char request_id[128];  /* X-Request-Id of the answer */
	char retry_after[32];  /* Retry-After or "" */
	char content_type[96]; /* Content-Type or "" */
	bool ended;	       /* h_stream: the server ended the answer */
};
void h_resp_clear(struct h_resp *r);

/* One request. token NULL sends no Authorization; body NULL sends none;
 * headers is a NULL-terminated list of "Name: value" or NULL. Returns the
 * HTTP status (0 on transport error). out may be NULL. */
long h_request(struct h_daemon *d, const char *token, const char *method, const char *path,
	       const char *body, size_t body_len, const char *const *headers, struct h_resp *out);
/* GET of a streaming answer (server-sent events): reads until the body
 * holds `until` (NULL: until max_ms) or max_ms pass, then hangs up. Returns
 * the HTTP status (0 when no answer began); out gets what was read
 * (out->json stays NULL for an event stream). */
long h_stream(struct h_daemon *d, const char *token, const char *path, const char *until,
	      int max_ms, struct h_resp *out);
/* The same on the boot/agent listener (body: JSON text or NULL). */
long h_boot_request(struct h_daemon *d, const char *token, const char *method, const char *path,
		    const char *body, struct h_resp *out);
/* GET on the boot/agent listener with headers (as h_request's). */
long h_boot_get(struct h_daemon *d, const char *path, const char *const *headers,
		struct h_resp *out);
/* The value of "provisiond.KEY=" in an iPXE script (a boot answer's body)
 * into out, or "". */
void h_script_arg(const char *script, const char *key, char *out, size_t len);
/* Same with a JSON body (stolen; NULL for none). */
long h_call(struct h_daemon *d, const char *token, const char *method, const char *path,
	    json_t *body, struct h_resp *out);
/* error.code / error.field / error.message of an error answer, "" if none. */
const char *h_err_code(const struct h_resp *r);
const char *h_err_field(const struct h_resp *r);
const char *h_err_message(const struct h_resp *r);
/* A string member of the JSON object answer, "" if absent. */
const char *h_str(const struct h_resp *r, const char *key);

/* --------------------------------------------------------------- fixtures */
/* 52:54:00:XX:YY:ZZ from n. */
void h_mac(unsigned n, char out[18]);
/* Creates a token; secret into out. Returns the HTTP status (201). */
long h_token(struct h_daemon *d, const char *role, const char *owner, char out[H_TOKEN_LEN]);
/* Enrolls a fake machine (mac from mac_n); id into id_out (may be NULL).
 * Returns the HTTP status (201). */
long h_enroll_fake(struct h_daemon *d, const char *name, unsigned mac_n, const char *sku,
		   int delay_ms, double fail_rate, char id_out[H_ID_LEN]);
/* A pool of fake machines for h_pool: n of sku named prefix-0.., MACs from
 * mac_base on, delay_ms per BMC call, at where[i] ("site/rack"; where NULL:
 * no location). */
struct h_pool_spec {
	const char *prefix, *sku;
	unsigned mac_base;
	int n, delay_ms;
	const char *const *where;
};
/* Enrolls the pool and waits (120 s) until n more machines of its sku are
 * available; ids into ids when not NULL. 0, or -1 (said on stderr). */
int h_pool(struct h_daemon *d, const struct h_pool_spec *p, char (*ids)[H_ID_LEN]);
/* Sets owner's quota of sku (PUT; -1 removes it). Returns the HTTP status. */
long h_quota(struct h_daemon *d, const char *owner, const char *sku, int machines);
/* Replaces a fake machine's BMC options (PATCH). Returns the HTTP status. */
long h_patch_fake(struct h_daemon *d, const char *id, const char *sku, int delay_ms,
		  double fail_rate);
/* Writes a small file DIR/images/NAME.raw in the image store and registers
 * it as an image (by its absolute path). */
long h_image(struct h_daemon *d, const char *name);
/* POST /v1/allocations; id into id_out when 202. idem_key may be NULL. */
long h_allocate(struct h_daemon *d, const char *token, const char *sku, int count, int min_count,
		const char *image, const char *idem_key, char id_out[H_ID_LEN], struct h_resp *out);
/* A granted allocation as a test keeps it: its id, how many machines the
 * answer named and the first three of their ids. */
struct h_grant {
	char id[H_ID_LEN];
	int n;
	char machines[3][H_ID_LEN];
};
/* Fills g from allocation id and the machines of its 202 answer r. */
void h_grant_record(struct h_grant *g, const char *id, const struct h_resp *r);

/* ------------------------------------------------------------------ waits */
/* Machines in state (NULL any) and sku (NULL any), every page; -1 on error. */
int h_count_machines(struct h_daemon *d, const char *state, const char *sku);
/* Polls until h_count_machines(state, sku) >= n or timeout_s passes. */
bool h_wait_count(struct h_daemon *d, const char *state, const char *sku, int n, int timeout_s);
/* Polls until no machine is in a transitional state (and none enrolled
 * with BMC access still waiting): the engine is idle. */
bool h_wait_quiet(struct h_daemon *d, int timeout_s);
/* Polls GET /v1/machines/{id} until its state is state. */
bool h_wait_machine(struct h_daemon *d, const char *id, const char *state, int timeout_s);
/* Long-polls GET /v1/allocations/{id}?wait= until state or a final state
 * other than it (returns false then). final_out gets the last JSON (may be
 * NULL; caller decrefs). */
bool h_wait_alloc(struct h_daemon *d, const char *token, const char *id, const char *state,
		  int timeout_s, json_t **final_out);
/* Monotonic milliseconds and sleeping, on the real clock (util_real_*). */
int64_t h_now_ms(void);
void h_sleep_ms(int ms);

/* ----------------------------------------------------------- the database */
/* The PostgreSQL server's conninfo when the tests run on PostgreSQL
 * (PROVISIOND_TEST_PG, set by tests/pg_fixture.sh), else NULL: each daemon
 * then gets a schema of its own and h_db_int / h_db_exec run there
 * (h_db_dump and h_db_table_contains are SQLite's only). */
const char *h_pg(void);
/* Reads the database read-only (a separate connection). */
/* First column of the first row as an integer; -1 on error. */
int64_t h_db_int(const struct h_daemon *d, const char *sql);
/* Runs sql read-write: only while the daemon is stopped, to put the
 * database in the state a crash at a chosen point would leave. 0 ok. */
int h_db_exec(const struct h_daemon *d, const char *sql);
/* Every row of the tables, in rowid order, as text (malloc'd). */
char *h_db_dump(const struct h_daemon *d, const char *const *tables);
/* Whether any cell of table contains needle. */
bool h_db_table_contains(const struct h_daemon *d, const char *table, const char *needle);
/* Whether the file contains needle's bytes (binary-safe). */
bool h_file_contains(const char *path, const char *needle);

/* ----------------------------------------------------------- provisionctl */
/* Runs provisionctl argv (NULL-terminated, without the program name) with
 * PROVISIOND_URL and PROVISIOND_TOKEN (token may be NULL) set and HOME /
 * XDG_CONFIG_HOME pointing into the temp dir. Captures stdout and stderr
 * (malloc'd, NUL-terminated; pass NULL to drop). Returns the exit status
 * (128+N killed by signal N, -1 could not run). */
int h_ctl(struct h_daemon *d, const char *token, char **out, char **err, const char *const *argv);

#endif
