/* test_agent_facts.c — hardware facts from checked-in fixture sysroots,
 * compared with golden JSON (regenerate: PROVISIOND_UPDATE_GOLDEN=1). */
#include "agent.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

static void check_golden(const char *fixture)
{
	char root[1024], golden[1024];
	snprintf(root, sizeof(root), "%s/%s", AGENT_FIXTURES, fixture);
	snprintf(golden, sizeof(golden), "%s/%s.expected.json", AGENT_FIXTURES, fixture);
	json_t *facts = NULL;
	struct agent_err err = {0};
	assert_int_equal(agent_facts_collect(root, &facts, &err), AGENT_OK);
	/* arch comes from uname(2), not from the fixture: pin it. */
	json_object_set_new(facts, "arch", json_string("x86_64"));
	const char *update = getenv("PROVISIOND_UPDATE_GOLDEN");
	if (update && *update && strcmp(update, "0") != 0)
		assert_int_equal(json_dump_file(facts, golden, JSON_INDENT(2)), 0);
	json_error_t je;
	json_t *want = json_load_file(golden, 0, &je);
	if (!want)
		fail_msg("%s: %s", golden, je.text);
	if (!json_equal(want, facts)) {
		char *a = json_dumps(want, JSON_COMPACT), *b = json_dumps(facts, JSON_COMPACT);
		fail_msg("facts differ from %s\nwant %s\ngot  %s", golden, a, b);
	}
	json_decref(want);
	json_decref(facts);
}

static void test_facts_qemu_vm(void **state)
{
	(void)state;
	check_golden("qemu-vm");
}

static void test_facts_server(void **state)
{
	(void)state;
	check_golden("server");
}

static void test_facts_exact_qemu_values(void **state)
{
	(void)state;
	const char *root = AGENT_FIXTURES "/qemu-vm";
	json_t *cpu = agent_facts_cpu(root);
	assert_int_equal(json_integer_value(json_object_get(cpu, "cores")), 2);
	assert_string_equal(json_string_value(json_object_get(cpu, "model")),
			    "QEMU Virtual CPU version 2.5+");
	json_decref(cpu);
	assert_int_equal(agent_facts_memory_mib(root), 1024);
	/* No memory blocks in this fixture: MemTotal (65536000 kB). */
	assert_int_equal(agent_facts_memory_mib(AGENT_FIXTURES "/server"), 64000);
	json_t *nics = agent_facts_nics(root);
	assert_int_equal(json_array_size(nics), 1);
	json_t *eth0 = json_array_get(nics, 0);
	assert_int_equal(json_integer_value(json_object_get(eth0, "speed_mbps")), -1);
	json_t *macs = agent_facts_macs(nics);
	assert_int_equal(json_array_size(macs), 1);
	assert_string_equal(json_string_value(json_array_get(macs, 0)), "52:54:00:12:34:56");
	json_decref(macs);
	json_decref(nics);
	char **names = NULL;
	size_t n = 0;
	assert_int_equal(agent_disk_names(root, &names, &n, NULL), AGENT_OK);
	assert_int_equal(n, 2);
	assert_string_equal(names[0], "vda");
	assert_string_equal(names[1], "vdb");
	agent_strv_free(names, n);
}

static void test_facts_missing_root(void **state)
{
	(void)state;
	json_t *facts = NULL;
	struct agent_err err = {0};
	assert_int_equal(agent_facts_collect("/nonexistent-sysroot", &facts, &err), AGENT_E_IO);
	assert_non_null(strstr(err.msg, "/nonexistent-sysroot/proc/cpuinfo"));
	assert_null(facts);
}

static void test_json_text_sanitizes(void **state)
{
	(void)state;
	json_t *j = agent_json_text("  ST4000\xff\x01X  ");
	assert_string_equal(json_string_value(j), "ST4000??X");
	json_decref(j);
	j = agent_json_text(NULL);
	assert_string_equal(json_string_value(j), "");
	json_decref(j);
}

/* The lookup's MAC list: what the daemon accepts (Ethernet MACs, each once
 * in any case, at most AGENT_MAX_LOOKUP_MACS), whatever the NICs report. */
static void test_facts_macs_table(void **state)
{
	(void)state;
	static const struct {
		const char *name, *nic_macs, *want; /* JSON arrays */
	} cases[] = {
	    {"one", "[\"52:54:00:12:34:56\"]", "[\"52:54:00:12:34:56\"]"},
	    {"lower-cased", "[\"52:54:00:AB:CD:EF\"]", "[\"52:54:00:ab:cd:ef\"]"},
	    {"zero, empty and missing left out", "[\"00:00:00:00:00:00\", \"\", null]", "[]"},
	    {"shared MAC sent once",
	     "[\"52:54:00:00:00:01\", \"52:54:00:00:00:02\", \"52:54:00:00:00:01\"]",
	     "[\"52:54:00:00:00:01\", \"52:54:00:00:00:02\"]"},
	    {"once in any case", "[\"52:54:00:00:00:0a\", \"52:54:00:00:00:0A\"]",
	     "[\"52:54:00:00:00:0a\"]"},
	    {"infiniband left out",
	     "[\"80:00:02:08:fe:80:00:00:00:00:00:00:00:02:c9:03:00:0e:a1:51\", "
	     "\"52:54:00:00:00:01\"]",
	     "[\"52:54:00:00:00:01\"]"},
	    {"at most 8",
	     "[\"00:00:00:00:00:01\", \"00:00:00:00:00:02\", \"00:00:00:00:00:03\", "
	     "\"00:00:00:00:00:04\", \"00:00:00:00:00:05\", \"00:00:00:00:00:06\", "
	     "\"00:00:00:00:00:07\", \"00:00:00:00:00:08\", \"00:00:00:00:00:09\"]",
	     "[\"00:00:00:00:00:01\", \"00:00:00:00:00:02\", \"00:00:00:00:00:03\", "
	     "\"00:00:00:00:00:04\", \"00:00:00:00:00:05\", \"00:00:00:00:00:06\", "
	     "\"00:00:00:00:00:07\", \"00:00:00:00:00:08\"]"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *in = json_loads(cases[i].nic_macs, 0, NULL);
		json_t *want = json_loads(cases[i].want, 0, NULL);
		json_t *nics = json_array();
		for (size_t j = 0; j < json_array_size(in); j++)
			json_array_append_new(nics, json_pack("{s:s, s:O}", "name", "eth", "mac",
							      json_array_get(in, j)));
		json_t *got = agent_facts_macs(nics);
		if (!json_equal(got, want)) {
			char *g = json_dumps(got, JSON_COMPACT);
			fail_msg("%s: got %s, want %s", cases[i].name, g, cases[i].want);
		}
		json_decref(got);
		json_decref(nics);
		json_decref(want);
		json_decref(in);
	}
}

int agent_test_facts(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_facts_qemu_vm),
	    cmocka_unit_test(test_facts_server),
	    cmocka_unit_test(test_facts_exact_qemu_values),
	    cmocka_unit_test(test_facts_missing_root),
	    cmocka_unit_test(test_json_text_sanitizes),
	    cmocka_unit_test(test_facts_macs_table),
	};
	return cmocka_run_group_tests_name("agent_facts", tests, NULL, NULL);
}
