/*  proto/agentwire.c: the agent protocol codec. See agentwire.h and
    doc/protocol.md §5.

    Decoding walks the frame once with the mpread cursor. The envelope and
    body rules are the peer protocol's (§5.2 points to §4.2), so they are
    proto/msgbody.c's, shared with wire.c: its walker reads each map through
    this file's key tables and calls the field readers here, which check
    type, size, range and character set and name the field in the error.
    The two free-form values, params and output, are checked for what the
    protocol promises of them (a map, str keys, none twice, within the
    nesting cap) and borrowed, not copied. The encoder trusts its caller
    (the node or the client packing its own values) and checks nothing.
*/
#include "agentwire.h"
#include "msgbody.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *s_type_names [FED_AW_TYPES] = {NULL,        "READY",  "WELCOME", "TASK",
                                                  "PROGRESS",  "RESULT", "FAIL",    "CANCEL",
                                                  "HEARTBEAT", "BYE",    "ERROR"};

#define ERROR_CODE_MAX 32
#define ERROR_MESSAGE_MAX 512

const char *
fed_aw_type_name (fed_aw_type_t type)
{
    return (int) type > 0 && type < FED_AW_TYPES ? s_type_names [type] : "?";
}

const char *
fed_aw_drop_name (fed_aw_drop_t drop)
{
    static const char *names [] = {"none", "version", "type", "limit", "malformed"};
    return (int) drop >= 0 && drop <= FED_AW_DROP_MALFORMED ? names [drop] : "?";
}

//  --- Character rules (§5.3) ---------------------------------------------------

//  An agent or capability name: [a-z0-9][a-z0-9._-]*. The same rule as
//  fed_agentset_name_valid, which proto/ cannot call (agents/ builds on it).
static bool
s_name_chars (const char *ptr, size_t size)
{
    for (size_t i = 0; i < size; i++) {
        char c = ptr [i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-')))
            return false;
    }
    return size > 0;
}

//  A version: printable ASCII, no space.
static bool
s_version_chars (const char *ptr, size_t size)
{
    for (size_t i = 0; i < size; i++)
        if (ptr [i] < 0x21 || ptr [i] > 0x7e)
            return false;
    return true;
}

//  A failure or error code: [a-z0-9_.].
static bool
s_code_chars (const char *ptr, size_t size)
{
    for (size_t i = 0; i < size; i++) {
        char c = ptr [i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.'))
            return false;
    }
    return true;
}

//  A READY label, shown in logs and `agents list`: text without control
//  characters, so it cannot forge a log line.
static bool
s_label_chars (const char *ptr, size_t size)
{
    for (size_t i = 0; i < size; i++)
        if ((uint8_t) ptr [i] < 0x20 || ptr [i] == 0x7f)
            return false;
    return true;
}

//  --- Decoding ---------------------------------------------------------------

_Static_assert(FED_AW_DEPTH_MAX == FED_MB_DEPTH_MAX, "§5.2 caps nesting as §4.2 does");

static const fed_mb_proto_t s_proto = {
    .message = "an agent message",
    .speaker = "this end",
    .version = FED_AW_VERSION,
    .type_names = s_type_names,
    .type_count = FED_AW_TYPES,
    .map_keys = "str",
    .drops = {[FED_MB_MALFORMED] = FED_AW_DROP_MALFORMED,
              [FED_MB_VERSION] = FED_AW_DROP_VERSION,
              [FED_MB_TYPE] = FED_AW_DROP_TYPE,
              [FED_MB_LIMIT] = FED_AW_DROP_LIMIT},
};

//  The character rule a str field follows beyond UTF-8.
typedef enum { TEXT, LABEL, NAME, VERSION, CODE } chars_t;

static const char *s_chars_rule [] = {NULL, "text without control characters",
                                      "a name: a-z, 0-9, '.', '_', '-', first a letter or digit",
                                      "printable ASCII without spaces",
                                      "a code: a-z, 0-9, '_', '.'"};

//  A str of min..max bytes following chars, copied NUL-terminated into out
//  (which holds max + 1 bytes).
static int
s_read_str (fed_mb_t *ctx, fed_mpr_t *reader, const char *where, const char *field, uint32_t min,
            uint32_t max, chars_t chars, char *out)
{
    const char *ptr;
    uint32_t len;
    if (fed_mb_read_str (ctx, reader, where, field, min, max, false, &ptr, &len))
        return FED_MALFORMED;
    bool ok = chars == TEXT || (chars == LABEL && s_label_chars (ptr, len))
        || (chars == NAME && s_name_chars (ptr, len))
        || (chars == VERSION && s_version_chars (ptr, len))
        || (chars == CODE && s_code_chars (ptr, len));
    if (!ok) {
        char shown [FED_MB_SHOWN_SIZE];
        return fed_mb_fail (ctx, FED_MB_MALFORMED, "%s: '%s' must be %s, got '%s'", where, field,
                            s_chars_rule [chars], fed_mb_printable (shown, ptr, len));
    }
    memcpy (out, ptr, len);
    out [len] = 0;
    return 0;
}

//  A uint of at least min. A value over max is dropped as limit when
//  over_is_limit (a count the protocol caps), else as malformed.
static int
s_read_uint (fed_mb_t *ctx, fed_mpr_t *reader, const char *where, const char *field, uint64_t min,
             uint64_t max, bool over_is_limit, uint64_t *value)
{
    if (fed_mb_read_uint (ctx, reader, where, field, value))
        return FED_MALFORMED;
    if (*value < min)
        return fed_mb_fail (ctx, FED_MB_MALFORMED, "%s: '%s' must be %llu or more, got %llu", where,
                            field, (unsigned long long) min, (unsigned long long) *value);
    if (*value > max)
        return fed_mb_fail (ctx, over_is_limit ? FED_MB_LIMIT : FED_MB_MALFORMED,
                            "%s: '%s' is %llu, over the limit of %llu", where, field,
                            (unsigned long long) *value, (unsigned long long) max);
    return 0;
}

static int
s_read_u32 (fed_mb_t *ctx, fed_mpr_t *reader, const char *where, const char *field, uint32_t min,
            uint32_t max, bool over_is_limit, uint32_t *value)
{
    uint64_t wide;
    if (s_read_uint (ctx, reader, where, field, min, max, over_is_limit, &wide))
        return FED_MALFORMED;
    *value = (uint32_t) wide;
    return 0;
}

//  A task id: a uint of 1 or more.
static int
s_read_task (fed_mb_t *ctx, fed_mpr_t *reader, const char *where, uint64_t *task)
{
    return s_read_uint (ctx, reader, where, "task", 1, UINT64_MAX, false, task);
}

//  One top-level key of a free-form map, for the duplicate check.
typedef struct {
    const char *ptr;
    uint32_t len;
} s_key_t;

static int
s_key_compare (const void *a, const void *b)
{
    const s_key_t *x = (const s_key_t *) a, *y = (const s_key_t *) b;
    int order = memcmp (x->ptr, y->ptr, x->len < y->len ? x->len : y->len);
    return order ? order : (x->len > y->len) - (x->len < y->len);
}

//  params or output: a map at level 3 with str keys (UTF-8, none twice)
//  and values of any type within the nesting cap. Borrowed from the frame.
static int
s_read_object (fed_mb_t *ctx, fed_mpr_t *reader, const char *where, const char *field,
               const uint8_t **data, size_t *size)
{
    size_t start = reader->pos;
    uint32_t count;
    if (fed_mb_read_map (ctx, reader, where, field, "a map with str keys", UINT32_MAX, &count))
        return FED_MALFORMED;
    //  count is at most the bytes left: a bounded allocation.
    s_key_t *keys = (s_key_t *) fed_calloc (count ? count : 1, sizeof (s_key_t));
    char what [80], shown [FED_MB_SHOWN_SIZE];
    int rc = 0;
    for (uint32_t i = 0; i < count && rc == 0; i++) {
        if (fed_mpr_peek (reader) != FED_MP_STR)
            rc = fed_mb_fail (ctx, FED_MB_MALFORMED, "%s: '%s' keys must be str, got %s", where,
                              field, fed_mb_got (reader));
        else if (fed_mpr_str (reader, &keys [i].ptr, &keys [i].len))
            rc =
                fed_mb_fail (ctx, FED_MB_MALFORMED, "%s: a key of '%s' is truncated", where, field);
        else if (!fed_text_valid (keys [i].ptr, keys [i].len))
            rc = fed_mb_fail (ctx, FED_MB_MALFORMED,
                              "%s: a key of '%s' is not UTF-8 text without NUL", where, field);
        else {
            snprintf (what, sizeof what, "'%s' key '%s'", field,
                      fed_mb_printable (shown, keys [i].ptr, keys [i].len));
            rc = fed_mb_skip (ctx, reader, where, what, FED_AW_DEPTH_MAX - 3);
        }
    }
    if (rc == 0 && count > 1) {
        qsort (keys, count, sizeof (s_key_t), s_key_compare);
        for (uint32_t i = 1; i < count && rc == 0; i++)
            if (s_key_compare (&keys [i - 1], &keys [i]) == 0)
                rc = fed_mb_fail (ctx, FED_MB_MALFORMED, "%s: '%s' key '%s' is given twice", where,
                                  field, fed_mb_printable (shown, keys [i].ptr, keys [i].len));
    }
    free (keys);
    if (rc == 0) {
        *data = reader->data + start;
        *size = reader->pos - start;
    }
    return rc;
}

//  READY agent maps (level 4).

static const char *const s_agent_keys [] = {"name", "version", "capabilities", "location", NULL};

static int
s_agent_field (fed_mb_t *ctx, fed_mpr_t *reader, const char *where, int index, void *target)
{
    fed_aw_agent_t *agent = (fed_aw_agent_t *) target;
    switch (index) {
        case 0:
            return s_read_str (ctx, reader, where, "name", 1, FED_AW_NAME_MAX, NAME, agent->name);
        case 1:
            return s_read_str (ctx, reader, where, "version", 1, FED_AW_VERSION_MAX, VERSION,
                               agent->version);
        case 2: {
            uint32_t count;
            if (fed_mb_read_array (ctx, reader, where, "capabilities", "an array of names",
                                   FED_AW_CAPS_MAX, &count))
                return FED_MALFORMED;
            for (uint32_t i = 0; i < count; i++) {
                char field [32];
                snprintf (field, sizeof field, "capabilities[%u]", i);
                if (s_read_str (ctx, reader, where, field, 1, FED_AW_NAME_MAX, NAME,
                                agent->capabilities [i]))
                    return FED_MALFORMED;
                agent->capability_count++;
            }
            return 0;
        }
        default: {
            //  Checked to be a map within the cap; its contents are the
            //  registry's business (node.started's location rules).
            size_t start = reader->pos;
            if (fed_mpr_peek (reader) != FED_MP_MAP)
                return fed_mb_fail (ctx, FED_MB_MALFORMED, "%s: 'location' must be a map, got %s",
                                    where, fed_mb_got (reader));
            if (fed_mb_skip (ctx, reader, where, "'location'", FED_AW_DEPTH_MAX - 4))
                return FED_MALFORMED;
            agent->location = reader->data + start;
            agent->location_size = reader->pos - start;
            return 0;
        }
    }
}

//  Bodies (level 2): each type's key table and field reader.

static const char *const s_ready_keys [] = {"agents", "slots", "name", NULL};

static int
s_ready_field (fed_mb_t *ctx, fed_mpr_t *reader, const char *where, int index, void *target)
{
    fed_aw_msg_t *msg = (fed_aw_msg_t *) target;
    if (index == 1)
        return s_read_u32 (ctx, reader, where, "slots", 1, FED_AW_SLOTS_MAX, true, &msg->slots);
    if (index == 2)
        return s_read_str (ctx, reader, where, "name", 0, FED_AW_NAME_MAX, LABEL, msg->label);
    uint32_t count;
    if (fed_mb_read_array (ctx, reader, where, "agents", "an array of maps", FED_AW_AGENTS_MAX,
                           &count))
        return FED_MALFORMED;
    if (count == 0)
        return fed_mb_fail (ctx, FED_MB_MALFORMED, "%s: 'agents' must offer at least 1 agent",
                            where);
    msg->agents = (fed_aw_agent_t *) fed_calloc (count, sizeof (fed_aw_agent_t));
    for (uint32_t i = 0; i < count; i++) {
        char path [32];
        snprintf (path, sizeof path, "%s agents[%u]", where, i);
        fed_mb_map_t map = {path, path, 4, s_agent_keys, 0x3};
        fed_aw_agent_t *agent = &msg->agents [i];
        if (fed_mb_walk (ctx, reader, &map, s_agent_field, agent))
            return FED_MALFORMED;
        for (uint32_t j = 0; j < i; j++)
            if (strcmp (msg->agents [j].name, agent->name) == 0)
                return fed_mb_fail (ctx, FED_MB_MALFORMED,
                                    "%s: agent '%s' is offered twice (also agents[%u])", path,
                                    agent->name, j);
        msg->agent_count++;
    }
    return 0;
}

static const char *const s_welcome_keys [] = {"node", "heartbeat_ms", "liveness", NULL};

static int
s_welcome_field (fed_mb_t *ctx, fed_mpr_t *reader, const char *where, int index, void *target)
{
    fed_aw_msg_t *msg = (fed_aw_msg_t *) target;
    if (index == 1)
        return s_read_uint (ctx, reader, where, "heartbeat_ms", 1, UINT64_MAX, false,
                            &msg->heartbeat_ms);
    if (index == 2)
        return s_read_u32 (ctx, reader, where, "liveness", 1, UINT32_MAX, false, &msg->liveness);
    return fed_mb_read_bin (ctx, reader, where, "node", sizeof msg->node, msg->node);
}

static const char *const s_task_keys [] = {"task", "agent", "version", "params",    "timeout_ms",
                                           "run",  "step",  "attempt", "workspace", NULL};

static int
s_task_field (fed_mb_t *ctx, fed_mpr_t *reader, const char *where, int index, void *target)
{
    fed_aw_msg_t *msg = (fed_aw_msg_t *) target;
    switch (index) {
        case 0: return s_read_task (ctx, reader, where, &msg->task);
        case 1:
            return s_read_str (ctx, reader, where, "agent", 1, FED_AW_NAME_MAX, NAME, msg->agent);
        case 2:
            return s_read_str (ctx, reader, where, "version", 1, FED_AW_VERSION_MAX, VERSION,
                               msg->version);
        case 3:
            return s_read_object (ctx, reader, where, "params", &msg->params, &msg->params_size);
        case 4:
            return s_read_uint (ctx, reader, where, "timeout_ms", 0, UINT64_MAX, false,
                                &msg->timeout_ms);
        case 5: return s_read_str (ctx, reader, where, "run", 0, FED_AW_RUN_MAX, TEXT, msg->run);
        case 6: return s_read_str (ctx, reader, where, "step", 0, FED_AW_RUN_MAX, TEXT, msg->step);
        case 7:
            return s_read_u32 (ctx, reader, where, "attempt", 0, UINT32_MAX, false, &msg->attempt);
        default:
            return s_read_str (ctx, reader, where, "workspace", 0, FED_AW_WORKSPACE_MAX, TEXT,
                               msg->workspace);
    }
}

static const char *const s_progress_keys [] = {"task", "done", "total", "text", NULL};

static int
s_progress_field (fed_mb_t *ctx, fed_mpr_t *reader, const char *where, int index, void *target)
{
    fed_aw_msg_t *msg = (fed_aw_msg_t *) target;
    switch (index) {
        case 0: return s_read_task (ctx, reader, where, &msg->task);
        case 1: return s_read_uint (ctx, reader, where, "done", 0, UINT64_MAX, false, &msg->done);
        case 2: return s_read_uint (ctx, reader, where, "total", 0, UINT64_MAX, false, &msg->total);
        default:
            return s_read_str (ctx, reader, where, "text", 0, FED_AW_TEXT_MAX, TEXT, msg->text);
    }
}

static const char *const s_result_keys [] = {"task", "output", NULL};

static int
s_result_field (fed_mb_t *ctx, fed_mpr_t *reader, const char *where, int index, void *target)
{
    fed_aw_msg_t *msg = (fed_aw_msg_t *) target;
    if (index == 0)
        return s_read_task (ctx, reader, where, &msg->task);
    return s_read_object (ctx, reader, where, "output", &msg->output, &msg->output_size);
}

static const char *const s_fail_keys [] = {"task", "code", "message", NULL};

static int
s_fail_field (fed_mb_t *ctx, fed_mpr_t *reader, const char *where, int index, void *target)
{
    fed_aw_msg_t *msg = (fed_aw_msg_t *) target;
    if (index == 0)
        return s_read_task (ctx, reader, where, &msg->task);
    if (index == 1)
        return s_read_str (ctx, reader, where, "code", 1, FED_AW_CODE_MAX, CODE, msg->code);
    return s_read_str (ctx, reader, where, "message", 0, FED_AW_MESSAGE_MAX, TEXT, msg->message);
}

static const char *const s_cancel_keys [] = {"task", "reason", NULL};

static int
s_cancel_field (fed_mb_t *ctx, fed_mpr_t *reader, const char *where, int index, void *target)
{
    fed_aw_msg_t *msg = (fed_aw_msg_t *) target;
    if (index == 0)
        return s_read_task (ctx, reader, where, &msg->task);
    return s_read_str (ctx, reader, where, "reason", 0, FED_AW_CODE_MAX, CODE, msg->code);
}

static const char *const s_error_keys [] = {"code", "message", "task", NULL};

static int
s_error_field (fed_mb_t *ctx, fed_mpr_t *reader, const char *where, int index, void *target)
{
    fed_aw_msg_t *msg = (fed_aw_msg_t *) target;
    if (index == 0)
        return s_read_str (ctx, reader, where, "code", 1, ERROR_CODE_MAX, CODE, msg->code);
    if (index == 1)
        return s_read_str (ctx, reader, where, "message", 0, ERROR_MESSAGE_MAX, TEXT, msg->message);
    return s_read_uint (ctx, reader, where, "task", 0, UINT64_MAX, false, &msg->task);
}

static const char *const s_empty_keys [] = {NULL};

static const fed_mb_body_t s_bodies [FED_AW_TYPES] = {
    [FED_AW_READY] = {s_ready_keys, 0x1, s_ready_field},
    [FED_AW_WELCOME] = {s_welcome_keys, 0x7, s_welcome_field},
    [FED_AW_TASK] = {s_task_keys, 0x1ff, s_task_field},
    [FED_AW_PROGRESS] = {s_progress_keys, 0x3, s_progress_field},
    [FED_AW_RESULT] = {s_result_keys, 0x3, s_result_field},
    [FED_AW_FAIL] = {s_fail_keys, 0x3, s_fail_field},
    [FED_AW_CANCEL] = {s_cancel_keys, 0x1, s_cancel_field},
    [FED_AW_HEARTBEAT] = {s_empty_keys, 0, NULL},
    [FED_AW_BYE] = {s_empty_keys, 0, NULL},
    [FED_AW_ERROR] = {s_error_keys, 0x3, s_error_field},
};

static int
s_decode (fed_mb_t *ctx, fed_mpr_t *reader)
{
    fed_aw_msg_t *msg = ctx->msg;
    int type;
    if (fed_mb_envelope (ctx, reader, &type))
        return FED_MALFORMED;
    msg->type = (fed_aw_type_t) type;
    if (type == FED_AW_READY)
        msg->slots = 1;
    if (fed_mb_body (ctx, reader, type, &s_bodies [type], msg))
        return FED_MALFORMED;
    return fed_mb_end (ctx, reader, type);
}

int
fed_aw_decode (const void *data, size_t size, fed_aw_msg_t *msg, fed_err_t *err)
{
    memset (msg, 0, sizeof *msg);
    if (err) {
        err->code = FED_AW_DROP_NONE;
        err->text [0] = 0;
    }
    fed_mb_t ctx = {&s_proto, err, msg};
    fed_mpr_t reader;
    fed_mpr_init (&reader, data, size);
    if (s_decode (&ctx, &reader)) {
        fed_aw_msg_clear (msg);
        return -1;
    }
    return 0;
}

void
fed_aw_msg_clear (fed_aw_msg_t *msg)
{
    free (msg->agents);
    memset (msg, 0, sizeof *msg);
}

//  --- Encoding ---------------------------------------------------------------

static void
s_pack_cstr (msgpack_packer *pk, const char *text)
{
    msgpack_pack_str_with_body (pk, text, strlen (text));
}

static void
s_pack_str (msgpack_packer *pk, const char *key, const char *value)
{
    s_pack_cstr (pk, key);
    s_pack_cstr (pk, value);
}

static void
s_pack_uint (msgpack_packer *pk, const char *key, uint64_t value)
{
    s_pack_cstr (pk, key);
    msgpack_pack_uint64 (pk, value);
}

//  A borrowed msgpack map, {} when absent.
static void
s_pack_object (msgpack_packer *pk, const char *key, const uint8_t *data, size_t size)
{
    s_pack_cstr (pk, key);
    if (data && size)
        msgpack_sbuffer_write (pk->data, (const char *) data, size);
    else
        msgpack_pack_map (pk, 0);
}

static void
s_pack_agent (msgpack_packer *pk, const fed_aw_agent_t *agent)
{
    msgpack_pack_map (pk, 2 + (agent->capability_count > 0) + (agent->location != NULL));
    s_pack_str (pk, "name", agent->name);
    s_pack_str (pk, "version", agent->version);
    if (agent->capability_count) {
        s_pack_cstr (pk, "capabilities");
        msgpack_pack_array (pk, agent->capability_count);
        for (uint32_t i = 0; i < agent->capability_count; i++)
            s_pack_cstr (pk, agent->capabilities [i]);
    }
    if (agent->location) {
        s_pack_cstr (pk, "location");
        msgpack_sbuffer_write (pk->data, (const char *) agent->location, agent->location_size);
    }
}

//  Optional fields are packed only when they differ from their default, so
//  the doc's examples (§5.5) come out byte for byte.
static void
s_pack_body (msgpack_packer *pk, const fed_aw_msg_t *msg)
{
    switch (msg->type) {
        case FED_AW_READY:
            msgpack_pack_map (pk, 1 + (msg->slots != 0) + (msg->label [0] != 0));
            s_pack_cstr (pk, "agents");
            msgpack_pack_array (pk, msg->agent_count);
            for (uint32_t i = 0; i < msg->agent_count; i++)
                s_pack_agent (pk, &msg->agents [i]);
            if (msg->slots)
                s_pack_uint (pk, "slots", msg->slots);
            if (msg->label [0])
                s_pack_str (pk, "name", msg->label);
            break;
        case FED_AW_WELCOME:
            msgpack_pack_map (pk, 3);
            s_pack_cstr (pk, "node");
            msgpack_pack_bin_with_body (pk, msg->node, sizeof msg->node);
            s_pack_uint (pk, "heartbeat_ms", msg->heartbeat_ms);
            s_pack_uint (pk, "liveness", msg->liveness);
            break;
        case FED_AW_TASK:
            msgpack_pack_map (pk, 9);
            s_pack_uint (pk, "task", msg->task);
            s_pack_str (pk, "agent", msg->agent);
            s_pack_str (pk, "version", msg->version);
            s_pack_object (pk, "params", msg->params, msg->params_size);
            s_pack_uint (pk, "timeout_ms", msg->timeout_ms);
            s_pack_str (pk, "run", msg->run);
            s_pack_str (pk, "step", msg->step);
            s_pack_uint (pk, "attempt", msg->attempt);
            s_pack_str (pk, "workspace", msg->workspace);
            break;
        case FED_AW_PROGRESS:
            msgpack_pack_map (pk, 3 + (msg->text [0] != 0));
            s_pack_uint (pk, "task", msg->task);
            s_pack_uint (pk, "done", msg->done);
            s_pack_uint (pk, "total", msg->total);
            if (msg->text [0])
                s_pack_str (pk, "text", msg->text);
            break;
        case FED_AW_RESULT:
            msgpack_pack_map (pk, 2);
            s_pack_uint (pk, "task", msg->task);
            s_pack_object (pk, "output", msg->output, msg->output_size);
            break;
        case FED_AW_FAIL:
            msgpack_pack_map (pk, 2 + (msg->message [0] != 0));
            s_pack_uint (pk, "task", msg->task);
            s_pack_str (pk, "code", msg->code);
            if (msg->message [0])
                s_pack_str (pk, "message", msg->message);
            break;
        case FED_AW_CANCEL:
            msgpack_pack_map (pk, 1 + (msg->code [0] != 0));
            s_pack_uint (pk, "task", msg->task);
            if (msg->code [0])
                s_pack_str (pk, "reason", msg->code);
            break;
        case FED_AW_ERROR:
            msgpack_pack_map (pk, 2 + (msg->task != 0));
            s_pack_str (pk, "code", msg->code);
            s_pack_str (pk, "message", msg->message);
            if (msg->task)
                s_pack_uint (pk, "task", msg->task);
            break;
        default: //  HEARTBEAT, BYE
            msgpack_pack_map (pk, 0);
            break;
    }
}

void
fed_aw_encode (const fed_aw_msg_t *msg, msgpack_sbuffer *out)
{
    if ((int) msg->type <= 0 || msg->type >= FED_AW_TYPES) {
        fprintf (stderr, "fed_aw_encode: message type %d is not a fed_aw_type_t\n",
                 (int) msg->type);
        abort ();
    }
    msgpack_packer pk;
    msgpack_packer_init (&pk, out, msgpack_sbuffer_write);
    msgpack_pack_array (&pk, 3);
    msgpack_pack_uint8 (&pk, FED_AW_VERSION);
    s_pack_cstr (&pk, s_type_names [msg->type]);
    s_pack_body (&pk, msg);
}
