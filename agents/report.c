/*  agents/report.c: packing and strict decoding of pool reports (the format
    is in report.h).
*/
#include "report.h"

#include <string.h>
#include "mpread.h"

#define MAX_TEXT 255
#define MAX_MESSAGE 1023
#define MAX_FIELD 1024 //  run, step, code

struct fed_report_t {
    uint64_t task;          //  the pool's task id
    fed_report_kind_t kind; //  progress, completed or failed
    char *run;              //  owned; "" if empty
    char *step;             //  owned
    uint32_t attempt;       //  the submitter's attempt number
    int64_t elapsed_ms;     //  since the task started
    uint64_t done;          //  progress: units finished
    uint64_t total;         //  progress: units in all
    char *text;             //  progress: owned; "" for other kinds
    char *code;             //  failed: owned
    char *message;          //  failed: owned
    uint8_t *output;        //  completed: the map's bytes, owned; NULL for {}
    size_t output_size;     //  bytes in output
};

static const uint8_t s_empty_map [] = {0x80};

static void
s_pack_str (msgpack_packer *pk, const char *text)
{
    size_t size = text ? strlen (text) : 0;
    msgpack_pack_str_with_body (pk, text ? text : "", size);
}

//  The fields all kinds share; fields is how many more the kind adds.
static void
s_pack_head (msgpack_packer *pk, const fed_report_head_t *head, const char *kind, uint32_t fields)
{
    msgpack_pack_map (pk, 6 + fields);
    s_pack_str (pk, "task");
    msgpack_pack_uint64 (pk, head->task);
    s_pack_str (pk, "kind");
    s_pack_str (pk, kind);
    s_pack_str (pk, "run");
    s_pack_str (pk, head->run);
    s_pack_str (pk, "step");
    s_pack_str (pk, head->step);
    s_pack_str (pk, "attempt");
    msgpack_pack_uint32 (pk, head->attempt);
    s_pack_str (pk, "ms");
    msgpack_pack_uint64 (pk, head->elapsed_ms > 0 ? (uint64_t) head->elapsed_ms : 0);
}

void
fed_report_pack_progress (msgpack_sbuffer *out, const fed_report_head_t *head, uint64_t done,
                          uint64_t total, const char *text)
{
    msgpack_packer pk;
    msgpack_packer_init (&pk, out, msgpack_sbuffer_write);
    s_pack_head (&pk, head, "progress", 3);
    s_pack_str (&pk, "done");
    msgpack_pack_uint64 (&pk, done);
    s_pack_str (&pk, "total");
    msgpack_pack_uint64 (&pk, total);
    s_pack_str (&pk, "text");
    s_pack_str (&pk, text);
}

void
fed_report_pack_completed (msgpack_sbuffer *out, const fed_report_head_t *head, const void *output,
                           size_t output_size)
{
    msgpack_packer pk;
    msgpack_packer_init (&pk, out, msgpack_sbuffer_write);
    s_pack_head (&pk, head, "completed", 1);
    s_pack_str (&pk, "output");
    if (output && output_size)
        msgpack_sbuffer_write (out, (const char *) output, output_size);
    else
        msgpack_pack_map (&pk, 0);
}

void
fed_report_pack_failed (msgpack_sbuffer *out, const fed_report_head_t *head, const char *code,
                        const char *message)
{
    msgpack_packer pk;
    msgpack_packer_init (&pk, out, msgpack_sbuffer_write);
    s_pack_head (&pk, head, "failed", 2);
    s_pack_str (&pk, "code");
    s_pack_str (&pk, code);
    s_pack_str (&pk, "message");
    s_pack_str (&pk, message);
}

//  --- Decoding ---------------------------------------------------------------

//  Reads a str of at most max bytes, without NUL bytes, into fresh memory.
static int
s_read_str (fed_mpr_t *reader, size_t max, char **value)
{
    const char *ptr;
    uint32_t len;
    if (fed_mpr_str (reader, &ptr, &len) || len > max || memchr (ptr, 0, len))
        return FED_MALFORMED;
    free (*value);
    *value = fed_strndup (ptr, len);
    return 0;
}

static int
s_read_uint (fed_mpr_t *reader, uint64_t max, uint64_t *value)
{
    if (fed_mpr_uint (reader, value) || *value > max)
        return FED_MALFORMED;
    return 0;
}

static bool
s_key_is (const char *key, uint32_t len, const char *name)
{
    return strlen (name) == len && memcmp (key, name, len) == 0;
}

//  Reads one key's value into self. seen gets one bit per key.
static int
s_read_field (fed_report_t *self, fed_mpr_t *reader, const char *key, uint32_t len, uint32_t *seen)
{
    static const char *names [] = {"task", "kind",  "run",  "step", "attempt", "ms",
                                   "done", "total", "text", "code", "message", "output"};
    size_t which = 0;
    while (which < sizeof names / sizeof names [0] && !s_key_is (key, len, names [which]))
        which++;
    if (which == sizeof names / sizeof names [0] || (*seen & (1u << which)))
        return FED_MALFORMED; //  unknown or repeated key
    *seen |= 1u << which;
    uint64_t number;
    char *kind = NULL;
    switch (which) {
        case 0: return fed_mpr_uint (reader, &self->task);
        case 1:
            if (s_read_str (reader, 16, &kind))
                return FED_MALFORMED;
            self->kind = strcmp (kind, "progress") == 0 ? FED_REPORT_PROGRESS
                : strcmp (kind, "completed") == 0       ? FED_REPORT_COMPLETED
                : strcmp (kind, "failed") == 0          ? FED_REPORT_FAILED
                                                        : 0;
            free (kind);
            return self->kind ? 0 : FED_MALFORMED;
        case 2: return s_read_str (reader, MAX_FIELD, &self->run);
        case 3: return s_read_str (reader, MAX_FIELD, &self->step);
        case 4:
            if (s_read_uint (reader, UINT32_MAX, &number))
                return FED_MALFORMED;
            self->attempt = (uint32_t) number;
            return 0;
        case 5:
            if (s_read_uint (reader, INT64_MAX, &number))
                return FED_MALFORMED;
            self->elapsed_ms = (int64_t) number;
            return 0;
        case 6: return fed_mpr_uint (reader, &self->done);
        case 7: return fed_mpr_uint (reader, &self->total);
        case 8: return s_read_str (reader, MAX_TEXT, &self->text);
        case 9: return s_read_str (reader, MAX_FIELD, &self->code);
        case 10: return s_read_str (reader, MAX_MESSAGE, &self->message);
        default: {
            if (fed_mpr_peek (reader) != FED_MP_MAP)
                return FED_MALFORMED;
            size_t start = reader->pos;
            if (fed_mpr_skip (reader, NULL))
                return FED_MALFORMED;
            self->output_size = reader->pos - start;
            self->output = (uint8_t *) fed_malloc (self->output_size);
            memcpy (self->output, reader->data + start, self->output_size);
            return 0;
        }
    }
}

fed_report_t *
fed_report_decode (const void *data, size_t size, fed_err_t *err)
{
    fed_report_t *self = (fed_report_t *) fed_calloc (1, sizeof (fed_report_t));
    fed_mpr_t reader;
    fed_mpr_init (&reader, data, size);
    uint32_t count, seen = 0;
    const char *why = "not a map";
    if (fed_mpr_map (&reader, &count))
        goto err;
    for (uint32_t i = 0; i < count; i++) {
        const char *key;
        uint32_t len;
        why = "a key is not a string";
        if (fed_mpr_str (&reader, &key, &len))
            goto err;
        why = "unknown, repeated or mistyped field";
        if (s_read_field (self, &reader, key, len, &seen))
            goto err;
    }
    why = "trailing bytes";
    if (!fed_mpr_done (&reader))
        goto err;
    //  task, kind, run, step, attempt, ms; then the kind's own fields.
    const uint32_t head = 0x3f;
    const uint32_t needs [] = {0, head | 0x1c0, head | 0x800, head | 0x600};
    why = "fields missing or of another kind";
    if (!self->kind || seen != needs [self->kind])
        goto err;
    const char **strings [] = {(const char **) &self->run, (const char **) &self->step,
                               (const char **) &self->text, (const char **) &self->code,
                               (const char **) &self->message};
    for (size_t i = 0; i < sizeof strings / sizeof strings [0]; i++)
        if (!*strings [i])
            *strings [i] = fed_strdup ("");
    return self;
err:
    fed_err_set (err, FED_MALFORMED, "malformed pool report: %s (near byte %zu)", why, reader.pos);
    fed_report_destroy (&self);
    return NULL;
}

void
fed_report_destroy (fed_report_t **self_p)
{
    if (self_p && *self_p) {
        fed_report_t *self = *self_p;
        free (self->run);
        free (self->step);
        free (self->text);
        free (self->code);
        free (self->message);
        free (self->output);
        free (self);
        *self_p = NULL;
    }
}

void
fed_report_set_task (fed_report_t *self, uint64_t task)
{
    self->task = task;
}

uint64_t
fed_report_task (const fed_report_t *self)
{
    return self->task;
}

fed_report_kind_t
fed_report_kind (const fed_report_t *self)
{
    return self->kind;
}

const char *
fed_report_run (const fed_report_t *self)
{
    return self->run;
}

const char *
fed_report_step (const fed_report_t *self)
{
    return self->step;
}

uint32_t
fed_report_attempt (const fed_report_t *self)
{
    return self->attempt;
}

int64_t
fed_report_elapsed_ms (const fed_report_t *self)
{
    return self->elapsed_ms;
}

uint64_t
fed_report_done (const fed_report_t *self)
{
    return self->done;
}

uint64_t
fed_report_total (const fed_report_t *self)
{
    return self->total;
}

const char *
fed_report_text (const fed_report_t *self)
{
    return self->text;
}

const char *
fed_report_code (const fed_report_t *self)
{
    return self->code;
}

const char *
fed_report_message (const fed_report_t *self)
{
    return self->message;
}

void
fed_report_output (const fed_report_t *self, const uint8_t **data, size_t *size)
{
    *data = self->output ? self->output : s_empty_map;
    *size = self->output ? self->output_size : sizeof s_empty_map;
}

const char *
fed_report_kind_name (fed_report_kind_t kind)
{
    switch (kind) {
        case FED_REPORT_PROGRESS: return "progress";
        case FED_REPORT_COMPLETED: return "completed";
        case FED_REPORT_FAILED: return "failed";
        default: return "?";
    }
}

bool
fed_report_is_final (const fed_report_t *self)
{
    return self->kind == FED_REPORT_COMPLETED || self->kind == FED_REPORT_FAILED;
}
