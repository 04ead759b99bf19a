/* fuzz_mstore_names - IMAP folder names <-> Maildir++ directory names.
 *
 * Properties: no crash; a name that maps to a directory maps back to a
 * name that maps to the same directory (so listing and selecting agree);
 * the directory never contains '/', never starts with "..", and is "" only
 * for INBOX. Both separators are tried. The first byte picks the
 * direction. */
#include "sys_defs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "msg.h"
#include "mstore.h"
#include "mymalloc.h"
#include "vstring.h"

int     LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static MSTORE *stores[2];
static char scratch[128];

/* fuzz_cleanup - remove the scratch Maildirs at exit */
static void fuzz_cleanup(void)
{
    char    cmd[200];

    snprintf(cmd, sizeof(cmd), "rm -rf %s", scratch);
    if (scratch[0])
	(void) !system(cmd);
}

/* fuzz_store - one storage per separator in a scratch directory */
static MSTORE *fuzz_store(int which)
{
    static char loc[2][128];

    if (stores[which] == NULL) {
	MSTORE_SETTINGS set;
	const char *why;

	if (scratch[0] == 0) {
	    snprintf(scratch, sizeof(scratch), "/tmp/fuzz_mstore_names.%ld", (long) getpid());
	    atexit(fuzz_cleanup);
	}
	snprintf(loc[which], sizeof(loc[which]), "maildir:%s/%d/Maildir", scratch, which);
	set.location = loc[which];
	set.home = "/tmp";
	set.separator = which ? '/' : '.';
	set.quota = "";
	if ((stores[which] = mstore_open(&set, &why)) == NULL)
	    msg_fatal("%s", why);
    }
    return stores[which];
}

/* LLVMFuzzerTestOneInput - one name */
int     LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    VSTRING *dir = vstring_alloc(64), *name = vstring_alloc(64), *dir2 = vstring_alloc(64);
    const char *why;
    char   *text;

    msg_init("fuzz", 0);
    if (size < 1 || memchr(data, 0, size)) {
	vstring_free(&dir);
	vstring_free(&name);
	vstring_free(&dir2);
	return 0;
    }
    text = mystrndup((const char *) data + 1, size - 1);
    MSTORE *s = fuzz_store(data[0] & 1);

    if (data[0] & 2) {
	/* Directory name -> folder name -> the same directory name. */
	if (mstore_dir_to_name(s, text, name) == 0
	    && (mstore_name_to_dir(s, STR(name), dir2, &why) != 0 || strcmp(STR(dir2), text) != 0))
	    abort();
    } else if (mstore_name_to_dir(s, text, dir, &why) == 0) {
	if (strchr(STR(dir), '/') || strncmp(STR(dir), "..", 2) == 0
	    || (LEN(dir) == 0 && strcasecmp(text, "INBOX") != 0))
	    abort();
	if (mstore_dir_to_name(s, STR(dir), name) != 0
	    || mstore_name_to_dir(s, STR(name), dir2, &why) != 0
	    || strcmp(STR(dir), STR(dir2)) != 0)
	    abort();
    }
    myfree(text);
    vstring_free(&dir);
    vstring_free(&name);
    vstring_free(&dir2);
    return 0;
}
