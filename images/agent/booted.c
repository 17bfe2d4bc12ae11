/* booted.c — `provisiond-agent booted`: run by the deployed image's init.
 * Finds the metadata block, prints the console marker, reports booted. */
#include "agent.h"

#include <stdlib.h>
#include <string.h>

/* The first disk (by name) whose last MiB holds a metadata block. */
static enum agent_rc find_metadata(const struct agent_config *cfg, json_t **meta, char **disk,
				   struct agent_err *err)
{
	if (cfg->disk) {
		*disk = strdup(cfg->disk);
		return agent_meta_read(cfg->disk, meta, err);
	}
	char **names = NULL;
	size_t n = 0;
	enum agent_rc rc = agent_disk_names(cfg->sysroot, &names, &n, err);
	if (rc)
		return rc;
	rc = agent_fail(err, AGENT_E_IO, "no disk under %s carries a metadata block", cfg->devroot);
	for (size_t i = 0; i < n && rc; i++) {
		char rel[512];
		snprintf(rel, sizeof(rel), "/%s", names[i]);
		char *path = agent_path_join(cfg->devroot, rel);
		if (path && agent_meta_read(path, meta, NULL) == AGENT_OK) {
			*disk = path;
			rc = AGENT_OK;
			break;
		}
		free(path);
	}
	agent_strv_free(names, n);
	return rc;
}

static const char *meta_str(const json_t *meta, const char *key)
{
	const char *v = json_string_value(json_object_get(meta, key));
	return v ? v : "";
}

static enum agent_rc report_booted(const struct agent_config *cfg, const json_t *meta,
				   struct agent_err *err)
{
	const char *url = json_string_value(json_object_get(meta, AGENT_META_API_URL));
	if (!url || !*url)
		url = cfg->url;
	if (!url)
		return agent_fail(err, AGENT_E_USAGE, "metadata has no api_url and no --url given");
	struct agent_client c;
	const char *token = meta_str(meta, AGENT_META_TOKEN);
	enum agent_rc rc = agent_client_init(&c, cfg, url, *token ? token : NULL, err);
	if (rc)
		return rc;
	json_t *body =
	    json_pack("{s:s}", AGENT_BOOTED_MACHINE_ID, meta_str(meta, AGENT_META_MACHINE_ID));
	rc = body ? agent_http_call(&c, "POST", AGENT_PATH_BOOTED, body, 30L, NULL, NULL, err)
		  : agent_fail(err, AGENT_E_NOMEM, "out of memory");
	json_decref(body);
	agent_client_free(&c);
	return rc;
}

enum agent_rc agent_booted(const struct agent_config *cfg, FILE *console, struct agent_err *err)
{
	json_t *meta = NULL;
	char *disk = NULL;
	enum agent_rc rc = find_metadata(cfg, &meta, &disk, err);
	if (rc) {
		free(disk);
		return rc;
	}
	agent_log_set_machine(meta_str(meta, AGENT_META_MACHINE_ID));
	fprintf(console, "PROVISIOND-BOOTED allocation=%s machine=%s\n",
		meta_str(meta, AGENT_META_ALLOCATION_ID), meta_str(meta, AGENT_META_MACHINE_ID));
	fflush(console);
	agent_log(AGENT_LOG_INFO, "metadata from %s; reporting booted", disk);
	rc = report_booted(cfg, meta, err);
	if (rc == AGENT_OK)
		agent_log(AGENT_LOG_INFO, "booted reported");
	json_decref(meta);
	free(disk);
	return rc;
}
