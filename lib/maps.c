/* maps - search a list of lookup tables in order.
 *
 * Contract: see maps.h. Tables are opened read-only with
 * DICT_FLAG_FOLD_FIX (exact-key tables fold keys to lower case, as
 * postmap folds them when it builds).
 */
#include "sys_defs.h"

#include <ctype.h>
#include <fcntl.h>
#include <string.h>

#include "argv.h"
#include "dict.h"
#include "maps.h"
#include "msg.h"
#include "mymalloc.h"

/* maps_split_list - brace-aware list splitting */
ARGV   *maps_split_list(const char *text)
{
    ARGV   *av = argv_alloc(4);
    const char *s = text;

    while (*s) {
	const char *start;
	int     depth = 0;

	while (*s && (isspace((unsigned char) *s) || *s == ','))
	    s++;
	if (*s == 0)
	    break;
	start = s;
	for (; *s; s++) {
	    if (*s == '{')
		depth++;
	    else if (*s == '}' && depth > 0)
		depth--;
	    else if (depth == 0 && (isspace((unsigned char) *s) || *s == ','))
		break;
	}
	argv_addn(av, start, (size_t) (s - start));
    }
    return av;
}

/* maps_create - open the tables */
MAPS   *maps_create(const char *title, const char *map_names, int dict_flags)
{
    MAPS   *maps = mycalloc(1, sizeof(*maps));
    ARGV   *names = maps_split_list(map_names ? map_names : "");

    maps->title = mystrdup(title);
    maps->dicts = mycalloc((size_t) names->argc + 1, sizeof(*maps->dicts));
    for (int i = 0; i < names->argc; i++) {
	const char *why;
	DICT   *d = dict_open(names->argv[i], O_RDONLY, dict_flags | DICT_FLAG_FOLD_FIX, &why);

	if (d == NULL) {
	    msg_warn("%s: %s: %s", title, names->argv[i], why);
	    d = dict_surrogate(names->argv[i], why);
	}
	maps->dicts[maps->count++] = d;
    }
    argv_free(&names);
    return maps;
}

/* maps_find - first table that has the key */
int     maps_find(MAPS *maps, const char *key, int flags, const char **value_r,
		          const char **error_r)
{
    for (int i = 0; i < maps->count; i++) {
	DICT   *d = maps->dicts[i];
	int     st;

	if ((flags & MAPS_FIND_PARTIAL) && d->impl && (d->impl->props & DICT_PROP_PATTERN))
	    continue;
	st = dict_lookup(d, key, flags & (DICT_LOOKUP_FOLD | DICT_LOOKUP_ONE), value_r, error_r);
	if (st != DICT_NOTFOUND)
	    return st;
    }
    return DICT_NOTFOUND;
}

/* maps_free - close all */
void    maps_free(MAPS **mapsp)
{
    MAPS   *maps = *mapsp;

    if (maps == NULL)
	return;
    *mapsp = NULL;
    for (int i = 0; i < maps->count; i++)
	dict_close(&maps->dicts[i]);
    myfree(maps->dicts);
    myfree(maps->title);
    myfree(maps);
}
