/* fuzz_stream_getline - stream_getline over arbitrary bytes.
 *
 * The first two input bytes choose the line limit and the chunk size the
 * memory-backed read hook hands out (so lines split across reads at every
 * position get exercised); the rest is the data. Checks the contract:
 * never more than limit bytes stored, eol in 0..2, the return codes, and
 * that the bytes delivered plus the bytes discarded account for the input.
 */
#include "sys_defs.h"

#include <stdlib.h>
#include <string.h>

#include "stream.h"
#include "vstring.h"

struct fuzz_src {
    const uint8_t *data;
    size_t len;
    size_t pos;
    size_t chunk;
};

/* fuzz_read - hand out at most chunk bytes per call */
static ssize_t fuzz_read(STREAM *sp, void *buf, size_t len, void *ctx, bool *want_write)
{
    struct fuzz_src *src = ctx;
    size_t n = src->len - src->pos;

    (void) sp;
    (void) want_write;
    if (n > len)
        n = len;
    if (n > src->chunk)
        n = src->chunk;
    memcpy(buf, src->data + src->pos, n);
    src->pos += n;
    return (ssize_t) n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* LLVMFuzzerTestOneInput - one run */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    struct fuzz_src src = {data + 2, size - 2, 0, (size_t) data[1] % 17 + 1};
    size_t limit = data[0] % 64;
    STREAM *sp = stream_fdopen(-1, false);
    VSTRING *buf = vstring_alloc(16);
    size_t consumed = 0;
    int eol;
    int ret;

    stream_set_io(sp, fuzz_read, NULL, &src);
    while ((ret = stream_getline(sp, buf, limit, &eol)) > 0) {
        if (LEN(buf) > limit || eol < 0 || eol > 2 || ret > 2)
            abort();
        if (ret == 1)
            consumed += LEN(buf) + (eol > 0);
        else if (LEN(buf) != limit)
            abort();
        if (eol == 2 && ret == 1 && (LEN(buf) == 0 || STR(buf)[LEN(buf) - 1] != '\r'))
            abort();
        if (ret == 2) {
            /* Skip what was discarded: find the end of this line in the input. */
            const uint8_t *start = src.data + consumed;
            const uint8_t *nl = memchr(start, '\n', src.len - consumed);

            consumed = nl ? (size_t) (nl - src.data) + 1 : src.len;
        }
        if (memchr(STR(buf), '\n', LEN(buf)))
            abort();
    }
    if (ret != 0 || consumed != src.len)
        abort();
    stream_close(&sp);
    vstring_free(&buf);
    return 0;
}
