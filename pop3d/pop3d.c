/* pop3d.c - the POP3 server (RFC 1939, CAPA RFC 2449, STLS RFC 2595,
 * AUTH RFC 5034): session loop, verb table, reply helpers, TLS set-up.
 *
 * Process design (the same as imapd's): master runs one pop3d process
 * per connection at a time (single-server skeleton, master.cf maxproc
 * bounds them). Started as root (stay_root), the process splits
 * (lib/login_split.c): a pre-login child as login_user speaks the
 * AUTHORIZATION state (greeting, CAPA, STLS, USER/PASS, APOP, AUTH through
 * the auth service), then hands the login to the root parent, which looks
 * the user up in the userdb, becomes the user's uid/gid for good, opens
 * the maildrop (lib/mstore: the user's INBOX, shared with imapd) and
 * serves TRANSACTION/UPDATE; it exits after that session. A maildrop that
 * cannot be opened there ends the session (no retry as root). Started
 * unprivileged, one process does it all as that user.
 *
 * TLS: with ssl = yes|required and ssl_cert set, STLS is offered before
 * login; pop3d_tls_wrappermode = yes (the pop3s service) starts TLS at
 * connect. Pipelined bytes sent before the handshake are discarded
 * (tls_server_start). Plaintext logins (USER/PASS, AUTH PLAIN/LOGIN) are
 * refused on a connection that is neither TLS nor secured (Dovecot's
 * rule: the client address equals ours), when disable_plaintext_auth is
 * set; ssl = required refuses them on any non-TLS connection.
 *
 * Limits: POP3_LINE_MAX bytes per command line (longer lines get -ERR
 * and are discarded), login_timeout before login and POP3D_AUTOLOGOUT
 * (RFC 1939's 10 minutes) after it, POP3D_MAX_BAD -ERR replies in a row
 * and POP3D_MAX_AUTH_FAILURES failed logins per connection end the
 * session; the auth service delays failed logins (auth_failure_delay).
 */
#include "sys_defs.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "login_split.h"
#include "msg.h"
#include "mymalloc.h"
#include "pop3d.h"
#include "server.h"

#define POP3D_MAX_BAD		20
#define POP3D_FLUSH_AT		65536

TLS_SERVER_CTX *pop3d_tls_ctx;

const POP3D_VERB pop3d_verbs[] = {
    {"CAPA", cmd_capa, VERB_ANY},
    {"QUIT", cmd_quit, VERB_ANY},
    {"NOOP", cmd_noop, VERB_TRANS},
    {"USER", cmd_user, VERB_AUTHZ},
    {"PASS", cmd_pass, VERB_AUTHZ},
    {"APOP", cmd_apop, VERB_AUTHZ},
    {"AUTH", cmd_auth, VERB_AUTHZ},
    {"STLS", cmd_stls, VERB_AUTHZ},
    {"STAT", cmd_stat, VERB_TRANS},
    {"LIST", cmd_list, VERB_TRANS},
    {"UIDL", cmd_uidl, VERB_TRANS},
    {"TOP", cmd_top, VERB_TRANS},
    {"RETR", cmd_retr, VERB_TRANS},
    {"DELE", cmd_dele, VERB_TRANS},
    {"RSET", cmd_rset, VERB_TRANS},
    {NULL, NULL, 0},
};

/* pop3d_send - append formatted text to the output */
void    pop3d_send(POP3D_SESSION *s, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vstring_vfmt_append(s->out, fmt, ap);
    va_end(ap);
    if (LEN(s->out) >= POP3D_FLUSH_AT)
	pop3d_flush(s);
}

/* pop3d_send_raw - append bytes to the output */
void    pop3d_send_raw(POP3D_SESSION *s, const char *data, size_t len)
{
    vstring_catn(s->out, data, len);
    if (LEN(s->out) >= POP3D_FLUSH_AT)
	pop3d_flush(s);
}

/* pop3d_flush - write the output to the client */
void    pop3d_flush(POP3D_SESSION *s)
{
    if (LEN(s->out) > 0) {
	stream_write(s->client, STR(s->out), LEN(s->out));
	vstring_reset(s->out);
    }
    stream_flush(s->client);
}

/* pop3d_ok - "+OK text" ("+OK" alone when the text is empty) */
void    pop3d_ok(POP3D_SESSION *s, const char *fmt, ...)
{
    va_list ap;
    size_t  start;

    vstring_cat(s->out, "+OK ");
    start = LEN(s->out);
    va_start(ap, fmt);
    vstring_vfmt_append(s->out, fmt, ap);
    va_end(ap);
    if (LEN(s->out) == start)
	vstring_truncate(s->out, start - 1);
    vstring_cat(s->out, "\r\n");
    s->bad_count = 0;
}

/* pop3d_err - "-ERR text" (counts toward POP3D_MAX_BAD) */
void    pop3d_err(POP3D_SESSION *s, const char *fmt, ...)
{
    va_list ap;

    vstring_cat(s->out, "-ERR ");
    va_start(ap, fmt);
    vstring_vfmt_append(s->out, fmt, ap);
    va_end(ap);
    vstring_cat(s->out, "\r\n");
    s->bad_count++;
}

/* pop3d_tls_available - STLS can be offered on this connection */
bool    pop3d_tls_available(const POP3D_SESSION *s)
{
    return pop3d_tls_ctx != NULL && !s->tls_on;
}

/* pop3d_plaintext_ok - plaintext passwords allowed on this connection */
bool    pop3d_plaintext_ok(const POP3D_SESSION *s)
{
    return login_plaintext_ok(s->tls_on, s->secured);
}

/* pop3d_read_line - one line from the client (flushes replies first when
 * nothing is pipelined): 1 line, 2 overlong (discarded), -1 EOF/timeout */
int     pop3d_read_line(POP3D_SESSION *s, VSTRING *line)
{
    int     r;

    if (stream_pending(s->client) == 0)
	pop3d_flush(s);
    stream_set_timeout(s->client, s->state == POP3D_AUTHORIZATION ?
		       (int) var_login_timeout : POP3D_AUTOLOGOUT);
    r = stream_getline(s->client, line, POP3_LINE_MAX + 1, NULL);
    if (r <= 0)
	return -1;
    vstring_chomp(line);
    if (r == 2 || LEN(line) > POP3_LINE_MAX)
	return 2;
    return 1;
}

/* pop3d_dispatch - run one command line */
static void pop3d_dispatch(POP3D_SESSION *s, VSTRING *line)
{
    static POP3_CMD cmd;
    const POP3D_VERB *v;
    const char *err;

    if (pop3_cmd_parse(STR(line), LEN(line), &cmd, &err) < 0) {
	pop3d_err(s, "%s", err);
	return;
    }
    for (v = pop3d_verbs; v->name; v++)
	if (strcmp(v->name, cmd.verb) == 0)
	    break;
    if (v->name == NULL)
	pop3d_err(s, "Unknown command: %s", cmd.verb);
    else if ((v->flags & (s->state == POP3D_AUTHORIZATION ? VERB_AUTHZ : VERB_TRANS)) == 0)
	pop3d_err(s, "Command %s is not valid in this state.", v->name);
    else
	v->fn(s, &cmd);
    /* No index read transaction is kept between commands (mstore.h). */
    mstore_release(s->store);
    pop3_cmd_wipe(&cmd);
}

/* pop3d_start_tls - handshake on the client stream; 0 or -1 */
static int pop3d_start_tls(POP3D_SESSION *s)
{
    const char *err;

    s->tls = tls_server_start(s->client, pop3d_tls_ctx, (int) var_login_timeout,
			      "unknown", s->rip, &err);
    if (s->tls == NULL) {
	msg_info("TLS handshake failed from [%s]: %s", s->rip, err);
	return -1;
    }
    s->secured = s->tls_on = true;
    return 0;
}

/* cmd_stls - STLS (RFC 2595) */
void    cmd_stls(POP3D_SESSION *s, POP3_CMD *cmd)
{
    if (cmd->argc != 0) {
	pop3d_err(s, "STLS takes no arguments.");
	return;
    }
    if (s->tls_on) {
	pop3d_err(s, "TLS is already active.");
	return;
    }
    if (pop3d_tls_ctx == NULL) {
	pop3d_err(s, "TLS support isn't enabled.");
	return;
    }
    pop3d_ok(s, "Begin TLS negotiation now.");
    pop3d_flush(s);
    myfree(s->user);			/* RFC 2595: forget what came before */
    s->user = NULL;
    if (pop3d_start_tls(s) < 0)
	s->state = POP3D_QUIT;
}

/* pop3d_run - serve one session on client: from the greeting, or (h not
 * NULL) from a pre-login process's hand-over */
static void pop3d_run(STREAM *client, const char *rip, const char *lip,
		      LOGIN_HANDOVER *h)
{
    POP3D_SESSION s;
    VSTRING *line = vstring_alloc(256);
    bool    timed_out = false;

    memset(&s, 0, sizeof(s));
    s.client = client;
    s.out = vstring_alloc(POP3D_FLUSH_AT + 4096);
    s.lock_fd = -1;
    s.rip = rip;
    s.lip = lip;
    s.secured = strcmp(rip, lip) == 0;
    if (h != NULL) {
	s.tls_on = h->tls;
	s.secured = s.secured || h->tls;
	login_split_feed(client, h);
	if (pop3d_post_login(&s, h->user, h->mech) < 0)
	    goto done;				/* no retry as root */
	goto loop;
    }
    msg_info("connect from [%s]", rip);
    if (var_pop3d_tls_wrappermode && pop3d_start_tls(&s) < 0)
	goto done;
    if (var_pop3_enable_apop)
	snprintf(s.apop_stamp, sizeof(s.apop_stamp), "<%ld.%ld@%s>", (long) getpid(),
		 (long) time(NULL), var_myhostname);
    pop3d_ok(&s, "%s%s%s", var_login_greeting, *s.apop_stamp ? " " : "", s.apop_stamp);
loop:
    while (s.state != POP3D_QUIT) {
	int     r = pop3d_read_line(&s, line);

	if (r < 0) {
	    timed_out = (stream_flags(client) & STREAM_F_TIMEOUT) != 0;
	    if (timed_out) {
		pop3d_err(&s, "Disconnected for inactivity.");
		msg_info("%s: disconnected for inactivity from [%s]",
			 s.state == POP3D_TRANSACTION ? s.user : "(pre-login)", rip);
	    }
	    break;
	}
	if (r == 2)
	    pop3d_err(&s, "Command line too long.");
	else
	    pop3d_dispatch(&s, line);
	vstring_wipe(line);
	if (s.bad_count >= POP3D_MAX_BAD) {
	    pop3d_err(&s, "Too many invalid commands.");
	    msg_info("too many invalid commands from [%s]", rip);
	    break;
	}
    }
done:
    pop3d_flush(&s);
    if (s.logged_in)
	msg_info("Disconnected%s: user=<%s>, rip=%s, top=%u/%llu, retr=%u/%llu, "
		 "del=%u/%u, size=%llu", s.state == POP3D_QUIT ? ": Logged out" : "",
		 s.user ? s.user : "", rip, s.top_count, (unsigned long long) s.top_bytes,
		 s.retr_count, (unsigned long long) s.retr_bytes, s.expunged,
		 s.count, (unsigned long long) s.total_size);
    msg_info("disconnect from [%s]", rip);
    pop3d_maildrop_close(&s);
    if (s.tls)
	(void) tls_session_stop(&s.tls);
    vstring_free(&s.out);
    vstring_free(&line);
    myfree(s.user);
    myfree(s.home);
}

/* pop3d_prelogin - the pre-login child's session (login_split) */
static void pop3d_prelogin(STREAM *client, void *ctx)
{
    const char *const *addr = ctx;

    pop3d_run(client, addr[0], addr[1], NULL);
}

/* pop3d_service - one client connection: split when we are root */
static void pop3d_service(STREAM *client, const char *service, char **argv)
{
    char    rip[64], lip[64];
    bool    loopback;

    (void) service;
    (void) argv;
    login_peer_addresses(stream_fd(client), rip, lip, sizeof(rip), &loopback);
    if (geteuid() == 0) {
	const char *addr[2] = {rip, lip};
	LOGIN_HANDOVER *h;
	STREAM *post = login_split(client, pop3d_prelogin, addr, &h);

	/* only the privileged parent returns here, after the hand-over */
	if (post != NULL) {
	    pop3d_run(post, rip, lip, h);
	    login_split_done(&post, &h);
	}
	return;
    }
    pop3d_run(client, rip, lip, NULL);
}

/* pop3d_pre_init - check settings, load the TLS keys while still root */
static void pop3d_pre_init(const char *service, char **argv)
{
    const char *err;

    (void) argv;
    if (pop3_uidl_check(var_pop3_uidl_format, &err) < 0)
	msg_fatal("%s", err);
    pop3d_tls_ctx = login_tls_init(service, "pop3d_tls_wrappermode", var_pop3d_tls_wrappermode);
}

/* pop3d_pre_exit - release the TLS context */
static void pop3d_pre_exit(void)
{
    if (pop3d_tls_ctx)
	tls_server_free(&pop3d_tls_ctx);
}

/* main - the single-server skeleton with the POP3 service */
int     main(int argc, char **argv)
{
    static const SERVER_OPTS opts = {
	.pre_init = pop3d_pre_init,
	.pre_exit = pop3d_pre_exit,
	.stay_root = true,
    };

    single_server_main(argc, argv, pop3d_service, &opts);
}
