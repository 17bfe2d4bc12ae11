/* driver_libvirt_console.c - the libvirt driver's serial console: the domain's
 * console through virDomainOpenConsole, read from a non-blocking virStream.
 *
 * A stream's data comes in on libvirt's event loop: without one registered, a
 * non-blocking stream never sees data, and a blocking virStreamRecv cannot be
 * bounded by a wait. So the driver runs libvirt's default event loop on a thread
 * of its own (registered once per process before the first connection is opened,
 * and left running until exit, like libipmiconsole's engine for the ipmi driver).
 * That loop queues what the console sends; console_read takes it with a
 * non-blocking virStreamRecv, looking again every LV_POLL_MS until wait_ms
 * passes. Polling rather than a stream callback: a callback runs on the loop's
 * thread and could still be running with the session's state when the session
 * is freed; 20 looks a second per capture (a few dozen at most) cost nothing.
 *
 * Only a console libvirt can hand over is captured: a <console>/<serial> of type
 * pty or unix (QEMU). A domain whose serial port is a file or a TCP socket (the
 * lab's VMs: theirs is captured through their BMC) gets BMC_ERR_UNSUPPORTED. The
 * console is not stolen (no VIR_DOMAIN_CONSOLE_FORCE): a tech's `virsh console`
 * makes the open fail as busy, and the caller retries later. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "provisiond/bmc/driver_libvirt.h"

#define LV_POLL_MS 50

struct lv_console {
	virConnectPtr conn;
	virDomainPtr dom;
	virStreamPtr st;
	char label[300];
};

static pthread_once_t loop_once = PTHREAD_ONCE_INIT;
static int loop_rc = -1;

static void *loop_main(void *arg)
{
	(void)arg;
	for (;;)
		if (virEventRunDefaultImpl() < 0)
			usleep(100000); /* an error of one iteration; the loop goes on */
	return NULL;
}

static void loop_start(void)
{
	pthread_t th;

	if (virEventRegisterDefaultImpl() < 0 || pthread_create(&th, NULL, loop_main, NULL) != 0)
		return;
	pthread_detach(th);
	loop_rc = 0;
}

int lv_event_loop_start(void)
{
	pthread_once(&loop_once, loop_start);
	return loop_rc;
}

/* Whether the domain has a console libvirt can open (pty or unix). */
static enum bmc_status check_console(struct lv_console *c, struct bmc_error *e)
{
	char *xml = virDomainGetXMLDesc(c->dom, 0);
	bool ok;

	if (xml == NULL)
		return lv_error(c->label, "get XML", e);
	ok = strstr(xml, "<console type='pty'") != NULL ||
	     strstr(xml, "<console type='unix'") != NULL ||
	     strstr(xml, "<serial type='pty'") != NULL ||
	     strstr(xml, "<serial type='unix'") != NULL;
	free(xml);
	if (!ok)
		return bmc_error_set(e, BMC_ERR_UNSUPPORTED, NULL,
				     "libvirt at %s: the domain has no console of type pty or "
				     "unix, which libvirt could hand over",
				     c->label);
	return BMC_OK;
}

static enum bmc_status open_stream(struct lv_console *c, struct bmc_error *e)
{
	if ((c->st = virStreamNew(c->conn, VIR_STREAM_NONBLOCK)) == NULL)
		return lv_error(c->label, "new stream", e);
	if (virDomainOpenConsole(c->dom, NULL, c->st, VIR_DOMAIN_CONSOLE_SAFE) < 0) {
		enum bmc_status st = lv_error(c->label, "open console", e);
		if (virGetLastErrorCode() == VIR_ERR_OPERATION_FAILED && st == BMC_ERR_FAILED)
			e->status = BMC_ERR_BUSY; /* "Active console session exists" */
		return e->status;
	}
	return BMC_OK;
}

void lv_console_close(void *cs)
{
	struct lv_console *c = cs;

	if (c == NULL)
		return;
	if (c->st != NULL) {
		virStreamAbort(c->st);
		virStreamFree(c->st);
	}
	if (c->dom != NULL)
		virDomainFree(c->dom);
	if (c->conn != NULL)
		virConnectClose(c->conn);
	free(c);
}

enum bmc_status lv_console_open(void *priv, const struct bmc_target *t, const json_t *opts,
				int timeout_ms, void **cs, struct bmc_error *e)
{
	struct lv_console *c = calloc(1, sizeof(*c));
	enum bmc_status st = BMC_OK;

	(void)timeout_ms; /* libvirt's calls take no timeout: a libvirtd that does not
			   * answer holds this capture's thread, and only it */
	if (c == NULL)
		return bmc_error_set(e, BMC_ERR_FAILED, NULL, "out of memory");
	if (lv_event_loop_start() != 0)
		st = bmc_error_set(e, BMC_ERR_FAILED, NULL, "cannot start libvirt's event loop");
	if (st == BMC_OK && (c->conn = lv_connect(priv, t->address, e)) == NULL)
		st = e->status;
	if (st == BMC_OK &&
	    (c->dom = lv_domain(c->conn, t, opts, c->label, sizeof(c->label), e)) == NULL)
		st = e->status;
	if (st == BMC_OK)
		st = check_console(c, e);
	if (st == BMC_OK)
		st = open_stream(c, e);
	if (st != BMC_OK) {
		lv_console_close(c);
		return st;
	}
	*cs = c;
	return BMC_OK;
}

/* One non-blocking receive: 1 with bytes, 0 when none are pending, -1 when the
 * console ended (e filled). */
static int receive(struct lv_console *c, char *buf, size_t len, size_t *got, struct bmc_error *e)
{
	int n = virStreamRecv(c->st, buf, len);

	if (n > 0) {
		*got = (size_t)n;
		return 1;
	}
	if (n == -2)
		return 0;
	if (n == 0)
		bmc_error_set(e, BMC_ERR_FAILED, NULL,
			      "libvirt at %s: the console ended (domain stopped?)", c->label);
	else
		lv_error(c->label, "read the console", e);
	return -1;
}

enum bmc_status lv_console_read(void *cs, char *buf, size_t len, int wait_ms, size_t *got,
				struct bmc_error *e)
{
	struct lv_console *c = cs;
	int64_t until = util_now_ms() + wait_ms;

	*got = 0;
	for (;;) {
		int r = receive(c, buf, len, got, e);
		int64_t now = util_now_ms();
		if (r != 0)
			return r > 0 ? BMC_OK : e->status;
		if (now >= until)
			return BMC_OK;
		util_sleep_ms(until - now < LV_POLL_MS ? until - now : LV_POLL_MS);
	}
}
