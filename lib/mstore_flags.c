/* mstore_flags - keywords and STORE.
 *
 * Contract: a flag change is one write transaction: each changed message
 * gets the transaction's MODSEQ, its record is rewritten and its file is
 * renamed to the new ":2," suffix (base name unchanged, so other programs
 * and our own syncs keep recognizing it). A file renamed meanwhile by
 * another program is found again by base name; one that vanished is left
 * for the next sync to expunge.
 *
 * Keywords: up to MSTORE_KEYWORDS_MAX per folder, IMAP atoms up to 128
 * bytes, compared case-insensitively, never removed once defined (bit
 * numbers are stored in records and file names).
 */
#include "sys_defs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "msg.h"
#include "mymalloc.h"
#include "mstore_private.h"

/* mstore_keyword_valid - an IMAP flag-keyword atom */
int     mstore_keyword_valid(const char *kw)
{
    size_t  len = strlen(kw);

    if (len == 0 || len > 128 || kw[0] == '\\')
	return 0;
    for (const char *cp = kw; *cp; cp++) {
	unsigned char ch = (unsigned char) *cp;

	if (ch <= 0x20 || ch >= 0x7f || strchr("(){%*\"\\]", ch))
	    return 0;
    }
    return 1;
}

/* mstore_keyword_define - bit of keyword in a folder record, adding it
 * (record and posthorn-keywords written) when create is set */
int     mstore_keyword_define(MSTORE *store, MDB_txn *txn, const char *dir, MSTORE_FREC *frec,
			              char ***kw, const char *keyword, bool create,
			              const char **error_r)
{
    VSTRING *path;

    if (!mstore_keyword_valid(keyword))
	return mstore_fail(store, error_r, "Invalid keyword: %s", keyword);
    for (uint32_t i = 0; i < frec->nkeywords; i++)
	if (strcasecmp((*kw)[i], keyword) == 0)
	    return (int) i;
    if (!create)
	return mstore_fail(store, error_r, "Unknown keyword: %s", keyword);
    if (frec->nkeywords >= MSTORE_KEYWORDS_MAX)
	return mstore_fail(store, error_r, "Too many keywords in this mailbox (max %d)",
			   MSTORE_KEYWORDS_MAX);
    *kw = myreallocarray(*kw, frec->nkeywords + 2, sizeof(char *));
    (*kw)[frec->nkeywords++] = mystrdup(keyword);
    (*kw)[frec->nkeywords] = NULL;
    if (mstore_frec_put(store, txn, dir, frec, *kw) < 0)
	return mstore_errptr(store, error_r);
    path = vstring_alloc(256);
    mstore_folder_path(store, dir, path);
    mstore_kw_write(STR(path), *kw, frec->nkeywords);
    vstring_free(&path);
    return (int) frec->nkeywords - 1;
}

/* mstore_keyword_index - bit of a keyword, defining it on demand */
int     mstore_keyword_index(MSTORE_FOLDER *folder, const char *keyword, bool create,
			             const char **error_r)
{
    MSTORE *store = folder->store;
    MSTORE_FREC frec;
    MDB_txn *txn;
    char  **kw = NULL;
    int     rc, idx;

    if (!mstore_keyword_valid(keyword))
	return mstore_fail(store, error_r, "Invalid keyword: %s", keyword);
    for (unsigned i = 0; i < folder->view.keyword_count; i++)
	if (strcasecmp(folder->view.keywords[i], keyword) == 0)
	    return (int) i;
    if (!create)
	return mstore_fail(store, error_r, "Unknown keyword: %s", keyword);
    if ((rc = mstore_txn_write(store, &txn)) != 0)
	return mstore_fail_mdb(store, error_r, "define keyword", rc);
    if ((rc = mstore_frec_get(store, txn, folder->dir, &frec, &kw)) <= 0 || frec.id != folder->id) {
	mdb_txn_abort(txn);
	if (rc > 0)
	    mstore_keywords_free(&kw, frec.nkeywords);
	return rc < 0 ? mstore_errptr(store, error_r)
	    : mstore_fail(store, error_r, "Mailbox was deleted or recreated");
    }
    idx = mstore_keyword_define(store, txn, folder->dir, &frec, &kw, keyword, true, error_r);
    if (idx < 0 || (rc = mdb_txn_commit(txn)) != 0) {
	if (idx >= 0)
	    mstore_fail_mdb(store, error_r, "define keyword", rc);
	else
	    mdb_txn_abort(txn);
	mstore_keywords_free(&kw, frec.nkeywords);
	return -1;
    }
    /* The view learns every keyword defined so far (by anyone). */
    mstore_view_set_keywords(&folder->view, kw, frec.nkeywords);
    folder->frec.nkeywords = frec.nkeywords;
    return idx;
}

/* mstore_store_rename - rename a message file to new flags; 0 done (name
 * updated), 1 file gone, -1 error */
static int mstore_store_rename(MSTORE *store, const char *path, int curfd, VSTRING *name,
			               const char *newname)
{
    VSTRING *found;

    if (strcmp(STR(name), newname) == 0)
	return 0;
    if (renameat(curfd, STR(name), curfd, newname) == 0) {
	vstring_set(name, newname);
	return 0;
    }
    if (errno != ENOENT)
	return mstore_fail(store, NULL, "rename %s/cur/%s: %m", path, STR(name));
    found = vstring_alloc(128);
    int     st = 1;

    if (mstore_find_file(store, path, STR(name), found) == 1) {
	if (renameat(curfd, STR(found), curfd, newname) == 0) {
	    vstring_set(name, newname);
	    st = 0;
	} else if (errno != ENOENT) {
	    st = mstore_fail(store, NULL, "rename %s/cur/%s: %m", path, STR(found));
	}
    }
    vstring_free(&found);
    return st;
}

/* mstore_store_flags - STORE */
int     mstore_store_flags(MSTORE_FOLDER *folder, const MSTORE_UIDS *uids, int mode,
			           uint32_t flags, uint32_t keywords, uint64_t unchangedsince,
			           MSTORE_UIDS *failed_r, const char **error_r)
{
    MSTORE *store = folder->store;
    VSTRING *name = vstring_alloc(128), *newname = vstring_alloc(128), *p = vstring_alloc(256);
    MSTORE_FREC frec;
    MDB_txn *txn = NULL;
    MSTORE_REC rec;
    MSTORE_FNAME fn;
    char  **kw = NULL;
    int     rc, curfd = -1, status = -1;
    bool    any = false;
    uint64_t modseq;

    if (mode < MSTORE_FLAGS_REPLACE || mode > MSTORE_FLAGS_REMOVE)
	msg_panic("mstore_store_flags: bad mode %d", mode);
    for (size_t i = 1; i < uids->len; i++)
	if (uids->uids[i] <= uids->uids[i - 1])
	    msg_panic("mstore_store_flags: UID list not ascending");
    flags &= MSTORE_FLAGS_ALL;
    memset(&frec, 0, sizeof(frec));
    vstring_fmt(p, "%s/cur", folder->path);
    if ((curfd = open(STR(p), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
	mstore_fail(store, error_r, "open %s: %m", STR(p));
	goto out;
    }
    if ((rc = mstore_txn_write(store, &txn)) != 0) {
	mstore_fail_mdb(store, error_r, "store", rc);
	goto out;
    }
    if ((rc = mstore_frec_get(store, txn, folder->dir, &frec, &kw)) <= 0 || frec.id != folder->id) {
	if (rc >= 0)
	    mstore_fail(store, error_r, "Mailbox was deleted or recreated");
	else
	    mstore_errptr(store, error_r);
	if (rc > 0)
	    mstore_keywords_free(&kw, frec.nkeywords);
	goto out;
    }
    modseq = frec.highestmodseq + 1;
    for (size_t i = 0; i < uids->len; i++) {
	MSTORE_MSG *m = mstore_view_find(&folder->view, uids->uids[i]);
	uint32_t nf, nk;

	if (m == NULL)
	    continue;
	if ((rc = mstore_rec_get(store, txn, folder->id, m->uid, &rec, name)) < 0) {
	    mstore_errptr(store, error_r);
	    goto out;
	}
	if (rc == 0)
	    continue;				/* expunged by someone else */
	if (unchangedsince && rec.modseq > unchangedsince) {
	    if (failed_r)
		mstore_uids_add(failed_r, m->uid);
	    continue;
	}
	switch (mode) {
	case MSTORE_FLAGS_REPLACE:
	    nf = flags | (rec.flags & MSTORE_PASSED);
	    nk = keywords;
	    break;
	case MSTORE_FLAGS_ADD:
	    nf = rec.flags | flags;
	    nk = rec.keywords | keywords;
	    break;
	default:
	    nf = rec.flags & ~flags;
	    nk = rec.keywords & ~keywords;
	    break;
	}
	if (nf == rec.flags && nk == rec.keywords)
	    continue;
	mstore_fname_parse(STR(name), &fn);
	mstore_fname_build(newname, STR(name), fn.base_len, 0, nf, nk & 0x3ffffffu);
	if ((rc = mstore_store_rename(store, folder->path, curfd, name, STR(newname))) < 0) {
	    mstore_errptr(store, error_r);
	    goto out;
	}
	if (rc == 1)
	    continue;				/* gone: the next sync expunges it */
	rec.flags = nf;
	rec.keywords = nk;
	rec.modseq = modseq;
	if (mstore_rec_put(store, txn, folder->id, m->uid, &rec, STR(name), LEN(name), false) < 0) {
	    mstore_errptr(store, error_r);
	    goto out;
	}
	m->flags = nf;
	m->keywords = nk;
	m->modseq = modseq;
	any = true;
    }
    if (any) {
	bool    current = frec.highestmodseq == folder->view.highestmodseq;

	frec.highestmodseq = modseq;
	if (mstore_frec_put(store, txn, folder->dir, &frec, kw) < 0) {
	    mstore_errptr(store, error_r);
	    goto out;
	}
	if ((rc = mdb_txn_commit(txn)) != 0) {
	    txn = NULL;
	    mstore_fail_mdb(store, error_r, "store", rc);
	    goto out;
	}
	txn = NULL;
	/* Only a view that had seen everything may move its HIGHESTMODSEQ. */
	if (current)
	    folder->view.highestmodseq = modseq;
	mstore_view_summarize(&folder->view);
    }
    status = 0;
out:
    if (txn)
	mdb_txn_abort(txn);
    mstore_keywords_free(&kw, frec.nkeywords);
    if (curfd >= 0)
	close(curfd);
    vstring_free(&name);
    vstring_free(&newname);
    vstring_free(&p);
    return status;
}
