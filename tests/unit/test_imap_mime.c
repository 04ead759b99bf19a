/* test_imap_mime - ENVELOPE, BODYSTRUCTURE and sections against expected
 * text written by hand from RFC 3501, plus hostile structures. */
#include "sys_defs.h"

#include <string.h>

#include "imap_mime.h"
#include "msg.h"
#include "mymalloc.h"
#include "unit.h"
#include "vstring.h"

static const char simple[] =
    "Date: Mon, 7 Feb 1994 21:52:25 -0800\n"
    "From: Fred Foobar <foobar@Blurdybloop.example>\n"
    "Subject: afternoon meeting\n"
    "To: mooch@owatagu.example, \"Joe Q. Public\" <joe@x.example>\n"
    "Cc: Undisclosed: ;\n"
    "Message-Id: <B27397-0100000@Blurdybloop.example>\n"
    "MIME-Version: 1.0\n"
    "Content-Type: TEXT/PLAIN; CHARSET=US-ASCII\n"
    "\n"
    "Hello Joe, do you think we can meet at 3:30 tomorrow?\n";

static const char multi[] =
    "From: a@b.example\n"
    "Subject: =?utf-8?q?x?=\n"
    "Content-Type: multipart/mixed; boundary=\"XX\"\n"
    "\n"
    "preamble\n"
    "--XX\n"
    "Content-Type: text/plain; charset=utf-8\n"
    "Content-Transfer-Encoding: quoted-printable\n"
    "\n"
    "line1\n"
    "line2\n"
    "--XX\n"
    "Content-Type: multipart/alternative; boundary=YY\n"
    "\n"
    "--YY\n"
    "\n"
    "plain\n"
    "--YY\n"
    "Content-Type: text/html\n"
    "\n"
    "<b>x</b>\n"
    "--YY--\n"
    "--XX\n"
    "Content-Type: message/rfc822\n"
    "Content-Disposition: attachment; filename=\"m.eml\"\n"
    "\n"
    "From: c@d.example\n"
    "Subject: inner\n"
    "\n"
    "inner body\n"
    "--XX--\n"
    "epilogue\n";

/* bs - BODYSTRUCTURE or BODY as a C string */
static char *bs(const char *msg, size_t len, bool ext)
{
    IMAP_MIME_PART *p = imap_mime_parse(msg, len);
    VSTRING *out = vstring_alloc(100);

    imap_mime_bodystructure(out, p, msg, ext);
    imap_mime_free(&p);
    CHECK(p == NULL);
    return vstring_export(&out);
}

/* section - BODY[spec] as a C string */
static char *section(const char *msg, const char *spec)
{
    IMAP_MIME_PART *p = imap_mime_parse(msg, strlen(msg));
    VSTRING *out = vstring_alloc(100);
    IMAP_SECTION sec;
    const char *err = NULL;

    if (imap_section_parse(spec, strlen(spec), &sec, &err) != 0)
	vstring_fmt(out, "ERR %s", err);
    else
	imap_section_get(out, p, msg, &sec);
    imap_section_free(&sec);
    imap_mime_free(&p);
    return vstring_export(&out);
}

TEST(test_envelope)
{
    VSTRING *out = vstring_alloc(100);
    IMAP_MIME_PART *p = imap_mime_parse(simple, sizeof(simple) - 1);

    imap_mime_envelope(out, simple + p->hdr_off, p->hdr_len);
    CHECK_STR(STR(out),
	      "(\"Mon, 7 Feb 1994 21:52:25 -0800\" \"afternoon meeting\" "
	      "((\"Fred Foobar\" NIL \"foobar\" \"Blurdybloop.example\")) "
	      "((\"Fred Foobar\" NIL \"foobar\" \"Blurdybloop.example\")) "
	      "((\"Fred Foobar\" NIL \"foobar\" \"Blurdybloop.example\")) "
	      "((NIL NIL \"mooch\" \"owatagu.example\")(\"Joe Q. Public\" NIL \"joe\" \"x.example\")) "
	      "((NIL NIL \"Undisclosed\" NIL)(NIL NIL NIL NIL)) NIL NIL "
	      "\"<B27397-0100000@Blurdybloop.example>\")");
    imap_mime_free(&p);

    /* hostile and odd address fields */
    static const char *const hdrs[][2] = {
	{"To: \n", "NIL"},
	{"To: <@r1,@r2:u@h>\n", "((NIL \"@r1,@r2\" \"u\" \"h\"))"},
	{"To: \"a b\"@h (comment)\n", "((NIL NIL \"\\\"a b\\\"\" \"h\"))"},
	{"To: user\n", "((NIL NIL \"user\" \"MISSING_DOMAIN\"))"},
	{"To: <<<>>>,,,@@@;;;\n", "NIL"},
	{"To: G: a@b, c@d;, e@f\n",
	 "((NIL NIL \"G\" NIL)(NIL NIL \"a\" \"b\")(NIL NIL \"c\" \"d\")(NIL NIL NIL NIL)"
	 "(NIL NIL \"e\" \"f\"))"},
	{"To: G: a@b\n", "((NIL NIL \"G\" NIL)(NIL NIL \"a\" \"b\")(NIL NIL NIL NIL))"},
	{"To: \"unterminated <a@b>\n", "((NIL NIL \"\\\"unterminated <a@b>\" \"MISSING_DOMAIN\"))"},
	{"To: x@[127.0.0.1]\n", "((NIL NIL \"x\" \"[127.0.0.1]\"))"},
	{"To: ((((((( a@b\n", "NIL"},
	{"To: x]y@z\n", "((NIL NIL \"x\" \"MISSING_DOMAIN\")(NIL NIL \"y\" \"z\"))"},
	{"To: a@b,\n\tc@d\n", "((NIL NIL \"a\" \"b\")(NIL NIL \"c\" \"d\"))"},
    };

    for (size_t i = 0; i < PH_ARRAY_LEN(hdrs); i++) {
	const char *h = hdrs[i][0];
	char   *want;
	VSTRING *w = vstring_alloc(100);

	vstring_reset(out);
	imap_mime_envelope(out, h, strlen(h));
	vstring_fmt(w, "(NIL NIL NIL NIL NIL %s NIL NIL NIL NIL)", hdrs[i][1]);
	want = STR(w);
	if (strcmp(STR(out), want) != 0)
	    UNIT_FAIL("case %zu: got %s, want %s", i, STR(out), want);
	vstring_free(&w);
    }
    /* a subject with a CRLF fold and 8-bit text */
    vstring_reset(out);
    imap_mime_envelope(out, "Subject: a\r\n b \"q\"\r\n", 21);
    CHECK_STR(STR(out), "(NIL \"a b \\\"q\\\"\" NIL NIL NIL NIL NIL NIL NIL NIL)");
    vstring_reset(out);
    imap_mime_envelope(out, "Subject: \xc3\xa4\n", 12);
    CHECK_STR(STR(out), "(NIL {2}\r\n\xc3\xa4 NIL NIL NIL NIL NIL NIL NIL NIL)");
    vstring_free(&out);
}

TEST(test_bodystructure)
{
    char   *got = bs(simple, sizeof(simple) - 1, true);

    /* body: 54 bytes + CR = 55, 1 line */
    CHECK_STR(got, "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7bit\" 55 1 NIL NIL NIL NIL)");
    myfree(got);
    got = bs(simple, sizeof(simple) - 1, false);
    CHECK_STR(got, "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7bit\" 55 1)");
    myfree(got);

    got = bs(multi, sizeof(multi) - 1, true);
    CHECK_STR(got,
	      "((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"quoted-printable\" 12 2 NIL NIL NIL NIL)"
	      "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 5 1 NIL NIL NIL NIL)"
	      "(\"text\" \"html\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 8 1 NIL NIL NIL NIL)"
	      " \"alternative\" (\"boundary\" \"YY\") NIL NIL NIL)"
	      "(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 47 "
	      "(NIL \"inner\" ((NIL NIL \"c\" \"d.example\")) ((NIL NIL \"c\" \"d.example\")) "
	      "((NIL NIL \"c\" \"d.example\")) NIL NIL NIL NIL NIL) "
	      "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 10 1 NIL NIL NIL NIL) 4 "
	      "NIL (\"attachment\" (\"filename\" \"m.eml\")) NIL NIL)"
	      " \"mixed\" (\"boundary\" \"XX\") NIL NIL NIL)");
    myfree(got);

    /* multipart without its boundary: text/plain; no header at all */
    got = bs("Content-Type: multipart/mixed; boundary=Q\n\nno parts\n", 52, false);
    CHECK_STR(got, "(\"text\" \"plain\" (\"boundary\" \"Q\") NIL NIL \"7bit\" 10 1)");
    myfree(got);
    got = bs("", 0, false);
    CHECK_STR(got, "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0)");
    myfree(got);
    got = bs("just text\n", 10, false);
    CHECK_STR(got, "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 11 1)");
    myfree(got);
}

TEST(test_deep_nesting)
{
    VSTRING *m = vstring_alloc(1000);
    char   *got;

    for (int i = 0; i < 100; i++)
	vstring_fmt_append(m, "Content-Type: multipart/mixed; boundary=b%d\n\n--b%d\n", i, i);
    vstring_cat(m, "\nleaf\n");
    got = bs(STR(m), LEN(m), true);
    CHECK(strstr(got, "application") != NULL);
    myfree(got);
    /* message/rfc822 inside message/rfc822 ... */
    vstring_reset(m);
    for (int i = 0; i < 100; i++)
	vstring_cat(m, "Content-Type: message/rfc822\n\n");
    got = bs(STR(m), LEN(m), true);
    CHECK(strstr(got, "\"application\" \"octet-stream\"") != NULL);
    myfree(got);
    /* many parts: bounded */
    vstring_set(m, "Content-Type: multipart/mixed; boundary=z\n\n");
    for (int i = 0; i < 5000; i++)
	vstring_cat(m, "--z\n\n");
    got = bs(STR(m), LEN(m), false);
    size_t  n = 0;

    for (const char *p = got; (p = strstr(p, "\"text\"")) != NULL; p++)
	n++;
    CHECK(n < IMAP_MIME_MAX_PARTS);
    CHECK(n > 1000);
    myfree(got);
    vstring_free(&m);
}

TEST(test_sections)
{
    char   *got;
    static const char *const cases[][2] = {
	{"TEXT", "Hello Joe, do you think we can meet at 3:30 tomorrow?\r\n"},
	{"1", "Hello Joe, do you think we can meet at 3:30 tomorrow?\r\n"},
	{"HEADER.FIELDS (subject FROM)",
	 "From: Fred Foobar <foobar@Blurdybloop.example>\r\nSubject: afternoon meeting\r\n\r\n"},
	{"HEADER.FIELDS.NOT (Date From To Cc Message-Id MIME-Version Content-Type)",
	 "Subject: afternoon meeting\r\n\r\n"},
	{"header.fields (X-None)", "\r\n"},
	{"2", ""},
	{"1.HEADER", ""},
	{"HEADER.FIELDS", "ERR Missing header field list"},
	{"HEADER.FIELDS ()", "ERR Invalid header field list"},
	{"HEADER.FIELDS (a:b)", "ERR Invalid header field name"},
	{"HEADER.FIELDS ((a))", "ERR Too deep nesting"},
	{"0", "ERR Invalid section number"},
	{"1.", "ERR Invalid section"},
	{"MIME", "ERR Invalid section"},
	{"1..2", "ERR Invalid section"},
	{"99999999999", "ERR Invalid section number"},
	{"FOO", "ERR Invalid section"},
    };

    for (size_t i = 0; i < PH_ARRAY_LEN(cases); i++) {
	got = section(simple, cases[i][0]);
	if (strcmp(got, cases[i][1]) != 0)
	    UNIT_FAIL("case %zu %s: got \"%s\"", i, cases[i][0], got);
	myfree(got);
    }
    got = section(simple, "HEADER");
    CHECK_INT(strlen(got), 300 + 9);
    CHECK(strncmp(got, "Date: Mon", 9) == 0);
    CHECK(strcmp(got + strlen(got) - 4, "\r\n\r\n") == 0);
    myfree(got);
    got = section(simple, "");
    CHECK_INT(strlen(got), sizeof(simple) - 1 + 10);
    myfree(got);

    static const char *const mcases[][2] = {
	{"1", "line1\r\nline2"},
	{"1.MIME",
	 "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"},
	{"2.1", "plain"},
	{"2.2", "<b>x</b>"},
	{"2.2.MIME", "Content-Type: text/html\r\n\r\n"},
	{"2.3", ""},
	{"3", "From: c@d.example\r\nSubject: inner\r\n\r\ninner body"},
	{"3.HEADER", "From: c@d.example\r\nSubject: inner\r\n\r\n"},
	{"3.HEADER.FIELDS (Subject)", "Subject: inner\r\n\r\n"},
	{"3.TEXT", "inner body"},
	{"3.1", "inner body"},
	{"3.1.1", ""},
	{"4", ""},
	{"1.1", ""},
	{"2.HEADER", ""},
    };

    for (size_t i = 0; i < PH_ARRAY_LEN(mcases); i++) {
	got = section(multi, mcases[i][0]);
	if (strcmp(got, mcases[i][1]) != 0)
	    UNIT_FAIL("multi case %zu %s: got \"%s\"", i, mcases[i][0], got);
	myfree(got);
    }

    /* normalized names */
    IMAP_SECTION sec;
    const char *err;
    VSTRING *out = vstring_alloc(10);

    CHECK_INT(imap_section_parse("1.2.header.fields.not (From \"X-y\")", 34, &sec, &err), 0);
    imap_section_name(out, &sec);
    CHECK_STR(STR(out), "1.2.HEADER.FIELDS.NOT (\"From\" \"X-y\")");
    imap_section_free(&sec);
    CHECK_INT(imap_section_parse("HEADER.FIELDS (X y)", 19, &sec, &err), 0);
    CHECK_INT(sec.fields->argc, 2);
    imap_section_free(&sec);
    vstring_free(&out);
}

TEST(test_crlf)
{
    VSTRING *out = vstring_alloc(10);

    imap_mime_crlf(out, "a\nb\r\nc\n\n", 8);
    CHECK_STR(STR(out), "a\r\nb\r\nc\r\n\r\n");
    CHECK_INT(imap_mime_crlf_size("a\nb\r\nc\n\n", 8), 11);
    CHECK_INT(imap_mime_crlf_size("", 0), 0);
    vstring_free(&out);
}

/* Header values read back from an ENVELOPE and the address record equal
 * imap_mime_header_get's; damaged blobs are refused, never overread. */
TEST(test_cached_fields)
{
    static const char hdr[] =
	"Date: Mon, 1 Jan 2024 00:00:00 +0000\n"
	"Subject: =?utf-8?q?caf=C3=A9?= \"quoted\" back\\slash\n"
	"  folded\n"
	"From: \"A (x)\" <a@b.example> (comment)\n"
	"Cc:\n"
	"Message-ID: <\xc3\xa9@x>\n"
	"\n";
    VSTRING *env = vstring_alloc(100), *rec = vstring_alloc(100);
    VSTRING *v = vstring_alloc(10), *w = vstring_alloc(10);
    size_t  hlen = strlen(hdr);

    imap_mime_envelope(env, hdr, hlen);
    CHECK_INT(imap_mime_envelope_get(STR(env), LEN(env), 1, v), 1);
    imap_mime_header_get(hdr, hlen, "Subject", w);
    CHECK_STR(STR(v), STR(w));
    CHECK_INT(imap_mime_envelope_get(STR(env), LEN(env), 0, v), 1);
    CHECK_STR(STR(v), "Mon, 1 Jan 2024 00:00:00 +0000");
    /* 8-bit: a literal in the envelope */
    CHECK_INT(imap_mime_envelope_get(STR(env), LEN(env), 9, v), 1);
    CHECK_STR(STR(v), "<\xc3\xa9@x>");
    CHECK_INT(imap_mime_envelope_get(STR(env), LEN(env), 8, v), 0);
    CHECK_INT(imap_mime_envelope_get(STR(env), LEN(env), 2, v), -1);	/* a list */
    CHECK_INT(imap_mime_envelope_get(STR(env), LEN(env), 10, v), -1);
    /* every truncation of the envelope: no overread (ASan), no crash */
    for (size_t n = 0; n < LEN(env); n++) {
	char   *copy = mymemdup(STR(env), n);

	(void) imap_mime_envelope_get(copy, n, 1, v);
	(void) imap_mime_envelope_get(copy, n, 9, v);
	myfree(copy);
    }
    CHECK_INT(imap_mime_envelope_get("(NIL", 4, 1, v), -1);
    CHECK_INT(imap_mime_envelope_get("({99}\r\nab", 9, 1, v), -1);
    CHECK_INT(imap_mime_envelope_get("(\"a", 3, 0, v), -1);

    imap_mime_addr_fields(rec, hdr, hlen);
    CHECK_INT(imap_mime_addr_field_get(STR(rec), LEN(rec), "from", v), 1);
    imap_mime_header_get(hdr, hlen, "From", w);
    CHECK_STR(STR(v), STR(w));
    CHECK_INT(imap_mime_addr_field_get(STR(rec), LEN(rec), "CC", v), 1);
    CHECK_STR(STR(v), "");
    CHECK_INT(imap_mime_addr_field_get(STR(rec), LEN(rec), "To", v), 0);
    CHECK_INT(imap_mime_addr_field_get(STR(rec), LEN(rec), "Bcc", v), 0);
    CHECK_INT(imap_mime_addr_field_get(STR(rec), LEN(rec), "Subject", v), -1);
    for (size_t n = 0; n < LEN(rec); n++) {
	char   *copy = mymemdup(STR(rec), n);

	(void) imap_mime_addr_field_get(copy, n, "Bcc", v);
	myfree(copy);
    }
    CHECK_INT(imap_mime_addr_field_get("\2", 1, "From", v), -1);
    CHECK_INT(imap_mime_addr_field_get("\1\0\0\1", 4, "From", v), -1);
    vstring_free(&env);
    vstring_free(&rec);
    vstring_free(&v);
    vstring_free(&w);
}

/* main - run the tests */
int     main(void)
{
    msg_init("test_imap_mime", MSG_TO_STDERR);
    RUN(test_envelope);
    RUN(test_bodystructure);
    RUN(test_deep_nesting);
    RUN(test_sections);
    RUN(test_crlf);
    RUN(test_cached_fields);
    return unit_done();
}
