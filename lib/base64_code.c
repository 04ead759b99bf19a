/* base64_code - RFC 4648 base64 encoder and strict decoder.
 *
 * Contract: see base64_code.h. Limits: the output obeys the VSTRING's own
 * limit (a capped VSTRING gets overflow set; callers check it).
 */
#include "sys_defs.h"

#include <string.h>

#include "base64_code.h"

static const char base64_chars[] =
"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* base64_encode - append the encoding of len bytes */
VSTRING *base64_encode(VSTRING *out, const void *data, size_t len)
{
    const unsigned char *p = data;
    size_t i;

    for (i = 0; i + 3 <= len; i += 3) {
        unsigned v = (unsigned) p[i] << 16 | (unsigned) p[i + 1] << 8 | p[i + 2];

        vstring_addch(out, base64_chars[v >> 18]);
        vstring_addch(out, base64_chars[(v >> 12) & 63]);
        vstring_addch(out, base64_chars[(v >> 6) & 63]);
        vstring_addch(out, base64_chars[v & 63]);
    }
    if (len - i == 1) {
        unsigned v = (unsigned) p[i] << 16;

        vstring_addch(out, base64_chars[v >> 18]);
        vstring_addch(out, base64_chars[(v >> 12) & 63]);
        vstring_cat(out, "==");
    } else if (len - i == 2) {
        unsigned v = (unsigned) p[i] << 16 | (unsigned) p[i + 1] << 8;

        vstring_addch(out, base64_chars[v >> 18]);
        vstring_addch(out, base64_chars[(v >> 12) & 63]);
        vstring_addch(out, base64_chars[(v >> 6) & 63]);
        vstring_addch(out, '=');
    }
    return out;
}

/* base64_value - the 6-bit value of one character, or -1 */
static int base64_value(unsigned char ch)
{
    if (ch >= 'A' && ch <= 'Z')
        return ch - 'A';
    if (ch >= 'a' && ch <= 'z')
        return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9')
        return ch - '0' + 52;
    if (ch == '+')
        return 62;
    if (ch == '/')
        return 63;
    return -1;
}

/* base64_decode - strict decoding into out */
int base64_decode(VSTRING *out, const char *text, size_t len)
{
    const unsigned char *p = (const unsigned char *) text;

    vstring_reset(out);
    if (len % 4 != 0)
        return -1;
    for (size_t i = 0; i < len; i += 4) {
        int v[4];
        int pad = 0;

        for (int k = 0; k < 4; k++) {
            if (p[i + k] == '=' && i + 4 == len && k >= 2) {
                v[k] = 0;
                pad++;
            } else if (pad > 0 || (v[k] = base64_value(p[i + k])) < 0) {
                return -1;
            }
        }
        unsigned w = (unsigned) v[0] << 18 | (unsigned) v[1] << 12
            | (unsigned) v[2] << 6 | (unsigned) v[3];

        vstring_addch(out, (int) (w >> 16));
        if (pad < 2)
            vstring_addch(out, (int) ((w >> 8) & 255));
        if (pad < 1)
            vstring_addch(out, (int) (w & 255));
    }
    return 0;
}
