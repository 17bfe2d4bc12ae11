/* test_agent_wipe.c — wipe of regular files standing for disks, and the
 * metadata block at the disk tail. */
#include "agent.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

char *tu_tempdir(void);
void tu_rmtree(const char *dir);
char *tu_path(const char *dir, const char *name);
int tu_write_file(const char *path, const void *data, size_t len);
unsigned char *tu_read_file(const char *path, size_t *len);
int tu_make_disk(const char *path, size_t size, unsigned char fill);

#define MIB (1024 * 1024)

static bool all_bytes(const unsigned char *p, size_t len, unsigned char v)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != v)
			return false;
	return true;
}

static void test_wipe_ends(void **state)
{
	(void)state;
	char *dir = tu_tempdir();
	char *disk = tu_path(dir, "disk");
	size_t size = 5 * MIB + 4096;
	assert_int_equal(tu_make_disk(disk, size, 0xaa), 0);
	struct agent_progress p = {0};
	uint64_t zeroed = 0;
	assert_int_equal(agent_wipe_device(disk, false, &p, &zeroed, NULL), AGENT_OK);
	assert_int_equal(zeroed, 2 * MIB);
	assert_int_equal(atomic_load(&p.bytes), 2 * MIB);
	size_t len = 0;
	unsigned char *d = tu_read_file(disk, &len);
	assert_int_equal(len, size);
	assert_true(all_bytes(d, MIB, 0));
	assert_true(all_bytes(d + MIB, size - 2 * MIB, 0xaa));
	assert_true(all_bytes(d + size - MIB, MIB, 0));
	free(d);
	assert_int_equal(agent_wipe_device(disk, true, NULL, NULL, NULL), AGENT_OK);
	d = tu_read_file(disk, &len);
	assert_int_equal(len, size);
	assert_true(all_bytes(d, size, 0));
	free(d);
	tu_rmtree(dir);
	free(disk);
	free(dir);
}

static void test_wipe_small_and_missing(void **state)
{
	(void)state;
	char *dir = tu_tempdir();
	char *disk = tu_path(dir, "small");
	assert_int_equal(tu_make_disk(disk, MIB + MIB / 2, 0xaa), 0);
	uint64_t zeroed = 0;
	assert_int_equal(agent_wipe_device(disk, false, NULL, &zeroed, NULL), AGENT_OK);
	assert_int_equal(zeroed, MIB + MIB / 2);
	size_t len = 0;
	unsigned char *d = tu_read_file(disk, &len);
	assert_true(all_bytes(d, len, 0));
	free(d);
	struct agent_err err = {0};
	char *none = tu_path(dir, "none");
	assert_int_equal(agent_wipe_device(none, false, NULL, NULL, &err), AGENT_E_IO);
	assert_non_null(strstr(err.msg, "none"));
	tu_rmtree(dir);
	free(none);
	free(disk);
	free(dir);
}

static void test_wipe_all_disks(void **state)
{
	(void)state;
	char *dir = tu_tempdir();
	char *vda = tu_path(dir, "vda"), *vdb = tu_path(dir, "vdb");
	assert_int_equal(tu_make_disk(vda, 3 * MIB, 0x11), 0);
	assert_int_equal(tu_make_disk(vdb, 3 * MIB, 0x22), 0);
	struct agent_config cfg;
	assert_int_equal(agent_config_init(&cfg, NULL), AGENT_OK);
	assert_int_equal(agent_set_str(&cfg.sysroot, AGENT_FIXTURES "/qemu-vm", NULL), 0);
	assert_int_equal(agent_set_str(&cfg.devroot, dir, NULL), 0);
	json_t *details = NULL;
	struct agent_progress p = {0};
	assert_int_equal(agent_wipe_all(&cfg, false, &p, &details, NULL), AGENT_OK);
	json_t *want = json_pack("{s:[s,s], s:I, s:b}", "disks", "vda", "vdb", "bytes",
				 (json_int_t)(4 * MIB), "full", 0);
	assert_true(json_equal(want, details));
	assert_int_equal(atomic_load(&p.total), 4 * MIB);
	json_decref(want);
	json_decref(details);
	/* A disk the facts list but that cannot be opened: a clear failure. */
	unlink(vdb);
	struct agent_err err = {0};
	assert_int_equal(agent_wipe_all(&cfg, false, NULL, &details, &err), AGENT_E_IO);
	assert_non_null(strstr(err.msg, "vdb"));
	agent_config_free(&cfg);
	tu_rmtree(dir);
	free(vda), free(vdb), free(dir);
}

static void test_metadata_round_trip(void **state)
{
	(void)state;
	char *dir = tu_tempdir();
	char *disk = tu_path(dir, "disk");
	assert_int_equal(tu_make_disk(disk, 4 * MIB, 0x77), 0);
	json_t *meta =
	    json_pack("{s:s, s:s, s:s, s:s, s:s, s:[]}", "machine_id", "m", "allocation_id", "a",
		      "hostname", "h\xc3\xa9", "api_url", "http://x:1", "token", "t", "ssh_keys");
	int fd = open(disk, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(agent_meta_write(fd, 4 * MIB, meta, NULL), AGENT_OK);
	close(fd);
	json_t *back = NULL;
	assert_int_equal(agent_meta_read(disk, &back, NULL), AGENT_OK);
	assert_true(json_equal(meta, back));
	json_decref(back);
	size_t len = 0;
	unsigned char *d = tu_read_file(disk, &len);
	const char *want = "PROVISIOND-METADATA-V1\n{\"machine_id\":\"m\"";
	assert_memory_equal(d + 3 * MIB, want, strlen(want));
	assert_true(all_bytes(d, 3 * MIB, 0x77)); /* nothing before the last MiB */
	free(d);
	json_decref(meta);
	tu_rmtree(dir);
	free(disk), free(dir);
}

static void test_metadata_errors(void **state)
{
	(void)state;
	char *dir = tu_tempdir();
	char *disk = tu_path(dir, "disk");
	struct agent_err err = {0};
	json_t *back = NULL;
	assert_int_equal(tu_make_disk(disk, 2 * MIB, 0), 0);
	assert_int_equal(agent_meta_read(disk, &back, &err), AGENT_E_IO);
	assert_non_null(strstr(err.msg, "no metadata block"));
	assert_int_equal(tu_make_disk(disk, 1000, 0), 0);
	assert_int_equal(agent_meta_read(disk, &back, &err), AGENT_E_IO);
	assert_non_null(strstr(err.msg, "too small"));
	/* Magic but broken JSON. */
	char *blk = calloc(1, 2 * MIB);
	memcpy(blk + MIB, AGENT_META_MAGIC "{\"a\":", strlen(AGENT_META_MAGIC) + 5);
	assert_int_equal(tu_write_file(disk, blk, 2 * MIB), 0);
	assert_int_equal(agent_meta_read(disk, &back, &err), AGENT_E_IO);
	assert_non_null(strstr(err.msg, "not a JSON object"));
	/* Too big: it would fit in the last MiB, but not before the last
	 * 64 KiB, which a GPT's backup header and table need. */
	size_t n = MIB - 32 * 1024;
	char *big = malloc(n + 1);
	memset(big, 'x', n);
	big[n] = '\0';
	json_t *meta = json_pack("{s:s}", "k", big);
	int fd = open(disk, O_RDWR);
	assert_int_equal(agent_meta_write(fd, 2 * MIB, meta, &err), AGENT_E_USAGE);
	assert_non_null(strstr(err.msg, "at most"));
	close(fd);
	json_decref(meta);
	free(big), free(blk);
	tu_rmtree(dir);
	free(disk), free(dir);
}

int agent_test_wipe(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_wipe_ends),	    cmocka_unit_test(test_wipe_small_and_missing),
	    cmocka_unit_test(test_wipe_all_disks),  cmocka_unit_test(test_metadata_round_trip),
	    cmocka_unit_test(test_metadata_errors),
	};
	return cmocka_run_group_tests_name("agent_wipe", tests, NULL, NULL);
}
