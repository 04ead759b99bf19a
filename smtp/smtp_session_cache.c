/* smtp_session_cache - keep one idle session for the next request.
 *
 * Contract: after a request completed cleanly, smtp_cache_put() keeps
 * the session when smtp_connection_cache_on_demand is on (else QUIT and
 * close). smtp_cache_take() hands it out again for a request to the same
 * destination (service + nexthop) if it has been idle for at most
 * smtp_connection_cache_time_limit; the caller probes it with RSET before
 * use. One session per process: a request for another destination closes
 * the cached one. smtp_cache_flush() (at process exit) says QUIT.
 * Limits: the cache lives in this process only; qmgr hands requests to
 * whichever smtp process accepts, so reuse happens when the same process
 * gets the next request for that destination (the common case under a
 * backlog, where processes are busy back to back).
 */
#include "sys_defs.h"

#include <string.h>
#include <sys/time.h>

#include "config.h"
#include "msg.h"
#include "smtp.h"

static SMTP_SESSION *smtp_cached;

/* smtp_cache_now_ms - wall clock, ms */
static int64_t smtp_cache_now_ms(void)
{
    struct timeval tv;

    gettimeofday(&tv, NULL);
    return (int64_t) tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/* smtp_cache_take - see smtp.h */
SMTP_SESSION *smtp_cache_take(const char *dest_key)
{
    SMTP_SESSION *sess = smtp_cached;

    if (sess == NULL)
	return NULL;
    smtp_cached = NULL;
    if (strcmp(sess->dest_key, dest_key) != 0
	|| smtp_cache_now_ms() - sess->idle_since_ms > var_smtp_connection_cache_time_limit * 1000) {
	smtp_session_free(&sess);
	return NULL;
    }
    return sess;
}

/* smtp_cache_put - see smtp.h */
void smtp_cache_put(SMTP_SESSION *sess)
{
    if (smtp_cached)
	smtp_session_free(&smtp_cached);
    if (!var_smtp_connection_cache_on_demand
	|| (stream_flags(sess->stream) & (STREAM_F_ERROR | STREAM_F_TIMEOUT | STREAM_F_EOF))) {
	smtp_session_free(&sess);
	return;
    }
    sess->idle_since_ms = smtp_cache_now_ms();
    smtp_cached = sess;
}

/* smtp_cache_flush - see smtp.h */
void smtp_cache_flush(void)
{
    if (smtp_cached)
	smtp_session_free(&smtp_cached);
}
