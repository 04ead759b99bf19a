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
#include "../unit/mem_stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* LLVMFuzzerTestOneInput - read replies until EOF or error */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    MEM_STREAM_SRC src;
    STREAM *sp = mem_stream_open(&src, data, size, 13);
    VSTRING *text = vstring_alloc(100);
    ARGV *lines = argv_alloc(4);
    char dsn[16];
    int code;

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
