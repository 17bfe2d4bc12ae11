/* db_pg_listen.c - PostgreSQL's change notices between replicas: every
 * write group's transaction announces itself (NOTIFY, delivered at
 * commit), and each process listens on a connection of its own, so a
 * long-poll or an engine on one replica wakes for another's writes
 * (inv_wait_change). A lost listening connection is opened again by the
 * next wait; meanwhile waits time out as if nothing changed, which costs
 * only latency (every waiter also re-reads on its timeout). */
#include "inventory/backend.h"

#ifdef HAVE_LIBPQ
#include <libpq-fe.h>

PGconn *inv_pg_connect(const char *database); /* db_pg.c */
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>

void *inv_pg_listen_open(const char *database)
{
	PGconn *pg = inv_pg_connect(database); /* with db_pg.c's timeouts */
	if (!pg || PQstatus(pg) != CONNECTION_OK) {
		PQfinish(pg);
		return NULL;
	}
	PGresult *r = PQexec(pg, "LISTEN " INV_PG_CHANNEL);
	bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	PQclear(r);
	if (!ok) {
		PQfinish(pg);
		return NULL;
	}
	return pg;
}

/* Drains pending notices: true if there was one. */
static bool drain(PGconn *pg)
{
	bool any = false;
	PGnotify *n;
	while ((n = PQnotifies(pg)) != NULL) {
		any = true;
		PQfreemem(n);
	}
	return any;
}

int inv_pg_listen_wait(void *l, int timeout_ms)
{
	PGconn *pg = l;
	if (drain(pg))
		return 1;
	struct pollfd p = {.fd = PQsocket(pg), .events = POLLIN};
	if (p.fd < 0)
		return -1;
	int rc = poll(&p, 1, timeout_ms);
	if (rc == 0)
		return 0;
	if (rc < 0 || !PQconsumeInput(pg) || PQstatus(pg) != CONNECTION_OK)
		return -1;
	return drain(pg) ? 1 : 0;
}

void inv_pg_listen_close(void *l)
{
	PQfinish(l);
}
#endif
