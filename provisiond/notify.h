/* notify.h - readiness and state reports to the service manager.
 *
 * Under systemd with Type=notify, NOTIFY_SOCKET names the socket these go
 * to; without it (a terminal, a test, another supervisor) every call does
 * nothing and succeeds. A build without libsystemd (WITH_SYSTEMD=OFF) has
 * the same calls, doing nothing. Thread-safe; no allocation the caller owns.
 */
#ifndef PROVISIOND_NOTIFY_H
#define PROVISIOND_NOTIFY_H

/* Sends "READY=1" with a STATUS= line naming the API address. */
void svc_notify_ready(const char *listen);
/* Sends "RELOADING=1" (the SKU catalog is being reloaded); READY=1 follows
 * through svc_notify_ready() when it is done, whether it worked or not. */
void svc_notify_reloading(void);
/* Sends "STOPPING=1": the drain has begun. */
void svc_notify_stopping(void);

#endif
