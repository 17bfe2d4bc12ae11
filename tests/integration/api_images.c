/* api_images.c - the image store ([boot] images_dir) against the real
 * daemon: files outside it, links, devices, FIFOs, hard links and "../" are
 * refused with 400 naming path; /images/NAME serves only files of the store,
 * and not one replaced after registration; URL images are fetched into the
 * store from a small HTTP server on loopback (run by this test), verified
 * against their sha256 and usable only once ready; a fetch does not hold
 * up shutdown and resumes after a restart. */
#include "harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include <cmocka.h>

#define IMG_LEN (256 * 1024)

static struct h_daemon d;
static unsigned char content[IMG_LEN]; /* the image, served raw and as .zst */
static char content_sha[65];
static void *zst;
static size_t zst_len;

/* ------------------------------------------------------ the HTTP server
 * GET /good.raw, /good.raw.zst, /redirect (-> /good.raw), /slow (the raw
 * image, held after its first KiB while `hold` is set); anything else 404. */
static int srv_fd = -1, srv_port;
static atomic_bool hold, srv_stop;
static atomic_int slow_requests;

static void send_all(int fd, const void *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w <= 0)
			return;
		p = (const char *)p + w;
		n -= (size_t)w;
	}
}

static void reply(int fd, const char *status, const char *extra, const void *body, size_t len)
{
	char head[256];
	int n = snprintf(head, sizeof head,
			 "HTTP/1.1 %s\r\nContent-Length: %zu\r\nConnection: close\r\n%s\r\n",
			 status, len, extra);
	send_all(fd, head, (size_t)n);
	send_all(fd, body, len);
}

/* /slow: the first KiB, then the rest once hold is cleared (or the client
 * went away). */
static void serve_slow(int fd)
{
	atomic_fetch_add(&slow_requests, 1);
	char head[128];
	int n =
	    snprintf(head, sizeof head,
		     "HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n", IMG_LEN);
	send_all(fd, head, (size_t)n);
	send_all(fd, content, 1024);
	while (atomic_load(&hold) && !atomic_load(&srv_stop)) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		char c;
		if (poll(&p, 1, 50) > 0 && recv(fd, &c, 1, MSG_DONTWAIT) == 0)
			return; /* the client closed */
	}
	send_all(fd, content + 1024, IMG_LEN - 1024);
}

static void *serve_conn(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char req[2048] = "";
	size_t got = 0;
	while (got < sizeof req - 1 && !strstr(req, "\r\n\r\n")) {
		ssize_t n = recv(fd, req + got, sizeof req - 1 - got, 0);
		if (n <= 0)
			break;
		got += (size_t)n;
		req[got] = 0;
	}
	req[got] = 0;
	if (strncmp(req, "GET /good.raw.zst ", 18) == 0)
		reply(fd, "200 OK", "", zst, zst_len);
	else if (strncmp(req, "GET /good.raw ", 14) == 0)
		reply(fd, "200 OK", "", content, IMG_LEN);
	else if (strncmp(req, "GET /redirect ", 14) == 0)
		reply(fd, "302 Found", "Location: /good.raw\r\n", "", 0);
	else if (strncmp(req, "GET /slow ", 10) == 0)
		serve_slow(fd);
	else
		reply(fd, "404 Not Found", "", "nope\n", 5);
	close(fd);
	return NULL;
}

static void *serve(void *arg)
{
	(void)arg;
	while (!atomic_load(&srv_stop)) {
		struct pollfd p = {.fd = srv_fd, .events = POLLIN};
		if (poll(&p, 1, 100) <= 0)
			continue;
		int c = accept(srv_fd, NULL, NULL);
		pthread_t t;
		if (c >= 0 && pthread_create(&t, NULL, serve_conn, (void *)(intptr_t)c) == 0)
			pthread_detach(t);
		else if (c >= 0)
			close(c);
	}
	return NULL;
}

static pthread_t srv_thread;

static int start_server(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof a;
	srv_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (srv_fd < 0 || bind(srv_fd, (struct sockaddr *)&a, sizeof a) != 0 ||
	    listen(srv_fd, 16) != 0 || getsockname(srv_fd, (struct sockaddr *)&a, &len) != 0)
		return -1;
	srv_port = ntohs(a.sin_port);
	return pthread_create(&srv_thread, NULL, serve, NULL);
}

/* ------------------------------------------------------------- helpers */

static void sha256_hex(const void *p, size_t n, char out[65])
{
	unsigned char md[32];
	unsigned int len = 0;
	EVP_Digest(p, n, md, &len, EVP_sha256(), NULL);
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static void write_bytes(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(p, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
}

/* DIR/images/rel */
static void store_path(const char *rel, char *out, size_t len)
{
	snprintf(out, len, "%s/%s", d.images, rel);
}

static long register_path(const char *name, const char *path, struct h_resp *r)
{
	json_t *b = json_pack("{s:s, s:s}", "name", name, "path", path);
	return h_call(&d, d.admin, "POST", "/v1/images", b, r);
}

static long register_url(const char *name, const char *url_path, const char *format,
			 const char *sha)
{
	char url[128];
	snprintf(url, sizeof url, "http://127.0.0.1:%d%s", srv_port, url_path);
	json_t *b = json_pack("{s:s, s:s, s:s, s:s}", "name", name, "url", url, "format", format,
			      "sha256", sha);
	struct h_resp r;
	long s = h_call(&d, d.admin, "POST", "/v1/images", b, &r);
	if (s == 202)
		assert_string_equal(h_str(&r, "state"), "fetching");
	h_resp_clear(&r);
	return s;
}

/* Polls GET /v1/images/NAME until its state is not "fetching"; returns
 * the answer (the caller clears it). */
static void wait_fetched(const char *name, struct h_resp *r)
{
	char path[128];
	snprintf(path, sizeof path, "/v1/images/%s", name);
	for (int i = 0; i < 600; i++) {
		assert_int_equal(h_call(&d, d.admin, "GET", path, NULL, r), 200);
		if (strcmp(h_str(r, "state"), "fetching") != 0)
			return;
		h_resp_clear(r);
		h_sleep_ms(50);
	}
	fail_msg("image %s still fetching", name);
}

static long boot_get(const char *name, const char *range, struct h_resp *r)
{
	char path[128], hdr[64];
	snprintf(path, sizeof path, "/images/%s", name);
	snprintf(hdr, sizeof hdr, "Range: %s", range ? range : "");
	const char *const headers[] = {hdr, NULL};
	return h_boot_get(&d, path, range ? headers : NULL, r);
}

/* GET /images/NAME must answer 404 and carry none of the file's bytes. */
static void assert_not_served(const char *name)
{
	struct h_resp r;
	assert_int_equal(boot_get(name, NULL, &r), 404);
	assert_null(strstr(r.body, "root:"));
	h_resp_clear(&r);
}

/* Waits until the server has seen more /slow requests than seen. */
static void wait_slow_request(int seen)
{
	for (int i = 0; i < 600 && atomic_load(&slow_requests) == seen; i++)
		h_sleep_ms(20);
	assert_int_not_equal(atomic_load(&slow_requests), seen);
}

static long alloc_with(const char *image, struct h_resp *r)
{
	return h_allocate(&d, d.admin, "lab.small", 1, 0, image, NULL, NULL, r);
}

/* --------------------------------------------------------------- tests */

struct refused {
	const char *path; /* {S}: the store */
	const char *why;  /* a word the message must hold */
};

static void test_refused_paths(void **state)
{
	(void)state;
	char p[600];
	store_path("shadow", p, sizeof p);
	assert_int_equal(symlink("/etc/shadow", p), 0);
	store_path("outside", p, sizeof p);
	assert_int_equal(symlink(d.dir, p), 0); /* a directory link out of the store */
	store_path("fifo", p, sizeof p);
	assert_int_equal(mkfifo(p, 0600), 0);
	store_path("sub", p, sizeof p);
	assert_int_equal(mkdir(p, 0700), 0);
	char out[600];
	snprintf(out, sizeof out, "%s/outside.raw", d.dir);
	write_bytes(out, "secret\n", 7);
	store_path("hard.raw", p, sizeof p);
	assert_int_equal(link(out, p), 0);
	static const struct refused cases[] = {
	    {"/dev/zero", "outside"},
	    {"/etc/shadow", "outside"},
	    {"../p.db", ".."},
	    {"{S}/../p.db", ".."},
	    {"sub/../../p.db", ".."},
	    {"./x.raw", "."},
	    {"{S}/shadow", "symbolic link"},
	    {"shadow", "symbolic link"},
	    {"outside/outside.raw", "symbolic link"},
	    {"fifo", "regular file"},
	    {"sub", "regular file"},
	    {"sub/", "path"},
	    {"hard.raw", "hard link"},
	    {"no-such.raw", "no such file"},
	    {"{S}", "outside"},
	};
	int64_t before = h_db_int(&d, "SELECT count(*) FROM images");
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		if (strncmp(cases[i].path, "{S}", 3) == 0)
			snprintf(p, sizeof p, "%s%s", d.images, cases[i].path + 3);
		else
			snprintf(p, sizeof p, "%s", cases[i].path);
		struct h_resp r;
		long s = register_path("refused", p, &r);
		if (s != 400 || strcmp(h_err_field(&r), "path") != 0 ||
		    !strstr(h_err_message(&r), cases[i].why))
			fail_msg("%s: %ld %s (%s), want 400 path '%s'", p, s, h_err_field(&r),
				 h_err_message(&r), cases[i].why);
		h_resp_clear(&r);
	}
	assert_int_equal(h_db_int(&d, "SELECT count(*) FROM images"), before);
	assert_not_served("refused");
}

static void test_served_from_store(void **state)
{
	(void)state;
	char p[600];
	store_path("good.raw", p, sizeof p);
	write_bytes(p, content, IMG_LEN);
	struct h_resp r;
	assert_int_equal(register_path("good", "good.raw", &r), 201); /* relative to the store */
	assert_string_equal(h_str(&r, "state"), "ready");
	assert_string_equal(h_str(&r, "path"), "good.raw");
	assert_string_equal(h_str(&r, "sha256"), content_sha);
	h_resp_clear(&r);
	assert_int_equal(register_path("good-abs", p, &r), 201); /* absolute, inside */
	assert_string_equal(h_str(&r, "path"), "good.raw");
	h_resp_clear(&r);

	assert_int_equal(boot_get("good", NULL, &r), 200);
	assert_int_equal(r.body_len, IMG_LEN);
	assert_memory_equal(r.body, content, IMG_LEN);
	h_resp_clear(&r);
	assert_int_equal(boot_get("good", "bytes=1000-1999", &r), 206);
	assert_int_equal(r.body_len, 1000);
	assert_memory_equal(r.body, content + 1000, 1000);
	h_resp_clear(&r);
	assert_int_equal(boot_get("good", "bytes=-10", &r), 206);
	assert_memory_equal(r.body, content + IMG_LEN - 10, 10);
	h_resp_clear(&r);
	assert_int_equal(boot_get("good", "bytes=999999999-", &r), 416);
	h_resp_clear(&r);
	assert_not_served("nope");
	assert_not_served("..%2Fp.db");
}

/* A file registered, then replaced: by a link to /etc/passwd, by another
 * file, or removed. None is served. */
static void test_replaced_after_registration(void **state)
{
	(void)state;
	const char *names[] = {"swap-link", "swap-file", "swap-gone"};
	char p[600], tmp[700];
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		char rel[64];
		snprintf(rel, sizeof rel, "%s.raw", names[i]);
		store_path(rel, p, sizeof p);
		write_bytes(p, content, 4096);
		struct h_resp r;
		assert_int_equal(register_path(names[i], rel, &r), 201);
		h_resp_clear(&r);
		assert_int_equal(boot_get(names[i], NULL, &r), 200);
		h_resp_clear(&r);
		snprintf(tmp, sizeof tmp, "%s.new", p);
		if (i == 0)
			assert_int_equal(symlink("/etc/passwd", tmp), 0);
		else
			write_bytes(tmp, content, 4096); /* same bytes, another file */
		assert_int_equal(rename(tmp, p), 0);
		if (i == 2)
			assert_int_equal(unlink(p), 0);
		assert_not_served(names[i]);
	}
	assert_true(h_file_contains(d.log, "changed since it was registered"));
	assert_true(h_file_contains(d.log, "symbolic link"));
}

/* Rows from before the store (schema < 5) hold absolute paths: served only
 * when inside the store. */
static void test_old_rows(void **state)
{
	(void)state;
	char sql[1200];
	assert_int_equal(h_term(&d), 0);
	snprintf(sql, sizeof sql,
		 "INSERT INTO images(name, path, format, sha256, size, created_at)"
		 " VALUES('old-out', '/etc/passwd', 'raw', '%s', 1, 1),"
		 " ('old-in', '%s/good.raw', 'raw', '%s', %d, 1)",
		 content_sha, d.images, content_sha, IMG_LEN);
	assert_int_equal(h_db_exec(&d, sql), 0);
	assert_int_equal(h_restart(&d), 0);
	assert_not_served("old-out");
	struct h_resp r;
	assert_int_equal(boot_get("old-in", NULL, &r), 200);
	assert_int_equal(r.body_len, IMG_LEN);
	h_resp_clear(&r);
}

static void test_url_images(void **state)
{
	(void)state;
	assert_int_equal(register_url("u-raw", "/good.raw", "raw", content_sha), 202);
	assert_int_equal(register_url("u-zst", "/good.raw.zst", "raw.zst", content_sha), 202);
	assert_int_equal(register_url("u-redirect", "/redirect", "raw", content_sha), 202);
	const char *names[] = {"u-raw", "u-zst", "u-redirect"};
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		struct h_resp r;
		wait_fetched(names[i], &r);
		if (strcmp(h_str(&r, "state"), "ready") != 0)
			fail_msg("%s: %s: %s", names[i], h_str(&r, "state"),
				 h_str(&r, "last_error"));
		assert_true(json_is_null(json_object_get(r.json, "last_error")));
		assert_int_equal(json_integer_value(json_object_get(r.json, "size")), IMG_LEN);
		assert_non_null(strstr(h_str(&r, "path"), ".fetched/"));
		h_resp_clear(&r);
		assert_int_equal(boot_get(names[i], NULL, &r), 200);
		if (i == 1)
			assert_memory_equal(r.body, zst, zst_len); /* served as stored */
		else
			assert_memory_equal(r.body, content, IMG_LEN);
		h_resp_clear(&r);
		/* ready: an allocation gets past the image (there are no
		 * machines) */
		assert_int_equal(alloc_with(names[i], &r), 409);
		assert_string_equal(h_err_code(&r), "insufficient_capacity");
		h_resp_clear(&r);
	}
	/* deleting a URL image removes its fetched file */
	struct h_resp r;
	wait_fetched("u-raw", &r);
	char p[600];
	store_path(h_str(&r, "path"), p, sizeof p);
	h_resp_clear(&r);
	struct stat st;
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(h_call(&d, d.admin, "DELETE", "/v1/images/u-raw", NULL, NULL), 204);
	assert_int_not_equal(stat(p, &st), 0);
}

static void test_url_failures(void **state)
{
	(void)state;
	char wrong[65];
	memset(wrong, 'a', 64);
	wrong[64] = 0;
	assert_int_equal(register_url("u-mismatch", "/good.raw", "raw", wrong), 202);
	assert_int_equal(register_url("u-missing", "/missing", "raw", content_sha), 202);
	assert_int_equal(register_url("u-badzst", "/good.raw", "raw.zst", content_sha), 202);
	const struct {
		const char *name, *why;
	} cases[] = {
	    {"u-mismatch", "sha256 mismatch"}, {"u-missing", "HTTP 404"}, {"u-badzst", "zstd"}};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct h_resp r;
		wait_fetched(cases[i].name, &r);
		assert_string_equal(h_str(&r, "state"), "failed");
		if (!strstr(h_str(&r, "last_error"), cases[i].why))
			fail_msg("%s: last_error '%s', want '%s'", cases[i].name,
				 h_str(&r, "last_error"), cases[i].why);
		assert_true(json_is_null(json_object_get(r.json, "path")));
		h_resp_clear(&r);
		assert_not_served(cases[i].name);
		assert_int_equal(alloc_with(cases[i].name, &r), 409);
		assert_string_equal(h_err_code(&r), "invalid_state");
		assert_string_equal(h_err_field(&r), "image");
		h_resp_clear(&r);
	}
	/* nothing half-written is left in the store */
	char p[600];
	store_path(".fetched", p, sizeof p);
	char cmd[700];
	snprintf(cmd, sizeof cmd, "ls -a '%s' | grep -q 'mismatch\\|missing\\|badzst\\|part'", p);
	assert_int_not_equal(system(cmd), 0);
}

/* While fetching: not usable, not served; deleted meanwhile: its file does
 * not stay. */
static void test_fetching(void **state)
{
	(void)state;
	atomic_store(&hold, true);
	int seen = atomic_load(&slow_requests);
	assert_int_equal(register_url("u-slow", "/slow", "raw", content_sha), 202);
	wait_slow_request(seen);
	struct h_resp r;
	assert_int_equal(alloc_with("u-slow", &r), 409);
	assert_string_equal(h_err_code(&r), "invalid_state");
	assert_string_equal(h_err_field(&r), "image");
	assert_non_null(strstr(h_err_message(&r), "fetching"));
	h_resp_clear(&r);
	assert_not_served("u-slow");
	assert_int_equal(h_call(&d, d.admin, "DELETE", "/v1/images/u-slow", NULL, NULL), 204);
	atomic_store(&hold, false);
	for (int i = 0; i < 200 && !h_file_contains(d.log, "image deleted while it was fetched");
	     i++)
		h_sleep_ms(50);
	assert_true(h_file_contains(d.log, "image deleted while it was fetched"));
	char p[600], cmd[700];
	store_path(".fetched", p, sizeof p);
	snprintf(cmd, sizeof cmd, "ls -a '%s' | grep -q u-slow", p);
	assert_int_not_equal(system(cmd), 0);
}

/* SIGTERM during a fetch: a clean, prompt stop; the fetch resumes at the
 * next start. */
static void test_stop_during_fetch(void **state)
{
	(void)state;
	atomic_store(&hold, true);
	int seen = atomic_load(&slow_requests);
	assert_int_equal(register_url("u-resume", "/slow", "raw", content_sha), 202);
	wait_slow_request(seen);
	assert_int_equal(h_term(&d), 0); /* 137 if it had to be killed */
	atomic_store(&hold, false);
	assert_int_equal(h_restart(&d), 0);
	struct h_resp r;
	wait_fetched("u-resume", &r);
	assert_string_equal(h_str(&r, "state"), "ready");
	h_resp_clear(&r);
	assert_int_equal(boot_get("u-resume", NULL, &r), 200);
	assert_memory_equal(r.body, content, IMG_LEN);
	h_resp_clear(&r);
}

/* An image store that holds provisiond's own files: they are still not
 * images. */
static void test_own_files(void **state)
{
	(void)state;
	FILE *f = fopen(d.ini, "a");
	assert_non_null(f);
	fprintf(f, "[boot]\nimages_dir = %s\n", d.dir);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(h_restart(&d), 0);
	const char *own[] = {"p.db", "p.db.admin-token"};
	for (size_t i = 0; i < ARRAY_SIZE(own); i++) {
		struct h_resp r;
		assert_int_equal(register_path("own", own[i], &r), 400);
		assert_string_equal(h_err_field(&r), "path");
		assert_non_null(strstr(h_err_message(&r), "own files"));
		h_resp_clear(&r);
	}
}

static int setup(void **state)
{
	(void)state;
	for (size_t i = 0; i < IMG_LEN; i++)
		content[i] = (unsigned char)(i * 7 + i / 251);
	sha256_hex(content, IMG_LEN, content_sha);
	zst = malloc(ZSTD_compressBound(IMG_LEN));
	zst_len = zst ? ZSTD_compress(zst, ZSTD_compressBound(IMG_LEN), content, IMG_LEN, 3) : 0;
	if (!zst || ZSTD_isError(zst_len) || start_server() != 0)
		return -1;
	return h_start(&d, NULL);
}

static int teardown(void **state)
{
	(void)state;
	int reports = h_log_sanitizer_reports(&d);
	int rc = h_stop(&d);
	atomic_store(&srv_stop, true);
	pthread_join(srv_thread, NULL);
	close(srv_fd);
	free(zst);
	return rc == 0 && reports == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_refused_paths),
	    cmocka_unit_test(test_served_from_store),
	    cmocka_unit_test(test_replaced_after_registration),
	    cmocka_unit_test(test_old_rows),
	    cmocka_unit_test(test_url_images),
	    cmocka_unit_test(test_url_failures),
	    cmocka_unit_test(test_fetching),
	    cmocka_unit_test(test_stop_during_fetch),
	    cmocka_unit_test(test_own_files),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
