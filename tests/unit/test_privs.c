/* test_privs - privilege drop: ids, groups, no way back. */
#include "sys_defs.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>

#include "msg.h"
#include "privs.h"
#include "unit.h"

TEST(test_lookup)
{
    uid_t uid = 1;
    gid_t gid = 1;

    CHECK_INT(privs_lookup("root", &uid, &gid), 0);
    CHECK_INT(uid, 0);
    CHECK_INT(gid, 0);
    CHECK_INT(privs_lookup("no-such-user-posthorn", &uid, &gid), -1);
    CHECK_INT(privs_lookup("", &uid, &gid), -1);
    CHECK_INT(privs_lookup(NULL, &uid, &gid), -1);
    CHECK_EXITS(privs_drop_user("no-such-user-posthorn"), 1);
}

/* drop_child - in a child: drop, then report problems via the exit code */
static int drop_child(bool by_name, uid_t uid, gid_t gid)
{
    uid_t ru, eu, su;
    gid_t rg, eg, sg;
    gid_t groups[64];

    if (by_name)
        privs_drop_user("nobody");
    else
        privs_drop(uid, gid);
    if (getresuid(&ru, &eu, &su) < 0 || ru != uid || eu != uid || su != uid)
        return 10;
    if (getresgid(&rg, &eg, &sg) < 0 || rg != gid || eg != gid || sg != gid)
        return 11;
    if (setuid(0) == 0 || errno != EPERM)
        return 12;
    if (seteuid(0) == 0)
        return 13;
    if (setgroups(0, NULL) == 0)
        return 14;
    int n = getgroups(64, groups);
    if (!by_name && (n > 1 || (n == 1 && groups[0] != gid)))
        return 15;
    for (int i = 0; i < n; i++)
        if (groups[i] == 0)
            return 16;          /* root's group must be gone */
    return 0;
}

TEST(test_drop_as_root)
{
    uid_t uid;
    gid_t gid;

    if (geteuid() != 0) {
        printf("test_drop_as_root: skipped (not root)\n");
        return;
    }
    CHECK_INT(privs_lookup("nobody", &uid, &gid), 0);
    CHECK(uid != 0);
    /* The test process is root with root's groups; the child must lose them. */
    gid_t extra = 0;
    CHECK_INT(setgroups(1, &extra), 0);
    for (int by_name = 0; by_name <= 1; by_name++) {
        fflush(NULL);
        pid_t pid = fork();
        if (pid == 0)
            _exit(drop_child(by_name, uid, gid));
        int status = 0;
        waitpid(pid, &status, 0);
        CHECK(WIFEXITED(status));
        CHECK_INT(WEXITSTATUS(status), 0);
    }
    /* Once dropped, dropping to someone else is fatal. */
    CHECK_EXITS({ privs_drop(uid, gid); privs_drop(uid + 1, gid); }, 1);
    /* The same target again is a no-op. */
    CHECK_EXITS({ privs_drop(uid, gid); privs_drop(uid, gid); exit(7); }, 7);
    /* The parent is still root. */
    CHECK_INT(geteuid(), 0);
}

TEST(test_drop_unprivileged)
{
    if (geteuid() == 0) {
        /* Simulate an unprivileged instance in a child. */
        uid_t uid;
        gid_t gid;

        CHECK_INT(privs_lookup("nobody", &uid, &gid), 0);
        CHECK_EXITS({ privs_drop(uid, gid); privs_drop(uid, gid); exit(5); }, 5);
        CHECK_EXITS({ privs_drop(uid, gid); privs_drop(0, 0); }, 1);
        return;
    }
    /* Not root: becoming ourselves is fine, anything else is fatal. */
    CHECK_EXITS({ privs_drop(getuid(), getgid()); exit(5); }, 5);
    CHECK_EXITS(privs_drop(0, 0), 1);
}

int main(void)
{
    msg_init("test_privs", MSG_TO_STDERR);
    RUN(test_lookup);
    RUN(test_drop_as_root);
    RUN(test_drop_unprivileged);
    return unit_done();
}
