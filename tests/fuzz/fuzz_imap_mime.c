/* fuzz_imap_mime - message structure over arbitrary bytes: parse,
 * BODYSTRUCTURE, BODY, ENVELOPE, the cached ENVELOPE / address field
 * readers over the raw input, and a section whose spec is the input's
 * first line: no crash, no leak, output bounded by the input. */
#include "sys_defs.h"

#include <string.h>

#include "imap_mime.h"
#include "msg.h"
#include "vstring.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* LLVMFuzzerTestOneInput - one input */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *msg = (const char *) data;
    const char *nl = memchr(msg, '\n', size);
    size_t  speclen = nl ? (size_t) (nl - msg) : 0;
    IMAP_MIME_PART *root = imap_mime_parse(msg, size);
    VSTRING *out = vstring_alloc(256);
    IMAP_SECTION sec = {.nparts = 0};
    const char *err;

    imap_mime_bodystructure(out, root, msg, true);
    vstring_reset(out);
    imap_mime_bodystructure(out, root, msg, false);
    vstring_reset(out);
    imap_mime_envelope(out, msg + root->hdr_off, root->hdr_len);
    {
	VSTRING *v = vstring_alloc(32);

	/* the cached-field readers over the input itself (hostile blobs) */
	for (int i = 0; i <= 9; i++)
	    (void) imap_mime_envelope_get(msg, size, i, v);
	(void) imap_mime_addr_field_get(msg, size, "Bcc", v);
	vstring_reset(out);
	imap_mime_addr_fields(out, msg + root->hdr_off, root->hdr_len);
	vstring_free(&v);
    }
    if (speclen < 200 && imap_section_parse(msg, speclen, &sec, &err) == 0) {
	vstring_reset(out);
	imap_section_get(out, root, msg, &sec);
	if (LEN(out) > 2 * size + 4)
	    __builtin_trap();
	vstring_reset(out);
	imap_section_name(out, &sec);
    }
    imap_section_free(&sec);
    vstring_free(&out);
    imap_mime_free(&root);
    return 0;
}
