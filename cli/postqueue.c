/* postqueue - list the mail queue, or ask qmgr to flush it.
 *
 * SYNOPSIS
 *	postqueue [-c config_dir] [-v] -p | -j | -f | -i queue_id | -s site
 *
 * DESCRIPTION
 *	-p	List the queue in Postfix's mailq format: a header line, then
 *		per message the queue ID (followed by "*" in the active queue,
 *		"!" on hold), the message size, the arrival time, the sender
 *		("MAILER-DAEMON" for the null sender), a "(reason)" line for
 *		each distinct reason from the message's defer log, and the
 *		recipients still to be delivered; then "-- N Kbytes in M
 *		Requests.", or "Mail queue is empty".
 *	-j	The same as one JSON object per line per message, with
 *		Postfix's field names (queue_name, queue_id, arrival_time,
 *		message_size, forced_expire, sender, recipients[] with address
 *		and, when known, delay_reason).
 *	-f	Flush: ask qmgr to try every queued message now. -i ID and -s
 *		SITE do the same (no per-message or per-site flush yet).
 *
 *	The queues are read in the order incoming, active, deferred, hold,
 *	maildrop; within a queue in queue ID (arrival) order. Files that
 *	are still being written or are unreadable are skipped (-v says why).
 *
 * LIMITS
 *	The listing reads the queue directly, so it needs read access to
 *	the queue files (root, or the mail_owner user); there is no showq
 *	service yet. IDs of one queue are held in memory for sorting.
 *
 * EXIT STATUS
 *	0 success; EX_USAGE bad options; EX_UNAVAILABLE for -f when qmgr
 *	does not answer; 1 for configuration or queue access problems.
 */
#include "sys_defs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "argv.h"
#include "config.h"
#include "mail_queue.h"
#include "msg.h"
#include "mymalloc.h"
#include "qfile.h"
#include "server.h"
#include "vstring.h"

static const char *const pq_queues[] = {
    MAIL_QUEUE_INCOMING, MAIL_QUEUE_ACTIVE, MAIL_QUEUE_DEFERRED,
    MAIL_QUEUE_HOLD, MAIL_QUEUE_MAILDROP,
};

typedef struct pq_state {
    bool    json;
    long long total_bytes;
    int     count;
} PQ_STATE;

/* pq_compare - qsort by queue ID */
static int pq_compare(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}

/* pq_json_string - a JSON string literal */
static void pq_json_string(VSTRING *out, const char *str)
{
    vstring_addch(out, '"');
    for (const unsigned char *cp = (const unsigned char *) str; *cp; cp++) {
	if (*cp == '"' || *cp == '\\') {
	    vstring_addch(out, '\\');
	    vstring_addch(out, *cp);
	} else if (*cp < 0x20 || *cp == 0x7f) {
	    vstring_fmt_append(out, "\\u%04x", *cp);
	} else {
	    vstring_addch(out, *cp);
	}
    }
    vstring_addch(out, '"');
}

/* pq_reasons - per-recipient latest delay reason from the defer log
 * (array of qf->rcpt_count entries, NULL where unknown; strings owned
 * by *log_r) */
static const char **pq_reasons(const QFILE *qf, QFILE_LOG **log_r)
{
    const char **reasons = mycalloc((size_t) qf->rcpt_count + 1, sizeof(char *));
    const char *err;

    *log_r = NULL;
    if (qfile_log_read(MAIL_QUEUE_DEFER, qf->id, log_r, &err) < 0) {
	if (msg_verbose)
	    msg_warn("%s", err);
	return reasons;
    }
    for (int i = 0; i < qfile_log_count(*log_r); i++) {
	const QFILE_LOG_ENTRY *ep = qfile_log_entry(*log_r, i);

	if (ep->rcpt_index < qf->rcpt_count)
	    reasons[ep->rcpt_index] = ep->reason;
    }
    return reasons;
}

/* pq_show_text - one message in mailq format */
static void pq_show_text(const QFILE *qf, const char *queue, const char **reasons)
{
    char    when[64];
    time_t  t = (time_t) qf->arrival_sec;
    struct tm tm;
    int     status = strcmp(queue, MAIL_QUEUE_ACTIVE) == 0 ? '*'
    : strcmp(queue, MAIL_QUEUE_HOLD) == 0 ? '!' : ' ';
    bool   *shown = mycalloc((size_t) qf->rcpt_count + 1, sizeof(bool));

    localtime_r(&t, &tm);
    strftime(when, sizeof(when), "%a %b %e %H:%M:%S", &tm);
    printf("%-16s%c %8lld %s %s\n", qf->id, status, (long long) qf->content_size, when,
	   *qf->sender ? qf->sender : "MAILER-DAEMON");
    /* Recipients without a reason first, then one group per reason. */
    for (int i = 0; i < qf->rcpt_count; i++) {
	if (qf->rcpts[i].status == QFILE_RCPT_PENDING && reasons[i] == NULL) {
	    printf("%47s%s\n", "", qf->rcpts[i].address);
	    shown[i] = true;
	}
    }
    for (int i = 0; i < qf->rcpt_count; i++) {
	int     len;

	if (shown[i] || qf->rcpts[i].status != QFILE_RCPT_PENDING)
	    continue;
	len = (int) strlen(reasons[i]) + 2;
	printf("%*s(%s)\n", len < 79 ? 79 - len : 0, "", reasons[i]);
	for (int j = i; j < qf->rcpt_count; j++) {
	    if (!shown[j] && qf->rcpts[j].status == QFILE_RCPT_PENDING
		&& reasons[j] != NULL && strcmp(reasons[j], reasons[i]) == 0) {
		printf("%47s%s\n", "", qf->rcpts[j].address);
		shown[j] = true;
	    }
	}
    }
    printf("\n");
    myfree(shown);
}

/* pq_show_json - one message as a JSON line */
static void pq_show_json(const QFILE *qf, const char *queue, const char **reasons)
{
    VSTRING *out = vstring_alloc(256);
    bool    first = true;

    vstring_cat(out, "{\"queue_name\": ");
    pq_json_string(out, queue);
    vstring_cat(out, ", \"queue_id\": ");
    pq_json_string(out, qf->id);
    vstring_fmt_append(out, ", \"arrival_time\": %ld, \"message_size\": %lld, "
		       "\"forced_expire\": false, \"sender\": ",
		       qf->arrival_sec, (long long) qf->content_size);
    pq_json_string(out, qf->sender);
    vstring_cat(out, ", \"recipients\": [");
    for (int i = 0; i < qf->rcpt_count; i++) {
	if (qf->rcpts[i].status != QFILE_RCPT_PENDING)
	    continue;
	vstring_cat(out, first ? "{\"address\": " : ", {\"address\": ");
	first = false;
	pq_json_string(out, qf->rcpts[i].address);
	if (reasons[i] != NULL) {
	    vstring_cat(out, ", \"delay_reason\": ");
	    pq_json_string(out, reasons[i]);
	}
	vstring_addch(out, '}');
    }
    vstring_cat(out, "]}\n");
    fwrite(STR(out), 1, LEN(out), stdout);
    vstring_free(&out);
}

/* pq_list_queue - show every readable message in one queue */
static void pq_list_queue(PQ_STATE *st, const char *queue)
{
    MAIL_QUEUE_SCAN *scan;
    ARGV   *ids = argv_alloc(16);
    const char *id, *err;

    if ((scan = mail_queue_scan_open(queue, &err)) == NULL) {
	if (errno != ENOENT)
	    msg_warn("%s", err);
	argv_free(&ids);
	return;
    }
    while ((id = mail_queue_scan_next(scan)) != NULL)
	argv_add(ids, id, (char *) NULL);
    mail_queue_scan_close(&scan);
    qsort(ids->argv, (size_t) ids->argc, sizeof(char *), pq_compare);

    for (int i = 0; i < ids->argc; i++) {
	QFILE  *qf;
	QFILE_LOG *log;
	const char **reasons;
	int     ret = qfile_open(queue, ids->argv[i], QFILE_OPEN_RDONLY, &qf, &err);

	if (ret != QFILE_OK) {
	    if (msg_verbose)
		msg_warn("skipped %s/%s: %s", queue, ids->argv[i], err);
	    continue;
	}
	if (!st->json && st->count == 0)
	    printf("%-17s %8s %-19s %s\n", "----Queue ID-----", "--Size--",
		   "---Arrival Time----", "--Sender/Recipient------");
	reasons = pq_reasons(qf, &log);
	if (st->json)
	    pq_show_json(qf, queue, reasons);
	else
	    pq_show_text(qf, queue, reasons);
	st->count++;
	st->total_bytes += qf->content_size;
	myfree(reasons);
	qfile_log_free(&log);
	qfile_close(&qf);
    }
    argv_free(&ids);
}

/* pq_flush - ask qmgr to deliver everything now */
static void pq_flush(void)
{
    VSTRING *path = vstring_alloc(100);
    char    req[2] = {MAIL_QUEUE_TRIGGER_FLUSH, MAIL_QUEUE_TRIGGER_ALL};

    vstring_fmt(path, "%s/%s", var_queue_directory, MAIL_QUEUE_TRIGGER_PATH);
    if (trigger_send(STR(path), req, sizeof(req)) < 0)
	msg_fatal_status(EX_UNAVAILABLE, "Cannot flush mail queue - mail system is down");
    vstring_free(&path);
}

/* pq_usage - complain and exit */
static PH_NORETURN void pq_usage(void)
{
    msg_fatal_status(EX_USAGE, "usage: postqueue [-c config_dir] [-v] -p | -j | -f "
		     "| -i queue_id | -s site");
}

/* main - postqueue command entry point */
int     main(int argc, char **argv)
{
    PQ_STATE st = {0};
    const char *err;
    int     mode = 0, ch;

    msg_init("postqueue", MSG_TO_STDERR);
    config_set_process("postqueue");
    while ((ch = getopt(argc, argv, "c:fi:jps:v")) != -1) {
	switch (ch) {
	case 'c':
	    config_set_dir(optarg);
	    break;
	case 'f':
	case 'i':
	case 's':
	case 'j':
	case 'p':
	    if (mode && mode != ch)
		pq_usage();
	    mode = ch == 'i' || ch == 's' ? 'f' : ch;
	    break;
	case 'v':
	    msg_verbose++;
	    break;
	default:
	    pq_usage();
	}
    }
    if (mode == 0 || optind != argc)
	pq_usage();
    if (config_load(CONFIG_FLAG_NO_WARN | CONFIG_FLAG_NO_FILE_OK, &err) < 0)
	msg_fatal("%s", err);
    mail_queue_init(var_queue_directory, var_hash_queue_depth, var_hash_queue_names);

    if (mode == 'f') {
	pq_flush();
	return 0;
    }
    st.json = mode == 'j';
    for (size_t i = 0; i < PH_ARRAY_LEN(pq_queues); i++)
	pq_list_queue(&st, pq_queues[i]);
    if (!st.json) {
	if (st.count == 0)
	    printf("Mail queue is empty\n");
	else
	    printf("-- %lld Kbytes in %d Request%s.\n", st.total_bytes / 1024, st.count,
		   st.count == 1 ? "" : "s");
    }
    if (fflush(stdout) != 0 || ferror(stdout))
	msg_fatal("write output: %s", strerror(errno));
    return 0;
}
