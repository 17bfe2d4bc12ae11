/* test_agent_image.c — write_image from file:// URLs into regular files
 * standing for disks: raw, zstd, hash mismatch, truncation, sizing. */
#include "agent.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

char *tu_tempdir(void);
void tu_rmtree(const char *dir);
char *tu_path(const char *dir, const char *name);
int tu_write_file(const char *path, const void *data, size_t len);
unsigned char *tu_read_file(const char *path, size_t *len);
int tu_make_disk(const char *path, size_t size, unsigned char fill);
void tu_fill_pattern(unsigned char *buf, size_t len, unsigned seed);
void tu_sha256_hex(const void *data, size_t len, char hex[65]);
char *tu_file_url(const char *path);

#define IMG_SIZE (3 * 1024 * 1024 + 12345)
#define DISK_SIZE (8 * 1024 * 1024)

struct fx {
	char *dir, *raw, *zst, *disk;
	unsigned char *img;
	size_t zlen;
	char sha[65];
	struct agent_config cfg;
	struct agent_client client;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	f->dir = tu_tempdir();
	f->raw = tu_path(f->dir, "image.raw");
	f->zst = tu_path(f->dir, "image.raw.zst");
	f->disk = tu_path(f->dir, "disk");
	f->img = malloc(IMG_SIZE);
	tu_fill_pattern(f->img, IMG_SIZE, 7);
	tu_sha256_hex(f->img, IMG_SIZE, f->sha);
	assert_int_equal(tu_write_file(f->raw, f->img, IMG_SIZE), 0);
	size_t cap = ZSTD_compressBound(IMG_SIZE);
	void *z = malloc(cap);
	f->zlen = ZSTD_compress(z, cap, f->img, IMG_SIZE, 3);
	assert_false(ZSTD_isError(f->zlen));
	assert_int_equal(tu_write_file(f->zst, z, f->zlen), 0);
	free(z);
	assert_int_equal(tu_make_disk(f->disk, DISK_SIZE, 0x55), 0);
	assert_int_equal(agent_config_init(&f->cfg, NULL), AGENT_OK);
	f->cfg.retry_max_s = 0;
	assert_int_equal(agent_client_init(&f->client, &f->cfg, "http://unused", NULL, NULL),
			 AGENT_OK);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	agent_client_free(&f->client);
	agent_config_free(&f->cfg);
	tu_rmtree(f->dir);
	free(f->dir), free(f->raw), free(f->zst), free(f->disk), free(f->img);
	free(f);
	return 0;
}

/* Runs write_image with args built from a JSON template. */
static enum agent_rc run_write(struct fx *f, json_t *args, json_t **details, struct agent_err *err)
{
	struct agent_image_args a;
	struct agent_progress progress = {0};
	*details = NULL;
	enum agent_rc rc = agent_image_args_parse(args, &f->cfg, &a, err);
	if (rc == AGENT_OK)
		rc = agent_image_write(&f->client, &a, &progress, details, err);
	if (rc == AGENT_OK)
		assert_int_equal(atomic_load(&progress.bytes), IMG_SIZE);
	agent_image_args_free(&a);
	json_decref(args);
	return rc;
}

static json_t *args_for(const char *src, const char *format, const char *sha, const char *disk)
{
	char *url = tu_file_url(src);
	json_t *a = json_pack("{s:s, s:s, s:s, s:s}", "url", url, "format", format, "sha256", sha,
			      "device", disk);
	free(url);
	return a;
}

static void assert_disk_holds_image(struct fx *f)
{
	size_t len = 0;
	unsigned char *d = tu_read_file(f->disk, &len);
	assert_int_equal(len, DISK_SIZE);
	assert_memory_equal(d, f->img, IMG_SIZE);
	assert_int_equal(d[IMG_SIZE], 0x55); /* nothing written past the image */
	free(d);
}

static void test_write_raw(void **state)
{
	struct fx *f = *state;
	json_t *args = args_for(f->raw, "raw", f->sha, f->disk);
	json_object_set_new(args, "size", json_integer(IMG_SIZE));
	json_t *details = NULL;
	struct agent_err err = {0};
	assert_int_equal(run_write(f, args, &details, &err), AGENT_OK);
	assert_disk_holds_image(f);
	assert_int_equal(json_integer_value(json_object_get(details, "bytes")), IMG_SIZE);
	assert_string_equal(json_string_value(json_object_get(details, "sha256")), f->sha);
	assert_true(json_number_value(json_object_get(details, "bytes_per_sec")) > 0);
	assert_true(json_is_real(json_object_get(details, "seconds")));
	json_decref(details);
}

static void test_write_zstd(void **state)
{
	struct fx *f = *state;
	json_t *details = NULL;
	struct agent_err err = {0};
	assert_int_equal(run_write(f, args_for(f->zst, "raw.zst", f->sha, f->disk), &details, &err),
			 AGENT_OK);
	assert_disk_holds_image(f);
	assert_int_equal(json_integer_value(json_object_get(details, "downloaded_bytes")), f->zlen);
	json_decref(details);
}

/* A frame whose end falls exactly on the decoder's output buffer size, and
 * two concatenated frames (what `zstd` writes for concatenated inputs). */
static void test_zstd_frame_boundaries(void **state)
{
	struct fx *f = *state;
	size_t n = 8 * ZSTD_DStreamOutSize();
	size_t cap = 2 * ZSTD_compressBound(n);
	unsigned char *z = malloc(cap);
	size_t a = ZSTD_compress(z, cap, f->img, n, 1);
	assert_false(ZSTD_isError(a));
	char sha[65];
	tu_sha256_hex(f->img, n, sha);
	char *src = tu_path(f->dir, "exact.zst");
	assert_int_equal(tu_write_file(src, z, a), 0);
	json_t *details = NULL;
	struct agent_err err = {0};
	struct agent_image_args args;
	json_t *j = args_for(src, "raw.zst", sha, f->disk);
	assert_int_equal(agent_image_args_parse(j, &f->cfg, &args, &err), AGENT_OK);
	if (agent_image_write(&f->client, &args, NULL, &details, &err))
		fail_msg("exact frame: %s", err.msg);
	json_decref(details);
	agent_image_args_free(&args);
	json_decref(j);
	size_t b = ZSTD_compress(z + a, cap - a, f->img + n, IMG_SIZE - n, 1);
	assert_false(ZSTD_isError(b));
	assert_int_equal(tu_write_file(src, z, a + b), 0);
	assert_int_equal(run_write(f, args_for(src, "raw.zst", f->sha, f->disk), &details, &err),
			 AGENT_OK);
	json_decref(details);
	assert_disk_holds_image(f);
	free(src);
	free(z);
}

static void test_hash_mismatch(void **state)
{
	struct fx *f = *state;
	char bad[65];
	memcpy(bad, f->sha, sizeof(bad));
	bad[0] = bad[0] == '0' ? '1' : '0';
	json_t *details = NULL;
	struct agent_err err = {0};
	assert_int_equal(run_write(f, args_for(f->zst, "raw.zst", bad, f->disk), &details, &err),
			 AGENT_E_VERIFY);
	assert_non_null(strstr(err.msg, "sha256 mismatch"));
	assert_non_null(strstr(err.msg, f->sha)); /* says what it got */
	assert_null(details);
}

static void test_truncated_raw_with_size(void **state)
{
	struct fx *f = *state;
	char *cut = tu_path(f->dir, "cut.raw");
	assert_int_equal(tu_write_file(cut, f->img, IMG_SIZE - 5000), 0);
	json_t *args = args_for(cut, "raw", f->sha, f->disk);
	json_object_set_new(args, "size", json_integer(IMG_SIZE));
	json_t *details = NULL;
	struct agent_err err = {0};
	assert_int_equal(run_write(f, args, &details, &err), AGENT_E_VERIFY);
	assert_non_null(strstr(err.msg, "short stream"));
	free(cut);
}

static void test_truncated_raw_without_size(void **state)
{
	struct fx *f = *state;
	char *cut = tu_path(f->dir, "cut2.raw");
	assert_int_equal(tu_write_file(cut, f->img, IMG_SIZE / 2), 0);
	json_t *details = NULL;
	struct agent_err err = {0};
	assert_int_equal(run_write(f, args_for(cut, "raw", f->sha, f->disk), &details, &err),
			 AGENT_E_VERIFY);
	assert_non_null(strstr(err.msg, "sha256 mismatch"));
	free(cut);
}

static void test_truncated_zstd(void **state)
{
	struct fx *f = *state;
	size_t len = 0;
	unsigned char *z = tu_read_file(f->zst, &len);
	char *cut = tu_path(f->dir, "cut.raw.zst");
	assert_int_equal(tu_write_file(cut, z, len - 100), 0);
	json_t *details = NULL;
	struct agent_err err = {0};
	assert_int_equal(run_write(f, args_for(cut, "raw.zst", f->sha, f->disk), &details, &err),
			 AGENT_E_VERIFY);
	assert_non_null(strstr(err.msg, "truncated zstd stream"));
	/* Garbage instead of a frame: corrupt, said as such. */
	memset(z, 0xab, 64);
	assert_int_equal(tu_write_file(cut, z, len), 0);
	assert_int_equal(run_write(f, args_for(cut, "raw.zst", f->sha, f->disk), &details, &err),
			 AGENT_E_VERIFY);
	assert_non_null(strstr(err.msg, "zstd stream is corrupt"));
	free(z);
	free(cut);
}

static void test_missing_source_and_small_disk(void **state)
{
	struct fx *f = *state;
	char *none = tu_path(f->dir, "absent.raw");
	json_t *details = NULL;
	struct agent_err err = {0};
	assert_int_equal(run_write(f, args_for(none, "raw", f->sha, f->disk), &details, &err),
			 AGENT_E_HTTP);
	assert_non_null(strstr(err.msg, "absent.raw"));
	free(none);
	char *small = tu_path(f->dir, "small-disk");
	assert_int_equal(tu_make_disk(small, 1024 * 1024, 0), 0);
	assert_int_equal(run_write(f, args_for(f->raw, "raw", f->sha, small), &details, &err),
			 AGENT_E_IO);
	assert_non_null(strstr(err.msg, "does not fit"));
	json_t *args = args_for(f->raw, "raw", f->sha, small);
	json_object_set_new(args, "size", json_integer(IMG_SIZE));
	assert_int_equal(run_write(f, args, &details, &err), AGENT_E_USAGE);
	assert_non_null(strstr(err.msg, "does not fit"));
	free(small);
}

static void test_metadata_written_at_tail(void **state)
{
	struct fx *f = *state;
	json_t *args = args_for(f->zst, "raw.zst", f->sha, f->disk);
	json_t *meta =
	    json_pack("{s:s, s:s, s:s, s:s, s:s, s:[s]}", "machine_id", "m-1", "allocation_id",
		      "a-9", "hostname", "web-1", "api_url", "http://10.0.0.1:7481", "token",
		      "inst-tok", "ssh_keys", "ssh-ed25519 AAAA test");
	json_object_set(args, "metadata", meta);
	json_t *details = NULL;
	struct agent_err err = {0};
	assert_int_equal(run_write(f, args, &details, &err), AGENT_OK);
	json_decref(details);
	assert_disk_holds_image(f);
	json_t *back = NULL;
	assert_int_equal(agent_meta_read(f->disk, &back, &err), AGENT_OK);
	assert_true(json_equal(meta, back));
	json_decref(back);
	json_decref(meta);
	size_t len = 0;
	unsigned char *d = tu_read_file(f->disk, &len);
	assert_memory_equal(d + DISK_SIZE - AGENT_MIB, AGENT_META_MAGIC, strlen(AGENT_META_MAGIC));
	free(d);
}

struct args_case {
	const char *json;
	const char *msg_part;
};

static void test_args_validation(void **state)
{
	struct fx *f = *state;
	static const struct args_case cases[] = {
	    {"{}", "args.url is required"},
	    {"{\"url\":\"file:///x\",\"format\":\"qcow2\",\"sha256\":\"00\"}", "qcow2"},
	    {"{\"url\":\"file:///x\",\"sha256\":\"abc\"}", "64 hex digits"},
	    {"{\"url\":\"file:///x\",\"sha256\":\"zz00000000000000000000000000000000000000000"
	     "000000000000000000000\"}",
	     "64 hex digits"},
	    {"{\"url\":\"file:///x\",\"sha256\":\"00000000000000000000000000000000000000000000"
	     "00000000000000000000\",\"size\":\"big\"}",
	     "size"},
	    {"{\"url\":\"file:///x\",\"sha256\":\"00000000000000000000000000000000000000000000"
	     "00000000000000000000\",\"metadata\":[1]}",
	     "metadata must be an object"},
	    {"{\"url\":\"file:///x\",\"sha256\":\"00000000000000000000000000000000000000000000"
	     "00000000000000000000\",\"device\":\"/dev/../etc/passwd\"}",
	     "bad device"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *args = json_loads(cases[i].json, 0, NULL);
		struct agent_image_args a;
		struct agent_err err = {0};
		assert_non_null(args);
		assert_int_equal(agent_image_args_parse(args, &f->cfg, &a, &err), AGENT_E_USAGE);
		assert_non_null(strstr(err.msg, cases[i].msg_part));
		agent_image_args_free(&a);
		json_decref(args);
	}
}

static void test_default_device_and_format(void **state)
{
	struct fx *f = *state;
	assert_int_equal(agent_set_str(&f->cfg.sysroot, AGENT_FIXTURES "/qemu-vm", NULL), 0);
	assert_int_equal(agent_set_str(&f->cfg.devroot, f->dir, NULL), 0);
	json_t *args = json_pack("{s:s, s:s}", "url", "http://x/img.raw.zst", "sha256", f->sha);
	struct agent_image_args a;
	assert_int_equal(agent_image_args_parse(args, &f->cfg, &a, NULL), AGENT_OK);
	char *want = tu_path(f->dir, "vda");
	assert_string_equal(a.device, want);
	assert_true(a.zstd);
	assert_int_equal(a.size, -1);
	agent_image_args_free(&a);
	json_object_set_new(args, "device", json_string("/dev/vdb"));
	json_object_set_new(args, "format", json_string("raw"));
	assert_int_equal(agent_image_args_parse(args, &f->cfg, &a, NULL), AGENT_OK);
	free(want);
	want = tu_path(f->dir, "vdb");
	assert_string_equal(a.device, want);
	assert_false(a.zstd);
	agent_image_args_free(&a);
	free(want);
	json_decref(args);
}

int agent_test_image(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_write_raw, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_write_zstd, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_zstd_frame_boundaries, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_hash_mismatch, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_truncated_raw_with_size, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_truncated_raw_without_size, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_truncated_zstd, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_missing_source_and_small_disk, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_metadata_written_at_tail, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_args_validation, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_default_device_and_format, setup, teardown),
	};
	return cmocka_run_group_tests_name("agent_image", tests, NULL, NULL);
}
