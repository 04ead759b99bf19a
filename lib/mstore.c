/* mstore - mailbox storage: opening a user's storage, folder names,
 * the folder list, create/delete/rename, subscriptions, special-use
 * folders, quota (see mstore.h for the contract and layout).
 *
 * Folder operations run inside an LMDB write transaction, which also
 * serializes them against syncs by other sessions of the same user.
 * Deleting a folder first renames its directory to "..DELETED.*" (never
 * listed: an empty first component is not a folder name), so the folder
 * disappears atomically, and then removes the files.
 */
#include "sys_defs.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "imap_utf7.h"
#include "mailbox.h"
#include "msg.h"
#include "mymalloc.h"
#include "mstore_private.h"

static const struct {
    const char *name;
    unsigned flag;
} mstore_specials[] = {
    {"Drafts", MSTORE_SPECIAL_DRAFTS},
    {"Sent", MSTORE_SPECIAL_SENT},
    {"Junk", MSTORE_SPECIAL_JUNK},
    {"Trash", MSTORE_SPECIAL_TRASH},
    {"Archive", MSTORE_SPECIAL_ARCHIVE},
};

/* mstore_fail - set the error text; returns -1 */
int     mstore_fail(MSTORE *store, const char **error_r, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vstring_reset(store->err);
    vstring_vfmt_append(store->err, fmt, ap);
    va_end(ap);
    if (error_r)
	*error_r = STR(store->err);
    return -1;
}

/* mstore_fail_mdb - error text for an LMDB result code */
int     mstore_fail_mdb(MSTORE *store, const char **error_r, const char *what, int rc)
{
    store->last_rc = rc;
    return mstore_fail(store, error_r, "%s: mailbox index %s: %s", what, store->index_path,
		       mdb_strerror(rc));
}

/* mstore_errptr - point *error_r at the stored error; returns -1 */
int     mstore_errptr(MSTORE *store, const char **error_r)
{
    if (error_r)
	*error_r = STR(store->err);
    return -1;
}

/* mstore_now_us - wall clock in microseconds */
int64_t mstore_now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* mstore_dir_key - index key of a folder directory name */
const char *mstore_dir_key(const char *dir)
{
    return dir[0] ? dir : MSTORE_INBOX_KEY;
}

/* mstore_folder_path - absolute path of a folder */
void    mstore_folder_path(const MSTORE *store, const char *dir, VSTRING *path)
{
    if (dir[0])
	vstring_fmt(path, "%s/%s", store->root, dir);
    else
	vstring_set(path, store->root);
}

/* mstore_write_file - replace a small file atomically (tmp + rename) */
int     mstore_write_file(const char *path, const char *data, size_t len)
{
    VSTRING *tmp = vstring_alloc(256);
    int     fd, status = -1;

    vstring_fmt(tmp, "%s.tmp.%ld", path, (long) getpid());
    (void) unlink(STR(tmp));
    fd = open(STR(tmp), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd >= 0) {
	ssize_t n = write(fd, data, len);

	if (close(fd) == 0 && n == (ssize_t) len && rename(STR(tmp), path) == 0)
	    status = 0;
	else
	    (void) unlink(STR(tmp));
    }
    vstring_free(&tmp);
    return status;
}

/* mstore_parse_location - mail_location into root and index path */
static int mstore_parse_location(MSTORE *store, const MSTORE_SETTINGS *set, const char **error_r)
{
    const char *loc = set->location ? set->location : "";
    const char *home = set->home ? set->home : getenv("HOME");
    char   *copy, *field, *next;
    VSTRING *expanded = vstring_alloc(256);
    int     status = 0;

    if (strncmp(loc, "maildir:", 8) != 0) {
	vstring_free(&expanded);
	return mstore_fail(store, error_r, "mail_location %s: only maildir: is supported", loc);
    }
    copy = mystrdup(loc + 8);
    for (field = copy, next = NULL; field != NULL && status == 0; field = next) {
	if ((next = strchr(field, ':')) != NULL)
	    *next++ = 0;
	bool    is_root = (field == copy);
	const char *value = field;

	if (!is_root) {
	    if (strncmp(field, "INDEX=", 6) != 0)
		continue;			/* other Dovecot keys: not used */
	    value = field + 6;
	}
	if (value[0] == '~' && (value[1] == '/' || value[1] == 0)) {
	    if (home == NULL || home[0] != '/') {
		status = mstore_fail(store, error_r, "mail_location %s: ~ used but no home directory", loc);
		break;
	    }
	    vstring_fmt(expanded, "%s%s", home, value + 1);
	} else
	    vstring_set(expanded, value);
	while (LEN(expanded) > 1 && STR(expanded)[LEN(expanded) - 1] == '/')
	    vstring_truncate(expanded, LEN(expanded) - 1);
	if (STR(expanded)[0] != '/') {
	    status = mstore_fail(store, error_r, "mail_location %s: %s is not an absolute path", loc,
				 is_root ? "the Maildir" : "INDEX=");
	    break;
	}
	if (is_root) {
	    store->root = mystrdup(STR(expanded));
	} else {
	    myfree(store->index_path);
	    vstring_cat(expanded, "/posthorn-index.lmdb");
	    store->index_path = mystrdup(STR(expanded));
	}
    }
    myfree(copy);
    vstring_free(&expanded);
    if (status == 0 && store->root == NULL)
	status = mstore_fail(store, error_r, "mail_location %s: no Maildir path", loc);
    return status;
}

/* mstore_mkdirs - mkdir -p with mode 0700 */
static int mstore_mkdirs(const char *path)
{
    char   *copy = mystrdup(path);
    int     status = 0;

    for (char *cp = copy + 1;; cp++) {
	if (*cp == '/' || *cp == 0) {
	    char    save = *cp;

	    *cp = 0;
	    if (mkdir(copy, 0700) < 0 && errno != EEXIST) {
		status = -1;
		break;
	    }
	    *cp = save;
	    if (save == 0)
		break;
	}
    }
    myfree(copy);
    return status;
}

/* mstore_open - open a user's storage */
MSTORE *mstore_open(const MSTORE_SETTINGS *set, const char **error_r)
{
    MSTORE *store = mycalloc(1, sizeof(*store));
    VSTRING *why = vstring_alloc(100);
    static const char *err_copy;

    store->err = vstring_alloc(100);
    store->scratch = vstring_alloc(256);
    store->sep = set->separator ? set->separator : '.';
    if (store->sep != '.' && store->sep != '/') {
	mstore_fail(store, error_r, "imap_hierarchy_separator %c: must be . or /", store->sep);
	goto bad;
    }
    if (mstore_quota_parse(set->quota ? set->quota : "", &store->quota_limit) < 0) {
	mstore_fail(store, error_r, "mail_quota %s: bad size", set->quota);
	goto bad;
    }
    if (mstore_parse_location(store, set, error_r) < 0)
	goto bad;
    if (store->index_path == NULL) {
	vstring_fmt(why, "%s/posthorn-index.lmdb", store->root);
	store->index_path = mystrdup(STR(why));
    }
    if (mstore_mkdirs(store->root) < 0 || maildir_make(store->root, why) < 0) {
	mstore_fail(store, error_r, "create Maildir %s: %s", store->root,
		    LEN(why) ? STR(why) : strerror(errno));
	goto bad;
    }
    char   *slash = strrchr(store->index_path, '/');

    if (slash && slash != store->index_path) {
	*slash = 0;
	int     rc = mstore_mkdirs(store->index_path);

	*slash = '/';
	if (rc < 0) {
	    mstore_fail(store, error_r, "create index directory for %s: %m", store->index_path);
	    goto bad;
	}
    }
    if (mstore_index_open(store, error_r) < 0)
	goto bad;
    vstring_free(&why);
    return store;

bad:
    /* The error text lives in the store we are about to free. */
    myfree((void *) err_copy);
    err_copy = mystrdup(STR(store->err));
    if (error_r)
	*error_r = err_copy;
    vstring_free(&why);
    mstore_close(&store);
    return NULL;
}

/* mstore_close - release everything */
void    mstore_close(MSTORE **storep)
{
    MSTORE *store = *storep;
    const char *err;

    if (store == NULL)
	return;
    if (mstore_cache_flush(store, &err) < 0)
	msg_warn("%s: %s", store->index_path, err);
    myfree(store->pending);
    mstore_index_close(store);
    myfree(store->root);
    myfree(store->index_path);
    vstring_free(&store->err);
    vstring_free(&store->scratch);
    myfree(store);
    *storep = NULL;
}

/* mstore_root - Maildir root */
const char *mstore_root(const MSTORE *store)
{
    return store->root;
}

/* mstore_separator - hierarchy separator */
char    mstore_separator(const MSTORE *store)
{
    return store->sep;
}

/* mstore_error - last error */
const char *mstore_error(const MSTORE *store)
{
    return STR(store->err);
}

/* ---- names ---- */

/* mstore_name_to_dir - IMAP name to Maildir++ directory name */
int     mstore_name_to_dir(const MSTORE *cstore, const char *name, VSTRING *dir, const char **error_r)
{
    MSTORE *store = (MSTORE *) cstore;
    const char *cp, *end;
    size_t  len = strlen(name);

    if (strcasecmp(name, "INBOX") == 0) {
	vstring_reset(dir);
	return 0;
    }
    if (len == 0)
	return mstore_fail(store, error_r, "Empty mailbox name");
    if (!imap_utf8_is_valid(name, len))
	return mstore_fail(store, error_r, "Mailbox name is not valid UTF-8");
    for (cp = name; *cp; cp++) {
	unsigned char ch = (unsigned char) *cp;

	if (ch < 0x20 || ch == 0x7f)
	    return mstore_fail(store, error_r, "Control characters not allowed in mailbox names");
	if (ch == '*' || ch == '%')
	    return mstore_fail(store, error_r, "Character not allowed in mailbox name: '%c'", ch);
	if (ch == '/' && store->sep == '.')
	    return mstore_fail(store, error_r, "Character not allowed in mailbox name: '/'");
	if (ch == '.' && store->sep == '/')
	    return mstore_fail(store, error_r, "Character not allowed in mailbox name: '.'");
    }
    if (name[0] == '~')
	return mstore_fail(store, error_r, "Mailbox name may not begin with '~'");
    vstring_set(dir, ".");
    for (cp = name;; cp = end + 1) {
	end = strchr(cp, store->sep);
	size_t  clen = end ? (size_t) (end - cp) : strlen(cp);

	if (clen == 0)
	    return mstore_fail(store, error_r, "Empty hierarchy level in mailbox name");
	if ((clen == 1 && cp[0] == '.') || (clen == 2 && cp[0] == '.' && cp[1] == '.'))
	    return mstore_fail(store, error_r, "Mailbox name may not contain . or .. levels");
	if (LEN(dir) > 1)
	    vstring_addch(dir, '.');
	if (cp == name && clen == 5 && strncasecmp(cp, "INBOX", 5) == 0)
	    vstring_cat(dir, "INBOX");
	else if (imap_utf8_to_utf7(cp, clen, dir) < 0)
	    return mstore_fail(store, error_r, "Mailbox name is not valid UTF-8");
	if (LEN(dir) > MSTORE_NAME_MAX)
	    return mstore_fail(store, error_r, "Mailbox name too long");
	if (end == NULL)
	    break;
    }
    return 0;
}

/* mstore_dir_to_name - Maildir++ directory name to IMAP name */
int     mstore_dir_to_name(const MSTORE *store, const char *dir, VSTRING *name)
{
    const char *cp, *end;
    size_t  start;

    vstring_reset(name);
    if (dir[0] == 0) {
	vstring_set(name, "INBOX");
	return 0;
    }
    if (dir[0] != '.' || dir[1] == 0 || strlen(dir) > MSTORE_NAME_MAX)
	return -1;
    if (strcmp(dir, ".INBOX") == 0)
	return -1;				/* would shadow INBOX */
    for (cp = dir + 1;; cp = end + 1) {
	end = strchr(cp, '.');
	size_t  clen = end ? (size_t) (end - cp) : strlen(cp);

	if (clen == 0)
	    return -1;
	if (LEN(name))
	    vstring_addch(name, store->sep);
	start = LEN(name);
	if (imap_utf7_to_utf8(cp, clen, name) < 0)
	    return -1;
	for (size_t i = start; i < LEN(name); i++) {
	    unsigned char ch = (unsigned char) STR(name)[i];

	    if (ch == (unsigned char) store->sep || ch == '/' || ch < 0x20 || ch == 0x7f
		|| ch == '*' || ch == '%')
		return -1;
	}
	if (end == NULL)
	    break;
    }
    /* Only directories that the forward mapping would produce are
     * folders (".inbox", ".~x" and the like are not): listing and
     * selecting must agree. */
    VSTRING *back = vstring_alloc(LEN(name) + 16);
    const char *err_save = NULL;
    int     ok;

    ok = mstore_name_to_dir(store, STR(name), back, &err_save) == 0 && strcmp(STR(back), dir) == 0;
    vstring_free(&back);
    return ok ? 0 : -1;
}

/* ---- the folder list ---- */

/* mstore_subs_read - the subscription file's lines */
static char **mstore_subs_read(MSTORE *store, size_t *n_r)
{
    VSTRING *path = vstring_alloc(256), *buf = vstring_alloc(1024);
    char  **lines = NULL;
    size_t  n = 0;
    int     fd;
    char    chunk[4096];
    ssize_t got;

    vstring_fmt(path, "%s/%s", store->root, MSTORE_SUBS_FILE);
    if ((fd = open(STR(path), O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) >= 0) {
	while ((got = read(fd, chunk, sizeof(chunk))) > 0 && LEN(buf) < (1 << 22))
	    vstring_catn(buf, chunk, (size_t) got);
	close(fd);
    }
    for (char *cp = STR(buf), *nl; *cp; cp = nl) {
	if ((nl = strchr(cp, '\n')) != NULL)
	    *nl++ = 0;
	else
	    nl = cp + strlen(cp);
	if (*cp == 0)
	    continue;
	lines = myreallocarray(lines, n + 1, sizeof(char *));
	lines[n++] = mystrdup(cp);
    }
    vstring_free(&path);
    vstring_free(&buf);
    *n_r = n;
    return lines;
}

/* mstore_subs_free - release subscription lines */
static void mstore_subs_free(char **lines, size_t n)
{
    for (size_t i = 0; i < n; i++)
	myfree(lines[i]);
    myfree(lines);
}

/* mstore_list_add - add an entry unless present; returns it */
static MSTORE_LIST_ENTRY *mstore_list_add(MSTORE_LIST *list, const char *name, bool *added)
{
    for (size_t i = 0; i < list->len; i++)
	if (strcmp(list->entries[i].name, name) == 0) {
	    *added = false;
	    return &list->entries[i];
	}
    list->entries = myreallocarray(list->entries, list->len + 1, sizeof(*list->entries));
    MSTORE_LIST_ENTRY *e = &list->entries[list->len++];

    memset(e, 0, sizeof(*e));
    e->name = mystrdup(name);
    *added = true;
    return e;
}

/* mstore_list_cmp - INBOX first, then byte order */
static int mstore_list_cmp(const void *a, const void *b)
{
    const MSTORE_LIST_ENTRY *x = a, *y = b;
    bool    xi = strcmp(x->name, "INBOX") == 0, yi = strcmp(y->name, "INBOX") == 0;

    if (xi != yi)
	return xi ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* mstore_list - every folder, with attributes */
int     mstore_list(MSTORE *store, MSTORE_LIST *list, const char **error_r)
{
    DIR    *dp;
    struct dirent *de;
    VSTRING *name = vstring_alloc(256), *path = vstring_alloc(256);
    struct stat st;
    bool    added;
    size_t  nsubs, nreal;
    char  **subs;

    memset(list, 0, sizeof(*list));
    if ((dp = opendir(store->root)) == NULL) {
	vstring_free(&name);
	vstring_free(&path);
	return mstore_fail(store, error_r, "open Maildir %s: %m", store->root);
    }
    (void) mstore_list_add(list, "INBOX", &added);
    while ((de = readdir(dp)) != NULL) {
	if (de->d_name[0] != '.' || mstore_dir_to_name(store, de->d_name, name) < 0)
	    continue;
	if (de->d_type != DT_DIR) {
	    vstring_fmt(path, "%s/%s", store->root, de->d_name);
	    if (de->d_type != DT_UNKNOWN || stat(STR(path), &st) < 0 || !S_ISDIR(st.st_mode))
		continue;
	}
	(void) mstore_list_add(list, STR(name), &added);
    }
    closedir(dp);
    nreal = list->len;
    /* Parents that do not exist themselves (Maildir++ allows .A.B alone). */
    for (size_t i = 0; i < nreal; i++) {
	char   *copy = mystrdup(list->entries[i].name), *sep;

	while ((sep = strrchr(copy, store->sep)) != NULL) {
	    *sep = 0;
	    MSTORE_LIST_ENTRY *e = mstore_list_add(list, copy, &added);

	    if (added)
		e->nonexistent = true;
	}
	myfree(copy);
    }
    subs = mstore_subs_read(store, &nsubs);
    for (size_t i = 0; i < nsubs; i++) {
	vstring_fmt(path, ".%s", subs[i]);
	if (strcmp(subs[i], "INBOX") == 0)
	    vstring_set(name, "INBOX");
	else if (mstore_dir_to_name(store, STR(path), name) < 0)
	    continue;
	MSTORE_LIST_ENTRY *e = mstore_list_add(list, STR(name), &added);

	if (added)
	    e->nonexistent = true;
	e->subscribed = true;
    }
    mstore_subs_free(subs, nsubs);
    for (size_t i = 0; i < list->len; i++) {
	MSTORE_LIST_ENTRY *e = &list->entries[i];
	size_t  len = strlen(e->name);

	e->special = mstore_special_use(store, e->name);
	for (size_t j = 0; j < list->len && !e->has_children; j++)
	    if (!list->entries[j].nonexistent && strncmp(list->entries[j].name, e->name, len) == 0
		&& list->entries[j].name[len] == store->sep)
		e->has_children = true;
    }
    qsort(list->entries, list->len, sizeof(*list->entries), mstore_list_cmp);
    vstring_free(&name);
    vstring_free(&path);
    return 0;
}

/* mstore_list_free - release entries */
void    mstore_list_free(MSTORE_LIST *list)
{
    for (size_t i = 0; i < list->len; i++)
	myfree(list->entries[i].name);
    myfree(list->entries);
    list->entries = NULL;
    list->len = 0;
}

/* mstore_special_use - special-use attribute by name */
unsigned mstore_special_use(const MSTORE *store, const char *name)
{
    (void) store;
    for (size_t i = 0; i < PH_ARRAY_LEN(mstore_specials); i++)
	if (strcmp(name, mstore_specials[i].name) == 0)
	    return mstore_specials[i].flag;
    return 0;
}

/* ---- folders ---- */

/* mstore_exists - does the folder exist */
int     mstore_exists(MSTORE *store, const char *name, const char **error_r)
{
    VSTRING *dir = vstring_alloc(64), *path = vstring_alloc(256);
    struct stat st;
    int     status;

    if (mstore_name_to_dir(store, name, dir, error_r) < 0) {
	status = -1;
    } else {
	mstore_folder_path(store, STR(dir), path);
	vstring_cat(path, "/cur");
	status = stat(STR(path), &st) == 0 && S_ISDIR(st.st_mode) ? 1 : 0;
    }
    vstring_free(&dir);
    vstring_free(&path);
    return status;
}

/* mstore_create - create a folder */
int     mstore_create(MSTORE *store, const char *name, const char **error_r)
{
    VSTRING *dir = vstring_alloc(64), *path = vstring_alloc(256), *why = vstring_alloc(100);
    int     status = -1;

    if (mstore_name_to_dir(store, name, dir, error_r) < 0)
	goto out;
    if (LEN(dir) == 0) {
	mstore_fail(store, error_r, "[ALREADYEXISTS] Mailbox already exists");
	goto out;
    }
    mstore_folder_path(store, STR(dir), path);
    if (mkdir(STR(path), 0700) < 0) {
	if (errno == EEXIST)
	    mstore_fail(store, error_r, "[ALREADYEXISTS] Mailbox already exists");
	else
	    mstore_fail(store, error_r, "create %s: %m", STR(path));
	goto out;
    }
    if (maildir_make(STR(path), why) < 0) {
	mstore_fail(store, error_r, "%s", STR(why));
	goto out;
    }
    vstring_cat(path, "/maildirfolder");
    int     fd = open(STR(path), O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

    if (fd >= 0)
	close(fd);
    status = 0;
out:
    vstring_free(&dir);
    vstring_free(&path);
    vstring_free(&why);
    return status;
}

/* mstore_rmdir_files - remove the plain files of one directory, then it */
static void mstore_rmdir_files(const char *path)
{
    DIR    *dp = opendir(path);
    struct dirent *de;
    VSTRING *file = vstring_alloc(256);

    if (dp) {
	while ((de = readdir(dp)) != NULL) {
	    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
		continue;
	    vstring_fmt(file, "%s/%s", path, de->d_name);
	    if (unlink(STR(file)) < 0 && errno == EISDIR)
		(void) rmdir(STR(file));
	    else if (errno == EPERM || errno == EISDIR) {
		/* Linux unlink of a directory gives EISDIR; others EPERM. */
		(void) rmdir(STR(file));
	    }
	}
	closedir(dp);
    }
    if (rmdir(path) < 0 && errno != ENOENT)
	msg_warn("remove %s: %m", path);
    vstring_free(&file);
}

/* mstore_delete - delete a folder */
int     mstore_delete(MSTORE *store, const char *name, const char **error_r)
{
    VSTRING *dir = vstring_alloc(64), *path = vstring_alloc(256), *trash = vstring_alloc(256);
    MDB_txn *txn = NULL;
    MSTORE_FREC frec;
    int     rc, status = -1;

    if (mstore_name_to_dir(store, name, dir, error_r) < 0)
	goto out;
    if (LEN(dir) == 0) {
	mstore_fail(store, error_r, "INBOX can't be deleted.");
	goto out;
    }
    if ((rc = mstore_txn_write(store, &txn)) != 0) {
	mstore_fail_mdb(store, error_r, "delete", rc);
	goto out;
    }
    mstore_folder_path(store, STR(dir), path);
    vstring_fmt(trash, "%s/..DELETED.%ld.%lld", store->root, (long) getpid(),
		(long long) mstore_now_us());
    if (rename(STR(path), STR(trash)) < 0) {
	if (errno == ENOENT)
	    mstore_fail(store, error_r, "[NONEXISTENT] Mailbox doesn't exist: %s", name);
	else
	    mstore_fail(store, error_r, "rename %s: %m", STR(path));
	goto out;
    }
    if ((rc = mstore_frec_get(store, txn, STR(dir), &frec, NULL)) < 0)
	msg_warn("delete %s: %s (removing the index entry anyway)", name, STR(store->err));
    if (rc > 0) {
	if (mstore_folder_forget(store, txn, STR(dir), frec.id) < 0) {
	    mstore_errptr(store, error_r);
	    goto out;
	}
    }
    rc = mdb_txn_commit(txn);
    txn = NULL;
    if (rc != 0) {
	mstore_fail_mdb(store, error_r, "delete", rc);
	goto out;
    }
    static const char *const subs[] = {"cur", "new", "tmp"};

    for (size_t i = 0; i < PH_ARRAY_LEN(subs); i++) {
	vstring_fmt(path, "%s/%s", STR(trash), subs[i]);
	mstore_rmdir_files(STR(path));
    }
    mstore_rmdir_files(STR(trash));
    status = 0;
out:
    if (txn)
	mdb_txn_abort(txn);
    vstring_free(&dir);
    vstring_free(&path);
    vstring_free(&trash);
    return status;
}

/* mstore_move_files - rename every entry of from/ into to/ */
static int mstore_move_files(MSTORE *store, const char *from, const char *to)
{
    DIR    *dp = opendir(from);
    struct dirent *de;
    VSTRING *a = vstring_alloc(256), *b = vstring_alloc(256);
    int     status = 0;

    if (dp == NULL)
	return errno == ENOENT ? 0 : mstore_fail(store, NULL, "open %s: %m", from);
    while ((de = readdir(dp)) != NULL) {
	if (de->d_name[0] == '.')
	    continue;
	vstring_fmt(a, "%s/%s", from, de->d_name);
	vstring_fmt(b, "%s/%s", to, de->d_name);
	if (rename(STR(a), STR(b)) < 0 && errno != ENOENT) {
	    status = mstore_fail(store, NULL, "rename %s to %s: %m", STR(a), STR(b));
	    break;
	}
    }
    closedir(dp);
    vstring_free(&a);
    vstring_free(&b);
    return status;
}

/* mstore_rename_inbox - RFC 3501: move INBOX's messages into a new folder */
static int mstore_rename_inbox(MSTORE *store, MDB_txn *txn, const char *newdir,
			               const char **error_r)
{
    VSTRING *path = vstring_alloc(256), *a = vstring_alloc(256), *b = vstring_alloc(256);
    MSTORE_FREC frec, fresh;
    char  **kw = NULL;
    int     rc, status = -1;

    mstore_folder_path(store, newdir, path);
    if ((rc = mstore_frec_get(store, txn, "", &frec, &kw)) < 0) {
	mstore_errptr(store, error_r);
	goto out;
    }
    static const char *const subs[] = {"cur", "new"};

    for (size_t i = 0; i < PH_ARRAY_LEN(subs); i++) {
	vstring_fmt(a, "%s/%s", store->root, subs[i]);
	vstring_fmt(b, "%s/%s", STR(path), subs[i]);
	if (mstore_move_files(store, STR(a), STR(b)) < 0) {
	    mstore_errptr(store, error_r);
	    goto out;
	}
    }
    if (rc > 0) {
	/* The messages keep their records: the folder id moves along. */
	if (mstore_frec_put(store, txn, newdir, &frec, kw) < 0) {
	    mstore_errptr(store, error_r);
	    goto out;
	}
	mstore_uidv_write(STR(path), &frec);
	mstore_kw_write(STR(path), kw, frec.nkeywords);
    }
    if (mstore_frec_new(store, txn, &fresh) < 0 || mstore_frec_put(store, txn, "", &fresh, NULL) < 0) {
	mstore_errptr(store, error_r);
	goto out;
    }
    mstore_uidv_write(store->root, &fresh);
    mstore_kw_write(store->root, NULL, 0);
    status = 0;
out:
    if (rc > 0)
	mstore_keywords_free(&kw, frec.nkeywords);
    vstring_free(&path);
    vstring_free(&a);
    vstring_free(&b);
    return status;
}

/* mstore_rename - rename a folder and its children */
int     mstore_rename(MSTORE *store, const char *oldname, const char *newname,
		              const char **error_r)
{
    VSTRING *odir = vstring_alloc(64), *ndir = vstring_alloc(64);
    VSTRING *a = vstring_alloc(256), *b = vstring_alloc(256), *target = vstring_alloc(64);
    MDB_txn *txn = NULL;
    DIR    *dp = NULL;
    struct dirent *de;
    char  **dirs = NULL;
    size_t  ndirs = 0;
    struct stat st;
    int     rc, status = -1;

    if (mstore_name_to_dir(store, oldname, odir, error_r) < 0
	|| mstore_name_to_dir(store, newname, ndir, error_r) < 0)
	goto out;
    if (LEN(ndir) == 0) {
	mstore_fail(store, error_r, "[ALREADYEXISTS] Mailbox already exists");
	goto out;
    }
    if (LEN(odir) && strncmp(STR(ndir), STR(odir), LEN(odir)) == 0
	&& (STR(ndir)[LEN(odir)] == '.' || STR(ndir)[LEN(odir)] == 0)) {
	mstore_fail(store, error_r, "Can't rename mailbox under itself");
	goto out;
    }
    if ((rc = mstore_txn_write(store, &txn)) != 0) {
	mstore_fail_mdb(store, error_r, "rename", rc);
	goto out;
    }
    if (LEN(odir) == 0) {
	if (mstore_create(store, newname, error_r) < 0)
	    goto out;
	if (mstore_rename_inbox(store, txn, STR(ndir), error_r) < 0)
	    goto out;
	goto commit;
    }
    mstore_folder_path(store, STR(odir), a);
    if (stat(STR(a), &st) < 0) {
	mstore_fail(store, error_r, "[NONEXISTENT] Mailbox doesn't exist: %s", oldname);
	goto out;
    }
    /* The folder and every .OLD.x child. */
    if ((dp = opendir(store->root)) == NULL) {
	mstore_fail(store, error_r, "open %s: %m", store->root);
	goto out;
    }
    while ((de = readdir(dp)) != NULL) {
	if (strncmp(de->d_name, STR(odir), LEN(odir)) == 0
	    && (de->d_name[LEN(odir)] == 0 || de->d_name[LEN(odir)] == '.')) {
	    dirs = myreallocarray(dirs, ndirs + 1, sizeof(char *));
	    dirs[ndirs++] = mystrdup(de->d_name);
	}
    }
    closedir(dp);
    for (size_t i = 0; i < ndirs; i++) {
	vstring_fmt(target, "%s%s", STR(ndir), dirs[i] + LEN(odir));
	mstore_folder_path(store, STR(target), b);
	if (LEN(target) > MSTORE_NAME_MAX) {
	    mstore_fail(store, error_r, "Mailbox name too long");
	    goto out;
	}
	if (lstat(STR(b), &st) == 0) {
	    mstore_fail(store, error_r, "[ALREADYEXISTS] Mailbox already exists");
	    goto out;
	}
    }
    for (size_t i = 0; i < ndirs; i++) {
	MSTORE_FREC frec;
	char  **kw = NULL;

	vstring_fmt(target, "%s%s", STR(ndir), dirs[i] + LEN(odir));
	mstore_folder_path(store, dirs[i], a);
	mstore_folder_path(store, STR(target), b);
	if (rename(STR(a), STR(b)) < 0) {
	    mstore_fail(store, error_r, "rename %s to %s: %m", STR(a), STR(b));
	    goto out;				/* earlier renames stay: each is whole */
	}
	if ((rc = mstore_frec_get(store, txn, dirs[i], &frec, &kw)) > 0) {
	    MDB_val key;

	    rc = mstore_frec_put(store, txn, STR(target), &frec, kw);
	    mstore_keywords_free(&kw, frec.nkeywords);
	    key.mv_data = dirs[i];
	    key.mv_size = strlen(dirs[i]);
	    if (rc < 0 || mdb_del(txn, store->db_folders, &key, NULL) != 0) {
		mstore_errptr(store, error_r);
		goto out;
	    }
	}
    }
commit:
    rc = mdb_txn_commit(txn);
    txn = NULL;
    if (rc != 0) {
	mstore_fail_mdb(store, error_r, "rename", rc);
	goto out;
    }
    status = 0;
out:
    if (txn)
	mdb_txn_abort(txn);
    for (size_t i = 0; i < ndirs; i++)
	myfree(dirs[i]);
    myfree(dirs);
    vstring_free(&odir);
    vstring_free(&ndir);
    vstring_free(&a);
    vstring_free(&b);
    vstring_free(&target);
    return status;
}

/* mstore_subscribe - add or remove a subscription */
int     mstore_subscribe(MSTORE *store, const char *name, bool on, const char **error_r)
{
    VSTRING *dir = vstring_alloc(64), *text = vstring_alloc(1024), *path = vstring_alloc(256);
    const char *line;
    size_t  n;
    char  **subs;
    bool    found = false;
    int     status = 0;

    if (mstore_name_to_dir(store, name, dir, error_r) < 0) {
	vstring_free(&dir);
	vstring_free(&text);
	vstring_free(&path);
	return -1;
    }
    line = LEN(dir) ? STR(dir) + 1 : "INBOX";
    subs = mstore_subs_read(store, &n);
    for (size_t i = 0; i < n; i++) {
	if (strcmp(subs[i], line) == 0) {
	    found = true;
	    if (!on)
		continue;
	}
	vstring_fmt_append(text, "%s\n", subs[i]);
    }
    if (on && !found)
	vstring_fmt_append(text, "%s\n", line);
    mstore_subs_free(subs, n);
    if (found != on) {
	vstring_fmt(path, "%s/%s", store->root, MSTORE_SUBS_FILE);
	if (mstore_write_file(STR(path), STR(text), LEN(text)) < 0)
	    status = mstore_fail(store, error_r, "write %s: %m", STR(path));
    }
    vstring_free(&dir);
    vstring_free(&text);
    vstring_free(&path);
    return status;
}

/* mstore_ensure_special - create missing special-use folders */
int     mstore_ensure_special(MSTORE *store, const char **error_r)
{
    for (size_t i = 0; i < PH_ARRAY_LEN(mstore_specials); i++) {
	const char *name = mstore_specials[i].name;
	int     ex = mstore_exists(store, name, error_r);

	if (ex < 0)
	    return -1;
	if (ex == 0 && mstore_create(store, name, error_r) < 0
	    && strcmp(STR(store->err), "[ALREADYEXISTS] Mailbox already exists") != 0)
	    return -1;
	if (ex == 0 && mstore_subscribe(store, name, true, error_r) < 0)
	    return -1;
    }
    return mstore_subscribe(store, "INBOX", true, error_r);
}

/* ---- quota ---- */

/* mstore_quota_parse - size with an optional K/M/G/T suffix */
int     mstore_quota_parse(const char *text, uint64_t *bytes_r)
{
    uint64_t v = 0, mult = 1;
    const char *cp = text;

    *bytes_r = 0;
    if (*cp == 0)
	return 0;
    if (!isdigit((unsigned char) *cp))
	return -1;
    for (; isdigit((unsigned char) *cp); cp++) {
	if (v > (UINT64_MAX - 9) / 10)
	    return -1;
	v = v * 10 + (uint64_t) (*cp - '0');
    }
    switch (*cp) {
    case 0:
	break;
    case 'k': case 'K':
	mult = 1ULL << 10;
	break;
    case 'm': case 'M':
	mult = 1ULL << 20;
	break;
    case 'g': case 'G':
	mult = 1ULL << 30;
	break;
    case 't': case 'T':
	mult = 1ULL << 40;
	break;
    default:
	return -1;
    }
    if (*cp && cp[1] != 0 && !((cp[1] == 'B' || cp[1] == 'b') && cp[2] == 0))
	return -1;
    if (v > UINT64_MAX / mult)
	return -1;
    *bytes_r = v * mult;
    return 0;
}

/* mstore_quota_get - usage from the index */
int     mstore_quota_get(MSTORE *store, MSTORE_QUOTA *quota, const char **error_r)
{
    MDB_txn *txn;
    MDB_cursor *cur;
    MDB_val key, val;
    MSTORE_FREC frec;
    int     rc;

    memset(quota, 0, sizeof(*quota));
    quota->limit_bytes = store->quota_limit;
    if ((rc = mdb_txn_begin(store->env, NULL, MDB_RDONLY, &txn)) != 0)
	return mstore_fail_mdb(store, error_r, "quota", rc);
    if ((rc = mdb_cursor_open(txn, store->db_folders, &cur)) != 0) {
	mdb_txn_abort(txn);
	return mstore_fail_mdb(store, error_r, "quota", rc);
    }
    for (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST); rc == 0;
	 rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
	if (val.mv_size < sizeof(frec))
	    continue;
	memcpy(&frec, val.mv_data, sizeof(frec));
	quota->bytes += frec.bytes;
	quota->messages += frec.count;
    }
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    return 0;
}

/* ---- UID lists ---- */

/* mstore_uids_add - append */
void    mstore_uids_add(MSTORE_UIDS *uids, uint32_t uid)
{
    if (uids->len == uids->size) {
	uids->size = uids->size ? uids->size * 2 : 16;
	uids->uids = myreallocarray(uids->uids, uids->size, sizeof(uint32_t));
    }
    uids->uids[uids->len++] = uid;
}

/* mstore_uids_reset - empty */
void    mstore_uids_reset(MSTORE_UIDS *uids)
{
    uids->len = 0;
}

/* mstore_uids_free - release */
void    mstore_uids_free(MSTORE_UIDS *uids)
{
    myfree(uids->uids);
    uids->uids = NULL;
    uids->len = uids->size = 0;
}
