/* test_tls - the TLS layer over socketpairs: the server runs in a forked
 * child, the client in the parent (our tls_client_start, or a raw OpenSSL
 * client for hostile or unusual peers). Certificates come from the openssl
 * command (not from the code under test), made once in a temp directory.
 *
 * Covers: TLSv1.3 and TLSv1.2 handshakes, lines and large transfers both
 * ways through the STREAM API, protocol limits, trust levels and name
 * checks, garbage and stalled handshakes, renegotiation, RSA + ECDSA chain
 * files, session resumption, self-signed certificate generation and
 * configuration errors. The parsers and names without a handshake are in
 * test_tls_names.c.
 */
#include "sys_defs.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "msg.h"
#include "mymalloc.h"
#include "stream.h"
#include "tls.h"
#include "vstring.h"
#include "unit.h"
#include "unit_shell.h"

static char tmpdir[] = "/tmp/test_tls.XXXXXX";

/* path - a file in the temp directory (static rotating buffers) */
static const char *path(const char *name)
{
    static char bufs[8][512];
    static int n;
    char   *b = bufs[n++ % 8];

    snprintf(b, 512, "%s/%s", tmpdir, name);
    return b;
}

/* sh - run a shell command in the temp directory; exit status */
#define sh(...) unit_shell(tmpdir, __VA_ARGS__)

/* slurp - a whole file as a string (caller frees) */
static char *slurp(const char *file)
{
    VSTRING *buf = vstring_alloc(1000);
    FILE   *fp = fopen(file, "r");
    char    chunk[4096];
    size_t  n;

    if (fp) {
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
	    vstring_catn(buf, chunk, n);
	fclose(fp);
    }
    return vstring_export(&buf);
}

/* now_ms - monotonic milliseconds */
static long long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* make_certs - a CA, RSA and ECDSA leaves for mail.example.test, another CA */
static int make_certs(void)
{
    static const char ext[] =
	"basicConstraints=critical,CA:FALSE\n"
	"subjectAltName=DNS:mail.example.test\n"
	"extendedKeyUsage=serverAuth\n";
    FILE   *fp = fopen(path("leaf.ext"), "w");

    if (fp == NULL)
	return -1;
    fputs(ext, fp);
    fclose(fp);
    if (sh("openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem"
	   " -days 30 -subj /CN=Test-CA"
	   " -addext basicConstraints=critical,CA:TRUE"
	   " -addext keyUsage=critical,keyCertSign,cRLSign") != 0
	|| sh("openssl req -x509 -newkey rsa:2048 -nodes -keyout other.key -out other.pem"
	      " -days 30 -subj /CN=Other-CA") != 0
	|| sh("openssl req -newkey rsa:2048 -nodes -keyout rsa.key -out rsa.csr"
	      " -subj /CN=mail.example.test") != 0
	|| sh("openssl x509 -req -in rsa.csr -CA ca.pem -CAkey ca.key -CAcreateserial"
	      " -out rsa.pem -days 30 -extfile leaf.ext") != 0
	|| sh("openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
	      " -keyout ec.key -out ec.csr -subj /CN=mail.example.test") != 0
	|| sh("openssl x509 -req -in ec.csr -CA ca.pem -CAkey ca.key -CAcreateserial"
	      " -out ec.pem -days 30 -extfile leaf.ext") != 0
	/* key first, then chain */
	|| sh("cat rsa.key rsa.pem ca.pem > rsa-chain.pem") != 0
	/* leaf first, then key, then chain */
	|| sh("cat ec.pem ec.key ca.pem > ec-chain.pem") != 0
	/* both in one file */
	|| sh("cat rsa.key rsa.pem ca.pem ec.key ec.pem ca.pem > both-chain.pem") != 0
	|| sh("printf 'extendedKeyUsage=clientAuth\\n' > client.ext") != 0
	|| sh("openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
	      " -keyout client.key -out client.csr -subj /CN=client.example") != 0
	|| sh("openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial"
	      " -out client.pem -days 30 -extfile client.ext") != 0
	|| sh("openssl pkey -in rsa.key -aes128 -passout pass:secret -out rsa-enc.key") != 0)
	return -1;
    return 0;
}

/* ---- the server child ---- */

#define SRV_ECHO 1			/* serve the little echo protocol */
#define SRV_FAIL 2			/* expect tls_server_start to fail */
#define SRV_RENEG 3			/* first line fine, then read must fail */

typedef struct srv {
    TLS_SERVER_CTX *sc;
    int     mode;
    int     timeout;			/* handshake */
    int     stream_timeout;		/* 0: blocking stream */
    int     max_ms;			/* SRV_FAIL: must fail within this */
    bool    starttls;			/* plaintext "STARTTLS" / "220" first */
    const char *log;			/* child's stderr goes here */
} SRV;

/* pattern_byte - the large-transfer pattern */
static unsigned char pattern_byte(size_t i)
{
    return (unsigned char) ((i * 7 + i / 251) % 253);
}

/* srv_echo - lines: QUIT, INFO, BIG n, anything else is echoed */
static int srv_echo(STREAM *sp, TLS_SESSION *ts)
{
    VSTRING *line = vstring_alloc(100);
    int     rc = 0;

    for (;;) {
	int     got = stream_getline(sp, line, 1000, NULL);

	if (got <= 0)
	    break;
	vstring_chomp(line);
	if (strcmp(STR(line), "QUIT") == 0) {
	    stream_puts(sp, "BYE\r\n");
	    break;
	} else if (strcmp(STR(line), "INFO") == 0) {
	    stream_printf(sp, "INFO %s %s %d %s\r\n", tls_session_protocol(ts),
			  tls_session_cipher(ts), tls_session_reused(ts) ? 1 : 0,
			  tls_trust_name(tls_session_trust(ts)));
	} else if (strncmp(STR(line), "BIG ", 4) == 0) {
	    size_t  n = strtoul(STR(line) + 4, NULL, 10), bad = 0;
	    unsigned char *buf = mymalloc(n);

	    if (stream_read(sp, buf, n) != (ssize_t) n) {
		rc = 20;
		myfree(buf);
		break;
	    }
	    for (size_t i = 0; i < n; i++)
		if (buf[i] != pattern_byte(i))
		    bad++;
	    stream_printf(sp, "GOT %zu BAD %zu\r\n", n, bad);
	    for (size_t i = 0; i < n; i++)
		buf[i] = pattern_byte(i + 1);
	    stream_write(sp, buf, n);
	    myfree(buf);
	} else {
	    stream_printf(sp, "ECHO %s\r\n", STR(line));
	}
	if (stream_flush(sp) < 0) {
	    rc = 21;
	    break;
	}
    }
    vstring_free(&line);
    return rc;
}

/* srv_main - the child: start TLS and do what the mode says */
static int srv_main(int fd, SRV *s)
{
    STREAM *sp = stream_fdopen(fd, true);
    const char *err = NULL;
    long long t0 = now_ms();
    TLS_SESSION *ts;
    int     rc = 0;

    if (s->stream_timeout)
	stream_set_timeout(sp, s->stream_timeout);
    if (s->starttls) {
	VSTRING *line = vstring_alloc(100);

	if (stream_getline(sp, line, 1000, NULL) != 1 || strcmp(STR(line), "STARTTLS\r") != 0)
	    return 30;
	vstring_free(&line);
	stream_puts(sp, "220 2.0.0 Ready to start TLS\r\n");	/* flushed by start */
    }
    ts = tls_server_start(sp, s->sc, s->timeout, "client.example", "127.0.0.1", &err);
    switch (s->mode) {
    case SRV_FAIL:
	if (ts != NULL)
	    rc = 1;
	else if (err == NULL || *err == 0)
	    rc = 2;
	else if (s->max_ms && now_ms() - t0 > s->max_ms)
	    rc = 3;
	break;
    case SRV_ECHO:
	rc = ts ? srv_echo(sp, ts) : 10;
	break;
    case SRV_RENEG:
	if (ts == NULL) {
	    rc = 10;
	} else {
	    VSTRING *line = vstring_alloc(100);

	    if (stream_getline(sp, line, 1000, NULL) != 1)
		rc = 11;
	    stream_puts(sp, "OK\r\n");
	    if (stream_flush(sp) < 0)
		rc = 12;
	    /* The client now tries to renegotiate: this read must fail. */
	    if (rc == 0 && stream_getline(sp, line, 1000, NULL) != -1)
		rc = 13;
	    vstring_free(&line);
	}
	break;
    }
    if (ts)
	(void) tls_session_stop(&ts);
    (void) stream_close(&sp);
    return rc;
}

/* srv_spawn - fork a server child on a socketpair; the parent's end */
static pid_t srv_spawn(SRV *s, int *fd_r)
{
    int     sv[2];
    pid_t   pid;

    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
	msg_fatal("socketpair: %m");
    fflush(NULL);
    if ((pid = fork()) < 0)
	msg_fatal("fork: %m");
    if (pid == 0) {
	close(sv[0]);
	alarm(30);
	if (s->log) {
	    int     lfd = open(s->log, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	    if (lfd >= 0) {
		dup2(lfd, 2);
		close(lfd);
	    }
	}
	_exit(srv_main(sv[1], s));
    }
    close(sv[1]);
    *fd_r = sv[0];
    return pid;
}

/* srv_reap - the child's exit code (100 + signal when killed) */
static int srv_reap(pid_t pid)
{
    int     st = 0;

    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
	 /* void */ ;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 100 + WTERMSIG(st);
}

/* ---- contexts ---- */

/* server_ctx - a server context over the RSA chain (or given params) */
static TLS_SERVER_CTX *server_ctx(const char *protocols, int loglevel)
{
    TLS_SERVER_PARAMS p = {0};
    const char *err = NULL;
    TLS_SERVER_CTX *sc;

    p.cert_file = path("rsa-chain.pem");
    p.protocols = protocols;
    p.session_timeout = 3600;
    p.loglevel = loglevel;
    if ((sc = tls_server_init(&p, &err)) == NULL)
	msg_fatal("server_ctx: %s", err);
    return sc;
}

/* client_ctx - a client context trusting CAfile (NULL: nothing) */
static TLS_CLIENT_CTX *client_ctx(const char *CAfile, const char *protocols, int loglevel)
{
    TLS_CLIENT_PARAMS p = {0};
    const char *err = NULL;
    TLS_CLIENT_CTX *cc;

    p.CAfile = CAfile;
    p.protocols = protocols;
    p.loglevel = loglevel;
    if ((cc = tls_client_init(&p, &err)) == NULL)
	msg_fatal("client_ctx: %s", err);
    return cc;
}

/* client_props - default per-connection settings */
static TLS_CLIENT_START client_props(TLS_LEVEL level)
{
    TLS_CLIENT_START props = {0};

    props.level = level;
    props.servername = "mail.example.test";
    props.peer_name = "mail.example.test";
    props.peer_addr = "127.0.0.1";
    props.port = 25;
    props.timeout = 10;
    return props;
}

/* chat - send a line, return the reply line (static buffer) */
static const char *chat(STREAM *sp, const char *line)
{
    static VSTRING *buf;

    if (buf == NULL)
	buf = vstring_alloc(100);
    stream_printf(sp, "%s\r\n", line);
    if (stream_flush(sp) < 0 || stream_getline(sp, buf, 1000, NULL) != 1)
	return "(error)";
    vstring_chomp(buf);
    return STR(buf);
}

/* capture - redirect our stderr to file (file NULL: restore) */
static void capture(const char *file)
{
    static int saved = -1;

    fflush(stderr);
    if (file) {
	int     fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	saved = dup(2);
	dup2(fd, 2);
	close(fd);
    } else if (saved >= 0) {
	dup2(saved, 2);
	close(saved);
	saved = -1;
    }
}

/* ---- raw OpenSSL client for unusual peers ---- */

typedef struct raw {
    int     min, max;			/* OpenSSL version constants */
    const char *ciphers;
    const char *sigalgs;
    bool    reneg;
    /* results */
    bool    ok;
    int     key_type;
    char    cipher[64];
    char    reply[100];
    int     reneg_rc;
} RAW;

/* raw_client - handshake, one line, then QUIT or a renegotiation */
static void raw_client(int fd, RAW *r)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    SSL    *ssl;
    char    buf[100];
    int     n;

    SSL_CTX_set_min_proto_version(ctx, r->min);
    SSL_CTX_set_max_proto_version(ctx, r->max);
    if (r->ciphers)
	SSL_CTX_set_cipher_list(ctx, r->ciphers);
    if (r->sigalgs && SSL_CTX_set1_sigalgs_list(ctx, r->sigalgs) != 1)
	msg_fatal("bad sigalgs %s", r->sigalgs);
    ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    r->ok = SSL_connect(ssl) == 1;
    if (r->ok) {
	X509   *peer = SSL_get0_peer_certificate(ssl);

	r->key_type = peer ? EVP_PKEY_get_base_id(X509_get0_pubkey(peer)) : 0;
	ph_strlcpy(r->cipher, SSL_get_cipher_name(ssl), sizeof(r->cipher));
	SSL_write(ssl, "hello\r\n", 7);
	n = SSL_read(ssl, buf, sizeof(buf) - 1);
	if (n > 0) {
	    buf[n] = 0;
	    ph_strlcpy(r->reply, buf, sizeof(r->reply));
	}
	if (r->reneg) {
	    SSL_renegotiate(ssl);
	    r->reneg_rc = SSL_do_handshake(ssl);
	    SSL_write(ssl, "again\r\n", 7);
	    (void) SSL_read(ssl, buf, sizeof(buf) - 1);
	} else {
	    SSL_write(ssl, "QUIT\r\n", 6);
	    (void) SSL_read(ssl, buf, sizeof(buf) - 1);
	    SSL_shutdown(ssl);
	}
    }
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    ERR_clear_error();
}

/* ---- tests ---- */

/* server_init_error - tls_server_init must fail; returns the error */
static const char *server_init_error(const TLS_SERVER_PARAMS *p)
{
    const char *err = NULL;
    TLS_SERVER_CTX *sc = tls_server_init(p, &err);

    if (sc) {
	tls_server_free(&sc);
	return NULL;
    }
    return err ? err : "";
}

TEST(test_config_errors)
{
    TLS_SERVER_PARAMS p = {0};
    const char *err;

    capture(path("config.log"));
    CHECK((err = server_init_error(&p)) && strstr(err, "no server certificate"));
    p.cert_file = path("nonexistent.pem");
    CHECK((err = server_init_error(&p)) && strstr(err, "nonexistent.pem"));
    p.cert_file = path("rsa.pem");
    p.key_file = path("ec.key");
    CHECK((err = server_init_error(&p)) && strstr(err, "does not match"));
    p.key_file = path("rsa-enc.key");
    CHECK((err = server_init_error(&p)) && strstr(err, "encrypted"));
    p.key_file = NULL;
    CHECK((err = server_init_error(&p)) && strstr(err, "no private key"));
    p.key_file = path("rsa.key");
    p.cipher_grade = "export";
    CHECK((err = server_init_error(&p)) && strstr(err, "cipher grade"));
    p.cipher_grade = "high";
    p.protocols = "TLSv1.7";
    CHECK((err = server_init_error(&p)) && strstr(err, "TLSv1.7"));
    p.protocols = NULL;
    p.medium_cipherlist = "NOSUCHCIPHER";
    CHECK(server_init_error(&p) == NULL);	/* grade high: medium unused */
    p.cipher_grade = "medium";
    CHECK((err = server_init_error(&p)) && strstr(err, "cipher list"));
    p.medium_cipherlist = NULL;
    CHECK(server_init_error(&p) == NULL);

    /* chain files */
    TLS_SERVER_PARAMS q = {0};

    q.chain_files = path("leaf.ext");
    CHECK((err = server_init_error(&q)) && strstr(err, "no certificate or private key"));
    q.chain_files = path("ca.pem");
    CHECK((err = server_init_error(&q)) && strstr(err, "without a private key"));
    sh("cat rsa.key rsa.key rsa.pem > twokeys.pem");
    q.chain_files = path("twokeys.pem");
    CHECK((err = server_init_error(&q)) && strstr(err, "no certificate"));
    VSTRING *two = vstring_alloc(100);

    vstring_fmt(two, "%s, %s", path("rsa-chain.pem"), path("rsa-chain.pem"));
    q.chain_files = STR(two);
    CHECK((err = server_init_error(&q)) && strstr(err, "more than one RSA key"));
    vstring_fmt(two, "%s %s", path("rsa-chain.pem"), path("ec-chain.pem"));
    CHECK(server_init_error(&q) == NULL);
    vstring_free(&two);
    sh("head -c 300 rsa.pem > truncated.pem");
    q.chain_files = path("truncated.pem");
    CHECK(server_init_error(&q) != NULL);

    TLS_CLIENT_PARAMS c = {0};
    TLS_CLIENT_CTX *cc;

    c.CAfile = path("nonexistent-ca.pem");
    err = NULL;
    CHECK((cc = tls_client_init(&c, &err)) == NULL && err && strstr(err, "nonexistent-ca.pem"));
    tls_client_free(&cc);
    capture(NULL);
}

/* echo_session - lines, a large transfer both ways, INFO; returns INFO */
static void echo_session(STREAM *sp, const char *want_info_prefix)
{
    VSTRING *line = vstring_alloc(100);
    size_t  n = 1500 * 1000;
    unsigned char *buf = mymalloc(n);
    size_t  bad = 0;

    CHECK_STR(chat(sp, "hello world"), "ECHO hello world");
    /* several lines in one flush: pipelining through the TLS hooks */
    stream_puts(sp, "one\r\ntwo\r\nthree\r\n");
    stream_flush(sp);
    for (int i = 0; i < 3; i++) {
	static const char *const want[] = {"ECHO one", "ECHO two", "ECHO three"};

	CHECK_INT(stream_getline(sp, line, 1000, NULL), 1);
	vstring_chomp(line);
	CHECK_STR(STR(line), want[i]);
    }
    /* large write, then large read */
    for (size_t i = 0; i < n; i++)
	buf[i] = pattern_byte(i);
    stream_printf(sp, "BIG %zu\r\n", n);
    CHECK_INT(stream_write(sp, buf, n), 0);
    CHECK_INT(stream_flush(sp), 0);
    CHECK_INT(stream_getline(sp, line, 1000, NULL), 1);
    vstring_chomp(line);
    VSTRING *want = vstring_alloc(50);

    vstring_fmt(want, "GOT %zu BAD 0", n);
    CHECK_STR(STR(line), STR(want));
    vstring_free(&want);
    memset(buf, 0, n);
    CHECK_INT(stream_read(sp, buf, n), n);
    for (size_t i = 0; i < n; i++)
	if (buf[i] != pattern_byte(i + 1))
	    bad++;
    CHECK_INT(bad, 0);
    myfree(buf);
    const char *info = chat(sp, "INFO");

    if (strncmp(info, want_info_prefix, strlen(want_info_prefix)) != 0)
	UNIT_FAIL("INFO reply \"%s\", expected \"%s...\"", info, want_info_prefix);
    CHECK_STR(chat(sp, "QUIT"), "BYE");
    vstring_free(&line);
}

TEST(test_handshake_tls13)
{
    TLS_SERVER_CTX *sc = server_ctx(NULL, 1);
    TLS_CLIENT_CTX *cc = client_ctx(path("ca.pem"), NULL, 1);
    SRV     s = {.sc = sc,.mode = SRV_ECHO,.timeout = 10,.log = path("srv13.log")};
    int     fd;
    pid_t   pid = srv_spawn(&s, &fd);
    STREAM *sp = stream_fdopen(fd, true);
    TLS_CLIENT_START props = client_props(TLS_LEV_MAY);
    const char *err = NULL;
    TLS_SESSION *ts;
    VSTRING *sum = vstring_alloc(100);

    /* plaintext that was buffered before STARTTLS is flushed first */
    capture(path("cli13.log"));
    ts = tls_client_start(sp, cc, &props, &err);
    capture(NULL);
    CHECK(ts != NULL);
    if (ts) {
	CHECK_STR(tls_session_protocol(ts), "TLSv1.3");
	CHECK_STR(tls_session_cipher(ts), "TLS_AES_256_GCM_SHA384");
	CHECK_INT(tls_session_trust(ts), TLS_TRUST_TRUSTED);
	CHECK(!tls_session_reused(ts));
	CHECK_STR(tls_session_peer_CN(ts), "mail.example.test");
	tls_session_summary(ts, sum);
	CHECK_STR(STR(sum), "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)");
	echo_session(sp, "INFO TLSv1.3 TLS_AES_256_GCM_SHA384 0 Anonymous");
	CHECK_INT(tls_session_stop(&ts), 0);
	CHECK(ts == NULL);
	/* after stop, no plaintext can leak onto the connection */
	CHECK_INT(stream_puts(sp, "plain\r\n"), 0);
	CHECK_INT(stream_flush(sp), -1);
    }
    stream_close(&sp);
    CHECK_INT(srv_reap(pid), 0);

    char   *slog = slurp(path("srv13.log"));
    char   *clog = slurp(path("cli13.log"));

    if (!strstr(slog, "Anonymous TLS connection established from client.example[127.0.0.1]:"
		" TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)"))
	UNIT_FAIL("server log: %s", slog);
    if (!strstr(clog, "Trusted TLS connection established to mail.example.test[127.0.0.1]:25:"
		" TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)"))
	UNIT_FAIL("client log: %s", clog);
    myfree(slog);
    myfree(clog);
    vstring_free(&sum);
    tls_client_free(&cc);
    tls_server_free(&sc);
}

TEST(test_starttls_injection)
{
    TLS_SERVER_CTX *sc = server_ctx(NULL, 0);
    TLS_CLIENT_CTX *cc = client_ctx(path("ca.pem"), NULL, 0);
    SRV     s = {.sc = sc,.mode = SRV_ECHO,.timeout = 10,.starttls = true};
    int     fd;
    pid_t   pid = srv_spawn(&s, &fd);
    STREAM *sp = stream_fdopen(fd, true);
    TLS_CLIENT_START props = client_props(TLS_LEV_MAY);
    VSTRING *line = vstring_alloc(100);
    const char *err = NULL;
    TLS_SESSION *ts;

    /* An attacker pipelines a command after STARTTLS, in plaintext. */
    stream_puts(sp, "STARTTLS\r\nINJECTED\r\n");
    stream_flush(sp);
    CHECK_INT(stream_getline(sp, line, 1000, NULL), 1);
    CHECK_STR(STR(line), "220 2.0.0 Ready to start TLS\r");
    ts = tls_client_start(sp, cc, &props, &err);
    CHECK(ts != NULL);
    if (ts) {
	/* the first line the server reads over TLS is ours, not INJECTED */
	CHECK_STR(chat(sp, "hello"), "ECHO hello");
	CHECK_STR(chat(sp, "QUIT"), "BYE");
	tls_session_stop(&ts);
    }
    stream_close(&sp);
    CHECK_INT(srv_reap(pid), 0);
    vstring_free(&line);
    tls_client_free(&cc);
    tls_server_free(&sc);
}

TEST(test_handshake_tls12_nonblocking)
{
    TLS_SERVER_CTX *sc = server_ctx(NULL, 0);
    TLS_CLIENT_CTX *cc = client_ctx(path("ca.pem"), "TLSv1.2", 0);
    SRV     s = {.sc = sc,.mode = SRV_ECHO,.timeout = 10,.stream_timeout = 10};
    int     fd;
    pid_t   pid = srv_spawn(&s, &fd);
    STREAM *sp = stream_fdopen(fd, true);
    TLS_CLIENT_START props = client_props(TLS_LEV_ENCRYPT);
    const char *err = NULL;
    TLS_SESSION *ts;

    stream_set_timeout(sp, 10);
    ts = tls_client_start(sp, cc, &props, &err);
    CHECK(ts != NULL);
    if (ts) {
	const char *cipher = tls_session_cipher(ts);

	CHECK_STR(tls_session_protocol(ts), "TLSv1.2");
	/* server preference: forward secrecy and AEAD come first */
	if (strncmp(cipher, "ECDHE-", 6) != 0
	    || (strstr(cipher, "GCM") == NULL && strstr(cipher, "CHACHA") == NULL))
	    UNIT_FAIL("TLSv1.2 cipher %s is not ECDHE+AEAD", cipher);
	echo_session(sp, "INFO TLSv1.2 ECDHE-");
	CHECK_INT(tls_session_stop(&ts), 0);
    }
    stream_close(&sp);
    CHECK_INT(srv_reap(pid), 0);
    tls_client_free(&cc);
    tls_server_free(&sc);
}

TEST(test_server_preference)
{
    TLS_SERVER_CTX *sc = server_ctx(NULL, 0);
    SRV     s = {.sc = sc,.mode = SRV_ECHO,.timeout = 10};
    /* the client likes the weakest first; the server's order wins */
    RAW     r = {.min = TLS1_2_VERSION,.max = TLS1_2_VERSION,
	.ciphers = "AES128-SHA:ECDHE-RSA-AES128-SHA:ECDHE-RSA-AES256-GCM-SHA384"};
    int     fd;
    pid_t   pid = srv_spawn(&s, &fd);

    raw_client(fd, &r);
    close(fd);
    CHECK(r.ok);
    CHECK_STR(r.cipher, "ECDHE-RSA-AES256-GCM-SHA384");
    CHECK_INT(srv_reap(pid), 0);

    /* a client with only non-forward-secret ciphers still gets in (medium) */
    RAW     r2 = {.min = TLS1_2_VERSION,.max = TLS1_2_VERSION,.ciphers = "AES128-SHA"};

    pid = srv_spawn(&s, &fd);
    raw_client(fd, &r2);
    close(fd);
    CHECK(r2.ok);
    CHECK_STR(r2.cipher, "AES128-SHA");
    CHECK_INT(srv_reap(pid), 0);
    tls_server_free(&sc);

    /* exclusions apply: no AES128-SHA left for that client */
    TLS_SERVER_PARAMS p = {0};
    const char *err = NULL;

    p.cert_file = path("rsa-chain.pem");
    p.exclude_ciphers = "aRSA+kRSA, SHA1";
    p.cipher_grade = "high";
    sc = tls_server_init(&p, &err);
    CHECK(sc != NULL);
    if (sc) {
	SRV     s3 = {.sc = sc,.mode = SRV_FAIL,.timeout = 10,.log = "/dev/null"};
	RAW     r3 = {.min = TLS1_2_VERSION,.max = TLS1_2_VERSION,.ciphers = "AES128-SHA"};

	pid = srv_spawn(&s3, &fd);
	raw_client(fd, &r3);
	close(fd);
	CHECK(!r3.ok);
	CHECK_INT(srv_reap(pid), 0);
	tls_server_free(&sc);
    }
}

/* ccert_case - trust the server sees for a client with this certificate */
static const char *ccert_case(TLS_SERVER_CTX *sc, const char *cert, const char *key)
{
    static char info[200];
    TLS_CLIENT_PARAMS cp = {0};
    const char *err = NULL;
    TLS_CLIENT_CTX *cc;

    cp.CAfile = path("ca.pem");
    cp.cert_file = cert;
    cp.key_file = key;
    if ((cc = tls_client_init(&cp, &err)) == NULL) {
	UNIT_FAIL("client init: %s", err);
	return "";
    }
    SRV     s = {.sc = sc,.mode = SRV_ECHO,.timeout = 10};
    int     fd;
    pid_t   pid = srv_spawn(&s, &fd);
    STREAM *sp = stream_fdopen(fd, true);
    TLS_CLIENT_START props = client_props(TLS_LEV_VERIFY);
    TLS_SESSION *ts = tls_client_start(sp, cc, &props, &err);

    info[0] = 0;
    CHECK(ts != NULL);
    if (ts) {
	const char *reply = chat(sp, "INFO");
	const char *last = strrchr(reply, ' ');

	ph_strlcpy(info, last ? last + 1 : reply, sizeof(info));
	CHECK_STR(chat(sp, "QUIT"), "BYE");
	tls_session_stop(&ts);
    }
    stream_close(&sp);
    CHECK_INT(srv_reap(pid), 0);
    tls_client_free(&cc);
    return info;
}

TEST(test_client_certificates)
{
    TLS_SERVER_PARAMS p = {0};
    const char *err = NULL;
    TLS_SERVER_CTX *sc;

    p.cert_file = path("rsa-chain.pem");
    p.CAfile = path("ca.pem");
    p.ask_ccert = true;
    sc = tls_server_init(&p, &err);
    CHECK(sc != NULL);
    if (sc == NULL)
	return;
    CHECK_STR(ccert_case(sc, path("client.pem"), path("client.key")), "Trusted");
    CHECK_STR(ccert_case(sc, NULL, NULL), "Anonymous");
    CHECK_STR(ccert_case(sc, path("other.pem"), path("other.key")), "Untrusted");
    tls_server_free(&sc);
}

TEST(test_protocol_refused)
{
    TLS_SERVER_CTX *sc = server_ctx(">=TLSv1.2", 0);
    SRV     s = {.sc = sc,.mode = SRV_FAIL,.timeout = 10,.max_ms = 5000,
	.log = path("proto.log")};
    RAW     r = {.min = TLS1_1_VERSION,.max = TLS1_1_VERSION,.ciphers = "DEFAULT:@SECLEVEL=0"};
    int     fd;
    pid_t   pid = srv_spawn(&s, &fd);

    raw_client(fd, &r);
    close(fd);
    CHECK(!r.ok);
    CHECK_INT(srv_reap(pid), 0);
    char   *log = slurp(path("proto.log"));

    if (!strstr(log, "SSL_accept error from client.example[127.0.0.1]: unsupported protocol"))
	UNIT_FAIL("log: %s", log);
    myfree(log);

    /* control: the same raw client allowed TLSv1.2 gets in */
    RAW     r2 = {.min = TLS1_1_VERSION,.max = TLS1_2_VERSION,.ciphers = "DEFAULT:@SECLEVEL=0"};
    SRV     s2 = {.sc = sc,.mode = SRV_ECHO,.timeout = 10};

    pid = srv_spawn(&s2, &fd);
    raw_client(fd, &r2);
    close(fd);
    CHECK(r2.ok);
    CHECK_STR(r2.reply, "ECHO hello\r\n");
    CHECK_INT(srv_reap(pid), 0);
    tls_server_free(&sc);

    /* server TLSv1.3 only, our client TLSv1.2 only: both sides fail */
    TLS_SERVER_CTX *sc13 = server_ctx("TLSv1.3", 0);
    TLS_CLIENT_CTX *cc12 = client_ctx(path("ca.pem"), "!TLSv1.3", 0);
    SRV     s3 = {.sc = sc13,.mode = SRV_FAIL,.timeout = 10,.log = "/dev/null"};
    TLS_CLIENT_START props = client_props(TLS_LEV_MAY);
    const char *err = NULL;
    TLS_SESSION *ts;
    STREAM *sp;

    pid = srv_spawn(&s3, &fd);
    sp = stream_fdopen(fd, true);
    capture("/dev/null");
    ts = tls_client_start(sp, cc12, &props, &err);
    capture(NULL);
    CHECK(ts == NULL);
    CHECK(err != NULL && *err);
    stream_close(&sp);
    CHECK_INT(srv_reap(pid), 0);
    tls_client_free(&cc12);
    tls_server_free(&sc13);
}

/* verify_case - one client connection at a level; returns the session's
 * trust (or -1 when tls_client_start failed; *err_r gets the reason) */
static int verify_case(TLS_SERVER_CTX *sc, TLS_CLIENT_CTX *cc, TLS_LEVEL level,
		               const char *const *names, char *err_buf, size_t err_len)
{
    SRV     s = {.sc = sc,.mode = SRV_ECHO,.timeout = 10};
    int     fd;
    pid_t   pid = srv_spawn(&s, &fd);
    STREAM *sp = stream_fdopen(fd, true);
    TLS_CLIENT_START props = client_props(level);
    const char *err = NULL;
    TLS_SESSION *ts;
    int     trust = -1;

    props.match_names = names;
    capture("/dev/null");
    ts = tls_client_start(sp, cc, &props, &err);
    capture(NULL);
    err_buf[0] = 0;
    if (ts) {
	trust = (int) tls_session_trust(ts);
	CHECK_STR(chat(sp, "ping"), "ECHO ping");
	CHECK_STR(chat(sp, "QUIT"), "BYE");
	tls_session_stop(&ts);
    } else {
	ph_strlcpy(err_buf, err ? err : "(none)", err_len);
    }
    stream_close(&sp);
    CHECK_INT(srv_reap(pid), 0);
    return trust;
}

TEST(test_verify)
{
    TLS_SERVER_CTX *sc = server_ctx(NULL, 0);
    TLS_CLIENT_CTX *trusting = client_ctx(path("ca.pem"), NULL, 0);
    TLS_CLIENT_CTX *other = client_ctx(path("other.pem"), NULL, 0);
    TLS_CLIENT_CTX *none = client_ctx(NULL, NULL, 0);
    static const char *const wrong[] = {"other.example.test", NULL};
    static const char *const dot[] = {".example.test", NULL};
    static const char *const parent[] = {"example.test", NULL};
    static const char *const several[] = {"nope.example.test", "mail.example.test", NULL};
    char    err[200];

    CHECK_INT(verify_case(sc, trusting, TLS_LEV_VERIFY, NULL, err, sizeof(err)), TLS_TRUST_VERIFIED);
    CHECK_INT(verify_case(sc, trusting, TLS_LEV_MAY, NULL, err, sizeof(err)), TLS_TRUST_TRUSTED);
    CHECK_INT(verify_case(sc, trusting, TLS_LEV_MAY, wrong, err, sizeof(err)), TLS_TRUST_TRUSTED);
    CHECK_INT(verify_case(sc, trusting, TLS_LEV_VERIFY, wrong, err, sizeof(err)), -1);
    CHECK_STR(err, "Server certificate not verified");
    CHECK_INT(verify_case(sc, trusting, TLS_LEV_SECURE, dot, err, sizeof(err)), TLS_TRUST_VERIFIED);
    CHECK_INT(verify_case(sc, trusting, TLS_LEV_SECURE, parent, err, sizeof(err)), -1);
    CHECK_STR(err, "Server certificate not verified");
    CHECK_INT(verify_case(sc, trusting, TLS_LEV_SECURE, several, err, sizeof(err)), TLS_TRUST_VERIFIED);
    CHECK_INT(verify_case(sc, other, TLS_LEV_MAY, NULL, err, sizeof(err)), TLS_TRUST_UNTRUSTED);
    CHECK_INT(verify_case(sc, other, TLS_LEV_VERIFY, NULL, err, sizeof(err)), -1);
    CHECK_STR(err, "Server certificate not trusted");
    CHECK_INT(verify_case(sc, none, TLS_LEV_ENCRYPT, NULL, err, sizeof(err)), TLS_TRUST_UNTRUSTED);
    CHECK_INT(verify_case(sc, none, TLS_LEV_SECURE, dot, err, sizeof(err)), -1);
    CHECK_STR(err, "Server certificate not trusted");
    tls_client_free(&trusting);
    tls_client_free(&other);
    tls_client_free(&none);
    tls_server_free(&sc);
}

/* digest_of - 32 bytes from "openssl dgst -sha256 -binary" run on what cmd
 * prints (in the test directory); 0 or -1 */
static int digest_of(const char *cmd, unsigned char out[32])
{
    FILE   *fp;
    bool    ok;

    if (sh("%s | openssl dgst -sha256 -binary > digest.bin", cmd) != 0
	|| (fp = fopen(path("digest.bin"), "rb")) == NULL)
	return -1;
    ok = fread(out, 1, 32, fp) == 32;
    fclose(fp);
    return ok ? 0 : -1;
}

/* dane_case - the trust a DANE handshake ends with, or -1 + err_buf */
static int dane_case(TLS_SERVER_CTX *sc, TLS_CLIENT_CTX *cc, const TLS_TLSA *tlsa, int count,
		             const char *base, const char *const *names, char *err_buf,
		             size_t err_len)
{
    SRV     s = {.sc = sc,.mode = SRV_ECHO,.timeout = 10};
    int     fd;
    pid_t   pid;
    STREAM *sp;
    TLS_CLIENT_START props = client_props(TLS_LEV_DANE);
    const char *err = NULL;
    TLS_SESSION *ts;
    int     trust = -1;

    pid = srv_spawn(&s, &fd);
    sp = stream_fdopen(fd, true);
    props.tlsa = tlsa;
    props.tlsa_count = count;
    props.dane_base = base;
    props.servername = base;
    props.match_names = names;
    capture("/dev/null");
    ts = tls_client_start(sp, cc, &props, &err);
    capture(NULL);
    err_buf[0] = 0;
    if (ts) {
	trust = (int) tls_session_trust(ts);
	CHECK_STR(chat(sp, "ping"), "ECHO ping");
	CHECK_STR(chat(sp, "QUIT"), "BYE");
	tls_session_stop(&ts);
    } else {
	ph_strlcpy(err_buf, err ? err : "(none)", err_len);
    }
    stream_close(&sp);
    /* A client that gave up before the handshake leaves the child with a
     * failed handshake: only a finished one must end cleanly. */
    if (trust >= 0)
	CHECK_INT(srv_reap(pid), 0);
    else
	(void) srv_reap(pid);
    return trust;
}

TEST(test_dane)
{
    TLS_SERVER_CTX *sc = server_ctx(NULL, 0);
    TLS_CLIENT_CTX *none = client_ctx(NULL, NULL, 0);
    TLS_CLIENT_CTX *trusting = client_ctx(path("ca.pem"), NULL, 0);
    unsigned char leaf_spki[32], ca_cert[32], other_spki[32];
    static const char *const mx[] = {"mail.example.test", NULL};
    char    err[200];

    if (digest_of("openssl x509 -in rsa.pem -noout -pubkey | openssl pkey -pubin -outform DER",
		  leaf_spki) < 0
	|| digest_of("openssl x509 -in ca.pem -outform DER", ca_cert) < 0
	|| digest_of("openssl x509 -in other.pem -noout -pubkey | openssl pkey -pubin -outform DER",
		     other_spki) < 0) {
	UNIT_FAIL("cannot compute digests");
	return;
    }
    TLS_TLSA ee = {3, 1, 1, leaf_spki, 32};
    TLS_TLSA ta = {2, 0, 1, ca_cert, 32};
    TLS_TLSA wrong_ee = {3, 1, 1, other_spki, 32};
    TLS_TLSA wrong_ta = {2, 1, 1, other_spki, 32};
    TLS_TLSA pkix_ta = {0, 0, 1, ca_cert, 32};
    TLS_TLSA mixed[] = {{3, 1, 1, other_spki, 32}, {2, 0, 1, ca_cert, 32}};

    /* DANE-EE: the key matches; names do not matter. */
    CHECK_INT(dane_case(sc, none, &ee, 1, "mail.example.test", NULL, err, sizeof(err)),
	      TLS_TRUST_VERIFIED);
    CHECK_INT(dane_case(sc, none, &ee, 1, "elsewhere.test", NULL, err, sizeof(err)),
	      TLS_TRUST_VERIFIED);
    /* DANE-TA: the CA in the server's chain, the name must match. */
    CHECK_INT(dane_case(sc, none, &ta, 1, "mail.example.test", NULL, err, sizeof(err)),
	      TLS_TRUST_VERIFIED);
    CHECK_INT(dane_case(sc, none, &ta, 1, "elsewhere.test", NULL, err, sizeof(err)), -1);
    CHECK_STR(err, "Server certificate not trusted");
    CHECK_INT(dane_case(sc, none, &ta, 1, "elsewhere.test", mx, err, sizeof(err)),
	      TLS_TRUST_VERIFIED);
    /* One matching record among others is enough. */
    CHECK_INT(dane_case(sc, none, mixed, 2, "mail.example.test", NULL, err, sizeof(err)),
	      TLS_TRUST_VERIFIED);
    /* No match: no PKIX fallback, even with the CA in CAfile. */
    CHECK_INT(dane_case(sc, none, &wrong_ee, 1, "mail.example.test", NULL, err, sizeof(err)), -1);
    CHECK_STR(err, "Server certificate not trusted");
    CHECK_INT(dane_case(sc, trusting, &wrong_ee, 1, "mail.example.test", NULL, err, sizeof(err)),
	      -1);
    CHECK_STR(err, "Server certificate not trusted");
    CHECK_INT(dane_case(sc, none, &wrong_ta, 1, "mail.example.test", NULL, err, sizeof(err)), -1);
    /* PKIX usages are never used in SMTP. */
    CHECK_INT(dane_case(sc, trusting, &pkix_ta, 1, "mail.example.test", NULL, err, sizeof(err)),
	      -1);
    CHECK_STR(err, "no usable TLSA records for mail.example.test");
    tls_client_free(&none);
    tls_client_free(&trusting);
    tls_server_free(&sc);
}

TEST(test_garbage)
{
    TLS_SERVER_CTX *sc = server_ctx(NULL, 0);
    SRV     s = {.sc = sc,.mode = SRV_FAIL,.timeout = 10,.max_ms = 3000,
	.log = path("garbage.log")};
    int     fd;
    pid_t   pid = srv_spawn(&s, &fd);
    static const char junk[] = "EHLO attacker.example\r\nMAIL FROM:<x@y>\r\n";
    char    buf[512];

    CHECK(write(fd, junk, sizeof(junk) - 1) == (ssize_t) sizeof(junk) - 1);
    /* the server gives up and closes without waiting for more */
    while (read(fd, buf, sizeof(buf)) > 0)
	 /* void */ ;
    close(fd);
    CHECK_INT(srv_reap(pid), 0);
    char   *log = slurp(path("garbage.log"));

    if (!strstr(log, "SSL_accept error from client.example[127.0.0.1]: "))
	UNIT_FAIL("log: %s", log);
    if (!strstr(log, "TLS library problem"))
	UNIT_FAIL("log: %s", log);
    myfree(log);

    /* a client facing a plaintext server that answers with garbage */
    TLS_CLIENT_CTX *cc = client_ctx(NULL, NULL, 0);
    int     sv[2];
    STREAM *sp;
    TLS_CLIENT_START props = client_props(TLS_LEV_MAY);
    const char *err = NULL;

    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    CHECK(write(sv[1], "500 what?\r\n500 what?\r\n", 22) == 22);
    close(sv[1]);
    sp = stream_fdopen(sv[0], true);
    capture("/dev/null");
    CHECK(tls_client_start(sp, cc, &props, &err) == NULL);
    capture(NULL);
    CHECK(err && *err);
    stream_close(&sp);
    tls_client_free(&cc);
    tls_server_free(&sc);
}

TEST(test_stall)
{
    TLS_SERVER_CTX *sc = server_ctx(NULL, 0);
    SRV     s = {.sc = sc,.mode = SRV_FAIL,.timeout = 1,.max_ms = 2500,
	.log = path("stall.log")};
    int     fd;
    long long t0 = now_ms();
    pid_t   pid = srv_spawn(&s, &fd);
    /* the start of a TLS record, then silence */
    static const unsigned char partial[] = {0x16, 0x03, 0x01, 0x01, 0x00, 0x01};

    CHECK(write(fd, partial, sizeof(partial)) == (ssize_t) sizeof(partial));
    CHECK_INT(srv_reap(pid), 0);
    CHECK(now_ms() - t0 < 4000);
    close(fd);
    char   *log = slurp(path("stall.log"));

    if (!strstr(log, "SSL_accept error from client.example[127.0.0.1]: timed out after 1 seconds"))
	UNIT_FAIL("log: %s", log);
    myfree(log);

    /* a trickling peer cannot extend the deadline: one byte every 300ms */
    SRV     s2 = {.sc = sc,.mode = SRV_FAIL,.timeout = 1,.max_ms = 2500,.log = "/dev/null"};
    static const unsigned char hello[] = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01,
    0xfc, 0x03, 0x03, 1, 2, 3, 4, 5, 6, 7, 8, 9};

    t0 = now_ms();
    pid = srv_spawn(&s2, &fd);
    for (size_t i = 0; i < sizeof(hello) && now_ms() - t0 < 3500; i++) {
	if (write(fd, hello + i, 1) != 1)
	    break;
	usleep(300 * 1000);
    }
    CHECK_INT(srv_reap(pid), 0);
    close(fd);

    /* the client side: a server that never answers */
    TLS_CLIENT_CTX *cc = client_ctx(NULL, NULL, 0);
    int     sv[2];
    STREAM *sp;
    TLS_CLIENT_START props = client_props(TLS_LEV_MAY);
    const char *err = NULL;

    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    sp = stream_fdopen(sv[0], true);
    props.timeout = 1;
    t0 = now_ms();
    capture("/dev/null");
    CHECK(tls_client_start(sp, cc, &props, &err) == NULL);
    capture(NULL);
    CHECK(now_ms() - t0 < 2500);
    CHECK(err && strstr(err, "timed out"));
    stream_close(&sp);
    close(sv[1]);
    tls_client_free(&cc);
    tls_server_free(&sc);
}

TEST(test_renegotiation)
{
    TLS_SERVER_CTX *sc = server_ctx(NULL, 0);
    SRV     s = {.sc = sc,.mode = SRV_RENEG,.timeout = 10,.stream_timeout = 5,
	.log = path("reneg.log")};
    RAW     r = {.min = TLS1_2_VERSION,.max = TLS1_2_VERSION,.reneg = true};
    int     fd;
    pid_t   pid = srv_spawn(&s, &fd);

    raw_client(fd, &r);
    close(fd);
    CHECK(r.ok);
    CHECK_STR(r.reply, "OK\r\n");
    CHECK(r.reneg_rc != 1);
    CHECK_INT(srv_reap(pid), 0);
    char   *log = slurp(path("reneg.log"));

    if (!strstr(log, "client TLS renegotiation attempt from client.example[127.0.0.1]: refused"))
	UNIT_FAIL("log: %s", log);
    myfree(log);
    tls_server_free(&sc);
}

/* dual_case - which key type a raw client with these sigalgs is served */
static int dual_case(TLS_SERVER_CTX *sc, int version, const char *sigalgs)
{
    SRV     s = {.sc = sc,.mode = SRV_ECHO,.timeout = 10};
    RAW     r = {.min = version,.max = version,.sigalgs = sigalgs};
    int     fd;
    pid_t   pid = srv_spawn(&s, &fd);

    raw_client(fd, &r);
    close(fd);
    CHECK(r.ok);
    CHECK_STR(r.reply, "ECHO hello\r\n");
    CHECK_INT(srv_reap(pid), 0);
    return r.ok ? r.key_type : 0;
}

TEST(test_rsa_and_ecdsa)
{
    static const char ec_only[] = "ecdsa_secp256r1_sha256:ecdsa_secp384r1_sha384";
    static const char rsa_only[] = "rsa_pss_rsae_sha256:rsa_pss_rsae_sha384:rsa_pkcs1_sha256";
    TLS_SERVER_PARAMS p = {0};
    VSTRING *files = vstring_alloc(200);
    const char *err = NULL;
    TLS_SERVER_CTX *sc;

    /* two chain files (key-first and leaf-first order) */
    vstring_fmt(files, "%s, %s", path("rsa-chain.pem"), path("ec-chain.pem"));
    p.chain_files = STR(files);
    sc = tls_server_init(&p, &err);
    CHECK(sc != NULL);
    if (sc) {
	for (int v = TLS1_2_VERSION; v <= TLS1_3_VERSION; v++) {
	    CHECK_INT(dual_case(sc, v, ec_only), EVP_PKEY_EC);
	    CHECK_INT(dual_case(sc, v, rsa_only), EVP_PKEY_RSA);
	}
	tls_server_free(&sc);
    }

    /* one file with both chains */
    p.chain_files = path("both-chain.pem");
    sc = tls_server_init(&p, &err);
    CHECK(sc != NULL);
    if (sc) {
	CHECK_INT(dual_case(sc, TLS1_3_VERSION, ec_only), EVP_PKEY_EC);
	CHECK_INT(dual_case(sc, TLS1_3_VERSION, rsa_only), EVP_PKEY_RSA);
	tls_server_free(&sc);
    }

    /* the classic parameter pairs */
    TLS_SERVER_PARAMS q = {0};

    q.cert_file = path("rsa.pem");
    q.key_file = path("rsa.key");
    q.eccert_file = path("ec.pem");
    q.eckey_file = path("ec.key");
    sc = tls_server_init(&q, &err);
    CHECK(sc != NULL);
    if (sc) {
	CHECK_INT(dual_case(sc, TLS1_2_VERSION, ec_only), EVP_PKEY_EC);
	CHECK_INT(dual_case(sc, TLS1_2_VERSION, rsa_only), EVP_PKEY_RSA);
	tls_server_free(&sc);
    }
    vstring_free(&files);
}

/* resume_pair - two connections, the second offering the first's session;
 * returns whether both sides saw it resumed (-1 on failure) */
static int resume_pair(TLS_SERVER_CTX *sc1, TLS_SERVER_CTX *sc2, const char *protocols)
{
    TLS_CLIENT_CTX *cc = client_ctx(path("ca.pem"), protocols, 0);
    VSTRING *saved = vstring_alloc(100);
    int     result = -1;

    for (int round = 0; round < 2; round++) {
	SRV     s = {.sc = round ? sc2 : sc1,.mode = SRV_ECHO,.timeout = 10};
	int     fd;
	pid_t   pid = srv_spawn(&s, &fd);
	STREAM *sp = stream_fdopen(fd, true);
	TLS_CLIENT_START props = client_props(TLS_LEV_VERIFY);
	const char *err = NULL;
	TLS_SESSION *ts;

	props.session = round ? saved : NULL;
	ts = tls_client_start(sp, cc, &props, &err);
	CHECK(ts != NULL);
	if (ts) {
	    const char *info = chat(sp, "INFO");
	    bool    srv_reused = strstr(info, " 1 Anonymous") != NULL;

	    /* resumption keeps the verdict */
	    CHECK_INT(tls_session_trust(ts), TLS_TRUST_VERIFIED);
	    if (round == 0) {
		CHECK(!tls_session_reused(ts));
		CHECK(!srv_reused);
		(void) tls_session_save(ts, saved);
	    } else {
		CHECK(tls_session_reused(ts) == srv_reused);
		result = tls_session_reused(ts);
	    }
	    CHECK_STR(chat(sp, "QUIT"), "BYE");
	    tls_session_stop(&ts);
	}
	stream_close(&sp);
	CHECK_INT(srv_reap(pid), 0);
    }
    vstring_free(&saved);
    tls_client_free(&cc);
    return result;
}

TEST(test_resumption)
{
    TLS_SERVER_CTX *sc = server_ctx(NULL, 0);

    /* the same context (forked children of one process) */
    CHECK_INT(resume_pair(sc, sc, "TLSv1.3"), 1);
    CHECK_INT(resume_pair(sc, sc, "TLSv1.2"), 1);

    /* two processes of one service sharing a ticket key */
    unsigned char key[TLS_TICKET_KEY_LEN];
    TLS_SERVER_PARAMS p = {0};
    const char *err = NULL;

    for (size_t i = 0; i < sizeof(key); i++)
	key[i] = (unsigned char) (i * 13 + 5);
    p.cert_file = path("rsa-chain.pem");
    p.session_timeout = 600;
    p.ticket_key = key;
    TLS_SERVER_CTX *a = tls_server_init(&p, &err);
    TLS_SERVER_CTX *b = tls_server_init(&p, &err);

    CHECK(a && b);
    if (a && b) {
	CHECK_INT(resume_pair(a, b, "TLSv1.3"), 1);
	CHECK_INT(resume_pair(a, b, "TLSv1.2"), 1);
	/* control: a context with its own random key does not resume */
	CHECK_INT(resume_pair(a, sc, "TLSv1.3"), 0);
    }
    tls_server_free(&a);
    tls_server_free(&b);

    /* session_timeout 0: no resumption */
    p.session_timeout = 0;
    p.ticket_key = NULL;
    TLS_SERVER_CTX *off = tls_server_init(&p, &err);

    CHECK(off != NULL);
    if (off) {
	CHECK_INT(resume_pair(off, off, "TLSv1.3"), 0);
	CHECK_INT(resume_pair(off, off, "TLSv1.2"), 0);
    }
    tls_server_free(&off);
    tls_server_free(&sc);
}

/* selfsigned_handshake - serve params, client trusts ca, verify hostname */
static int selfsigned_handshake(TLS_SERVER_PARAMS *p, const char *ca, const char *host)
{
    const char *err = NULL;
    TLS_SERVER_CTX *sc = tls_server_init(p, &err);
    TLS_CLIENT_CTX *cc = client_ctx(ca, NULL, 0);
    int     trust = -1;

    CHECK(sc != NULL);
    if (sc) {
	SRV     s = {.sc = sc,.mode = SRV_ECHO,.timeout = 10};
	int     fd;
	pid_t   pid = srv_spawn(&s, &fd);
	STREAM *sp = stream_fdopen(fd, true);
	TLS_CLIENT_START props = client_props(TLS_LEV_VERIFY);
	TLS_SESSION *ts;

	props.servername = host;
	ts = tls_client_start(sp, cc, &props, &err);
	if (ts) {
	    trust = (int) tls_session_trust(ts);
	    CHECK_STR(chat(sp, "QUIT"), "BYE");
	    tls_session_stop(&ts);
	} else {
	    UNIT_FAIL("client: %s", err);
	}
	stream_close(&sp);
	CHECK_INT(srv_reap(pid), 0);
	tls_server_free(&sc);
    }
    tls_client_free(&cc);
    return trust;
}

TEST(test_self_signed)
{
    const char *err = NULL;
    struct stat st;

    /* RSA, separate files */
    CHECK_INT(tls_make_self_signed(path("ss.pem"), path("ss.key"), "mx.example.test", &err), 0);
    CHECK(stat(path("ss.key"), &st) == 0 && (st.st_mode & 07777) == 0600);
    CHECK(stat(path("ss.pem"), &st) == 0 && (st.st_mode & 07777) == 0644);
    CHECK_INT(sh("openssl x509 -in ss.pem -noout -text | grep -q 'DNS:mx.example.test'"), 0);
    CHECK_INT(sh("openssl x509 -in ss.pem -noout -subject | grep -q 'CN *= *mx.example.test'"), 0);
    CHECK_INT(sh("openssl x509 -in ss.pem -noout -text | grep -q 'Public-Key: (2048 bit)'"), 0);
    /* valid for (nearly) ten years, not for eleven */
    CHECK_INT(sh("openssl x509 -in ss.pem -noout -checkend %d", 3640 * 86400), 0);
    CHECK(sh("openssl x509 -in ss.pem -noout -checkend %d", 3660 * 86400) != 0);
    CHECK_INT(sh("openssl pkey -in ss.key -noout"), 0);
    CHECK_INT(sh("openssl verify -CAfile ss.pem ss.pem"), 0);

    TLS_SERVER_PARAMS p = {0};

    p.cert_file = path("ss.pem");
    p.key_file = path("ss.key");
    CHECK_INT(selfsigned_handshake(&p, path("ss.pem"), "mx.example.test"), TLS_TRUST_VERIFIED);

    /* ECDSA, one combined file usable as smtpd_tls_chain_files */
    CHECK_INT(tls_make_self_signed_key(path("ec-ss.pem"), NULL, "127.0.0.1", TLS_KEY_ECDSA, &err), 0);
    CHECK(stat(path("ec-ss.pem"), &st) == 0 && (st.st_mode & 07777) == 0600);
    CHECK_INT(sh("openssl x509 -in ec-ss.pem -noout -text | grep -q 'IP Address:127.0.0.1'"), 0);
    CHECK_INT(sh("openssl x509 -in ec-ss.pem -noout -text | grep -q 'prime256v1'"), 0);
    TLS_SERVER_PARAMS q = {0};

    q.chain_files = path("ec-ss.pem");
    CHECK_INT(selfsigned_handshake(&q, path("ec-ss.pem"), "127.0.0.1"), TLS_TRUST_VERIFIED);

    /* overwriting is atomic and replaces the pair */
    CHECK_INT(tls_make_self_signed(path("ss.pem"), path("ss.key"), "mx.example.test", &err), 0);
    CHECK_INT(sh("openssl x509 -in ss.pem -noout -pubkey > a.pub && openssl pkey -in ss.key -pubout > b.pub && cmp -s a.pub b.pub"), 0);

    /* hostile host names never reach the certificate */
    static const char *const bad[] = {"", "a,DNS:evil.example", "x y", ".lead", "a..b",
    "-x", "n\ne", "email:root@x"};

    for (size_t i = 0; i < PH_ARRAY_LEN(bad); i++) {
	err = NULL;
	if (tls_make_self_signed(path("bad.pem"), path("bad.key"), bad[i], &err) != -1
	    || err == NULL || strstr(err, "invalid host name") == NULL)
	    UNIT_FAIL("host name \"%s\" accepted", bad[i]);
    }
    CHECK(access(path("bad.pem"), F_OK) != 0);
    /* an unwritable place gives an error, not a crash */
    CHECK_INT(tls_make_self_signed("/nonexistent/dir/x.pem", NULL, "mx.example.test", &err), -1);
    CHECK(err && strstr(err, "/nonexistent/dir/x.pem"));
}

int     main(void)
{
    msg_init("test_tls", MSG_TO_STDERR);
    signal(SIGPIPE, SIG_IGN);			/* the raw OpenSSL client's sake */
    alarm(280);
    if (mkdtemp(tmpdir) == NULL)
	msg_fatal("mkdtemp: %m");
    if (make_certs() < 0)
	msg_fatal("cannot make test certificates with the openssl command in %s", tmpdir);
    RUN(test_dane);
    RUN(test_config_errors);
    RUN(test_handshake_tls13);
    RUN(test_starttls_injection);
    RUN(test_handshake_tls12_nonblocking);
    RUN(test_server_preference);
    RUN(test_client_certificates);
    RUN(test_protocol_refused);
    RUN(test_verify);
    RUN(test_garbage);
    RUN(test_stall);
    RUN(test_renegotiation);
    RUN(test_rsa_and_ecdsa);
    RUN(test_resumption);
    RUN(test_self_signed);
    sh("rm -rf %s", tmpdir);
    return unit_done();
}
