/* mstore_msg - reading messages, sizes, LF -> CRLF, cached blobs, and
 * CONDSTORE/QRESYNC change lists.
 *
 * Contract: a message file is opened by the name in its index record; if
 * another program renamed it (flag change), it is found again by base
 * name. RFC822.SIZE comes from the record, ",W=" or one counting read,
 * after which it is stored. Blobs are opaque to us.
 *
 * Cache writes (blobs and computed sizes) are derived data: they are
 * queued in the store and written MSTORE_CACHE_BATCH at a time, or when
 * the caller ends a command (mstore_cache_flush), in one transaction, so
 * filling the cache of a fresh folder costs one sync per batch instead
 * of one per message. The transaction is synced like every other (not
 * MDB_NOSYNC: LMDB documents that a system crash can then corrupt the
 * file unless the filesystem preserves write order). A crash loses at
 * most the queued entries, which are recomputed from the files.
 *
 * Record and cache lookups go through the store's shared read
 * transaction (mstore_rtxn), which the caller ends after each command
 * (mstore_release, mstore_cache_flush); an index error ends it too, so
 * the next lookup starts afresh.
 */
#include "sys_defs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "msg.h"
#include "mymalloc.h"
#include "mstore_private.h"

/* mstore_crlf - append with bare LF -> CRLF */
void    mstore_crlf(VSTRING *out, const char *data, size_t len, int *state)
{
    const char *cp = data, *end = data + len, *nl;

    while (cp < end) {
	if ((nl = memchr(cp, '\n', (size_t) (end - cp))) == NULL) {
	    vstring_catn(out, cp, (size_t) (end - cp));
	    *state = end[-1] == '\r';
	    return;
	}
	vstring_catn(out, cp, (size_t) (nl - cp));
	bool    prev_cr = nl > cp ? nl[-1] == '\r' : *state;

	vstring_catn(out, prev_cr ? "\n" : "\r\n", prev_cr ? 1 : 2);
	*state = 0;
	cp = nl + 1;
    }
}

/* mstore_crlf_size - the size mstore_crlf would produce */
uint64_t mstore_crlf_size(const char *data, size_t len, int *state)
{
    uint64_t n = len;
    int     prev = *state;

    for (size_t i = 0; i < len; i++) {
	if (data[i] == '\n' && !prev)
	    n++;
	prev = data[i] == '\r';
    }
    *state = prev;
    return n;
}

/* mstore_msg_rec - the record and (name may be NULL) stored file name of
 * uid, through the shared read transaction: 1 found, 0 not, -1 error */
static int mstore_msg_rec(MSTORE_FOLDER *folder, uint32_t uid, MSTORE_REC *rec, VSTRING *name)
{
    return mstore_rec_lookup(folder->store, folder->id, uid, rec, name);
}

/* mstore_pending_vsize - a computed RFC822.SIZE of uid still in the
 * queue, 0: none (the newest entry wins) */
static uint64_t mstore_pending_vsize(const MSTORE *store, uint32_t fid, uint32_t uid)
{
    /* A command walking the view in UID order asks above every queued one. */
    if (uid > store->pending_vsize_max)
	return 0;
    for (size_t i = store->npending; i-- > 0;) {
	const MSTORE_PENDING *p = &store->pending[i];

	if (p->kind == 0 && p->uid == uid && p->fid == fid)
	    return p->vsize;
    }
    return 0;
}

/* mstore_msg_in_view - is uid in the view: the message after the one
 * last asked for (commands walk the view in order), else a binary search */
static bool mstore_msg_in_view(MSTORE_FOLDER *folder, uint32_t uid)
{
    const MSTORE_VIEW *v = &folder->view;
    uint32_t i = folder->info_next;
    const MSTORE_MSG *m;

    if (i < v->count && v->msgs[i].uid == uid) {
	folder->info_next = i + 1;
	return true;
    }
    if (i > 0 && i <= v->count && v->msgs[i - 1].uid == uid)
	return true;				/* the same again */
    if ((m = mstore_view_find(v, uid)) == NULL)
	return false;
    folder->info_next = (uint32_t) (m - v->msgs) + 1;
    return true;
}

/* mstore_msg_info - internal date and sizes from the index record */
int     mstore_msg_info(MSTORE_FOLDER *folder, uint32_t uid, MSTORE_MSG_INFO *info,
			        const char **error_r)
{
    MSTORE *store = folder->store;
    MSTORE_REC rec;
    uint64_t queued;
    int     rc;

    if (!mstore_msg_in_view(folder, uid))
	return mstore_fail(store, error_r, "No such message: UID %u", uid);
    if ((rc = mstore_msg_rec(folder, uid, &rec, NULL)) == 0)
	return mstore_fail(store, error_r, "Message UID %u was expunged", uid);
    if (rc < 0)
	return mstore_errptr(store, error_r);
    info->internal_date = rec.idate;
    info->size = rec.size;
    info->vsize = (queued = mstore_pending_vsize(store, folder->id, uid)) ? queued : rec.vsize;
    return 0;
}

/* mstore_msg_open - open a message read-only */
int     mstore_msg_open(MSTORE_FOLDER *folder, uint32_t uid, off_t *size_r, const char **error_r)
{
    MSTORE *store = folder->store;
    VSTRING *name = vstring_alloc(128), *p = vstring_alloc(256);
    MSTORE_REC rec;
    struct stat st;
    int     fd = -1, rc;

    if (mstore_view_find(&folder->view, uid) == NULL) {
	mstore_fail(store, error_r, "No such message: UID %u", uid);
	goto out;
    }
    if ((rc = mstore_msg_rec(folder, uid, &rec, name)) <= 0) {
	if (rc == 0)
	    mstore_fail(store, error_r, "Message UID %u was expunged", uid);
	else
	    mstore_errptr(store, error_r);
	goto out;
    }
    vstring_fmt(p, "%s/cur/%s", folder->path, STR(name));
    if ((fd = open(STR(p), O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0 && errno == ENOENT) {
	VSTRING *found = vstring_alloc(128);

	if (mstore_find_file(store, folder->path, STR(name), found) == 1) {
	    vstring_fmt(p, "%s/cur/%s", folder->path, STR(found));
	    fd = open(STR(p), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	}
	vstring_free(&found);
    }
    if (fd < 0) {
	mstore_fail(store, error_r, "open message UID %u (%s): %m", uid, STR(p));
	goto out;
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
	mstore_fail(store, error_r, "message UID %u: not a regular file", uid);
	close(fd);
	fd = -1;
	goto out;
    }
    if (size_r)
	*size_r = st.st_size;
out:
    vstring_free(&name);
    vstring_free(&p);
    return fd;
}

/* mstore_msg_read - the whole message */
int     mstore_msg_read(MSTORE_FOLDER *folder, uint32_t uid, VSTRING *buf, size_t max,
			        const char **error_r)
{
    off_t   size;
    int     fd = mstore_msg_open(folder, uid, &size, error_r);
    char    chunk[65536];
    ssize_t n;

    if (fd < 0)
	return -1;
    vstring_reset(buf);
    if (max > 0 && (uint64_t) size > max) {
	close(fd);
	return mstore_fail(folder->store, error_r, "message UID %u too big (%lld bytes)", uid,
			   (long long) size);
    }
    while ((n = read(fd, chunk, sizeof(chunk))) > 0) {
	if (max > 0 && LEN(buf) + (size_t) n > max) {
	    close(fd);
	    return mstore_fail(folder->store, error_r, "message UID %u grew past the limit", uid);
	}
	vstring_catn(buf, chunk, (size_t) n);
    }
    close(fd);
    if (n < 0)
	return mstore_fail(folder->store, error_r, "read message UID %u: %m", uid);
    return 0;
}

/* mstore_pending_add - queue one cache write, flushing a full batch */
static int mstore_pending_add(MSTORE_FOLDER *folder, uint32_t uid, int kind, uint64_t vsize,
			              const void *data, size_t len, const char **error_r)
{
    MSTORE *store = folder->store;
    MSTORE_PENDING *p;

    if (store->npending == store->pending_alloc) {
	store->pending_alloc = store->pending_alloc ? 2 * store->pending_alloc : 64;
	store->pending = myrealloc(store->pending, store->pending_alloc * sizeof(*p));
    }
    p = &store->pending[store->npending++];
    p->fid = folder->id;
    p->uid = uid;
    p->kind = kind;
    p->vsize = vsize;
    if (kind == 0 && uid > store->pending_vsize_max)
	store->pending_vsize_max = uid;
    p->len = len;
    p->data = len ? mymemdup(data, len) : NULL;
    store->pending_bytes += len;
    if (store->npending >= MSTORE_CACHE_BATCH || store->pending_bytes >= MSTORE_CACHE_BATCH_BYTES)
	return mstore_cache_flush(store, error_r);
    return 0;
}

/* mstore_pending_drop - forget the queue */
static void mstore_pending_drop(MSTORE *store)
{
    for (size_t i = 0; i < store->npending; i++)
	myfree(store->pending[i].data);
    store->npending = 0;
    store->pending_bytes = 0;
    store->pending_vsize_max = 0;
}

/* mstore_cache_key - {fid, uid, kind} */
static void mstore_cache_key(unsigned char k[9], uint32_t fid, uint32_t uid, int kind)
{
    mstore_key_msg(k, fid, uid);
    k[8] = (unsigned char) kind;
}

/* mstore_cache_flush - write the queue in one transaction */
int     mstore_cache_flush(MSTORE *store, const char **error_r)
{
    VSTRING *name;
    MSTORE_REC rec;
    MDB_txn *txn;
    MDB_val key, val;
    unsigned char k[9];
    int     rc;

    mstore_release(store);
    if (store == NULL || store->npending == 0 || store->env == NULL)
	return 0;
    /* A cache is derived data: the transaction is the index's normal one
     * (data pages synced, MDB_NOMETASYNC), only far fewer of them. */
    if ((rc = mstore_txn_write(store, &txn)) != 0) {
	mstore_pending_drop(store);
	return mstore_fail_mdb(store, error_r, "write cache", rc);
    }
    name = vstring_alloc(128);
    for (size_t i = 0; i < store->npending; i++) {
	const MSTORE_PENDING *p = &store->pending[i];

	/* Messages expunged since are skipped: no orphan blobs. */
	if ((rc = mstore_rec_get(store, txn, p->fid, p->uid, &rec, name)) < 0)
	    break;
	if (rc == 0)
	    continue;
	if (p->kind == 0) {
	    if (rec.vsize == p->vsize)
		continue;
	    rec.vsize = p->vsize;
	    if (mstore_rec_put(store, txn, p->fid, p->uid, &rec, STR(name), LEN(name), false) < 0) {
		rc = -1;
		break;
	    }
	    continue;
	}
	mstore_cache_key(k, p->fid, p->uid, p->kind);
	key.mv_data = k;
	key.mv_size = 9;
	val.mv_data = p->data;
	val.mv_size = p->len;
	if ((rc = mdb_put(txn, store->db_cache, &key, &val, 0)) != 0) {
	    mstore_fail_mdb(store, NULL, "write cache", rc);
	    rc = -1;
	    break;
	}
	rc = 0;
    }
    vstring_free(&name);
    mstore_pending_drop(store);
    if (rc < 0) {
	mdb_txn_abort(txn);
	return mstore_errptr(store, error_r);
    }
    if ((rc = mdb_txn_commit(txn)) != 0)
	return mstore_fail_mdb(store, error_r, "write cache", rc);
    return 0;
}

/* mstore_msg_vsize_set - remember a computed RFC822.SIZE */
void    mstore_msg_vsize_set(MSTORE_FOLDER *folder, uint32_t uid, uint64_t vsize)
{
    MSTORE_MSG_INFO info;
    const char *err;

    if (vsize == 0 || mstore_msg_info(folder, uid, &info, &err) < 0 || info.vsize == vsize)
	return;
    if (mstore_pending_add(folder, uid, 0, vsize, NULL, 0, &err) < 0)
	msg_warn("%s: caching sizes: %s", folder->path, err);
}

/* mstore_msg_vsize - RFC822.SIZE */
int     mstore_msg_vsize(MSTORE_FOLDER *folder, uint32_t uid, uint64_t *vsize_r,
			         const char **error_r)
{
    MSTORE *store = folder->store;
    MSTORE_MSG_INFO info;
    char    chunk[65536];
    ssize_t n;
    uint64_t vsize = 0;
    int     fd, state = 0;

    if (mstore_msg_info(folder, uid, &info, error_r) < 0)
	return -1;
    if (info.vsize) {
	*vsize_r = info.vsize;
	return 0;
    }
    if ((fd = mstore_msg_open(folder, uid, NULL, error_r)) < 0)
	return -1;
    while ((n = read(fd, chunk, sizeof(chunk))) > 0)
	vsize += mstore_crlf_size(chunk, (size_t) n, &state);
    close(fd);
    if (n < 0)
	return mstore_fail(store, error_r, "read message UID %u: %m", uid);
    *vsize_r = vsize;
    /* Remember it (not a MODSEQ change: nothing a client sees changed). */
    mstore_msg_vsize_set(folder, uid, vsize);
    return 0;
}

/* mstore_cache_get - a cached blob */
int     mstore_cache_get(MSTORE_FOLDER *folder, uint32_t uid, int kind, VSTRING *buf,
			         const char **error_r)
{
    MSTORE *store = folder->store;
    unsigned char k[9];
    MDB_val key, val;
    MDB_txn *txn;
    int     rc;

    if (kind < 1 || kind > 255)
	msg_panic("mstore_cache_get: bad kind %d", kind);
    /* Queued entries of messages expunged meanwhile are not returned. */
    for (size_t i = mstore_view_find(&folder->view, uid) ? store->npending : 0; i-- > 0;) {
	const MSTORE_PENDING *p = &store->pending[i];

	if (p->uid == uid && p->kind == kind && p->fid == folder->id) {
	    vstring_setn(buf, p->data ? p->data : "", p->len);
	    return 1;
	}
    }
    mstore_cache_key(k, folder->id, uid, kind);
    key.mv_data = k;
    key.mv_size = 9;
    if (mstore_rtxn(store, &txn) < 0)
	return mstore_errptr(store, error_r);
    rc = mdb_get(txn, store->db_cache, &key, &val);
    if (rc == 0)
	vstring_setn(buf, val.mv_data, val.mv_size);
    if (rc == MDB_NOTFOUND)
	return 0;
    if (rc != 0) {
	mstore_release(store);
	return mstore_fail_mdb(store, error_r, "read cache", rc);
    }
    return 1;
}

/* mstore_cache_put - queue a blob */
int     mstore_cache_put(MSTORE_FOLDER *folder, uint32_t uid, int kind, const void *data,
			         size_t len, const char **error_r)
{
    MSTORE *store = folder->store;

    if (kind < 1 || kind > 255)
	msg_panic("mstore_cache_put: bad kind %d", kind);
    if (len > MSTORE_BLOB_MAX)
	return mstore_fail(store, error_r, "cache blob too big (%zu bytes)", len);
    if (mstore_view_find(&folder->view, uid) == NULL)
	return mstore_fail(store, error_r, "No such message: UID %u", uid);
    return mstore_pending_add(folder, uid, kind, 0, data, len, error_r);
}

/* mstore_changes_since - CONDSTORE / QRESYNC */
int     mstore_changes_since(MSTORE_FOLDER *folder, uint64_t modseq, MSTORE_CHANGES *changes,
			             const char **error_r)
{
    MSTORE *store = folder->store;
    unsigned char k[8];
    MDB_cursor *cur;
    MDB_val key, val;
    MDB_txn *txn;
    int     rc;

    memset(changes, 0, sizeof(*changes));
    for (uint32_t i = 0; i < folder->view.count; i++)
	if (folder->view.msgs[i].modseq > modseq)
	    mstore_uids_add(&changes->changed, folder->view.msgs[i].uid);
    changes->expunged_incomplete = modseq < folder->frec.expunge_floor;
    if ((rc = mdb_txn_begin(store->env, NULL, MDB_RDONLY, &txn)) != 0)
	return mstore_fail_mdb(store, error_r, "changes", rc);
    if ((rc = mdb_cursor_open(txn, store->db_expunged, &cur)) != 0) {
	mdb_txn_abort(txn);
	return mstore_fail_mdb(store, error_r, "changes", rc);
    }
    mstore_key_msg(k, folder->id, 0);
    key.mv_data = k;
    key.mv_size = 8;
    for (rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
	 rc == 0 && mstore_key_fid(&key) == folder->id;
	 rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
	uint64_t ms;
	uint32_t uid = mstore_key_uid(&key);

	if (val.mv_size != sizeof(ms))
	    continue;
	memcpy(&ms, val.mv_data, sizeof(ms));
	/* As of the view: later expunges are reported after a refresh. */
	if (ms > modseq && ms <= folder->view.highestmodseq
	    && mstore_view_find(&folder->view, uid) == NULL)
	    mstore_uids_add(&changes->expunged, uid);
    }
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    return 0;
}

/* mstore_changes_free - release */
void    mstore_changes_free(MSTORE_CHANGES *changes)
{
    mstore_uids_free(&changes->changed);
    mstore_uids_free(&changes->expunged);
}
