/* privs.h - dropping privileges for good.
 *
 * privs_drop: setgroups(1, gid) (or initgroups when user is known),
 * setgid, setuid, then checks that getuid/geteuid/getgid/getegid all match
 * and that setuid(0) now fails. Any failure is fatal: a process that cannot
 * drop privileges must not go on.
 */
#ifndef PRIVS_H
#define PRIVS_H

#include "sys_defs.h"

/* privs_lookup - uid/gid of a user name; 0 or -1 when unknown */
int privs_lookup(const char *user, uid_t *uid_r, gid_t *gid_r);
/* privs_drop - become uid/gid permanently (no-op when already them and not root) */
void privs_drop(uid_t uid, gid_t gid);
/* privs_drop_user - privs_drop for a named user (fatal when unknown) */
void privs_drop_user(const char *user);

#endif
