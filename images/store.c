/* store.c - hashing images at registration (libcrypto + libzstd). */
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

int img_check_format(const char *format)
{
	return format && (strcmp(format, "raw") == 0 || strcmp(format, "raw.zst") == 0) ? 0 : -1;
}

/* Feeds one chunk of compressed input through the decoder into the hash. */
static int zstd_feed(ZSTD_DStream *z, EVP_MD_CTX *md, const char *in, size_t n, char *out,
		     int64_t *size, char *err, size_t errlen)
{
	ZSTD_inBuffer ib = {in, n, 0};
	while (ib.pos < ib.size) {
		ZSTD_outBuffer ob = {out, CHUNK, 0};
		size_t rc = ZSTD_decompressStream(z, &ob, &ib);
		if (ZSTD_isError(rc)) {
			snprintf(err, errlen, "zstd: %s", ZSTD_getErrorName(rc));
			return -1;
		}
		EVP_DigestUpdate(md, out, ob.pos);
		*size += (int64_t)ob.pos;
	}
	return 0;
}

int img_hash_file(const char *path, const char *format, char sha256[65], int64_t *raw_size,
		  char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	bool zst = strcmp(format, "raw.zst") == 0;
	char *in = malloc(CHUNK), *out = zst ? malloc(CHUNK) : NULL;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	ZSTD_DStream *z = zst ? ZSTD_createDStream() : NULL;
	int rc = in && md && (!zst || (out && z)) ? 0 : -1;
	if (rc)
		snprintf(err, errlen, "out of memory");
	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	*raw_size = 0;
	ssize_t n;
	while (rc == 0 && (n = read(fd, in, CHUNK)) > 0) {
		if (zst)
			rc = zstd_feed(z, md, in, (size_t)n, out, raw_size, err, errlen);
		else {
			EVP_DigestUpdate(md, in, (size_t)n);
			*raw_size += n;
		}
	}
	if (rc == 0 && n < 0) {
		snprintf(err, errlen, "read %s: %s", path, strerror(errno));
		rc = -1;
	}
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
