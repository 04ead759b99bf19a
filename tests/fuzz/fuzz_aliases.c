/* fuzz_aliases - aliases(5) and postmap source text through the table
 * reader, and texthash: over the same bytes. */
#include "sys_defs.h"

#include <fcntl.h>
#include <string.h>

#include "dict.h"
#include "dict_text.h"
#include "msg.h"
#include "vstring.h"
#include "fuzz_memfile.h"

int     LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* LLVMFuzzerTestOneInput - one source file */
int     LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static VSTRING *spec;
    const char *path, *key, *value, *why;
    int     line;
    DICT_TEXT *tp;
    DICT   *d;

    msg_init("fuzz", 0);
    if (spec == NULL)
	spec = vstring_alloc(64);
    path = fuzz_memfile(data, size);
    for (int format = DICT_TEXT_MAP; format <= DICT_TEXT_LINES; format++) {
	if ((tp = dict_text_open(path, format, &why)) == NULL)
	    return 0;
	while (dict_text_next(tp, &key, &value, &line, &why) > 0)
	    if (format != DICT_TEXT_LINES && (strlen(key) > DICT_KEY_MAX || strlen(value) > DICT_VALUE_MAX))
		abort();
	dict_text_close(&tp);
    }
    vstring_fmt(spec, "texthash:%s", path);
    if ((d = dict_open(STR(spec), O_RDONLY, DICT_FLAG_FOLD_FIX, &why)) != NULL) {
	(void) dict_lookup(d, "postmaster", 0, &value, &why);
	dict_close(&d);
    }
    return 0;
}
