/* passwd_file.h - Dovecot's passwd-file format, parsed into a table.
 *
 * One user per line: user:password:uid:gid:gecos:home:shell:extra_fields
 * Trailing fields may be left out; "#" starts a comment line; blank lines
 * are skipped. The password may carry "{SCHEME}". extra_fields is a
 * space-separated list of name=value (userdb_NAME=value for the userdb).
 * uid and gid are numbers or empty.
 *
 * Errors: a bad line (empty or over-long user name, white space or
 * control characters in it, non-numeric uid/gid, too long) is skipped and
 * described as "PATH:LINE: reason" in the caller's warnings list; the
 * first of duplicate users wins (the later one is reported). I/O errors
 * are returned through error_r. Limits: PASSWD_FILE_MAX_SIZE bytes per
 * file, PASSWD_FILE_MAX_LINE bytes per line.
 */
#ifndef PASSWD_FILE_H
#define PASSWD_FILE_H

#include "sys_defs.h"
#include "argv.h"

#define PASSWD_FILE_MAX_SIZE (64L * 1024 * 1024)
#define PASSWD_FILE_MAX_LINE 8192

typedef struct passwd_file_entry {
    char   *user;
    char   *password;		/* "" when none */
    long    uid, gid;		/* -1 when empty */
    char   *home;		/* "" when none */
    char   *extra;		/* "" when none */
} PASSWD_FILE_ENTRY;

typedef struct passwd_file PASSWD_FILE;

/* passwd_file_parse - parse text (len bytes) named path in messages */
PASSWD_FILE *passwd_file_parse(const char *path, const char *text, size_t len,
                               ARGV *warnings);
/* passwd_file_open - read and parse path; NULL with *error_r (static) */
PASSWD_FILE *passwd_file_open(const char *path, ARGV *warnings, const char **error_r);
/* passwd_file_lookup - the entry for user, or NULL */
const PASSWD_FILE_ENTRY *passwd_file_lookup(const PASSWD_FILE *pf, const char *user);
/* passwd_file_count - number of users */
size_t passwd_file_count(const PASSWD_FILE *pf);
/* passwd_file_changed - true when the file on disk is not the one read
 * (other inode, size or mtime, or gone) */
bool passwd_file_changed(const PASSWD_FILE *pf);
/* passwd_file_extra - value of name in an entry's extra fields (a bare
 * "name" gives ""), or NULL; the result is valid until the next call */
const char *passwd_file_extra(const PASSWD_FILE_ENTRY *ent, const char *name);
/* passwd_file_free - release (password bytes wiped); NULLs the pointer */
void passwd_file_free(PASSWD_FILE **pfp);

#endif
