/* config.h - provisiond's INI configuration (every option in docs/config.md).
 *
 * config_defaults() fills defaults; config_load() overlays a file. The
 * struct owns its strings (fixed buffers): no free needed. Not thread-safe
 * on one struct; read-only after start. */
#ifndef PROVISIOND_CONFIG_H
#define PROVISIOND_CONFIG_H

#include "util/util.h"

#include <stdbool.h>
#include <stddef.h>

struct config {
	/* [server] */
	char listen[128];      /* management API host:port */
	char boot_listen[128]; /* boot/agent plane host:port ("" = off) */
	char boot_url[256];    /* URL machines use to reach the boot listener;
				* "" = http://BOOT_LISTEN with the bound port */
	char boot_netns[64];   /* open the boot listener in this network namespace */
	int http_threads;
	int api_workers;
	int boot_workers;     /* boot listener handler threads (agent long-polls hold one) */
	int max_queue;	      /* queued API requests before 503 overloaded */
	int token_rate_per_s; /* API requests per token per second (0: no limit) */
	int token_burst;      /* ... of which this many at once */
	int connection_limit;
	int client_connection_limit; /* per client address */
	int request_timeout_s;	     /* silent connections close after this */
	int long_poll_max_s;
	int max_streams; /* event streams (GET /v1/stream) open at once */
	/* [database] */
	char db_path[512];
	char key_file[512]; /* seals BMC passwords; "" = <db_path>.key */
	/* [catalog] */
	char skus_dir[512];
	/* [auth] */
	char admin_token_file[512];
	/* [lifecycle] */
	int lc_workers;
	int lc_max_per_rack;
	int verify_timeout_s, inspect_timeout_s, clean_timeout_s, deploy_timeout_s;
	int release_timeout_s;
	int max_attempts;
	int backoff_base_ms, backoff_max_ms;
	int max_substitutions;
	int max_concurrent_deploys;
	int warm_max_s; /* a warm-pool machine powers off after this long */
	/* an agent or deployed OS that has not called in this long after its
	 * boot fails the attempt (0: only the state's deadline) */
	int agent_boot_timeout_s;
	/* [bmc] */
	int bmc_call_timeout_ms, bmc_max_concurrent, bmc_retries, bmc_breaker_threshold;
	int bmc_breaker_cooldown_ms, bmc_confirm_timeout_ms;
	/* [console] serial console capture */
	int console_buffer_kib;	  /* kept per machine */
	int console_max_sessions; /* captures at once; 0: off */
	int console_max_buffers;  /* machines whose buffer is kept */
	/* [boot] */
	char unknown_mac_policy[16]; /* discover | ignore */
	int discovery_max;	     /* discovered machines waiting for a tech */
	int discovery_rate_per_min;  /* tokenless lookups per client address */
	int discovery_ttl_s;	     /* discovered machines nobody enrolls expire */
	char ramdisk_dir[512];
	char images_dir[512];
	char vmedia_dir[512]; /* per-boot ISOs of virtual-media deploys */
	char kernel_args[256];
	/* [dnsmasq] provisiond-supervised DHCP/TFTP (mode off: operator-run) */
	char dnsmasq_mode[16]; /* off | full | proxy */
	char dnsmasq_interface[32];
	char dnsmasq_netns[64];
	char dnsmasq_range_start[32], dnsmasq_range_end[32], dnsmasq_netmask[32];
	char dnsmasq_network[32]; /* proxy mode: the subnet's network address */
	char dnsmasq_lease_time[16];
	char dnsmasq_dir[512];
	int dnsmasq_ipv6_ra;
	/* [replica] several provisiond processes on one database */
	char replica_name[64];	/* "" = HOSTNAME:PORT of listen as configured */
	char replica_roles[64]; /* api, boot, engine (config_roles) */
	int replica_heartbeat_s, replica_takeover_s;
	/* [log] */
	char log_level[16];
};

void config_defaults(struct config *c);
/* Overlays the INI file at path onto c. ERR_OK, or the first problem in e
 * (may be NULL) with message "file:line: message" and, when it concerns an
 * option, field "section.key":
 *   ERR_INVALID  an unknown section or key, a bad or too long value, a
 *                syntax error (no field), or options that contradict each
 *                other (the line of the option that set it);
 *   ERR_IO       the file cannot be read (line 0).
 * On error c may hold some of the file's values. */
/* The roles of a [replica] roles list: CONFIG_ROLE_* bits, -1 when a name
 * is unknown or the list is empty. */
#define CONFIG_ROLE_API 1
#define CONFIG_ROLE_BOOT 2
#define CONFIG_ROLE_ENGINE 4
int config_roles(const char *list);
enum err_status config_load(struct config *c, const char *path, struct err *e);
/* As config_load, but reports every problem ("file:line: message", field
 * "section.key") to report instead of stopping at the first; returns how
 * many there were (0: the file is good). c holds what could be read. */
int config_check(struct config *c, const char *path, void (*report)(void *ctx, const struct err *e),
		 void *ctx);

/* One INI setting as config.c's table declares it, for the generated
 * provisiond.ini(5) and the check that docs/config.md lists every setting.
 * Plain data: nothing to free. */
struct config_setting {
	const char *section, *key; /* static strings */
	bool is_int;
	long min, max;	 /* is_int only */
	char value[512]; /* its value in the struct given (text) */
};
/* How many settings there are; config_setting_at() fills *out with
 * setting i (0 <= i < count, in the table's order) and its value in c. */
size_t config_setting_count(void);
void config_setting_at(size_t i, const struct config *c, struct config_setting *out);

#endif
