/* anvil_clnt.h - client of the anvil connection/rate counting service.
 *
 * anvil (anvil/anvil.c, unix socket $queue_directory/private/anvil)
 * counts, per "service:client-address" key, the simultaneous connections
 * and the connection and message rates over anvil_rate_time_unit. smtpd
 * reports events and decides on its limits (smtpd/smtpd_anvil.c).
 *
 * Protocol (lib/attr.h, after the server's "proto=anvil version=1"
 * hello), one request and one reply at a time:
 *   request=connect    ident=K  ->  status=0 count=N rate=N
 *   request=disconnect ident=K  ->  status=0
 *   request=message    ident=K  ->  status=0 rate=N
 *   request=lookup     ident=K  ->  status=0 count=N rate=N message_rate=N
 * status is 0 for success, nonzero for a bad request. The counts a client
 * added with connect are released when its connection to anvil closes
 * (an smtpd that crashes does not leave phantom connections behind).
 *
 * Errors: every call returns 0, or -1 with a reason in *error_r (static,
 * valid until the next call) when anvil cannot be reached or answers
 * badly; the connection is then dropped and the next call reconnects.
 * The caller decides what an unreachable anvil means (smtpd: allow).
 */
#ifndef ANVIL_CLNT_H
#define ANVIL_CLNT_H

#include "sys_defs.h"

#define ANVIL_PROTO	"anvil"
#define ANVIL_VERSION	1
#define ANVIL_CLASS	"private/anvil"	/* below queue_directory */
#define ANVIL_TIMEOUT	10		/* seconds per exchange */

typedef struct anvil_clnt ANVIL_CLNT;

/* anvil_clnt_create - a client for the socket at path (connects lazily) */
ANVIL_CLNT *anvil_clnt_create(const char *path);
/* anvil_clnt_free - close and NULL the caller's pointer */
void anvil_clnt_free(ANVIL_CLNT **acp);

/* anvil_clnt_prepare - connect now (a process about to lose the right
 * to open the socket keeps the connection); 0 or -1 */
int anvil_clnt_prepare(ANVIL_CLNT *ac, const char **error_r);

/* anvil_clnt_connect - one more connection from addr to service; the
 * simultaneous count and the connection rate including this one */
int anvil_clnt_connect(ANVIL_CLNT *ac, const char *service, const char *addr,
		       long *count_r, long *rate_r, const char **error_r);
/* anvil_clnt_disconnect - that connection ended */
int anvil_clnt_disconnect(ANVIL_CLNT *ac, const char *service, const char *addr,
			  const char **error_r);
/* anvil_clnt_message - one more message (MAIL FROM) from addr; the
 * message rate including this one */
int anvil_clnt_message(ANVIL_CLNT *ac, const char *service, const char *addr,
		       long *rate_r, const char **error_r);
/* anvil_clnt_lookup - current counters (no change) */
int anvil_clnt_lookup(ANVIL_CLNT *ac, const char *service, const char *addr,
		      long *count_r, long *rate_r, long *msg_rate_r,
		      const char **error_r);

#endif
