/* dict.h - lookup tables ("type:name") behind one interface.
 *
 * Every map in the suite (aliases, virtual, access, transport, sender-login,
 * TLS policy, passwd lookups) is a DICT. A backend is one file
 * (dict_lmdb.c, dict_regexp.c, ...) that fills in a DICT_IMPL: a small
 * table of function pointers. Backends are registered by type name.
 *
 * Sharing: dict_open("type:name") opens a table once per process; a second
 * open with the same spec and flags returns the same handle with a
 * reference count. A "proxy:" prefix is accepted and stripped. "hash:" and
 * "btree:" are the LMDB backend ("NAME.lmdb" next to the source).
 *
 * Results: lookups return DICT_FOUND, DICT_NOTFOUND or DICT_ERROR (with a
 * human-readable reason in *error_r naming the table). The value is valid
 * until the next operation on the same handle.
 *
 * Rebuilt tables: dict_refresh() (call at a safe point, between clients or
 * requests) reopens every file-backed table whose file was replaced
 * (inode, size or mtime changed). The handle stays the same, so callers
 * holding it (maps, match lists) see the new contents. postmap replaces
 * files by rename, so a lookup never sees a half-written table.
 *
 * Errors: open problems (missing file, syntax error with "file, line N:")
 * come back through error_r; a broken invariant (bad handle) panics.
 */
#ifndef DICT_H
#define DICT_H

#include "sys_defs.h"
#include <sys/stat.h>

#include "vstring.h"

#define DICT_FOUND	1
#define DICT_NOTFOUND	0
#define DICT_ERROR	(-1)

/* Open-time flags (dict_flags). */
#define DICT_FLAG_NONE		0
#define DICT_FLAG_FOLD_FIX	(1 << 0)	/* fold keys to lower case (fixed tables) */
#define DICT_FLAG_DUP_WARN	(1 << 1)	/* postmap: warn about duplicates, later wins */
#define DICT_FLAG_DUP_REPLACE	(1 << 2)	/* postmap -r: later wins silently */
#define DICT_FLAG_DUP_IGNORE	(1 << 3)	/* postmap -w: first wins silently */
#define DICT_FLAG_NO_FILE_CHECK	(1 << 4)	/* never reopened by dict_refresh */

/* Backend properties (DICT_IMPL.props). */
#define DICT_PROP_FIXED		(1 << 0)	/* exact-key table: partial keys make sense */
#define DICT_PROP_PATTERN	(1 << 1)	/* regexp/cidr: whole-key patterns only */
#define DICT_PROP_WRITABLE	(1 << 2)	/* update/remove work */

/* Lookup-time flags. */
#define DICT_LOOKUP_FOLD	(1 << 0)	/* fold this key even if the table does not */
#define DICT_LOOKUP_ONE		(1 << 1)	/* a result with several values is an error */

#define DICT_SEQ_FIRST	0
#define DICT_SEQ_NEXT	1

/* Bounds for keys and values read from text sources. LMDB's own key
 * limit is 511 bytes, so a table that compiles also loads. */
#define DICT_KEY_MAX	511
#define DICT_VALUE_MAX	(256 * 1024)

typedef struct dict_impl DICT_IMPL;

struct dict_impl {
    int     props;			/* DICT_PROP_* */
    /* lookup - DICT_FOUND with *value_r, DICT_NOTFOUND, DICT_ERROR with *error_r */
    int     (*lookup) (DICT_IMPL *, const char *key, const char **value_r, const char **error_r);
    /* update/remove - optional (NULL: read-only); same result codes */
    int     (*update) (DICT_IMPL *, const char *key, const char *value, const char **error_r);
    int     (*remove) (DICT_IMPL *, const char *key, const char **error_r);
    /* sequence - optional; DICT_FOUND per entry, DICT_NOTFOUND at the end */
    int     (*sequence) (DICT_IMPL *, int how, const char **key_r, const char **value_r, const char **error_r);
    /* commit - optional: make updates durable (atomic replace); 0 or -1 */
    int     (*commit) (DICT_IMPL *, const char **error_r);
    void    (*close) (DICT_IMPL *);
    char   *file;			/* file to watch for rebuilds, or NULL */
};

/* A backend's open function. name is the part after "type:". */
typedef DICT_IMPL *(*DICT_OPEN_FN) (const char *type, const char *name, int open_flags,
				                    int dict_flags, const char **error_r);

typedef struct dict {
    char   *type;			/* as written ("hash") */
    char   *name;			/* after the colon */
    char   *spec;			/* "type:name" */
    int     open_flags;		/* O_RDONLY, O_RDWR|O_CREAT|O_TRUNC, ... */
    int     dict_flags;		/* DICT_FLAG_* */
    int     refcount;
    DICT_IMPL *impl;
    struct stat st;		/* of impl->file when opened */
    bool    have_st;
    VSTRING *keybuf;		/* folded key */
    VSTRING *errbuf;		/* error text naming the table */
} DICT;

/* dict_register - add a backend (built-ins are registered on first use) */
void dict_register(const char *type, DICT_OPEN_FN open_fn);
/* dict_type_known - true when type has a backend */
bool dict_type_known(const char *type);

/* dict_open - open "type:name" (shared). open_flags as open(2): O_RDONLY for
 * lookups; O_RDWR|O_CREAT (|O_TRUNC) to build. NULL with *error_r on error. */
DICT   *dict_open(const char *spec, int open_flags, int dict_flags, const char **error_r);
/* dict_close - drop a reference; the last one closes. NULLs the pointer. */
void dict_close(DICT **dp);

/* dict_lookup - look key up (flags: DICT_LOOKUP_*) */
int dict_lookup(DICT *d, const char *key, int flags, const char **value_r, const char **error_r);
/* dict_update - store key=value (writable tables) */
int dict_update(DICT *d, const char *key, const char *value, const char **error_r);
/* dict_remove - delete key: DICT_FOUND when deleted, DICT_NOTFOUND */
int dict_remove(DICT *d, const char *key, const char **error_r);
/* dict_sequence - iterate (DICT_SEQ_FIRST, then DICT_SEQ_NEXT) */
int dict_sequence(DICT *d, int how, const char **key_r, const char **value_r, const char **error_r);
/* dict_commit - durable atomic replace of a table opened for writing */
int dict_commit(DICT *d, const char **error_r);

/* dict_changed_name - spec of the first open table whose file was
 * rebuilt since it was opened, or NULL */
const char *dict_changed_name(void);
/* dict_refresh - reopen every rebuilt table in place; returns how many
 * were reopened. A failed reopen keeps the old contents and warns once
 * (the next change of the file is tried again). */
int dict_refresh(void);

/* dict_surrogate - a table that fails every lookup with reason (used when
 * a table cannot be opened: the daemon keeps running, lookups defer) */
DICT   *dict_surrogate(const char *spec, const char *reason);

/* dict_file_stat - for backends: fstat-like check that a file is a regular
 * file; 0 or -1 with errno */
int dict_file_stat(const char *path, struct stat *st);

/* Helpers shared by the text-file backends. */

/* dict_fold - lower-case ASCII copy of key in buf; returns STR(buf) */
const char *dict_fold(VSTRING *buf, const char *key);

/* Built-in backend open functions (one file each). */
DICT_IMPL *dict_lmdb_open(const char *, const char *, int, int, const char **);
DICT_IMPL *dict_texthash_open(const char *, const char *, int, int, const char **);
DICT_IMPL *dict_regexp_open(const char *, const char *, int, int, const char **);
DICT_IMPL *dict_cidr_open(const char *, const char *, int, int, const char **);
DICT_IMPL *dict_static_open(const char *, const char *, int, int, const char **);
DICT_IMPL *dict_inline_open(const char *, const char *, int, int, const char **);
DICT_IMPL *dict_fail_open(const char *, const char *, int, int, const char **);
DICT_IMPL *dict_unix_open(const char *, const char *, int, int, const char **);

/* dict_lmdb_path - "NAME.lmdb" for a lmdb/hash/btree name (caller frees) */
char   *dict_lmdb_path(const char *name);

#endif
