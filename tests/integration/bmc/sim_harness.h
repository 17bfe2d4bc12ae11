/* sim_harness.h - OpenIPMI ipmi_sim instances on loopback for the BMC integration
 * test, and a UDP relay that counts session attempts.
 *
 * Each sim runs in its own temporary directory under $TMPDIR (configuration, state,
 * the chassis hook's log) on a free loopback UDP port, in its own process group.
 * Every sim started is recorded; sim_stop() kills one by its pid, and the harness
 * kills all that are left at exit and on fatal signals, and the kernel kills them if
 * this process dies (PR_SET_PDEATHSIG). Not thread-safe: start and stop sims from the
 * main thread. */
#ifndef BMC_SIM_HARNESS_H
#define BMC_SIM_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct sim {
	pid_t pid;
	int port;
	char dir[256];
	char name[32];
};

/* Whether ipmi_sim is installed. */
bool sim_available(void);

/* A UDP port on 127.0.0.1 that was free a moment ago (bind test). */
int sim_free_udp_port(void);

/* Starts ipmi_sim named name; 0 on success, -1 with a message on stderr. */
int sim_start(struct sim *s, const char *name);

/* As sim_start, on a port in [10000, max_port) instead of the kernel's ephemeral
 * range (libipmiconsole 1.6 cannot open SOL on a port above 32767). */
int sim_start_below(struct sim *s, const char *name, int max_port);

/* Kills the sim by pid (and its process group), reaps it, removes its directory
 * (kept when BMC_SIM_KEEP is set). Accepts a sim that never started. */
void sim_stop(struct sim *s);

/* Kills the sim (as sim_stop) but keeps its directory, state and port, and starts it
 * again there: the same BMC back after a crash, with what it persisted (users and
 * passwords in state/). 0 on success, -1 with a message on stderr. */
int sim_restart(struct sim *s);

/* Reads a state or knob file of the sim (power, boot) into buf, without the trailing
 * newline; "" when it does not exist. */
void sim_read(const struct sim *s, const char *file, char *buf, size_t len);

/* Removes a knob file. */
int sim_unlink(const struct sim *s, const char *file);

/* The "set" calls the hook saw, in order, joined by ';' ("set power 1;set boot pxe").
 * Returns the number of calls, -1 on error. */
int sim_hook_sets(const struct sim *s, char *buf, size_t len);

/* All lines of the hook log (get and set). */
int sim_hook_lines(const struct sim *s);

/* Empties the hook log; writes a state or knob file (power, boot, delay). */
int sim_hook_clear(const struct sim *s);
int sim_write(const struct sim *s, const char *file, const char *value);

/* A UDP relay 127.0.0.1:relay_port -> 127.0.0.1:upstream that counts RMCP+ Open
 * Session Requests (one per session attempt). */
struct relay;
struct relay *relay_start(int upstream_port);
int relay_port(const struct relay *r);
int relay_open_sessions(const struct relay *r);
void relay_stop(struct relay *r);

#endif
