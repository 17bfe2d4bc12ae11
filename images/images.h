/* images.h - the image store and what the daemon checks about an image:
 * its format, where its file may live, the content hash and size of that
 * file, and fetching an image given by URL into the store.
 *
 * An image is raw or zstd-compressed raw ("raw.zst"). Its sha256 and size
 * always describe the raw bytes that land on disk, so a deployed disk can be
 * verified byte for byte whatever the transfer format.
 *
 * The store is one directory (`[boot] images_dir`). A file in it is named by
 * its path relative to that directory and opened one component at a time
 * with O_NOFOLLOW: no symbolic link is followed, no ".." or "." component is
 * accepted, and only a regular file with one link (no hard link to a file
 * elsewhere) is opened. So nothing outside the directory can be reached
 * through the store, whatever is placed in it.
 *
 * Errors: functions return an enum err_status (util/util.h; ERR_OK is 0) and
 * fill e (may be NULL); errors about the file name the field "path". Nothing
 * here keeps state: every function is thread-safe. */
#ifndef PROVISIOND_IMAGES_H
#define PROVISIOND_IMAGES_H

#include "util/util.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* ERR_OK if format is "raw" or "raw.zst", else ERR_INVALID naming the field
 * "format". */
enum err_status img_check_format(const char *format, struct err *e);

/* ------------------------------------------------------------- hashing */

/* Incremental sha256 and size of an image's raw bytes, fed with the bytes
 * of its file (decompressed on the way when the format is "raw.zst"). One
 * hasher per stream; not shared between threads. */
struct img_hasher;
/* Allocates a hasher (free with img_hasher_free). ERR_INTERNAL when out of
 * memory, ERR_INVALID (field "format") for an unknown format. */
enum err_status img_hasher_new(const char *format, struct img_hasher **out, struct err *e);
/* Feeds n bytes of the file. ERR_INVALID (field "path") when the content is
 * not valid zstd. */
enum err_status img_hasher_feed(struct img_hasher *h, const void *buf, size_t n, struct err *e);
/* The sha256 (64 lower-case hex digits + NUL) and size of the raw bytes fed
 * so far. Call once, at the end. */
void img_hasher_finish(struct img_hasher *h, char sha256[65], int64_t *raw_size);
/* NULL ok. */
void img_hasher_free(struct img_hasher *h);

/* Hashes the file open on fd from its current offset to its end (the fd
 * stays open; its offset moves). cancel (may be NULL) is checked between
 * chunks: when it becomes true the hash stops with ERR_CONFLICT ("cancelled").
 * ERR_IO on a read error, ERR_INVALID (field "path") for bad zstd content,
 * ERR_INTERNAL when out of memory. Reads the whole file: slow for large
 * images. */
enum err_status img_hash_fd(int fd, const char *format, const atomic_bool *cancel, char sha256[65],
			    int64_t *raw_size, struct err *e);

/* --------------------------------------------------------------- store */

/* A file of the store as it was opened: what the daemon records at
 * registration and compares before serving it again. */
struct img_file {
	int fd;	       /* O_RDONLY | O_CLOEXEC; the caller closes it */
	int64_t size;  /* bytes of the file (not the raw size of a .zst) */
	int64_t inode; /* st_ino */
	int64_t dev;   /* st_dev: may change across reboots, not for keeping */
};

/* Turns the path a client gave into the path relative to the store dir:
 * an absolute path must start with "dir/", a relative path is taken
 * relative to dir. Every component must be non-empty and neither "." nor
 * "..". Writes rel (at most rel_len bytes with the NUL). ERR_INVALID (field
 * "path") otherwise. */
enum err_status img_store_rel(const char *dir, const char *path, char *rel, size_t rel_len,
			      struct err *e);
/* Opens the store file dir/rel (rel as made by img_store_rel) for reading
 * without following any link (see the top of this file). ERR_NOT_FOUND
 * (field "path") when a component does not exist, ERR_INVALID (field
 * "path") when it is a link, not a directory or not a regular file, or has
 * more than one link; ERR_IO when dir cannot be opened or a system call
 * fails. Never blocks on a FIFO or a device. */
enum err_status img_store_open(const char *dir, const char *rel, struct img_file *out,
			       struct err *e);

/* Removes the store file dir/rel (a fetched image's), walking as
 * img_store_open does: a link in the way is not followed. ERR_NOT_FOUND
 * when it is already gone. */
enum err_status img_store_unlink(const char *dir, const char *rel, struct err *e);

/* --------------------------------------------------------------- fetch */

/* What to fetch and where to put it. */
struct img_fetch_req {
	const char *url;	   /* http:// or https:// (redirects to either) */
	const char *format;	   /* "raw" or "raw.zst": the file is stored as sent */
	const char *sha256;	   /* expected sha256 of the raw bytes */
	const char *dir;	   /* the store */
	const char *rel;	   /* destination, relative to dir; its parent
				    * directory (one level) is created if missing */
	const atomic_bool *cancel; /* may be NULL: stops the transfer when true */
	long connect_timeout_s;	   /* 0: 30 */
	long stall_timeout_s;	   /* under 1 KiB/s for this long fails; 0: 60 */
};

/* Downloads req->url into "rel.part" in the store, hashing the raw bytes
 * while they arrive, and renames it to rel only when the sha256 matches
 * (the part file is removed otherwise). On success *out describes rel
 * (out->fd is -1: nothing stays open) and *raw_size is the raw size.
 * ERR_IO for transfer errors ("GET URL: HTTP 404", timeouts), ERR_INVALID
 * (field "sha256") for a mismatch, ERR_CONFLICT when cancelled. Blocks for
 * as long as the transfer takes; call it off the request path. Needs
 * curl_global_init() to have run. */
enum err_status img_fetch_url(const struct img_fetch_req *req, struct img_file *out,
			      int64_t *raw_size, struct err *e);

#endif
