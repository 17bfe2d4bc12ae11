/* secrets.c - sealing values at rest with AES-256-GCM (OpenSSL's EVP).
 *
 * Why GCM with a random nonce: it authenticates as well as encrypts, so a
 * wrong key or an edited row is an error and never garbage handed to a
 * BMC; 96-bit random nonces are safe for far more values than a fleet has
 * passwords (the bound is ~2^32 seals per key). Why the machine id as
 * associated data: someone who can write the database could otherwise
 * move a known password's ciphertext into another machine's row. */
#include "inventory/secrets.h"
#include "inventory/internal.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NONCE_LEN 12
#define TAG_LEN 16
#define PREFIX_LEN (sizeof INV_SEAL_PREFIX - 1)

void inv_bmc_password_ad(const char *machine_id, char out[INV_AD_LEN])
{
	snprintf(out, INV_AD_LEN, "bmc-password:%s", machine_id ? machine_id : "");
}

/* "v1:" + base64 of raw[0..n): malloc'd or NULL. */
static char *encode(const unsigned char *raw, size_t n)
{
	size_t len = PREFIX_LEN + 4 * ((n + 2) / 3) + 1;
	char *out = malloc(len);
	if (!out)
		return NULL;
	memcpy(out, INV_SEAL_PREFIX, PREFIX_LEN);
	EVP_EncodeBlock((unsigned char *)out + PREFIX_LEN, raw, (int)n);
	return out;
}

/* The bytes of a "v1:" text: malloc'd (*n set) or NULL when it is not one
 * (or memory ran out: *oom set). */
static unsigned char *decode(const char *sealed, size_t *n, bool *oom)
{
	*oom = false;
	size_t len = sealed ? strlen(sealed) : 0;
	if (len <= PREFIX_LEN || len > INV_SEALED_MAX ||
	    strncmp(sealed, INV_SEAL_PREFIX, PREFIX_LEN) != 0)
		return NULL;
	const char *b64 = sealed + PREFIX_LEN;
	len -= PREFIX_LEN;
	if (len % 4 != 0 || strspn(b64, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
					"0123456789+/=") != len)
		return NULL;
	unsigned char *raw = malloc(len / 4 * 3);
	if (!raw) {
		*oom = true;
		return NULL;
	}
	int got = EVP_DecodeBlock(raw, (const unsigned char *)b64, (int)len);
	/* EVP_DecodeBlock counts the padding as zero bytes */
	size_t pad = (b64[len - 1] == '=') + (b64[len - 2] == '=');
	if (got < 0 || (size_t)got < pad + NONCE_LEN + TAG_LEN) {
		free(raw);
		return NULL;
	}
	*n = (size_t)got - pad;
	return raw;
}

/* AES-256-GCM over buf[NONCE_LEN .. NONCE_LEN + n): in place, with the
 * nonce at buf[0..NONCE_LEN) and the tag after the text. Encrypting writes
 * the tag; decrypting checks it. Returns 0 ok, -1 (also: not authentic). */
static int gcm(const struct inv_key *key, const char *ad, unsigned char *buf, size_t n,
	       bool encrypt)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	unsigned char *text = buf + NONCE_LEN, *tag = text + n;
	int len = 0, ok = ctx != NULL;
	ok = ok && EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL, encrypt) == 1;
	ok = ok && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, NONCE_LEN, NULL) == 1;
	ok = ok && EVP_CipherInit_ex(ctx, NULL, NULL, key->bytes, buf, encrypt) == 1;
	ok = ok &&
	     EVP_CipherUpdate(ctx, NULL, &len, (const unsigned char *)ad, (int)strlen(ad)) == 1;
	if (ok && n > 0)
		ok = EVP_CipherUpdate(ctx, text, &len, text, (int)n) == 1 && (size_t)len == n;
	if (ok && !encrypt)
		ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN, tag) == 1;
	ok = ok && EVP_CipherFinal_ex(ctx, text + n, &len) == 1 && len == 0;
	if (ok && encrypt)
		ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN, tag) == 1;
	EVP_CIPHER_CTX_free(ctx);
	return ok ? 0 : -1;
}

char *inv_seal(const struct inv_key *key, const char *ad, const char *plain, struct inv_err *err)
{
	size_t n = strlen(plain), total = NONCE_LEN + n + TAG_LEN;
	if (n > INV_SEALED_MAX / 2) {
		inv_fail(err, INV_INVALID, NULL, "secret too long to store (%zu bytes)", n);
		return NULL;
	}
	unsigned char *buf = malloc(total);
	if (!buf) {
		inv_fail(err, INV_IO, NULL, "out of memory");
		return NULL;
	}
	memcpy(buf + NONCE_LEN, plain, n);
	char *out = NULL;
	if (RAND_bytes(buf, NONCE_LEN) != 1)
		inv_fail(err, INV_IO, NULL, "no randomness for a nonce");
	else if (gcm(key, ad, buf, n, true) != 0)
		inv_fail(err, INV_IO, NULL, "AES-256-GCM encryption failed");
	else if (!(out = encode(buf, total)))
		inv_fail(err, INV_IO, NULL, "out of memory");
	OPENSSL_cleanse(buf, total);
	free(buf);
	return out;
}

enum inv_status inv_unseal(const struct inv_key *key, const char *ad, const char *sealed,
			   char **plain, struct inv_err *err)
{
	*plain = NULL;
	size_t total = 0;
	bool oom;
	unsigned char *buf = decode(sealed, &total, &oom);
	if (!buf)
		return oom ? inv_fail(err, INV_IO, NULL, "out of memory")
			   : inv_fail(err, INV_CORRUPT, NULL,
				      "is not a sealed value (" INV_SEAL_PREFIX "...)");
	size_t n = total - NONCE_LEN - TAG_LEN;
	enum inv_status s = INV_OK;
	if (gcm(key, ad, buf, n, false) != 0)
		s = inv_fail(err, INV_CORRUPT, NULL,
			     "does not decrypt with this key: another key, or the value was "
			     "altered or moved");
	else if (!(*plain = malloc(n + 1)))
		s = inv_fail(err, INV_IO, NULL, "out of memory");
	else {
		memcpy(*plain, buf + NONCE_LEN, n);
		(*plain)[n] = 0;
	}
	OPENSSL_cleanse(buf, total);
	free(buf);
	return s;
}
