/* qfile.h - queue files: one file per message, record-based, versioned.
 *
 * FORMAT (version 1). A queue file is a sequence of records:
 *
 *   record = TYPE LEN SP DATA LF
 *   TYPE   = one ASCII letter (below)
 *   LEN    = exactly 8 lowercase hex digits: the length of DATA
 *   SP     = one space (0x20)
 *   DATA   = LEN bytes
 *   LF     = one 0x0a byte (a framing check, not part of DATA)
 *
 * so a record header is QFILE_REC_HDR (10) bytes and DATA starts at
 * record offset + 10. Records appear in exactly this order:
 *
 *   V        once   "posthorn-queue 1"   magic and format version
 *   T        once   "SECONDS USECONDS"   arrival time, decimal
 *   A        0..n   "name=value"         message attributes (client info,
 *                                        DSN ENVID/RET, BODY, SMTPUTF8, ...);
 *                                        name is [a-z0-9_]+, unique
 *   S        once   "address"            envelope sender ("" for <>)
 *   R        1..n   "P 0 ORCPT\nADDRESS", precisely:
 *                   DATA[0]   status: 'P' pending, 'D' done, 'F' failed
 *                   DATA[1]   ' '
 *                   DATA[2]   NOTIFY as one hex digit (QFILE_NOTIFY_* bits)
 *                   DATA[3]   ' '
 *                   then ORCPT ("" when none, e.g. "rfc822;a@b"), LF,
 *                   then the recipient address (never empty)
 *   M        once   the message content: headers + body as received,
 *                   after dot-unstuffing, with LF line endings (opaque to
 *                   this module; binary-safe)
 *   E        once   "OOOOOOOOOOOOOOOO SSSSSSSSSSSSSSSS" (16 + 1 + 16 lowercase
 *                   hex digits): content offset (of M's DATA) and size
 *
 * The E record (the trailer, QFILE_TRAILER_SIZE = 44 bytes) is the last
 * thing in the file and proves that the file is complete: a reader first
 * checks the last 44 bytes; a file without a valid trailer is an
 * unfinished write (QFILE_INCOMPLETE) and is never delivered. M's LEN and
 * the trailer must agree, and M must end exactly where E starts.
 *
 * Addresses (S, R, log entries) are in Postfix's internal form: the local
 * part unquoted ("a b"@example.com is stored as a b@example.com); quote
 * with addr822_quote() when writing them to SMTP or headers.
 *
 * Envelope values (everything but M) may not contain NUL, CR or LF and are
 * at most QFILE_MAX_VALUE bytes; a file has at most QFILE_MAX_RCPTS
 * recipients and QFILE_MAX_ATTRS attributes, an envelope (V to the last
 * R) of at most QFILE_MAX_ENVELOPE bytes, and at most 4 GiB - 1 bytes of
 * content (LEN is 8 hex digits). The writer refuses what the reader
 * would reject.
 *
 * Per-recipient status is the one byte at the start of each R record's
 * DATA (qfile_rcpt.status_offset). qmgr changes it IN PLACE with pwrite of
 * one byte plus fdatasync (an already-allocated block: cheap), so after a
 * crash a recipient that was delivered is never delivered again:
 *   P (pending)  still to be delivered
 *   D (done)     delivered, or otherwise finished (nothing more to do)
 *   F (failed)   permanently failed; its reason is in bounce/ID and a DSN
 *                is still owed. After the DSN is queued, qmgr sets D.
 * Nothing else in a queue file ever changes after qfile_finish.
 *
 * Per-message delivery logs (the reasons the DSN code and mailq read):
 * defer/ID and bounce/ID, as Postfix keeps them, hashed like the queues.
 * They are created only when a recipient is deferred or fails (so the
 * happy path costs one file per message). A log is a sequence of L
 * records in the same framing (no V, no trailer), appended with O_APPEND
 * one record per write(2); a torn last record (crash during append) is
 * ignored by the reader. L DATA is eight LF-separated fields:
 *   time (decimal seconds), recipient index (decimal), DSN status
 *   ("4.4.1"), action ("delayed", "failed", "delivered", "relayed",
 *   "expanded"), recipient address, ORCPT, remote MTA ("" when none),
 *   reason text (control characters replaced by spaces when written).
 *
 * Trust: files in maildrop/ come from local users through postdrop,
 * which writes only the attributes uid, origin, rewrite_context,
 * full_name, dsn_envid, dsn_ret, body_type and smtputf8 (and refuses
 * others from its input). qmgr should treat any other attribute in a
 * maildrop file (client_address, sasl_username, ...) as forged.
 *
 * Writing (smtpd, postdrop): qfile_writer_create() creates the file with
 * a new queue ID at once (so the ID can be logged from MAIL FROM on).
 * Envelope calls (time, attributes, sender, recipients) may come in any
 * order and are collected in memory; the first qfile_writer_content()
 * call (or qfile_writer_finish) writes the envelope. Content is streamed
 * through a bounded buffer, never held whole. qfile_writer_finish() writes
 * the trailer and makes the file durable with mail_queue_sync() (one
 * fdatasync + one directory fsync); only then may smtpd say 250.
 * qfile_writer_abort() unlinks the file.
 *
 * Reading (qmgr, local, postcat, mailq): qfile_open() validates the whole
 * envelope strictly (order, framing, values, limits, trailer) and gives
 * the recipients with their status and offsets, and the content offset
 * and size so a delivery agent can copy the content without parsing.
 *
 * Errors: I/O problems and bad data (network input, corrupt files) are
 * returned, never a crash: writer functions return 0/-1 (or NULL) with a
 * reason in *error_r (static buffer, valid until the next call); qfile_open
 * returns a QFILE_* code plus *error_r of the form "PATH: offset N: what".
 * Misuse by our own code (a recipient added after content started, a
 * NULL writer, an unknown status letter, an out-of-range recipient index)
 * is a panic.
 */
#ifndef QFILE_H
#define QFILE_H

#include "sys_defs.h"
#include "vstring.h"
#include "queue_id.h"

#define QFILE_VERSION       1
#define QFILE_MAGIC         "posthorn-queue 1"
#define QFILE_REC_HDR       10			/* TYPE + 8 hex + SP */
#define QFILE_TRAILER_SIZE  44			/* 10 + 33 + LF */
#define QFILE_MAX_VALUE     8192		/* envelope record DATA */
#define QFILE_MAX_RCPTS     100000
#define QFILE_MAX_ATTRS     256
#define QFILE_MAX_CONTENT   ((off_t) 0xffffffff)
#define QFILE_MAX_ENVELOPE  ((size_t) 64 * 1024 * 1024)	/* V..R bytes */

/* Record types. */
#define QFILE_REC_VERSION   'V'
#define QFILE_REC_TIME      'T'
#define QFILE_REC_ATTR      'A'
#define QFILE_REC_SENDER    'S'
#define QFILE_REC_RCPT      'R'
#define QFILE_REC_CONTENT   'M'
#define QFILE_REC_END       'E'
#define QFILE_REC_LOG       'L'

/* Recipient status letters (the byte at qfile_rcpt.status_offset). */
#define QFILE_RCPT_PENDING  'P'
#define QFILE_RCPT_DONE     'D'
#define QFILE_RCPT_FAILED   'F'

/* DSN NOTIFY bits (RFC 3461); 0 = not given (default: FAILURE,DELAY). */
#define QFILE_NOTIFY_NEVER   (1 << 0)
#define QFILE_NOTIFY_SUCCESS (1 << 1)
#define QFILE_NOTIFY_FAILURE (1 << 2)
#define QFILE_NOTIFY_DELAY   (1 << 3)

/* Well-known attribute names (Postfix's names where it has one). Values
 * are free text without NUL/CR/LF. Other names are allowed and kept. */
#define QFILE_ATTR_CLIENT_NAME    "client_name"	/* reverse name or "unknown" */
#define QFILE_ATTR_CLIENT_ADDR    "client_address"
#define QFILE_ATTR_CLIENT_PORT    "client_port"
#define QFILE_ATTR_HELO_NAME      "helo_name"
#define QFILE_ATTR_PROTOCOL       "protocol_name"	/* SMTP ESMTP ESMTPS ESMTPSA ... */
#define QFILE_ATTR_SASL_METHOD    "sasl_method"
#define QFILE_ATTR_SASL_USERNAME  "sasl_username"
#define QFILE_ATTR_SASL_SENDER    "sasl_sender"
#define QFILE_ATTR_TLS            "tls_summary"	/* "TLSv1.3 with cipher ..." */
#define QFILE_ATTR_DSN_ENVID      "dsn_envid"	/* MAIL FROM ENVID=, xtext decoded */
#define QFILE_ATTR_DSN_RET        "dsn_ret"	/* "FULL" or "HDRS" */
#define QFILE_ATTR_BODY           "body_type"	/* "7BIT" "8BITMIME" "BINARYMIME" */
#define QFILE_ATTR_SMTPUTF8       "smtputf8"	/* "yes" when requested */
#define QFILE_ATTR_ORIGIN         "origin"	/* "smtpd", "sendmail", "bounce" ... */
#define QFILE_ATTR_UID            "uid"		/* submitting uid (postdrop) */
#define QFILE_ATTR_FULL_NAME      "full_name"	/* sendmail -F */
#define QFILE_ATTR_REWRITE        "rewrite_context"	/* "local" or "remote" */
#define QFILE_ATTR_VERIFY         "verify"	/* "yes": sendmail -bv, verify only */

/* qfile_value_ok - true when len bytes can be an envelope value: no NUL,
 * CR or LF, at most QFILE_MAX_VALUE bytes */
bool qfile_value_ok(const char *val, size_t len);

/* ---- writer ---- */

typedef struct qfile_writer QFILE_WRITER;

/* qfile_writer_create - new queue file in queue (MAIL_QUEUE_INCOMING, or
 * MAIL_QUEUE_MAILDROP for postdrop) with the given file mode; the arrival
 * time defaults to now. NULL with *error_r on a file-system error. */
QFILE_WRITER *qfile_writer_create(const char *queue, mode_t mode, const char **error_r);
/* qfile_writer_id - the new message's queue ID */
const char *qfile_writer_id(const QFILE_WRITER *qw);
/* qfile_writer_path - its path */
const char *qfile_writer_path(const QFILE_WRITER *qw);
/* qfile_writer_set_time - arrival time (before content starts) */
void qfile_writer_set_time(QFILE_WRITER *qw, long sec, long usec);
/* qfile_writer_attr - add an attribute; -1 with *error_r for a bad name,
 * a duplicate, a bad value (NUL/CR/LF, too long) or too many */
int qfile_writer_attr(QFILE_WRITER *qw, const char *name, const char *value,
		      const char **error_r);
/* qfile_writer_sender - set the sender (once; "" for the null sender); -1
 * with *error_r for a bad value or a second call */
int qfile_writer_sender(QFILE_WRITER *qw, const char *sender, const char **error_r);
/* qfile_writer_rcpt - add a recipient (address nonempty; orcpt may be NULL;
 * notify = QFILE_NOTIFY_* bits); -1 with *error_r for a bad value, too
 * many recipients or an envelope over QFILE_MAX_ENVELOPE */
int qfile_writer_rcpt(QFILE_WRITER *qw, const char *address, const char *orcpt,
		      int notify, const char **error_r);
/* qfile_writer_rcpt_count - recipients added so far */
int qfile_writer_rcpt_count(const QFILE_WRITER *qw);
/* qfile_writer_content - append len bytes of message content (call as
 * often as needed; the envelope is written on the first call, which
 * then needs the sender and at least one recipient: -1 otherwise). -1 with
 * *error_r on a write error or content over QFILE_MAX_CONTENT; after an
 * error the writer only accepts qfile_writer_abort. */
int qfile_writer_content(QFILE_WRITER *qw, const void *buf, size_t len,
			 const char **error_r);
/* qfile_writer_content_size - content bytes so far */
off_t qfile_writer_content_size(const QFILE_WRITER *qw);
/* qfile_writer_finish - flush, write the trailer, mail_queue_sync (unless
 * sync is false: tests, or a caller that makes a batch of files durable
 * some other way, e.g. syncfs), close and free. 0 or -1 with *error_r; on
 * failure the file is unlinked. NULLs *qwp either way. */
int qfile_writer_finish(QFILE_WRITER **qwp, bool sync, const char **error_r);
/* qfile_writer_abort - close, unlink, free; NULLs *qwp (NULL is fine) */
void qfile_writer_abort(QFILE_WRITER **qwp);

/* ---- reader ---- */

typedef struct qfile_rcpt {
    int     index;			/* 0.. in file order */
    int     status;			/* QFILE_RCPT_* letter */
    int     notify;			/* QFILE_NOTIFY_* bits */
    char   *address;
    char   *orcpt;			/* "" when none */
    off_t   offset;			/* of the R record */
    off_t   status_offset;		/* of the status byte */
} QFILE_RCPT;

typedef struct qfile {
    char    id[QUEUE_ID_MAX];		/* "" when opened by path/fd */
    char   *queue;			/* NULL when opened by path/fd */
    char   *path;			/* for messages */
    int     fd;
    bool    writable;
    long    arrival_sec;
    long    arrival_usec;
    char   *sender;
    int     rcpt_count;
    QFILE_RCPT *rcpts;
    int     attr_count;
    char  **attr_names;
    char  **attr_values;
    off_t   content_offset;		/* of the content's first byte */
    off_t   content_size;
    off_t   file_size;
} QFILE;

/* qfile_open results */
#define QFILE_OK          0
#define QFILE_ERR_SYS     (-1)		/* open/read failed: errno set (ENOENT:
					 * moved or removed meanwhile) */
#define QFILE_ERR_INCOMPLETE (-2)	/* no valid trailer: still being
					 * written, or an abandoned write. One
					 * older than an hour was never
					 * acknowledged: move it to corrupt/
					 * (never delete silently) */
#define QFILE_ERR_CORRUPT (-3)		/* trailer present, content invalid:
					 * move to corrupt/ */

#define QFILE_OPEN_RDONLY 0
#define QFILE_OPEN_RDWR   1		/* for qfile_rcpt_set_status */

/* qfile_open - open and validate queue file id in queue; on QFILE_OK
 * *qf_r is set. Invalid ids or queue names: QFILE_ERR_SYS with EINVAL. */
int qfile_open(const char *queue, const char *id, int flags, QFILE **qf_r,
	       const char **error_r);
/* qfile_open_path - the same for a path (postcat FILE) */
int qfile_open_path(const char *path, int flags, QFILE **qf_r, const char **error_r);
/* qfile_open_fd - the same for an open descriptor, which the QFILE then
 * owns (closed by qfile_close, also on error); name is used in messages */
int qfile_open_fd(int fd, const char *name, int flags, QFILE **qf_r,
		  const char **error_r);
/* qfile_close - close and free; NULLs *qfp (NULL is fine) */
void qfile_close(QFILE **qfp);

/* qfile_attr - value of an attribute, or NULL when absent */
const char *qfile_attr(const QFILE *qf, const char *name);
/* qfile_rcpt_pending - recipients still in status P */
int qfile_rcpt_pending(const QFILE *qf);

/* qfile_rcpt_set_status - change recipient index's status byte in place
 * (pwrite); with sync, fdatasync afterwards (or batch several changes and
 * call qfile_sync once). Needs QFILE_OPEN_RDWR (else a panic). 0, or -1
 * with *error_r on an I/O error. */
int qfile_rcpt_set_status(QFILE *qf, int index, int status, bool sync,
			  const char **error_r);
/* qfile_sync - fdatasync the queue file; 0 or -1 with *error_r */
int qfile_sync(QFILE *qf, const char **error_r);

/* qfile_content_read - pread up to len content bytes from content offset
 * off; returns bytes read (0 at the end of the content) or -1 */
ssize_t qfile_content_read(const QFILE *qf, off_t off, void *buf, size_t len);
/* qfile_content_copy - write the whole content to fd (handles short
 * writes); 0, or -1 with errno (caller decides what to report) */
int qfile_content_copy(const QFILE *qf, int fd);

/* ---- per-message delivery logs: defer/ID and bounce/ID ---- */

typedef struct qfile_log_entry {
    long    time;
    int     rcpt_index;
    const char *dsn_status;		/* "4.4.1" */
    const char *action;			/* "delayed" "failed" ... */
    const char *address;
    const char *orcpt;			/* "" when none */
    const char *mta;			/* "" when none */
    const char *reason;
} QFILE_LOG_ENTRY;

/* qfile_log_append - append one entry to log_queue/ID (MAIL_QUEUE_DEFER or
 * MAIL_QUEUE_BOUNCE), creating it (0600) when missing; with sync,
 * fdatasync afterwards (and fsync of the directory when it was created).
 * Values are sanitized (control characters become spaces) and truncated
 * to QFILE_MAX_VALUE. 0, or -1 with *error_r. */
int qfile_log_append(const char *log_queue, const char *id, const QFILE_LOG_ENTRY *entry,
		     bool sync, const char **error_r);

typedef struct qfile_log QFILE_LOG;

/* qfile_log_read - read every complete entry of log_queue/ID. *log_r is
 * NULL (with 0 returned) when there is no log. -1 with *error_r on an I/O
 * error or a malformed record other than a torn last one. */
int qfile_log_read(const char *log_queue, const char *id, QFILE_LOG **log_r,
		   const char **error_r);
/* qfile_log_count / qfile_log_entry - the entries, in file order; the
 * strings live as long as the QFILE_LOG */
int qfile_log_count(const QFILE_LOG *log);
const QFILE_LOG_ENTRY *qfile_log_entry(const QFILE_LOG *log, int index);
/* qfile_log_free - release; NULLs *logp (NULL is fine) */
void qfile_log_free(QFILE_LOG **logp);

/* qfile_log_parse - parse log bytes from memory (tests, fuzzing); same
 * rules as qfile_log_read */
int qfile_log_parse(const char *buf, size_t len, const char *name, QFILE_LOG **log_r,
		    const char **error_r);

#endif
