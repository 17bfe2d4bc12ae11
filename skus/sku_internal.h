/* Private to skus/: the SKU and catalog structures, the parsed facts, and the
 * helpers the module's files share. Not installed, not included elsewhere. */
#ifndef PROVISIOND_SKUS_SKU_INTERNAL_H
#define PROVISIOND_SKUS_SKU_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "skus/sku.h"
#include "util/util.h"

#define SKU_NAME_MAX 63
#define SKU_MAX_DISKS 1024
#define SKU_MAX_NICS 256

enum sku_boot_mode { SKU_BOOT_BIOS, SKU_BOOT_UEFI, SKU_BOOT__COUNT };
enum sku_disk_kind { SKU_DISK_ANY, SKU_DISK_SSD, SKU_DISK_HDD, SKU_DISK_NVME, SKU_DISK__COUNT };

/* Enum <-> string tables (enums.c). _from_string returns -1 when unknown. */
const char *sku_boot_mode_str(enum sku_boot_mode m);
int sku_boot_mode_from_string(const char *s);
const char *sku_disk_kind_str(enum sku_disk_kind k);
int sku_disk_kind_from_string(const char *s);
bool sku_arch_known(const char *s);
/* Comma-separated list of the known architectures, for messages. */
const char *sku_arch_list(void);

/* Closed interval of integers. */
struct sku_range {
	long long lo;
	long long hi;
};

struct sku {
	char *name;
	char *description;
	char *file;
	int header_line; /* line of [sku], for catalog-level errors */
	int name_line;	 /* line of name =, for duplicate names */
	char arch[16];
	enum sku_boot_mode boot_mode;
	struct sku_range cores;
	long long memory_mib;
	int memory_tolerance_pct;
	struct sku_range memory; /* derived: accepted MiB, inclusive */
	struct sku_range disk_count;
	enum sku_disk_kind disk_kind;
	unsigned long long disk_min_bytes;
	bool disk_min_decimal; /* min_size was written in KB/MB/GB/TB */
	struct sku_range nic_count;
	long long nic_min_mbps;
	bool fast_track;	     /* available machines stay powered on in the agent */
	int max_concurrent_deploys;  /* of this SKU at once; 0: only the global cap */
	int warm_pool;		     /* available machines kept on in the agent */
	char deploy[16];	     /* deploy interface: "pxe" (default) or "vmedia" */
	char boot_override_mode[16]; /* "UEFI", "Legacy" or "" (leave the BMC's alone) */
};

struct sku_catalog {
	struct sku **skus;
	size_t count;
};

/* The keys a SKU file may hold (keys.c), in the order required keys are
 * reported missing. */
struct sku_key {
	const char *section;
	const char *name;
	bool required;
	int (*set)(struct sku *s, const char *value, char *msg, size_t msglen);
};
extern const struct sku_key sku_keys[];
extern const size_t sku_nkeys;
/* Known sections, and "sku, cpu, ..." for messages. */
int sku_section_index(const char *section);
extern const char *const sku_sections[];
extern const size_t sku_nsections;

/* Loads one SKU file (load.c). ERR_OK, or an error as sku_catalog_load_dir
 * describes it. */
enum err_status sku_load_file(const char *path, struct sku **out, struct err *e);
void sku_free(struct sku *s);
/* Derived fields (memory range) from the parsed ones. */
void sku_finish(struct sku *s);

/* Catalog-wide checks (overlap.c): ERR_INVALID with e naming b's file and
 * line when a and b can match one machine (b is the later file). */
enum err_status sku_check_overlap(const struct sku *a, const struct sku *b, struct err *e);

/* Value parsers (values.c). Each returns 0 or -1 with a message (no file:line)
 * in msg. */
int sku_parse_int(const char *v, long long min, long long max, long long *out, char *msg,
		  size_t msglen);
int sku_parse_range(const char *v, long long min, long long max, struct sku_range *out, char *msg,
		    size_t msglen);
int sku_parse_size(const char *v, unsigned long long *out, bool *decimal, char *msg, size_t msglen);
bool sku_name_valid(const char *v);

/* Parsed hardware facts (facts.c). */
struct sku_fact_disk {
	char name[64];
	unsigned long long size_bytes;
	enum sku_disk_kind kind; /* never SKU_DISK_ANY */
};

struct sku_fact_nic {
	char name[64];
	long long speed_mbps; /* -1 = unknown */
};

struct sku_facts {
	char arch[32];
	enum sku_boot_mode boot_mode;
	long long cores;
	long long memory_mib;
	size_t ndisks;
	struct sku_fact_disk *disks;
	size_t nnics;
	struct sku_fact_nic *nics;
};

/* Parses and validates facts JSON. 0 ok; -1 with a malloc'd "field: message"
 * in *msg (NULL on allocation failure). */
int sku_facts_parse(const char *json, struct sku_facts *f, char **msg);
void sku_facts_release(struct sku_facts *f);

/* Appends the constraints of s that the facts fail, "; "-separated (match.c).
 * Returns the number of failed constraints. */
int sku_explain(const struct sku *s, const struct sku_facts *f, struct util_buf *out);

/* Human sizes (sizes.c): "2 GiB", "1.5 TiB" or, decimal, "960 GB". */
void sku_format_bytes(unsigned long long bytes, bool decimal, char *buf, size_t len);

#endif
