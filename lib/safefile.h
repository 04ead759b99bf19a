/* safefile.h - files that are durable and never half-written.
 *
 * Contract: functions return 0 or -1 with errno set and, where noted, a
 * reason in *error_r; they never abort on I/O problems.
 */
#ifndef SAFEFILE_H
#define SAFEFILE_H

#include "sys_defs.h"
#include "vstring.h"

/* safe_open_excl - create path with O_CREAT|O_EXCL|O_NOFOLLOW and mode; fd or -1 */
int safe_open_excl(const char *path, int flags, mode_t mode);
/* safe_open_read - open an existing file for reading without following a
 * final symlink (O_NOFOLLOW); fd or -1 */
int safe_open_read(const char *path);
/* safe_fsync_dir - fsync the directory that contains path (or path itself
 * when it is a directory: dir_is_path) */
int safe_fsync_dir(const char *path, bool dir_is_path);

/* Atomic replace: write into a temp file next to the target, then commit. */
typedef struct safe_file {
    char   *path;		/* final name */
    char   *tmp_path;		/* temp name in the same directory */
    int     fd;
} SAFE_FILE;

/* safe_file_create - O_EXCL temp file "DIR/.NAME.PID.RANDOM"; NULL on error */
SAFE_FILE *safe_file_create(const char *path, mode_t mode, const char **error_r);
/* safe_file_write - write all bytes; 0 or -1 */
int safe_file_write(SAFE_FILE *sf, const void *buf, size_t len);
/* safe_file_commit - fsync, close, rename over path, fsync the directory;
 * frees sf in every case, unlinking the temp file on failure */
int safe_file_commit(SAFE_FILE **sfp, const char **error_r);
/* safe_file_abort - close, unlink the temp, free */
void safe_file_abort(SAFE_FILE **sfp);

/* safe_write_file - whole-file atomic replace in one call */
int safe_write_file(const char *path, const void *buf, size_t len, mode_t mode, const char **error_r);
/* safe_read_file - read a whole regular file (at most max bytes) into buf;
 * -1 with errno EFBIG when larger */
int safe_read_file(const char *path, VSTRING *buf, size_t max);
/* safe_mkdir_p - mkdir -p with mode for created components */
int safe_mkdir_p(const char *path, mode_t mode);

#endif
