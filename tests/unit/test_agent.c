/* test_agent.c — runs the agent's unit test groups (one per source file). */
#include <curl/curl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

int agent_test_cmdline(void);
int agent_test_facts(void);
int agent_test_image(void);
int agent_test_wipe(void);
int agent_test_configdrive(void);

int main(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	int failed = 0;
	failed += agent_test_cmdline();
	failed += agent_test_facts();
	failed += agent_test_image();
	failed += agent_test_wipe();
	failed += agent_test_configdrive();
	curl_global_cleanup();
	return failed ? 1 : 0;
}
