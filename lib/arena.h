/* arena.h - bump allocation of many small strings freed all at once.
 *
 * For bulk jobs (compiling a million-entry table) where one malloc per
 * key and value would dominate. Memory comes in chunks of at least
 * ARENA_CHUNK bytes; nothing is freed until arena_free.
 */
#ifndef ARENA_H
#define ARENA_H

#include "sys_defs.h"

typedef struct arena ARENA;

#define ARENA_CHUNK (1 << 20)

/* arena_create - empty arena */
ARENA  *arena_create(void);
/* arena_strndup - copy len bytes plus a terminator into the arena */
char   *arena_strndup(ARENA *ap, const char *str, size_t len);
/* arena_free - release everything; NULLs the pointer */
void arena_free(ARENA **app);

#endif
