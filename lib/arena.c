/* arena - bump allocator for bulk string storage.
 *
 * Contract: see arena.h. Allocation never fails (mymalloc); a request
 * larger than a chunk gets a chunk of its own.
 */
#include "sys_defs.h"

#include <string.h>

#include "arena.h"
#include "mymalloc.h"

typedef struct arena_chunk {
    struct arena_chunk *next;
    size_t  size;
    size_t  used;
    char    data[];
} ARENA_CHUNK_T;

struct arena {
    ARENA_CHUNK_T *head;
};

/* arena_create - empty arena */
ARENA  *arena_create(void)
{
    return mycalloc(1, sizeof(ARENA));
}

/* arena_strndup - copy into the current chunk, starting a new one as needed */
char   *arena_strndup(ARENA *ap, const char *str, size_t len)
{
    ARENA_CHUNK_T *c = ap->head;
    char   *p;

    if (c == NULL || c->size - c->used < len + 1) {
	size_t  size = len + 1 > ARENA_CHUNK ? len + 1 : ARENA_CHUNK;

	c = mymalloc(sizeof(*c) + size);
	c->size = size;
	c->used = 0;
	c->next = ap->head;
	ap->head = c;
    }
    p = c->data + c->used;
    memcpy(p, str, len);
    p[len] = 0;
    c->used += len + 1;
    return p;
}

/* arena_free - release all chunks */
void    arena_free(ARENA **app)
{
    ARENA  *ap = *app;

    if (ap == NULL)
	return;
    *app = NULL;
    while (ap->head) {
	ARENA_CHUNK_T *next = ap->head->next;

	myfree(ap->head);
	ap->head = next;
    }
    myfree(ap);
}
