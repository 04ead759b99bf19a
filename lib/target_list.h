/* target_list.h - the delivery target lists of aliases(5), .forward files
 * and :include: files.
 *
 * A list is split at commas and new lines that are outside double
 * quotes ("|cmd a, b" stays one target); a line whose first byte is '#'
 * is a comment; white space around a target, and one pair of double
 * quotes around a whole target, are removed; empty targets are dropped.
 * Inside quotes a backslash protects the next byte from ending the
 * quote. An unterminated quote runs to the end of the text.
 * Classification of the targets (|command, /file, :include:, \user,
 * address) is the caller's.
 *
 * Limits: none beyond memory; callers bound the input size.
 */
#ifndef TARGET_LIST_H
#define TARGET_LIST_H

#include "sys_defs.h"
#include "argv.h"

/* target_list_split - the targets of list (never NULL; free with argv_free) */
ARGV   *target_list_split(const char *list);

#endif
