/* qmgr_deliver - run one delivery request against a delivery agent.
 *
 * Contract: qmgr_deliver_start(job) connects to queue_directory/private/
 * <transport> (lib/deliver_request.h), waits for the agent's hello in the
 * event loop, sends the request and collects per-recipient results as
 * they arrive. It always ends in qmgr_sched_job_done(job), exactly once
 * and never from inside qmgr_deliver_start itself (a failure to connect
 * is reported from a zero-delay timer), so the scheduler never recurses.
 *
 * Failure handling: recipients without a result when the conversation
 * ends (agent crashed, protocol error, ipc_timeout) are deferred with
 * 4.3.0 and a reason naming the transport; nothing is lost.
 *
 * Limits: the agent's messages are read only when the socket is readable;
 * one message is short and is read with the stream timeout (ipc_timeout).
 */
#include "sys_defs.h"

#include <errno.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "attr.h"
#include "config.h"
#include "deliver_request.h"
#include "events.h"
#include "mail_queue.h"
#include "msg.h"
#include "mymalloc.h"

#include "qmgr.h"

typedef struct qmgr_delivery {
    QMGR_JOB *job;
    STREAM *sp;
    int     fd;
    bool   *got;			/* per job recipient: result seen */
    int     results;
    uint64_t timer;
    char   *fail_reason;		/* for recipients without a result */
} QMGR_DELIVERY;

/* qmgr_deliver_finish - defer the rest, clean up, tell the scheduler */
static void qmgr_deliver_finish(QMGR_DELIVERY *dp, const char *why)
{
    QMGR_JOB *job = dp->job;

    for (int i = 0; i < job->rcpt_count; i++) {
	int index = job->rcpt_index[i];

	if (dp->got[i])
	    continue;
	msg_info("%s: to=<%s>, relay=none, dsn=4.3.0, status=deferred (%s)", job->msg->id,
		 job->msg->qf->rcpts[index].address, why);
	qmgr_message_result(job->msg, index, QMGR_RCPT_DEFER, "4.3.0", why, NULL);
    }
    if (dp->timer)
	event_timer_cancel(dp->timer);
    if (dp->fd >= 0)
	event_disable(dp->fd);
    if (dp->sp)
	stream_close(&dp->sp);
    else if (dp->fd >= 0)
	close(dp->fd);
    myfree(dp->got);
    myfree(dp->fail_reason);
    myfree(dp);
    qmgr_sched_job_done(job);
}

/* qmgr_deliver_lost - the agent went away or misbehaved */
static void qmgr_deliver_lost(QMGR_DELIVERY *dp, const char *detail)
{
    VSTRING *why = vstring_alloc(100);

    vstring_fmt(why, "delivery agent %s crashed or lost connection (%s)",
		dp->job->transport->name, detail);
    msg_warn("%s: %s", dp->job->msg->id, STR(why));
    qmgr_deliver_finish(dp, STR(why));
    vstring_free(&why);
}

/* qmgr_deliver_timeout - the whole request took too long */
static void qmgr_deliver_timeout(int event, int fd, void *ctx)
{
    QMGR_DELIVERY *dp = ctx;

    (void) event, (void) fd;
    dp->timer = 0;
    qmgr_deliver_lost(dp, "timeout");
}

/* qmgr_deliver_result_event - results arrive */
static void qmgr_deliver_result_event(int event, int fd, void *ctx)
{
    QMGR_DELIVERY *dp = ctx;
    QMGR_JOB *job = dp->job;
    DELIVER_RESULT res;
    const char *error;
    int done = -1;
    int rc;

    (void) event, (void) fd;
    memset(&res, 0, sizeof(res));
    do {
	if ((rc = deliver_result_read(dp->sp, &res, &done, &error)) < 0) {
	    vstring_free(&res.reason);
	    qmgr_deliver_lost(dp, error);
	    return;
	}
	if (rc == 0) {
	    vstring_free(&res.reason);
	    if (done != dp->results)
		msg_warn("%s: delivery agent %s: done=%d after %d results", job->msg->id,
			 job->transport->name, done, dp->results);
	    qmgr_deliver_finish(dp, "delivery agent did not report this recipient");
	    return;
	}
	int slot = -1;

	for (int i = 0; i < job->rcpt_count; i++)
	    if (job->rcpt_index[i] == res.rcpt_index)
		slot = i;
	if (slot < 0 || dp->got[slot]) {
	    msg_warn("%s: delivery agent %s: result for unexpected recipient index %ld",
		     job->msg->id, job->transport->name, res.rcpt_index);
	    continue;
	}
	dp->got[slot] = true;
	dp->results++;
	qmgr_message_result(job->msg, (int) res.rcpt_index,
			    res.status == DEL_STAT_SENT || res.status == DEL_STAT_DISCARD ?
			    QMGR_RCPT_SENT : res.status == DEL_STAT_DEFER ?
			    QMGR_RCPT_DEFER : QMGR_RCPT_BOUNCE,
			    res.dsn, STR(res.reason), res.mta);
    } while (stream_pending(dp->sp) > 0);
    vstring_free(&res.reason);
}

/* qmgr_deliver_hello_event - the agent said hello: send the request */
static void qmgr_deliver_hello_event(int event, int fd, void *ctx)
{
    QMGR_DELIVERY *dp = ctx;
    QMGR_JOB *job = dp->job;
    QMGR_MESSAGE *msg = job->msg;
    DELIVER_REQUEST req;
    const char *error;
    const char *v;
    int rc;

    (void) event, (void) fd;
    if (attr_expect_hello(dp->sp, DELIVER_PROTO, DELIVER_VERSION, &error) < 0) {
	qmgr_deliver_lost(dp, error);
	return;
    }
    memset(&req, 0, sizeof(req));
    req.queue_name = MAIL_QUEUE_ACTIVE;
    req.queue_id = msg->id;
    req.transport = job->transport->name;
    req.nexthop = job->nexthop;
    req.sender = msg->qf->sender;
    req.envid = (char *) ((v = qfile_attr(msg->qf, QFILE_ATTR_DSN_ENVID)) ? v : "");
    v = qfile_attr(msg->qf, QFILE_ATTR_DSN_RET);
    req.ret = v == NULL ? 0 : strcasecmp(v, "FULL") == 0 ? 1 : strcasecmp(v, "HDRS") == 0 ? 2 : 0;
    req.flags = msg->is_bounce ? DEL_REQ_FLAG_BOUNCE : 0;
    if (msg->is_verify)
	req.flags |= DEL_REQ_FLAG_VERIFY;
    if ((v = qfile_attr(msg->qf, QFILE_ATTR_BODY)) && strcasecmp(v, "8BITMIME") == 0)
	req.flags |= DEL_REQ_FLAG_8BIT;
    if ((v = qfile_attr(msg->qf, QFILE_ATTR_SMTPUTF8)) && strcasecmp(v, "yes") == 0)
	req.flags |= DEL_REQ_FLAG_SMTPUTF8;
    req.arrival_sec = msg->qf->arrival_sec;
    req.arrival_usec = msg->qf->arrival_usec;
    req.qmgr_sec = msg->qmgr_sec;
    req.qmgr_usec = msg->qmgr_usec;
    req.client_name = (char *) ((v = qfile_attr(msg->qf, QFILE_ATTR_CLIENT_NAME)) ? v : "");
    req.client_addr = (char *) ((v = qfile_attr(msg->qf, QFILE_ATTR_CLIENT_ADDR)) ? v : "");
    req.rcpt_count = job->rcpt_count;
    req.rcpts = mycalloc((size_t) job->rcpt_count, sizeof(*req.rcpts));
    for (int i = 0; i < job->rcpt_count; i++) {
	QFILE_RCPT *fr = msg->qf->rcpts + job->rcpt_index[i];
	const char *orig = fr->orcpt;

	req.rcpts[i].index = fr->index;
	req.rcpts[i].address = fr->address;
	/* ORCPT "rfc822;addr" carries the pre-expansion address (cleanup_rcpt). */
	if (strncasecmp(orig, "rfc822;", 7) == 0)
	    orig += 7;
	req.rcpts[i].orig_address = (char *) (strcasecmp(orig, fr->address) == 0 ? "" : orig);
	req.rcpts[i].orcpt = fr->orcpt;
	req.rcpts[i].notify = fr->notify;
    }
    rc = deliver_request_send(dp->sp, &req);
    if (rc == 0)
	rc = stream_flush(dp->sp);
    myfree(req.rcpts);
    if (rc < 0) {
	qmgr_deliver_lost(dp, "cannot send the request");
	return;
    }
    event_enable_read(dp->fd, qmgr_deliver_result_event, dp);
}

/* qmgr_deliver_unavailable - report a failed connect (from a timer) */
static void qmgr_deliver_unavailable(int event, int fd, void *ctx)
{
    QMGR_DELIVERY *dp = ctx;

    (void) event, (void) fd;
    dp->timer = 0;
    qmgr_deliver_finish(dp, dp->fail_reason);
}

/* qmgr_deliver_start - connect to the agent of job's transport */
void qmgr_deliver_start(QMGR_JOB *job)
{
    QMGR_DELIVERY *dp = mycalloc(1, sizeof(*dp));
    struct sockaddr_un sun;
    VSTRING *path = vstring_alloc(100);

    dp->job = job;
    dp->fd = -1;
    dp->got = mycalloc((size_t) job->rcpt_count, sizeof(bool));
    vstring_fmt(path, "%s/%s/%s", mail_queue_root(), MAIL_QUEUE_PRIVATE, job->transport->name);
    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    if (LEN(path) >= sizeof(sun.sun_path)) {
	errno = ENAMETOOLONG;
	goto fail;
    }
    memcpy(sun.sun_path, STR(path), LEN(path) + 1);
    if ((dp->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
	goto fail;
    if (connect(dp->fd, (struct sockaddr *) &sun, sizeof(sun)) < 0)
	goto fail;
    dp->sp = stream_fdopen(dp->fd, true);
    stream_set_timeout(dp->sp, (int) var_ipc_timeout);
    event_enable_read(dp->fd, qmgr_deliver_hello_event, dp);
    dp->timer = event_timer_add((int) var_ipc_timeout * 1000, qmgr_deliver_timeout, dp);
    vstring_free(&path);
    return;

fail:
    msg_warn("connect to transport %s/%s: %m", MAIL_QUEUE_PRIVATE, job->transport->name);
    if (dp->fd >= 0)
	close(dp->fd);
    dp->fd = -1;
    dp->fail_reason = mystrdup("mail transport unavailable");
    dp->timer = event_timer_add(0, qmgr_deliver_unavailable, dp);
    vstring_free(&path);
}
