/* local_alias - alias_maps expansion (aliases(5)).
 *
 * Contract: local_alias() looks up the local part (with its extension
 * first, then without) in each table of alias_maps in turn. A match is
 * expanded by local_expand() with:
 *   - the privileges of the alias database owner for |command and /file
 *     targets (default_privs when the owner is root or unknown);
 *   - owner-NAME, when that alias exists, as the sender of forwarded
 *     copies and the address that receives errors of the list;
 *   - the alias name itself excluded from further alias lookups when it
 *     is listed in its own expansion ("root: root, \root" style).
 * A table lookup error defers the recipient (4.3.0); an alias reached
 * twice in one expansion is expanded once.
 */
#include "sys_defs.h"

#include <string.h>
#include <unistd.h>

#include "config.h"
#include "dict.h"
#include "mail_addr_find.h"
#include "msg.h"
#include "mymalloc.h"
#include "privs.h"
#include "vstring.h"

#include "local.h"

/* local_alias_find - first table with key: its DICT (value in *value_r) */
static int local_alias_find(const char *key, DICT **dict_r, const char **value_r,
			    const char **error_r)
{
    for (int i = 0; i < local_alias_maps->count; i++) {
	DICT *d = local_alias_maps->dicts[i];
	int rc = dict_lookup(d, key, DICT_LOOKUP_FOLD, value_r, error_r);

	if (rc != DICT_NOTFOUND) {
	    *dict_r = d;
	    return rc;
	}
    }
    return DICT_NOTFOUND;
}

/* local_alias - expand an alias; 1 handled, 0 not an alias */
int local_alias(LOCAL_STATE state, const char *local)
{
    VSTRING *name = vstring_alloc(64), *owner = vstring_alloc(64), *dkey = vstring_alloc(64);
    const char *value = NULL, *err = NULL, *oval;
    const char *at = strrchr(state.address, '@');
    char   *copy;
    DICT   *dict = NULL, *odict;
    size_t  base;
    int     rc;

    if (local_alias_maps == NULL) {
	rc = 0;
	goto out;
    }
    vstring_set(name, local);
    rc = local_alias_find(STR(name), &dict, &value, &err);
    if (rc == DICT_NOTFOUND && (base = mail_addr_find_split(local, var_recipient_delimiter)) < strlen(local)) {
	vstring_setn(name, local, base);
	rc = local_alias_find(STR(name), &dict, &value, &err);
    }
    if (rc == DICT_NOTFOUND) {
	rc = 0;
	goto out;
    }
    if (rc == DICT_ERROR) {
	local_result(&state, DEL_STAT_DEFER, "4.3.0", "alias database unavailable: %s", err);
	rc = 1;
	goto out;
    }
    rc = 1;
    vstring_fmt(dkey, "alias:%s", STR(name));
    if (local_duplicate(&state, STR(dkey)))
	goto out;
    copy = mystrdup(value);

    /* Errors and forwarded copies of the list go to owner-NAME. */
    if (strncmp(STR(name), "owner-", 6) != 0) {
	vstring_fmt(owner, "owner-%s", STR(name));
	if (local_alias_find(STR(owner), &odict, &oval, &err) == DICT_FOUND) {
	    vstring_fmt_append(owner, "@%s", at ? at + 1 : var_myorigin);
	    state.owner = STR(owner);
	    state.sender = STR(owner);
	}
    }
    /* |command and /file run as the owner of the alias database. */
    if (!local_privileged) {
	state.uid = getuid();
	state.gid = getgid();
    } else if (dict->have_st && dict->st.st_uid != 0) {
	state.uid = dict->st.st_uid;
	state.gid = dict->st.st_gid;
    } else if (privs_lookup(var_default_privs, &state.uid, &state.gid) < 0) {
	local_result(&state, DEL_STAT_DEFER, "4.3.5", "default_privs user \"%s\" is unknown",
		     var_default_privs);
	myfree(copy);
	goto out;
    }
    state.exp_type = LOCAL_EXP_ALIAS;
    state.exp_from = STR(name);
    state.delivered = state.address;
    state.user = NULL;
    state.home = NULL;
    local_expand(state, copy);
    myfree(copy);
out:
    vstring_free(&name);
    vstring_free(&owner);
    vstring_free(&dkey);
    return rc;
}
