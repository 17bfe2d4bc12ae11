/* fuzz_common.h - what the fuzz targets share: input copies, splitting an
 * input into fields, in-memory files for parsers that take a path, and the
 * invariant check. Header only: each target is one file linked with either
 * driver.c (ctest smoke runs) or libFuzzer (tests/fuzz/run). */
#ifndef PROVISIOND_FUZZ_COMMON_H
#define PROVISIOND_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* A broken invariant: names it, then aborts (libFuzzer keeps the input). */
#define FUZZ_CHECK(cond)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__,       \
				#cond);                                                            \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* A NUL-terminated malloc'd copy of the input (caller frees). */
static inline char *fuzz_str(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = 0;
	return s;
}

/* Splits the NUL-terminated copy s of an input of size bytes at its NUL
 * bytes into up to n fields (borrowed from s); fields past the input's end
 * and empty ones are NULL. */
static inline void fuzz_fields(char *s, size_t size, const char **f, size_t n)
{
	size_t at = 0;
	for (size_t i = 0; i < n; i++) {
		f[i] = at < size && s[at] ? s + at : NULL;
		at += at < size ? strlen(s + at) + 1 : 0;
	}
}

/* An in-memory file holding the input, for parsers that only open a path:
 * fills path ("/proc/self/fd/N") and returns the fd to close, or -1. */
static inline int fuzz_memfile(const uint8_t *data, size_t size, char *path, size_t len)
{
	int fd = memfd_create("fuzz-input", MFD_CLOEXEC);
	if (fd < 0)
		return -1;
	for (size_t off = 0; off < size;) {
		ssize_t w = write(fd, data + off, size - off);
		if (w <= 0) {
			close(fd);
			return -1;
		}
		off += (size_t)w;
	}
	snprintf(path, len, "/proc/self/fd/%d", fd);
	return fd;
}

/* Whether s starts with prefix. */
static inline int fuzz_starts(const char *s, const char *prefix)
{
	return s && strncmp(s, prefix, strlen(prefix)) == 0;
}

#endif
