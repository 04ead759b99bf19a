/* master.h - the supervisor's internal interfaces (master/ only).
 *
 * One MASTER_SERV per master.cf entry, holding its listeners, its status
 * pipe and its children's counts; one MASTER_PROC per live child. A child
 * whose service went away or was replaced by a reload is "orphaned"
 * (serv == NULL): it is still reaped, but no longer counted.
 */
#ifndef MASTER_H
#define MASTER_H

#include "sys_defs.h"
#include "argv.h"
#include "mastercf.h"

typedef struct master_serv {
    char   *name;		/* master.cf service field */
    char   *type;		/* inet unix unix-dgram fifo pass */
    char   *listen_spec;	/* what the listeners are bound to (reuse key) */
    int    *listen_fds;
    int     listen_count;
    char   *sock_path;		/* unix/fifo: the file to remove at the end */
    bool    unpriv;
    int     wakeup;		/* seconds, 0: none */
    bool    wakeup_if_used;
    int     maxproc;		/* 0: no limit */
    char   *path;		/* program to run */
    ARGV   *args;		/* its argv */
    int     status_fd[2];	/* [0] read by master, [1] given to children */
    int     total;		/* children alive */
    int     avail;		/* children ready for a client */
    bool    listening;		/* listeners watched by the event loop */
    bool    throttled;
    uint64_t throttle_timer;
    uint64_t wakeup_timer;
    struct master_serv *next;
} MASTER_SERV;

typedef struct master_proc {
    pid_t   pid;
    MASTER_SERV *serv;		/* NULL when orphaned by a reload */
    char   *path;		/* for log lines after the service is gone */
    bool    avail;
    bool    reported;		/* sent a status record: start-up went fine */
    struct master_proc *next;
} MASTER_PROC;

extern MASTER_SERV *master_services;
extern MASTER_PROC *master_procs;
extern bool master_is_root;
extern int master_verbose;
extern bool master_stopping;	/* SIGTERM seen: children are being stopped */

/* master_service.c */
/* master_services_build - service list from master.cf entries; listeners
 * are reused from old (same name, type and listen spec) or opened; returns
 * NULL with *error_r when a listener cannot be opened or a name is bad */
MASTER_SERV *master_services_build(MASTER_TABLE *mt, MASTER_SERV *old, const char **error_r);
/* master_service_start - status pipe, listen, wakeup timer */
void master_service_start(MASTER_SERV *serv);
/* master_service_stop - orphan children, close pipe and timers; close the
 * listeners too unless keep_listeners */
void master_service_stop(MASTER_SERV *serv, bool keep_listeners);
/* master_service_free - release (listeners must be closed or handed on) */
void master_service_free(MASTER_SERV **servp);
/* master_service_describe - "name type" for logs */
const char *master_service_describe(const MASTER_SERV *serv);

/* master_listen.c */
/* master_listen_open - open serv's listeners as described by listen_spec;
 * 0, or -1 with *error_r */
int master_listen_open(MASTER_SERV *serv, const char **error_r);
/* master_listen_spec - the listen spec of an entry; NULL with *error_r */
char *master_listen_spec(const MASTER_ENTRY *ent, const char **error_r);
/* master_listen_close - close listeners and remove a unix/fifo file */
void master_listen_close(MASTER_SERV *serv, bool remove_file);

/* master_spawn.c */
/* master_avail_update - watch the listeners iff a new child may be needed */
void master_avail_update(MASTER_SERV *serv);
/* master_status_event - read children's status records */
void master_status_event(int event, int fd, void *ctx);
/* master_reap - collect dead children, log, throttle */
void master_reap(void);
/* master_kill_all - signal every child (all services and orphans) */
void master_kill_all(int sig);
/* master_wakeup_init - arm the wakeup timer of serv */
void master_wakeup_init(MASTER_SERV *serv);

/* master.c */
/* master_status_dirty - schedule a rewrite of the status file */
void master_status_dirty(void);

#endif
