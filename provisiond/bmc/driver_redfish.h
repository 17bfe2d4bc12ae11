/* driver_redfish.h - pieces of the redfish driver shared by its files (internal).
 *
 * Layout: driver_redfish.c (the table, power and boot), driver_redfish_conf.c
 * (address and options, no I/O), driver_redfish_http.c (one request with libcurl,
 * bounded by the call's deadline; the error sentence), driver_redfish_session.c (the
 * per-manager cache of sessions: login, reuse, re-login on 401, logout),
 * driver_redfish_media.c (virtual media: finding the virtual CD, insert, eject). */
#ifndef PROVISIOND_BMC_DRIVER_REDFISH_H
#define PROVISIOND_BMC_DRIVER_REDFISH_H

#include <curl/curl.h>
#include <pthread.h>
#include <stdbool.h>

#include "provisiond/bmc/driver.h"

enum rf_auth { RF_AUTH_SESSION, RF_AUTH_BASIC, RF_AUTH_SESSION_OR_BASIC };

struct rf_conf {
	char base[300];	     /* "https://host:port", no trailing slash */
	char user[256];	     /* borrowed from the target while an instance lives */
	char pass[256];	     /* wiped with the instance */
	char system_id[128]; /* "" = the only system */
	char ca_file[256];   /* "" = the system's CA store */
	char boot_mode[16];  /* "" = leave BootSourceOverrideMode alone */
	bool insecure;	     /* tls_insecure: no certificate or host name check */
	enum rf_auth auth;
	unsigned long long fingerprint; /* address, user, password, TLS, system_id */
};

/* One BMC's remembered state, kept across operations in the manager's cache. Only
 * the operation holding the BMC's turn touches it (the dispatch layer serializes
 * operations per key), so it needs no lock of its own. */
struct rf_entry {
	struct rf_entry *next;
	char *key;
	unsigned long long fingerprint;
	char base[300], ca_file[256];
	bool insecure;
	bool basic;	    /* no session service: Basic auth for this BMC */
	char *token;	    /* X-Auth-Token of our session, or NULL */
	char *session_uri;  /* its path, for DELETE */
	char *sessions_uri; /* the sessions collection (root Links.Sessions) */
	char *systems_uri;  /* the Systems collection (root Systems) */
	char *system_uri;   /* the ComputerSystem chosen by discovery */
};

/* The manager's cache (the driver's priv). mu guards the list, not the entries. */
struct rf_priv {
	pthread_mutex_t mu;
	struct rf_entry *entries;
};

/* One operation's instance. */
struct rf_inst {
	struct rf_conf c;
	struct rf_entry *en; /* borrowed from the cache */
	CURL *h;	     /* reused within the operation (keep-alive) */
	long long deadline;  /* of the current driver call, monotonic ms */
	int timeout_ms;
};

/* An answer. body: parsed JSON or NULL (free with rf_resp_free). */
struct rf_resp {
	long status;
	json_t *body;
	char etag[256], location[512], token[512];
	long retry_after_s;
};
void rf_resp_free(struct rf_resp *r);

/* driver_redfish_conf.c */
enum bmc_status rf_conf_parse(const struct bmc_target *t, const json_t *opts, struct rf_conf *c,
			      struct bmc_error *e);

/* driver_redfish_http.c. One request to in->c.base + path (a path, or an absolute
 * URL on the same BMC) within in->deadline. auth: the X-Auth-Token, or NULL for Basic
 * with the conf's credentials, or "" for none. body may be NULL. if_match may be
 * NULL. Returns BMC_OK when an HTTP answer came (any status), else the transport
 * error in e (UNREACHABLE when no connection was made, TIMEOUT after). */
enum bmc_status rf_http(struct rf_inst *in, const char *method, const char *path, const char *auth,
			const json_t *body, const char *if_match, struct rf_resp *r,
			struct bmc_error *e);
/* The error for an HTTP answer that is not a success: status mapped (401/403 AUTH,
 * 429/503 BUSY, 504 TIMEOUT, 404/405/501 UNSUPPORTED, else FAILED) and the message
 * "BMC at BASE: HTTP N on WHAT: <first @Message.ExtendedInfo Message>". */
enum bmc_status rf_http_error(const struct rf_inst *in, const char *what, const struct rf_resp *r,
			      struct bmc_error *e);
/* The first @Message.ExtendedInfo Message (or error.message) of a body, or NULL. */
const char *rf_extended_message(const json_t *body);
/* Sets the TLS options and the common ones on a handle. */
void rf_http_setup(CURL *h, const char *ca_file, bool insecure);
/* Monotonic milliseconds. */
long long rf_now_ms(void);
/* Strips "scheme://host" from an absolute URL; paths come back unchanged. */
const char *rf_path_of(const char *url);

/* driver_redfish_session.c */
int rf_cache_init(void **priv);
void rf_cache_fini(void *priv);
/* Finds or makes the entry for in's target; a changed fingerprint (new address or
 * credentials) logs the old session out first. */
enum bmc_status rf_cache_attach(struct rf_priv *p, const struct bmc_target *t, struct rf_inst *in,
				struct bmc_error *e);
/* An entry outside the cache (the console's, see driver_redfish_console.c): setup
 * fills it from c; release logs its session out (at most timeout_ms, best effort)
 * and frees what it holds, not the entry itself. */
void rf_entry_setup(struct rf_entry *en, const struct rf_conf *c);
void rf_entry_release(struct rf_entry *en, int timeout_ms);
/* GETs the service root (no authentication) into en->sessions_uri, systems_uri. */
enum bmc_status rf_root(struct rf_inst *in, struct bmc_error *e);
/* A request with this BMC's authentication: logs in when there is no session, and
 * once more when the BMC answers 401 to the session's token (it expired), repeating
 * the request. Returns like rf_http; r is always safe to rf_resp_free. */
enum bmc_status rf_request(struct rf_inst *in, const char *method, const char *path,
			   const json_t *body, const char *if_match, struct rf_resp *r,
			   struct bmc_error *e);

/* driver_redfish_task.c: follows a 202's task monitor to its end within the call's
 * deadline. r is the 202 answer on entry and the final answer on success. */
enum bmc_status rf_task_wait(struct rf_inst *in, const char *what, struct rf_resp *r,
			     struct bmc_error *e);

/* driver_redfish_media.c: the driver's virtual-media slots. */
enum bmc_status rf_media_insert(void *inst, int timeout_ms, const char *url, struct bmc_error *e);
enum bmc_status rf_media_eject(void *inst, int timeout_ms, struct bmc_error *e);
/* Starts a driver call: its deadline is timeout_ms from now. */
void rf_start_call(struct rf_inst *in, int timeout_ms);

/* driver_redfish_discover.c: the ComputerSystem to act on, from the service root
 * (cached in the entry). *sys is its GET (body and ETag); its path in en->system_uri. */
enum bmc_status rf_system_get(struct rf_inst *in, struct rf_resp *sys, struct bmc_error *e);

/* driver_redfish_console.c: the driver's console slots (SerialConsole.Telnet). */
enum bmc_status rf_console_open(void *priv, const struct bmc_target *t, const json_t *opts,
				int timeout_ms, void **cs, struct bmc_error *e);
enum bmc_status rf_console_read(void *cs, char *buf, size_t len, int wait_ms, size_t *got,
				struct bmc_error *e);
void rf_console_close(void *cs);

/* Telnet in a console stream (RFC 854), minimally: commands and option
 * negotiation are removed from buf in place (IAC IAC is a 0xFF data byte), and
 * every option the server asks for or offers is refused (DO -> WONT, WILL ->
 * DONT), the answers appended to t->reply (dropped when it is full). A sequence
 * cut between two reads continues in the next call. Returns the data bytes left
 * at the start of buf. Zero-initialise t before the first call. */
struct rf_telnet {
	int state;
	unsigned char verb;
	unsigned char reply[60];
	size_t nreply;
};
size_t rf_telnet_filter(struct rf_telnet *t, unsigned char *buf, size_t n);

#endif
