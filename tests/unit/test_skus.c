/* skus/: catalog loading (bad files, overlaps), the shipped catalog, the
 * matcher and its reasons, invalid facts, example facts round-trips. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "skus/sku.h"

/* ---- helpers: temp directories of SKU files ---- */

struct file {
	const char *name;
	const char *text;
};

static void make_dir(char *buf, size_t len)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(buf, len, "%s/test_skus.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	assert_non_null(mkdtemp(buf));
}

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[1024];
	assert_true((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) < sizeof(path));
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
	assert_int_equal(fclose(f), 0);
}

static void remove_dir(const char *dir)
{
	DIR *d = opendir(dir);
	assert_non_null(d);
	for (struct dirent *e; (e = readdir(d));) {
		char path[1024];
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		assert_true((size_t)snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) <
			    sizeof(path));
		assert_int_equal(unlink(path), 0);
	}
	closedir(d);
	assert_int_equal(rmdir(dir), 0);
}

static const char *source_dir(void)
{
	const char *s = getenv("PROVISIOND_SOURCE_DIR");
	if (!s || !*s)
		fail_msg("PROVISIOND_SOURCE_DIR is not set (run the test through ctest)");
	return s;
}

static struct sku_catalog *load_shipped(void)
{
	char dir[512];
	struct err e = {0};
	struct sku_catalog *c = NULL;
	snprintf(dir, sizeof(dir), "%s/skus/catalog", source_dir());
	if (sku_catalog_load_dir(dir, &c, &e) != ERR_OK)
		fail_msg("shipped catalog: %s", e.message);
	assert_non_null(c);
	return c;
}

/* ---- table: catalogs, good and bad ---- */

/* A valid SKU file; the numbers are its line numbers. */
#define L_SKU "[sku]\nname = t.one\ndescription = test\narch = x86_64\nboot_mode = bios\n" /*1-5*/
#define L_CPU "[cpu]\ncores = 2\n"							   /*6-7*/
#define L_MEM "[memory]\nmib = 1024\ntolerance_pct = 10\n"				   /*8-10*/
#define L_DISKS "[disks]\ncount = 1\nmin_size = 2GiB\nkind = any\n"			   /*11-14*/
#define L_NICS "[nics]\ncount = 1\nmin_speed_mbps = 0\n"				   /*15-17*/
#define GOOD L_SKU L_CPU L_MEM L_DISKS L_NICS
/* The same SKU under another name (for overlap cases). */
#define SKU2(arch, boot)                                                                           \
	"[sku]\nname = t.two\ndescription = two\narch = " arch "\nboot_mode = " boot "\n"
#define TWO(cpu, mem, disks, nics) SKU2("x86_64", "bios") cpu mem disks nics
#define X10 "xxxxxxxxxx"
#define X100 X10 X10 X10 X10 X10 X10 X10 X10 X10 X10

struct catalog_case {
	const char *what;
	struct file files[3];
	const char *want; /* substring of the error, NULL: loads */
};

static const struct catalog_case catalog_cases[] = {
    {"good file", {{"t.ini", GOOD}}, NULL},
    {"unknown key",
     {{"bad.ini", L_SKU "[cpu]\ncoers = 2\n" L_MEM L_DISKS L_NICS}},
     "bad.ini:7: unknown key \"coers\" in [cpu] (known: cores)"},
    {"unknown section",
     {{"bad.ini", GOOD "[gpu]\ncount = 1\n"}},
     "bad.ini:18: unknown section [gpu]"},
    {"cores not a number",
     {{"bad.ini", L_SKU "[cpu]\ncores = abc\n" L_MEM L_DISKS L_NICS}},
     "bad.ini:7: bad value for \"cores\" in [cpu]: \"abc\" is not a number or range"},
    {"cores range reversed",
     {{"bad.ini", L_SKU "[cpu]\ncores = 32-16\n" L_MEM L_DISKS L_NICS}},
     "bad.ini:7: bad value for \"cores\" in [cpu]: range \"32-16\" is reversed"},
    {"cores zero",
     {{"bad.ini", L_SKU "[cpu]\ncores = 0\n" L_MEM L_DISKS L_NICS}},
     "bad.ini:7: bad value for \"cores\""},
    {"cores overflow",
     {{"bad.ini", L_SKU "[cpu]\ncores = 99999999999999999999\n" L_MEM L_DISKS L_NICS}},
     "bad.ini:7: bad value for \"cores\""},
    {"cores with sign",
     {{"bad.ini", L_SKU "[cpu]\ncores = +2\n" L_MEM L_DISKS L_NICS}},
     "bad.ini:7: bad value"},
    {"tolerance too big",
     {{"bad.ini", L_SKU L_CPU "[memory]\nmib = 1024\ntolerance_pct = 60\n" L_DISKS L_NICS}},
     "bad.ini:10: bad value for \"tolerance_pct\" in [memory]: \"60\" is not an integer from 0 to "
     "50"},
    {"warm pool too big",
     {{"bad.ini", L_SKU "warm_pool = 100001\n" L_CPU L_MEM L_DISKS L_NICS}},
     "bad value for \"warm_pool\" in [sku]"},
    {"boot mode",
     {{"bad.ini", "[sku]\nname = t\ndescription = d\narch = x86_64\nboot_mode = efi\n" L_CPU L_MEM
		      L_DISKS L_NICS}},
     "bad.ini:5: bad value for \"boot_mode\" in [sku]: \"efi\" is not a boot mode (bios or uefi)"},
    {"deploy interface",
     {{"bad.ini", L_SKU "deploy = usb\n" L_CPU L_MEM L_DISKS L_NICS}},
     "bad.ini:6: bad value for \"deploy\" in [sku]: \"usb\" is not a deploy interface (pxe or "
     "vmedia)"},
    {"boot override mode",
     {{"bad.ini", L_SKU "boot_override_mode = bios\n" L_CPU L_MEM L_DISKS L_NICS}},
     "bad.ini:6: bad value for \"boot_override_mode\" in [sku]: \"bios\" is not UEFI or Legacy"},
    {"arch typo",
     {{"bad.ini", "[sku]\nname = t\ndescription = d\narch = x86-64\nboot_mode = bios\n" L_CPU L_MEM
		      L_DISKS L_NICS}},
     "bad.ini:4: bad value for \"arch\" in [sku]: \"x86-64\" is not an architecture"},
    {"bad name",
     {{"bad.ini",
       "[sku]\nname = Lab Small\ndescription = d\narch = x86_64\nboot_mode = bios\n" L_CPU L_MEM
	   L_DISKS L_NICS}},
     "bad.ini:2: bad value for \"name\" in [sku]: \"Lab Small\" is not a SKU name"},
    {"empty description",
     {{"bad.ini", "[sku]\nname = t\ndescription =\narch = x86_64\nboot_mode = bios\n" L_CPU L_MEM
		      L_DISKS L_NICS}},
     "bad.ini:3: bad value for \"description\" in [sku]: must not be empty"},
    {"disk kind",
     {{"bad.ini", L_SKU L_CPU L_MEM "[disks]\ncount = 1\nmin_size = 2GiB\nkind = ssd2\n" L_NICS}},
     "bad.ini:14: bad value for \"kind\" in [disks]: \"ssd2\" is not a disk kind"},
    {"disk size unit",
     {{"bad.ini",
       L_SKU L_CPU L_MEM "[disks]\ncount = 1\nmin_size = 2 parsecs\nkind = any\n" L_NICS}},
     "bad.ini:13: bad value for \"min_size\" in [disks]: \"2 parsecs\" is not a size"},
    {"disk size negative",
     {{"bad.ini", L_SKU L_CPU L_MEM "[disks]\ncount = 1\nmin_size = -1GiB\nkind = any\n" L_NICS}},
     "bad.ini:13: bad value for \"min_size\""},
    {"disk size without unit",
     {{"bad.ini", L_SKU L_CPU L_MEM "[disks]\ncount = 1\nmin_size = 2048\nkind = any\n" L_NICS}},
     "bad.ini:13: bad value for \"min_size\""},
    {"nic speed negative",
     {{"bad.ini", L_SKU L_CPU L_MEM L_DISKS "[nics]\ncount = 1\nmin_speed_mbps = -1\n"}},
     "bad.ini:17: bad value for \"min_speed_mbps\" in [nics]"},
    {"missing key: line of its section",
     {{"bad.ini", L_SKU "[cpu]\n" L_MEM L_DISKS L_NICS}},
     "bad.ini:6: missing required key \"cores\" in [cpu]"},
    {"missing section: line 0",
     {{"bad.ini", L_SKU L_CPU L_MEM L_DISKS}},
     "bad.ini:0: missing required key \"count\" in [nics]"},
    {"no [sku] at all",
     {{"bad.ini", L_CPU L_MEM L_DISKS L_NICS}},
     "bad.ini:0: missing required key \"name\" in [sku]"},
    {"key outside a section",
     {{"bad.ini", "name = x\n" GOOD}},
     "bad.ini:1: key \"name\" outside a section"},
    {"duplicate key",
     {{"bad.ini", L_SKU "[cpu]\ncores = 2\ncores = 4\n" L_MEM L_DISKS L_NICS}},
     "bad.ini:8: duplicate key \"cores\" in [cpu]"},
    {"duplicate section",
     {{"bad.ini", GOOD "[cpu]\n"}},
     "bad.ini:18: duplicate section [cpu] (first at line 6)"},
    {"text after header",
     {{"bad.ini", L_SKU "[cpu] x\ncores = 2\n" L_MEM L_DISKS L_NICS}},
     "bad.ini:6: text after section header"},
    {"no equals sign",
     {{"bad.ini", L_SKU "[cpu]\ncores 2\n" L_MEM L_DISKS L_NICS}},
     "bad.ini:7: syntax error"},
    {"unterminated header",
     {{"bad.ini", L_SKU "[cpu\ncores = 2\n" L_MEM L_DISKS L_NICS}},
     "bad.ini:6: syntax error (section header without \"]\")"},
    {"indented line",
     {{"bad.ini", L_SKU "[cpu]\n  cores = 2\n" L_MEM L_DISKS L_NICS}},
     "bad.ini:7: indented line"},
    {"line too long",
     {{"bad.ini", "[sku]\nname = t\ndescription = " X100 X100 "\n"}},
     "bad.ini:3: line longer than"},
    {"duplicate names across files",
     {{"a.ini", GOOD}, {"b.ini", L_SKU "[cpu]\ncores = 8\n" L_MEM L_DISKS L_NICS}},
     "b.ini:2: duplicate SKU name \"t.one\" (also in "},
    {"no ini files", {{"README.txt", "not a SKU"}}, ":0: no SKU files (*.ini)"},
    {"other files ignored",
     {{"t.ini", GOOD}, {"README.md", "junk"}, {".hidden.ini", "junk"}},
     NULL},
    {"comments, BOM, CRLF, inline comments",
     {{"t.ini", "\xEF\xBB\xBF; comment\r\n# another\r\n[sku] ; the SKU\r\nname = t.one ; n\r\n"
		"description = d\r\narch = x86_64\r\n  ; indented comment\r\nboot_mode = bios\r\n"
		"\r\n" L_CPU L_MEM L_DISKS L_NICS}},
     NULL},
    {"overlap: cores intersect",
     {{"a.ini", GOOD}, {"b.ini", TWO("[cpu]\ncores = 1-4\n", L_MEM, L_DISKS, L_NICS)}},
     "b.ini:1: SKU \"t.two\" overlaps SKU \"t.one\" ("},
    {"overlap: says why",
     {{"a.ini", GOOD}, {"b.ini", TWO("[cpu]\ncores = 1-4\n", L_MEM, L_DISKS, L_NICS)}},
     "a machine with arch x86_64, boot mode bios, 2 cores, 922-1126 MiB memory, 1 disk (kind any, "
     "at least 2 GiB each) and 1 NIC (at least 0 Mb/s each) would match both"},
    {"overlap: memory edges touch (1000±10% and 1222±10% share 1100)",
     {{"a.ini", L_SKU L_CPU "[memory]\nmib = 1000\ntolerance_pct = 10\n" L_DISKS L_NICS},
      {"b.ini", TWO(L_CPU, "[memory]\nmib = 1222\ntolerance_pct = 10\n", L_DISKS, L_NICS)}},
     "1100-1100 MiB memory"},
    {"no overlap: memory edges apart (1000±10% and 1223±10%)",
     {{"a.ini", L_SKU L_CPU "[memory]\nmib = 1000\ntolerance_pct = 10\n" L_DISKS L_NICS},
      {"b.ini", TWO(L_CPU, "[memory]\nmib = 1223\ntolerance_pct = 10\n", L_DISKS, L_NICS)}},
     NULL},
    {"no overlap: arch differs",
     {{"a.ini", GOOD}, {"b.ini", SKU2("aarch64", "bios") L_CPU L_MEM L_DISKS L_NICS}},
     NULL},
    {"no overlap: boot mode differs",
     {{"a.ini", GOOD}, {"b.ini", SKU2("x86_64", "uefi") L_CPU L_MEM L_DISKS L_NICS}},
     NULL},
    {"no overlap: disk kinds differ",
     {{"a.ini", L_SKU L_CPU L_MEM "[disks]\ncount = 1\nmin_size = 2GiB\nkind = ssd\n" L_NICS},
      {"b.ini", TWO(L_CPU, L_MEM, "[disks]\ncount = 1\nmin_size = 2GiB\nkind = hdd\n", L_NICS)}},
     NULL},
    {"overlap: disk kinds differ but both allow no disks",
     {{"a.ini", L_SKU L_CPU L_MEM "[disks]\ncount = 0-1\nmin_size = 2GiB\nkind = ssd\n" L_NICS},
      {"b.ini", TWO(L_CPU, L_MEM, "[disks]\ncount = 0-2\nmin_size = 2GiB\nkind = hdd\n", L_NICS)}},
     "no disks and 1 NIC"},
    {"overlap: kind any meets ssd",
     {{"a.ini", GOOD},
      {"b.ini", TWO(L_CPU, L_MEM, "[disks]\ncount = 1\nmin_size = 100GB\nkind = ssd\n", L_NICS)}},
     "1 disk (kind ssd, at least 100 GB each)"},
    {"overlap: NIC speed never separates",
     {{"a.ini", GOOD},
      {"b.ini", TWO(L_CPU, L_MEM, L_DISKS, "[nics]\ncount = 1-2\nmin_speed_mbps = 10000\n")}},
     "1 NIC (at least 10000 Mb/s each) would match both"},
};

static enum err_status load_case(const struct catalog_case *tc, struct err *e)
{
	char dir[512];
	struct sku_catalog *c = NULL;
	make_dir(dir, sizeof(dir));
	for (size_t i = 0; i < 3 && tc->files[i].name; i++)
		write_file(dir, tc->files[i].name, tc->files[i].text);
	enum err_status rc = sku_catalog_load_dir(dir, &c, e);
	if (rc == ERR_OK)
		assert_non_null(c);
	else
		assert_null(c);
	sku_catalog_free(c);
	remove_dir(dir);
	return rc;
}

static void test_catalog_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(catalog_cases) / sizeof(catalog_cases[0]); i++) {
		const struct catalog_case *tc = &catalog_cases[i];
		struct err e = {0};
		enum err_status rc = load_case(tc, &e);
		if (!tc->want && rc != ERR_OK)
			fail_msg("case \"%s\": want success, got: %s", tc->what, e.message);
		if (tc->want && rc != ERR_INVALID)
			fail_msg("case \"%s\": want error \"%s\", got %s", tc->what, tc->want,
				 err_status_name(rc));
		if (tc->want && !strstr(e.message, tc->want))
			fail_msg("case \"%s\":\n want ...%s...\n got  %s", tc->what, tc->want,
				 e.message);
	}
}

/* The error's field names the key at fault as "section.key" (a section
 * alone for section errors, nothing for syntax and catalog-wide errors). */
static void test_catalog_fields(void **state)
{
	(void)state;
	static const struct {
		const char *what, *text, *field;
	} cases[] = {
	    {"unknown key", L_SKU "[cpu]\ncoers = 2\n" L_MEM L_DISKS L_NICS, "cpu.coers"},
	    {"bad value", L_SKU "[cpu]\ncores = abc\n" L_MEM L_DISKS L_NICS, "cpu.cores"},
	    {"bad value in [memory]",
	     L_SKU L_CPU "[memory]\nmib = 1024\ntolerance_pct = 60\n" L_DISKS L_NICS,
	     "memory.tolerance_pct"},
	    {"duplicate key", L_SKU "[cpu]\ncores = 2\ncores = 4\n" L_MEM L_DISKS L_NICS,
	     "cpu.cores"},
	    {"missing key", L_SKU "[cpu]\n" L_MEM L_DISKS L_NICS, "cpu.cores"},
	    {"missing section", L_SKU L_CPU L_MEM L_DISKS, "nics.count"},
	    {"key outside a section", "name = x\n" GOOD, "name"},
	    {"unknown section", GOOD "[gpu]\ncount = 1\n", "gpu"},
	    {"duplicate section", GOOD "[cpu]\n", "cpu"},
	    {"syntax error", L_SKU "[cpu]\ncores 2\n" L_MEM L_DISKS L_NICS, ""},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct catalog_case tc = {cases[i].what, {{"t.ini", cases[i].text}}, ""};
		struct err e = {0};
		assert_int_equal(load_case(&tc, &e), ERR_INVALID);
		if (strcmp(e.field, cases[i].field))
			fail_msg("case \"%s\": want field \"%s\", got \"%s\" (%s)", cases[i].what,
				 cases[i].field, e.field, e.message);
	}
	struct catalog_case dup = {
	    "duplicate names", {{"a.ini", GOOD}, {"b.ini", GOOD}}, "duplicate SKU name"};
	struct err e = {0};
	assert_int_equal(load_case(&dup, &e), ERR_INVALID);
	assert_string_equal(e.field, "sku.name");
}

/* [sku] deploy and boot_override_mode: defaults, values, in the JSON. */
static void test_deploy_settings(void **state)
{
	(void)state;
	char dir[512];
	struct err e = {0};
	struct sku_catalog *c = NULL;
	make_dir(dir, sizeof(dir));
	write_file(dir, "a.ini", GOOD);
	write_file(
	    dir, "b.ini",
	    SKU2("x86_64",
		 "uefi") "deploy = vmedia\nboot_override_mode = uefi\nwarm_pool = 3\n" L_CPU L_MEM
		L_DISKS L_NICS);
	assert_int_equal(sku_catalog_load_dir(dir, &c, &e), ERR_OK);
	const struct sku *one = sku_catalog_find(c, "t.one"), *two = sku_catalog_find(c, "t.two");
	assert_string_equal(sku_deploy(one), "pxe");
	assert_string_equal(sku_boot_override_mode(one), "");
	assert_string_equal(sku_deploy(two), "vmedia");
	assert_string_equal(sku_boot_override_mode(two), "UEFI");
	assert_string_equal(sku_deploy(NULL), "pxe");
	assert_int_equal(sku_warm_pool(one), 0);
	assert_int_equal(sku_warm_pool(two), 3);
	char *text = sku_to_json(two);
	assert_non_null(strstr(text, "\"warm_pool\":3"));
	assert_non_null(strstr(text, "\"deploy\":\"vmedia\""));
	assert_non_null(strstr(text, "\"boot_override_mode\":\"UEFI\""));
	free(text);
	text = sku_to_json(one);
	assert_null(strstr(text, "boot_override_mode"));
	free(text);
	sku_catalog_free(c);
	remove_dir(dir);
}

static void test_missing_dir(void **state)
{
	(void)state;
	struct err e;
	struct sku_catalog *c = (struct sku_catalog *)&e; /* must be reset to NULL */
	assert_int_equal(sku_catalog_load_dir("/nonexistent/skus", &c, &e), ERR_IO);
	assert_null(c);
	assert_non_null(strstr(e.message, "/nonexistent/skus:0: cannot open directory"));
	/* No error struct at all is fine. */
	assert_int_equal(sku_catalog_load_dir("/nonexistent", &c, NULL), ERR_IO);
}

/* ---- the shipped catalog ---- */

static void test_shipped_catalog(void **state)
{
	(void)state;
	static const char *const names[] = {"compute.c1", "lab.large", "lab.small", "memory.m1",
					    "storage.s1"};
	struct sku_catalog *c = load_shipped();
	assert_int_equal(sku_catalog_count(c), 5);
	for (size_t i = 0; i < 5; i++) {
		const struct sku *s = sku_catalog_at(c, i);
		assert_string_equal(sku_name(s), names[i]); /* sorted by file name */
		assert_ptr_equal(sku_catalog_find(c, names[i]), s);
		assert_true(strlen(sku_description(s)) > 0);
		assert_non_null(strstr(sku_source_file(s), "skus/catalog/"));
	}
	assert_null(sku_catalog_at(c, 5));
	assert_null(sku_catalog_find(c, "lab.medium"));
	assert_null(sku_catalog_find(c, NULL));
	assert_int_equal(sku_catalog_count(NULL), 0);
	sku_catalog_free(c);
	sku_catalog_free(NULL);
}

static void test_sku_to_json(void **state)
{
	(void)state;
	struct sku_catalog *c = load_shipped();
	char *text = sku_to_json(sku_catalog_find(c, "lab.small"));
	assert_non_null(text);
	json_error_t je;
	json_t *j = json_loads(text, 0, &je);
	assert_non_null(j);
	json_int_t cores_min, cores_max, mib, tol, lo, hi, dmin, dmax, size, nmin, nmax, speed;
	const char *name, *arch, *boot, *kind;
	int rc =
	    json_unpack(j,
			"{s:s, s:s, s:s, s:{s:{s:I, s:I}}, s:{s:I, s:I, s:I, s:I},"
			" s:{s:{s:I, s:I}, s:s, s:I}, s:{s:{s:I, s:I}, s:I}}",
			"name", &name, "arch", &arch, "boot_mode", &boot, "cpu", "cores", "min",
			&cores_min, "max", &cores_max, "memory", "mib", &mib, "tolerance_pct", &tol,
			"min_mib", &lo, "max_mib", &hi, "disks", "count", "min", &dmin, "max",
			&dmax, "kind", &kind, "min_size_bytes", &size, "nics", "count", "min",
			&nmin, "max", &nmax, "min_speed_mbps", &speed);
	assert_int_equal(rc, 0);
	assert_string_equal(name, "lab.small");
	assert_string_equal(arch, "x86_64");
	assert_string_equal(boot, "bios");
	assert_string_equal(kind, "any");
	assert_true(cores_min == 1 && cores_max == 1 && mib == 512 && tol == 15);
	assert_true(lo == 436 && hi == 588); /* ceil(435.2), floor(588.8) */
	assert_true(dmin == 1 && dmax == 1 && size == 2147483648LL);
	assert_true(nmin == 1 && nmax == 1 && speed == 0);
	json_decref(j);
	free(text);
	assert_null(sku_to_json(NULL));
	sku_catalog_free(c);
}

/* ---- table: facts -> SKU or reasons ---- */

#define DISK(name, size, kind)                                                                     \
	"{\"name\":\"" name "\",\"size_bytes\":" #size ",\"rotational\":false,\"kind\":\"" kind    \
	"\",\"model\":\"\",\"serial\":\"s\"}"
#define NIC(name, speed)                                                                           \
	"{\"name\":\"" name "\",\"mac\":\"52:54:00:12:34:56\",\"speed_mbps\":" #speed "}"
#define HDD16T(n) DISK(n, 16000900661248, "hdd")
#define HDD16T_X4(a, b, c, d) HDD16T(a) "," HDD16T(b) "," HDD16T(c) "," HDD16T(d)
#define HDD16T_X12                                                                                 \
	HDD16T_X4("sda", "sdb", "sdc", "sdd")                                                      \
	"," HDD16T_X4("sde", "sdf", "sdg", "sdh") "," HDD16T_X4("sdi", "sdj", "sdk", "sdl")
#define NVME960(n) DISK(n, 960197124096, "nvme")
#define NIC25G NIC("eth0", 25000) "," NIC("eth1", 25000)

struct hw {
	const char *arch;
	const char *boot;
	int cores;
	long long mib;
	const char *disks; /* JSON array items */
	const char *nics;
};

struct match_case {
	const char *what;
	struct hw hw;
	const char *want_sku;	/* NULL: unmatched */
	const char *reasons[3]; /* substrings of the reasons when unmatched */
};

static const struct match_case match_cases[] = {
    {"lab.small VM",
     {"x86_64", "bios", 1, 512, DISK("vda", 4294967296, "ssd"), NIC("eth0", -1)},
     "lab.small",
     {0}},
    {"lab.small VM, MemTotal and rotational",
     {"x86_64", "bios", 1, 480, DISK("vda", 2147483648, "hdd"), NIC("eth0", -1)},
     "lab.small",
     {0}},
    {"lab.small lower memory edge",
     {"x86_64", "bios", 1, 436, DISK("vda", 2147483648, "ssd"), NIC("eth0", -1)},
     "lab.small",
     {0}},
    {"below the lower memory edge",
     {"x86_64", "bios", 1, 435, DISK("vda", 2147483648, "ssd"), NIC("eth0", -1)},
     NULL,
     {"lab.small: memory 435 MiB outside 512 MiB ±15% (436-588 MiB)"}},
    {"lab.large VM",
     {"x86_64", "bios", 2, 1000, DISK("vda", 4294967296, "ssd") "," DISK("vdb", 4294967296, "hdd"),
      NIC("eth0", -1)},
     "lab.large",
     {0}},
    {"compute.c1",
     {"x86_64", "uefi", 48, 262144, NVME960("nvme0n1") "," NVME960("nvme1n1"), NIC25G},
     "compute.c1",
     {0}},
    {"memory.m1 reporting a bit less",
     {"x86_64", "uefi", 64, 1040000, NVME960("nvme0n1") "," NVME960("nvme1n1"), NIC25G},
     "memory.m1",
     {0}},
    {"storage.s1", {"x86_64", "uefi", 24, 131072, HDD16T_X12, NIC25G}, "storage.s1", {0}},
    {"too much memory for a lab VM",
     {"x86_64", "bios", 1, 2048, DISK("vda", 4294967296, "ssd"), NIC("eth0", -1)},
     NULL,
     {"lab.small: memory 2048 MiB outside 512 MiB ±15% (436-588 MiB)\n",
      "lab.large: cpu cores 1, want 2; memory 2048 MiB outside 1024 MiB ±15% (871-1177 MiB); disk "
      "count 1, want 2\n",
      "compute.c1: boot mode bios, want uefi; cpu cores 1, want 32-64;"}},
    {"lab VM in UEFI mode",
     {"x86_64", "uefi", 1, 512, DISK("vda", 4294967296, "ssd"), NIC("eth0", -1)},
     NULL,
     {"lab.small: boot mode uefi, want bios\n"}},
    {"disk too small",
     {"x86_64", "bios", 1, 512, DISK("vda", 2040109466, "ssd"), NIC("eth0", -1)},
     NULL,
     {"lab.small: disk vda: size 1.9 GiB, want at least 2 GiB\n"}},
    {"wrong arch",
     {"aarch64", "bios", 1, 512, DISK("vda", 4294967296, "ssd"), NIC("eth0", -1)},
     NULL,
     {"lab.small: arch aarch64, want x86_64\n"}},
    {"compute with unknown NIC speed",
     {"x86_64", "uefi", 48, 262144, NVME960("nvme0n1") "," NVME960("nvme1n1"),
      NIC("eth0", -1) "," NIC("eth1", 10000)},
     NULL,
     {"compute.c1: NIC eth0: speed unknown, want at least 25000 Mb/s; NIC eth1: 10000 Mb/s, want "
      "at least 25000 Mb/s\n"}},
    {"compute with SATA SSDs and a third disk",
     {"x86_64", "uefi", 48, 262144,
      DISK("sda", 960197124096, "ssd") "," NVME960("nvme0n1") "," NVME960("nvme1n1"), NIC25G},
     NULL,
     {"compute.c1: disk count 3, want 2; disk sda: kind ssd, want nvme\n"}},
    {"compute with small NVMe",
     {"x86_64", "uefi", 48, 262144, NVME960("nvme0n1") "," DISK("nvme1n1", 480103981056, "nvme"),
      NIC25G},
     NULL,
     {"compute.c1: disk nvme1n1: size 480.1 GB, want at least 960 GB\n"}},
    {"storage short of disks",
     {"x86_64", "uefi", 24, 131072, HDD16T_X4("sda", "sdb", "sdc", "sdd"), NIC25G},
     NULL,
     {"storage.s1: disk count 4, want 12-24\n"}},
    {"no disks, no NICs",
     {"x86_64", "bios", 1, 512, "", ""},
     NULL,
     {"lab.small: disk count 0, want 1; NIC count 0, want 1\n"}},
    {"many bad disks are summarized",
     {"x86_64", "uefi", 24, 131072,
      DISK("sda", 1, "ssd") "," DISK("sdb", 1, "ssd") "," DISK("sdc", 1, "ssd") "," DISK("sdd", 1, "ssd") "," DISK(
	  "sde", 1,
	  "ssd") "," DISK("sdf", 1,
			  "ssd") "," DISK("sdg", 1,
					  "ssd") "," DISK("sdh", 1,
							  "ssd") "," DISK("sdi", 1,
									  "ssd") "," DISK("sdj", 1,
											  "ssd") "," DISK("sdk",
													  1,
													  "ssd") "," DISK("sdl",
															  1,
															  "ssd"),
      NIC25G},
     NULL,
     {"storage.s1: disk sda: kind ssd, want hdd; disk sda: size 1 B, want at least 16 TB; disk "
      "sdb: kind ssd, want hdd; 21 more disk problems\n"}},
};

static char *facts_json(const struct hw *hw)
{
	static const char fmt[] = "{\"arch\":\"%s\",\"boot_mode\":\"%s\",\"cpu\":{\"cores\":%d,"
				  "\"model\":\"QEMU\"},\"memory_mib\":%lld,\"disks\":[%s],"
				  "\"nics\":[%s],\"dmi\":{\"vendor\":\"QEMU\"}}";
	int n = snprintf(NULL, 0, fmt, hw->arch, hw->boot, hw->cores, hw->mib, hw->disks, hw->nics);
	assert_true(n > 0);
	char *text = malloc((size_t)n + 1);
	assert_non_null(text);
	snprintf(text, (size_t)n + 1, fmt, hw->arch, hw->boot, hw->cores, hw->mib, hw->disks,
		 hw->nics);
	return text;
}

/* Unmatched reasons: one line per SKU, each "name: ...", in catalog order. */
static void check_reason_lines(const struct sku_catalog *c, const char *reasons)
{
	char *copy = strdup(reasons);
	assert_non_null(copy);
	size_t i = 0;
	char *save = NULL;
	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		const char *name = sku_name(sku_catalog_at(c, i++));
		assert_non_null(name);
		assert_int_equal(strncmp(line, name, strlen(name)), 0);
		assert_int_equal(line[strlen(name)], ':');
	}
	assert_int_equal(i, sku_catalog_count(c));
	free(copy);
}

static void run_match_case(const struct sku_catalog *c, const struct match_case *tc)
{
	char *facts = facts_json(&tc->hw);
	const struct sku *got = NULL;
	char *reasons = NULL;
	int rc = sku_match_json(c, facts, &got, &reasons);
	if (tc->want_sku) {
		if (rc != 0)
			fail_msg("case \"%s\": want %s, got rc %d: %s", tc->what, tc->want_sku, rc,
				 reasons ? reasons : "");
		assert_string_equal(sku_name(got), tc->want_sku);
		assert_null(reasons);
		assert_int_equal(sku_check_json(got, facts, NULL), 0);
	} else {
		if (rc != 1)
			fail_msg("case \"%s\": want unmatched, got rc %d (%s)", tc->what, rc,
				 got ? sku_name(got) : reasons);
		assert_null(got);
		/* A trailing newline in a wanted substring pins the end of its line. */
		char *text = NULL;
		assert_true(asprintf(&text, "%s\n", reasons) > 0);
		for (size_t k = 0; k < 3 && tc->reasons[k]; k++) {
			if (!strstr(text, tc->reasons[k]))
				fail_msg("case \"%s\":\n want ...%s...\n got\n%s", tc->what,
					 tc->reasons[k], reasons);
		}
		check_reason_lines(c, reasons);
		free(text);
	}
	free(reasons);
	free(facts);
}

static void test_match_table(void **state)
{
	(void)state;
	struct sku_catalog *c = load_shipped();
	for (size_t i = 0; i < sizeof(match_cases) / sizeof(match_cases[0]); i++)
		run_match_case(c, &match_cases[i]);
	sku_catalog_free(c);
}

/* ---- table: invalid facts -> -1 naming the field ---- */

#define F_OK_HEAD                                                                                  \
	"{\"arch\":\"x86_64\",\"boot_mode\":\"bios\",\"cpu\":{\"cores\":1},\"memory_mib\":512,"
#define F_OK_DISKS "\"disks\":[" DISK("vda", 4294967296, "ssd") "],"
#define F_OK_NICS "\"nics\":[" NIC("eth0", -1) "]}"

static const struct {
	const char *json;
	const char *want; /* prefix of the message */
} invalid_cases[] = {
    {F_OK_HEAD F_OK_DISKS F_OK_NICS, NULL}, /* the base case is valid */
    {"", "facts: invalid JSON"},
    {"{\"arch\":", "facts: invalid JSON"},
    {"[]", "facts: must be a JSON object"},
    {"{\"arch\":\"x86_64\",\"arch\":\"x86_64\"}", "facts: invalid JSON"},
    {"{\"boot_mode\":\"bios\"}", "arch: "},
    {"{\"arch\":7}", "arch: "},
    {"{\"arch\":\"x86_64\",\"boot_mode\":\"efi\"}", "boot_mode: "},
    {"{\"arch\":\"x86_64\",\"boot_mode\":\"bios\",\"memory_mib\":512}", "cpu: "},
    {"{\"arch\":\"x86_64\",\"boot_mode\":\"bios\",\"cpu\":{\"cores\":\"2\"}}", "cpu.cores: "},
    {"{\"arch\":\"x86_64\",\"boot_mode\":\"bios\",\"cpu\":{\"cores\":0}}", "cpu.cores: "},
    {"{\"arch\":\"x86_64\",\"boot_mode\":\"bios\",\"cpu\":{\"cores\":1},\"memory_mib\":1.5}",
     "memory_mib: "},
    {F_OK_HEAD "\"disks\":{}," F_OK_NICS, "disks: "},
    {F_OK_HEAD "\"disks\":[5]," F_OK_NICS, "disks[0]: must be an object"},
    {F_OK_HEAD "\"disks\":[" DISK("vda", 1, "ssd") "," DISK("vdb", -1, "ssd") "]," F_OK_NICS,
     "disks[1].size_bytes: "},
    {F_OK_HEAD "\"disks\":[" DISK("vda", 1, "any") "]," F_OK_NICS, "disks[0].kind: "},
    {F_OK_HEAD "\"disks\":[{\"name\":3,\"size_bytes\":1,\"kind\":\"ssd\"}]," F_OK_NICS,
     "disks[0].name: "},
    {F_OK_HEAD F_OK_DISKS "\"x\":1}", "nics: "},
    {F_OK_HEAD F_OK_DISKS "\"nics\":[" NIC("eth0", -2) "]}", "nics[0].speed_mbps: "},
    {F_OK_HEAD F_OK_DISKS "\"nics\":[" NIC("eth0", 1e3) "]}", "nics[0].speed_mbps: "},
};

static void test_invalid_facts(void **state)
{
	(void)state;
	struct sku_catalog *c = load_shipped();
	for (size_t i = 0; i < sizeof(invalid_cases) / sizeof(invalid_cases[0]); i++) {
		const struct sku *got = (const struct sku *)c; /* must be reset */
		char *msg = NULL;
		int rc = sku_match_json(c, invalid_cases[i].json, &got, &msg);
		const char *want = invalid_cases[i].want;
		if (!want) {
			assert_int_equal(rc, 0);
			continue;
		}
		if (rc != -1 || !msg || strncmp(msg, want, strlen(want)) != 0)
			fail_msg("facts %s:\n want rc -1 and \"%s...\"\n got rc %d \"%s\"",
				 invalid_cases[i].json, want, rc, msg ? msg : "(null)");
		assert_null(got);
		free(msg);
		assert_int_equal(sku_match_json(c, invalid_cases[i].json, NULL, NULL), -1);
		assert_int_equal(sku_check_json(sku_catalog_at(c, 0), invalid_cases[i].json, &msg),
				 -1);
		free(msg);
	}
	char *msg = NULL;
	assert_int_equal(sku_match_json(c, NULL, NULL, &msg), -1);
	free(msg);
	sku_catalog_free(c);
}

/* Every truncation of valid input is refused cleanly (no crash, no leak
 * under the sanitizers); a poor man's fuzz of both parsers. */
static void test_truncations(void **state)
{
	(void)state;
	struct sku_catalog *c = load_shipped();
	char *facts = sku_example_facts_json(sku_catalog_find(c, "storage.s1"), NULL);
	assert_non_null(facts);
	for (size_t i = 0; i < strlen(facts); i++) {
		char *prefix = strndup(facts, i), *msg = NULL;
		assert_int_equal(sku_match_json(c, prefix, NULL, &msg), -1);
		assert_non_null(msg);
		free(msg);
		free(prefix);
	}
	free(facts);
	sku_catalog_free(c);
	char dir[512];
	struct err e = {0};
	static const char good[] = GOOD;
	make_dir(dir, sizeof(dir));
	for (size_t i = 0; i < sizeof(good) - 2; i++) { /* all but the last newline */
		char *prefix = strndup(good, i);
		write_file(dir, "t.ini", prefix);
		assert_int_equal(sku_catalog_load_dir(dir, &c, &e), ERR_INVALID);
		assert_non_null(strstr(e.message, "t.ini:"));
		free(prefix);
	}
	remove_dir(dir);
}

/* ---- example facts ---- */

static void check_example(const struct sku_catalog *c, const struct sku *s)
{
	char *facts = sku_example_facts_json(s, "52:54:00:AB:cd:ff");
	assert_non_null(facts);
	const struct sku *got = NULL;
	char *reasons = NULL;
	int rc = sku_match_json(c, facts, &got, &reasons);
	if (rc != 0)
		fail_msg("%s: example facts do not match (rc %d): %s\n%s", sku_name(s), rc,
			 reasons ? reasons : "", facts);
	assert_ptr_equal(got, s);
	for (size_t i = 0; i < sku_catalog_count(c); i++) {
		const struct sku *other = sku_catalog_at(c, i);
		assert_int_equal(sku_check_json(other, facts, NULL), other == s ? 0 : 1);
	}
	json_t *j = json_loads(facts, 0, NULL);
	assert_non_null(j);
	json_t *nics = json_object_get(j, "nics");
	assert_true(json_array_size(nics) >= 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(nics, 0), "mac")),
			    "52:54:00:ab:cd:ff");
	if (json_array_size(nics) > 1) /* further NICs count up, carrying */
		assert_string_equal(
		    json_string_value(json_object_get(json_array_get(nics, 1), "mac")),
		    "52:54:00:ab:ce:00");
	json_decref(j);
	char *again = sku_example_facts_json(s, "52:54:00:ab:cd:ff");
	assert_string_equal(again, facts); /* deterministic, MAC case-insensitive */
	free(again);
	free(facts);
}

static void test_example_round_trip(void **state)
{
	(void)state;
	struct sku_catalog *c = load_shipped();
	for (size_t i = 0; i < sku_catalog_count(c); i++)
		check_example(c, sku_catalog_at(c, i));
	const struct sku *lab = sku_catalog_find(c, "lab.small");
	char *facts = sku_example_facts_json(lab, NULL);
	assert_non_null(facts);
	assert_non_null(strstr(facts, "\"mac\":\"02:00:00:00:00:01\""));
	assert_non_null(strstr(facts, "\"speed_mbps\":-1")); /* like a lab VM */
	free(facts);
	assert_null(sku_example_facts_json(lab, "52:54:00:ab:cd"));
	assert_null(sku_example_facts_json(lab, "52:54:00:ab:cd:zz"));
	assert_null(sku_example_facts_json(lab, "52-54-00-ab-cd-ef"));
	assert_null(sku_example_facts_json(NULL, NULL));
	sku_catalog_free(c);
}

static void test_example_storage_names(void **state)
{
	(void)state;
	struct sku_catalog *c = load_shipped();
	char *facts = sku_example_facts_json(sku_catalog_find(c, "storage.s1"), NULL);
	json_t *j = json_loads(facts, 0, NULL);
	json_t *disks = json_object_get(j, "disks");
	assert_int_equal(json_array_size(disks), 12);
	assert_string_equal(json_string_value(json_object_get(json_array_get(disks, 11), "name")),
			    "sdl");
	assert_true(json_is_true(json_object_get(json_array_get(disks, 0), "rotational")));
	json_decref(j);
	free(facts);
	sku_catalog_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_catalog_table),	  cmocka_unit_test(test_catalog_fields),
	    cmocka_unit_test(test_deploy_settings),	  cmocka_unit_test(test_missing_dir),
	    cmocka_unit_test(test_shipped_catalog),	  cmocka_unit_test(test_sku_to_json),
	    cmocka_unit_test(test_match_table),		  cmocka_unit_test(test_invalid_facts),
	    cmocka_unit_test(test_truncations),		  cmocka_unit_test(test_example_round_trip),
	    cmocka_unit_test(test_example_storage_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
