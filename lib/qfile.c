/* qfile - queue files: writer, strict reader, in-place recipient status.
 *
 * FORMAT (version 1), the authoritative description is in qfile.h:
 *
 *   record = TYPE LEN(8 lowercase hex) SP DATA LF
 *   order  = V T A* S R+ M E
 *   V "posthorn-queue 1"       T "SEC USEC"          A "name=value"
 *   S sender                   R "s n ORCPT\nADDR"   M content (LF lines)
 *   E "OOOOOOOOOOOOOOOO SSSSSSSSSSSSSSSS"  content offset and size (hex)
 *
 * The E trailer (44 bytes) at the very end proves the file complete. The
 * status byte of each R record (offset + 10) is the only byte that ever
 * changes after the file is finished (pwrite + fdatasync by qmgr).
 *
 * Writer cost per message: one open(O_EXCL), normally one write(2) for a
 * small message (envelope, content and trailer are buffered together and
 * the content length is patched in the buffer), one fdatasync, one fsync
 * of the directory (mail_queue_sync). Content larger than the buffer is
 * streamed; M's length is then patched with one pwrite before the sync.
 *
 * Reader: fstat, pread of the trailer, one pread of the envelope (bounded
 * by QFILE_MAX_ENVELOPE), a strict parse in memory, pread of the LF after
 * the content. Corrupt or hostile files give QFILE_ERR_CORRUPT with
 * "name: offset N: reason", never a crash or unbounded memory.
 *
 * Delivery logs (defer/ID, bounce/ID): L records appended one write(2)
 * each with O_APPEND; see qfile.h. The log code lives in qfile_log.c.
 */
#include "sys_defs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "argv.h"
#include "mail_queue.h"
#include "iostuff.h"
#include "msg.h"
#include "mymalloc.h"
#include "qfile.h"
#include "qfile_priv.h"
#include "vstring.h"

#define QFILE_WBUF_SIZE   (64 * 1024)
#define QFILE_MAX_NAME    64

static VSTRING *qfile_errbuf;

/* qfile_error - format a reason into the static buffer */
const char *qfile_error(const char *fmt, ...)
{
    va_list ap;

    if (qfile_errbuf == NULL)
	qfile_errbuf = vstring_alloc(100);
    vstring_reset(qfile_errbuf);
    va_start(ap, fmt);
    vstring_vfmt_append(qfile_errbuf, fmt, ap);
    va_end(ap);
    return STR(qfile_errbuf);
}

/* qfile_value_ok - no NUL, CR or LF; at most QFILE_MAX_VALUE bytes */
bool qfile_value_ok(const char *val, size_t len)
{
    if (len > QFILE_MAX_VALUE)
	return false;
    for (size_t i = 0; i < len; i++)
	if (val[i] == 0 || val[i] == '\r' || val[i] == '\n')
	    return false;
    return true;
}

/* qfile_name_ok - attribute name [a-z0-9_]+, at most QFILE_MAX_NAME */
static bool qfile_name_ok(const char *name, size_t len)
{
    if (len == 0 || len > QFILE_MAX_NAME)
	return false;
    for (size_t i = 0; i < len; i++)
	if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9')
	      || name[i] == '_'))
	    return false;
    return true;
}

/* qfile_rec_start - append a record header for len bytes of DATA */
void qfile_rec_start(VSTRING *buf, int type, size_t len)
{
    if (len > 0xffffffffu)
	msg_panic("qfile_rec_start: record too long");
    vstring_fmt_append(buf, "%c%08x ", type, (unsigned) len);
}

/* qfile_rec_append - append a whole record */
static void qfile_rec_append(VSTRING *buf, int type, const char *data, size_t len)
{
    qfile_rec_start(buf, type, len);
    vstring_catn(buf, data, len);
    vstring_addch(buf, '\n');
}

/* ---- writer ---- */

struct qfile_writer {
    char    id[QUEUE_ID_MAX];
    char   *queue;
    VSTRING *path;
    int     fd;
    long    sec, usec;
    char   *sender;			/* NULL until set */
    ARGV   *attr_names;
    VSTRING *attrs;			/* encoded A records */
    VSTRING *rcpts;			/* encoded R records */
    int     rcpt_count;
    VSTRING *wbuf;			/* pending output */
    off_t   flushed;			/* file bytes written so far */
    off_t   m_offset;			/* M record offset; -1 before envelope */
    off_t   content_size;
    bool    failed;
};

/* qfile_writer_create - new queue file with a fresh ID */
QFILE_WRITER *qfile_writer_create(const char *queue, mode_t mode, const char **error_r)
{
    QFILE_WRITER *qw = mycalloc(1, sizeof(*qw));
    struct timeval tv;

    qw->path = vstring_alloc(100);
    if ((qw->fd = mail_queue_create(queue, mode, qw->id, qw->path, error_r)) < 0) {
	vstring_free(&qw->path);
	myfree(qw);
	return NULL;
    }
    qw->queue = mystrdup(queue);
    gettimeofday(&tv, NULL);
    qw->sec = (long) tv.tv_sec;
    qw->usec = (long) tv.tv_usec;
    qw->attr_names = argv_alloc(16);
    qw->attrs = vstring_alloc(256);
    qw->rcpts = vstring_alloc(256);
    qw->wbuf = vstring_alloc(QFILE_WBUF_SIZE + 1024);
    qw->m_offset = -1;
    return qw;
}

/* qfile_writer_id - the queue ID */
const char *qfile_writer_id(const QFILE_WRITER *qw)
{
    return qw->id;
}

/* qfile_writer_path - the file's path */
const char *qfile_writer_path(const QFILE_WRITER *qw)
{
    return STR(qw->path);
}

/* qfile_writer_check_envelope - panic when the envelope is already out */
static void qfile_writer_check_envelope(const QFILE_WRITER *qw, const char *what)
{
    if (qw == NULL)
	msg_panic("%s: null writer", what);
    if (qw->m_offset >= 0)
	msg_panic("%s: envelope change after content started", what);
}

/* qfile_writer_set_time - arrival time */
void qfile_writer_set_time(QFILE_WRITER *qw, long sec, long usec)
{
    qfile_writer_check_envelope(qw, "qfile_writer_set_time");
    if (sec < 0 || usec < 0 || usec > 999999)
	msg_panic("qfile_writer_set_time: bad time %ld.%06ld", sec, usec);
    qw->sec = sec;
    qw->usec = usec;
}

/* qfile_writer_env_size - envelope bytes so far (upper bound: V, T, S
 * counted at their largest) */
static size_t qfile_writer_env_size(const QFILE_WRITER *qw)
{
    return LEN(qw->attrs) + LEN(qw->rcpts) + 3 * (QFILE_REC_HDR + 1) + 64 + QFILE_MAX_VALUE;
}

/* qfile_writer_attr - add a name=value attribute */
int qfile_writer_attr(QFILE_WRITER *qw, const char *name, const char *value,
		      const char **error_r)
{
    size_t  nlen = strlen(name), vlen = strlen(value);

    qfile_writer_check_envelope(qw, "qfile_writer_attr");
    if (!qfile_name_ok(name, nlen)) {
	*error_r = qfile_error("bad attribute name");
	return -1;
    }
    if (!qfile_value_ok(value, vlen)) {
	*error_r = qfile_error("bad value for attribute %s", name);
	return -1;
    }
    if (qw->attr_names->argc >= QFILE_MAX_ATTRS) {
	*error_r = qfile_error("too many attributes");
	return -1;
    }
    if (qfile_writer_env_size(qw) + QFILE_REC_HDR + 2 + nlen + vlen > QFILE_MAX_ENVELOPE) {
	*error_r = qfile_error("envelope too large");
	return -1;
    }
    for (int i = 0; i < qw->attr_names->argc; i++) {
	if (strcmp(qw->attr_names->argv[i], name) == 0) {
	    *error_r = qfile_error("duplicate attribute %s", name);
	    return -1;
	}
    }
    argv_add(qw->attr_names, name, (char *) NULL);
    qfile_rec_start(qw->attrs, QFILE_REC_ATTR, nlen + 1 + vlen);
    vstring_fmt_append(qw->attrs, "%s=%s\n", name, value);
    return 0;
}

/* qfile_writer_sender - the envelope sender */
int qfile_writer_sender(QFILE_WRITER *qw, const char *sender, const char **error_r)
{
    qfile_writer_check_envelope(qw, "qfile_writer_sender");
    if (qw->sender != NULL) {
	*error_r = qfile_error("sender already set");
	return -1;
    }
    if (!qfile_value_ok(sender, strlen(sender))) {
	*error_r = qfile_error("bad sender address");
	return -1;
    }
    qw->sender = mystrdup(sender);
    return 0;
}

/* qfile_writer_rcpt - add a recipient */
int qfile_writer_rcpt(QFILE_WRITER *qw, const char *address, const char *orcpt,
		      int notify, const char **error_r)
{
    static const char hex[] = "0123456789abcdef";
    size_t  alen = strlen(address), olen;

    qfile_writer_check_envelope(qw, "qfile_writer_rcpt");
    if (orcpt == NULL)
	orcpt = "";
    olen = strlen(orcpt);
    if (notify < 0 || notify > 15)
	msg_panic("qfile_writer_rcpt: bad notify bits 0x%x", notify);
    if (alen == 0 || !qfile_value_ok(address, alen)) {
	*error_r = qfile_error("bad recipient address");
	return -1;
    }
    if (!qfile_value_ok(orcpt, olen)) {
	*error_r = qfile_error("bad ORCPT value");
	return -1;
    }
    if (qw->rcpt_count >= QFILE_MAX_RCPTS) {
	*error_r = qfile_error("too many recipients");
	return -1;
    }
    if (qfile_writer_env_size(qw) + QFILE_REC_HDR + 6 + olen + alen > QFILE_MAX_ENVELOPE) {
	*error_r = qfile_error("envelope too large");
	return -1;
    }
    qfile_rec_start(qw->rcpts, QFILE_REC_RCPT, 4 + olen + 1 + alen);
    vstring_addch(qw->rcpts, QFILE_RCPT_PENDING);
    vstring_addch(qw->rcpts, ' ');
    vstring_addch(qw->rcpts, hex[notify]);
    vstring_addch(qw->rcpts, ' ');
    vstring_catn(qw->rcpts, orcpt, olen);
    vstring_addch(qw->rcpts, '\n');
    vstring_catn(qw->rcpts, address, alen);
    vstring_addch(qw->rcpts, '\n');
    qw->rcpt_count++;
    return 0;
}

/* qfile_writer_rcpt_count - recipients so far */
int qfile_writer_rcpt_count(const QFILE_WRITER *qw)
{
    return qw->rcpt_count;
}

/* qfile_writer_flush - write out the buffer */
static int qfile_writer_flush(QFILE_WRITER *qw, const char **error_r)
{
    if (LEN(qw->wbuf) == 0)
	return 0;
    if (iostuff_write_all(qw->fd, STR(qw->wbuf), LEN(qw->wbuf)) < 0) {
	*error_r = qfile_error("write %s: %s", STR(qw->path), strerror(errno));
	qw->failed = true;
	return -1;
    }
    qw->flushed += (off_t) LEN(qw->wbuf);
    vstring_reset(qw->wbuf);
    return 0;
}

/* qfile_writer_envelope - put V T A* S R+ and the M header in the buffer */
static int qfile_writer_envelope(QFILE_WRITER *qw, const char **error_r)
{
    char    tbuf[64];
    int     n;

    if (qw->sender == NULL) {
	*error_r = qfile_error("no sender");
	return -1;
    }
    if (qw->rcpt_count == 0) {
	*error_r = qfile_error("no recipients");
	return -1;
    }
    qfile_rec_append(qw->wbuf, QFILE_REC_VERSION, QFILE_MAGIC, strlen(QFILE_MAGIC));
    n = snprintf(tbuf, sizeof(tbuf), "%ld %ld", qw->sec, qw->usec);
    qfile_rec_append(qw->wbuf, QFILE_REC_TIME, tbuf, (size_t) n);
    vstring_catn(qw->wbuf, STR(qw->attrs), LEN(qw->attrs));
    qfile_rec_append(qw->wbuf, QFILE_REC_SENDER, qw->sender, strlen(qw->sender));
    vstring_catn(qw->wbuf, STR(qw->rcpts), LEN(qw->rcpts));
    qw->m_offset = qw->flushed + (off_t) LEN(qw->wbuf);
    qfile_rec_start(qw->wbuf, QFILE_REC_CONTENT, 0);	/* length patched later */
    vstring_free(&qw->attrs);
    vstring_free(&qw->rcpts);
    return 0;
}

/* qfile_writer_content - append message content */
int qfile_writer_content(QFILE_WRITER *qw, const void *buf, size_t len,
			 const char **error_r)
{
    if (qw == NULL)
	msg_panic("qfile_writer_content: null writer");
    if (qw->failed) {
	*error_r = qfile_error("queue file write failed earlier");
	return -1;
    }
    if (qw->m_offset < 0 && qfile_writer_envelope(qw, error_r) < 0)
	return -1;
    if ((off_t) len > QFILE_MAX_CONTENT - qw->content_size) {
	qw->failed = true;
	*error_r = qfile_error("message content too large for a queue file");
	return -1;
    }
    qw->content_size += (off_t) len;
    if (LEN(qw->wbuf) + len <= QFILE_WBUF_SIZE) {
	vstring_catn(qw->wbuf, buf, len);
	return 0;
    }
    if (qfile_writer_flush(qw, error_r) < 0)
	return -1;
    if (len >= QFILE_WBUF_SIZE) {
	if (iostuff_write_all(qw->fd, buf, len) < 0) {
	    *error_r = qfile_error("write %s: %s", STR(qw->path), strerror(errno));
	    qw->failed = true;
	    return -1;
	}
	qw->flushed += (off_t) len;
    } else {
	vstring_catn(qw->wbuf, buf, len);
    }
    return 0;
}

/* qfile_writer_content_size - content bytes so far */
off_t qfile_writer_content_size(const QFILE_WRITER *qw)
{
    return qw->content_size;
}

/* qfile_writer_free - release memory and close (no unlink) */
static void qfile_writer_free(QFILE_WRITER *qw)
{
    if (qw->fd >= 0)
	close(qw->fd);
    myfree(qw->queue);
    myfree(qw->sender);
    argv_free(&qw->attr_names);
    vstring_free(&qw->attrs);
    vstring_free(&qw->rcpts);
    vstring_free(&qw->wbuf);
    vstring_free(&qw->path);
    myfree(qw);
}

/* qfile_writer_finish - trailer, length patch, durable sync, close */
int qfile_writer_finish(QFILE_WRITER **qwp, bool sync, const char **error_r)
{
    QFILE_WRITER *qw = *qwp;
    char    lenbuf[16];
    off_t   content_off;

    if (qw == NULL)
	msg_panic("qfile_writer_finish: null writer");
    *qwp = NULL;
    if (qw->failed) {
	*error_r = qfile_error("queue file write failed earlier");
	goto fail;
    }
    if (qw->m_offset < 0 && qfile_writer_envelope(qw, error_r) < 0)
	goto fail;
    content_off = qw->m_offset + QFILE_REC_HDR;
    vstring_addch(qw->wbuf, '\n');
    qfile_rec_start(qw->wbuf, QFILE_REC_END, 33);
    vstring_fmt_append(qw->wbuf, "%016llx %016llx\n",
		       (unsigned long long) content_off,
		       (unsigned long long) qw->content_size);
    snprintf(lenbuf, sizeof(lenbuf), "%08x", (unsigned) qw->content_size);
    if (qw->m_offset >= qw->flushed) {
	/* The M header is still in the buffer: patch it there. */
	memcpy(STR(qw->wbuf) + (qw->m_offset - qw->flushed) + 1, lenbuf, 8);
    } else if (pwrite(qw->fd, lenbuf, 8, qw->m_offset + 1) != 8) {
	*error_r = qfile_error("write %s: %s", STR(qw->path),
			       errno ? strerror(errno) : "short write");
	goto fail;
    }
    if (qfile_writer_flush(qw, error_r) < 0)
	goto fail;
    if (sync && mail_queue_sync(qw->fd, STR(qw->path), error_r) < 0)
	goto fail;
    qfile_writer_free(qw);
    return 0;

fail:
    (void) unlink(STR(qw->path));
    qfile_writer_free(qw);
    return -1;
}

/* qfile_writer_abort - discard the file */
void qfile_writer_abort(QFILE_WRITER **qwp)
{
    QFILE_WRITER *qw = *qwp;

    if (qw == NULL)
	return;
    (void) unlink(STR(qw->path));
    qfile_writer_free(qw);
    *qwp = NULL;
}

/* ---- reader ---- */

/* qfile_hexval - parse exactly n lowercase hex digits; -1 when malformed */
long long qfile_hexval(const char *cp, int n)
{
    long long val = 0;

    for (int i = 0; i < n; i++) {
	int     c = (unsigned char) cp[i], d;

	if (val > (LLONG_MAX >> 4))
	    return -1;			/* too large to represent */

	if (c >= '0' && c <= '9')
	    d = c - '0';
	else if (c >= 'a' && c <= 'f')
	    d = c - 'a' + 10;
	else
	    return -1;
	val = val * 16 + d;
    }
    return val;
}

/* qfile_decval - parse a nonempty decimal of at most 18 digits; -1 if bad */
long long qfile_decval(const char *cp, size_t len)
{
    long long val = 0;

    if (len == 0 || len > 18)
	return -1;
    for (size_t i = 0; i < len; i++) {
	if (cp[i] < '0' || cp[i] > '9')
	    return -1;
	val = val * 10 + (cp[i] - '0');
    }
    return val;
}

/* qfile_free - release a QFILE's memory and descriptor */
static void qfile_free(QFILE *qf)
{
    if (qf->fd >= 0)
	close(qf->fd);
    for (int i = 0; i < qf->rcpt_count; i++) {
	myfree(qf->rcpts[i].address);
	myfree(qf->rcpts[i].orcpt);
    }
    myfree(qf->rcpts);
    for (int i = 0; i < qf->attr_count; i++) {
	myfree(qf->attr_names[i]);
	myfree(qf->attr_values[i]);
    }
    myfree(qf->attr_names);
    myfree(qf->attr_values);
    myfree(qf->sender);
    myfree(qf->queue);
    myfree(qf->path);
    myfree(qf);
}

/* qfile_close - close and free */
void qfile_close(QFILE **qfp)
{
    if (*qfp == NULL)
	return;
    qfile_free(*qfp);
    *qfp = NULL;
}

/* qfile_pread_all - pread exactly len bytes at off; 0, or -1 (errno 0 at EOF) */
static int qfile_pread_all(int fd, void *buf, size_t len, off_t off)
{
    ssize_t n = iostuff_pread_all(fd, buf, len, off);

    if (n >= 0 && (size_t) n < len)
	errno = 0;
    return n >= 0 && (size_t) n == len ? 0 : -1;
}

/* qfile_corrupt_error - "name: offset N: " plus formatted text */
static const char *qfile_corrupt_error(const char *name, long long off, const char *fmt, ...)
    PH_PRINTF(3, 4);

static const char *qfile_corrupt_error(const char *name, long long off, const char *fmt, ...)
{
    va_list ap;

    qfile_error("%s: offset %lld: ", name, off);
    va_start(ap, fmt);
    vstring_vfmt_append(qfile_errbuf, fmt, ap);
    va_end(ap);
    return STR(qfile_errbuf);
}

#define CORRUPT(off, ...) do { \
	*error_r = qfile_corrupt_error(name, (long long) (off), __VA_ARGS__); \
	return QFILE_ERR_CORRUPT; \
    } while (0)

/* qfile_parse_rcpt - fill rp from R record DATA; false when malformed */
static bool qfile_parse_rcpt(QFILE_RCPT *rp, const char *data, size_t len)
{
    const char *lf;
    long long notify;

    if (len < 6 || data[1] != ' ' || data[3] != ' ')
	return false;
    if (data[0] != QFILE_RCPT_PENDING && data[0] != QFILE_RCPT_DONE
	&& data[0] != QFILE_RCPT_FAILED)
	return false;
    if ((notify = qfile_hexval(data + 2, 1)) < 0)
	return false;
    if ((lf = memchr(data + 4, '\n', len - 4)) == NULL)
	return false;
    if (!qfile_value_ok(data + 4, (size_t) (lf - data - 4)))
	return false;
    if (lf + 1 >= data + len || !qfile_value_ok(lf + 1, (size_t) (data + len - lf - 1)))
	return false;
    rp->status = data[0];
    rp->notify = (int) notify;
    rp->orcpt = mystrndup(data + 4, (size_t) (lf - data - 4));
    rp->address = mystrndup(lf + 1, (size_t) (data + len - lf - 1));
    return true;
}

/* qfile_parse_envelope - strict parse of V T A* S R+ in buf[0..len) */
static int qfile_parse_envelope(QFILE *qf, const char *buf, size_t len,
				const char *name, const char **error_r)
{
    enum { WANT_V, WANT_T, WANT_AS, WANT_R, WANT_RM } state = WANT_V;
    size_t  pos = 0;
    int     attr_alloc = 0, rcpt_alloc = 0;

    while (pos < len) {
	long long dlen;
	const char *data;
	int     type;

	if (len - pos < QFILE_REC_HDR + 1)
	    CORRUPT(pos, "truncated record header");
	type = (unsigned char) buf[pos];
	if ((dlen = qfile_hexval(buf + pos + 1, 8)) < 0 || buf[pos + 9] != ' ')
	    CORRUPT(pos, "malformed record header");
	if (dlen > 2 * QFILE_MAX_VALUE + 8)
	    CORRUPT(pos, "record too long (%lld bytes)", dlen);
	if ((size_t) dlen > len - pos - QFILE_REC_HDR - 1)
	    CORRUPT(pos, "record runs past the envelope");
	data = buf + pos + QFILE_REC_HDR;
	if (data[dlen] != '\n')
	    CORRUPT(pos, "record not terminated by LF");

	switch (type) {
	case QFILE_REC_VERSION:
	    if (state != WANT_V)
		CORRUPT(pos, "unexpected version record");
	    if ((size_t) dlen != strlen(QFILE_MAGIC) || memcmp(data, QFILE_MAGIC, (size_t) dlen) != 0)
		CORRUPT(pos, "not a version %d queue file", QFILE_VERSION);
	    state = WANT_T;
	    break;
	case QFILE_REC_TIME:{
		const char *sp = memchr(data, ' ', (size_t) dlen);
		long long sec, usec;

		if (state != WANT_T)
		    CORRUPT(pos, "unexpected time record");
		if (sp == NULL
		    || (sec = qfile_decval(data, (size_t) (sp - data))) < 0
		    || (usec = qfile_decval(sp + 1, (size_t) (data + dlen - sp - 1))) < 0
		    || usec > 999999 || sec > (long long) 1 << 40)
		    CORRUPT(pos, "malformed arrival time");
		qf->arrival_sec = (long) sec;
		qf->arrival_usec = (long) usec;
		state = WANT_AS;
		break;
	    }
	case QFILE_REC_ATTR:{
		const char *eq = memchr(data, '=', (size_t) dlen);
		size_t  nlen, vlen;

		if (state != WANT_AS)
		    CORRUPT(pos, "unexpected attribute record");
		if (eq == NULL)
		    CORRUPT(pos, "attribute without '='");
		nlen = (size_t) (eq - data);
		vlen = (size_t) dlen - nlen - 1;
		if (!qfile_name_ok(data, nlen))
		    CORRUPT(pos, "bad attribute name");
		if (!qfile_value_ok(eq + 1, vlen))
		    CORRUPT(pos, "bad attribute value");
		if (qf->attr_count >= QFILE_MAX_ATTRS)
		    CORRUPT(pos, "too many attributes");
		for (int i = 0; i < qf->attr_count; i++)
		    if (strlen(qf->attr_names[i]) == nlen && memcmp(qf->attr_names[i], data, nlen) == 0)
			CORRUPT(pos, "duplicate attribute");
		if (qf->attr_count >= attr_alloc) {
		    attr_alloc = attr_alloc ? 2 * attr_alloc : 16;
		    qf->attr_names = myreallocarray(qf->attr_names, (size_t) attr_alloc, sizeof(char *));
		    qf->attr_values = myreallocarray(qf->attr_values, (size_t) attr_alloc, sizeof(char *));
		}
		qf->attr_names[qf->attr_count] = mystrndup(data, nlen);
		qf->attr_values[qf->attr_count] = mystrndup(eq + 1, vlen);
		qf->attr_count++;
		break;
	    }
	case QFILE_REC_SENDER:
	    if (state != WANT_AS)
		CORRUPT(pos, "unexpected sender record");
	    if (!qfile_value_ok(data, (size_t) dlen))
		CORRUPT(pos, "bad sender value");
	    qf->sender = mystrndup(data, (size_t) dlen);
	    state = WANT_R;
	    break;
	case QFILE_REC_RCPT:{
		QFILE_RCPT *rp;

		if (state != WANT_R && state != WANT_RM)
		    CORRUPT(pos, "unexpected recipient record");
		if (qf->rcpt_count >= QFILE_MAX_RCPTS)
		    CORRUPT(pos, "too many recipients");
		if (qf->rcpt_count >= rcpt_alloc) {
		    rcpt_alloc = rcpt_alloc ? 2 * rcpt_alloc : 8;
		    qf->rcpts = myreallocarray(qf->rcpts, (size_t) rcpt_alloc, sizeof(QFILE_RCPT));
		}
		rp = qf->rcpts + qf->rcpt_count;
		memset(rp, 0, sizeof(*rp));
		if (!qfile_parse_rcpt(rp, data, (size_t) dlen))
		    CORRUPT(pos, "malformed recipient record");
		rp->index = qf->rcpt_count++;
		rp->offset = (off_t) pos;
		rp->status_offset = (off_t) pos + QFILE_REC_HDR;
		state = WANT_RM;
		break;
	    }
	default:
	    if (type >= 0x21 && type < 0x7f)
		CORRUPT(pos, "unexpected record type '%c'", type);
	    CORRUPT(pos, "unexpected record type 0x%02x", type);
	}
	pos += QFILE_REC_HDR + (size_t) dlen + 1;
    }
    if (state != WANT_RM)
	CORRUPT(pos, "envelope ends before %s",
		state == WANT_V ? "the version record" : state == WANT_T ? "the arrival time"
		: state == WANT_AS ? "the sender" : "the first recipient");
    return QFILE_OK;
}

/* qfile_open_fd - validate an open queue file; takes the fd */
int qfile_open_fd(int fd, const char *name, int flags, QFILE **qf_r,
		  const char **error_r)
{
    QFILE  *qf = mycalloc(1, sizeof(*qf));
    char    trailer[QFILE_TRAILER_SIZE];
    char    mhdr[QFILE_REC_HDR];
    char    lf;
    struct stat st;
    long long coff, csize;
    char   *env = NULL;
    size_t  env_len;
    int     ret;

    qf->fd = fd;
    qf->path = mystrdup(name);
    qf->writable = (flags & QFILE_OPEN_RDWR) != 0;
    *qf_r = NULL;
    if (fstat(fd, &st) < 0) {
	*error_r = qfile_error("%s: fstat: %s", name, strerror(errno));
	ret = QFILE_ERR_SYS;
	goto out;
    }
    if (!S_ISREG(st.st_mode)) {
	*error_r = qfile_error("%s: not a regular file", name);
	ret = QFILE_ERR_CORRUPT;
	goto out;
    }
    qf->file_size = st.st_size;
    if (st.st_size < QFILE_TRAILER_SIZE) {
	*error_r = qfile_error("%s: no trailer (file of %lld bytes)", name, (long long) st.st_size);
	ret = QFILE_ERR_INCOMPLETE;
	goto out;
    }
    if (qfile_pread_all(fd, trailer, sizeof(trailer), st.st_size - QFILE_TRAILER_SIZE) < 0) {
	ret = errno ? QFILE_ERR_SYS : QFILE_ERR_INCOMPLETE;
	*error_r = qfile_error("%s: read trailer: %s", name, errno ? strerror(errno) : "file shrank");
	goto out;
    }
    if (trailer[0] != QFILE_REC_END || memcmp(trailer + 1, "00000021 ", 9) != 0
	|| (coff = qfile_hexval(trailer + 10, 16)) < 0 || trailer[26] != ' '
	|| (csize = qfile_hexval(trailer + 27, 16)) < 0 || trailer[43] != '\n') {
	*error_r = qfile_error("%s: no valid trailer: unfinished write", name);
	ret = QFILE_ERR_INCOMPLETE;
	goto out;
    }
    /* From here on the file claims to be complete: problems are corruption. */
    if (csize > QFILE_MAX_CONTENT || coff < QFILE_REC_HDR
	|| coff > st.st_size || csize > st.st_size
	|| coff + csize + 1 != st.st_size - QFILE_TRAILER_SIZE) {
	*error_r = qfile_error("%s: offset %lld: trailer does not match the file size",
			       name, (long long) (st.st_size - QFILE_TRAILER_SIZE));
	ret = QFILE_ERR_CORRUPT;
	goto out;
    }
    if (coff - QFILE_REC_HDR > (long long) QFILE_MAX_ENVELOPE) {
	*error_r = qfile_error("%s: envelope too large (%lld bytes)", name, coff);
	ret = QFILE_ERR_CORRUPT;
	goto out;
    }
    qf->content_offset = (off_t) coff;
    qf->content_size = (off_t) csize;
    env_len = (size_t) coff - QFILE_REC_HDR;
    env = mymalloc(env_len + 1);
    if (qfile_pread_all(fd, env, env_len, 0) < 0
	|| qfile_pread_all(fd, mhdr, sizeof(mhdr), (off_t) env_len) < 0
	|| qfile_pread_all(fd, &lf, 1, (off_t) (coff + csize)) < 0) {
	ret = errno ? QFILE_ERR_SYS : QFILE_ERR_CORRUPT;
	*error_r = qfile_error("%s: read: %s", name, errno ? strerror(errno) : "file shrank");
	goto out;
    }
    if ((ret = qfile_parse_envelope(qf, env, env_len, name, error_r)) != QFILE_OK)
	goto out;
    if (mhdr[0] != QFILE_REC_CONTENT || qfile_hexval(mhdr + 1, 8) != csize || mhdr[9] != ' ') {
	*error_r = qfile_error("%s: offset %zu: bad content record header", name, env_len);
	ret = QFILE_ERR_CORRUPT;
	goto out;
    }
    if (lf != '\n') {
	*error_r = qfile_error("%s: offset %lld: content not terminated by LF",
			       name, coff + csize);
	ret = QFILE_ERR_CORRUPT;
	goto out;
    }
    ret = QFILE_OK;

out:
    myfree(env);
    if (ret == QFILE_OK)
	*qf_r = qf;
    else
	qfile_free(qf);
    return ret;
}

/* qfile_open_path - open and validate by path */
int qfile_open_path(const char *path, int flags, QFILE **qf_r, const char **error_r)
{
    int     fd;

    *qf_r = NULL;
    fd = open(path, ((flags & QFILE_OPEN_RDWR) ? O_RDWR : O_RDONLY) | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
	int     saved = errno;

	*error_r = qfile_error("open %s: %s", path, strerror(saved));
	errno = saved;
	return QFILE_ERR_SYS;
    }
    return qfile_open_fd(fd, path, flags, qf_r, error_r);
}

/* qfile_open - open and validate queue file id in queue */
int qfile_open(const char *queue, const char *id, int flags, QFILE **qf_r,
	       const char **error_r)
{
    VSTRING *path = vstring_alloc(100);
    int     ret;

    *qf_r = NULL;
    if (!mail_queue_is_message_queue(queue) || mail_queue_path(path, queue, id) == NULL) {
	*error_r = qfile_error("bad queue name or queue ID");
	vstring_free(&path);
	errno = EINVAL;
	return QFILE_ERR_SYS;
    }
    ret = qfile_open_path(STR(path), flags, qf_r, error_r);
    if (ret == QFILE_OK) {
	ph_strlcpy((*qf_r)->id, id, sizeof((*qf_r)->id));
	(*qf_r)->queue = mystrdup(queue);
    }
    vstring_free(&path);
    return ret;
}

/* qfile_attr - attribute value or NULL */
const char *qfile_attr(const QFILE *qf, const char *name)
{
    for (int i = 0; i < qf->attr_count; i++)
	if (strcmp(qf->attr_names[i], name) == 0)
	    return qf->attr_values[i];
    return NULL;
}

/* qfile_rcpt_pending - count of recipients in status P */
int qfile_rcpt_pending(const QFILE *qf)
{
    int     n = 0;

    for (int i = 0; i < qf->rcpt_count; i++)
	if (qf->rcpts[i].status == QFILE_RCPT_PENDING)
	    n++;
    return n;
}

/* qfile_rcpt_set_status - change one status byte in place */
int qfile_rcpt_set_status(QFILE *qf, int index, int status, bool sync,
			  const char **error_r)
{
    char    ch = (char) status;

    if (!qf->writable)
	msg_panic("qfile_rcpt_set_status: %s opened read-only", qf->path);
    if (index < 0 || index >= qf->rcpt_count)
	msg_panic("qfile_rcpt_set_status: bad recipient index %d", index);
    if (status != QFILE_RCPT_PENDING && status != QFILE_RCPT_DONE
	&& status != QFILE_RCPT_FAILED)
	msg_panic("qfile_rcpt_set_status: bad status 0x%x", status);
    if (pwrite(qf->fd, &ch, 1, qf->rcpts[index].status_offset) != 1) {
	*error_r = qfile_error("update %s: %s", qf->path, errno ? strerror(errno) : "short write");
	return -1;
    }
    qf->rcpts[index].status = status;
    if (sync)
	return qfile_sync(qf, error_r);
    return 0;
}

/* qfile_sync - fdatasync */
int qfile_sync(QFILE *qf, const char **error_r)
{
    if (fdatasync(qf->fd) < 0) {
	*error_r = qfile_error("fdatasync %s: %s", qf->path, strerror(errno));
	return -1;
    }
    return 0;
}

/* qfile_content_read - pread from the content */
ssize_t qfile_content_read(const QFILE *qf, off_t off, void *buf, size_t len)
{
    ssize_t n;

    if (off < 0 || off > qf->content_size) {
	errno = EINVAL;
	return -1;
    }
    if ((off_t) len > qf->content_size - off)
	len = (size_t) (qf->content_size - off);
    if (len == 0)
	return 0;
    do {
	n = pread(qf->fd, buf, len, qf->content_offset + off);
    } while (n < 0 && errno == EINTR);
    return n;
}

/* qfile_content_copy - write the whole content to fd */
int qfile_content_copy(const QFILE *qf, int fd)
{
    char    buf[64 * 1024];
    off_t   off = 0;
    ssize_t n;

    while (off < qf->content_size) {
	if ((n = qfile_content_read(qf, off, buf, sizeof(buf))) < 0)
	    return -1;
	if (n == 0) {
	    errno = EIO;			/* file shrank under us */
	    return -1;
	}
	if (iostuff_write_all(fd, buf, (size_t) n) < 0)
	    return -1;
	off += n;
    }
    return 0;
}
