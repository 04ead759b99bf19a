/* test_deliver_request - the qmgr <-> agent protocol and delay format. */
#include "sys_defs.h"

#include <sys/socket.h>
#include <unistd.h>

#include "deliver_request.h"
#include "msg.h"
#include "stream.h"
#include "vstring.h"
#include "unit.h"

TEST(test_delay_format)
{
    static const struct {
	double in;
	const char *out;
    } cases[] = {
	{0, "0"}, {0.0034, "0"}, {0.0099, "0"}, {0.01, "0.01"}, {0.057, "0.06"},
	{0.1, "0.1"}, {0.123, "0.12"}, {1.0, "1"}, {1.23, "1.2"}, {9.96, "10"},
	{13.4, "13"}, {303.7, "304"}, {-5, "0"},
    };
    VSTRING *buf = vstring_alloc(16);

    for (size_t i = 0; i < PH_ARRAY_LEN(cases); i++) {
	vstring_reset(buf);
	deliver_format_delay(buf, cases[i].in);
	CHECK_STR(STR(buf), cases[i].out);
    }
    vstring_free(&buf);
}

/* pair - a connected socket pair as two streams */
static void pair(STREAM **a, STREAM **b)
{
    int sv[2];

    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
	msg_fatal("socketpair: %m");
    *a = stream_fdopen(sv[0], true);
    *b = stream_fdopen(sv[1], true);
    stream_set_timeout(*a, 5);
    stream_set_timeout(*b, 5);
}

TEST(test_round_trip)
{
    STREAM *q, *agent;
    DELIVER_RCPT rcpts[2] = {
	{3, "bob@example.com", "alias@example.com", "rfc822;alias@example.com", 6},
	{7, "weird\nname@x", "", "", 0},
    };
    DELIVER_REQUEST req = {
	.queue_name = "active", .queue_id = "ABC123", .transport = "local",
	.nexthop = "example.com", .sender = "", .envid = "e%1", .ret = 2, .flags = 5,
	.arrival_sec = 1700000000, .arrival_usec = 5, .qmgr_sec = 1700000001, .qmgr_usec = 6,
	.client_name = "localhost", .client_addr = "127.0.0.1", .rcpts = rcpts, .rcpt_count = 2,
    };
    DELIVER_REQUEST got;
    const char *err = NULL;

    pair(&q, &agent);
    CHECK_INT(deliver_request_send(q, &req), 0);
    CHECK_INT(deliver_request_read(agent, &got, &err), 1);
    CHECK_STR(got.queue_id, "ABC123");
    CHECK_STR(got.sender, "");
    CHECK_STR(got.envid, "e%1");
    CHECK_INT(got.ret, 2);
    CHECK_INT(got.rcpt_count, 2);
    CHECK_INT(got.rcpts[0].index, 3);
    CHECK_STR(got.rcpts[0].orig_address, "alias@example.com");
    CHECK_INT(got.rcpts[0].notify, 6);
    CHECK_STR(got.rcpts[1].address, "weird\nname@x");
    deliver_request_free(&got);

    DELIVER_RESULT res = {0};
    int done = -1;
    CHECK_INT(deliver_result_send(agent, 3, DEL_STAT_DEFER, "4.2.2", "mailbox full"), 0);
    CHECK_INT(deliver_done_send(agent, 1), 0);
    CHECK_INT(deliver_result_read(q, &res, &done, &err), 1);
    CHECK_INT(res.rcpt_index, 3);
    CHECK_INT(res.status, DEL_STAT_DEFER);
    CHECK_STR(res.dsn, "4.2.2");
    CHECK_STR(STR(res.reason), "mailbox full");
    CHECK_STR(res.mta, "");
    CHECK_INT(deliver_result_read(q, &res, &done, &err), 0);
    CHECK_INT(done, 1);

    /* with the remote MTA; then one whose name would break a DSN line */
    CHECK_INT(deliver_result_send_mta(agent, 4, DEL_STAT_BOUNCE, "5.1.1", "said: 550",
				      "mx.example.com"), 0);
    CHECK_INT(deliver_result_send_mta(agent, 5, DEL_STAT_BOUNCE, "5.1.1", "x",
				      "evil\nReporting-MTA: x"), 0);
    CHECK_INT(deliver_done_send(agent, 2), 0);
    CHECK_INT(deliver_result_read(q, &res, &done, &err), 1);
    CHECK_INT(res.rcpt_index, 4);
    CHECK_STR(res.mta, "mx.example.com");
    CHECK_INT(deliver_result_read(q, &res, &done, &err), -1);
    CHECK_STR(err, "bad remote MTA name");
    vstring_free(&res.reason);
    stream_close(&q);
    stream_close(&agent);
}

/* feed - write raw text to one end, try to read a request at the other */
static int feed(const char *text, const char **err)
{
    STREAM *a, *b;
    DELIVER_REQUEST got;
    int n;

    pair(&a, &b);
    stream_puts(a, text);
    stream_flush(a);
    stream_close(&a);
    n = deliver_request_read(b, &got, err);
    if (n == 1)
	deliver_request_free(&got);
    stream_close(&b);
    return n;
}

TEST(test_hostile_requests)
{
    const char *err;
    const char *head = "request=deliver\nqueue_name=active\nqueue_id=X\ntransport=local\n"
	"nexthop=h\nsender=s\nenvid=\nret=0\nflags=0\narrival_sec=1\narrival_usec=0\n"
	"qmgr_sec=1\nqmgr_usec=0\nclient_name=\nclient_addr=\n";
    VSTRING *buf = vstring_alloc(512);

    CHECK_INT(feed("", &err), 0);
    CHECK_INT(feed("request=deliver\n", &err), -1);
    CHECK_INT(feed("request=other\n\n", &err), -1);
    vstring_fmt(buf, "%srcpt_count=0\n\n", head);
    CHECK_INT(feed(STR(buf), &err), -1);
    vstring_fmt(buf, "%srcpt_count=999999999\n\n", head);
    CHECK_INT(feed(STR(buf), &err), -1);
    vstring_fmt(buf, "%srcpt_count=2\n\nrcpt_index=0\naddress=a\norig_address=\norcpt=\nnotify=0\n\n", head);
    CHECK_INT(feed(STR(buf), &err), -1);	/* second recipient missing */
    vstring_fmt(buf, "%srcpt_count=1\n\nrcpt_index=0\naddress=a\norig_address=\norcpt=\nnotify=0\n\n", head);
    CHECK_INT(feed(STR(buf), &err), 1);
    vstring_fmt(buf, "%srcpt_count=1\n\nrcpt_index=x\naddress=a\norig_address=\norcpt=\nnotify=0\n\n", head);
    CHECK_INT(feed(STR(buf), &err), -1);
    vstring_free(&buf);
}

TEST(test_hostile_results)
{
    static const char *const bad[] = {
	"rcpt_index=1\nstatus=9\ndsn=2.0.0\nreason=x\n\n",
	"rcpt_index=-1\nstatus=0\ndsn=2.0.0\nreason=x\n\n",
	"rcpt_index=1\nstatus=0\ndsn=2.0.0\n\n",
	"rcpt_index=1\nstatus=0\ndsn=2.0.0\nreason=x\nextra=1\n\n",
	"garbage\n\n",
	"",
    };

    for (size_t i = 0; i < PH_ARRAY_LEN(bad); i++) {
	STREAM *a, *b;
	DELIVER_RESULT res = {0};
	const char *err = NULL;
	int done = 0;

	pair(&a, &b);
	stream_puts(a, bad[i]);
	stream_flush(a);
	stream_close(&a);
	CHECK_INT(deliver_result_read(b, &res, &done, &err), -1);
	CHECK(err != NULL);
	vstring_free(&res.reason);
	stream_close(&b);
    }
}

int main(void)
{
    msg_init("test_deliver_request", MSG_TO_STDERR);
    RUN(test_delay_format);
    RUN(test_round_trip);
    RUN(test_hostile_requests);
    RUN(test_hostile_results);
    return unit_done();
}
