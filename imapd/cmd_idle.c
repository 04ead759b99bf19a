/* cmd_idle - IDLE (RFC 2177): report mailbox changes as they happen
 * until the client sends DONE.
 *
 * The command only starts the wait ("+ idling") and returns without a
 * tagged reply; the session loop (imapd_serve.c) then checks the folder's
 * cheap change test once a second (no inotify yet), sends "* OK Still
 * here" every imap_idle_notify_interval, and ends IDLE with the client's
 * DONE line (or BAD for any other line). imap_autologout does not end
 * IDLE while the client reads the keep-alives.
 */
#include "sys_defs.h"

#include <time.h>

#include "imapd.h"

/* cmd_idle - IDLE */
void    cmd_idle(IMAPD_SESSION *s, const IMAP_ARG *args, size_t count)
{
    (void) args;
    if (count != 0) {
	imapd_bad(s, "IDLE takes no arguments");
	return;
    }
    imapd_send(s, "+ idling\r\n");
    imapd_flush(s);
    s->idling = true;
    s->idle_note = s->idle_check = time(NULL);
    /* the next input is one line: DONE (the loop resets the parser) */
}
