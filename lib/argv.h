/* argv.h - NULL-terminated arrays of owned strings.
 *
 * argv->argv[argv->argc] is always NULL, so the array can go to execv().
 */
#ifndef ARGV_H
#define ARGV_H

#include "sys_defs.h"

typedef struct argv {
    char  **argv;
    int     argc;
    int     size;
} ARGV;

/* argv_alloc - empty array */
ARGV   *argv_alloc(int init);
/* argv_free - release the array and its strings; NULLs the caller's pointer */
void argv_free(ARGV **app);
/* argv_add - append copies of strings, list ends with NULL */
void argv_add(ARGV *ap, ...);
/* argv_addn - append a copy of len bytes */
void argv_addn(ARGV *ap, const char *str, size_t len);
/* argv_split - split str at any of the delimiter bytes, dropping empty fields */
ARGV   *argv_split(const char *str, const char *delim);
/* argv_split_list - Postfix list syntax: split at white space and commas */
ARGV   *argv_split_list(const char *str);
/* argv_truncate - keep the first n elements */
void argv_truncate(ARGV *ap, int n);
/* argv_join - the elements joined by sep (caller frees) */
char   *argv_join(const ARGV *ap, const char *sep);

#endif
