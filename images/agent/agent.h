/*
 * agent.h — internal interface of provisiond-agent (the deploy agent that
 * runs in the ramdisk). Not a public header: nothing outside images/agent/
 * and its tests includes it. The wire contract is docs/agent-protocol.md;
 * its names (paths, fields, kernel parameters, timing) are in protocol.h,
 * which provisiond includes too.
 *
 * Conventions for every function below unless its comment says otherwise:
 * - Functions that can fail return enum agent_rc and, on failure, fill the
 *   caller's struct agent_err with a one-line human message. `err` may be
 *   NULL when the caller does not want the message.
 * - Output strings / json_t * handed to the caller are owned by the caller
 *   (free() / json_decref()). Inputs are borrowed.
 * - Everything is safe to call from any thread as long as the objects passed
 *   are not shared; struct agent_status is the one shared object and has its
 *   own lock.
 */
#ifndef PROVISIOND_AGENT_H
#define PROVISIOND_AGENT_H

#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "protocol.h"
#include "util/util.h"

#define AGENT_MIB ((uint64_t)1024 * 1024)
#define AGENT_META_MAGIC "PROVISIOND-METADATA-V1\n"

/* ---- errors (err.c) ---------------------------------------------------- */

enum agent_rc {
	AGENT_OK = 0,
	AGENT_E_USAGE,	/* bad flag, kernel parameter or command argument */
	AGENT_E_IO,	/* local I/O: sysfs, block device, file */
	AGENT_E_NET,	/* transient network failure or 5xx: worth retrying */
	AGENT_E_HTTP,	/* the server refused (4xx): final */
	AGENT_E_PROTO,	/* the server's reply does not follow the protocol */
	AGENT_E_VERIFY, /* image hash / size / stream integrity failure */
	AGENT_E_NOMEM,
};

struct agent_err {
	enum agent_rc rc;
	long http_status; /* set by HTTP calls that got an answer, else 0 */
	char msg[512];
};

/* Sets err (if not NULL) and returns rc. printf-style message. */
enum agent_rc agent_fail(struct agent_err *err, enum agent_rc rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Prefixes an existing message: "prefix: old message". Returns err->rc. */
enum agent_rc agent_err_prefix(struct agent_err *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
const char *agent_rc_name(enum agent_rc rc);

/* ---- logging (log.c): one JSON object per line on stderr ---------------- */

enum agent_log_level { AGENT_LOG_DEBUG, AGENT_LOG_INFO, AGENT_LOG_WARN, AGENT_LOG_ERROR };
/* Sets the machine id added to every later line (copied; NULL clears). */
void agent_log_set_machine(const char *machine);
/* Lines below `level` are dropped (default INFO). */
void agent_log_set_level(enum agent_log_level level);
void agent_log(enum agent_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ---- configuration (cmdline.c) ----------------------------------------- */

enum agent_mode { AGENT_MODE_AGENT, AGENT_MODE_DISCOVER };

/* All strings heap-owned by the struct; agent_config_free() releases them. */
struct agent_config {
	char *url; /* boot listener base URL, no trailing '/' */
	enum agent_mode mode;
	char *machine; /* machine id, NULL in discovery */
	char *token;   /* one-time boot token, NULL in discovery */
	int heartbeat_s;
	char *sysroot;	    /* prefix for /proc and /sys, "" = real root */
	char *devroot;	    /* directory holding disk nodes, default "/dev" */
	char *cmdline_path; /* NULL = SYSROOT/proc/cmdline */
	char *disk;	    /* `booted`: disk holding the metadata, NULL = search */
	bool no_power;	    /* reboot/poweroff only report and return */
	int poll_wait_s;    /* long-poll wait for GET /v1/agent/command */
	int retry_max_s;    /* window for retrying network errors */
	double retry_base_s;
	double retry_cap_s;
};

/* Fills defaults (heartbeat 10 s, poll 30 s, retry 1 s doubling to 30 s
 * for 600 s, devroot /dev). Never fails except on out-of-memory. */
enum agent_rc agent_config_init(struct agent_config *cfg, struct agent_err *err);
void agent_config_free(struct agent_config *cfg);

/* Applies the `provisiond.*` parameters of a kernel command line (quotes as
 * the kernel handles them; parsing stops at " -- "). Other parameters are
 * ignored; a provisiond.* parameter with a bad value is AGENT_E_USAGE. */
enum agent_rc agent_cmdline_parse(const char *text, struct agent_config *cfg,
				  struct agent_err *err);
/* One parameter by its name without the "provisiond." prefix (url, mode,
 * machine, token, heartbeat); unknown names are logged and ignored. */
enum agent_rc agent_config_set(struct agent_config *cfg, const char *key, const char *value,
			       struct agent_err *err);
/* Command-line flags (options.c): the first pass applies the flags that say
 * where to read (--cmdline, --sysroot, ...), then the kernel command line is
 * read, then the flags that override provisiond.* parameters. *command is
 * the sub-command (default "run"). AGENT_E_USAGE with message "help" for
 * --help. */
enum agent_rc agent_options_parse(int argc, char **argv, struct agent_config *cfg,
				  const char **command, struct agent_err *err);
/* Checks that the configuration is complete for talking to the server. */
enum agent_rc agent_config_check(const struct agent_config *cfg, struct agent_err *err);
/* Replaces *slot with a copy of value (NULL allowed). */
enum agent_rc agent_set_str(char **slot, const char *value, struct agent_err *err);
/* Strict integer parse of the whole string within [min, max]. */
enum agent_rc agent_parse_int(const char *s, long min, long max, long *out, struct agent_err *err);

/* ---- sysfs / procfs reading (sysfs.c) ---------------------------------- */

/* Reads ROOT/REL (at most 64 KiB), trailing whitespace trimmed; *out is
 * malloc'd. AGENT_E_IO if it does not exist or cannot be read. */
enum agent_rc agent_read_text(const char *root, const char *rel, char **out, struct agent_err *err);
/* Same, but returns a malloc'd "" on any error (for optional facts). */
char *agent_read_text_or_empty(const char *root, const char *rel);
bool agent_path_exists(const char *root, const char *rel);
/* Joins root and rel into a malloc'd path; NULL on out-of-memory. */
char *agent_path_join(const char *root, const char *rel);
/* Sorted (strcmp) entry names of ROOT/REL, "." and ".." skipped; the array
 * and each name are malloc'd; free with agent_strv_free(). */
enum agent_rc agent_list_dir(const char *root, const char *rel, char ***names, size_t *count,
			     struct agent_err *err);
void agent_strv_free(char **v, size_t count);

/* ---- hardware facts (facts*.c) ----------------------------------------- */

/* The inventory body of docs/agent-protocol.md from SYSROOT/proc and
 * SYSROOT/sys. Missing optional files give "" / -1 / false; the call fails
 * only when nothing at all can be read (no /proc/cpuinfo). */
enum agent_rc agent_facts_collect(const char *sysroot, json_t **facts, struct agent_err *err);
json_t *agent_facts_cpu(const char *sysroot);
long long agent_facts_memory_mib(const char *sysroot);
json_t *agent_facts_disks(const char *sysroot);
json_t *agent_facts_nics(const char *sysroot);
json_t *agent_facts_dmi(const char *sysroot);
/* Names of the physical disks (facts' filter), sorted. */
enum agent_rc agent_disk_names(const char *sysroot, char ***names, size_t *count,
			       struct agent_err *err);
/* A JSON string from sysfs text: surrounding blanks trimmed; if the bytes
 * are not valid UTF-8, every non-printable-ASCII byte becomes '?'. */
json_t *agent_json_text(const char *s);
/* The lookup's MAC list from a "nics" facts array (new reference): the
 * Ethernet MACs in lower case, each once, in nics order, at most
 * AGENT_MAX_LOOKUP_MACS; all-zero and non-Ethernet addresses are left out. */
json_t *agent_facts_macs(const json_t *nics);

/* ---- backoff (backoff.c) ----------------------------------------------- */

struct agent_backoff {
	double base_s, cap_s;
	int retry;	 /* delays handed out since init/reset */
	uint64_t rng;	 /* jitter state */
	double deadline; /* monotonic seconds */
};
void agent_backoff_init(struct agent_backoff *b, double base_s, double cap_s, double window_s);
/* Delay before the next attempt (jittered in [d/2, d]); false when the
 * window is over, in which case the caller gives up. */
bool agent_backoff_next(struct agent_backoff *b, double *delay_s);
/* Restart the doubling (after progress was made); keeps the window length. */
void agent_backoff_reset(struct agent_backoff *b, double window_s);
/* value scaled by a uniform factor in [1-fraction, 1+fraction]. */
double agent_jitter(double value, double fraction);
double agent_now(void); /* monotonic seconds (util_now_us) */
void agent_sleep(double seconds);

/* ---- HTTP (http.c) ----------------------------------------------------- */

struct agent_client {
	char *base_url; /* owned */
	char *token;	/* owned; Authorization: Bearer TOKEN when not NULL */
	double retry_base_s, retry_cap_s;
	int retry_max_s; /* 0 = a single attempt */
};

/* Copies url and token. */
enum agent_rc agent_client_init(struct agent_client *c, const struct agent_config *cfg,
				const char *url, const char *token, struct agent_err *err);
void agent_client_free(struct agent_client *c);

/* One request: METHOD base_url+path with an optional JSON body; a 2xx body
 * that parses as JSON is returned in *reply (NULL for 204 / empty). 4xx is
 * AGENT_E_HTTP, 5xx and transport errors AGENT_E_NET, both with the
 * server's error message when it sent one. */
enum agent_rc agent_http_once(const struct agent_client *c, const char *method, const char *path,
			      const json_t *body, long timeout_s, json_t **reply, long *status,
			      struct agent_err *err);
/* agent_http_once, retried on AGENT_E_NET with jittered backoff within the
 * client's retry window. */
enum agent_rc agent_http_call(const struct agent_client *c, const char *method, const char *path,
			      const json_t *body, long timeout_s, json_t **reply, long *status,
			      struct agent_err *err);

/* ---- progress shared with the heartbeat thread (status.c) -------------- */

struct agent_progress {
	atomic_ullong bytes;
	atomic_ullong total;
};

struct agent_status {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	char state[16];	      /* "idle" | "busy" | "error" */
	char command_id[128]; /* "" = none */
	char message[512];    /* only with state "error" */
	struct agent_progress progress;
	bool stop;
};
void agent_status_init(struct agent_status *s);
void agent_status_destroy(struct agent_status *s);
/* command_id NULL = idle. Resets progress. */
void agent_status_set_busy(struct agent_status *s, const char *command_id);
void agent_status_set_idle(struct agent_status *s);
/* The heartbeat body for the current state (new reference). */
json_t *agent_status_heartbeat_body(struct agent_status *s);

/* ---- image streaming (sink.c, fetch.c, image.c) ------------------------ */

/* Consumes the downloaded bytes: optional zstd decompression, SHA-256 of the
 * decompressed bytes, writes at offset 0.. of the target. */
struct agent_sink;
/* Opens path for writing without truncating (a regular file stands for a
 * disk). capacity 0 = unbounded; writing past it fails. */
enum agent_rc agent_sink_open(struct agent_sink **out, const char *path, bool zstd,
			      uint64_t capacity, struct agent_progress *progress,
			      struct agent_err *err);
enum agent_rc agent_sink_feed(struct agent_sink *s, const void *buf, size_t len,
			      struct agent_err *err);
/* Checks the zstd frame ended, fsyncs, and writes the hex digest (65 bytes). */
enum agent_rc agent_sink_finish(struct agent_sink *s, char hex[65], struct agent_err *err);
void agent_sink_set_capacity(struct agent_sink *s, uint64_t capacity);
/* Test hook (--fail-write-at): image writes reaching past offset fail with
 * EIO, like a disk with a bad sector there. 0 = off. */
void agent_sink_fail_at(uint64_t offset);
/* Test hook (--fail-hash): the image's SHA-256 comes out wrong. */
void agent_sink_fail_hash(void);
/* Test hook (--stop-write-at): the agent SIGSTOPs itself once when an image
 * write reaches offset (a hung agent: no heartbeats, no result). */
void agent_sink_stop_at(uint64_t offset);
uint64_t agent_sink_written(const struct agent_sink *s);
int agent_sink_fd(const struct agent_sink *s);
void agent_sink_free(struct agent_sink *s); /* NULL allowed; closes the fd */

/* Streams url (http://, https://, file://) into the sink. Dropped transfers
 * resume with a Range request from the bytes already consumed; a server that
 * answers 200 to it has the already-seen prefix skipped. Retries transient
 * errors within c's retry window (c supplies only the retry policy). */
enum agent_rc agent_fetch(const struct agent_client *c, const char *url, struct agent_sink *sink,
			  uint64_t *downloaded, struct agent_err *err);

struct agent_image_args {
	const char *url;
	bool zstd;
	char sha256[65]; /* 64 lowercase hex */
	long long size;	 /* decompressed size, -1 unknown */
	char *device;	 /* owned: resolved target path */
	const json_t *metadata;
	bool config_drive;   /* metadata's AGENT_META_CONFIG_DRIVE */
	const char *sysroot; /* borrowed from the configuration */
};
/* Validates the write_image args (borrowed from `args`, which must outlive
 * out) and resolves the device (default: first disk under devroot). */
enum agent_rc agent_image_args_parse(const json_t *args, const struct agent_config *cfg,
				     struct agent_image_args *out, struct agent_err *err);
void agent_image_args_free(struct agent_image_args *a);
/* The whole write_image command. On success *details holds
 * {"bytes","seconds","bytes_per_sec","sha256","device"}. */
enum agent_rc agent_image_write(const struct agent_client *c, const struct agent_image_args *a,
				struct agent_progress *progress, json_t **details,
				struct agent_err *err);

/* ---- devices (device.c) ------------------------------------------------ */

/* Size in bytes of a block device (BLKGETSIZE64) or regular file. */
enum agent_rc agent_fd_size(int fd, const char *path, uint64_t *size, struct agent_err *err);
/* Writes len zero bytes at offset, reporting into progress (may be NULL). */
enum agent_rc agent_zero_range(int fd, const char *path, uint64_t offset, uint64_t len,
			       struct agent_progress *progress, struct agent_err *err);
/* DEVROOT/NAME of the first physical disk. */
enum agent_rc agent_default_device(const struct agent_config *cfg, char **path,
				   struct agent_err *err);

/* ---- wipe (wipe.c) ----------------------------------------------------- */

/* Zeroes the first and last MiB of path (all of it when full), fsyncs. */
enum agent_rc agent_wipe_device(const char *path, bool full, struct agent_progress *progress,
				uint64_t *zeroed, struct agent_err *err);
/* The wipe command over every physical disk; details {"disks":[…],"bytes":N}. */
enum agent_rc agent_wipe_all(const struct agent_config *cfg, bool full,
			     struct agent_progress *progress, json_t **details,
			     struct agent_err *err);

/* ---- metadata block (metadata.c) --------------------------------------- */

/* Writes MAGIC + compact JSON + NUL at offset disk_size - 1 MiB of fd. */
enum agent_rc agent_meta_write(int fd, uint64_t disk_size, const json_t *meta,
			       struct agent_err *err);
/* Reads the block back from the tail of path; AGENT_E_IO when absent. */
enum agent_rc agent_meta_read(const char *path, json_t **meta, struct agent_err *err);

/* ---- config drive (configdrive.c) ---------------------------------------- */

/* The config drive's size; it ends where the metadata MiB starts. */
#define AGENT_CONFIG_DRIVE_MIB 8ULL
/* Writes the OpenStack config drive (label config-2) for meta into fd
 * (the device at path `device`, disk_size bytes, holding an image of
 * image_size bytes): a FAT filesystem made with mkfs.fat + mtools, a
 * partition added with sfdisk, the image's last partition grown up to it
 * when it is a Linux one. sysroot: where /sys is (the boot NIC's MAC).
 * Runs the tools from PATH; AGENT_E_IO when one fails, AGENT_E_USAGE when
 * the disk has no room or no partition table. */
enum agent_rc agent_configdrive_write(int fd, const char *device, uint64_t disk_size,
				      uint64_t image_size, const json_t *meta, const char *sysroot,
				      struct agent_err *err);

/* ---- server conversation (client.c, commands.c, run.c, booted.c) -------- */

struct agent_session {
	struct agent_client client; /* carries the session token after lookup */
	char *machine_id;
	int heartbeat_s;
};
enum agent_rc agent_lookup(const struct agent_config *cfg, const json_t *macs,
			   struct agent_session *out, struct agent_err *err);
void agent_session_free(struct agent_session *s);
enum agent_rc agent_post_inventory(const struct agent_session *s, const json_t *facts,
				   struct agent_err *err);
/* *cmd is NULL when the server had nothing (204). */
enum agent_rc agent_poll_command(const struct agent_session *s, int wait_s, json_t **cmd,
				 struct agent_err *err);
enum agent_rc agent_post_result(const struct agent_session *s, const char *id, bool ok,
				const char *message, json_t *details, struct agent_err *err);
enum agent_rc agent_post_heartbeat(const struct agent_session *s, struct agent_status *st,
				   struct agent_err *err);

enum agent_after { AGENT_AFTER_NOTHING, AGENT_AFTER_REBOOT, AGENT_AFTER_POWEROFF };
/* Runs one command object; always sends its result (also on failure). */
enum agent_rc agent_command_run(const struct agent_config *cfg, const struct agent_session *s,
				struct agent_status *st, const json_t *cmd, enum agent_after *after,
				struct agent_err *err);

/* Heartbeat thread (heartbeat.c). */
struct agent_heartbeat;
enum agent_rc agent_heartbeat_start(const struct agent_session *s, struct agent_status *st,
				    struct agent_heartbeat **out, struct agent_err *err);
void agent_heartbeat_stop(struct agent_heartbeat *hb); /* NULL allowed; joins */

/* Power (power.c): sync, then reboot(2) unless cfg->no_power. Returns only
 * on failure or with no_power. */
enum agent_rc agent_power(const struct agent_config *cfg, enum agent_after what,
			  struct agent_err *err);

/* The whole agent: lookup, inventory, command loop. Returns when a reboot /
 * poweroff was done in no_power mode (AGENT_OK) or on a final failure. */
enum agent_rc agent_run(const struct agent_config *cfg, struct agent_err *err);
/* `booted` mode of the deployed image. Prints the marker to `console`. */
enum agent_rc agent_booted(const struct agent_config *cfg, FILE *console, struct agent_err *err);

#endif
