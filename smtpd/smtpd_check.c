/* smtpd_check - SMTP restrictions and relay control (Postfix's smtpd_check).
 *
 * Contract: smtpd_check.h. Each smtpd_check_* call evaluates restriction
 * lists in order; within a list the first restriction that decides
 * (permit/OK or reject) ends that list, and OK in one list moves on to the
 * next list. With smtpd_delay_reject = yes the client, helo and sender
 * lists run at RCPT TO. defer_if_permit / defer_if_reject / warn_if_reject
 * follow Postfix. After the relay and recipient lists, unknown recipients
 * of our own domains are refused (smtpd_reject_unlisted_recipient).
 * In LMTP mode (lmtpd) a recipient must also resolve to a local or
 * virtual domain, whatever the lists said: the LMTP server never relays.
 *
 * Every reject is logged as Postfix does:
 *   NOQUEUE: reject: RCPT from name[addr]: 554 5.7.1 <b@x>: Relay access
 *   denied; from=<a@y> to=<b@x> proto=ESMTP helo=<h>
 * (the queue ID instead of NOQUEUE once there is one).
 *
 * Configuration: smtpd_check_init parses every list and opens every table
 * named in it, and refuses (fatal, naming the parameter) an unknown
 * restriction, a missing table argument, or a configuration in which
 * neither smtpd_relay_restrictions nor smtpd_recipient_restrictions can
 * refuse relaying. It may be called again after config_load (tests).
 *
 * Limits: restriction classes and restriction lists returned by access
 * tables nest at most SMTPD_CHECK_MAX_DEPTH deep; a deeper nesting or an
 * unknown restriction at run time gives "451 4.3.5 Server configuration
 * error". Table lookup failures give "451 4.3.0 ... Temporary lookup
 * failure". Nothing here aborts on client input.
 */
#include "sys_defs.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include "argv.h"
#include "config.h"
#include "htable.h"
#include "mail_addr_find.h"
#include "maps.h"
#include "match_list.h"
#include "msg.h"
#include "mymalloc.h"
#include "resolve.h"
#include "smtpd.h"
#include "smtpd_check.h"
#include "smtpd_dns.h"
#include "stream.h"
#include "vstring.h"

#define SMTPD_CHECK_DUNNO	0	/* no decision: next restriction */
#define SMTPD_CHECK_OK		1	/* permit: end of this list */
#define SMTPD_CHECK_REJECT	2	/* reject: stop */

#define SMTPD_CHECK_MAX_DEPTH	20

#define SMTPD_NAME_CLIENT	"Client host"
#define SMTPD_NAME_HELO		"Helo command"
#define SMTPD_NAME_SENDER	"Sender address"
#define SMTPD_NAME_RECIPIENT	"Recipient address"
#define SMTPD_NAME_DATA		"Data command"
#define SMTPD_NAME_EOD		"End-of-data"

/* Restrictions that take a type:table argument. */
static const char *const smtpd_check_table_ops[] = {
    "check_client_access", "check_helo_access", "check_sender_access",
    "check_recipient_access", 0,
};

/* Restrictions without an argument. */
static const char *const smtpd_check_plain_ops[] = {
    "permit", "reject", "defer", "defer_if_permit", "defer_if_reject",
    "warn_if_reject", "permit_mynetworks", "permit_sasl_authenticated",
    "reject_unauth_destination", "defer_unauth_destination",
    "permit_auth_destination", "reject_unauth_pipelining",
    "reject_non_fqdn_helo_hostname", "reject_non_fqdn_hostname",
    "reject_invalid_helo_hostname", "reject_invalid_hostname",
    "reject_non_fqdn_sender", "reject_non_fqdn_recipient",
    "reject_unknown_sender_domain", "reject_unknown_recipient_domain",
    "reject_unlisted_recipient", "reject_unknown_recipient",
    "reject_unlisted_sender", "reject_unknown_reverse_client_hostname",
    "reject_unknown_client", "reject_unknown_client_hostname",
    "check_relay_domains", "reject_sender_login_mismatch",
    "reject_authenticated_sender_login_mismatch",
    "reject_known_sender_login_mismatch",
    "reject_unauthenticated_sender_login_mismatch", 0,
};

/* Restrictions that take a DNS domain argument (DNSBL). */
static const char *const smtpd_check_dnsbl_ops[] = {
    "reject_rbl_client", "reject_rhsbl_client", "reject_rhsbl_sender",
    "reject_rhsbl_helo", "reject_rhsbl_recipient", 0,
};

/* The parsed configuration. */
static struct smtpd_check_conf {
    bool    ready;
    ARGV   *client, *helo, *sender, *relay, *recipient, *data, *eod;
    HTABLE *classes;			/* name -> ARGV * */
    HTABLE *tables;			/* "type:name" -> MAPS * */
    MATCH_LIST *mynetworks;
    MAPS   *local_rcpt_maps;		/* NULL: no local recipient check */
    MAPS   *virtual_alias_maps;
    MAPS   *virtual_mailbox_maps;
    MAPS   *relay_rcpt_maps;		/* NULL: no relay recipient check */
    MAPS   *canonical_maps;
    MAPS   *rcpt_canonical_maps;
    MAPS   *sender_canonical_maps;
    MAPS   *sender_login_maps;		/* NULL: not configured */
} conf;

/* One top-level evaluation (one SMTP command). */
typedef struct smtpd_check_ctx {
    SMTPD_STATE *state;
    const char *where;			/* "RCPT", "MAIL", ... for the log */
    const char *sender;			/* NULL: not yet known */
    const char *recipient;		/* NULL: not yet known */
    const char *helo;			/* NULL: no HELO yet */
    int     depth;
    bool    warn_next;			/* warn_if_reject seen */
    bool    warn_active;		/* ... and applies now */
    bool    defer_if_reject;
    bool    defer_if_permit;
    VSTRING *dip_reply;			/* reply for defer_if_permit */
    VSTRING *reply;			/* reply of the last reject */
} SMTPD_CHECK_CTX;

static VSTRING *smtpd_check_reply;	/* what smtpd_check_* return */
static RESOLVE_REPLY *smtpd_check_resolved;

static int smtpd_check_list(SMTPD_CHECK_CTX *ctx, ARGV *list, const char *reply_name,
			    const char *reply_class);

/* smtpd_check_word_in - is word in a NULL-terminated table */
static bool smtpd_check_word_in(const char *const *table, const char *word)
{
    for (; *table; table++)
	if (strcasecmp(*table, word) == 0)
	    return true;
    return false;
}

/* smtpd_check_table - the MAPS for a table argument, opened on demand */
static MAPS *smtpd_check_table(const char *spec)
{
    MAPS   *maps = htable_find(conf.tables, spec);

    if (maps == NULL) {
	maps = maps_create(spec, spec, DICT_FLAG_FOLD_FIX);
	htable_enter(conf.tables, spec, maps);
    }
    return maps;
}

/* smtpd_check_parse - split and validate one restriction list; returns
 * NULL with *error_r for an unknown restriction or a missing argument */
static ARGV *smtpd_check_parse(const char *text, const char **error_r)
{
    static VSTRING *why;
    ARGV   *list = maps_split_list(text ? text : "");

    if (why == NULL)
	why = vstring_alloc(100);
    for (int i = 0; i < list->argc; i++) {
	const char *name = list->argv[i];

	if (smtpd_check_word_in(smtpd_check_table_ops, name)) {
	    if (i + 1 >= list->argc || strchr(list->argv[i + 1], ':') == NULL) {
		*error_r = vstring_fmt(why, "restriction \"%s\" needs a type:table argument",
				       name)->data;
		argv_free(&list);
		return NULL;
	    }
	    (void) smtpd_check_table(list->argv[++i]);
	} else if (smtpd_check_word_in(smtpd_check_dnsbl_ops, name)) {
	    if (i + 1 >= list->argc || strchr(list->argv[i + 1], '.') == NULL) {
		*error_r = vstring_fmt(why, "restriction \"%s\" needs a DNS domain argument",
				       name)->data;
		argv_free(&list);
		return NULL;
	    }
	    i++;
	} else if (!smtpd_check_word_in(smtpd_check_plain_ops, name)
		   && htable_find(conf.classes, name) == NULL) {
	    *error_r = vstring_fmt(why, "unknown restriction: \"%s\"", name)->data;
	    argv_free(&list);
	    return NULL;
	}
    }
    return list;
}

/* smtpd_check_parse_param - parse a restriction parameter or die */
static ARGV *smtpd_check_parse_param(const char *param, const char *text)
{
    const char *error;
    ARGV   *list = smtpd_check_parse(text, &error);

    if (list == NULL)
	msg_fatal("parameter %s: %s", param, error);
    return list;
}

/* smtpd_check_maps - a *_maps parameter, or NULL when empty */
static MAPS *smtpd_check_maps(const char *param, const char *value)
{
    if (value == NULL || *value == 0 || strspn(value, " \t\r\n,") == strlen(value))
	return NULL;
    return maps_create(param, value, DICT_FLAG_FOLD_FIX);
}

/* smtpd_check_free_argv - htable destructor */
static void smtpd_check_free_argv(void *ptr)
{
    ARGV   *av = ptr;

    argv_free(&av);
}

/* smtpd_check_free_maps - htable destructor */
static void smtpd_check_free_maps(void *ptr)
{
    MAPS   *maps = ptr;

    maps_free(&maps);
}

/* smtpd_check_cleanup - forget a previous configuration */
static void smtpd_check_cleanup(void)
{
    ARGV  **lists[] = {&conf.client, &conf.helo, &conf.sender, &conf.relay,
		       &conf.recipient, &conf.data, &conf.eod};

    for (size_t i = 0; i < PH_ARRAY_LEN(lists); i++)
	argv_free(lists[i]);
    if (conf.classes)
	htable_free(&conf.classes, smtpd_check_free_argv);
    if (conf.tables)
	htable_free(&conf.tables, smtpd_check_free_maps);
    match_list_free(&conf.mynetworks);
    maps_free(&conf.local_rcpt_maps);
    maps_free(&conf.virtual_alias_maps);
    maps_free(&conf.virtual_mailbox_maps);
    maps_free(&conf.relay_rcpt_maps);
    maps_free(&conf.canonical_maps);
    maps_free(&conf.rcpt_canonical_maps);
    maps_free(&conf.sender_canonical_maps);
    maps_free(&conf.sender_login_maps);
    resolve_reset();
    conf.ready = false;
}

/* smtpd_check_is_local - mail_addr_find's local-domain test */
static bool smtpd_check_is_local(const char *domain)
{
    return *domain == 0 || resolve_local_domain(domain) > 0;
}

/* smtpd_check_can_refuse_relay - does a list end relaying for strangers */
static bool smtpd_check_can_refuse_relay(const ARGV *list)
{
    static const char *const refusers[] = {
	"reject_unauth_destination", "defer_unauth_destination", "reject",
	"defer", "defer_if_permit", "check_relay_domains", 0,
    };

    for (int i = 0; list && i < list->argc; i++)
	if (smtpd_check_word_in(refusers, list->argv[i]))
	    return true;
    return false;
}

/* smtpd_check_init - see smtpd_check.h */
void    smtpd_check_init(void)
{
    const char *error;

    if (conf.ready)
	smtpd_check_cleanup();
    if (smtpd_check_reply == NULL) {
	smtpd_check_reply = vstring_alloc(100);
	smtpd_check_resolved = resolve_reply_alloc();
    }
    conf.tables = htable_create(16);
    conf.classes = htable_create(16);
    mail_addr_find_set_local(smtpd_check_is_local);

    /* Restriction classes first: lists may name them. */
    ARGV   *names = argv_split_list(var_smtpd_restriction_classes ? var_smtpd_restriction_classes : "");

    for (int i = 0; i < names->argc; i++)
	htable_enter(conf.classes, names->argv[i], argv_alloc(1));
    for (int i = 0; i < names->argc; i++) {
	const char *value = config_lookup(names->argv[i]);
	HTABLE_ENTRY *he = htable_locate(conf.classes, names->argv[i]);

	if (value == NULL)
	    msg_fatal("parameter smtpd_restriction_classes: restriction class \"%s\" is not defined",
		      names->argv[i]);
	ARGV   *old = he->value;

	argv_free(&old);
	he->value = smtpd_check_parse_param(names->argv[i], value);
    }
    argv_free(&names);

    conf.client = smtpd_check_parse_param("smtpd_client_restrictions", var_smtpd_client_restrictions);
    conf.helo = smtpd_check_parse_param("smtpd_helo_restrictions", var_smtpd_helo_restrictions);
    conf.sender = smtpd_check_parse_param("smtpd_sender_restrictions", var_smtpd_sender_restrictions);
    conf.relay = smtpd_check_parse_param("smtpd_relay_restrictions", var_smtpd_relay_restrictions);
    conf.recipient = smtpd_check_parse_param("smtpd_recipient_restrictions",
					     var_smtpd_recipient_restrictions);
    conf.data = smtpd_check_parse_param("smtpd_data_restrictions", var_smtpd_data_restrictions);
    conf.eod = smtpd_check_parse_param("smtpd_end_of_data_restrictions",
				       var_smtpd_end_of_data_restrictions);
    if (!smtpd_check_can_refuse_relay(conf.relay) && !smtpd_check_can_refuse_relay(conf.recipient))
	msg_fatal("in parameter smtpd_relay_restrictions or smtpd_recipient_restrictions, "
		  "specify at least one working instance of: reject_unauth_destination, "
		  "defer_unauth_destination, reject, defer, defer_if_permit or check_relay_domains");

    /* Not set in main.cf: config.c computed it from mynetworks_style. */
    conf.mynetworks = match_list_create("mynetworks", var_mynetworks ? var_mynetworks : "",
					MATCH_FLAG_HOST, &error);
    if (conf.mynetworks == NULL)
	msg_fatal("parameter %s", error);	/* error names mynetworks */

    resolve_init();
    conf.local_rcpt_maps = smtpd_check_maps("local_recipient_maps", var_local_recipient_maps);
    conf.virtual_alias_maps = smtpd_check_maps("virtual_alias_maps", var_virtual_alias_maps);
    conf.virtual_mailbox_maps = smtpd_check_maps("virtual_mailbox_maps", var_virtual_mailbox_maps);
    conf.relay_rcpt_maps = smtpd_check_maps("relay_recipient_maps", var_relay_recipient_maps);
    conf.canonical_maps = smtpd_check_maps("canonical_maps", var_canonical_maps);
    conf.rcpt_canonical_maps = smtpd_check_maps("recipient_canonical_maps",
						var_recipient_canonical_maps);
    conf.sender_canonical_maps = smtpd_check_maps("sender_canonical_maps",
						  var_sender_canonical_maps);
    conf.sender_login_maps = smtpd_check_maps("smtpd_sender_login_maps",
					      var_smtpd_sender_login_maps);
    conf.ready = true;
}

/* smtpd_check_mynetworks - see smtpd_check.h */
int     smtpd_check_mynetworks(SMTPD_STATE *state)
{
    const char *error;
    int     rc;

    if (!conf.ready)
	msg_panic("smtpd_check_mynetworks: smtpd_check_init was not called");
    rc = match_list_match(conf.mynetworks, state->name, state->addr, &error);
    if (rc < 0)
	msg_warn("mynetworks lookup for %s: %s", state->namaddr, error);
    if (rc > 0)
	state->flags |= SMTPD_FLAG_MYNETWORKS;
    else
	state->flags &= ~SMTPD_FLAG_MYNETWORKS;
    return rc;
}

/* smtpd_check_ctx_init - start one command's evaluation */
static void smtpd_check_ctx_init(SMTPD_CHECK_CTX *ctx, SMTPD_STATE *state, const char *where)
{
    memset(ctx, 0, sizeof(*ctx));
    ctx->state = state;
    ctx->where = where;
    ctx->sender = state->sender;
    ctx->helo = state->helo_name;
    ctx->reply = vstring_alloc(100);
    ctx->dip_reply = vstring_alloc(100);
}

/* smtpd_check_ctx_done - release, and hand out the reply (or NULL) */
static const char *smtpd_check_ctx_done(SMTPD_CHECK_CTX *ctx, int status)
{
    const char *result = NULL;

    if (status == SMTPD_CHECK_REJECT) {
	vstring_set(smtpd_check_reply, STR(ctx->reply));
	result = STR(smtpd_check_reply);
    }
    vstring_free(&ctx->reply);
    vstring_free(&ctx->dip_reply);
    return result;
}

/* smtpd_check_log - the Postfix "NOQUEUE: action: WHERE from ..." line */
static void smtpd_check_log(SMTPD_CHECK_CTX *ctx, const char *action, const char *text)
{
    SMTPD_STATE *state = ctx->state;
    VSTRING *buf = vstring_alloc(200);

    vstring_fmt(buf, "%s: %s: %s from %s: %s",
		state->queue_id[0] ? state->queue_id : "NOQUEUE",
		action, ctx->where, state->namaddr, text);
    const char *sep = "; ";

    if (ctx->sender) {
	vstring_fmt_append(buf, "%sfrom=<%s>", sep, ctx->sender);
	sep = " ";
    }
    if (ctx->recipient) {
	vstring_fmt_append(buf, "%sto=<%s>", sep, ctx->recipient);
	sep = " ";
    }
    if (state->protocol) {
	vstring_fmt_append(buf, "%sproto=%s", sep, state->protocol);
	sep = " ";
    }
    if (ctx->helo)
	vstring_fmt_append(buf, "%shelo=<%s>", sep, ctx->helo);
    msg_info("%s", STR(buf));
    vstring_free(&buf);
}

/* smtpd_check_reject - build, adjust and log a reject reply. dsn is the
 * default status ("5.7.1"); text may start with its own "X.Y.Z ".
 * Returns SMTPD_CHECK_REJECT, or SMTPD_CHECK_DUNNO under warn_if_reject. */
static int smtpd_check_reject(SMTPD_CHECK_CTX *ctx, int code, const char *dsn,
			      const char *fmt,...) PH_PRINTF(4, 5);

static int smtpd_check_reject(SMTPD_CHECK_CTX *ctx, int code, const char *dsn,
			      const char *fmt,...)
{
    VSTRING *text = vstring_alloc(100);
    char    status[16];
    va_list ap;

    va_start(ap, fmt);
    vstring_vfmt_append(text, fmt, ap);
    va_end(ap);

    if (code < 400 || code > 599) {
	msg_warn("bad reply code %d for \"%s\": using 451", code, STR(text));
	code = 451;
	dsn = "4.3.5";
    }
    ph_strlcpy(status, dsn, sizeof(status));
    /* defer_if_reject: a would-be permanent reject becomes temporary. */
    if (ctx->defer_if_reject && code >= 500 && !ctx->warn_active)
	code = (int) var_defer_code;
    status[0] = code >= 500 ? '5' : '4';
    vstring_fmt(ctx->reply, "%d %s %s", code, status, STR(text));
    vstring_free(&text);
    if (ctx->warn_active) {
	smtpd_check_log(ctx, "reject_warning", STR(ctx->reply));
	return SMTPD_CHECK_DUNNO;
    }
    smtpd_check_log(ctx, "reject", STR(ctx->reply));
    return SMTPD_CHECK_REJECT;
}

/* smtpd_check_config_error - a problem with the configuration, found
 * while serving a client (Postfix's reply shape) */
static int smtpd_check_config_error(SMTPD_CHECK_CTX *ctx, const char *reply_name,
				    const char *reply_class)
{
    bool    saved = ctx->warn_active;
    int     rc;

    ctx->warn_active = false;
    rc = smtpd_check_reject(ctx, 451, "4.3.5", "<%s>: %s rejected: Server configuration error",
			    reply_name, reply_class);
    ctx->warn_active = saved;
    return rc;
}

/* smtpd_check_table_error - an access table lookup failed: that is a
 * configuration problem to Postfix too (4.3.5), never a silent DUNNO */
static int smtpd_check_table_error(SMTPD_CHECK_CTX *ctx, const char *reply_name,
				   const char *reply_class, const char *why)
{
    msg_warn("%s", why ? why : "access table lookup failed");
    return smtpd_check_config_error(ctx, reply_name, reply_class);
}

/* smtpd_check_lookup_error - a table lookup failed: try again later */
static int smtpd_check_lookup_error(SMTPD_CHECK_CTX *ctx, const char *name,
				    const char *why)
{
    bool    saved = ctx->warn_active;
    int     rc;

    msg_warn("%s", why ? why : "table lookup failed");
    ctx->warn_active = false;
    rc = smtpd_check_reject(ctx, 451, "4.3.0", "<%s>: Temporary lookup failure", name);
    ctx->warn_active = saved;
    return rc;
}

/* smtpd_check_split_dsn - "X.Y.Z rest" -> status and text */
static const char *smtpd_check_split_dsn(const char *text, const char *def_dsn, char dsn[16])
{
    size_t  n = 0;

    while (*text == ' ' || *text == '\t')
	text++;
    if ((text[0] == '4' || text[0] == '5') && text[1] == '.') {
	n = strspn(text, "0123456789.");
	if (n >= 5 && n < 12 && (text[n] == 0 || text[n] == ' ' || text[n] == '\t')) {
	    memcpy(dsn, text, n);
	    dsn[n] = 0;
	    text += n;
	    while (*text == ' ' || *text == '\t')
		text++;
	    return text;
	}
    }
    ph_strlcpy(dsn, def_dsn, 16);
    return text;
}

/* smtpd_check_table_result - act on an access(5) table result */
static int smtpd_check_table_result(SMTPD_CHECK_CTX *ctx, const char *table,
				    const char *value, const char *reply_name,
				    const char *reply_class)
{
    char    dsn[16];
    const char *text;
    size_t  wlen = strcspn(value, " \t");
    const char *rest = value + wlen;

    while (*rest == ' ' || *rest == '\t')
	rest++;

#define WORD_IS(w) (wlen == strlen(w) && strncasecmp(value, (w), wlen) == 0)

    if (WORD_IS("OK") || WORD_IS("PERMIT"))
	return SMTPD_CHECK_OK;
    if (wlen > 0 && strspn(value, "0123456789") == strlen(value))
	return SMTPD_CHECK_OK;			/* all-numeric: OK */
    if (WORD_IS("DUNNO"))
	return SMTPD_CHECK_DUNNO;
    if (WORD_IS("REJECT") || WORD_IS("DEFER")) {
	bool    defer = WORD_IS("DEFER");

	text = smtpd_check_split_dsn(rest, defer ? "4.7.1" : "5.7.1", dsn);
	return smtpd_check_reject(ctx, (int) (defer ? var_access_map_defer_code
					      : var_access_map_reject_code), dsn,
				  "<%s>: %s rejected: %s", reply_name, reply_class,
				  *text ? text : "Access denied");
    }
    if (WORD_IS("DEFER_IF_REJECT")) {
	ctx->defer_if_reject = true;
	return SMTPD_CHECK_DUNNO;
    }
    if (WORD_IS("DEFER_IF_PERMIT")) {
	text = smtpd_check_split_dsn(rest, "4.7.1", dsn);
	if (!ctx->defer_if_permit) {
	    ctx->defer_if_permit = true;
	    dsn[0] = '4';
	    vstring_fmt(ctx->dip_reply, "%ld %s <%s>: %s rejected: %s", var_access_map_defer_code,
			dsn, reply_name, reply_class, *text ? text : "Service unavailable");
	}
	return SMTPD_CHECK_DUNNO;
    }
    if (isdigit((unsigned char) value[0]) && isdigit((unsigned char) value[1])
	&& isdigit((unsigned char) value[2]) && (value[3] == ' ' || value[3] == '\t' || value[3] == 0)) {
	int     code = atoi(value);

	if ((code < 400 || code > 599)) {
	    msg_warn("access table %s: bad reply code in \"%s\"", table, value);
	    return smtpd_check_config_error(ctx, reply_name, reply_class);
	}
	text = smtpd_check_split_dsn(value + 3, code >= 500 ? "5.7.1" : "4.7.1", dsn);
	if (dsn[0] != value[0]) {
	    msg_warn("access table %s: reply code %d and status %s disagree", table, code, dsn);
	    dsn[0] = value[0];
	}
	return smtpd_check_reject(ctx, code, dsn, "<%s>: %s rejected: %s", reply_name,
				  reply_class, *text ? text : "Access denied");
    }
    if (WORD_IS("DISCARD")) {
	VSTRING *buf = vstring_alloc(100);

	vstring_fmt(buf, "<%s>: %s %s", reply_name, reply_class,
		    *rest ? rest : "triggers DISCARD action");
	smtpd_check_log(ctx, "discard", STR(buf));
	vstring_free(&buf);
	ctx->state->flags |= SMTPD_FLAG_DISCARD;
	return SMTPD_CHECK_OK;
    }
    if (WORD_IS("HOLD")) {
	VSTRING *buf = vstring_alloc(100);

	vstring_fmt(buf, "<%s>: %s %s", reply_name, reply_class,
		    *rest ? rest : "triggers HOLD action");
	smtpd_check_log(ctx, "hold", STR(buf));
	ctx->state->flags |= SMTPD_FLAG_HOLD;
	myfree(ctx->state->hold_reason);
	ctx->state->hold_reason = vstring_export(&buf);
	return SMTPD_CHECK_DUNNO;
    }
    if (WORD_IS("FILTER")) {
	if (*rest == 0 || strchr(rest, ':') == NULL) {
	    msg_warn("access table %s: FILTER action without transport:destination; ignored",
		     table);
	    return SMTPD_CHECK_DUNNO;
	}
	myfree(ctx->state->filter);
	ctx->state->filter = mystrdup(rest);
	VSTRING *buf = vstring_alloc(100);

	vstring_fmt(buf, "<%s>: %s triggers FILTER %s", reply_name, reply_class, rest);
	smtpd_check_log(ctx, "filter", STR(buf));
	vstring_free(&buf);
	return SMTPD_CHECK_DUNNO;
    }
    if (WORD_IS("WARN") || WORD_IS("INFO")) {
	smtpd_check_log(ctx, WORD_IS("WARN") ? "warn" : "info", rest);
	return SMTPD_CHECK_DUNNO;
    }
    if (WORD_IS("PREPEND") || WORD_IS("REDIRECT") || WORD_IS("BCC")) {
	msg_warn("access table %s: action \"%.*s\" is not supported; ignored",
		 table, (int) wlen, value);
	return SMTPD_CHECK_DUNNO;
    }

    /* Anything else is a restriction list. */
    const char *error;
    ARGV   *list = smtpd_check_parse(value, &error);
    int     status;

    if (list == NULL) {
	msg_warn("access table %s: result \"%s\": %s", table, value, error);
	return smtpd_check_config_error(ctx, reply_name, reply_class);
    }
    status = smtpd_check_list(ctx, list, reply_name, reply_class);
    argv_free(&list);
    return status;
}

/* smtpd_check_maps_find - one access lookup; DICT_* result */
static int smtpd_check_maps_find(MAPS *maps, const char *key, int flags,
				 const char **value_r, const char **error_r)
{
    return maps_find(maps, key, flags | DICT_LOOKUP_FOLD, value_r, error_r);
}

/* smtpd_check_domain_access - a host or domain name, then its parents
 * ("example.com" with parent_domain_matches_subdomains, else ".example.com") */
static int smtpd_check_domain_access(SMTPD_CHECK_CTX *ctx, const char *table, const char *domain,
				     const char *reply_name, const char *reply_class,
				     bool *found_r)
{
    MAPS   *maps = smtpd_check_table(table);
    bool    pdms = match_list_parent_matches("smtpd_access_maps");
    const char *value, *error;
    const char *name = domain;
    int     rc, flags = 0;
    VSTRING *key = vstring_alloc(100);

    *found_r = false;
    while (*name) {
	vstring_fmt(key, "%s%s", (flags && !pdms) ? "." : "", name);
	rc = smtpd_check_maps_find(maps, STR(key), flags, &value, &error);
	if (rc == DICT_ERROR) {
	    vstring_free(&key);
	    return smtpd_check_table_error(ctx, reply_name, reply_class, error);
	}
	if (rc == DICT_FOUND) {
	    char   *copy = mystrdup(value);

	    *found_r = true;
	    vstring_free(&key);
	    rc = smtpd_check_table_result(ctx, table, copy, reply_name, reply_class);
	    myfree(copy);
	    return rc;
	}
	if ((name = strchr(name + (*name == '.'), '.')) == NULL)
	    break;
	name++;
	flags = MAPS_FIND_PARTIAL;
    }
    vstring_free(&key);
    return SMTPD_CHECK_DUNNO;
}

/* smtpd_check_addr_access - a client address, then shorter prefixes
 * (1.2.3.4, 1.2.3, 1.2, 1; IPv6 at ':' boundaries) */
static int smtpd_check_addr_access(SMTPD_CHECK_CTX *ctx, const char *table, const char *addr,
				   const char *reply_name, const char *reply_class,
				   bool *found_r)
{
    MAPS   *maps = smtpd_check_table(table);
    const char *value, *error;
    char   *key = mystrdup(addr);
    char    delim = strchr(addr, ':') ? ':' : '.';
    int     rc, flags = 0;
    char   *cp;

    *found_r = false;
    for (;;) {
	rc = smtpd_check_maps_find(maps, key, flags, &value, &error);
	if (rc == DICT_ERROR) {
	    myfree(key);
	    return smtpd_check_table_error(ctx, reply_name, reply_class, error);
	}
	if (rc == DICT_FOUND) {
	    char   *copy = mystrdup(value);

	    *found_r = true;
	    myfree(key);
	    rc = smtpd_check_table_result(ctx, table, copy, reply_name, reply_class);
	    myfree(copy);
	    return rc;
	}
	if ((cp = strrchr(key, delim)) == NULL)
	    break;
	*cp = 0;
	while (cp > key && cp[-1] == delim)
	    *--cp = 0;
	if (*key == 0)
	    break;
	flags = MAPS_FIND_PARTIAL;
    }
    myfree(key);
    return SMTPD_CHECK_DUNNO;
}

/* smtpd_check_mail_access - access(5) lookup of a sender or recipient */
static int smtpd_check_mail_access(SMTPD_CHECK_CTX *ctx, const char *table, const char *addr,
				   const char *reply_name, const char *reply_class)
{
    MAPS   *maps = smtpd_check_table(table);
    const char *value, *error;
    int     rc;

    if (*addr == 0) {
	rc = smtpd_check_maps_find(maps, var_smtpd_null_access_lookup_key
				   ? var_smtpd_null_access_lookup_key : "<>", 0, &value, &error);
    } else {
	resolve_addr(addr, smtpd_check_resolved);
	int     strategy = MA_FIND_ACCESS;

	if (match_list_parent_matches("smtpd_access_maps"))
	    strategy |= MA_FIND_PDMS;
	rc = mail_addr_find(maps, STR(smtpd_check_resolved->recipient), strategy,
			    &value, NULL, &error);
    }
    if (rc == DICT_ERROR)
	return smtpd_check_table_error(ctx, reply_name, reply_class, error);
    if (rc != DICT_FOUND)
	return SMTPD_CHECK_DUNNO;

    char   *copy = mystrdup(value);

    rc = smtpd_check_table_result(ctx, table, copy, reply_name, reply_class);
    myfree(copy);
    return rc;
}

/* smtpd_check_addr_domain - the domain of an address as given ("" when none) */
static const char *smtpd_check_addr_domain(const char *addr)
{
    resolve_addr(addr, smtpd_check_resolved);
    /* resolve fills in $myorigin for a bare name: look at the input */
    return strrchr(addr, '@') ? STR(smtpd_check_resolved->domain) : "";
}

/* smtpd_check_unknown_domain - reject_unknown_{sender,recipient}_domain */
static int smtpd_check_unknown_domain(SMTPD_CHECK_CTX *ctx, const char *addr,
				      const char *reply_class, const char *dsn_ok)
{
    const char *domain;
    int     rc;
    char    dsn[16];

    if (*addr == 0 || (domain = smtpd_check_addr_domain(addr))[0] == 0)
	return SMTPD_CHECK_DUNNO;
    if (smtpd_check_resolved->class != RESOLVE_CLASS_DEFAULT)
	return SMTPD_CHECK_DUNNO;		/* one of ours */
    char   *copy = mystrdup(domain);

    rc = smtpd_dns_domain_exists(copy);
    myfree(copy);
    if (rc > 0)
	return SMTPD_CHECK_DUNNO;
    if (rc < 0) {
	if (!ctx->defer_if_permit) {
	    ctx->defer_if_permit = true;
	    vstring_fmt(ctx->dip_reply, "450 4%s <%s>: %s rejected: Domain not found",
			dsn_ok + 1, addr, reply_class);
	}
	return SMTPD_CHECK_DUNNO;
    }
    ph_strlcpy(dsn, dsn_ok, sizeof(dsn));
    return smtpd_check_reject(ctx, (int) var_unknown_address_reject_code, dsn,
			      "<%s>: %s rejected: Domain not found", addr, reply_class);
}

/* smtpd_check_maps_has - is address listed (virtual(5) order) */
static int smtpd_check_maps_has(MAPS *maps, const char *address, const char **error_r)
{
    const char *value;

    if (maps == NULL)
	return DICT_NOTFOUND;
    return mail_addr_find(maps, address, MA_FIND_VIRTUAL, &value, NULL, error_r);
}

/* smtpd_check_unlisted - reject_unlisted_recipient / _sender */
static int smtpd_check_unlisted(SMTPD_CHECK_CTX *ctx, const char *addr,
				const char *reply_class, bool is_sender)
{
    const char *error = NULL;
    const char *final;
    MAPS   *table = NULL;
    MAPS   *canon = is_sender ? conf.sender_canonical_maps : conf.rcpt_canonical_maps;
    const char *what;
    long    code;
    int     rc;

    if (*addr == 0)
	return SMTPD_CHECK_DUNNO;
    resolve_addr(addr, smtpd_check_resolved);
    if (smtpd_check_resolved->flags & RESOLVE_FLAG_FAIL)
	return smtpd_check_lookup_error(ctx, addr, "address resolution failed");
    final = STR(smtpd_check_resolved->recipient);

    switch (smtpd_check_resolved->class) {
    case RESOLVE_CLASS_LOCAL:
	if ((table = conf.local_rcpt_maps) == NULL)
	    return SMTPD_CHECK_DUNNO;
	what = "User unknown in local recipient table";
	code = var_unknown_local_recipient_reject_code;
	break;
    case RESOLVE_CLASS_VIRTUAL_ALIAS:
	what = "User unknown in virtual alias table";
	code = var_unknown_virtual_alias_reject_code;
	break;
    case RESOLVE_CLASS_VIRTUAL_MAILBOX:
	table = conf.virtual_mailbox_maps;
	what = "User unknown in virtual mailbox table";
	code = var_unknown_virtual_mailbox_reject_code;
	break;
    case RESOLVE_CLASS_RELAY:
	if ((table = conf.relay_rcpt_maps) == NULL)
	    return SMTPD_CHECK_DUNNO;
	what = "User unknown in relay recipient table";
	code = var_unknown_relay_recipient_reject_code;
	break;
    default:
	return SMTPD_CHECK_DUNNO;
    }

    /* An address that is rewritten elsewhere is known. */
    MAPS   *known[] = {conf.canonical_maps, canon, conf.virtual_alias_maps, table};

    for (size_t i = 0; i < PH_ARRAY_LEN(known); i++) {
	if (known[i] == NULL)
	    continue;
	rc = smtpd_check_maps_has(known[i], final, &error);
	if (rc == DICT_FOUND)
	    return SMTPD_CHECK_DUNNO;
	if (rc == DICT_ERROR)
	    return smtpd_check_lookup_error(ctx, addr, error);
    }
    return smtpd_check_reject(ctx, (int) code, is_sender ? "5.1.0" : "5.1.1",
			      "<%s>: %s rejected: %s", addr, reply_class, what);
}

/* smtpd_check_auth_destination - 1 when the recipient is ours to accept
 * (final destination or relay_domains) without sender routing; -1 when
 * resolution failed */
static int smtpd_check_auth_destination(const char *rcpt)
{
    resolve_addr(rcpt, smtpd_check_resolved);
    if (smtpd_check_resolved->flags & RESOLVE_FLAG_FAIL)
	return -1;
    if (smtpd_check_resolved->flags & (RESOLVE_FLAG_ROUTED | RESOLVE_FLAG_ERROR))
	return 0;
    return smtpd_check_resolved->class != RESOLVE_CLASS_DEFAULT;
}

/* smtpd_check_pipelining - did the client send ahead where it may not.
 * "Ahead now" is input already waiting behind the current command;
 * SMTPD_FLAG_PIPELINED means the client sent ahead earlier. A client that
 * never saw our EHLO reply may not pipeline at all; an EHLO client may,
 * except right after connect, after HELO/EHLO, and after DATA (the
 * message must wait for the 354). */
static bool smtpd_check_pipelining(SMTPD_CHECK_CTX *ctx)
{
    SMTPD_STATE *state = ctx->state;
    bool    ahead_now = state->client != NULL && stream_pending(state->client) > 0;
    bool    sent_ahead = (state->flags & SMTPD_FLAG_PIPELINED) != 0;

    if ((state->flags & SMTPD_FLAG_LOCAL) || state->stand_alone)
	return false;
    if (!(state->flags & SMTPD_FLAG_EHLO))
	return ahead_now || sent_ahead;
    return ahead_now
	&& (strcmp(ctx->where, "DATA") == 0 || strcmp(ctx->where, "CONNECT") == 0
	    || strcmp(ctx->where, "EHLO") == 0 || strcmp(ctx->where, "HELO") == 0);
}

/* smtpd_check_login_owns - is login among the owners (comma/space list) */
static bool smtpd_check_login_owns(const char *owners, const char *login)
{
    ARGV   *av = argv_split_list(owners);
    bool    found = false;

    for (int i = 0; i < av->argc && !found; i++)
	found = strcasecmp(av->argv[i], login) == 0;
    argv_free(&av);
    return found;
}

/* smtpd_check_login_mismatch - the reject_*_sender_login_mismatch family:
 * auth (check authenticated clients), unauth (check the others), known
 * (authenticated, only senders listed in smtpd_sender_login_maps) */
static int smtpd_check_login_mismatch(SMTPD_CHECK_CTX *ctx, bool auth, bool unauth,
				      bool known)
{
    SMTPD_STATE *state = ctx->state;
    const char *sender = ctx->sender;
    const char *login = state->sasl_username;
    const char *owners = NULL, *error = NULL;
    int     rc;

    if (sender == NULL || *sender == 0 || conf.sender_login_maps == NULL)
	return SMTPD_CHECK_DUNNO;
    resolve_addr(sender, smtpd_check_resolved);
    rc = mail_addr_find(conf.sender_login_maps, STR(smtpd_check_resolved->recipient),
			MA_FIND_VIRTUAL, &owners, NULL, &error);
    if (rc == DICT_ERROR)
	return smtpd_check_lookup_error(ctx, sender, error);
    if (login != NULL) {
	if (!auth && !known)
	    return SMTPD_CHECK_DUNNO;
	if (rc == DICT_FOUND && smtpd_check_login_owns(owners, login))
	    return SMTPD_CHECK_DUNNO;
	if (rc != DICT_FOUND && known)
	    return SMTPD_CHECK_DUNNO;
	return smtpd_check_reject(ctx, 553, "5.7.1",
				  "<%s>: Sender address rejected: not owned by user %s",
				  sender, login);
    }
    if (unauth && rc == DICT_FOUND)
	return smtpd_check_reject(ctx, 553, "5.7.1",
				  "<%s>: Sender address rejected: not logged in", sender);
    return SMTPD_CHECK_DUNNO;
}

/* smtpd_check_dnsbl - reject_rbl_client and the reject_rhsbl_* family */
static int smtpd_check_dnsbl(SMTPD_CHECK_CTX *ctx, const char *op, const char *arg)
{
    SMTPD_STATE *state = ctx->state;
    VSTRING *query = vstring_alloc(100);
    VSTRING *txt = vstring_alloc(100);
    char   *zone = mystrdup(arg);
    char   *want = strchr(zone, '=');
    const char *what = NULL;		/* for the reply: "Client host [a]" ... */
    VSTRING *subject = vstring_alloc(100);
    int     status = SMTPD_CHECK_DUNNO;

    if (want)
	*want++ = 0;
    if (strcasecmp(op, "reject_rbl_client") == 0) {
	unsigned char a[16];

	if (inet_pton(AF_INET, state->addr, a) == 1) {
	    vstring_fmt(query, "%d.%d.%d.%d.%s", a[3], a[2], a[1], a[0], zone);
	} else if (inet_pton(AF_INET6, state->addr, a) == 1) {
	    for (int i = 15; i >= 0; i--)
		vstring_fmt_append(query, "%x.%x.", a[i] & 0xf, a[i] >> 4);
	    vstring_cat(query, zone);
	}
	what = "Client host";
	vstring_fmt(subject, "[%s]", state->addr);
    } else {
	const char *domain = NULL;

	if (strcasecmp(op, "reject_rhsbl_client") == 0) {
	    if (strcmp(state->name, "unknown") != 0)
		domain = state->name;
	    what = "Client host";
	} else if (strcasecmp(op, "reject_rhsbl_helo") == 0) {
	    domain = ctx->helo;
	    what = "Helo command";
	} else {
	    bool    snd = strcasecmp(op, "reject_rhsbl_sender") == 0;
	    const char *addr = snd ? ctx->sender : ctx->recipient;

	    if (addr && *addr && strrchr(addr, '@'))
		domain = smtpd_check_addr_domain(addr);
	    what = snd ? "Sender address" : "Recipient address";
	}
	if (domain && *domain && *domain != '[') {
	    vstring_fmt(query, "%s.%s", domain, zone);
	    vstring_set(subject, domain);
	}
    }
    if (LEN(query) > 0 && LEN(query) < 250 && smtpd_dns_listed(STR(query), want, txt)) {
	status = smtpd_check_reject(ctx, 554, "5.7.1",
				    "Service unavailable; %s %s blocked using %s%s%s",
				    what, STR(subject), zone, LEN(txt) ? "; " : "", STR(txt));
    }
    vstring_free(&query);
    vstring_free(&txt);
    vstring_free(&subject);
    myfree(zone);
    return status;
}

/* smtpd_check_one - evaluate restriction list->argv[*ip] (advances *ip
 * past its argument) */
static int smtpd_check_one(SMTPD_CHECK_CTX *ctx, ARGV *list, int *ip,
			   const char *reply_name, const char *reply_class)
{
    SMTPD_STATE *state = ctx->state;
    const char *name = list->argv[*ip];
    const char *arg = NULL;
    ARGV   *class_list;
    bool    found;
    int     rc;

    if (smtpd_check_word_in(smtpd_check_table_ops, name)
	|| smtpd_check_word_in(smtpd_check_dnsbl_ops, name)) {
	if (*ip + 1 >= list->argc)
	    return smtpd_check_config_error(ctx, reply_name, reply_class);
	arg = list->argv[++*ip];
    }
#define IS(w) (strcasecmp(name, (w)) == 0)

    if (IS("permit"))
	return SMTPD_CHECK_OK;
    if (IS("reject"))
	return smtpd_check_reject(ctx, (int) var_reject_code, "5.7.1",
				  "<%s>: %s rejected: Access denied", reply_name, reply_class);
    if (IS("defer"))
	return smtpd_check_reject(ctx, (int) var_defer_code, "4.7.1",
				  "<%s>: %s rejected: Access denied", reply_name, reply_class);
    if (IS("defer_if_permit")) {
	if (!ctx->defer_if_permit) {
	    ctx->defer_if_permit = true;
	    vstring_fmt(ctx->dip_reply, "%ld 4.7.0 <%s>: %s rejected: defer_if_permit requested",
			var_defer_code, reply_name, reply_class);
	}
	return SMTPD_CHECK_DUNNO;
    }
    if (IS("defer_if_reject")) {
	ctx->defer_if_reject = true;
	return SMTPD_CHECK_DUNNO;
    }
    if (IS("warn_if_reject")) {
	ctx->warn_next = true;
	return SMTPD_CHECK_DUNNO;
    }
    if (IS("permit_mynetworks"))
	return (state->flags & SMTPD_FLAG_MYNETWORKS) ? SMTPD_CHECK_OK : SMTPD_CHECK_DUNNO;
    if (IS("permit_sasl_authenticated"))
	return ((state->flags & SMTPD_FLAG_AUTH) || state->sasl_username)
	    ? SMTPD_CHECK_OK : SMTPD_CHECK_DUNNO;
    if (IS("reject_unauth_destination") || IS("defer_unauth_destination")
	|| IS("check_relay_domains")) {
	if (ctx->recipient == NULL)
	    return SMTPD_CHECK_DUNNO;
	if ((rc = smtpd_check_auth_destination(ctx->recipient)) < 0)
	    return smtpd_check_lookup_error(ctx, ctx->recipient, "relay_domains lookup failed");
	if (rc > 0)
	    return IS("check_relay_domains") ? SMTPD_CHECK_OK : SMTPD_CHECK_DUNNO;
	if (IS("check_relay_domains") && (state->flags & SMTPD_FLAG_MYNETWORKS))
	    return SMTPD_CHECK_OK;
	if (IS("defer_unauth_destination"))
	    return smtpd_check_reject(ctx, 454, "4.7.1", "<%s>: Relay access denied",
				      ctx->recipient);
	return smtpd_check_reject(ctx, (int) var_relay_domains_reject_code, "5.7.1",
				  "<%s>: Relay access denied", ctx->recipient);
    }
    if (IS("permit_auth_destination")) {
	if (ctx->recipient == NULL)
	    return SMTPD_CHECK_DUNNO;
	if ((rc = smtpd_check_auth_destination(ctx->recipient)) < 0)
	    return smtpd_check_lookup_error(ctx, ctx->recipient, "relay_domains lookup failed");
	return rc > 0 ? SMTPD_CHECK_OK : SMTPD_CHECK_DUNNO;
    }
    if (IS("reject_unauth_pipelining")) {
	if (!smtpd_check_pipelining(ctx))
	    return SMTPD_CHECK_DUNNO;
	return smtpd_check_reject(ctx, (int) var_unauth_pipelining_reject_code, "5.5.0",
				  "<%s>: %s rejected: Improper use of SMTP command pipelining",
				  reply_name, reply_class);
    }
    if (IS("reject_non_fqdn_helo_hostname") || IS("reject_non_fqdn_hostname")) {
	if (ctx->helo == NULL || smtpd_dns_fqdn(ctx->helo))
	    return SMTPD_CHECK_DUNNO;
	return smtpd_check_reject(ctx, (int) var_non_fqdn_reject_code, "5.5.2",
				  "<%s>: Helo command rejected: need fully-qualified hostname",
				  ctx->helo);
    }
    if (IS("reject_invalid_helo_hostname") || IS("reject_invalid_hostname")) {
	if (ctx->helo == NULL || smtpd_dns_hostname_valid(ctx->helo))
	    return SMTPD_CHECK_DUNNO;
	return smtpd_check_reject(ctx, (int) var_invalid_hostname_reject_code, "5.5.2",
				  "<%s>: Helo command rejected: Invalid name", ctx->helo);
    }
    if (IS("reject_non_fqdn_sender") || IS("reject_non_fqdn_recipient")) {
	bool    snd = IS("reject_non_fqdn_sender");
	const char *addr = snd ? ctx->sender : ctx->recipient;
	const char *domain;

	if (addr == NULL || *addr == 0)
	    return SMTPD_CHECK_DUNNO;
	domain = smtpd_check_addr_domain(addr);
	if (*domain && smtpd_dns_fqdn(domain)
	    && !(smtpd_check_resolved->flags & RESOLVE_FLAG_ERROR))
	    return SMTPD_CHECK_DUNNO;
	return smtpd_check_reject(ctx, (int) var_non_fqdn_reject_code, "5.5.2",
				  "<%s>: %s rejected: need fully-qualified address", addr,
				  snd ? SMTPD_NAME_SENDER : SMTPD_NAME_RECIPIENT);
    }
    if (IS("reject_unknown_sender_domain")) {
	if (ctx->sender == NULL)
	    return SMTPD_CHECK_DUNNO;
	return smtpd_check_unknown_domain(ctx, ctx->sender, SMTPD_NAME_SENDER, "5.1.8");
    }
    if (IS("reject_unknown_recipient_domain")) {
	if (ctx->recipient == NULL)
	    return SMTPD_CHECK_DUNNO;
	return smtpd_check_unknown_domain(ctx, ctx->recipient, SMTPD_NAME_RECIPIENT, "5.1.2");
    }
    if (IS("reject_unlisted_recipient") || IS("reject_unknown_recipient")) {
	if (ctx->recipient == NULL)
	    return SMTPD_CHECK_DUNNO;
	return smtpd_check_unlisted(ctx, ctx->recipient, SMTPD_NAME_RECIPIENT, false);
    }
    if (IS("reject_unlisted_sender")) {
	if (ctx->sender == NULL)
	    return SMTPD_CHECK_DUNNO;
	return smtpd_check_unlisted(ctx, ctx->sender, SMTPD_NAME_SENDER, true);
    }
    if (IS("reject_unknown_reverse_client_hostname") || IS("reject_unknown_client")
	|| IS("reject_unknown_client_hostname")) {
	if (strcmp(state->name, "unknown") != 0)
	    return SMTPD_CHECK_DUNNO;
	return smtpd_check_reject(ctx, 450, "4.7.1",
				  "Client host rejected: cannot find your %shostname, [%s]",
				  IS("reject_unknown_client_hostname") ? "" : "reverse ",
				  state->addr);
    }
    if (IS("check_client_access")) {
	rc = SMTPD_CHECK_DUNNO;
	found = false;
	if (strcmp(state->name, "unknown") != 0)
	    rc = smtpd_check_domain_access(ctx, arg, state->name, state->namaddr,
					   SMTPD_NAME_CLIENT, &found);
	if (!found)
	    rc = smtpd_check_addr_access(ctx, arg, state->addr, state->namaddr,
					 SMTPD_NAME_CLIENT, &found);
	return rc;
    }
    if (IS("check_helo_access")) {
	if (ctx->helo == NULL)
	    return SMTPD_CHECK_DUNNO;
	char   *helo = mystrdup(ctx->helo);
	size_t  len = strlen(helo);

	while (len > 1 && helo[len - 1] == '.')
	    helo[--len] = 0;
	rc = smtpd_check_domain_access(ctx, arg, helo, ctx->helo, SMTPD_NAME_HELO, &found);
	myfree(helo);
	return rc;
    }
    if (IS("check_sender_access")) {
	if (ctx->sender == NULL)
	    return SMTPD_CHECK_DUNNO;
	return smtpd_check_mail_access(ctx, arg, ctx->sender, ctx->sender, SMTPD_NAME_SENDER);
    }
    if (IS("check_recipient_access")) {
	if (ctx->recipient == NULL)
	    return SMTPD_CHECK_DUNNO;
	return smtpd_check_mail_access(ctx, arg, ctx->recipient, ctx->recipient,
				       SMTPD_NAME_RECIPIENT);
    }
    if (IS("reject_sender_login_mismatch"))
	return smtpd_check_login_mismatch(ctx, true, true, false);
    if (IS("reject_authenticated_sender_login_mismatch"))
	return smtpd_check_login_mismatch(ctx, true, false, false);
    if (IS("reject_known_sender_login_mismatch"))
	return smtpd_check_login_mismatch(ctx, false, true, true);
    if (IS("reject_unauthenticated_sender_login_mismatch"))
	return smtpd_check_login_mismatch(ctx, false, true, false);
    if (smtpd_check_word_in(smtpd_check_dnsbl_ops, name))
	return smtpd_check_dnsbl(ctx, name, arg);
    if ((class_list = htable_find(conf.classes, name)) != NULL)
	return smtpd_check_list(ctx, class_list, reply_name, reply_class);

    msg_warn("unknown restriction \"%s\"", name);
    return smtpd_check_config_error(ctx, reply_name, reply_class);
}

/* smtpd_check_list - evaluate a restriction list; first decision wins */
static int smtpd_check_list(SMTPD_CHECK_CTX *ctx, ARGV *list, const char *reply_name,
			    const char *reply_class)
{
    int     status = SMTPD_CHECK_DUNNO;

    if (++ctx->depth > SMTPD_CHECK_MAX_DEPTH) {
	msg_warn("restriction nesting deeper than %d: check smtpd_restriction_classes "
		 "and access table results", SMTPD_CHECK_MAX_DEPTH);
	ctx->depth--;
	return smtpd_check_config_error(ctx, reply_name, reply_class);
    }
    for (int i = 0; list && i < list->argc && status == SMTPD_CHECK_DUNNO; i++) {
	bool    is_warn = strcasecmp(list->argv[i], "warn_if_reject") == 0;

	ctx->warn_active = ctx->warn_next && !is_warn;
	if (!is_warn)
	    ctx->warn_next = false;
	status = smtpd_check_one(ctx, list, &i, reply_name, reply_class);
	ctx->warn_active = false;
    }
    ctx->depth--;
    return status;
}

/* smtpd_check_finish - apply a pending defer_if_permit */
static int smtpd_check_finish(SMTPD_CHECK_CTX *ctx, int status)
{
    if (status != SMTPD_CHECK_REJECT && ctx->defer_if_permit) {
	vstring_set(ctx->reply, STR(ctx->dip_reply));
	smtpd_check_log(ctx, "reject", STR(ctx->reply));
	status = SMTPD_CHECK_REJECT;
    }
    return status;
}

/* smtpd_check_stage_client - client list */
static int smtpd_check_stage_client(SMTPD_CHECK_CTX *ctx)
{
    return smtpd_check_list(ctx, conf.client, ctx->state->namaddr, SMTPD_NAME_CLIENT);
}

/* smtpd_check_stage_helo - helo list */
static int smtpd_check_stage_helo(SMTPD_CHECK_CTX *ctx)
{
    return smtpd_check_list(ctx, conf.helo, ctx->helo ? ctx->helo : "", SMTPD_NAME_HELO);
}

/* smtpd_check_stage_sender - sender list, then smtpd_reject_unlisted_sender */
static int smtpd_check_stage_sender(SMTPD_CHECK_CTX *ctx)
{
    int     status;

    if (ctx->sender == NULL)
	return SMTPD_CHECK_DUNNO;
    status = smtpd_check_list(ctx, conf.sender, ctx->sender, SMTPD_NAME_SENDER);
    if (status != SMTPD_CHECK_REJECT && var_smtpd_reject_unlisted_sender
	&& !(ctx->state->flags & SMTPD_FLAG_LOCAL)) {
	int     rc = smtpd_check_unlisted(ctx, ctx->sender, SMTPD_NAME_SENDER, true);

	if (rc == SMTPD_CHECK_REJECT)
	    status = rc;
    }
    return status;
}

/* smtpd_check_ready - smtpd_check_init was called */
static void smtpd_check_ready(const char *func)
{
    if (!conf.ready)
	msg_panic("%s: smtpd_check_init was not called", func);
}

/* smtpd_check_connect - see smtpd_check.h */
const char *smtpd_check_connect(SMTPD_STATE *state)
{
    SMTPD_CHECK_CTX ctx;
    int     status = SMTPD_CHECK_DUNNO;

    smtpd_check_ready("smtpd_check_connect");
    smtpd_check_ctx_init(&ctx, state, "CONNECT");
    ctx.sender = NULL;
    ctx.helo = NULL;
    if (smtpd_check_mynetworks(state) < 0) {
	status = smtpd_check_lookup_error(&ctx, state->namaddr, "mynetworks lookup failed");
    } else if (!var_smtpd_delay_reject) {
	status = smtpd_check_finish(&ctx, smtpd_check_stage_client(&ctx));
    }
    return smtpd_check_ctx_done(&ctx, status);
}

/* smtpd_check_helo - see smtpd_check.h */
const char *smtpd_check_helo(SMTPD_STATE *state, const char *helo)
{
    SMTPD_CHECK_CTX ctx;
    int     status = SMTPD_CHECK_DUNNO;

    smtpd_check_ready("smtpd_check_helo");
    if (var_smtpd_delay_reject)
	return NULL;
    smtpd_check_ctx_init(&ctx, state, (state->flags & SMTPD_FLAG_EHLO) ? "EHLO" : "HELO");
    ctx.sender = NULL;
    ctx.helo = helo;
    status = smtpd_check_finish(&ctx, smtpd_check_stage_helo(&ctx));
    return smtpd_check_ctx_done(&ctx, status);
}

/* smtpd_check_mail - see smtpd_check.h */
const char *smtpd_check_mail(SMTPD_STATE *state, const char *sender)
{
    SMTPD_CHECK_CTX ctx;
    int     status = SMTPD_CHECK_DUNNO;

    smtpd_check_ready("smtpd_check_mail");
    if (var_smtpd_delay_reject)
	return NULL;
    smtpd_check_ctx_init(&ctx, state, "MAIL");
    ctx.sender = sender;
    status = smtpd_check_finish(&ctx, smtpd_check_stage_sender(&ctx));
    return smtpd_check_ctx_done(&ctx, status);
}

/* smtpd_check_lmtp_destination - the LMTP server delivers, never relays:
 * whatever the restriction lists said (permit_mynetworks included), the
 * recipient must resolve to a local or virtual domain of this host */
static int smtpd_check_lmtp_destination(SMTPD_CHECK_CTX *ctx, const char *recipient)
{
    resolve_addr(recipient, smtpd_check_resolved);
    if (smtpd_check_resolved->flags & RESOLVE_FLAG_FAIL)
	return smtpd_check_lookup_error(ctx, recipient, "relay_domains lookup failed");
    if (!(smtpd_check_resolved->flags & (RESOLVE_FLAG_ROUTED | RESOLVE_FLAG_ERROR))
	&& (smtpd_check_resolved->class == RESOLVE_CLASS_LOCAL
	    || smtpd_check_resolved->class == RESOLVE_CLASS_VIRTUAL_ALIAS
	    || smtpd_check_resolved->class == RESOLVE_CLASS_VIRTUAL_MAILBOX))
	return SMTPD_CHECK_DUNNO;
    return smtpd_check_reject(ctx, (int) var_relay_domains_reject_code, "5.7.1",
			      "<%s>: Relay access denied", recipient);
}

/* smtpd_check_rcpt - see smtpd_check.h */
const char *smtpd_check_rcpt(SMTPD_STATE *state, const char *recipient)
{
    SMTPD_CHECK_CTX ctx;
    int     status = SMTPD_CHECK_DUNNO;

    smtpd_check_ready("smtpd_check_rcpt");
    /* After DISCARD the message goes nowhere: accept, as Postfix does. */
    if (state->flags & SMTPD_FLAG_DISCARD)
	return NULL;
    smtpd_check_ctx_init(&ctx, state, "RCPT");
    ctx.recipient = recipient;

    /* Delayed client, helo and sender restrictions: each list separately. */
    if (var_smtpd_delay_reject) {
	int     (*stages[])(SMTPD_CHECK_CTX *) = {smtpd_check_stage_client,
	    smtpd_check_stage_helo, smtpd_check_stage_sender};

	for (size_t i = 0; i < PH_ARRAY_LEN(stages); i++)
	    if ((status = stages[i](&ctx)) == SMTPD_CHECK_REJECT)
		return smtpd_check_ctx_done(&ctx, status);
    }
    status = smtpd_check_list(&ctx, conf.relay, recipient, SMTPD_NAME_RECIPIENT);
    if (status != SMTPD_CHECK_REJECT)
	status = smtpd_check_list(&ctx, conf.recipient, recipient, SMTPD_NAME_RECIPIENT);
    status = smtpd_check_finish(&ctx, status);
    if (status != SMTPD_CHECK_REJECT && state->lmtp)
	status = smtpd_check_lmtp_destination(&ctx, recipient);
    if (status != SMTPD_CHECK_REJECT && var_smtpd_reject_unlisted_recipient) {
	if (smtpd_check_unlisted(&ctx, recipient, SMTPD_NAME_RECIPIENT, false)
	    == SMTPD_CHECK_REJECT)
	    status = SMTPD_CHECK_REJECT;
    }
    return smtpd_check_ctx_done(&ctx, status);
}

/* smtpd_check_data - see smtpd_check.h */
const char *smtpd_check_data(SMTPD_STATE *state)
{
    SMTPD_CHECK_CTX ctx;
    int     status;

    smtpd_check_ready("smtpd_check_data");
    if (state->flags & SMTPD_FLAG_DISCARD)
	return NULL;
    smtpd_check_ctx_init(&ctx, state, "DATA");
    if (state->rcpt_count == 1 && state->rcpts)
	ctx.recipient = state->rcpts[0].address;
    status = smtpd_check_finish(&ctx, smtpd_check_list(&ctx, conf.data, "DATA",
							SMTPD_NAME_DATA));
    return smtpd_check_ctx_done(&ctx, status);
}

/* smtpd_check_eod - see smtpd_check.h */
const char *smtpd_check_eod(SMTPD_STATE *state)
{
    SMTPD_CHECK_CTX ctx;
    int     status;

    smtpd_check_ready("smtpd_check_eod");
    if (state->flags & SMTPD_FLAG_DISCARD)
	return NULL;
    smtpd_check_ctx_init(&ctx, state, "END-OF-MESSAGE");
    if (state->rcpt_count == 1 && state->rcpts)
	ctx.recipient = state->rcpts[0].address;
    status = smtpd_check_finish(&ctx, smtpd_check_list(&ctx, conf.eod, "END-OF-MESSAGE",
							SMTPD_NAME_EOD));
    return smtpd_check_ctx_done(&ctx, status);
}

/* smtpd_check_size - see smtpd_check.h */
const char *smtpd_check_size(SMTPD_STATE *state, long size)
{
    SMTPD_CHECK_CTX ctx;
    struct statvfs fs;
    int     status = SMTPD_CHECK_DUNNO;

    smtpd_check_ready("smtpd_check_size");
    smtpd_check_ctx_init(&ctx, state, "MAIL");
    if (size < 0)
	size = 0;
    if (var_message_size_limit > 0 && size > var_message_size_limit) {
	status = smtpd_check_reject(&ctx, 552, "5.3.4", "Message size exceeds fixed limit");
    } else if (var_queue_directory && statvfs(var_queue_directory, &fs) == 0) {
	unsigned long long avail = (unsigned long long) fs.f_bavail * fs.f_frsize;
	unsigned long long need = (unsigned long long) size
	    + (unsigned long long) (var_queue_minfree > 0 ? var_queue_minfree : 0);

	if (avail < need) {
	    msg_warn("not enough free space in %s: %llu bytes free, %llu needed",
		     var_queue_directory, avail, need);
	    status = smtpd_check_reject(&ctx, 452, "4.3.1", "Insufficient system storage");
	}
    }
    return smtpd_check_ctx_done(&ctx, status);
}

/* smtpd_check_reset - see smtpd_check.h */
void    smtpd_check_reset(SMTPD_STATE *state)
{
    state->flags &= ~(SMTPD_FLAG_DISCARD | SMTPD_FLAG_HOLD);
    myfree(state->hold_reason);
    state->hold_reason = NULL;
    myfree(state->filter);
    state->filter = NULL;
    state->reject_reply = NULL;
}
