/* configdrive.c — the OpenStack config drive write_image adds after the
 * image when the metadata asks for one (AGENT_META_CONFIG_DRIVE): a FAT
 * filesystem labelled config-2 holding openstack/latest/meta_data.json,
 * network_data.json and user_data, in a partition of its own just before
 * the metadata MiB at the disk's end. The image's last partition, when it
 * is a Linux one (type 83), is grown up to the drive so that the root
 * filesystem can fill the disk (cloud-init's resizefs grows the
 * filesystem at first boot).
 *
 * The filesystem is made in a file under the ramdisk's /tmp with mkfs.fat
 * and filled with mtools, then copied to the disk with pwrite; sfdisk edits
 * the partition table in place (keeping the boot code), MBR or GPT (whose
 * backup header it first moves from the image's end to the disk's). No
 * mounts. The tools come with the ramdisk (images/ramdisk/build.sh). */
#include "agent.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* Runs argv (searched in PATH) with stdin from `input` (NULL: /dev/null)
 * and stdout to out_fd (-1: the agent's stderr); AGENT_E_IO unless it
 * exits 0. */
static enum agent_rc run_tool(char *const argv[], const char *input, int out_fd,
			      struct agent_err *err)
{
	char in_path[] = "/tmp/provisiond-cd-in.XXXXXX";
	int in = -1;
	if (input) {
		in = mkstemp(in_path);
		if (in < 0 || write(in, input, strlen(input)) != (ssize_t)strlen(input) ||
		    lseek(in, 0, SEEK_SET) != 0) {
			if (in >= 0)
				close(in), unlink(in_path);
			return agent_fail(err, AGENT_E_IO, "%s: cannot stage its input", argv[0]);
		}
		unlink(in_path);
	}
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	if (in >= 0)
		posix_spawn_file_actions_adddup2(&fa, in, 0);
	else
		posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, out_fd >= 0 ? out_fd : 2, 1);
	pid_t pid;
	int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (in >= 0)
		close(in);
	if (rc != 0)
		return agent_fail(err, AGENT_E_IO, "cannot run %s: %s", argv[0], strerror(rc));
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return agent_fail(err, AGENT_E_IO, "%s failed (status %d)", argv[0],
				  WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	return AGENT_OK;
}

static const char *meta_text(const json_t *meta, const char *key)
{
	const char *v = json_string_value(json_object_get(meta, key));
	return v ? v : "";
}

/* The MAC of interface name (sysroot's /sys) into mac; false when unknown. */
static bool nic_mac(const char *sysroot, const char *name, char mac[18])
{
	char rel[128];
	snprintf(rel, sizeof rel, "/sys/class/net/%s/address", name);
	char *text = agent_read_text_or_empty(sysroot, rel);
	bool ok = text && strlen(text) == 17;
	if (ok)
		snprintf(mac, 18, "%s", text);
	free(text);
	return ok;
}

/* The boot NIC's MAC: the interface of the ramdisk's first DHCP lease
 * (the first line of /run/provisiond-leases, "IFACE ADDRESS", written by
 * its udhcpc script), else the first interface holding an IPv4 address
 * other than loopback. "" when there is none. */
static void boot_mac(const char *sysroot, char mac[18])
{
	mac[0] = '\0';
	char *leases = agent_read_text_or_empty(sysroot, "/run/provisiond-leases");
	char name[IF_NAMESIZE] = "";
	if (leases && sscanf(leases, "%15s", name) == 1 && nic_mac(sysroot, name, mac)) {
		free(leases);
		return;
	}
	free(leases);
	struct ifaddrs *ifs = NULL;
	if (getifaddrs(&ifs) != 0)
		return;
	for (struct ifaddrs *i = ifs; i && !mac[0]; i = i->ifa_next)
		if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET &&
		    !(i->ifa_flags & IFF_LOOPBACK))
			nic_mac(sysroot, i->ifa_name, mac);
	freeifaddrs(ifs);
}

/* openstack/latest/meta_data.json */
static json_t *meta_data_json(const json_t *meta)
{
	json_t *keys = json_object();
	json_t *list = json_object_get(meta, AGENT_META_SSH_KEYS);
	size_t i;
	json_t *k;
	json_array_foreach(list, i, k)
	{
		char name[32];
		snprintf(name, sizeof name, "key-%zu", i);
		if (json_is_string(k))
			json_object_set(keys, name, k);
	}
	return json_pack("{s:s, s:s, s:s, s:i, s:o, s:{s:s}}", "uuid",
			 meta_text(meta, AGENT_META_MACHINE_ID), "hostname",
			 meta_text(meta, AGENT_META_HOSTNAME), "name",
			 meta_text(meta, AGENT_META_HOSTNAME), "launch_index", 0, "public_keys",
			 keys, "meta", "allocation_id", meta_text(meta, AGENT_META_ALLOCATION_ID));
}

/* A netmask of prefix bits in family's text form ("255.255.255.0",
 * "ffff:ffff:ffff:ffff::"). */
static void netmask_text(int family, int prefix, char out[INET6_ADDRSTRLEN])
{
	unsigned char b[16] = {0};
	for (int i = 0; i < prefix; i++)
		b[i / 8] |= (unsigned char)(0x80 >> (i % 8));
	if (!inet_ntop(family, b, out, INET6_ADDRSTRLEN))
		out[0] = '\0';
}

/* The static network of meta's AGENT_META_NETWORK in OpenStack's form:
 * {"id","type":"ipv4"|"ipv6","link","ip_address","netmask","routes",
 * "services"}; NULL when its address is not "ADDRESS/PREFIX". */
static json_t *static_network(const json_t *net)
{
	char ip[INET6_ADDRSTRLEN + 8], mask[INET6_ADDRSTRLEN], any[INET6_ADDRSTRLEN];
	snprintf(ip, sizeof ip, "%s", meta_text(net, AGENT_NET_ADDRESS));
	char *slash = strchr(ip, '/');
	unsigned char bin[16];
	int family = strchr(ip, ':') ? AF_INET6 : AF_INET;
	if (!slash)
		return NULL;
	*slash = '\0';
	char *end = NULL;
	long prefix = strtol(slash + 1, &end, 10);
	if (inet_pton(family, ip, bin) != 1 || end == slash + 1 || *end || prefix < 1 ||
	    prefix > (family == AF_INET ? 32 : 128))
		return NULL;
	netmask_text(family, (int)prefix, mask);
	netmask_text(family, 0, any);
	bool v4 = family == AF_INET;
	json_t *dns = json_array(), *routes = json_array(), *v;
	size_t i;
	json_array_foreach(json_object_get(net, AGENT_NET_NAMESERVERS), i, v)
	    json_array_append_new(dns, json_pack("{s:s, s:O}", "type", "dns", "address", v));
	const char *gw = json_string_value(json_object_get(net, AGENT_NET_GATEWAY));
	if (gw) /* the default route */
		json_array_append_new(routes, json_pack("{s:s, s:s, s:s}", "network", any,
							"netmask", any, "gateway", gw));
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o}", "id",
			 v4 ? "boot-ipv4" : "boot-ipv6", "type", v4 ? "ipv4" : "ipv6", "link",
			 "boot", "network_id", "boot", "ip_address", ip, "netmask", mask, "routes",
			 routes, "services", dns);
}

/* openstack/latest/network_data.json: the boot NIC by MAC with DHCP, or
 * with the static network of meta (AGENT_META_NETWORK); the nameservers
 * also as global services. NULL when the static network is malformed. */
static json_t *network_data_json(const char *mac, const json_t *meta)
{
	const json_t *net = json_object_get(meta, AGENT_META_NETWORK);
	json_t *network = net ? static_network(net)
			      : json_pack("{s:s, s:s, s:s, s:s}", "id", "boot-ipv4", "type",
					  "ipv4_dhcp", "link", "boot", "network_id", "boot");
	if (!network)
		return NULL;
	json_t *services = json_deep_copy(json_object_get(network, "services"));
	return json_pack("{s:[{s:s, s:s, s:s}], s:[o], s:o}", "links", "id", "boot", "type", "phy",
			 "ethernet_mac_address", mac, "networks", network, "services",
			 services ? services : json_array());
}

/* Writes name under dir with text; false on failure. */
static bool put_file(const char *dir, const char *name, const char *text)
{
	char path[256];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	if (!f)
		return false;
	bool ok = fputs(text, f) >= 0;
	return fclose(f) == 0 && ok;
}

static bool put_json(const char *dir, const char *name, json_t *o)
{
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	bool ok = text && put_file(dir, name, text);
	free(text);
	json_decref(o);
	return ok;
}

/* The three files in dir (a private directory under /tmp). */
static enum agent_rc stage_files(const char *dir, const json_t *meta, const char *sysroot,
				 struct agent_err *err)
{
	char mac[18];
	boot_mac(sysroot, mac);
	bool is_static = json_is_object(json_object_get(meta, AGENT_META_NETWORK));
	if (is_static && !mac[0])
		return agent_fail(err, AGENT_E_USAGE,
				  "config drive: no boot NIC (no DHCP lease in the ramdisk) to put "
				  "the static address on");
	bool ok = put_json(dir, "meta_data.json", meta_data_json(meta));
	json_t *nd = mac[0] ? network_data_json(mac, meta) : NULL;
	if (is_static && !nd)
		return agent_fail(err, AGENT_E_USAGE,
				  "config drive: the static network's address is not "
				  "ADDRESS/PREFIX");
	if (ok && nd)
		ok = put_json(dir, "network_data.json", nd);
	else
		json_decref(nd);
	const char *ud = json_string_value(json_object_get(meta, AGENT_META_USER_DATA));
	if (ok && ud)
		ok = put_file(dir, "user_data", ud);
	agent_log(AGENT_LOG_INFO, "config drive: boot NIC %s, %s, user data %s",
		  mac[0] ? mac : "unknown", is_static ? "static address" : "DHCP",
		  ud ? "yes" : "no");
	return ok ? AGENT_OK : agent_fail(err, AGENT_E_IO, "config drive: cannot stage its files");
}

/* dir/fs.img: a FAT filesystem of AGENT_CONFIG_DRIVE_MIB labelled
 * config-2 holding openstack/latest/ with the staged files. */
static enum agent_rc make_fs(const char *dir, struct agent_err *err)
{
	char img[256], kib[16], f1[256], f2[256], f3[256];
	snprintf(img, sizeof img, "%s/fs.img", dir);
	snprintf(kib, sizeof kib, "%llu", (unsigned long long)(AGENT_CONFIG_DRIVE_MIB * 1024));
	char *mkfs[] = {"mkfs.vfat", "-C", "-n", "config-2", "-i", "50524f56", img, kib, NULL};
	char *mmd[] = {"mmd", "-i", img, "::/openstack", "::/openstack/latest", NULL};
	snprintf(f1, sizeof f1, "%s/meta_data.json", dir);
	snprintf(f2, sizeof f2, "%s/network_data.json", dir);
	snprintf(f3, sizeof f3, "%s/user_data", dir);
	char *mcopy[6] = {"mcopy", "-i", img, f1, NULL, NULL};
	int n = 4;
	if (access(f2, F_OK) == 0)
		mcopy[n++] = f2;
	if (access(f3, F_OK) == 0)
		mcopy[n++] = f3;
	char *mcopy_all[8] = {0};
	memcpy(mcopy_all, mcopy, sizeof(char *) * (size_t)n);
	mcopy_all[n] = "::/openstack/latest/";
	setenv("MTOOLS_SKIP_CHECK", "1", 1);
	enum agent_rc rc = run_tool(mkfs, NULL, -1, err);
	if (rc == AGENT_OK)
		rc = run_tool(mmd, NULL, -1, err);
	if (rc == AGENT_OK)
		rc = run_tool(mcopy_all, NULL, -1, err);
	return rc;
}

/* Copies dir/fs.img to the device at byte offset `at`. */
static enum agent_rc copy_fs(const char *dir, int fd, uint64_t at, struct agent_err *err)
{
	char img[256];
	snprintf(img, sizeof img, "%s/fs.img", dir);
	int in = open(img, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return agent_fail(err, AGENT_E_IO, "open %s: %s", img, strerror(errno));
	char buf[65536];
	enum agent_rc rc = AGENT_OK;
	ssize_t n;
	while (rc == AGENT_OK && (n = read(in, buf, sizeof buf)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || pwrite(fd, buf, (size_t)n, (off_t)at) != n)
			rc = agent_fail(err, AGENT_E_IO, "config drive: copy: %s", strerror(errno));
		at += (uint64_t)(n > 0 ? n : 0);
	}
	close(in);
	return rc;
}

/* The device's partition table as sfdisk --json reads it: its label and
 * its last partition (the one that starts last): number, start, type. */
struct table {
	bool gpt;	 /* else an MBR ("dos") */
	int num;	 /* the last partition's number */
	long long start; /* its first sector */
	char type[40];	 /* "83" (MBR) or a GUID (GPT) */
};

/* GPT partition types the drive needs (sfdisk prints and takes GUIDs). */
#define GPT_LINUX_FS "0FC63DAF-8483-4772-8E79-3D69D8477DE4"
#define GPT_BASIC_DATA "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7" /* FAT, as Windows' */

/* Fills t from the device's table; false when there is none (or no
 * partition in it). */
static bool read_table(const char *dir, const char *device, struct table *t)
{
	char out[256];
	snprintf(out, sizeof out, "%s/table.json", dir);
	int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return false;
	char *dump[] = {"sfdisk", "--json", (char *)device, NULL};
	enum agent_rc rc = run_tool(dump, NULL, fd, NULL);
	close(fd);
	json_t *j = rc == AGENT_OK ? json_load_file(out, 0, NULL) : NULL;
	json_t *pt = json_object_get(j, "partitiontable");
	json_t *parts = json_object_get(pt, "partitions"), *p, *last = NULL;
	size_t i;
	json_array_foreach(parts, i, p)
	{
		if (!last || json_integer_value(json_object_get(p, "start")) >
				 json_integer_value(json_object_get(last, "start")))
			last = p;
	}
	const char *node = json_string_value(json_object_get(last, "node"));
	bool ok = last && node && json_is_integer(json_object_get(last, "start"));
	if (ok) {
		size_t len = strlen(node);
		while (len > 0 && node[len - 1] >= '0' && node[len - 1] <= '9')
			len--;
		t->num = (int)strtol(node + len, NULL, 10);
		t->start = json_integer_value(json_object_get(last, "start"));
		snprintf(t->type, sizeof t->type, "%s", meta_text(last, "type"));
		t->gpt = strcmp(meta_text(pt, "label"), "gpt") == 0;
	}
	json_decref(j);
	return ok && t->num > 0;
}

/* sfdisk editing the device in place: no re-read, no wipe of signatures
 * (the image's and the drive's filesystems stay), then args. */
static enum agent_rc sfdisk_edit(const char *device, const char *input, const char *a1,
				 const char *a2, struct agent_err *err)
{
	char *argv[] = {"sfdisk",   "-q",	"--no-reread",	     "--no-tell-kernel",
			"--wipe",   "never",	"--wipe-partitions", "never",
			(char *)a1, (char *)a2, (char *)device,	     NULL};
	if (!a2) { /* one argument: the device follows it */
		argv[9] = (char *)device;
		argv[10] = NULL;
	}
	return run_tool(argv, input, -1, err);
}

/* Grows the last partition up to the drive when it is a Linux one, then
 * adds the drive's partition (FAT: type c on an MBR, basic data named
 * config-2 on a GPT). Sectors of 512 bytes. A GPT image's backup header
 * sits at the image's end, inside the disk: it moves to the disk's end
 * first, which also moves the table's last usable sector there. */
static enum agent_rc edit_table(const char *dir, const char *device, uint64_t cd_at,
				struct agent_err *err)
{
	struct table t = {0};
	if (!read_table(dir, device, &t))
		return agent_fail(err, AGENT_E_USAGE,
				  "config drive: %s has no partition table after the image",
				  device);
	enum agent_rc rc = AGENT_OK;
	if (t.gpt)
		rc = sfdisk_edit(device, NULL, "--relocate", "gpt-bak-std", err);
	char line[160], nbuf[16];
	long long cd_sector = (long long)(cd_at / 512);
	bool linux_fs = strcmp(t.type, t.gpt ? GPT_LINUX_FS : "83") == 0;
	if (rc == AGENT_OK && linux_fs && t.start < cd_sector) {
		snprintf(nbuf, sizeof nbuf, "%d", t.num);
		snprintf(line, sizeof line, "%lld, %lld\n", t.start, cd_sector - t.start);
		rc = sfdisk_edit(device, line, "-N", nbuf, err);
		agent_log(AGENT_LOG_INFO, "config drive: partition %d grown to %lld MiB", t.num,
			  (cd_sector - t.start) / 2048);
	}
	snprintf(line, sizeof line, "start=%lld, size=%llu, type=%s\n", cd_sector,
		 (unsigned long long)(AGENT_CONFIG_DRIVE_MIB * 2048),
		 t.gpt ? GPT_BASIC_DATA ", name=config-2" : "c");
	if (rc == AGENT_OK)
		rc = sfdisk_edit(device, line, "--append", NULL, err);
	return rc;
}

static void remove_dir(const char *dir)
{
	static const char *const names[] = {"meta_data.json", "network_data.json", "user_data",
					    "fs.img", "table.json"};
	char path[256];
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		unlink(path);
	}
	rmdir(dir);
}

/* Whether the allocation asked for something only a config drive carries:
 * SSH keys, user data or a static network (then an image without a
 * partition table fails the deploy instead of booting without them). */
static bool wants_drive(const json_t *meta)
{
	return json_array_size(json_object_get(meta, AGENT_META_SSH_KEYS)) > 0 ||
	       json_is_string(json_object_get(meta, AGENT_META_USER_DATA)) ||
	       json_is_object(json_object_get(meta, AGENT_META_NETWORK));
}

enum agent_rc agent_configdrive_write(int fd, const char *device, uint64_t disk_size,
				      uint64_t image_size, const json_t *meta, const char *sysroot,
				      struct agent_err *err)
{
	uint64_t tail = (AGENT_CONFIG_DRIVE_MIB + 1) * AGENT_MIB;
	if (disk_size < tail || disk_size - tail < image_size)
		return agent_fail(err, AGENT_E_USAGE,
				  "config drive: %s (%llu bytes) has no room for %llu MiB after "
				  "the image",
				  device, (unsigned long long)disk_size,
				  (unsigned long long)AGENT_CONFIG_DRIVE_MIB);
	/* MiB-aligned, its end the metadata MiB's start when the size allows */
	uint64_t at = (disk_size - tail) / AGENT_MIB * AGENT_MIB;
	char dir[] = "/tmp/provisiond-cd.XXXXXX";
	if (!mkdtemp(dir))
		return agent_fail(err, AGENT_E_IO, "config drive: mkdtemp: %s", strerror(errno));
	struct table t = {0};
	if (!read_table(dir, device, &t) && !wants_drive(meta)) {
		/* a whole-disk image without a table (a raw blob, a filesystem
		 * image): nothing asked for a drive, so none is added */
		remove_dir(dir);
		agent_log(AGENT_LOG_INFO,
			  "config drive: %s has no partition table after the image "
			  "and no keys or user data to deliver: none written",
			  device);
		return AGENT_OK;
	}
	enum agent_rc rc = stage_files(dir, meta, sysroot, err);
	if (rc == AGENT_OK)
		rc = make_fs(dir, err);
	if (rc == AGENT_OK)
		rc = copy_fs(dir, fd, at, err);
	if (rc == AGENT_OK && fsync(fd) != 0)
		rc = agent_fail(err, AGENT_E_IO, "fsync %s: %s", device, strerror(errno));
	if (rc == AGENT_OK)
		rc = edit_table(dir, device, at, err);
	remove_dir(dir);
	if (rc == AGENT_OK)
		agent_log(AGENT_LOG_INFO, "config drive written to %s at %llu MiB", device,
			  (unsigned long long)(at / AGENT_MIB));
	return rc;
}
