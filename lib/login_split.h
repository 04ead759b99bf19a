/* login_split.h - the pre-login/post-login privilege split of imapd and
 * pop3d, and what their pre-login parts share.
 *
 * When the single-server process runs as root (master.cf unpriv = n and a
 * daemon built with stay_root), login_split() forks a pre-login child per
 * connection that drops to login_user and speaks the protocol up to a
 * successful authentication; it then reports to the root parent with
 * login_split_handover() (never returns). The parent has the auth service
 * confirm the login (master REQUEST with the child's pid, the auth cookie
 * and the request id), gets the userdb data with it, drops to the user's
 * uid/gid for good (login_split_user) and serves the session; it then ends with login_split_done(), which exits
 * the process once privileges were given away (a process that is no
 * longer root must not take the next connection).
 *
 * Errors: socket/fork trouble is logged and the connection dropped; a
 * failure to drop privileges is fatal (privs_drop).
 */
#ifndef LOGIN_SPLIT_H
#define LOGIN_SPLIT_H

#include "sys_defs.h"

#include "auth_client.h"
#include "stream.h"
#include "tls.h"
#include "vstring.h"

/* A pre-login process's report of a successful login. */
typedef struct login_handover {
    char   *tag;		/* protocol token (IMAP tag; POP3 "-") */
    char   *user;
    char   *mech;
    bool    tls;		/* the pre-login process proxies TLS */
    char   *left;		/* client bytes it had read past the command */
    size_t  left_len;
    size_t  left_pos;		/* login_split_feed: bytes given out */
    long    pid;		/* the child's pid (the parent's knowledge) */
    char   *cookie;		/* the auth server's COOKIE for the child */
    unsigned auth_id;		/* the child's successful auth request id */
} LOGIN_HANDOVER;

/* The pre-login session, run in the child as login_user (ctx as given). */
typedef void (*login_split_prelogin_fn)(STREAM *client, void *ctx);

/* login_split - fork the pre-login child (which runs prelogin and exits);
 * in the parent, wait (at most login_timeout + 60 s) for its report and
 * return the stream to serve after login (*h_r set), or NULL when no login
 * happened (client left, timeout, bad report) */
STREAM *login_split(STREAM *client, login_split_prelogin_fn prelogin, void *ctx,
		    LOGIN_HANDOVER **h_r);

/* login_split_parse_report - the parent's parse of the pre-login
 * child's report line (LF removed): tag, user, mech, tls (0|1), cookie
 * (32 hex digits), auth id (decimal 1..2^32-1), leftover length (decimal
 * digits only, at most 1 MiB).
 * Returns a hand-over with left allocated for left_len bytes (not yet
 * filled) and pid 0, or NULL with *error_r (static text). No I/O. */
LOGIN_HANDOVER *login_split_parse_report(const char *line, const char **error_r);

/* A session passed from a root process to a post-login server (imapd):
 * one line "POST1 tag user mech tls secured rip lip home mail left-len"
 * (tab-separated; home may be empty), then left-len client bytes. */
typedef struct login_post {
    const char *tag, *user, *mech, *rip, *lip, *home, *mail;
    bool    tls;		/* the pre-login process proxies TLS */
    bool    secured;		/* TLS or what the daemon counts as secure */
    size_t  left_len;		/* at most LOGIN_POST_MAX_LEFT */
} LOGIN_POST;

#define LOGIN_POST_MAX_LEFT	(1024 * 1024 + 65536)
#define LOGIN_POST_MAX_LINE	8192

/* login_post_format - the hand-over line with its LF into out (reset
 * first); false when a field cannot be sent (tab, CR or LF anywhere; an
 * empty tag, user, mech, rip, lip or mail; a line over
 * LOGIN_POST_MAX_LINE) */
bool    login_post_format(VSTRING *out, const LOGIN_POST *p);

/* login_post_parse - the line (LF removed) back into a LOGIN_POST (one
 * allocation; free with login_post_free); NULL with *error_r (static) */
LOGIN_POST *login_post_parse(const char *line, const char **error_r);

/* login_post_free - release a parsed hand-over line; NULLs *pp */
void    login_post_free(LOGIN_POST **pp);

/* login_split_handover_free - release a hand-over; NULLs *hp */
void    login_split_handover_free(LOGIN_HANDOVER **hp);

/* login_split_feed - make post's reads return h's leftover bytes first
 * (for daemons that read through the stream; h must outlive the use) */
void    login_split_feed(STREAM *post, LOGIN_HANDOVER *h);

/* login_split_active - true in a pre-login child that must hand over */
bool    login_split_active(void);

/* login_split_handover - child side: report user/mech and the bytes read
 * past the login command (left, plus anything still buffered in client),
 * then proxy *tls (when not NULL) for at most idle_timeout seconds of
 * silence; never returns. The caller has flushed its replies. */
PH_NORETURN void login_split_handover(STREAM *client, TLS_SESSION **tls, const char *tag,
				      const char *user, const char *mech,
				      const char *left, size_t left_len, int idle_timeout);

/* login_split_user - the userdb lookup of a logged-in user (service
 * "imap"/"pop3"); as root (the parent of the split), a master REQUEST
 * that makes the auth service confirm the pre-login child's login
 * (child pid, cookie, request id; user must be the name the service
 * confirms), then become the user's uid/gid for good (uid/gid 0 or
 * missing are refused). 0, or -1 with *error_r */
int     login_split_user(const char *user, const char *service, AUTH_CLIENT_USER *u,
			 const char **error_r);

/* login_split_lookup - login_split_user without the change of uid/gid
 * (as root: uid/gid checked to be set and not 0) */
int     login_split_lookup(const char *user, const char *service, AUTH_CLIENT_USER *u,
			   const char **error_r);

/* login_split_become - as root after login_split_lookup: the user's
 * uid/gid for good (login_split_done then exits the process) */
void    login_split_become(const AUTH_CLIENT_USER *u);

/* login_split_release - parent side, when the session went on to another
 * process: close our copy of the stream (unless it is the client's, which
 * the server skeleton closes), free the hand-over; a TLS proxy child is
 * left running and reaped by a later login_split */
void    login_split_release(STREAM **postp, LOGIN_HANDOVER **hp);

/* login_split_done - parent side: release the hand-over and reap the
 * proxy; exits the process when it gave up root (see above) */
void    login_split_done(STREAM **postp, LOGIN_HANDOVER **hp);

/* login_mail_location - the userdb's "mail=" field, or mail_location */
const char *login_mail_location(const AUTH_CLIENT_USER *u);

/* login_peer_addresses - the client's and our address as text (127.0.0.1
 * for a non-inet socket: -S stand-alone) and whether the client is on a
 * loopback address */
void    login_peer_addresses(int fd, char *rip, char *lip, size_t len, bool *loopback_r);

/* login_plaintext_ok - may a plaintext password be used now: ssl =
 * required wants TLS; else disable_plaintext_auth wants a secured
 * connection (TLS, or what the daemon counts as secure) */
bool    login_plaintext_ok(bool tls, bool secured);

/* login_auth_connect - connect to the auth service (private/auth) */
AUTH_CLIENT *login_auth_connect(const char **error_r);

/* The client side of a SASL exchange: send the base64 challenge, read the
 * client's line into line; 0, -1 (disconnected), or -2 (line too long). */
typedef int (*login_sasl_io_fn)(void *ctx, const char *challenge, VSTRING *line);

#define LOGIN_SASL_DISCONNECTED	(-2)
#define LOGIN_SASL_ABORTED	(-3)	/* client sent "*" */
#define LOGIN_SASL_BAD_BASE64	(-4)
#define LOGIN_SASL_TOO_LONG	(-5)

/* login_sasl - run mech with the auth service (resp: decoded initial
 * response or NULL), relaying challenges through io; wipes what it read.
 * AUTH_CLIENT_OK (user in data), AUTH_CLIENT_FAIL (*temp_r), -1 (auth
 * service trouble, *error_r), or a LOGIN_SASL_* code. */
int     login_sasl(AUTH_CLIENT *ac, const char *mech, const AUTH_CLIENT_PARAMS *params,
		   VSTRING *resp, login_sasl_io_fn io, void *ctx, VSTRING *data,
		   bool *temp_r, const char **error_r);

/* login_tls_init - the server TLS context from ssl, ssl_cert, ssl_key,
 * ssl_min_protocol (NULL when TLS is off); fatal on a bad setting, when
 * ssl = required has no certificate, or when wrappermode has none */
TLS_SERVER_CTX *login_tls_init(const char *service, const char *wrapper_param,
			       bool wrappermode);

#endif
