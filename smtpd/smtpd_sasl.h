/* smtpd_sasl.h - SMTP AUTH (RFC 4954) for smtpd. */
#ifndef SMTPD_SASL_H
#define SMTPD_SASL_H

#include "argv.h"
#include "smtpd.h"

/* smtpd_sasl_pre_init - before the privilege drop: validate
 * smtpd_sasl_type, initialize libsasl2 for cyrus, open
 * smtpd_sasl_exceptions_networks */
void smtpd_sasl_pre_init(void);
/* smtpd_sasl_ehlo - append the AUTH keyword(s) for this client to kw
 * (nothing when AUTH is not offered right now) */
void smtpd_sasl_ehlo(SMTPD_STATE *state, ARGV *kw);
/* smtpd_auth_cmd - the AUTH verb, including the whole SASL exchange;
 * 0 or -1 (the reply is sent either way) */
int smtpd_auth_cmd(SMTPD_STATE *state, int argc, char **argv);
/* smtpd_sasl_end - release the SASL connection of a session */
void smtpd_sasl_end(SMTPD_STATE *state);

#endif
