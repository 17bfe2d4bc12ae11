/* images.h - the image store: content hashing of registered images.
 *
 * An image is raw or zstd-compressed raw ("raw.zst"). Its sha256 and size
 * always describe the raw bytes that land on disk, so a deployed disk can be
 * verified byte for byte whatever the transfer format. */
#ifndef PROVISIOND_IMAGES_H
#define PROVISIOND_IMAGES_H

#include <stddef.h>
#include <stdint.h>

/* Hashes the file at path (decompressing when format is "raw.zst").
 * Fills sha256 (64 hex + NUL) and *raw_size. 0 ok; -1 with err. Thread-safe. */
int img_hash_file(const char *path, const char *format, char sha256[65], int64_t *raw_size,
		  char *err, size_t errlen);
/* 0 if format is "raw" or "raw.zst". */
int img_check_format(const char *format);

#endif
