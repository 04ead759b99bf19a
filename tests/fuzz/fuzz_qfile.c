/* fuzz_qfile - the queue file reader and the delivery log parser over
 * arbitrary bytes: every input must give QFILE_OK or an error, never a
 * crash, a leak or a sanitizer report. */
#include "sys_defs.h"

#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "msg.h"
#include "qfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* LLVMFuzzerTestOneInput - one input */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool init;
    QFILE  *qf;
    QFILE_LOG *log;
    const char *err;
    int     fd;

    if (!init) {
	msg_init("fuzz_qfile", 0);
	init = true;
    }
    if ((fd = memfd_create("fuzz", 0)) < 0)
	return 0;
    if (size > 0 && write(fd, data, size) != (ssize_t) size) {
	close(fd);
	return 0;
    }
    if (qfile_open_fd(fd, "fuzz", QFILE_OPEN_RDONLY, &qf, &err) == QFILE_OK) {
	char    buf[256];
	size_t  total = 0;

	for (int i = 0; i < qf->rcpt_count; i++)
	    total += strlen(qf->rcpts[i].address) + strlen(qf->rcpts[i].orcpt);
	for (int i = 0; i < qf->attr_count; i++)
	    total += strlen(qfile_attr(qf, qf->attr_names[i]));
	for (off_t off = 0;;) {
	    ssize_t n = qfile_content_read(qf, off, buf, sizeof(buf));

	    if (n <= 0)
		break;
	    off += n;
	    total += (size_t) n;
	}
	(void) total;
	qfile_close(&qf);
    }
    if (qfile_log_parse((const char *) data, size, "fuzz", &log, &err) == 0) {
	for (int i = 0; i < qfile_log_count(log); i++)
	    (void) strlen(qfile_log_entry(log, i)->reason);
	qfile_log_free(&log);
    }
    return 0;
}
