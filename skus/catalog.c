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
static enum err_status list_ini(const char *dir, struct names *ns, struct err *e)
{
	DIR *d = opendir(dir);
	if (!d)
		return err_set(e, ERR_IO, NULL, "%s:0: cannot open directory: %s", dir,
			       strerror(errno));
	int rc = 0;
	for (struct dirent *e; rc == 0 && (e = readdir(d));) {
		if (is_ini(e->d_name))
			rc = names_add(ns, e->d_name);
	}
	closedir(d);
	if (rc < 0)
		return err_set(e, ERR_INTERNAL, NULL, "%s:0: out of memory", dir);
	if (ns->n == 0)
		return err_set(e, ERR_INVALID, NULL, "%s:0: no SKU files (*.ini) in directory",
			       dir);
	qsort(ns->v, ns->n, sizeof(*ns->v), cmp_names);
	return ERR_OK;
}

/* Length of dir without trailing slashes, so paths in messages read well. */
static int dir_len(const char *dir)
{
	size_t n = strlen(dir);
	while (n > 1 && dir[n - 1] == '/')
		n--;
	return n > 4096 ? 4096 : (int)n; /* longer fails the length check */
}

static enum err_status load_files(const char *dir, const struct names *ns, struct sku_catalog *c,
				  struct err *e)
{
	c->skus = calloc(ns->n, sizeof(*c->skus));
	if (!c->skus)
		return err_set(e, ERR_INTERNAL, NULL, "%s:0: out of memory", dir);
	for (size_t i = 0; i < ns->n; i++) {
		char path[4096];
		int n = snprintf(path, sizeof(path), "%.*s/%s", dir_len(dir), dir, ns->v[i]);
		if (n < 0 || (size_t)n >= sizeof(path))
			return err_set(e, ERR_INVALID, NULL, "%s:0: path too long", ns->v[i]);
		enum err_status rc = sku_load_file(path, &c->skus[c->count], e);
		if (rc != ERR_OK)
			return rc;
		c->count++;
	}
	return ERR_OK;
}

static enum err_status check_catalog(const struct sku_catalog *c, struct err *e)
{
	for (size_t j = 1; j < c->count; j++) {
		const struct sku *b = c->skus[j];
		for (size_t i = 0; i < j; i++) {
			const struct sku *a = c->skus[i];
			if (strcmp(a->name, b->name) == 0)
				return err_set(e, ERR_INVALID, "sku.name",
					       "%s:%d: duplicate SKU name \"%s\" (also in %s:%d)",
					       b->file, b->name_line, b->name, a->file,
					       a->name_line);
			enum err_status rc = sku_check_overlap(a, b, e);
			if (rc != ERR_OK)
				return rc;
		}
	}
	return ERR_OK;
}

enum err_status sku_catalog_load_dir(const char *dir, struct sku_catalog **out, struct err *e)
{
	*out = NULL;
	err_clear(e);
	struct names ns = {0};
	struct sku_catalog *c = calloc(1, sizeof(*c));
	enum err_status rc;
	if (!c) {
		rc = err_set(e, ERR_INTERNAL, NULL, "%s:0: out of memory", dir);
		goto out;
	}
	if ((rc = list_ini(dir, &ns, e)) != ERR_OK || (rc = load_files(dir, &ns, c, e)) != ERR_OK ||
	    (rc = check_catalog(c, e)) != ERR_OK)
		goto out;
	*out = c;
	c = NULL;
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

int sku_max_concurrent_deploys(const struct sku *s)
{
	return s ? s->max_concurrent_deploys : 0;
}

int sku_warm_pool(const struct sku *s)
{
	return s ? s->warm_pool : 0;
}

bool sku_fast_track(const struct sku *s)
{
	return s && s->fast_track;
}

const char *sku_deploy(const struct sku *s)
{
	return s && s->deploy[0] ? s->deploy : "pxe";
}

const char *sku_boot_override_mode(const struct sku *s)
{
	return s ? s->boot_override_mode : "";
}

const char *sku_source_file(const struct sku *s)
{
	return s->file;
}
