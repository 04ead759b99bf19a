/* deliver_request - the qmgr <-> delivery agent protocol (see the header).
 *
 * Thin layer over lib/attr.c: the field order here IS the protocol. Limits:
 * DELIVER_MAX_RCPT recipients per request (qmgr sends fewer, per
 * *_destination_recipient_limit); a larger count is a protocol error.
 */
#include "sys_defs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "attr.h"
#include "deliver_request.h"
#include "msg.h"
#include "mymalloc.h"
#include "vstring.h"

#define DELIVER_MAX_RCPT 100000

/* deliver_request_send - qmgr side */
int deliver_request_send(STREAM *sp, const DELIVER_REQUEST *req)
{
    if (attr_print(sp,
		   ATTR_STR, "request", "deliver",
		   ATTR_STR, "queue_name", req->queue_name,
		   ATTR_STR, "queue_id", req->queue_id,
		   ATTR_STR, "transport", req->transport,
		   ATTR_STR, "nexthop", req->nexthop,
		   ATTR_STR, "sender", req->sender,
		   ATTR_STR, "envid", req->envid ? req->envid : "",
		   ATTR_INT, "ret", (long) req->ret,
		   ATTR_INT, "flags", (long) req->flags,
		   ATTR_INT, "arrival_sec", req->arrival_sec,
		   ATTR_INT, "arrival_usec", req->arrival_usec,
		   ATTR_INT, "qmgr_sec", req->qmgr_sec,
		   ATTR_INT, "qmgr_usec", req->qmgr_usec,
		   ATTR_STR, "client_name", req->client_name ? req->client_name : "",
		   ATTR_STR, "client_addr", req->client_addr ? req->client_addr : "",
		   ATTR_INT, "rcpt_count", (long) req->rcpt_count,
		   ATTR_END) < 0)
	return -1;
    for (int i = 0; i < req->rcpt_count; i++) {
	const DELIVER_RCPT *r = &req->rcpts[i];

	if (attr_print(sp,
		       ATTR_INT, "rcpt_index", r->index,
		       ATTR_STR, "address", r->address,
		       ATTR_STR, "orig_address", r->orig_address ? r->orig_address : "",
		       ATTR_STR, "orcpt", r->orcpt ? r->orcpt : "",
		       ATTR_INT, "notify", (long) r->notify,
		       ATTR_END) < 0)
	    return -1;
    }
    return stream_flush(sp);
}

/* take - move a VSTRING's text into a fresh C string */
static char *take(VSTRING *vp)
{
    return mystrndup(STR(vp), LEN(vp));
}

/* deliver_request_read - agent side */
int deliver_request_read(STREAM *sp, DELIVER_REQUEST *req, const char **error_r)
{
    VSTRING *request = vstring_alloc(16), *qname = vstring_alloc(16), *qid = vstring_alloc(32);
    VSTRING *transport = vstring_alloc(16), *nexthop = vstring_alloc(64), *sender = vstring_alloc(64);
    VSTRING *envid = vstring_alloc(16), *cname = vstring_alloc(64), *caddr = vstring_alloc(64);
    long ret, flags, asec, ausec, qsec, qusec, count;
    int n, status = -1;
    struct timeval tv;

    memset(req, 0, sizeof(*req));
    n = attr_scan(sp, ATTR_FLAG_NONE, error_r,
		  ATTR_STR, "request", request,
		  ATTR_STR, "queue_name", qname,
		  ATTR_STR, "queue_id", qid,
		  ATTR_STR, "transport", transport,
		  ATTR_STR, "nexthop", nexthop,
		  ATTR_STR, "sender", sender,
		  ATTR_STR, "envid", envid,
		  ATTR_INT, "ret", &ret,
		  ATTR_INT, "flags", &flags,
		  ATTR_INT, "arrival_sec", &asec,
		  ATTR_INT, "arrival_usec", &ausec,
		  ATTR_INT, "qmgr_sec", &qsec,
		  ATTR_INT, "qmgr_usec", &qusec,
		  ATTR_STR, "client_name", cname,
		  ATTR_STR, "client_addr", caddr,
		  ATTR_INT, "rcpt_count", &count,
		  ATTR_END);
    if (n == 0) {
	status = 0;
	goto out;
    }
    if (n < 0)
	goto out;
    if (strcmp(STR(request), "deliver") != 0) {
	*error_r = "unknown request type";
	goto out;
    }
    if (count < 1 || count > DELIVER_MAX_RCPT) {
	*error_r = "bad recipient count";
	goto out;
    }
    req->queue_name = take(qname);
    req->queue_id = take(qid);
    req->transport = take(transport);
    req->nexthop = take(nexthop);
    req->sender = take(sender);
    req->envid = take(envid);
    req->ret = (int) ret;
    req->flags = (int) flags;
    req->arrival_sec = asec;
    req->arrival_usec = ausec;
    req->qmgr_sec = qsec;
    req->qmgr_usec = qusec;
    req->client_name = take(cname);
    req->client_addr = take(caddr);
    req->rcpts = mycalloc((size_t) count, sizeof(*req->rcpts));
    for (long i = 0; i < count; i++) {
	long idx, notify;

	n = attr_scan(sp, ATTR_FLAG_NONE, error_r,
		      ATTR_INT, "rcpt_index", &idx,
		      ATTR_STR, "address", nexthop,
		      ATTR_STR, "orig_address", cname,
		      ATTR_STR, "orcpt", caddr,
		      ATTR_INT, "notify", &notify,
		      ATTR_END);
	if (n <= 0) {
	    if (n == 0)
		*error_r = "end of input inside a request";
	    deliver_request_free(req);
	    goto out;
	}
	req->rcpts[i].index = idx;
	req->rcpts[i].address = take(nexthop);
	req->rcpts[i].orig_address = take(cname);
	req->rcpts[i].orcpt = take(caddr);
	req->rcpts[i].notify = (int) notify;
	req->rcpt_count = (int) i + 1;
    }
    gettimeofday(&tv, NULL);
    req->agent_start_us = (int64_t) tv.tv_sec * 1000000 + tv.tv_usec;
    status = 1;

out:
    vstring_free(&request);
    vstring_free(&qname);
    vstring_free(&qid);
    vstring_free(&transport);
    vstring_free(&nexthop);
    vstring_free(&sender);
    vstring_free(&envid);
    vstring_free(&cname);
    vstring_free(&caddr);
    return status;
}

/* deliver_request_free - release fields */
void deliver_request_free(DELIVER_REQUEST *req)
{
    myfree(req->queue_name);
    myfree(req->queue_id);
    myfree(req->transport);
    myfree(req->nexthop);
    myfree(req->sender);
    myfree(req->envid);
    myfree(req->client_name);
    myfree(req->client_addr);
    for (int i = 0; i < req->rcpt_count; i++) {
	myfree(req->rcpts[i].address);
	myfree(req->rcpts[i].orig_address);
	myfree(req->rcpts[i].orcpt);
    }
    myfree(req->rcpts);
    memset(req, 0, sizeof(*req));
}

/* deliver_request_accept - hello, then one request */
int deliver_request_accept(STREAM *sp, int timeout, DELIVER_REQUEST *req)
{
    const char *err = NULL;
    int rc;

    memset(req, 0, sizeof(*req));
    stream_set_timeout(sp, timeout);
    if (attr_send_hello(sp, DELIVER_PROTO, DELIVER_VERSION) < 0 || stream_flush(sp) < 0)
	return 0;
    if ((rc = deliver_request_read(sp, req, &err)) <= 0) {
	if (rc < 0)
	    msg_warn("bad delivery request: %s", err);
	deliver_request_free(req);
	return 0;
    }
    return 1;
}

/* deliver_result_send - one recipient's result */
int deliver_result_send(STREAM *sp, long rcpt_index, int status, const char *dsn, const char *reason)
{
    return deliver_result_send_mta(sp, rcpt_index, status, dsn, reason, NULL);
}

/* deliver_result_send_mta - one recipient's result and the remote MTA */
int deliver_result_send_mta(STREAM *sp, long rcpt_index, int status, const char *dsn,
			    const char *reason, const char *mta)
{
    if (mta && *mta)
	return attr_print(sp,
			  ATTR_INT, "rcpt_index", rcpt_index,
			  ATTR_INT, "status", (long) status,
			  ATTR_STR, "dsn", dsn,
			  ATTR_STR, "reason", reason,
			  ATTR_STR, "mta", mta,
			  ATTR_END);
    return attr_print(sp,
		      ATTR_INT, "rcpt_index", rcpt_index,
		      ATTR_INT, "status", (long) status,
		      ATTR_STR, "dsn", dsn,
		      ATTR_STR, "reason", reason,
		      ATTR_END);
}

/* deliver_done_send - final message */
int deliver_done_send(STREAM *sp, int count)
{
    if (attr_print(sp, ATTR_INT, "done", (long) count, ATTR_END) < 0)
	return -1;
    return stream_flush(sp);
}

/* deliver_result_read - qmgr side */
int deliver_result_read(STREAM *sp, DELIVER_RESULT *res, int *done_r, const char **error_r)
{
    ATTR_LIST *al = attr_list_alloc();
    const char *v;
    int status = -1;
    int n = attr_list_scan(sp, al, error_r);

    if (n <= 0) {
	if (n == 0)
	    *error_r = "delivery agent closed the connection";
	goto out;
    }
    if ((v = attr_list_get(al, "done")) != NULL && al->count == 1) {
	*done_r = atoi(v);
	status = 0;
	goto out;
    }
    const char *idx = attr_list_get(al, "rcpt_index");
    const char *st = attr_list_get(al, "status");
    const char *dsn = attr_list_get(al, "dsn");
    const char *reason = attr_list_get(al, "reason");
    const char *mta = attr_list_get(al, "mta");

    if (al->count != (mta ? 5 : 4) || !idx || !st || !dsn || !reason) {
	*error_r = "malformed delivery result";
	goto out;
    }
    char *end;
    long s = strtol(st, &end, 10);
    if (*end || s < DEL_STAT_SENT || s > DEL_STAT_DISCARD) {
	*error_r = "bad delivery status";
	goto out;
    }
    res->rcpt_index = strtol(idx, &end, 10);
    if (*end || res->rcpt_index < 0) {
	*error_r = "bad recipient index";
	goto out;
    }
    res->status = (int) s;
    ph_strlcpy(res->dsn, dsn, sizeof(res->dsn));
    if (res->reason == NULL)
	res->reason = vstring_alloc(64);
    vstring_set(res->reason, reason);
    res->mta[0] = 0;
    if (mta) {
	size_t  len = strlen(mta);

	if (len >= sizeof(res->mta) || strspn(mta, "abcdefghijklmnopqrstuvwxyz"
					     "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_:[]/") != len) {
	    *error_r = "bad remote MTA name";
	    goto out;
	}
	memcpy(res->mta, mta, len + 1);
    }
    status = 1;

out:
    attr_list_free(&al);
    return status;
}

/* deliver_status_name - status words as Postfix logs them */
const char *deliver_status_name(int status)
{
    switch (status) {
    case DEL_STAT_SENT:
	return "sent";
    case DEL_STAT_DEFER:
	return "deferred";
    case DEL_STAT_BOUNCE:
	return "bounced";
    case DEL_STAT_DISCARD:
	return "discarded";
    default:
	msg_panic("deliver_status_name: bad status %d", status);
    }
}

/* deliver_format_delay - Postfix's delay format (delay_logging_resolution_limit = 2):
 * below 0.01 s "0"; otherwise at most two significant digits and at most
 * two decimals, trailing zeros dropped; 10 s and more as whole seconds */
void deliver_format_delay(VSTRING *buf, double secs)
{
    char tmp[64];

    if (secs < 0.01) {
	vstring_cat(buf, "0");
	return;
    }
    if (secs >= 10) {
	vstring_fmt_append(buf, "%.0f", secs);
	return;
    }
    snprintf(tmp, sizeof(tmp), "%.*f", secs >= 1 ? 1 : 2, secs);
    if (strchr(tmp, '.')) {
	size_t n = strlen(tmp);

	while (n > 0 && tmp[n - 1] == '0')
	    tmp[--n] = 0;
	if (n > 0 && tmp[n - 1] == '.')
	    tmp[--n] = 0;
    }
    vstring_cat(buf, tmp);
}

/* deliver_log - Postfix's per-recipient status line */
void deliver_log(const DELIVER_REQUEST *req, const DELIVER_RCPT *rcpt, const char *relay,
		 int64_t conn_us, int status, const char *dsn, const char *reason)
{
    VSTRING *buf = vstring_alloc(256);
    struct timeval tv;
    int64_t now, arrival, qmgr, agent;

    gettimeofday(&tv, NULL);
    now = (int64_t) tv.tv_sec * 1000000 + tv.tv_usec;
    arrival = (int64_t) req->arrival_sec * 1000000 + req->arrival_usec;
    qmgr = (int64_t) req->qmgr_sec * 1000000 + req->qmgr_usec;
    agent = req->agent_start_us ? req->agent_start_us : now;
    if (qmgr < arrival)
	qmgr = arrival;
    if (agent < qmgr)
	agent = qmgr;
    if (conn_us <= 0 || conn_us < agent)
	conn_us = agent;
    if (conn_us > now)
	conn_us = now;

    vstring_fmt(buf, "%s: to=<%s>, ", req->queue_id, rcpt->address);
    if (rcpt->orig_address && *rcpt->orig_address && strcmp(rcpt->orig_address, rcpt->address) != 0)
	vstring_fmt_append(buf, "orig_to=<%s>, ", rcpt->orig_address);
    vstring_fmt_append(buf, "relay=%s, delay=", relay);
    deliver_format_delay(buf, (double) (now - arrival) / 1e6);
    vstring_cat(buf, ", delays=");
    deliver_format_delay(buf, (double) (qmgr - arrival) / 1e6);
    vstring_addch(buf, '/');
    deliver_format_delay(buf, (double) (agent - qmgr) / 1e6);
    vstring_addch(buf, '/');
    deliver_format_delay(buf, (double) (conn_us - agent) / 1e6);
    vstring_addch(buf, '/');
    deliver_format_delay(buf, (double) (now - conn_us) / 1e6);
    vstring_fmt_append(buf, ", dsn=%s, status=%s (%s)", dsn,
		       !(req->flags & DEL_REQ_FLAG_VERIFY) ? deliver_status_name(status)
		       : status == DEL_STAT_SENT || status == DEL_STAT_DISCARD ? "deliverable"
		       : "undeliverable", reason);
    msg_info("%s", STR(buf));
    vstring_free(&buf);
}
