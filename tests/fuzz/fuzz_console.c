/* fuzz_console.c - what a BMC's serial console sends, through the console module:
 * the ring (provisiond/console/ring.c) and the text the API serves (text.c).
 *
 * Input: byte 0 sets the ring's capacity (1-256 bytes) and byte 1 the chunk size
 * of the appends (1-64); the rest is the console stream.
 *
 * Beyond "no crash": the ring holds exactly the last min(cap, n) bytes of the
 * stream, at offsets [n - held, n); a read after any offset returns the stream's
 * bytes from there (or from the oldest kept, with truncated set exactly when
 * bytes were dropped). The text of any bytes is valid UTF-8 (jansson takes it as
 * a JSON string), holds no control character but newline and tab, and is at
 * most three times as long. */
#include "fuzz_common.h"
#include "provisiond/console/console.h"

#include <jansson.h>

static void check_text(const uint8_t *data, size_t n)
{
	char *t = con_text(data, n);
	FUZZ_CHECK(t != NULL);
	size_t len = strlen(t);
	FUZZ_CHECK(len <= n * 3);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)t[i];
		FUZZ_CHECK(c >= 0x20 || c == '\n' || c == '\t');
		FUZZ_CHECK(c != 0x7F);
	}
	json_t *j = json_string(t); /* NULL for invalid UTF-8 */
	FUZZ_CHECK(j != NULL);
	json_decref(j);
	free(t);
}

static void check_read(const struct con_ring *r, const uint8_t *s, size_t n, uint64_t after)
{
	static unsigned char out[256];
	struct con_slice sl;
	uint64_t start = con_ring_start(r);
	size_t got = con_ring_read(r, true, after, out, sizeof(out), &sl);

	FUZZ_CHECK(sl.end == sl.start + got && sl.end <= n);
	if (after > n) { /* another stream's offset: everything kept */
		FUZZ_CHECK(sl.start == start && sl.truncated == (start > 0));
	} else {
		FUZZ_CHECK(sl.truncated == (after < start));
		FUZZ_CHECK(sl.start == (after < start ? start : after) && sl.end == n);
	}
	FUZZ_CHECK(memcmp(out, s + sl.start, got) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	size_t cap = (size_t)data[0] + 1, chunk = (size_t)(data[1] % 64) + 1;
	const uint8_t *s = data + 2;
	size_t n = size - 2;
	struct con_ring r;

	check_text(s, n);
	FUZZ_CHECK(con_ring_init(&r, cap) == 0);
	for (size_t at = 0; at < n; at += chunk)
		con_ring_append(&r, s + at, n - at < chunk ? n - at : chunk);
	FUZZ_CHECK(r.end == n);
	FUZZ_CHECK(con_ring_start(&r) == (n > cap ? n - cap : 0));
	const uint64_t afters[] = {0, n / 2, n > cap ? n - cap : 0,
				   n, n + 1, (uint64_t)n - cap / 2};
	for (size_t i = 0; i < sizeof(afters) / sizeof(afters[0]); i++)
		check_read(&r, s, n, afters[i]);
	con_ring_free(&r);
	return 0;
}
