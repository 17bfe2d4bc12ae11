/* test_agent_configdrive.c — the config drive on a regular file standing
 * for a disk: the real sfdisk, mkfs.fat and mtools, read back with the
 * same tools; the quick wipe erases it. */
#include "agent.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

char *tu_tempdir(void);
void tu_rmtree(const char *dir);
char *tu_path(const char *dir, const char *name);
unsigned char *tu_read_file(const char *path, size_t *len);
int tu_make_disk(const char *path, size_t size, unsigned char fill);

#define MIB (1024 * 1024)
#define DISK (48 * MIB)
#define CD_AT (DISK - 9 * MIB) /* the drive ends where the metadata MiB starts */
#define GPT_LINUX "0FC63DAF-8483-4772-8E79-3D69D8477DE4"
#define GPT_BASIC_DATA "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7"

/* sh -c cmd; its exit status. */
static int sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof cmd, fmt, ap);
	va_end(ap);
	return system(cmd);
}

static json_t *meta_fixture(void)
{
	return json_pack("{s:s, s:s, s:s, s:[s], s:s, s:b}", AGENT_META_MACHINE_ID, "m-1",
			 AGENT_META_ALLOCATION_ID, "a-1", AGENT_META_HOSTNAME, "web-01",
			 AGENT_META_SSH_KEYS, "ssh-ed25519 AAAAC3Nza test@x", AGENT_META_USER_DATA,
			 "#cloud-config\nruncmd: [touch /x]\n", AGENT_META_CONFIG_DRIVE, 1);
}

/* A file from the drive, read with mcopy at the partition's offset. */
static json_t *drive_json(const char *dir, const char *disk, const char *name)
{
	char *out = tu_path(dir, "out");
	assert_int_equal(sh("MTOOLS_SKIP_CHECK=1 mcopy -n -i '%s@@%d' ::/openstack/latest/%s '%s'",
			    disk, CD_AT, name, out),
			 0);
	json_t *j = json_load_file(out, 0, NULL);
	unlink(out);
	free(out);
	return j;
}

static void check_table(const char *dir, const char *disk)
{
	char *out = tu_path(dir, "table.json");
	assert_int_equal(sh("sfdisk --json '%s' > '%s'", disk, out), 0);
	json_t *t = json_load_file(out, 0, NULL);
	json_t *p = json_object_get(json_object_get(t, "partitiontable"), "partitions");
	assert_int_equal(json_array_size(p), 2);
	json_t *root = json_array_get(p, 0), *cd = json_array_get(p, 1);
	assert_int_equal(json_integer_value(json_object_get(root, "start")), 2048);
	/* grown from 8 MiB up to the drive */
	assert_int_equal(json_integer_value(json_object_get(root, "size")), CD_AT / 512 - 2048);
	assert_int_equal(json_integer_value(json_object_get(cd, "start")), CD_AT / 512);
	assert_int_equal(json_integer_value(json_object_get(cd, "size")), 8 * 2048);
	assert_string_equal(json_string_value(json_object_get(cd, "type")), "c");
	json_decref(t);
	unlink(out);
	free(out);
}

static void test_configdrive_write(void **state)
{
	(void)state;
	char *dir = tu_tempdir();
	char *disk = tu_path(dir, "disk");
	assert_int_equal(tu_make_disk(disk, DISK, 0xaa), 0);
	assert_int_equal(sh("echo 'start=2048, size=16384, type=83' | sfdisk -q '%s'", disk), 0);
	json_t *meta = meta_fixture();
	int fd = open(disk, O_RDWR);
	assert_int_equal(agent_configdrive_write(fd, disk, DISK, 9 * MIB, meta, "", NULL),
			 AGENT_OK);
	close(fd);
	check_table(dir, disk);
	assert_int_equal(
	    sh("blkid -p -o value -s LABEL -O %d '%s' | grep -qx config-2", CD_AT, disk), 0);
	json_t *md = drive_json(dir, disk, "meta_data.json");
	assert_non_null(md);
	assert_string_equal(json_string_value(json_object_get(md, "uuid")), "m-1");
	assert_string_equal(json_string_value(json_object_get(md, "hostname")), "web-01");
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(md, "public_keys"), "key-0")),
	    "ssh-ed25519 AAAAC3Nza test@x");
	json_decref(md);
	char *ud = tu_path(dir, "ud");
	assert_int_equal(
	    sh("MTOOLS_SKIP_CHECK=1 mcopy -n -i '%s@@%d' ::/openstack/latest/user_data "
	       "'%s'",
	       disk, CD_AT, ud),
	    0);
	size_t len = 0;
	unsigned char *text = tu_read_file(ud, &len);
	assert_int_equal(len, strlen("#cloud-config\nruncmd: [touch /x]\n"));
	assert_memory_equal(text, "#cloud-config\nruncmd: [touch /x]\n", len);
	free(text);
	free(ud);

	/* release: the quick wipe zeroes the drive with the metadata MiB */
	assert_int_equal(agent_wipe_device(disk, false, NULL, NULL, NULL), AGENT_OK);
	unsigned char *d = tu_read_file(disk, &len);
	for (size_t i = CD_AT; i < DISK; i++)
		if (d[i] != 0)
			fail_msg("byte %zu of the config drive survived the wipe", i);
	free(d);
	json_decref(meta);
	tu_rmtree(dir);
	free(disk);
	free(dir);
}

/* A sysroot under dir whose ramdisk got its first lease on eth7 (MAC
 * below), then one on eth0, as the
 * ramdisk's udhcpc script records them. */
#define BOOT_MAC "52:54:00:aa:bb:cc"
static char *lease_sysroot(const char *dir)
{
	char *root = tu_path(dir, "root");
	assert_int_equal(sh("mkdir -p '%s/run' '%s/sys/class/net/eth7' '%s/sys/class/net/eth0' && "
			    "echo 'eth7 10.0.0.9/24' > '%s/run/provisiond-leases' && "
			    "echo 'eth0 10.1.0.9/24' >> '%s/run/provisiond-leases' && "
			    "echo " BOOT_MAC " > '%s/sys/class/net/eth7/address' && "
			    "echo 52:54:00:00:00:01 > '%s/sys/class/net/eth0/address'",
			    root, root, root, root, root, root, root),
			 0);
	return root;
}

/* Writes a drive with meta on a fresh disk under dir; network_data.json
 * read back (NULL when the drive has none). */
static json_t *drive_network(const char *dir, json_t *meta, const char *sysroot)
{
	char *disk = tu_path(dir, "disk");
	assert_int_equal(tu_make_disk(disk, DISK, 0), 0);
	assert_int_equal(sh("echo 'start=2048, size=16384, type=83' | sfdisk -q '%s'", disk), 0);
	int fd = open(disk, O_RDWR);
	assert_int_equal(agent_configdrive_write(fd, disk, DISK, 9 * MIB, meta, sysroot, NULL),
			 AGENT_OK);
	close(fd);
	json_t *nd = drive_json(dir, disk, "network_data.json");
	free(disk);
	return nd;
}

/* The one network of nd, on the boot NIC's link, of type. */
static json_t *boot_network(json_t *nd, const char *type)
{
	json_t *link = json_array_get(json_object_get(nd, "links"), 0);
	assert_string_equal(json_string_value(json_object_get(link, "ethernet_mac_address")),
			    BOOT_MAC);
	json_t *nets = json_object_get(nd, "networks");
	assert_int_equal(json_array_size(nets), 1);
	json_t *n = json_array_get(nets, 0);
	assert_string_equal(json_string_value(json_object_get(n, "type")), type);
	assert_string_equal(json_string_value(json_object_get(n, "link")),
			    json_string_value(json_object_get(link, "id")));
	return n;
}

static void expect_route_and_dns(json_t *nd, json_t *n, const char *any, const char *gw,
				 const char *dns)
{
	json_t *routes = json_object_get(n, "routes");
	assert_int_equal(json_array_size(routes), 1);
	json_t *r = json_array_get(routes, 0);
	assert_string_equal(json_string_value(json_object_get(r, "network")), any);
	assert_string_equal(json_string_value(json_object_get(r, "netmask")), any);
	assert_string_equal(json_string_value(json_object_get(r, "gateway")), gw);
	json_t *svc = json_array_get(json_object_get(n, "services"), 0);
	assert_string_equal(json_string_value(json_object_get(svc, "type")), "dns");
	assert_string_equal(json_string_value(json_object_get(svc, "address")), dns);
	svc = json_array_get(json_object_get(nd, "services"), 0);
	assert_string_equal(json_string_value(json_object_get(svc, "address")), dns);
}

/* network_data.json: DHCP by default, the static address (IPv4 and IPv6)
 * with its default route and nameservers when the metadata has one, on
 * the NIC of the ramdisk's first lease; a static address with no boot NIC
 * known fails. */
static void test_configdrive_network(void **state)
{
	(void)state;
	char *dir = tu_tempdir();
	char *root = lease_sysroot(dir);
	json_t *meta = meta_fixture();
	json_t *nd = drive_network(dir, meta, root);
	assert_non_null(nd);
	json_t *n = boot_network(nd, "ipv4_dhcp");
	assert_null(json_object_get(n, "ip_address"));
	json_decref(nd);

	json_object_set_new(meta, AGENT_META_NETWORK,
			    json_pack("{s:s, s:s, s:[s]}", AGENT_NET_ADDRESS, "10.79.0.50/24",
				      AGENT_NET_GATEWAY, "10.79.0.1", AGENT_NET_NAMESERVERS,
				      "10.79.0.1"));
	nd = drive_network(dir, meta, root);
	assert_non_null(nd);
	n = boot_network(nd, "ipv4");
	assert_string_equal(json_string_value(json_object_get(n, "ip_address")), "10.79.0.50");
	assert_string_equal(json_string_value(json_object_get(n, "netmask")), "255.255.255.0");
	expect_route_and_dns(nd, n, "0.0.0.0", "10.79.0.1", "10.79.0.1");
	json_decref(nd);

	json_object_set_new(meta, AGENT_META_NETWORK,
			    json_pack("{s:s, s:s, s:[s]}", AGENT_NET_ADDRESS, "fd00:79::50/64",
				      AGENT_NET_GATEWAY, "fd00:79::1", AGENT_NET_NAMESERVERS,
				      "fd00:79::53"));
	nd = drive_network(dir, meta, root);
	n = boot_network(nd, "ipv6");
	assert_string_equal(json_string_value(json_object_get(n, "ip_address")), "fd00:79::50");
	assert_string_equal(json_string_value(json_object_get(n, "netmask")),
			    "ffff:ffff:ffff:ffff::");
	expect_route_and_dns(nd, n, "::", "fd00:79::1", "fd00:79::53");
	json_decref(nd);

	/* no lease recorded and no NIC of this sysroot holding an address */
	char *bare = tu_path(dir, "bare");
	char *disk = tu_path(dir, "disk");
	assert_int_equal(sh("mkdir -p '%s'", bare), 0);
	int fd = open(disk, O_RDWR);
	struct agent_err err = {0};
	assert_int_equal(agent_configdrive_write(fd, disk, DISK, 9 * MIB, meta, bare, &err),
			 AGENT_E_USAGE);
	assert_non_null(strstr(err.msg, "no boot NIC"));
	close(fd);
	json_decref(meta);
	tu_rmtree(dir);
	free(disk);
	free(bare);
	free(root);
	free(dir);
}

/* A GPT whole-disk image (a 16 MiB image's table: its backup header at
 * 16 MiB, inside the disk) on a 48 MiB disk: the backup header moves to the
 * disk's end, the Linux root is grown, the drive is a basic-data partition
 * named config-2 holding a FAT labelled config-2; sfdisk --verify finds no
 * fault and the metadata block after it leaves the backup table whole. */
static void test_configdrive_gpt(void **state)
{
	(void)state;
	char *dir = tu_tempdir();
	char *disk = tu_path(dir, "disk"), *img = tu_path(dir, "img");
	assert_int_equal(tu_make_disk(disk, DISK, 0xaa), 0);
	assert_int_equal(tu_make_disk(img, 16 * MIB, 0), 0);
	assert_int_equal(sh("printf 'label: gpt\\nstart=2048, size=8192, type=" GPT_LINUX
			    ", name=root\\n' | sfdisk -q '%s' && "
			    "dd if='%s' of='%s' conv=notrunc status=none",
			    img, img, disk),
			 0);
	json_t *meta = meta_fixture();
	int fd = open(disk, O_RDWR);
	assert_int_equal(agent_configdrive_write(fd, disk, DISK, 16 * MIB, meta, "", NULL),
			 AGENT_OK);
	assert_int_equal(agent_meta_write(fd, DISK, meta, NULL), AGENT_OK);
	close(fd);
	char *out = tu_path(dir, "table.json");
	assert_int_equal(sh("sfdisk --json '%s' > '%s'", disk, out), 0);
	json_t *j = json_load_file(out, 0, NULL);
	json_t *t = json_object_get(j, "partitiontable");
	assert_string_equal(json_string_value(json_object_get(t, "label")), "gpt");
	/* the table's last usable sector is the disk's: its backup header and
	 * table (33 sectors) at the end */
	assert_int_equal(json_integer_value(json_object_get(t, "lastlba")), DISK / 512 - 34);
	json_t *p = json_object_get(t, "partitions");
	assert_int_equal(json_array_size(p), 2);
	json_t *root = json_array_get(p, 0), *cd = json_array_get(p, 1);
	assert_int_equal(json_integer_value(json_object_get(root, "size")), CD_AT / 512 - 2048);
	assert_int_equal(json_integer_value(json_object_get(cd, "start")), CD_AT / 512);
	assert_int_equal(json_integer_value(json_object_get(cd, "size")), 8 * 2048);
	assert_string_equal(json_string_value(json_object_get(cd, "type")), GPT_BASIC_DATA);
	assert_string_equal(json_string_value(json_object_get(cd, "name")), "config-2");
	json_decref(j);
	/* no fault: primary and backup agree, the backup where it belongs */
	assert_int_equal(
	    sh("sfdisk --verify '%s' > '%s' 2>&1 && grep -q 'No errors detected' '%s' && "
	       "! grep -qi 'backup\\|mismatch' '%s'",
	       disk, out, out, out),
	    0);
	assert_int_equal(
	    sh("blkid -p -o value -s LABEL -O %d '%s' | grep -qx config-2", CD_AT, disk), 0);
	json_t *md = drive_json(dir, disk, "meta_data.json");
	assert_non_null(md);
	assert_string_equal(json_string_value(json_object_get(md, "hostname")), "web-01");
	json_decref(md);
	json_decref(meta);
	unlink(out);
	tu_rmtree(dir);
	free(out);
	free(img);
	free(disk);
	free(dir);
}

static void test_configdrive_errors(void **state)
{
	(void)state;
	char *dir = tu_tempdir();
	char *disk = tu_path(dir, "disk");
	assert_int_equal(tu_make_disk(disk, DISK, 0), 0);
	json_t *meta = meta_fixture();
	int fd = open(disk, O_RDWR);
	struct agent_err err = {0};
	/* no partition table after the image */
	assert_int_equal(agent_configdrive_write(fd, disk, DISK, 9 * MIB, meta, "", &err),
			 AGENT_E_USAGE);
	assert_non_null(strstr(err.msg, "no partition table"));
	/* ...but with no keys and no user data to deliver, a whole-disk image
	 * without a table deploys without a drive (nothing written) */
	json_t *bare = json_pack("{s:s, s:s, s:b}", AGENT_META_MACHINE_ID, "m-1",
				 AGENT_META_HOSTNAME, "web-01", AGENT_META_CONFIG_DRIVE, 1);
	assert_int_equal(agent_configdrive_write(fd, disk, DISK, 9 * MIB, bare, "", &err),
			 AGENT_OK);
	assert_int_not_equal(sh("sfdisk --json '%s' >/dev/null 2>&1", disk), 0);
	json_decref(bare);
	/* an image that reaches into the drive */
	assert_int_equal(agent_configdrive_write(fd, disk, DISK, DISK - 8 * MIB, meta, "", &err),
			 AGENT_E_USAGE);
	assert_non_null(strstr(err.msg, "no room"));
	close(fd);
	json_decref(meta);
	tu_rmtree(dir);
	free(disk);
	free(dir);
}

int agent_test_configdrive(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_configdrive_write),
	    cmocka_unit_test(test_configdrive_errors),
	    cmocka_unit_test(test_configdrive_network),
	    cmocka_unit_test(test_configdrive_gpt),
	};
	return cmocka_run_group_tests_name("agent_configdrive", tests, NULL, NULL);
}
