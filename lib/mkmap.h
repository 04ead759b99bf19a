/* mkmap.h - compile a text source into a table (postmap, postalias).
 *
 * mkmap_build() reads the source (postmap or aliases(5) syntax), warns
 * about duplicate keys naming both lines, and replaces "type:file" (an
 * lmdb:/hash:/btree: table, NAME.lmdb) atomically: readers see the old
 * table or the new one, never a mix.
 *
 * Errors: -1 with *error_r ("open FILE: reason", "FILE, line N: reason",
 * "unsupported dictionary type for building: x"); nothing is replaced.
 */
#ifndef MKMAP_H
#define MKMAP_H

#include "sys_defs.h"
#include <stdio.h>

#define MKMAP_FLAG_NOFOLD	(1 << 0)	/* -f: keep key case */
#define MKMAP_FLAG_DUP_REPLACE	(1 << 1)	/* -r: later wins, no warning */
#define MKMAP_FLAG_DUP_IGNORE	(1 << 2)	/* -w: first wins, no warning */
#define MKMAP_FLAG_ALIASES	(1 << 3)	/* aliases(5) source syntax */
#define MKMAP_FLAG_KEEP_OWNER	(1 << 4)	/* root: do not chown to the source owner */

/* mkmap_split - "type:file" (default type lmdb, "proxy:" stripped) into
 * its parts (caller frees both) */
void mkmap_split(const char *spec, char **type_r, char **file_r);
/* mkmap_build - compile; src NULL: read the file named by spec and
 * rebuild from scratch; src given (postmap -i): add its entries to the
 * existing table */
int mkmap_build(const char *spec, FILE *src, int flags, const char **error_r);
/* mkmap_can_build - can this type be compiled? */
bool mkmap_can_build(const char *type);

#endif
