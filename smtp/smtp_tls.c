/* smtp_tls - TLS for the SMTP client: policy per destination, STARTTLS.
 *
 * Contract: smtp_tls_init() builds one client context per process from
 * smtp_tls_* (CAfile, CApath, protocols, ciphers, client certificate),
 * fatal on bad settings. smtp_tls_level() picks the level for a nexthop:
 * smtp_tls_policy_maps first (keys: the nexthop as given, e.g.
 * "[mx.example.com]:587" or "example.com", then for a domain its parents
 * as ".example.com"), value "LEVEL [match=name:name...]" as in Postfix's
 * policy table; else smtp_tls_security_level ("" = none). Repeated match=
 * attributes add up.
 * Fingerprint (Postfix's "fingerprint" level): TLS is mandatory and the
 * server's leaf certificate or its public key must match, under
 * smtp_tls_fingerprint_digest, one of the policy's "match=FP1|FP2"
 * values or, without match=, one of smtp_tls_fingerprint_cert_match (white
 * space/comma separated). Malformed values are skipped with Postfix's
 * "malformed fingerprint value" warning; with none left the destination
 * defers ("client TLS configuration problem"). No CA or name checks.
 * DANE (RFC 7672, smtp_tls_dane): with smtp_dns_support_level = dnssec,
 * when the MX RRset (if the nexthop had an MX lookup) and the host's
 * address records were validated, the TLSA RRset at _port._tcp.<host>
 * decides: secure and usable (DANE-TA 2 / DANE-EE 3 with selector 0/1 and
 * matching 0/1/2) -> TLS is mandatory and the certificate must match
 * (DANE-EE: no name check; DANE-TA: the host name or the nexthop domain);
 * secure but all unusable -> "encrypt"; none or insecure -> "may";
 * lookup failure (SERVFAIL, bogus) -> defer. dane-only defers instead of
 * falling back to may or encrypt. Without dnssec lookups, dane acts as
 * may (with a warning) and dane-only defers.
 * Limits: the TLSA base domain is the MX host name as the MX record gave
 * it: CNAMEs of the host are not expanded (RFC 7672 2.2.2 prefers the
 * expanded name when its chain is secure), so a host whose TLSA records
 * exist only under its CNAME target gets "may" (or a dane-only deferral).
 * A CNAME at the TLSA name itself is followed by the resolver.
 * Certificate names: verify defaults to the MX host name ("hostname"),
 * secure to "nexthop:dot-nexthop" (Postfix's defaults).
 * The handshake logs Postfix's "<Trust> TLS connection established to
 * host[addr]:port: ..." line at smtp_tls_loglevel >= 1 (lib/tls.c).
 */
#include "sys_defs.h"

#include <string.h>
#include <strings.h>

#include "argv.h"
#include "config.h"
#include "dns.h"
#include "maps.h"
#include "msg.h"
#include "mymalloc.h"
#include "smtp.h"

static TLS_CLIENT_CTX *smtp_tls_ctx;
static MAPS *smtp_tls_policy;

static int smtp_tls_level_find(const char *, VSTRING *, char ***);

/* smtp_tls_init - the client context and policy tables */
void smtp_tls_init(void)
{
    TLS_CLIENT_PARAMS p;
    const char *error;

    if (tls_level_parse(var_smtp_tls_security_level) < 0)
	msg_fatal("%s: smtp_tls_security_level = %s: unknown or unsupported level",
		  config_main_cf(), var_smtp_tls_security_level);
    if (var_smtp_tls_policy_maps && *var_smtp_tls_policy_maps)
	smtp_tls_policy = maps_create("smtp_tls_policy_maps", var_smtp_tls_policy_maps, DICT_FLAG_FOLD_FIX);
    memset(&p, 0, sizeof(p));
    p.CAfile = var_smtp_tls_CAfile;
    p.CApath = var_smtp_tls_CApath;
    p.append_default_CA = var_tls_append_default_CA;
    p.cert_file = var_smtp_tls_cert_file;
    p.key_file = var_smtp_tls_key_file;
    p.protocols = var_smtp_tls_protocols;
    p.cipher_grade = var_smtp_tls_ciphers;
    p.exclude_ciphers = var_smtp_tls_exclude_ciphers;
    p.loglevel = (int) var_smtp_tls_loglevel;
    /* Without any TLS in the configuration there is nothing to set up. */
    if (tls_level_parse(var_smtp_tls_security_level) == TLS_LEV_NONE && smtp_tls_policy == NULL)
	return;
    if (tls_fprint_digest_check(var_smtp_tls_fingerprint_digest, &error) < 0)
	msg_fatal("%s: smtp_tls_fingerprint_digest = %s: %s", config_main_cf(),
		  var_smtp_tls_fingerprint_digest, error);
    if ((smtp_tls_ctx = tls_client_init(&p, &error)) == NULL)
	msg_fatal("cannot set up the SMTP client TLS context: %s", error);
}

/* smtp_tls_parse_policy - "level [match=a:b] [other=...]" */
static int smtp_tls_parse_policy(const char *value, VSTRING *why, char ***names_r)
{
    ARGV *words = argv_split(value, " \t,");
    int level = -1;

    if (words->argc == 0) {
	vstring_fmt(why, "empty TLS policy");
	goto out;
    }
    if ((level = tls_level_parse(words->argv[0])) < 0) {
	vstring_fmt(why, "unsupported TLS security level \"%s\"", words->argv[0]);
	goto out;
    }
    for (int i = 1; i < words->argc; i++) {
	if (strncasecmp(words->argv[i], "match=", 6) == 0) {
	    /* Fingerprints contain ":", so Postfix separates them by "|". */
	    ARGV *m = argv_split(words->argv[i] + 6, level == TLS_LEV_FPRINT ? "|" : ":");
	    int have = 0;
	    char **names;

	    if (*names_r)
		while ((*names_r)[have])
		    have++;
	    names = mycalloc((size_t) (have + m->argc) + 1, sizeof(char *));
	    for (int k = 0; k < have; k++)
		names[k] = (*names_r)[k];
	    for (int k = 0; k < m->argc; k++)
		names[have + k] = mystrdup(m->argv[k]);
	    if (*names_r)
		myfree(*names_r);
	    *names_r = names;
	    argv_free(&m);
	}
	/* protocols=, ciphers=, exclude= ...: the global settings apply. */
    }
out:
    argv_free(&words);
    return level;
}

/* smtp_tls_free_names - free a NULL-terminated mymalloc'ed list */
static void smtp_tls_free_names(char ***names_r)
{
    if (*names_r) {
	for (char **cpp = *names_r; *cpp; cpp++)
	    myfree(*cpp);
	myfree(*names_r);
	*names_r = NULL;
    }
}

/* smtp_tls_fprint_names - level fingerprint: replace *names_r (the policy's
 * match= values, or NULL for smtp_tls_fingerprint_cert_match) by the
 * well-formed fingerprints in canonical form; 0, or -1 with why when none
 * is left */
static int smtp_tls_fprint_names(const char *nexthop, VSTRING *why, char ***names_r)
{
    ARGV *values;
    VSTRING *buf = vstring_alloc(100);
    char **out;
    int n = 0;

    if (*names_r) {
	values = argv_alloc(4);
	for (char **cpp = *names_r; *cpp; cpp++)
	    argv_add(values, *cpp, (char *) 0);
    } else {
	values = argv_split(var_smtp_tls_fingerprint_cert_match ? var_smtp_tls_fingerprint_cert_match : "",
			    " \t\r\n,");
    }
    out = mycalloc((size_t) values->argc + 1, sizeof(char *));
    for (int i = 0; i < values->argc; i++) {
	TLS_FPRINT fp;

	if (tls_fprint_decode(values->argv[i], &fp) < 0) {
	    msg_warn("malformed fingerprint value: %.100s%s", values->argv[i],
		     strlen(values->argv[i]) > 100 ? "..." : "");
	    continue;
	}
	out[n++] = mystrdup(tls_fprint_encode(&fp, buf));
    }
    argv_free(&values);
    vstring_free(&buf);
    smtp_tls_free_names(names_r);
    if (n == 0) {
	myfree(out);
	msg_warn("nexthop domain %s: configured at fingerprint security level, "
		 "but with no fingerprints to match.", nexthop);
	vstring_set(why, "client TLS configuration problem");
	return -1;
    }
    *names_r = out;
    return 0;
}

/* smtp_tls_level - see smtp.h */
int smtp_tls_level(const char *nexthop, VSTRING *why, char ***names_r)
{
    int level = smtp_tls_level_find(nexthop, why, names_r);

    if (level == TLS_LEV_FPRINT && smtp_tls_fprint_names(nexthop, why, names_r) < 0)
	return -1;
    if (level < 0)
	smtp_tls_free_names(names_r);
    return level;
}

/* smtp_tls_level_find - the level and match= list for nexthop, or -1 */
static int smtp_tls_level_find(const char *nexthop, VSTRING *why, char ***names_r)
{
    const char *value, *error;
    int rc;

    *names_r = NULL;
    if (smtp_tls_policy) {
	rc = maps_find(smtp_tls_policy, nexthop, DICT_LOOKUP_FOLD, &value, &error);
	if (rc == DICT_NOTFOUND && *nexthop != '[') {
	    VSTRING *key = vstring_alloc(64);
	    const char *dot = nexthop;

	    while (rc == DICT_NOTFOUND && (dot = strchr(dot + 1, '.')) != NULL) {
		vstring_set(key, dot);
		rc = maps_find(smtp_tls_policy, STR(key), DICT_LOOKUP_FOLD | MAPS_FIND_PARTIAL, &value, &error);
	    }
	    vstring_free(&key);
	}
	if (rc == DICT_ERROR) {
	    vstring_set(why, error);
	    return -1;
	}
	if (rc == DICT_FOUND)
	    return smtp_tls_parse_policy(value, why, names_r);
    }
    return tls_level_parse(var_smtp_tls_security_level);
}

/* smtp_tls_dane - see smtp.h */
int smtp_tls_dane(SMTP_STATE *st, SMTP_SESSION *sess, int level, VSTRING *why)
{
    static bool warned;
    bool only = level == TLS_LEV_DANE_ONLY;
    VSTRING *qname = vstring_alloc(64), *err = vstring_alloc(64);
    DNS_RR *list = NULL;
    bool secure = false;
    int status, usable = 0, count = 0, result;

    (void) st;
    if (var_smtp_dns_support_level == NULL || strcasecmp(var_smtp_dns_support_level, "dnssec") != 0) {
	if (!warned) {
	    msg_warn("%s: TLS level %s needs smtp_dns_support_level = dnssec%s", config_main_cf(),
		     tls_level_name((TLS_LEVEL) level), only ? "" : ": using \"may\"");
	    warned = true;
	}
	if (!only) {
	    result = TLS_LEV_MAY;
	    goto out;
	}
	vstring_fmt(why, "TLS level dane-only with DNSSEC lookups disabled (smtp_dns_support_level)");
	result = -1;
	goto out;
    }
    if (!sess->dnssec) {
	if (!only) {
	    result = TLS_LEV_MAY;
	    goto out;
	}
	vstring_fmt(why, "DANE TLS required, but the MX or address records of %s are not DNSSEC-validated",
		    sess->host);
	result = -1;
	goto out;
    }
    vstring_fmt(qname, "_%u._tcp.%s", sess->port, sess->host);
    status = dns_lookup_sec(STR(qname), DNS_T_TLSA, &list, &secure, err);
    switch (status) {
    case DNS_OK:
	if (!secure) {
	    if (!only) {
		result = TLS_LEV_MAY;
		break;
	    }
	    vstring_fmt(why, "DANE TLS required, but the TLSA records of %s are not DNSSEC-validated",
			sess->namaddr);
	    result = -1;
	    break;
	}
	for (DNS_RR *rr = list; rr; rr = rr->next) {
	    TLS_TLSA t = {rr->usage, rr->selector, rr->mtype, rr->data, rr->data_len};

	    count++;
	    if (tls_tlsa_usable(&t))
		usable++;
	}
	if (usable > 0) {
	    dns_rr_free(&sess->tlsa);
	    sess->tlsa = list;
	    list = NULL;
	    result = TLS_LEV_DANE;
	} else if (!only) {
	    msg_info("%s: all %d TLSA records of %s are unusable: TLS without authentication",
		     st->req->queue_id, count, sess->namaddr);
	    result = TLS_LEV_ENCRYPT;
	} else {
	    vstring_fmt(why, "DANE TLS required, but all %d TLSA records of %s are unusable",
			count, sess->namaddr);
	    result = -1;
	}
	break;
    case DNS_NOTFOUND:
    case DNS_NODATA:
	if (!only) {
	    result = TLS_LEV_MAY;
	    break;
	}
	vstring_fmt(why, "DANE TLS required, but no TLSA records found for %s", sess->namaddr);
	result = -1;
	break;
    default:
	vstring_fmt(why, "TLSA lookup error for %s:%u: %s", sess->host, sess->port, STR(err));
	result = -1;
	break;
    }
out:
    dns_rr_free(&list);
    vstring_free(&qname);
    vstring_free(&err);
    return result;
}

/* smtp_tls_start - see smtp.h */
int smtp_tls_start(SMTP_SESSION *sess, TLS_LEVEL level, const char *nexthop,
		   char **names, const char **error_r)
{
    static const char *const verify_default[] = {"hostname", NULL};
    static const char *const secure_default[] = {"nexthop", "dot-nexthop", NULL};
    const char *const *strategy = names ? (const char *const *) names
	: level == TLS_LEV_SECURE ? secure_default : verify_default;
    ARGV *match = argv_alloc(4);
    VSTRING *domain = vstring_alloc(64), *buf = vstring_alloc(64);
    TLS_CLIENT_START props;
    TLS_TLSA *tlsa = NULL;
    TLS_FPRINT *fprints = NULL;
    bool mx;
    unsigned port;
    bool is_unix;
    const char *perr;

    if (smtp_tls_ctx == NULL) {
	TLS_CLIENT_PARAMS p;

	memset(&p, 0, sizeof(p));
	p.CAfile = var_smtp_tls_CAfile;
	p.CApath = var_smtp_tls_CApath;
	p.append_default_CA = var_tls_append_default_CA;
	p.protocols = var_smtp_tls_protocols;
	p.loglevel = (int) var_smtp_tls_loglevel;
	if ((smtp_tls_ctx = tls_client_init(&p, error_r)) == NULL)
	    return -1;
    }
    /* The nexthop domain, without brackets or port. */
    if (smtp_parse_nexthop(nexthop, sess->lmtp, domain, &port, &mx, &is_unix, &perr) < 0)
	vstring_set(domain, nexthop);
    for (const char *const *s = strategy; *s; s++) {
	if (strcasecmp(*s, "hostname") == 0)
	    argv_add(match, sess->host, (char *) 0);
	else if (strcasecmp(*s, "nexthop") == 0)
	    argv_add(match, STR(domain), (char *) 0);
	else if (strcasecmp(*s, "dot-nexthop") == 0) {
	    vstring_fmt(buf, ".%s", STR(domain));
	    argv_add(match, STR(buf), (char *) 0);
	} else
	    argv_add(match, *s, (char *) 0);
    }
    memset(&props, 0, sizeof(props));
    props.level = level;
    props.servername = sess->host;
    props.match_names = (const char *const *) match->argv;
    props.peer_name = sess->host;
    props.peer_addr = sess->addr;
    props.port = sess->port;
    props.timeout = (int) var_smtp_helo_timeout;
    if (level == TLS_LEV_FPRINT) {
	int n = 0;

	/* smtp_tls_level() left only well-formed values, at least one. */
	while (names && names[n])
	    n++;
	if (n == 0)
	    msg_panic("smtp_tls_start: level fingerprint without fingerprints");
	fprints = mycalloc((size_t) n, sizeof(*fprints));
	for (int k = 0; k < n; k++)
	    if (tls_fprint_decode(names[k], fprints + k) < 0)
		msg_panic("smtp_tls_start: bad fingerprint \"%s\"", names[k]);
	props.fprints = fprints;
	props.fprint_count = n;
	props.fprint_digest = var_smtp_tls_fingerprint_digest;
	argv_truncate(match, 0);
	props.match_names = NULL;
    }
    if (level == TLS_LEV_DANE) {
	int n = dns_rr_count(sess->tlsa), k = 0;

	if (n == 0)
	    msg_panic("smtp_tls_start: level dane without TLSA records");
	tlsa = mycalloc((size_t) n, sizeof(*tlsa));
	for (DNS_RR *rr = sess->tlsa; rr; rr = rr->next, k++) {
	    tlsa[k].usage = rr->usage;
	    tlsa[k].selector = rr->selector;
	    tlsa[k].mtype = rr->mtype;
	    tlsa[k].data = rr->data;
	    tlsa[k].len = rr->data_len;
	}
	props.tlsa = tlsa;
	props.tlsa_count = n;
	/* RFC 7672 3.2.2: the base domain (the MX host) plus, for DANE-TA,
	 * the nexthop domain. */
	props.dane_base = sess->host;
	argv_truncate(match, 0);
	argv_add(match, STR(domain), (char *) 0);
	props.match_names = (const char *const *) match->argv;
    }
    sess->tls = tls_client_start(sess->stream, smtp_tls_ctx, &props, error_r);
    if (tlsa)
	myfree(tlsa);
    if (fprints)
	myfree(fprints);
    argv_free(&match);
    vstring_free(&domain);
    vstring_free(&buf);
    return sess->tls ? 0 : -1;
}
