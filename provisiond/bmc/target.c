/* target.c - a struct bmc_target that owns its strings (bmc.h). */
#include <stdlib.h>
#include <string.h>

#include "provisiond/bmc/bmc.h"
#include "util/util.h"

enum { KEY, DRIVER, ADDRESS, USERNAME, PASSWORD, OPTIONS, BOOT_MODE };

int bmc_target_copy(struct bmc_target_copy *c, const struct bmc_target *t)
{
	const char *src[] = {[KEY] = t->key,
			     [DRIVER] = t->driver,
			     [ADDRESS] = t->address,
			     [USERNAME] = t->username,
			     [PASSWORD] = t->password,
			     [OPTIONS] = t->options_json,
			     [BOOT_MODE] = t->boot_mode};
	_Static_assert(ARRAY_SIZE(src) == ARRAY_SIZE(c->strs), "one string each");
	bool ok = true;

	*c = (struct bmc_target_copy){0};
	for (size_t i = 0; i < ARRAY_SIZE(src); i++) {
		c->strs[i] = src[i] != NULL ? strdup(src[i]) : NULL;
		ok = ok && (src[i] == NULL || c->strs[i] != NULL);
	}
	if (!ok) {
		bmc_target_copy_free(c);
		return -1;
	}
	c->t = (struct bmc_target){.key = c->strs[KEY],
				   .driver = c->strs[DRIVER],
				   .address = c->strs[ADDRESS],
				   .username = c->strs[USERNAME],
				   .password = c->strs[PASSWORD],
				   .options_json = c->strs[OPTIONS],
				   .boot_mode = c->strs[BOOT_MODE],
				   .claim_epoch = t->claim_epoch};
	return 0;
}

void bmc_target_copy_free(struct bmc_target_copy *c)
{
	if (c->strs[PASSWORD] != NULL)
		explicit_bzero(c->strs[PASSWORD], strlen(c->strs[PASSWORD]));
	for (size_t i = 0; i < ARRAY_SIZE(c->strs); i++)
		free(c->strs[i]);
	*c = (struct bmc_target_copy){0};
}
