/* qmgr.h - the queue manager's internal interfaces (qmgr/ only).
 *
 * Objects:
 *   QMGR_MESSAGE   one message in active/, its queue file open read-write,
 *                  its recipients with their resolved transport:nexthop
 *                  and this run's results.
 *   QMGR_TRANSPORT one transport (master.cf service): process limit
 *                  (maxproc), destination concurrency and recipient limits,
 *                  a FIFO of jobs waiting to run, per-destination counts.
 *   QMGR_JOB       one delivery request: recipients of one message for one
 *                  transport:nexthop, at most the recipient limit.
 *
 * Life of a message: qmgr_scan moves it incoming|deferred -> active and
 * calls qmgr_message_activate; qmgr_sched groups its recipients into jobs
 * and runs them (qmgr_deliver talks to the agent); each job's results are
 * recorded (qmgr_message_job_done); when the last job ends,
 * qmgr_message_finish removes the file, bounces (qmgr_bounce) and/or moves
 * it to deferred/ (qmgr_defer).
 *
 * Verify-only messages (queue file attribute verify=yes, sendmail -bv):
 * every request carries DEL_REQ_FLAG_VERIFY; only the local and virtual
 * agents are asked (they look the address up and deliver nothing), a
 * recipient routed to any other transport is answered by qmgr itself
 * ("deliverable via TRANSPORT") so an agent that ignores the flag never
 * delivers; when the last job ends qmgr_bounce_verify sends ONE report
 * to the sender and the message is removed (deferred results count as
 * undeliverable; nothing is retried unless the report itself failed).
 */
#ifndef QMGR_H
#define QMGR_H

#include "sys_defs.h"
#include "htable.h"
#include "qfile.h"
#include "stream.h"
#include "vstring.h"

typedef struct qmgr_message QMGR_MESSAGE;
typedef struct qmgr_transport QMGR_TRANSPORT;
typedef struct qmgr_job QMGR_JOB;
typedef struct qmgr_dest QMGR_DEST;

/* Per-recipient state for this run. */
#define QMGR_RCPT_TODO     0	/* not yet tried in this run */
#define QMGR_RCPT_SENT     1	/* delivered (or discarded) */
#define QMGR_RCPT_DEFER    2	/* try again later */
#define QMGR_RCPT_BOUNCE   3	/* failed permanently */
#define QMGR_RCPT_SKIP     4	/* not pending in the file (D or F already) */

typedef struct qmgr_rcpt {
    int     state;		/* QMGR_RCPT_* */
    char   *transport;		/* resolved */
    char   *nexthop;
    char    dsn[16];		/* result status */
    char   *reason;		/* result text */
    bool    marked;		/* status byte written this run */
} QMGR_RCPT;

struct qmgr_message {
    char    id[QUEUE_ID_MAX];
    QFILE  *qf;			/* open read-write */
    QMGR_RCPT *rcpts;		/* qf->rcpt_count entries */
    int     jobs_left;		/* jobs not yet finished */
    long    qmgr_sec, qmgr_usec;/* when activated */
    bool    is_bounce;		/* null sender */
    bool    warned;		/* delay warning already sent */
    bool    is_verify;		/* sendmail -bv: verify, report, never deliver */
};

struct qmgr_job {
    QMGR_JOB *next;		/* destination FIFO */
    QMGR_MESSAGE *msg;
    QMGR_TRANSPORT *transport;
    QMGR_DEST *dest;		/* concurrency unit */
    char   *nexthop;
    int    *rcpt_index;		/* indexes into msg->rcpts */
    int     rcpt_count;
};

/* A destination: nexthop, or the recipient when the recipient limit is 1.
 * It sits on its transport's ready ring while it has waiting jobs and is
 * under its concurrency limit; it is freed when idle and empty. */
struct qmgr_dest {
    char   *name;
    QMGR_TRANSPORT *transport;
    int     active;			/* deliveries running */
    QMGR_JOB *head, *tail;	/* waiting jobs */
    QMGR_DEST *ready_next;	/* ready ring (round robin) */
    bool    ready;
};

struct qmgr_transport {
    char   *name;
    int     proc_limit;		/* master.cf maxproc */
    int     dest_limit;		/* per destination */
    int     rcpt_limit;		/* per request */
    int     active;			/* deliveries running */
    HTABLE *dests;		/* name -> QMGR_DEST */
    QMGR_DEST *ready_head, *ready_tail;
    char   *unavailable;		/* reason when it cannot be used, or NULL */
};

/* qmgr.c */
extern int qmgr_active_count;		/* messages in memory */
void    qmgr_kick(void);		/* run a queue scan soon */

/* qmgr_scan.c */
void    qmgr_scan_recover(void);	/* startup: active/ then incoming/ */
void    qmgr_scan_incoming(void);
void    qmgr_scan_deferred(bool force);
/* qmgr_scan_activate - open id (already in active/) and schedule it */
void    qmgr_scan_activate(const char *id);

/* qmgr_sched.c */
QMGR_TRANSPORT *qmgr_transport_find(const char *name);
void    qmgr_sched_message(QMGR_MESSAGE *msg);
void    qmgr_sched_run(void);
void    qmgr_sched_job_done(QMGR_JOB *job);
void    qmgr_sched_reset(void);

/* qmgr_deliver.c */
void    qmgr_deliver_start(QMGR_JOB *job);

/* qmgr_message (in qmgr_sched.c) */
/* mta: the remote MTA that gave the result (DSN Remote-MTA), NULL: none */
void    qmgr_message_result(QMGR_MESSAGE *msg, int index, int state, const char *dsn,
			    const char *reason, const char *mta);
void    qmgr_message_job_done(QMGR_MESSAGE *msg);
void    qmgr_message_free(QMGR_MESSAGE **msgp);

/* qmgr_defer.c */
void    qmgr_defer_message(QMGR_MESSAGE *msg);
bool    qmgr_defer_warned(const char *id);

/* qmgr_bounce.c */
/* qmgr_bounce_send - queue a notice of kind (dsn_report.h) about the
 * listed recipients of msg; 0 or -1 (logged) */
int     qmgr_bounce_send(QMGR_MESSAGE *msg, int kind, const int *indexes, int count);
/* qmgr_bounce_failed - send the failure DSN owed for F recipients (their
 * reasons are in bounce/ID); 0 when done (or nothing owed), -1 on error */
int     qmgr_bounce_failed(QMGR_MESSAGE *msg);
/* qmgr_bounce_verify - the "Mail Delivery Status Report" of a verify-only
 * message: every recipient with a result this run, deliverable or
 * undeliverable; 0 when queued (or nobody gets it), -1 on error */
int     qmgr_bounce_verify(QMGR_MESSAGE *msg);

#endif
