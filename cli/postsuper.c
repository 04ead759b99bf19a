/* postsuper - queue maintenance: delete, hold, release, requeue.
 *
 * SYNOPSIS
 *	postsuper [-c config_dir] [-v] [-p] [-s] [-d ID] [-h ID] [-H ID] [-r ID]
 *		[queue ...]
 *
 * DESCRIPTION
 *	Each of -d, -h, -H and -r may be given more than once. ID is a
 *	queue ID, "ALL" for every message in the selected queues, or "-" to
 *	read queue IDs from standard input (one per line; the first word
 *	of each line, so "mailq"-style lines with a trailing "*" or "!"
 *	work too). The optional queue names restrict the queues searched.
 *
 *	-d ID	Delete the message and its defer/bounce logs. Default queues:
 *		hold, incoming, active, deferred, maildrop.
 *	-h ID	Put the message on hold (moved to hold/). Default queues:
 *		incoming, active, deferred, maildrop.
 *	-H ID	Release from hold (moved to deferred/ with its time stamp set
 *		to now, so it is retried at the next queue run). Queue: hold.
 *	-r ID	Requeue: move to incoming/ so that qmgr processes it afresh
 *		(recipients already delivered stay delivered: their status is
 *		in the file). Default queues: hold, active, deferred.
 *
 *	-s	Structure check: move files stored under another
 *		hash_queue_depth to where they belong now (run before the
 *		daemons start, after changing hash_queue_depth/_names).
 *	-p	Purge unfinished writes: queue files without a trailer
 *		(lib/qfile.h) older than one hour in incoming/ and maildrop/,
 *		left by a crash before the client was told "250".
 *	Without -d, -h, -H or -r, postsuper does -s and -p (as Postfix).
 *
 *	Deleting, holding or requeueing a message in active/ while qmgr is
 *	delivering it is allowed, as in Postfix: qmgr notices the file is
 *	gone when it next touches it.
 *
 * OUTPUT
 *	As Postfix: "postsuper: ID: removed" (placed on hold, released from
 *	hold, requeued) per message, then "postsuper: Deleted: N messages"
 *	(Placed on hold, Released from hold, Requeued) on standard error.
 *	An invalid queue ID gives "postsuper: warning: invalid mail queue
 *	id: TEXT" and is skipped; it never reaches the file system.
 *
 * EXIT STATUS
 *	0 when the operations ran (even if no message matched); EX_USAGE
 *	for bad options or queue names; 1 for configuration problems.
 */
#include "sys_defs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "argv.h"
#include "config.h"
#include "mail_queue.h"
#include "msg.h"
#include "mymalloc.h"
#include "qfile.h"
#include "queue_id.h"
#include "vstring.h"

typedef struct ps_op {
    int     opt;			/* d h H r */
    const char *target;			/* queue */
    const char *const *from;		/* default source queues */
    const char *done_one;		/* per-message text */
    const char *done_all;		/* summary text */
    ARGV   *ids;			/* requested IDs */
    bool    all;
    int     count;
} PS_OP;

static const char *const ps_from_d[] = {MAIL_QUEUE_HOLD, MAIL_QUEUE_INCOMING,
MAIL_QUEUE_ACTIVE, MAIL_QUEUE_DEFERRED, MAIL_QUEUE_MAILDROP, NULL};
static const char *const ps_from_h[] = {MAIL_QUEUE_INCOMING, MAIL_QUEUE_ACTIVE,
MAIL_QUEUE_DEFERRED, MAIL_QUEUE_MAILDROP, NULL};
static const char *const ps_from_H[] = {MAIL_QUEUE_HOLD, NULL};
static const char *const ps_from_r[] = {MAIL_QUEUE_HOLD, MAIL_QUEUE_ACTIVE,
MAIL_QUEUE_DEFERRED, NULL};

static PS_OP ps_ops[] = {
    {'d', NULL, ps_from_d, "removed", "Deleted", NULL, false, 0},
    {'h', MAIL_QUEUE_HOLD, ps_from_h, "placed on hold", "Placed on hold", NULL, false, 0},
    {'H', MAIL_QUEUE_DEFERRED, ps_from_H, "released from hold", "Released from hold", NULL, false, 0},
    {'r', MAIL_QUEUE_INCOMING, ps_from_r, "requeued", "Requeued", NULL, false, 0},
};

/* ps_find_op - the operation for an option letter */
static PS_OP *ps_find_op(int opt)
{
    for (size_t i = 0; i < PH_ARRAY_LEN(ps_ops); i++)
	if (ps_ops[i].opt == opt)
	    return &ps_ops[i];
    msg_panic("ps_find_op: unknown option %c", opt);
}

/* ps_add_id - record one requested ID (validated later) */
static void ps_add_id(PS_OP *op, const char *id)
{
    if (op->ids == NULL)
	op->ids = argv_alloc(4);
    if (strcmp(id, "ALL") == 0)
	op->all = true;
    else
	argv_add(op->ids, id, (char *) NULL);
}

/* ps_read_stdin - IDs from standard input, first word per line */
static void ps_read_stdin(PS_OP *op)
{
    char    line[4096];

    while (fgets(line, sizeof(line), stdin) != NULL) {
	char   *cp = line + strspn(line, " \t");
	size_t  n = strcspn(cp, " \t\r\n*!");

	if (n == 0)
	    continue;
	cp[n] = 0;
	ps_add_id(op, cp);
    }
}

/* ps_apply - do op on id in queue; true when it happened */
static bool ps_apply(PS_OP *op, const char *queue, const char *id)
{
    const char *err;
    int     ret;

    if (op->target != NULL && strcmp(queue, op->target) == 0)
	return false;
    if (op->opt == 'd')
	ret = mail_queue_remove_all(queue, id, &err);
    else
	ret = mail_queue_rename(id, queue, op->target, &err);
    if (ret < 0) {
	if (errno != ENOENT)
	    msg_warn("%s", err);
	return false;
    }
    if (op->opt == 'H' || op->opt == 'r') {
	VSTRING *path = vstring_alloc(100);

	/* A fresh start: forget old delay reasons (not bounce reasons), and
	 * make the message due now (mtime = next attempt, mail_queue.h). */
	(void) mail_queue_remove(MAIL_QUEUE_DEFER, id, &err);
	if (mail_queue_path(path, op->target, id) != NULL && utimes(STR(path), NULL) < 0)
	    msg_warn("set time of %s: %s", STR(path), strerror(errno));
	vstring_free(&path);
    }
    msg_info("%s: %s", id, op->done_one);
    op->count++;
    return true;
}

/* ps_run - one operation over the selected queues */
static void ps_run(PS_OP *op, ARGV *queues)
{
    const char *const *from = op->from;
    ARGV   *use = argv_alloc(8);
    const char *err, *id;

    for (int i = 0; from[i]; i++) {
	if (queues->argc == 0)
	    argv_add(use, from[i], (char *) NULL);
	else
	    for (int j = 0; j < queues->argc; j++)
		if (strcmp(queues->argv[j], from[i]) == 0)
		    argv_add(use, from[i], (char *) NULL);
    }
    /* Queue names given but none applies to this operation: use them
     * anyway when they are message queues (postsuper -d ALL corrupt). */
    if (use->argc == 0)
	for (int j = 0; j < queues->argc; j++)
	    argv_add(use, queues->argv[j], (char *) NULL);

    if (op->all) {
	for (int q = 0; q < use->argc; q++) {
	    MAIL_QUEUE_SCAN *scan = mail_queue_scan_open(use->argv[q], &err);
	    ARGV   *ids = argv_alloc(16);

	    if (scan == NULL) {
		if (errno != ENOENT)
		    msg_warn("%s", err);
		argv_free(&ids);
		continue;
	    }
	    while ((id = mail_queue_scan_next(scan)) != NULL)
		argv_add(ids, id, (char *) NULL);
	    mail_queue_scan_close(&scan);
	    for (int k = 0; k < ids->argc; k++)
		(void) ps_apply(op, use->argv[q], ids->argv[k]);
	    argv_free(&ids);
	}
    }
    for (int k = 0; op->ids && k < op->ids->argc; k++) {
	id = op->ids->argv[k];
	if (!queue_id_valid(id)) {
	    msg_warn("invalid mail queue id: %s", id);
	    continue;
	}
	for (int q = 0; q < use->argc; q++)
	    if (ps_apply(op, use->argv[q], id))
		break;
    }
    msg_info("%s: %d message%s", op->done_all, op->count, op->count == 1 ? "" : "s");
    argv_free(&use);
}

/* ps_structure - postsuper -s */
static void ps_structure(void)
{
    static const char *const queues[] = {
	MAIL_QUEUE_INCOMING, MAIL_QUEUE_ACTIVE, MAIL_QUEUE_DEFERRED, MAIL_QUEUE_HOLD,
	MAIL_QUEUE_MAILDROP, MAIL_QUEUE_CORRUPT, MAIL_QUEUE_DEFER, MAIL_QUEUE_BOUNCE,
    };
    const char *err;
    int     moved, total = 0;

    for (size_t i = 0; i < PH_ARRAY_LEN(queues); i++) {
	if (mail_queue_rehash(queues[i], &moved, &err) < 0) {
	    if (errno != ENOENT)
		msg_warn("%s", err);
	    continue;
	}
	total += moved;
    }
    if (total)
	msg_info("Renamed to match hash depth: %d message%s", total, total == 1 ? "" : "s");
}

/* ps_purge - postsuper -p: remove old unfinished writes */
static void ps_purge(void)
{
    static const char *const queues[] = {MAIL_QUEUE_INCOMING, MAIL_QUEUE_MAILDROP};
    time_t  now = time(NULL);
    const char *err, *id;
    int     count = 0;

    for (size_t i = 0; i < PH_ARRAY_LEN(queues); i++) {
	MAIL_QUEUE_SCAN *scan = mail_queue_scan_open(queues[i], &err);
	ARGV   *old = argv_alloc(4);

	if (scan == NULL) {
	    if (errno != ENOENT)
		msg_warn("%s", err);
	    argv_free(&old);
	    continue;
	}
	while ((id = mail_queue_scan_next(scan)) != NULL) {
	    struct stat st;
	    QFILE  *qf;

	    if (lstat(mail_queue_scan_path(scan), &st) < 0 || st.st_mtime > now - 3600)
		continue;
	    if (qfile_open_path(mail_queue_scan_path(scan), QFILE_OPEN_RDONLY, &qf, &err)
		== QFILE_ERR_INCOMPLETE)
		argv_add(old, mail_queue_scan_path(scan), (char *) NULL);
	    qfile_close(&qf);
	}
	mail_queue_scan_close(&scan);
	for (int k = 0; k < old->argc; k++) {
	    if (unlink(old->argv[k]) == 0) {
		msg_info("%s: removed unfinished queue file", old->argv[k]);
		count++;
	    }
	}
	argv_free(&old);
    }
    if (count)
	msg_info("Deleted: %d unfinished file%s", count, count == 1 ? "" : "s");
}

/* ps_usage - complain and exit */
static PH_NORETURN void ps_usage(void)
{
    msg_fatal_status(EX_USAGE, "usage: postsuper [-c config_dir] [-v] [-p] [-s] [-d queue_id] "
		     "[-h queue_id] [-H queue_id] [-r queue_id] [queue ...]");
}

/* main - postsuper command entry point */
int     main(int argc, char **argv)
{
    ARGV   *queues = argv_alloc(4);
    const char *err;
    bool    stdin_used = false, any = false, structure = false, purge = false;
    int     ch;

    msg_init("postsuper", MSG_TO_STDERR);
    config_set_process("postsuper");
    while ((ch = getopt(argc, argv, "c:d:h:H:r:psv")) != -1) {
	switch (ch) {
	case 'c':
	    config_set_dir(optarg);
	    break;
	case 'd':
	case 'h':
	case 'H':
	case 'r':
	    any = true;
	    if (strcmp(optarg, "-") == 0) {
		if (stdin_used)
		    msg_fatal_status(EX_USAGE, "\"-\" may be given only once");
		stdin_used = true;
		ps_read_stdin(ps_find_op(ch));
	    } else {
		ps_add_id(ps_find_op(ch), optarg);
	    }
	    break;
	case 'p':
	    purge = true;
	    break;
	case 's':
	    structure = true;
	    break;
	case 'v':
	    msg_verbose++;
	    break;
	default:
	    ps_usage();
	}
    }
    for (; optind < argc; optind++) {
	if (!mail_queue_is_message_queue(argv[optind]))
	    msg_fatal_status(EX_USAGE, "invalid directory name: %s", argv[optind]);
	argv_add(queues, argv[optind], (char *) NULL);
    }
    if (!any && !purge && !structure)
	purge = structure = true;
    if (config_load(CONFIG_FLAG_NO_WARN | CONFIG_FLAG_NO_FILE_OK, &err) < 0)
	msg_fatal("%s", err);
    mail_queue_init(var_queue_directory, var_hash_queue_depth, var_hash_queue_names);

    if (structure)
	ps_structure();
    if (purge)
	ps_purge();
    /* Postfix order: delete first, then hold, release, requeue. */
    for (size_t i = 0; i < PH_ARRAY_LEN(ps_ops); i++)
	if (ps_ops[i].ids != NULL)
	    ps_run(&ps_ops[i], queues);
    for (size_t i = 0; i < PH_ARRAY_LEN(ps_ops); i++)
	argv_free(&ps_ops[i].ids);
    argv_free(&queues);
    return 0;
}
