/* skus: the standard hardware catalog and the matcher (hardware facts -> SKU).
 *
 * A catalog is loaded once from a directory of INI files (docs/skus.md) and is
 * immutable afterwards: every function taking a `const struct sku_catalog *` or
 * `const struct sku *` only reads, so one catalog may be shared by any number
 * of threads without locking. No function here keeps global state.
 *
 * Strings returned as `char *` are malloc'd and owned by the caller (free()).
 * Strings returned as `const char *` belong to the catalog and live until
 * sku_catalog_free().
 */
#ifndef PROVISIOND_SKUS_SKU_H
#define PROVISIOND_SKUS_SKU_H

#include <stdbool.h>
#include <stddef.h>

#include "util/util.h"

struct sku_catalog;
struct sku;

/* Loads every `*.ini` file of `dir` (sorted by name; dotfiles skipped), one
 * SKU per file, and checks the catalog as a whole: SKU names are unique and
 * no two SKUs can match the same machine.
 * Returns ERR_OK and a new catalog in *out (free with sku_catalog_free), or
 * an error status with *out = NULL and e (may be NULL) filled: the message is
 * "file:line: message" (line 0 when the problem has no line, e.g. a missing
 * section), the field the key at fault as "section.key" when there is one.
 * ERR_INVALID for a bad file or catalog, ERR_IO when a file or the
 * directory cannot be read, ERR_INTERNAL when out of memory. Only the first
 * problem found is reported. */
enum err_status sku_catalog_load_dir(const char *dir, struct sku_catalog **out, struct err *e);

/* Frees the catalog and every SKU in it. Accepts NULL. Invalidates every
 * `const struct sku *` and `const char *` obtained from it. */
void sku_catalog_free(struct sku_catalog *c);

/* Number of SKUs (0 for NULL). */
size_t sku_catalog_count(const struct sku_catalog *c);

/* The i-th SKU in file-name order, or NULL when i is out of range. Borrowed. */
const struct sku *sku_catalog_at(const struct sku_catalog *c, size_t i);

/* The SKU named `name`, or NULL. Borrowed. */
const struct sku *sku_catalog_find(const struct sku_catalog *c, const char *name);

/* Borrowed strings; never NULL. s must not be NULL. */
const char *sku_name(const struct sku *s);
const char *sku_description(const struct sku *s);
/* Fast-track: an available machine of this SKU stays powered on in the deploy
 * agent, so a deploy skips the first reboot ([sku] fast_track, default
 * false). */
bool sku_fast_track(const struct sku *s);
/* Available machines of this SKU kept powered on in the agent ([sku]
 * warm_pool, default 0: none); docs/allocations.md#warm-pools. */
int sku_warm_pool(const struct sku *s);
/* Deploys of this SKU that may run at once ([sku] max_concurrent_deploys);
 * 0 (the default, and for NULL): only the global cap applies. */
int sku_max_concurrent_deploys(const struct sku *s);
/* The deploy interface of the SKU's machines ([sku] deploy): "pxe" (default) or
 * "vmedia" (the BMC's virtual CD, docs/bmc.md). Static string; NULL s: "pxe". */
const char *sku_deploy(const struct sku *s);
/* The firmware boot mode sent with boot device changes ([sku]
 * boot_override_mode): "UEFI", "Legacy", or "" to leave the BMC's mode alone.
 * Borrowed; NULL s: "". */
const char *sku_boot_override_mode(const struct sku *s);

/* Borrowed path of the INI file the SKU came from ("DIR/NAME.ini"). */
const char *sku_source_file(const struct sku *s);

/* A malloc'd compact JSON object describing the SKU's constraints (the shape
 * is in docs/skus.md; used for GET /v1/skus). NULL on allocation failure. */
char *sku_to_json(const struct sku *s);

/* Matches the agent's hardware facts (docs/agent-protocol.md) against every
 * SKU of the catalog.
 * Returns 0 and the one matching SKU in *out (borrowed), *reasons = NULL.
 * Returns 1 when no SKU matches: *out = NULL and *reasons = malloc'd text with
 *   one line per SKU, "name: constraint that failed; another one", lines
 *   separated by '\n' (no trailing newline), meant for a datacenter tech.
 * Returns -1 when facts_json is not valid facts: *reasons = malloc'd message
 *   that starts with the offending field and ": ", e.g. "disks[1].size_bytes:
 *   must be a non-negative integer" ("facts: ..." when it is not a JSON
 *   object at all). On allocation failure returns -1 with *reasons = NULL.
 * out and reasons may each be NULL when the caller does not want them; a NULL
 * or empty catalog matches nothing. */
int sku_match_json(const struct sku_catalog *c, const char *facts_json, const struct sku **out,
		   char **reasons);

/* Checks facts against one SKU (s not NULL). Returns 0 if they match (*reason = NULL),
 * 1 if not (*reason = malloc'd "name: failed constraint; ..."), -1 as in
 * sku_match_json. reason may be NULL. */
int sku_check_json(const struct sku *s, const char *facts_json, char **reason);

/* Synthesizes malloc'd facts JSON that sku_match_json() matches to s (used by
 * the fake BMC driver): the smallest machine s accepts, with at least one
 * disk and one NIC when s allows them. `mac` ("aa:bb:cc:dd:ee:ff", any case)
 * is the first NIC's MAC, further NICs count up from it; NULL means
 * "02:00:00:00:00:01". Deterministic: the same SKU and MAC give the same
 * text. Returns NULL if s is NULL, mac is malformed, or on allocation
 * failure. */
char *sku_example_facts_json(const struct sku *s, const char *mac);

#endif
