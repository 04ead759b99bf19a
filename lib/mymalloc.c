/* mymalloc - allocation wrappers that never return NULL.
 *
 * Out of memory is an environment problem: log fatal and exit. A size
 * computation that overflows is our own bug: panic.
 */
#include "sys_defs.h"

#include <stdlib.h>
#include <string.h>

#include "mymalloc.h"
#include "msg.h"

/* mymalloc - allocate or die */
void *mymalloc(size_t len)
{
    void *ptr = malloc(len ? len : 1);

    if (ptr == NULL)
        msg_fatal("out of memory allocating %zu bytes", len);
    return ptr;
}

/* mycalloc - zeroed allocation with overflow check */
void *mycalloc(size_t n, size_t size)
{
    void *ptr;

    if (size != 0 && n > SIZE_MAX / size)
        msg_panic("mycalloc: %zu * %zu overflows", n, size);
    ptr = calloc(n ? n : 1, size ? size : 1);
    if (ptr == NULL)
        msg_fatal("out of memory allocating %zu*%zu bytes", n, size);
    return ptr;
}

/* myrealloc - resize or die */
void *myrealloc(void *ptr, size_t len)
{
    void *np = realloc(ptr, len ? len : 1);

    if (np == NULL)
        msg_fatal("out of memory reallocating %zu bytes", len);
    return np;
}

/* myreallocarray - resize an array with overflow check */
void *myreallocarray(void *ptr, size_t n, size_t size)
{
    if (size != 0 && n > SIZE_MAX / size)
        msg_panic("myreallocarray: %zu * %zu overflows", n, size);
    return myrealloc(ptr, n * size);
}

/* mystrdup - copy a string */
char *mystrdup(const char *str)
{
    return mymemdup(str, strlen(str) + 1);
}

/* mystrndup - copy a bounded string */
char *mystrndup(const char *str, size_t len)
{
    const char *end = memchr(str, 0, len);
    size_t n = end ? (size_t) (end - str) : len;
    char *copy = mymalloc(n + 1);

    memcpy(copy, str, n);
    copy[n] = 0;
    return copy;
}

/* mymemdup - copy bytes */
void *mymemdup(const void *ptr, size_t len)
{
    void *copy = mymalloc(len);

    memcpy(copy, ptr, len);
    return copy;
}

/* myfree - release */
void myfree(void *ptr)
{
    free(ptr);
}
