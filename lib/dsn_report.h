/* dsn_report.h - RFC 3464 delivery status notifications (bounces, delay
 * warnings, success notices) as message text.
 *
 * dsn_report_format() writes one complete message (headers + body, LF
 * line endings, as queue file content) into a VSTRING:
 *
 *   From: MAILER-DAEMON@<reporting host> (Mail Delivery System)
 *   To: <original sender>, Subject by kind, Date, Message-Id,
 *   Auto-Submitted: auto-replied, MIME-Version: 1.0,
 *   Content-Type: multipart/report; report-type=delivery-status;
 *   then three parts:
 *     1. text/plain: the human-readable explanation, one line per recipient
 *     2. message/delivery-status: per-message fields (Reporting-MTA,
 *        Original-Envelope-Id, Arrival-Date, X-Posthorn-Queue-ID, ...),
 *        then one block per recipient (Final-Recipient, Original-Recipient
 *        when known, Action, Status, Remote-MTA when known,
 *        Diagnostic-Code)
 *     3. the original message: text/rfc822-headers (ret HDRS, or a
 *        delay/success notice) or message/rfc822 (ret FULL / default for
 *        failures), never more than size_limit bytes (cut at a line end)
 *
 * The original is read from the QFILE's content (pread); a read error
 * leaves the third part shorter and is reported by the -1 return value
 * (the notice text is still complete and usable). Field values are
 * sanitized: control characters become spaces, so a hostile reason text
 * or address cannot inject headers or MIME structure.
 */
#ifndef DSN_REPORT_H
#define DSN_REPORT_H

#include "sys_defs.h"
#include "vstring.h"
#include "qfile.h"

#define DSN_KIND_FAILURE 0	/* "Undelivered Mail Returned to Sender" */
#define DSN_KIND_DELAY   1	/* "Delayed Mail (still being retried)" */
#define DSN_KIND_SUCCESS 2	/* "Successful Mail Delivery Report" */
#define DSN_KIND_2BOUNCE 3	/* "Undeliverable mail" to the postmaster */
#define DSN_KIND_VERIFY  4	/* "Mail Delivery Status Report" (sendmail -bv):
				 * actions deliverable / undeliverable */

#define DSN_RET_DEFAULT 0
#define DSN_RET_FULL    1
#define DSN_RET_HDRS    2

typedef struct dsn_report_rcpt {
    const char *address;	/* Final-Recipient */
    const char *orcpt;		/* "rfc822;a@b" or "" */
    const char *action;		/* failed, delayed, delivered, relayed, expanded,
				 * deliverable, undeliverable (verify) */
    const char *status;		/* "5.1.1" */
    const char *mta;		/* remote MTA or "" */
    const char *reason;		/* diagnostic text */
} DSN_REPORT_RCPT;

typedef struct dsn_report {
    int     kind;		/* DSN_KIND_* */
    const char *queue_id;	/* of the original message */
    const char *hostname;	/* Reporting-MTA (myhostname) */
    const char *mail_name;	/* "Posthorn" */
    const char *to;		/* recipient of the notice (the original sender) */
    const char *orig_sender;	/* sender of the original */
    const char *envid;		/* ENVID or NULL/"" */
    int     ret;		/* DSN_RET_* */
    long    arrival;		/* original arrival time */
    long    now;		/* for Date: and the Message-Id */
    const char *message_id;	/* unique token for Message-Id/boundary */
    long    size_limit;		/* bounce_size_limit */
} DSN_REPORT;

/* dsn_report_format - the notice for count recipients into out (replaces
 * its contents); original may be NULL (no third part). 0, or -1 when the
 * original could not be read completely. */
int dsn_report_format(VSTRING *out, const DSN_REPORT *info, const DSN_REPORT_RCPT *rcpts,
		      int count, const QFILE *original);
/* dsn_report_date - RFC 5322 date of t (local time) into out (appends) */
void dsn_report_date(VSTRING *out, long t);

#endif
