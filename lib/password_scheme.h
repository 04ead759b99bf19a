/* password_scheme.h - Dovecot-style "{SCHEME}data" password hashes.
 *
 * Schemes: PLAIN and CLEAR (clear text), CRYPT (any crypt(3) hash the
 * system library knows: $1$ $5$ $6$ $2y$ $y$ ...), MD5-CRYPT,
 * SHA256-CRYPT, SHA512-CRYPT, BLF-CRYPT, YESCRYPT (crypt(3) with the
 * matching prefix), SHA256 / SHA512 (unsalted, base64) and SSHA256 /
 * SSHA512 (salted: base64(digest || salt)). Scheme names are
 * case-insensitive. Comparisons are constant-time.
 *
 * Errors (unknown scheme, malformed hash) are returned through error_r,
 * never logged here; nothing here aborts on input.
 */
#ifndef PASSWORD_SCHEME_H
#define PASSWORD_SCHEME_H

#include "sys_defs.h"
#include "vstring.h"

#define PASSWORD_MATCH     1
#define PASSWORD_MISMATCH  0
#define PASSWORD_ERROR    (-1)

/* password_verify - check plain against stored ("{SCHEME}data", or bare
 * data in default_scheme). PASSWORD_MATCH, PASSWORD_MISMATCH, or
 * PASSWORD_ERROR with *error_r (unknown scheme, malformed hash). */
int password_verify(const char *plain, const char *stored, const char *default_scheme,
                    const char **error_r);

/* password_generate - append "{SCHEME}hash" of plain to out; 0, or -1 with
 * *error_r (unknown scheme, or one the crypt library lacks) */
int password_generate(VSTRING *out, const char *plain, const char *scheme,
                      const char **error_r);

/* password_scheme_split - find "{SCHEME}" at the start of stored: copies
 * the upper-cased scheme (or default_scheme) into scheme and returns a
 * pointer to the data, or NULL for an unterminated "{" */
const char *password_scheme_split(const char *stored, const char *default_scheme,
                                  VSTRING *scheme);

/* password_scheme_known - true when verify supports the scheme */
bool password_scheme_known(const char *scheme);

/* password_memeq - constant-time equality of two byte strings of the
 * same length (false when lengths differ) */
bool password_memeq(const void *a, size_t alen, const void *b, size_t blen);

#endif
