/* password_scheme - verify and generate Dovecot-style password hashes.
 *
 * Contract: see password_scheme.h. crypt(3) hashes go through crypt_r
 * with a per-call crypt_data (no static state); salts come from
 * crypt_gensalt_rn with the library's own randomness. Digest schemes use
 * OpenSSL's EVP; every comparison is CRYPTO_memcmp. Limits: a clear-text
 * password longer than PASSWORD_MAX bytes is refused (mismatch), so a
 * client cannot make the service hash megabytes.
 */
#include "sys_defs.h"

#include <crypt.h>
#include <ctype.h>
#include <string.h>
#include <sys/random.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "base64_code.h"
#include "mymalloc.h"
#include "password_scheme.h"

#define PASSWORD_MAX 4096
#define PASSWORD_SALT_LEN 8

enum pw_kind { PW_CLEAR, PW_CRYPT, PW_DIGEST, PW_SDIGEST };

typedef struct password_scheme {
    const char *name;
    enum pw_kind kind;
    const char *prefix;		/* crypt: required hash prefix ("" = any) */
    const char *md;		/* digest name for EVP */
} PASSWORD_SCHEME;

static const PASSWORD_SCHEME password_schemes[] = {
    {"PLAIN", PW_CLEAR, NULL, NULL},
    {"CLEAR", PW_CLEAR, NULL, NULL},
    {"CLEARTEXT", PW_CLEAR, NULL, NULL},
    {"CRYPT", PW_CRYPT, "", NULL},
    {"MD5-CRYPT", PW_CRYPT, "$1$", NULL},
    {"SHA256-CRYPT", PW_CRYPT, "$5$", NULL},
    {"SHA512-CRYPT", PW_CRYPT, "$6$", NULL},
    {"BLF-CRYPT", PW_CRYPT, "$2", NULL},
    {"YESCRYPT", PW_CRYPT, "$y$", NULL},
    {"SHA256", PW_DIGEST, NULL, "SHA256"},
    {"SHA512", PW_DIGEST, NULL, "SHA512"},
    {"SSHA256", PW_SDIGEST, NULL, "SHA256"},
    {"SSHA512", PW_SDIGEST, NULL, "SHA512"},
};

/* password_scheme_find - table entry by name (case-insensitive) */
static const PASSWORD_SCHEME *password_scheme_find(const char *name)
{
    for (size_t i = 0; i < PH_ARRAY_LEN(password_schemes); i++)
        if (strcasecmp(password_schemes[i].name, name) == 0)
            return password_schemes + i;
    return NULL;
}

/* password_scheme_known - true when verify supports the scheme */
bool password_scheme_known(const char *scheme)
{
    return password_scheme_find(scheme) != NULL;
}

/* password_memeq - constant-time equality */
bool password_memeq(const void *a, size_t alen, const void *b, size_t blen)
{
    if (alen != blen)
        return false;
    return CRYPTO_memcmp(a, b, alen) == 0;
}

/* password_scheme_split - separate "{SCHEME}" from the data */
const char *password_scheme_split(const char *stored, const char *default_scheme,
                                  VSTRING *scheme)
{
    const char *end;

    vstring_reset(scheme);
    if (stored[0] != '{') {
        vstring_set(scheme, default_scheme ? default_scheme : "");
    } else {
        if ((end = strchr(stored, '}')) == NULL)
            return NULL;
        vstring_setn(scheme, stored + 1, (size_t) (end - stored - 1));
        stored = end + 1;
    }
    for (char *cp = STR(scheme); *cp; cp++)
        *cp = (char) toupper((unsigned char) *cp);
    return stored;
}

/* password_digest - EVP digest of data1 || data2 into md_r; length or 0 */
static unsigned password_digest(const char *md, const void *data1, size_t len1,
                                const void *data2, size_t len2,
                                unsigned char md_r[EVP_MAX_MD_SIZE])
{
    const EVP_MD *type = EVP_get_digestbyname(md);
    EVP_MD_CTX *ctx;
    unsigned len = 0;

    if (type == NULL || (ctx = EVP_MD_CTX_new()) == NULL)
        return 0;
    if (EVP_DigestInit_ex(ctx, type, NULL) != 1
        || EVP_DigestUpdate(ctx, data1, len1) != 1
        || (len2 && EVP_DigestUpdate(ctx, data2, len2) != 1)
        || EVP_DigestFinal_ex(ctx, md_r, &len) != 1)
        len = 0;
    EVP_MD_CTX_free(ctx);
    return len;
}

/* password_crypt - crypt_r into out; 0, or -1 when the library refuses */
static int password_crypt(const char *plain, const char *setting, VSTRING *out)
{
    struct crypt_data *cd = mycalloc(1, sizeof(*cd));
    const char *res = crypt_r(plain, setting, cd);
    int ret = -1;

    if (res != NULL && res[0] != '*' && res[0] != 0) {
        vstring_set(out, res);
        ret = 0;
    }
    explicit_bzero(cd, sizeof(*cd));
    myfree(cd);
    return ret;
}

/* password_verify - check plain against a stored hash */
int password_verify(const char *plain, const char *stored, const char *default_scheme,
                    const char **error_r)
{
    VSTRING *scheme = vstring_alloc(20);
    VSTRING *buf = vstring_alloc(128);
    const PASSWORD_SCHEME *ps;
    const char *data;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen;
    size_t plen = strlen(plain);
    int ret = PASSWORD_ERROR;

    if ((data = password_scheme_split(stored, default_scheme, scheme)) == NULL) {
        *error_r = "malformed password: unterminated {SCHEME}";
        goto done;
    }
    if ((ps = password_scheme_find(STR(scheme))) == NULL) {
        *error_r = *STR(scheme) ? "unknown password scheme" : "no password scheme";
        goto done;
    }
    if (plen > PASSWORD_MAX) {
        ret = PASSWORD_MISMATCH;
        goto done;
    }
    switch (ps->kind) {
    case PW_CLEAR:
        ret = password_memeq(plain, plen, data, strlen(data)) ? PASSWORD_MATCH : PASSWORD_MISMATCH;
        break;
    case PW_CRYPT:
        if (*data == 0 || strncmp(data, ps->prefix, strlen(ps->prefix)) != 0) {
            *error_r = "malformed crypt hash for this scheme";
            break;
        }
        if (password_crypt(plain, data, buf) < 0) {
            *error_r = "crypt(3) does not accept this hash";
            break;
        }
        ret = password_memeq(STR(buf), LEN(buf), data, strlen(data)) ? PASSWORD_MATCH
            : PASSWORD_MISMATCH;
        break;
    case PW_DIGEST:
    case PW_SDIGEST:
        if (base64_decode(buf, data, strlen(data)) < 0) {
            *error_r = "malformed base64 in password hash";
            break;
        }
        mdlen = (unsigned) EVP_MD_size(EVP_get_digestbyname(ps->md));
        if (ps->kind == PW_DIGEST ? LEN(buf) != mdlen : LEN(buf) <= mdlen) {
            *error_r = "password hash has the wrong length";
            break;
        }
        if (password_digest(ps->md, plain, plen, STR(buf) + mdlen, LEN(buf) - mdlen, md) != mdlen) {
            *error_r = "digest failed";
            break;
        }
        ret = password_memeq(md, mdlen, STR(buf), mdlen) ? PASSWORD_MATCH : PASSWORD_MISMATCH;
        explicit_bzero(md, sizeof(md));
        break;
    }
done:
    vstring_free(&scheme);
    vstring_wipe(buf);
    vstring_free(&buf);
    return ret;
}

/* password_generate - append "{SCHEME}hash" of plain */
int password_generate(VSTRING *out, const char *plain, const char *scheme,
                      const char **error_r)
{
    const PASSWORD_SCHEME *ps = password_scheme_find(scheme);
    VSTRING *buf;
    unsigned char md[EVP_MAX_MD_SIZE + PASSWORD_SALT_LEN];
    unsigned mdlen;
    char setting[CRYPT_GENSALT_OUTPUT_SIZE];
    const char *prefix;
    int ret = -1;

    if (ps == NULL) {
        *error_r = "unknown password scheme";
        return -1;
    }
    buf = vstring_alloc(128);
    switch (ps->kind) {
    case PW_CLEAR:
        vstring_cat(buf, plain);
        ret = 0;
        break;
    case PW_CRYPT:
        prefix = strcmp(ps->prefix, "") == 0 ? "$6$"
            : strcmp(ps->prefix, "$2") == 0 ? "$2y$" : ps->prefix;
        if (crypt_gensalt_rn(prefix, 0, NULL, 0, setting, (int) sizeof(setting)) == NULL
            || password_crypt(plain, setting, buf) < 0) {
            *error_r = "the crypt library does not support this scheme";
            break;
        }
        ret = 0;
        break;
    case PW_DIGEST:
    case PW_SDIGEST:
        mdlen = password_digest(ps->md, plain, strlen(plain), NULL, 0, md);
        if (ps->kind == PW_SDIGEST) {
            unsigned char salt[PASSWORD_SALT_LEN];

            if (getrandom(salt, sizeof(salt), 0) != (ssize_t) sizeof(salt)) {
                *error_r = "no random bytes for the salt";
                break;
            }
            mdlen = password_digest(ps->md, plain, strlen(plain), salt, sizeof(salt), md);
            memcpy(md + mdlen, salt, sizeof(salt));
            mdlen += (unsigned) sizeof(salt);
        }
        if (mdlen == 0) {
            *error_r = "digest failed";
            break;
        }
        base64_encode(buf, md, mdlen);
        ret = 0;
        break;
    }
    if (ret == 0)
        vstring_fmt_append(out, "{%s}%s", ps->name, STR(buf));
    vstring_wipe(buf);
    vstring_free(&buf);
    return ret;
}
