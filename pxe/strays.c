/* Strays: a dnsmasq running our configuration file that no supervisor owns
 * (left by a provisiond that was killed), found through /proc and stopped. */
#include "pxe/internal.h"
#include "pxe/pxe.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define STRAY_STEP_MS 10

/* Reads /proc/PID/FILE into buf (NUL-terminated); its length, <= 0 when
 * there is none (the process is gone). */
static ssize_t read_proc(const char *pid, const char *file, char *buf, size_t len)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%s/%s", pid, file);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return n;
}

/* True when /proc/PID/cmdline runs dnsmasq with exactly arg among its
 * arguments. */
static bool runs_conf(const char *pid, const char *arg)
{
	char buf[4096];
	const char *base;
	ssize_t n = read_proc(pid, "cmdline", buf, sizeof(buf));
	bool found = false;

	if (n <= 0)
		return false;
	base = strrchr(buf, '/');
	base = base ? base + 1 : buf;
	if (strcmp(base, "dnsmasq"))
		return false;
	for (char *p = buf + strlen(buf) + 1; p < buf + n && !found; p += strlen(p) + 1)
		found = !strcmp(p, arg);
	return found;
}

/* Gone, or a zombie waiting for its reaper (it holds no port any more). */
static bool gone(pid_t pid)
{
	char id[16], buf[256];
	const char *st;

	if (kill(pid, 0) && errno == ESRCH)
		return true;
	snprintf(id, sizeof(id), "%d", (int)pid);
	if (read_proc(id, "stat", buf, sizeof(buf)) <= 0)
		return true;
	st = strrchr(buf, ')'); /* "PID (comm) S ...": comm may hold anything */
	return !st || st[1] != ' ' || st[2] == 'Z' || st[2] == 'X';
}

/* Waits up to timeout_ms for pid to go; true if it went. */
static bool wait_gone(pid_t pid, int timeout_ms)
{
	int64_t deadline = util_now_ms() + timeout_ms;

	while (!gone(pid)) {
		if (util_now_ms() >= deadline)
			return false;
		util_sleep_ms(STRAY_STEP_MS);
	}
	return true;
}

static void stop_one(pid_t pid, int timeout_ms)
{
	if (kill(pid, SIGTERM) == 0 && !wait_gone(pid, timeout_ms) && kill(pid, SIGKILL) == 0)
		wait_gone(pid, timeout_ms);
}

enum err_status pxe_dnsmasq_stop_strays(const char *conf_path, int timeout_ms, pid_t *stopped,
					int max, int *n, struct err *e)
{
	enum err_status rc;
	struct dirent *de;
	char *arg;
	size_t len;
	DIR *proc;

	*n = 0;
	if ((rc = pxe_check_path("conf_path", conf_path, e)))
		return rc;
	len = strlen(conf_path) + sizeof("--conf-file=");
	if (!(arg = malloc(len)))
		return pxe_fail(e, ERR_INTERNAL, NULL, "out of memory");
	snprintf(arg, len, "--conf-file=%s", conf_path);
	if (!(proc = opendir("/proc"))) {
		free(arg);
		return pxe_fail(e, ERR_IO, NULL, "/proc: %s", strerror(errno));
	}
	while ((de = readdir(proc))) {
		char *end;
		long pid;

		if (!isdigit((unsigned char)de->d_name[0]) || !runs_conf(de->d_name, arg))
			continue;
		errno = 0;
		pid = strtol(de->d_name, &end, 10);
		if (errno || *end || pid <= 0 || pid > INT_MAX || pid == getpid())
			continue;
		stop_one((pid_t)pid, timeout_ms > 0 ? timeout_ms : 5000);
		if (*n < max)
			stopped[*n] = (pid_t)pid;
		(*n)++;
	}
	closedir(proc);
	free(arg);
	return ERR_OK;
}
