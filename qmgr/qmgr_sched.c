/* qmgr_sched - transports, delivery requests and per-message bookkeeping.
 *
 * Contract: qmgr_sched_message() resolves each pending recipient of a
 * freshly activated message, answers what needs no agent at once (bad
 * syntax, resolver failure, the error/discard/retry transports, unknown
 * transports) and queues one job per transport:nexthop and recipient-limit
 * chunk. Jobs wait in per-destination FIFOs; destinations that have jobs
 * and are under their concurrency limit sit on the transport's ready ring.
 * qmgr_sched_run() starts jobs while the transport is under its process
 * limit (master.cf maxproc), one per destination in turn (round robin), so
 * one busy destination neither blocks nor starves the others, and every
 * scheduling step is O(1) however long the queues are.
 *
 * Results: qmgr_message_result() records a recipient's outcome (and the
 * defer/ or bounce/ log entry); when a job ends, the recipients it
 * finished are marked D/F in the queue file with one fdatasync, unless it
 * was the message's last job: then qmgr_message_finish decides at once
 * (remove the file without marking when every recipient is done, bounce,
 * defer).
 *
 * Transports are looked up once (master.cf is read at the first lookup;
 * qmgr_sched_reset forgets them).
 */
#include "sys_defs.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "backoff.h"
#include "config.h"
#include "dsn_report.h"
#include "mail_queue.h"
#include "mastercf.h"
#include "msg.h"
#include "mymalloc.h"
#include "resolve.h"

#include "qmgr.h"

#define QMGR_PROC_LIMIT_MAX 1000	/* maxproc 0 ("no limit") */

static HTABLE *qmgr_transports;
static MASTER_TABLE *qmgr_master_table;
static bool qmgr_master_read;

/* qmgr_sched_limit - <transport>_<suffix> or the default parameter */
static int qmgr_sched_limit(const char *transport, const char *suffix, long def)
{
    VSTRING *name = vstring_alloc(100);
    const char *value;
    char   *end;
    long    n;

    vstring_fmt(name, "%s_%s", transport, suffix);
    value = config_lookup(STR(name));
    if (value && *value) {
	n = strtol(value, &end, 10);
	if (*end == 0 && n > 0)
	    def = n;
	else
	    msg_warn("bad %s value \"%s\": using %ld", STR(name), value, def);
    }
    vstring_free(&name);
    return (int) def;
}

/* qmgr_transport_find - the transport by name, created on first use */
QMGR_TRANSPORT *qmgr_transport_find(const char *name)
{
    QMGR_TRANSPORT *tp;
    MASTER_ENTRY *ent;
    const char *error;

    if (qmgr_transports == NULL)
	qmgr_transports = htable_create(10);
    if ((tp = htable_find(qmgr_transports, name)) != NULL)
	return tp;
    if (!qmgr_master_read) {
	qmgr_master_read = true;
	if ((qmgr_master_table = mastercf_read_flags(config_master_cf(), MASTERCF_FLAG_QUIET,
						     &error)) == NULL)
	    msg_warn("%s", error);
    }
    tp = mycalloc(1, sizeof(*tp));
    tp->name = mystrdup(name);
    tp->dests = htable_create(10);
    ent = qmgr_master_table ? mastercf_find(qmgr_master_table, name, "unix") : NULL;
    if (ent == NULL) {
	tp->unavailable = mystrdup("mail transport unavailable");
	msg_warn("connect to transport private/%s: no such service in %s", name,
		 config_master_cf());
    } else {
	tp->proc_limit = ent->maxproc < 0 ? (int) var_default_process_limit
	    : ent->maxproc == 0 ? QMGR_PROC_LIMIT_MAX : ent->maxproc;
    }
    tp->dest_limit = qmgr_sched_limit(name, "destination_concurrency_limit",
				      var_default_destination_concurrency_limit);
    tp->rcpt_limit = qmgr_sched_limit(name, "destination_recipient_limit",
				      var_default_destination_recipient_limit);
    htable_enter(qmgr_transports, name, tp);
    return tp;
}

/* qmgr_sched_reset - forget transports (configuration reload) */
void qmgr_sched_reset(void)
{
    qmgr_master_read = false;
    mastercf_free(&qmgr_master_table);
}

/* qmgr_message_log - a status line for a result qmgr produced itself */
static void qmgr_message_log(QMGR_MESSAGE *msg, int index, const char *status,
			     const char *dsn, const char *reason)
{
    struct timespec ts;
    double delay;

    clock_gettime(CLOCK_REALTIME, &ts);
    delay = (double) (ts.tv_sec - msg->qf->arrival_sec)
	+ (double) (ts.tv_nsec / 1000 - msg->qf->arrival_usec) / 1e6;
    if (delay < 0)
	delay = 0;
    msg_info("%s: to=<%s>, relay=none, delay=%.2g, dsn=%s, status=%s (%s)", msg->id,
	     msg->qf->rcpts[index].address, delay, dsn, status, reason);
}

/* qmgr_message_result - record the outcome of one recipient */
void qmgr_message_result(QMGR_MESSAGE *msg, int index, int state, const char *dsn,
			 const char *reason, const char *mta)
{
    QMGR_RCPT *rp = msg->rcpts + index;
    QFILE_RCPT *fr = msg->qf->rcpts + index;
    QFILE_LOG_ENTRY ent;
    const char *error;

    rp->state = state;
    ph_strlcpy(rp->dsn, dsn, sizeof(rp->dsn));
    myfree(rp->reason);
    rp->reason = mystrdup(reason);
    if (state != QMGR_RCPT_DEFER && state != QMGR_RCPT_BOUNCE)
	return;
    memset(&ent, 0, sizeof(ent));
    ent.time = (long) time(NULL);
    ent.rcpt_index = index;
    ent.dsn_status = dsn;
    ent.action = state == QMGR_RCPT_DEFER ? "delayed" : "failed";
    ent.address = fr->address;
    ent.orcpt = fr->orcpt;
    ent.mta = mta ? mta : "";
    ent.reason = reason;
    if (qfile_log_append(state == QMGR_RCPT_DEFER ? MAIL_QUEUE_DEFER : MAIL_QUEUE_BOUNCE,
			 msg->id, &ent, state == QMGR_RCPT_BOUNCE, &error) < 0)
	msg_warn("%s: %s", msg->id, error);
}

/* qmgr_message_local_result - a result qmgr decides without an agent */
static void qmgr_message_local_result(QMGR_MESSAGE *msg, int index, int state,
				      const char *dsn, const char *reason)
{
    if (msg->is_verify)
	qmgr_message_log(msg, index, state == QMGR_RCPT_SENT ? "deliverable" : "undeliverable",
			 dsn, reason);
    else
	qmgr_message_log(msg, index, state == QMGR_RCPT_SENT ? "sent" :
			 state == QMGR_RCPT_DEFER ? "deferred" : "bounced", dsn, reason);
    qmgr_message_result(msg, index, state, dsn, reason, NULL);
}

/* qmgr_message_mark - write D/F for recipients finished this run; one sync */
static int qmgr_message_mark(QMGR_MESSAGE *msg)
{
    const char *error;
    bool changed = false;

    for (int i = 0; i < msg->qf->rcpt_count; i++) {
	QMGR_RCPT *rp = msg->rcpts + i;
	int status;

	if (rp->marked || (rp->state != QMGR_RCPT_SENT && rp->state != QMGR_RCPT_BOUNCE))
	    continue;
	status = rp->state == QMGR_RCPT_SENT ? QFILE_RCPT_DONE : QFILE_RCPT_FAILED;
	if (qfile_rcpt_set_status(msg->qf, i, status, false, &error) < 0) {
	    msg_warn("%s: %s", msg->id, error);
	    return -1;
	}
	msg->qf->rcpts[i].status = status;
	rp->marked = changed = true;
    }
    if (changed && qfile_sync(msg->qf, &error) < 0) {
	msg_warn("%s: %s", msg->id, error);
	return -1;
    }
    return 0;
}

/* qmgr_message_success_dsn - "delivered" notices for NOTIFY=SUCCESS */
static void qmgr_message_success_dsn(QMGR_MESSAGE *msg)
{
    int *idx = mymalloc(sizeof(int) * (size_t) (msg->qf->rcpt_count + 1));
    int n = 0;

    for (int i = 0; i < msg->qf->rcpt_count; i++)
	if (msg->rcpts[i].state == QMGR_RCPT_SENT
	    && (msg->qf->rcpts[i].notify & QFILE_NOTIFY_SUCCESS))
	    idx[n++] = i;
    if (n > 0 && !msg->is_bounce)
	(void) qmgr_bounce_send(msg, DSN_KIND_SUCCESS, idx, n);
    myfree(idx);
}

/* qmgr_message_remove - the message is finished: unlink it */
static void qmgr_message_remove(QMGR_MESSAGE **msgp)
{
    QMGR_MESSAGE *msg = *msgp;
    const char *error;

    if (mail_queue_remove_all(MAIL_QUEUE_ACTIVE, msg->id, &error) < 0)
	msg_warn("%s: %s", msg->id, error);
    else
	msg_info("%s: removed", msg->id);
    qmgr_message_free(msgp);
}

/* qmgr_message_finish - every job is done: remove, bounce or defer */
static void qmgr_message_finish(QMGR_MESSAGE *msg)
{
    int deferred = 0, failed = 0;
    long now = (long) time(NULL);
    long lifetime = msg->is_bounce ? var_bounce_queue_lifetime : var_maximal_queue_lifetime;

    /* Verify only: one report, then the message goes (kept when the
     * report could not be queued: retried later, verified again). */
    if (msg->is_verify) {
	if (qmgr_bounce_verify(msg) == 0)
	    qmgr_message_remove(&msg);
	else
	    qmgr_defer_message(msg);
	return;
    }

    for (int i = 0; i < msg->qf->rcpt_count; i++) {
	if (msg->rcpts[i].state == QMGR_RCPT_DEFER)
	    deferred++;
	else if (msg->rcpts[i].state == QMGR_RCPT_BOUNCE
		 || (msg->rcpts[i].state == QMGR_RCPT_SKIP
		     && msg->qf->rcpts[i].status == QFILE_RCPT_FAILED))
	    failed++;
    }

    /* Too old: what is still deferred fails now, with its last reason. */
    if (deferred > 0 && backoff_expired(msg->qf->arrival_sec, now, lifetime)) {
	msg_info("%s: from=<%s>, status=expired, returned to sender", msg->id, msg->qf->sender);
	for (int i = 0; i < msg->qf->rcpt_count; i++) {
	    QMGR_RCPT *rp = msg->rcpts + i;

	    if (rp->state != QMGR_RCPT_DEFER)
		continue;
	    char   *reason = mystrdup(rp->reason ? rp->reason : "delivery time expired");
	    char    dsn[16];

	    ph_strlcpy(dsn, rp->dsn[0] ? rp->dsn : "4.4.7", sizeof(dsn));
	    qmgr_message_result(msg, i, QMGR_RCPT_BOUNCE, dsn, reason, NULL);
	    myfree(reason);
	    deferred--;
	    failed++;
	}
    }

    if (deferred == 0 && failed == 0) {
	qmgr_message_success_dsn(msg);
	qmgr_message_remove(&msg);
	return;
    }
    if (deferred == 0) {
	/* Failures only: the DSN is durable before the original goes. */
	if (qmgr_bounce_failed(msg) == 0) {
	    qmgr_message_success_dsn(msg);
	    qmgr_message_remove(&msg);
	    return;
	}
	(void) qmgr_message_mark(msg);
	qmgr_defer_message(msg);
	return;
    }
    /* Some recipients remain: record progress, bounce now what failed. */
    if (qmgr_message_mark(msg) == 0 && failed > 0 && qmgr_bounce_failed(msg) == 0) {
	const char *error;

	for (int i = 0; i < msg->qf->rcpt_count; i++)
	    if (msg->qf->rcpts[i].status == QFILE_RCPT_FAILED) {
		if (qfile_rcpt_set_status(msg->qf, i, QFILE_RCPT_DONE, false, &error) < 0)
		    msg_warn("%s: %s", msg->id, error);
		msg->qf->rcpts[i].status = QFILE_RCPT_DONE;
	    }
	if (qfile_sync(msg->qf, &error) < 0)
	    msg_warn("%s: %s", msg->id, error);
    }
    qmgr_message_success_dsn(msg);
    qmgr_defer_message(msg);
}

/* qmgr_message_job_done - one job of msg ended */
void qmgr_message_job_done(QMGR_MESSAGE *msg)
{
    if (--msg->jobs_left > 0) {
	if (!msg->is_verify)			/* verify: nothing is recorded */
	    (void) qmgr_message_mark(msg);
	return;
    }
    qmgr_message_finish(msg);
}

/* qmgr_sched_dest - the destination by name, created on first use */
static QMGR_DEST *qmgr_sched_dest(QMGR_TRANSPORT *tp, const char *name)
{
    QMGR_DEST *dp;

    if ((dp = htable_find(tp->dests, name)) == NULL) {
	dp = mycalloc(1, sizeof(*dp));
	dp->name = mystrdup(name);
	dp->transport = tp;
	htable_enter(tp->dests, name, dp);
    }
    return dp;
}

/* qmgr_sched_ready - put a destination on the ready ring when it can run */
static void qmgr_sched_ready(QMGR_DEST *dp)
{
    QMGR_TRANSPORT *tp = dp->transport;

    if (dp->ready || dp->head == NULL || dp->active >= tp->dest_limit)
	return;
    dp->ready = true;
    dp->ready_next = NULL;
    if (tp->ready_tail)
	tp->ready_tail->ready_next = dp;
    else
	tp->ready_head = dp;
    tp->ready_tail = dp;
}

/* qmgr_sched_idle - free a destination with nothing running or waiting */
static void qmgr_sched_idle(QMGR_DEST *dp)
{
    if (dp->active > 0 || dp->head || dp->ready)
	return;
    htable_delete(dp->transport->dests, dp->name, NULL);
    myfree(dp->name);
    myfree(dp);
}

/* qmgr_sched_enqueue - append a job to its destination's FIFO */
static void qmgr_sched_enqueue(QMGR_JOB *job)
{
    QMGR_DEST *dp = job->dest;

    job->next = NULL;
    if (dp->tail)
	dp->tail->next = job;
    else
	dp->head = job;
    dp->tail = job;
    qmgr_sched_ready(dp);
}

/* qmgr_sched_message - resolve and queue the recipients of msg */
void qmgr_sched_message(QMGR_MESSAGE *msg)
{
    RESOLVE_REPLY *reply = resolve_reply_alloc();
    HTABLE *open_jobs = htable_create(10);
    VSTRING *key = vstring_alloc(100);
    QMGR_JOB *jobs = NULL;
    QMGR_JOB *job;

    for (int i = 0; i < msg->qf->rcpt_count; i++) {
	QMGR_RCPT *rp = msg->rcpts + i;
	const char *addr = msg->qf->rcpts[i].address;
	QMGR_TRANSPORT *tp;

	if (rp->state != QMGR_RCPT_TODO)
	    continue;
	resolve_addr(addr, reply);
	if (reply->flags & RESOLVE_FLAG_ERROR) {
	    qmgr_message_local_result(msg, i, QMGR_RCPT_BOUNCE, "5.1.3", "bad address syntax");
	    continue;
	}
	if (reply->flags & RESOLVE_FLAG_FAIL) {
	    qmgr_message_local_result(msg, i, QMGR_RCPT_DEFER, "4.3.0", "address resolver failure");
	    continue;
	}
	if (strcmp(STR(reply->transport), "error") == 0) {
	    qmgr_message_local_result(msg, i, QMGR_RCPT_BOUNCE, "5.0.0",
				      *STR(reply->nexthop) ? STR(reply->nexthop) : "delivery failed");
	    continue;
	}
	if (strcmp(STR(reply->transport), "retry") == 0) {
	    qmgr_message_local_result(msg, i, QMGR_RCPT_DEFER, "4.0.0",
				      *STR(reply->nexthop) ? STR(reply->nexthop) : "try again later");
	    continue;
	}
	if (strcmp(STR(reply->transport), "discard") == 0) {
	    qmgr_message_local_result(msg, i, QMGR_RCPT_SENT, "2.0.0",
				      *STR(reply->nexthop) ? STR(reply->nexthop) : "discarded");
	    continue;
	}
	tp = qmgr_transport_find(STR(reply->transport));
	if (tp->unavailable) {
	    qmgr_message_local_result(msg, i, QMGR_RCPT_DEFER, "4.3.0", tp->unavailable);
	    continue;
	}
	/* Verify: only local and virtual understand the probe flag. */
	if (msg->is_verify && strcmp(tp->name, "local") != 0
	    && strcmp(tp->name, "virtual") != 0) {
	    vstring_fmt(key, "deliverable via %s", tp->name);
	    qmgr_message_local_result(msg, i, QMGR_RCPT_SENT, "2.0.0", STR(key));
	    continue;
	}
	rp->transport = mystrdup(tp->name);
	rp->nexthop = mystrdup(STR(reply->nexthop));
	/* With one recipient per request, the recipient is the destination. */
	if (tp->rcpt_limit == 1)
	    vstring_fmt(key, "%s:%s", tp->name, STR(reply->recipient));
	else
	    vstring_fmt(key, "%s:%s", tp->name, STR(reply->nexthop));
	job = htable_find(open_jobs, STR(key));
	if (job == NULL || job->rcpt_count >= tp->rcpt_limit) {
	    job = mycalloc(1, sizeof(*job));
	    job->msg = msg;
	    job->transport = tp;
	    job->nexthop = mystrdup(STR(reply->nexthop));
	    job->dest = qmgr_sched_dest(tp, strchr(STR(key), ':') + 1);
	    job->rcpt_index = mymalloc(sizeof(int) * (size_t) tp->rcpt_limit);
	    job->next = jobs;			/* temporary list, reversed below */
	    jobs = job;
	    htable_enter(open_jobs, STR(key), job);
	    msg->jobs_left++;
	}
	job->rcpt_index[job->rcpt_count++] = i;
    }
    htable_free(&open_jobs, NULL);
    vstring_free(&key);
    resolve_reply_free(&reply);

    if (msg->jobs_left == 0) {
	qmgr_message_finish(msg);
	return;
    }
    /* Queue in recipient order. */
    QMGR_JOB *rev = NULL;

    while (jobs) {
	job = jobs;
	jobs = job->next;
	job->next = rev;
	rev = job;
    }
    while (rev) {
	job = rev;
	rev = job->next;
	qmgr_sched_enqueue(job);
    }
    qmgr_sched_run();
}

/* qmgr_sched_run - start what the limits allow: per transport, take one
 * job from the destination at the head of the ready ring, then move that
 * destination to the tail (round robin between destinations) */
void qmgr_sched_run(void)
{
    HTABLE_ENTRY **list;

    if (qmgr_transports == NULL)
	return;
    list = htable_list(qmgr_transports);
    for (HTABLE_ENTRY **ep = list; *ep; ep++) {
	QMGR_TRANSPORT *tp = (*ep)->value;

	while (tp->active < tp->proc_limit && tp->ready_head) {
	    QMGR_DEST *dp = tp->ready_head;
	    QMGR_JOB *job = dp->head;

	    tp->ready_head = dp->ready_next;
	    if (tp->ready_head == NULL)
		tp->ready_tail = NULL;
	    dp->ready = false;
	    dp->head = job->next;
	    if (dp->head == NULL)
		dp->tail = NULL;
	    job->next = NULL;
	    tp->active++;
	    dp->active++;
	    qmgr_sched_ready(dp);
	    qmgr_deliver_start(job);
	}
    }
    myfree(list);
}

/* qmgr_sched_job_done - a delivery ended: account, record, start more */
void qmgr_sched_job_done(QMGR_JOB *job)
{
    QMGR_TRANSPORT *tp = job->transport;
    QMGR_DEST *dp = job->dest;

    tp->active--;
    dp->active--;
    qmgr_sched_ready(dp);
    qmgr_sched_idle(dp);
    qmgr_message_job_done(job->msg);
    myfree(job->nexthop);
    myfree(job->rcpt_index);
    myfree(job);
    qmgr_sched_run();
}
