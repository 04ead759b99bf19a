/* dict_texthash - texthash: tables, read from the text file at open.
 *
 * Contract: the file has postmap's source syntax (see dict_text.h) and is
 * read once into memory; keys are folded to lower case when the table is
 * opened with DICT_FLAG_FOLD_FIX (the default for maps). Duplicate keys
 * warn with both line numbers; the later one wins, as with postmap. Any
 * read or bound error fails the open with "FILE, line N: reason".
 * dict_refresh() rereads the file when it changes.
 *
 * Limits: read-only; the whole table lives in memory.
 */
#include "sys_defs.h"

#include <stdlib.h>
#include <string.h>

#include "dict.h"
#include "dict_text.h"
#include "htable.h"
#include "msg.h"
#include "mymalloc.h"
#include "vstring.h"

typedef struct dict_texthash_entry {
    char   *value;
    int     line;
} DICT_TEXTHASH_ENTRY;

typedef struct dict_texthash {
    DICT_IMPL impl;
    HTABLE *table;
    HTABLE_ENTRY **seq_list;
    size_t  seq_pos;
} DICT_TEXTHASH;

/* dict_texthash_entry_free - htable destructor */
static void dict_texthash_entry_free(void *ptr)
{
    DICT_TEXTHASH_ENTRY *e = ptr;

    myfree(e->value);
    myfree(e);
}

/* dict_texthash_lookup - one key */
static int dict_texthash_lookup(DICT_IMPL *impl, const char *key, const char **value_r,
				        const char **error_r PH_UNUSED)
{
    DICT_TEXTHASH_ENTRY *e = htable_find(((DICT_TEXTHASH *) impl)->table, key);

    if (e == NULL)
	return DICT_NOTFOUND;
    *value_r = e->value;
    return DICT_FOUND;
}

/* dict_texthash_cmp - key order for dumps */
static int dict_texthash_cmp(const void *a, const void *b)
{
    return strcmp((*(HTABLE_ENTRY * const *) a)->key, (*(HTABLE_ENTRY * const *) b)->key);
}

/* dict_texthash_sequence - iterate in key order */
static int dict_texthash_sequence(DICT_IMPL *impl, int how, const char **key_r,
				          const char **value_r, const char **error_r PH_UNUSED)
{
    DICT_TEXTHASH *dt = (DICT_TEXTHASH *) impl;

    if (how == DICT_SEQ_FIRST) {
	myfree(dt->seq_list);
	dt->seq_list = htable_list(dt->table);
	qsort(dt->seq_list, dt->table->used, sizeof(*dt->seq_list), dict_texthash_cmp);
	dt->seq_pos = 0;
    }
    if (dt->seq_list == NULL || dt->seq_list[dt->seq_pos] == NULL)
	return DICT_NOTFOUND;
    *key_r = dt->seq_list[dt->seq_pos]->key;
    *value_r = ((DICT_TEXTHASH_ENTRY *) dt->seq_list[dt->seq_pos]->value)->value;
    dt->seq_pos++;
    return DICT_FOUND;
}

/* dict_texthash_close - release */
static void dict_texthash_close(DICT_IMPL *impl)
{
    DICT_TEXTHASH *dt = (DICT_TEXTHASH *) impl;

    htable_free(&dt->table, dict_texthash_entry_free);
    myfree(dt->seq_list);
    myfree(dt->impl.file);
    myfree(dt);
}

/* dict_texthash_open - read the whole file */
DICT_IMPL *dict_texthash_open(const char *type PH_UNUSED, const char *name, int open_flags PH_UNUSED,
			              int dict_flags, const char **error_r)
{
    DICT_TEXTHASH *dt;
    DICT_TEXT *tp;
    const char *key, *value;
    int     line, st;
    VSTRING *fold = vstring_alloc(64);

    if ((tp = dict_text_open(name, DICT_TEXT_MAP, error_r)) == NULL) {
	vstring_free(&fold);
	return NULL;
    }
    dt = mycalloc(1, sizeof(*dt));
    dt->impl.props = DICT_PROP_FIXED;
    dt->impl.lookup = dict_texthash_lookup;
    dt->impl.sequence = dict_texthash_sequence;
    dt->impl.close = dict_texthash_close;
    dt->impl.file = mystrdup(name);
    dt->table = htable_create(64);
    while ((st = dict_text_next(tp, &key, &value, &line, error_r)) > 0) {
	HTABLE_ENTRY *ht;
	DICT_TEXTHASH_ENTRY *e;

	if (dict_flags & DICT_FLAG_FOLD_FIX)
	    key = dict_fold(fold, key);
	if ((ht = htable_locate(dt->table, key)) != NULL) {
	    e = ht->value;
	    msg_warn("%s, line %d: duplicate entry: \"%s\" (first at line %d)",
		     name, line, key, e->line);
	    myfree(e->value);
	    e->value = mystrdup(value);
	    e->line = line;
	    continue;
	}
	e = mymalloc(sizeof(*e));
	e->value = mystrdup(value);
	e->line = line;
	htable_enter(dt->table, key, e);
    }
    if (st < 0) {
	static VSTRING *msg;

	if (msg == NULL)
	    msg = vstring_alloc(100);
	vstring_set(msg, *error_r);		/* the reader's buffer goes away */
	*error_r = STR(msg);
    }
    dict_text_close(&tp);
    vstring_free(&fold);
    if (st < 0) {
	dict_texthash_close(&dt->impl);
	return NULL;
    }
    return &dt->impl;
}
