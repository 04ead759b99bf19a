/* login_split.c - the login split of imapd and pop3d when they start as
 * root, and the pre-login helpers both daemons share.
 *
 * The single-server process (root) forks a pre-login child for each
 * connection. The child drops to login_user at once, then speaks the
 * protocol's pre-auth state (TLS, capabilities, logins against the auth
 * service). When the auth service says OK it reports to the parent over a
 * socketpair, one line
 *     tag TAB user TAB mechanism TAB tls(0|1) TAB cookie TAB auth-id TAB
 *     leftover-length LF
 * (cookie: the auth server's COOKIE for the child's auth connection;
 * auth-id: the id of the request it answered OK)
 * followed by the client bytes it had read past the login command. Then:
 *   - no TLS: the child exits; the parent still holds the client socket
 *     (inherited across fork, never read by it) and serves it directly;
 *   - TLS: the child stays as a proxy between the TLS connection and the
 *     socketpair, and the parent serves the plaintext side.
 * The parent reads nothing from the network before it has looked the
 * user up in the auth service's userdb and dropped to the user's uid/gid
 * for good (login_split_user); uid/gid 0 are refused. After the session
 * the parent exits: it is no longer root and cannot split again.
 *
 * Trust: the parent believes nothing in the report but the bytes to
 * replay. It sends the auth service's userdb socket a master REQUEST
 * with the child's pid (as fork returned it, not as the child says),
 * the cookie and the request id; the auth service answers with the
 * user's userdb data only when that connection of that process really
 * authenticated that request (once, within a minute). A claimed user
 * other than the confirmed one is refused and logged. So a compromised
 * pre-login process can log in only as users whose passwords it has.
 *
 * Limits: the report line is at most 1024 bytes, leftover at most 1 MiB;
 * the parent waits at most login_timeout + 60 s for the report.
 */
#include "sys_defs.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "argv.h"
#include "auth_proto.h"
#include "base64_code.h"
#include "config.h"
#include "iostuff.h"
#include "login_split.h"
#include "login_userip.h"
#include "msg.h"
#include "mymalloc.h"
#include "privs.h"
#include "server.h"

#define LOGIN_SPLIT_MAX_LEFT	(1024 * 1024)

static int login_split_fd = -1;		/* child: report socket */
static pid_t login_split_pid;		/* parent: the child */
static STREAM *login_split_client;	/* parent: the client stream */
static bool login_split_dropped;	/* parent: gave up root */
static LOGIN_HANDOVER *login_split_cur;	/* parent: the report being served */

/* login_split_parse_report - the report line (LF removed) */
LOGIN_HANDOVER *login_split_parse_report(const char *line, const char **error_r)
{
    ARGV   *f = argv_split(line, "\t");
    LOGIN_HANDOVER *h;
    unsigned long left = 0;
    unsigned auth_id;
    const char *cp;

    if (f->argc != 7) {
	*error_r = "wrong number of fields";
	argv_free(&f);
	return NULL;
    }
    /* digits only: no sign, space or wrap-around as strtoul would take */
    for (cp = f->argv[6]; *cp >= '0' && *cp <= '9' && left <= LOGIN_SPLIT_MAX_LEFT; cp++)
	left = left * 10 + (unsigned long) (*cp - '0');
    if (*cp || cp == f->argv[6] || left > LOGIN_SPLIT_MAX_LEFT) {
	*error_r = "bad leftover length";
	argv_free(&f);
	return NULL;
    }
    if (strcmp(f->argv[3], "0") != 0 && strcmp(f->argv[3], "1") != 0) {
	*error_r = "bad TLS flag";
	argv_free(&f);
	return NULL;
    }
    if (!auth_client_cookie_ok(f->argv[4])) {
	*error_r = "bad cookie";
	argv_free(&f);
	return NULL;
    }
    if (auth_proto_parse_id(f->argv[5], &auth_id) < 0) {
	*error_r = "bad request id";
	argv_free(&f);
	return NULL;
    }
    h = mymalloc(sizeof(*h));
    h->pid = 0;
    h->cookie = mystrdup(f->argv[4]);
    h->auth_id = auth_id;
    h->tag = mystrdup(f->argv[0]);
    h->user = mystrdup(f->argv[1]);
    h->mech = mystrdup(f->argv[2]);
    h->tls = f->argv[3][0] == '1';
    h->left_len = left;
    h->left_pos = 0;
    h->left = mymalloc(left + 1);
    argv_free(&f);
    return h;
}

/* login_post_field_ok - a hand-over field: no separator, CR or LF */
static bool login_post_field_ok(const char *f, bool may_be_empty)
{
    return f != NULL && (may_be_empty || *f) && strpbrk(f, "\t\r\n") == NULL;
}

/* login_post_format - the post-login hand-over line */
bool    login_post_format(VSTRING *out, const LOGIN_POST *p)
{
    const char *must[] = {p->tag, p->user, p->mech, p->rip, p->lip, p->mail};

    vstring_reset(out);
    for (size_t i = 0; i < PH_ARRAY_LEN(must); i++)
	if (!login_post_field_ok(must[i], false))
	    return false;
    if (!login_post_field_ok(p->home, true) || p->left_len > LOGIN_POST_MAX_LEFT)
	return false;
    vstring_fmt(out, "POST1\t%s\t%s\t%s\t%d\t%d\t%s\t%s\t%s\t%s\t%zu\n", p->tag, p->user,
		p->mech, p->tls ? 1 : 0, p->secured ? 1 : 0, p->rip, p->lip, p->home, p->mail,
		p->left_len);
    return LEN(out) <= LOGIN_POST_MAX_LINE;
}

/* login_post_parse - parse a post-login hand-over line */
LOGIN_POST *login_post_parse(const char *line, const char **error_r)
{
    size_t  len = strlen(line), left = 0;
    LOGIN_POST *p;
    char   *f[11], *cp;
    int     n = 0;

    if (len > LOGIN_POST_MAX_LINE) {
	*error_r = "line too long";
	return NULL;
    }
    if (strpbrk(line, "\r\n") != NULL) {
	*error_r = "CR or LF in a field";
	return NULL;
    }
    /* one block: the struct, then the line, split in place (empty
     * fields kept: home may be empty) */
    p = mymalloc(sizeof(*p) + len + 1);
    memset(p, 0, sizeof(*p));
    cp = memcpy((char *) (p + 1), line, len + 1);
    for (;;) {
	char   *tab = strchr(cp, '\t');

	if (n == (int) PH_ARRAY_LEN(f))
	    goto bad_count;
	f[n++] = cp;
	if (tab == NULL)
	    break;
	*tab = 0;
	cp = tab + 1;
    }
    if (n != (int) PH_ARRAY_LEN(f))
	goto bad_count;
    if (strcmp(f[0], "POST1") != 0) {
	*error_r = "unknown hand-over version";
	goto bad;
    }
    for (int i = 1; i <= 9; i++) {
	if (*f[i] == 0 && i != 8) {
	    *error_r = "empty field";
	    goto bad;
	}
    }
    if ((strcmp(f[4], "0") != 0 && strcmp(f[4], "1") != 0)
	|| (strcmp(f[5], "0") != 0 && strcmp(f[5], "1") != 0)) {
	*error_r = "bad flag";
	goto bad;
    }
    /* digits only, no leading zero: no sign, space or wrap-around as
     * strtoul would take, and one spelling per number */
    for (cp = f[10]; *cp >= '0' && *cp <= '9' && left <= LOGIN_POST_MAX_LEFT; cp++)
	left = left * 10 + (size_t) (*cp - '0');
    if (*cp || cp == f[10] || left > LOGIN_POST_MAX_LEFT || (f[10][0] == '0' && f[10][1])) {
	*error_r = "bad leftover length";
	goto bad;
    }
    p->tag = f[1];
    p->user = f[2];
    p->mech = f[3];
    p->tls = f[4][0] == '1';
    p->secured = f[5][0] == '1';
    p->rip = f[6];
    p->lip = f[7];
    p->home = f[8];
    p->mail = f[9];
    p->left_len = left;
    return p;

bad_count:
    *error_r = "wrong number of fields";
bad:
    myfree(p);
    return NULL;
}

/* login_post_free - release a parsed hand-over line */
void    login_post_free(LOGIN_POST **pp)
{
    if (*pp)
	myfree(*pp);
    *pp = NULL;
}

/* login_split_handover_free - release a parsed report */
void    login_split_handover_free(LOGIN_HANDOVER **hp)
{
    LOGIN_HANDOVER *h = *hp;

    if (h) {
	myfree(h->tag);
	myfree(h->user);
	myfree(h->mech);
	myfree(h->cookie);
	myfree(h->left);
	myfree(h);
    }
    *hp = NULL;
}

/* login_split - fork the pre-login child; in the parent, wait for its
 * report and return the stream to serve (NULL: no login happened) */
STREAM *login_split(STREAM *client, login_split_prelogin_fn prelogin, void *ctx,
		    LOGIN_HANDOVER **h_r)
{
    int     sv[2];
    STREAM *ctl;
    VSTRING *line;
    LOGIN_HANDOVER *h;
    const char *err;
    pid_t   child;

    *h_r = NULL;
    /* TLS proxies of sessions handed to a post-login server */
    while (waitpid(-1, NULL, WNOHANG) > 0)
	 /* void */ ;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
	msg_warn("socketpair: %m");
	return NULL;
    }
    if ((login_split_pid = fork()) < 0) {
	msg_warn("fork: %m");
	close(sv[0]);
	close(sv[1]);
	return NULL;
    }
    if (login_split_pid == 0) {
	close(sv[0]);
	if (stream_fd(client) != MASTER_LISTEN_FD)
	    server_close_listeners();
	if (stream_fd(client) != MASTER_STATUS_FD)
	    close(MASTER_STATUS_FD);
	privs_drop_user(var_login_user);
	login_split_fd = sv[1];
	prelogin(client, ctx);
	_exit(0);
    }
    close(sv[1]);
    login_split_client = client;
    ctl = stream_fdopen(sv[0], true);
    stream_set_timeout(ctl, (int) var_login_timeout + 60);
    line = vstring_alloc(128);
    if (stream_getline(ctl, line, 1024, NULL) < 0) {
	vstring_free(&line);
	stream_close(&ctl);
	waitpid(login_split_pid, NULL, 0);
	login_split_pid = 0;
	return NULL;				/* logged out or gave up */
    }
    vstring_chomp(line);
    if ((h = login_split_parse_report(STR(line), &err)) == NULL) {
	msg_warn("pre-login process sent a bad report: %s", err);
	vstring_free(&line);
	stream_close(&ctl);
	kill(login_split_pid, SIGKILL);
	waitpid(login_split_pid, NULL, 0);
	login_split_pid = 0;
	return NULL;
    }
    child = login_split_pid;
    h->pid = (long) child;
    if (h->left_len > 0 && stream_read(ctl, h->left, h->left_len) != (ssize_t) h->left_len)
	h->left_len = 0;
    /* what the proxy already passed on is part of the leftover too, so
     * that the hand-over holds every unparsed client byte */
    if (h->tls && stream_pending(ctl) > 0) {
	size_t  more = stream_pending(ctl);

	h->left = myrealloc(h->left, h->left_len + more + 1);
	if (stream_read(ctl, h->left + h->left_len, more) == (ssize_t) more)
	    h->left_len += more;
    }
    vstring_free(&line);
    *h_r = login_split_cur = h;
    if (h->tls)
	return ctl;				/* plaintext side of the proxy */
    stream_close(&ctl);
    waitpid(login_split_pid, NULL, 0);
    login_split_pid = 0;
    return client;
}

/* login_split_feed_read - stream read hook: leftover, then the socket */
static ssize_t login_split_feed_read(STREAM *sp, void *buf, size_t len, void *ctx,
				     bool *want_write)
{
    LOGIN_HANDOVER *h = ctx;

    (void) want_write;
    if (h->left_pos < h->left_len) {
	size_t  n = h->left_len - h->left_pos < len ? h->left_len - h->left_pos : len;

	memcpy(buf, h->left + h->left_pos, n);
	h->left_pos += n;
	return (ssize_t) n;
    }
    return read(stream_fd(sp), buf, len);
}

/* login_split_feed - leftover bytes first on post's reads */
void    login_split_feed(STREAM *post, LOGIN_HANDOVER *h)
{
    if (h->left_pos < h->left_len)
	stream_set_io(post, login_split_feed_read, NULL, h);
}

/* login_split_active - a pre-login child that must hand over */
bool    login_split_active(void)
{
    return login_split_fd >= 0;
}

/* login_split_done - release the hand-over; reap the proxy; exit when
 * root was given up */
void    login_split_done(STREAM **postp, LOGIN_HANDOVER **hp)
{
    bool    direct = *postp == login_split_client;

    if (!direct)
	stream_close(postp);
    *postp = NULL;
    if (login_split_pid > 0)
	waitpid(login_split_pid, NULL, 0);
    login_split_pid = 0;
    login_split_handover_free(hp);
    login_split_cur = NULL;
    if (login_split_dropped) {
	STREAM *client = login_split_client;

	/* the last reply reaches the client before we go */
	if (direct && stream_flush(client) == 0)
	    iostuff_linger_close(stream_fd(client), 2000, 1024 * 1024);
	stream_close(&client);
	exit(0);
    }
}

/* login_split_proxy - copy between the TLS client and the socketpair */
static void login_split_proxy(STREAM *client, int idle_timeout)
{
    char    buf[16384];
    int     cfd = stream_fd(client);

    stream_set_timeout(client, idle_timeout);
    for (;;) {
	struct pollfd p[2] = {{.fd = cfd, .events = POLLIN}, {.fd = login_split_fd, .events = POLLIN}};

	if (stream_pending(client) == 0 && poll(p, 2, idle_timeout * 1000) <= 0)
	    break;
	if (stream_pending(client) > 0 || (p[0].revents & (POLLIN | POLLHUP | POLLERR))) {
	    ssize_t n = stream_read_some(client, buf, sizeof(buf));

	    if (n <= 0 || iostuff_write_all(login_split_fd, buf, (size_t) n) < 0)
		break;
	}
	if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
	    ssize_t n = read(login_split_fd, buf, sizeof(buf));

	    if (n <= 0 || stream_write(client, buf, (size_t) n) < 0 || stream_flush(client) < 0)
		break;
	}
    }
}

/* login_split_handover - report the login to the parent (child side) */
void    login_split_handover(STREAM *client, TLS_SESSION **tls, const char *tag,
			     const char *user, const char *mech,
			     const char *left, size_t left_len, int idle_timeout)
{
    VSTRING *rest = vstring_alloc(256), *hdr = vstring_alloc(128);
    char    buf[4096];
    const char *cookie;
    unsigned auth_id;

    if (strpbrk(user, "\t\r\n") != NULL || strlen(user) > 512 || *user == 0
	|| strpbrk(tag, "\t\r\n") != NULL || *tag == 0 || strpbrk(mech, "\t\r\n") != NULL) {
	msg_warn("user name unusable for the post-login hand-over");
	_exit(1);
    }
    if (!auth_client_last_login(&cookie, &auth_id)) {
	msg_warn("%s: the auth service gave no usable cookie: cannot hand the login over", user);
	_exit(1);
    }
    vstring_catn(rest, left, left_len);
    while (stream_pending(client) > 0 && LEN(rest) < LOGIN_SPLIT_MAX_LEFT) {
	ssize_t n = stream_read_some(client, buf, sizeof(buf));

	if (n <= 0)
	    break;
	vstring_catn(rest, buf, (size_t) n);
    }
    if (LEN(rest) > LOGIN_SPLIT_MAX_LEFT)
	vstring_truncate(rest, LOGIN_SPLIT_MAX_LEFT);
    vstring_fmt(hdr, "%s\t%s\t%s\t%d\t%s\t%u\t%zu\n", tag, user, mech, tls && *tls ? 1 : 0,
		cookie, auth_id, LEN(rest));
    if (iostuff_write_all(login_split_fd, STR(hdr), LEN(hdr)) < 0
	|| iostuff_write_all(login_split_fd, STR(rest), LEN(rest)) < 0)
	_exit(1);
    if (tls && *tls) {
	login_split_proxy(client, idle_timeout);
	tls_session_stop(tls);
    }
    _exit(0);
}

/* login_split_release - the session went on to a post-login server */
void    login_split_release(STREAM **postp, LOGIN_HANDOVER **hp)
{
    if (*postp != login_split_client)
	stream_close(postp);
    *postp = NULL;
    login_split_pid = 0;			/* a TLS proxy: reaped later */
    login_split_handover_free(hp);
    login_split_cur = NULL;
}

/* login_split_become - the post-login side: the user's uid/gid for good */
void    login_split_become(const AUTH_CLIENT_USER *u)
{
    login_userip_prepare();
    login_split_dropped = true;
    privs_drop((uid_t) u->uid, (gid_t) u->gid);
}

/* login_split_user - userdb lookup; as root, become the user for good */
int     login_split_user(const char *user, const char *service, AUTH_CLIENT_USER *u,
			 const char **error_r)
{
    if (login_split_lookup(user, service, u, error_r) < 0)
	return -1;
    if (geteuid() == 0)
	login_split_become(u);
    return 0;
}

/* login_split_lookup - userdb lookup (confirmed by the auth service) */
int     login_split_lookup(const char *user, const char *service, AUTH_CLIENT_USER *u,
			   const char **error_r)
{
    VSTRING *path = vstring_alloc(128);
    LOGIN_HANDOVER *h = login_split_cur;
    bool    root = geteuid() == 0;
    int     r;

    vstring_fmt(path, "%s/private/auth-userdb", var_queue_directory);
    if (root && h == NULL) {
	vstring_free(&path);
	*error_r = "no pre-login hand-over to confirm";
	return -1;
    }
    if (root)
	r = auth_client_request(STR(path), h->pid, h->auth_id, h->cookie, 30, u, error_r);
    else
	r = auth_client_userdb(STR(path), user, service, 30, u, error_r);
    vstring_free(&path);
    if (r <= 0) {
	if (r == 0)
	    *error_r = root ? "the auth service does not confirm the login"
		: "user not found in userdb";
	return -1;
    }
    if (root && (strcmp(STR(u->user), user) != 0 || strcmp(STR(u->user), h->user) != 0)) {
	msg_warn("pre-login process %ld claimed user %s, but the auth service confirmed %s: "
		 "login refused", h->pid, user, STR(u->user));
	*error_r = "claimed user differs from the authenticated one";
	return -1;
    }
    if (root) {
	/* the post-login side of the split: become the mail user for good */
	if (u->uid <= 0 || u->gid <= 0) {
	    *error_r = "userdb gives no uid/gid, or uid/gid 0";
	    return -1;
	}
    } else if (u->uid >= 0 && (uid_t) u->uid != geteuid()) {
	/* unprivileged instance: everything runs as one user */
	msg_warn("%s: userdb uid %ld differs from ours (%ld); serving as %ld",
		 user, u->uid, (long) geteuid(), (long) geteuid());
    }
    return 0;
}

/* login_mail_location - the userdb's mail= field or mail_location */
const char *login_mail_location(const AUTH_CLIENT_USER *u)
{
    for (int i = 0; i < u->extra->argc; i++)
	if (strncmp(u->extra->argv[i], "mail=", 5) == 0)
	    return u->extra->argv[i] + 5;
    return var_mail_location;
}

/* login_address - text form of one end of fd; loopback test */
static void login_address(int fd, bool peer, char *buf, size_t len, bool *loopback_r)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    int     rc = peer ? getpeername(fd, (struct sockaddr *) &ss, &sl)
    : getsockname(fd, (struct sockaddr *) &ss, &sl);

    ph_strlcpy(buf, "127.0.0.1", len);		/* -S stand-alone: a socketpair */
    *loopback_r = true;
    if (rc < 0)
	return;
    if (ss.ss_family == AF_INET) {
	struct sockaddr_in *sin = (struct sockaddr_in *) &ss;

	inet_ntop(AF_INET, &sin->sin_addr, buf, (socklen_t) len);
	*loopback_r = (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
    } else if (ss.ss_family == AF_INET6) {
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *) &ss;

	inet_ntop(AF_INET6, &sin6->sin6_addr, buf, (socklen_t) len);
	*loopback_r = IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr);
    }
}

/* login_peer_addresses - client and local address, client on loopback */
void    login_peer_addresses(int fd, char *rip, char *lip, size_t len, bool *loopback_r)
{
    bool    ignored;

    login_address(fd, true, rip, len, loopback_r);
    login_address(fd, false, lip, len, &ignored);
}

/* login_plaintext_ok - may a plaintext password be used now */
bool    login_plaintext_ok(bool tls, bool secured)
{
    if (tls)
	return true;
    if (strcasecmp(var_ssl, "required") == 0)
	return false;
    return !var_disable_plaintext_auth || secured;
}

/* login_auth_connect - connect to the auth service */
AUTH_CLIENT *login_auth_connect(const char **error_r)
{
    VSTRING *path = vstring_alloc(128);
    AUTH_CLIENT *ac;

    vstring_fmt(path, "%s/private/auth", var_queue_directory);
    ac = auth_client_connect(STR(path), 30, error_r);
    vstring_free(&path);
    return ac;
}

/* login_sasl - one SASL exchange between the client and the auth service */
int     login_sasl(AUTH_CLIENT *ac, const char *mech, const AUTH_CLIENT_PARAMS *params,
		   VSTRING *resp, login_sasl_io_fn io, void *ctx, VSTRING *data,
		   bool *temp_r, const char **error_r)
{
    VSTRING *line = vstring_alloc(64), *enc = vstring_alloc(64);
    int     r;

    r = auth_client_begin(ac, mech, params, resp ? STR(resp) : NULL, resp ? LEN(resp) : 0,
			  error_r);
    if (resp)
	vstring_wipe(resp);
    while (r == 0 && (r = auth_client_reply(ac, data, temp_r, error_r)) == AUTH_CLIENT_CONT) {
	int     lr;

	vstring_reset(enc);
	base64_encode(enc, STR(data), LEN(data));
	if ((lr = io(ctx, STR(enc), line)) < 0) {
	    r = lr == -2 ? LOGIN_SASL_TOO_LONG : LOGIN_SASL_DISCONNECTED;
	    break;
	}
	if (strcmp(STR(line), "*") == 0) {
	    r = LOGIN_SASL_ABORTED;
	    break;
	}
	vstring_reset(data);
	if (base64_decode(data, STR(line), LEN(line)) < 0) {
	    r = LOGIN_SASL_BAD_BASE64;
	    break;
	}
	vstring_wipe(line);
	r = auth_client_continue(ac, STR(data), LEN(data), error_r);
	vstring_wipe(data);
    }
    vstring_wipe(line);
    vstring_free(&line);
    vstring_free(&enc);
    return r;
}

/* login_tls_init - the server TLS context (NULL: TLS off) */
TLS_SERVER_CTX *login_tls_init(const char *service, const char *wrapper_param,
			       bool wrappermode)
{
    TLS_SERVER_PARAMS tp;
    TLS_SERVER_CTX *ctx;
    const char *err;
    VSTRING *proto;

    if (strcasecmp(var_ssl, "no") != 0 && strcasecmp(var_ssl, "yes") != 0
	&& strcasecmp(var_ssl, "required") != 0)
	msg_fatal("ssl: invalid value \"%s\" (no, yes or required)", var_ssl);
    if (strcasecmp(var_ssl, "no") == 0 || *var_ssl_cert == 0) {
	if (strcasecmp(var_ssl, "required") == 0)
	    msg_fatal("ssl = required, but ssl_cert is not set");
	if (wrappermode)
	    msg_fatal("service %s: %s = yes needs ssl = yes and ssl_cert", service,
		      wrapper_param);
	return NULL;
    }
    memset(&tp, 0, sizeof(tp));
    proto = vstring_alloc(32);
    vstring_fmt(proto, ">=%s", var_ssl_min_protocol);
    tp.cert_file = var_ssl_cert;
    tp.key_file = *var_ssl_key ? var_ssl_key : var_ssl_cert;
    tp.protocols = STR(proto);
    tp.session_timeout = 3600;
    if ((ctx = tls_server_init(&tp, &err)) == NULL)
	msg_fatal("TLS setup (ssl_cert %s): %s", var_ssl_cert, err);
    vstring_free(&proto);
    return ctx;
}
