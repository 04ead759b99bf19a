/* dict_bench - lookup-table build and lookup speed.
 *
 * Usage:
 *	dict_bench [N [LOOKUPS]]	  make an N-entry source (default
 *					  1,000,000), compile it, time random lookups
 *	dict_bench gen FILE N		  write the N-entry source only
 *	dict_bench build FILE		  compile FILE (like postmap), timed
 *	dict_bench lookup SPEC N LOOKUPS  random lookups in an existing table
 *	dict_bench keys N LOOKUPS	  print LOOKUPS random keys (for postmap -q -)
 *
 * Keys are "userI@dI%1000.example", values "relay:[mxI.example]:25".
 * Every lookup must find its value; a miss is a failure (exit 1).
 * Output lines are "build: N entries in S s (R entries/s)" and
 * "lookup: N lookups in S s (R lookups/s)".
 */
#include "sys_defs.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dict.h"
#include "mkmap.h"
#include "msg.h"

/* now - monotonic seconds */
static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* bench_gen - write the source */
static void bench_gen(const char *path, long n)
{
    FILE   *fp = fopen(path, "w");

    if (fp == NULL)
	msg_fatal("open %s: %m", path);
    for (long i = 0; i < n; i++)
	fprintf(fp, "user%ld@d%ld.example relay:[mx%ld.example]:25\n", i, i % 1000, i);
    if (fclose(fp) != 0)
	msg_fatal("write %s: %m", path);
}

/* bench_build - compile, timed */
static void bench_build(const char *path)
{
    const char *why;
    double  t0 = now(), dt;
    long    lines = 0;
    FILE   *fp = fopen(path, "r");
    int     ch;

    if (fp == NULL)
	msg_fatal("open %s: %m", path);
    while ((ch = getc_unlocked(fp)) != EOF)
	lines += (ch == '\n');
    fclose(fp);
    t0 = now();
    if (mkmap_build(path, NULL, MKMAP_FLAG_DUP_REPLACE, &why) < 0)
	msg_fatal("%s", why);
    dt = now() - t0;
    printf("build: %ld entries in %.3f s (%.0f entries/s)\n", lines, dt, (double) lines / dt);
}

/* bench_rand - xorshift, seeded */
static unsigned long bench_rand(void)
{
    static unsigned long x = 88172645463325252UL;

    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
}

/* bench_lookup - random lookups, timed */
static int bench_lookup(const char *spec, long n, long count)
{
    const char *why, *value;
    DICT   *d = dict_open(spec, O_RDONLY, DICT_FLAG_FOLD_FIX, &why);
    char    key[100], want[100];
    double  t0, dt;
    long    bad = 0;

    if (d == NULL)
	msg_fatal("%s", why);
    t0 = now();
    for (long j = 0; j < count; j++) {
	long    i = (long) (bench_rand() % (unsigned long) n);

	snprintf(key, sizeof(key), "user%ld@d%ld.example", i, i % 1000);
	if (dict_lookup(d, key, 0, &value, &why) != DICT_FOUND) {
	    bad++;
	    continue;
	}
	snprintf(want, sizeof(want), "relay:[mx%ld.example]:25", i);
	bad += strcmp(value, want) != 0;
    }
    dt = now() - t0;
    printf("lookup: %ld lookups in %.3f s (%.0f lookups/s)\n", count, dt, (double) count / dt);
    dict_close(&d);
    if (bad)
	printf("lookup: %ld wrong or missing answers\n", bad);
    return bad ? 1 : 0;
}

/* main - dispatch */
int     main(int argc, char **argv)
{
    msg_init("dict_bench", MSG_TO_STDERR);
    if (argc >= 2 && strcmp(argv[1], "gen") == 0 && argc == 4) {
	bench_gen(argv[2], atol(argv[3]));
	return 0;
    }
    if (argc >= 2 && strcmp(argv[1], "build") == 0 && argc == 3) {
	bench_build(argv[2]);
	return 0;
    }
    if (argc >= 2 && strcmp(argv[1], "lookup") == 0 && argc == 5)
	return bench_lookup(argv[2], atol(argv[3]), atol(argv[4]));
    if (argc >= 2 && strcmp(argv[1], "keys") == 0 && argc == 4) {
	long    n = atol(argv[2]), count = atol(argv[3]);

	for (long j = 0; j < count; j++) {
	    long    i = (long) (bench_rand() % (unsigned long) n);

	    printf("user%ld@d%ld.example\n", i, i % 1000);
	}
	return 0;
    }
    if (argc > 3 || (argc >= 2 && atol(argv[1]) <= 0))
	msg_fatal("usage: dict_bench [N [LOOKUPS]] | gen FILE N | build FILE | "
		  "lookup SPEC N LOOKUPS | keys N LOOKUPS");
    {
	long    n = argc >= 2 ? atol(argv[1]) : 1000000;
	long    count = argc >= 3 ? atol(argv[2]) : 1000000;
	char    dir[] = "/tmp/dict_bench.XXXXXX", path[100], spec[120], cmd[200];
	int     rc;

	if (mkdtemp(dir) == NULL)
	    msg_fatal("mkdtemp: %m");
	snprintf(path, sizeof(path), "%s/table", dir);
	snprintf(spec, sizeof(spec), "lmdb:%s", path);
	bench_gen(path, n);
	bench_build(path);
	rc = bench_lookup(spec, n, count);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
	    msg_warn("cleanup of %s failed", dir);
	return rc;
    }
}
