/* smtp_load - an SMTP load generator for mail-flow benchmarks.
 *
 * USAGE
 *	smtp_load -p PORT [-h HOST] [-n N] [-s SIZE] [-c CONC] [-m PER_CONN]
 *		[-r RCPT] [-f FROM] [-d MAILDIR] [-t TIMEOUT]
 *
 * Sends N messages of about SIZE bytes (headers included) to RCPT with
 * CONC concurrent client threads; each connection sends PER_CONN messages
 * (default 1: one connection per message) with PIPELINING-free plain SMTP
 * (EHLO, MAIL, RCPT, DATA, ., then RSET-less MAIL for the next one, QUIT).
 * Every message carries a unique "Subject: load N" line.
 *
 * Reports on stdout, one "key=value" per line:
 *	accepted=N accept_secs=S accept_rate=R     (250 after DATA)
 *	delivered=N deliver_secs=S deliver_rate=R  (with -d: new/ files in
 *						    MAILDIR counted until all N
 *						    are there, or TIMEOUT s)
 * The Maildir's new/ is expected to be empty at the start (files already
 * there are subtracted). Exit status 0 when every message was accepted
 * (and delivered, with -d), 1 otherwise, 2 on a usage error.
 *
 * LIMITS
 *	A benchmark tool, not a client: replies are read line by line and only
 *	the code is checked; no TLS, no AUTH. At most 1024 threads.
 */
#include "sys_defs.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "vstring.h"

static const char *load_host = "127.0.0.1";
static const char *load_port;
static long load_n = 1000;
static long load_size = 2048;
static int load_conc = 10;
static long load_per_conn = 1;
static const char *load_rcpt = "sink@bench.test";
static const char *load_from = "load@bench.test";
static const char *load_maildir;
static long load_timeout = 300;

static atomic_long load_next;		/* next message number to send */
static atomic_long load_accepted;
static atomic_long load_failed;
static VSTRING *load_body;		/* body lines, dot-safe, CRLF */

/* load_now - monotonic seconds */
static double load_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + ts.tv_nsec / 1e9;
}

/* load_connect - a TCP connection to the server, or -1 */
static int load_connect(void)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM};
    struct addrinfo *res;
    int     fd = -1;
    int     one = 1;

    if (getaddrinfo(load_host, load_port, &hints, &res) != 0)
	return -1;
    fd = socket(res->ai_family, SOCK_STREAM, 0);
    if (fd >= 0 && connect(fd, res->ai_addr, res->ai_addrlen) < 0) {
	close(fd);
	fd = -1;
    }
    if (fd >= 0)
	(void) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    freeaddrinfo(res);
    return fd;
}

typedef struct load_conn {
    int     fd;
    char    buf[4096];
    size_t  len;			/* bytes in buf */
} LOAD_CONN;

/* load_reply - read one reply (all continuation lines); its code or -1 */
static int load_reply(LOAD_CONN *c)
{
    for (;;) {
	char   *nl;

	while ((nl = memchr(c->buf, '\n', c->len)) == NULL) {
	    ssize_t n;

	    if (c->len == sizeof(c->buf))
		c->len = 0;			/* an overlong line: drop it */
	    n = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
	    if (n <= 0)
		return -1;
	    c->len += (size_t) n;
	}
	size_t  line = (size_t) (nl - c->buf) + 1;
	int     code = line >= 4 ? atoi(c->buf) : -1;
	bool    more = line >= 4 && c->buf[3] == '-';

	memmove(c->buf, c->buf + line, c->len - line);
	c->len -= line;
	if (!more)
	    return code;
    }
}

/* load_write - write all of buf; 0 or -1 */
static int load_write(int fd, const char *buf, size_t len)
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

/* load_cmd - send a command, expect a reply class; 0 or -1 */
static int load_cmd(LOAD_CONN *c, const char *cmd, int want)
{
    if (load_write(c->fd, cmd, strlen(cmd)) < 0)
	return -1;
    int     code = load_reply(c);

    return code / 100 == want ? 0 : -1;
}

/* load_thread - one client: connections until all messages are taken */
static void *load_thread(void *arg)
{
    VSTRING *cmd = vstring_alloc(256);
    VSTRING *msg = vstring_alloc((size_t) load_size + 512);
    LOAD_CONN *c = malloc(sizeof(*c));

    (void) arg;
    for (;;) {
	long    first = atomic_fetch_add(&load_next, load_per_conn);

	if (first >= load_n)
	    break;
	long    last = first + load_per_conn < load_n ? first + load_per_conn : load_n;

	c->len = 0;
	if ((c->fd = load_connect()) < 0 || load_reply(c) != 220
	    || load_cmd(c, "EHLO load.bench.test\r\n", 2) < 0) {
	    atomic_fetch_add(&load_failed, last - first);
	    if (c->fd >= 0)
		close(c->fd);
	    continue;
	}
	for (long i = first; i < last; i++) {
	    vstring_fmt(cmd, "MAIL FROM:<%s>\r\n", load_from);
	    if (load_cmd(c, STR(cmd), 2) < 0)
		goto fail;
	    vstring_fmt(cmd, "RCPT TO:<%s>\r\n", load_rcpt);
	    if (load_cmd(c, STR(cmd), 2) < 0 || load_cmd(c, "DATA\r\n", 3) < 0)
		goto fail;
	    vstring_fmt(msg, "From: <%s>\r\nTo: <%s>\r\nSubject: load %ld\r\n"
			"Message-ID: <load.%ld.%ld@bench.test>\r\n\r\n",
			load_from, load_rcpt, i, i, (long) getpid());
	    vstring_catn(msg, STR(load_body), LEN(load_body));
	    vstring_cat(msg, ".\r\n");
	    if (load_write(c->fd, STR(msg), LEN(msg)) < 0 || load_reply(c) != 250)
		goto fail;
	    atomic_fetch_add(&load_accepted, 1);
	    continue;
    fail:
	    atomic_fetch_add(&load_failed, last - i);
	    break;
	}
	(void) load_cmd(c, "QUIT\r\n", 2);
	close(c->fd);
    }
    free(c);
    vstring_free(&cmd);
    vstring_free(&msg);
    return NULL;
}

/* load_count - files in MAILDIR/new */
static long load_count(void)
{
    VSTRING *path = vstring_alloc(256);
    DIR    *d;
    struct dirent *e;
    long    n = 0;

    vstring_fmt(path, "%s/new", load_maildir);
    if ((d = opendir(STR(path))) != NULL) {
	while ((e = readdir(d)) != NULL)
	    if (e->d_name[0] != '.')
		n++;
	closedir(d);
    }
    vstring_free(&path);
    return n;
}

/* load_usage - complain and exit */
static void load_usage(void)
{
    fprintf(stderr, "usage: smtp_load -p PORT [-h HOST] [-n N] [-s SIZE] [-c CONC] "
	    "[-m PER_CONN] [-r RCPT] [-f FROM] [-d MAILDIR] [-t TIMEOUT]\n");
    exit(2);
}

/* main - send, then count deliveries */
int     main(int argc, char **argv)
{
    int     ch;
    pthread_t *tids;
    double  t0, t1, t2 = 0;
    long    before = 0, delivered = 0;

    while ((ch = getopt(argc, argv, "h:p:n:s:c:m:r:f:d:t:")) != -1) {
	switch (ch) {
	case 'h': load_host = optarg; break;
	case 'p': load_port = optarg; break;
	case 'n': load_n = atol(optarg); break;
	case 's': load_size = atol(optarg); break;
	case 'c': load_conc = atoi(optarg); break;
	case 'm': load_per_conn = atol(optarg); break;
	case 'r': load_rcpt = optarg; break;
	case 'f': load_from = optarg; break;
	case 'd': load_maildir = optarg; break;
	case 't': load_timeout = atol(optarg); break;
	default: load_usage();
	}
    }
    if (load_port == NULL || load_n < 1 || load_size < 0 || load_conc < 1 || load_conc > 1024
	|| load_per_conn < 1 || optind != argc)
	load_usage();
    /* Body: 76-character lines of 'x' (never a lone "."), SIZE bytes in all. */
    load_body = vstring_alloc((size_t) load_size + 80);
    while ((long) LEN(load_body) + 78 <= load_size)
	vstring_cat(load_body, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n");
    if (load_maildir)
	before = load_count();

    tids = calloc((size_t) load_conc, sizeof(*tids));
    t0 = load_now();
    for (int i = 0; i < load_conc; i++)
	if (pthread_create(&tids[i], NULL, load_thread, NULL) != 0) {
	    fprintf(stderr, "smtp_load: pthread_create failed\n");
	    return 1;
	}
    for (int i = 0; i < load_conc; i++)
	pthread_join(tids[i], NULL);
    t1 = load_now();
    free(tids);
    printf("accepted=%ld\nfailed=%ld\naccept_secs=%.3f\naccept_rate=%.1f\n",
	   (long) load_accepted, (long) load_failed, t1 - t0, load_accepted / (t1 - t0));
    if (load_maildir) {
	for (;;) {
	    delivered = load_count() - before;
	    t2 = load_now();
	    if (delivered >= load_accepted || t2 - t0 > load_timeout)
		break;
	    usleep(2000);
	}
	printf("delivered=%ld\ndeliver_secs=%.3f\ndeliver_rate=%.1f\n",
	       delivered, t2 - t0, delivered / (t2 - t0));
    }
    vstring_free(&load_body);
    return load_accepted == load_n && (!load_maildir || delivered >= load_n) ? 0 : 1;
}
