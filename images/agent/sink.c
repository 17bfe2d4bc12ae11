/* sink.c — the consuming end of write_image: zstd streaming decompression,
 * SHA-256 over the decompressed bytes, positional writes to the target. */
#include "agent.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

/* Start writeback every WRITEBACK_STEP bytes so a large image does not sit
 * as dirty pages in a small ramdisk's memory until the final fsync. */
#define WRITEBACK_STEP (64 * AGENT_MIB)

struct agent_sink {
	int fd;
	char *path;
	uint64_t capacity;
	uint64_t written;
	uint64_t flushed;
	EVP_MD_CTX *md;
	ZSTD_DCtx *dctx; /* NULL for raw images */
	unsigned char *zout;
	size_t zout_size;
	size_t frame_left; /* last ZSTD_decompressStream hint; 0 = frame ended */
	bool any_input;
	struct agent_progress *progress;
};

enum agent_rc agent_sink_open(struct agent_sink **out, const char *path, bool zstd,
			      uint64_t capacity, struct agent_progress *progress,
			      struct agent_err *err)
{
	struct agent_sink *s = calloc(1, sizeof(*s));
	if (!s)
		return agent_fail(err, AGENT_E_NOMEM, "out of memory");
	s->fd = -1;
	s->capacity = capacity;
	s->progress = progress;
	s->path = strdup(path);
	s->md = EVP_MD_CTX_new();
	if (!s->path || !s->md || !EVP_DigestInit_ex(s->md, EVP_sha256(), NULL))
		goto nomem;
	if (zstd) {
		s->dctx = ZSTD_createDCtx();
		s->zout_size = ZSTD_DStreamOutSize();
		s->zout = malloc(s->zout_size);
		if (!s->dctx || !s->zout)
			goto nomem;
	}
	s->fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (s->fd < 0) {
		int e = errno;
		agent_sink_free(s);
		return agent_fail(err, AGENT_E_IO, "open %s for writing: %s", path, strerror(e));
	}
	*out = s;
	return AGENT_OK;
nomem:
	agent_sink_free(s);
	return agent_fail(err, AGENT_E_NOMEM, "out of memory");
}

void agent_sink_free(struct agent_sink *s)
{
	if (!s)
		return;
	if (s->fd >= 0)
		close(s->fd);
	EVP_MD_CTX_free(s->md);
	ZSTD_freeDCtx(s->dctx);
	free(s->zout);
	free(s->path);
	free(s);
}

void agent_sink_set_capacity(struct agent_sink *s, uint64_t capacity)
{
	s->capacity = capacity;
}

uint64_t agent_sink_written(const struct agent_sink *s)
{
	return s->written;
}

int agent_sink_fd(const struct agent_sink *s)
{
	return s->fd;
}

/* Test hook (--fail-write-at): writes reaching past this offset fail with
 * EIO, as on a disk with a bad sector. 0 = off. */
static uint64_t fail_at;
/* Test hook (--fail-hash): the digest comes out with a bit flipped, as
 * after a bit flip in memory, so it never matches. */
static bool fail_hash;
/* Test hook (--stop-write-at): the agent stops itself (SIGSTOP, every
 * thread: no more heartbeats) once, when the write reaches this offset. */
static uint64_t stop_at;

void agent_sink_fail_at(uint64_t offset)
{
	fail_at = offset;
}

void agent_sink_fail_hash(void)
{
	fail_hash = true;
}

void agent_sink_stop_at(uint64_t offset)
{
	stop_at = offset;
}

/* pwrite, with the test hooks' faults. */
static ssize_t write_at(int fd, const void *p, size_t len, uint64_t off)
{
	if (stop_at && off + len > stop_at) {
		stop_at = 0;
		agent_log(AGENT_LOG_WARN, "test hook: stopping at byte %llu of the image",
			  (unsigned long long)off);
		raise(SIGSTOP);
	}
	if (fail_at && off + len > fail_at) {
		errno = EIO;
		return -1;
	}
	return pwrite(fd, p, len, (off_t)off);
}

/* Hash and write decompressed bytes at the current end. */
static enum agent_rc put(struct agent_sink *s, const unsigned char *p, size_t len,
			 struct agent_err *err)
{
	if (s->capacity && s->written + len > s->capacity)
		return agent_fail(err, AGENT_E_IO, "image does not fit: %s holds %llu bytes",
				  s->path, (unsigned long long)s->capacity);
	if (!EVP_DigestUpdate(s->md, p, len))
		return agent_fail(err, AGENT_E_IO, "SHA-256 update failed");
	while (len > 0) {
		ssize_t n = write_at(s->fd, p, len, s->written);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return agent_fail(err, AGENT_E_IO, "write %s at %llu: %s", s->path,
					  (unsigned long long)s->written,
					  n < 0 ? strerror(errno) : "no progress");
		p += n;
		len -= (size_t)n;
		s->written += (uint64_t)n;
	}
	if (s->progress)
		atomic_store(&s->progress->bytes, s->written);
	if (s->written - s->flushed >= WRITEBACK_STEP) {
		sync_file_range(s->fd, (off_t)s->flushed, (off_t)(s->written - s->flushed),
				SYNC_FILE_RANGE_WRITE);
		s->flushed = s->written;
	}
	return AGENT_OK;
}

static enum agent_rc put_zstd(struct agent_sink *s, const void *buf, size_t len,
			      struct agent_err *err)
{
	ZSTD_inBuffer in = {buf, len, 0};
	ZSTD_outBuffer out;
	do {
		out = (ZSTD_outBuffer){s->zout, s->zout_size, 0};
		size_t r = ZSTD_decompressStream(s->dctx, &out, &in);
		if (ZSTD_isError(r))
			return agent_fail(err, AGENT_E_VERIFY, "zstd stream is corrupt: %s",
					  ZSTD_getErrorName(r));
		s->frame_left = r;
		enum agent_rc rc = put(s, s->zout, out.pos, err);
		if (rc)
			return rc;
		/* 0 = frame decoded and flushed. Calling again without input
		 * would return the header hint of a next frame that may never
		 * come, which finish() would read as a truncated stream. */
		if (r == 0 && in.pos == in.size)
			break;
	} while (in.pos < in.size || out.pos == out.size);
	return AGENT_OK;
}

enum agent_rc agent_sink_feed(struct agent_sink *s, const void *buf, size_t len,
			      struct agent_err *err)
{
	if (!len)
		return AGENT_OK;
	s->any_input = true;
	if (s->dctx)
		return put_zstd(s, buf, len, err);
	return put(s, buf, len, err);
}

enum agent_rc agent_sink_finish(struct agent_sink *s, char hex[65], struct agent_err *err)
{
	if (s->dctx && (!s->any_input || s->frame_left != 0))
		return agent_fail(err, AGENT_E_VERIFY,
				  "truncated zstd stream: the last frame is incomplete after "
				  "%llu decompressed bytes",
				  (unsigned long long)s->written);
	if (fsync(s->fd) != 0)
		return agent_fail(err, AGENT_E_IO, "fsync %s: %s", s->path, strerror(errno));
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	if (!EVP_DigestFinal_ex(s->md, md, &n) || n != 32)
		return agent_fail(err, AGENT_E_IO, "SHA-256 final failed");
	if (fail_hash)
		md[0] ^= 1;
	static const char digits[] = "0123456789abcdef";
	for (unsigned int i = 0; i < n; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 15];
	}
	hex[64] = '\0';
	return AGENT_OK;
}
