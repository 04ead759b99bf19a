/* fuzz_smtp_path - libFuzzer target for the RFC 5321 path parser and xtext.
 *
 * The first input byte selects the parser flags; the rest is the command
 * argument. Checks invariants: the end pointer stays inside the input and
 * a parsed address is never longer than what was given.
 */
#include "sys_defs.h"

#include <stdlib.h>
#include <string.h>

#include "mymalloc.h"
#include "smtp_path.h"
#include "vstring.h"

int     LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* LLVMFuzzerTestOneInput - one fuzz input */
int     LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    SMTP_PATH *path;
    VSTRING *out;
    char   *text;
    const char *end = NULL;
    const char *err = NULL;
    int     flags;

    if (size < 1)
	return 0;
    flags = data[0] & 0x0F;
    text = mymalloc(size);
    memcpy(text, data + 1, size - 1);
    text[size - 1] = 0;
    path = smtp_path_alloc();
    if (smtp_path_parse(path, text, flags, &end, &err) == 0) {
	if (end < text || end > text + strlen(text))
	    abort();
	if (LEN(path->addr) > LEN(path->given))
	    abort();
	if (path->is_null && LEN(path->addr) != 0)
	    abort();
    } else if (err == NULL) {
	abort();
    }
    out = vstring_alloc(16);
    (void) smtp_xtext_decode(out, text);
    if (LEN(out) > strlen(text))
	abort();
    (void) smtp_utf8_valid(text, strlen(text));
    vstring_free(&out);
    smtp_path_free(&path);
    myfree(text);
    return 0;
}
