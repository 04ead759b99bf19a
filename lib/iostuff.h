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

#endif
