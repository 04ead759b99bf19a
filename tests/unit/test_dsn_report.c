/* test_dsn_report - RFC 3464 notices: structure, RET, size limit, hostile
 * field values. Expected text is written out here, not computed. */
#include "unit.h"

#include <stdlib.h>

#include "dsn_report.h"
#include "mail_queue.h"
#include "msg.h"
#include "qfile.h"
#include "vstring.h"

static char root[] = "/tmp/ph-dsn-XXXXXX";

/* make_original - a queue file with this content; returns it opened */
static QFILE *make_original(const char *content)
{
    const char *err;
    QFILE_WRITER *qw = qfile_writer_create(MAIL_QUEUE_INCOMING, 0600, &err);
    char id[QUEUE_ID_MAX];
    QFILE *qf = NULL;

    if (qw == NULL)
	abort();
    snprintf(id, sizeof(id), "%s", qfile_writer_id(qw));
    if (qfile_writer_sender(qw, "s@example.com", &err) < 0
	|| qfile_writer_rcpt(qw, "r@example.org", NULL, 0, &err) < 0
	|| qfile_writer_content(qw, content, strlen(content), &err) < 0
	|| qfile_writer_finish(&qw, false, &err) < 0
	|| qfile_open(MAIL_QUEUE_INCOMING, id, QFILE_OPEN_RDONLY, &qf, &err) != QFILE_OK)
	abort();
    return qf;
}

static DSN_REPORT base_info(int kind)
{
    DSN_REPORT info = {
	.kind = kind, .queue_id = "QID1", .hostname = "mx.example.com",
	.mail_name = "Posthorn", .to = "s@example.com", .orig_sender = "s@example.com",
	.envid = "ENV-7", .ret = DSN_RET_DEFAULT, .arrival = 1000000000, .now = 1000000100,
	.message_id = "NEWID", .size_limit = 50000,
    };
    return info;
}

static int count(const char *hay, const char *needle)
{
    int n = 0;

    for (const char *cp = hay; (cp = strstr(cp, needle)) != NULL; cp++)
	n++;
    return n;
}

TEST(failure_structure)
{
    QFILE *qf = make_original("Subject: hello\nX-A: 1\n\nthe body\n");
    DSN_REPORT info = base_info(DSN_KIND_FAILURE);
    DSN_REPORT_RCPT r[] = {
	{"r@example.org", "rfc822;R@Example.org", "failed", "5.1.1", "mx.example.org",
	 "host said: 550 no such user"},
	{"t@example.org", "", "failed", "5.0.0", "", "bad"},
    };
    VSTRING *out = vstring_alloc(100);

    CHECK_INT(dsn_report_format(out, &info, r, 2, qf), 0);
    const char *s = STR(out);

    const char *head = "From: MAILER-DAEMON@mx.example.com (Mail Delivery System)\n"
	"To: <s@example.com>\nSubject: Undelivered Mail Returned to Sender\n"
	"Date: ";

    CHECK(strncmp(s, head, strlen(head)) == 0);
    CHECK(strstr(s, "Message-Id: <NEWID@mx.example.com>\n") != NULL);
    CHECK(strstr(s, "Content-Type: multipart/report; report-type=delivery-status;\n"
		 "\tboundary=\"NEWID.1000000100/mx.example.com\"\n") != NULL);
    CHECK_INT(count(s, "--NEWID.1000000100/mx.example.com\n"), 3);
    CHECK_INT(count(s, "--NEWID.1000000100/mx.example.com--\n"), 1);
    CHECK(strstr(s, "Content-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.com\n") != NULL);
    CHECK(strstr(s, "Original-Envelope-Id: ENV-7\n") != NULL);
    CHECK(strstr(s, "\nFinal-Recipient: rfc822; r@example.org\n"
		 "Original-Recipient: rfc822; R@Example.org\n"
		 "Action: failed\nStatus: 5.1.1\nRemote-MTA: dns; mx.example.org\n"
		 "Diagnostic-Code: X-Posthorn; host said: 550 no such user\n") != NULL);
    CHECK(strstr(s, "\nFinal-Recipient: rfc822; t@example.org\nAction: failed\n"
		 "Status: 5.0.0\nDiagnostic-Code: X-Posthorn; bad\n") != NULL);
    CHECK(strstr(s, "<r@example.org>: host said: 550 no such user\n") != NULL);
    CHECK(strstr(s, "Content-Type: message/rfc822\n\nSubject: hello\nX-A: 1\n\nthe body\n") != NULL);
    vstring_free(&out);
    qfile_close(&qf);
}

TEST(ret_hdrs_and_delay_cut_the_body)
{
    QFILE *qf = make_original("Subject: s\n\nSECRET\n");
    DSN_REPORT info = base_info(DSN_KIND_FAILURE);
    DSN_REPORT_RCPT r = {"r@example.org", "", "failed", "5.1.1", "", "x"};
    VSTRING *out = vstring_alloc(100);

    info.ret = DSN_RET_HDRS;
    dsn_report_format(out, &info, &r, 1, qf);
    CHECK(strstr(STR(out), "Content-Type: text/rfc822-headers\n\nSubject: s\n") != NULL);
    CHECK(strstr(STR(out), "SECRET") == NULL);
    info = base_info(DSN_KIND_DELAY);
    r.action = "delayed";
    dsn_report_format(out, &info, &r, 1, qf);
    CHECK(strstr(STR(out), "Subject: Delayed Mail (still being retried)\n") != NULL);
    CHECK(strstr(STR(out), "SECRET") == NULL);
    CHECK(strstr(STR(out), "Action: delayed\n") != NULL);
    vstring_free(&out);
    qfile_close(&qf);
}

TEST(size_limit_cuts_at_line_end)
{
    QFILE *qf = make_original("Subject: big\n\n0123456789\nabcdefghij\nKLMNOPQRST\n");
    DSN_REPORT info = base_info(DSN_KIND_FAILURE);
    DSN_REPORT_RCPT r = {"r@example.org", "", "failed", "5.1.1", "", "x"};
    VSTRING *out = vstring_alloc(100);

    info.size_limit = 30;	/* "Subject: big\n\n0123456789\nabc" -> cut after 789\n */
    dsn_report_format(out, &info, &r, 1, qf);
    CHECK(strstr(STR(out), "Subject: big\n\n0123456789\n\n--NEWID") != NULL);
    CHECK(strstr(STR(out), "abc") == NULL);
    vstring_free(&out);
    qfile_close(&qf);
}

TEST(hostile_values_cannot_inject)
{
    DSN_REPORT info = base_info(DSN_KIND_FAILURE);
    DSN_REPORT_RCPT r = {"r@example.org\nBcc: victim@example.net", "", "failed", "5.1.1", "",
			 "550 bad\n\n--NEWID.1000000100/mx.example.com\nContent-Type: text/html"};
    VSTRING *out = vstring_alloc(100);

    info.to = "s@example.com>\nBcc: <x@example.net";
    dsn_report_format(out, &info, &r, 1, NULL);
    CHECK(strstr(STR(out), "\nBcc:") == NULL);
    CHECK_INT(count(STR(out), "\n--NEWID.1000000100/mx.example.com\n"), 2);
    CHECK(strstr(STR(out), "\nContent-Type: text/html") == NULL);
    vstring_free(&out);
}

TEST(success_notice)
{
    DSN_REPORT info = base_info(DSN_KIND_SUCCESS);
    DSN_REPORT_RCPT r = {"r@example.org", "", "delivered", "2.0.0", "", "delivered to mailbox"};
    VSTRING *out = vstring_alloc(100);

    info.envid = NULL;
    CHECK_INT(dsn_report_format(out, &info, &r, 1, NULL), 0);
    CHECK(strstr(STR(out), "Subject: Successful Mail Delivery Report\n") != NULL);
    CHECK(strstr(STR(out), "Original-Envelope-Id") == NULL);
    CHECK(strstr(STR(out), "Action: delivered\nStatus: 2.0.0\n") != NULL);
    vstring_free(&out);
}

TEST(verify_report)
{
    DSN_REPORT info = base_info(DSN_KIND_VERIFY);
    DSN_REPORT_RCPT r[2] = {
	{"known@example.org", "", "deliverable", "2.0.0", "", "deliverable address"},
	{"unknown@example.org", "", "undeliverable", "5.1.1", "", "unknown user"},
    };
    VSTRING *out = vstring_alloc(100);

    CHECK_INT(dsn_report_format(out, &info, r, 2, NULL), 0);
    CHECK(strstr(STR(out), "Subject: Mail Delivery Status Report\n") != NULL);
    CHECK(strstr(STR(out), "report-type=delivery-status") != NULL);
    CHECK(strstr(STR(out), "mail delivery report that you requested") != NULL);
    CHECK(strstr(STR(out), "Final-Recipient: rfc822; known@example.org\n"
		 "Action: deliverable\nStatus: 2.0.0\n") != NULL);
    CHECK(strstr(STR(out), "Final-Recipient: rfc822; unknown@example.org\n"
		 "Action: undeliverable\nStatus: 5.1.1\n") != NULL);
    CHECK(strstr(STR(out), "Returned to Sender") == NULL);
    vstring_free(&out);
}

int main(void)
{
    const char *err;
    char cmd[128];
    int rc;

    msg_init("test_dsn_report", MSG_TO_STDERR);
    if (mkdtemp(root) == NULL)
	return 1;
    mail_queue_init(root, 1, "deferred defer bounce incoming active hold");
    if (mail_queue_mkdirs(0700, 0700, &err) < 0)
	return 1;
    RUN(failure_structure);
    RUN(ret_hdrs_and_delay_cut_the_body);
    RUN(size_limit_cuts_at_line_end);
    RUN(hostile_values_cannot_inject);
    RUN(success_notice);
    RUN(verify_report);
    rc = unit_done();
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
    if (system(cmd) != 0)
	rc = 1;
    return rc;
}
