/* test_login_split - the pre-login helpers shared by imapd and pop3d: the
 * plaintext rule, peer addresses, the userdb mail= override, and the
 * leftover feed of a handed-over session. The fork/privilege part needs
 * root and a whole instance: tests/integration/test_pop3_split.py and
 * test_imapd.py::test_login_split_as_root. */
#include "sys_defs.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "argv.h"
#include "config.h"
#include "login_split.h"
#include "mymalloc.h"
#include "stream.h"
#include "vstring.h"
#include "unit.h"

TEST(plaintext_rule)
{
    static const struct {
	const char *ssl;
	bool    disable, tls, secured, want;
    }       t[] = {
	{"yes", true, false, false, false},	/* the default: insecure refused */
	{"yes", true, false, true, true},	/* secured (loopback / same address) */
	{"yes", true, true, true, true},
	{"yes", false, false, false, true},	/* disable_plaintext_auth = no */
	{"no", true, false, false, false},
	{"no", false, false, false, true},
	{"required", false, false, false, false},	/* required: TLS only */
	{"required", false, false, true, false},
	{"required", true, true, true, true},
	{"REQUIRED", false, false, true, false},
    };
    char   *saved_ssl = var_ssl;
    bool    saved_disable = var_disable_plaintext_auth;

    for (size_t i = 0; i < PH_ARRAY_LEN(t); i++) {
	var_ssl = (char *) t[i].ssl;
	var_disable_plaintext_auth = t[i].disable;
	if (login_plaintext_ok(t[i].tls, t[i].secured) != t[i].want)
	    UNIT_FAIL("case %zu: ssl=%s disable=%d tls=%d secured=%d", i, t[i].ssl,
		      t[i].disable, t[i].tls, t[i].secured);
    }
    var_ssl = saved_ssl;
    var_disable_plaintext_auth = saved_disable;
}

/* tcp_pair - a connected loopback TCP pair, client bound to src */
static int tcp_pair(const char *src, int *server_r)
{
    struct sockaddr_in a = {.sin_family = AF_INET}, b = {.sin_family = AF_INET};
    socklen_t len = sizeof(a);
    int     l = socket(AF_INET, SOCK_STREAM, 0), c = socket(AF_INET, SOCK_STREAM, 0);

    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    inet_pton(AF_INET, src, &b.sin_addr);
    if (l < 0 || c < 0 || bind(l, (struct sockaddr *) &a, sizeof(a)) < 0 || listen(l, 1) < 0
	|| getsockname(l, (struct sockaddr *) &a, &len) < 0
	|| bind(c, (struct sockaddr *) &b, sizeof(b)) < 0
	|| connect(c, (struct sockaddr *) &a, sizeof(a)) < 0
	|| (*server_r = accept(l, NULL, NULL)) < 0) {
	if (l >= 0)
	    close(l);
	if (c >= 0)
	    close(c);
	return -1;
    }
    close(l);
    return c;
}

TEST(peer_addresses)
{
    char    rip[64], lip[64];
    bool    loopback = false;
    int     sv[2], s, c;

    /* -S stand-alone: a socketpair counts as 127.0.0.1 */
    CHECK_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    login_peer_addresses(sv[0], rip, lip, sizeof(rip), &loopback);
    CHECK_STR(rip, "127.0.0.1");
    CHECK_STR(lip, "127.0.0.1");
    CHECK(loopback);
    close(sv[0]);
    close(sv[1]);
    /* a client on 127.0.0.2 talking to 127.0.0.1: loopback, other address */
    c = tcp_pair("127.0.0.2", &s);
    CHECK(c >= 0);
    if (c >= 0) {
	loopback = false;
	login_peer_addresses(s, rip, lip, sizeof(rip), &loopback);
	CHECK_STR(rip, "127.0.0.2");
	CHECK_STR(lip, "127.0.0.1");
	CHECK(loopback);
	close(s);
	close(c);
    }
    /* a short buffer is never overrun */
    c = tcp_pair("127.0.0.1", &s);
    CHECK(c >= 0);
    if (c >= 0) {
	char    small[4];

	login_peer_addresses(s, small, lip, sizeof(small), &loopback);
	CHECK(strlen(small) < sizeof(small));
	close(s);
	close(c);
    }
}

TEST(mail_location)
{
    AUTH_CLIENT_USER *u = auth_client_user_alloc();
    char   *saved = var_mail_location;

    var_mail_location = "maildir:~/Maildir";
    CHECK_STR(login_mail_location(u), "maildir:~/Maildir");
    argv_add(u->extra, "quota=1G", "mailx=nope", "mail=maildir:/var/vmail/%u", (char *) 0);
    CHECK_STR(login_mail_location(u), "maildir:/var/vmail/%u");
    auth_client_user_free(&u);
    var_mail_location = saved;
}

TEST(feed_leftover_first)
{
    int     sv[2];
    STREAM *sp;
    VSTRING *line = vstring_alloc(32);
    LOGIN_HANDOVER h = {.tag = "-", .user = "u", .mech = "PLAIN"};
    char    left[] = "STAT\r\nLI";

    CHECK_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    h.left = left;
    h.left_len = strlen(left);
    sp = stream_fdopen(sv[0], true);
    stream_set_timeout(sp, 5);
    login_split_feed(sp, &h);
    CHECK_INT(write(sv[1], "ST\r\nQUIT\r\n", 10), 10);
    close(sv[1]);
    CHECK_INT(stream_getline(sp, line, 100, NULL), 1);
    CHECK_STR(STR(line), "STAT\r");
    CHECK_INT(stream_getline(sp, line, 100, NULL), 1);
    CHECK_STR(STR(line), "LIST\r");	/* leftover and socket bytes joined */
    CHECK_INT(stream_getline(sp, line, 100, NULL), 1);
    CHECK_STR(STR(line), "QUIT\r");
    CHECK_INT(stream_getline(sp, line, 100, NULL), 0);
    stream_close(&sp);
    /* nothing left over: the stream keeps its own I/O */
    CHECK_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    h.left_len = h.left_pos = 0;
    sp = stream_fdopen(sv[0], true);
    login_split_feed(sp, &h);
    CHECK_INT(write(sv[1], "NOOP\n", 5), 5);
    close(sv[1]);
    CHECK_INT(stream_getline(sp, line, 100, NULL), 1);
    CHECK_STR(STR(line), "NOOP");
    stream_close(&sp);
    vstring_free(&line);
}

#define COOKIE "0123456789abcdef0123456789ABCDEF"

TEST(parse_report_good)
{
    const char *err = NULL;
    LOGIN_HANDOVER *h = login_split_parse_report("a1\tuser@example.com\tPLAIN\t1\t" COOKIE
						 "\t42\t7", &err);

    if (h == NULL)
	UNIT_FAIL("good report refused: %s", err);
    CHECK_STR(h->tag, "a1");
    CHECK_STR(h->user, "user@example.com");
    CHECK_STR(h->mech, "PLAIN");
    CHECK_INT(h->tls, 1);
    CHECK_STR(h->cookie, COOKIE);
    CHECK_INT(h->auth_id, 42);
    CHECK_INT(h->left_len, 7);
    CHECK_INT(h->left_pos, 0);
    CHECK_INT(h->pid, 0);
    memcpy(h->left, "NOOP\r\n\n", 7);	/* room for left_len bytes */
    login_split_handover_free(&h);
    CHECK(h == NULL);
    h = login_split_parse_report("-\tu\tLOGIN\t0\t" COOKIE "\t4294967295\t1048576", &err);
    CHECK(h != NULL);
    CHECK_INT(h->tls, 0);
    CHECK_INT(h->auth_id, 4294967295U);
    CHECK_INT(h->left_len, 1024 * 1024);
    login_split_handover_free(&h);
    login_split_handover_free(&h);	/* NULL is fine */
}

TEST(parse_report_hostile)
{
    static const char *bad[] = {
	"",
	"\t\t\t\t\t\t",
	"a\tu\tPLAIN\t0\t" COOKIE "\t1",			/* 6 fields */
	"a\tu\tPLAIN\t0\t" COOKIE "\t1\t0\textra",		/* 8 fields */
	"a\t\tPLAIN\t0\t" COOKIE "\t1\t0",			/* empty user: fields shift */
	"a\tu\tPLAIN\t2\t" COOKIE "\t1\t0",			/* tls flag */
	"a\tu\tPLAIN\t01\t" COOKIE "\t1\t0",
	"a\tu\tPLAIN\t\x31\x00",				/* NUL cuts the line */
	"a\tu\tPLAIN\t0\t0123456789abcdef0123456789abcdeg\t1\t0",	/* cookie */
	"a\tu\tPLAIN\t0\t0123456789abcdef0123456789abcde\t1\t0",
	"a\tu\tPLAIN\t0\t0123456789abcdef0123456789abcdef0\t1\t0",
	"a\tu\tPLAIN\t0\t" COOKIE "\t0\t0",			/* id 0 */
	"a\tu\tPLAIN\t0\t" COOKIE "\t4294967296\t0",		/* id > 2^32-1 */
	"a\tu\tPLAIN\t0\t" COOKIE "\t99999999999999999999999\t0",
	"a\tu\tPLAIN\t0\t" COOKIE "\t-1\t0",
	"a\tu\tPLAIN\t0\t" COOKIE "\t1x\t0",
	"a\tu\tPLAIN\t0\t" COOKIE "\t1\t1048577",		/* leftover > 1 MiB */
	"a\tu\tPLAIN\t0\t" COOKIE "\t1\t18446744073709551615",
	"a\tu\tPLAIN\t0\t" COOKIE "\t1\t99999999999999999999999",
	"a\tu\tPLAIN\t0\t" COOKIE "\t1\t-1",
	"a\tu\tPLAIN\t0\t" COOKIE "\t1\t5 ",
	"a\tu\tPLAIN\t0\t" COOKIE "\t1\t0x10",
	/* strtoul's leniency: sign, leading space, wrap-around of "-" */
	"a\tu\tPLAIN\t0\t" COOKIE "\t-18446744073709551615\t0",	/* wrapped to 1 */
	"a\tu\tPLAIN\t0\t" COOKIE "\t+1\t0",
	"a\tu\tPLAIN\t0\t" COOKIE "\t 1\t0",
	"a\tu\tPLAIN\t0\t" COOKIE "\t1\t-0",
	"a\tu\tPLAIN\t0\t" COOKIE "\t1\t+5",
	"a\tu\tPLAIN\t0\t" COOKIE "\t1\t 5",
	"a\tu\tPLAIN\t0\t" COOKIE "\t1\t-18446744073709551615",	/* wrapped to 1 */
    };

    for (size_t i = 0; i < PH_ARRAY_LEN(bad); i++) {
	const char *err = NULL;
	LOGIN_HANDOVER *h = login_split_parse_report(bad[i], &err);

	if (h != NULL) {
	    login_split_handover_free(&h);
	    UNIT_FAIL("case %zu: hostile report accepted", i);
	} else if (err == NULL || *err == 0) {
	    UNIT_FAIL("case %zu: no error text", i);
	}
    }
}

TEST(post_round_trip)
{
    LOGIN_POST in = {
	.tag = "a1", .user = "alice@example.com", .mech = "PLAIN", .tls = true,
	.secured = true, .rip = "2001:db8::1", .lip = "127.0.0.1", .home = "",
	.mail = "maildir:~/Maildir:INDEX=/var/idx/%u", .left_len = 42,
    };
    VSTRING *line = vstring_alloc(64);
    const char *err = NULL;
    LOGIN_POST *out;

    CHECK(login_post_format(line, &in));
    CHECK(LEN(line) > 0 && STR(line)[LEN(line) - 1] == '\n');
    vstring_truncate(line, LEN(line) - 1);
    out = login_post_parse(STR(line), &err);
    if (out == NULL)
	UNIT_FAIL("own line refused: %s", err);
    CHECK_STR(out->tag, "a1");
    CHECK_STR(out->user, "alice@example.com");
    CHECK_STR(out->mech, "PLAIN");
    CHECK_INT(out->tls, 1);
    CHECK_INT(out->secured, 1);
    CHECK_STR(out->rip, "2001:db8::1");
    CHECK_STR(out->lip, "127.0.0.1");
    CHECK_STR(out->home, "");		/* an empty field keeps its place */
    CHECK_STR(out->mail, "maildir:~/Maildir:INDEX=/var/idx/%u");
    CHECK_INT(out->left_len, 42);
    login_post_free(&out);
    CHECK(out == NULL);
    login_post_free(&out);
    /* what cannot be sent is refused on the sending side */
    in.home = "/home/a\tb";
    CHECK(!login_post_format(line, &in));
    in.home = "/home/a";
    in.user = "";
    CHECK(!login_post_format(line, &in));
    in.user = "a\r\nb";
    CHECK(!login_post_format(line, &in));
    in.user = "alice";
    in.left_len = LOGIN_POST_MAX_LEFT + 1;
    CHECK(!login_post_format(line, &in));
    vstring_free(&line);
}

TEST(post_parse_hostile)
{
    static const char *bad[] = {
	"",
	"POST1",
	"\t\t\t\t\t\t\t\t\t\t",
	"POST2\ta\tu\tPLAIN\t0\t0\t1.2.3.4\t127.0.0.1\t/h\tmaildir:~/M\t0",
	"POST1\ta\tu\tPLAIN\t0\t0\t1.2.3.4\t127.0.0.1\t/h\tmaildir:~/M",
	"POST1\ta\tu\tPLAIN\t0\t0\t1.2.3.4\t127.0.0.1\t/h\tmaildir:~/M\t0\t",
	"POST1\t\tu\tPLAIN\t0\t0\t1.2.3.4\t127.0.0.1\t/h\tmaildir:~/M\t0",
	"POST1\ta\t\tPLAIN\t0\t0\t1.2.3.4\t127.0.0.1\t/h\tmaildir:~/M\t0",
	"POST1\ta\tu\tPLAIN\t0\t0\t1.2.3.4\t127.0.0.1\t/h\t\t0",
	"POST1\ta\tu\tPLAIN\t2\t0\t1.2.3.4\t127.0.0.1\t/h\tmaildir:~/M\t0",
	"POST1\ta\tu\tPLAIN\t0\t01\t1.2.3.4\t127.0.0.1\t/h\tmaildir:~/M\t0",
	"POST1\ta\tu\tPLAIN\t0\t0\t1.2.3.4\t127.0.0.1\t/h\tmaildir:~/M\t-1",
	"POST1\ta\tu\tPLAIN\t0\t0\t1.2.3.4\t127.0.0.1\t/h\tmaildir:~/M\t+1",
	"POST1\ta\tu\tPLAIN\t0\t0\t1.2.3.4\t127.0.0.1\t/h\tmaildir:~/M\t 1",
	"POST1\ta\tu\tPLAIN\t0\t0\t1.2.3.4\t127.0.0.1\t/h\tmaildir:~/M\t1x",
	"POST1\ta\tu\tPLAIN\t0\t0\t1.2.3.4\t127.0.0.1\t/h\tmaildir:~/M\t1114113",
	"POST1\ta\tu\tPLAIN\t0\t0\t1.2.3.4\t127.0.0.1\t/h\tmaildir:~/M\t18446744073709551617",
	"POST1\ta\tu\tPLAIN\t0\t0\t1.2.3.4\t127.0.0.1\t/h\tmaildir:~/M\t",
	"POST1\ta\tu\tPLAIN\t0\t0\t1.2.3.4\t127.0.0.1\t/h\tmaildir:~/M\t007",	/* one spelling */
	"POST1\ta\tu\r\tPLAIN\t0\t0\t1.2.3.4\t127.0.0.1\t/h\tmaildir:~/M\t0",
	"POST1\ta\tu\tPLAIN\t0\t0\t1.2.3.4\t127.0.0.1\t/h\nX\tmaildir:~/M\t0",
    };
    VSTRING *huge = vstring_alloc(LOGIN_POST_MAX_LINE + 64);
    const char *err;
    LOGIN_POST *p;

    for (size_t i = 0; i < PH_ARRAY_LEN(bad); i++) {
	err = NULL;
	if ((p = login_post_parse(bad[i], &err)) != NULL) {
	    login_post_free(&p);
	    UNIT_FAIL("case %zu: hostile line accepted", i);
	} else if (err == NULL || *err == 0) {
	    UNIT_FAIL("case %zu: no error text", i);
	}
    }
    vstring_set(huge, "POST1\ta\tu\tPLAIN\t0\t0\t1.2.3.4\t127.0.0.1\t/");
    while (LEN(huge) <= LOGIN_POST_MAX_LINE)
	vstring_addch(huge, 'h');
    vstring_cat(huge, "\tmaildir:~/M\t0");
    CHECK(login_post_parse(STR(huge), &err) == NULL);
    /* the largest leftover is fine */
    p = login_post_parse("POST1\ta\tu\tPLAIN\t1\t1\t1.2.3.4\t127.0.0.1\t\tmaildir:~/M\t1114112",
			 &err);
    CHECK(p != NULL && p->left_len == LOGIN_POST_MAX_LEFT);
    login_post_free(&p);
    vstring_free(&huge);
}

int     main(void)
{
    RUN(plaintext_rule);
    RUN(peer_addresses);
    RUN(mail_location);
    RUN(feed_leftover_first);
    RUN(parse_report_good);
    RUN(parse_report_hostile);
    RUN(post_round_trip);
    RUN(post_parse_hostile);
    return unit_done();
}
