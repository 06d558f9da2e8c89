/*  proto/msgbody.c: the keyed-map message body reader. See msgbody.h and
    doc/protocol.md §4.2.

    Each reader peeks before it reads, so it can say what stands there
    instead, and checks what the protocol caps before it hands back a count:
    a hostile frame costs one pass over its bytes. The walker looks each key
    up in the map's table (tables are short, a linear scan is the fast way),
    keeps a bit per key seen and leaves the value to the codec's field
    reader.
*/
#include "msgbody.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int
fed_mb_fail (fed_mb_t *ctx, fed_mb_reason_t reason, const char *format, ...)
{
    if (ctx->err) {
        ctx->err->code = ctx->proto->drops [reason];
        va_list args;
        va_start (args, format);
        vsnprintf (ctx->err->text, sizeof ctx->err->text, format, args);
        va_end (args);
    }
    return FED_MALFORMED;
}

const char *
fed_mb_got (const fed_mpr_t *reader)
{
    fed_mp_type_t type = fed_mpr_peek (reader);
    return type == FED_MP_NONE
        ? (fed_mpr_done (reader) ? "the end of the frame" : "a reserved byte")
        : fed_mp_type_name (type);
}

const char *
fed_mb_printable (char *buf, const char *ptr, uint32_t size)
{
    uint32_t n = size > 32 ? 32 : size;
    for (uint32_t i = 0; i < n; i++)
        buf [i] = ptr [i] >= 0x20 && ptr [i] < 0x7f ? ptr [i] : '?';
    strcpy (buf + n, size > 32 ? "..." : "");
    return buf;
}

//  --- Envelope ----------------------------------------------------------------

int
fed_mb_envelope (fed_mb_t *ctx, fed_mpr_t *reader, int *type)
{
    const fed_mb_proto_t *proto = ctx->proto;
    uint32_t count;
    uint64_t version;
    if (fed_mpr_peek (reader) != FED_MP_ARRAY || fed_mpr_array (reader, &count) || count == 0)
        return fed_mb_fail (ctx, FED_MB_MALFORMED, "%s is a msgpack array [version, type, body]",
                            proto->message);
    if (fed_mpr_uint (reader, &version))
        return fed_mb_fail (ctx, FED_MB_MALFORMED,
                            "element 0 must be the protocol version (a uint), got %s",
                            fed_mb_got (reader));
    //  The version first: a later version may change the rest.
    if (version != proto->version)
        return fed_mb_fail (
            ctx, FED_MB_VERSION, "envelope version %llu is not spoken here (%s speaks %llu)",
            (unsigned long long) version, proto->speaker, (unsigned long long) proto->version);
    if (count != 3)
        return fed_mb_fail (ctx, FED_MB_MALFORMED, "%s is an array of 3 elements, got %u",
                            proto->message, count);
    const char *name;
    uint32_t name_size;
    if (fed_mpr_peek (reader) != FED_MP_STR || fed_mpr_str (reader, &name, &name_size))
        return fed_mb_fail (ctx, FED_MB_MALFORMED,
                            "element 1 must be the message type (a str), got %s",
                            fed_mb_got (reader));
    for (int t = 1; t < proto->type_count; t++)
        if (strlen (proto->type_names [t]) == name_size
            && memcmp (proto->type_names [t], name, name_size) == 0) {
            *type = t;
            return 0;
        }
    char shown [FED_MB_SHOWN_SIZE];
    return fed_mb_fail (ctx, FED_MB_TYPE, "unknown message type '%s'",
                        fed_mb_printable (shown, name, name_size));
}

int
fed_mb_body (fed_mb_t *ctx, fed_mpr_t *reader, int type, const fed_mb_body_t *body, void *target)
{
    const char *type_name = ctx->proto->type_names [type];
    char body_name [24];
    snprintf (body_name, sizeof body_name, "%s body", type_name);
    fed_mb_map_t map = {body_name, type_name, 2, body->keys, body->required};
    return fed_mb_walk (ctx, reader, &map, body->field, target);
}

int
fed_mb_end (fed_mb_t *ctx, const fed_mpr_t *reader, int type)
{
    if (fed_mpr_done (reader))
        return 0;
    return fed_mb_fail (ctx, FED_MB_MALFORMED, "%s: %zu trailing bytes after the message",
                        ctx->proto->type_names [type], reader->size - reader->pos);
}

//  --- Maps --------------------------------------------------------------------

int
fed_mb_walk (fed_mb_t *ctx, fed_mpr_t *reader, const fed_mb_map_t *map, fed_mb_field_fn *field,
             void *target)
{
    uint32_t count;
    if (fed_mpr_peek (reader) != FED_MP_MAP)
        return fed_mb_fail (ctx, FED_MB_MALFORMED, "%s must be a map with %s keys, got %s",
                            map->name, ctx->proto->map_keys, fed_mb_got (reader));
    if (fed_mpr_map (reader, &count))
        return fed_mb_fail (ctx, FED_MB_MALFORMED, "%s declares more entries than the frame holds",
                            map->name);
    uint32_t seen = 0;
    for (uint32_t i = 0; i < count; i++) {
        const char *key;
        uint32_t key_size;
        if (fed_mpr_peek (reader) != FED_MP_STR)
            return fed_mb_fail (ctx, FED_MB_MALFORMED, "%s: keys must be str, got %s", map->where,
                                fed_mb_got (reader));
        if (fed_mpr_str (reader, &key, &key_size))
            return fed_mb_fail (ctx, FED_MB_MALFORMED, "%s: a key is truncated", map->where);
        int index = -1;
        for (int k = 0; map->keys [k]; k++)
            if (strlen (map->keys [k]) == key_size && memcmp (map->keys [k], key, key_size) == 0)
                index = k;
        if (index < 0) {
            //  Unknown: skipped for forward compatibility, under the cap.
            char shown [FED_MB_SHOWN_SIZE], what [80];
            snprintf (what, sizeof what, "the value of unknown key '%s'",
                      fed_mb_printable (shown, key, key_size));
            if (fed_mb_skip (ctx, reader, map->where, what,
                             (uint32_t) (FED_MB_DEPTH_MAX - map->level)))
                return FED_MALFORMED;
            continue;
        }
        if (seen & (1u << index))
            return fed_mb_fail (ctx, FED_MB_MALFORMED, "%s: key '%s' is given twice", map->where,
                                map->keys [index]);
        seen |= 1u << index;
        if (field (ctx, reader, map->where, index, target))
            return FED_MALFORMED;
    }
    uint32_t missing = map->required & ~seen;
    for (int k = 0; map->keys [k]; k++)
        if (missing & (1u << k))
            return fed_mb_fail (ctx, FED_MB_MALFORMED, "%s: required key '%s' is missing",
                                map->where, map->keys [k]);
    return 0;
}

int
fed_mb_skip (fed_mb_t *ctx, fed_mpr_t *reader, const char *where, const char *what, uint32_t depth)
{
    fed_mp_limits_t caps = {depth, fed_mp_default_limits.max_objects};
    //  A second, looser pass only to tell "too deep" from "broken".
    fed_mp_limits_t loose = {64, fed_mp_default_limits.max_objects};
    if (fed_mpr_skip (reader, &caps) == 0)
        return 0;
    if (fed_mpr_skip (reader, &loose) == 0)
        return fed_mb_fail (ctx, FED_MB_LIMIT, "%s: %s nests deeper than %d levels", where, what,
                            FED_MB_DEPTH_MAX);
    return fed_mb_fail (ctx, FED_MB_MALFORMED,
                        "%s: %s is truncated, malformed, or nests deeper than %d levels", where,
                        what, FED_MB_DEPTH_MAX);
}

//  --- Fields ------------------------------------------------------------------

int
fed_mb_read_str (fed_mb_t *ctx, fed_mpr_t *reader, const char *where, const char *field,
                 uint32_t min, uint32_t max, bool nil_ok, const char **ptr, uint32_t *size)
{
    if (nil_ok && fed_mpr_peek (reader) == FED_MP_NIL) {
        *ptr = NULL;
        *size = 0;
        return fed_mpr_nil (reader);
    }
    const char *text;
    uint32_t len;
    if (fed_mpr_peek (reader) != FED_MP_STR)
        return fed_mb_fail (ctx, FED_MB_MALFORMED,
                            "%s: '%s' must be a str of %u..%u bytes%s, got %s", where, field, min,
                            max, nil_ok ? " or nil" : "", fed_mb_got (reader));
    if (fed_mpr_str (reader, &text, &len))
        return fed_mb_fail (ctx, FED_MB_MALFORMED, "%s: '%s' is truncated", where, field);
    if (len > max)
        return fed_mb_fail (ctx, FED_MB_LIMIT, "%s: '%s' is %u bytes, over the limit of %u", where,
                            field, len, max);
    if (len < min)
        return fed_mb_fail (ctx, FED_MB_MALFORMED, "%s: '%s' must be at least %u bytes, got %u",
                            where, field, min, len);
    if (!fed_text_valid (text, len))
        return fed_mb_fail (ctx, FED_MB_MALFORMED, "%s: '%s' is not UTF-8 text without NUL", where,
                            field);
    *ptr = text;
    *size = len;
    return 0;
}

int
fed_mb_read_uint (fed_mb_t *ctx, fed_mpr_t *reader, const char *where, const char *field,
                  uint64_t *value)
{
    if (fed_mpr_peek (reader) != FED_MP_UINT)
        return fed_mb_fail (ctx, FED_MB_MALFORMED, "%s: '%s' must be a uint, got %s", where, field,
                            fed_mb_got (reader));
    if (fed_mpr_uint (reader, value))
        return fed_mb_fail (ctx, FED_MB_MALFORMED, "%s: '%s' is truncated", where, field);
    return 0;
}

int
fed_mb_read_bin (fed_mb_t *ctx, fed_mpr_t *reader, const char *where, const char *field,
                 uint32_t size, uint8_t *out)
{
    const uint8_t *ptr;
    uint32_t len;
    if (fed_mpr_peek (reader) != FED_MP_BIN)
        return fed_mb_fail (ctx, FED_MB_MALFORMED, "%s: '%s' must be bin of %u bytes, got %s",
                            where, field, size, fed_mb_got (reader));
    if (fed_mpr_bin (reader, &ptr, &len))
        return fed_mb_fail (ctx, FED_MB_MALFORMED, "%s: '%s' is truncated", where, field);
    if (len != size)
        return fed_mb_fail (ctx, FED_MB_MALFORMED, "%s: '%s' must be bin of %u bytes, got %u",
                            where, field, size, len);
    memcpy (out, ptr, size);
    return 0;
}

//  An array or map header (map: its entries; else: its elements) of at
//  most max.
static int
s_read_header (fed_mb_t *ctx, fed_mpr_t *reader, const char *where, const char *field,
               const char *kind, uint32_t max, bool map, uint32_t *count)
{
    const char *items = map ? "entries" : "elements";
    if (fed_mpr_peek (reader) != (map ? FED_MP_MAP : FED_MP_ARRAY))
        return fed_mb_fail (ctx, FED_MB_MALFORMED, "%s: '%s' must be %s, got %s", where, field,
                            kind, fed_mb_got (reader));
    if (map ? fed_mpr_map (reader, count) : fed_mpr_array (reader, count))
        return fed_mb_fail (ctx, FED_MB_MALFORMED, "%s: '%s' declares more %s than the frame holds",
                            where, field, items);
    if (*count > max)
        return fed_mb_fail (ctx, FED_MB_LIMIT, "%s: '%s' has %u %s, over the limit of %u", where,
                            field, *count, items, max);
    return 0;
}

int
fed_mb_read_array (fed_mb_t *ctx, fed_mpr_t *reader, const char *where, const char *field,
                   const char *kind, uint32_t max, uint32_t *count)
{
    return s_read_header (ctx, reader, where, field, kind, max, false, count);
}

int
fed_mb_read_map (fed_mb_t *ctx, fed_mpr_t *reader, const char *where, const char *field,
                 const char *kind, uint32_t max, uint32_t *count)
{
    return s_read_header (ctx, reader, where, field, kind, max, true, count);
}
