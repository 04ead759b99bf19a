/* postmap - build and query Posthorn lookup tables.
 *
 * SYNOPSIS
 *	postmap [-finorsvw] [-c config_dir] [-d key] [-q key] [type:]file...
 *
 * DESCRIPTION
 *	Without -q, -s or -d, compiles each text file ("key whitespace
 *	value" lines; white space at the start of a line continues the one
 *	before; '#' comments) into FILE.lmdb. The type may be lmdb:, hash:
 *	or btree: (all the same LMDB format); the default is lmdb:. The
 *	new table is written to a temporary file and renamed into place, so
 *	a running daemon never sees a half-built table. Keys are folded to
 *	lower case unless -f. A duplicate key is a warning that names both
 *	lines; the later entry wins.
 *
 *	-c dir	 read main.cf in dir
 *	-d key	 delete key from each table (- : keys from standard input);
 *		 exit 1 when no key was found
 *	-f	 do not fold keys to lower case
 *	-i	 incremental: add "key value" lines from standard input
 *	-o	 as root, do not give the table the source file's owner
 *	-q key	 print the value of key, searching the tables in order
 *		 (any type: regexp:, cidr:, texthash:, inline:{...}, ...);
 *		 exit 1 when not found. "-q -" reads keys from standard input
 *		 and prints "key<TAB>value" lines.
 *	-r	 duplicates: the later entry wins, no warning
 *	-s	 print every "key<TAB>value" of each table
 *	-w	 duplicates: the first entry wins, no warning
 *	-N, -n, -p, -b, -h, -m, -u, -U, -x, -F, -P are accepted and ignored.
 *
 * DIAGNOSTICS
 *	"postmap: fatal: open FILE: reason", "FILE, line N: reason";
 *	exit status 0 on success, 1 on error or when a key was not found.
 */
#include "sys_defs.h"

#include "mkmap_cmd.h"

/* main - see mkmap_cmd.c */
int     main(int argc, char **argv)
{
    return mkmap_cmd_main(argc, argv, false);
}
