/* auth_request - one authentication: user name normalisation, the
 * penalty check, the passdb verdict, logging, and the (delayed) reply.
 *
 * Contract: mechanisms call auth_request_continue, _verify_plain or
 * _fail exactly once per step and touch the request no more afterwards
 * (it may be freed). OK is sent at once; FAIL waits auth_failure_delay
 * on an event-loop timer, so a failing client is slowed down without
 * holding up anyone else. Failures are logged in Dovecot's shape
 * ("passwd-file(alice,192.0.2.1): Password mismatch", "...: unknown
 * user") which fail2ban's stock dovecot filter matches; user names in
 * those lines have ',', '(', ')' and white space replaced by '?' so a
 * crafted name cannot make the filter read another address.
 * Passwords are never logged.
 */
#include "sys_defs.h"

#include <ctype.h>
#include <string.h>

#include "auth.h"
#include "auth_proto.h"
#include "auth_var.h"
#include "base64_code.h"
#include "config.h"
#include "events.h"
#include "msg.h"
#include "mymalloc.h"

/* auth_request_log_user - user name safe for fail2ban-parsed lines */
const char *auth_request_log_user(const char *user)
{
    static VSTRING *buf;

    if (buf == NULL) {
        buf = vstring_alloc(64);
        vstring_set_limit(buf, 256);
    }
    vstring_reset(buf);
    for (const char *cp = user; *cp; cp++) {
        unsigned char ch = (unsigned char) *cp;

        vstring_addch(buf, ch == ',' || ch == '(' || ch == ')' || isspace(ch) || ch < 0x20
                      ? '?' : ch);
    }
    return STR(buf);
}

/* auth_request_who - "user,rip" or "user" for log lines */
static const char *auth_request_who(const AUTH_REQUEST *req, const char *user)
{
    static VSTRING *buf;

    if (buf == NULL)
        buf = vstring_alloc(100);
    vstring_set(buf, auth_request_log_user(user ? user : "?"));
    if (req->rip)
        vstring_fmt_append(buf, ",%s", req->rip);
    return STR(buf);
}

/* auth_request_normalize - default realm + auth_username_format */
int auth_request_normalize(VSTRING *out, const char *user, const char *service,
                           const char *rip, const char *lip, const char **error_r)
{
    VSTRING *full = vstring_alloc(100);
    AUTH_VARS vars;
    int ret;

    vstring_set(full, user);
    if (strchr(user, '@') == NULL && *var_auth_default_realm)
        vstring_fmt_append(full, "@%s", var_auth_default_realm);
    vars = (AUTH_VARS) {.user = STR(full), .service = service, .rip = rip, .lip = lip};
    vstring_reset(out);
    ret = auth_var_expand(out, *var_auth_username_format ? var_auth_username_format : "%u",
                          &vars, error_r);
    if (ret == 0 && LEN(out) == 0) {
        *error_r = "empty user name";
        ret = -1;
    }
    vstring_free(&full);
    return ret;
}

/* auth_request_continue - CONT with a challenge */
void auth_request_continue(AUTH_REQUEST *req, const void *data, size_t len)
{
    VSTRING *line = vstring_alloc(100);

    vstring_fmt(line, "CONT\t%u\t", req->id);
    base64_encode(line, data, len);
    req->state = AUTH_REQ_MECH;
    auth_client_conn_send(req->conn, STR(line), LEN(line));
    vstring_free(&line);
}

/* auth_request_fail_event - the failure delay is over */
static void auth_request_fail_event(int event, int fd, void *ctx)
{
    AUTH_REQUEST *req = ctx;

    (void) event, (void) fd;
    req->timer = 0;
    auth_client_conn_send(req->conn, STR(req->reply), LEN(req->reply));
    req->state = AUTH_REQ_DONE;
    auth_client_conn_done(req->conn, req);
}

/* auth_request_fail - FAIL after auth_failure_delay */
void auth_request_fail(AUTH_REQUEST *req, const char *reason, bool temp)
{
    req->reply = vstring_alloc(100);
    vstring_fmt(req->reply, "FAIL\t%u", req->id);
    if (req->user) {
        vstring_cat(req->reply, "\tuser=");
        auth_proto_escape(req->reply, req->user);
    }
    if (reason) {
        vstring_cat(req->reply, "\treason=");
        auth_proto_escape(req->reply, reason);
    }
    if (temp)
        vstring_cat(req->reply, "\ttemp");
    req->state = AUTH_REQ_FAILING;
    if (var_auth_failure_delay > 0)
        req->timer = event_timer_add((int) var_auth_failure_delay * 1000,
                                     auth_request_fail_event, req);
    else
        auth_request_fail_event(0, -1, req);
}

/* auth_request_success - OK user=... */
static void auth_request_success(AUTH_REQUEST *req)
{
    VSTRING *line = vstring_alloc(100);

    vstring_fmt(line, "OK\t%u\tuser=", req->id);
    auth_proto_escape(line, req->user);
    auth_client_conn_send(req->conn, STR(line), LEN(line));
    vstring_free(&line);
    auth_client_conn_success(req->conn, req);
    req->state = AUTH_REQ_DONE;
    auth_client_conn_done(req->conn, req);
}

/* auth_request_verify_plain - user + password from a mechanism */
void auth_request_verify_plain(AUTH_REQUEST *req, const char *authzid,
                               const char *user, const char *password)
{
    VSTRING *norm = vstring_alloc(100);
    AUTH_LOOKUP lk;
    AUTH_DB_RESULT r;
    const char *err, *dbname, *why;
    int count;

    if (authzid != NULL && *authzid != 0 && strcmp(authzid, user) != 0) {
        /* both helpers return static buffers: copy one before the other */
        char *who = mystrdup(auth_request_who(req, user));

        msg_info("%s(%s): authorization identity %s differs: master-user logins are not supported",
                 req->mech->name, who, auth_request_log_user(authzid));
        myfree(who);
        auth_request_fail(req, "Authorization identity must equal the login name", false);
        goto done;
    }
    if (auth_request_normalize(norm, user, req->service, req->rip, req->lip, &err) < 0) {
        msg_info("%s(%s): invalid user name: %s", req->mech->name,
                 auth_request_who(req, user), err);
        auth_request_fail(req, "Invalid user name", false);
        goto done;
    }
    req->user = mystrdup(STR(norm));
    if (auth_penalty_blocked(req->rip, req->user)) {
        msg_info("penalty(%s): blocked after %ld failures within %lds",
                 auth_request_who(req, req->user), var_auth_failure_limit,
                 var_auth_failure_window);
        auth_request_fail(req, "Too many failed logins, try again later", true);
        goto done;
    }
    lk = (AUTH_LOOKUP) {.user = req->user, .service = req->service, .rip = req->rip,
                        .lip = req->lip};
    r = auth_db_verify(&lk, password, &dbname, &why);
    switch (r) {
    case AUTH_DB_OK:
        auth_penalty_success(req->rip, req->user);
        if (msg_verbose)
            msg_info("%s(%s): authenticated", dbname, auth_request_who(req, req->user));
        auth_request_success(req);
        break;
    case AUTH_DB_MISMATCH:
    case AUTH_DB_UNKNOWN:
        msg_info("%s(%s): %s", dbname, auth_request_who(req, req->user),
                 r == AUTH_DB_MISMATCH ? "Password mismatch" : "unknown user");
        count = auth_penalty_fail(req->rip, req->user);
        if (var_auth_failure_limit > 0 && count == var_auth_failure_limit)
            msg_warn("penalty(%s): %d failures: blocking for %lds",
                     auth_request_who(req, req->user), count, var_auth_failure_window);
        auth_request_fail(req, NULL, false);
        break;
    case AUTH_DB_TEMPFAIL:
        msg_warn("%s(%s): lookup failed: %s", dbname, auth_request_who(req, req->user), why);
        auth_request_fail(req, "Temporary authentication failure", true);
        break;
    }
done:
    vstring_free(&norm);
}

/* auth_request_free - release */
void auth_request_free(AUTH_REQUEST **reqp)
{
    AUTH_REQUEST *req = *reqp;

    if (req == NULL)
        return;
    if (req->timer)
        event_timer_cancel(req->timer);
    myfree(req->service);
    myfree(req->rip);
    myfree(req->lip);
    myfree(req->user);
    if (req->mech_buf) {
        vstring_wipe(req->mech_buf);
        vstring_free(&req->mech_buf);
    }
    if (req->reply)
        vstring_free(&req->reply);
    myfree(req);
    *reqp = NULL;
}
