/* driver_redfish_console.c - the redfish driver's serial console.
 *
 * Redfish has no console stream of its own: the ComputerSystem advertises where its
 * serial console is served (SerialConsole, ComputerSystem v1_13 and later: IPMI, SSH
 * and Telnet, each with ServiceEnabled and Port). This driver captures the Telnet
 * one: console_open reads the system (discovery as for power, driver_redfish_discover.c),
 * takes SerialConsole.Telnet when it is enabled and not the manager's CLI, and
 * connects to the BMC's host at that port; console_read passes on what comes, with
 * the telnet commands removed (rf_telnet_filter). A system that advertises no
 * enabled telnet console gets BMC_ERR_UNSUPPORTED, which the console manager takes
 * as final for the machine: the driver has the slots (BMC_CAP_CONSOLE), each system
 * says whether it has the console. Not captured: SSH (no SSH library in the
 * project), IPMI SOL through the redfish driver (enrol the machine with the ipmi
 * driver for that), a console shared with the manager's CLI (needs a login and the
 * ConsoleEntryCommand), and the older Manager.SerialConsole, which names no port.
 *
 * Why not the manager's session cache: console slots run beside the dispatch
 * layer's operations, not in their turn, and a cache entry is only for the
 * operation holding the BMC's turn (driver_redfish.h). So the open has an entry of
 * its own: it logs in, reads the system, and logs out before it connects; the
 * telnet connection itself carries no Redfish credentials. Telnet is plain text:
 * the console is as private as the network between provisiond and the BMC. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "provisiond/bmc/driver_redfish.h"

enum {
	TN_IAC = 255,
	TN_DONT = 254,
	TN_DO = 253,
	TN_WONT = 252,
	TN_WILL = 251,
	TN_SB = 250,
	TN_SE = 240
};
enum { S_DATA, S_IAC, S_OPT, S_SUB, S_SUB_IAC };

struct rf_console {
	int fd;
	struct rf_telnet tn;
	char label[340]; /* "BMC at BASE, telnet console port N" */
};

static void telnet_refuse(struct rf_telnet *t, unsigned char opt)
{
	unsigned char no = t->verb == TN_DO ? TN_WONT : TN_DONT;

	if (t->verb != TN_DO && t->verb != TN_WILL) /* DONT, WONT: nothing to answer */
		return;
	if (t->nreply + 3 > sizeof(t->reply))
		return;
	t->reply[t->nreply++] = TN_IAC;
	t->reply[t->nreply++] = no;
	t->reply[t->nreply++] = opt;
}

size_t rf_telnet_filter(struct rf_telnet *t, unsigned char *buf, size_t n)
{
	size_t out = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = buf[i];
		switch (t->state) {
		case S_DATA:
			if (c == TN_IAC)
				t->state = S_IAC;
			else
				buf[out++] = c;
			break;
		case S_IAC:
			if (c == TN_IAC)
				buf[out++] = c; /* an escaped 0xFF data byte */
			t->verb = c;
			t->state = c >= TN_WILL && c <= TN_DONT ? S_OPT
				   : c == TN_SB			? S_SUB
								: S_DATA;
			break;
		case S_OPT:
			telnet_refuse(t, c);
			t->state = S_DATA;
			break;
		case S_SUB:
			t->state = c == TN_IAC ? S_SUB_IAC : S_SUB;
			break;
		default: /* S_SUB_IAC */
			t->state = c == TN_SE ? S_DATA : S_SUB;
			break;
		}
	}
	return out;
}

/* SerialConsole.Telnet's port, or why there is none. */
static enum bmc_status telnet_port(const struct rf_inst *in, const json_t *sys, int *port,
				   struct bmc_error *e)
{
	const json_t *sc = json_object_get(sys, "SerialConsole");
	const json_t *tn = json_object_get(sc, "Telnet");
	json_int_t p = json_integer_value(json_object_get(tn, "Port"));
	const char *sys_uri = in->en->system_uri;

	if (!json_is_object(sc))
		return bmc_error_set(e, BMC_ERR_UNSUPPORTED, NULL,
				     "BMC at %s: system %s advertises no SerialConsole", in->c.base,
				     sys_uri);
	if (!json_is_true(json_object_get(tn, "ServiceEnabled")))
		return bmc_error_set(e, BMC_ERR_UNSUPPORTED, NULL,
				     "BMC at %s: system %s has no enabled SerialConsole.Telnet "
				     "(the redfish driver captures telnet consoles only)",
				     in->c.base, sys_uri);
	if (json_is_true(json_object_get(tn, "SharedWithManagerCLI")))
		return bmc_error_set(e, BMC_ERR_UNSUPPORTED, NULL,
				     "BMC at %s: system %s's telnet console is the manager's CLI "
				     "(SharedWithManagerCLI), not captured",
				     in->c.base, sys_uri);
	if (p < 1 || p > 65535)
		return bmc_error_set(e, BMC_ERR_FAILED, NULL,
				     "BMC at %s: system %s: SerialConsole.Telnet has no valid Port",
				     in->c.base, sys_uri);
	*port = (int)p;
	return BMC_OK;
}

/* Reads the system and finds its console port, with a Redfish session of its own
 * (logged out before returning). */
static enum bmc_status find_port(const struct bmc_target *t, const json_t *opts, int timeout_ms,
				 struct rf_inst *in, int *port, struct bmc_error *e)
{
	struct rf_entry en = {0};
	struct rf_resp sys = {0};
	enum bmc_status st = rf_conf_parse(t, opts, &in->c, e);

	rf_start_call(in, timeout_ms);
	in->en = &en;
	if (st == BMC_OK && (in->h = curl_easy_init()) == NULL)
		st = bmc_error_set(e, BMC_ERR_FAILED, NULL, "cannot create a curl handle");
	if (st == BMC_OK) {
		rf_entry_setup(&en, &in->c);
		st = rf_system_get(in, &sys, e);
	}
	if (st == BMC_OK)
		st = telnet_port(in, sys.body, port, e);
	rf_resp_free(&sys);
	rf_entry_release(&en, (int)(in->deadline - rf_now_ms()));
	if (in->h != NULL)
		curl_easy_cleanup(in->h);
	in->h = NULL;
	in->en = NULL;
	explicit_bzero(in->c.pass, sizeof(in->c.pass));
	return st;
}

/* "scheme://host:port" or "scheme://[v6]:port" -> host. */
static void base_host(const char *base, char *host, size_t len)
{
	const char *h = strstr(base, "://");
	size_t n;

	h = h != NULL ? h + 3 : base;
	if (*h == '[') {
		h++;
		n = strcspn(h, "]");
	} else {
		n = strcspn(h, ":/");
	}
	snprintf(host, len, "%.*s", (int)n, h);
}

/* A connected non-blocking socket to one address, within ms; -1 with errno. */
static int connect_one(const struct addrinfo *ai, int ms)
{
	int fd =
	    socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
	int err = 0, r;
	socklen_t len = sizeof(err);
	struct pollfd p = {.fd = fd, .events = POLLOUT};

	if (fd < 0)
		return -1;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
		return fd;
	if (errno != EINPROGRESS)
		err = errno;
	else if ((r = poll(&p, 1, ms > 0 ? ms : 1)) <= 0)
		err = r == 0 ? ETIMEDOUT : errno;
	else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
		err = errno;
	if (err == 0)
		return fd;
	close(fd);
	errno = err;
	return -1;
}

static enum bmc_status console_connect(struct rf_console *rc, const char *host, int port,
				       long long deadline, struct bmc_error *e)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
	char service[16];
	int rv, err = ETIMEDOUT;

	snprintf(service, sizeof(service), "%d", port);
	rv = getaddrinfo(host, service, &hints, &res);
	if (rv != 0)
		return bmc_error_set(e, BMC_ERR_UNREACHABLE, NULL, "%s: cannot resolve %s: %s",
				     rc->label, host, gai_strerror(rv));
	for (struct addrinfo *ai = res; ai != NULL && rc->fd < 0; ai = ai->ai_next) {
		rc->fd = connect_one(ai, (int)(deadline - rf_now_ms()));
		if (rc->fd < 0)
			err = errno;
	}
	freeaddrinfo(res);
	if (rc->fd < 0)
		return bmc_error_set(e, err == ETIMEDOUT ? BMC_ERR_TIMEOUT : BMC_ERR_UNREACHABLE,
				     NULL, "%s: cannot connect: %s", rc->label, strerror(err));
	return BMC_OK;
}

void rf_console_close(void *cs)
{
	struct rf_console *rc = cs;

	if (rc == NULL)
		return;
	if (rc->fd >= 0)
		close(rc->fd);
	free(rc);
}

enum bmc_status rf_console_open(void *priv, const struct bmc_target *t, const json_t *opts,
				int timeout_ms, void **cs, struct bmc_error *e)
{
	struct rf_inst *in = calloc(1, sizeof(*in));
	struct rf_console *rc = calloc(1, sizeof(*rc));
	char host[256];
	int port = 0;
	enum bmc_status st = BMC_OK;

	(void)priv; /* not the session cache: see the top of this file */
	if (in == NULL || rc == NULL)
		st = bmc_error_set(e, BMC_ERR_FAILED, NULL, "out of memory");
	else
		rc->fd = -1;
	if (st == BMC_OK)
		st = find_port(t, opts, timeout_ms, in, &port, e);
	if (st == BMC_OK) {
		base_host(in->c.base, host, sizeof(host));
		snprintf(rc->label, sizeof(rc->label), "BMC at %s, telnet console port %d",
			 in->c.base, port);
		st = console_connect(rc, host, port, in->deadline, e);
	}
	if (in != NULL)
		explicit_bzero(in, sizeof(*in));
	free(in);
	if (st != BMC_OK) {
		rf_console_close(rc);
		return st;
	}
	*cs = rc;
	return BMC_OK;
}

/* The answers to the server's negotiation, best effort: a console that cannot
 * take three bytes now is read on regardless. */
static void flush_replies(struct rf_console *rc)
{
	if (rc->tn.nreply > 0 &&
	    send(rc->fd, rc->tn.reply, rc->tn.nreply, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
		/* dropped; the next negotiation is answered again */
	}
	rc->tn.nreply = 0;
}

enum bmc_status rf_console_read(void *cs, char *buf, size_t len, int wait_ms, size_t *got,
				struct bmc_error *e)
{
	struct rf_console *rc = cs;
	struct pollfd p = {.fd = rc->fd, .events = POLLIN};
	int r = poll(&p, 1, wait_ms);
	ssize_t n;

	*got = 0;
	if (r < 0 && errno == EINTR)
		return BMC_OK;
	if (r < 0)
		return bmc_error_set(e, BMC_ERR_FAILED, NULL, "%s: poll: %s", rc->label,
				     strerror(errno));
	if (r == 0)
		return BMC_OK;
	n = read(rc->fd, buf, len);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return BMC_OK;
	if (n < 0)
		return bmc_error_set(e, BMC_ERR_UNREACHABLE, NULL, "%s: %s", rc->label,
				     strerror(errno));
	if (n == 0)
		return bmc_error_set(e, BMC_ERR_FAILED, NULL, "%s: the BMC closed the console",
				     rc->label);
	*got = rf_telnet_filter(&rc->tn, (unsigned char *)buf, (size_t)n);
	flush_replies(rc);
	return BMC_OK;
}
