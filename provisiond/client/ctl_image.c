/* provisionctl image …: the image catalog. */
#include <stdlib.h>
#include <string.h>

#include "provisiond/client/ctl.h"

static const struct ctl_col image_cols[] = {
    {.header = "NAME", .path = "name"},
    {.header = "FORMAT", .path = "format"},
    {.header = "SIZE", .path = "size|size_bytes", .flags = CTL_COL_BYTES},
    {.header = "SHA256", .path = "sha256", .flags = CTL_COL_OPTIONAL},
    {.header = "STATE", .path = "state|status"},
    {.header = "SOURCE", .path = "url|path|source", .flags = CTL_COL_FREE},
    {.header = "LAST ERROR", .path = "last_error", .flags = CTL_COL_FREE},
};

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && strcmp(s + n - k, suffix) == 0;
}

static int run_register(struct ctl *ctl, const struct ctl_cmd *cmd, const struct ctl_args *a)
{
	const char *name = ctl_arg(a, "name"), *path = ctl_arg(a, "path"), *url = ctl_arg(a, "url");
	const char *format = ctl_arg(a, "format"), *sha = ctl_arg(a, "sha256");

	if (name == NULL || (path == NULL) == (url == NULL))
		return ctl_usage(ctl, cmd, "give --name and exactly one of --path or --url");
	if (format == NULL)
		format = ends_with(path ? path : url, ".zst") ? "raw.zst" : "raw";
	if (strcmp(format, "raw") != 0 && strcmp(format, "raw.zst") != 0)
		return ctl_usage(ctl, cmd, "--format must be raw or raw.zst");
	json_t *body = json_pack("{s:s, s:s, s:s*, s:s*, s:s*}", "name", name, "format", format,
				 "path", path, "url", url, "sha256", sha);
	int code = ctl_call_show(ctl, "POST", body ? "/v1/images" : NULL, body);
	json_decref(body);
	return code;
}

static int run_list(struct ctl *ctl, const struct ctl_cmd *cmd, const struct ctl_args *a)
{
	(void)cmd;
	(void)a;
	return ctl_call_list(ctl, "/v1/images", NULL, 0, NULL, 0, image_cols,
			     ARRAY_SIZE(image_cols));
}

static int run_one(struct ctl *ctl, const struct ctl_cmd *cmd, const struct ctl_args *a)
{
	char *path = pc_path_new("/v1/images", a->pos[0], PC_END);
	bool del = strcmp(cmd->words, "image delete") == 0;
	int code = ctl_call_show(ctl, del ? "DELETE" : "GET", path, NULL);

	free(path);
	return code;
}

static const struct ctl_opt register_opts[] = {
    {"name", 0, CTL_VALUE, "NAME", "image name (required)"},
    {"path", 0, CTL_VALUE, "PATH", "file in provisiond's image store, relative to it"},
    {"url", 0, CTL_VALUE, "URL", "URL provisiond fetches the image from into its store"},
    {"format", 0, CTL_VALUE, "raw|raw.zst", "image format (default: from the .zst suffix)"},
    {"sha256", 0, CTL_VALUE, "HEX", "expected SHA-256 of the uncompressed image"},
    {NULL, 0, 0, NULL, NULL},
};

const struct ctl_cmd ctl_image_cmds[] = {
    {.words = "image register",
     .synopsis = "",
     .opts = register_opts,
     .run = run_register,
     .summary = "add an image to the catalog",
     .details = "Example:\n  provisionctl image register --name lab-image "
		"--path lab.raw.zst --sha256 9f86d0..."},
    {.words = "image list", .synopsis = "", .run = run_list, .summary = "list images"},
    {.words = "image show",
     .synopsis = "NAME",
     .min_pos = 1,
     .max_pos = 1,
     .run = run_one,
     .summary = "show one image"},
    {.words = "image delete",
     .synopsis = "NAME",
     .min_pos = 1,
     .max_pos = 1,
     .run = run_one,
     .summary = "remove an image from the catalog"},
    {.words = NULL},
};
