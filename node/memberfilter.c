/*  node/memberfilter.c: member filters by status and tag. See memberfilter.h.

    Anchoring: Serf wraps a pattern as "^re$", which lets `eu|us` match
    anything that starts with eu or ends with us. Wrapping as "^(re)$" fixes that but not every
    case: glibc reads an unmatched ")" as a literal, so `eu)|x` would become
    "^(eu)|x)$" and match "eu-west". So the pattern is compiled as given and
    a value matches when regexec's match covers all of it: POSIX returns
    the leftmost match and, among those, the longest, so if the pattern can
    match the whole value the match found starts at 0 and ends at its end.
    That needs the match offsets, so patterns are not compiled REG_NOSUB.

    Patterns come from control clients, so two glibc hazards are refused
    before regcomp: back-references (matching them can take exponential
    time) and repeat counts that expand a pattern past
    FED_MEMBER_FILTER_REGEXP_MAX positions (glibc builds every copy:
    "((a{255}){255}){255}" takes seconds and much memory to compile).
*/
#include "memberfilter.h"

#include <ctype.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const s_statuses [] = {"alive", "suspect", "dead", "left"};
#define S_STATUS_COUNT (sizeof s_statuses / sizeof s_statuses [0])

typedef struct {
    char *key;     //  the tag key, owned
    regex_t regex; //  the compiled pattern
} s_tag_filter_t;

struct fed_member_filter_t {
    unsigned statuses;                                //  bit i: s_statuses [i] wanted
    size_t status_count;                              //  statuses added, repeats included
    s_tag_filter_t tags [FED_MEMBER_FILTER_TAGS_MAX]; //  the first tag_count are in use
    size_t tag_count;
};

//  Index of status in s_statuses, or -1.
static int
s_status_index (const char *status)
{
    for (size_t i = 0; status && i < S_STATUS_COUNT; i++)
        if (strcmp (status, s_statuses [i]) == 0)
            return (int) i;
    return -1;
}

//  Skips the bracket expression that starts at re [i] ('['). Returns the
//  index after its ']', or the end of re when it is not closed (regcomp
//  then reports it).
static size_t
s_skip_bracket (const char *re, size_t i)
{
    i++;
    if (re [i] == '^')
        i++;
    if (re [i] == ']')
        i++; //  a literal ']' first
    while (re [i] && re [i] != ']') {
        if (re [i] == '[' && (re [i + 1] == ':' || re [i + 1] == '.' || re [i + 1] == '=')) {
            const char *end = strchr (re + i + 2, re [i + 1]);
            while (end && end [1] != ']')
                end = strchr (end + 1, re [i + 1]);
            if (!end)
                return strlen (re);
            i = (size_t) (end - re) + 2;
        } else
            i++;
    }
    return re [i] ? i + 1 : i;
}

//  Reads a repeat count "{m}", "{m,}" or "{m,n}" at re [i]. Returns how many
//  copies of the atom before it glibc builds (m, m + 1 for "{m,}", n), at
//  least 1, and sets *next after the '}'; 0 when it is not one.
static size_t
s_repeat_copies (const char *re, size_t i, size_t *next)
{
    if (re [i] != '{' || !isdigit ((unsigned char) re [i + 1]))
        return 0;
    char *end;
    unsigned long m = strtoul (re + i + 1, &end, 10), n = m;
    if (*end == ',') {
        if (isdigit ((unsigned char) end [1]))
            n = strtoul (end + 1, &end, 10);
        else {
            n = m + 1;
            end++;
        }
    }
    if (*end != '}')
        return 0;
    *next = (size_t) (end - re) + 1;
    return n > m ? n : m ? m : 1;
}

//  Checks a pattern for the hazards above. Returns 0, or -1 with err.
static int
s_check_pattern (const char *key, const char *re, fed_err_t *err)
{
    //  Positions in the current group at each nesting level, and in the
    //  last atom (what a repeat count copies).
    size_t size = strlen (re);
    size_t *group = (size_t *) fed_calloc (size + 1, sizeof (size_t));
    size_t depth = 0, last = 0, i = 0;
    const size_t max = FED_MEMBER_FILTER_REGEXP_MAX;
    int rc = 0;
    while (i < size && rc == 0) {
        size_t copies, next;
        char c = re [i];
        if (c == '\\' && re [i + 1] >= '1' && re [i + 1] <= '9') {
            fed_err_set (err, 0,
                         "tag '%s': back-references (\\%c) are not allowed in patterns: "
                         "matching them can take exponential time",
                         key, re [i + 1]);
            rc = -1;
        } else if (c == '(') {
            group [++depth] = 0;
            last = 0;
            i++;
        } else if (c == ')' && depth > 0) {
            last = group [depth--];
            group [depth] += last;
            i++;
        } else if (c == '|') {
            last = 0; //  nothing to repeat
            i++;
        } else if (c == '*' || c == '?')
            i++; //  no copies
        else if (c == '+') {
            group [depth] += last; //  glibc builds a+ as aa*
            last *= 2;
            i++;
        } else if ((copies = s_repeat_copies (re, i, &next)) > 0) {
            if (copies > max || (last && copies - 1 > (max - group [depth]) / last))
                group [depth] = max + 1;
            else {
                group [depth] += last * (copies - 1);
                last *= copies;
            }
            i = next;
        } else {
            i = c == '[' ? s_skip_bracket (re, i) : c == '\\' && re [i + 1] ? i + 2 : i + 1;
            group [depth]++;
            last = 1;
        }
        if (rc == 0 && (group [depth] > max || last > max)) {
            fed_err_set (err, 0,
                         "tag '%s': the pattern's repeat counts make it over %zu positions "
                         "long: use smaller counts, or * and +",
                         key, max);
            rc = -1;
        }
    }
    free (group);
    return rc;
}

fed_member_filter_t *
fed_member_filter_new (void)
{
    return (fed_member_filter_t *) fed_calloc (1, sizeof (fed_member_filter_t));
}

void
fed_member_filter_destroy (fed_member_filter_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    fed_member_filter_t *self = *self_p;
    for (size_t i = 0; i < self->tag_count; i++) {
        free (self->tags [i].key);
        regfree (&self->tags [i].regex);
    }
    free (self);
    *self_p = NULL;
}

int
fed_member_filter_add_status (fed_member_filter_t *self, const char *status, fed_err_t *err)
{
    int index = s_status_index (status);
    if (index < 0) {
        fed_err_set (err, 0, "status '%.32s' is not one of alive, suspect, dead, left",
                     status ? status : "");
        return -1;
    }
    if (self->status_count >= FED_MEMBER_FILTER_STATUSES_MAX) {
        fed_err_set (err, 0, "more than %d statuses", FED_MEMBER_FILTER_STATUSES_MAX);
        return -1;
    }
    self->statuses |= 1u << index;
    self->status_count++;
    return 0;
}

int
fed_member_filter_add_tag (fed_member_filter_t *self, const char *key, const char *regexp,
                           fed_err_t *err)
{
    size_t key_size = strlen (key);
    if (key_size == 0 || key_size > FED_MEMBER_FILTER_KEY_MAX) {
        fed_err_set (err, 0, "tag key '%.64s%s' must be 1 to %d bytes", key,
                     key_size > 64 ? "..." : "", FED_MEMBER_FILTER_KEY_MAX);
        return -1;
    }
    if (strlen (regexp) > FED_MEMBER_FILTER_REGEXP_MAX) {
        fed_err_set (err, 0, "tag '%s': the pattern is over the limit of %d bytes", key,
                     FED_MEMBER_FILTER_REGEXP_MAX);
        return -1;
    }
    for (size_t i = 0; i < self->tag_count; i++)
        if (strcmp (self->tags [i].key, key) == 0) {
            fed_err_set (err, 0,
                         "tag '%s' is given twice: give one pattern per tag (a|b for either)", key);
            return -1;
        }
    if (self->tag_count >= FED_MEMBER_FILTER_TAGS_MAX) {
        fed_err_set (err, 0, "more than %d tags", FED_MEMBER_FILTER_TAGS_MAX);
        return -1;
    }
    if (s_check_pattern (key, regexp, err))
        return -1;
    s_tag_filter_t *tag = &self->tags [self->tag_count];
    int rc = regcomp (&tag->regex, regexp, REG_EXTENDED);
    if (rc) {
        char why [256];
        regerror (rc, &tag->regex, why, sizeof why);
        fed_err_set (err, 0, "tag '%s': bad regular expression '%.64s%s': %s", key, regexp,
                     strlen (regexp) > 64 ? "..." : "", why);
        return -1;
    }
    tag->key = fed_strdup (key);
    self->tag_count++;
    return 0;
}

//  True when regex matches all of value.
static bool
s_whole_match (const regex_t *regex, const char *value)
{
    regmatch_t match;
    return regexec (regex, value, 1, &match, 0) == 0 && match.rm_so == 0
        && (size_t) match.rm_eo == strlen (value);
}

bool
fed_member_filter_match (const fed_member_filter_t *self, const char *status,
                         const fed_member_tag_t *tags, size_t tag_count)
{
    if (self->statuses) {
        int index = s_status_index (status);
        if (index < 0 || !(self->statuses & (1u << index)))
            return false;
    }
    for (size_t f = 0; f < self->tag_count; f++) {
        bool matched = false;
        for (size_t t = 0; t < tag_count && !matched; t++)
            matched = tags [t].key && tags [t].value
                && strcmp (tags [t].key, self->tags [f].key) == 0
                && s_whole_match (&self->tags [f].regex, tags [t].value);
        if (!matched)
            return false;
    }
    return true;
}

//  Reads one str into buf (max bytes plus a NUL). Returns 0, or -1 when the
//  next object is not a str of at most max bytes without NUL bytes.
static int
s_read_text (fed_mpr_t *reader, char *buf, size_t max)
{
    const char *ptr;
    uint32_t len;
    if (fed_mpr_str (reader, &ptr, &len) || len > max || memchr (ptr, 0, len))
        return -1;
    memcpy (buf, ptr, len);
    buf [len] = 0;
    return 0;
}

//  Puts "argument 'name': " before the message add_status/add_tag left.
static int
s_arg_error (const char *name, fed_err_t *err)
{
    if (err) {
        char why [sizeof err->text];
        snprintf (why, sizeof why, "%s", err->text);
        fed_err_set (err, 0, "argument '%s': %s", name, why);
    }
    return -1;
}

static int
s_read_statuses (fed_member_filter_t *self, fed_blob_t value, fed_err_t *err)
{
    fed_mpr_t reader;
    fed_mpr_init (&reader, value.data, value.size);
    uint32_t count;
    if (fed_mpr_array (&reader, &count)) {
        fed_err_set (err, 0, "argument 'status' must be an array of strings");
        return -1;
    }
    if (count > FED_MEMBER_FILTER_STATUSES_MAX) {
        fed_err_set (err, 0, "argument 'status' has %u entries, over the limit of %d", count,
                     FED_MEMBER_FILTER_STATUSES_MAX);
        return -1;
    }
    for (uint32_t i = 0; i < count; i++) {
        char status [16];
        if (s_read_text (&reader, status, sizeof status - 1)) {
            fed_err_set (err, 0,
                         "argument 'status': entry %u must be one of the strings alive, "
                         "suspect, dead, left",
                         i);
            return -1;
        }
        if (fed_member_filter_add_status (self, status, err))
            return s_arg_error ("status", err);
    }
    return 0;
}

static int
s_read_tags (fed_member_filter_t *self, fed_blob_t value, fed_err_t *err)
{
    fed_mpr_t reader;
    fed_mpr_init (&reader, value.data, value.size);
    uint32_t count;
    if (fed_mpr_map (&reader, &count)) {
        fed_err_set (err, 0, "argument 'tags' must be a map from tag key to pattern");
        return -1;
    }
    if (count > FED_MEMBER_FILTER_TAGS_MAX) {
        fed_err_set (err, 0, "argument 'tags' has %u entries, over the limit of %d", count,
                     FED_MEMBER_FILTER_TAGS_MAX);
        return -1;
    }
    char *regexp = (char *) fed_malloc (FED_MEMBER_FILTER_REGEXP_MAX + 1);
    int rc = 0;
    for (uint32_t i = 0; i < count && rc == 0; i++) {
        char key [FED_MEMBER_FILTER_KEY_MAX + 1];
        if (s_read_text (&reader, key, FED_MEMBER_FILTER_KEY_MAX) || !*key) {
            fed_err_set (err, 0,
                         "argument 'tags': key %u must be a string of 1 to %d bytes (no NUL)", i,
                         FED_MEMBER_FILTER_KEY_MAX);
            rc = -1;
        } else if (s_read_text (&reader, regexp, FED_MEMBER_FILTER_REGEXP_MAX)) {
            fed_err_set (err, 0,
                         "argument 'tags': the pattern for '%s' must be a string of at most %d "
                         "bytes (no NUL)",
                         key, FED_MEMBER_FILTER_REGEXP_MAX);
            rc = -1;
        } else if (fed_member_filter_add_tag (self, key, regexp, err))
            rc = s_arg_error ("tags", err);
    }
    free (regexp);
    return rc;
}

int
fed_member_filter_from_request (fed_member_filter_t *self, fed_ctl_request_t *request,
                                fed_err_t *err)
{
    fed_blob_t value;
    int rc = fed_ctl_arg_array (request, "status", &value, err);
    if (rc < 0 || (rc == 0 && s_read_statuses (self, value, err)))
        return -1;
    rc = fed_ctl_arg_map (request, "tags", &value, err);
    if (rc < 0 || (rc == 0 && s_read_tags (self, value, err)))
        return -1;
    return 0;
}
