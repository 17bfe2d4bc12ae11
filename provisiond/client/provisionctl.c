/* provisionctl: command-line client of the provisiond API.
 * Everything but main() lives in the provctl library (ctl.h) so that the
 * unit tests can drive it with their own output streams. */
#include "provisiond/client/ctl.h"

int main(int argc, char **argv)
{
	return ctl_run(argc, argv, stdout, stderr);
}
