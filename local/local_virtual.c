/* local_virtual - delivery to virtual mailboxes (the "virtual" transport).
 *
 * Contract: the recipient is looked up in virtual_mailbox_maps (full
 * address, address without extension, @domain); the result is a path
 * under virtual_mailbox_base, a Maildir when it ends in '/', else an mbox
 * file. virtual_uid_maps and virtual_gid_maps (often static:5000) give
 * the owner, which must be at least virtual_minimum_uid. Missing parent
 * directories are created (0700) and the mailbox is written with that
 * uid/gid as effective identity; virtual_mailbox_limit caps its size.
 * Headers as for local mailboxes (Return-Path:, X-Original-To:,
 * Delivered-To:).
 *
 * Results: "delivered to maildir" / "delivered to mailbox"; an address
 * not in the maps bounces (5.1.1 unknown user); a lookup error, a bad
 * uid/gid or path (absolute, "..") defers (4.3.0/4.3.5), so a
 * configuration mistake never loses mail.
 */
#include "sys_defs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "dict.h"
#include "mail_addr_find.h"
#include "mailbox.h"
#include "maps.h"
#include "msg.h"
#include "mymalloc.h"
#include "safefile.h"
#include "vstring.h"

#include "local.h"

static MAPS *local_vmailbox_maps;
static MAPS *local_vuid_maps;
static MAPS *local_vgid_maps;

#define VIRTUAL_FIND (MA_FIND_FULL | MA_FIND_NOEXT | MA_FIND_AT_DOMAIN)

/* local_virtual_init - open the maps (before the privilege switch) */
void local_virtual_init(void)
{
    if (*var_virtual_mailbox_maps)
	local_vmailbox_maps = maps_create("virtual_mailbox_maps", var_virtual_mailbox_maps, DICT_FLAG_FOLD_FIX);
    if (*var_virtual_uid_maps)
	local_vuid_maps = maps_create("virtual_uid_maps", var_virtual_uid_maps, DICT_FLAG_FOLD_FIX);
    if (*var_virtual_gid_maps)
	local_vgid_maps = maps_create("virtual_gid_maps", var_virtual_gid_maps, DICT_FLAG_FOLD_FIX);
}

/* local_virtual_known - is address in virtual_mailbox_maps */
int local_virtual_known(const char *address, const char **error_r)
{
    const char *value;

    if (local_vmailbox_maps == NULL)
	return DICT_NOTFOUND;
    return mail_addr_find(local_vmailbox_maps, address, VIRTUAL_FIND, &value, NULL, error_r);
}

/* local_virtual_id - a numeric id from a map: 0 ok, -1 deferred */
static int local_virtual_id(const LOCAL_STATE *state, MAPS *maps, const char *what, long *id_r)
{
    const char *value = NULL, *err = NULL;
    char *end;
    int rc;

    if (maps == NULL) {
	local_result(state, DEL_STAT_DEFER, "4.3.5", "mail system configuration error: %s is empty", what);
	return -1;
    }
    rc = mail_addr_find(maps, state->address, VIRTUAL_FIND, &value, NULL, &err);
    if (rc == DICT_ERROR) {
	local_result(state, DEL_STAT_DEFER, "4.3.0", "%s lookup failed: %s", what, err);
	return -1;
    }
    if (rc == DICT_NOTFOUND) {
	local_result(state, DEL_STAT_DEFER, "4.3.5", "recipient %s: no %s entry", state->address, what);
	return -1;
    }
    errno = 0;
    *id_r = strtol(value, &end, 10);
    if (errno || *end || end == value || *id_r < 0) {
	local_result(state, DEL_STAT_DEFER, "4.3.5", "recipient %s: bad %s result \"%s\"",
		     state->address, what, value);
	return -1;
    }
    return 0;
}

/* local_virtual_path_ok - relative, no ".." component */
static bool local_virtual_path_ok(const char *path)
{
    const char *cp = path;

    if (*path == '/' || *path == 0)
	return false;
    while (*cp) {
	size_t n = strcspn(cp, "/");

	if (n == 2 && cp[0] == '.' && cp[1] == '.')
	    return false;
	cp += n;
	while (*cp == '/')
	    cp++;
    }
    return true;
}

/* local_virtual - deliver to a virtual mailbox */
void local_virtual(LOCAL_STATE state)
{
    VSTRING *path = vstring_alloc(128), *pro = vstring_alloc(256), *why = vstring_alloc(128);
    VSTRING *key = vstring_alloc(128);
    const char *value = NULL, *err = NULL;
    char dsn[16] = "4.3.0", *slash;
    long uid, gid;
    MAILBOX_SRC src;
    bool maildir;
    int rc;

    vstring_fmt(key, "virtual:%s", state.address);
    vstring_lower(key);
    if (local_duplicate(&state, STR(key)))
	goto out;
    rc = local_vmailbox_maps == NULL ? DICT_NOTFOUND
	: mail_addr_find(local_vmailbox_maps, state.address, VIRTUAL_FIND, &value, NULL, &err);
    if (rc == DICT_ERROR) {
	local_result(&state, DEL_STAT_DEFER, "4.3.0", "virtual_mailbox_maps lookup failed: %s", err);
	goto out;
    }
    if (rc == DICT_NOTFOUND) {
	local_result(&state, DEL_STAT_BOUNCE, "5.1.1", "unknown user: \"%s\"", state.address);
	goto out;
    }
    if (!local_virtual_path_ok(value)) {
	local_result(&state, DEL_STAT_DEFER, "4.3.5", "recipient %s: bad mailbox path \"%s\"",
		     state.address, value);
	goto out;
    }
    vstring_fmt(path, "%s/%s", var_virtual_mailbox_base, value);
    maildir = STR(path)[LEN(path) - 1] == '/';
    if (local_virtual_id(&state, local_vuid_maps, "virtual_uid_maps", &uid) < 0
	|| local_virtual_id(&state, local_vgid_maps, "virtual_gid_maps", &gid) < 0)
	goto out;
    if (uid < var_virtual_minimum_uid) {
	local_result(&state, DEL_STAT_DEFER, "4.3.5", "recipient %s: bad uid %ld in virtual_uid_maps",
		     state.address, uid);
	goto out;
    }
    state.uid = local_privileged ? (uid_t) uid : getuid();
    state.gid = local_privileged ? (gid_t) gid : getgid();
    state.delivered = state.address;
    local_prologue(pro, &state, true);
    local_src(&src, &state, pro);

    local_eugid_set(state.uid, state.gid);
    /* Parent directories of the mailbox (the Maildir itself is made by
     * maildir_deliver). */
    {
	VSTRING *parent = vstring_alloc(128);

	vstring_set(parent, STR(path));
	while (LEN(parent) > 1 && STR(parent)[LEN(parent) - 1] == '/')
	    vstring_truncate(parent, LEN(parent) - 1);
	if ((slash = strrchr(STR(parent), '/')) != NULL && slash > STR(parent)) {
	    *slash = 0;
	    if (safe_mkdir_p(STR(parent), 0700) < 0)
		msg_warn("create directory %s: %m", STR(parent));
	}
	vstring_free(&parent);
    }
    rc = local_mailbox_store(STR(path), maildir, &src, var_virtual_mailbox_limit, why, dsn);
    local_eugid_root();
    local_mailbox_report(&state, rc, maildir, dsn, why);
out:
    vstring_free(&path);
    vstring_free(&pro);
    vstring_free(&why);
    vstring_free(&key);
}
