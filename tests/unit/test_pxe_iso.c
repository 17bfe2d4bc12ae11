/* pxe: the virtual-media ISO (pxe_iso_build) with the real xorriso and
 * Debian's isolinux: El Torito boot record, ISOLINUX configuration carrying the
 * agent's kernel command line, the ramdisk's files, bad input, nothing left
 * behind. Skipped without xorriso or isolinux (scripts/deps). The boot itself
 * is the e2e test's (a lab VM boots such an ISO through its Redfish BMC). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pxe/pxe.h"

struct fixture {
	char dir[64], kernel[128], initrd[128], out[128];
};

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	snprintf(f->dir, sizeof(f->dir), "/tmp/pxe-test-iso-XXXXXX");
	if (!f || !mkdtemp(f->dir))
		return -1;
	snprintf(f->kernel, sizeof(f->kernel), "%s/vmlinuz", f->dir);
	snprintf(f->initrd, sizeof(f->initrd), "%s/initramfs", f->dir);
	snprintf(f->out, sizeof(f->out), "%s/m1.iso", f->dir);
	write_file(f->kernel, "KERNEL-BYTES-7f3a\n");
	write_file(f->initrd, "INITRD-BYTES-91c2\n");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", f->dir);
	free(f);
	return 0;
}

static bool tools_present(void)
{
	return access(PXE_ISOLINUX_BIN, R_OK) == 0 && access(PXE_LDLINUX_C32, R_OK) == 0 &&
	       (access("/usr/bin/xorriso", X_OK) == 0 || access("/bin/xorriso", X_OK) == 0);
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static struct pxe_iso_params params(const struct fixture *f)
{
	return (struct pxe_iso_params){.boot_url = "http://10.78.0.1:7481/",
				       .machine_id = "6f1c2b7e-0000-4000-8000-000000000001",
				       .token = "pvd_0123abcd",
				       .extra_args = "quiet",
				       .kernel = f->kernel,
				       .initrd = f->initrd};
}

static void test_iso_contents(void **state)
{
	struct fixture *f = *state;
	struct pxe_iso_params p = params(f);
	struct err e = {0};
	size_t n;
	char *iso;

	if (!tools_present())
		skip();
	assert_int_equal(pxe_iso_build(&p, f->out, &e), ERR_OK);
	iso = slurp(f->out, &n);
	assert_true(n > 34816);
	/* ISO 9660 primary descriptor (sector 16), El Torito boot record (17) */
	assert_memory_equal(iso + 16 * 2048 + 1, "CD001", 5);
	assert_int_equal(iso[17 * 2048], 0);
	assert_memory_equal(iso + 17 * 2048 + 7, "EL TORITO SPECIFICATION", 23);
	assert_non_null(memmem(iso, n, "ISOLINUX", 8));
	assert_non_null(memmem(iso, n, "KERNEL-BYTES-7f3a", 17));
	assert_non_null(memmem(iso, n, "INITRD-BYTES-91c2", 17));
	static const char append[] =
	    "APPEND provisiond.url=http://10.78.0.1:7481 provisiond.mode=agent "
	    "provisiond.machine=6f1c2b7e-0000-4000-8000-000000000001 provisiond.token=pvd_0123abcd "
	    "provisiond.heartbeat=10 console=ttyS0,115200n8 quiet\n";
	assert_non_null(memmem(iso, n, append, sizeof(append) - 1));
	assert_non_null(memmem(iso, n, "KERNEL /vmlinuz", 15));
	assert_non_null(memmem(iso, n, "INITRD /initramfs", 17));
	free(iso);
}

/* Only the ISO is left in its directory: no temporary files. */
static void test_iso_nothing_left(void **state)
{
	struct fixture *f = *state;
	struct pxe_iso_params p = params(f);
	struct err e = {0};
	struct dirent *d;
	DIR *dir;
	int extra = 0;

	if (!tools_present())
		skip();
	assert_int_equal(pxe_iso_build(&p, f->out, &e), ERR_OK);
	assert_int_equal(pxe_iso_build(&p, f->out, &e), ERR_OK); /* replaces */
	dir = opendir(f->dir);
	assert_non_null(dir);
	while ((d = readdir(dir)))
		if (d->d_name[0] == '.' && strcmp(d->d_name, ".") && strcmp(d->d_name, ".."))
			extra++;
	closedir(dir);
	assert_int_equal(extra, 0);
}

static void test_iso_invalid(void **state)
{
	struct fixture *f = *state;
	struct pxe_iso_params p;
	struct err e = {0};
	char missing[160];
	static const struct {
		const char *token, *url, *extra;
		const char *field;
	} cases[] = {
	    {.token = "two words", .url = "http://h:1", .field = "token"},
	    {.token = "", .url = "http://h:1", .field = "token"},
	    {.token = "t", .url = "ftp://h/", .field = "boot_url"},
	    {.token = "t",
	     .url = "http://h:1",
	     .extra = "provisiond.mode=x",
	     .field = "extra_args"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		p = params(f);
		p.token = cases[i].token;
		p.boot_url = cases[i].url;
		p.extra_args = cases[i].extra;
		memset(&e, 0, sizeof(e));
		assert_int_equal(pxe_iso_build(&p, f->out, &e), ERR_INVALID);
		assert_string_equal(e.field, cases[i].field);
	}
	p = params(f);
	snprintf(missing, sizeof(missing), "%s/nope", f->dir);
	p.kernel = missing;
	assert_int_equal(pxe_iso_build(&p, f->out, &e), ERR_NOT_FOUND);
	assert_string_equal(e.field, "kernel");
	p = params(f);
	assert_int_equal(pxe_iso_build(&p, "relative.iso", &e), ERR_INVALID);
	snprintf(missing, sizeof(missing), "%s/no/such/dir/m.iso", f->dir);
	if (tools_present())
		assert_int_equal(pxe_iso_build(&p, missing, &e), ERR_IO);
	assert_int_equal(access(f->out, F_OK), -1); /* nothing was built */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_iso_contents, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_iso_nothing_left, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_iso_invalid, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
