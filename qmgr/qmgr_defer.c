/* qmgr_defer - move a message to deferred/ with its next retry time.
 *
 * Contract: qmgr_defer_message() sends the delay warning when it is due
 * (delay_warning_time; once per message, remembered as a "warned" entry
 * in defer/ID with recipient index QFILE_MAX_RCPTS - 1), renames active/ID to deferred/ID and sets the file's
 * modification time to the next attempt (now + backoff_wait(), see
 * lib/backoff.h), which is what qmgr_scan_deferred compares with the
 * clock. The message leaves memory. A failed rename leaves the file in
 * active/, where the next start-up recovers it.
 */
#include "sys_defs.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "backoff.h"
#include "config.h"
#include "dsn_report.h"
#include "mail_queue.h"
#include "msg.h"
#include "mymalloc.h"

#include "qmgr.h"

#define QMGR_DEFER_WARNED "warned"
/* The marker's recipient index is out of range for (almost) any message,
 * so readers of defer reasons (mailq) pass over it. */
#define QMGR_DEFER_WARN_INDEX (QFILE_MAX_RCPTS - 1)

/* qmgr_defer_warned - true when a delay warning was sent for id */
bool qmgr_defer_warned(const char *id)
{
    QFILE_LOG *log;
    const char *error;
    bool warned = false;

    if (qfile_log_read(MAIL_QUEUE_DEFER, id, &log, &error) < 0) {
	msg_warn("%s: %s", id, error);
	return true;			/* do not spam warnings */
    }
    for (int i = 0; log && i < qfile_log_count(log); i++)
	if (qfile_log_entry(log, i)->rcpt_index == QMGR_DEFER_WARN_INDEX
	    && strcmp(qfile_log_entry(log, i)->action, QMGR_DEFER_WARNED) == 0)
	    warned = true;
    qfile_log_free(&log);
    return warned;
}

/* qmgr_defer_warn - send the delay warning when due */
static void qmgr_defer_warn(QMGR_MESSAGE *msg, long now)
{
    int *idx;
    int n = 0;
    QFILE_LOG_ENTRY ent;
    const char *error;

    if (msg->is_bounce || msg->is_verify
	|| !backoff_warn_due(msg->qf->arrival_sec, now, var_delay_warning_time, false)
	|| qmgr_defer_warned(msg->id))
	return;
    idx = mymalloc(sizeof(int) * (size_t) (msg->qf->rcpt_count + 1));
    for (int i = 0; i < msg->qf->rcpt_count; i++) {
	int notify = msg->qf->rcpts[i].notify;

	if (msg->rcpts[i].state == QMGR_RCPT_DEFER
	    && (notify == 0 || (notify & QFILE_NOTIFY_DELAY)))
	    idx[n++] = i;
    }
    if (n > 0 && qmgr_bounce_send(msg, DSN_KIND_DELAY, idx, n) < 0) {
	myfree(idx);
	return;
    }
    myfree(idx);
    memset(&ent, 0, sizeof(ent));
    ent.time = now;
    ent.rcpt_index = QMGR_DEFER_WARN_INDEX;
    ent.dsn_status = "4.0.0";
    ent.action = QMGR_DEFER_WARNED;
    ent.address = msg->qf->rcpts[0].address;
    ent.orcpt = "";
    ent.mta = "";
    ent.reason = "delay warning sent";
    if (qfile_log_append(MAIL_QUEUE_DEFER, msg->id, &ent, false, &error) < 0)
	msg_warn("%s: %s", msg->id, error);
}

/* qmgr_defer_message - to deferred/, retry at now + backoff */
void qmgr_defer_message(QMGR_MESSAGE *msg)
{
    long now = (long) time(NULL);
    long wait;
    const char *error;
    VSTRING *path = vstring_alloc(100);
    struct timespec times[2];

    qmgr_defer_warn(msg, now);
    wait = backoff_wait(msg->qf->arrival_sec, now, var_minimal_backoff_time,
			var_maximal_backoff_time);
    if (mail_queue_rename(msg->id, MAIL_QUEUE_ACTIVE, MAIL_QUEUE_DEFERRED, &error) < 0) {
	msg_warn("%s: %s", msg->id, error);
    } else if (mail_queue_path(path, MAIL_QUEUE_DEFERRED, msg->id) != NULL) {
	times[0].tv_sec = (time_t) now;
	times[0].tv_nsec = 0;
	times[1].tv_sec = (time_t) (now + wait);
	times[1].tv_nsec = 0;
	if (utimensat(AT_FDCWD, STR(path), times, 0) < 0)
	    msg_warn("%s: set retry time: %m", STR(path));
	else if (msg_verbose)
	    msg_info("%s: next attempt in %lds", msg->id, wait);
    }
    vstring_free(&path);
    qmgr_message_free(&msg);
}
