/* api_images.c - /v1/images: register (local files are hashed), list, get,
 * delete. */
#include "images/images.h"
#include "provisiond/routes.h"

#include <stdio.h>
#include <string.h>

const struct field image_fields[] = {
    API_NAME_FIELD("name", true, "must contain only [A-Za-z0-9._-]"),
    {.name = "path", .kind = F_STR, .min = 1, .max = 511},
    {.name = "url", .kind = F_STR, .min = 1, .max = 511},
    {.name = "format", .kind = F_STR, .min = 1, .max = 15},
    {.name = "sha256", .kind = F_STR, .min = 64, .max = 64},
};
const struct api_schema image_schema = {image_fields, ARRAY_SIZE(image_fields)};

static json_t *image_json(const struct inv_image *m)
{
	json_t *o = json_pack("{s:s, s:o, s:o, s:s, s:s, s:I}", "name", m->name, "path",
			      m->path[0] ? json_string(m->path) : json_null(), "url",
			      m->url[0] ? json_string(m->url) : json_null(), "format", m->format,
			      "sha256", m->sha256, "size", (json_int_t)m->size);
	json_object_set_new(o, "created_at", api_time(m->created_at));
	return o;
}

static bool valid_hex64(const char *s)
{
	for (int i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return s[64] == 0;
}

/* Fills img from the body; hashes local files. false with response set. */
static bool build_image(struct http_req *r, json_t *body, struct inv_image *img)
{
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
	if (url) {
		if (strncmp(url, "http://", 7) && strncmp(url, "https://", 8))
			return http_error(r, 400, "invalid_value", "url", "url must be http(s)"),
			       false;
		if (!sha)
			return http_error(r, 400, "missing_field", "sha256",
					  "sha256 is required for an image given by url"),
			       false;
		snprintf(img->url, sizeof img->url, "%s", url);
		snprintf(img->sha256, sizeof img->sha256, "%s", sha);
		return true;
	}
	if (path[0] != '/' || strstr(path, "/../") || strstr(path, "/./"))
		return http_error(r, 400, "invalid_value", "path",
				  "path must be absolute without . or .. components"),
		       false;
	struct err herr = {0};
	snprintf(img->path, sizeof img->path, "%s", path);
	if (img_hash_file(path, img->format, img->sha256, &img->size, &herr) != ERR_OK) {
		snprintf(herr.field, sizeof herr.field,
			 "path"); /* the file is the input at fault */
		return api_fail(r, 400, "image hash", &herr), false;
	}
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
	if (!build_image(c->r, c->body, &img))
		return;
	struct inv_err e = {0};
	if (inv_image_create(c->a->inv, &img, c->p->actor, c->r->request_id, &e) != INV_OK ||
	    inv_image_get(c->a->inv, img.name, &img, &e) != INV_OK)
		api_fail_inv(c->r, "image create", &e);
	else
		api_json(c->r, 201, image_json(&img));
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
	struct inv_err e = {0};
	if (inv_image_delete(c->a->inv, c->r->params[0], c->p->actor, c->r->request_id, &e) ==
	    INV_OK)
		http_reply(c->r, 204, "application/json", NULL, 0);
	else
		api_fail_inv(c->r, "image delete", &e);
}
