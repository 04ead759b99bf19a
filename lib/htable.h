/* htable.h - hash table with string keys.
 *
 * Keys are copied; values are the caller's (htable_free takes an optional
 * destructor). Iteration order is unspecified; htable_list returns a
 * snapshot array for callers that need to sort.
 */
#ifndef HTABLE_H
#define HTABLE_H

#include "sys_defs.h"

typedef struct htable_entry {
    char   *key;
    void   *value;
    struct htable_entry *next;
} HTABLE_ENTRY;

typedef struct htable {
    HTABLE_ENTRY **buckets;
    size_t  nbuckets;
    size_t  used;
} HTABLE;

/* htable_create - empty table */
HTABLE *htable_create(size_t init);
/* htable_find - value for key, or NULL */
void   *htable_find(const HTABLE *ht, const char *key);
/* htable_locate - entry for key, or NULL */
HTABLE_ENTRY *htable_locate(const HTABLE *ht, const char *key);
/* htable_enter - add or replace; returns the entry. Replacing does not free
 * the old value: use htable_locate first when that matters. */
HTABLE_ENTRY *htable_enter(HTABLE *ht, const char *key, void *value);
/* htable_delete - remove key, calling free_fn on its value when not NULL */
void htable_delete(HTABLE *ht, const char *key, void (*free_fn)(void *));
/* htable_free - release everything; NULLs the caller's pointer */
void htable_free(HTABLE **htp, void (*free_fn)(void *));
/* htable_list - NULL-terminated snapshot of all entries (caller myfree()s the array) */
HTABLE_ENTRY **htable_list(const HTABLE *ht);
/* htable_hash - the hash function (FNV-1a), exposed for tests */
size_t htable_hash(const char *key);

#endif
