/* fuzz_pop3_proto - the POP3 command parser, UIDL format checker and the
 * RETR encoder on arbitrary bytes: no crash, no overrun, and the
 * encoder's promises: no line of the output starts with a single '.'
 * except the terminator, every LF is preceded by CR, and the output ends
 * with CRLF.CRLF. */
#include "sys_defs.h"

#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "pop3_proto.h"
#include "vstring.h"

int     LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* check_wire - the encoder's output invariants */
static void check_wire(const VSTRING *out)
{
    const char *p = STR(out), *end = p + LEN(out);
    bool    bol = true;

    if (LEN(out) < 3 || memcmp(end - 3, ".\r\n", 3) != 0)
	abort();
    if (LEN(out) > 3 && memcmp(end - 5, "\r\n.\r\n", 5) != 0)
	abort();
    for (; p < end - 3; p++) {
	if (bol && *p == '.' && (p + 1 >= end - 3 || p[1] != '.'))
	    abort();
	if (bol && *p == '.')
	    p++;			/* the stuffed pair */
	if (*p == '\n' && (p == STR(out) || p[-1] != '\r'))
	    abort();
	bol = *p == '\n';
    }
}

/* LLVMFuzzerTestOneInput - one input, every consumer */
int     LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static POP3_CMD cmd;
    VSTRING *out = vstring_alloc(256);
    char   *text = malloc(size + 1);
    const char *err;
    POP3_ENC enc;

    msg_init("fuzz", 0);
    memcpy(text, data, size);
    text[size] = 0;
    if (pop3_cmd_parse(text, size, &cmd, &err) == 0) {
	if (cmd.argc > POP3_ARGS_MAX || strlen(cmd.verb) == 0)
	    abort();
	for (int i = 0; i < cmd.argc; i++)
	    (void) pop3_number(cmd.args[i], 1000, true);
    }
    if (pop3_uidl_check(text, &err) == 0) {
	pop3_uidl_expand(out, text, 0xffffffffu, 0xffffffffu);
	if (LEN(out) > 70)
	    abort();
    }
    vstring_reset(out);
    pop3_enc_init(&enc, size > 0 ? (long) (data[0] % 4) - 1 : -1);
    for (size_t i = 0; i < size; i += 5)
	if (!pop3_enc_feed(&enc, out, text + i, size - i < 5 ? size - i : 5))
	    break;
    pop3_enc_finish(&enc, out);
    check_wire(out);
    free(text);
    vstring_free(&out);
    return 0;
}
