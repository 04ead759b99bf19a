/* smtpd_check.h - smtpd restrictions (Postfix's smtpd_check).
 *
 * Each smtpd_check_* applies the corresponding restriction list
 * (smtpd_client_restrictions, smtpd_helo_restrictions,
 * smtpd_sender_restrictions, smtpd_relay_restrictions then
 * smtpd_recipient_restrictions, smtpd_data_restrictions,
 * smtpd_end_of_data_restrictions) with Postfix's names and semantics,
 * including smtpd_delay_reject (client/helo/sender results are reported at
 * RCPT TO), mynetworks, access tables (check_*_access with access(5)
 * actions), reject_unauth_destination with every address trick refused,
 * reject_unlisted_recipient against local_recipient_maps / virtual maps.
 *
 * Return value: NULL when the command may proceed, else the complete reply
 * text to send, e.g. "554 5.7.1 <a@b>: Relay access denied" (the check
 * module also logs the "NOQUEUE: reject: RCPT from ..." line). DISCARD and
 * HOLD set SMTPD_FLAG_DISCARD / SMTPD_FLAG_HOLD on the state and return NULL.
 * Configuration errors (a table that cannot be opened, an unknown
 * restriction) give "451 4.3.5 Server configuration error" and a warning.
 *
 * Calling order expected from smtpd.c: smtpd_check_init() once in
 * pre_init (tables open before the privilege drop); per session:
 * smtpd_check_connect() first (it sets SMTPD_FLAG_MYNETWORKS); set
 * SMTPD_FLAG_EHLO before smtpd_check_helo() and state->helo_name after it
 * succeeds; state->sender after smtpd_check_mail() succeeds (RCPT-time
 * checks read it); smtpd_check_reset() on RSET and at each new MAIL.
 * The returned reply is valid until the next smtpd_check_* call.
 */
#ifndef SMTPD_CHECK_H
#define SMTPD_CHECK_H

#include "smtpd.h"

/* smtpd_check_init - parse restriction lists and open tables (before the
 * privilege drop); fatal on a configuration error */
void smtpd_check_init(void);
/* smtpd_check_connect - client restrictions at connect (when
 * smtpd_delay_reject = no), also sets SMTPD_FLAG_MYNETWORKS */
const char *smtpd_check_connect(SMTPD_STATE *state);
const char *smtpd_check_helo(SMTPD_STATE *state, const char *helo);
const char *smtpd_check_mail(SMTPD_STATE *state, const char *sender);
const char *smtpd_check_rcpt(SMTPD_STATE *state, const char *recipient);
const char *smtpd_check_data(SMTPD_STATE *state);
const char *smtpd_check_eod(SMTPD_STATE *state);
/* smtpd_check_size - message_size_limit vs SIZE= ("552 5.3.4 ..."), and
 * free queue space ("452 4.3.1 Insufficient system storage") */
const char *smtpd_check_size(SMTPD_STATE *state, long size);
/* smtpd_check_reset - forget transaction-level state (RSET, new MAIL) */
void smtpd_check_reset(SMTPD_STATE *state);
/* smtpd_check_mynetworks - is the client (state->name, state->addr) in
 * mynetworks (or the networks mynetworks_style implies when mynetworks is
 * not set)? Sets or clears SMTPD_FLAG_MYNETWORKS; 1, 0, or -1 when a table
 * lookup failed. smtpd_check_connect calls it. */
int smtpd_check_mynetworks(SMTPD_STATE *state);

#endif
