/* dict_reader - stress reader for the table-rebuild test.
 *
 * Usage: dict_reader TYPE:NAME NKEYS SECONDS
 *
 * Looks up key0..key<NKEYS-1> over and over for SECONDS, calling
 * dict_refresh() between passes as a daemon does at a safe point. Every
 * value must be "g<GEN> key<I>" for the key asked, and one pass must see
 * one generation only (a table is replaced whole, never mixed). Prints
 * "passes=N refreshes=N generations=N" and exits 0, or prints the first
 * wrong or missing answer and exits 1.
 */
#include "sys_defs.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dict.h"
#include "msg.h"

/* main - the loop */
int     main(int argc, char **argv)
{
    const char *why, *value;
    DICT   *d;
    long    nkeys, passes = 0, refreshes = 0, generations = 0, last_gen = -1;
    time_t  end;
    char    key[64];

    msg_init("dict_reader", MSG_TO_STDERR);
    if (argc != 4)
	msg_fatal("usage: dict_reader type:name nkeys seconds");
    nkeys = atol(argv[2]);
    end = time(NULL) + atol(argv[3]);
    if ((d = dict_open(argv[1], O_RDONLY, DICT_FLAG_FOLD_FIX, &why)) == NULL)
	msg_fatal("%s", why);
    while (time(NULL) < end) {
	long    gen = -1;

	refreshes += dict_refresh();
	for (long i = 0; i < nkeys; i++) {
	    long    g;
	    int     used = 0;

	    snprintf(key, sizeof(key), "key%ld", i);
	    if (dict_lookup(d, key, 0, &value, &why) != DICT_FOUND) {
		printf("missing %s\n", key);
		return 1;
	    }
	    if (sscanf(value, "g%ld %n", &g, &used) != 1 || strcmp(value + used, key) != 0) {
		printf("wrong value for %s: %s\n", key, value);
		return 1;
	    }
	    if (gen >= 0 && g != gen) {
		printf("mixed generations in one pass: %ld and %ld\n", gen, g);
		return 1;
	    }
	    gen = g;
	}
	if (gen != last_gen)
	    generations++;
	last_gen = gen;
	passes++;
    }
    printf("passes=%ld refreshes=%ld generations=%ld\n", passes, refreshes, generations);
    dict_close(&d);
    return 0;
}
