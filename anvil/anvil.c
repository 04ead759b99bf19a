/* anvil - connection count and rate service (Postfix's anvil(8)).
 *
 * Contract: a multi_server on the unix socket private/anvil. Clients
 * (smtpd processes) report connect/disconnect/message events for a key
 * "service:client-address" and get back the simultaneous connection
 * count and the connection or message rate in the current
 * anvil_rate_time_unit window. The protocol is in lib/anvil_clnt.h.
 * anvil only counts; the clients enforce their limits.
 *
 * Ownership: the connections a client added are remembered per client
 * and released when that client's connection to anvil closes, so a
 * crashed smtpd leaves no phantom connections.
 *
 * Limits: a request is one attr message (attr.h bounds) of at most
 * ANVIL_INBUF_MAX bytes, collected without blocking (a slow client never
 * stalls the others); keys longer than ANVIL_IDENT_MAX are refused
 * (status=1). Idle entries (no connections,
 * rate windows expired) are purged every anvil_rate_time_unit, so memory
 * follows the number of recently active clients. Every
 * ANVIL_STATS_INTERVAL seconds the maximal connection count and rates
 * seen are logged as "statistics:" lines (as Postfix does).
 */
#include "sys_defs.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "anvil_clnt.h"
#include "attr.h"
#include "config.h"
#include "events.h"
#include "htable.h"
#include "msg.h"
#include "mymalloc.h"
#include "server.h"
#include "stream.h"
#include "vstring.h"

#define ANVIL_IDENT_MAX 300

/* Counters for one service:address. */
typedef struct anvil_remote {
    long    count;			/* simultaneous connections */
    long    rate;			/* connections in this window */
    time_t  rate_start;
    long    msg_rate;			/* messages in this window */
    time_t  msg_start;
} ANVIL_REMOTE;

/* One client (an smtpd process) of anvil. */
typedef struct anvil_client {
    int     fd;
    STREAM *sp;
    HTABLE *owned;			/* ident -> connections it added (intptr_t) */
    ATTR_LIST *req;
    VSTRING *inbuf;			/* bytes of requests not yet complete */
    size_t  inpos;			/* memory stream read position */
    size_t  inend;			/* end of the message being scanned */
} ANVIL_CLIENT;

#define ANVIL_INBUF_MAX	(64 * 1024)	/* an incomplete request at most */

static HTABLE *anvil_remotes;

#define ANVIL_STATS_INTERVAL 600	/* seconds between statistics lines */
static time_t anvil_stats_last;

/* Maxima for the statistics lines. */
static struct anvil_max {
    long    count, rate, msg_rate;
    char    count_ident[ANVIL_IDENT_MAX + 1];
    char    rate_ident[ANVIL_IDENT_MAX + 1];
    char    msg_ident[ANVIL_IDENT_MAX + 1];
} anvil_max;

/* anvil_unit - the rate window in seconds */
static long anvil_unit(void)
{
    return var_anvil_rate_time_unit > 0 ? var_anvil_rate_time_unit : 60;
}

/* anvil_remote_get - counters for ident, created on demand */
static ANVIL_REMOTE *anvil_remote_get(const char *ident)
{
    ANVIL_REMOTE *ar = htable_find(anvil_remotes, ident);

    if (ar == NULL) {
	ar = mycalloc(1, sizeof(*ar));
	htable_enter(anvil_remotes, ident, ar);
    }
    return ar;
}

/* anvil_window - restart a rate window that has expired */
static void anvil_window(long *rate, time_t *start, time_t now)
{
    if (now - *start >= anvil_unit() || now < *start) {
	*start = now;
	*rate = 0;
    }
}

/* anvil_note_max - remember a new maximum for the statistics */
static void anvil_note_max(long value, long *max, char *ident_buf, const char *ident)
{
    if (value > *max) {
	*max = value;
	ph_strlcpy(ident_buf, ident, ANVIL_IDENT_MAX + 1);
    }
}

/* anvil_owned_add - adjust what a client owns */
static void anvil_owned_add(ANVIL_CLIENT *ac, const char *ident, long delta)
{
    HTABLE_ENTRY *he = htable_locate(ac->owned, ident);
    long    n = (he ? (long) (intptr_t) he->value : 0) + delta;

    if (n <= 0) {
	if (he)
	    htable_delete(ac->owned, ident, NULL);
    } else if (he) {
	he->value = (void *) (intptr_t) n;
    } else {
	htable_enter(ac->owned, ident, (void *) (intptr_t) n);
    }
}

/* anvil_do_connect - one more connection */
static void anvil_do_connect(ANVIL_CLIENT *ac, const char *ident)
{
    ANVIL_REMOTE *ar = anvil_remote_get(ident);
    time_t  now = time(NULL);

    anvil_window(&ar->rate, &ar->rate_start, now);
    ar->count++;
    ar->rate++;
    anvil_owned_add(ac, ident, 1);
    anvil_note_max(ar->count, &anvil_max.count, anvil_max.count_ident, ident);
    anvil_note_max(ar->rate, &anvil_max.rate, anvil_max.rate_ident, ident);
    attr_print(ac->sp, ATTR_INT, "status", 0L, ATTR_INT, "count", ar->count,
	       ATTR_INT, "rate", ar->rate, ATTR_END);
}

/* anvil_do_disconnect - one connection fewer (only one this client added) */
static void anvil_do_disconnect(ANVIL_CLIENT *ac, const char *ident)
{
    HTABLE_ENTRY *he = htable_locate(ac->owned, ident);
    ANVIL_REMOTE *ar = htable_find(anvil_remotes, ident);

    if (he && ar && ar->count > 0) {
	ar->count--;
	anvil_owned_add(ac, ident, -1);
    } else {
	msg_warn("disconnect for %s without a matching connect", ident);
    }
    attr_print(ac->sp, ATTR_INT, "status", 0L, ATTR_END);
}

/* anvil_do_message - one more message */
static void anvil_do_message(ANVIL_CLIENT *ac, const char *ident)
{
    ANVIL_REMOTE *ar = anvil_remote_get(ident);

    anvil_window(&ar->msg_rate, &ar->msg_start, time(NULL));
    ar->msg_rate++;
    anvil_note_max(ar->msg_rate, &anvil_max.msg_rate, anvil_max.msg_ident, ident);
    attr_print(ac->sp, ATTR_INT, "status", 0L, ATTR_INT, "rate", ar->msg_rate, ATTR_END);
}

/* anvil_do_lookup - report without changing anything */
static void anvil_do_lookup(ANVIL_CLIENT *ac, const char *ident)
{
    ANVIL_REMOTE *ar = htable_find(anvil_remotes, ident);
    time_t  now = time(NULL);
    long    count = 0, rate = 0, mrate = 0;

    if (ar) {
	anvil_window(&ar->rate, &ar->rate_start, now);
	anvil_window(&ar->msg_rate, &ar->msg_start, now);
	count = ar->count;
	rate = ar->rate;
	mrate = ar->msg_rate;
    }
    attr_print(ac->sp, ATTR_INT, "status", 0L, ATTR_INT, "count", count,
	       ATTR_INT, "rate", rate, ATTR_INT, "message_rate", mrate, ATTR_END);
}

/* anvil_client_close - release a client and what it owned */
static void anvil_client_close(ANVIL_CLIENT *ac)
{
    HTABLE_ENTRY **list = htable_list(ac->owned);

    for (HTABLE_ENTRY **hp = list; *hp; hp++) {
	ANVIL_REMOTE *ar = htable_find(anvil_remotes, (*hp)->key);
	long    n = (long) (intptr_t) (*hp)->value;

	if (ar)
	    ar->count = ar->count > n ? ar->count - n : 0;
    }
    myfree(list);
    htable_free(&ac->owned, NULL);
    attr_list_free(&ac->req);
    vstring_free(&ac->inbuf);
    event_disable(ac->fd);
    (void) stream_close(&ac->sp);
    multi_server_disconnect(ac->fd);
    myfree(ac);
}

/* anvil_mem_read - serve the complete message in inbuf to attr_list_scan */
static ssize_t anvil_mem_read(STREAM *sp, void *buf, size_t len, void *ctx, bool *want_write)
{
    ANVIL_CLIENT *ac = ctx;
    size_t  n = ac->inend - ac->inpos;

    (void) sp;
    (void) want_write;
    if (n > len)
	n = len;
    memcpy(buf, STR(ac->inbuf) + ac->inpos, n);
    ac->inpos += n;
    return (ssize_t) n;
}

/* anvil_request - serve the complete message inbuf[0..end); 0, or -1 to
 * drop the client */
static int anvil_request(ANVIL_CLIENT *ac, size_t end)
{
    const char *err = NULL;
    const char *request, *ident;
    STREAM *mem = stream_fdopen(-1, false);
    int     n;

    ac->inpos = 0;
    ac->inend = end;
    stream_set_io(mem, anvil_mem_read, NULL, ac);
    n = attr_list_scan(mem, ac->req, &err);
    (void) stream_close(&mem);
    if (n <= 0) {
	msg_warn("anvil client: %s", err ? err : "empty request");
	return -1;
    }
    request = attr_list_get(ac->req, "request");
    ident = attr_list_get(ac->req, "ident");
    if (request == NULL || ident == NULL || ac->req->count != 2
	|| strlen(ident) > ANVIL_IDENT_MAX || strchr(ident, ':') == NULL) {
	msg_warn("anvil client: malformed request");
	attr_print(ac->sp, ATTR_INT, "status", 1L, ATTR_END);
    } else if (strcmp(request, "connect") == 0) {
	anvil_do_connect(ac, ident);
    } else if (strcmp(request, "disconnect") == 0) {
	anvil_do_disconnect(ac, ident);
    } else if (strcmp(request, "message") == 0) {
	anvil_do_message(ac, ident);
    } else if (strcmp(request, "lookup") == 0) {
	anvil_do_lookup(ac, ident);
    } else {
	msg_warn("anvil client: unknown request \"%s\"", request);
	attr_print(ac->sp, ATTR_INT, "status", 1L, ATTR_END);
    }
    return 0;
}

/* anvil_read - a client has something for us. Bytes are collected per
 * client and only complete messages (ended by an empty line) are scanned,
 * so a client that sends half a request never stalls the others. */
static void anvil_read(int event, int fd, void *ctx)
{
    ANVIL_CLIENT *ac = ctx;
    char    buf[4096];
    ssize_t n;
    char   *end;

    (void) event;
    n = read(fd, buf, sizeof(buf));
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
	return;
    if (n <= 0) {
	anvil_client_close(ac);
	return;
    }
    vstring_catn(ac->inbuf, buf, (size_t) n);
    if (LEN(ac->inbuf) > ANVIL_INBUF_MAX) {
	msg_warn("anvil client: request longer than %d bytes", ANVIL_INBUF_MAX);
	anvil_client_close(ac);
	return;
    }
    /* A message ends at "\n\n" (values never contain a newline). */
    while (LEN(ac->inbuf) > 0) {
	size_t  mlen;

	if (STR(ac->inbuf)[0] == '\n') {
	    mlen = 1;
	} else if ((end = memmem(STR(ac->inbuf), LEN(ac->inbuf), "\n\n", 2)) != NULL) {
	    mlen = (size_t) (end - STR(ac->inbuf)) + 2;
	} else {
	    break;
	}
	if (anvil_request(ac, mlen) < 0) {
	    anvil_client_close(ac);
	    return;
	}
	size_t  rest = LEN(ac->inbuf) - mlen;

	memmove(STR(ac->inbuf), STR(ac->inbuf) + mlen, rest);
	vstring_truncate(ac->inbuf, rest);
    }
    if (stream_flush(ac->sp) < 0)
	anvil_client_close(ac);
}

/* anvil_connect - a new client: hello, then wait for requests */
static void anvil_connect(int fd, const char *service, char **argv)
{
    ANVIL_CLIENT *ac = mycalloc(1, sizeof(*ac));

    (void) service;
    (void) argv;
    ac->fd = fd;
    ac->sp = stream_fdopen(fd, false);
    stream_set_timeout(ac->sp, ANVIL_TIMEOUT);
    ac->owned = htable_create(8);
    ac->req = attr_list_alloc();
    ac->inbuf = vstring_alloc(256);
    if (attr_send_hello(ac->sp, ANVIL_PROTO, ANVIL_VERSION) < 0
	|| stream_flush(ac->sp) < 0) {
	anvil_client_close(ac);
	return;
    }
    event_enable_read(fd, anvil_read, ac);
}

/* anvil_purge - drop idle entries, log the maxima; runs every unit */
static void anvil_purge(int event, int fd, void *ctx)
{
    time_t  now = time(NULL);
    HTABLE_ENTRY **list = htable_list(anvil_remotes);

    (void) event;
    (void) fd;
    (void) ctx;
    for (HTABLE_ENTRY **hp = list; *hp; hp++) {
	ANVIL_REMOTE *ar = (*hp)->value;

	if (ar->count == 0 && now - ar->rate_start >= anvil_unit()
	    && now - ar->msg_start >= anvil_unit())
	    htable_delete(anvil_remotes, (*hp)->key, myfree);
    }
    myfree(list);
    /* Statistics every ANVIL_STATS_INTERVAL seconds, as Postfix does at
     * anvil_status_update_time, not at every purge. */
    if (now - anvil_stats_last < ANVIL_STATS_INTERVAL) {
	event_timer_add((int) (anvil_unit() * 1000), anvil_purge, NULL);
	return;
    }
    anvil_stats_last = now;
    if (anvil_max.count > 0)
	msg_info("statistics: max connection count %ld for (%s)",
		 anvil_max.count, anvil_max.count_ident);
    if (anvil_max.rate > 0)
	msg_info("statistics: max connection rate %ld/%lds for (%s)",
		 anvil_max.rate, anvil_unit(), anvil_max.rate_ident);
    if (anvil_max.msg_rate > 0)
	msg_info("statistics: max message rate %ld/%lds for (%s)",
		 anvil_max.msg_rate, anvil_unit(), anvil_max.msg_ident);
    memset(&anvil_max, 0, sizeof(anvil_max));
    event_timer_add((int) (anvil_unit() * 1000), anvil_purge, NULL);
}

/* anvil_post_init - tables and the purge timer */
static void anvil_post_init(const char *service, char **argv)
{
    (void) service;
    (void) argv;
    anvil_remotes = htable_create(256);
    anvil_stats_last = time(NULL);

    /*
     * anvil's state is its counters: it must not drain and restart after
     * max_use clients (smtpd processes come and go all day), or counts
     * would split over two processes. The skeleton reads var_max_use at
     * each accept, so raising it here is enough.
     */
    var_max_use = LONG_MAX;
    event_timer_add((int) (anvil_unit() * 1000), anvil_purge, NULL);
}

/* main - the anvil service */
int main(int argc, char **argv)
{
    static const SERVER_OPTS opts = {
	.post_init = anvil_post_init,
	.no_idle_exit = true,
    };

    multi_server_main(argc, argv, anvil_connect, &opts);
}
