/* api_boot.c - the boot/agent plane listener: per-machine iPXE scripts, the
 * ramdisk and image files, and the deploy agent's calls
 * (docs/agent-protocol.md). Agents authenticate with per-boot tokens, never
 * with API tokens. */
#include "images/agent/protocol.h"
#include "images/images.h"
#include "pxe/pxe.h"
#include "provisiond/routes.h"
#include "provisiond/lifecycle/lifecycle.h"
#include "provisiond/log.h"
#include "skus/sku.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ------------------------------------------------------------- scripts */

static bool wants_agent(struct app *a, const struct inv_machine *m)
{
	if (m->state == INV_ST_INSPECTING || m->state == INV_ST_CLEANING)
		return true;
	if (m->state == INV_ST_AVAILABLE) /* fast-track or warm pool: in the agent */
		return strcmp(m->phase, INV_PHASE_WARM) == 0 ||
		       strcmp(m->phase, INV_PHASE_WARMING) == 0 ||
		       strcmp(m->phase, INV_PHASE_ROTATING) == 0 || lc_sku_fast_track(a, m->sku);
	/* deploying: the agent writes the image; once the engine switched to
	 * the disk ("disk" phase) the machine must boot its new OS */
	return m->state == INV_ST_DEPLOYING && strcmp(m->phase, "disk") != 0;
}

/* How long a boot token lives: from the script to the agent's lookup is
 * firmware loading a kernel and a ramdisk. */
#define BOOT_TOKEN_TTL_MS (30LL * 60 * 1000)

/* The boot token for m if the engine expects it to boot now: the grant
 * opened when the engine powered it on is taken, so one power-on yields
 * one token (docs/security.md). *granted false when there is no grant;
 * false with the response set on a storage error. */
static bool take_grant(struct http_req *r, struct app *a, const struct inv_machine *m,
		       char secret[80], bool *granted)
{
	char hash[65];
	struct inv_err e = {0};
	enum inv_status st = inv_boot_grant_take(a->inv, m->id, &e);
	*granted = st == INV_OK;
	if (st == INV_NOT_FOUND)
		return true;
	if (st == INV_OK && tok_new_secret(secret, 80) != 0)
		return http_error(r, 503, "storage_unavailable", NULL, "no randomness for a token"),
		       false;
	if (st == INV_OK) {
		tok_hash(secret, hash);
		st = inv_boot_token_add(a->inv, hash, m->id, "boot",
					inv_now_ms() + BOOT_TOKEN_TTL_MS, &e);
	}
	if (st != INV_OK)
		api_fail_inv(r, "issue boot token", &e);
	return st == INV_OK;
}

/* On the poll thread a script only reads. A machine the engine powered on
 * for this boot has an open grant: taking it and writing its token are
 * writes, which wait for a commit, so that script runs on a worker. */
static bool needs_worker(struct http_req *r, struct app *a, const struct inv_machine *m)
{
	if (http_on_worker(r))
		return false;
	bool open = true;
	struct inv_err e = {0};
	if (inv_boot_live(a->inv, m->id, "grant", &open, &e) != INV_OK)
		open = true; /* the worker's attempt reports the error */
	return open;
}

/* What the machine (or an unknown MAC) boots. The script names nothing
 * about the machine beyond what booting needs: it is served to anyone. */
static void script_for(struct http_req *r, struct app *a, const struct inv_machine *m,
		       const char *mac)
{
	struct pxe_script_params p = {.boot_url = a->cfg.boot_url,
				      .mac = mac,
				      .extra_args =
					  a->cfg.kernel_args[0] ? a->cfg.kernel_args : NULL,
				      .heartbeat_s = AGENT_HEARTBEAT_DEFAULT_S};
	char secret[80];
	bool granted = false;
	if (!m)
		p.kind = strcmp(a->cfg.unknown_mac_policy, "discover") == 0 ? PXE_BOOT_DISCOVER
									    : PXE_BOOT_IGNORE;
	else if (!wants_agent(a, m))
		p.kind = PXE_BOOT_LOCAL_DISK; /* never re-image by accident */
	else if (needs_worker(r, a, m)) {
		http_defer_to_worker(r);
		return;
	} else if (!take_grant(r, a, m, secret, &granted))
		return;
	else if (!granted)
		p.kind = PXE_BOOT_IGNORE; /* the engine did not power it on for this boot */
	else {
		p.kind = PXE_BOOT_AGENT;
		p.machine_id = m->id;
		p.token = secret;
	}
	struct err perr = {0};
	char *script = NULL;
	if (pxe_render_script(&p, &script, &perr) != ERR_OK) {
		http_error(r, 500, "internal", NULL, "cannot render the boot script: %s",
			   perr.message);
		return;
	}
	log_event(LOG_INFO, "boot script", "machine", m ? m->id : NULL, "mac", mac, "kind",
		  pxe_boot_kind_name(p.kind), "request_id", r->request_id, NULL);
	http_reply(r, 200, "text/plain", script, strlen(script));
}

void boot_serve_script(struct api_call *c)
{
	struct http_req *r = c->r;
	struct app *a = c->a;
	const char *arg = http_arg(r, "mac");
	char mac[18];
	if (!arg || pxe_mac_normalize(arg, mac) != 0) {
		http_error(r, 400, "invalid_value", "mac", "mac must be a MAC address");
		return;
	}
	struct inv_machine m = {0};
	struct inv_err e = {0};
	enum inv_status s = inv_machine_get_by_mac(a->inv, mac, &m, &e);
	if (s == INV_OK || s == INV_NOT_FOUND)
		script_for(r, a, s == INV_OK ? &m : NULL, mac);
	else
		api_fail_inv(r, "machine by mac", &e);
	inv_machine_clear(&m);
}

/* --------------------------------------------------------------- files */

/* Parses "bytes=A-B", "bytes=A-" or "bytes=-N" against size. */
static bool parse_range(const char *h, uint64_t size, uint64_t *off, uint64_t *len)
{
	unsigned long long a = 0, b = 0;
	char *end;
	if (strncmp(h, "bytes=", 6) != 0 || strchr(h, ','))
		return false;
	h += 6;
	if (*h == '-') {
		b = strtoull(h + 1, &end, 10);
		if (end == h + 1 || *end || b == 0)
			return false;
		*off = b >= size ? 0 : size - b;
		*len = size - *off;
		return size > 0;
	}
	a = strtoull(h, &end, 10);
	if (end == h || *end != '-' || a >= size)
		return false;
	h = end + 1;
	b = *h ? strtoull(h, &end, 10) : size - 1;
	if ((*h && (end == h || *end)) || b < a)
		return false;
	if (b >= size)
		b = size - 1;
	*off = a;
	*len = b - a + 1;
	return true;
}

/* Sends the open regular file fd of size bytes (whole or the requested
 * range) with sendfile; takes fd. */
static void send_fd(struct http_req *r, int fd, uint64_t size, const char *ctype)
{
	uint64_t off = 0, len = size;
	if (r->range && !parse_range(r->range, size, &off, &len)) {
		close(fd);
		http_error(r, 416, "range_not_satisfiable", "Range", "range %s not satisfiable",
			   r->range);
		return;
	}
	r->fd = fd;
	r->fd_off = off;
	r->fd_len = len;
	r->fd_total = size;
	r->partial = r->range != NULL;
	r->status = r->partial ? 206 : 200;
	r->content_type = ctype;
}

/* Sends a regular file by path. */
static void send_file(struct http_req *r, const char *path, const char *ctype)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		if (fd >= 0)
			close(fd);
		http_error(r, 404, "not_found", NULL, "file not available");
		return;
	}
	send_fd(r, fd, (uint64_t)st.st_size, ctype);
}

void boot_serve_file(struct api_call *c)
{
	struct http_req *r = c->r;
	const char *name = r->params[0];
	if (strcmp(name, "vmlinuz") != 0 && strcmp(name, "initramfs") != 0) {
		http_error(r, 404, "not_found", NULL, "no boot file '%s'", name);
		return;
	}
	char path[800];
	snprintf(path, sizeof path, "%s/%s", c->a->cfg.ramdisk_dir, name);
	send_file(r, path, "application/octet-stream");
}

/* Opens a ready image's file in the store (never outside it: see
 * images/store.c) and checks it is the file that was registered. -1 (and
 * a log line saying why) when it must not be served. */
static int open_image(struct app *a, const struct inv_image *img, int64_t *size,
		      const char *request_id)
{
	const char *dir = a->cfg.images_dir;
	char rel[sizeof img->path];
	struct img_file f = {.fd = -1};
	struct err e = {0};
	/* an absolute path is from before the store (schema < 5): served
	 * only when it lies inside the store */
	if (img_store_rel(dir, img->path, rel, sizeof rel, &e) == ERR_OK)
		img_store_open(dir, rel, &f, &e);
	if (f.fd >= 0 && ((img->file_inode && f.inode != img->file_inode) ||
			  (img->file_size >= 0 && f.size != img->file_size))) {
		close(f.fd);
		f.fd = -1;
		err_set(&e, ERR_CONFLICT, "path",
			"%s changed since it was registered (now %lld bytes, inode %lld): "
			"register it again",
			img->path, (long long)f.size, (long long)f.inode);
	}
	if (f.fd < 0)
		log_event(LOG_WARN, "image file not served", "image", img->name, "error", e.message,
			  "request_id", request_id, NULL);
	*size = f.size;
	return f.fd;
}

void boot_serve_image(struct api_call *c)
{
	struct http_req *r = c->r;
	struct inv_image img;
	struct inv_err e = {0};
	/* Only registered images, by name: no path from the request is used. */
	enum inv_status st = api_valid_name(r->params[0])
				 ? inv_image_get(c->a->inv, r->params[0], &img, &e)
				 : INV_NOT_FOUND;
	if (st != INV_OK && st != INV_NOT_FOUND) {
		api_fail_inv(r, "image get", &e);
		return;
	}
	int64_t size = 0;
	int fd = st == INV_OK && img.state == INV_IMG_READY && img.path[0]
		     ? open_image(c->a, &img, &size, r->request_id)
		     : -1;
	if (fd < 0) {
		http_error(r, 404, "not_found", "image", "no image '%s' available", r->params[0]);
		return;
	}
	send_fd(r, fd, (uint64_t)size, "application/octet-stream");
}

/* GET /vmedia/SECRET.iso: a virtual-media deploy's ISO, fetched by the BMC.
 * The name is the one-time secret of a "media" boot token (stored hashed, as
 * every boot token): unguessable, expiring with the deploy's boot, and revoked
 * when the media is ejected, which also removes the file. Anything else is a
 * 404 that says nothing. Range is supported (BMCs read CDs in pieces). */
void boot_serve_media(struct api_call *c)
{
	struct http_req *r = c->r;
	const char *name = r->params[0];
	size_t n = strlen(name);
	char secret[80], hash[65], machine[INV_ID_LEN], path[800];
	struct inv_err e = {0};
	if (n < 5 || n - 4 >= sizeof secret || strcmp(name + n - 4, ".iso") != 0 ||
	    strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_") != n - 4) {
		http_error(r, 404, "not_found", NULL, "no such media");
		return;
	}
	snprintf(secret, sizeof secret, "%.*s", (int)(n - 4), name);
	tok_hash(secret, hash);
	explicit_bzero(secret, sizeof secret);
	enum inv_status st = inv_boot_token_take(c->a->inv, hash, "media", false, machine, &e);
	if (st != INV_OK && st != INV_NOT_FOUND) {
		api_fail_inv(r, "media token", &e);
		return;
	}
	if (st == INV_NOT_FOUND) {
		http_error(r, 404, "not_found", NULL, "no such media");
		return;
	}
	log_event(LOG_INFO, "virtual media served", "machine", machine, "range",
		  r->range ? r->range : "all", "request_id", r->request_id, NULL);
	snprintf(path, sizeof path, "%s/%s.iso", c->a->cfg.vmedia_dir, machine);
	send_file(r, path, "application/octet-stream");
}
