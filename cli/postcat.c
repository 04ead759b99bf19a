/* postcat - show the envelope and content of a queued message.
 *
 * SYNOPSIS
 *	postcat [-c config_dir] [-v] [-e] [-h] [-b] [-q] name ...
 *
 * DESCRIPTION
 *	With -q each name is a queue ID, looked up in incoming, active,
 *	deferred, hold, maildrop and corrupt (in that order); without -q each
 *	name is a queue file path. Output, per file, in the shape of
 *	Postfix's postcat:
 *
 *	    *** ENVELOPE RECORDS deferred/ID ***
 *	    message_size:   CONTENT_SIZE
 *	    message_arrival_time: Mon Nov 23 07:45:12 2026
 *	    named_attribute: name=value         (one per attribute)
 *	    sender_fullname: ...                (the full_name attribute)
 *	    sender: ADDRESS
 *	    original_recipient: ORCPT           (when there is one)
 *	    recipient: ADDRESS                  (done_recipient: when delivered,
 *	                                         failed_recipient: when failed)
 *	    *** MESSAGE CONTENTS deferred/ID ***
 *	    the content, as stored
 *	    *** MESSAGE FILE END deferred/ID ***
 *
 *	-e shows only the envelope, -h only the header section, -b only the
 *	body (they combine). A file that fails validation is reported with
 *	the reader's error (file:offset: reason) and skipped.
 *
 * EXIT STATUS
 *	0 when every name was shown; 1 when any was missing or invalid;
 *	EX_USAGE for bad options.
 */
#include "sys_defs.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "mail_queue.h"
#include "msg.h"
#include "qfile.h"
#include "queue_id.h"
#include "vstring.h"

#define PC_ENV  (1 << 0)
#define PC_HDR  (1 << 1)
#define PC_BODY (1 << 2)

static const char *const pc_queues[] = {
    MAIL_QUEUE_INCOMING, MAIL_QUEUE_ACTIVE, MAIL_QUEUE_DEFERRED,
    MAIL_QUEUE_HOLD, MAIL_QUEUE_MAILDROP, MAIL_QUEUE_CORRUPT,
};

/* pc_envelope - print the envelope records */
static void pc_envelope(const QFILE *qf, const char *label)
{
    char    when[64];
    time_t  t = (time_t) qf->arrival_sec;
    struct tm tm;
    const char *full;

    localtime_r(&t, &tm);
    strftime(when, sizeof(when), "%a %b %e %H:%M:%S %Y", &tm);
    printf("*** ENVELOPE RECORDS %s ***\n", label);
    printf("message_size: %16lld\n", (long long) qf->content_size);
    printf("message_arrival_time: %s\n", when);
    for (int i = 0; i < qf->attr_count; i++)
	if (strcmp(qf->attr_names[i], QFILE_ATTR_FULL_NAME) != 0)
	    printf("named_attribute: %s=%s\n", qf->attr_names[i], qf->attr_values[i]);
    if ((full = qfile_attr(qf, QFILE_ATTR_FULL_NAME)) != NULL)
	printf("sender_fullname: %s\n", full);
    printf("sender: %s\n", qf->sender);
    for (int i = 0; i < qf->rcpt_count; i++) {
	const QFILE_RCPT *rp = qf->rcpts + i;

	if (*rp->orcpt)
	    printf("original_recipient: %s\n", rp->orcpt);
	if (rp->notify)
	    printf("notify_flags: %d\n", rp->notify);
	printf("%s: %s\n", rp->status == QFILE_RCPT_DONE ? "done_recipient"
	       : rp->status == QFILE_RCPT_FAILED ? "failed_recipient" : "recipient",
	       rp->address);
    }
}

/* pc_content - print header and/or body of the content */
static int pc_content(const QFILE *qf, int flags)
{
    char    buf[8192];
    off_t   off = 0;
    ssize_t n;
    int     prev = '\n';
    bool    in_header = true;

    while ((n = qfile_content_read(qf, off, buf, sizeof(buf))) > 0) {
	for (ssize_t i = 0; i < n; i++) {
	    bool    show = in_header ? (flags & PC_HDR) : (flags & PC_BODY);

	    if (in_header && prev == '\n' && buf[i] == '\n') {
		in_header = false;		/* the empty line belongs to neither */
		prev = buf[i];
		if ((flags & PC_HDR) && (flags & PC_BODY))
		    putchar('\n');
		continue;
	    }
	    if (show)
		putchar(buf[i]);
	    prev = buf[i];
	}
	off += n;
    }
    if (n < 0) {
	msg_warn("read %s: %s", qf->path, strerror(errno));
	return -1;
    }
    return 0;
}

/* pc_show - one queue file */
static int pc_show(QFILE *qf, const char *label, int flags)
{
    int     ret = 0;

    if (flags & PC_ENV)
	pc_envelope(qf, label);
    if (flags & (PC_HDR | PC_BODY)) {
	printf("*** MESSAGE CONTENTS %s ***\n", label);
	ret = pc_content(qf, flags);
    }
    printf("*** MESSAGE FILE END %s ***\n", label);
    return ret;
}

/* main - postcat command entry point */
int     main(int argc, char **argv)
{
    VSTRING *label = vstring_alloc(100);
    const char *err;
    bool    by_id = false;
    int     flags = 0, status = 0, ch;

    msg_init("postcat", MSG_TO_STDERR);
    config_set_process("postcat");
    while ((ch = getopt(argc, argv, "bc:ehoqv")) != -1) {
	switch (ch) {
	case 'b':
	    flags |= PC_BODY;
	    break;
	case 'c':
	    config_set_dir(optarg);
	    break;
	case 'e':
	    flags |= PC_ENV;
	    break;
	case 'h':
	    flags |= PC_HDR;
	    break;
	case 'o':				/* Postfix: offsets; accepted */
	    break;
	case 'q':
	    by_id = true;
	    break;
	case 'v':
	    msg_verbose++;
	    break;
	default:
	    msg_fatal_status(EX_USAGE, "usage: postcat [-c config_dir] [-v] [-e] [-h] [-b] "
			     "[-q] name ...");
	}
    }
    if (flags == 0)
	flags = PC_ENV | PC_HDR | PC_BODY;
    if (optind >= argc)
	msg_fatal_status(EX_USAGE, "usage: postcat [-c config_dir] [-v] [-e] [-h] [-b] "
			 "[-q] name ...");
    if (config_load(CONFIG_FLAG_NO_WARN | CONFIG_FLAG_NO_FILE_OK, &err) < 0)
	msg_fatal("%s", err);
    mail_queue_init(var_queue_directory, var_hash_queue_depth, var_hash_queue_names);

    for (int i = optind; i < argc; i++) {
	QFILE  *qf = NULL;
	int     ret = QFILE_ERR_SYS;

	if (by_id) {
	    if (!queue_id_valid(argv[i])) {
		msg_warn("invalid mail queue id: %s", argv[i]);
		status = 1;
		continue;
	    }
	    for (size_t q = 0; q < PH_ARRAY_LEN(pc_queues); q++) {
		ret = qfile_open(pc_queues[q], argv[i], QFILE_OPEN_RDONLY, &qf, &err);
		if (ret != QFILE_ERR_SYS || errno != ENOENT) {
		    vstring_fmt(label, "%s/%s", pc_queues[q], argv[i]);
		    break;
		}
	    }
	    if (ret == QFILE_ERR_SYS && errno == ENOENT) {
		msg_warn("%s: message not found in the queue", argv[i]);
		status = 1;
		continue;
	    }
	} else {
	    ret = qfile_open_path(argv[i], QFILE_OPEN_RDONLY, &qf, &err);
	    vstring_set(label, argv[i]);
	}
	if (ret != QFILE_OK) {
	    msg_warn("%s", err);
	    status = 1;
	    continue;
	}
	if (pc_show(qf, STR(label), flags) < 0)
	    status = 1;
	qfile_close(&qf);
    }
    if (fflush(stdout) != 0)
	status = 1;
    vstring_free(&label);
    return status;
}
