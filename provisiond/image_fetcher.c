/* image_fetcher.c - see image_fetcher.h. */
#include "provisiond/image_fetcher.h"
#include "images/images.h"
#include "provisiond/app.h"
#include "provisiond/log.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Fetched files live here, inside the store, named NAME-SEQ: two images
 * of the same name (one deleted while it was fetched) never share a file. */
#define FETCHED_DIR ".fetched"
/* Looks again this often without a kick (a failed inventory write). */
#define RESCAN_MS 60000

struct image_fetcher {
	struct app *a;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv; /* util_cond_init */
	bool kicked;	   /* under mu */
	atomic_bool stop;
};

/* Records how the fetch of img ended; removes a file nobody will use. */
static void record(struct image_fetcher *f, struct inv_image *img, enum err_status rc,
		   const struct err *fe)
{
	struct inv_err e = {0};
	if (rc == ERR_OK) {
		img->state = INV_IMG_READY;
		img->last_error[0] = 0;
	} else {
		img->state = INV_IMG_FAILED;
		snprintf(img->last_error, sizeof img->last_error, "%s", fe->message);
	}
	enum inv_status s = inv_image_fetch_done(f->a->inv, img, &e);
	if (s != INV_OK && rc == ERR_OK) {
		struct err ue = {0};
		if (img_store_unlink(f->a->cfg.images_dir, img->path, &ue) != ERR_OK)
			log_event(LOG_WARN, "fetched image file not removed", "image", img->name,
				  "error", ue.message, NULL);
	}
	if (s == INV_NOT_FOUND)
		log_event(LOG_INFO, "image deleted while it was fetched", "image", img->name, NULL);
	else if (s != INV_OK)
		log_event(LOG_ERROR, "image fetch not recorded", "image", img->name, "error",
			  e.message, NULL);
	else if (rc == ERR_OK)
		log_event(LOG_INFO, "image fetched", "image", img->name, "path", img->path, NULL);
	else
		log_event(LOG_WARN, "image fetch failed", "image", img->name, "error", fe->message,
			  NULL);
}

static void fetch_one(struct image_fetcher *f, struct inv_image *img)
{
	char rel[sizeof img->path];
	snprintf(rel, sizeof rel, FETCHED_DIR "/%s-%lld", img->name, (long long)img->seq);
	struct img_fetch_req q = {.url = img->url,
				  .format = img->format,
				  .sha256 = img->sha256,
				  .dir = f->a->cfg.images_dir,
				  .rel = rel,
				  .cancel = &f->stop};
	struct img_file out = {.fd = -1};
	struct err e = {0};
	log_event(LOG_INFO, "fetching image", "image", img->name, "url", img->url, NULL);
	enum err_status rc = img_fetch_url(&q, &out, &img->size, &e);
	if (rc == ERR_CONFLICT && atomic_load(&f->stop))
		return; /* stays fetching: fetched again at the next start */
	if (rc == ERR_OK) {
		snprintf(img->path, sizeof img->path, "%s", rel);
		img->file_size = out.size;
		img->file_inode = out.inode;
	}
	record(f, img, rc, &e);
}

/* Waits for a kick, stop, or RESCAN_MS. */
static void wait_kick(struct image_fetcher *f)
{
	int64_t deadline = util_now_ms() + RESCAN_MS;
	pthread_mutex_lock(&f->mu);
	while (!f->kicked && !atomic_load(&f->stop))
		if (util_cond_wait_until_ms(&f->cv, &f->mu, deadline) == ETIMEDOUT)
			break;
	f->kicked = false;
	pthread_mutex_unlock(&f->mu);
}

static void *fetch_loop(void *arg)
{
	struct image_fetcher *f = arg;
	int64_t after = 0; /* one pass in seq order, then wait */
	while (!atomic_load(&f->stop)) {
		struct inv_image img;
		struct inv_err e = {0};
		enum inv_status s = inv_image_next_fetching(f->a->inv, after, &img, &e);
		if (s == INV_OK) {
			after = img.seq;
			fetch_one(f, &img);
			continue;
		}
		if (s != INV_NOT_FOUND)
			log_event(LOG_ERROR, "image fetcher cannot read the inventory", "error",
				  e.message, NULL);
		wait_kick(f);
		after = 0;
	}
	return NULL;
}

enum err_status image_fetcher_start(struct app *a, struct image_fetcher **out, struct err *e)
{
	*out = NULL;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return err_set(e, ERR_INTERNAL, NULL, "libcurl initialisation failed");
	struct image_fetcher *f = calloc(1, sizeof *f);
	if (!f)
		return err_set(e, ERR_INTERNAL, NULL, "out of memory");
	f->a = a;
	pthread_mutex_init(&f->mu, NULL);
	if (util_cond_init(&f->cv) != 0 || pthread_create(&f->thread, NULL, fetch_loop, f) != 0) {
		pthread_cond_destroy(&f->cv);
		pthread_mutex_destroy(&f->mu);
		free(f);
		return err_set(e, ERR_INTERNAL, NULL, "cannot start the image fetcher thread");
	}
	*out = f;
	return ERR_OK;
}

void image_fetcher_kick(struct image_fetcher *f)
{
	if (!f)
		return;
	pthread_mutex_lock(&f->mu);
	f->kicked = true;
	pthread_cond_signal(&f->cv);
	pthread_mutex_unlock(&f->mu);
}

void image_fetcher_stop(struct image_fetcher *f)
{
	if (!f)
		return;
	atomic_store(&f->stop, true);
	image_fetcher_kick(f);
	pthread_join(f->thread, NULL);
	pthread_cond_destroy(&f->cv);
	pthread_mutex_destroy(&f->mu);
	free(f);
	curl_global_cleanup();
}
