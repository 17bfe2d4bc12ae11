/* docgen.h - the parts of provisiond-docgen (docgen.c) in files of their own.
 * Build tool: single-threaded; nothing here keeps memory. */
#ifndef PROVISIOND_DOCGEN_H
#define PROVISIOND_DOCGEN_H

#include <stdio.h>

/* Writes provisionctl's bash completion script, from its command tables
 * (docgen_completion.c). 0 ok. */
int docgen_completion(FILE *out);

/* The documentation check (docgen_check.c). args: SOURCE_DIR, or
 * "config FILE", "provisionctl FILE" or "numbers FILE..." to check one
 * document (the tests feed it doctored copies). Prints each problem as
 * FILE:LINE: message on stderr; returns 1 if there was one, 0 if none,
 * 2 on a usage error. */
int docgen_check(int argc, char **argv);

#endif
