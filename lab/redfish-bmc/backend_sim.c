/* backend_sim.c - --simulate: the machine is a few fields in memory. Power changes
 * at once; boot devices and media are only remembered (and logged by actions.c). */
#include <stdio.h>
#include <string.h>

#include "rbmc.h"

static int sim_power_get(struct rbmc *b, struct rbmc_system *s, char *msg, size_t len)
{
	(void)b;
	(void)msg;
	(void)len;
	if (s->power[0] == '\0')
		snprintf(s->power, sizeof(s->power), "Off");
	return 0;
}

static int sim_reset(struct rbmc *b, struct rbmc_system *s, const char *type, char *msg, size_t len)
{
	bool off = strcmp(type, "ForceOff") == 0 || strcmp(type, "GracefulShutdown") == 0;

	(void)b;
	(void)msg;
	(void)len;
	snprintf(s->power, sizeof(s->power), "%s", off ? "Off" : "On");
	return 0;
}

static int sim_boot(struct rbmc *b, struct rbmc_system *s, const char *target, char *msg,
		    size_t len)
{
	(void)b;
	(void)s;
	(void)target;
	(void)msg;
	(void)len;
	return 0;
}

static int sim_media(struct rbmc *b, struct rbmc_system *s, const char *image, char *msg,
		     size_t len)
{
	(void)b;
	(void)s;
	(void)image;
	(void)msg;
	(void)len;
	return 0;
}

const struct rbmc_backend rbmc_backend_sim = {
    .name = "simulate",
    .power_get = sim_power_get,
    .reset = sim_reset,
    .boot = sim_boot,
    .media = sim_media,
};
