/* dict_unix - unix:passwd.byname and unix:group.byname.
 *
 * Contract: looks names up in the system user and group databases
 * (getpwnam_r/getgrnam_r, so NSS modules apply). The value is the entry in
 * /etc/passwd or /etc/group shape, "name:x:uid:gid:gecos:home:shell" and
 * "name:x:gid:member,member". A lookup error of the system database is
 * DICT_ERROR; an unknown user is DICT_NOTFOUND. Other names fail to open.
 *
 * Limits: no iteration (the system database may be remote).
 */
#include "sys_defs.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <string.h>

#include "dict.h"
#include "mymalloc.h"
#include "vstring.h"

typedef struct dict_unix {
    DICT_IMPL impl;
    bool    group;
    VSTRING *value;
    VSTRING *err;
    char   *buf;
    size_t  bufsize;
} DICT_UNIX;

/* dict_unix_lookup - one user or group */
static int dict_unix_lookup(DICT_IMPL *impl, const char *key, const char **value_r,
			            const char **error_r)
{
    DICT_UNIX *du = (DICT_UNIX *) impl;
    int     rc;

    if (*key == 0 || strlen(key) > 256)
	return DICT_NOTFOUND;
    for (;;) {
	if (du->group) {
	    struct group gr, *grp = NULL;

	    rc = getgrnam_r(key, &gr, du->buf, du->bufsize, &grp);
	    if (rc == 0 && grp) {
		vstring_fmt(du->value, "%s:x:%ld:", grp->gr_name, (long) grp->gr_gid);
		for (char **m = grp->gr_mem; m && *m; m++)
		    vstring_fmt_append(du->value, "%s%s", m == grp->gr_mem ? "" : ",", *m);
		break;
	    }
	} else {
	    struct passwd pw, *pwp = NULL;

	    rc = getpwnam_r(key, &pw, du->buf, du->bufsize, &pwp);
	    if (rc == 0 && pwp) {
		vstring_fmt(du->value, "%s:x:%ld:%ld:%s:%s:%s", pwp->pw_name,
			    (long) pwp->pw_uid, (long) pwp->pw_gid, pwp->pw_gecos,
			    pwp->pw_dir, pwp->pw_shell);
		break;
	    }
	}
	if (rc == ERANGE && du->bufsize < (1 << 20)) {
	    du->bufsize *= 2;
	    du->buf = myrealloc(du->buf, du->bufsize);
	    continue;
	}
	if (rc == 0 || rc == ENOENT || rc == ESRCH || rc == EBADF || rc == EPERM)
	    return DICT_NOTFOUND;
	vstring_fmt(du->err, "lookup of \"%s\": %s", key, strerror(rc));
	*error_r = STR(du->err);
	return DICT_ERROR;
    }
    *value_r = STR(du->value);
    return DICT_FOUND;
}

/* dict_unix_close - release */
static void dict_unix_close(DICT_IMPL *impl)
{
    DICT_UNIX *du = (DICT_UNIX *) impl;

    vstring_free(&du->value);
    vstring_free(&du->err);
    myfree(du->buf);
    myfree(du);
}

/* dict_unix_open - passwd.byname or group.byname */
DICT_IMPL *dict_unix_open(const char *type PH_UNUSED, const char *name, int open_flags PH_UNUSED,
			          int dict_flags PH_UNUSED, const char **error_r)
{
    static VSTRING *err;
    DICT_UNIX *du;
    bool    group;

    if (strcmp(name, "passwd.byname") == 0) {
	group = false;
    } else if (strcmp(name, "group.byname") == 0) {
	group = true;
    } else {
	if (err == NULL)
	    err = vstring_alloc(100);
	vstring_fmt(err, "unix:%s: unknown table (expected passwd.byname or group.byname)", name);
	*error_r = STR(err);
	return NULL;
    }
    du = mycalloc(1, sizeof(*du));
    du->impl.props = DICT_PROP_FIXED;
    du->impl.lookup = dict_unix_lookup;
    du->impl.close = dict_unix_close;
    du->group = group;
    du->value = vstring_alloc(100);
    du->err = vstring_alloc(100);
    du->bufsize = 4096;
    du->buf = mymalloc(du->bufsize);
    return &du->impl;
}
