/* keyfile.c - the key file: 32 random bytes as 64 hex digits and a newline,
 * mode 0600, kept outside the database (docs/operations.md, "Backups").
 *
 * Hex rather than raw bytes so that an operator can copy the key into a
 * password manager or a vault and back. */
#include "inventory/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HEX_LEN (2 * INV_KEY_LEN)

void inv_key_clear(struct inv_key *k)
{
	if (k)
		OPENSSL_cleanse(k, sizeof *k);
}

/* Makes the new file's directory entry durable (best effort: a directory
 * that cannot be opened for reading still holds the file). */
static void sync_dir(const char *path)
{
	char *copy = strdup(path);
	if (!copy)
		return;
	int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	free(copy);
}

enum inv_status inv_key_create(const char *path, struct inv_err *err)
{
	unsigned char key[INV_KEY_LEN];
	char hex[HEX_LEN + 2];
	if (RAND_bytes(key, sizeof key) != 1)
		return inv_fail(err, INV_IO, "key_file", "no randomness for a key");
	for (size_t i = 0; i < sizeof key; i++)
		snprintf(hex + 2 * i, 3, "%02x", key[i]);
	hex[HEX_LEN] = '\n';
	hex[HEX_LEN + 1] = 0;
	OPENSSL_cleanse(key, sizeof key);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		int e = errno;
		OPENSSL_cleanse(hex, sizeof hex);
		return inv_fail(err, e == EEXIST ? INV_DUPLICATE : INV_IO, "key_file",
				"cannot create key file %s: %s", path, strerror(e));
	}
	int ok =
	    fchmod(fd, 0600) == 0 && write(fd, hex, HEX_LEN + 1) == HEX_LEN + 1 && fsync(fd) == 0;
	int e = errno;
	OPENSSL_cleanse(hex, sizeof hex);
	if (close(fd) != 0 && ok) {
		ok = 0;
		e = errno;
	}
	if (!ok) {
		unlink(path);
		return inv_fail(err, INV_IO, "key_file", "cannot write key file %s: %s", path,
				strerror(e));
	}
	sync_dir(path);
	return INV_OK;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* 64 hex digits, then at most a newline: 0 and out filled, else -1. */
static int parse_key(const char *text, size_t n, struct inv_key *out)
{
	if (n == HEX_LEN + 1 && text[HEX_LEN] == '\n')
		n--;
	if (n != HEX_LEN)
		return -1;
	for (size_t i = 0; i < INV_KEY_LEN; i++) {
		int hi = hex_digit(text[2 * i]), lo = hex_digit(text[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out->bytes[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

/* Refuses what is not a regular file, or one others may read or write. */
static enum inv_status check_mode(int fd, const char *path, struct inv_err *err)
{
	struct stat sb;
	if (fstat(fd, &sb) != 0)
		return inv_fail(err, INV_IO, "key_file", "cannot read key file %s: %s", path,
				strerror(errno));
	if (!S_ISREG(sb.st_mode))
		return inv_fail(err, INV_INVALID, "key_file", "key file %s is not a regular file",
				path);
	if (sb.st_mode & 077)
		return inv_fail(err, INV_INVALID, "key_file",
				"key file %s may be read or written by group or others (mode %04o);"
				" chmod 600 it",
				path, (unsigned)(sb.st_mode & 07777));
	return INV_OK;
}

enum inv_status inv_key_load(const char *path, struct inv_key *out, struct inv_err *err)
{
	inv_key_clear(out);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return inv_fail(err, errno == ENOENT ? INV_NOT_FOUND : INV_IO, "key_file",
				"cannot read key file %s: %s", path, strerror(errno));
	enum inv_status s = check_mode(fd, path, err);
	char text[HEX_LEN + 3];
	ssize_t n = s == INV_OK ? read(fd, text, sizeof text) : 0;
	if (s == INV_OK && n < 0)
		s = inv_fail(err, INV_IO, "key_file", "cannot read key file %s: %s", path,
			     strerror(errno));
	else if (s == INV_OK && parse_key(text, (size_t)n, out) != 0)
		s = inv_fail(err, INV_CORRUPT, "key_file",
			     "key file %s does not hold a key (64 hex digits and a newline)", path);
	close(fd);
	OPENSSL_cleanse(text, sizeof text);
	if (s != INV_OK)
		inv_key_clear(out);
	return s;
}
