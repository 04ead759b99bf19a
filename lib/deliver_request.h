/* deliver_request.h - the qmgr <-> delivery agent protocol.
 *
 * qmgr connects to a transport's socket (private/local, private/smtp,
 * private/lmtp, private/virtual ...), reads the agent's hello
 * (proto=delivery, version=1, lib/attr.h) and sends one request:
 *
 *   message 1 (the envelope, attr_print order exactly):
 *     request=deliver, queue_name, queue_id, transport, nexthop, sender,
 *     envid, ret (0 none, 1 full, 2 hdrs), flags (DEL_REQ_FLAG_*),
 *     arrival_sec, arrival_usec, qmgr_sec, qmgr_usec (when qmgr picked it
 *     up: for the delays= a/b split), client_name, client_addr,
 *     rcpt_count
 *   then rcpt_count messages, one per recipient:
 *     rcpt_index (position in the queue file), address, orig_address
 *     (before alias/virtual expansion; "" when the same), orcpt (DSN
 *     ORCPT or ""), notify (DSN NOTIFY bits, lib/qfile.h's values)
 *
 * The agent opens the queue file itself (read-only: queue_directory/
 * queue_name/<hashed>/queue_id), delivers, LOGS each recipient's result in
 * Postfix's shape (deliver_log below), and answers with one message per
 * recipient, in any order:
 *     rcpt_index, status (DEL_STAT_*), dsn ("2.0.0", "4.2.2", "5.1.1"...),
 *     reason (the text after status=..., e.g. "delivered to maildir")
 * then a final message: done=N (the number of results sent).
 * qmgr alone updates the queue file (marks recipients done, records
 * defer/bounce reasons, removes the file): agents never write to it.
 * An agent that dies mid-request leaves the message untouched in the
 * queue: it is deferred and retried (at least once, never lost).
 */
#ifndef DELIVER_REQUEST_H
#define DELIVER_REQUEST_H

#include "sys_defs.h"
#include "stream.h"
#include "vstring.h"

#define DELIVER_PROTO "delivery"
#define DELIVER_VERSION 1

#define DEL_REQ_FLAG_BOUNCE   (1 << 0)	/* this message is a bounce: never bounce it */
#define DEL_REQ_FLAG_8BIT     (1 << 1)	/* BODY=8BITMIME */
#define DEL_REQ_FLAG_SMTPUTF8 (1 << 2)	/* SMTPUTF8 */
#define DEL_REQ_FLAG_VERIFY   (1 << 3)	/* address probe: do not deliver */

#define DEL_STAT_SENT     0	/* delivered (2.x.x) */
#define DEL_STAT_DEFER    1	/* try again later (4.x.x) */
#define DEL_STAT_BOUNCE   2	/* permanent failure (5.x.x) */
#define DEL_STAT_DISCARD  3	/* dropped by policy, counts as delivered */

typedef struct deliver_rcpt {
    long    index;		/* recipient position in the queue file */
    char   *address;
    char   *orig_address;
    char   *orcpt;
    int     notify;
} DELIVER_RCPT;

typedef struct deliver_request {
    char   *queue_name;
    char   *queue_id;
    char   *transport;
    char   *nexthop;
    char   *sender;
    char   *envid;
    int     ret;
    int     flags;
    long    arrival_sec, arrival_usec;
    long    qmgr_sec, qmgr_usec;
    char   *client_name;
    char   *client_addr;
    DELIVER_RCPT *rcpts;
    int     rcpt_count;
    int64_t agent_start_us;	/* set by deliver_request_read (monotonic-free wall clock, us) */
} DELIVER_REQUEST;

typedef struct deliver_result {
    long    rcpt_index;
    int     status;		/* DEL_STAT_* */
    char    dsn[16];
    VSTRING *reason;
    char    mta[256];		/* remote MTA host name ("" when none) */
} DELIVER_RESULT;

/* deliver_request_send - qmgr side: send request (after checking hello); 0 or -1 */
int deliver_request_send(STREAM *sp, const DELIVER_REQUEST *req);
/* deliver_request_read - agent side: read one request; 1 ok, 0 EOF, -1 error
 * (*error_r says what was malformed). Caller frees with deliver_request_free. */
int deliver_request_read(STREAM *sp, DELIVER_REQUEST *req, const char **error_r);
/* deliver_request_accept - agent side of one qmgr connection: set the IPC
 * timeout, send the hello, read the request; 1 with *req filled, or 0
 * (EOF or a malformed request, which is logged; *req is freed) */
int deliver_request_accept(STREAM *sp, int timeout, DELIVER_REQUEST *req);
/* deliver_request_free - release the fields (not the struct itself) */
void deliver_request_free(DELIVER_REQUEST *req);

/* deliver_result_send - agent side: one recipient's result; 0 or -1 */
int deliver_result_send(STREAM *sp, long rcpt_index, int status, const char *dsn, const char *reason);
/* deliver_result_send_mta - the same with the remote MTA that gave the
 * result (a host name, for the DSN's Remote-MTA; NULL or "" for none) */
int deliver_result_send_mta(STREAM *sp, long rcpt_index, int status, const char *dsn,
			    const char *reason, const char *mta);
/* deliver_done_send - agent side: the final message; 0 or -1 */
int deliver_done_send(STREAM *sp, int count);
/* deliver_result_read - qmgr side: 1 = a result in *res, 0 = the done
 * message (count in *done_r), -1 = error/EOF */
int deliver_result_read(STREAM *sp, DELIVER_RESULT *res, int *done_r, const char **error_r);

/* deliver_log - the Postfix status line of one recipient:
 * "ID: to=<a>, orig_to=<b>, relay=R, delay=D, delays=a/b/c/d, dsn=X,
 *  status=sent|deferred|bounced (reason)"; for an address probe
 * (DEL_REQ_FLAG_VERIFY) status=deliverable|undeliverable
 * conn_us is when the agent started talking to the next hop (delays c/d
 * split); pass 0 when there is no connection phase. */
void deliver_log(const DELIVER_REQUEST *req, const DELIVER_RCPT *rcpt, const char *relay,
		 int64_t conn_us, int status, const char *dsn, const char *reason);

/* deliver_format_delay - append secs in Postfix's delay= format */
void deliver_format_delay(VSTRING *buf, double secs);

/* deliver_status_name - "sent", "deferred", "bounced", "discarded" */
const char *deliver_status_name(int status);

#endif
