/* fuzz_config - main.cf text from a temp file through config_load, then
 * the same bytes as a value through config_expand.
 *
 * Contract checked: any input gives 0 or -1 with a message; no crash,
 * leak, hang or unbounded memory (sanitizers and libFuzzer limits).
 */
#include "sys_defs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "msg.h"
#include "mymalloc.h"
#include "vstring.h"

int     LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char fuzz_dir[] = "/tmp/fuzz_config.XXXXXX";
static char fuzz_path[200];

/* fuzz_cleanup - remove the private directory at exit */
static void fuzz_cleanup(void)
{
    unlink(fuzz_path);
    rmdir(fuzz_dir);
}

/* fuzz_config_init - private directory, once */
static void fuzz_config_init(void)
{
    msg_init("fuzz_config", MSG_TO_STDERR);
    if (mkdtemp(fuzz_dir) == NULL)
        msg_fatal("mkdtemp: %m");
    atexit(fuzz_cleanup);
    snprintf(fuzz_path, sizeof(fuzz_path), "%s/main.cf", fuzz_dir);
    config_set_dir(fuzz_dir);
}


int     LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool init;
    const char *err;
    FILE   *fp;
    char   *text;
    VSTRING *out;

    if (!init) {
        fuzz_config_init();
        init = true;
    }
    if ((fp = fopen(fuzz_path, "w")) == NULL)
        msg_fatal("create %s: %m", fuzz_path);
    if (size && fwrite(data, 1, size, fp) != size)
        msg_fatal("write %s: %m", fuzz_path);
    fclose(fp);
    if (config_load(CONFIG_FLAG_NO_WARN, &err) == 0) {
        (void) config_lookup("myhostname");
        (void) config_lookup("a");
    } else if (err == NULL || *err == 0) {
        msg_panic("config_load failed without a message");
    }
    text = mystrndup((const char *) data, size);
    out = vstring_alloc(100);
    (void) config_expand(out, text, &err);
    vstring_free(&out);
    myfree(text);
    return 0;
}
