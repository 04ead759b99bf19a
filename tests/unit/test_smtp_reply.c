/* test_smtp_reply - the SMTP/LMTP reply reader and enhanced status codes,
 * including hostile replies (bad codes, changing codes, endless
 * continuation, overlong lines, EOF inside a reply).
 */
#include "sys_defs.h"

#include <string.h>

#include "argv.h"
#include "smtp_reply.h"
#include "stream.h"
#include "vstring.h"
#include "mem_stream.h"
#include "unit.h"

/* read_one - code and text of the first reply in data */
static int read_one(const char *data, size_t len, VSTRING *text, ARGV *lines)
{
    MEM_STREAM_SRC src;
    STREAM *sp = mem_stream_open(&src, data, len, 7);
    int code;

    code = smtp_reply_read_lines(sp, text, lines);
    stream_close(&sp);
    return code;
}

TEST(test_good)
{
    VSTRING *t = vstring_alloc(10);
    ARGV *lines = argv_alloc(4);
    static const char ehlo[] = "250-mx.example\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250 8BITMIME\r\n";

    CHECK_INT(read_one("220 mx ESMTP\r\n", 14, t, NULL), 220);
    CHECK_STR(STR(t), "220 mx ESMTP");
    CHECK_INT(read_one(ehlo, sizeof(ehlo) - 1, t, lines), 250);
    CHECK_STR(STR(t), "250 mx.example PIPELINING SIZE 1000 8BITMIME");
    CHECK_INT(lines->argc, 4);
    CHECK_STR(lines->argv[2], "SIZE 1000");
    CHECK_INT(read_one("354\r\n", 5, t, NULL), 354);
    CHECK_STR(STR(t), "354");
    CHECK_INT(read_one("250 ok\n", 7, t, NULL), 250);	/* bare LF is tolerated */
    CHECK_INT(read_one("550 a\tb\x01" "c\r\n", 11, t, NULL), 550);
    CHECK_STR(STR(t), "550 a b c");
    argv_free(&lines);
    vstring_free(&t);
}

TEST(test_hostile)
{
    VSTRING *t = vstring_alloc(10);
    VSTRING *big = vstring_alloc(10);

    CHECK_INT(read_one("", 0, t, NULL), -1);
    CHECK_INT(read_one("25", 2, t, NULL), -1);
    CHECK_INT(read_one("250", 3, t, NULL), 250);	/* final line without EOL at EOF */
    CHECK_INT(read_one("2500 x\r\n", 8, t, NULL), -1);
    CHECK_INT(read_one("abc x\r\n", 7, t, NULL), -1);
    CHECK_INT(read_one("650 x\r\n", 7, t, NULL), -1);
    CHECK_INT(read_one("099 x\r\n", 7, t, NULL), -1);
    CHECK_INT(read_one("250-a\r\n251 b\r\n", 14, t, NULL), -1);
    CHECK_INT(read_one("250-a\r\n", 7, t, NULL), -1);	/* EOF inside */
    for (int i = 0; i < 200; i++)
	vstring_cat(big, "250-more\r\n");
    vstring_cat(big, "250 end\r\n");
    CHECK_INT(read_one(STR(big), LEN(big), t, NULL), -1);
    vstring_set(big, "250 ");
    for (int i = 0; i < 10000; i++)
	vstring_addch(big, 'x');
    vstring_cat(big, "\r\n");
    CHECK_INT(read_one(STR(big), LEN(big), t, NULL), 250);
    CHECK(LEN(t) <= SMTP_REPLY_LINE_MAX + 4);
    vstring_free(&big);
    vstring_free(&t);
}

TEST(test_dsn)
{
    char dsn[16];

    smtp_reply_dsn(550, "550 5.1.1 <a@b>: unknown", dsn);
    CHECK_STR(dsn, "5.1.1");
    smtp_reply_dsn(250, "250 2.0.0 Ok", dsn);
    CHECK_STR(dsn, "2.0.0");
    smtp_reply_dsn(451, "451 4.7.1 greylisted", dsn);
    CHECK_STR(dsn, "4.7.1");
    smtp_reply_dsn(550, "550 4.1.1 class mismatch", dsn);
    CHECK_STR(dsn, "5.0.0");
    smtp_reply_dsn(550, "550 no code here", dsn);
    CHECK_STR(dsn, "5.0.0");
    smtp_reply_dsn(421, "421", dsn);
    CHECK_STR(dsn, "4.0.0");
    smtp_reply_dsn(550, "550 5.1.1.1 too many dots", dsn);
    CHECK_STR(dsn, "5.0.0");
    smtp_reply_dsn(550, "550 5..1 empty", dsn);
    CHECK_STR(dsn, "5.0.0");
    smtp_reply_dsn(550, "550 5.1.11111111111111 long", dsn);
    CHECK_STR(dsn, "5.0.0");
    smtp_reply_dsn(250, "250 2.1.5", dsn);
    CHECK_STR(dsn, "2.1.5");
}

/* main - run the tests */
int main(void)
{
    RUN(test_good);
    RUN(test_hostile);
    RUN(test_dsn);
    return unit_done();
}
