/* backend_hook.c - --hook CMD: the machine is driven by a command in the style of
 * OpenIPMI ipmi_sim's chassis_control hook, so the lab's libvirt glue
 * (lab/bmc-hook.sh: VM definition, boot order, tap into the lab's network
 * namespace) serves both kinds of BMC:
 *     CMD get power          prints "power:1" or "power:0"
 *     CMD set power 1|0      CMD set reset 1      CMD set shutdown 1
 *     CMD set boot pxe|default|cdrom|uefihttp|none
 *     CMD set media URL|none
 * run through /bin/sh -c with RBMC_SYSTEM set to the system's id. A non-zero exit
 * is an error whose first line of stderr is reported. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "rbmc.h"

static int run(struct rbmc *b, struct rbmc_system *s, const char *args, char *out, size_t len)
{
	char cmd[2048];
	FILE *p;
	int st;

	setenv("RBMC_SYSTEM", s->id, 1); /* under b->mu: one hook at a time */
	snprintf(cmd, sizeof(cmd), "%s %s 2>&1", b->hook, args);
	out[0] = '\0';
	if ((p = popen(cmd, "r")) == NULL) {
		snprintf(out, len, "cannot run the hook");
		return -1;
	}
	if (fgets(out, (int)len, p) == NULL)
		out[0] = '\0';
	out[strcspn(out, "\n")] = '\0';
	while (fgetc(p) != EOF)
		;
	st = pclose(p);
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static int hook_power_get(struct rbmc *b, struct rbmc_system *s, char *msg, size_t len)
{
	if (run(b, s, "get power", msg, len) != 0)
		return -1;
	if (strcmp(msg, "power:1") != 0 && strcmp(msg, "power:0") != 0)
		return -1;
	snprintf(s->power, sizeof(s->power), "%s", msg[6] == '1' ? "On" : "Off");
	return 0;
}

static int hook_reset(struct rbmc *b, struct rbmc_system *s, const char *type, char *msg,
		      size_t len)
{
	const char *args = "set power 1";

	if (strcmp(type, "ForceOff") == 0)
		args = "set power 0";
	else if (strcmp(type, "GracefulShutdown") == 0)
		args = "set shutdown 1";
	else if (strcmp(type, "On") != 0)
		args = strcmp(s->power, "On") == 0 ? "set reset 1" : "set power 1";
	return run(b, s, args, msg, len);
}

static int hook_boot(struct rbmc *b, struct rbmc_system *s, const char *target, char *msg,
		     size_t len)
{
	const char *dev = "default";

	if (strcmp(target, "Pxe") == 0)
		dev = "pxe";
	else if (strcmp(target, "Cd") == 0)
		dev = "cdrom";
	else if (strcmp(target, "UefiHttp") == 0)
		dev = "uefihttp";
	else if (strcmp(target, "None") == 0)
		dev = "none"; /* the machine's own order */
	snprintf(msg, len, "set boot %s", dev);
	return run(b, s, msg, msg, len);
}

static int hook_media(struct rbmc *b, struct rbmc_system *s, const char *image, char *msg,
		      size_t len)
{
	char args[600];

	if (image != NULL && strchr(image, '\'') != NULL) {
		snprintf(msg, len, "image URL contains a quote");
		return -1;
	}
	snprintf(args, sizeof(args), "set media '%s'", image ? image : "none");
	return run(b, s, args, msg, len);
}

const struct rbmc_backend rbmc_backend_hook = {
    .name = "hook",
    .power_get = hook_power_get,
    .reset = hook_reset,
    .boot = hook_boot,
    .media = hook_media,
};
