/* events - single-threaded event loop on epoll(7).
 *
 * Purpose: the loop of every process that serves more than one thing at a
 * time (master, qmgr, imapd post-login, auth): fd readiness, one-shot
 * timers, and signals delivered as ordinary events.
 *
 * Contract (see events.h):
 *  - One loop per process, created on first use (epoll_create1 with
 *    EPOLL_CLOEXEC). Set-up errors are fatal.
 *  - Per fd: one read callback and one write callback. Registrations are
 *    level-triggered. EPOLLERR/EPOLLHUP are reported as EVENT_ERROR together
 *    with EVENT_READ to the read callback (or with EVENT_WRITE to the write
 *    callback when there is no read callback), so a peer that went away is
 *    always noticed.
 *  - Callbacks may add or remove any registration or timer, including their
 *    own, and may close descriptors, during dispatch. Each registration
 *    carries a generation number in the epoll event data; a pending event
 *    for an fd that was disabled (and maybe reused for a new descriptor) in
 *    the same batch is dropped, never dispatched to the new owner. Callers
 *    must event_disable(fd) before close(fd).
 *  - Timers: a binary min-heap ordered by (expiry, id); ids increase, so
 *    timers with the same expiry run in the order they were added. A timer
 *    added by a callback never runs in the same pass (no starvation by a
 *    zero-delay timer that re-arms itself). Cancel is O(n) in the number of
 *    timers (a scan of one array), fine for tens of thousands.
 *  - Signals: event_signal() blocks the signal and adds it to one signalfd;
 *    the handler runs in the loop with EVENT_SIGNAL and the signal number
 *    as fd. Like all signals, several arrivals before the loop reads them
 *    may be one event (a SIGCHLD handler must reap in a loop).
 *  - event_fork_reset(): in a child, forget everything inherited, close the
 *    epoll and signal descriptors, and unblock the routed signals (so an
 *    exec'd program does not start with them blocked).
 *  - Time is CLOCK_MONOTONIC in milliseconds.
 */
#include "sys_defs.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>

#include "events.h"
#include "msg.h"
#include "mymalloc.h"

#define EVENT_BATCH 64

typedef struct event_fd {
    event_fn rfn;
    void   *rctx;
    event_fn wfn;
    void   *wctx;
    uint32_t mask;              /* epoll events currently registered */
    uint32_t gen;               /* registration generation */
} EVENT_FD;

typedef struct event_timer {
    int64_t when;               /* monotonic ms */
    uint64_t id;
    event_fn fn;
    void   *ctx;
} EVENT_TIMER_ENT;

typedef struct event_sig {
    event_fn fn;
    void   *ctx;
} EVENT_SIG;

static int event_epfd = -1;
static EVENT_FD *event_fds;
static int event_fds_size;
static EVENT_TIMER_ENT *event_heap;
static size_t event_heap_len;
static size_t event_heap_size;
static uint64_t event_next_id = 1;
static int event_sigfd = -1;
static sigset_t event_sigmask;
static EVENT_SIG event_sigs[_NSIG];
static bool event_stopping;
static unsigned event_epoch;           /* bumped by event_fork_reset */

/* event_init - create the epoll instance on first use */
static void event_init(void)
{
    if (event_epfd >= 0)
        return;
    if ((event_epfd = epoll_create1(EPOLL_CLOEXEC)) < 0)
        msg_fatal("epoll_create1: %m");
    sigemptyset(&event_sigmask);
}

/* event_now_ms - monotonic milliseconds */
int64_t event_now_ms(void)
{
    struct timespec ts;

    if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
        msg_fatal("clock_gettime: %m");
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* event_fd_slot - table entry for fd, growing the table */
static EVENT_FD *event_fd_slot(int fd)
{
    if (fd < 0)
        msg_panic("event: bad file descriptor %d", fd);
    if (fd >= event_fds_size) {
        int     nsize = event_fds_size ? event_fds_size : 64;

        while (nsize <= fd)
            nsize *= 2;
        event_fds = myreallocarray(event_fds, (size_t) nsize, sizeof(*event_fds));
        memset(event_fds + event_fds_size, 0,
               (size_t) (nsize - event_fds_size) * sizeof(*event_fds));
        event_fds_size = nsize;
    }
    return event_fds + fd;
}

/* event_update - tell epoll about the wanted mask of fd */
static void event_update(int fd, uint32_t want)
{
    EVENT_FD *ep = event_fds + fd;
    struct epoll_event ev;

    if (want == ep->mask)
        return;
    if (want == 0) {
        if (epoll_ctl(event_epfd, EPOLL_CTL_DEL, fd, 0) < 0
            && errno != EBADF && errno != ENOENT)
            msg_fatal("epoll_ctl DEL fd %d: %m", fd);
        ep->mask = 0;
        ep->gen++;                  /* pending events for it are now stale */
        return;
    }
    if (ep->mask == 0)
        ep->gen++;                  /* a new registration */
    memset(&ev, 0, sizeof(ev));
    ev.events = want;
    ev.data.u64 = (uint64_t) (uint32_t) fd | (uint64_t) ep->gen << 32;
    int     op = ep->mask ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;

    if (epoll_ctl(event_epfd, op, fd, &ev) < 0) {
        /* The fd was closed and reused behind our back, or the reverse. */
        if (op == EPOLL_CTL_MOD && errno == ENOENT)
            op = EPOLL_CTL_ADD;
        else if (op == EPOLL_CTL_ADD && errno == EEXIST)
            op = EPOLL_CTL_MOD;
        else
            msg_fatal("epoll_ctl fd %d: %m", fd);
        if (epoll_ctl(event_epfd, op, fd, &ev) < 0)
            msg_fatal("epoll_ctl fd %d: %m", fd);
    }
    ep->mask = want;
}

/* event_enable_read - watch fd for input */
void    event_enable_read(int fd, event_fn fn, void *ctx)
{
    EVENT_FD *ep;

    event_init();
    ep = event_fd_slot(fd);
    ep->rfn = fn;
    ep->rctx = ctx;
    event_update(fd, ep->mask | EPOLLIN);
}

/* event_enable_write - watch fd for output space */
void    event_enable_write(int fd, event_fn fn, void *ctx)
{
    EVENT_FD *ep;

    event_init();
    ep = event_fd_slot(fd);
    ep->wfn = fn;
    ep->wctx = ctx;
    event_update(fd, ep->mask | EPOLLOUT);
}

/* event_disable_read - stop watching input */
void    event_disable_read(int fd)
{
    if (event_epfd < 0 || fd < 0 || fd >= event_fds_size)
        return;
    event_fds[fd].rfn = 0;
    event_fds[fd].rctx = 0;
    event_update(fd, event_fds[fd].mask & ~(uint32_t) EPOLLIN);
}

/* event_disable_write - stop watching output */
void    event_disable_write(int fd)
{
    if (event_epfd < 0 || fd < 0 || fd >= event_fds_size)
        return;
    event_fds[fd].wfn = 0;
    event_fds[fd].wctx = 0;
    event_update(fd, event_fds[fd].mask & ~(uint32_t) EPOLLOUT);
}

/* event_disable - stop watching fd altogether */
void    event_disable(int fd)
{
    event_disable_read(fd);
    event_disable_write(fd);
}

/* event_timer_before - heap order: expiry, then id */
static bool event_timer_before(const EVENT_TIMER_ENT *a, const EVENT_TIMER_ENT *b)
{
    return a->when < b->when || (a->when == b->when && a->id < b->id);
}

/* event_heap_up - restore heap order upwards from i */
static void event_heap_up(size_t i)
{
    while (i > 0) {
        size_t  parent = (i - 1) / 2;

        if (!event_timer_before(event_heap + i, event_heap + parent))
            break;
        EVENT_TIMER_ENT tmp = event_heap[i];

        event_heap[i] = event_heap[parent];
        event_heap[parent] = tmp;
        i = parent;
    }
}

/* event_heap_down - restore heap order downwards from i */
static void event_heap_down(size_t i)
{
    for (;;) {
        size_t  l = 2 * i + 1;
        size_t  r = l + 1;
        size_t  m = i;

        if (l < event_heap_len && event_timer_before(event_heap + l, event_heap + m))
            m = l;
        if (r < event_heap_len && event_timer_before(event_heap + r, event_heap + m))
            m = r;
        if (m == i)
            return;
        EVENT_TIMER_ENT tmp = event_heap[i];

        event_heap[i] = event_heap[m];
        event_heap[m] = tmp;
        i = m;
    }
}

/* event_heap_remove - take entry i out of the heap */
static void event_heap_remove(size_t i)
{
    event_heap_len--;
    if (i == event_heap_len)
        return;
    event_heap[i] = event_heap[event_heap_len];
    event_heap_up(i);
    event_heap_down(i);
}

/* event_timer_add - one-shot timer */
uint64_t event_timer_add(int delay_ms, event_fn fn, void *ctx)
{
    EVENT_TIMER_ENT *tp;

    if (fn == 0)
        msg_panic("event_timer_add: null callback");
    if (delay_ms < 0)
        delay_ms = 0;
    if (event_heap_len == event_heap_size) {
        event_heap_size = event_heap_size ? event_heap_size * 2 : 16;
        event_heap = myreallocarray(event_heap, event_heap_size, sizeof(*event_heap));
    }
    tp = event_heap + event_heap_len++;
    tp->when = event_now_ms() + delay_ms;
    tp->id = event_next_id++;
    tp->fn = fn;
    tp->ctx = ctx;
    event_heap_up(event_heap_len - 1);
    return event_next_id - 1;
}

/* event_timer_cancel - drop a timer by id; unknown ids are fine */
void    event_timer_cancel(uint64_t id)
{
    for (size_t i = 0; i < event_heap_len; i++) {
        if (event_heap[i].id == id) {
            event_heap_remove(i);
            return;
        }
    }
}

/* event_sig_update - apply event_sigmask to the signalfd */
static void event_sig_update(void)
{
    int     fd = signalfd(event_sigfd, &event_sigmask, SFD_NONBLOCK | SFD_CLOEXEC);

    if (fd < 0)
        msg_fatal("signalfd: %m");
    event_sigfd = fd;
}

/* event_sig_read - signalfd is readable: run the handlers */
static void event_sig_read(int event PH_UNUSED, int fd, void *ctx PH_UNUSED)
{
    struct signalfd_siginfo si;
    ssize_t n;

    while ((n = read(fd, &si, sizeof(si))) == (ssize_t) sizeof(si)) {
        int     sig = (int) si.ssi_signo;

        if (sig > 0 && sig < _NSIG && event_sigs[sig].fn)
            event_sigs[sig].fn(EVENT_SIGNAL, sig, event_sigs[sig].ctx);
        if (event_sigfd != fd)          /* reset from inside a handler */
            return;
    }
    if (n < 0 && errno != EAGAIN && errno != EINTR)
        msg_fatal("read signalfd: %m");
}

/* event_signal - route sig through the loop (fn NULL: default action) */
void    event_signal(int sig, event_fn fn, void *ctx)
{
    sigset_t one;

    if (sig <= 0 || sig >= _NSIG || sig == SIGKILL || sig == SIGSTOP)
        msg_panic("event_signal: bad signal %d", sig);
    event_init();
    sigemptyset(&one);
    sigaddset(&one, sig);
    if (fn) {
        event_sigs[sig].fn = fn;
        event_sigs[sig].ctx = ctx;
        sigaddset(&event_sigmask, sig);
        if (sigprocmask(SIG_BLOCK, &one, 0) < 0)
            msg_fatal("sigprocmask: %m");
        bool    first = event_sigfd < 0;

        event_sig_update();
        if (first)
            event_enable_read(event_sigfd, event_sig_read, 0);
    } else {
        event_sigs[sig].fn = 0;
        event_sigs[sig].ctx = 0;
        if (!sigismember(&event_sigmask, sig))
            return;
        sigdelset(&event_sigmask, sig);
        if (event_sigfd >= 0)
            event_sig_update();
        signal(sig, SIG_DFL);
        if (sigprocmask(SIG_UNBLOCK, &one, 0) < 0)
            msg_fatal("sigprocmask: %m");
    }
}

/* event_dispatch_fd - run the callbacks for one epoll event */
static int event_dispatch_fd(const struct epoll_event *ev)
{
    int     fd = (int) (uint32_t) ev->data.u64;
    uint32_t gen = (uint32_t) (ev->data.u64 >> 32);
    uint32_t what = ev->events;
    int     err = (what & (EPOLLERR | EPOLLHUP)) ? EVENT_ERROR : 0;
    int     ran = 0;

    /* Re-check the table before each call: an earlier callback in this
     * batch may have disabled this fd, closed it, or reused its number. */
    if (fd >= event_fds_size || event_fds[fd].gen != gen)
        return 0;
    if ((what & EPOLLIN || err) && event_fds[fd].rfn) {
        event_fds[fd].rfn(EVENT_READ | err, fd, event_fds[fd].rctx);
        ran++;
        if (fd >= event_fds_size || event_fds[fd].gen != gen)
            return ran;
    }
    if ((what & EPOLLOUT || (err && !ran)) && event_fds[fd].wfn) {
        event_fds[fd].wfn(EVENT_WRITE | err, fd, event_fds[fd].wctx);
        ran++;
    }
    return ran;
}

/* event_run_timers - run the timers that were due when this pass began */
static int event_run_timers(void)
{
    int64_t now = event_now_ms();
    uint64_t last_id = event_next_id;
    int     ran = 0;

    unsigned epoch = event_epoch;

    while (event_heap_len > 0 && event_heap[0].when <= now && event_heap[0].id < last_id
           && epoch == event_epoch) {
        EVENT_TIMER_ENT t = event_heap[0];

        event_heap_remove(0);
        t.fn(EVENT_TIMER, -1, t.ctx);
        ran++;
    }
    return ran;
}

/* event_loop - wait once (at most timeout_ms) and dispatch */
int     event_loop(int timeout_ms)
{
    struct epoll_event evs[EVENT_BATCH];
    int     wait_ms = timeout_ms;
    int     n;
    int     ran = 0;

    event_init();
    if (event_heap_len > 0) {
        int64_t left = event_heap[0].when - event_now_ms();

        if (left < 0)
            left = 0;
        if (wait_ms < 0 || left < wait_ms)
            wait_ms = left > INT32_MAX ? INT32_MAX : (int) left;
    }
    n = epoll_wait(event_epfd, evs, EVENT_BATCH, wait_ms);
    if (n < 0 && errno != EINTR)
        msg_fatal("epoll_wait: %m");
    unsigned epoch = event_epoch;

    for (int i = 0; i < n && epoch == event_epoch; i++)
        ran += event_dispatch_fd(evs + i);
    if (epoch == event_epoch)
        ran += event_run_timers();
    return ran;
}

/* event_run - dispatch until event_stop() */
void    event_run(void)
{
    while (!event_stopping)
        event_loop(-1);
    event_stopping = false;
}

/* event_stop - make event_run return */
void    event_stop(void)
{
    event_stopping = true;
}

/* event_fork_reset - forget the parent's loop in a child */
void    event_fork_reset(void)
{
    if (event_epfd >= 0)
        (void) close(event_epfd);
    if (event_sigfd >= 0)
        (void) close(event_sigfd);
    event_epfd = event_sigfd = -1;
    if (sigprocmask(SIG_UNBLOCK, &event_sigmask, 0) < 0)
        msg_fatal("sigprocmask: %m");
    sigemptyset(&event_sigmask);
    memset(event_sigs, 0, sizeof(event_sigs));
    myfree(event_fds);
    event_fds = 0;
    event_fds_size = 0;
    myfree(event_heap);
    event_heap = 0;
    event_heap_len = event_heap_size = 0;
    event_stopping = false;
    event_epoch++;              /* the batch being dispatched is void */
}
