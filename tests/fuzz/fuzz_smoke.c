/*  tests/fuzz/fuzz_smoke.c: runs the event decoder's fuzz target
    (fuzz_event.c), the peer message decoder's (fuzz_wire.c), the agent
    message decoder's (fuzz_agentwire.c) and the workflow parser's
    (fuzz_workflow.c) and the CSV reader's (fuzz_csv.c) over generated
    corpora, so `make check` exercises them
    without clang or libFuzzer.

    The corpus, from a seeded PRNG (FED_FUZZ_SEED, default fixed so a run
    repeats; the seed is printed): a dozen validly signed events with varied
    types, seqs and bodies (empty, nested, strings, bins, map16, 4 KiB); every
    truncation of each; random bit flips; bytes replaced by msgpack type
    markers that declare huge lengths; random insertions and deletions;
    random byte strings; and crafted headers that declare gigabytes or deep
    nesting. About 20,000 inputs, a few seconds. The valid events must decode
    and verify, checked here before they go through the target.

    The wire corpus: one valid message of each peer type (made by
    fed_wire_encode, so each must decode), with the same mutations, and
    crafted frames (huge declared lengths, deep nesting under an unknown
    key, version 2, unknown type).

    The agent corpus likewise: one valid message of each of the 10 agent
    types (made by fed_aw_encode, so each must decode), the same mutations,
    and crafted frames (huge declared lengths, depth bombs at, over and far
    over the 16-level cap, versions 0, 2 and 2^64-1, unknown and
    wrongly cased types, trailing bytes).

    The workflow corpus: the example workflow and the broken ones in
    tests/data/workflows, a few written here (every key, flow style,
    references, approvals), each mutated as text (truncations, YAML's
    special characters put in, lines dropped, doubled and swapped), and
    crafted files (deep nesting, anchors, NUL, bad UTF-8, long keys, a
    chain and a ring of steps, more steps than the limit).

    The CSV corpus: valid texts (RFC 4180's, quotes, line breaks, BOM,
    other delimiters, ragged rows) under several option bytes, mutated, and
    crafted inputs (a field far over the limits, bad UTF-8 of each kind).

        fuzz_smoke                  run the corpus
        fuzz_smoke --write DIR      also write the valid events and crafted
                                    inputs to DIR (seed-NNN), the wire ones
                                    (wire-NNN), the agent ones (agent-NNN)
                                    the workflows (wf-NNN) and the CSV
                                    texts (csv-NNN), seed
                                    corpora for libFuzzer
*/
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "agentwire.h"
#include "event.h"
#include "identity.h"
#include "runs.h"
#include "table.h"
#include "wire.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);
int fed_fuzz_wire (const uint8_t *data, size_t size);
int fed_fuzz_agentwire (const uint8_t *data, size_t size);
int fed_fuzz_workflow (const uint8_t *data, size_t size);
int fed_fuzz_runs (const uint8_t *data, size_t size);
int fed_fuzz_csv (const uint8_t *data, size_t size);

#define INPUT_MAX 8192
#define VALID_EVENTS 12

typedef struct {
    uint64_t rng;                                     //  xorshift state
    uint64_t inputs;                                  //  inputs run
    const char *write_dir;                            //  seed corpus output, or NULL
    uint64_t written;                                 //  files written there
    int (*target) (const uint8_t *data, size_t size); //  the decoder's target
    const char *prefix; //  seed file names: "seed", "wire", "agent", "wf"
} smoke_t;

static uint64_t
s_rand (smoke_t *self)
{
    uint64_t x = self->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return self->rng = x;
}

static void
s_run (smoke_t *self, const uint8_t *data, size_t size)
{
    self->target (data, size);
    self->inputs++;
}

//  Runs data and, with --write, keeps it as a seed file.
static void
s_seed (smoke_t *self, const uint8_t *data, size_t size)
{
    s_run (self, data, size);
    if (!self->write_dir)
        return;
    char *path = fed_sprintf ("%s/%s-%03" PRIu64, self->write_dir, self->prefix, self->written++);
    FILE *file = fopen (path, "wb");
    if (!file || fwrite (data, 1, size, file) != size) {
        fprintf (stderr, "fuzz_smoke: cannot write %s\n", path);
        exit (1);
    }
    fclose (file);
    free (path);
}

//  Body number i: a msgpack map of some shape. Returns its size.
static size_t
s_body (smoke_t *self, int i, uint8_t *body)
{
    size_t n = 0;
    switch (i % 6) {
        case 0: //  {}
            body [n++] = 0x80;
            break;
        case 1: //  {"n": 42, "s": "hello"}
            n = sizeof "\x82\xa1n\x2a\xa1s\xa5hello" - 1;
            memcpy (body, "\x82\xa1n\x2a\xa1s\xa5hello", n);
            break;
        case 2: //  {"a": {"a": {"a": {"a": {}}}}}
            for (int depth = 0; depth < 4; depth++) {
                memcpy (body + n,
                        "\x81\xa1"
                        "a",
                        3);
                n += 3;
            }
            body [n++] = 0x80;
            break;
        case 3: //  {"d": bin8 of 195 random bytes}
            memcpy (body,
                    "\x81\xa1"
                    "d\xc4\xc3",
                    5);
            randombytes_buf_deterministic (body + 5, 195,
                                           (const uint8_t *) "fuzz smoke body seed bytes 32 ..");
            n = 200;
            break;
        case 4: //  map16 of 20 entries "kNN": [1, nil, true]
            body [n++] = 0xde;
            body [n++] = 0;
            body [n++] = 20;
            for (int k = 0; k < 20; k++) {
                n += (size_t) sprintf ((char *) body + n, "\xa3k%02d", k);
                memcpy (body + n, "\x93\x01\xc0\xc3", 4);
                n += 4;
            }
            break;
        default: //  {"big": str16 of 4 KiB}
            memcpy (body,
                    "\x81\xa3"
                    "big\xda\x10\x00",
                    8);
            n = 8;
            for (int k = 0; k < 4096; k++)
                body [n++] = (uint8_t) ('a' + s_rand (self) % 26);
            break;
    }
    return n;
}

//  The mutations of one valid event.
static void
s_mutate (smoke_t *self, const uint8_t *event, size_t size)
{
    static const uint8_t markers [] = {0x00, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xc0, 0xc4, 0xc5, 0xc6,
                                       0xcf, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf, 0xff};
    uint8_t *copy = fed_malloc (INPUT_MAX + 64);
    //  Truncations: every length for small events, a stride for big ones.
    size_t stride = size > 1024 ? size / 256 : 1;
    for (size_t len = 0; len < size; len += stride)
        s_run (self, event, len);
    //  Bit flips, 1 to 3 at a time.
    for (int i = 0; i < 600; i++) {
        memcpy (copy, event, size);
        int flips = 1 + (int) (s_rand (self) % 3);
        for (int f = 0; f < flips; f++)
            copy [s_rand (self) % size] ^= (uint8_t) (1u << (s_rand (self) % 8));
        s_run (self, copy, size);
    }
    //  Type markers, and length bytes set to 0xff after them.
    for (int i = 0; i < 400; i++) {
        memcpy (copy, event, size);
        size_t at = s_rand (self) % size;
        copy [at] = markers [s_rand (self) % sizeof markers];
        if (at + 1 < size && (s_rand (self) & 1))
            copy [at + 1] = 0xff;
        s_run (self, copy, size);
    }
    //  Insertions and deletions.
    for (int i = 0; i < 100 && size < INPUT_MAX; i++) {
        size_t at = s_rand (self) % size;
        size_t n = 1 + s_rand (self) % 8;
        memcpy (copy, event, at);
        for (size_t k = 0; k < n; k++)
            copy [at + k] = (uint8_t) s_rand (self);
        memcpy (copy + at + n, event + at, size - at);
        s_run (self, copy, size + n);
        if (at + n <= size) {
            memcpy (copy, event, at);
            memcpy (copy + at, event + at + n, size - at - n);
            s_run (self, copy, size - n);
        }
    }
    free (copy);
}

//  Inputs that declare more than they hold, or nest deeply.
static void
s_crafted (smoke_t *self)
{
    static const struct {
        const char *bytes;
        size_t size;
    } crafted [] = {
        {"\xdd\xff\xff\xff\xff", 5},                      //  array32 of 4G elements
        {"\x98\x01\xc6\xff\xff\xff\xff", 7},              //  origin as bin32 of 4 GiB
        {"\x98\x01\xdb\xff\xff\xff\xff", 7},              //  origin as str32 of 4 GiB
        {"\x98\x01\xc4\x20", 4},                          //  origin declared, absent
        {"\x98\x02", 2},                                  //  unknown version
        {"\x98\xcf\xff\xff\xff\xff\xff\xff\xff\xff", 10}, //  version 2^64-1
        {"\x92\x01\x02", 3},                              //  2 fields
        {"", 0},
        {"\x98", 1},
    };
    for (size_t i = 0; i < sizeof crafted / sizeof crafted [0]; i++)
        s_seed (self, (const uint8_t *) crafted [i].bytes, crafted [i].size);
    //  An event whose body nests 2,500 maps deep.
    uint8_t *deep = fed_malloc (INPUT_MAX);
    size_t n = 0;
    memcpy (deep, "\x98\x01\xc4\x20", 4);
    n = 4 + 32;
    memset (deep + 4, 7, 32);
    deep [n++] = 0x01;
    memcpy (deep + n, "\xc4\x20", 2);
    memset (deep + n + 2, 0, 32);
    n += 34;
    deep [n++] = 0x00;
    memcpy (deep + n, "\xa1t", 2);
    n += 2;
    for (int i = 0; i < 2500; i++) {
        memcpy (deep + n, "\x81\xa0", 2);
        n += 2;
    }
    deep [n++] = 0x80;
    s_seed (self, deep, n);
    free (deep);
    //  Random strings, some starting like an event.
    uint8_t random [512];
    for (int i = 0; i < 2000; i++) {
        size_t size = s_rand (self) % sizeof random;
        for (size_t k = 0; k < size; k++)
            random [k] = (uint8_t) s_rand (self);
        if (size > 2 && (i & 1)) {
            random [0] = 0x98;
            random [1] = 0x01;
        }
        s_run (self, random, size);
    }
}

//  The wire corpus: a valid message of each type, mutated, and crafted frames.
static int
s_wire (smoke_t *self)
{
    self->target = fed_fuzz_wire;
    self->prefix = "wire";
    self->written = 0;
    uint8_t key [32];
    memset (key, 0x42, sizeof key);
    static const fed_wire_vv_entry_t vv [] = {{{1}, 1}, {{2}, 99}, {{3, 4}, 1ull << 40}};
    static const uint8_t event [] = {0x98, 0x01, 0xc4, 0x20};
    static const fed_blob_t events [] = {{event, sizeof event}, {event, 1}};
    for (int type = 1; type < FED_WIRE_TYPES; type++) {
        fed_wire_msg_t msg = {.type = (fed_wire_type_t) type};
        fed_wire_updates_t *updates = NULL;
        switch (type) {
            case FED_WIRE_HELLO:
                memcpy (msg.u.hello.id, key, 32);
                msg.u.hello.name = (fed_wire_str_t){"node-a", 6};
                msg.u.hello.endpoint = (fed_wire_str_t){"tcp://10.1.2.3:7701", 19};
                msg.u.hello.location.region = (fed_wire_str_t){"eu", 2};
                msg.u.hello.location.has_lat = true;
                msg.u.hello.location.lat = -33.5;
                msg.u.hello.location.label_count = 1;
                msg.u.hello.location.labels [0] = (fed_wire_label_t){{"gpu", 3}, {"yes", 3}};
                msg.u.hello.protocol = 1;
                msg.u.hello.token = (fed_wire_str_t){"fedtok-00000000-x", 17};
                break;
            case FED_WIRE_PING:
                updates = &msg.u.ping.updates;
                msg.u.ping.seq = 300;
                break;
            case FED_WIRE_ACK: updates = &msg.u.ack.updates; break;
            case FED_WIRE_PING_REQ: updates = &msg.u.ping_req.updates; break;
            case FED_WIRE_MEMBERS: updates = &msg.u.members.updates; break;
            case FED_WIRE_DIGEST: msg.u.digest = (fed_wire_digest_t){vv, 3}; break;
            case FED_WIRE_EVENTS: msg.u.events = (fed_wire_events_t){events, 2}; break;
            case FED_WIRE_WANT: msg.u.want = (fed_wire_want_t){{7}, 5, 70000}; break;
            case FED_WIRE_ERROR:
                msg.u.error = (fed_wire_error_t){{"token", 5}, {"expired", 7}};
                break;
            default: msg.u.bye.reason = (fed_wire_str_t){"bye", 3}; break;
        }
        if (updates) {
            updates->count = 2;
            for (int i = 0; i < 2; i++)
                updates->items [i] = (fed_wire_update_t){{(uint8_t) i},
                                                         (fed_wire_state_t) (FED_WIRE_SUSPECT + i),
                                                         4,
                                                         {"tcp://h:1", 9},
                                                         {"n", 1}};
        }
        msgpack_sbuffer buffer;
        msgpack_sbuffer_init (&buffer);
        fed_wire_msg_t back;
        fed_err_t err = {0};
        if (fed_wire_encode (&msg, &buffer)
            || fed_wire_decode (buffer.data, buffer.size, &back, &err)) {
            fprintf (stderr, "fuzz_smoke: expected a %s to encode and decode, got: %s\n",
                     fed_wire_type_name (msg.type), err.text);
            return -1;
        }
        fed_wire_msg_clear (&back);
        s_seed (self, (const uint8_t *) buffer.data, buffer.size);
        s_mutate (self, (const uint8_t *) buffer.data, buffer.size);
        msgpack_sbuffer_destroy (&buffer);
    }
    static const struct {
        const char *bytes;
        size_t size;
    } crafted [] = {
        {"\xdd\xff\xff\xff\xff", 5}, //  array32 of 4G
        {"\x93\x02\xa4PING\x80", 9}, //  version 2
        {"\x93\x01\xa4NOPE\x80", 9}, //  unknown type
        {"\x93\x01\xa6"
         "DIGEST\x81\xa2vv\xdd\xff\xff\xff\xff",
         17}, //  vv of 4G
        {"\x93\x01\xa6"
         "EVENTS\x81\xa6"
         "events\x91\xc6\xff\xff\xff\xff",
         22},
        {"\x93\x01\xa3"
         "BYE\xdf\xff\xff\xff\xff",
         11}, //  map32 of 4G
    };
    for (size_t i = 0; i < sizeof crafted / sizeof crafted [0]; i++)
        s_seed (self, (const uint8_t *) crafted [i].bytes, crafted [i].size);
    //  BYE with an unknown key nesting 3,000 arrays deep.
    uint8_t *deep = fed_malloc (INPUT_MAX);
    size_t n = 0;
    memcpy (deep,
            "\x93\x01\xa3"
            "BYE\x81\xa1x",
            9);
    n = 9;
    for (int i = 0; i < 3000; i++)
        deep [n++] = 0x91;
    deep [n++] = 0xc0;
    s_seed (self, deep, n);
    free (deep);
    return 0;
}

//  The agent message of type, every field set to something telling; its
//  agents in agents (2 of them).
static void
s_agent_sample (fed_aw_type_t type, fed_aw_msg_t *msg, fed_aw_agent_t *agents)
{
    static const uint8_t location [] = "\x82\xa6region\xa2"
                                       "eu\xa6labels\x81\xa3gpu\xa3yes";
    static const uint8_t params [] = "\x83\xa4text\xa5"
                                     "a b a\xa1n\x93\x01\xc0\xc3\xa4"
                                     "deep\x81\xa1x\x81\xa1y\x80";
    static const uint8_t output [] = "\x82\xa5words\x03\xa6"
                                     "counts\x82\xa1"
                                     "a\x02\xa1"
                                     "b\x01";
    memset (msg, 0, sizeof *msg);
    msg->type = type;
    switch (type) {
        case FED_AW_READY:
            memset (agents, 0, 2 * sizeof *agents);
            strcpy (agents [0].name, "py.wordcount");
            strcpy (agents [0].version, "1.0");
            agents [0].capability_count = 2;
            strcpy (agents [0].capabilities [0], "text");
            strcpy (agents [0].capabilities [1], "count_2-x");
            agents [0].location = location;
            agents [0].location_size = sizeof location - 1;
            strcpy (agents [1].name, "0sys-echo_2");
            strcpy (agents [1].version, "v2+build.7~!");
            msg->agents = agents;
            msg->agent_count = 2;
            msg->slots = 4;
            strcpy (msg->label, "wordcount@h\xc3\xb4te");
            break;
        case FED_AW_WELCOME:
            memset (msg->node, 0x42, sizeof msg->node);
            msg->heartbeat_ms = 1000;
            msg->liveness = 3;
            break;
        case FED_AW_TASK:
            msg->task = 7;
            strcpy (msg->agent, "py.wordcount");
            strcpy (msg->version, "1.0");
            msg->params = params;
            msg->params_size = sizeof params - 1;
            msg->timeout_ms = 3600000;
            strcpy (msg->run, "run-1");
            strcpy (msg->step, "count");
            msg->attempt = 2;
            //  300 bytes: a str16.
            strcpy (msg->workspace, "/var/lib/fednode/work/run-1/");
            memset (msg->workspace + strlen (msg->workspace), 'w', 300 - strlen (msg->workspace));
            break;
        case FED_AW_PROGRESS:
            msg->task = 7;
            msg->done = 1;
            msg->total = 3;
            strcpy (msg->text, "one of three");
            break;
        case FED_AW_RESULT:
            msg->task = 7;
            msg->output = output;
            msg->output_size = sizeof output - 1;
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

//  The agent corpus: a valid message of each type, mutated, and crafted
//  frames.
static int
s_agentwire (smoke_t *self)
{
    self->target = fed_fuzz_agentwire;
    self->prefix = "agent";
    self->written = 0;
    for (int type = 1; type < FED_AW_TYPES; type++) {
        fed_aw_msg_t msg;
        fed_aw_agent_t agents [2];
        s_agent_sample ((fed_aw_type_t) type, &msg, agents);
        msgpack_sbuffer buffer;
        msgpack_sbuffer_init (&buffer);
        fed_aw_encode (&msg, &buffer);
        fed_aw_msg_t back;
        fed_err_t err = {0};
        if (fed_aw_decode (buffer.data, buffer.size, &back, &err)) {
            fprintf (stderr, "fuzz_smoke: expected a %s to encode and decode, got: %s\n",
                     fed_aw_type_name (msg.type), err.text);
            msgpack_sbuffer_destroy (&buffer);
            return -1;
        }
        fed_aw_msg_clear (&back);
        s_seed (self, (const uint8_t *) buffer.data, buffer.size);
        s_mutate (self, (const uint8_t *) buffer.data, buffer.size);
        msgpack_sbuffer_destroy (&buffer);
    }
    static const struct {
        const char *bytes;
        size_t size;
    } crafted [] = {
        {"", 0},
        {"\x93", 1},
        {"\xdd\xff\xff\xff\xff", 5},                //  array32 of 4G
        {"\x93\x00\xa9HEARTBEAT\x80", 13},          //  version 0
        {"\x93\x02\xa9HEARTBEAT\x80", 13},          //  version 2
        {"\x93\xcf\xff\xff\xff\xff\xff\xff\xff\xff" //  version 2^64-1
         "\xa9HEARTBEAT\x80",
         21},
        {"\x92\x01\xa9HEARTBEAT", 12},         //  no body
        {"\x94\x01\xa9HEARTBEAT\x80\xc0", 14}, //  4 elements
        {"\x93\x01\xa4NOPE\x80", 8},           //  unknown type
        {"\x93\x01\xa5ready\x80", 9},          //  lower case
        {"\x93\x01\xa0\x80", 4},               //  empty type
        {"\x93\x01\xa9HEARTBEAT\x80\x00", 14}, //  a trailing byte
        {"\x93\x01\xa3"
         "BYE\x80\x93\x01\xa3"
         "BYE\x80",
         14},                                              //  two messages in one frame
        {"\x93\x01\xa9HEARTBEAT\xdf\xff\xff\xff\xff", 17}, //  body map32 of 4G
        {"\x93\x01\xa5READY\x81\xa6"
         "agents\xdd\xff\xff\xff\xff",
         20},                                                       //  agents array32 of 4G
        {"\x93\x01\xa4TASK\x81\xa6params\xdf\xff\xff\xff\xff", 19}, //  params map32 of 4G
        {"\x93\x01\xa6RESULT\x81\xa6output\x81\xdb\xff\xff\xff\xff",
         22}, //  an output key str32 of 4 GiB
        {"\x93\x01\xa4"
         "FAIL\x81\xa7message\xdb\xff\xff\xff\xff",
         20},                                                        //  message str32 of 4 GiB
        {"\x93\x01\xa7WELCOME\x81\xa4node\xc6\xff\xff\xff\xff", 20}, //  node bin32 of 4 GiB
        {"\x93\x01\xa3"
         "BYE\x81\xa1x\xc9\xff\xff\xff\xff\x01",
         16}, //  an unknown key's ext32 of 4 GiB
    };
    for (size_t i = 0; i < sizeof crafted / sizeof crafted [0]; i++)
        s_seed (self, (const uint8_t *) crafted [i].bytes, crafted [i].size);
    //  Depth bombs: a prefix, n containers opened in it, nil. The cap is 16
    //  levels, the envelope being 1: each first n is at the cap, the second
    //  one over, the third far over.
    static const char ready [] = "\x93\x01\xa5READY\x81\xa6"
                                 "agents\x91\x83\xa4name\xa1"
                                 "a\xa7version\xa1"
                                 "1";
    static const struct {
        bool in_agent; //  the prefix follows a READY's agent name and version
        const char *prefix;
        const char *open;
        int n [3];
    } deep [] = {
        {false, "\x93\x01\xa6RESULT\x82\xa4task\x01\xa6output", "\x81\xa1x", {14, 15, 2700}},
        {false, "\x93\x01\xa9HEARTBEAT\x81\xa1x", "\x91", {14, 15, 3000}},
        {true, "\xa8location", "\x81\xa1x", {12, 13, 2700}},
        {true, "\xa1z", "\x91", {12, 13, 3000}},
    };
    uint8_t *bomb = fed_malloc (INPUT_MAX);
    for (size_t i = 0; i < sizeof deep / sizeof deep [0]; i++)
        for (int k = 0; k < 3; k++) {
            size_t n = 0;
            if (deep [i].in_agent) {
                memcpy (bomb, ready, sizeof ready - 1);
                n = sizeof ready - 1;
            }
            memcpy (bomb + n, deep [i].prefix, strlen (deep [i].prefix));
            n += strlen (deep [i].prefix);
            size_t open = strlen (deep [i].open);
            for (int d = 0; d < deep [i].n [k] && n + open < INPUT_MAX; d++, n += open)
                memcpy (bomb + n, deep [i].open, open);
            bomb [n++] = 0xc0;
            s_seed (self, bomb, n);
        }
    free (bomb);
    return 0;
}

//  The text mutations of one workflow.
static void
s_mutate_text (smoke_t *self, const uint8_t *text, size_t size)
{
    static const char specials [] = " \n\t:-[]{},&*!|>'\"#$%@`?~.0123456789\\";
    uint8_t *copy = fed_malloc (2 * size + 64);
    size_t stride = size > 512 ? size / 128 : 1;
    for (size_t len = 0; len < size; len += stride)
        s_run (self, text, len);
    //  A special character in place of one, or put in.
    for (int i = 0; i < 300 && size; i++) {
        size_t at = s_rand (self) % size;
        char c = specials [s_rand (self) % (sizeof specials - 1)];
        memcpy (copy, text, size);
        copy [at] = (uint8_t) c;
        s_run (self, copy, size);
        memcpy (copy, text, at);
        copy [at] = (uint8_t) c;
        memcpy (copy + at + 1, text + at, size - at);
        s_run (self, copy, size + 1);
    }
    //  A run of bytes dropped; a random byte (bad UTF-8, NUL) put in.
    for (int i = 0; i < 100 && size > 8; i++) {
        size_t at = s_rand (self) % size, n = 1 + s_rand (self) % 16;
        if (at + n > size)
            n = size - at;
        memcpy (copy, text, at);
        memcpy (copy + at, text + at + n, size - at - n);
        s_run (self, copy, size - n);
        memcpy (copy, text, size);
        copy [at] = (uint8_t) s_rand (self);
        s_run (self, copy, size);
    }
    //  Whole lines dropped, doubled, swapped with the next.
    size_t starts [512], lines = 0;
    for (size_t i = 0; i < size && lines < 512; i++)
        if (i == 0 || text [i - 1] == '\n')
            starts [lines++] = i;
    for (size_t l = 0; l + 1 < lines; l++) {
        size_t a = starts [l], b = starts [l + 1], c = l + 2 < lines ? starts [l + 2] : size;
        memcpy (copy, text, a);
        memcpy (copy + a, text + b, size - b);
        s_run (self, copy, size - (b - a));
        memcpy (copy, text, b);
        memcpy (copy + b, text + a, size - a);
        s_run (self, copy, size + (b - a));
        memcpy (copy, text, a);
        memcpy (copy + a, text + b, c - b);
        memcpy (copy + a + (c - b), text + a, b - a);
        memcpy (copy + c, text + c, size - c);
        s_run (self, copy, size);
    }
    free (copy);
}

//  The workflow corpus: files, inline workflows, their mutations, crafted.
static int
s_workflows (smoke_t *self)
{
    self->target = fed_fuzz_workflow;
    self->prefix = "wf";
    self->written = 0;
    static const char *files [] = {
        "config/example_workflow.yaml", "tests/data/workflows/bad_five.yaml",
        "tests/data/workflows/bad_cycle.yaml", "tests/data/workflows/bad_laughs.yaml"};
    for (size_t i = 0; i < sizeof files / sizeof files [0]; i++) {
        char *path = fed_sprintf ("%s/%s", FED_SRCDIR, files [i]);
        FILE *file = fopen (path, "rb");
        uint8_t *text = fed_malloc (INPUT_MAX);
        size_t size = file ? fread (text, 1, INPUT_MAX, file) : 0;
        if (file)
            fclose (file);
        if (!size) {
            fprintf (stderr, "fuzz_smoke: expected to read %s\n", path);
            return -1;
        }
        s_seed (self, text, size);
        s_mutate_text (self, text, size);
        free (text);
        free (path);
    }
    static const char *inline_workflows [] = {
        "name: a\nversion: \"1\"\nparams: {n: {type: int, default: 3}, s: {required: true}, "
        "f: {type: float, default: 1}, l: {default: [1, {a: b}]}}\nsteps:\n"
        "  - {id: x, agent: sys.echo, with: {a: \"${params.n}\", b: [1, 2.5, true, ~, 0x1f]}}\n"
        "  - {id: y, agent: sys.sleep, needs: x, retries: 3, backoff: {initial: 1s, max: 1m, "
        "factor: 1.5}, timeout: 5m, with: {ms: \"${steps.x.output.a}\"}}\n"
        "  - {id: z, needs: [x, y], hitl: {approvers: [approver, "
        "0000000000000000000000000000000000000000000000000000000000000001], message: \"ok "
        "${steps.x.output}?\", timeout: 1h, on_timeout: escalate, min_approvals: 2, values: "
        "[a, b], forbid_submitter: true}}\n"
        "  - {id: w, agent: sys.echo, needs: z, location: {region: r, zone: z, site: s, node: "
        "n, labels: {k: v}, near: {lat: 1, lon: 2, within_km: 3}, prefer: {labels: {t: "
        "edge}}}, with: {v: \"${steps.z.output.value} $${lit}\"}}\n",
        "name: b\nversion: 1.0-rc.1+x\ndescription: |\n  text\n  more\nsteps:\n- id: a\n  agent: "
        "sys.echo\n  with:\n    k: >\n      folded ${params.p}\n- id: b\n  agent: sys.echo\n  "
        "needs:\n  - a\n  hitl: true\n",
        "name: c\nversion: \"1\"\nsteps: [{id: a, agent: sys.echo, needs: [b]}, {id: b, agent: "
        "sys.echo, needs: [a]}, {id: c, agent: sys.echo, needs: [c, d]}]\n",
    };
    for (size_t i = 0; i < sizeof inline_workflows / sizeof inline_workflows [0]; i++) {
        const uint8_t *text = (const uint8_t *) inline_workflows [i];
        s_seed (self, text, strlen (inline_workflows [i]));
        s_mutate_text (self, text, strlen (inline_workflows [i]));
    }
    //  Crafted: deep nesting, hostile YAML, long texts, graphs at the limits.
    uint8_t *big = fed_malloc (65536 + 1024);
    size_t n = (size_t) sprintf ((char *) big, "name: d\nversion: \"1\"\nparams: {p: {default: ");
    for (int i = 0; i < 3000; i++)
        big [n++] = i % 2 ? '{' : '[';
    s_seed (self, big, n);
    static const char *crafted [] = {
        "a: &x [*x]\n",
        "name: \"\\0\"\n",
        "name: \"\xff\xfe\"\n",
        "name: t\nversion: \"1\"\nsteps: [{id: a, agent: sys.echo, with: {x: "
        "\"${${${}}}$${$$$\"}}]\n",
        "? [a]\n: b\n",
        "name: !!binary aGk=\n",
        "%YAML 1.1\n---\nname: t\n...\n---\nx: 1\n",
        "\xef\xbb\xbfname: t\n",
    };
    for (size_t i = 0; i < sizeof crafted / sizeof crafted [0]; i++)
        s_seed (self, (const uint8_t *) crafted [i], strlen (crafted [i]));
    //  A key of 60 KiB.
    n = 0;
    for (int i = 0; i < 61440; i++)
        big [n++] = 'k';
    memcpy (big + n, ": v\n", 4);
    s_run (self, big, n + 4);
    //  A chain of 200 steps (the smoke limit), a ring of 150, and 201 steps.
    const int counts [] = {200, 150, 201};
    for (int k = 0; k < 3; k++) {
        n = (size_t) sprintf ((char *) big, "name: g\nversion: \"1\"\nsteps:\n");
        for (int i = 0; i < counts [k]; i++)
            n += (size_t) sprintf ((char *) big + n,
                                   "  - {id: s%d, agent: sys.echo, needs: [s%d], with: {v: "
                                   "\"${steps.s%d.output}\"}}\n",
                                   i,
                                   k == 1  ? (i + counts [k] - 1) % counts [k]
                                       : i ? i - 1
                                           : 0,
                                   i > 2 ? i - 3 : 0);
        s_seed (self, big, n);
    }
    free (big);
    return 0;
}

//  The run event corpus: a valid body of every type (from the packers),
//  with the writer that may write it, then their mutations.
static int
s_runs (smoke_t *self)
{
    self->target = fed_fuzz_runs;
    self->prefix = "run";
    const char *run = "0123456789abcdef";
    uint8_t hash [32] = {1}, node [32], by [32];
    memset (node, 0x11, 32); //  fuzz_runs' writer 1
    memset (by, 0x13, 32);
    const char *list [] = {"approver", "go"};
    for (int type = 1; type < FED_REV_TYPES; type++) {
        msgpack_sbuffer b;
        msgpack_sbuffer_init (&b);
        int writer = 0;
        switch ((fed_rev_type_t) type) {
            case FED_REV_RUN_STARTED:
                fed_rev_pack_run_started (&b, run, "w", "1", hash, "\x81\xa1n\x01", 4, by);
                break;
            case FED_REV_STEP_WAITING:
                fed_rev_pack_waiting (&b, run, "a", "no node in region edge");
                break;
            case FED_REV_STEP_ASSIGNED:
                fed_rev_pack_assigned (&b, run, "a", 2, node, "sys.echo", "\x80", 1, 1000, "retry");
                break;
            case FED_REV_STEP_STARTED:
                fed_rev_pack_step_started (&b, run, "a", 1);
                writer = 1;
                break;
            case FED_REV_STEP_COMPLETED:
                fed_rev_pack_completed (&b, run, "a", 1, "\x81\xa1k\x92\x01\x02", 6, 7);
                writer = 1;
                break;
            case FED_REV_STEP_FAILED:
                fed_rev_pack_failed (&b, run, "a", 1, "boom", "it broke", 7);
                writer = 1;
                break;
            case FED_REV_STEP_AWAITING:
                fed_rev_pack_awaiting (&b, run, "gate", "ok?", list, 1, 1, true, list + 1, 1, 9,
                                       "escalate");
                break;
            case FED_REV_STEP_APPROVED:
            case FED_REV_STEP_REJECTED:
                fed_rev_pack_vote (&b, run, "gate", by, "fine",
                                   type == FED_REV_STEP_APPROVED ? "go" : NULL);
                writer = 2;
                break;
            case FED_REV_STEP_DECIDED:
                fed_rev_pack_decided (&b, run, "gate", "approved", "go",
                                      (const uint8_t (*) [32]) by, 1, "ok");
                break;
            case FED_REV_STEP_ESCALATED: fed_rev_pack_escalated (&b, run, "gate"); break;
            case FED_REV_RUN_CANCEL_REQUESTED:
            case FED_REV_RUN_CANCELLED:
                fed_rev_pack_cancel (&b, run, by, "stop");
                writer = type == FED_REV_RUN_CANCEL_REQUESTED ? 2 : 0;
                break;
            case FED_REV_RUN_COMPLETED: fed_rev_pack_run_completed (&b, run, 5); break;
            case FED_REV_STEP_PROGRESS:
                fed_rev_pack_progress (&b, run, "a", 1, 40, 100, "rows");
                writer = 1;
                break;
            case FED_REV_RUN_FAILED:
                fed_rev_pack_run_failed (&b, run, "a", "timeout", "no result");
                break;
            default: break;
        }
        //  fuzz_runs: type = 1 + byte % (TYPES - 1), writer = (byte >> 4) & 3.
        uint8_t first = 0;
        for (int c = 0; c < 256; c++)
            if (1 + c % (FED_REV_TYPES - 1) == type && ((c >> 4) & 3) == writer) {
                first = (uint8_t) c;
                break;
            }
        uint8_t *input = fed_malloc (b.size + 1);
        input [0] = first;
        memcpy (input + 1, b.data, b.size);
        fed_err_t err;
        fed_rev_t *rev = fed_rev_decode_body ((fed_rev_type_t) type, node, 1,
                                              (const uint8_t *) b.data, b.size, &err);
        if (!rev) {
            fprintf (stderr, "fuzz_smoke: expected the %s body to decode, got: %s\n",
                     fed_rev_type_name ((fed_rev_type_t) type), err.text);
            return 1;
        }
        fed_rev_destroy (&rev);
        s_seed (self, input, b.size + 1);
        s_mutate (self, input, b.size + 1);
        free (input);
        msgpack_sbuffer_destroy (&b);
    }
    return 0;
}

//  The CSV corpus: valid texts under a few option bytes (fuzz_csv's first
//  byte: delimiter, header, ragged, buffer, limits), their mutations, and
//  crafted inputs (a field far over the limit, an unterminated quote at
//  the end of a long input, bad UTF-8 of each kind).
static int
s_csv (smoke_t *self)
{
    self->target = fed_fuzz_csv;
    self->prefix = "csv";
    self->written = 0;
    static const char *texts [] = {
        "aaa,bbb,ccc\r\nzzz,yyy,xxx\r\n",
        "id,name,score\n1,\"Smith, J\",3.5\n2,\"say \"\"hi\"\"\",\n3,\"two\nlines\",1e3\n",
        "a,b\n\n,\n\"\"\n \"x\" ,y\n",
        "\xef\xbb\xbfk,v\r\n\xc3\xa9,\xe2\x82\xac\r\n\xf0\x9f\x98\x80,\"\xc3\xa9\r\"\n",
        "a;b\tc|d\n1;2\t3|4\r5;6\t7|8",
        "x,y,z\n1,2\n1,2,3,4\n\"a\"b,c\n\"open\n",
    };
    //  Option bytes: default ',' with header; tight limits and a 16-byte
    //  buffer; ';' ragged with a 64-byte buffer; tab with loose limits.
    static const uint8_t picks [] = {0x34, 0x0c, 0x59, 0xa2, 0xf7};
    uint8_t *input = fed_malloc (INPUT_MAX + 1);
    for (size_t i = 0; i < sizeof texts / sizeof texts [0]; i++) {
        size_t size = strlen (texts [i]);
        for (size_t p = 0; p < sizeof picks; p++) {
            input [0] = picks [p];
            memcpy (input + 1, texts [i], size);
            s_seed (self, input, size + 1);
            if (p < 2)
                s_mutate (self, input, size + 1);
        }
    }
    //  A quoted field of 6 KiB with line breaks, under tight and loose limits.
    size_t n = 0;
    input [n++] = 0;
    n += (size_t) sprintf ((char *) input + n, "a,b\n1,\"");
    for (int i = 0; i < 6144; i++)
        input [n++] = i % 100 == 99 ? '\n' : (uint8_t) ('a' + i % 26);
    n += (size_t) sprintf ((char *) input + n, "\"\n2,after\n");
    static const uint8_t big_picks [] = {0x00, 0x40, 0x80, 0xc0, 0x14};
    for (size_t p = 0; p < sizeof big_picks; p++) {
        input [0] = big_picks [p];
        s_seed (self, input, n);
    }
    input [0] = 0x80;
    input [n - 12] = 'x'; //  the closing quote gone: unterminated to the end
    s_seed (self, input, n);
    static const char *crafted [] = {
        "\x30\xc0\xaf,x\n",
        "\x30\xed\xa0\x80\n",
        "\x30\xf4\x90\x80\x80\n",
        "\x30\xe2\x82",
        "\x30\xff\xfe\n",
        "\x30\xef\xbb\xbf",
        "\x30\xef\xbb\xbf\xef\xbb\xbf",
        "\x30\"\"\"",
        "\x30\r\r\n\n\r",
        "\x30,,,,,,,,,,,,,,,,,,,,",
        "\x30\"a\"\"",
        "\x30 \t, ",
    };
    for (size_t i = 0; i < sizeof crafted / sizeof crafted [0]; i++)
        s_seed (self, (const uint8_t *) crafted [i], strlen (crafted [i]));
    free (input);
    return 0;
}

int
main (int argc, char *argv [])
{
    if (sodium_init () < 0)
        return 1;
    smoke_t self = {0};
    self.target = LLVMFuzzerTestOneInput;
    self.prefix = "seed";
    if (argc == 3 && strcmp (argv [1], "--write") == 0)
        self.write_dir = argv [2];
    else if (argc != 1) {
        fprintf (stderr, "usage: fuzz_smoke [--write DIR]\n");
        return 2;
    }
    const char *seed_env = getenv ("FED_FUZZ_SEED");
    uint64_t seed = seed_env ? strtoull (seed_env, NULL, 0) : 20240601;
    self.rng = seed ? seed : 1;
    int64_t started = fed_mono_ms ();

    uint8_t key_seed [32];
    memset (key_seed, 9, sizeof key_seed);
    fed_identity_t *identity = fed_identity_from_seed (key_seed);
    static const char *types [] = {
        "a", "user.deploy", "step.completed", "x-1.y_2",
        "t234567890123456789012345678901234567890123456789012345678901234"};
    uint8_t *body = fed_malloc (INPUT_MAX);
    uint8_t prev [32];
    for (int i = 0; i < VALID_EVENTS; i++) {
        size_t body_size = s_body (&self, i, body);
        uint64_t seq = i % 3 == 0 ? 1 : i % 3 == 1 ? 2 : (uint64_t) 1 << 40;
        for (size_t k = 0; k < sizeof prev; k++)
            prev [k] = (uint8_t) s_rand (&self);
        fed_err_t err = {0};
        fed_event_t *event =
            fed_event_sign (fed_identity_secret (identity), fed_identity_public (identity), seq,
                            seq == 1 ? NULL : prev, (uint64_t) i * 0x123456789ull, types [i % 5],
                            body, body_size, NULL, &err);
        if (!event) {
            fprintf (stderr, "fuzz_smoke: expected event %d to sign, got: %s\n", i, err.text);
            return 1;
        }
        fed_event_t *decoded = NULL;
        if (fed_event_decode (fed_event_bytes (event), fed_event_size (event), NULL, &decoded, &err)
            || !fed_event_verify (decoded)) {
            fprintf (stderr, "fuzz_smoke: expected event %d to decode and verify, got: %s\n", i,
                     decoded ? "a bad signature" : err.text);
            return 1;
        }
        fed_event_destroy (&decoded);
        s_seed (&self, fed_event_bytes (event), fed_event_size (event));
        s_mutate (&self, fed_event_bytes (event), fed_event_size (event));
        fed_event_destroy (&event);
    }
    s_crafted (&self);
    free (body);
    if (s_wire (&self) || s_agentwire (&self) || s_workflows (&self) || s_runs (&self)
        || s_csv (&self))
        return 1;
    fed_identity_destroy (&identity);
    printf ("fuzz_smoke: seed %" PRIu64 ", %" PRIu64 " inputs, no invariant broken (%" PRId64
            " ms)\n",
            seed, self.inputs, fed_mono_ms () - started);
    return 0;
}
