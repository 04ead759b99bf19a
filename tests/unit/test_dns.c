/* test_dns - the DNS reply parser (hand-made packets, hostile ones too),
 * MX ordering, and the server address syntax. Live lookups are covered by
 * tests/integration/test_smtp.py against a loopback dnsmasq.
 */
#include "sys_defs.h"

#include <string.h>

#include "dns.h"
#include "msg.h"
#include "vstring.h"
#include "unit.h"

typedef struct {
    unsigned char b[1024];
    size_t  n;
} PKT;

/* put - append bytes */
static void put(PKT *p, const void *data, size_t len)
{
    memcpy(p->b + p->n, data, len);
    p->n += len;
}

/* put16 - append a big-endian short */
static void put16(PKT *p, unsigned v)
{
    unsigned char x[2] = {(unsigned char) (v >> 8), (unsigned char) v};

    put(p, x, 2);
}

/* header - id, flags with rcode, counts */
static void header(PKT *p, unsigned rcode, unsigned qd, unsigned an)
{
    memset(p->b, 0, sizeof(p->b));
    p->n = 0;
    put16(p, 0x1234);
    put16(p, 0x8180 | rcode);
    put16(p, qd);
    put16(p, an);
    put16(p, 0);
    put16(p, 0);
}

/* question - "example.com" MX at offset 12 */
static void question(PKT *p, unsigned type)
{
    put(p, "\7example\3com\0", 13);
    put16(p, type);
    put16(p, 1);
}

/* rr_head - a record owned by the question's name (pointer to 12) */
static void rr_head(PKT *p, unsigned type, unsigned rdlen)
{
    put16(p, 0xc00c);
    put16(p, type);
    put16(p, 1);
    put16(p, 0);
    put16(p, 300);
    put16(p, rdlen);
}

TEST(test_mx_compressed)
{
    PKT p;
    DNS_RR *list, *rr;

    header(&p, 0, 1, 2);
    question(&p, DNS_T_MX);
    rr_head(&p, DNS_T_MX, 8);
    put16(&p, 20);
    put(&p, "\3mx2\xc0\x0c", 6);
    rr_head(&p, DNS_T_MX, 8);
    put16(&p, 10);
    put(&p, "\3mx1\xc0\x0c", 6);
    CHECK_INT(dns_parse(p.b, p.n, DNS_T_MX, &list), DNS_OK);
    CHECK_INT(dns_rr_count(list), 2);
    list = dns_mx_sort(list);
    CHECK_STR(list->name, "mx1.example.com");
    CHECK_INT(list->pref, 10);
    rr = list->next;
    CHECK_STR(rr->name, "mx2.example.com");
    CHECK_INT(rr->ttl, 300);
    dns_rr_free(&list);
    CHECK(list == NULL);
}

TEST(test_null_mx)
{
    PKT p;
    DNS_RR *list;

    header(&p, 0, 1, 1);
    question(&p, DNS_T_MX);
    rr_head(&p, DNS_T_MX, 3);
    put16(&p, 0);
    put(&p, "\0", 1);
    CHECK_INT(dns_parse(p.b, p.n, DNS_T_MX, &list), DNS_OK);
    CHECK_STR(list->name, ".");
    CHECK_INT(list->pref, 0);
    dns_rr_free(&list);
}

TEST(test_a_aaaa)
{
    PKT p;
    DNS_RR *list;
    VSTRING *buf = vstring_alloc(10);

    header(&p, 0, 1, 2);
    question(&p, DNS_T_A);
    rr_head(&p, DNS_T_A, 4);
    put(&p, "\x7f\0\0\x02", 4);
    rr_head(&p, DNS_T_AAAA, 16);	/* other type: skipped */
    put(&p, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\1", 16);
    CHECK_INT(dns_parse(p.b, p.n, DNS_T_A, &list), DNS_OK);
    CHECK_INT(dns_rr_count(list), 1);
    CHECK_STR(dns_rr_addr_text(list, buf), "127.0.0.2");
    dns_rr_free(&list);
    CHECK_INT(dns_parse(p.b, p.n, DNS_T_AAAA, &list), DNS_OK);
    CHECK_STR(dns_rr_addr_text(list, buf), "::1");
    dns_rr_free(&list);
    CHECK_INT(dns_parse(p.b, p.n, DNS_T_MX, &list), DNS_NODATA);
    CHECK(list == NULL);
    vstring_free(&buf);
}

TEST(test_rcodes)
{
    PKT p;
    DNS_RR *list;

    header(&p, 3, 1, 0);
    question(&p, DNS_T_MX);
    CHECK_INT(dns_parse(p.b, p.n, DNS_T_MX, &list), DNS_NOTFOUND);
    header(&p, 2, 1, 0);
    question(&p, DNS_T_MX);
    CHECK_INT(dns_parse(p.b, p.n, DNS_T_MX, &list), DNS_RETRY);
    header(&p, 5, 1, 0);
    CHECK_INT(dns_parse(p.b, p.n, DNS_T_MX, &list), DNS_RETRY);
    header(&p, 4, 1, 0);
    CHECK_INT(dns_parse(p.b, p.n, DNS_T_MX, &list), DNS_FAIL);
    header(&p, 0, 1, 0);
    question(&p, DNS_T_MX);
    CHECK_INT(dns_parse(p.b, p.n, DNS_T_MX, &list), DNS_NODATA);
    CHECK_INT(dns_parse(p.b, 5, DNS_T_MX, &list), DNS_RETRY);
}

TEST(test_hostile)
{
    PKT p;
    DNS_RR *list;

    /* Pointer loop in the answer name. */
    header(&p, 0, 1, 1);
    question(&p, DNS_T_MX);
    put16(&p, 0xc000 | (unsigned) p.n);	/* points at itself */
    CHECK_INT(dns_parse(p.b, p.n + 10, DNS_T_MX, &list), DNS_RETRY);
    /* Forward pointer. */
    header(&p, 0, 1, 1);
    question(&p, DNS_T_MX);
    put16(&p, 0xc000 | 200);
    put16(&p, DNS_T_MX);
    CHECK_INT(dns_parse(p.b, 400, DNS_T_MX, &list), DNS_RETRY);
    /* rdlen beyond the packet. */
    header(&p, 0, 1, 1);
    question(&p, DNS_T_MX);
    rr_head(&p, DNS_T_MX, 200);
    put16(&p, 1);
    CHECK_INT(dns_parse(p.b, p.n, DNS_T_MX, &list), DNS_RETRY);
    /* An A record of the wrong size. */
    header(&p, 0, 1, 1);
    question(&p, DNS_T_A);
    rr_head(&p, DNS_T_A, 3);
    put(&p, "\1\2\3", 3);
    CHECK_INT(dns_parse(p.b, p.n, DNS_T_A, &list), DNS_RETRY);
    /* MX target with a label running past rdata. */
    header(&p, 0, 1, 1);
    question(&p, DNS_T_MX);
    rr_head(&p, DNS_T_MX, 4);
    put16(&p, 1);
    put(&p, "\x30x", 2);
    CHECK_INT(dns_parse(p.b, p.n, DNS_T_MX, &list), DNS_RETRY);
    /* MX target with odd bytes: skipped, no data left. */
    header(&p, 0, 1, 1);
    question(&p, DNS_T_MX);
    rr_head(&p, DNS_T_MX, 7);
    put16(&p, 1);
    put(&p, "\3a\nb\0", 5);
    CHECK_INT(dns_parse(p.b, p.n, DNS_T_MX, &list), DNS_NODATA);
    /* Counts promising more than there is. */
    header(&p, 0, 1, 60000);
    question(&p, DNS_T_MX);
    CHECK_INT(dns_parse(p.b, p.n, DNS_T_MX, &list), DNS_RETRY);
    /* Reserved label bits. */
    header(&p, 0, 1, 0);
    put(&p, "\x45", 1);
    CHECK_INT(dns_parse(p.b, p.n, DNS_T_MX, &list), DNS_RETRY);
}

TEST(test_mx_sort_random)
{
    DNS_RR rr[4];
    int first_b = 0, first_c = 0;

    for (int round = 0; round < 200; round++) {
	DNS_RR *head;

	memset(rr, 0, sizeof(rr));
	ph_strlcpy(rr[0].name, "c", sizeof(rr[0].name));
	rr[0].pref = 10;
	ph_strlcpy(rr[1].name, "a", sizeof(rr[1].name));
	rr[1].pref = 5;
	ph_strlcpy(rr[2].name, "b", sizeof(rr[2].name));
	rr[2].pref = 10;
	ph_strlcpy(rr[3].name, "d", sizeof(rr[3].name));
	rr[3].pref = 20;
	for (int i = 0; i < 3; i++)
	    rr[i].next = &rr[i + 1];
	head = dns_mx_sort(rr);
	CHECK_STR(head->name, "a");
	CHECK_STR(head->next->next->next->name, "d");
	CHECK(head->next->next->next->next == NULL);
	if (strcmp(head->next->name, "b") == 0)
	    first_b++;
	else
	    first_c++;
    }
    /* Both orders of the two preference-10 hosts happen. */
    CHECK(first_b > 20);
    CHECK(first_c > 20);
}

TEST(test_tlsa)
{
    PKT p;
    DNS_RR *list;
    unsigned char digest[32];

    for (int i = 0; i < 32; i++)
	digest[i] = (unsigned char) (i * 7);
    header(&p, 0, 1, 3);
    question(&p, DNS_T_TLSA);
    rr_head(&p, DNS_T_TLSA, 35);
    put(&p, "\3\1\1", 3);
    put(&p, digest, 32);
    /* An RRSIG in between is skipped. */
    rr_head(&p, 46, 4);
    put(&p, "abcd", 4);
    rr_head(&p, DNS_T_TLSA, 3);		/* empty data is parsed, not trusted */
    put(&p, "\2\0\0", 3);
    CHECK_INT(dns_parse(p.b, p.n, DNS_T_TLSA, &list), DNS_OK);
    CHECK_INT(dns_rr_count(list), 2);
    CHECK_INT(list->usage, 3);
    CHECK_INT(list->selector, 1);
    CHECK_INT(list->mtype, 1);
    CHECK_INT((int) list->data_len, 32);
    CHECK(memcmp(list->data, digest, 32) == 0);
    CHECK_INT(list->next->usage, 2);
    CHECK_INT((int) list->next->data_len, 0);
    dns_rr_free(&list);
    CHECK(list == NULL);

    /* Shorter than usage/selector/mtype: malformed. */
    header(&p, 0, 1, 1);
    question(&p, DNS_T_TLSA);
    rr_head(&p, DNS_T_TLSA, 2);
    put(&p, "\3\1", 2);
    CHECK_INT(dns_parse(p.b, p.n, DNS_T_TLSA, &list), DNS_RETRY);
    CHECK(list == NULL);

    /* rdlength past the end of the packet. */
    header(&p, 0, 1, 1);
    question(&p, DNS_T_TLSA);
    rr_head(&p, DNS_T_TLSA, 200);
    put(&p, "\3\1\1", 3);
    CHECK_INT(dns_parse(p.b, p.n, DNS_T_TLSA, &list), DNS_RETRY);
    CHECK(list == NULL);
    CHECK_STR(dns_type_name(DNS_T_TLSA), "TLSA");
}

TEST(test_set_server)
{
    const char *error;

    CHECK_INT(dns_set_server("127.0.0.2", &error), 0);
    CHECK_INT(dns_set_server("127.0.0.2:5353", &error), 0);
    CHECK_INT(dns_set_server("[127.0.0.2]:5353", &error), 0);
    CHECK_INT(dns_set_server("[127.0.0.2]", &error), 0);
    CHECK_INT(dns_set_server("", &error), 0);
    CHECK_INT(dns_set_server("127.0.0.2:0", &error), -1);
    CHECK_INT(dns_set_server("127.0.0.2:99999", &error), -1);
    CHECK_INT(dns_set_server("127.0.0.2:", &error), -1);
    CHECK_INT(dns_set_server("[127.0.0.2", &error), -1);
    CHECK_INT(dns_set_server("[127.0.0.2]x", &error), -1);
    CHECK_INT(dns_set_server("host.example", &error), -1);
    CHECK_INT(dns_set_server("::1", &error), -1);
}

TEST(test_bad_names)
{
    DNS_RR *list;
    VSTRING *why = vstring_alloc(10);

    CHECK_INT(dns_lookup("", DNS_T_MX, &list, why), DNS_FAIL);
    CHECK_INT(dns_lookup("a b.example", DNS_T_MX, &list, why), DNS_FAIL);
    CHECK(strstr(STR(why), "malformed") != NULL);
    vstring_free(&why);
}

/* main - run the tests */
int main(void)
{
    msg_init("test_dns", MSG_TO_STDERR);
    RUN(test_mx_compressed);
    RUN(test_null_mx);
    RUN(test_a_aaaa);
    RUN(test_rcodes);
    RUN(test_hostile);
    RUN(test_mx_sort_random);
    RUN(test_tlsa);
    RUN(test_set_server);
    RUN(test_bad_names);
    return unit_done();
}
