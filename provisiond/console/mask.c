/* mask.c - boot tokens masked out of the console stream (console.h).
 *
 * A byte at a time, so a "token=" or a value cut by a read's edge is handled by
 * the state alone: after "token=" an opening quote is kept, the first byte of the
 * value becomes "***" and the rest of it is dropped. */
#include <string.h>

#include "provisiond/console/console.h"

static const char key[] = "token=";
#define KEY_LEN (sizeof(key) - 1)

/* Bytes that end a value: blanks, quotes, controls (an escape sequence too). */
static bool ends_value(unsigned char c)
{
	return c <= 0x20 || c == '"' || c == '\'' || c == 0x7F;
}

size_t con_mask_apply(struct con_mask *st, const void *in, size_t n, void *out)
{
	const unsigned char *p = in;
	unsigned char *o = out;
	size_t w = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = p[i];
		if (st->in_value && !ends_value(c))
			continue; /* the rest of the secret */
		st->in_value = false;
		if (st->matched == KEY_LEN && (c == '"' || c == '\'')) {
			o[w++] = c; /* token="...": the value follows the quote */
			continue;
		}
		if (st->matched == KEY_LEN && !ends_value(c)) {
			memcpy(o + w, "***", 3);
			w += 3;
			st->matched = 0;
			st->in_value = true;
			continue;
		}
		if (c == (unsigned char)key[st->matched])
			st->matched++;
		else
			st->matched = c == (unsigned char)key[0] ? 1 : 0;
		o[w++] = c;
	}
	return w;
}
