/* imap_load - a small IMAP client for bench/imap_bench.py.
 *
 * Usage:
 *	imap_load -u USER -w PASS HOST PORT session CMD ...
 *	imap_load -u USER -w PASS [-m MAILBOX] HOST PORT idle N
 *
 * session: one connection; times the connect + greeting ("connect"),
 * then LOGIN, then each CMD in order (sent as "tag CMD"), and prints one
 * line per step on stdout:
 *	STEP<TAB>seconds<TAB>response-bytes<TAB>untagged-lines<TAB>literal-bytes
 * STEP is "connect", "login" or the CMD text. A step whose tagged reply
 * is not OK prints its reply on stderr and exits 1.
 *
 * idle: opens N connections one after another, each LOGIN, SELECT
 * MAILBOX (default INBOX), IDLE (waits for the "+" continuation), then
 * prints "ready N SECONDS" and waits for a line (or EOF) on stdin; then
 * sends DONE and LOGOUT on every connection, checks the replies, and
 * prints "done OK-COUNT". Raises RLIMIT_NOFILE as far as it may.
 *
 * The reader understands literals ({N} or {N+} at the end of a line), so
 * bodies are skipped by length, never scanned line by line. It reads with
 * a 256 KiB buffer and does no parsing beyond that: the client costs far
 * less CPU than either server. Every read has a 600 s timeout.
 * Limits: lines up to 1 MiB; plain TCP only (benchmarks run on loopback).
 */
#include "sys_defs.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "msg.h"
#include "mymalloc.h"
#include "vstring.h"

#define BUF_SIZE	(256 * 1024)
#define LINE_MAX_LEN	(1024 * 1024)
#define IO_TIMEOUT_MS	600000

typedef struct CONN {
    int     fd;
    char   *buf;
    size_t  head;
    size_t  tail;
    unsigned tagno;
    VSTRING *line;
    size_t  bytes;			/* response bytes of the last command */
    size_t  untagged;			/* untagged lines of the last command */
    size_t  literal;			/* literal bytes of the last command */
} CONN;

/* now - monotonic seconds */
static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* conn_fill - read more bytes into the buffer; 0 on EOF */
static int conn_fill(CONN *c)
{
    struct pollfd pfd = {.fd = c->fd,.events = POLLIN};
    ssize_t n;

    if (c->head == c->tail)
	c->head = c->tail = 0;
    if (c->tail == BUF_SIZE) {
	memmove(c->buf, c->buf + c->head, c->tail - c->head);
	c->tail -= c->head;
	c->head = 0;
    }
    for (;;) {
	int     rc = poll(&pfd, 1, IO_TIMEOUT_MS);

	if (rc < 0 && errno == EINTR)
	    continue;
	if (rc <= 0)
	    msg_fatal("read timeout or poll error: %m");
	n = read(c->fd, c->buf + c->tail, BUF_SIZE - c->tail);
	if (n < 0 && errno == EINTR)
	    continue;
	if (n < 0)
	    msg_fatal("read: %m");
	c->tail += (size_t) n;
	c->bytes += (size_t) n;
	return n > 0;
    }
}

/* conn_line - next CRLF line (without CRLF) into c->line; 0 on EOF */
static int conn_line(CONN *c)
{
    vstring_reset(c->line);
    for (;;) {
	char   *start = c->buf + c->head;
	char   *nl = memchr(start, '\n', c->tail - c->head);
	size_t  take = nl ? (size_t) (nl - start) + 1 : c->tail - c->head;

	vstring_catn(c->line, start, take);
	c->head += take;
	if (nl)
	    break;
	if (LEN(c->line) > LINE_MAX_LEN)
	    msg_fatal("response line longer than %d bytes", LINE_MAX_LEN);
	if (!conn_fill(c))
	    return 0;
    }
    vstring_truncate(c->line, LEN(c->line) - 1);
    if (LEN(c->line) > 0 && STR(c->line)[LEN(c->line) - 1] == '\r')
	vstring_truncate(c->line, LEN(c->line) - 1);
    return 1;
}

/* conn_skip - consume n literal bytes */
static void conn_skip(CONN *c, size_t n)
{
    while (n > 0) {
	size_t  have = c->tail - c->head;

	if (have == 0) {
	    if (!conn_fill(c))
		msg_fatal("EOF inside a literal");
	    continue;
	}
	if (have > n)
	    have = n;
	c->head += have;
	n -= have;
	c->literal += have;
    }
}

/* literal_size - N when the line ends in {N} or {N+}, else -1 */
static long literal_size(const VSTRING *line)
{
    const char *s = STR(line);
    size_t  len = LEN(line);
    size_t  i;

    if (len < 3 || s[len - 1] != '}')
	return -1;
    i = len - 1;
    if (s[i - 1] == '+')
	i--;
    while (i > 0 && s[i - 1] >= '0' && s[i - 1] <= '9')
	i--;
    if (i == 0 || s[i - 1] != '{' || i == len - 1)
	return -1;
    return strtol(s + i, (char **) 0, 10);
}

/* conn_write - send all bytes */
static void conn_write(CONN *c, const char *data, size_t len)
{
    while (len > 0) {
	ssize_t n = write(c->fd, data, len);

	if (n < 0 && errno == EINTR)
	    continue;
	if (n < 0)
	    msg_fatal("write: %m");
	data += n;
	len -= (size_t) n;
    }
}

/* conn_open - connect and read the greeting */
static CONN *conn_open(const char *host, const char *port)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res;
    CONN   *c = (CONN *) mymalloc(sizeof(*c));
    int     err;

    if ((err = getaddrinfo(host, port, &hints, &res)) != 0)
	msg_fatal("%s:%s: %s", host, port, gai_strerror(err));
    c->fd = socket(res->ai_family, SOCK_STREAM, 0);
    if (c->fd < 0)
	msg_fatal("socket: %m");
    if (connect(c->fd, res->ai_addr, res->ai_addrlen) < 0)
	msg_fatal("connect %s:%s: %m", host, port);
    freeaddrinfo(res);
    c->buf = mymalloc(BUF_SIZE);
    c->head = c->tail = 0;
    c->tagno = 0;
    c->line = vstring_alloc(256);
    c->bytes = c->untagged = c->literal = 0;
    if (!conn_line(c) || strncmp(STR(c->line), "* OK", 4) != 0)
	msg_fatal("bad greeting: %s", STR(c->line));
    return c;
}

/* conn_free - close and release */
static void conn_free(CONN **cp)
{
    CONN   *c = *cp;

    close(c->fd);
    myfree(c->buf);
    vstring_free(&c->line);
    myfree(c);
    *cp = 0;
}

/* conn_send - send "tag CMD" and return the tag in tag_r */
static void conn_send(CONN *c, const char *cmd, VSTRING *tag_r)
{
    VSTRING *out = vstring_alloc(100);

    vstring_fmt(tag_r, "t%u", ++c->tagno);
    vstring_fmt(out, "%s %s\r\n", STR(tag_r), cmd);
    conn_write(c, STR(out), LEN(out));
    vstring_free(&out);
}

/* conn_wait - read until the tagged reply to tag; 1 when it is OK */
static int conn_wait(CONN *c, const char *tag)
{
    size_t  tlen = strlen(tag);
    long    lit;

    for (;;) {
	if (!conn_line(c))
	    msg_fatal("EOF waiting for %s", tag);
	while ((lit = literal_size(c->line)) >= 0) {
	    conn_skip(c, (size_t) lit);
	    if (!conn_line(c))
		msg_fatal("EOF after a literal");
	}
	if (strncmp(STR(c->line), tag, tlen) == 0 && STR(c->line)[tlen] == ' ')
	    return strncmp(STR(c->line) + tlen + 1, "OK", 2) == 0;
	if (STR(c->line)[0] == '*')
	    c->untagged++;
    }
}

/* conn_command - run one command; 1 when OK */
static int conn_command(CONN *c, const char *cmd)
{
    VSTRING *tag = vstring_alloc(16);
    int     ok;

    c->bytes = (c->tail - c->head);
    c->untagged = c->literal = 0;
    conn_send(c, cmd, tag);
    ok = conn_wait(c, STR(tag));
    vstring_free(&tag);
    return ok;
}

/* quote - an IMAP quoted string */
static void quote(VSTRING *out, const char *s)
{
    vstring_addch(out, '"');
    for (; *s; s++) {
	if (*s == '"' || *s == '\\')
	    vstring_addch(out, '\\');
	vstring_addch(out, *s);
    }
    vstring_addch(out, '"');
}

/* login_cmd - "LOGIN user pass" */
static void login_cmd(VSTRING *out, const char *user, const char *pass)
{
    vstring_set(out, "LOGIN ");
    quote(out, user);
    vstring_addch(out, ' ');
    quote(out, pass);
}

/* run_session - the session mode */
static int run_session(const char *host, const char *port, const char *user,
		               const char *pass, int argc, char **argv)
{
    VSTRING *cmd = vstring_alloc(100);
    double  t0 = now();
    CONN   *c = conn_open(host, port);

    printf("connect\t%.6f\t0\t0\t0\n", now() - t0);
    login_cmd(cmd, user, pass);
    t0 = now();
    if (!conn_command(c, STR(cmd)))
	msg_fatal("LOGIN failed: %s", STR(c->line));
    printf("login\t%.6f\t%zu\t%zu\t%zu\n", now() - t0, c->bytes, c->untagged, c->literal);
    for (int i = 0; i < argc; i++) {
	t0 = now();
	if (!conn_command(c, argv[i]))
	    msg_fatal("%s failed: %s", argv[i], STR(c->line));
	printf("%s\t%.6f\t%zu\t%zu\t%zu\n", argv[i], now() - t0, c->bytes,
	       c->untagged, c->literal);
	fflush(stdout);
    }
    (void) conn_command(c, "LOGOUT");
    conn_free(&c);
    vstring_free(&cmd);
    return 0;
}

/* run_idle - the idle mode */
static int run_idle(const char *host, const char *port, const char *user,
		            const char *pass, const char *mailbox, int n)
{
    CONN  **conns = (CONN **) mymalloc(sizeof(CONN *) * (size_t) n);
    VSTRING *cmd = vstring_alloc(100);
    VSTRING *tag = vstring_alloc(16);
    struct rlimit rl;
    double  t0 = now();
    char    line[100];
    int     ok = 0;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
	rl.rlim_cur = rl.rlim_max;
	(void) setrlimit(RLIMIT_NOFILE, &rl);
    }
    for (int i = 0; i < n; i++) {
	CONN   *c = conns[i] = conn_open(host, port);

	login_cmd(cmd, user, pass);
	if (!conn_command(c, STR(cmd)))
	    msg_fatal("connection %d: LOGIN failed: %s", i, STR(c->line));
	vstring_set(cmd, "SELECT ");
	quote(cmd, mailbox);
	if (!conn_command(c, STR(cmd)))
	    msg_fatal("connection %d: SELECT failed: %s", i, STR(c->line));
	conn_send(c, "IDLE", tag);
	do {
	    if (!conn_line(c))
		msg_fatal("connection %d: EOF waiting for IDLE", i);
	} while (STR(c->line)[0] == '*');
	if (STR(c->line)[0] != '+')
	    msg_fatal("connection %d: IDLE refused: %s", i, STR(c->line));
    }
    printf("ready %d %.3f\n", n, now() - t0);
    fflush(stdout);
    (void) fgets(line, sizeof(line), stdin);
    for (int i = 0; i < n; i++)
	conn_write(conns[i], "DONE\r\n", 6);
    for (int i = 0; i < n; i++) {
	vstring_fmt(tag, "t%u", conns[i]->tagno);
	if (conn_wait(conns[i], STR(tag)) && conn_command(conns[i], "LOGOUT"))
	    ok++;
	conn_free(&conns[i]);
    }
    printf("done %d\n", ok);
    myfree(conns);
    vstring_free(&cmd);
    vstring_free(&tag);
    return ok == n ? 0 : 1;
}

/* usage - complain and exit */
static void usage(void)
{
    msg_fatal("usage: imap_load -u USER -w PASS [-m MAILBOX] HOST PORT "
	      "session CMD... | idle N");
}

int     main(int argc, char **argv)
{
    const char *user = 0, *pass = 0, *mailbox = "INBOX";
    int     ch;

    msg_init("imap_load", MSG_TO_STDERR);
    while ((ch = getopt(argc, argv, "u:w:m:")) > 0) {
	switch (ch) {
	case 'u':
	    user = optarg;
	    break;
	case 'w':
	    pass = optarg;
	    break;
	case 'm':
	    mailbox = optarg;
	    break;
	default:
	    usage();
	}
    }
    argc -= optind;
    argv += optind;
    if (!user || !pass || argc < 3)
	usage();
    if (strcmp(argv[2], "session") == 0)
	return run_session(argv[0], argv[1], user, pass, argc - 3, argv + 3);
    if (strcmp(argv[2], "idle") == 0 && argc == 4)
	return run_idle(argv[0], argv[1], user, pass, mailbox, atoi(argv[3]));
    usage();
    return 1;
}
