/* maps.h - a list of tables searched in order ("type:a, type:b").
 *
 * What every *_maps parameter names. maps_find() asks each table in turn
 * and returns the first result. A table that cannot be opened becomes a
 * surrogate (warning logged) whose lookups fail, so a daemon keeps running
 * and the affected lookups defer instead of silently finding nothing. A
 * lookup error in any table stops the search with DICT_ERROR: a later
 * table's answer must not replace an earlier table's unknown one.
 */
#ifndef MAPS_H
#define MAPS_H

#include "sys_defs.h"
#include "argv.h"
#include "dict.h"

typedef struct maps {
    char   *title;		/* parameter name, for messages */
    DICT  **dicts;
    int     count;
} MAPS;

/* maps_find flags, besides DICT_LOOKUP_*: */
#define MAPS_FIND_PARTIAL (1 << 8)	/* a partial key: skip pattern tables */

/* maps_create - open every table in map_names (Postfix list syntax; braces
 * keep inline:{ ... } together); never NULL */
MAPS   *maps_create(const char *title, const char *map_names, int dict_flags);
/* maps_find - first table with key: DICT_FOUND/DICT_NOTFOUND/DICT_ERROR */
int maps_find(MAPS *maps, const char *key, int flags, const char **value_r, const char **error_r);
/* maps_free - close the tables; NULLs the pointer */
void maps_free(MAPS **mapsp);
/* maps_split_list - split at commas and white space, keeping {...} groups
 * (nested) in one element; unbalanced braces stay as written */
ARGV   *maps_split_list(const char *text);

#endif
