/* images/: a client's path turned into a path inside the store, the
 * confined open (links, FIFOs, directories, hard links, missing files) and
 * the hash of raw and zstd images, incremental or from an fd. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "images/images.h"

static char dir[256], store[300];

static int setup(void **state)
{
	(void)state;
	const char *tmp = getenv("TMPDIR");
	snprintf(dir, sizeof dir, "%s/test_images.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir))
		return -1;
	snprintf(store, sizeof store, "%s/store", dir);
	return mkdir(store, 0700);
}

static int teardown(void **state)
{
	(void)state;
	char cmd[400];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void put(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(p, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
}

static void test_store_rel(void **state)
{
	(void)state;
	static const struct {
		const char *dir, *path, *rel; /* rel NULL: refused */
	} cases[] = {
	    {"/srv/img", "a.raw", "a.raw"},
	    {"/srv/img", "sub/a.raw", "sub/a.raw"},
	    {"/srv/img", "/srv/img/a.raw", "a.raw"},
	    {"/srv/img/", "/srv/img/sub/a.raw", "sub/a.raw"},
	    {"/srv/img", "..a.raw", "..a.raw"},
	    {"/", "/etc/x", "etc/x"},
	    {"/srv/img", "/srv/imgx/a.raw", NULL},
	    {"/srv/img", "/srv/img", NULL},
	    {"/srv/img", "/srv/img/", NULL},
	    {"/srv/img", "/etc/shadow", NULL},
	    {"/srv/img", "/dev/zero", NULL},
	    {"/srv/img", "../a.raw", NULL},
	    {"/srv/img", "sub/../../a.raw", NULL},
	    {"/srv/img", "/srv/img/../p.db", NULL},
	    {"/srv/img", "./a.raw", NULL},
	    {"/srv/img", "sub//a.raw", NULL},
	    {"/srv/img", "sub/", NULL},
	    {"/srv/img", "", NULL},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char rel[64];
		struct err e = {0};
		enum err_status rc =
		    img_store_rel(cases[i].dir, cases[i].path, rel, sizeof rel, &e);
		if (cases[i].rel && (rc != ERR_OK || strcmp(rel, cases[i].rel) != 0))
			fail_msg("%s in %s: %s, want %s", cases[i].path, cases[i].dir,
				 rc == ERR_OK ? rel : e.message, cases[i].rel);
		if (!cases[i].rel && (rc != ERR_INVALID || strcmp(e.field, "path") != 0))
			fail_msg("%s in %s: accepted as %s", cases[i].path, cases[i].dir, rel);
	}
}

static void test_store_open(void **state)
{
	(void)state;
	char p[600], out[600];
	snprintf(p, sizeof p, "%s/ok.raw", store);
	put(p, "image", 5);
	snprintf(out, sizeof out, "%s/secret", dir);
	put(out, "secret", 6);
	snprintf(p, sizeof p, "%s/link", store);
	assert_int_equal(symlink(out, p), 0);
	snprintf(p, sizeof p, "%s/dirlink", store);
	assert_int_equal(symlink(dir, p), 0);
	snprintf(p, sizeof p, "%s/fifo", store);
	assert_int_equal(mkfifo(p, 0600), 0);
	snprintf(p, sizeof p, "%s/sub", store);
	assert_int_equal(mkdir(p, 0700), 0);
	snprintf(p, sizeof p, "%s/sub/in.raw", store);
	put(p, "in", 2);
	snprintf(p, sizeof p, "%s/hard", store);
	assert_int_equal(link(out, p), 0);
	static const struct {
		const char *rel;
		enum err_status want;
	} cases[] = {
	    {"ok.raw", ERR_OK},		{"sub/in.raw", ERR_OK},
	    {"link", ERR_INVALID},	{"dirlink/secret", ERR_INVALID},
	    {"fifo", ERR_INVALID},	{"sub", ERR_INVALID},
	    {"hard", ERR_INVALID},	{"ok.raw/x", ERR_INVALID},
	    {"missing", ERR_NOT_FOUND}, {"nodir/x", ERR_NOT_FOUND},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct img_file f = {.fd = -1};
		struct err e = {0};
		enum err_status rc = img_store_open(store, cases[i].rel, &f, &e);
		if (rc != cases[i].want)
			fail_msg("%s: %s (%s)", cases[i].rel, err_status_name(rc), e.message);
		if (rc == ERR_OK) {
			struct stat st;
			assert_int_equal(fstat(f.fd, &st), 0);
			assert_int_equal(f.inode, (int64_t)st.st_ino);
			assert_int_equal(f.size, (int64_t)st.st_size);
			close(f.fd);
		} else {
			assert_int_equal(f.fd, -1);
			assert_string_equal(e.field, "path");
		}
	}
	struct err e = {0};
	struct img_file f;
	assert_int_equal(img_store_open("/nonexistent-store", "a", &f, &e), ERR_IO);
	assert_int_equal(img_store_unlink(store, "ok.raw", &e), ERR_OK);
	assert_int_equal(img_store_unlink(store, "ok.raw", &e), ERR_NOT_FOUND);
	assert_int_equal(img_store_unlink(store, "dirlink/secret", &e), ERR_INVALID);
	assert_int_equal(access(out, F_OK), 0);
}

static void test_hash(void **state)
{
	(void)state;
	enum { N = 3 << 20 };
	unsigned char *raw = malloc(N);
	assert_non_null(raw);
	for (size_t i = 0; i < N; i++)
		raw[i] = (unsigned char)(i % 253);
	size_t bound = ZSTD_compressBound(N);
	void *z = malloc(bound);
	assert_non_null(z);
	size_t zn = ZSTD_compress(z, bound, raw, N, 1);
	assert_false(ZSTD_isError(zn));

	/* incremental: raw in odd pieces, zst in one */
	char sha_raw[65], sha_zst[65], sha_fd[65];
	int64_t n_raw, n_zst, n_fd;
	struct img_hasher *h;
	assert_int_equal(img_hasher_new("raw", &h, NULL), ERR_OK);
	for (size_t off = 0; off < N; off += 77777)
		assert_int_equal(
		    img_hasher_feed(h, raw + off, off + 77777 > N ? N - off : 77777, NULL), ERR_OK);
	img_hasher_finish(h, sha_raw, &n_raw);
	img_hasher_free(h);
	assert_int_equal(img_hasher_new("raw.zst", &h, NULL), ERR_OK);
	assert_int_equal(img_hasher_feed(h, z, zn, NULL), ERR_OK);
	img_hasher_finish(h, sha_zst, &n_zst);
	img_hasher_free(h);
	assert_string_equal(sha_raw, sha_zst);
	assert_int_equal(n_raw, N);
	assert_int_equal(n_zst, N);

	/* from an fd */
	char p[600];
	snprintf(p, sizeof p, "%s/h.raw.zst", store);
	put(p, z, zn);
	int fd = open(p, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(img_hash_fd(fd, "raw.zst", NULL, sha_fd, &n_fd, NULL), ERR_OK);
	assert_string_equal(sha_fd, sha_raw);
	assert_int_equal(n_fd, N);
	/* raw bytes are not zstd */
	struct err e = {0};
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	assert_int_equal(img_hasher_new("raw.zst", &h, NULL), ERR_OK);
	assert_int_equal(img_hasher_feed(h, raw, 4096, &e), ERR_INVALID);
	img_hasher_free(h);
	assert_string_equal(e.field, "path");
	/* cancelled (provisiond stopping) */
	atomic_bool stop = true;
	assert_int_equal(img_hash_fd(fd, "raw", &stop, sha_fd, &n_fd, &e), ERR_CONFLICT);
	close(fd);
	assert_int_equal(img_hasher_new("qcow2", &h, &e), ERR_INVALID);
	assert_string_equal(e.field, "format");
	free(z);
	free(raw);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_store_rel),
	    cmocka_unit_test(test_store_open),
	    cmocka_unit_test(test_hash),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
