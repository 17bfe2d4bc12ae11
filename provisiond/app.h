/* app.h - the composed daemon: what every handler and the engine share. */
#ifndef PROVISIOND_APP_H
#define PROVISIOND_APP_H

#include "inventory/inventory.h"
#include "provisiond/config.h"
#include "util/util.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

struct sku_catalog;
struct bmc_manager;
struct lc_engine;
struct http_server;
struct boot_dnsmasq;
struct rl;
struct image_fetcher;
struct event_hub;
struct con_manager;

struct app {
	struct config cfg;
	struct inv *inv;
	pthread_rwlock_t catalog_lock; /* guards catalog (swapped on SIGHUP) */
	struct sku_catalog *catalog;
	struct bmc_manager *bmc;
	struct con_manager *console; /* serial console capture (console/console.h) */
	struct lc_engine *lc;	     /* NULL without the engine role */
	struct replica *replica;
	int roles; /* CONFIG_ROLE_* of [replica] roles */
	struct http_server *api, *boot;
	struct boot_dnsmasq *dnsmasq; /* NULL unless [dnsmasq] mode is on */
	atomic_int long_polls;	      /* running ?wait= requests */
	atomic_bool frozen;	      /* cached fleet freeze (source: settings) */
	atomic_bool ready;	      /* /readyz */
	atomic_bool draining;	      /* SIGTERM: long-polls answer now */
	atomic_ulong auth_failures;
	struct rl *discovery_rl;	 /* tokenless agent lookups per client address */
	struct rl *token_rl;		 /* API requests per token; NULL: no limit */
	atomic_ulong token_rate_refused; /* 429 rate_limited to API tokens */
	atomic_ulong frozen_refused;	 /* 503 frozen */
	atomic_ulong discovery_refused;
	atomic_ulong catalog_reload_failures; /* SIGHUP reloads that kept the old catalog */
	struct image_fetcher *fetcher;	      /* URL images into the store (image_fetcher.h) */
	struct event_hub *events;	      /* the change feed of GET /v1/stream (events.h) */
};

/* Reloads the SKU catalog from cfg.skus_dir; keeps the old one on error
 * (e says why, as sku_catalog_load_dir does). */
enum err_status app_reload_catalog(struct app *a, struct err *e);

#endif
