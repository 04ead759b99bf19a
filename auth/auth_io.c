/* auth_io - non-blocking line I/O for the auth daemon's connections.
 *
 * Contract: input is read as it arrives and handed over line by line
 * (LF-terminated, a CR before it dropped); output is written at once when
 * the socket takes it, else buffered and flushed when writable. Closing
 * from inside a line callback is deferred until the callback returns.
 * Limits: a line longer than AUTH_PROTO_MAX_LINE, or more than
 * AUTH_IO_MAX_OUT bytes waiting for a client that does not read, closes
 * the connection with a log line.
 */
#include "sys_defs.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include "auth.h"
#include "auth_proto.h"
#include "events.h"
#include "msg.h"
#include "mymalloc.h"
#include "server.h"

#define AUTH_IO_MAX_OUT (1024 * 1024)

struct auth_io {
    int     fd;
    VSTRING *in;
    VSTRING *out;
    size_t  out_off;
    auth_io_line_fn line_fn;
    auth_io_close_fn close_fn;
    void   *ctx;
    int     busy;		/* inside a callback */
    bool    closing;
    char    peer[64];
    long    peer_uid;		/* -1: unknown */
};

static void auth_io_read_event(int event, int fd, void *ctx);

/* auth_io_destroy - really close */
static void auth_io_destroy(AUTH_IO *io)
{
    if (io->close_fn)
        io->close_fn(io->ctx);
    multi_server_disconnect(io->fd);
    vstring_wipe(io->in);
    vstring_free(&io->in);
    vstring_free(&io->out);
    myfree(io);
}

/* auth_io_peer - peer credentials for logs */
const char *auth_io_peer(const AUTH_IO *io)
{
    return io->peer;
}

/* auth_io_peer_uid - peer uid or -1 */
long    auth_io_peer_uid(const AUTH_IO *io)
{
    return io->peer_uid;
}

/* auth_io_create - start reading a connection */
AUTH_IO *auth_io_create(int fd, auth_io_line_fn line_fn, auth_io_close_fn close_fn, void *ctx)
{
    AUTH_IO *io = mycalloc(1, sizeof(*io));
    struct ucred cred;
    socklen_t clen = sizeof(cred);

    io->fd = fd;
    io->in = vstring_alloc(256);
    io->out = vstring_alloc(256);
    io->line_fn = line_fn;
    io->close_fn = close_fn;
    io->ctx = ctx;
    io->peer_uid = -1;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == 0
        && (io->peer_uid = (long) cred.uid) >= 0)
        snprintf(io->peer, sizeof(io->peer), "pid=%ld uid=%ld", (long) cred.pid, (long) cred.uid);
    else
        ph_strlcpy(io->peer, "peer=unknown", sizeof(io->peer));
    event_enable_read(fd, auth_io_read_event, io);
    return io;
}

/* auth_io_destroy_event - deferred close */
static void auth_io_destroy_event(int event, int fd, void *ctx)
{
    (void) event, (void) fd;
    auth_io_destroy(ctx);
}

/* auth_io_close - close after the current callback (never synchronously:
 * callers up the stack may still hold the owner's state) */
void auth_io_close(AUTH_IO *io)
{
    if (io->closing)
        return;
    io->closing = true;
    if (!io->busy) {
        event_disable(io->fd);
        event_timer_add(0, auth_io_destroy_event, io);
    }
}

/* auth_io_flush - write what the socket takes; false on a fatal error */
static bool auth_io_flush(AUTH_IO *io)
{
    while (io->out_off < LEN(io->out)) {
        ssize_t n = write(io->fd, STR(io->out) + io->out_off, LEN(io->out) - io->out_off);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n <= 0)
            return false;
        io->out_off += (size_t) n;
    }
    if (io->out_off == LEN(io->out)) {
        vstring_reset(io->out);
        io->out_off = 0;
        event_disable_write(io->fd);
    }
    return true;
}

/* auth_io_write_event - the socket is writable again */
static void auth_io_write_event(int event, int fd, void *ctx)
{
    AUTH_IO *io = ctx;

    (void) event, (void) fd;
    if (io->closing)
        return;
    if (!auth_io_flush(io))
        auth_io_close(io);
}

/* auth_io_send - queue one line */
void auth_io_send(AUTH_IO *io, const char *line, size_t len)
{
    if (io->closing)
        return;
    if (LEN(io->out) - io->out_off + len > AUTH_IO_MAX_OUT) {
        msg_warn("auth client %s does not read its replies: disconnecting", io->peer);
        auth_io_close(io);
        return;
    }
    vstring_catn(io->out, line, len);
    vstring_addch(io->out, '\n');
    if (!auth_io_flush(io)) {
        auth_io_close(io);
        return;
    }
    if (LEN(io->out) > 0)
        event_enable_write(io->fd, auth_io_write_event, io);
}

/* auth_io_read_event - input arrived */
static void auth_io_read_event(int event, int fd, void *ctx)
{
    AUTH_IO *io = ctx;
    char buf[4096];
    ssize_t n;
    size_t start = 0;
    char *nl;

    (void) event;
    if (io->closing)
        return;
    n = read(fd, buf, sizeof(buf));
    if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
        return;
    if (n <= 0) {
        auth_io_destroy(io);
        return;
    }
    vstring_catn(io->in, buf, (size_t) n);
    explicit_bzero(buf, sizeof(buf));
    io->busy++;
    while (!io->closing && (nl = memchr(STR(io->in) + start, '\n', LEN(io->in) - start)) != NULL) {
        size_t len = (size_t) (nl - (STR(io->in) + start));
        const char *line = STR(io->in) + start;

        start += len + 1;
        if (len > 0 && line[len - 1] == '\r')
            len--;
        if (len > AUTH_PROTO_MAX_LINE) {
            msg_warn("auth client %s: line too long: disconnecting", io->peer);
            io->closing = true;
            break;
        }
        if (!io->line_fn(io, line, len, io->ctx))
            io->closing = true;
    }
    io->busy--;
    if (!io->closing && LEN(io->in) - start > AUTH_PROTO_MAX_LINE) {
        msg_warn("auth client %s: line too long: disconnecting", io->peer);
        io->closing = true;
    }
    if (io->closing) {
        auth_io_destroy(io);
        return;
    }
    if (start > 0) {
        size_t rest = LEN(io->in) - start;

        memmove(STR(io->in), STR(io->in) + start, rest);
        explicit_bzero(STR(io->in) + rest, start);
        vstring_truncate(io->in, rest);
    }
}
