/* transport - transport_maps lookups (transport(5)); see transport.h.
 *
 * Contract: transport_lookup() folds the recipient, tries the keys in the
 * documented order through mail_addr_find() and then "*", and applies the
 * first result. It never aborts on table data: malformed results are
 * returned as errors so the recipient is deferred, not misrouted.
 * Limits: results longer than TRANSPORT_RESULT_MAX bytes are refused.
 */
#include "sys_defs.h"

#include <ctype.h>
#include <string.h>

#include "config.h"
#include "mail_addr_find.h"
#include "maps.h"
#include "msg.h"
#include "transport.h"

#define TRANSPORT_RESULT_MAX 1024

static MAPS *transport_maps;

/* transport_parse - split "transport:nexthop" at the first colon */
int transport_parse(const char *result, VSTRING *transport, VSTRING *nexthop,
		    const char **error_r)
{
    const char *colon;
    size_t len = strlen(result);

    if (len > TRANSPORT_RESULT_MAX) {
	*error_r = "transport table result too long";
	return -1;
    }
    for (const unsigned char *cp = (const unsigned char *) result; *cp; cp++) {
	if (*cp < 0x20 || *cp == 0x7f) {
	    *error_r = "transport table result holds a control character";
	    return -1;
	}
    }
    while (*result == ' ' || *result == '\t')
	result++;
    len = strlen(result);
    while (len > 0 && (result[len - 1] == ' ' || result[len - 1] == '\t'))
	len--;
    colon = memchr(result, ':', len);
    if (colon == NULL) {
	vstring_setn(transport, result, len);
	vstring_reset(nexthop);
    } else {
	vstring_setn(transport, result, (size_t) (colon - result));
	vstring_setn(nexthop, colon + 1, len - (size_t) (colon - result) - 1);
    }
    for (const char *cp = STR(transport); *cp; cp++) {
	if (isspace((unsigned char) *cp) || *cp == '/' || *cp == '[') {
	    *error_r = "malformed transport name in transport table result";
	    return -1;
	}
    }
    return 0;
}

/* transport_init - open the tables */
void transport_init(void)
{
    if (transport_maps == NULL && var_transport_maps != NULL && *var_transport_maps)
	transport_maps = maps_create("transport_maps", var_transport_maps, DICT_FLAG_FOLD_FIX);
}

/* transport_reset - close the tables */
void transport_reset(void)
{
    if (transport_maps)
	maps_free(&transport_maps);
}

/* transport_lookup - search and apply */
int transport_lookup(const char *recipient, VSTRING *transport, VSTRING *nexthop,
		     const char **error_r)
{
    const char *value = NULL, *matched = NULL, *at;
    int rc;
    VSTRING *t, *n;

    transport_init();
    if (transport_maps == NULL)
	return 0;
    rc = mail_addr_find(transport_maps, recipient, MA_FIND_FULL | MA_FIND_NOEXT | MA_FIND_DOMAIN,
			&value, &matched, error_r);
    if (rc == DICT_NOTFOUND)
	rc = maps_find(transport_maps, "*", MAPS_FIND_PARTIAL, &value, error_r);
    if (rc == DICT_ERROR)
	return -1;
    if (rc != DICT_FOUND)
	return 0;
    t = vstring_alloc(32);
    n = vstring_alloc(64);
    if (transport_parse(value, t, n, error_r) < 0) {
	vstring_free(&t);
	vstring_free(&n);
	return -1;
    }
    if (LEN(t) > 0) {
	vstring_set(transport, STR(t));
	if (LEN(n) > 0) {
	    vstring_set(nexthop, STR(n));
	} else {
	    at = strrchr(recipient, '@');
	    vstring_set(nexthop, at ? at + 1 : "");
	    vstring_lower(nexthop);
	}
    } else if (LEN(n) > 0) {
	vstring_set(nexthop, STR(n));
    } else {
	rc = DICT_NOTFOUND;
    }
    vstring_free(&t);
    vstring_free(&n);
    return rc == DICT_FOUND ? 1 : 0;
}
