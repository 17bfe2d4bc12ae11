/* libvirt_xml.c - rewriting <os><boot dev=.../></os>, see libvirt_xml.h.
 * Line-based on purpose: libvirt's own XML formatter writes one element per line
 * with stable indentation, and a line-based edit keeps everything else (secrets
 * included) untouched without pulling in an XML library. */
#include <stdlib.h>
#include <string.h>

#include "provisiond/bmc/driver.h"
#include "provisiond/bmc/libvirt_xml.h"

static const char *find_os_open(const char *xml)
{
	for (const char *p = xml; (p = strstr(p, "<os")) != NULL; p += 3)
		if (p[3] == '>' || p[3] == ' ' || p[3] == '\n' || p[3] == '\t')
			return p;
	return NULL;
}

/* Start of the line holding </os>, if only blanks precede it there. */
static const char *line_start(const char *open_end, const char *close)
{
	const char *p = close;

	while (p > open_end + 1 && (p[-1] == ' ' || p[-1] == '\t'))
		p--;
	return (p > open_end + 1 && p[-1] == '\n') ? p : NULL;
}

static bool is_boot_line(const char *s, const char *end)
{
	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	return (size_t)(end - s) > 6 && strncmp(s, "<boot ", 6) == 0;
}

/* Copies [from, to) to *out, leaving out <boot .../> lines. */
static char *copy_without_boot(char *out, const char *from, const char *to)
{
	while (from < to) {
		const char *nl = memchr(from, '\n', (size_t)(to - from));
		const char *end = nl ? nl + 1 : to;
		if (!is_boot_line(from, end)) {
			memcpy(out, from, (size_t)(end - from));
			out += end - from;
		}
		from = end;
	}
	return out;
}

static char *add_boot(char *out, const char *indent, size_t n, const char *dev)
{
	static const char fmt_head[] = "  <boot dev='";
	static const char fmt_tail[] = "'/>\n";

	memcpy(out, indent, n);
	out += n;
	memcpy(out, fmt_head, sizeof(fmt_head) - 1);
	out += sizeof(fmt_head) - 1;
	memcpy(out, dev, strlen(dev));
	out += strlen(dev);
	memcpy(out, fmt_tail, sizeof(fmt_tail) - 1);
	return out + sizeof(fmt_tail) - 1;
}

char *bmc_libvirt_xml_set_boot(const char *xml, enum bmc_boot_device d, struct bmc_error *e)
{
	const char *os = find_os_open(xml), *open_end, *close, *line;
	size_t len = strlen(xml), indent;
	char *out, *w;

	if (strstr(xml, "<boot order=") != NULL) {
		bmc_error_set(e, BMC_ERR_UNSUPPORTED, NULL,
			      "domain orders boot per device (<boot order=.../>); "
			      "use <os><boot dev=.../></os> to let provisiond set it");
		return NULL;
	}
	open_end = os ? strchr(os, '>') : NULL;
	close = open_end ? strstr(open_end, "</os>") : NULL;
	line = close ? line_start(open_end, close) : NULL;
	if (line == NULL || open_end[-1] == '/') {
		bmc_error_set(e, BMC_ERR_FAILED, NULL,
			      "domain XML has no <os> element on lines of its own");
		return NULL;
	}
	indent = (size_t)(close - line);
	out = malloc(len + 2 * (indent + 32) + 1);
	if (out == NULL) {
		bmc_error_set(e, BMC_ERR_FAILED, NULL, "out of memory");
		return NULL;
	}
	memcpy(out, xml, (size_t)(open_end + 1 - xml));
	w = copy_without_boot(out + (open_end + 1 - xml), open_end + 1, line);
	if (d == BMC_BOOT_PXE)
		w = add_boot(w, line, indent, "network");
	if (d == BMC_BOOT_CD)
		w = add_boot(w, line, indent, "cdrom");
	w = add_boot(w, line, indent, "hd");
	memcpy(w, line, len - (size_t)(line - xml) + 1);
	return out;
}
