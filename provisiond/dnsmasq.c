/* dnsmasq.c - provisiond-supervised dnsmasq ([dnsmasq] mode full|proxy):
 * writes its configuration and TFTP root under [dnsmasq] dir, keeps one
 * dhcp-hostsdir file per known MAC, and restarts dnsmasq if it dies. */
#include "provisiond/dnsmasq.h"

#include "pxe/pxe.h"
#include "provisiond/app.h"
#include "provisiond/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct boot_dnsmasq {
	struct pxe_dnsmasq *d;
	pthread_t thread;
	char hosts[600];
};

static void path_in(char *out, size_t len, const struct config *c, const char *name)
{
	snprintf(out, len, "%.500s/%s", c->dnsmasq_dir, name);
}

static enum err_status write_conf(const struct config *c, const char *conf, struct err *e)
{
	enum err_status rc;
	char tftp[600], hosts[600], pid[600], leases[600], log[600];
	path_in(tftp, sizeof tftp, c, "tftp");
	path_in(hosts, sizeof hosts, c, "hosts");
	path_in(pid, sizeof pid, c, "dnsmasq.pid");
	path_in(leases, sizeof leases, c, "dnsmasq.leases");
	path_in(log, sizeof log, c, "dnsmasq.log");
	mkdir(hosts, 0755);
	if ((rc = pxe_tftp_prepare(tftp, NULL, e)) != ERR_OK)
		return rc;
	struct pxe_dnsmasq_params p = {.interface = c->dnsmasq_interface,
				       .boot_url = c->boot_url,
				       .range_start = c->dnsmasq_range_start,
				       .range_end = c->dnsmasq_range_end,
				       .netmask = c->dnsmasq_netmask,
				       .network = c->dnsmasq_network,
				       .lease_time =
					   c->dnsmasq_lease_time[0] ? c->dnsmasq_lease_time : NULL,
				       .tftp_root = tftp,
				       .hosts_dir = hosts,
				       .pid_file = pid,
				       .lease_file = leases,
				       .log_file = log,
				       .ipv6_ra = c->dnsmasq_ipv6_ra != 0,
				       .run_as_root = true};
	pxe_dhcp_mode_from_name(c->dnsmasq_mode, &p.mode);
	char *text = NULL;
	if ((rc = pxe_dnsmasq_conf(&p, &text, e)) != ERR_OK)
		return rc;
	FILE *f = fopen(conf, "w");
	bool ok = f && fputs(text, f) >= 0;
	if (f && fclose(f) != 0)
		ok = false;
	free(text);
	if (!ok)
		return err_set(e, ERR_IO, NULL, "cannot write %s: %s", conf, strerror(errno));
	return pxe_dnsmasq_test(conf, e);
}

static void *run_thread(void *arg)
{
	struct boot_dnsmasq *b = arg;
	pxe_dnsmasq_run(b->d);
	return NULL;
}

enum err_status boot_dnsmasq_write(const struct config *c, struct err *e)
{
	char conf[600];
	mkdir(c->dnsmasq_dir, 0755);
	path_in(conf, sizeof conf, c, "dnsmasq.conf");
	enum err_status rc = write_conf(c, conf, e);
	if (rc != ERR_OK)
		return rc;
	printf("%s\n", conf);
	return ERR_OK;
}

/* A dnsmasq on our configuration that a killed provisiond left running
 * would hold the ports the one we start needs (PR_SET_PDEATHSIG does not
 * survive dnsmasq's change of group). */
static void stop_strays(const char *conf)
{
	struct err e = {0};
	pid_t pids[8];
	int n = 0;
	char pid[16];
	if (pxe_dnsmasq_stop_strays(conf, 0, pids, 8, &n, &e) != ERR_OK) {
		log_event(LOG_WARN, "cannot look for a dnsmasq left running", "error", e.message,
			  NULL);
		return;
	}
	for (int i = 0; i < n && i < 8; i++) {
		snprintf(pid, sizeof pid, "%d", (int)pids[i]);
		log_event(LOG_WARN, "stopped a dnsmasq left running", "pid", pid, "conf", conf,
			  NULL);
	}
}

enum err_status boot_dnsmasq_start(const struct config *c, struct boot_dnsmasq **out, struct err *e)
{
	*out = NULL;
	if (strcmp(c->dnsmasq_mode, "off") == 0)
		return ERR_OK;
	char conf[600], output[600];
	mkdir(c->dnsmasq_dir, 0755);
	path_in(conf, sizeof conf, c, "dnsmasq.conf");
	path_in(output, sizeof output, c, "dnsmasq.out");
	enum err_status rc = write_conf(c, conf, e);
	if (rc != ERR_OK)
		return rc;
	stop_strays(conf);
	struct boot_dnsmasq *b = calloc(1, sizeof *b);
	struct pxe_dnsmasq_opts o = {.conf_path = conf,
				     .output_path = output,
				     .netns = c->dnsmasq_netns[0] ? c->dnsmasq_netns : NULL};
	if (!b)
		return err_set(e, ERR_INTERNAL, NULL, "out of memory");
	rc = pxe_dnsmasq_new(&o, &b->d, e);
	if (rc == ERR_OK && pthread_create(&b->thread, NULL, run_thread, b) != 0)
		rc = err_set(e, ERR_INTERNAL, NULL, "cannot start the dnsmasq thread");
	if (rc != ERR_OK) {
		pxe_dnsmasq_free(b->d);
		free(b);
		return rc;
	}
	path_in(b->hosts, sizeof b->hosts, c, "hosts");
	log_event(LOG_INFO, "dnsmasq supervised", "mode", c->dnsmasq_mode, "interface",
		  c->dnsmasq_interface, "netns", c->dnsmasq_netns, NULL);
	*out = b;
	return ERR_OK;
}

void boot_dnsmasq_stop(struct boot_dnsmasq *b)
{
	if (!b)
		return;
	pxe_dnsmasq_shutdown(b->d);
	pthread_join(b->thread, NULL);
	pxe_dnsmasq_free(b->d);
	free(b);
}

/* A machine name dnsmasq can hand out as a host name (a DNS label). */
static bool dns_label(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	return true;
}

void boot_dnsmasq_add_host(struct boot_dnsmasq *b, const char *mac, const char *name)
{
	struct err e = {0};
	if (b && pxe_hosts_write(b->hosts, mac, name && dns_label(name) ? name : NULL, NULL, &e) !=
		     ERR_OK)
		log_event(LOG_WARN, "cannot write dhcp host file", "mac", mac, "machine", name,
			  "error", e.message, NULL);
}

void boot_dnsmasq_sync(struct boot_dnsmasq *b, struct inv *inv)
{
	struct inv_machine_filter f = {.state = -1, .limit = 1000};
	struct inv_machine_list l = {0};
	struct inv_err e = {0};
	if (!b)
		return;
	do {
		if (inv_machine_list(inv, &f, &l, &e) != INV_OK)
			break;
		for (size_t i = 0; i < l.n; i++)
			for (int k = 0; k < l.items[i].nmacs; k++)
				boot_dnsmasq_add_host(b, l.items[i].macs[k], l.items[i].name);
		f.after_seq = l.next_seq;
		inv_machine_list_clear(&l);
	} while (f.after_seq);
}

void boot_dnsmasq_metrics(struct boot_dnsmasq *b, void (*emit)(void *ctx, const char *line),
			  void *ctx)
{
	struct pxe_dnsmasq_info info;
	char line[160];
	if (!b)
		return;
	pxe_dnsmasq_info(b->d, &info);
	emit(ctx, "# HELP provisiond_dnsmasq_up Whether the supervised dnsmasq is running.");
	emit(ctx, "# TYPE provisiond_dnsmasq_up gauge");
	snprintf(line, sizeof line, "provisiond_dnsmasq_up %d", info.pid > 0);
	emit(ctx, line);
	emit(ctx, "# HELP provisiond_dnsmasq_starts_total Times the supervisor started dnsmasq.");
	emit(ctx, "# TYPE provisiond_dnsmasq_starts_total counter");
	snprintf(line, sizeof line, "provisiond_dnsmasq_starts_total %u", info.starts);
	emit(ctx, line);
}
