/*  node/config.c: the node's configuration, read from YAML.

    One table, s_fields, lists every key with its kind, its place in
    fed_config_t, its default and its range; defaults, parsing, validation and
    printing are all driven from it, so a new key is one line. A file is read
    in two steps: libyaml events become a small tree (node/yamltree.h),
    refusing anchors, aliases, tags and deep nesting on the way (billion
    laughs, stack blow-ups), and the tree is then walked against the table. Every load and every set
    works on a copy that replaces the caller's config only on success, so a
    bad file or flag never leaves a half-applied config behind.
*/
#include "config.h"
#include "yamltree.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define S_MAX_DEPTH 16     //  nesting levels a config file may use
#define S_TEXT_MAX 64      //  bytes in a name or location tag
#define S_LABELS_MAX 65536 //  bytes in all label keys and values together
#define S_IPC_PATH_MAX 107 //  sun_path less its NUL

_Static_assert(sizeof (fed_log_level_t) == sizeof (uint32_t), "log level is stored as 32 bits");

//  --------------------------------------------------------------------------
//  Reporting

//  Where a load or set is reporting to, and what it has seen on the way.
typedef struct {
    const char *name;             //  file name for messages; NULL for a flag
    fed_err_t *err;               //  caller's error report, may be NULL
    const fed_ynode_t *lat, *lon; //  where this file gave node.lat / node.lon
} s_ctx_t;

static int s_fail (s_ctx_t *ctx, const fed_ynode_t *at, const char *format, ...) FED_PRINTF (3, 4);

//  Formats "NAME:LINE:COLUMN: message" (or "NAME: " without a position, or the
//  bare message for a flag) into ctx->err. Always returns -1.
static int
s_fail (s_ctx_t *ctx, const fed_ynode_t *at, const char *format, ...)
{
    char text [460];
    va_list args;
    va_start (args, format);
    vsnprintf (text, sizeof text, format, args);
    va_end (args);
    if (ctx->name && at && at->line)
        fed_err_set (ctx->err, 0, "%s:%zu:%zu: %s", ctx->name, at->line, at->column, text);
    else if (ctx->name)
        fed_err_set (ctx->err, 0, "%s: %s", ctx->name, text);
    else
        fed_err_set (ctx->err, 0, "%s", text);
    return -1;
}

//  A null scalar (~, null, or nothing) as YAML writes it; flags are never null.
static bool
s_is_null (const s_ctx_t *ctx, const fed_ynode_t *node)
{
    return ctx->name && fed_ynode_is_null (node);
}

//  Parses size bytes of YAML into *root_p (NULL for an empty document).
//  Returns 0 or -1 with ctx->err set; the caller owns the tree.
static int
s_tree_build (s_ctx_t *ctx, const char *text, size_t size, fed_ynode_t **root_p)
{
    fed_yaml_options_t options = {ctx->name, "a config file", S_MAX_DEPTH};
    return fed_yaml_parse (text, size, &options, root_p, ctx->err);
}

//  --------------------------------------------------------------------------
//  Text helpers

//  Length of the UTF-8 character at p and its code point, or 0 if invalid.
static size_t
s_utf8_next (const unsigned char *p, uint32_t *cp)
{
    static const struct {
        unsigned char mask, lead;
        size_t length;
        uint32_t min;
    } forms [] = {{0x80, 0x00, 1, 0},
                  {0xe0, 0xc0, 2, 0x80},
                  {0xf0, 0xe0, 3, 0x800},
                  {0xf8, 0xf0, 4, 0x10000}};
    for (size_t f = 0; f < sizeof forms / sizeof forms [0]; f++) {
        if ((p [0] & forms [f].mask) != forms [f].lead)
            continue;
        uint32_t value = p [0] & (unsigned char) ~forms [f].mask;
        for (size_t i = 1; i < forms [f].length; i++) {
            if ((p [i] & 0xc0) != 0x80)
                return 0;
            value = value << 6 | (p [i] & 0x3f);
        }
        if (value < forms [f].min || value > 0x10ffff || (value >= 0xd800 && value <= 0xdfff))
            return 0;
        *cp = value;
        return forms [f].length;
    }
    return 0;
}

static bool
s_utf8_valid (const char *text)
{
    const unsigned char *p = (const unsigned char *) text;
    uint32_t cp;
    for (size_t len; *p; p += len)
        if (!(len = s_utf8_next (p, &cp)))
            return false;
    return true;
}

//  A growing output string.
typedef struct {
    char *data;
    size_t size, alloc;
} s_buf_t;

static void s_put (s_buf_t *self, const char *format, ...) FED_PRINTF (2, 3);

static void
s_put (s_buf_t *self, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    int size = vsnprintf (NULL, 0, format, args);
    va_end (args);
    assert (size >= 0);
    if (self->size + (size_t) size + 1 > self->alloc) {
        self->alloc = (self->size + (size_t) size + 1) * 2;
        self->data = (char *) fed_realloc (self->data, self->alloc);
    }
    va_start (args, format);
    vsnprintf (self->data + self->size, (size_t) size + 1, format, args);
    va_end (args);
    self->size += (size_t) size;
}

//  Writes text as a double-quoted YAML scalar, escaping whatever libyaml
//  would refuse or fold (controls, NEL, line and paragraph separators, BOM).
static void
s_put_quoted (s_buf_t *out, const char *text)
{
    s_put (out, "\"");
    const unsigned char *p = (const unsigned char *) text;
    while (*p) {
        uint32_t cp = *p;
        size_t len = s_utf8_next (p, &cp);
        assert (len); //  every stored string was checked as UTF-8
        if (cp == '"' || cp == '\\')
            s_put (out, "\\%c", (char) cp);
        else if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f))
            s_put (out, "\\x%02x", (unsigned) cp);
        else if (cp == 0x2028 || cp == 0x2029 || cp == 0xfeff || cp == 0xfffe || cp == 0xffff)
            s_put (out, "\\u%04x", (unsigned) cp);
        else
            s_put (out, "%.*s", (int) len, (const char *) p);
        p += len;
    }
    s_put (out, "\"");
}

//  --------------------------------------------------------------------------
//  Endpoints and seeds

#define S_EP_EMPTY 1   //  "" allowed (derived later)
#define S_EP_TCP 2     //  tcp:// only
#define S_EP_NO_STAR 4 //  a host peers can reach, not *

static bool
s_hostname_valid (const char *name)
{
    size_t label = 0;
    if (strlen (name) > 253)
        return false;
    for (const char *p = name;; p++) {
        if (*p == '.' || *p == 0) {
            if (label == 0 || label > 63 || p [-1] == '-')
                return false;
            if (*p == 0)
                return true;
            label = 0;
        } else if (strchr ("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-", *p)
                   && !(*p == '-' && label == 0))
            label++;
        else
            return false;
    }
}

//  Why text is not an endpoint of the given S_EP_* kind, or NULL if it is.
static const char *
s_endpoint_problem (const char *text, unsigned flags)
{
    if (!strncmp (text, "ipc://", 6)) {
        if (flags & S_EP_TCP)
            return "only tcp:// is accepted here";
        if (!text [6])
            return "the ipc path is empty";
        if (strlen (text + 6) > S_IPC_PATH_MAX)
            return "the ipc path is longer than 107 bytes";
        return NULL;
    }
    if (strncmp (text, "tcp://", 6))
        return (flags & S_EP_TCP) ? "it does not start with tcp://"
                                  : "it starts with neither tcp:// nor ipc://";
    const char *host = text + 6;
    const char *colon = strrchr (host, ':');
    if (!colon || !colon [1])
        return "the :PORT is missing";
    const char *port = colon + 1;
    if (strspn (port, "0123456789") != strlen (port) || strlen (port) > 5 || atoi (port) < 1
        || atoi (port) > 65535)
        return "the port must be a number from 1 to 65535";
    char name [256];
    size_t size = (size_t) (colon - host);
    if (size == 0)
        return "the host is missing";
    if (size >= sizeof name)
        return "the host is longer than 255 bytes";
    memcpy (name, host, size);
    name [size] = 0;
    unsigned char address [16];
    if (!strcmp (name, "*"))
        return (flags & S_EP_NO_STAR) ? "* is not an address peers can reach" : NULL;
    if (name [0] == '[') {
        if (size < 3 || name [size - 1] != ']')
            return "the [IPv6] address has no closing ]";
        name [size - 1] = 0;
        return inet_pton (AF_INET6, name + 1, address) == 1 ? NULL : "not a valid IPv6 address";
    }
    if (strspn (name, "0123456789.") == size)
        return inet_pton (AF_INET, name, address) == 1 ? NULL : "not a valid IPv4 address";
    return s_hostname_valid (name) ? NULL : "the host is not a valid hostname or address";
}

//  Parses "PUBKEY@tcp://host:port" into *seed (endpoint freshly allocated).
//  Returns NULL, or why the text is not a seed.
static const char *
s_seed_problem (const char *text, fed_seed_t *seed)
{
    //  Z85 keys may hold '@' themselves, so the key is found by its length.
    size_t length = strlen (text);
    size_t key_length = length > 40 && text [40] == '@' ? 40
        : length > 64 && text [64] == '@'               ? 64
                                                        : 0;
    if (!key_length)
        return "it does not start with a 40-char Z85 or 64-char hex key and '@'";
    char key [65];
    memcpy (key, text, key_length);
    key [key_length] = 0;
    if (fed_key_decode (seed->key, key))
        return "the key is not valid Z85 or hex";
    const char *problem = s_endpoint_problem (text + key_length + 1, S_EP_TCP | S_EP_NO_STAR);
    if (problem)
        return problem;
    seed->endpoint = fed_strdup (text + key_length + 1);
    return NULL;
}

//  --------------------------------------------------------------------------
//  Key kinds: how each kind of value is parsed and printed

typedef struct s_field_t s_field_t;

typedef int (s_parse_fn) (s_ctx_t *ctx, const s_field_t *field, const fed_ynode_t *value,
                          fed_config_t *cfg, void *slot);
typedef void (s_print_fn) (s_buf_t *out, const s_field_t *field, const fed_config_t *cfg,
                           const void *slot, int indent);

typedef struct {
    s_parse_fn *parse;
    s_print_fn *print;
    bool is_string; //  the slot holds an owned char *
    bool settable;  //  a single value fed_config_set may set
} s_kind_t;

typedef struct {
    const char *name;
    int value;
} s_name_t;

struct s_field_t {
    const char *key; //  dotted path
    const s_kind_t *kind;
    size_t offset, size;   //  where in fed_config_t
    const char *fallback;  //  default as text; NULL for an empty list or map
    double min, max;       //  range of a number; max bytes of text
    unsigned flags;        //  S_EP_* for endpoints
    const s_name_t *names; //  spellings of an enum, ending in {NULL}
};

static const s_name_t s_roles [] = {{"peer", FED_ROLE_PEER},
                                    {"admin", FED_ROLE_ADMIN},
                                    {"operator", FED_ROLE_OPERATOR},
                                    {"approver", FED_ROLE_APPROVER},
                                    {"viewer", FED_ROLE_VIEWER},
                                    {"agent", FED_ROLE_AGENT},
                                    {NULL, 0}};

static void
s_slot_set (void *slot, size_t size, uint64_t value)
{
    if (size == sizeof (bool)) {
        bool flag = value != 0;
        memcpy (slot, &flag, sizeof flag);
    } else if (size == sizeof (uint32_t)) {
        uint32_t narrow = (uint32_t) value;
        memcpy (slot, &narrow, sizeof narrow);
    } else {
        assert (size == sizeof (uint64_t));
        memcpy (slot, &value, sizeof value);
    }
}

static uint64_t
s_slot_get (const void *slot, size_t size)
{
    bool flag;
    uint32_t narrow;
    uint64_t value;
    if (size == sizeof (bool))
        return memcpy (&flag, slot, sizeof flag), flag;
    if (size == sizeof (uint32_t))
        return memcpy (&narrow, slot, sizeof narrow), narrow;
    return memcpy (&value, slot, sizeof value), value;
}

//  The scalar text of value, or a "expected WHAT" error.
static int
s_scalar (s_ctx_t *ctx, const s_field_t *field, const fed_ynode_t *value, const char *what,
          const char **text)
{
    if (value->shape != FED_YAML_SCALAR)
        return s_fail (ctx, value, "key '%s': expected %s, got %s", field->key, what,
                       fed_ynode_shape_name (value));
    *text = s_is_null (ctx, value) ? "" : value->text;
    return 0;
}

static void
s_replace (void *slot, const char *text)
{
    char **string_p = (char **) slot;
    free (*string_p);
    *string_p = fed_strdup (text);
}

static int
s_parse_text (s_ctx_t *ctx, const s_field_t *field, const fed_ynode_t *value, fed_config_t *cfg,
              void *slot)
{
    const char *text = "";
    if (s_scalar (ctx, field, value, "text", &text))
        return -1;
    if (!s_utf8_valid (text))
        return s_fail (ctx, value, "key '%s': expected UTF-8 text", field->key);
    if (strlen (text) > field->max)
        return s_fail (ctx, value, "key '%s': expected at most %.0f bytes of text, got %zu",
                       field->key, field->max, strlen (text));
    s_replace (slot, text);
    return 0;
}

static int
s_parse_path (s_ctx_t *ctx, const s_field_t *field, const fed_ynode_t *value, fed_config_t *cfg,
              void *slot)
{
    const char *text = "";
    if (s_scalar (ctx, field, value, "a path", &text))
        return -1;
    if (!*text)
        return s_fail (ctx, value, "key '%s': expected a path, got nothing", field->key);
    return s_parse_text (ctx, field, value, cfg, slot);
}

static int
s_parse_endpoint (s_ctx_t *ctx, const s_field_t *field, const fed_ynode_t *value, fed_config_t *cfg,
                  void *slot)
{
    const char *form =
        (field->flags & S_EP_TCP) ? "tcp://HOST:PORT" : "tcp://HOST:PORT or ipc://PATH";
    const char *text = "";
    if (s_scalar (ctx, field, value, form, &text))
        return -1;
    const char *problem = NULL;
    if (*text || !(field->flags & S_EP_EMPTY))
        problem = *text ? s_endpoint_problem (text, field->flags) : "it is empty";
    if (problem)
        return s_fail (ctx, value, "key '%s': bad endpoint '%.80s': %s; expected %s%s", field->key,
                       text, problem, form, (field->flags & S_EP_EMPTY) ? " or \"\"" : "");
    s_replace (slot, text);
    return 0;
}

static int
s_parse_enum (s_ctx_t *ctx, const s_field_t *field, const fed_ynode_t *value, fed_config_t *cfg,
              void *slot)
{
    const char *text = "";
    char choices [128] = "";
    for (const s_name_t *name = field->names; name->name; name++)
        snprintf (choices + strlen (choices), sizeof choices - strlen (choices), "%s%s",
                  name == field->names ? "" : ", ", name->name);
    if (s_scalar (ctx, field, value, "one word", &text))
        return -1;
    for (const s_name_t *name = field->names; name->name; name++)
        if (!strcmp (text, name->name)) {
            s_slot_set (slot, field->size, (uint64_t) name->value);
            return 0;
        }
    return s_fail (ctx, value, "key '%s': expected one of %s, got '%.80s'", field->key, choices,
                   text);
}

static void
s_format_size (char *text, size_t size, uint64_t value)
{
    static const struct {
        const char *suffix;
        uint64_t unit;
    } units [] = {{"GiB", 1073741824}, {"MiB", 1048576}, {"KiB", 1024}};
    for (size_t i = 0; i < sizeof units / sizeof units [0]; i++)
        if (value && value % units [i].unit == 0) {
            snprintf (text, size, "%llu%s", (unsigned long long) (value / units [i].unit),
                      units [i].suffix);
            return;
        }
    snprintf (text, size, "%llu", (unsigned long long) value);
}

static int
s_parse_size (s_ctx_t *ctx, const s_field_t *field, const fed_ynode_t *value, fed_config_t *cfg,
              void *slot)
{
    const char *text = "";
    uint64_t number;
    char low [32], high [32];
    s_format_size (low, sizeof low, (uint64_t) field->min);
    s_format_size (high, sizeof high, (uint64_t) field->max);
    if (s_scalar (ctx, field, value, "a size", &text))
        return -1;
    if (fed_parse_size (text, &number))
        return s_fail (ctx, value, "key '%s': expected a size like 512KiB, 1MiB, 4MB, got '%.80s'",
                       field->key, text);
    if (number < field->min || number > field->max)
        return s_fail (ctx, value, "key '%s': %s is out of range; expected a size from %s to %s",
                       field->key, text, low, high);
    memcpy (slot, &number, sizeof number);
    return 0;
}

static int
s_parse_duration (s_ctx_t *ctx, const s_field_t *field, const fed_ynode_t *value, fed_config_t *cfg,
                  void *slot)
{
    const char *text = "";
    int64_t ms;
    char low [32], high [32];
    fed_format_duration (low, sizeof low, (int64_t) field->min);
    fed_format_duration (high, sizeof high, (int64_t) field->max);
    if (s_scalar (ctx, field, value, "a duration", &text))
        return -1;
    if (fed_parse_duration (text, &ms))
        return s_fail (ctx, value, "key '%s': expected a duration like 500ms, 5s, 2m, got '%.80s'",
                       field->key, text);
    if (ms < field->min || ms > field->max)
        return s_fail (ctx, value,
                       "key '%s': %s is out of range; expected a duration from %s "
                       "to %s",
                       field->key, text, low, high);
    memcpy (slot, &ms, sizeof ms);
    return 0;
}

static int
s_parse_count (s_ctx_t *ctx, const s_field_t *field, const fed_ynode_t *value, fed_config_t *cfg,
               void *slot)
{
    const char *text = "";
    if (s_scalar (ctx, field, value, "an integer", &text))
        return -1;
    size_t digits = strspn (text, "0123456789");
    if (!digits || text [digits] || digits > 18)
        return s_fail (ctx, value, "key '%s': expected an integer from %.0f to %.0f, got '%.80s'",
                       field->key, field->min, field->max, text);
    uint64_t number = strtoull (text, NULL, 10);
    if (number < field->min || number > field->max)
        return s_fail (ctx, value,
                       "key '%s': %s is out of range; expected an integer from %.0f "
                       "to %.0f",
                       field->key, text, field->min, field->max);
    s_slot_set (slot, field->size, number);
    return 0;
}

static int
s_parse_coord (s_ctx_t *ctx, const s_field_t *field, const fed_ynode_t *value, fed_config_t *cfg,
               void *slot)
{
    const char *text = "";
    double number = NAN;
    if (s_scalar (ctx, field, value, "a number", &text))
        return -1;
    if (field->offset == offsetof (fed_config_t, node.lat))
        ctx->lat = value;
    else
        ctx->lon = value;
    if (s_is_null (ctx, value) || (!ctx->name && !strcmp (text, "~"))) {
        memcpy (slot, &number, sizeof number);
        return 0;
    }
    char *end = NULL;
    size_t length = strlen (text);
    if (length && strspn (text, "+-0123456789.eE") == length)
        number = strtod (text, &end);
    if (!end || *end || !isfinite (number))
        return s_fail (ctx, value,
                       "key '%s': expected a number from %.0f to %.0f, or ~ for "
                       "unset, got '%.80s'",
                       field->key, field->min, field->max, text);
    if (number < field->min || number > field->max)
        return s_fail (ctx, value,
                       "key '%s': %s is out of range; expected a number from %.0f "
                       "to %.0f",
                       field->key, text, field->min, field->max);
    memcpy (slot, &number, sizeof number);
    return 0;
}

static void
s_labels_free (fed_label_t *labels, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        free (labels [i].key);
        free (labels [i].value);
    }
    free (labels);
}

static void
s_seeds_free (fed_seed_t *seeds, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free (seeds [i].endpoint);
    free (seeds);
}

static void
s_paths_free (char **paths, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free (paths [i]);
    free (paths);
}

static void
s_trust_free (fed_trust_entry_t *trust, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free (trust [i].name);
    free (trust);
}

static int
s_key_order (const void *a, const void *b)
{
    const fed_ynode_t *x = *(const fed_ynode_t *const *) a, *y = *(const fed_ynode_t *const *) b;
    int order = strcmp (x->text, y->text);
    if (!order)
        order = x->line != y->line ? (x->line < y->line ? -1 : 1)
                                   : (x->column < y->column ? -1 : x->column > y->column);
    return order;
}

//  Checks that a mapping's keys are plain text and none repeats; named is the
//  dotted path of the mapping, for messages. Sorting keeps big maps fast.
static int
s_check_keys (s_ctx_t *ctx, const fed_ynode_t *map, const char *named)
{
    size_t pairs = map->count / 2;
    for (size_t i = 0; i < pairs; i++)
        if (map->child [2 * i]->shape != FED_YAML_SCALAR)
            return s_fail (ctx, map->child [2 * i], "in '%s': expected a text key, got %s",
                           *named ? named : "the top level",
                           fed_ynode_shape_name (map->child [2 * i]));
    const fed_ynode_t **keys = (const fed_ynode_t **) fed_calloc (pairs, sizeof *keys);
    for (size_t i = 0; i < pairs; i++)
        keys [i] = map->child [2 * i];
    qsort (keys, pairs, sizeof *keys, s_key_order);
    //  Report the repeat that comes first in the file.
    const fed_ynode_t *again = NULL, *first = NULL;
    for (size_t i = 1, start = 0; i < pairs; i++) {
        if (strcmp (keys [i]->text, keys [start]->text))
            start = i;
        else if (!again || keys [i]->line < again->line
                 || (keys [i]->line == again->line && keys [i]->column < again->column)) {
            again = keys [i];
            first = keys [start];
        }
    }
    free (keys);
    if (again)
        return s_fail (ctx, again, "duplicate key '%s%s%.64s' (first at line %zu, column %zu)",
                       named, *named ? "." : "", again->text, first->line, first->column);
    return 0;
}

static int
s_parse_labels (s_ctx_t *ctx, const s_field_t *field, const fed_ynode_t *value, fed_config_t *cfg,
                void *slot)
{
    if (!s_is_null (ctx, value) && value->shape != FED_YAML_MAP)
        return s_fail (ctx, value, "key '%s': expected a mapping of text to text, got %s",
                       field->key, fed_ynode_shape_name (value));
    if (value->shape == FED_YAML_MAP && s_check_keys (ctx, value, field->key))
        return -1;
    size_t count = value->count / 2, total = 0;
    fed_label_t *labels = (fed_label_t *) fed_calloc (count, sizeof *labels);
    for (size_t i = 0; i < count; i++) {
        const fed_ynode_t *key = value->child [2 * i], *text = value->child [2 * i + 1];
        size_t length = strlen (key->text);
        if (!length
            || strspn (key->text,
                       "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                       "0123456789_.-/")
                != length) {
            s_labels_free (labels, i);
            return s_fail (ctx, key,
                           "key '%s': label '%.64s' must be letters, digits and "
                           "_ . - / only",
                           field->key, key->text);
        }
        if (text->shape != FED_YAML_SCALAR || !s_utf8_valid (text->text)) {
            s_labels_free (labels, i);
            return s_fail (ctx, text, "key '%s.%.64s': expected text", field->key, key->text);
        }
        labels [i].key = fed_strdup (key->text);
        labels [i].value = fed_strdup (s_is_null (ctx, text) ? "" : text->text);
        total += length + strlen (labels [i].value);
        if (total > S_LABELS_MAX) {
            s_labels_free (labels, i + 1);
            return s_fail (ctx, key, "key '%s': labels exceed 64 KiB in all", field->key);
        }
    }
    s_labels_free (cfg->node.labels, cfg->node.label_count);
    cfg->node.labels = labels;
    cfg->node.label_count = count;
    return 0;
}

static int
s_parse_seeds (s_ctx_t *ctx, const s_field_t *field, const fed_ynode_t *value, fed_config_t *cfg,
               void *slot)
{
    if (!s_is_null (ctx, value) && value->shape != FED_YAML_SEQ)
        return s_fail (ctx, value, "key '%s': expected a list of PUBKEY@tcp://host:port, got %s",
                       field->key, fed_ynode_shape_name (value));
    fed_seed_t *seeds = (fed_seed_t *) fed_calloc (value->count, sizeof *seeds);
    for (size_t i = 0; i < value->count; i++) {
        const fed_ynode_t *item = value->child [i];
        const char *problem = item->shape == FED_YAML_SCALAR
            ? s_seed_problem (item->text, &seeds [i])
            : "it is not a single value";
        if (problem) {
            s_seeds_free (seeds, i);
            return s_fail (ctx, item, "key '%s': bad seed: %s; expected PUBKEY@tcp://host:port",
                           field->key, problem);
        }
    }
    s_seeds_free (cfg->seeds, cfg->seed_count);
    cfg->seeds = seeds;
    cfg->seed_count = value->count;
    return 0;
}

//  Why path cannot be a data root, or NULL.
static const char *
s_data_root_problem (const char *path)
{
    if (path [0] != '/')
        return "it is not an absolute path";
    if (strlen (path) > 4096)
        return "it is longer than 4096 bytes";
    return NULL;
}

static int
s_parse_paths (s_ctx_t *ctx, const s_field_t *field, const fed_ynode_t *value, fed_config_t *cfg,
               void *slot)
{
    (void) slot;
    if (!s_is_null (ctx, value) && value->shape != FED_YAML_SEQ)
        return s_fail (ctx, value, "key '%s': expected a list of absolute directories, got %s",
                       field->key, fed_ynode_shape_name (value));
    if (value->count > 64)
        return s_fail (ctx, value, "key '%s': at most 64 directories, not %zu", field->key,
                       value->count);
    char **paths = (char **) fed_calloc (value->count + 1, sizeof (char *));
    for (size_t i = 0; i < value->count; i++) {
        const fed_ynode_t *item = value->child [i];
        const char *problem = item->shape == FED_YAML_SCALAR ? s_data_root_problem (item->text)
                                                             : "it is not a single value";
        if (problem) {
            s_paths_free (paths, i);
            return s_fail (ctx, item, "key '%s': bad directory: %s", field->key, problem);
        }
        paths [i] = fed_strdup (item->text);
    }
    s_paths_free (cfg->agents.data_roots, cfg->agents.data_root_count);
    cfg->agents.data_roots = paths;
    cfg->agents.data_root_count = value->count;
    return 0;
}

static int
s_trust_entry (s_ctx_t *ctx, const fed_ynode_t *map, size_t index, fed_trust_entry_t *entry)
{
    static const char *const fields [] = {"key", "role", "name"};
    char named [48];
    snprintf (named, sizeof named, "trust[%zu]", index);
    if (map->shape != FED_YAML_MAP)
        return s_fail (ctx, map,
                       "key '%s': expected a mapping {key: PUBKEY, role: ROLE, "
                       "name: text}, got %s",
                       named, fed_ynode_shape_name (map));
    if (s_check_keys (ctx, map, named))
        return -1;
    bool seen [3] = {false, false, false};
    for (size_t i = 0; i + 1 < map->count; i += 2) {
        const fed_ynode_t *key = map->child [i], *value = map->child [i + 1];
        size_t which = 0;
        while (which < 3 && strcmp (key->text, fields [which]))
            which++;
        if (which == 3) {
            const char *near = fed_nearest_word (key->text, fields, 3);
            return s_fail (ctx, key, "key '%s.%.64s' is unknown; %s%s%s", named, key->text,
                           near ? "did you mean '" : "expected key, role and name",
                           near ? near : "", near ? "'?" : "");
        }
        seen [which] = true;
        if (value->shape != FED_YAML_SCALAR)
            return s_fail (ctx, value, "key '%s.%s': expected a single value, got %s", named,
                           fields [which], fed_ynode_shape_name (value));
        if (which == 0 && fed_key_decode (entry->key, value->text))
            return s_fail (ctx, value,
                           "key '%s.key': expected a public key of 40 Z85 or 64 hex "
                           "characters, got '%.80s'",
                           named, value->text);
        if (which == 1 && fed_role_parse (value->text, &entry->role))
            return s_fail (ctx, value,
                           "key '%s.role': expected one of peer, admin, operator, "
                           "approver, viewer, agent, got '%.80s'",
                           named, value->text);
        if (which == 2 && !s_is_null (ctx, value)) {
            if (!s_utf8_valid (value->text) || strlen (value->text) > S_TEXT_MAX)
                return s_fail (ctx, value, "key '%s.name': expected at most %d bytes of text",
                               named, S_TEXT_MAX);
            entry->name = fed_strdup (value->text);
        }
    }
    if (!seen [0] || !seen [1])
        return s_fail (ctx, map, "key '%s': '%s' is missing; each entry needs key and role", named,
                       seen [0] ? "role" : "key");
    return 0;
}

static int
s_parse_trust (s_ctx_t *ctx, const s_field_t *field, const fed_ynode_t *value, fed_config_t *cfg,
               void *slot)
{
    if (!s_is_null (ctx, value) && value->shape != FED_YAML_SEQ)
        return s_fail (ctx, value,
                       "key '%s': expected a list of {key: PUBKEY, role: ROLE, "
                       "name: text} mappings, got %s",
                       field->key, fed_ynode_shape_name (value));
    fed_trust_entry_t *trust = (fed_trust_entry_t *) fed_calloc (value->count, sizeof *trust);
    for (size_t i = 0; i < value->count; i++) {
        int rc = s_trust_entry (ctx, value->child [i], i, &trust [i]);
        for (size_t j = 0; rc == 0 && j < i; j++)
            if (!memcmp (trust [j].key, trust [i].key, 32))
                rc = s_fail (ctx, value->child [i],
                             "key 'trust[%zu]': the key is already "
                             "listed at line %zu",
                             i, value->child [j]->line);
        if (rc) {
            s_trust_free (trust, i + 1);
            return -1;
        }
    }
    s_trust_free (cfg->trust, cfg->trust_count);
    cfg->trust = trust;
    cfg->trust_count = value->count;
    return 0;
}

static void
s_print_text (s_buf_t *out, const s_field_t *field, const fed_config_t *cfg, const void *slot,
              int indent)
{
    s_put (out, " ");
    s_put_quoted (out, *(char *const *) slot);
    s_put (out, "\n");
}

static void
s_print_enum (s_buf_t *out, const s_field_t *field, const fed_config_t *cfg, const void *slot,
              int indent)
{
    uint64_t value = s_slot_get (slot, field->size);
    const s_name_t *name = field->names;
    while (name->name && (uint64_t) name->value != value)
        name++;
    assert (name->name);
    s_put (out, " %s\n", name->name);
}

static void
s_print_number (s_buf_t *out, const s_field_t *field, const fed_config_t *cfg, const void *slot,
                int indent)
{
    char text [40];
    if (field->kind->parse == s_parse_size)
        s_format_size (text, sizeof text, s_slot_get (slot, field->size));
    else if (field->kind->parse == s_parse_duration)
        fed_format_duration (text, sizeof text, (int64_t) s_slot_get (slot, field->size));
    else
        snprintf (text, sizeof text, "%llu", (unsigned long long) s_slot_get (slot, field->size));
    s_put (out, " %s\n", text);
}

static void
s_print_coord (s_buf_t *out, const s_field_t *field, const fed_config_t *cfg, const void *slot,
               int indent)
{
    double value;
    memcpy (&value, slot, sizeof value);
    char text [40] = "~";
    if (!isnan (value)) {
        //  The shortest form that reads back to the same double.
        snprintf (text, sizeof text, "%.15g", value);
        if (strtod (text, NULL) != value)
            snprintf (text, sizeof text, "%.17g", value);
    }
    s_put (out, " %s\n", text);
}

static void
s_print_labels (s_buf_t *out, const s_field_t *field, const fed_config_t *cfg, const void *slot,
                int indent)
{
    s_put (out, cfg->node.label_count ? "\n" : " {}\n");
    for (size_t i = 0; i < cfg->node.label_count; i++) {
        s_put (out, "%*s", indent + 2, "");
        s_put_quoted (out, cfg->node.labels [i].key);
        s_put (out, ": ");
        s_put_quoted (out, cfg->node.labels [i].value);
        s_put (out, "\n");
    }
}

static void
s_print_seeds (s_buf_t *out, const s_field_t *field, const fed_config_t *cfg, const void *slot,
               int indent)
{
    s_put (out, cfg->seed_count ? "\n" : " []\n");
    for (size_t i = 0; i < cfg->seed_count; i++) {
        char key [41];
        fed_z85_encode_key (key, cfg->seeds [i].key);
        char *seed = fed_sprintf ("%s@%s", key, cfg->seeds [i].endpoint);
        s_put (out, "%*s- ", indent + 2, "");
        s_put_quoted (out, seed);
        s_put (out, "\n");
        free (seed);
    }
}

static void
s_print_paths (s_buf_t *out, const s_field_t *field, const fed_config_t *cfg, const void *slot,
               int indent)
{
    (void) field, (void) slot;
    s_put (out, cfg->agents.data_root_count ? "\n" : " []\n");
    for (size_t i = 0; i < cfg->agents.data_root_count; i++) {
        s_put (out, "%*s- ", indent + 2, "");
        s_put_quoted (out, cfg->agents.data_roots [i]);
        s_put (out, "\n");
    }
}

static void
s_print_trust (s_buf_t *out, const s_field_t *field, const fed_config_t *cfg, const void *slot,
               int indent)
{
    s_put (out, cfg->trust_count ? "\n" : " []\n");
    for (size_t i = 0; i < cfg->trust_count; i++) {
        char key [41];
        fed_z85_encode_key (key, cfg->trust [i].key);
        s_put (out, "%*s- key: \"%s\"\n", indent + 2, "", key);
        s_put (out, "%*srole: %s\n", indent + 4, "", fed_role_name (cfg->trust [i].role));
        if (cfg->trust [i].name) {
            s_put (out, "%*sname: ", indent + 4, "");
            s_put_quoted (out, cfg->trust [i].name);
            s_put (out, "\n");
        }
    }
}

static const s_kind_t s_path = {s_parse_path, s_print_text, true, true};
static const s_kind_t s_text = {s_parse_text, s_print_text, true, true};
static const s_kind_t s_endpoint = {s_parse_endpoint, s_print_text, true, true};
static const s_kind_t s_enum = {s_parse_enum, s_print_enum, false, true};
static const s_kind_t s_size = {s_parse_size, s_print_number, false, true};
static const s_kind_t s_duration = {s_parse_duration, s_print_number, false, true};
static const s_kind_t s_count = {s_parse_count, s_print_number, false, true};
static const s_kind_t s_coord = {s_parse_coord, s_print_coord, false, true};
static const s_kind_t s_labels = {s_parse_labels, s_print_labels, false, false};
static const s_kind_t s_seeds = {s_parse_seeds, s_print_seeds, false, false};
static const s_kind_t s_paths = {s_parse_paths, s_print_paths, false, false};
static const s_kind_t s_trust = {s_parse_trust, s_print_trust, false, false};

//  --------------------------------------------------------------------------
//  The schema: one row per key, grouped by section, in printing order

static const s_name_t s_durabilities [] = {{"sync", 1}, {"wal", 0}, {NULL, 0}};
static const s_name_t s_booleans [] = {{"true", 1}, {"false", 0}, {NULL, 0}};
static const s_name_t s_log_levels [] = {{"error", FED_LOG_ERROR},
                                         {"warn", FED_LOG_WARN},
                                         {"info", FED_LOG_INFO},
                                         {"debug", FED_LOG_DEBUG},
                                         {NULL, 0}};

#define S_AT(member) offsetof (fed_config_t, member), sizeof (((fed_config_t *) 0)->member)
#define S_KIB 1024.0
#define S_MIB 1048576.0
#define S_GIB 1073741824.0
#define S_HOUR 3600000.0

static const s_field_t s_fields [] = {
    {"data_dir", &s_path, S_AT (data_dir), "./fednode-data", 0, 4096, 0, NULL},
    {"durability", &s_enum, S_AT (durability_sync), "sync", 0, 0, 0, s_durabilities},
    {"log_level", &s_enum, S_AT (log_level), "info", 0, 0, 0, s_log_levels},
    {"node.name", &s_text, S_AT (node.name), "", 0, S_TEXT_MAX, 0, NULL},
    {"node.region", &s_text, S_AT (node.region), "", 0, S_TEXT_MAX, 0, NULL},
    {"node.zone", &s_text, S_AT (node.zone), "", 0, S_TEXT_MAX, 0, NULL},
    {"node.site", &s_text, S_AT (node.site), "", 0, S_TEXT_MAX, 0, NULL},
    {"node.lat", &s_coord, S_AT (node.lat), "~", -90, 90, 0, NULL},
    {"node.lon", &s_coord, S_AT (node.lon), "~", -180, 180, 0, NULL},
    {"node.labels", &s_labels, S_AT (node.labels), NULL, 0, 0, 0, NULL},
    {"listen.peer", &s_endpoint, S_AT (listen.peer), "tcp://*:7701", 0, 0, S_EP_TCP, NULL},
    {"listen.control", &s_endpoint, S_AT (listen.control), "tcp://127.0.0.1:7702", 0, 0, 0, NULL},
    {"listen.agents", &s_endpoint, S_AT (listen.agents), "", 0, 0, S_EP_EMPTY, NULL},
    {"listen.advertise", &s_endpoint, S_AT (listen.advertise), "", 0, 0,
     S_EP_EMPTY | S_EP_TCP | S_EP_NO_STAR, NULL},
    {"seeds", &s_seeds, S_AT (seeds), NULL, 0, 0, 0, NULL},
    {"join_token", &s_text, S_AT (join_token), "", 0, 128, 0, NULL},
    {"trust", &s_trust, S_AT (trust), NULL, 0, 0, 0, NULL},
    {"limits.event_body", &s_size, S_AT (limits.event_body), "1MiB", S_KIB, S_GIB, 0, NULL},
    {"limits.wire_message", &s_size, S_AT (limits.wire_message), "4MiB", S_KIB, 2 * S_GIB, 0, NULL},
    {"limits.yaml_file", &s_size, S_AT (limits.yaml_file), "1MiB", S_KIB, 64 * S_MIB, 0, NULL},
    {"limits.workflow_steps", &s_count, S_AT (limits.workflow_steps), "10000", 1, 1000000, 0, NULL},
    {"limits.pending_events", &s_count, S_AT (limits.pending_events), "10000", 1, 10000000, 0,
     NULL},
    {"limits.handshake_timeout", &s_duration, S_AT (limits.handshake_timeout_ms), "5s", 100, 60000,
     0, NULL},
    {"limits.pending_joins", &s_count, S_AT (limits.pending_joins), "10", 1, 10000, 0, NULL},
    {"gossip.fanout", &s_count, S_AT (gossip.fanout), "3", 1, 64, 0, NULL},
    {"gossip.push", &s_enum, S_AT (gossip.push), "true", 0, 0, 0, s_booleans},
    {"gossip.interval", &s_duration, S_AT (gossip.interval_ms), "1s", 10, S_HOUR, 0, NULL},
    {"gossip.probe_interval", &s_duration, S_AT (gossip.probe_interval_ms), "1s", 10, S_HOUR, 0,
     NULL},
    {"gossip.probe_timeout", &s_duration, S_AT (gossip.probe_timeout_ms), "500ms", 1, S_HOUR, 0,
     NULL},
    {"gossip.suspicion_timeout", &s_duration, S_AT (gossip.suspicion_timeout_ms), "5s", 10,
     24 * S_HOUR, 0, NULL},
    {"gossip.indirect_probes", &s_count, S_AT (gossip.indirect_probes), "3", 1, 16, 0, NULL},
    {"gossip.retransmit_mult", &s_count, S_AT (gossip.retransmit_mult), "4", 1, 64, 0, NULL},
    {"gossip.sync_interval", &s_duration, S_AT (gossip.sync_interval_ms), "30s", 100, 24 * S_HOUR,
     0, NULL},
    {"gossip.reconnect_interval", &s_duration, S_AT (gossip.reconnect_interval_ms), "10s", 100,
     24 * S_HOUR, 0, NULL},
    {"agents.workers", &s_count, S_AT (agents.workers), "0", 0, 256, 0, NULL},
    {"agents.heartbeat", &s_duration, S_AT (agents.heartbeat_ms), "1s", 10, 60000, 0, NULL},
    {"agents.liveness", &s_count, S_AT (agents.liveness), "3", 1, 100, 0, NULL},
    {"agents.failovers", &s_count, S_AT (agents.failovers), "3", 0, 100, 0, NULL},
    {"agents.max_external", &s_count, S_AT (agents.max_external), "256", 1, 4096, 0, NULL},
    {"agents.data_roots", &s_paths, S_AT (agents.data_roots), NULL, 0, 0, 0, NULL},
    {"agents.data_memory", &s_size, S_AT (agents.data_memory), "256MiB", S_MIB, 1024 * S_GIB, 0,
     NULL},
};
#define S_FIELD_COUNT (sizeof s_fields / sizeof s_fields [0])

static const s_field_t *
s_field_find (const char *key)
{
    for (size_t i = 0; i < S_FIELD_COUNT; i++)
        if (!strcmp (s_fields [i].key, key))
            return &s_fields [i];
    return NULL;
}

//  True if path names a section ("node", "gossip"): a prefix of some key.
static bool
s_is_section (const char *path)
{
    size_t length = strlen (path);
    for (size_t i = 0; i < S_FIELD_COUNT; i++)
        if (!strncmp (s_fields [i].key, path, length) && s_fields [i].key [length] == '.')
            return true;
    return false;
}

//  Reports an unknown key at path, suggesting the nearest known key or
//  section, else listing the keys valid in that section.
static int
s_unknown (s_ctx_t *ctx, const fed_ynode_t *at, const char *path, const char *section)
{
    const char *candidates [2 * S_FIELD_COUNT];
    char sections [S_FIELD_COUNT][32];
    size_t count = 0;
    for (size_t i = 0; i < S_FIELD_COUNT; i++) {
        const char *dot = strchr (s_fields [i].key, '.');
        candidates [count++] = s_fields [i].key;
        if (dot) {
            snprintf (sections [i], sizeof sections [i], "%.*s", (int) (dot - s_fields [i].key),
                      s_fields [i].key);
            candidates [count++] = sections [i];
        }
    }
    const char *near = fed_nearest_word (path, candidates, count);
    if (near)
        return s_fail (ctx, at, "key '%.100s' is unknown; did you mean '%s'?", path, near);
    char valid [300] = "";
    size_t prefix = strlen (section);
    for (size_t i = 0; i < S_FIELD_COUNT; i++) {
        const char *key = s_fields [i].key;
        if (prefix && (strncmp (key, section, prefix) || key [prefix] != '.'))
            continue;
        const char *name = prefix ? key + prefix + 1 : key;
        int length = (int) strcspn (name, ".");
        char word [40];
        snprintf (word, sizeof word, "%.*s", length, name);
        char *last = strrchr (valid, ' ');
        if (!strcmp (last ? last + 1 : valid, word))
            continue;
        snprintf (valid + strlen (valid), sizeof valid - strlen (valid), "%s%s", *valid ? ", " : "",
                  word);
    }
    return s_fail (ctx, at, "key '%.100s' is unknown; valid keys%s%s are: %s", path,
                   prefix ? " in " : "", section, valid);
}

//  Applies a mapping of keys under section ("" at the top) to cfg.
static int
s_load_map (s_ctx_t *ctx, fed_config_t *cfg, const fed_ynode_t *map, const char *section)
{
    if (s_is_null (ctx, map))
        return 0;
    if (map->shape != FED_YAML_MAP) {
        if (*section)
            return s_fail (ctx, map, "key '%s': expected a mapping, got %s", section,
                           fed_ynode_shape_name (map));
        return s_fail (ctx, map, "expected a mapping of config keys, got %s",
                       fed_ynode_shape_name (map));
    }
    if (s_check_keys (ctx, map, section))
        return -1;
    for (size_t i = 0; i + 1 < map->count; i += 2) {
        const fed_ynode_t *key = map->child [i], *value = map->child [i + 1];
        char path [128];
        int length =
            snprintf (path, sizeof path, "%s%s%s", section, *section ? "." : "", key->text);
        const s_field_t *field = length < (int) sizeof path ? s_field_find (path) : NULL;
        int rc;
        if (field)
            rc = field->kind->parse (ctx, field, value, cfg, (char *) cfg + field->offset);
        else if (length < (int) sizeof path && s_is_section (path))
            rc = s_load_map (ctx, cfg, value, path);
        else
            rc = s_unknown (ctx, key, path, section);
        if (rc)
            return -1;
    }
    return 0;
}

//  --------------------------------------------------------------------------
//  Copies, so that a failed load leaves the caller's config alone

static void
s_config_free_fields (fed_config_t *self)
{
    for (size_t i = 0; i < S_FIELD_COUNT; i++)
        if (s_fields [i].kind->is_string)
            fed_free ((char *) self + s_fields [i].offset);
    s_labels_free (self->node.labels, self->node.label_count);
    s_seeds_free (self->seeds, self->seed_count);
    s_trust_free (self->trust, self->trust_count);
    s_paths_free (self->agents.data_roots, self->agents.data_root_count);
}

static fed_config_t *
s_config_copy (const fed_config_t *self)
{
    fed_config_t *copy = (fed_config_t *) fed_malloc (sizeof *copy);
    *copy = *self;
    for (size_t i = 0; i < S_FIELD_COUNT; i++)
        if (s_fields [i].kind->is_string) {
            char **string_p = (char **) ((char *) copy + s_fields [i].offset);
            *string_p = fed_strdup (*string_p);
        }
    copy->node.labels = (fed_label_t *) fed_calloc (self->node.label_count, sizeof (fed_label_t));
    for (size_t i = 0; i < self->node.label_count; i++) {
        copy->node.labels [i].key = fed_strdup (self->node.labels [i].key);
        copy->node.labels [i].value = fed_strdup (self->node.labels [i].value);
    }
    copy->seeds = (fed_seed_t *) fed_calloc (self->seed_count, sizeof (fed_seed_t));
    for (size_t i = 0; i < self->seed_count; i++) {
        copy->seeds [i] = self->seeds [i];
        copy->seeds [i].endpoint = fed_strdup (self->seeds [i].endpoint);
    }
    copy->agents.data_roots =
        (char **) fed_calloc (self->agents.data_root_count + 1, sizeof (char *));
    for (size_t i = 0; i < self->agents.data_root_count; i++)
        copy->agents.data_roots [i] = fed_strdup (self->agents.data_roots [i]);
    copy->trust = (fed_trust_entry_t *) fed_calloc (self->trust_count, sizeof (fed_trust_entry_t));
    for (size_t i = 0; i < self->trust_count; i++) {
        copy->trust [i] = self->trust [i];
        copy->trust [i].name = self->trust [i].name ? fed_strdup (self->trust [i].name) : NULL;
    }
    return copy;
}

//  Moves copy's contents into self and destroys what self held.
static void
s_config_adopt (fed_config_t *self, fed_config_t **copy_p)
{
    fed_config_t old = *self;
    *self = **copy_p;
    **copy_p = old;
    fed_config_destroy (copy_p);
}

//  Why a config's coordinates do not come in a pair, or NULL if they do.
static const char *
s_latlon_problem (fed_config_t *self)
{
    bool has_lat = !isnan (self->node.lat), has_lon = !isnan (self->node.lon);
    self->node.has_latlon = has_lat && has_lon;
    if (has_lat == has_lon)
        return NULL;
    return has_lat ? "key 'node.lat' is set without 'node.lon'; lat and lon come together"
                   : "key 'node.lon' is set without 'node.lat'; lat and lon come together";
}

//  --------------------------------------------------------------------------
//  Public API

fed_config_t *
fed_config_new (void)
{
    fed_config_t *self = (fed_config_t *) fed_calloc (1, sizeof *self);
    s_ctx_t ctx = {NULL, NULL, NULL, NULL};
    for (size_t i = 0; i < S_FIELD_COUNT; i++) {
        const s_field_t *field = &s_fields [i];
        if (!field->fallback)
            continue;
        fed_ynode_t value = {
            .shape = FED_YAML_SCALAR, .text = (char *) field->fallback, .plain = true};
        int rc = field->kind->parse (&ctx, field, &value, self, (char *) self + field->offset);
        assert (rc == 0); //  a default the table itself refuses is a bug
        (void) rc;
    }
    (void) s_latlon_problem (self);
    return self;
}

void
fed_config_destroy (fed_config_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    s_config_free_fields (*self_p);
    free (*self_p);
    *self_p = NULL;
}

int
fed_config_load_string (fed_config_t *self, const char *text, size_t size, const char *name,
                        fed_err_t *err)
{
    s_ctx_t ctx = {name ? name : "<string>", err, NULL, NULL};
    if (size > self->limits.yaml_file) {
        char limit [32];
        s_format_size (limit, sizeof limit, self->limits.yaml_file);
        return s_fail (&ctx, NULL, "the file is %zu bytes, over the %s limit (limits.yaml_file)",
                       size, limit);
    }
    fed_ynode_t *root = NULL;
    if (s_tree_build (&ctx, text, size, &root))
        return -1;
    fed_config_t *copy = s_config_copy (self);
    int rc = root ? s_load_map (&ctx, copy, root, "") : 0;
    if (rc == 0 && (ctx.lat || ctx.lon)) {
        const char *problem = s_latlon_problem (copy);
        if (problem) {
            bool lat_alone = !isnan (copy->node.lat);
            const fed_ynode_t *at =
                lat_alone ? (ctx.lat ? ctx.lat : ctx.lon) : (ctx.lon ? ctx.lon : ctx.lat);
            rc = s_fail (&ctx, at, "%s", problem);
        }
    }
    if (rc == 0)
        s_config_adopt (self, &copy);
    fed_config_destroy (&copy);
    fed_ynode_destroy (&root);
    return rc;
}

int
fed_config_load_file (fed_config_t *self, const char *path, fed_err_t *err)
{
    s_ctx_t ctx = {path, err, NULL, NULL};
    FILE *file = fopen (path, "rb");
    if (!file)
        return s_fail (&ctx, NULL, "cannot open the config file: %s", strerror (errno));
    //  Read one byte past the limit, so an oversized file is seen as such
    //  without reading all of it.
    size_t limit = self->limits.yaml_file;
    char *text = (char *) fed_malloc (limit + 1);
    size_t size = fread (text, 1, limit + 1, file);
    int rc = ferror (file)
        ? s_fail (&ctx, NULL, "cannot read the config file: %s", strerror (errno))
        : 0;
    fclose (file);
    if (rc == 0 && size > limit) {
        char text_limit [32];
        s_format_size (text_limit, sizeof text_limit, limit);
        rc = s_fail (&ctx, NULL, "the file is over the %s limit (limits.yaml_file)", text_limit);
    }
    if (rc == 0)
        rc = fed_config_load_string (self, text, size, path, err);
    free (text);
    return rc;
}

int
fed_config_set (fed_config_t *self, const char *key, const char *value, fed_err_t *err)
{
    assert (key && value);
    s_ctx_t ctx = {NULL, err, NULL, NULL};
    const s_field_t *field = s_field_find (key);
    if (!field) {
        if (s_is_section (key))
            return s_fail (&ctx, NULL,
                           "key '%.100s' is a section; set one of its keys, such as "
                           "'%s.…'",
                           key, key);
        //  Name the keys of the section the flag meant, if it named one.
        char section [32] = "";
        const char *dot = strrchr (key, '.');
        if (dot && (size_t) (dot - key) < sizeof section) {
            memcpy (section, key, (size_t) (dot - key));
            section [dot - key] = 0;
        }
        return s_unknown (&ctx, NULL, key, s_is_section (section) ? section : "");
    }
    if (!field->kind->settable)
        return s_fail (&ctx, NULL,
                       "key '%s' is a list or mapping and cannot be set from one "
                       "value",
                       key);
    fed_ynode_t node = {.shape = FED_YAML_SCALAR, .text = (char *) value, .plain = true};
    fed_config_t *copy = s_config_copy (self);
    int rc = field->kind->parse (&ctx, field, &node, copy, (char *) copy + field->offset);
    if (rc == 0) {
        (void) s_latlon_problem (copy);
        s_config_adopt (self, &copy);
    }
    fed_config_destroy (&copy);
    return rc;
}

int
fed_config_add_seed (fed_config_t *self, const char *seed, fed_err_t *err)
{
    assert (seed);
    fed_seed_t parsed;
    const char *problem = s_seed_problem (seed, &parsed);
    if (problem) {
        fed_err_set (err, 0, "bad seed '%.120s': %s; expected PUBKEY@tcp://host:port", seed,
                     problem);
        return -1;
    }
    self->seeds =
        (fed_seed_t *) fed_realloc (self->seeds, (self->seed_count + 1) * sizeof *self->seeds);
    self->seeds [self->seed_count++] = parsed;
    return 0;
}

int
fed_config_add_data_root (fed_config_t *self, const char *path, fed_err_t *err)
{
    const char *problem = s_data_root_problem (path);
    if (problem) {
        fed_err_set (err, 0, "bad data root '%.120s': %s (key agents.data_roots)", path, problem);
        return -1;
    }
    self->agents.data_roots = (char **) fed_realloc (
        self->agents.data_roots, (self->agents.data_root_count + 2) * sizeof (char *));
    self->agents.data_roots [self->agents.data_root_count++] = fed_strdup (path);
    return 0;
}

int
fed_config_check (const fed_config_t *self, fed_err_t *err)
{
    fed_config_t probe = *self;
    const char *problem = s_latlon_problem (&probe);
    if (problem) {
        fed_err_set (err, 0, "%s", problem);
        return -1;
    }
    //  A probe must time out within its interval, or the indirect probes
    //  (sent at the timeout) never run before the member is suspected.
    if (self->gossip.probe_timeout_ms >= self->gossip.probe_interval_ms) {
        fed_err_set (err, 0,
                     "gossip.probe_timeout (%lld ms) must be shorter than gossip.probe_interval "
                     "(%lld ms); half of it is usual",
                     (long long) self->gossip.probe_timeout_ms,
                     (long long) self->gossip.probe_interval_ms);
        return -1;
    }
    return 0;
}

char *
fed_config_to_yaml (const fed_config_t *self)
{
    s_buf_t out = {NULL, 0, 0};
    s_put (&out, "# fednode configuration: every key with its effective value\n");
    const char *previous = "";
    for (size_t i = 0; i < S_FIELD_COUNT; i++) {
        const s_field_t *field = &s_fields [i];
        const char *dot = strchr (field->key, '.');
        int section = dot ? (int) (dot - field->key) : 0;
        if (section && strncmp (previous, field->key, (size_t) section + 1))
            s_put (&out, "%.*s:\n", section, field->key);
        previous = field->key;
        s_put (&out, "%*s%s:", section ? 2 : 0, "", dot ? dot + 1 : field->key);
        field->kind->print (&out, field, self, (const char *) self + field->offset,
                            section ? 2 : 0);
    }
    return out.data;
}

const char *
fed_role_name (fed_role_t role)
{
    for (const s_name_t *name = s_roles; name->name; name++)
        if (name->value == (int) role)
            return name->name;
    return "unknown";
}

int
fed_role_parse (const char *name, fed_role_t *role)
{
    for (const s_name_t *entry = s_roles; entry->name; entry++)
        if (!strcmp (entry->name, name)) {
            *role = (fed_role_t) entry->value;
            return 0;
        }
    return -1;
}
