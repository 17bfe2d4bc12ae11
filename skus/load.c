/* One SKU file -> struct sku, through inih.
 *
 * Why a custom reader: Debian's libinih is built without INI_HANDLER_LINENO,
 * so the handler is not told the line. inih calls the handler while it
 * processes the line it has just read, so the reader's own line counter is
 * the handler's line. The reader also sees section headers (inih reports a
 * section only with its first key, never an empty one) and refuses indented
 * lines, which inih would silently glue onto the previous value. */
#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "skus/sku_internal.h"

#define SKU_FILE_MAX (64 * 1024)

struct loader {
	const char *path;
	const char *text;
	size_t len;
	size_t pos;
	int line;
	int section_line[8];	 /* per sku_sections[], 0 = absent */
	unsigned long long seen; /* bit per sku_keys[] */
	int open_header_line;	 /* first "[" line without "]" */
	struct sku *sku;
	struct err *e; /* never NULL */
	bool failed;
	int failed_line;
};

/* Records the first problem: "file:line: message", and the key it is about
 * ("section.key") in field when there is one. */
__attribute__((format(printf, 5, 6))) static void
fail(struct loader *l, enum err_status st, int line, const char *field, const char *fmt, ...)
{
	if (l->failed)
		return;
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	err_set(l->e, st, field, "%s:%d: %s", l->path, line, msg);
	l->failed = true;
	l->failed_line = line;
}

/* Records a "[name]" header; anything malformed is left to inih to report. */
static void see_header(struct loader *l, const char *start)
{
	const char *end = strchr(start, ']');
	if (!end) {
		if (!l->open_header_line)
			l->open_header_line = l->line;
		return;
	}
	const char *rest = end + 1 + strspn(end + 1, " \t\r\n");
	if (*rest != '\0' && *rest != ';' && *rest != '#') {
		fail(l, ERR_INVALID, l->line, NULL, "text after section header");
		return;
	}
	char name[64];
	snprintf(name, sizeof(name), "%.*s", (int)(end - start - 1), start + 1);
	int i = sku_section_index(name);
	if (i < 0)
		fail(l, ERR_INVALID, l->line, name,
		     "unknown section [%s] (known: sku, cpu, memory, disks, nics)", name);
	else if (l->section_line[i])
		fail(l, ERR_INVALID, l->line, name, "duplicate section [%s] (first at line %d)",
		     name, l->section_line[i]);
	else
		l->section_line[i] = l->line;
}

static void inspect_line(struct loader *l, const char *s)
{
	if (l->line == 1 && strncmp(s, "\xEF\xBB\xBF", 3) == 0)
		s += 3;
	const char *start = s + strspn(s, " \t");
	bool blank = *start == '\0' || *start == '\r' || *start == '\n';
	bool comment = *start == ';' || *start == '#';
	if (start != s && !blank && !comment)
		fail(l, ERR_INVALID, l->line, NULL,
		     "indented line (start keys and sections in the first column)");
	else if (*start == '[')
		see_header(l, start);
}

static char *read_line(char *str, int num, void *stream)
{
	struct loader *l = stream;
	if (l->failed || l->pos >= l->len)
		return NULL;
	const char *s = l->text + l->pos;
	const char *nl = memchr(s, '\n', l->len - l->pos);
	size_t n = nl ? (size_t)(nl - s) + 1 : l->len - l->pos;
	l->line++;
	/* inih needs room for "\r\n\0" after the text. */
	if (num < 4 || n + 2 > (size_t)num) {
		fail(l, ERR_INVALID, l->line, NULL, "line longer than %d characters", num - 3);
		return NULL;
	}
	memcpy(str, s, n);
	str[n] = '\0';
	l->pos += n;
	inspect_line(l, str);
	return l->failed ? NULL : str;
}

static int find_key(const char *section, const char *name)
{
	for (size_t i = 0; i < sku_nkeys; i++) {
		if (strcmp(sku_keys[i].section, section) == 0 &&
		    strcmp(sku_keys[i].name, name) == 0)
			return (int)i;
	}
	return -1;
}

static void known_keys(const char *section, char *buf, size_t len)
{
	size_t used = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < sku_nkeys && used < len; i++) {
		if (strcmp(sku_keys[i].section, section) == 0)
			used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? ", " : "",
						 sku_keys[i].name);
	}
}

static int on_key(void *user, const char *section, const char *name, const char *value)
{
	struct loader *l = user;
	if (l->failed)
		return 0;
	char field[64];
	snprintf(field, sizeof(field), "%s%s%s", section, *section ? "." : "", name);
	if (*section == '\0') {
		fail(l, ERR_INVALID, l->line, field,
		     "key \"%s\" outside a section (a SKU file starts with [sku])", name);
		return 0;
	}
	int k = find_key(section, name);
	if (k < 0) {
		char known[128];
		known_keys(section, known, sizeof(known));
		fail(l, ERR_INVALID, l->line, field, "unknown key \"%s\" in [%s] (known: %s)", name,
		     section, known);
		return 0;
	}
	if (l->seen & (1ULL << k)) {
		fail(l, ERR_INVALID, l->line, field, "duplicate key \"%s\" in [%s]", name, section);
		return 0;
	}
	l->seen |= 1ULL << k;
	char msg[384] = "out of memory";
	if (sku_keys[k].set(l->sku, value, msg, sizeof(msg)) < 0) {
		fail(l, ERR_INVALID, l->line, field, "bad value for \"%s\" in [%s]: %s", name,
		     section, msg);
		return 0;
	}
	if (strcmp(name, "name") == 0)
		l->sku->name_line = l->line;
	return 1;
}

static void check_required(struct loader *l)
{
	for (size_t k = 0; k < sku_nkeys && !l->failed; k++) {
		if (!sku_keys[k].required || (l->seen & (1ULL << k)))
			continue;
		int line = l->section_line[sku_section_index(sku_keys[k].section)];
		char field[64];
		snprintf(field, sizeof(field), "%s.%s", sku_keys[k].section, sku_keys[k].name);
		fail(l, ERR_INVALID, line, field, "missing required key \"%s\" in [%s]",
		     sku_keys[k].name, sku_keys[k].section);
	}
}

static int parse_text(struct loader *l)
{
	if (memchr(l->text, '\0', l->len)) {
		fail(l, ERR_INVALID, 0, NULL, "file contains a NUL byte");
		return -1;
	}
	int rc = ini_parse_stream(read_line, l, on_key, l);
	/* inih goes on after a syntax error; report whichever came first. */
	if (rc > 0 && (!l->failed || rc < l->failed_line)) {
		l->failed = false;
		fail(l, ERR_INVALID, rc, NULL, "syntax error (%s)",
		     rc == l->open_header_line
			 ? "section header without \"]\""
			 : "expected \"key = value\", \"[section]\" or a comment");
	} else if (!l->failed && rc < 0)
		fail(l, ERR_INTERNAL, 0, NULL, "out of memory while parsing");
	check_required(l);
	if (l->failed)
		return -1;
	l->sku->header_line = l->section_line[0];
	sku_finish(l->sku);
	return 0;
}

static char *slurp(const char *path, size_t *len, struct err *e)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		err_set(e, ERR_IO, NULL, "%s:0: cannot open: %s", path, strerror(errno));
		return NULL;
	}
	char *buf = malloc(SKU_FILE_MAX + 1);
	size_t n = buf ? fread(buf, 1, SKU_FILE_MAX + 1, f) : 0;
	bool bad = !buf || ferror(f) || n > SKU_FILE_MAX;
	fclose(f);
	if (bad) {
		err_set(e,
			!buf		   ? ERR_INTERNAL
			: n > SKU_FILE_MAX ? ERR_INVALID
					   : ERR_IO,
			NULL, "%s:0: %s", path,
			!buf		   ? "out of memory"
			: n > SKU_FILE_MAX ? "file larger than 64 KiB"
					   : "read error");
		free(buf);
		return NULL;
	}
	*len = n;
	return buf;
}

enum err_status sku_load_file(const char *path, struct sku **out, struct err *e)
{
	*out = NULL;
	struct err local;
	struct loader l = {.path = path, .e = e ? e : &local};
	char *text = slurp(path, &l.len, l.e);
	if (!text)
		return l.e->status;
	l.text = text;
	l.sku = calloc(1, sizeof(*l.sku));
	if (!l.sku || !(l.sku->file = strdup(path))) {
		fail(&l, ERR_INTERNAL, 0, NULL, "out of memory");
		goto out;
	}
	if (parse_text(&l) == 0) {
		*out = l.sku;
		l.sku = NULL;
	}
out:
	sku_free(l.sku);
	free(text);
	return *out ? ERR_OK : l.e->status;
}

void sku_free(struct sku *s)
{
	if (!s)
		return;
	free(s->name);
	free(s->description);
	free(s->file);
	free(s);
}

void sku_finish(struct sku *s)
{
	/* Accepted memory, in whole MiB: ceil(mib * (100 - t) / 100) up to
	 * floor(mib * (100 + t) / 100). Integers, so the overlap check and the
	 * matcher agree exactly at the edges. */
	long long t = s->memory_tolerance_pct;
	s->memory.lo = (s->memory_mib * (100 - t) + 99) / 100;
	s->memory.hi = s->memory_mib * (100 + t) / 100;
}
