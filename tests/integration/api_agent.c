/* api_agent.c - the boot plane's protocol spoken by the test itself, as the
 * deploy agent and the deployed OS would, against the real daemon: a fake
 * machine with deploy=pxe is inspected (facts), cleaned (wipe), allocated
 * (write_image) and reports it booted, through every call of the boot
 * listener (script, ramdisk file, lookup, inventory, heartbeat, command,
 * result, booted), then reimaged by a staged rollout whose wave waits for
 * the new OS's booted call, and a discovered machine's session. The harness records each answer, so
 * openapi_responses checks the boot plane's answers against docs/openapi.yaml too; the real agent's
 * run is tests/integration/boot/boot_plane.sh. */
#include "harness.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#define MAC "52:54:00:0a:0e:01"
/* The allocation's user data: reaches the agent, nothing else. */
#define USER_DATA "#cloud-config\nruncmd: [echo ud-5ecret-77f1]\n"
#define UD_MARK "ud-5ecret-77f1"

/* What the scripted machine holds between calls. */
struct agent {
	struct h_daemon *d;
	char machine[H_ID_LEN];
	char session[H_TOKEN_LEN];  /* "" when it has none */
	char instance[H_TOKEN_LEN]; /* from write_image's metadata */
	bool user_data_seen;	    /* write_image's metadata carried USER_DATA */
	bool network_seen;	    /* ...and the machine's static network */
	char image_url[300];	    /* write_image's url */
	int commands;		    /* commands carried out */
};

/* Facts of a lab.small machine (1 core, 512 MiB, one 4 GiB disk, one NIC). */
static const char facts[] =
    "{\"arch\":\"x86_64\",\"boot_mode\":\"bios\",\"cpu\":{\"cores\":1,\"model\":\"QEMU\"},"
    "\"memory_mib\":512,\"disks\":[{\"name\":\"vda\",\"size_bytes\":4294967296,"
    "\"rotational\":false,\"kind\":\"ssd\",\"model\":\"\",\"serial\":\"d1\"}],"
    "\"nics\":[{\"name\":\"eth0\",\"mac\":\"" MAC "\",\"speed_mbps\":-1}],"
    "\"dmi\":{\"vendor\":\"QEMU\",\"product\":\"pc\",\"serial\":\"\",\"uuid\":\"\"}}";

static char ramdisk[256];

static int setup(void **state)
{
	static struct h_daemon d;
	static char ini[400];
	const char *tmp = getenv("TMPDIR");
	snprintf(ramdisk, sizeof ramdisk, "%s/pvd-ramdisk-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(ramdisk))
		return -1;
	char kernel[300];
	snprintf(kernel, sizeof kernel, "%s/vmlinuz", ramdisk);
	FILE *f = fopen(kernel, "w");
	if (!f || fputs("KERNEL", f) < 0 || fclose(f) != 0)
		return -1;
	snprintf(ini, sizeof ini, "[boot]\nramdisk_dir = %s\n", ramdisk);
	*state = &d;
	return h_start(&d, ini);
}

static int teardown(void **state)
{
	char kernel[300];
	snprintf(kernel, sizeof kernel, "%s/vmlinuz", ramdisk);
	unlink(kernel);
	rmdir(ramdisk);
	return h_teardown(state);
}

/* Boots "the machine": the script's boot token buys a session, and the
 * agent reports its facts as it does when it starts. false: no token yet. */
static bool boot(struct agent *ag)
{
	struct h_resp r;
	char tok[H_TOKEN_LEN], mid[H_ID_LEN];
	assert_int_equal(h_boot_get(ag->d, "/boot.ipxe?mac=" MAC, NULL, &r), 200);
	h_script_arg(r.body, "token", tok, sizeof tok);
	h_script_arg(r.body, "machine", mid, sizeof mid);
	h_resp_clear(&r);
	if (!tok[0])
		return false;
	assert_string_equal(mid, ag->machine);
	assert_int_equal(
	    h_boot_request(ag->d, tok, "POST", "/v1/agent/lookup", "{\"macs\":[\"" MAC "\"]}", &r),
	    200);
	assert_string_equal(h_str(&r, "mode"), "agent");
	snprintf(ag->session, sizeof ag->session, "%s", h_str(&r, "token"));
	h_resp_clear(&r);
	assert_int_equal(
	    h_boot_request(ag->d, ag->session, "POST", "/v1/agent/inventory", facts, NULL), 204);
	return true;
}

/* Carries out the command of an answer of GET /v1/agent/command. */
static void run_command(struct agent *ag, json_t *cmd)
{
	const char *name = json_string_value(json_object_get(cmd, "name"));
	const char *id = json_string_value(json_object_get(cmd, "id"));
	assert_non_null(name);
	json_t *meta = json_object_get(json_object_get(cmd, "args"), "metadata");
	const char *inst = json_string_value(json_object_get(meta, "token"));
	if (strcmp(name, "write_image") == 0 && inst) {
		snprintf(ag->instance, sizeof ag->instance, "%s", inst);
		const char *ud = json_string_value(json_object_get(meta, "user_data"));
		ag->user_data_seen = ud && strcmp(ud, USER_DATA) == 0 &&
				     json_is_true(json_object_get(meta, "config_drive"));
		json_t *net = json_object_get(meta, "network");
		const char *addr = json_string_value(json_object_get(net, "address"));
		const char *gw = json_string_value(json_object_get(net, "gateway"));
		json_t *ns = json_object_get(net, "nameservers");
		ag->network_seen = addr && strcmp(addr, "10.79.9.5/24") == 0 && gw &&
				   strcmp(gw, "10.79.9.1") == 0 && json_array_size(ns) == 1;
	}
	const char *url = json_string_value(json_object_get(json_object_get(cmd, "args"), "url"));
	if (strcmp(name, "write_image") == 0 && url)
		snprintf(ag->image_url, sizeof ag->image_url, "%s", url);
	char body[160];
	snprintf(body, sizeof body, "{\"id\":\"%s\",\"ok\":true,\"message\":\"%s done\"}", id,
		 name);
	assert_int_equal(h_boot_request(ag->d, ag->session, "POST", "/v1/agent/result", body, NULL),
			 204);
	ag->commands++;
}

/* One round of the agent: boot if it has no session, heartbeat, and one
 * command poll (1 s). A revoked session (401) means the engine powered the
 * machine off: the next round boots it again. */
static void agent_round(struct agent *ag)
{
	struct h_resp r;
	if (!ag->session[0] && !boot(ag)) {
		h_sleep_ms(100);
		return;
	}
	long s = h_boot_request(ag->d, ag->session, "POST", "/v1/agent/heartbeat",
				"{\"state\":\"idle\"}", NULL);
	if (s == 204)
		s = h_boot_request(ag->d, ag->session, "GET", "/v1/agent/command?wait=1", NULL, &r);
	else
		memset(&r, 0, sizeof r);
	if (s == 200)
		run_command(ag, r.json);
	else if (s == 401)
		ag->session[0] = 0;
	else
		assert_int_equal(s, 204);
	h_resp_clear(&r);
}

/* Plays the machine until it reaches state (or 60 s pass). */
static void agent_until(struct agent *ag, const char *state)
{
	int64_t end = h_now_ms() + 60000;
	while (!h_wait_machine(ag->d, ag->machine, state, 0)) {
		assert_true(h_now_ms() < end);
		agent_round(ag);
	}
}

/* The machine and allocation test_agent_protocol made (for the rollout). */
static struct agent deployed;
static char deployed_alloc[H_ID_LEN];

/* The deployed OS reports it booted (409 until the engine expects it). */
static void report_booted(struct agent *ag)
{
	char body[96];
	snprintf(body, sizeof body, "{\"machine_id\":\"%s\"}", ag->machine);
	int64_t end = h_now_ms() + 60000;
	long s;
	while ((s = h_boot_request(ag->d, ag->instance, "POST", "/v1/agent/booted", body, NULL)) ==
	       409) {
		assert_true(h_now_ms() < end);
		h_sleep_ms(100);
	}
	assert_int_equal(s, 204);
}

static void test_agent_protocol(void **state)
{
	struct h_daemon *d = *state;
	struct agent ag = {.d = d};
	json_t *b =
	    json_pack("{s:s, s:[s], s:{s:s, s:{s:s, s:s}}}", "name", "pxe-1", "macs", MAC, "bmc",
		      "driver", "fake", "options", "sku", "lab.small", "deploy", "pxe");
	struct h_resp r;
	assert_int_equal(h_call(d, d->admin, "POST", "/v1/machines", b, &r), 201);
	snprintf(ag.machine, sizeof ag.machine, "%s", h_str(&r, "id"));
	h_resp_clear(&r);
	/* the ramdisk the script boots, whole and in part */
	assert_int_equal(h_boot_get(d, "/boot/vmlinuz", NULL, &r), 200);
	assert_string_equal(r.body, "KERNEL");
	h_resp_clear(&r);
	const char *part[] = {"Range: bytes=0-1", NULL}, *beyond[] = {"Range: bytes=100-", NULL};
	assert_int_equal(h_boot_get(d, "/boot/vmlinuz", part, &r), 206);
	assert_string_equal(r.body, "KE");
	h_resp_clear(&r);
	assert_int_equal(h_boot_get(d, "/boot/vmlinuz", beyond, NULL), 416);

	agent_until(&ag, "available"); /* inspected by its facts, wiped */
	assert_true(ag.commands >= 1);
	assert_int_equal(h_image(d, "agent-img"), 201);
	char alloc[H_ID_LEN];
	b = json_pack("{s:s, s:i, s:s, s:s, s:{s:s, s:[s], s:s, s:[s]}}", "sku", "lab.small",
		      "count", 1, "image", "agent-img", "user_data", USER_DATA, "network", "mode",
		      "static", "addresses", "10.79.9.5/24", "gateway", "10.79.9.1", "nameservers",
		      "10.79.9.1");
	assert_int_equal(h_call(d, d->admin, "POST", "/v1/allocations", b, &r), 202);
	snprintf(alloc, sizeof alloc, "%s", h_str(&r, "id"));
	assert_null(strstr(r.body, UD_MARK));
	h_resp_clear(&r);
	int64_t end = h_now_ms() + 60000;
	while (!ag.instance[0]) { /* until write_image is done */
		assert_true(h_now_ms() < end);
		agent_round(&ag);
	}
	assert_true(ag.user_data_seen);
	assert_true(ag.network_seen);
	/* the deployed OS: the wrong machine is refused, the right one counts */
	char body[96];
	snprintf(body, sizeof body, "{\"machine_id\":\"%s\"}",
		 "00000000-0000-4000-8000-000000000000");
	assert_int_equal(h_boot_request(d, ag.instance, "POST", "/v1/agent/booted", body, NULL),
			 401);
	report_booted(&ag); /* the engine expects it once the image is written */
	assert_true(h_wait_alloc(d, NULL, alloc, "ready", 60, NULL));
	assert_true(h_wait_machine(d, ag.machine, "active", 10));
	/* user data: in no answer of the management API, not in the log */
	char path[128];
	snprintf(path, sizeof path, "/v1/allocations/%s", alloc);
	const char *reads[] = {path, "/v1/allocations", "/v1/audit"};
	for (size_t i = 0; i < sizeof reads / sizeof reads[0]; i++) {
		long st = h_call(d, d->admin, "GET", reads[i], NULL, &r);
		assert_int_equal(st, 200);
		assert_null(strstr(r.body ? r.body : "", UD_MARK));
		h_resp_clear(&r);
	}
	assert_false(h_file_contains(d->log, UD_MARK));
	deployed = ag;
	snprintf(deployed_alloc, sizeof deployed_alloc, "%s", alloc);
}

/* GET .../rebuild's state and its only machine's state. */
static void rollout_state(struct h_daemon *d, char *st, char *mst)
{
	char path[128];
	struct h_resp r;
	snprintf(path, sizeof path, "/v1/allocations/%s/rebuild", deployed_alloc);
	assert_int_equal(h_call(d, d->admin, "GET", path, NULL, &r), 200);
	json_t *w = json_array_get(json_object_get(r.json, "waves"), 0);
	json_t *m = json_array_get(json_object_get(w, "machines"), 0);
	snprintf(st, 32, "%s", h_str(&r, "state"));
	snprintf(mst, 32, "%s", json_string_value(json_object_get(m, "state")));
	h_resp_clear(&r);
}

/* A staged rollout over the pxe deploy interface: the machine boots the
 * agent again, gets the new image, and its wave is done only once the
 * deployed OS reported it booted (docs/allocations.md, "Staged rollouts"). */
static void test_rollout_waits_for_booted(void **state)
{
	struct h_daemon *d = *state;
	struct agent *ag = &deployed;
	char path[128], st[32], mst[32];
	assert_true(ag->machine[0]);
	assert_int_equal(h_image(d, "agent-img-2"), 201);
	snprintf(path, sizeof path, "/v1/allocations/%s/rebuild", deployed_alloc);
	const char *body = "{\"image\":\"agent-img-2\",\"waves\":[\"100%\"]}";
	assert_int_equal(h_request(d, d->admin, "POST", path, body, strlen(body), NULL, NULL), 202);
	ag->instance[0] = 0;
	int64_t end = h_now_ms() + 60000;
	while (!ag->instance[0]) { /* the old session is gone: it boots again */
		assert_true(h_now_ms() < end);
		agent_round(ag);
	}
	assert_non_null(strstr(ag->image_url, "/images/agent-img-2"));
	/* written, not booted: the wave waits (two passes of the engine) */
	h_sleep_ms(2500);
	rollout_state(d, st, mst);
	assert_string_equal(st, "running");
	assert_string_equal(mst, "reimaging");
	report_booted(ag);
	for (end = h_now_ms() + 30000; strcmp(st, "completed") != 0; h_sleep_ms(100)) {
		assert_true(h_now_ms() < end);
		rollout_state(d, st, mst);
	}
	assert_string_equal(mst, "done");
	assert_true(h_wait_machine(d, ag->machine, "active", 10));
}

/* An unknown MAC discovers itself: a session in discover mode, and no
 * command for it (204 when the poll's wait runs out). */
static void test_discovery(void **state)
{
	struct h_daemon *d = *state;
	struct h_resp r;
	assert_int_equal(h_boot_request(d, NULL, "POST", "/v1/agent/lookup",
					"{\"macs\":[\"52:54:00:0a:0e:02\"]}", &r),
			 200);
	assert_string_equal(h_str(&r, "mode"), "discover");
	char tok[H_TOKEN_LEN];
	snprintf(tok, sizeof tok, "%s", h_str(&r, "token"));
	h_resp_clear(&r);
	assert_int_equal(h_boot_request(d, tok, "GET", "/v1/agent/command?wait=0", NULL, NULL),
			 204);
	assert_int_equal(h_boot_request(d, NULL, "GET", "/v1/agent/command", NULL, NULL), 401);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_agent_protocol),
	    cmocka_unit_test(test_rollout_waits_for_booted),
	    cmocka_unit_test(test_discovery),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
