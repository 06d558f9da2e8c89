/*  proto/agentwire.h: the agent protocol codec (doc/protocol.md §5).

    External agents and the node talk in one-frame messages, each a msgpack
    array [1, type, body] whose body is a map with string keys, under the
    same rules as the peer protocol (§4.2): unknown body keys are skipped,
    a listed key twice is malformed, nesting is capped at 16 levels, no
    trailing bytes. This module turns a frame into a typed fed_aw_msg_t and
    back, for both ends: the node (node/extagents.c) and the C client
    (agents/agentclient.c). Decoding is strict and bounds-checked through
    proto/mpread.h; nothing a sender declares is trusted before it is
    checked against the bytes that remain and the limits below.

    A decoded message copies its short strings into fixed fields (NUL-
    terminated) and borrows its three msgpack values (params, output,
    location) from the frame, so the frame must outlive the message; the
    READY agent list is one allocation owned by the message and freed by
    fed_aw_msg_clear. The codec keeps no state; any thread.
*/
#ifndef FED_AGENTWIRE_H_INCLUDED
#define FED_AGENTWIRE_H_INCLUDED

#include <msgpack.h>
#include "mpread.h"
#include "util.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FED_AW_VERSION 1          //  envelope version
#define FED_AW_AGENTS_MAX 64      //  agents in one READY
#define FED_AW_SLOTS_MAX 256      //  READY slots
#define FED_AW_NAME_MAX 64        //  agent name, capability, READY label
#define FED_AW_VERSION_MAX 32     //  agent version
#define FED_AW_CAPS_MAX 32        //  capabilities per agent
#define FED_AW_RUN_MAX 128        //  TASK run and step
#define FED_AW_WORKSPACE_MAX 4096 //  TASK workspace
#define FED_AW_TEXT_MAX 255       //  PROGRESS text
#define FED_AW_CODE_MAX 63        //  FAIL code ([a-z0-9_.]); ERROR code is at most 32
#define FED_AW_MESSAGE_MAX 1023   //  FAIL message; ERROR message is at most 512
#define FED_AW_DEPTH_MAX 16       //  nesting, the envelope array being level 1

typedef enum {
    FED_AW_READY = 1, //  agent -> node: the agents a process offers
    FED_AW_WELCOME,   //  node -> agent: READY taken
    FED_AW_TASK,      //  node -> agent: run one task
    FED_AW_PROGRESS,  //  agent -> node
    FED_AW_RESULT,    //  agent -> node: the task succeeded, with its output
    FED_AW_FAIL,      //  agent -> node: the task failed, with a code
    FED_AW_CANCEL,    //  node -> agent: drop a task
    FED_AW_HEARTBEAT, //  both ways
    FED_AW_BYE,       //  both ways: the sender is leaving
    FED_AW_ERROR,     //  node -> agent: a refusal
    FED_AW_TYPES      //  number of types + 1; not a type
} fed_aw_type_t;

//  Why a frame was refused (err->code after fed_aw_decode), for counters.
typedef enum {
    FED_AW_DROP_NONE = 0,
    FED_AW_DROP_VERSION,  //  envelope version is not 1
    FED_AW_DROP_TYPE,     //  unknown type string
    FED_AW_DROP_LIMIT,    //  a size, count or nesting over a limit
    FED_AW_DROP_MALFORMED //  anything else
} fed_aw_drop_t;

//  One agent a READY offers. location is borrowed from the frame: the
//  msgpack bytes of a map (checked to be one, not its contents), or NULL.
typedef struct {
    char name [FED_AW_NAME_MAX + 1];
    char version [FED_AW_VERSION_MAX + 1];
    uint32_t capability_count;
    char capabilities [FED_AW_CAPS_MAX][FED_AW_NAME_MAX + 1];
    const uint8_t *location;
    size_t location_size;
} fed_aw_agent_t;

//  One message. Only the fields of its type are meaningful; encoding reads
//  only those. Strings are NUL-terminated copies; params and output are
//  borrowed msgpack maps (string keys, checked), NULL when absent.
typedef struct {
    fed_aw_type_t type;
    //  READY
    fed_aw_agent_t *agents; //  owned (fed_aw_msg_clear) when decoded; borrowed when encoding
    uint32_t agent_count;
    uint32_t slots;                   //  1..256 (decode: 1 when absent)
    char label [FED_AW_NAME_MAX + 1]; //  READY name, "" when absent
    //  WELCOME
    uint8_t node [32];
    uint64_t heartbeat_ms;
    uint32_t liveness;
    //  TASK, PROGRESS, RESULT, FAIL, CANCEL, ERROR (0 in ERROR when absent)
    uint64_t task;
    //  TASK
    char agent [FED_AW_NAME_MAX + 1];
    char version [FED_AW_VERSION_MAX + 1];
    const uint8_t *params;
    size_t params_size;
    uint64_t timeout_ms;
    char run [FED_AW_RUN_MAX + 1], step [FED_AW_RUN_MAX + 1];
    uint32_t attempt;
    char workspace [FED_AW_WORKSPACE_MAX + 1];
    //  PROGRESS
    uint64_t done, total;
    char text [FED_AW_TEXT_MAX + 1];
    //  RESULT
    const uint8_t *output;
    size_t output_size;
    //  FAIL (code, message), ERROR (code ≤ 32, message ≤ 512), CANCEL (code = reason)
    char code [FED_AW_CODE_MAX + 1];
    char message [FED_AW_MESSAGE_MAX + 1];
} fed_aw_msg_t;

//  "READY", "TASK", … ("?" for anything else).
const char *fed_aw_type_name (fed_aw_type_t type);
//  "version", "type", "limit", "malformed" ("none" for 0).
const char *fed_aw_drop_name (fed_aw_drop_t drop);

//  Decodes one frame into *msg (cleared first). Returns 0, or -1 with
//  err->code a fed_aw_drop_t and err->text naming the type and field and
//  the limit or the type expected ("READY agents[0]: 'version' is 40
//  bytes, over the limit of 32"). params and output must be maps with string keys
//  and no key twice; names and versions follow doc/protocol.md §5.3. The
//  frame must outlive msg. Call fed_aw_msg_clear after either outcome.
int fed_aw_decode (const void *data, size_t size, fed_aw_msg_t *msg, fed_err_t *err) FED_MUST_USE;

//  Frees what a decoded message owns and zeroes it. Accepts a zeroed msg.
void fed_aw_msg_clear (fed_aw_msg_t *msg);

//  Appends msg, encoded, to out (the caller owns out). msg must be valid
//  (the sender's own values); encoding does not check.
void fed_aw_encode (const fed_aw_msg_t *msg, msgpack_sbuffer *out);

#ifdef __cplusplus
}
#endif
#endif
