/* target_list - split alias/.forward/:include: target lists (see the
 * header for the syntax). Pure string code: no I/O, never aborts on
 * input. */
#include "sys_defs.h"

#include <ctype.h>

#include "argv.h"
#include "target_list.h"

/* target_list_add - trim one target and add it when not empty */
static void target_list_add(ARGV *av, const char *start, const char *end)
{
    while (start < end && isspace((unsigned char) *start))
	start++;
    while (end > start && isspace((unsigned char) end[-1]))
	end--;
    if (end - start >= 2 && *start == '"' && end[-1] == '"') {
	const char *cp = start + 1;

	/* Strip the quotes only when the opening one closes at the end. */
	while (cp < end - 1 && *cp != '"')
	    cp += (*cp == '\\' && cp + 1 < end - 1) ? 2 : 1;
	if (cp == end - 1) {
	    start++;
	    end--;
	}
    }
    if (end > start)
	argv_addn(av, start, (size_t) (end - start));
}

/* target_list_split - split a target list */
ARGV   *target_list_split(const char *list)
{
    ARGV *av = argv_alloc(4);
    const char *cp, *start = list;
    bool quoted = false, bol = true;

    for (cp = list; *cp; cp++) {
	if (bol && !quoted && *cp == '#') {
	    while (*cp && *cp != '\n')
		cp++;
	    start = *cp ? cp + 1 : cp;
	    if (*cp == 0)
		break;
	    continue;
	}
	bol = false;
	if (*cp == '"') {
	    quoted = !quoted;
	} else if (*cp == '\\' && quoted && cp[1]) {
	    cp++;
	} else if (!quoted && (*cp == ',' || *cp == '\n')) {
	    target_list_add(av, start, cp);
	    start = cp + 1;
	    bol = *cp == '\n';
	}
    }
    if (cp > start)
	target_list_add(av, start, cp);
    return av;
}
