/* server - the three daemon skeletons (single, multi, trigger) and
 * trigger_send.
 *
 * Contract (see server.h): a daemon's main() calls one of the *_main
 * functions, which never return. The skeleton parses the options master
 * passes (-c DIR -n service -t type -s count -u -o name=value -v, and -S
 * for stand-alone tests), loads main.cf with the same validation every
 * program uses, sets up logging ("$syslog_name/PROGRAM" to maillog_file or
 * syslog), runs pre_init, drops privileges to mail_owner when root and the
 * service is unprivileged (-u, the master.cf unpriv column), runs
 * post_init, and serves.
 *
 * Master interface: listeners are MASTER_LISTEN_FD, then (with -s N > 1)
 * MASTER_XLISTEN_FD, MASTER_XLISTEN_FD + 1, ...; MASTER_STATUS_FD is the
 * write end of a pipe read only by master. The child writes a
 * MASTER_STATUS record when it becomes available (after start-up and after
 * each client) and when it is taken (right after accept). When master goes
 * away or reloads, it closes the read end: the pipe then polls as an error
 * and the child exits as soon as it is idle, never in the middle of a
 * client.
 *
 * Limits: a single server exits after max_use clients or max_idle idle
 * seconds; a multi server stops accepting at its client limit (opts
 * client_limit, default SERVER_CLIENT_LIMIT) and after max_use clients,
 * and exits when its last client leaves. Trigger messages are read in
 * pieces of at most SERVER_TRIGGER_MAX bytes.
 */
#include "sys_defs.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "config.h"
#include "events.h"
#include "iostuff.h"
#include "msg.h"
#include "mymalloc.h"
#include "privs.h"
#include "server.h"
#include "vstring.h"

#define SERVER_CLIENT_LIMIT 1000
#define SERVER_TRIGGER_MAX  1024
#define SERVER_MAX_LISTEN   64

static const char *server_service = "";
static const char *server_type = "unix";
static char *server_program;
static bool server_unpriv;
static bool server_standalone;
static bool server_detached;		/* single server: client handed on */
static int server_listen_fds[SERVER_MAX_LISTEN];
static int server_listen_count;
static long server_use_count;
static const SERVER_OPTS *server_opts;
static char **server_args;
static const SERVER_OPTS server_no_opts;

/* server_service_name - the master.cf service name of this process */
const char *server_service_name(void)
{
    return server_service;
}

/* server_exit - normal end of the process */
PH_NORETURN static void server_exit(const char *why)
{
    if (msg_verbose)
        msg_info("exiting: %s", why);
    if (server_opts && server_opts->pre_exit)
        server_opts->pre_exit();
    exit(0);
}

/* server_status - tell master whether we are available; exit when master is gone */
static void server_status(int avail)
{
    MASTER_STATUS st;

    if (server_standalone)
        return;
    memset(&st, 0, sizeof(st));
    st.pid = getpid();
    st.avail = avail;
    while (write(MASTER_STATUS_FD, &st, sizeof(st)) != (ssize_t) sizeof(st)) {
        if (errno == EINTR)
            continue;
        server_exit("master is gone");
    }
}

/* server_master_gone - true when master closed the status pipe */
static bool server_master_gone(void)
{
    struct pollfd pfd = {.fd = MASTER_STATUS_FD, .events = 0};

    if (server_standalone)
        return false;
    return poll(&pfd, 1, 0) > 0 && (pfd.revents & (POLLERR | POLLHUP | POLLNVAL));
}

/* server_log_setup - "$syslog_name/PROGRAM" to maillog_file or syslog */
static void server_log_setup(void)
{
    VSTRING *name = vstring_alloc(64);
    int dest = server_standalone ? MSG_TO_STDERR : 0;

    vstring_fmt(name, "%s/%s", var_syslog_name, server_program);
    msg_set_dest(dest);
    msg_set_name(STR(name));
    if (var_maillog_file && *var_maillog_file) {
        if (msg_logfile_open(var_maillog_file) < 0) {
            msg_set_dest(dest | MSG_TO_STDERR);
            msg_fatal("open maillog_file %s: %m", var_maillog_file);
        }
    } else if (msg_syslog_open(var_syslog_facility) < 0) {
        msg_set_dest(dest | MSG_TO_STDERR);
        msg_fatal("unknown syslog_facility: %s", var_syslog_facility);
    }
    vstring_free(&name);
}

/* server_init - options, configuration, logging, hooks and privileges */
static void server_init(int argc, char **argv, const SERVER_OPTS *opts)
{
    const char *error;
    const char *slash;
    int sockets = 1;
    int ch;

    server_opts = opts ? opts : &server_no_opts;
    slash = strrchr(argv[0], '/');
    server_program = mystrdup(slash ? slash + 1 : argv[0]);
    server_service = server_program;
    msg_init(server_program, MSG_TO_STDERR);
    signal(SIGPIPE, SIG_IGN);

    opterr = 0;
    while ((ch = getopt(argc, argv, "+c:n:o:s:t:uvS")) != -1) {
        switch (ch) {
        case 'c':
            config_set_dir(optarg);
            break;
        case 'n':
            server_service = optarg;
            break;
        case 'o': {
            char *copy = mystrdup(optarg);
            char *eq = strchr(copy, '=');

            if (eq == NULL || eq == copy)
                msg_fatal("bad -o option (need name=value): %s", optarg);
            *eq = 0;
            config_override(copy, eq + 1);
            myfree(copy);
            break;
        }
        case 's':
            sockets = atoi(optarg);
            if (sockets < 1 || sockets > SERVER_MAX_LISTEN)
                msg_fatal("bad -s socket count: %s", optarg);
            break;
        case 't':
            server_type = optarg;
            break;
        case 'u':
            server_unpriv = true;
            break;
        case 'v':
            msg_verbose++;
            break;
        case 'S':
            server_standalone = true;
            break;
        default:
            msg_fatal("usage: %s [-c config_dir] [-n service] [-t type] [-o name=value] [-s count] [-u] [-v] [-S]",
                      server_program);
        }
    }
    server_args = argv + optind;
    server_listen_fds[0] = MASTER_LISTEN_FD;
    for (int i = 1; i < sockets; i++)
        server_listen_fds[i] = MASTER_XLISTEN_FD + i - 1;
    server_listen_count = sockets;

    config_set_process(server_program);
    if (config_load(CONFIG_FLAG_NONE, &error) < 0)
        msg_fatal("%s", error);
    if (var_daemon_verbose)
        msg_verbose++;
    server_log_setup();

    if (server_opts->pre_init)
        server_opts->pre_init(server_service, server_args);
    if ((getuid() == 0 || geteuid() == 0) && server_unpriv && !server_opts->stay_root)
        privs_drop_user(var_mail_owner);
    if (server_opts->post_init)
        server_opts->post_init(server_service, server_args);
    if (msg_verbose)
        msg_info("daemon started: service %s type %s", server_service, server_type);
}

/* server_set_nonblock - make a listener non-blocking (children race to accept) */
static void server_set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);

    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
        msg_fatal("listener fd %d: %m (not started by master? use -S)", fd);
}

/* server_proxy - copy between the stdio pair and a socket until both sides end */
PH_NORETURN static void server_proxy(int sock)
{
    struct pollfd pfd[2];
    char buf[8192];
    bool in_open = true, sock_open = true;

    while (sock_open) {
        pfd[0].fd = in_open ? 0 : -1;
        pfd[0].events = POLLIN;
        pfd[1].fd = sock;
        pfd[1].events = POLLIN;
        if (poll(pfd, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            _exit(1);
        }
        if (pfd[0].revents) {
            ssize_t n = read(0, buf, sizeof(buf));

            if (n <= 0) {
                in_open = false;
                shutdown(sock, SHUT_WR);
            } else if (iostuff_write_all(sock, buf, (size_t) n) < 0) {
                _exit(1);
            }
        }
        if (pfd[1].revents) {
            ssize_t n = read(sock, buf, sizeof(buf));

            if (n <= 0) {
                sock_open = false;
            } else if (iostuff_write_all(1, buf, (size_t) n) < 0) {
                _exit(1);
            }
        }
    }
    _exit(0);
}

static pid_t server_proxy_pid;

/* server_stdio_fd - one bidirectional fd for the -S session on stdin/stdout */
static int server_stdio_fd(void)
{
    struct stat st0, st1;
    int sv[2];

    if (fstat(0, &st0) == 0 && fstat(1, &st1) == 0 && S_ISSOCK(st0.st_mode)
        && st0.st_dev == st1.st_dev && st0.st_ino == st1.st_ino)
        return dup(0);
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        msg_fatal("socketpair: %m");
    switch (server_proxy_pid = fork()) {
    case -1:
        msg_fatal("fork: %m");
    case 0:
        close(sv[0]);
        server_proxy(sv[1]);
    default:
        close(sv[1]);
        return sv[0];
    }
}

/* server_stdio_done - wait for the -S proxy to write out everything */
static void server_stdio_done(void)
{
    int status;

    if (server_proxy_pid > 0)
        while (waitpid(server_proxy_pid, &status, 0) < 0 && errno == EINTR)
            ;
}

/* server_is_inet - a TCP client (internal UNIX-socket peers such as qmgr
 * close on their own schedule and need no lingering close) */
static bool server_is_inet(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);

    if (getsockname(fd, (struct sockaddr *) &ss, &len) < 0)
        return false;
    return ss.ss_family == AF_INET || ss.ss_family == AF_INET6;
}

/* ------------------------------------------------------------------ */
/* single_server_main - one client at a time */

PH_NORETURN void single_server_main(int argc, char **argv, single_service_fn service,
                                    const SERVER_OPTS *opts)
{
    struct pollfd pfd[SERVER_MAX_LISTEN + 1];

    server_init(argc, argv, opts);
    if (server_standalone) {
        STREAM *sp = stream_fdopen(server_stdio_fd(), true);

        service(sp, server_service, server_args);
        stream_close(&sp);
        server_stdio_done();
        server_exit("stand-alone session done");
    }
    if (strcmp(server_type, "fifo") == 0 || strcmp(server_type, "unix-dgram") == 0)
        msg_fatal("service %s: type %s cannot be served by a single server",
                  server_service, server_type);
    for (int i = 0; i < server_listen_count; i++)
        server_set_nonblock(server_listen_fds[i]);
    server_status(1);

    for (;;) {
        int timeout = server_opts->no_idle_exit ? -1 : (int) var_max_idle * 1000;
        int n;

        pfd[0].fd = MASTER_STATUS_FD;
        pfd[0].events = 0;
        for (int i = 0; i < server_listen_count; i++) {
            pfd[i + 1].fd = server_listen_fds[i];
            pfd[i + 1].events = POLLIN;
        }
        n = poll(pfd, (nfds_t) server_listen_count + 1, timeout);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            msg_fatal("poll: %m");
        }
        if (n == 0)
            server_exit("idle timeout");
        if (pfd[0].revents)
            server_exit("master is gone or reloaded");
        for (int i = 0; i < server_listen_count; i++) {
            int fd;

            if ((pfd[i + 1].revents & (POLLIN | POLLERR | POLLHUP)) == 0)
                continue;
            /* Accept first, then report busy: reporting before the accept
             * would make master see a pending client and no free process,
             * and start a needless second one. */
            fd = accept4(server_listen_fds[i], NULL, NULL, SOCK_CLOEXEC);
            if (fd < 0) {
                if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR
                    && errno != ECONNABORTED)
                    msg_warn("accept: %m");
                continue;
            }
            server_status(0);
            STREAM *sp = stream_fdopen(fd, true);

            server_detached = false;
            service(sp, server_service, server_args);
            /* Let the last reply reach the client even when it is still
             * sending (pipelined input after a fatal error); not when the
             * connection went on to another process. */
            if (!server_detached && server_is_inet(stream_fd(sp)) && stream_flush(sp) == 0)
                iostuff_linger_close(stream_fd(sp), 2000, 1024 * 1024);
            stream_close(&sp);
            if (++server_use_count >= var_max_use)
                server_exit("max_use reached");
            if (server_master_gone())
                server_exit("master is gone or reloaded");
            server_status(1);
            break;
        }
    }
}

/* single_server_detach - the client went on to another process */
void single_server_detach(void)
{
    server_detached = true;
}

/* server_close_listeners - in a forked child: close master's listeners */
void server_close_listeners(void)
{
    if (server_standalone)
        return;
    for (int i = 0; i < server_listen_count; i++)
        if (server_listen_fds[i] >= 0)
            (void) close(server_listen_fds[i]);
}

/* server_is_standalone - started with -S (no master) */
bool server_is_standalone(void)
{
    return server_standalone;
}

/* ------------------------------------------------------------------ */
/* multi_server_main - many clients per process on the event loop */

static int multi_client_count;
static int multi_client_limit;
static bool multi_accepting;
static bool multi_draining;
static uint64_t multi_idle_timer;

static multi_connect_fn multi_connect;

static void multi_accept_event(int event, int fd, void *ctx);

/* server_multi_connect - hand a new client to the daemon */
static void server_multi_connect(int fd)
{
    multi_connect(fd, server_service, server_args);
}

/* multi_server_client_count - clients currently open */
int multi_server_client_count(void)
{
    return multi_client_count;
}

/* multi_idle_event - no client for max_idle seconds */
static void multi_idle_event(int event, int fd, void *ctx)
{
    (void) event, (void) fd, (void) ctx;
    multi_idle_timer = 0;
    if (multi_client_count == 0)
        server_exit("idle timeout");
}

/* multi_idle_arm - (re)start the idle timer when no client is open */
static void multi_idle_arm(void)
{
    if (multi_idle_timer)
        event_timer_cancel(multi_idle_timer);
    multi_idle_timer = 0;
    if (multi_client_count == 0 && !server_opts->no_idle_exit && !server_standalone)
        multi_idle_timer = event_timer_add((int) var_max_idle * 1000, multi_idle_event, NULL);
}

/* multi_listen - start or stop accepting */
static void multi_listen(bool on)
{
    if (on == multi_accepting || server_standalone)
        return;
    for (int i = 0; i < server_listen_count; i++) {
        if (on)
            event_enable_read(server_listen_fds[i], multi_accept_event, NULL);
        else
            event_disable_read(server_listen_fds[i]);
    }
    multi_accepting = on;
    /* A draining process has nothing to tell master (whose pipe end may be
     * closed: writing would end us with clients still open). */
    if (!multi_draining)
        server_status(on ? 1 : 0);
}

/* multi_drain - stop taking clients; exit once the last one is gone */
static void multi_drain(const char *why)
{
    if (msg_verbose)
        msg_info("draining: %s", why);
    multi_draining = true;
    multi_listen(false);
    if (!server_standalone)
        event_disable(MASTER_STATUS_FD);
    if (multi_client_count == 0)
        server_exit(why);
}

/* multi_abort_event - master closed the status pipe */
static void multi_abort_event(int event, int fd, void *ctx)
{
    (void) event, (void) fd, (void) ctx;
    multi_drain("master is gone or reloaded");
}

/* multi_accept_event - a listener is readable */
static void multi_accept_event(int event, int lfd, void *ctx)
{
    int fd;

    (void) event, (void) ctx;
    fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED)
            msg_warn("accept: %m");
        return;
    }
    multi_client_count++;
    multi_idle_arm();
    if (++server_use_count >= var_max_use)
        multi_drain("max_use reached");
    else if (multi_client_count >= multi_client_limit)
        multi_listen(false);
    server_multi_connect(fd);
}

/* multi_server_disconnect - the daemon is done with a client */
void multi_server_disconnect(int fd)
{
    event_disable(fd);
    close(fd);
    if (multi_client_count > 0)
        multi_client_count--;
    if (server_standalone && multi_client_count == 0) {
        server_stdio_done();
        server_exit("stand-alone session done");
    }
    if (multi_draining) {
        if (multi_client_count == 0)
            server_exit("done after drain");
        return;
    }
    if (multi_client_count < multi_client_limit)
        multi_listen(true);
    multi_idle_arm();
}

PH_NORETURN void multi_server_main(int argc, char **argv, multi_connect_fn on_connect,
                                   const SERVER_OPTS *opts)
{
    server_init(argc, argv, opts);
    multi_connect = on_connect;
    multi_client_limit = server_opts->client_limit > 0 ? server_opts->client_limit
        : SERVER_CLIENT_LIMIT;
    if (server_standalone) {
        multi_client_count = 1;
        server_multi_connect(server_stdio_fd());
        event_run();
        server_stdio_done();
        server_exit("event loop stopped");
    }
    for (int i = 0; i < server_listen_count; i++)
        server_set_nonblock(server_listen_fds[i]);
    event_enable_read(MASTER_STATUS_FD, multi_abort_event, NULL);
    multi_listen(true);
    multi_idle_arm();
    event_run();
    server_exit("event loop stopped");
}

/* ------------------------------------------------------------------ */
/* trigger_server_main - woken by bytes on a socket or fifo */

static trigger_fn trigger_handler;
static uint64_t trigger_idle_timer;

/* trigger_idle_event - nothing happened for max_idle seconds */
static void trigger_idle_event(int event, int fd, void *ctx)
{
    (void) event, (void) fd, (void) ctx;
    server_exit("idle timeout");
}

/* trigger_idle_arm - restart the idle timer */
static void trigger_idle_arm(void)
{
    if (server_opts->no_idle_exit || server_standalone)
        return;
    if (trigger_idle_timer)
        event_timer_cancel(trigger_idle_timer);
    trigger_idle_timer = event_timer_add((int) var_max_idle * 1000, trigger_idle_event, NULL);
}

/* trigger_deliver - run the handler on bytes, with use accounting */
static void trigger_deliver(const char *buf, ssize_t len)
{
    server_status(0);
    trigger_handler(buf, len, server_service, server_args);
    if (++server_use_count >= var_max_use)
        server_exit("max_use reached");
    if (server_master_gone())
        server_exit("master is gone or reloaded");
    server_status(1);
    trigger_idle_arm();
}

/* trigger_abort_event - master closed the status pipe */
static void trigger_abort_event(int event, int fd, void *ctx)
{
    (void) event, (void) fd, (void) ctx;
    server_exit("master is gone or reloaded");
}

/* trigger_fifo_event - bytes in the fifo */
static void trigger_fifo_event(int event, int fd, void *ctx)
{
    char buf[SERVER_TRIGGER_MAX];
    ssize_t n;

    (void) event, (void) ctx;
    n = read(fd, buf, sizeof(buf));
    if (n > 0)
        trigger_deliver(buf, n);
    else if (n < 0 && errno != EAGAIN && errno != EINTR)
        msg_warn("read trigger fifo: %m");
}

/* trigger_accept_event - a client connected to the trigger socket */
static void trigger_accept_event(int event, int lfd, void *ctx)
{
    char buf[SERVER_TRIGGER_MAX];
    struct pollfd pfd;
    ssize_t n = 0;
    int fd;

    (void) event, (void) ctx;
    fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0)
        return;
    pfd.fd = fd;
    pfd.events = POLLIN;
    /* The sender writes at once (trigger_send); do not wait on a silent one. */
    if (poll(&pfd, 1, 1000) > 0)
        n = read(fd, buf, sizeof(buf));
    close(fd);
    if (n > 0)
        trigger_deliver(buf, n);
}

PH_NORETURN void trigger_server_main(int argc, char **argv, trigger_fn on_trigger,
                                     const SERVER_OPTS *opts)
{
    server_init(argc, argv, opts);
    trigger_handler = on_trigger;
    if (server_standalone) {
        char buf[SERVER_TRIGGER_MAX];
        ssize_t n;

        while ((n = read(0, buf, sizeof(buf))) != 0) {
            if (n < 0) {
                if (errno == EINTR)
                    continue;
                msg_fatal("read stdin: %m");
            }
            on_trigger(buf, n, server_service, server_args);
        }
        server_exit("stand-alone input done");
    }
    for (int i = 0; i < server_listen_count; i++) {
        server_set_nonblock(server_listen_fds[i]);
        if (strcmp(server_type, "fifo") == 0)
            event_enable_read(server_listen_fds[i], trigger_fifo_event, NULL);
        else
            event_enable_read(server_listen_fds[i], trigger_accept_event, NULL);
    }
    event_enable_read(MASTER_STATUS_FD, trigger_abort_event, NULL);
    server_status(1);
    trigger_idle_arm();
    event_run();
    server_exit("event loop stopped");
}

/* ------------------------------------------------------------------ */

/* trigger_send - write a wake-up to a service socket or fifo, never blocking long */
int trigger_send(const char *path, const char *buf, size_t len)
{
    struct sockaddr_un sun;
    struct pollfd pfd;
    struct stat st;
    int timeout_ms = (var_trigger_timeout > 0 ? (int) var_trigger_timeout : 10) * 1000;
    int fd;
    ssize_t n;

    if (stat(path, &st) < 0)
        return -1;
    if (S_ISFIFO(st.st_mode)) {
        if ((fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC)) < 0)
            return -1;
        n = write(fd, buf, len);
        close(fd);
        return n == (ssize_t) len ? 0 : -1;
    }
    if (strlen(path) >= sizeof(sun.sun_path)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    memcpy(sun.sun_path, path, strlen(path) + 1);
    if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
        return -1;
    if (connect(fd, (struct sockaddr *) &sun, sizeof(sun)) < 0 && errno != EINPROGRESS) {
        int saved = errno;

        close(fd);
        errno = saved;
        return -1;
    }
    pfd.fd = fd;
    pfd.events = POLLOUT;
    if (poll(&pfd, 1, timeout_ms) <= 0 || (pfd.revents & POLLOUT) == 0) {
        close(fd);
        errno = ETIMEDOUT;
        return -1;
    }
    n = send(fd, buf, len, MSG_NOSIGNAL);
    close(fd);
    return n == (ssize_t) len ? 0 : -1;
}
