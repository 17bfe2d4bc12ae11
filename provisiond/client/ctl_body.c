/* Request bodies built from provisionctl flags (machine enroll/patch), and
 * reading of files and secrets (token files, BMC password files). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "provisiond/client/ctl.h"

#define SECRET_MAX 4096
#define BODY_MAX (1024 * 1024)

int ctl_read_file(const char *path, size_t max, char **out, size_t *len, char *errbuf,
		  size_t errlen)
{
	bool is_stdin = strcmp(path, "-") == 0;
	FILE *f = is_stdin ? stdin : fopen(path, "rb");
	char *buf = NULL;
	size_t n = 0;

	*out = NULL;
	if (f == NULL) {
		snprintf(errbuf, errlen, "cannot read %s: %s", path, strerror(errno));
		return -1;
	}
	buf = malloc(max + 2);
	if (buf != NULL)
		n = fread(buf, 1, max + 1, f);
	bool bad = buf == NULL || ferror(f) || n > max;
	if (!is_stdin)
		fclose(f);
	if (bad) {
		snprintf(errbuf, errlen, "cannot read %s: %s", path,
			 n > max ? "file too large" : "read error");
		free(buf);
		return -1;
	}
	buf[n] = '\0';
	*out = buf;
	if (len != NULL)
		*len = n;
	return 0;
}

static char *expand_home(const char *path, const char *(*getenv_fn)(const char *))
{
	const char *home = getenv_fn ? getenv_fn("HOME") : NULL;
	char buf[4096];

	if (strncmp(path, "~/", 2) != 0 || home == NULL)
		return strdup(path);
	snprintf(buf, sizeof(buf), "%s/%s", home, path + 2);
	return strdup(buf);
}

/* A secret others may read is no secret for long: say so (it still works). */
static void warn_if_shared(const char *path, FILE *warn)
{
	struct stat st;

	if (warn != NULL && stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	    (st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
		fprintf(warn,
			"provisionctl: warning: %s is readable by others (mode %03o): "
			"chmod 600 it\n",
			path, (unsigned)(st.st_mode & 0777));
}

int ctl_read_secret(const char *path, const char *(*getenv_fn)(const char *), FILE *warn,
		    char **out, char *errbuf, size_t errlen)
{
	char *full = expand_home(path, getenv_fn), *buf = NULL;
	size_t n = 0;
	int rc = -1;

	*out = NULL;
	if (full == NULL || ctl_read_file(full, SECRET_MAX, &buf, &n, errbuf, errlen) != 0)
		goto out;
	warn_if_shared(full, warn);
	/* Only the line ending goes: spaces may be part of a password. */
	buf[strcspn(buf, "\r\n")] = '\0';
	if (buf[0] == '\0') {
		snprintf(errbuf, errlen, "%s is empty", full);
		goto out;
	}
	*out = strdup(buf);
	rc = *out ? 0 : -1;
out:
	if (buf != NULL)
		explicit_bzero(buf, n);
	free(buf);
	free(full);
	return rc;
}

static bool is_int_text(const char *v)
{
	const char *p = v + (v[0] == '-');

	if (p[0] == '0')
		return p[1] == '\0';
	if (p[0] < '1' || p[0] > '9')
		return false;
	return strspn(p, "0123456789") == strlen(p) && strlen(p) < 19;
}

json_t *ctl_option_value(const char *v)
{
	const char *p = v + (v[0] == '-');
	char *end;

	if (is_int_text(v))
		return json_integer(strtoll(v, NULL, 10));
	if (strcmp(v, "true") == 0 || strcmp(v, "false") == 0)
		return json_boolean(v[0] == 't');
	bool leading_zero = p[0] == '0' && p[1] >= '0' && p[1] <= '9';
	if (p[0] >= '0' && p[0] <= '9' && !leading_zero && strpbrk(v, ".eE") != NULL &&
	    strspn(v, "-+.0123456789eE") == strlen(v)) {
		double d = strtod(v, &end);
		if (*end == '\0')
			return json_real(d);
	}
	return json_string(v);
}

/* Sets o[key] to a string when v is set; returns -1 on allocation failure. */
static int set_str(json_t *o, const char *key, const char *v)
{
	return v == NULL ? 0 : json_object_set_new(o, key, json_string(v));
}

static int bmc_password(const struct ctl_args *a, char **secret, char *errbuf, size_t errlen)
{
	const char *file = ctl_arg(a, "bmc-password-file"), *var = ctl_arg(a, "bmc-password-env");

	if (file && var) {
		snprintf(errbuf, errlen,
			 "give --bmc-password-file or --bmc-password-env, not both");
		return -1;
	}
	if (file != NULL)
		return ctl_read_secret(file, NULL, NULL, secret, errbuf, errlen);
	if (var == NULL)
		return 0;
	const char *v = getenv(var);
	if (v == NULL || v[0] == '\0') {
		snprintf(errbuf, errlen, "environment variable %s is not set", var);
		return -1;
	}
	*secret = strdup(v);
	return *secret ? 0 : -1;
}

static int bmc_options(const struct ctl_args *a, json_t *opts, char *errbuf, size_t errlen)
{
	const char *vals[CTL_MAX_VALS];
	size_t n = ctl_arg_all(a, "bmc-option", vals, CTL_MAX_VALS);

	for (size_t i = 0; i < n; i++) {
		const char *eq = strchr(vals[i], '=');
		if (eq == NULL || eq == vals[i]) {
			snprintf(errbuf, errlen, "--bmc-option wants KEY=VALUE, got '%s'", vals[i]);
			return -1;
		}
		char key[128];
		size_t klen = (size_t)(eq - vals[i]);
		if (klen >= sizeof(key)) {
			snprintf(errbuf, errlen, "--bmc-option key too long");
			return -1;
		}
		memcpy(key, vals[i], klen);
		key[klen] = '\0';
		if (json_object_set_new(opts, key, ctl_option_value(eq + 1)) != 0)
			return -1;
	}
	return 0;
}

/* The "bmc" object from --bmc-* flags (password via *secret). */
static int bmc_object(const struct ctl_args *a, json_t *body, char **secret, char *errbuf,
		      size_t errlen)
{
	json_t *bmc = json_object(), *opts = json_object();
	int rc = -1;

	if (bmc == NULL || opts == NULL || bmc_password(a, secret, errbuf, errlen) != 0 ||
	    bmc_options(a, opts, errbuf, errlen) != 0)
		goto out;
	if (set_str(bmc, "driver", ctl_arg(a, "bmc-driver")) != 0 ||
	    set_str(bmc, "address", ctl_arg(a, "bmc-address")) != 0 ||
	    set_str(bmc, "username", ctl_arg(a, "bmc-user")) != 0 ||
	    set_str(bmc, "password", *secret) != 0)
		goto out;
	if (json_object_size(opts) > 0 && json_object_set(bmc, "options", opts) != 0)
		goto out;
	rc = json_object_size(bmc) > 0 ? json_object_set(body, "bmc", bmc) : 0;
out:
	json_decref(opts);
	json_decref(bmc);
	return rc;
}

static int location_object(const struct ctl_args *a, json_t *body, char *errbuf, size_t errlen)
{
	json_t *loc = json_object();
	const char *unit = ctl_arg(a, "unit");
	long u;
	int rc = -1;

	if (loc == NULL)
		return -1;
	if (unit != NULL && ctl_parse_long(unit, 0, 1000, &u) != 0) {
		snprintf(errbuf, errlen, "--unit must be a whole number 0-1000");
		goto out;
	}
	if (set_str(loc, "site", ctl_arg(a, "site")) != 0 ||
	    set_str(loc, "rack", ctl_arg(a, "rack")) != 0 ||
	    (unit && json_object_set_new(loc, "unit", json_integer(u)) != 0))
		goto out;
	rc = json_object_size(loc) > 0 ? json_object_set(body, "location", loc) : 0;
out:
	json_decref(loc);
	return rc;
}

static int macs_array(const struct ctl_args *a, json_t *body)
{
	const char *vals[CTL_MAX_VALS];
	size_t n = ctl_arg_all(a, "mac", vals, CTL_MAX_VALS);
	json_t *arr;

	if (n == 0)
		return 0;
	arr = json_array();
	for (size_t i = 0; arr != NULL && i < n; i++)
		if (json_array_append_new(arr, json_string(vals[i])) != 0)
			break;
	return json_object_set_new(body, "macs", arr);
}

static int maintenance_fields(const struct ctl_args *a, json_t *body, char *errbuf, size_t errlen)
{
	const char *m = ctl_arg(a, "maintenance");

	if (m != NULL && strcmp(m, "on") != 0 && strcmp(m, "off") != 0) {
		snprintf(errbuf, errlen, "--maintenance takes on or off");
		return -1;
	}
	if (m != NULL && json_object_set_new(body, "maintenance", json_boolean(m[1] == 'n')) != 0)
		return -1;
	return set_str(body, "maintenance_reason", ctl_arg(a, "maintenance-reason"));
}

static int body_from_json_file(const char *path, json_t **out, char **secret, char *errbuf,
			       size_t errlen)
{
	json_error_t jerr;
	char *text = NULL;
	size_t len = 0;

	if (ctl_read_file(path, BODY_MAX, &text, &len, errbuf, errlen) != 0)
		return -1;
	*out = json_loadb(text, len, 0, &jerr);
	explicit_bzero(text, len);
	free(text);
	if (!json_is_object(*out)) {
		/* jerr.text may quote the input: report only the position. */
		snprintf(errbuf, errlen, "%s: not a JSON object (line %d, column %d)", path,
			 jerr.line, jerr.column);
		json_decref(*out);
		*out = NULL;
		return -1;
	}
	const char *pw =
	    json_string_value(json_object_get(json_object_get(*out, "bmc"), "password"));
	*secret = pw ? strdup(pw) : NULL;
	return 0;
}

static const char *const field_flags[] = {
    "name",
    "mac",
    "bmc-driver",
    "bmc-address",
    "bmc-user",
    "bmc-password-file",
    "bmc-password-env",
    "bmc-option",
    "site",
    "rack",
    "unit",
    "maintenance",
    "maintenance-reason",
    NULL,
};

int ctl_machine_body(const struct ctl_args *a, bool patch, json_t **out, char **secret,
		     char *errbuf, size_t errlen)
{
	const char *json_path = ctl_arg(a, "json");
	json_t *body;

	*out = NULL;
	*secret = NULL;
	if (json_path != NULL) {
		for (size_t i = 0; field_flags[i] != NULL; i++)
			if (ctl_arg(a, field_flags[i]) != NULL) {
				snprintf(errbuf, errlen, "--json cannot be combined with --%s",
					 field_flags[i]);
				return -1;
			}
		return body_from_json_file(json_path, out, secret, errbuf, errlen);
	}
	body = json_object();
	errbuf[0] = '\0';
	if (body == NULL || set_str(body, "name", ctl_arg(a, "name")) != 0 ||
	    location_object(a, body, errbuf, errlen) != 0 || (!patch && macs_array(a, body) != 0) ||
	    bmc_object(a, body, secret, errbuf, errlen) != 0 ||
	    (patch && maintenance_fields(a, body, errbuf, errlen) != 0))
		goto fail;
	if (json_object_size(body) == 0) {
		snprintf(errbuf, errlen,
			 patch ? "nothing to change: give a field flag or --json"
			       : "nothing to enroll: give field flags or --json");
		goto fail;
	}
	*out = body;
	return 0;
fail:
	if (errbuf[0] == '\0')
		snprintf(errbuf, errlen, "out of memory building the body");
	json_decref(body);
	ctl_secret_free(*secret);
	*secret = NULL;
	return -1;
}
