/* imap_mime.h - RFC 5322 / MIME structure of a message for IMAP FETCH:
 * ENVELOPE, BODY, BODYSTRUCTURE and BODY[section] contents.
 *
 * The message is a byte range in memory, with LF or CRLF line ends (the
 * Maildir stores LF); everything produced for the client has CRLF line
 * ends, and every size and offset reported (BODYSTRUCTURE sizes, section
 * contents, partial fetches by the caller) counts CRLF line ends, so the
 * numbers match what a client receives.
 *
 * Parsing never fails: malformed headers, missing boundaries, truncated
 * parts give a best-effort structure (a multipart without any boundary
 * is shown as text/plain). Limits: IMAP_MIME_MAX_DEPTH nesting levels
 * (deeper parts are leaves) and IMAP_MIME_MAX_PARTS parts per message
 * (later parts are dropped); addresses per header field are bounded by
 * IMAP_MIME_MAX_ADDRS. Memory is linear in the number of parts.
 */
#ifndef IMAP_MIME_H
#define IMAP_MIME_H

#include "sys_defs.h"
#include "argv.h"
#include "vstring.h"

#define IMAP_MIME_MAX_DEPTH 20
#define IMAP_MIME_MAX_PARTS 2000
#define IMAP_MIME_MAX_ADDRS 1000

typedef struct imap_mime_part IMAP_MIME_PART;

struct imap_mime_part {
    size_t  hdr_off, hdr_len;	/* the header, with the blank line ending it */
    size_t  body_off, body_len;
    char   *type, *subtype;	/* as sent (defaults "text"/"plain") */
    ARGV   *params;		/* Content-Type parameters: name, value, ... */
    char   *id, *description, *encoding, *md5, *language, *location;
    char   *disposition;	/* NULL: none */
    ARGV   *disp_params;
    IMAP_MIME_PART *children;	/* multipart: the parts */
    size_t  nchildren;
    IMAP_MIME_PART *message;	/* message/rfc822: the enclosed message */
};

/* imap_mime_parse - the structure of msg (len bytes); the part's header
 * is the message header. The caller keeps msg alive while using it. */
IMAP_MIME_PART *imap_mime_parse(const char *msg, size_t len);

/* imap_mime_free - release; NULLs the pointer */
void imap_mime_free(IMAP_MIME_PART **partp);

/* imap_mime_crlf_size - bytes of data once bare LFs become CRLF */
uint64_t imap_mime_crlf_size(const char *data, size_t len);

/* imap_mime_crlf - append data with bare LFs turned into CRLF */
void imap_mime_crlf(VSTRING *out, const char *data, size_t len);

/* imap_mime_envelope - append the ENVELOPE list of a header block */
void imap_mime_envelope(VSTRING *out, const char *hdr, size_t len);

/* imap_mime_envelope_get - element index (0 Date, 1 Subject, 8
 * In-Reply-To, 9 Message-ID) of an ENVELOPE made by imap_mime_envelope,
 * decoded (the exact header value it was made from) into value. 1: a
 * string, 0: NIL (no such header), -1: not a string element or not an
 * envelope (a damaged cache entry: the caller reads the message). */
int imap_mime_envelope_get(const char *env, size_t len, int index, VSTRING *value);

/* imap_mime_addr_fields - append a compact record of the From, To, Cc and
 * Bcc values of a header block (as imap_mime_header_get returns them) */
void imap_mime_addr_fields(VSTRING *out, const char *hdr, size_t len);

/* imap_mime_addr_field_get - a field of such a record (name From, To, Cc
 * or Bcc, any case) into value: 1 found, 0 the header had no such field,
 * -1 another name or a damaged record */
int imap_mime_addr_field_get(const char *rec, size_t len, const char *name, VSTRING *value);

/* imap_mime_bodystructure - append BODYSTRUCTURE (extended) or BODY
 * (!extended) of part, whose offsets refer to msg */
void imap_mime_bodystructure(VSTRING *out, const IMAP_MIME_PART *part, const char *msg,
			     bool extended);

/* imap_mime_header_get - the first field called name in a header block,
 * unfolded (CR and LF removed, leading white space dropped) into value;
 * 1 found, 0 not */
int imap_mime_header_get(const char *hdr, size_t len, const char *name, VSTRING *value);

/* ---- sections ---- */

#define IMAP_SECTION_ALL		0	/* BODY[] or BODY[1.2] */
#define IMAP_SECTION_HEADER		1
#define IMAP_SECTION_HEADER_FIELDS	2
#define IMAP_SECTION_HEADER_FIELDS_NOT	3
#define IMAP_SECTION_TEXT		4
#define IMAP_SECTION_MIME		5

#define IMAP_SECTION_MAX_PARTS 64

typedef struct imap_section {
    unsigned parts[IMAP_SECTION_MAX_PARTS];
    size_t  nparts;
    int     kind;
    ARGV   *fields;			/* HEADER.FIELDS[.NOT] names */
} IMAP_SECTION;

/* imap_section_parse - parse the text between '[' and ']' of a FETCH
 * BODY[...] item; 0, or -1 with *error_r (static text). The section
 * must be released with imap_section_free either way. */
int imap_section_parse(const char *spec, size_t len, IMAP_SECTION *sec, const char **error_r);

/* imap_section_free - release the field list */
void imap_section_free(IMAP_SECTION *sec);

/* imap_section_name - append the normalized spec (for the response) */
void imap_section_name(VSTRING *out, const IMAP_SECTION *sec);

/* imap_section_get - append the section's contents (CRLF line ends) to
 * out; a section that does not exist gives nothing (empty string) */
void imap_section_get(VSTRING *out, const IMAP_MIME_PART *root, const char *msg,
		      const IMAP_SECTION *sec);

#endif
