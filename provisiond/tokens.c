/* tokens.c - secrets for API, boot and agent tokens; only hashes are stored. */
#include "provisiond/tokens.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>

void tok_hash(const char *secret, char out[65])
{
	unsigned char md[32];
	unsigned int n = 0;
	EVP_Digest(secret, strlen(secret), md, &n, EVP_sha256(), NULL);
	for (unsigned i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

int tok_new_secret(char *out, size_t len)
{
	unsigned char b[32];
	if (len < 4 + 64 + 1 || RAND_bytes(b, sizeof b) != 1)
		return -1;
	memcpy(out, "pvd_", 4);
	for (size_t i = 0; i < sizeof b; i++)
		snprintf(out + 4 + 2 * i, 3, "%02x", b[i]);
	return 0;
}
