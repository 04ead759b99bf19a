/* config.h - main.cf: parsing, expansion, the parameter registry.
 *
 * Every parameter is declared once in params.def; this header turns that
 * table into program-wide variables var_<name> (char * for STR/LIST, long
 * for INT/TIME/SIZE, bool for BOOL) that config_load() fills in.
 *
 * main.cf syntax (as Postfix): "name = value"; lines starting with white
 * space continue the previous line; "#" starts a comment only at the start
 * of a (logical) line; blank lines are ignored. $name, ${name}, $(name) are
 * expanded when a value is used, recursively; ${name?text} / ${name:text}
 * are the conditional forms. An expansion loop ($a = $b, $b = $a) is an
 * error naming the parameters involved.
 *
 * Errors: config_load returns -1 with a message in *error_r of the form
 * "/etc/posthorn/main.cf, line 12: ..." naming file, line and parameter.
 * Unknown parameter names (not in the registry, not referenced as $name by
 * another value and not set by -o) give a warning with file:line.
 */
#ifndef CONFIG_H
#define CONFIG_H

#include "sys_defs.h"
#include "vstring.h"

enum param_type { PT_STR, PT_LIST, PT_INT, PT_BOOL, PT_TIME, PT_SIZE };

typedef struct param_def {
    const char *name;
    enum param_type type;
    const char *defval;		/* as postconf -d prints it; "@computed" */
    long    min, max;		/* INT/TIME/SIZE bounds */
    const char *desc;		/* one line */
    void   *var;		/* &var_<name> */
} PARAM_DEF;

#define PARAM_CTYPE_STR  char *
#define PARAM_CTYPE_LIST char *
#define PARAM_CTYPE_INT  long
#define PARAM_CTYPE_TIME long
#define PARAM_CTYPE_SIZE long
#define PARAM_CTYPE_BOOL bool

#define PARAM(t, v, n, d, lo, hi, desc) extern PARAM_CTYPE_##t var_##v;
#include "params.def"
#undef PARAM

/* The registry, in params.def order; param_count entries. */
extern const PARAM_DEF param_table[];
extern const size_t param_count;

/* param_find - registry entry for name, or NULL */
const PARAM_DEF *param_find(const char *name);

/* config_set_dir - where main.cf is (default: $MAIL_CONFIG, else the
 * compiled-in DEF_CONFIG_DIR); call before config_load */
void config_set_dir(const char *dir);
/* config_get_dir - the directory in use */
const char *config_get_dir(void);
/* config_override - "-o name=value": takes precedence over main.cf; call
 * before config_load (later calls need another config_load) */
void config_override(const char *name, const char *value);
/* config_set_process - record process_name for $process_name */
void config_set_process(const char *name);

#define CONFIG_FLAG_NONE       0
#define CONFIG_FLAG_NO_WARN    (1 << 0)	/* no unknown-parameter warnings */
#define CONFIG_FLAG_NO_FILE_OK (1 << 1)	/* a missing main.cf is not an error */
#define CONFIG_FLAG_NO_EVAL    (1 << 2)	/* read only: no expansion, no type
					 * checks, var_* untouched (postconf) */
#define CONFIG_FLAG_DEFAULTS_ONLY (1 << 3)	/* ignore main.cf and -o: lookups
					 * see registry defaults (postconf -d) */

/* config_load - read main.cf, apply overrides, expand and validate every
 * registry parameter into var_*. 0, or -1 with *error_r (static buffer,
 * valid until the next call). Safe to call again (reload); on failure
 * the var_* keep their previous values. */
int config_load(int flags, const char **error_r);

/* config_lookup - expanded value of any parameter (registry or user-defined
 * in main.cf/-o), NULL when unknown. The result is valid until the next
 * config_load. */
const char *config_lookup(const char *name);
/* config_lookup_raw - unexpanded value as written (or the default), or NULL */
const char *config_lookup_raw(const char *name);
/* config_is_set - true when main.cf or -o sets name (not defaulted) */
bool config_is_set(const char *name);
/* config_expand - expand $name references in text into out (appends);
 * 0, or -1 with *error_r for an undefined-syntax or loop problem.
 * Unknown names expand to the empty string, as in Postfix. */
int config_expand(VSTRING *out, const char *text, const char **error_r);
/* config_default - the effective default of a registry parameter, with
 * "@computed" resolved (myhostname from the system, ...) */
const char *config_default(const PARAM_DEF *p);
/* config_compute_error - why a computed default (mynetworks, from
 * mynetworks_style, inet_interfaces and inet_protocols) could not be
 * computed since the last config_load, in the config_load error form
 * "FILE, line N: parameter NAME: what"; NULL when all went well. That
 * default is then empty; config_load fails with this message, and a
 * program that loads with CONFIG_FLAG_NO_EVAL (postconf) should warn. */
const char *config_compute_error(void);

/* config_valid_name - true for a non-empty [A-Za-z0-9_]+ parameter name */
bool config_valid_name(const char *name, size_t len);
/* config_quote - printable copy of len bytes of text for a message, cut at
 * 60 bytes with "..."; returns STR(buf) */
const char *config_quote(VSTRING *buf, const char *text, size_t len);
/* config_parse_time - "300s", "5d", "2m" with default unit; 0 or -1 */
int config_parse_time(const char *text, int default_unit, long *secs_r);
/* config_parse_bool - yes/no/true/false/1/0 (case-insensitive); 0 or -1 */
int config_parse_bool(const char *text, bool *val_r);

/* config_file_path - "DIR/main.cf" of the directory in use */
const char *config_main_cf(void);
const char *config_master_cf(void);

/* Each entry of main.cf as read, for postconf -n and its editor. */
typedef struct config_entry {
    char   *name;
    char   *value;		/* unexpanded, continuation lines joined */
    int     line;		/* first line number */
} CONFIG_ENTRY;
/* config_entries - main.cf entries in file order (after config_load);
 * *count_r gets the count */
const CONFIG_ENTRY *config_entries(size_t *count_r);

#endif
