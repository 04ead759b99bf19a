/* mastercf.h - master.cf, Postfix's service table.
 *
 *   # service type  private unpriv  chroot  wakeup  maxproc command + args
 *   smtp      inet  n       -       n       -       -       smtpd
 *     -o smtpd_tls_wrappermode=yes
 *
 * type: inet | unix | unix-dgram | fifo | pass. "-" means the default:
 * private y, unpriv y, chroot n (Posthorn never chroots; "y" is accepted
 * and logged as ignored), wakeup 0, maxproc $default_process_limit.
 * wakeup may end in "?" (only wake when used). Lines starting with white
 * space continue the previous entry. Arguments: "-o name=value" (or
 * "-o { name = value with spaces }") are parameter overrides; the rest are
 * passed to the program. An inet service name is [host:]port, port being a
 * number or a name from /etc/services; unix/fifo names are paths relative
 * to queue_directory/private (private=y) or /public (private=n).
 *
 * Errors: mastercf_read returns NULL with "FILE, line N: ..." in *error_r.
 */
#ifndef MASTERCF_H
#define MASTERCF_H

#include "sys_defs.h"
#include "argv.h"

typedef struct master_entry {
    char   *name;		/* service name field */
    char   *type;		/* inet, unix, unix-dgram, fifo, pass */
    bool    private_;		/* private field */
    bool    unpriv;		/* unpriv field */
    bool    chroot;		/* chroot field (ignored by Posthorn) */
    int     wakeup;		/* seconds, 0: none */
    bool    wakeup_if_used;	/* wakeup had a trailing '?' */
    int     maxproc;		/* -1: $default_process_limit; 0: no limit */
    char   *command;		/* program name (first word of command) */
    ARGV   *args;		/* program arguments, without -o pairs */
    ARGV   *overrides;		/* "name=value" from -o */
    int     line;		/* line number of the entry */
    ARGV   *words;		/* as written, for postconf -M: the 7 fields,
				 * the command, then the arguments with each
				 * -o pair as "-o", "name=value" */
} MASTER_ENTRY;

typedef struct master_table {
    MASTER_ENTRY **entries;
    size_t  count;
    char   *path;
} MASTER_TABLE;

/* mastercf_read - parse a master.cf; NULL with *error_r on a syntax error */
MASTER_TABLE *mastercf_read(const char *path, const char **error_r);
#define MASTERCF_FLAG_NONE  0
#define MASTERCF_FLAG_QUIET (1 << 0)	/* no warnings (chroot y ignored) */
/* mastercf_read_flags - mastercf_read with MASTERCF_FLAG_* */
MASTER_TABLE *mastercf_read_flags(const char *path, int flags, const char **error_r);
/* mastercf_free - release; NULLs the pointer */
void mastercf_free(MASTER_TABLE **mtp);
/* mastercf_find - the entry for service/type, or NULL */
MASTER_ENTRY *mastercf_find(MASTER_TABLE *mt, const char *service, const char *type);

#endif
