/*  store/event.h: one signed event of the append-only log.

    An event is the msgpack array (DESIGN §4, doc/protocol.md "Events")

        [v, origin, seq, prev, hlc, type, body, sig]

    kept and forwarded as the exact bytes that were signed, never re-encoded.
    The signature is ed25519 over every byte of the event that precedes the
    sig field (array header included); the event id is BLAKE2b-256 of all the
    bytes. The encoding is strict so that there is one way to write each
    field: origin and prev are bin8 of 32 bytes, sig is bin8 of 64 bytes and
    is the last 66 bytes of the event.

    A fed_event_t owns a copy of its bytes and points into them for every
    field; it is immutable once made.
*/
#ifndef FED_EVENT_H_INCLUDED
#define FED_EVENT_H_INCLUDED

#include "util.h"
#include "mpread.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FED_EVENT_VERSION 1
#define FED_KEY_BYTES 32
#define FED_ID_BYTES 32
#define FED_SIG_BYTES 64
#define FED_TYPE_MAX 64
//  Encoded bytes around the body: header, fields, sig. Bounds the whole event.
#define FED_EVENT_OVERHEAD 256

//  Why an event was refused; also counted per reason by the log.
typedef enum {
    FED_EVENT_OK = 0,
    FED_EVENT_MALFORMED,     //  not a well-formed event (types, sizes, encoding)
    FED_EVENT_TOO_LARGE,     //  body over limits.event_body
    FED_EVENT_BAD_VERSION,   //  a format version this node does not know
    FED_EVENT_UNTRUSTED,     //  origin not in the trusted set
    FED_EVENT_QUARANTINED,   //  origin forked earlier; nothing more is taken from it
    FED_EVENT_BAD_SIGNATURE, //  signature does not verify
    FED_EVENT_BAD_PREV,      //  prev is not the id of the origin's previous event
    FED_EVENT_FORK,          //  a different event at an (origin, seq) already held
    FED_EVENT_DUPLICATE,     //  already held: not an error, counted
    FED_EVENT_BUFFERED,      //  ahead of a gap: held until the gap fills
    FED_EVENT_OVERFLOW,      //  ahead of a gap but the pending buffer is full: dropped
    FED_EVENT_REASONS
} fed_event_status_t;

//  Short name of a status ("bad_signature", …) for logs and metrics.
const char *fed_event_status_name (fed_event_status_t status);

typedef struct {
    uint64_t max_body;    //  body bytes; config limits.event_body
    fed_mp_limits_t body; //  nesting depth and object count inside the body
} fed_event_limits_t;

//  1 MiB body, depth 32, 1,000,000 objects.
extern const fed_event_limits_t fed_event_default_limits;

typedef struct fed_event_t fed_event_t;

//  Builds and signs an event. secret is the 64-byte libsodium ed25519
//  secret key whose public half is origin; body is one msgpack map (NULL and
//  0 mean an empty map). Returns NULL with err (code FED_EVENT_MALFORMED or
//  FED_EVENT_TOO_LARGE) when the type or body breaks the format or limits.
//  Caller owns the result and must destroy it.
fed_event_t *fed_event_sign (const uint8_t secret [64], const uint8_t origin [32], uint64_t seq,
                             const uint8_t prev [32], uint64_t hlc, const char *type,
                             const void *body, size_t body_size, const fed_event_limits_t *limits,
                             fed_err_t *err);

//  Decodes size bytes into an event, checking every field's type and size
//  (not the signature: see fed_event_verify). Copies the bytes. Returns 0 and
//  sets *event_p (caller owns), or FED_MALFORMED with err->code the reason
//  (MALFORMED, TOO_LARGE or BAD_VERSION) and err->text naming the field.
int fed_event_decode (const void *data, size_t size, const fed_event_limits_t *limits,
                      fed_event_t **event_p, fed_err_t *err) FED_MUST_USE;

//  As fed_event_decode, but takes ownership of *data_p (malloc'd), always:
//  it is consumed and *data_p set to NULL on success and on failure.
int fed_event_decode_owned (uint8_t **data_p, size_t size, const fed_event_limits_t *limits,
                            fed_event_t **event_p, fed_err_t *err) FED_MUST_USE;

//  True if the signature verifies against the origin key.
bool fed_event_verify (const fed_event_t *self);

//  Copy of an event. Caller owns it.
fed_event_t *fed_event_dup (const fed_event_t *self);

//  Destroys an event. Accepts NULL; sets *self_p to NULL.
void fed_event_destroy (fed_event_t **self_p);

//  Accessors: every pointer is owned by the event and lives as long as it.
const uint8_t *fed_event_bytes (const fed_event_t *self);
size_t fed_event_size (const fed_event_t *self);
const uint8_t *fed_event_id (const fed_event_t *self);     //  32 bytes
const uint8_t *fed_event_origin (const fed_event_t *self); //  32 bytes
uint64_t fed_event_seq (const fed_event_t *self);
const uint8_t *fed_event_prev (const fed_event_t *self); //  32 bytes
uint64_t fed_event_hlc (const fed_event_t *self);
const char *fed_event_type (const fed_event_t *self);    //  NUL-terminated
const uint8_t *fed_event_body (const fed_event_t *self); //  one msgpack map
size_t fed_event_body_size (const fed_event_t *self);
const uint8_t *fed_event_sig (const fed_event_t *self); //  64 bytes

//  True if type is 1..64 chars of [A-Za-z0-9._-], starting with a letter or
//  digit, with no empty dotted part.
bool fed_event_type_valid (const char *type, size_t size);

//  The id of size encoded bytes (BLAKE2b-256) into id.
void fed_event_hash (const void *data, size_t size, uint8_t id [32]);

#ifdef __cplusplus
}
#endif
#endif
