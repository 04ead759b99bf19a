/* qmgr - the queue manager.
 *
 * SYNOPSIS
 *   qmgr [generic daemon options]      (master.cf: qmgr unix n - n 300 1 qmgr)
 *
 * DESCRIPTION
 *   The only scheduler of the mail system. It waits for triggers on
 *   public/qmgr (smtpd, pickup and "postqueue -f" write there; master
 *   writes "W" every wakeup interval) and for its own timers:
 *
 *     I, W, other  scan incoming/: complete files move to active/
 *     D            scan deferred/ for messages whose retry time has come
 *     A            scan incoming/ and ALL of deferred/ (postqueue -f)
 *     F            (flush dead destinations: nothing to do here)
 *
 *   deferred/ is also scanned every queue_run_delay. For each message
 *   moved to active/ it logs "ID: from=<s>, size=N, nrcpt=N (queue
 *   active)", resolves every pending recipient (lib/resolve.h), groups
 *   recipients into delivery requests per transport:nexthop (at most
 *   <transport>_destination_recipient_limit each) and runs them through
 *   the event loop: at most maxproc (master.cf) requests per transport and
 *   <transport>_destination_concurrency_limit per destination (the
 *   recipient itself when the recipient limit is 1). Results update the
 *   queue file in place; finished messages are unlinked ("ID: removed"),
 *   failures produce RFC 3464 bounces, the rest goes to deferred/ with
 *   exponential back-off (lib/backoff.h) until maximal_queue_lifetime
 *   (bounce_queue_lifetime for null-sender mail).
 *
 *   At start-up, messages left in active/ (a crash) and incoming/ are
 *   picked up again: delivery is at least once, never lost.
 *
 * LIMITS
 *   qmgr_message_active_limit messages in memory at once; the rest wait in
 *   incoming/ and deferred/. max_use does not apply (qmgr runs until
 *   master stops it).
 */
#include "sys_defs.h"

#include <limits.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "events.h"
#include "mail_queue.h"
#include "msg.h"
#include "resolve.h"
#include "server.h"
#include "vstring.h"

#include "qmgr.h"

int qmgr_active_count;

static uint64_t qmgr_kick_timer;
static uint64_t qmgr_deferred_timer;
static bool qmgr_want_incoming;
static bool qmgr_want_deferred;
static bool qmgr_want_force;

/* qmgr_pickup_poke - wake pickup when maildrop/ changed since last time
 * (sendmail triggers qmgr; one stat per scan keeps this cheap) */
static void qmgr_pickup_poke(void)
{
    static struct timespec last;
    static VSTRING *path;
    struct stat st;
    char req = 'W';

    if (path == NULL)
	path = vstring_alloc(100);
    vstring_fmt(path, "%s/%s", mail_queue_root(), MAIL_QUEUE_MAILDROP);
    if (stat(STR(path), &st) < 0)
	return;
    if (st.st_mtim.tv_sec == last.tv_sec && st.st_mtim.tv_nsec == last.tv_nsec)
	return;
    last = st.st_mtim;
    vstring_fmt(path, "%s/%s/pickup", mail_queue_root(), MAIL_QUEUE_PUBLIC);
    if (trigger_send(STR(path), &req, 1) < 0 && msg_verbose)
	msg_info("trigger %s: %m", STR(path));
}

/* qmgr_kick_event - run the scans that were asked for */
static void qmgr_kick_event(int event, int fd, void *ctx)
{
    (void) event, (void) fd, (void) ctx;
    qmgr_kick_timer = 0;
    if (qmgr_want_deferred) {
	bool force = qmgr_want_force;

	qmgr_want_deferred = qmgr_want_force = false;
	qmgr_scan_deferred(force);
    }
    if (qmgr_want_incoming) {
	qmgr_want_incoming = false;
	qmgr_pickup_poke();
	qmgr_scan_incoming();
    }
}

/* qmgr_kick - scan incoming/ soon (coalesces bursts of triggers) */
void qmgr_kick(void)
{
    qmgr_want_incoming = true;
    if (qmgr_kick_timer == 0)
	qmgr_kick_timer = event_timer_add(0, qmgr_kick_event, NULL);
}

/* qmgr_deferred_event - the periodic deferred queue run */
static void qmgr_deferred_event(int event, int fd, void *ctx)
{
    (void) event, (void) fd, (void) ctx;
    qmgr_want_deferred = true;
    qmgr_kick();
    qmgr_deferred_timer = event_timer_add((int) var_queue_run_delay * 1000,
					  qmgr_deferred_event, NULL);
}

/* qmgr_trigger - one trigger message: each byte is a request */
static void qmgr_trigger(const char *buf, ssize_t len, const char *service, char **argv)
{
    (void) service, (void) argv;
    for (ssize_t i = 0; i < len; i++) {
	switch (buf[i]) {
	case 'A':
	    qmgr_want_force = true;
	    /* FALLTHROUGH */
	case 'D':
	    qmgr_want_deferred = true;
	    break;
	case 'F':
	    break;
	default:
	    break;
	}
    }
    qmgr_kick();
}

/* qmgr_pre_init - queue set-up before the privilege drop */
static void qmgr_pre_init(const char *service, char **argv)
{
    (void) service, (void) argv;
    mail_queue_init(var_queue_directory, var_hash_queue_depth, var_hash_queue_names);
    var_max_use = LONG_MAX;		/* qmgr never retires itself */
}

/* qmgr_post_init - recover what an earlier run left behind */
static void qmgr_post_init(const char *service, char **argv)
{
    (void) service, (void) argv;
    qmgr_scan_recover();
    qmgr_deferred_timer = event_timer_add((int) var_queue_run_delay * 1000,
					  qmgr_deferred_event, NULL);
}

/* main - the trigger server skeleton with qmgr's hooks */
int main(int argc, char **argv)
{
    static const SERVER_OPTS opts = {
	.pre_init = qmgr_pre_init,
	.post_init = qmgr_post_init,
	.no_idle_exit = true,
    };

    trigger_server_main(argc, argv, qmgr_trigger, &opts);
}
