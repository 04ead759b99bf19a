/* stream.h - buffered I/O over a file descriptor, with timeouts and bounds.
 *
 * A STREAM owns a read buffer and a write buffer over one fd (or a pair).
 * The raw I/O goes through two function pointers, so a TLS layer slots in
 * underneath later (stream_set_io) without callers noticing.
 *
 * Timeouts: with stream_set_timeout(sp, seconds) > 0, every blocking read
 * or write waits at most that long (poll(2) before the syscall; the fd is
 * put in non-blocking mode). A timeout sets the STREAM_F_TIMEOUT flag and the
 * call returns -1 with errno ETIMEDOUT.
 *
 * Errors: I/O errors and timeouts are returned (-1) and latched in flags;
 * end of file is returned as 0 / STREAM_EOF and latched. Nothing here
 * aborts except a broken invariant (a NULL stream, a negative size).
 */
#ifndef STREAM_H
#define STREAM_H

#include "sys_defs.h"
#include "vstring.h"

typedef struct stream STREAM;

/* Raw I/O hooks: return bytes moved, 0 for EOF (read), or -1 with errno.
 * EAGAIN/EWOULDBLOCK means "wait for readiness"; the hook may set
 * *want_write (read side) or *want_read (write side) for TLS, which may
 * need the other direction to make progress. */
typedef ssize_t (*stream_read_fn)(STREAM *sp, void *buf, size_t len, void *ctx, bool *want_write);
typedef ssize_t (*stream_write_fn)(STREAM *sp, const void *buf, size_t len, void *ctx, bool *want_read);

#define STREAM_F_EOF     (1 << 0)
#define STREAM_F_ERROR   (1 << 1)
#define STREAM_F_TIMEOUT (1 << 2)

#define STREAM_EOF (-1)

/* stream_fdopen - wrap fd (not closed by stream_close unless owned) */
STREAM *stream_fdopen(int fd, bool owned);
/* stream_close - flush (ignoring errors), close the fd when owned, free; returns
 * 0, or -1 when the final flush or close failed. NULLs the pointer. */
int stream_close(STREAM **spp);
/* stream_fd - the descriptor */
int stream_fd(const STREAM *sp);
/* stream_set_timeout - per-operation timeout in seconds (0 = block forever) */
void stream_set_timeout(STREAM *sp, int seconds);
/* stream_set_io - replace the raw I/O hooks (TLS) */
void stream_set_io(STREAM *sp, stream_read_fn rd, stream_write_fn wr, void *ctx);
/* stream_flags - STREAM_F_* bits */
int stream_flags(const STREAM *sp);
/* stream_clearerr - clear the latched flags */
void stream_clearerr(STREAM *sp);

/* stream_getline - read one line into buf (without the LF; a preceding CR is
 * kept so callers can tell CRLF from LF: see *eol_r). At most limit bytes are
 * stored; the rest of an overlong line is read and discarded, and the return
 * value is then 2. Returns 1 for a complete line, 2 for an overlong line,
 * 0 for EOF with nothing read, -1 for error/timeout. A final line without LF
 * before EOF is returned as a line (1) with *eol_r = 0.
 * *eol_r (may be NULL): 2 = CRLF, 1 = bare LF, 0 = none (EOF). */
int stream_getline(STREAM *sp, VSTRING *buf, size_t limit, int *eol_r);
/* stream_read - read exactly len bytes; returns len, less at EOF, or -1 */
ssize_t stream_read(STREAM *sp, void *buf, size_t len);
/* stream_read_some - read 1..len bytes (whatever is buffered or one syscall) */
ssize_t stream_read_some(STREAM *sp, void *buf, size_t len);
/* stream_getc - one byte or STREAM_EOF (EOF or error: see stream_flags) */
int stream_getc(STREAM *sp);
/* stream_ungetc - push back one byte read by stream_getc */
void stream_ungetc(STREAM *sp, int ch);
/* stream_pending - bytes already buffered for reading (pipelining checks) */
size_t stream_pending(const STREAM *sp);
/* stream_discard_input - drop everything buffered for reading (STARTTLS) */
void stream_discard_input(STREAM *sp);

/* stream_write - buffer len bytes (flushes when the buffer fills); 0 or -1 */
int stream_write(STREAM *sp, const void *buf, size_t len);
/* stream_puts - buffer a C string */
int stream_puts(STREAM *sp, const char *str);
/* stream_printf - buffer formatted text */
int stream_printf(STREAM *sp, const char *fmt, ...) PH_PRINTF(2, 3);
/* stream_flush - write out the buffer; 0 or -1 */
int stream_flush(STREAM *sp);
/* stream_write_pending - bytes waiting in the write buffer */
size_t stream_write_pending(const STREAM *sp);

#endif
