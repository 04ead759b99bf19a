/* mailbox.h - the two on-disk mailbox formats: Maildir and mbox.
 *
 * Used by local delivery (as the recipient's uid) and later by imapd/pop3d.
 * The caller supplies the message as a byte source (MAILBOX_SRC): a
 * prologue (Return-Path:, Delivered-To: ... already formatted, LF line
 * ends) and a region of an open file (the queue file's content: offset and
 * length), so delivery copies without parsing and without holding the
 * message in memory.
 *
 * Results: 0 delivered; -1 failed, with a reason in *why and a DSN status
 * in dsn_r ("4.2.2" mailbox full, "4.3.0" other temporary, "5.2.2" size
 * limit, "5.3.5" bad mailbox): the caller turns 4.x.x into a deferral and
 * 5.x.x into a bounce. Nothing here aborts on I/O problems. A failed
 * delivery leaves no partial message: Maildir unlinks its tmp file; mbox
 * truncates the file back to its original size.
 */
#ifndef MAILBOX_H
#define MAILBOX_H

#include "sys_defs.h"
#include "vstring.h"

typedef struct mailbox_src {
    const char *prologue;	/* text written first (may be "") */
    size_t  prologue_len;
    int     fd;			/* content source */
    off_t   offset;		/* content start in fd */
    off_t   length;		/* content bytes */
    const char *sender;		/* envelope sender for the mbox From_ line ("" = MAILER-DAEMON) */
    time_t  arrival;		/* for the mbox From_ line */
} MAILBOX_SRC;

/* maildir_deliver - deliver into the Maildir at dir (creating dir, tmp/,
 * new/, cur/ with mode 0700 when missing): tmp/NAME written with O_EXCL,
 * fsync'ed, renamed into new/NAME, then new/ fsync'ed. NAME is
 * "SECONDS.M<usec>P<pid>Q<n>.<host>,S=<size>" (Dovecot reads S= as the
 * size). size_limit > 0 caps the file size. path_r (may be NULL) gets the
 * final path. */
int maildir_deliver(const char *dir, const MAILBOX_SRC *src, off_t size_limit,
		    VSTRING *path_r, VSTRING *why, char dsn_r[16]);

/* maildir_make - create a Maildir (dir, tmp, new, cur) with mode 0700 */
int maildir_make(const char *dir, VSTRING *why);

/* mbox_deliver - append to the mbox file at path: locks with fcntl and a
 * path.lock dotlock (stale after 5 minutes), writes "From sender date",
 * the message with ">From " quoting of body lines starting with "From ",
 * and an empty line; fsyncs; truncates back on any failure. The file is
 * created 0600 when missing (O_EXCL|O_NOFOLLOW); an existing file that is a
 * symlink, not a regular file, or has several links is refused.
 * size_limit > 0 caps the resulting file size. */
int mbox_deliver(const char *path, const MAILBOX_SRC *src, off_t size_limit,
		 VSTRING *why, char dsn_r[16]);

/* mailbox_unique - the Maildir base name for a new message (no ,S=) */
void mailbox_unique(VSTRING *buf);

#endif
