/* fuzz_imap_utf7 - modified UTF-7 decode/encode: no crash, and the
 * strictness promise: whatever decodes re-encodes to the same bytes, and
 * whatever encodes decodes back. */
#include "sys_defs.h"

#include <stdlib.h>
#include <string.h>

#include "imap_utf7.h"
#include "msg.h"
#include "vstring.h"

int     LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* LLVMFuzzerTestOneInput - one name */
int     LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    VSTRING *a = vstring_alloc(64), *b = vstring_alloc(64);
    const char *in = (const char *) data;

    msg_init("fuzz", 0);
    if (imap_utf7_to_utf8(in, size, a) == 0) {
	if (imap_utf8_to_utf7(STR(a), LEN(a), b) != 0 || LEN(b) != size
	    || memcmp(STR(b), in, size) != 0)
	    abort();
    }
    vstring_reset(a);
    vstring_reset(b);
    if (imap_utf8_to_utf7(in, size, a) == 0) {
	if (imap_utf7_to_utf8(STR(a), LEN(a), b) != 0 || LEN(b) != size
	    || memcmp(STR(b), in, size) != 0)
	    abort();
    }
    vstring_free(&a);
    vstring_free(&b);
    return 0;
}
