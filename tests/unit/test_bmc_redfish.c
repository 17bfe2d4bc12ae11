/* test_bmc_redfish.c - the redfish driver through the BMC layer's public API, against
 * recorded Redfish answers of different shapes served by a scripted responder on
 * loopback (redfish_fixtures/): discovery with one and several systems, ResetType
 * chosen among AllowableValues (inline, missing, behind ActionInfo), PowerState
 * confirmation, boot override with and without ETag (and 412), sessions reused,
 * re-created after a 401, logged out at shutdown and on a credential change, Basic
 * auth, errors carrying the BMC's message verbatim, task monitors, a BMC that answers
 * 503 and recovers, TLS verification. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "provisiond/bmc/bmc.h"
#include "provisiond/bmc/driver_redfish.h"
#include "redfish_fixtures/srv.h"

static int port;
static char addr[64];

#define SESSIONS "/redfish/v1/SessionService/Sessions"
#define SYS1 "/redfish/v1/Systems/1"
#define RESET1 SYS1 "/Actions/ComputerSystem.Reset"
#define LOGIN_HDRS "X-Auth-Token: tok1|Location: " SESSIONS "/17"
#define N(a) (sizeof(a) / sizeof(a[0]))

/* A BMC with sessions and one system; a test's own rules go first. */
static const struct srv_rule base[] = {
    {.method = "GET", .path = "/redfish/v1/", .status = 200, .body = "@root.json"},
    {.method = "POST",
     .path = SESSIONS,
     .status = 201,
     .body = "@session_created.json",
     .headers = LOGIN_HDRS},
    {.method = "DELETE", .path = SESSIONS "/17", .token = "tok1", .status = 204},
    {.method = "GET", .path = "/redfish/v1/Systems", .status = 200, .body = "@systems_one.json"},
};

static void rules(const struct srv_rule *extra, size_t n)
{
	struct srv_rule all[48];
	size_t k = 0;

	for (size_t i = 0; i < n && k < N(all); i++)
		all[k++] = extra[i];
	for (size_t i = 0; i < N(base) && k < N(all); i++)
		all[k++] = base[i];
	srv_set(all, k);
}

static struct bmc_limits limits(void)
{
	struct bmc_limits l;

	bmc_limits_default(&l);
	l.call_timeout_ms = 3000;
	l.confirm_timeout_ms = 2000;
	l.confirm_poll_ms = 10;
	l.retry_base_ms = 5;
	l.retry_max_ms = 20;
	return l;
}

static struct bmc_manager *manager(int retries)
{
	struct bmc_limits l = limits();
	struct bmc_manager *m;

	l.retries = retries;
	m = bmc_manager_new(&l);
	assert_non_null(m);
	return m;
}

static struct bmc_target target(const char *opts)
{
	return (struct bmc_target){.key = "m1",
				   .driver = "redfish",
				   .address = addr,
				   .username = "admin",
				   .password = "secret",
				   .options_json = opts};
}

static const struct srv_req *last(const char *method, const char *path)
{
	const struct srv_req *q = srv_req(srv_last(method, path));

	assert_non_null(q);
	return q;
}

static void test_power_on_confirmed_session_reused(void **state)
{
	static const struct srv_rule r[] = {
	    {.method = "GET", .path = SYS1, .status = 200, .body = "@system_off.json", .count = 3},
	    {.method = "GET", .path = SYS1, .status = 200, .body = "@system_on.json"},
	    {.method = "POST", .path = RESET1, .token = "tok1", .status = 204},
	};
	struct bmc_manager *m = manager(2);
	struct bmc_target t = target(NULL);
	enum bmc_power_state p;

	(void)state;
	rules(r, N(r));
	assert_int_equal(bmc_power_set(m, &t, BMC_POWER_ACTION_ON, NULL), BMC_OK);
	assert_string_equal(last("POST", RESET1)->body, "{\"ResetType\":\"On\"}");
	assert_true(srv_count("GET", SYS1) >= 4); /* polled Off twice, then On */
	assert_int_equal(bmc_power_get(m, &t, &p, NULL), BMC_OK);
	assert_int_equal(p, BMC_POWER_ON);
	assert_int_equal(bmc_power_set(m, &t, BMC_POWER_ACTION_ON, NULL), BMC_OK);
	assert_int_equal(srv_count("POST", RESET1), 1); /* on already: nothing sent */
	assert_int_equal(srv_count("POST", SESSIONS), 1);
	assert_string_equal(last("GET", SYS1)->token, "tok1");
	assert_string_equal(last("GET", "/redfish/v1/")->token, ""); /* root: no auth */
	assert_string_equal(last("GET", "/redfish/v1/")->basic, "");
	assert_int_equal(srv_count("DELETE", NULL), 0);
	bmc_manager_free(m); /* shutdown logs the session out */
	assert_int_equal(srv_count("DELETE", SESSIONS "/17"), 1);
	assert_string_equal(last("DELETE", SESSIONS "/17")->token, "tok1");
}

static void test_reset_type_from_allowable_values(void **state)
{
	static const struct srv_rule r[] = {
	    {.method = "GET", .path = SYS1, .status = 200, .body = "@system_on.json", .count = 2},
	    {.method = "GET", .path = SYS1, .status = 200, .body = "@system_off.json", .count = 1},
	    {.method = "GET", .path = SYS1, .status = 200, .body = "@system_on.json"},
	    {.method = "POST", .path = RESET1, .status = 204},
	};
	struct bmc_manager *m = manager(2);
	struct bmc_target t = target(NULL);

	(void)state;
	rules(r, N(r));
	/* the BMC offers no PowerCycle: a cycle is a ForceRestart */
	assert_int_equal(bmc_power_set(m, &t, BMC_POWER_ACTION_CYCLE, NULL), BMC_OK);
	assert_string_equal(last("POST", RESET1)->body, "{\"ResetType\":\"ForceRestart\"}");
	rules(r, N(r));
	srv_push(&(struct srv_rule){
	    .method = "GET", .path = SYS1, .status = 200, .body = "@system_off.json"});
	srv_push(&(struct srv_rule){
	    .method = "GET", .path = SYS1, .status = 200, .body = "@system_on.json", .count = 2});
	assert_int_equal(bmc_power_set(m, &t, BMC_POWER_ACTION_SOFT_OFF, NULL), BMC_OK);
	assert_string_equal(last("POST", RESET1)->body, "{\"ResetType\":\"GracefulShutdown\"}");
	bmc_manager_free(m);
}

static void test_no_allowable_values(void **state)
{
	static const struct srv_rule r[] = {
	    {.method = "GET", .path = SYS1, .status = 200, .body = "@system_bare_on.json"},
	    {.method = "POST", .path = SYS1 "/Actions/Reset", .status = 200},
	    {.method = "PATCH", .path = SYS1, .status = 204},
	};
	struct bmc_manager *m = manager(2);
	struct bmc_target t = target(NULL);

	(void)state;
	rules(r, N(r));
	assert_int_equal(bmc_power_set(m, &t, BMC_POWER_ACTION_CYCLE, NULL), BMC_OK);
	assert_string_equal(last("POST", SYS1 "/Actions/Reset")->body,
			    "{\"ResetType\":\"PowerCycle\"}");
	/* no ETag: no If-Match */
	assert_int_equal(bmc_boot_set(m, &t, BMC_BOOT_PXE, false, NULL), BMC_OK);
	assert_string_equal(last("PATCH", SYS1)->if_match, "");
	assert_string_equal(last("PATCH", SYS1)->body,
			    "{\"Boot\":{\"BootSourceOverrideTarget\":\"Pxe\","
			    "\"BootSourceOverrideEnabled\":\"Once\"}}");
	bmc_manager_free(m);
}

static void test_action_info_and_body_etag(void **state)
{
	static const struct srv_rule r[] = {
	    {.method = "GET", .path = SYS1, .status = 200, .body = "@system_actioninfo_on.json"},
	    {.method = "GET",
	     .path = SYS1 "/ResetActionInfo",
	     .status = 200,
	     .body = "@reset_actioninfo.json"},
	    {.method = "POST", .path = RESET1, .status = 204},
	    {.method = "PATCH", .path = SYS1, .status = 200, .body = "@system_actioninfo_on.json"},
	};
	struct bmc_manager *m = manager(2);
	struct bmc_target t = target(NULL);

	(void)state;
	rules(r, N(r));
	/* ActionInfo allows On, ForceOff, PowerCycle: a reset is a PowerCycle */
	assert_int_equal(bmc_power_set(m, &t, BMC_POWER_ACTION_RESET, NULL), BMC_OK);
	assert_string_equal(last("POST", RESET1)->body, "{\"ResetType\":\"PowerCycle\"}");
	assert_int_equal(bmc_boot_set(m, &t, BMC_BOOT_DISK, true, NULL), BMC_OK);
	assert_string_equal(last("PATCH", SYS1)->if_match, "W/\"body-etag-7\"");
	bmc_manager_free(m);
}

static void test_several_systems(void **state)
{
	static const struct srv_rule r[] = {
	    {.method = "GET",
	     .path = "/redfish/v1/Systems",
	     .status = 200,
	     .body = "@systems_two.json"},
	    {.method = "GET",
	     .path = "/redfish/v1/Systems/System.Embedded.1",
	     .status = 200,
	     .body = "@system_dell_off.json"},
	    {.method = "GET",
	     .path = "/redfish/v1/Systems/a8f2c1",
	     .status = 200,
	     .body = "@system_b_off.json"},
	};
	struct bmc_manager *m = manager(2);
	struct bmc_target t = target(NULL);
	struct bmc_error e;
	enum bmc_power_state p;

	(void)state;
	rules(r, N(r));
	assert_int_equal(bmc_power_get(m, &t, &p, &e), BMC_ERR_INVALID);
	assert_string_equal(e.field, "bmc.options.system_id");
	assert_non_null(strstr(e.message, "2 systems (System.Embedded.1, a8f2c1)"));
	t = target("{\"system_id\":\"System.Embedded.1\"}");
	assert_int_equal(bmc_power_get(m, &t, &p, &e), BMC_OK);
	assert_int_equal(p, BMC_POWER_OFF);
	assert_int_equal(srv_count("GET", "/redfish/v1/Systems/a8f2c1"), 0);
	t = target("{\"system_id\":\"node-b\"}"); /* by Id, not by path */
	t.key = "m2";
	assert_int_equal(bmc_power_get(m, &t, &p, &e), BMC_OK);
	assert_int_equal(last("GET", NULL)->path[strlen("/redfish/v1/Systems/")], 'a');
	t = target("{\"system_id\":1}"); /* a number is a name too */
	t.key = "m4";
	assert_int_equal(bmc_power_get(m, &t, &p, &e), BMC_ERR_INVALID);
	assert_non_null(strstr(e.message, "no system '1'"));
	t = target("{\"system_id\":\"nope\"}");
	t.key = "m3";
	assert_int_equal(bmc_power_get(m, &t, &p, &e), BMC_ERR_INVALID);
	assert_non_null(strstr(e.message, "no system 'nope'"));
	bmc_manager_free(m);
}

/* An older BMC: no Links.Sessions in the root (the standard path is used), links
 * with trailing slashes. */
static void test_root_without_links(void **state)
{
	static const struct srv_rule r[] = {
	    {.method = "GET", .path = "/redfish/v1/", .status = 200, .body = "@root_nolinks.json"},
	    {.method = "GET",
	     .path = "/redfish/v1/Systems/",
	     .status = 200,
	     .body = "@systems_one.json"},
	    {.method = "GET", .path = SYS1, .status = 200, .body = "@system_bare_off.json"},
	};
	struct bmc_manager *m = manager(2);
	struct bmc_target t = target(NULL);
	enum bmc_power_state p;

	(void)state;
	rules(r, N(r));
	assert_int_equal(bmc_power_get(m, &t, &p, NULL), BMC_OK);
	assert_int_equal(p, BMC_POWER_OFF);
	assert_int_equal(srv_count("POST", SESSIONS), 1);
	assert_int_equal(srv_count("GET", "/redfish/v1/Systems"), 0);
	bmc_manager_free(m);
}

static void test_boot_override_etag(void **state)
{
	static const struct srv_rule r[] = {
	    {.method = "GET",
	     .path = SYS1,
	     .status = 200,
	     .body = "@system_off.json",
	     .headers = "ETag: \"abc\""},
	    {.method = "PATCH", .path = SYS1, .status = 204},
	};
	struct bmc_manager *m = manager(2);
	struct bmc_target t = target(NULL);

	(void)state;
	rules(r, N(r));
	assert_int_equal(bmc_boot_set(m, &t, BMC_BOOT_PXE, false, NULL), BMC_OK);
	assert_string_equal(last("PATCH", SYS1)->if_match, "\"abc\"");
	assert_string_equal(last("PATCH", SYS1)->token, "tok1");
	t = target("{\"boot_mode\":\"UEFI\"}");
	assert_int_equal(bmc_boot_set(m, &t, BMC_BOOT_DISK, true, NULL), BMC_OK);
	assert_string_equal(last("PATCH", SYS1)->body,
			    "{\"Boot\":{\"BootSourceOverrideTarget\":\"Hdd\","
			    "\"BootSourceOverrideEnabled\":\"Continuous\","
			    "\"BootSourceOverrideMode\":\"UEFI\"}}");
	bmc_manager_free(m);
}

static void test_boot_override_412(void **state)
{
	static const struct srv_rule r[] = {
	    {.method = "GET",
	     .path = SYS1,
	     .status = 200,
	     .body = "@system_off.json",
	     .headers = "ETag: \"e1\"",
	     .count = 1},
	    {.method = "GET",
	     .path = SYS1,
	     .status = 200,
	     .body = "@system_off.json",
	     .headers = "ETag: \"e2\""},
	    {.method = "PATCH", .path = SYS1, .status = 412, .count = 1},
	    {.method = "PATCH", .path = SYS1, .status = 204},
	};
	struct bmc_manager *m = manager(2);
	struct bmc_target t = target(NULL);

	(void)state;
	rules(r, N(r));
	assert_int_equal(bmc_boot_set(m, &t, BMC_BOOT_PXE, true, NULL), BMC_OK);
	assert_int_equal(srv_count("PATCH", SYS1), 2);
	assert_string_equal(last("PATCH", SYS1)->if_match, "\"e2\"");
	bmc_manager_free(m);
}

static void test_session_expired_recreated(void **state)
{
	static const struct srv_rule r[] = {
	    {.method = "POST",
	     .path = SESSIONS,
	     .status = 201,
	     .body = "@session_created.json",
	     .headers = LOGIN_HDRS,
	     .count = 1},
	    {.method = "POST",
	     .path = SESSIONS,
	     .status = 201,
	     .headers = "X-Auth-Token: tok2|Location: " SESSIONS "/18"},
	    {.method = "DELETE", .path = SESSIONS "/18", .token = "tok2", .status = 204},
	    {.method = "GET", .path = SYS1, .status = 200, .body = "@system_on.json"},
	};
	static const struct srv_rule expired = {
	    .token = "tok1", .status = 401, .body = "@error_auth.json"};
	struct bmc_manager *m = manager(2);
	struct bmc_target t = target(NULL);
	enum bmc_power_state p;

	(void)state;
	rules(r, N(r));
	assert_int_equal(bmc_power_get(m, &t, &p, NULL), BMC_OK);
	srv_push(&expired); /* the BMC forgets tok1 */
	assert_int_equal(bmc_power_get(m, &t, &p, NULL), BMC_OK);
	assert_int_equal(p, BMC_POWER_ON);
	assert_int_equal(srv_count("POST", SESSIONS), 2);
	assert_string_equal(last("GET", SYS1)->token, "tok2");
	assert_int_equal(bmc_power_get(m, &t, &p, NULL), BMC_OK);
	assert_int_equal(srv_count("POST", SESSIONS), 2);
	bmc_manager_free(m);
	assert_int_equal(srv_count("DELETE", SESSIONS "/18"), 1);
	assert_int_equal(srv_count("DELETE", SESSIONS "/17"), 0); /* it is gone already */
}

static void test_hundred_operations_one_session(void **state)
{
	static const struct srv_rule r[] = {
	    {.method = "GET", .path = SYS1, .status = 200, .body = "@system_on.json"},
	};
	struct bmc_manager *m = manager(2);
	struct bmc_target t = target(NULL);
	enum bmc_power_state p;

	(void)state;
	rules(r, N(r));
	for (int i = 0; i < 100; i++)
		assert_int_equal(bmc_power_get(m, &t, &p, NULL), BMC_OK);
	assert_int_equal(srv_count("POST", SESSIONS), 1);
	assert_int_equal(srv_count("GET", "/redfish/v1/Systems"), 1); /* discovery cached */
	bmc_manager_free(m);
	assert_int_equal(srv_count("DELETE", NULL), 1);
}

static void test_credential_change_logs_out(void **state)
{
	static const struct srv_rule r[] = {
	    {.method = "GET", .path = SYS1, .status = 200, .body = "@system_on.json"},
	};
	struct bmc_manager *m = manager(2);
	struct bmc_target t = target(NULL);
	enum bmc_power_state p;
	int del;

	(void)state;
	rules(r, N(r));
	assert_int_equal(bmc_power_get(m, &t, &p, NULL), BMC_OK);
	t.password = "n3w-pa55";
	assert_int_equal(bmc_power_get(m, &t, &p, NULL), BMC_OK);
	del = srv_last("DELETE", SESSIONS "/17");
	assert_true(del >= 0 && del < srv_last("POST", SESSIONS));
	assert_non_null(strstr(last("POST", SESSIONS)->body, "n3w-pa55"));
	assert_int_equal(srv_count("POST", SESSIONS), 2);
	bmc_manager_free(m);
}

static void test_basic_auth(void **state)
{
	static const struct srv_rule r[] = {
	    {.method = "GET", .path = SYS1, .status = 200, .body = "@system_on.json"},
	    {.method = "POST", .path = SESSIONS, .status = 405, .body = "@error_bad_value.json"},
	};
	struct bmc_manager *m = manager(2);
	struct bmc_target t = target("{\"auth\":\"basic\"}");
	struct bmc_error e;
	enum bmc_power_state p;

	(void)state;
	rules(r, N(r));
	assert_int_equal(bmc_power_get(m, &t, &p, NULL), BMC_OK);
	assert_int_equal(srv_count("POST", SESSIONS), 0);
	assert_string_equal(last("GET", SYS1)->basic, "admin:secret");
	assert_string_equal(last("GET", SYS1)->token, "");
	/* sessions only (the default) on a BMC without sessions: an error */
	t = target(NULL);
	t.key = "m2";
	assert_int_equal(bmc_power_get(m, &t, &p, &e), BMC_ERR_UNSUPPORTED);
	assert_non_null(strstr(e.message, "HTTP 405 on session login"));
	/* session_or_basic falls back */
	t = target("{\"auth\":\"session_or_basic\"}");
	t.key = "m3";
	assert_int_equal(bmc_power_get(m, &t, &p, NULL), BMC_OK);
	assert_string_equal(last("GET", SYS1)->basic, "admin:secret");
	bmc_manager_free(m);
	assert_int_equal(srv_count("DELETE", NULL), 0);
}

static void test_wrong_password(void **state)
{
	static const struct srv_rule r[] = {
	    {.method = "POST", .path = SESSIONS, .status = 401, .body = "@error_auth.json"},
	};
	struct bmc_manager *m = manager(2);
	struct bmc_target t = target(NULL);
	struct bmc_error e;
	enum bmc_power_state p;

	(void)state;
	rules(r, N(r));
	t.password = "wrong-pw";
	assert_int_equal(bmc_power_get(m, &t, &p, &e), BMC_ERR_AUTH);
	assert_non_null(strstr(e.message, "HTTP 401"));
	assert_non_null(strstr(e.message, "user admin"));
	assert_non_null(
	    strstr(e.message, "There is no valid session established with the implementation."));
	assert_null(strstr(e.message, "wrong-pw"));
	assert_int_equal(srv_count("POST", SESSIONS), 1); /* never retried */
	bmc_manager_free(m);
}

static void test_error_message_verbatim(void **state)
{
	static const struct srv_rule r[] = {
	    {.method = "GET", .path = SYS1, .status = 200, .body = "@system_on.json"},
	    {.method = "POST", .path = RESET1, .status = 400, .body = "@error_bad_value.json"},
	};
	struct bmc_manager *m = manager(2);
	struct bmc_target t = target(NULL);
	struct bmc_error e;

	(void)state;
	rules(r, N(r));
	assert_int_equal(bmc_power_set(m, &t, BMC_POWER_ACTION_RESET, &e), BMC_ERR_FAILED);
	assert_non_null(strstr(e.message,
			       "HTTP 400 on Reset ForceRestart: The value "
			       "'ForceRestart' for the parameter ResetType in the action "
			       "ComputerSystem.Reset is not in the list of acceptable "
			       "values."));
	assert_null(strstr(e.message, "second message"));
	assert_int_equal(srv_count("POST", RESET1), 1);
	bmc_manager_free(m);
}

static void test_task_monitor(void **state)
{
	static const struct srv_rule r[] = {
	    {.method = "GET", .path = SYS1, .status = 200, .body = "@system_off.json"},
	    {.method = "PATCH",
	     .path = SYS1,
	     .status = 202,
	     .headers = "Location: /redfish/v1/TaskService/TaskMonitors/9"},
	    {.method = "GET",
	     .path = "/redfish/v1/TaskService/TaskMonitors/9",
	     .status = 202,
	     .body = "@task_running.json",
	     .count = 2},
	    {.method = "GET", .path = "/redfish/v1/TaskService/TaskMonitors/9", .status = 204},
	};
	static const struct srv_rule failed = {.method = "GET",
					       .path = "/redfish/v1/TaskService/TaskMonitors/9",
					       .status = 200,
					       .body = "@task_exception.json"};
	static const struct srv_rule forever = {
	    .method = "GET", .path = "/redfish/v1/TaskService/TaskMonitors/9", .status = 202};
	struct bmc_manager *m = manager(0);
	struct bmc_target t = target(NULL);
	struct bmc_error e;

	(void)state;
	rules(r, N(r));
	assert_int_equal(bmc_boot_set(m, &t, BMC_BOOT_PXE, false, &e), BMC_OK);
	assert_int_equal(srv_count("GET", "/redfish/v1/TaskService/TaskMonitors/9"), 3);
	rules(r, N(r));
	srv_push(&failed);
	assert_int_equal(bmc_boot_set(m, &t, BMC_BOOT_PXE, false, &e), BMC_ERR_FAILED);
	assert_non_null(strstr(e.message, "ended Exception (Critical): The BIOS configuration "
					  "job failed."));
	rules(r, N(r));
	srv_push(&forever);
	t = target("{\"timeout_ms\":1200}");
	assert_int_equal(bmc_boot_set(m, &t, BMC_BOOT_PXE, false, &e), BMC_ERR_TIMEOUT);
	assert_non_null(strstr(e.message, "still running"));
	bmc_manager_free(m);
}

static void test_busy_then_recovers(void **state)
{
	static const struct srv_rule r[] = {
	    {.method = "GET", .path = SYS1, .status = 503, .body = "@error_busy.json", .count = 1},
	    {.method = "GET", .path = SYS1, .status = 200, .body = "@system_on.json"},
	};
	static const struct srv_rule busy = {
	    .method = "GET", .path = SYS1, .status = 503, .body = "@error_busy.json"};
	struct bmc_manager *m = manager(2);
	struct bmc_target t = target(NULL);
	struct bmc_error e;
	enum bmc_power_state p;

	(void)state;
	rules(r, N(r));
	assert_int_equal(bmc_power_get(m, &t, &p, &e), BMC_OK);
	assert_int_equal(p, BMC_POWER_ON);
	assert_int_equal(srv_count("GET", SYS1), 2);
	srv_push(&busy);
	assert_int_equal(bmc_power_get(m, &t, &p, &e), BMC_ERR_BUSY);
	assert_non_null(strstr(e.message, "HTTP 503 on GET system: The service is temporarily"));
	assert_int_equal(srv_count("GET", SYS1), 5); /* 1 + 2 retries */
	bmc_manager_free(m);
}

static void test_unreachable(void **state)
{
	struct bmc_manager *m = manager(0);
	struct bmc_target t = target(NULL);
	struct bmc_error e;
	enum bmc_power_state p;

	(void)state;
	t.address = "http://127.0.0.1:1";
	assert_int_equal(bmc_power_get(m, &t, &p, &e), BMC_ERR_UNREACHABLE);
	assert_non_null(strstr(e.message, "http://127.0.0.1:1"));
	bmc_manager_free(m);
}

static void test_validate(void **state)
{
	static const struct {
		const char *address, *opts, *field;
	} cases[] = {
	    {"ftp://bmc", NULL, "bmc.address"},
	    {"https://bmc/redfish/v1", NULL, "bmc.address"},
	    {"https://bmc:99999", NULL, "bmc.address"},
	    {"", NULL, "bmc.address"},
	    {"bmc", "{\"sytem_id\":\"1\"}", "bmc.options.sytem_id"},
	    {"bmc", "{\"tls_insecure\":\"yes\"}", "bmc.options.tls_insecure"},
	    {"bmc", "{\"ca_file\":\"ca.pem\"}", "bmc.options.ca_file"},
	    {"bmc", "{\"ca_file\":\"/ca.pem\",\"tls_insecure\":true}", "bmc.options.tls_insecure"},
	    {"bmc", "{\"auth\":\"digest\"}", "bmc.options.auth"},
	    {"bmc", "{\"boot_mode\":\"bios\"}", "bmc.options.boot_mode"},
	};
	struct bmc_target t = target(NULL);
	struct bmc_error e;

	(void)state;
	for (size_t i = 0; i < N(cases); i++) {
		t.address = cases[i].address;
		t.options_json = cases[i].opts;
		assert_int_equal(bmc_validate(&t, &e), BMC_ERR_INVALID);
		assert_string_equal(e.field, cases[i].field);
	}
	t = target(NULL);
	t.username = NULL;
	assert_int_equal(bmc_validate(&t, &e), BMC_ERR_INVALID);
	assert_string_equal(e.field, "bmc.username");
	t = target("{\"system_id\":\"1\",\"auth\":\"basic\",\"boot_mode\":\"Legacy\","
		   "\"tls_insecure\":true,\"timeout_ms\":9000}");
	t.address = "bmc.example:8443";
	assert_int_equal(bmc_validate(&t, &e), BMC_OK);
	t.address = "https://[fd00::7]:443/";
	assert_int_equal(bmc_validate(&t, &e), BMC_OK);
	assert_true(bmc_driver_caps("redfish") & BMC_CAP_BOOT_NEXT);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = calloc(1, 16384);

	if (f != NULL && buf != NULL && fread(buf, 1, 16383, f) == 0) {
		free(buf);
		buf = NULL;
	}
	if (f != NULL)
		fclose(f);
	return buf;
}

/* A self-signed certificate for 127.0.0.1, made with the openssl tool. */
static bool make_cert(const char *dir, char *cert, char *key, size_t len)
{
	char cmd[1024];

	snprintf(cert, len, "%s/cert.pem", dir);
	snprintf(key, len, "%s/key.pem", dir);
	snprintf(cmd, sizeof(cmd),
		 "openssl req -x509 -newkey rsa:2048 -nodes -keyout %s -out %s -days 2 "
		 "-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1",
		 key, cert);
	return system(cmd) == 0;
}

static void test_tls_verified_by_default(void **state)
{
	static const struct srv_rule r[] = {
	    {.method = "GET", .path = SYS1, .status = 200, .body = "@system_on.json"},
	};
	char dir[] = "/tmp/rf-tls.XXXXXX", cert[128], key[128], opts[256], *c, *k;
	struct bmc_manager *m;
	struct bmc_target t;
	struct bmc_error e;
	enum bmc_power_state p;
	int tls_port;

	(void)state;
	if (mkdtemp(dir) == NULL || !make_cert(dir, cert, key, sizeof(cert)))
		skip();
	c = slurp(cert);
	k = slurp(key);
	assert_non_null(c);
	assert_non_null(k);
	srv_stop();
	tls_port = srv_start(c, k);
	assert_true(tls_port > 0);
	rules(r, N(r));
	snprintf(addr, sizeof(addr), "https://127.0.0.1:%d", tls_port);
	m = manager(0);
	t = target(NULL);
	assert_int_equal(bmc_power_get(m, &t, &p, &e), BMC_ERR_FAILED);
	assert_non_null(strstr(e.message, "certificate"));
	assert_int_equal(srv_nreq(), 0);
	snprintf(opts, sizeof(opts), "{\"ca_file\":\"%s\"}", cert);
	t = target(opts);
	assert_int_equal(bmc_power_get(m, &t, &p, &e), BMC_OK);
	t = target("{\"tls_insecure\":true}");
	t.key = "m2";
	assert_int_equal(bmc_power_get(m, &t, &p, &e), BMC_OK);
	bmc_manager_free(m);
	srv_stop();
	port = srv_start(NULL, NULL);
	snprintf(addr, sizeof(addr), "http://127.0.0.1:%d", port);
	unlink(cert);
	unlink(key);
	rmdir(dir);
	free(c);
	free(k);
}

static int setup(void **state)
{
	(void)state;
	port = srv_start(NULL, NULL);
	if (port <= 0)
		return -1;
	snprintf(addr, sizeof(addr), "http://127.0.0.1:%d", port);
	return 0;
}

/* The console's telnet filter: data kept, commands dropped, DO/WILL refused, the
 * same result whatever the reads' boundaries. */
static void test_telnet_filter(void **state)
{
	static const struct {
		const char *in, *data, *reply;
		size_t in_len, data_len, reply_len;
	} cases[] = {
#define TC(i, d, r) {i, d, r, sizeof(i) - 1, sizeof(d) - 1, sizeof(r) - 1}
	    TC("plain\r\n", "plain\r\n", ""),
	    TC("\377\373\001\377\373\003hi", "hi", "\377\376\001\377\376\003"), /* WILL -> DONT */
	    TC("a\377\375\030b", "ab", "\377\374\030"),				/* DO -> WONT */
	    TC("a\377\374\001\377\376\001b", "ab", ""),	      /* WONT, DONT: no answer */
	    TC("x\377\377y", "x\377y", ""),		      /* IAC IAC: one 0xFF */
	    TC("\377\372\030\001\377\377\377\360z", "z", ""), /* SB ... IAC SE */
	    TC("\377\361n\377\371", "n", ""),		      /* NOP, GA */
#undef TC
	};

	(void)state;
	for (size_t i = 0; i < N(cases); i++)
		for (size_t cut = 0; cut <= cases[i].in_len; cut++) {
			struct rf_telnet t = {0};
			unsigned char buf[64];
			size_t n;
			memcpy(buf, cases[i].in, cases[i].in_len);
			n = rf_telnet_filter(&t, buf, cut);
			n += rf_telnet_filter(&t, buf + n, 0); /* an empty read changes nothing */
			memmove(buf + n, buf + cut, cases[i].in_len - cut);
			n += rf_telnet_filter(&t, buf + n, cases[i].in_len - cut);
			assert_int_equal(n, cases[i].data_len);
			assert_memory_equal(buf, cases[i].data, n);
			assert_int_equal(t.nreply, cases[i].reply_len);
			assert_memory_equal(t.reply, cases[i].reply, t.nreply);
		}
}

/* A listening socket on loopback; its port in *port. */
static int listener(int *port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 1), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	*port = ntohs(sa.sin_port);
	return fd;
}

/* The console: SerialConsole.Telnet's port on the BMC's host, the open's own
 * session logged out, telnet removed from the stream and refused, EOF an error. */
static void test_console_telnet(void **state)
{
	int port, lfd = listener(&port), peer;
	char sys[256], buf[64], reply[8];
	size_t got = 0;
	struct bmc_console *c = NULL;
	struct bmc_error e;
	struct bmc_manager *m = manager(0);
	struct bmc_target t = target(NULL);

	(void)state;
	snprintf(sys, sizeof(sys),
		 "{\"Id\":\"1\",\"SerialConsole\":{\"Telnet\":{\"ServiceEnabled\":true,"
		 "\"Port\":%d,\"SharedWithManagerCLI\":false}}}",
		 port);
	const struct srv_rule r[] = {{.method = "GET", .path = SYS1, .status = 200, .body = sys}};
	rules(r, N(r));
	assert_int_equal(bmc_console_open(m, &t, &c, &e), BMC_OK);
	assert_int_equal(srv_count("POST", SESSIONS), 1);
	assert_int_equal(srv_count("DELETE", SESSIONS "/17"), 1); /* before it connected */
	assert_true((peer = accept(lfd, NULL, NULL)) >= 0);
	assert_int_equal(write(peer, "\377\373\001hello\377\377\n", 11), 11);
	for (int i = 0; i < 20 && got == 0; i++)
		assert_int_equal(bmc_console_read(c, buf, sizeof(buf), 100, &got, &e), BMC_OK);
	assert_int_equal(got, 7);
	assert_memory_equal(buf, "hello\377\n", 7);
	assert_int_equal(read(peer, reply, sizeof(reply)), 3);
	assert_memory_equal(reply, "\377\376\001", 3); /* WILL ECHO -> DONT ECHO */
	close(peer);
	enum bmc_status st = BMC_OK;
	for (int i = 0; i < 20 && st == BMC_OK; i++)
		st = bmc_console_read(c, buf, sizeof(buf), 100, &got, &e);
	assert_int_equal(st, BMC_ERR_FAILED);
	assert_non_null(strstr(e.message, "closed the console"));
	bmc_console_close(c);
	close(lfd);
	bmc_manager_free(m);
}

/* Systems without a console to capture, and what the open says. */
static void test_console_not_advertised(void **state)
{
	static const struct {
		const char *sys, *says;
		enum bmc_status st;
	} cases[] = {
	    {"{\"Id\":\"1\"}", "advertises no SerialConsole", BMC_ERR_UNSUPPORTED},
	    {"{\"SerialConsole\":{\"SSH\":{\"ServiceEnabled\":true,\"Port\":2200},"
	     "\"Telnet\":{\"ServiceEnabled\":false}}}",
	     "no enabled SerialConsole.Telnet", BMC_ERR_UNSUPPORTED},
	    {"{\"SerialConsole\":{\"Telnet\":{\"ServiceEnabled\":true,\"Port\":23,"
	     "\"SharedWithManagerCLI\":true,\"ConsoleEntryCommand\":\"console 1\"}}}",
	     "the manager's CLI", BMC_ERR_UNSUPPORTED},
	    {"{\"SerialConsole\":{\"Telnet\":{\"ServiceEnabled\":true}}}", "no valid Port",
	     BMC_ERR_FAILED},
	};
	struct bmc_manager *m = manager(0);
	struct bmc_target t = target(NULL);

	(void)state;
	for (size_t i = 0; i < N(cases); i++) {
		const struct srv_rule r[] = {
		    {.method = "GET", .path = SYS1, .status = 200, .body = cases[i].sys}};
		struct bmc_console *c = NULL;
		struct bmc_error e;
		rules(r, N(r));
		assert_int_equal(bmc_console_open(m, &t, &c, &e), cases[i].st);
		assert_null(c);
		assert_non_null(strstr(e.message, cases[i].says));
		assert_int_equal(srv_count("DELETE", SESSIONS "/17"), 1);
	}
	bmc_manager_free(m);
}

static int teardown(void **state)
{
	(void)state;
	srv_stop();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_power_on_confirmed_session_reused),
	    cmocka_unit_test(test_reset_type_from_allowable_values),
	    cmocka_unit_test(test_no_allowable_values),
	    cmocka_unit_test(test_action_info_and_body_etag),
	    cmocka_unit_test(test_several_systems),
	    cmocka_unit_test(test_root_without_links),
	    cmocka_unit_test(test_boot_override_etag),
	    cmocka_unit_test(test_boot_override_412),
	    cmocka_unit_test(test_session_expired_recreated),
	    cmocka_unit_test(test_hundred_operations_one_session),
	    cmocka_unit_test(test_credential_change_logs_out),
	    cmocka_unit_test(test_basic_auth),
	    cmocka_unit_test(test_wrong_password),
	    cmocka_unit_test(test_error_message_verbatim),
	    cmocka_unit_test(test_task_monitor),
	    cmocka_unit_test(test_busy_then_recovers),
	    cmocka_unit_test(test_unreachable),
	    cmocka_unit_test(test_validate),
	    cmocka_unit_test(test_tls_verified_by_default),
	    cmocka_unit_test(test_telnet_filter),
	    cmocka_unit_test(test_console_telnet),
	    cmocka_unit_test(test_console_not_advertised),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
