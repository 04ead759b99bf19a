/* smtpd_anvil.h - smtpd's connection count and rate limits (anvil client).
 *
 * HOW smtpd.c USES THIS (exact calls):
 *
 *   after smtpd_check_connect(state) (which sets SMTPD_FLAG_MYNETWORKS):
 *	if ((reply = smtpd_anvil_connect(state)) != NULL)
 *	    send reply ("421 4.7.0 myhost Error: too many connections
 *	    from 1.2.3.4"), end the session;
 *   at MAIL FROM, before accepting it:
 *	if ((reply = smtpd_anvil_message(state)) != NULL)
 *	    send reply ("450 4.7.1 Error: too much mail from 1.2.3.4"),
 *	    refuse this MAIL command;
 *   when the session ends (always, also after a refused connect):
 *	smtpd_anvil_disconnect(state);
 *
 * Parameters: smtpd_client_connection_count_limit,
 * smtpd_client_connection_rate_limit, smtpd_client_message_rate_limit
 * (0 = no limit), smtpd_client_event_limit_exceptions (default: the
 * mynetworks clients), anvil_rate_time_unit (in anvil). When every limit
 * is 0 anvil is not contacted at all. When anvil cannot be reached a
 * warning is logged and the client is allowed (as Postfix does).
 * Local submissions (SMTPD_FLAG_LOCAL) are never limited.
 */
#ifndef SMTPD_ANVIL_H
#define SMTPD_ANVIL_H

#include "smtpd.h"

/* smtpd_anvil_connect - count this connection; NULL or the 421 reply */
const char *smtpd_anvil_connect(SMTPD_STATE *state);
/* smtpd_anvil_message - count a MAIL FROM; NULL or the 450 reply */
const char *smtpd_anvil_message(SMTPD_STATE *state);
/* smtpd_anvil_disconnect - the session ended (no-op when not counted) */
void smtpd_anvil_disconnect(SMTPD_STATE *state);

#endif
