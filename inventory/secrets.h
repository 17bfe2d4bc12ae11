/* secrets.h - values sealed at rest (BMC passwords): AES-256-GCM under the
 * key of the key file (inv_key_load).
 *
 * A sealed value is text, so every backend stores it as it stores any
 * string:
 *
 *     "v1:" base64( nonce (12 bytes) | ciphertext | tag (16 bytes) )
 *
 * v1 is AES-256-GCM with a random 96-bit nonce per value and a 128-bit tag.
 * The associated data names where the value belongs ("bmc-password:" and
 * the machine id, inv_bmc_password_ad()): a value copied into another
 * machine's row, or into another kind of field, does not open. A later
 * format (another cipher, a key id for key rotation) gets another prefix.
 *
 * No SQL here: machines.c seals on write and opens on read, schema.c seals
 * the rows an older provisiond stored in clear. Every function is safe to
 * call from any thread.
 */
#ifndef PROVISIOND_INVENTORY_SECRETS_H
#define PROVISIOND_INVENTORY_SECRETS_H

#include "inventory/inventory.h"

#define INV_SEAL_PREFIX "v1:"
/* The longest sealed text inv_unseal() accepts (a 6 KiB secret). */
#define INV_SEALED_MAX 8192
/* Room for inv_bmc_password_ad()'s text. */
#define INV_AD_LEN (INV_ID_LEN + 16)

/* Seals plain (NUL-terminated, may be "") with ad. Returns a malloc'd
 * sealed text (caller frees), or NULL with err: INV_IO when memory or
 * randomness fails. */
char *inv_seal(const struct inv_key *key, const char *ad, const char *plain, struct inv_err *err);

/* Opens sealed with ad. INV_OK: *plain is malloc'd (the caller wipes and
 * frees it). INV_CORRUPT: sealed is not a v1 value, or it does not
 * authenticate (another key, another ad, or altered); *plain is NULL and
 * nothing of the value is in err's message. INV_IO: out of memory. */
enum inv_status inv_unseal(const struct inv_key *key, const char *ad, const char *sealed,
			   char **plain, struct inv_err *err);

/* The associated data of machine_id's BMC password:
 * "bmc-password:<machine id>". */
void inv_bmc_password_ad(const char *machine_id, char out[INV_AD_LEN]);

#endif
