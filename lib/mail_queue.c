/* mail_queue - queue directories, hashed queue file names, moves.
 *
 * Contract: see mail_queue.h. Every ID is checked with queue_id_valid()
 * and every queue name against the fixed list before a path is built, so
 * nothing from outside (postsuper arguments, directory entries) can name
 * a file outside the queue tree. File-system errors are returned with
 * errno and a reason; using the module before mail_queue_init() panics.
 *
 * Hash: FNV-1a 32-bit over the ID bytes; level i uses bits 4i..4i+3 as
 * one lowercase hex digit. This is on-disk format (see mail_queue.h).
 *
 * Limits: the root path plus queue name plus hash plus ID must fit in
 * PATH_MAX (a longer root fails with ENAMETOOLONG at the syscall).
 */
#include "sys_defs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "argv.h"
#include "mail_queue.h"
#include "msg.h"
#include "mymalloc.h"
#include "queue_id.h"
#include "vstring.h"

static char *mq_root;
static int mq_depth = 1;
static ARGV *mq_hashed;
static VSTRING *mq_err;

static const char *const mq_message_queues[] = {
    MAIL_QUEUE_MAILDROP, MAIL_QUEUE_INCOMING, MAIL_QUEUE_ACTIVE,
    MAIL_QUEUE_DEFERRED, MAIL_QUEUE_HOLD, MAIL_QUEUE_CORRUPT,
};
static const char *const mq_log_queues[] = {
    MAIL_QUEUE_BOUNCE, MAIL_QUEUE_DEFER,
};

/* mail_queue_error - format a reason into the static buffer */
static const char *mail_queue_error(const char *fmt, ...) PH_PRINTF(1, 2);

static const char *mail_queue_error(const char *fmt, ...)
{
    va_list ap;

    if (mq_err == NULL)
	mq_err = vstring_alloc(100);
    vstring_reset(mq_err);
    va_start(ap, fmt);
    vstring_vfmt_append(mq_err, fmt, ap);
    va_end(ap);
    return STR(mq_err);
}

/* mail_queue_check_init - panic when used before mail_queue_init */
static void mail_queue_check_init(void)
{
    if (mq_root == NULL)
	msg_panic("mail_queue: used before mail_queue_init");
}

/* mail_queue_init - set root, depth and hashed queue names */
void mail_queue_init(const char *queue_dir, long hash_depth, const char *hash_names)
{
    if (queue_dir == NULL || *queue_dir == 0)
	msg_panic("mail_queue_init: empty queue directory");
    myfree(mq_root);
    mq_root = mystrdup(queue_dir);
    if (hash_depth < 1)
	hash_depth = 1;
    if (hash_depth > MAIL_QUEUE_MAX_DEPTH)
	hash_depth = MAIL_QUEUE_MAX_DEPTH;
    mq_depth = (int) hash_depth;
    argv_free(&mq_hashed);
    mq_hashed = argv_split_list(hash_names ? hash_names : "");
}

/* mail_queue_root - the root directory */
const char *mail_queue_root(void)
{
    mail_queue_check_init();
    return mq_root;
}

/* mail_queue_is_message_queue - queue that holds queue files */
bool mail_queue_is_message_queue(const char *queue)
{
    if (queue == NULL)
	return false;
    for (size_t i = 0; i < PH_ARRAY_LEN(mq_message_queues); i++)
	if (strcmp(queue, mq_message_queues[i]) == 0)
	    return true;
    return false;
}

/* mail_queue_name_ok - one of the known queues */
bool mail_queue_name_ok(const char *queue)
{
    if (mail_queue_is_message_queue(queue))
	return true;
    if (queue == NULL)
	return false;
    for (size_t i = 0; i < PH_ARRAY_LEN(mq_log_queues); i++)
	if (strcmp(queue, mq_log_queues[i]) == 0)
	    return true;
    return false;
}

/* mail_queue_hashed - listed in hash_queue_names */
bool mail_queue_hashed(const char *queue)
{
    mail_queue_check_init();
    for (int i = 0; i < mq_hashed->argc; i++)
	if (strcmp(mq_hashed->argv[i], queue) == 0)
	    return true;
    return false;
}

/* mail_queue_hash - hash subdirectory path for a valid id */
const char *mail_queue_hash(VSTRING *buf, const char *id, int depth)
{
    static const char hex[] = "0123456789abcdef";
    uint32_t h = 2166136261u;

    if (!queue_id_valid(id))
	msg_panic("mail_queue_hash: invalid queue ID");
    if (depth < 1 || depth > MAIL_QUEUE_MAX_DEPTH)
	msg_panic("mail_queue_hash: bad depth %d", depth);
    for (const unsigned char *cp = (const unsigned char *) id; *cp; cp++) {
	h ^= *cp;
	h *= 16777619u;
    }
    vstring_reset(buf);
    for (int i = 0; i < depth; i++) {
	if (i)
	    vstring_addch(buf, '/');
	vstring_addch(buf, hex[(h >> (4 * i)) & 0xf]);
    }
    return STR(buf);
}

/* mail_queue_dir - directory of id in queue (id NULL: top directory) */
const char *mail_queue_dir(VSTRING *buf, const char *queue, const char *id)
{
    mail_queue_check_init();
    if (!mail_queue_name_ok(queue) || (id != NULL && !queue_id_valid(id))) {
	errno = EINVAL;
	return NULL;
    }
    vstring_fmt(buf, "%s/%s", mq_root, queue);
    if (id != NULL && mail_queue_hashed(queue)) {
	VSTRING *hash = vstring_alloc(16);

	vstring_fmt_append(buf, "/%s", mail_queue_hash(hash, id, mq_depth));
	vstring_free(&hash);
    }
    return STR(buf);
}

/* mail_queue_path - full path of id in queue */
const char *mail_queue_path(VSTRING *buf, const char *queue, const char *id)
{
    if (id == NULL || mail_queue_dir(buf, queue, id) == NULL) {
	errno = EINVAL;
	return NULL;
    }
    vstring_fmt_append(buf, "/%s", id);
    return STR(buf);
}

/* mail_queue_make_hashdirs - create the hash directories above path */
static int mail_queue_make_hashdirs(const char *queue, const char *id)
{
    VSTRING *dir = vstring_alloc(100);
    VSTRING *hash = vstring_alloc(16);
    int     ret = 0;

    if (mail_queue_hashed(queue)) {
	mail_queue_hash(hash, id, mq_depth);
	vstring_fmt(dir, "%s/%s", mq_root, queue);
	for (size_t i = 0; i < LEN(hash); i += 2) {
	    vstring_fmt_append(dir, "/%c", STR(hash)[i]);
	    if (mkdir(STR(dir), 0700) < 0 && errno != EEXIST) {
		ret = -1;
		break;
	    }
	}
    }
    vstring_free(&dir);
    vstring_free(&hash);
    return ret;
}

/* mail_queue_mkdir_hash - public form of mail_queue_make_hashdirs */
int mail_queue_mkdir_hash(const char *queue, const char *id)
{
    mail_queue_check_init();
    if (!mail_queue_name_ok(queue) || !queue_id_valid(id)) {
	errno = EINVAL;
	return -1;
    }
    return mail_queue_make_hashdirs(queue, id);
}

/* mail_queue_create - new file with a fresh queue ID, O_EXCL */
int mail_queue_create(const char *queue, mode_t mode, char *id_r, VSTRING *path_r,
		      const char **error_r)
{
    VSTRING *path = vstring_alloc(100);
    int     fd = -1;
    int     saved;

    mail_queue_check_init();
    if (!mail_queue_is_message_queue(queue)) {
	*error_r = mail_queue_error("create queue file: bad queue name");
	vstring_free(&path);
	errno = EINVAL;
	return -1;
    }
    for (int attempt = 0; attempt < 100; attempt++) {
	queue_id_new(id_r);
	if (mail_queue_path(path, queue, id_r) == NULL)
	    msg_panic("mail_queue_create: queue_id_new made an invalid ID");
	fd = open(STR(path), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd >= 0)
	    break;
	if (errno == ENOENT && mail_queue_make_hashdirs(queue, id_r) == 0)
	    continue;
	if (errno != EEXIST)
	    break;
    }
    if (fd < 0) {
	saved = errno;
	*error_r = mail_queue_error("create file %s: %s", STR(path), strerror(saved));
	vstring_free(&path);
	errno = saved;
	return -1;
    }
    if (path_r != NULL)
	vstring_setn(path_r, STR(path), LEN(path));
    vstring_free(&path);
    return fd;
}

/* mail_queue_sync - fdatasync the file and fsync its directory */
int mail_queue_sync(int fd, const char *path, const char **error_r)
{
    const char *slash;
    char   *dir;
    int     dfd;
    int     saved;

    if (fdatasync(fd) < 0) {
	saved = errno;
	*error_r = mail_queue_error("fdatasync %s: %s", path, strerror(saved));
	errno = saved;
	return -1;
    }
    slash = strrchr(path, '/');
    dir = slash ? mystrndup(path, slash == path ? 1 : (size_t) (slash - path)) : mystrdup(".");
    dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 && errno == EACCES) {
	/* postdrop, set-gid into maildrop (mode 1730: write, no read), may
	 * not open the directory. The file's fdatasync commits the journal
	 * transaction that created its entry (ext4, xfs), and pickup makes
	 * the message durable in incoming/ again; failing here would leave
	 * a complete file behind that pickup delivers after sendmail said
	 * "not queued". */
	myfree(dir);
	return 0;
    }
    if (dfd < 0 || fsync(dfd) < 0) {
	saved = errno;
	*error_r = mail_queue_error("fsync directory %s: %s", dir, strerror(saved));
	if (dfd >= 0)
	    close(dfd);
	myfree(dir);
	errno = saved;
	return -1;
    }
    close(dfd);
    myfree(dir);
    return 0;
}

/* mail_queue_rename - move id between queues */
int mail_queue_rename(const char *id, const char *old_queue, const char *new_queue,
		      const char **error_r)
{
    VSTRING *old_path = vstring_alloc(100);
    VSTRING *new_path = vstring_alloc(100);
    int     ret = -1;
    int     saved;

    mail_queue_check_init();
    if (mail_queue_path(old_path, old_queue, id) == NULL
	|| mail_queue_path(new_path, new_queue, id) == NULL) {
	*error_r = mail_queue_error("rename: bad queue name or queue ID");
	saved = EINVAL;
    } else if ((ret = rename(STR(old_path), STR(new_path))) < 0
	       && errno == ENOENT
	       && access(STR(old_path), F_OK) == 0
	       && mail_queue_make_hashdirs(new_queue, id) == 0
	       && (ret = rename(STR(old_path), STR(new_path))) == 0) {
	saved = 0;
    } else {
	saved = errno;
	if (ret < 0)
	    *error_r = mail_queue_error("rename %s to %s: %s", STR(old_path),
					STR(new_path), strerror(saved));
    }
    vstring_free(&old_path);
    vstring_free(&new_path);
    errno = saved;
    return ret;
}

/* mail_queue_remove - unlink id from queue */
int mail_queue_remove(const char *queue, const char *id, const char **error_r)
{
    VSTRING *path = vstring_alloc(100);
    int     saved = 0;
    int     ret = -1;

    mail_queue_check_init();
    if (mail_queue_path(path, queue, id) == NULL) {
	*error_r = mail_queue_error("remove: bad queue name or queue ID");
	saved = EINVAL;
    } else if ((ret = unlink(STR(path))) < 0) {
	saved = errno;
	*error_r = mail_queue_error("remove %s: %s", STR(path), strerror(saved));
    }
    vstring_free(&path);
    errno = saved;
    return ret;
}

/* mail_queue_remove_all - the queue file plus its delivery logs */
int mail_queue_remove_all(const char *queue, const char *id, const char **error_r)
{
    const char *junk;

    if (mail_queue_remove(queue, id, error_r) < 0)
	return -1;
    (void) mail_queue_remove(MAIL_QUEUE_DEFER, id, &junk);
    (void) mail_queue_remove(MAIL_QUEUE_BOUNCE, id, &junk);
    return 0;
}

/* mail_queue_exists - id is a regular file in queue */
bool mail_queue_exists(const char *queue, const char *id)
{
    VSTRING *path = vstring_alloc(100);
    struct stat st;
    bool    ok;

    ok = mail_queue_path(path, queue, id) != NULL
	&& lstat(STR(path), &st) == 0 && S_ISREG(st.st_mode);
    vstring_free(&path);
    return ok;
}

/* mail_queue_mkdirs - create the queue tree */
int mail_queue_mkdirs(mode_t dir_mode, mode_t maildrop_mode, const char **error_r)
{
    static const char *const dirs[] = {
	MAIL_QUEUE_MAILDROP, MAIL_QUEUE_INCOMING, MAIL_QUEUE_ACTIVE,
	MAIL_QUEUE_DEFERRED, MAIL_QUEUE_HOLD, MAIL_QUEUE_CORRUPT,
	MAIL_QUEUE_BOUNCE, MAIL_QUEUE_DEFER, MAIL_QUEUE_PRIVATE,
	MAIL_QUEUE_PUBLIC, MAIL_QUEUE_PID,
    };
    VSTRING *path = vstring_alloc(100);
    int     saved;

    mail_queue_check_init();
    if (mkdir(mq_root, dir_mode) < 0 && errno != EEXIST)
	goto fail;
    for (size_t i = 0; i < PH_ARRAY_LEN(dirs); i++) {
	mode_t  mode = strcmp(dirs[i], MAIL_QUEUE_MAILDROP) == 0 ? maildrop_mode : dir_mode;

	vstring_fmt(path, "%s/%s", mq_root, dirs[i]);
	if (mkdir(STR(path), mode) == 0) {
	    /* mkdir applies the umask; the mode is what we asked for */
	    if (chmod(STR(path), mode) < 0)
		goto fail;
	} else if (errno != EEXIST)
	    goto fail;
    }
    vstring_free(&path);
    return 0;

fail:
    saved = errno;
    *error_r = mail_queue_error("create directory %s: %s",
				LEN(path) ? STR(path) : mq_root, strerror(saved));
    vstring_free(&path);
    errno = saved;
    return -1;
}

/* Enumeration state: a stack of open directories. */
struct mail_queue_scan {
    DIR    *dirs[MAIL_QUEUE_MAX_DEPTH + 1];
    int     level;			/* index of the innermost open dir */
    VSTRING *prefix[MAIL_QUEUE_MAX_DEPTH + 1];	/* path of each level */
    VSTRING *path;			/* last file returned */
    char    id[QUEUE_ID_MAX];
    char   *queue;
};

/* mail_queue_scan_open - begin scanning queue */
MAIL_QUEUE_SCAN *mail_queue_scan_open(const char *queue, const char **error_r)
{
    MAIL_QUEUE_SCAN *scan;
    VSTRING *top = vstring_alloc(100);
    DIR    *dir;
    int     saved;

    mail_queue_check_init();
    if (mail_queue_dir(top, queue, NULL) == NULL) {
	*error_r = mail_queue_error("scan: bad queue name");
	vstring_free(&top);
	errno = EINVAL;
	return NULL;
    }
    if ((dir = opendir(STR(top))) == NULL) {
	saved = errno;
	*error_r = mail_queue_error("open directory %s: %s", STR(top), strerror(saved));
	vstring_free(&top);
	errno = saved;
	return NULL;
    }
    scan = mycalloc(1, sizeof(*scan));
    scan->dirs[0] = dir;
    scan->prefix[0] = top;
    scan->level = 0;
    scan->path = vstring_alloc(100);
    scan->queue = mystrdup(queue);
    return scan;
}

/* mail_queue_scan_hexdir - a one-character lowercase hex name */
static bool mail_queue_scan_hexdir(const char *name)
{
    return name[0] != 0 && name[1] == 0
	&& ((name[0] >= '0' && name[0] <= '9') || (name[0] >= 'a' && name[0] <= 'f'));
}

/* mail_queue_scan_next - next valid queue ID in the tree */
const char *mail_queue_scan_next(MAIL_QUEUE_SCAN *scan)
{
    struct dirent *dp;

    while (scan->level >= 0) {
	errno = 0;
	if ((dp = readdir(scan->dirs[scan->level])) == NULL) {
	    if (errno != 0)
		return NULL;
	    closedir(scan->dirs[scan->level]);
	    scan->dirs[scan->level] = NULL;
	    scan->level--;
	    continue;
	}
	if (dp->d_name[0] == '.')
	    continue;
	if (mail_queue_scan_hexdir(dp->d_name)) {
	    /* Could be a hash directory (or, in theory, a 1-char queue ID). */
	    VSTRING *sub;
	    struct stat st;
	    DIR    *dir;

	    if (scan->prefix[scan->level + 1] == NULL)
		scan->prefix[scan->level + 1] = vstring_alloc(100);
	    sub = scan->prefix[scan->level + 1];
	    vstring_fmt(sub, "%s/%s", STR(scan->prefix[scan->level]), dp->d_name);
	    if (lstat(STR(sub), &st) == 0 && S_ISDIR(st.st_mode)) {
		if (scan->level >= MAIL_QUEUE_MAX_DEPTH) {
		    msg_warn("%s: hashed too deep, skipped", STR(sub));
		    continue;
		}
		if ((dir = opendir(STR(sub))) == NULL) {
		    msg_warn("open directory %s: %s", STR(sub), strerror(errno));
		    continue;
		}
		scan->dirs[++scan->level] = dir;
		continue;
	    }
	}
	if (!queue_id_valid(dp->d_name)) {
	    msg_warn("%s/%s: not a queue file name, skipped",
		     STR(scan->prefix[scan->level]), dp->d_name);
	    continue;
	}
	ph_strlcpy(scan->id, dp->d_name, sizeof(scan->id));
	vstring_fmt(scan->path, "%s/%s", STR(scan->prefix[scan->level]), scan->id);
	return scan->id;
    }
    errno = 0;
    return NULL;
}

/* mail_queue_scan_path - path of the last file returned */
const char *mail_queue_scan_path(const MAIL_QUEUE_SCAN *scan)
{
    return STR(scan->path);
}

/* mail_queue_scan_close - release */
void mail_queue_scan_close(MAIL_QUEUE_SCAN **scanp)
{
    MAIL_QUEUE_SCAN *scan = *scanp;

    if (scan == NULL)
	return;
    for (int i = 0; i <= MAIL_QUEUE_MAX_DEPTH; i++) {
	if (scan->dirs[i] != NULL)
	    closedir(scan->dirs[i]);
	vstring_free(&scan->prefix[i]);
    }
    vstring_free(&scan->path);
    myfree(scan->queue);
    myfree(scan);
    *scanp = NULL;
}

/* mail_queue_rehash - move misplaced files to their current hash place */
int mail_queue_rehash(const char *queue, int *moved_r, const char **error_r)
{
    MAIL_QUEUE_SCAN *scan;
    ARGV   *ids, *paths;
    VSTRING *want = vstring_alloc(100);
    const char *id;

    *moved_r = 0;
    if ((scan = mail_queue_scan_open(queue, error_r)) == NULL) {
	vstring_free(&want);
	return -1;
    }
    /* Collect first: renaming while a directory is being read may make
     * readdir return an entry twice or not at all. */
    ids = argv_alloc(16);
    paths = argv_alloc(16);
    while ((id = mail_queue_scan_next(scan)) != NULL) {
	if (strcmp(mail_queue_scan_path(scan), mail_queue_path(want, queue, id)) != 0) {
	    argv_add(ids, id, (char *) NULL);
	    argv_add(paths, mail_queue_scan_path(scan), (char *) NULL);
	}
    }
    mail_queue_scan_close(&scan);
    for (int i = 0; i < ids->argc; i++) {
	mail_queue_path(want, queue, ids->argv[i]);
	if (mail_queue_make_hashdirs(queue, ids->argv[i]) < 0
	    || renameat2(AT_FDCWD, paths->argv[i], AT_FDCWD, STR(want), RENAME_NOREPLACE) < 0) {
	    msg_warn("move %s to %s: %s", paths->argv[i], STR(want), strerror(errno));
	    continue;
	}
	(*moved_r)++;
    }
    argv_free(&ids);
    argv_free(&paths);
    vstring_free(&want);
    return 0;
}
