/* mstore_append - APPEND, COPY, MOVE, EXPUNGE and rebuild.
 *
 * Contract: a new message is written to tmp/ (O_EXCL, 0600), CRLF turned
 * into LF as Maildir programs expect, fsync'ed, given its internal date as
 * the file's mtime, and renamed into cur/ under its final name (",S=" LF
 * size, ",W=" CRLF size, ",U=" UID, ":2," flags) inside the write
 * transaction that assigns the UID; cur/ is fsync'ed after the commit.
 * COPY makes hard links (a byte copy across file systems) and is all or
 * nothing; MOVE is COPY followed by removing the sources in the same
 * transaction. EXPUNGE unlinks files (re-found by base name if renamed)
 * and records the UIDs with the transaction's MODSEQ.
 *
 * Limits: mail_quota is checked at APPEND and COPY against the usage the
 * index knows (mstore_quota_get).
 */
#include "sys_defs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mailbox.h"
#include "msg.h"
#include "mymalloc.h"
#include "mstore_private.h"

#define MSTORE_FLUSH 65536

/* mstore_fsync_dir - fsync a directory by path */
static int mstore_fsync_dir(const char *path)
{
    int     fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc;

    if (fd < 0)
	return -1;
    rc = fsync(fd);
    close(fd);
    return rc;
}

/* mstore_write_all - write everything */
static int mstore_write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
	ssize_t n = write(fd, buf, len);

	if (n < 0 && errno == EINTR)
	    continue;
	if (n <= 0)
	    return -1;
	buf += n;
	len -= (size_t) n;
    }
    return 0;
}

/* mstore_append_begin - open a tmp file in the target folder */
MSTORE_APPEND *mstore_append_begin(MSTORE *store, const char *name, const char **error_r)
{
    VSTRING *dir = vstring_alloc(64), *path = vstring_alloc(256), *base = vstring_alloc(128);
    MSTORE_APPEND *ap = NULL;
    int     fd = -1;
    struct stat st;

    if (mstore_name_to_dir(store, name, dir, error_r) < 0)
	goto out;
    mstore_folder_path(store, STR(dir), path);
    vstring_cat(path, "/cur");
    if (stat(STR(path), &st) < 0) {
	mstore_fail(store, error_r, "[TRYCREATE] Mailbox doesn't exist: %s", name);
	goto out;
    }
    mstore_folder_path(store, STR(dir), path);
    for (int attempt = 0; attempt < 5 && fd < 0; attempt++) {
	mailbox_unique(base);
	VSTRING *tmp = vstring_alloc(256);

	vstring_fmt(tmp, "%s/tmp/%s", STR(path), STR(base));
	fd = open(STR(tmp), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd >= 0) {
	    ap = mycalloc(1, sizeof(*ap));
	    ap->tmp_path = vstring_export(&tmp);
	} else {
	    vstring_free(&tmp);
	    if (errno != EEXIST) {
		mstore_fail(store, error_r, "create file in %s/tmp: %m", STR(path));
		goto out;
	    }
	}
    }
    if (ap == NULL) {
	mstore_fail(store, error_r, "create file in %s/tmp: name collisions", STR(path));
	goto out;
    }
    ap->store = store;
    ap->fd = fd;
    ap->dir = mystrdup(STR(dir));
    ap->path = mystrdup(STR(path));
    ap->base = mystrdup(STR(base));
    ap->buf = vstring_alloc(MSTORE_FLUSH + 16);
out:
    vstring_free(&dir);
    vstring_free(&path);
    vstring_free(&base);
    return ap;
}

/* mstore_append_out - one output byte (LF form), counting sizes */
static void mstore_append_out(MSTORE_APPEND *ap, int ch)
{
    if (ch == '\n')
	ap->vsize += (LEN(ap->buf) > 0 && STR(ap->buf)[LEN(ap->buf) - 1] == '\r') ? 1 : 2;
    else
	ap->vsize += 1;
    ap->size += 1;
    vstring_addch(ap->buf, ch);
}

/* mstore_append_flush - write the buffer out (keeping its last byte
 * for the CR-before-LF check) */
static int mstore_append_flush(MSTORE_APPEND *ap, bool all)
{
    size_t  n = LEN(ap->buf);

    if (n == 0 || (!all && n < MSTORE_FLUSH))
	return 0;
    size_t  keep = all ? 0 : 1;

    if (mstore_write_all(ap->fd, STR(ap->buf), n - keep) < 0)
	return -1;
    if (keep) {
	char    last = STR(ap->buf)[n - 1];

	vstring_reset(ap->buf);
	vstring_addch(ap->buf, last);
    } else
	vstring_reset(ap->buf);
    return 0;
}

/* mstore_append_write - add message bytes */
int     mstore_append_write(MSTORE_APPEND *ap, const void *data, size_t len,
			            const char **error_r)
{
    const unsigned char *cp = data;

    if (ap->failed)
	return mstore_fail(ap->store, error_r, "append already failed");
    for (size_t i = 0; i < len; i++) {
	int     ch = cp[i];

	if (ap->pending_cr) {
	    ap->pending_cr = false;
	    if (ch == '\n') {
		mstore_append_out(ap, '\n');
		continue;
	    }
	    mstore_append_out(ap, '\r');
	}
	if (ch == '\r')
	    ap->pending_cr = true;
	else
	    mstore_append_out(ap, ch);
	if (LEN(ap->buf) >= MSTORE_FLUSH && mstore_append_flush(ap, false) < 0) {
	    ap->failed = true;
	    return mstore_fail(ap->store, error_r, "write %s: %m", ap->tmp_path);
	}
    }
    return 0;
}

/* mstore_append_free - release (unlinking the tmp file if still there) */
static void mstore_append_free(MSTORE_APPEND **app, bool unlink_tmp)
{
    MSTORE_APPEND *ap = *app;

    if (ap->fd >= 0)
	close(ap->fd);
    if (unlink_tmp)
	(void) unlink(ap->tmp_path);
    myfree(ap->dir);
    myfree(ap->path);
    myfree(ap->tmp_path);
    myfree(ap->base);
    vstring_free(&ap->buf);
    myfree(ap);
    *app = NULL;
}

/* mstore_append_abort - discard */
void    mstore_append_abort(MSTORE_APPEND **app)
{
    if (*app)
	mstore_append_free(app, true);
}

/* mstore_quota_check - fail when adding bytes would pass mail_quota */
static int mstore_quota_check(MSTORE *store, uint64_t bytes, const char **error_r)
{
    MSTORE_QUOTA q;

    if (store->quota_limit == 0)
	return 0;
    if (mstore_quota_get(store, &q, error_r) < 0)
	return -1;
    if (q.bytes + bytes > q.limit_bytes)
	return mstore_fail(store, error_r, "[OVERQUOTA] Quota exceeded (mailbox for user is full)");
    return 0;
}

/* mstore_append_finish - commit the message */
int     mstore_append_finish(MSTORE_APPEND **app, uint32_t flags, const char *const *keywords,
			             time_t internal_date, uint32_t *uidvalidity_r,
			             uint32_t *uid_r, const char **error_r)
{
    MSTORE_APPEND *ap = *app;
    MSTORE *store = ap->store;
    VSTRING *base = vstring_alloc(128), *name = vstring_alloc(128), *p = vstring_alloc(256);
    struct timespec times[2];
    MSTORE_FREC frec;
    MSTORE_REC rec;
    MDB_txn *txn = NULL;
    char  **kw = NULL;
    uint32_t kwbits = 0;
    int     rc, status = -1;
    bool    in_cur = false;

    memset(&frec, 0, sizeof(frec));
    if (ap->failed) {
	mstore_fail(store, error_r, "append failed");
	goto out;
    }
    if (ap->pending_cr) {
	mstore_append_out(ap, '\r');
	ap->pending_cr = false;
    }
    if (mstore_append_flush(ap, true) < 0 || fsync(ap->fd) < 0) {
	mstore_fail(store, error_r, "write %s: %m", ap->tmp_path);
	goto out;
    }
    times[0].tv_sec = times[1].tv_sec = internal_date ? internal_date : time(NULL);
    times[0].tv_nsec = times[1].tv_nsec = 0;
    if (futimens(ap->fd, times) < 0)
	msg_warn("set time of %s: %m", ap->tmp_path);
    if (close(ap->fd) < 0) {
	ap->fd = -1;
	mstore_fail(store, error_r, "close %s: %m", ap->tmp_path);
	goto out;
    }
    ap->fd = -1;
    if (mstore_quota_check(store, ap->size, error_r) < 0)
	goto out;
    if ((rc = mstore_txn_write(store, &txn)) != 0) {
	mstore_fail_mdb(store, error_r, "append", rc);
	goto out;
    }
    if (mstore_sync(store, txn, ap->dir, &frec, &kw, false, error_r) < 0)
	goto out;
    for (size_t i = 0; keywords && keywords[i]; i++) {
	int     bit = mstore_keyword_define(store, txn, ap->dir, &frec, &kw, keywords[i], true, error_r);

	if (bit < 0)
	    goto out;
	kwbits |= 1u << bit;
    }
    if (frec.uidnext >= UINT32_MAX - 1) {
	mstore_fail(store, error_r, "UID space exhausted");
	goto out;
    }
    vstring_fmt(base, "%s,S=%llu,W=%llu", ap->base, (unsigned long long) ap->size,
		(unsigned long long) ap->vsize);
    mstore_fname_build(name, STR(base), LEN(base), frec.uidnext, flags & MSTORE_FLAGS_ALL,
		       kwbits & 0x3ffffffu);
    vstring_fmt(p, "%s/cur/%s", ap->path, STR(name));
    if (rename(ap->tmp_path, STR(p)) < 0) {
	mstore_fail(store, error_r, "rename %s to %s: %m", ap->tmp_path, STR(p));
	goto out;
    }
    in_cur = true;
    memset(&rec, 0, sizeof(rec));
    rec.flags = flags & MSTORE_FLAGS_ALL;
    rec.keywords = kwbits;
    rec.modseq = frec.highestmodseq + 1;
    rec.idate = times[0].tv_sec;
    rec.size = ap->size;
    rec.vsize = ap->vsize;
    if (mstore_rec_put(store, txn, frec.id, frec.uidnext, &rec, STR(name), LEN(name), true) < 0) {
	mstore_errptr(store, error_r);
	goto out;
    }
    *uid_r = frec.uidnext++;
    *uidvalidity_r = frec.uidvalidity;
    frec.highestmodseq = rec.modseq;
    frec.count++;
    frec.bytes += rec.size;
    if (mstore_frec_put(store, txn, ap->dir, &frec, kw) < 0) {
	mstore_errptr(store, error_r);
	goto out;
    }
    rc = mdb_txn_commit(txn);
    txn = NULL;
    if (rc != 0) {
	mstore_fail_mdb(store, error_r, "append", rc);
	goto out;
    }
    vstring_fmt(p, "%s/cur", ap->path);
    if (mstore_fsync_dir(STR(p)) < 0) {
	mstore_fail(store, error_r, "fsync %s: %m", STR(p));
	goto out;
    }
    status = 0;
out:
    if (txn)
	mdb_txn_abort(txn);
    if (status < 0 && in_cur) {
	vstring_fmt(p, "%s/cur/%s", ap->path, STR(name));
	(void) unlink(STR(p));
    }
    mstore_keywords_free(&kw, frec.nkeywords);
    mstore_append_free(app, status < 0 && !in_cur);
    vstring_free(&base);
    vstring_free(&name);
    vstring_free(&p);
    return status;
}

/* mstore_copy_file - link src into dst (byte copy across file systems) */
static int mstore_copy_file(MSTORE *store, const char *src, const char *dst_dir_path,
			            const char *dst)
{
    if (link(src, dst) == 0)
	return 0;
    if (errno != EXDEV && errno != EPERM && errno != EMLINK)
	return -1;
    /* Byte copy through tmp/. */
    VSTRING *tmp = vstring_alloc(256);
    char    buf[65536];
    ssize_t n;
    int     in = open(src, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), out = -1, status = -1;

    vstring_fmt(tmp, "%s/tmp/copy.%ld.%lld", dst_dir_path, (long) getpid(),
		(long long) mstore_now_us());
    if (in >= 0)
	out = open(STR(tmp), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (in >= 0 && out >= 0) {
	while ((n = read(in, buf, sizeof(buf))) > 0)
	    if (mstore_write_all(out, buf, (size_t) n) < 0)
		break;
	struct stat st;

	if (n == 0 && fsync(out) == 0 && fstat(in, &st) == 0) {
	    struct timespec t[2] = {st.st_mtim, st.st_mtim};

	    (void) futimens(out, t);
	    if (close(out) == 0 && rename(STR(tmp), dst) == 0)
		status = 0;
	    out = -1;
	}
    }
    if (in >= 0)
	close(in);
    if (out >= 0)
	close(out);
    if (status < 0)
	(void) unlink(STR(tmp));
    vstring_free(&tmp);
    (void) store;
    return status;
}

/* mstore_remove_msg - unlink a message file, re-finding it if renamed */
static void mstore_remove_msg(MSTORE *store, const char *path, VSTRING *name)
{
    VSTRING *p = vstring_alloc(256), *found = vstring_alloc(128);

    vstring_fmt(p, "%s/cur/%s", path, STR(name));
    if (unlink(STR(p)) < 0 && errno == ENOENT && mstore_find_file(store, path, STR(name), found) == 1) {
	vstring_fmt(p, "%s/cur/%s", path, STR(found));
	(void) unlink(STR(p));
    }
    vstring_free(&p);
    vstring_free(&found);
}

/* mstore_view_drop - remove UIDs (ascending) from a view */
static void mstore_view_drop(MSTORE_VIEW *view, const MSTORE_UIDS *gone)
{
    uint32_t j = 0;
    size_t  k = 0;

    for (uint32_t i = 0; i < view->count; i++) {
	while (k < gone->len && gone->uids[k] < view->msgs[i].uid)
	    k++;
	if (k < gone->len && gone->uids[k] == view->msgs[i].uid)
	    continue;
	view->msgs[j++] = view->msgs[i];
    }
    view->count = j;
    mstore_view_summarize(view);
}

/* mstore_copy_move - COPY and MOVE */
static int mstore_copy_move(MSTORE_FOLDER *folder, const MSTORE_UIDS *uids, const char *dest,
			            bool move, uint32_t *uidvalidity_r, MSTORE_UIDS *src_r,
			            MSTORE_UIDS *dst_r, MSTORE_UIDS *expunged_r,
			            const char **error_r)
{
    MSTORE *store = folder->store;
    VSTRING *ddir = vstring_alloc(64), *dpath = vstring_alloc(256), *name = vstring_alloc(128);
    VSTRING *base = vstring_alloc(128), *newname = vstring_alloc(128);
    VSTRING *a = vstring_alloc(256), *b = vstring_alloc(256);
    MSTORE_FREC sfrec, dfrec_buf, *dfrec;
    char  **skw = NULL, **dkw_buf = NULL, ***dkw;
    MDB_txn *txn = NULL;
    MSTORE_REC rec;
    MSTORE_FNAME fn;
    MSTORE_UIDS made_src = {0}, made_dst = {0};
    char  **made = NULL, **srcnames = NULL;
    size_t  nmade = 0;
    uint64_t bytes = 0;
    int     rc, status = -1;
    bool    same, sources_gone = false;

    memset(&sfrec, 0, sizeof(sfrec));
    memset(&dfrec_buf, 0, sizeof(dfrec_buf));
    for (size_t i = 1; i < uids->len; i++)
	if (uids->uids[i] <= uids->uids[i - 1])
	    msg_panic("mstore_copy: UID list not ascending");
    if (mstore_name_to_dir(store, dest, ddir, error_r) < 0)
	goto out;
    same = strcmp(STR(ddir), folder->dir) == 0;
    mstore_folder_path(store, STR(ddir), dpath);
    /* Sizes from the records, only when there is a quota to check (the
     * shared read transaction ends with the write transaction below);
     * UIDs not in the view or gone are skipped. */
    for (size_t i = 0; !move && store->quota_limit && i < uids->len; i++) {
	MSTORE_MSG_INFO info;
	const char *ignored;

	if (mstore_msg_info(folder, uids->uids[i], &info, &ignored) == 0)
	    bytes += info.size;
    }
    if (!move && mstore_quota_check(store, bytes, error_r) < 0)
	goto out;
    if ((rc = mstore_txn_write(store, &txn)) != 0) {
	mstore_fail_mdb(store, error_r, "copy", rc);
	goto out;
    }
    vstring_fmt(a, "%s/cur", STR(dpath));
    if (access(STR(a), F_OK) < 0) {
	mstore_fail(store, error_r, "[TRYCREATE] Mailbox doesn't exist: %s", dest);
	goto out;
    }
    if (mstore_sync(store, txn, STR(ddir), &dfrec_buf, &dkw_buf, false, error_r) < 0)
	goto out;
    if ((rc = mstore_frec_get(store, txn, folder->dir, &sfrec, &skw)) <= 0 || sfrec.id != folder->id) {
	if (rc >= 0)
	    mstore_fail(store, error_r, "Mailbox was deleted or recreated");
	else
	    mstore_errptr(store, error_r);
	goto out;
    }
    dfrec = same ? &sfrec : &dfrec_buf;
    dkw = same ? &skw : &dkw_buf;
    uint64_t dmodseq = dfrec->highestmodseq + 1;

    for (size_t i = 0; i < uids->len; i++) {
	if (mstore_view_find(&folder->view, uids->uids[i]) == NULL)
	    continue;
	if ((rc = mstore_rec_get(store, txn, folder->id, uids->uids[i], &rec, name)) < 0) {
	    mstore_errptr(store, error_r);
	    goto undo;
	}
	if (rc == 0)
	    continue;
	uint32_t dbits = 0;

	for (uint32_t k = 0; k < sfrec.nkeywords && k < MSTORE_KEYWORDS_MAX; k++) {
	    if (!(rec.keywords & (1u << k)))
		continue;
	    int     bit = mstore_keyword_define(store, txn, STR(ddir), dfrec, dkw, skw[k], true, error_r);

	    if (bit >= 0)
		dbits |= 1u << bit;
	}
	mstore_fname_parse(STR(name), &fn);
	mailbox_unique(base);
	vstring_fmt_append(base, ",S=%llu", (unsigned long long) rec.size);
	if (rec.vsize)
	    vstring_fmt_append(base, ",W=%llu", (unsigned long long) rec.vsize);
	uint32_t duid = dfrec->uidnext;

	mstore_fname_build(newname, STR(base), LEN(base), duid, rec.flags, dbits & 0x3ffffffu);
	vstring_fmt(a, "%s/cur/%s", folder->path, STR(name));
	vstring_fmt(b, "%s/cur/%s", STR(dpath), STR(newname));
	if (mstore_copy_file(store, STR(a), STR(dpath), STR(b)) < 0) {
	    VSTRING *found = vstring_alloc(128);

	    if (errno == ENOENT && mstore_find_file(store, folder->path, STR(name), found) == 1) {
		vstring_fmt(a, "%s/cur/%s", folder->path, STR(found));
		vstring_set(name, STR(found));
		rc = mstore_copy_file(store, STR(a), STR(dpath), STR(b));
	    } else
		rc = -1;
	    vstring_free(&found);
	    if (rc < 0) {
		if (errno == ENOENT)
		    continue;			/* expunged meanwhile */
		mstore_fail(store, error_r, "copy %s to %s: %m", STR(a), STR(b));
		goto undo;
	    }
	}
	made = myreallocarray(made, nmade + 1, sizeof(char *));
	made[nmade++] = mystrdup(STR(b));
	srcnames = myreallocarray(srcnames, nmade, sizeof(char *));
	srcnames[nmade - 1] = mystrdup(STR(name));
	rec.keywords = dbits;
	rec.modseq = dmodseq;
	if (mstore_rec_put(store, txn, dfrec->id, duid, &rec, STR(newname), LEN(newname), true) < 0) {
	    mstore_errptr(store, error_r);
	    goto undo;
	}
	dfrec->uidnext++;
	dfrec->count++;
	dfrec->bytes += rec.size;
	mstore_uids_add(&made_src, uids->uids[i]);
	mstore_uids_add(&made_dst, duid);
    }
    if (made_dst.len)
	dfrec->highestmodseq = dmodseq;
    if (move && made_src.len) {
	/* Remove the sources (in a same-folder move the copies stay). */
	uint64_t smodseq = sfrec.highestmodseq + 1;

	for (size_t i = 0; i < made_src.len; i++) {
	    if (mstore_rec_get(store, txn, folder->id, made_src.uids[i], &rec, NULL) <= 0)
		continue;
	    if (mstore_rec_del(store, txn, folder->id, made_src.uids[i], smodseq) < 0) {
		mstore_errptr(store, error_r);
		goto undo;
	    }
	    sfrec.count--;
	    sfrec.bytes -= rec.size;
	}
	sfrec.highestmodseq = smodseq;
    }
    if ((!same && mstore_frec_put(store, txn, STR(ddir), dfrec, *dkw) < 0)
	|| mstore_frec_put(store, txn, folder->dir, &sfrec, skw) < 0) {
	mstore_errptr(store, error_r);
	goto undo;
    }
    /* MOVE: the source files go while we still hold the index lock, so no
     * other session's sync can see a source file without its record and
     * index it again. From here on a failure keeps the copies (a later
     * sync of the destination indexes them): nothing is lost. */
    if (move) {
	for (size_t i = 0; i < made_src.len; i++) {
	    vstring_set(name, srcnames[i]);
	    mstore_remove_msg(store, folder->path, name);
	}
	sources_gone = true;
    }
    rc = mdb_txn_commit(txn);
    txn = NULL;
    if (rc != 0) {
	mstore_fail_mdb(store, error_r, "copy", rc);
	goto undo;
    }
    vstring_fmt(a, "%s/cur", STR(dpath));
    (void) mstore_fsync_dir(STR(a));
    if (move) {
	for (size_t i = 0; i < made_src.len; i++) {
	    if (expunged_r)
		mstore_uids_add(expunged_r, made_src.uids[i]);
	}
	mstore_view_drop(&folder->view, &made_src);
	if (sfrec.highestmodseq - 1 == folder->view.highestmodseq)
	    folder->view.highestmodseq = sfrec.highestmodseq;
    }
    if (uidvalidity_r)
	*uidvalidity_r = dfrec->uidvalidity;
    for (size_t i = 0; i < made_src.len; i++) {
	if (src_r)
	    mstore_uids_add(src_r, made_src.uids[i]);
	if (dst_r)
	    mstore_uids_add(dst_r, made_dst.uids[i]);
    }
    status = 0;
    goto out;

undo:
    for (size_t i = 0; i < nmade && !sources_gone; i++)
	(void) unlink(made[i]);
out:
    if (txn)
	mdb_txn_abort(txn);
    for (size_t i = 0; i < nmade; i++) {
	myfree(made[i]);
	myfree(srcnames[i]);
    }
    myfree(made);
    myfree(srcnames);
    mstore_keywords_free(&skw, sfrec.nkeywords);
    mstore_keywords_free(&dkw_buf, dfrec_buf.nkeywords);
    mstore_uids_free(&made_src);
    mstore_uids_free(&made_dst);
    vstring_free(&ddir);
    vstring_free(&dpath);
    vstring_free(&name);
    vstring_free(&base);
    vstring_free(&newname);
    vstring_free(&a);
    vstring_free(&b);
    return status;
}

/* mstore_copy - COPY */
int     mstore_copy(MSTORE_FOLDER *folder, const MSTORE_UIDS *uids, const char *dest,
		            uint32_t *uidvalidity_r, MSTORE_UIDS *src_r, MSTORE_UIDS *dst_r,
		            const char **error_r)
{
    return mstore_copy_move(folder, uids, dest, false, uidvalidity_r, src_r, dst_r, NULL, error_r);
}

/* mstore_move - MOVE */
int     mstore_move(MSTORE_FOLDER *folder, const MSTORE_UIDS *uids, const char *dest,
		            uint32_t *uidvalidity_r, MSTORE_UIDS *src_r, MSTORE_UIDS *dst_r,
		            MSTORE_UIDS *expunged_r, const char **error_r)
{
    return mstore_copy_move(folder, uids, dest, true, uidvalidity_r, src_r, dst_r, expunged_r,
			    error_r);
}

/* mstore_expunge - EXPUNGE / UID EXPUNGE */
int     mstore_expunge(MSTORE_FOLDER *folder, const MSTORE_UIDS *uids, MSTORE_UIDS *expunged_r,
		               const char **error_r)
{
    MSTORE *store = folder->store;
    VSTRING *name = vstring_alloc(128);
    MSTORE_UIDS gone = {0};
    MSTORE_FREC frec;
    MSTORE_REC rec;
    MDB_txn *txn = NULL;
    char  **kw = NULL;
    int     rc, status = -1;
    uint64_t modseq;

    memset(&frec, 0, sizeof(frec));
    if (uids)
	for (size_t i = 1; i < uids->len; i++)
	    if (uids->uids[i] <= uids->uids[i - 1])
		msg_panic("mstore_expunge: UID list not ascending");
    if ((rc = mstore_txn_write(store, &txn)) != 0) {
	mstore_fail_mdb(store, error_r, "expunge", rc);
	goto out;
    }
    if ((rc = mstore_frec_get(store, txn, folder->dir, &frec, &kw)) <= 0 || frec.id != folder->id) {
	if (rc >= 0)
	    mstore_fail(store, error_r, "Mailbox was deleted or recreated");
	else
	    mstore_errptr(store, error_r);
	goto out;
    }
    modseq = frec.highestmodseq + 1;
    size_t  n = uids ? uids->len : folder->view.count;

    for (size_t i = 0; i < n; i++) {
	uint32_t uid = uids ? uids->uids[i] : folder->view.msgs[i].uid;

	if (uids && mstore_view_find(&folder->view, uid) == NULL)
	    continue;
	if ((rc = mstore_rec_get(store, txn, folder->id, uid, &rec, name)) < 0) {
	    mstore_errptr(store, error_r);
	    goto out;
	}
	if (rc == 0 || !(rec.flags & MSTORE_DELETED))
	    continue;
	mstore_remove_msg(store, folder->path, name);
	if (mstore_rec_del(store, txn, folder->id, uid, modseq) < 0) {
	    mstore_errptr(store, error_r);
	    goto out;
	}
	frec.count--;
	frec.bytes -= rec.size;
	mstore_uids_add(&gone, uid);
    }
    if (gone.len) {
	frec.highestmodseq = modseq;
	if (mstore_frec_put(store, txn, folder->dir, &frec, kw) < 0) {
	    mstore_errptr(store, error_r);
	    goto out;
	}
    }
    rc = mdb_txn_commit(txn);
    txn = NULL;
    if (rc != 0) {
	mstore_fail_mdb(store, error_r, "expunge", rc);
	goto out;
    }
    if (gone.len) {
	/* UIDNEXT must survive an index loss even when the highest UIDs are
	 * the ones that went. */
	mstore_uidv_write(folder->path, &frec);
	if (modseq - 1 == folder->view.highestmodseq)
	    folder->view.highestmodseq = modseq;
	mstore_view_drop(&folder->view, &gone);
    }
    for (size_t i = 0; expunged_r && i < gone.len; i++)
	mstore_uids_add(expunged_r, gone.uids[i]);
    status = 0;
out:
    if (txn)
	mdb_txn_abort(txn);
    mstore_keywords_free(&kw, frec.nkeywords);
    mstore_uids_free(&gone);
    vstring_free(&name);
    return status;
}

/* mstore_rebuild - forget a folder's index entries and rebuild them */
int     mstore_rebuild(MSTORE *store, const char *name, const char **error_r)
{
    VSTRING *dir = vstring_alloc(64);
    MSTORE_FREC frec;
    MDB_txn *txn = NULL;
    char  **kw = NULL;
    int     rc, status = -1;

    memset(&frec, 0, sizeof(frec));
    if (mstore_name_to_dir(store, name, dir, error_r) < 0)
	goto out;
    if ((rc = mstore_txn_write(store, &txn)) != 0) {
	mstore_fail_mdb(store, error_r, "rebuild", rc);
	goto out;
    }
    if ((rc = mstore_frec_get(store, txn, STR(dir), &frec, NULL)) > 0) {
	if (mstore_folder_forget(store, txn, STR(dir), frec.id) < 0) {
	    mstore_errptr(store, error_r);
	    goto out;
	}
    }
    memset(&frec, 0, sizeof(frec));
    if (mstore_sync(store, txn, STR(dir), &frec, &kw, true, error_r) < 0)
	goto out;
    rc = mdb_txn_commit(txn);
    txn = NULL;
    if (rc != 0) {
	mstore_fail_mdb(store, error_r, "rebuild", rc);
	goto out;
    }
    status = 0;
out:
    if (txn)
	mdb_txn_abort(txn);
    mstore_keywords_free(&kw, frec.nkeywords);
    vstring_free(&dir);
    return status;
}
