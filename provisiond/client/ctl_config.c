/* Where provisionctl's server URL, token and timeout come from, in order:
 * flags > environment > config file (INI) > defaults. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <ini.h>

#include "provisiond/client/ctl.h"

#define SECRET_MAX 4096

struct file_vals {
	char *url;
	char *token;
	char *token_file;
	char *timeout;
	char bad[160];
};

static const char *env(const struct ctl_config_src *src, const char *name)
{
	const char *v = src->getenv ? src->getenv(name) : NULL;

	return (v != NULL && v[0] != '\0') ? v : NULL;
}

static int on_ini(void *user, const char *section, const char *name, const char *value)
{
	struct file_vals *fv = user;
	char **slot = NULL;

	/* Other sections are left for future use (profiles). */
	if (section[0] != '\0' && strcmp(section, "provisionctl") != 0 &&
	    strcmp(section, "default") != 0)
		return 1;
	if (strcmp(name, "url") == 0)
		slot = &fv->url;
	else if (strcmp(name, "token") == 0)
		slot = &fv->token;
	else if (strcmp(name, "token_file") == 0)
		slot = &fv->token_file;
	else if (strcmp(name, "timeout") == 0)
		slot = &fv->timeout;
	if (slot == NULL) {
		if (fv->bad[0] == '\0')
			snprintf(fv->bad, sizeof(fv->bad), "unknown key '%s'", name);
		return 0;
	}
	ctl_secret_free(*slot);
	*slot = strdup(value);
	return *slot != NULL;
}

static void file_vals_free(struct file_vals *fv)
{
	ctl_secret_free(fv->token);
	free(fv->url);
	free(fv->token_file);
	free(fv->timeout);
}

static char *default_path(const struct ctl_config_src *src)
{
	const char *xdg = env(src, "XDG_CONFIG_HOME"), *home = env(src, "HOME");
	char buf[4096];

	if (xdg != NULL)
		snprintf(buf, sizeof(buf), "%s/provisionctl.ini", xdg);
	else if (home != NULL)
		snprintf(buf, sizeof(buf), "%s/.config/provisionctl.ini", home);
	else
		return NULL;
	return strdup(buf);
}

static void warn_if_readable(const struct ctl_config_src *src, FILE *f, const char *path,
			     const struct file_vals *fv)
{
	struct stat st;

	if (src->warn != NULL && fv->token != NULL && fstat(fileno(f), &st) == 0 &&
	    (st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
		fprintf(src->warn,
			"provisionctl: warning: %s holds a token and is readable by others "
			"(chmod 600 it)\n",
			path);
}

static int parse_file(const struct ctl_config_src *src, FILE *f, const char *path,
		      struct file_vals *fv, char *errbuf, size_t errlen)
{
	int line = ini_parse_file(f, on_ini, fv);

	if (line == -2) {
		snprintf(errbuf, errlen, "out of memory reading %s", path);
		return -1;
	}
	if (line != 0) {
		snprintf(errbuf, errlen, "config %s line %d: %s", path, line,
			 fv->bad[0] ? fv->bad : "syntax error");
		return -1;
	}
	warn_if_readable(src, f, path, fv);
	return 0;
}

static int load_file(const struct ctl_config_src *src, struct file_vals *fv, struct ctl_config *cfg,
		     char *errbuf, size_t errlen)
{
	char *path = src->flag_config ? strdup(src->flag_config) : default_path(src);
	FILE *f;
	int rc;

	if (path == NULL)
		return 0;
	f = fopen(path, "r");
	if (f == NULL) {
		/* Only a missing default file is fine. */
		rc = (errno == ENOENT && src->flag_config == NULL) ? 0 : -1;
		if (rc != 0)
			snprintf(errbuf, errlen, "cannot read config %s: %s", path,
				 strerror(errno));
		free(path);
		return rc;
	}
	rc = parse_file(src, f, path, fv, errbuf, errlen);
	fclose(f);
	if (rc == 0)
		cfg->config_path = path;
	else
		free(path);
	return rc;
}

static int set_token(struct ctl_config *cfg, const char *inline_tok, const char *file,
		     const char *from, const struct ctl_config_src *src, char *errbuf,
		     size_t errlen)
{
	cfg->token_from = from;
	if (inline_tok != NULL) {
		cfg->token = strdup(inline_tok);
		if (cfg->token == NULL)
			snprintf(errbuf, errlen, "out of memory");
		return cfg->token ? 0 : -1;
	}
	return ctl_read_secret(file, src->getenv, src->warn, &cfg->token, errbuf, errlen);
}

static int resolve_token(const struct ctl_config_src *src, const struct file_vals *fv,
			 struct ctl_config *cfg, char *errbuf, size_t errlen)
{
	const char *et = env(src, "PROVISIOND_TOKEN"), *ef = env(src, "PROVISIOND_TOKEN_FILE");

	if (src->flag_token || src->flag_token_file)
		return set_token(cfg, src->flag_token, src->flag_token_file, "flag", src, errbuf,
				 errlen);
	if (et || ef)
		return set_token(cfg, et, ef, "env", src, errbuf, errlen);
	if (fv->token || fv->token_file)
		return set_token(cfg, fv->token, fv->token_file, "config", src, errbuf, errlen);
	cfg->token_from = "none";
	return 0;
}

static int resolve_timeout(const struct ctl_config_src *src, const struct file_vals *fv,
			   struct ctl_config *cfg, char *errbuf, size_t errlen)
{
	const char *t = src->flag_timeout ? src->flag_timeout : fv->timeout;
	long s;

	cfg->timeout_ms = PC_DEFAULT_TIMEOUT_MS;
	if (t == NULL)
		return 0;
	if (ctl_parse_long(t, 1, 86400, &s) != 0) {
		snprintf(errbuf, errlen, "timeout must be whole seconds between 1 and 86400");
		return -1;
	}
	cfg->timeout_ms = s * 1000;
	return 0;
}

int ctl_config_resolve(const struct ctl_config_src *src, struct ctl_config *cfg, char *errbuf,
		       size_t errlen)
{
	struct file_vals fv = {0};
	const char *url;
	int rc = -1;

	memset(cfg, 0, sizeof(*cfg));
	if (load_file(src, &fv, cfg, errbuf, errlen) != 0)
		goto out;
	if (src->flag_url) {
		url = src->flag_url;
		cfg->url_from = "flag";
	} else if ((url = env(src, "PROVISIOND_URL")) != NULL) {
		cfg->url_from = "env";
	} else if ((url = fv.url) != NULL) {
		cfg->url_from = "config";
	} else {
		url = PC_DEFAULT_URL;
		cfg->url_from = "default";
	}
	cfg->url = strdup(url);
	if (cfg->url == NULL || resolve_token(src, &fv, cfg, errbuf, errlen) != 0 ||
	    resolve_timeout(src, &fv, cfg, errbuf, errlen) != 0)
		goto out;
	rc = 0;
out:
	file_vals_free(&fv);
	return rc;
}

void ctl_config_free(struct ctl_config *cfg)
{
	if (cfg == NULL)
		return;
	ctl_secret_free(cfg->token);
	free(cfg->url);
	free(cfg->config_path);
	memset(cfg, 0, sizeof(*cfg));
}

void ctl_secret_free(char *s)
{
	if (s == NULL)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}
