/* takeover.c - alloc_bench's -w and -K (takeover.h): the deploys after the
 * allocation storm, and the take-over of a killed replica's machines, read
 * through the API of a live replica (GET /v1/replicas, GET /v1/capacity). */
#include "bench/takeover.h"

#include <curl/curl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "util/util.h"

static double now_s(void)
{
	return (double)util_now_us() / 1e6;
}

static size_t collect(char *p, size_t s, size_t n, void *u)
{
	util_buf_append(u, p, s * n);
	return s * n;
}

/* GET base+path with token; the parsed body, NULL unless 200. */
static json_t *get_json(const char *base, const char *path, const char *token)
{
	char u[300], auth[160];
	struct util_buf b = {0};
	long code = 0;
	snprintf(u, sizeof u, "%s%s", base, path);
	snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
	struct curl_slist *h = curl_slist_append(NULL, auth);
	CURL *c = curl_easy_init();
	curl_easy_setopt(c, CURLOPT_URL, u);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	util_buf_append(&b, "", 1);
	json_t *j = code == 200 ? json_loads(b.p, 0, NULL) : NULL;
	util_buf_free(&b);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return j;
}

/* Machines replica "bench-rI" drives now (GET /v1/replicas); -1 unknown. */
static long driven_by(const char *base, const char *token, int i)
{
	char name[32];
	long n = -1;
	snprintf(name, sizeof name, "bench-r%d", i);
	json_t *j = get_json(base, "/v1/replicas", token), *r;
	json_t *list = json_is_array(j) ? j : json_object_get(j, "items");
	size_t k;
	json_array_foreach(list, k, r)
	{
		if (strcmp(json_string_value(json_object_get(r, "name")) ?: "", name) == 0)
			n = (long)json_integer_value(json_object_get(r, "machines"));
	}
	json_decref(j);
	return n;
}

/* lab.small machines active (GET /v1/capacity); -1 unknown. */
static long active(const char *base, const char *token)
{
	json_t *j = get_json(base, "/v1/capacity", token);
	json_t *v =
	    json_object_get(json_object_get(json_object_get(j, "skus"), "lab.small"), "active");
	long n = json_is_integer(v) ? (long)json_integer_value(v) : -1;
	json_decref(j);
	return n;
}

/* The replica driving most machines now (waits up to 20 s for one). */
static int busiest(const struct bench_takeover *t, long *most)
{
	int best = -1;
	for (double t0 = now_s(); best < 0 && now_s() - t0 < 20; util_sleep_ms(50)) {
		*most = 0;
		for (int i = 0; i < t->n; i++) {
			long m = driven_by(t->urls[0], t->token, i);
			if (m > *most)
				*most = m, best = i;
		}
	}
	return best;
}

/* Seconds from since until replica victim drives no machine; -1 past the limit. */
static double until_unclaimed(const struct bench_takeover *t, int victim, double since)
{
	const char *via = t->urls[(victim + 1) % t->n];
	while (now_s() - since < t->limit_s) {
		if (driven_by(via, t->token, victim) == 0)
			return now_s() - since;
		util_sleep_ms(50);
	}
	return -1;
}

static double until_active(const struct bench_takeover *t, const char *via, double since)
{
	while (now_s() - since < t->limit_s) {
		if (active(via, t->token) >= t->want)
			return now_s() - since;
		util_sleep_ms(100);
	}
	return -1;
}

int bench_takeover_run(const struct bench_takeover *t)
{
	const char *via = t->urls[0];
	if (t->kill) {
		long most = 0;
		int v = busiest(t, &most);
		if (v < 0) {
			printf("take-over: no replica drives a machine\n");
			return 1;
		}
		double killed = now_s();
		kill(t->pids[v], SIGKILL);
		waitpid(t->pids[v], NULL, 0);
		t->pids[v] = 0;
		via = t->urls[(v + 1) % t->n];
		double unclaimed = until_unclaimed(t, v, killed);
		printf("take-over: kill -9 of bench-r%d (the busiest of %d replicas: %ld machines) "
		       "%.1f s after the first allocation; its machines unclaimed %.1f s after the "
		       "kill\n",
		       v, t->n, most, killed - t->t0, unclaimed);
		if (unclaimed < 0)
			return 1;
	}
	double ready = until_active(t, via, t->t0);
	printf("deploys: %ld machines active %.1f s after the first allocation%s\n", t->want, ready,
	       ready < 0 ? " (not within the limit)" : "");
	return ready < 0;
}
