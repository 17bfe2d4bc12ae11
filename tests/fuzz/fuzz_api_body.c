/* fuzz_api_body.c - request bodies through the API's JSON validation (the
 * enroll and allocation field tables' shapes), the MAC list parser and the
 * error renderer. */
#include "provisiond/api.h"
#include "provisiond/macs.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const struct field fields[] = {
    {"name", F_STR, true, 1, 63, api_valid_name, "must be a name"},
    {"count", F_INT, false, 1, 256, NULL, NULL},
    {"macs", F_ARR, false, 0, 0, NULL, NULL},
    {"bmc", F_OBJ, false, 0, 0, NULL, NULL},
    {"flag", F_BOOL, false, 0, 0, NULL, NULL},
};
static const struct field nested[] = {
    {"driver", F_STR, true, 1, 15, NULL, NULL},
    {"options", F_OBJ, false, 0, 0, NULL, NULL},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_req r;
	memset(&r, 0, sizeof r);
	r.fd = -1;
	r.body = malloc(size + 1);
	memcpy(r.body, data, size);
	r.body[size] = 0;
	r.body_len = size;
	json_t *o = api_body(&r, fields, sizeof fields / sizeof fields[0]);
	if (!o && r.status != 400)
		abort(); /* every refusal is a 400 with a body */
	json_t *bmc = json_object_get(o, "bmc");
	if (bmc)
		api_check_fields(&r, bmc, "bmc.", nested, sizeof nested / sizeof nested[0]);
	char macs[INV_MAX_MACS][MAC_STR_LEN];
	int n;
	mac_list_parse(json_object_get(o, "macs"), "macs", 0, INV_MAX_MACS, macs, &n, NULL);
	json_decref(o);
	free(r.resp);
	free(r.body);
	return 0;
}
