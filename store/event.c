/*  store/event.c: encode, sign, decode and verify events.

    Decoding reads through the bounds-checked cursor (proto/mpread.h) and
    checks fields cheapest first; nothing the input declares is trusted
    before it is checked against the bytes present and the limits.
*/
#include "event.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

struct fed_event_t {
    uint8_t *bytes;               //  the exact encoded (and signed) bytes, owned
    size_t size;                  //  bytes in bytes
    uint8_t id [FED_ID_BYTES];    //  BLAKE2b-256 of bytes
    const uint8_t *origin;        //  into bytes: 32-byte ed25519 public key
    uint64_t seq;                 //  1, 2, 3 … per origin
    const uint8_t *prev;          //  into bytes: id of the origin's previous event
    uint64_t hlc;                 //  hybrid logical clock
    char type [FED_TYPE_MAX + 1]; //  NUL-terminated copy of the type
    const uint8_t *body;          //  into bytes: one msgpack map
    size_t body_size;             //  bytes in body
    const uint8_t *sig;           //  into bytes: 64-byte signature
};

const fed_event_limits_t fed_event_default_limits = {1024 * 1024, {32, 1000000}};

static const uint8_t s_zero_prev [FED_ID_BYTES] = {0};

const char *
fed_event_status_name (fed_event_status_t status)
{
    static const char *names [FED_EVENT_REASONS] = {
        "ok",        "malformed",   "too_large",     "version",
        "untrusted", "quarantined", "bad_signature", "bad_prev",
        "fork",      "duplicate",   "buffered",      "overflow"};
    return (unsigned) status < FED_EVENT_REASONS ? names [status] : "unknown";
}

bool
fed_event_type_valid (const char *type, size_t size)
{
    if (size == 0 || size > FED_TYPE_MAX)
        return false;
    char previous = '.';
    for (size_t i = 0; i < size; i++) {
        char c = type [i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && c != '.' && c != '_' && c != '-')
            return false;
        if (previous == '.' && !alnum)
            return false; //  starts with, or has a part starting with, a non-alnum
        previous = c;
    }
    return previous != '.';
}

void
fed_event_hash (const void *data, size_t size, uint8_t id [32])
{
    crypto_generichash (id, FED_ID_BYTES, (const unsigned char *) data, size, NULL, 0);
}

//  Appends a msgpack uint in its smallest form; returns bytes written.
static size_t
s_put_uint (uint8_t *dst, uint64_t value)
{
    if (value <= 0x7f) {
        dst [0] = (uint8_t) value;
        return 1;
    }
    int width = value <= 0xff ? 1 : value <= 0xffff ? 2 : value <= 0xffffffffu ? 4 : 8;
    dst [0] = width == 1 ? 0xcc : width == 2 ? 0xcd : width == 4 ? 0xce : 0xcf;
    for (int i = 0; i < width; i++)
        dst [1 + i] = (uint8_t) (value >> (8 * (width - 1 - i)));
    return 1 + (size_t) width;
}

static size_t
s_put_bin (uint8_t *dst, const uint8_t *src, uint8_t size)
{
    dst [0] = 0xc4;
    dst [1] = size;
    memcpy (dst + 2, src, size);
    return 2 + (size_t) size;
}

fed_event_t *
fed_event_sign (const uint8_t secret [64], const uint8_t origin [32], uint64_t seq,
                const uint8_t prev [32], uint64_t hlc, const char *type, const void *body,
                size_t body_size, const fed_event_limits_t *limits, fed_err_t *err)
{
    const fed_event_limits_t *caps = limits ? limits : &fed_event_default_limits;
    static const uint8_t empty_map [] = {0x80};
    if (!body || body_size == 0) {
        body = empty_map;
        body_size = 1;
    }
    size_t type_size = strlen (type);
    if (!fed_event_type_valid (type, type_size)) {
        fed_err_set (err, FED_EVENT_MALFORMED,
                     "event type '%.80s' is invalid: expected 1..%d chars of [A-Za-z0-9._-] "
                     "in dotted parts, like 'user.deploy'",
                     type, FED_TYPE_MAX);
        return NULL;
    }
    if (seq == 0) {
        fed_err_set (err, FED_EVENT_MALFORMED, "event seq must be 1 or more");
        return NULL;
    }
    if (body_size > caps->max_body) {
        fed_err_set (err, FED_EVENT_TOO_LARGE,
                     "event body is %zu bytes, over the limit of %llu (config limits.event_body)",
                     body_size, (unsigned long long) caps->max_body);
        return NULL;
    }
    char why [160] = "not a map";
    fed_mpr_t probe;
    fed_mpr_init (&probe, body, body_size);
    if (fed_mpr_peek (&probe) != FED_MP_MAP
        || fed_mp_check (body, body_size, &caps->body, why, sizeof why)) {
        fed_err_set (err, FED_EVENT_MALFORMED, "event body must be one msgpack map (%s)", why);
        return NULL;
    }
    fed_event_t *self = (fed_event_t *) fed_calloc (1, sizeof (fed_event_t));
    self->bytes = (uint8_t *) fed_malloc (body_size + FED_EVENT_OVERHEAD);
    uint8_t *p = self->bytes;
    *p++ = 0x98;
    *p++ = FED_EVENT_VERSION;
    p += s_put_bin (p, origin, FED_KEY_BYTES);
    p += s_put_uint (p, seq);
    p += s_put_bin (p, prev ? prev : s_zero_prev, FED_ID_BYTES);
    p += s_put_uint (p, hlc);
    if (type_size <= 31)
        *p++ = (uint8_t) (0xa0 | type_size);
    else {
        *p++ = 0xd9;
        *p++ = (uint8_t) type_size;
    }
    memcpy (p, type, type_size);
    p += type_size;
    memcpy (p, body, body_size);
    p += body_size;
    size_t signed_size = (size_t) (p - self->bytes);
    *p++ = 0xc4;
    *p++ = FED_SIG_BYTES;
    crypto_sign_detached (p, NULL, self->bytes, signed_size, secret);
    p += FED_SIG_BYTES;
    self->size = (size_t) (p - self->bytes);

    //  Point the fields into the bytes by decoding them: one code path for
    //  field access whether the event was made here or received.
    fed_event_t *decoded = NULL;
    int rc = fed_event_decode_owned (&self->bytes, self->size, caps, &decoded, err);
    free (self);
    return rc == 0 ? decoded : NULL;
}

//  Reads a bin field of exactly size bytes in the 8-bit form.
static int
s_read_key (fed_mpr_t *reader, size_t size, const uint8_t **ptr)
{
    if (reader->pos + 2 > reader->size || reader->data [reader->pos] != 0xc4
        || reader->data [reader->pos + 1] != size)
        return FED_MALFORMED;
    uint32_t len;
    if (fed_mpr_bin (reader, ptr, &len))
        return FED_MALFORMED;
    return 0;
}

//  Decodes into self, whose bytes/size are set. 0 or FED_MALFORMED + err.
static int
s_decode (fed_event_t *self, const fed_event_limits_t *caps, fed_err_t *err)
{
    if (self->size > caps->max_body + FED_EVENT_OVERHEAD) {
        fed_err_set (err, FED_EVENT_TOO_LARGE,
                     "event is %zu bytes, over the limit of %llu body bytes "
                     "(config limits.event_body) plus %d of fields",
                     self->size, (unsigned long long) caps->max_body, FED_EVENT_OVERHEAD);
        return FED_MALFORMED;
    }
    fed_mpr_t reader;
    fed_mpr_init (&reader, self->bytes, self->size);
    uint32_t count;
    uint64_t version;
    if (fed_mpr_array (&reader, &count) || count < 1) {
        fed_err_set (err, FED_EVENT_MALFORMED, "event is not a msgpack array");
        return FED_MALFORMED;
    }
    if (fed_mpr_uint (&reader, &version)) {
        fed_err_set (err, FED_EVENT_MALFORMED, "event field 'v' is not an unsigned integer");
        return FED_MALFORMED;
    }
    if (version != FED_EVENT_VERSION) {
        fed_err_set (err, FED_EVENT_BAD_VERSION,
                     "event format version %llu is not supported (this node reads version %d)",
                     (unsigned long long) version, FED_EVENT_VERSION);
        return FED_MALFORMED;
    }
    if (count != 8 || self->bytes [0] != 0x98) {
        fed_err_set (err, FED_EVENT_MALFORMED, "event must be a fixarray of 8 fields, got %u",
                     count);
        return FED_MALFORMED;
    }
    const char *field = "origin";
    if (s_read_key (&reader, FED_KEY_BYTES, &self->origin))
        goto malformed;
    field = "seq";
    if (fed_mpr_uint (&reader, &self->seq) || self->seq == 0)
        goto malformed;
    field = "prev";
    if (s_read_key (&reader, FED_ID_BYTES, &self->prev))
        goto malformed;
    if (self->seq == 1 && memcmp (self->prev, s_zero_prev, FED_ID_BYTES) != 0)
        goto malformed;
    field = "hlc";
    if (fed_mpr_uint (&reader, &self->hlc))
        goto malformed;
    field = "type";
    const char *type;
    uint32_t type_size;
    if (fed_mpr_str (&reader, &type, &type_size) || !fed_event_type_valid (type, type_size))
        goto malformed;
    memcpy (self->type, type, type_size);
    self->type [type_size] = 0;
    field = "body";
    if (fed_mpr_peek (&reader) != FED_MP_MAP)
        goto malformed;
    size_t body_start = reader.pos;
    if (fed_mpr_skip (&reader, &caps->body))
        goto malformed;
    self->body = self->bytes + body_start;
    self->body_size = reader.pos - body_start;
    if (self->body_size > caps->max_body) {
        fed_err_set (err, FED_EVENT_TOO_LARGE,
                     "event body is %zu bytes, over the limit of %llu (config limits.event_body)",
                     self->body_size, (unsigned long long) caps->max_body);
        return FED_MALFORMED;
    }
    field = "sig";
    if (s_read_key (&reader, FED_SIG_BYTES, &self->sig))
        goto malformed;
    if (!fed_mpr_done (&reader)) {
        fed_err_set (err, FED_EVENT_MALFORMED, "event has %zu trailing bytes after 'sig'",
                     self->size - reader.pos);
        return FED_MALFORMED;
    }
    fed_event_hash (self->bytes, self->size, self->id);
    return 0;

malformed:
    if (strcmp (field, "prev") == 0 && self->seq == 1 && self->prev)
        fed_err_set (err, FED_EVENT_MALFORMED, "event field 'prev' must be zeros when seq is 1");
    else
        fed_err_set (err, FED_EVENT_MALFORMED,
                     "event field '%s' at byte %zu is missing or has the wrong type or size "
                     "(see doc/protocol.md, Events)",
                     field, reader.pos);
    return FED_MALFORMED;
}

int
fed_event_decode_owned (uint8_t **data_p, size_t size, const fed_event_limits_t *limits,
                        fed_event_t **event_p, fed_err_t *err)
{
    fed_event_t *self = (fed_event_t *) fed_calloc (1, sizeof (fed_event_t));
    self->bytes = *data_p;
    self->size = size;
    *data_p = NULL;
    if (s_decode (self, limits ? limits : &fed_event_default_limits, err)) {
        fed_event_destroy (&self);
        return FED_MALFORMED;
    }
    *event_p = self;
    return 0;
}

int
fed_event_decode (const void *data, size_t size, const fed_event_limits_t *limits,
                  fed_event_t **event_p, fed_err_t *err)
{
    const fed_event_limits_t *caps = limits ? limits : &fed_event_default_limits;
    //  Refuse oversized input before copying it.
    if (size > caps->max_body + FED_EVENT_OVERHEAD) {
        fed_err_set (err, FED_EVENT_TOO_LARGE,
                     "event is %zu bytes, over the limit of %llu body bytes "
                     "(config limits.event_body) plus %d of fields",
                     size, (unsigned long long) caps->max_body, FED_EVENT_OVERHEAD);
        return FED_MALFORMED;
    }
    uint8_t *copy = (uint8_t *) fed_malloc (size);
    memcpy (copy, data, size);
    return fed_event_decode_owned (&copy, size, caps, event_p, err);
}

bool
fed_event_verify (const fed_event_t *self)
{
    size_t signed_size = self->size - (FED_SIG_BYTES + 2);
    return crypto_sign_verify_detached (self->sig, self->bytes, signed_size, self->origin) == 0;
}

fed_event_t *
fed_event_dup (const fed_event_t *self)
{
    fed_event_t *copy = (fed_event_t *) fed_malloc (sizeof (fed_event_t));
    *copy = *self;
    copy->bytes = (uint8_t *) fed_malloc (self->size);
    memcpy (copy->bytes, self->bytes, self->size);
    //  Re-point the fields into the new bytes.
    copy->origin = copy->bytes + (self->origin - self->bytes);
    copy->prev = copy->bytes + (self->prev - self->bytes);
    copy->body = copy->bytes + (self->body - self->bytes);
    copy->sig = copy->bytes + (self->sig - self->bytes);
    return copy;
}

void
fed_event_destroy (fed_event_t **self_p)
{
    if (self_p && *self_p) {
        free ((*self_p)->bytes);
        free (*self_p);
        *self_p = NULL;
    }
}

const uint8_t *
fed_event_bytes (const fed_event_t *self)
{
    return self->bytes;
}
size_t
fed_event_size (const fed_event_t *self)
{
    return self->size;
}
const uint8_t *
fed_event_id (const fed_event_t *self)
{
    return self->id;
}
const uint8_t *
fed_event_origin (const fed_event_t *self)
{
    return self->origin;
}
uint64_t
fed_event_seq (const fed_event_t *self)
{
    return self->seq;
}
const uint8_t *
fed_event_prev (const fed_event_t *self)
{
    return self->prev;
}
uint64_t
fed_event_hlc (const fed_event_t *self)
{
    return self->hlc;
}
const char *
fed_event_type (const fed_event_t *self)
{
    return self->type;
}
const uint8_t *
fed_event_body (const fed_event_t *self)
{
    return self->body;
}
size_t
fed_event_body_size (const fed_event_t *self)
{
    return self->body_size;
}
const uint8_t *
fed_event_sig (const fed_event_t *self)
{
    return self->sig;
}
