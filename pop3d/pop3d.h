/* pop3d.h - the POP3 server's session, verb table and shared helpers.
 *
 * One session per process at a time (single-server skeleton; see pop3d.c
 * for the process design). Command handlers get the parsed command line
 * and write "+OK"/"-ERR" replies through pop3d_ok/pop3d_err; multi-line
 * replies go through pop3d_send and end with ".\r\n". Output is flushed
 * when the client has nothing more pipelined.
 */
#ifndef POP3D_H
#define POP3D_H

#include "sys_defs.h"

#include "mstore.h"
#include "pop3_proto.h"
#include "stream.h"
#include "tls.h"
#include "vstring.h"

#define POP3D_AUTHORIZATION	0
#define POP3D_TRANSACTION	1
#define POP3D_QUIT		2	/* session over (after UPDATE) */

#define POP3D_AUTOLOGOUT	600	/* RFC 1939's 10 minutes */

/* One message of the maildrop as this session numbers it. */
typedef struct pop3d_msg {
    uint32_t uid;
    uint64_t size;			/* octets as sent (CRLF), before
					 * dot-stuffing: RFC 1939 LIST size */
    bool    deleted;			/* DELE in this session */
    bool    retrieved;			/* RETR: \Seen at QUIT */
} POP3D_MSG;

typedef struct pop3d_session {
    STREAM *client;
    VSTRING *out;			/* reply being built */
    int     state;
    const char *rip, *lip;		/* client and our address */
    bool    secured;			/* TLS, or client address == ours */
    TLS_SESSION *tls;			/* ours (pre-login, or no split) */
    bool    tls_on;			/* TLS: ours or the pre-login proxy's */
    char    apop_stamp[128];		/* "<pid.time@host>" or "" */
    char   *user;			/* after USER (pre-login) / login */
    char   *home;
    int     bad_count;			/* -ERR replies in a row */
    int     auth_failures;
    bool    logged_in;
    /* the maildrop (TRANSACTION state) */
    MSTORE *store;
    MSTORE_FOLDER *folder;
    int     lock_fd;			/* POP3 maildrop lock, -1: none */
    uint32_t uidvalidity;
    POP3D_MSG *msgs;
    uint32_t count;
    uint32_t del_count;
    uint64_t del_size, total_size;
    /* statistics for the disconnect log line */
    unsigned top_count, retr_count;
    uint64_t top_bytes, retr_bytes;
    unsigned expunged;
} POP3D_SESSION;

typedef void (*pop3d_cmd_fn)(POP3D_SESSION *s, POP3_CMD *cmd);

#define VERB_AUTHZ	(1 << 0)	/* allowed in AUTHORIZATION */
#define VERB_TRANS	(1 << 1)	/* allowed in TRANSACTION */
#define VERB_ANY	(VERB_AUTHZ | VERB_TRANS)

typedef struct pop3d_verb {
    const char *name;
    pop3d_cmd_fn fn;
    int     flags;
} POP3D_VERB;

/* pop3d.c */
extern const POP3D_VERB pop3d_verbs[];
extern TLS_SERVER_CTX *pop3d_tls_ctx;
void    pop3d_send(POP3D_SESSION *s, const char *fmt, ...) PH_PRINTF(2, 3);
void    pop3d_send_raw(POP3D_SESSION *s, const char *data, size_t len);
void    pop3d_flush(POP3D_SESSION *s);
void    pop3d_ok(POP3D_SESSION *s, const char *fmt, ...) PH_PRINTF(2, 3);
void    pop3d_err(POP3D_SESSION *s, const char *fmt, ...) PH_PRINTF(2, 3);
int     pop3d_read_line(POP3D_SESSION *s, VSTRING *line);
bool    pop3d_plaintext_ok(const POP3D_SESSION *s);
bool    pop3d_tls_available(const POP3D_SESSION *s);

/* pop3d_login.c (AUTHORIZATION state) */
void    cmd_capa(POP3D_SESSION *, POP3_CMD *);
void    cmd_user(POP3D_SESSION *, POP3_CMD *);
void    cmd_pass(POP3D_SESSION *, POP3_CMD *);
void    cmd_apop(POP3D_SESSION *, POP3_CMD *);
void    cmd_auth(POP3D_SESSION *, POP3_CMD *);
void    cmd_stls(POP3D_SESSION *, POP3_CMD *);

/* pop3d_login.c: the post-login start of a handed-over session */
int     pop3d_post_login(POP3D_SESSION *s, const char *user, const char *mech);

/* pop3d_maildrop.c (post-login: lock, snapshot, UPDATE) */
int     pop3d_maildrop_open(POP3D_SESSION *s, const char *user, const char **error_r);
int     pop3d_maildrop_update(POP3D_SESSION *s, const char **error_r);
void    pop3d_maildrop_close(POP3D_SESSION *s);

/* pop3d_cmd.c (TRANSACTION state) */
void    cmd_stat(POP3D_SESSION *, POP3_CMD *);
void    cmd_list(POP3D_SESSION *, POP3_CMD *);
void    cmd_uidl(POP3D_SESSION *, POP3_CMD *);
void    cmd_top(POP3D_SESSION *, POP3_CMD *);
void    cmd_retr(POP3D_SESSION *, POP3_CMD *);
void    cmd_dele(POP3D_SESSION *, POP3_CMD *);
void    cmd_rset(POP3D_SESSION *, POP3_CMD *);
void    cmd_noop(POP3D_SESSION *, POP3_CMD *);
void    cmd_quit(POP3D_SESSION *, POP3_CMD *);

#endif
