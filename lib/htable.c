/* htable - chained hash table, grows at load factor 1. */
#include "sys_defs.h"

#include <string.h>

#include "htable.h"
#include "mymalloc.h"

/* htable_hash - FNV-1a */
size_t htable_hash(const char *key)
{
    uint64_t h = 1469598103934665603ULL;

    for (const unsigned char *p = (const unsigned char *) key; *p; p++) {
        h ^= *p;
        h *= 1099511628211ULL;
    }
    return (size_t) h;
}

/* htable_create - empty table */
HTABLE *htable_create(size_t init)
{
    HTABLE *ht = mymalloc(sizeof(*ht));
    size_t n = 16;

    while (n < init)
        n *= 2;
    ht->nbuckets = n;
    ht->used = 0;
    ht->buckets = mycalloc(n, sizeof(*ht->buckets));
    return ht;
}

/* htable_locate - find entry */
HTABLE_ENTRY *htable_locate(const HTABLE *ht, const char *key)
{
    for (HTABLE_ENTRY *e = ht->buckets[htable_hash(key) & (ht->nbuckets - 1)]; e; e = e->next)
        if (strcmp(e->key, key) == 0)
            return e;
    return NULL;
}

/* htable_find - find value */
void *htable_find(const HTABLE *ht, const char *key)
{
    HTABLE_ENTRY *e = htable_locate(ht, key);

    return e ? e->value : NULL;
}

/* htable_grow - double the bucket array */
static void htable_grow(HTABLE *ht)
{
    size_t n = ht->nbuckets * 2;
    HTABLE_ENTRY **nb = mycalloc(n, sizeof(*nb));

    for (size_t i = 0; i < ht->nbuckets; i++) {
        HTABLE_ENTRY *e = ht->buckets[i], *next;

        for (; e; e = next) {
            next = e->next;
            size_t b = htable_hash(e->key) & (n - 1);
            e->next = nb[b];
            nb[b] = e;
        }
    }
    myfree(ht->buckets);
    ht->buckets = nb;
    ht->nbuckets = n;
}

/* htable_enter - add or replace */
HTABLE_ENTRY *htable_enter(HTABLE *ht, const char *key, void *value)
{
    HTABLE_ENTRY *e = htable_locate(ht, key);

    if (e) {
        e->value = value;
        return e;
    }
    if (ht->used >= ht->nbuckets)
        htable_grow(ht);
    e = mymalloc(sizeof(*e));
    e->key = mystrdup(key);
    e->value = value;
    size_t b = htable_hash(key) & (ht->nbuckets - 1);
    e->next = ht->buckets[b];
    ht->buckets[b] = e;
    ht->used++;
    return e;
}

/* htable_delete - remove */
void htable_delete(HTABLE *ht, const char *key, void (*free_fn)(void *))
{
    HTABLE_ENTRY **pp = &ht->buckets[htable_hash(key) & (ht->nbuckets - 1)];

    for (; *pp; pp = &(*pp)->next) {
        if (strcmp((*pp)->key, key) == 0) {
            HTABLE_ENTRY *e = *pp;

            *pp = e->next;
            if (free_fn)
                free_fn(e->value);
            myfree(e->key);
            myfree(e);
            ht->used--;
            return;
        }
    }
}

/* htable_free - release all */
void htable_free(HTABLE **htp, void (*free_fn)(void *))
{
    HTABLE *ht = *htp;

    if (ht == NULL)
        return;
    for (size_t i = 0; i < ht->nbuckets; i++) {
        HTABLE_ENTRY *e = ht->buckets[i], *next;

        for (; e; e = next) {
            next = e->next;
            if (free_fn)
                free_fn(e->value);
            myfree(e->key);
            myfree(e);
        }
    }
    myfree(ht->buckets);
    myfree(ht);
    *htp = NULL;
}

/* htable_list - snapshot */
HTABLE_ENTRY **htable_list(const HTABLE *ht)
{
    HTABLE_ENTRY **list = mycalloc(ht->used + 1, sizeof(*list));
    size_t n = 0;

    for (size_t i = 0; i < ht->nbuckets; i++)
        for (HTABLE_ENTRY *e = ht->buckets[i]; e; e = e->next)
            list[n++] = e;
    list[n] = NULL;
    return list;
}
