/* driver_ipmi_console.c - the ipmi driver's serial console: IPMI 2.0 Serial-over-LAN
 * with FreeIPMI's libipmiconsole.
 *
 * libipmiconsole runs its own engine threads (started once per process, at the first
 * capture, and left running until exit: they cost nothing while no session is open)
 * that keep each SOL session alive and pass the console's bytes to a file descriptor
 * per session. console_open submits a context and blocks until the session is up or
 * the session timeout passes; console_read polls that descriptor. When the engine
 * loses the session (timeout, BMC gone, SOL taken over) the descriptor reads EOF and
 * the context's error says why.
 *
 * SOL is not stolen: with ERROR_ON_SOL_INUSE a console a tech holds (ipmiconsole,
 * ipmitool sol activate) makes the open fail with "in use", and the caller retries
 * later, instead of kicking the tech out. OpenIPMI's ipmi_sim needs the workarounds
 * solpayloadsize (it reports payload sizes byte-swapped) and solchannelsupport
 * (2.0.33 crashes on Get Channel Payload Support), besides opensesspriv.
 *
 * Why the address is resolved here, not by libipmiconsole: when its own setup fails
 * before it made its sockets (FreeIPMI 1.6: the name does not resolve, or "hostname
 * invalid" for any port above 32767, which it keeps in a signed 16-bit field), its
 * cleanup closes descriptor 0 twice: the context was zeroed, and the descriptors
 * it closes are set to -1 only later. In this daemon descriptor 0 is soon a socket
 * of libfreeipmi or libmicrohttpd, which then fail or abort. So libipmiconsole
 * only ever gets a numeric address that resolved here with its own hints, on a
 * port it can use; the rest fails before it is called. */
#include <errno.h>
#include <ipmiconsole.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "provisiond/bmc/address.h"
#include "provisiond/bmc/driver_ipmi.h"

#define ENGINE_THREADS 2
#define SOL_PORT_MAX 32767 /* libipmiconsole 1.6 fails above (see the top) */

struct sol {
	ipmiconsole_ctx_t ctx;
	int fd;
	char label[272];
};

static pthread_once_t engine_once = PTHREAD_ONCE_INIT;
static int engine_rc = -1;

static void engine_start(void)
{
	engine_rc = ipmiconsole_engine_init(ENGINE_THREADS, 0);
}

/* Timeouts of one session, from the BMC's call timeout T (at least 4 s): the session
 * ends after T without an answer; keepalives every T/2 (libipmiconsole needs the
 * keepalive below the session timeout); a lost datagram is resent after T/8. */
static void sol_timeouts(int timeout_ms, struct ipmiconsole_protocol_config *p)
{
	int t = timeout_ms < 4000 ? 4000 : timeout_ms;

	*p = (struct ipmiconsole_protocol_config){
	    .session_timeout_len = t,
	    .retransmission_timeout_len = t / 8,
	    .retransmission_backoff_count = -1,
	    .keepalive_timeout_len = t / 2,
	    .retransmission_keepalive_timeout_len = t / 8,
	    .acceptable_packet_errors_count = -1,
	    .maximum_retransmission_count = -1,
	};
}

static enum bmc_status sol_error(const struct sol *s, int errnum, struct bmc_error *e)
{
	const char *why = ipmiconsole_ctx_strerror(errnum);

	switch (errnum) {
	case IPMICONSOLE_ERR_USERNAME_INVALID:
	case IPMICONSOLE_ERR_PASSWORD_INVALID:
	case IPMICONSOLE_ERR_K_G_INVALID:
	case IPMICONSOLE_ERR_PRIVILEGE_LEVEL_INSUFFICIENT:
	case IPMICONSOLE_ERR_PRIVILEGE_LEVEL_CANNOT_BE_OBTAINED:
		return bmc_error_set(e, BMC_ERR_AUTH, NULL, "BMC at %s refused the SOL session: %s",
				     s->label, why);
	case IPMICONSOLE_ERR_CONNECTION_TIMEOUT:
	case IPMICONSOLE_ERR_SESSION_TIMEOUT:
	case IPMICONSOLE_ERR_EXCESS_RETRANSMISSIONS_SENT:
		return bmc_error_set(e, BMC_ERR_UNREACHABLE, NULL,
				     "no SOL answer from BMC at %s (%s)", s->label, why);
	case IPMICONSOLE_ERR_SOL_INUSE:
	case IPMICONSOLE_ERR_SOL_STOLEN:
	case IPMICONSOLE_ERR_BMC_BUSY:
		return bmc_error_set(e, BMC_ERR_BUSY, NULL, "BMC at %s: SOL %s", s->label, why);
	case IPMICONSOLE_ERR_SOL_UNAVAILABLE:
	case IPMICONSOLE_ERR_IPMI_2_0_UNAVAILABLE:
		return bmc_error_set(e, BMC_ERR_UNSUPPORTED, NULL, "BMC at %s offers no SOL: %s",
				     s->label, why);
	case IPMICONSOLE_ERR_BMC_IMPLEMENTATION:
		return bmc_error_set(e, BMC_ERR_FAILED, NULL,
				     "BMC at %s: SOL %s (try workarounds solpayloadsize, "
				     "solchannelsupport, solstatus, solport)",
				     s->label, why);
	default:
		return bmc_error_set(e, BMC_ERR_FAILED, NULL, "BMC at %s: SOL %s", s->label, why);
	}
}

/* The BMC's address as libipmiconsole gets it ("a.b.c.d:port", "[v6]:port"): the
 * host resolved with the hints libipmiconsole uses, on a port it handles. A name
 * that does not resolve is unreachable for now (retried); a port above
 * SOL_PORT_MAX cannot work with this library. */
static enum bmc_status sol_address(const char *label, char *out, size_t len, struct bmc_error *e)
{
	const struct addrinfo hints = {.ai_family = AF_UNSPEC,
				       .ai_socktype = SOCK_DGRAM,
				       .ai_flags = AI_V4MAPPED | AI_ADDRCONFIG};
	struct addrinfo *res = NULL, *ai;
	char host[256], service[12], num[NI_MAXHOST];
	int port, rc;
	enum bmc_status st = bmc_address_parse(label, 623, host, sizeof(host), &port, e);

	if (st != BMC_OK)
		return st;
	if (port > SOL_PORT_MAX)
		return bmc_error_set(e, BMC_ERR_UNSUPPORTED, NULL,
				     "BMC at %s: libipmiconsole cannot open SOL on a port above %d",
				     label, SOL_PORT_MAX);
	snprintf(service, sizeof(service), "%d", port);
	if ((rc = getaddrinfo(host, service, &hints, &res)) != 0)
		return bmc_error_set(e, BMC_ERR_UNREACHABLE, NULL,
				     "BMC at %s: cannot resolve %s for SOL: %s", label, host,
				     gai_strerror(rc));
	for (ai = res; ai != NULL; ai = ai->ai_next)
		if ((ai->ai_family == AF_INET || ai->ai_family == AF_INET6) &&
		    getnameinfo(ai->ai_addr, ai->ai_addrlen, num, sizeof(num), NULL, 0,
				NI_NUMERICHOST) == 0)
			break;
	if (ai != NULL)
		snprintf(out, len, ai->ai_family == AF_INET6 ? "[%s]:%d" : "%s:%d", num, port);
	freeaddrinfo(res);
	if (ai == NULL)
		return bmc_error_set(e, BMC_ERR_UNREACHABLE, NULL,
				     "BMC at %s: %s has no IPv4 or IPv6 address for SOL", label,
				     host);
	return BMC_OK;
}

static ipmiconsole_ctx_t sol_ctx(const struct ipmi_conf *c, const char *address, int timeout_ms)
{
	struct ipmiconsole_ipmi_config ic = {
	    .username = (char *)c->user,
	    .password = (char *)c->pass,
	    .k_g = NULL,
	    .k_g_len = 0,
	    .privilege_level = c->privilege_index == 0	 ? IPMICONSOLE_PRIVILEGE_USER
			       : c->privilege_index == 1 ? IPMICONSOLE_PRIVILEGE_OPERATOR
							 : IPMICONSOLE_PRIVILEGE_ADMIN,
	    .cipher_suite_id = c->cipher_suite,
	    .workaround_flags = c->sol_workarounds,
	};
	struct ipmiconsole_protocol_config pc;
	struct ipmiconsole_engine_config ec = {
	    .engine_flags = 0,
	    .behavior_flags = IPMICONSOLE_BEHAVIOR_ERROR_ON_SOL_INUSE,
	    .debug_flags = 0,
	};

	sol_timeouts(timeout_ms, &pc);
	return ipmiconsole_ctx_create(address, &ic, &pc, &ec);
}

void bmc_ipmi_console_close(void *cs)
{
	struct sol *s = cs;

	if (s == NULL)
		return;
	if (s->fd >= 0)
		close(s->fd); /* ends the session in the engine */
	if (s->ctx != NULL)
		ipmiconsole_ctx_destroy(s->ctx);
	free(s);
}

enum bmc_status bmc_ipmi_console_open(void *priv, const struct bmc_target *t, const json_t *opts,
				      int timeout_ms, void **cs, struct bmc_error *e)
{
	struct ipmi_conf c;
	char address[NI_MAXHOST + 16];
	struct sol *s = calloc(1, sizeof(*s));
	enum bmc_status st = s == NULL ? bmc_error_set(e, BMC_ERR_FAILED, NULL, "out of memory")
				       : bmc_ipmi_conf_parse(t, opts, &c, e);

	(void)priv;
	if (st == BMC_OK) {
		s->fd = -1;
		memcpy(s->label, c.label, sizeof(s->label));
		pthread_once(&engine_once, engine_start);
		if (engine_rc < 0)
			st = bmc_error_set(e, BMC_ERR_FAILED, NULL,
					   "cannot start libipmiconsole's engine: %s",
					   strerror(errno));
	}
	if (st == BMC_OK)
		st = sol_address(s->label, address, sizeof(address), e);
	if (st == BMC_OK && (s->ctx = sol_ctx(&c, address, timeout_ms)) == NULL)
		st = bmc_error_set(e, BMC_ERR_FAILED, NULL, "BMC at %s: cannot set up SOL: %s",
				   s->label, strerror(errno));
	explicit_bzero(c.pass, sizeof(c.pass));
	if (st == BMC_OK && ipmiconsole_engine_submit_block(s->ctx) < 0)
		st = sol_error(s, ipmiconsole_ctx_errnum(s->ctx), e);
	if (st == BMC_OK && (s->fd = ipmiconsole_ctx_fd(s->ctx)) < 0)
		st = sol_error(s, ipmiconsole_ctx_errnum(s->ctx), e);
	if (st != BMC_OK) {
		bmc_ipmi_console_close(s);
		return st;
	}
	*cs = s;
	return BMC_OK;
}

enum bmc_status bmc_ipmi_console_read(void *cs, char *buf, size_t len, int wait_ms, size_t *got,
				      struct bmc_error *e)
{
	struct sol *s = cs;
	struct pollfd p = {.fd = s->fd, .events = POLLIN};
	int r = poll(&p, 1, wait_ms);
	ssize_t n;

	*got = 0;
	if (r < 0 && errno == EINTR)
		return BMC_OK;
	if (r < 0)
		return bmc_error_set(e, BMC_ERR_FAILED, NULL, "BMC at %s: SOL poll: %s", s->label,
				     strerror(errno));
	if (r == 0)
		return BMC_OK;
	n = read(s->fd, buf, len);
	if (n > 0) {
		*got = (size_t)n;
		return BMC_OK;
	}
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return BMC_OK;
	if (ipmiconsole_ctx_errnum(s->ctx) != IPMICONSOLE_ERR_SUCCESS)
		return sol_error(s, ipmiconsole_ctx_errnum(s->ctx), e);
	return bmc_error_set(e, BMC_ERR_FAILED, NULL, "BMC at %s ended the SOL session", s->label);
}
