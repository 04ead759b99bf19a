/* local_file - delivery to /file (aliases, .forward, :include:).
 *
 * Contract: the file is appended to in mbox format (From_ line, >From
 * quoting, lib/mailbox.c's locking) by a forked child that became
 * state.uid/state.gid for real, so the kernel decides what that user may
 * write; a symlink as the final component is refused, a new file is
 * created 0600. A path ending in '/' is a Maildir. The prologue has
 * Return-Path:, X-Original-To: (when it differs) and Delivered-To: when
 * prepend_delivered_header lists "file". The child reports its result to
 * the parent over a pipe: "STATUS DSN REASON".
 *
 * Results: "delivered to file: PATH" (or "delivered to maildir"); a
 * child that dies without a report defers (4.3.0).
 */
#include "sys_defs.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "mailbox.h"
#include "msg.h"
#include "mymalloc.h"
#include "privs.h"
#include "vstring.h"

#include "local.h"

/* local_file - append to a file */
void local_file(LOCAL_STATE state, const char *path)
{
    VSTRING *key = vstring_alloc(100), *pro = vstring_alloc(256), *why = vstring_alloc(128);
    size_t len = strlen(path);
    bool maildir = len > 1 && path[len - 1] == '/';
    char dsn[16] = "4.3.0", report[1024];
    MAILBOX_SRC src;
    int pfd[2], status;
    ssize_t n, got = 0;
    pid_t pid;

    vstring_fmt(key, "file:%ld:%s", (long) state.uid, path);
    if (local_duplicate(&state, STR(key)))
	goto out;
    if (local_privs_default(&state) < 0)
	goto out;
    local_prologue(pro, &state, local_delivered_wanted("file"));
    local_src(&src, &state, pro);
    if (pipe2(pfd, O_CLOEXEC) < 0) {
	local_result(&state, DEL_STAT_DEFER, "4.3.0", "pipe: %s", strerror(errno));
	goto out;
    }
    switch (pid = fork()) {
    case -1:
	close(pfd[0]);
	close(pfd[1]);
	local_result(&state, DEL_STAT_DEFER, "4.3.0", "fork: %s", strerror(errno));
	goto out;
    case 0:{
	    int rc;

	    close(pfd[0]);
	    local_child_privs(state.uid, state.gid);
	    rc = local_mailbox_store(path, maildir, &src, var_mailbox_size_limit, why, dsn);
	    if (rc == 0)
		vstring_set(why, "ok");
	    vstring_fmt(key, "%d %s %s", rc == 0 ? DEL_STAT_SENT : dsn[0] == '5' ? DEL_STAT_BOUNCE : DEL_STAT_DEFER,
			rc == 0 ? "2.0.0" : dsn, STR(why));
	    if (write(pfd[1], STR(key), LEN(key)) < 0)
		_exit(75);
	    _exit(0);
	}
    default:
	close(pfd[1]);
	while (got < (ssize_t) sizeof(report) - 1
	       && ((n = read(pfd[0], report + got, sizeof(report) - 1 - (size_t) got)) > 0
		   || (n < 0 && errno == EINTR)))
	    if (n > 0)
		got += n;
	report[got] = 0;
	close(pfd[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
	    ;
    }
    {
	char *sp1 = strchr(report, ' '), *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
	int st = atoi(report);

	if (got == 0 || sp1 == NULL || sp2 == NULL || (size_t) (sp2 - sp1 - 1) >= sizeof(dsn)) {
	    local_result(&state, DEL_STAT_DEFER, "4.3.0", "file delivery to %s failed: child process died", path);
	} else if (st == DEL_STAT_SENT) {
	    if (maildir)
		local_result(&state, DEL_STAT_SENT, "2.0.0", "delivered to maildir");
	    else
		local_result(&state, DEL_STAT_SENT, "2.0.0", "delivered to file: %s", path);
	} else {
	    memcpy(dsn, sp1 + 1, (size_t) (sp2 - sp1 - 1));
	    dsn[sp2 - sp1 - 1] = 0;
	    local_result(&state, st, dsn, "cannot append message to file %s: %s", path, sp2 + 1);
	}
    }
out:
    vstring_free(&key);
    vstring_free(&pro);
    vstring_free(&why);
}
