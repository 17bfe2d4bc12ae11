/* image.c — the write_image command: argument checks, device sizing,
 * download + verify, metadata block, the result details. */
#include "agent.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && strcmp(s + a - b, suffix) == 0;
}

static enum agent_rc parse_sha(const char *hex, char out[65], struct agent_err *err)
{
	if (!hex || strlen(hex) != 64)
		return agent_fail(err, AGENT_E_USAGE, "write_image: sha256 must be 64 hex digits");
	for (size_t i = 0; i < 64; i++) {
		if (!isxdigit((unsigned char)hex[i]))
			return agent_fail(err, AGENT_E_USAGE,
					  "write_image: sha256 must be 64 hex digits");
		out[i] = (char)tolower((unsigned char)hex[i]);
	}
	out[64] = '\0';
	return AGENT_OK;
}

/* "/dev/NAME" and "NAME" live under devroot; other absolute paths (regular
 * files standing for disks in tests) are used as they are. */
static enum agent_rc resolve_device(const char *dev, const struct agent_config *cfg, char **out,
				    struct agent_err *err)
{
	if (!dev)
		return agent_default_device(cfg, out, err);
	const char *name = strncmp(dev, "/dev/", 5) == 0 ? dev + 5 : dev[0] != '/' ? dev : NULL;
	if (name && (!*name || strstr(name, "..")))
		return agent_fail(err, AGENT_E_USAGE, "write_image: bad device '%s'", dev);
	char rel[512];
	snprintf(rel, sizeof(rel), "/%s", name ? name : "");
	*out = name ? agent_path_join(cfg->devroot, rel) : strdup(dev);
	return *out ? AGENT_OK : agent_fail(err, AGENT_E_NOMEM, "out of memory");
}

enum agent_rc agent_image_args_parse(const json_t *args, const struct agent_config *cfg,
				     struct agent_image_args *out, struct agent_err *err)
{
	memset(out, 0, sizeof(*out));
	out->url = json_string_value(json_object_get(args, AGENT_IMAGE_URL));
	if (!out->url || !*out->url)
		return agent_fail(err, AGENT_E_USAGE, "write_image: args.url is required");
	const char *fmt = json_string_value(json_object_get(args, AGENT_IMAGE_FORMAT));
	if (!fmt)
		fmt = ends_with(out->url, ".zst") ? AGENT_IMAGE_FORMAT_RAW_ZST
						  : AGENT_IMAGE_FORMAT_RAW;
	if (strcmp(fmt, AGENT_IMAGE_FORMAT_RAW) != 0 &&
	    strcmp(fmt, AGENT_IMAGE_FORMAT_RAW_ZST) != 0)
		return agent_fail(err, AGENT_E_USAGE,
				  "write_image: format '%s' is not raw or raw.zst", fmt);
	out->zstd = strcmp(fmt, AGENT_IMAGE_FORMAT_RAW_ZST) == 0;
	enum agent_rc rc = parse_sha(json_string_value(json_object_get(args, AGENT_IMAGE_SHA256)),
				     out->sha256, err);
	if (rc)
		return rc;
	json_t *size = json_object_get(args, AGENT_IMAGE_SIZE);
	out->size = json_is_integer(size) ? json_integer_value(size) : -1;
	if ((size && !json_is_integer(size) && !json_is_null(size)) ||
	    (json_is_integer(size) && out->size < 0))
		return agent_fail(err, AGENT_E_USAGE, "write_image: size must be a byte count");
	out->metadata = json_object_get(args, AGENT_IMAGE_METADATA);
	if (out->metadata && json_is_null(out->metadata))
		out->metadata = NULL;
	if (out->metadata && !json_is_object(out->metadata))
		return agent_fail(err, AGENT_E_USAGE, "write_image: metadata must be an object");
	out->config_drive =
	    out->metadata && json_is_true(json_object_get(out->metadata, AGENT_META_CONFIG_DRIVE));
	out->sysroot = cfg->sysroot;
	json_t *dev = json_object_get(args, AGENT_IMAGE_DEVICE);
	if (dev && !json_is_null(dev) && !json_is_string(dev))
		return agent_fail(err, AGENT_E_USAGE, "write_image: device must be a string");
	return resolve_device(json_string_value(dev), cfg, &out->device, err);
}

void agent_image_args_free(struct agent_image_args *a)
{
	if (!a)
		return;
	free(a->device);
	a->device = NULL;
}

/* Room for the image: the device size, less the metadata MiB and the
 * config drive. A regular file of size 0 is unbounded (no metadata
 * possible). */
static enum agent_rc image_capacity(const struct agent_image_args *a, struct agent_sink *sink,
				    uint64_t *disk_size, uint64_t *capacity, struct agent_err *err)
{
	enum agent_rc rc = agent_fd_size(agent_sink_fd(sink), a->device, disk_size, err);
	if (rc)
		return rc;
	*capacity = *disk_size;
	if (a->metadata) {
		if (*disk_size < 2 * AGENT_MIB)
			return agent_fail(err, AGENT_E_USAGE,
					  "%s (%llu bytes) has no room for the metadata MiB",
					  a->device, (unsigned long long)*disk_size);
		*capacity = *disk_size - AGENT_MIB;
	}
	uint64_t cd = AGENT_CONFIG_DRIVE_MIB * AGENT_MIB;
	if (a->config_drive)
		*capacity = *capacity > cd ? *capacity - cd : 0;
	if (a->size >= 0 && *capacity && (uint64_t)a->size > *capacity)
		return agent_fail(err, AGENT_E_USAGE,
				  "image of %lld bytes does not fit in %s (%llu "
				  "bytes usable)",
				  a->size, a->device, (unsigned long long)*capacity);
	return AGENT_OK;
}

static enum agent_rc verify(const struct agent_image_args *a, uint64_t written, const char *got,
			    struct agent_err *err)
{
	if (a->size >= 0 && written != (uint64_t)a->size)
		return agent_fail(err, AGENT_E_VERIFY, "%s stream: got %llu of %lld bytes from %s",
				  written < (uint64_t)a->size ? "short" : "overlong",
				  (unsigned long long)written, a->size, a->url);
	if (strcmp(got, a->sha256) != 0)
		return agent_fail(err, AGENT_E_VERIFY,
				  "sha256 mismatch for %s: expected %s, got %s (%llu bytes)",
				  a->url, a->sha256, got, (unsigned long long)written);
	return AGENT_OK;
}

static json_t *image_details(const struct agent_image_args *a, uint64_t written,
			     uint64_t downloaded, double seconds, const char *hex)
{
	double rate = seconds > 0 ? (double)written / seconds : 0;
	return json_pack("{s:I, s:I, s:f, s:f, s:s, s:s}", "bytes", (json_int_t)written,
			 "downloaded_bytes", (json_int_t)downloaded, "seconds", seconds,
			 "bytes_per_sec", rate, "sha256", hex, "device", a->device);
}

enum agent_rc agent_image_write(const struct agent_client *c, const struct agent_image_args *a,
				struct agent_progress *progress, json_t **details,
				struct agent_err *err)
{
	double t0 = agent_now();
	struct agent_sink *sink = NULL;
	uint64_t disk_size = 0, capacity = 0, downloaded = 0;
	char hex[65];
	enum agent_rc rc = agent_sink_open(&sink, a->device, a->zstd, 0, progress, err);
	if (rc == AGENT_OK)
		rc = image_capacity(a, sink, &disk_size, &capacity, err);
	if (rc) {
		agent_sink_free(sink);
		return rc;
	}
	agent_sink_set_capacity(sink, capacity);
	if (progress)
		atomic_store(&progress->total, a->size >= 0 ? (unsigned long long)a->size : 0);
	agent_log(AGENT_LOG_INFO, "write_image %s -> %s (%s)", a->url, a->device,
		  a->zstd ? "zstd" : "raw");
	rc = agent_fetch(c, a->url, sink, &downloaded, err);
	if (rc == AGENT_OK)
		rc = agent_sink_finish(sink, hex, err);
	uint64_t written = agent_sink_written(sink);
	if (rc == AGENT_OK)
		rc = verify(a, written, hex, err);
	if (rc == AGENT_OK && a->config_drive)
		rc = agent_configdrive_write(agent_sink_fd(sink), a->device, disk_size, written,
					     a->metadata, a->sysroot, err);
	if (rc == AGENT_OK && a->metadata) {
		rc = agent_meta_write(agent_sink_fd(sink), disk_size, a->metadata, err);
		if (rc == AGENT_OK && fsync(agent_sink_fd(sink)) != 0)
			rc = agent_fail(err, AGENT_E_IO, "fsync %s after metadata", a->device);
	}
	agent_sink_free(sink);
	if (rc == AGENT_OK)
		*details = image_details(a, written, downloaded, agent_now() - t0, hex);
	return rc;
}
