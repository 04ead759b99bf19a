/* smtp_tls - TLS for the SMTP client: policy per destination, STARTTLS.
 *
 * Contract: smtp_tls_init() builds one client context per process from
 * smtp_tls_* (CAfile, CApath, protocols, ciphers, client certificate),
 * fatal on bad settings. smtp_tls_level() picks the level for a nexthop:
 * smtp_tls_policy_maps first (keys: the nexthop as given, e.g.
 * "[mx.example.com]:587" or "example.com", then for a domain its parents
 * as ".example.com"), value "LEVEL [match=name:name...]" as in Postfix's
 * policy table; else smtp_tls_security_level ("" = none). dane/dane-only
 * and fingerprint are not implemented: a policy naming them defers.
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
#include "maps.h"
#include "msg.h"
#include "mymalloc.h"
#include "smtp.h"

static TLS_CLIENT_CTX *smtp_tls_ctx;
static MAPS *smtp_tls_policy;

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
	    ARGV *m = argv_split(words->argv[i] + 6, ":");
	    char **names = mycalloc((size_t) m->argc + 1, sizeof(char *));

	    for (int k = 0; k < m->argc; k++)
		names[k] = mystrdup(m->argv[k]);
	    if (*names_r) {
		for (char **cpp = *names_r; *cpp; cpp++)
		    myfree(*cpp);
		myfree(*names_r);
	    }
	    *names_r = names;
	    argv_free(&m);
	}
	/* protocols=, ciphers=, exclude= ...: the global settings apply. */
    }
out:
    argv_free(&words);
    return level;
}

/* smtp_tls_level - see smtp.h */
int smtp_tls_level(const char *nexthop, VSTRING *why, char ***names_r)
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
    sess->tls = tls_client_start(sess->stream, smtp_tls_ctx, &props, error_r);
    argv_free(&match);
    vstring_free(&domain);
    vstring_free(&buf);
    return sess->tls ? 0 : -1;
}
