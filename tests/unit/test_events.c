/* test_events - epoll loop: timers, fds, signals, changes during dispatch. */
#include "sys_defs.h"

#include <errno.h>
#include <signal.h>
#include <sys/socket.h>

#include "events.h"
#include "msg.h"
#include "unit.h"

static char trace[256];
static size_t trace_len;

/* note - append one character to the trace */
static void note(char c)
{
    if (trace_len < sizeof(trace) - 1)
        trace[trace_len++] = c;
    trace[trace_len] = 0;
}

/* trace_reset - empty the trace */
static void trace_reset(void)
{
    trace_len = 0;
    trace[0] = 0;
}

/* run_until - loop until the trace has n entries or 2 s pass */
static void run_until(size_t n)
{
    int64_t end = event_now_ms() + 2000;

    while (trace_len < n && event_now_ms() < end)
        event_loop(100);
}

/* on_timer - record ctx's character */
static void on_timer(int event, int fd, void *ctx)
{
    if (event == EVENT_TIMER && fd == -1)
        note(*(const char *) ctx);
    else
        note('?');
}

TEST(test_timer_order)
{
    int64_t t0 = event_now_ms();

    trace_reset();
    event_timer_add(60, on_timer, "d");
    event_timer_add(20, on_timer, "a");
    event_timer_add(40, on_timer, "c");
    event_timer_add(20, on_timer, "b");     /* same expiry: after "a" */
    event_timer_add(-5, on_timer, "0");     /* negative means now */
    run_until(5);
    CHECK_STR(trace, "0abcd");
    CHECK(event_now_ms() - t0 >= 60);
}

static uint64_t victim_id;

/* on_cancel_other - cancel a timer due in the same pass */
static void on_cancel_other(int event, int fd, void *ctx)
{
    (void) event, (void) fd, (void) ctx;
    note('k');
    event_timer_cancel(victim_id);
}

TEST(test_timer_cancel)
{
    trace_reset();
    uint64_t a = event_timer_add(10, on_timer, "a");
    event_timer_add(20, on_timer, "b");
    uint64_t c = event_timer_add(15, on_timer, "c");
    CHECK(a > 0 && c > a);
    event_timer_cancel(c);
    event_timer_cancel(c);                  /* twice: fine */
    event_timer_cancel(999999);             /* unknown: fine */
    event_timer_cancel(0);
    run_until(2);
    CHECK_STR(trace, "ab");
    event_timer_cancel(a);                  /* expired: fine */

    /* Cancelled from inside a callback in the same pass. */
    trace_reset();
    event_timer_add(0, on_cancel_other, NULL);
    victim_id = event_timer_add(0, on_timer, "v");
    usleep(2000);
    CHECK_INT(event_loop(0), 1);
    CHECK_STR(trace, "k");
    CHECK_INT(event_loop(0), 0);
}

/* on_rearm - a zero-delay timer that re-arms itself */
static void on_rearm(int event, int fd, void *ctx)
{
    (void) event, (void) fd;
    note('r');
    if (trace_len < 3)
        event_timer_add(0, on_rearm, ctx);
}

TEST(test_timer_no_starvation)
{
    trace_reset();
    event_timer_add(0, on_rearm, NULL);
    CHECK_INT(event_loop(0), 1);            /* the re-armed one waits a pass */
    CHECK_INT(event_loop(0), 1);
    CHECK_INT(event_loop(0), 1);
    CHECK_INT(event_loop(0), 0);
    CHECK_STR(trace, "rrr");
}

static int seen_event;

/* on_fd - record the event bits and drain a byte */
static void on_fd(int event, int fd, void *ctx)
{
    char c;

    seen_event = event;
    note(*(const char *) ctx);
    if (event & EVENT_READ)
        (void) read(fd, &c, 1);
}

TEST(test_fd_callbacks)
{
    int sv[2];

    CHECK_INT(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    trace_reset();
    event_enable_read(sv[0], on_fd, "r");
    CHECK_INT(event_loop(0), 0);
    CHECK_INT(write(sv[1], "x", 1), 1);
    CHECK_INT(event_loop(1000), 1);
    CHECK_STR(trace, "r");
    CHECK_INT(seen_event, EVENT_READ);
    /* Write readiness together with read. */
    event_enable_write(sv[0], on_fd, "w");
    CHECK_INT(event_loop(1000), 1);
    CHECK_STR(trace, "rw");
    CHECK_INT(seen_event, EVENT_WRITE);
    event_disable_write(sv[0]);
    CHECK_INT(event_loop(0), 0);
    /* Replacing the read callback. */
    event_enable_read(sv[0], on_fd, "R");
    CHECK_INT(write(sv[1], "y", 1), 1);
    CHECK_INT(event_loop(1000), 1);
    CHECK_STR(trace, "rwR");
    /* Peer closes: read callback sees READ|ERROR (hang-up). */
    close(sv[1]);
    CHECK_INT(event_loop(1000), 1);
    CHECK(seen_event & EVENT_READ);
    CHECK(seen_event & EVENT_ERROR);
    event_disable(sv[0]);
    CHECK_INT(event_loop(0), 0);
    event_disable(sv[0]);                   /* twice: fine */
    close(sv[0]);
    event_disable(sv[0]);                   /* after close: fine */
    event_disable(100000);                  /* never registered: fine */
    CHECK_PANICS(event_enable_read(-1, on_fd, "x"));
}

static int pipe_a[2], pipe_b[2];
static int calls_a, calls_b, calls_new;

/* on_new - must never run: the new fd is not readable */
static void on_new(int event, int fd, void *ctx)
{
    (void) event, (void) fd, (void) ctx;
    calls_new++;
}

/* on_kill_other - disable and close the other pipe, reuse its number */
static void on_kill_other(int event, int fd, void *ctx)
{
    int *mine = ctx == (void *) pipe_a ? &calls_a : &calls_b;
    int *other = ctx == (void *) pipe_a ? pipe_b : pipe_a;

    (void) event, (void) fd;
    (*mine)++;
    event_disable(other[0]);
    close(other[0]);
    close(other[1]);
    int fds[2];
    if (pipe(fds) == 0) {
        /* The lowest free numbers: the ones just closed. */
        other[0] = fds[0];
        other[1] = fds[1];
        event_enable_read(fds[0], on_new, NULL);
    }
}

TEST(test_remove_during_dispatch)
{
    CHECK_INT(pipe(pipe_a), 0);
    CHECK_INT(pipe(pipe_b), 0);
    CHECK_INT(write(pipe_a[1], "x", 1), 1);
    CHECK_INT(write(pipe_b[1], "x", 1), 1);
    event_enable_read(pipe_a[0], on_kill_other, pipe_a);
    event_enable_read(pipe_b[0], on_kill_other, pipe_b);
    /* Both are ready in the same batch; whichever runs first kills the
     * other, whose pending event must be dropped, even though its fd
     * number now belongs to a new registration. */
    CHECK_INT(event_loop(1000), 1);
    CHECK_INT(calls_a + calls_b, 1);
    CHECK_INT(calls_new, 0);
    int *survivor = calls_a ? pipe_a : pipe_b;
    int *replaced = calls_a ? pipe_b : pipe_a;
    event_disable(survivor[0]);
    event_disable(replaced[0]);
    CHECK_INT(event_loop(0), 0);
    CHECK_INT(calls_new, 0);
    close(pipe_a[0]), close(pipe_a[1]), close(pipe_b[0]), close(pipe_b[1]);
}

/* on_self_close - a callback that disables and closes its own fd */
static void on_self_close(int event, int fd, void *ctx)
{
    (void) event, (void) ctx;
    note('s');
    event_disable(fd);
    close(fd);
}

TEST(test_self_close)
{
    int sv[2];

    CHECK_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    trace_reset();
    event_enable_read(sv[0], on_self_close, NULL);
    event_enable_write(sv[0], on_self_close, NULL);    /* both ready */
    CHECK_INT(write(sv[1], "x", 1), 1);
    CHECK_INT(event_loop(1000), 1);
    CHECK_STR(trace, "s");
    CHECK_INT(event_loop(0), 0);
    close(sv[1]);
}

static int sig_seen;

/* on_signal - record the signal number */
static void on_signal(int event, int sig, void *ctx)
{
    (void) ctx;
    if (event == EVENT_SIGNAL)
        sig_seen = sig;
}

TEST(test_signals)
{
    sigset_t cur;

    event_signal(SIGUSR1, on_signal, NULL);
    CHECK_INT(sigprocmask(SIG_BLOCK, NULL, &cur), 0);
    CHECK(sigismember(&cur, SIGUSR1));
    sig_seen = 0;
    CHECK_INT(kill(getpid(), SIGUSR1), 0);     /* blocked: waits for the loop */
    CHECK_INT(sig_seen, 0);
    CHECK_INT(event_loop(1000), 1);
    CHECK_INT(sig_seen, SIGUSR1);
    /* A second signal, routed later, shares the signalfd. */
    event_signal(SIGUSR2, on_signal, NULL);
    CHECK_INT(kill(getpid(), SIGUSR2), 0);
    CHECK_INT(event_loop(1000), 1);
    CHECK_INT(sig_seen, SIGUSR2);
    /* Back to the default action: unblocked again. */
    event_signal(SIGUSR2, NULL, NULL);
    CHECK_INT(sigprocmask(SIG_BLOCK, NULL, &cur), 0);
    CHECK(!sigismember(&cur, SIGUSR2));
    CHECK(sigismember(&cur, SIGUSR1));
    /* From another process. */
    sig_seen = 0;
    pid_t pid = fork();
    if (pid == 0) {
        kill(getppid(), SIGUSR1);
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    CHECK_INT(event_loop(1000), 1);
    CHECK_INT(sig_seen, SIGUSR1);
    CHECK_PANICS(event_signal(SIGKILL, on_signal, NULL));
}

/* on_stop - stop event_run */
static void on_stop(int event, int fd, void *ctx)
{
    (void) event, (void) fd, (void) ctx;
    note('x');
    event_stop();
}

TEST(test_run_stop)
{
    trace_reset();
    event_timer_add(5, on_timer, "a");
    event_timer_add(10, on_stop, NULL);
    event_timer_add(500, on_timer, "z");
    event_run();
    CHECK_STR(trace, "ax");
}

TEST(test_fork_reset)
{
    int sv[2];

    CHECK_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    CHECK_INT(write(sv[1], "x", 1), 1);
    event_enable_read(sv[0], on_fd, "p");
    trace_reset();
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        sigset_t cur;

        event_fork_reset();
        /* Nothing inherited: the readable fd and timer "z" do not fire. */
        if (event_loop(50) != 0)
            _exit(2);
        sigprocmask(SIG_BLOCK, NULL, &cur);
        if (sigismember(&cur, SIGUSR1))
            _exit(3);
        event_timer_add(1, on_timer, "c");
        while (trace_len == 0)
            event_loop(100);
        _exit(strcmp(trace, "c") == 0 ? 0 : 4);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status));
    CHECK_INT(WEXITSTATUS(status), 0);
    /* The parent's loop is untouched. */
    CHECK_INT(event_loop(1000) >= 1, 1);
    CHECK(strchr(trace, 'p') != NULL);
    event_disable(sv[0]);
    close(sv[0]);
    close(sv[1]);
}

int main(void)
{
    msg_init("test_events", MSG_TO_STDERR);
    RUN(test_timer_order);
    RUN(test_timer_cancel);
    RUN(test_timer_no_starvation);
    RUN(test_fd_callbacks);
    RUN(test_remove_during_dispatch);
    RUN(test_self_close);
    RUN(test_signals);
    RUN(test_run_stop);
    RUN(test_fork_reset);
    return unit_done();
}
