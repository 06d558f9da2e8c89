/*  proto/mpread.c: bounds-checked msgpack reading. See mpread.h for why
    nothing declared by the input is trusted before it is checked.
*/
#include "mpread.h"

#include <stdio.h>
#include <string.h>

const fed_mp_limits_t fed_mp_default_limits = {32, 1000000};

void
fed_mpr_init (fed_mpr_t *self, const void *data, size_t size)
{
    self->data = (const uint8_t *) data;
    self->size = size;
    self->pos = 0;
}

bool
fed_mpr_done (const fed_mpr_t *self)
{
    return self->pos >= self->size;
}

static size_t
s_left (const fed_mpr_t *self)
{
    return self->size - self->pos;
}

//  Reads an n-byte big-endian unsigned at pos+offset; caller checked bounds.
static uint64_t
s_be (const fed_mpr_t *self, size_t offset, int n)
{
    uint64_t value = 0;
    for (int i = 0; i < n; i++)
        value = (value << 8) | self->data [self->pos + offset + (size_t) i];
    return value;
}

fed_mp_type_t
fed_mpr_peek (const fed_mpr_t *self)
{
    if (s_left (self) == 0)
        return FED_MP_NONE;
    uint8_t b = self->data [self->pos];
    if (b <= 0x7f || b == 0xcc || b == 0xcd || b == 0xce || b == 0xcf)
        return FED_MP_UINT;
    if (b >= 0xe0 || (b >= 0xd0 && b <= 0xd3))
        return FED_MP_INT;
    if ((b >= 0xa0 && b <= 0xbf) || (b >= 0xd9 && b <= 0xdb))
        return FED_MP_STR;
    if ((b >= 0x90 && b <= 0x9f) || b == 0xdc || b == 0xdd)
        return FED_MP_ARRAY;
    if ((b >= 0x80 && b <= 0x8f) || b == 0xde || b == 0xdf)
        return FED_MP_MAP;
    switch (b) {
        case 0xc0: return FED_MP_NIL;
        case 0xc2:
        case 0xc3: return FED_MP_BOOL;
        case 0xc4:
        case 0xc5:
        case 0xc6: return FED_MP_BIN;
        case 0xca:
        case 0xcb: return FED_MP_FLOAT;
        case 0xc7:
        case 0xc8:
        case 0xc9:
        case 0xd4:
        case 0xd5:
        case 0xd6:
        case 0xd7:
        case 0xd8: return FED_MP_EXT;
        default: return FED_MP_NONE;
    }
}

const char *
fed_mp_type_name (fed_mp_type_t type)
{
    static const char *names [] = {"nothing", "nil", "bool",  "uint", "int", "float",
                                   "str",     "bin", "array", "map",  "ext"};
    return (unsigned) type < sizeof names / sizeof names [0] ? names [type] : "?";
}

//  Reads a container header: fix form (mask) or 16/32-bit form. per_item is
//  the minimum bytes each declared element occupies (1 for arrays, 2 for maps).
static int
s_container (fed_mpr_t *self, uint8_t fix_lo, uint8_t fix_hi, uint8_t b16, uint8_t b32,
             size_t per_item, uint32_t *count)
{
    if (s_left (self) < 1)
        return FED_MALFORMED;
    uint8_t b = self->data [self->pos];
    size_t header;
    uint64_t n;
    if (b >= fix_lo && b <= fix_hi) {
        header = 1;
        n = b & 0x0f;
    } else if (b == b16 && s_left (self) >= 3) {
        header = 3;
        n = s_be (self, 1, 2);
    } else if (b == b32 && s_left (self) >= 5) {
        header = 5;
        n = s_be (self, 1, 4);
    } else
        return FED_MALFORMED;
    if (n > (s_left (self) - header) / per_item)
        return FED_MALFORMED; //  declares more elements than bytes remain
    self->pos += header;
    *count = (uint32_t) n;
    return 0;
}

int
fed_mpr_array (fed_mpr_t *self, uint32_t *count)
{
    return s_container (self, 0x90, 0x9f, 0xdc, 0xdd, 1, count);
}

int
fed_mpr_map (fed_mpr_t *self, uint32_t *count)
{
    return s_container (self, 0x80, 0x8f, 0xde, 0xdf, 2, count);
}

int
fed_mpr_uint (fed_mpr_t *self, uint64_t *value)
{
    if (s_left (self) < 1)
        return FED_MALFORMED;
    uint8_t b = self->data [self->pos];
    if (b <= 0x7f) {
        *value = b;
        self->pos += 1;
        return 0;
    }
    int width = b == 0xcc ? 1 : b == 0xcd ? 2 : b == 0xce ? 4 : b == 0xcf ? 8 : 0;
    if (!width || s_left (self) < (size_t) width + 1)
        return FED_MALFORMED;
    *value = s_be (self, 1, width);
    self->pos += (size_t) width + 1;
    return 0;
}

int
fed_mpr_int (fed_mpr_t *self, int64_t *value)
{
    if (s_left (self) < 1)
        return FED_MALFORMED;
    uint8_t b = self->data [self->pos];
    if (fed_mpr_peek (self) == FED_MP_UINT) {
        fed_mpr_t probe = *self;
        uint64_t u;
        if (fed_mpr_uint (&probe, &u) || u > (uint64_t) INT64_MAX)
            return FED_MALFORMED;
        *value = (int64_t) u;
        *self = probe;
        return 0;
    }
    if (b >= 0xe0) {
        *value = (int8_t) b;
        self->pos += 1;
        return 0;
    }
    int width = b == 0xd0 ? 1 : b == 0xd1 ? 2 : b == 0xd2 ? 4 : b == 0xd3 ? 8 : 0;
    if (!width || s_left (self) < (size_t) width + 1)
        return FED_MALFORMED;
    uint64_t raw = s_be (self, 1, width);
    //  Sign-extend from width bytes.
    int shift = 64 - 8 * width;
    *value = (int64_t) (raw << shift) >> shift;
    self->pos += (size_t) width + 1;
    return 0;
}

int
fed_mpr_bool (fed_mpr_t *self, bool *value)
{
    if (s_left (self) < 1)
        return FED_MALFORMED;
    uint8_t b = self->data [self->pos];
    if (b != 0xc2 && b != 0xc3)
        return FED_MALFORMED;
    *value = b == 0xc3;
    self->pos += 1;
    return 0;
}

int
fed_mpr_nil (fed_mpr_t *self)
{
    if (s_left (self) < 1 || self->data [self->pos] != 0xc0)
        return FED_MALFORMED;
    self->pos += 1;
    return 0;
}

int
fed_mpr_double (fed_mpr_t *self, double *value)
{
    if (s_left (self) < 1)
        return FED_MALFORMED;
    uint8_t b = self->data [self->pos];
    if (b == 0xca && s_left (self) >= 5) {
        uint32_t bits = (uint32_t) s_be (self, 1, 4);
        float f;
        memcpy (&f, &bits, 4);
        *value = f;
        self->pos += 5;
        return 0;
    }
    if (b == 0xcb && s_left (self) >= 9) {
        uint64_t bits = s_be (self, 1, 8);
        memcpy (value, &bits, 8);
        self->pos += 9;
        return 0;
    }
    int64_t i;
    if (fed_mpr_int (self, &i) == 0) {
        *value = (double) i;
        return 0;
    }
    uint64_t u;
    if (fed_mpr_uint (self, &u) == 0) {
        *value = (double) u;
        return 0;
    }
    return FED_MALFORMED;
}

//  Reads a str or bin header whose short forms are given; checks the payload
//  fits in the input.
static int
s_blob (fed_mpr_t *self, bool is_str, const uint8_t **ptr, uint32_t *len)
{
    if (s_left (self) < 1)
        return FED_MALFORMED;
    uint8_t b = self->data [self->pos];
    size_t header;
    uint64_t n;
    if (is_str && b >= 0xa0 && b <= 0xbf) {
        header = 1;
        n = b & 0x1f;
    } else if (b == (is_str ? 0xd9 : 0xc4) && s_left (self) >= 2) {
        header = 2;
        n = s_be (self, 1, 1);
    } else if (b == (is_str ? 0xda : 0xc5) && s_left (self) >= 3) {
        header = 3;
        n = s_be (self, 1, 2);
    } else if (b == (is_str ? 0xdb : 0xc6) && s_left (self) >= 5) {
        header = 5;
        n = s_be (self, 1, 4);
    } else
        return FED_MALFORMED;
    if (n > s_left (self) - header)
        return FED_MALFORMED;
    *ptr = self->data + self->pos + header;
    *len = (uint32_t) n;
    self->pos += header + (size_t) n;
    return 0;
}

int
fed_mpr_str (fed_mpr_t *self, const char **ptr, uint32_t *len)
{
    return s_blob (self, true, (const uint8_t **) ptr, len);
}

int
fed_mpr_bin (fed_mpr_t *self, const uint8_t **ptr, uint32_t *len)
{
    return s_blob (self, false, ptr, len);
}

//  Skips one object; depth counts containers already open around it;
//  *objects counts every object seen so far in the walk.
static int
s_skip (fed_mpr_t *self, const fed_mp_limits_t *limits, uint32_t depth, uint64_t *objects)
{
    if (++*objects > limits->max_objects)
        return FED_MALFORMED;
    const uint8_t *ptr;
    uint32_t len, count;
    uint64_t u;
    int64_t i;
    double d;
    bool flag;
    switch (fed_mpr_peek (self)) {
        case FED_MP_NIL: return fed_mpr_nil (self);
        case FED_MP_BOOL: return fed_mpr_bool (self, &flag);
        case FED_MP_UINT: return fed_mpr_uint (self, &u);
        case FED_MP_INT: return fed_mpr_int (self, &i);
        case FED_MP_FLOAT: return fed_mpr_double (self, &d);
        case FED_MP_STR: return fed_mpr_str (self, (const char **) &ptr, &len);
        case FED_MP_BIN: return fed_mpr_bin (self, &ptr, &len);
        case FED_MP_EXT: {
            uint8_t b = self->data [self->pos];
            size_t header;
            uint64_t n;
            if (b >= 0xd4 && b <= 0xd8) {
                header = 2;
                n = (uint64_t) 1 << (b - 0xd4);
            } else {
                int width = b == 0xc7 ? 1 : b == 0xc8 ? 2 : 4;
                if (s_left (self) < (size_t) width + 2)
                    return FED_MALFORMED;
                n = s_be (self, 1, width);
                header = (size_t) width + 2;
            }
            if (s_left (self) < header || n > s_left (self) - header)
                return FED_MALFORMED;
            self->pos += header + (size_t) n;
            return 0;
        }
        case FED_MP_ARRAY:
        case FED_MP_MAP: {
            if (depth >= limits->max_depth)
                return FED_MALFORMED;
            bool is_map = fed_mpr_peek (self) == FED_MP_MAP;
            if ((is_map ? fed_mpr_map (self, &count) : fed_mpr_array (self, &count)))
                return FED_MALFORMED;
            uint64_t items = is_map ? 2 * (uint64_t) count : count;
            for (uint64_t k = 0; k < items; k++)
                if (s_skip (self, limits, depth + 1, objects))
                    return FED_MALFORMED;
            return 0;
        }
        default: return FED_MALFORMED;
    }
}

int
fed_mpr_skip (fed_mpr_t *self, const fed_mp_limits_t *limits)
{
    fed_mpr_t probe = *self;
    uint64_t objects = 0;
    if (s_skip (&probe, limits ? limits : &fed_mp_default_limits, 0, &objects))
        return FED_MALFORMED;
    *self = probe;
    return 0;
}

int
fed_mp_check (const void *data, size_t size, const fed_mp_limits_t *limits, char *why,
              size_t why_size)
{
    fed_mpr_t reader;
    fed_mpr_init (&reader, data, size);
    uint64_t objects = 0;
    const fed_mp_limits_t *caps = limits ? limits : &fed_mp_default_limits;
    if (s_skip (&reader, caps, 0, &objects)) {
        if (why) {
            if (objects > caps->max_objects)
                snprintf (why, why_size, "more than %u objects", caps->max_objects);
            else
                snprintf (why, why_size,
                          "malformed msgpack near byte %zu (truncated, length beyond input, "
                          "reserved byte, or nested deeper than %u)",
                          reader.pos, caps->max_depth);
        }
        return FED_MALFORMED;
    }
    if (!fed_mpr_done (&reader)) {
        if (why)
            snprintf (why, why_size, "%zu trailing bytes after the object", size - reader.pos);
        return FED_MALFORMED;
    }
    return 0;
}

int
fed_mp_unpack (const void *data, size_t size, const fed_mp_limits_t *limits, msgpack_zone *zone,
               msgpack_object *object)
{
    if (fed_mp_check (data, size, limits, NULL, 0))
        return FED_MALFORMED;
    size_t offset = 0;
    msgpack_unpack_return rc = msgpack_unpack ((const char *) data, size, &offset, zone, object);
    return rc == MSGPACK_UNPACK_SUCCESS ? 0 : FED_MALFORMED;
}
