/* fuzz_resolve - resolve_addr over arbitrary addresses.
 *
 * The input (NUL bytes cut it short, as a C string would) is resolved with
 * a fixed configuration. Invariants: the class is one of the five, and a
 * result that is not flagged ROUTED or ERROR and is remote (relay or
 * default class) has a recipient whose domain is not one of ours: no
 * input may smuggle a remote destination past relay control.
 */
#include "sys_defs.h"

#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "msg.h"
#include "mymalloc.h"
#include "resolve.h"
#include "vstring.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

static RESOLVE_REPLY *fuzz_reply;

/* fuzz_init - configuration once */
static void fuzz_init(void)
{
    const char *error;

    msg_init("fuzz_resolve", MSG_TO_STDERR);
    config_set_dir("/nonexistent");
    config_override("myhostname", "mail.example.com");
    config_override("mydomain", "example.com");
    config_override("mydestination", "$myhostname, localhost, example.com");
    config_override("inet_interfaces", "127.0.0.1");
    config_override("relay_domains", "relay.example");
    config_override("virtual_alias_maps", "");
    config_override("virtual_mailbox_maps", "");
    if (config_load(CONFIG_FLAG_NO_WARN | CONFIG_FLAG_NO_FILE_OK, &error) < 0)
        msg_fatal("%s", error);
    fuzz_reply = resolve_reply_alloc();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    char *addr;

    if (fuzz_reply == NULL)
        fuzz_init();
    addr = mystrndup((const char *) data, len);
    int class = resolve_addr(addr, fuzz_reply);

    if (class < RESOLVE_CLASS_LOCAL || class > RESOLVE_CLASS_DEFAULT)
        abort();
    if ((class == RESOLVE_CLASS_DEFAULT || class == RESOLVE_CLASS_RELAY)
        && !(fuzz_reply->flags & (RESOLVE_FLAG_ROUTED | RESOLVE_FLAG_ERROR))
        && resolve_local_domain(STR(fuzz_reply->domain)) > 0)
        abort();
    myfree(addr);
    return 0;
}
