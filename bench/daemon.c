/* daemon.c - the benchmarks' provisiond (daemon.h). */
#include "bench/daemon.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/util.h"

static int read_port(const char *ready)
{
	FILE *f = fopen(ready, "r");
	int port = 0;

	if (f == NULL)
		return 0;
	if (fscanf(f, "%d", &port) != 1)
		port = 0;
	fclose(f);
	return port;
}

pid_t bench_daemon_start(const char *bin, const char *dir, const char *database, int with_config,
			 char *url, size_t url_len)
{
	char db[700], ready[700], ini[700];
	pid_t pid;

	if (database)
		snprintf(db, sizeof db, "%s", database);
	else
		snprintf(db, sizeof db, "%s/p.db", dir);
	snprintf(ready, sizeof ready, "%s/ready", dir);
	snprintf(ini, sizeof ini, "%s/p.ini", dir);
	pid = fork();
	if (pid == 0) {
		/* BENCH_DAEMON_LOG=PREFIX: the log in PREFIX.PID, for a diagnosis */
		const char *log = getenv("BENCH_DAEMON_LOG");
		char path[600];
		snprintf(path, sizeof path, "%s.%d", log ? log : "", (int)getpid());
		if (!freopen(log ? path : "/dev/null", "w", stderr))
			_exit(127);
		if (with_config)
			execl(bin, bin, "--config", ini, "--db", db, "--listen", "127.0.0.1:0",
			      "--boot-listen", "127.0.0.1:0", "--ready-file", ready, (char *)NULL);
		else
			execl(bin, bin, "--db", db, "--listen", "127.0.0.1:0", "--boot-listen",
			      "127.0.0.1:0", "--ready-file", ready, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; pid > 0 && i < 400; i++) {
		int port = read_port(ready);
		if (port > 0) {
			snprintf(url, url_len, "http://127.0.0.1:%d", port);
			return pid;
		}
		util_sleep_ms(50);
	}
	fprintf(stderr, "bench: provisiond did not start (%s)\n", bin);
	if (pid > 0)
		kill(pid, SIGKILL);
	exit(1);
}

void bench_replicas_start(const char *bin, const char *dir, const char *db, int n,
			  const char *extra_ini, pid_t *pids, char (*urls)[128])
{
	for (int i = 0; i < n; i++) {
		char rdir[600], ini[700];
		snprintf(rdir, sizeof rdir, "%s/r%d", dir, i);
		snprintf(ini, sizeof ini, "%s/p.ini", rdir);
		FILE *f = mkdir(rdir, 0700) == 0 ? fopen(ini, "w") : NULL;
		if (f == NULL ||
		    fprintf(f,
			    "[database]\nkey_file = %s/p.db.key\n[replica]\nname = bench-r%d\n%s\n",
			    dir, i, extra_ini ? extra_ini : "") < 0 ||
		    fclose(f) != 0) {
			fprintf(stderr, "bench: cannot write %s\n", ini);
			exit(1);
		}
		char sqlite[700];
		snprintf(sqlite, sizeof sqlite, "%s/p.db", dir);
		pids[i] =
		    bench_daemon_start(bin, rdir, db ? db : sqlite, 1, urls[i], sizeof urls[i]);
	}
}

void bench_replicas_stop(const pid_t *pids, int n)
{
	for (int i = 0; i < n; i++)
		if (pids[i] > 0)
			kill(pids[i], SIGTERM);
	for (int i = 0; i < n; i++)
		if (pids[i] > 0)
			waitpid(pids[i], NULL, 0);
}

double bench_metric(const char *text, const char *prefix, int exact)
{
	size_t n = strlen(prefix);
	double v = 0;

	for (const char *p = text; p != NULL && *p != '\0';) {
		const char *sp = strchr(p, ' ');
		const char *nl = strchr(p, '\n');
		if (strncmp(p, prefix, n) == 0 && sp != NULL && (nl == NULL || sp < nl) &&
		    (!exact || p[n] == ' '))
			v += strtod(sp + 1, NULL);
		p = nl != NULL ? nl + 1 : NULL;
	}
	return v;
}
