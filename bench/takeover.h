/* takeover.h - alloc_bench -w / -K: after the allocation storm, how long
 * the deploys take, and with -K how long the replicas take to take over the
 * machines of the one killed -9 while driving the most (docs/performance.md,
 * "Replicas"). Everything is read through the API of a live replica. */
#ifndef PROVISIOND_BENCH_TAKEOVER_H
#define PROVISIOND_BENCH_TAKEOVER_H

#include <sys/types.h>

struct bench_takeover {
	char (*urls)[128]; /* the replicas' base URLs, named bench-rI */
	pid_t *pids;	   /* theirs; the killed one's becomes 0 */
	int n;		   /* replicas */
	const char *token; /* an admin token */
	long want;	   /* machines to become active */
	int kill;	   /* kill -9 the replica driving most machines first */
	double t0;	   /* when the first allocation was sent (util_now_us()/1e6) */
	int limit_s;	   /* give up after */
};

/* Prints "take-over: ..." (with kill) and "deploys: ..."; 0 when every
 * machine became active (and the killed replica's were unclaimed) in time. */
int bench_takeover_run(const struct bench_takeover *t);

#endif
