/* bmc.h - the one public header of provisiond's BMC layer.
 *
 * Only provisiond/bmc/ talks to BMCs. The daemon describes a machine's BMC with a
 * struct bmc_target and asks a struct bmc_manager to read or change power and boot
 * device. The manager picks the driver ("fake", "ipmi", "libvirt", "redfish"), and owns the
 * robustness rules that are the same for every driver: a timeout on every driver
 * call, one operation at a time per BMC, a global cap on concurrent driver calls,
 * jittered exponential retries on transient errors only, a circuit breaker per BMC,
 * and confirmation of every power change. docs/bmc.md has the details and defaults.
 *
 * Errors: every operation returns an enum bmc_status and, when the caller passes a
 * struct bmc_error, fills it with the same status, a human sentence naming the BMC
 * address (never the password), and for validation errors the offending field.
 * Passing NULL for the error is allowed.
 */
#ifndef PROVISIOND_BMC_BMC_H
#define PROVISIOND_BMC_BMC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The __COUNT members are sentinels for the name tables, not values. */
enum bmc_power_state { BMC_POWER_UNKNOWN, BMC_POWER_OFF, BMC_POWER_ON, BMC_POWER_STATE__COUNT };

enum bmc_power_action {
	BMC_POWER_ACTION_ON,
	BMC_POWER_ACTION_OFF,
	BMC_POWER_ACTION_CYCLE,
	BMC_POWER_ACTION_RESET,
	BMC_POWER_ACTION_SOFT_OFF,
	BMC_POWER_ACTION__COUNT
};

/* BMC_BOOT_CD: the (virtual) CD/DVD drive, for virtual-media boots. */
enum bmc_boot_device { BMC_BOOT_PXE, BMC_BOOT_DISK, BMC_BOOT_CD, BMC_BOOT_DEVICE__COUNT };

enum bmc_status {
	BMC_OK = 0,
	BMC_ERR_INVALID,      /* bad argument or target description (field named) */
	BMC_ERR_UNSUPPORTED,  /* the driver or the BMC cannot do this */
	BMC_ERR_NOT_COMPILED, /* driver known but built without its library */
	BMC_ERR_AUTH,	      /* the BMC rejected the credentials or privilege */
	BMC_ERR_TIMEOUT,      /* the BMC answered before but not this time */
	BMC_ERR_UNREACHABLE,  /* nothing answered at the address */
	BMC_ERR_CIRCUIT_OPEN, /* failing fast: the BMC was unreachable recently */
	BMC_ERR_BUSY,	      /* the BMC, or this process, had no room for the call */
	BMC_ERR_FAILED,	      /* anything else; the message says what */
	BMC_STATUS__COUNT
};

struct bmc_error {
	enum bmc_status status;
	char field[64];	   /* "bmc.options.workarounds" for validation errors, else "" */
	char message[256]; /* starts with the field for validation errors */
	/* BMC_ERR_CIRCUIT_OPEN: milliseconds until the breaker lets a trial through
	 * (0: a trial is running, or another status) */
	long long retry_in_ms;
};

/* Describes one BMC. All strings are borrowed for the duration of a call only.
 * key: the machine id; operations on the same key are serialized and share a circuit
 * breaker. options_json: a JSON object (NULL or "" mean {}), see docs/bmc.md. */
struct bmc_target {
	const char *key;
	const char *driver, *address, *username, *password, *options_json;
	/* The machine's SKU asks for this firmware boot mode ("UEFI" or "Legacy") with
	 * every boot device change; NULL or "" leaves the BMC's mode alone. A driver
	 * option of the same meaning (redfish boot_mode) wins. */
	const char *boot_mode;
	/* The epoch of the claim under which a replica's engine calls (0: no
	 * claim, e.g. a tech's call): the manager's gate refuses the call once
	 * that claim is over (bmc_manager_set_gate). */
	int64_t claim_epoch;
};

/* A target that owns its strings, for work that outlives the caller's (a call
 * that runs on after an abandon, a queued job, a console session). */
struct bmc_target_copy {
	struct bmc_target t; /* points into strs */
	char *strs[7];	     /* key, driver, address, username, password, options, boot mode */
};
/* Copies t's strings into c; -1 when out of memory (c is then freed). */
int bmc_target_copy(struct bmc_target_copy *c, const struct bmc_target *t);
/* Frees c's strings, the password wiped first; accepts a zeroed or freed c. */
void bmc_target_copy_free(struct bmc_target_copy *c);

/* All times in milliseconds. bmc_limits_default() gives the documented defaults. */
struct bmc_limits {
	int call_timeout_ms;	 /* one driver call (options.timeout_ms overrides per BMC) */
	int max_concurrent;	 /* driver calls in flight in this manager */
	int retries;		 /* extra attempts after a transient error (timeout, busy) */
	int breaker_threshold;	 /* consecutive unreachable/timeout operations to open */
	int breaker_cooldown_ms; /* open -> half-open after this long */
	int confirm_timeout_ms;	 /* how long a power change may take to show */
	int confirm_poll_ms;	 /* power_get interval while confirming */
	int queue_timeout_ms;	 /* wait for the BMC's turn and for a global slot */
	int retry_base_ms;	 /* first backoff; doubles per retry; sleeps 50-100% of it */
	int retry_max_ms;	 /* backoff cap */
};

void bmc_limits_default(struct bmc_limits *l);

/* Decides before every driver call whether it may be sent: false refuses
 * it (BMC_ERR_BUSY, with why in the message). claim_epoch is the target's. */
typedef bool (*bmc_gate_fn)(void *ctx, int64_t claim_epoch, char *why, size_t len);

struct bmc_manager;

/* Allocates a manager; returns NULL on allocation failure or when l is invalid (a
 * non-positive field; retries may be 0). l NULL means defaults. Thread-safe: any
 * number of threads may call operations on one manager at once.
 * bmc_manager_free() accepts NULL; it must not race with operations on the same
 * manager, and it waits for driver calls that timed out but have not returned. */
struct bmc_manager *bmc_manager_new(const struct bmc_limits *l);
void bmc_manager_free(struct bmc_manager *m);
/* Installs the gate every driver call passes (NULL: none); set before
 * calls begin. A replica that lost its claims sends nothing. */
void bmc_manager_set_gate(struct bmc_manager *m, bmc_gate_fn gate, void *ctx);

/* No I/O: driver known and compiled in, address, username and options well formed.
 * Returns BMC_OK, BMC_ERR_INVALID or BMC_ERR_NOT_COMPILED. Thread-safe. */
__attribute__((warn_unused_result)) enum bmc_status bmc_validate(const struct bmc_target *t,
								 struct bmc_error *e);

/* Operations. Each validates t first, waits for the BMC's turn (queue_timeout_ms,
 * then BMC_ERR_BUSY), fails fast with BMC_ERR_CIRCUIT_OPEN while the breaker is
 * open, and retries transient errors. Blocking; thread-safe. */
__attribute__((warn_unused_result)) enum bmc_status bmc_power_get(struct bmc_manager *m,
								  const struct bmc_target *t,
								  enum bmc_power_state *out,
								  struct bmc_error *e);

/* Sends the action, then polls power_get until the machine is in the expected state
 * (off for off/soft, on for on/cycle/reset) or confirm_timeout_ms passes
 * (BMC_ERR_TIMEOUT). cycle and reset of a machine that is off power it on; soft of a
 * machine that is off does nothing. cycle, reset and soft are not resent after a
 * timeout that may have reached the BMC: a second reboot is worse than an error. */
__attribute__((warn_unused_result)) enum bmc_status bmc_power_set(struct bmc_manager *m,
								  const struct bmc_target *t,
								  enum bmc_power_action a,
								  struct bmc_error *e);

/* persistent=false: next boot only. Drivers without that (libvirt) answer
 * BMC_ERR_UNSUPPORTED; see bmc_driver_caps(). */
__attribute__((warn_unused_result)) enum bmc_status
bmc_boot_set(struct bmc_manager *m, const struct bmc_target *t, enum bmc_boot_device d,
	     bool persistent, struct bmc_error *e);

/* Virtual media (the BMC's virtual CD): insert the ISO image at url, which the BMC
 * fetches itself (http or https), ejecting whatever was inserted before; eject
 * leaves the drive empty (nothing inserted: BMC_OK). Both are idempotent, so they
 * are retried after transient errors like power on/off. url is borrowed for the
 * call (http:// or https://, at most 1000 bytes). BMC_ERR_UNSUPPORTED when the driver lacks
 * BMC_CAP_VMEDIA or the BMC offers no virtual CD. Blocking; thread-safe. */
__attribute__((warn_unused_result)) enum bmc_status bmc_media_insert(struct bmc_manager *m,
								     const struct bmc_target *t,
								     const char *url,
								     struct bmc_error *e);
__attribute__((warn_unused_result)) enum bmc_status
bmc_media_eject(struct bmc_manager *m, const struct bmc_target *t, struct bmc_error *e);

/* Serial console capture (ipmi: Serial-over-LAN through libipmiconsole;
 * redfish: the system's SerialConsole.Telnet; libvirt: virDomainOpenConsole;
 * fake: a console that stays silent). A capture is one long-lived session
 * beside the BMC's operations: not serialized with them, no retries, no breaker
 * (the caller reopens with its own backoff). bmc_console_open validates t,
 * connects within the BMC's call timeout (libvirt: its calls take none) and
 * allocates *out (free with bmc_console_close, which accepts NULL).
 * BMC_ERR_UNSUPPORTED when the driver lacks BMC_CAP_CONSOLE or this machine
 * has no console the driver can capture (a Redfish system advertising none, a
 * domain without a pty console), BMC_ERR_NOT_COMPILED when it was built without
 * the library it needs for it. bmc_console_read waits at most wait_ms for bytes:
 * BMC_OK with *got 0 (nothing yet) or > 0; an error means the console ended.
 * One console is used by one thread at a time; different consoles, and
 * operations on the same BMC, may run at once. */
struct bmc_console;
__attribute__((warn_unused_result)) enum bmc_status bmc_console_open(struct bmc_manager *m,
								     const struct bmc_target *t,
								     struct bmc_console **out,
								     struct bmc_error *e);
__attribute__((warn_unused_result)) enum bmc_status bmc_console_read(struct bmc_console *c,
								     char *buf, size_t len,
								     int wait_ms, size_t *got,
								     struct bmc_error *e);
void bmc_console_close(struct bmc_console *c);
/* The driver name of an open console ("ipmi"), for metrics and logs. */
const char *bmc_console_driver(const struct bmc_console *c);

/* Capability bits of a driver by name; 0 for unknown or not compiled in. */
enum bmc_cap {
	BMC_CAP_POWER_GET = 1u << 0,
	BMC_CAP_POWER_SET = 1u << 1,
	BMC_CAP_SOFT_OFF = 1u << 2,
	BMC_CAP_BOOT_NEXT = 1u << 3,	   /* one-time boot device */
	BMC_CAP_BOOT_PERSISTENT = 1u << 4, /* persistent boot device */
	BMC_CAP_VMEDIA = 1u << 5,	   /* virtual media insert/eject */
	BMC_CAP_CONSOLE = 1u << 6,	   /* serial console capture */
	/* A cycle is never seen half-done (the power never reads as the old
	 * "on" before it went off), so its confirmation needs no first pause. */
	BMC_CAP_CYCLE_AT_ONCE = 1u << 7,
};
unsigned bmc_driver_caps(const char *driver);

/* Names: static strings; "?" for values out of range. The *_from_name functions
 * return 0 and set *out, or -1 for an unknown name. One table per enum (names.c). */
const char *bmc_status_name(enum bmc_status s);
const char *bmc_power_state_name(enum bmc_power_state s);
const char *bmc_power_action_name(enum bmc_power_action a);
const char *bmc_boot_device_name(enum bmc_boot_device d);
int bmc_power_action_from_name(const char *s, enum bmc_power_action *out);
int bmc_boot_device_from_name(const char *s, enum bmc_boot_device *out);

/* Calls emit once per Prometheus text line (no trailing newline), HELP and TYPE
 * lines included. The line is valid only during the callback. Thread-safe. */
void bmc_manager_metrics(struct bmc_manager *m, void (*emit)(void *ctx, const char *line),
			 void *ctx);

/* One BMC whose circuit breaker is not closed (bmc_manager_circuits). */
struct bmc_circuit {
	const char *key;       /* the target's key: the machine id */
	bool open;	       /* false: half-open (a trial operation may run) */
	int failures;	       /* consecutive operations that did not reach it */
	long long retry_in_ms; /* open: time until a trial is let through */
};
/* Calls fn once per BMC whose breaker is open or half-open, in no order,
 * with m's lock held: fn must not call into m. c is valid during the call
 * only. Thread-safe. */
void bmc_manager_circuits(struct bmc_manager *m, void (*fn)(void *ctx, const struct bmc_circuit *c),
			  void *ctx);

/* The fake driver's in-memory machine for key, as this manager's fake BMCs see it
 * (for lab simulation and tests). Returns 0, or -1 if no fake operation touched key
 * yet. Any out pointer may be NULL. Thread-safe. */
int bmc_fake_peek(struct bmc_manager *m, const char *key, enum bmc_power_state *power,
		  enum bmc_boot_device *boot, bool *persistent);

#endif
