/* notify.c - sd_notify(3) from libsystemd, or nothing (see notify.h).
 * A failed report is not an error of the daemon (systemd times the start
 * out on its own): it is logged, and the daemon goes on. */
#include "provisiond/notify.h"
#include "provisiond/log.h"

#include <stdio.h>
#include <string.h>

#ifdef HAVE_SYSTEMD
#include <systemd/sd-daemon.h>

static void send_state(const char *state)
{
	int rc = sd_notify(0, state);
	if (rc < 0)
		log_event(LOG_WARN, "cannot report to the service manager", "state", state, "error",
			  strerror(-rc), NULL);
}
#else
static void send_state(const char *state)
{
	(void)state;
}
#endif

void svc_notify_ready(const char *listen)
{
	char msg[300];
	snprintf(msg, sizeof msg, "READY=1\nSTATUS=serving the API on %.250s", listen);
	send_state(msg);
}

void svc_notify_reloading(void)
{
	send_state("RELOADING=1\nSTATUS=reloading the SKU catalog");
}

void svc_notify_stopping(void)
{
	send_state("STOPPING=1\nSTATUS=draining");
}
