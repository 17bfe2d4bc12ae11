/* Finding dnsmasq and letting it check a generated configuration. */
#include "pxe/internal.h"
#include "pxe/pxe.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

char *pxe_dnsmasq_find(void)
{
	return pxe_find_program("dnsmasq");
}

/* Reads the child's output until EOF, keeping what fits (NUL-terminated). */
static void drain(int fd, char *buf, size_t size)
{
	size_t got = 0;
	char sink[256];
	ssize_t n;

	for (;;) {
		bool room = got + 1 < size;

		n = room ? read(fd, buf + got, size - 1 - got) : read(fd, sink, sizeof(sink));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (room)
			got += (size_t)n;
	}
	buf[got] = '\0';
	while (got > 0 && (buf[got - 1] == '\n' || buf[got - 1] == ' '))
		buf[--got] = '\0';
}

static int wait_child(pid_t pid, int *status)
{
	while (waitpid(pid, status, 0) < 0) {
		if (errno != EINTR)
			return -1;
	}
	return 0;
}

enum err_status pxe_dnsmasq_test(const char *conf_path, struct err *e)
{
	char *bin = NULL, arg[4200], out[1024];
	char *argv[] = {NULL, "--test", arg, NULL};
	struct pxe_spawn s = {.argv = argv};
	int pipefd[2], status = 0;
	enum err_status rc;
	pid_t pid;

	if ((rc = pxe_check_path("conf_path", conf_path, e)))
		return rc;
	snprintf(arg, sizeof(arg), "--conf-file=%s", conf_path);
	if (!(bin = pxe_dnsmasq_find()))
		return pxe_fail(e, ERR_NOT_FOUND, NULL,
				"dnsmasq not found in PATH, /usr/sbin or /sbin");
	argv[0] = bin;
	if (pipe2(pipefd, O_CLOEXEC)) {
		free(bin);
		return pxe_fail(e, ERR_IO, NULL, "pipe: %s", strerror(errno));
	}
	s.output_fd = pipefd[1];
	rc = pxe_spawn(&s, &pid, e);
	close(pipefd[1]);
	if (!rc) {
		drain(pipefd[0], out, sizeof(out));
		if (wait_child(pid, &status))
			rc = pxe_fail(e, ERR_IO, NULL, "waitpid: %s", strerror(errno));
		else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			rc = pxe_fail(e, ERR_INVALID, "conf_path", "dnsmasq --test %s: %s",
				      conf_path, out[0] ? out : "failed without a message");
	}
	close(pipefd[0]);
	free(bin);
	return rc;
}
