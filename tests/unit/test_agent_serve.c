/* test_agent_serve.c — the fake boot listener as a program, for the QEMU
 * boot test (tests/integration/ramdisk/boot-deploy.sh). Listens on
 * 127.0.0.1 only; a QEMU guest with user networking reaches it as
 * 10.0.2.2. Hands the agent: wipe, write_image (the lab image, with
 * metadata), poweroff; then waits for the deployed image's booted call.
 * Writes STATE/record.json and exits 0 once booted arrived, 1 on timeout.
 *
 *   test_agent_serve IMAGE.zst RAW_SIZE SHA256 GUEST_BASE STATE_DIR TIMEOUT_S
 */
#include "agent_fixtures/fakesrv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

unsigned char *tu_read_file(const char *path, size_t *len);

static json_t *commands(const char *guest, long long size, const char *sha)
{
	char img[300];
	snprintf(img, sizeof(img), "%s/img", guest);
	return json_pack("[{s:s, s:s, s:{s:b}}, {s:s, s:s, s:{s:s, s:s, s:s, s:I, s:s, "
			 "s:{s:s, s:s, s:s, s:s, s:s, s:[]}}}, {s:s, s:s, s:{}}]",
			 "id", "c-wipe", "name", "wipe", "args", "full", 0, "id", "c-write", "name",
			 "write_image", "args", "url", img, "format", "raw.zst", "sha256", sha,
			 "size", (json_int_t)size, "device", "/dev/vda", "metadata", "machine_id",
			 "m-1", "allocation_id", "alloc-e2e", "hostname", "lab-1", "api_url", guest,
			 "token", "inst-tok", "ssh_keys", "id", "c-off", "name", "poweroff",
			 "args");
}

static int dump(struct fakesrv *s, const char *dir)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/record.json", dir);
	pthread_mutex_lock(&s->lock);
	json_t *rec =
	    json_pack("{s:O?, s:O, s:O, s:i, s:O?, s:s?, s:i, s:O}", "lookup", s->lookup_body,
		      "inventories", s->inventories, "results", s->results, "heartbeats",
		      (int)json_array_size(s->heartbeats), "booted", s->booted, "booted_auth",
		      s->booted_auth, "image_requests", s->image_requests, "ranges", s->ranges);
	pthread_mutex_unlock(&s->lock);
	int rc = rec ? json_dump_file(rec, path, JSON_INDENT(2)) : -1;
	json_decref(rec);
	return rc;
}

static int write_port(const struct fakesrv *s, const char *dir)
{
	char path[1024], tmp[1100];
	snprintf(path, sizeof(path), "%s/port", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	if (!f)
		return -1;
	fprintf(f, "%u\n", s->port);
	fclose(f);
	return rename(tmp, path);
}

int main(int argc, char **argv)
{
	if (argc != 7) {
		fprintf(stderr,
			"usage: %s IMAGE.zst RAW_SIZE SHA256 GUEST_BASE STATE_DIR "
			"TIMEOUT_S\n  GUEST_BASE e.g. http://10.0.2.2 (the port is added)\n",
			argv[0]);
		return 2;
	}
	struct fakesrv s = {
	    .boot_token = "boot-tok-1", .session_token = "sess-1", .lookup_status = 200};
	s.image = tu_read_file(argv[1], &s.image_len);
	long long size = strtoll(argv[2], NULL, 10);
	long timeout = strtol(argv[6], NULL, 10);
	if (!s.image || size <= 0 || timeout <= 0) {
		fprintf(stderr, "serve: cannot read %s or bad numbers\n", argv[1]);
		return 2;
	}
	if (fakesrv_start(&s) != 0) {
		fprintf(stderr, "serve: cannot listen on 127.0.0.1\n");
		return 2;
	}
	char guest[256];
	snprintf(guest, sizeof(guest), "%s:%u", argv[4], s.port);
	json_t *cmds = commands(guest, size, argv[3]);
	pthread_mutex_lock(&s.lock);
	json_decref(s.commands);
	s.commands = cmds;
	pthread_mutex_unlock(&s.lock);
	if (write_port(&s, argv[5]) != 0) {
		fprintf(stderr, "serve: cannot write %s/port: %s\n", argv[5], strerror(errno));
		return 2;
	}
	fprintf(stderr, "serve: listening on %s (guest: %s)\n", s.url, guest);
	int ok = 0;
	for (long t = 0; t < timeout * 10 && !ok; t++) {
		usleep(100 * 1000);
		pthread_mutex_lock(&s.lock);
		ok = s.booted != NULL;
		pthread_mutex_unlock(&s.lock);
		if (t % 20 == 0 || ok)
			dump(&s, argv[5]);
	}
	fprintf(stderr, "serve: %s\n", ok ? "booted reported" : "timed out before booted");
	json_decref(s.commands);
	s.commands = NULL;
	fakesrv_stop(&s);
	free(s.image);
	return ok ? 0 : 1;
}
