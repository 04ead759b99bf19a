/* local_expand - deliver the targets of an alias value, .forward file or
 * :include: file.
 *
 * Contract: the list is split by lib/target_list.c (commas and new lines
 * outside quotes, '#' comment lines); local_expand() delivers each target:
 *   |command      local_command(), if allow_mail_to_commands names the
 *                 list's origin (alias, forward, include)
 *   /file         local_file(), if allow_mail_to_files names it
 *   :include:/f   the file's targets, read with the list's privileges;
 *                 its commands and files then run as the file's owner
 *                 (unless root); allowed where commands or files are
 *   \user         the user's mailbox: no alias or .forward lookup
 *   address       local_deliver() one level deeper (an unqualified
 *                 name gets @$myorigin); an alias or .forward that
 *                 names itself delivers to the user's mailbox instead
 *                 of looping.
 *
 * Limits: :include: files larger than LOCAL_INCLUDE_MAX bytes are
 * refused (bounce); nesting is bounded by LOCAL_MAX_LEVEL.
 */
#include "sys_defs.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "msg.h"
#include "mymalloc.h"
#include "safefile.h"
#include "target_list.h"
#include "vstring.h"

#include "local.h"

#define LOCAL_INCLUDE_MAX (1024 * 1024)

/* local_allowed - origin of the list named in the parameter */
static bool local_allowed(const LOCAL_STATE *state, const char *param_value)
{
    static const char *names[] = {"", "alias", "forward", "include"};
    ARGV *av;
    bool ok = false;

    if (state->exp_type == LOCAL_EXP_NONE)
	return true;
    av = argv_split_list(param_value);
    for (int i = 0; i < av->argc; i++)
	if (strcasecmp(av->argv[i], names[state->exp_type]) == 0)
	    ok = true;
    argv_free(&av);
    return ok;
}

/* local_include - :include:/file */
static void local_include(LOCAL_STATE state, const char *path)
{
    VSTRING *buf = vstring_alloc(1024), *key = vstring_alloc(100);
    struct stat st;
    int fd, saved;

    if (*path != '/') {
	local_result(&state, DEL_STAT_BOUNCE, "5.3.5", ":include: file %s: not an absolute path", path);
	goto out;
    }
    if (!local_allowed(&state, var_allow_mail_to_files) && !local_allowed(&state, var_allow_mail_to_commands)) {
	local_result(&state, DEL_STAT_BOUNCE, "5.7.1", "mail to :include: file is restricted");
	goto out;
    }
    vstring_fmt(key, "include:%s", path);
    if (local_duplicate(&state, STR(key)))
	goto out;
    local_eugid_set(state.uid, state.gid);
    fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    saved = errno;
    if (fd >= 0 && (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))) {
	close(fd);
	fd = -1;
	saved = EINVAL;
    }
    if (fd >= 0) {
	char chunk[8192];
	ssize_t n;

	while ((n = read(fd, chunk, sizeof(chunk))) > 0 && LEN(buf) <= LOCAL_INCLUDE_MAX)
	    vstring_catn(buf, chunk, (size_t) n);
	saved = n < 0 ? errno : 0;
	close(fd);
	if (n < 0)
	    fd = -1;
    }
    local_eugid_root();
    if (fd < 0) {
	if (saved == EACCES || saved == EIO || saved == ENOMEM || saved == EMFILE || saved == ENFILE)
	    local_result(&state, DEL_STAT_DEFER, "4.3.0", "cannot open include file %s: %s", path,
			 strerror(saved));
	else
	    local_result(&state, DEL_STAT_BOUNCE, "5.3.5", "cannot open include file %s: %s", path,
			 saved == EINVAL ? "not a regular file" : strerror(saved));
	goto out;
    }
    if (LEN(buf) > LOCAL_INCLUDE_MAX) {
	local_result(&state, DEL_STAT_BOUNCE, "5.3.5", "include file %s is too large", path);
	goto out;
    }
    if (local_privileged && st.st_uid != 0) {
	state.uid = st.st_uid;
	state.gid = st.st_gid;
    }
    state.exp_type = LOCAL_EXP_INCLUDE;
    state.exp_from = path;
    local_expand(state, STR(buf));
out:
    vstring_free(&buf);
    vstring_free(&key);
}

/* local_expand_address - one address target */
static void local_expand_address(LOCAL_STATE state, const char *target)
{
    VSTRING *addr = vstring_alloc(100);
    const char *at;
    int flags = 0;
    size_t llen;

    if (*target == '\\') {
	target++;
	flags = LOCAL_FLAG_NO_ALIAS | LOCAL_FLAG_NO_FORWARD;
    }
    if (*target == 0 || *target == '@') {
	local_result(&state, DEL_STAT_BOUNCE, "5.1.3", "bad address syntax in %s: \"%s\"",
		     state.exp_from ? state.exp_from : "expansion", target);
	goto out;
    }
    at = strrchr(target, '@');
    llen = at ? (size_t) (at - target) : strlen(target);
    if (at == NULL)
	vstring_fmt(addr, "%s@%s", target, var_myorigin);
    else
	vstring_set(addr, target);
    /* An alias or .forward naming its own owner: the mailbox, no loop. */
    if (state.exp_type == LOCAL_EXP_ALIAS && state.exp_from
	&& strlen(state.exp_from) == llen && strncasecmp(target, state.exp_from, llen) == 0)
	flags |= LOCAL_FLAG_NO_ALIAS;
    if (state.exp_type == LOCAL_EXP_FORWARD && state.user
	&& strlen(state.user) == llen && strncasecmp(target, state.user, llen) == 0)
	flags |= LOCAL_FLAG_NO_ALIAS | LOCAL_FLAG_NO_FORWARD;
    if (flags && at) {
	const char *err;

	/* Only for our own domains: elsewhere it is just another address. */
	if (local_is_local_domain(at + 1, &err) != 1)
	    flags = 0;
    }
    state.address = STR(addr);
    state.flags = flags;
    state.level++;
    state.exp_type = LOCAL_EXP_NONE;
    state.exp_from = NULL;
    local_deliver(state);
out:
    vstring_free(&addr);
}

/* local_expand - deliver every target of list */
void local_expand(LOCAL_STATE state, const char *list)
{
    ARGV *av = target_list_split(list);

    for (int i = 0; i < av->argc; i++) {
	const char *t = av->argv[i];

	if (*t == '|') {
	    if (!local_allowed(&state, var_allow_mail_to_commands))
		local_result(&state, DEL_STAT_BOUNCE, "5.7.1", "mail to command is restricted");
	    else
		local_command(state, t + 1);
	} else if (*t == '/') {
	    if (!local_allowed(&state, var_allow_mail_to_files))
		local_result(&state, DEL_STAT_BOUNCE, "5.7.1", "mail to file is restricted");
	    else
		local_file(state, t);
	} else if (strncasecmp(t, ":include:", 9) == 0) {
	    const char *path = t + 9;

	    while (isspace((unsigned char) *path))
		path++;
	    if (state.level + 1 > LOCAL_MAX_LEVEL) {
		local_result(&state, DEL_STAT_BOUNCE, "5.4.6", "mail forwarding loop for %s", state.address);
		continue;
	    }
	    LOCAL_STATE inc = state;

	    inc.level++;
	    local_include(inc, path);
	} else {
	    local_expand_address(state, t);
	}
    }
    argv_free(&av);
}
