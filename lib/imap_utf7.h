/* imap_utf7.h - modified UTF-7 (RFC 3501 section 5.1.3) for mailbox names.
 *
 * Encoding: printable US-ASCII 0x20-0x7e stands for itself except '&',
 * which becomes "&-"; any other character is UTF-16 (surrogate pairs for
 * code points above U+FFFF), base64 with ',' instead of '/', no padding,
 * between '&' and '-'.
 *
 * Both directions are strict: the decoder rejects what a conforming
 * encoder never produces (a shifted run of ASCII-printable characters,
 * "&" runs back to back, non-zero padding bits, bad surrogates, a missing
 * '-', bytes outside 0x20-0x7e), and the encoder rejects input that is
 * not valid UTF-8 (overlong forms, surrogates, > U+10FFFF). So decode(
 * encode(x)) == x and encode(decode(y)) == y for every accepted x, y.
 * Control characters (U+0000-U+001F, U+007F) are allowed by the coding
 * itself; mailbox-name validation is the caller's (mstore_name_to_dir).
 *
 * Results: 0 and the text appended to out; -1 on invalid input (out is
 * then left with an unspecified partial result). Never aborts on input.
 */
#ifndef IMAP_UTF7_H
#define IMAP_UTF7_H

#include "sys_defs.h"
#include "vstring.h"

/* imap_utf8_to_utf7 - append the modified UTF-7 form of len bytes of
 * UTF-8 to out */
int imap_utf8_to_utf7(const char *src, size_t len, VSTRING *out);

/* imap_utf7_to_utf8 - append the UTF-8 form of len bytes of modified
 * UTF-7 to out */
int imap_utf7_to_utf8(const char *src, size_t len, VSTRING *out);

/* imap_utf7_is_valid - 1 when src is valid modified UTF-7, else 0 */
int imap_utf7_is_valid(const char *src, size_t len);

/* imap_utf8_is_valid - 1 when src is valid UTF-8 (no overlong forms,
 * surrogates or code points above U+10FFFF), else 0 */
int imap_utf8_is_valid(const char *src, size_t len);

#endif
