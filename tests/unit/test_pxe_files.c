/* pxe: the dhcp-hostsdir files and the TFTP root. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pxe/pxe.h"

struct fixture {
	char dir[64];
};

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	snprintf(f->dir, sizeof(f->dir), "/tmp/pxe-test-files-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = malloc((size_t)n + 1)) && fread(buf, 1, (size_t)n, f) == (size_t)n) {
		buf[n] = '\0';
		if (len)
			*len = (size_t)n;
	} else {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

static void assert_file(const char *dir, const char *name, const char *want)
{
	char path[256];
	char *got;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	got = read_file(path, NULL);
	if (!want) {
		assert_null(got);
		return;
	}
	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

/* Only the final files may remain: no temp files left behind. */
static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(d);
	return n;
}

static void test_hosts_write_remove(void **state)
{
	struct fixture *f = *state;
	struct err e = {0};
	const char *name = "52-54-00-12-34-56";

	assert_int_equal(pxe_hosts_write(f->dir, "52:54:00:12:34:56", "node1", "10.0.0.5", &e),
			 ERR_OK);
	assert_file(f->dir, name, "52:54:00:12:34:56,10.0.0.5,node1\n");
	/* Same MAC in another spelling replaces the file. */
	assert_int_equal(pxe_hosts_write(f->dir, "52-54-00-12-34-56", "node1", NULL, &e), ERR_OK);
	assert_file(f->dir, name, "52:54:00:12:34:56,node1\n");
	assert_int_equal(pxe_hosts_write(f->dir, "AA:BB:CC:DD:EE:FF", NULL, NULL, &e), ERR_OK);
	assert_file(f->dir, "aa-bb-cc-dd-ee-ff", "aa:bb:cc:dd:ee:ff\n");
	assert_int_equal(count_entries(f->dir), 2);

	assert_int_equal(pxe_hosts_remove(f->dir, "52:54:00:12:34:56", &e), ERR_OK);
	assert_file(f->dir, name, NULL);
	/* Removing what is gone already is fine. */
	assert_int_equal(pxe_hosts_remove(f->dir, "52:54:00:12:34:56", &e), ERR_OK);
	assert_int_equal(count_entries(f->dir), 1);
}

static void test_hosts_invalid(void **state)
{
	struct fixture *f = *state;
	char missing[128];
	struct {
		const char *field, *dir, *mac, *name, *ip;
		enum err_status status;
	} cases[] = {
	    {"mac", f->dir, "52:54:00:12:34", "n", NULL, ERR_INVALID},
	    {"mac", f->dir, "52:54:00:12:34:5g", "n", NULL, ERR_INVALID},
	    {"mac", f->dir, NULL, "n", NULL, ERR_INVALID},
	    {"name", f->dir, "52:54:00:12:34:56", "node 1", NULL, ERR_INVALID},
	    {"name", f->dir, "52:54:00:12:34:56", "-node", NULL, ERR_INVALID},
	    {"name", f->dir, "52:54:00:12:34:56", "node1,ignore", NULL, ERR_INVALID},
	    {"ip", f->dir, "52:54:00:12:34:56", "n", "10.0.0.300", ERR_INVALID},
	    {"ip", f->dir, "52:54:00:12:34:56", "n", "10.0.0.1\n", ERR_INVALID},
	    {"dir", "relative/dir", "52:54:00:12:34:56", "n", NULL, ERR_INVALID},
	    {"dir", NULL, "52:54:00:12:34:56", "n", NULL, ERR_INVALID},
	    {missing, missing, "52:54:00:12:34:56", "n", NULL, ERR_IO},
	};
	struct err e;

	(void)state;
	snprintf(missing, sizeof(missing), "%s/no-such-dir", f->dir);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err_clear(&e);
		enum err_status rc =
		    pxe_hosts_write(cases[i].dir, cases[i].mac, cases[i].name, cases[i].ip, &e);

		if (rc != cases[i].status || !strstr(e.message, cases[i].field) ||
		    (rc == ERR_INVALID && strcmp(e.field, cases[i].field)))
			fail_msg("case %zu: rc %d (%s, field \"%s\"), want %d naming %s", i, rc,
				 e.message, e.field, cases[i].status, cases[i].field);
	}
	assert_int_equal(pxe_hosts_remove(f->dir, "nope", &e), ERR_INVALID);
	assert_int_equal(strncmp(e.message, "mac:", 4), 0);
	assert_string_equal(e.field, "mac");
	assert_int_equal(count_entries(f->dir), 0);
}

static void test_mac_normalize(void **state)
{
	char out[18];

	(void)state;
	assert_int_equal(pxe_mac_normalize("AA-bb-CC-dd-0E-f0", out), ERR_OK);
	assert_string_equal(out, "aa:bb:cc:dd:0e:f0");
	assert_int_equal(pxe_mac_normalize("aa:bb:cc:dd:ee:f", out), ERR_INVALID);
	assert_int_equal(pxe_mac_normalize("aa:bb:cc:dd:ee:ff:", out), ERR_INVALID);
	assert_int_equal(pxe_mac_normalize("aabb.ccdd.eeff.00", out), ERR_INVALID);
	assert_int_equal(pxe_mac_normalize(NULL, out), ERR_INVALID);
}

static void write_fake(const char *dir, const char *name, const char *content)
{
	char path[256];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(content, fp);
	fclose(fp);
}

static void test_tftp_prepare_fake(void **state)
{
	struct fixture *f = *state;
	char src[128], root[128];
	struct err e = {0};
	struct stat st;

	snprintf(src, sizeof(src), "%s/ipxe", f->dir);
	snprintf(root, sizeof(root), "%s/a/b/tftp", f->dir);
	assert_int_equal(mkdir(src, 0755), 0);
	write_fake(src, "undionly.kpxe", "bios");
	assert_int_equal(pxe_tftp_prepare(root, src, &e), ERR_NOT_FOUND);
	assert_non_null(strstr(e.message, "ipxe.efi"));
	write_fake(src, "ipxe.efi", "uefi");
	assert_int_equal(pxe_tftp_prepare(root, src, &e), ERR_OK);
	assert_file(root, "undionly.kpxe", "bios");
	assert_file(root, "ipxe.efi", "uefi");
	assert_int_equal(count_entries(root), 2);
	assert_int_equal(stat(root, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	/* Again, over existing files. */
	write_fake(src, "ipxe.efi", "uefi v2");
	assert_int_equal(pxe_tftp_prepare(root, src, &e), ERR_OK);
	assert_file(root, "ipxe.efi", "uefi v2");
	assert_int_equal(pxe_tftp_prepare("tftp", src, &e), ERR_INVALID);
	assert_int_equal(strncmp(e.message, "tftp_root:", 10), 0);
	assert_string_equal(e.field, "tftp_root");
	assert_int_equal(pxe_tftp_prepare(root, "lib/ipxe", &e), ERR_INVALID);
	assert_int_equal(strncmp(e.message, "ipxe_dir:", 9), 0);
	assert_string_equal(e.field, "ipxe_dir");
}

/* The real binaries from Debian's ipxe package, via the default path. */
static void test_tftp_prepare_system(void **state)
{
	struct fixture *f = *state;
	char root[128], path[256];
	struct err e = {0};
	const char *files[] = {"undionly.kpxe", "ipxe.efi"};

	if (access(PXE_IPXE_DIR_DEFAULT "/undionly.kpxe", R_OK) ||
	    access(PXE_IPXE_DIR_DEFAULT "/ipxe.efi", R_OK))
		skip();
	snprintf(root, sizeof(root), "%s/tftp", f->dir);
	assert_int_equal(pxe_tftp_prepare(root, NULL, &e), ERR_OK);
	for (size_t i = 0; i < 2; i++) {
		size_t want_len = 0, got_len = 0;
		char *want, *got;

		snprintf(path, sizeof(path), "%s/%s", PXE_IPXE_DIR_DEFAULT, files[i]);
		want = read_file(path, &want_len);
		snprintf(path, sizeof(path), "%s/%s", root, files[i]);
		got = read_file(path, &got_len);
		assert_non_null(want);
		assert_non_null(got);
		assert_int_equal(want_len, got_len);
		assert_memory_equal(want, got, want_len);
		free(want);
		free(got);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_hosts_write_remove, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_hosts_invalid, setup, teardown),
	    cmocka_unit_test(test_mac_normalize),
	    cmocka_unit_test_setup_teardown(test_tftp_prepare_fake, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tftp_prepare_system, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
