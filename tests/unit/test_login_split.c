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

int     main(void)
{
    RUN(plaintext_rule);
    RUN(peer_addresses);
    RUN(mail_location);
    RUN(feed_leftover_first);
    return unit_done();
}
