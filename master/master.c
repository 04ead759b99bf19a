/* master - the Posthorn supervisor.
 *
 * Usage: master [-c config_dir] [-r ready_fd] [-v]
 *
 * Reads main.cf and master.cf, takes the lock on
 * queue_directory/pid/master.pid (a second master is refused), opens every
 * listener, then runs the services: children are forked on demand
 * (prefork, see master_spawn.c), get their listener as fd 3 and a status
 * pipe as fd 4, and are restarted when they die (a start-up failure
 * throttles the service for service_throttle_time).
 *
 * Signals: SIGHUP re-reads main.cf and master.cf. Services that are gone
 * lose their listeners, new ones get them, unchanged listeners stay open;
 * every running child finishes its current client and exits, and new
 * children run with the new configuration. SIGTERM (and SIGINT) stop all
 * children (SIGTERM, then SIGKILL after 5 seconds), remove the unix
 * sockets, fifos and the pid file, and exit.
 *
 * With -r FD (used by `posthorn start`), start-up errors go to stderr and
 * master writes "ok\n" to FD once it is up (pid file locked, listeners
 * open), then detaches stdin/stdout/stderr. Without -r master stays in the
 * foreground and keeps logging to stderr when maillog_file is unset
 * (`posthorn start-fg`).
 *
 * Status file: queue_directory/pid/master.status, rewritten (atomically,
 * at most every 50 ms) when process counts change; read by
 * `posthorn status`. One line "pid N", then one line per service:
 *   service NAME TYPE maxproc N processes N available N listen SPEC
 */
#include "sys_defs.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "config.h"
#include "events.h"
#include "msg.h"
#include "mymalloc.h"
#include "vstring.h"
#include "master.h"

#define MASTER_STOP_WAIT_MS 5000

bool    master_is_root;
int     master_verbose;

static char *master_pid_path;
static char *master_status_path;
static int master_pid_fd = -1;
bool    master_stopping;
static uint64_t master_status_timer;

/* master_status_write - rewrite the status file now */
static void master_status_write(int event, int fd, void *ctx)
{
    VSTRING *buf = vstring_alloc(512);
    VSTRING *tmp = vstring_alloc(100);
    int     out;

    (void) event, (void) fd, (void) ctx;
    master_status_timer = 0;
    vstring_fmt(buf, "pid %ld\n", (long) getpid());
    for (MASTER_SERV *s = master_services; s; s = s->next) {
        const char *spec = strchr(s->listen_spec, ' ');

        vstring_fmt_append(buf, "service %s %s maxproc %d processes %d available %d listen %s\n",
                           s->name, s->type, s->maxproc, s->total, s->avail,
                           spec ? spec + 1 : s->listen_spec);
    }
    vstring_fmt(tmp, "%s.tmp", master_status_path);
    out = open(STR(tmp), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (out >= 0) {
        bool    ok = write(out, STR(buf), LEN(buf)) == (ssize_t) LEN(buf);

        if (close(out) == 0 && ok)
            (void) rename(STR(tmp), master_status_path);
        else
            (void) unlink(STR(tmp));
    } else {
        msg_warn("open %s: %m", STR(tmp));
    }
    vstring_free(&buf);
    vstring_free(&tmp);
}

/* master_status_dirty - schedule a status file rewrite */
void master_status_dirty(void)
{
    if (master_status_timer == 0 && !master_stopping)
        master_status_timer = event_timer_add(50, master_status_write, NULL);
}

/* master_lock_pid - lock and fill queue_directory/pid/master.pid */
static void master_lock_pid(void)
{
    struct flock fl;
    char    buf[32];
    int     n;

    master_pid_fd = open(master_pid_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (master_pid_fd < 0)
        msg_fatal("open lock file %s: %m (run \"posthorn check\" to create the queue tree)",
                  master_pid_path);
    memset(&fl, 0, sizeof(fl));
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    if (fcntl(master_pid_fd, F_SETLK, &fl) < 0) {
        if (errno == EAGAIN || errno == EACCES) {
            memset(&fl, 0, sizeof(fl));
            fl.l_type = F_WRLCK;
            fl.l_whence = SEEK_SET;
            if (fcntl(master_pid_fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK)
                msg_fatal("the Posthorn mail system is already running (pid %ld, lock file %s)",
                          (long) fl.l_pid, master_pid_path);
            msg_fatal("the Posthorn mail system is already running (lock file %s)",
                      master_pid_path);
        }
        msg_fatal("lock %s: %m", master_pid_path);
    }
    n = snprintf(buf, sizeof(buf), "%10ld\n", (long) getpid());
    if (ftruncate(master_pid_fd, 0) < 0 || pwrite(master_pid_fd, buf, (size_t) n, 0) != n)
        msg_fatal("write %s: %m", master_pid_path);
}

/* master_finish - everything is down: clean up and exit */
PH_NORETURN static void master_finish(void)
{
    for (MASTER_SERV *s = master_services; s; s = s->next)
        master_listen_close(s, true);
    (void) unlink(master_status_path);
    (void) unlink(master_pid_path);
    msg_info("terminated");
    exit(0);
}

/* master_kill_timeout - children did not go on SIGTERM */
static void master_kill_timeout(int event, int fd, void *ctx)
{
    (void) event, (void) fd, (void) ctx;
    for (MASTER_PROC *p = master_procs; p; p = p->next)
        msg_warn("process %s pid %ld did not stop: sending SIGKILL", p->path, (long) p->pid);
    master_kill_all(SIGKILL);
    master_reap();
    if (master_procs == NULL)
        master_finish();
    /* SIGKILL cannot be refused; SIGCHLD follows. */
}

/* master_sigchld - reap; finish a stop when the last child is gone */
static void master_sigchld(int event, int sig, void *ctx)
{
    (void) event, (void) sig, (void) ctx;
    master_reap();
    if (master_stopping && master_procs == NULL)
        master_finish();
}

/* master_sigterm - stop everything */
static void master_sigterm(int event, int sig, void *ctx)
{
    (void) event, (void) ctx;
    if (master_stopping)
        return;
    msg_info("terminating on signal %d", sig);
    master_stopping = true;
    if (master_status_timer)
        event_timer_cancel(master_status_timer);
    for (MASTER_SERV *s = master_services; s; s = s->next)
        master_service_stop(s, false);
    master_kill_all(SIGTERM);
    master_reap();
    if (master_procs == NULL)
        master_finish();
    event_timer_add(MASTER_STOP_WAIT_MS, master_kill_timeout, NULL);
}

/* master_reload - SIGHUP: new main.cf and master.cf */
static void master_sighup(int event, int sig, void *ctx)
{
    const char *error;
    MASTER_TABLE *mt;
    MASTER_SERV *fresh;

    (void) event, (void) sig, (void) ctx;
    if (master_stopping)
        return;
    if (config_load(CONFIG_FLAG_NONE, &error) < 0) {
        msg_error("reload: %s; keeping the running services", error);
        return;
    }
    if ((mt = mastercf_read(config_master_cf(), &error)) == NULL) {
        msg_error("reload: %s; keeping the running services", error);
        return;
    }
    if ((fresh = master_services_build(mt, master_services, &error)) == NULL) {
        msg_error("reload: %s; keeping the running services", error);
        mastercf_free(&mt);
        return;
    }
    mastercf_free(&mt);
    while (master_services) {
        MASTER_SERV *old = master_services;
        bool    reused = false;

        master_services = old->next;
        for (MASTER_SERV *s = fresh; s && old->sock_path; s = s->next)
            if (s->sock_path && strcmp(s->sock_path, old->sock_path) == 0)
                reused = true;
        if (reused) {
            myfree(old->sock_path);
            old->sock_path = NULL;
        }
        master_service_stop(old, false);
        master_service_free(&old);
    }
    master_services = fresh;
    for (MASTER_SERV *s = master_services; s; s = s->next)
        master_service_start(s);
    master_status_dirty();
    /* Logged once the new listeners are open, so a reader of the log can
     * rely on them. */
    msg_info("reload -- version %s, configuration %s", POSTHORN_VERSION, config_get_dir());
}

/* master_ready - tell `posthorn start` we are up, then detach from its tty */
static void master_ready(int ready_fd)
{
    int     null;

    if (ready_fd >= 0) {
        if (write(ready_fd, "ok\n", 3) != 3)
            msg_warn("write ready pipe: %m");
        close(ready_fd);
        if ((null = open("/dev/null", O_RDWR)) >= 0) {
            dup2(null, 0);
            dup2(null, 1);
            dup2(null, 2);
            if (null > 2)
                close(null);
        }
        msg_set_dest(*var_maillog_file ? MSG_TO_FILE : MSG_TO_SYSLOG);
    } else {
        if ((null = open("/dev/null", O_RDONLY)) >= 0) {
            dup2(null, 0);
            if (null > 2)
                close(null);
        }
        if (*var_maillog_file)
            msg_set_dest(MSG_TO_FILE);
    }
}

/* master_usage - complain and exit */
PH_NORETURN static void master_usage(const char *prog)
{
    msg_fatal("usage: %s [-c config_dir] [-r ready_fd] [-v]", prog);
}

/* main - load the configuration, lock, listen, supervise */
int     main(int argc, char **argv)
{
    const char *error;
    MASTER_TABLE *mt;
    VSTRING *buf = vstring_alloc(100);
    int     ready_fd = -1;
    int     ch;

    msg_init("master", MSG_TO_STDERR);
    signal(SIGPIPE, SIG_IGN);
    umask(022);
    while ((ch = getopt(argc, argv, "c:r:v")) != -1) {
        switch (ch) {
        case 'c':
            config_set_dir(optarg);
            break;
        case 'r':
            ready_fd = atoi(optarg);
            if (ready_fd < 3 || fcntl(ready_fd, F_SETFD, FD_CLOEXEC) < 0)
                msg_fatal("bad -r ready descriptor: %s", optarg);
            break;
        case 'v':
            master_verbose++;
            msg_verbose++;
            break;
        default:
            master_usage(argv[0]);
        }
    }
    if (optind != argc)
        master_usage(argv[0]);
    master_is_root = geteuid() == 0;

    config_set_process("master");
    if (config_load(CONFIG_FLAG_NONE, &error) < 0)
        msg_fatal("%s", error);
    if (var_daemon_verbose)
        msg_verbose++;
    vstring_fmt(buf, "%s/master", var_syslog_name);
    msg_set_name(STR(buf));
    if (*var_maillog_file) {
        if (msg_logfile_open(var_maillog_file) < 0)
            msg_fatal("open maillog_file %s: %m", var_maillog_file);
    } else if (msg_syslog_open(var_syslog_facility) < 0) {
        msg_fatal("unknown syslog_facility: %s", var_syslog_facility);
    }
    msg_set_dest((*var_maillog_file ? MSG_TO_FILE : MSG_TO_SYSLOG) | MSG_TO_STDERR);

    if ((mt = mastercf_read(config_master_cf(), &error)) == NULL)
        msg_fatal("%s", error);

    vstring_fmt(buf, "%s/pid/master.pid", var_queue_directory);
    master_pid_path = mystrdup(STR(buf));
    vstring_fmt(buf, "%s/pid/master.status", var_queue_directory);
    master_status_path = mystrdup(STR(buf));
    master_lock_pid();

    if ((master_services = master_services_build(mt, NULL, &error)) == NULL && mt->count > 0)
        msg_fatal("%s", error);
    mastercf_free(&mt);
    vstring_free(&buf);

    event_signal(SIGCHLD, master_sigchld, NULL);
    event_signal(SIGHUP, master_sighup, NULL);
    event_signal(SIGTERM, master_sigterm, NULL);
    event_signal(SIGINT, master_sigterm, NULL);
    for (MASTER_SERV *s = master_services; s; s = s->next)
        master_service_start(s);
    master_status_write(0, -1, NULL);

    msg_info("daemon started -- version %s, configuration %s", POSTHORN_VERSION,
             config_get_dir());
    master_ready(ready_fd);
    event_run();
    return 0;
}
