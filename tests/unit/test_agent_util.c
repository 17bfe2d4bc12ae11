/* test_agent_util.c — helpers shared by the agent tests: temp dirs,
 * files, digests. Prototypes are repeated in each test file (tests own
 * no headers). */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* mkdtemp under TMPDIR; returns a malloc'd path or NULL. */
char *tu_tempdir(void)
{
	const char *t = getenv("TMPDIR");
	char tmpl[4096];
	snprintf(tmpl, sizeof(tmpl), "%s/agent-test-XXXXXX", t && *t ? t : "/tmp");
	char *d = mkdtemp(tmpl);
	return d ? strdup(d) : NULL;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

void tu_rmtree(const char *dir)
{
	if (dir)
		nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* dir + "/" + name, malloc'd. */
char *tu_path(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *p = malloc(n);
	if (p)
		snprintf(p, n, "%s/%s", dir, name);
	return p;
}

int tu_write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		return -1;
	size_t w = fwrite(data, 1, len, f);
	int rc = fclose(f);
	return w == len && rc == 0 ? 0 : -1;
}

/* Whole file into a malloc'd buffer; NULL on error. */
unsigned char *tu_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	unsigned char *buf = NULL;
	size_t n = 0, cap = 0;
	for (;;) {
		if (n == cap) {
			cap = cap ? cap * 2 : 65536;
			unsigned char *nb = realloc(buf, cap);
			if (!nb)
				break;
			buf = nb;
		}
		size_t r = fread(buf + n, 1, cap - n, f);
		if (r == 0)
			break;
		n += r;
	}
	fclose(f);
	*len = n;
	return buf;
}

/* A regular file of `size` bytes, every byte `fill`. */
int tu_make_disk(const char *path, size_t size, unsigned char fill)
{
	unsigned char *buf = malloc(size ? size : 1);
	if (!buf)
		return -1;
	memset(buf, fill, size);
	int rc = tu_write_file(path, buf, size);
	free(buf);
	return rc;
}

/* Deterministic pseudo-random bytes (compressible only a little). */
void tu_fill_pattern(unsigned char *buf, size_t len, unsigned seed)
{
	unsigned long long x = seed * 2654435761ULL + 1;
	for (size_t i = 0; i < len; i++) {
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		buf[i] = (unsigned char)((x >> 33) % 16 + (i % 7 == 0 ? 0 : 'a'));
	}
}

void tu_sha256_hex(const void *data, size_t len, char hex[65])
{
	unsigned char md[32];
	unsigned int n = 0;
	EVP_Digest(data, len, md, &n, EVP_sha256(), NULL);
	for (unsigned int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

/* file:// URL for an absolute path, malloc'd. */
char *tu_file_url(const char *path)
{
	size_t n = strlen(path) + 8;
	char *u = malloc(n);
	if (u)
		snprintf(u, n, "file://%s", path);
	return u;
}
