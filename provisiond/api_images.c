/* api_images.c - /v1/images: register (a file of the image store is hashed
 * now; a URL is fetched into the store in the background), list, get,
 * delete. */
#include "images/images.h"
#include "provisiond/image_fetcher.h"
#include "provisiond/log.h"
#include "provisiond/routes.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const struct field image_fields[] = {
    API_NAME_FIELD("name", true, "must contain only [A-Za-z0-9._-]"),
    {.name = "path", .kind = F_STR, .min = 1, .max = 511},
    {.name = "url", .kind = F_STR, .min = 1, .max = 511},
    {.name = "format", .kind = F_STR, .min = 1, .max = 15},
    {.name = "sha256", .kind = F_STR, .min = 64, .max = 64},
};
const struct api_schema image_schema = {image_fields, ARRAY_SIZE(image_fields)};

static json_t *opt_str(const char *s)
{
	return s[0] ? json_string(s) : json_null();
}

static json_t *image_json(const struct inv_image *m)
{
	json_t *o = json_pack("{s:s, s:o, s:o, s:s, s:s, s:I, s:s, s:o}", "name", m->name, "path",
			      opt_str(m->path), "url", opt_str(m->url), "format", m->format,
			      "sha256", m->sha256, "size", (json_int_t)m->size, "state",
			      inv_image_state_name(m->state), "last_error", opt_str(m->last_error));
	json_object_set_new(o, "created_at", api_time(m->created_at));
	json_object_set_new(o, "updated_at",
			    api_time(m->updated_at ? m->updated_at : m->created_at));
	return o;
}

static bool valid_hex64(const char *s)
{
	for (int i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return s[64] == 0;
}

/* Whether f is one of provisiond's own files (database, its journal, the
 * admin token file): an image store that holds them is misconfigured, and
 * the boot listener serves images to anyone. */
static bool own_file(const struct config *cfg, const struct img_file *f)
{
	char paths[5][600];
	snprintf(paths[0], sizeof paths[0], "%s", cfg->db_path);
	snprintf(paths[1], sizeof paths[1], "%s-wal", cfg->db_path);
	snprintf(paths[2], sizeof paths[2], "%s-shm", cfg->db_path);
	snprintf(paths[3], sizeof paths[3], "%s.admin-token", cfg->db_path);
	snprintf(paths[4], sizeof paths[4], "%s", cfg->admin_token_file);
	for (size_t i = 0; i < ARRAY_SIZE(paths); i++) {
		struct stat st;
		if (paths[i][0] && stat(paths[i], &st) == 0 && (int64_t)st.st_ino == f->inode &&
		    (int64_t)st.st_dev == f->dev)
			return true;
	}
	return false;
}

/* Opens the store file the client named and hashes it from that same fd.
 * false with the response set. */
static bool hash_store_file(struct api_call *c, const char *path, struct inv_image *img)
{
	const char *dir = c->a->cfg.images_dir;
	struct err e = {0};
	struct img_file f = {.fd = -1};
	char rel[sizeof img->path];
	if (img_store_rel(dir, path, rel, sizeof rel, &e) != ERR_OK ||
	    img_store_open(dir, rel, &f, &e) != ERR_OK) {
		snprintf(e.field, sizeof e.field, "path"); /* the file is the input at fault */
		return api_fail(c->r, 400, "image path", &e), false;
	}
	if (own_file(&c->a->cfg, &f)) {
		close(f.fd);
		http_error(c->r, 400, "invalid_value", "path",
			   "%s is one of provisiond's own files, not an image", rel);
		return false;
	}
	enum err_status rc =
	    img_hash_fd(f.fd, img->format, &c->a->draining, img->sha256, &img->size, &e);
	close(f.fd);
	if (rc == ERR_CONFLICT) { /* provisiond is stopping */
		http_error(c->r, 503, "not_ready", NULL, "%s", e.message);
		return false;
	}
	if (rc != ERR_OK) {
		snprintf(e.field, sizeof e.field, "path");
		return api_fail(c->r, rc == ERR_INTERNAL ? 500 : 400, "image hash", &e), false;
	}
	snprintf(img->path, sizeof img->path, "%s", rel);
	img->file_size = f.size;
	img->file_inode = f.inode;
	img->state = INV_IMG_READY;
	return true;
}

/* A URL image: checked now, fetched later. false with the response set. */
static bool url_image(struct http_req *r, const char *url, const char *sha, struct inv_image *img)
{
	if (strncmp(url, "http://", 7) && strncmp(url, "https://", 8))
		return http_error(r, 400, "invalid_value", "url", "url must be http(s)"), false;
	if (!sha)
		return http_error(r, 400, "missing_field", "sha256",
				  "sha256 is required for an image given by url"),
		       false;
	snprintf(img->url, sizeof img->url, "%s", url);
	snprintf(img->sha256, sizeof img->sha256, "%s", sha);
	img->state = INV_IMG_FETCHING;
	img->file_size = -1;
	return true;
}

/* Fills img from the body; hashes store files. false with response set. */
static bool build_image(struct api_call *c, struct inv_image *img)
{
	struct http_req *r = c->r;
	json_t *body = c->body;
	const char *path = json_string_value(json_object_get(body, "path"));
	const char *url = json_string_value(json_object_get(body, "url"));
	const char *fmt = json_string_value(json_object_get(body, "format"));
	const char *sha = json_string_value(json_object_get(body, "sha256"));
	snprintf(img->name, sizeof img->name, "%s",
		 json_string_value(json_object_get(body, "name")));
	snprintf(img->format, sizeof img->format, "%s", fmt ? fmt : "raw");
	if (!!path == !!url)
		return http_error(r, 400, "invalid_value", "path",
				  "give exactly one of path or url"),
		       false;
	if (img_check_format(img->format, NULL) != ERR_OK)
		return http_error(r, 400, "invalid_value", "format",
				  "format must be raw or raw.zst"),
		       false;
	if (sha && !valid_hex64(sha))
		return http_error(r, 400, "invalid_value", "sha256",
				  "sha256 must be 64 lower-case hex digits"),
		       false;
	if (url)
		return url_image(r, url, sha, img);
	if (!hash_store_file(c, path, img))
		return false;
	if (sha && strcmp(sha, img->sha256) != 0)
		return http_error(r, 400, "checksum_mismatch", "sha256",
				  "sha256 %s does not match the image's content (%s)", sha,
				  img->sha256),
		       false;
	return true;
}

void api_image_create(struct api_call *c)
{
	struct inv_image img = {0};
	if (!build_image(c, &img))
		return;
	struct inv_err e = {0};
	if (inv_image_create(c->a->inv, &img, c->p->actor, c->r->request_id, &e) != INV_OK ||
	    inv_image_get(c->a->inv, img.name, &img, &e) != INV_OK) {
		api_fail_inv(c->r, "image create", &e);
		return;
	}
	if (img.state == INV_IMG_FETCHING)
		image_fetcher_kick(c->a->fetcher);
	api_json(c->r, img.state == INV_IMG_FETCHING ? 202 : 201, image_json(&img));
}

void api_image_list(struct api_call *c)
{
	int limit;
	int64_t after;
	if (!api_page(c->r, &limit, &after))
		return;
	struct inv_image_list l = {0};
	struct inv_err e = {0};
	if (inv_image_list(c->a->inv, after, limit, &l, &e) != INV_OK) {
		api_fail_inv(c->r, "image list", &e);
		return;
	}
	json_t *items = json_array();
	for (size_t i = 0; i < l.n; i++)
		json_array_append_new(items, image_json(&l.items[i]));
	api_json(c->r, 200, api_list(items, l.next_seq));
	inv_image_list_clear(&l);
}

void api_image_get(struct api_call *c)
{
	struct inv_image img;
	struct inv_err e = {0};
	if (inv_image_get(c->a->inv, c->r->params[0], &img, &e) == INV_OK)
		api_json(c->r, 200, image_json(&img));
	else
		api_fail_inv(c->r, "image get", &e);
}

void api_image_delete(struct api_call *c)
{
	struct inv_image img = {0};
	struct inv_err e = {0};
	/* the file of a URL image is provisiond's: it goes with the image
	 * (one still being fetched is removed by the fetcher) */
	bool owned = inv_image_get(c->a->inv, c->r->params[0], &img, &e) == INV_OK && img.url[0] &&
		     img.path[0];
	if (inv_image_delete(c->a->inv, c->r->params[0], c->p->actor, c->r->request_id, &e) !=
	    INV_OK) {
		api_fail_inv(c->r, "image delete", &e);
		return;
	}
	struct err ue = {0};
	if (owned && img_store_unlink(c->a->cfg.images_dir, img.path, &ue) != ERR_OK)
		log_event(LOG_WARN, "fetched image file not removed", "image", img.name, "error",
			  ue.message, "request_id", c->r->request_id, NULL);
	http_reply(c->r, 204, "application/json", NULL, 0);
}
