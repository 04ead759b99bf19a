/* passwd_file - parse Dovecot passwd-files (see passwd_file.h).
 *
 * Contract: the whole file is read at open into a hash table; the caller
 * asks passwd_file_changed() before a lookup and reopens when it is true,
 * so an edited file takes effect without a restart. Memory holding
 * password hashes is wiped when freed.
 * Limits: PASSWD_FILE_MAX_SIZE per file, PASSWD_FILE_MAX_LINE per line.
 */
#include "sys_defs.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "htable.h"
#include "mymalloc.h"
#include "passwd_file.h"
#include "vstring.h"

struct passwd_file {
    char   *path;
    HTABLE *table;
    dev_t   dev;
    ino_t   ino;
    off_t   size;
    struct timespec mtime;
};

/* passwd_file_entry_free - release one entry */
static void passwd_file_entry_free(void *ptr)
{
    PASSWD_FILE_ENTRY *ent = ptr;

    myfree(ent->user);
    explicit_bzero(ent->password, strlen(ent->password));
    myfree(ent->password);
    myfree(ent->home);
    myfree(ent->extra);
    myfree(ent);
}

/* passwd_file_number - parse an optional uid/gid field */
static bool passwd_file_number(const char *text, size_t len, long *val_r)
{
    long val = 0;

    if (len == 0) {
        *val_r = -1;
        return true;
    }
    if (len > 10)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (!isdigit((unsigned char) text[i]))
            return false;
        val = val * 10 + (text[i] - '0');
    }
    if (val > 2147483647L)
        return false;
    *val_r = val;
    return true;
}

/* passwd_file_line - parse one line; NULL with *why_r for a bad one */
static PASSWD_FILE_ENTRY *passwd_file_line(const char *line, size_t len, const char **why_r)
{
    const char *field[8] = {0};
    size_t flen[8] = {0};
    int nfield = 0;
    const char *start = line;
    PASSWD_FILE_ENTRY *ent;

    for (size_t i = 0; i <= len; i++) {
        if (i == len || (line[i] == ':' && nfield < 7)) {
            field[nfield] = start;
            flen[nfield] = (size_t) (line + i - start);
            nfield++;
            start = line + i + 1;
        }
    }
    if (flen[0] == 0) {
        *why_r = "empty user name";
        return NULL;
    }
    if (flen[0] > 255) {
        *why_r = "user name too long";
        return NULL;
    }
    for (int f = 0; f < nfield; f++) {
        for (size_t i = 0; i < flen[f]; i++) {
            unsigned char ch = (unsigned char) field[f][i];

            if (ch < 0x20 || ch == 0x7f || (f == 0 && isspace(ch))) {
                *why_r = f == 0 ? "white space or control character in user name"
                    : "control character in a field";
                return NULL;
            }
        }
    }
    ent = mycalloc(1, sizeof(*ent));
    if (!passwd_file_number(field[2], flen[2], &ent->uid)
        || !passwd_file_number(field[3], flen[3], &ent->gid)) {
        myfree(ent);
        *why_r = "uid or gid is not a number";
        return NULL;
    }
    ent->user = mystrndup(field[0], flen[0]);
    ent->password = mystrndup(field[1] ? field[1] : "", flen[1]);
    ent->home = mystrndup(field[5] ? field[5] : "", flen[5]);
    ent->extra = mystrndup(field[7] ? field[7] : "", flen[7]);
    return ent;
}

/* passwd_file_parse - parse a whole file's text */
PASSWD_FILE *passwd_file_parse(const char *path, const char *text, size_t len,
                               ARGV *warnings)
{
    PASSWD_FILE *pf = mycalloc(1, sizeof(*pf));
    VSTRING *msg = vstring_alloc(100);
    size_t pos = 0;
    int lineno = 0;

    pf->path = mystrdup(path);
    pf->table = htable_create(64);
    while (pos < len) {
        const char *line = text + pos;
        const char *nl = memchr(line, '\n', len - pos);
        size_t llen = nl ? (size_t) (nl - line) : len - pos;
        const char *why = NULL;
        PASSWD_FILE_ENTRY *ent;

        pos += llen + (nl ? 1 : 0);
        lineno++;
        if (llen > 0 && line[llen - 1] == '\r')
            llen--;
        while (llen > 0 && (*line == ' ' || *line == '\t'))
            line++, llen--;
        if (llen == 0 || *line == '#')
            continue;
        if (llen > PASSWD_FILE_MAX_LINE)
            why = "line too long";
        else if (memchr(line, 0, llen) != NULL)
            why = "NUL byte in line";
        if (why != NULL || (ent = passwd_file_line(line, llen, &why)) == NULL) {
            if (warnings) {
                vstring_fmt(msg, "%s:%d: %s", path, lineno, why);
                argv_add(warnings, STR(msg), (char *) 0);
            }
            continue;
        }
        if (htable_find(pf->table, ent->user) != NULL) {
            if (warnings) {
                vstring_fmt(msg, "%s:%d: duplicate user %s (the first one is used)",
                            path, lineno, ent->user);
                argv_add(warnings, STR(msg), (char *) 0);
            }
            passwd_file_entry_free(ent);
            continue;
        }
        htable_enter(pf->table, ent->user, ent);
    }
    vstring_free(&msg);
    return pf;
}

/* passwd_file_open - read and parse a file */
PASSWD_FILE *passwd_file_open(const char *path, ARGV *warnings, const char **error_r)
{
    static VSTRING *err;
    struct stat st;
    PASSWD_FILE *pf;
    char *buf;
    size_t got = 0;
    int fd;

    if (err == NULL)
        err = vstring_alloc(100);
    if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0) {
        vstring_fmt(err, "open %s: %s", path, strerror(errno));
        *error_r = STR(err);
        return NULL;
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > PASSWD_FILE_MAX_SIZE) {
        vstring_fmt(err, "%s: not a regular file or larger than %ld bytes", path,
                    PASSWD_FILE_MAX_SIZE);
        close(fd);
        *error_r = STR(err);
        return NULL;
    }
    buf = mymalloc((size_t) st.st_size + 1);
    while (got < (size_t) st.st_size) {
        ssize_t n = read(fd, buf + got, (size_t) st.st_size - got);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t) n;
    }
    close(fd);
    pf = passwd_file_parse(path, buf, got, warnings);
    explicit_bzero(buf, got);
    myfree(buf);
    pf->dev = st.st_dev;
    pf->ino = st.st_ino;
    pf->size = st.st_size;
    pf->mtime = st.st_mtim;
    return pf;
}

/* passwd_file_lookup - the entry for user */
const PASSWD_FILE_ENTRY *passwd_file_lookup(const PASSWD_FILE *pf, const char *user)
{
    return htable_find(pf->table, user);
}

/* passwd_file_count - number of users */
size_t passwd_file_count(const PASSWD_FILE *pf)
{
    return pf->table->used;
}

/* passwd_file_changed - has the file been replaced or edited */
bool passwd_file_changed(const PASSWD_FILE *pf)
{
    struct stat st;

    if (stat(pf->path, &st) < 0)
        return true;
    return st.st_dev != pf->dev || st.st_ino != pf->ino || st.st_size != pf->size
        || st.st_mtim.tv_sec != pf->mtime.tv_sec || st.st_mtim.tv_nsec != pf->mtime.tv_nsec;
}

/* passwd_file_extra - one extra field's value */
const char *passwd_file_extra(const PASSWD_FILE_ENTRY *ent, const char *name)
{
    static VSTRING *val;
    size_t nlen = strlen(name);
    const char *cp = ent->extra;

    if (val == NULL)
        val = vstring_alloc(64);
    while (*cp) {
        size_t wlen = strcspn(cp, " \t");

        if (wlen >= nlen && strncmp(cp, name, nlen) == 0
            && (wlen == nlen || cp[nlen] == '=')) {
            if (wlen == nlen)
                return "";
            vstring_setn(val, cp + nlen + 1, wlen - nlen - 1);
            return STR(val);
        }
        cp += wlen;
        cp += strspn(cp, " \t");
    }
    return NULL;
}

/* passwd_file_free - release the table */
void passwd_file_free(PASSWD_FILE **pfp)
{
    PASSWD_FILE *pf = *pfp;

    if (pf == NULL)
        return;
    htable_free(&pf->table, passwd_file_entry_free);
    myfree(pf->path);
    myfree(pf);
    *pfp = NULL;
}
