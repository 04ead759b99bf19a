/* fuzz_target_list - alias/.forward/:include: target lists and
 * forward_path templates (the two parsers local applies to files that
 * users write). */
#include "sys_defs.h"

#include <stdlib.h>
#include <string.h>

#include "argv.h"
#include "msg.h"
#include "mymalloc.h"
#include "path_expand.h"
#include "target_list.h"
#include "vstring.h"

int     LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* fuzz_lookup - a few defined names, the rest undefined */
static const char *fuzz_lookup(const char *name, size_t len, void *ctx)
{
    (void) ctx;
    if (len == 4 && memcmp(name, "home", 4) == 0)
	return "/home/u";
    if (len == 9 && memcmp(name, "extension", 9) == 0)
	return "ext";
    return NULL;
}

/* LLVMFuzzerTestOneInput - one input for both parsers */
int     LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char   *text = mystrndup((const char *) data, size);
    VSTRING *out = vstring_alloc(64);
    ARGV   *av;

    msg_init("fuzz", 0);
    av = target_list_split(text);
    for (int i = 0; i < av->argc; i++)
	if (av->argv[i][0] == 0 || strlen(av->argv[i]) > size)
	    abort();
    argv_free(&av);
    (void) path_expand(out, text, fuzz_lookup, NULL);
    if (LEN(out) > PATH_EXPAND_MAX + 16)
	abort();
    vstring_free(&out);
    myfree(text);
    return 0;
}
