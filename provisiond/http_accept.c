/* http_accept.c - see http_accept.h. */
#include "provisiond/http_accept.h"
#include "provisiond/log.h"
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

enum { ACCEPT_BATCH = 64, FULL_WAIT_MS = 10 };

struct http_acceptor {
	struct MHD_Daemon *mhd;
	int listen_fd, wake_fd;
	unsigned limit;
	char name[16];
	pthread_t thread;
	bool started;
	atomic_bool closing;
	bool starved;	    /* out of descriptors or memory: logged once per episode */
	pthread_mutex_t mu; /* serializes http_acceptor_close */
	bool closed;
};

static bool at_limit(struct http_acceptor *a)
{
	const union MHD_DaemonInfo *i =
	    MHD_get_daemon_info(a->mhd, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
	return i && i->num_connections >= a->limit;
}

/* Accepts what is waiting, at most ACCEPT_BATCH; false when the process is
 * out of descriptors or memory (the caller waits before it tries again). */
static bool accept_batch(struct http_acceptor *a)
{
	for (int n = 0; n < ACCEPT_BATCH && !atomic_load(&a->closing); n++) {
		struct sockaddr_storage sa;
		socklen_t len = sizeof sa;
		int fd = accept4(a->listen_fd, (struct sockaddr *)&sa, &len,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0) {
			a->starved = false;
			/* MHD closes the socket itself if it cannot take it */
			MHD_add_connection(a->mhd, fd, (struct sockaddr *)&sa, len);
			continue;
		}
		if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
			continue;
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
			if (!a->starved)
				log_event(LOG_WARN,
					  "cannot accept connections; retrying every 10 ms",
					  "listener", a->name, "error", strerror(errno), NULL);
			a->starved = true;
			return false;
		}
		break; /* EAGAIN: nothing more waits */
	}
	return true;
}

static void *accept_main(void *arg)
{
	struct http_acceptor *a = arg;
	struct pollfd p[2] = {{.fd = a->wake_fd, .events = POLLIN},
			      {.fd = a->listen_fd, .events = POLLIN}};
	bool wait = false;
	while (!atomic_load(&a->closing)) {
		/* while full or out of descriptors, newcomers stay in the backlog */
		if (wait || at_limit(a)) {
			wait = false;
			poll(p, 1, FULL_WAIT_MS);
			continue;
		}
		if (poll(p, 2, 1000) < 0 && errno != EINTR)
			break;
		if (p[1].revents & POLLIN)
			wait = !accept_batch(a);
	}
	return NULL;
}

struct http_acceptor *http_acceptor_start(struct MHD_Daemon *mhd, int listen_fd, unsigned limit,
					  const char *name, char *err, size_t errlen)
{
	struct http_acceptor *a = calloc(1, sizeof *a);
	int fl = fcntl(listen_fd, F_GETFL);
	if (!a || fl < 0 || fcntl(listen_fd, F_SETFL, fl | O_NONBLOCK) != 0) {
		snprintf(err, errlen, "cannot prepare the listening socket: %m");
		close(listen_fd);
		free(a);
		return NULL;
	}
	a->mhd = mhd;
	a->listen_fd = listen_fd;
	a->limit = limit;
	snprintf(a->name, sizeof a->name, "%s", name);
	pthread_mutex_init(&a->mu, NULL);
	a->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (a->wake_fd < 0 || pthread_create(&a->thread, NULL, accept_main, a) != 0) {
		snprintf(err, errlen, "cannot start the accept thread");
		http_acceptor_free(a);
		return NULL;
	}
	a->started = true;
	return a;
}

void http_acceptor_close(struct http_acceptor *a)
{
	if (!a)
		return;
	pthread_mutex_lock(&a->mu);
	if (!a->closed) {
		atomic_store(&a->closing, true);
		if (a->started) {
			uint64_t one = 1;
			if (write(a->wake_fd, &one, sizeof one) < 0)
				log_event(LOG_WARN, "cannot wake the accept thread", "listener",
					  a->name, NULL);
			pthread_join(a->thread, NULL);
		}
		close(a->listen_fd); /* the kernel resets the backlog, refuses newcomers */
		a->closed = true;
	}
	pthread_mutex_unlock(&a->mu);
}

void http_acceptor_free(struct http_acceptor *a)
{
	if (!a)
		return;
	http_acceptor_close(a);
	if (a->wake_fd >= 0)
		close(a->wake_fd);
	pthread_mutex_destroy(&a->mu);
	free(a);
}
