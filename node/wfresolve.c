/*  node/wfresolve.c: binding a run's params and resolving references (see
    wfresolve.h).

    Everything read here is msgpack from outside the parser's reach (the
    run's params, agents' outputs), so it is read through fed_mpr_* only,
    every object's extent found with fed_mpr_skip (which checks lengths and
    depth) before its bytes are copied. Results are built straight into the
    caller's buffer and cut back to where they started on any error, so a
    caller never sees half a result.
*/
#include "wfresolve.h"

#include "json.h"
#include "mpread.h"
#include "yamltree.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define S_SHOW_MAX 64   //  bytes of a name or value from the input shown in a message
#define S_KEYS_SHOWN 10 //  keys listed when a key is not in an output
#define S_PATH_MAX 160  //  chars of "with.a.b[2]" kept for messages

//  Writes size bytes at ptr into out as message text: at most max bytes,
//  control bytes as '?', "..." when cut. out holds at least max + 4.
static void
s_show (char *out, size_t out_size, const char *ptr, size_t size, size_t max)
{
    size_t shown = size > max ? max : size, n = 0;
    for (size_t i = 0; i < shown && n + 1 < out_size; i++) {
        unsigned char c = (unsigned char) ptr [i];
        out [n++] = c < 0x20 || c == 0x7f ? '?' : (char) c;
    }
    for (const char *dots = size > shown ? "..." : ""; *dots && n + 1 < out_size; dots++)
        out [n++] = *dots;
    out [n] = 0;
}

//  A type as a workflow author names it ("int" for both msgpack ints).
static const char *
s_kind_name (fed_mp_type_t type)
{
    switch (type) {
        case FED_MP_NIL: return "nil";
        case FED_MP_BOOL: return "a bool";
        case FED_MP_UINT:
        case FED_MP_INT: return "an int";
        case FED_MP_FLOAT: return "a float";
        case FED_MP_STR: return "a string";
        case FED_MP_BIN: return "binary";
        case FED_MP_ARRAY: return "a list";
        case FED_MP_MAP: return "a map";
        case FED_MP_EXT: return "an ext value";
        default: return "nothing valid";
    }
}

//  The extent of the object at r's position, r moved past it. 0 or -2.
static int
s_extent (fed_mpr_t *r, const uint8_t **ptr, size_t *size)
{
    size_t start = r->pos;
    if (fed_mpr_skip (r, NULL))
        return FED_MALFORMED;
    *ptr = r->data + start;
    *size = r->pos - start;
    return 0;
}

static void
s_write (msgpack_sbuffer *out, const void *data, size_t size)
{
    if (size)
        (void) msgpack_sbuffer_write (out, (const char *) data, size);
}

//  --------------------------------------------------------------------------
//  Binding params

//  The problems of one bind, joined with "; " as far as err->text holds them.
typedef struct {
    char text [sizeof ((fed_err_t *) 0)->text];
    size_t length;
    size_t count;   //  problems met
    size_t dropped; //  of them, those that did not fit
} s_problems_t;

//  Room kept at the end of text for "; and 1000000 more".
#define S_MORE_ROOM 24

static void s_problem (s_problems_t *self, const char *format, ...) FED_PRINTF (2, 3);

static void
s_problem (s_problems_t *self, const char *format, ...)
{
    char line [sizeof self->text];
    va_list args;
    va_start (args, format);
    vsnprintf (line, sizeof line, format, args);
    va_end (args);
    self->count++;
    size_t need = strlen (line) + (self->length ? 2 : 0);
    if (self->dropped || self->length + need + S_MORE_ROOM >= sizeof self->text) {
        self->dropped++;
        return;
    }
    snprintf (self->text + self->length, sizeof self->text - self->length, "%s%s",
              self->length ? "; " : "", line);
    self->length += need;
}

//  A given param: its name and where its value is.
typedef struct {
    const char *key;
    uint32_t key_size;
    size_t index; //  in the order given
    const uint8_t *value;
    size_t value_size;
    bool used; //  a declared param took it (or it repeats one already reported)
} s_given_t;

static int
s_given_cmp (const void *a, const void *b)
{
    const s_given_t *x = *(const s_given_t *const *) a, *y = *(const s_given_t *const *) b;
    size_t n = x->key_size < y->key_size ? x->key_size : y->key_size;
    int order = memcmp (x->key, y->key, n);
    if (order)
        return order;
    if (x->key_size != y->key_size)
        return x->key_size < y->key_size ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

//  The first given entry called name among count sorted ones, or NULL.
static s_given_t *
s_given_find (s_given_t **sorted, size_t count, const char *name)
{
    size_t length = strlen (name), low = 0, high = count;
    while (low < high) {
        size_t mid = low + (high - low) / 2;
        const s_given_t *g = sorted [mid];
        size_t n = g->key_size < length ? g->key_size : length;
        int order = memcmp (g->key, name, n);
        if (!order)
            order = g->key_size < length ? -1 : g->key_size > length;
        if (order < 0)
            low = mid + 1;
        else
            high = mid;
    }
    return low < count && sorted [low]->key_size == length
            && !memcmp (sorted [low]->key, name, length)
        ? sorted [low]
        : NULL;
}

//  Parses text as a whole number: [+-]digits, nothing else. 0, or -1 with
//  *why; ERANGE is "out of range".
static int
s_parse_int (const char *text, int64_t *value, const char **why)
{
    const char *digits = text + (*text == '-' || *text == '+');
    size_t count = strspn (digits, "0123456789");
    if (!count || digits [count]) {
        *why = "is not a whole number; give digits, like 100";
        return -1;
    }
    errno = 0;
    long long number = strtoll (text, NULL, 10);
    if (errno == ERANGE) {
        *why = "is out of range for an int (-9223372036854775808 to 9223372036854775807)";
        return -1;
    }
    *value = number;
    return 0;
}

//  Parses text as a decimal number: [+-]digits[.digits][(e|E)[+-]digits],
//  at least one digit before the exponent, finite. 0, or -1 with *why.
static int
s_parse_float (const char *text, double *value, const char **why)
{
    const char *c = text + (*text == '-' || *text == '+');
    size_t whole = strspn (c, "0123456789"), fraction = 0;
    c += whole;
    if (*c == '.')
        fraction = strspn (++c, "0123456789");
    c += fraction;
    bool good = whole || fraction;
    if (good && (*c == 'e' || *c == 'E')) {
        c += 1 + (c [1] == '-' || c [1] == '+');
        size_t exponent = strspn (c, "0123456789");
        good = exponent > 0;
        c += exponent;
    }
    if (!good || *c) {
        *why = "is not a number; give one like 2.5, -3 or 1e6";
        return -1;
    }
    *value = strtod (text, NULL);
    if (!isfinite (*value)) {
        *why = "is out of range for a float (at most about 1.8e308)";
        return -1;
    }
    return 0;
}

static int
s_parse_bool (const char *text, bool *value)
{
    static const char *const names [] = {"true", "yes", "false", "no"};
    for (size_t i = 0; i < 4; i++)
        if (!strcasecmp (text, names [i])) {
            *value = i < 2;
            return 0;
        }
    return -1;
}

//  Packs the value of param given at value (size bytes, one checked
//  object) into out, converted as fed_wf_bind_params says; else records why
//  not.
static void
s_bind_one (const fed_wf_param_t *param, const uint8_t *value, size_t size, msgpack_sbuffer *out,
            s_problems_t *problems)
{
    msgpack_packer packer;
    msgpack_packer *pk = &packer;
    msgpack_packer_init (pk, out, msgpack_sbuffer_write);
    fed_mpr_t r;
    fed_mpr_init (&r, value, size);
    fed_mp_type_t type = fed_mpr_peek (&r);
    const char *want = fed_wf_type_name (param->type);
    bool fits = false;
    switch (param->type) {
        case FED_WF_STRING: fits = type == FED_MP_STR; break;
        case FED_WF_INT: fits = type == FED_MP_UINT || type == FED_MP_INT; break;
        case FED_WF_BOOL: fits = type == FED_MP_BOOL; break;
        case FED_WF_LIST: fits = type == FED_MP_ARRAY; break;
        case FED_WF_MAP: fits = type == FED_MP_MAP; break;
        case FED_WF_FLOAT:
            if (type == FED_MP_UINT || type == FED_MP_INT || type == FED_MP_FLOAT) {
                double number = 0;
                if (fed_mpr_double (&r, &number) == 0) {
                    msgpack_pack_double (pk, number);
                    return;
                }
            }
            break;
    }
    if (fits) {
        s_write (out, value, size);
        return;
    }
    if (type != FED_MP_STR || param->type == FED_WF_STRING) {
        s_problem (problems, "param '%s': expected %s %s, got %s", param->name,
                   param->type == FED_WF_INT ? "an" : "a", want, s_kind_name (type));
        return;
    }
    const char *ptr = NULL;
    uint32_t length = 0;
    if (fed_mpr_str (&r, &ptr, &length))
        return; //  cannot happen: peeked as str and checked
    char shown [S_SHOW_MAX * 4];
    s_show (shown, sizeof shown, ptr, length, S_SHOW_MAX);
    if (param->type == FED_WF_LIST || param->type == FED_WF_MAP) {
        s_problem (problems,
                   "param '%s': expected a %s, got the string '%s'; give %s values as JSON with "
                   "--params",
                   param->name, want, shown, want);
        return;
    }
    //  Numbers and bools are short: a longer string cannot be one.
    char text [S_SHOW_MAX + 1];
    const char *why = "is too long (over 64 bytes)";
    bool converted = false;
    if (length <= S_SHOW_MAX && !memchr (ptr, 0, length)) {
        memcpy (text, ptr, length);
        text [length] = 0;
        int64_t integer;
        double number;
        bool flag;
        if (param->type == FED_WF_INT && !s_parse_int (text, &integer, &why)) {
            msgpack_pack_int64 (pk, integer);
            converted = true;
        } else if (param->type == FED_WF_FLOAT && !s_parse_float (text, &number, &why)) {
            msgpack_pack_double (pk, number);
            converted = true;
        } else if (param->type == FED_WF_BOOL) {
            converted = !s_parse_bool (text, &flag);
            if (converted) {
                if (flag)
                    msgpack_pack_true (pk);
                else
                    msgpack_pack_false (pk);
            } else
                why = "is not a bool; give true, false, yes or no";
        }
    }
    if (!converted)
        s_problem (problems, "param '%s' (%s): '%s' %s", param->name, want, shown, why);
}

//  Reports the given name g, which no declared param has.
static void
s_unknown (const fed_workflow_t *wf, const s_given_t *g, const char *const *names,
           s_problems_t *problems)
{
    char shown [S_SHOW_MAX + 4];
    s_show (shown, sizeof shown, g->key, g->key_size, S_SHOW_MAX);
    size_t count = fed_workflow_param_count (wf);
    if (!count) {
        s_problem (problems, "unknown param '%s': this workflow takes no params", shown);
        return;
    }
    const char *near = NULL;
    if (g->key_size <= S_SHOW_MAX && !memchr (g->key, 0, g->key_size)) {
        char word [S_SHOW_MAX + 1];
        memcpy (word, g->key, g->key_size);
        word [g->key_size] = 0;
        near = fed_nearest_word (word, names, count);
    }
    if (near) {
        s_problem (problems, "unknown param '%s'; did you mean '%s'?", shown, near);
        return;
    }
    char list [160] = "";
    size_t length = 0;
    for (size_t i = 0; i < count; i++) {
        size_t need = strlen (names [i]) + 2;
        if (length + need + 5 >= sizeof list) {
            snprintf (list + length, sizeof list - length, ", ...");
            break;
        }
        length += (size_t) snprintf (list + length, sizeof list - length, "%s%s", i ? ", " : "",
                                     names [i]);
    }
    s_problem (problems, "unknown param '%s'; the params are: %s", shown, list);
}

int
fed_wf_bind_params (const fed_workflow_t *wf, const uint8_t *given, size_t given_size,
                    msgpack_sbuffer *out, fed_err_t *err)
{
    s_problems_t problems;
    memset (&problems, 0, sizeof problems);
    size_t start = out->size;
    size_t param_count = fed_workflow_param_count (wf);
    s_given_t *entries = NULL;
    s_given_t **sorted = NULL;
    s_given_t **match = (s_given_t **) fed_calloc (param_count + 1, sizeof *match);
    const char **names = (const char **) fed_calloc (param_count + 1, sizeof *names);
    size_t kept = 0;

    if (given && given_size) {
        char why [160];
        fed_mpr_t r;
        fed_mpr_init (&r, given, given_size);
        uint32_t count = 0;
        if (fed_mp_check (given, given_size, NULL, why, sizeof why)) {
            s_problem (&problems, "params: not one valid msgpack value: %s", why);
            goto done;
        }
        if (fed_mpr_peek (&r) != FED_MP_MAP || fed_mpr_map (&r, &count)) {
            s_problem (&problems, "params: expected a map of param names to values, got %s",
                       s_kind_name (fed_mpr_peek (&r)));
            goto done;
        }
        entries = (s_given_t *) fed_calloc (count + 1, sizeof *entries);
        sorted = (s_given_t **) fed_calloc (count + 1, sizeof *sorted);
        for (uint32_t i = 0; i < count; i++) {
            s_given_t *g = &entries [kept];
            fed_mp_type_t key_type = fed_mpr_peek (&r);
            const uint8_t *key;
            size_t key_size;
            if (s_extent (&r, &key, &key_size) || s_extent (&r, &g->value, &g->value_size)) {
                s_problem (&problems, "params: malformed msgpack"); //  fed_mp_check passed it
                goto done;
            }
            if (key_type != FED_MP_STR) {
                s_problem (&problems, "params: a param name must be a string, got %s",
                           s_kind_name (key_type));
                continue;
            }
            fed_mpr_t k;
            fed_mpr_init (&k, key, key_size);
            if (fed_mpr_str (&k, &g->key, &g->key_size)) {
                s_problem (&problems, "params: malformed msgpack");
                goto done;
            }
            g->index = i;
            sorted [kept] = g;
            kept++;
        }
        qsort (sorted, kept, sizeof *sorted, s_given_cmp);
        for (size_t i = 1; i < kept; i++)
            if (sorted [i]->key_size == sorted [i - 1]->key_size
                && !memcmp (sorted [i]->key, sorted [i - 1]->key, sorted [i]->key_size)) {
                char shown [S_SHOW_MAX + 4];
                s_show (shown, sizeof shown, sorted [i]->key, sorted [i]->key_size, S_SHOW_MAX);
                s_problem (&problems, "param '%s' is given twice", shown);
                sorted [i]->used = true;
            }
    }
    for (size_t i = 0; i < param_count; i++) {
        const fed_wf_param_t *param = fed_workflow_param (wf, i);
        names [i] = param->name;
        match [i] = s_given_find (sorted, kept, param->name);
        if (match [i])
            match [i]->used = true;
    }
    for (size_t i = 0; i < kept; i++)
        if (!entries [i].used)
            s_unknown (wf, &entries [i], names, &problems);

    msgpack_packer pk;
    msgpack_packer_init (&pk, out, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, (uint32_t) param_count);
    for (size_t i = 0; i < param_count; i++) {
        const fed_wf_param_t *param = fed_workflow_param (wf, i);
        msgpack_pack_str_with_body (&pk, param->name, strlen (param->name));
        if (match [i])
            s_bind_one (param, match [i]->value, match [i]->value_size, out, &problems);
        else if (param->fallback)
            s_write (out, param->fallback, param->fallback_size);
        else if (param->required)
            s_problem (&problems, "param '%s' (%s) is required; give it", param->name,
                       fed_wf_type_name (param->type));
        else
            msgpack_pack_nil (&pk);
    }
done:
    free (entries);
    free (sorted);
    free (match);
    free (names);
    if (!problems.count)
        return 0;
    out->size = start;
    if (problems.dropped)
        fed_err_set (err, 0, "%s; and %zu more", problems.text, problems.dropped);
    else
        fed_err_set (err, 0, "%s", problems.text);
    return -1;
}

//  --------------------------------------------------------------------------
//  Resolving references

//  One resolve call.
typedef struct {
    const fed_workflow_t *wf;
    const uint8_t *params; //  the bound params map, params_size bytes
    size_t params_size;
    fed_wf_output_fn *outputs;
    void *arg;
    size_t max_size;        //  of the result
    msgpack_sbuffer *out;   //  where the resolved with goes (NULL for a text)
    size_t start;           //  out->size when the call began
    msgpack_sbuffer text;   //  an interpolated string being built
    fed_err_t *err;         //  the caller's
    const char *step_id;    //  the step whose with this is; NULL for a text
    char path [S_PATH_MAX]; //  where in with: "with.a[2]"
} s_ctx_t;

//  A reference found in a string.
typedef struct {
    bool is_step;
    const char *target; //  the param's name or the step's id
    size_t target_size;
    const char *path; //  after "output." ("" for the whole output)
    size_t path_size;
    const char *whole; //  "${...}" as written
    size_t whole_size;
} s_ref_t;

static int s_fail (s_ctx_t *ctx, const s_ref_t *ref, const char *format, ...) FED_PRINTF (3, 4);

//  Fills the caller's err with where we are, the reference, and why; -1.
static int
s_fail (s_ctx_t *ctx, const s_ref_t *ref, const char *format, ...)
{
    char why [sizeof ctx->err->text], where [S_PATH_MAX + FED_WORKFLOW_ID_MAX + 16] = "";
    char shown [S_SHOW_MAX + 4] = "";
    va_list args;
    va_start (args, format);
    vsnprintf (why, sizeof why, format, args);
    va_end (args);
    if (ctx->step_id)
        snprintf (where, sizeof where, "step '%s': %s: ", ctx->step_id, ctx->path);
    if (ref)
        s_show (shown, sizeof shown, ref->whole, ref->whole_size, S_SHOW_MAX);
    fed_err_set (ctx->err, 0, "%s%s%s%s", where, shown, ref ? ": " : "", why);
    return -1;
}

static bool
s_is_id_char (char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'
        || c == '-';
}

//  Length of the id ([A-Za-z0-9_-]*) from text up to end.
static size_t
s_id_span (const char *text, const char *end)
{
    size_t n = 0;
    while (text + n < end && s_is_id_char (text [n]))
        n++;
    return n;
}

//  Reads the reference starting at text [at] ("${"), size bytes in text, as
//  node/workflow_value.c scans them. Returns 0, or -1 when it is not one.
static int
s_parse_ref (const char *text, size_t size, size_t at, s_ref_t *ref)
{
    const char *inner = text + at + 2, *end = text + size;
    const char *close = (const char *) memchr (inner, '}', (size_t) (end - inner));
    if (!close)
        return -1;
    size_t length = (size_t) (close - inner);
    memset (ref, 0, sizeof *ref);
    ref->whole = text + at;
    ref->whole_size = length + 3;
    ref->path = "";
    if (length > 7 && !memcmp (inner, "params.", 7)) {
        ref->target = inner + 7;
        ref->target_size = s_id_span (ref->target, close);
        return ref->target_size == length - 7 ? 0 : -1;
    }
    if (length <= 6 || memcmp (inner, "steps.", 6))
        return -1;
    ref->is_step = true;
    ref->target = inner + 6;
    ref->target_size = s_id_span (ref->target, close);
    const char *rest = ref->target + ref->target_size;
    if (!ref->target_size || close - rest < 7 || memcmp (rest, ".output", 7))
        return -1;
    const char *path = rest + 7;
    for (const char *c = path; c < close;) {
        size_t key = *c == '.' ? s_id_span (c + 1, close) : 0;
        if (!key)
            return -1;
        c += key + 1;
    }
    if (path < close) {
        ref->path = path + 1;
        ref->path_size = (size_t) (close - path - 1);
    }
    return 0;
}

//  Looks key up in the map of size bytes at map. Returns 0 with the value's
//  extent, -1 when the map has no such str key, or -2 when it is malformed.
static int
s_map_get (const uint8_t *map, size_t size, const char *key, size_t key_size, const uint8_t **value,
           size_t *value_size)
{
    fed_mpr_t r;
    fed_mpr_init (&r, map, size);
    uint32_t count;
    if (fed_mpr_map (&r, &count))
        return FED_MALFORMED;
    for (uint32_t i = 0; i < count; i++) {
        const char *name = NULL;
        uint32_t length = 0;
        bool is_str = fed_mpr_peek (&r) == FED_MP_STR;
        if (is_str ? fed_mpr_str (&r, &name, &length) : fed_mpr_skip (&r, NULL))
            return FED_MALFORMED;
        if (s_extent (&r, value, value_size))
            return FED_MALFORMED;
        if (is_str && length == key_size && !memcmp (name, key, key_size))
            return 0;
    }
    return -1;
}

//  "its keys: a, b, c" for the map at map, at most S_KEYS_SHOWN of them.
static void
s_list_keys (const uint8_t *map, size_t size, const char *whose, char *out, size_t out_size)
{
    fed_mpr_t r;
    fed_mpr_init (&r, map, size);
    uint32_t count = 0;
    if (fed_mpr_map (&r, &count) || count == 0) {
        snprintf (out, out_size, "%s is an empty map", whose);
        return;
    }
    size_t length = (size_t) snprintf (out, out_size, "%s has the keys: ", whose);
    for (uint32_t i = 0; i < count && i < S_KEYS_SHOWN && length < out_size; i++) {
        const char *name = NULL;
        uint32_t name_size = 0;
        char shown [32 + 4];
        if (fed_mpr_peek (&r) == FED_MP_STR) {
            if (fed_mpr_str (&r, &name, &name_size))
                break;
            s_show (shown, sizeof shown, name, name_size, 32);
        } else {
            snprintf (shown, sizeof shown, "(%s)", s_kind_name (fed_mpr_peek (&r)));
            if (fed_mpr_skip (&r, NULL))
                break;
        }
        if (fed_mpr_skip (&r, NULL))
            break;
        length += (size_t) snprintf (out + length, out_size - length, "%s%s", i ? ", " : "", shown);
    }
    if (count > S_KEYS_SHOWN && length < out_size)
        snprintf (out + length, out_size - length, ", ... (%u in all)", count);
}

//  The value ref refers to, as the extent of one valid object. 0 or -1.
static int
s_lookup (s_ctx_t *ctx, const s_ref_t *ref, const uint8_t **value, size_t *size)
{
    if (!ref->is_step) {
        int rc = ctx->params && ctx->params_size
            ? s_map_get (ctx->params, ctx->params_size, ref->target, ref->target_size, value, size)
            : -1;
        if (rc == FED_MALFORMED)
            return s_fail (ctx, ref, "the run's params are not a valid msgpack map");
        if (rc)
            return s_fail (ctx, ref, "the run's params have no '%.*s'", (int) ref->target_size,
                           ref->target);
        return 0;
    }
    char id [FED_WORKFLOW_ID_MAX + 1];
    size_t index = SIZE_MAX;
    if (ref->target_size <= FED_WORKFLOW_ID_MAX) {
        memcpy (id, ref->target, ref->target_size);
        id [ref->target_size] = 0;
        index = fed_workflow_step_find (ctx->wf, id);
    }
    if (index == SIZE_MAX)
        return s_fail (ctx, ref, "the workflow has no step '%.*s'", S_SHOW_MAX,
                       ref->target_size <= FED_WORKFLOW_ID_MAX ? id : "(too long)");
    size_t output_size = 0;
    const uint8_t *output = ctx->outputs ? ctx->outputs (ctx->arg, index, &output_size) : NULL;
    if (!output)
        return s_fail (ctx, ref, "the output of step '%s' is not known (has it finished?)", id);
    fed_mpr_t r;
    fed_mpr_init (&r, output, output_size);
    if (s_extent (&r, value, size))
        return s_fail (ctx, ref, "the output of step '%s' is not valid msgpack", id);
    //  Walk the path a key at a time; done is the part walked so far.
    const char *key = ref->path, *end = ref->path + ref->path_size;
    while (key < end) {
        const char *dot = (const char *) memchr (key, '.', (size_t) (end - key));
        size_t key_size = (size_t) ((dot ? dot : end) - key);
        int done = (int) (key - ref->path - (key > ref->path));
        char whose [S_SHOW_MAX + 8];
        if (done)
            snprintf (whose, sizeof whose, "'%.*s'", done, ref->path);
        else
            snprintf (whose, sizeof whose, "it");
        fed_mpr_init (&r, *value, *size);
        if (fed_mpr_peek (&r) != FED_MP_MAP) {
            if (!done)
                return s_fail (ctx, ref,
                               "the output of step '%s' is %s, not a map: it has no "
                               "key '%.*s'",
                               id, s_kind_name (fed_mpr_peek (&r)), (int) key_size, key);
            return s_fail (ctx, ref,
                           "in the output of step '%s', %s is %s, not a map: it has "
                           "no key '%.*s'",
                           id, whose, s_kind_name (fed_mpr_peek (&r)), (int) key_size, key);
        }
        const uint8_t *map = *value;
        size_t map_size = *size;
        int rc = s_map_get (map, map_size, key, key_size, value, size);
        if (rc == FED_MALFORMED)
            return s_fail (ctx, ref, "the output of step '%s' is not valid msgpack", id);
        if (rc) {
            char keys [300];
            s_list_keys (map, map_size, whose, keys, sizeof keys);
            return s_fail (ctx, ref, "the output of step '%s' has no key '%.*s'; %s", id,
                           (int) (key - ref->path) + (int) key_size, ref->path, keys);
        }
        key += key_size + 1;
    }
    return 0;
}

//  The fewest digits of value that read back the same (a float 32 read
//  back as a float 32).
static void
s_format_double (char *out, size_t size, double value, bool single)
{
    if (isnan (value)) {
        snprintf (out, size, "nan");
        return;
    }
    if (isinf (value)) {
        snprintf (out, size, "%s", value < 0 ? "-inf" : "inf");
        return;
    }
    for (int digits = single ? 6 : 15; digits <= 17; digits++) {
        snprintf (out, size, "%.*g", digits, value);
        double back = strtod (out, NULL);
        if (single ? (float) back == (float) value : back == value)
            return;
    }
}

static int
s_check_size (s_ctx_t *ctx, const s_ref_t *ref, size_t size)
{
    if (size > ctx->max_size)
        return s_fail (ctx, ref, "the result would take over %zu bytes, the most allowed",
                       ctx->max_size);
    return 0;
}

//  Appends the value of size bytes at value (one valid object) to
//  ctx->text as text. 0 or -1.
static int
s_render (s_ctx_t *ctx, const s_ref_t *ref, const uint8_t *value, size_t size)
{
    msgpack_sbuffer *text = &ctx->text;
    fed_mpr_t r;
    fed_mpr_init (&r, value, size);
    char number [64] = "";
    const char *ptr = number;
    uint32_t length = UINT32_MAX; //  UINT32_MAX: strlen (ptr)
    uint64_t u = 0;
    int64_t i = 0;
    double d = 0;
    bool flag = false;
    char *json = NULL;
    switch (fed_mpr_peek (&r)) {
        case FED_MP_STR:
            if (fed_mpr_str (&r, &ptr, &length))
                return s_fail (ctx, ref, "malformed string");
            break;
        case FED_MP_UINT:
            if (fed_mpr_uint (&r, &u))
                return s_fail (ctx, ref, "malformed int");
            snprintf (number, sizeof number, "%llu", (unsigned long long) u);
            break;
        case FED_MP_INT:
            if (fed_mpr_int (&r, &i))
                return s_fail (ctx, ref, "malformed int");
            snprintf (number, sizeof number, "%lld", (long long) i);
            break;
        case FED_MP_FLOAT:
            if (fed_mpr_double (&r, &d))
                return s_fail (ctx, ref, "malformed float");
            s_format_double (number, sizeof number, d, value [0] == 0xca);
            break;
        case FED_MP_BOOL:
            if (fed_mpr_bool (&r, &flag))
                return s_fail (ctx, ref, "malformed bool");
            ptr = flag ? "true" : "false";
            break;
        case FED_MP_NIL: ptr = ""; break;
        default:
            json = fed_json_from_msgpack (value, size, false);
            if (!json)
                return s_fail (ctx, ref, "cannot write the value as JSON: it is malformed");
            ptr = json;
            break;
    }
    size_t count = length == UINT32_MAX ? strlen (ptr) : length;
    int rc = s_check_size (ctx, ref, text->size + count);
    if (!rc)
        s_write (text, ptr, count);
    free (json);
    return rc;
}

//  Writes the size bytes at text into ctx->text, each reference replaced by
//  its value as text and each "$${" by "${". 0 or -1.
static int
s_interpolate (s_ctx_t *ctx, const char *text, size_t size)
{
    size_t i = 0;
    while (i < size) {
        const char *dollar = (const char *) memchr (text + i, '$', size - i);
        size_t run = dollar ? (size_t) (dollar - text) - i : size - i;
        if (s_check_size (ctx, NULL, ctx->text.size + run))
            return -1;
        s_write (&ctx->text, text + i, run);
        i += run;
        if (i >= size)
            break;
        if (i + 2 < size && text [i + 1] == '$' && text [i + 2] == '{') {
            s_write (&ctx->text, "${", 2);
            i += 3;
        } else if (i + 1 < size && text [i + 1] == '{') {
            s_ref_t ref;
            if (s_parse_ref (text, size, i, &ref)) {
                s_ref_t bad = {false, "", 0, "", 0, text + i, size - i};
                return s_fail (ctx, &bad,
                               "not a reference; write ${params.NAME} or "
                               "${steps.ID.output.KEY} (or $${ for a literal ${)");
            }
            const uint8_t *value;
            size_t value_size;
            if (s_lookup (ctx, &ref, &value, &value_size)
                || s_render (ctx, &ref, value, value_size))
                return -1;
            i += ref.whole_size;
        } else {
            s_write (&ctx->text, "$", 1);
            i++;
        }
    }
    return 0;
}

//  Appends to ctx->out the str object of raw_size bytes at raw, whose text
//  is size bytes at text, resolved. 0 or -1.
static int
s_string (s_ctx_t *ctx, const uint8_t *raw, size_t raw_size, const char *text, uint32_t size,
          uint32_t depth)
{
    msgpack_sbuffer *out = ctx->out;
    if (!memchr (text, '$', size)) {
        s_write (out, raw, raw_size);
        return s_check_size (ctx, NULL, out->size - ctx->start);
    }
    s_ref_t ref;
    if (size > 3 && text [0] == '$' && text [1] == '{' && !s_parse_ref (text, size, 0, &ref)
        && ref.whole_size == size) {
        const uint8_t *value;
        size_t value_size;
        if (s_lookup (ctx, &ref, &value, &value_size)
            || s_check_size (ctx, &ref, out->size - ctx->start + value_size))
            return -1;
        fed_mp_limits_t limits = fed_mp_default_limits;
        limits.max_depth = FED_WORKFLOW_DEPTH_MAX - depth;
        fed_mpr_t r;
        fed_mpr_init (&r, value, value_size);
        if (fed_mpr_skip (&r, &limits))
            return s_fail (ctx, &ref,
                           "the value nests too deep for here: with may nest at most %d "
                           "levels",
                           FED_WORKFLOW_DEPTH_MAX);
        s_write (out, value, value_size);
        return 0;
    }
    ctx->text.size = 0;
    if (s_interpolate (ctx, text, size))
        return -1;
    if (ctx->text.size > UINT32_MAX)
        return s_fail (ctx, NULL, "the text would take over 4 GiB");
    msgpack_packer pk;
    msgpack_packer_init (&pk, out, msgpack_sbuffer_write);
    msgpack_pack_str (&pk, ctx->text.size);
    s_write (out, ctx->text.data, ctx->text.size);
    return s_check_size (ctx, NULL, out->size - ctx->start);
}

//  Appends to ctx->path (cut to fit); returns the old length to restore.
static size_t s_path_push (s_ctx_t *ctx, const char *format, ...) FED_PRINTF (2, 3);

static size_t
s_path_push (s_ctx_t *ctx, const char *format, ...)
{
    size_t length = strlen (ctx->path);
    va_list args;
    va_start (args, format);
    vsnprintf (ctx->path + length, sizeof ctx->path - length, format, args);
    va_end (args);
    return length;
}

//  Copies the object at r into ctx->out with the strings in it resolved;
//  depth containers hold it. 0 or -1.
static int
s_value (s_ctx_t *ctx, fed_mpr_t *r, uint32_t depth)
{
    msgpack_sbuffer *out = ctx->out;
    fed_mp_type_t type = fed_mpr_peek (r);
    const uint8_t *raw;
    size_t raw_size, start = r->pos;
    if (type == FED_MP_STR) {
        const char *text;
        uint32_t size;
        if (fed_mpr_str (r, &text, &size))
            return s_fail (ctx, NULL, "malformed msgpack in with");
        return s_string (ctx, r->data + start, r->pos - start, text, size, depth);
    }
    if (type != FED_MP_MAP && type != FED_MP_ARRAY) {
        if (s_extent (r, &raw, &raw_size))
            return s_fail (ctx, NULL, "malformed msgpack in with");
        s_write (out, raw, raw_size);
        return s_check_size (ctx, NULL, out->size - ctx->start);
    }
    if (depth >= FED_WORKFLOW_DEPTH_MAX)
        return s_fail (ctx, NULL, "with nests deeper than %d levels", FED_WORKFLOW_DEPTH_MAX);
    uint32_t count;
    bool is_map = type == FED_MP_MAP;
    if (is_map ? fed_mpr_map (r, &count) : fed_mpr_array (r, &count))
        return s_fail (ctx, NULL, "malformed msgpack in with");
    msgpack_packer pk;
    msgpack_packer_init (&pk, out, msgpack_sbuffer_write);
    if (is_map)
        msgpack_pack_map (&pk, count);
    else
        msgpack_pack_array (&pk, count);
    for (uint32_t i = 0; i < count; i++) {
        size_t restore;
        if (is_map) {
            fed_mpr_t key = *r;
            const char *name = "";
            uint32_t name_size = 0;
            if (s_extent (r, &raw, &raw_size))
                return s_fail (ctx, NULL, "malformed msgpack in with");
            if (fed_mpr_str (&key, &name, &name_size))
                name_size = 0;
            char shown [32 + 4];
            s_show (shown, sizeof shown, name, name_size, 32);
            restore = s_path_push (ctx, ".%s", shown);
            s_write (out, raw, raw_size);
        } else
            restore = s_path_push (ctx, "[%u]", i);
        if (s_value (ctx, r, depth + 1))
            return -1;
        ctx->path [restore] = 0;
    }
    return s_check_size (ctx, NULL, out->size - ctx->start);
}

int
fed_wf_resolve_with (const fed_workflow_t *wf, size_t step_index, const uint8_t *params,
                     size_t params_size, fed_wf_output_fn *outputs, void *arg, size_t max_size,
                     msgpack_sbuffer *out, fed_err_t *err)
{
    s_ctx_t ctx = {wf,  params,    params_size,  outputs, arg,  max_size,
                   out, out->size, {0, NULL, 0}, err,     NULL, "with"};
    if (step_index >= fed_workflow_step_count (wf)) {
        fed_err_set (err, 0, "step %zu: no such step (the workflow has %zu)", step_index,
                     fed_workflow_step_count (wf));
        return -1;
    }
    const fed_wf_step_t *step = fed_workflow_step (wf, step_index);
    ctx.step_id = step->id;
    msgpack_sbuffer_init (&ctx.text);
    fed_mpr_t r;
    fed_mpr_init (&r, step->with, step->with_size);
    int rc = -1;
    char why [160];
    if (fed_mpr_peek (&r) != FED_MP_MAP)
        s_fail (&ctx, NULL, "expected a map, got %s", s_kind_name (fed_mpr_peek (&r)));
    else if (s_value (&ctx, &r, 0) == 0) {
        if (fed_mp_check (out->data + ctx.start, out->size - ctx.start, NULL, why, sizeof why))
            s_fail (&ctx, NULL, "the result is refused: %s", why);
        else
            rc = 0;
    }
    msgpack_sbuffer_destroy (&ctx.text);
    if (rc)
        out->size = ctx.start;
    return rc;
}

char *
fed_wf_resolve_text (const fed_workflow_t *wf, const char *text, const uint8_t *params,
                     size_t params_size, fed_wf_output_fn *outputs, void *arg, fed_err_t *err)
{
    s_ctx_t ctx = {wf,   params, params_size,  outputs, arg,  SIZE_MAX,
                   NULL, 0,      {0, NULL, 0}, err,     NULL, ""};
    msgpack_sbuffer_init (&ctx.text);
    char *result = NULL;
    if (!text)
        text = "";
    if (s_interpolate (&ctx, text, strlen (text)) == 0) {
        result = (char *) fed_malloc (ctx.text.size + 1);
        if (ctx.text.size)
            memcpy (result, ctx.text.data, ctx.text.size);
        result [ctx.text.size] = 0;
    }
    msgpack_sbuffer_destroy (&ctx.text);
    return result;
}
