/* fuzz_inline - inline:{...} and static:{...} table text, and the
 * brace-aware list splitter used for *_maps parameters. */
#include "sys_defs.h"

#include <fcntl.h>
#include <string.h>

#include "argv.h"
#include "dict.h"
#include "maps.h"
#include "msg.h"
#include "mymalloc.h"

int     LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* LLVMFuzzerTestOneInput - one table text */
int     LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char   *text, *spec;
    const char *why, *value, *k;
    DICT   *d;
    ARGV   *av;

    msg_init("fuzz", 0);
    if (memchr(data, 0, size))
	return 0;				/* parameter values are C strings */
    text = mystrndup((const char *) data, size);
    spec = mymalloc(size + 8);
    memcpy(spec, "inline:", 7);
    memcpy(spec + 7, text, size + 1);
    if ((d = dict_open(spec, O_RDONLY, DICT_FLAG_FOLD_FIX, &why)) != NULL) {
	(void) dict_lookup(d, "key", 0, &value, &why);
	for (int st = dict_sequence(d, DICT_SEQ_FIRST, &k, &value, &why); st == DICT_FOUND;
	     st = dict_sequence(d, DICT_SEQ_NEXT, &k, &value, &why))
	     /* void */ ;
	dict_close(&d);
    }
    memcpy(spec, "static:", 7);
    if ((d = dict_open(spec, O_RDONLY, 0, &why)) != NULL)
	dict_close(&d);
    av = maps_split_list(text);
    argv_free(&av);
    myfree(spec);
    myfree(text);
    return 0;
}
