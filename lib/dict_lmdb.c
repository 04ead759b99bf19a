/* dict_lmdb - lmdb: (also hash: and btree:) tables in NAME.lmdb.
 *
 * Contract: a table opened O_RDONLY maps the file and keeps one read
 * transaction for the life of the handle: the file is never modified in
 * place (see below), so that snapshot is always the whole, consistent
 * table, and a lookup is one B-tree search with no locking.
 *
 * Writing (O_RDWR, with O_CREAT and/or O_TRUNC): entries are collected in
 * memory (the existing table is loaded first unless O_TRUNC), and
 * dict_commit() writes them, sorted, into a fresh temporary file next to
 * the target with MDB_APPEND, syncs it and renames it over NAME.lmdb, then
 * syncs the directory. Readers therefore never see a partial table, and
 * readers of the old file keep their old snapshot until they reopen
 * (dict_refresh). Nothing is written until dict_commit(); closing without
 * it discards the updates.
 *
 * Files are opened with MDB_NOSUBDIR and MDB_NOLOCK: there is no lock file,
 * because no process ever writes a file someone else may be reading.
 *
 * With O_TRUNC (a full rebuild) updates are appended to an array in an
 * arena and sorted once at commit (already-sorted input, as postmap
 * gives, is detected and not re-sorted); the last update of a key wins.
 * In that mode lookups and deletions scan the array (they are not what
 * a rebuild does). Without O_TRUNC a hash table holds the contents.
 *
 * Limits: keys up to DICT_KEY_MAX bytes (LMDB's limit); the writer holds
 * the whole table in memory.
 */
#include "sys_defs.h"

#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arena.h"
#include "dict.h"
#include "htable.h"
#include "msg.h"
#include "mymalloc.h"
#include "vstring.h"

typedef struct dict_lmdb {
    DICT_IMPL impl;
    char   *path;
    MDB_env *env;		/* read mode */
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_cursor *cursor;
    HTABLE *table;		/* update mode: key -> value (char *) */
    ARENA  *arena;		/* bulk mode (O_TRUNC): entries appended */
    HTABLE_ENTRY *bulk;		/* key, value (NULL: deleted); next unused */
    size_t  bulk_len;
    size_t  bulk_size;
    HTABLE_ENTRY **seq_list;	/* write mode iteration snapshot */
    size_t  seq_pos;
    VSTRING *key;
    VSTRING *value;
    VSTRING *err;
} DICT_LMDB;

static HTABLE_ENTRY **dict_lmdb_bulk_list(DICT_LMDB *, size_t *);

/* dict_lmdb_path - NAME.lmdb */
char   *dict_lmdb_path(const char *name)
{
    size_t  len = strlen(name);
    char   *path = mymalloc(len + 6);

    memcpy(path, name, len);
    memcpy(path + len, ".lmdb", 6);
    return path;
}

/* dict_lmdb_fail - error text in the handle's buffer */
static const char *dict_lmdb_fail(DICT_LMDB *dl, const char *what, int rc)
{
    vstring_fmt(dl->err, "%s %s: %s", what, dl->path, mdb_strerror(rc));
    return STR(dl->err);
}

/* dict_lmdb_lookup - one key */
static int dict_lmdb_lookup(DICT_IMPL *impl, const char *key, const char **value_r,
			            const char **error_r)
{
    DICT_LMDB *dl = (DICT_LMDB *) impl;
    MDB_val k, v;
    int     rc;

    if (dl->arena) {
	for (size_t i = dl->bulk_len; i-- > 0;) {
	    if (strcmp(dl->bulk[i].key, key) == 0) {
		if (dl->bulk[i].value == NULL)
		    return DICT_NOTFOUND;
		*value_r = dl->bulk[i].value;
		return DICT_FOUND;
	    }
	}
	return DICT_NOTFOUND;
    }
    if (dl->table) {
	const char *val = htable_find(dl->table, key);

	if (val == NULL)
	    return DICT_NOTFOUND;
	*value_r = val;
	return DICT_FOUND;
    }
    k.mv_data = (void *) key;
    k.mv_size = strlen(key);
    if (k.mv_size == 0 || k.mv_size > DICT_KEY_MAX)
	return DICT_NOTFOUND;
    rc = mdb_get(dl->txn, dl->dbi, &k, &v);
    if (rc == MDB_NOTFOUND)
	return DICT_NOTFOUND;
    if (rc != 0) {
	*error_r = dict_lmdb_fail(dl, "read database", rc);
	return DICT_ERROR;
    }
    vstring_setn(dl->value, v.mv_data, v.mv_size);
    *value_r = STR(dl->value);
    return DICT_FOUND;
}

/* dict_lmdb_update - store in the write buffer */
static int dict_lmdb_update(DICT_IMPL *impl, const char *key, const char *value,
			            const char **error_r)
{
    DICT_LMDB *dl = (DICT_LMDB *) impl;
    HTABLE_ENTRY *ht;
    size_t  klen = strlen(key);

    if (klen == 0 || klen > DICT_KEY_MAX) {
	vstring_fmt(dl->err, "key of %zu bytes is not between 1 and %d", klen, DICT_KEY_MAX);
	*error_r = STR(dl->err);
	return DICT_ERROR;
    }
    if (dl->arena) {
	if (dl->bulk_len == dl->bulk_size) {
	    dl->bulk_size = dl->bulk_size ? dl->bulk_size * 2 : 1024;
	    dl->bulk = myreallocarray(dl->bulk, dl->bulk_size, sizeof(*dl->bulk));
	}
	dl->bulk[dl->bulk_len].key = arena_strndup(dl->arena, key, klen);
	dl->bulk[dl->bulk_len].value = arena_strndup(dl->arena, value, strlen(value));
	dl->bulk[dl->bulk_len].next = NULL;
	dl->bulk_len++;
	return DICT_FOUND;
    }
    if ((ht = htable_locate(dl->table, key)) != NULL) {
	myfree(ht->value);
	ht->value = mystrdup(value);
    } else {
	htable_enter(dl->table, key, mystrdup(value));
    }
    return DICT_FOUND;
}

/* dict_lmdb_remove - delete from the write buffer */
static int dict_lmdb_remove(DICT_IMPL *impl, const char *key, const char **error_r PH_UNUSED)
{
    DICT_LMDB *dl = (DICT_LMDB *) impl;
    const char *value;

    if (dl->arena) {
	if (dict_lmdb_lookup(impl, key, &value, error_r) != DICT_FOUND)
	    return DICT_NOTFOUND;
	if (dl->bulk_len == dl->bulk_size) {
	    dl->bulk_size = dl->bulk_size ? dl->bulk_size * 2 : 1024;
	    dl->bulk = myreallocarray(dl->bulk, dl->bulk_size, sizeof(*dl->bulk));
	}
	dl->bulk[dl->bulk_len].key = arena_strndup(dl->arena, key, strlen(key));
	dl->bulk[dl->bulk_len].value = NULL;	/* tombstone */
	dl->bulk_len++;
	return DICT_FOUND;
    }
    if (htable_locate(dl->table, key) == NULL)
	return DICT_NOTFOUND;
    htable_delete(dl->table, key, myfree);
    return DICT_FOUND;
}

/* dict_lmdb_entry_cmp - LMDB's default key order (bytes, shorter first) */
static int dict_lmdb_entry_cmp(const void *a, const void *b)
{
    return strcmp((*(HTABLE_ENTRY * const *) a)->key, (*(HTABLE_ENTRY * const *) b)->key);
}

/* dict_lmdb_sequence - iterate */
static int dict_lmdb_sequence(DICT_IMPL *impl, int how, const char **key_r,
			              const char **value_r, const char **error_r)
{
    DICT_LMDB *dl = (DICT_LMDB *) impl;
    MDB_val k, v;
    int     rc;

    if (dl->table || dl->arena) {
	if (how == DICT_SEQ_FIRST) {
	    size_t  count;

	    myfree(dl->seq_list);
	    if (dl->arena) {
		dl->seq_list = dict_lmdb_bulk_list(dl, &count);
	    } else {
		dl->seq_list = htable_list(dl->table);
		qsort(dl->seq_list, dl->table->used, sizeof(*dl->seq_list), dict_lmdb_entry_cmp);
	    }
	    dl->seq_pos = 0;
	}
	if (dl->seq_list == NULL || dl->seq_list[dl->seq_pos] == NULL)
	    return DICT_NOTFOUND;
	*key_r = dl->seq_list[dl->seq_pos]->key;
	*value_r = dl->seq_list[dl->seq_pos]->value;
	dl->seq_pos++;
	return DICT_FOUND;
    }
    if (dl->cursor == NULL && (rc = mdb_cursor_open(dl->txn, dl->dbi, &dl->cursor)) != 0) {
	*error_r = dict_lmdb_fail(dl, "read database", rc);
	return DICT_ERROR;
    }
    rc = mdb_cursor_get(dl->cursor, &k, &v, how == DICT_SEQ_FIRST ? MDB_FIRST : MDB_NEXT);
    if (rc == MDB_NOTFOUND)
	return DICT_NOTFOUND;
    if (rc != 0) {
	*error_r = dict_lmdb_fail(dl, "read database", rc);
	return DICT_ERROR;
    }
    vstring_setn(dl->key, k.mv_data, k.mv_size);
    vstring_setn(dl->value, v.mv_data, v.mv_size);
    *key_r = STR(dl->key);
    *value_r = STR(dl->value);
    return DICT_FOUND;
}

/* dict_lmdb_close_env - end the read snapshot */
static void dict_lmdb_close_env(DICT_LMDB *dl)
{
    if (dl->cursor)
	mdb_cursor_close(dl->cursor);
    dl->cursor = NULL;
    if (dl->txn)
	mdb_txn_abort(dl->txn);
    dl->txn = NULL;
    if (dl->env)
	mdb_env_close(dl->env);
    dl->env = NULL;
}

/* dict_lmdb_open_env - map an existing file read-only: 0, or an LMDB/errno code */
static int dict_lmdb_open_env(DICT_LMDB *dl)
{
    int     rc;

    if ((rc = mdb_env_create(&dl->env)) != 0)
	return rc;
    if ((rc = mdb_env_open(dl->env, dl->path, MDB_RDONLY | MDB_NOSUBDIR | MDB_NOLOCK, 0644)) != 0
	|| (rc = mdb_txn_begin(dl->env, NULL, MDB_RDONLY, &dl->txn)) != 0
	|| (rc = mdb_dbi_open(dl->txn, NULL, 0, &dl->dbi)) != 0) {
	dict_lmdb_close_env(dl);
	return rc;
    }
    return 0;
}

/* dict_lmdb_write_file - one attempt at writing all entries into tmp */
static int dict_lmdb_write_file(const char *tmp, HTABLE_ENTRY **list, size_t count,
				        size_t mapsize)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_val k, v;
    int     rc;

    if ((rc = mdb_env_create(&env)) != 0)
	return rc;
    if ((rc = mdb_env_set_mapsize(env, mapsize)) != 0
	|| (rc = mdb_env_open(env, tmp, MDB_NOSUBDIR | MDB_NOLOCK | MDB_NOSYNC, 0644)) != 0
	|| (rc = mdb_txn_begin(env, NULL, 0, &txn)) != 0) {
	mdb_env_close(env);
	return rc;
    }
    if ((rc = mdb_dbi_open(txn, NULL, 0, &dbi)) != 0)
	goto abort;
    for (size_t i = 0; i < count; i++) {
	k.mv_data = list[i]->key;
	k.mv_size = strlen(list[i]->key);
	v.mv_data = list[i]->value;
	v.mv_size = strlen(list[i]->value);
	if ((rc = mdb_put(txn, dbi, &k, &v, MDB_APPEND)) != 0)
	    goto abort;
    }
    if ((rc = mdb_txn_commit(txn)) != 0) {
	mdb_env_close(env);
	return rc;
    }
    rc = mdb_env_sync(env, 1);
    mdb_env_close(env);
    return rc;

abort:
    mdb_txn_abort(txn);
    mdb_env_close(env);
    return rc;
}

/* dict_lmdb_fsync_dir - make the rename durable */
static int dict_lmdb_fsync_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    char   *dir = slash ? mystrndup(path, slash == path ? 1 : (size_t) (slash - path)) : mystrdup(".");
    int     fd, rc = -1;

    if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
	rc = fsync(fd);
	close(fd);
    }
    myfree(dir);
    return rc;
}

/* dict_lmdb_bulk_cmp - key order, then insertion order */
static int dict_lmdb_bulk_cmp(const void *a, const void *b)
{
    const HTABLE_ENTRY *x = *(HTABLE_ENTRY * const *) a, *y = *(HTABLE_ENTRY * const *) b;
    int     d = strcmp(x->key, y->key);

    return d ? d : (x < y ? -1 : x > y);
}

/* dict_lmdb_bulk_list - sorted entries, the last update of each key
 * winning and deleted keys left out */
static HTABLE_ENTRY **dict_lmdb_bulk_list(DICT_LMDB *dl, size_t *count_r)
{
    HTABLE_ENTRY **list = mymalloc((dl->bulk_len + 1) * sizeof(*list));
    bool    sorted = true;
    size_t  n = 0;

    for (size_t i = 0; i < dl->bulk_len; i++) {
	list[i] = &dl->bulk[i];
	if (i > 0 && sorted && strcmp(dl->bulk[i - 1].key, dl->bulk[i].key) >= 0)
	    sorted = false;
    }
    if (!sorted)
	qsort(list, dl->bulk_len, sizeof(*list), dict_lmdb_bulk_cmp);
    for (size_t i = 0; i < dl->bulk_len; i++) {
	if (i + 1 < dl->bulk_len && strcmp(list[i]->key, list[i + 1]->key) == 0)
	    continue;				/* a later update wins */
	if (list[i]->value != NULL)
	    list[n++] = list[i];
    }
    list[n] = NULL;
    *count_r = n;
    return list;
}

/* dict_lmdb_commit - write a fresh file and rename it into place */
static int dict_lmdb_commit(DICT_IMPL *impl, const char **error_r)
{
    DICT_LMDB *dl = (DICT_LMDB *) impl;
    HTABLE_ENTRY **list;
    size_t  count;
    size_t  est = 1 << 20;
    VSTRING *tmp = vstring_alloc(100);
    int     fd, rc;

    if (dl->arena) {
	list = dict_lmdb_bulk_list(dl, &count);
    } else {
	list = htable_list(dl->table);
	count = dl->table->used;
	qsort(list, count, sizeof(*list), dict_lmdb_entry_cmp);
    }
    for (size_t i = 0; i < count; i++) {
	size_t  n = strlen(list[i]->key) + strlen(list[i]->value) + 16;

	est += n > 1500 ? n + 4096 : n;
    }
    est = est * 2;
    vstring_fmt(tmp, "%s.tmp.%ld", dl->path, (long) getpid());
    for (;;) {
	(void) unlink(STR(tmp));
	if ((fd = open(STR(tmp), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644)) < 0) {
	    vstring_fmt(dl->err, "create %s: %s", STR(tmp), strerror(errno));
	    goto fail;
	}
	close(fd);
	rc = dict_lmdb_write_file(STR(tmp), list, count, est);
	if (rc == MDB_MAP_FULL && est < ((size_t) 1 << 40)) {
	    est *= 2;
	    continue;
	}
	if (rc != 0) {
	    vstring_fmt(dl->err, "write database %s: %s", STR(tmp), mdb_strerror(rc));
	    goto fail;
	}
	break;
    }
    if (rename(STR(tmp), dl->path) < 0) {
	vstring_fmt(dl->err, "rename %s to %s: %s", STR(tmp), dl->path, strerror(errno));
	goto fail;
    }
    if (dict_lmdb_fsync_dir(dl->path) < 0)
	msg_warn("fsync directory of %s: %s", dl->path, strerror(errno));
    myfree(list);
    vstring_free(&tmp);
    return 0;

fail:
    (void) unlink(STR(tmp));
    myfree(list);
    vstring_free(&tmp);
    *error_r = STR(dl->err);
    return -1;
}

/* dict_lmdb_free - release */
static void dict_lmdb_free(DICT_IMPL *impl)
{
    DICT_LMDB *dl = (DICT_LMDB *) impl;

    dict_lmdb_close_env(dl);
    if (dl->table)
	htable_free(&dl->table, myfree);
    arena_free(&dl->arena);
    myfree(dl->bulk);
    myfree(dl->seq_list);
    myfree(dl->path);
    vstring_free(&dl->key);
    vstring_free(&dl->value);
    vstring_free(&dl->err);
    myfree(dl);
}

/* dict_lmdb_open - open NAME.lmdb for reading or (re)building */
DICT_IMPL *dict_lmdb_open(const char *type PH_UNUSED, const char *name, int open_flags,
			          int dict_flags PH_UNUSED, const char **error_r)
{
    static VSTRING *err;
    DICT_LMDB *dl = mycalloc(1, sizeof(*dl));
    int     rc;

    if (err == NULL)
	err = vstring_alloc(100);
    dl->path = dict_lmdb_path(name);
    dl->key = vstring_alloc(64);
    dl->value = vstring_alloc(256);
    dl->err = vstring_alloc(100);
    dl->impl.props = DICT_PROP_FIXED;
    dl->impl.lookup = dict_lmdb_lookup;
    dl->impl.sequence = dict_lmdb_sequence;
    dl->impl.close = dict_lmdb_free;
    dl->impl.file = dl->path;
    if ((open_flags & O_ACCMODE) == O_RDONLY) {
	if ((rc = dict_lmdb_open_env(dl)) != 0) {
	    vstring_fmt(err, "open database %s: %s", dl->path, mdb_strerror(rc));
	    dict_lmdb_free(&dl->impl);
	    *error_r = STR(err);
	    return NULL;
	}
	return &dl->impl;
    }

    /* Write mode: load the current contents unless truncating. */
    dl->impl.props |= DICT_PROP_WRITABLE;
    dl->impl.update = dict_lmdb_update;
    dl->impl.remove = dict_lmdb_remove;
    dl->impl.commit = dict_lmdb_commit;
    if (open_flags & O_TRUNC) {
	dl->arena = arena_create();
	return &dl->impl;
    }
    dl->table = htable_create(1024);
    {
	rc = dict_lmdb_open_env(dl);
	if (rc == ENOENT && (open_flags & O_CREAT))
	    return &dl->impl;
	if (rc != 0) {
	    vstring_fmt(err, "open database %s: %s", dl->path, mdb_strerror(rc));
	    dict_lmdb_free(&dl->impl);
	    *error_r = STR(err);
	    return NULL;
	}
	for (int how = DICT_SEQ_FIRST;; how = DICT_SEQ_NEXT) {
	    MDB_val k, v;

	    if (dl->cursor == NULL && (rc = mdb_cursor_open(dl->txn, dl->dbi, &dl->cursor)) != 0)
		break;
	    rc = mdb_cursor_get(dl->cursor, &k, &v, how == DICT_SEQ_FIRST ? MDB_FIRST : MDB_NEXT);
	    if (rc != 0)
		break;
	    vstring_setn(dl->key, k.mv_data, k.mv_size);
	    htable_enter(dl->table, STR(dl->key), mystrndup(v.mv_data, v.mv_size));
	}
	dict_lmdb_close_env(dl);
	if (rc != MDB_NOTFOUND) {
	    vstring_fmt(err, "read database %s: %s", dl->path, mdb_strerror(rc));
	    dict_lmdb_free(&dl->impl);
	    *error_r = STR(err);
	    return NULL;
	}
    }
    return &dl->impl;
}
