/* dsn_report - RFC 3464 delivery status notification text.
 *
 * Contract: see dsn_report.h. Builds the notice in memory; the original
 * message part is bounded by size_limit, so memory is bounded by the
 * envelope size plus size_limit. No allocation failure modes (mymalloc).
 */
#include "sys_defs.h"

#include <string.h>
#include <time.h>

#include "dsn_report.h"
#include "msg.h"
#include "vstring.h"

/* dsn_report_clean - append text with control characters as spaces */
static void dsn_report_clean(VSTRING *out, const char *text)
{
    for (const unsigned char *cp = (const unsigned char *) (text ? text : ""); *cp; cp++)
	vstring_addch(out, (*cp < 0x20 || *cp == 0x7f) ? ' ' : *cp);
}

/* dsn_report_date - RFC 5322 date */
void dsn_report_date(VSTRING *out, long t)
{
    time_t tt = (time_t) t;
    struct tm tm;
    char buf[64];

    localtime_r(&tt, &tm);
    if (strftime(buf, sizeof(buf), "%a, %d %b %Y %H:%M:%S %z", &tm) == 0)
	buf[0] = 0;
    vstring_cat(out, buf);
}

/* dsn_report_subject - subject line by kind */
static const char *dsn_report_subject(int kind)
{
    switch (kind) {
    case DSN_KIND_DELAY:
	return "Delayed Mail (still being retried)";
    case DSN_KIND_SUCCESS:
	return "Successful Mail Delivery Report";
    case DSN_KIND_2BOUNCE:
	return "Undeliverable bounce message";
    case DSN_KIND_VERIFY:
	return "Mail Delivery Status Report";
    default:
	return "Undelivered Mail Returned to Sender";
    }
}

/* dsn_report_intro - the human-readable explanation */
static void dsn_report_intro(VSTRING *out, const DSN_REPORT *info)
{
    vstring_fmt_append(out, "This is the mail system at host ");
    dsn_report_clean(out, info->hostname);
    vstring_cat(out, ".\n\n");
    switch (info->kind) {
    case DSN_KIND_DELAY:
	vstring_cat(out, "####################################################################\n"
		    "# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #\n"
		    "####################################################################\n\n"
		    "Your message could not be delivered yet to one or more recipients.\n"
		    "It will be retried until it is too old; the reasons are below.\n\n");
	break;
    case DSN_KIND_SUCCESS:
	vstring_cat(out, "Your message was successfully delivered to the destination(s)\n"
		    "listed below. If the message was delivered to a mailbox you will\n"
		    "receive no further notifications.\n\n");
	break;
    case DSN_KIND_2BOUNCE:
	vstring_cat(out, "A delivery status notification (or other mail with the null\n"
		    "sender) could not be delivered. It cannot be returned, so this\n"
		    "copy goes to the postmaster.\n\n");
	break;
    case DSN_KIND_VERIFY:
	vstring_cat(out, "Enclosed is the mail delivery report that you requested.\n"
		    "No message was delivered: each recipient address was only\n"
		    "verified.\n\n");
	break;
    default:
	vstring_cat(out, "I'm sorry to have to inform you that your message could not\n"
		    "be delivered to one or more recipients. It's attached below.\n\n"
		    "For further assistance, please send mail to postmaster.\n\n"
		    "If you do so, please include this problem report. You can\n"
		    "delete your own text from the attached returned message.\n\n");
	break;
    }
    vstring_cat(out, "                   The ");
    dsn_report_clean(out, info->mail_name);
    vstring_cat(out, " program\n\n");
}

/* dsn_report_original - append up to limit bytes of the original; headers
 * only stops at the first empty line. -1 on a read error. */
static int dsn_report_original(VSTRING *out, const QFILE *qf, bool headers_only, long limit)
{
    char buf[8192];
    off_t off = 0;
    size_t start = LEN(out);
    bool at_bol = true;
    ssize_t n;

    if (limit < 0)
	limit = 0;
    while (off < qf->content_size && (long) (LEN(out) - start) < limit) {
	size_t want = sizeof(buf);

	if ((long) want > limit - (long) (LEN(out) - start))
	    want = (size_t) (limit - (long) (LEN(out) - start));
	if ((n = qfile_content_read(qf, off, buf, want)) < 0)
	    return -1;
	if (n == 0)
	    break;
	for (ssize_t i = 0; i < n; i++) {
	    if (headers_only && at_bol && buf[i] == '\n')
		return 0;
	    vstring_addch(out, buf[i]);
	    at_bol = buf[i] == '\n';
	}
	off += n;
    }
    /* Cut a truncated original at a line end, so no partial line remains. */
    if (LEN(out) > start && STR(out)[LEN(out) - 1] != '\n') {
	size_t len = LEN(out);

	while (len > start && STR(out)[len - 1] != '\n')
	    len--;
	vstring_truncate(out, len);
    }
    return 0;
}

/* dsn_report_format - the whole notice */
int dsn_report_format(VSTRING *out, const DSN_REPORT *info, const DSN_REPORT_RCPT *rcpts,
		      int count, const QFILE *original)
{
    VSTRING *boundary = vstring_alloc(100);
    int status = 0;
    bool headers_only;

    vstring_reset(out);
    vstring_fmt(boundary, "%s.%ld/", info->message_id, info->now);
    dsn_report_clean(boundary, info->hostname);

    /* Message headers. */
    vstring_cat(out, "From: MAILER-DAEMON@");
    dsn_report_clean(out, info->hostname);
    vstring_cat(out, " (Mail Delivery System)\nTo: <");
    dsn_report_clean(out, info->to);
    vstring_fmt_append(out, ">\nSubject: %s\nDate: ", dsn_report_subject(info->kind));
    dsn_report_date(out, info->now);
    vstring_cat(out, "\nMessage-Id: <");
    dsn_report_clean(out, info->message_id);
    vstring_cat(out, "@");
    dsn_report_clean(out, info->hostname);
    vstring_cat(out, ">\nAuto-Submitted: auto-replied\nMIME-Version: 1.0\n"
		"Content-Type: multipart/report; report-type=delivery-status;\n"
		"\tboundary=\"");
    vstring_catn(out, STR(boundary), LEN(boundary));
    vstring_cat(out, "\"\nContent-Transfer-Encoding: 8bit\n\n"
		"This is a MIME-encapsulated message.\n\n");

    /* Part 1: human-readable. */
    vstring_fmt_append(out, "--%s\nContent-Description: Notification\n"
		       "Content-Type: text/plain; charset=us-ascii\n\n", STR(boundary));
    dsn_report_intro(out, info);
    for (int i = 0; i < count; i++) {
	vstring_cat(out, "<");
	dsn_report_clean(out, rcpts[i].address);
	vstring_cat(out, ">: ");
	dsn_report_clean(out, rcpts[i].reason);
	vstring_cat(out, "\n\n");
    }

    /* Part 2: machine-readable. */
    vstring_fmt_append(out, "--%s\nContent-Description: Delivery report\n"
		       "Content-Type: message/delivery-status\n\n", STR(boundary));
    vstring_cat(out, "Reporting-MTA: dns; ");
    dsn_report_clean(out, info->hostname);
    vstring_cat(out, "\nX-Posthorn-Queue-ID: ");
    dsn_report_clean(out, info->queue_id);
    vstring_cat(out, "\nX-Posthorn-Sender: rfc822; ");
    dsn_report_clean(out, info->orig_sender);
    if (info->envid && *info->envid) {
	vstring_cat(out, "\nOriginal-Envelope-Id: ");
	dsn_report_clean(out, info->envid);
    }
    vstring_cat(out, "\nArrival-Date: ");
    dsn_report_date(out, info->arrival);
    vstring_cat(out, "\n");
    for (int i = 0; i < count; i++) {
	const DSN_REPORT_RCPT *r = rcpts + i;

	vstring_cat(out, "\nFinal-Recipient: rfc822; ");
	dsn_report_clean(out, r->address);
	if (r->orcpt && *r->orcpt) {
	    const char *semi = strchr(r->orcpt, ';');

	    vstring_cat(out, "\nOriginal-Recipient: ");
	    if (semi) {
		vstring_catn(out, r->orcpt, (size_t) (semi - r->orcpt));
		vstring_cat(out, "; ");
		dsn_report_clean(out, semi + 1 + strspn(semi + 1, " "));
	    } else {
		vstring_cat(out, "rfc822; ");
		dsn_report_clean(out, r->orcpt);
	    }
	}
	vstring_cat(out, "\nAction: ");
	dsn_report_clean(out, r->action);
	vstring_cat(out, "\nStatus: ");
	dsn_report_clean(out, r->status);
	if (r->mta && *r->mta) {
	    vstring_cat(out, "\nRemote-MTA: dns; ");
	    dsn_report_clean(out, r->mta);
	}
	vstring_cat(out, "\nDiagnostic-Code: X-Posthorn; ");
	dsn_report_clean(out, r->reason);
	vstring_cat(out, "\n");
    }

    /* Part 3: the original (or its headers). */
    if (original) {
	headers_only = info->ret == DSN_RET_HDRS || info->kind != DSN_KIND_FAILURE;
	vstring_fmt_append(out, "\n--%s\nContent-Description: %s\nContent-Type: %s\n\n",
			   STR(boundary),
			   headers_only ? "Undelivered Message Headers" : "Undelivered Message",
			   headers_only ? "text/rfc822-headers" : "message/rfc822");
	if (dsn_report_original(out, original, headers_only, info->size_limit) < 0)
	    status = -1;
	if (LEN(out) && STR(out)[LEN(out) - 1] != '\n')
	    vstring_addch(out, '\n');
    }
    vstring_fmt_append(out, "\n--%s--\n", STR(boundary));
    vstring_free(&boundary);
    return status;
}
