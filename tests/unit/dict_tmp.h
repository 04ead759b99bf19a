/* dict_tmp.h - helpers for the lookup-table unit tests: temp files and
 * one-call lookups. */
#ifndef DICT_TMP_H
#define DICT_TMP_H

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dict.h"

static char dict_tmp_dir[64];

/* dict_tmp_path - a path in this test's private directory */
static inline const char *dict_tmp_path(const char *name)
{
    static char buf[64][256];		/* a ring: paths stay valid for 64 calls */
    static int n;
    char   *p = buf[n++ % 64];

    if (dict_tmp_dir[0] == 0) {
	snprintf(dict_tmp_dir, sizeof(dict_tmp_dir), "/tmp/ph-dict-XXXXXX");
	if (mkdtemp(dict_tmp_dir) == NULL)
	    abort();
    }
    snprintf(p, 256, "%s/%s", dict_tmp_dir, name);
    return p;
}

/* dict_tmp_write - write len bytes to name; returns the path */
static inline const char *dict_tmp_write(const char *name, const char *data, size_t len)
{
    const char *path = dict_tmp_path(name);
    FILE   *fp = fopen(path, "w");

    if (fp == NULL || fwrite(data, 1, len, fp) != len || fclose(fp) != 0)
	abort();
    return path;
}
#define dict_tmp_text(name, text) dict_tmp_write((name), (text), strlen(text))

/* dict_tmp_cleanup - remove the directory */
static inline void dict_tmp_cleanup(void)
{
    char    cmd[128];

    if (dict_tmp_dir[0]) {
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dict_tmp_dir);
	if (system(cmd) != 0)
	    fprintf(stderr, "cleanup failed\n");
    }
}

/* dict_tmp_get - lookup result as a string: the value, "<notfound>" or
 * "<error>" */
static inline const char *dict_tmp_get(DICT *d, const char *key)
{
    const char *value, *why;
    int     st = dict_lookup(d, key, 0, &value, &why);

    return st == DICT_FOUND ? value : st == DICT_NOTFOUND ? "<notfound>" : "<error>";
}

/* dict_tmp_open_err - open spec expecting failure; returns the error text
 * (or "<opened>") */
static inline const char *dict_tmp_open_err(const char *spec)
{
    const char *why;
    DICT   *d = dict_open(spec, O_RDONLY, DICT_FLAG_FOLD_FIX, &why);

    if (d) {
	dict_close(&d);
	return "<opened>";
    }
    return why;
}

#endif
