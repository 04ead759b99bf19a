/* mail_date - RFC 5322 date-time text.
 *
 * Contract: see mail_date.h. Day and month names come from fixed tables,
 * not strftime %a/%b, so the output never depends on the locale. The zone
 * offset is tm_gmtoff (glibc); the comment is tm_zone when it is a short
 * printable word.
 */
#include "sys_defs.h"

#include <string.h>
#include <time.h>

#include "mail_date.h"
#include "vstring.h"

/* mail_date - format when */
const char *mail_date(VSTRING *buf, time_t when)
{
    static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    struct tm tm;
    long    off, aoff;

    localtime_r(&when, &tm);
    off = tm.tm_gmtoff / 60;
    aoff = off < 0 ? -off : off;
    vstring_fmt(buf, "%s, %02d %s %d %02d:%02d:%02d %c%02ld%02ld",
		days[tm.tm_wday % 7], tm.tm_mday, months[tm.tm_mon % 12], tm.tm_year + 1900,
		tm.tm_hour, tm.tm_min, tm.tm_sec, off < 0 ? '-' : '+', aoff / 60, aoff % 60);
    if (tm.tm_zone != NULL && *tm.tm_zone && strlen(tm.tm_zone) < 16
	&& strspn(tm.tm_zone, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+-")
	== strlen(tm.tm_zone))
	vstring_fmt_append(buf, " (%s)", tm.tm_zone);
    return STR(buf);
}
