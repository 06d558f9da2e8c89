/*  tests/unit/test_agentwire.c: the agent protocol codec (doc/protocol.md §5).
    Every message type round-trips field by field, with and without its
    optional fields, and the examples of §5.5 come out byte for byte. Then
    each message is broken one way at a time, by rewriting a valid encoding
    at one field path: each required key missing, each field given every
    wrong type, each size and count limit exactly met (accepted) and
    exceeded by one (dropped as "limit"), ranges, the character rules of
    names, versions, codes and labels, params and output (str keys, none
    twice), unknown keys (ignored, under the nesting cap), duplicate keys,
    depth bombs, unknown type and version, huge declared lengths, trailing
    bytes, every truncation, and a few thousand byte flips: all from heap
    copies of exact size, so ASan sees any over-read. Whatever decodes
    re-encodes to the same message.
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

#include "agentwire.h"

//  --- Samples ----------------------------------------------------------------

static const uint8_t s_location [] = "\x81\xa6region\xa2"
                                     "eu";
static const uint8_t s_params [] = "\x82\xa4text\xa5"
                                   "a b a\xa4"
                                   "deep\x91\x81\xa1x\xc3";
static const uint8_t s_output [] = "\x82\xa5words\x03\xa6"
                                   "counts\x82\xa1"
                                   "a\x02\xa1"
                                   "b\x01";
static fed_aw_agent_t s_agents [2];

//  A valid message of type, with every field set to something telling.
static void
s_sample (fed_aw_type_t type, fed_aw_msg_t *msg)
{
    memset (msg, 0, sizeof *msg);
    msg->type = type;
    switch (type) {
        case FED_AW_READY:
            memset (s_agents, 0, sizeof s_agents);
            strcpy (s_agents [0].name, "py.wordcount");
            strcpy (s_agents [0].version, "1.0");
            s_agents [0].capability_count = 2;
            strcpy (s_agents [0].capabilities [0], "text");
            strcpy (s_agents [0].capabilities [1], "count_2-x");
            s_agents [0].location = s_location;
            s_agents [0].location_size = sizeof s_location - 1;
            strcpy (s_agents [1].name, "0sys-echo_2");
            strcpy (s_agents [1].version, "v2+build.7~!");
            msg->agents = s_agents;
            msg->agent_count = 2;
            msg->slots = 4;
            strcpy (msg->label, "wordcount@h\xc3\xb4te");
            break;
        case FED_AW_WELCOME:
            memset (msg->node, 0xab, sizeof msg->node);
            msg->heartbeat_ms = 1000;
            msg->liveness = 3;
            break;
        case FED_AW_TASK:
            msg->task = UINT64_MAX;
            strcpy (msg->agent, "py.wordcount");
            strcpy (msg->version, "1.0");
            msg->params = s_params;
            msg->params_size = sizeof s_params - 1;
            msg->timeout_ms = 3600000;
            strcpy (msg->run, "run-1");
            strcpy (msg->step, "count");
            msg->attempt = UINT32_MAX;
            strcpy (msg->workspace, "/var/lib/fednode/work/run-1/count/");
            break;
        case FED_AW_PROGRESS:
            msg->task = 7;
            msg->done = 1;
            msg->total = 3;
            strcpy (msg->text, "one of three");
            break;
        case FED_AW_RESULT:
            msg->task = 7;
            msg->output = s_output;
            msg->output_size = sizeof s_output - 1;
            break;
        case FED_AW_FAIL:
            msg->task = 8;
            strcpy (msg->code, "bad_params");
            strcpy (msg->message, "param \"text\" must be a str");
            break;
        case FED_AW_CANCEL:
            msg->task = 9;
            strcpy (msg->code, "timeout");
            break;
        case FED_AW_ERROR:
            msg->task = 10;
            strcpy (msg->code, "unknown_task");
            strcpy (msg->message, "no task 10 here");
            break;
        default: break; //  HEARTBEAT, BYE: empty
    }
}

//  --- Helpers ----------------------------------------------------------------

static void
s_encode (const fed_aw_msg_t *msg, packed_t *packed)
{
    fed_test_begin (packed);
    fed_aw_encode (msg, &packed->buffer);
}

//  Decodes from a heap copy of exactly size bytes, kept in *copy_p (the
//  message borrows from it; free it after use).
static int
s_decode (const void *data, size_t size, fed_aw_msg_t *msg, fed_err_t *err, uint8_t **copy_p)
{
    *copy_p = fed_test_copy (data, size);
    return fed_aw_decode (*copy_p, size, msg, err);
}

//  Expects data to be dropped for drop, with a message containing needle.
static void
s_expect_drop (const void *data, size_t size, fed_aw_drop_t drop, const char *needle)
{
    fed_aw_msg_t msg;
    fed_err_t err = {0, ""};
    uint8_t *copy;
    int rc = s_decode (data, size, &msg, &err, &copy);
    if (rc != -1 || err.code != (int) drop || (needle && !strstr (err.text, needle))) {
        print_error ("expected a drop as %s with \"%s\", got rc %d, drop %s: \"%s\"\n",
                     fed_aw_drop_name (drop), needle ? needle : "", rc,
                     fed_aw_drop_name ((fed_aw_drop_t) err.code), err.text);
        fail ();
    }
    assert_true (strlen (err.text) > 0);
    assert_null (msg.agents);
    assert_int_equal (msg.type, 0);
    fed_aw_msg_clear (&msg);
    free (copy);
}

static void
s_expect_ok (const void *data, size_t size)
{
    fed_aw_msg_t msg;
    fed_err_t err = {0, ""};
    uint8_t *copy;
    int rc = s_decode (data, size, &msg, &err, &copy);
    if (rc != 0) {
        print_error ("expected the message to decode, got %d: \"%s\"\n", rc, err.text);
        fail ();
    }
    fed_aw_msg_clear (&msg);
    free (copy);
}

static void
s_blob_equal (const uint8_t *a, size_t a_size, const uint8_t *b, size_t b_size)
{
    static const uint8_t empty [] = {0x80};
    if (!a || !a_size)
        a = empty, a_size = 1;
    if (!b || !b_size)
        b = empty, b_size = 1;
    assert_int_equal (a_size, b_size);
    assert_memory_equal (a, b, a_size);
}

static void
s_msg_equal (const fed_aw_msg_t *a, const fed_aw_msg_t *b)
{
    assert_int_equal (a->type, b->type);
    switch (a->type) {
        case FED_AW_READY:
            assert_int_equal (a->agent_count, b->agent_count);
            assert_int_equal (a->slots ? a->slots : 1, b->slots ? b->slots : 1);
            assert_string_equal (a->label, b->label);
            for (uint32_t i = 0; i < a->agent_count; i++) {
                const fed_aw_agent_t *x = &a->agents [i], *y = &b->agents [i];
                assert_string_equal (x->name, y->name);
                assert_string_equal (x->version, y->version);
                assert_int_equal (x->capability_count, y->capability_count);
                for (uint32_t c = 0; c < x->capability_count; c++)
                    assert_string_equal (x->capabilities [c], y->capabilities [c]);
                assert_int_equal (x->location == NULL, y->location == NULL);
                if (x->location)
                    s_blob_equal (x->location, x->location_size, y->location, y->location_size);
            }
            break;
        case FED_AW_WELCOME:
            assert_memory_equal (a->node, b->node, sizeof a->node);
            assert_true (a->heartbeat_ms == b->heartbeat_ms);
            assert_int_equal (a->liveness, b->liveness);
            break;
        case FED_AW_TASK:
            assert_true (a->task == b->task);
            assert_string_equal (a->agent, b->agent);
            assert_string_equal (a->version, b->version);
            s_blob_equal (a->params, a->params_size, b->params, b->params_size);
            assert_true (a->timeout_ms == b->timeout_ms);
            assert_string_equal (a->run, b->run);
            assert_string_equal (a->step, b->step);
            assert_int_equal (a->attempt, b->attempt);
            assert_string_equal (a->workspace, b->workspace);
            break;
        case FED_AW_PROGRESS:
            assert_true (a->task == b->task);
            assert_true (a->done == b->done);
            assert_true (a->total == b->total);
            assert_string_equal (a->text, b->text);
            break;
        case FED_AW_RESULT:
            assert_true (a->task == b->task);
            s_blob_equal (a->output, a->output_size, b->output, b->output_size);
            break;
        case FED_AW_FAIL:
        case FED_AW_CANCEL:
        case FED_AW_ERROR:
            assert_true (a->task == b->task);
            assert_string_equal (a->code, b->code);
            assert_string_equal (a->message, b->message);
            break;
        default: break;
    }
}

//  --- Rewriting a valid encoding at one field --------------------------------

//  The sample of type, rewritten at path in the body. Caller destroys *out.
static void
s_mutant (fed_aw_type_t type, const char *path, op_t op, const msgpack_sbuffer *value,
          packed_t *out)
{
    fed_aw_msg_t msg;
    s_sample (type, &msg);
    packed_t valid;
    s_encode (&msg, &valid);
    fed_test_mutate (&valid.buffer, path, op, value, out);
    msgpack_sbuffer_destroy (&valid.buffer);
}

static void
s_expect_mutant_drop (fed_aw_type_t type, const char *path, op_t op, const msgpack_sbuffer *value,
                      fed_aw_drop_t drop, const char *needle)
{
    packed_t mutant;
    s_mutant (type, path, op, value, &mutant);
    s_expect_drop (mutant.buffer.data, mutant.buffer.size, drop, needle);
    msgpack_sbuffer_destroy (&mutant.buffer);
}

static void
s_expect_mutant_ok (fed_aw_type_t type, const char *path, op_t op, const msgpack_sbuffer *value)
{
    packed_t mutant;
    s_mutant (type, path, op, value, &mutant);
    s_expect_ok (mutant.buffer.data, mutant.buffer.size);
    msgpack_sbuffer_destroy (&mutant.buffer);
}

//  --- The fields of each message ---------------------------------------------

typedef enum { K_STR, K_UINT, K_BIN32, K_LIST, K_MAP } kind_t;

typedef struct {
    fed_aw_type_t type;
    const char *path;
    kind_t kind;
    bool required;
    uint32_t min, max; //  str sizes; max 0: no size test
    const char *name;  //  the field name errors mention
} field_t;

static const field_t s_fields [] = {
    {FED_AW_READY, "agents", K_LIST, true, 0, 0, "agents"},
    {FED_AW_READY, "slots", K_UINT, false, 0, 0, "slots"},
    {FED_AW_READY, "name", K_STR, false, 0, 64, "name"},
    {FED_AW_READY, "agents.0.name", K_STR, true, 1, 64, "name"},
    {FED_AW_READY, "agents.0.version", K_STR, true, 1, 32, "version"},
    {FED_AW_READY, "agents.0.capabilities", K_LIST, false, 0, 0, "capabilities"},
    {FED_AW_READY, "agents.0.location", K_MAP, false, 0, 0, "location"},
    {FED_AW_WELCOME, "node", K_BIN32, true, 0, 0, "node"},
    {FED_AW_WELCOME, "heartbeat_ms", K_UINT, true, 0, 0, "heartbeat_ms"},
    {FED_AW_WELCOME, "liveness", K_UINT, true, 0, 0, "liveness"},
    {FED_AW_TASK, "task", K_UINT, true, 0, 0, "task"},
    {FED_AW_TASK, "agent", K_STR, true, 1, 64, "agent"},
    {FED_AW_TASK, "version", K_STR, true, 1, 32, "version"},
    {FED_AW_TASK, "params", K_MAP, true, 0, 0, "params"},
    {FED_AW_TASK, "timeout_ms", K_UINT, true, 0, 0, "timeout_ms"},
    {FED_AW_TASK, "run", K_STR, true, 0, 128, "run"},
    {FED_AW_TASK, "step", K_STR, true, 0, 128, "step"},
    {FED_AW_TASK, "attempt", K_UINT, true, 0, 0, "attempt"},
    {FED_AW_TASK, "workspace", K_STR, true, 0, 4096, "workspace"},
    {FED_AW_PROGRESS, "task", K_UINT, true, 0, 0, "task"},
    {FED_AW_PROGRESS, "done", K_UINT, true, 0, 0, "done"},
    {FED_AW_PROGRESS, "total", K_UINT, false, 0, 0, "total"},
    {FED_AW_PROGRESS, "text", K_STR, false, 0, 255, "text"},
    {FED_AW_RESULT, "task", K_UINT, true, 0, 0, "task"},
    {FED_AW_RESULT, "output", K_MAP, true, 0, 0, "output"},
    {FED_AW_FAIL, "task", K_UINT, true, 0, 0, "task"},
    {FED_AW_FAIL, "code", K_STR, true, 1, 63, "code"},
    {FED_AW_FAIL, "message", K_STR, false, 0, 1023, "message"},
    {FED_AW_CANCEL, "task", K_UINT, true, 0, 0, "task"},
    {FED_AW_CANCEL, "reason", K_STR, false, 0, 63, "reason"},
    {FED_AW_ERROR, "code", K_STR, true, 1, 32, "code"},
    {FED_AW_ERROR, "message", K_STR, true, 0, 512, "message"},
    {FED_AW_ERROR, "task", K_UINT, false, 0, 0, "task"},
};

#define FIELD_COUNT (sizeof s_fields / sizeof s_fields [0])

static bool
s_accepts (kind_t kind, fed_mp_type_t type)
{
    switch (kind) {
        case K_STR: return type == FED_MP_STR;
        case K_LIST: return type == FED_MP_ARRAY;
        case K_MAP: return type == FED_MP_MAP;
        default: return false; //  K_BIN32: only bin of 32; K_UINT: none of fed_test_wrong
    }
}

//  --- Tests: round trips -------------------------------------------------------

static void
test_round_trip (void **state)
{
    (void) state;
    for (int type = 1; type < FED_AW_TYPES; type++) {
        fed_aw_msg_t msg, back;
        s_sample ((fed_aw_type_t) type, &msg);
        packed_t packed;
        s_encode (&msg, &packed);
        fed_err_t err = {0, ""};
        uint8_t *copy;
        if (s_decode (packed.buffer.data, packed.buffer.size, &back, &err, &copy)) {
            print_error ("expected %s to decode, got: %s\n", fed_aw_type_name (msg.type), err.text);
            fail ();
        }
        s_msg_equal (&msg, &back);
        //  Free-form values are borrowed from the frame; the agent list is
        //  the message's own.
        const uint8_t *end = copy + packed.buffer.size;
        if (type == FED_AW_TASK)
            assert_true (back.params > copy && back.params < end);
        if (type == FED_AW_RESULT)
            assert_true (back.output > copy && back.output < end);
        if (type == FED_AW_READY)
            assert_true (back.agents [0].location > copy && back.agents [0].location < end);
        assert_int_equal (back.agents != NULL, type == FED_AW_READY);
        fed_aw_msg_clear (&back);
        assert_null (back.agents);
        assert_int_equal (back.type, 0);
        free (copy);
        msgpack_sbuffer_destroy (&packed.buffer);
    }
}

//  Optional fields left out decode to their defaults.
static void
test_round_trip_defaults (void **state)
{
    (void) state;
    fed_aw_msg_t msgs [7];
    int n = 0;
    s_sample (FED_AW_READY, &msgs [n]);
    msgs [n].slots = 0;
    msgs [n].label [0] = 0;
    s_agents [0].capability_count = 0;
    s_agents [0].location = NULL;
    n++;
    s_sample (FED_AW_TASK, &msgs [n]);
    msgs [n].params = NULL;
    msgs [n].run [0] = msgs [n].step [0] = msgs [n].workspace [0] = 0;
    n++;
    s_sample (FED_AW_PROGRESS, &msgs [n]);
    msgs [n].total = 0;
    msgs [n++].text [0] = 0;
    s_sample (FED_AW_RESULT, &msgs [n]);
    msgs [n++].output = NULL;
    s_sample (FED_AW_FAIL, &msgs [n]);
    msgs [n++].message [0] = 0;
    s_sample (FED_AW_CANCEL, &msgs [n]);
    msgs [n++].code [0] = 0;
    s_sample (FED_AW_ERROR, &msgs [n]);
    msgs [n++].task = 0;
    for (int i = 0; i < n; i++) {
        fed_aw_msg_t back;
        packed_t packed;
        s_encode (&msgs [i], &packed);
        uint8_t *copy;
        fed_err_t err = {0, ""};
        assert_int_equal (s_decode (packed.buffer.data, packed.buffer.size, &back, &err, &copy), 0);
        s_msg_equal (&msgs [i], &back);
        if (back.type == FED_AW_READY) {
            assert_int_equal (back.slots, 1);
            assert_null (back.agents [0].location);
            assert_int_equal (back.agents [0].location_size, 0);
        }
        fed_aw_msg_clear (&back);
        free (copy);
        msgpack_sbuffer_destroy (&packed.buffer);
    }
}

static void
s_expect_bytes (const fed_aw_msg_t *msg, const char *expected, size_t size)
{
    packed_t packed;
    s_encode (msg, &packed);
    if (packed.buffer.size != size || memcmp (packed.buffer.data, expected, size) != 0) {
        print_error ("%s: expected %zu bytes as in doc/protocol.md §5.5, got %zu\n",
                     fed_aw_type_name (msg->type), size, packed.buffer.size);
        fail ();
    }
    s_expect_ok (expected, size);
    msgpack_sbuffer_destroy (&packed.buffer);
}

//  The example of doc/protocol.md §5.5, byte for byte.
static void
test_doc_example (void **state)
{
    (void) state;
    fed_aw_agent_t agent = {.name = "py.wordcount", .version = "1.0"};
    fed_aw_msg_t msg = {.type = FED_AW_READY, .agents = &agent, .agent_count = 1, .slots = 2};
    s_expect_bytes (&msg,
                    RAW ("\x93\x01\xa5READY\x82\xa6"
                         "agents\x91\x82\xa4name\xacpy.wordcount\xa7version\xa3"
                         "1.0\xa5slots\x02"));
    msg = (fed_aw_msg_t){.type = FED_AW_WELCOME, .heartbeat_ms = 1000, .liveness = 3};
    memset (msg.node, 0x11, sizeof msg.node);
    s_expect_bytes (&msg,
                    RAW ("\x93\x01\xa7WELCOME\x83\xa4node\xc4\x20"
                         "\x11\x11\x11\x11\x11\x11\x11\x11\x11\x11\x11\x11\x11\x11\x11\x11"
                         "\x11\x11\x11\x11\x11\x11\x11\x11\x11\x11\x11\x11\x11\x11\x11\x11"
                         "\xac"
                         "heartbeat_ms\xcd\x03\xe8\xa8liveness\x03"));
    static const char params [] = "\x81\xa4text\xa5"
                                  "a b a";
    msg = (fed_aw_msg_t){.type = FED_AW_TASK,
                         .task = 7,
                         .agent = "py.wordcount",
                         .version = "1.0",
                         .params = (const uint8_t *) params,
                         .params_size = sizeof params - 1,
                         .timeout_ms = 3600000};
    s_expect_bytes (&msg,
                    RAW ("\x93\x01\xa4TASK\x89\xa4task\x07\xa5"
                         "agent\xacpy.wordcount\xa7version\xa3"
                         "1.0\xa6params\x81\xa4text\xa5"
                         "a b a\xaatimeout_ms\xce\x00\x36\xee\x80\xa3run\xa0\xa4step\xa0"
                         "\xa7"
                         "attempt\x00\xa9workspace\xa0"));
    msg = (fed_aw_msg_t){.type = FED_AW_PROGRESS, .task = 7, .done = 1, .total = 1};
    s_expect_bytes (&msg,
                    RAW ("\x93\x01\xa8PROGRESS\x83\xa4task\x07\xa4"
                         "done\x01\xa5total\x01"));
    static const char output [] = "\x82\xa5words\x03\xa6"
                                  "counts\x82\xa1"
                                  "a\x02\xa1"
                                  "b\x01";
    msg = (fed_aw_msg_t){.type = FED_AW_RESULT,
                         .task = 7,
                         .output = (const uint8_t *) output,
                         .output_size = sizeof output - 1};
    s_expect_bytes (&msg,
                    RAW ("\x93\x01\xa6RESULT\x82\xa4task\x07\xa6output\x82\xa5words\x03\xa6"
                         "counts\x82\xa1"
                         "a\x02\xa1"
                         "b\x01"));
    msg = (fed_aw_msg_t){.type = FED_AW_HEARTBEAT};
    s_expect_bytes (&msg, RAW ("\x93\x01\xa9HEARTBEAT\x80"));
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
            s_expect_mutant_drop (field->type, field->path, OMIT, NULL, FED_AW_DROP_MALFORMED,
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
            snprintf (needle, sizeof needle, "'%s' must be", field->name);
            s_expect_mutant_drop (field->type, field->path, SET, &value.buffer,
                                  FED_AW_DROP_MALFORMED, needle);
            msgpack_sbuffer_destroy (&value.buffer);
            tried++;
        }
    }
    assert_true (tried > 200);
    //  An agent that is not a map is named by its index; a body that is
    //  not a map by its type.
    packed_t value;
    fed_test_value_raw (&value, RAW ("\x90"));
    s_expect_mutant_drop (FED_AW_READY, "agents.1", SET, &value.buffer, FED_AW_DROP_MALFORMED,
                          "READY agents[1] must be a map with str keys, got array");
    msgpack_sbuffer_destroy (&value.buffer);
    s_expect_drop (RAW ("\x93\x01\xa4TASK\x91\x01"), FED_AW_DROP_MALFORMED,
                   "TASK body must be a map with str keys, got array");
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
        fed_test_value_str (&value, field->max, 'a');
        s_expect_mutant_ok (field->type, field->path, SET, &value.buffer);
        msgpack_sbuffer_destroy (&value.buffer);
        fed_test_value_str (&value, field->max + 1, 'a');
        char needle [80];
        snprintf (needle, sizeof needle, "'%s' is %u bytes, over the limit of %u", field->name,
                  field->max + 1, field->max);
        s_expect_mutant_drop (field->type, field->path, SET, &value.buffer, FED_AW_DROP_LIMIT,
                              needle);
        msgpack_sbuffer_destroy (&value.buffer);
        fed_test_value_str (&value, 0, 'a');
        if (field->min == 1)
            s_expect_mutant_drop (field->type, field->path, SET, &value.buffer,
                                  FED_AW_DROP_MALFORMED, "at least 1 bytes");
        else
            s_expect_mutant_ok (field->type, field->path, SET, &value.buffer);
        msgpack_sbuffer_destroy (&value.buffer);
    }
    //  A capability is a name too.
    packed_t value;
    fed_test_value_str (&value, 64, 'c');
    s_expect_mutant_ok (FED_AW_READY, "agents.0.capabilities.1", SET, &value.buffer);
    msgpack_sbuffer_destroy (&value.buffer);
    fed_test_value_str (&value, 65, 'c');
    s_expect_mutant_drop (FED_AW_READY, "agents.0.capabilities.1", SET, &value.buffer,
                          FED_AW_DROP_LIMIT,
                          "READY agents[0]: 'capabilities[1]' is 65 bytes, over the limit of 64");
    msgpack_sbuffer_destroy (&value.buffer);
    fed_test_value_str (&value, 0, 'c');
    s_expect_mutant_drop (FED_AW_READY, "agents.0.capabilities.1", SET, &value.buffer,
                          FED_AW_DROP_MALFORMED, "'capabilities[1]' must be at least 1 bytes");
    msgpack_sbuffer_destroy (&value.buffer);
}

//  An array of n elements, each a name, or a map of n str keys.
static void
s_value_names (packed_t *value, uint32_t n, bool agents)
{
    fed_test_begin (value);
    msgpack_pack_array (&value->pk, n);
    for (uint32_t i = 0; i < n; i++) {
        char name [16];
        snprintf (name, sizeof name, "n%u", i);
        if (agents) {
            msgpack_pack_map (&value->pk, 2);
            msgpack_pack_str_with_body (&value->pk, "name", 4);
            msgpack_pack_str_with_body (&value->pk, name, strlen (name));
            msgpack_pack_str_with_body (&value->pk, "version", 7);
            msgpack_pack_str_with_body (&value->pk, "1", 1);
        } else
            msgpack_pack_str_with_body (&value->pk, name, strlen (name));
    }
}

static void
test_count_limits (void **state)
{
    (void) state;
    packed_t value;
    s_value_names (&value, 64, true);
    s_expect_mutant_ok (FED_AW_READY, "agents", SET, &value.buffer);
    msgpack_sbuffer_destroy (&value.buffer);
    s_value_names (&value, 65, true);
    s_expect_mutant_drop (FED_AW_READY, "agents", SET, &value.buffer, FED_AW_DROP_LIMIT,
                          "READY: 'agents' has 65 elements, over the limit of 64");
    msgpack_sbuffer_destroy (&value.buffer);
    s_value_names (&value, 0, true);
    s_expect_mutant_drop (FED_AW_READY, "agents", SET, &value.buffer, FED_AW_DROP_MALFORMED,
                          "'agents' must offer at least 1 agent");
    msgpack_sbuffer_destroy (&value.buffer);
    s_value_names (&value, 32, false);
    s_expect_mutant_ok (FED_AW_READY, "agents.1.capabilities", SET, &value.buffer);
    msgpack_sbuffer_destroy (&value.buffer);
    s_value_names (&value, 33, false);
    s_expect_mutant_drop (FED_AW_READY, "agents.1.capabilities", SET, &value.buffer,
                          FED_AW_DROP_LIMIT,
                          "READY agents[1]: 'capabilities' has 33 elements, over the limit of 32");
    msgpack_sbuffer_destroy (&value.buffer);
    s_value_names (&value, 0, false);
    s_expect_mutant_ok (FED_AW_READY, "agents.1.capabilities", SET, &value.buffer);
    msgpack_sbuffer_destroy (&value.buffer);
}

//  Values out of range, and the character rules of §5.3.
static void
test_ranges_and_chars (void **state)
{
    (void) state;
    static const struct {
        fed_aw_type_t type;
        const char *path;
        const char *bytes;
        size_t size;
        fed_aw_drop_t drop; //  NONE: accepted
        const char *needle;
    } cases [] = {
        {FED_AW_READY, "slots", RAW ("\x01"), FED_AW_DROP_NONE, NULL},
        {FED_AW_READY, "slots", RAW ("\xcd\x01\x00"), FED_AW_DROP_NONE, NULL}, //  256
        {FED_AW_READY, "slots", RAW ("\xcd\x01\x01"), FED_AW_DROP_LIMIT,
         "READY: 'slots' is 257, over the limit of 256"},
        {FED_AW_READY, "slots", RAW ("\xcf\xff\xff\xff\xff\xff\xff\xff\xff"), FED_AW_DROP_LIMIT,
         "'slots' is 18446744073709551615"},
        {FED_AW_READY, "slots", RAW ("\x00"), FED_AW_DROP_MALFORMED,
         "READY: 'slots' must be 1 or more, got 0"},
        {FED_AW_READY, "name", RAW ("\xa4\x61\x0a\x62\x63"), FED_AW_DROP_MALFORMED,
         "'name' must be text without control characters, got 'a?bc'"},
        {FED_AW_READY, "name", RAW ("\xa3\x61\x7f\x62"), FED_AW_DROP_MALFORMED, "'name' must be"},
        {FED_AW_READY, "name", RAW ("\xa2\xc3\x28"), FED_AW_DROP_MALFORMED,
         "READY: 'name' is not UTF-8 text without NUL"},
        {FED_AW_READY, "name", RAW ("\xa3\x61\x00\x62"), FED_AW_DROP_MALFORMED,
         "is not UTF-8 text without NUL"},
        {FED_AW_READY, "agents.0.name", RAW ("\xa1\x30"), FED_AW_DROP_NONE, NULL},
        {FED_AW_READY, "agents.0.name", RAW ("\xa3\x61\x2e\x2d"), FED_AW_DROP_NONE, NULL},
        {FED_AW_READY, "agents.0.name", RAW ("\xa2.a"), FED_AW_DROP_MALFORMED,
         "READY agents[0]: 'name' must be a name: a-z, 0-9, '.', '_', '-', first a letter or "
         "digit, got '.a'"},
        {FED_AW_READY, "agents.0.name", RAW ("\xa2_a"), FED_AW_DROP_MALFORMED, "got '_a'"},
        {FED_AW_READY, "agents.0.name",
         RAW ("\xa2"
              "aB"),
         FED_AW_DROP_MALFORMED, "'name' must be a name"},
        {FED_AW_READY, "agents.0.name",
         RAW ("\xa3"
              "a b"),
         FED_AW_DROP_MALFORMED, "'name' must be a name"},
        {FED_AW_READY, "agents.0.name",
         RAW ("\xa3"
              "a/b"),
         FED_AW_DROP_MALFORMED, "'name' must be a name"},
        {FED_AW_READY, "agents.0.name", RAW ("\xa3\xc3\xa9t"), FED_AW_DROP_MALFORMED,
         "'name' must be a name"},
        {FED_AW_READY, "agents.1.name",
         RAW ("\xac"
              "py.wordcount"),
         FED_AW_DROP_MALFORMED,
         "READY agents[1]: agent 'py.wordcount' is offered twice (also agents[0])"},
        {FED_AW_READY, "agents.0.capabilities.0", RAW ("\xa1X"), FED_AW_DROP_MALFORMED,
         "READY agents[0]: 'capabilities[0]' must be a name"},
        {FED_AW_READY, "agents.0.capabilities.0", RAW ("\x01"), FED_AW_DROP_MALFORMED,
         "'capabilities[0]' must be a str of 1..64 bytes, got uint"},
        {FED_AW_READY, "agents.0.version",
         RAW ("\xa3"
              "1 0"),
         FED_AW_DROP_MALFORMED, "READY agents[0]: 'version' must be printable ASCII"},
        {FED_AW_READY, "agents.0.version", RAW ("\xa3\x31\x09\x30"), FED_AW_DROP_MALFORMED,
         "'version' must be printable ASCII"},
        {FED_AW_READY, "agents.0.version", RAW ("\xa2\xc3\xa9"), FED_AW_DROP_MALFORMED,
         "'version' must be printable ASCII"},
        {FED_AW_READY, "agents.0.version", RAW ("\xa3!~a"), FED_AW_DROP_NONE, NULL},
        {FED_AW_TASK, "agent", RAW ("\xa2Py"), FED_AW_DROP_MALFORMED,
         "TASK: 'agent' must be a name"},
        {FED_AW_TASK, "version", RAW ("\xa0"), FED_AW_DROP_MALFORMED,
         "TASK: 'version' must be at least 1 bytes"},
        {FED_AW_TASK, "task", RAW ("\x00"), FED_AW_DROP_MALFORMED,
         "TASK: 'task' must be 1 or more, got 0"},
        {FED_AW_TASK, "attempt", RAW ("\xce\xff\xff\xff\xff"), FED_AW_DROP_NONE, NULL},
        {FED_AW_TASK, "attempt", RAW ("\xcf\x00\x00\x00\x01\x00\x00\x00\x00"),
         FED_AW_DROP_MALFORMED, "TASK: 'attempt' is 4294967296, over the limit of 4294967295"},
        {FED_AW_TASK, "timeout_ms", RAW ("\x00"), FED_AW_DROP_NONE, NULL},
        {FED_AW_TASK, "run", RAW ("\xa2\xc0\x80"), FED_AW_DROP_MALFORMED,
         "'run' is not UTF-8"}, //  overlong NUL
        {FED_AW_TASK, "step", RAW ("\xa3\xed\xa0\x80"), FED_AW_DROP_MALFORMED,
         "'step' is not UTF-8"}, //  a surrogate
        {FED_AW_TASK, "workspace", RAW ("\xa4\xf0\x9f\x98\x80"), FED_AW_DROP_NONE, NULL},
        {FED_AW_PROGRESS, "task", RAW ("\x00"), FED_AW_DROP_MALFORMED, "'task' must be 1 or more"},
        {FED_AW_RESULT, "task", RAW ("\x00"), FED_AW_DROP_MALFORMED, "'task' must be 1 or more"},
        {FED_AW_FAIL, "task", RAW ("\x00"), FED_AW_DROP_MALFORMED, "'task' must be 1 or more"},
        {FED_AW_CANCEL, "task", RAW ("\x00"), FED_AW_DROP_MALFORMED, "'task' must be 1 or more"},
        {FED_AW_ERROR, "task", RAW ("\x00"), FED_AW_DROP_NONE, NULL},
        {FED_AW_FAIL, "code",
         RAW ("\xa5"
              "a.b_9"),
         FED_AW_DROP_NONE, NULL},
        {FED_AW_FAIL, "code",
         RAW ("\xa3"
              "a-b"),
         FED_AW_DROP_MALFORMED, "FAIL: 'code' must be a code: a-z, 0-9, '_', '.', got 'a-b'"},
        {FED_AW_FAIL, "code",
         RAW ("\xa3"
              "Bad"),
         FED_AW_DROP_MALFORMED, "'code' must be a code"},
        {FED_AW_ERROR, "code", RAW ("\xa9not ready"), FED_AW_DROP_MALFORMED,
         "ERROR: 'code' must be a code"},
        {FED_AW_CANCEL, "reason",
         RAW ("\xa9"
              "cancelled"),
         FED_AW_DROP_NONE, NULL},
        {FED_AW_CANCEL, "reason",
         RAW ("\xa4"
              "Time"),
         FED_AW_DROP_MALFORMED, "CANCEL: 'reason' must be a code"},
        {FED_AW_WELCOME, "heartbeat_ms", RAW ("\x00"), FED_AW_DROP_MALFORMED,
         "WELCOME: 'heartbeat_ms' must be 1 or more"},
        {FED_AW_WELCOME, "liveness", RAW ("\x00"), FED_AW_DROP_MALFORMED,
         "WELCOME: 'liveness' must be 1 or more"},
        {FED_AW_WELCOME, "liveness", RAW ("\xcf\x00\x00\x00\x01\x00\x00\x00\x00"),
         FED_AW_DROP_MALFORMED, "'liveness' is 4294967296, over the limit"},
        {FED_AW_WELCOME, "node",
         RAW ("\xc4\x1f"
              "0123456789abcdef0123456789abcde"),
         FED_AW_DROP_MALFORMED, "WELCOME: 'node' must be bin of 32 bytes, got 31"},
        {FED_AW_WELCOME, "node",
         RAW ("\xc4\x21"
              "0123456789abcdef0123456789abcdef!"),
         FED_AW_DROP_MALFORMED, "got 33"},
        {FED_AW_WELCOME, "node",
         RAW ("\xc6\x00\x00\x00\x20"
              "0123456789abcdef0123456789abcdef"),
         FED_AW_DROP_NONE, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++) {
        packed_t value;
        fed_test_value_raw (&value, cases [i].bytes, cases [i].size);
        if (cases [i].drop == FED_AW_DROP_NONE)
            s_expect_mutant_ok (cases [i].type, cases [i].path, SET, &value.buffer);
        else
            s_expect_mutant_drop (cases [i].type, cases [i].path, SET, &value.buffer,
                                  cases [i].drop, cases [i].needle);
        msgpack_sbuffer_destroy (&value.buffer);
    }
}

//  params and output: maps with str keys, none twice, within the cap.
static void
test_objects (void **state)
{
    (void) state;
    static const struct {
        const char *bytes;
        size_t size;
        fed_aw_drop_t drop;
        const char *needle; //  "%s" is the field
    } cases [] = {
        {RAW ("\x80"), FED_AW_DROP_NONE, NULL},
        {RAW ("\x82\xa1"
              "a\x01\xa1"
              "b\x81\x01\x02"),
         FED_AW_DROP_NONE, NULL}, //  keys below the top are free
        {RAW ("\x81\x01\x02"), FED_AW_DROP_MALFORMED, "'%s' keys must be str, got uint"},
        {RAW ("\x81\xc4\x01"
              "a\x02"),
         FED_AW_DROP_MALFORMED, "'%s' keys must be str, got bin"},
        {RAW ("\x82\xa1"
              "a\x01\xa1"
              "a\x02"),
         FED_AW_DROP_MALFORMED, "'%s' key 'a' is given twice"},
        {RAW ("\x83\xa2"
              "ab\x01\xa1"
              "a\x02\xa2"
              "ab\xc0"),
         FED_AW_DROP_MALFORMED, "'%s' key 'ab' is given twice"},
        {RAW ("\x82\xa1"
              "a\x01\xa2"
              "ab\x02"),
         FED_AW_DROP_NONE, NULL}, //  a prefix is another key
        {RAW ("\x81\xa2\xc3\x28\x01"), FED_AW_DROP_MALFORMED,
         "a key of '%s' is not UTF-8 text without NUL"},
        {RAW ("\x81\xa1"
              "a\xc1"),
         FED_AW_DROP_MALFORMED, "'%s' key 'a' is truncated, malformed"},
        {RAW ("\xdf\xff\xff\xff\xff"), FED_AW_DROP_MALFORMED,
         "'%s' declares more entries than the frame holds"},
        {RAW ("\x81\xdb\xff\xff\xff\xff"), FED_AW_DROP_MALFORMED, "a key of '%s' is truncated"},
        {RAW ("\x81\xa1"
              "a\xdd\xff\xff\xff\xff"),
         FED_AW_DROP_MALFORMED, "'%s' key 'a' is truncated"},
        {RAW ("\x90"), FED_AW_DROP_MALFORMED, "'%s' must be a map with str keys, got array"},
    };
    static const struct {
        fed_aw_type_t type;
        const char *field;
    } where [] = {{FED_AW_TASK, "params"}, {FED_AW_RESULT, "output"}};
    for (size_t w = 0; w < 2; w++)
        for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++) {
            packed_t value;
            fed_test_value_raw (&value, cases [i].bytes, cases [i].size);
            //  The needle with its "%s" replaced by the field's name.
            char needle [96] = "";
            const char *mark = cases [i].needle ? strstr (cases [i].needle, "%s") : NULL;
            if (mark)
                snprintf (needle, sizeof needle, "%.*s%s%s", (int) (mark - cases [i].needle),
                          cases [i].needle, where [w].field, mark + 2);
            if (cases [i].drop == FED_AW_DROP_NONE)
                s_expect_mutant_ok (where [w].type, where [w].field, SET, &value.buffer);
            else
                s_expect_mutant_drop (where [w].type, where [w].field, SET, &value.buffer,
                                      cases [i].drop, needle);
            msgpack_sbuffer_destroy (&value.buffer);
        }
    //  Many keys: the duplicate check sorts rather than compares pairs.
    packed_t value;
    fed_test_begin (&value);
    msgpack_pack_map (&value.pk, 20000);
    for (uint32_t i = 0; i < 20000; i++) {
        char key [16];
        snprintf (key, sizeof key, "k%u", i == 19999 ? 7 : i);
        msgpack_pack_str_with_body (&value.pk, key, strlen (key));
        msgpack_pack_nil (&value.pk);
    }
    s_expect_mutant_drop (FED_AW_TASK, "params", SET, &value.buffer, FED_AW_DROP_MALFORMED,
                          "TASK: 'params' key 'k7' is given twice");
    msgpack_sbuffer_destroy (&value.buffer);
    //  location: a map, contents not looked at.
    fed_test_value_raw (&value, RAW ("\x81\x01\x02"));
    s_expect_mutant_ok (FED_AW_READY, "agents.0.location", SET, &value.buffer);
    msgpack_sbuffer_destroy (&value.buffer);
    fed_test_value_raw (&value, RAW ("\x92\x01\x02"));
    s_expect_mutant_drop (FED_AW_READY, "agents.0.location", SET, &value.buffer,
                          FED_AW_DROP_MALFORMED,
                          "READY agents[0]: 'location' must be a map, got array");
    msgpack_sbuffer_destroy (&value.buffer);
    fed_test_value_raw (&value, RAW ("\x81\xa1x\xc1"));
    s_expect_mutant_drop (FED_AW_READY, "agents.0.location", SET, &value.buffer,
                          FED_AW_DROP_MALFORMED, "'location' is truncated, malformed");
    msgpack_sbuffer_destroy (&value.buffer);
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
    for (int type = 1; type < FED_AW_TYPES; type++) {
        packed_t mutant;
        s_mutant ((fed_aw_type_t) type, "x-later", SET, &value.buffer, &mutant);
        fed_aw_msg_t msg, back;
        s_sample ((fed_aw_type_t) type, &msg);
        uint8_t *copy;
        fed_err_t err = {0, ""};
        assert_int_equal (s_decode (mutant.buffer.data, mutant.buffer.size, &back, &err, &copy), 0);
        s_msg_equal (&msg, &back);
        fed_aw_msg_clear (&back);
        free (copy);
        msgpack_sbuffer_destroy (&mutant.buffer);
    }
    s_expect_mutant_ok (FED_AW_READY, "agents.1.x-later", SET, &value.buffer);
    msgpack_sbuffer_destroy (&value.buffer);
    //  A listed key may not repeat, in a body or in an agent.
    fed_test_value_raw (&value, RAW ("\x05"));
    s_expect_mutant_drop (FED_AW_PROGRESS, "done", DUP, &value.buffer, FED_AW_DROP_MALFORMED,
                          "PROGRESS: key 'done' is given twice");
    s_expect_mutant_drop (FED_AW_READY, "slots", DUP, &value.buffer, FED_AW_DROP_MALFORMED,
                          "READY: key 'slots' is given twice");
    msgpack_sbuffer_destroy (&value.buffer);
    fed_test_value_raw (&value, RAW ("\xa1z"));
    s_expect_mutant_drop (FED_AW_READY, "agents.1.name", DUP, &value.buffer, FED_AW_DROP_MALFORMED,
                          "READY agents[1]: key 'name' is given twice");
    msgpack_sbuffer_destroy (&value.buffer);
    //  Keys that are not str.
    s_expect_drop (RAW ("\x93\x01\xa3"
                        "BYE\x81\x01\x02"),
                   FED_AW_DROP_MALFORMED, "BYE: keys must be str, got uint");
    s_expect_drop (RAW ("\x93\x01\xa3"
                        "BYE\x81\xa1\xff\xc1"),
                   FED_AW_DROP_MALFORMED, "unknown key '?'");
}

static void
test_nesting_cap (void **state)
{
    (void) state;
    static const struct {
        fed_aw_type_t type;
        const char *path;
        const char *prefix; //  what encloses the nested arrays
        size_t prefix_size;
        size_t ok; //  deepest accepted nesting; one more is a limit drop
        const char *needle;
    } cases [] = {
        //  A body's value sits at level 3: 14 containers reach level 16.
        {FED_AW_HEARTBEAT, "x", "", 0, 14, "HEARTBEAT: the value of unknown key 'x' nests deeper"},
        {FED_AW_TASK, "x", "", 0, 14, "TASK: the value of unknown key 'x' nests deeper than 16"},
        //  An agent's value sits at level 5.
        {FED_AW_READY, "agents.0.x", "", 0, 12, "READY agents[0]: the value of unknown key 'x'"},
        {FED_AW_READY, "agents.0.location", RAW ("\x81\xa1l"), 11,
         "READY agents[0]: 'location' nests deeper than 16 levels"},
        //  params is level 3, its values level 4.
        {FED_AW_TASK, "params", RAW ("\x81\xa1p"), 13,
         "TASK: 'params' key 'p' nests deeper than 16 levels"},
        {FED_AW_RESULT, "output", RAW ("\x81\xa1o"), 13, "RESULT: 'output' key 'o' nests deeper"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++) {
        packed_t value;
        fed_test_value_nested (&value, cases [i].prefix, cases [i].prefix_size, cases [i].ok);
        s_expect_mutant_ok (cases [i].type, cases [i].path, SET, &value.buffer);
        msgpack_sbuffer_destroy (&value.buffer);
        fed_test_value_nested (&value, cases [i].prefix, cases [i].prefix_size, cases [i].ok + 1);
        s_expect_mutant_drop (cases [i].type, cases [i].path, SET, &value.buffer, FED_AW_DROP_LIMIT,
                              cases [i].needle);
        msgpack_sbuffer_destroy (&value.buffer);
        //  A bomb: refused without recursing all the way down.
        fed_test_value_nested (&value, cases [i].prefix, cases [i].prefix_size, 200000);
        s_expect_mutant_drop (cases [i].type, cases [i].path, SET, &value.buffer,
                              FED_AW_DROP_MALFORMED, "nests deeper than 16");
        msgpack_sbuffer_destroy (&value.buffer);
    }
}

//  --- Tests: envelope ---------------------------------------------------------------

static void
test_envelope (void **state)
{
    (void) state;
    static const struct {
        const char *bytes;
        size_t size;
        fed_aw_drop_t drop;
        const char *needle;
    } cases [] = {
        {RAW ("\x93\x02\xa9HEARTBEAT\x80"), FED_AW_DROP_VERSION, "envelope version 2"},
        {RAW ("\x91\x02"), FED_AW_DROP_VERSION, "envelope version 2"},
        {RAW ("\x93\x00\xa3"
              "BYE\x80"),
         FED_AW_DROP_VERSION, "version 0"},
        {RAW ("\x93\xcf\xff\xff\xff\xff\xff\xff\xff\xff\xa3"
              "BYE\x80"),
         FED_AW_DROP_VERSION, "18446744073709551615"},
        {RAW ("\x93\xa1"
              "1\xa3"
              "BYE\x80"),
         FED_AW_DROP_MALFORMED, "element 0 must be the protocol version (a uint), got str"},
        {RAW ("\x93\xff\xa3"
              "BYE\x80"),
         FED_AW_DROP_MALFORMED, "got int"},
        {RAW ("\x93\x01\xa4NOPE\x80"), FED_AW_DROP_TYPE, "unknown message type 'NOPE'"},
        {RAW ("\x93\x01\xa5ready\x80"), FED_AW_DROP_TYPE, "'ready'"},
        {RAW ("\x93\x01\xa4PING\x80"), FED_AW_DROP_TYPE, "'PING'"}, //  a peer type
        {RAW ("\x93\x01\xa4"
              "BYE\x00\x80"),
         FED_AW_DROP_TYPE, "'BYE?'"},
        {RAW ("\x93\x01\xa0\x80"), FED_AW_DROP_TYPE, "''"},
        {RAW ("\x93\x01\x01\x80"), FED_AW_DROP_MALFORMED, "element 1 must be the message type"},
        {RAW ("\x93\x01\xc4\x03"
              "BYE\x80"),
         FED_AW_DROP_MALFORMED, "got bin"},
        {RAW ("\x93\x01\xa3"
              "BYE\xc0"),
         FED_AW_DROP_MALFORMED, "BYE body must be a map with str keys, got nil"},
        {RAW ("\x92\x01\xa3"
              "BYE"),
         FED_AW_DROP_MALFORMED, "array of 3 elements, got 2"},
        {RAW ("\x94\x01\xa3"
              "BYE\x80\x80"),
         FED_AW_DROP_MALFORMED, "array of 3 elements, got 4"},
        {RAW ("\x90"), FED_AW_DROP_MALFORMED, "[version, type, body]"},
        {RAW ("\x80"), FED_AW_DROP_MALFORMED, "[version, type, body]"},
        {RAW (""), FED_AW_DROP_MALFORMED, "[version, type, body]"},
        {RAW ("\x93\x01\xa3"
              "BYE\x80\xc0"),
         FED_AW_DROP_MALFORMED, "BYE: 1 trailing bytes after the message"},
        {RAW ("\x93\x01\xa3"
              "BYE\x80\x93\x01\xa3"
              "BYE\x80"),
         FED_AW_DROP_MALFORMED, "BYE: 7 trailing bytes"},
        //  Declared lengths far beyond the frame.
        {RAW ("\xdd\xff\xff\xff\xff"), FED_AW_DROP_MALFORMED, "[version, type, body]"},
        {RAW ("\x93\x01\xdb\xff\xff\xff\xff"), FED_AW_DROP_MALFORMED, "message type"},
        {RAW ("\x93\x01\xa3"
              "BYE\xdf\xff\xff\xff\xff"),
         FED_AW_DROP_MALFORMED, "BYE body declares more entries than the frame holds"},
        {RAW ("\x93\x01\xa5READY\x81\xa6"
              "agents\xdd\xff\xff\xff\xff"),
         FED_AW_DROP_MALFORMED, "READY: 'agents' declares more elements than the frame holds"},
        {RAW ("\x93\x01\xa5READY\x81\xa6"
              "agents\xdc\x00\x41"),
         FED_AW_DROP_MALFORMED, "'agents' declares more elements"},
        {RAW ("\x93\x01\xa5READY\x81\xa6"
              "agents\x91\xdf\xff\xff\xff\xff"),
         FED_AW_DROP_MALFORMED, "READY agents[0] declares more entries than the frame holds"},
        {RAW ("\x93\x01\xa5READY\x81\xa6"
              "agents\x91\x81\xadgcapabilities\xdd\xff\xff\xff\xff"),
         FED_AW_DROP_MALFORMED, "unknown key 'gcapabilities'"},
        {RAW ("\x93\x01\xa5READY\x81\xa6"
              "agents\x91\x81\xac"
              "capabilities\xdd\xff\xff\xff\xff"),
         FED_AW_DROP_MALFORMED, "'capabilities' declares more elements than the frame holds"},
        {RAW ("\x93\x01\xa4TASK\x81\xa6params\xdf\xff\xff\xff\xff"), FED_AW_DROP_MALFORMED,
         "TASK: 'params' declares more entries than the frame holds"},
        {RAW ("\x93\x01\xa5"
              "ERROR\x82\xa4"
              "code\xdb\xff\xff\xff\xff"),
         FED_AW_DROP_MALFORMED, "ERROR: 'code' is truncated"},
        {RAW ("\x93\x01\xa7WELCOME\x81\xa4node\xc6\xff\xff\xff\xff"), FED_AW_DROP_MALFORMED,
         "WELCOME: 'node' is truncated"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++)
        s_expect_drop (cases [i].bytes, cases [i].size, cases [i].drop, cases [i].needle);
    s_expect_ok (RAW ("\x93\x01\xa3"
                      "BYE\x80"));
    //  HEARTBEAT and BYE take any (ignored) keys.
    s_expect_ok (RAW ("\x93\x01\xa9HEARTBEAT\x81\xa1z\x01"));
}

//  Decodes data (a heap copy of size bytes). What decodes must re-encode to
//  the same message; what does not must say why. Returns the decode result.
static int
s_check_any (const uint8_t *data, size_t size)
{
    fed_aw_msg_t back;
    fed_err_t err = {0, ""};
    uint8_t *copy;
    int rc = s_decode (data, size, &back, &err, &copy);
    if (rc == 0) {
        packed_t again;
        s_encode (&back, &again);
        fed_aw_msg_t twice;
        uint8_t *copy2;
        if (s_decode (again.buffer.data, again.buffer.size, &twice, &err, &copy2)) {
            print_error ("a decoded %s did not re-encode: %s\n", fed_aw_type_name (back.type),
                         err.text);
            fail ();
        }
        s_msg_equal (&back, &twice);
        fed_aw_msg_clear (&twice);
        free (copy2);
        msgpack_sbuffer_destroy (&again.buffer);
    } else {
        assert_int_equal (rc, -1);
        assert_true (err.code >= FED_AW_DROP_VERSION && err.code <= FED_AW_DROP_MALFORMED);
        assert_true (strlen (err.text) > 0);
        assert_null (back.agents);
    }
    fed_aw_msg_clear (&back);
    free (copy);
    return rc;
}

static void
test_truncations (void **state)
{
    (void) state;
    int runs = 0;
    for (int type = 1; type < FED_AW_TYPES; type++) {
        fed_aw_msg_t msg;
        s_sample ((fed_aw_type_t) type, &msg);
        packed_t packed;
        s_encode (&msg, &packed);
        for (size_t len = 0; len < packed.buffer.size; len++) {
            if (s_check_any ((const uint8_t *) packed.buffer.data, len) != -1) {
                print_error ("expected %s cut to %zu of %zu bytes to be refused\n",
                             fed_aw_type_name (msg.type), len, packed.buffer.size);
                fail ();
            }
            runs++;
        }
        msgpack_sbuffer_destroy (&packed.buffer);
    }
    assert_true (runs > 500);
}

//  Byte flips, alone and with a cut: never a crash, a leak or an over-read
//  (under ASan), and whatever still decodes round-trips.
static void
test_fuzz (void **state)
{
    (void) state;
    uint32_t seed = 0x9e3779b9;
    int decoded = 0, runs = 0;
    for (int type = 1; type < FED_AW_TYPES; type++) {
        fed_aw_msg_t msg;
        s_sample ((fed_aw_type_t) type, &msg);
        packed_t packed;
        s_encode (&msg, &packed);
        size_t size = packed.buffer.size;
        uint8_t *work = malloc (size);
        assert_non_null (work);
        static const uint8_t flips [] = {0x00, 0xff, 0x7f, 0x80, 0xc1, 0xdd, 0xa0, 0x01};
        for (size_t pos = 0; pos < size; pos++)
            for (size_t f = 0; f < sizeof flips; f++) {
                memcpy (work, packed.buffer.data, size);
                work [pos] = flips [f];
                decoded += s_check_any (work, size) == 0;
                runs++;
            }
        for (int round = 0; round < 400; round++) {
            memcpy (work, packed.buffer.data, size);
            for (int k = 0; k < 3; k++) {
                seed = seed * 1103515245 + 12345;
                work [(seed >> 8) % size] ^= (uint8_t) (1u << ((seed >> 4) % 8));
            }
            seed = seed * 1103515245 + 12345;
            size_t cut = round % 4 == 0 ? (seed >> 8) % size : size;
            decoded += s_check_any (work, cut) == 0;
            runs++;
        }
        free (work);
        msgpack_sbuffer_destroy (&packed.buffer);
    }
    assert_true (runs > 5000);
    assert_true (decoded > 0); //  some flips (a digit of a value) stay valid
}

static void
test_names (void **state)
{
    (void) state;
    assert_string_equal (fed_aw_type_name (FED_AW_READY), "READY");
    assert_string_equal (fed_aw_type_name (FED_AW_HEARTBEAT), "HEARTBEAT");
    assert_string_equal (fed_aw_type_name (FED_AW_ERROR), "ERROR");
    assert_string_equal (fed_aw_type_name ((fed_aw_type_t) 0), "?");
    assert_string_equal (fed_aw_type_name (FED_AW_TYPES), "?");
    assert_string_equal (fed_aw_drop_name (FED_AW_DROP_NONE), "none");
    assert_string_equal (fed_aw_drop_name (FED_AW_DROP_VERSION), "version");
    assert_string_equal (fed_aw_drop_name (FED_AW_DROP_TYPE), "type");
    assert_string_equal (fed_aw_drop_name (FED_AW_DROP_LIMIT), "limit");
    assert_string_equal (fed_aw_drop_name (FED_AW_DROP_MALFORMED), "malformed");
    assert_string_equal (fed_aw_drop_name ((fed_aw_drop_t) 99), "?");
    fed_aw_msg_t msg = {0};
    fed_aw_msg_clear (&msg); //  safe on a zeroed message
    //  Decoding with no fed_err_t is allowed.
    assert_int_equal (fed_aw_decode ("\x90", 1, &msg, NULL), -1);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_round_trip),   cmocka_unit_test (test_round_trip_defaults),
        cmocka_unit_test (test_doc_example),  cmocka_unit_test (test_required_missing),
        cmocka_unit_test (test_wrong_types),  cmocka_unit_test (test_size_limits),
        cmocka_unit_test (test_count_limits), cmocka_unit_test (test_ranges_and_chars),
        cmocka_unit_test (test_objects),      cmocka_unit_test (test_unknown_keys_ignored),
        cmocka_unit_test (test_nesting_cap),  cmocka_unit_test (test_envelope),
        cmocka_unit_test (test_truncations),  cmocka_unit_test (test_fuzz),
        cmocka_unit_test (test_names),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
