/* The catalog: a sorted directory of SKU files, checked as a whole. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "skus/sku_internal.h"

struct names {
	char **v;
	size_t n;
	size_t cap;
};

static void names_release(struct names *ns)
{
	for (size_t i = 0; i < ns->n; i++)
		free(ns->v[i]);
	free(ns->v);
}

static int names_add(struct names *ns, const char *name)
{
	if (ns->n == ns->cap) {
		size_t cap = ns->cap ? ns->cap * 2 : 16;
		char **v = realloc(ns->v, cap * sizeof(*v));
		if (!v)
			return -1;
		ns->v = v;
		ns->cap = cap;
	}
	if (!(ns->v[ns->n] = strdup(name)))
		return -1;
	ns->n++;
	return 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_ini(const char *name)
{
	size_t n = strlen(name);
	return name[0] != '.' && n > 4 && strcmp(name + n - 4, ".ini") == 0;
}

/* The sorted "*.ini" names of dir (no path). */
static int list_ini(const char *dir, struct names *ns, char *err, size_t errlen)
{
	DIR *d = opendir(dir);
	if (!d) {
		snprintf(err, errlen, "%s:0: cannot open directory: %s", dir, strerror(errno));
		return -1;
	}
	int rc = 0;
	for (struct dirent *e; rc == 0 && (e = readdir(d));) {
		if (is_ini(e->d_name))
			rc = names_add(ns, e->d_name);
	}
	closedir(d);
	if (rc < 0) {
		snprintf(err, errlen, "%s:0: out of memory", dir);
		return -1;
	}
	if (ns->n == 0) {
		snprintf(err, errlen, "%s:0: no SKU files (*.ini) in directory", dir);
		return -1;
	}
	qsort(ns->v, ns->n, sizeof(*ns->v), cmp_names);
	return 0;
}

/* Length of dir without trailing slashes, so paths in messages read well. */
static int dir_len(const char *dir)
{
	size_t n = strlen(dir);
	while (n > 1 && dir[n - 1] == '/')
		n--;
	return n > 4096 ? 4096 : (int)n; /* longer fails the length check */
}

static int load_files(const char *dir, const struct names *ns, struct sku_catalog *c, char *err,
		      size_t errlen)
{
	c->skus = calloc(ns->n, sizeof(*c->skus));
	if (!c->skus) {
		snprintf(err, errlen, "%s:0: out of memory", dir);
		return -1;
	}
	for (size_t i = 0; i < ns->n; i++) {
		char path[4096];
		int n = snprintf(path, sizeof(path), "%.*s/%s", dir_len(dir), dir, ns->v[i]);
		if (n < 0 || (size_t)n >= sizeof(path)) {
			snprintf(err, errlen, "%s:0: path too long", ns->v[i]);
			return -1;
		}
		if (sku_load_file(path, &c->skus[c->count], err, errlen) < 0)
			return -1;
		c->count++;
	}
	return 0;
}

static int check_catalog(const struct sku_catalog *c, char *err, size_t errlen)
{
	for (size_t j = 1; j < c->count; j++) {
		const struct sku *b = c->skus[j];
		for (size_t i = 0; i < j; i++) {
			const struct sku *a = c->skus[i];
			if (strcmp(a->name, b->name) == 0) {
				snprintf(err, errlen,
					 "%s:%d: duplicate SKU name \"%s\" (also in %s:%d)",
					 b->file, b->name_line, b->name, a->file, a->name_line);
				return -1;
			}
			if (sku_check_overlap(a, b, err, errlen) < 0)
				return -1;
		}
	}
	return 0;
}

int sku_catalog_load_dir(const char *dir, struct sku_catalog **out, char *err, size_t errlen)
{
	*out = NULL;
	if (errlen)
		err[0] = '\0';
	struct names ns = {0};
	struct sku_catalog *c = calloc(1, sizeof(*c));
	int rc = -1;
	if (!c) {
		snprintf(err, errlen, "%s:0: out of memory", dir);
		goto out;
	}
	if (list_ini(dir, &ns, err, errlen) < 0 || load_files(dir, &ns, c, err, errlen) < 0 ||
	    check_catalog(c, err, errlen) < 0)
		goto out;
	*out = c;
	c = NULL;
	rc = 0;
out:
	sku_catalog_free(c);
	names_release(&ns);
	return rc;
}

void sku_catalog_free(struct sku_catalog *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->count; i++)
		sku_free(c->skus[i]);
	free(c->skus);
	free(c);
}

size_t sku_catalog_count(const struct sku_catalog *c)
{
	return c ? c->count : 0;
}

const struct sku *sku_catalog_at(const struct sku_catalog *c, size_t i)
{
	return c && i < c->count ? c->skus[i] : NULL;
}

const struct sku *sku_catalog_find(const struct sku_catalog *c, const char *name)
{
	for (size_t i = 0; c && name && i < c->count; i++) {
		if (strcmp(c->skus[i]->name, name) == 0)
			return c->skus[i];
	}
	return NULL;
}

const char *sku_name(const struct sku *s)
{
	return s->name;
}

const char *sku_description(const struct sku *s)
{
	return s->description;
}

bool sku_fast_track(const struct sku *s)
{
	return s && s->fast_track;
}

const char *sku_source_file(const struct sku *s)
{
	return s->file;
}
