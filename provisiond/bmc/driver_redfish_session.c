/* driver_redfish_session.c - Redfish sessions, kept per BMC across operations.
 *
 * Why cache sessions, unlike the ipmi driver's session per operation: a Redfish
 * login is an HTTP round trip plus, on many BMCs, a slow password hash, and BMCs
 * have few session slots (often 4 to 16) that clients which never log out use up;
 * then the BMC refuses everyone until its sessions time out. So one session per BMC
 * lives in the manager's cache, is reused by every operation, is re-created when the
 * BMC answers 401 (it expired or was deleted on the BMC), and is deleted when the
 * address or credentials change and when the manager is freed (daemon shutdown).
 *
 * Locking: p->mu guards the list only. An entry is used by the operation that holds
 * its BMC's turn, one at a time (see rf_entry). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "provisiond/bmc/driver_redfish.h"

/* Shutdown must not hang on dead BMCs: each logout gets this long, all of them
 * together at most RF_FINI_BUDGET_MS; sessions left over expire on the BMC. */
#define RF_LOGOUT_MS 2000
#define RF_FINI_BUDGET_MS 10000

/* One JSON line on stderr, like the daemon's log (the BMC layer has no logger). */
static void rf_log_warn(const char *msg, const char *key, const char *base)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "level", "warn", "msg", msg, "machine", key,
			      "bmc", base);
	char *line = o ? json_dumps(o, JSON_COMPACT) : NULL;

	if (line != NULL)
		fprintf(stderr, "%s\n", line);
	free(line);
	json_decref(o);
}

static void entry_forget(struct rf_entry *en)
{
	if (en->token != NULL)
		explicit_bzero(en->token, strlen(en->token));
	free(en->token);
	free(en->session_uri);
	en->token = en->session_uri = NULL;
}

static void entry_reset(struct rf_entry *en)
{
	entry_forget(en);
	free(en->sessions_uri);
	free(en->systems_uri);
	free(en->system_uri);
	en->sessions_uri = en->systems_uri = en->system_uri = NULL;
	en->basic = false;
}

/* DELETE our session, best effort within timeout_ms, then forget it. */
static void entry_logout(struct rf_entry *en, int timeout_ms)
{
	struct rf_inst tmp = {.timeout_ms = timeout_ms};
	struct rf_resp r;
	struct bmc_error e;

	if (en->token != NULL && en->session_uri != NULL && timeout_ms > 0 &&
	    (tmp.h = curl_easy_init()) != NULL) {
		snprintf(tmp.c.base, sizeof(tmp.c.base), "%s", en->base);
		snprintf(tmp.c.ca_file, sizeof(tmp.c.ca_file), "%s", en->ca_file);
		tmp.c.insecure = en->insecure;
		tmp.deadline = rf_now_ms() + timeout_ms;
		if (rf_http(&tmp, "DELETE", en->session_uri, en->token, NULL, NULL, &r, &e) ==
		    BMC_OK)
			rf_resp_free(&r);
		curl_easy_cleanup(tmp.h);
	}
	entry_forget(en);
}

int rf_cache_init(void **priv)
{
	struct rf_priv *p;

	/* thread-safe and counted since curl 7.84 */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return -1;
	p = calloc(1, sizeof(*p));
	if (p == NULL || pthread_mutex_init(&p->mu, NULL) != 0) {
		free(p);
		curl_global_cleanup();
		return -1;
	}
	*priv = p;
	return 0;
}

void rf_cache_fini(void *priv)
{
	struct rf_priv *p = priv;
	long long end = rf_now_ms() + RF_FINI_BUDGET_MS;

	if (p == NULL)
		return;
	while (p->entries != NULL) {
		struct rf_entry *en = p->entries;
		long long left = end - rf_now_ms();
		p->entries = en->next;
		entry_logout(en, (int)(left < RF_LOGOUT_MS ? left : RF_LOGOUT_MS));
		entry_reset(en);
		free(en->key);
		free(en);
	}
	pthread_mutex_destroy(&p->mu);
	free(p);
	curl_global_cleanup();
}

void rf_entry_setup(struct rf_entry *en, const struct rf_conf *c)
{
	en->fingerprint = c->fingerprint;
	snprintf(en->base, sizeof(en->base), "%s", c->base);
	snprintf(en->ca_file, sizeof(en->ca_file), "%s", c->ca_file);
	en->insecure = c->insecure;
	en->basic = c->auth == RF_AUTH_BASIC;
}

void rf_entry_release(struct rf_entry *en, int timeout_ms)
{
	entry_logout(en, timeout_ms < RF_LOGOUT_MS ? timeout_ms : RF_LOGOUT_MS);
	entry_reset(en);
}

static struct rf_entry *entry_find_or_add(struct rf_priv *p, const char *key)
{
	struct rf_entry *en;

	pthread_mutex_lock(&p->mu);
	for (en = p->entries; en != NULL; en = en->next)
		if (strcmp(en->key, key) == 0)
			break;
	if (en == NULL && (en = calloc(1, sizeof(*en))) != NULL) {
		if ((en->key = strdup(key)) == NULL) {
			free(en);
			en = NULL;
		} else {
			en->next = p->entries;
			p->entries = en;
		}
	}
	pthread_mutex_unlock(&p->mu);
	return en;
}

enum bmc_status rf_cache_attach(struct rf_priv *p, const struct bmc_target *t, struct rf_inst *in,
				struct bmc_error *e)
{
	struct rf_entry *en = entry_find_or_add(p, t->key);
	long long left = in->deadline - rf_now_ms();

	if (en == NULL)
		return bmc_error_set(e, BMC_ERR_FAILED, NULL, "out of memory");
	in->en = en;
	if (en->fingerprint == in->c.fingerprint)
		return BMC_OK;
	/* new address, credentials or TLS settings: the old session is not ours to keep */
	entry_logout(en, (int)(left / 2 < RF_LOGOUT_MS ? left / 2 : RF_LOGOUT_MS));
	entry_reset(en);
	rf_entry_setup(en, &in->c);
	if (in->c.insecure)
		rf_log_warn("redfish: TLS certificate verification disabled (tls_insecure)", t->key,
			    in->c.base);
	return BMC_OK;
}

static char *dup_path(const char *s)
{
	return s != NULL && s[0] != '\0' ? strdup(rf_path_of(s)) : NULL;
}

/* The service root (no authentication): where the sessions and systems are. */
enum bmc_status rf_root(struct rf_inst *in, struct bmc_error *e)
{
	struct rf_entry *en = in->en;
	struct rf_resp r;
	const char *sess, *sys;
	enum bmc_status st = rf_http(in, "GET", "/redfish/v1/", "", NULL, NULL, &r, e);

	if (st != BMC_OK)
		return st;
	if (r.status != 200 || !json_is_object(r.body)) {
		st = r.status == 200
			 ? bmc_error_set(e, BMC_ERR_FAILED, NULL,
					 "BMC at %s: service root is not JSON", in->c.base)
			 : rf_http_error(in, "GET service root", &r, e);
		rf_resp_free(&r);
		return st;
	}
	sess = json_string_value(json_object_get(
	    json_object_get(json_object_get(r.body, "Links"), "Sessions"), "@odata.id"));
	sys = json_string_value(json_object_get(json_object_get(r.body, "Systems"), "@odata.id"));
	free(en->sessions_uri);
	free(en->systems_uri);
	en->sessions_uri = dup_path(sess ? sess : "/redfish/v1/SessionService/Sessions");
	en->systems_uri = dup_path(sys);
	rf_resp_free(&r);
	if (en->sessions_uri == NULL)
		return bmc_error_set(e, BMC_ERR_FAILED, NULL, "out of memory");
	return BMC_OK;
}

static enum bmc_status login_answer(struct rf_inst *in, struct rf_resp *r, struct bmc_error *e)
{
	struct rf_entry *en = in->en;
	const char *loc =
	    r->location[0] ? r->location : json_string_value(json_object_get(r->body, "@odata.id"));

	if ((r->status == 404 || r->status == 405 || r->status == 501) &&
	    in->c.auth == RF_AUTH_SESSION_OR_BASIC) {
		en->basic = true; /* no session service: Basic from now on */
		return BMC_OK;
	}
	if (r->status < 200 || r->status > 299)
		return rf_http_error(in, "session login", r, e);
	if (r->token[0] == '\0')
		return bmc_error_set(e, BMC_ERR_FAILED, NULL,
				     "BMC at %s: session login answered without X-Auth-Token",
				     in->c.base);
	en->token = strdup(r->token);
	en->session_uri = dup_path(loc);
	explicit_bzero(r->token, sizeof(r->token));
	if (en->token == NULL)
		return bmc_error_set(e, BMC_ERR_FAILED, NULL, "out of memory");
	return BMC_OK;
}

static enum bmc_status login(struct rf_inst *in, struct bmc_error *e)
{
	struct rf_resp r;
	json_t *body;
	enum bmc_status st = BMC_OK;

	if (in->en->sessions_uri == NULL)
		st = rf_root(in, e);
	if (st != BMC_OK)
		return st;
	body = json_pack("{s:s, s:s}", "UserName", in->c.user, "Password", in->c.pass);
	if (body == NULL)
		return bmc_error_set(e, BMC_ERR_FAILED, NULL, "out of memory");
	st = rf_http(in, "POST", in->en->sessions_uri, "", body, NULL, &r, e);
	json_decref(body);
	if (st == BMC_OK)
		st = login_answer(in, &r, e);
	rf_resp_free(&r);
	return st;
}

enum bmc_status rf_request(struct rf_inst *in, const char *method, const char *path,
			   const json_t *body, const char *if_match, struct rf_resp *r,
			   struct bmc_error *e)
{
	struct rf_entry *en = in->en;
	enum bmc_status st;

	memset(r, 0, sizeof(*r)); /* callers free it whatever happens */
	for (int attempt = 0;; attempt++) {
		if (!en->basic && en->token == NULL && (st = login(in, e)) != BMC_OK)
			return st;
		st = rf_http(in, method, path, en->basic ? NULL : en->token, body, if_match, r, e);
		if (st != BMC_OK || r->status != 401 || en->basic || attempt > 0)
			return st;
		/* our session expired or was deleted on the BMC: log in again, once */
		entry_forget(en);
		rf_resp_free(r);
	}
}
