/* options.h - reading a BMC's options object with errors that name the field
 * (internal). Every function returns BMC_OK or BMC_ERR_INVALID with e filled as
 * "bmc.options.KEY: ..."; a missing key gives the default. o may be NULL (= {}). */
#ifndef PROVISIOND_BMC_OPTIONS_H
#define PROVISIOND_BMC_OPTIONS_H

#include <stdbool.h>
#include <jansson.h>

#include "provisiond/bmc/bmc.h"

/* Parses options_json (NULL or "" mean {}); on success *out is a new reference the
 * caller drops with json_decref(). */
enum bmc_status bmc_opts_parse(const char *options_json, json_t **out, struct bmc_error *e);

/* Rejects keys not in allowed (NULL-terminated), naming the driver. */
enum bmc_status bmc_opts_check_keys(const json_t *o, const char *driver, const char *const *allowed,
				    struct bmc_error *e);

enum bmc_status bmc_opt_int(const json_t *o, const char *key, long long min, long long max,
			    long long def, long long *out, struct bmc_error *e);
enum bmc_status bmc_opt_number(const json_t *o, const char *key, double min, double max, double def,
			       double *out, struct bmc_error *e);
enum bmc_status bmc_opt_bool(const json_t *o, const char *key, bool def, bool *out,
			     struct bmc_error *e);
/* *out is borrowed from o (or is def). */
enum bmc_status bmc_opt_string(const json_t *o, const char *key, const char *def, const char **out,
			       struct bmc_error *e);
/* Like bmc_opt_string, but the value must be one of choices (NULL-terminated);
 * *index is its position. */
enum bmc_status bmc_opt_choice(const json_t *o, const char *key, const char *const *choices,
			       int def, int *index, struct bmc_error *e);

#endif
