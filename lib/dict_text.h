/* dict_text.h - the reader for text table sources.
 *
 * Reads the files postmap, postalias, texthash:, regexp: and cidr: take:
 * logical lines (a line starting with white space continues the one
 * before; blank lines and lines whose first non-blank is '#' are skipped;
 * a trailing CR is dropped), reported with the number of their first line.
 *
 * Formats:
 *   DICT_TEXT_MAP      "key whitespace value"            (postmap, texthash)
 *   DICT_TEXT_ALIASES  "name: value, value" / "\"na me\": value" (aliases(5))
 *   DICT_TEXT_LINES    the whole logical line in *key_r (regexp, cidr)
 *
 * Errors: a NUL byte, a key longer than DICT_KEY_MAX, a value (or line)
 * longer than DICT_VALUE_MAX, or a read error end the file: -1 with
 * "FILE, line N: reason" in *error_r. A malformed line (no value, no
 * colon) is skipped with a warning naming file and line, as Postfix does,
 * unless DICT_TEXT_STRICT is given, when it is an error.
 */
#ifndef DICT_TEXT_H
#define DICT_TEXT_H

#include "sys_defs.h"
#include <stdio.h>

#define DICT_TEXT_MAP		0
#define DICT_TEXT_ALIASES	1
#define DICT_TEXT_LINES		2
#define DICT_TEXT_STRICT	(1 << 8)	/* or'ed into format */

typedef struct dict_text DICT_TEXT;

/* dict_text_open - open path for reading; NULL with "open PATH: reason" */
DICT_TEXT *dict_text_open(const char *path, int format, const char **error_r);
/* dict_text_fdopen - read from an open stream (not closed by us); name
 * is used in messages */
DICT_TEXT *dict_text_fdopen(FILE *fp, const char *name, int format);
/* dict_text_next - 1 with the next entry (valid until the next call), 0 at
 * the end, -1 with *error_r */
int dict_text_next(DICT_TEXT *tp, const char **key_r, const char **value_r,
		           int *line_r, const char **error_r);
/* dict_text_name - the file name used in messages */
const char *dict_text_name(const DICT_TEXT *tp);
/* dict_text_close - close and free; NULLs the pointer */
void dict_text_close(DICT_TEXT **tpp);

#endif
