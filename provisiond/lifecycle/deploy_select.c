/* deploy_select.c - which deploy interface a machine uses: one table, chosen
 * by name from the machine's BMC options, its SKU, or its BMC driver. */
#include "provisiond/lifecycle/deploy.h"

#include "provisiond/bmc/bmc.h"
#include "skus/sku.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

static const struct deploy_driver *const deploy_drivers[] = {
    &deploy_fake,
    &deploy_pxe,
    &deploy_vmedia,
};

static const struct deploy_driver *by_name(const char *name)
{
	for (size_t i = 0; name && i < sizeof deploy_drivers / sizeof deploy_drivers[0]; i++)
		if (strcmp(deploy_drivers[i]->name, name) == 0)
			return deploy_drivers[i];
	return NULL;
}

/* The SKU's choice, copied out under the catalog lock; "" when none. */
static void sku_choice(const struct lc_ctx *x, const char *sku, char *out, size_t len)
{
	out[0] = '\0';
	if (!x || !x->catalog_lock || !x->catalog || !sku || !sku[0])
		return;
	pthread_rwlock_rdlock(x->catalog_lock);
	const struct sku *s = sku_catalog_find(*x->catalog, sku);
	if (s)
		snprintf(out, len, "%s", sku_deploy(s));
	pthread_rwlock_unlock(x->catalog_lock);
}

const struct deploy_driver *deploy_for(const struct lc_ctx *x, const struct inv_machine *m,
				       const struct inv_bmc *bmc)
{
	char name[16] = "";
	if (!bmc || !bmc->driver[0])
		return NULL;
	bool fake = strcmp(bmc->driver, "fake") == 0;
	json_t *o = json_loads(bmc->options_json ? bmc->options_json : "{}", 0, NULL);
	const char *opt = json_string_value(json_object_get(o, "deploy"));
	if (opt)
		snprintf(name, sizeof name, "%s", opt);
	json_decref(o);
	/* a SKU asks for virtual media where the BMC can do it; others PXE */
	if (!name[0] && !fake && (bmc_driver_caps(bmc->driver) & BMC_CAP_VMEDIA))
		sku_choice(x, m ? m->sku : NULL, name, sizeof name);
	if (!name[0])
		snprintf(name, sizeof name, "%s", fake ? "fake" : "pxe");
	return by_name(name);
}
