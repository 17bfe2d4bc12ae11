/* test_bmc_libvirt.c - the libvirt driver against libvirt's built-in test:///default
 * hypervisor (domain "test", running at start). No daemon needed. The test holds its
 * own connection so the hypervisor's state stays put and can be inspected. */
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "provisiond/bmc/bmc.h"

static virConnectPtr conn;
static struct bmc_manager *mgr;

static const struct bmc_target vm = {
    .key = "vm-test",
    .driver = "libvirt",
    .address = "test:///default",
    .options_json = "{\"domain\":\"test\"}",
};

static void quiet(void *data, virErrorPtr err)
{
	(void)data, (void)err;
}

static int setup(void **state)
{
	struct bmc_limits l;

	(void)state;
	virSetErrorFunc(NULL, quiet);
	conn = virConnectOpen("test:///default");
	bmc_limits_default(&l);
	l.confirm_poll_ms = 10;
	l.confirm_timeout_ms = 2000;
	mgr = bmc_manager_new(&l);
	return conn != NULL && mgr != NULL ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	bmc_manager_free(mgr);
	virConnectClose(conn);
	return 0;
}

static int domain_state(void)
{
	virDomainPtr d = virDomainLookupByName(conn, "test");
	int s = -1, reason;

	if (d != NULL) {
		virDomainGetState(d, &s, &reason, 0);
		virDomainFree(d);
	}
	return s;
}

static void test_power_off_on_state(void **state)
{
	enum bmc_power_state p;
	struct bmc_error e;

	(void)state;
	assert_int_equal(bmc_power_get(mgr, &vm, &p, &e), BMC_OK);
	assert_int_equal(p, BMC_POWER_ON);
	assert_int_equal(bmc_power_set(mgr, &vm, BMC_POWER_ACTION_OFF, &e), BMC_OK);
	assert_int_equal(domain_state(), VIR_DOMAIN_SHUTOFF);
	assert_int_equal(bmc_power_get(mgr, &vm, &p, &e), BMC_OK);
	assert_int_equal(p, BMC_POWER_OFF);
	assert_int_equal(bmc_power_set(mgr, &vm, BMC_POWER_ACTION_OFF, &e), BMC_OK); /* again */
	assert_int_equal(bmc_power_set(mgr, &vm, BMC_POWER_ACTION_ON, &e), BMC_OK);
	assert_int_equal(domain_state(), VIR_DOMAIN_RUNNING);
	assert_int_equal(bmc_power_set(mgr, &vm, BMC_POWER_ACTION_ON, &e), BMC_OK); /* again */
	assert_int_equal(bmc_power_set(mgr, &vm, BMC_POWER_ACTION_CYCLE, &e), BMC_OK);
	assert_int_equal(bmc_power_set(mgr, &vm, BMC_POWER_ACTION_RESET, &e), BMC_OK);
	assert_int_equal(domain_state(), VIR_DOMAIN_RUNNING);
	assert_int_equal(bmc_power_set(mgr, &vm, BMC_POWER_ACTION_SOFT_OFF, &e), BMC_OK);
	assert_int_equal(domain_state(), VIR_DOMAIN_SHUTOFF);
	assert_int_equal(bmc_power_set(mgr, &vm, BMC_POWER_ACTION_ON, &e), BMC_OK);
}

static void test_paused_is_an_error(void **state)
{
	virDomainPtr d = virDomainLookupByName(conn, "test");
	enum bmc_power_state p;
	struct bmc_error e;

	(void)state;
	assert_non_null(d);
	assert_int_equal(virDomainSuspend(d), 0);
	assert_int_equal(bmc_power_get(mgr, &vm, &p, &e), BMC_ERR_FAILED);
	assert_string_equal(e.message, "libvirt at test:///default domain test: domain is paused, "
				       "neither on nor off (resume or destroy it)");
	assert_int_equal(virDomainResume(d), 0);
	virDomainFree(d);
	assert_int_equal(bmc_power_get(mgr, &vm, &p, &e), BMC_OK);
	assert_int_equal(p, BMC_POWER_ON);
}

static char *inactive_xml(void)
{
	virDomainPtr d = virDomainLookupByName(conn, "test");
	char *x = virDomainGetXMLDesc(d, VIR_DOMAIN_XML_INACTIVE);

	virDomainFree(d);
	return x;
}

static void test_boot_device_in_xml(void **state)
{
	struct bmc_error e;
	char *x, *net, *hd;

	(void)state;
	assert_int_equal(bmc_boot_set(mgr, &vm, BMC_BOOT_PXE, true, &e), BMC_OK);
	x = inactive_xml();
	net = strstr(x, "<boot dev='network'/>");
	hd = strstr(x, "<boot dev='hd'/>");
	assert_non_null(net);
	assert_non_null(hd);
	assert_true(net < hd);
	free(x);
	assert_int_equal(bmc_boot_set(mgr, &vm, BMC_BOOT_DISK, true, &e), BMC_OK);
	x = inactive_xml();
	assert_null(strstr(x, "<boot dev='network'/>"));
	assert_non_null(strstr(x, "<boot dev='hd'/>"));
	free(x);
	/* next-boot-only is not something a domain definition can express */
	assert_int_equal(bmc_boot_set(mgr, &vm, BMC_BOOT_PXE, false, &e), BMC_ERR_UNSUPPORTED);
	assert_string_equal(e.message, "driver libvirt does not support a next-boot-only boot "
				       "device (use persistent)");
}

static void test_errors_name_the_domain(void **state)
{
	struct bmc_target t = vm;
	enum bmc_power_state p;
	struct bmc_error e;

	(void)state;
	t.key = "vm-missing";
	t.options_json = "{\"domain\":\"nope\"}";
	assert_int_equal(bmc_power_get(mgr, &t, &p, &e), BMC_ERR_FAILED);
	assert_string_equal(e.message, "libvirt at test:///default has no domain 'nope'");
	t.key = "vm-badpath";
	t.address = "test+tcp://127.0.0.1:1/default"; /* nothing listens on loopback port 1 */
	t.options_json = "{\"domain\":\"test\"}";
	assert_int_equal(bmc_power_get(mgr, &t, &p, &e), BMC_ERR_UNREACHABLE);
	assert_non_null(
	    strstr(e.message, "libvirt at test+tcp://127.0.0.1:1/default: connect failed"));
}

/* test:///default's domain has no pty console: not captured, and said why. */
static void test_console_needs_a_pty(void **state)
{
	struct bmc_console *c = NULL;
	struct bmc_error e;

	(void)state;
	assert_true(bmc_driver_caps("libvirt") & BMC_CAP_CONSOLE);
	assert_int_equal(bmc_console_open(mgr, &vm, &c, &e), BMC_ERR_UNSUPPORTED);
	assert_null(c);
	assert_string_equal(e.message,
			    "libvirt at test:///default domain test: the domain has no "
			    "console of type pty or unix, which libvirt could hand over");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_power_off_on_state),
	    cmocka_unit_test(test_paused_is_an_error),
	    cmocka_unit_test(test_boot_device_in_xml),
	    cmocka_unit_test(test_errors_name_the_domain),
	    cmocka_unit_test(test_console_needs_a_pty),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
