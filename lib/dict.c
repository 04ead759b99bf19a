/* dict - the lookup-table interface: registry, sharing, refresh.
 *
 * Contract: see dict.h. Backends register an open function by type name;
 * dict_open() parses "type:name" (stripping "proxy:"), shares an already
 * open handle with the same spec and flags, folds keys for tables opened
 * with DICT_FLAG_FOLD_FIX, and prefixes backend error text with the
 * table's spec so every error names its table.
 *
 * Limits: the open-table list is linear (a process opens tens of tables,
 * not thousands). Not thread-safe (no Posthorn process uses threads).
 */
#include "sys_defs.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "dict.h"
#include "msg.h"
#include "mymalloc.h"
#include "vstring.h"

typedef struct dict_backend {
    char   *type;
    DICT_OPEN_FN open_fn;
} DICT_BACKEND;

static DICT_BACKEND *dict_backends;
static size_t dict_backend_count;
static DICT **dict_open_list;
static size_t dict_open_count;

/* dict_register_builtins - the backends every program has */
static void dict_register_builtins(void)
{
    static bool done;

    if (done)
	return;
    done = true;
    dict_register("lmdb", dict_lmdb_open);
    dict_register("hash", dict_lmdb_open);
    dict_register("btree", dict_lmdb_open);
    dict_register("texthash", dict_texthash_open);
    dict_register("regexp", dict_regexp_open);
    dict_register("pcre", dict_regexp_open);
    dict_register("cidr", dict_cidr_open);
    dict_register("static", dict_static_open);
    dict_register("inline", dict_inline_open);
    dict_register("fail", dict_fail_open);
    dict_register("unix", dict_unix_open);
}

/* dict_register - add or replace a backend */
void    dict_register(const char *type, DICT_OPEN_FN open_fn)
{
    for (size_t i = 0; i < dict_backend_count; i++) {
	if (strcmp(dict_backends[i].type, type) == 0) {
	    dict_backends[i].open_fn = open_fn;
	    return;
	}
    }
    dict_backends = myreallocarray(dict_backends, dict_backend_count + 1, sizeof(*dict_backends));
    dict_backends[dict_backend_count].type = mystrdup(type);
    dict_backends[dict_backend_count].open_fn = open_fn;
    dict_backend_count++;
}

/* dict_backend_find - open function for type, or NULL */
static DICT_OPEN_FN dict_backend_find(const char *type)
{
    dict_register_builtins();
    for (size_t i = 0; i < dict_backend_count; i++)
	if (strcmp(dict_backends[i].type, type) == 0)
	    return dict_backends[i].open_fn;
    return NULL;
}

/* dict_type_known - true when type has a backend */
bool    dict_type_known(const char *type)
{
    return dict_backend_find(type) != NULL;
}

/* dict_fold - lower-case ASCII copy of key */
const char *dict_fold(VSTRING *buf, const char *key)
{
    vstring_set(buf, key);
    vstring_lower(buf);
    return STR(buf);
}

/* dict_file_stat - stat a table file, insisting on a regular file */
int     dict_file_stat(const char *path, struct stat *st)
{
    if (stat(path, st) < 0)
	return -1;
    if (!S_ISREG(st->st_mode)) {
	errno = EINVAL;
	return -1;
    }
    return 0;
}

/* dict_note_file - remember the watched file's identity */
static void dict_note_file(DICT *d)
{
    d->have_st = (d->impl->file != NULL && stat(d->impl->file, &d->st) == 0);
}

/* dict_split - "type:name" into parts; -1 when there is no colon */
static int dict_split(const char *spec, char **type_r, char **name_r)
{
    const char *colon;

    while (strncmp(spec, "proxy:", 6) == 0)
	spec += 6;
    if ((colon = strchr(spec, ':')) == NULL || colon == spec)
	return -1;
    *type_r = mystrndup(spec, (size_t) (colon - spec));
    *name_r = mystrdup(colon + 1);
    return 0;
}

/* dict_open - open or share a table */
DICT   *dict_open(const char *spec, int open_flags, int dict_flags, const char **error_r)
{
    static VSTRING *err;
    char   *type, *name;
    DICT_OPEN_FN open_fn;
    DICT_IMPL *impl;
    DICT   *d;
    const char *why = NULL;

    if (err == NULL)
	err = vstring_alloc(100);
    if (dict_split(spec, &type, &name) < 0) {
	vstring_fmt(err, "table \"%s\": expected type:name", spec);
	*error_r = STR(err);
	return NULL;
    }
    for (size_t i = 0; i < dict_open_count; i++) {
	d = dict_open_list[i];
	if (strcmp(d->type, type) == 0 && strcmp(d->name, name) == 0
	    && d->open_flags == open_flags && d->dict_flags == dict_flags) {
	    d->refcount++;
	    myfree(type);
	    myfree(name);
	    return d;
	}
    }
    if ((open_fn = dict_backend_find(type)) == NULL) {
	vstring_fmt(err, "unsupported dictionary type: %s", type);
	myfree(type);
	myfree(name);
	*error_r = STR(err);
	return NULL;
    }
    if ((impl = open_fn(type, name, open_flags, dict_flags, &why)) == NULL) {
	vstring_set(err, why ? why : "unknown error");
	myfree(type);
	myfree(name);
	*error_r = STR(err);
	return NULL;
    }
    d = mycalloc(1, sizeof(*d));
    d->type = type;
    d->name = name;
    d->spec = mymalloc(strlen(type) + strlen(name) + 2);
    vstring_set(err, type);
    vstring_addch(err, ':');
    vstring_cat(err, name);
    memcpy(d->spec, STR(err), LEN(err) + 1);
    d->open_flags = open_flags;
    d->dict_flags = dict_flags;
    d->refcount = 1;
    d->impl = impl;
    d->keybuf = vstring_alloc(64);
    d->errbuf = vstring_alloc(64);
    dict_note_file(d);
    dict_open_list = myreallocarray(dict_open_list, dict_open_count + 1, sizeof(*dict_open_list));
    dict_open_list[dict_open_count++] = d;
    return d;
}

/* dict_free - release a handle that is not in the open list */
static void dict_free(DICT *d)
{
    if (d->impl)
	d->impl->close(d->impl);
    myfree(d->type);
    myfree(d->name);
    myfree(d->spec);
    vstring_free(&d->keybuf);
    vstring_free(&d->errbuf);
    myfree(d);
}

/* dict_close - drop a reference */
void    dict_close(DICT **dp)
{
    DICT   *d = *dp;

    if (d == NULL)
	return;
    *dp = NULL;
    if (--d->refcount > 0)
	return;
    for (size_t i = 0; i < dict_open_count; i++) {
	if (dict_open_list[i] == d) {
	    dict_open_list[i] = dict_open_list[--dict_open_count];
	    break;
	}
    }
    dict_free(d);
}

/* dict_error - prefix a backend error with the table spec */
static int dict_error(DICT *d, const char *why, const char **error_r)
{
    if (why != STR(d->errbuf))
	vstring_fmt(d->errbuf, "%s: %s", d->spec, why ? why : "lookup error");
    *error_r = STR(d->errbuf);
    return DICT_ERROR;
}

/* dict_key - the key as the backend should see it */
static const char *dict_key(DICT *d, const char *key, int flags)
{
    if (((d->dict_flags & DICT_FLAG_FOLD_FIX) && (d->impl->props & DICT_PROP_FIXED))
	|| (flags & DICT_LOOKUP_FOLD))
	return dict_fold(d->keybuf, key);
    return key;
}

/* dict_lookup - look one key up */
int     dict_lookup(DICT *d, const char *key, int flags, const char **value_r,
		            const char **error_r)
{
    const char *why = NULL;
    int     status;

    if (d == NULL || d->impl == NULL)
	msg_panic("dict_lookup: no table");
    status = d->impl->lookup(d->impl, dict_key(d, key, flags), value_r, &why);
    if (status == DICT_ERROR)
	return dict_error(d, why, error_r);
    if (status == DICT_FOUND && (flags & DICT_LOOKUP_ONE) && strchr(*value_r, ',')) {
	vstring_fmt(d->errbuf, "%s: key \"%s\": expected one result, found several", d->spec, key);
	*error_r = STR(d->errbuf);
	return DICT_ERROR;
    }
    return status;
}

/* dict_update - store one entry */
int     dict_update(DICT *d, const char *key, const char *value, const char **error_r)
{
    const char *why = NULL;

    if (d->impl->update == NULL) {
	vstring_fmt(d->errbuf, "%s: table does not support updates", d->spec);
	*error_r = STR(d->errbuf);
	return DICT_ERROR;
    }
    if (d->impl->update(d->impl, dict_key(d, key, 0), value, &why) == DICT_ERROR)
	return dict_error(d, why, error_r);
    return DICT_FOUND;
}

/* dict_remove - delete one entry */
int     dict_remove(DICT *d, const char *key, const char **error_r)
{
    const char *why = NULL;
    int     status;

    if (d->impl->remove == NULL) {
	vstring_fmt(d->errbuf, "%s: table does not support deletions", d->spec);
	*error_r = STR(d->errbuf);
	return DICT_ERROR;
    }
    if ((status = d->impl->remove(d->impl, dict_key(d, key, 0), &why)) == DICT_ERROR)
	return dict_error(d, why, error_r);
    return status;
}

/* dict_sequence - iterate over all entries */
int     dict_sequence(DICT *d, int how, const char **key_r, const char **value_r,
		              const char **error_r)
{
    const char *why = NULL;
    int     status;

    if (d->impl->sequence == NULL) {
	vstring_fmt(d->errbuf, "%s: table does not support iteration", d->spec);
	*error_r = STR(d->errbuf);
	return DICT_ERROR;
    }
    if ((status = d->impl->sequence(d->impl, how, key_r, value_r, &why)) == DICT_ERROR)
	return dict_error(d, why, error_r);
    return status;
}

/* dict_commit - make updates durable */
int     dict_commit(DICT *d, const char **error_r)
{
    const char *why = NULL;

    if (d->impl->commit == NULL)
	return 0;
    if (d->impl->commit(d->impl, &why) < 0) {
	dict_error(d, why, error_r);
	return -1;
    }
    dict_note_file(d);
    return 0;
}

/* dict_is_changed - has the watched file been replaced? */
static bool dict_is_changed(DICT *d)
{
    struct stat st;

    if (d->impl == NULL || d->impl->file == NULL || (d->dict_flags & DICT_FLAG_NO_FILE_CHECK)
	|| (d->open_flags & O_ACCMODE) != O_RDONLY)
	return false;
    if (stat(d->impl->file, &st) < 0)
	return false;			/* gone: keep what we have until it is back */
    if (!d->have_st)
	return true;
    return st.st_ino != d->st.st_ino || st.st_dev != d->st.st_dev
	|| st.st_size != d->st.st_size
	|| st.st_mtim.tv_sec != d->st.st_mtim.tv_sec
	|| st.st_mtim.tv_nsec != d->st.st_mtim.tv_nsec;
}

/* dict_changed_name - first rebuilt table, or NULL */
const char *dict_changed_name(void)
{
    for (size_t i = 0; i < dict_open_count; i++)
	if (dict_is_changed(dict_open_list[i]))
	    return dict_open_list[i]->spec;
    return NULL;
}

/* dict_refresh - reopen rebuilt tables in place */
int     dict_refresh(void)
{
    int     count = 0;

    for (size_t i = 0; i < dict_open_count; i++) {
	DICT   *d = dict_open_list[i];
	DICT_OPEN_FN open_fn;
	DICT_IMPL *impl;
	const char *why = NULL;

	if (!dict_is_changed(d) || (open_fn = dict_backend_find(d->type)) == NULL)
	    continue;
	if ((impl = open_fn(d->type, d->name, d->open_flags, d->dict_flags, &why)) == NULL) {
	    msg_warn("%s: table changed but cannot be reopened, using the old contents: %s",
		     d->spec, why ? why : "unknown error");
	    dict_note_file(d);		/* warn once per change, not per call */
	    continue;
	}
	d->impl->close(d->impl);
	d->impl = impl;
	dict_note_file(d);
	msg_info("%s: table changed, reopened", d->spec);
	count++;
    }
    return count;
}

/* Surrogate: every lookup is an error with a fixed reason. */
typedef struct dict_surrogate_impl {
    DICT_IMPL impl;
    char   *reason;
} DICT_SURROGATE_IMPL;

/* dict_surrogate_lookup - always fail */
static int dict_surrogate_lookup(DICT_IMPL *impl, const char *key PH_UNUSED,
				         const char **value_r PH_UNUSED, const char **error_r)
{
    *error_r = ((DICT_SURROGATE_IMPL *) impl)->reason;
    return DICT_ERROR;
}

/* dict_surrogate_close - release */
static void dict_surrogate_close(DICT_IMPL *impl)
{
    myfree(((DICT_SURROGATE_IMPL *) impl)->reason);
    myfree(impl);
}

/* dict_surrogate - a table that defers every lookup */
DICT   *dict_surrogate(const char *spec, const char *reason)
{
    DICT_SURROGATE_IMPL *s = mycalloc(1, sizeof(*s));
    DICT   *d = mycalloc(1, sizeof(*d));
    char   *type, *name;

    s->impl.lookup = dict_surrogate_lookup;
    s->impl.close = dict_surrogate_close;
    s->reason = mystrdup(reason);
    if (dict_split(spec, &type, &name) < 0) {
	type = mystrdup("fail");
	name = mystrdup(spec);
    }
    d->type = type;
    d->name = name;
    d->spec = mystrdup(spec);
    d->open_flags = -1;			/* never shared */
    d->refcount = 1;
    d->impl = &s->impl;
    d->keybuf = vstring_alloc(16);
    d->errbuf = vstring_alloc(64);
    dict_open_list = myreallocarray(dict_open_list, dict_open_count + 1, sizeof(*dict_open_list));
    dict_open_list[dict_open_count++] = d;
    return d;
}
