/* fuzz_cleanup_rcpt - virtual alias expansion of arbitrary addresses (as
 * smtpd would pass them) against a fixed table with recursion, loops,
 * catch-alls and extensions: no crash, no leak, the result list is
 * nonempty on success, bounded, and free of (case-insensitive)
 * duplicates. */
#include "sys_defs.h"

#include <string.h>
#include <strings.h>

#include "argv.h"
#include "cleanup_rcpt.h"
#include "config.h"
#include "msg.h"
#include "mymalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static CLEANUP_RCPT *fuzz_cr;

/* LLVMFuzzerTestOneInput - one input */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ARGV   *out;
    const char *err;
    char   *addr;
    int     rc;

    if (fuzz_cr == NULL) {
	msg_init("fuzz_cleanup_rcpt", 0);
	var_recipient_delimiter = "+-";
	var_mydestination = "localhost, v.example";
	var_virtual_alias_recursion_limit = 20;
	var_virtual_alias_expansion_limit = 50;
	fuzz_cr = cleanup_rcpt_create("inline:{ a@v.example=b@v.example, "
				      "b@v.example=c@x.example, c@x.example=a@v.example, "
				      "@w.example=@x.example, d=d@v.example, "
				      "e@v.example=e+tag@y.example }");
    }
    if (size > 2048)
	return 0;
    addr = mystrndup((const char *) data, size);
    out = argv_alloc(4);
    rc = cleanup_rcpt_expand(fuzz_cr, addr, out, &err);
    if (rc == CLEANUP_RCPT_OK && (out->argc < 1 || out->argc > 50))
	__builtin_trap();
    if (rc != CLEANUP_RCPT_OK && (err == NULL || *err == 0))
	__builtin_trap();
    for (int i = 0; i < out->argc; i++)
	for (int j = i + 1; j < out->argc; j++)
	    if (strcasecmp(out->argv[i], out->argv[j]) == 0)
		__builtin_trap();
    argv_free(&out);
    myfree(addr);
    return 0;
}
