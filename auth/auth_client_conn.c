/* auth_client_conn - the client side of the Dovecot authentication
 * protocol (what smtpd, imapd, pop3d or a real Postfix speak to us).
 *
 * Contract: on connect the server sends VERSION 1 2, one MECH line per
 * enabled mechanism (flag "plaintext" for PLAIN/LOGIN), SPID, CUID,
 * COOKIE and DONE, without waiting for the client. The client must start
 * with VERSION (major 1) and may send CPID; then AUTH, CONT and CANCEL.
 * Request-level problems (unknown mechanism, bad base64, plaintext on an
 * insecure connection) answer FAIL for that request; protocol errors
 * (unknown command, missing or duplicate id, bad rip=, CONT for a request
 * that waits for nothing) are logged and close the connection.
 * Every OK is remembered (auth_success) with the connection's CPID and
 * COOKIE for a master REQUEST. The COOKIE is 16 random bytes from
 * getrandom(2); a connection without one (no entropy) gets no records.
 * XREQUEST pid id cookie (Posthorn-internal, accepted only from a peer
 * with uid 0 or our own uid: the auth-userdb process of this instance)
 * claims such a record for auth_master_conn's REQUEST and answers
 * XUSER user service= rip= lip= or XFAIL reason=.
 * Plaintext mechanisms are refused when disable_plaintext_auth = yes
 * unless the request is "secured" (TLS) or local (rip is loopback, or
 * rip equals lip).
 * Limits: AUTH_CLIENT_MAX_REQUESTS requests in flight per connection;
 * line length as auth_io.
 */
#include "sys_defs.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <sys/random.h>

#include "auth.h"
#include "auth_proto.h"
#include "base64_code.h"
#include "config.h"
#include "msg.h"
#include "mymalloc.h"

#define AUTH_CLIENT_MAX_REQUESTS 64

struct auth_client_conn {
    AUTH_IO *io;
    bool    version_ok;
    unsigned cuid;
    unsigned long cpid;		/* from CPID; 0: not announced */
    char    cookie[AUTH_COOKIE_LEN + 1];
    int     nreq;
    AUTH_REQUEST *requests;
    ARGV   *args;
    VSTRING *data;		/* decoded SASL data (wiped after use) */
};

static unsigned auth_client_cuid_counter;

/* auth_client_conn_send - one line to the client */
void auth_client_conn_send(AUTH_CLIENT_CONN *conn, const char *line, size_t len)
{
    auth_io_send(conn->io, line, len);
}

/* auth_client_conn_find - a request by id */
static AUTH_REQUEST *auth_client_conn_find(AUTH_CLIENT_CONN *conn, unsigned id)
{
    for (AUTH_REQUEST *req = conn->requests; req; req = req->next)
        if (req->id == id)
            return req;
    return NULL;
}

/* auth_client_conn_done - unlink and free a finished request */
void auth_client_conn_done(AUTH_CLIENT_CONN *conn, AUTH_REQUEST *req)
{
    for (AUTH_REQUEST **rp = &conn->requests; *rp; rp = &(*rp)->next) {
        if (*rp == req) {
            *rp = req->next;
            conn->nreq--;
            break;
        }
    }
    auth_request_free(&req);
}

/* auth_client_is_local - loopback, or client and server address equal */
static bool auth_client_is_local(const char *rip, const char *lip)
{
    struct in_addr a4;
    struct in6_addr a6;

    if (rip == NULL)
        return false;
    if (inet_pton(AF_INET, rip, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127 || (lip && strcmp(rip, lip) == 0);
    if (inet_pton(AF_INET6, rip, &a6) == 1)
        return IN6_IS_ADDR_LOOPBACK(&a6) || (lip && strcmp(rip, lip) == 0);
    return false;
}

/* auth_client_protocol_error - log and close */
static bool auth_client_protocol_error(AUTH_CLIENT_CONN *conn, const char *why)
{
    msg_warn("auth client %s: protocol error: %s: disconnecting", auth_io_peer(conn->io), why);
    return false;
}

/* auth_client_fail_now - FAIL without a request object (no delay) */
static void auth_client_fail_now(AUTH_CLIENT_CONN *conn, unsigned id, const char *reason)
{
    VSTRING *line = vstring_alloc(100);

    vstring_fmt(line, "FAIL\t%u\treason=", id);
    auth_proto_escape(line, reason);
    auth_client_conn_send(conn, STR(line), LEN(line));
    vstring_free(&line);
}

/* auth_client_cmd_auth - AUTH id mech ... */
static bool auth_client_cmd_auth(AUTH_CLIENT_CONN *conn)
{
    AUTH_PROTO_AUTH pa;
    const AUTH_MECH *mech;
    AUTH_REQUEST *req;
    const char *err;
    bool has_data = false;

    if (auth_proto_parse_auth(conn->args, &pa, &err) < 0)
        return auth_client_protocol_error(conn, err);
    if (pa.service == NULL || *pa.service == 0)
        return auth_client_protocol_error(conn, "AUTH without service=");
    if (auth_client_conn_find(conn, pa.id) != NULL)
        return auth_client_protocol_error(conn, "duplicate request id");
    if (conn->nreq >= AUTH_CLIENT_MAX_REQUESTS)
        return auth_client_protocol_error(conn, "too many requests in flight");
    if ((mech = auth_mech_find(pa.mech)) == NULL) {
        msg_info("auth client %s: unsupported mechanism %s", auth_io_peer(conn->io),
                 auth_request_log_user(pa.mech));
        auth_client_fail_now(conn, pa.id, "Unsupported authentication mechanism");
        return true;
    }
    if (mech->plaintext && var_disable_plaintext_auth && !pa.secured
        && !auth_client_is_local(pa.rip, pa.lip)) {
        msg_info("%s(?,%s): plaintext authentication refused on an insecure connection",
                 mech->name, pa.rip ? pa.rip : "?");
        auth_client_fail_now(conn, pa.id,
                             "Plaintext authentication is not allowed without TLS");
        return true;
    }
    if (pa.resp != NULL) {
        if (base64_decode(conn->data, pa.resp, strlen(pa.resp)) < 0) {
            auth_client_fail_now(conn, pa.id, "Invalid base64 data in initial response");
            return true;
        }
        has_data = true;
    }
    req = mycalloc(1, sizeof(*req));
    req->conn = conn;
    req->id = pa.id;
    req->mech = mech;
    req->service = mystrdup(pa.service);
    req->rip = pa.rip ? mystrdup(pa.rip) : NULL;
    req->lip = pa.lip ? mystrdup(pa.lip) : NULL;
    req->secured = pa.secured;
    req->next = conn->requests;
    conn->requests = req;
    conn->nreq++;
    mech->start(req, (const unsigned char *) STR(conn->data), has_data ? LEN(conn->data) : 0,
                has_data);
    vstring_wipe(conn->data);
    return true;
}

/* auth_client_cmd_cont - CONT id data */
static bool auth_client_cmd_cont(AUTH_CLIENT_CONN *conn)
{
    AUTH_REQUEST *req;
    unsigned id;

    if (conn->args->argc < 2 || auth_proto_parse_id(conn->args->argv[1], &id) < 0)
        return auth_client_protocol_error(conn, "CONT without a valid id");
    if ((req = auth_client_conn_find(conn, id)) == NULL || req->state != AUTH_REQ_MECH)
        return auth_client_protocol_error(conn, "CONT for a request that is not waiting");
    const char *b64 = conn->args->argc > 2 ? conn->args->argv[2] : "";

    if (base64_decode(conn->data, b64, strlen(b64)) < 0) {
        auth_request_fail(req, "Invalid base64 data in continued response", false);
        return true;
    }
    req->mech->cont(req, (const unsigned char *) STR(conn->data), LEN(conn->data));
    vstring_wipe(conn->data);
    return true;
}

/* auth_client_cmd_cancel - CANCEL id: forget it, no reply */
static bool auth_client_cmd_cancel(AUTH_CLIENT_CONN *conn)
{
    AUTH_REQUEST *req;
    unsigned id;

    if (conn->args->argc < 2 || auth_proto_parse_id(conn->args->argv[1], &id) < 0)
        return auth_client_protocol_error(conn, "CANCEL without a valid id");
    if ((req = auth_client_conn_find(conn, id)) != NULL)
        auth_client_conn_done(conn, req);
    return true;
}

/* auth_client_conn_success - remember an OK for a master REQUEST */
void auth_client_conn_success(AUTH_CLIENT_CONN *conn, const AUTH_REQUEST *req)
{
    if (conn->cookie[0] != 0)
        auth_success_add(conn->cpid, req->id, conn->cookie, req->user, req->service,
                         req->rip, req->lip);
}

/* auth_client_cmd_cpid - CPID pid (a bad value is ignored, as Dovecot's
 * clients only use it for REQUEST matching) */
static bool auth_client_cmd_cpid(AUTH_CLIENT_CONN *conn)
{
    unsigned id;

    if (conn->args->argc >= 2 && auth_proto_parse_id(conn->args->argv[1], &id) == 0)
        conn->cpid = id;
    return true;
}

/* auth_client_cmd_xrequest - XREQUEST pid id cookie from our own
 * auth-userdb process: claim a remembered OK */
static bool auth_client_cmd_xrequest(AUTH_CLIENT_CONN *conn)
{
    long uid = auth_io_peer_uid(conn->io);
    VSTRING *user, *service, *rip, *lip, *line;
    unsigned pid, id;
    int r;

    if (uid != 0 && uid != (long) geteuid())
        return auth_client_protocol_error(conn, "XREQUEST from an unprivileged client");
    if (conn->args->argc < 4 || auth_proto_parse_id(conn->args->argv[1], &pid) < 0
        || auth_proto_parse_id(conn->args->argv[2], &id) < 0)
        return auth_client_protocol_error(conn, "XREQUEST needs pid, id and cookie");
    user = vstring_alloc(64);
    service = vstring_alloc(16);
    rip = vstring_alloc(64);
    lip = vstring_alloc(64);
    line = vstring_alloc(128);
    r = auth_success_take(pid, id, conn->args->argv[3], user, service, rip, lip);
    if (r == AUTH_SUCCESS_FOUND) {
        vstring_set(line, "XUSER\t");
        auth_proto_escape(line, STR(user));
        vstring_cat(line, "\tservice=");
        auth_proto_escape(line, STR(service));
        if (LEN(rip)) {
            vstring_cat(line, "\trip=");
            auth_proto_escape(line, STR(rip));
        }
        if (LEN(lip)) {
            vstring_cat(line, "\tlip=");
            auth_proto_escape(line, STR(lip));
        }
    } else if (r == AUTH_SUCCESS_BAD_COOKIE) {
        msg_warn("auth master REQUEST for client pid %u request %u: cookie mismatch", pid, id);
        vstring_set(line, "XFAIL\treason=cookie mismatch");
    } else {
        if (msg_verbose)
            msg_info("auth master REQUEST for client pid %u request %u: no such login "
                     "(unknown, expired or already used)", pid, id);
        vstring_set(line, "XFAIL\treason=no such login (unknown, expired or already used)");
    }
    auth_client_conn_send(conn, STR(line), LEN(line));
    vstring_free(&user);
    vstring_free(&service);
    vstring_free(&rip);
    vstring_free(&lip);
    vstring_free(&line);
    return true;
}

/* auth_client_conn_line - one line from the client */
static bool auth_client_conn_line(AUTH_IO *io, const char *line, size_t len, void *ctx)
{
    AUTH_CLIENT_CONN *conn = ctx;
    const char *err;
    const char *cmd;
    bool ok;

    (void) io;
    if (auth_proto_split(line, len, conn->args, &err) < 0)
        return auth_client_protocol_error(conn, err);
    cmd = conn->args->argv[0];
    if (!conn->version_ok) {
        if (strcmp(cmd, "VERSION") != 0 || conn->args->argc < 3)
            return auth_client_protocol_error(conn, "the first line must be VERSION");
        if (strcmp(conn->args->argv[1], "1") != 0)
            return auth_client_protocol_error(conn, "unsupported protocol major version");
        conn->version_ok = true;
        return true;
    }
    if (strcmp(cmd, "AUTH") == 0)
        ok = auth_client_cmd_auth(conn);
    else if (strcmp(cmd, "CONT") == 0)
        ok = auth_client_cmd_cont(conn);
    else if (strcmp(cmd, "CANCEL") == 0)
        ok = auth_client_cmd_cancel(conn);
    else if (strcmp(cmd, "CPID") == 0)
        ok = auth_client_cmd_cpid(conn);
    else if (strcmp(cmd, "XREQUEST") == 0)
        ok = auth_client_cmd_xrequest(conn);
    else
        ok = auth_client_protocol_error(conn, "unknown command");
    /* wipe argument copies: they held base64 credentials */
    for (int i = 0; i < conn->args->argc; i++)
        explicit_bzero(conn->args->argv[i], strlen(conn->args->argv[i]));
    return ok;
}

/* auth_client_conn_close - free all requests (timers cancelled) */
static void auth_client_conn_close(void *ctx)
{
    AUTH_CLIENT_CONN *conn = ctx;

    while (conn->requests) {
        AUTH_REQUEST *req = conn->requests;

        conn->requests = req->next;
        auth_request_free(&req);
    }
    argv_free(&conn->args);
    vstring_wipe(conn->data);
    vstring_free(&conn->data);
    myfree(conn);
}

/* auth_client_conn_create - a new client: send the handshake */
void auth_client_conn_create(int fd)
{
    AUTH_CLIENT_CONN *conn = mycalloc(1, sizeof(*conn));
    VSTRING *hs = vstring_alloc(256);
    unsigned char cookie[16];

    conn->args = argv_alloc(8);
    conn->data = vstring_alloc(256);
    conn->cuid = ++auth_client_cuid_counter;
    conn->io = auth_io_create(fd, auth_client_conn_line, auth_client_conn_close, conn);
    if (getrandom(cookie, sizeof(cookie), 0) == (ssize_t) sizeof(cookie)) {
        for (size_t i = 0; i < sizeof(cookie); i++)
            snprintf(conn->cookie + 2 * i, 3, "%02x", cookie[i]);
    } else {
        msg_warn("getrandom: %m: auth client %s gets no usable cookie",
                 auth_io_peer(conn->io));
        memset(cookie, 0, sizeof(cookie));
    }
    explicit_bzero(cookie, sizeof(cookie));
    vstring_fmt(hs, "VERSION\t%d\t%d", AUTH_PROTO_MAJOR, AUTH_PROTO_MINOR);
    auth_io_send(conn->io, STR(hs), LEN(hs));
    for (const AUTH_MECH *const *mp = auth_mech_list(); *mp; mp++) {
        vstring_fmt(hs, "MECH\t%s%s", (*mp)->name, (*mp)->plaintext ? "\tplaintext" : "");
        auth_io_send(conn->io, STR(hs), LEN(hs));
    }
    vstring_fmt(hs, "SPID\t%ld", (long) getpid());
    auth_io_send(conn->io, STR(hs), LEN(hs));
    vstring_fmt(hs, "CUID\t%u", conn->cuid);
    auth_io_send(conn->io, STR(hs), LEN(hs));
    vstring_set(hs, "COOKIE\t");
    if (conn->cookie[0])
        vstring_cat(hs, conn->cookie);
    else
        vstring_cat(hs, "00000000000000000000000000000000");
    auth_io_send(conn->io, STR(hs), LEN(hs));
    auth_io_send(conn->io, "DONE", 4);
    vstring_free(&hs);
}
