/* sim_harness.c - ipmi_sim instances and a counting UDP relay, see sim_harness.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sim_harness.h"

#ifndef BMC_SIM_SRC
#error "BMC_SIM_SRC (the folder with the templates and the hook) must be defined"
#endif

#define MAX_SIMS 32
static volatile pid_t running[MAX_SIMS]; /* read by the signal handler */

static void kill_all(void)
{
	for (int i = 0; i < MAX_SIMS; i++)
		if (running[i] > 0)
			kill(-running[i], SIGKILL); /* the sim's process group: it and its hook */
}

static void on_fatal(int sig)
{
	kill_all();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void install_cleanup(void)
{
	static bool done;

	if (done)
		return;
	done = true;
	atexit(kill_all);
	signal(SIGINT, on_fatal);
	signal(SIGTERM, on_fatal);
	signal(SIGSEGV, on_fatal);
	signal(SIGABRT, on_fatal);
	signal(SIGBUS, on_fatal);
}

static void track(pid_t pid, bool add)
{
	for (int i = 0; i < MAX_SIMS; i++)
		if (add ? running[i] == 0 : running[i] == pid) {
			running[i] = add ? pid : 0;
			return;
		}
}

bool sim_available(void)
{
	return system("command -v ipmi_sim >/dev/null 2>&1") == 0;
}

static int bind_udp(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int sim_free_udp_port(void)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int fd = bind_udp(0), port = -1;

	if (fd >= 0 && getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

static int write_file(const char *dir, const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (f == NULL)
		return -1;
	fputs(text, f);
	return fclose(f);
}

/* Reads a template and replaces @NAME@, @PORT@, @GUID@, @HOOK@, @DIR@. */
static int render_conf(const struct sim *s, const char *guid)
{
	char in[4096], out[8192], port[16];
	const char *keys[] = {"@NAME@", "@PORT@", "@GUID@", "@HOOK@", "@DIR@"};
	const char *vals[] = {s->name, port, guid, BMC_SIM_SRC "/chassis_hook.sh", s->dir};
	FILE *f = fopen(BMC_SIM_SRC "/sim.lan.conf.in", "r");
	size_t n, o = 0;

	if (f == NULL)
		return -1;
	n = fread(in, 1, sizeof(in) - 1, f);
	fclose(f);
	in[n] = '\0';
	snprintf(port, sizeof(port), "%d", s->port);
	for (const char *p = in; *p != '\0' && o < sizeof(out) - 1;) {
		size_t k = 0;
		while (k < 5 && strncmp(p, keys[k], strlen(keys[k])) != 0)
			k++;
		if (k < 5) {
			o += (size_t)snprintf(out + o, sizeof(out) - o, "%s", vals[k]);
			p += strlen(keys[k]);
		} else {
			out[o++] = *p++;
		}
	}
	out[o < sizeof(out) ? o : sizeof(out) - 1] = '\0';
	return write_file(s->dir, "sim.lan.conf", out);
}

static int copy_emu(const struct sim *s)
{
	char buf[1024];
	FILE *f = fopen(BMC_SIM_SRC "/sim.emu", "r");
	size_t n;

	if (f == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return write_file(s->dir, "sim.emu", buf);
}

static void child_exec(const struct sim *s)
{
	int fd = open("/dev/null", O_RDWR);

	setsid();
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (chdir(s->dir) != 0 || fd < 0)
		_exit(126);
	dup2(fd, 0);
	fd = open("sim.out", O_WRONLY | O_CREAT | O_TRUNC, 0644);
	dup2(fd, 1);
	dup2(fd, 2);
	closefrom(3);
	execlp("ipmi_sim", "ipmi_sim", "-c", "sim.lan.conf", "-f", "sim.emu", "-s", "state", "-n",
	       (char *)NULL);
	_exit(127);
}

/* Kills the sim's process group by its pid and reaps it. */
static void sim_stop_process(struct sim *s)
{
	int status;

	if (s->pid <= 0)
		return;
	kill(-s->pid, SIGTERM);
	for (int i = 0; i < 100 && waitpid(s->pid, &status, WNOHANG) == 0; i++)
		usleep(10000);
	if (kill(s->pid, 0) == 0 || errno != ESRCH) {
		kill(-s->pid, SIGKILL);
		waitpid(s->pid, &status, 0);
	}
	track(s->pid, false);
	s->pid = 0;
}

/* The sim is up once its port is taken. */
static int wait_ready(struct sim *s)
{
	for (int i = 0; i < 300; i++) {
		int fd = bind_udp(s->port), status;
		if (fd < 0 && errno == EADDRINUSE)
			return 0;
		if (fd >= 0)
			close(fd);
		if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
			track(s->pid, false);
			s->pid = 0;
			return -1;
		}
		usleep(10000);
	}
	return -1;
}

static int prepare_dir(struct sim *s, const char *name)
{
	const char *tmp = getenv("TMPDIR");
	char state[300];

	snprintf(s->name, sizeof(s->name), "%s", name);
	snprintf(s->dir, sizeof(s->dir), "%s/bmc-sim-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (mkdtemp(s->dir) == NULL) {
		s->dir[0] = '\0';
		return -1;
	}
	snprintf(state, sizeof(state), "%s/state", s->dir);
	/* the configuration quotes the hook command: no blanks in paths */
	if (strchr(s->dir, ' ') != NULL || strchr(BMC_SIM_SRC, ' ') != NULL ||
	    mkdir(state, 0755) != 0)
		return -1;
	return copy_emu(s) == 0 && write_file(s->dir, "hook.log", "") == 0 ? 0 : -1;
}

/* A free port in [10000, max), tried at random; -1 when none was found. */
static int free_udp_port_below(int max)
{
	for (int i = 0; i < 100 && max > 10000; i++) {
		int port = 10000 + (int)(random() % (max - 10000));
		int fd = bind_udp(port);
		if (fd >= 0) {
			close(fd);
			return port;
		}
	}
	return -1;
}

static int spawn(struct sim *s, int max_port)
{
	static unsigned serial;
	char guid[40];

	s->port = max_port > 0 ? free_udp_port_below(max_port) : sim_free_udp_port();
	snprintf(guid, sizeof(guid), "a1234567%08x%08x%08x", (unsigned)getpid(), serial++,
		 (unsigned)s->port);
	if (s->port <= 0 || render_conf(s, guid) != 0)
		return -1;
	s->pid = fork();
	if (s->pid < 0) {
		s->pid = 0;
		return -1;
	}
	if (s->pid == 0)
		child_exec(s);
	track(s->pid, true);
	return wait_ready(s);
}

static int start(struct sim *s, const char *name, int max_port)
{
	memset(s, 0, sizeof(*s));
	install_cleanup();
	if (prepare_dir(s, name) != 0) {
		fprintf(stderr, "sim %s: cannot prepare %s\n", name, s->dir);
		return -1;
	}
	/* another process may take the port between the bind test and the sim's bind */
	for (int attempt = 0; attempt < 5; attempt++) {
		if (spawn(s, max_port) == 0)
			return 0;
		sim_stop_process(s);
	}
	fprintf(stderr, "sim %s: ipmi_sim did not start (see %s/sim.out)\n", name, s->dir);
	return -1;
}

int sim_start(struct sim *s, const char *name)
{
	return start(s, name, 0);
}

int sim_start_below(struct sim *s, const char *name, int max_port)
{
	return start(s, name, max_port);
}

int sim_restart(struct sim *s)
{
	int port = s->port;

	sim_stop_process(s);
	/* the port was ours a moment ago: another process may take it in between,
	 * so try a few times */
	for (int attempt = 0; attempt < 50; attempt++) {
		s->pid = fork();
		if (s->pid < 0) {
			s->pid = 0;
			break;
		}
		if (s->pid == 0)
			child_exec(s);
		track(s->pid, true);
		if (wait_ready(s) == 0 && s->port == port)
			return 0;
		sim_stop_process(s);
		usleep(100000);
	}
	fprintf(stderr, "sim %s: ipmi_sim did not start again on port %d\n", s->name, port);
	return -1;
}

void sim_read(const struct sim *s, const char *file, char *buf, size_t len)
{
	char path[512];
	FILE *f;
	size_t n = 0;

	snprintf(path, sizeof(path), "%s/%s", s->dir, file);
	f = fopen(path, "r");
	if (f != NULL) {
		n = fread(buf, 1, len - 1, f);
		fclose(f);
	}
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		n--;
	buf[n] = '\0';
}

int sim_unlink(const struct sim *s, const char *file)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", s->dir, file);
	return unlink(path) == 0 || errno == ENOENT ? 0 : -1;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

void sim_stop(struct sim *s)
{
	sim_stop_process(s);
	if (s->dir[0] != '\0' && getenv("BMC_SIM_KEEP") == NULL)
		nftw(s->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	s->dir[0] = '\0';
}

static int read_log(const struct sim *s, char *buf, size_t len)
{
	char path[512];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/hook.log", s->dir);
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	n = fread(buf, 1, len - 1, f);
	fclose(f);
	buf[n] = '\0';
	return (int)n;
}

int sim_hook_sets(const struct sim *s, char *buf, size_t len)
{
	char log[16384], *save = NULL;
	int count = 0;
	size_t o = 0;

	buf[0] = '\0';
	if (read_log(s, log, sizeof(log)) < 0)
		return -1;
	for (char *line = strtok_r(log, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "set ", 4) != 0)
			continue;
		if (o < len)
			o += (size_t)snprintf(buf + o, len - o, "%s%s", count ? ";" : "", line);
		count++;
	}
	return count;
}

int sim_hook_lines(const struct sim *s)
{
	char log[16384];
	int n = 0;

	if (read_log(s, log, sizeof(log)) < 0)
		return -1;
	for (char *p = log; *p != '\0'; p++)
		n += *p == '\n';
	return n;
}

int sim_hook_clear(const struct sim *s)
{
	return write_file(s->dir, "hook.log", "");
}

int sim_write(const struct sim *s, const char *file, const char *value)
{
	return write_file(s->dir, file, value);
}

struct relay {
	int front, back, port;
	pthread_t tid;
	atomic_bool stop;
	atomic_int opens;
	struct sockaddr_in client;
	socklen_t client_len;
};

/* RMCP header (4 bytes), then for RMCP+ (auth type 0x06) the payload type; 0x10 is
 * the RMCP+ Open Session Request that starts every session attempt. */
static bool is_open_session(const unsigned char *p, ssize_t n)
{
	return n > 5 && p[0] == 0x06 && p[3] == 0x07 && p[4] == 0x06 && (p[5] & 0x3f) == 0x10;
}

static void *relay_main(void *arg)
{
	struct relay *r = arg;
	unsigned char buf[2048];
	struct pollfd pf[2] = {{.fd = r->front, .events = POLLIN},
			       {.fd = r->back, .events = POLLIN}};

	while (!atomic_load(&r->stop)) {
		if (poll(pf, 2, 20) <= 0)
			continue;
		if (pf[0].revents & POLLIN) {
			r->client_len = sizeof(r->client);
			ssize_t n = recvfrom(r->front, buf, sizeof(buf), 0,
					     (struct sockaddr *)&r->client, &r->client_len);
			if (n > 0 && is_open_session(buf, n))
				atomic_fetch_add(&r->opens, 1);
			if (n > 0)
				send(r->back, buf, (size_t)n, 0);
		}
		if (pf[1].revents & POLLIN) {
			ssize_t n = recv(r->back, buf, sizeof(buf), 0);
			if (n > 0 && r->client_len > 0)
				sendto(r->front, buf, (size_t)n, 0, (struct sockaddr *)&r->client,
				       r->client_len);
		}
	}
	return NULL;
}

struct relay *relay_start(int upstream_port)
{
	struct relay *r = calloc(1, sizeof(*r));
	struct sockaddr_in up = {.sin_family = AF_INET, .sin_port = htons((uint16_t)upstream_port)};
	struct sockaddr_in a;
	socklen_t len = sizeof(a);

	if (r == NULL)
		return NULL;
	up.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	r->front = bind_udp(0);
	r->back = bind_udp(0);
	if (r->front < 0 || r->back < 0 || connect(r->back, (struct sockaddr *)&up, sizeof(up)) ||
	    getsockname(r->front, (struct sockaddr *)&a, &len) ||
	    pthread_create(&r->tid, NULL, relay_main, r) != 0) {
		if (r->front >= 0)
			close(r->front);
		if (r->back >= 0)
			close(r->back);
		free(r);
		return NULL;
	}
	r->port = ntohs(a.sin_port);
	return r;
}

int relay_port(const struct relay *r)
{
	return r->port;
}

int relay_open_sessions(const struct relay *r)
{
	return atomic_load(&((struct relay *)r)->opens);
}

void relay_stop(struct relay *r)
{
	if (r == NULL)
		return;
	atomic_store(&r->stop, true);
	pthread_join(r->tid, NULL);
	close(r->front);
	close(r->back);
	free(r);
}
