/* qmgr_scan - queue scans: recovery, incoming/, deferred/, activation.
 *
 * Contract: a message enters memory only through qmgr_scan_activate, with
 * its file already in active/. incoming/ files are validated (qfile_open)
 * BEFORE they are moved, so an unfinished write (smtpd or pickup still
 * writing) stays where it is; one older than QMGR_INCOMPLETE_AGE was
 * never acknowledged and goes to corrupt/ with a warning (never deleted
 * silently). Corrupt files go to corrupt/ too. Scans stop when
 * qmgr_message_active_limit messages are in memory; qmgr_sched kicks a new
 * scan when messages leave.
 *
 * Limits: a scan reads whole directories (hashed, see mail_queue.h).
 */
#include "sys_defs.h"

#include <errno.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "config.h"
#include "argv.h"
#include "htable.h"
#include "mail_queue.h"
#include "msg.h"
#include "mymalloc.h"

#include "qmgr.h"

#define QMGR_INCOMPLETE_AGE 3600	/* seconds */

static HTABLE *qmgr_scan_ids;		/* ids in memory */

/* qmgr_scan_corrupt - move a bad file to corrupt/ */
static void qmgr_scan_corrupt(const char *queue, const char *id, const char *why)
{
    const char *error;

    msg_warn("%s: %s: moving to corrupt queue", id, why);
    if (mail_queue_rename(id, queue, MAIL_QUEUE_CORRUPT, &error) < 0)
	msg_warn("%s: %s", id, error);
}

/* qmgr_scan_forget - called when a message leaves memory */
static void qmgr_scan_forget(const char *id)
{
    if (qmgr_scan_ids)
	htable_delete(qmgr_scan_ids, id, NULL);
}

/* qmgr_message_free - release a message (and forget its id) */
void qmgr_message_free(QMGR_MESSAGE **msgp)
{
    QMGR_MESSAGE *msg = *msgp;

    if (msg == NULL)
	return;
    qmgr_scan_forget(msg->id);
    for (int i = 0; msg->qf && i < msg->qf->rcpt_count; i++) {
	myfree(msg->rcpts[i].transport);
	myfree(msg->rcpts[i].nexthop);
	myfree(msg->rcpts[i].reason);
    }
    myfree(msg->rcpts);
    qfile_close(&msg->qf);
    myfree(msg);
    *msgp = NULL;
    /* Room again after the limit held new mail back: look for it. */
    if (qmgr_active_count-- >= var_qmgr_message_active_limit)
	qmgr_kick();
}

/* qmgr_scan_start - a validated, read-write QFILE of active/id: schedule it */
static void qmgr_scan_start(const char *id, QFILE *qf)
{
    QMGR_MESSAGE *msg;
    struct timespec ts;
    const char *v;

    if (qmgr_scan_ids == NULL)
	qmgr_scan_ids = htable_create(100);
    if (htable_find(qmgr_scan_ids, id)) {
	qfile_close(&qf);
	return;
    }
    msg = mycalloc(1, sizeof(*msg));
    ph_strlcpy(msg->id, id, sizeof(msg->id));
    msg->qf = qf;
    msg->rcpts = mycalloc((size_t) qf->rcpt_count, sizeof(*msg->rcpts));
    msg->is_bounce = *qf->sender == 0;
    msg->is_verify = (v = qfile_attr(qf, QFILE_ATTR_VERIFY)) != NULL && strcasecmp(v, "yes") == 0;
    clock_gettime(CLOCK_REALTIME, &ts);
    msg->qmgr_sec = (long) ts.tv_sec;
    msg->qmgr_usec = (long) (ts.tv_nsec / 1000);
    for (int i = 0; i < qf->rcpt_count; i++)
	msg->rcpts[i].state = qf->rcpts[i].status == QFILE_RCPT_PENDING ?
	    QMGR_RCPT_TODO : QMGR_RCPT_SKIP;
    htable_enter(qmgr_scan_ids, id, msg);
    qmgr_active_count++;
    msg_info("%s: from=<%s>, size=%lld, nrcpt=%d (queue active)", id, qf->sender,
	     (long long) qf->content_size, qf->rcpt_count);
    qmgr_sched_message(msg);
}

/* qmgr_scan_activate - open an active/ file and hand it to the scheduler */
void qmgr_scan_activate(const char *id)
{
    QFILE  *qf;
    const char *error;
    int rc;

    if (qmgr_scan_ids && htable_find(qmgr_scan_ids, id))
	return;
    rc = qfile_open(MAIL_QUEUE_ACTIVE, id, QFILE_OPEN_RDWR, &qf, &error);
    if (rc == QFILE_ERR_CORRUPT || rc == QFILE_ERR_INCOMPLETE) {
	qmgr_scan_corrupt(MAIL_QUEUE_ACTIVE, id, error);
	return;
    }
    if (rc != QFILE_OK) {
	if (errno != ENOENT)
	    msg_warn("%s: %s", id, error);
	return;
    }
    qmgr_scan_start(id, qf);
}

/* qmgr_scan_full - true when no more messages may be activated */
static bool qmgr_scan_full(void)
{
    return qmgr_active_count >= var_qmgr_message_active_limit;
}

/* qmgr_scan_incoming - move complete incoming/ files to active/ */
void qmgr_scan_incoming(void)
{
    MAIL_QUEUE_SCAN *scan;
    const char *id;
    const char *error;
    struct stat st;
    QFILE  *qf;
    int rc;

    if (qmgr_scan_full())
	return;
    if ((scan = mail_queue_scan_open(MAIL_QUEUE_INCOMING, &error)) == NULL) {
	msg_warn("scan incoming: %s", error);
	return;
    }
    while (!qmgr_scan_full() && (id = mail_queue_scan_next(scan)) != NULL) {
	/* Validate before the move (a writer may still be busy), and keep the
	 * descriptor: it follows the file through the rename. */
	rc = qfile_open_path(mail_queue_scan_path(scan), QFILE_OPEN_RDWR, &qf, &error);
	if (rc == QFILE_OK) {
	    /* go on below */
	} else if (rc == QFILE_ERR_INCOMPLETE) {
	    if (stat(mail_queue_scan_path(scan), &st) == 0
		&& st.st_mtime + QMGR_INCOMPLETE_AGE < time(NULL))
		qmgr_scan_corrupt(MAIL_QUEUE_INCOMING, id, "abandoned incomplete queue file");
	    continue;
	} else if (rc == QFILE_ERR_CORRUPT) {
	    qmgr_scan_corrupt(MAIL_QUEUE_INCOMING, id, error);
	    continue;
	} else {
	    if (errno != ENOENT)
		msg_warn("%s", error);
	    continue;
	}
	if (mail_queue_rename(id, MAIL_QUEUE_INCOMING, MAIL_QUEUE_ACTIVE, &error) < 0) {
	    if (errno != ENOENT)
		msg_warn("%s: %s", id, error);
	    qfile_close(&qf);
	    continue;
	}
	qmgr_scan_start(id, qf);
    }
    mail_queue_scan_close(&scan);
}

/* qmgr_scan_deferred - retry deferred messages whose time has come */
void qmgr_scan_deferred(bool force)
{
    MAIL_QUEUE_SCAN *scan;
    const char *id;
    const char *error;
    struct stat st;
    time_t now = time(NULL);

    if (qmgr_scan_full())
	return;
    if ((scan = mail_queue_scan_open(MAIL_QUEUE_DEFERRED, &error)) == NULL) {
	msg_warn("scan deferred: %s", error);
	return;
    }
    while (!qmgr_scan_full() && (id = mail_queue_scan_next(scan)) != NULL) {
	if (!force && (stat(mail_queue_scan_path(scan), &st) < 0 || st.st_mtime > now))
	    continue;
	if (mail_queue_rename(id, MAIL_QUEUE_DEFERRED, MAIL_QUEUE_ACTIVE, &error) < 0) {
	    if (errno != ENOENT)
		msg_warn("%s: %s", id, error);
	    continue;
	}
	qmgr_scan_activate(id);
    }
    mail_queue_scan_close(&scan);
}

/* qmgr_scan_recover - start-up: what a previous run left in active/ */
void qmgr_scan_recover(void)
{
    MAIL_QUEUE_SCAN *scan;
    const char *id;
    const char *error;
    ARGV   *ids = argv_alloc(10);

    if ((scan = mail_queue_scan_open(MAIL_QUEUE_ACTIVE, &error)) == NULL) {
	msg_warn("scan active: %s", error);
    } else {
	while ((id = mail_queue_scan_next(scan)) != NULL)
	    argv_add(ids, id, (char *) 0);
	mail_queue_scan_close(&scan);
    }
    if (ids->argc)
	msg_info("recovering %d message%s from the active queue", ids->argc,
		 ids->argc == 1 ? "" : "s");
    for (int i = 0; i < ids->argc; i++)
	qmgr_scan_activate(ids->argv[i]);
    argv_free(&ids);
    qmgr_kick();
}
