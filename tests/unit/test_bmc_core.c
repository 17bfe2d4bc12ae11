/* test_bmc_core.c - the BMC layer's pure parts: name tables, validation messages,
 * circuit breaker, backoff, address parsing, libvirt boot-order editing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "provisiond/bmc/address.h"
#include "provisiond/bmc/backoff.h"
#include "provisiond/bmc/bmc.h"
#include "provisiond/bmc/breaker.h"
#include "provisiond/bmc/libvirt_xml.h"

static void test_names_cover_enums(void **state)
{
	(void)state;
	for (int i = 0; i < BMC_STATUS__COUNT; i++)
		assert_string_not_equal(bmc_status_name((enum bmc_status)i), "?");
	for (int i = 0; i < BMC_POWER_STATE__COUNT; i++)
		assert_string_not_equal(bmc_power_state_name((enum bmc_power_state)i), "?");
	for (int i = 0; i < BMC_POWER_ACTION__COUNT; i++) {
		enum bmc_power_action a;
		assert_int_equal(bmc_power_action_from_name(bmc_power_action_name(i), &a), 0);
		assert_int_equal(a, i);
	}
	for (int i = 0; i < BMC_BOOT_DEVICE__COUNT; i++) {
		enum bmc_boot_device d;
		assert_int_equal(bmc_boot_device_from_name(bmc_boot_device_name(i), &d), 0);
		assert_int_equal(d, i);
	}
	assert_string_equal(bmc_status_name(BMC_STATUS__COUNT), "?");
	assert_string_equal(bmc_status_name(BMC_ERR_CIRCUIT_OPEN), "circuit_open");
	assert_string_equal(bmc_power_action_name(BMC_POWER_ACTION_SOFT_OFF), "soft");
	enum bmc_power_action a;
	assert_int_equal(bmc_power_action_from_name("reboot", &a), -1);
	assert_int_equal(bmc_power_action_from_name(NULL, &a), -1);
}

struct vcase {
	const char *driver, *address, *user, *pass, *options;
	enum bmc_status want;
	const char *field;   /* expected e.field */
	const char *message; /* expected substring of e.message */
};

static const struct vcase vcases[] = {
    {NULL, NULL, NULL, NULL, NULL, BMC_ERR_INVALID, "bmc.driver", "bmc.driver: required"},
    {"redfish2", NULL, NULL, NULL, NULL, BMC_ERR_INVALID, "bmc.driver",
     "bmc.driver: unknown driver 'redfish2' (known: fake, ipmi, libvirt, redfish)"},
    {"fake", NULL, NULL, NULL, "{\"sku\":\"lab.small\",\"delay_ms\":50,\"fail_rate\":0}", BMC_OK,
     "", ""},
    {"fake", "", NULL, NULL, "", BMC_OK, "", ""},
    {"fake", NULL, NULL, NULL, "{", BMC_ERR_INVALID, "bmc.options", "bmc.options: not valid JSON"},
    {"fake", NULL, NULL, NULL, "[1]", BMC_ERR_INVALID, "bmc.options",
     "bmc.options: must be a JSON object"},
    {"fake", NULL, NULL, NULL, "{\"delay_ms\":-1}", BMC_ERR_INVALID, "bmc.options.delay_ms",
     "bmc.options.delay_ms: must be an integer from 0 to 600000"},
    {"fake", NULL, NULL, NULL, "{\"fail_rate\":1.5}", BMC_ERR_INVALID, "bmc.options.fail_rate",
     "must be a number from 0 to 1"},
    {"fake", NULL, NULL, NULL, "{\"unreachable\":\"yes\"}", BMC_ERR_INVALID,
     "bmc.options.unreachable", "must be true or false"},
    {"fake", NULL, NULL, NULL, "{\"bogus\":1}", BMC_ERR_INVALID, "bmc.options.bogus",
     "bmc.options.bogus: unknown option for driver fake"},
    {"fake", NULL, NULL, NULL, "{\"timeout_ms\":0}", BMC_ERR_INVALID, "bmc.options.timeout_ms",
     "from 1 to 600000"},
#ifdef HAVE_FREEIPMI
    {"ipmi", "10.0.0.7:623", "admin", "pw", "{\"workarounds\":\"opensesspriv\"}", BMC_OK, "", ""},
    {"ipmi", "10.0.0.7", "admin", "pw",
     "{\"workarounds\":\" opensesspriv , intel20,\",\"privilege\":\"operator\","
     "\"cipher_suite\":17,\"boot_mode\":\"efi\",\"timeout_ms\":2000}",
     BMC_OK, "", ""},
    {"ipmi", "[fd00::7]:624", "admin", "pw", NULL, BMC_OK, "", ""},
    {"ipmi", "10.0.0.7", "admin", "pw", "{\"workarounds\":\"opensesspriv,foo\"}", BMC_ERR_INVALID,
     "bmc.options.workarounds",
     "bmc.options.workarounds: unknown flag 'foo' (known: authcap, intel20, supermicro20, "
     "sun20, opensesspriv, integritycheckvalue, nochecksumcheck, solpayloadsize, solport, "
     "solstatus, solchannelsupport, serialalertsdeferred, solpacketseq)"},
    {"ipmi", "", "admin", "pw", NULL, BMC_ERR_INVALID, "bmc.address",
     "bmc.address: required (host[:port])"},
    {"ipmi", "10.0.0.7:99999", "admin", "pw", NULL, BMC_ERR_INVALID, "bmc.address", "bad port"},
    {"ipmi", "10.0.0.7:", "admin", "pw", NULL, BMC_ERR_INVALID, "bmc.address", "bad port"},
    {"ipmi", "fd00::7", "admin", "pw", NULL, BMC_ERR_INVALID, "bmc.address", "brackets"},
    {"ipmi", "bad host", "admin", "pw", NULL, BMC_ERR_INVALID, "bmc.address", "bad host"},
    {"ipmi", "10.0.0.7", NULL, "pw", NULL, BMC_ERR_INVALID, "bmc.username",
     "bmc.username: required for driver ipmi"},
    {"ipmi", "10.0.0.7", "a-very-long-username", "pw", NULL, BMC_ERR_INVALID, "bmc.username",
     "at most 16"},
    {"ipmi", "10.0.0.7", "admin", "s3cret-s3cret-s3cret-x", NULL, BMC_ERR_INVALID, "bmc.password",
     "bmc.password: IPMI 2.0 passwords have at most 20 characters"},
    {"ipmi", "10.0.0.7", "admin", "pw", "{\"privilege\":\"root\"}", BMC_ERR_INVALID,
     "bmc.options.privilege", "unknown value 'root' (known: user, operator, admin)"},
    {"ipmi", "10.0.0.7", "admin", "pw", "{\"cipher_suite\":4}", BMC_ERR_INVALID,
     "bmc.options.cipher_suite", "not one FreeIPMI supports"},
    {"ipmi", "10.0.0.7", "admin", "pw", "{\"domain\":\"x\"}", BMC_ERR_INVALID, "bmc.options.domain",
     "unknown option for driver ipmi"},
#else
    {"ipmi", "10.0.0.7", "admin", "pw", NULL, BMC_ERR_NOT_COMPILED, "bmc.driver",
     "driver ipmi not compiled in"},
#endif
#ifdef HAVE_LIBVIRT
    {"libvirt", "test:///default", NULL, NULL, "{\"domain\":\"test\"}", BMC_OK, "", ""},
    {"libvirt", "test:///default", NULL, NULL, "{}", BMC_ERR_INVALID, "bmc.options.domain",
     "bmc.options.domain: required for driver libvirt"},
    {"libvirt", "nope", NULL, NULL, "{\"domain\":\"test\"}", BMC_ERR_INVALID, "bmc.address",
     "libvirt URI"},
#else
    {"libvirt", "test:///default", NULL, NULL, "{\"domain\":\"test\"}", BMC_ERR_NOT_COMPILED,
     "bmc.driver", "driver libvirt not compiled in"},
#endif
};

static void test_validation_messages(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(vcases) / sizeof(vcases[0]); i++) {
		const struct vcase *c = &vcases[i];
		struct bmc_target t = {.driver = c->driver,
				       .address = c->address,
				       .username = c->user,
				       .password = c->pass,
				       .options_json = c->options};
		struct bmc_error e;
		enum bmc_status st = bmc_validate(&t, &e);
		if (st != c->want || strcmp(e.field, c->field) != 0 ||
		    strstr(e.message, c->message) == NULL)
			fail_msg("case %zu (%s %s): got %s field '%s' message '%s'", i,
				 c->driver ? c->driver : "-", c->options ? c->options : "-",
				 bmc_status_name(st), e.field, e.message);
		assert_int_equal(e.status, st);
		if (c->pass != NULL)
			assert_null(strstr(e.message, c->pass));
	}
	assert_int_equal(bmc_validate(NULL, NULL), BMC_ERR_INVALID);
}

static void test_breaker_opens_and_recovers(void **state)
{
	struct bmc_breaker b;
	long long wait;

	(void)state;
	bmc_breaker_init(&b);
	bmc_breaker_record(&b, BMC_OUTCOME_DEAD, 0, 3, 1000);
	bmc_breaker_record(&b, BMC_OUTCOME_DEAD, 0, 3, 1000);
	assert_true(bmc_breaker_allow(&b, 0, &wait));
	bmc_breaker_record(&b, BMC_OUTCOME_DEAD, 100, 3, 1000);
	assert_int_equal(b.state, BMC_BREAKER_OPEN);
	assert_false(bmc_breaker_would_allow(&b, 110, &wait));
	assert_int_equal(wait, 990);
	assert_false(bmc_breaker_allow(&b, 1099, &wait));
	/* cooldown over: one trial, the next caller fails fast */
	assert_true(bmc_breaker_allow(&b, 1100, &wait));
	assert_int_equal(b.state, BMC_BREAKER_HALF_OPEN);
	assert_false(bmc_breaker_allow(&b, 1100, &wait));
	assert_int_equal(wait, 0);
	/* trial fails: open again for a whole cooldown */
	bmc_breaker_record(&b, BMC_OUTCOME_DEAD, 1200, 3, 1000);
	assert_int_equal(b.state, BMC_BREAKER_OPEN);
	assert_false(bmc_breaker_allow(&b, 2199, &wait));
	assert_true(bmc_breaker_allow(&b, 2200, &wait));
	/* a trial that never reached the BMC frees the trial slot */
	bmc_breaker_record(&b, BMC_OUTCOME_NEUTRAL, 2200, 3, 1000);
	assert_true(bmc_breaker_allow(&b, 2201, &wait));
	bmc_breaker_record(&b, BMC_OUTCOME_ALIVE, 2300, 3, 1000);
	assert_int_equal(b.state, BMC_BREAKER_CLOSED);
	assert_int_equal(b.failures, 0);
}

static void test_breaker_needs_consecutive_failures(void **state)
{
	struct bmc_breaker b;
	long long wait;

	(void)state;
	bmc_breaker_init(&b);
	for (int i = 0; i < 10; i++) {
		bmc_breaker_record(&b, BMC_OUTCOME_DEAD, i, 3, 1000);
		bmc_breaker_record(&b, BMC_OUTCOME_DEAD, i, 3, 1000);
		bmc_breaker_record(&b, BMC_OUTCOME_ALIVE, i, 3, 1000);
	}
	assert_true(bmc_breaker_allow(&b, 10, &wait));
	assert_int_equal(b.state, BMC_BREAKER_CLOSED);
}

static void test_backoff_bounds_and_jitter(void **state)
{
	uint64_t rng = bmc_backoff_seed();
	long long first = -1;
	bool varied = false;

	(void)state;
	for (int r = 0; r < 12; r++) {
		long long d = 100LL << (r < 10 ? r : 10);
		if (d > 1000)
			d = 1000;
		for (int i = 0; i < 50; i++) {
			long long v = bmc_backoff_ms(r, 100, 1000, &rng);
			assert_in_range(v, d / 2, d);
			if (first < 0)
				first = v;
			varied |= (r == 0 && v != first);
		}
	}
	assert_true(varied);
}

static void test_address_parse(void **state)
{
	static const struct {
		const char *in;
		int ok;
		const char *host;
		int port;
	} cases[] = {
	    {"10.0.0.7", 1, "10.0.0.7", 623},
	    {"10.0.0.7:9001", 1, "10.0.0.7", 9001},
	    {"bmc-r12.lab", 1, "bmc-r12.lab", 623},
	    {"[fd00::7]", 1, "fd00::7", 623},
	    {"[::1]:9001", 1, "::1", 9001},
	    {"host:0", 0, NULL, 0},
	    {"host:65536", 0, NULL, 0},
	    {"host:+1", 0, NULL, 0},
	    {"host:1x", 0, NULL, 0},
	    {":623", 0, NULL, 0},
	    {"[::1", 0, NULL, 0},
	    {"[::1]x", 0, NULL, 0},
	    {"a b", 0, NULL, 0},
	    {"", 0, NULL, 0},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char host[64];
		int port = 0;
		struct bmc_error e;
		enum bmc_status st =
		    bmc_address_parse(cases[i].in, 623, host, sizeof(host), &port, &e);
		if ((st == BMC_OK) != cases[i].ok)
			fail_msg("address '%s': %s %s", cases[i].in, bmc_status_name(st),
				 e.message);
		if (cases[i].ok) {
			assert_string_equal(host, cases[i].host);
			assert_int_equal(port, cases[i].port);
		} else {
			assert_string_equal(e.field, "bmc.address");
		}
	}
}

#define OS_HEAD                                                                                    \
	"<domain type='test'>\n  <name>test</name>\n  <os>\n    <type arch='i686'>hvm</type>\n"
#define OS_TAIL "  </os>\n  <devices/>\n</domain>\n"

static void test_libvirt_xml_boot(void **state)
{
	static const struct {
		const char *in;
		enum bmc_boot_device d;
		const char *out; /* NULL: error */
		enum bmc_status st;
	} cases[] = {
	    {OS_HEAD "    <boot dev='hd'/>\n" OS_TAIL, BMC_BOOT_PXE,
	     OS_HEAD "    <boot dev='network'/>\n    <boot dev='hd'/>\n" OS_TAIL, BMC_OK},
	    {OS_HEAD "    <boot dev='network'/>\n    <boot dev='hd'/>\n" OS_TAIL, BMC_BOOT_DISK,
	     OS_HEAD "    <boot dev='hd'/>\n" OS_TAIL, BMC_OK},
	    {OS_HEAD OS_TAIL, BMC_BOOT_DISK, OS_HEAD "    <boot dev='hd'/>\n" OS_TAIL, BMC_OK},
	    {"<domain>\n  <os firmware='efi'>\n    <boot dev='cdrom'/>\n    <bootmenu "
	     "enable='yes'/>\n  </os>\n</domain>\n",
	     BMC_BOOT_PXE,
	     "<domain>\n  <os firmware='efi'>\n    <bootmenu enable='yes'/>\n    <boot "
	     "dev='network'/>\n    <boot dev='hd'/>\n  </os>\n</domain>\n",
	     BMC_OK},
	    {"<domain>\n  <os>\n  </os>\n  <devices>\n    <disk><boot order='1'/></disk>\n",
	     BMC_BOOT_PXE, NULL, BMC_ERR_UNSUPPORTED},
	    {"<domain><os><type>hvm</type></os></domain>", BMC_BOOT_PXE, NULL, BMC_ERR_FAILED},
	    {"<domain>\n  <osinfo/>\n</domain>\n", BMC_BOOT_PXE, NULL, BMC_ERR_FAILED},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct bmc_error e = {0};
		char *out = bmc_libvirt_xml_set_boot(cases[i].in, cases[i].d, &e);
		if (cases[i].out == NULL) {
			assert_null(out);
			assert_int_equal(e.status, cases[i].st);
			continue;
		}
		if (out == NULL)
			fail_msg("case %zu: %s", i, e.message);
		assert_string_equal(out, cases[i].out);
		free(out);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_names_cover_enums),
	    cmocka_unit_test(test_validation_messages),
	    cmocka_unit_test(test_breaker_opens_and_recovers),
	    cmocka_unit_test(test_breaker_needs_consecutive_failures),
	    cmocka_unit_test(test_backoff_bounds_and_jitter),
	    cmocka_unit_test(test_address_parse),
	    cmocka_unit_test(test_libvirt_xml_boot),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
