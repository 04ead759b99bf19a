/* testagent - test-only delivery agent speaking lib/deliver_request.h.
 *
 * Delivers by rule on the recipient's local part:
 *   defer...   -> 4.2.0 deferred          bounce... -> 5.1.1 bounced
 *   crash...   -> the process exits before answering (agent crash)
 *   slow...    -> waits 2 seconds, then delivers
 *   anything else -> delivered: the content is written to
 *     $testagent_dir/ID.INDEX.eml and one line "ID INDEX <sender> <rcpt>
 *     <orig> START END" (wall-clock seconds with decimals: when this
 *     request began and when the recipient was done, for concurrency
 *     checks) is appended to $testagent_dir/deliveries.log
 * When $testagent_dir/defer_all exists, every recipient is deferred (to
 * simulate an outage and its recovery). Built only under tests/.
 */
#include "sys_defs.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "attr.h"
#include "config.h"
#include "deliver_request.h"
#include "mail_queue.h"
#include "msg.h"
#include "qfile.h"
#include "server.h"
#include "vstring.h"

/* testagent_store - deliver one recipient to the test directory */
static int testagent_store(const char *dir, const DELIVER_REQUEST *req, const DELIVER_RCPT *rcpt,
			   double start)
{
    struct timespec ts;
    VSTRING *path = vstring_alloc(100);
    VSTRING *line = vstring_alloc(100);
    QFILE  *qf;
    const char *error;
    int fd, rc = -1;

    if (qfile_open(req->queue_name, req->queue_id, QFILE_OPEN_RDONLY, &qf, &error) != QFILE_OK) {
	msg_warn("%s", error);
	goto out;
    }
    vstring_fmt(path, "%s/%s.%ld.eml", dir, req->queue_id, rcpt->index);
    if ((fd = open(STR(path), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0) {
	qfile_close(&qf);
	goto out;
    }
    rc = qfile_content_copy(qf, fd);
    close(fd);
    qfile_close(&qf);
    if (rc < 0)
	goto out;
    vstring_fmt(path, "%s/deliveries.log", dir);
    clock_gettime(CLOCK_REALTIME, &ts);
    vstring_fmt(line, "%s %ld <%s> <%s> <%s> %.3f %.3f\n", req->queue_id, rcpt->index,
		req->sender, rcpt->address, rcpt->orig_address, start,
		(double) ts.tv_sec + (double) ts.tv_nsec / 1e9);
    if ((fd = open(STR(path), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644)) < 0
	|| write(fd, STR(line), LEN(line)) != (ssize_t) LEN(line))
	rc = -1;
    if (fd >= 0)
	close(fd);
out:
    vstring_free(&path);
    vstring_free(&line);
    return rc;
}

/* testagent_service - one delivery request */
static void testagent_service(STREAM *client, const char *service, char **argv)
{
    DELIVER_REQUEST req;
    const char *dir = config_lookup("testagent_dir");
    const char *error;
    VSTRING *flag = vstring_alloc(100);
    struct stat st;
    struct timespec ts;
    bool defer_all;
    double start;

    (void) service, (void) argv;
    clock_gettime(CLOCK_REALTIME, &ts);
    start = (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
    if (dir == NULL || *dir == 0)
	msg_fatal("testagent_dir is not set");
    vstring_fmt(flag, "%s/defer_all", dir);
    defer_all = stat(STR(flag), &st) == 0;
    vstring_free(&flag);
    mail_queue_init(var_queue_directory, var_hash_queue_depth, var_hash_queue_names);
    if (attr_send_hello(client, DELIVER_PROTO, DELIVER_VERSION) < 0 || stream_flush(client) < 0)
	return;
    memset(&req, 0, sizeof(req));
    if (deliver_request_read(client, &req, &error) <= 0) {
	deliver_request_free(&req);
	return;
    }
    for (int i = 0; i < req.rcpt_count; i++) {
	DELIVER_RCPT *r = req.rcpts + i;
	int status = DEL_STAT_SENT;
	const char *dsn = "2.0.0", *reason = "delivered to test directory";

	if (defer_all || strncmp(r->address, "defer", 5) == 0) {
	    status = DEL_STAT_DEFER, dsn = "4.2.0", reason = "test agent: deferred by rule";
	} else if (strncmp(r->address, "bounce", 6) == 0) {
	    status = DEL_STAT_BOUNCE, dsn = "5.1.1", reason = "test agent: user unknown";
	} else if (strncmp(r->address, "crash", 5) == 0) {
	    _exit(1);
	} else {
	    if (strncmp(r->address, "slow", 4) == 0)
		sleep(2);
	    if (testagent_store(dir, &req, r, start) < 0)
		status = DEL_STAT_DEFER, dsn = "4.3.0", reason = "test agent: cannot store";
	}
	deliver_log(&req, r, "testagent", 0, status, dsn, reason);
	if (deliver_result_send(client, r->index, status, dsn, reason) < 0)
	    break;
    }
    (void) deliver_done_send(client, req.rcpt_count);
    (void) stream_flush(client);
    deliver_request_free(&req);
}

/* main - one delivery request per connection */
int main(int argc, char **argv)
{
    single_server_main(argc, argv, testagent_service, NULL);
}
