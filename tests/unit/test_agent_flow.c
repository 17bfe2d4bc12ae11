/* test_agent_flow.c — the agent's whole conversation (docs/agent-protocol.md)
 * against an in-process fake boot listener on 127.0.0.1: lookup, inventory,
 * heartbeats, commands, results, resumed downloads, failure reports, the
 * discovery mode and `booted`. */
#include "agent.h"
#include "agent_fixtures/fakesrv.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

char *tu_tempdir(void);
void tu_rmtree(const char *dir);
char *tu_path(const char *dir, const char *name);
unsigned char *tu_read_file(const char *path, size_t *len);
int tu_make_disk(const char *path, size_t size, unsigned char fill);
void tu_fill_pattern(unsigned char *buf, size_t len, unsigned seed);
void tu_sha256_hex(const void *data, size_t len, char hex[65]);

#define MIB (1024 * 1024)
#define IMG_SIZE (2 * MIB + 777)

struct flow {
	struct fakesrv srv;
	struct agent_config cfg;
	char *dir, *vda, *vdb;
	unsigned char *img;
	unsigned char *zimg;
	size_t zlen;
	char sha[65];
};

static int setup(void **state)
{
	struct flow *f = calloc(1, sizeof(*f));
	f->dir = tu_tempdir();
	f->vda = tu_path(f->dir, "vda");
	f->vdb = tu_path(f->dir, "vdb");
	assert_int_equal(tu_make_disk(f->vda, 16 * MIB, 0x33), 0);
	assert_int_equal(tu_make_disk(f->vdb, 4 * MIB, 0x44), 0);
	f->img = malloc(IMG_SIZE);
	tu_fill_pattern(f->img, IMG_SIZE, 3);
	tu_sha256_hex(f->img, IMG_SIZE, f->sha);
	size_t cap = ZSTD_compressBound(IMG_SIZE);
	f->zimg = malloc(cap);
	f->zlen = ZSTD_compress(f->zimg, cap, f->img, IMG_SIZE, 1);
	assert_false(ZSTD_isError(f->zlen));
	f->srv.boot_token = "boot-tok-1";
	f->srv.session_token = "sess-1";
	f->srv.lookup_status = 200;
	f->srv.image = f->zimg;
	f->srv.image_len = f->zlen;
	f->srv.commands = json_array();
	assert_int_equal(agent_config_init(&f->cfg, NULL), AGENT_OK);
	agent_set_str(&f->cfg.sysroot, AGENT_FIXTURES "/qemu-vm", NULL);
	agent_set_str(&f->cfg.devroot, f->dir, NULL);
	agent_set_str(&f->cfg.token, "boot-tok-1", NULL);
	f->cfg.no_power = true;
	f->cfg.poll_wait_s = 2;
	f->cfg.retry_base_s = 0.02;
	f->cfg.retry_cap_s = 0.2;
	f->cfg.retry_max_s = 20;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct flow *f = *state;
	fakesrv_stop(&f->srv);
	agent_config_free(&f->cfg);
	tu_rmtree(f->dir);
	free(f->dir), free(f->vda), free(f->vdb), free(f->img), free(f->zimg);
	free(f);
	return 0;
}

static void start(struct flow *f)
{
	assert_int_equal(fakesrv_start(&f->srv), 0);
	agent_set_str(&f->cfg.url, f->srv.url, NULL);
}

static void add_command(struct flow *f, const char *id, const char *name, json_t *args)
{
	json_array_append_new(f->srv.commands, json_pack("{s:s, s:s, s:o}", "id", id, "name", name,
							 "args", args ? args : json_object()));
}

static json_t *image_args(struct flow *f, const char *sha)
{
	char url[128];
	snprintf(url, sizeof(url), "%s/img", f->srv.url);
	return json_pack("{s:s, s:s, s:s, s:I, s:s, s:{s:s, s:s, s:s, s:s, s:s, s:[]}}", "url", url,
			 "format", "raw.zst", "sha256", sha, "size", (json_int_t)IMG_SIZE, "device",
			 "/dev/vda", "metadata", "machine_id", "m-1", "allocation_id", "alloc-7",
			 "hostname", "web-1", "api_url", f->srv.url, "token", "inst-tok",
			 "ssh_keys");
}

static json_t *result(struct flow *f, size_t i)
{
	return json_array_get(f->srv.results, i);
}

static void assert_result(struct flow *f, size_t i, const char *id, bool ok, const char *part)
{
	json_t *r = result(f, i);
	assert_non_null(r);
	assert_string_equal(json_string_value(json_object_get(r, "id")), id);
	assert_int_equal(json_is_true(json_object_get(r, "ok")), ok);
	const char *msg = json_string_value(json_object_get(r, "message"));
	assert_non_null(msg);
	if (part && !strstr(msg, part))
		fail_msg("result %s: message '%s' lacks '%s'", id, msg, part);
}

static void test_deploy_flow(void **state)
{
	struct flow *f = *state;
	f->srv.inventory_fail = 1; /* one 503: retried */
	f->srv.drop_after = 100 * 1024;
	f->srv.drops_left = 1; /* first download drops: resumed with Range */
	start(f);
	add_command(f, "c1", "wipe", json_pack("{s:b}", "full", 0));
	add_command(f, "c2", "write_image", image_args(f, f->sha));
	add_command(f, "c3", "poweroff", NULL);
	struct agent_err err = {0};
	enum agent_rc rc = agent_run(&f->cfg, &err);
	if (rc)
		fail_msg("agent_run: %s", err.msg);
	assert_string_equal(f->srv.lookup_auth, "Bearer boot-tok-1");
	json_t *want_macs = json_pack("{s:[s]}", "macs", "52:54:00:12:34:56");
	assert_true(json_equal(want_macs, f->srv.lookup_body));
	json_decref(want_macs);
	assert_int_equal(json_array_size(f->srv.inventories), 1);
	json_t *inv = json_array_get(f->srv.inventories, 0);
	assert_int_equal(json_integer_value(json_object_get(inv, "memory_mib")), 1024);
	assert_int_equal(json_array_size(json_object_get(inv, "disks")), 2);
	assert_int_equal(f->srv.last_wait, 2);
	assert_true(json_array_size(f->srv.heartbeats) >= 1);
	json_t *hb = json_array_get(f->srv.heartbeats, 0);
	assert_string_equal(json_string_value(json_object_get(hb, "state")), "idle");
	assert_true(json_is_null(json_object_get(hb, "command_id")));

	assert_int_equal(json_array_size(f->srv.results), 3);
	assert_result(f, 0, "c1", true, "wipe");
	assert_result(f, 1, "c2", true, "write_image");
	assert_result(f, 2, "c3", true, NULL);
	json_t *d = json_object_get(result(f, 1), "details");
	assert_string_equal(json_string_value(json_object_get(d, "sha256")), f->sha);
	assert_int_equal(json_integer_value(json_object_get(d, "bytes")), IMG_SIZE);
	assert_true(json_number_value(json_object_get(d, "bytes_per_sec")) > 0);
	json_t *wd = json_object_get(result(f, 0), "details");
	assert_int_equal(json_array_size(json_object_get(wd, "disks")), 2);

	assert_int_equal(f->srv.image_requests, 2);
	assert_int_equal(json_array_size(f->srv.ranges), 1);
	char want_range[64];
	snprintf(want_range, sizeof(want_range), "bytes=%d-", 100 * 1024);
	assert_string_equal(json_string_value(json_array_get(f->srv.ranges, 0)), want_range);

	size_t len = 0;
	unsigned char *disk = tu_read_file(f->vda, &len);
	assert_memory_equal(disk, f->img, IMG_SIZE);
	free(disk);
	disk = tu_read_file(f->vdb, &len);
	for (size_t i = 0; i < MIB; i++)
		assert_int_equal(disk[i], 0); /* wiped */
	assert_int_equal(disk[2 * MIB], 0x44);
	free(disk);
	json_t *meta = NULL;
	assert_int_equal(agent_meta_read(f->vda, &meta, NULL), AGENT_OK);
	assert_string_equal(json_string_value(json_object_get(meta, "allocation_id")), "alloc-7");
	json_decref(meta);
}

static void test_resume_when_range_ignored(void **state)
{
	struct flow *f = *state;
	f->srv.drop_after = 300 * 1024;
	f->srv.drops_left = 2;
	f->srv.ignore_range = true;
	start(f);
	add_command(f, "w", "write_image", image_args(f, f->sha));
	add_command(f, "r", "reboot", NULL);
	struct agent_err err = {0};
	if (agent_run(&f->cfg, &err))
		fail_msg("agent_run: %s", err.msg);
	assert_result(f, 0, "w", true, NULL);
	assert_int_equal(f->srv.image_requests, 3);
	size_t len = 0;
	unsigned char *disk = tu_read_file(f->vda, &len);
	assert_memory_equal(disk, f->img, IMG_SIZE);
	free(disk);
}

static void test_failures_are_reported(void **state)
{
	struct flow *f = *state;
	start(f);
	char bad[65];
	memcpy(bad, f->sha, sizeof(bad));
	bad[10] = bad[10] == 'a' ? 'b' : 'a';
	add_command(f, "bad-hash", "write_image", image_args(f, bad));
	add_command(f, "odd", "dance", NULL);
	json_t *missing =
	    json_pack("{s:s, s:s}", "url", "http://127.0.0.1:1/none", "sha256", f->sha);
	add_command(f, "no-url", "write_image", missing);
	add_command(f, "bad-wipe", "wipe", json_pack("{s:s}", "full", "yes"));
	add_command(f, "stale", "wipe", NULL); /* its result gets 409: carry on */
	f->srv.result_409_id = "stale";
	add_command(f, "bye", "reboot", NULL);
	f->cfg.retry_max_s = 1;
	struct agent_err err = {0};
	if (agent_run(&f->cfg, &err))
		fail_msg("agent_run: %s", err.msg);
	assert_int_equal(json_array_size(f->srv.results), 5);
	assert_result(f, 0, "bad-hash", false, "sha256 mismatch");
	assert_result(f, 1, "odd", false, "unknown command 'dance'");
	assert_result(f, 2, "no-url", false, "127.0.0.1:1");
	assert_result(f, 3, "bad-wipe", false, "must be a boolean");
	assert_result(f, 4, "bye", true, NULL);
}

static void test_poll_refused_reports_error(void **state)
{
	struct flow *f = *state;
	f->srv.poll_status = 401;
	start(f);
	struct agent_err err = {0};
	assert_int_equal(agent_run(&f->cfg, &err), AGENT_E_HTTP);
	assert_non_null(strstr(err.msg, "session revoked"));
	size_t n = json_array_size(f->srv.heartbeats);
	assert_true(n >= 1);
	json_t *last = json_array_get(f->srv.heartbeats, n - 1);
	assert_string_equal(json_string_value(json_object_get(last, "state")), "error");
	assert_non_null(strstr(json_string_value(json_object_get(last, "message")), "401"));
}

static void test_discovery_and_refusals(void **state)
{
	struct flow *f = *state;
	f->srv.boot_token = NULL;
	f->srv.lookup_status = 403;
	start(f);
	f->cfg.mode = AGENT_MODE_DISCOVER;
	agent_set_str(&f->cfg.token, NULL, NULL);
	struct agent_err err = {0};
	assert_int_equal(agent_run(&f->cfg, &err), AGENT_E_HTTP);
	assert_non_null(strstr(err.msg, "HTTP 403"));
	assert_non_null(strstr(err.msg, "lookup refused by test"));
	assert_null(f->srv.lookup_auth); /* discovery sends no token */
	f->srv.lookup_status = 200;
	f->cfg.mode = AGENT_MODE_AGENT;
	agent_set_str(&f->cfg.token, "stale-token", NULL);
	f->srv.boot_token = "boot-tok-1";
	assert_int_equal(agent_run(&f->cfg, &err), AGENT_E_HTTP);
	assert_non_null(strstr(err.msg, "HTTP 401"));
}

static void test_network_down_gives_up(void **state)
{
	struct flow *f = *state;
	agent_set_str(&f->cfg.url, "http://127.0.0.1:1", NULL);
	f->cfg.retry_max_s = 1;
	struct agent_err err = {0};
	double t0 = agent_now();
	assert_int_equal(agent_run(&f->cfg, &err), AGENT_E_NET);
	assert_true(agent_now() - t0 >= 0.9);
	assert_non_null(strstr(err.msg, "giving up"));
}

static void test_booted(void **state)
{
	struct flow *f = *state;
	start(f);
	json_t *meta = json_pack("{s:s, s:s, s:s, s:s}", "machine_id", "m-1", "allocation_id",
				 "alloc-7", "api_url", f->srv.url, "token", "inst-tok");
	int fd = open(f->vdb, O_RDWR);
	assert_int_equal(agent_meta_write(fd, 4 * MIB, meta, NULL), AGENT_OK);
	close(fd);
	json_decref(meta);
	char *out = NULL;
	size_t outlen = 0;
	FILE *console = open_memstream(&out, &outlen);
	struct agent_err err = {0};
	if (agent_booted(&f->cfg, console, &err)) /* searches vda (none), then vdb */
		fail_msg("booted: %s", err.msg);
	fclose(console);
	assert_string_equal(out, "PROVISIOND-BOOTED allocation=alloc-7 machine=m-1\n");
	free(out);
	assert_string_equal(f->srv.booted_auth, "Bearer inst-tok");
	json_t *want = json_pack("{s:s}", "machine_id", "m-1");
	assert_true(json_equal(want, f->srv.booted));
	json_decref(want);
	/* No metadata anywhere: a clear error. */
	tu_make_disk(f->vdb, 4 * MIB, 0);
	console = open_memstream(&out, &outlen);
	assert_int_equal(agent_booted(&f->cfg, console, &err), AGENT_E_IO);
	fclose(console);
	free(out);
	assert_non_null(strstr(err.msg, "no disk under"));
}

int main(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_deploy_flow, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_resume_when_range_ignored, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_failures_are_reported, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_poll_refused_reports_error, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_discovery_and_refusals, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_network_down_gives_up, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_booted, setup, teardown),
	};
	int rc = cmocka_run_group_tests_name("agent_flow", tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
