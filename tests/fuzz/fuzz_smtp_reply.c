/* fuzz_smtp_reply - the SMTP reply reader over arbitrary bytes: replies are
 * read until the input ends; every accepted code is 100..599 and every
 * enhanced status code extracted fits and (for 2xx/4xx/5xx) starts with
 * the class digit.
 */
#include "sys_defs.h"

#include <stdlib.h>
#include <string.h>

#include "argv.h"
#include "smtp_reply.h"
#include "stream.h"
#include "vstring.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct {
    const uint8_t *data;
    size_t  len, pos;
} SRC;

/* fuzz_read - serve the input, up to 13 bytes per call */
static ssize_t fuzz_read(STREAM *sp, void *buf, size_t len, void *ctx, bool *want_write)
{
    SRC *src = ctx;
    size_t n = src->len - src->pos;

    (void) sp;
    (void) want_write;
    if (n > len)
	n = len;
    if (n > 13)
	n = 13;
    memcpy(buf, src->data + src->pos, n);
    src->pos += n;
    return (ssize_t) n;
}

/* fuzz_write - discard */
static ssize_t fuzz_write(STREAM *sp, const void *buf, size_t len, void *ctx, bool *want_read)
{
    (void) sp;
    (void) buf;
    (void) ctx;
    (void) want_read;
    return (ssize_t) len;
}

/* LLVMFuzzerTestOneInput - read replies until EOF or error */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    SRC src = {data, size, 0};
    STREAM *sp = stream_fdopen(-1, false);
    VSTRING *text = vstring_alloc(100);
    ARGV *lines = argv_alloc(4);
    char dsn[16];
    int code;

    stream_set_io(sp, fuzz_read, fuzz_write, &src);
    while ((code = smtp_reply_read_lines(sp, text, lines)) > 0) {
	if (code < 100 || code > 599 || lines->argc < 1)
	    abort();
	smtp_reply_dsn(code, STR(text), dsn);
	/* DSN classes exist for 2xx, 4xx and 5xx only. */
	if (strlen(dsn) > 15 || (code / 100 != 1 && code / 100 != 3 && dsn[0] != '0' + code / 100))
	    abort();
    }
    argv_free(&lines);
    vstring_free(&text);
    stream_close(&sp);
    return 0;
}
