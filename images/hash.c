/* hash.c - checks of an image at registration: its format name, and the
 * sha256 and raw size of a local file, raw or zstd-compressed (libcrypto +
 * libzstd). */
#include "images/images.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

#define CHUNK (1 << 20)

enum err_status img_check_format(const char *format, struct err *e)
{
	if (format && (strcmp(format, "raw") == 0 || strcmp(format, "raw.zst") == 0))
		return ERR_OK;
	return err_set(e, ERR_INVALID, "format", "format must be raw or raw.zst");
}

/* Feeds one chunk of compressed input through the decoder into the hash. */
static enum err_status zstd_feed(ZSTD_DStream *z, EVP_MD_CTX *md, const char *in, size_t n,
				 char *out, int64_t *size, struct err *e)
{
	ZSTD_inBuffer ib = {in, n, 0};
	while (ib.pos < ib.size) {
		ZSTD_outBuffer ob = {out, CHUNK, 0};
		size_t rc = ZSTD_decompressStream(z, &ob, &ib);
		if (ZSTD_isError(rc))
			return err_set(e, ERR_INVALID, "path", "zstd: %s", ZSTD_getErrorName(rc));
		EVP_DigestUpdate(md, out, ob.pos);
		*size += (int64_t)ob.pos;
	}
	return ERR_OK;
}

enum err_status img_hash_file(const char *path, const char *format, char sha256[65],
			      int64_t *raw_size, struct err *e)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_set(e, ERR_IO, NULL, "cannot open %s: %s", path, strerror(errno));
	bool zst = strcmp(format, "raw.zst") == 0;
	char *in = malloc(CHUNK), *out = zst ? malloc(CHUNK) : NULL;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	ZSTD_DStream *z = zst ? ZSTD_createDStream() : NULL;
	enum err_status rc = in && md && (!zst || (out && z))
				 ? ERR_OK
				 : err_set(e, ERR_INTERNAL, NULL, "out of memory");
	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	*raw_size = 0;
	ssize_t n;
	while (rc == ERR_OK && (n = read(fd, in, CHUNK)) > 0) {
		if (zst)
			rc = zstd_feed(z, md, in, (size_t)n, out, raw_size, e);
		else {
			EVP_DigestUpdate(md, in, (size_t)n);
			*raw_size += n;
		}
	}
	if (rc == ERR_OK && n < 0)
		rc = err_set(e, ERR_IO, NULL, "read %s: %s", path, strerror(errno));
	unsigned char d[32];
	unsigned int dl = 0;
	EVP_DigestFinal_ex(md, d, &dl);
	for (unsigned i = 0; i < 32; i++)
		snprintf(sha256 + 2 * i, 3, "%02x", d[i]);
	EVP_MD_CTX_free(md);
	ZSTD_freeDStream(z);
	free(in);
	free(out);
	close(fd);
	return rc;
}
