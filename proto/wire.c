/*  proto/wire.c: peer protocol codec. See wire.h and doc/protocol.md §4.

    Decoding walks the frame once with the mpread cursor. The envelope and
    the body rules of §4.2 are proto/msgbody.c's, shared with the agent
    protocol: its walker reads each map through this file's key tables and
    calls the field readers here, which check type, size and range and name
    the field in the error. The encoder checks the same rules before it
    packs anything.
*/
#include "wire.h"
#include "msgbody.h"

#include <stdlib.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *s_type_names [FED_WIRE_TYPES] = {NULL,       "HELLO",   "PING",   "ACK",
                                                    "PING_REQ", "MEMBERS", "DIGEST", "EVENTS",
                                                    "WANT",     "ERROR",   "BYE"};

static const char *s_state_names [] = {NULL, "alive", "suspect", "dead", "left"};

#define STATE_COUNT ((int) (sizeof s_state_names / sizeof s_state_names [0]))

const char *
fed_wire_type_name (fed_wire_type_t type)
{
    return type > 0 && type < FED_WIRE_TYPES ? s_type_names [type] : NULL;
}

const char *
fed_wire_drop_name (fed_wire_drop_t reason)
{
    static const char *names [FED_WIRE_DROPS] = {"none", "malformed", "version", "type", "limit"};
    return (int) reason >= 0 && (int) reason < FED_WIRE_DROPS ? names [reason] : "?";
}

const char *
fed_wire_state_name (fed_wire_state_t state)
{
    return (int) state > 0 && (int) state < STATE_COUNT ? s_state_names [state] : NULL;
}

//  --- Decoding ---------------------------------------------------------------

_Static_assert(FED_WIRE_DEPTH_MAX == FED_MB_DEPTH_MAX, "msgbody caps nesting as §4.2 does");

static const fed_mb_proto_t s_proto = {
    .message = "a peer message",
    .speaker = "this node",
    .version = FED_WIRE_VERSION,
    .type_names = s_type_names,
    .type_count = FED_WIRE_TYPES,
    .map_keys = "string",
    .drops = {[FED_MB_MALFORMED] = FED_WIRE_DROP_MALFORMED,
              [FED_MB_VERSION] = FED_WIRE_DROP_VERSION,
              [FED_MB_TYPE] = FED_WIRE_DROP_TYPE,
              [FED_MB_LIMIT] = FED_WIRE_DROP_LIMIT},
};

//  True if size bytes at ptr are tcp://HOST:PORT: HOST a name, an IPv4
//  address or a bracketed IPv6 address (no '*', no space, no control
//  byte), PORT 1..65535 in decimal. Peers connect to what members
//  announce, so nothing else (ipc://, inproc://, a wildcard) is taken.
static bool
s_endpoint_ok (const char *ptr, uint32_t size)
{
    if (!ptr || size < 9 || memcmp (ptr, "tcp://", 6) != 0)
        return false;
    const char *host = ptr + 6, *end = ptr + size;
    const char *colon = NULL;
    for (const char *p = end - 1; p > host; p--)
        if (*p == ':') {
            colon = p;
            break;
        }
    if (!colon || colon == host || end - colon - 1 < 1 || end - colon - 1 > 5)
        return false;
    unsigned long port = 0;
    for (const char *p = colon + 1; p < end; p++) {
        if (*p < '0' || *p > '9')
            return false;
        port = port * 10 + (unsigned long) (*p - '0');
    }
    if (port < 1 || port > 65535)
        return false;
    bool bracketed = *host == '[';
    if (bracketed && (colon - host < 3 || colon [-1] != ']'))
        return false;
    for (const char *p = host; p < colon; p++) {
        unsigned char c = (unsigned char) *p;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
            || c == '.' || c == '-' || c == '_'
            || (bracketed && (c == ':' || c == '[' || c == ']'));
        if (!ok)
            return false;
    }
    return true;
}

//  A str of min..max bytes, or nil (ptr NULL) when nil_ok, borrowed.
static int
s_read_str (fed_mb_t *ctx, fed_mpr_t *reader, const char *where, const char *field, uint32_t min,
            uint32_t max, bool nil_ok, fed_wire_str_t *out)
{
    return fed_mb_read_str (ctx, reader, where, field, min, max, nil_ok, &out->ptr, &out->size);
}

//  Reads an endpoint field: a str of 1..FED_WIRE_ENDPOINT_MAX bytes in the
//  tcp://HOST:PORT form.
static int
s_read_endpoint (fed_mb_t *ctx, fed_mpr_t *reader, const char *where, fed_wire_str_t *out)
{
    if (s_read_str (ctx, reader, where, "endpoint", 1, FED_WIRE_ENDPOINT_MAX, false, out))
        return FED_MALFORMED;
    if (!s_endpoint_ok (out->ptr, out->size))
        return fed_mb_fail (ctx, FED_MB_MALFORMED,
                            "%s: 'endpoint' must be tcp://HOST:PORT (a name or address, port "
                            "1..65535)",
                            where);
    return 0;
}

static int
s_read_key (fed_mb_t *ctx, fed_mpr_t *reader, const char *where, const char *field,
            uint8_t key [FED_WIRE_KEY_BYTES])
{
    return fed_mb_read_bin (ctx, reader, where, field, FED_WIRE_KEY_BYTES, key);
}

//  A number in -bound..bound, or nil (*has = false).
static int
s_read_degrees (fed_mb_t *ctx, fed_mpr_t *reader, const char *where, const char *field,
                double bound, bool *has, double *value)
{
    *has = false;
    *value = 0;
    fed_mp_type_t type = fed_mpr_peek (reader);
    if (type == FED_MP_NIL)
        return fed_mpr_nil (reader);
    double d;
    if ((type != FED_MP_FLOAT && type != FED_MP_UINT && type != FED_MP_INT)
        || fed_mpr_double (reader, &d))
        return fed_mb_fail (ctx, FED_MB_MALFORMED, "%s: '%s' must be a float or nil, got %s", where,
                            field, fed_mb_got (reader));
    if (!(d >= -bound && d <= bound))
        return fed_mb_fail (ctx, FED_MB_MALFORMED, "%s: '%s' must be from %g to %g", where, field,
                            -bound, bound);
    *has = true;
    *value = d;
    return 0;
}

//  An array header of at most max elements.
static int
s_read_list (fed_mb_t *ctx, fed_mpr_t *reader, const char *where, const char *field, uint32_t max,
             uint32_t *count)
{
    return fed_mb_read_array (ctx, reader, where, field, "an array", max, count);
}

//  Location (level 3), labels (level 4).

static const char *const s_location_keys [] = {"region", "zone",   "site", "lat",
                                               "lon",    "labels", NULL};

static int
s_location_field (fed_mb_t *ctx, fed_mpr_t *reader, const char *where, int index, void *target)
{
    fed_wire_location_t *location = target;
    switch (index) {
        case 0:
            return s_read_str (ctx, reader, where, "region", 0, FED_WIRE_TAG_MAX, true,
                               &location->region);
        case 1:
            return s_read_str (ctx, reader, where, "zone", 0, FED_WIRE_TAG_MAX, true,
                               &location->zone);
        case 2:
            return s_read_str (ctx, reader, where, "site", 0, FED_WIRE_TAG_MAX, true,
                               &location->site);
        case 3:
            return s_read_degrees (ctx, reader, where, "lat", 90, &location->has_lat,
                                   &location->lat);
        case 4:
            return s_read_degrees (ctx, reader, where, "lon", 180, &location->has_lon,
                                   &location->lon);
        default: break;
    }
    uint32_t count;
    if (fed_mb_read_map (ctx, reader, where, "labels", "a map str -> str", FED_WIRE_LABELS_MAX,
                         &count))
        return FED_MALFORMED;
    for (uint32_t i = 0; i < count; i++) {
        fed_wire_label_t *label = &location->labels [i];
        if (s_read_str (ctx, reader, where, "labels key", 1, FED_WIRE_TAG_MAX, false, &label->key)
            || s_read_str (ctx, reader, where, "labels value", 0, FED_WIRE_LABEL_VALUE_MAX, false,
                           &label->value))
            return FED_MALFORMED;
        for (uint32_t j = 0; j < i; j++)
            if (location->labels [j].key.size == label->key.size
                && memcmp (location->labels [j].key.ptr, label->key.ptr, label->key.size) == 0) {
                char shown [FED_MB_SHOWN_SIZE];
                return fed_mb_fail (ctx, FED_MB_MALFORMED, "%s: label '%s' is given twice", where,
                                    fed_mb_printable (shown, label->key.ptr, label->key.size));
            }
        location->label_count++;
    }
    return 0;
}

//  Membership updates: an array (level 3) of maps (level 4).

static const char *const s_update_keys [] = {"node",     "state", "incarnation",
                                             "endpoint", "name",  NULL};

static int
s_update_field (fed_mb_t *ctx, fed_mpr_t *reader, const char *where, int index, void *target)
{
    fed_wire_update_t *update = target;
    switch (index) {
        case 0: return s_read_key (ctx, reader, where, "node", update->node);
        case 2: return fed_mb_read_uint (ctx, reader, where, "incarnation", &update->incarnation);
        case 3: return s_read_endpoint (ctx, reader, where, &update->endpoint);
        case 4:
            return s_read_str (ctx, reader, where, "name", 1, FED_WIRE_NAME_MAX, false,
                               &update->name);
        default: break;
    }
    fed_wire_str_t state;
    if (s_read_str (ctx, reader, where, "state", 1, 16, false, &state))
        return FED_MALFORMED;
    for (int s = 1; s < STATE_COUNT; s++)
        if (strlen (s_state_names [s]) == state.size
            && memcmp (s_state_names [s], state.ptr, state.size) == 0) {
            update->state = (fed_wire_state_t) s;
            return 0;
        }
    return fed_mb_fail (ctx, FED_MB_MALFORMED,
                        "%s: 'state' must be one of alive, suspect, dead, left", where);
}

static int
s_read_updates (fed_mb_t *ctx, fed_mpr_t *reader, const char *where, fed_wire_updates_t *updates)
{
    uint32_t count;
    if (s_read_list (ctx, reader, where, "updates", FED_WIRE_UPDATES_MAX, &count))
        return FED_MALFORMED;
    for (uint32_t i = 0; i < count; i++) {
        char path [48];
        snprintf (path, sizeof path, "%s updates[%u]", where, i);
        fed_mb_map_t map = {path, path, 4, s_update_keys, 0x1f};
        if (fed_mb_walk (ctx, reader, &map, s_update_field, &updates->items [i]))
            return FED_MALFORMED;
        updates->count++;
    }
    return 0;
}

//  Bodies (level 2). Each message's key table and field reader.

static const char *const s_hello_keys [] = {"id",       "name",        "endpoint", "location",
                                            "protocol", "incarnation", "token",    NULL};

static int
s_hello_field (fed_mb_t *ctx, fed_mpr_t *reader, const char *where, int index, void *target)
{
    fed_wire_hello_t *hello = target;
    switch (index) {
        case 0: return s_read_key (ctx, reader, where, "id", hello->id);
        case 1:
            return s_read_str (ctx, reader, where, "name", 1, FED_WIRE_NAME_MAX, false,
                               &hello->name);
        case 2: return s_read_endpoint (ctx, reader, where, &hello->endpoint);
        case 3: {
            fed_mb_map_t map = {"HELLO location", "HELLO location", 3, s_location_keys, 0x3f};
            return fed_mb_walk (ctx, reader, &map, s_location_field, &hello->location);
        }
        case 4:
            if (fed_mb_read_uint (ctx, reader, where, "protocol", &hello->protocol))
                return FED_MALFORMED;
            if (hello->protocol == 0)
                return fed_mb_fail (ctx, FED_MB_MALFORMED, "%s: 'protocol' must be 1 or more",
                                    where);
            return 0;
        case 5: return fed_mb_read_uint (ctx, reader, where, "incarnation", &hello->incarnation);
        default:
            return s_read_str (ctx, reader, where, "token", 1, FED_WIRE_TOKEN_MAX, true,
                               &hello->token);
    }
}

static const char *const s_ping_keys [] = {"seq", "incarnation", "updates", NULL};

static int
s_ping_field (fed_mb_t *ctx, fed_mpr_t *reader, const char *where, int index, void *target)
{
    fed_wire_ping_t *ping = target;
    switch (index) {
        case 0: return fed_mb_read_uint (ctx, reader, where, "seq", &ping->seq);
        case 1: return fed_mb_read_uint (ctx, reader, where, "incarnation", &ping->incarnation);
        default: return s_read_updates (ctx, reader, where, &ping->updates);
    }
}

static const char *const s_ack_keys [] = {"seq", "updates", NULL};

static int
s_ack_field (fed_mb_t *ctx, fed_mpr_t *reader, const char *where, int index, void *target)
{
    fed_wire_ack_t *ack = target;
    if (index == 0)
        return fed_mb_read_uint (ctx, reader, where, "seq", &ack->seq);
    return s_read_updates (ctx, reader, where, &ack->updates);
}

static const char *const s_ping_req_keys [] = {"seq", "target", "updates", NULL};

static int
s_ping_req_field (fed_mb_t *ctx, fed_mpr_t *reader, const char *where, int index, void *target)
{
    fed_wire_ping_req_t *ping_req = target;
    switch (index) {
        case 0: return fed_mb_read_uint (ctx, reader, where, "seq", &ping_req->seq);
        case 1: return s_read_key (ctx, reader, where, "target", ping_req->target);
        default: return s_read_updates (ctx, reader, where, &ping_req->updates);
    }
}

static const char *const s_members_keys [] = {"updates", NULL};

static int
s_members_field (fed_mb_t *ctx, fed_mpr_t *reader, const char *where, int index, void *target)
{
    (void) index;
    fed_wire_members_t *members = target;
    return s_read_updates (ctx, reader, where, &members->updates);
}

static const char *const s_digest_keys [] = {"vv", NULL};

static int
s_digest_field (fed_mb_t *ctx, fed_mpr_t *reader, const char *where, int index, void *target)
{
    (void) index;
    fed_wire_digest_t *digest = target;
    fed_wire_msg_t *msg = ctx->msg;
    uint32_t count;
    if (s_read_list (ctx, reader, where, "vv", FED_WIRE_DIGEST_MAX, &count))
        return FED_MALFORMED;
    if (count == 0)
        return 0;
    //  count is at most 10,000 and at most the bytes left: a bounded allocation.
    fed_wire_vv_entry_t *entries = fed_calloc (count, sizeof *entries);
    msg->owned = entries;
    digest->entries = entries;
    for (uint32_t i = 0; i < count; i++) {
        char path [32];
        snprintf (path, sizeof path, "%s vv[%u]", where, i);
        uint32_t pair;
        if (fed_mpr_peek (reader) != FED_MP_ARRAY || fed_mpr_array (reader, &pair) || pair != 2)
            return fed_mb_fail (ctx, FED_MB_MALFORMED, "%s must be an array [origin, seq]", path);
        if (s_read_key (ctx, reader, path, "origin", entries [i].origin)
            || fed_mb_read_uint (ctx, reader, path, "seq", &entries [i].seq))
            return FED_MALFORMED;
        if (entries [i].seq == 0)
            return fed_mb_fail (ctx, FED_MB_MALFORMED, "%s: 'seq' must be 1 or more", path);
        if (i > 0 && memcmp (entries [i - 1].origin, entries [i].origin, FED_WIRE_KEY_BYTES) >= 0)
            return fed_mb_fail (ctx, FED_MB_MALFORMED,
                                "%s: origins must be in strictly ascending byte order", path);
        digest->count++;
    }
    return 0;
}

static const char *const s_events_keys [] = {"events", NULL};

static int
s_events_field (fed_mb_t *ctx, fed_mpr_t *reader, const char *where, int index, void *target)
{
    (void) index;
    fed_wire_events_t *events = target;
    fed_wire_msg_t *msg = ctx->msg;
    uint32_t count;
    if (s_read_list (ctx, reader, where, "events", FED_WIRE_EVENTS_MAX, &count))
        return FED_MALFORMED;
    if (count == 0)
        return 0;
    fed_blob_t *blobs = fed_calloc (count, sizeof *blobs);
    msg->owned = blobs;
    events->events = blobs;
    for (uint32_t i = 0; i < count; i++) {
        const uint8_t *ptr;
        uint32_t len;
        if (fed_mpr_peek (reader) != FED_MP_BIN)
            return fed_mb_fail (ctx, FED_MB_MALFORMED, "%s: 'events'[%u] must be bin, got %s",
                                where, i, fed_mb_got (reader));
        if (fed_mpr_bin (reader, &ptr, &len))
            return fed_mb_fail (ctx, FED_MB_MALFORMED, "%s: 'events'[%u] is truncated", where, i);
        if (len == 0)
            return fed_mb_fail (ctx, FED_MB_MALFORMED, "%s: 'events'[%u] is empty", where, i);
        blobs [i] = (fed_blob_t){ptr, len};
        events->count++;
    }
    return 0;
}

static const char *const s_want_keys [] = {"origin", "from", "to", NULL};

static int
s_want_field (fed_mb_t *ctx, fed_mpr_t *reader, const char *where, int index, void *target)
{
    fed_wire_want_t *want = target;
    switch (index) {
        case 0: return s_read_key (ctx, reader, where, "origin", want->origin);
        case 1: return fed_mb_read_uint (ctx, reader, where, "from", &want->from);
        default: return fed_mb_read_uint (ctx, reader, where, "to", &want->to);
    }
}

static const char *const s_error_keys [] = {"code", "text", NULL};

static int
s_error_field (fed_mb_t *ctx, fed_mpr_t *reader, const char *where, int index, void *target)
{
    fed_wire_error_t *error = target;
    if (index == 0)
        return s_read_str (ctx, reader, where, "code", 1, FED_WIRE_CODE_MAX, false, &error->code);
    return s_read_str (ctx, reader, where, "text", 0, FED_WIRE_TEXT_MAX, false, &error->text);
}

static const char *const s_bye_keys [] = {"reason", NULL};

static int
s_bye_field (fed_mb_t *ctx, fed_mpr_t *reader, const char *where, int index, void *target)
{
    (void) index;
    fed_wire_bye_t *bye = target;
    return s_read_str (ctx, reader, where, "reason", 0, FED_WIRE_TEXT_MAX, false, &bye->reason);
}

//  The body of each type: keys, required bits, field reader.
static const fed_mb_body_t s_bodies [FED_WIRE_TYPES] = {
    [FED_WIRE_HELLO] = {s_hello_keys, 0x3f, s_hello_field},
    [FED_WIRE_PING] = {s_ping_keys, 0x7, s_ping_field},
    [FED_WIRE_ACK] = {s_ack_keys, 0x3, s_ack_field},
    [FED_WIRE_PING_REQ] = {s_ping_req_keys, 0x7, s_ping_req_field},
    [FED_WIRE_MEMBERS] = {s_members_keys, 0x1, s_members_field},
    [FED_WIRE_DIGEST] = {s_digest_keys, 0x1, s_digest_field},
    [FED_WIRE_EVENTS] = {s_events_keys, 0x1, s_events_field},
    [FED_WIRE_WANT] = {s_want_keys, 0x7, s_want_field},
    [FED_WIRE_ERROR] = {s_error_keys, 0x3, s_error_field},
    [FED_WIRE_BYE] = {s_bye_keys, 0x0, s_bye_field},
};

static int
s_decode (fed_mb_t *ctx, fed_mpr_t *reader)
{
    fed_wire_msg_t *msg = ctx->msg;
    int type;
    if (fed_mb_envelope (ctx, reader, &type))
        return FED_MALFORMED;
    msg->type = (fed_wire_type_t) type;
    if (fed_mb_body (ctx, reader, type, &s_bodies [type], &msg->u))
        return FED_MALFORMED;
    if (msg->type == FED_WIRE_WANT && msg->u.want.from == 0)
        return fed_mb_fail (ctx, FED_MB_MALFORMED, "WANT: 'from' must be 1 or more");
    if (msg->type == FED_WIRE_WANT && msg->u.want.from > msg->u.want.to)
        return fed_mb_fail (ctx, FED_MB_MALFORMED, "WANT: 'from' (%llu) is after 'to' (%llu)",
                            (unsigned long long) msg->u.want.from,
                            (unsigned long long) msg->u.want.to);
    return fed_mb_end (ctx, reader, type);
}

int
fed_wire_decode (const void *data, size_t size, fed_wire_msg_t *msg, fed_err_t *err)
{
    memset (msg, 0, sizeof *msg);
    if (err) {
        err->code = FED_WIRE_DROP_NONE;
        err->text [0] = 0;
    }
    fed_mb_t ctx = {&s_proto, err, msg};
    fed_mpr_t reader;
    fed_mpr_init (&reader, data, size);
    if (s_decode (&ctx, &reader)) {
        fed_wire_msg_clear (msg);
        return FED_MALFORMED;
    }
    return 0;
}

void
fed_wire_msg_clear (fed_wire_msg_t *msg)
{
    free (msg->owned);
    memset (msg, 0, sizeof *msg);
}

//  --- Encoding ---------------------------------------------------------------

//  The rules s_read_str applies, for the encoder. ptr NULL is nil when
//  nil_ok, else the empty string.
static bool
s_str_ok (const fed_wire_str_t *str, uint32_t min, uint32_t max, bool nil_ok)
{
    if (!str->ptr)
        return nil_ok || (str->size == 0 && min == 0);
    return str->size >= min && str->size <= max && fed_text_valid (str->ptr, str->size);
}

static bool
s_degrees_ok (bool has, double value, double bound)
{
    return !has || (value >= -bound && value <= bound);
}

static bool
s_updates_ok (const fed_wire_updates_t *updates)
{
    if (updates->count > FED_WIRE_UPDATES_MAX)
        return false;
    for (uint32_t i = 0; i < updates->count; i++) {
        const fed_wire_update_t *update = &updates->items [i];
        if (!fed_wire_state_name (update->state)
            || !s_str_ok (&update->endpoint, 1, FED_WIRE_ENDPOINT_MAX, false)
            || !s_endpoint_ok (update->endpoint.ptr, update->endpoint.size)
            || !s_str_ok (&update->name, 1, FED_WIRE_NAME_MAX, false))
            return false;
    }
    return true;
}

static bool
s_hello_ok (const fed_wire_hello_t *hello)
{
    const fed_wire_location_t *location = &hello->location;
    if (!s_str_ok (&hello->name, 1, FED_WIRE_NAME_MAX, false)
        || !s_str_ok (&hello->endpoint, 1, FED_WIRE_ENDPOINT_MAX, false)
        || !s_endpoint_ok (hello->endpoint.ptr, hello->endpoint.size)
        || !s_str_ok (&hello->token, 1, FED_WIRE_TOKEN_MAX, true) || hello->protocol == 0
        || !s_str_ok (&location->region, 0, FED_WIRE_TAG_MAX, true)
        || !s_str_ok (&location->zone, 0, FED_WIRE_TAG_MAX, true)
        || !s_str_ok (&location->site, 0, FED_WIRE_TAG_MAX, true)
        || !s_degrees_ok (location->has_lat, location->lat, 90)
        || !s_degrees_ok (location->has_lon, location->lon, 180)
        || location->label_count > FED_WIRE_LABELS_MAX)
        return false;
    for (uint32_t i = 0; i < location->label_count; i++) {
        const fed_wire_label_t *label = &location->labels [i];
        if (!s_str_ok (&label->key, 1, FED_WIRE_TAG_MAX, false)
            || !s_str_ok (&label->value, 0, FED_WIRE_LABEL_VALUE_MAX, false))
            return false;
        for (uint32_t j = 0; j < i; j++)
            if (location->labels [j].key.size == label->key.size
                && memcmp (location->labels [j].key.ptr, label->key.ptr, label->key.size) == 0)
                return false;
    }
    return true;
}

static bool
s_msg_ok (const fed_wire_msg_t *msg)
{
    switch (msg->type) {
        case FED_WIRE_HELLO: return s_hello_ok (&msg->u.hello);
        case FED_WIRE_PING: return s_updates_ok (&msg->u.ping.updates);
        case FED_WIRE_ACK: return s_updates_ok (&msg->u.ack.updates);
        case FED_WIRE_PING_REQ: return s_updates_ok (&msg->u.ping_req.updates);
        case FED_WIRE_MEMBERS: return s_updates_ok (&msg->u.members.updates);
        case FED_WIRE_DIGEST: {
            const fed_wire_digest_t *digest = &msg->u.digest;
            if (digest->count > FED_WIRE_DIGEST_MAX)
                return false;
            for (uint32_t i = 0; i < digest->count; i++)
                if (digest->entries [i].seq == 0
                    || (i > 0
                        && memcmp (digest->entries [i - 1].origin, digest->entries [i].origin,
                                   FED_WIRE_KEY_BYTES)
                            >= 0))
                    return false;
            return true;
        }
        case FED_WIRE_EVENTS: {
            const fed_wire_events_t *events = &msg->u.events;
            if (events->count > FED_WIRE_EVENTS_MAX)
                return false;
            for (uint32_t i = 0; i < events->count; i++)
                if (events->events [i].size == 0 || events->events [i].size > UINT32_MAX)
                    return false;
            return true;
        }
        case FED_WIRE_WANT: return msg->u.want.from >= 1 && msg->u.want.from <= msg->u.want.to;
        case FED_WIRE_ERROR:
            return s_str_ok (&msg->u.error.code, 1, FED_WIRE_CODE_MAX, false)
                && s_str_ok (&msg->u.error.text, 0, FED_WIRE_TEXT_MAX, false);
        case FED_WIRE_BYE: return s_str_ok (&msg->u.bye.reason, 0, FED_WIRE_TEXT_MAX, true);
        default: return false; //  fed_wire_encode aborted on it already
    }
}

static void
s_pack_cstr (msgpack_packer *pk, const char *text)
{
    msgpack_pack_str_with_body (pk, text, strlen (text));
}

//  ptr NULL packs nil when nil_ok, else "".
static void
s_pack_str (msgpack_packer *pk, const fed_wire_str_t *str, bool nil_ok)
{
    if (str->ptr)
        msgpack_pack_str_with_body (pk, str->ptr, str->size);
    else if (nil_ok)
        msgpack_pack_nil (pk);
    else
        msgpack_pack_str (pk, 0);
}

static void
s_pack_key (msgpack_packer *pk, const char *name, const uint8_t key [FED_WIRE_KEY_BYTES])
{
    s_pack_cstr (pk, name);
    msgpack_pack_bin_with_body (pk, key, FED_WIRE_KEY_BYTES);
}

static void
s_pack_uint (msgpack_packer *pk, const char *name, uint64_t value)
{
    s_pack_cstr (pk, name);
    msgpack_pack_uint64 (pk, value);
}

static void
s_pack_degrees (msgpack_packer *pk, const char *name, bool has, double value)
{
    s_pack_cstr (pk, name);
    if (has)
        msgpack_pack_double (pk, value);
    else
        msgpack_pack_nil (pk);
}

static void
s_pack_updates (msgpack_packer *pk, const fed_wire_updates_t *updates)
{
    s_pack_cstr (pk, "updates");
    msgpack_pack_array (pk, updates->count);
    for (uint32_t i = 0; i < updates->count; i++) {
        const fed_wire_update_t *update = &updates->items [i];
        msgpack_pack_map (pk, 5);
        s_pack_key (pk, "node", update->node);
        s_pack_cstr (pk, "state");
        s_pack_cstr (pk, fed_wire_state_name (update->state));
        s_pack_uint (pk, "incarnation", update->incarnation);
        s_pack_cstr (pk, "endpoint");
        s_pack_str (pk, &update->endpoint, false);
        s_pack_cstr (pk, "name");
        s_pack_str (pk, &update->name, false);
    }
}

static void
s_pack_hello (msgpack_packer *pk, const fed_wire_hello_t *hello)
{
    const fed_wire_location_t *location = &hello->location;
    msgpack_pack_map (pk, hello->token.ptr ? 7 : 6);
    s_pack_key (pk, "id", hello->id);
    s_pack_cstr (pk, "name");
    s_pack_str (pk, &hello->name, false);
    s_pack_cstr (pk, "endpoint");
    s_pack_str (pk, &hello->endpoint, false);
    s_pack_cstr (pk, "location");
    msgpack_pack_map (pk, 6);
    s_pack_cstr (pk, "region");
    s_pack_str (pk, &location->region, true);
    s_pack_cstr (pk, "zone");
    s_pack_str (pk, &location->zone, true);
    s_pack_cstr (pk, "site");
    s_pack_str (pk, &location->site, true);
    s_pack_degrees (pk, "lat", location->has_lat, location->lat);
    s_pack_degrees (pk, "lon", location->has_lon, location->lon);
    s_pack_cstr (pk, "labels");
    msgpack_pack_map (pk, location->label_count);
    for (uint32_t i = 0; i < location->label_count; i++) {
        s_pack_str (pk, &location->labels [i].key, false);
        s_pack_str (pk, &location->labels [i].value, false);
    }
    s_pack_uint (pk, "protocol", hello->protocol);
    s_pack_uint (pk, "incarnation", hello->incarnation);
    if (hello->token.ptr) {
        s_pack_cstr (pk, "token");
        s_pack_str (pk, &hello->token, false);
    }
}

static void
s_pack_body (msgpack_packer *pk, const fed_wire_msg_t *msg)
{
    switch (msg->type) {
        case FED_WIRE_HELLO: s_pack_hello (pk, &msg->u.hello); break;
        case FED_WIRE_PING:
            msgpack_pack_map (pk, 3);
            s_pack_uint (pk, "seq", msg->u.ping.seq);
            s_pack_uint (pk, "incarnation", msg->u.ping.incarnation);
            s_pack_updates (pk, &msg->u.ping.updates);
            break;
        case FED_WIRE_ACK:
            msgpack_pack_map (pk, 2);
            s_pack_uint (pk, "seq", msg->u.ack.seq);
            s_pack_updates (pk, &msg->u.ack.updates);
            break;
        case FED_WIRE_PING_REQ:
            msgpack_pack_map (pk, 3);
            s_pack_uint (pk, "seq", msg->u.ping_req.seq);
            s_pack_key (pk, "target", msg->u.ping_req.target);
            s_pack_updates (pk, &msg->u.ping_req.updates);
            break;
        case FED_WIRE_MEMBERS:
            msgpack_pack_map (pk, 1);
            s_pack_updates (pk, &msg->u.members.updates);
            break;
        case FED_WIRE_DIGEST:
            msgpack_pack_map (pk, 1);
            s_pack_cstr (pk, "vv");
            msgpack_pack_array (pk, msg->u.digest.count);
            for (uint32_t i = 0; i < msg->u.digest.count; i++) {
                msgpack_pack_array (pk, 2);
                msgpack_pack_bin_with_body (pk, msg->u.digest.entries [i].origin,
                                            FED_WIRE_KEY_BYTES);
                msgpack_pack_uint64 (pk, msg->u.digest.entries [i].seq);
            }
            break;
        case FED_WIRE_EVENTS:
            msgpack_pack_map (pk, 1);
            s_pack_cstr (pk, "events");
            msgpack_pack_array (pk, msg->u.events.count);
            for (uint32_t i = 0; i < msg->u.events.count; i++)
                msgpack_pack_bin_with_body (pk, msg->u.events.events [i].data,
                                            msg->u.events.events [i].size);
            break;
        case FED_WIRE_WANT:
            msgpack_pack_map (pk, 3);
            s_pack_key (pk, "origin", msg->u.want.origin);
            s_pack_uint (pk, "from", msg->u.want.from);
            s_pack_uint (pk, "to", msg->u.want.to);
            break;
        case FED_WIRE_ERROR:
            msgpack_pack_map (pk, 2);
            s_pack_cstr (pk, "code");
            s_pack_str (pk, &msg->u.error.code, false);
            s_pack_cstr (pk, "text");
            s_pack_str (pk, &msg->u.error.text, false);
            break;
        default: //  FED_WIRE_BYE: s_msg_ok let nothing else through
            msgpack_pack_map (pk, msg->u.bye.reason.ptr ? 1 : 0);
            if (msg->u.bye.reason.ptr) {
                s_pack_cstr (pk, "reason");
                s_pack_str (pk, &msg->u.bye.reason, false);
            }
            break;
    }
}

int
fed_wire_encode (const fed_wire_msg_t *msg, msgpack_sbuffer *out)
{
    if (!fed_wire_type_name (msg->type)) {
        fprintf (stderr, "fed_wire_encode: message type %d is not a fed_wire_type_t\n",
                 (int) msg->type);
        abort ();
    }
    if (!s_msg_ok (msg))
        return -1;
    msgpack_packer pk;
    msgpack_packer_init (&pk, out, msgpack_sbuffer_write);
    msgpack_pack_array (&pk, 3);
    msgpack_pack_uint8 (&pk, FED_WIRE_VERSION);
    s_pack_cstr (&pk, fed_wire_type_name (msg->type));
    s_pack_body (&pk, msg);
    return 0;
}
