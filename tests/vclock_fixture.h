/* vclock_fixture.h - cmocka setup/teardown that run one test on util's virtual
 * clock (util/util.h), for test files that move timing onto it. Static: each
 * test program that includes it gets its own clock, `vclock`, which the test
 * reads and advances. The clock starts at a monotonic 1,000,000 ms (far from
 * 0, where "no deadline" values live) and a fixed wall time. */
#ifndef PROVISIOND_TESTS_VCLOCK_FIXTURE_H
#define PROVISIOND_TESTS_VCLOCK_FIXTURE_H

#include "util/util.h"

static struct util_vclock vclock;

static inline int vclock_on(void **state)
{
	(void)state;
	util_vclock_init(&vclock, 1000000, 1700000000000);
	util_clock_set(&vclock.clock);
	return 0;
}

static inline int vclock_off(void **state)
{
	(void)state;
	util_clock_set(NULL);
	return 0;
}

#endif
