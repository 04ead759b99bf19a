/* mymalloc.h - allocation that never returns NULL.
 *
 * Every allocator here either returns usable memory or logs a fatal error
 * and exits: callers never test for NULL. myfree(NULL) is a no-op.
 */
#ifndef MYMALLOC_H
#define MYMALLOC_H

#include "sys_defs.h"

/* mymalloc - allocate len bytes (len 0 gives a valid unique pointer) */
void *mymalloc(size_t len);
/* mycalloc - allocate n zeroed elements of size bytes; overflow is a panic */
void *mycalloc(size_t n, size_t size);
/* myrealloc - resize; ptr may be NULL */
void *myrealloc(void *ptr, size_t len);
/* myreallocarray - resize to n elements of size bytes; overflow is a panic */
void *myreallocarray(void *ptr, size_t n, size_t size);
/* mystrdup - copy a NUL-terminated string */
char *mystrdup(const char *str);
/* mystrndup - copy at most len bytes of str, NUL-terminated */
char *mystrndup(const char *str, size_t len);
/* mymemdup - copy len bytes */
void *mymemdup(const void *ptr, size_t len);
/* myfree - release; NULL is fine */
void myfree(void *ptr);

#endif
