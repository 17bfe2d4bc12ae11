/* text.c - console bytes -> text for a JSON string.
 *
 * A serial console carries whatever the firmware, the boot loader and the kernel
 * write: UTF-8 mostly, Latin-1 or line noise sometimes (a wrong baud rate), and
 * terminal control (colours, cursor moves, screen clears from SeaBIOS, GRUB and
 * iPXE). A reader wants the words: escapes are dropped whole rather than leaving
 * "[0m" litter, CR is dropped (CRLF is the serial line ending), and each byte that
 * is not part of valid UTF-8 becomes U+FFFD, so the answer is always valid JSON
 * text. A sequence cut by the ring's edge or by a read's `after` loses its first
 * part; the rest is then shown as text, which is harmless. */
#include <stdlib.h>

#include "provisiond/console/console.h"

/* Length of the valid UTF-8 sequence at p (at most n bytes), or 0. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
	size_t len;
	unsigned min, cp;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xC2 && p[0] <= 0xDF)
		len = 2, min = 0x80, cp = p[0] & 0x1F;
	else if (p[0] >= 0xE0 && p[0] <= 0xEF)
		len = 3, min = 0x800, cp = p[0] & 0x0F;
	else if (p[0] >= 0xF0 && p[0] <= 0xF4)
		len = 4, min = 0x10000, cp = p[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3F);
	}
	if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return len;
}

/* Bytes of the escape sequence starting with ESC at p[0] (n bytes left). */
static size_t escape_len(const unsigned char *p, size_t n)
{
	size_t i = 2;

	if (n < 2)
		return n;
	if (p[1] == '[') { /* CSI: parameters and intermediates, then a final byte */
		while (i < n && p[i] >= 0x20 && p[i] <= 0x3F)
			i++;
		return i < n && p[i] >= 0x40 && p[i] <= 0x7E ? i + 1 : i;
	}
	if (p[1] == ']') { /* OSC: up to BEL or ESC \ */
		while (i < n && p[i] != 0x07 && p[i] != 0x1B)
			i++;
		if (i < n && p[i] == 0x07)
			return i + 1;
		return i + 1 < n && p[i + 1] == '\\' ? i + 2 : i;
	}
	if (p[1] == '(' || p[1] == ')') /* character set: one more byte */
		return n < 3 ? n : 3;
	return 2;
}

static bool dropped(unsigned char c)
{
	return (c < 0x20 && c != '\n' && c != '\t') || c == 0x7F;
}

char *con_text(const void *data, size_t n)
{
	const unsigned char *p = data;
	char *out = malloc(n * 3 + 1); /* worst case: every byte becomes U+FFFD */
	size_t o = 0, i = 0;

	if (out == NULL)
		return NULL;
	while (i < n) {
		size_t k;
		if (p[i] == 0x1B) {
			i += escape_len(p + i, n - i);
		} else if (p[i] < 0x80) {
			if (!dropped(p[i]))
				out[o++] = (char)p[i];
			i++;
		} else if ((k = utf8_len(p + i, n - i)) > 0) {
			/* C1 controls (U+0080-U+009F) are dropped like C0 ones */
			if (!(k == 2 && p[i] == 0xC2 && p[i + 1] < 0xA0))
				for (size_t j = 0; j < k; j++)
					out[o++] = (char)p[i + j];
			i += k;
		} else {
			out[o++] = (char)0xEF, out[o++] = (char)0xBF, out[o++] = (char)0xBD;
			i++;
		}
	}
	out[o] = '\0';
	return out;
}
