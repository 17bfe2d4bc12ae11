/* api_routes.h - every management API handler, and the route tables. */
#ifndef PROVISIOND_API_ROUTES_H
#define PROVISIOND_API_ROUTES_H

#include "provisiond/api.h"

void api_health(struct http_req *r, void *app);
void api_ready(struct http_req *r, void *app);
void api_metrics(struct http_req *r, void *app);
void api_token_create(struct http_req *r, void *app);
void api_token_list(struct http_req *r, void *app);
void api_token_delete(struct http_req *r, void *app);
void api_sku_list(struct http_req *r, void *app);
void api_sku_get(struct http_req *r, void *app);
void api_machine_enroll(struct http_req *r, void *app);
void api_machine_list(struct http_req *r, void *app);
void api_machine_get(struct http_req *r, void *app);
void api_machine_patch(struct http_req *r, void *app);
void api_machine_action(struct http_req *r, void *app);
void api_machine_events(struct http_req *r, void *app);
void api_machine_power_get(struct http_req *r, void *app);
void api_machine_power_set(struct http_req *r, void *app);
void api_machine_bootdev(struct http_req *r, void *app);
void api_image_create(struct http_req *r, void *app);
void api_image_list(struct http_req *r, void *app);
void api_image_get(struct http_req *r, void *app);
void api_image_delete(struct http_req *r, void *app);
void api_alloc_create(struct http_req *r, void *app);
void api_alloc_list(struct http_req *r, void *app);
void api_alloc_get(struct http_req *r, void *app);
void api_alloc_delete(struct http_req *r, void *app);
void api_audit_list(struct http_req *r, void *app);
void api_capacity(struct http_req *r, void *app);
void api_quota_set(struct http_req *r, void *app);
void api_quota_list(struct http_req *r, void *app);
void api_freeze_get(struct http_req *r, void *app);
void api_freeze_set(struct http_req *r, void *app);

/* Boot/agent plane (api_boot.c, api_agent.c). */
void boot_ipxe(struct http_req *r, void *app);
void boot_file(struct http_req *r, void *app);
void boot_image(struct http_req *r, void *app);
void agent_lookup(struct http_req *r, void *app);
void agent_inventory(struct http_req *r, void *app);
void agent_heartbeat(struct http_req *r, void *app);
void agent_command(struct http_req *r, void *app);
void agent_result(struct http_req *r, void *app);
void agent_booted(struct http_req *r, void *app);

/* Shared by machine handlers. */
bool api_load_machine(struct http_req *r, struct app *a, const struct principal *p, const char *id,
		      struct inv_machine *m);
bool api_parse_bmc(struct http_req *r, struct app *a, json_t *o, const struct inv_bmc *old,
		   struct inv_bmc *b);

extern const struct http_route api_routes[];
extern const size_t api_nroutes;
extern const struct http_route boot_routes[];
extern const size_t boot_nroutes;

#endif
