/* safefile - durable, never half-written files.
 *
 * Purpose: the one place that creates files the suite must not lose or
 * show half-written: configuration rewrites (postconf -e), compiled tables,
 * queue files, state files.
 *
 * Contract:
 *  - safe_open_excl() creates with O_CREAT|O_EXCL|O_NOFOLLOW|O_CLOEXEC and
 *    then sets the mode exactly (fchmod), so the process umask never
 *    changes the permissions the caller asked for.
 *  - An atomic replace writes "DIR/.NAME.PID.RANDOM" (random from
 *    getrandom(2), O_EXCL, so an attacker who can write DIR cannot make us
 *    follow a planted symlink), then fsync(file), close, rename over the
 *    target, fsync(DIR). Any failure goes through one cleanup path that
 *    unlinks the temp file; the target is then either the old or the new
 *    contents, never a mix.
 *  - A write error is latched (the fd is closed and set to -1) so a caller
 *    that ignores it and commits anyway gets a failure, not a short file.
 *  - Errors come back as -1 with errno set; where there is an error_r, the
 *    text is in a static buffer valid until the next call into this module.
 *
 * Limits: safe_read_file() refuses anything but a regular file and more
 * than max bytes (EFBIG). Paths are used as given (no canonicalisation).
 */
#include "sys_defs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/random.h>
#include <sys/stat.h>

#include "iostuff.h"
#include "msg.h"
#include "mymalloc.h"
#include "safefile.h"
#include "vstring.h"

#define SAFE_TMP_TRIES 8

static VSTRING *safe_errbuf;

/* safe_error - format a reason into the module's static buffer */
static const char *PH_PRINTF(1, 2) safe_error(const char *fmt, ...)
{
    va_list ap;
    int saved = errno;

    if (safe_errbuf == 0) {
        safe_errbuf = vstring_alloc(128);
        vstring_set_limit(safe_errbuf, 1024);
    }
    vstring_reset(safe_errbuf);
    va_start(ap, fmt);
    vstring_vfmt_append(safe_errbuf, fmt, ap);
    va_end(ap);
    errno = saved;
    return STR(safe_errbuf);
}

/* safe_set_error - store a reason when the caller asked for one */
#define safe_set_error(error_r, ...) do { \
        if (error_r) *(error_r) = safe_error(__VA_ARGS__); \
    } while (0)

/* safe_open_excl - exclusive create, no symlink, exact mode */
int safe_open_excl(const char *path, int flags, mode_t mode)
{
    int fd;

    do {
        fd = open(path, flags | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0)
        return -1;
    if (fchmod(fd, mode) < 0) {
        int saved = errno;

        (void) close(fd);
        (void) unlink(path);
        errno = saved;
        return -1;
    }
    return fd;
}

/* safe_open_read - open for reading, refusing a final symlink */
int safe_open_read(const char *path)
{
    int fd;

    do {
        fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
    } while (fd < 0 && errno == EINTR);
    return fd;
}

/* safe_fsync_dir - make a directory entry durable */
int safe_fsync_dir(const char *path, bool dir_is_path)
{
    const char *dir = path;
    char   *copy = 0;
    int     fd;
    int     ret;

    if (!dir_is_path) {
        const char *slash = strrchr(path, '/');

        if (slash == 0)
            dir = ".";
        else if (slash == path)
            dir = "/";
        else
            dir = copy = mystrndup(path, (size_t) (slash - path));
    }
    do {
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    myfree(copy);
    if (fd < 0)
        return -1;
    ret = fsync(fd);
    if (ret < 0 && (errno == EINVAL || errno == EROFS))
        ret = 0;			/* no sync for this kind of directory */
    if (ret < 0) {
        int saved = errno;

        (void) close(fd);
        errno = saved;
        return -1;
    }
    return close(fd);
}

/* safe_file_create - temp file next to path */
SAFE_FILE *safe_file_create(const char *path, mode_t mode, const char **error_r)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    size_t  dirlen = slash ? (size_t) (slash - path) + 1 : 0;
    VSTRING *tmp = vstring_alloc(strlen(path) + 40);
    SAFE_FILE *sf;
    int     fd = -1;

    if (*base == 0) {
        vstring_free(&tmp);
        errno = EISDIR;
        safe_set_error(error_r, "%s: not a file name", path);
        return 0;
    }
    for (int tries = 0; tries < SAFE_TMP_TRIES; tries++) {
        uint64_t rnd;

        if (getrandom(&rnd, sizeof(rnd), 0) != (ssize_t) sizeof(rnd)) {
            safe_set_error(error_r, "getrandom: %m");
            vstring_free(&tmp);
            return 0;
        }
        vstring_setn(tmp, path, dirlen);
        vstring_fmt_append(tmp, ".%s.%ld.%016llx", base, (long) getpid(),
                           (unsigned long long) rnd);
        if ((fd = safe_open_excl(STR(tmp), O_WRONLY, mode)) >= 0 || errno != EEXIST)
            break;
    }
    if (fd < 0) {
        safe_set_error(error_r, "create %s: %m", STR(tmp));
        vstring_free(&tmp);
        return 0;
    }
    sf = mymalloc(sizeof(*sf));
    sf->path = mystrdup(path);
    sf->tmp_path = vstring_export(&tmp);
    sf->fd = fd;
    return sf;
}

/* safe_file_write - write all bytes; an error is latched */
int safe_file_write(SAFE_FILE *sf, const void *buf, size_t len)
{
    if (sf->fd < 0) {
        errno = EBADF;
        return -1;
    }
    if (iostuff_write_all(sf->fd, buf, len) < 0) {
        int saved = errno;

        (void) close(sf->fd);
        sf->fd = -1;			/* commit must fail now */
        errno = saved;
        return -1;
    }
    return 0;
}

/* safe_file_free - release the handle */
static void safe_file_free(SAFE_FILE **sfp)
{
    SAFE_FILE *sf = *sfp;

    myfree(sf->path);
    myfree(sf->tmp_path);
    myfree(sf);
    *sfp = 0;
}

/* safe_file_commit - fsync, rename into place, fsync the directory */
int safe_file_commit(SAFE_FILE **sfp, const char **error_r)
{
    SAFE_FILE *sf = *sfp;
    int     saved;

    if (sf->fd < 0) {
        errno = EIO;
        safe_set_error(error_r, "write %s: earlier write error", sf->tmp_path);
        goto fail;
    }
    if (fsync(sf->fd) < 0) {
        safe_set_error(error_r, "fsync %s: %m", sf->tmp_path);
        goto fail;
    }
    if (close(sf->fd) < 0) {
        sf->fd = -1;
        safe_set_error(error_r, "close %s: %m", sf->tmp_path);
        goto fail;
    }
    sf->fd = -1;
    if (rename(sf->tmp_path, sf->path) < 0) {
        safe_set_error(error_r, "rename %s to %s: %m", sf->tmp_path, sf->path);
        goto fail;
    }
    if (safe_fsync_dir(sf->path, false) < 0) {
        /* The new contents are in place but may not survive a crash. */
        safe_set_error(error_r, "fsync directory of %s: %m", sf->path);
        saved = errno;
        safe_file_free(sfp);
        errno = saved;
        return -1;
    }
    safe_file_free(sfp);
    return 0;

fail:
    saved = errno;
    if (sf->fd >= 0)
        (void) close(sf->fd);
    (void) unlink(sf->tmp_path);
    safe_file_free(sfp);
    errno = saved;
    return -1;
}

/* safe_file_abort - throw the temp file away */
void safe_file_abort(SAFE_FILE **sfp)
{
    SAFE_FILE *sf = *sfp;
    int     saved = errno;

    if (sf == 0)
        return;
    if (sf->fd >= 0)
        (void) close(sf->fd);
    (void) unlink(sf->tmp_path);
    safe_file_free(sfp);
    errno = saved;
}

/* safe_write_file - whole-file atomic replace */
int safe_write_file(const char *path, const void *buf, size_t len, mode_t mode,
                            const char **error_r)
{
    SAFE_FILE *sf = safe_file_create(path, mode, error_r);

    if (sf == 0)
        return -1;
    if (safe_file_write(sf, buf, len) < 0) {
        safe_set_error(error_r, "write %s: %m", sf->tmp_path);
        safe_file_abort(&sf);
        return -1;
    }
    return safe_file_commit(&sf, error_r);
}

/* safe_read_file - read a whole regular file, at most max bytes */
int safe_read_file(const char *path, VSTRING *buf, size_t max)
{
    struct stat st;
    char    chunk[8192];
    size_t  total = 0;
    int     fd;
    int     saved;

    vstring_reset(buf);
    if ((fd = safe_open_read(path)) < 0)
        return -1;
    if (fstat(fd, &st) < 0)
        goto fail;
    if (!S_ISREG(st.st_mode)) {
        errno = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
        goto fail;
    }
    if ((uintmax_t) st.st_size > max) {
        errno = EFBIG;
        goto fail;
    }
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof(chunk));

        if (n < 0) {
            if (errno == EINTR)
                continue;
            goto fail;
        }
        if (n == 0)
            break;
        if ((size_t) n > max - total) {	/* grew while we read */
            errno = EFBIG;
            goto fail;
        }
        vstring_catn(buf, chunk, (size_t) n);
        if (buf->overflow) {		/* the caller's own limit */
            errno = EFBIG;
            goto fail;
        }
        total += (size_t) n;
    }
    return close(fd);

fail:
    saved = errno;
    (void) close(fd);
    vstring_reset(buf);
    errno = saved;
    return -1;
}

/* safe_mkdir_p - create path and missing parents */
int safe_mkdir_p(const char *path, mode_t mode)
{
    char   *copy = mystrdup(path);
    char   *cp = copy;
    struct stat st;
    int     saved;

    if (*copy == 0) {
        myfree(copy);
        errno = ENOENT;
        return -1;
    }
    for (;;) {
        while (*cp == '/')
            cp++;
        char   *end = cp + strcspn(cp, "/");
        bool    last = (*end == 0 || end[strspn(end, "/")] == 0);
        char    save = *end;

        if (cp == end)			/* trailing slashes */
            break;
        *end = 0;
        if (mkdir(copy, mode) == 0) {
            if (chmod(copy, mode) < 0)
                goto fail;
        } else if (errno == EEXIST) {
            if (stat(copy, &st) < 0)
                goto fail;
            if (!S_ISDIR(st.st_mode)) {
                errno = ENOTDIR;
                goto fail;
            }
        } else {
            goto fail;
        }
        *end = save;
        if (last)
            break;
        cp = end;
    }
    myfree(copy);
    return 0;

fail:
    saved = errno;
    myfree(copy);
    errno = saved;
    return -1;
}
