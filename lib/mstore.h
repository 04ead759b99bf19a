/* mstore.h - mailbox storage for imapd and pop3d: Maildir++ + an LMDB index.
 *
 * The Maildir is the source of truth for message bodies and for the five
 * standard flags (in the ":2,DFRST" file name suffix, so mutt, Dovecot and
 * any other Maildir program agree with us). One LMDB environment per user
 * (default: ROOT/posthorn-index.lmdb, or mail_location's ":INDEX=path")
 * holds the IMAP state: per folder UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ, and
 * per message a small fixed-width record (UID, flags, keyword bits, MODSEQ,
 * internal date, sizes) plus the file's base name, expunged UIDs with their
 * MODSEQ (QRESYNC), and opaque cached blobs (envelope, body structure).
 *
 * Layout (Maildir++): INBOX is ROOT itself (ROOT/cur, new, tmp); folder
 * "A<sep>B" is ROOT/.A.B/ (names on disk in modified UTF-7, as Dovecot and
 * Courier write them; "." is the on-disk hierarchy separator). Folder names
 * in this API are UTF-8 and use the configured imap_hierarchy_separator
 * ('.' or '/'); imapd converts wire names with imap_utf7.h first. The file
 * ROOT/subscriptions lists subscribed folders, one on-disk name (without
 * the leading dot) per line, "INBOX" for the inbox.
 *
 * UIDs survive the loss of the index: every message file we move into cur/
 * carries its UID in the base name as ",U=<uid>" (e.g.
 * "1700000000.M1P2Q3.host,S=1234,W=1260,U=17:2,S"); each folder keeps a
 * small file "posthorn-uidvalidity" ("<uidvalidity> <uidnext>\n", rewritten
 * on create, rebuild and expunge) and "posthorn-keywords" ("<bit> <name>"
 * lines). A rebuild takes UIDs from the names and keeps UIDVALIDITY; only
 * when UIDs cannot be kept (no uidvalidity file, duplicate U= values) does
 * it assign fresh UIDs under a new UIDVALIDITY. U= is trusted only during
 * a rebuild: a file that shows up in a warm sync is a new message and gets
 * a new UID (its name is rewritten), whatever U= it carries (it may be a
 * copy made by another program).
 *
 * Identity of a message file = its base name (the part before ":2,"), which
 * other programs keep when they change flags. Sync (mstore_folder_open,
 * mstore_folder_refresh) runs inside an LMDB write transaction, so syncs of
 * several sessions of one user are serialized and never assign one UID
 * twice; deliveries and other programs need no lock (Maildir renames are
 * atomic). A file in the index but not seen by readdir is looked for once
 * more with a second readdir before it is expunged (a concurrent rename
 * may hide an entry from one readdir pass); a stored name that fails to
 * open is re-found by base name in cur/ (and new/).
 *
 * Change detection: a folder is rescanned when the mtime (ns) of new/ or
 * cur/ differs from the stored value, or when the stored value was
 * recorded too close to the scan (less than MSTORE_MTIME_SLACK_MS before
 * it; 2 s on file systems with whole-second mtimes), so a change in the
 * same clock tick as a scan is never missed. A warm open of an unchanged
 * folder is two stat()s and one read of the folder's records.
 *
 * MODSEQ: per folder, each transaction that changes messages (a sync that
 * finds new, changed or vanished files, one STORE, one EXPUNGE, one
 * append) raises HIGHESTMODSEQ by one and gives that value to every
 * message it changes or expunges. A fresh or rebuilt folder starts at the
 * current time in microseconds, so MODSEQs stay above any a client saw
 * before the index was lost. Expunged UIDs are kept with their MODSEQ
 * until the folder is deleted; a rebuild loses that history (see
 * MSTORE_CHANGES.expunged_incomplete).
 *
 * Errors: file-system and index problems are returned (-1 or NULL, with a
 * human-readable reason in *error_r that stays valid until the next call
 * on the same MSTORE; a reason meant for the client starts with an RFC
 * 5530 response code as Dovecot words it: "[NONEXISTENT] Mailbox doesn't
 * exist: X", "[ALREADYEXISTS] Mailbox already exists", "[TRYCREATE] ...",
 * "[OVERQUOTA] ...", so imapd can pass it on) and logged with msg_warn where an administrator
 * should know (corrupt index rebuilt, file that vanished twice). Invalid
 * arguments that come from a client (bad folder names, unknown UIDs,
 * too many keywords) are returned errors too. Misuse by the caller
 * (NULL handle, a view used after its MSTORE was closed, a UID list that
 * is not sorted) is a panic.
 *
 * Cost (bench/mstore_bench, 100,000 messages, ext4): a warm open of an
 * unchanged folder takes ~10-20 ms; a rescan (any change to cur/ or new/,
 * including our own renames, so the first sync after a STORE or a
 * delivery) reads cur/ once and matches names in a hash table, a few
 * hundred ms; moving new files costs one rename each.
 *
 * Limits: MSTORE_KEYWORDS_MAX keywords per folder (the first 26 also as
 * Maildir letters a-z in file names); folder names up to
 * MSTORE_NAME_MAX bytes on disk; cached blobs up to MSTORE_BLOB_MAX
 * bytes; UIDs are 32-bit (a folder whose UIDNEXT reaches 2^32-2 takes
 * no more messages: sync and append report an error; not renumbered). Not thread-safe: one MSTORE per thread;
 * not fork-safe: open the MSTORE in the process that uses it (an LMDB
 * environment must not cross fork()).
 */
#ifndef MSTORE_H
#define MSTORE_H

#include "sys_defs.h"

#include <time.h>

#include "vstring.h"

typedef struct mstore MSTORE;
typedef struct mstore_folder MSTORE_FOLDER;
typedef struct mstore_append MSTORE_APPEND;

/* Message flags (bit values are part of the index format). */
#define MSTORE_SEEN	(1u << 0)	/* \Seen     S */
#define MSTORE_ANSWERED	(1u << 1)	/* \Answered R */
#define MSTORE_FLAGGED	(1u << 2)	/* \Flagged  F */
#define MSTORE_DELETED	(1u << 3)	/* \Deleted  T */
#define MSTORE_DRAFT	(1u << 4)	/* \Draft    D */
#define MSTORE_PASSED	(1u << 5)	/* Maildir P (forwarded); no IMAP flag */
#define MSTORE_FLAGS_ALL 0x3fu

#define MSTORE_KEYWORDS_MAX 32
#define MSTORE_NAME_MAX 240
#define MSTORE_BLOB_MAX (1024 * 1024)
#define MSTORE_MTIME_SLACK_MS 100

/* Special-use attributes (RFC 6154) for list entries. */
#define MSTORE_SPECIAL_DRAFTS	(1u << 0)
#define MSTORE_SPECIAL_SENT	(1u << 1)
#define MSTORE_SPECIAL_JUNK	(1u << 2)
#define MSTORE_SPECIAL_TRASH	(1u << 3)
#define MSTORE_SPECIAL_ARCHIVE	(1u << 4)

/* Cached blob kinds for mstore_cache_get/put. */
#define MSTORE_CACHE_ENVELOPE	1
#define MSTORE_CACHE_BODYSTRUCTURE 2
#define MSTORE_CACHE_BODY	3	/* BODY (non-extensible) form */
#define MSTORE_CACHE_HEADER	4	/* raw header bytes */
#define MSTORE_CACHE_ADDRS	5	/* From/To/Cc/Bcc values (SEARCH) */

/* What a storage is opened with. */
typedef struct mstore_settings {
    const char *location;	/* mail_location, "maildir:~/Maildir[:INDEX=path]" */
    const char *home;		/* replaces a leading ~ (NULL: $HOME) */
    char    separator;		/* imap_hierarchy_separator: '.' or '/' */
    const char *quota;		/* mail_quota: "" none, "100M", "1G", bytes */
} MSTORE_SETTINGS;

/* One message as the view shows it: what every command and the change
 * detection need, 24 bytes (a view of 10,000 messages costs ~234 KiB per
 * session). The internal date and the sizes are not here: they are read
 * from the index when a command asks (mstore_msg_info). */
typedef struct mstore_msg {
    uint32_t uid;
    uint32_t flags;		/* MSTORE_SEEN... */
    uint32_t keywords;		/* bit i = keyword i of the folder */
    uint8_t recent;		/* 1: \Recent in this session */
    uint64_t modseq;
} MSTORE_MSG;

/* What mstore_msg_info reads from a message's index record. */
typedef struct mstore_msg_info {
    int64_t internal_date;	/* seconds since the epoch */
    uint64_t size;		/* file size (LF line ends) */
    uint64_t vsize;		/* RFC822.SIZE with CRLF; 0: not known yet */
} MSTORE_MSG_INFO;

/* A folder's state as of the last sync (the session's view). msgs[] is in
 * ascending UID order: msgs[i] is message sequence number i + 1. The
 * arrays belong to the folder handle and change only in
 * mstore_folder_refresh, mstore_store_flags, mstore_expunge and appends
 * to this folder. */
typedef struct mstore_view {
    uint32_t count;
    uint32_t uidvalidity;
    uint32_t uidnext;
    uint32_t recent;		/* how many have recent set */
    uint64_t highestmodseq;
    uint32_t first_unseen;	/* sequence number, 0: none */
    MSTORE_MSG *msgs;
    unsigned keyword_count;
    char  **keywords;		/* names of keyword bits 0..keyword_count-1 */
} MSTORE_VIEW;

/* A growable list of UIDs (ascending unless said otherwise). */
typedef struct mstore_uids {
    uint32_t *uids;
    size_t  len;
    size_t  size;
} MSTORE_UIDS;

/* One folder in mstore_list's result. */
typedef struct mstore_list_entry {
    char   *name;		/* UTF-8, configured separator; "INBOX" */
    unsigned special;		/* MSTORE_SPECIAL_* */
    bool    subscribed;
    bool    has_children;
    bool    nonexistent;	/* no such folder: subscribed but missing,
				 * or the parent of an existing folder
				 * (\NonExistent, \Noselect) */
} MSTORE_LIST_ENTRY;

typedef struct mstore_list {
    MSTORE_LIST_ENTRY *entries;	/* sorted: INBOX first, then by name */
    size_t  len;
} MSTORE_LIST;

/* Changes since a MODSEQ (CONDSTORE/QRESYNC). */
typedef struct mstore_changes {
    MSTORE_UIDS changed;	/* messages with modseq > N still present */
    MSTORE_UIDS expunged;	/* UIDs expunged with modseq > N */
    bool    expunged_incomplete;	/* N predates a rebuild: every UID below
					 * the view's uidnext that is not in the
					 * view may have been expunged */
} MSTORE_CHANGES;

/* Storage usage for QUOTA / GETQUOTAROOT. */
typedef struct mstore_quota {
    uint64_t bytes;		/* sum of message file sizes, all folders */
    uint64_t messages;
    uint64_t limit_bytes;	/* 0: no limit */
} MSTORE_QUOTA;

/* ---- the user's storage ---- */

/* mstore_open - open the storage named by settings->location: expands ~
 * to settings->home, creates the Maildir root (0700) when missing and
 * opens (creates) the index. A corrupt or unreadable-format index is moved
 * aside (".corrupt" suffix), logged with msg_warn, and rebuilt on demand
 * from the files. Returns NULL with *error_r on an unknown location
 * scheme, a bad INDEX= path, a bad quota value, or a file-system error. */
MSTORE *mstore_open(const MSTORE_SETTINGS *settings, const char **error_r);

/* mstore_close - close the storage and its folders; NULLs the pointer.
 * Folder handles still open are closed too (their pointers dangle). */
void mstore_close(MSTORE **storep);

/* mstore_root - the Maildir root path (no trailing slash) */
const char *mstore_root(const MSTORE *store);

/* mstore_separator - the configured hierarchy separator */
char mstore_separator(const MSTORE *store);

/* mstore_error - the last error text (also what *error_r pointed to) */
const char *mstore_error(const MSTORE *store);

/* ---- folder names ---- */

/* mstore_name_to_dir - map an IMAP folder name (UTF-8, configured
 * separator) to its Maildir++ directory name relative to the root: ""
 * for INBOX (any case), ".A.B" otherwise (components in modified UTF-7).
 * Rejects (returns -1, *error_r) empty names or components, names with
 * '/' when the separator is '.', '.' when the separator is '/', control
 * characters, invalid UTF-8, a component of "." or "..", a leading '~',
 * and names whose directory name exceeds MSTORE_NAME_MAX bytes. */
int mstore_name_to_dir(const MSTORE *store, const char *name, VSTRING *dir,
		       const char **error_r);

/* mstore_dir_to_name - the reverse: ".A.B" -> "A<sep>B" in UTF-8, ""
 * -> "INBOX"; returns -1 for a directory name that is not a valid
 * Maildir++ folder (bad modified UTF-7, empty components, a component
 * containing the separator when it is '/'). */
int mstore_dir_to_name(const MSTORE *store, const char *dir, VSTRING *name);

/* ---- folders ---- */

/* mstore_list - all folders (INBOX first). pattern handling is the
 * caller's (imapd matches * and %); this lists everything, with
 * subscription and special-use attributes. Returns 0 or -1. */
int mstore_list(MSTORE *store, MSTORE_LIST *list, const char **error_r);

/* mstore_list_free - release a list's entries (the struct itself stays) */
void mstore_list_free(MSTORE_LIST *list);

/* mstore_create - create a folder (ROOT/.NAME with cur/ new/ tmp/ and a
 * "maildirfolder" marker; Maildir++ needs no parent folders). Fails when
 * it exists (atomically: two creators, one wins) or the name is invalid. */
int mstore_create(MSTORE *store, const char *name, const char **error_r);

/* mstore_delete - delete a folder: its messages, its directory and its
 * index records (its UIDVALIDITY is never reused). INBOX cannot be
 * deleted; a folder with children can (the children stay, Maildir++ has
 * no containers). */
int mstore_delete(MSTORE *store, const char *name, const char **error_r);

/* mstore_rename - rename a folder and its children (A -> B moves A.x to
 * B.x), keeping UIDs and UIDVALIDITY. Renaming INBOX (RFC 3501) moves
 * all its messages into the new folder (keeping their UIDs) and leaves
 * INBOX empty with a new UIDVALIDITY; INBOX's children are not moved.
 * Subscriptions are left as they are (RFC 3501 leaves that open; a
 * client re-subscribes). Fails when newname or one of the renamed
 * children's new names exists, when newname is below oldname, or when
 * either name is invalid. */
int mstore_rename(MSTORE *store, const char *oldname, const char *newname,
		  const char **error_r);

/* mstore_subscribe - add (on) or remove (!on) a subscription; the name
 * need not exist (RFC 3501). Rewrites ROOT/subscriptions atomically. */
int mstore_subscribe(MSTORE *store, const char *name, bool on,
		     const char **error_r);

/* mstore_special_use - the MSTORE_SPECIAL_* attribute of a folder name
 * (Drafts, Sent, Junk, Trash, Archive at the top level), 0 for others */
unsigned mstore_special_use(const MSTORE *store, const char *name);

/* mstore_ensure_special - create and subscribe the special-use folders
 * that are missing (first login); also subscribes INBOX. Idempotent. */
int mstore_ensure_special(MSTORE *store, const char **error_r);

/* mstore_exists - 1 when the folder exists, 0 when not, -1 on error */
int mstore_exists(MSTORE *store, const char *name, const char **error_r);

/* ---- opening a folder (SELECT / EXAMINE / STATUS) ---- */

#define MSTORE_OPEN_READONLY	(1 << 0)	/* EXAMINE: claim no \Recent */
#define MSTORE_OPEN_NO_RECENT	(1 << 1)	/* STATUS: claim no \Recent */

/* mstore_folder_open - sync the folder with its directory and return a
 * handle with its view: files in new/ move to cur/ and get UIDs in
 * arrival order; files that appeared in cur/ get UIDs too; vanished files
 * are expunged (their UIDs recorded with a MODSEQ); flags changed by
 * other programs in file names are taken over (new MODSEQ). A missing or
 * corrupt index entry for the folder is rebuilt from the files. Unless
 * READONLY or NO_RECENT, messages no session has seen yet are \Recent in
 * this view (and in no other session's). Returns NULL with *error_r when
 * the folder does not exist or on file/index errors. */
MSTORE_FOLDER *mstore_folder_open(MSTORE *store, const char *name, int flags,
				  const char **error_r);

/* mstore_folder_close - release the handle; NULLs the pointer */
void mstore_folder_close(MSTORE_FOLDER **folderp);

/* mstore_folder_view - the current view (valid until the next call that
 * changes it; see MSTORE_VIEW) */
const MSTORE_VIEW *mstore_folder_view(const MSTORE_FOLDER *folder);

/* mstore_folder_name - the folder's name as opened */
const char *mstore_folder_name(const MSTORE_FOLDER *folder);

/* mstore_folder_changed - cheap "did anything change" check for IDLE and
 * NOOP: 1 when new/ or cur/ mtimes or the folder's HIGHESTMODSEQ or
 * message count in the index differ from the view, 0 when not, -1 on
 * error. Touches no message files. */
int mstore_folder_changed(MSTORE_FOLDER *folder, const char **error_r);

/* mstore_folder_watch_paths - the directories an inotify-based IDLE
 * watches (new/ and cur/), NULL-terminated, owned by the folder */
const char *const *mstore_folder_watch_paths(const MSTORE_FOLDER *folder);

/* mstore_folder_refresh - sync again and replace the view. expunged_r
 * (may be NULL) gets the UIDs of the old view that are gone; changed_r
 * (may be NULL) those present in both views whose MODSEQ grew. New
 * messages are those with UID >= the old view's uidnext. Returns 0 or -1
 * (the old view stays on error). */
int mstore_folder_refresh(MSTORE_FOLDER *folder, MSTORE_UIDS *expunged_r,
			  MSTORE_UIDS *changed_r, const char **error_r);

/* mstore_folder_seq - the sequence number (1-based) of uid in the view,
 * 0 when absent (binary search) */
uint32_t mstore_folder_seq(const MSTORE_FOLDER *folder, uint32_t uid);

/* mstore_status - STATUS without a handle kept open: count, uidnext,
 * uidvalidity, unseen, highestmodseq, recent (not claimed) of a folder.
 * The view's msgs pointer is NULL; unseen_r gets the number of messages
 * without \Seen. Syncs the folder. */
int mstore_status(MSTORE *store, const char *name, MSTORE_VIEW *view_r,
		  uint32_t *unseen_r, const char **error_r);

/* ---- reading messages ---- */

/* Lookups of message records (mstore_msg_info, mstore_msg_vsize,
 * mstore_msg_open, mstore_msg_read, mstore_cache_get) share one LMDB
 * read transaction per store, begun by the first of them and kept until
 * mstore_release or mstore_cache_flush (or until this store begins a
 * write: a sync, STORE, EXPUNGE, COPY, append or cache flush), so a
 * command that reads 100,000 records does not begin 100,000
 * transactions. A caller serving commands ends it after each command:
 * an open read transaction pins the index pages of its snapshot and
 * makes the file grow while others write, and takes one of the
 * environment's reader slots. Within a command the records are as of
 * the first lookup: a message that another session expunged meanwhile
 * may still be in the view but no longer have a record (an error). */

/* mstore_release - end the shared read transaction (if any). Cheap;
 * call it when a command is done (mstore_cache_flush calls it too). */
void mstore_release(MSTORE *store);

/* mstore_msg_info - internal date, file size and RFC822.SIZE of uid, read
 * from its index record in the shared read transaction (a cursor step
 * when uid follows the one asked for last, as when a command walks the
 * view in order; else one B-tree lookup). vsize includes a value queued
 * by mstore_msg_vsize_set and not yet flushed, and is 0 when not known
 * yet (mstore_msg_vsize computes it). Returns 0, or -1 (*error_r) when
 * uid is not in the view, its record is gone (expunged by another
 * session since the view was taken), or on an index error. */
int mstore_msg_info(MSTORE_FOLDER *folder, uint32_t uid, MSTORE_MSG_INFO *info,
		    const char **error_r);

/* mstore_msg_open - open the message file of uid read-only (re-finding
 * it by base name when another program renamed it); *size_r gets its
 * size. Returns an fd the caller closes, or -1 (*error_r) when the UID is
 * not in the view or the file vanished. */
int mstore_msg_open(MSTORE_FOLDER *folder, uint32_t uid, off_t *size_r,
		    const char **error_r);

/* mstore_msg_read - the whole message (LF line ends as stored) into buf;
 * max > 0 fails messages bigger than max bytes */
int mstore_msg_read(MSTORE_FOLDER *folder, uint32_t uid, VSTRING *buf,
		    size_t max, const char **error_r);

/* mstore_msg_vsize - RFC822.SIZE (CRLF line ends) of uid: from the index
 * record (taken from ",W=" in the name at sync) or the queue of computed
 * sizes, else counted from the file once and stored in the index (queued
 * as mstore_cache_put). Returns 0 and *vsize_r, or -1 (as mstore_msg_info,
 * or the file cannot be read). */
int mstore_msg_vsize(MSTORE_FOLDER *folder, uint32_t uid, uint64_t *vsize_r,
		     const char **error_r);

/* mstore_msg_vsize_set - remember an RFC822.SIZE the caller computed from
 * the message text (queued as mstore_cache_put) unless the index or the
 * queue already has it; uids not in the view or without a record are
 * ignored */
void mstore_msg_vsize_set(MSTORE_FOLDER *folder, uint32_t uid, uint64_t vsize);

/* mstore_crlf - append data to out with every bare LF turned into CRLF.
 * *state carries whether the previous chunk ended in CR (start with 0),
 * so a message can be converted in pieces. */
void mstore_crlf(VSTRING *out, const char *data, size_t len, int *state);

/* mstore_crlf_size - how many bytes mstore_crlf would produce for data
 * (same state convention) */
uint64_t mstore_crlf_size(const char *data, size_t len, int *state);

/* ---- cached blobs ---- */

/* mstore_cache_get - the blob of kind for uid into buf: 1 found, 0 not
 * cached, -1 error */
int mstore_cache_get(MSTORE_FOLDER *folder, uint32_t uid, int kind,
		     VSTRING *buf, const char **error_r);

/* mstore_cache_put - store a blob (up to MSTORE_BLOB_MAX bytes) for uid;
 * dropped with the message on expunge. Returns 0 or -1 (uid not in the
 * view, blob too big). The write is queued (mstore_cache_get sees it at
 * once) and reaches the index with the next mstore_cache_flush, by
 * itself every MSTORE_CACHE_BATCH entries, or when the store closes. */
int mstore_cache_put(MSTORE_FOLDER *folder, uint32_t uid, int kind,
		     const void *data, size_t len, const char **error_r);

/* mstore_cache_flush - write every queued cache entry and computed
 * RFC822.SIZE in one index transaction (one sync, not one per message);
 * entries of messages expunged meanwhile are dropped. Ends the shared
 * read transaction first (mstore_release), also when nothing is queued.
 * A caller serving commands calls it once per command. Returns 0, or -1
 * (*error_r, the queue is dropped: the cache is recomputed from the
 * files later). */
int mstore_cache_flush(MSTORE *store, const char **error_r);

/* ---- flags ---- */

#define MSTORE_FLAGS_REPLACE 0	/* FLAGS */
#define MSTORE_FLAGS_ADD     1	/* +FLAGS */
#define MSTORE_FLAGS_REMOVE  2	/* -FLAGS */

/* mstore_keyword_index - the bit of a keyword name in this folder,
 * defining it when create is set and there is room. Returns the index,
 * or -1 (*error_r) for an invalid atom, unknown (without create), or a
 * full table (MSTORE_KEYWORDS_MAX). Keyword names compare
 * case-insensitively. */
int mstore_keyword_index(MSTORE_FOLDER *folder, const char *keyword,
			 bool create, const char **error_r);

/* mstore_store_flags - change flags and keyword bits of uids (sorted
 * ascending; UIDs not in the view are skipped). With unchangedsince > 0
 * (CONDSTORE), messages whose MODSEQ is above it are not changed and
 * go to failed_r (may be NULL). Each changed message gets a new MODSEQ
 * and its file is renamed to the new ":2," suffix (re-found by base name
 * when another program renamed it meanwhile). The view is updated.
 * Returns 0 or -1. */
int mstore_store_flags(MSTORE_FOLDER *folder, const MSTORE_UIDS *uids,
		       int mode, uint32_t flags, uint32_t keywords,
		       uint64_t unchangedsince, MSTORE_UIDS *failed_r,
		       const char **error_r);

/* ---- append, copy, move, expunge ---- */

/* mstore_append_begin - start writing a new message into the folder named
 * name (a file in its tmp/, O_EXCL, 0600). The message bytes may use CRLF
 * or LF: CRLF is stored as LF (S= is the LF size, W= the CRLF size).
 * Returns NULL (*error_r) when the folder does not exist. */
MSTORE_APPEND *mstore_append_begin(MSTORE *store, const char *name,
				   const char **error_r);

/* mstore_append_write - add bytes; returns 0 or -1 (the append is then
 * failed: call mstore_append_abort) */
int mstore_append_write(MSTORE_APPEND *ap, const void *data, size_t len,
			const char **error_r);

/* mstore_append_finish - fsync, set the internal date (file mtime; 0 =
 * now), move into cur/ with flags and keywords (names, NULL-terminated,
 * may be NULL; defined in the target folder as needed) and give it the
 * next UID (returned in *uid_r, *uidvalidity_r for APPENDUID). Frees ap
 * and NULLs the pointer whether it succeeds or not. */
int mstore_append_finish(MSTORE_APPEND **app, uint32_t flags,
			 const char *const *keywords, time_t internal_date,
			 uint32_t *uidvalidity_r, uint32_t *uid_r,
			 const char **error_r);

/* mstore_append_abort - discard (unlinks the tmp file); NULLs the pointer */
void mstore_append_abort(MSTORE_APPEND **app);

/* mstore_copy - copy the messages uids (sorted; those not in the view
 * are skipped) into the folder named dest (hard links when possible),
 * keeping flags, keywords and internal dates. src_r and dst_r (may be
 * NULL) get the matching source and new UIDs, *uidvalidity_r the
 * destination's (COPYUID). All or nothing: on failure the copies made so
 * far are removed. */
int mstore_copy(MSTORE_FOLDER *folder, const MSTORE_UIDS *uids,
		const char *dest, uint32_t *uidvalidity_r, MSTORE_UIDS *src_r,
		MSTORE_UIDS *dst_r, const char **error_r);

/* mstore_move - as mstore_copy, then the sources are expunged (RFC 6851);
 * expunged_r (may be NULL) gets the source UIDs removed from the view. */
int mstore_move(MSTORE_FOLDER *folder, const MSTORE_UIDS *uids,
		const char *dest, uint32_t *uidvalidity_r, MSTORE_UIDS *src_r,
		MSTORE_UIDS *dst_r, MSTORE_UIDS *expunged_r,
		const char **error_r);

/* mstore_expunge - remove the messages with \Deleted (uids NULL) or those
 * of uids that have \Deleted (UID EXPUNGE); expunged_r (may be NULL) gets
 * the removed UIDs in ascending order. The view is updated. */
int mstore_expunge(MSTORE_FOLDER *folder, const MSTORE_UIDS *uids,
		   MSTORE_UIDS *expunged_r, const char **error_r);

/* ---- CONDSTORE / QRESYNC ---- */

/* mstore_changes_since - messages changed and UIDs expunged with a MODSEQ
 * above modseq, as of the view. Returns 0 or -1. */
int mstore_changes_since(MSTORE_FOLDER *folder, uint64_t modseq,
			 MSTORE_CHANGES *changes, const char **error_r);

/* mstore_changes_free - release the arrays */
void mstore_changes_free(MSTORE_CHANGES *changes);

/* ---- quota ---- */

/* mstore_quota_get - usage over all folders (from the index: no file
 * reads; a folder never opened since the index was created counts once
 * it is) and the mail_quota limit */
int mstore_quota_get(MSTORE *store, MSTORE_QUOTA *quota, const char **error_r);

/* mstore_quota_parse - "" (0), "123", "100K", "20M", "1G", "1T" ->
 * bytes; -1 on bad syntax or overflow */
int mstore_quota_parse(const char *text, uint64_t *bytes_r);

/* ---- UID lists ---- */

/* mstore_uids_add - append a UID (no ordering check) */
void mstore_uids_add(MSTORE_UIDS *uids, uint32_t uid);

/* mstore_uids_reset - empty the list, keep its memory */
void mstore_uids_reset(MSTORE_UIDS *uids);

/* mstore_uids_free - release the array (the struct is the caller's) */
void mstore_uids_free(MSTORE_UIDS *uids);

/* ---- recovery and tests ---- */

/* mstore_rebuild - drop the index entries of a folder and rebuild them
 * from its files (keeping UIDs as described above). Returns 0 or -1. */
int mstore_rebuild(MSTORE *store, const char *name, const char **error_r);

#endif
