/* test_bmc_redfish_media.c - the redfish driver's virtual media and CD boot through
 * the BMC layer's public API, against recorded Redfish answers served by the
 * scripted responder (redfish_fixtures/): the virtual CD found through the
 * system's manager (skipping a removable disk) or under the system itself, insert
 * with the image the BMC is to fetch, an insert over another image ejecting it
 * first, nothing sent when the image is in already or the drive is empty, a BMC
 * without a virtual CD or without the actions, its error message verbatim, a task
 * monitor, the CD as boot device, and the SKU's boot mode against the machine's
 * option. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "provisiond/bmc/bmc.h"
#include "redfish_fixtures/srv.h"

static char addr[64];

#define SESSIONS "/redfish/v1/SessionService/Sessions"
#define SYS1 "/redfish/v1/Systems/1"
#define MGR "/redfish/v1/Managers/iDRAC.Embedded.1"
#define VM MGR "/VirtualMedia"
#define CD VM "/CD"
#define INSERT CD "/Actions/VirtualMedia.InsertMedia"
#define EJECT CD "/Actions/VirtualMedia.EjectMedia"
#define URL "http://10.78.0.1:7481/vmedia/pvd_abc.iso"
#define N(a) (sizeof(a) / sizeof(a[0]))

static const struct srv_rule base[] = {
    {.method = "GET", .path = "/redfish/v1/", .status = 200, .body = "@root.json"},
    {.method = "POST",
     .path = SESSIONS,
     .status = 201,
     .body = "@session_created.json",
     .headers = "X-Auth-Token: tok1|Location: " SESSIONS "/17"},
    {.method = "DELETE", .path = SESSIONS "/17", .status = 204},
    {.method = "GET", .path = "/redfish/v1/Systems", .status = 200, .body = "@systems_one.json"},
    {.method = "GET", .path = SYS1, .status = 200, .body = "@system_managed_off.json"},
    {.method = "GET", .path = MGR, .status = 200, .body = "@manager_idrac.json"},
    {.method = "GET", .path = VM, .status = 200, .body = "@vmedia_collection.json"},
    {.method = "GET", .path = VM "/RemovableDisk", .status = 200, .body = "@vmedia_removable.json"},
};

static void rules(const struct srv_rule *extra, size_t n)
{
	struct srv_rule all[32];
	size_t k = 0;

	for (size_t i = 0; i < n && k < N(all); i++)
		all[k++] = extra[i];
	for (size_t i = 0; i < N(base) && k < N(all); i++)
		all[k++] = base[i];
	srv_set(all, k);
}

static struct bmc_manager *manager(void)
{
	struct bmc_limits l;
	struct bmc_manager *m;

	bmc_limits_default(&l);
	l.call_timeout_ms = 3000;
	l.retry_base_ms = 5;
	l.retry_max_ms = 20;
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

static void test_insert_through_manager(void **state)
{
	static const struct srv_rule r[] = {
	    {.method = "GET", .path = CD, .status = 200, .body = "@vmedia_cd_empty.json"},
	    {.method = "POST", .path = INSERT, .token = "tok1", .status = 204},
	};
	struct bmc_manager *m = manager();
	struct bmc_target t = target(NULL);

	(void)state;
	rules(r, N(r));
	assert_true(bmc_driver_caps("redfish") & BMC_CAP_VMEDIA);
	assert_int_equal(bmc_media_insert(m, &t, URL, NULL), BMC_OK);
	assert_string_equal(last("POST", INSERT)->body,
			    "{\"Image\":\"" URL "\",\"Inserted\":true,\"WriteProtected\":true}");
	assert_int_equal(srv_count("POST", NULL) - srv_count("POST", SESSIONS), 1);
	assert_int_equal(srv_count("POST", VM "/RemovableDisk/Actions/VirtualMedia.InsertMedia"),
			 0);
	/* the empty drive: eject sends nothing */
	assert_int_equal(bmc_media_eject(m, &t, NULL), BMC_OK);
	assert_int_equal(srv_count("POST", EJECT), 0);
	bmc_manager_free(m);
}

static void test_insert_over_other_image(void **state)
{
	static const struct srv_rule r[] = {
	    {.method = "GET", .path = CD, .status = 200, .body = "@vmedia_cd_inserted.json"},
	    {.method = "POST", .path = EJECT, .status = 204},
	    {.method = "POST", .path = INSERT, .status = 204},
	};
	struct bmc_manager *m = manager();
	struct bmc_target t = target(NULL);
	int ej, in;

	(void)state;
	rules(r, N(r));
	assert_int_equal(bmc_media_insert(m, &t, URL, NULL), BMC_OK);
	ej = srv_last("POST", EJECT);
	in = srv_last("POST", INSERT);
	assert_true(ej >= 0 && in > ej); /* ejected first */
	assert_string_equal(srv_req(ej)->body, "{}");
	/* the same image inserted already: nothing sent */
	assert_int_equal(bmc_media_insert(m, &t, "http://old.example/old.iso", NULL), BMC_OK);
	assert_int_equal(srv_count("POST", INSERT), 1);
	assert_int_equal(bmc_media_eject(m, &t, NULL), BMC_OK);
	assert_int_equal(srv_count("POST", EJECT), 2);
	bmc_manager_free(m);
}

static void test_system_own_virtual_media(void **state)
{
	static const struct srv_rule r[] = {
	    {.method = "GET", .path = SYS1, .status = 200, .body = "@system_own_vmedia.json"},
	    {.method = "GET",
	     .path = SYS1 "/VirtualMedia",
	     .status = 200,
	     .body = "@vmedia_system_collection.json"},
	    {.method = "GET",
	     .path = SYS1 "/VirtualMedia/Cd",
	     .status = 200,
	     .body = "{\"Id\":\"Cd\",\"MediaTypes\":[\"DVD\"],\"Inserted\":false,\"Actions\":"
		     "{\"#VirtualMedia.InsertMedia\":{\"target\":\"/redfish/v1/Systems/1/"
		     "VirtualMedia/Cd/Actions/VirtualMedia.InsertMedia\"}}}"},
	    {.method = "POST",
	     .path = SYS1 "/VirtualMedia/Cd/Actions/VirtualMedia.InsertMedia",
	     .status = 204},
	};
	struct bmc_manager *m = manager();
	struct bmc_target t = target(NULL);

	(void)state;
	rules(r, N(r));
	assert_int_equal(bmc_media_insert(m, &t, URL, NULL), BMC_OK);
	assert_int_equal(srv_count("GET", MGR), 0); /* no manager needed */
	bmc_manager_free(m);
}

static void test_no_virtual_cd(void **state)
{
	static const struct srv_rule none[] = {
	    {.method = "GET",
	     .path = VM,
	     .status = 200,
	     .body = "{\"Members\":[{\"@odata.id\":\"" VM "/RemovableDisk\"}]}"},
	};
	static const struct srv_rule noactions[] = {
	    {.method = "GET", .path = CD, .status = 200, .body = "@vmedia_cd_noactions.json"},
	};
	struct bmc_manager *m = manager();
	struct bmc_target t = target(NULL);
	struct bmc_error e;

	(void)state;
	rules(none, N(none));
	assert_int_equal(bmc_media_insert(m, &t, URL, &e), BMC_ERR_UNSUPPORTED);
	assert_non_null(strstr(e.message, "offers no virtual CD for system " SYS1));
	rules(noactions, N(noactions));
	assert_int_equal(bmc_media_insert(m, &t, URL, &e), BMC_ERR_UNSUPPORTED);
	assert_non_null(strstr(e.message, "has no #VirtualMedia.InsertMedia action"));
	bmc_manager_free(m);
}

static void test_insert_error_and_task(void **state)
{
	static const struct srv_rule bad[] = {
	    {.method = "GET", .path = CD, .status = 200, .body = "@vmedia_cd_empty.json"},
	    {.method = "POST", .path = INSERT, .status = 400, .body = "@error_bad_value.json"},
	};
	static const struct srv_rule task[] = {
	    {.method = "GET", .path = CD, .status = 200, .body = "@vmedia_cd_empty.json"},
	    {.method = "POST",
	     .path = INSERT,
	     .status = 202,
	     .headers = "Location: /redfish/v1/TaskService/TaskMonitors/9"},
	    {.method = "GET",
	     .path = "/redfish/v1/TaskService/TaskMonitors/9",
	     .status = 202,
	     .count = 1},
	    {.method = "GET", .path = "/redfish/v1/TaskService/TaskMonitors/9", .status = 204},
	};
	struct bmc_manager *m = manager();
	struct bmc_target t = target(NULL);
	struct bmc_error e;

	(void)state;
	rules(bad, N(bad));
	assert_int_equal(bmc_media_insert(m, &t, URL, &e), BMC_ERR_FAILED);
	assert_non_null(strstr(e.message, "HTTP 400 on VirtualMedia.InsertMedia: The value "
					  "'ForceRestart' for the parameter ResetType"));
	rules(task, N(task));
	assert_int_equal(bmc_media_insert(m, &t, URL, &e), BMC_OK);
	assert_int_equal(srv_count("GET", "/redfish/v1/TaskService/TaskMonitors/9"), 2);
	bmc_manager_free(m);
}

static void test_boot_cd_and_sku_mode(void **state)
{
	static const struct srv_rule r[] = {
	    {.method = "PATCH", .path = SYS1, .status = 204},
	};
	struct bmc_manager *m = manager();
	struct bmc_target t = target(NULL);
	struct bmc_error e;

	(void)state;
	rules(r, N(r));
	assert_int_equal(bmc_boot_set(m, &t, BMC_BOOT_CD, false, NULL), BMC_OK);
	assert_string_equal(last("PATCH", SYS1)->body,
			    "{\"Boot\":{\"BootSourceOverrideTarget\":\"Cd\","
			    "\"BootSourceOverrideEnabled\":\"Once\"}}"); /* mode left alone */
	t.boot_mode = "uefi";						 /* the SKU's */
	assert_int_equal(bmc_boot_set(m, &t, BMC_BOOT_CD, false, NULL), BMC_OK);
	assert_string_equal(last("PATCH", SYS1)->body,
			    "{\"Boot\":{\"BootSourceOverrideTarget\":\"Cd\","
			    "\"BootSourceOverrideEnabled\":\"Once\","
			    "\"BootSourceOverrideMode\":\"UEFI\"}}");
	t = target("{\"boot_mode\":\"Legacy\"}"); /* the machine's option wins */
	t.boot_mode = "UEFI";
	assert_int_equal(bmc_boot_set(m, &t, BMC_BOOT_PXE, false, NULL), BMC_OK);
	assert_non_null(strstr(last("PATCH", SYS1)->body, "\"BootSourceOverrideMode\":\"Legacy\""));
	t = target(NULL);
	t.boot_mode = "bios";
	assert_int_equal(bmc_boot_set(m, &t, BMC_BOOT_PXE, false, &e), BMC_ERR_INVALID);
	assert_string_equal(e.field, "sku.boot_override_mode");
	bmc_manager_free(m);
}

/* Checked before any I/O: the URL, the driver's support, the deploy option. */
static void test_validation(void **state)
{
	struct bmc_manager *m = manager();
	struct bmc_target t = target(NULL);
	struct bmc_target fake = {.key = "f1", .driver = "fake"};
	struct bmc_error e;

	static const struct srv_rule none[1];

	(void)state;
	srv_set(none, 0); /* answers 404 to anything */
	assert_int_equal(bmc_media_insert(m, &t, "ftp://x/y.iso", &e), BMC_ERR_INVALID);
	assert_int_equal(bmc_media_insert(m, &t, NULL, &e), BMC_ERR_INVALID);
	assert_int_equal(srv_nreq(), 0);
	assert_int_equal(bmc_media_insert(m, &fake, URL, &e), BMC_ERR_UNSUPPORTED);
	assert_string_equal(e.message, "driver fake does not support virtual media");
	assert_false(bmc_driver_caps("fake") & BMC_CAP_VMEDIA);
	t = target("{\"deploy\":\"vmedia\"}");
	assert_int_equal(bmc_validate(&t, &e), BMC_OK);
	t = target("{\"deploy\":\"usb\"}");
	assert_int_equal(bmc_validate(&t, &e), BMC_ERR_INVALID);
	assert_string_equal(e.field, "bmc.options.deploy");
	bmc_manager_free(m);
}

static int setup(void **state)
{
	int port = srv_start(NULL, NULL);

	(void)state;
	if (port <= 0)
		return -1;
	snprintf(addr, sizeof(addr), "http://127.0.0.1:%d", port);
	return 0;
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
	    cmocka_unit_test(test_insert_through_manager),
	    cmocka_unit_test(test_insert_over_other_image),
	    cmocka_unit_test(test_system_own_virtual_media),
	    cmocka_unit_test(test_no_virtual_cd),
	    cmocka_unit_test(test_insert_error_and_task),
	    cmocka_unit_test(test_boot_cd_and_sku_mode),
	    cmocka_unit_test(test_validation),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
