/* auth_client.h - client of the Dovecot authentication protocol, for
 * smtpd (SMTP AUTH), imapd/pop3d (login) and local/imapd post-login
 * (userdb lookups). Works against Posthorn's auth service and against a
 * real Dovecot's auth-client and auth-userdb sockets.
 *
 * Usage (one SASL exchange at a time per connection):
 *   ac = auth_client_connect(path, 30, &err);
 *   auth_client_begin(ac, "PLAIN", &params, resp, resp_len, &err);
 *   while ((r = auth_client_reply(ac, buf, &temp, &err)) == AUTH_CLIENT_CONT)
 *       ... send the challenge in buf to the user, get a response ...
 *       auth_client_continue(ac, response, len, &err);
 *   r == AUTH_CLIENT_OK: buf holds the user name;
 *   r == AUTH_CLIENT_FAIL: buf holds the reason (maybe empty), *temp set.
 *
 * Errors (connect, I/O, timeout, protocol violations by the server) are
 * returned as -1 with *error_r (static text valid until the next call on
 * the same connection); the connection is then unusable. Nothing aborts
 * on server input. Limits: AUTH_PROTO_MAX_LINE per line, 64 mechanisms.
 */
#ifndef AUTH_CLIENT_H
#define AUTH_CLIENT_H

#include "sys_defs.h"
#include "argv.h"
#include "vstring.h"

typedef struct auth_client AUTH_CLIENT;

#define AUTH_CLIENT_FAIL 0
#define AUTH_CLIENT_OK   1
#define AUTH_CLIENT_CONT 2

#define AUTH_CLIENT_COOKIE_LEN 32	/* hex digits of the server's COOKIE */

typedef struct auth_client_params {
    const char *service;	/* "smtp", "imap", "pop3" */
    const char *rip;		/* client address, or NULL */
    const char *lip;		/* our address, or NULL */
    bool    secured;		/* the client connection is TLS */
} AUTH_CLIENT_PARAMS;

/* auth_client_connect - connect to a UNIX socket and do the handshake;
 * timeout in seconds per read/write; NULL with *error_r */
AUTH_CLIENT *auth_client_connect(const char *path, int timeout, const char **error_r);
/* auth_client_mechs - the mechanism names the server offers */
const ARGV *auth_client_mechs(const AUTH_CLIENT *ac);
/* auth_client_has_mech - case-insensitive membership */
bool auth_client_has_mech(const AUTH_CLIENT *ac, const char *mech);
/* auth_client_mech_plaintext - the server flags mech as plaintext */
bool auth_client_mech_plaintext(const AUTH_CLIENT *ac, const char *mech);
/* auth_client_begin - send AUTH; resp (len bytes) is the decoded initial
 * response or NULL for none; 0 or -1 */
int auth_client_begin(AUTH_CLIENT *ac, const char *mech, const AUTH_CLIENT_PARAMS *params,
                      const void *resp, size_t len, const char **error_r);
/* auth_client_reply - wait for the server's answer to the current
 * request: AUTH_CLIENT_CONT (decoded challenge in data), AUTH_CLIENT_OK
 * (user name in data), AUTH_CLIENT_FAIL (reason in data, *temp_r), or -1 */
int auth_client_reply(AUTH_CLIENT *ac, VSTRING *data, bool *temp_r, const char **error_r);
/* auth_client_continue - answer a challenge (decoded bytes); 0 or -1 */
int auth_client_continue(AUTH_CLIENT *ac, const void *resp, size_t len, const char **error_r);
/* auth_client_cancel - abandon the current request; 0 or -1 */
int auth_client_cancel(AUTH_CLIENT *ac, const char **error_r);
/* auth_client_plain - one PLAIN login start to finish (password wiped
 * from our buffers); AUTH_CLIENT_OK / AUTH_CLIENT_FAIL / -1 as above */
int auth_client_plain(AUTH_CLIENT *ac, const AUTH_CLIENT_PARAMS *params, const char *user,
                      const char *password, VSTRING *data, bool *temp_r, const char **error_r);
/* auth_client_cookie - the server's COOKIE for this connection ("" when
 * it sent none or not 32 hex digits) */
const char *auth_client_cookie(const AUTH_CLIENT *ac);
/* auth_client_ok_id - id of this connection's last OK (0: none) */
unsigned auth_client_ok_id(const AUTH_CLIENT *ac);
/* auth_client_last_login - cookie and request id of the last OK in this
 * process, whatever connection (false when none or the server sent no
 * usable cookie); what a pre-login process hands over */
bool auth_client_last_login(const char **cookie_r, unsigned *id_r);
/* auth_client_cookie_ok - 32 hex digits */
bool auth_client_cookie_ok(const char *cookie);
/* auth_client_free - close; NULLs the pointer */
void auth_client_free(AUTH_CLIENT **acp);

/* A userdb answer. */
typedef struct auth_client_user {
    VSTRING *user;
    long    uid, gid;		/* -1 when the server sent none */
    VSTRING *home;		/* empty when none */
    ARGV   *extra;		/* other name=value fields */
} AUTH_CLIENT_USER;

/* auth_client_user_alloc / _free - a reply holder */
AUTH_CLIENT_USER *auth_client_user_alloc(void);
void auth_client_user_free(AUTH_CLIENT_USER **up);

/* auth_client_userdb - USER lookup on a userdb (master) socket: 1 found
 * (reply filled), 0 not found, -1 with *error_r (server FAIL, I/O,
 * protocol error) */
int auth_client_userdb(const char *path, const char *user, const char *service, int timeout,
                       AUTH_CLIENT_USER *reply, const char **error_r);

/* auth_client_request - master REQUEST on a userdb (master) socket: the
 * auth server answers with the user's userdb data only when the client
 * connection that announced CPID client_pid and got COOKIE cookie had
 * request auth_id answered OK (once, within a minute). 1 (reply filled,
 * reply->user is the authenticated name), 0 NOTFOUND, -1 with *error_r
 * (FAIL, I/O, protocol error) */
int auth_client_request(const char *path, long client_pid, unsigned auth_id,
                        const char *cookie, int timeout, AUTH_CLIENT_USER *reply,
                        const char **error_r);

/* auth_client_xrequest - Posthorn-internal (auth-userdb -> auth): claim
 * the record of a login: 1 (user set, fields "service=..." etc.), 0 (no
 * such login: user holds the reason), -1 with *error_r */
int auth_client_xrequest(AUTH_CLIENT *ac, unsigned long client_pid, unsigned auth_id,
                         const char *cookie, VSTRING *user, ARGV *fields,
                         const char **error_r);

#endif
