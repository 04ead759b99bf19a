/* mkmap - compile text table sources into lmdb files.
 *
 * Contract: see mkmap.h. Duplicate keys: by default a warning names both
 * lines and the later entry wins; MKMAP_FLAG_DUP_REPLACE keeps the later
 * silently (postmap -r), MKMAP_FLAG_DUP_IGNORE the first (postmap -w).
 * When run as root, the new table gets the source file's owner.
 *
 * Limits: the whole table is held in memory while it is built.
 */
#include "sys_defs.h"

#include <errno.h>
#include <stdlib.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arena.h"
#include "dict.h"
#include "dict_text.h"
#include "mkmap.h"
#include "msg.h"
#include "mymalloc.h"
#include "vstring.h"

/* mkmap_split - type and file */
void    mkmap_split(const char *spec, char **type_r, char **file_r)
{
    const char *colon;

    while (strncmp(spec, "proxy:", 6) == 0)
	spec += 6;
    colon = strchr(spec, ':');
    if (colon != NULL && colon > spec && memchr(spec, '/', (size_t) (colon - spec)) == NULL) {
	*type_r = mystrndup(spec, (size_t) (colon - spec));
	*file_r = mystrdup(colon + 1);
    } else {
	*type_r = mystrdup("lmdb");
	*file_r = mystrdup(spec);
    }
}

/* mkmap_can_build - lmdb and its aliases */
bool    mkmap_can_build(const char *type)
{
    return strcmp(type, "lmdb") == 0 || strcmp(type, "hash") == 0 || strcmp(type, "btree") == 0;
}

typedef struct mkmap_entry {
    char   *key;
    char   *value;
    int     line;
} MKMAP_ENTRY;

/* mkmap_entry_cmp - by key, then by line */
static int mkmap_entry_cmp(const void *a, const void *b)
{
    const MKMAP_ENTRY *x = a, *y = b;
    int     d = strcmp(x->key, y->key);

    return d ? d : x->line - y->line;
}

/* mkmap_build - read, check, replace */
int     mkmap_build(const char *spec, FILE *src, int flags, const char **error_r)
{
    static VSTRING *err;
    char   *type, *file;
    DICT_TEXT *tp = NULL;
    DICT   *d = NULL;
    ARENA  *arena = arena_create();
    MKMAP_ENTRY *ents = NULL;
    size_t  count = 0, size = 0;
    VSTRING *fold = vstring_alloc(64);
    VSTRING *full = vstring_alloc(64);
    const char *key, *value, *why;
    int     line, st, rc = -1;
    int     format = (flags & MKMAP_FLAG_ALIASES) ? DICT_TEXT_ALIASES : DICT_TEXT_MAP;
    struct stat st_src;
    bool    have_src_st = false;

    if (err == NULL)
	err = vstring_alloc(100);
    mkmap_split(spec, &type, &file);
    vstring_fmt(full, "%s:%s", type, file);
    if (!mkmap_can_build(type)) {
	vstring_fmt(err, "unsupported dictionary type for building: %s", type);
	*error_r = STR(err);
	goto out;
    }
    if (src) {
	tp = dict_text_fdopen(src, "-", format);
    } else {
	if ((tp = dict_text_open(file, format, &why)) == NULL) {
	    vstring_set(err, why);
	    *error_r = STR(err);
	    goto out;
	}
	have_src_st = stat(file, &st_src) == 0;
    }

    /* Read everything first: a bad source must not replace a good table. */
    while ((st = dict_text_next(tp, &key, &value, &line, &why)) > 0) {
	const char *k = (flags & MKMAP_FLAG_NOFOLD) ? key : dict_fold(fold, key);

	if (count == size) {
	    size = size ? size * 2 : 4096;
	    ents = myreallocarray(ents, size, sizeof(*ents));
	}
	ents[count].key = arena_strndup(arena, k, strlen(k));
	ents[count].value = arena_strndup(arena, value, strlen(value));
	ents[count].line = line;
	count++;
    }
    if (st < 0) {
	vstring_set(err, why);
	*error_r = STR(err);
	goto out;
    }
    qsort(ents, count, sizeof(*ents), mkmap_entry_cmp);

    d = dict_open(STR(full), src ? O_RDWR | O_CREAT : O_RDWR | O_CREAT | O_TRUNC,
		  (flags & MKMAP_FLAG_NOFOLD) ? 0 : DICT_FLAG_FOLD_FIX, &why);
    if (d == NULL) {
	vstring_set(err, why);
	*error_r = STR(err);
	goto out;
    }
    for (size_t i = 0; i < count;) {
	size_t  j = i + 1, pick;

	while (j < count && strcmp(ents[j].key, ents[i].key) == 0)
	    j++;
	pick = (flags & MKMAP_FLAG_DUP_IGNORE) ? i : j - 1;
	if (!(flags & (MKMAP_FLAG_DUP_IGNORE | MKMAP_FLAG_DUP_REPLACE)))
	    for (size_t k = i + 1; k < j; k++)
		msg_warn("%s, line %d: duplicate entry: \"%s\" (first at line %d); using the later one",
			 dict_text_name(tp), ents[k].line, ents[k].key, ents[i].line);
	if (dict_update(d, ents[pick].key, ents[pick].value, &why) == DICT_ERROR) {
	    vstring_fmt(err, "%s, line %d: %s", dict_text_name(tp), ents[pick].line, why);
	    *error_r = STR(err);
	    goto out;
	}
	i = j;
    }
    if (dict_commit(d, &why) < 0) {
	vstring_set(err, why);
	*error_r = STR(err);
	goto out;
    }
    if (have_src_st && geteuid() == 0 && !(flags & MKMAP_FLAG_KEEP_OWNER)) {
	char   *path = dict_lmdb_path(file);

	if (chown(path, st_src.st_uid, st_src.st_gid) < 0)
	    msg_warn("chown %s: %s", path, strerror(errno));
	myfree(path);
    }
    rc = 0;

out:
    dict_text_close(&tp);
    dict_close(&d);
    arena_free(&arena);
    myfree(ents);
    vstring_free(&fold);
    vstring_free(&full);
    myfree(type);
    myfree(file);
    return rc;
}
