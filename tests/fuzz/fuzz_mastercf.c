/* fuzz_mastercf - master.cf text from a temp file through mastercf_read.
 *
 * Contract checked: a table or NULL with a message; no crash, leak or
 * hang on any input.
 */
#include "sys_defs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mastercf.h"
#include "msg.h"

int     LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char fuzz_dir[] = "/tmp/fuzz_mastercf.XXXXXX";
static char fuzz_path[200];

/* fuzz_cleanup - remove the private directory at exit */
static void fuzz_cleanup(void)
{
    unlink(fuzz_path);
    rmdir(fuzz_dir);
}

int     LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool init;
    const char *err = NULL;
    MASTER_TABLE *mt;
    FILE   *fp;

    if (!init) {
        msg_init("fuzz_mastercf", MSG_TO_STDERR);
        if (mkdtemp(fuzz_dir) == NULL)
            msg_fatal("mkdtemp: %m");
        atexit(fuzz_cleanup);
        snprintf(fuzz_path, sizeof(fuzz_path), "%s/master.cf", fuzz_dir);
        init = true;
    }
    if ((fp = fopen(fuzz_path, "w")) == NULL)
        msg_fatal("create %s: %m", fuzz_path);
    if (size && fwrite(data, 1, size, fp) != size)
        msg_fatal("write %s: %m", fuzz_path);
    fclose(fp);
    if ((mt = mastercf_read_flags(fuzz_path, MASTERCF_FLAG_QUIET, &err)) != NULL) {
        for (size_t i = 0; i < mt->count; i++)
            (void) mastercf_find(mt, mt->entries[i]->name, mt->entries[i]->type);
        mastercf_free(&mt);
    } else if (err == NULL || *err == 0) {
        msg_panic("mastercf_read failed without a message");
    }
    return 0;
}
