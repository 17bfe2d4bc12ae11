/* pxe: iPXE scripts and dnsmasq configs against golden files, dnsmasq's own
 * syntax check, and a table of invalid inputs.
 * PROVISIOND_UPDATE_GOLDEN=1 rewrites tests/unit/pxe_golden/ instead. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pxe/pxe.h"

#define BOOT_URL "http://10.213.77.1:7481"
#define MACHINE "6f1c2a4e-0b7d-4d43-9a51-2f0c8e1d3b77"
#define TOKEN "bt_Zm9vYmFyYmF6-qux.123"

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = malloc((size_t)n + 1)) && fread(buf, 1, (size_t)n, f) == (size_t)n) {
		buf[n] = '\0';
	} else {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

static void golden_path(const char *name, char *out, size_t size)
{
	const char *src = getenv("PROVISIOND_SOURCE_DIR");

	if (src && *src)
		snprintf(out, size, "%s/tests/unit/pxe_golden/%s", src, name);
	else /* run by hand: the golden dir sits beside this file */
		snprintf(out, size, "%.*s/pxe_golden/%s", (int)(strrchr(__FILE__, '/') - __FILE__),
			 __FILE__, name);
}

static void check_golden(const char *name, const char *got)
{
	const char *update = getenv("PROVISIOND_UPDATE_GOLDEN");
	char path[4096];
	char *want;
	FILE *f;

	golden_path(name, path, sizeof(path));
	if (update && !strcmp(update, "1")) {
		f = fopen(path, "wb");
		assert_non_null(f);
		assert_int_equal(fputs(got, f) >= 0, 1);
		assert_int_equal(fclose(f), 0);
		return;
	}
	want = read_file(path);
	if (!want)
		fail_msg("%s: missing (run with PROVISIOND_UPDATE_GOLDEN=1)", path);
	if (strcmp(want, got))
		fail_msg("%s differs.\n--- want\n%s--- got\n%s", path, want, got);
	free(want);
}

/* Writes conf to a temp file and runs dnsmasq --test on it. */
static void check_dnsmasq_accepts(const char *conf)
{
	char path[] = "/tmp/pxe-test-conf-XXXXXX";
	struct err e = {0};
	char *bin = pxe_dnsmasq_find();
	int fd;

	if (!bin) {
		print_message("dnsmasq not installed: skipping dnsmasq --test\n");
		return;
	}
	free(bin);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, conf, strlen(conf)), (ssize_t)strlen(conf));
	close(fd);
	if (pxe_dnsmasq_test(path, &e) != ERR_OK)
		fail_msg("dnsmasq rejected the config: %s\n%s", e.message, conf);
	unlink(path);
}

static struct pxe_script_params agent_params(void)
{
	return (struct pxe_script_params){
	    .kind = PXE_BOOT_AGENT,
	    .boot_url = BOOT_URL "/",
	    .machine_id = MACHINE,
	    .machine_name = "rack1-node07",
	    .state = "deploying",
	    .token = TOKEN,
	    .mac = "52-54-00-12-34-56",
	    .extra_args = "ipv6.disable=1 quiet",
	    .heartbeat_s = 15,
	};
}

static void test_script_golden(void **state)
{
	struct {
		const char *golden;
		struct pxe_script_params p;
	} cases[] = {
	    {"script_agent.ipxe", agent_params()},
	    {"script_agent_minimal.ipxe",
	     {.kind = PXE_BOOT_AGENT, .boot_url = BOOT_URL, .machine_id = MACHINE, .token = TOKEN}},
	    {"script_discover.ipxe",
	     {.kind = PXE_BOOT_DISCOVER, .boot_url = BOOT_URL, .mac = "52:54:00:AB:CD:EF"}},
	    {"script_local_disk.ipxe",
	     {.kind = PXE_BOOT_LOCAL_DISK,
	      .machine_id = MACHINE,
	      .machine_name = "rack1-node07",
	      .state = "active",
	      .mac = "52:54:00:12:34:56"}},
	    {"script_ignore.ipxe", {.kind = PXE_BOOT_IGNORE, .mac = "52:54:00:ab:cd:ef"}},
	};
	struct err e = {0};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *s = NULL;

		if (pxe_render_script(&cases[i].p, &s, &e) != ERR_OK)
			fail_msg("%s: %s", cases[i].golden, e.message);
		assert_int_equal(strncmp(s, "#!ipxe\n", 7), 0);
		check_golden(cases[i].golden, s);
		free(s);
	}
}

/* Properties the golden files must keep, checked independently of them. */
static void test_script_contents(void **state)
{
	struct pxe_script_params p = agent_params();
	struct err e = {0};
	char *s = NULL;

	(void)state;
	assert_int_equal(pxe_render_script(&p, &s, &e), ERR_OK);
	assert_non_null(s);
	assert_non_null(strstr(s, "kernel " BOOT_URL "/boot/vmlinuz "));
	assert_non_null(strstr(s, "initrd " BOOT_URL "/boot/initramfs "));
	assert_non_null(strstr(s, " provisiond.url=" BOOT_URL " provisiond.mode=agent"
				  " provisiond.machine=" MACHINE " provisiond.token=" TOKEN
				  " provisiond.heartbeat=15 console=ttyS0,115200n8"
				  " ipv6.disable=1 quiet "));
	assert_non_null(strstr(s, ":retry\n"));
	assert_non_null(strstr(s, "goto retry\n"));
	assert_non_null(strstr(s, "\nreboot\n"));
	free(s);

	p = (struct pxe_script_params){
	    .kind = PXE_BOOT_DISCOVER, .boot_url = BOOT_URL, .machine_id = NULL, .token = NULL};
	assert_int_equal(pxe_render_script(&p, &s, &e), ERR_OK);
	assert_non_null(s);
	assert_non_null(strstr(s, "provisiond.mode=discover provisiond.heartbeat=10 "));
	assert_null(strstr(s, "provisiond.machine="));
	assert_null(strstr(s, "provisiond.token="));
	free(s);

	p = (struct pxe_script_params){.kind = PXE_BOOT_LOCAL_DISK};
	assert_int_equal(pxe_render_script(&p, &s, &e), ERR_OK);
	assert_non_null(s);
	assert_non_null(strstr(s, "\nsanboot --no-describe --drive 0x80 || exit\n"));
	assert_null(strstr(s, "kernel"));
	free(s);
}

static void test_script_invalid(void **state)
{
	struct {
		const char *field;
		struct pxe_script_params p;
	} cases[] = {
	    {"kind", {.kind = (enum pxe_boot_kind)99}},
	    {"boot_url", {.kind = PXE_BOOT_DISCOVER}},
	    {"boot_url", {.kind = PXE_BOOT_DISCOVER, .boot_url = "ftp://10.0.0.1"}},
	    {"boot_url", {.kind = PXE_BOOT_DISCOVER, .boot_url = "http://10.0.0.1/a b"}},
	    {"boot_url", {.kind = PXE_BOOT_DISCOVER, .boot_url = "http://10.0.0.1/${x}"}},
	    {"boot_url", {.kind = PXE_BOOT_DISCOVER, .boot_url = "http://10.0.0.1\n"}},
	    {"boot_url", {.kind = PXE_BOOT_DISCOVER, .boot_url = "http:///boot"}},
	    {"machine_id", {.kind = PXE_BOOT_AGENT, .boot_url = BOOT_URL, .token = TOKEN}},
	    {"machine_id",
	     {.kind = PXE_BOOT_AGENT, .boot_url = BOOT_URL, .machine_id = "a b", .token = TOKEN}},
	    {"token", {.kind = PXE_BOOT_AGENT, .boot_url = BOOT_URL, .machine_id = MACHINE}},
	    {"token",
	     {.kind = PXE_BOOT_AGENT,
	      .boot_url = BOOT_URL,
	      .machine_id = MACHINE,
	      .token = "abc\ninitrd http://evil/x"}},
	    {"token",
	     {.kind = PXE_BOOT_AGENT,
	      .boot_url = BOOT_URL,
	      .machine_id = MACHINE,
	      .token = "abc def"}},
	    {"extra_args",
	     {.kind = PXE_BOOT_DISCOVER, .boot_url = BOOT_URL, .extra_args = "quiet\nreboot"}},
	    {"extra_args",
	     {.kind = PXE_BOOT_DISCOVER, .boot_url = BOOT_URL, .extra_args = "x=${net0/ip}"}},
	    {"extra_args",
	     {.kind = PXE_BOOT_DISCOVER,
	      .boot_url = BOOT_URL,
	      .extra_args = "quiet provisiond.mode=agent"}},
	    /* iPXE would run what follows these words as its own command */
	    {"extra_args",
	     {.kind = PXE_BOOT_DISCOVER, .boot_url = BOOT_URL, .extra_args = "quiet || shell"}},
	    {"extra_args", {.kind = PXE_BOOT_DISCOVER, .boot_url = BOOT_URL, .extra_args = "&& x"}},
	    {"extra_args", {.kind = PXE_BOOT_DISCOVER, .boot_url = BOOT_URL, .extra_args = "a ;"}},
	    {"heartbeat_s", {.kind = PXE_BOOT_DISCOVER, .boot_url = BOOT_URL, .heartbeat_s = -1}},
	    {"heartbeat_s", {.kind = PXE_BOOT_DISCOVER, .boot_url = BOOT_URL, .heartbeat_s = 3601}},
	    {"mac", {.kind = PXE_BOOT_IGNORE, .mac = "52:54:00:12:34"}},
	    {"mac", {.kind = PXE_BOOT_IGNORE, .mac = "52:54:00:12:34:zz"}},
	    {"mac", {.kind = PXE_BOOT_IGNORE, .mac = "52:54-00:12:34:56"}},
	    {"machine_name", {.kind = PXE_BOOT_LOCAL_DISK, .machine_name = "node\n#!ipxe"}},
	    {"state", {.kind = PXE_BOOT_LOCAL_DISK, .state = "act ive"}},
	};
	struct err e;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *s = NULL;

		err_clear(&e);
		if (pxe_render_script(&cases[i].p, &s, &e) != ERR_INVALID || s)
			fail_msg("case %zu (%s): accepted:\n%s", i, cases[i].field, s);
		if (strncmp(e.message, cases[i].field, strlen(cases[i].field)) ||
		    e.message[strlen(cases[i].field)] != ':' || strcmp(e.field, cases[i].field))
			fail_msg("case %zu: want an error naming %s, got \"%s\" (field \"%s\")", i,
				 cases[i].field, e.message, e.field);
	}
	char *none = NULL;
	assert_int_equal(pxe_render_script(NULL, &none, NULL), ERR_INVALID);
	assert_null(none);
}

static struct pxe_dnsmasq_params full_params(void)
{
	return (struct pxe_dnsmasq_params){
	    .mode = PXE_DHCP_FULL,
	    .interface = "br-prov",
	    .boot_url = BOOT_URL,
	    .range_start = "10.213.77.100",
	    .range_end = "10.213.77.150",
	    .netmask = "255.255.255.0",
	    .lease_time = "1h",
	    .tftp_root = "/var/lib/provisiond/tftp",
	    .hosts_dir = "/var/lib/provisiond/dhcp-hosts",
	    .pid_file = "/run/provisiond/dnsmasq.pid",
	    .lease_file = "/var/lib/provisiond/dnsmasq.leases",
	    .log_file = "/var/log/provisiond/dnsmasq.log",
	    .run_as_root = true,
	    .log_dhcp = true,
	};
}

static struct pxe_dnsmasq_params proxy_params(void)
{
	return (struct pxe_dnsmasq_params){
	    .mode = PXE_DHCP_PROXY,
	    .interface = "eno1",
	    .boot_url = "http://192.168.10.5:7481",
	    .network = "192.168.10.0",
	    .netmask = "255.255.255.0",
	    .tftp_root = "/var/lib/provisiond/tftp",
	    .pid_file = "/run/provisiond/dnsmasq.pid",
	    .log_file = "/var/log/provisiond/dnsmasq.log",
	};
}

static void test_conf_golden(void **state)
{
	struct {
		const char *golden;
		struct pxe_dnsmasq_params p;
	} cases[] = {
	    {"dnsmasq_full.conf", full_params()},
	    {"dnsmasq_full_ra.conf", full_params()},
	    {"dnsmasq_proxy.conf", proxy_params()},
	    {"dnsmasq_proxy_ra.conf", proxy_params()},
	    {"dnsmasq_off.conf",
	     {.mode = PXE_DHCP_OFF, .interface = "lo", .tftp_root = "/srv/tftp", .log_file = "-"}},
	};
	struct err e = {0};

	(void)state;
	cases[1].p.ipv6_ra = cases[3].p.ipv6_ra = true;
	cases[1].p.router = "10.213.77.1";
	cases[1].p.only_known = true;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *s = NULL;

		if (pxe_dnsmasq_conf(&cases[i].p, &s, &e) != ERR_OK)
			fail_msg("%s: %s", cases[i].golden, e.message);
		check_golden(cases[i].golden, s);
		check_dnsmasq_accepts(s);
		/* The iPXE URL must reach dnsmasq with ${net0/mac} verbatim. */
		if (cases[i].p.mode != PXE_DHCP_OFF)
			assert_non_null(strstr(s, "/boot.ipxe?mac=${net0/mac}\n"));
		assert_int_equal(strstr(s, "enable-ra\n") != NULL, cases[i].p.ipv6_ra);
		assert_int_equal(strstr(s, "dhcp-authoritative\n") != NULL,
				 cases[i].p.mode == PXE_DHCP_FULL);
		free(s);
	}
}

#define SLOT(name) offsetof(struct pxe_dnsmasq_params, name)

static const char long_url[] = "http://10.213.77.1:7481/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
			       "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

/* Each case starts from a valid config of `mode` and sets one string field. */
static const struct {
	const char *field;
	enum pxe_dhcp_mode mode;
	size_t slot;
	const char *value;
} conf_cases[] = {
    {"interface", PXE_DHCP_FULL, SLOT(interface), NULL},
    {"interface", PXE_DHCP_FULL, SLOT(interface), "eth 0"},
    {"interface", PXE_DHCP_FULL, SLOT(interface), "a-very-long-ifname"},
    {"boot_url", PXE_DHCP_FULL, SLOT(boot_url), NULL},
    {"boot_url", PXE_DHCP_FULL, SLOT(boot_url), "10.0.0.1:7481"},
    {"boot_url", PXE_DHCP_PROXY, SLOT(boot_url), "http://10.0.0.1,7481"},
    {"boot_url", PXE_DHCP_PROXY, SLOT(boot_url), "http://10.0.0.1/#x"},
    {"boot_url", PXE_DHCP_FULL, SLOT(boot_url), long_url},
    {"range_start", PXE_DHCP_FULL, SLOT(range_start), "10.213.77"},
    {"range_start", PXE_DHCP_FULL, SLOT(range_start), NULL},
    {"range_end", PXE_DHCP_FULL, SLOT(range_end), "10.213.77.10"},
    {"range_end", PXE_DHCP_FULL, SLOT(range_end), "10.213.78.10"},
    {"range_end", PXE_DHCP_FULL, SLOT(range_end), "10.213.77.256"},
    {"netmask", PXE_DHCP_FULL, SLOT(netmask), "255.0.255.0"},
    {"netmask", PXE_DHCP_FULL, SLOT(netmask), NULL},
    {"lease_time", PXE_DHCP_FULL, SLOT(lease_time), "1x"},
    {"lease_time", PXE_DHCP_FULL, SLOT(lease_time), "1h,static"},
    {"router", PXE_DHCP_FULL, SLOT(router), "gateway"},
    {"network", PXE_DHCP_PROXY, SLOT(network), NULL},
    {"network", PXE_DHCP_PROXY, SLOT(network), "192.168.10.7"},
    {"netmask", PXE_DHCP_PROXY, SLOT(netmask), "255.255.0.255"},
    {"tftp_root", PXE_DHCP_FULL, SLOT(tftp_root), NULL},
    {"tftp_root", PXE_DHCP_PROXY, SLOT(tftp_root), "tftp"},
    {"tftp_root", PXE_DHCP_FULL, SLOT(tftp_root), "/srv/tftp,eth1"},
    {"hosts_dir", PXE_DHCP_FULL, SLOT(hosts_dir), "/srv/hosts\nenable-dbus"},
    {"hosts_dir", PXE_DHCP_FULL, SLOT(hosts_dir), "/srv/hosts\n"},
    {"pid_file", PXE_DHCP_FULL, SLOT(pid_file), "/run/dnsmasq pid"},
    {"lease_file", PXE_DHCP_FULL, SLOT(lease_file), "leases"},
    {"log_file", PXE_DHCP_FULL, SLOT(log_file), "/var/log/x#y"},
};

static void test_conf_invalid(void **state)
{
	struct err e;
	struct pxe_dnsmasq_params p;
	char *s = NULL;

	(void)state;
	for (size_t i = 0; i < sizeof(conf_cases) / sizeof(conf_cases[0]); i++) {
		p = conf_cases[i].mode == PXE_DHCP_FULL ? full_params() : proxy_params();
		memcpy((char *)&p + conf_cases[i].slot, &conf_cases[i].value,
		       sizeof(conf_cases[i].value));
		err_clear(&e);
		if (pxe_dnsmasq_conf(&p, &s, &e) != ERR_INVALID || s)
			fail_msg("case %zu (%s): accepted:\n%s", i, conf_cases[i].field, s);
		if (strncmp(e.message, conf_cases[i].field, strlen(conf_cases[i].field)) ||
		    e.message[strlen(conf_cases[i].field)] != ' ' ||
		    strcmp(e.field, conf_cases[i].field))
			fail_msg("case %zu: want an error naming %s, got \"%s\" (field \"%s\")", i,
				 conf_cases[i].field, e.message, e.field);
		if (!strchr(e.message, '('))
			fail_msg("case %zu: error does not name the dnsmasq option: %s", i,
				 e.message);
	}
	p = full_params();
	p.mode = (enum pxe_dhcp_mode)7;
	assert_int_equal(pxe_dnsmasq_conf(&p, &s, &e), ERR_INVALID);
	assert_null(s);
	assert_int_equal(strncmp(e.message, "mode:", 5), 0);
	assert_string_equal(e.field, "mode");
}

static void test_dnsmasq_test_rejects(void **state)
{
	char path[] = "/tmp/pxe-test-bad-XXXXXX";
	const char bad[] = "port=0\nno-such-option=1\n";
	struct err e = {0};
	char *bin = pxe_dnsmasq_find();
	int fd;

	(void)state;
	if (!bin)
		skip();
	free(bin);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, bad, sizeof(bad) - 1), (ssize_t)(sizeof(bad) - 1));
	close(fd);
	assert_int_equal(pxe_dnsmasq_test(path, &e), ERR_INVALID);
	assert_non_null(strstr(e.message, "bad option"));
	unlink(path);
	assert_int_equal(pxe_dnsmasq_test("relative.conf", &e), ERR_INVALID);
	assert_string_equal(e.field, "conf_path");
}

static void test_enum_tables(void **state)
{
	enum pxe_boot_kind k;
	enum pxe_dhcp_mode m;

	(void)state;
	for (int i = 0; i < PXE_BOOT_KIND_COUNT; i++) {
		const char *name = pxe_boot_kind_name((enum pxe_boot_kind)i);

		assert_non_null(name);
		assert_int_equal(pxe_boot_kind_from_name(name, &k), ERR_OK);
		assert_int_equal(k, i);
	}
	for (int i = 0; i < PXE_DHCP_MODE_COUNT; i++) {
		const char *name = pxe_dhcp_mode_name((enum pxe_dhcp_mode)i);

		assert_non_null(name);
		assert_int_equal(pxe_dhcp_mode_from_name(name, &m), ERR_OK);
		assert_int_equal(m, i);
	}
	assert_null(pxe_boot_kind_name((enum pxe_boot_kind)PXE_BOOT_KIND_COUNT));
	assert_null(pxe_dhcp_mode_name((enum pxe_dhcp_mode)PXE_DHCP_MODE_COUNT));
	assert_int_equal(pxe_boot_kind_from_name("local-disk", &k), ERR_INVALID);
	assert_int_equal(pxe_dhcp_mode_from_name(NULL, &m), ERR_INVALID);
	assert_string_equal(pxe_boot_kind_name(PXE_BOOT_LOCAL_DISK), "local_disk");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_script_golden),  cmocka_unit_test(test_script_contents),
	    cmocka_unit_test(test_script_invalid), cmocka_unit_test(test_conf_golden),
	    cmocka_unit_test(test_conf_invalid),   cmocka_unit_test(test_dnsmasq_test_rejects),
	    cmocka_unit_test(test_enum_tables),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
