/* pop3d_cmd.c - the TRANSACTION state commands: STAT, LIST, UIDL, TOP,
 * RETR, DELE, RSET, NOOP, and QUIT (which runs UPDATE after a login).
 *
 * Message numbers refer to the snapshot taken at login (pop3d_maildrop.c);
 * a number that is out of range, malformed or marked deleted gets -ERR.
 * RETR sends the message file byte for byte with CRLF line ends and
 * dot-stuffing (pop3_enc_*), read in 64 KiB chunks, so memory stays
 * bounded whatever the message size.
 */
#include "sys_defs.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "msg.h"
#include "pop3d.h"

#define POP3D_READ_CHUNK 65536

/* pop3d_msg_arg - the message a number argument names, or NULL after -ERR */
static POP3D_MSG *pop3d_msg_arg(POP3D_SESSION *s, const char *arg)
{
    long    n = pop3_number(arg, (long) s->count, false);

    if (n < 0) {
	if (pop3_number(arg, 0x7fffffffL, true) < 0)
	    pop3d_err(s, "Invalid message number: %.20s", arg);
	else
	    pop3d_err(s, "There's no message %.20s.", arg);
	return NULL;
    }
    if (s->msgs[n - 1].deleted) {
	pop3d_err(s, "Message is deleted.");
	return NULL;
    }
    return &s->msgs[n - 1];
}

/* cmd_stat - STAT */
void    cmd_stat(POP3D_SESSION *s, POP3_CMD *cmd)
{
    if (cmd->argc != 0) {
	pop3d_err(s, "STAT takes no arguments.");
	return;
    }
    pop3d_ok(s, "%u %llu", s->count - s->del_count,
	     (unsigned long long) (s->total_size - s->del_size));
}

/* pop3d_listing - LIST and UIDL: one message or all */
static void pop3d_listing(POP3D_SESSION *s, POP3_CMD *cmd, bool uidl)
{
    VSTRING *u = vstring_alloc(80);
    POP3D_MSG *m;

    if (cmd->argc > 1) {
	pop3d_err(s, "%s takes at most one argument.", uidl ? "UIDL" : "LIST");
    } else if (cmd->argc == 1) {
	if ((m = pop3d_msg_arg(s, cmd->args[0])) != NULL) {
	    if (uidl) {
		pop3_uidl_expand(u, var_pop3_uidl_format, m->uid, s->uidvalidity);
		pop3d_ok(s, "%u %s", (unsigned) (m - s->msgs) + 1, STR(u));
	    } else
		pop3d_ok(s, "%u %llu", (unsigned) (m - s->msgs) + 1,
			 (unsigned long long) m->size);
	}
    } else {
	if (uidl)
	    pop3d_ok(s, "%s", "");
	else
	    pop3d_ok(s, "%u messages:", s->count - s->del_count);
	for (uint32_t i = 0; i < s->count; i++) {
	    m = &s->msgs[i];
	    if (m->deleted)
		continue;
	    if (uidl) {
		vstring_reset(u);
		pop3_uidl_expand(u, var_pop3_uidl_format, m->uid, s->uidvalidity);
		pop3d_send(s, "%u %s\r\n", i + 1, STR(u));
	    } else
		pop3d_send(s, "%u %llu\r\n", i + 1, (unsigned long long) m->size);
	}
	pop3d_send(s, ".\r\n");
    }
    vstring_free(&u);
}

/* cmd_list - LIST [msg] */
void    cmd_list(POP3D_SESSION *s, POP3_CMD *cmd)
{
    pop3d_listing(s, cmd, false);
}

/* cmd_uidl - UIDL [msg] */
void    cmd_uidl(POP3D_SESSION *s, POP3_CMD *cmd)
{
    pop3d_listing(s, cmd, true);
}

/* pop3d_send_msg - RETR/TOP: +OK, the encoded message, "."; bytes sent
 * (before the final dot) in *sent_r; -1 after -ERR when the message
 * cannot be opened. A read error after "+OK" ends the session. */
static int pop3d_send_msg(POP3D_SESSION *s, POP3D_MSG *m, long lines, uint64_t *sent_r)
{
    const char *err;
    off_t   size;
    int     fd = mstore_msg_open(s->folder, m->uid, &size, &err);
    POP3_ENC enc;
    ssize_t n;
    size_t  before;
    uint64_t sent = 0, got = 0;

    if (fd < 0) {
	msg_info("%s: UID %u: %s", s->user, m->uid, err);
	pop3d_err(s, "[SYS/TEMP] Message is no longer available.");
	return -1;
    }
    if (lines < 0)
	pop3d_ok(s, "%llu octets", (unsigned long long) m->size);
    else
	pop3d_ok(s, "%s", "");
    pop3_enc_init(&enc, lines);
    for (;;) {
	char    chunk[POP3D_READ_CHUNK];

	n = read(fd, chunk, sizeof(chunk));
	if (n < 0 && errno == EINTR)
	    continue;
	if (n < 0) {
	    msg_warn("%s: UID %u: read: %m", s->user, m->uid);
	    s->state = POP3D_QUIT;	/* the client cannot tell a short message */
	    close(fd);
	    return 0;
	}
	if (n == 0)
	    break;
	got += (uint64_t) n;
	before = LEN(s->out);
	if (!pop3_enc_feed(&enc, s->out, chunk, (size_t) n)) {
	    sent += LEN(s->out) - before;
	    break;
	}
	sent += LEN(s->out) - before;
	if (LEN(s->out) >= POP3D_READ_CHUNK)
	    pop3d_flush(s);
	if (got >= (uint64_t) size && size > 0)
	    break;			/* the whole file: skip the EOF read */
    }
    close(fd);
    pop3_enc_finish(&enc, s->out);
    *sent_r = sent;
    return 0;
}

/* cmd_top - TOP msg n */
void    cmd_top(POP3D_SESSION *s, POP3_CMD *cmd)
{
    POP3D_MSG *m;
    long    lines;
    uint64_t sent = 0;

    if (cmd->argc != 2) {
	pop3d_err(s, "TOP needs a message number and a line count.");
	return;
    }
    if ((lines = pop3_number(cmd->args[1], 0x7fffffffL, true)) < 0) {
	pop3d_err(s, "Invalid line count: %.20s", cmd->args[1]);
	return;
    }
    if ((m = pop3d_msg_arg(s, cmd->args[0])) == NULL)
	return;
    if (pop3d_send_msg(s, m, lines, &sent) == 0) {
	s->top_count++;
	s->top_bytes += sent;
    }
}

/* cmd_retr - RETR msg */
void    cmd_retr(POP3D_SESSION *s, POP3_CMD *cmd)
{
    POP3D_MSG *m;
    uint64_t sent = 0;

    if (cmd->argc != 1) {
	pop3d_err(s, "RETR needs a message number.");
	return;
    }
    if ((m = pop3d_msg_arg(s, cmd->args[0])) == NULL)
	return;
    if (pop3d_send_msg(s, m, -1, &sent) == 0) {
	m->retrieved = true;
	s->retr_count++;
	s->retr_bytes += sent;
    }
}

/* cmd_dele - DELE msg */
void    cmd_dele(POP3D_SESSION *s, POP3_CMD *cmd)
{
    POP3D_MSG *m;

    if (cmd->argc != 1) {
	pop3d_err(s, "DELE needs a message number.");
	return;
    }
    if ((m = pop3d_msg_arg(s, cmd->args[0])) == NULL)
	return;
    m->deleted = true;
    s->del_count++;
    s->del_size += m->size;
    pop3d_ok(s, "Marked to be deleted.");
}

/* cmd_rset - RSET: undelete everything */
void    cmd_rset(POP3D_SESSION *s, POP3_CMD *cmd)
{
    if (cmd->argc != 0) {
	pop3d_err(s, "RSET takes no arguments.");
	return;
    }
    for (uint32_t i = 0; i < s->count; i++)
	s->msgs[i].deleted = false;
    s->del_count = 0;
    s->del_size = 0;
    pop3d_ok(s, "%s", "");
}

/* cmd_noop - NOOP */
void    cmd_noop(POP3D_SESSION *s, POP3_CMD *cmd)
{
    if (cmd->argc != 0)
	pop3d_err(s, "NOOP takes no arguments.");
    else
	pop3d_ok(s, "%s", "");
}

/* cmd_quit - QUIT: UPDATE after a login, then goodbye */
void    cmd_quit(POP3D_SESSION *s, POP3_CMD *cmd)
{
    const char *err;

    (void) cmd;
    if (s->state == POP3D_TRANSACTION) {
	if (pop3d_maildrop_update(s, &err) < 0) {
	    msg_warn("%s: UPDATE: %s", s->user, err);
	    s->state = POP3D_QUIT;
	    pop3d_maildrop_close(s);
	    pop3d_err(s, "[SYS/TEMP] Some deleted messages were not removed.");
	    return;
	}
	s->state = POP3D_QUIT;
	/* unlock before the reply: a client that reconnects at once must
	 * not find its own old session still holding the maildrop */
	pop3d_maildrop_close(s);
	pop3d_ok(s, "Logging out%s", s->del_count ? ", messages deleted." : ".");
	return;
    }
    s->state = POP3D_QUIT;
    pop3d_ok(s, "Logging out.");
}
