/* hash.c - checks of an image at registration: its format name, and the
 * sha256 and raw size of its bytes, raw or zstd-compressed (libcrypto +
 * libzstd), fed incrementally (a fetch) or read from a file descriptor. */
#include "images/images.h"

#include <errno.h>
#include <stdbool.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

#define CHUNK (1 << 20)

struct img_hasher {
	EVP_MD_CTX *md;
	ZSTD_DStream *z; /* NULL for raw */
	char *out;	 /* CHUNK bytes of decompressed output (zstd only) */
	int64_t size;
};

enum err_status img_check_format(const char *format, struct err *e)
{
	if (format && (strcmp(format, "raw") == 0 || strcmp(format, "raw.zst") == 0))
		return ERR_OK;
	return err_set(e, ERR_INVALID, "format", "format must be raw or raw.zst");
}

void img_hasher_free(struct img_hasher *h)
{
	if (!h)
		return;
	EVP_MD_CTX_free(h->md);
	ZSTD_freeDStream(h->z);
	free(h->out);
	free(h);
}

enum err_status img_hasher_new(const char *format, struct img_hasher **out, struct err *e)
{
	*out = NULL;
	if (img_check_format(format, e) != ERR_OK)
		return ERR_INVALID;
	bool zst = strcmp(format, "raw.zst") == 0;
	struct img_hasher *h = calloc(1, sizeof *h);
	if (h) {
		h->md = EVP_MD_CTX_new();
		h->z = zst ? ZSTD_createDStream() : NULL;
		h->out = zst ? malloc(CHUNK) : NULL;
	}
	if (!h || !h->md || (zst && (!h->z || !h->out)) ||
	    EVP_DigestInit_ex(h->md, EVP_sha256(), NULL) != 1) {
		img_hasher_free(h);
		return err_set(e, ERR_INTERNAL, NULL, "out of memory");
	}
	*out = h;
	return ERR_OK;
}

enum err_status img_hasher_feed(struct img_hasher *h, const void *buf, size_t n, struct err *e)
{
	if (!h->z) {
		EVP_DigestUpdate(h->md, buf, n);
		h->size += (int64_t)n;
		return ERR_OK;
	}
	ZSTD_inBuffer ib = {buf, n, 0};
	while (ib.pos < ib.size) {
		ZSTD_outBuffer ob = {h->out, CHUNK, 0};
		size_t rc = ZSTD_decompressStream(h->z, &ob, &ib);
		if (ZSTD_isError(rc))
			return err_set(e, ERR_INVALID, "path", "zstd: %s", ZSTD_getErrorName(rc));
		EVP_DigestUpdate(h->md, h->out, ob.pos);
		h->size += (int64_t)ob.pos;
	}
	return ERR_OK;
}

void img_hasher_finish(struct img_hasher *h, char sha256[65], int64_t *raw_size)
{
	unsigned char d[32];
	unsigned int dl = 0;
	EVP_DigestFinal_ex(h->md, d, &dl);
	for (unsigned i = 0; i < 32; i++)
		snprintf(sha256 + 2 * i, 3, "%02x", d[i]);
	*raw_size = h->size;
}

enum err_status img_hash_fd(int fd, const char *format, const atomic_bool *cancel, char sha256[65],
			    int64_t *raw_size, struct err *e)
{
	struct img_hasher *h = NULL;
	char *in = malloc(CHUNK);
	enum err_status rc =
	    in ? img_hasher_new(format, &h, e) : err_set(e, ERR_INTERNAL, NULL, "out of memory");
	ssize_t n = 0;
	while (rc == ERR_OK && (n = read(fd, in, CHUNK)) > 0) {
		if (cancel && atomic_load(cancel))
			rc = err_set(e, ERR_CONFLICT, NULL, "cancelled: provisiond is stopping");
		else
			rc = img_hasher_feed(h, in, (size_t)n, e);
	}
	if (rc == ERR_OK && n < 0)
		rc = err_set(e, ERR_IO, NULL, "read: %s", strerror(errno));
	if (rc == ERR_OK)
		img_hasher_finish(h, sha256, raw_size);
	img_hasher_free(h);
	free(in);
	return rc;
}
