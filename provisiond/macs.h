/* macs.h - the one reader of MAC lists in request bodies: "macs" of
 * POST /v1/machines (enroll) and of POST /v1/agent/lookup.
 *
 * The rule, for both: an entry is a string "aa:bb:cc:dd:ee:ff" (hex digits in
 * any case, colons), kept in lower case. A list names a set of NICs, so the
 * same MAC twice, in any case, is rejected with the entry's index: it is an
 * operator's typo or an agent bug, and either is better seen than guessed
 * about. (Whether a MAC belongs to another machine is the inventory's
 * business, not this parser's.)
 *
 * Pure functions: thread-safe, allocate nothing, keep no reference to their
 * inputs. */
#ifndef PROVISIOND_MACS_H
#define PROVISIOND_MACS_H

#include "util/util.h"

#include <jansson.h>
#include <stdbool.h>

#define MAC_STR_LEN 18 /* "aa:bb:cc:dd:ee:ff" and its NUL */

/* Writes the lower-case form of s to out and returns true, or returns false
 * (out untouched) when s is not "xx:xx:xx:xx:xx:xx" in hex digits. */
bool mac_canonical(const char *s, char out[MAC_STR_LEN]);

/* Reads the JSON array `list` (the body's `field`) into out[0..*n), each
 * entry in canonical form. NULL or JSON null is the empty list. The list must
 * have min..max entries, and out room for max. On failure returns
 * ERR_INVALID with e (may be NULL) naming `field` and, in the message, the
 * entry at fault; *n and out are then unspecified. */
enum err_status mac_list_parse(const json_t *list, const char *field, int min, int max,
			       char out[][MAC_STR_LEN], int *n, struct err *e);

#endif
