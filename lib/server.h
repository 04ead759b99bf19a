/* server.h - the skeletons every daemon's main() calls.
 *
 * A daemon's main() is its parameter set-up plus one call here. The
 * skeleton owns the lifecycle: options (-c DIR, -n service, -t type,
 * -o name=value, -v, -S stand-alone), config load, logging set-up (syslog
 * or maillog_file), pre_init hook (still privileged: open tables, keys),
 * privilege drop to mail_owner (unless the service is unpriv=n or we are
 * not root), post_init hook, the accept/serve loop, max_use/max_idle, and
 * availability status to master.
 *
 * Three kinds, as Postfix:
 *   single_server_main  one client at a time (smtpd, local, smtp, pop3d)
 *   multi_server_main   many clients per process, event driven (auth, imapd)
 *   trigger_server_main woken by a trigger or a timer (qmgr)
 *
 * Master -> child interface: the listening socket (or fifo) is fd
 * MASTER_LISTEN_FD; fd MASTER_STATUS_FD is a pipe on which the child writes
 * MASTER_STATUS records (its pid and whether it is available). A child
 * whose status pipe reads EOF (master went away) exits. With -S the
 * daemon serves one session on stdin/stdout instead (for tests).
 */
#ifndef SERVER_H
#define SERVER_H

#include "sys_defs.h"
#include "stream.h"

#define MASTER_LISTEN_FD 3
#define MASTER_STATUS_FD 4
/* With more than one listener (inet_interfaces = all on IPv4 + IPv6, or an
 * address list), master passes "-s N": the first listener is fd 3, the
 * others fds 5 .. 5+N-2. */
#define MASTER_XLISTEN_FD 5

typedef struct master_status {
    pid_t   pid;
    int     avail;		/* 1: ready for a client; 0: busy */
} MASTER_STATUS;

typedef struct server_opts {
    /* before the privilege drop (service name, argv after options) */
    void  (*pre_init)(const char *service, char **argv);
    /* after the privilege drop */
    void  (*post_init)(const char *service, char **argv);
    /* before the process exits normally (max_use/max_idle/master gone) */
    void  (*pre_exit)(void);
    /* multi server: number of clients now open (for idle accounting) */
    bool    no_idle_exit;	/* never exit for max_idle (qmgr, auth) */
    bool    stay_root;		/* keep root (local: switches per recipient) */
    int     client_limit;	/* multi server: clients per process (0: 1000) */
} SERVER_OPTS;

/* Service of one client connection on a STREAM (already has ipc/smtpd
 * timeouts unset: the service sets its own). The skeleton closes it. */
typedef void (*single_service_fn)(STREAM *client, const char *service, char **argv);
PH_NORETURN void single_server_main(int argc, char **argv, single_service_fn service,
				    const SERVER_OPTS *opts);

/* single_server_detach - called by a single server's service when the
 * client connection went on to another process: the skeleton then only
 * closes its copy (no shutdown, no lingering close) */
void single_server_detach(void);

/* server_close_listeners - close master's listening sockets (in a child
 * forked from a server, which must not hold them) */
void server_close_listeners(void);

/* server_is_standalone - true with -S (no master, no status pipe) */
bool server_is_standalone(void);

/* Multi server: on_connect gets a new client fd; the daemon registers it
 * with events.h and calls multi_server_disconnect(fd) when done (which
 * closes it). The loop is event_run(). */
typedef void (*multi_connect_fn)(int fd, const char *service, char **argv);
PH_NORETURN void multi_server_main(int argc, char **argv, multi_connect_fn on_connect,
				   const SERVER_OPTS *opts);
void multi_server_disconnect(int fd);
/* multi_server_client_count - clients currently open in this process */
int multi_server_client_count(void);

/* Trigger server: on_trigger runs for each trigger message (buf/len as
 * read). A master.cf wakeup arrives as the byte "W" written to the
 * service's own socket/fifo (as Postfix's TRIGGER_REQ_WAKEUP). The loop is event_run(), so the
 * daemon may add its own timers and fds. */
typedef void (*trigger_fn)(const char *buf, ssize_t len, const char *service, char **argv);
PH_NORETURN void trigger_server_main(int argc, char **argv, trigger_fn on_trigger,
				     const SERVER_OPTS *opts);

/* trigger_send - send a wake-up byte string to a service socket/fifo path
 * (e.g. queue_directory/public/qmgr); 0 or -1. Never blocks longer than
 * trigger_timeout. */
int trigger_send(const char *path, const char *buf, size_t len);

/* server_service_name - the master.cf service name of this process */
const char *server_service_name(void);

#endif
