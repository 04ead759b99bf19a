/* fuzz_attr - the attribute scanners over arbitrary bytes.
 *
 * The input is served from memory through a stream read hook, a few bytes
 * per call (the chunk size comes from the first input byte) so messages
 * split across reads are exercised. Each message is scanned with
 * attr_list_scan; every accepted message is printed again with attr_print
 * and must scan back to the same attributes. Then the same bytes go through
 * the strict attr_scan with a fixed template.
 */
#include "sys_defs.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "attr.h"
#include "stream.h"
#include "vstring.h"
#include "../unit/mem_stream.h"

/* fuzz_reprint - print each attribute of al as its own message with
 * attr_print, scan them back, compare */
static void fuzz_reprint(const ATTR_LIST *al)
{
    int fd = memfd_create("fuzz_attr", MFD_CLOEXEC);
    STREAM *sp;
    ATTR_LIST *back = attr_list_alloc();
    const char *error;

    if (fd < 0)
        abort();
    sp = stream_fdopen(fd, true);
    for (int i = 0; i < al->count; i++)
        if (attr_print(sp, ATTR_STR, al->names[i], STR(al->values[i]), ATTR_END) < 0)
            abort();
    if (stream_flush(sp) < 0)
        abort();
    lseek(fd, 0, SEEK_SET);
    for (int i = 0; i < al->count; i++) {
        if (attr_list_scan(sp, back, &error) != 1)
            abort();
        if (strcmp(back->names[0], al->names[i]) != 0
            || LEN(back->values[0]) != LEN(al->values[i])
            || memcmp(STR(back->values[0]), STR(al->values[i]), LEN(al->values[i])) != 0)
            abort();
    }
    if (attr_list_scan(sp, back, &error) != 0)
        abort();
    attr_list_free(&back);
    stream_close(&sp);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* LLVMFuzzerTestOneInput - one run */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    MEM_STREAM_SRC src;
    const char *error;
    ATTR_LIST *al;
    STREAM *sp;
    int ret;

    if (size < 1)
        return 0;
    al = attr_list_alloc();
    size_t chunk = data[0] % 13 + 1;

    sp = mem_stream_open(&src, data + 1, size - 1, chunk);
    for (int n = 0; n < 1000 && (ret = attr_list_scan(sp, al, &error)) > 0; n++) {
        if (al->count != ret)
            abort();
        for (int i = 0; i < al->count; i++)
            if (memchr(STR(al->values[i]), 0, LEN(al->values[i])))
                abort();
        fuzz_reprint(al);
    }
    stream_close(&sp);

    VSTRING *a = vstring_alloc(16), *o = vstring_alloc(16);
    long n = 0;

    sp = mem_stream_open(&src, data + 1, size - 1, chunk);
    while ((ret = attr_scan(sp, ATTR_FLAG_MORE, &error, ATTR_STR, "a", a, ATTR_INT, "n", &n,
                            ATTR_OPT_STR, "o", o, ATTR_END)) > 0)
        if (ret < 2 || ret > 3)
            abort();
    stream_close(&sp);
    vstring_free(&a);
    vstring_free(&o);
    attr_list_free(&al);
    return 0;
}
