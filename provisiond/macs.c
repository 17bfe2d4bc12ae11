/* macs.c - the one reader of MAC lists in request bodies (see macs.h). */
#include "provisiond/macs.h"

#include <ctype.h>
#include <string.h>

bool mac_canonical(const char *s, char out[MAC_STR_LEN])
{
	if (!s || strlen(s) != MAC_STR_LEN - 1)
		return false;
	for (int i = 0; i < MAC_STR_LEN - 1; i++)
		if (i % 3 == 2 ? s[i] != ':' : !isxdigit((unsigned char)s[i]))
			return false;
	for (int i = 0; i < MAC_STR_LEN - 1; i++)
		out[i] = (char)tolower((unsigned char)s[i]);
	out[MAC_STR_LEN - 1] = '\0';
	return true;
}

static enum err_status count_error(const char *field, int min, int max, struct err *e)
{
	if (min > 0)
		return err_set(e, ERR_INVALID, field, "%s must list %d to %d MACs", field, min,
			       max);
	return err_set(e, ERR_INVALID, field, "%s may list at most %d MACs", field, max);
}

enum err_status mac_list_parse(const json_t *list, const char *field, int min, int max,
			       char out[][MAC_STR_LEN], int *n, struct err *e)
{
	*n = 0;
	if (list && !json_is_null(list) && !json_is_array(list))
		return err_set(e, ERR_INVALID, field, "%s must be an array of MACs", field);
	size_t size = json_array_size(list); /* 0 for NULL and null */
	if (size < (size_t)min || size > (size_t)max)
		return count_error(field, min, max, e);
	for (size_t i = 0; i < size; i++) {
		const char *s = json_string_value(json_array_get(list, i));
		if (!mac_canonical(s, out[i]))
			return err_set(e, ERR_INVALID, field,
				       "%s[%zu] must be a MAC address like 52:54:00:12:34:56",
				       field, i);
		for (size_t j = 0; j < i; j++)
			if (strcmp(out[j], out[i]) == 0)
				return err_set(e, ERR_INVALID, field,
					       "%s[%zu]: MAC %s is already listed as %s[%zu]",
					       field, i, out[i], field, j);
	}
	*n = (int)size;
	return ERR_OK;
}
