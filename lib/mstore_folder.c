/* mstore_folder - opening a folder, its view, refresh and change checks.
 *
 * Contract (see mstore.h): a warm open of an unchanged folder takes one
 * read transaction (two stat()s and one cursor walk over the folder's
 * fixed-width records); anything else syncs in a write transaction.
 * \Recent is claimed by moving the folder's recent_floor up to UIDNEXT in
 * the same write transaction, so exactly one session sees a message as
 * recent. An index error that looks like corruption replaces the index
 * (mstore_index_recover) and the operation is retried once, rebuilding
 * the folder from its files.
 */
#include "sys_defs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "msg.h"
#include "mymalloc.h"
#include "mstore_private.h"

/* mstore_view_free - release a view's arrays */
void    mstore_view_free(MSTORE_VIEW *view)
{
    myfree(view->msgs);
    view->msgs = NULL;
    mstore_keywords_free(&view->keywords, view->keyword_count);
    view->keyword_count = 0;
}

/* mstore_view_set_keywords - take over a keyword array */
void    mstore_view_set_keywords(MSTORE_VIEW *view, char **kw, unsigned n)
{
    mstore_keywords_free(&view->keywords, view->keyword_count);
    view->keywords = kw;
    view->keyword_count = n;
}

/* mstore_view_summarize - recount recent and first_unseen */
void    mstore_view_summarize(MSTORE_VIEW *view)
{
    view->recent = 0;
    view->first_unseen = 0;
    for (uint32_t i = 0; i < view->count; i++) {
	if (view->msgs[i].recent)
	    view->recent++;
	if (view->first_unseen == 0 && !(view->msgs[i].flags & MSTORE_SEEN))
	    view->first_unseen = i + 1;
    }
}

/* mstore_view_find - message by UID (binary search) */
MSTORE_MSG *mstore_view_find(const MSTORE_VIEW *view, uint32_t uid)
{
    uint32_t lo = 0, hi = view->count;

    while (lo < hi) {
	uint32_t mid = lo + (hi - lo) / 2;

	if (view->msgs[mid].uid == uid)
	    return &view->msgs[mid];
	if (view->msgs[mid].uid < uid)
	    lo = mid + 1;
	else
	    hi = mid;
    }
    return NULL;
}

/* mstore_folder_sync_once - sync and load a new view; *lo_r..*hi_r gets
 * the UID range claimed as recent */
static int mstore_folder_sync_once(MSTORE_FOLDER *folder, bool claim, MSTORE_VIEW *view,
				           MSTORE_FREC *frec, uint32_t *lo_r, uint32_t *hi_r,
				           const char **error_r)
{
    MSTORE *store = folder->store;
    MDB_txn *txn;
    char  **kw = NULL;
    int     rc;

    *lo_r = *hi_r = 0;
    store->last_rc = 0;
    /* Fast path: nothing changed and nothing to claim. */
    if ((rc = mdb_txn_begin(store->env, NULL, MDB_RDONLY, &txn)) != 0)
	return mstore_fail_mdb(store, error_r, "open folder", rc);
    rc = mstore_frec_get(store, txn, folder->dir, frec, &kw);
    if (rc > 0 && (!claim || frec->recent_floor >= frec->uidnext)
	&& mstore_dirs_unchanged(folder->path, frec)) {
	view->count = frec->count;
	if (mstore_view_load(store, txn, frec->id, view) < 0) {
	    mdb_txn_abort(txn);
	    mstore_keywords_free(&kw, frec->nkeywords);
	    return mstore_errptr(store, error_r);
	}
	mdb_txn_abort(txn);
	mstore_view_set_keywords(view, kw, frec->nkeywords);
	return 0;
    }
    mdb_txn_abort(txn);
    if (rc > 0)
	mstore_keywords_free(&kw, frec->nkeywords);
    kw = NULL;

    if ((rc = mstore_txn_write(store, &txn)) != 0)
	return mstore_fail_mdb(store, error_r, "open folder", rc);
    if (mstore_sync(store, txn, folder->dir, frec, &kw, false, error_r) < 0)
	goto bad;
    if (claim && frec->recent_floor < frec->uidnext) {
	*lo_r = frec->recent_floor;
	*hi_r = frec->uidnext;
	frec->recent_floor = frec->uidnext;
	if (mstore_frec_put(store, txn, folder->dir, frec, kw) < 0) {
	    mstore_errptr(store, error_r);
	    goto bad;
	}
    }
    view->count = frec->count;
    if (mstore_view_load(store, txn, frec->id, view) < 0) {
	mstore_errptr(store, error_r);
	goto bad;
    }
    if ((rc = mdb_txn_commit(txn)) != 0) {
	mstore_keywords_free(&kw, frec->nkeywords);
	return mstore_fail_mdb(store, error_r, "open folder", rc);
    }
    mstore_view_set_keywords(view, kw, frec->nkeywords);
    return 0;

bad:
    mdb_txn_abort(txn);
    mstore_keywords_free(&kw, frec->nkeywords);
    return -1;
}

/* mstore_folder_sync - sync_once with one retry after index recovery */
static int mstore_folder_sync(MSTORE_FOLDER *folder, bool claim, MSTORE_VIEW *view,
			              MSTORE_FREC *frec, uint32_t *lo_r, uint32_t *hi_r,
			              const char **error_r)
{
    MSTORE *store = folder->store;

    if (mstore_folder_sync_once(folder, claim, view, frec, lo_r, hi_r, error_r) == 0)
	return 0;
    if (!mstore_mdb_corrupt(store->last_rc))
	return -1;
    if (mstore_index_recover(store, store->last_rc, error_r) < 0)
	return -1;
    return mstore_folder_sync_once(folder, claim, view, frec, lo_r, hi_r, error_r);
}

/* mstore_view_header - copy the folder record's numbers into a view */
static void mstore_view_header(MSTORE_VIEW *view, const MSTORE_FREC *frec)
{
    view->uidvalidity = frec->uidvalidity;
    view->uidnext = frec->uidnext;
    view->highestmodseq = frec->highestmodseq;
}

/* mstore_folder_open - sync and open */
MSTORE_FOLDER *mstore_folder_open(MSTORE *store, const char *name, int flags,
				          const char **error_r)
{
    MSTORE_FOLDER *folder;
    VSTRING *dir = vstring_alloc(64), *path = vstring_alloc(256);
    uint32_t lo, hi;
    bool    claim = !(flags & (MSTORE_OPEN_READONLY | MSTORE_OPEN_NO_RECENT));

    if (store == NULL || name == NULL)
	msg_panic("mstore_folder_open: NULL argument");
    if (mstore_name_to_dir(store, name, dir, error_r) < 0) {
	vstring_free(&dir);
	vstring_free(&path);
	return NULL;
    }
    folder = mycalloc(1, sizeof(*folder));
    folder->store = store;
    folder->name = mystrdup(name);
    folder->dir = mystrdup(STR(dir));
    mstore_folder_path(store, STR(dir), path);
    folder->path = mystrdup(STR(path));
    vstring_fmt(path, "%s/new", folder->path);
    folder->watch[0] = mystrdup(STR(path));
    vstring_fmt(path, "%s/cur", folder->path);
    folder->watch[1] = mystrdup(STR(path));
    folder->open_flags = flags;
    vstring_free(&dir);
    vstring_free(&path);
    if (mstore_folder_sync(folder, claim, &folder->view, &folder->frec, &lo, &hi, error_r) < 0) {
	mstore_folder_close(&folder);
	return NULL;
    }
    folder->id = folder->frec.id;
    mstore_view_header(&folder->view, &folder->frec);
    for (uint32_t i = 0; i < folder->view.count; i++)
	if (folder->view.msgs[i].uid >= lo && folder->view.msgs[i].uid < hi)
	    folder->view.msgs[i].recent = 1;
    mstore_view_summarize(&folder->view);
    return folder;
}

/* mstore_folder_close - release */
void    mstore_folder_close(MSTORE_FOLDER **folderp)
{
    MSTORE_FOLDER *folder = *folderp;
    const char *err;

    if (folder == NULL)
	return;
    if (mstore_cache_flush(folder->store, &err) < 0)
	msg_warn("%s: %s", folder->path, err);
    mstore_view_free(&folder->view);
    myfree(folder->name);
    myfree(folder->dir);
    myfree(folder->path);
    myfree(folder->watch[0]);
    myfree(folder->watch[1]);
    myfree(folder);
    *folderp = NULL;
}

/* mstore_folder_view - the view */
const MSTORE_VIEW *mstore_folder_view(const MSTORE_FOLDER *folder)
{
    return &folder->view;
}

/* mstore_folder_name - as opened */
const char *mstore_folder_name(const MSTORE_FOLDER *folder)
{
    return folder->name;
}

/* mstore_folder_watch_paths - new/ and cur/ */
const char *const *mstore_folder_watch_paths(const MSTORE_FOLDER *folder)
{
    return (const char *const *) folder->watch;
}

/* mstore_folder_changed - cheap change check */
int     mstore_folder_changed(MSTORE_FOLDER *folder, const char **error_r)
{
    MSTORE *store = folder->store;
    MSTORE_FREC frec;
    MDB_txn *txn;
    int     rc;

    if (!mstore_dirs_unchanged(folder->path, &folder->frec))
	return 1;
    if ((rc = mdb_txn_begin(store->env, NULL, MDB_RDONLY, &txn)) != 0)
	return mstore_fail_mdb(store, error_r, "check folder", rc);
    rc = mstore_frec_get(store, txn, folder->dir, &frec, NULL);
    mdb_txn_abort(txn);
    if (rc < 0)
	return mstore_errptr(store, error_r);
    if (rc == 0 || frec.id != folder->id)
	return 1;
    return frec.highestmodseq != folder->view.highestmodseq || frec.count != folder->view.count
	|| frec.uidnext != folder->view.uidnext;
}

/* mstore_folder_refresh - sync again, replace the view, report the diff */
int     mstore_folder_refresh(MSTORE_FOLDER *folder, MSTORE_UIDS *expunged_r,
			              MSTORE_UIDS *changed_r, const char **error_r)
{
    MSTORE_VIEW nv;
    MSTORE_FREC frec;
    MSTORE_VIEW *ov = &folder->view;
    uint32_t lo, hi, i = 0, j = 0;
    bool    claim = !(folder->open_flags & (MSTORE_OPEN_READONLY | MSTORE_OPEN_NO_RECENT));

    memset(&nv, 0, sizeof(nv));
    if (mstore_folder_sync(folder, claim, &nv, &frec, &lo, &hi, error_r) < 0) {
	mstore_view_free(&nv);
	return -1;
    }
    if (frec.id != folder->id || frec.uidvalidity != ov->uidvalidity) {
	/* The folder was recreated or rebuilt under a new UIDVALIDITY:
	 * everything old is gone. */
	for (uint32_t k = 0; expunged_r && k < ov->count; k++)
	    mstore_uids_add(expunged_r, ov->msgs[k].uid);
	ov->count = 0;
    }
    while (i < ov->count || j < nv.count) {
	if (j >= nv.count || (i < ov->count && ov->msgs[i].uid < nv.msgs[j].uid)) {
	    if (expunged_r)
		mstore_uids_add(expunged_r, ov->msgs[i].uid);
	    i++;
	} else if (i >= ov->count || nv.msgs[j].uid < ov->msgs[i].uid) {
	    nv.msgs[j].recent = nv.msgs[j].uid >= lo && nv.msgs[j].uid < hi;
	    j++;
	} else {
	    nv.msgs[j].recent = ov->msgs[i].recent;
	    if (changed_r && nv.msgs[j].modseq != ov->msgs[i].modseq)
		mstore_uids_add(changed_r, nv.msgs[j].uid);
	    i++;
	    j++;
	}
    }
    mstore_view_free(ov);
    *ov = nv;
    folder->frec = frec;
    folder->id = frec.id;
    mstore_view_header(ov, &frec);
    mstore_view_summarize(ov);
    return 0;
}

/* mstore_folder_seq - sequence number of a UID */
uint32_t mstore_folder_seq(const MSTORE_FOLDER *folder, uint32_t uid)
{
    const MSTORE_MSG *m = mstore_view_find(&folder->view, uid);

    return m ? (uint32_t) (m - folder->view.msgs) + 1 : 0;
}

/* mstore_status - STATUS numbers */
int     mstore_status(MSTORE *store, const char *name, MSTORE_VIEW *view_r,
		              uint32_t *unseen_r, const char **error_r)
{
    MSTORE_FOLDER *folder = mstore_folder_open(store, name, MSTORE_OPEN_NO_RECENT, error_r);
    uint32_t unseen = 0, recent = 0;

    if (folder == NULL)
	return -1;
    for (uint32_t i = 0; i < folder->view.count; i++) {
	if (!(folder->view.msgs[i].flags & MSTORE_SEEN))
	    unseen++;
	if (folder->view.msgs[i].uid >= folder->frec.recent_floor)
	    recent++;
    }
    memset(view_r, 0, sizeof(*view_r));
    view_r->count = folder->view.count;
    view_r->uidvalidity = folder->view.uidvalidity;
    view_r->uidnext = folder->view.uidnext;
    view_r->highestmodseq = folder->view.highestmodseq;
    view_r->first_unseen = folder->view.first_unseen;
    view_r->recent = recent;
    if (unseen_r)
	*unseen_r = unseen;
    mstore_folder_close(&folder);
    return 0;
}
