/* driver_libvirt.c - the "libvirt" driver: a libvirt domain stands in for a machine
 * (the lab). Address: a libvirt URI (qemu:///system, test:///default). Options:
 * domain (required), timeout_ms.
 *
 * Connections are cached per manager and URI: opening qemu:///system costs a
 * round trip to libvirtd, and test:///default keeps its state only while a
 * connection to it is open. A connection that died is reopened on next use.
 *
 * Power: on = virDomainCreate, off = virDomainDestroy, soft = virDomainShutdown,
 * cycle and reset = virDomainDestroy + virDomainCreate. Not virDomainReset or
 * virDomainReboot: both keep the running definition, so a boot order changed just
 * before would not apply, and "set boot pxe, then reset" is exactly what
 * provisioning does. Boot device: rewrite <os><boot dev/> in the persistent XML
 * (persistent only; takes effect at the next start). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provisiond/bmc/driver_libvirt.h"
#include "provisiond/bmc/libvirt_xml.h"
#include "provisiond/bmc/options.h"

struct lv_conn {
	struct lv_conn *next;
	char *uri;
	virConnectPtr conn;
};

struct lv_priv {
	pthread_mutex_t mu;
	struct lv_conn *conns;
};

struct lv_inst {
	virConnectPtr conn; /* own reference */
	virDomainPtr dom;
	char label[300]; /* "URI domain NAME" */
};

static const char *const lv_keys[] = {"domain", "timeout_ms", NULL};

/* libvirt prints every error to stderr unless told otherwise; ours go to bmc_error. */
static void lv_quiet(void *data, virErrorPtr err)
{
	(void)data;
	(void)err;
}

static pthread_once_t lv_once = PTHREAD_ONCE_INIT;
static void lv_global_init(void)
{
	virInitialize();
	virSetErrorFunc(NULL, lv_quiet);
	lv_event_loop_start();
}

static enum bmc_status lv_validate(const struct bmc_target *t, const json_t *opts,
				   struct bmc_error *e)
{
	const char *dom;
	enum bmc_status st = bmc_opts_check_keys(opts, "libvirt", lv_keys, e);

	if (st == BMC_OK && (t->address == NULL || strchr(t->address, ':') == NULL))
		st = bmc_error_set(e, BMC_ERR_INVALID, "bmc.address",
				   "a libvirt URI is required, e.g. qemu:///system");
	if (st == BMC_OK)
		st = bmc_opt_string(opts, "domain", NULL, &dom, e);
	if (st == BMC_OK && (dom == NULL || dom[0] == '\0'))
		st = bmc_error_set(e, BMC_ERR_INVALID, "bmc.options.domain",
				   "required for driver libvirt (the domain name)");
	return st;
}

static int lv_init(void **priv)
{
	struct lv_priv *p = calloc(1, sizeof(*p));

	pthread_once(&lv_once, lv_global_init);
	if (p == NULL || pthread_mutex_init(&p->mu, NULL) != 0) {
		free(p);
		return -1;
	}
	*priv = p;
	return 0;
}

static void lv_fini(void *priv)
{
	struct lv_priv *p = priv;
	struct lv_conn *c, *next;

	for (c = p->conns; c != NULL; c = next) {
		next = c->next;
		virConnectClose(c->conn);
		free(c->uri);
		free(c);
	}
	pthread_mutex_destroy(&p->mu);
	free(p);
}

enum bmc_status lv_error(const char *label, const char *what, struct bmc_error *e)
{
	virErrorPtr err = virGetLastError();
	int code = err ? err->code : VIR_ERR_INTERNAL_ERROR;
	const char *msg = err && err->message ? err->message : "unknown error";
	enum bmc_status st = BMC_ERR_FAILED;

	if (code == VIR_ERR_AUTH_FAILED || code == VIR_ERR_AUTH_CANCELLED ||
	    code == VIR_ERR_AUTH_UNAVAILABLE)
		st = BMC_ERR_AUTH;
	else if (code == VIR_ERR_NO_CONNECT || code == VIR_ERR_SYSTEM_ERROR || code == VIR_ERR_RPC)
		st = BMC_ERR_UNREACHABLE;
	else if (code == VIR_ERR_OPERATION_TIMEOUT)
		st = BMC_ERR_TIMEOUT;
	else if (code == VIR_ERR_NO_SUPPORT)
		st = BMC_ERR_UNSUPPORTED;
	return bmc_error_set(e, st, NULL, "libvirt at %s: %s failed: %s", label, what, msg);
}

/* Caller holds p->mu. Drops a cached connection that died. */
static virConnectPtr cache_find(struct lv_priv *p, const char *uri)
{
	for (struct lv_conn **pp = &p->conns; *pp != NULL; pp = &(*pp)->next) {
		struct lv_conn *c = *pp;
		if (strcmp(c->uri, uri) != 0)
			continue;
		if (virConnectIsAlive(c->conn) == 1)
			return c->conn;
		*pp = c->next;
		virConnectClose(c->conn);
		free(c->uri);
		free(c);
		return NULL;
	}
	return NULL;
}

virConnectPtr lv_connect(struct lv_priv *p, const char *uri, struct bmc_error *e)
{
	virConnectPtr conn, fresh;
	struct lv_conn *c = NULL;

	pthread_mutex_lock(&p->mu);
	conn = cache_find(p, uri);
	if (conn != NULL)
		virConnectRef(conn);
	pthread_mutex_unlock(&p->mu);
	if (conn != NULL)
		return conn;
	fresh = virConnectOpen(uri); /* outside the lock: may take a while */
	if (fresh == NULL) {
		lv_error(uri, "connect", e);
		if (e->status == BMC_ERR_FAILED)
			e->status = BMC_ERR_UNREACHABLE;
		return NULL;
	}
	pthread_mutex_lock(&p->mu);
	conn = cache_find(p, uri);
	if (conn == NULL && (c = calloc(1, sizeof(*c))) != NULL && (c->uri = strdup(uri)) != NULL) {
		c->conn = conn = fresh;
		c->next = p->conns;
		p->conns = c;
		fresh = NULL;
	} else if (conn == NULL) {
		free(c);
	}
	if (conn != NULL)
		virConnectRef(conn);
	pthread_mutex_unlock(&p->mu);
	if (conn == NULL) { /* no memory for the cache: use it uncached */
		conn = fresh;
		fresh = NULL;
	}
	if (fresh != NULL)
		virConnectClose(fresh); /* another thread cached one first */
	return conn;
}

static void lv_close(void *inst)
{
	struct lv_inst *in = inst;

	if (in == NULL)
		return;
	if (in->dom != NULL)
		virDomainFree(in->dom);
	if (in->conn != NULL)
		virConnectClose(in->conn);
	free(in);
}

virDomainPtr lv_domain(virConnectPtr conn, const struct bmc_target *t, const json_t *opts,
		       char *label, size_t label_len, struct bmc_error *e)
{
	const char *name = json_string_value(json_object_get(opts, "domain"));
	virDomainPtr dom;

	snprintf(label, label_len, "%s domain %s", t->address, name ? name : "?");
	dom = name != NULL ? virDomainLookupByName(conn, name) : NULL;
	if (dom == NULL) {
		lv_error(label, "domain lookup", e);
		if (virGetLastErrorCode() == VIR_ERR_NO_DOMAIN || name == NULL)
			bmc_error_set(e, BMC_ERR_FAILED, NULL, "libvirt at %s has no domain '%s'",
				      t->address, name ? name : "");
	}
	return dom;
}

static enum bmc_status lv_open(void *priv, const struct bmc_target *t, const json_t *opts,
			       int timeout_ms, void **out, struct bmc_error *e)
{
	struct lv_inst *in = calloc(1, sizeof(*in));

	(void)timeout_ms; /* libvirt has no per-call timeout; the watchdog bounds it */
	if (in == NULL)
		return bmc_error_set(e, BMC_ERR_FAILED, NULL, "out of memory");
	in->conn = lv_connect(priv, t->address, e);
	if (in->conn != NULL)
		in->dom = lv_domain(in->conn, t, opts, in->label, sizeof(in->label), e);
	if (in->dom == NULL) {
		lv_close(in);
		return e->status;
	}
	*out = in;
	return BMC_OK;
}

static enum bmc_status lv_power_get(void *inst, int timeout_ms, enum bmc_power_state *out,
				    struct bmc_error *e)
{
	struct lv_inst *in = inst;
	int state = 0, reason = 0;

	(void)timeout_ms;
	if (virDomainGetState(in->dom, &state, &reason, 0) < 0)
		return lv_error(in->label, "get state", e);
	switch (state) {
	case VIR_DOMAIN_RUNNING:
	case VIR_DOMAIN_BLOCKED:
	case VIR_DOMAIN_SHUTDOWN: /* shutting down: still on */
		*out = BMC_POWER_ON;
		return BMC_OK;
	case VIR_DOMAIN_SHUTOFF:
		*out = BMC_POWER_OFF;
		return BMC_OK;
	case VIR_DOMAIN_PAUSED:
		return bmc_error_set(e, BMC_ERR_FAILED, NULL,
				     "libvirt at %s: domain is paused, neither on nor off "
				     "(resume or destroy it)",
				     in->label);
	default:
		return bmc_error_set(e, BMC_ERR_FAILED, NULL,
				     "libvirt at %s: domain is in state %d (crashed, suspended or "
				     "unknown), neither on nor off",
				     in->label, state);
	}
}

static enum bmc_status lv_start(struct lv_inst *in, struct bmc_error *e)
{
	return virDomainCreate(in->dom) < 0 ? lv_error(in->label, "start (virDomainCreate)", e)
					    : BMC_OK;
}

static enum bmc_status lv_power_set(void *inst, int timeout_ms, enum bmc_power_action a,
				    struct bmc_error *e)
{
	struct lv_inst *in = inst;
	int active = virDomainIsActive(in->dom);

	(void)timeout_ms;
	if (active < 0)
		return lv_error(in->label, "get state", e);
	switch (a) {
	case BMC_POWER_ACTION_ON:
		return active ? BMC_OK : lv_start(in, e);
	case BMC_POWER_ACTION_OFF:
		if (active && virDomainDestroy(in->dom) < 0)
			return lv_error(in->label, "power off (virDomainDestroy)", e);
		return BMC_OK;
	case BMC_POWER_ACTION_SOFT_OFF:
		if (active && virDomainShutdown(in->dom) < 0)
			return lv_error(in->label, "shutdown (virDomainShutdown)", e);
		return BMC_OK;
	case BMC_POWER_ACTION_CYCLE:
	case BMC_POWER_ACTION_RESET:
		if (active && virDomainDestroy(in->dom) < 0)
			return lv_error(in->label, "power off (virDomainDestroy)", e);
		return lv_start(in, e);
	case BMC_POWER_ACTION__COUNT:
		break;
	}
	return bmc_error_set(e, BMC_ERR_INVALID, NULL, "unknown power action");
}

static enum bmc_status lv_boot_set(void *inst, int timeout_ms, enum bmc_boot_device d,
				   bool persistent, struct bmc_error *e)
{
	struct lv_inst *in = inst;
	char *xml, *edited;
	virDomainPtr defined;

	(void)timeout_ms;
	(void)persistent; /* always persistent: the dispatch layer checks the caps */
	/* SECURE: without it the XML lacks passwords (VNC, ...), and redefining it
	 * would remove them. INACTIVE: the persistent definition, not the running one. */
	xml = virDomainGetXMLDesc(in->dom, VIR_DOMAIN_XML_INACTIVE | VIR_DOMAIN_XML_SECURE);
	if (xml == NULL)
		return lv_error(in->label, "get XML", e);
	edited = bmc_libvirt_xml_set_boot(xml, d, e);
	free(xml);
	if (edited == NULL) {
		char why[sizeof(e->message)];
		snprintf(why, sizeof(why), "%s", e->message);
		return bmc_error_set(e, e->status, NULL, "libvirt at %s: %s", in->label, why);
	}
	defined = virDomainDefineXML(in->conn, edited);
	free(edited);
	if (defined == NULL)
		return lv_error(in->label, "define XML", e);
	virDomainFree(defined);
	return BMC_OK;
}

const struct bmc_driver bmc_driver_libvirt = {
    .name = "libvirt",
    .caps = BMC_CAP_SOFT_OFF | BMC_CAP_BOOT_PERSISTENT,
    .init = lv_init,
    .fini = lv_fini,
    .validate = lv_validate,
    .open = lv_open,
    .close = lv_close,
    .power_get = lv_power_get,
    .power_set = lv_power_set,
    .boot_set = lv_boot_set,
    .console_open = lv_console_open,
    .console_read = lv_console_read,
    .console_close = lv_console_close,
};
