/* test_tls_names - the TLS layer's parsers and names, no certificate and
 * no handshake: the Postfix protocol-list parser (tls_protocols_parse,
 * hostile lists included), which TLSA records are usable in SMTP
 * (RFC 7672), and the security level and trust names and their order.
 * The handshakes are in test_tls.c.
 */
#include "sys_defs.h"

#include <string.h>

#include "msg.h"
#include "tls.h"
#include "unit.h"

TEST(test_protocols_parse)
{
    static const struct {
	const char *spec;
	int     min, max;			/* 0, 0: error expected */
    } cases[] = {
	{">=TLSv1.2", TLS_PROTO_TLSv1_2, TLS_PROTO_TLSv1_3},
	{"!SSLv2, !SSLv3, !TLSv1, !TLSv1.1", TLS_PROTO_TLSv1_2, TLS_PROTO_TLSv1_3},
	{"!SSLv2,!SSLv3", TLS_PROTO_TLSv1, TLS_PROTO_TLSv1_3},
	{"TLSv1.2:TLSv1.3", TLS_PROTO_TLSv1_2, TLS_PROTO_TLSv1_3},
	{"TLSv1.2", TLS_PROTO_TLSv1_2, TLS_PROTO_TLSv1_2},
	{"  tlsv1.3  ", TLS_PROTO_TLSv1_3, TLS_PROTO_TLSv1_3},
	{"<=TLSv1.2", TLS_PROTO_SSLv2, TLS_PROTO_TLSv1_2},
	{">=TLSv1.1 <=TLSv1.2", TLS_PROTO_TLSv1_1, TLS_PROTO_TLSv1_2},
	{">=TLSv1 !TLSv1", TLS_PROTO_TLSv1_1, TLS_PROTO_TLSv1_3},
	{"!TLSv1.3", TLS_PROTO_SSLv2, TLS_PROTO_TLSv1_2},
	{"", TLS_PROTO_TLSv1_2, TLS_PROTO_TLSv1_3},
	{" ,:, ", TLS_PROTO_TLSv1_2, TLS_PROTO_TLSv1_3},
	{"TLSv1.4", 0, 0},
	{"!foo", 0, 0},
	{">=", 0, 0},
	{">=TLSv9", 0, 0},
	{"=>TLSv1.2", 0, 0},
	{"TLSv1.1, TLSv1.3", 0, 0},			/* gap */
	{"!TLSv1.2", 0, 0},				/* gap */
	{">=TLSv1.3 <=TLSv1.2", 0, 0},			/* empty */
	{"TLSv1.2 !TLSv1.2", 0, 0},			/* empty */
	{"TLSv1.2\x01", 0, 0},
	{"TLSv1.2xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", 0, 0},
    };

    for (size_t i = 0; i < PH_ARRAY_LEN(cases); i++) {
	int     min = -1, max = -1;
	const char *err = NULL;
	int     rc = tls_protocols_parse(cases[i].spec, &min, &max, &err);

	if (cases[i].min == 0) {
	    if (rc != -1 || err == NULL || strstr(err, "invalid TLS protocol list") == NULL)
		UNIT_FAIL("\"%s\" accepted (rc %d)", cases[i].spec, rc);
	} else if (rc != 0 || min != cases[i].min || max != cases[i].max) {
	    UNIT_FAIL("\"%s\": rc %d min %d max %d (%s)", cases[i].spec, rc, min, max,
		      err ? err : "");
	}
    }
    int     min, max;
    const char *err;

    CHECK_INT(tls_protocols_parse(NULL, &min, &max, &err), 0);
    CHECK_INT(min, TLS_PROTO_TLSv1_2);
    CHECK_STR(tls_protocol_name(TLS_PROTO_TLSv1_1), "TLSv1.1");
    CHECK_STR(tls_protocol_name(99), "unknown");
}

TEST(test_tlsa_usable)
{
    static const unsigned char d64[64];
    static const struct {
	unsigned char u, s, m;
	size_t  len;
	bool    ok;
    } cases[] = {
	{3, 1, 1, 32, true}, {2, 0, 1, 32, true}, {3, 0, 2, 64, true}, {2, 1, 0, 50, true},
	{0, 0, 1, 32, false},			/* PKIX-TA: unusable in SMTP */
	{1, 1, 1, 32, false},			/* PKIX-EE: unusable in SMTP */
	{4, 1, 1, 32, false}, {3, 2, 1, 32, false}, {3, 1, 3, 32, false},
	{3, 1, 1, 31, false}, {3, 1, 2, 32, false}, {3, 1, 0, 0, false},
    };

    for (size_t i = 0; i < PH_ARRAY_LEN(cases); i++) {
	TLS_TLSA t = {cases[i].u, cases[i].s, cases[i].m, d64, cases[i].len};

	CHECK_INT(tls_tlsa_usable(&t), cases[i].ok);
    }
}

TEST(test_names)
{
    CHECK_INT(tls_level_parse("may"), TLS_LEV_MAY);
    CHECK_INT(tls_level_parse("ENCRYPT"), TLS_LEV_ENCRYPT);
    CHECK_INT(tls_level_parse("verify"), TLS_LEV_VERIFY);
    CHECK_INT(tls_level_parse("secure"), TLS_LEV_SECURE);
    CHECK_INT(tls_level_parse(""), TLS_LEV_NONE);
    CHECK_INT(tls_level_parse("none"), TLS_LEV_NONE);
    CHECK_INT(tls_level_parse("dane"), TLS_LEV_DANE);
    CHECK_INT(tls_level_parse("DANE-only"), TLS_LEV_DANE_ONLY);
    CHECK_INT(tls_level_parse("fingerprint"), TLS_LEV_FPRINT);
    CHECK_STR(tls_level_name(TLS_LEV_FPRINT), "fingerprint");
    CHECK(TLS_LEV_FPRINT > TLS_LEV_ENCRYPT && TLS_LEV_FPRINT < TLS_LEV_DANE);
    CHECK_STR(tls_level_name(TLS_LEV_DANE_ONLY), "dane-only");
    /* Mandatory levels compare above may, below verify (Postfix's order). */
    CHECK(TLS_LEV_DANE > TLS_LEV_ENCRYPT && TLS_LEV_DANE_ONLY < TLS_LEV_VERIFY);
    CHECK_INT(tls_level_parse("mayy"), -1);
    CHECK_STR(tls_level_name(TLS_LEV_SECURE), "secure");
    CHECK_STR(tls_trust_name(TLS_TRUST_ANONYMOUS), "Anonymous");
    CHECK_STR(tls_trust_name(TLS_TRUST_UNTRUSTED), "Untrusted");
    CHECK_STR(tls_trust_name(TLS_TRUST_TRUSTED), "Trusted");
    CHECK_STR(tls_trust_name(TLS_TRUST_VERIFIED), "Verified");
    CHECK_PANICS(tls_level_name((TLS_LEVEL) 42));
}

int     main(void)
{
    msg_init("test_tls_names", MSG_TO_STDERR);
    RUN(test_protocols_parse);
    RUN(test_names);
    RUN(test_tlsa_usable);
    return unit_done();
}
