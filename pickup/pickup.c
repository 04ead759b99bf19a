/* pickup - move locally submitted mail from maildrop/ into the queue.
 *
 * SYNOPSIS
 *   pickup [generic daemon options]   (master.cf: pickup unix n - n 60 1 pickup)
 *
 * DESCRIPTION
 *   Woken by a trigger on public/pickup (qmgr forwards sendmail's "new
 *   mail" trigger when maildrop/ changed; master wakes it every 60s), it
 *   takes every complete file in maildrop/ (written by postdrop on behalf
 *   of any local user, so UNTRUSTED), validates it strictly (qfile_open on
 *   the already-open, non-symlink, single-link regular file) and writes it
 *   again as a new queue file in incoming/:
 *     - arrival time, sender and DSN attributes are kept; the uid
 *       attribute is the file owner's (what the kernel says, not the file);
 *     - recipients are expanded through virtual_alias_maps
 *       (lib/cleanup_rcpt.h); an expanded recipient gets ORCPT
 *       "rfc822;ORIGINAL" unless it already had one;
 *     - a "Received: by HOST (Posthorn, from userid N)" header is added
 *       unless postdrop already put one first, and Message-Id:, Date: and
 *       From: when the header section has none (as Postfix's cleanup).
 *   The maildrop file is removed only after the new file is durable
 *   (fdatasync + directory fsync). Then qmgr is triggered. Logs
 *   "NEWID: uid=N from=<sender>".
 *
 *   A malformed file is moved to corrupt/ with a warning (an incomplete
 *   one only when older than an hour: postdrop may still be writing it);
 *   a temporary problem (table lookup, disk) leaves it for the next run.
 *
 * SECURITY
 *   Runs as mail_owner (unpriv). Reads maildrop files with O_NOFOLLOW and
 *   refuses anything but a regular file with one link.
 */
#include "sys_defs.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "argv.h"
#include "cleanup_rcpt.h"
#include "config.h"
#include "mail_date.h"
#include "mail_queue.h"
#include "msg.h"
#include "mymalloc.h"
#include "qfile.h"
#include "server.h"
#include "vstring.h"

#define PICKUP_INCOMPLETE_AGE 3600
#define PICKUP_RESULT_OK      0
#define PICKUP_RESULT_TEMP    1		/* leave it, try later */
#define PICKUP_RESULT_BAD     2		/* move to corrupt/ */

static CLEANUP_RCPT *pickup_cleanup;

/* pickup_header_has - the header section names this header */
static bool pickup_header_has(const VSTRING *hdr, const char *name)
{
    size_t nlen = strlen(name);
    const char *cp = STR(hdr);

    while (*cp) {
	if (strncasecmp(cp, name, nlen) == 0 && cp[nlen] == ':')
	    return true;
	if ((cp = strchr(cp, '\n')) == NULL)
	    break;
	cp++;
    }
    return false;
}

/* pickup_content - copy content with added headers */
static int pickup_content(QFILE *qf, QFILE_WRITER *qw, uid_t uid, const char **error_r)
{
    VSTRING *hdr = vstring_alloc(4096);
    VSTRING *add = vstring_alloc(512);
    VSTRING *date = vstring_alloc(64);
    char buf[8192];
    off_t off = 0, hdr_end = -1;
    ssize_t n;
    int rc = 0;
    time_t now = time(NULL);

    /* Read the header section (bounded by header_size_limit). */
    while (hdr_end < 0 && (long) LEN(hdr) < var_header_size_limit
	   && (n = qfile_content_read(qf, off, buf, sizeof(buf))) > 0) {
	for (ssize_t i = 0; i < n; i++) {
	    if (buf[i] == '\n' && (off + i == 0 || (LEN(hdr) && STR(hdr)[LEN(hdr) - 1] == '\n'))) {
		hdr_end = off + i;
		break;
	    }
	    vstring_addch(hdr, buf[i]);
	}
	off += n;
    }
    if (hdr_end < 0)
	hdr_end = (off_t) LEN(hdr);		/* no body, or an overlong header */
    else
	vstring_truncate(hdr, (size_t) hdr_end);

    if (strncasecmp(STR(hdr), "Received:", 9) != 0)
	vstring_fmt(add, "Received: by %s (%s, from userid %ld)\n\tid %s; %s\n",
		    var_myhostname, var_mail_name, (long) uid, qfile_writer_id(qw),
		    mail_date(date, now));
    if (qfile_writer_content(qw, STR(add), LEN(add), error_r) < 0
	|| qfile_writer_content(qw, STR(hdr), LEN(hdr), error_r) < 0) {
	rc = -1;
	goto out;
    }
    vstring_reset(add);
    if (!pickup_header_has(hdr, "Message-Id"))
	vstring_fmt_append(add, "Message-Id: <%s@%s>\n", qfile_writer_id(qw), var_myhostname);
    if (!pickup_header_has(hdr, "Date"))
	vstring_fmt_append(add, "Date: %s\n", mail_date(date, now));
    if (!pickup_header_has(hdr, "From"))
	vstring_fmt_append(add, "From: <%s>\n", *qf->sender ? qf->sender : "MAILER-DAEMON");
    if (qfile_writer_content(qw, STR(add), LEN(add), error_r) < 0) {
	rc = -1;
	goto out;
    }
    /* The rest: from the end of the header section, as is. */
    for (off = hdr_end; off < qf->content_size; off += n) {
	if ((n = qfile_content_read(qf, off, buf, sizeof(buf))) <= 0) {
	    *error_r = "read maildrop file content";
	    rc = -1;
	    goto out;
	}
	if (qfile_writer_content(qw, buf, (size_t) n, error_r) < 0) {
	    rc = -1;
	    goto out;
	}
    }
out:
    vstring_free(&hdr);
    vstring_free(&add);
    vstring_free(&date);
    return rc;
}

/* pickup_copy - write qf as a new incoming file */
static int pickup_copy(QFILE *qf, uid_t uid, const char **error_r)
{
    QFILE_WRITER *qw;
    ARGV   *list = argv_alloc(4);
    VSTRING *orcpt = vstring_alloc(100);
    char uidbuf[32];
    char newid[QUEUE_ID_MAX];
    int rc;

    if ((qw = qfile_writer_create(MAIL_QUEUE_INCOMING, MAIL_QUEUE_FILE_MODE, error_r)) == NULL) {
	argv_free(&list);
	vstring_free(&orcpt);
	return PICKUP_RESULT_TEMP;
    }
    ph_strlcpy(newid, qfile_writer_id(qw), sizeof(newid));
    snprintf(uidbuf, sizeof(uidbuf), "%ld", (long) uid);
    qfile_writer_set_time(qw, qf->arrival_sec, qf->arrival_usec);
    rc = PICKUP_RESULT_BAD;
    if (qfile_writer_sender(qw, qf->sender, error_r) < 0)
	goto bad;
    for (int i = 0; i < qf->attr_count; i++)
	if (strcmp(qf->attr_names[i], QFILE_ATTR_UID) != 0
	    && qfile_writer_attr(qw, qf->attr_names[i], qf->attr_values[i], error_r) < 0)
	    goto bad;
    if (qfile_writer_attr(qw, QFILE_ATTR_UID, uidbuf, error_r) < 0)
	goto bad;
    for (int i = 0; i < qf->rcpt_count; i++) {
	QFILE_RCPT *r = qf->rcpts + i;
	int erc;

	if (r->status != QFILE_RCPT_PENDING)
	    continue;
	argv_truncate(list, 0);
	if ((erc = cleanup_rcpt_expand(pickup_cleanup, r->address, list, error_r)) != CLEANUP_RCPT_OK) {
	    rc = erc == CLEANUP_RCPT_TEMP ? PICKUP_RESULT_TEMP : PICKUP_RESULT_BAD;
	    goto bad;
	}
	for (int j = 0; j < list->argc; j++) {
	    bool same = strcasecmp(list->argv[j], r->address) == 0;

	    if (*r->orcpt || same)
		vstring_set(orcpt, r->orcpt);
	    else
		vstring_fmt(orcpt, "rfc822;%s", r->address);
	    if (qfile_writer_rcpt(qw, list->argv[j], STR(orcpt), r->notify, error_r) < 0)
		goto bad;
	}
    }
    if (qfile_writer_rcpt_count(qw) == 0) {
	*error_r = "no recipients";
	goto bad;
    }
    rc = PICKUP_RESULT_TEMP;
    if (pickup_content(qf, qw, uid, error_r) < 0 || qfile_writer_finish(&qw, true, error_r) < 0)
	goto bad;
    msg_info("%s: uid=%ld from=<%s>", newid, (long) uid, qf->sender);
    argv_free(&list);
    vstring_free(&orcpt);
    return PICKUP_RESULT_OK;

bad:
    qfile_writer_abort(&qw);
    argv_free(&list);
    vstring_free(&orcpt);
    return rc;
}

/* pickup_file - one maildrop file; true when mail was queued */
static bool pickup_file(const char *id, const char *path)
{
    struct stat st;
    QFILE  *qf;
    const char *error = "";
    int fd, rc;
    uid_t uid;

    if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) < 0) {
	if (errno != ENOENT)
	    msg_warn("open %s: %m", path);
	return false;
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1) {
	close(fd);
	msg_warn("%s: not a regular file with one link: moving to corrupt queue", path);
	if (mail_queue_rename(id, MAIL_QUEUE_MAILDROP, MAIL_QUEUE_CORRUPT, &error) < 0)
	    msg_warn("%s", error);
	return false;
    }
    uid = st.st_uid;
    rc = qfile_open_fd(fd, path, QFILE_OPEN_RDONLY, &qf, &error);
    if (rc == QFILE_ERR_INCOMPLETE && st.st_mtime + PICKUP_INCOMPLETE_AGE >= time(NULL))
	return false;				/* postdrop still writing */
    if (rc != QFILE_OK) {
	if (rc == QFILE_ERR_SYS) {
	    msg_warn("%s", error);
	    return false;
	}
	msg_warn("%s: malformed maildrop file: %s: moving to corrupt queue", id, error);
	if (mail_queue_rename(id, MAIL_QUEUE_MAILDROP, MAIL_QUEUE_CORRUPT, &error) < 0)
	    msg_warn("%s", error);
	return false;
    }
    rc = pickup_copy(qf, uid, &error);
    qfile_close(&qf);
    switch (rc) {
    case PICKUP_RESULT_OK:
	if (mail_queue_remove(MAIL_QUEUE_MAILDROP, id, &error) < 0)
	    msg_warn("%s: %s", id, error);
	return true;
    case PICKUP_RESULT_BAD:
	msg_warn("%s: malformed maildrop file: %s: moving to corrupt queue", id, error);
	if (mail_queue_rename(id, MAIL_QUEUE_MAILDROP, MAIL_QUEUE_CORRUPT, &error) < 0)
	    msg_warn("%s", error);
	return false;
    default:
	msg_warn("%s: %s (will try again)", id, error);
	return false;
    }
}

/* pickup_scan - every file in maildrop/ */
static void pickup_scan(const char *buf, ssize_t len, const char *service, char **argv)
{
    MAIL_QUEUE_SCAN *scan;
    const char *id, *error;
    VSTRING *path = vstring_alloc(100);
    int queued = 0;
    char req = MAIL_QUEUE_TRIGGER_NEW;

    (void) buf, (void) len, (void) service, (void) argv;
    if ((scan = mail_queue_scan_open(MAIL_QUEUE_MAILDROP, &error)) == NULL) {
	msg_warn("scan maildrop: %s", error);
	vstring_free(&path);
	return;
    }
    while ((id = mail_queue_scan_next(scan)) != NULL) {
	if (pickup_file(id, mail_queue_scan_path(scan)))
	    queued++;
    }
    mail_queue_scan_close(&scan);
    if (queued > 0) {
	vstring_fmt(path, "%s/%s", mail_queue_root(), MAIL_QUEUE_TRIGGER_PATH);
	if (trigger_send(STR(path), &req, 1) < 0)
	    msg_warn("trigger %s: %m", STR(path));
    }
    vstring_free(&path);
}

/* pickup_pre_init - queue and tables before the privilege drop */
static void pickup_pre_init(const char *service, char **argv)
{
    (void) service, (void) argv;
    mail_queue_init(var_queue_directory, var_hash_queue_depth, var_hash_queue_names);
    pickup_cleanup = cleanup_rcpt_create(var_virtual_alias_maps);
}

/* pickup_post_init - whatever waited while we were down */
static void pickup_post_init(const char *service, char **argv)
{
    pickup_scan("W", 1, service, argv);
}

/* main - the trigger server skeleton with pickup's hooks */
int main(int argc, char **argv)
{
    static const SERVER_OPTS opts = {
	.pre_init = pickup_pre_init,
	.post_init = pickup_post_init,
    };

    trigger_server_main(argc, argv, pickup_scan, &opts);
}
