/*  tests/unit/test_wire.c: the peer protocol codec (doc/protocol.md §4).
    Every message type round-trips field by field. Then each message is
    broken one way at a time, by rewriting a valid encoding at one field
    path: each required key missing, each field given every wrong type,
    each size and count limit exactly met (accepted) and exceeded by one
    (dropped as "limit"), ranges, UTF-8, unknown keys (ignored, but under
    the nesting cap), duplicate keys, unknown type and version, every
    truncation (from heap copies of exact size, so ASan sees any over-read),
    huge declared lengths and trailing bytes. The encoder refuses what the
    decoder would refuse, leaving its buffer untouched.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "testutil.h"
#include "msgtest.h"

#include "wire.h"

//  --- Samples ----------------------------------------------------------------

#define S(text) ((fed_wire_str_t){(text), sizeof (text) - 1})

static const fed_wire_vv_entry_t s_vv [] = {
    {{0x01}, 1}, {{0x01, 0x02}, 300}, {{0xfe, 0xff}, UINT64_MAX}};
static const uint8_t s_event_a [] = {0x98, 0x01, 0x02};
static const uint8_t s_event_b [] = {0xc0};
static uint8_t s_event_c [70000];
static const fed_blob_t s_events [] = {
    {s_event_a, sizeof s_event_a}, {s_event_b, 1}, {s_event_c, sizeof s_event_c}};

static void
s_updates (fed_wire_updates_t *updates, uint32_t count)
{
    updates->count = count;
    for (uint32_t i = 0; i < count; i++) {
        fed_wire_update_t *update = &updates->items [i];
        memset (update->node, (int) (0x40 + i), sizeof update->node);
        update->state = (fed_wire_state_t) (FED_WIRE_ALIVE + i % 4);
        update->incarnation = (uint64_t) i * 1000003;
        update->endpoint = i % 2 ? S ("tcp://10.0.0.7:7701") : S ("tcp://[::1]:7701");
        update->name = i % 2 ? S ("n\xc3\xa9ud") : S ("b");
    }
}

//  A valid message of type, with every field set to something telling.
static void
s_sample (fed_wire_type_t type, fed_wire_msg_t *msg)
{
    memset (msg, 0, sizeof *msg);
    msg->type = type;
    switch (type) {
        case FED_WIRE_HELLO: {
            fed_wire_hello_t *hello = &msg->u.hello;
            memset (hello->id, 0xab, sizeof hello->id);
            hello->name = S ("node-1");
            hello->endpoint = S ("tcp://192.168.1.20:7701");
            hello->location.region = S ("eu-west");
            hello->location.zone = S ("");
            hello->location.site = (fed_wire_str_t){NULL, 0};
            hello->location.has_lat = true;
            hello->location.lat = 48.8566;
            hello->location.has_lon = false;
            hello->location.label_count = 2;
            hello->location.labels [0] = (fed_wire_label_t){S ("gpu"), S ("a100")};
            hello->location.labels [1] = (fed_wire_label_t){S ("rack"), S ("")};
            hello->protocol = 1;
            hello->incarnation = 5;
            hello->token = S ("fedtok-0123abcd-secret");
            break;
        }
        case FED_WIRE_PING:
            msg->u.ping.seq = 77;
            msg->u.ping.incarnation = 1u << 20;
            s_updates (&msg->u.ping.updates, 3);
            break;
        case FED_WIRE_ACK:
            msg->u.ack.seq = UINT64_MAX;
            s_updates (&msg->u.ack.updates, 2);
            break;
        case FED_WIRE_PING_REQ:
            msg->u.ping_req.seq = 0;
            memset (msg->u.ping_req.target, 0x33, FED_WIRE_KEY_BYTES);
            s_updates (&msg->u.ping_req.updates, 1);
            break;
        case FED_WIRE_MEMBERS: s_updates (&msg->u.members.updates, 4); break;
        case FED_WIRE_DIGEST:
            msg->u.digest.entries = s_vv;
            msg->u.digest.count = 3;
            break;
        case FED_WIRE_EVENTS:
            msg->u.events.events = s_events;
            msg->u.events.count = 3;
            break;
        case FED_WIRE_WANT:
            memset (msg->u.want.origin, 0x99, FED_WIRE_KEY_BYTES);
            msg->u.want.from = 10;
            msg->u.want.to = 1u << 30;
            break;
        case FED_WIRE_ERROR:
            msg->u.error.code = S ("token");
            msg->u.error.text = S ("the join token has expired");
            break;
        default: msg->u.bye.reason = S ("shutting down"); break;
    }
}

//  --- Helpers ----------------------------------------------------------------

static void
s_encode (const fed_wire_msg_t *msg, packed_t *packed)
{
    fed_test_begin (packed);
    int rc = fed_wire_encode (msg, &packed->buffer);
    if (rc != 0) {
        print_error ("expected %s to encode, got %d\n", fed_wire_type_name (msg->type), rc);
        fail ();
    }
}

//  Decodes from a heap copy of exactly size bytes, kept in *copy_p (the
//  message borrows from it; free it after use).
static int
s_decode (const void *data, size_t size, fed_wire_msg_t *msg, fed_err_t *err, uint8_t **copy_p)
{
    *copy_p = fed_test_copy (data, size);
    return fed_wire_decode (*copy_p, size, msg, err);
}

//  Expects data to be dropped for reason, with a message containing needle.
static void
s_expect_drop (const void *data, size_t size, fed_wire_drop_t reason, const char *needle)
{
    fed_wire_msg_t msg;
    fed_err_t err = {0, ""};
    uint8_t *copy;
    int rc = s_decode (data, size, &msg, &err, &copy);
    if (rc != FED_MALFORMED || err.code != (int) reason) {
        print_error ("expected a drop as %s (%s), got rc %d, reason %s: \"%s\"\n",
                     fed_wire_drop_name (reason), needle ? needle : "", rc,
                     fed_wire_drop_name ((fed_wire_drop_t) err.code), err.text);
        fail ();
    }
    assert_true (strlen (err.text) > 0);
    if (needle)
        assert_contains (err.text, needle);
    assert_null (msg.owned);
    assert_int_equal (msg.type, 0);
    free (copy);
}

static void
s_expect_ok (const void *data, size_t size)
{
    fed_wire_msg_t msg;
    fed_err_t err = {0, ""};
    uint8_t *copy;
    int rc = s_decode (data, size, &msg, &err, &copy);
    if (rc != 0) {
        print_error ("expected the message to decode, got %d: \"%s\"\n", rc, err.text);
        fail ();
    }
    fed_wire_msg_clear (&msg);
    free (copy);
}

static void
s_str_equal (fed_wire_str_t a, fed_wire_str_t b)
{
    assert_int_equal (a.ptr == NULL, b.ptr == NULL);
    assert_int_equal (a.size, b.size);
    if (a.size)
        assert_memory_equal (a.ptr, b.ptr, a.size);
}

static void
s_updates_equal (const fed_wire_updates_t *a, const fed_wire_updates_t *b)
{
    assert_int_equal (a->count, b->count);
    for (uint32_t i = 0; i < a->count; i++) {
        assert_memory_equal (a->items [i].node, b->items [i].node, FED_WIRE_KEY_BYTES);
        assert_int_equal (a->items [i].state, b->items [i].state);
        assert_int_equal (a->items [i].incarnation, b->items [i].incarnation);
        s_str_equal (a->items [i].endpoint, b->items [i].endpoint);
        s_str_equal (a->items [i].name, b->items [i].name);
    }
}

static void
s_msg_equal (const fed_wire_msg_t *a, const fed_wire_msg_t *b)
{
    assert_int_equal (a->type, b->type);
    switch (a->type) {
        case FED_WIRE_HELLO: {
            const fed_wire_hello_t *x = &a->u.hello, *y = &b->u.hello;
            assert_memory_equal (x->id, y->id, FED_WIRE_KEY_BYTES);
            s_str_equal (x->name, y->name);
            s_str_equal (x->endpoint, y->endpoint);
            s_str_equal (x->location.region, y->location.region);
            s_str_equal (x->location.zone, y->location.zone);
            s_str_equal (x->location.site, y->location.site);
            assert_int_equal (x->location.has_lat, y->location.has_lat);
            assert_true (x->location.lat == y->location.lat);
            assert_int_equal (x->location.has_lon, y->location.has_lon);
            assert_true (x->location.lon == y->location.lon);
            assert_int_equal (x->location.label_count, y->location.label_count);
            for (uint32_t i = 0; i < x->location.label_count; i++) {
                s_str_equal (x->location.labels [i].key, y->location.labels [i].key);
                s_str_equal (x->location.labels [i].value, y->location.labels [i].value);
            }
            assert_int_equal (x->protocol, y->protocol);
            assert_int_equal (x->incarnation, y->incarnation);
            s_str_equal (x->token, y->token);
            break;
        }
        case FED_WIRE_PING:
            assert_int_equal (a->u.ping.seq, b->u.ping.seq);
            assert_int_equal (a->u.ping.incarnation, b->u.ping.incarnation);
            s_updates_equal (&a->u.ping.updates, &b->u.ping.updates);
            break;
        case FED_WIRE_ACK:
            assert_true (a->u.ack.seq == b->u.ack.seq);
            s_updates_equal (&a->u.ack.updates, &b->u.ack.updates);
            break;
        case FED_WIRE_PING_REQ:
            assert_int_equal (a->u.ping_req.seq, b->u.ping_req.seq);
            assert_memory_equal (a->u.ping_req.target, b->u.ping_req.target, FED_WIRE_KEY_BYTES);
            s_updates_equal (&a->u.ping_req.updates, &b->u.ping_req.updates);
            break;
        case FED_WIRE_MEMBERS:
            s_updates_equal (&a->u.members.updates, &b->u.members.updates);
            break;
        case FED_WIRE_DIGEST:
            assert_int_equal (a->u.digest.count, b->u.digest.count);
            for (uint32_t i = 0; i < a->u.digest.count; i++) {
                assert_memory_equal (a->u.digest.entries [i].origin, b->u.digest.entries [i].origin,
                                     FED_WIRE_KEY_BYTES);
                assert_true (a->u.digest.entries [i].seq == b->u.digest.entries [i].seq);
            }
            break;
        case FED_WIRE_EVENTS:
            assert_int_equal (a->u.events.count, b->u.events.count);
            for (uint32_t i = 0; i < a->u.events.count; i++) {
                assert_int_equal (a->u.events.events [i].size, b->u.events.events [i].size);
                assert_memory_equal (a->u.events.events [i].data, b->u.events.events [i].data,
                                     a->u.events.events [i].size);
            }
            break;
        case FED_WIRE_WANT:
            assert_memory_equal (a->u.want.origin, b->u.want.origin, FED_WIRE_KEY_BYTES);
            assert_int_equal (a->u.want.from, b->u.want.from);
            assert_int_equal (a->u.want.to, b->u.want.to);
            break;
        case FED_WIRE_ERROR:
            s_str_equal (a->u.error.code, b->u.error.code);
            s_str_equal (a->u.error.text, b->u.error.text);
            break;
        default: s_str_equal (a->u.bye.reason, b->u.bye.reason); break;
    }
}

//  --- Rewriting a valid encoding at one field ------------------------------

//  The sample of type, rewritten at path in the body. Caller destroys *out.
static void
s_mutant (fed_wire_type_t type, const char *path, op_t op, const msgpack_sbuffer *value,
          packed_t *out)
{
    fed_wire_msg_t msg;
    s_sample (type, &msg);
    packed_t valid;
    s_encode (&msg, &valid);
    fed_test_mutate (&valid.buffer, path, op, value, out);
    msgpack_sbuffer_destroy (&valid.buffer);
}

static void
s_expect_mutant_drop (fed_wire_type_t type, const char *path, op_t op, const msgpack_sbuffer *value,
                      fed_wire_drop_t reason, const char *needle)
{
    packed_t mutant;
    s_mutant (type, path, op, value, &mutant);
    s_expect_drop (mutant.buffer.data, mutant.buffer.size, reason, needle);
    msgpack_sbuffer_destroy (&mutant.buffer);
}

static void
s_expect_mutant_ok (fed_wire_type_t type, const char *path, op_t op, const msgpack_sbuffer *value)
{
    packed_t mutant;
    s_mutant (type, path, op, value, &mutant);
    s_expect_ok (mutant.buffer.data, mutant.buffer.size);
    msgpack_sbuffer_destroy (&mutant.buffer);
}

//  Values to put in fields.

static void
s_value_str (packed_t *value, size_t size, char fill)
{
    fed_test_begin (value);
    char *text = malloc (size + 1);
    assert_non_null (text);
    memset (text, fill, size);
    //  An endpoint must keep its form at every size: tcp://aaa…a:7701.
    if (fill == 'e' && size >= 12) {
        memcpy (text, "tcp://", 6);
        memcpy (text + size - 5, ":7701", 5);
    }
    msgpack_pack_str_with_body (&value->pk, text, size);
    free (text);
}

//  --- The fields of each message ---------------------------------------------

typedef enum { K_KEY, K_STR, K_STRNIL, K_UINT, K_FLOATNIL, K_LIST, K_MAP } kind_t;

typedef struct {
    fed_wire_type_t type;
    const char *path;
    kind_t kind;
    bool required;
    uint32_t min, max; //  str sizes; max 0: no size test
    const char *name;  //  the field name errors mention
} field_t;

#define UPDATE_FIELDS(type)                                                                        \
    {type, "updates", K_LIST, true, 0, 0, "updates"},                                              \
        {type, "updates.0.node", K_KEY, true, 0, 0, "node"},                                       \
        {type, "updates.0.state", K_STR, true, 0, 0, "state"},                                     \
        {type, "updates.0.incarnation", K_UINT, true, 0, 0, "incarnation"},                        \
        {type, "updates.0.endpoint", K_STR, true, 1, 256, "endpoint"},                             \
    {                                                                                              \
        type, "updates.0.name", K_STR, true, 1, 64, "name"                                         \
    }

static const field_t s_fields [] = {
    {FED_WIRE_HELLO, "id", K_KEY, true, 0, 0, "id"},
    {FED_WIRE_HELLO, "name", K_STR, true, 1, 64, "name"},
    {FED_WIRE_HELLO, "endpoint", K_STR, true, 1, 256, "endpoint"},
    {FED_WIRE_HELLO, "location", K_MAP, true, 0, 0, "location"},
    {FED_WIRE_HELLO, "location.region", K_STRNIL, true, 0, 64, "region"},
    {FED_WIRE_HELLO, "location.zone", K_STRNIL, true, 0, 64, "zone"},
    {FED_WIRE_HELLO, "location.site", K_STRNIL, true, 0, 64, "site"},
    {FED_WIRE_HELLO, "location.lat", K_FLOATNIL, true, 0, 0, "lat"},
    {FED_WIRE_HELLO, "location.lon", K_FLOATNIL, true, 0, 0, "lon"},
    {FED_WIRE_HELLO, "location.labels", K_MAP, true, 0, 0, "labels"},
    {FED_WIRE_HELLO, "protocol", K_UINT, true, 0, 0, "protocol"},
    {FED_WIRE_HELLO, "incarnation", K_UINT, true, 0, 0, "incarnation"},
    {FED_WIRE_HELLO, "token", K_STRNIL, false, 1, 128, "token"},
    {FED_WIRE_PING, "seq", K_UINT, true, 0, 0, "seq"},
    {FED_WIRE_PING, "incarnation", K_UINT, true, 0, 0, "incarnation"},
    UPDATE_FIELDS (FED_WIRE_PING),
    {FED_WIRE_ACK, "seq", K_UINT, true, 0, 0, "seq"},
    UPDATE_FIELDS (FED_WIRE_ACK),
    {FED_WIRE_PING_REQ, "seq", K_UINT, true, 0, 0, "seq"},
    {FED_WIRE_PING_REQ, "target", K_KEY, true, 0, 0, "target"},
    UPDATE_FIELDS (FED_WIRE_PING_REQ),
    UPDATE_FIELDS (FED_WIRE_MEMBERS),
    {FED_WIRE_DIGEST, "vv", K_LIST, true, 0, 0, "vv"},
    {FED_WIRE_EVENTS, "events", K_LIST, true, 0, 0, "events"},
    {FED_WIRE_WANT, "origin", K_KEY, true, 0, 0, "origin"},
    {FED_WIRE_WANT, "from", K_UINT, true, 0, 0, "from"},
    {FED_WIRE_WANT, "to", K_UINT, true, 0, 0, "to"},
    {FED_WIRE_ERROR, "code", K_STR, true, 1, 32, "code"},
    {FED_WIRE_ERROR, "text", K_STR, true, 0, 512, "text"},
    {FED_WIRE_BYE, "reason", K_STR, false, 0, 512, "reason"},
};

#define FIELD_COUNT (sizeof s_fields / sizeof s_fields [0])

//  Whether a field of kind takes a value of type at all.
static bool
s_accepts (kind_t kind, fed_mp_type_t type)
{
    switch (kind) {
        case K_STR: return type == FED_MP_STR;
        case K_STRNIL: return type == FED_MP_STR || type == FED_MP_NIL;
        case K_FLOATNIL: return type == FED_MP_NIL || type == FED_MP_INT || type == FED_MP_FLOAT;
        case K_LIST: return type == FED_MP_ARRAY;
        case K_MAP: return type == FED_MP_MAP;
        default: return false; //  K_KEY: only bin of 32; K_UINT: none of fed_test_wrong
    }
}

//  --- Tests: round trips -------------------------------------------------------

static void
test_round_trip (void **state)
{
    (void) state;
    memset (s_event_c, 0x5a, sizeof s_event_c);
    for (int type = 1; type < FED_WIRE_TYPES; type++) {
        fed_wire_msg_t msg, back;
        s_sample ((fed_wire_type_t) type, &msg);
        packed_t packed;
        s_encode (&msg, &packed);
        fed_err_t err = {0, ""};
        uint8_t *copy;
        if (s_decode (packed.buffer.data, packed.buffer.size, &back, &err, &copy)) {
            print_error ("expected %s to decode, got: %s\n", fed_wire_type_name (msg.type),
                         err.text);
            fail ();
        }
        s_msg_equal (&msg, &back);
        //  Strings and event bytes are borrowed from the frame.
        if (type == FED_WIRE_HELLO)
            assert_true (back.u.hello.name.ptr > (const char *) copy
                         && back.u.hello.name.ptr < (const char *) copy + packed.buffer.size);
        if (type == FED_WIRE_EVENTS)
            assert_true (back.u.events.events [2].data > copy
                         && back.u.events.events [2].data < copy + packed.buffer.size);
        assert_int_equal (back.owned != NULL, type == FED_WIRE_DIGEST || type == FED_WIRE_EVENTS);
        fed_wire_msg_clear (&back);
        assert_null (back.owned);
        free (copy);
        msgpack_sbuffer_destroy (&packed.buffer);
    }
}

static void
test_round_trip_empty_and_optional (void **state)
{
    (void) state;
    fed_wire_msg_t msgs [5], back;
    s_sample (FED_WIRE_HELLO, &msgs [0]);
    msgs [0].u.hello.token = (fed_wire_str_t){NULL, 0};
    msgs [0].u.hello.location = (fed_wire_location_t){0};
    msgs [0].u.hello.location.has_lon = true;
    msgs [0].u.hello.location.lon = -180;
    s_sample (FED_WIRE_BYE, &msgs [1]);
    msgs [1].u.bye.reason = (fed_wire_str_t){NULL, 0};
    s_sample (FED_WIRE_DIGEST, &msgs [2]);
    msgs [2].u.digest = (fed_wire_digest_t){NULL, 0};
    s_sample (FED_WIRE_EVENTS, &msgs [3]);
    msgs [3].u.events = (fed_wire_events_t){NULL, 0};
    s_sample (FED_WIRE_MEMBERS, &msgs [4]);
    msgs [4].u.members.updates.count = 0;
    for (int i = 0; i < 5; i++) {
        packed_t packed;
        s_encode (&msgs [i], &packed);
        uint8_t *copy;
        fed_err_t err = {0, ""};
        assert_int_equal (s_decode (packed.buffer.data, packed.buffer.size, &back, &err, &copy), 0);
        s_msg_equal (&msgs [i], &back);
        assert_null (back.owned);
        fed_wire_msg_clear (&back);
        free (copy);
        msgpack_sbuffer_destroy (&packed.buffer);
    }
}

//  The example in doc/protocol.md §4.4, byte for byte.
static void
test_doc_example (void **state)
{
    (void) state;
    fed_wire_msg_t msg = {.type = FED_WIRE_PING};
    msg.u.ping.seq = 7;
    packed_t packed;
    s_encode (&msg, &packed);
    static const char expected [] = "\x93\x01\xa4PING\x83\xa3seq\x07\xab"
                                    "incarnation\x00"
                                    "\xa7updates\x90";
    assert_int_equal (packed.buffer.size, sizeof expected - 1);
    assert_int_equal (packed.buffer.size, 35);
    assert_memory_equal (packed.buffer.data, expected, sizeof expected - 1);
    msgpack_sbuffer_destroy (&packed.buffer);
}

//  --- Tests: each field broken ---------------------------------------------------

static void
test_required_missing (void **state)
{
    (void) state;
    char needle [64];
    for (size_t i = 0; i < FIELD_COUNT; i++) {
        const field_t *field = &s_fields [i];
        if (field->required) {
            snprintf (needle, sizeof needle, "required key '%s' is missing", field->name);
            s_expect_mutant_drop (field->type, field->path, OMIT, NULL, FED_WIRE_DROP_MALFORMED,
                                  needle);
        } else
            s_expect_mutant_ok (field->type, field->path, OMIT, NULL);
    }
}

static void
test_wrong_types (void **state)
{
    (void) state;
    int tried = 0;
    for (size_t i = 0; i < FIELD_COUNT; i++) {
        const field_t *field = &s_fields [i];
        for (size_t w = 0; w < FED_TEST_WRONG_COUNT; w++) {
            if (s_accepts (field->kind, fed_test_wrong [w].type))
                continue;
            packed_t value;
            fed_test_value_raw (&value, fed_test_wrong [w].bytes, fed_test_wrong [w].size);
            char needle [64];
            snprintf (needle, sizeof needle, "'%s'", field->name);
            //  A map field given another type is named by its path.
            if (field->kind == K_MAP && field->type == FED_WIRE_HELLO)
                snprintf (needle, sizeof needle, "%s", field->name);
            //  An update given a non-map is named by its index.
            s_expect_mutant_drop (field->type, field->path, SET, &value.buffer,
                                  FED_WIRE_DROP_MALFORMED, needle);
            msgpack_sbuffer_destroy (&value.buffer);
            tried++;
        }
    }
    assert_true (tried > 150);
}

//  Endpoints: only tcp://HOST:PORT is taken, in HELLO and in updates.
static void
test_endpoint_form (void **state)
{
    (void) state;
    static const char *bad [] = {
        "ipc:///tmp/x.sock", "inproc://zeromq.zap.01", "tcp://*:7701",     "tcp://host",
        "tcp://:7701",       "tcp://host:0",           "tcp://host:65536", "tcp://host:77a1",
        "tcp://ho st:7701",  "tcp://[::1:7701",        "udp://host:7701",  "tcp://host:",
    };
    static const char *good [] = {"tcp://h:1", "tcp://10.0.0.1:7701", "tcp://[::1]:7701",
                                  "tcp://edge-7.example.org:65535"};
    const char *paths [] = {"endpoint", "updates.0.endpoint"};
    fed_wire_type_t types [] = {FED_WIRE_HELLO, FED_WIRE_MEMBERS};
    for (int t = 0; t < 2; t++) {
        for (size_t i = 0; i < sizeof bad / sizeof bad [0]; i++) {
            packed_t value;
            fed_test_begin (&value);
            msgpack_pack_str_with_body (&value.pk, bad [i], strlen (bad [i]));
            s_expect_mutant_drop (types [t], paths [t], SET, &value.buffer, FED_WIRE_DROP_MALFORMED,
                                  "must be tcp://HOST:PORT");
            msgpack_sbuffer_destroy (&value.buffer);
        }
        for (size_t i = 0; i < sizeof good / sizeof good [0]; i++) {
            packed_t value;
            fed_test_begin (&value);
            msgpack_pack_str_with_body (&value.pk, good [i], strlen (good [i]));
            s_expect_mutant_ok (types [t], paths [t], SET, &value.buffer);
            msgpack_sbuffer_destroy (&value.buffer);
        }
    }
    //  And the encoder refuses to write one.
    fed_wire_msg_t msg;
    memset (&msg, 0, sizeof msg);
    msg.type = FED_WIRE_MEMBERS;
    s_updates (&msg.u.members.updates, 1);
    msg.u.members.updates.items [0].endpoint = S ("ipc:///tmp/x");
    msgpack_sbuffer out;
    msgpack_sbuffer_init (&out);
    assert_int_equal (fed_wire_encode (&msg, &out), -1);
    assert_int_equal (out.size, 0);
    msgpack_sbuffer_destroy (&out);
}

static void
test_size_limits (void **state)
{
    (void) state;
    for (size_t i = 0; i < FIELD_COUNT; i++) {
        const field_t *field = &s_fields [i];
        if (field->max == 0)
            continue;
        packed_t value;
        char fill = strcmp (field->name, "endpoint") == 0 ? 'e' : 'a';
        s_value_str (&value, field->max, fill);
        s_expect_mutant_ok (field->type, field->path, SET, &value.buffer);
        msgpack_sbuffer_destroy (&value.buffer);
        s_value_str (&value, field->max + 1, 'a');
        char needle [64];
        snprintf (needle, sizeof needle, "'%s' is %u bytes, over the limit of %u", field->name,
                  field->max + 1, field->max);
        s_expect_mutant_drop (field->type, field->path, SET, &value.buffer, FED_WIRE_DROP_LIMIT,
                              needle);
        msgpack_sbuffer_destroy (&value.buffer);
        s_value_str (&value, 0, 'a');
        if (field->min == 1)
            s_expect_mutant_drop (field->type, field->path, SET, &value.buffer,
                                  FED_WIRE_DROP_MALFORMED, "at least 1 bytes");
        else
            s_expect_mutant_ok (field->type, field->path, SET, &value.buffer);
        msgpack_sbuffer_destroy (&value.buffer);
    }
}

//  A list of n elements, each the given raw bytes with the index patched in.
static void
s_value_list (packed_t *value, uint32_t n, fed_wire_type_t type)
{
    fed_test_begin (value);
    msgpack_pack_array (&value->pk, n);
    for (uint32_t i = 0; i < n; i++) {
        if (type == FED_WIRE_DIGEST) {
            uint8_t origin [32] = {0};
            origin [0] = (uint8_t) (i >> 8);
            origin [1] = (uint8_t) i;
            msgpack_pack_array (&value->pk, 2);
            msgpack_pack_bin_with_body (&value->pk, origin, 32);
            msgpack_pack_uint32 (&value->pk, i + 1);
        } else if (type == FED_WIRE_EVENTS)
            msgpack_pack_bin_with_body (&value->pk, "e", 1);
        else {
            fed_wire_msg_t msg = {.type = FED_WIRE_MEMBERS};
            s_updates (&msg.u.members.updates, 1);
            packed_t one;
            s_encode (&msg, &one);
            //  The update map starts after [1, "MEMBERS", {"updates": [
            size_t skip = 1 + 1 + 8 + 1 + 8 + 1;
            msgpack_sbuffer_write (&value->buffer, one.buffer.data + skip, one.buffer.size - skip);
            msgpack_sbuffer_destroy (&one.buffer);
        }
    }
}

static void
test_count_limits (void **state)
{
    (void) state;
    static const struct {
        fed_wire_type_t type;
        const char *path;
        uint32_t max;
    } lists [] = {
        {FED_WIRE_PING, "updates", 64},     {FED_WIRE_ACK, "updates", 64},
        {FED_WIRE_PING_REQ, "updates", 64}, {FED_WIRE_MEMBERS, "updates", 64},
        {FED_WIRE_DIGEST, "vv", 10000},     {FED_WIRE_EVENTS, "events", 10000},
    };
    for (size_t i = 0; i < sizeof lists / sizeof lists [0]; i++) {
        packed_t value;
        s_value_list (&value, lists [i].max, lists [i].type);
        s_expect_mutant_ok (lists [i].type, lists [i].path, SET, &value.buffer);
        msgpack_sbuffer_destroy (&value.buffer);
        s_value_list (&value, lists [i].max + 1, lists [i].type);
        char needle [64];
        snprintf (needle, sizeof needle, "has %u elements, over the limit of %u", lists [i].max + 1,
                  lists [i].max);
        s_expect_mutant_drop (lists [i].type, lists [i].path, SET, &value.buffer,
                              FED_WIRE_DROP_LIMIT, needle);
        msgpack_sbuffer_destroy (&value.buffer);
    }
}

static void
test_labels (void **state)
{
    (void) state;
    for (uint32_t n = 64; n <= 65; n++) {
        packed_t value;
        fed_test_begin (&value);
        msgpack_pack_map (&value.pk, n);
        for (uint32_t i = 0; i < n; i++) {
            char key [8];
            snprintf (key, sizeof key, "k%u", i);
            msgpack_pack_str_with_body (&value.pk, key, strlen (key));
            msgpack_pack_str_with_body (&value.pk, "v", 1);
        }
        if (n == 64)
            s_expect_mutant_ok (FED_WIRE_HELLO, "location.labels", SET, &value.buffer);
        else
            s_expect_mutant_drop (FED_WIRE_HELLO, "location.labels", SET, &value.buffer,
                                  FED_WIRE_DROP_LIMIT, "'labels' has 65 entries");
        msgpack_sbuffer_destroy (&value.buffer);
    }
    //  Key sizes 64 and 65, value sizes 256 and 257, an empty key, a
    //  repeated key, a non-str value.
    static const struct {
        size_t key, value;
        fed_wire_drop_t reason;
    } sizes [] = {{64, 256, FED_WIRE_DROP_NONE},
                  {65, 1, FED_WIRE_DROP_LIMIT},
                  {1, 257, FED_WIRE_DROP_LIMIT},
                  {0, 1, FED_WIRE_DROP_MALFORMED}};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes [0]; i++) {
        packed_t value;
        fed_test_begin (&value);
        msgpack_pack_map (&value.pk, 1);
        char text [300];
        memset (text, 'k', sizeof text);
        msgpack_pack_str_with_body (&value.pk, text, sizes [i].key);
        msgpack_pack_str_with_body (&value.pk, text, sizes [i].value);
        if (sizes [i].reason == FED_WIRE_DROP_NONE)
            s_expect_mutant_ok (FED_WIRE_HELLO, "location.labels", SET, &value.buffer);
        else
            s_expect_mutant_drop (FED_WIRE_HELLO, "location.labels", SET, &value.buffer,
                                  sizes [i].reason, "'labels ");
        msgpack_sbuffer_destroy (&value.buffer);
    }
    packed_t value;
    fed_test_value_raw (&value, "\x82\xa1k\xa1v\xa1k\xa1w", 9);
    s_expect_mutant_drop (FED_WIRE_HELLO, "location.labels", SET, &value.buffer,
                          FED_WIRE_DROP_MALFORMED, "label 'k' is given twice");
    msgpack_sbuffer_destroy (&value.buffer);
    fed_test_value_raw (&value, "\x81\xa1k\x01", 4);
    s_expect_mutant_drop (FED_WIRE_HELLO, "location.labels", SET, &value.buffer,
                          FED_WIRE_DROP_MALFORMED, "'labels value' must be a str");
    msgpack_sbuffer_destroy (&value.buffer);
    fed_test_value_raw (&value, "\x81\x01\xa1v", 4);
    s_expect_mutant_drop (FED_WIRE_HELLO, "location.labels", SET, &value.buffer,
                          FED_WIRE_DROP_MALFORMED, "'labels key' must be a str");
    msgpack_sbuffer_destroy (&value.buffer);
}

static void
test_ranges (void **state)
{
    (void) state;
    static const struct {
        fed_wire_type_t type;
        const char *path;
        const char *bytes;
        size_t size;
        const char *needle; //  NULL: accepted
    } cases [] = {
        {FED_WIRE_HELLO, "location.lat", RAW ("\x5a"), NULL},     //  90
        {FED_WIRE_HELLO, "location.lat", RAW ("\xd0\xa6"), NULL}, //  -90
        {FED_WIRE_HELLO, "location.lat", RAW ("\x5b"), "'lat' must be from -90 to 90"},
        {FED_WIRE_HELLO, "location.lat", RAW ("\xcb\x40\x56\x80\x00\x00\x00\x00\x01"),
         "'lat' must be from"}, //  90.000…01
        {FED_WIRE_HELLO, "location.lat", RAW ("\xca\x7f\xc0\x00\x00"),
         "'lat' must be from"},                                   //  NaN
        {FED_WIRE_HELLO, "location.lon", RAW ("\xcc\xb4"), NULL}, //  180
        {FED_WIRE_HELLO, "location.lon", RAW ("\xcc\xb5"), "'lon' must be from -180 to 180"},
        {FED_WIRE_HELLO, "location.lon", RAW ("\xca\xff\x80\x00\x00"),
         "'lon' must be from"}, //  -inf
        {FED_WIRE_HELLO, "protocol", RAW ("\x00"), "'protocol' must be 1 or more"},
        {FED_WIRE_HELLO, "protocol", RAW ("\xcf\xff\xff\xff\xff\xff\xff\xff\xff"), NULL},
        {FED_WIRE_HELLO, "id",
         RAW ("\xc4\x1f"
              "0123456789abcdef0123456789abcde"),
         "'id' must be bin of 32 bytes, got 31"},
        {FED_WIRE_HELLO, "id",
         RAW ("\xc4\x21"
              "0123456789abcdef0123456789abcdef!"),
         "'id' must be bin of 32 bytes, got 33"},
        {FED_WIRE_HELLO, "id",
         RAW ("\xc5\x00\x20"
              "0123456789abcdef0123456789abcdef"),
         NULL},
        {FED_WIRE_HELLO, "name", RAW ("\xa2\xc3\xa9"), NULL}, //  é
        {FED_WIRE_HELLO, "name", RAW ("\xa1\xff"), "'name' is not UTF-8"},
        {FED_WIRE_HELLO, "name", RAW ("\xa2\xc0\x80"), "'name' is not UTF-8"},     //  overlong NUL
        {FED_WIRE_HELLO, "name", RAW ("\xa3\xed\xa0\x80"), "'name' is not UTF-8"}, //  surrogate
        {FED_WIRE_HELLO, "name", RAW ("\xa1\xc3"), "'name' is not UTF-8"},         //  cut short
        {FED_WIRE_HELLO, "name", RAW ("\xa4\xf4\x90\x80\x80"),
         "'name' is not UTF-8"},                                      //  > U+10FFFF
        {FED_WIRE_HELLO, "name", RAW ("\xa4\xf0\x9f\x98\x80"), NULL}, //  U+1F600
        {FED_WIRE_HELLO, "name",
         RAW ("\xa3"
              "a\x00"
              "b"),
         "'name' is not UTF-8 text without NUL"},
        {FED_WIRE_HELLO, "token", RAW ("\xc0"), NULL},
        {FED_WIRE_PING, "updates.0.state",
         RAW ("\xa4"
              "dead"),
         NULL},
        {FED_WIRE_PING, "updates.0.state",
         RAW ("\xa4"
              "left"),
         NULL},
        {FED_WIRE_PING, "updates.0.state",
         RAW ("\xa5"
              "Alive"),
         "'state' must be one of alive"},
        {FED_WIRE_PING, "updates.0.state", RAW ("\xa0"), "at least 1 bytes"},
        {FED_WIRE_PING, "updates.0", RAW ("\x90"), "PING updates[0] must be a map"},
        {FED_WIRE_WANT, "from", RAW ("\x00"), "'from' must be 1 or more"},
        {FED_WIRE_WANT, "from", RAW ("\xce\x40\x00\x00\x00"), NULL}, //  from = to
        {FED_WIRE_WANT, "from", RAW ("\xce\x40\x00\x00\x01"), "'from' (1073741825) is after 'to'"},
        {FED_WIRE_DIGEST, "vv.1",
         RAW ("\x92\xc4\x20"
              "\x01\x02"
              "000000000000000000000000000000"
              "\x00"),
         "'seq' must be 1 or more"},
        {FED_WIRE_DIGEST, "vv.1",
         RAW ("\x92\xc4\x20"
              "\x00"
              "0000000000000000000000000000000"
              "\x01"),
         "strictly ascending"},
        {FED_WIRE_DIGEST, "vv.1",
         RAW ("\x92\xc4\x20"
              "\x01"
              "\x00\x00\x00\x00\x00\x00\x00\x00"
              "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
              "\x00\x00\x00\x00\x00\x00\x00\x00\x00"
              "\x01"),
         "strictly ascending"}, //  a repeat
        {FED_WIRE_DIGEST, "vv.1",
         RAW ("\x93\xc4\x20"
              "\x01\x02"
              "000000000000000000000000000000"
              "\x01\x01"),
         "must be an array [origin, seq]"},
        {FED_WIRE_DIGEST, "vv.1",
         RAW ("\x91\xc4\x20"
              "\x01\x02"
              "000000000000000000000000000000"),
         "must be an array [origin, seq]"},
        {FED_WIRE_DIGEST, "vv.1", RAW ("\x92\xa1x\x01"), "vv[1]: 'origin' must be bin of 32"},
        {FED_WIRE_DIGEST, "vv.1",
         RAW ("\x92\xc4\x20"
              "\x01\x02"
              "000000000000000000000000000000"
              "\xff"),
         "vv[1]: 'seq' must be a uint"},
        {FED_WIRE_EVENTS, "events.1", RAW ("\xc4\x00"), "'events'[1] is empty"},
        {FED_WIRE_EVENTS, "events.1", RAW ("\xa1x"), "'events'[1] must be bin, got str"},
        {FED_WIRE_EVENTS, "events.1", RAW ("\xc6\x00\x00\x00\x01x"), NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++) {
        packed_t value;
        fed_test_value_raw (&value, cases [i].bytes, cases [i].size);
        if (cases [i].needle)
            s_expect_mutant_drop (cases [i].type, cases [i].path, SET, &value.buffer,
                                  FED_WIRE_DROP_MALFORMED, cases [i].needle);
        else
            s_expect_mutant_ok (cases [i].type, cases [i].path, SET, &value.buffer);
        msgpack_sbuffer_destroy (&value.buffer);
    }
}

//  --- Tests: unknown and repeated keys, nesting ----------------------------------

static void
test_unknown_keys_ignored (void **state)
{
    (void) state;
    packed_t value;
    fed_test_value_raw (&value,
                        RAW ("\x81\xa1"
                             "a\x93\x01\xc0\x81\xa1"
                             "b\xc4\x01x"));
    for (int type = 1; type < FED_WIRE_TYPES; type++) {
        packed_t mutant;
        s_mutant ((fed_wire_type_t) type, "x-later", SET, &value.buffer, &mutant);
        fed_wire_msg_t msg, back;
        s_sample ((fed_wire_type_t) type, &msg);
        uint8_t *copy;
        fed_err_t err = {0, ""};
        assert_int_equal (s_decode (mutant.buffer.data, mutant.buffer.size, &back, &err, &copy), 0);
        s_msg_equal (&msg, &back);
        fed_wire_msg_clear (&back);
        free (copy);
        msgpack_sbuffer_destroy (&mutant.buffer);
    }
    s_expect_mutant_ok (FED_WIRE_HELLO, "location.altitude", SET, &value.buffer);
    s_expect_mutant_ok (FED_WIRE_PING, "updates.0.x", SET, &value.buffer);
    //  A known key may not repeat.
    msgpack_sbuffer_destroy (&value.buffer);
    fed_test_value_raw (&value, "\x05", 1);
    s_expect_mutant_drop (FED_WIRE_WANT, "from", DUP, &value.buffer, FED_WIRE_DROP_MALFORMED,
                          "WANT: key 'from' is given twice");
    s_expect_mutant_drop (FED_WIRE_HELLO, "location.lat", DUP, &value.buffer,
                          FED_WIRE_DROP_MALFORMED, "HELLO location: key 'lat' is given twice");
    msgpack_sbuffer_destroy (&value.buffer);
}

static void
test_nesting_cap (void **state)
{
    (void) state;
    packed_t value;
    //  In the body (level 2) an ignored value may use levels 3..16.
    fed_test_value_nested (&value, NULL, 0, 14);
    s_expect_mutant_ok (FED_WIRE_PING, "x", SET, &value.buffer);
    msgpack_sbuffer_destroy (&value.buffer);
    fed_test_value_nested (&value, NULL, 0, 15);
    s_expect_mutant_drop (FED_WIRE_PING, "x", SET, &value.buffer, FED_WIRE_DROP_LIMIT,
                          "unknown key 'x' nests deeper than 16 levels");
    msgpack_sbuffer_destroy (&value.buffer);
    //  In an update (level 4): levels 5..16.
    fed_test_value_nested (&value, NULL, 0, 12);
    s_expect_mutant_ok (FED_WIRE_MEMBERS, "updates.0.x", SET, &value.buffer);
    msgpack_sbuffer_destroy (&value.buffer);
    fed_test_value_nested (&value, NULL, 0, 13);
    s_expect_mutant_drop (FED_WIRE_MEMBERS, "updates.0.x", SET, &value.buffer, FED_WIRE_DROP_LIMIT,
                          "nests deeper than 16");
    msgpack_sbuffer_destroy (&value.buffer);
    //  Very deep: refused without recursing all the way down.
    fed_test_value_nested (&value, NULL, 0, 200000);
    s_expect_mutant_drop (FED_WIRE_BYE, "x", SET, &value.buffer, FED_WIRE_DROP_MALFORMED,
                          "unknown key 'x'");
    msgpack_sbuffer_destroy (&value.buffer);
    //  Unknown keys with malformed values, and non-str keys.
    fed_test_value_raw (&value, "\xc1", 1);
    s_expect_mutant_drop (FED_WIRE_BYE, "x", SET, &value.buffer, FED_WIRE_DROP_MALFORMED,
                          "unknown key 'x' is truncated, malformed");
    msgpack_sbuffer_destroy (&value.buffer);
    s_expect_drop (RAW ("\x93\x01\xa3"
                        "BYE\x81\x01\x02"),
                   FED_WIRE_DROP_MALFORMED, "BYE: keys must be str, got uint");
    s_expect_drop (RAW ("\x93\x01\xa3"
                        "BYE\x81\xa1\xff\xc1"),
                   FED_WIRE_DROP_MALFORMED, "unknown key '?'");
}

//  --- Tests: envelope ---------------------------------------------------------------

static void
test_envelope (void **state)
{
    (void) state;
    static const struct {
        const char *bytes;
        size_t size;
        fed_wire_drop_t reason;
        const char *needle;
    } cases [] = {
        {RAW ("\x93\x02\xa4PING\x80"), FED_WIRE_DROP_VERSION, "envelope version 2"},
        {RAW ("\x91\x02"), FED_WIRE_DROP_VERSION, "envelope version 2"},
        {RAW ("\x93\xcf\xff\xff\xff\xff\xff\xff\xff\xff\xa4PING\x80"), FED_WIRE_DROP_VERSION,
         "18446744073709551615"},
        {RAW ("\x93\x00\xa4PING\x80"), FED_WIRE_DROP_VERSION, "version 0"},
        {RAW ("\x93\xa1"
              "1\xa4PING\x80"),
         FED_WIRE_DROP_MALFORMED, "got str"},
        {RAW ("\x93\xff\xa4PING\x80"), FED_WIRE_DROP_MALFORMED, "got int"},
        {RAW ("\x93\x01\xa4NOPE\x80"), FED_WIRE_DROP_TYPE, "unknown message type 'NOPE'"},
        {RAW ("\x93\x01\xa4ping\x80"), FED_WIRE_DROP_TYPE, "'ping'"},
        {RAW ("\x93\x01\xa5PING\x00\x80"), FED_WIRE_DROP_TYPE, "'PING?'"},
        {RAW ("\x93\x01\xa0\x80"), FED_WIRE_DROP_TYPE, "''"},
        {RAW ("\x93\x01\x01\x80"), FED_WIRE_DROP_MALFORMED, "element 1 must be the message type"},
        {RAW ("\x93\x01\xc4\x03"
              "BYE\x80"),
         FED_WIRE_DROP_MALFORMED, "got bin"},
        {RAW ("\x93\x01\xa3"
              "BYE\x90"),
         FED_WIRE_DROP_MALFORMED, "BYE body must be a map"},
        {RAW ("\x93\x01\xa3"
              "BYE\xc0"),
         FED_WIRE_DROP_MALFORMED, "got nil"},
        {RAW ("\x92\x01\xa3"
              "BYE"),
         FED_WIRE_DROP_MALFORMED, "array of 3 elements, got 2"},
        {RAW ("\x94\x01\xa3"
              "BYE\x80\x80"),
         FED_WIRE_DROP_MALFORMED, "array of 3 elements, got 4"},
        {RAW ("\x90"), FED_WIRE_DROP_MALFORMED, "[version, type, body]"},
        {RAW ("\x80"), FED_WIRE_DROP_MALFORMED, "[version, type, body]"},
        {RAW (""), FED_WIRE_DROP_MALFORMED, "[version, type, body]"},
        {RAW ("\x93\x01\xa3"
              "BYE\x80\xc0"),
         FED_WIRE_DROP_MALFORMED, "BYE: 1 trailing bytes"},
        {RAW ("\x93\x01\xa3"
              "BYE\x80\x93\x01\xa3"
              "BYE\x80"),
         FED_WIRE_DROP_MALFORMED, "7 trailing bytes"},
        //  Declared lengths far beyond the frame.
        {RAW ("\xdd\xff\xff\xff\xff"), FED_WIRE_DROP_MALFORMED, "[version, type, body]"},
        {RAW ("\x93\x01\xdb\xff\xff\xff\xff"), FED_WIRE_DROP_MALFORMED, "message type"},
        {RAW ("\x93\x01\xa3"
              "BYE\xdf\xff\xff\xff\xff"),
         FED_WIRE_DROP_MALFORMED, "BYE body declares more entries than the frame holds"},
        {RAW ("\x93\x01\xa7MEMBERS\x81\xa7updates\xdd\xff\xff\xff\xff"), FED_WIRE_DROP_MALFORMED,
         "'updates' declares more elements than the frame holds"},
        {RAW ("\x93\x01\xa6"
              "DIGEST\x81\xa2vv\xdd\xff\xff\xff\xff"),
         FED_WIRE_DROP_MALFORMED, "'vv' declares more elements"},
        {RAW ("\x93\x01\xa6"
              "EVENTS\x81\xa6"
              "events\xdd\x00\x00\x27\x11"),
         FED_WIRE_DROP_MALFORMED, "'events' declares more elements"},
        {RAW ("\x93\x01\xa6"
              "EVENTS\x81\xa6"
              "events\x91\xc6\xff\xff\xff\xff"),
         FED_WIRE_DROP_MALFORMED, "'events'[0] is truncated"},
        {RAW ("\x93\x01\xa5"
              "ERROR\x82\xa4"
              "code\xdb\xff\xff\xff\xff"),
         FED_WIRE_DROP_MALFORMED, "'code' is truncated"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++)
        s_expect_drop (cases [i].bytes, cases [i].size, cases [i].reason, cases [i].needle);
    //  A valid message at the end of a bigger buffer: the size given is all
    //  that is read.
    s_expect_ok (RAW ("\x93\x01\xa3"
                      "BYE\x80"));
}

static void
test_truncations (void **state)
{
    (void) state;
    int runs = 0;
    for (int type = 1; type < FED_WIRE_TYPES; type++) {
        fed_wire_msg_t msg;
        s_sample ((fed_wire_type_t) type, &msg);
        if (type == FED_WIRE_EVENTS)
            msg.u.events.count = 2; //  the 70 KB event is not needed here
        packed_t packed;
        s_encode (&msg, &packed);
        for (size_t len = 0; len < packed.buffer.size; len++) {
            fed_wire_msg_t back;
            fed_err_t err = {0, ""};
            uint8_t *copy;
            int rc = s_decode (packed.buffer.data, len, &back, &err, &copy);
            if (rc != FED_MALFORMED) {
                print_error ("expected %s cut to %zu of %zu bytes to be refused, got %d\n",
                             fed_wire_type_name (msg.type), len, packed.buffer.size, rc);
                fail ();
            }
            assert_true (err.code == FED_WIRE_DROP_MALFORMED || err.code == FED_WIRE_DROP_LIMIT);
            assert_true (strlen (err.text) > 0);
            assert_null (back.owned);
            free (copy);
            runs++;
        }
        msgpack_sbuffer_destroy (&packed.buffer);
    }
    assert_true (runs > 1000);
}

//  --- Tests: encoder ------------------------------------------------------------------

static void
test_encode_refuses (void **state)
{
    (void) state;
    char big [600];
    memset (big, 'a', sizeof big);
    fed_wire_msg_t msgs [16];
    int n = 0;
    s_sample (FED_WIRE_HELLO, &msgs [n]);
    msgs [n++].u.hello.name = (fed_wire_str_t){big, 65};
    s_sample (FED_WIRE_HELLO, &msgs [n]);
    msgs [n++].u.hello.name = (fed_wire_str_t){NULL, 0};
    s_sample (FED_WIRE_HELLO, &msgs [n]);
    msgs [n++].u.hello.token = (fed_wire_str_t){big, 0};
    s_sample (FED_WIRE_HELLO, &msgs [n]);
    msgs [n++].u.hello.location.lat = 91;
    s_sample (FED_WIRE_HELLO, &msgs [n]);
    msgs [n++].u.hello.protocol = 0;
    s_sample (FED_WIRE_HELLO, &msgs [n]);
    msgs [n++].u.hello.location.labels [1].key = S ("gpu");
    s_sample (FED_WIRE_HELLO, &msgs [n]);
    msgs [n++].u.hello.endpoint = S ("tcp://\xff");
    s_sample (FED_WIRE_PING, &msgs [n]);
    msgs [n++].u.ping.updates.count = 65;
    s_sample (FED_WIRE_MEMBERS, &msgs [n]);
    msgs [n++].u.members.updates.items [1].state = (fed_wire_state_t) 9;
    s_sample (FED_WIRE_WANT, &msgs [n]);
    msgs [n].u.want.from = msgs [n].u.want.to + 1;
    n++;
    s_sample (FED_WIRE_WANT, &msgs [n]);
    msgs [n++].u.want.from = 0;
    static const fed_wire_vv_entry_t unsorted [] = {{{2}, 1}, {{1}, 1}};
    s_sample (FED_WIRE_DIGEST, &msgs [n]);
    msgs [n++].u.digest = (fed_wire_digest_t){unsorted, 2};
    static const fed_blob_t empty_event [] = {{(const uint8_t *) "", 0}};
    s_sample (FED_WIRE_EVENTS, &msgs [n]);
    msgs [n++].u.events = (fed_wire_events_t){empty_event, 1};
    s_sample (FED_WIRE_ERROR, &msgs [n]);
    msgs [n++].u.error.code = (fed_wire_str_t){big, 33};
    s_sample (FED_WIRE_ERROR, &msgs [n]);
    msgs [n++].u.error.text = (fed_wire_str_t){big, 513};
    s_sample (FED_WIRE_BYE, &msgs [n]);
    msgs [n++].u.bye.reason = (fed_wire_str_t){big, 513};
    for (int i = 0; i < n; i++) {
        packed_t packed;
        fed_test_begin (&packed);
        msgpack_pack_nil (&packed.pk); //  something already in the buffer
        if (fed_wire_encode (&msgs [i], &packed.buffer) != -1) {
            print_error ("expected case %d (%s) to be refused by the encoder\n", i,
                         fed_wire_type_name (msgs [i].type));
            fail ();
        }
        assert_int_equal (packed.buffer.size, 1);
        msgpack_sbuffer_destroy (&packed.buffer);
    }
}

static void
test_names (void **state)
{
    (void) state;
    assert_string_equal (fed_wire_type_name (FED_WIRE_PING_REQ), "PING_REQ");
    assert_string_equal (fed_wire_type_name (FED_WIRE_BYE), "BYE");
    assert_null (fed_wire_type_name ((fed_wire_type_t) 0));
    assert_null (fed_wire_type_name (FED_WIRE_TYPES));
    assert_string_equal (fed_wire_drop_name (FED_WIRE_DROP_LIMIT), "limit");
    assert_string_equal (fed_wire_drop_name ((fed_wire_drop_t) 99), "?");
    assert_string_equal (fed_wire_state_name (FED_WIRE_SUSPECT), "suspect");
    assert_null (fed_wire_state_name ((fed_wire_state_t) 5));
    fed_wire_msg_t msg = {0};
    fed_wire_msg_clear (&msg); //  safe on a zeroed message
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_round_trip),
        cmocka_unit_test (test_round_trip_empty_and_optional),
        cmocka_unit_test (test_doc_example),
        cmocka_unit_test (test_required_missing),
        cmocka_unit_test (test_wrong_types),
        cmocka_unit_test (test_size_limits),
        cmocka_unit_test (test_endpoint_form),
        cmocka_unit_test (test_count_limits),
        cmocka_unit_test (test_labels),
        cmocka_unit_test (test_ranges),
        cmocka_unit_test (test_unknown_keys_ignored),
        cmocka_unit_test (test_nesting_cap),
        cmocka_unit_test (test_envelope),
        cmocka_unit_test (test_truncations),
        cmocka_unit_test (test_encode_refuses),
        cmocka_unit_test (test_names),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
