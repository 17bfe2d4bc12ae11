/* breaker.c - circuit breaker state machine, see breaker.h. */
#include "provisiond/bmc/breaker.h"

void bmc_breaker_init(struct bmc_breaker *b)
{
	b->state = BMC_BREAKER_CLOSED;
	b->failures = 0;
	b->open_until = 0;
	b->trial = false;
}

bool bmc_breaker_would_allow(const struct bmc_breaker *b, long long now, long long *wait_ms)
{
	*wait_ms = 0;
	switch (b->state) {
	case BMC_BREAKER_CLOSED:
		return true;
	case BMC_BREAKER_OPEN:
		if (now >= b->open_until)
			return true;
		*wait_ms = b->open_until - now;
		return false;
	case BMC_BREAKER_HALF_OPEN:
		return !b->trial;
	}
	return false;
}

bool bmc_breaker_allow(struct bmc_breaker *b, long long now, long long *wait_ms)
{
	if (!bmc_breaker_would_allow(b, now, wait_ms))
		return false;
	if (b->state != BMC_BREAKER_CLOSED) {
		b->state = BMC_BREAKER_HALF_OPEN;
		b->trial = true;
	}
	return true;
}

void bmc_breaker_record(struct bmc_breaker *b, enum bmc_breaker_outcome o, long long now,
			int threshold, int cooldown_ms)
{
	switch (o) {
	case BMC_OUTCOME_ALIVE:
		bmc_breaker_init(b);
		break;
	case BMC_OUTCOME_DEAD:
		b->failures++;
		if (b->state == BMC_BREAKER_HALF_OPEN || b->failures >= threshold) {
			b->state = BMC_BREAKER_OPEN;
			b->open_until = now + cooldown_ms;
		}
		b->trial = false;
		break;
	case BMC_OUTCOME_NEUTRAL:
		b->trial = false;
		break;
	}
}
