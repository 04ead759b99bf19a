/* smtpd_tls.h - STARTTLS and implicit TLS (port 465) for smtpd. */
#ifndef SMTPD_TLS_H
#define SMTPD_TLS_H

#include "smtpd.h"

/* smtpd_tls_pre_init - before the privilege drop: the level, the server
 * context (certificates and keys are root-only files), the ticket key */
void smtpd_tls_pre_init(void);
/* smtpd_tls_offer - EHLO may advertise STARTTLS to this client */
bool smtpd_tls_offer(const SMTPD_STATE *state);
/* smtpd_tls_required - smtpd_tls_security_level = encrypt and TLS is not
 * active yet: commands other than EHLO/HELO/STARTTLS/NOOP/QUIT get 530 */
bool smtpd_tls_required(const SMTPD_STATE *state);
/* smtpd_tls_wrapper - smtpd_tls_wrappermode: handshake before the
 * greeting; false when the session must end (logged) */
bool smtpd_tls_wrapper(SMTPD_STATE *state);
/* smtpd_starttls_cmd - the STARTTLS verb; 0 or -1 (reply sent either way) */
int smtpd_starttls_cmd(SMTPD_STATE *state, int argc, char **argv);
/* smtpd_tls_end - close_notify and release at the end of the session */
void smtpd_tls_end(SMTPD_STATE *state);
/* smtpd_tls_asked_ccert - smtpd_tls_ask_ccert is in effect */
bool smtpd_tls_asked_ccert(void);

#endif
