/* anvil_clnt - talk to the anvil connection/rate counting service.
 *
 * Contract: see anvil_clnt.h. One persistent connection per client
 * object, opened on first use and after any failure; each call is one
 * request and one strictly scanned reply. Limits: ANVIL_TIMEOUT seconds
 * per exchange, service and address are bounded by the attr protocol.
 */
#include "sys_defs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "anvil_clnt.h"
#include "attr.h"
#include "mymalloc.h"
#include "stream.h"
#include "vstring.h"

struct anvil_clnt {
    char   *path;
    STREAM *sp;				/* NULL when not connected */
    VSTRING *ident;
    VSTRING *why;
    ATTR_LIST *reply;
};

/* anvil_clnt_create - remember where the service is */
ANVIL_CLNT *anvil_clnt_create(const char *path)
{
    ANVIL_CLNT *ac = mycalloc(1, sizeof(*ac));

    ac->path = mystrdup(path);
    ac->ident = vstring_alloc(64);
    ac->why = vstring_alloc(64);
    ac->reply = attr_list_alloc();
    return ac;
}

/* anvil_clnt_free - close and release */
void anvil_clnt_free(ANVIL_CLNT **acp)
{
    ANVIL_CLNT *ac = *acp;

    if (ac == NULL)
	return;
    if (ac->sp)
	(void) stream_close(&ac->sp);
    myfree(ac->path);
    vstring_free(&ac->ident);
    vstring_free(&ac->why);
    attr_list_free(&ac->reply);
    myfree(ac);
    *acp = NULL;
}

/* anvil_clnt_fail - drop the connection and report why */
static int anvil_clnt_fail(ANVIL_CLNT *ac, const char **error_r, const char *what)
{
    if (ac->sp)
	(void) stream_close(&ac->sp);
    vstring_fmt(ac->why, "anvil service %s: %s", ac->path, what);
    if (error_r)
	*error_r = STR(ac->why);
    return -1;
}

/* anvil_clnt_open - connect and check the hello when not connected */
static int anvil_clnt_open(ANVIL_CLNT *ac, const char **error_r)
{
    struct sockaddr_un sun;
    const char *err;
    int     fd;

    if (ac->sp)
	return 0;
    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    if (strlen(ac->path) >= sizeof(sun.sun_path))
	return anvil_clnt_fail(ac, error_r, "socket path too long");
    ph_strlcpy(sun.sun_path, ac->path, sizeof(sun.sun_path));
    if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
	return anvil_clnt_fail(ac, error_r, strerror(errno));
    if (connect(fd, (struct sockaddr *) &sun, sizeof(sun)) < 0) {
	int     saved = errno;

	(void) close(fd);
	return anvil_clnt_fail(ac, error_r, strerror(saved));
    }
    ac->sp = stream_fdopen(fd, true);
    stream_set_timeout(ac->sp, ANVIL_TIMEOUT);
    if (attr_expect_hello(ac->sp, ANVIL_PROTO, ANVIL_VERSION, &err) < 0)
	return anvil_clnt_fail(ac, error_r, err);
    return 0;
}

/* anvil_clnt_prepare - connect now (before a privilege drop) */
int     anvil_clnt_prepare(ANVIL_CLNT *ac, const char **error_r)
{
    return anvil_clnt_open(ac, error_r);
}

/* anvil_clnt_send - send one request for service:addr */
static int anvil_clnt_send(ANVIL_CLNT *ac, const char *request, const char *service,
			   const char *addr, const char **error_r)
{
    if (anvil_clnt_open(ac, error_r) < 0)
	return -1;
    vstring_fmt(ac->ident, "%s:%s", service, addr);
    if (attr_print(ac->sp, ATTR_STR, "request", request,
		   ATTR_STR, "ident", STR(ac->ident), ATTR_END) < 0
	|| stream_flush(ac->sp) < 0)
	return anvil_clnt_fail(ac, error_r, "write error");
    return 0;
}

/* anvil_clnt_reply - read one reply: status=0 followed by exactly the
 * named integer attributes (NULL-terminated names, values into vals[]),
 * or a refusal (status other than 0, nothing else) */
static int anvil_clnt_reply(ANVIL_CLNT *ac, const char *const *names, long *vals,
			    const char **error_r)
{
    const char *err = NULL;
    int     got = attr_list_scan(ac->sp, ac->reply, &err);
    int     want = 1;
    const char *value;
    char   *end;

    if (got < 0)
	return anvil_clnt_fail(ac, error_r, err ? err : "bad reply");
    if (got == 0)
	return anvil_clnt_fail(ac, error_r, "connection closed");
    if ((value = attr_list_get(ac->reply, "status")) == NULL
	|| strcmp(ac->reply->names[0], "status") != 0)
	return anvil_clnt_fail(ac, error_r, "reply without status");
    if (strcmp(value, "0") != 0)
	return anvil_clnt_fail(ac, error_r, "request refused");
    for (int i = 0; names[i]; i++, want++) {
	if (want >= ac->reply->count || strcmp(ac->reply->names[want], names[i]) != 0)
	    return anvil_clnt_fail(ac, error_r, "reply attribute missing");
	value = STR(ac->reply->values[want]);
	errno = 0;
	vals[i] = strtol(value, &end, 10);
	if (*value == 0 || *end != 0 || errno != 0)
	    return anvil_clnt_fail(ac, error_r, "bad number in reply");
    }
    if (want != ac->reply->count)
	return anvil_clnt_fail(ac, error_r, "unexpected reply attribute");
    return 0;
}

/* anvil_clnt_connect - count a new connection */
int anvil_clnt_connect(ANVIL_CLNT *ac, const char *service, const char *addr,
		       long *count_r, long *rate_r, const char **error_r)
{
    static const char *const names[] = {"count", "rate", NULL};
    long    vals[2];

    if (anvil_clnt_send(ac, "connect", service, addr, error_r) < 0
	|| anvil_clnt_reply(ac, names, vals, error_r) < 0)
	return -1;
    *count_r = vals[0];
    *rate_r = vals[1];
    return 0;
}

/* anvil_clnt_disconnect - count a connection end */
int anvil_clnt_disconnect(ANVIL_CLNT *ac, const char *service, const char *addr,
			  const char **error_r)
{
    static const char *const names[] = {NULL};

    if (anvil_clnt_send(ac, "disconnect", service, addr, error_r) < 0
	|| anvil_clnt_reply(ac, names, NULL, error_r) < 0)
	return -1;
    return 0;
}

/* anvil_clnt_message - count a message */
int anvil_clnt_message(ANVIL_CLNT *ac, const char *service, const char *addr,
		       long *rate_r, const char **error_r)
{
    static const char *const names[] = {"rate", NULL};
    long    vals[1];

    if (anvil_clnt_send(ac, "message", service, addr, error_r) < 0
	|| anvil_clnt_reply(ac, names, vals, error_r) < 0)
	return -1;
    *rate_r = vals[0];
    return 0;
}

/* anvil_clnt_lookup - read the counters */
int anvil_clnt_lookup(ANVIL_CLNT *ac, const char *service, const char *addr,
		      long *count_r, long *rate_r, long *msg_rate_r,
		      const char **error_r)
{
    static const char *const names[] = {"count", "rate", "message_rate", NULL};
    long    vals[3];

    if (anvil_clnt_send(ac, "lookup", service, addr, error_r) < 0
	|| anvil_clnt_reply(ac, names, vals, error_r) < 0)
	return -1;
    *count_r = vals[0];
    *rate_r = vals[1];
    *msg_rate_r = vals[2];
    return 0;
}
