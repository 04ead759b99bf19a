/* test_stream - buffered streams: lines, limits, timeouts, hooks, EPIPE. */
#include "sys_defs.h"

#include <errno.h>
#include <signal.h>
#include <time.h>
#include <sys/socket.h>

#include "msg.h"
#include "mymalloc.h"
#include "stream.h"
#include "vstring.h"
#include "unit.h"

/* A memory-backed read hook that hands out at most `chunk` bytes per call
 * and may say EAGAIN first, like a TLS layer that needs more records. */
struct mem_src {
    const char *data;
    size_t len;
    size_t pos;
    size_t chunk;
    int eagain_every;   /* return EAGAIN on every Nth call (0: never) */
    int calls;
};

/* mem_read - the hook */
static ssize_t mem_read(STREAM *sp, void *buf, size_t len, void *ctx, bool *want_write)
{
    struct mem_src *m = ctx;

    (void) sp;
    (void) want_write;
    m->calls++;
    if (m->eagain_every && m->calls % m->eagain_every == 0) {
        errno = EAGAIN;
        return -1;
    }
    size_t n = m->len - m->pos;
    if (n > len)
        n = len;
    if (n > m->chunk)
        n = m->chunk;
    memcpy(buf, m->data + m->pos, n);
    m->pos += n;
    return (ssize_t) n;
}

/* mem_stream - a stream over a memory source */
static STREAM *mem_stream(struct mem_src *m, const char *data, size_t len, size_t chunk)
{
    STREAM *sp = stream_fdopen(-1, false);

    memset(m, 0, sizeof(*m));
    m->data = data;
    m->len = len;
    m->chunk = chunk;
    stream_set_io(sp, mem_read, NULL, m);
    return sp;
}

/* now_ms - monotonic clock */
static long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

/* wall - write the whole string to fd */
static void wall(int fd, const char *s, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, s, len);
        if (n <= 0)
            abort();
        s += n;
        len -= (size_t) n;
    }
}

TEST(test_line_endings)
{
    static const char in[] = "crlf\r\nlf\n\nbare\rcr\n\r\nnul\0x\r\nlast";
    struct mem_src m;
    STREAM *sp = mem_stream(&m, in, sizeof(in) - 1, 100);
    VSTRING *buf = vstring_alloc(10);
    int eol = -1;

    CHECK_INT(stream_getline(sp, buf, 100, &eol), 1);
    CHECK_STR(STR(buf), "crlf\r");
    CHECK_INT(eol, 2);
    CHECK_INT(stream_getline(sp, buf, 100, &eol), 1);
    CHECK_STR(STR(buf), "lf");
    CHECK_INT(eol, 1);
    CHECK_INT(stream_getline(sp, buf, 100, &eol), 1);
    CHECK_STR(STR(buf), "");
    CHECK_INT(eol, 1);
    /* A bare CR is data, not a line end. */
    CHECK_INT(stream_getline(sp, buf, 100, &eol), 1);
    CHECK_INT(LEN(buf), 7);
    CHECK(memcmp(STR(buf), "bare\rcr", 7) == 0);
    CHECK_INT(eol, 1);
    CHECK_INT(stream_getline(sp, buf, 100, &eol), 1);
    CHECK_STR(STR(buf), "\r");
    CHECK_INT(eol, 2);
    /* NUL bytes pass through as data. */
    CHECK_INT(stream_getline(sp, buf, 100, &eol), 1);
    CHECK_INT(LEN(buf), 6);
    CHECK(memcmp(STR(buf), "nul\0x\r", 6) == 0);
    CHECK_INT(eol, 2);
    /* EOF without newline: a line with eol 0, then EOF. */
    CHECK_INT(stream_getline(sp, buf, 100, &eol), 1);
    CHECK_STR(STR(buf), "last");
    CHECK_INT(eol, 0);
    CHECK_INT(stream_getline(sp, buf, 100, &eol), 0);
    CHECK_INT(LEN(buf), 0);
    CHECK(stream_flags(sp) & STREAM_F_EOF);
    stream_clearerr(sp);
    CHECK_INT(stream_flags(sp), 0);
    CHECK_INT(stream_getline(sp, buf, 100, NULL), 0);
    stream_close(&sp);
    CHECK(sp == NULL);
    vstring_free(&buf);
}

TEST(test_overlong)
{
    static const char in[] = "abcdefghij\r\n12345\n123456\nxyz\n0123456789";
    struct mem_src m;
    VSTRING *buf = vstring_alloc(10);
    int eol;

    /* Same results whether the bytes come all at once or one at a time. */
    for (size_t chunk = 1; chunk <= 100; chunk += 99) {
        STREAM *sp = mem_stream(&m, in, sizeof(in) - 1, chunk);

        CHECK_INT(stream_getline(sp, buf, 5, &eol), 2);
        CHECK_STR(STR(buf), "abcde");
        CHECK_INT(eol, 2);
        CHECK_INT(stream_getline(sp, buf, 5, &eol), 1);    /* exactly at the limit */
        CHECK_STR(STR(buf), "12345");
        CHECK_INT(eol, 1);
        CHECK_INT(stream_getline(sp, buf, 5, &eol), 2);
        CHECK_STR(STR(buf), "12345");
        CHECK_INT(stream_getline(sp, buf, 5, &eol), 1);    /* resynchronised */
        CHECK_STR(STR(buf), "xyz");
        CHECK_INT(stream_getline(sp, buf, 5, &eol), 2);    /* overlong, then EOF */
        CHECK_STR(STR(buf), "01234");
        CHECK_INT(eol, 0);
        CHECK_INT(stream_getline(sp, buf, 5, &eol), 0);
        stream_close(&sp);
    }
    vstring_free(&buf);
}

TEST(test_huge_line_bounded)
{
    /* 1 MB without a newline: at most limit bytes are kept. */
    size_t len = 1024 * 1024;
    char *big = mymalloc(len + 4);
    struct mem_src m;

    memset(big, 'A', len);
    memcpy(big + len, "\nok\n", 4);
    STREAM *sp = mem_stream(&m, big, len + 4, 65536);
    VSTRING *buf = vstring_alloc(10);

    CHECK_INT(stream_getline(sp, buf, 1000, NULL), 2);
    CHECK_INT(LEN(buf), 1000);
    CHECK(buf->size < 4096);
    CHECK_INT(stream_getline(sp, buf, 1000, NULL), 1);
    CHECK_STR(STR(buf), "ok");
    stream_close(&sp);
    vstring_free(&buf);
    myfree(big);
}

TEST(test_hook_eagain)
{
    /* A hook that says EAGAIN (no fd to poll) is an error, not a hang;
     * a hook with an fd to poll is retried. */
    static const char in[] = "hello\n";
    struct mem_src m;
    STREAM *sp = mem_stream(&m, in, sizeof(in) - 1, 100);
    VSTRING *buf = vstring_alloc(10);

    m.eagain_every = 1;
    CHECK_INT(stream_getline(sp, buf, 100, NULL), -1);
    CHECK(stream_flags(sp) & STREAM_F_ERROR);
    stream_close(&sp);

    int sv[2];
    CHECK_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    wall(sv[1], "x", 1);                /* so poll says readable */
    sp = stream_fdopen(sv[0], true);
    memset(&m, 0, sizeof(m));
    m.data = in;
    m.len = sizeof(in) - 1;
    m.chunk = 2;
    m.eagain_every = 2;
    stream_set_io(sp, mem_read, NULL, &m);
    CHECK_INT(stream_getline(sp, buf, 100, NULL), 1);
    CHECK_STR(STR(buf), "hello");
    CHECK(m.calls >= 5);
    stream_close(&sp);
    close(sv[1]);
    vstring_free(&buf);
}

TEST(test_tiny_writes_pipe)
{
    /* A child writes a line one byte at a time; the reader assembles it. */
    int pfd[2];
    static const char line[] = "MAIL FROM:<a@example.org>\r\n";
    VSTRING *buf = vstring_alloc(10);
    int eol;

    CHECK_INT(pipe(pfd), 0);
    pid_t pid = fork();
    if (pid == 0) {
        close(pfd[0]);
        for (size_t i = 0; i < sizeof(line) - 1; i++) {
            wall(pfd[1], line + i, 1);
            usleep(1000);
        }
        _exit(0);
    }
    close(pfd[1]);
    STREAM *sp = stream_fdopen(pfd[0], true);
    stream_set_timeout(sp, 5);
    CHECK_INT(stream_getline(sp, buf, 512, &eol), 1);
    CHECK_STR(STR(buf), "MAIL FROM:<a@example.org>\r");
    CHECK_INT(eol, 2);
    CHECK_INT(stream_getline(sp, buf, 512, &eol), 0);
    stream_close(&sp);
    waitpid(pid, NULL, 0);
    vstring_free(&buf);
}

TEST(test_read_timeout)
{
    int sv[2];
    VSTRING *buf = vstring_alloc(10);

    CHECK_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    STREAM *sp = stream_fdopen(sv[0], true);
    stream_set_timeout(sp, 1);
    CHECK(fcntl(sv[0], F_GETFL) & O_NONBLOCK);
    wall(sv[1], "partial", 7);
    long t0 = now_ms();
    errno = 0;
    CHECK_INT(stream_getline(sp, buf, 100, NULL), -1);
    long dt = now_ms() - t0;
    CHECK_INT(errno, ETIMEDOUT);
    CHECK(stream_flags(sp) & STREAM_F_TIMEOUT);
    CHECK(dt >= 900 && dt < 3000);
    /* After a read timeout the stream can still send a reply. */
    CHECK_INT(stream_puts(sp, "421 timeout\r\n"), 0);
    CHECK_INT(stream_flush(sp), 0);
    char got[32] = "";
    CHECK_INT(read(sv[1], got, sizeof(got) - 1), 13);
    CHECK_STR(got, "421 timeout\r\n");
    stream_close(&sp);
    close(sv[1]);
    vstring_free(&buf);
}

TEST(test_write_timeout)
{
    int sv[2];

    CHECK_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    STREAM *sp = stream_fdopen(sv[0], true);
    stream_set_timeout(sp, 1);
    char *block = mymalloc(65536);
    memset(block, 'x', 65536);
    int ret = 0;
    long t0 = now_ms();
    for (int i = 0; i < 200 && ret == 0; i++)   /* 12 MB: more than any socket buffer */
        ret = stream_write(sp, block, 65536);
    CHECK_INT(ret, -1);
    CHECK_INT(errno, ETIMEDOUT);
    CHECK(stream_flags(sp) & STREAM_F_TIMEOUT);
    CHECK(now_ms() - t0 < 5000);
    stream_close(&sp);
    close(sv[1]);
    myfree(block);
}

TEST(test_truncated_read)
{
    int sv[2];
    char got[16];

    CHECK_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    wall(sv[1], "abcd", 4);
    close(sv[1]);
    STREAM *sp = stream_fdopen(sv[0], true);
    CHECK_INT(stream_read(sp, got, 10), 4);
    CHECK(memcmp(got, "abcd", 4) == 0);
    CHECK_INT(stream_read(sp, got, 10), 0);
    CHECK_INT(stream_read_some(sp, got, 10), 0);
    CHECK_INT(stream_getc(sp), STREAM_EOF);
    CHECK(stream_flags(sp) & STREAM_F_EOF);
    CHECK(!(stream_flags(sp) & STREAM_F_ERROR));
    stream_close(&sp);
}

TEST(test_write_closed_peer)
{
    int sv[2];
    sigset_t pend;

    /* Socket: send(MSG_NOSIGNAL), EPIPE, process survives. */
    CHECK_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    close(sv[1]);
    STREAM *sp = stream_fdopen(sv[0], true);
    CHECK_INT(stream_puts(sp, "hello\r\n"), 0);
    errno = 0;
    CHECK_INT(stream_flush(sp), -1);
    CHECK_INT(errno, EPIPE);
    CHECK(stream_flags(sp) & STREAM_F_ERROR);
    CHECK_INT(stream_write_pending(sp), 0);
    CHECK_INT(stream_close(&sp), 0);

    /* Pipe: SIGPIPE blocked around the write and consumed. */
    int pfd[2];
    CHECK_INT(pipe(pfd), 0);
    close(pfd[0]);
    sp = stream_fdopen(pfd[1], true);
    CHECK_INT(stream_puts(sp, "x"), 0);
    CHECK_INT(stream_flush(sp), -1);
    CHECK_INT(errno, EPIPE);
    CHECK_INT(sigpending(&pend), 0);
    CHECK(!sigismember(&pend, SIGPIPE));
    /* close flushes: pending output that cannot go gives -1 */
    CHECK_INT(stream_puts(sp, "y"), 0);
    CHECK_INT(stream_close(&sp), -1);
}

TEST(test_flush_before_read)
{
    int sv[2];
    VSTRING *buf = vstring_alloc(10);
    char got[32] = "";

    CHECK_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    STREAM *sp = stream_fdopen(sv[0], true);
    stream_set_timeout(sp, 2);
    CHECK_INT(stream_printf(sp, "250 %s\r\n", "ok"), 0);
    CHECK_INT(stream_write_pending(sp), 8);
    CHECK_INT(recv(sv[1], got, 1, MSG_DONTWAIT), -1);   /* nothing sent yet */
    CHECK_INT(errno, EAGAIN);
    wall(sv[1], "NOOP\r\n", 6);
    CHECK_INT(stream_getline(sp, buf, 100, NULL), 1);
    CHECK_INT(stream_write_pending(sp), 0);
    CHECK_INT(read(sv[1], got, sizeof(got) - 1), 8);
    CHECK_STR(got, "250 ok\r\n");
    stream_close(&sp);
    close(sv[1]);
    vstring_free(&buf);
}

TEST(test_pending_discard)
{
    int sv[2];
    VSTRING *buf = vstring_alloc(10);

    CHECK_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    STREAM *sp = stream_fdopen(sv[0], true);
    wall(sv[1], "STARTTLS\r\nMAIL FROM:<evil>\r\n", 28);
    CHECK_INT(stream_pending(sp), 0);
    CHECK_INT(stream_getline(sp, buf, 100, NULL), 1);
    CHECK_STR(STR(buf), "STARTTLS\r");
    CHECK_INT(stream_pending(sp), 18);
    stream_discard_input(sp);
    CHECK_INT(stream_pending(sp), 0);
    wall(sv[1], "EHLO x\r\n", 8);
    CHECK_INT(stream_getline(sp, buf, 100, NULL), 1);
    CHECK_STR(STR(buf), "EHLO x\r");
    stream_close(&sp);
    close(sv[1]);
    vstring_free(&buf);
}

TEST(test_getc_ungetc)
{
    static const char in[] = "ab";
    struct mem_src m;
    STREAM *sp = mem_stream(&m, in, 2, 1);

    CHECK_PANICS(stream_ungetc(sp, 'x'));
    CHECK_INT(stream_getc(sp), 'a');
    stream_ungetc(sp, 'a');
    CHECK_INT(stream_pending(sp), 1);
    CHECK_INT(stream_getc(sp), 'a');
    CHECK_INT(stream_getc(sp), 'b');
    CHECK_INT(stream_getc(sp), STREAM_EOF);
    stream_close(&sp);
}

TEST(test_big_write_and_printf)
{
    int sv[2];
    VSTRING *buf = vstring_alloc(10);
    char *long_arg = mymalloc(3001);

    memset(long_arg, 'q', 3000);
    long_arg[3000] = 0;
    CHECK_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    STREAM *wr = stream_fdopen(sv[0], false);
    STREAM *rd = stream_fdopen(sv[1], false);
    char *big = mymalloc(40000);
    memset(big, 'z', 40000);
    CHECK_INT(stream_write(wr, "head\n", 5), 0);
    CHECK_INT(stream_write(wr, big, 40000), 0);          /* bigger than the buffer */
    CHECK_INT(stream_printf(wr, "\n%s|%d\n", long_arg, 7), 0);  /* longer than 512 */
    CHECK_INT(stream_flush(wr), 0);
    CHECK_INT(stream_getline(rd, buf, 100000, NULL), 1);
    CHECK_STR(STR(buf), "head");
    CHECK_INT(stream_getline(rd, buf, 100000, NULL), 1);
    CHECK_INT(LEN(buf), 40000);
    CHECK_INT(stream_getline(rd, buf, 100000, NULL), 1);
    CHECK_INT(LEN(buf), 3002);
    CHECK(strcmp(STR(buf) + 3000, "|7") == 0);
    /* Not owned: descriptors stay open and keep their flags. */
    stream_set_timeout(rd, 3);
    stream_close(&wr);
    stream_close(&rd);
    CHECK(fcntl(sv[0], F_GETFD) >= 0);
    CHECK(!(fcntl(sv[1], F_GETFL) & O_NONBLOCK));
    close(sv[0]);
    close(sv[1]);
    myfree(big);
    myfree(long_arg);
    vstring_free(&buf);
}

static volatile sig_atomic_t got_usr1;

/* on_usr1 - a handler that only records the signal */
static void on_usr1(int sig)
{
    (void) sig;
    got_usr1 = 1;
}

TEST(test_eintr)
{
    /* A signal that interrupts a blocking read does not surface as an error. */
    int sv[2];
    VSTRING *buf = vstring_alloc(10);
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_usr1;
    sa.sa_flags = 0;    /* no SA_RESTART: read really gets EINTR */
    sigaction(SIGUSR1, &sa, NULL);
    CHECK_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    pid_t pid = fork();
    if (pid == 0) {
        usleep(100000);
        kill(getppid(), SIGUSR1);
        usleep(100000);
        wall(sv[1], "late\n", 5);
        _exit(0);
    }
    STREAM *sp = stream_fdopen(sv[0], true);
    CHECK_INT(stream_getline(sp, buf, 100, NULL), 1);
    CHECK_STR(STR(buf), "late");
    CHECK_INT(got_usr1, 1);
    waitpid(pid, NULL, 0);
    signal(SIGUSR1, SIG_DFL);
    stream_close(&sp);
    close(sv[1]);
    vstring_free(&buf);
}

int main(void)
{
    msg_init("test_stream", MSG_TO_STDERR);
    RUN(test_line_endings);
    RUN(test_overlong);
    RUN(test_huge_line_bounded);
    RUN(test_hook_eagain);
    RUN(test_tiny_writes_pipe);
    RUN(test_read_timeout);
    RUN(test_write_timeout);
    RUN(test_truncated_read);
    RUN(test_write_closed_peer);
    RUN(test_flush_before_read);
    RUN(test_pending_discard);
    RUN(test_getc_ungetc);
    RUN(test_big_write_and_printf);
    RUN(test_eintr);
    return unit_done();
}
