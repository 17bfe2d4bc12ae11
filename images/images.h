/* images.h - what the daemon checks about an image when it is registered:
 * its format, and the content hash and size of a local file.
 *
 * An image is raw or zstd-compressed raw ("raw.zst"). Its sha256 and size
 * always describe the raw bytes that land on disk, so a deployed disk can be
 * verified byte for byte whatever the transfer format.
 *
 * Errors: functions return an enum err_status (util/util.h; ERR_OK is 0) and
 * fill e (may be NULL). Nothing here keeps state: every function is
 * thread-safe. */
#ifndef PROVISIOND_IMAGES_H
#define PROVISIOND_IMAGES_H

#include "util/util.h"

#include <stddef.h>
#include <stdint.h>

/* Hashes the file at path, decompressing when format is "raw.zst". Fills
 * sha256 (64 lower-case hex digits + NUL) and *raw_size, the size of the
 * raw bytes. ERR_IO when the file cannot be opened or read, ERR_INVALID
 * (field "path") when its content is not valid zstd, ERR_INTERNAL when out
 * of memory. Reads the whole file: slow for large images. */
enum err_status img_hash_file(const char *path, const char *format, char sha256[65],
			      int64_t *raw_size, struct err *e);
/* ERR_OK if format is "raw" or "raw.zst", else ERR_INVALID naming the field
 * "format". */
enum err_status img_check_format(const char *format, struct err *e);

#endif
