/* api_load.c - the API load generator of bench/run: C client threads (one
 * keep-alive libcurl handle each) against a running provisiond.
 *
 *   api_load enroll URL TOKEN -n N -c C [-o FIRST] [-t SECONDS]
 *       POST /v1/machines: fake machines FIRST..FIRST+N-1 (name bNNNNNNN,
 *       one MAC derived from the number, fake BMC of sku lab.small)
 *   api_load alloc URL TOKEN -c C [-k GANG] [-n MAX] [-t SECONDS]
 *       POST /v1/allocations of GANG machines until the pool answers 409
 *   api_load get URL TOKEN PATH -c C -n N [-t SECONDS]
 *       GET PATH N times
 *   api_load cursor URL TOKEN PATH -n PAGES
 *       follows next_cursor PAGES times; prints the last page's path
 *   api_load wait URL TOKEN -s STATE -n N [-t SECONDS]
 *       polls /v1/capacity until N machines (all SKUs) are in STATE
 *
 * Every loop is bounded by its count and by -t (default 300 s). Figures go
 * to stdout as one line of key=value pairs that bench/run reads. */
#include "util/util.h"

#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum mode { M_ENROLL, M_ALLOC, M_GET };

struct load {
	enum mode mode;
	const char *url, *token, *path;
	long n, first;
	int clients, gang;
	double deadline;
	atomic_long next;
	atomic_bool stop;
	pthread_mutex_t mu;
	double *lat;
	long nlat, n409, nother;
	long last_code;
};

static double now_s(void)
{
	return (double)util_now_us() / 1e6;
}

static size_t to_buf(char *p, size_t s, size_t n, void *u)
{
	util_buf_append(u, p, s * n);
	return s * n;
}

static CURL *handle(const struct load *l, struct curl_slist **h, struct util_buf *body)
{
	CURL *c = curl_easy_init();
	char auth[200];
	snprintf(auth, sizeof auth, "Authorization: Bearer %s", l->token);
	*h = curl_slist_append(NULL, auth);
	*h = curl_slist_append(*h, "Content-Type: application/json");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, *h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, to_buf);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
	return c;
}

/* The request of number i: its URL and body (body[0] == 0: a GET). */
static void request_for(const struct load *l, long i, char *u, size_t ulen, char *body, size_t blen)
{
	body[0] = '\0';
	if (l->mode == M_GET) {
		snprintf(u, ulen, "%s%s", l->url, l->path);
		return;
	}
	if (l->mode == M_ALLOC) {
		snprintf(u, ulen, "%s/v1/allocations", l->url);
		snprintf(body, blen, "{\"sku\":\"lab.small\",\"count\":%d,\"image\":\"img\"}",
			 l->gang);
		return;
	}
	long m = l->first + i;
	snprintf(u, ulen, "%s/v1/machines", l->url);
	snprintf(body, blen,
		 "{\"name\":\"b%07ld\",\"macs\":[\"52:55:%02lx:%02lx:%02lx:%02lx\"],"
		 "\"bmc\":{\"driver\":\"fake\",\"options\":{\"sku\":\"lab.small\"}}}",
		 m, m >> 24 & 255, m >> 16 & 255, m >> 8 & 255, m & 255);
}

static void record(struct load *l, long code, double dt)
{
	bool ok = code == 200 || code == 201 || code == 202;
	pthread_mutex_lock(&l->mu);
	if (ok)
		l->lat[l->nlat++] = dt;
	else if (code == 409)
		l->n409++;
	else
		l->nother++;
	if (!ok)
		l->last_code = code;
	pthread_mutex_unlock(&l->mu);
}

static void *client(void *arg)
{
	struct load *l = arg;
	struct curl_slist *h;
	struct util_buf resp = {0};
	CURL *c = handle(l, &h, &resp);
	char u[2048], body[512];
	for (;;) {
		long i = atomic_fetch_add(&l->next, 1);
		if (i >= l->n || atomic_load(&l->stop) || now_s() > l->deadline)
			break;
		request_for(l, i, u, sizeof u, body, sizeof body);
		curl_easy_setopt(c, CURLOPT_URL, u);
		if (body[0])
			curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		else
			curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
		resp.len = 0;
		double t0 = now_s();
		long code = 0;
		if (curl_easy_perform(c) == CURLE_OK)
			curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
		record(l, code, now_s() - t0);
		/* the pool is empty: this client is done */
		if (l->mode == M_ALLOC && code == 409)
			break;
	}
	util_buf_free(&resp);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return NULL;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double pct(const struct load *l, int p)
{
	return l->nlat ? l->lat[l->nlat * p / 100 < l->nlat ? l->nlat * p / 100 : l->nlat - 1] * 1e3
		       : 0;
}

static int run_load(struct load *l)
{
	pthread_t th[512];
	int nc = l->clients < 1 ? 1 : l->clients > 512 ? 512 : l->clients;
	l->lat = calloc((size_t)l->n + 1, sizeof *l->lat);
	pthread_mutex_init(&l->mu, NULL);
	double t0 = now_s();
	for (int i = 0; i < nc; i++)
		pthread_create(&th[i], NULL, client, l);
	for (int i = 0; i < nc; i++)
		pthread_join(th[i], NULL);
	double el = now_s() - t0;
	qsort(l->lat, (size_t)l->nlat, sizeof *l->lat, cmp);
	printf("ok=%ld seconds=%.3f rate=%.1f p50_ms=%.2f p95_ms=%.2f p99_ms=%.2f max_ms=%.2f "
	       "n409=%ld other=%ld last_error_code=%ld clients=%d\n",
	       l->nlat, el, el > 0 ? (double)l->nlat / el : 0, pct(l, 50), pct(l, 95), pct(l, 99),
	       l->nlat ? l->lat[l->nlat - 1] * 1e3 : 0, l->n409, l->nother, l->last_code, nc);
	free(l->lat);
	return l->nother ? 1 : 0;
}

/* One GET; the parsed JSON body or NULL. */
static json_t *get_json(const char *url, const char *token, const char *path)
{
	struct load l = {.url = url, .token = token};
	struct curl_slist *h;
	struct util_buf resp = {0};
	CURL *c = handle(&l, &h, &resp);
	char u[2048];
	snprintf(u, sizeof u, "%s%s", url, path);
	curl_easy_setopt(c, CURLOPT_URL, u);
	json_t *j = NULL;
	long code = 0;
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	if (code == 200 && resp.p)
		j = json_loadb(resp.p, resp.len, 0, NULL);
	util_buf_free(&resp);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return j;
}

static int follow_cursor(const char *url, const char *token, const char *path, long pages)
{
	char cur[2048];
	snprintf(cur, sizeof cur, "%s", path);
	const char *sep = strchr(path, '?') ? "&" : "?";
	long depth = 0;
	for (; depth < pages; depth++) {
		json_t *j = get_json(url, token, cur);
		const char *next = json_string_value(json_object_get(j, "next_cursor"));
		if (next)
			snprintf(cur, sizeof cur, "%s%scursor=%s", path, sep, next);
		json_decref(j);
		if (!next)
			break;
	}
	printf("depth=%ld path=%s\n", depth, cur);
	return 0;
}

static long count_state(json_t *cap, const char *state)
{
	long n = 0;
	const char *sku;
	json_t *v;
	json_object_foreach(json_object_get(cap, "skus"), sku, v) n +=
	    (long)json_integer_value(json_object_get(v, state));
	return n;
}

static int wait_state(const char *url, const char *token, const char *state, long n,
		      double deadline)
{
	double t0 = now_s();
	long have = 0;
	while (now_s() < deadline) {
		json_t *j = get_json(url, token, "/v1/capacity");
		have = count_state(j, state);
		json_decref(j);
		if (have >= n)
			break;
		util_sleep_ms(200);
	}
	double el = now_s() - t0;
	printf("state=%s have=%ld seconds=%.3f rate=%.1f\n", state, have, el,
	       el > 0 ? (double)have / el : 0);
	return have >= n ? 0 : 1;
}

static int usage(void)
{
	fprintf(stderr, "usage: api_load enroll|alloc|get|cursor|wait URL TOKEN [PATH] [-n N] "
			"[-c CLIENTS] [-k GANG] [-o FIRST] [-s STATE] [-t SECONDS]\n");
	return 2;
}

int main(int argc, char **argv)
{
	if (argc < 4)
		return usage();
	const char *cmd = argv[1], *state = "available";
	struct load l = {.url = argv[2], .token = argv[3], .n = 1000, .clients = 1, .gang = 1};
	bool has_path = !strcmp(cmd, "get") || !strcmp(cmd, "cursor");
	if (has_path && argc < 5)
		return usage();
	l.path = has_path ? argv[4] : NULL;
	optind = has_path ? 5 : 4;
	double limit = 300;
	for (int o; (o = getopt(argc, argv, "n:c:k:o:s:t:")) != -1;) {
		if (o == 's')
			state = optarg;
		else if (o == 't')
			limit = strtod(optarg, NULL);
		else if (o == 'n')
			l.n = strtol(optarg, NULL, 10);
		else if (o == 'o')
			l.first = strtol(optarg, NULL, 10);
		else if (o == 'c')
			l.clients = (int)strtol(optarg, NULL, 10);
		else if (o == 'k')
			l.gang = (int)strtol(optarg, NULL, 10);
		else
			return usage();
	}
	l.deadline = now_s() + limit;
	curl_global_init(CURL_GLOBAL_ALL);
	if (!strcmp(cmd, "cursor"))
		return follow_cursor(l.url, l.token, l.path, l.n);
	if (!strcmp(cmd, "wait"))
		return wait_state(l.url, l.token, state, l.n, l.deadline);
	l.mode = !strcmp(cmd, "enroll") ? M_ENROLL : !strcmp(cmd, "alloc") ? M_ALLOC : M_GET;
	if (l.mode == M_GET && strcmp(cmd, "get"))
		return usage();
	return run_load(&l);
}
