/* auth_master_conn - the master (userdb) side of the Dovecot
 * authentication protocol: local delivery and IMAP/POP3 post-login ask
 * for a user's uid, gid and home.
 *
 * Contract: on connect the server sends VERSION 1 2 and SPID. The client
 * must send VERSION (major 1) first; then any number of
 *   USER id name [service=S] ...
 * answered by USER id name uid=N gid=N home=H [extra...], NOTFOUND id, or
 * FAIL id reason=R; and
 *   REQUEST id client-pid client-id cookie
 * (Dovecot's master request, what the root side of the imapd/pop3d login
 * split sends): answered like USER for the user that request client-id
 * of the auth client connection with CPID client-pid and COOKIE cookie
 * authenticated, at most once and within a minute; else FAIL id
 * reason=R (a wrong cookie is logged as a warning). The records live in
 * the client-socket process (auth_success), so this process asks it over
 * its own socket (private/<client service>, XREQUEST), synchronously
 * with a 10 s timeout. PASS and LIST lookups are not offered: they get
 * FAIL. CPID is accepted and ignored. Anything else is a protocol error
 * that closes the connection. The name is normalised as for logins
 * (auth_default_realm, auth_username_format).
 */
#include "sys_defs.h"

#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "auth_client.h"
#include "auth_proto.h"
#include "config.h"
#include "msg.h"
#include "mymalloc.h"

#define AUTH_MASTER_XREQUEST_TIMEOUT 10

static char *auth_master_client_service;	/* "auth" */

typedef struct auth_master_conn {
    AUTH_IO *io;
    bool    version_ok;
    ARGV   *args;
} AUTH_MASTER_CONN;

/* auth_master_error - log a protocol error; the caller closes */
static bool auth_master_error(AUTH_MASTER_CONN *conn, const char *why)
{
    msg_warn("auth master client %s: protocol error: %s: disconnecting",
             auth_io_peer(conn->io), why);
    return false;
}

/* auth_master_reply - send a line built in buf */
static void auth_master_reply(AUTH_MASTER_CONN *conn, VSTRING *buf)
{
    auth_io_send(conn->io, STR(buf), LEN(buf));
}

/* auth_master_conn_init - name the client-socket service (the process
 * that holds the login records REQUEST claims) */
void auth_master_conn_init(const char *client_service)
{
    myfree(auth_master_client_service);
    auth_master_client_service = mystrdup(client_service);
}

/* auth_master_lookup - userdb lookup of name; reply USER/NOTFOUND/FAIL */
static void auth_master_lookup(AUTH_MASTER_CONN *conn, unsigned id, const char *name,
                               const char *service, const char *rip, const char *lip)
{
    VSTRING *user = vstring_alloc(100);
    VSTRING *line = vstring_alloc(200);
    AUTH_USERDB_REPLY reply = {.home = vstring_alloc(100), .extra = argv_alloc(2)};
    AUTH_LOOKUP lk;
    const char *err;

    if (rip && !auth_proto_valid_ip(rip))
        rip = NULL;
    if (lip && !auth_proto_valid_ip(lip))
        lip = NULL;
    if (auth_request_normalize(user, name, service, rip, lip, &err) < 0) {
        vstring_fmt(line, "FAIL\t%u\treason=", id);
        auth_proto_escape(line, err);
        auth_master_reply(conn, line);
        goto done;
    }
    lk = (AUTH_LOOKUP) {.user = STR(user), .service = service, .rip = rip, .lip = lip};
    switch (auth_db_user(&lk, &reply, &err)) {
    case AUTH_DB_OK:
        vstring_fmt(line, "USER\t%u\t", id);
        auth_proto_escape(line, STR(user));
        if (reply.uid >= 0)
            vstring_fmt_append(line, "\tuid=%ld", reply.uid);
        if (reply.gid >= 0)
            vstring_fmt_append(line, "\tgid=%ld", reply.gid);
        if (LEN(reply.home) > 0) {
            vstring_cat(line, "\thome=");
            auth_proto_escape(line, STR(reply.home));
        }
        for (int i = 0; i < reply.extra->argc; i++) {
            vstring_addch(line, '\t');
            auth_proto_escape(line, reply.extra->argv[i]);
        }
        break;
    case AUTH_DB_UNKNOWN:
        vstring_fmt(line, "NOTFOUND\t%u", id);
        break;
    default:
        msg_warn("userdb(%s): lookup failed: %s", auth_request_log_user(STR(user)), err);
        vstring_fmt(line, "FAIL\t%u\treason=", id);
        auth_proto_escape(line, err);
        break;
    }
    auth_master_reply(conn, line);
done:
    vstring_free(&user);
    vstring_free(&line);
    vstring_free(&reply.home);
    argv_free(&reply.extra);
}

/* auth_master_cmd_user - USER id name ... */
static bool auth_master_cmd_user(AUTH_MASTER_CONN *conn, unsigned id)
{
    auth_master_lookup(conn, id, conn->args->argv[2],
                       auth_proto_find(conn->args, 3, "service"),
                       auth_proto_find(conn->args, 3, "rip"),
                       auth_proto_find(conn->args, 3, "lip"));
    return true;
}

/* auth_master_fail - FAIL id reason=... */
static void auth_master_fail(AUTH_MASTER_CONN *conn, unsigned id, const char *reason)
{
    VSTRING *line = vstring_alloc(100);

    vstring_fmt(line, "FAIL\t%u\treason=", id);
    auth_proto_escape(line, reason);
    auth_master_reply(conn, line);
    vstring_free(&line);
}

/* auth_master_cmd_request - REQUEST id client-pid client-id cookie */
static bool auth_master_cmd_request(AUTH_MASTER_CONN *conn, unsigned id)
{
    unsigned pid, auth_id;
    const char *cookie, *err;
    VSTRING *path, *user;
    ARGV *fields;
    AUTH_CLIENT *ac;
    int r;

    if (conn->args->argc < 5 || auth_proto_parse_id(conn->args->argv[2], &pid) < 0
        || auth_proto_parse_id(conn->args->argv[3], &auth_id) < 0)
        return auth_master_error(conn, "REQUEST needs id, client pid, client id and cookie");
    cookie = conn->args->argv[4];
    if (!auth_client_cookie_ok(cookie)) {
        msg_warn("auth master client %s: REQUEST %u for client pid %u request %u: "
                 "malformed cookie", auth_io_peer(conn->io), id, pid, auth_id);
        auth_master_fail(conn, id, "invalid cookie");
        return true;
    }
    path = vstring_alloc(128);
    vstring_fmt(path, "%s/private/%s", var_queue_directory,
                auth_master_client_service ? auth_master_client_service : "auth");
    if ((ac = auth_client_connect(STR(path), AUTH_MASTER_XREQUEST_TIMEOUT, &err)) == NULL) {
        msg_warn("auth master REQUEST %u: %s", id, err);
        auth_master_fail(conn, id, "auth service unavailable");
        vstring_free(&path);
        return true;
    }
    user = vstring_alloc(64);
    fields = argv_alloc(4);
    r = auth_client_xrequest(ac, pid, auth_id, cookie, user, fields, &err);
    auth_client_free(&ac);
    if (r < 0) {
        msg_warn("auth master REQUEST %u: %s", id, err);
        auth_master_fail(conn, id, "auth service unavailable");
    } else if (r == 0) {
        msg_warn("auth master client %s: REQUEST %u for client pid %u request %u refused: %s",
                 auth_io_peer(conn->io), id, pid, auth_id, STR(user));
        auth_master_fail(conn, id, STR(user));
    } else {
        auth_master_lookup(conn, id, STR(user), auth_proto_find(fields, 0, "service"),
                           auth_proto_find(fields, 0, "rip"),
                           auth_proto_find(fields, 0, "lip"));
    }
    argv_free(&fields);
    vstring_free(&user);
    vstring_free(&path);
    return true;
}

/* auth_master_conn_line - one line from a master client */
static bool auth_master_conn_line(AUTH_IO *io, const char *line, size_t len, void *ctx)
{
    AUTH_MASTER_CONN *conn = ctx;
    const char *cmd, *err;
    unsigned id;
    VSTRING *buf;

    (void) io;
    if (auth_proto_split(line, len, conn->args, &err) < 0)
        return auth_master_error(conn, err);
    cmd = conn->args->argv[0];
    if (!conn->version_ok) {
        if (strcmp(cmd, "VERSION") != 0 || conn->args->argc < 3)
            return auth_master_error(conn, "the first line must be VERSION");
        if (strcmp(conn->args->argv[1], "1") != 0)
            return auth_master_error(conn, "unsupported protocol major version");
        conn->version_ok = true;
        return true;
    }
    if (strcmp(cmd, "CPID") == 0)
        return true;
    if (strcmp(cmd, "USER") != 0 && strcmp(cmd, "PASS") != 0 && strcmp(cmd, "LIST") != 0
        && strcmp(cmd, "REQUEST") != 0)
        return auth_master_error(conn, "unknown command");
    if (conn->args->argc < 2 || auth_proto_parse_id(conn->args->argv[1], &id) < 0)
        return auth_master_error(conn, "missing or bad request id");
    if (strcmp(cmd, "REQUEST") == 0)
        return auth_master_cmd_request(conn, id);
    if (strcmp(cmd, "USER") != 0) {
        buf = vstring_alloc(64);
        vstring_fmt(buf, "FAIL\t%u\treason=%s lookups are not supported", id, cmd);
        auth_master_reply(conn, buf);
        vstring_free(&buf);
        return true;
    }
    if (conn->args->argc < 3 || *conn->args->argv[2] == 0)
        return auth_master_error(conn, "USER without a name");
    return auth_master_cmd_user(conn, id);
}

/* auth_master_conn_close - release */
static void auth_master_conn_close(void *ctx)
{
    AUTH_MASTER_CONN *conn = ctx;

    argv_free(&conn->args);
    myfree(conn);
}

/* auth_master_conn_create - a new master client: send the handshake */
void auth_master_conn_create(int fd)
{
    AUTH_MASTER_CONN *conn = mycalloc(1, sizeof(*conn));
    VSTRING *hs = vstring_alloc(64);

    conn->args = argv_alloc(8);
    conn->io = auth_io_create(fd, auth_master_conn_line, auth_master_conn_close, conn);
    vstring_fmt(hs, "VERSION\t%d\t%d", AUTH_PROTO_MAJOR, AUTH_PROTO_MINOR);
    auth_io_send(conn->io, STR(hs), LEN(hs));
    vstring_fmt(hs, "SPID\t%ld", (long) getpid());
    auth_io_send(conn->io, STR(hs), LEN(hs));
    vstring_free(&hs);
}
