/*  tests/fuzz/fuzz_wire.c: libFuzzer target for the peer message decoder.

    Every byte string is a possible frame from a peer, so fed_wire_decode
    must either drop it (FED_MALFORMED, a drop reason, a message, nothing
    left allocated) or return a message whose strings and event bytes all
    point inside the frame, which the encoder accepts as it is (the decoder
    never lets through what the encoder refuses), and whose re-encoding
    decodes to the same message.

    The checks are invariants of the codec, so a violation aborts: that is
    what the fuzzer reports. fed_fuzz_wire is the target; the libFuzzer
    entry point is compiled in unless FED_FUZZ_SMOKE is defined, so
    fuzz_smoke can link this file next to fuzz_event.c.
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"

int fed_fuzz_wire (const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf (stderr, "fuzz_wire: %s:%d: invariant failed: %s\n", __FILE__, __LINE__,       \
                     #cond);                                                                       \
            abort ();                                                                              \
        }                                                                                          \
    } while (0)

typedef struct {
    const uint8_t *data;
    size_t size;
} frame_t;

static void
s_inside (const frame_t *frame, const void *ptr, size_t n)
{
    const uint8_t *p = ptr;
    if (!p) {
        CHECK (n == 0);
        return;
    }
    CHECK (p >= frame->data && n <= frame->size && (size_t) (p - frame->data) <= frame->size - n);
}

static void
s_str (const frame_t *frame, fed_wire_str_t str, uint32_t max)
{
    s_inside (frame, str.ptr, str.size);
    CHECK (str.size <= max);
    CHECK (!str.ptr || !memchr (str.ptr, 0, str.size));
}

static void
s_updates (const frame_t *frame, const fed_wire_updates_t *updates)
{
    CHECK (updates->count <= FED_WIRE_UPDATES_MAX);
    for (uint32_t i = 0; i < updates->count; i++) {
        CHECK (fed_wire_state_name (updates->items [i].state) != NULL);
        s_str (frame, updates->items [i].endpoint, FED_WIRE_ENDPOINT_MAX);
        s_str (frame, updates->items [i].name, FED_WIRE_NAME_MAX);
    }
}

//  Every borrowed pointer lies in the frame and every count is in bounds.
static void
s_check (const frame_t *frame, const fed_wire_msg_t *msg)
{
    CHECK (fed_wire_type_name (msg->type) != NULL);
    switch (msg->type) {
        case FED_WIRE_HELLO: {
            const fed_wire_hello_t *hello = &msg->u.hello;
            s_str (frame, hello->name, FED_WIRE_NAME_MAX);
            s_str (frame, hello->endpoint, FED_WIRE_ENDPOINT_MAX);
            s_str (frame, hello->token, FED_WIRE_TOKEN_MAX);
            s_str (frame, hello->location.region, FED_WIRE_TAG_MAX);
            s_str (frame, hello->location.zone, FED_WIRE_TAG_MAX);
            s_str (frame, hello->location.site, FED_WIRE_TAG_MAX);
            CHECK (hello->location.label_count <= FED_WIRE_LABELS_MAX);
            for (uint32_t i = 0; i < hello->location.label_count; i++) {
                s_str (frame, hello->location.labels [i].key, FED_WIRE_TAG_MAX);
                s_str (frame, hello->location.labels [i].value, FED_WIRE_LABEL_VALUE_MAX);
            }
            CHECK (hello->protocol >= 1);
            break;
        }
        case FED_WIRE_PING: s_updates (frame, &msg->u.ping.updates); break;
        case FED_WIRE_ACK: s_updates (frame, &msg->u.ack.updates); break;
        case FED_WIRE_PING_REQ: s_updates (frame, &msg->u.ping_req.updates); break;
        case FED_WIRE_MEMBERS: s_updates (frame, &msg->u.members.updates); break;
        case FED_WIRE_DIGEST:
            CHECK (msg->u.digest.count <= FED_WIRE_DIGEST_MAX);
            CHECK ((msg->u.digest.count == 0) == (msg->owned == NULL));
            break;
        case FED_WIRE_EVENTS:
            CHECK (msg->u.events.count <= FED_WIRE_EVENTS_MAX);
            CHECK ((msg->u.events.count == 0) == (msg->owned == NULL));
            for (uint32_t i = 0; i < msg->u.events.count; i++) {
                CHECK (msg->u.events.events [i].size >= 1);
                s_inside (frame, msg->u.events.events [i].data, msg->u.events.events [i].size);
            }
            break;
        case FED_WIRE_WANT:
            CHECK (msg->u.want.from >= 1 && msg->u.want.from <= msg->u.want.to);
            break;
        case FED_WIRE_ERROR:
            s_str (frame, msg->u.error.code, FED_WIRE_CODE_MAX);
            s_str (frame, msg->u.error.text, FED_WIRE_TEXT_MAX);
            break;
        default: s_str (frame, msg->u.bye.reason, FED_WIRE_TEXT_MAX); break;
    }
    if (msg->type != FED_WIRE_DIGEST && msg->type != FED_WIRE_EVENTS)
        CHECK (msg->owned == NULL);
}

int
fed_fuzz_wire (const uint8_t *data, size_t size)
{
    fed_wire_msg_t msg;
    fed_err_t err = {0};
    int rc = fed_wire_decode (data, size, &msg, &err);
    if (rc != 0) {
        CHECK (rc == FED_MALFORMED);
        CHECK (err.code > FED_WIRE_DROP_NONE && err.code < FED_WIRE_DROPS);
        CHECK (err.text [0] != 0);
        CHECK (msg.owned == NULL && msg.type == 0);
        return 0;
    }
    frame_t frame = {data, size};
    s_check (&frame, &msg);
    //  What was accepted re-encodes, and the re-encoding means the same.
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    CHECK (fed_wire_encode (&msg, &buffer) == 0);
    fed_wire_msg_t again;
    fed_err_t again_err = {0};
    CHECK (fed_wire_decode (buffer.data, buffer.size, &again, &again_err) == 0);
    CHECK (again.type == msg.type);
    msgpack_sbuffer second;
    msgpack_sbuffer_init (&second);
    CHECK (fed_wire_encode (&again, &second) == 0);
    //  The encoding is a fixed point after one round.
    CHECK (second.size == buffer.size && memcmp (second.data, buffer.data, buffer.size) == 0);
    msgpack_sbuffer_destroy (&second);
    fed_wire_msg_clear (&again);
    msgpack_sbuffer_destroy (&buffer);
    fed_wire_msg_clear (&msg);
    CHECK (msg.owned == NULL);
    return 0;
}

#ifndef FED_FUZZ_SMOKE
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    return fed_fuzz_wire (data, size);
}
#endif
