/* smtp - the SMTP and LMTP delivery agent.
 *
 * Contract: master.cf runs this program under several service names, as
 * Postfix does: `smtp unix - - n - - smtp`, `relay unix - - n - - smtp`,
 * `lmtp unix - - n - - smtp`. A service whose name starts with "lmtp"
 * speaks LMTP (RFC 2033), every other name SMTP. qmgr connects to
 * private/<service>, the agent says hello (lib/deliver_request.h), reads
 * one request, opens the queue file read-only, delivers to the request's
 * nexthop, logs one Postfix-style status line per recipient and answers
 * with one result per recipient, then done=N. The queue file is never
 * written here.
 *
 * Results: 2xx -> sent; 4xx, connection and DNS trouble -> deferred; 5xx,
 * NXDOMAIN and null MX -> bounced, with the remote reply in the reason
 * ("host mx[addr] said: 550 5.1.1 ... (in reply to RCPT TO command)").
 *
 * Limits: one request at a time per process (single server); an idle
 * connection is cached between requests of the same process only (see
 * smtp_session_cache.c). DANE is not implemented.
 */
#include "sys_defs.h"

#include <stdarg.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>

#include "attr.h"
#include "config.h"
#include "dict.h"
#include "dns.h"
#include "mail_queue.h"
#include "msg.h"
#include "mymalloc.h"
#include "server.h"
#include "smtp.h"

/* smtp_result - set a recipient's result once */
void smtp_result(SMTP_STATE *st, int i, int status, const char *dsn, const char *relay,
		 const char *fmt, ...)
{
    SMTP_RESULT *r = &st->results[i];
    va_list ap;

    if (r->status >= 0)
	return;
    r->status = status;
    ph_strlcpy(r->dsn, dsn, sizeof(r->dsn));
    va_start(ap, fmt);
    vstring_reset(r->reason);
    vstring_vfmt_append(r->reason, fmt, ap);
    va_end(ap);
    myfree(r->relay);
    r->relay = mystrdup(relay ? relay : "none");
}

/* smtp_fail - remember the failure for recipients left pending */
void smtp_fail(SMTP_STATE *st, int status, const char *dsn, const char *relay,
	       const char *fmt, ...)
{
    va_list ap;

    st->fail_status = status;
    ph_strlcpy(st->fail_dsn, dsn, sizeof(st->fail_dsn));
    va_start(ap, fmt);
    vstring_reset(st->fail_reason);
    vstring_vfmt_append(st->fail_reason, fmt, ap);
    va_end(ap);
    myfree(st->fail_relay);
    st->fail_relay = mystrdup(relay ? relay : "none");
}

/* smtp_pending - recipients without a result */
int smtp_pending(const SMTP_STATE *st)
{
    int n = 0;

    for (int i = 0; i < st->req->rcpt_count; i++)
	if (st->results[i].status < 0)
	    n++;
    return n;
}

/* smtp_scan_content - note 8-bit content (for the 8BITMIME decision) */
static void smtp_scan_content(SMTP_STATE *st)
{
    char buf[8192];
    off_t off = 0;
    ssize_t n;

    while ((n = qfile_content_read(st->qf, off, buf, sizeof(buf))) > 0) {
	for (ssize_t i = 0; i < n; i++) {
	    if ((unsigned char) buf[i] & 0x80) {
		st->eightbit = true;
		return;
	    }
	}
	off += n;
    }
}

/* smtp_envelope_utf8 - does the envelope need SMTPUTF8 */
static bool smtp_envelope_utf8(const DELIVER_REQUEST *req)
{
    for (const char *cp = req->sender; *cp; cp++)
	if ((unsigned char) *cp & 0x80)
	    return true;
    for (int i = 0; i < req->rcpt_count; i++)
	for (const char *cp = req->rcpts[i].address; *cp; cp++)
	    if ((unsigned char) *cp & 0x80)
		return true;
    return false;
}

/* smtp_mta_name - the host name of a relay= value ("mx.example[192.0.2.1]:25"
 * -> "mx.example") for the DSN's Remote-MTA; NULL when there is none */
static const char *smtp_mta_name(VSTRING *buf, const char *relay)
{
    size_t  len;

    if (relay == NULL || *relay == 0 || strcmp(relay, "none") == 0)
	return NULL;
    len = strcspn(relay, "[");
    vstring_set(buf, "");
    vstring_catn(buf, relay, len);
    return STR(buf);
}

/* smtp_service - one qmgr connection: one request */
static void smtp_service(STREAM *client, const char *service, char **argv)
{
    DELIVER_REQUEST req;
    SMTP_STATE st;
    const char *err = NULL;
    VSTRING *mta;
    int rc;

    (void) argv;
    memset(&st, 0, sizeof(st));
    if (!deliver_request_accept(client, (int) var_ipc_timeout, &req))
	return;
    dict_refresh();
    st.req = &req;
    st.service = service;
    st.lmtp = strncmp(service, "lmtp", 4) == 0;
    st.results = mycalloc((size_t) req.rcpt_count, sizeof(*st.results));
    for (int i = 0; i < req.rcpt_count; i++) {
	st.results[i].status = -1;
	st.results[i].reason = vstring_alloc(100);
    }
    st.fail_reason = vstring_alloc(100);
    mta = vstring_alloc(64);
    smtp_fail(&st, DEL_STAT_DEFER, "4.4.1", NULL, "delivery was not attempted");

    rc = qfile_open(req.queue_name, req.queue_id, QFILE_OPEN_RDONLY, &st.qf, &err);
    if (rc != QFILE_OK) {
	msg_warn("%s: %s", req.queue_id, err);
	smtp_fail(&st, DEL_STAT_DEFER, "4.3.0", NULL, "cannot open queue file: %s", err);
    } else if (req.flags & DEL_REQ_FLAG_VERIFY) {
	for (int i = 0; i < req.rcpt_count; i++)
	    smtp_result(&st, i, DEL_STAT_DEFER, "4.3.0", NULL, "address verification is not supported");
    } else {
	smtp_scan_content(&st);
	st.smtputf8 = (req.flags & DEL_REQ_FLAG_SMTPUTF8) && smtp_envelope_utf8(&req);
	smtp_connect_deliver(&st);
    }

    for (int i = 0; i < req.rcpt_count; i++) {
	SMTP_RESULT *r = &st.results[i];

	if (r->status < 0)
	    smtp_result(&st, i, st.fail_status, st.fail_dsn, st.fail_relay, "%s", STR(st.fail_reason));
	deliver_log(&req, &req.rcpts[i], r->relay, st.conn_us, r->status, r->dsn, STR(r->reason));
	if (deliver_result_send_mta(client, req.rcpts[i].index, r->status, r->dsn, STR(r->reason),
				    smtp_mta_name(mta, r->relay)) < 0)
	    msg_warn("%s: lost connection to queue manager", req.queue_id);
	vstring_free(&r->reason);
	myfree(r->relay);
    }
    if (deliver_done_send(client, req.rcpt_count) < 0 || stream_flush(client) < 0)
	msg_warn("%s: cannot send results to queue manager", req.queue_id);
    myfree(st.results);
    vstring_free(&st.fail_reason);
    vstring_free(&mta);
    myfree(st.fail_relay);
    qfile_close(&st.qf);
    deliver_request_free(&req);
}

/* smtp_pre_init - TLS keys, tables and the DNS server while privileged */
static void smtp_pre_init(const char *service, char **argv)
{
    const char *error;

    (void) service;
    (void) argv;
    mail_queue_init(var_queue_directory, var_hash_queue_depth, var_hash_queue_names);
    if (dns_set_server(var_smtp_dns_resolver_address, &error) < 0)
	msg_fatal("%s: smtp_dns_resolver_address = %s: %s", config_main_cf(),
		  var_smtp_dns_resolver_address, error);
    dns_set_dnssec(var_smtp_dns_support_level && strcasecmp(var_smtp_dns_support_level, "dnssec") == 0);
    if (strcmp(var_smtp_address_preference, "any") != 0
	&& strcmp(var_smtp_address_preference, "ipv4") != 0
	&& strcmp(var_smtp_address_preference, "ipv6") != 0)
	msg_fatal("%s: smtp_address_preference = %s: expected any, ipv4 or ipv6",
		  config_main_cf(), var_smtp_address_preference);
    smtp_tls_init();
    smtp_sasl_init();
}

/* smtp_pre_exit - say goodbye to a cached server */
static void smtp_pre_exit(void)
{
    smtp_cache_flush();
}

/* main - the smtp/lmtp agent: parameters plus the single server skeleton */
int main(int argc, char **argv)
{
    SERVER_OPTS opts;

    memset(&opts, 0, sizeof(opts));
    opts.pre_init = smtp_pre_init;
    opts.pre_exit = smtp_pre_exit;
    single_server_main(argc, argv, smtp_service, &opts);
}
