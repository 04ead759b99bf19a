/* auth_passwd_file - open, cache and reload passwd-files for the
 * passwd-file passdb and userdb.
 *
 * Contract: args are Dovecot's "[scheme=S] [username_format=F] PATH";
 * PATH may hold %-variables (%d for one file per domain), in which case
 * each expanded path is opened on first use and cached. Before each
 * lookup a cached file is stat()ed and re-read when it changed, so edits
 * apply without a restart. Bad lines are logged as warnings with
 * file:line and skipped.
 * Limits: AUTH_PASSWD_FILE_MAX_PATHS cached files per backend.
 */
#include "sys_defs.h"

#include <string.h>

#include "auth.h"
#include "auth_var.h"
#include "config.h"
#include "htable.h"
#include "msg.h"
#include "mymalloc.h"
#include "passwd_file.h"

#define AUTH_PASSWD_FILE_MAX_PATHS 1000

struct auth_passwd_file {
    char   *path_tmpl;
    char   *scheme;
    char   *username_format;
    HTABLE *files;		/* expanded path -> PASSWD_FILE */
};

/* auth_passwd_file_free_file - htable destructor */
static void auth_passwd_file_free_file(void *ptr)
{
    PASSWD_FILE *pf = ptr;

    passwd_file_free(&pf);
}

/* auth_passwd_file_load - (re)read one path; NULL with *why_r */
static PASSWD_FILE *auth_passwd_file_load(const char *path, const char **why_r)
{
    ARGV *warnings = argv_alloc(1);
    PASSWD_FILE *pf = passwd_file_open(path, warnings, why_r);

    for (int i = 0; i < warnings->argc; i++)
        msg_warn("passwd-file %s", warnings->argv[i]);
    argv_free(&warnings);
    if (pf != NULL && msg_verbose)
        msg_info("passwd-file %s: %zu users", path, passwd_file_count(pf));
    return pf;
}

/* auth_passwd_file_init - parse args; a fixed path is read at once */
AUTH_PASSWD_FILE *auth_passwd_file_init(const char *args, const char **error_r)
{
    ARGV *words = argv_split(args, " \t");
    AUTH_PASSWD_FILE *apf = mycalloc(1, sizeof(*apf));

    apf->scheme = mystrdup(var_auth_default_password_scheme);
    apf->files = htable_create(4);
    for (int i = 0; i < words->argc; i++) {
        const char *w = words->argv[i];

        if (strncmp(w, "scheme=", 7) == 0) {
            myfree(apf->scheme);
            apf->scheme = mystrdup(w + 7);
        } else if (strncmp(w, "username_format=", 16) == 0) {
            myfree(apf->username_format);
            apf->username_format = mystrdup(w + 16);
        } else if (apf->path_tmpl == NULL && strchr(w, '=') == NULL) {
            apf->path_tmpl = mystrdup(w);
        } else {
            *error_r = "unexpected argument (expected [scheme=S] [username_format=F] PATH)";
            argv_free(&words);
            auth_passwd_file_deinit(apf);
            return NULL;
        }
    }
    argv_free(&words);
    if (apf->path_tmpl == NULL) {
        *error_r = "missing file name";
        auth_passwd_file_deinit(apf);
        return NULL;
    }
    if (strchr(apf->path_tmpl, '%') == NULL) {
        PASSWD_FILE *pf = auth_passwd_file_load(apf->path_tmpl, error_r);

        if (pf == NULL) {
            auth_passwd_file_deinit(apf);
            return NULL;
        }
        htable_enter(apf->files, apf->path_tmpl, pf);
    }
    return apf;
}

/* auth_passwd_file_find - entry lookup with reload */
const PASSWD_FILE_ENTRY *auth_passwd_file_find(AUTH_PASSWD_FILE *apf, const AUTH_LOOKUP *lk,
                                               const char **why_r)
{
    AUTH_VARS vars = {.user = lk->user, .service = lk->service, .rip = lk->rip, .lip = lk->lip};
    VSTRING *path = vstring_alloc(100);
    VSTRING *name = vstring_alloc(100);
    const PASSWD_FILE_ENTRY *ent = NULL;
    HTABLE_ENTRY *he;
    PASSWD_FILE *pf;
    const char *err;

    *why_r = NULL;
    if (auth_var_expand(path, apf->path_tmpl, &vars, &err) < 0
        || (apf->username_format
            && auth_var_expand(name, apf->username_format, &vars, &err) < 0)) {
        *why_r = err;
        goto done;
    }
    if (apf->username_format == NULL)
        vstring_set(name, lk->user);
    if (strstr(STR(path), "/../") != NULL || strchr(STR(path), '\n') != NULL) {
        *why_r = "unsafe passwd-file path after expansion";
        goto done;
    }
    if ((he = htable_locate(apf->files, STR(path))) != NULL && passwd_file_changed(he->value)) {
        pf = auth_passwd_file_load(STR(path), &err);
        if (pf == NULL) {
            /* keep serving the old contents when the new file is unreadable */
            msg_warn("passwd-file: %s (keeping the previous contents)", err);
        } else {
            auth_passwd_file_free_file(he->value);
            he->value = pf;
            msg_info("passwd-file %s: reloaded, %zu users", STR(path), passwd_file_count(pf));
        }
    } else if (he == NULL) {
        if (apf->files->used >= AUTH_PASSWD_FILE_MAX_PATHS) {
            htable_free(&apf->files, auth_passwd_file_free_file);
            apf->files = htable_create(4);
        }
        if ((pf = auth_passwd_file_load(STR(path), &err)) == NULL) {
            /* a per-domain file that does not exist: the user is unknown */
            if (strchr(apf->path_tmpl, '%') == NULL)
                *why_r = err;
            goto done;
        }
        he = htable_enter(apf->files, STR(path), pf);
    }
    ent = passwd_file_lookup(he->value, STR(name));
done:
    vstring_free(&path);
    vstring_free(&name);
    return ent;
}

/* auth_passwd_file_scheme - default scheme */
const char *auth_passwd_file_scheme(const AUTH_PASSWD_FILE *apf)
{
    return apf->scheme;
}

/* auth_passwd_file_deinit - release */
void auth_passwd_file_deinit(void *ctx)
{
    AUTH_PASSWD_FILE *apf = ctx;

    if (apf->files)
        htable_free(&apf->files, auth_passwd_file_free_file);
    myfree(apf->path_tmpl);
    myfree(apf->scheme);
    myfree(apf->username_format);
    myfree(apf);
}
