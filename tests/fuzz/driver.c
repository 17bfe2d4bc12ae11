/* driver.c - runs a libFuzzer-style target without libFuzzer: every corpus
 * file, then a fixed number of deterministic mutations of them (bit flips,
 * truncations, splices, byte insertions). ctest runs it as a smoke fuzz,
 * under the sanitizers in the ASan build; -DPROVISIOND_LIBFUZZER=ON links
 * the same targets with libFuzzer instead (tests/fuzz/run, README.md).
 * Usage: fuzz_X CORPUS_DIR [ITERATIONS] */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_INPUTS 256
#define MAX_LEN 65536

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static size_t load(const char *dir, uint8_t **in, size_t *len)
{
	DIR *d = opendir(dir);
	size_t n = 0;
	struct dirent *e;
	while (d && (e = readdir(d)) && n < MAX_INPUTS) {
		if (e->d_name[0] == '.')
			continue;
		char p[1024];
		snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
		FILE *f = fopen(p, "rb");
		if (!f)
			continue;
		in[n] = malloc(MAX_LEN);
		len[n] = fread(in[n], 1, MAX_LEN, f);
		fclose(f);
		n++;
	}
	if (d)
		closedir(d);
	return n;
}

static size_t mutate(uint8_t *buf, size_t len, const uint8_t *other, size_t olen)
{
	switch (next() % 5) {
	case 0: /* flip a bit */
		if (len)
			buf[next() % len] ^= (uint8_t)(1u << (next() % 8));
		return len;
	case 1: /* truncate */
		return len ? next() % len : 0;
	case 2: /* interesting byte */
		if (len) {
			static const uint8_t v[] = {0,	 '"', '{',  '}',  '[', ']',
						    ':', ',', '\\', 0xff, '-', '9'};
			buf[next() % len] = v[next() % sizeof v];
		}
		return len;
	case 3: { /* splice another input's tail */
		size_t at = len ? next() % len : 0, from = olen ? next() % olen : 0;
		size_t n = olen - from;
		if (at + n > MAX_LEN)
			n = MAX_LEN - at;
		memcpy(buf + at, other + from, n);
		return at + n;
	}
	default: /* duplicate a chunk */
		if (len && len < MAX_LEN / 2) {
			size_t at = next() % len, n = next() % (len - at) + 1;
			memmove(buf + at + n, buf + at, len - at);
			return len + n;
		}
		return len;
	}
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s CORPUS_DIR [ITERATIONS]\n", argv[0]);
		return 2;
	}
	long iters = argc > 2 ? strtol(argv[2], NULL, 10) : 20000;
	uint8_t *in[MAX_INPUTS];
	size_t len[MAX_INPUTS];
	size_t n = load(argv[1], in, len);
	if (!n) {
		fprintf(stderr, "empty corpus %s\n", argv[1]);
		return 2;
	}
	for (size_t i = 0; i < n; i++)
		LLVMFuzzerTestOneInput(in[i], len[i]);
	uint8_t *buf = malloc(MAX_LEN);
	for (long i = 0; i < iters; i++) {
		size_t a = next() % n, b = next() % n;
		memcpy(buf, in[a], len[a]);
		size_t l = len[a];
		for (int k = (int)(next() % 4); k >= 0; k--)
			l = mutate(buf, l, in[b], len[b]);
		/* a fresh heap copy of exactly l bytes: overreads are caught */
		uint8_t *exact = malloc(l ? l : 1);
		memcpy(exact, buf, l);
		LLVMFuzzerTestOneInput(exact, l);
		free(exact);
	}
	printf("%zu corpus inputs, %ld mutations: no crash\n", n, iters);
	free(buf);
	for (size_t i = 0; i < n; i++)
		free(in[i]);
	return 0;
}
