/* mail_date.h - RFC 5322 date-time text for Date: and Received: headers.
 *
 * The format is "Mon, 23 Nov 2026 07:45:12 +0000 (UTC)": English day and
 * month names whatever the locale, numeric zone, zone abbreviation as a
 * comment (as Postfix writes it). Never fails.
 */
#ifndef MAIL_DATE_H
#define MAIL_DATE_H

#include <time.h>

#include "sys_defs.h"
#include "vstring.h"

/* mail_date - the date-time for when, local time, into buf (replacing its
 * contents); returns STR(buf) */
const char *mail_date(VSTRING *buf, time_t when);

#endif
