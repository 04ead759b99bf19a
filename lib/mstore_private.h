/* mstore_private.h - internals shared by the mstore*.c files.
 *
 * Index format (LMDB, one environment per user, MDB_NOSUBDIR; integers in
 * keys big-endian so cursors walk in UID order, values in native byte
 * order: the index is a per-host cache that a rebuild can always recreate):
 *
 *   meta      "version" -> "1"; "nextid" -> uint32 next folder id
 *   folders   on-disk dir name (".A.B"; "INBOX" for the root) ->
 *             MSTORE_FREC + keyword names, NUL-terminated, back to back
 *   msgs      {be32 folder id, be32 uid} -> MSTORE_REC + file name in cur/
 *   expunged  {be32 folder id, be32 uid} -> uint64 modseq
 *   cache     {be32 folder id, be32 uid, u8 kind} -> blob
 */
#ifndef MSTORE_PRIVATE_H
#define MSTORE_PRIVATE_H

#include "sys_defs.h"

#include <lmdb.h>
#include <sys/stat.h>

#include "htable.h"
#include "mstore.h"
#include "vstring.h"

#define MSTORE_INDEX_VERSION "1"
#define MSTORE_UIDV_FILE "posthorn-uidvalidity"
#define MSTORE_KW_FILE "posthorn-keywords"
#define MSTORE_SUBS_FILE "subscriptions"
#define MSTORE_INBOX_KEY "INBOX"

/* Per-folder record. */
typedef struct mstore_frec {
    uint32_t version;		/* 1 */
    uint32_t id;		/* key prefix of the folder's messages */
    uint32_t uidvalidity;
    uint32_t uidnext;
    uint64_t highestmodseq;
    uint64_t expunge_floor;	/* modseq of the last rebuild */
    uint32_t recent_floor;	/* first UID no session has seen */
    uint32_t count;
    uint64_t bytes;
    int64_t new_sec, new_nsec;	/* new/ mtime as of the last full scan */
    int64_t cur_sec, cur_nsec;	/* cur/ mtime */
    int64_t scan_sec, scan_nsec;	/* when that scan started */
    uint32_t nkeywords;
    uint32_t pad;
} MSTORE_FREC;

/* Per-message record (followed by the file name, no terminator). */
typedef struct mstore_rec {
    uint32_t flags;
    uint32_t keywords;
    uint64_t modseq;
    int64_t idate;
    uint64_t size;
    uint64_t vsize;
} MSTORE_REC;

/* A cache write waiting for mstore_cache_flush (kind 0: a vsize). */
typedef struct mstore_pending {
    uint32_t fid;
    uint32_t uid;
    int     kind;
    uint64_t vsize;
    char   *data;
    size_t  len;
} MSTORE_PENDING;

/* Flush the pending cache writes at this many entries or bytes. */
#define MSTORE_CACHE_BATCH	1000
#define MSTORE_CACHE_BATCH_BYTES (4 << 20)

struct mstore {
    char   *root;
    char   *index_path;
    char    sep;
    uint64_t quota_limit;
    MDB_env *env;
    MDB_dbi db_meta, db_folders, db_msgs, db_expunged, db_cache;
    VSTRING *err;
    VSTRING *scratch;
    int     last_rc;		/* LMDB code of the last index error */
    MSTORE_PENDING *pending;	/* cache writes not yet in the index */
    size_t  npending, pending_alloc, pending_bytes;
    uint32_t pending_vsize_max;	/* highest UID of a queued size, 0: none */
    MDB_txn *rtxn;		/* shared read transaction (mstore_release) */
    MDB_cursor *rcur;		/* on msgs in rtxn, NULL: not opened yet */
    bool    rcur_set;		/* rcur is on the record of rcur_fid/uid */
    uint32_t rcur_fid, rcur_uid;
};

struct mstore_folder {
    MSTORE *store;
    char   *name;		/* IMAP name as opened */
    char   *dir;		/* on-disk name: "" or ".A.B" */
    char   *path;		/* ROOT or ROOT/.A.B */
    char   *watch[3];		/* new/, cur/, NULL */
    int     open_flags;
    uint32_t id;
    MSTORE_VIEW view;
    MSTORE_FREC frec;		/* as of the view */
    uint32_t info_next;		/* view index after the last mstore_msg_info */
};

struct mstore_append {
    MSTORE *store;
    char   *dir;
    char   *path;		/* folder path */
    char   *tmp_path;
    char   *base;		/* unique base without S=/W= */
    int     fd;
    uint64_t size;		/* bytes written (LF) */
    uint64_t vsize;		/* CRLF size */
    bool    pending_cr;		/* last input byte was a CR not yet written */
    bool    failed;
    VSTRING *buf;
};

/* A parsed Maildir file name. */
typedef struct mstore_fname {
    size_t  base_len;		/* bytes before ":2," (or the whole name) */
    bool    has_info;		/* ":2," present */
    uint32_t flags;
    uint32_t kwletters;		/* a-z as bits 0..25 */
    bool    has_size, has_vsize, has_uid;
    uint64_t size, vsize;
    uint32_t uid;
} MSTORE_FNAME;

/* mstore.c */
int mstore_fail(MSTORE *store, const char **error_r, const char *fmt, ...) PH_PRINTF(3, 4);
int mstore_fail_mdb(MSTORE *store, const char **error_r, const char *what, int rc);
int mstore_errptr(MSTORE *store, const char **error_r);
void mstore_folder_path(const MSTORE *store, const char *dir, VSTRING *path);
const char *mstore_dir_key(const char *dir);
int mstore_write_file(const char *path, const char *data, size_t len);
int64_t mstore_now_us(void);

/* mstore_index.c */
int mstore_index_open(MSTORE *store, const char **error_r);
void mstore_index_close(MSTORE *store);
int mstore_index_recover(MSTORE *store, int rc, const char **error_r);
bool mstore_mdb_corrupt(int rc);
void mstore_key_msg(unsigned char key[8], uint32_t fid, uint32_t uid);
uint32_t mstore_key_uid(const MDB_val *key);
uint32_t mstore_key_fid(const MDB_val *key);
int mstore_frec_get(MSTORE *store, MDB_txn *txn, const char *dir, MSTORE_FREC *frec,
		    char ***keywords_r);
int mstore_frec_put(MSTORE *store, MDB_txn *txn, const char *dir, const MSTORE_FREC *frec,
		    char *const *keywords);
int mstore_frec_new(MSTORE *store, MDB_txn *txn, MSTORE_FREC *frec);
int mstore_rec_get(MSTORE *store, MDB_txn *txn, uint32_t fid, uint32_t uid,
		   MSTORE_REC *rec, VSTRING *name);
int mstore_rec_put(MSTORE *store, MDB_txn *txn, uint32_t fid, uint32_t uid,
		   const MSTORE_REC *rec, const char *name, size_t name_len, bool append);
int mstore_rec_del(MSTORE *store, MDB_txn *txn, uint32_t fid, uint32_t uid, uint64_t modseq);
int mstore_range_del(MSTORE *store, MDB_txn *txn, MDB_dbi dbi, uint32_t fid, uint32_t uid, bool whole_folder);
/* mstore_folder_forget - drop every index record of folder fid (messages,
 * expunge log, cache) and its folder entry for dir; 0 or -1 (store->err) */
int mstore_folder_forget(MSTORE *store, MDB_txn *txn, const char *dir, uint32_t fid);
int mstore_view_load(MSTORE *store, MDB_txn *txn, uint32_t fid, MSTORE_VIEW *view);
/* mstore_txn_write - begin a write transaction (ends the shared read
 * transaction first: it would not see this one's changes); LMDB code */
int mstore_txn_write(MSTORE *store, MDB_txn **txn_r);
/* mstore_rtxn - the shared read transaction, begun when there is none;
 * 0 or -1 (store->err) */
int mstore_rtxn(MSTORE *store, MDB_txn **txn_r);
/* mstore_rec_lookup - mstore_rec_get in the shared read transaction (a
 * cursor that steps when the next record is the one asked for); an
 * index error ends the transaction */
int mstore_rec_lookup(MSTORE *store, uint32_t fid, uint32_t uid, MSTORE_REC *rec,
		      VSTRING *name);
void mstore_keywords_free(char ***kwp, unsigned n);

/* mstore_sync.c */
void mstore_fname_parse(const char *name, MSTORE_FNAME *fn);
void mstore_fname_build(VSTRING *out, const char *base, size_t base_len, uint32_t uid,
			uint32_t flags, uint32_t keywords);
int mstore_sync(MSTORE *store, MDB_txn *txn, const char *dir, MSTORE_FREC *frec,
		char ***keywords_r, bool force, const char **error_r);
int mstore_find_file(MSTORE *store, const char *path, const char *name, VSTRING *found);
bool mstore_dirs_unchanged(const char *path, const MSTORE_FREC *frec);
void mstore_uidv_write(const char *path, const MSTORE_FREC *frec);
void mstore_kw_write(const char *path, char *const *keywords, unsigned n);

/* mstore_flags.c */
int mstore_keyword_define(MSTORE *store, MDB_txn *txn, const char *dir, MSTORE_FREC *frec,
			  char ***keywords, const char *keyword, bool create, const char **error_r);
int mstore_keyword_valid(const char *keyword);

/* mstore_folder.c */
void mstore_view_free(MSTORE_VIEW *view);
void mstore_view_set_keywords(MSTORE_VIEW *view, char **kw, unsigned n);
void mstore_view_summarize(MSTORE_VIEW *view);
MSTORE_MSG *mstore_view_find(const MSTORE_VIEW *view, uint32_t uid);

#endif
