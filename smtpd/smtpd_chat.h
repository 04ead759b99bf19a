/* smtpd_chat.h - smtpd reply batching and command input (smtpd_chat.c). */
#ifndef SMTPD_CHAT_H
#define SMTPD_CHAT_H

#include "smtpd.h"

/* smtpd_chat_init - set up reply buffering for a new session */
void smtpd_chat_init(SMTPD_STATE *state);
/* smtpd_chat_free - release the reply buffer (pending replies are lost) */
void smtpd_chat_free(SMTPD_STATE *state);
/* smtpd_chat_getline - read one command line into buf (CR LF removed).
 * Flushes pending replies first when the client would otherwise wait.
 * Returns 1 for a line, 2 for an overlong line (the rest was discarded),
 * 0 when the connection is unusable (state->io_status says why). *eol_r:
 * 2 = CRLF, 1 = bare LF, 0 = none. */
int smtpd_chat_getline(SMTPD_STATE *state, VSTRING *buf, int *eol_r);
/* smtpd_chat_io_status - classify a failed read or write into state->io_status */
void smtpd_chat_io_status(SMTPD_STATE *state);
/* smtpd_chat_pending - client input is already waiting (buffered or in the kernel) */
bool smtpd_chat_pending(SMTPD_STATE *state, int wait_ms);

#endif
