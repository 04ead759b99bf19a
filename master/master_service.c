/* master_service - the service table: master.cf entries made runnable.
 *
 * master_services_build turns a parsed master.cf into MASTER_SERV records:
 * program path (an absolute command, or daemon_directory/command), the
 * child's argv (-n service -t type [-s N] [-u] [-v] -c DIR, the -o
 * overrides, then the master.cf arguments), maxproc (0 = no limit, "-" =
 * default_process_limit) and listeners. On reload the old list is passed
 * in: a service with the same name, type and listen spec takes over the
 * old listeners, so no pending connection is lost; everything else is
 * opened fresh. A failure leaves the old list untouched (the caller keeps
 * running the old configuration).
 */
#include "sys_defs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "events.h"
#include "msg.h"
#include "mymalloc.h"
#include "vstring.h"
#include "master.h"

MASTER_SERV *master_services;

/* master_service_describe - "name/type" for log lines */
const char *master_service_describe(const MASTER_SERV *serv)
{
    static VSTRING *buf;

    if (buf == NULL)
        buf = vstring_alloc(64);
    vstring_fmt(buf, "%s/%s", serv->name, serv->type);
    return STR(buf);
}

/* service_take_listeners - move matching listeners from an old service */
static bool service_take_listeners(MASTER_SERV *serv, MASTER_SERV *old)
{
    for (MASTER_SERV *o = old; o; o = o->next) {
        if (o->listen_count > 0 && strcmp(o->name, serv->name) == 0
            && strcmp(o->type, serv->type) == 0
            && strcmp(o->listen_spec, serv->listen_spec) == 0) {
            serv->listen_fds = o->listen_fds;
            serv->listen_count = o->listen_count;
            serv->sock_path = o->sock_path;
            o->sock_path = NULL;
            o->listen_fds = NULL;
            o->listen_count = 0;
            return true;
        }
    }
    return false;
}

/* service_argv - the child's command line */
static ARGV *service_argv(const MASTER_SERV *serv, const MASTER_ENTRY *ent)
{
    ARGV   *av = argv_alloc(16);
    char    num[16];

    argv_add(av, serv->path, "-c", config_get_dir(), "-n", serv->name, "-t", serv->type, (char *) 0);
    if (serv->listen_count > 1) {
        snprintf(num, sizeof(num), "%d", serv->listen_count);
        argv_add(av, "-s", num, (char *) 0);
    }
    if (serv->unpriv)
        argv_add(av, "-u", (char *) 0);
    if (master_verbose)
        argv_add(av, "-v", (char *) 0);
    for (int i = 0; ent->overrides && i < ent->overrides->argc; i++)
        argv_add(av, "-o", ent->overrides->argv[i], (char *) 0);
    for (int i = 0; ent->args && i < ent->args->argc; i++)
        argv_add(av, ent->args->argv[i], (char *) 0);
    return av;
}

/* service_free_list - release a partly built list, closing its own listeners */
static void service_free_list(MASTER_SERV *list, MASTER_SERV *old)
{
    (void) old;
    while (list) {
        MASTER_SERV *next = list->next;

        master_listen_close(list, false);
        master_service_free(&list);
        list = next;
    }
}

/* master_services_build - runnable services from master.cf */
MASTER_SERV *master_services_build(MASTER_TABLE *mt, MASTER_SERV *old, const char **error_r)
{
    MASTER_SERV *head = NULL, **tail = &head;
    VSTRING *path = vstring_alloc(100);

    for (size_t i = 0; i < mt->count; i++) {
        MASTER_ENTRY *ent = mt->entries[i];
        MASTER_SERV *serv = mycalloc(1, sizeof(*serv));

        serv->name = mystrdup(ent->name);
        serv->type = mystrdup(ent->type);
        serv->status_fd[0] = serv->status_fd[1] = -1;
        serv->unpriv = ent->unpriv;
        serv->wakeup = ent->wakeup;
        serv->wakeup_if_used = ent->wakeup_if_used;
        serv->maxproc = ent->maxproc < 0 ? (int) var_default_process_limit : ent->maxproc;
        if (ent->command[0] == '/')
            vstring_set(path, ent->command);
        else
            vstring_fmt(path, "%s/%s", var_daemon_directory, ent->command);
        serv->path = mystrdup(STR(path));
        *tail = serv;
        tail = &serv->next;
        if ((serv->listen_spec = master_listen_spec(ent, error_r)) == NULL)
            goto fail;
        /* A duplicate would fight over one socket. */
        for (MASTER_SERV *s = head; s != serv; s = s->next) {
            if (strcmp(s->listen_spec, serv->listen_spec) == 0) {
                static VSTRING *err;

                if (err == NULL)
                    err = vstring_alloc(100);
                vstring_fmt(err, "%s, line %d: duplicate service %s %s",
                            config_master_cf(), ent->line, ent->name, ent->type);
                *error_r = STR(err);
                goto fail;
            }
        }
        if (!service_take_listeners(serv, old) && master_listen_open(serv, error_r) < 0)
            goto fail;
        serv->args = service_argv(serv, ent);
        if (access(serv->path, X_OK) < 0)
            msg_warn("%s, line %d: service %s: command %s: %m",
                     config_master_cf(), ent->line, ent->name, serv->path);
    }
    vstring_free(&path);
    return head;

fail:
    /* Hand borrowed listeners back by re-matching is not possible once
     * moved, so put them back where they came from. */
    for (MASTER_SERV *s = head; s; s = s->next) {
        for (MASTER_SERV *o = old; o && s->listen_count > 0; o = o->next) {
            if (o->listen_count == 0 && o->listen_spec && s->listen_spec
                && strcmp(o->listen_spec, s->listen_spec) == 0
                && strcmp(o->name, s->name) == 0 && strcmp(o->type, s->type) == 0) {
                o->listen_fds = s->listen_fds;
                o->listen_count = s->listen_count;
                o->sock_path = s->sock_path;
                s->sock_path = NULL;
                s->listen_fds = NULL;
                s->listen_count = 0;
            }
        }
    }
    service_free_list(head, old);
    vstring_free(&path);
    return NULL;
}

/* master_service_start - status pipe, event registration, wakeup */
void master_service_start(MASTER_SERV *serv)
{
    if (pipe2(serv->status_fd, O_CLOEXEC) < 0)
        msg_fatal("pipe: %m");
    fcntl(serv->status_fd[0], F_SETFL, O_NONBLOCK);
    event_enable_read(serv->status_fd[0], master_status_event, serv);
    master_avail_update(serv);
    master_wakeup_init(serv);
}

/* master_service_stop - detach children and stop watching */
void master_service_stop(MASTER_SERV *serv, bool keep_listeners)
{
    for (MASTER_PROC *p = master_procs; p; p = p->next)
        if (p->serv == serv)
            p->serv = NULL;
    serv->total = serv->avail = 0;
    if (serv->listening) {
        for (int i = 0; i < serv->listen_count; i++)
            event_disable_read(serv->listen_fds[i]);
        serv->listening = false;
    }
    if (serv->status_fd[0] >= 0) {
        event_disable(serv->status_fd[0]);
        /* Closing our end tells idle children to exit, busy ones after
         * their client. */
        close(serv->status_fd[0]);
        close(serv->status_fd[1]);
        serv->status_fd[0] = serv->status_fd[1] = -1;
    }
    if (serv->throttle_timer)
        event_timer_cancel(serv->throttle_timer);
    if (serv->wakeup_timer)
        event_timer_cancel(serv->wakeup_timer);
    serv->throttle_timer = serv->wakeup_timer = 0;
    if (!keep_listeners)
        master_listen_close(serv, true);
}

/* master_service_free - release one service record */
void master_service_free(MASTER_SERV **servp)
{
    MASTER_SERV *serv = *servp;

    if (serv == NULL)
        return;
    myfree(serv->name);
    myfree(serv->type);
    myfree(serv->listen_spec);
    myfree(serv->listen_fds);
    myfree(serv->sock_path);
    myfree(serv->path);
    if (serv->args)
        argv_free(&serv->args);
    myfree(serv);
    *servp = NULL;
}
