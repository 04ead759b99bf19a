/* fuzz_tls_protocols - tls_protocols_parse over arbitrary text.
 *
 * The input (NUL-terminated copy) is a protocol list in Postfix syntax.
 * Checks the contract: either -1 with an error text, or 0 with
 * TLS_PROTO_SSLv2 <= min <= max <= TLS_PROTO_TLSv1_3; and that the result
 * does not depend on letter case (names are case-insensitive).
 */
#include "sys_defs.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "mymalloc.h"
#include "tls.h"

int     LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

/* LLVMFuzzerTestOneInput - one protocol list */
int     LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    char   *spec = mystrndup((const char *) data, len);
    char   *upper = mystrdup(spec);
    int     min = -1, max = -1, min2 = -1, max2 = -1;
    const char *err = NULL;
    int     rc = tls_protocols_parse(spec, &min, &max, &err);

    if (rc == 0) {
	if (min < TLS_PROTO_SSLv2 || max > TLS_PROTO_TLSv1_3 || min > max)
	    abort();
    } else if (rc != -1 || err == NULL || *err == 0) {
	abort();
    }
    for (char *cp = upper; *cp; cp++)
	*cp = (char) toupper((unsigned char) *cp);
    if (tls_protocols_parse(upper, &min2, &max2, &err) != rc
	|| (rc == 0 && (min2 != min || max2 != max)))
	abort();
    myfree(upper);
    myfree(spec);
    return 0;
}
