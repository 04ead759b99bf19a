/* smtpd_anvil - smtpd's connection count/rate and message rate limits.
 *
 * Contract: smtpd_anvil.h. smtpd is a single_server (one session per
 * process at a time), so the counted session lives in module state; the
 * connection to anvil persists across sessions of the same process (anvil
 * releases a process's counts when that connection closes).
 *
 * Limits: one anvil exchange per event, ANVIL_TIMEOUT each; an unreachable
 * anvil costs one warning per event and allows the client.
 */
#include "sys_defs.h"

#include <string.h>

#include "anvil_clnt.h"
#include "config.h"
#include "match_list.h"
#include "msg.h"
#include "mymalloc.h"
#include "smtpd.h"
#include "smtpd_anvil.h"
#include "smtpd_check.h"
#include "vstring.h"

static ANVIL_CLNT *smtpd_anvil_clnt;
static MATCH_LIST *smtpd_anvil_exceptions;
static bool smtpd_anvil_exceptions_done;
static char *smtpd_anvil_counted;	/* "service\0addr" of the counted session */
static VSTRING *smtpd_anvil_reply;

/* smtpd_anvil_service - the anvil service name of the session */
static const char *smtpd_anvil_service(SMTPD_STATE *state)
{
    return state->service && *state->service ? state->service : "smtp";
}

/* smtpd_anvil_client - the anvil client, created on first use */
static ANVIL_CLNT *smtpd_anvil_client(void)
{
    if (smtpd_anvil_clnt == NULL) {
	VSTRING *path = vstring_alloc(100);

	vstring_fmt(path, "%s/%s", var_queue_directory ? var_queue_directory : ".",
		    ANVIL_CLASS);
	smtpd_anvil_clnt = anvil_clnt_create(STR(path));
	vstring_free(&path);
	smtpd_anvil_reply = vstring_alloc(100);
    }
    return smtpd_anvil_clnt;
}

/* smtpd_anvil_excepted - is the client exempt from the limits */
static bool smtpd_anvil_excepted(SMTPD_STATE *state)
{
    const char *error;
    int     rc;

    if (state->flags & SMTPD_FLAG_LOCAL)
	return true;
    /* Not set: the mynetworks clients (also when mynetworks is computed). */
    if (!config_is_set("smtpd_client_event_limit_exceptions"))
	return (state->flags & SMTPD_FLAG_MYNETWORKS) != 0;
    if (!smtpd_anvil_exceptions_done) {
	smtpd_anvil_exceptions = match_list_create("smtpd_client_event_limit_exceptions",
						   var_smtpd_client_event_limit_exceptions ?
					   var_smtpd_client_event_limit_exceptions : "",
						   MATCH_FLAG_HOST, &error);
	if (smtpd_anvil_exceptions == NULL)
	    msg_fatal("parameter %s", error);	/* error names the parameter */
	smtpd_anvil_exceptions_done = true;
    }
    rc = match_list_match(smtpd_anvil_exceptions, state->name, state->addr, &error);
    if (rc < 0)
	msg_warn("smtpd_client_event_limit_exceptions lookup for %s: %s",
		 state->namaddr, error);
    return rc > 0;
}

/* smtpd_anvil_connect - see smtpd_anvil.h */
const char *smtpd_anvil_connect(SMTPD_STATE *state)
{
    const char *service = smtpd_anvil_service(state);
    const char *error;
    long    count, rate;

    if (smtpd_anvil_counted != NULL)
	smtpd_anvil_disconnect(state);
    if ((var_smtpd_client_connection_count_limit <= 0
	 && var_smtpd_client_connection_rate_limit <= 0
	 && var_smtpd_client_message_rate_limit <= 0)
	|| (state->flags & SMTPD_FLAG_LOCAL))
	return NULL;
    if (anvil_clnt_connect(smtpd_anvil_client(), service, state->addr, &count, &rate,
			   &error) < 0) {
	msg_warn("%s; connection limits are not enforced", error);
	return NULL;
    }
    size_t  slen = strlen(service), alen = strlen(state->addr);

    smtpd_anvil_counted = mymalloc(slen + alen + 2);
    memcpy(smtpd_anvil_counted, service, slen + 1);
    memcpy(smtpd_anvil_counted + slen + 1, state->addr, alen + 1);

    if (smtpd_anvil_excepted(state))
	return NULL;
    if (var_smtpd_client_connection_count_limit > 0
	&& count > var_smtpd_client_connection_count_limit) {
	msg_warn("Connection concurrency limit exceeded: %ld from %s for service %s",
		 count, state->namaddr, service);
    } else if (var_smtpd_client_connection_rate_limit > 0
	       && rate > var_smtpd_client_connection_rate_limit) {
	msg_warn("Connection rate limit exceeded: %ld from %s for service %s",
		 rate, state->namaddr, service);
    } else {
	return NULL;
    }
    vstring_fmt(smtpd_anvil_reply, "421 4.7.0 %s Error: too many connections from %s",
		var_myhostname ? var_myhostname : "localhost", state->addr);
    return STR(smtpd_anvil_reply);
}

/* smtpd_anvil_message - see smtpd_anvil.h */
const char *smtpd_anvil_message(SMTPD_STATE *state)
{
    const char *service = smtpd_anvil_service(state);
    const char *error;
    long    rate;

    if (var_smtpd_client_message_rate_limit <= 0 || smtpd_anvil_excepted(state))
	return NULL;
    if (anvil_clnt_message(smtpd_anvil_client(), service, state->addr, &rate, &error) < 0) {
	msg_warn("%s; message rate limit is not enforced", error);
	return NULL;
    }
    if (rate <= var_smtpd_client_message_rate_limit)
	return NULL;
    msg_warn("Message delivery request rate limit exceeded: %ld from %s for service %s",
	     rate, state->namaddr, service);
    vstring_fmt(smtpd_anvil_reply, "450 4.7.1 Error: too much mail from %s", state->addr);
    return STR(smtpd_anvil_reply);
}

/* smtpd_anvil_disconnect - see smtpd_anvil.h */
void    smtpd_anvil_disconnect(SMTPD_STATE *state)
{
    const char *error = NULL;
    char   *counted = smtpd_anvil_counted;

    (void) state;
    if (counted == NULL)
	return;
    smtpd_anvil_counted = NULL;
    if (anvil_clnt_disconnect(smtpd_anvil_client(), counted, counted + strlen(counted) + 1,
			      &error) < 0)
	msg_warn("%s", error ? error : "anvil disconnect failed");
    myfree(counted);
}
