/* test_attr - attribute protocol: round trips and every malformed case. */
#include "sys_defs.h"

#include <errno.h>
#include <limits.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include "attr.h"
#include "msg.h"
#include "mymalloc.h"
#include "stream.h"
#include "vstring.h"
#include "unit.h"

/* mem_fd - a memfd holding bytes, positioned at the start */
static int mem_fd(const void *bytes, size_t len)
{
    int fd = memfd_create("test_attr", MFD_CLOEXEC);
    const char *cp = bytes;

    if (fd < 0)
        abort();
    while (len > 0) {
        ssize_t n = write(fd, cp, len);
        if (n <= 0)
            abort();
        cp += n;
        len -= (size_t) n;
    }
    lseek(fd, 0, SEEK_SET);
    return fd;
}

/* text_stream - a stream reading the given bytes */
static STREAM *text_stream(const void *bytes, size_t len)
{
    return stream_fdopen(mem_fd(bytes, len), true);
}

/* print_to_text - run attr_print output into a VSTRING via a memfd */
static STREAM *loop_stream(int *fd_r)
{
    int fd = memfd_create("test_attr_out", MFD_CLOEXEC);

    *fd_r = fd;
    return stream_fdopen(fd, false);
}

/* slurp - everything written to fd so far */
static void slurp(int fd, VSTRING *out)
{
    char buf[4096];
    ssize_t n;

    vstring_reset(out);
    lseek(fd, 0, SEEK_SET);
    while ((n = read(fd, buf, sizeof(buf))) > 0)
        vstring_catn(out, buf, (size_t) n);
}

TEST(test_print_format)
{
    int fd;
    STREAM *sp = loop_stream(&fd);
    VSTRING *out = vstring_alloc(100);

    CHECK_INT(attr_print(sp, ATTR_STR, "request", "deliver",
                         ATTR_STR, "sender", "a\nb\\c%d\r",
                         ATTR_INT, "size", 123456L,
                         ATTR_INT, "neg", -7L,
                         ATTR_STR, "empty", "",
                         ATTR_END), 0);
    CHECK_INT(stream_flush(sp), 0);
    slurp(fd, out);
    /* Expected bytes written out by hand, not by the code under test. */
    CHECK_STR(STR(out), "request=deliver\nsender=a%0Ab%5Cc%25d\r\nsize=123456\nneg=-7\nempty=\n\n");
    CHECK_PANICS(attr_print(sp, ATTR_STR, "Bad", "x", ATTR_END));
    CHECK_PANICS(attr_print(sp, ATTR_STR, "", "x", ATTR_END));
    CHECK_PANICS(attr_print(sp, ATTR_STR, "x", (char *) NULL, ATTR_END));
    stream_close(&sp);
    close(fd);
    vstring_free(&out);
}

TEST(test_round_trip)
{
    int fd;
    STREAM *sp = loop_stream(&fd);
    VSTRING *v1 = vstring_alloc(10), *v2 = vstring_alloc(10), *opt = vstring_alloc(10);
    const char *error = NULL;
    long n = 0;
    char eight[256];

    /* Every byte value but NUL. */
    for (int i = 1; i < 256; i++)
        eight[i - 1] = (char) i;
    eight[255] = 0;
    CHECK_INT(attr_print(sp, ATTR_STR, "a", eight, ATTR_INT, "n", LONG_MIN, ATTR_STR, "b", "%%\\\\\n\n",
                         ATTR_END), 0);
    CHECK_INT(attr_print(sp, ATTR_STR, "a", "x", ATTR_INT, "n", LONG_MAX, ATTR_STR, "b", "y", ATTR_END), 0);
    CHECK_INT(stream_flush(sp), 0);
    stream_close(&sp);
    lseek(fd, 0, SEEK_SET);
    sp = stream_fdopen(fd, true);
    CHECK_INT(attr_scan(sp, ATTR_FLAG_NONE, &error,
                        ATTR_STR, "a", v1, ATTR_INT, "n", &n, ATTR_OPT_STR, "zz", opt,
                        ATTR_STR, "b", v2, ATTR_END), 3);
    CHECK_INT(LEN(v1), 255);
    CHECK(memcmp(STR(v1), eight, 255) == 0);
    CHECK(n == LONG_MIN);
    CHECK_STR(STR(v2), "%%\\\\\n\n");
    CHECK_INT(LEN(opt), 0);
    vstring_set(opt, "stale");
    CHECK_INT(attr_scan(sp, ATTR_FLAG_NONE, &error,
                        ATTR_STR, "a", v1, ATTR_INT, "n", &n, ATTR_STR, "b", v2,
                        ATTR_OPT_STR, "zz", opt, ATTR_END), 3);
    CHECK(n == LONG_MAX);
    CHECK_STR(STR(opt), "");                /* absent optional is reset */
    /* Clean EOF before any byte: 0. */
    CHECK_INT(attr_scan(sp, ATTR_FLAG_NONE, &error, ATTR_STR, "a", v1, ATTR_END), 0);
    stream_close(&sp);
    vstring_free(&v1);
    vstring_free(&v2);
    vstring_free(&opt);
}

TEST(test_big_value)
{
    int fd;
    STREAM *sp = loop_stream(&fd);
    VSTRING *v = vstring_alloc(10);
    const char *error = NULL;
    char *big = mymalloc(ATTR_VALUE_MAX + 2);

    /* The largest value, all escapes (three times as long on the wire). */
    memset(big, '\n', ATTR_VALUE_MAX);
    big[ATTR_VALUE_MAX] = 0;
    CHECK_INT(attr_print(sp, ATTR_STR, "v", big, ATTR_END), 0);
    /* One byte too many. */
    memset(big, 'x', ATTR_VALUE_MAX + 1);
    big[ATTR_VALUE_MAX + 1] = 0;
    CHECK_INT(attr_print(sp, ATTR_STR, "v", big, ATTR_END), 0);
    stream_close(&sp);
    lseek(fd, 0, SEEK_SET);
    sp = stream_fdopen(fd, true);
    CHECK_INT(attr_scan(sp, 0, &error, ATTR_STR, "v", v, ATTR_END), 1);
    CHECK_INT(LEN(v), ATTR_VALUE_MAX);
    CHECK_INT(attr_scan(sp, 0, &error, ATTR_STR, "v", v, ATTR_END), -1);
    CHECK_STR(error, "value of attribute \"v\" is too long");
    stream_close(&sp);
    vstring_free(&v);
    myfree(big);
}

/* One hostile input, the expected attr_scan result and reason. Scanned
 * against the template: request (STR), size (INT), opt (OPT_STR). */
static const struct bad_case {
    const char *in;
    size_t len;                 /* 0: strlen */
    int flags;
    int ret;
    const char *why;
} bad_cases[] = {
    {"request=x\nsize=1\n\n", 0, 0, 2, NULL},
    {"request=x\nsize=1\nopt=o\n\n", 0, 0, 3, NULL},
    {"", 0, 0, 0, NULL},
    {"request=x\n\n", 0, 0, -1, "missing attribute \"size\""},
    {"size=1\n\n", 0, 0, -1, "missing attribute \"request\""},
    {"\n", 0, 0, -1, "missing attribute \"request\""},
    {"request=x\nfoo=1\n\n", 0, 0, -1, "unexpected attribute \"foo\" (expected \"size\")"},
    {"request=x\nsize=1\nfoo=2\n\n", 0, 0, -1, "unexpected attribute \"foo\""},
    {"request=x\nsize=1\nfoo=2\nbar=3\n\n", 0, ATTR_FLAG_MORE, 2, NULL},
    {"request=x\nrequest=y\nsize=1\n\n", 0, 0, -1, "repeated attribute \"request\""},
    {"request=x\nsize=1\nsize=2\n\n", 0, 0, -1, "repeated attribute \"size\""},
    {"request=x\nsize=1\nfoo=1\nsize=2\n\n", 0, ATTR_FLAG_MORE, -1, "repeated attribute \"size\""},
    {"request=x\nsize=1\nopt=a\nopt=b\n\n", 0, 0, -1, "repeated attribute \"opt\""},
    {"request\n\n", 0, 0, -1, "malformed attribute line (no '=')"},
    {"\r\n", 0, 0, -1, "malformed attribute line (no '=')"},
    {"Request=x\n\n", 0, 0, -1, "malformed attribute name"},
    {"=x\n\n", 0, 0, -1, "malformed attribute name"},
    {"re quest=x\n\n", 0, 0, -1, "malformed attribute name"},
    {"req\0uest=x\n\n", 12, 0, -1, "malformed attribute name"},
    {"request=a\0b\nsize=1\n\n", 20, 0, -1, "NUL byte in value of attribute \"request\""},
    {"request=a\\b\nsize=1\n\n", 0, 0, -1, "unescaped backslash in value of attribute \"request\""},
    {"request=a%\nsize=1\n\n", 0, 0, -1, "bad % escape in value of attribute \"request\""},
    {"request=a%2\nsize=1\n\n", 0, 0, -1, "bad % escape in value of attribute \"request\""},
    {"request=a%41\nsize=1\n\n", 0, 0, -1, "bad % escape in value of attribute \"request\""},
    {"request=a%00\nsize=1\n\n", 0, 0, -1, "bad % escape in value of attribute \"request\""},
    {"request=a%zz\nsize=1\n\n", 0, 0, -1, "bad % escape in value of attribute \"request\""},
    {"request=a%0a%5c%25\nsize=1\n\n", 0, 0, 2, NULL},     /* lower-case hex is fine */
    {"request=x\nsize=\n\n", 0, 0, -1, "bad integer value of attribute \"size\""},
    {"request=x\nsize=-\n\n", 0, 0, -1, "bad integer value of attribute \"size\""},
    {"request=x\nsize=+1\n\n", 0, 0, -1, "bad integer value of attribute \"size\""},
    {"request=x\nsize= 1\n\n", 0, 0, -1, "bad integer value of attribute \"size\""},
    {"request=x\nsize=1x\n\n", 0, 0, -1, "bad integer value of attribute \"size\""},
    {"request=x\nsize=1\r\n\n", 0, 0, -1, "bad integer value of attribute \"size\""},
    {"request=x\nsize=0x10\n\n", 0, 0, -1, "bad integer value of attribute \"size\""},
    {"request=x\nsize=9223372036854775808\n\n", 0, 0, -1,
     "integer value of attribute \"size\" out of range"},
    {"request=x\nsize=-9223372036854775809\n\n", 0, 0, -1,
     "integer value of attribute \"size\" out of range"},
    {"request=x\nsize=00000000000000000000000000001\n\n", 0, 0, -1,
     "integer value of attribute \"size\" out of range"},
    {"request=x\nsize=1\n", 0, 0, -1, "unexpected end of input inside message"},
    {"request=x\nsi", 0, 0, -1, "unexpected end of input inside message"},
    {"request=x", 0, 0, -1, "unexpected end of input inside message"},
    {"r", 0, 0, -1, "unexpected end of input inside message"},
    {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa=x\n\n", 0, 0, -1,
     "attribute name too long"},
};

TEST(test_malformed)
{
    VSTRING *req = vstring_alloc(10), *opt = vstring_alloc(10);
    long size;

    for (size_t i = 0; i < PH_ARRAY_LEN(bad_cases); i++) {
        const struct bad_case *bc = bad_cases + i;
        size_t len = bc->len ? bc->len : strlen(bc->in);
        STREAM *sp = text_stream(bc->in, len);
        const char *error = NULL;
        int ret = attr_scan(sp, bc->flags, &error, ATTR_STR, "request", req,
                            ATTR_INT, "size", &size, ATTR_OPT_STR, "opt", opt, ATTR_END);

        if (ret != bc->ret || (bc->why && (error == NULL || strcmp(error, bc->why) != 0)))
            UNIT_FAIL("case %zu: ret %d error \"%s\", expected %d \"%s\"", i, ret,
                      error ? error : "(none)", bc->ret, bc->why ? bc->why : "(none)");
        stream_close(&sp);
    }
    vstring_free(&req);
    vstring_free(&opt);
}

TEST(test_limits)
{
    VSTRING *in = vstring_alloc(100);
    const char *error = NULL;

    /* A 64-character name is fine; 65 is not (see the table). */
    for (int i = 0; i < ATTR_NAME_MAX; i++)
        vstring_addch(in, 'n');
    vstring_cat(in, "=v\n\n");
    STREAM *sp = text_stream(STR(in), LEN(in));
    ATTR_LIST *al = attr_list_alloc();
    CHECK_INT(attr_list_scan(sp, al, &error), 1);
    stream_close(&sp);

    /* Too many attributes. */
    vstring_reset(in);
    for (int i = 0; i <= ATTR_MAX_COUNT; i++)
        vstring_fmt_append(in, "a%d=\n", i);
    vstring_cat(in, "\n");
    sp = text_stream(STR(in), LEN(in));
    CHECK_INT(attr_list_scan(sp, al, &error), -1);
    CHECK_STR(error, "too many attributes");
    stream_close(&sp);
    sp = text_stream(STR(in), LEN(in));
    CHECK_INT(attr_scan(sp, ATTR_FLAG_MORE, &error, ATTR_END), -1);
    CHECK_STR(error, "too many attributes");
    stream_close(&sp);

    /* Exactly the maximum is fine. */
    vstring_reset(in);
    for (int i = 0; i < ATTR_MAX_COUNT; i++)
        vstring_fmt_append(in, "a%d=%d\n", i, i);
    vstring_cat(in, "\n");
    sp = text_stream(STR(in), LEN(in));
    CHECK_INT(attr_list_scan(sp, al, &error), ATTR_MAX_COUNT);
    CHECK_STR(attr_list_get(al, "a4095"), "4095");
    stream_close(&sp);

    /* An endless line: bounded memory, an error. */
    size_t huge = 3 * (size_t) ATTR_VALUE_MAX + 1000;
    char *blob = mymalloc(huge);
    memcpy(blob, "v=", 2);
    memset(blob + 2, 'x', huge - 2);
    sp = text_stream(blob, huge);
    CHECK_INT(attr_list_scan(sp, al, &error), -1);
    CHECK_STR(error, "value of attribute \"v\" is too long");
    stream_close(&sp);
    memset(blob, 'x', huge);
    sp = text_stream(blob, huge);
    CHECK_INT(attr_list_scan(sp, al, &error), -1);
    CHECK_STR(error, "attribute name too long");
    stream_close(&sp);
    myfree(blob);
    attr_list_free(&al);
    CHECK(al == NULL);
    vstring_free(&in);
}

TEST(test_list)
{
    static const char in[] = "request=status\nqueue_id=ABC\nnote=a%0Ab\n\n"
        "request=x\nrequest=y\n\n";
    STREAM *sp = text_stream(in, sizeof(in) - 1);
    ATTR_LIST *al = attr_list_alloc();
    const char *error = NULL;

    CHECK_INT(attr_list_scan(sp, al, &error), 3);
    CHECK_STR(attr_list_get(al, "request"), "status");
    CHECK_STR(attr_list_get(al, "note"), "a\nb");
    CHECK(attr_list_get(al, "missing") == NULL);
    CHECK_INT(attr_list_scan(sp, al, &error), -1);
    CHECK_STR(error, "repeated attribute \"request\"");
    stream_close(&sp);
    /* Reuse after an error; an empty message has no attributes. */
    sp = text_stream("\n", 1);
    CHECK_INT(attr_list_scan(sp, al, &error), 0);
    CHECK_INT(al->count, 0);
    CHECK(attr_list_get(al, "request") == NULL);
    CHECK_INT(attr_list_scan(sp, al, &error), 0);
    stream_close(&sp);
    attr_list_free(&al);
}

TEST(test_hello)
{
    int sv[2];
    const char *error = NULL;

    CHECK_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    STREAM *srv = stream_fdopen(sv[0], true);
    STREAM *cli = stream_fdopen(sv[1], true);
    stream_set_timeout(cli, 2);

    CHECK_INT(attr_send_hello(srv, "qmgr", 1), 0);
    CHECK_INT(attr_expect_hello(cli, "qmgr", 1, &error), 0);

    CHECK_INT(attr_send_hello(srv, "auth", 1), 0);
    CHECK_INT(attr_expect_hello(cli, "qmgr", 1, &error), -1);
    CHECK_STR(error, "peer speaks protocol \"auth\", expected \"qmgr\"");

    CHECK_INT(attr_send_hello(srv, "qmgr", 2), 0);
    CHECK_INT(attr_expect_hello(cli, "qmgr", 1, &error), -1);
    CHECK_STR(error, "peer speaks qmgr version 2, expected version 1");

    /* Hostile protocol name: not echoed raw. */
    CHECK_INT(attr_print(srv, ATTR_STR, "proto", "ev\"il\r\x1b", ATTR_INT, "version", 1L, ATTR_END), 0);
    CHECK_INT(stream_flush(srv), 0);
    CHECK_INT(attr_expect_hello(cli, "qmgr", 1, &error), -1);
    CHECK_STR(error, "peer speaks protocol \"ev?il??\", expected \"qmgr\"");

    /* Something else entirely. */
    CHECK_INT(stream_puts(srv, "220 mail.example ESMTP\r\n"), 0);
    CHECK_INT(stream_flush(srv), 0);
    CHECK_INT(attr_expect_hello(cli, "qmgr", 1, &error), -1);
    CHECK_STR(error, "malformed attribute line (no '=')");
    stream_close(&cli);

    /* Closed before the greeting. */
    CHECK_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    cli = stream_fdopen(sv[1], true);
    close(sv[0]);
    CHECK_INT(attr_expect_hello(cli, "qmgr", 1, &error), -1);
    CHECK_STR(error, "connection closed before the qmgr handshake");
    stream_close(&cli);
    stream_close(&srv);
}

TEST(test_timeout)
{
    int sv[2];
    const char *error = NULL;
    VSTRING *v = vstring_alloc(10);

    CHECK_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    CHECK_INT(write(sv[0], "a=1\n", 4), 4);
    STREAM *cli = stream_fdopen(sv[1], true);
    stream_set_timeout(cli, 1);
    CHECK_INT(attr_scan(cli, 0, &error, ATTR_STR, "a", v, ATTR_END), -1);
    CHECK_STR(error, "timeout while reading attributes");
    stream_close(&cli);
    close(sv[0]);
    vstring_free(&v);
}

int main(void)
{
    msg_init("test_attr", MSG_TO_STDERR);
    RUN(test_print_format);
    RUN(test_round_trip);
    RUN(test_big_value);
    RUN(test_malformed);
    RUN(test_limits);
    RUN(test_list);
    RUN(test_hello);
    RUN(test_timeout);
    return unit_done();
}
