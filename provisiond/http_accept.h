/* http_accept.h - the thread that accepts on an HTTP listener's socket and
 * hands each connection to libmicrohttpd (MHD_add_connection).
 *
 * provisiond accepts by itself instead of letting libmicrohttpd do it so a
 * drain can stop accepting safely: MHD_quiesce_daemon, with a thread pool
 * on epoll, changes the pool threads' epoll sets while those threads may
 * change them too, and libmicrohttpd 0.9.75 aborts the process when it
 * loses that race ("Failed to remove listen FD from epoll set"). Stopping
 * this thread and closing the socket has no such race, and clients see the
 * connection refused at once. */
#ifndef PROVISIOND_HTTP_ACCEPT_H
#define PROVISIOND_HTTP_ACCEPT_H

#include <stddef.h>

struct MHD_Daemon;
struct http_acceptor;

/* Starts accepting on listen_fd (a listening socket; the acceptor owns it
 * from now on, also on failure) for mhd, started with
 * MHD_USE_NO_LISTEN_SOCKET and MHD_USE_ITC. While mhd holds limit
 * connections it accepts none, so newcomers wait in the socket's backlog.
 * NULL with err set on failure. */
struct http_acceptor *http_acceptor_start(struct MHD_Daemon *mhd, int listen_fd, unsigned limit,
					  const char *name, char *err, size_t errlen);

/* Stops accepting and closes the socket: connections not yet accepted are
 * reset, new ones refused. Safe to call again and with NULL. */
void http_acceptor_close(struct http_acceptor *a);

/* Closes if not yet closed, and frees. */
void http_acceptor_free(struct http_acceptor *a);

#endif
