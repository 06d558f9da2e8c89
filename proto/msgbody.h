/*  proto/msgbody.h: the keyed-map message body reader both protocols use.

    The peer protocol (doc/protocol.md §4.2) and the agent protocol (§5.2,
    which reuses §4.2's rules) frame every message the same way: a msgpack
    array [version, type, body] whose body is a map with str keys, a listed
    key at most once, required keys present, unknown keys skipped under a
    16-level nesting cap, no trailing bytes. This module is that shared
    skeleton: the envelope, the map walker that reads a body (or a map
    inside one) through a table of keys, and the scalar field readers. The
    codecs (proto/wire.c, proto/agentwire.c) keep their message types, their
    field tables and readers, and every rule of their own.

    Ownership: nothing here allocates. A decode's context (fed_mb_t) lives
    on the codec's stack; strings and bytes the readers return point into
    the frame. Everything is bounds-checked through proto/mpread.h and no
    state is kept, so any thread may use it.

    Failures: every reader returns 0, or FED_MALFORMED with the reason (as
    the codec's own drop code) and a text in ctx->err. The texts follow one
    pattern, which the tests and the operators' logs rely on byte for byte:
    "WHERE: 'FIELD' must be KIND, got TYPE", "WHERE: 'FIELD' is truncated",
    "WHERE: 'FIELD' is N bytes, over the limit of MAX". WHERE is the
    message type ("PING") or a path to a map inside it ("READY agents[0]");
    TYPE is fed_mb_got's name of what stands there instead; untrusted text
    is shown only through fed_mb_printable.
*/
#ifndef FED_MSGBODY_H_INCLUDED
#define FED_MSGBODY_H_INCLUDED

#include "mpread.h"

#ifdef __cplusplus
extern "C" {
#endif

//  Nesting cap of both protocols, the envelope array being level 1.
#define FED_MB_DEPTH_MAX 16
//  A buffer for fed_mb_printable: 32 bytes shown, "...", NUL, rounded up.
#define FED_MB_SHOWN_SIZE 40

//  Why a frame is refused, in the words of §4.2. fed_mb_proto_t maps each
//  to the codec's own drop code, which is what err->code carries.
typedef enum {
    FED_MB_MALFORMED = 0, //  wrong type, missing or repeated key, truncated…
    FED_MB_VERSION,       //  an envelope version the codec does not speak
    FED_MB_TYPE,          //  a message type the codec does not know
    FED_MB_LIMIT,         //  a size, count or nesting over a limit
    FED_MB_REASONS        //  number of reasons; not a reason
} fed_mb_reason_t;

//  What a codec tells the shared reader about its protocol. Static and
//  constant in the codec; the texts make the envelope errors its own.
typedef struct {
    const char *message;           //  "a peer message": what an envelope is
    const char *speaker;           //  "this node": who speaks the version
    uint64_t version;              //  the envelope version spoken
    const char *const *type_names; //  index 1 .. type_count - 1; 0 unused
    int type_count;                //  number of types + 1
    const char *map_keys;          //  "string" (peer) or "str" (agent), as the texts always were
    int drops [FED_MB_REASONS];    //  err->code for each fed_mb_reason_t
} fed_mb_proto_t;

//  One decode in progress.
typedef struct {
    const fed_mb_proto_t *proto; //  the codec's, borrowed
    fed_err_t *err;              //  the caller's, or NULL
    void *msg;                   //  the codec's message being filled
} fed_mb_t;

//  Reads the value of key number index of a map into target; where names
//  the map for errors. Returns 0 or FED_MALFORMED (after fed_mb_fail).
typedef int (fed_mb_field_fn) (fed_mb_t *ctx, fed_mpr_t *reader, const char *where, int index,
                               void *target);

//  One map: its name for "must be a map" ("PING body"), the prefix of its
//  fields' errors ("PING"), its nesting level (a body is 2), its keys
//  (NULL-terminated, at most 32) and a bit per required key.
typedef struct {
    const char *name;
    const char *where;
    int level;
    const char *const *keys;
    uint32_t required;
} fed_mb_map_t;

//  A message type's body: the key table, required bits and field reader
//  fed_mb_body walks it with. field may be NULL when keys is empty.
typedef struct {
    const char *const *keys;
    uint32_t required;
    fed_mb_field_fn *field;
} fed_mb_body_t;

//  Records why the frame is dropped in ctx->err (if any): the codec's code
//  for reason and the formatted text. Always returns FED_MALFORMED, for the
//  caller to pass up.
int fed_mb_fail (fed_mb_t *ctx, fed_mb_reason_t reason, const char *format, ...)
    FED_PRINTF (3, 4) FED_MUST_USE;

//  Name of what the reader stands on, for "got …": a msgpack type name,
//  "the end of the frame" or "a reserved byte". Static string.
const char *fed_mb_got (const fed_mpr_t *reader);

//  Copies up to 32 bytes of untrusted text into buf (FED_MB_SHOWN_SIZE
//  bytes) with anything outside printable ASCII as '?' and "..." after a
//  longer text. Returns buf.
const char *fed_mb_printable (char *buf, const char *ptr, uint32_t size);

//  Reads the envelope up to the body: an array of 3, the version, a known
//  type name. Sets *type (1 .. type_count - 1). Fails as version, type or
//  malformed, in that order of checks.
int fed_mb_envelope (fed_mb_t *ctx, fed_mpr_t *reader, int *type) FED_MUST_USE;

//  Walks the body of type (level 2, named "TYPE body", errors prefixed
//  "TYPE") with body's table, calling body->field for each listed key.
int fed_mb_body (fed_mb_t *ctx, fed_mpr_t *reader, int type, const fed_mb_body_t *body,
                 void *target) FED_MUST_USE;

//  Fails unless the frame is read to its end ("TYPE: N trailing bytes").
int fed_mb_end (fed_mb_t *ctx, const fed_mpr_t *reader, int type) FED_MUST_USE;

//  Reads one map: refuses a non-str key or a listed key twice, calls field
//  for each listed key, skips an unknown key's value within the nesting cap
//  left below map->level, and at the end refuses a missing required key.
int fed_mb_walk (fed_mb_t *ctx, fed_mpr_t *reader, const fed_mb_map_t *map, fed_mb_field_fn *field,
                 void *target) FED_MUST_USE;

//  Skips one value whose containers may use depth more levels; what names
//  it in errors ("'location'"). Too deep is limit, anything else malformed.
int fed_mb_skip (fed_mb_t *ctx, fed_mpr_t *reader, const char *where, const char *what,
                 uint32_t depth) FED_MUST_USE;

//  A str of min..max bytes of UTF-8 without NUL, borrowed from the frame
//  into *ptr and *size; nil too when nil_ok (then *ptr is NULL, *size 0).
//  Over max is limit. *ptr and *size are written only on success.
int fed_mb_read_str (fed_mb_t *ctx, fed_mpr_t *reader, const char *where, const char *field,
                     uint32_t min, uint32_t max, bool nil_ok, const char **ptr,
                     uint32_t *size) FED_MUST_USE;

//  A uint of any width, any value.
int fed_mb_read_uint (fed_mb_t *ctx, fed_mpr_t *reader, const char *where, const char *field,
                      uint64_t *value) FED_MUST_USE;

//  A bin of exactly size bytes (a key, a node id), copied into out.
int fed_mb_read_bin (fed_mb_t *ctx, fed_mpr_t *reader, const char *where, const char *field,
                     uint32_t size, uint8_t *out) FED_MUST_USE;

//  An array header of at most max elements (over is limit); kind says what
//  the field must be ("an array", "an array of maps"). The caller reads the
//  *count elements.
int fed_mb_read_array (fed_mb_t *ctx, fed_mpr_t *reader, const char *where, const char *field,
                       const char *kind, uint32_t max, uint32_t *count) FED_MUST_USE;

//  A map header of at most max entries (over is limit); kind as above ("a
//  map str -> str"). The caller reads the *count entries.
int fed_mb_read_map (fed_mb_t *ctx, fed_mpr_t *reader, const char *where, const char *field,
                     const char *kind, uint32_t max, uint32_t *count) FED_MUST_USE;

#ifdef __cplusplus
}
#endif
#endif
