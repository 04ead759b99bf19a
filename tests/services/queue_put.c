/* queue_put - test-only: write one queue file with lib/qfile.h's writer.
 *
 * Usage: queue_put -c DIR [-q queue] [-f sender] [-a name=value] rcpt...
 * The message content is read from standard input (LF line ends, as in
 * a queue file). The file is created in queue (default active) of the
 * instance's queue_directory and made durable; its queue ID is printed.
 * Lets delivery agents be driven without smtpd/qmgr. Built only under
 * tests/.
 */
#include "sys_defs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "mail_queue.h"
#include "msg.h"
#include "qfile.h"

/* main - write one queue file from the command line and standard input */
int main(int argc, char **argv)
{
    const char *queue = MAIL_QUEUE_ACTIVE, *sender = "", *err = NULL;
    QFILE_WRITER *qw;
    char buf[8192];
    ssize_t n;
    int ch;

    msg_init("queue_put", 0);
    while ((ch = getopt(argc, argv, "c:q:f:a:")) != -1) {
	switch (ch) {
	case 'c':
	    config_set_dir(optarg);
	    break;
	case 'q':
	    queue = optarg;
	    break;
	case 'f':
	    sender = optarg;
	    break;
	case 'a':
	    break;
	default:
	    msg_fatal("usage: queue_put -c DIR [-q queue] [-f sender] [-a name=value] rcpt...");
	}
    }
    if (config_load(CONFIG_FLAG_NONE, &err) < 0)
	msg_fatal("%s", err);
    mail_queue_init(var_queue_directory, var_hash_queue_depth, var_hash_queue_names);
    if ((qw = qfile_writer_create(queue, MAIL_QUEUE_FILE_MODE, &err)) == NULL)
	msg_fatal("create: %s", err);
    optind = 1;
    while ((ch = getopt(argc, argv, "c:q:f:a:")) != -1) {
	if (ch == 'a') {
	    char *eq = strchr(optarg, '=');

	    if (eq == NULL)
		msg_fatal("bad -a %s", optarg);
	    *eq = 0;
	    if (qfile_writer_attr(qw, optarg, eq + 1, &err) < 0)
		msg_fatal("attr: %s", err);
	}
    }
    if (qfile_writer_sender(qw, sender, &err) < 0)
	msg_fatal("sender: %s", err);
    for (int i = optind; i < argc; i++)
	if (qfile_writer_rcpt(qw, argv[i], NULL, 0, &err) < 0)
	    msg_fatal("rcpt: %s", err);
    while ((n = read(0, buf, sizeof(buf))) > 0)
	if (qfile_writer_content(qw, buf, (size_t) n, &err) < 0)
	    msg_fatal("content: %s", err);
    printf("%s\n", qfile_writer_id(qw));
    if (qfile_writer_finish(&qw, true, &err) < 0)
	msg_fatal("finish: %s", err);
    return 0;
}
