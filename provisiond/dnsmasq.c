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

static int write_conf(const struct config *c, const char *conf, char *err, size_t errlen)
{
	char tftp[600], hosts[600], pid[600], leases[600], log[600];
	path_in(tftp, sizeof tftp, c, "tftp");
	path_in(hosts, sizeof hosts, c, "hosts");
	path_in(pid, sizeof pid, c, "dnsmasq.pid");
	path_in(leases, sizeof leases, c, "dnsmasq.leases");
	path_in(log, sizeof log, c, "dnsmasq.log");
	mkdir(hosts, 0755);
	if (pxe_tftp_prepare(tftp, NULL, err, errlen) != 0)
		return -1;
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
	char *text = pxe_dnsmasq_conf(&p, err, errlen);
	if (!text)
		return -1;
	FILE *f = fopen(conf, "w");
	int rc = f && fputs(text, f) >= 0 ? 0 : -1;
	if (f && fclose(f) != 0)
		rc = -1;
	free(text);
	if (rc != 0) {
		snprintf(err, errlen, "cannot write %s: %s", conf, strerror(errno));
		return -1;
	}
	return pxe_dnsmasq_test(conf, err, errlen) == 0 ? 0 : -1;
}

static void *run_thread(void *arg)
{
	struct boot_dnsmasq *b = arg;
	pxe_dnsmasq_run(b->d);
	return NULL;
}

int boot_dnsmasq_write(const struct config *c, char *err, size_t errlen)
{
	char conf[600];
	mkdir(c->dnsmasq_dir, 0755);
	path_in(conf, sizeof conf, c, "dnsmasq.conf");
	if (write_conf(c, conf, err, errlen) != 0)
		return -1;
	printf("%s\n", conf);
	return 0;
}

struct boot_dnsmasq *boot_dnsmasq_start(const struct config *c, char *err, size_t errlen)
{
	if (strcmp(c->dnsmasq_mode, "off") == 0)
		return NULL;
	char conf[600], out[600];
	mkdir(c->dnsmasq_dir, 0755);
	path_in(conf, sizeof conf, c, "dnsmasq.conf");
	path_in(out, sizeof out, c, "dnsmasq.out");
	if (write_conf(c, conf, err, errlen) != 0)
		return NULL;
	struct boot_dnsmasq *b = calloc(1, sizeof *b);
	struct pxe_dnsmasq_opts o = {.conf_path = conf,
				     .output_path = out,
				     .netns = c->dnsmasq_netns[0] ? c->dnsmasq_netns : NULL};
	if (!b || !(b->d = pxe_dnsmasq_new(&o, err, errlen)) ||
	    pthread_create(&b->thread, NULL, run_thread, b) != 0) {
		if (b)
			pxe_dnsmasq_free(b->d);
		free(b);
		return NULL;
	}
	path_in(b->hosts, sizeof b->hosts, c, "hosts");
	log_event(LOG_INFO, "dnsmasq supervised", "mode", c->dnsmasq_mode, "interface",
		  c->dnsmasq_interface, "netns", c->dnsmasq_netns, NULL);
	return b;
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
	char err[256];
	if (b && pxe_hosts_write(b->hosts, mac, name && dns_label(name) ? name : NULL, NULL, err,
				 sizeof err) != 0)
		log_event(LOG_WARN, "cannot write dhcp host file", "mac", mac, "machine", name,
			  "error", err, NULL);
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
	snprintf(line, sizeof line, "provisiond_dnsmasq_up %d", info.pid > 0);
	emit(ctx, line);
	snprintf(line, sizeof line, "provisiond_dnsmasq_starts_total %u", info.starts);
	emit(ctx, line);
}
