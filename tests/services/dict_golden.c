/* dict_golden - driver for the lookup-order golden test.
 *
 * Reads commands from standard input, one per line, echoes each and
 * prints the result, so tests/golden/NAME.in -> output is compared with
 * tests/golden/NAME.ref:
 *
 *	set NAME [VALUE]	recipient_delimiter, mydestination
 *	maps TABLE, ...		a new table list (maps_create)
 *	find STRATEGY ADDRESS	mail_addr_find; STRATEGY is virtual, access
 *				or access-pdms
 *	lookup KEY		maps_find
 *	# comment, blank	copied
 */
#include "sys_defs.h"

#include <stdio.h>
#include <string.h>

#include "config.h"
#include "mail_addr_find.h"
#include "maps.h"
#include "msg.h"
#include "mymalloc.h"

/* main - run the commands */
int     main(void)
{
    char    line[4096];
    MAPS   *maps = NULL;
    char   *delim = mystrdup(""), *dest = mystrdup("");

    msg_init("dict_golden", MSG_TO_STDERR);
    var_recipient_delimiter = delim;
    var_mydestination = dest;
    while (fgets(line, sizeof(line), stdin)) {
	char   *cmd = line, *arg;
	const char *value, *key, *why;
	int     st;

	line[strcspn(line, "\n")] = 0;
	printf("%s\n", line);
	if (*line == 0 || *line == '#')
	    continue;
	arg = strchr(cmd, ' ');
	if (arg)
	    *arg++ = 0;
	else
	    arg = cmd + strlen(cmd);
	if (strcmp(cmd, "set") == 0) {
	    char   *val = strchr(arg, ' ');

	    if (val)
		*val++ = 0;
	    else
		val = arg + strlen(arg);
	    if (strcmp(arg, "recipient_delimiter") == 0) {
		myfree(delim);
		var_recipient_delimiter = delim = mystrdup(val);
	    } else if (strcmp(arg, "mydestination") == 0) {
		myfree(dest);
		var_mydestination = dest = mystrdup(val);
	    } else {
		printf("  unknown parameter\n");
	    }
	} else if (strcmp(cmd, "maps") == 0) {
	    maps_free(&maps);
	    maps = maps_create("golden", arg, 0);
	} else if (strcmp(cmd, "find") == 0 || strcmp(cmd, "lookup") == 0) {
	    if (maps == NULL) {
		printf("  no maps\n");
		continue;
	    }
	    if (strcmp(cmd, "lookup") == 0) {
		key = arg;
		st = maps_find(maps, arg, 0, &value, &why);
	    } else {
		char   *addr = strchr(arg, ' ');
		int     strategy;

		if (addr)
		    *addr++ = 0;
		else
		    addr = arg + strlen(arg);
		strategy = strcmp(arg, "virtual") == 0 ? MA_FIND_VIRTUAL
		    : strcmp(arg, "access") == 0 ? MA_FIND_ACCESS
		    : strcmp(arg, "access-pdms") == 0 ? MA_FIND_ACCESS | MA_FIND_PDMS : 0;
		st = mail_addr_find(maps, addr, strategy, &value, &key, &why);
	    }
	    if (st == DICT_FOUND)
		printf("  found \"%s\" (key %s)\n", value, key);
	    else if (st == DICT_NOTFOUND)
		printf("  not found\n");
	    else
		printf("  error: %s\n", why);
	} else {
	    printf("  unknown command\n");
	}
    }
    maps_free(&maps);
    myfree(delim);
    myfree(dest);
    return 0;
}
