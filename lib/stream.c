/* stream - buffered I/O over a file descriptor, with timeouts and bounds.
 *
 * Purpose: every protocol conversation (SMTP, IMAP, POP3, LMTP, the
 * attribute IPC) reads and writes through a STREAM.
 *
 * Contract (see stream.h for the per-function contract):
 *  - One read buffer and one write buffer per stream. All raw I/O goes
 *    through two hooks (default: read(2) and send(2)/write(2)); a TLS layer
 *    replaces them with stream_set_io(). A hook returns -1/EAGAIN to say
 *    "wait", optionally asking for the other direction (*want_write on the
 *    read side, *want_read on the write side), which is what OpenSSL's
 *    SSL_ERROR_WANT_WRITE during SSL_read (and the reverse) needs. The TLS
 *    hook must tolerate being retried with the same bytes at a moved
 *    address (SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER) and may write partially
 *    (SSL_MODE_ENABLE_PARTIAL_WRITE).
 *  - Before the stream asks the raw layer for more input it flushes any
 *    pending output. So a server that answers pipelined commands from the
 *    read buffer sends its replies in one batch, and never waits for input
 *    while replies are still queued (RFC 2920 requires this).
 *  - Timeouts: with a timeout > 0 the fd is non-blocking (the original flags
 *    are restored at close when the fd is not owned). Each wait for
 *    readiness (one refill of the read buffer, one flush of the write
 *    buffer) is bounded by the timeout; overall time per command is the
 *    caller's business. EAGAIN with no timeout waits forever.
 *  - EINTR is retried everywhere.
 *  - SIGPIPE: a write to a peer that went away never kills the process.
 *    Sockets are written with send(MSG_NOSIGNAL); other descriptors (pipes)
 *    are written with SIGPIPE blocked, and a SIGPIPE that the write itself
 *    raised is consumed with sigtimedwait() before the mask is restored.
 *    Either way the caller sees -1 with errno EPIPE. Daemons do not need to
 *    ignore SIGPIPE for this module's sake.
 *  - Flags are latched (STREAM_F_*) but do not block later calls: after a
 *    read timeout a server can still write its "421 timeout" reply.
 *
 * Limits: buffers are STREAM_BUFSIZE bytes each, allocated on first use
 * (an idle connection that never read or wrote costs none); stream_getline never
 * stores more than the caller's limit, whatever the peer sends.
 */
#include "sys_defs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "msg.h"
#include "mymalloc.h"
#include "stream.h"
#include "vstring.h"

#define STREAM_BUFSIZE 16384

struct stream {
    int     fd;
    bool    owned;                  /* close fd in stream_close */
    bool    is_socket;              /* send(MSG_NOSIGNAL) works */
    int     orig_fl;                /* fcntl flags before we set O_NONBLOCK, or -1 */
    int     timeout;                /* seconds, 0 = none */
    int     flags;                  /* STREAM_F_* */
    char   *rbuf;
    size_t  rpos;                   /* next unread byte */
    size_t  rlen;                   /* end of valid data */
    char   *wbuf;
    size_t  wlen;                   /* bytes waiting to be written */
    stream_read_fn rd;
    stream_write_fn wr;
    void   *ctx;
};

/* stream_raw_read - default read hook */
static ssize_t stream_raw_read(STREAM *sp, void *buf, size_t len, void *ctx PH_UNUSED,
                                       bool *want_write PH_UNUSED)
{
    return read(sp->fd, buf, len);
}

/* stream_raw_write - default write hook; never raises SIGPIPE */
static ssize_t stream_raw_write(STREAM *sp, const void *buf, size_t len,
                                        void *ctx PH_UNUSED, bool *want_read PH_UNUSED)
{
    sigset_t pipe_set, old_set, pending;
    bool    was_pending;
    ssize_t n;
    int     saved;

    if (sp->is_socket)
        return send(sp->fd, buf, len, MSG_NOSIGNAL);

    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    if (sigprocmask(SIG_BLOCK, &pipe_set, &old_set) < 0)
        msg_fatal("sigprocmask: %m");
    was_pending = sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE);
    n = write(sp->fd, buf, len);
    saved = errno;
    if (n < 0 && saved == EPIPE && !was_pending) {
        static const struct timespec zero;

        while (sigtimedwait(&pipe_set, 0, &zero) < 0 && errno == EINTR)
             /* void */ ;
    }
    (void) sigprocmask(SIG_SETMASK, &old_set, 0);
    errno = saved;
    return n;
}

/* stream_fdopen - wrap a descriptor */
STREAM *stream_fdopen(int fd, bool owned)
{
    STREAM *sp = mymalloc(sizeof(*sp));
    struct stat st;

    sp->fd = fd;
    sp->owned = owned;
    sp->is_socket = fd >= 0 && fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
    sp->orig_fl = -1;
    sp->timeout = 0;
    sp->flags = 0;
    sp->rbuf = NULL;			/* allocated on first use */
    sp->rpos = sp->rlen = 0;
    sp->wbuf = NULL;
    sp->wlen = 0;
    sp->rd = stream_raw_read;
    sp->wr = stream_raw_write;
    sp->ctx = 0;
    return sp;
}

/* stream_close - flush, close, free */
int     stream_close(STREAM **spp)
{
    STREAM *sp = *spp;
    int     ret = 0;

    if (sp == 0)
        msg_panic("stream_close: null stream");
    if (sp->wlen > 0 && stream_flush(sp) < 0)
        ret = -1;
    if (sp->orig_fl >= 0 && !sp->owned)
        (void) fcntl(sp->fd, F_SETFL, sp->orig_fl);
    if (sp->owned && sp->fd >= 0 && close(sp->fd) < 0 && errno != EINTR)
        ret = -1;
    if (sp->rbuf)
        myfree(sp->rbuf);
    if (sp->wbuf)
        myfree(sp->wbuf);
    myfree(sp);
    *spp = 0;
    return ret;
}

/* stream_fd - the descriptor */
int     stream_fd(const STREAM *sp)
{
    return sp->fd;
}

/* stream_set_timeout - bound each wait; makes the fd non-blocking */
void    stream_set_timeout(STREAM *sp, int seconds)
{
    if (seconds < 0)
        msg_panic("stream_set_timeout: negative timeout %d", seconds);
    sp->timeout = seconds;
    if (seconds > 0 && sp->orig_fl < 0 && sp->fd >= 0) {
        int     fl = fcntl(sp->fd, F_GETFL);

        if (fl < 0)
            msg_fatal("fcntl F_GETFL fd %d: %m", sp->fd);
        if ((fl & O_NONBLOCK) == 0 && fcntl(sp->fd, F_SETFL, fl | O_NONBLOCK) < 0)
            msg_fatal("fcntl F_SETFL fd %d: %m", sp->fd);
        sp->orig_fl = fl;
    }
}

/* stream_set_io - replace the raw I/O hooks (NULL: the defaults) */
void    stream_set_io(STREAM *sp, stream_read_fn rd, stream_write_fn wr, void *ctx)
{
    sp->rd = rd ? rd : stream_raw_read;
    sp->wr = wr ? wr : stream_raw_write;
    sp->ctx = ctx;
}

/* stream_flags - latched STREAM_F_* bits */
int     stream_flags(const STREAM *sp)
{
    return sp->flags;
}

/* stream_clearerr - forget latched conditions */
void    stream_clearerr(STREAM *sp)
{
    sp->flags = 0;
}

/* stream_now_ms - monotonic milliseconds */
static int64_t stream_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* stream_wait - wait until fd is ready for events or the deadline passes */
static int stream_wait(STREAM *sp, short events, int64_t deadline)
{
    struct pollfd pfd;
    int     n;

    if (sp->fd < 0) {                   /* a hook without a descriptor */
        errno = EAGAIN;
        return -1;
    }
    for (;;) {
        int     wait_ms = -1;

        if (deadline > 0) {
            int64_t left = deadline - stream_now_ms();

            wait_ms = left <= 0 ? 0 : left > INT32_MAX ? INT32_MAX : (int) left;
        }
        pfd.fd = sp->fd;
        pfd.events = events;
        pfd.revents = 0;
        n = poll(&pfd, 1, wait_ms);
        if (n > 0)
            return 0;                   /* ready, or error/hangup: the syscall tells */
        if (n == 0) {
            sp->flags |= STREAM_F_TIMEOUT;
            errno = ETIMEDOUT;
            return -1;
        }
        if (errno != EINTR)
            return -1;
    }
}

/* stream_deadline - absolute deadline for one operation, 0 for none */
static int64_t stream_deadline(STREAM *sp)
{
    return sp->timeout > 0 ? stream_now_ms() + (int64_t) sp->timeout * 1000 : 0;
}

/* stream_write_raw - write all of buf through the hook */
static int stream_write_raw(STREAM *sp, const char *buf, size_t len)
{
    int64_t deadline = stream_deadline(sp);

    while (len > 0) {
        bool    want_read = false;
        ssize_t n = sp->wr(sp, buf, len, sp->ctx, &want_read);

        if (n > 0) {
            buf += n;
            len -= (size_t) n;
            continue;
        }
        if (n == 0)
            errno = EIO;                /* a write hook must make progress */
        else if (errno == EINTR)
            continue;
        else if ((errno == EAGAIN || errno == EWOULDBLOCK)
                 && stream_wait(sp, want_read ? POLLIN : POLLOUT, deadline) == 0)
            continue;
        sp->flags |= STREAM_F_ERROR;
        return -1;
    }
    return 0;
}

/* stream_flush - write out the buffer */
int     stream_flush(STREAM *sp)
{
    size_t  len = sp->wlen;

    if (len == 0)
        return 0;
    sp->wlen = 0;                       /* after an error the data is dropped */
    return stream_write_raw(sp, sp->wbuf, len);
}

/* stream_fill - refill the empty read buffer; bytes read, 0 at EOF, -1 */
static ssize_t stream_fill(STREAM *sp)
{
    int64_t deadline;

    if (sp->wlen > 0 && stream_flush(sp) < 0)
        return -1;
    deadline = stream_deadline(sp);
    sp->rpos = sp->rlen = 0;
    if (sp->rbuf == NULL)
        sp->rbuf = mymalloc(STREAM_BUFSIZE);
    for (;;) {
        bool    want_write = false;
        ssize_t n = sp->rd(sp, sp->rbuf, STREAM_BUFSIZE, sp->ctx, &want_write);

        if (n > 0) {
            sp->rlen = (size_t) n;
            return n;
        }
        if (n == 0) {
            sp->flags |= STREAM_F_EOF;
            return 0;
        }
        if (errno == EINTR)
            continue;
        if ((errno == EAGAIN || errno == EWOULDBLOCK)
            && stream_wait(sp, want_write ? POLLOUT : POLLIN, deadline) == 0)
            continue;
        sp->flags |= STREAM_F_ERROR;
        return -1;
    }
}

/* stream_getline - one bounded line; see stream.h */
int     stream_getline(STREAM *sp, VSTRING *buf, size_t limit, int *eol_r)
{
    bool    got_any = false;
    bool    overlong = false;
    int     last = -1;                  /* last content byte, to spot CR */
    size_t  stored = 0;
    int     dummy;

    if (eol_r == 0)
        eol_r = &dummy;
    *eol_r = 0;
    vstring_reset(buf);
    for (;;) {
        if (sp->rpos == sp->rlen) {
            ssize_t n = stream_fill(sp);

            if (n < 0)
                return -1;
            if (n == 0)
                return !got_any ? 0 : overlong ? 2 : 1;
        }
        char   *start = sp->rbuf + sp->rpos;
        size_t  avail = sp->rlen - sp->rpos;
        char   *nl = memchr(start, '\n', avail);
        size_t  chunk = nl ? (size_t) (nl - start) : avail;

        got_any = true;
        if (chunk > 0) {
            size_t  room = limit - stored;
            size_t  take = chunk < room ? chunk : room;

            last = (unsigned char) start[chunk - 1];
            if (take > 0) {
                vstring_catn(buf, start, take);
                stored += take;
            }
            if (chunk > take)
                overlong = true;
        }
        sp->rpos += chunk + (nl ? 1 : 0);
        if (nl) {
            *eol_r = last == '\r' ? 2 : 1;
            return overlong ? 2 : 1;
        }
    }
}

/* stream_read_some - whatever is buffered, or one refill */
ssize_t stream_read_some(STREAM *sp, void *buf, size_t len)
{
    size_t  avail;

    if (len == 0)
        return 0;
    if (sp->rpos == sp->rlen) {
        ssize_t n = stream_fill(sp);

        if (n <= 0)
            return n;
    }
    avail = sp->rlen - sp->rpos;
    if (len > avail)
        len = avail;
    memcpy(buf, sp->rbuf + sp->rpos, len);
    sp->rpos += len;
    return (ssize_t) len;
}

/* stream_read - exactly len bytes unless EOF comes first */
ssize_t stream_read(STREAM *sp, void *buf, size_t len)
{
    char   *cp = buf;
    size_t  done = 0;

    if (len > SSIZE_MAX)
        msg_panic("stream_read: length %zu", len);
    while (done < len) {
        ssize_t n = stream_read_some(sp, cp + done, len - done);

        if (n < 0)
            return -1;
        if (n == 0)
            break;
        done += (size_t) n;
    }
    return (ssize_t) done;
}

/* stream_getc - one byte */
int     stream_getc(STREAM *sp)
{
    if (sp->rpos == sp->rlen && stream_fill(sp) <= 0)
        return STREAM_EOF;
    return (unsigned char) sp->rbuf[sp->rpos++];
}

/* stream_ungetc - push back the byte stream_getc just returned */
void    stream_ungetc(STREAM *sp, int ch)
{
    if (ch == STREAM_EOF)
        return;
    if (sp->rpos == 0)
        msg_panic("stream_ungetc: nothing to push back into");
    sp->rbuf[--sp->rpos] = (char) ch;
}

/* stream_pending - buffered input */
size_t  stream_pending(const STREAM *sp)
{
    return sp->rlen - sp->rpos;
}

/* stream_discard_input - forget buffered input (STARTTLS) */
void    stream_discard_input(STREAM *sp)
{
    sp->rpos = sp->rlen = 0;
}

/* stream_write - buffer bytes, flushing when full */
int     stream_write(STREAM *sp, const void *buf, size_t len)
{
    const char *cp = buf;

    if (sp->wbuf == NULL)
        sp->wbuf = mymalloc(STREAM_BUFSIZE);
    if (len <= STREAM_BUFSIZE - sp->wlen) {
        memcpy(sp->wbuf + sp->wlen, cp, len);
        sp->wlen += len;
        return 0;
    }
    if (stream_flush(sp) < 0)
        return -1;
    if (len >= STREAM_BUFSIZE)          /* big: straight through */
        return stream_write_raw(sp, cp, len);
    memcpy(sp->wbuf, cp, len);
    sp->wlen = len;
    return 0;
}

/* stream_puts - buffer a C string */
int     stream_puts(STREAM *sp, const char *str)
{
    return stream_write(sp, str, strlen(str));
}

/* stream_printf - buffer formatted text */
int     stream_printf(STREAM *sp, const char *fmt, ...)
{
    char    small[512];
    va_list ap;
    int     n;
    int     ret;

    va_start(ap, fmt);
    n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0)
        msg_panic("stream_printf: bad format \"%s\"", fmt);
    if ((size_t) n < sizeof(small))
        return stream_write(sp, small, (size_t) n);

    VSTRING *vp = vstring_alloc((size_t) n + 1);

    va_start(ap, fmt);
    vstring_vfmt_append(vp, fmt, ap);
    va_end(ap);
    ret = stream_write(sp, STR(vp), LEN(vp));
    vstring_free(&vp);
    return ret;
}

/* stream_write_pending - bytes not yet written */
size_t  stream_write_pending(const STREAM *sp)
{
    return sp->wlen;
}
