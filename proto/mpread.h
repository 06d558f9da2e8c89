/*  proto/mpread.h: a bounds-checked msgpack reader.

    msgpack-c trusts declared lengths: a 5-byte input that declares a
    4-billion-element array makes it try to allocate gigabytes. Every
    fednode decoder therefore reads through this cursor, which checks each
    declared length against the bytes remaining before reading, and, before
    any msgpack-c call, validates a whole object with fed_mp_check (depth and
    object-count caps, every length within the input).

    Readers return 0 on success and FED_MALFORMED (-2) when the next object
    is missing, truncated or of another type; on failure the cursor does not
    move, so a caller may try another type.
*/
#ifndef FED_MPREAD_H_INCLUDED
#define FED_MPREAD_H_INCLUDED

#include <msgpack.h>
#include "util.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    const uint8_t *data; //  input, not owned
    size_t size;         //  bytes in data
    size_t pos;          //  next byte to read
} fed_mpr_t;

//  Caps for fed_mp_check and fed_mpr_skip.
typedef struct {
    uint32_t max_depth;   //  containers nested deeper than this are refused
    uint32_t max_objects; //  total objects (containers count as one each)
} fed_mp_limits_t;

//  Default caps: depth 32, 1,000,000 objects.
extern const fed_mp_limits_t fed_mp_default_limits;

typedef enum {
    FED_MP_NONE = 0, //  end of input or a reserved byte (0xc1)
    FED_MP_NIL,
    FED_MP_BOOL,
    FED_MP_UINT,
    FED_MP_INT,
    FED_MP_FLOAT,
    FED_MP_STR,
    FED_MP_BIN,
    FED_MP_ARRAY,
    FED_MP_MAP,
    FED_MP_EXT
} fed_mp_type_t;

//  Starts reading size bytes at data. The reader does not copy or own data.
void fed_mpr_init (fed_mpr_t *self, const void *data, size_t size);
//  True when every byte has been read.
bool fed_mpr_done (const fed_mpr_t *self);
//  Type of the next object without consuming it (FED_MP_UINT for positive
//  ints, FED_MP_INT for negative ones).
fed_mp_type_t fed_mpr_peek (const fed_mpr_t *self);
//  Human name of a type ("map", "str", …) for error messages.
const char *fed_mp_type_name (fed_mp_type_t type);

//  Container headers. *count is checked against remaining bytes (at least one
//  byte per element) so it is safe to loop on.
int fed_mpr_array (fed_mpr_t *self, uint32_t *count) FED_MUST_USE;
int fed_mpr_map (fed_mpr_t *self, uint32_t *count) FED_MUST_USE;
//  Non-negative integer of any width.
int fed_mpr_uint (fed_mpr_t *self, uint64_t *value) FED_MUST_USE;
//  Signed integer; a uint above INT64_MAX is malformed.
int fed_mpr_int (fed_mpr_t *self, int64_t *value) FED_MUST_USE;
int fed_mpr_bool (fed_mpr_t *self, bool *value) FED_MUST_USE;
int fed_mpr_nil (fed_mpr_t *self) FED_MUST_USE;
//  float 32 or 64, or any integer, as a double.
int fed_mpr_double (fed_mpr_t *self, double *value) FED_MUST_USE;
//  String or binary: *ptr points into the input (not NUL-terminated).
int fed_mpr_str (fed_mpr_t *self, const char **ptr, uint32_t *len) FED_MUST_USE;
int fed_mpr_bin (fed_mpr_t *self, const uint8_t **ptr, uint32_t *len) FED_MUST_USE;
//  Skips one whole object within limits (NULL for the defaults).
int fed_mpr_skip (fed_mpr_t *self, const fed_mp_limits_t *limits) FED_MUST_USE;

//  Checks that data holds exactly one msgpack object within limits (NULL for
//  the defaults): every length fits in the input, nesting and object count
//  under the caps, no reserved bytes, no trailing bytes. Returns 0, or -2 and,
//  if why is given, a short reason (with the byte offset) in why.
int fed_mp_check (const void *data, size_t size, const fed_mp_limits_t *limits, char *why,
                  size_t why_size) FED_MUST_USE;

//  fed_mp_check, then msgpack_unpack into zone. Returns 0 or -2. The object
//  lives in zone, which the caller owns.
int fed_mp_unpack (const void *data, size_t size, const fed_mp_limits_t *limits, msgpack_zone *zone,
                   msgpack_object *object) FED_MUST_USE;

#ifdef __cplusplus
}
#endif
#endif
