/* rules.c - which manual action may happen in which state, in one table. */
#include "provisiond/lifecycle/lifecycle.h"

#include <stdio.h>
#include <string.h>

#define BIT(s) (1u << (s))
#define ANY_STATE ((1u << INV_ST__COUNT) - 1)

struct rule {
	const char *name;
	unsigned from; /* states it may start from */
	int to;	       /* resulting state, -1 = unchanged */
	bool needs_bmc;
	bool unallocated; /* refused while the machine belongs to an allocation */
};

static const struct rule rules[] = {
    [LC_ACT_INSPECT] = {"inspect", BIT(INV_ST_ENROLLED) | BIT(INV_ST_AVAILABLE), INV_ST_INSPECTING,
			true, true},
    [LC_ACT_CLEAN] = {"clean", BIT(INV_ST_AVAILABLE) | BIT(INV_ST_FAILED), INV_ST_CLEANING, true,
		      true},
    [LC_ACT_POWER_ON] = {"power_on", ANY_STATE & ~BIT(INV_ST_RETIRED), -1, true, false},
    [LC_ACT_POWER_OFF] = {"power_off", ANY_STATE & ~BIT(INV_ST_RETIRED), -1, true, false},
    [LC_ACT_REBOOT] = {"reboot", ANY_STATE & ~BIT(INV_ST_RETIRED), -1, true, false},
    [LC_ACT_REPAIR] = {"repair", BIT(INV_ST_FAILED), INV_ST_ENROLLED, false, true},
    [LC_ACT_RETIRE] = {"retire", ANY_STATE & ~BIT(INV_ST_RETIRED), INV_ST_RETIRED, false, true},
    [LC_ACT_MAINTENANCE_ON] = {"maintenance_on", ANY_STATE & ~BIT(INV_ST_RETIRED),
			       INV_ST_MAINTENANCE, false, true},
    [LC_ACT_MAINTENANCE_OFF] = {"maintenance_off", BIT(INV_ST_MAINTENANCE), INV_ST_ENROLLED, false,
				true},
};
_Static_assert(sizeof rules / sizeof rules[0] == LC_ACT__COUNT, "rules must cover lc_action");

const char *lc_action_name(enum lc_action a)
{
	return (unsigned)a < LC_ACT__COUNT ? rules[a].name : "?";
}

int lc_action_from_name(const char *s, enum lc_action *out)
{
	for (int i = 0; i < LC_ACT__COUNT; i++)
		if (s && strcmp(s, rules[i].name) == 0) {
			*out = (enum lc_action)i;
			return 0;
		}
	return -1;
}

int lc_manual(enum lc_action act, const struct inv_machine *m, enum inv_state *to, char *why,
	      size_t whylen)
{
	const struct rule *r = &rules[act];
	if (!(r->from & BIT(m->state))) {
		snprintf(why, whylen, "%s is not possible while machine %s is %s", r->name, m->name,
			 inv_state_name(m->state));
		return -1;
	}
	if (r->unallocated && m->allocation_id[0]) {
		snprintf(why, whylen, "machine %s belongs to allocation %s: release it first",
			 m->name, m->allocation_id);
		return -1;
	}
	if (r->needs_bmc && !m->has_bmc) {
		snprintf(why, whylen, "machine %s has no BMC access yet (PATCH bmc)", m->name);
		return -1;
	}
	*to = r->to >= 0 ? (enum inv_state)r->to : m->state;
	return 0;
}

bool lc_reverify_on_bmc_change(enum inv_state s)
{
	return s == INV_ST_ENROLLED || s == INV_ST_VERIFYING || s == INV_ST_FAILED;
}
