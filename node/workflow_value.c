/*  node/workflow_value.c: the values of a workflow file (see workflow.h):
    scalars read against what a key expects (text, durations, counts,
    numbers, booleans), YAML values packed as msgpack with their types
    resolved as YAML 1.2's core schema does, references found in strings,
    and the rules for names and versions, their order, and the hash.
*/
#include "workflow_internal.h"

#include <errno.h>
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
fed_wf_text (fed_wf_parse_t *p, const fed_ynode_t *value, const char *named, size_t max,
             bool may_be_empty, const char **text)
{
    if (value->shape != FED_YAML_SCALAR) {
        fed_wf_fail (p, value, "%s: expected text, got %s", named, fed_ynode_shape_name (value));
        return -1;
    }
    *text = fed_ynode_is_null (value) ? "" : value->text;
    size_t length = strlen (*text);
    if (!length && !may_be_empty) {
        fed_wf_fail (p, value, "%s: is empty; give a value", named);
        return -1;
    }
    if (length > max) {
        fed_wf_fail (p, value, "%s: %zu bytes; at most %zu are allowed", named, length, max);
        return -1;
    }
    return 0;
}

//  A plain scalar's text, or NULL after reporting what was expected.
static const char *
s_plain (fed_wf_parse_t *p, const fed_ynode_t *value, const char *named, const char *expected)
{
    if (value->shape != FED_YAML_SCALAR)
        fed_wf_fail (p, value, "%s: expected %s, got %s", named, expected,
                     fed_ynode_shape_name (value));
    else if (!value->plain)
        fed_wf_fail (p, value, "%s: expected %s, got the quoted text '%.64s'; drop the quotes",
                     named, expected, value->text);
    else if (fed_ynode_is_null (value))
        fed_wf_fail (p, value, "%s: expected %s, got nothing", named, expected);
    else
        return value->text;
    return NULL;
}

int
fed_wf_duration (fed_wf_parse_t *p, const fed_ynode_t *value, const char *named, int64_t min_ms,
                 int64_t max_ms, int64_t *ms)
{
    if (value->shape != FED_YAML_SCALAR || fed_ynode_is_null (value)) {
        fed_wf_fail (p, value, "%s: expected a duration like 500ms, 30s, 5m, 2h, 1d, got %s", named,
                     value->shape == FED_YAML_SCALAR ? "nothing" : fed_ynode_shape_name (value));
        return -1;
    }
    const char *text = value->text;
    char low [32], high [32];
    fed_format_duration (low, sizeof low, min_ms);
    fed_format_duration (high, sizeof high, max_ms);
    if (*text && strspn (text, "0123456789") == strlen (text)) {
        fed_wf_fail (p, value, "%s: bad duration '%.32s': give a unit, like %ss or %sms", named,
                     text, text, text);
        return -1;
    }
    if (fed_parse_duration (text, ms)) {
        fed_wf_fail (p, value,
                     "%s: bad duration '%.64s'; expected a whole number and a unit (ms, s, m, h, "
                     "d), like 500ms, 30s, 5m",
                     named, text);
        return -1;
    }
    if (*ms < min_ms || *ms > max_ms) {
        fed_wf_fail (p, value, "%s: duration %s is out of range; expected %s to %s", named, text,
                     low, high);
        return -1;
    }
    return 0;
}

int
fed_wf_count (fed_wf_parse_t *p, const fed_ynode_t *value, const char *named, uint64_t min,
              uint64_t max, uint64_t *count)
{
    char expected [80];
    snprintf (expected, sizeof expected, "an integer from %llu to %llu", (unsigned long long) min,
              (unsigned long long) max);
    const char *text = s_plain (p, value, named, expected);
    if (!text)
        return -1;
    size_t digits = strspn (text, "0123456789");
    if (!digits || text [digits] || digits > 18) {
        fed_wf_fail (p, value, "%s: expected %s, got '%.64s'", named, expected, text);
        return -1;
    }
    *count = strtoull (text, NULL, 10);
    if (*count < min || *count > max) {
        fed_wf_fail (p, value, "%s: %s is out of range; expected %s", named, text, expected);
        return -1;
    }
    return 0;
}

//  True if text is a YAML 1.2 core-schema float (or integer) written in
//  decimal; *number gets its value.
static bool
s_is_float (const char *text, double *number)
{
    const char *t = text + (*text == '-' || *text == '+');
    if (!strcmp (t, ".inf") || !strcmp (t, ".Inf") || !strcmp (t, ".INF")) {
        *number = *text == '-' ? -INFINITY : INFINITY;
        return true;
    }
    if (t == text && (!strcmp (t, ".nan") || !strcmp (t, ".NaN") || !strcmp (t, ".NAN"))) {
        *number = NAN;
        return true;
    }
    size_t whole = strspn (t, "0123456789"), fraction = 0;
    const char *c = t + whole;
    if (*c == '.')
        fraction = strspn (++c, "0123456789");
    c += fraction;
    if (!whole && !fraction)
        return false;
    if (*c == 'e' || *c == 'E') {
        c += 1 + (c [1] == '-' || c [1] == '+');
        size_t exponent = strspn (c, "0123456789");
        if (!exponent)
            return false;
        c += exponent;
    }
    if (*c)
        return false;
    *number = strtod (text, NULL);
    return true;
}

int
fed_wf_number (fed_wf_parse_t *p, const fed_ynode_t *value, const char *named, double min,
               double max, double *number)
{
    char expected [80];
    snprintf (expected, sizeof expected, "a number from %g to %g", min, max);
    const char *text = s_plain (p, value, named, expected);
    if (!text)
        return -1;
    if (!s_is_float (text, number) || !isfinite (*number)) {
        fed_wf_fail (p, value, "%s: expected %s, got '%.64s'", named, expected, text);
        return -1;
    }
    if (*number < min || *number > max) {
        fed_wf_fail (p, value, "%s: %s is out of range; expected %s", named, text, expected);
        return -1;
    }
    return 0;
}

//  YAML 1.2 core booleans. Returns 1 and sets *flag, else 0.
static int
s_is_bool (const char *text, bool *flag)
{
    static const char *const names [] = {"true", "True", "TRUE", "false", "False", "FALSE"};
    for (size_t i = 0; i < 6; i++)
        if (!strcmp (text, names [i])) {
            *flag = i < 3;
            return 1;
        }
    return 0;
}

int
fed_wf_bool (fed_wf_parse_t *p, const fed_ynode_t *value, const char *named, bool *flag)
{
    const char *text = s_plain (p, value, named, "true or false");
    if (!text)
        return -1;
    if (!s_is_bool (text, flag)) {
        fed_wf_fail (p, value, "%s: expected true or false, got '%.64s'", named, text);
        return -1;
    }
    return 0;
}

//  --------------------------------------------------------------------------
//  Values and references

//  What a plain scalar resolves to.
typedef enum { S_NIL, S_BOOL, S_INT, S_UINT, S_FLOAT, S_STR } s_scalar_kind_t;

typedef struct {
    s_scalar_kind_t kind;
    bool flag;
    int64_t integer;
    uint64_t unsigned_integer;
    double number;
} s_scalar_t;

//  Resolves a scalar as YAML 1.2's core schema does: quoted and block
//  scalars are text; plain ones may be null, a bool, an integer (decimal,
//  0x hex, 0o octal) or a float. An integer past 64 bits stays text.
static s_scalar_t
s_resolve (const fed_ynode_t *node)
{
    s_scalar_t value = {S_STR, false, 0, 0, 0};
    const char *text = node->text;
    if (!node->plain)
        return value;
    if (fed_ynode_is_null (node)) {
        value.kind = S_NIL;
        return value;
    }
    if (s_is_bool (text, &value.flag)) {
        value.kind = S_BOOL;
        return value;
    }
    const char *digits = text + (*text == '-' || *text == '+');
    int base = 10;
    const char *set = "0123456789";
    if (digits == text && (!strncmp (text, "0x", 2) || !strncmp (text, "0o", 2))) {
        base = text [1] == 'x' ? 16 : 8;
        set = base == 16 ? "0123456789abcdefABCDEF" : "01234567";
        digits += 2;
    }
    size_t length = strlen (digits);
    if (length && strspn (digits, set) == length) {
        errno = 0;
        if (*text == '-') {
            long long number = strtoll (text, NULL, 10);
            if (errno)
                return value;
            value.kind = S_INT;
            value.integer = number;
        } else {
            unsigned long long number = strtoull (digits, NULL, base);
            if (errno)
                return value;
            value.kind = number > INT64_MAX ? S_UINT : S_INT;
            value.integer = (int64_t) number;
            value.unsigned_integer = number;
        }
        return value;
    }
    if (s_is_float (text, &value.number))
        value.kind = S_FLOAT;
    return value;
}

void
fed_wf_pack_value (fed_wf_parse_t *p, msgpack_packer *pk, const fed_ynode_t *value,
                   const char *named, size_t step)
{
    if (value->shape == FED_YAML_SEQ) {
        msgpack_pack_array (pk, (uint32_t) value->count);
        for (size_t i = 0; i < value->count; i++)
            fed_wf_pack_value (p, pk, value->child [i], named, step);
        return;
    }
    if (value->shape == FED_YAML_MAP) {
        fed_wf_check_keys (p, value, named);
        msgpack_pack_map (pk, (uint32_t) (value->count / 2));
        for (size_t i = 0; i + 1 < value->count; i += 2) {
            const fed_ynode_t *key = value->child [i];
            const char *text = key->shape == FED_YAML_SCALAR ? key->text : "";
            msgpack_pack_str_with_body (pk, text, strlen (text));
            fed_wf_pack_value (p, pk, value->child [i + 1], named, step);
        }
        return;
    }
    s_scalar_t scalar = s_resolve (value);
    switch (scalar.kind) {
        case S_NIL: msgpack_pack_nil (pk); break;
        case S_BOOL:
            if (scalar.flag)
                msgpack_pack_true (pk);
            else
                msgpack_pack_false (pk);
            break;
        case S_INT: msgpack_pack_int64 (pk, scalar.integer); break;
        case S_UINT: msgpack_pack_uint64 (pk, scalar.unsigned_integer); break;
        case S_FLOAT: msgpack_pack_double (pk, scalar.number); break;
        case S_STR:
            msgpack_pack_str_with_body (pk, value->text, strlen (value->text));
            if (step != SIZE_MAX)
                fed_wf_scan_refs (p, value, value->text, named, step);
            break;
    }
}

//  The column of byte offset in the scalar at node, when the scalar sits on
//  one line exactly as its text (no escapes, no folding); else its start.
static size_t
s_column_of (const fed_ynode_t *node, size_t offset)
{
    bool quoted = node->quote == '\'' || node->quote == '"';
    if (node->quote != 0 && !quoted)
        return node->column;
    size_t width = strlen (node->text) + (quoted ? 2 : 0);
    if (node->line != node->end_line || node->end_column - node->column != width)
        return node->column;
    return node->column + (quoted ? 1 : 0) + offset;
}

static bool
s_is_id_char (char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'
        || c == '-';
}

//  Length of the id at text ([A-Za-z0-9_-]+).
static size_t
s_id_span (const char *text)
{
    size_t n = 0;
    while (s_is_id_char (text [n]))
        n++;
    return n;
}

static void
s_add_ref (fed_wf_parse_t *p, size_t step, bool is_step, const char *target, size_t target_size,
           const char *path, size_t path_size, const char *text, size_t text_size, size_t line,
           size_t column)
{
    if (p->ref_count == p->ref_alloc) {
        p->ref_alloc = p->ref_alloc ? p->ref_alloc * 2 : 16;
        p->refs = (fed_wf_pending_t *) fed_realloc (p->refs, p->ref_alloc * sizeof *p->refs);
    }
    fed_wf_arena_t *arena = p->wf->arena;
    char *copies = (char *) fed_wf_alloc (arena, target_size + path_size + text_size + 3);
    memcpy (copies, target, target_size);
    memcpy (copies + target_size + 1, path, path_size);
    memcpy (copies + target_size + path_size + 2, text, text_size);
    p->refs [p->ref_count++] = (fed_wf_pending_t){
        step, is_step, copies, copies + target_size + 1, copies + target_size + path_size + 2,
        line, column};
}

void
fed_wf_scan_refs (fed_wf_parse_t *p, const fed_ynode_t *node, const char *text, const char *named,
                  size_t step)
{
    for (size_t i = 0; text [i]; i++) {
        if (text [i] != '$')
            continue;
        if (text [i + 1] == '$' && text [i + 2] == '{') {
            i += 2; //  $${ is a literal ${
            continue;
        }
        if (text [i + 1] != '{')
            continue;
        size_t line = node->line, column = s_column_of (node, i);
        const char *inner = text + i + 2;
        const char *close = strchr (inner, '}');
        if (!close) {
            fed_wf_fail_at (p, line, column,
                            "%s: reference '%.40s' has no closing '}'; write ${params.NAME} or "
                            "${steps.ID.output.KEY} (or $${ for a literal ${)",
                            named, text + i);
            return;
        }
        size_t size = (size_t) (close - inner), whole = size + 3;
        const char *bad = NULL;
        if (size > 7 && !strncmp (inner, "params.", 7)) {
            size_t name = s_id_span (inner + 7);
            if (name == size - 7 && name > 0)
                s_add_ref (p, step, false, inner + 7, name, "", 0, text + i, whole, line, column);
            else
                bad = "a param name is letters, digits and _";
        } else if (size > 6 && !strncmp (inner, "steps.", 6)) {
            const char *id = inner + 6;
            size_t id_size = s_id_span (id);
            const char *rest = id + id_size, *end = inner + size;
            bool output = id_size && (size_t) (end - rest) >= 7 && !strncmp (rest, ".output", 7);
            const char *path = rest + 7;
            //  The path: (.KEY)*, each KEY an id.
            bool path_ok = output;
            for (const char *c = path; path_ok && c < end;) {
                size_t key = *c == '.' ? s_id_span (c + 1) : 0;
                path_ok = key > 0;
                c += key + 1;
            }
            if (path_ok)
                s_add_ref (p, step, true, id, id_size, path < end ? path + 1 : "",
                           path < end ? (size_t) (end - path - 1) : 0, text + i, whole, line,
                           column);
            else
                bad = "a step reference is ${steps.ID.output} or ${steps.ID.output.KEY}, with "
                      "KEYs of letters, digits, _ and - joined by dots";
        } else
            bad = "references are ${params.NAME} and ${steps.ID.output.KEY} (write $${ for a "
                  "literal ${)";
        if (bad)
            fed_wf_fail_at (p, line, column, "%s: bad reference '%.*s': %s", named,
                            (int) (whole > 80 ? 80 : whole), text + i, bad);
        i += whole - 1;
    }
}

//  --------------------------------------------------------------------------
//  Names, versions, hash

bool
fed_workflow_name_valid (const char *name, size_t size)
{
    if (size == 0 || size > FED_WORKFLOW_NAME_MAX)
        return false;
    for (size_t i = 0; i < size; i++) {
        char c = name [i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-')))
            return false;
    }
    return true;
}

bool
fed_workflow_version_valid (const char *version, size_t size)
{
    if (size == 0 || size > FED_WORKFLOW_VERSION_MAX)
        return false;
    for (size_t i = 0; i < size; i++) {
        char c = version [i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && (i == 0 || !strchr ("._+-", c) || !c))
            return false;
    }
    return true;
}

//  Natural order of two fields of sizes an and bn: digit runs as numbers,
//  other runs bytewise, a digit run before a non-digit one.
static int
s_field_cmp (const char *a, size_t an, const char *b, size_t bn)
{
    size_t i = 0, j = 0;
    while (i < an && j < bn) {
        bool da = a [i] >= '0' && a [i] <= '9', db = b [j] >= '0' && b [j] <= '9';
        if (da != db)
            return da ? -1 : 1;
        size_t si = i, sj = j;
        while (i < an && ((a [i] >= '0' && a [i] <= '9') == da))
            i++;
        while (j < bn && ((b [j] >= '0' && b [j] <= '9') == db))
            j++;
        if (da) {
            while (si < i - 1 && a [si] == '0')
                si++;
            while (sj < j - 1 && b [sj] == '0')
                sj++;
            if (i - si != j - sj)
                return i - si < j - sj ? -1 : 1;
        }
        size_t n = i - si < j - sj ? i - si : j - sj;
        int order = memcmp (a + si, b + sj, n);
        if (order)
            return order;
        if (i - si != j - sj)
            return i - si < j - sj ? -1 : 1;
    }
    return (i < an) - (j < bn);
}

//  Compares '.'-separated fields of [a, a_end) and [b, b_end). missing_first:
//  a list that ends first sorts first (pre-releases); else a missing field
//  counts as "0" (releases).
static int
s_fields_cmp (const char *a, const char *a_end, const char *b, const char *b_end,
              bool missing_first)
{
    while (a < a_end || b < b_end) {
        if (missing_first && (a >= a_end || b >= b_end))
            return a >= a_end ? (b >= b_end ? 0 : -1) : 1;
        const char *a_dot = a < a_end ? memchr (a, '.', (size_t) (a_end - a)) : NULL;
        const char *b_dot = b < b_end ? memchr (b, '.', (size_t) (b_end - b)) : NULL;
        const char *af = a < a_end ? a : "0", *bf = b < b_end ? b : "0";
        size_t an = a < a_end ? (size_t) ((a_dot ? a_dot : a_end) - a) : 1;
        size_t bn = b < b_end ? (size_t) ((b_dot ? b_dot : b_end) - b) : 1;
        int order = s_field_cmp (af, an, bf, bn);
        if (order)
            return order;
        a = a < a_end ? (a_dot ? a_dot + 1 : a_end) : a;
        b = b < b_end ? (b_dot ? b_dot + 1 : b_end) : b;
    }
    return 0;
}

int
fed_workflow_version_cmp (const char *a, const char *b)
{
    const char *a_end = a + strcspn (a, "+"), *b_end = b + strcspn (b, "+");
    const char *a_pre = memchr (a, '-', (size_t) (a_end - a));
    const char *b_pre = memchr (b, '-', (size_t) (b_end - b));
    int order = s_fields_cmp (a, a_pre ? a_pre : a_end, b, b_pre ? b_pre : b_end, false);
    if (order || (!a_pre && !b_pre))
        return order;
    if (!a_pre || !b_pre)
        return a_pre ? -1 : 1;
    return s_fields_cmp (a_pre + 1, a_end, b_pre + 1, b_end, true);
}

void
fed_workflow_hash_text (const void *text, size_t size, uint8_t hash [32])
{
    crypto_generichash (hash, 32, (const unsigned char *) text, size, NULL, 0);
}

const char *
fed_wf_type_name (fed_wf_type_t type)
{
    static const char *const names [] = {"?", "string", "int", "float", "bool", "list", "map"};
    return type >= FED_WF_STRING && type <= FED_WF_MAP ? names [type] : "?";
}

//  --------------------------------------------------------------------------
//  Defaults of params

//  Whether value can be a default of type; fills *why when not.
bool
fed_wf_default_fits (const fed_ynode_t *value, fed_wf_type_t type, const char **why)
{
    s_scalar_t scalar = {S_STR, false, 0, 0, 0};
    if (value->shape == FED_YAML_SCALAR)
        scalar = s_resolve (value);
    switch (type) {
        case FED_WF_STRING: *why = "give text"; return value->shape == FED_YAML_SCALAR;
        case FED_WF_INT:
            *why = "give a whole number, like 10";
            return scalar.kind == S_INT || scalar.kind == S_UINT;
        case FED_WF_FLOAT:
            *why = "give a number, like 0.5";
            return scalar.kind == S_INT || scalar.kind == S_UINT || scalar.kind == S_FLOAT;
        case FED_WF_BOOL: *why = "give true or false"; return scalar.kind == S_BOOL;
        case FED_WF_LIST: *why = "give a list, like [a, b]"; return value->shape == FED_YAML_SEQ;
        default: *why = "give a mapping, like {k: v}"; return value->shape == FED_YAML_MAP;
    }
}

//  The type a default implies when the param names none.
fed_wf_type_t
fed_wf_type_of (const fed_ynode_t *value)
{
    if (value->shape == FED_YAML_SEQ)
        return FED_WF_LIST;
    if (value->shape == FED_YAML_MAP)
        return FED_WF_MAP;
    switch (s_resolve (value).kind) {
        case S_BOOL: return FED_WF_BOOL;
        case S_INT:
        case S_UINT: return FED_WF_INT;
        case S_FLOAT: return FED_WF_FLOAT;
        default: return FED_WF_STRING;
    }
}

void
fed_wf_pack_default (fed_wf_parse_t *p, msgpack_packer *pk, const fed_ynode_t *value,
                     fed_wf_type_t type, const char *named)
{
    if (type == FED_WF_STRING && value->shape == FED_YAML_SCALAR)
        msgpack_pack_str_with_body (pk, value->text, strlen (value->text));
    else if (type == FED_WF_FLOAT && value->shape == FED_YAML_SCALAR) {
        double number = 0;
        (void) s_is_float (value->text, &number);
        msgpack_pack_double (pk, number);
    } else
        fed_wf_pack_value (p, pk, value, named, SIZE_MAX);
}
