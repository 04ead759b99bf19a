/* fuzz_login_split - the root parent's parse of the pre-login child's
 * hand-over report (login_split_parse_report) over arbitrary bytes.
 *
 * The input is the report as the parent reads it from the socketpair:
 * one line (at most 1024 bytes, as login_split reads it), then the
 * leftover bytes it announces, then whatever the client sends next. An
 * accepted report must hold what the parent relies on (7 non-empty
 * fields, a 32-hex cookie, an id in 1..2^32-1, leftover at most 1 MiB);
 * the leftover is then replayed through login_split_feed ahead of a
 * memfd standing for the client socket, and the bytes read back must be
 * leftover + the rest, in order.
 */
#include "sys_defs.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth_client.h"
#include "login_split.h"
#include "msg.h"
#include "mymalloc.h"
#include "stream.h"
#include "vstring.h"
#include "fuzz_memfile.h"

int     LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int     LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool init;
    const char *text = (const char *) data;
    const char *nl = memchr(text, '\n', size < 1025 ? size : 1025);
    LOGIN_HANDOVER *h;
    const char *err;
    VSTRING *line;
    size_t  pos, rest_len, got = 0;
    VSTRING *back;
    STREAM *sp;
    char    buf[512];
    int     fd;

    if (!init) {
	msg_init("fuzz_login_split", MSG_TO_STDERR);
	init = true;
    }
    if (nl == NULL)
	return 0;
    line = vstring_alloc(128);
    vstring_catn(line, text, (size_t) (nl - text));
    vstring_chomp(line);
    h = login_split_parse_report(STR(line), &err);
    vstring_free(&line);
    if (h == NULL) {
	if (err == NULL || *err == 0)
	    abort();
	return 0;
    }
    if (*h->tag == 0 || *h->user == 0 || *h->mech == 0 || strchr(h->tag, '\t')
	|| strchr(h->user, '\t') || strchr(h->mech, '\t') || !auth_client_cookie_ok(h->cookie)
	|| h->auth_id == 0 || h->left_len > 1024 * 1024 || h->left_pos != 0 || h->pid != 0)
	abort();
    pos = (size_t) (nl - text) + 1;
    if (size - pos >= h->left_len) {
	memcpy(h->left, text + pos, h->left_len);
	pos += h->left_len;
    } else {
	h->left_len = 0;			/* short read: nothing replayed */
    }
    rest_len = size - pos;
    if ((fd = open(fuzz_memfile(data + pos, rest_len), O_RDONLY)) < 0)
	abort();
    sp = stream_fdopen(fd, true);
    login_split_feed(sp, h);
    back = vstring_alloc(h->left_len + rest_len + 1);
    for (;;) {
	ssize_t n = stream_read_some(sp, buf, sizeof(buf));

	if (n <= 0)
	    break;
	vstring_catn(back, buf, (size_t) n);
	got += (size_t) n;
    }
    if (got != h->left_len + rest_len || memcmp(STR(back), h->left, h->left_len) != 0
	|| memcmp(STR(back) + h->left_len, data + pos, rest_len) != 0)
	abort();
    stream_close(&sp);
    vstring_free(&back);
    login_split_handover_free(&h);
    return 0;
}
