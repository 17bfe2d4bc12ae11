/* slow_epoll.c - preloaded into provisiond by drain_load.sh: an
 * epoll_ctl(EPOLL_CTL_DEL) made on the main thread waits 20 ms before it
 * runs. The main thread is the one that drains; slowing its calls into the
 * HTTP server's epoll sets opens wide any window in which the server's own
 * threads change the same sets at the same time (libmicrohttpd's
 * MHD_quiesce_daemon with a thread pool on epoll aborts the process with
 * "Failed to remove listen FD from epoll set" when it loses that race). */
#include <dlfcn.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

int epoll_ctl(int epfd, int op, int fd, struct epoll_event *event)
{
	static int (*real)(int, int, int, struct epoll_event *);
	if (!real)
		*(void **)&real = dlsym(RTLD_NEXT, "epoll_ctl");
	if (op == EPOLL_CTL_DEL && gettid() == getpid()) {
		struct timespec ts = {0, 20 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	return real(epfd, op, fd, event);
}
