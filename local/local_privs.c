/* local_privs - the effective and real identity switches of local.
 *
 * Contract: when local runs as root (local_privileged), mailbox and
 * .forward access happens with the EFFECTIVE uid/gid and the group list
 * of the recipient (local_eugid_set), so the kernel checks every path
 * component, symlink and permission as it would for the user; the
 * process then returns to root (local_eugid_root). Commands and files run
 * in a forked child that gives up root for good (local_child_privs).
 * Unprivileged (not root), all three are no-ops: everything runs as the
 * invoking user. local_privs_default makes root's file and command
 * deliveries (aliases, root's .forward) run as default_privs instead.
 *
 * Errors: a failed switch is fatal (we must never touch a user's files
 * with the wrong identity); in a child, fatal means the child exits and
 * the parent reports a deferral.
 */
#include "sys_defs.h"

#include <grp.h>
#include <unistd.h>

#include "config.h"
#include "msg.h"
#include "privs.h"

#include "local.h"

/* local_eugid_set - act as uid/gid until local_eugid_root */
void local_eugid_set(uid_t uid, gid_t gid)
{
    if (!local_privileged)
	return;
    if (geteuid() != 0 && seteuid(0) < 0)
	msg_fatal("seteuid(0): %m");
    if (uid == 0)
	return;
    if (setgroups(1, &gid) < 0)
	msg_fatal("setgroups(%ld): %m", (long) gid);
    if (setegid(gid) < 0)
	msg_fatal("setegid(%ld): %m", (long) gid);
    if (seteuid(uid) < 0)
	msg_fatal("seteuid(%ld): %m", (long) uid);
}

/* local_eugid_root - back to root after local_eugid_set */
void local_eugid_root(void)
{
    gid_t g0 = 0;

    if (!local_privileged)
	return;
    if (seteuid(0) < 0)
	msg_fatal("seteuid(0): %m");
    if (setegid(0) < 0)
	msg_fatal("setegid(0): %m");
    if (setgroups(1, &g0) < 0)
	msg_fatal("setgroups(0): %m");
}

/* local_child_privs - in a child: become uid/gid for real */
void local_child_privs(uid_t uid, gid_t gid)
{
    if (!local_privileged)
	return;
    if (geteuid() != 0 && seteuid(0) < 0)
	msg_fatal("seteuid(0): %m");
    if (uid == 0)
	msg_fatal("refusing to run a delivery as root");
    privs_drop(uid, gid);
}

/* local_privs_default - root's file and command deliveries as default_privs */
int     local_privs_default(LOCAL_STATE *state)
{
    if (!local_privileged || state->uid != 0)
	return 0;
    if (privs_lookup(var_default_privs, &state->uid, &state->gid) < 0 || state->uid == 0) {
	local_result(state, DEL_STAT_DEFER, "4.3.5", "default_privs user \"%s\" is unknown or root",
		     var_default_privs);
	return -1;
    }
    return 0;
}
