/* fuzz_addr822 - address-list extraction and (un)quoting over arbitrary
 * bytes: no crash, no leak, bounded output. */
#include "sys_defs.h"

#include <string.h>

#include "addr822.h"
#include "argv.h"
#include "msg.h"
#include "vstring.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* LLVMFuzzerTestOneInput - one input */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ARGV   *av = argv_alloc(8);
    VSTRING *q = vstring_alloc(64), *u = vstring_alloc(64);
    int     skipped;
    int     n = addr822_parse_list(av, (const char *) data, size, 50, &skipped);

    if (n != av->argc || n > 50)
	__builtin_trap();
    for (int i = 0; i < av->argc; i++) {
	if (strlen(av->argv[i]) > ADDR822_MAX_LEN)
	    __builtin_trap();
	addr822_quote(q, av->argv[i]);
	addr822_unquote(u, STR(q));
	/* quote then unquote gives back the internal form */
	if (strcmp(STR(u), av->argv[i]) != 0 && strchr(av->argv[i], '"') == NULL)
	    __builtin_trap();
    }
    vstring_free(&q);
    vstring_free(&u);
    argv_free(&av);
    return 0;
}
