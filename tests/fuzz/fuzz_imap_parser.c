/* fuzz_imap_parser - IMAP command assembly and tokenizing over arbitrary
 * bytes, fed in chunks whose size comes from the first input byte: no
 * crash, no leak, consumption always progresses, results well formed. */
#include "sys_defs.h"

#include <string.h>

#include "imap_parser.h"
#include "msg.h"
#include "vstring.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* walk - touch every argument (and check the tree's shape) */
static void walk(const IMAP_ARG *args, size_t count, unsigned depth)
{
    if (depth > 8)
	__builtin_trap();
    for (size_t i = 0; i < count; i++) {
	if (args[i].type == IMAP_ARG_LIST)
	    walk(args[i].list, args[i].len, depth + 1);
	else if (args[i].str == NULL || strlen(args[i].str) != args[i].len)
	    __builtin_trap();
    }
}

/* LLVMFuzzerTestOneInput - one input */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    IMAP_PARSER_LIMITS lim = {.max_line = 512, .max_literal = 256, .max_literal_total = 512,
	.max_depth = 8, .max_args = 64};
    IMAP_PARSER *p;
    size_t  chunk, pos = 1;
    const char *err;
    IMAP_ARGS *a;

    if (size == 0)
	return 0;
    chunk = (data[0] & 15) + 1;
    p = imap_parser_create(&lim);
    if (data[0] & 16)
	imap_parser_set_line_mode(p, true);
    while (pos < size) {
	size_t  n = size - pos < chunk ? size - pos : chunk, used = 0;
	int     r = imap_parser_feed(p, (const char *) data + pos, n, &used);

	if (used > n || (used == 0 && r == IMAP_PARSE_MORE))
	    __builtin_trap();
	pos += used;
	if (r == IMAP_PARSE_DONE) {
	    const IMAP_CMD *cmd = imap_parser_cmd(p);

	    if (cmd->line == NULL)
		walk(cmd->args, cmd->count, 0);
	    imap_parser_reset(p);
	} else if (r == IMAP_PARSE_ERROR) {
	    if (imap_parser_error(p) == NULL)
		__builtin_trap();
	    imap_parser_reset(p);
	} else if (r == IMAP_PARSE_FATAL)
	    break;
    }
    imap_parser_free(&p);
    a = imap_parse_args((const char *) data + 1, size - 1, 8, 64, &err);
    if (a) {
	size_t  count;
	const IMAP_ARG *l = imap_args_list(a, &count);

	walk(l, count, 0);
	imap_args_free(&a);
    }
    return 0;
}
