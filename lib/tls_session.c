/* tls_session.c - one TLS connection: the handshake under a deadline, the
 * STREAM read/write hooks, renegotiation refusal, summary, shutdown.
 *
 * Contract: tls_server_start/tls_client_start (tls_server.c, tls_client.c)
 * create a session here, run tls_session_handshake() and, on success,
 * tls_session_activate(), after which the STREAM's raw I/O goes through
 * SSL_read_ex/SSL_write_ex. OpenSSL's WANT_READ/WANT_WRITE come back to the
 * STREAM as EAGAIN with want_write/want_read set, so the STREAM's own poll
 * loop and timeout govern every read and write after the handshake.
 *
 * Limits: the handshake has one deadline for the whole exchange (a peer
 * that trickles bytes cannot extend it). A renegotiation attempt by the
 * peer (TLS 1.2 and older) is logged and turns the session into an error:
 * every further read or write fails with EPROTO. OpenSSL does its socket
 * I/O through a small BIO of ours that writes with send(MSG_NOSIGNAL), so
 * a peer that went away gives EPIPE, never SIGPIPE (as the STREAM does).
 */
#include "sys_defs.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "msg.h"
#include "mymalloc.h"
#include "vstring.h"
#include "tls_private.h"

#define TLS_DEF_TIMEOUT 300

/* tls_now_ms - monotonic milliseconds */
static long long tls_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the BIO: read(2) and send(MSG_NOSIGNAL) on the descriptor ---- */

/* tls_bio_fd - the descriptor stored in the BIO */
static int tls_bio_fd(BIO *b)
{
    return (int) (intptr_t) BIO_get_data(b);
}

/* tls_bio_write - write without SIGPIPE */
static int tls_bio_write(BIO *b, const char *buf, size_t len, size_t *done_r)
{
    int     fd = tls_bio_fd(b);
    ssize_t n;

    BIO_clear_retry_flags(b);
    do {
	n = send(fd, buf, len, MSG_NOSIGNAL);
	if (n < 0 && errno == ENOTSOCK)
	    n = write(fd, buf, len);
    } while (n < 0 && errno == EINTR);
    if (n >= 0) {
	*done_r = (size_t) n;
	return 1;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK)
	BIO_set_retry_write(b);
    return 0;
}

/* tls_bio_read - read; EOF is remembered for BIO_CTRL_EOF */
static int tls_bio_read(BIO *b, char *buf, size_t len, size_t *got_r)
{
    int     fd = tls_bio_fd(b);
    ssize_t n;

    BIO_clear_retry_flags(b);
    do {
	n = read(fd, buf, len);
    } while (n < 0 && errno == EINTR);
    if (n > 0) {
	*got_r = (size_t) n;
	return 1;
    }
    if (n == 0)
	BIO_set_flags(b, BIO_FLAGS_IN_EOF);
    else if (errno == EAGAIN || errno == EWOULDBLOCK)
	BIO_set_retry_read(b);
    return 0;
}

/* tls_bio_ctrl - the few controls OpenSSL asks a socket BIO */
static long tls_bio_ctrl(BIO *b, int cmd, long num PH_UNUSED, void *ptr)
{
    switch (cmd) {
    case BIO_CTRL_FLUSH:
	return 1;
    case BIO_CTRL_EOF:
	return BIO_test_flags(b, BIO_FLAGS_IN_EOF) != 0;
    case BIO_C_GET_FD:
	if (ptr)
	    *(int *) ptr = tls_bio_fd(b);
	return tls_bio_fd(b);
    default:
	return 0;
    }
}

/* tls_bio_create - a new BIO is ready at once */
static int tls_bio_create(BIO *b)
{
    BIO_set_init(b, 1);
    return 1;
}

/* tls_bio_new - a BIO over fd (the descriptor stays the STREAM's) */
static BIO *tls_bio_new(int fd)
{
    static BIO_METHOD *method;
    BIO    *b;

    if (method == NULL) {
	if ((method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK
				   | BIO_TYPE_DESCRIPTOR, "posthorn socket")) == NULL
	    || !BIO_meth_set_write_ex(method, tls_bio_write)
	    || !BIO_meth_set_read_ex(method, tls_bio_read)
	    || !BIO_meth_set_ctrl(method, tls_bio_ctrl)
	    || !BIO_meth_set_create(method, tls_bio_create))
	    msg_fatal("cannot create TLS BIO method: out of memory?");
    }
    if ((b = BIO_new(method)) == NULL)
	msg_fatal("cannot create TLS BIO: out of memory?");
    BIO_set_data(b, (void *) (intptr_t) fd);
    return b;
}

/* tls_info_callback - notice renegotiation attempts after the handshake */
static void tls_info_callback(const SSL *ssl, int where, int ret)
{
    TLS_SESSION *ts = SSL_get_app_data(ssl);

    if (ts == NULL || !ts->handshake_done)
	return;
    if ((where & SSL_CB_HANDSHAKE_START) && SSL_version(ssl) < TLS1_3_VERSION)
	ts->reneg_seen = true;
    if ((where & SSL_CB_WRITE_ALERT) && (ret & 0xff) == SSL_AD_NO_RENEGOTIATION)
	ts->reneg_seen = true;
}

/* tls_session_create - a session for sp over ctx (not yet handshaken) */
TLS_SESSION *tls_session_create(SSL_CTX *ctx, STREAM *sp, bool server, int loglevel,
				        const char *namaddr)
{
    TLS_SESSION *ts;
    SSL    *ssl;

    if (sp == NULL)
	msg_panic("tls_session_create: NULL stream");
    if ((ssl = SSL_new(ctx)) == NULL) {
	(void) tls_library_errors();
	msg_fatal("cannot create TLS connection object: out of memory?");
    }
    ts = mycalloc(1, sizeof(*ts));
    ts->ssl = ssl;
    ts->stream = sp;
    ts->fd = stream_fd(sp);
    ts->is_server = server;
    ts->loglevel = loglevel;
    ts->timeout = TLS_DEF_TIMEOUT;
    ts->trust = TLS_TRUST_ANONYMOUS;
    ts->namaddr = mystrdup(namaddr);
    SSL_set_app_data(ssl, ts);
    SSL_set_info_callback(ssl, tls_info_callback);
    BIO    *bio = tls_bio_new(ts->fd);

    SSL_set_bio(ssl, bio, bio);
    if (server)
	SSL_set_accept_state(ssl);
    else
	SSL_set_connect_state(ssl);
    return ts;
}

/* tls_wait - poll fd for events until the deadline: 1 ready, 0 timeout, -1 */
static int tls_wait(int fd, short events, long long deadline)
{
    for (;;) {
	long long left = deadline - tls_now_ms();
	struct pollfd pfd = {.fd = fd,.events = events};
	int     n;

	if (left <= 0)
	    return 0;
	n = poll(&pfd, 1, left > 60000 ? 60000 : (int) left);
	if (n > 0)
	    return 1;
	if (n < 0 && errno != EINTR)
	    return -1;
    }
}

/* tls_session_handshake - SSL_accept/SSL_connect under one deadline */
int     tls_session_handshake(TLS_SESSION *ts, int timeout, const char **error_r)
{
    int     flags = fcntl(ts->fd, F_GETFL);
    long long deadline;
    const char *why = NULL;
    int     ret = -1;

    if (timeout <= 0)
	timeout = TLS_DEF_TIMEOUT;
    ts->timeout = timeout;
    deadline = tls_now_ms() + (long long) timeout * 1000;
    if (flags < 0 || fcntl(ts->fd, F_SETFL, flags | O_NONBLOCK) < 0) {
	why = tls_error_fmt("cannot set non-blocking mode: %s", strerror(errno));
	goto out;
    }
    for (;;) {
	int     rc, err, w;
	short   events;

	ERR_clear_error();
	errno = 0;
	rc = SSL_do_handshake(ts->ssl);
	if (rc == 1) {
	    ret = 0;
	    break;
	}
	err = SSL_get_error(ts->ssl, rc);
	if (err == SSL_ERROR_WANT_READ) {
	    events = POLLIN;
	} else if (err == SSL_ERROR_WANT_WRITE) {
	    events = POLLOUT;
	} else if (err == SSL_ERROR_SYSCALL) {
	    int     saved = errno;

	    why = tls_library_errors();
	    if (why == NULL)
		why = saved && saved != EPIPE && saved != ECONNRESET ?
		    tls_error_fmt("%s", strerror(saved)) : "lost connection";
	    break;
	} else if (err == SSL_ERROR_ZERO_RETURN) {
	    why = "lost connection";
	    break;
	} else {
	    why = tls_library_errors();
	    if (why == NULL)
		why = "protocol error";
	    why = tls_error_fmt("%s", why);
	    break;
	}
	if ((w = tls_wait(ts->fd, events, deadline)) == 0) {
	    why = tls_error_fmt("timed out after %d seconds", timeout);
	    break;
	}
	if (w < 0) {
	    why = tls_error_fmt("poll: %s", strerror(errno));
	    break;
	}
    }
out:
    if (flags >= 0)
	(void) fcntl(ts->fd, F_SETFL, flags);
    if (ret < 0) {
	ts->failed = true;
	why = tls_error_fmt("%s", why);
	if (ts->is_server)
	    msg_info("SSL_accept error from %s: %s", ts->namaddr, why);
	else
	    msg_info("SSL_connect error to %s: %s", ts->namaddr, why);
	*error_r = why;
	return -1;
    }
    ts->handshake_done = true;
    return 0;
}

/* tls_session_reneg - log and latch a renegotiation attempt */
static ssize_t tls_session_reneg(TLS_SESSION *ts)
{
    if (!ts->failed)
	msg_warn("%s TLS renegotiation attempt %s %s: refused, closing",
		 ts->is_server ? "client" : "server",
		 ts->is_server ? "from" : "by", ts->namaddr);
    ts->failed = true;
    errno = EPROTO;
    return -1;
}

/* tls_session_ioerr - map an SSL_read/SSL_write failure to the hook result */
static ssize_t tls_session_ioerr(TLS_SESSION *ts, int rc, bool reading, bool *want_other)
{
    int     saved = errno;

    switch (SSL_get_error(ts->ssl, rc)) {
    case SSL_ERROR_ZERO_RETURN:
	if (reading)
	    return 0;
	errno = EPIPE;
	return -1;
    case SSL_ERROR_WANT_READ:
	if (!reading)
	    *want_other = true;
	errno = EAGAIN;
	return -1;
    case SSL_ERROR_WANT_WRITE:
	if (reading)
	    *want_other = true;
	errno = EAGAIN;
	return -1;
    case SSL_ERROR_SYSCALL:
	(void) tls_library_errors();
	ts->failed = true;
	if (reading && saved == 0)
	    return 0;
	errno = saved ? saved : EPIPE;
	return -1;
    default:
	if (ts->reneg_seen)
	    return tls_session_reneg(ts);
	(void) tls_library_errors();
	ts->failed = true;
	errno = EPROTO;
	return -1;
    }
}

/* tls_stream_read - STREAM read hook */
static ssize_t tls_stream_read(STREAM *sp PH_UNUSED, void *buf, size_t len, void *ctx,
			               bool *want_write)
{
    TLS_SESSION *ts = ctx;
    size_t  got = 0;
    int     rc;

    if (ts->failed || ts->reneg_seen)
	return ts->reneg_seen ? tls_session_reneg(ts) : (errno = EPROTO, -1);
    ERR_clear_error();
    errno = 0;
    rc = SSL_read_ex(ts->ssl, buf, len, &got);
    if (ts->reneg_seen)
	return tls_session_reneg(ts);
    if (rc == 1)
	return (ssize_t) got;
    return tls_session_ioerr(ts, rc, true, want_write);
}

/* tls_stream_write - STREAM write hook */
static ssize_t tls_stream_write(STREAM *sp PH_UNUSED, const void *buf, size_t len,
				        void *ctx, bool *want_read)
{
    TLS_SESSION *ts = ctx;
    size_t  done = 0;
    int     rc;

    if (ts->failed || ts->reneg_seen)
	return ts->reneg_seen ? tls_session_reneg(ts) : (errno = EPROTO, -1);
    ERR_clear_error();
    errno = 0;
    rc = SSL_write_ex(ts->ssl, buf, len, &done);
    if (ts->reneg_seen)
	return tls_session_reneg(ts);
    if (rc == 1)
	return (ssize_t) done;
    return tls_session_ioerr(ts, rc, false, want_read);
}

/* tls_closed_read - hook after tls_session_stop: EOF */
static ssize_t tls_closed_read(STREAM *sp PH_UNUSED, void *buf PH_UNUSED,
			               size_t len PH_UNUSED, void *ctx PH_UNUSED,
			               bool *want_write PH_UNUSED)
{
    return 0;
}

/* tls_closed_write - hook after tls_session_stop: no plaintext after TLS */
static ssize_t tls_closed_write(STREAM *sp PH_UNUSED, const void *buf PH_UNUSED,
				        size_t len PH_UNUSED, void *ctx PH_UNUSED,
				        bool *want_read PH_UNUSED)
{
    errno = EPIPE;
    return -1;
}

/* tls_session_activate - install the STREAM hooks */
void    tls_session_activate(TLS_SESSION *ts)
{
    stream_set_io(ts->stream, tls_stream_read, tls_stream_write, ts);
    ts->hooked = true;
}

/* tls_session_peer_info - subject CN of the peer certificate */
void    tls_session_peer_info(TLS_SESSION *ts)
{
    X509   *peer = SSL_get0_peer_certificate(ts->ssl);
    X509_NAME *subj;
    int     idx;

    if (peer == NULL || (subj = X509_get_subject_name(peer)) == NULL)
	return;
    if ((idx = X509_NAME_get_index_by_NID(subj, NID_commonName, -1)) < 0)
	return;
    ASN1_STRING *data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, idx));
    unsigned char *utf8 = NULL;
    int     len = ASN1_STRING_to_UTF8(&utf8, data);

    if (len > 0 && memchr(utf8, 0, (size_t) len) == NULL)
	ts->peer_CN = mystrndup((char *) utf8, (size_t) (len > 256 ? 256 : len));
    OPENSSL_free(utf8);
    ERR_clear_error();
}

/* tls_session_log - Postfix's "TLS connection established" line */
void    tls_session_log(const TLS_SESSION *ts)
{
    VSTRING *buf;

    if (ts->loglevel < 1)
	return;
    buf = vstring_alloc(100);
    tls_session_summary(ts, buf);
    msg_info("%s TLS connection established %s %s: %s", tls_trust_name(ts->trust),
	     ts->is_server ? "from" : "to", ts->namaddr, STR(buf));
    vstring_free(&buf);
}

/* tls_session_protocol - "TLSv1.3" */
const char *tls_session_protocol(const TLS_SESSION *ts)
{
    return SSL_get_version(ts->ssl);
}

/* tls_session_cipher - the negotiated cipher's name */
const char *tls_session_cipher(const TLS_SESSION *ts)
{
    return SSL_CIPHER_get_name(SSL_get_current_cipher(ts->ssl));
}

/* tls_session_bits - cipher strength */
int     tls_session_bits(const TLS_SESSION *ts, int *alg_bits_r)
{
    int     alg_bits = 0;
    int     bits = SSL_CIPHER_get_bits(SSL_get_current_cipher(ts->ssl), &alg_bits);

    if (alg_bits_r)
	*alg_bits_r = alg_bits;
    return bits;
}

/* tls_session_trust - the peer's trust state */
TLS_TRUST tls_session_trust(const TLS_SESSION *ts)
{
    return ts->trust;
}

/* tls_session_reused - resumed? */
bool    tls_session_reused(const TLS_SESSION *ts)
{
    return SSL_session_reused(ts->ssl) == 1;
}

/* tls_session_peer_CN - subject CN of the peer, or NULL */
const char *tls_session_peer_CN(const TLS_SESSION *ts)
{
    return ts->peer_CN;
}

/* tls_session_summary - "TLSv1.3 with cipher X (256/256 bits)" */
void    tls_session_summary(const TLS_SESSION *ts, VSTRING *buf)
{
    int     alg_bits;
    int     bits = tls_session_bits(ts, &alg_bits);

    vstring_fmt(buf, "%s with cipher %s (%d/%d bits)", tls_session_protocol(ts),
		tls_session_cipher(ts), bits, alg_bits);
}

/* tls_session_save - DER form of a resumable client session */
int     tls_session_save(const TLS_SESSION *ts, VSTRING *buf)
{
    SSL_SESSION *sess = SSL_get1_session(ts->ssl);
    int     len, ret = -1;

    vstring_reset(buf);
    if (sess == NULL)
	return -1;
    if (SSL_SESSION_is_resumable(sess) && (len = i2d_SSL_SESSION(sess, NULL)) > 0) {
	unsigned char *p = (unsigned char *) vstring_reserve(buf, (size_t) len);

	if (i2d_SSL_SESSION(sess, &p) == len) {
	    vstring_commit(buf, (size_t) len);
	    ret = 0;
	}
    }
    SSL_SESSION_free(sess);
    ERR_clear_error();
    return ret;
}

/* tls_session_shutdown - send our close_notify, bounded by the timeout */
static int tls_session_shutdown(TLS_SESSION *ts)
{
    int     flags = fcntl(ts->fd, F_GETFL);
    long long deadline = tls_now_ms() + (long long) ts->timeout * 1000;
    int     ret = -1;

    if (flags < 0 || fcntl(ts->fd, F_SETFL, flags | O_NONBLOCK) < 0)
	return -1;
    for (;;) {
	int     rc, err;

	ERR_clear_error();
	rc = SSL_shutdown(ts->ssl);
	if (rc >= 0) {				/* 0: sent, peer's not yet seen */
	    ret = 0;
	    break;
	}
	err = SSL_get_error(ts->ssl, rc);
	if (err != SSL_ERROR_WANT_WRITE && err != SSL_ERROR_WANT_READ)
	    break;
	if (tls_wait(ts->fd, err == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN, deadline) <= 0)
	    break;
    }
    ERR_clear_error();
    (void) fcntl(ts->fd, F_SETFL, flags);
    return ret;
}

/* tls_session_stop - flush, close_notify, unhook, free */
int     tls_session_stop(TLS_SESSION **tsp)
{
    TLS_SESSION *ts = *tsp;
    int     ret = 0;

    if (ts == NULL)
	return 0;
    if (ts->hooked) {
	if (ts->failed || stream_flush(ts->stream) < 0)
	    ret = -1;
	/* A close_notify the peer no longer reads loses no data. */
	if (!ts->failed && !ts->reneg_seen)
	    (void) tls_session_shutdown(ts);
	stream_set_io(ts->stream, tls_closed_read, tls_closed_write, NULL);
	ts->hooked = false;
    }
    tls_session_free(tsp);
    return ret;
}

/* tls_session_free - free without touching the STREAM */
void    tls_session_free(TLS_SESSION **tsp)
{
    TLS_SESSION *ts = *tsp;

    if (ts == NULL)
	return;
    SSL_set_app_data(ts->ssl, NULL);
    SSL_free(ts->ssl);
    myfree(ts->namaddr);
    myfree(ts->peer_CN);
    myfree(ts);
    *tsp = NULL;
}
