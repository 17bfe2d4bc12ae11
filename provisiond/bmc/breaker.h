/* breaker.h - a circuit breaker per BMC (internal).
 *
 * closed --N consecutive dead outcomes--> open --cooldown--> half-open
 * half-open lets exactly one trial operation through: alive -> closed, dead -> open
 * again for a fresh cooldown. "Dead" means the BMC did not answer (unreachable or
 * timeout); any answer, even "wrong password", is alive. Pure state machine: time is
 * passed in, the caller locks. */
#ifndef PROVISIOND_BMC_BREAKER_H
#define PROVISIOND_BMC_BREAKER_H

#include <stdbool.h>

enum bmc_breaker_state { BMC_BREAKER_CLOSED, BMC_BREAKER_OPEN, BMC_BREAKER_HALF_OPEN };
enum bmc_breaker_outcome { BMC_OUTCOME_ALIVE, BMC_OUTCOME_DEAD, BMC_OUTCOME_NEUTRAL };

struct bmc_breaker {
	enum bmc_breaker_state state;
	int failures;	      /* consecutive dead outcomes */
	long long open_until; /* monotonic ms; meaningful when open */
	bool trial;	      /* half-open: the one trial operation is running */
};

void bmc_breaker_init(struct bmc_breaker *b);

/* Whether an operation would be let through now, without taking the trial. On
 * false, *wait_ms is the time until half-open (0: a trial is running). */
bool bmc_breaker_would_allow(const struct bmc_breaker *b, long long now, long long *wait_ms);

/* Like would_allow, but takes the trial when the cooldown is over. */
bool bmc_breaker_allow(struct bmc_breaker *b, long long now, long long *wait_ms);

/* Records an operation's outcome (NEUTRAL: it never reached the BMC). */
void bmc_breaker_record(struct bmc_breaker *b, enum bmc_breaker_outcome o, long long now,
			int threshold, int cooldown_ms);

#endif
