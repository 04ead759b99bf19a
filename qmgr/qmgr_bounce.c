/* qmgr_bounce - queue delivery status notifications (RFC 3464).
 *
 * Contract: qmgr_bounce_send() writes one notice (lib/dsn_report.h) about
 * some recipients of a message as a NEW queue file in incoming/, durable
 * (fdatasync + directory fsync) before it returns 0, and kicks the
 * incoming scan. Senders and recipients of notices:
 *
 *   original sender S != ""    notice from <> to S
 *   original sender <>         failure goes to 2bounce_notice_recipient
 *                              from double_bounce_sender@myorigin (a
 *                              "double bounce"); delay/success: none
 *   original sender is the     dropped and logged: nothing bounces
 *   double_bounce_sender       forever
 *
 * qmgr_bounce_failed() sends the failure notice owed for recipients in
 * status F (or failed in this run), taking reasons from bounce/ID (so a
 * notice owed before a crash is still sent), honouring NOTIFY (NEVER, or a
 * list without FAILURE: no notice for that recipient).
 *
 * qmgr_bounce_verify() sends the report of a verify-only message
 * (sendmail -bv): every recipient with a result, Action deliverable or
 * undeliverable (deferred counts as undeliverable, with its 4.x.x status),
 * regardless of NOTIFY; nothing for the null sender.
 */
#include "sys_defs.h"

#include <string.h>
#include <strings.h>
#include <time.h>

#include "config.h"
#include "dsn_report.h"
#include "mail_queue.h"
#include "msg.h"
#include "mymalloc.h"

#include "qmgr.h"

/* qmgr_bounce_qualify - address with @myorigin when it has no domain */
static void qmgr_bounce_qualify(VSTRING *out, const char *addr)
{
    vstring_set(out, addr);
    if (strchr(addr, '@') == NULL)
	vstring_fmt_append(out, "@%s", var_myorigin);
}

/* qmgr_bounce_is_2bounce_sender - mail from the double bounce sender */
static bool qmgr_bounce_is_2bounce_sender(const char *sender)
{
    size_t len = strlen(var_double_bounce_sender);

    return strncasecmp(sender, var_double_bounce_sender, len) == 0
	&& (sender[len] == 0 || sender[len] == '@');
}

/* qmgr_bounce_queue - write the notice as a new queue file */
static int qmgr_bounce_queue(QMGR_MESSAGE *msg, int kind, const char *to, const char *from,
			     const DSN_REPORT_RCPT *rcpts, int count)
{
    QFILE_WRITER *qw;
    DSN_REPORT info;
    VSTRING *text = vstring_alloc(4096);
    const char *error;
    const char *v;
    char newid[QUEUE_ID_MAX];

    if ((qw = qfile_writer_create(MAIL_QUEUE_INCOMING, MAIL_QUEUE_FILE_MODE, &error)) == NULL) {
	msg_warn("%s: cannot create notification: %s", msg->id, error);
	vstring_free(&text);
	return -1;
    }
    ph_strlcpy(newid, qfile_writer_id(qw), sizeof(newid));
    memset(&info, 0, sizeof(info));
    info.kind = kind;
    info.queue_id = msg->id;
    info.hostname = var_myhostname;
    info.mail_name = var_mail_name;
    info.to = to;
    info.orig_sender = msg->qf->sender;
    info.envid = qfile_attr(msg->qf, QFILE_ATTR_DSN_ENVID);
    v = qfile_attr(msg->qf, QFILE_ATTR_DSN_RET);
    info.ret = v && strcasecmp(v, "HDRS") == 0 ? DSN_RET_HDRS
	: v && strcasecmp(v, "FULL") == 0 ? DSN_RET_FULL : DSN_RET_DEFAULT;
    info.arrival = msg->qf->arrival_sec;
    info.now = (long) time(NULL);
    info.message_id = newid;
    info.size_limit = var_bounce_size_limit;
    if (dsn_report_format(text, &info, rcpts, count, msg->qf) < 0)
	msg_warn("%s: read original for notification: %m", msg->id);
    if (qfile_writer_attr(qw, QFILE_ATTR_ORIGIN, "bounce", &error) < 0
	|| qfile_writer_sender(qw, from, &error) < 0
	|| qfile_writer_rcpt(qw, to, NULL, 0, &error) < 0
	|| qfile_writer_content(qw, STR(text), LEN(text), &error) < 0
	|| qfile_writer_finish(&qw, true, &error) < 0) {
	msg_warn("%s: cannot queue notification: %s", msg->id, error);
	qfile_writer_abort(&qw);
	vstring_free(&text);
	return -1;
    }
    msg_info("%s: %s %s notification: %s", msg->id,
	     kind == DSN_KIND_2BOUNCE ? "postmaster" : "sender",
	     kind == DSN_KIND_DELAY ? "delay" : kind == DSN_KIND_SUCCESS
	     || kind == DSN_KIND_VERIFY ? "delivery status" : "non-delivery", newid);
    vstring_free(&text);
    qmgr_kick();
    return 0;
}

/* qmgr_bounce_route - who gets a notice of kind; false: nobody */
static bool qmgr_bounce_route(QMGR_MESSAGE *msg, int *kind, VSTRING *to, VSTRING *from)
{
    const char *sender = msg->qf->sender;

    if (*sender == 0) {
	if (*kind != DSN_KIND_FAILURE)
	    return false;
	*kind = DSN_KIND_2BOUNCE;
	qmgr_bounce_qualify(to, var_double_bounce_recipient);
	qmgr_bounce_qualify(from, var_double_bounce_sender);
	return true;
    }
    if (qmgr_bounce_is_2bounce_sender(sender)) {
	msg_info("%s: undeliverable postmaster notification discarded", msg->id);
	return false;
    }
    vstring_set(to, sender);
    vstring_set(from, "");
    return true;
}

/* qmgr_bounce_send - a notice about the listed recipients (this run) */
int qmgr_bounce_send(QMGR_MESSAGE *msg, int kind, const int *indexes, int count)
{
    DSN_REPORT_RCPT *rcpts = mycalloc((size_t) count, sizeof(*rcpts));
    VSTRING *to = vstring_alloc(100);
    VSTRING *from = vstring_alloc(100);
    int status = 0;

    for (int i = 0; i < count; i++) {
	QMGR_RCPT *rp = msg->rcpts + indexes[i];
	QFILE_RCPT *fr = msg->qf->rcpts + indexes[i];

	rcpts[i].address = fr->address;
	rcpts[i].orcpt = fr->orcpt;
	rcpts[i].action = kind == DSN_KIND_DELAY ? "delayed" :
	    kind == DSN_KIND_SUCCESS ? "delivered" : "failed";
	rcpts[i].status = rp->dsn[0] ? rp->dsn : kind == DSN_KIND_SUCCESS ? "2.0.0" : "4.0.0";
	rcpts[i].mta = "";
	rcpts[i].reason = rp->reason ? rp->reason : "";
    }
    if (qmgr_bounce_route(msg, &kind, to, from))
	status = qmgr_bounce_queue(msg, kind, STR(to), STR(from), rcpts, count);
    myfree(rcpts);
    vstring_free(&to);
    vstring_free(&from);
    return status;
}

/* qmgr_bounce_failed - the failure notice owed for F recipients */
int qmgr_bounce_failed(QMGR_MESSAGE *msg)
{
    QFILE_LOG *log = NULL;
    const char *error;
    DSN_REPORT_RCPT *rcpts;
    VSTRING *to, *from;
    int kind = DSN_KIND_FAILURE;
    int count = 0;
    int status = 0;

    if (qfile_log_read(MAIL_QUEUE_BOUNCE, msg->id, &log, &error) < 0) {
	msg_warn("%s: %s", msg->id, error);
	return -1;
    }
    rcpts = mycalloc((size_t) msg->qf->rcpt_count, sizeof(*rcpts));
    for (int i = 0; i < msg->qf->rcpt_count; i++) {
	QMGR_RCPT *rp = msg->rcpts + i;
	QFILE_RCPT *fr = msg->qf->rcpts + i;
	const QFILE_LOG_ENTRY *ent = NULL;

	if (rp->state != QMGR_RCPT_BOUNCE
	    && !(rp->state == QMGR_RCPT_SKIP && fr->status == QFILE_RCPT_FAILED))
	    continue;
	if (fr->notify != 0 && !(fr->notify & QFILE_NOTIFY_FAILURE))
	    continue;				/* NEVER, or not asked for */
	for (int j = 0; log && j < qfile_log_count(log); j++)
	    if (qfile_log_entry(log, j)->rcpt_index == i)
		ent = qfile_log_entry(log, j);
	rcpts[count].address = fr->address;
	rcpts[count].orcpt = fr->orcpt;
	rcpts[count].action = "failed";
	rcpts[count].status = ent ? ent->dsn_status : rp->dsn[0] ? rp->dsn : "5.0.0";
	rcpts[count].mta = ent ? ent->mta : "";
	rcpts[count].reason = ent ? ent->reason : rp->reason ? rp->reason : "delivery failed";
	count++;
    }
    if (count > 0) {
	to = vstring_alloc(100);
	from = vstring_alloc(100);
	if (qmgr_bounce_route(msg, &kind, to, from))
	    status = qmgr_bounce_queue(msg, kind, STR(to), STR(from), rcpts, count);
	vstring_free(&to);
	vstring_free(&from);
    }
    myfree(rcpts);
    qfile_log_free(&log);
    return status;
}

/* qmgr_bounce_verify - the report of a verify-only message */
int qmgr_bounce_verify(QMGR_MESSAGE *msg)
{
    DSN_REPORT_RCPT *rcpts = mycalloc((size_t) msg->qf->rcpt_count + 1, sizeof(*rcpts));
    VSTRING *to = vstring_alloc(100);
    VSTRING *from = vstring_alloc(100);
    int kind = DSN_KIND_VERIFY;
    int count = 0;
    int status = 0;

    for (int i = 0; i < msg->qf->rcpt_count; i++) {
	QMGR_RCPT *rp = msg->rcpts + i;
	QFILE_RCPT *fr = msg->qf->rcpts + i;
	bool ok = rp->state == QMGR_RCPT_SENT;

	if (rp->state != QMGR_RCPT_SENT && rp->state != QMGR_RCPT_DEFER
	    && rp->state != QMGR_RCPT_BOUNCE)
	    continue;				/* no result this run */
	rcpts[count].address = fr->address;
	rcpts[count].orcpt = fr->orcpt;
	rcpts[count].action = ok ? "deliverable" : "undeliverable";
	rcpts[count].status = rp->dsn[0] ? rp->dsn : ok ? "2.0.0" : "5.0.0";
	rcpts[count].mta = "";
	rcpts[count].reason = rp->reason ? rp->reason : "";
	count++;
    }
    if (count > 0 && qmgr_bounce_route(msg, &kind, to, from))
	status = qmgr_bounce_queue(msg, kind, STR(to), STR(from), rcpts, count);
    else if (count > 0)
	msg_info("%s: address verification report not sent: null or postmaster sender", msg->id);
    myfree(rcpts);
    vstring_free(&to);
    vstring_free(&from);
    return status;
}
