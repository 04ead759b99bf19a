/* iostuff.h - whole-buffer read and write on file descriptors.
 *
 * Retries short transfers and EINTR so callers do not each carry their
 * own loop. These functions neither allocate nor log (msg.c uses them).
 */
#ifndef IOSTUFF_H
#define IOSTUFF_H

#include "sys_defs.h"
#include <sys/types.h>

/* iostuff_write_all - write all len bytes: 0, or -1 with errno (EIO when
 * write() makes no progress) */
int     iostuff_write_all(int fd, const void *buf, size_t len);

/* iostuff_pread_all - pread up to len bytes at off: the count read (less
 * than len only at end of file), or -1 with errno */
ssize_t iostuff_pread_all(int fd, void *buf, size_t len, off_t off);

/* iostuff_linger_close - end a socket session without a reset: send our
 * FIN, then read and discard what the peer still sends (at most max bytes,
 * for at most timeout_ms) until it closes too. Closing with unread input
 * makes the kernel answer with RST, which can destroy the last reply in
 * the peer's receive queue before it is read (e.g. "too many errors"
 * after a pipelined burst). Does not close fd. */
void    iostuff_linger_close(int fd, int timeout_ms, size_t max);

#endif
