/*  node/memberfilter.h: which members a `members` request asks for.

    Serf's `members -status S -tag key=regexp`, for fednode: a filter holds
    statuses (a member matches if it is in any of them) and tag patterns (it
    must match every one). A member's tags are its location's region, zone
    and site (each when set and non-empty) and each of its location labels,
    key -> value; values are not capped (Serf caps them at 512 bytes). A
    pattern is a POSIX extended regular expression that must match the
    whole value, as Serf anchors them: `eu` matches "eu" but not "eu-west",
    `eu.*` matches both. A member that lacks a tag the filter names does not
    match. A filter with nothing in it matches every member.

    The control command reads the filter from its request's optional
    arguments `status` (array of str) and `tags` (map str -> str), see
    doc/protocol.md §3.4. A filter is used by one thread at a time.
*/
#ifndef FED_MEMBERFILTER_H_INCLUDED
#define FED_MEMBERFILTER_H_INCLUDED

#include "ctlmsg.h"
#include "util.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FED_MEMBER_FILTER_STATUSES_MAX 16 //  statuses in one filter (repeats count)
#define FED_MEMBER_FILTER_TAGS_MAX 64     //  tag patterns in one filter
#define FED_MEMBER_FILTER_KEY_MAX 64      //  bytes in a tag key
#define FED_MEMBER_FILTER_REGEXP_MAX 1024 //  bytes in a tag pattern

typedef struct fed_member_filter_t fed_member_filter_t;

//  One tag of a member, both strings borrowed from the caller.
typedef struct {
    const char *key;
    const char *value;
} fed_member_tag_t;

//  An empty filter (it matches every member). Caller owns it. Never NULL.
fed_member_filter_t *fed_member_filter_new (void);
//  Frees the filter and its compiled patterns. Accepts NULL; sets *self_p
//  to NULL.
void fed_member_filter_destroy (fed_member_filter_t **self_p);

//  Adds a status: "alive", "suspect", "dead" or "left" (exact, lower case).
//  Several statuses: a member in any of them matches. Returns 0, or -1 with
//  err when status is another word or the filter already holds
//  FED_MEMBER_FILTER_STATUSES_MAX.
int fed_member_filter_add_status (fed_member_filter_t *self, const char *status,
                                  fed_err_t *err) FED_MUST_USE;

//  Adds a tag pattern: the member's tag key must exist and its whole value
//  match regexp (POSIX extended, compiled now; key and regexp are copied).
//  Several tags: a member must match all. Returns 0, or -1 with err when
//  key is empty or over FED_MEMBER_FILTER_KEY_MAX bytes, regexp is over
//  FED_MEMBER_FILTER_REGEXP_MAX bytes, the filter already holds key or
//  FED_MEMBER_FILTER_TAGS_MAX patterns, regexp holds a back-reference (\1)
//  or repeat counts that expand it past FED_MEMBER_FILTER_REGEXP_MAX
//  positions (both too costly for glibc to run on a client's behalf), or it
//  does not compile (err names the tag and gives regerror's text).
int fed_member_filter_add_tag (fed_member_filter_t *self, const char *key, const char *regexp,
                               fed_err_t *err) FED_MUST_USE;

//  True when a member in status (NULL: unknown) with these tags (tag_count
//  of them; entries with a NULL key or value are ignored) passes the
//  filter. If tags holds a key more than once, any of its values may match.
bool fed_member_filter_match (const fed_member_filter_t *self, const char *status,
                              const fed_member_tag_t *tags, size_t tag_count);

//  Adds the filter a `members` request asks for: its optional arguments
//  `status`, an array of at most FED_MEMBER_FILTER_STATUSES_MAX strings,
//  and `tags`, a map of at most FED_MEMBER_FILTER_TAGS_MAX entries from key
//  to regexp (both strings), with the limits of the add functions. Reading
//  them marks them used (fed_ctl_args_all_used). Returns 0 (also when
//  neither is given), or -1 with err naming the argument and what is wrong
//  with it; the filter may then hold part of the request: destroy it.
int fed_member_filter_from_request (fed_member_filter_t *self, fed_ctl_request_t *request,
                                    fed_err_t *err) FED_MUST_USE;

#ifdef __cplusplus
}
#endif
#endif
