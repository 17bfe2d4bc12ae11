/* sessions.c - SessionService: sessions by X-Auth-Token, and Basic auth.
 *
 * Sessions expire after session_timeout_s unused (checked lazily, at each login and
 * lookup). At most max_sessions live at once; a login beyond that is refused with
 * 503 as real BMCs do, which is how a test sees a client that never logs out. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "rbmc.h"

#define SESSIONS_PATH "/redfish/v1/SessionService/Sessions"

static void expire(struct rbmc *b)
{
	double now = rbmc_now();
	char id[16];

	for (int i = 0; i < RBMC_MAX_SESSIONS; i++) {
		struct rbmc_session *s = &b->sessions[i];
		if (!s->used || now - s->last_used <= b->session_timeout_s)
			continue;
		snprintf(id, sizeof(id), "%u", s->id);
		rbmc_log(b, "session_expired", "session", id, "user", s->user, NULL);
		memset(s, 0, sizeof(*s));
	}
}

static int live_sessions(const struct rbmc *b)
{
	int n = 0;

	for (int i = 0; i < RBMC_MAX_SESSIONS; i++)
		n += b->sessions[i].used;
	return n;
}

static bool random_token(char out[65])
{
	unsigned char raw[32];
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	bool ok = fd >= 0 && read(fd, raw, sizeof(raw)) == (ssize_t)sizeof(raw);

	if (fd >= 0)
		close(fd);
	for (size_t i = 0; ok && i < sizeof(raw); i++)
		snprintf(out + 2 * i, 3, "%02x", raw[i]);
	return ok;
}

int rbmc_authenticate(struct rbmc_req *q, const char *token, const char *basic_user,
		      const char *basic_pass)
{
	struct rbmc *b = q->b;

	expire(b);
	if (token != NULL) {
		for (int i = 0; i < RBMC_MAX_SESSIONS; i++) {
			struct rbmc_session *s = &b->sessions[i];
			if (s->used && strcmp(s->token, token) == 0) {
				s->last_used = rbmc_now();
				snprintf(q->user, sizeof(q->user), "%s", s->user);
				return 0;
			}
		}
		return -1;
	}
	if (basic_user != NULL && strcmp(basic_user, b->user) == 0 && basic_pass != NULL &&
	    strcmp(basic_pass, b->pass) == 0) {
		snprintf(q->user, sizeof(q->user), "%s", basic_user);
		return 0;
	}
	if (basic_user != NULL)
		rbmc_log(b, "auth_failed", "user", basic_user, "via", "basic", NULL);
	return -1;
}

static struct rbmc_session *find(struct rbmc *b, const char *id)
{
	for (int i = 0; i < RBMC_MAX_SESSIONS; i++) {
		char s[16];
		snprintf(s, sizeof(s), "%u", b->sessions[i].id);
		if (b->sessions[i].used && strcmp(s, id) == 0)
			return &b->sessions[i];
	}
	return NULL;
}

void rbmc_sessions_collection(struct rbmc_req *q)
{
	json_t *members = json_array();
	char path[96];

	for (int i = 0; i < RBMC_MAX_SESSIONS; i++) {
		if (!q->b->sessions[i].used)
			continue;
		snprintf(path, sizeof(path), SESSIONS_PATH "/%u", q->b->sessions[i].id);
		json_array_append_new(members, json_pack("{s:s}", "@odata.id", path));
	}
	q->status = 200;
	q->doc = json_pack("{s:s, s:s, s:s, s:I, s:o}", "@odata.id", SESSIONS_PATH, "@odata.type",
			   "#SessionCollection.SessionCollection", "Name", "Session Collection",
			   "Members@odata.count", (json_int_t)json_array_size(members), "Members",
			   members);
}

static json_t *session_doc(const struct rbmc_session *s)
{
	char path[96], id[16];

	snprintf(path, sizeof(path), SESSIONS_PATH "/%u", s->id);
	snprintf(id, sizeof(id), "%u", s->id);
	return json_pack("{s:s, s:s, s:s, s:s, s:s}", "@odata.id", path, "@odata.type",
			 "#Session.v1_3_0.Session", "Id", id, "Name", "User Session", "UserName",
			 s->user);
}

static struct rbmc_session *free_slot(struct rbmc *b)
{
	if (live_sessions(b) >= b->max_sessions)
		return NULL;
	for (int i = 0; i < RBMC_MAX_SESSIONS; i++)
		if (!b->sessions[i].used)
			return &b->sessions[i];
	return NULL;
}

void rbmc_session_create(struct rbmc_req *q)
{
	struct rbmc *b = q->b;
	const char *u = json_string_value(json_object_get(q->body, "UserName"));
	const char *p = json_string_value(json_object_get(q->body, "Password"));
	struct rbmc_session *s;
	char id[16];

	expire(b);
	if (u == NULL || p == NULL) {
		rbmc_error(q, 400, "Base.1.8.PropertyMissing",
			   "The property UserName or Password is missing from the request.");
		return;
	}
	if (strcmp(u, b->user) != 0 || strcmp(p, b->pass) != 0) {
		rbmc_log(b, "auth_failed", "user", u, "via", "session", NULL);
		{
			rbmc_error(q, 401, "Base.1.8.NoValidSession",
				   "Login failed: the user name or password is incorrect.");
			return;
		}
	}
	if ((s = free_slot(b)) == NULL) {
		rbmc_error(q, 503, "Base.1.8.SessionLimitExceeded",
			   "The session establishment failed due to the number of "
			   "simultaneous sessions exceeding the limit of the implementation.");
		return;
	}
	if (!random_token(s->token)) {
		rbmc_error(q, 500, "Base.1.8.InternalError", "No randomness for a token.");
		return;
	}
	s->used = true;
	s->id = ++b->next_session;
	s->last_used = rbmc_now();
	snprintf(s->user, sizeof(s->user), "%s", u);
	snprintf(id, sizeof(id), "%u", s->id);
	snprintf(q->token, sizeof(q->token), "%s", s->token);
	snprintf(q->location, sizeof(q->location), SESSIONS_PATH "/%u", s->id);
	rbmc_log(b, "session_created", "session", id, "user", u, NULL);
	q->status = 201;
	q->doc = session_doc(s);
}

void rbmc_session_one(struct rbmc_req *q, const char *id)
{
	struct rbmc_session *s = find(q->b, id);

	if (s == NULL) {
		rbmc_error(q, 404, "Base.1.8.ResourceMissingAtURI",
			   "The resource at the URI " SESSIONS_PATH "/%s was not found.", id);
		return;
	}
	if (strcmp(q->method, "DELETE") == 0) {
		rbmc_log(q->b, "session_deleted", "session", id, "by", q->user, NULL);
		memset(s, 0, sizeof(*s));
		q->status = 204;
		return;
	}
	q->status = 200;
	q->doc = session_doc(s);
}
