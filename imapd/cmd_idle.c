/* cmd_idle - IDLE (RFC 2177): report mailbox changes as they happen
 * until the client sends DONE. Changes are found by polling the
 * folder's cheap change check once a second (no inotify yet); a
 * keep-alive "* OK Still here" goes out every imap_idle_notify_interval.
 * IDLE is bounded by imap_autologout like any other wait.
 */
#include "sys_defs.h"

#include <poll.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "imapd.h"
#include "msg.h"

int     imapd_read_line(IMAPD_SESSION *s, VSTRING *line);
bool    imapd_input_pending(IMAPD_SESSION *s);

/* cmd_idle - IDLE */
void    cmd_idle(IMAPD_SESSION *s, const IMAP_ARG *args, size_t count)
{
    VSTRING *line = vstring_alloc(64);
    time_t  start = time(NULL), last_note = start;
    const char *err;

    (void) args;
    if (count != 0) {
	imapd_bad(s, "IDLE takes no arguments");
	vstring_free(&line);
	return;
    }
    imapd_send(s, "+ idling\r\n");
    imapd_flush(s);
    for (;;) {
	if (!imapd_input_pending(s)) {
	    struct pollfd pfd = {.fd = stream_fd(s->client), .events = POLLIN};
	    int     r = poll(&pfd, 1, 1000);
	    time_t  now = time(NULL);

	    if (r == 0) {
		if (s->folder && mstore_folder_changed(s->folder, &err) == 1) {
		    imapd_updates(s, true);
		    imapd_flush(s);
		}
		if (now - last_note >= var_imap_idle_notify_interval) {
		    imapd_send(s, "* OK Still here\r\n");
		    imapd_flush(s);
		    last_note = now;
		}
		if (now - start > var_imap_autologout) {
		    s->state = IMAPD_LOGOUT;
		    imapd_send(s, "* BYE Disconnected for inactivity.\r\n");
		    imapd_no(s, "IDLE timed out.");
		    break;
		}
		continue;
	    }
	    if (r < 0)
		continue;
	}
	if (imapd_read_line(s, line) < 0) {
	    s->state = IMAPD_LOGOUT;
	    imapd_no(s, "Disconnected");
	    break;
	}
	if (strcasecmp(STR(line), "DONE") == 0)
	    imapd_ok(s, "Idle completed.");
	else
	    imapd_bad(s, "Expected DONE.");
	break;
    }
    vstring_free(&line);
}
