/* provisionctl allocation rebuild …: staged image rollouts (docs/allocations.md,
 * "Staged rollouts"). */
#include <stdlib.h>
#include <string.h>

#include "provisiond/client/ctl.h"

#define MAX_WAVES 32

static const struct ctl_col wave_cols[] = {
    {.header = "WAVE", .path = "wave"},	  {.header = "SIZE", .path = "size"},
    {.header = "STATE", .path = "state"}, {.header = "REIMAGING", .path = "reimaging"},
    {.header = "DONE", .path = "done"},	  {.header = "FAILURES", .path = "failures"},
};

static const struct ctl_col machine_cols[] = {
    {.header = "WAVE", .path = "wave"},
    {.header = "NAME", .path = "name"},
    {.header = "STATE", .path = "state"},
    {.header = "ERROR", .path = "error", .flags = CTL_COL_FREE},
};

static void print_table(struct ctl *ctl, const struct ctl_col *cols, size_t n, const json_t *rows)
{
	struct ctl_table *t = ctl_table_from_json(cols, n, rows);
	if (t != NULL) {
		fprintf(ctl->out, "\n");
		ctl_table_print(ctl->out, t, ctl_term_width(ctl->out));
	}
	ctl_table_free(t);
}

/* The rollout's fields, then a row per wave and a row per machine. */
static void show_rollout(struct ctl *ctl, const json_t *ro)
{
	json_t *waves = json_object_get(ro, "waves"), *w, *m;
	size_t i, j;

	ctl_show(ctl, ro);
	if (ctl->json || !json_is_array(waves))
		return;
	json_t *machines = json_array();
	json_array_foreach(waves, i, w)
	{
		json_array_foreach(json_object_get(w, "machines"), j, m)
		{
			json_t *row = json_deep_copy(m);
			json_object_set(row, "wave", json_object_get(w, "wave"));
			json_array_append_new(machines, row);
		}
	}
	print_table(ctl, wave_cols, ARRAY_SIZE(wave_cols), waves);
	if (json_array_size(machines) > 0)
		print_table(ctl, machine_cols, ARRAY_SIZE(machine_cols), machines);
	json_decref(machines);
}

/* "1,10%,100%" into waves (pointers into buf); the server checks each. */
static size_t split_waves(char *buf, const char **waves, size_t max)
{
	size_t n = 0;
	for (char *save = NULL, *t = strtok_r(buf, ",", &save); t && n < max;
	     t = strtok_r(NULL, ",", &save))
		waves[n++] = t;
	return n;
}

static bool open_state(const json_t *ro)
{
	const char *st = json_string_value(json_object_get(ro, "state"));
	return st &&
	       (!strcmp(st, "running") || !strcmp(st, "halting") || !strcmp(st, "cancelling"));
}

/* --wait: polls every second until the rollout ends or secs pass; exit 1
 * unless it completed. Takes ro. */
static int wait_rollout(struct ctl *ctl, const char *id, long secs, json_t *ro)
{
	int64_t deadline = util_now_ms() + secs * 1000;
	struct pc_error err;
	while (open_state(ro) && util_now_ms() < deadline) {
		util_sleep_ms(1000);
		json_t *next = NULL;
		pc_status rc = pc_alloc_rebuild_get(ctl->client, id, &next, &err);
		if (rc != PC_OK) {
			json_decref(ro);
			return ctl_fail(ctl, rc, &err);
		}
		json_decref(ro);
		ro = next;
	}
	show_rollout(ctl, ro);
	const char *st = json_string_value(json_object_get(ro, "state"));
	int code = st && strcmp(st, "completed") == 0 ? CTL_EXIT_OK : CTL_EXIT_API;
	if (code != CTL_EXIT_OK)
		fprintf(ctl->err, "provisionctl: the rollout of %s is %s, not completed\n", id,
			st ? st : "(unknown)");
	json_decref(ro);
	return code;
}

/* The end of rebuild, status and cancel: rc's error, or the rollout ro of
 * allocation id shown (once it ends, when wait > 0: --wait). Takes ro. */
static int end_rollout(struct ctl *ctl, const char *id, pc_status rc, const struct pc_error *err,
		       json_t *ro, long wait)
{
	if (rc != PC_OK)
		return ctl_fail(ctl, rc, err);
	if (wait > 0)
		return wait_rollout(ctl, id, wait, ro);
	show_rollout(ctl, ro);
	json_decref(ro);
	return CTL_EXIT_OK;
}

static int run_rebuild(struct ctl *ctl, const struct ctl_cmd *cmd, const struct ctl_args *a)
{
	const char *image = ctl_arg(a, "image"), *waves_arg = ctl_arg(a, "waves");
	const char *mf = ctl_arg(a, "max-failures"), *w = ctl_arg(a, "wait");
	const char *waves[MAX_WAVES];
	char buf[512];
	long max_failures = -1, wait = 0;

	if (image == NULL || waves_arg == NULL)
		return ctl_usage(ctl, cmd, "--image and --waves are required");
	if (mf != NULL && ctl_parse_long(mf, 0, 100000, &max_failures) != 0)
		return ctl_usage(ctl, cmd, "--max-failures must be a whole number from 0");
	if (w != NULL && ctl_parse_long(w, 1, 86400, &wait) != 0)
		return ctl_usage(ctl, cmd, "--wait takes seconds (1-86400)");
	snprintf(buf, sizeof(buf), "%s", waves_arg);
	struct pc_rebuild_spec spec = {.image = image,
				       .waves = waves,
				       .nwaves = split_waves(buf, waves, MAX_WAVES),
				       .max_failures = max_failures};
	if (spec.nwaves == 0)
		return ctl_usage(ctl, cmd, "--waves lists waves: 1,10%%,100%%");
	struct pc_error err;
	json_t *ro = NULL;
	pc_status rc = pc_alloc_rebuild(ctl->client, a->pos[0], &spec, &ro, &err);
	return end_rollout(ctl, a->pos[0], rc, &err, ro, wait);
}

static int run_status(struct ctl *ctl, const struct ctl_cmd *cmd, const struct ctl_args *a)
{
	const char *w = ctl_arg(a, "wait");
	long wait = 0;
	struct pc_error err;
	json_t *ro = NULL;

	if (w != NULL && ctl_parse_long(w, 1, 86400, &wait) != 0)
		return ctl_usage(ctl, cmd, "--wait takes seconds (1-86400)");
	pc_status rc = pc_alloc_rebuild_get(ctl->client, a->pos[0], &ro, &err);
	return end_rollout(ctl, a->pos[0], rc, &err, ro, wait);
}

static int run_cancel(struct ctl *ctl, const struct ctl_cmd *cmd, const struct ctl_args *a)
{
	struct pc_error err;
	json_t *ro = NULL;

	(void)cmd;
	pc_status rc = pc_alloc_rebuild_cancel(ctl->client, a->pos[0], &ro, &err);
	return end_rollout(ctl, a->pos[0], rc, &err, ro, 0);
}

static const struct ctl_opt rebuild_opts[] = {
    {"image", 0, CTL_VALUE, "IMAGE", "the new image (required)"},
    {"waves", 0, CTL_VALUE, "W1,W2,...",
     "machines on the new image in total after each wave: counts or percentages, the last "
     "100% (required)"},
    {"max-failures", 0, CTL_VALUE, "N", "halt when more than N machines fail (default 0)"},
    {"wait", 0, CTL_VALUE, "SECONDS", "wait until the rollout ends (exit 1 unless completed)"},
    {NULL, 0, 0, NULL, NULL},
};

static const struct ctl_opt status_opts[] = {
    {"wait", 0, CTL_VALUE, "SECONDS", "wait until the rollout ends (exit 1 unless completed)"},
    {NULL, 0, 0, NULL, NULL},
};

const struct ctl_cmd ctl_rollout_cmds[] = {
    {.words = "allocation rebuild",
     .synopsis = "ID|NAME",
     .min_pos = 1,
     .max_pos = 1,
     .opts = rebuild_opts,
     .run = run_rebuild,
     .summary = "reimage an allocation's machines with another image, wave by wave",
     .details = "Each wave starts when the machines of the one before are active again; more "
		"than --max-failures failures halt the rollout, the rest keep the old image.\n"
		"Example:\n  provisionctl allocation rebuild web --image web-v2 --waves "
		"1,10%,50%,100% --max-failures 1 --wait 3600"},
    {.words = "allocation rebuild-status",
     .synopsis = "ID|NAME",
     .min_pos = 1,
     .max_pos = 1,
     .opts = status_opts,
     .run = run_status,
     .summary = "show an allocation's latest rollout, per wave and machine"},
    {.words = "allocation rebuild-cancel",
     .synopsis = "ID|NAME",
     .min_pos = 1,
     .max_pos = 1,
     .run = run_cancel,
     .summary = "cancel the running rollout: machines being reimaged finish, no new wave starts"},
    {.words = NULL},
};
