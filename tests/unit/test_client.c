/* test_client: provclient (URL encoding, error bodies, transport against a
 * loopback responder) and provisionctl (arguments, configuration, tables,
 * whole commands against the responder). */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "test_client.h"

static int setup_env(void **state)
{
	static char home[] = "/tmp/test_client_home_XXXXXX";

	(void)state;
	/* A stray proxy, config file or token in the developer's environment
	 * must not change what the tests see. */
	if (mkdtemp(home) == NULL)
		return -1;
	setenv("HOME", home, 1);
	static const char *const vars[] = {
	    "XDG_CONFIG_HOME",	     "COLUMNS",	   "PROVISIOND_URL", "PROVISIOND_TOKEN",
	    "PROVISIOND_TOKEN_FILE", "http_proxy", "HTTP_PROXY",     "https_proxy",
	    "HTTPS_PROXY",	     "all_proxy",  "ALL_PROXY",	     NULL};
	for (size_t i = 0; vars[i] != NULL; i++)
		unsetenv(vars[i]);
	return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

int main(void)
{
	int failed = 0;

	if (setup_env(NULL) != 0)
		return 1;
	failed += _cmocka_run_group_tests("client_encode", client_encode_tests,
					  client_encode_ntests, NULL, NULL);
	failed += _cmocka_run_group_tests("client_table", client_table_tests, client_table_ntests,
					  NULL, NULL);
	failed += _cmocka_run_group_tests("client_http", client_http_tests, client_http_ntests,
					  NULL, NULL);
	failed +=
	    _cmocka_run_group_tests("client_cli", client_cli_tests, client_cli_ntests, NULL, NULL);
	failed += _cmocka_run_group_tests("client_views", client_views_tests, client_views_ntests,
					  NULL, NULL);
	nftw(getenv("HOME"), remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	return failed == 0 ? 0 : 1;
}
