/* Human-readable sizes. */
#include <stdio.h>

#include "skus/sku_internal.h"

void sku_format_bytes(unsigned long long bytes, bool decimal, char *buf, size_t len)
{
	static const char *const bin[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
	static const char *const dec[] = {"B", "KB", "MB", "GB", "TB", "PB", "EB"};
	const char *const *units = decimal ? dec : bin;
	unsigned long long base = decimal ? 1000 : 1024;
	unsigned long long unit = 1;
	size_t u = 0;
	while (bytes / unit >= base && u + 1 < 7) {
		unit *= base;
		u++;
	}
	if (bytes % unit == 0) {
		snprintf(buf, len, "%llu %s", bytes / unit, units[u]);
		return;
	}
	/* One decimal, rounded down so "1.9 GiB" never reads as "2.0 GiB" next
	 * to a "want at least 2 GiB". */
	unsigned long long tenths = (bytes % unit) / (unit / 10);
	snprintf(buf, len, "%llu.%llu %s", bytes / unit, tenths, units[u]);
}
