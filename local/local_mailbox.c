/* local_mailbox - delivery to a local user's mailbox.
 *
 * Contract: local_mailbox() delivers once per user and recipient
 * expansion:
 *   mailbox_command set     the command, as the user, in the home
 *                           directory (local_command), after $user,
 *                           $home, $extension ... expansion ($$ = $)
 *   home_mailbox "Maildir/" Maildir under the home (trailing slash)
 *   home_mailbox "Mailbox"  mbox file under the home
 *   home_mailbox empty      mbox mail_spool_directory/USER
 * with Return-Path:, X-Original-To: (when it differs) and Delivered-To:
 * prepended, and mailbox_size_limit. Home mailboxes are opened with the
 * user's effective uid/gid/groups (local_eugid_set). A spool directory
 * that is world-writable (1777) is used the same way; a protected one
 * (Debian's root:mail 2775) is used as root: the file is created
 * O_EXCL|O_NOFOLLOW with mode 0600 and given to the user, and an
 * existing one must be a regular file with one link owned by the user.
 *
 * Results: "delivered to maildir" / "delivered to mailbox"; 4.x.x
 * problems (permissions, disk full, lock busy) defer; 5.x.x (size limit,
 * symlinked or odd mailbox) bounce.
 */
#include "sys_defs.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "mailbox.h"
#include "msg.h"
#include "path_expand.h"
#include "mymalloc.h"
#include "vstring.h"

#include "local.h"

/* local_mailbox_store - Maildir or mbox delivery with the current identity */
int     local_mailbox_store(const char *path, bool maildir, const MAILBOX_SRC *src,
			            off_t limit, VSTRING *why, char dsn[16])
{
    if (maildir)
	return maildir_deliver(path, src, limit, NULL, why, dsn);
    return mbox_deliver(path, src, limit, why, dsn);
}

/* local_mailbox_report - log the result of a mailbox delivery */
void    local_mailbox_report(const LOCAL_STATE *state, int rc, bool maildir,
			             const char *dsn, const VSTRING *why)
{
    if (rc == 0)
	local_result(state, DEL_STAT_SENT, "2.0.0",
		     maildir ? "delivered to maildir" : "delivered to mailbox");
    else
	local_result_why(state, dsn, STR(why));
}

/* local_spool_prepare - as root: make sure path is the user's own file */
static int local_spool_prepare(const char *path, const struct passwd *pw, VSTRING *why,
			       char dsn[16])
{
    struct stat st;
    int fd;

    if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) >= 0) {
	if (fchown(fd, pw->pw_uid, pw->pw_gid) < 0) {
	    vstring_fmt(why, "change owner of mailbox %s: %s", path, strerror(errno));
	    ph_strlcpy(dsn, "4.3.0", 16);
	    close(fd);
	    unlink(path);
	    return -1;
	}
	close(fd);
	return 0;
    }
    if (errno != EEXIST) {
	vstring_fmt(why, "create mailbox %s: %s", path, strerror(errno));
	ph_strlcpy(dsn, errno == ENOSPC || errno == EDQUOT ? "4.2.2" : "4.3.0", 16);
	return -1;
    }
    if (lstat(path, &st) < 0) {
	vstring_fmt(why, "lstat mailbox %s: %s", path, strerror(errno));
	ph_strlcpy(dsn, "4.3.0", 16);
	return -1;
    }
    if (S_ISLNK(st.st_mode)) {
	vstring_fmt(why, "mailbox %s is a symbolic link", path);
	ph_strlcpy(dsn, "5.3.5", 16);
	return -1;
    }
    if (!S_ISREG(st.st_mode) || st.st_nlink != 1 || st.st_uid != pw->pw_uid) {
	vstring_fmt(why, "mailbox %s: not a regular file with one link owned by %s", path, pw->pw_name);
	ph_strlcpy(dsn, "5.3.5", 16);
	return -1;
    }
    return 0;
}

/* local_mailbox - the user's mailbox */
void local_mailbox(LOCAL_STATE state, const struct passwd *pw)
{
    VSTRING *key = vstring_alloc(64), *pro = vstring_alloc(256), *path = vstring_alloc(128);
    VSTRING *why = vstring_alloc(128);
    char dsn[16] = "4.3.0";
    MAILBOX_SRC src;
    bool maildir = false, as_root = false;
    int rc;

    vstring_fmt(key, "mailbox:%s", pw->pw_name);
    if (local_duplicate(&state, STR(key)))
	goto out;
    if (*var_mailbox_command) {
	const char *raw = config_lookup_raw("mailbox_command");

	/* $user, $home, $extension ... are the recipient's ($$ for the shell). */
	state.exp_type = LOCAL_EXP_NONE;
	if (local_expand_attrs(path, raw ? raw : var_mailbox_command, &state) == PATH_EXPAND_SYNTAX)
	    local_result(&state, DEL_STAT_DEFER, "4.3.5", "mailbox_command: bad $name syntax: %s",
			 raw ? raw : var_mailbox_command);
	else
	    local_command(state, STR(path));
	goto out;
    }
    local_prologue(pro, &state, true);
    local_src(&src, &state, pro);
    if (*var_home_mailbox) {
	size_t n = strlen(var_home_mailbox);

	maildir = var_home_mailbox[n - 1] == '/';
	vstring_fmt(path, "%s/%s", strcmp(pw->pw_dir, "/") == 0 ? "" : pw->pw_dir, var_home_mailbox);
    } else {
	struct stat st;

	vstring_fmt(path, "%s/%s", var_mail_spool_directory, pw->pw_name);
	as_root = local_privileged
	    && !(stat(var_mail_spool_directory, &st) == 0 && (st.st_mode & S_IWOTH));
    }
    if (as_root) {
	if ((rc = local_spool_prepare(STR(path), pw, why, dsn)) == 0)
	    rc = mbox_deliver(STR(path), &src, var_mailbox_size_limit, why, dsn);
    } else {
	local_eugid_set(state.uid, state.gid);
	rc = local_mailbox_store(STR(path), maildir, &src, var_mailbox_size_limit, why, dsn);
	local_eugid_root();
    }
    local_mailbox_report(&state, rc, maildir, dsn, why);
out:
    vstring_free(&key);
    vstring_free(&pro);
    vstring_free(&path);
    vstring_free(&why);
}
