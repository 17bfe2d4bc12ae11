/* hash.c - FNV-1a for in-memory tables (util.h). */
#include "util/util.h"

unsigned long long util_fnv(unsigned long long h, const char *s)
{
	for (; s != NULL && *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return (h ^ 0xff) * 1099511628211ull;
}
