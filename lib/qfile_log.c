/* qfile_log - per-message delivery logs in defer/ and bounce/.
 *
 * Contract: see qfile.h ("per-message delivery logs"). A log is a sequence
 * of L records (TYPE LEN8 SP DATA LF, as queue files) appended with
 * O_APPEND, one write(2) per record; DATA is eight LF-separated fields:
 * time, recipient index, DSN status, action, address, ORCPT, remote MTA,
 * reason. Values are sanitized when written (control characters become
 * spaces, each field truncated to QFILE_MAX_VALUE), so a remote server's
 * reply text can never break the framing.
 *
 * Reading: a record that runs past the end of the file is a torn append
 * (crash during write) and is ignored with everything after it; any other
 * malformed record is an error. At most QFILE_LOG_MAX_BYTES are read.
 */
#include "sys_defs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "mail_queue.h"
#include "iostuff.h"
#include "msg.h"
#include "mymalloc.h"
#include "qfile.h"
#include "qfile_priv.h"
#include "vstring.h"

#define QFILE_LOG_FIELDS    8
#define QFILE_LOG_MAX_BYTES (64 * 1024 * 1024)

struct qfile_log {
    int     count;
    int     alloc;
    QFILE_LOG_ENTRY *entries;
    char  **bufs;			/* one NUL-split copy of DATA per entry */
};

/* qfile_log_field - append a sanitized, truncated field */
static void qfile_log_field(VSTRING *buf, const char *val, bool last)
{
    size_t  n = 0;

    for (const unsigned char *cp = (const unsigned char *) (val ? val : "");
	 *cp && n < QFILE_MAX_VALUE; cp++, n++)
	vstring_addch(buf, (*cp < 0x20 || *cp == 0x7f) ? ' ' : *cp);
    if (!last)
	vstring_addch(buf, '\n');
}

/* qfile_log_append - append one entry to log_queue/id */
int qfile_log_append(const char *log_queue, const char *id, const QFILE_LOG_ENTRY *entry,
		     bool sync, const char **error_r)
{
    VSTRING *path = vstring_alloc(100);
    VSTRING *data = vstring_alloc(256);
    VSTRING *rec = vstring_alloc(300);
    char    num[32];
    bool    created = false;
    int     fd = -1, ret = -1;

    if ((strcmp(log_queue, MAIL_QUEUE_DEFER) != 0 && strcmp(log_queue, MAIL_QUEUE_BOUNCE) != 0)
	|| mail_queue_path(path, log_queue, id) == NULL) {
	*error_r = qfile_error("log append: bad log queue or queue ID");
	goto out;
    }
    snprintf(num, sizeof(num), "%ld", entry->time);
    qfile_log_field(data, num, false);
    snprintf(num, sizeof(num), "%d", entry->rcpt_index);
    qfile_log_field(data, num, false);
    qfile_log_field(data, entry->dsn_status, false);
    qfile_log_field(data, entry->action, false);
    qfile_log_field(data, entry->address, false);
    qfile_log_field(data, entry->orcpt, false);
    qfile_log_field(data, entry->mta, false);
    qfile_log_field(data, entry->reason, true);
    qfile_rec_start(rec, QFILE_REC_LOG, LEN(data));
    vstring_catn(rec, STR(data), LEN(data));
    vstring_addch(rec, '\n');

    for (int attempt = 0; attempt < 2; attempt++) {
	fd = open(STR(path), O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0 || errno != ENOENT)
	    break;
	fd = open(STR(path), O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		  MAIL_QUEUE_FILE_MODE);
	if (fd >= 0) {
	    created = true;
	    break;
	}
	if (errno == ENOENT && mail_queue_mkdir_hash(log_queue, id) < 0)
	    break;
    }
    if (fd < 0) {
	*error_r = qfile_error("open %s: %s", STR(path), strerror(errno));
	goto out;
    }
    if (iostuff_write_all(fd, STR(rec), LEN(rec)) < 0) {
	*error_r = qfile_error("write %s: %s", STR(path), strerror(errno));
	goto out;
    }
    if (sync) {
	if (created) {
	    if (mail_queue_sync(fd, STR(path), error_r) < 0)
		goto out;
	} else if (fdatasync(fd) < 0) {
	    *error_r = qfile_error("fdatasync %s: %s", STR(path), strerror(errno));
	    goto out;
	}
    }
    ret = 0;

out:
    if (fd >= 0)
	close(fd);
    vstring_free(&path);
    vstring_free(&data);
    vstring_free(&rec);
    return ret;
}

/* qfile_log_free - release */
void qfile_log_free(QFILE_LOG **logp)
{
    QFILE_LOG *log = *logp;

    if (log == NULL)
	return;
    for (int i = 0; i < log->count; i++)
	myfree(log->bufs[i]);
    myfree(log->bufs);
    myfree(log->entries);
    myfree(log);
    *logp = NULL;
}

/* qfile_log_parse - parse log bytes */
int qfile_log_parse(const char *buf, size_t len, const char *name, QFILE_LOG **log_r,
		    const char **error_r)
{
    QFILE_LOG *log = mycalloc(1, sizeof(*log));
    size_t  pos = 0;

    *log_r = NULL;
    while (pos < len) {
	long long dlen, val;
	char   *copy, *fields[QFILE_LOG_FIELDS];
	const char *data;
	int     nf = 0;
	QFILE_LOG_ENTRY *ep;

	if (len - pos < QFILE_REC_HDR + 1)
	    break;				/* torn append */
	if (buf[pos] != QFILE_REC_LOG || (dlen = qfile_hexval(buf + pos + 1, 8)) < 0
	    || buf[pos + 9] != ' ') {
	    *error_r = qfile_error("%s: offset %zu: malformed log record header", name, pos);
	    goto bad;
	}
	if ((size_t) dlen > len - pos - QFILE_REC_HDR - 1)
	    break;				/* torn append */
	data = buf + pos + QFILE_REC_HDR;
	if (data[dlen] != '\n' || memchr(data, 0, (size_t) dlen) != NULL) {
	    *error_r = qfile_error("%s: offset %zu: malformed log record", name, pos);
	    goto bad;
	}
	copy = mystrndup(data, (size_t) dlen);
	fields[nf++] = copy;
	for (char *cp = copy; *cp; cp++) {
	    if (*cp == '\n') {
		*cp = 0;
		if (nf == QFILE_LOG_FIELDS) {
		    nf++;
		    break;
		}
		fields[nf++] = cp + 1;
	    }
	}
	if (nf != QFILE_LOG_FIELDS
	    || (val = qfile_decval(fields[0], strlen(fields[0]))) < 0
	    || qfile_decval(fields[1], strlen(fields[1])) < 0
	    || qfile_decval(fields[1], strlen(fields[1])) >= QFILE_MAX_RCPTS) {
	    myfree(copy);
	    *error_r = qfile_error("%s: offset %zu: malformed log entry", name, pos);
	    goto bad;
	}
	if (log->count >= log->alloc) {
	    log->alloc = log->alloc ? 2 * log->alloc : 8;
	    log->entries = myreallocarray(log->entries, (size_t) log->alloc, sizeof(*log->entries));
	    log->bufs = myreallocarray(log->bufs, (size_t) log->alloc, sizeof(char *));
	}
	log->bufs[log->count] = copy;
	ep = log->entries + log->count++;
	ep->time = (long) val;
	ep->rcpt_index = (int) qfile_decval(fields[1], strlen(fields[1]));
	ep->dsn_status = fields[2];
	ep->action = fields[3];
	ep->address = fields[4];
	ep->orcpt = fields[5];
	ep->mta = fields[6];
	ep->reason = fields[7];
	pos += QFILE_REC_HDR + (size_t) dlen + 1;
    }
    *log_r = log;
    return 0;

bad:
    qfile_log_free(&log);
    return -1;
}

/* qfile_log_read - read log_queue/id */
int qfile_log_read(const char *log_queue, const char *id, QFILE_LOG **log_r,
		   const char **error_r)
{
    VSTRING *path = vstring_alloc(100);
    VSTRING *data = vstring_alloc(1024);
    char    buf[8192];
    ssize_t n;
    int     fd, ret = -1;

    *log_r = NULL;
    if ((strcmp(log_queue, MAIL_QUEUE_DEFER) != 0 && strcmp(log_queue, MAIL_QUEUE_BOUNCE) != 0)
	|| mail_queue_path(path, log_queue, id) == NULL) {
	*error_r = qfile_error("log read: bad log queue or queue ID");
	goto out;
    }
    if ((fd = open(STR(path), O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
	if (errno == ENOENT)
	    ret = 0;
	else
	    *error_r = qfile_error("open %s: %s", STR(path), strerror(errno));
	goto out;
    }
    while ((n = read(fd, buf, sizeof(buf))) != 0) {
	if (n < 0) {
	    if (errno == EINTR)
		continue;
	    *error_r = qfile_error("read %s: %s", STR(path), strerror(errno));
	    close(fd);
	    goto out;
	}
	if (LEN(data) + (size_t) n > QFILE_LOG_MAX_BYTES) {
	    *error_r = qfile_error("%s: log too large", STR(path));
	    close(fd);
	    goto out;
	}
	vstring_catn(data, buf, (size_t) n);
    }
    close(fd);
    ret = qfile_log_parse(STR(data), LEN(data), STR(path), log_r, error_r);

out:
    vstring_free(&path);
    vstring_free(&data);
    return ret;
}

/* qfile_log_count - number of entries */
int qfile_log_count(const QFILE_LOG *log)
{
    return log ? log->count : 0;
}

/* qfile_log_entry - one entry */
const QFILE_LOG_ENTRY *qfile_log_entry(const QFILE_LOG *log, int index)
{
    if (log == NULL || index < 0 || index >= log->count)
	msg_panic("qfile_log_entry: bad index %d", index);
    return log->entries + index;
}
