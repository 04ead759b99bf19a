/* smtpd_chat.c - reply batching (PIPELINING) and command input for smtpd.
 *
 * Replies are collected in state->reply_buf and written only when the
 * client would otherwise wait for them: when no more client input is
 * already buffered (stream_pending() == 0) as we go to read the next
 * command, or before an operation that may block for long (DATA, an error
 * sleep, the end of the session). Commands are processed strictly in
 * order. Because we keep reading while our replies are held back, a client
 * that pipelines hundreds of commands before it reads anything cannot
 * deadlock us: our output only goes to the socket when the client has
 * stopped sending. The held-back output is bounded (SMTPD_CHAT_MAX_HELD);
 * past that it is written out (blocking at most smtpd_timeout).
 *
 * Error accounting (Postfix's tarpit): every 4xx/5xx reply counts as an
 * error; from smtpd_soft_error_limit errors on, each error reply is
 * delayed by smtpd_error_sleep_time. The hard limit is enforced by the
 * session loop (smtpd.c).
 *
 * Limits: command lines longer than line_length_limit are truncated and
 * reported as overlong (the rest of the line is read and discarded).
 */
#include "sys_defs.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "msg.h"
#include "stream.h"
#include "vstring.h"

#include "smtpd.h"
#include "smtpd_chat.h"

#define SMTPD_CHAT_MAX_HELD (1024 * 1024)

/* smtpd_chat_init - set up reply buffering for a new session */
void smtpd_chat_init(SMTPD_STATE *state)
{
    state->reply_buf = vstring_alloc(512);
    vstring_set_limit(state->reply_buf, 2 * SMTPD_CHAT_MAX_HELD);
}

/* smtpd_chat_free - release the reply buffer */
void smtpd_chat_free(SMTPD_STATE *state)
{
    vstring_free(&state->reply_buf);
}

/* smtpd_chat_io_status - classify a failed read or write */
void smtpd_chat_io_status(SMTPD_STATE *state)
{
    int     flags = stream_flags(state->client);

    if (state->io_status != SMTPD_IO_OK)
	return;
    if (flags & STREAM_F_TIMEOUT)
	state->io_status = SMTPD_IO_TIMEOUT;
    else if (flags & STREAM_F_ERROR)
	state->io_status = SMTPD_IO_ERROR;
    else
	state->io_status = SMTPD_IO_EOF;
}

/* smtpd_flush - write out pending replies */
void smtpd_flush(SMTPD_STATE *state)
{
    if (state->reply_buf == NULL || LEN(state->reply_buf) == 0)
	return;
    if (state->io_status == SMTPD_IO_OK
	&& (stream_write(state->client, STR(state->reply_buf), LEN(state->reply_buf)) < 0
	    || stream_flush(state->client) < 0))
	smtpd_chat_io_status(state);
    vstring_reset(state->reply_buf);
}

/* smtpd_reply - queue one reply line */
void smtpd_reply(SMTPD_STATE *state, const char *fmt, ...)
{
    va_list ap;
    size_t  start;
    const char *line;

    if (state->reply_buf == NULL)
	msg_panic("smtpd_reply: no reply buffer");
    start = LEN(state->reply_buf);
    va_start(ap, fmt);
    vstring_vfmt_append(state->reply_buf, fmt, ap);
    va_end(ap);
    line = STR(state->reply_buf) + start;
    if (msg_verbose)
	msg_info("> %s: %s", state->namaddr, line);

    /* Error accounting: once per reply (its last line), not for 421. */
    state->last_reply_error = (line[0] == '4' || line[0] == '5');
    if (state->last_reply_error && line[3] != '-' && strncmp(line, "421", 3) != 0) {
	state->error_count++;
	if (state->error_count >= var_smtpd_soft_error_limit && var_smtpd_error_sleep_time > 0) {
	    vstring_truncate(state->reply_buf, start);
	    smtpd_flush(state);
	    sleep((unsigned) var_smtpd_error_sleep_time);
	    /* format again: the buffer was written out */
	    va_start(ap, fmt);
	    vstring_vfmt_append(state->reply_buf, fmt, ap);
	    va_end(ap);
	}
    }
    vstring_cat(state->reply_buf, "\r\n");
    if (LEN(state->reply_buf) > SMTPD_CHAT_MAX_HELD)
	smtpd_flush(state);
}

/* smtpd_chat_pending - client input is waiting (buffered, or readable within wait_ms) */
bool smtpd_chat_pending(SMTPD_STATE *state, int wait_ms)
{
    struct pollfd pfd;

    if (stream_pending(state->client) > 0)
	return true;
    pfd.fd = stream_fd(state->client);
    pfd.events = POLLIN;
    pfd.revents = 0;
    return poll(&pfd, 1, wait_ms) > 0 && (pfd.revents & POLLIN);
}

/* smtpd_chat_getline - read one command line */
int smtpd_chat_getline(SMTPD_STATE *state, VSTRING *buf, int *eol_r)
{
    int     ret;
    int     eol = 0;

    if (stream_pending(state->client) == 0)
	smtpd_flush(state);
    if (state->io_status != SMTPD_IO_OK)
	return 0;
    ret = stream_getline(state->client, buf, (size_t) var_line_length_limit, &eol);
    if (ret <= 0) {
	smtpd_chat_io_status(state);
	return 0;
    }
    if (eol == 2 && LEN(buf) > 0 && STR(buf)[LEN(buf) - 1] == '\r')
	vstring_truncate(buf, LEN(buf) - 1);
    if (eol == 0 && ret == 1) {
	/* a last line without LF before EOF: the client went away */
	state->io_status = SMTPD_IO_EOF;
	return 0;
    }
    if (eol_r)
	*eol_r = eol;
    if (msg_verbose)
	msg_info("< %s: %s", state->namaddr, STR(buf));
    return ret;
}
