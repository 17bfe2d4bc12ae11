/* fuzz_pxe.c - the boot plane's renderers with hostile values: the iPXE
 * script (pxe_render_script), the dnsmasq configuration (pxe_dnsmasq_conf),
 * a dhcp-hostsdir file (pxe_hosts_write into a per-process temporary
 * directory) and pxe_mac_normalize.
 *
 * Input: byte 0 picks the boot kind, the DHCP mode and dnsmasq's flags,
 * bytes 1-2 the heartbeat; then NUL-separated values, one per field of
 * enum field (missing or empty: not given).
 *
 * Beyond "no crash": a refused value is ERR_INVALID naming its field; an
 * accepted one changes nothing but itself. The script rendered with the
 * hostile values has, line for line, the structure of the script rendered
 * with harmless ones: the same labels, the same commands and command
 * separators as iPXE splits them (exec.c: whitespace, "||", "&&", ";", a
 * "#" word), the same ${...} expansions. The same for dnsmasq: the same
 * options, with the same number of ',' separated values. */
#include "fuzz_common.h"
#include "pxe/pxe.h"

#include <ctype.h>
#include <errno.h>
#include <sys/stat.h>

enum field {
	F_BOOT_URL,
	F_MACHINE_ID,
	F_TOKEN,
	F_NAME,
	F_STATE,
	F_MAC,
	F_EXTRA_ARGS,
	F_INTERFACE,
	F_RANGE_START,
	F_RANGE_END,
	F_NETMASK,
	F_LEASE_TIME,
	F_ROUTER,
	F_NETWORK,
	F_TFTP_ROOT,
	F_HOSTS_DIR,
	F_PID_FILE,
	F_LEASE_FILE,
	F_LOG_FILE,
	F_IP,
	F_COUNT
};

/* A value every check accepts, per field: the harmless twin of an input. */
static const char *const harmless[F_COUNT] = {
    [F_BOOT_URL] = "http://h",
    [F_MACHINE_ID] = "m",
    [F_TOKEN] = "t",
    [F_NAME] = "n",
    [F_STATE] = "s",
    [F_MAC] = "52:54:00:00:00:01",
    [F_EXTRA_ARGS] = "a",
    [F_INTERFACE] = "eth0",
    [F_RANGE_START] = "10.0.0.10",
    [F_RANGE_END] = "10.0.0.20",
    [F_NETMASK] = "255.255.255.0",
    [F_LEASE_TIME] = "1h",
    [F_ROUTER] = "10.0.0.1",
    [F_NETWORK] = "10.0.0.0",
    [F_TFTP_ROOT] = "/p",
    [F_HOSTS_DIR] = "/p",
    [F_PID_FILE] = "/p",
    [F_LEASE_FILE] = "/p",
    [F_LOG_FILE] = "/p",
    [F_IP] = "10.0.0.5",
};

/* The twin: every given value replaced by its harmless one. */
static void twin(const char **f, const char **h)
{
	for (int i = 0; i < F_COUNT; i++)
		h[i] = f[i] ? harmless[i] : NULL;
	/* values the renderer looks at, not only copies */
	if (f[F_LOG_FILE] && strcmp(f[F_LOG_FILE], "-") == 0)
		h[F_LOG_FILE] = "-";
	if (f[F_INTERFACE] && strcmp(f[F_INTERFACE], "lo") == 0)
		h[F_INTERFACE] = "lo";
}

/* A refusal names the field it is about and starts its message with it. */
static void check_refusal(enum err_status rc, const struct err *e)
{
	FUZZ_CHECK(rc == ERR_INVALID && e->field[0] && fuzz_starts(e->message, e->field));
}

/* One line of an iPXE script as iPXE reads it (core/exec.c). */
static void ipxe_line(struct util_buf *b, const char *line, size_t len)
{
	char buf[4096];
	snprintf(buf, sizeof buf, "%.*s", (int)len, line);
	int dollars = 0;
	for (const char *p = buf; (p = strstr(p, "${")); p += 2)
		dollars++;
	const char *s = buf + strspn(buf, " \t");
	if (*s == ':') {
		util_buf_printf(b, "label %s|\n", s);
		return;
	}
	bool command = true;
	for (char *tok = strtok(buf, " \t\f\v\r"); tok; tok = strtok(NULL, " \t\f\v\r")) {
		if (tok[0] == '#') {
			util_buf_puts(b, "# ");
			break;
		}
		bool sep = !strcmp(tok, "||") || !strcmp(tok, "&&") || !strcmp(tok, ";");
		if (sep || command)
			util_buf_printf(b, "%s ", tok);
		command = sep;
	}
	util_buf_printf(b, "$%d|\n", dollars);
}

/* The structure of a script: labels, commands, separators, expansions. */
static char *ipxe_skeleton(const char *script)
{
	struct util_buf b = {0};
	for (const char *l = script; *l;) {
		size_t n = strcspn(l, "\n");
		ipxe_line(&b, l, n);
		l += n + (l[n] == '\n');
	}
	char *s = util_buf_take(&b, NULL);
	FUZZ_CHECK(s);
	return s;
}

static enum err_status script(const char **f, int kind, int heartbeat, char **out, struct err *e)
{
	struct pxe_script_params p = {.kind = (enum pxe_boot_kind)kind,
				      .boot_url = f[F_BOOT_URL],
				      .machine_id = f[F_MACHINE_ID],
				      .token = f[F_TOKEN],
				      .machine_name = f[F_NAME],
				      .state = f[F_STATE],
				      .mac = f[F_MAC],
				      .extra_args = f[F_EXTRA_ARGS],
				      .heartbeat_s = heartbeat};
	return pxe_render_script(&p, out, e);
}

static void fuzz_script(const char **f, int kind, int heartbeat)
{
	const char *h[F_COUNT];
	char *out = NULL, *ref = NULL;
	struct err e = {0};
	enum err_status rc = script(f, kind, heartbeat, &out, &e);
	FUZZ_CHECK((rc == ERR_OK) == (out != NULL));
	if (rc != ERR_OK) {
		check_refusal(rc, &e);
		return;
	}
	twin(f, h);
	FUZZ_CHECK(script(h, kind, heartbeat, &ref, &e) == ERR_OK);
	char *a = ipxe_skeleton(out), *b = ipxe_skeleton(ref);
	if (strcmp(a, b) != 0)
		fprintf(stderr, "script:\n%s\nstructure:\n%s\nexpected:\n%s\n", out, a, b);
	FUZZ_CHECK(strcmp(a, b) == 0);
	free(a);
	free(b);
	free(out);
	free(ref);
}

static enum err_status dnsmasq(const char **f, uint8_t mode, char **out, struct err *e)
{
	struct pxe_dnsmasq_params p = {.mode = (enum pxe_dhcp_mode)((mode >> 2) % 3),
				       .interface = f[F_INTERFACE],
				       .boot_url = f[F_BOOT_URL],
				       .range_start = f[F_RANGE_START],
				       .range_end = f[F_RANGE_END],
				       .netmask = f[F_NETMASK],
				       .lease_time = f[F_LEASE_TIME],
				       .router = f[F_ROUTER],
				       .network = f[F_NETWORK],
				       .tftp_root = f[F_TFTP_ROOT],
				       .hosts_dir = f[F_HOSTS_DIR],
				       .pid_file = f[F_PID_FILE],
				       .lease_file = f[F_LEASE_FILE],
				       .log_file = f[F_LOG_FILE],
				       .ipv6_ra = mode & 0x10,
				       .only_known = mode & 0x20,
				       .run_as_root = mode & 0x40,
				       .log_dhcp = mode & 0x80};
	return pxe_dnsmasq_conf(&p, out, e);
}

/* Per line of a dnsmasq file: comment, or the option and its ',' count. */
static char *dnsmasq_skeleton(const char *conf)
{
	struct util_buf b = {0};
	for (const char *l = conf; *l;) {
		size_t n = strcspn(l, "\n"), key = strcspn(l, "=\n"), commas = 0;
		for (size_t i = 0; i < n; i++)
			commas += l[i] == ',';
		if (l[0] == '#')
			util_buf_puts(&b, "#\n");
		else
			util_buf_printf(&b, "%.*s %zu\n", (int)key, l, commas);
		l += n + (l[n] == '\n');
	}
	char *s = util_buf_take(&b, NULL);
	FUZZ_CHECK(s);
	return s;
}

static void fuzz_dnsmasq(const char **f, uint8_t mode)
{
	const char *h[F_COUNT];
	char *out = NULL, *ref = NULL;
	struct err e = {0};
	enum err_status rc = dnsmasq(f, mode, &out, &e);
	FUZZ_CHECK((rc == ERR_OK) == (out != NULL));
	if (rc != ERR_OK) {
		check_refusal(rc, &e);
		return;
	}
	twin(f, h);
	FUZZ_CHECK(dnsmasq(h, mode, &ref, &e) == ERR_OK);
	char *a = dnsmasq_skeleton(out), *b = dnsmasq_skeleton(ref);
	if (strcmp(a, b) != 0)
		fprintf(stderr, "config:\n%s\nstructure:\n%s\nexpected:\n%s\n", out, a, b);
	FUZZ_CHECK(strcmp(a, b) == 0);
	free(a);
	free(b);
	free(out);
	free(ref);
}

/* A normalized MAC is 17 lower-case hex digits and colons, and stays. */
static void fuzz_mac(const char *mac)
{
	char out[18], again[18];
	if (pxe_mac_normalize(mac, out) != ERR_OK)
		return;
	for (int i = 0; i < 17; i++)
		FUZZ_CHECK(i % 3 == 2 ? out[i] == ':'
				      : isxdigit((unsigned char)out[i]) &&
					    !isupper((unsigned char)out[i]));
	FUZZ_CHECK(out[17] == 0 && pxe_mac_normalize(out, again) == ERR_OK &&
		   strcmp(out, again) == 0);
}

static char hosts_dir[64];

static void remove_hosts_dir(void)
{
	rmdir(hosts_dir); /* empty unless a run stopped between write and remove */
}

static void make_hosts_dir(void)
{
	const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	snprintf(hosts_dir, sizeof hosts_dir, "%s/provisiond-fuzz-XXXXXX", base);
	FUZZ_CHECK(mkdtemp(hosts_dir));
	atexit(remove_hosts_dir);
}

/* The file pxe_hosts_write leaves: one line, "MAC[,IP][,NAME]". */
static void check_host_file(const char *mac, const char *name, const char *ip)
{
	char norm[18], path[128], line[256] = "";
	FUZZ_CHECK(pxe_mac_normalize(mac, norm) == ERR_OK);
	for (char *p = norm; *p; p++)
		*p = *p == ':' ? '-' : *p;
	snprintf(path, sizeof path, "%s/%s", hosts_dir, norm);
	FILE *fp = fopen(path, "r");
	FUZZ_CHECK(fp);
	size_t n = fread(line, 1, sizeof line - 1, fp);
	fclose(fp);
	size_t commas = 0;
	for (size_t i = 0; i < n; i++)
		commas += line[i] == ',';
	FUZZ_CHECK(n > 0 && strchr(line, '\n') == line + n - 1);
	FUZZ_CHECK(commas == (size_t)(name != NULL) + (size_t)(ip != NULL));
}

static void fuzz_hosts(const char *mac, const char *name, const char *ip)
{
	struct err e = {0};
	if (!hosts_dir[0])
		make_hosts_dir();
	enum err_status rc = pxe_hosts_write(hosts_dir, mac, name, ip, &e);
	if (rc != ERR_OK) {
		check_refusal(rc, &e);
		return;
	}
	check_host_file(mac, name, ip);
	FUZZ_CHECK(pxe_hosts_remove(hosts_dir, mac, &e) == ERR_OK);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 3)
		return 0;
	char *s = fuzz_str(data + 3, size - 3);
	const char *f[F_COUNT];
	fuzz_fields(s, size - 3, f, F_COUNT);
	fuzz_script(f, data[0] & 3, (int16_t)(data[1] << 8 | data[2]));
	fuzz_dnsmasq(f, data[0]);
	fuzz_mac(f[F_MAC]);
	fuzz_hosts(f[F_MAC], f[F_NAME], f[F_IP]);
	free(s);
	return 0;
}
