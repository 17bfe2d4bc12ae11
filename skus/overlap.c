/* Two SKUs overlap when one machine could match both: equal arch and boot
 * mode, and an intersection in every range. Minimum sizes and speeds never
 * separate SKUs (a big disk or a fast NIC satisfies both minimums), disk
 * kinds separate only when both are specific and at least one disk is
 * required. The error names both SKUs and describes such a machine. */
#include <stdio.h>
#include <string.h>

#include "skus/sku_internal.h"

static bool intersect(struct sku_range a, struct sku_range b, struct sku_range *out)
{
	out->lo = a.lo > b.lo ? a.lo : b.lo;
	out->hi = a.hi < b.hi ? a.hi : b.hi;
	return out->lo <= out->hi;
}

static void format_range(struct sku_range r, char *buf, size_t len)
{
	if (r.lo == r.hi)
		snprintf(buf, len, "%lld", r.lo);
	else
		snprintf(buf, len, "%lld-%lld", r.lo, r.hi);
}

static bool disks_overlap(const struct sku *a, const struct sku *b, char *buf, size_t len)
{
	struct sku_range n;
	if (!intersect(a->disk_count, b->disk_count, &n))
		return false;
	char count[48];
	format_range(n, count, sizeof(count));
	if (n.lo == 0) {
		snprintf(buf, len, "no disks");
		return true;
	}
	enum sku_disk_kind ka = a->disk_kind, kb = b->disk_kind;
	if (ka != SKU_DISK_ANY && kb != SKU_DISK_ANY && ka != kb)
		return false;
	const struct sku *big = a->disk_min_bytes >= b->disk_min_bytes ? a : b;
	char size[32];
	sku_format_bytes(big->disk_min_bytes, big->disk_min_decimal, size, sizeof(size));
	snprintf(buf, len, "%s %s (kind %s, at least %s each)", count, n.hi == 1 ? "disk" : "disks",
		 sku_disk_kind_str(ka != SKU_DISK_ANY ? ka : kb), size);
	return true;
}

static void nics_overlap(struct sku_range n, long long mbps, char *buf, size_t len)
{
	char count[48];
	format_range(n, count, sizeof(count));
	if (n.lo == 0)
		snprintf(buf, len, "no NICs");
	else
		snprintf(buf, len, "%s %s (at least %lld Mb/s each)", count,
			 n.hi == 1 ? "NIC" : "NICs", mbps);
}

enum err_status sku_check_overlap(const struct sku *a, const struct sku *b, struct err *e)
{
	struct sku_range cores, mem, nics;
	char disks[160], nic_text[96], cores_text[48];
	if (strcmp(a->arch, b->arch) != 0 || a->boot_mode != b->boot_mode ||
	    !intersect(a->cores, b->cores, &cores) || !intersect(a->memory, b->memory, &mem) ||
	    !intersect(a->nic_count, b->nic_count, &nics) ||
	    !disks_overlap(a, b, disks, sizeof(disks)))
		return ERR_OK;
	long long mbps = a->nic_min_mbps > b->nic_min_mbps ? a->nic_min_mbps : b->nic_min_mbps;
	nics_overlap(nics, mbps, nic_text, sizeof(nic_text));
	format_range(cores, cores_text, sizeof(cores_text));
	return err_set(
	    e, ERR_INVALID, NULL,
	    "%s:%d: SKU \"%s\" overlaps SKU \"%s\" (%s:%d): a machine with arch %s, boot mode "
	    "%s, %s %s, %lld-%lld MiB memory, %s and %s would match both; make them "
	    "differ in at least one of these",
	    b->file, b->header_line, b->name, a->name, a->file, a->header_line, a->arch,
	    sku_boot_mode_str(a->boot_mode), cores_text, cores.hi == 1 ? "core" : "cores", mem.lo,
	    mem.hi, disks, nic_text);
}
