/* base64_code.h - RFC 4648 base64 (standard alphabet, with padding).
 *
 * Encoding never fails. Decoding is strict: only the standard alphabet,
 * length a multiple of 4, '=' only as final padding; anything else is
 * rejected (-1) so a SASL response cannot smuggle bytes past a parser.
 */
#ifndef BASE64_CODE_H
#define BASE64_CODE_H

#include "sys_defs.h"
#include "vstring.h"

/* base64_encode - append the encoding of len bytes to out */
VSTRING *base64_encode(VSTRING *out, const void *data, size_t len);
/* base64_decode - replace out with the decoding of len chars; 0 or -1 */
int base64_decode(VSTRING *out, const char *text, size_t len);

#endif
