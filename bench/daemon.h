/* daemon.h - the benchmarks' provisiond: started on loopback ports in a
 * directory of its own, and the figures read back from its /metrics. */
#ifndef PROVISIOND_BENCH_DAEMON_H
#define PROVISIOND_BENCH_DAEMON_H

#include <stddef.h>
#include <sys/types.h>

/* Starts bin with --db db (NULL: DIR/p.db; a PostgreSQL setting too) and
 * --config DIR/p.ini when with_config, API and boot listeners on loopback
 * ports, stderr to /dev/null (to PREFIX.PID with BENCH_DAEMON_LOG=PREFIX); waits until it is ready
 * (at most 20 s) and writes its base URL into url. Exits the process with a message when it does
 * not start. */
pid_t bench_daemon_start(const char *bin, const char *dir, const char *db, int with_config,
			 char *url, size_t url_len);

/* Starts n replicas of bin on one database db (a PostgreSQL setting, or
 * NULL: DIR/p.db for n = 1), replica i in DIR/rI with its own loopback
 * ports and [replica] name = bench-rI, its config DIR/rI/p.ini naming the
 * key file DIR/p.db.key, then extra_ini (may be NULL); the first is ready
 * before the others start (it migrates the schema). Writes replica i's base
 * URL into urls[i] and its pid into pids[i]; exits the process with a
 * message when one does not start. */
void bench_replicas_start(const char *bin, const char *dir, const char *db, int n,
			  const char *extra_ini, pid_t *pids, char (*urls)[128]);

/* SIGTERM to the n pids (0: skipped) and waits for each. */
void bench_replicas_stop(const pid_t *pids, int n);

/* The sum of the samples in a /metrics text whose name (and labels) start
 * with prefix; exact: only the sample named exactly prefix, unlabelled. */
double bench_metric(const char *text, const char *prefix, int exact);

#endif
