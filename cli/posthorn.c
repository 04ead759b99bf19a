/* posthorn - control the Posthorn mail system.
 *
 * Usage: posthorn [-c config_dir] [-v] command
 *
 *   check     validate main.cf and master.cf (the same code the daemons
 *             run), create the queue tree and fix the owners and modes of
 *             its directories where that is safe; report the rest. Exit 1
 *             on any error.
 *   start     check, then start master in the background and wait until it
 *             is up (pid file locked, listeners open); exit 1 with the
 *             reason when it does not come up.
 *   start-fg  check, then run master in the foreground (systemd
 *             Type=simple, containers).
 *   stop      SIGTERM to master; wait until it and its children are gone.
 *   reload    SIGHUP to master: re-read main.cf and master.cf.
 *   status    whether master runs, its pid, and per service the number
 *             of processes (from queue_directory/pid/master.status, which
 *             master rewrites whenever the counts change).
 *   tls new-server-cert [hostname]
 *             a new RSA 2048 key and self-signed certificate for
 *             hostname (default $myhostname), valid 10 years, written
 *             key first then certificate into config_directory/smtpd.pem
 *             (mode 0600, the smtpd_tls_chain_files form). When no server
 *             certificate is configured yet, main.cf gets
 *             smtpd_tls_chain_files = that file and smtpd_tls_security_level
 *             = may (with postconf -e, as `postfix tls enable-server`);
 *             otherwise the postconf command to deploy it is printed.
 *   pw [-s SCHEME] [-p PASSWORD] [-t HASH]
 *             hash a password for a passwd-file (doveadm pw; lib/auth_pw.h).
 *
 * Queue tree (as Postfix's): queue_directory root-owned 0755;
 * maildrop 1730 mail_owner:setgid_group; public 0710
 * mail_owner:setgid_group; private incoming active deferred hold corrupt
 * bounce defer 0700 mail_owner; pid 0755 root; data_directory 0700
 * mail_owner. Run by a non-root user (an unprivileged instance), every
 * directory belongs to that user and its group; mail_owner and
 * setgid_group are not used.
 *
 * start, start-fg, stop and reload also log what they do to maillog_file
 * ("posthorn/posthorn: starting the Posthorn mail system").
 *
 * Whether master runs is decided by the fcntl lock on
 * queue_directory/pid/master.pid, never by the pid alone.
 */
#include "sys_defs.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "argv.h"
#include "auth_pw.h"
#include "config.h"
#include "mastercf.h"
#include "msg.h"
#include "mymalloc.h"
#include "privs.h"
#include "safefile.h"
#include "tls.h"
#include "vstring.h"

static int verbose;
static int check_errors;

/* usage - complain and exit */
PH_NORETURN static void usage(void)
{
    fprintf(stderr, "usage: posthorn [-c config_dir] [-v] start | start-fg | stop | reload | status | check\n"
            "       posthorn [-c config_dir] tls new-server-cert [hostname]\n"
            "       posthorn [-c config_dir] pw [-s scheme] [-p password] [-t hash]\n");
    exit(2);
}

/* ph_path - "queue_directory/sub" in a static buffer slot */
static const char *ph_path(VSTRING *buf, const char *dir, const char *sub)
{
    vstring_fmt(buf, "%s/%s", dir, sub);
    return STR(buf);
}

/* master_running - pid of the master holding the lock, or 0 */
static pid_t master_running(void)
{
    VSTRING *buf = vstring_alloc(100);
    struct flock fl;
    pid_t   pid = 0;
    int     fd;

    fd = open(ph_path(buf, var_queue_directory, "pid/master.pid"), O_RDONLY | O_CLOEXEC);
    vstring_free(&buf);
    if (fd < 0)
        return 0;
    memset(&fl, 0, sizeof(fl));
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    if (fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK)
        pid = fl.l_pid;
    close(fd);
    return pid;
}

/* ------------------------------------------------------------------ */
/* check */

typedef struct check_dir {
    const char *name;		/* under queue_directory; NULL: data_directory */
    mode_t  mode;
    int     owner;		/* 0: root, 1: mail_owner */
    bool    group_setgid;	/* group setgid_group, else owner's group */
} CHECK_DIR;

static const CHECK_DIR check_dirs[] = {
    {"maildrop", 01730, 1, true},
    {"public", 0710, 1, true},
    {"private", 0700, 1, false},
    {"incoming", 0700, 1, false},
    {"active", 0700, 1, false},
    {"deferred", 0700, 1, false},
    {"hold", 0700, 1, false},
    {"corrupt", 0700, 1, false},
    {"bounce", 0700, 1, false},
    {"defer", 0700, 1, false},
    {"pid", 0755, 0, false},
    {NULL, 0700, 1, false},
};

/* check_error - count and report an error */
PH_PRINTF(1, 2) static void check_error(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    msg_vprintf(MSG_LEVEL_ERROR, fmt, ap);
    va_end(ap);
    check_errors++;
}

/* check_one_dir - create or fix one directory */
static void check_one_dir(const char *path, mode_t mode, uid_t uid, gid_t gid, bool can_chown)
{
    struct stat st;

    if (lstat(path, &st) < 0) {
        if (errno != ENOENT) {
            check_error("%s: %m", path);
            return;
        }
        if (mkdir(path, mode) < 0) {
            check_error("create directory %s: %m", path);
            return;
        }
        if (verbose)
            msg_info("created directory %s", path);
        if (lstat(path, &st) < 0) {
            check_error("%s: %m", path);
            return;
        }
    }
    if (!S_ISDIR(st.st_mode)) {
        check_error("%s exists but is not a directory; remove or rename it", path);
        return;
    }
    if (st.st_uid != uid || st.st_gid != gid) {
        if (can_chown && chown(path, uid, gid) == 0) {
            if (verbose)
                msg_info("fixed owner of %s: %ld:%ld -> %ld:%ld", path, (long) st.st_uid,
                         (long) st.st_gid, (long) uid, (long) gid);
        } else if (st.st_uid != uid) {
            check_error("%s is owned by uid %ld, expected uid %ld (cannot fix: %s)", path,
                        (long) st.st_uid, (long) uid, can_chown ? strerror(errno) : "not root");
            return;
        } else if (chown(path, (uid_t) -1, gid) < 0) {
            check_error("%s has group %ld, expected %ld: %m", path, (long) st.st_gid, (long) gid);
        }
    }
    if ((st.st_mode & 07777) != mode) {
        if (chmod(path, mode) < 0)
            check_error("chmod %s: %m", path);
        else if (verbose)
            msg_info("fixed mode of %s: %04o -> %04o", path, (unsigned) (st.st_mode & 07777),
                     (unsigned) mode);
    }
}

/* check_validate - main.cf was loaded; parse master.cf too */
static int check_validate(void)
{
    const char *error;
    MASTER_TABLE *mt;

    if ((mt = mastercf_read(config_master_cf(), &error)) == NULL) {
        msg_error("%s", error);
        return -1;
    }
    mastercf_free(&mt);
    return 0;
}

/* check_tree - create the queue tree with the right owners and modes */
static int check_tree(void)
{
    VSTRING *buf = vstring_alloc(100);
    bool    root = geteuid() == 0;
    uid_t   owner_uid = getuid(), root_uid = getuid();
    gid_t   owner_gid = getgid(), setgid_gid = getgid(), root_gid = getgid();

    check_errors = 0;
    if (root) {
        struct group *gr;

        root_uid = 0;
        root_gid = 0;
        if (privs_lookup(var_mail_owner, &owner_uid, &owner_gid) < 0) {
            check_error("%s: mail_owner: unknown user \"%s\" (create it, or set mail_owner)",
                        config_main_cf(), var_mail_owner);
        } else if (owner_uid == 0) {
            check_error("%s: mail_owner \"%s\" must not be root", config_main_cf(), var_mail_owner);
        }
        if ((gr = getgrnam(var_setgid_group)) == NULL)
            check_error("%s: setgid_group: unknown group \"%s\" (create it, or set setgid_group)",
                        config_main_cf(), var_setgid_group);
        else
            setgid_gid = gr->gr_gid;
        if (check_errors) {
            vstring_free(&buf);
            return -1;
        }
    }
    if (safe_mkdir_p(var_queue_directory, 0755) < 0) {
        check_error("create queue_directory %s: %m", var_queue_directory);
        vstring_free(&buf);
        return -1;
    }
    check_one_dir(var_queue_directory, 0755, root_uid, root_gid, root);
    for (size_t i = 0; i < PH_ARRAY_LEN(check_dirs); i++) {
        const CHECK_DIR *d = &check_dirs[i];
        const char *path;

        if (d->name) {
            path = ph_path(buf, var_queue_directory, d->name);
        } else {
            if (safe_mkdir_p(var_data_directory, d->mode) < 0 && errno != EEXIST) {
                check_error("create data_directory %s: %m", var_data_directory);
                continue;
            }
            path = var_data_directory;
        }
        check_one_dir(path, d->mode, d->owner ? owner_uid : root_uid,
                      d->group_setgid ? setgid_gid : d->owner ? owner_gid : root_gid, root);
    }
    vstring_free(&buf);
    return check_errors ? -1 : 0;
}

/* ------------------------------------------------------------------ */
/* start / stop / reload / status */

/* master_path - daemon_directory/master */
static char *master_path(void)
{
    VSTRING *buf = vstring_alloc(100);

    ph_path(buf, var_daemon_directory, "master");
    return vstring_export(&buf);
}

/* cmd_start - start master and wait until it is up */
static int cmd_start(bool foreground)
{
    char   *path = master_path();
    char    fdbuf[16];
    char    reply[64];
    int     pfd[2];
    pid_t   pid;
    ssize_t n, got = 0;
    int     status;

    if ((pid = master_running()) != 0) {
        msg_error("the Posthorn mail system is already running (pid %ld)", (long) pid);
        myfree(path);
        return 1;
    }
    if (access(path, X_OK) < 0) {
        msg_error("cannot run %s: %m (check daemon_directory in %s)", path, config_main_cf());
        myfree(path);
        return 1;
    }
    if (foreground) {
        execl(path, path, "-c", config_get_dir(), (char *) 0);
        msg_fatal("exec %s: %m", path);
    }
    if (pipe(pfd) < 0)
        msg_fatal("pipe: %m");
    switch (pid = fork()) {
    case -1:
        msg_fatal("fork: %m");
    case 0:
        close(pfd[0]);
        (void) setsid();
        snprintf(fdbuf, sizeof(fdbuf), "%d", pfd[1]);
        execl(path, path, "-c", config_get_dir(), "-r", fdbuf, (char *) 0);
        msg_fatal("exec %s: %m", path);
    default:
        close(pfd[1]);
    }
    while (got < (ssize_t) sizeof(reply) - 1
           && (n = read(pfd[0], reply + got, sizeof(reply) - 1 - (size_t) got)) != 0) {
        if (n < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        got += n;
    }
    reply[got] = 0;
    close(pfd[0]);
    myfree(path);
    if (strncmp(reply, "ok", 2) == 0) {
        msg_info("starting the Posthorn mail system");
        return 0;
    }
    if (waitpid(pid, &status, 0) == pid && WIFEXITED(status))
        msg_error("mail system startup failed (master exit status %d)", WEXITSTATUS(status));
    else
        msg_error("mail system startup failed");
    return 1;
}

/* pid_gone - no such process, or only a zombie left for its parent to reap
 * (start-fg under a supervisor that has not reaped it yet) */
static bool pid_gone(pid_t pid)
{
    VSTRING *path = vstring_alloc(40);
    VSTRING *text = vstring_alloc(200);
    bool    gone = kill(pid, 0) < 0;

    vstring_fmt(path, "/proc/%ld/stat", (long) pid);
    if (!gone && safe_read_file(STR(path), text, 4096) == 0) {
        const char *paren = strrchr(STR(text), ')');

        gone = paren && paren[1] == ' ' && paren[2] == 'Z';
    }
    vstring_free(&path);
    vstring_free(&text);
    return gone;
}

/* cmd_signal - send sig to master; for stop, wait until it is gone */
static int cmd_signal(int sig, const char *what)
{
    pid_t   pid = master_running();

    if (pid == 0) {
        msg_error("the Posthorn mail system is not running");
        return 1;
    }
    if (kill(pid, sig) < 0) {
        msg_error("cannot signal master pid %ld: %m", (long) pid);
        return 1;
    }
    msg_info("%s the Posthorn mail system", what);
    if (sig == SIGTERM) {
        for (int i = 0; i < 300; i++) {
            if (master_running() == 0 && pid_gone(pid))
                return 0;
            struct timespec ts = {0, 100 * 1000 * 1000};

            nanosleep(&ts, NULL);
        }
        msg_error("master pid %ld did not stop within 30 seconds", (long) pid);
        return 1;
    }
    return 0;
}

/* cmd_status - running or not, and the services */
static int cmd_status(void)
{
    VSTRING *path = vstring_alloc(100);
    VSTRING *text = vstring_alloc(1000);
    pid_t   pid = master_running();

    if (pid == 0) {
        printf("the Posthorn mail system is not running\n");
        vstring_free(&path);
        vstring_free(&text);
        return 1;
    }
    printf("the Posthorn mail system is running: PID: %ld\n", (long) pid);
    if (safe_read_file(ph_path(path, var_queue_directory, "pid/master.status"), text, 1 << 20) == 0) {
        ARGV   *lines = argv_split(STR(text), "\n");

        for (int i = 0; i < lines->argc; i++) {
            char    name[256], type[32], listen[1024];
            int     maxproc, procs, avail;

            if (sscanf(lines->argv[i], "service %255s %31s maxproc %d processes %d available %d listen %1023[^\n]",
                       name, type, &maxproc, &procs, &avail, listen) == 6) {
                if (maxproc > 0)
                    printf("%-24s %-6s processes %d (available %d, maxproc %d) listen %s\n",
                           name, type, procs, avail, maxproc, listen);
                else
                    printf("%-24s %-6s processes %d (available %d, maxproc unlimited) listen %s\n",
                           name, type, procs, avail, listen);
            }
        }
        argv_free(&lines);
    }
    fflush(stdout);
    vstring_free(&path);
    vstring_free(&text);
    return 0;
}

/* tls_param_set - a main.cf parameter has a non-empty value */
static bool tls_param_set(const char *value)
{
    return value != NULL && *value != 0;
}

/* cmd_tls_new_server_cert - posthorn tls new-server-cert [hostname] */
static int cmd_tls_new_server_cert(int argc, char **argv)
{
    VSTRING *path = vstring_alloc(100);
    const char *host = argc > 0 ? argv[0] : var_myhostname;
    const char *err;
    int     status = 0;

    if (argc > 1)
        usage();
    vstring_fmt(path, "%s/smtpd.pem", var_config_directory);
    printf("posthorn: creating a new RSA key and self-signed certificate for %s in %s\n",
           host, STR(path));
    if (tls_make_self_signed(STR(path), NULL, host, &err) < 0) {
        msg_error("cannot create %s: %s", STR(path), err);
        vstring_free(&path);
        return 1;
    }
    msg_info("created a new self-signed server certificate for %s in %s", host, STR(path));
    if (!tls_param_set(var_smtpd_tls_cert_file) && !tls_param_set(var_smtpd_tls_eccert_file)
        && !tls_param_set(var_smtpd_tls_chain_files)) {
        VSTRING *chain = vstring_alloc(100);
        VSTRING *postconf = vstring_alloc(100);
        pid_t   pid;
        int     wstat;

        vstring_fmt(chain, "smtpd_tls_chain_files=%s", STR(path));
        vstring_fmt(postconf, "%s/postconf", var_command_directory);
        fflush(stdout);
        if ((pid = fork()) < 0) {
            msg_error("fork: %s", strerror(errno));
            status = 1;
        } else if (pid == 0) {
            execl(STR(postconf), "postconf", "-c", var_config_directory, "-e", STR(chain),
                  tls_param_set(var_smtpd_tls_security_level) ? (char *) 0
                  : "smtpd_tls_security_level=may", (char *) 0);
            msg_fatal("exec %s: %s", STR(postconf), strerror(errno));
        } else if (waitpid(pid, &wstat, 0) < 0 || !WIFEXITED(wstat) || WEXITSTATUS(wstat) != 0) {
            msg_error("postconf -e %s failed", STR(chain));
            status = 1;
        } else {
            printf("posthorn: enabled TLS in the SMTP server: %s%s\n", STR(chain),
                   tls_param_set(var_smtpd_tls_security_level) ? ""
                   : " smtpd_tls_security_level=may");
            printf("posthorn: run \"posthorn reload\" to use it\n");
        }
        vstring_free(&chain);
        vstring_free(&postconf);
    } else {
        printf("posthorn: a server certificate is already configured; to use the new one:\n"
               "    postconf -e 'smtpd_tls_chain_files = %s'"
               " 'smtpd_tls_cert_file =' 'smtpd_tls_key_file ='"
               " 'smtpd_tls_eccert_file =' 'smtpd_tls_eckey_file ='\n"
               "    posthorn reload\n", STR(path));
    }
    vstring_free(&path);
    return status;
}

/* main - parse the command line and run one command */
int     main(int argc, char **argv)
{
    const char *error;
    const char *cmd;
    int     ch;

    msg_init("posthorn", MSG_TO_STDERR);
    while ((ch = getopt(argc, argv, "+c:v")) != -1) {
        switch (ch) {
        case 'c': {
            char    real[PATH_MAX];

            config_set_dir(realpath(optarg, real) ? real : optarg);
            break;
        }
        case 'v':
            verbose++;
            msg_verbose++;
            break;
        default:
            usage();
        }
    }
    if (argc - optind < 1)
        usage();
    cmd = argv[optind];
    if (strcmp(cmd, "pw") == 0) {
        if (config_load(CONFIG_FLAG_NONE, &error) < 0)
            msg_warn("%s (using default settings)", error);
        return auth_pw_command(argc - optind, argv + optind);
    }
    if (strcmp(cmd, "tls") == 0) {
        if (argc - optind < 2 || strcmp(argv[optind + 1], "new-server-cert") != 0)
            usage();
        config_set_process("posthorn");
        if (config_load(CONFIG_FLAG_NONE, &error) < 0) {
            msg_error("%s", error);
            return 1;
        }
        return cmd_tls_new_server_cert(argc - optind - 2, argv + optind + 2);
    }
    if (argc - optind != 1)
        usage();
    if (strcmp(cmd, "start") && strcmp(cmd, "start-fg") && strcmp(cmd, "stop")
        && strcmp(cmd, "reload") && strcmp(cmd, "status") && strcmp(cmd, "check"))
        usage();

    config_set_process("posthorn");
    if (config_load(CONFIG_FLAG_NONE, &error) < 0) {
        msg_error("%s", error);
        return 1;
    }
    /* Actions that change the running system are logged, as Postfix does;
     * a log file we may not write is no reason to fail. */
    if (strcmp(cmd, "check") != 0 && strcmp(cmd, "status") != 0 && *var_maillog_file) {
        VSTRING *name = vstring_alloc(64);

        vstring_fmt(name, "%s/posthorn", var_syslog_name);
        msg_set_name(STR(name));
        if (msg_logfile_open(var_maillog_file) < 0)
            msg_set_dest(MSG_TO_STDERR);
        vstring_free(&name);
    }
    if (strcmp(cmd, "check") == 0 || strcmp(cmd, "start") == 0 || strcmp(cmd, "start-fg") == 0) {
        int     bad = check_validate() < 0;

        bad |= check_tree() < 0;
        if (bad) {
            if (strcmp(cmd, "check") != 0)
                msg_error("not starting: fix the errors above");
            return 1;
        }
        if (strcmp(cmd, "check") == 0)
            return 0;
        return cmd_start(strcmp(cmd, "start-fg") == 0);
    }
    if (strcmp(cmd, "stop") == 0)
        return cmd_signal(SIGTERM, "stopping");
    if (strcmp(cmd, "reload") == 0) {
        /* Refuse a configuration master would refuse, so the error shows
         * here and not only in the log. */
        if (check_validate() < 0) {
            msg_error("not reloading: fix the errors above");
            return 1;
        }
        return cmd_signal(SIGHUP, "refreshing");
    }
    return cmd_status();
}
