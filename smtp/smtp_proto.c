/* smtp_proto - one SMTP/LMTP session: greeting, EHLO/LHLO, STARTTLS,
 * AUTH, then MAIL/RCPT/DATA for one request.
 *
 * Contract: smtp_proto_greet() gets a connected session to the point
 * where MAIL FROM may be sent (or fails with smtp_fail(): next host).
 * smtp_proto_deliver() runs the transaction: with PIPELINING, MAIL, every
 * RCPT and DATA go out in one write and the replies are read in order;
 * otherwise lock-step. Per-recipient results: 2xx sent, 4xx deferred, 5xx
 * bounced, with "host H[A] said: REPLY (in reply to CMD command)". SIZE:
 * a message bigger than the server's limit bounces (5.3.4) without being
 * sent. 8BITMIME: 8-bit content to a server without it is converted to
 * quoted-printable when the message is a single text part; a multipart
 * message bounces (5.6.3: MIME part conversion is not implemented).
 * SMTPUTF8: an envelope that needs it bounces (5.6.7) at a server without
 * it. DSN parameters (RET, ENVID, NOTIFY, ORCPT) are passed on when the
 * server offers DSN. LMTP reads one reply per accepted recipient after
 * the end of data.
 *
 * Failures that concern the session (lost connection, timeout, garbage,
 * 4xx greeting/EHLO/MAIL) go to smtp_fail() and return SMTP_SESS_NEXT; a
 * lost connection after the end of data defers the accepted recipients
 * at once (the message may have been delivered: never try another host).
 */
#include "sys_defs.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr822.h"
#include "argv.h"
#include "config.h"
#include "msg.h"
#include "mymalloc.h"
#include "smtp.h"

/* smtp_proto_trouble - lost connection / timeout / garbage: a reason */
static void smtp_proto_trouble(SMTP_STATE *st, SMTP_SESSION *sess, const char *during)
{
    int flags = stream_flags(sess->stream);
    VSTRING *hn = vstring_alloc(64);

    vstring_fmt(hn, "%s[%s]", sess->host, sess->addr);
    if (flags & STREAM_F_TIMEOUT)
	smtp_fail(st, DEL_STAT_DEFER, "4.4.2", sess->namaddr, "conversation with %s timed out while %s",
		  STR(hn), during);
    else if (flags & (STREAM_F_EOF | STREAM_F_ERROR))
	smtp_fail(st, DEL_STAT_DEFER, "4.4.2", sess->namaddr, "lost connection with %s while %s",
		  STR(hn), during);
    else
	smtp_fail(st, DEL_STAT_DEFER, "4.4.2", sess->namaddr, "%s sent a malformed reply while %s",
		  STR(hn), during);
    vstring_free(&hn);
}

/* smtp_proto_cmd - send one command line (flush unless buffered) */
static int smtp_proto_cmd(SMTP_SESSION *sess, bool flush, const char *fmt, ...) PH_PRINTF(3, 4);
static int smtp_proto_cmd(SMTP_SESSION *sess, bool flush, const char *fmt, ...)
{
    VSTRING *buf = vstring_alloc(128);
    va_list ap;
    int rc;

    va_start(ap, fmt);
    vstring_vfmt_append(buf, fmt, ap);
    va_end(ap);
    vstring_cat(buf, "\r\n");
    rc = stream_write(sess->stream, STR(buf), LEN(buf));
    if (rc == 0 && flush)
	rc = stream_flush(sess->stream);
    vstring_free(&buf);
    return rc < 0 ? -1 : 0;
}

/* smtp_proto_said - "host H[A] said: REPLY (in reply to CMD command)" */
static const char *smtp_proto_said(SMTP_SESSION *sess, VSTRING *out, const char *reply, const char *cmd)
{
    vstring_fmt(out, "host %s[%s] said: %s (in reply to %s command)", sess->host, sess->addr, reply, cmd);
    return STR(out);
}

/* smtp_proto_ehlo - EHLO/LHLO (HELO fallback for SMTP); the reply code */
static int smtp_proto_ehlo(SMTP_STATE *st, SMTP_SESSION *sess, VSTRING *reply)
{
    const char *helo = st->lmtp ? var_lmtp_lhlo_name : var_smtp_helo_name;
    ARGV *lines = argv_alloc(10);
    int code = -1;

    sess->features = 0;
    sess->size_limit = 0;
    myfree(sess->auth_mechs);
    sess->auth_mechs = NULL;
    stream_set_timeout(sess->stream, (int) var_smtp_helo_timeout);
    if (smtp_proto_cmd(sess, true, "%s %s", st->lmtp ? "LHLO" : "EHLO", helo) < 0
	|| (code = smtp_reply_read_lines(sess->stream, reply, lines)) < 0) {
	argv_free(&lines);
	return -1;
    }
    /* The first line is the greeting text; keywords follow. */
    for (int i = 1; code / 100 == 2 && i < lines->argc; i++) {
	const char *kw = lines->argv[i];

	if (strcasecmp(kw, "PIPELINING") == 0)
	    sess->features |= SMTP_FEATURE_PIPELINING;
	else if (strcasecmp(kw, "8BITMIME") == 0)
	    sess->features |= SMTP_FEATURE_8BITMIME;
	else if (strcasecmp(kw, "SMTPUTF8") == 0)
	    sess->features |= SMTP_FEATURE_SMTPUTF8;
	else if (strcasecmp(kw, "DSN") == 0)
	    sess->features |= SMTP_FEATURE_DSN;
	else if (strcasecmp(kw, "STARTTLS") == 0)
	    sess->features |= SMTP_FEATURE_STARTTLS;
	else if (strncasecmp(kw, "SIZE", 4) == 0 && (kw[4] == 0 || kw[4] == ' ')) {
	    sess->features |= SMTP_FEATURE_SIZE;
	    sess->size_limit = kw[4] ? strtol(kw + 5, NULL, 10) : 0;
	    if (sess->size_limit < 0)
		sess->size_limit = 0;
	} else if (strncasecmp(kw, "AUTH", 4) == 0 && (kw[4] == ' ' || kw[4] == '=')) {
	    sess->features |= SMTP_FEATURE_AUTH;
	    myfree(sess->auth_mechs);
	    sess->auth_mechs = mystrdup(kw + 5);
	}
    }
    argv_free(&lines);
    if (code / 100 == 2)
	sess->features |= SMTP_FEATURE_ESMTP;
    else if (code / 100 == 5 && !st->lmtp) {
	/* An old server: HELO, no extensions. */
	if (smtp_proto_cmd(sess, true, "HELO %s", helo) < 0)
	    return -1;
	code = smtp_reply_read(sess->stream, reply);
    }
    return code;
}

/* smtp_proto_greet - see smtp.h */
int smtp_proto_greet(SMTP_STATE *st, SMTP_SESSION *sess)
{
    VSTRING *reply = vstring_alloc(128), *why = vstring_alloc(128);
    VSTRING *user = vstring_alloc(32), *pass = vstring_alloc(32);
    const char *domain, *error;
    char **names = NULL;
    int level;
    int code, rc = -1;

    stream_set_timeout(sess->stream, (int) var_smtp_helo_timeout);
    code = smtp_reply_read(sess->stream, reply);
    if (code < 0) {
	smtp_proto_trouble(st, sess, "receiving the initial server greeting");
	goto out;
    }
    if (code / 100 != 2) {
	smtp_fail(st, code / 100 == 5 ? DEL_STAT_BOUNCE : DEL_STAT_DEFER,
		  code / 100 == 5 ? "5.0.0" : "4.0.0", sess->namaddr,
		  "host %s[%s] refused to talk to me: %s", sess->host, sess->addr, STR(reply));
	smtp_reply_dsn(code, STR(reply), st->fail_dsn);
	goto out;
    }
    code = smtp_proto_ehlo(st, sess, reply);
    if (code < 0) {
	smtp_proto_trouble(st, sess, st->lmtp ? "sending LHLO" : "performing the EHLO handshake");
	goto out;
    }
    if (code / 100 != 2) {
	smtp_fail(st, code / 100 == 5 ? DEL_STAT_BOUNCE : DEL_STAT_DEFER, "4.0.0", sess->namaddr,
		  "%s", smtp_proto_said(sess, why, STR(reply), st->lmtp ? "LHLO" : "EHLO"));
	smtp_reply_dsn(code, STR(reply), st->fail_dsn);
	goto out;
    }

    /* TLS per policy (never over a UNIX-domain socket). */
    domain = st->req->nexthop;
    level = sess->port == 0 || st->tls_off ? TLS_LEV_NONE : smtp_tls_level(domain, why, &names);
    if (level < 0) {
	smtp_fail(st, DEL_STAT_DEFER, "4.7.5", sess->namaddr, "TLS policy lookup for %s: %s", domain,
		  STR(why));
	goto out;
    }
    /* dane/dane-only become DANE, encrypt, may or a deferral here. */
    if ((level == TLS_LEV_DANE || level == TLS_LEV_DANE_ONLY)
	&& (level = smtp_tls_dane(st, sess, level, why)) < 0) {
	msg_info("%s: %s", st->req->queue_id, STR(why));
	smtp_fail(st, DEL_STAT_DEFER, "4.7.5", sess->namaddr, "%s", STR(why));
	goto out;
    }
    if (level > TLS_LEV_NONE) {
	if (!(sess->features & SMTP_FEATURE_STARTTLS)) {
	    if (level > TLS_LEV_MAY) {
		smtp_fail(st, DEL_STAT_DEFER, "4.7.4", sess->namaddr,
			  "TLS is required, but was not offered by host %s[%s]", sess->host, sess->addr);
		goto out;
	    }
	} else {
	    if (smtp_proto_cmd(sess, true, "STARTTLS") < 0
		|| (code = smtp_reply_read(sess->stream, reply)) < 0) {
		smtp_proto_trouble(st, sess, "sending STARTTLS");
		goto out;
	    }
	    if (code / 100 != 2) {
		if (level > TLS_LEV_MAY) {
		    smtp_fail(st, DEL_STAT_DEFER, "4.7.5", sess->namaddr, "%s",
			      smtp_proto_said(sess, why, STR(reply), "STARTTLS"));
		    goto out;
		}
	    } else {
		if (smtp_tls_start(sess, (TLS_LEVEL) level, st->req->nexthop, names, &error) < 0) {
		    /* Opportunistic TLS: Postfix tries the same host again
		     * without TLS. */
		    if (level == TLS_LEV_MAY)
			st->tls_failed = true;
		    smtp_fail(st, DEL_STAT_DEFER, "4.7.5", sess->namaddr,
			      "TLS handshake with %s[%s] failed: %s", sess->host, sess->addr, error);
		    goto out;
		}
		code = smtp_proto_ehlo(st, sess, reply);
		if (code / 100 != 2) {
		    if (code < 0)
			smtp_proto_trouble(st, sess, "performing the EHLO handshake over TLS");
		    else
			smtp_fail(st, DEL_STAT_DEFER, "4.0.0", sess->namaddr, "%s",
				  smtp_proto_said(sess, why, STR(reply), "EHLO"));
		    goto out;
		}
	    }
	}
    }

    /* SASL client authentication. */
    if (var_smtp_sasl_auth_enable && (sess->features & SMTP_FEATURE_AUTH)) {
	int found = smtp_sasl_passwd(sess, st->req->nexthop, user, pass);

	if (found < 0) {
	    smtp_fail(st, DEL_STAT_DEFER, "4.3.0", sess->namaddr, "smtp_sasl_password_maps lookup failed");
	    goto out;
	}
	if (found > 0 && smtp_sasl_auth(sess, STR(user), STR(pass), &code, why) < 0) {
	    vstring_wipe(pass);
	    if (stream_flags(sess->stream) & (STREAM_F_EOF | STREAM_F_ERROR | STREAM_F_TIMEOUT))
		smtp_proto_trouble(st, sess, "authenticating");
	    else
		smtp_fail(st, DEL_STAT_DEFER, "4.7.0", sess->namaddr,
			  "SASL authentication failed; %s", STR(why));
	    goto out;
	}
	vstring_wipe(pass);
    }
    rc = 0;

out:
    if (names) {
	for (char **cpp = names; *cpp; cpp++)
	    myfree(*cpp);
	myfree(names);
    }
    vstring_free(&reply);
    vstring_free(&why);
    vstring_free(&user);
    vstring_free(&pass);
    return rc;
}

/* smtp_xtext - RFC 3461 xtext encoding */
static const char *smtp_xtext(VSTRING *out, const char *text)
{
    vstring_reset(out);
    for (const unsigned char *cp = (const unsigned char *) text; *cp; cp++) {
	if (*cp < 33 || *cp > 126 || *cp == '+' || *cp == '=')
	    vstring_fmt_append(out, "+%02X", *cp);
	else
	    vstring_addch(out, *cp);
    }
    return STR(out);
}

/* smtp_header_value - value of header name in the header block, or NULL
 * (first occurrence; unfolded into out) */
static const char *smtp_header_value(SMTP_STATE *st, const char *name, VSTRING *out)
{
    char buf[16384];
    ssize_t n = qfile_content_read(st->qf, 0, buf, sizeof(buf) - 1);
    size_t nlen = strlen(name);
    const char *cp, *end;

    if (n <= 0)
	return NULL;
    buf[n] = 0;
    for (cp = buf; *cp && *cp != '\n'; cp = end ? end + 1 : cp + strlen(cp)) {
	end = strchr(cp, '\n');
	if (strncasecmp(cp, name, nlen) == 0 && cp[nlen] == ':') {
	    vstring_reset(out);
	    const char *v = cp + nlen + 1;

	    for (;;) {
		const char *e = strchr(v, '\n');

		vstring_catn(out, v, e ? (size_t) (e - v) : strlen(v));
		if (e == NULL || (e[1] != ' ' && e[1] != '\t'))
		    break;
		v = e + 1;
	    }
	    return STR(out);
	}
	if (end == NULL)
	    break;
    }
    return NULL;
}

typedef struct smtp_writer {
    STREAM *sp;
    bool    downgrade;			/* QP-encode the body */
    bool    in_header;
    bool    skip_cont;			/* dropping a header's continuation */
    VSTRING *qp;
} SMTP_WRITER;

/* smtp_write_line - one output line, dot-stuffed, CRLF */
static void smtp_write_line(STREAM *sp, const char *line, size_t len)
{
    if (len > 0 && line[0] == '.')
	stream_write(sp, ".", 1);
    stream_write(sp, line, len);
    stream_write(sp, "\r\n", 2);
}

/* smtp_qp_line - quoted-printable encoding of one body line */
static void smtp_qp_line(SMTP_WRITER *w, const char *line, size_t len)
{
    VSTRING *qp = w->qp;

    vstring_reset(qp);
    for (size_t i = 0; i < len; i++) {
	unsigned char c = (unsigned char) line[i];
	bool last = i + 1 == len;
	size_t need = (c == '=' || c > 126 || (c < 32 && c != '\t') || ((c == ' ' || c == '\t') && last)) ? 3 : 1;

	if (LEN(qp) + need > 75) {
	    vstring_addch(qp, '=');
	    smtp_write_line(w->sp, STR(qp), LEN(qp));
	    vstring_reset(qp);
	}
	if (need == 3)
	    vstring_fmt_append(qp, "=%02X", c);
	else
	    vstring_addch(qp, (char) c);
    }
    smtp_write_line(w->sp, STR(qp), LEN(qp));
}

/* smtp_content_line - one content line (without LF) */
static void smtp_content_line(SMTP_WRITER *w, const char *line, size_t len)
{
    if (len > 0 && line[len - 1] == '\r')
	len--;
    if (!w->downgrade) {
	smtp_write_line(w->sp, line, len);
	return;
    }
    if (w->in_header) {
	if (len == 0) {
	    static const char cte[] = "Content-Transfer-Encoding: quoted-printable";

	    smtp_write_line(w->sp, cte, sizeof(cte) - 1);
	    smtp_write_line(w->sp, "", 0);
	    w->in_header = false;
	    return;
	}
	if (w->skip_cont && (line[0] == ' ' || line[0] == '\t'))
	    return;
	w->skip_cont = false;
	if (len >= 26 && strncasecmp(line, "Content-Transfer-Encoding:", 26) == 0) {
	    w->skip_cont = true;
	    return;
	}
	smtp_write_line(w->sp, line, len);
	return;
    }
    smtp_qp_line(w, line, len);
}

/* smtp_proto_content - the message, dot-stuffed with CRLF, then "." */
static int smtp_proto_content(SMTP_STATE *st, SMTP_SESSION *sess, bool downgrade)
{
    char buf[16384];
    VSTRING *carry = vstring_alloc(256);
    SMTP_WRITER w;
    off_t off = 0;
    ssize_t n;

    memset(&w, 0, sizeof(w));
    w.sp = sess->stream;
    w.downgrade = downgrade;
    w.in_header = true;
    w.qp = vstring_alloc(100);
    stream_set_timeout(sess->stream, (int) var_smtp_data_xfer_timeout);
    while ((n = qfile_content_read(st->qf, off, buf, sizeof(buf))) > 0) {
	const char *cp = buf, *end = buf + n, *nl;

	off += n;
	while (cp < end && (nl = memchr(cp, '\n', (size_t) (end - cp))) != NULL) {
	    if (LEN(carry)) {
		vstring_catn(carry, cp, (size_t) (nl - cp));
		smtp_content_line(&w, STR(carry), LEN(carry));
		vstring_reset(carry);
	    } else {
		smtp_content_line(&w, cp, (size_t) (nl - cp));
	    }
	    cp = nl + 1;
	}
	if (cp < end)
	    vstring_catn(carry, cp, (size_t) (end - cp));
	if (stream_flags(sess->stream) & (STREAM_F_ERROR | STREAM_F_TIMEOUT | STREAM_F_EOF))
	    break;
    }
    if (LEN(carry))
	smtp_content_line(&w, STR(carry), LEN(carry));
    if (w.in_header && downgrade) {
	/* Headers only: close the header block before the end. */
	smtp_content_line(&w, "", 0);
    }
    stream_write(sess->stream, ".\r\n", 3);
    vstring_free(&carry);
    vstring_free(&w.qp);
    return n < 0 ? -1 : stream_flush(sess->stream);
}

/* smtp_rcpt_cmd - the RCPT TO command of recipient i into buf */
static void smtp_rcpt_cmd(SMTP_SESSION *sess, const DELIVER_RCPT *rcpt, VSTRING *buf,
			  VSTRING *addr, VSTRING *x)
{
    vstring_fmt(buf, "RCPT TO:<%s>", addr822_quote(addr, rcpt->address));
    if (!(sess->features & SMTP_FEATURE_DSN))
	return;
    if (rcpt->notify & QFILE_NOTIFY_NEVER) {
	vstring_cat(buf, " NOTIFY=NEVER");
    } else if (rcpt->notify) {
	static const struct {
	    int     bit;
	    const char *name;
	}       bits[] = {
	    {QFILE_NOTIFY_SUCCESS, "SUCCESS"},
	    {QFILE_NOTIFY_FAILURE, "FAILURE"},
	    {QFILE_NOTIFY_DELAY, "DELAY"},
	};
	const char *sep = " NOTIFY=";

	for (size_t k = 0; k < PH_ARRAY_LEN(bits); k++) {
	    if (rcpt->notify & bits[k].bit) {
		vstring_fmt_append(buf, "%s%s", sep, bits[k].name);
		sep = ",";
	    }
	}
    }
    if (rcpt->orcpt && *rcpt->orcpt) {
	const char *semi = strchr(rcpt->orcpt, ';');

	if (semi)
	    vstring_fmt_append(buf, " ORCPT=%.*s;%s", (int) (semi - rcpt->orcpt), rcpt->orcpt,
			       smtp_xtext(x, semi + 1));
    }
}

/* smtp_rcpt_reply - record the RCPT TO reply of recipient i */
static void smtp_rcpt_reply(SMTP_STATE *st, SMTP_SESSION *sess, int i, int code, const char *reply,
			    int *accepted, int *naccepted)
{
    VSTRING *why = vstring_alloc(128);
    char dsn[16];

    smtp_reply_dsn(code, reply, dsn);
    if (code / 100 == 2)
	accepted[(*naccepted)++] = i;
    else
	smtp_result(st, i, code / 100 == 4 ? DEL_STAT_DEFER : DEL_STAT_BOUNCE, dsn, sess->namaddr,
		    "%s", smtp_proto_said(sess, why, reply, "RCPT TO"));
    vstring_free(&why);
}

/* smtp_proto_deliver - see smtp.h */
int smtp_proto_deliver(SMTP_STATE *st, SMTP_SESSION *sess, bool reused)
{
    DELIVER_REQUEST *req = st->req;
    VSTRING *buf = vstring_alloc(256), *reply = vstring_alloc(128), *why = vstring_alloc(128);
    VSTRING *addr = vstring_alloc(64), *x = vstring_alloc(64), *ct = vstring_alloc(64);
    int *sent_idx = mymalloc(sizeof(int) * (size_t) req->rcpt_count);
    int *accepted = mymalloc(sizeof(int) * (size_t) req->rcpt_count);
    int nsent = 0, naccepted = 0, code, result = SMTP_SESS_DONE;
    bool pipelining = (sess->features & SMTP_FEATURE_PIPELINING) != 0;
    bool downgrade = false, mail_ok = false;
    const char *cmd_name;

    (void) reused;
    /* Checks before anything is sent. */
    if ((sess->features & SMTP_FEATURE_SIZE) && sess->size_limit > 0
	&& st->qf->content_size > sess->size_limit) {
	for (int i = 0; i < req->rcpt_count; i++)
	    smtp_result(st, i, DEL_STAT_BOUNCE, "5.3.4", sess->namaddr,
			"message size %lld exceeds size limit %ld of server %s[%s]",
			(long long) st->qf->content_size, sess->size_limit, sess->host, sess->addr);
	goto out;
    }
    if (st->smtputf8 && !(sess->features & SMTP_FEATURE_SMTPUTF8)) {
	for (int i = 0; i < req->rcpt_count; i++)
	    smtp_result(st, i, DEL_STAT_BOUNCE, "5.6.7", sess->namaddr,
			"SMTPUTF8 is required, but was not offered by host %s[%s]", sess->host, sess->addr);
	goto out;
    }
    if (st->eightbit && !(sess->features & SMTP_FEATURE_8BITMIME)) {
	const char *type = smtp_header_value(st, "Content-Type", ct);

	while (type && (*type == ' ' || *type == '\t'))
	    type++;
	if (type && (strncasecmp(type, "multipart/", 10) == 0 || strncasecmp(type, "message/", 8) == 0)) {
	    for (int i = 0; i < req->rcpt_count; i++)
		smtp_result(st, i, DEL_STAT_BOUNCE, "5.6.3", sess->namaddr,
			    "host %s[%s] does not support 8BITMIME and this multipart message "
			    "cannot be converted to 7-bit", sess->host, sess->addr);
	    goto out;
	}
	downgrade = true;
    }

    /* MAIL FROM */
    vstring_fmt(buf, "MAIL FROM:<%s>", *req->sender ? addr822_quote(addr, req->sender) : "");
    if (sess->features & SMTP_FEATURE_SIZE)
	vstring_fmt_append(buf, " SIZE=%lld", (long long) st->qf->content_size);
    if (st->eightbit && !downgrade)
	vstring_cat(buf, " BODY=8BITMIME");
    if (st->smtputf8)
	vstring_cat(buf, " SMTPUTF8");
    if (sess->features & SMTP_FEATURE_DSN) {
	if (req->ret == 1)
	    vstring_cat(buf, " RET=FULL");
	else if (req->ret == 2)
	    vstring_cat(buf, " RET=HDRS");
	if (req->envid && *req->envid)
	    vstring_fmt_append(buf, " ENVID=%s", smtp_xtext(x, req->envid));
    }
    stream_set_timeout(sess->stream, (int) var_smtp_mail_timeout);
    if (smtp_proto_cmd(sess, !pipelining, "%s", STR(buf)) < 0)
	goto lost_mail;
    if (!pipelining) {
	if ((code = smtp_reply_read(sess->stream, reply)) < 0)
	    goto lost_mail;
	goto mail_reply;
    }
    /* Pipelining: everything now, replies after. */
    for (int i = 0; i < req->rcpt_count; i++) {
	if (st->results[i].status >= 0)
	    continue;
	smtp_rcpt_cmd(sess, &req->rcpts[i], buf, addr, x);
	smtp_proto_cmd(sess, false, "%s", STR(buf));
	sent_idx[nsent++] = i;
    }
    smtp_proto_cmd(sess, true, "DATA");
    if (stream_flags(sess->stream) & (STREAM_F_ERROR | STREAM_F_TIMEOUT | STREAM_F_EOF))
	goto lost_mail;
    if ((code = smtp_reply_read(sess->stream, reply)) < 0)
	goto lost_mail;

mail_reply:
    if (code / 100 == 2) {
	mail_ok = true;
    } else if (code / 100 == 4) {
	smtp_fail(st, DEL_STAT_DEFER, "4.0.0", sess->namaddr, "%s",
		  smtp_proto_said(sess, why, STR(reply), "MAIL FROM"));
	smtp_reply_dsn(code, STR(reply), st->fail_dsn);
	result = SMTP_SESS_NEXT;
    } else {
	char dsn[16];

	smtp_reply_dsn(code, STR(reply), dsn);
	smtp_proto_said(sess, why, STR(reply), "MAIL FROM");
	for (int i = 0; i < req->rcpt_count; i++)
	    smtp_result(st, i, DEL_STAT_BOUNCE, dsn, sess->namaddr, "%s", STR(why));
    }

    /* RCPT TO replies (lock-step: send each first). */
    stream_set_timeout(sess->stream, (int) var_smtp_rcpt_timeout);
    if (!pipelining && mail_ok) {
	for (int i = 0; i < req->rcpt_count; i++) {
	    if (st->results[i].status >= 0)
		continue;
	    smtp_rcpt_cmd(sess, &req->rcpts[i], buf, addr, x);
	    if (smtp_proto_cmd(sess, true, "%s", STR(buf)) < 0
		|| (code = smtp_reply_read(sess->stream, reply)) < 0)
		goto lost_rcpt;
	    smtp_rcpt_reply(st, sess, i, code, STR(reply), accepted, &naccepted);
	}
    }
    for (int k = 0; pipelining && k < nsent; k++) {
	if ((code = smtp_reply_read(sess->stream, reply)) < 0)
	    goto lost_rcpt;
	if (mail_ok)
	    smtp_rcpt_reply(st, sess, sent_idx[k], code, STR(reply), accepted, &naccepted);
    }

    /* DATA */
    stream_set_timeout(sess->stream, (int) var_smtp_data_init_timeout);
    if (!pipelining) {
	if (!mail_ok || naccepted == 0)
	    goto reset;
	if (smtp_proto_cmd(sess, true, "DATA") < 0)
	    goto lost_data;
    } else if (!mail_ok) {
	/* The DATA reply still comes. */
	if (smtp_reply_read(sess->stream, reply) < 0)
	    goto lost_data;
	goto reset;
    }
    if ((code = smtp_reply_read(sess->stream, reply)) < 0)
	goto lost_data;
    if (code != 354) {
	if (naccepted > 0) {
	    char dsn[16];

	    smtp_reply_dsn(code, STR(reply), dsn);
	    for (int k = 0; k < naccepted; k++)
		smtp_result(st, accepted[k], code / 100 == 5 ? DEL_STAT_BOUNCE : DEL_STAT_DEFER, dsn,
			    sess->namaddr, "%s", smtp_proto_said(sess, why, STR(reply), "DATA"));
	}
	goto reset;
    }
    if (naccepted == 0) {
	/* A server that said 354 without recipients: end it at once. */
	smtp_proto_cmd(sess, true, ".");
	(void) smtp_reply_read(sess->stream, reply);
	goto reset;
    }
    if (smtp_proto_content(st, sess, downgrade) < 0) {
	for (int k = 0; k < naccepted; k++) {
	    if (stream_flags(sess->stream) & (STREAM_F_ERROR | STREAM_F_TIMEOUT | STREAM_F_EOF))
		continue;
	    smtp_result(st, accepted[k], DEL_STAT_DEFER, "4.3.0", sess->namaddr,
			"error reading the queue file");
	}
	if (stream_flags(sess->stream) & (STREAM_F_ERROR | STREAM_F_TIMEOUT | STREAM_F_EOF))
	    goto lost_data;
	result = SMTP_SESS_NEXT;
	goto out;
    }
    stream_set_timeout(sess->stream, (int) var_smtp_data_done_timeout);
    for (int k = 0; k < (st->lmtp ? naccepted : 1); k++) {
	char dsn[16];

	if ((code = smtp_reply_read(sess->stream, reply)) < 0) {
	    smtp_proto_trouble(st, sess, "sending end of data -- message may be sent more than once");
	    for (; k < naccepted; k++)
		smtp_result(st, accepted[k], DEL_STAT_DEFER, "4.4.2", sess->namaddr, "%s",
			    STR(st->fail_reason));
	    goto out;
	}
	smtp_reply_dsn(code, STR(reply), dsn);
	cmd_name = "end of DATA";
	for (int j = st->lmtp ? k : 0; j < (st->lmtp ? k + 1 : naccepted); j++) {
	    if (code / 100 == 2)
		smtp_result(st, accepted[j], DEL_STAT_SENT, dsn, sess->namaddr, "%s", STR(reply));
	    else
		smtp_result(st, accepted[j], code / 100 == 4 ? DEL_STAT_DEFER : DEL_STAT_BOUNCE, dsn,
			    sess->namaddr, "%s", smtp_proto_said(sess, why, STR(reply), cmd_name));
	}
    }
    goto out;

reset:
    /* The transaction ended early: leave the session clean for reuse. */
    if (smtp_proto_cmd(sess, true, "RSET") < 0 || smtp_reply_read(sess->stream, reply) / 100 != 2)
	result = result == SMTP_SESS_DONE && smtp_pending(st) == 0 ? SMTP_SESS_DONE : SMTP_SESS_NEXT;
    if (smtp_pending(st) > 0)
	result = SMTP_SESS_NEXT;
    goto out;

lost_mail:
    smtp_proto_trouble(st, sess, "sending MAIL FROM");
    result = SMTP_SESS_NEXT;
    goto out;
lost_rcpt:
    smtp_proto_trouble(st, sess, "sending RCPT TO");
    result = SMTP_SESS_NEXT;
    goto out;
lost_data:
    smtp_proto_trouble(st, sess, "sending message body");
    result = SMTP_SESS_NEXT;

out:
    myfree(sent_idx);
    myfree(accepted);
    vstring_free(&buf);
    vstring_free(&reply);
    vstring_free(&why);
    vstring_free(&addr);
    vstring_free(&x);
    vstring_free(&ct);
    return result;
}

/* smtp_proto_rset - probe a cached session */
int smtp_proto_rset(SMTP_SESSION *sess)
{
    VSTRING *reply = vstring_alloc(64);
    int code;

    stream_set_timeout(sess->stream, (int) var_smtp_helo_timeout);
    if (smtp_proto_cmd(sess, true, "RSET") < 0)
	code = -1;
    else
	code = smtp_reply_read(sess->stream, reply);
    vstring_free(&reply);
    return code / 100 == 2 ? 0 : -1;
}

/* smtp_proto_quit - QUIT, reply read with a short deadline */
void smtp_proto_quit(SMTP_SESSION *sess)
{
    VSTRING *reply = vstring_alloc(64);

    if (!(stream_flags(sess->stream) & (STREAM_F_ERROR | STREAM_F_TIMEOUT | STREAM_F_EOF))) {
	stream_set_timeout(sess->stream, (int) (var_smtp_quit_timeout < 10 ? var_smtp_quit_timeout : 10));
	if (smtp_proto_cmd(sess, true, "QUIT") == 0)
	    (void) smtp_reply_read(sess->stream, reply);
    }
    vstring_free(&reply);
}

/* smtp_session_free - see smtp.h */
void smtp_session_free(SMTP_SESSION **sessp)
{
    SMTP_SESSION *sess = *sessp;

    if (sess == NULL)
	return;
    smtp_proto_quit(sess);
    if (sess->tls)
	tls_session_stop(&sess->tls);
    stream_close(&sess->stream);
    myfree(sess->host);
    myfree(sess->addr);
    myfree(sess->namaddr);
    myfree(sess->dest_key);
    myfree(sess->auth_mechs);
    dns_rr_free(&sess->tlsa);
    myfree(sess);
    *sessp = NULL;
}
