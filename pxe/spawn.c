/* Child processes: program lookup and fork/exec with exec-error reporting. */
#include "pxe/internal.h"
#include "pxe/pxe.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static char *try_dir(const char *dir, size_t dirlen, const char *name)
{
	char path[PATH_MAX];
	int n = snprintf(path, sizeof(path), "%.*s/%s", (int)dirlen, dir, name);

	if (dirlen == 0 || n < 0 || n >= (int)sizeof(path) || access(path, X_OK))
		return NULL;
	return strdup(path);
}

char *pxe_find_program(const char *name)
{
	const char *path = getenv("PATH");
	char *found = NULL;

	while (path && *path && !found) {
		size_t len = strcspn(path, ":");

		found = try_dir(path, len, name);
		path += len + (path[len] == ':');
	}
	if (!found)
		found = try_dir("/usr/sbin", 9, name);
	if (!found)
		found = try_dir("/sbin", 5, name);
	return found;
}

/* Runs in the child between fork and exec: async-signal-safe calls only. */
static void child_exec(const struct pxe_spawn *s, int in, int out, int errpipe, pid_t parent)
{
	struct sigaction dfl = {.sa_handler = SIG_DFL};
	sigset_t none;
	int e;

	if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
		goto fail;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (int sig = 1; sig < NSIG; sig++)
		sigaction(sig, &dfl, NULL);
	if (s->own_session) {
		setpgid(0, 0);
		/* dnsmasq must not outlive provisiond and keep the ports. */
		if (prctl(PR_SET_PDEATHSIG, SIGTERM) || getppid() != parent)
			goto fail;
	}
	if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC))
		for (int fd = 3; fd < 1024; fd++)
			if (fd != errpipe)
				fcntl(fd, F_SETFD, FD_CLOEXEC);
	execv(s->argv[0], s->argv);
fail:
	e = errno;
	(void)!write(errpipe, &e, sizeof(e));
	_exit(127);
}

static enum err_status open_fds(const struct pxe_spawn *s, int *in, int *out, struct err *e)
{
	*in = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (s->output_fd >= 0)
		*out = s->output_fd;
	else if (s->output_path)
		*out = open(s->output_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	else
		*out = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (*in >= 0 && *out >= 0)
		return ERR_OK;
	pxe_fail(e, ERR_IO, NULL, "%s: %s", s->output_path ? s->output_path : "/dev/null",
		 strerror(errno));
	if (*in >= 0)
		close(*in);
	if (*out >= 0 && *out != s->output_fd)
		close(*out);
	return ERR_IO;
}

enum err_status pxe_spawn(const struct pxe_spawn *s, pid_t *pid, struct err *e)
{
	int in, out, pipefd[2], child_errno = 0;
	enum err_status rc = ERR_OK;
	pid_t parent = getpid(), child;
	ssize_t n;

	if ((rc = open_fds(s, &in, &out, e)))
		return rc;
	if (pipe2(pipefd, O_CLOEXEC)) {
		rc = pxe_fail(e, ERR_IO, NULL, "pipe: %s", strerror(errno));
		goto out;
	}
	child = fork();
	if (child == 0)
		child_exec(s, in, out, pipefd[1], parent);
	close(pipefd[1]);
	if (child < 0) {
		rc = pxe_fail(e, ERR_IO, NULL, "fork: %s", strerror(errno));
	} else {
		/* EOF without data: exec succeeded (the pipe was close-on-exec). */
		while ((n = read(pipefd[0], &child_errno, sizeof(child_errno))) < 0 &&
		       errno == EINTR)
			;
		if (n > 0) {
			waitpid(child, NULL, 0);
			rc = pxe_fail(e, ERR_IO, NULL, "exec %s: %s", s->argv[0],
				      strerror(child_errno));
		}
		*pid = child;
	}
	close(pipefd[0]);
out:
	close(in);
	if (out != s->output_fd)
		close(out);
	return rc;
}
