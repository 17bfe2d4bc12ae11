/* dnsmasq configuration for the boot plane (docs/boot.md). */
#include "pxe/internal.h"
#include "pxe/pxe.h"

#include <string.h>

/* dhcp-boot's file field in a DHCP packet is 128 bytes with its NUL. */
#define DHCP_FILE_MAX 127
#define IPXE_SCRIPT_PATH "/boot.ipxe?mac=${net0/mac}"

static const char *const mode_names[] = {
    [PXE_DHCP_FULL] = "full",
    [PXE_DHCP_PROXY] = "proxy",
    [PXE_DHCP_OFF] = "off",
};
_Static_assert(sizeof(mode_names) / sizeof(mode_names[0]) == PXE_DHCP_MODE_COUNT,
	       "mode_names must cover enum pxe_dhcp_mode");

const char *pxe_dhcp_mode_name(enum pxe_dhcp_mode mode)
{
	if ((unsigned)mode >= PXE_DHCP_MODE_COUNT)
		return NULL;
	return mode_names[mode];
}

enum err_status pxe_dhcp_mode_from_name(const char *name, enum pxe_dhcp_mode *out)
{
	for (int i = 0; name && i < PXE_DHCP_MODE_COUNT; i++) {
		if (!strcmp(name, mode_names[i])) {
			*out = (enum pxe_dhcp_mode)i;
			return ERR_OK;
		}
	}
	return ERR_INVALID;
}

static bool has(const char *v)
{
	return v && *v;
}

static enum err_status check_netmask(const char *field, const char *v, uint32_t *mask,
				     struct err *e)
{
	enum err_status rc = pxe_check_ipv4(field, v, mask, e);

	if (rc)
		return rc;
	/* Contiguous: the inverted mask plus one is a power of two. */
	if (*mask == 0 || ((~*mask + 1) & ~*mask) != 0)
		return pxe_fail(e, ERR_INVALID, field, "%s: not a contiguous netmask", field);
	return ERR_OK;
}

/* "infinite" or a number with an optional unit, as dnsmasq takes it. */
static enum err_status check_lease(const char *v, struct err *e)
{
	const char *field = "lease_time (dhcp-range)";
	size_t digits = strspn(v, "0123456789");

	if (!strcmp(v, "infinite"))
		return ERR_OK;
	if (digits == 0 || digits > 9 ||
	    (v[digits] && (v[digits + 1] || !strchr("smhdw", v[digits]))))
		return pxe_fail(e, ERR_INVALID, field, "%s: want \"infinite\" or N[smhdw], e.g. 1h",
				field);
	return ERR_OK;
}

static enum err_status check_full(const struct pxe_dnsmasq_params *p, struct err *e)
{
	uint32_t lo, hi, mask;
	enum err_status rc;

	if ((rc = pxe_check_ipv4("range_start (dhcp-range)", p->range_start, &lo, e)) ||
	    (rc = pxe_check_ipv4("range_end (dhcp-range)", p->range_end, &hi, e)) ||
	    (rc = check_netmask("netmask (dhcp-range)", p->netmask, &mask, e)))
		return rc;
	if (lo > hi)
		return pxe_fail(e, ERR_INVALID, "range_end",
				"range_end (dhcp-range): below range_start");
	if ((lo & mask) != (hi & mask))
		return pxe_fail(e, ERR_INVALID, "range_end",
				"range_end (dhcp-range): not in range_start's subnet");
	if (has(p->lease_time) && (rc = check_lease(p->lease_time, e)))
		return rc;
	if (has(p->router))
		return pxe_check_ipv4("router (dhcp-option router)", p->router, NULL, e);
	return ERR_OK;
}

static enum err_status check_proxy(const struct pxe_dnsmasq_params *p, struct err *e)
{
	uint32_t net, mask;
	enum err_status rc = pxe_check_ipv4("network (dhcp-range proxy)", p->network, &net, e);

	if (rc || !has(p->netmask))
		return rc;
	if ((rc = check_netmask("netmask (dhcp-range proxy)", p->netmask, &mask, e)))
		return rc;
	if (net & ~mask)
		return pxe_fail(e, ERR_INVALID, "network",
				"network (dhcp-range proxy): host bits set for the netmask");
	return ERR_OK;
}

static enum err_status check_boot_url(const char *url, struct err *e)
{
	const char *field = "boot_url (dhcp-boot)";
	enum err_status rc = pxe_check_url(field, url, e);

	if (rc)
		return rc;
	if (pxe_url_base_len(url) + strlen(IPXE_SCRIPT_PATH) > DHCP_FILE_MAX)
		return pxe_fail(e, ERR_INVALID, field,
				"%s: too long for the DHCP file field (%d bytes with %s)", field,
				DHCP_FILE_MAX, IPXE_SCRIPT_PATH);
	return ERR_OK;
}

static enum err_status check_paths(const struct pxe_dnsmasq_params *p, struct err *e)
{
	/* Which row may be "-" is a flag of the row: comparing the value's
	 * pointer with p->log_file mistook a missing tftp_root for the log
	 * file (strcmp on NULL) and let any path equal to log_file's be "-". */
	const struct {
		const char *field, *value;
		bool required, dash_ok;
	} paths[] = {
	    {"tftp_root (tftp-root)", p->tftp_root, p->mode != PXE_DHCP_OFF, false},
	    {"hosts_dir (dhcp-hostsdir)", p->hosts_dir, false, false},
	    {"pid_file (pid-file)", p->pid_file, false, false},
	    {"lease_file (dhcp-leasefile)", p->lease_file, false, false},
	    {"log_file (log-facility)", p->log_file, false, true},
	};
	enum err_status rc;

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		if (!paths[i].required && !has(paths[i].value))
			continue;
		if (paths[i].dash_ok && !strcmp(paths[i].value, "-"))
			continue;
		if ((rc = pxe_check_path(paths[i].field, paths[i].value, e)))
			return rc;
	}
	return ERR_OK;
}

static enum err_status check_params(const struct pxe_dnsmasq_params *p, struct err *e)
{
	enum err_status rc;

	if (!p)
		return pxe_fail(e, ERR_INVALID, "params", "params: required");
	if ((unsigned)p->mode >= PXE_DHCP_MODE_COUNT)
		return pxe_fail(e, ERR_INVALID, "mode", "mode: unknown DHCP mode");
	if ((rc = pxe_check_ifname("interface (interface)", p->interface, e)))
		return rc;
	if (p->mode != PXE_DHCP_OFF && (rc = check_boot_url(p->boot_url, e)))
		return rc;
	if (p->mode == PXE_DHCP_FULL && (rc = check_full(p, e)))
		return rc;
	if (p->mode == PXE_DHCP_PROXY && (rc = check_proxy(p, e)))
		return rc;
	return check_paths(p, e);
}

static void emit_opt(struct util_buf *b, const char *name, const char *value)
{
	if (has(value))
		util_buf_printf(b, "%s=%s\n", name, value);
}

static void emit_process(struct util_buf *b, const struct pxe_dnsmasq_params *p)
{
	util_buf_printf(b,
			"# Generated by provisiond: boot plane, DHCP mode %s.\n"
			"# Rewritten from provisiond's settings; edits here are lost.\n",
			mode_names[p->mode]);
	util_buf_printf(b, "interface=%s\nbind-interfaces\n", p->interface);
	if (strcmp(p->interface, "lo"))
		util_buf_printf(b, "except-interface=lo\n");
	util_buf_printf(b,
			"# No DNS: the boot plane hands out addresses and files only.\nport=0\n");
	if (p->run_as_root)
		util_buf_printf(b, "# Keep privileges so leases and logs can live in root's dirs;\n"
				   "# the same group, so the parent-death signal survives.\n"
				   "user=root\ngroup=root\n");
	emit_opt(b, "pid-file", p->pid_file);
	emit_opt(b, "log-facility", p->log_file);
	if (p->log_dhcp)
		util_buf_printf(b, "log-dhcp\n");
}

static void emit_dhcp(struct util_buf *b, const struct pxe_dnsmasq_params *p)
{
	if (p->mode == PXE_DHCP_FULL) {
		util_buf_printf(b, "dhcp-authoritative\ndhcp-range=%s,%s,%s,%s\n", p->range_start,
				p->range_end, p->netmask,
				has(p->lease_time) ? p->lease_time : "1h");
		if (has(p->router))
			util_buf_printf(b, "dhcp-option=option:router,%s\n", p->router);
		else
			util_buf_printf(b,
					"# No router option: no default route off this network.\n"
					"dhcp-option=option:router\n");
	} else {
		util_buf_printf(b,
				"# Proxy DHCP: another server hands out addresses.\n"
				"dhcp-range=%s,proxy%s%s\n",
				p->network, has(p->netmask) ? "," : "",
				has(p->netmask) ? p->netmask : "");
	}
	emit_opt(b, "dhcp-leasefile", p->lease_file);
	emit_opt(b, "dhcp-hostsdir", p->hosts_dir);
	if (p->only_known)
		util_buf_printf(b, "# Answer only the MACs listed in dhcp-hostsdir.\n"
				   "dhcp-ignore=tag:!known\n");
}

/* Plain PXE ROMs chainload iPXE over TFTP; iPXE (user class "iPXE") goes to
 * provisiond for its script. In proxy mode dnsmasq needs pxe-service entries
 * (one per client arch, so UEFI gets its file directly) and still sends
 * dhcp-boot's file to iPXE, which matches no pxe-service. */
static void emit_boot(struct util_buf *b, const struct pxe_dnsmasq_params *p)
{
	int base = (int)pxe_url_base_len(p->boot_url);

	util_buf_printf(b,
			"dhcp-userclass=set:ipxe,iPXE\n"
			"dhcp-boot=tag:ipxe,%.*s%s\n",
			base, p->boot_url, IPXE_SCRIPT_PATH);
	if (p->mode == PXE_DHCP_FULL) {
		util_buf_printf(b, "dhcp-match=set:efi64,option:client-arch,7\n"
				   "dhcp-match=set:efi64,option:client-arch,9\n"
				   "dhcp-boot=tag:!ipxe,tag:efi64,ipxe.efi\n"
				   "dhcp-boot=tag:!ipxe,tag:!efi64,undionly.kpxe\n");
		return;
	}
	util_buf_printf(b,
			"pxe-service=tag:!ipxe,x86PC,\"provisiond iPXE (BIOS)\",undionly.kpxe\n"
			"pxe-service=tag:!ipxe,BC_EFI,\"provisiond iPXE (UEFI)\",ipxe.efi\n"
			"pxe-service=tag:!ipxe,x86-64_EFI,\"provisiond iPXE (UEFI)\",ipxe.efi\n");
}

enum err_status pxe_dnsmasq_conf(const struct pxe_dnsmasq_params *p, char **out, struct err *e)
{
	struct util_buf b = {0};
	enum err_status rc = check_params(p, e);

	*out = NULL;
	if (rc)
		return rc;
	emit_process(&b, p);
	if (p->mode != PXE_DHCP_OFF) {
		emit_dhcp(&b, p);
		emit_boot(&b, p);
	}
	if (has(p->tftp_root))
		util_buf_printf(&b, "enable-tftp\ntftp-root=%s\n", p->tftp_root);
	if (p->ipv6_ra)
		util_buf_printf(&b,
				"# Router advertisements: iPXE otherwise waits ~14 s for IPv6.\n"
				"enable-ra\ndhcp-range=::,constructor:%s,ra-only\n",
				p->interface);
	*out = util_buf_take(&b, NULL);
	if (!*out)
		return pxe_fail(e, ERR_INTERNAL, NULL,
				"out of memory rendering the dnsmasq config");
	return ERR_OK;
}
