/* iostuff - whole-buffer read and write on file descriptors.
 *
 * Contract: see iostuff.h. Short writes and reads are continued, EINTR is
 * retried; any other error is returned with errno set.
 *
 * Limits: blocking descriptors only (EAGAIN is an error); no allocation
 * and no logging, so the logger itself may use these.
 */
#include "sys_defs.h"

#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "iostuff.h"

/* iostuff_write_all - write everything, retrying short writes and EINTR */
int     iostuff_write_all(int fd, const void *buf, size_t len)
{
    const char *cp = buf;

    while (len > 0) {
	ssize_t n = write(fd, cp, len);

	if (n < 0 && errno == EINTR)
	    continue;
	if (n <= 0) {
	    if (n == 0)
		errno = EIO;
	    return -1;
	}
	cp += n;
	len -= (size_t) n;
    }
    return 0;
}

/* iostuff_pread_all - pread until len bytes or end of file */
ssize_t iostuff_pread_all(int fd, void *buf, size_t len, off_t off)
{
    char   *cp = buf;
    size_t  done = 0;

    while (done < len) {
	ssize_t n = pread(fd, cp + done, len - done, off + (off_t) done);

	if (n < 0 && errno == EINTR)
	    continue;
	if (n < 0)
	    return -1;
	if (n == 0)
	    break;
	done += (size_t) n;
    }
    return (ssize_t) done;
}

/* iostuff_linger_close - half-close, then drain the peer's input */
void    iostuff_linger_close(int fd, int timeout_ms, size_t max)
{
    struct timespec start, now;
    char    buf[4096];
    size_t  got = 0;

    if (shutdown(fd, SHUT_WR) < 0)
	return;					/* not a socket, or gone */
    clock_gettime(CLOCK_MONOTONIC, &start);
    while (got < max) {
	struct pollfd pfd = {.fd = fd,.events = POLLIN};
	long    spent;
	ssize_t n;
	int     r;

	clock_gettime(CLOCK_MONOTONIC, &now);
	spent = (now.tv_sec - start.tv_sec) * 1000L
	    + (now.tv_nsec - start.tv_nsec) / 1000000L;
	if (spent >= timeout_ms)
	    return;
	r = poll(&pfd, 1, (int) (timeout_ms - spent));
	if (r < 0 && errno == EINTR)
	    continue;
	if (r <= 0)
	    return;
	n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
	if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
	    continue;
	if (n <= 0)
	    return;
	got += (size_t) n;
    }
}
