/*
 * protocol.h — the names on the wire between provisiond's boot listener and
 * the deploy agent (docs/agent-protocol.md is the contract; this header is
 * how both sides spell it).
 *
 * Included by the agent (images/agent/), by provisiond's boot-plane handlers
 * (provisiond/api_agent.c, api_boot.c), by the engine that queues commands
 * (provisiond/lifecycle/deploy_pxe.c) and by the iPXE script renderer
 * (pxe/script.c), which writes the agent's kernel command line. The agent
 * shares no code with the daemon: this header holds macros and one
 * compile-time check, no functions, and includes nothing, so either side
 * can include it anywhere.
 *
 * Naming: AGENT_PATH_* are paths, AGENT_<CALL>_<FIELD> the JSON keys of one
 * call's bodies, and a value a field may take is the field's macro name
 * plus the value (AGENT_HB_STATE_IDLE is a value of AGENT_HB_STATE). String
 * macros are literals, so they concatenate: AGENT_KARG_PREFIX
 * AGENT_KARG_URL is "provisiond.url". Renaming a value here changes the
 * protocol: the docs and an agent already in a ramdisk would disagree, so
 * change the docs with it and mind old ramdisks.
 */
#ifndef PROVISIOND_AGENT_PROTOCOL_H
#define PROVISIOND_AGENT_PROTOCOL_H

/* ---- paths on the boot listener --------------------------------------- */

#define AGENT_PATH_LOOKUP "/v1/agent/lookup"
#define AGENT_PATH_INVENTORY "/v1/agent/inventory"
#define AGENT_PATH_COMMAND "/v1/agent/command" /* GET, ?wait=SECONDS */
#define AGENT_PATH_HEARTBEAT "/v1/agent/heartbeat"
#define AGENT_PATH_RESULT "/v1/agent/result"
#define AGENT_PATH_BOOTED "/v1/agent/booted" /* called by the deployed OS */
#define AGENT_ARG_WAIT "wait"		     /* query parameter of AGENT_PATH_COMMAND */

/* ---- timing both sides rely on ------------------------------------------ */

/* Heartbeat period: the daemon puts it on the kernel command line and in
 * the lookup reply (which wins); the agent uses it when neither says. */
#define AGENT_HEARTBEAT_DEFAULT_S 10
#define AGENT_HEARTBEAT_MIN_S 1
#define AGENT_HEARTBEAT_MAX_S 3600
/* The agent spreads heartbeats by ±this percentage of the period. */
#define AGENT_HEARTBEAT_JITTER_PCT 20
/* The daemon reuses an agent heard from within this window instead of
 * rebooting the machine; a healthy agent calls at least once per jittered
 * heartbeat period, so the window must be longer. */
#define AGENT_ALIVE_S 30
_Static_assert(AGENT_ALIVE_S * 100 > AGENT_HEARTBEAT_DEFAULT_S * (100 + AGENT_HEARTBEAT_JITTER_PCT),
	       "an agent on the default heartbeat must count as alive between two heartbeats");
/* Longest long-poll of AGENT_PATH_COMMAND: the daemon clamps `wait` to it
 * (negative or larger means this); the agent asks for it by default. */
#define AGENT_COMMAND_WAIT_MAX_S 30

/* ---- sizes -------------------------------------------------------------- */

#define AGENT_MAX_LOOKUP_MACS 8		 /* MACs in one lookup body */
#define AGENT_MAX_RESULT_MESSAGE 500	 /* bytes of a result message */
#define AGENT_MAX_HEARTBEAT_MESSAGE 1000 /* bytes of a heartbeat message */

/* ---- kernel command line (pxe/script.c writes, the agent reads) ---------- */

#define AGENT_KARG_PREFIX "provisiond."
#define AGENT_KARG_URL "url"		 /* boot listener base URL */
#define AGENT_KARG_MODE "mode"		 /* AGENT_MODE_NAME_* */
#define AGENT_KARG_MACHINE "machine"	 /* machine id (agent mode) */
#define AGENT_KARG_TOKEN "token"	 /* one-time boot token (agent mode) */
#define AGENT_KARG_HEARTBEAT "heartbeat" /* seconds */
#define AGENT_KARG_SHELL "shell"	 /* read by the ramdisk's /init only */

/* Values of AGENT_KARG_MODE and of the lookup reply's "mode". */
#define AGENT_MODE_NAME_AGENT "agent"
#define AGENT_MODE_NAME_DISCOVER "discover"

/* ---- JSON bodies, per call ------------------------------------------------ */

/* POST AGENT_PATH_LOOKUP: request, then reply. */
#define AGENT_LOOKUP_MACS "macs"
#define AGENT_LOOKUP_MACHINE_ID "machine_id"
#define AGENT_LOOKUP_NAME "name"
#define AGENT_LOOKUP_TOKEN "token" /* the session token */
#define AGENT_LOOKUP_HEARTBEAT_S "heartbeat_s"
#define AGENT_LOOKUP_MODE "mode" /* AGENT_MODE_NAME_* */

/* POST AGENT_PATH_HEARTBEAT. */
#define AGENT_HB_STATE "state" /* AGENT_HB_STATE_* */
#define AGENT_HB_COMMAND_ID "command_id"
#define AGENT_HB_PROGRESS "progress" /* {"bytes":N,"total":N} or null */
#define AGENT_HB_BYTES "bytes"
#define AGENT_HB_TOTAL "total"
#define AGENT_HB_MESSAGE "message" /* with AGENT_HB_STATE_ERROR: why the agent gave up */
#define AGENT_HB_STATE_IDLE "idle"
#define AGENT_HB_STATE_BUSY "busy"
#define AGENT_HB_STATE_ERROR "error"

/* GET AGENT_PATH_COMMAND reply. */
#define AGENT_CMD_ID "id"
#define AGENT_CMD_NAME "name" /* AGENT_CMD_NAME_* */
#define AGENT_CMD_ARGS "args"

#define AGENT_CMD_NAME_WIPE "wipe"
#define AGENT_CMD_NAME_WRITE_IMAGE "write_image"
#define AGENT_CMD_NAME_REBOOT "reboot"
#define AGENT_CMD_NAME_POWEROFF "poweroff"

/* wipe args. */
#define AGENT_WIPE_FULL "full"

/* write_image args. */
#define AGENT_IMAGE_URL "url"
#define AGENT_IMAGE_FORMAT "format" /* AGENT_IMAGE_FORMAT_* */
#define AGENT_IMAGE_SHA256 "sha256"
#define AGENT_IMAGE_SIZE "size"
#define AGENT_IMAGE_DEVICE "device"
#define AGENT_IMAGE_METADATA "metadata" /* AGENT_META_* object */
#define AGENT_IMAGE_FORMAT_RAW "raw"
#define AGENT_IMAGE_FORMAT_RAW_ZST "raw.zst"

/* write_image metadata: written to the disk by the agent, read back by the
 * deployed OS's `provisiond-agent booted`. */
#define AGENT_META_MACHINE_ID "machine_id"
#define AGENT_META_ALLOCATION_ID "allocation_id"
#define AGENT_META_HOSTNAME "hostname"
#define AGENT_META_API_URL "api_url"
#define AGENT_META_TOKEN "token" /* the one-time instance token */
#define AGENT_META_SSH_KEYS "ssh_keys"
#define AGENT_META_USER_DATA "user_data"       /* cloud-init user data text, optional */
#define AGENT_META_CONFIG_DRIVE "config_drive" /* true: write a config drive */
/* The machine's static network, optional (absent: DHCP on the boot NIC):
 * {"address": "10.0.0.5/24" (IPv4 or IPv6, with its prefix length),
 *  "gateway": "10.0.0.1" (optional), "nameservers": ["10.0.0.1", ...]} */
#define AGENT_META_NETWORK "network"
#define AGENT_NET_ADDRESS "address"
#define AGENT_NET_GATEWAY "gateway"
#define AGENT_NET_NAMESERVERS "nameservers"

/* POST AGENT_PATH_RESULT. */
#define AGENT_RESULT_ID "id"
#define AGENT_RESULT_OK "ok"
#define AGENT_RESULT_MESSAGE "message"
#define AGENT_RESULT_DETAILS "details"

/* POST AGENT_PATH_BOOTED. */
#define AGENT_BOOTED_MACHINE_ID "machine_id"

#endif
