/* bench_qfile - how fast the queue file layer makes messages durable.
 *
 * usage: bench_qfile -d DIR [-p procs] [-n messages per process] [-s size]
 *
 * Each of procs processes writes n queue files of size content bytes into
 * DIR/incoming exactly as smtpd would before its 250 (create O_EXCL, one
 * write, fdatasync + directory fsync), then moves each to active (rename),
 * then opens each and marks its recipient done in place (pwrite +
 * fdatasync, as qmgr does), then removes it. Prints the rate of each phase. DIR must be on
 * the disk to be measured (not tmpfs); its queue tree is left behind,
 * empty.
 */
#include "sys_defs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mail_queue.h"
#include "msg.h"
#include "mymalloc.h"
#include "qfile.h"

/* bench_now - seconds as a double */
static double bench_now(void)
{
    struct timeval tv;

    gettimeofday(&tv, NULL);
    return (double) tv.tv_sec + (double) tv.tv_usec / 1e6;
}

/* bench_child - one worker; writes its timings to fd */
static void bench_child(int n, size_t size, int fd)
{
    char  **ids = mycalloc((size_t) n, sizeof(char *));
    char   *content = mymalloc(size);
    const char *err;
    double  t[5];

    for (size_t i = 0; i < size; i++)
	content[i] = (i % 72 == 71) ? '\n' : (char) ('a' + i % 26);
    t[0] = bench_now();
    for (int i = 0; i < n; i++) {
	QFILE_WRITER *qw = qfile_writer_create(MAIL_QUEUE_INCOMING, 0600, &err);

	if (qw == NULL)
	    msg_fatal("%s", err);
	ids[i] = mystrdup(qfile_writer_id(qw));
	if (qfile_writer_attr(qw, QFILE_ATTR_CLIENT_ADDR, "127.0.0.1", &err) < 0
	    || qfile_writer_sender(qw, "sender@example.com", &err) < 0
	    || qfile_writer_rcpt(qw, "rcpt@example.com", NULL, 0, &err) < 0
	    || qfile_writer_content(qw, content, size, &err) < 0
	    || qfile_writer_finish(&qw, true, &err) < 0)
	    msg_fatal("%s", err);
    }
    t[1] = bench_now();
    for (int i = 0; i < n; i++)
	if (mail_queue_rename(ids[i], MAIL_QUEUE_INCOMING, MAIL_QUEUE_ACTIVE, &err) < 0)
	    msg_fatal("%s", err);
    t[2] = bench_now();
    for (int i = 0; i < n; i++) {
	QFILE  *qf;

	if (qfile_open(MAIL_QUEUE_ACTIVE, ids[i], QFILE_OPEN_RDWR, &qf, &err) != QFILE_OK)
	    msg_fatal("%s", err);
	if (qfile_rcpt_set_status(qf, 0, QFILE_RCPT_DONE, true, &err) < 0)
	    msg_fatal("%s", err);
	qfile_close(&qf);
    }
    t[3] = bench_now();
    for (int i = 0; i < n; i++) {
	if (mail_queue_remove(MAIL_QUEUE_ACTIVE, ids[i], &err) < 0)
	    msg_fatal("%s", err);
	myfree(ids[i]);
    }
    t[4] = bench_now();
    myfree(ids);
    myfree(content);
    if (write(fd, t, sizeof(t)) != sizeof(t))
	msg_fatal("write timings");
}

/* main - bench_qfile command entry point */
int     main(int argc, char **argv)
{
    const char *dir = NULL, *err;
    int     procs = 1, n = 500, ch;
    long    size = 2048;
    int     pfd[2];
    double  start = 1e300, end[5] = {0};

    msg_init("bench_qfile", MSG_TO_STDERR);
    while ((ch = getopt(argc, argv, "d:n:p:s:")) != -1) {
	switch (ch) {
	case 'd':
	    dir = optarg;
	    break;
	case 'n':
	    n = atoi(optarg);
	    break;
	case 'p':
	    procs = atoi(optarg);
	    break;
	case 's':
	    size = atol(optarg);
	    break;
	default:
	    msg_fatal("usage: bench_qfile -d DIR [-p procs] [-n count] [-s size]");
	}
    }
    if (dir == NULL || n < 1 || procs < 1 || size < 1)
	msg_fatal("usage: bench_qfile -d DIR [-p procs] [-n count] [-s size]");
    mail_queue_init(dir, 1, "incoming active deferred defer bounce hold");
    if (mail_queue_mkdirs(0700, 0700, &err) < 0)
	msg_fatal("%s", err);
    if (pipe(pfd) < 0)
	msg_fatal("pipe");
    for (int p = 0; p < procs; p++) {
	if (fork() == 0) {
	    bench_child(n, (size_t) size, pfd[1]);
	    _exit(0);
	}
    }
    for (int p = 0; p < procs; p++) {
	double  t[5];

	if (read(pfd[0], t, sizeof(t)) != sizeof(t))
	    msg_fatal("a worker failed");
	if (t[0] < start)
	    start = t[0];
	for (int i = 1; i < 5; i++)
	    if (t[i] > end[i])
		end[i] = t[i];
    }
    while (wait(NULL) > 0)
	;
    printf("%d process(es) x %d messages of %ld bytes\n", procs, n, size);
    printf("durable new queue files: %8.0f msgs/s\n", procs * n / (end[1] - start));
    printf("rename incoming->active: %8.0f msgs/s\n", procs * n / (end[2] - end[1]));
    printf("open + status in place:  %8.0f msgs/s\n", procs * n / (end[3] - end[2]));
    printf("remove:                  %8.0f msgs/s\n", procs * n / (end[4] - end[3]));
    return 0;
}
