/* smtpd_check_stub.c - TEMPORARY stand-in for smtpd_check.c: permits all.
 *
 * The real restrictions come from the smtpdcheck branch; this stub lets
 * the protocol engine build and be tested meanwhile. Every check passes;
 * smtpd_check_size enforces message_size_limit against SIZE= only, and
 * mynetworks is not evaluated. Delete this file when smtpd_check.c lands.
 */
#include "sys_defs.h"

#include "config.h"

#include "smtpd.h"
#include "smtpd_check.h"

/* smtpd_check_init - nothing to open */
void    smtpd_check_init(void)
{
}

/* smtpd_check_connect - permit */
const char *smtpd_check_connect(SMTPD_STATE *state)
{
    (void) state;
    return NULL;
}

/* smtpd_check_helo - permit */
const char *smtpd_check_helo(SMTPD_STATE *state, const char *helo)
{
    (void) state;
    (void) helo;
    return NULL;
}

/* smtpd_check_mail - permit */
const char *smtpd_check_mail(SMTPD_STATE *state, const char *sender)
{
    (void) state;
    (void) sender;
    return NULL;
}

/* smtpd_check_rcpt - permit */
const char *smtpd_check_rcpt(SMTPD_STATE *state, const char *recipient)
{
    (void) state;
    (void) recipient;
    return NULL;
}

/* smtpd_check_data - permit */
const char *smtpd_check_data(SMTPD_STATE *state)
{
    (void) state;
    return NULL;
}

/* smtpd_check_eod - permit */
const char *smtpd_check_eod(SMTPD_STATE *state)
{
    (void) state;
    return NULL;
}

/* smtpd_check_size - SIZE= against message_size_limit */
const char *smtpd_check_size(SMTPD_STATE *state, long size)
{
    (void) state;
    if (var_message_size_limit > 0 && size > var_message_size_limit)
	return "552 5.3.4 Message size exceeds fixed limit";
    return NULL;
}

/* smtpd_check_reset - nothing to forget */
void    smtpd_check_reset(SMTPD_STATE *state)
{
    (void) state;
}
