/* mstore_index - the LMDB side of mstore (format in mstore_private.h).
 *
 * Contract: one environment per user, opened with MDB_NOSUBDIR (the file
 * and its "-lock" file sit beside each other) and MDB_NOMETASYNC: a crash
 * may lose the last transaction but leaves a consistent file, and a lost
 * transaction is redone by the next sync from the Maildir. An index that
 * LMDB refuses (not an LMDB file, wrong version, corrupt pages) or whose
 * version record is wrong is renamed to NAME.corrupt, logged, and
 * recreated empty; folders are then rebuilt from their files on open.
 *
 * Environments are shared by the stores of one process that open the
 * same index file (LMDB forbids opening a file twice in a process).
 *
 * Limits: the map is 8 GiB of address space (sparse on disk); a full map
 * is reported as an error.
 */
#include "sys_defs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "msg.h"
#include "mymalloc.h"
#include "mstore_private.h"

#define MSTORE_MAPSIZE ((size_t) 8 << 30)

/* The view's per-message cost (mstore.h promises it). */
_Static_assert(sizeof(MSTORE_MSG) <= 24, "MSTORE_MSG grew past 24 bytes");

/* mstore_mdb_corrupt - is rc a sign of a broken index file */
bool    mstore_mdb_corrupt(int rc)
{
    return rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH || rc == MDB_CORRUPTED
	|| rc == MDB_PAGE_NOTFOUND || rc == MDB_PANIC || rc == MDB_BAD_TXN
	|| rc == MDB_INCOMPATIBLE;
}

/*
 * LMDB must not have one file open twice in a process (closing one handle
 * drops the other's locks), and a post-login imapd serves several sessions
 * of one user. So the environments of a process are shared: one per
 * index file (device and inode), counted by its users.
 */
typedef struct mstore_env_ref {
    struct mstore_env_ref *next;
    MDB_env *env;
    dev_t   dev;
    ino_t   ino;
    int     refs;
    MDB_dbi db_meta, db_folders, db_msgs, db_expunged, db_cache;
} MSTORE_ENV_REF;

static MSTORE_ENV_REF *mstore_envs;

/* mstore_env_find - an environment this process has open on path */
static MSTORE_ENV_REF *mstore_env_find(const char *path)
{
    struct stat st;

    if (mstore_envs == NULL || stat(path, &st) < 0)
	return NULL;
    for (MSTORE_ENV_REF *r = mstore_envs; r; r = r->next)
	if (r->dev == st.st_dev && r->ino == st.st_ino)
	    return r;
    return NULL;
}

/* mstore_env_use - give store the shared environment r */
static void mstore_env_use(MSTORE *store, MSTORE_ENV_REF *r)
{
    r->refs++;
    store->env = r->env;
    store->db_meta = r->db_meta;
    store->db_folders = r->db_folders;
    store->db_msgs = r->db_msgs;
    store->db_expunged = r->db_expunged;
    store->db_cache = r->db_cache;
}

/* mstore_env_remember - share store's freshly opened environment */
static void mstore_env_remember(MSTORE *store)
{
    MSTORE_ENV_REF *r = mymalloc(sizeof(*r));
    struct stat st;

    memset(r, 0, sizeof(*r));
    if (stat(store->index_path, &st) == 0) {
	r->dev = st.st_dev;
	r->ino = st.st_ino;
    }
    r->env = store->env;
    r->db_meta = store->db_meta;
    r->db_folders = store->db_folders;
    r->db_msgs = store->db_msgs;
    r->db_expunged = store->db_expunged;
    r->db_cache = store->db_cache;
    r->refs = 1;
    r->next = mstore_envs;
    mstore_envs = r;
}

/* mstore_env_release - store stops using its environment; true when it
 * was the last user (the caller closes it) */
static bool mstore_env_release(MSTORE *store)
{
    for (MSTORE_ENV_REF **rp = &mstore_envs; *rp; rp = &(*rp)->next) {
	MSTORE_ENV_REF *r = *rp;

	if (r->env != store->env)
	    continue;
	if (--r->refs > 0)
	    return false;
	*rp = r->next;
	myfree(r);
	return true;
    }
    return true;
}

/* mstore_index_try - open env and DBs once; returns an LMDB code */
static int mstore_index_try(MSTORE *store)
{
    MDB_txn *txn;
    MDB_val key, val;
    MSTORE_ENV_REF *shared;
    int     rc;

    if ((shared = mstore_env_find(store->index_path)) != NULL) {
	mstore_env_use(store, shared);
	return 0;
    }
    if ((rc = mdb_env_create(&store->env)) != 0)
	return rc;
    mdb_env_set_maxdbs(store->env, 8);
    mdb_env_set_mapsize(store->env, MSTORE_MAPSIZE);
    rc = mdb_env_open(store->env, store->index_path,
		      MDB_NOSUBDIR | MDB_NOMETASYNC | MDB_NOTLS, 0600);
    if (rc != 0)
	goto bad;
    if ((rc = mdb_txn_begin(store->env, NULL, 0, &txn)) != 0)
	goto bad;
    if ((rc = mdb_dbi_open(txn, "meta", MDB_CREATE, &store->db_meta)) != 0
	|| (rc = mdb_dbi_open(txn, "folders", MDB_CREATE, &store->db_folders)) != 0
	|| (rc = mdb_dbi_open(txn, "msgs", MDB_CREATE, &store->db_msgs)) != 0
	|| (rc = mdb_dbi_open(txn, "expunged", MDB_CREATE, &store->db_expunged)) != 0
	|| (rc = mdb_dbi_open(txn, "cache", MDB_CREATE, &store->db_cache)) != 0) {
	mdb_txn_abort(txn);
	goto bad;
    }
    key.mv_data = "version";
    key.mv_size = 7;
    rc = mdb_get(txn, store->db_meta, &key, &val);
    if (rc == MDB_NOTFOUND) {
	val.mv_data = MSTORE_INDEX_VERSION;
	val.mv_size = strlen(MSTORE_INDEX_VERSION);
	rc = mdb_put(txn, store->db_meta, &key, &val, 0);
    } else if (rc == 0 && (val.mv_size != strlen(MSTORE_INDEX_VERSION)
			   || memcmp(val.mv_data, MSTORE_INDEX_VERSION, val.mv_size) != 0)) {
	rc = MDB_VERSION_MISMATCH;
    }
    if (rc != 0) {
	mdb_txn_abort(txn);
	goto bad;
    }
    if ((rc = mdb_txn_commit(txn)) != 0)
	goto bad;
    mstore_env_remember(store);
    return 0;

bad:
    mdb_env_close(store->env);
    store->env = NULL;
    return rc;
}

/* mstore_index_aside - move a broken index out of the way */
static void mstore_index_aside(MSTORE *store, int rc)
{
    VSTRING *aside = vstring_alloc(256);

    vstring_fmt(aside, "%s.corrupt", store->index_path);
    msg_warn("mailbox index %s is unusable (%s): moved to %s, rebuilding from the Maildir",
	     store->index_path, mdb_strerror(rc), STR(aside));
    if (rename(store->index_path, STR(aside)) < 0 && errno != ENOENT) {
	msg_warn("rename %s to %s: %m; removing it", store->index_path, STR(aside));
	(void) unlink(store->index_path);
    }
    vstring_fmt(aside, "%s-lock", store->index_path);
    (void) unlink(STR(aside));
    vstring_free(&aside);
}

/* mstore_index_open - open (create) the index, replacing a broken one */
int     mstore_index_open(MSTORE *store, const char **error_r)
{
    int     rc = mstore_index_try(store);

    if (rc != 0 && mstore_mdb_corrupt(rc)) {
	mstore_index_aside(store, rc);
	rc = mstore_index_try(store);
    }
    if (rc != 0)
	return mstore_fail(store, error_r, "open mailbox index %s: %s",
			   store->index_path, rc > 0 ? strerror(rc) : mdb_strerror(rc));
    return 0;
}

/* mstore_index_close - close the environment */
void    mstore_index_close(MSTORE *store)
{
    mstore_release(store);
    if (store->env && mstore_env_release(store))
	mdb_env_close(store->env);
    store->env = NULL;
}

/* mstore_index_recover - after a corruption error during use: replace the
 * index; the caller's operation failed, later ones rebuild */
int     mstore_index_recover(MSTORE *store, int rc, const char **error_r)
{
    for (MSTORE_ENV_REF *r = mstore_envs; r; r = r->next) {
	if (r->env == store->env && r->refs > 1) {
	    /* another session of this process uses it: the last one out
	     * (or the next process) replaces it */
	    *error_r = "mailbox index is damaged; it will be rebuilt";
	    return -1;
	}
    }
    mstore_index_close(store);
    mstore_index_aside(store, rc);
    return mstore_index_open(store, error_r);
}

/* mstore_release - end the shared read transaction */
void    mstore_release(MSTORE *store)
{
    if (store == NULL)
	return;
    /* A read-only transaction's cursor is closed by hand. */
    if (store->rcur != NULL) {
	mdb_cursor_close(store->rcur);
	store->rcur = NULL;
	store->rcur_set = false;
    }
    if (store->rtxn != NULL) {
	mdb_txn_abort(store->rtxn);
	store->rtxn = NULL;
    }
}

/* mstore_rtxn - the shared read transaction, begun on first use */
int     mstore_rtxn(MSTORE *store, MDB_txn **txn_r)
{
    int     rc;

    if (store->rtxn == NULL
	&& (rc = mdb_txn_begin(store->env, NULL, MDB_RDONLY, &store->rtxn)) != 0) {
	store->rtxn = NULL;
	return mstore_fail_mdb(store, NULL, "read index", rc);
    }
    *txn_r = store->rtxn;
    return 0;
}

/* mstore_txn_write - begin a write transaction */
int     mstore_txn_write(MSTORE *store, MDB_txn **txn_r)
{
    mstore_release(store);
    return mdb_txn_begin(store->env, NULL, 0, txn_r);
}

/* mstore_key_msg - the 8-byte key of a message */
void    mstore_key_msg(unsigned char key[8], uint32_t fid, uint32_t uid)
{
    key[0] = (unsigned char) (fid >> 24);
    key[1] = (unsigned char) (fid >> 16);
    key[2] = (unsigned char) (fid >> 8);
    key[3] = (unsigned char) fid;
    key[4] = (unsigned char) (uid >> 24);
    key[5] = (unsigned char) (uid >> 16);
    key[6] = (unsigned char) (uid >> 8);
    key[7] = (unsigned char) uid;
}

/* mstore_key_fid - folder id of a message key */
uint32_t mstore_key_fid(const MDB_val *key)
{
    const unsigned char *k = key->mv_data;

    if (key->mv_size < 8)
	return 0;
    return (uint32_t) k[0] << 24 | (uint32_t) k[1] << 16 | (uint32_t) k[2] << 8 | k[3];
}

/* mstore_key_uid - uid of a message key */
uint32_t mstore_key_uid(const MDB_val *key)
{
    const unsigned char *k = key->mv_data;

    if (key->mv_size < 8)
	return 0;
    return (uint32_t) k[4] << 24 | (uint32_t) k[5] << 16 | (uint32_t) k[6] << 8 | k[7];
}

/* mstore_keywords_free - release a keyword name array */
void    mstore_keywords_free(char ***kwp, unsigned n)
{
    if (*kwp == NULL)
	return;
    for (unsigned i = 0; i < n; i++)
	myfree((*kwp)[i]);
    myfree(*kwp);
    *kwp = NULL;
}

/* mstore_frec_get - a folder record: 1 found, 0 not, -1 error (or a
 * record of the wrong shape, reported as corrupt) */
int     mstore_frec_get(MSTORE *store, MDB_txn *txn, const char *dir, MSTORE_FREC *frec,
			        char ***keywords_r)
{
    MDB_val key, val;
    const char *k = mstore_dir_key(dir);
    int     rc;

    key.mv_data = (void *) k;
    key.mv_size = strlen(k);
    if ((rc = mdb_get(txn, store->db_folders, &key, &val)) == MDB_NOTFOUND)
	return 0;
    if (rc != 0)
	return mstore_fail_mdb(store, NULL, "read folder record", rc);
    if (val.mv_size < sizeof(*frec))
	return mstore_fail(store, NULL, "folder record of %s: bad size %zu", k, val.mv_size);
    memcpy(frec, val.mv_data, sizeof(*frec));
    if (frec->version != 1 || frec->nkeywords > MSTORE_KEYWORDS_MAX)
	return mstore_fail(store, NULL, "folder record of %s: bad version or keywords", k);
    if (keywords_r) {
	const char *cp = (const char *) val.mv_data + sizeof(*frec);
	const char *end = (const char *) val.mv_data + val.mv_size;
	char  **kw = mycalloc(frec->nkeywords + 1, sizeof(char *));

	for (uint32_t i = 0; i < frec->nkeywords; i++) {
	    const char *nul = memchr(cp, 0, (size_t) (end - cp));

	    if (nul == NULL) {
		mstore_keywords_free(&kw, i);
		return mstore_fail(store, NULL, "folder record of %s: truncated keywords", k);
	    }
	    kw[i] = mystrdup(cp);
	    cp = nul + 1;
	}
	*keywords_r = kw;
    }
    return 1;
}

/* mstore_frec_put - write a folder record */
int     mstore_frec_put(MSTORE *store, MDB_txn *txn, const char *dir, const MSTORE_FREC *frec,
			        char *const *keywords)
{
    MDB_val key, val;
    const char *k = mstore_dir_key(dir);
    VSTRING *buf = store->scratch;
    int     rc;

    vstring_setn(buf, frec, sizeof(*frec));
    for (uint32_t i = 0; i < frec->nkeywords; i++)
	vstring_catn(buf, keywords[i], strlen(keywords[i]) + 1);
    key.mv_data = (void *) k;
    key.mv_size = strlen(k);
    val.mv_data = STR(buf);
    val.mv_size = LEN(buf);
    if ((rc = mdb_put(txn, store->db_folders, &key, &val, 0)) != 0)
	return mstore_fail_mdb(store, NULL, "write folder record", rc);
    return 0;
}

/* mstore_frec_new - a fresh folder record with a new id and UIDVALIDITY */
int     mstore_frec_new(MSTORE *store, MDB_txn *txn, MSTORE_FREC *frec)
{
    MDB_val key, val;
    uint32_t id = 1;
    int     rc;

    key.mv_data = "nextid";
    key.mv_size = 6;
    rc = mdb_get(txn, store->db_meta, &key, &val);
    if (rc == 0 && val.mv_size == sizeof(id))
	memcpy(&id, val.mv_data, sizeof(id));
    else if (rc != 0 && rc != MDB_NOTFOUND)
	return mstore_fail_mdb(store, NULL, "read folder id", rc);
    uint32_t next = id + 1;

    val.mv_data = &next;
    val.mv_size = sizeof(next);
    if ((rc = mdb_put(txn, store->db_meta, &key, &val, 0)) != 0)
	return mstore_fail_mdb(store, NULL, "write folder id", rc);
    /* UIDVALIDITY: the time, but always above the last one given out, so
     * a folder deleted and created again in one second still changes. */
    uint32_t uidv = (uint32_t) time(NULL), last = 0;

    key.mv_data = "uidvalidity";
    key.mv_size = 11;
    if (mdb_get(txn, store->db_meta, &key, &val) == 0 && val.mv_size == sizeof(last))
	memcpy(&last, val.mv_data, sizeof(last));
    if (uidv <= last)
	uidv = last + 1;
    if (uidv == 0)
	uidv = 1;
    val.mv_data = &uidv;
    val.mv_size = sizeof(uidv);
    if ((rc = mdb_put(txn, store->db_meta, &key, &val, 0)) != 0)
	return mstore_fail_mdb(store, NULL, "write uidvalidity", rc);
    memset(frec, 0, sizeof(*frec));
    frec->version = 1;
    frec->id = id;
    frec->uidvalidity = uidv;
    frec->uidnext = 1;
    frec->recent_floor = 1;
    frec->highestmodseq = (uint64_t) mstore_now_us();
    frec->expunge_floor = frec->highestmodseq;
    return 0;
}

/* mstore_rec_decode - a message record's value into rec and (may be
 * NULL) name: 1, or -1 for a record of the wrong size */
static int mstore_rec_decode(MSTORE *store, uint32_t fid, uint32_t uid, const MDB_val *val,
			             MSTORE_REC *rec, VSTRING *name)
{
    if (val->mv_size < sizeof(*rec))
	return mstore_fail(store, NULL, "message record %u/%u: bad size", fid, uid);
    memcpy(rec, val->mv_data, sizeof(*rec));
    if (name)
	vstring_setn(name, (const char *) val->mv_data + sizeof(*rec), val->mv_size - sizeof(*rec));
    return 1;
}

/* mstore_rec_get - a message record and (name may be NULL) its file name:
 * 1 found, 0 not, -1 error */
int     mstore_rec_get(MSTORE *store, MDB_txn *txn, uint32_t fid, uint32_t uid,
		               MSTORE_REC *rec, VSTRING *name)
{
    unsigned char k[8];
    MDB_val key, val;
    int     rc;

    mstore_key_msg(k, fid, uid);
    key.mv_data = k;
    key.mv_size = 8;
    if ((rc = mdb_get(txn, store->db_msgs, &key, &val)) == MDB_NOTFOUND)
	return 0;
    if (rc != 0)
	return mstore_fail_mdb(store, NULL, "read message record", rc);
    return mstore_rec_decode(store, fid, uid, &val, rec, name);
}

/* mstore_rec_lookup - mstore_rec_get in the shared read transaction */
int     mstore_rec_lookup(MSTORE *store, uint32_t fid, uint32_t uid, MSTORE_REC *rec,
			          VSTRING *name)
{
    unsigned char k[8];
    MDB_txn *txn;
    MDB_val key, val;
    int     rc;

    if (mstore_rtxn(store, &txn) < 0)
	return -1;
    if (store->rcur == NULL && (rc = mdb_cursor_open(txn, store->db_msgs, &store->rcur)) != 0) {
	store->rcur = NULL;
	mstore_release(store);
	return mstore_fail_mdb(store, NULL, "open cursor", rc);
    }
    mstore_key_msg(k, fid, uid);
    /* Commands walk the view in UID order: the record asked for is most
     * often the one after the last (or the last again), a step instead of
     * a B-tree descent. */
    if (store->rcur_set) {
	bool    same = store->rcur_fid == fid && store->rcur_uid == uid;

	rc = mdb_cursor_get(store->rcur, &key, &val, same ? MDB_GET_CURRENT : MDB_NEXT);
	if (rc == 0 && key.mv_size == 8 && memcmp(key.mv_data, k, 8) == 0) {
	    store->rcur_fid = fid;
	    store->rcur_uid = uid;
	    return mstore_rec_decode(store, fid, uid, &val, rec, name);
	}
    }
    key.mv_data = k;
    key.mv_size = 8;
    rc = mdb_cursor_get(store->rcur, &key, &val, MDB_SET_KEY);
    store->rcur_set = rc == 0;
    store->rcur_fid = fid;
    store->rcur_uid = uid;
    if (rc == MDB_NOTFOUND)
	return 0;
    if (rc != 0) {
	mstore_release(store);
	return mstore_fail_mdb(store, NULL, "read message record", rc);
    }
    return mstore_rec_decode(store, fid, uid, &val, rec, name);
}

/* mstore_rec_put - write a message record (append: key is above all others) */
int     mstore_rec_put(MSTORE *store, MDB_txn *txn, uint32_t fid, uint32_t uid,
		               const MSTORE_REC *rec, const char *name, size_t name_len, bool append)
{
    unsigned char k[8];
    MDB_val key, val;
    int     rc;

    mstore_key_msg(k, fid, uid);
    key.mv_data = k;
    key.mv_size = 8;
    val.mv_size = sizeof(*rec) + name_len;
    if ((rc = mdb_put(txn, store->db_msgs, &key, &val, MDB_RESERVE | (append ? MDB_APPEND : 0))) == MDB_KEYEXIST && append)
	rc = mdb_put(txn, store->db_msgs, &key, &val, MDB_RESERVE);
    if (rc != 0)
	return mstore_fail_mdb(store, NULL, "write message record", rc);
    memcpy(val.mv_data, rec, sizeof(*rec));
    memcpy((char *) val.mv_data + sizeof(*rec), name, name_len);
    return 0;
}

/* mstore_range_del - delete the keys of one message (or a whole folder)
 * from a DB whose keys start with {fid, uid} */
int     mstore_range_del(MSTORE *store, MDB_txn *txn, MDB_dbi dbi, uint32_t fid, uint32_t uid,
			         bool whole_folder)
{
    unsigned char k[8];
    MDB_cursor *cur;
    MDB_val key, val;
    int     rc;

    mstore_key_msg(k, fid, whole_folder ? 0 : uid);
    key.mv_data = k;
    key.mv_size = 8;
    if ((rc = mdb_cursor_open(txn, dbi, &cur)) != 0)
	return mstore_fail_mdb(store, NULL, "open cursor", rc);
    rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
    while (rc == 0 && mstore_key_fid(&key) == fid
	   && (whole_folder || mstore_key_uid(&key) == uid)) {
	if ((rc = mdb_cursor_del(cur, 0)) != 0)
	    break;
	/* Re-seek rather than trust the cursor position after a delete. */
	key.mv_data = k;
	key.mv_size = 8;
	rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
    }
    mdb_cursor_close(cur);
    if (rc != 0 && rc != MDB_NOTFOUND)
	return mstore_fail_mdb(store, NULL, "delete records", rc);
    return 0;
}

/* mstore_folder_forget - drop a folder's records and its folder entry */
int     mstore_folder_forget(MSTORE *store, MDB_txn *txn, const char *dir, uint32_t fid)
{
    const char *k = mstore_dir_key(dir);
    MDB_val key;

    if (mstore_range_del(store, txn, store->db_msgs, fid, 0, true) < 0
	|| mstore_range_del(store, txn, store->db_expunged, fid, 0, true) < 0
	|| mstore_range_del(store, txn, store->db_cache, fid, 0, true) < 0)
	return -1;
    key.mv_data = (void *) k;
    key.mv_size = strlen(k);
    (void) mdb_del(txn, store->db_folders, &key, NULL);
    return 0;
}

/* mstore_rec_del - drop a message's record and cached blobs; with a
 * modseq, remember the UID as expunged */
int     mstore_rec_del(MSTORE *store, MDB_txn *txn, uint32_t fid, uint32_t uid, uint64_t modseq)
{
    unsigned char k[8];
    MDB_val key, val;
    int     rc;

    mstore_key_msg(k, fid, uid);
    key.mv_data = k;
    key.mv_size = 8;
    if ((rc = mdb_del(txn, store->db_msgs, &key, NULL)) != 0 && rc != MDB_NOTFOUND)
	return mstore_fail_mdb(store, NULL, "delete message record", rc);
    if (mstore_range_del(store, txn, store->db_cache, fid, uid, false) < 0)
	return -1;
    if (modseq) {
	val.mv_data = &modseq;
	val.mv_size = sizeof(modseq);
	if ((rc = mdb_put(txn, store->db_expunged, &key, &val, 0)) != 0)
	    return mstore_fail_mdb(store, NULL, "record expunge", rc);
    }
    return 0;
}

/* mstore_view_load - read all message records of a folder into view->msgs
 * (recent cleared; count set) */
int     mstore_view_load(MSTORE *store, MDB_txn *txn, uint32_t fid, MSTORE_VIEW *view)
{
    unsigned char k[8];
    MDB_cursor *cur;
    MDB_val key, val;
    size_t  size = view->count > 16 ? view->count : 16, n = 0;
    MSTORE_MSG *msgs = mymalloc(size * sizeof(*msgs));
    MSTORE_REC rec;
    int     rc;

    mstore_key_msg(k, fid, 0);
    key.mv_data = k;
    key.mv_size = 8;
    if ((rc = mdb_cursor_open(txn, store->db_msgs, &cur)) != 0) {
	myfree(msgs);
	return mstore_fail_mdb(store, NULL, "open cursor", rc);
    }
    for (rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
	 rc == 0 && mstore_key_fid(&key) == fid;
	 rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
	if (val.mv_size < sizeof(rec))
	    continue;
	if (n == size) {
	    size *= 2;
	    msgs = myreallocarray(msgs, size, sizeof(*msgs));
	}
	memcpy(&rec, val.mv_data, sizeof(rec));
	msgs[n].uid = mstore_key_uid(&key);
	msgs[n].flags = rec.flags;
	msgs[n].keywords = rec.keywords;
	msgs[n].recent = 0;
	msgs[n].modseq = rec.modseq;
	n++;
    }
    mdb_cursor_close(cur);
    if (rc != 0 && rc != MDB_NOTFOUND) {
	myfree(msgs);
	return mstore_fail_mdb(store, NULL, "read messages", rc);
    }
    myfree(view->msgs);
    view->msgs = msgs;
    view->count = (uint32_t) n;
    return 0;
}
