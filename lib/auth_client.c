/* auth_client - Dovecot authentication protocol client (auth_client.h).
 *
 * Contract: blocking I/O on a STREAM with a per-operation timeout; one
 * request in flight per connection (ids count up from 1). Replies for
 * other ids are a protocol error. Credentials we encode are wiped from
 * our buffers after sending. The server's COOKIE (kept only when it is
 * 32 hex digits) and the id of each OK are remembered per connection and,
 * for the pre-login hand-over, process-wide (auth_client_last_login).
 */
#include "sys_defs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "auth_client.h"
#include "auth_proto.h"
#include "base64_code.h"
#include "mymalloc.h"
#include "stream.h"

#define AUTH_CLIENT_MAX_MECHS 64

/* the last OK in this process (pre-login children hand it over) */
static char auth_client_last_cookie[AUTH_CLIENT_COOKIE_LEN + 1];
static unsigned auth_client_last_id;

struct auth_client {
    STREAM *sp;
    ARGV   *mechs;
    ARGV   *plaintext;		/* mechs flagged "plaintext" */
    unsigned next_id;
    unsigned cur_id;		/* 0: no request in flight */
    unsigned ok_id;		/* the last request answered OK (0: none) */
    char    cookie[AUTH_CLIENT_COOKIE_LEN + 1];	/* server's COOKIE, "" if none */
    VSTRING *line;
    ARGV   *args;
    VSTRING *err;
};

/* auth_client_unix_connect - connect to a UNIX socket; fd or -1 */
static int auth_client_unix_connect(const char *path, VSTRING *err)
{
    struct sockaddr_un sun;
    int fd;

    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(sun.sun_path)) {
        vstring_fmt(err, "socket path too long: %s", path);
        return -1;
    }
    ph_strlcpy(sun.sun_path, path, sizeof(sun.sun_path));
    if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
        vstring_fmt(err, "socket: %s", strerror(errno));
        return -1;
    }
    if (connect(fd, (struct sockaddr *) &sun, sizeof(sun)) < 0) {
        vstring_fmt(err, "connect to %s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

/* auth_client_read - one line split into ac->args; 0 or -1 */
static int auth_client_read(STREAM *sp, VSTRING *line, ARGV *args, VSTRING *err)
{
    const char *why;
    int rc = stream_getline(sp, line, AUTH_PROTO_MAX_LINE, NULL);

    if (rc <= 0) {
        vstring_set(err, rc == 0 ? "auth server closed the connection"
                    : (stream_flags(sp) & STREAM_F_TIMEOUT) ? "timeout talking to the auth server"
                    : "read error from the auth server");
        return -1;
    }
    if (rc == 2) {
        vstring_set(err, "auth server sent an overlong line");
        return -1;
    }
    vstring_chomp(line);
    if (auth_proto_split(STR(line), LEN(line), args, &why) < 0) {
        vstring_fmt(err, "auth server protocol error: %s", why);
        return -1;
    }
    return 0;
}

/* auth_client_send - write and flush a line (LF appended); 0 or -1 */
static int auth_client_send(STREAM *sp, VSTRING *line, VSTRING *err)
{
    vstring_addch(line, '\n');
    if (stream_write(sp, STR(line), LEN(line)) < 0 || stream_flush(sp) < 0) {
        vstring_set(err, "write error to the auth server");
        return -1;
    }
    return 0;
}

/* auth_client_cookie_ok - 32 hex digits */
bool auth_client_cookie_ok(const char *cookie)
{
    size_t n = strspn(cookie, "0123456789abcdefABCDEF");

    return n == AUTH_CLIENT_COOKIE_LEN && cookie[n] == 0;
}

/* auth_client_cookie - the server's COOKIE ("" when none or malformed) */
const char *auth_client_cookie(const AUTH_CLIENT *ac)
{
    return ac->cookie;
}

/* auth_client_ok_id - id of the last request answered OK (0: none) */
unsigned auth_client_ok_id(const AUTH_CLIENT *ac)
{
    return ac->ok_id;
}

/* auth_client_last_login - the last OK of this process: cookie and id */
bool auth_client_last_login(const char **cookie_r, unsigned *id_r)
{
    *cookie_r = auth_client_last_cookie;
    *id_r = auth_client_last_id;
    return auth_client_last_id != 0 && auth_client_last_cookie[0] != 0;
}

/* auth_client_free - close */
void auth_client_free(AUTH_CLIENT **acp)
{
    AUTH_CLIENT *ac = *acp;

    if (ac == NULL)
        return;
    if (ac->sp)
        stream_close(&ac->sp);
    argv_free(&ac->mechs);
    argv_free(&ac->plaintext);
    vstring_wipe(ac->line);
    vstring_free(&ac->line);
    argv_free(&ac->args);
    vstring_free(&ac->err);
    myfree(ac);
    *acp = NULL;
}

/* auth_client_connect - connect and handshake */
AUTH_CLIENT *auth_client_connect(const char *path, int timeout, const char **error_r)
{
    static VSTRING *cerr;
    AUTH_CLIENT *ac = mycalloc(1, sizeof(*ac));
    bool version_seen = false;
    int fd;

    if (cerr == NULL)
        cerr = vstring_alloc(100);
    ac->mechs = argv_alloc(4);
    ac->plaintext = argv_alloc(4);
    ac->line = vstring_alloc(256);
    ac->args = argv_alloc(8);
    ac->err = vstring_alloc(100);
    ac->next_id = 1;
    if ((fd = auth_client_unix_connect(path, ac->err)) < 0)
        goto fail;
    ac->sp = stream_fdopen(fd, true);
    stream_set_timeout(ac->sp, timeout);
    vstring_fmt(ac->line, "VERSION\t%d\t%d\nCPID\t%ld", AUTH_PROTO_MAJOR, AUTH_PROTO_MINOR,
                (long) getpid());
    if (auth_client_send(ac->sp, ac->line, ac->err) < 0)
        goto fail;
    for (;;) {
        if (auth_client_read(ac->sp, ac->line, ac->args, ac->err) < 0)
            goto fail;
        const char *cmd = ac->args->argv[0];

        if (!version_seen) {
            if (strcmp(cmd, "VERSION") != 0 || ac->args->argc < 3) {
                vstring_set(ac->err, "auth server did not start with VERSION");
                goto fail;
            }
            if (strcmp(ac->args->argv[1], "1") != 0) {
                vstring_fmt(ac->err, "auth server speaks protocol version %s, not 1",
                            ac->args->argv[1]);
                goto fail;
            }
            version_seen = true;
        } else if (strcmp(cmd, "MECH") == 0 && ac->args->argc >= 2) {
            if (ac->mechs->argc >= AUTH_CLIENT_MAX_MECHS) {
                vstring_set(ac->err, "auth server offers too many mechanisms");
                goto fail;
            }
            argv_add(ac->mechs, ac->args->argv[1], (char *) 0);
            for (int i = 2; i < ac->args->argc; i++)
                if (strcmp(ac->args->argv[i], "plaintext") == 0)
                    argv_add(ac->plaintext, ac->args->argv[1], (char *) 0);
        } else if (strcmp(cmd, "COOKIE") == 0 && ac->args->argc >= 2) {
            if (auth_client_cookie_ok(ac->args->argv[1]))
                ph_strlcpy(ac->cookie, ac->args->argv[1], sizeof(ac->cookie));
        } else if (strcmp(cmd, "DONE") == 0) {
            break;
        }
        /* SPID, CUID and anything newer: not needed here */
    }
    return ac;
fail:
    vstring_set(cerr, STR(ac->err));
    *error_r = STR(cerr);
    auth_client_free(&ac);
    return NULL;
}

/* auth_client_mechs - offered mechanisms */
const ARGV *auth_client_mechs(const AUTH_CLIENT *ac)
{
    return ac->mechs;
}

/* auth_client_in - case-insensitive list membership */
static bool auth_client_in(const ARGV *list, const char *name)
{
    for (int i = 0; i < list->argc; i++)
        if (strcasecmp(list->argv[i], name) == 0)
            return true;
    return false;
}

/* auth_client_has_mech - offered? */
bool auth_client_has_mech(const AUTH_CLIENT *ac, const char *mech)
{
    return auth_client_in(ac->mechs, mech);
}

/* auth_client_mech_plaintext - flagged plaintext? */
bool auth_client_mech_plaintext(const AUTH_CLIENT *ac, const char *mech)
{
    return auth_client_in(ac->plaintext, mech);
}

/* auth_client_begin - AUTH line */
int auth_client_begin(AUTH_CLIENT *ac, const char *mech, const AUTH_CLIENT_PARAMS *params,
                      const void *resp, size_t len, const char **error_r)
{
    int ret;

    if (ac->sp == NULL || ac->cur_id != 0) {
        *error_r = "auth client: a request is already in flight or the connection failed";
        return -1;
    }
    if (strpbrk(mech, "\t\n\r") != NULL || *mech == 0) {
        *error_r = "auth client: bad mechanism name";
        return -1;
    }
    ac->cur_id = ac->next_id++;
    vstring_fmt(ac->line, "AUTH\t%u\t%s\tservice=", ac->cur_id, mech);
    auth_proto_escape(ac->line, params && params->service ? params->service : "smtp");
    if (params && params->rip && auth_proto_valid_ip(params->rip))
        vstring_fmt_append(ac->line, "\trip=%s", params->rip);
    if (params && params->lip && auth_proto_valid_ip(params->lip))
        vstring_fmt_append(ac->line, "\tlip=%s", params->lip);
    if (params && params->secured)
        vstring_cat(ac->line, "\tsecured");
    if (resp != NULL) {
        vstring_cat(ac->line, "\tresp=");
        base64_encode(ac->line, resp, len);
    }
    ret = auth_client_send(ac->sp, ac->line, ac->err);
    vstring_wipe(ac->line);
    if (ret < 0)
        *error_r = STR(ac->err);
    return ret;
}

/* auth_client_continue - CONT line */
int auth_client_continue(AUTH_CLIENT *ac, const void *resp, size_t len, const char **error_r)
{
    int ret;

    if (ac->sp == NULL || ac->cur_id == 0) {
        *error_r = "auth client: no request in flight";
        return -1;
    }
    vstring_fmt(ac->line, "CONT\t%u\t", ac->cur_id);
    base64_encode(ac->line, resp, len);
    ret = auth_client_send(ac->sp, ac->line, ac->err);
    vstring_wipe(ac->line);
    if (ret < 0)
        *error_r = STR(ac->err);
    return ret;
}

/* auth_client_cancel - CANCEL line */
int auth_client_cancel(AUTH_CLIENT *ac, const char **error_r)
{
    if (ac->sp == NULL || ac->cur_id == 0)
        return 0;
    vstring_fmt(ac->line, "CANCEL\t%u", ac->cur_id);
    ac->cur_id = 0;
    if (auth_client_send(ac->sp, ac->line, ac->err) < 0) {
        *error_r = STR(ac->err);
        return -1;
    }
    return 0;
}

/* auth_client_reply - the server's answer to the current request */
int auth_client_reply(AUTH_CLIENT *ac, VSTRING *data, bool *temp_r, const char **error_r)
{
    const char *cmd, *val;
    unsigned id;

    *temp_r = false;
    vstring_reset(data);
    if (ac->sp == NULL || ac->cur_id == 0) {
        *error_r = "auth client: no request in flight";
        return -1;
    }
    if (auth_client_read(ac->sp, ac->line, ac->args, ac->err) < 0)
        goto fail;
    cmd = ac->args->argv[0];
    if (ac->args->argc < 2 || auth_proto_parse_id(ac->args->argv[1], &id) < 0
        || id != ac->cur_id) {
        vstring_fmt(ac->err, "auth server protocol error: unexpected reply \"%.40s\"", cmd);
        goto fail;
    }
    if (strcmp(cmd, "CONT") == 0) {
        val = ac->args->argc > 2 ? ac->args->argv[2] : "";
        if (base64_decode(data, val, strlen(val)) < 0) {
            vstring_set(ac->err, "auth server protocol error: bad base64 in CONT");
            goto fail;
        }
        return AUTH_CLIENT_CONT;
    }
    if (strcmp(cmd, "OK") == 0) {
        ac->ok_id = ac->cur_id;
        auth_client_last_id = ac->cur_id;
        ph_strlcpy(auth_client_last_cookie, ac->cookie, sizeof(auth_client_last_cookie));
        ac->cur_id = 0;
        if ((val = auth_proto_find(ac->args, 2, "user")) == NULL || *val == 0) {
            vstring_set(ac->err, "auth server protocol error: OK without user=");
            goto fail;
        }
        vstring_set(data, val);
        return AUTH_CLIENT_OK;
    }
    if (strcmp(cmd, "FAIL") == 0) {
        ac->cur_id = 0;
        if ((val = auth_proto_find(ac->args, 2, "reason")) != NULL)
            vstring_set(data, val);
        *temp_r = auth_proto_find(ac->args, 2, "temp") != NULL;
        return AUTH_CLIENT_FAIL;
    }
    vstring_fmt(ac->err, "auth server protocol error: unknown reply \"%.40s\"", cmd);
fail:
    stream_close(&ac->sp);
    *error_r = STR(ac->err);
    return -1;
}

/* auth_client_plain - PLAIN from start to finish */
int auth_client_plain(AUTH_CLIENT *ac, const AUTH_CLIENT_PARAMS *params, const char *user,
                      const char *password, VSTRING *data, bool *temp_r, const char **error_r)
{
    VSTRING *resp = vstring_alloc(100);
    int ret;

    vstring_addch(resp, 0);
    vstring_cat(resp, user);
    vstring_addch(resp, 0);
    vstring_cat(resp, password);
    ret = auth_client_begin(ac, "PLAIN", params, STR(resp), LEN(resp), error_r);
    vstring_wipe(resp);
    vstring_free(&resp);
    if (ret < 0)
        return -1;
    ret = auth_client_reply(ac, data, temp_r, error_r);
    if (ret == AUTH_CLIENT_CONT) {
        *error_r = "auth server asked for more data after a complete PLAIN response";
        auth_client_cancel(ac, error_r);
        return -1;
    }
    return ret;
}

/* auth_client_user_alloc - reply holder */
AUTH_CLIENT_USER *auth_client_user_alloc(void)
{
    AUTH_CLIENT_USER *u = mycalloc(1, sizeof(*u));

    u->user = vstring_alloc(64);
    u->home = vstring_alloc(64);
    u->extra = argv_alloc(2);
    u->uid = u->gid = -1;
    return u;
}

/* auth_client_user_free - release */
void auth_client_user_free(AUTH_CLIENT_USER **up)
{
    AUTH_CLIENT_USER *u = *up;

    if (u == NULL)
        return;
    vstring_free(&u->user);
    vstring_free(&u->home);
    argv_free(&u->extra);
    myfree(u);
    *up = NULL;
}

/* auth_client_number - a uid/gid value */
static bool auth_client_number(const char *text, long *val_r)
{
    char *end;
    long val;

    if (*text < '0' || *text > '9')
        return false;
    errno = 0;
    val = strtol(text, &end, 10);
    if (*end != 0 || errno != 0 || val > 2147483647L)
        return false;
    *val_r = val;
    return true;
}

/* auth_client_master - one USER or REQUEST on a userdb (master) socket:
 * request is the line after VERSION, with request id 1 */
static int auth_client_master(const char *path, VSTRING *request, int timeout,
                              AUTH_CLIENT_USER *reply, const char **error_r)
{
    static VSTRING *err;
    VSTRING *line = vstring_alloc(256);
    ARGV *args = argv_alloc(8);
    STREAM *sp = NULL;
    int fd, ret = -1;
    bool version_seen = false;

    if (err == NULL)
        err = vstring_alloc(100);
    vstring_reset(reply->user);
    vstring_reset(reply->home);
    argv_truncate(reply->extra, 0);
    reply->uid = reply->gid = -1;
    if ((fd = auth_client_unix_connect(path, err)) < 0)
        goto done;
    sp = stream_fdopen(fd, true);
    stream_set_timeout(sp, timeout);
    vstring_fmt(line, "VERSION\t%d\t%d\n%s", AUTH_PROTO_MAJOR, AUTH_PROTO_MINOR, STR(request));
    if (auth_client_send(sp, line, err) < 0)
        goto done;
    for (;;) {
        unsigned id;

        if (auth_client_read(sp, line, args, err) < 0)
            goto done;
        const char *cmd = args->argv[0];

        if (!version_seen) {
            if (strcmp(cmd, "VERSION") != 0 || args->argc < 3 || strcmp(args->argv[1], "1") != 0) {
                vstring_set(err, "userdb server did not answer VERSION 1");
                goto done;
            }
            version_seen = true;
            continue;
        }
        if (strcmp(cmd, "SPID") == 0)
            continue;
        if (args->argc < 2 || auth_proto_parse_id(args->argv[1], &id) < 0 || id != 1) {
            vstring_fmt(err, "userdb server protocol error: unexpected \"%.40s\"", cmd);
            goto done;
        }
        if (strcmp(cmd, "NOTFOUND") == 0) {
            ret = 0;
            goto done;
        }
        if (strcmp(cmd, "FAIL") == 0) {
            const char *reason = auth_proto_find(args, 2, "reason");

            vstring_fmt(err, "userdb lookup failed: %s", reason ? reason : "(no reason)");
            goto done;
        }
        if (strcmp(cmd, "USER") != 0 || args->argc < 3) {
            vstring_fmt(err, "userdb server protocol error: unexpected \"%.40s\"", cmd);
            goto done;
        }
        vstring_set(reply->user, args->argv[2]);
        for (int i = 3; i < args->argc; i++) {
            const char *a = args->argv[i];

            if (strncmp(a, "uid=", 4) == 0) {
                if (!auth_client_number(a + 4, &reply->uid)) {
                    vstring_set(err, "userdb server sent a bad uid");
                    goto done;
                }
            } else if (strncmp(a, "gid=", 4) == 0) {
                if (!auth_client_number(a + 4, &reply->gid)) {
                    vstring_set(err, "userdb server sent a bad gid");
                    goto done;
                }
            } else if (strncmp(a, "home=", 5) == 0) {
                vstring_set(reply->home, a + 5);
            } else {
                argv_add(reply->extra, a, (char *) 0);
            }
        }
        ret = 1;
        goto done;
    }
done:
    if (sp)
        stream_close(&sp);
    vstring_free(&line);
    argv_free(&args);
    if (ret < 0)
        *error_r = STR(err);
    return ret;
}

/* auth_client_userdb - one USER lookup */
int auth_client_userdb(const char *path, const char *user, const char *service, int timeout,
                       AUTH_CLIENT_USER *reply, const char **error_r)
{
    VSTRING *request;
    int ret;

    if (strpbrk(user, "\t\n\r") != NULL || *user == 0) {
        *error_r = "bad user name for a userdb lookup";
        return -1;
    }
    request = vstring_alloc(128);
    vstring_set(request, "USER\t1\t");
    auth_proto_escape(request, user);
    vstring_cat(request, "\tservice=");
    auth_proto_escape(request, service ? service : "lmtp");
    ret = auth_client_master(path, request, timeout, reply, error_r);
    vstring_free(&request);
    return ret;
}

/* auth_client_request - master REQUEST for a client's login */
int auth_client_request(const char *path, long client_pid, unsigned auth_id,
                        const char *cookie, int timeout, AUTH_CLIENT_USER *reply,
                        const char **error_r)
{
    VSTRING *request;
    int ret;

    if (client_pid <= 0 || auth_id == 0 || !auth_client_cookie_ok(cookie)) {
        *error_r = "bad client pid, request id or cookie for a master REQUEST";
        return -1;
    }
    request = vstring_alloc(128);
    vstring_fmt(request, "REQUEST\t1\t%ld\t%u\t%s", client_pid, auth_id, cookie);
    ret = auth_client_master(path, request, timeout, reply, error_r);
    vstring_free(&request);
    return ret;
}

/* auth_client_xrequest - Posthorn-internal: claim a login record of the
 * auth process (used by its own auth-userdb process) */
int auth_client_xrequest(AUTH_CLIENT *ac, unsigned long client_pid, unsigned auth_id,
                         const char *cookie, VSTRING *user, ARGV *fields,
                         const char **error_r)
{
    const char *cmd, *reason;

    vstring_reset(user);
    argv_truncate(fields, 0);
    if (ac->sp == NULL || ac->cur_id != 0 || !auth_client_cookie_ok(cookie)) {
        *error_r = "auth client: connection busy or bad cookie";
        return -1;
    }
    vstring_fmt(ac->line, "XREQUEST\t%lu\t%u\t%s", client_pid, auth_id, cookie);
    if (auth_client_send(ac->sp, ac->line, ac->err) < 0
        || auth_client_read(ac->sp, ac->line, ac->args, ac->err) < 0)
        goto fail;
    cmd = ac->args->argv[0];
    if (strcmp(cmd, "XUSER") == 0 && ac->args->argc >= 2 && *ac->args->argv[1]) {
        vstring_set(user, ac->args->argv[1]);
        for (int i = 2; i < ac->args->argc; i++)
            argv_add(fields, ac->args->argv[i], (char *) 0);
        return 1;
    }
    if (strcmp(cmd, "XFAIL") == 0) {
        reason = auth_proto_find(ac->args, 1, "reason");
        vstring_set(user, reason ? reason : "");
        return 0;
    }
    vstring_fmt(ac->err, "auth server protocol error: unexpected \"%.40s\"", cmd);
fail:
    stream_close(&ac->sp);
    *error_r = STR(ac->err);
    return -1;
}
