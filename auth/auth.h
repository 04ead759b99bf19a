/* auth.h - internal interfaces of the auth daemon (auth/ only).
 *
 * Pieces: auth_io (non-blocking line I/O on the event loop), the client
 * protocol (auth_client_conn.c), the master/userdb protocol
 * (auth_master_conn.c), requests and their verdicts (auth_request.c),
 * mechanisms (auth_mech_*.c), passdb/userdb backends behind function
 * tables (auth_db.c registry, auth_passdb_*.c, auth_userdb_*.c) and the
 * brute-force penalty table (auth_penalty.c).
 */
#ifndef AUTH_H
#define AUTH_H

#include "sys_defs.h"
#include "argv.h"
#include "vstring.h"

/* ---- auth_io.c: one client connection's line I/O ---- */
typedef struct auth_io AUTH_IO;
/* a complete line (without LF); return false to stop reading (closed) */
typedef bool (*auth_io_line_fn)(AUTH_IO *io, const char *line, size_t len, void *ctx);
/* the connection is going away: release the owner's state */
typedef void (*auth_io_close_fn)(void *ctx);

AUTH_IO *auth_io_create(int fd, auth_io_line_fn line_fn, auth_io_close_fn close_fn, void *ctx);
/* auth_io_send - queue a line (LF appended) */
void auth_io_send(AUTH_IO *io, const char *line, size_t len);
/* auth_io_close - close now (or as soon as the current callback returns) */
void auth_io_close(AUTH_IO *io);
/* auth_io_peer - "pid=N uid=N" of the peer, for logs */
const char *auth_io_peer(const AUTH_IO *io);
/* auth_io_peer_uid - the peer's uid (SO_PEERCRED), -1 when unknown */
long auth_io_peer_uid(const AUTH_IO *io);

/* ---- auth_db.c: passdb / userdb backends ---- */
typedef enum auth_db_result {
    AUTH_DB_OK, AUTH_DB_MISMATCH, AUTH_DB_UNKNOWN, AUTH_DB_TEMPFAIL,
} AUTH_DB_RESULT;

typedef struct auth_lookup {
    const char *user;		/* normalised */
    const char *service;
    const char *rip;
    const char *lip;
} AUTH_LOOKUP;

typedef struct auth_userdb_reply {
    long    uid, gid;		/* -1: unknown */
    VSTRING *home;
    ARGV   *extra;		/* name=value, already without "userdb_" */
} AUTH_USERDB_REPLY;

typedef struct auth_passdb_ops {
    const char *type;		/* "passwd-file", "system" */
    void   *(*init)(const char *args, const char **error_r);
    AUTH_DB_RESULT (*verify)(void *ctx, const AUTH_LOOKUP *lk, const char *password,
                             const char **why_r);
    /* does the user exist (OK / UNKNOWN / TEMPFAIL) */
    AUTH_DB_RESULT (*exists)(void *ctx, const AUTH_LOOKUP *lk, const char **why_r);
    void    (*deinit)(void *ctx);
} AUTH_PASSDB_OPS;

typedef struct auth_userdb_ops {
    const char *type;		/* "passwd-file", "system", "static" */
    void   *(*init)(const char *args, const char **error_r);
    AUTH_DB_RESULT (*lookup)(void *ctx, const AUTH_LOOKUP *lk, AUTH_USERDB_REPLY *reply,
                             const char **why_r);
    void    (*deinit)(void *ctx);
} AUTH_USERDB_OPS;

extern const AUTH_PASSDB_OPS auth_passdb_passwd_file;
extern const AUTH_PASSDB_OPS auth_passdb_system;
extern const AUTH_USERDB_OPS auth_userdb_passwd_file;
extern const AUTH_USERDB_OPS auth_userdb_system;
extern const AUTH_USERDB_OPS auth_userdb_static;

/* auth_db_init - open every auth_passdb and auth_userdb entry; fatal on error */
void auth_db_init(void);
/* auth_db_verify - try the passdbs in order; *dbname_r names the one that
 * decided (for the log) */
AUTH_DB_RESULT auth_db_verify(const AUTH_LOOKUP *lk, const char *password,
                              const char **dbname_r, const char **why_r);
/* auth_db_exists - does some passdb know the user */
AUTH_DB_RESULT auth_db_exists(const AUTH_LOOKUP *lk, const char **why_r);
/* auth_db_user - try the userdbs in order */
AUTH_DB_RESULT auth_db_user(const AUTH_LOOKUP *lk, AUTH_USERDB_REPLY *reply,
                            const char **why_r);
/* auth_db_split_list - split auth_passdb / auth_userdb values: entries at
 * commas/white space, a "name=value" token continues the entry before it */
ARGV   *auth_db_split_list(const char *value);

/* ---- auth_passwd_file.c: the file cache both passwd-file backends use ---- */
typedef struct auth_passwd_file AUTH_PASSWD_FILE;
struct passwd_file_entry;
/* auth_passwd_file_init - "[scheme=S] [username_format=F] PATH" */
AUTH_PASSWD_FILE *auth_passwd_file_init(const char *args, const char **error_r);
/* auth_passwd_file_find - the user's entry (reloading a changed file);
 * NULL with *why_r NULL for unknown, or with *why_r for a failure */
const struct passwd_file_entry *auth_passwd_file_find(AUTH_PASSWD_FILE *apf,
                                                      const AUTH_LOOKUP *lk,
                                                      const char **why_r);
/* auth_passwd_file_scheme - the default scheme for entries without {X} */
const char *auth_passwd_file_scheme(const AUTH_PASSWD_FILE *apf);
void auth_passwd_file_deinit(void *ctx);

/* ---- auth_penalty.c: failures per client address and per user ---- */
void auth_penalty_init(void);
/* auth_penalty_blocked - true when rip (may be NULL) or user is blocked */
bool auth_penalty_blocked(const char *rip, const char *user);
/* auth_penalty_fail - count one failure; returns the larger count */
int auth_penalty_fail(const char *rip, const char *user);
/* auth_penalty_success - forget the failures of rip and user */
void auth_penalty_success(const char *rip, const char *user);

/* ---- auth_request.c: one authentication in progress ---- */
typedef struct auth_client_conn AUTH_CLIENT_CONN;
typedef struct auth_mech AUTH_MECH;

typedef struct auth_request {
    AUTH_CLIENT_CONN *conn;
    unsigned id;
    const AUTH_MECH *mech;
    char   *service;
    char   *rip;
    char   *lip;
    bool    secured;
    bool    no_penalty;
    int     state;		/* AUTH_REQ_* */
    int     mech_state;		/* mechanism's own step */
    VSTRING *mech_buf;		/* mechanism's saved data (LOGIN user) */
    char   *user;		/* normalised user once known */
    uint64_t timer;		/* failure delay timer */
    VSTRING *reply;		/* delayed FAIL line */
    struct auth_request *next;
} AUTH_REQUEST;

#define AUTH_REQ_MECH     1	/* the mechanism waits for CONT */
#define AUTH_REQ_FAILING  2	/* FAIL is delayed */
#define AUTH_REQ_DONE     3

/* auth_request_continue - send CONT with a challenge */
void auth_request_continue(AUTH_REQUEST *req, const void *data, size_t len);
/* auth_request_verify_plain - the mechanism has user and password: check
 * them and answer OK or (delayed) FAIL. authzid may be NULL or "". */
void auth_request_verify_plain(AUTH_REQUEST *req, const char *authzid,
                               const char *user, const char *password);
/* auth_request_fail - answer FAIL (delayed); reason may be NULL */
void auth_request_fail(AUTH_REQUEST *req, const char *reason, bool temp);
/* auth_request_normalize - apply auth_default_realm and
 * auth_username_format to a login name; 0, or -1 with *error_r */
int auth_request_normalize(VSTRING *out, const char *user, const char *service,
                           const char *rip, const char *lip, const char **error_r);
/* auth_request_log_user - a user name made safe for log lines that
 * fail2ban parses (no ',', '(', ')' or white space) */
const char *auth_request_log_user(const char *user);
/* auth_request_free - release (timer cancelled) */
void auth_request_free(AUTH_REQUEST **reqp);

/* ---- auth_mech.c + auth_mech_*.c ---- */
struct auth_mech {
    const char *name;
    bool    plaintext;
    /* start; data is the decoded initial response, has_data false when
     * the client sent none */
    void    (*start)(AUTH_REQUEST *req, const unsigned char *data, size_t len, bool has_data);
    /* a CONT response */
    void    (*cont)(AUTH_REQUEST *req, const unsigned char *data, size_t len);
};

extern const AUTH_MECH auth_mech_plain;
extern const AUTH_MECH auth_mech_login;

/* auth_mech_init - check auth_mechanisms; fatal on an unknown name */
void auth_mech_init(void);
/* auth_mech_find - an enabled mechanism by name (case-insensitive) */
const AUTH_MECH *auth_mech_find(const char *name);
/* auth_mech_list - the enabled mechanisms, NULL-terminated */
const AUTH_MECH *const *auth_mech_list(void);

/* ---- auth_client_conn.c / auth_master_conn.c ---- */
void auth_client_conn_create(int fd);
/* auth_client_conn_send - send a line to the request's connection */
void auth_client_conn_send(AUTH_CLIENT_CONN *conn, const char *line, size_t len);
/* auth_client_conn_done - the request is finished: unlink and free it */
void auth_client_conn_done(AUTH_CLIENT_CONN *conn, AUTH_REQUEST *req);
void auth_master_conn_create(int fd);
/* auth_master_conn_init - the service name of the client socket whose
 * process holds the login records a REQUEST claims */
void auth_master_conn_init(const char *client_service);
/* auth_client_conn_success - remember an OK for a master REQUEST */
void auth_client_conn_success(AUTH_CLIENT_CONN *conn, const AUTH_REQUEST *req);

/* ---- auth_success.c: OKs a master REQUEST may claim (once) ---- */
#define AUTH_COOKIE_LEN		32	/* hex digits */
#define AUTH_SUCCESS_NONE	0
#define AUTH_SUCCESS_FOUND	1
#define AUTH_SUCCESS_BAD_COOKIE	2
/* auth_success_add - remember an OK of request id on a connection that
 * announced CPID pid (0: none, nothing is kept) and got cookie */
void auth_success_add(unsigned long pid, unsigned id, const char *cookie, const char *user,
                      const char *service, const char *rip, const char *lip);
/* auth_success_take - claim (and forget) the record of pid/id/cookie */
int auth_success_take(unsigned long pid, unsigned id, const char *cookie,
                      VSTRING *user, VSTRING *service, VSTRING *rip, VSTRING *lip);

#endif
