/* tokens.h - bearer secrets: "pvd_" + 64 hex digits of OpenSSL randomness;
 * stored only as SHA-256 hex. Thread-safe. */
#ifndef PROVISIOND_TOKENS_H
#define PROVISIOND_TOKENS_H

#include <stddef.h>

/* SHA-256 hex (64 digits + NUL) of secret. */
void tok_hash(const char *secret, char out[65]);
/* A new secret into out (len >= 69). 0 ok, -1 without randomness. */
int tok_new_secret(char *out, size_t len);

#endif
