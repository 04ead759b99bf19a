/* imapd_serve - an IMAP session's life: input, commands, output, timers.
 *
 * Contract: a session is created on a connected stream
 * (imapd_session_create), fed with what the client sends and run one
 * command at a time (imapd_input), and freed by its owner, which also
 * closes the stream. The same code serves one session in its own process
 * (imapd_serve_one: pre-login, the root fallback, an unprivileged
 * instance) and many sessions in a post-login server (imapd_post.c),
 * which calls imapd_session_events and imapd_session_ready from its poll
 * loop.
 *
 * Output: replies are queued in s->out. A session of its own process
 * writes them with blocking writes (bounded by the stream timeout). A
 * post-login server's session (s->nonblock) never blocks: what the socket
 * does not take stays queued, the session reads no more commands while
 * more than IMAPD_OUT_HIGH bytes wait, and a command that produces much
 * output (FETCH) suspends itself between messages when imapd_congested()
 * says so (s->cont) and is resumed when the client has read the queue
 * down to IMAPD_OUT_LOW. One slow client thus delays nobody else; its own
 * queue holds at most about IMAPD_OUT_HIGH plus one message.
 *
 * Waiting commands: IDLE sets s->idling and watches the folder's new/
 * and cur/ with inotify (one inotify instance per process; the kernel
 * gives sessions watching the same directory the same watch, which is
 * counted here). The loop checks the folder when a watch fires and every
 * mailbox_idle_check_interval besides (changes that touch only the
 * index), every second when inotify cannot be had (no instance left,
 * no watch left), sends the keep-alive every imap_idle_notify_interval
 * and ends IDLE with DONE.
 *
 * Timeouts: login_timeout before login, imap_autologout after, measured
 * from the last client input. A session in IDLE is kept alive for as long
 * as its keep-alives are read (as Dovecot: clients re-issue IDLE when they
 * like); any session whose output has not moved for imap_autologout is
 * closed.
 */
#include "sys_defs.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <string.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "imapd.h"
#include "login_userip.h"
#include "msg.h"
#include "mymalloc.h"
#include "stream.h"

#define IMAPD_MAX_BAD	20
#define IMAPD_OUT_FLUSH	65536		/* write out when this much is queued */
#define IMAPD_OUT_LOW	65536		/* resume a suspended command below this */
#define IMAPD_OUT_HIGH	(256 * 1024)	/* suspend / stop reading above this */
#define IMAPD_READ_SIZE	16384

/* IDLE's inotify instance: -1 not yet made, -2 not to be had */
static int imapd_ino_fd = -1;

typedef struct imapd_watch {
    int     wd;
    int     refs;			/* idling sessions using it */
} IMAPD_WATCH;

static IMAPD_WATCH *imapd_watches;

static void imapd_idle_unwatch(IMAPD_SESSION *s);
static size_t imapd_watch_count, imapd_watch_size;

/* imapd_watch_ref - one more user of wd */
static void imapd_watch_ref(int wd)
{
    for (size_t i = 0; i < imapd_watch_count; i++) {
	if (imapd_watches[i].wd == wd) {
	    imapd_watches[i].refs++;
	    return;
	}
    }
    if (imapd_watch_count == imapd_watch_size) {
	imapd_watch_size = imapd_watch_size ? 2 * imapd_watch_size : 16;
	imapd_watches = myrealloc(imapd_watches, imapd_watch_size * sizeof(*imapd_watches));
    }
    imapd_watches[imapd_watch_count].wd = wd;
    imapd_watches[imapd_watch_count++].refs = 1;
}

/* imapd_watch_unref - one user less; the watch goes with the last */
static void imapd_watch_unref(int wd)
{
    for (size_t i = 0; i < imapd_watch_count; i++) {
	if (imapd_watches[i].wd != wd)
	    continue;
	if (--imapd_watches[i].refs == 0) {
	    (void) inotify_rm_watch(imapd_ino_fd, wd);
	    imapd_watches[i] = imapd_watches[--imapd_watch_count];
	}
	return;
    }
}

/* imapd_idle_watch - watch the selected folder's new/ and cur/ (IDLE) */
void    imapd_idle_watch(IMAPD_SESSION *s)
{
    const char *const *paths;

    s->idle_wd[0] = s->idle_wd[1] = -1;
    s->idle_wake = false;
    if (s->folder == NULL)
	return;
    if (imapd_ino_fd == -1 && (imapd_ino_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) < 0) {
	msg_warn("inotify: %m (IDLE checks every second)");
	imapd_ino_fd = -2;
    }
    if (imapd_ino_fd < 0)
	return;
    paths = mstore_folder_watch_paths(s->folder);
    for (int i = 0; i < 2 && paths[i]; i++) {
	int     wd = inotify_add_watch(imapd_ino_fd, paths[i], IN_CREATE | IN_DELETE
				       | IN_MOVED_FROM | IN_MOVED_TO | IN_ONLYDIR);

	if (wd < 0) {
	    msg_warn("inotify watch %s: %m (IDLE checks every second)", paths[i]);
	    imapd_idle_unwatch(s);
	    return;
	}
	imapd_watch_ref(wd);
	s->idle_wd[i] = wd;
    }
}

/* imapd_idle_unwatch - IDLE is over: drop the session's watches */
static void imapd_idle_unwatch(IMAPD_SESSION *s)
{
    for (int i = 0; i < 2; i++) {
	if (s->idle_wd[i] >= 0)
	    imapd_watch_unref(s->idle_wd[i]);
	s->idle_wd[i] = -1;
    }
}

/* imapd_idle_fd - the inotify descriptor to poll, or -1 */
int     imapd_idle_fd(void)
{
    return imapd_ino_fd >= 0 && imapd_watch_count > 0 ? imapd_ino_fd : -1;
}

/* imapd_idle_events - read the inotify events; wake the sessions whose
 * watches fired (all idling ones when the kernel's queue overflowed) */
void    imapd_idle_events(IMAPD_SESSION **sessions, size_t count)
{
    char    buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
    ssize_t n;

    while ((n = read(imapd_ino_fd, buf, sizeof(buf))) > 0) {
	for (char *p = buf; p < buf + n;) {
	    const struct inotify_event *ev = (const struct inotify_event *) p;

	    for (size_t i = 0; i < count; i++) {
		IMAPD_SESSION *s = sessions[i];

		if (s->idling && ((ev->mask & IN_Q_OVERFLOW) || ev->wd == s->idle_wd[0]
				  || ev->wd == s->idle_wd[1]))
		    s->idle_wake = true;
	    }
	    p += sizeof(*ev) + ev->len;
	}
    }
}

/* imapd_session_create - a session on client (not yet greeted) */
IMAPD_SESSION *imapd_session_create(STREAM *client, const char *rip, const char *lip,
				    bool secured)
{
    IMAPD_SESSION *s = mymalloc(sizeof(*s));
    IMAP_PARSER_LIMITS lim = {
	.max_line = (size_t) var_imap_max_line_length,
	.max_literal = var_imap_literal_limit > 0 ? (size_t) var_imap_literal_limit : (size_t) 1 << 30,
    };

    memset(s, 0, sizeof(*s));
    s->idle_wd[0] = s->idle_wd[1] = -1;
    s->client = client;
    s->parser = imap_parser_create(&lim);
    s->out = vstring_alloc(1024);
    s->inbuf = vstring_alloc(1024);
    s->tagged = vstring_alloc(128);
    s->tagbuf = vstring_alloc(32);
    s->rip = mystrdup(rip);
    s->lip = mystrdup(lip);
    s->secured = secured;
    s->last_input = s->out_progress = time(NULL);
    s->out_mark = IMAPD_OUT_FLUSH;
    return s;
}

/* imapd_session_free - release everything but the client stream */
void    imapd_session_free(IMAPD_SESSION **sp)
{
    IMAPD_SESSION *s = *sp;

    if (s->cont.run && s->cont.free)
	s->cont.free(s->cont.ctx);
    s->cont.run = NULL;
    imapd_idle_unwatch(s);
    if (s->tls_sess)
	tls_session_stop(&s->tls_sess);
    imapd_close_folder(s);
    if (s->store)
	mstore_close(&s->store);
    login_userip_leave("imap-userip", &s->userip_key);
    imap_parser_free(&s->parser);
    vstring_free(&s->out);
    vstring_free(&s->inbuf);
    vstring_free(&s->tagged);
    vstring_free(&s->tagbuf);
    myfree(s->user);
    myfree(s->home);
    myfree(s->rip);
    myfree(s->lip);
    myfree(s);
    *sp = NULL;
}

/* imapd_out_queued - bytes of output not yet written */
static size_t imapd_out_queued(const IMAPD_SESSION *s)
{
    return LEN(s->out) - s->out_pos;
}

/* imapd_out_try - non-blocking: write what the socket takes */
static void imapd_out_try(IMAPD_SESSION *s)
{
    while (imapd_out_queued(s) > 0 && !s->dead) {
	ssize_t n = write(stream_fd(s->client), STR(s->out) + s->out_pos, imapd_out_queued(s));

	if (n > 0) {
	    s->out_pos += (size_t) n;
	    s->out_progress = time(NULL);
	} else if (n < 0 && errno == EINTR) {
	    continue;
	} else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
	    break;
	} else {
	    s->dead = true;			/* client gone: drop the output */
	}
    }
    if (s->dead || s->out_pos == LEN(s->out)) {
	vstring_reset(s->out);
	s->out_pos = 0;
	s->out_progress = time(NULL);
    } else if (s->out_pos > LEN(s->out) / 2) {
	size_t  rest = imapd_out_queued(s);

	memmove(STR(s->out), STR(s->out) + s->out_pos, rest);
	vstring_truncate(s->out, rest);
	s->out_pos = 0;
    }
    s->out_mark = imapd_out_queued(s) + IMAPD_OUT_FLUSH;
}

/* imapd_flush - write the output to the client (blocking unless the
 * session is non-blocking) */
void    imapd_flush(IMAPD_SESSION *s)
{
    if (s->nonblock) {
	imapd_out_try(s);
	return;
    }
    if (LEN(s->out) > 0) {
	if (!s->dead && stream_write(s->client, STR(s->out), LEN(s->out)) < 0)
	    s->dead = true;
	vstring_reset(s->out);
    }
    if (!s->dead && stream_flush(s->client) < 0)
	s->dead = true;
}

/* imapd_out_added - after output was queued: write out when enough */
static void imapd_out_added(IMAPD_SESSION *s)
{
    if (s->nonblock ? imapd_out_queued(s) > s->out_mark : LEN(s->out) > IMAPD_OUT_FLUSH)
	imapd_flush(s);
}

/* imapd_send - append formatted text to the output */
void    imapd_send(IMAPD_SESSION *s, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vstring_vfmt_append(s->out, fmt, ap);
    va_end(ap);
    imapd_out_added(s);
}

/* imapd_send_raw - append bytes to the output */
void    imapd_send_raw(IMAPD_SESSION *s, const char *data, size_t len)
{
    vstring_catn(s->out, data, len);
    imapd_out_added(s);
}

/* imapd_congested - should a long command pause for the client to read */
bool    imapd_congested(const IMAPD_SESSION *s)
{
    return s->nonblock && (imapd_out_queued(s) > IMAPD_OUT_HIGH || s->dead);
}

/* imapd_read_line - one raw line, blocking (AUTHENTICATE in a pre-login
 * process); 0 or -1 */
int     imapd_read_line(IMAPD_SESSION *s, VSTRING *line)
{
    int     r = IMAP_PARSE_MORE;

    imap_parser_reset(s->parser);
    imap_parser_set_line_mode(s->parser, true);
    for (;;) {
	if (s->inpos < LEN(s->inbuf)) {
	    size_t  used;

	    r = imap_parser_feed(s->parser, STR(s->inbuf) + s->inpos,
				 LEN(s->inbuf) - s->inpos, &used);
	    s->inpos += used;
	    if (r != IMAP_PARSE_MORE)
		break;
	}
	imapd_flush(s);
	vstring_reset(s->inbuf);
	s->inpos = 0;
	stream_set_timeout(s->client, s->state == IMAPD_NOTAUTH ? (int) var_login_timeout
			   : (int) var_imap_autologout);
	ssize_t n = stream_read_some(s->client, vstring_reserve(s->inbuf, IMAPD_READ_SIZE),
				     IMAPD_READ_SIZE);

	if (n <= 0)
	    break;
	vstring_commit(s->inbuf, (size_t) n);
    }
    if (r == IMAP_PARSE_DONE)
	vstring_setn(line, imap_parser_cmd(s->parser)->line, imap_parser_cmd(s->parser)->line_len);
    imap_parser_reset(s->parser);
    return r == IMAP_PARSE_DONE ? 0 : -1;
}

/* imapd_command_done - a command's end: mailbox updates, index cache,
 * the tagged reply */
static void imapd_command_done(IMAPD_SESSION *s)
{
    const IMAPD_VERB *v = s->verb;
    const char *err;

    if (v && s->state == IMAPD_SELECTED && LEN(s->tagged) > 0
	&& strncmp(STR(s->tagged) + strlen(s->tag), " BAD", 4) != 0) {
	bool    no_expunge = (v->flags & VERB_NO_EXPUNGE) && !s->in_uid;

	imapd_updates(s, !no_expunge);
    }
    /* Cache entries computed by this command: one index transaction. */
    if (s->store && mstore_cache_flush(s->store, &err) < 0)
	msg_warn("%s: %s", s->user, err);
    if (LEN(s->tagged) == 0 && s->state != IMAPD_LOGOUT)
	imapd_bad(s, "Internal error: no reply");
    if (strcmp(STR(s->tagged), " ") != 0)
	imapd_send_raw(s, STR(s->tagged), LEN(s->tagged));
    vstring_reset(s->tagged);
    s->verb = NULL;
}

/* imapd_dispatch - run one parsed command (it may stay in progress:
 * IDLE, a suspended FETCH) */
static void imapd_dispatch(IMAPD_SESSION *s, const IMAP_CMD *cmd)
{
    const IMAPD_VERB *v;
    int     need;

    vstring_set(s->tagbuf, cmd->tag);
    s->tag = STR(s->tagbuf);
    vstring_reset(s->tagged);
    s->verb = NULL;
    for (v = imapd_verbs; v->name; v++)
	if (strcasecmp(v->name, cmd->name) == 0)
	    break;
    need = s->state == IMAPD_NOTAUTH ? VERB_NOTAUTH
	: s->state == IMAPD_AUTH ? VERB_AUTH : VERB_SELECTED | VERB_AUTH;
    if (v->name == NULL) {
	imapd_bad(s, "Unknown command %.40s", cmd->name);
    } else if ((v->flags & need) == 0 || (s->state == IMAPD_SELECTED && v->flags == VERB_NOTAUTH)
	       || ((v->flags & VERB_SELECTED) && !(v->flags & VERB_AUTH)
		   && s->state != IMAPD_SELECTED)) {
	imapd_bad(s, "Command %s is not valid in this state", v->name);
    } else {
	s->in_uid = false;
	s->verb = v;
	v->fn(s, cmd->args, cmd->count);
	if (s->idling || s->cont.run)
	    return;				/* finished later */
    }
    imapd_command_done(s);
}

/* imapd_idle_line - the line that ends IDLE */
static void imapd_idle_line(IMAPD_SESSION *s, const IMAP_CMD *cmd)
{
    s->idling = false;
    imapd_idle_unwatch(s);
    if (cmd->line_len == 4 && strncasecmp(cmd->line, "DONE", 4) == 0)
	imapd_ok(s, "Idle completed.");
    else
	imapd_bad(s, "Expected DONE.");
    imapd_command_done(s);
}

/* imapd_idle_tick - IDLE's timers: folder check, keep-alive, autologout */
static void imapd_idle_tick(IMAPD_SESSION *s, time_t now)
{
    const char *err;

    if (!s->idling)
	return;
    if (s->idle_wake || now - s->idle_check
	>= (s->idle_wd[0] >= 0 ? var_mailbox_idle_check_interval : 1)) {
	s->idle_check = now;
	s->idle_wake = false;
	if (s->folder && mstore_folder_changed(s->folder, &err) == 1) {
	    imapd_updates(s, true);
	    mstore_release(s->store);	/* no snapshot held while idle */
	}
    }
    if (now - s->idle_note >= var_imap_idle_notify_interval) {
	imapd_send(s, "* OK Still here\r\n");
	s->idle_note = now;
    }
    imapd_flush(s);
}

/* imapd_input - parse and run the buffered client input until more is
 * needed or a command waits; 0, or -1 when the session is over */
int     imapd_input(IMAPD_SESSION *s)
{
    while (s->state != IMAPD_LOGOUT && !s->dead && s->cont.run == NULL
	   && s->inpos < LEN(s->inbuf)) {
	size_t  used;
	int     r;

	if (s->nonblock && imapd_out_queued(s) > IMAPD_OUT_HIGH)
	    return 0;				/* the client reads first */
	r = imap_parser_feed(s->parser, STR(s->inbuf) + s->inpos, LEN(s->inbuf) - s->inpos, &used);
	s->inpos += used;
	if (r == IMAP_PARSE_CONTINUE) {
	    imapd_send(s, "+ OK\r\n");
	    imapd_flush(s);
	    continue;
	}
	if (r == IMAP_PARSE_MORE)
	    break;
	if (r == IMAP_PARSE_DONE) {
	    if (s->idling)
		imapd_idle_line(s, imap_parser_cmd(s->parser));
	    else
		imapd_dispatch(s, imap_parser_cmd(s->parser));
	} else if (r == IMAP_PARSE_ERROR) {
	    const char *tag = imap_parser_tag(s->parser);

	    if (s->idling) {
		/* an over-long line instead of DONE */
		s->idling = false;
		imapd_idle_unwatch(s);
		imapd_bad(s, "Expected DONE.");
		imapd_command_done(s);
	    } else {
		imapd_send(s, "%s BAD Error in IMAP command: %s\r\n", tag ? tag : "*",
			   imap_parser_error(s->parser));
		s->bad_count++;
	    }
	} else {
	    imapd_send(s, "* BYE %s\r\n", imap_parser_error(s->parser));
	    s->state = IMAPD_LOGOUT;
	}
	imap_parser_reset(s->parser);
	if (s->idling)
	    imap_parser_set_line_mode(s->parser, true);
	if (s->bad_count >= IMAPD_MAX_BAD) {
	    imapd_send(s, "* BYE Too many invalid IMAP commands.\r\n");
	    s->state = IMAPD_LOGOUT;
	}
    }
    if (s->inpos >= LEN(s->inbuf)) {
	vstring_reset(s->inbuf);
	s->inpos = 0;
	/* an idle session stays small after a big literal */
	if (s->inbuf->size > 4 * IMAPD_READ_SIZE) {
	    vstring_free(&s->inbuf);
	    s->inbuf = vstring_alloc(1024);
	}
    }
    imapd_flush(s);
    if (LEN(s->out) == 0 && s->out->size > 4 * IMAPD_OUT_FLUSH) {
	vstring_free(&s->out);
	s->out = vstring_alloc(1024);
    }
    return s->state == IMAPD_LOGOUT || s->dead ? -1 : 0;
}

/* imapd_session_timeout - seconds without input before we give up */
static time_t imapd_session_timeout(const IMAPD_SESSION *s)
{
    return s->state == IMAPD_NOTAUTH ? var_login_timeout : var_imap_autologout;
}

/* imapd_session_events - poll events the session waits for; lowers
 * *timeout_ms to its next timer */
int     imapd_session_events(IMAPD_SESSION *s, time_t now, int *timeout_ms)
{
    int     events = 0, ms;

    if (imapd_out_queued(s) > 0)
	events |= POLLOUT;
    if (s->cont.run == NULL && !(s->nonblock && imapd_out_queued(s) > IMAPD_OUT_HIGH))
	events |= POLLIN;
    if (s->idling) {
	ms = 1000;
    } else if (s->cont.run || imapd_out_queued(s) > 0) {
	ms = 1000;				/* output progress is checked */
    } else {
	time_t  left = s->last_input + imapd_session_timeout(s) - now;

	ms = left <= 0 ? 0 : left > 3600 ? 3600 * 1000 : (int) left * 1000;
    }
    if (*timeout_ms < 0 || ms < *timeout_ms)
	*timeout_ms = ms;
    return events;
}

/* imapd_session_ready - after poll: write, resume, read, run, timers;
 * 0, or -1 when the session is over */
int     imapd_session_ready(IMAPD_SESSION *s, int revents, time_t now)
{
    if (revents & POLLOUT)
	imapd_out_try(s);
    if (s->dead)
	return -1;
    if (s->cont.run && imapd_out_queued(s) <= IMAPD_OUT_LOW) {
	if (s->cont.run(s, s->cont.ctx)) {
	    s->cont.run = NULL;
	    s->cont.ctx = NULL;
	    imapd_command_done(s);
	}
    }
    if ((revents & (POLLIN | POLLHUP | POLLERR)) || stream_pending(s->client) > 0) {
	char   *buf = vstring_reserve(s->inbuf, IMAPD_READ_SIZE);
	ssize_t n = s->nonblock ? read(stream_fd(s->client), buf, IMAPD_READ_SIZE)
	    : stream_read_some(s->client, buf, IMAPD_READ_SIZE);

	if (n < 0 && s->nonblock && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
	    n = 0;				/* nothing after all */
	} else if (n <= 0) {
	    s->dead = true;
	    return -1;
	} else {
	    vstring_commit(s->inbuf, (size_t) n);
	    s->last_input = now;
	}
    }
    if (imapd_input(s) < 0)
	return -1;
    if (s->idling)
	imapd_idle_tick(s, now);
    if (imapd_out_queued(s) > 0 && now - s->out_progress >= imapd_session_timeout(s)) {
	msg_info("%s: disconnected from [%s]: output not read for %lds",
		 s->user ? s->user : "(pre-login)", s->rip, (long) (now - s->out_progress));
	return -1;
    }
    if (!s->idling && s->cont.run == NULL && imapd_out_queued(s) == 0
	&& now - s->last_input >= imapd_session_timeout(s)) {
	imapd_send(s, "* BYE Disconnected for inactivity.\r\n");
	msg_info("%s: disconnected for inactivity from [%s]",
		 s->user ? s->user : "(pre-login)", s->rip);
	imapd_flush(s);
	return -1;
    }
    return s->state == IMAPD_LOGOUT || s->dead ? -1 : 0;
}

/* imapd_serve_one - the session loop of a process with one session */
void    imapd_serve_one(IMAPD_SESSION *s)
{
    if (imapd_input(s) < 0)
	return;
    for (;;) {
	struct pollfd pfd[2] = {{.fd = stream_fd(s->client)}, {.fd = imapd_idle_fd(),
	.events = POLLIN}};
	int     timeout = -1, r = 0;

	pfd[0].events = (short) imapd_session_events(s, time(NULL), &timeout);
	stream_set_timeout(s->client, (int) imapd_session_timeout(s));
	if (stream_pending(s->client) == 0
	    && (r = poll(pfd, 2, timeout)) < 0 && errno != EINTR) {
	    msg_warn("poll: %m");
	    return;
	}
	if (r > 0 && (pfd[1].revents & POLLIN))
	    imapd_idle_events(&s, 1);
	if (imapd_session_ready(s, r > 0 ? pfd[0].revents : 0, time(NULL)) < 0)
	    return;
    }
}
