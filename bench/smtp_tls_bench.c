/* smtp_tls_bench - TLS handshakes/s and authenticated submissions/s
 * against any SMTP server (Posthorn's or Postfix's smtpd).
 *
 * usage: smtp_tls_bench [-m handshake|submit] [-S] [-p procs] [-n per proc]
 *	     [-u user -w password] [-r rcpt] host port
 *
 *   handshake  connect, full TLS handshake (no resumption), read the 220
 *		greeting, QUIT: the cost of a new TLS client on port 465.
 *   submit	connect, TLS, EHLO, AUTH PLAIN, MAIL, RCPT, DATA (a 1 KB
 *		message), QUIT: one authenticated submission per connection.
 *   -S		STARTTLS on a plain port (587) instead of TLS from the first
 *		byte (465).
 *
 * procs processes run n sessions each, one after the other. Output: one
 * line "MODE: N sessions in S s (R/s), F failed". Exit 1 when any session
 * failed. The server certificate is not verified (a benchmark, not a
 * client). Limits: replies longer than 4 KB per line are a failure.
 */
#include "sys_defs.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "base64_code.h"
#include "msg.h"
#include "vstring.h"

typedef struct bench_conn {
    int     fd;
    SSL    *ssl;
    char    buf[4096];
    size_t  len;
} BENCH_CONN;

static const char *bench_host;
static int bench_port;
static bool bench_starttls;
static bool bench_submit;
static const char *bench_user = "alice@example.com";
static const char *bench_pass = "secret";
static const char *bench_rcpt = "bench@remote.example";

/* bench_now - seconds as a double */
static double bench_now(void)
{
    struct timeval tv;

    gettimeofday(&tv, NULL);
    return (double) tv.tv_sec + (double) tv.tv_usec / 1e6;
}

/* bench_write - all bytes, TLS or plain; 0 or -1 */
static int bench_write(BENCH_CONN *c, const char *text)
{
    size_t  len = strlen(text);

    if (c->ssl)
	return SSL_write(c->ssl, text, (int) len) == (int) len ? 0 : -1;
    return write(c->fd, text, len) == (ssize_t) len ? 0 : -1;
}

/* bench_reply - read one whole reply; its code, or -1 */
static int bench_reply(BENCH_CONN *c)
{
    for (;;) {
	char   *nl = memchr(c->buf, '\n', c->len);

	if (nl != NULL) {
	    size_t  line = (size_t) (nl - c->buf) + 1;
	    bool    last = line < 4 || c->buf[3] != '-';
	    int     code = atoi(c->buf);

	    memmove(c->buf, nl + 1, c->len - line);
	    c->len -= line;
	    if (last)
		return code;
	    continue;
	}
	if (c->len == sizeof(c->buf))
	    return -1;
	ssize_t n = c->ssl ? SSL_read(c->ssl, c->buf + c->len, (int) (sizeof(c->buf) - c->len))
	    : read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);

	if (n <= 0)
	    return -1;
	c->len += (size_t) n;
    }
}

/* bench_cmd - send a command, expect a reply class */
static int bench_cmd(BENCH_CONN *c, const char *text, int want)
{
    if (bench_write(c, text) < 0)
	return -1;
    return bench_reply(c) / 100 == want ? 0 : -1;
}

/* bench_session - one session; 0 or -1 */
static int bench_session(SSL_CTX *ctx, const char *plain_b64)
{
    struct sockaddr_in sin;
    BENCH_CONN c;
    int     ret = -1;
    int     one = 1;
    VSTRING *cmd = vstring_alloc(100);

    memset(&c, 0, sizeof(c));
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_port = htons((unsigned short) bench_port);
    if (inet_pton(AF_INET, bench_host, &sin.sin_addr) != 1)
	msg_fatal("bad IPv4 address %s", bench_host);
    if ((c.fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
	msg_fatal("socket: %m");
    (void) setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(c.fd, (struct sockaddr *) &sin, sizeof(sin)) < 0)
	goto done;
    if (bench_starttls) {
	if (bench_reply(&c) != 220 || bench_cmd(&c, "EHLO bench.example\r\n", 2) < 0
	    || bench_cmd(&c, "STARTTLS\r\n", 2) < 0)
	    goto done;
    }
    c.ssl = SSL_new(ctx);
    SSL_set_fd(c.ssl, c.fd);
    if (SSL_connect(c.ssl) != 1)
	goto done;
    if (!bench_starttls && bench_reply(&c) != 220)
	goto done;
    if (bench_submit) {
	vstring_fmt(cmd, "AUTH PLAIN %s\r\n", plain_b64);
	if (bench_cmd(&c, "EHLO bench.example\r\n", 2) < 0 || bench_cmd(&c, STR(cmd), 2) < 0)
	    goto done;
	vstring_fmt(cmd, "MAIL FROM:<%s>\r\n", bench_user);
	if (bench_cmd(&c, STR(cmd), 2) < 0)
	    goto done;
	vstring_fmt(cmd, "RCPT TO:<%s>\r\n", bench_rcpt);
	if (bench_cmd(&c, STR(cmd), 2) < 0 || bench_cmd(&c, "DATA\r\n", 3) < 0)
	    goto done;
	vstring_fmt(cmd, "From: <%s>\r\nTo: <%s>\r\nSubject: bench\r\n\r\n", bench_user,
		    bench_rcpt);
	for (int i = 0; i < 14; i++)
	    vstring_cat(cmd, "0123456789012345678901234567890123456789012345678901234567890123456789\r\n");
	vstring_cat(cmd, ".\r\n");
	if (bench_cmd(&c, STR(cmd), 2) < 0)
	    goto done;
    }
    if (bench_cmd(&c, "QUIT\r\n", 2) < 0)
	goto done;
    ret = 0;
done:
    if (c.ssl) {
	if (ret == 0)
	    (void) SSL_shutdown(c.ssl);
	SSL_free(c.ssl);
    }
    close(c.fd);
    vstring_free(&cmd);
    return ret;
}

/* usage - complain and exit */
PH_NORETURN static void usage(void)
{
    msg_fatal("usage: smtp_tls_bench [-m handshake|submit] [-S] [-p procs] [-n per proc] "
	      "[-u user -w password] [-r rcpt] host port");
}

/* main - fork the workers, add up */
int     main(int argc, char **argv)
{
    int     procs = 2, per = 200, ch, failed = 0;
    int     pfd[2];
    double  t0, t1;
    VSTRING *plain = vstring_alloc(100);
    VSTRING *b64 = vstring_alloc(100);

    msg_init("smtp_tls_bench", MSG_TO_STDERR);
    while ((ch = getopt(argc, argv, "m:Sp:n:u:w:r:")) != -1) {
	switch (ch) {
	case 'm':
	    if (strcmp(optarg, "submit") == 0)
		bench_submit = true;
	    else if (strcmp(optarg, "handshake") != 0)
		usage();
	    break;
	case 'S':
	    bench_starttls = true;
	    break;
	case 'p':
	    procs = atoi(optarg);
	    break;
	case 'n':
	    per = atoi(optarg);
	    break;
	case 'u':
	    bench_user = optarg;
	    break;
	case 'w':
	    bench_pass = optarg;
	    break;
	case 'r':
	    bench_rcpt = optarg;
	    break;
	default:
	    usage();
	}
    }
    if (argc - optind != 2 || procs < 1 || per < 1)
	usage();
    bench_host = argv[optind];
    bench_port = atoi(argv[optind + 1]);
    vstring_addch(plain, 0);
    vstring_cat(plain, bench_user);
    vstring_addch(plain, 0);
    vstring_cat(plain, bench_pass);
    base64_encode(b64, STR(plain), LEN(plain));
    if (pipe(pfd) < 0)
	msg_fatal("pipe: %m");
    t0 = bench_now();
    for (int p = 0; p < procs; p++) {
	pid_t   pid = fork();

	if (pid < 0)
	    msg_fatal("fork: %m");
	if (pid == 0) {
	    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	    int     bad = 0;

	    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	    for (int i = 0; i < per; i++)
		bad += bench_session(ctx, STR(b64)) < 0;
	    SSL_CTX_free(ctx);
	    if (write(pfd[1], &bad, sizeof(bad)) != (ssize_t) sizeof(bad))
		_exit(2);
	    _exit(0);
	}
    }
    close(pfd[1]);
    for (int p = 0; p < procs; p++) {
	int     bad;

	if (read(pfd[0], &bad, sizeof(bad)) == (ssize_t) sizeof(bad))
	    failed += bad;
	else
	    failed += per;
    }
    while (wait(NULL) > 0)
	 /* void */ ;
    t1 = bench_now();
    printf("%s%s: %d sessions in %.2f s (%.1f/s), %d failed\n",
	   bench_submit ? "submit" : "handshake", bench_starttls ? " (STARTTLS)" : "",
	   procs * per, t1 - t0, (double) (procs * per) / (t1 - t0), failed);
    vstring_free(&plain);
    vstring_free(&b64);
    return failed ? 1 : 0;
}
