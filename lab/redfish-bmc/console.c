/* console.c - --console-upstream: the system's serial console, served the way many
 * BMCs serve it, as a telnet service on a port of the BMC (--console-listen), and
 * advertised in the ComputerSystem as SerialConsole.Telnet (resources.c).
 *
 * The BMC relays: a telnet client that connects gets the machine's serial line,
 * which the BMC reaches as a TCP connection to the upstream address (in the lab,
 * QEMU serving the VM's serial port: lab_serial_xml in lab/lib.sh). The upstream
 * is connected only while a client is, and retried every second while it is down
 * (a VM that is off has no QEMU listening), so the client keeps its session
 * across power cycles, as with a real BMC. One client at a time
 * (MaxConcurrentSessions 1): a second one is told so and closed.
 *
 * Telnet, minimally: the service offers WILL ECHO and WILL SUPPRESS-GO-AHEAD like
 * a telnet server, doubles 0xFF bytes of the line (IAC IAC), and drops the
 * client's commands and negotiation from what it forwards to the line. No login:
 * the lab's BMC listens on loopback only. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "rbmc.h"

#define IAC 255
#define RETRY_S 1.0

enum { TN_DATA, TN_IAC, TN_OPT, TN_SB, TN_SB_IAC };

struct relay {
	struct rbmc *b;
	int client, up;
	int tn; /* telnet state of the client's stream */
	double next_try;
};

/* Drops telnet commands from buf (the client's stream); returns the data left. */
static size_t telnet_data(int *st, unsigned char *buf, size_t n)
{
	size_t out = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = buf[i];
		if (*st == TN_DATA && c != IAC)
			buf[out++] = c;
		else if (*st == TN_DATA)
			*st = TN_IAC;
		else if (*st == TN_IAC && c == IAC) { /* IAC IAC: a 0xFF data byte */
			buf[out++] = c;
			*st = TN_DATA;
		} else if (*st == TN_IAC) /* WILL..DONT take an option; SB a subnegotiation */
			*st = c >= 251 ? TN_OPT : c == 250 ? TN_SB : TN_DATA;
		else if (*st == TN_OPT)
			*st = TN_DATA;
		else if (*st == TN_SB)
			*st = c == IAC ? TN_SB_IAC : TN_SB;
		else
			*st = c == 240 ? TN_DATA : TN_SB;
	}
	return out;
}

static int write_all(int fd, const unsigned char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* The line's bytes to the client, 0xFF doubled. */
static int to_client(int fd, const unsigned char *p, size_t n)
{
	unsigned char out[2 * 4096];
	size_t k = 0;

	for (size_t i = 0; i < n && i < 4096; i++) {
		out[k++] = p[i];
		if (p[i] == IAC)
			out[k++] = IAC;
	}
	return write_all(fd, out, k);
}

static void relay_log(struct relay *r, const char *op)
{
	pthread_mutex_lock(&r->b->mu);
	rbmc_log(r->b, op, "system", r->b->sys[0].id, "upstream", r->b->console_upstream, NULL);
	pthread_mutex_unlock(&r->b->mu);
}

/* A connection to the upstream within a second; -1 when it is not there. */
static int upstream_connect(const char *addr)
{
	struct sockaddr_in sa = {0};
	int fd, err = 0;
	socklen_t len = sizeof(err);
	struct pollfd p;

	if (rbmc_parse_addr(addr, &sa) != 0 || (fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		return -1;
	fcntl(fd, F_SETFL, O_NONBLOCK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 && errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	p = (struct pollfd){.fd = fd, .events = POLLOUT};
	if (poll(&p, 1, 1000) != 1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 ||
	    err != 0) {
		close(fd);
		return -1;
	}
	fcntl(fd, F_SETFL, 0);
	return fd;
}

static void upstream_try(struct relay *r)
{
	if (r->up >= 0 || rbmc_now() < r->next_try)
		return;
	r->next_try = rbmc_now() + RETRY_S;
	if ((r->up = upstream_connect(r->b->console_upstream)) >= 0)
		relay_log(r, "console_upstream_up");
}

static void upstream_lost(struct relay *r)
{
	close(r->up);
	r->up = -1;
	relay_log(r, "console_upstream_down");
}

/* One turn: waits up to a second for either side. false when the client left. */
static bool relay_turn(struct relay *r)
{
	struct pollfd p[2] = {{.fd = r->client, .events = POLLIN}, {.fd = r->up, .events = POLLIN}};
	unsigned char buf[4096];
	ssize_t n;

	upstream_try(r);
	p[1].fd = r->up;
	if (poll(p, r->up >= 0 ? 2 : 1, 1000) < 0)
		return errno == EINTR;
	if (p[0].revents != 0) {
		n = read(r->client, buf, sizeof(buf));
		if (n <= 0)
			return false;
		size_t k = telnet_data(&r->tn, buf, (size_t)n);
		if (r->up >= 0 && k > 0 && write_all(r->up, buf, k) != 0)
			upstream_lost(r);
	}
	if (r->up >= 0 && p[1].revents != 0) {
		n = read(r->up, buf, sizeof(buf));
		if (n <= 0)
			upstream_lost(r);
		else if (to_client(r->client, buf, (size_t)n) != 0)
			return false;
	}
	return true;
}

static void *relay_main(void *arg)
{
	struct relay *r = arg;
	static const unsigned char hello[] = {IAC, 251, 1, IAC, 251, 3}; /* WILL ECHO, SGA */

	relay_log(r, "console_open");
	if (write_all(r->client, hello, sizeof(hello)) == 0)
		while (relay_turn(r))
			;
	if (r->up >= 0)
		close(r->up);
	close(r->client);
	relay_log(r, "console_close");
	pthread_mutex_lock(&r->b->mu);
	r->b->console_clients--;
	pthread_mutex_unlock(&r->b->mu);
	free(r);
	return NULL;
}

static void start_relay(struct rbmc *b, int fd)
{
	static const char busy[] = "console in use by another session\r\n";
	struct relay *r = calloc(1, sizeof(*r));
	pthread_t th;
	bool ok;

	pthread_mutex_lock(&b->mu);
	ok = r != NULL && b->console_clients == 0;
	if (ok)
		b->console_clients++;
	pthread_mutex_unlock(&b->mu);
	if (ok) {
		*r = (struct relay){.b = b, .client = fd, .up = -1, .tn = TN_DATA};
		if (pthread_create(&th, NULL, relay_main, r) == 0) {
			pthread_detach(th);
			return;
		}
		pthread_mutex_lock(&b->mu);
		b->console_clients--;
		pthread_mutex_unlock(&b->mu);
	}
	free(r);
	if (write(fd, busy, sizeof(busy) - 1) < 0) {
		/* the refused client went away already */
	}
	close(fd);
}

static void *accept_main(void *arg)
{
	struct rbmc *b = arg;

	for (;;) {
		int fd = accept(b->console_fd, NULL, NULL);
		if (fd >= 0)
			start_relay(b, fd);
		else if (errno != EINTR && errno != ECONNABORTED)
			usleep(100000);
	}
	return NULL;
}

int rbmc_console_start(struct rbmc *b, const char *listen_addr)
{
	struct sockaddr_in sa = {0};
	socklen_t len = sizeof(sa);
	int one = 1;
	pthread_t th;

	if (rbmc_parse_addr(listen_addr, &sa) != 0 ||
	    (b->console_fd = socket(AF_INET, SOCK_STREAM, 0)) < 0) {
		fprintf(stderr, "redfish-bmc: bad --console-listen %s\n", listen_addr);
		return -1;
	}
	setsockopt(b->console_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(b->console_fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(b->console_fd, 4) != 0 ||
	    getsockname(b->console_fd, (struct sockaddr *)&sa, &len) != 0 ||
	    pthread_create(&th, NULL, accept_main, b) != 0) {
		fprintf(stderr, "redfish-bmc: cannot listen for the console on %s: %s\n",
			listen_addr, strerror(errno));
		return -1;
	}
	pthread_detach(th);
	b->console_port = ntohs(sa.sin_port);
	printf("console on port %u\n", b->console_port);
	fflush(stdout);
	return 0;
}
