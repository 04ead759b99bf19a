/* mailbox - Maildir and mbox delivery (see mailbox.h for the contract).
 *
 * Durability: a Maildir message is in new/ only after its data and the
 * directory entry are on disk (fsync of the file, rename, fsync of new/).
 * An mbox append is fsync'ed before the lock is released.
 *
 * Limits: no line-length limit in Maildir copies (bytes are copied as-is);
 * mbox quoting processes lines through a 64 KiB window with no limit on
 * line length either (a long line is just copied in pieces).
 */
#include "sys_defs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "iostuff.h"
#include "mailbox.h"
#include "msg.h"
#include "mymalloc.h"
#include "vstring.h"

#define COPY_CHUNK 65536
#define DOTLOCK_STALE 300
#define DOTLOCK_TRIES 60

/* set_error - fill why and dsn from errno */
static int set_error(VSTRING *why, char dsn_r[16], const char *what, const char *path, int err)
{
    const char *dsn = "4.3.0";

    if (err == ENOSPC || err == EDQUOT)
	dsn = "4.2.2";
    vstring_fmt(why, "%s %s: %s", what, path, strerror(err));
    ph_strlcpy(dsn_r, dsn, 16);
    return -1;
}

/* mailbox_read_chunk - up to COPY_CHUNK of the left bytes at off; -1 with
 * errno (EIO when the source ends early) */
static ssize_t mailbox_read_chunk(const MAILBOX_SRC *src, char *buf, off_t off, off_t left)
{
    size_t want = left > COPY_CHUNK ? COPY_CHUNK : (size_t) left;
    ssize_t n = iostuff_pread_all(src->fd, buf, want, off);

    if (n == 0)
	errno = EIO;
    return n > 0 ? n : -1;
}

/* copy_region - copy src->length bytes from src->fd at offset into out */
static int copy_region(int out, const MAILBOX_SRC *src)
{
    char *buf = mymalloc(COPY_CHUNK);
    off_t off = src->offset, left = src->length;
    int status = 0;

    while (left > 0) {
	ssize_t n = mailbox_read_chunk(src, buf, off, left);

	if (n < 0) {
	    status = -1;
	    break;
	}
	if (iostuff_write_all(out, buf, (size_t) n) < 0) {
	    status = -1;
	    break;
	}
	off += n;
	left -= n;
    }
    myfree(buf);
    return status;
}

static char mailbox_host[128];

/* mailbox_unique - a Maildir-unique base name */
void mailbox_unique(VSTRING *buf)
{
    static unsigned long counter;
    struct timeval tv;

    if (mailbox_host[0] == 0) {
	if (gethostname(mailbox_host, sizeof(mailbox_host) - 1) < 0)
	    ph_strlcpy(mailbox_host, "localhost", sizeof(mailbox_host));
	/* '/' and ':' may not appear in a Maildir name. */
	for (char *cp = mailbox_host; *cp; cp++)
	    if (*cp == '/' || *cp == ':')
		*cp = '_';
    }
    gettimeofday(&tv, NULL);
    vstring_fmt(buf, "%ld.M%ldP%ldQ%lu.%s", (long) tv.tv_sec, (long) tv.tv_usec,
		(long) getpid(), ++counter, mailbox_host);
}

/* make_dir - mkdir that accepts an existing directory */
static int make_dir(const char *path)
{
    struct stat st;

    if (mkdir(path, 0700) == 0)
	return 0;
    if (errno == EEXIST && lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
	return 0;
    if (errno == EEXIST)
	errno = ENOTDIR;
    return -1;
}

/* maildir_make - create the Maildir tree */
int maildir_make(const char *dir, VSTRING *why)
{
    VSTRING *path = vstring_alloc(256);
    static const char *const subs[] = {"", "/tmp", "/new", "/cur"};
    int status = 0;

    for (size_t i = 0; i < PH_ARRAY_LEN(subs); i++) {
	vstring_fmt(path, "%s%s", dir, subs[i]);
	if (make_dir(STR(path)) < 0) {
	    vstring_fmt(why, "create maildir directory %s: %s", STR(path), strerror(errno));
	    status = -1;
	    break;
	}
    }
    vstring_free(&path);
    return status;
}

/* fsync_path - fsync a directory by name */
static int fsync_path(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int status;

    if (fd < 0)
	return -1;
    status = fsync(fd);
    close(fd);
    return status;
}

/* maildir_deliver - one message into a Maildir */
int maildir_deliver(const char *dir, const MAILBOX_SRC *src, off_t size_limit,
		    VSTRING *path_r, VSTRING *why, char dsn_r[16])
{
    VSTRING *base = vstring_alloc(128), *tmp = vstring_alloc(256), *fin = vstring_alloc(256);
    off_t size = (off_t) src->prologue_len + src->length;
    int fd = -1, status = -1;
    char trimmed[4096];

    /* A trailing slash in home_mailbox (Maildir/) is the usual spelling. */
    if (ph_strlcpy(trimmed, dir, sizeof(trimmed)) >= sizeof(trimmed)) {
	/* Never deliver into a truncated (different) path. */
	vstring_fmt(why, "maildir path is too long (%zu bytes)", strlen(dir));
	ph_strlcpy(dsn_r, "5.3.5", 16);
	goto out;
    }
    for (size_t n = strlen(trimmed); n > 1 && trimmed[n - 1] == '/'; n--)
	trimmed[n - 1] = 0;

    if (size_limit > 0 && size > size_limit) {
	vstring_fmt(why, "message file too big (%lld > %lld bytes)", (long long) size, (long long) size_limit);
	ph_strlcpy(dsn_r, "5.2.2", 16);
	goto out;
    }
    /* The Maildir usually exists: create its directories only when the
     * first open says so (saves four mkdir calls per delivery). */
    for (int attempt = 0, made = 0; attempt < 5; attempt++) {
	mailbox_unique(base);
	vstring_fmt(tmp, "%s/tmp/%s", trimmed, STR(base));
	fd = open(STR(tmp), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 && errno == ENOENT && !made) {
	    made = 1;
	    if (maildir_make(trimmed, why) < 0) {
		ph_strlcpy(dsn_r, "4.3.0", 16);
		goto out;
	    }
	    attempt--;
	    continue;
	}
	if (fd >= 0 || errno != EEXIST)
	    break;
    }
    if (fd < 0) {
	set_error(why, dsn_r, "create maildir file", STR(tmp), errno);
	goto out;
    }
    if ((src->prologue_len && iostuff_write_all(fd, src->prologue, src->prologue_len) < 0)
	|| copy_region(fd, src) < 0) {
	set_error(why, dsn_r, "write maildir file", STR(tmp), errno);
	goto unlink_tmp;
    }
    if (fsync(fd) < 0) {
	set_error(why, dsn_r, "fsync maildir file", STR(tmp), errno);
	goto unlink_tmp;
    }
    if (close(fd) < 0) {
	fd = -1;
	set_error(why, dsn_r, "close maildir file", STR(tmp), errno);
	goto unlink_tmp;
    }
    fd = -1;
    vstring_fmt(fin, "%s/new/%s,S=%lld", trimmed, STR(base), (long long) size);
    if (rename(STR(tmp), STR(fin)) < 0
	&& (errno != ENOENT || maildir_make(trimmed, why) < 0 || rename(STR(tmp), STR(fin)) < 0)) {
	set_error(why, dsn_r, "rename maildir file to", STR(fin), errno);
	goto unlink_tmp;
    }
    vstring_fmt(tmp, "%s/new", trimmed);
    if (fsync_path(STR(tmp)) < 0) {
	/* The message is in new/ but maybe not durable: report a deferral so
	 * the queue keeps its copy (at least once, never lost). */
	set_error(why, dsn_r, "fsync maildir directory", STR(tmp), errno);
	goto out;
    }
    if (path_r)
	vstring_set(path_r, STR(fin));
    status = 0;
    goto out;

unlink_tmp:
    if (fd >= 0)
	close(fd);
    fd = -1;
    unlink(STR(tmp));
out:
    if (fd >= 0)
	close(fd);
    vstring_free(&base);
    vstring_free(&tmp);
    vstring_free(&fin);
    return status;
}

/* dotlock_acquire - create path.lock with O_EXCL, breaking stale locks */
static int dotlock_acquire(const char *lock, VSTRING *why)
{
    for (int i = 0; i < DOTLOCK_TRIES; i++) {
	int fd = open(lock, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	struct stat st;

	if (fd >= 0) {
	    close(fd);
	    return 0;
	}
	if (errno != EEXIST) {
	    /* No permission to create a lock in a shared spool (mode 1777 not
	     * set): fcntl locking alone then protects us, as Postfix does. */
	    if (errno == EACCES || errno == EPERM)
		return 1;
	    vstring_fmt(why, "create lock file %s: %s", lock, strerror(errno));
	    return -1;
	}
	if (lstat(lock, &st) == 0 && time(NULL) - st.st_mtime > DOTLOCK_STALE) {
	    msg_warn("removing stale lock file %s", lock);
	    unlink(lock);
	    continue;
	}
	usleep(100000 + (useconds_t) (rand() % 100000));
    }
    vstring_fmt(why, "unable to lock %s: lock file busy", lock);
    return -1;
}

/* mbox_write_quoted - copy the region with From_ quoting, end with LF LF */
static int mbox_write_quoted(int out, const MAILBOX_SRC *src)
{
    char *in = mymalloc(COPY_CHUNK);
    VSTRING *obuf = vstring_alloc(COPY_CHUNK + 1024);
    off_t off = src->offset, left = src->length;
    bool bol = true;		/* at the beginning of a line */
    bool last_nl = true;
    int status = 0;
    /* Partial match of "From " at the start of a line across chunks. */
    char pend[5];
    size_t npend = 0;

    while (left > 0) {
	ssize_t n = mailbox_read_chunk(src, in, off, left);

	if (n < 0) {
	    status = -1;
	    goto out;
	}
	vstring_reset(obuf);
	for (ssize_t i = 0; i < n; i++) {
	    char c = in[i];

	    if (bol || npend) {
		/* Collecting a possible "From " prefix. */
		if (c == "From "[npend]) {
		    pend[npend++] = c;
		    bol = false;
		    if (npend == 5) {
			vstring_addch(obuf, '>');
			vstring_catn(obuf, pend, 5);
			npend = 0;
		    }
		    continue;
		}
		if (npend) {
		    vstring_catn(obuf, pend, npend);
		    npend = 0;
		}
		bol = false;
	    }
	    vstring_addch(obuf, c);
	    if (c == '\n')
		bol = true;
	}
	if (iostuff_write_all(out, STR(obuf), LEN(obuf)) < 0) {
	    status = -1;
	    goto out;
	}
	last_nl = in[n - 1] == '\n';
	off += n;
	left -= n;
    }
    if (npend) {
	if (iostuff_write_all(out, pend, npend) < 0) {
	    status = -1;
	    goto out;
	}
	last_nl = false;
    }
    /* A message ends with an empty line before the next From_ line. */
    status = iostuff_write_all(out, last_nl ? "\n" : "\n\n", last_nl ? 1 : 2);
out:
    myfree(in);
    vstring_free(&obuf);
    return status;
}

/* mbox_deliver - append one message to an mbox file */
int mbox_deliver(const char *path, const MAILBOX_SRC *src, off_t size_limit,
		 VSTRING *why, char dsn_r[16])
{
    VSTRING *lock = vstring_alloc(256), *from = vstring_alloc(128);
    struct stat st;
    off_t orig_size;
    int fd, status = -1, dot = 0;
    struct flock fl;

    /* O_NONBLOCK: a FIFO planted as the mailbox must not block the open;
     * the regular-file check below refuses it. */
    fd = open(path, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0 && errno == ENOENT)
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0600);
    if (fd < 0 && errno == ENXIO) {
	/* A FIFO without a reader. */
	vstring_fmt(why, "mailbox %s is not a regular file with one link", path);
	ph_strlcpy(dsn_r, "5.3.5", 16);
	goto out;
    }
    if (fd < 0) {
	if (errno == ELOOP) {
	    vstring_fmt(why, "mailbox %s is a symbolic link", path);
	    ph_strlcpy(dsn_r, "5.3.5", 16);
	} else
	    set_error(why, dsn_r, "open mailbox", path, errno);
	goto out;
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1) {
	vstring_fmt(why, "mailbox %s is not a regular file with one link", path);
	ph_strlcpy(dsn_r, "5.3.5", 16);
	goto close_out;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    vstring_fmt(lock, "%s.lock", path);
    if ((dot = dotlock_acquire(STR(lock), why)) < 0) {
	ph_strlcpy(dsn_r, "4.2.0", 16);
	goto close_out;
    }
    memset(&fl, 0, sizeof(fl));
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    for (int i = 0; fcntl(fd, F_SETLK, &fl) < 0; i++) {
	if ((errno != EAGAIN && errno != EACCES) || i >= DOTLOCK_TRIES) {
	    vstring_fmt(why, "unable to lock %s: %s", path, strerror(errno));
	    ph_strlcpy(dsn_r, "4.2.0", 16);
	    goto unlock_out;
	}
	usleep(100000);
    }
    if (fstat(fd, &st) < 0) {
	set_error(why, dsn_r, "stat mailbox", path, errno);
	goto unlock_out;
    }
    orig_size = st.st_size;

    char date[64];
    struct tm tm;
    time_t t = src->arrival ? src->arrival : time(NULL);
    localtime_r(&t, &tm);
    strftime(date, sizeof(date), "%a %b %e %H:%M:%S %Y", &tm);
    vstring_fmt(from, "From %s  %s\n", src->sender && *src->sender ? src->sender : "MAILER-DAEMON", date);
    /* Estimate: quoting may add a few '>' bytes; the final empty line adds 1-2. */
    if (size_limit > 0 && orig_size + (off_t) LEN(from) + (off_t) src->prologue_len + src->length + 1 > size_limit) {
	vstring_fmt(why, "cannot update mailbox %s: file too large", path);
	ph_strlcpy(dsn_r, "5.2.2", 16);
	goto unlock_out;
    }
    if (iostuff_write_all(fd, STR(from), LEN(from)) < 0
	|| (src->prologue_len && iostuff_write_all(fd, src->prologue, src->prologue_len) < 0)
	|| mbox_write_quoted(fd, src) < 0
	|| fsync(fd) < 0) {
	set_error(why, dsn_r, "write mailbox", path, errno);
	if (ftruncate(fd, orig_size) < 0)
	    msg_warn("truncate %s back to %lld bytes: %m", path, (long long) orig_size);
	goto unlock_out;
    }
    status = 0;

unlock_out:
    fl.l_type = F_UNLCK;
    fcntl(fd, F_SETLK, &fl);
    if (dot == 0)
	unlink(STR(lock));
close_out:
    close(fd);
out:
    vstring_free(&lock);
    vstring_free(&from);
    return status;
}
