/* Built against the installed libprovclient-dev (header, libprovclient.a,
 * provclient.pc) by install-test.sh: GET /v1/version from a running
 * provisiond. provclient-smoke URL TOKEN prints the version's JSON. */
#include <provclient.h>

#include <stdio.h>

int main(int argc, char **argv)
{
	if (argc != 3)
		return 2;
	struct pc_error err;
	pc_client *c = pc_client_new(argv[1], argv[2], &err);
	json_t *v = NULL;
	if (!c || pc_call(c, "GET", "/v1/version", NULL, &v, &err) != PC_OK) {
		fprintf(stderr, "provclient-smoke: %s\n", err.message);
		pc_client_free(c);
		return 1;
	}
	json_dumpf(v, stdout, JSON_COMPACT);
	putchar('\n');
	json_decref(v);
	pc_client_free(c);
	return 0;
}
