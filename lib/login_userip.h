/* login_userip.h - mail_max_userip_connections for imapd and pop3d.
 *
 * Sessions per (protocol, user, client address) are counted by the anvil
 * service over a connection held for the life of the process.
 */
#ifndef LOGIN_USERIP_H
#define LOGIN_USERIP_H

#include "sys_defs.h"

#include <stdbool.h>

/* login_userip_admit - count this session under service ("imap-userip",
 * "pop3-userip") for user/rip; false (and logged) when over the limit.
 * Call at most once per process: the count lasts until the process ends. */
bool    login_userip_admit(const char *service, const char *user, const char *rip);

/* login_userip_enter - the same for a process serving many sessions:
 * true when admitted, with *key_r (NULL when nothing was counted) to
 * pass to login_userip_leave when the session ends */
bool    login_userip_enter(const char *service, const char *user, const char *rip,
			   char **key_r);

/* login_userip_leave - uncount a session admitted by login_userip_enter;
 * frees and NULLs *keyp (NULL: no-op) */
void    login_userip_leave(const char *service, char **keyp);

/* login_userip_prepare - connect to anvil now, while still root (the
 * mail users cannot reach its socket); no-op without a limit or anvil */
void    login_userip_prepare(void);

/* login_userip_reason - "Maximum number of connections from user+IP
 * exceeded (mail_max_userip_connections=N)" */
const char *login_userip_reason(void);

#endif
