/* smtpd_proto.h - functions shared between smtpd's own modules.
 *
 * smtpd.c: the session loop, verb table, transaction helpers.
 * smtpd_data.c: DATA and BDAT. smtpd_peer.c: client identity.
 */
#ifndef SMTPD_PROTO_H
#define SMTPD_PROTO_H

#include "smtpd.h"

/* smtpd_txn_reset - forget the current mail transaction (RSET, after
 * DATA, new MAIL); aborts an unfinished queue file */
void smtpd_txn_reset(SMTPD_STATE *state);

/* smtpd_data_cmd / smtpd_bdat_cmd - the DATA and BDAT verbs; return 0 when
 * the command succeeded, -1 when it failed (the reply is sent either way) */
int smtpd_data_cmd(SMTPD_STATE *state, int argc, char **argv);
int smtpd_bdat_cmd(SMTPD_STATE *state, int argc, char **argv);
/* smtpd_data_free - release BDAT parsing state of an unfinished transaction */
void smtpd_data_free(SMTPD_STATE *state);
/* smtpd_data_init - open header_checks/body_checks (before privileges drop) */
void smtpd_data_init(void);

/* smtpd_peer_init - fill in name, addr, port, namaddr, rfc_addr (reverse
 * lookup with forward confirmation); a non-inet peer (the -S session on
 * a socketpair, sendmail -bs) is "localhost"/127.0.0.1 and stand-alone */
void smtpd_peer_init(SMTPD_STATE *state);
#endif
