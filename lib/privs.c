/* privs - dropping privileges for good.
 *
 * Purpose: every process that starts as root and does not need to stay
 * root (smtpd, qmgr, imapd, pop3d, smtp, auth's workers) calls this once,
 * after opening what needs root and before reading any input.
 *
 * Contract: privs_drop() sets the supplementary groups (exactly {gid}, or
 * the user's groups via initgroups() in privs_drop_user()), then real,
 * effective and saved gid, then real, effective and saved uid (setres*id,
 * so nothing is left in a saved id to switch back to). Afterwards it
 * verifies: all three uids and gids are the targets, the group list is
 * what was set, and, unless the target is root itself, that setuid(0),
 * seteuid(0) and setgid(0) now fail. Any failure is fatal (msg_fatal): a
 * process that cannot prove it dropped privileges must not go on.
 * A process that is not root can only "drop" to the ids it already has
 * (a no-op); asking for anything else is fatal too.
 *
 * Limits: no capabilities handling (we never grant any); Linux/glibc
 * setres*id.
 */
#include "sys_defs.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <unistd.h>

#include "msg.h"
#include "mymalloc.h"
#include "privs.h"

/* privs_lookup - uid/gid of a user name */
int     privs_lookup(const char *user, uid_t *uid_r, gid_t *gid_r)
{
    struct passwd *pw;

    if (user == 0 || *user == 0)
        return -1;
    errno = 0;
    if ((pw = getpwnam(user)) == 0)
        return -1;
    *uid_r = pw->pw_uid;
    *gid_r = pw->pw_gid;
    return 0;
}

/* privs_verify - fatal unless the process is exactly uid/gid now */
static void privs_verify(uid_t uid, gid_t gid, bool single_group)
{
    uid_t   ru, eu, su;
    gid_t   rg, eg, sg;

    if (getresuid(&ru, &eu, &su) < 0 || getresgid(&rg, &eg, &sg) < 0)
        msg_fatal("getresuid/getresgid: %m");
    if (ru != uid || eu != uid || su != uid)
        msg_fatal("privilege drop failed: uids %ld/%ld/%ld, expected %ld",
                  (long) ru, (long) eu, (long) su, (long) uid);
    if (rg != gid || eg != gid || sg != gid)
        msg_fatal("privilege drop failed: gids %ld/%ld/%ld, expected %ld",
                  (long) rg, (long) eg, (long) sg, (long) gid);
    if (single_group) {
        gid_t   groups[2];
        int     n = getgroups(2, groups);

        /* Exactly {gid}, or none at all (-1/EINVAL: more than 2). */
        if (n < 0 || n > 1 || (n == 1 && groups[0] != gid))
            msg_fatal("privilege drop failed: supplementary groups not reset");
    }
    if (uid != 0) {
        if (setuid(0) == 0 || seteuid(0) == 0)
            msg_fatal("privilege drop failed: uid 0 can be regained");
        if (gid != 0 && (setgid(0) == 0 || setegid(0) == 0))
            msg_fatal("privilege drop failed: gid 0 can be regained");
    }
}

/* privs_switch - the actual switch; user (may be NULL) selects initgroups */
static void privs_switch(uid_t uid, gid_t gid, const char *user)
{
    if (geteuid() != 0 && getuid() != 0) {
        uid_t   ru, eu, su;
        gid_t   rg, eg, sg;

        /* Unprivileged instance: only "becoming" what we already are. */
        if (getresuid(&ru, &eu, &su) < 0 || getresgid(&rg, &eg, &sg) < 0)
            msg_fatal("getresuid/getresgid: %m");
        if (ru == uid && eu == uid && su == uid && rg == gid && eg == gid && sg == gid)
            return;
        msg_fatal("cannot switch to uid %ld gid %ld: not running as root",
                  (long) uid, (long) gid);
    }
    if (seteuid(0) < 0)                 /* real root, effective something else */
        msg_fatal("seteuid(0): %m");
    if (user) {
        if (initgroups(user, gid) < 0)
            msg_fatal("initgroups %s: %m", user);
    } else if (setgroups(1, &gid) < 0) {
        msg_fatal("setgroups(%ld): %m", (long) gid);
    }
    if (setresgid(gid, gid, gid) < 0)
        msg_fatal("setresgid(%ld): %m", (long) gid);
    if (setresuid(uid, uid, uid) < 0)
        msg_fatal("setresuid(%ld): %m", (long) uid);
    privs_verify(uid, gid, user == 0);
}

/* privs_drop - become uid/gid permanently */
void    privs_drop(uid_t uid, gid_t gid)
{
    privs_switch(uid, gid, 0);
}

/* privs_drop_user - privs_drop for a named user, with its groups */
void    privs_drop_user(const char *user)
{
    uid_t   uid;
    gid_t   gid;

    if (privs_lookup(user, &uid, &gid) < 0)
        msg_fatal("unknown user: \"%s\"", user ? user : "");
    privs_switch(uid, gid, user);
}
