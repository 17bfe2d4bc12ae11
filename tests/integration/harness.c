/* harness.c - see harness.h. */
#include "harness.h"

#include "inventory/internal.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define START_TIMEOUT_MS 60000
#define TERM_TIMEOUT_MS 30000

/* After "[boot] images_dir = DIR/images"; extra_ini goes on after it. */
static const char base_ini[] = "[lifecycle]\n"
			       "workers = 8\n"
			       "backoff_base_ms = 50\n"
			       "backoff_max_ms = 200\n"
			       "max_attempts = 3\n";

/* The daemons are real processes: real time, whatever clock is installed. */
int64_t h_now_ms(void)
{
	return util_real_now_ms();
}

void h_sleep_ms(int ms)
{
	util_real_sleep_ms(ms);
}

static int bin_path(char *out, size_t len, const char *rel)
{
	const char *b = getenv("PROVISIOND_BINARY_DIR");
	char self[512];
	if (!b || !*b) {
		/* run by hand: the test lives in BUILD/tests/ */
		ssize_t k = readlink("/proc/self/exe", self, sizeof self - 1);
		char *slash;
		self[k > 0 ? k : 0] = 0;
		for (int up = 0; up < 2 && (slash = strrchr(self, '/')); up++)
			*slash = 0;
		if (!self[0]) {
			fprintf(stderr, "harness: PROVISIOND_BINARY_DIR is not set\n");
			return -1;
		}
		b = self;
	}
	int n = snprintf(out, len, "%s/%s", b, rel);
	return n > 0 && (size_t)n < len ? 0 : -1;
}

static char *read_file(const char *path, size_t *len_out)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	struct util_buf b = {0};
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		util_buf_append(&b, chunk, n);
	fclose(f);
	return util_buf_take(&b, len_out);
}

static int write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	int rc = fputs(text, f) < 0 ? -1 : 0;
	return fclose(f) == 0 ? rc : -1;
}

static int exit_status(int st)
{
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return -1;
}

/* --------------------------------------------------------------- daemon */

static pid_t spawn(const char *const *argv, const char *out_path, const char *err_path)
{
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	int in = open("/dev/null", O_RDONLY);
	int out = open(out_path, O_WRONLY | O_CREAT | O_APPEND, 0600);
	int err = open(err_path, O_WRONLY | O_CREAT | O_APPEND, 0600);
	if (in < 0 || out < 0 || err < 0)
		_exit(126);
	dup2(in, 0);
	dup2(out, 1);
	dup2(err, 2);
	execv(argv[0], (char *const *)argv);
	_exit(127);
}

static int run_init(struct h_daemon *d)
{
	char bin[512];
	if (bin_path(bin, sizeof bin, "provisiond/provisiond") != 0)
		return -1;
	const char *argv[] = {bin, "--init", "--db", d->db, "--config", d->ini, NULL};
	pid_t pid = spawn(argv, d->log, d->log);
	int st = 0;
	if (pid < 0 || waitpid(pid, &st, 0) != pid || exit_status(st) != 0) {
		fprintf(stderr, "harness: provisiond --init failed (see %s)\n", d->log);
		return -1;
	}
	char path[400];
	snprintf(path, sizeof path, "%s/p.db.admin-token", d->dir);
	char *tok = read_file(path, NULL);
	if (!tok)
		return -1;
	tok[strcspn(tok, "\r\n")] = 0;
	snprintf(d->admin, sizeof d->admin, "%s", tok);
	free(tok);
	return d->admin[0] ? 0 : -1;
}

static int read_ports(struct h_daemon *d)
{
	char *s = read_file(d->ready, NULL);
	if (!s)
		return -1;
	char *end;
	long api = strtol(s, &end, 10);
	long boot = strtol(end, &end, 10);
	free(s);
	if (api <= 0 || api > 65535 || boot < 0 || boot > 65535)
		return -1;
	atomic_store(&d->port, (int)api);
	atomic_store(&d->boot_port, (int)boot);
	snprintf(d->url, sizeof d->url, "http://127.0.0.1:%d", d->port);
	return 0;
}

static int launch(struct h_daemon *d)
{
	char bin[512];
	if (bin_path(bin, sizeof bin, "provisiond/provisiond") != 0)
		return -1;
	unlink(d->ready);
	char out[400];
	snprintf(out, sizeof out, "%s/stdout", d->dir);
	const char *argv[] = {bin,	     "--db",	     d->db,	    "--config",
			      d->ini,	     "--listen",     "127.0.0.1:0", "--boot-listen",
			      "127.0.0.1:0", "--ready-file", d->ready,	    NULL};
	d->pid = spawn(argv, out, d->log);
	if (d->pid < 0) {
		d->pid = 0;
		return -1;
	}
	int64_t deadline = h_now_ms() + START_TIMEOUT_MS;
	while (h_now_ms() < deadline) {
		int st;
		if (waitpid(d->pid, &st, WNOHANG) == d->pid) {
			fprintf(stderr, "harness: provisiond exited with %d at start (see %s)\n",
				exit_status(st), d->log);
			d->pid = 0;
			return -1;
		}
		if (access(d->ready, F_OK) == 0 && read_ports(d) == 0)
			return 0;
		h_sleep_ms(20);
	}
	fprintf(stderr, "harness: provisiond not ready after %d ms (see %s)\n", START_TIMEOUT_MS,
		d->log);
	h_kill9(d);
	return -1;
}

/* ------------------------------------------------------- PostgreSQL */

const char *h_pg(void)
{
	const char *pg = getenv("PROVISIOND_TEST_PG");
	return pg && *pg ? pg : NULL;
}

/* Runs sql on database through the inventory's statement layer. */
static int pg_run(const char *database, const char *sql)
{
	struct inv_conn c = {0};
	struct inv_err err = {0};
	int rc = inv_conn_open(&c, database, true, &err) == INV_OK &&
			 inv_exec_sql(&c, sql, "harness", &err) == INV_OK
		     ? 0
		     : -1;
	if (rc != 0)
		fprintf(stderr, "harness: %s: %s\n", sql, err.message);
	inv_conn_close(&c);
	return rc;
}

static int64_t pg_int(const char *database, const char *sql)
{
	struct inv_conn c = {0};
	struct inv_err err = {0};
	struct inv_q *q = NULL;
	bool row = false;
	int64_t v = -1;
	if (inv_conn_open(&c, database, false, &err) == INV_OK && (q = inv_prep(&c, sql, &err)) &&
	    inv_step(q, &row, "harness", &err) == INV_OK && row)
		v = inv_col_int64(q, 0);
	else
		fprintf(stderr, "harness: %s: %s\n", sql, err.message);
	inv_q_free(q);
	inv_conn_close(&c);
	return v;
}

/* The daemon's database: a new schema of the server tests/pg_fixture.sh
 * started, dropped by h_stop(). */
static int pg_database(struct h_daemon *d)
{
	static atomic_int seq;
	snprintf(d->pg_schema, sizeof d->pg_schema, "it%d_%d", (int)getpid(),
		 atomic_fetch_add(&seq, 1));
	char sql[128];
	snprintf(sql, sizeof sql, "CREATE SCHEMA %s", d->pg_schema);
	if (pg_run(h_pg(), sql) != 0)
		return -1;
	snprintf(d->db, sizeof d->db, "%.200s options='-c search_path=%s'", h_pg(), d->pg_schema);
	return 0;
}

int h_start(struct h_daemon *d, const char *extra_ini)
{
	memset(d, 0, sizeof *d);
	const char *tmp = getenv("TMPDIR");
	snprintf(d->dir, sizeof d->dir, "%s/pvd-it-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(d->dir)) {
		perror("harness: mkdtemp");
		return -1;
	}
	snprintf(d->db, sizeof d->db, "%s/p.db", d->dir);
	if (h_pg() && pg_database(d) != 0)
		return -1;
	snprintf(d->ini, sizeof d->ini, "%s/p.ini", d->dir);
	snprintf(d->log, sizeof d->log, "%s/log", d->dir);
	snprintf(d->ready, sizeof d->ready, "%s/ready", d->dir);
	snprintf(d->images, sizeof d->images, "%s/images", d->dir);
	if (mkdir(d->images, 0700) != 0)
		return -1;
	/* with PostgreSQL nothing derives from the database's path */
	char files[800] = "";
	if (h_pg())
		snprintf(files, sizeof files,
			 "[database]\nkey_file = %s/p.db.key\n"
			 "[auth]\nadmin_token_file = %s/p.db.admin-token\n",
			 d->dir, d->dir);
	size_t n = strlen(base_ini) + strlen(d->images) + strlen(files) +
		   (extra_ini ? strlen(extra_ini) : 0) + 32;
	char *ini = malloc(n);
	if (!ini)
		return -1;
	snprintf(ini, n, "[boot]\nimages_dir = %s\n%s%s%s\n", d->images, files, base_ini,
		 extra_ini ? extra_ini : "");
	int rc = write_file(d->ini, ini);
	free(ini);
	if (rc != 0 || run_init(d) != 0)
		return -1;
	return launch(d);
}

int h_start_replica(struct h_daemon *d, const struct h_daemon *first, const char *extra_ini)
{
	memset(d, 0, sizeof *d);
	const char *tmp = getenv("TMPDIR");
	snprintf(d->dir, sizeof d->dir, "%s/pvd-it-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(d->dir))
		return -1;
	memcpy(d->db, first->db, sizeof d->db);
	/* pg_schema stays empty: the first's h_stop drops the schema */
	memcpy(d->admin, first->admin, sizeof d->admin);
	snprintf(d->ini, sizeof d->ini, "%s/p.ini", d->dir);
	snprintf(d->log, sizeof d->log, "%s/log", d->dir);
	snprintf(d->ready, sizeof d->ready, "%s/ready", d->dir);
	snprintf(d->images, sizeof d->images, "%s", first->images);
	char *ini = NULL;
	if (asprintf(&ini,
		     "[boot]\nimages_dir = %s\n[database]\nkey_file = %s/p.db.key\n"
		     "[auth]\nadmin_token_file = %s/p.db.admin-token\n%s%s\n",
		     first->images, first->dir, first->dir, base_ini,
		     extra_ini ? extra_ini : "") < 0)
		return -1;
	int rc = write_file(d->ini, ini);
	free(ini);
	return rc != 0 ? -1 : launch(d);
}

int h_restart(struct h_daemon *d)
{
	if (d->pid)
		h_kill9(d);
	return launch(d);
}

void h_kill9(struct h_daemon *d)
{
	if (!d->pid)
		return;
	kill(d->pid, SIGKILL);
	int st;
	waitpid(d->pid, &st, 0);
	d->pid = 0;
}

/* The last 6000 bytes of the daemon's log on stderr. */
static void show_log_end(const struct h_daemon *d, int rc)
{
	fprintf(stderr, "harness: provisiond exit status %d; last log lines of %s:\n", rc, d->log);
	size_t len = 0;
	char *log = read_file(d->log, &len);
	if (log) {
		size_t from = len > 6000 ? len - 6000 : 0;
		fputs(log + from, stderr);
		free(log);
	}
}

int h_term(struct h_daemon *d)
{
	if (!d->pid)
		return -1;
	kill(d->pid, SIGTERM);
	int64_t deadline = h_now_ms() + TERM_TIMEOUT_MS;
	int st = 0;
	for (;;) {
		pid_t r = waitpid(d->pid, &st, WNOHANG);
		if (r == d->pid)
			break;
		if (r < 0) {
			d->pid = 0;
			return -1;
		}
		if (h_now_ms() > deadline) {
			fprintf(stderr, "harness: provisiond ignored SIGTERM for %d ms\n",
				TERM_TIMEOUT_MS);
			kill(d->pid, SIGKILL);
			waitpid(d->pid, &st, 0);
			break;
		}
		h_sleep_ms(20);
	}
	d->pid = 0;
	int rc = exit_status(st);
	if (rc != 0) /* why it did not stop cleanly: its last words */
		show_log_end(d, rc);
	return rc;
}

static void remove_tree(const char *dir)
{
	char rm[] = "/bin/rm";
	const char *argv[] = {rm, "-rf", dir, NULL};
	pid_t pid = fork();
	if (pid == 0) {
		execv(rm, (char *const *)argv);
		_exit(127);
	}
	if (pid > 0)
		waitpid(pid, NULL, 0);
}

int h_stop(struct h_daemon *d)
{
	int rc = d->pid ? h_term(d) : 0;
	if (rc == 0 && h_log_sanitizer_reports(d) > 0) /* h_term showed it otherwise */
		show_log_end(d, rc);
	const char *keep = getenv("PROVISIOND_IT_KEEP");
	if (d->pg_schema[0] && !(keep && strcmp(keep, "1") == 0)) {
		char sql[96];
		snprintf(sql, sizeof sql, "DROP SCHEMA %s CASCADE", d->pg_schema);
		(void)pg_run(h_pg(), sql);
		d->pg_schema[0] = '\0';
	}
	if (d->dir[0] && !(keep && strcmp(keep, "1") == 0))
		remove_tree(d->dir);
	else if (d->dir[0])
		fprintf(stderr, "harness: kept %s\n", d->dir);
	return rc;
}

int h_log_sanitizer_reports(const struct h_daemon *d)
{
	char *log = read_file(d->log, NULL);
	if (!log)
		return 0;
	int n = 0;
	static const char *const marks[] = {"ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
					    "runtime error:"};
	for (size_t i = 0; i < ARRAY_SIZE(marks); i++)
		for (const char *p = log; (p = strstr(p, marks[i])); p++)
			n++;
	free(log);
	return n;
}

/* ----------------------------------------------------------------- HTTP */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_ALL);
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
	size_t n = size * nmemb;
	return util_buf_append(ud, data, n) == 0 ? n : 0;
}

static void header_value(const char *line, size_t n, const char *name, char *out, size_t outlen)
{
	size_t k = strlen(name);
	if (n <= k || strncasecmp(line, name, k) != 0 || line[k] != ':')
		return;
	const char *v = line + k + 1;
	const char *end = line + n;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
		end--;
	snprintf(out, outlen, "%.*s", (int)(end - v), v);
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *ud)
{
	struct h_resp *r = ud;
	size_t n = size * nmemb;
	header_value(data, n, "X-Request-Id", r->request_id, sizeof r->request_id);
	header_value(data, n, "Retry-After", r->retry_after, sizeof r->retry_after);
	header_value(data, n, "Content-Type", r->content_type, sizeof r->content_type);
	return n;
}

void h_resp_clear(struct h_resp *r)
{
	if (!r)
		return;
	json_decref(r->json);
	free(r->body);
	memset(r, 0, sizeof *r);
}

static long request_to(struct h_daemon *d, const char *base, const char *token, const char *method,
		       const char *path, const char *body, size_t body_len,
		       const char *const *headers, struct h_resp *out);

long h_request(struct h_daemon *d, const char *token, const char *method, const char *path,
	       const char *body, size_t body_len, const char *const *headers, struct h_resp *out)
{
	char base[64];
	snprintf(base, sizeof base, "http://127.0.0.1:%d", atomic_load(&d->port));
	return request_to(d, base, token, method, path, body, body_len, headers, out);
}

long h_boot_request(struct h_daemon *d, const char *token, const char *method, const char *path,
		    const char *body, struct h_resp *out)
{
	char base[64];
	snprintf(base, sizeof base, "http://127.0.0.1:%d", atomic_load(&d->boot_port));
	return request_to(d, base, token, method, path, body, body ? strlen(body) : 0, NULL, out);
}

long h_boot_get(struct h_daemon *d, const char *path, const char *const *headers,
		struct h_resp *out)
{
	char base[64];
	snprintf(base, sizeof base, "http://127.0.0.1:%d", atomic_load(&d->boot_port));
	return request_to(d, base, NULL, "GET", path, NULL, 0, headers, out);
}

void h_script_arg(const char *script, const char *key, char *out, size_t len)
{
	char pat[64];
	snprintf(pat, sizeof pat, "provisiond.%s=", key);
	const char *p = strstr(script, pat);
	size_t n = p ? strcspn(p + strlen(pat), " \r\n") : 0;
	snprintf(out, len, "%.*s", (int)n, p ? p + strlen(pat) : "");
}

/* With PROVISIOND_API_CAPTURE=DIR, every answer is appended to
 * DIR/PROGRAM-PID.jsonl: one file per test process, so tests running at
 * once never share one. The openapi_responses test checks each against the
 * OpenAPI document (tests/openapi/check-responses.mjs). Bodies that are not
 * JSON are recorded by length only. */
static pthread_mutex_t capture_lock = PTHREAD_MUTEX_INITIALIZER;

static void capture(const struct h_daemon *d, const char *base, const char *method,
		    const char *path, const struct h_resp *r)
{
	const char *dir = getenv("PROVISIOND_API_CAPTURE");
	if (!dir || !*dir || r->status == 0)
		return;
	json_t *o = json_pack("{s:s, s:s, s:s, s:i, s:s, s:I}", "listener",
			      strcmp(base, d->url) == 0 ? "management" : "boot", "method", method,
			      "path", path, "status", (int)r->status, "content_type",
			      r->content_type, "length", (json_int_t)r->body_len);
	if (strncmp(r->content_type, "application/json", 16) == 0 && r->body_len)
		json_object_set_new(o, "body",
				    r->body ? json_stringn(r->body, r->body_len) : json_null());
	char *line = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	char file[512];
	snprintf(file, sizeof file, "%s/%s-%ld.jsonl", dir, program_invocation_short_name,
		 (long)getpid());
	pthread_mutex_lock(&capture_lock);
	FILE *f = fopen(file, "a");
	if (!f || !line || fprintf(f, "%s\n", line) < 0)
		fprintf(stderr, "harness: cannot record the answer of %s %s in %s\n", method, path,
			file);
	if (f)
		fclose(f);
	pthread_mutex_unlock(&capture_lock);
	free(line);
}

static long request_to(struct h_daemon *d, const char *base, const char *token, const char *method,
		       const char *path, const char *body, size_t body_len,
		       const char *const *headers, struct h_resp *out)
{
	pthread_once(&curl_once, curl_init_once);
	struct h_resp local = {0};
	struct h_resp *r = out ? out : &local;
	memset(r, 0, sizeof *r);
	struct util_buf b = {0};
	CURL *c = curl_easy_init();
	if (!c) {
		r->body = calloc(1, 1);
		return 0;
	}
	size_t ulen = strlen(base) + strlen(path) + 1;
	char *url = malloc(ulen);
	snprintf(url, ulen, "%s%s", base, path);
	struct curl_slist *hl = NULL;
	char auth[H_TOKEN_LEN + 32];
	if (token) {
		snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
		hl = curl_slist_append(hl, auth);
	}
	hl = curl_slist_append(hl, "Expect:");
	if (body)
		hl = curl_slist_append(hl, "Content-Type: application/json");
	for (size_t i = 0; headers && headers[i]; i++)
		hl = curl_slist_append(hl, headers[i]);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 180L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
	} else if (strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 ||
		   strcmp(method, "PATCH") == 0) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
	}
	CURLcode cc = curl_easy_perform(c);
	long status = 0;
	if (cc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(c);
	curl_slist_free_all(hl);
	free(url);
	r->status = status;
	r->body = util_buf_take(&b, &r->body_len);
	if (!r->body)
		r->body = calloc(1, 1);
	if (r->body && r->body_len)
		r->json = json_loadb(r->body, r->body_len, 0, NULL);
	capture(d, base, method, path, r);
	if (d->secret[0] && r->body && strstr(r->body, d->secret)) {
		atomic_fetch_add(&d->leaks, 1);
		fprintf(stderr, "harness: secret leaked in %s %s -> %ld: %s\n", method, path,
			status, r->body);
	}
	if (r == &local)
		h_resp_clear(&local);
	return status;
}

struct stream_read {
	struct util_buf b;
	const char *until;
};

static size_t on_stream(char *data, size_t size, size_t nmemb, void *ud)
{
	struct stream_read *s = ud;
	size_t n = size * nmemb;
	if (util_buf_append(&s->b, data, n) != 0)
		return 0;
	return s->until && strstr(s->b.p, s->until) ? 0 : n; /* 0: hang up */
}

long h_stream(struct h_daemon *d, const char *token, const char *path, const char *until,
	      int max_ms, struct h_resp *out)
{
	pthread_once(&curl_once, curl_init_once);
	memset(out, 0, sizeof *out);
	struct stream_read s = {.until = until};
	char url[600], auth[H_TOKEN_LEN + 32];
	snprintf(url, sizeof url, "%s%s", d->url, path);
	struct curl_slist *hl = NULL;
	if (token) {
		snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
		hl = curl_slist_append(hl, auth);
	}
	CURL *c = curl_easy_init();
	long status = 0;
	if (c) {
		curl_easy_setopt(c, CURLOPT_URL, url);
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
		curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
		curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)max_ms);
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_stream);
		curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
		curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
		curl_easy_setopt(c, CURLOPT_HEADERDATA, out);
		/* ends by time or by hanging up (not errors), or by the server */
		out->ended = curl_easy_perform(c) == CURLE_OK;
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
		curl_easy_cleanup(c);
	}
	curl_slist_free_all(hl);
	out->status = status;
	out->body = util_buf_take(&s.b, &out->body_len);
	if (!out->body)
		out->body = calloc(1, 1);
	if (out->body_len && strncmp(out->content_type, "application/json", 16) == 0)
		out->json = json_loadb(out->body, out->body_len, 0, NULL);
	capture(d, d->url, "GET", path, out);
	return status;
}

long h_call(struct h_daemon *d, const char *token, const char *method, const char *path,
	    json_t *body, struct h_resp *out)
{
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	long s = h_request(d, token, method, path, text, text ? strlen(text) : 0, NULL, out);
	free(text);
	return s;
}

static const char *err_member(const struct h_resp *r, const char *key)
{
	const char *s = json_string_value(json_object_get(json_object_get(r->json, "error"), key));
	return s ? s : "";
}

const char *h_err_code(const struct h_resp *r)
{
	return err_member(r, "code");
}

const char *h_err_field(const struct h_resp *r)
{
	return err_member(r, "field");
}

const char *h_err_message(const struct h_resp *r)
{
	return err_member(r, "message");
}

const char *h_str(const struct h_resp *r, const char *key)
{
	const char *s = json_string_value(json_object_get(r->json, key));
	return s ? s : "";
}

/* ------------------------------------------------------------- fixtures */

void h_mac(unsigned n, char out[18])
{
	snprintf(out, 18, "52:54:00:%02x:%02x:%02x", (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff);
}

long h_token(struct h_daemon *d, const char *role, const char *owner, char out[H_TOKEN_LEN])
{
	json_t *b = json_pack("{s:s}", "role", role);
	if (owner)
		json_object_set_new(b, "owner", json_string(owner));
	struct h_resp r;
	long s = h_call(d, d->admin, "POST", "/v1/tokens", b, &r);
	snprintf(out, H_TOKEN_LEN, "%s", h_str(&r, "token"));
	h_resp_clear(&r);
	return s;
}

static json_t *fake_bmc(const char *sku, int delay_ms, double fail_rate)
{
	return json_pack("{s:s, s:{s:s, s:i, s:f}}", "driver", "fake", "options", "sku", sku,
			 "delay_ms", delay_ms, "fail_rate", fail_rate);
}

/* POST /v1/machines of a fake machine, at site/rack when loc is "site/rack"
 * (NULL: no location). */
static long enroll_fake_at(struct h_daemon *d, const char *name, unsigned mac_n, const char *sku,
			   int delay_ms, double fail_rate, const char *loc, char id_out[H_ID_LEN])
{
	char mac[18], site[32], rack[32];
	h_mac(mac_n, mac);
	json_t *b = json_pack("{s:s, s:[s], s:o}", "name", name, "macs", mac, "bmc",
			      fake_bmc(sku, delay_ms, fail_rate));
	if (loc != NULL) {
		if (sscanf(loc, "%31[^/]/%31s", site, rack) != 2) {
			fprintf(stderr, "harness: enroll %s: location %s is not site/rack\n", name,
				loc);
			json_decref(b);
			return -1;
		}
		json_object_set_new(b, "location",
				    json_pack("{s:s, s:s}", "site", site, "rack", rack));
	}
	struct h_resp r;
	long s = h_call(d, d->admin, "POST", "/v1/machines", b, &r);
	if (id_out)
		snprintf(id_out, H_ID_LEN, "%s", h_str(&r, "id"));
	if (s != 201)
		fprintf(stderr, "harness: enroll %s -> %ld %s\n", name, s, r.body);
	h_resp_clear(&r);
	return s;
}

long h_enroll_fake(struct h_daemon *d, const char *name, unsigned mac_n, const char *sku,
		   int delay_ms, double fail_rate, char id_out[H_ID_LEN])
{
	return enroll_fake_at(d, name, mac_n, sku, delay_ms, fail_rate, NULL, id_out);
}

int h_pool(struct h_daemon *d, const struct h_pool_spec *p, char (*ids)[H_ID_LEN])
{
	int before = h_count_machines(d, "available", p->sku);
	for (int i = 0; i < p->n; i++) {
		char name[48];
		snprintf(name, sizeof name, "%s-%d", p->prefix, i);
		if (enroll_fake_at(d, name, p->mac_base + (unsigned)i, p->sku, p->delay_ms, 0,
				   p->where ? p->where[i] : NULL, ids ? ids[i] : NULL) != 201)
			return -1;
	}
	if (!h_wait_count(d, "available", p->sku, before + p->n, 120)) {
		fprintf(stderr, "harness: pool %s: %d of %s not available in 120 s\n", p->prefix,
			p->n, p->sku);
		return -1;
	}
	return 0;
}

long h_quota(struct h_daemon *d, const char *owner, const char *sku, int machines)
{
	char path[200];
	snprintf(path, sizeof path, "/v1/owners/%s/quotas/%s", owner, sku);
	return h_call(d, d->admin, "PUT", path, json_pack("{s:i}", "machines", machines), NULL);
}

long h_patch_fake(struct h_daemon *d, const char *id, const char *sku, int delay_ms,
		  double fail_rate)
{
	char path[128];
	snprintf(path, sizeof path, "/v1/machines/%s", id);
	json_t *b = json_pack("{s:o}", "bmc", fake_bmc(sku, delay_ms, fail_rate));
	return h_call(d, d->admin, "PATCH", path, b, NULL);
}

long h_image(struct h_daemon *d, const char *name)
{
	char path[400];
	snprintf(path, sizeof path, "%s/%s.raw", d->images, name);
	if (write_file(path, "provisiond integration test image\n") != 0)
		return -1;
	json_t *b = json_pack("{s:s, s:s}", "name", name, "path", path);
	return h_call(d, d->admin, "POST", "/v1/images", b, NULL);
}

long h_allocate(struct h_daemon *d, const char *token, const char *sku, int count, int min_count,
		const char *image, const char *idem_key, char id_out[H_ID_LEN], struct h_resp *out)
{
	json_t *b = json_pack("{s:s, s:i, s:s}", "sku", sku, "count", count, "image", image);
	if (min_count > 0)
		json_object_set_new(b, "min_count", json_integer(min_count));
	char *text = json_dumps(b, JSON_COMPACT);
	json_decref(b);
	char hdr[200];
	const char *headers[] = {hdr, NULL};
	if (idem_key)
		snprintf(hdr, sizeof hdr, "Idempotency-Key: %s", idem_key);
	struct h_resp local;
	struct h_resp *r = out ? out : &local;
	long s = h_request(d, token, "POST", "/v1/allocations", text, strlen(text),
			   idem_key ? headers : NULL, r);
	free(text);
	if (id_out)
		snprintf(id_out, H_ID_LEN, "%s", s == 202 ? h_str(r, "id") : "");
	if (r == &local)
		h_resp_clear(&local);
	return s;
}

void h_grant_record(struct h_grant *g, const char *id, const struct h_resp *r)
{
	snprintf(g->id, sizeof g->id, "%s", id);
	json_t *ms = json_object_get(r->json, "machines"), *m;
	size_t i;
	json_array_foreach(ms, i, m)
	{
		if (g->n < 3)
			snprintf(g->machines[g->n], H_ID_LEN, "%s",
				 json_string_value(json_object_get(m, "id")));
		g->n++;
	}
}

/* ---------------------------------------------------------------- waits */

/* Calls fn for every machine of the list (every page). -1 on error. */
static int each_machine(struct h_daemon *d, const char *state, const char *sku,
			void (*fn)(json_t *m, void *ctx), void *ctx)
{
	char cursor[64] = "";
	int n = 0;
	for (;;) {
		char path[256];
		snprintf(path, sizeof path, "/v1/machines?limit=1000%s%s%s%s%s%s",
			 state ? "&state=" : "", state ? state : "", sku ? "&sku=" : "",
			 sku ? sku : "", cursor[0] ? "&cursor=" : "", cursor);
		struct h_resp r;
		if (h_call(d, d->admin, "GET", path, NULL, &r) != 200) {
			h_resp_clear(&r);
			return -1;
		}
		json_t *items = json_object_get(r.json, "items"), *m;
		size_t i;
		json_array_foreach(items, i, m)
		{
			if (fn)
				fn(m, ctx);
			n++;
		}
		const char *next = json_string_value(json_object_get(r.json, "next_cursor"));
		snprintf(cursor, sizeof cursor, "%s", next ? next : "");
		h_resp_clear(&r);
		if (!cursor[0])
			return n;
	}
}

int h_count_machines(struct h_daemon *d, const char *state, const char *sku)
{
	return each_machine(d, state, sku, NULL, NULL);
}

bool h_wait_count(struct h_daemon *d, const char *state, const char *sku, int n, int timeout_s)
{
	int64_t deadline = h_now_ms() + (int64_t)timeout_s * 1000;
	do {
		if (h_count_machines(d, state, sku) >= n)
			return true;
		h_sleep_ms(100);
	} while (h_now_ms() < deadline);
	return false;
}

static void count_busy(json_t *m, void *ctx)
{
	static const char *const busy[] = {"verifying", "inspecting", "cleaning", "deploying",
					   "releasing"};
	const char *st = json_string_value(json_object_get(m, "state"));
	int *n = ctx;
	for (size_t i = 0; st && i < ARRAY_SIZE(busy); i++)
		if (strcmp(st, busy[i]) == 0)
			(*n)++;
	if (st && strcmp(st, "enrolled") == 0 && json_is_object(json_object_get(m, "bmc")))
		(*n)++;
}

bool h_wait_quiet(struct h_daemon *d, int timeout_s)
{
	int64_t deadline = h_now_ms() + (int64_t)timeout_s * 1000;
	do {
		int busy = 0;
		if (each_machine(d, NULL, NULL, count_busy, &busy) >= 0 && busy == 0)
			return true;
		h_sleep_ms(100);
	} while (h_now_ms() < deadline);
	return false;
}

bool h_wait_machine(struct h_daemon *d, const char *id, const char *state, int timeout_s)
{
	char path[128];
	snprintf(path, sizeof path, "/v1/machines/%s", id);
	int64_t deadline = h_now_ms() + (int64_t)timeout_s * 1000;
	do {
		struct h_resp r;
		bool ok = h_call(d, d->admin, "GET", path, NULL, &r) == 200 &&
			  strcmp(h_str(&r, "state"), state) == 0;
		h_resp_clear(&r);
		if (ok)
			return true;
		h_sleep_ms(100);
	} while (h_now_ms() < deadline);
	return false;
}

bool h_wait_alloc(struct h_daemon *d, const char *token, const char *id, const char *state,
		  int timeout_s, json_t **final_out)
{
	int64_t deadline = h_now_ms() + (int64_t)timeout_s * 1000;
	json_t *last = NULL;
	bool ok = false;
	/* ?wait= answers when the state differs from its first read, so a
	 * plain read comes first: waiting on a state that is already the one
	 * wanted would only time out. Long polls are short for the same
	 * reason (the state may change between the two reads). */
	for (int i = 0;; i++) {
		int64_t left = (deadline - h_now_ms()) / 1000;
		if (left > 5)
			left = 5;
		char path[160];
		snprintf(path, sizeof path, "/v1/allocations/%s?wait=%lld", id,
			 (long long)(i % 2 && left > 0 ? left : 0));
		struct h_resp r;
		int64_t t0 = h_now_ms();
		long s = h_call(d, token ? token : d->admin, "GET", path, NULL, &r);
		if (s == 200) {
			json_decref(last);
			last = json_incref(r.json);
		}
		const char *st = h_str(&r, "state");
		ok = s == 200 && strcmp(st, state) == 0;
		bool final =
		    s == 200 && !ok && (strcmp(st, "failed") == 0 || strcmp(st, "released") == 0);
		h_resp_clear(&r);
		if (ok || final || h_now_ms() >= deadline)
			break;
		if (i % 2 && h_now_ms() - t0 < 100) /* no long poll happened: do not spin */
			h_sleep_ms(100);
	}
	if (final_out)
		*final_out = last;
	else
		json_decref(last);
	return ok;
}

/* ------------------------------------------------------------- database */

static sqlite3 *db_open(const struct h_daemon *d)
{
	sqlite3 *db = NULL;
	if (sqlite3_open_v2(d->db, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		fprintf(stderr, "harness: cannot open %s read-only: %s\n", d->db,
			db ? sqlite3_errmsg(db) : "?");
		sqlite3_close(db);
		return NULL;
	}
	sqlite3_busy_timeout(db, 10000);
	return db;
}

int64_t h_db_int(const struct h_daemon *d, const char *sql)
{
	if (d->pg_schema[0])
		return pg_int(d->db, sql);
	sqlite3 *db = db_open(d);
	if (!db)
		return -1;
	sqlite3_stmt *st = NULL;
	int64_t v = -1;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	else
		fprintf(stderr, "harness: %s: %s\n", sql, sqlite3_errmsg(db));
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

int h_db_exec(const struct h_daemon *d, const char *sql)
{
	if (d->pid) {
		fprintf(stderr, "harness: h_db_exec while provisiond runs\n");
		return -1;
	}
	if (d->pg_schema[0])
		return pg_run(d->db, sql);
	sqlite3 *db = NULL;
	char *msg = NULL;
	int rc = sqlite3_open_v2(d->db, &db, SQLITE_OPEN_READWRITE, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK)
		fprintf(stderr, "harness: %s: %s\n", sql, msg ? msg : sqlite3_errmsg(db));
	sqlite3_free(msg);
	sqlite3_close(db);
	return rc == SQLITE_OK ? 0 : -1;
}

static int dump_table(sqlite3 *db, const char *table, struct util_buf *b)
{
	char sql[160];
	snprintf(sql, sizeof sql, "SELECT * FROM \"%s\" ORDER BY rowid", table);
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		fprintf(stderr, "harness: %s: %s\n", sql, sqlite3_errmsg(db));
		return -1;
	}
	util_buf_printf(b, "== %s\n", table);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		for (int i = 0; i < sqlite3_column_count(st); i++) {
			const unsigned char *v = sqlite3_column_text(st, i);
			util_buf_printf(b, "%s%s", i ? "|" : "", v ? (const char *)v : "NULL");
		}
		util_buf_puts(b, "\n");
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

char *h_db_dump(const struct h_daemon *d, const char *const *tables)
{
	sqlite3 *db = db_open(d);
	if (!db)
		return NULL;
	struct util_buf b = {0};
	bool ok = true;
	/* One read transaction: a consistent snapshot of every table. */
	sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
	for (size_t i = 0; tables[i] && ok; i++)
		ok = dump_table(db, tables[i], &b) == 0;
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	sqlite3_close(db);
	if (!ok)
		util_buf_free(&b);
	return util_buf_take(&b, NULL);
}

bool h_db_table_contains(const struct h_daemon *d, const char *table, const char *needle)
{
	const char *tables[] = {table, NULL};
	char *dump = h_db_dump(d, tables);
	bool found = dump && strstr(dump, needle);
	free(dump);
	return found;
}

bool h_file_contains(const char *path, const char *needle)
{
	size_t len = 0;
	char *s = read_file(path, &len);
	bool found = s && memmem(s, len, needle, strlen(needle)) != NULL;
	free(s);
	return found;
}

int h_teardown(void **state)
{
	struct h_daemon *d = *state;
	int reports = h_log_sanitizer_reports(d);
	int rc = h_stop(d);
	return rc == 0 && reports == 0 ? 0 : -1;
}

/* --------------------------------------------------------- provisionctl */

static atomic_int ctl_seq;

int h_ctl(struct h_daemon *d, const char *token, char **out, char **err, const char *const *argv)
{
	char bin[512];
	if (bin_path(bin, sizeof bin, "provisiond/client/provisionctl") != 0)
		return -1;
	size_t n = 0;
	while (argv[n])
		n++;
	const char **args = calloc(n + 2, sizeof *args);
	if (!args)
		return -1;
	args[0] = bin;
	for (size_t i = 0; i < n; i++)
		args[i + 1] = argv[i];
	int seq = atomic_fetch_add(&ctl_seq, 1);
	char opath[400], epath[400], home[400];
	snprintf(opath, sizeof opath, "%s/ctl-%d.out", d->dir, seq);
	snprintf(epath, sizeof epath, "%s/ctl-%d.err", d->dir, seq);
	snprintf(home, sizeof home, "%s/home", d->dir);
	mkdir(home, 0700);
	pid_t pid = fork();
	if (pid == 0) {
		setenv("PROVISIOND_URL", d->url, 1);
		if (token)
			setenv("PROVISIOND_TOKEN", token, 1);
		else
			unsetenv("PROVISIOND_TOKEN");
		unsetenv("PROVISIOND_TOKEN_FILE");
		setenv("HOME", home, 1);
		setenv("XDG_CONFIG_HOME", home, 1);
		setenv("NO_PROXY", "*", 1);
		int in = open("/dev/null", O_RDONLY);
		int o = open(opath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int e = open(epath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (in < 0 || o < 0 || e < 0)
			_exit(126);
		dup2(in, 0);
		dup2(o, 1);
		dup2(e, 2);
		execv(bin, (char *const *)args);
		_exit(127);
	}
	free(args);
	int st = 0;
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return -1;
	if (out)
		*out = read_file(opath, NULL);
	if (err)
		*err = read_file(epath, NULL);
	return exit_status(st);
}
