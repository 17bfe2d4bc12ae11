/* fetch.c - an image given by URL, downloaded into the store (libcurl).
 *
 * The bytes go to "NAME.part" and are hashed as they arrive (decompressed
 * on the way for raw.zst), so a mismatch is known when the transfer ends
 * without reading the file again; the part file becomes NAME by rename()
 * only when the sha256 matches, so a file under its final name is always a
 * verified one. Redirects are followed between http and https only. */
#include "images/images.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct fetch {
	const struct img_fetch_req *q;
	int fd;
	struct img_hasher *h;
	struct err *e;
	enum err_status rc; /* set by a callback that stopped the transfer */
};

static size_t on_data(char *p, size_t size, size_t nmemb, void *ud)
{
	struct fetch *f = ud;
	size_t n = size * nmemb;
	struct err he = {0};
	if (img_hasher_feed(f->h, p, n, &he) != ERR_OK) {
		f->rc = err_set(f->e, ERR_INVALID, "url", "%s: %s", f->q->url, he.message);
		return 0;
	}
	for (size_t done = 0; done < n;) {
		ssize_t w = write(f->fd, p + done, n - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			f->rc = err_set(f->e, ERR_IO, NULL, "writing the image store: %s",
					w < 0 ? strerror(errno) : "short write");
			return 0;
		}
		done += (size_t)w;
	}
	return n;
}

static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		       curl_off_t ulnow)
{
	(void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
	struct fetch *f = ud;
	return f->q->cancel && atomic_load(f->q->cancel) ? 1 : 0;
}

static void set_options(CURL *h, struct fetch *f, char *errbuf)
{
	const struct img_fetch_req *q = f->q;
	curl_easy_setopt(h, CURLOPT_URL, q->url);
#if LIBCURL_VERSION_NUM >= 0x075500 /* 7.85: the _STR forms */
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(h, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
	curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(h, CURLOPT_MAXREDIRS, 5L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_FAILONERROR, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT,
			 q->connect_timeout_s > 0 ? q->connect_timeout_s : 30L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1024L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME,
			 q->stall_timeout_s > 0 ? q->stall_timeout_s : 60L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "provisiond");
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, f);
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(h, CURLOPT_XFERINFODATA, f);
}

/* Runs the transfer into f->fd. */
static enum err_status transfer(struct fetch *f)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	CURL *h = curl_easy_init();
	if (!h)
		return err_set(f->e, ERR_INTERNAL, NULL, "curl_easy_init failed");
	set_options(h, f, errbuf);
	CURLcode cc = curl_easy_perform(h);
	long code = 0;
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(h);
	if (cc == CURLE_OK)
		return ERR_OK;
	if (f->rc != ERR_OK)
		return f->rc;
	if (cc == CURLE_ABORTED_BY_CALLBACK)
		return err_set(f->e, ERR_CONFLICT, NULL, "cancelled: provisiond is stopping");
	if (cc == CURLE_HTTP_RETURNED_ERROR)
		return err_set(f->e, ERR_IO, "url", "GET %s: HTTP %ld", f->q->url, code);
	return err_set(f->e, ERR_IO, "url", "GET %s: %s", f->q->url,
		       errbuf[0] ? errbuf : curl_easy_strerror(cc));
}

/* The directory that will hold rel (created, one level, if missing) into
 * *pd; *name points to rel's last component. */
static enum err_status open_dest(const struct img_fetch_req *q, int *pd, const char **name,
				 struct err *e)
{
	const char *slash = strrchr(q->rel, '/');
	char sub[256] = "";
	*name = slash ? slash + 1 : q->rel;
	if (slash && (strchr(q->rel, '/') != slash ||
		      (size_t)snprintf(sub, sizeof sub, "%.*s", (int)(slash - q->rel), q->rel) >=
			  sizeof sub))
		return err_set(e, ERR_INTERNAL, NULL, "fetch destination %s: one level only",
			       q->rel);
	int at = open(q->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (at < 0)
		return err_set(e, ERR_IO, NULL, "image store %s: %s", q->dir, strerror(errno));
	*pd = at;
	if (!slash)
		return ERR_OK;
	if (mkdirat(at, sub, 0700) != 0 && errno != EEXIST) {
		close(at);
		return err_set(e, ERR_IO, NULL, "image store %s/%s: %s", q->dir, sub,
			       strerror(errno));
	}
	*pd = openat(at, sub, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int oe = errno;
	close(at);
	if (*pd < 0)
		return err_set(e, ERR_IO, NULL, "image store %s/%s: %s", q->dir, sub, strerror(oe));
	return ERR_OK;
}

/* The transfer ended well: compare, then publish the part file as name. */
static enum err_status publish(struct fetch *f, int pd, const char *part, const char *name,
			       struct img_file *out, int64_t *raw_size)
{
	char got[65];
	img_hasher_finish(f->h, got, raw_size);
	if (strcmp(got, f->q->sha256) != 0)
		return err_set(
		    f->e, ERR_INVALID, "sha256",
		    "sha256 mismatch: %s sent %lld raw bytes with sha256 %s, expected %s",
		    f->q->url, (long long)*raw_size, got, f->q->sha256);
	struct stat st;
	if (fsync(f->fd) != 0 || fstat(f->fd, &st) != 0 || renameat(pd, part, pd, name) != 0)
		return err_set(f->e, ERR_IO, NULL, "image store: %s", strerror(errno));
	fsync(pd); /* the rename itself */
	out->size = (int64_t)st.st_size;
	out->inode = (int64_t)st.st_ino;
	out->dev = (int64_t)st.st_dev;
	return ERR_OK;
}

enum err_status img_fetch_url(const struct img_fetch_req *q, struct img_file *out,
			      int64_t *raw_size, struct err *e)
{
	out->fd = -1;
	struct fetch f = {.q = q, .fd = -1, .e = e};
	const char *name;
	char part[300];
	int pd = -1;
	enum err_status rc = open_dest(q, &pd, &name, e);
	if (rc == ERR_OK && (size_t)snprintf(part, sizeof part, "%s.part", name) >= sizeof part)
		rc = err_set(e, ERR_INTERNAL, NULL, "fetch destination name too long");
	if (rc == ERR_OK)
		rc = img_hasher_new(q->format, &f.h, e);
	if (rc == ERR_OK &&
	    (f.fd = openat(pd, part, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600)) <
		0)
		rc = err_set(e, ERR_IO, NULL, "image store: %s: %s", part, strerror(errno));
	if (rc == ERR_OK)
		rc = transfer(&f);
	if (rc == ERR_OK)
		rc = publish(&f, pd, part, name, out, raw_size);
	if (rc != ERR_OK && f.fd >= 0)
		unlinkat(pd, part, 0);
	if (f.fd >= 0)
		close(f.fd);
	if (pd >= 0)
		close(pd);
	img_hasher_free(f.h);
	return rc;
}
