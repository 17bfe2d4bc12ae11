/* rbmc.h - the lab's Redfish BMC (lab/redfish-bmc): one process serving one or more
 * machines as Redfish ComputerSystems, each with its Manager and a virtual CD.
 *
 * Not provisiond code: a stand-in for a server's BMC, written to be driven by real
 * Redfish clients (provisiond's redfish driver, Debian's python3-sushy and
 * redfishtool). Back ends: a simulated machine (--simulate) or a command hook in the
 * style of ipmi_sim's chassis_control (--hook), which the lab points at its libvirt
 * glue. Every state change and every login is appended to an operation log (JSON
 * lines) for the tests.
 *
 * Threading: libmicrohttpd runs a thread per connection; one mutex (struct rbmc.mu)
 * guards all state, held for the whole of a request. */
#ifndef RBMC_H
#define RBMC_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define RBMC_MAX_SYSTEMS 16
#define RBMC_MAX_SESSIONS 64

struct rbmc_system {
	char id[64];
	char power[16];	       /* "On" / "Off" (simulated, or last read) */
	char boot_enabled[16]; /* Disabled / Once / Continuous */
	char boot_target[16];  /* None / Pxe / Hdd / Cd / UefiHttp */
	char boot_mode[16];    /* UEFI / Legacy */
	char media_image[512]; /* "" = none */
	bool media_inserted;
};

struct rbmc_session {
	bool used;
	unsigned id;
	char token[65];
	char user[64];
	double last_used; /* monotonic seconds */
};

struct rbmc;

/* A back end: what "the machine" is. power_get fills "On"/"Off"; reset receives a
 * ResetType already checked against the allowed list; boot tells the back end the
 * device for the next start ("Pxe", "Hdd", "Cd", "None"); media gives the image to
 * attach or NULL to detach. Return 0, or -1 with msg filled. */
struct rbmc_backend {
	const char *name;
	int (*power_get)(struct rbmc *b, struct rbmc_system *s, char *msg, size_t len);
	int (*reset)(struct rbmc *b, struct rbmc_system *s, const char *type, char *msg,
		     size_t len);
	int (*boot)(struct rbmc *b, struct rbmc_system *s, const char *target, char *msg,
		    size_t len);
	int (*media)(struct rbmc *b, struct rbmc_system *s, const char *image, char *msg,
		     size_t len);
};

struct rbmc {
	pthread_mutex_t mu;
	char user[64], pass[128];
	struct rbmc_system sys[RBMC_MAX_SYSTEMS];
	int nsys;
	struct rbmc_session sessions[RBMC_MAX_SESSIONS];
	unsigned next_session;
	int session_timeout_s, max_sessions;
	const struct rbmc_backend *be;
	char hook[512]; /* --hook: the command prefix; the system id is appended */
	FILE *oplog;
	/* --console-upstream (console.c): the first system's serial line; "" = none */
	char console_upstream[128];
	int console_fd;	       /* the telnet service's listening socket */
	unsigned console_port; /* its port, advertised; 0 = no console */
	int console_clients;   /* under mu */
};

/* One request being answered. */
struct rbmc_req {
	struct rbmc *b;
	const char *method;
	char *seg[12]; /* path segments after /redfish/v1 */
	int nseg;
	json_t *body; /* parsed request body or NULL */
	bool body_bad;
	const char *if_match;
	char user[64]; /* who, once authenticated */
	/* the answer */
	int status;
	json_t *doc;
	char etag[40], location[128], token[65], allow[64];
};

/* oplog.c: one JSON line per operation: {"ts":..,"op":..,<fields>}. fields is
 * "key", "value", ... NULL. Caller holds b->mu. */
void rbmc_log(struct rbmc *b, const char *op, ...) __attribute__((sentinel));
double rbmc_now(void);

/* sessions.c (caller holds b->mu) */
/* Checks X-Auth-Token or Basic credentials; fills q->user. 0 ok, -1 no/bad auth. */
int rbmc_authenticate(struct rbmc_req *q, const char *token, const char *basic_user,
		      const char *basic_pass);
void rbmc_sessions_collection(struct rbmc_req *q);
void rbmc_session_create(struct rbmc_req *q);
void rbmc_session_one(struct rbmc_req *q, const char *id);

/* resources.c: GET documents. */
void rbmc_root(struct rbmc_req *q);
void rbmc_get(struct rbmc_req *q); /* everything under /redfish/v1 but sessions */
struct rbmc_system *rbmc_system_find(struct rbmc *b, const char *id);
json_t *rbmc_system_doc(struct rbmc *b, struct rbmc_system *s);
json_t *rbmc_media_doc(struct rbmc_system *s);
/* The strong ETag of a document ("\"hex\""). */
void rbmc_etag(const json_t *doc, char out[40]);

/* actions.c: POST actions and PATCH. */
void rbmc_reset(struct rbmc_req *q, struct rbmc_system *s);
void rbmc_patch_system(struct rbmc_req *q, struct rbmc_system *s);
void rbmc_media_action(struct rbmc_req *q, struct rbmc_system *s, bool insert);

/* server.c: answers with a Redfish error (and @Message.ExtendedInfo). */
void rbmc_error(struct rbmc_req *q, int status, const char *id, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int rbmc_serve(struct rbmc *b, const char *listen, const char *cert, const char *key,
	       const char *port_file);
/* "A.B.C.D:PORT" -> sa. 0, or -1 when it is not one. */
struct sockaddr_in;
int rbmc_parse_addr(const char *addr, struct sockaddr_in *sa);

/* console.c: listens on listen_addr (b->console_port set) and relays each client
 * to b->console_upstream on a thread of its own. 0, or -1 (printed). */
int rbmc_console_start(struct rbmc *b, const char *listen_addr);

/* Back ends. */
extern const struct rbmc_backend rbmc_backend_sim;
extern const struct rbmc_backend rbmc_backend_hook;

#endif
