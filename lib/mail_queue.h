/* mail_queue.h - queue directories, queue file names, moves between queues.
 *
 * The queue is a tree under queue_directory:
 *
 *   maildrop/  incoming/  active/  deferred/  hold/  corrupt/
 *   bounce/  defer/            (per-message delivery logs, see qfile.h)
 *
 * A message lives in exactly one of the message queues (maildrop,
 * incoming, active, deferred, hold, corrupt) as ONE file named by its
 * queue ID. bounce/ID and defer/ID hold the per-message delivery logs
 * (reasons for the DSN and for mailq); they exist only when needed.
 *
 * Hashed directories: a queue named in hash_queue_names stores ID under
 * hash_queue_depth levels of one-character subdirectories:
 *
 *   deferred/<h0>/<h1>/ID        (depth 2)
 *
 * where h0, h1, ... are the low 4-bit groups of the 32-bit FNV-1a hash of
 * the ID bytes (h0 = bits 0-3, h1 = bits 4-7, ...), written as one
 * lowercase hex digit each. This is part of the on-disk format: changing
 * it orphans queued mail. Subdirectories are created on demand (by
 * mail_queue_create and mail_queue_rename). With depth 1, 10^6 messages
 * make 16 directories of ~62,500 files; depth 2 makes 256 of ~3,900.
 *
 * Queue IDs come from queue_id.h. Only IDs passing queue_id_valid() ever
 * become part of a path; every function here that takes an ID refuses
 * anything else with EINVAL (hostile input from postsuper -d, postcat -q
 * or a directory scan never reaches the file system). Unknown queue names
 * are refused the same way.
 *
 * Durability (DESIGN.md section 3): one new file per message. A writer
 * creates the file with mail_queue_create (O_EXCL, mode 0600), writes it,
 * then calls mail_queue_sync() once: fdatasync of the file plus fsync of
 * its directory, after which the file and its name survive a crash.
 * Moves between queues (incoming -> active -> deferred ...) are plain
 * rename(2) calls with no fsync: after a crash, a message may reappear in
 * the queue it was moved from (recovery re-scans incoming, active and
 * deferred, and delivery is at least once), but it is never lost, because
 * rename never makes a file disappear from both names.
 *
 * Retry times (a convention shared by qmgr and postsuper, as in Postfix):
 * the modification time of a file in deferred/ is the earliest time of
 * its next delivery attempt. postsuper -H and -r set it to "now" so the
 * message is tried at the next queue run.
 *
 * Errors: file-system problems (and invalid IDs / queue names) are
 * returned as -1 (or NULL) with errno set and, where there is an error_r,
 * a reason text (static buffer, valid until the next call into this
 * module). Using the module before mail_queue_init() is a panic.
 *
 * Paths: mail_queue_init() takes the queue root. It may be "." when the
 * program has chdir()ed into queue_directory (as the daemons do); paths
 * built here are then relative.
 */
#ifndef MAIL_QUEUE_H
#define MAIL_QUEUE_H

#include "sys_defs.h"
#include "vstring.h"

/* Message queues (one file per message). */
#define MAIL_QUEUE_MAILDROP "maildrop"
#define MAIL_QUEUE_INCOMING "incoming"
#define MAIL_QUEUE_ACTIVE   "active"
#define MAIL_QUEUE_DEFERRED "deferred"
#define MAIL_QUEUE_HOLD     "hold"
#define MAIL_QUEUE_CORRUPT  "corrupt"
/* Per-message delivery logs (qfile_log_* in qfile.h). */
#define MAIL_QUEUE_BOUNCE   "bounce"
#define MAIL_QUEUE_DEFER    "defer"

/* Other directories under queue_directory (not queues). */
#define MAIL_QUEUE_PRIVATE  "private"
#define MAIL_QUEUE_PUBLIC   "public"
#define MAIL_QUEUE_PID      "pid"

#define MAIL_QUEUE_MAX_DEPTH 4

/* Mode of queue files: 0600, owner mail_owner. Maildrop files are owned
 * by the submitting user (group setgid_group when postdrop is installed
 * set-gid) with MAIL_QUEUE_MAILDROP_MODE, so that qmgr (mail_owner) can
 * read them; maildrop/ itself (mode 1730) keeps other users out. */
#define MAIL_QUEUE_FILE_MODE 0600
#define MAIL_QUEUE_MAILDROP_MODE 0644

/* Trigger requests to qmgr (bytes written to queue_directory/public/qmgr
 * with trigger_send; several may be sent in one write):
 *   I  new mail: scan maildrop/ and incoming/ (sendmail/postdrop, smtpd)
 *   D  scan deferred/ now, for messages whose retry time has come
 *   A  scan everything now, ignoring retry times (postqueue -f)
 *   F  forget remembered dead destinations (postqueue -f) */
#define MAIL_QUEUE_TRIGGER_PATH     "public/qmgr"
#define MAIL_QUEUE_TRIGGER_NEW      'I'
#define MAIL_QUEUE_TRIGGER_DEFERRED 'D'
#define MAIL_QUEUE_TRIGGER_ALL      'A'
#define MAIL_QUEUE_TRIGGER_FLUSH    'F'

/* mail_queue_init - set the queue root, hash depth (1..MAIL_QUEUE_MAX_DEPTH;
 * out-of-range values are clamped) and the hashed queue names (a Postfix
 * list: white space and/or commas, e.g. var_hash_queue_names). May be
 * called again (reload). Typical call:
 *   mail_queue_init(var_queue_directory, var_hash_queue_depth, var_hash_queue_names); */
void mail_queue_init(const char *queue_dir, long hash_depth, const char *hash_names);

/* mail_queue_root - the root given to mail_queue_init */
const char *mail_queue_root(void);

/* mail_queue_name_ok - true for the eight queue names above */
bool mail_queue_name_ok(const char *queue);
/* mail_queue_is_message_queue - true for maildrop incoming active deferred
 * hold corrupt (the queues that hold queue files, as opposed to logs) */
bool mail_queue_is_message_queue(const char *queue);
/* mail_queue_hashed - true when queue is listed in hash_queue_names */
bool mail_queue_hashed(const char *queue);

/* mail_queue_hash - write the hash subdirectory path for id ("a/7" for
 * depth 2, no slashes at the ends) into buf (replacing its contents) and
 * return STR(buf). The ID must be valid: an invalid one is a panic (only
 * call this with IDs already checked). */
const char *mail_queue_hash(VSTRING *buf, const char *id, int depth);

/* mail_queue_dir - "ROOT/QUEUE" or "ROOT/QUEUE/h0/h1" for id (id may be
 * NULL for the queue's top directory) into buf; returns STR(buf), or NULL
 * with errno EINVAL for an unknown queue or an invalid id. */
const char *mail_queue_dir(VSTRING *buf, const char *queue, const char *id);

/* mail_queue_path - full path of queue file id in queue into buf; returns
 * STR(buf), or NULL with errno EINVAL for an unknown queue or invalid id */
const char *mail_queue_path(VSTRING *buf, const char *queue, const char *id);

/* mail_queue_create - create a new file in queue (normally incoming or
 * maildrop) with a fresh queue ID, O_CREAT|O_EXCL|O_NOFOLLOW, opened
 * read-write with the given mode. Retries with a new ID on EEXIST and
 * creates missing hash subdirectories (mode 0700). The ID goes into id_r
 * (at least QUEUE_ID_MAX bytes), the path into path_r (may be NULL).
 * Returns the fd, or -1 with errno and *error_r. Nothing is synced: call
 * mail_queue_sync when the file is complete. */
int mail_queue_create(const char *queue, mode_t mode, char *id_r, VSTRING *path_r,
		      const char **error_r);

/* mail_queue_sync - make a newly written file durable: fdatasync(fd), then
 * fsync of the directory that holds path. 0, or -1 with errno and *error_r.
 * This is the one durable sync per message (smtpd calls it before 250). */
int mail_queue_sync(int fd, const char *path, const char **error_r);

/* mail_queue_rename - move id from queue old_queue to new_queue (rename;
 * hash subdirectories of the target are created when missing). No fsync.
 * 0, or -1 with errno (ENOENT: the file is not in old_queue, e.g. another
 * process moved it) and *error_r. */
int mail_queue_rename(const char *id, const char *old_queue, const char *new_queue,
		      const char **error_r);

/* mail_queue_remove - unlink id from queue. 0, or -1 with errno (ENOENT
 * when it was not there) and *error_r. Removing a message means removing
 * its file from its message queue AND its defer/ and bounce/ logs: see
 * mail_queue_remove_all. */
int mail_queue_remove(const char *queue, const char *id, const char **error_r);

/* mail_queue_remove_all - remove a message: its file in queue plus
 * defer/ID and bounce/ID when present. 0 when the queue file was removed,
 * -1 with errno and *error_r otherwise (missing logs are not an error). */
int mail_queue_remove_all(const char *queue, const char *id, const char **error_r);

/* mail_queue_mkdir_hash - create the hash subdirectories for id in queue
 * (mode 0700; nothing to do for an unhashed queue). 0, or -1 with errno
 * (EINVAL for a bad queue or id). */
int mail_queue_mkdir_hash(const char *queue, const char *id);

/* mail_queue_exists - true when id is in queue (lstat of a regular file) */
bool mail_queue_exists(const char *queue, const char *id);

/* mail_queue_mkdirs - create the queue directory tree under the root
 * (every queue plus private, public, pid) with mode dir_mode, skipping
 * existing ones; maildrop gets maildrop_mode (0730 when installed setgid,
 * 0700 in an unprivileged instance). Ownership is the caller's business.
 * 0, or -1 with errno and *error_r. */
int mail_queue_mkdirs(mode_t dir_mode, mode_t maildrop_mode, const char **error_r);

/* Enumeration of one queue (qmgr recovery, mailq, postsuper ALL).
 *
 * Descends into one-character subdirectories up to MAIL_QUEUE_MAX_DEPTH
 * levels whatever the current hash settings (so files stored under an
 * older hash_queue_depth are still found), and returns only names that
 * pass queue_id_valid(); anything else is skipped (with a warning for
 * unexpected non-hidden names). Order is the directory order (not sorted).
 * Files added or removed during a scan may or may not be seen. */
typedef struct mail_queue_scan MAIL_QUEUE_SCAN;

/* mail_queue_scan_open - start scanning queue; NULL with errno and
 * *error_r when the queue is unknown or its directory cannot be opened */
MAIL_QUEUE_SCAN *mail_queue_scan_open(const char *queue, const char **error_r);
/* mail_queue_scan_next - the next queue ID (valid until the next call), or
 * NULL at the end (errno 0) or on a read error (errno set) */
const char *mail_queue_scan_next(MAIL_QUEUE_SCAN *scan);
/* mail_queue_scan_path - the path of the file last returned (it may sit
 * at another hash depth than mail_queue_path would compute) */
const char *mail_queue_scan_path(const MAIL_QUEUE_SCAN *scan);
/* mail_queue_scan_close - release; NULLs the caller's pointer */
void mail_queue_scan_close(MAIL_QUEUE_SCAN **scanp);

/* mail_queue_rehash - move every file of queue whose location does not
 * match the current hash_queue_depth (after a change of hash_queue_depth
 * or hash_queue_names) to where mail_queue_path() says it belongs, so
 * that qfile_open and mail_queue_rename find it. Run once before the
 * daemons start (postsuper -s does). *moved_r gets the number moved.
 * 0, or -1 with errno and *error_r when the queue cannot be scanned (a
 * file that cannot be moved is a warning, not an error). */
int mail_queue_rehash(const char *queue, int *moved_r, const char **error_r);

#endif
