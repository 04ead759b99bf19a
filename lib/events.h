/* events.h - single-threaded event loop on epoll.
 *
 * File descriptor readiness, one-shot timers and signals (delivered through
 * signalfd, so handlers run in the loop, never in signal context). One loop
 * per process (a process-wide singleton, like Postfix's events.c).
 *
 * Callbacks may add/remove any fd or timer, including their own.
 * Errors from epoll/signalfd set-up are fatal (environment problems).
 */
#ifndef EVENTS_H
#define EVENTS_H

#include "sys_defs.h"

#define EVENT_READ   (1 << 0)
#define EVENT_WRITE  (1 << 1)
#define EVENT_ERROR  (1 << 2)	/* EPOLLERR/EPOLLHUP: also reported with READ */
#define EVENT_TIMER  (1 << 3)
#define EVENT_SIGNAL (1 << 4)

/* event is EVENT_*; for signals, the signal number is passed as fd */
typedef void (*event_fn)(int event, int fd, void *ctx);

/* event_enable_read - call fn when fd is readable (replaces a previous read callback) */
void event_enable_read(int fd, event_fn fn, void *ctx);
/* event_enable_write - call fn when fd is writable */
void event_enable_write(int fd, event_fn fn, void *ctx);
/* event_disable_read / event_disable_write / event_disable - stop watching */
void event_disable_read(int fd);
void event_disable_write(int fd);
void event_disable(int fd);

/* event_timer_add - call fn once after delay_ms; returns an id > 0 */
uint64_t event_timer_add(int delay_ms, event_fn fn, void *ctx);
/* event_timer_cancel - cancel by id (an expired or unknown id is fine) */
void event_timer_cancel(uint64_t id);

/* event_signal - call fn in the loop when sig arrives (blocks sig for the
 * process and routes it through signalfd); fn == NULL restores default */
void event_signal(int sig, event_fn fn, void *ctx);

/* event_loop - wait for and dispatch events once, at most timeout_ms
 * (-1: until an event). Returns the number of callbacks run. */
int event_loop(int timeout_ms);
/* event_run - loop until event_stop() is called */
void event_run(void);
/* event_stop - make event_run return after the current dispatch */
void event_stop(void);
/* event_now_ms - monotonic clock in milliseconds */
int64_t event_now_ms(void);
/* event_fork_reset - in a child after fork: drop all watches, timers and
 * signal routes inherited from the parent (closes the epoll/signal fds) */
void event_fork_reset(void);

#endif
