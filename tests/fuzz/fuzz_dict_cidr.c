/* fuzz_dict_cidr - cidr: table files: parse, then look a few keys up.
 * Any input must give a table or a clean error, never a crash or leak. */
#include "sys_defs.h"

#include <fcntl.h>
#include <string.h>

#include "dict.h"
#include "msg.h"
#include "vstring.h"
#include "fuzz_memfile.h"

int     LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* LLVMFuzzerTestOneInput - one file */
int     LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *keys[] = {"user@example.com", "127.0.0.1", "::1", "::ffff:10.0.0.1",
	"2001:db8::1", "", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!", "192.0.2.255", "x"};
    static VSTRING *spec;
    const char *why, *value;
    DICT   *d;

    msg_init("fuzz", 0);
    if (spec == NULL)
	spec = vstring_alloc(64);
    vstring_fmt(spec, "cidr:%s", fuzz_memfile(data, size));
    if ((d = dict_open(STR(spec), O_RDONLY, DICT_FLAG_FOLD_FIX, &why)) == NULL)
	return 0;
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
	(void) dict_lookup(d, keys[i], 0, &value, &why);
    dict_close(&d);
    return 0;
}
