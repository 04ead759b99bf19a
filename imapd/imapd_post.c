/* imapd_post - post-login servers: one process serves up to
 * imapd_client_limit IMAP sessions of users with the same uid/gid.
 *
 * Finding one: a post-login server listens on a Linux abstract UNIX
 * socket named after the instance (a hash of queue_directory) and its
 * uid/gid. The root imapd process that has a confirmed login connects to
 * it; when nobody listens it binds the name itself (as root) and forks the
 * server, which becomes the uid/gid for good. Two roots racing for the name
 * both end up at the one that bound it.
 *
 * Trust: the server accepts only root peers (SO_PEERCRED); the root side
 * hands a session over only to a peer running as exactly the target
 * uid/gid (the credentials of whoever called listen(), so the server
 * listens only after it has become the user). A local user who takes the name first thus can only ever
 * receive sessions of its own uid, whose mail it can read anyway. (An
 * abstract name needs no directory and leaves no stale file after a
 * crash; that is why it is not a file in a root-only directory.)
 *
 * Hand-over: one message carrying the client's socket (SCM_RIGHTS: the
 * client's TCP connection, or the pre-login process's TLS proxy socket)
 * and the line of login_post_format() (lib/login_split.c), then the
 * bytes the client sent past its login command. The server answers "OK" when it
 * took the session or "FULL"; on anything else the root process serves
 * the session itself as before (becomes the user and exits after it).
 *
 * Life of a server: it stops listening when it has imapd_client_limit
 * sessions (the next login starts another server) and then exits when
 * its last session ends; while listening it exits after max_idle
 * seconds without sessions. When master closes the status pipe (reload
 * or stop) it stops listening; its sessions go on while master lives
 * (reload: new logins get new servers with the new configuration) and
 * end with "* BYE Server shutting down." once master is gone (stop).
 *
 * Limits: imapd_client_limit sessions; file descriptors raised to the
 * hard limit; a hand-over must arrive within 5 seconds.
 */
#include "sys_defs.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "imapd.h"
#include "iostuff.h"
#include "login_userip.h"
#include "msg.h"
#include "mymalloc.h"
#include "privs.h"
#include "server.h"

#define POST_IO_TIMEOUT	5

/* imapd_post_addr - the abstract socket address of uid/gid's server */
static socklen_t imapd_post_addr(struct sockaddr_un *sun, long uid, long gid)
{
    uint64_t h = 1469598103934665603ULL;	/* FNV-1a of queue_directory */
    int     n;

    for (const char *p = var_queue_directory; *p; p++) {
	h ^= (unsigned char) *p;
	h *= 1099511628211ULL;
    }
    memset(sun, 0, sizeof(*sun));
    sun->sun_family = AF_UNIX;
    n = snprintf(sun->sun_path + 1, sizeof(sun->sun_path) - 1, "posthorn/imap-post/%016llx/%ld.%ld",
		 (unsigned long long) h, uid, gid);
    return (socklen_t) (offsetof(struct sockaddr_un, sun_path) + 1 + (size_t) n);
}

/* ------------------------------------------------------------------ */
/* The post-login server. */

static IMAPD_SESSION **post_sess;
static size_t post_count, post_size;
static int post_listen_fd = -1;
static pid_t post_master_pid;
static bool post_master_lost;		/* status pipe closed */
static time_t post_swept;		/* second of the last timer sweep */

/* post_stop_listening - no new sessions here (full, idle, or reload) */
static void post_stop_listening(const char *why)
{
    if (post_listen_fd >= 0) {
	msg_info("post-login server: not listening any more: %s", why);
	(void) close(post_listen_fd);
	post_listen_fd = -1;
    }
}

/* post_end - end and remove session i */
static void post_end(size_t i)
{
    IMAPD_SESSION *s = post_sess[i];
    STREAM *client = s->client;

    /* the last replies (BYE) get a short chance to go out */
    for (int tries = 0; !s->dead && tries < 10 && LEN(s->out) > s->out_pos; tries++) {
	struct pollfd pfd = {.fd = stream_fd(client), .events = POLLOUT};

	if (poll(&pfd, 1, 100) > 0)
	    imapd_flush(s);
    }
    msg_info("disconnect from [%s]%s%s", s->rip, s->user ? " user=" : "", s->user ? s->user : "");
    imapd_session_free(&s);
    stream_close(&client);
    post_sess[i] = post_sess[--post_count];
}

/* post_read_handover - read a hand-over from a root imapd process:
 * *fd_r the client socket, the parsed line in *post_r, the leftover
 * bytes in left; 0 or -1 */
static int post_read_handover(int cfd, int *fd_r, LOGIN_POST **post_r, VSTRING *left)
{
    char    buf[4096];
    char    cbuf[CMSG_SPACE(sizeof(int))];
    struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf)};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
	.msg_controllen = sizeof(cbuf)};
    struct cmsghdr *cm;
    VSTRING *line = vstring_alloc(256);
    const char *err;
    char   *nl;
    ssize_t n;

    *fd_r = -1;
    *post_r = NULL;
    if ((n = recvmsg(cfd, &mh, MSG_CMSG_CLOEXEC)) <= 0)
	goto bad;
    if ((cm = CMSG_FIRSTHDR(&mh)) != NULL && cm->cmsg_level == SOL_SOCKET
	&& cm->cmsg_type == SCM_RIGHTS && cm->cmsg_len == CMSG_LEN(sizeof(int)))
	memcpy(fd_r, CMSG_DATA(cm), sizeof(int));
    if (*fd_r < 0 || (mh.msg_flags & MSG_CTRUNC))
	goto bad;
    vstring_catn(line, buf, (size_t) n);
    while ((nl = memchr(STR(line), '\n', LEN(line))) == NULL) {
	if (LEN(line) > LOGIN_POST_MAX_LINE || (n = read(cfd, buf, sizeof(buf))) <= 0)
	    goto bad;
	vstring_catn(line, buf, (size_t) n);
    }
    vstring_catn(left, nl + 1, (size_t) (STR(line) + LEN(line) - nl - 1));
    vstring_truncate(line, (size_t) (nl - STR(line)));
    if (memchr(STR(line), 0, LEN(line)) != NULL
	|| (*post_r = login_post_parse(STR(line), &err)) == NULL || LEN(left) > (*post_r)->left_len)
	goto bad;
    while (LEN(left) < (*post_r)->left_len) {
	size_t  want = (*post_r)->left_len - LEN(left);

	if ((n = read(cfd, buf, want < sizeof(buf) ? want : sizeof(buf))) <= 0)
	    goto bad;
	vstring_catn(left, buf, (size_t) n);
    }
    vstring_free(&line);
    return 0;

bad:
    vstring_free(&line);
    if (*fd_r >= 0)
	(void) close(*fd_r);
    *fd_r = -1;
    login_post_free(post_r);
    return -1;
}

/* post_start_session - the authenticated state of a handed-over session */
static void post_start_session(int fd, const LOGIN_POST *p, VSTRING *left)
{
    IMAPD_SESSION *s;

    s = imapd_session_create(stream_fdopen(fd, true), p->rip, p->lip, p->secured);
    s->tls = p->tls;
    s->nonblock = true;
    (void) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    vstring_catn(s->inbuf, STR(left), LEN(left));
    if (post_count == post_size) {
	post_size = post_size ? post_size * 2 : 64;
	post_sess = myrealloc(post_sess, post_size * sizeof(*post_sess));
    }
    post_sess[post_count++] = s;
    if (imapd_start_session(s, p->tag, p->user, p->mech, *p->home ? p->home : NULL,
			    p->mail) < 0)
	imapd_flush(s);
    else
	(void) imapd_input(s);
}

/* post_accept - take one hand-over from the listening socket */
static void post_accept(void)
{
    struct ucred cred;
    socklen_t len = sizeof(cred);
    struct timeval tv = {.tv_sec = POST_IO_TIMEOUT};
    VSTRING *left;
    LOGIN_POST *post = NULL;
    int     cfd, fd;

    if ((cfd = accept4(post_listen_fd, NULL, NULL, SOCK_CLOEXEC)) < 0) {
	if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED)
	    msg_warn("post-login server: accept: %m");
	return;
    }
    if (getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || cred.uid != 0) {
	msg_warn("post-login server: refusing a hand-over from uid %ld (not root)",
		 len == sizeof(cred) ? (long) cred.uid : -1L);
	(void) close(cfd);
	return;
    }
    (void) setsockopt(cfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    (void) setsockopt(cfd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    left = vstring_alloc(256);
    if (post_read_handover(cfd, &fd, &post, left) < 0) {
	msg_warn("post-login server: bad hand-over from pid %ld", (long) cred.pid);
    } else if (post_count >= (size_t) var_imapd_client_limit) {
	(void) iostuff_write_all(cfd, "FULL\n", 5);
	(void) close(fd);
    } else if (iostuff_write_all(cfd, "OK\n", 3) < 0) {
	(void) close(fd);			/* root serves it after all */
    } else {
	post_start_session(fd, post, left);
    }
    login_post_free(&post);
    vstring_free(&left);
    (void) close(cfd);
    if (post_count >= (size_t) var_imapd_client_limit)
	post_stop_listening("imapd_client_limit reached");
}

/* post_master_gone - master has exited (not merely reloaded) */
static bool post_master_gone(void)
{
    return kill(post_master_pid, 0) < 0 && errno == ESRCH;
}

/* imapd_post_server - the server's loop (never returns) */
static PH_NORETURN void imapd_post_server(long uid, long gid, int ready_fd)
{
    time_t  idle_since = time(NULL);
    struct pollfd *pfd = NULL;
    size_t  pfd_size = 0;
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
	rl.rlim_cur = rl.rlim_max > 1048576 ? 1048576 : rl.rlim_max;
	(void) setrlimit(RLIMIT_NOFILE, &rl);
    }
    login_userip_prepare();		/* anvil is out of the user's reach */
    privs_drop((uid_t) uid, (gid_t) gid);
    if (imapd_tls_ctx)
	tls_server_free(&imapd_tls_ctx);	/* TLS stays in pre-login */
    /* listen only now: connecting peers see the credentials of the
     * process that called listen(), which must be the user's */
    if (listen(post_listen_fd, 128) < 0)
	msg_fatal("post-login server: listen: %m");
    (void) close(ready_fd);
    msg_info("post-login server for uid %ld gid %ld: started", uid, gid);
    for (;;) {
	size_t  base = 3, n;
	int     timeout = -1, r;
	bool    sweep;
	time_t  now = time(NULL);

	if (pfd_size < post_count + base) {
	    pfd_size = (post_count + base) * 2;
	    pfd = myrealloc(pfd, pfd_size * sizeof(*pfd));
	}
	pfd[0].fd = post_listen_fd;
	pfd[0].events = POLLIN;
	pfd[1].fd = post_master_lost ? -1 : MASTER_STATUS_FD;
	pfd[1].events = 0;
	pfd[2].fd = imapd_idle_fd();		/* IDLE's inotify */
	pfd[2].events = POLLIN;
	for (n = 0; n < post_count; n++) {
	    pfd[base + n].fd = stream_fd(post_sess[n]->client);
	    pfd[base + n].events = (short) imapd_session_events(post_sess[n], now, &timeout);
	}
	if (post_master_lost && (timeout < 0 || timeout > 1000))
	    timeout = 1000;
	if (post_count == 0) {
	    if (post_listen_fd < 0)
		break;
	    if (timeout < 0 || timeout > 1000)
		timeout = 1000;
	}
	r = poll(pfd, post_count + base, timeout);
	if (r < 0 && errno != EINTR)
	    msg_fatal("post-login server: poll: %m");
	now = time(NULL);
	if (r > 0 && pfd[1].revents) {
	    post_master_lost = true;
	    post_stop_listening("master reloaded or stopped");
	}
	if (post_master_lost && post_master_gone()) {
	    for (size_t i = 0; i < post_count; i++)
		imapd_send(post_sess[i], "* BYE Server shutting down.\r\n");
	    while (post_count > 0)
		post_end(post_count - 1);
	    break;
	}
	if (r > 0 && (pfd[2].revents & POLLIN))
	    imapd_idle_events(post_sess, n);
	/* Sessions, highest index first (post_end moves the last one): those
	 * with an event or an inotify notice, and all of them once a second
	 * for their timers (which count whole seconds). */
	sweep = now != post_swept || timeout == 0;
	post_swept = now;
	for (size_t i = n; i-- > 0;) {
	    int     revents = r > 0 ? pfd[base + i].revents : 0;

	    if ((revents || sweep || post_sess[i]->idle_wake)
		&& imapd_session_ready(post_sess[i], revents, now) < 0)
		post_end(i);
	}
	if (r > 0 && post_listen_fd >= 0 && (pfd[0].revents & POLLIN))
	    post_accept();
	if (post_count > 0) {
	    idle_since = now;
	} else if (now - idle_since >= var_max_idle) {
	    post_stop_listening("idle");
	}
    }
    msg_info("post-login server for uid %ld gid %ld: done", uid, gid);
    exit(0);
}

/* ------------------------------------------------------------------ */
/* The root side. */

/* imapd_post_spawn - bind the name and start a server; 0 (started, or
 * somebody else has the name now) or -1 */
static int imapd_post_spawn(const struct sockaddr_un *sun, socklen_t len, long uid, long gid,
			    STREAM *tcp, STREAM *client)
{
    int     lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    int     ready[2];
    struct pollfd pfd;
    pid_t   pid, master_pid;

    if (lfd < 0) {
	msg_warn("post-login server: socket: %m");
	return -1;
    }
    if (bind(lfd, (const struct sockaddr *) sun, len) < 0) {
	int     err = errno;

	(void) close(lfd);
	if (err == EADDRINUSE)
	    return 0;
	errno = err;
	msg_warn("post-login server: bind: %m");
	return -1;
    }
    master_pid = getppid();			/* we are master's child */
    if (pipe2(ready, O_CLOEXEC) < 0) {
	msg_warn("post-login server: pipe: %m");
	(void) close(lfd);
	return -1;
    }
    if ((pid = fork()) < 0) {
	msg_warn("post-login server: fork: %m");
	(void) close(lfd);
	(void) close(ready[0]);
	(void) close(ready[1]);
	return -1;
    }
    if (pid == 0) {
	/* the server is nobody's child: no zombie in a root process */
	if (fork() != 0)
	    _exit(0);
	(void) setsid();
	(void) close(ready[0]);
	post_master_pid = master_pid;
	post_listen_fd = lfd;
	server_close_listeners();
	(void) close(stream_fd(tcp));
	if (client != tcp)
	    (void) close(stream_fd(client));
	imapd_post_server(uid, gid, ready[1]);
    }
    (void) close(lfd);
    (void) close(ready[1]);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
	 /* void */ ;
    /* wait until it listens (or died) */
    pfd.fd = ready[0];
    pfd.events = POLLIN;
    (void) poll(&pfd, 1, POST_IO_TIMEOUT * 1000);
    (void) close(ready[0]);
    return 0;
}

/* imapd_post_connect - a connection to uid/gid's server, starting one
 * when none listens; -1 when none can be had */
static int imapd_post_connect(long uid, long gid, STREAM *tcp, STREAM *client)
{
    struct sockaddr_un sun;
    socklen_t len = imapd_post_addr(&sun, uid, gid);

    for (int attempt = 0; attempt < 3; attempt++) {
	int     fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct ucred cred;
	socklen_t clen = sizeof(cred);

	if (fd < 0)
	    return -1;
	if (connect(fd, (struct sockaddr *) &sun, len) == 0) {
	    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == 0
		&& (long) cred.uid == uid && (long) cred.gid == gid)
		return fd;
	    msg_warn("post-login server name for uid %ld is held by pid %ld uid %ld gid %ld:"
		     " not used", uid, (long) cred.pid, (long) cred.uid, (long) cred.gid);
	    (void) close(fd);
	    return -1;
	}
	(void) close(fd);
	if (errno != ECONNREFUSED && errno != ENOENT && errno != EAGAIN)
	    return -1;
	if (imapd_post_spawn(&sun, len, uid, gid, tcp, client) < 0)
	    return -1;
    }
    return -1;
}

/* imapd_post_handoff - pass a confirmed login to a post-login server:
 * client is the stream to serve (tcp itself, or the TLS proxy's socket);
 * true when it took the session (the caller only closes its copies) */
bool    imapd_post_handoff(STREAM *tcp, STREAM *client, const LOGIN_HANDOVER *h,
			   const AUTH_CLIENT_USER *u, const char *rip, const char *lip,
			   bool loopback)
{
    LOGIN_POST post = {
	.tag = h->tag, .user = h->user, .mech = h->mech, .tls = h->tls,
	.secured = loopback || h->tls, .rip = rip, .lip = lip,
	.home = LEN(u->home) ? STR(u->home) : "", .mail = login_mail_location(u),
	.left_len = h->left_len,
    };
    VSTRING *hdr;
    char    cbuf[CMSG_SPACE(sizeof(int))], reply[16];
    struct iovec iov;
    struct msghdr mh;
    struct cmsghdr *cm;
    struct timeval tv = {.tv_sec = POST_IO_TIMEOUT};
    int     fd, cfd = stream_fd(client);
    bool    ok = false;
    ssize_t n;

    if (server_is_standalone() || u->uid <= 0 || u->gid <= 0)
	return false;
    hdr = vstring_alloc(256);
    if (!login_post_format(hdr, &post)) {
	msg_warn("%s: home or mail location unusable for a hand-over: served here", h->user);
	vstring_free(&hdr);
	return false;
    }
    if ((fd = imapd_post_connect(u->uid, u->gid, tcp, client)) < 0) {
	vstring_free(&hdr);
	return false;
    }
    (void) setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    (void) setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    memset(&mh, 0, sizeof(mh));
    iov.iov_base = STR(hdr);
    iov.iov_len = LEN(hdr);
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = cbuf;
    mh.msg_controllen = sizeof(cbuf);
    cm = CMSG_FIRSTHDR(&mh);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &cfd, sizeof(int));
    if (sendmsg(fd, &mh, MSG_NOSIGNAL) == (ssize_t) LEN(hdr)
	&& iostuff_write_all(fd, h->left, h->left_len) == 0
	&& (n = read(fd, reply, sizeof(reply) - 1)) > 0) {
	reply[n] = 0;
	ok = strcmp(reply, "OK\n") == 0;
	if (!ok && strcmp(reply, "FULL\n") != 0)
	    msg_warn("post-login server for uid %ld: unexpected reply", u->uid);
    }
    if (!ok)
	msg_info("%s: no post-login server took the session: served by pid %ld",
		 h->user, (long) getpid());
    vstring_free(&hdr);
    (void) close(fd);
    return ok;
}
