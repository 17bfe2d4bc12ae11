/* ring.c - one machine's console as a byte stream with monotonic offsets, the last
 * `cap` bytes kept. Byte at stream offset o lives at buf[o % cap]. */
#include <stdlib.h>
#include <string.h>

#include "provisiond/console/console.h"

int con_ring_init(struct con_ring *r, size_t cap)
{
	*r = (struct con_ring){0};
	if (cap == 0 || (r->buf = malloc(cap)) == NULL)
		return -1;
	r->cap = cap;
	return 0;
}

void con_ring_free(struct con_ring *r)
{
	free(r->buf);
	*r = (struct con_ring){0};
}

uint64_t con_ring_start(const struct con_ring *r)
{
	return r->end > r->cap ? r->end - r->cap : 0;
}

void con_ring_append(struct con_ring *r, const void *data, size_t n)
{
	const unsigned char *p = data;

	if (n > r->cap) { /* only the last cap bytes can stay */
		p += n - r->cap;
		r->end += n - r->cap;
		n = r->cap;
	}
	while (n > 0) {
		size_t at = (size_t)(r->end % r->cap);
		size_t k = r->cap - at < n ? r->cap - at : n;
		memcpy(r->buf + at, p, k);
		r->end += k;
		p += k;
		n -= k;
	}
}

size_t con_ring_read(const struct con_ring *r, bool has_after, uint64_t after, void *out,
		     size_t len, struct con_slice *s)
{
	uint64_t start = con_ring_start(r);
	uint64_t from = after;
	unsigned char *o = out;
	size_t n, done = 0;

	/* No offset, or one of an earlier stream (the daemon restarted): everything
	 * kept, truncated when bytes before it were dropped. */
	if (!has_after || after > r->end) {
		from = start;
		s->truncated = start > 0;
	} else {
		s->truncated = after < start;
		if (from < start)
			from = start;
	}
	n = (size_t)(r->end - from);
	if (n > len)
		n = len;
	s->start = from;
	s->end = from + n;
	while (done < n) {
		size_t at = (size_t)((from + done) % r->cap);
		size_t k = r->cap - at < n - done ? r->cap - at : n - done;
		memcpy(o + done, r->buf + at, k);
		done += k;
	}
	return n;
}
