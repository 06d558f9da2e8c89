/*  proto/wire.h: the peer protocol codec (doc/protocol.md §4).

    Nodes talk to each other in one-frame messages, each a msgpack array
    [version, type, body] whose body is a map with string keys. This module
    turns a frame into a typed fed_wire_msg_t and back. Decoding is strict
    and bounds-checked through proto/mpread.h: nothing a peer declares (a
    length, a count, a nesting) is trusted before it is checked against the
    bytes that remain and the limits below, so a hostile frame costs at most
    one pass over its bytes and one allocation bounded by its size. Unknown
    body keys are skipped (so later versions can add fields); required keys
    must be present with the right type.

    Strings and event bytes in a decoded message are borrowed from the frame
    (not copied, not NUL-terminated); the two long lists (DIGEST entries and
    EVENTS) live in one allocation owned by the message and freed by
    fed_wire_msg_clear. The codec keeps no state and is safe to use from any
    thread.
*/
#ifndef FED_WIRE_H_INCLUDED
#define FED_WIRE_H_INCLUDED

#include <msgpack.h>
#include "mpread.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FED_WIRE_VERSION 1           //  envelope version this codec speaks
#define FED_WIRE_KEY_BYTES 32        //  node ids and origins: ed25519 public keys
#define FED_WIRE_NAME_MAX 64         //  node name, bytes
#define FED_WIRE_ENDPOINT_MAX 256    //  advertised endpoint, bytes
#define FED_WIRE_TAG_MAX 64          //  region, zone, site, label key, bytes
#define FED_WIRE_LABEL_VALUE_MAX 256 //  label value, bytes
#define FED_WIRE_LABELS_MAX 64       //  labels per location
#define FED_WIRE_TOKEN_MAX 128       //  join token, bytes
#define FED_WIRE_UPDATES_MAX 64      //  membership updates per message
#define FED_WIRE_DIGEST_MAX 10000    //  version vector entries per DIGEST
#define FED_WIRE_EVENTS_MAX 10000    //  events per EVENTS
#define FED_WIRE_CODE_MAX 32         //  ERROR code, bytes
#define FED_WIRE_TEXT_MAX 512        //  ERROR text and BYE reason, bytes
#define FED_WIRE_DEPTH_MAX 16        //  nesting, the envelope array being level 1

typedef enum {
    FED_WIRE_HELLO = 1, //  introduce a node (first message on a connection)
    FED_WIRE_PING,      //  SWIM probe
    FED_WIRE_ACK,       //  answer to PING
    FED_WIRE_PING_REQ,  //  ask for an indirect probe of a target
    FED_WIRE_MEMBERS,   //  membership updates alone
    FED_WIRE_DIGEST,    //  the sender's version vector
    FED_WIRE_EVENTS,    //  a batch of whole events
    FED_WIRE_WANT,      //  ask for an origin's events from..to
    FED_WIRE_ERROR,     //  a refusal with a code and a text
    FED_WIRE_BYE,       //  the sender is leaving
    FED_WIRE_TYPES      //  number of types + 1; not a type
} fed_wire_type_t;

//  Why a frame was dropped (err->code after fed_wire_decode), for counters.
typedef enum {
    FED_WIRE_DROP_NONE = 0,
    FED_WIRE_DROP_MALFORMED, //  not the shape the protocol gives (types, keys, encoding)
    FED_WIRE_DROP_VERSION,   //  an envelope version other than 1
    FED_WIRE_DROP_TYPE,      //  a message type this node does not know
    FED_WIRE_DROP_LIMIT,     //  a size, count or nesting over the protocol's limits
    FED_WIRE_DROPS           //  number of reasons; not a reason
} fed_wire_drop_t;

typedef enum {
    FED_WIRE_ALIVE = 1,
    FED_WIRE_SUSPECT,
    FED_WIRE_DEAD,
    FED_WIRE_LEFT
} fed_wire_state_t;

//  A string borrowed from a frame (or, to encode, from the caller): size
//  bytes of UTF-8 with no NUL, not NUL-terminated. ptr NULL means nil or
//  absent where the protocol allows it.
typedef struct {
    const char *ptr;
    uint32_t size;
} fed_wire_str_t;

typedef struct {
    fed_wire_str_t key;   //  1..FED_WIRE_TAG_MAX bytes
    fed_wire_str_t value; //  0..FED_WIRE_LABEL_VALUE_MAX bytes
} fed_wire_label_t;

typedef struct {
    fed_wire_str_t region; //  each 0..FED_WIRE_TAG_MAX bytes, ptr NULL for nil
    fed_wire_str_t zone;
    fed_wire_str_t site;
    bool has_lat;                                  //  false: lat is nil
    double lat;                                    //  -90..90
    bool has_lon;                                  //  false: lon is nil
    double lon;                                    //  -180..180
    fed_wire_label_t labels [FED_WIRE_LABELS_MAX]; //  keys distinct
    uint32_t label_count;
} fed_wire_location_t;

typedef struct {
    uint8_t id [FED_WIRE_KEY_BYTES]; //  the sender's ed25519 public key
    fed_wire_str_t name;             //  1..FED_WIRE_NAME_MAX bytes
    fed_wire_str_t endpoint;         //  1..FED_WIRE_ENDPOINT_MAX bytes, tcp://host:port
    fed_wire_location_t location;
    uint64_t protocol;    //  highest peer protocol version spoken, >= 1
    uint64_t incarnation; //  SWIM incarnation of the sender
    fed_wire_str_t token; //  join token, 1..FED_WIRE_TOKEN_MAX; ptr NULL: none
} fed_wire_hello_t;

//  One membership update (SWIM gossip piggybacked on PING, ACK, PING_REQ,
//  MEMBERS).
typedef struct {
    uint8_t node [FED_WIRE_KEY_BYTES];
    fed_wire_state_t state;
    uint64_t incarnation;
    fed_wire_str_t endpoint; //  1..FED_WIRE_ENDPOINT_MAX bytes
    fed_wire_str_t name;     //  1..FED_WIRE_NAME_MAX bytes
} fed_wire_update_t;

typedef struct {
    fed_wire_update_t items [FED_WIRE_UPDATES_MAX];
    uint32_t count;
} fed_wire_updates_t;

typedef struct {
    uint64_t seq;         //  probe number, echoed by ACK
    uint64_t incarnation; //  the sender's incarnation
    fed_wire_updates_t updates;
} fed_wire_ping_t;

typedef struct {
    uint64_t seq; //  the PING's (or PING_REQ's) seq
    fed_wire_updates_t updates;
} fed_wire_ack_t;

typedef struct {
    uint64_t seq;
    uint8_t target [FED_WIRE_KEY_BYTES]; //  node to probe on the sender's behalf
    fed_wire_updates_t updates;
} fed_wire_ping_req_t;

typedef struct {
    fed_wire_updates_t updates;
} fed_wire_members_t;

//  One version-vector entry: the highest contiguous seq held from origin.
typedef struct {
    uint8_t origin [FED_WIRE_KEY_BYTES];
    uint64_t seq; //  >= 1
} fed_wire_vv_entry_t;

typedef struct {
    const fed_wire_vv_entry_t *entries; //  count entries, origins strictly ascending
    uint32_t count;                     //  0..FED_WIRE_DIGEST_MAX
} fed_wire_digest_t;

typedef struct {
    const fed_blob_t *events; //  count whole events' bytes, each >= 1 byte
    uint32_t count;           //  0..FED_WIRE_EVENTS_MAX
} fed_wire_events_t;

typedef struct {
    uint8_t origin [FED_WIRE_KEY_BYTES];
    uint64_t from; //  1 <= from <= to
    uint64_t to;
} fed_wire_want_t;

typedef struct {
    fed_wire_str_t code; //  1..FED_WIRE_CODE_MAX bytes
    fed_wire_str_t text; //  0..FED_WIRE_TEXT_MAX bytes
} fed_wire_error_t;

typedef struct {
    fed_wire_str_t reason; //  0..FED_WIRE_TEXT_MAX bytes; ptr NULL: none
} fed_wire_bye_t;

//  A message: type says which member of the union is set.
typedef struct {
    fed_wire_type_t type;
    union {
        fed_wire_hello_t hello;
        fed_wire_ping_t ping;
        fed_wire_ack_t ack;
        fed_wire_ping_req_t ping_req;
        fed_wire_members_t members;
        fed_wire_digest_t digest;
        fed_wire_events_t events;
        fed_wire_want_t want;
        fed_wire_error_t error;
        fed_wire_bye_t bye;
    } u;
    void *owned; //  list storage made by fed_wire_decode, or NULL
} fed_wire_msg_t;

//  Protocol name of a type ("PING_REQ"), or NULL for a value that is not a type.
const char *fed_wire_type_name (fed_wire_type_t type);
//  Short name of a drop reason ("malformed", "version", "type", "limit") for
//  logs and metrics; "?" for another value.
const char *fed_wire_drop_name (fed_wire_drop_t reason);
//  Protocol name of a membership state ("alive"), or NULL.
const char *fed_wire_state_name (fed_wire_state_t state);

//  Appends the encoding of msg to out. msg and everything it points to are
//  borrowed and unchanged. Returns 0, or -1 when a field breaks the
//  protocol (a size or count over its limit, an empty required string, a
//  string with a NUL or invalid UTF-8, from > to, digest origins out of
//  order, lat/lon out of range): then out is left as it was, so the encoder
//  never writes what fed_wire_decode would refuse. A type outside the enum
//  is a bug and aborts.
int fed_wire_encode (const fed_wire_msg_t *msg, msgpack_sbuffer *out) FED_MUST_USE;

//  Decodes one frame of size bytes into *msg, which the caller provides
//  (its old contents are overwritten, not freed). On success returns 0; msg's
//  strings and event bytes point into data, so the frame must outlive msg,
//  and msg->owned holds the DIGEST or EVENTS list, which the caller releases
//  with fed_wire_msg_clear. On failure returns FED_MALFORMED with msg cleared
//  (nothing to release), err->code a fed_wire_drop_t and err->text naming the
//  message type and field ("PING: 'updates'[3].state must be one of alive,
//  suspect, dead, left"). data is never read past size.
int fed_wire_decode (const void *data, size_t size, fed_wire_msg_t *msg,
                     fed_err_t *err) FED_MUST_USE;

//  Frees what fed_wire_decode allocated for msg and zeroes msg. Safe on a
//  zeroed message and on one built by the caller with owned = NULL (then
//  the caller's own lists are not touched).
void fed_wire_msg_clear (fed_wire_msg_t *msg);

#ifdef __cplusplus
}
#endif
#endif
