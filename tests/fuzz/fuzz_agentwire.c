/*  tests/fuzz/fuzz_agentwire.c: libFuzzer target for the agent message
    decoder (proto/agentwire.h, doc/protocol.md §5).

    Every byte string is a possible frame from an agent process (or, at the
    client, from the node), so fed_aw_decode must either refuse it (-1, a
    drop reason, an error text, the message left zeroed with nothing
    allocated) or return a message whose invariants hold: the frame is one
    msgpack object nesting at most 16 levels; every string is NUL-terminated
    inside its field, within its limit, follows its character rule and, if
    not empty, was copied whole from a str of the frame (so no NUL inside
    cut it short);
    counts are within the FED_AW_* limits; params, output and locations lie
    inside the frame, each one map within the nesting cap left at its
    level, params and output with str keys given once. Re-encoded with
    fed_aw_encode, the message decodes to the same message field by field,
    and encoding that gives the same bytes again.

    The checks are invariants of the codec, so a violation aborts: that is
    what the fuzzer reports. fed_fuzz_agentwire is the target; the
    libFuzzer entry point is compiled in unless FED_FUZZ_SMOKE is defined,
    so fuzz_smoke can link this file next to the other targets.
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agentwire.h"

int fed_fuzz_agentwire (const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf (stderr, "fuzz_agentwire: %s:%d: invariant failed: %s\n", __FILE__, __LINE__,  \
                     #cond);                                                                       \
            abort ();                                                                              \
        }                                                                                          \
    } while (0)

typedef struct {
    const uint8_t *data;
    size_t size;
} frame_t;

//  The character rules of §5.3, written again here so the decoder's own
//  are checked, not trusted.
typedef enum { TEXT, LABEL, NAME, VERSION, CODE } chars_t;

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

//  True when a str header declaring exactly n bytes ends at offset at.
static bool
s_str_header (const frame_t *frame, size_t at, size_t n)
{
    const uint8_t *d = frame->data;
    if (n < 32 && at >= 1 && d [at - 1] == (0xa0 | n))
        return true;
    if (n < 0x100 && at >= 2 && d [at - 2] == 0xd9 && d [at - 1] == n)
        return true;
    if (n < 0x10000 && at >= 3 && d [at - 3] == 0xda
        && ((size_t) d [at - 2] << 8 | d [at - 1]) == n)
        return true;
    return at >= 5 && d [at - 5] == 0xdb
        && ((size_t) d [at - 4] << 24 | (size_t) d [at - 3] << 16 | (size_t) d [at - 2] << 8
            | d [at - 1])
        == n;
}

//  True when the n bytes of text are, whole, a str somewhere in the frame.
static bool
s_framed (const frame_t *frame, const char *text, size_t n)
{
    for (size_t at = 0; n <= frame->size && at <= frame->size - n; at++)
        if (s_str_header (frame, at, n) && memcmp (frame->data + at, text, n) == 0)
            return true;
    return false;
}

static bool
s_chars (const char *text, size_t n, chars_t rule)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t c = (uint8_t) text [i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        bool ok = rule == TEXT || (rule == LABEL && c >= 0x20 && c != 0x7f)
            || (rule == NAME && (alnum || (i > 0 && (c == '.' || c == '_' || c == '-'))))
            || (rule == VERSION && c > 0x20 && c < 0x7f)
            || (rule == CODE && (alnum || c == '_' || c == '.'));
        if (!ok)
            return false;
    }
    return true;
}

//  A decoded string field of field_size bytes.
static void
s_text (const frame_t *frame, const char *field, size_t field_size, size_t min, size_t max,
        chars_t rule)
{
    const char *end = memchr (field, 0, field_size);
    CHECK (end != NULL);
    size_t n = (size_t) (end - field);
    CHECK (n >= min && n <= max);
    //  Copied once, whole: nothing left behind the terminator.
    for (size_t i = n; i < field_size; i++)
        CHECK (field [i] == 0);
    CHECK (fed_text_valid (field, n));
    CHECK (s_chars (field, n, rule));
    //  "" is also what an absent optional field reads as.
    CHECK (n == 0 || s_framed (frame, field, n));
}

#define TEXT_FIELD(frame, field, min, max, rule) s_text (frame, field, sizeof field, min, max, rule)

static int
s_key_order (const void *a, const void *b)
{
    const fed_blob_t *x = a, *y = b;
    int order = memcmp (x->data, y->data, x->size < y->size ? x->size : y->size);
    return order ? order : (x->size > y->size) - (x->size < y->size);
}

//  A borrowed map: inside the frame, one object nesting at most depth
//  levels (itself included); with str_keys, its keys are UTF-8 str, none
//  twice.
static void
s_map (const frame_t *frame, const uint8_t *ptr, size_t size, uint32_t depth, bool str_keys)
{
    CHECK (ptr != NULL && size >= 1);
    s_inside (frame, ptr, size);
    fed_mp_limits_t caps = {depth, UINT32_MAX};
    CHECK (fed_mp_check (ptr, size, &caps, NULL, 0) == 0);
    fed_mpr_t reader;
    fed_mpr_init (&reader, ptr, size);
    uint32_t count;
    CHECK (fed_mpr_peek (&reader) == FED_MP_MAP && fed_mpr_map (&reader, &count) == 0);
    if (!str_keys)
        return;
    fed_blob_t *keys = calloc (count ? count : 1, sizeof (fed_blob_t));
    CHECK (keys != NULL);
    for (uint32_t i = 0; i < count; i++) {
        const char *key;
        uint32_t len;
        CHECK (fed_mpr_str (&reader, &key, &len) == 0);
        CHECK (fed_text_valid (key, len));
        keys [i] = (fed_blob_t){(const uint8_t *) key, len};
        CHECK (fed_mpr_skip (&reader, &caps) == 0);
    }
    CHECK (fed_mpr_done (&reader));
    qsort (keys, count, sizeof (fed_blob_t), s_key_order);
    for (uint32_t i = 1; i < count; i++)
        CHECK (s_key_order (&keys [i - 1], &keys [i]) != 0);
    free (keys);
}

static void
s_agent (const frame_t *frame, const fed_aw_agent_t *agent)
{
    TEXT_FIELD (frame, agent->name, 1, FED_AW_NAME_MAX, NAME);
    TEXT_FIELD (frame, agent->version, 1, FED_AW_VERSION_MAX, VERSION);
    CHECK (agent->capability_count <= FED_AW_CAPS_MAX);
    for (uint32_t i = 0; i < FED_AW_CAPS_MAX; i++)
        if (i < agent->capability_count)
            TEXT_FIELD (frame, agent->capabilities [i], 1, FED_AW_NAME_MAX, NAME);
        else
            CHECK (agent->capabilities [i][0] == 0);
    //  The location map is level 5 of 16.
    if (agent->location)
        s_map (frame, agent->location, agent->location_size, FED_AW_DEPTH_MAX - 4, false);
    else
        CHECK (agent->location_size == 0);
}

//  Every borrowed pointer lies in the frame, every count and string is in
//  bounds.
static void
s_check (const frame_t *frame, const fed_aw_msg_t *msg)
{
    CHECK (msg->type > 0 && msg->type < FED_AW_TYPES);
    CHECK (strcmp (fed_aw_type_name (msg->type), "?") != 0);
    //  Accepted: one object, no trailing bytes, within the nesting cap.
    fed_mp_limits_t caps = {FED_AW_DEPTH_MAX, UINT32_MAX};
    CHECK (fed_mp_check (frame->data, frame->size, &caps, NULL, 0) == 0);
    if (msg->type != FED_AW_READY)
        CHECK (msg->agents == NULL && msg->agent_count == 0);
    if (msg->type != FED_AW_TASK)
        CHECK (msg->params == NULL && msg->params_size == 0);
    if (msg->type != FED_AW_RESULT)
        CHECK (msg->output == NULL && msg->output_size == 0);
    switch (msg->type) {
        case FED_AW_READY:
            CHECK (msg->agents != NULL);
            CHECK (msg->agent_count >= 1 && msg->agent_count <= FED_AW_AGENTS_MAX);
            CHECK (msg->slots >= 1 && msg->slots <= FED_AW_SLOTS_MAX);
            TEXT_FIELD (frame, msg->label, 0, FED_AW_NAME_MAX, LABEL);
            for (uint32_t i = 0; i < msg->agent_count; i++) {
                s_agent (frame, &msg->agents [i]);
                for (uint32_t j = 0; j < i; j++)
                    CHECK (strcmp (msg->agents [i].name, msg->agents [j].name) != 0);
            }
            break;
        case FED_AW_WELCOME: CHECK (msg->heartbeat_ms >= 1 && msg->liveness >= 1); break;
        case FED_AW_TASK:
            CHECK (msg->task >= 1);
            TEXT_FIELD (frame, msg->agent, 1, FED_AW_NAME_MAX, NAME);
            TEXT_FIELD (frame, msg->version, 1, FED_AW_VERSION_MAX, VERSION);
            //  params is level 3 of 16.
            s_map (frame, msg->params, msg->params_size, FED_AW_DEPTH_MAX - 2, true);
            TEXT_FIELD (frame, msg->run, 0, FED_AW_RUN_MAX, TEXT);
            TEXT_FIELD (frame, msg->step, 0, FED_AW_RUN_MAX, TEXT);
            TEXT_FIELD (frame, msg->workspace, 0, FED_AW_WORKSPACE_MAX, TEXT);
            break;
        case FED_AW_PROGRESS:
            CHECK (msg->task >= 1);
            TEXT_FIELD (frame, msg->text, 0, FED_AW_TEXT_MAX, TEXT);
            break;
        case FED_AW_RESULT:
            CHECK (msg->task >= 1);
            s_map (frame, msg->output, msg->output_size, FED_AW_DEPTH_MAX - 2, true);
            break;
        case FED_AW_FAIL:
            CHECK (msg->task >= 1);
            TEXT_FIELD (frame, msg->code, 1, FED_AW_CODE_MAX, CODE);
            TEXT_FIELD (frame, msg->message, 0, FED_AW_MESSAGE_MAX, TEXT);
            break;
        case FED_AW_CANCEL:
            CHECK (msg->task >= 1);
            TEXT_FIELD (frame, msg->code, 0, FED_AW_CODE_MAX, CODE);
            break;
        case FED_AW_ERROR:
            //  ERROR's own limits: code at most 32 bytes, message 512.
            TEXT_FIELD (frame, msg->code, 1, 32, CODE);
            TEXT_FIELD (frame, msg->message, 0, 512, TEXT);
            break;
        default: break; //  HEARTBEAT, BYE: an empty map, unknown keys skipped
    }
}

static void
s_same_blob (const uint8_t *a, size_t a_size, const uint8_t *b, size_t b_size)
{
    CHECK ((a == NULL) == (b == NULL));
    CHECK (a_size == b_size);
    CHECK (a_size == 0 || memcmp (a, b, a_size) == 0);
}

//  Two decoded messages (both zeroed first, so unused fields match too).
static void
s_same (const fed_aw_msg_t *a, const fed_aw_msg_t *b)
{
    CHECK (a->type == b->type);
    CHECK (a->agent_count == b->agent_count && a->slots == b->slots);
    CHECK (memcmp (a->label, b->label, sizeof a->label) == 0);
    for (uint32_t i = 0; i < a->agent_count; i++) {
        const fed_aw_agent_t *x = &a->agents [i], *y = &b->agents [i];
        CHECK (memcmp (x->name, y->name, sizeof x->name) == 0);
        CHECK (memcmp (x->version, y->version, sizeof x->version) == 0);
        CHECK (x->capability_count == y->capability_count);
        CHECK (memcmp (x->capabilities, y->capabilities, sizeof x->capabilities) == 0);
        s_same_blob (x->location, x->location_size, y->location, y->location_size);
    }
    CHECK (memcmp (a->node, b->node, sizeof a->node) == 0);
    CHECK (a->heartbeat_ms == b->heartbeat_ms && a->liveness == b->liveness);
    CHECK (a->task == b->task);
    CHECK (memcmp (a->agent, b->agent, sizeof a->agent) == 0);
    CHECK (memcmp (a->version, b->version, sizeof a->version) == 0);
    s_same_blob (a->params, a->params_size, b->params, b->params_size);
    CHECK (a->timeout_ms == b->timeout_ms && a->attempt == b->attempt);
    CHECK (memcmp (a->run, b->run, sizeof a->run) == 0);
    CHECK (memcmp (a->step, b->step, sizeof a->step) == 0);
    CHECK (memcmp (a->workspace, b->workspace, sizeof a->workspace) == 0);
    CHECK (a->done == b->done && a->total == b->total);
    CHECK (memcmp (a->text, b->text, sizeof a->text) == 0);
    s_same_blob (a->output, a->output_size, b->output, b->output_size);
    CHECK (memcmp (a->code, b->code, sizeof a->code) == 0);
    CHECK (memcmp (a->message, b->message, sizeof a->message) == 0);
}

int
fed_fuzz_agentwire (const uint8_t *data, size_t size)
{
    static const fed_aw_msg_t zeroed;
    fed_aw_msg_t msg;
    fed_err_t err = {0};
    int rc = fed_aw_decode (data, size, &msg, &err);
    //  Without an err to fill, the same verdict.
    fed_aw_msg_t quiet;
    CHECK (fed_aw_decode (data, size, &quiet, NULL) == rc);
    fed_aw_msg_clear (&quiet);
    if (rc != 0) {
        CHECK (rc == -1);
        CHECK (err.code > FED_AW_DROP_NONE && err.code <= FED_AW_DROP_MALFORMED);
        CHECK (err.text [0] != 0 && memchr (err.text, 0, sizeof err.text) != NULL);
        CHECK (memcmp (&msg, &zeroed, sizeof msg) == 0);
        fed_aw_msg_clear (&msg);
        return 0;
    }
    CHECK (err.code == FED_AW_DROP_NONE);
    frame_t frame = {data, size};
    s_check (&frame, &msg);
    //  What was accepted re-encodes, and the re-encoding means the same.
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    fed_aw_encode (&msg, &buffer);
    fed_aw_msg_t again;
    fed_err_t again_err = {0};
    if (fed_aw_decode (buffer.data, buffer.size, &again, &again_err) != 0) {
        fprintf (stderr, "fuzz_agentwire: the re-encoded %s is refused: %s\n",
                 fed_aw_type_name (msg.type), again_err.text);
        abort ();
    }
    frame_t reframe = {(const uint8_t *) buffer.data, buffer.size};
    s_check (&reframe, &again);
    s_same (&msg, &again);
    //  The encoding is a fixed point after one round.
    msgpack_sbuffer second;
    msgpack_sbuffer_init (&second);
    fed_aw_encode (&again, &second);
    CHECK (second.size == buffer.size && memcmp (second.data, buffer.data, buffer.size) == 0);
    msgpack_sbuffer_destroy (&second);
    fed_aw_msg_clear (&again);
    msgpack_sbuffer_destroy (&buffer);
    fed_aw_msg_clear (&msg);
    CHECK (msg.agents == NULL && msg.type == 0);
    return 0;
}

#ifndef FED_FUZZ_SMOKE
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    return fed_fuzz_agentwire (data, size);
}
#endif
