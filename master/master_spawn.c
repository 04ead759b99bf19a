/* master_spawn - forking, tracking and reaping children; prefork policy.
 *
 * Prefork as Postfix does it: master watches a service's listeners only
 * while no child of the service is available and another child may be
 * started (count below maxproc, not throttled). A readable listener then
 * means a client is waiting with nobody to take it: fork one more. A new
 * child counts as available until it reports otherwise, so one pending
 * connection never starts two children.
 *
 * Children report on the service's status pipe (MASTER_STATUS records).
 * A child that dies abnormally before its first record failed at start-up
 * (bad command, bad configuration): the service is throttled, i.e. gets no
 * new children for service_throttle_time, and master logs
 * "warning: PATH: bad command startup -- throttling".
 *
 * Child environment: import_environment (NAME keeps master's value,
 * NAME=value sets it), MAIL_CONFIG, and the sanitizer variables
 * ASAN_OPTIONS, UBSAN_OPTIONS, LSAN_OPTIONS passed through unchanged.
 */
#include "sys_defs.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include "config.h"
#include "events.h"
#include "msg.h"
#include "mymalloc.h"
#include "server.h"
#include "vstring.h"
#include "master.h"

MASTER_PROC *master_procs;

static const char *const master_pass_env[] = {
    "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS", "ASAN_SYMBOLIZER_PATH",
};

/* spawn_env - the environment of a child */
static ARGV *spawn_env(void)
{
    ARGV   *env = argv_alloc(16);
    ARGV   *imp = argv_split_list(var_import_environment ? var_import_environment : "");
    VSTRING *buf = vstring_alloc(100);

    for (int i = 0; i < imp->argc; i++) {
        const char *item = imp->argv[i];
        const char *val;

        if (strchr(item, '=')) {
            argv_add(env, item, (char *) 0);
        } else if (strcmp(item, "MAIL_CONFIG") != 0 && (val = getenv(item)) != NULL) {
            vstring_fmt(buf, "%s=%s", item, val);
            argv_add(env, STR(buf), (char *) 0);
        }
    }
    vstring_fmt(buf, "MAIL_CONFIG=%s", config_get_dir());
    argv_add(env, STR(buf), (char *) 0);
    for (size_t i = 0; i < PH_ARRAY_LEN(master_pass_env); i++) {
        const char *val = getenv(master_pass_env[i]);

        if (val) {
            vstring_fmt(buf, "%s=%s", master_pass_env[i], val);
            argv_add(env, STR(buf), (char *) 0);
        }
    }
    argv_free(&imp);
    vstring_free(&buf);
    return env;
}

/* spawn_child_fds - in the child: listeners at 3, 5.., status at 4 */
static void spawn_child_fds(MASTER_SERV *serv)
{
    int     high[64];
    int     hstatus;
    int     n = serv->listen_count < 64 ? serv->listen_count : 64;
    int     null;

    /* Move everything out of the way first: targets may overlap sources. */
    for (int i = 0; i < n; i++)
        if ((high[i] = fcntl(serv->listen_fds[i], F_DUPFD_CLOEXEC, 100)) < 0)
            _exit(2);
    if ((hstatus = fcntl(serv->status_fd[1], F_DUPFD_CLOEXEC, 100)) < 0)
        _exit(2);
    for (int i = 0; i < n; i++)
        if (dup2(high[i], i == 0 ? MASTER_LISTEN_FD : MASTER_XLISTEN_FD + i - 1) < 0)
            _exit(2);
    if (dup2(hstatus, MASTER_STATUS_FD) < 0)
        _exit(2);
    /* Nothing else master inherited reaches a child. */
    int first = n > 1 ? MASTER_XLISTEN_FD + n - 1 : MASTER_XLISTEN_FD;

    if (close_range((unsigned) first, ~0U, 0) < 0)
        for (int fd = first; fd < 1024; fd++)
            (void) close(fd);
    if ((null = open("/dev/null", O_RDWR)) >= 0) {
        dup2(null, 0);
        dup2(null, 1);
        if (null > 2)
            close(null);
    }
}

/* spawn_fail - log "fatal: ..." and leave the forked child without
 * running master's exit handlers */
PH_PRINTF(1, 2) PH_NORETURN static void spawn_fail(const char *fmt, ...)
{
    va_list ap;

    /* The descriptor shuffle may have reused the log file's descriptor. */
    if (*var_maillog_file)
        (void) msg_logfile_open(var_maillog_file);
    va_start(ap, fmt);
    msg_vprintf(MSG_LEVEL_FATAL, fmt, ap);
    va_end(ap);
    _exit(1);
}

/* master_spawn - start one child of serv */
static void master_spawn(MASTER_SERV *serv)
{
    ARGV   *env = spawn_env();
    MASTER_PROC *proc;
    pid_t   pid;

    switch (pid = fork()) {
    case -1:
        msg_warn("fork: %m");
        argv_free(&env);
        return;
    case 0: {
        sigset_t none;

        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGPIPE, SIG_DFL);
        signal(SIGCHLD, SIG_DFL);
        spawn_child_fds(serv);
        msg_cleanup(NULL);
        execve(serv->path, serv->args->argv, env->argv);
        spawn_fail("exec %s: %m", serv->path);
    }
    default:
        break;
    }
    argv_free(&env);
    proc = mycalloc(1, sizeof(*proc));
    proc->pid = pid;
    proc->serv = serv;
    proc->path = mystrdup(serv->path);
    proc->avail = true;
    proc->next = master_procs;
    master_procs = proc;
    serv->total++;
    serv->avail++;
    if (master_verbose)
        msg_info("spawned %s pid %ld", master_service_describe(serv), (long) pid);
    master_status_dirty();
}

/* master_listen_event - a client waits and no child is free */
static void master_listen_event(int event, int fd, void *ctx)
{
    MASTER_SERV *serv = ctx;

    (void) event, (void) fd;
    if (serv->avail == 0 && !serv->throttled
        && (serv->maxproc == 0 || serv->total < serv->maxproc))
        master_spawn(serv);
    master_avail_update(serv);
}

/* master_avail_update - watch the listeners iff a new child may be needed */
void master_avail_update(MASTER_SERV *serv)
{
    bool    want = serv->avail == 0 && !serv->throttled && serv->status_fd[0] >= 0
        && (serv->maxproc == 0 || serv->total < serv->maxproc);

    if (want == serv->listening)
        return;
    for (int i = 0; i < serv->listen_count; i++) {
        if (want)
            event_enable_read(serv->listen_fds[i], master_listen_event, serv);
        else
            event_disable_read(serv->listen_fds[i]);
    }
    serv->listening = want;
}

/* master_find - the process record of pid, with the link pointing at it */
static MASTER_PROC **master_find(pid_t pid)
{
    for (MASTER_PROC **pp = &master_procs; *pp; pp = &(*pp)->next)
        if ((*pp)->pid == pid)
            return pp;
    return NULL;
}

/* master_status_event - status records from a service's children */
void master_status_event(int event, int fd, void *ctx)
{
    MASTER_SERV *serv = ctx;
    MASTER_STATUS st[64];
    ssize_t n;

    (void) event;
    while ((n = read(fd, st, sizeof(st))) > 0) {
        for (size_t i = 0; i < (size_t) n / sizeof(st[0]); i++) {
            MASTER_PROC **pp = master_find(st[i].pid);
            MASTER_PROC *proc;

            if (pp == NULL || (proc = *pp)->serv != serv)
                continue;		/* already reaped, or orphaned */
            proc->reported = true;
            if (st[i].avail && !proc->avail) {
                proc->avail = true;
                serv->avail++;
            } else if (!st[i].avail && proc->avail) {
                proc->avail = false;
                serv->avail--;
            }
        }
    }
    master_avail_update(serv);
    master_status_dirty();
}

/* master_unthrottle_event - the throttle time is over */
static void master_unthrottle_event(int event, int fd, void *ctx)
{
    MASTER_SERV *serv = ctx;

    (void) event, (void) fd;
    serv->throttle_timer = 0;
    serv->throttled = false;
    master_avail_update(serv);
}

/* master_throttle - no new children for service_throttle_time */
static void master_throttle(MASTER_SERV *serv, const char *path)
{
    msg_warn("%s: bad command startup -- throttling", path);
    serv->throttled = true;
    serv->throttle_timer = event_timer_add((int) var_service_throttle_time * 1000,
                                           master_unthrottle_event, serv);
    master_avail_update(serv);
}

/* master_reap - collect dead children */
void master_reap(void)
{
    int     status;
    pid_t   pid;

    /* Status records written before a child died must count before its
     * death is judged (did it ever become ready?). */
    for (MASTER_SERV *s = master_services; s; s = s->next)
        if (s->status_fd[0] >= 0)
            master_status_event(EVENT_READ, s->status_fd[0], s);
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        MASTER_PROC **pp = master_find(pid);
        MASTER_PROC *proc;
        MASTER_SERV *serv;
        bool    bad = false;

        if (pp == NULL)
            continue;
        proc = *pp;
        *pp = proc->next;
        serv = proc->serv;
        if (WIFSIGNALED(status) && master_stopping && WTERMSIG(status) == SIGTERM) {
            /* our own stop request: not worth a warning */
        } else if (WIFSIGNALED(status)) {
            msg_warn("process %s pid %ld killed by signal %d", proc->path, (long) pid,
                     WTERMSIG(status));
            bad = true;
        } else if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
            msg_warn("process %s pid %ld exit status %d", proc->path, (long) pid,
                     WEXITSTATUS(status));
            bad = true;
        } else if (master_verbose) {
            msg_info("process %s pid %ld done", proc->path, (long) pid);
        }
        if (serv) {
            serv->total--;
            if (proc->avail)
                serv->avail--;
            if (bad && !proc->reported && !serv->throttled)
                master_throttle(serv, proc->path);
            master_avail_update(serv);
        }
        myfree(proc->path);
        myfree(proc);
        master_status_dirty();
    }
}

/* master_kill_all - signal every child we know of */
void master_kill_all(int sig)
{
    for (MASTER_PROC *p = master_procs; p; p = p->next)
        (void) kill(p->pid, sig);
}

/* master_wakeup_event - time to poke a trigger service */
static void master_wakeup_event(int event, int fd, void *ctx)
{
    MASTER_SERV *serv = ctx;

    (void) event, (void) fd;
    serv->wakeup_timer = event_timer_add(serv->wakeup * 1000, master_wakeup_event, serv);
    if (serv->wakeup_if_used && serv->total == 0)
        return;
    if (serv->sock_path && trigger_send(serv->sock_path, "W", 1) < 0)
        msg_warn("wakeup %s: %m", serv->sock_path);
}

/* master_wakeup_init - first wakeup soon after start, then every N seconds */
void master_wakeup_init(MASTER_SERV *serv)
{
    if (serv->wakeup <= 0)
        return;
    if (strcmp(serv->type, "unix") != 0 && strcmp(serv->type, "fifo") != 0
        && strcmp(serv->type, "pass") != 0) {
        msg_warn("service %s: wakeup is supported for unix and fifo services only; ignored",
                 master_service_describe(serv));
        return;
    }
    serv->wakeup_timer = event_timer_add(serv->wakeup_if_used ? serv->wakeup * 1000 : 100,
                                         master_wakeup_event, serv);
}
