/* power.c — reboot / poweroff of the machine the agent runs on. */
#include "agent.h"

#include <errno.h>
#include <string.h>
#include <sys/reboot.h>
#include <unistd.h>

enum agent_rc agent_power(const struct agent_config *cfg, enum agent_after what,
			  struct agent_err *err)
{
	const char *name = what == AGENT_AFTER_REBOOT ? "reboot" : "poweroff";
	sync();
	if (cfg->no_power) {
		agent_log(AGENT_LOG_INFO, "%s requested; --no-power: exiting instead", name);
		return AGENT_OK;
	}
	agent_log(AGENT_LOG_INFO, "%s now", name);
	if (reboot(what == AGENT_AFTER_REBOOT ? RB_AUTOBOOT : RB_POWER_OFF) != 0)
		return agent_fail(err, AGENT_E_IO, "%s: reboot(2): %s", name, strerror(errno));
	return AGENT_OK;
}
