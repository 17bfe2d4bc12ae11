/* image_fetcher.h - fetches images registered by URL into the image store,
 * one at a time, on a thread of its own (POST /v1/images answers 202 at
 * once).
 *
 * The inventory is the queue: the thread takes the images whose state is
 * "fetching" in registration order, fetches each (images/img_fetch_url:
 * verified against its sha256 while it streams) and records "ready" or
 * "failed" with last_error. Images still fetching when provisiond stops are
 * fetched again at the next start. */
#ifndef PROVISIOND_IMAGE_FETCHER_H
#define PROVISIOND_IMAGE_FETCHER_H

#include "util/util.h"

struct app;
struct image_fetcher;

/* Starts the thread (it first looks for images left fetching). a must
 * outlive the fetcher. ERR_INTERNAL when the thread or libcurl cannot
 * start. Call from the main thread before other threads use libcurl. */
enum err_status image_fetcher_start(struct app *a, struct image_fetcher **out, struct err *e);
/* Wakes the thread: an image was registered. NULL ok; thread-safe. */
void image_fetcher_kick(struct image_fetcher *f);
/* Stops a transfer in progress (within about a second; that image stays
 * "fetching"), joins the thread and frees f. NULL ok. */
void image_fetcher_stop(struct image_fetcher *f);

#endif
