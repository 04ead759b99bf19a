/* fuzz_dns - the DNS reply parser over arbitrary bytes, for every record
 * type the suite asks for; each accepted record must have terminated text
 * fields of sane length.
 */
#include "sys_defs.h"

#include <stdlib.h>
#include <string.h>

#include "dns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* LLVMFuzzerTestOneInput - parse data as a reply */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const int types[] = {DNS_T_A, DNS_T_AAAA, DNS_T_MX, DNS_T_TXT, DNS_T_PTR, DNS_T_TLSA};

    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
	DNS_RR *list = NULL;
	int rc = dns_parse(data, size, types[i], &list);

	if ((rc == DNS_OK) != (list != NULL))
	    abort();
	for (DNS_RR *rr = list; rr; rr = rr->next)
	    if (strlen(rr->name) > DNS_NAME_MAX || rr->type != types[i]
		|| (rr->type == DNS_T_TLSA && (rr->data == NULL || rr->data_len + 3 > size)))
		abort();
	dns_rr_free(&list);
    }
    return 0;
}
