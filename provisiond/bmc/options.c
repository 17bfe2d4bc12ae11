/* options.c - typed access to a BMC's options object, see options.h. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "provisiond/bmc/driver.h"
#include "provisiond/bmc/options.h"

static const char *field_name(const char *key, char *buf, size_t len)
{
	snprintf(buf, len, "bmc.options.%s", key);
	return buf;
}

enum bmc_status bmc_opts_parse(const char *options_json, json_t **out, struct bmc_error *e)
{
	json_error_t je;
	json_t *o;

	*out = NULL;
	if (options_json == NULL || options_json[0] == '\0') {
		*out = json_object();
		return *out ? BMC_OK : bmc_error_set(e, BMC_ERR_FAILED, NULL, "out of memory");
	}
	o = json_loads(options_json, JSON_REJECT_DUPLICATES, &je);
	if (o == NULL)
		return bmc_error_set(e, BMC_ERR_INVALID, "bmc.options",
				     "not valid JSON (line %d, column %d: %s)", je.line, je.column,
				     je.text);
	if (!json_is_object(o)) {
		json_decref(o);
		return bmc_error_set(e, BMC_ERR_INVALID, "bmc.options", "must be a JSON object");
	}
	*out = o;
	return BMC_OK;
}

static bool in_list(const char *key, const char *const *allowed)
{
	for (; *allowed != NULL; allowed++)
		if (strcmp(*allowed, key) == 0)
			return true;
	return false;
}

enum bmc_status bmc_opts_check_keys(const json_t *o, const char *driver, const char *const *allowed,
				    struct bmc_error *e)
{
	const char *key;
	json_t *v;
	char f[96];

	if (o == NULL)
		return BMC_OK;
	json_object_foreach((json_t *)o, key, v)
	{
		(void)v;
		if (!in_list(key, allowed))
			return bmc_error_set(e, BMC_ERR_INVALID, field_name(key, f, sizeof(f)),
					     "unknown option for driver %s", driver);
	}
	return BMC_OK;
}

enum bmc_status bmc_opt_int(const json_t *o, const char *key, long long min, long long max,
			    long long def, long long *out, struct bmc_error *e)
{
	json_t *v = o ? json_object_get(o, key) : NULL;
	char f[96];

	*out = def;
	if (v == NULL)
		return BMC_OK;
	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
		return bmc_error_set(e, BMC_ERR_INVALID, field_name(key, f, sizeof(f)),
				     "must be an integer from %lld to %lld", min, max);
	*out = json_integer_value(v);
	return BMC_OK;
}

enum bmc_status bmc_opt_number(const json_t *o, const char *key, double min, double max, double def,
			       double *out, struct bmc_error *e)
{
	json_t *v = o ? json_object_get(o, key) : NULL;
	char f[96];

	*out = def;
	if (v == NULL)
		return BMC_OK;
	if (!json_is_number(v) || !isfinite(json_number_value(v)) || json_number_value(v) < min ||
	    json_number_value(v) > max)
		return bmc_error_set(e, BMC_ERR_INVALID, field_name(key, f, sizeof(f)),
				     "must be a number from %g to %g", min, max);
	*out = json_number_value(v);
	return BMC_OK;
}

enum bmc_status bmc_opt_bool(const json_t *o, const char *key, bool def, bool *out,
			     struct bmc_error *e)
{
	json_t *v = o ? json_object_get(o, key) : NULL;
	char f[96];

	*out = def;
	if (v == NULL)
		return BMC_OK;
	if (!json_is_boolean(v))
		return bmc_error_set(e, BMC_ERR_INVALID, field_name(key, f, sizeof(f)),
				     "must be true or false");
	*out = json_is_true(v);
	return BMC_OK;
}

enum bmc_status bmc_opt_string(const json_t *o, const char *key, const char *def, const char **out,
			       struct bmc_error *e)
{
	json_t *v = o ? json_object_get(o, key) : NULL;
	char f[96];

	*out = def;
	if (v == NULL)
		return BMC_OK;
	if (!json_is_string(v))
		return bmc_error_set(e, BMC_ERR_INVALID, field_name(key, f, sizeof(f)),
				     "must be a string");
	*out = json_string_value(v);
	return BMC_OK;
}

enum bmc_status bmc_opt_choice(const json_t *o, const char *key, const char *const *choices,
			       int def, int *index, struct bmc_error *e)
{
	const char *s;
	char f[96], known[160] = "";
	size_t n = 0;
	enum bmc_status st = bmc_opt_string(o, key, NULL, &s, e);

	*index = def;
	if (st != BMC_OK || s == NULL)
		return st;
	for (int i = 0; choices[i] != NULL; i++) {
		if (strcmp(choices[i], s) == 0) {
			*index = i;
			return BMC_OK;
		}
		if (n < sizeof(known))
			n += (size_t)snprintf(known + n, sizeof(known) - n, "%s%s", i ? ", " : "",
					      choices[i]);
	}
	return bmc_error_set(e, BMC_ERR_INVALID, field_name(key, f, sizeof(f)),
			     "unknown value '%.40s' (known: %s)", s, known);
}
