/* imapd_split.c - the login split when imapd starts as root.
 *
 * The single-server process (root) forks a pre-login child for each
 * connection. The child drops to login_user at once, then speaks the
 * not-authenticated state (TLS, CAPABILITY, LOGIN, AUTHENTICATE against
 * the auth service). When the auth service says OK it reports to the
 * parent over a socketpair, one line
 *     tag TAB user TAB mechanism TAB tls(0|1) TAB leftover-length LF
 * followed by the client bytes it had read past the login command. Then:
 *   - no TLS: the child exits; the parent still holds the client socket
 *     (inherited across fork, never read by it) and serves it directly;
 *   - TLS: the child stays as a proxy between the TLS connection and the
 *     socketpair, and the parent serves the plaintext side.
 * The parent reads nothing from the network before it has looked the
 * user up in the auth service's userdb and dropped to the user's uid/gid
 * for good (imapd_post_login); uid/gid 0 are refused.
 *
 * Trust: the parent believes the child's report of who logged in (the
 * child is the process that talked to the auth service). A compromised
 * pre-login process could claim another user; it cannot obtain root.
 * Dovecot closes this gap with an auth cookie checked by the master
 * side; our auth protocol client does not have that request yet.
 *
 * Limits: the report line is at most 1024 bytes, leftover at most 1 MiB;
 * the parent waits at most login_timeout + 60 s for the report.
 */
#include "sys_defs.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "argv.h"
#include "config.h"
#include "imapd.h"
#include "msg.h"
#include "mymalloc.h"
#include "privs.h"
#include "server.h"
#include "tls.h"

int     imapd_split_fd = -1;
static pid_t imapd_split_pid;
static STREAM *imapd_split_client;

/* write_all - write everything or fail */
static int write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
	ssize_t n = write(fd, buf, len);

	if (n < 0 && errno == EINTR)
	    continue;
	if (n <= 0)
	    return -1;
	buf += n;
	len -= (size_t) n;
    }
    return 0;
}

/* imapd_split - fork the pre-login child; in the parent, wait for its
 * report and return the stream to serve (NULL: no login happened) */
STREAM *imapd_split(STREAM *client, const char *rip, const char *lip, bool loopback,
		    IMAPD_HANDOVER **h_r)
{
    int     sv[2];
    STREAM *ctl;
    VSTRING *line;
    ARGV   *f;
    IMAPD_HANDOVER *h;
    char   *end;
    unsigned long left;

    *h_r = NULL;
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0) {
	msg_warn("socketpair: %m");
	return NULL;
    }
    if ((imapd_split_pid = fork()) < 0) {
	msg_warn("fork: %m");
	close(sv[0]);
	close(sv[1]);
	return NULL;
    }
    if (imapd_split_pid == 0) {
	close(sv[0]);
	if (stream_fd(client) != MASTER_LISTEN_FD)
	    close(MASTER_LISTEN_FD);
	if (stream_fd(client) != MASTER_STATUS_FD)
	    close(MASTER_STATUS_FD);
	privs_drop_user(var_login_user);
	imapd_split_fd = sv[1];
	imapd_prelogin_run(client, rip, lip, loopback);
	_exit(0);
    }
    close(sv[1]);
    imapd_split_client = client;
    ctl = stream_fdopen(sv[0], true);
    stream_set_timeout(ctl, (int) var_login_timeout + 60);
    line = vstring_alloc(128);
    if (stream_getline(ctl, line, 1024, NULL) < 0) {
	vstring_free(&line);
	stream_close(&ctl);
	waitpid(imapd_split_pid, NULL, 0);
	return NULL;				/* logged out or gave up */
    }
    vstring_chomp(line);
    f = argv_split(STR(line), "\t");
    left = f->argc == 5 ? strtoul(f->argv[4], &end, 10) : 0;
    if (f->argc != 5 || *end || left > 1024 * 1024 || (strcmp(f->argv[3], "0") != 0
						       && strcmp(f->argv[3], "1") != 0)) {
	msg_warn("pre-login process sent a bad report");
	argv_free(&f);
	vstring_free(&line);
	stream_close(&ctl);
	kill(imapd_split_pid, SIGKILL);
	waitpid(imapd_split_pid, NULL, 0);
	return NULL;
    }
    h = mymalloc(sizeof(*h));
    h->tag = mystrdup(f->argv[0]);
    h->user = mystrdup(f->argv[1]);
    h->mech = mystrdup(f->argv[2]);
    h->tls = f->argv[3][0] == '1';
    h->left_len = left;
    h->left = mymalloc(left + 1);
    if (left > 0 && stream_read(ctl, h->left, left) != (ssize_t) left)
	h->left_len = 0;
    argv_free(&f);
    vstring_free(&line);
    *h_r = h;
    if (h->tls)
	return ctl;				/* plaintext side of the proxy */
    stream_close(&ctl);
    waitpid(imapd_split_pid, NULL, 0);
    imapd_split_pid = 0;
    return client;
}

/* imapd_split_done - release the hand-over; reap the proxy */
void    imapd_split_done(STREAM **postp, IMAPD_HANDOVER **hp)
{
    IMAPD_HANDOVER *h = *hp;

    if (*postp != imapd_split_client)
	stream_close(postp);
    *postp = NULL;
    if (imapd_split_pid > 0)
	waitpid(imapd_split_pid, NULL, 0);
    imapd_split_pid = 0;
    if (h) {
	myfree(h->tag);
	myfree(h->user);
	myfree(h->mech);
	myfree(h->left);
	myfree(h);
    }
    *hp = NULL;
}

/* imapd_split_proxy - copy between the TLS client and the socketpair */
static void imapd_split_proxy(IMAPD_SESSION *s)
{
    char    buf[16384];
    int     cfd = stream_fd(s->client);

    stream_set_timeout(s->client, (int) var_imap_autologout + 60);
    for (;;) {
	struct pollfd p[2] = {{.fd = cfd, .events = POLLIN}, {.fd = imapd_split_fd, .events = POLLIN}};

	if (stream_pending(s->client) == 0
	    && poll(p, 2, (int) (var_imap_autologout + 60) * 1000) <= 0)
	    break;
	if (stream_pending(s->client) > 0 || (p[0].revents & (POLLIN | POLLHUP | POLLERR))) {
	    ssize_t n = stream_read_some(s->client, buf, sizeof(buf));

	    if (n <= 0 || write_all(imapd_split_fd, buf, (size_t) n) < 0)
		break;
	}
	if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
	    ssize_t n = read(imapd_split_fd, buf, sizeof(buf));

	    if (n <= 0 || stream_write(s->client, buf, (size_t) n) < 0
		|| stream_flush(s->client) < 0)
		break;
	}
    }
}

/* imapd_split_handover - report the login to the parent (child side) */
void    imapd_split_handover(IMAPD_SESSION *s, const char *user, const char *mech)
{
    VSTRING *left = vstring_alloc(256), *hdr = vstring_alloc(128);

    imapd_flush(s);
    if (strpbrk(user, "\t\r\n") != NULL || strlen(user) > 512 || strchr(s->tag, '\t')) {
	msg_warn("user name unusable for the post-login hand-over");
	_exit(1);
    }
    imapd_leftover(s, left);
    vstring_fmt(hdr, "%s\t%s\t%s\t%d\t%zu\n", s->tag, user, mech, s->tls ? 1 : 0, LEN(left));
    if (write_all(imapd_split_fd, STR(hdr), LEN(hdr)) < 0
	|| write_all(imapd_split_fd, STR(left), LEN(left)) < 0)
	_exit(1);
    if (s->tls) {
	TLS_SESSION *ts = imapd_tls_session();

	imapd_split_proxy(s);
	if (ts)
	    tls_session_stop(&ts);
    }
    _exit(0);
}
