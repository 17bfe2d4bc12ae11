/* pxe — the boot plane: iPXE scripts, dnsmasq configuration, TFTP root and
 * dnsmasq supervision (docs/boot.md).
 *
 * Errors: functions return an enum err_status (util/util.h; ERR_OK is 0) and
 * fill the struct err *e they take (e may be NULL). What the statuses mean
 * here:
 *   ERR_INVALID    an input failed validation: e->field names it and
 *                  e->message starts with that name ("token: contains a
 *                  newline");
 *   ERR_IO         a file operation or a child process failed (fork, exec,
 *                  dnsmasq exiting during startup); the message has the path
 *                  or program and the errno text;
 *   ERR_NOT_FOUND  a required file or program is missing;
 *   ERR_CONFLICT   the call is not valid now (start while running);
 *   ERR_INTERNAL   out of memory.
 * Functions that produce a string or an object hand it back through an out
 * parameter: set (caller frees) on ERR_OK, NULL otherwise.
 */
#ifndef PXE_PXE_H
#define PXE_PXE_H

#include "images/agent/protocol.h"
#include "util/util.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* ---- iPXE scripts ---------------------------------------------------- */

enum pxe_boot_kind {
	PXE_BOOT_AGENT,	     /* ramdisk agent for a known machine (inspect/clean/deploy) */
	PXE_BOOT_DISCOVER,   /* ramdisk agent in discovery mode for an unknown MAC */
	PXE_BOOT_LOCAL_DISK, /* deployed machine: boot the first local disk */
	PXE_BOOT_IGNORE,     /* unknown MAC under policy ignore: leave network boot */
};
#define PXE_BOOT_KIND_COUNT 4

/* "agent", "discover", "local_disk", "ignore"; NULL when out of range.
 * Static string; thread-safe. */
const char *pxe_boot_kind_name(enum pxe_boot_kind kind);
/* Inverse of pxe_boot_kind_name: ERR_OK and *out set, or ERR_INVALID. */
enum err_status pxe_boot_kind_from_name(const char *name, enum pxe_boot_kind *out);

#define PXE_HEARTBEAT_DEFAULT_S AGENT_HEARTBEAT_DEFAULT_S
#define PXE_FETCH_ATTEMPTS 3 /* kernel+initrd fetch attempts per boot */
#define PXE_RETRY_SLEEP_S 5  /* pause between attempts */
#define PXE_FAIL_REBOOT_S 30 /* pause before rebooting after the last attempt */

struct pxe_script_params {
	enum pxe_boot_kind kind;
	/* Boot listener base URL, http(s)://HOST[:PORT][/PATH]; required for
	 * AGENT and DISCOVER. The kernel is BOOT_URL/boot/vmlinuz, the initrd
	 * BOOT_URL/boot/initramfs. A trailing '/' is ignored. */
	const char *boot_url;
	const char *machine_id;	  /* required for AGENT; [A-Za-z0-9._:-], <= 128 */
	const char *token;	  /* required for AGENT; [A-Za-z0-9._~+/=-], <= 256 */
	const char *machine_name; /* optional, comment only; printable, no '$' */
	const char *state;	  /* optional, comment only; [a-z0-9_-] */
	const char *mac;	  /* optional, comment only; a MAC address */
	/* Optional operator kernel arguments, appended after ours; printable
	 * ASCII without quotes, '$', '\\' or '#'; may not set provisiond.*. */
	const char *extra_args;
	int heartbeat_s; /* 0 -> PXE_HEARTBEAT_DEFAULT_S; else 1..3600 */
};

/* Renders the iPXE script for p->kind into *out (malloc'd, caller frees).
 * ERR_INVALID naming the field, or ERR_INTERNAL (out of memory); *out is
 * NULL then. Pure function: thread-safe. */
enum err_status pxe_render_script(const struct pxe_script_params *p, char **out, struct err *e);

/* ---- virtual-media ISO (iso.c) ---------------------------------------- */

/* Debian's isolinux and syslinux-common files. */
#define PXE_ISOLINUX_BIN "/usr/lib/ISOLINUX/isolinux.bin"
#define PXE_LDLINUX_C32 "/usr/lib/syslinux/modules/bios/ldlinux.c32"

struct pxe_iso_params {
	/* The agent's parameters, checked as pxe_render_script checks an AGENT
	 * script's (boot_url, machine_id, token required). */
	const char *boot_url, *machine_id, *token, *extra_args;
	int heartbeat_s;
	const char *kernel, *initrd; /* absolute paths of the ramdisk's files */
	/* NULL: PXE_ISOLINUX_BIN, PXE_LDLINUX_C32 */
	const char *isolinux_bin, *ldlinux_c32;
	int timeout_ms; /* xorriso's deadline; 0: 60 s */
};

/* Builds a BIOS-bootable (ISOLINUX, El Torito) ISO at out_path that boots the
 * deploy ramdisk with the agent's kernel command line for p, exactly the one
 * an AGENT iPXE script passes. The ISO appears at out_path complete or not at
 * all (a temporary directory beside it, renamed). Runs xorriso (blocking, at
 * most timeout_ms). ERR_INVALID naming the field, ERR_NOT_FOUND (xorriso or a
 * file missing), ERR_IO (xorriso failed; its first line of output in the
 * message). Thread-safe (no shared state). */
enum err_status pxe_iso_build(const struct pxe_iso_params *p, const char *out_path, struct err *e);

/* ---- dnsmasq configuration ------------------------------------------ */

enum pxe_dhcp_mode {
	PXE_DHCP_FULL,	/* dnsmasq is the DHCP server for a range (authoritative) */
	PXE_DHCP_PROXY, /* proxy DHCP beside an existing DHCP server: boot info only */
	PXE_DHCP_OFF,	/* no DHCP at all: TFTP only (another server points at us) */
};
#define PXE_DHCP_MODE_COUNT 3

/* "full", "proxy", "off"; NULL when out of range. Static; thread-safe. */
const char *pxe_dhcp_mode_name(enum pxe_dhcp_mode mode);
/* Inverse of pxe_dhcp_mode_name: ERR_OK and *out set, or ERR_INVALID. */
enum err_status pxe_dhcp_mode_from_name(const char *name, enum pxe_dhcp_mode *out);

struct pxe_dnsmasq_params {
	enum pxe_dhcp_mode mode;
	const char *interface; /* required: the provisioning interface */
	/* Boot listener base URL as for pxe_render_script; required unless
	 * mode is OFF. iPXE clients get BOOT_URL/boot.ipxe?mac=${net0/mac},
	 * which must fit the 127-byte DHCP file field. */
	const char *boot_url;
	/* FULL: dynamic range and its netmask (all IPv4, same subnet). */
	const char *range_start, *range_end, *netmask;
	const char *lease_time; /* FULL: "infinite" or N[smhdw]; NULL -> "1h" */
	const char *router;	/* FULL, optional: default gateway; NULL -> none sent */
	const char *network;	/* PROXY: network address of the subnet, e.g. 10.0.0.0 */
	/* Absolute paths. tftp_root is required unless mode is OFF (then NULL
	 * disables TFTP). The rest are optional; NULL omits the option.
	 * hosts_dir and lease_file are used only with DHCP (FULL, PROXY).
	 * log_file may be "-" for stderr. */
	const char *tftp_root, *hosts_dir, *pid_file, *lease_file, *log_file;
	bool ipv6_ra;	  /* send RAs on interface (iPXE otherwise waits ~14 s) */
	bool only_known;  /* answer only MACs listed in hosts_dir */
	bool run_as_root; /* user=root: keep privileges to write leases/logs */
	bool log_dhcp;	  /* verbose DHCP logging */
};

/* Renders a complete dnsmasq configuration file into *out (malloc'd, caller
 * frees). ERR_INVALID with e->field naming the field and the message naming
 * it and its dnsmasq option ("range_end (dhcp-range): ..."), or
 * ERR_INTERNAL; *out is NULL then. Pure function: thread-safe. */
enum err_status pxe_dnsmasq_conf(const struct pxe_dnsmasq_params *p, char **out, struct err *e);

/* ---- known hosts (dhcp-hostsdir) ------------------------------------ */

/* Writes DIR/aa-bb-cc-dd-ee-ff holding one dhcp-host line "MAC[,IP][,NAME]"
 * atomically (hidden temp file + fsync + rename), so a running dnsmasq picks
 * it up without restart. name (a DNS label) and ip (IPv4) may be NULL.
 * dnsmasq only *adds* records on the fly: a changed or removed file keeps
 * its old record until SIGHUP (pxe_dnsmasq_reload). Thread-safe; concurrent
 * writers of one MAC: last rename wins. ERR_INVALID (dir, mac, name, ip) or
 * ERR_IO. */
enum err_status pxe_hosts_write(const char *dir, const char *mac, const char *name, const char *ip,
				struct err *e);
/* Removes the file for mac; absent already is success. Thread-safe.
 * ERR_INVALID (dir, mac) or ERR_IO. */
enum err_status pxe_hosts_remove(const char *dir, const char *mac, struct err *e);
/* Normalises a MAC ("AA-BB-..", "aa:bb:..") to lower-case colon form in
 * out (>= 18 bytes). ERR_OK or ERR_INVALID. Thread-safe. */
enum err_status pxe_mac_normalize(const char *mac, char out[18]);

/* ---- TFTP root ------------------------------------------------------ */

#define PXE_IPXE_DIR_DEFAULT "/usr/lib/ipxe"

/* Creates tftp_root if needed and copies undionly.kpxe and ipxe.efi from
 * ipxe_dir (NULL -> PXE_IPXE_DIR_DEFAULT) into it (temp + rename, 0644).
 * ERR_INVALID (tftp_root, ipxe_dir), ERR_NOT_FOUND naming the missing file,
 * or ERR_IO. Not safe against a concurrent call for the same tftp_root. */
enum err_status pxe_tftp_prepare(const char *tftp_root, const char *ipxe_dir, struct err *e);

/* ---- dnsmasq processes ---------------------------------------------- */

/* Path of the dnsmasq binary: $PATH, then /usr/sbin, /sbin. malloc'd
 * (caller frees) or NULL when none is found. Thread-safe. */
char *pxe_dnsmasq_find(void);

/* Runs `dnsmasq --test --conf-file=conf_path`. ERR_OK when dnsmasq accepts
 * the file, else ERR_INVALID with dnsmasq's own message (field "conf_path"),
 * ERR_NOT_FOUND (no dnsmasq) or ERR_IO. Blocks until dnsmasq exits;
 * thread-safe. */
enum err_status pxe_dnsmasq_test(const char *conf_path, struct err *e);

/* Stops every dnsmasq running `--conf-file=conf_path` that is not this
 * process's child (one a killed supervisor left behind: it keeps the DHCP
 * and TFTP ports): SIGTERM, SIGKILL after timeout_ms (<= 0 -> 5000). Call
 * before the first start. Their pids in stopped[0..max), *n how many were
 * found (may exceed max). ERR_INVALID (conf_path) or ERR_IO (/proc). */
enum err_status pxe_dnsmasq_stop_strays(const char *conf_path, int timeout_ms, pid_t *stopped,
					int max, int *n, struct err *e);

struct pxe_dnsmasq_opts {
	const char *conf_path;	  /* required: a file from pxe_dnsmasq_conf */
	const char *netns;	  /* optional: run under `ip netns exec NETNS` */
	const char *dnsmasq_path; /* optional: default pxe_dnsmasq_find() */
	const char *output_path;  /* optional: child stdout+stderr appended here;
				     NULL -> /dev/null */
	int stop_timeout_ms;	  /* SIGTERM -> SIGKILL deadline; 0 -> 5000 */
	int settle_ms;		  /* start fails if dnsmasq exits within; 0 -> 300 */
	int backoff_min_ms;	  /* first restart delay; 0 -> 500 */
	int backoff_max_ms;	  /* cap of the doubling delay; 0 -> 30000 */
	int stable_ms;		  /* a run this long resets the delay; 0 -> 60000 */
};

struct pxe_dnsmasq; /* one supervised dnsmasq; opaque */

struct pxe_dnsmasq_info {
	pid_t pid;	      /* 0 when not running */
	unsigned starts;      /* successful starts, including restarts */
	int last_exit;	      /* last wait status (see waitpid), -1 if none */
	long next_restart_ms; /* ms until the next restart attempt, -1 if none due */
	char error[256];      /* last start failure, "" if none */
};

/* Creates a supervisor in *out (nothing runs yet; free with
 * pxe_dnsmasq_free); copies the strings in o. ERR_INVALID for bad options,
 * ERR_NOT_FOUND for missing binaries, ERR_INTERNAL; *out is NULL then. */
enum err_status pxe_dnsmasq_new(const struct pxe_dnsmasq_opts *o, struct pxe_dnsmasq **out,
				struct err *e);
/* Stops dnsmasq if running (as pxe_dnsmasq_stop) and frees. NULL is fine.
 * No other call on d may be running or follow. */
void pxe_dnsmasq_free(struct pxe_dnsmasq *d);

/* The calls below are thread-safe (one mutex per supervisor) and return an
 * err_status. The child gets SIGTERM if the thread that started it
 * exits (PR_SET_PDEATHSIG), so start, poll and run belong on one long-lived
 * thread. Children are reaped with waitpid(pid): do not reap them elsewhere
 * (no waitpid(-1) or SIGCHLD=SIG_IGN in the process). */

/* Spawns dnsmasq --keep-in-foreground --conf-file=CONF, waits settle_ms and
 * fails with ERR_IO if it died meanwhile. ERR_CONFLICT if running.
 * Enables restarts by pxe_dnsmasq_poll. */
enum err_status pxe_dnsmasq_start(struct pxe_dnsmasq *d, struct err *e);
/* SIGTERM, then SIGKILL after stop_timeout_ms; reaps the child and disables
 * restarts. Not running is success. */
enum err_status pxe_dnsmasq_stop(struct pxe_dnsmasq *d, struct err *e);
/* True while the child runs (reaps it when it has exited). */
bool pxe_dnsmasq_alive(struct pxe_dnsmasq *d);
/* SIGHUP: dnsmasq re-reads hosts_dir (needed after removals). ERR_CONFLICT
 * when it is not running. */
enum err_status pxe_dnsmasq_reload(struct pxe_dnsmasq *d, struct err *e);
/* One supervision step: reaps an exited child and schedules a restart with
 * doubling backoff; restarts when due. Never blocks longer than a start. */
enum err_status pxe_dnsmasq_poll(struct pxe_dnsmasq *d, struct err *e);
/* Starts dnsmasq if needed and polls every 100 ms until pxe_dnsmasq_shutdown
 * is called (from any thread); then stops it. Meant as a thread body. Returns
 * the result of the final stop. Start failures are retried with backoff. */
enum err_status pxe_dnsmasq_run(struct pxe_dnsmasq *d);
/* Asks pxe_dnsmasq_run to stop dnsmasq and return. */
void pxe_dnsmasq_shutdown(struct pxe_dnsmasq *d);
/* Snapshot of the supervisor's state. */
void pxe_dnsmasq_info(struct pxe_dnsmasq *d, struct pxe_dnsmasq_info *out);

#endif
