/* fetch.c — download an image URL into a sink, resuming dropped transfers
 * with Range requests. */
#include "agent.h"

#include <curl/curl.h>
#include <string.h>

struct fetch_state {
	CURL *h;
	struct agent_sink *sink;
	uint64_t offset;     /* stream bytes consumed so far = resume point */
	uint64_t body_start; /* stream position of this attempt's first body byte */
	bool started;	     /* body_start decided for this attempt */
	enum agent_rc rc;    /* sink failure: final, never retried */
	struct agent_err err;
};

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	struct fetch_state *st = ud;
	size_t len = size * n;
	if (!st->started) {
		long code = 0;
		curl_easy_getinfo(st->h, CURLINFO_RESPONSE_CODE, &code);
		/* A 200 to a Range request is the whole body again: skip the
		 * prefix already consumed. file:// (code 0) and 206 resume. */
		st->body_start = (code == 200) ? 0 : st->offset;
		st->started = true;
	}
	uint64_t end = st->body_start + len;
	if (end > st->offset) {
		size_t skip =
		    (size_t)(st->offset > st->body_start ? st->offset - st->body_start : 0);
		st->rc = agent_sink_feed(st->sink, p + skip, len - skip, &st->err);
		if (st->rc)
			return 0;
		st->offset = end;
	}
	st->body_start = end;
	return len;
}

static enum agent_rc classify(CURLcode cc, long code, const char *url, struct agent_err *err)
{
	if (cc == CURLE_HTTP_RETURNED_ERROR) {
		enum agent_rc rc = code >= 500 ? AGENT_E_NET : AGENT_E_HTTP;
		if (err)
			err->http_status = code;
		return agent_fail(err, rc, "GET %s: HTTP %ld", url, code);
	}
	switch (cc) {
	case CURLE_FILE_COULDNT_READ_FILE:
	case CURLE_REMOTE_FILE_NOT_FOUND:
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
		return agent_fail(err, AGENT_E_HTTP, "GET %s: %s", url, curl_easy_strerror(cc));
	case CURLE_BAD_DOWNLOAD_RESUME:
	case CURLE_RANGE_ERROR:
		return agent_fail(err, AGENT_E_PROTO, "GET %s: cannot resume: %s", url,
				  curl_easy_strerror(cc));
	default:
		return agent_fail(err, AGENT_E_NET, "GET %s: %s", url, curl_easy_strerror(cc));
	}
}

static enum agent_rc fetch_once(const char *url, struct fetch_state *st, struct agent_err *err)
{
	st->h = curl_easy_init();
	if (!st->h)
		return agent_fail(err, AGENT_E_NOMEM, "out of memory");
	st->started = false;
	curl_easy_setopt(st->h, CURLOPT_URL, url);
	curl_easy_setopt(st->h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(st->h, CURLOPT_FAILONERROR, 1L);
	curl_easy_setopt(st->h, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(st->h, CURLOPT_CONNECTTIMEOUT, 15L);
	curl_easy_setopt(st->h, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(st->h, CURLOPT_LOW_SPEED_TIME, 60L);
	curl_easy_setopt(st->h, CURLOPT_BUFFERSIZE, 256L * 1024);
	curl_easy_setopt(st->h, CURLOPT_USERAGENT, "provisiond-agent/0.1");
	curl_easy_setopt(st->h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(st->h, CURLOPT_WRITEDATA, st);
	/* CURLOPT_RANGE rather than RESUME_FROM: curl then hands us a 200
	 * reply to the Range request instead of failing, and on_body skips. */
	char range[32];
	snprintf(range, sizeof(range), "%llu-", (unsigned long long)st->offset);
	curl_easy_setopt(st->h, CURLOPT_RANGE, st->offset ? range : NULL);
	CURLcode cc = curl_easy_perform(st->h);
	long code = 0;
	curl_easy_getinfo(st->h, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(st->h);
	st->h = NULL;
	if (st->rc) {
		if (err)
			*err = st->err;
		return st->rc;
	}
	if (cc == CURLE_OK)
		return AGENT_OK;
	return classify(cc, code, url, err);
}

enum agent_rc agent_fetch(const struct agent_client *c, const char *url, struct agent_sink *sink,
			  uint64_t *downloaded, struct agent_err *err)
{
	struct fetch_state st = {.sink = sink};
	struct agent_backoff b;
	agent_backoff_init(&b, c->retry_base_s, c->retry_cap_s, c->retry_max_s);
	for (;;) {
		uint64_t before = st.offset;
		struct agent_err e = {0};
		enum agent_rc rc = fetch_once(url, &st, &e);
		if (st.offset > before)
			agent_backoff_reset(&b, c->retry_max_s);
		double delay;
		if (rc != AGENT_E_NET || !agent_backoff_next(&b, &delay)) {
			if (rc && err)
				*err = e;
			*downloaded = st.offset;
			return rc;
		}
		agent_log(AGENT_LOG_WARN, "%s after %llu bytes; resuming in %.1f s", e.msg,
			  (unsigned long long)st.offset, delay);
		agent_sleep(delay);
	}
}
