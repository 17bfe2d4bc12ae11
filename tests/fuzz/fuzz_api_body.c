/* fuzz_api_body.c - request bodies through the API's JSON validation with
 * every body schema of the real route tables (nested objects through their
 * documented members), the MAC list parser and the error renderer. */
#include "provisiond/macs.h"
#include "provisiond/routes.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void check_nested(struct http_req *r, json_t *o, const struct api_schema *s)
{
	for (size_t i = 0; i < s->n; i++) {
		json_t *v = json_object_get(o, s->fields[i].name);
		if (s->fields[i].sub && json_is_object(v))
			api_check_fields(r, v, "x.", s->fields[i].sub, s->fields[i].nsub);
		if (json_is_array(v)) {
			char macs[INV_MAX_MACS][MAC_STR_LEN];
			int n;
			mac_list_parse(v, s->fields[i].name, 0, INV_MAX_MACS, macs, &n, NULL);
		}
	}
}

static void one_schema(const uint8_t *data, size_t size, const struct api_schema *s)
{
	struct http_req r;
	memset(&r, 0, sizeof r);
	r.fd = -1;
	r.body = malloc(size + 1);
	memcpy(r.body, data, size);
	r.body[size] = 0;
	r.body_len = size;
	json_t *o = api_body(&r, s->fields, s->n);
	if (!o && r.status != 400)
		abort(); /* every refusal is a 400 with a body */
	if (o)
		check_nested(&r, o, s);
	json_decref(o);
	free(r.resp);
	free(r.body);
}

static void one_table(const uint8_t *data, size_t size, const struct api_route *t, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (t[i].schema)
			one_schema(data, size, t[i].schema);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	one_table(data, size, api_routes, api_nroutes);
	one_table(data, size, boot_routes, boot_nroutes);
	return 0;
}
