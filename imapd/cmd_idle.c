/* cmd_idle - IDLE (RFC 2177): report mailbox changes as they happen
 * until the client sends DONE.
 *
 * The command only starts the wait ("+ idling") and returns without a
 * tagged reply; the session loop (imapd_serve.c) then checks the folder's
 * cheap change test when inotify reports a change in its new/ or cur/
 * (and every mailbox_idle_check_interval besides; every second where
 * inotify cannot be had), sends "* OK Still
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
    /* watch first, then look once: a change made before the watch is
     * found by that look, one made after it (the client has seen "+")
     * by the watch */
    s->idling = true;
    s->idle_note = s->idle_check = time(NULL);
    imapd_idle_watch(s);
    s->idle_wake = true;
    imapd_send(s, "+ idling\r\n");
    imapd_flush(s);
    /* the next input is one line: DONE (the loop resets the parser) */
}
