/*  agents/task.c: what an agent sees of its task (agents/agent.h): typed
    params over the bounded msgpack reader, the output map, rate-limited
    progress, cancellation and failure; and the task's life as the pool
    drives it (task_internal.h).
*/
#include "task_internal.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "log.h"

static char *
s_dup_or_empty (const char *text)
{
    return fed_strdup (text ? text : "");
}

fed_task_t *
fed_task_new (uint64_t id, const fed_task_spec_t *spec)
{
    assert (spec && spec->agent);
    fed_task_t *self = (fed_task_t *) fed_calloc (1, sizeof (fed_task_t));
    self->id = id;
    self->agent = fed_strdup (spec->agent);
    self->version = spec->version ? fed_strdup (spec->version) : NULL;
    self->run = s_dup_or_empty (spec->run);
    self->step = s_dup_or_empty (spec->step);
    self->attempt = spec->attempt;
    self->workspace = s_dup_or_empty (spec->workspace);
    self->timeout_ms = spec->timeout_ms;
    if (spec->params && spec->params_size) {
        self->params = (uint8_t *) fed_malloc (spec->params_size);
        memcpy (self->params, spec->params, spec->params_size);
        self->params_size = spec->params_size;
    } else {
        self->params = (uint8_t *) fed_malloc (1);
        self->params [0] = 0x80; //  {}
        self->params_size = 1;
    }
    return self;
}

void
fed_task_destroy (fed_task_t **self_p)
{
    if (self_p && *self_p) {
        fed_task_t *self = *self_p;
        free (self->agent);
        free (self->version);
        free (self->run);
        free (self->step);
        free (self->workspace);
        free (self->params);
        for (size_t i = 0; i < self->out_count; i++) {
            free (self->out [i].key);
            free (self->out [i].value);
        }
        free (self->out);
        for (size_t i = 0; i < self->string_count; i++)
            free (self->strings [i]);
        free (self->strings);
        free (self);
        *self_p = NULL;
    }
}

//  --- Params check -----------------------------------------------------------

typedef struct {
    const char *ptr;
    uint32_t len;
} param_key_t;

static int
s_key_compare (const void *a, const void *b)
{
    const param_key_t *x = (const param_key_t *) a, *y = (const param_key_t *) b;
    uint32_t common = x->len < y->len ? x->len : y->len;
    int rc = memcmp (x->ptr, y->ptr, common);
    return rc ? rc : (x->len > y->len) - (x->len < y->len);
}

int
fed_task_check_params (const fed_task_t *self, char *why, size_t why_size)
{
    return fed_task_params_check (self->params, self->params_size, why, why_size);
}

int
fed_task_params_check (const void *params, size_t size, char *why, size_t why_size)
{
    char reason [200];
    if (fed_mp_check (params, size, NULL, reason, sizeof reason)) {
        snprintf (why, why_size, "params are not valid msgpack: %s", reason);
        return -1;
    }
    fed_mpr_t reader;
    fed_mpr_init (&reader, params, size);
    uint32_t count;
    if (fed_mpr_map (&reader, &count)) {
        snprintf (why, why_size, "params must be a map, got %s",
                  fed_mp_type_name (fed_mpr_peek (&reader)));
        return -1;
    }
    param_key_t *keys = (param_key_t *) fed_calloc (count ? count : 1, sizeof (param_key_t));
    int rc = 0;
    for (uint32_t i = 0; i < count && rc == 0; i++) {
        if (fed_mpr_str (&reader, &keys [i].ptr, &keys [i].len)) {
            snprintf (why, why_size, "params key %u is a %s, not a string", i,
                      fed_mp_type_name (fed_mpr_peek (&reader)));
            rc = -1;
        } else if (fed_mpr_skip (&reader, NULL))
            rc = -1; //  fed_mp_check passed, so this cannot happen
    }
    if (rc == 0 && count > 1) {
        qsort (keys, count, sizeof (param_key_t), s_key_compare);
        for (uint32_t i = 1; i < count && rc == 0; i++)
            if (s_key_compare (&keys [i - 1], &keys [i]) == 0) {
                snprintf (why, why_size, "params key \"%.*s\" appears twice",
                          (int) (keys [i].len > 64 ? 64 : keys [i].len), keys [i].ptr);
                rc = -1;
            }
    }
    free (keys);
    return rc;
}

//  --- Identity ---------------------------------------------------------------

uint64_t
fed_task_id (const fed_task_t *task)
{
    return task->id;
}

const char *
fed_task_run (const fed_task_t *task)
{
    return task->run;
}

const char *
fed_task_step (const fed_task_t *task)
{
    return task->step;
}

uint32_t
fed_task_attempt (const fed_task_t *task)
{
    return task->attempt;
}

const char *
fed_task_workspace (const fed_task_t *task)
{
    return task->workspace;
}

const char *
fed_task_agent (const fed_task_t *task)
{
    return task->agent;
}

void *
fed_task_arg (const fed_task_t *task)
{
    return task->arg;
}

int64_t
fed_task_remaining_ms (const fed_task_t *task)
{
    int64_t left = task->started_ms + task->timeout_ms - fed_mono_ms ();
    return left > 0 ? left : 0;
}

void
fed_task_head (const fed_task_t *self, int64_t now_ms, fed_report_head_t *head)
{
    head->task = self->id;
    head->run = self->run;
    head->step = self->step;
    head->attempt = self->attempt;
    head->elapsed_ms = self->started_ms ? now_ms - self->started_ms : 0;
}

//  --- Params -----------------------------------------------------------------

//  Finds name; sets *value and *size to its value's bytes. 0 or -1.
static int
s_find (const fed_task_t *task, const char *name, const uint8_t **value, size_t *size)
{
    size_t name_len = strlen (name);
    fed_mpr_t reader;
    fed_mpr_init (&reader, task->params, task->params_size);
    uint32_t count;
    if (fed_mpr_map (&reader, &count))
        return -1;
    for (uint32_t i = 0; i < count; i++) {
        const char *key;
        uint32_t len;
        if (fed_mpr_str (&reader, &key, &len))
            return -1;
        size_t start = reader.pos;
        if (fed_mpr_skip (&reader, NULL))
            return -1;
        if (len == name_len && memcmp (key, name, len) == 0) {
            *value = task->params + start;
            *size = reader.pos - start;
            return 0;
        }
    }
    return -1;
}

//  A reader over name's value; -1 if missing.
static int
s_value (fed_task_t *task, const char *name, fed_mpr_t *reader)
{
    const uint8_t *value;
    size_t size;
    if (s_find (task, name, &value, &size))
        return -1;
    fed_mpr_init (reader, value, size);
    return 0;
}

fed_mp_type_t
fed_task_param_type (fed_task_t *task, const char *name)
{
    fed_mpr_t reader;
    return s_value (task, name, &reader) ? FED_MP_NONE : fed_mpr_peek (&reader);
}

bool
fed_task_has (fed_task_t *task, const char *name)
{
    return fed_task_param_type (task, name) != FED_MP_NONE;
}

int
fed_task_param_str (fed_task_t *task, const char *name, const char **value)
{
    fed_mpr_t reader;
    const char *ptr;
    uint32_t len;
    if (s_value (task, name, &reader) || fed_mpr_str (&reader, &ptr, &len) || memchr (ptr, 0, len))
        return -1;
    if (task->string_count == task->string_capacity) {
        task->string_capacity = task->string_capacity ? 2 * task->string_capacity : 4;
        task->strings =
            (char **) fed_realloc (task->strings, task->string_capacity * sizeof (char *));
    }
    char *copy = fed_strndup (ptr, len);
    task->strings [task->string_count++] = copy;
    *value = copy;
    return 0;
}

int
fed_task_param_int (fed_task_t *task, const char *name, int64_t *value)
{
    fed_mpr_t reader;
    return s_value (task, name, &reader) || fed_mpr_int (&reader, value) ? -1 : 0;
}

int
fed_task_param_double (fed_task_t *task, const char *name, double *value)
{
    fed_mpr_t reader;
    return s_value (task, name, &reader) || fed_mpr_double (&reader, value) ? -1 : 0;
}

int
fed_task_param_bool (fed_task_t *task, const char *name, bool *value)
{
    fed_mpr_t reader;
    return s_value (task, name, &reader) || fed_mpr_bool (&reader, value) ? -1 : 0;
}

int
fed_task_param_bin (fed_task_t *task, const char *name, const uint8_t **data, size_t *size)
{
    fed_mpr_t reader;
    uint32_t len;
    if (s_value (task, name, &reader) || fed_mpr_bin (&reader, data, &len))
        return -1;
    *size = len;
    return 0;
}

int
fed_task_param_map (fed_task_t *task, const char *name, fed_mpr_t *reader, uint32_t *count)
{
    return s_value (task, name, reader) || fed_mpr_map (reader, count) ? -1 : 0;
}

int
fed_task_param_array (fed_task_t *task, const char *name, fed_mpr_t *reader, uint32_t *count)
{
    return s_value (task, name, reader) || fed_mpr_array (reader, count) ? -1 : 0;
}

int
fed_task_param_raw (fed_task_t *task, const char *name, const uint8_t **data, size_t *size)
{
    return s_find (task, name, data, size);
}

void
fed_task_params (const fed_task_t *task, const uint8_t **data, size_t *size)
{
    *data = task->params;
    *size = task->params_size;
}

//  Fails task for a param that is missing or not of the type expected
//  ("an integer"). Returns -1.
static int
s_bad_param (fed_task_t *task, const char *name, const char *expected)
{
    fed_mp_type_t type = fed_task_param_type (task, name);
    if (type == FED_MP_NONE)
        return fed_task_fail (task, "bad_params", "param \"%s\" is required (%s)", name, expected);
    if (type == FED_MP_STR && strcmp (expected, "a string") == 0)
        return fed_task_fail (task, "bad_params", "param \"%s\" must be %s without NUL bytes", name,
                              expected);
    if (type == FED_MP_UINT && strcmp (expected, "an integer") == 0)
        return fed_task_fail (task, "bad_params",
                              "param \"%s\" must be %s, got an integer over 2^63-1", name,
                              expected);
    return fed_task_fail (task, "bad_params", "param \"%s\" must be %s, got %s", name, expected,
                          fed_mp_type_name (type));
}

int
fed_task_require_str (fed_task_t *task, const char *name, const char **value)
{
    return fed_task_param_str (task, name, value) ? s_bad_param (task, name, "a string") : 0;
}

int
fed_task_require_int (fed_task_t *task, const char *name, int64_t *value)
{
    return fed_task_param_int (task, name, value) ? s_bad_param (task, name, "an integer") : 0;
}

int
fed_task_require_double (fed_task_t *task, const char *name, double *value)
{
    return fed_task_param_double (task, name, value) ? s_bad_param (task, name, "a number") : 0;
}

int
fed_task_require_bool (fed_task_t *task, const char *name, bool *value)
{
    return fed_task_param_bool (task, name, value) ? s_bad_param (task, name, "a boolean") : 0;
}

int
fed_task_require_bin (fed_task_t *task, const char *name, const uint8_t **data, size_t *size)
{
    return fed_task_param_bin (task, name, data, size) ? s_bad_param (task, name, "binary") : 0;
}

int
fed_task_require_map (fed_task_t *task, const char *name, fed_mpr_t *reader, uint32_t *count)
{
    return fed_task_param_map (task, name, reader, count) ? s_bad_param (task, name, "a map") : 0;
}

int
fed_task_require_array (fed_task_t *task, const char *name, fed_mpr_t *reader, uint32_t *count)
{
    return fed_task_param_array (task, name, reader, count) ? s_bad_param (task, name, "an array")
                                                            : 0;
}

//  --- Output -----------------------------------------------------------------

//  Sets key to the packed value in buffer, whose memory the task takes.
static void
s_output_set (fed_task_t *task, const char *key, msgpack_sbuffer *buffer)
{
    size_t size = buffer->size;
    uint8_t *value = (uint8_t *) msgpack_sbuffer_release (buffer);
    for (size_t i = 0; i < task->out_count; i++)
        if (strcmp (task->out [i].key, key) == 0) {
            free (task->out [i].value);
            task->out [i].value = value;
            task->out [i].size = size;
            return;
        }
    if (task->out_count == task->out_capacity) {
        task->out_capacity = task->out_capacity ? 2 * task->out_capacity : 8;
        task->out = (fed_task_out_t *) fed_realloc (task->out,
                                                    task->out_capacity * sizeof (fed_task_out_t));
    }
    task->out [task->out_count++] = (fed_task_out_t){fed_strdup (key), value, size};
}

//  A packer over a fresh buffer, for one value.
#define S_PACK_BEGIN                                                                               \
    msgpack_sbuffer buffer;                                                                        \
    msgpack_sbuffer_init (&buffer);                                                                \
    msgpack_packer pk;                                                                             \
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write)
#define S_PACK_END(task, key)                                                                      \
    s_output_set ((task), (key), &buffer);                                                         \
    msgpack_sbuffer_destroy (&buffer)

void
fed_task_output_str (fed_task_t *task, const char *key, const char *value)
{
    S_PACK_BEGIN;
    msgpack_pack_str_with_body (&pk, value ? value : "", value ? strlen (value) : 0);
    S_PACK_END (task, key);
}

void
fed_task_output_int (fed_task_t *task, const char *key, int64_t value)
{
    S_PACK_BEGIN;
    msgpack_pack_int64 (&pk, value);
    S_PACK_END (task, key);
}

void
fed_task_output_double (fed_task_t *task, const char *key, double value)
{
    S_PACK_BEGIN;
    msgpack_pack_double (&pk, value);
    S_PACK_END (task, key);
}

void
fed_task_output_bool (fed_task_t *task, const char *key, bool value)
{
    S_PACK_BEGIN;
    if (value)
        msgpack_pack_true (&pk);
    else
        msgpack_pack_false (&pk);
    S_PACK_END (task, key);
}

void
fed_task_output_nil (fed_task_t *task, const char *key)
{
    S_PACK_BEGIN;
    msgpack_pack_nil (&pk);
    S_PACK_END (task, key);
}

void
fed_task_output_bin (fed_task_t *task, const char *key, const void *data, size_t size)
{
    S_PACK_BEGIN;
    msgpack_pack_bin_with_body (&pk, data, size);
    S_PACK_END (task, key);
}

int
fed_task_output_raw (fed_task_t *task, const char *key, const void *data, size_t size)
{
    if (!data || fed_mp_check (data, size, NULL, NULL, 0))
        return -1;
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_sbuffer_write (&buffer, (const char *) data, size);
    s_output_set (task, key, &buffer);
    msgpack_sbuffer_destroy (&buffer);
    return 0;
}

//  --- Progress, cancellation, failure ------------------------------------------

//  Copies at most max bytes of text into dst (max + 1 bytes), cutting at a
//  UTF-8 character boundary.
static void
s_copy_text (char *dst, size_t max, const char *text)
{
    size_t len = text ? strlen (text) : 0;
    if (len > max) {
        len = max;
        while (len > 0 && ((unsigned char) text [len] & 0xc0) == 0x80)
            len--; //  text [len] continues a character: cut before it
    }
    if (len)
        memcpy (dst, text, len);
    dst [len] = 0;
}

static void
s_progress_send (fed_task_t *task, int64_t now)
{
    fed_report_head_t head;
    fed_task_head (task, now, &head);
    msgpack_sbuffer report;
    msgpack_sbuffer_init (&report);
    fed_report_pack_progress (&report, &head, task->held_done, task->held_total, task->held_text);
    fed_worker_send (task->worker, FED_WORKER_PROGRESS, &report);
    msgpack_sbuffer_destroy (&report);
    task->progress_held = false;
    task->progress_sent_ms = now;
}

void
fed_task_progress (fed_task_t *task, uint64_t done, uint64_t total, const char *text)
{
    task->held_done = done;
    task->held_total = total;
    s_copy_text (task->held_text, FED_TASK_MAX_TEXT, text);
    task->progress_held = true;
    int64_t now = fed_mono_ms ();
    if (task->worker
        && (task->progress_sent_ms == 0
            || now - task->progress_sent_ms >= task->progress_interval_ms))
        s_progress_send (task, now);
}

bool
fed_task_cancelled (fed_task_t *task)
{
    if (!task->worker)
        return false;
    if (task->progress_held) {
        int64_t now = fed_mono_ms ();
        if (now - task->progress_sent_ms >= task->progress_interval_ms)
            s_progress_send (task, now);
    }
    return atomic_load_explicit (&task->worker->cancel, memory_order_relaxed)
        || atomic_load_explicit (&task->worker->state, memory_order_relaxed) == FED_WORKER_LOST;
}

bool
fed_task_code_valid (const char *code)
{
    if (!code || !*code || strlen (code) > FED_TASK_MAX_CODE)
        return false;
    for (const char *p = code; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '.'))
            return false;
    return true;
}

int
fed_task_failv (fed_task_t *task, const char *code, const char *format, va_list args)
{
    if (task->failed)
        return -1;
    task->failed = true;
    //  Formatted into more room than kept, then cut at a character boundary.
    char message [2 * FED_TASK_MAX_MESSAGE + 2];
    int prefix = 0;
    if (!fed_task_code_valid (code)) {
        prefix = snprintf (message, sizeof message, "(invalid failure code \"%.64s\") ",
                           code ? code : "");
        code = "agent_error";
    }
    vsnprintf (message + prefix, sizeof message - (size_t) prefix, format ? format : "", args);
    snprintf (task->code, sizeof task->code, "%s", code);
    s_copy_text (task->message, FED_TASK_MAX_MESSAGE, message);
    return -1;
}

int
fed_task_fail (fed_task_t *task, const char *code, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    int rc = fed_task_failv (task, code, format, args);
    va_end (args);
    return rc;
}

//  --- Running ------------------------------------------------------------------

//  Packs the output map into out. Returns its size.
static size_t
s_pack_output (fed_task_t *self, msgpack_sbuffer *out)
{
    msgpack_packer pk;
    msgpack_packer_init (&pk, out, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, (uint32_t) self->out_count);
    for (size_t i = 0; i < self->out_count; i++) {
        msgpack_pack_str_with_body (&pk, self->out [i].key, strlen (self->out [i].key));
        msgpack_sbuffer_write (out, (const char *) self->out [i].value, self->out [i].size);
    }
    return out->size;
}

bool
fed_task_execute (fed_task_t *self, fed_worker_t *worker, msgpack_sbuffer *report)
{
    self->worker = worker;
    int rc = self->fn (self);
    int64_t now = fed_mono_ms ();
    if (self->progress_held)
        s_progress_send (self, now);
    if (rc != 0 && !self->failed)
        fed_task_fail (self, "agent_error", "agent %s returned %d without saying why", self->agent,
                       rc);
    msgpack_sbuffer output;
    msgpack_sbuffer_init (&output);
    if (!self->failed && s_pack_output (self, &output) > self->max_output)
        fed_task_fail (self, "output_too_large",
                       "agent %s wrote %zu bytes of output, over the pool's max_output of %zu: "
                       "write large results to files in the workspace",
                       self->agent, output.size, self->max_output);
    fed_report_head_t head;
    fed_task_head (self, now, &head);
    if (self->failed)
        fed_report_pack_failed (report, &head, self->code, self->message);
    else
        fed_report_pack_completed (report, &head, output.data, output.size);
    msgpack_sbuffer_destroy (&output);
    return !self->failed;
}
