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
#include "../unit/mem_stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* LLVMFuzzerTestOneInput - one run */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    MEM_STREAM_SRC src;
    size_t limit = data[0] % 64;
    STREAM *sp = mem_stream_open(&src, data + 2, size - 2, (size_t) data[1] % 17 + 1);
    VSTRING *buf = vstring_alloc(16);
    size_t consumed = 0;
    int eol;
    int ret;

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
