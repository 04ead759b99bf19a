/* postalias - build and query alias databases; newaliases.
 *
 * SYNOPSIS
 *	postalias [-finorsvw] [-c config_dir] [-d key] [-q key] [type:]file...
 *	newaliases [-c config_dir]
 *
 * DESCRIPTION
 *	Compiles aliases(5) files ("name: value, value, ..."; white space
 *	at the start of a line continues the one before; '#' comments;
 *	a name with blanks may be written in double quotes) into FILE.lmdb
 *	next to the source, atomically (temporary file and rename). Names
 *	are folded to lower case unless -f.
 *
 *	Invoked as newaliases, rebuilds every table in alias_database
 *	(default hash:/etc/aliases).
 *
 *	Options are those of postmap(1); -s prints "name:<TAB>value".
 *
 * DIAGNOSTICS
 *	"postalias: fatal: open FILE: reason"; "FILE, line N: expected
 *	format: name: value" warnings for malformed lines. Exit status 0 on
 *	success, 1 on error or when a -q/-d key was not found.
 */
#include "sys_defs.h"

#include "mkmap_cmd.h"

/* main - see mkmap_cmd.c */
int     main(int argc, char **argv)
{
    return mkmap_cmd_main(argc, argv, true);
}
