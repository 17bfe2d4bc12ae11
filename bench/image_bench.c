/* image_bench.c - the deploy agent's image writer (images/agent, the code
 * the ramdisk runs for write_image: fetch, zstd, SHA-256, write, fsync,
 * verify) streaming an image from a URL into a file.
 *
 *   image_bench URL SHA256 SIZE OUTPUT [raw|raw.zst]
 *
 * Prints one line: bytes=N seconds=S rate_mib_s=R. Exit 1 if the write or
 * the verification failed. */
#include "agent.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	if (argc < 5) {
		fprintf(stderr, "usage: image_bench URL SHA256 SIZE OUTPUT [raw|raw.zst]\n");
		return 2;
	}
	curl_global_init(CURL_GLOBAL_ALL);
	struct agent_config cfg;
	struct agent_client client = {0};
	struct agent_err err = {0};
	struct agent_image_args a = {0};
	struct agent_progress progress = {0};
	json_t *details = NULL;
	json_t *args = json_pack("{s:s, s:s, s:s, s:I, s:s}", "url", argv[1], "format",
				 argc > 5 ? argv[5] : "raw", "sha256", argv[2], "size",
				 (json_int_t)strtoll(argv[3], NULL, 10), "device", argv[4]);
	enum agent_rc rc = agent_config_init(&cfg, &err);
	if (rc == AGENT_OK) {
		cfg.retry_max_s = 0;
		rc = agent_client_init(&client, &cfg, argv[1], NULL, &err);
	}
	if (rc == AGENT_OK)
		rc = agent_image_args_parse(args, &cfg, &a, &err);
	if (rc == AGENT_OK)
		rc = agent_image_write(&client, &a, &progress, &details, &err);
	if (rc == AGENT_OK)
		printf("bytes=%lld seconds=%.3f rate_mib_s=%.1f\n",
		       (long long)json_integer_value(json_object_get(details, "bytes")),
		       json_real_value(json_object_get(details, "seconds")),
		       json_real_value(json_object_get(details, "bytes_per_sec")) / 1048576.0);
	else
		fprintf(stderr, "image_bench: %s\n", err.msg);
	json_decref(details);
	json_decref(args);
	agent_image_args_free(&a);
	agent_client_free(&client);
	agent_config_free(&cfg);
	return rc == AGENT_OK ? 0 : 1;
}
