/* imapd.h - the IMAP server's session, verb table and shared helpers.
 *
 * A process serves one session (pre-login, or a whole unprivileged
 * session) or, as a post-login server, many sessions of one uid (see
 * imapd.c and imapd_post.c for the process design). Command handlers get
 * the parsed command and write their untagged and tagged responses
 * through imapd_* helpers; the session loop (imapd_serve.c) sends mailbox
 * updates (EXPUNGE/EXISTS/FETCH) after each command. A handler that must
 * wait (IDLE for DONE, FETCH for a client that reads slowly) sets
 * s->idling or s->cont and returns without a tagged reply; the loop
 * finishes the command later with imapd_command_done().
 */
#ifndef IMAPD_H
#define IMAPD_H

#include "sys_defs.h"

#include <time.h>

#include "argv.h"
#include "auth_client.h"
#include "imap_parser.h"
#include "login_split.h"
#include "mstore.h"
#include "stream.h"
#include "tls.h"
#include "vstring.h"

#define IMAPD_NOTAUTH	0
#define IMAPD_AUTH	1
#define IMAPD_SELECTED	2
#define IMAPD_LOGOUT	3

typedef struct imapd_session IMAPD_SESSION;

/* A suspended command: called again when the client has read most of
 * the queued output; returns true when the command is complete (its
 * tagged reply set); free releases the context when the session ends
 * first. */
typedef struct imapd_cont {
    bool    (*run)(IMAPD_SESSION *s, void *ctx);
    void    (*free)(void *ctx);
    void   *ctx;
} IMAPD_CONT;

struct imapd_session {
    STREAM *client;
    IMAP_PARSER *parser;
    VSTRING *out;		/* response being built */
    int     state;
    char   *user;
    char   *home;
    char   *rip, *lip;		/* client and our address */
    bool    secured;		/* TLS or loopback */
    bool    tls;
    MSTORE *store;
    MSTORE_FOLDER *folder;
    bool    readonly;
    bool    condstore;		/* CONDSTORE enabled (ENABLE or a use) */
    bool    qresync;
    uint32_t exists;		/* EXISTS count the client knows */
    const char *tag;		/* of the command being run */
    int     bad_count;		/* protocol errors in a row */
    bool    in_uid;		/* UID prefix */
    /* session loop state (imapd_serve.c) */
    VSTRING *inbuf;		/* client bytes read, from inpos not parsed */
    size_t  inpos;
    size_t  out_pos;		/* s->out bytes already written (nonblock) */
    size_t  out_mark;		/* nonblock: write out when queued > this */
    VSTRING *tagged;		/* the tagged reply, sent after updates */
    VSTRING *tagbuf;		/* the command's tag (s->tag) */
    TLS_SESSION *tls_sess;	/* TLS done in this process (not proxied) */
    bool    nonblock;		/* post-login server: never block on output */
    bool    dead;		/* output failed: end the session */
    const struct imapd_verb *verb;	/* command in progress */
    bool    idling;		/* IDLE: waiting for DONE */
    time_t  idle_note, idle_check;	/* last keep-alive, last folder check */
    int     idle_wd[2];		/* inotify watches of new/ and cur/, or -1 */
    bool    idle_wake;		/* inotify saw a change: check now */
    IMAPD_CONT cont;		/* suspended command (run != NULL) */
    time_t  last_input;		/* for login_timeout / imap_autologout */
    time_t  out_progress;	/* output queue last empty or written to */
    char   *userip_key;		/* mail_max_userip_connections count */
};

typedef void (*imapd_cmd_fn)(IMAPD_SESSION *s, const IMAP_ARG *args, size_t count);

/* the text of a refusal for a server-side fault (the log says more) */
#define IMAPD_INTERNAL_ERROR "[UNAVAILABLE] Internal error occurred. Refer to server log."

#define VERB_NOTAUTH	(1 << 0)	/* allowed before login */
#define VERB_AUTH	(1 << 1)	/* allowed when authenticated */
#define VERB_SELECTED	(1 << 2)	/* needs a selected mailbox */
#define VERB_ANY	(VERB_NOTAUTH | VERB_AUTH | VERB_SELECTED)
#define VERB_UID	(1 << 3)	/* may follow UID */
#define VERB_NO_EXPUNGE	(1 << 4)	/* no EXPUNGE responses after it */

typedef struct imapd_verb {
    const char *name;
    imapd_cmd_fn fn;
    int     flags;
} IMAPD_VERB;

/* imapd.c */
extern const IMAPD_VERB imapd_verbs[];
void    imapd_send(IMAPD_SESSION *s, const char *fmt, ...) PH_PRINTF(2, 3);
void    imapd_send_raw(IMAPD_SESSION *s, const char *data, size_t len);
void    imapd_flush(IMAPD_SESSION *s);
void    imapd_ok(IMAPD_SESSION *s, const char *fmt, ...) PH_PRINTF(2, 3);
void    imapd_no(IMAPD_SESSION *s, const char *fmt, ...) PH_PRINTF(2, 3);
void    imapd_bad(IMAPD_SESSION *s, const char *fmt, ...) PH_PRINTF(2, 3);
void    imapd_no_err(IMAPD_SESSION *s, const char *code, const char *err);
void    imapd_capability(IMAPD_SESSION *s, VSTRING *out);
bool    imapd_plaintext_ok(const IMAPD_SESSION *s);
int     imapd_mailbox_arg(IMAPD_SESSION *s, const IMAP_ARG *arg, VSTRING *name);
void    imapd_quote_mailbox(VSTRING *out, const char *utf8);
void    imapd_updates(IMAPD_SESSION *s, bool allow_expunge);
void    imapd_vanished(IMAPD_SESSION *s, const MSTORE_UIDS *uids, bool earlier);
void    imapd_close_folder(IMAPD_SESSION *s);
int     imapd_flags_parse(IMAPD_SESSION *s, const IMAP_ARG *arg, uint32_t *flags_r,
			  ARGV *keywords);
void    imapd_flags_format(VSTRING *out, const MSTORE_VIEW *view, const MSTORE_MSG *m);
void    imapd_permanent_flags(IMAPD_SESSION *s);
int     imapd_date_parse(const char *text, bool with_time, time_t *when_r);
void    imapd_date_format(VSTRING *out, time_t when);
int     imapd_post_login(IMAPD_SESSION *s, const char *user, const char **error_r);

void    imapd_leftover(IMAPD_SESSION *s, VSTRING *out);
void    imapd_handover(IMAPD_SESSION *s, const char *user, const char *mech);
int     imapd_read_line(IMAPD_SESSION *s, VSTRING *line);
int     imapd_open_store(IMAPD_SESSION *s, const char *user, const char *home,
			 const char *location, const char **error_r);
int     imapd_start_session(IMAPD_SESSION *s, const char *tag, const char *user,
			    const char *mech, const char *home, const char *location);
extern TLS_SERVER_CTX *imapd_tls_ctx;

/* imapd_serve.c */
IMAPD_SESSION *imapd_session_create(STREAM *client, const char *rip, const char *lip,
				    bool secured);
void    imapd_session_free(IMAPD_SESSION **sp);
bool    imapd_congested(const IMAPD_SESSION *s);
void    imapd_idle_watch(IMAPD_SESSION *s);
int     imapd_idle_fd(void);
void    imapd_idle_events(IMAPD_SESSION **sessions, size_t count);
int     imapd_input(IMAPD_SESSION *s);
int     imapd_session_events(IMAPD_SESSION *s, time_t now, int *timeout_ms);
int     imapd_session_ready(IMAPD_SESSION *s, int revents, time_t now);
void    imapd_serve_one(IMAPD_SESSION *s);

/* imapd_post.c */
bool    imapd_post_handoff(STREAM *tcp, STREAM *client, const LOGIN_HANDOVER *h,
			   const AUTH_CLIENT_USER *u, const char *rip, const char *lip,
			   bool loopback);

/* imap_seqset.c */
int     imap_seqset_parse(const char *set, const MSTORE_VIEW *view, bool uid,
			  MSTORE_UIDS *uids, const char **error_r);
void    imap_seqset_format(VSTRING *out, const MSTORE_UIDS *uids);
bool    imap_seqset_contains(const char *set, uint32_t uid);

/* verbs */
void    cmd_capability(IMAPD_SESSION *, const IMAP_ARG *, size_t);
void    cmd_noop(IMAPD_SESSION *, const IMAP_ARG *, size_t);
void    cmd_logout(IMAPD_SESSION *, const IMAP_ARG *, size_t);
void    cmd_login(IMAPD_SESSION *, const IMAP_ARG *, size_t);
void    cmd_starttls(IMAPD_SESSION *, const IMAP_ARG *, size_t);
void    cmd_authenticate(IMAPD_SESSION *, const IMAP_ARG *, size_t);
void    cmd_id(IMAPD_SESSION *, const IMAP_ARG *, size_t);
void    cmd_enable(IMAPD_SESSION *, const IMAP_ARG *, size_t);
void    cmd_select(IMAPD_SESSION *, const IMAP_ARG *, size_t);
void    cmd_examine(IMAPD_SESSION *, const IMAP_ARG *, size_t);
void    cmd_close(IMAPD_SESSION *, const IMAP_ARG *, size_t);
void    cmd_unselect(IMAPD_SESSION *, const IMAP_ARG *, size_t);
void    cmd_check(IMAPD_SESSION *, const IMAP_ARG *, size_t);
void    cmd_expunge(IMAPD_SESSION *, const IMAP_ARG *, size_t);
void    cmd_create(IMAPD_SESSION *, const IMAP_ARG *, size_t);
void    cmd_delete(IMAPD_SESSION *, const IMAP_ARG *, size_t);
void    cmd_rename(IMAPD_SESSION *, const IMAP_ARG *, size_t);
void    cmd_subscribe(IMAPD_SESSION *, const IMAP_ARG *, size_t);
void    cmd_unsubscribe(IMAPD_SESSION *, const IMAP_ARG *, size_t);
void    cmd_list(IMAPD_SESSION *, const IMAP_ARG *, size_t);
void    cmd_lsub(IMAPD_SESSION *, const IMAP_ARG *, size_t);
void    cmd_namespace(IMAPD_SESSION *, const IMAP_ARG *, size_t);
void    cmd_status(IMAPD_SESSION *, const IMAP_ARG *, size_t);
void    cmd_append(IMAPD_SESSION *, const IMAP_ARG *, size_t);
void    cmd_fetch(IMAPD_SESSION *, const IMAP_ARG *, size_t);
void    cmd_store(IMAPD_SESSION *, const IMAP_ARG *, size_t);
void    cmd_copy(IMAPD_SESSION *, const IMAP_ARG *, size_t);
void    cmd_move(IMAPD_SESSION *, const IMAP_ARG *, size_t);
void    cmd_search(IMAPD_SESSION *, const IMAP_ARG *, size_t);
void    cmd_search_cache_addrs(IMAPD_SESSION *, uint32_t, const char *, size_t, VSTRING *);
void    cmd_uid(IMAPD_SESSION *, const IMAP_ARG *, size_t);
void    cmd_idle(IMAPD_SESSION *, const IMAP_ARG *, size_t);
void    cmd_getquotaroot(IMAPD_SESSION *, const IMAP_ARG *, size_t);
void    cmd_getquota(IMAPD_SESSION *, const IMAP_ARG *, size_t);
void    cmd_setquota(IMAPD_SESSION *, const IMAP_ARG *, size_t);

#endif
