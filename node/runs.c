/*  node/runs.c: run events, the "run" view and a run's state (see runs.h).

    A run holds its records in a few arrays: the run-level records, and per
    step its attempts, votes and the coordinator's step records. Records
    that need the coordinator's or an attempt's node to be known before
    they can be judged (a worker result arriving before run.started or
    step.assigned) are kept as they are and judged when asked: the
    accessors only ever hand out records whose writer was entitled.
*/
#include "runs.h"
#include "hlc.h"
#include "mpread.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VIEW_NAME "run"
#define VIEW_VERSION 1
#define S_LIST_MAX 64 //  approvers, values, voters

static const char *s_type_names [FED_REV_TYPES] = {
    "",
    "run.started",
    "step.waiting",
    "step.assigned",
    "step.started",
    "step.completed",
    "step.failed",
    "step.awaiting",
    "step.approved",
    "step.rejected",
    "step.decided",
    "step.escalated",
    "run.cancel_requested",
    "run.completed",
    "run.failed",
    "run.cancelled",
    "step.progress",
};

fed_rev_type_t
fed_rev_type (const char *type)
{
    if (strncmp (type, "run.", 4) && strncmp (type, "step.", 5))
        return FED_REV_NONE;
    for (int i = 1; i < FED_REV_TYPES; i++)
        if (strcmp (type, s_type_names [i]) == 0)
            return (fed_rev_type_t) i;
    return FED_REV_NONE;
}

const char *
fed_rev_type_name (fed_rev_type_t type)
{
    return type > 0 && type < FED_REV_TYPES ? s_type_names [type] : "?";
}

bool
fed_run_id_valid (const char *id, size_t size)
{
    if (size != FED_RUN_ID_SIZE)
        return false;
    for (size_t i = 0; i < size; i++)
        if (!((id [i] >= '0' && id [i] <= '9') || (id [i] >= 'a' && id [i] <= 'f')))
            return false;
    return true;
}

//  --- Decoding -------------------------------------------------------------------

static void
s_strings_free (char **list, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free (list [i]);
    free (list);
}

void
fed_rev_destroy (fed_rev_t **self_p)
{
    fed_rev_t *self = *self_p;
    if (!self)
        return;
    free (self->step);
    free (self->agent);
    free (self->params);
    free (self->output);
    free (self->why);
    free (self->code);
    free (self->text);
    free (self->workflow);
    free (self->version);
    free (self->value);
    free (self->outcome);
    free (self->voters);
    s_strings_free (self->approvers, self->approver_count);
    s_strings_free (self->values, self->value_count);
    free (self->on_timeout);
    free (self);
    *self_p = NULL;
}

//  Field bits, for what each type requires.
enum {
    F_RUN = 1 << 0,
    F_STEP = 1 << 1,
    F_ATTEMPT = 1 << 2,
    F_NODE = 1 << 3,
    F_AGENT = 1 << 4,
    F_PARAMS = 1 << 5,
    F_OUTPUT = 1 << 6,
    F_TIMEOUT = 1 << 7,
    F_MS = 1 << 8,
    F_WHY = 1 << 9,
    F_CODE = 1 << 10,
    F_TEXT = 1 << 11,
    F_WORKFLOW = 1 << 12,
    F_VERSION = 1 << 13,
    F_HASH = 1 << 14,
    F_BY = 1 << 15,
    F_VALUE = 1 << 16,
    F_OUTCOME = 1 << 17,
    F_APPROVERS = 1 << 18,
    F_VALUES = 1 << 19,
    F_MIN = 1 << 20,
    F_FORBID = 1 << 21,
    F_DEADLINE = 1 << 22,
    F_ON_TIMEOUT = 1 << 23,
    F_DONE = 1 << 24,
    F_TOTAL = 1 << 25,
};

//  What each type must carry.
static const uint32_t s_required [FED_REV_TYPES] = {
    0,
    F_RUN | F_WORKFLOW | F_VERSION | F_HASH | F_PARAMS,
    F_RUN | F_STEP | F_TEXT,
    F_RUN | F_STEP | F_ATTEMPT | F_NODE | F_AGENT | F_PARAMS | F_TIMEOUT | F_WHY,
    F_RUN | F_STEP | F_ATTEMPT,
    F_RUN | F_STEP | F_ATTEMPT | F_OUTPUT,
    F_RUN | F_STEP | F_ATTEMPT | F_CODE,
    F_RUN | F_STEP | F_TEXT | F_MIN | F_VALUES | F_APPROVERS | F_ON_TIMEOUT,
    F_RUN | F_STEP | F_BY,
    F_RUN | F_STEP | F_BY | F_TEXT,
    F_RUN | F_STEP | F_OUTCOME,
    F_RUN | F_STEP,
    F_RUN,
    F_RUN,
    F_RUN | F_CODE,
    F_RUN,
    F_RUN | F_STEP | F_ATTEMPT | F_DONE | F_TOTAL,
};

typedef struct {
    fed_mpr_t reader;
    fed_err_t *err;
    const char *type;
} s_dec_t;

static int
s_fail (s_dec_t *d, const char *key, const char *expected)
{
    fed_err_set (d->err, 0, "%s: '%s' must be %s", d->type, key, expected);
    return -1;
}

//  A text of 0..max bytes (min 1 if non_empty) into a new string.
static int
s_text (s_dec_t *d, const char *key, size_t max, bool non_empty, char **out)
{
    const char *ptr;
    uint32_t len;
    if (fed_mpr_peek (&d->reader) != FED_MP_STR || fed_mpr_str (&d->reader, &ptr, &len) || len > max
        || (non_empty && len == 0) || memchr (ptr, 0, len)) {
        char expected [64];
        snprintf (expected, sizeof expected, "a string of %s..%zu bytes", non_empty ? "1" : "0",
                  max);
        return s_fail (d, key, expected);
    }
    free (*out);
    *out = fed_strndup (ptr, len);
    return 0;
}

static int
s_bin32 (s_dec_t *d, const char *key, uint8_t out [32])
{
    const uint8_t *ptr;
    uint32_t len;
    if (fed_mpr_peek (&d->reader) != FED_MP_BIN || fed_mpr_bin (&d->reader, &ptr, &len)
        || len != 32)
        return s_fail (d, key, "a bin of 32 bytes");
    memcpy (out, ptr, 32);
    return 0;
}

static int
s_map_blob (s_dec_t *d, const char *key, uint8_t **out, size_t *size)
{
    if (fed_mpr_peek (&d->reader) != FED_MP_MAP)
        return s_fail (d, key, "a map");
    size_t start = d->reader.pos;
    if (fed_mpr_skip (&d->reader, NULL))
        return s_fail (d, key, "a well-formed map");
    *size = d->reader.pos - start;
    free (*out);
    *out = fed_malloc (*size);
    memcpy (*out, d->reader.data + start, *size);
    return 0;
}

static int
s_uint (s_dec_t *d, const char *key, uint64_t max, uint64_t *out)
{
    if (fed_mpr_peek (&d->reader) != FED_MP_UINT || fed_mpr_uint (&d->reader, out) || *out > max)
        return s_fail (d, key, "an unsigned integer in range");
    return 0;
}

static int
s_string_list (s_dec_t *d, const char *key, size_t max_bytes, char ***list, size_t *count)
{
    uint32_t n;
    if (fed_mpr_peek (&d->reader) != FED_MP_ARRAY || fed_mpr_array (&d->reader, &n)
        || n > S_LIST_MAX)
        return s_fail (d, key, "an array of at most 64 strings");
    s_strings_free (*list, *count);
    *list = fed_calloc (n ? n : 1, sizeof (char *));
    *count = 0;
    for (uint32_t i = 0; i < n; i++) {
        char *item = NULL;
        if (s_text (d, key, max_bytes, true, &item))
            return -1;
        (*list) [(*count)++] = item;
    }
    return 0;
}

static bool
s_is (const char *key, uint32_t size, const char *name)
{
    return strlen (name) == size && memcmp (key, name, size) == 0;
}

//  Reads one member; sets its bit in *seen. Unknown keys are skipped.
static int
s_member (s_dec_t *d, fed_rev_t *r, const char *key, uint32_t ks, uint32_t *seen)
{
    fed_mp_type_t peek = fed_mpr_peek (&d->reader);
    uint64_t number;
    if (s_is (key, ks, "run")) {
        char *run = NULL;
        if (s_text (d, "run", FED_RUN_ID_SIZE, true, &run))
            return -1;
        bool valid = fed_run_id_valid (run, strlen (run));
        if (valid)
            memcpy (r->run, run, FED_RUN_ID_SIZE + 1);
        free (run);
        if (!valid)
            return s_fail (d, "run", "16 lowercase hex characters");
        *seen |= F_RUN;
    } else if (s_is (key, ks, "step")) {
        if (s_text (d, "step", 64, true, &r->step))
            return -1;
        *seen |= F_STEP;
    } else if (s_is (key, ks, "attempt")) {
        if (s_uint (d, "attempt", UINT32_MAX, &number) || number == 0)
            return s_fail (d, "attempt", "1 or more");
        r->attempt = (uint32_t) number;
        *seen |= F_ATTEMPT;
    } else if (s_is (key, ks, "node")) {
        if (s_bin32 (d, "node", r->node))
            return -1;
        r->has_node = true;
        *seen |= F_NODE;
    } else if (s_is (key, ks, "agent")) {
        if (s_text (d, "agent", 64, r->type != FED_REV_STEP_ASSIGNED ? false : true, &r->agent))
            return -1;
        *seen |= F_AGENT;
    } else if (s_is (key, ks, "params")) {
        if (s_map_blob (d, "params", &r->params, &r->params_size))
            return -1;
        *seen |= F_PARAMS;
    } else if (s_is (key, ks, "output")) {
        if (s_map_blob (d, "output", &r->output, &r->output_size))
            return -1;
        *seen |= F_OUTPUT;
    } else if (s_is (key, ks, "timeout_ms")) {
        if (s_uint (d, "timeout_ms", UINT32_MAX * 1000ULL, &r->timeout_ms))
            return -1;
        *seen |= F_TIMEOUT;
    } else if (s_is (key, ks, "ms")) {
        if (s_uint (d, "ms", UINT64_MAX >> 1, &r->ms))
            return -1;
        *seen |= F_MS;
    } else if (s_is (key, ks, "why")) {
        if (s_text (d, "why", 15, true, &r->why))
            return -1;
        *seen |= F_WHY;
    } else if (s_is (key, ks, "code")) {
        if (s_text (d, "code", FED_RUN_CODE_MAX, true, &r->code))
            return -1;
        *seen |= F_CODE;
    } else if (s_is (key, ks, "message") || s_is (key, ks, "comment") || s_is (key, ks, "reason")) {
        if (s_text (d, "message", FED_RUN_TEXT_MAX * 4, false, &r->text))
            return -1;
        *seen |= F_TEXT;
    } else if (s_is (key, ks, "workflow")) {
        if (s_text (d, "workflow", 64, true, &r->workflow))
            return -1;
        *seen |= F_WORKFLOW;
    } else if (s_is (key, ks, "version")) {
        if (s_text (d, "version", 32, true, &r->version))
            return -1;
        *seen |= F_VERSION;
    } else if (s_is (key, ks, "hash")) {
        if (s_bin32 (d, "hash", r->hash))
            return -1;
        *seen |= F_HASH;
    } else if (s_is (key, ks, "by")) {
        if (peek == FED_MP_NIL) {
            if (fed_mpr_nil (&d->reader))
                return -1;
        } else if (r->type == FED_REV_STEP_DECIDED) {
            uint32_t n;
            if (peek != FED_MP_ARRAY || fed_mpr_array (&d->reader, &n) || n > S_LIST_MAX)
                return s_fail (d, "by", "an array of at most 64 keys");
            free (r->voters);
            r->voters = fed_calloc (n ? n : 1, 32);
            r->voter_count = 0;
            for (uint32_t i = 0; i < n; i++)
                if (s_bin32 (d, "by", r->voters [r->voter_count++]))
                    return -1;
        } else {
            if (s_bin32 (d, "by", r->by))
                return -1;
            r->has_by = true;
        }
        *seen |= F_BY;
    } else if (s_is (key, ks, "value")) {
        if (peek == FED_MP_NIL) {
            if (fed_mpr_nil (&d->reader))
                return -1;
        } else if (s_text (d, "value", 256, false, &r->value))
            return -1;
        *seen |= F_VALUE;
    } else if (s_is (key, ks, "outcome")) {
        if (s_text (d, "outcome", 32, true, &r->outcome))
            return -1;
        *seen |= F_OUTCOME;
    } else if (s_is (key, ks, "approvers")) {
        if (s_string_list (d, "approvers", 128, &r->approvers, &r->approver_count))
            return -1;
        *seen |= F_APPROVERS;
    } else if (s_is (key, ks, "values")) {
        if (s_string_list (d, "values", 256, &r->values, &r->value_count))
            return -1;
        *seen |= F_VALUES;
    } else if (s_is (key, ks, "min_approvals")) {
        if (s_uint (d, "min_approvals", S_LIST_MAX, &number) || number == 0)
            return s_fail (d, "min_approvals", "1 to 64");
        r->min_approvals = (uint32_t) number;
        *seen |= F_MIN;
    } else if (s_is (key, ks, "forbid_submitter")) {
        if (peek != FED_MP_BOOL || fed_mpr_bool (&d->reader, &r->forbid_submitter))
            return s_fail (d, "forbid_submitter", "a bool");
        *seen |= F_FORBID;
    } else if (s_is (key, ks, "deadline_ms")) {
        if (peek == FED_MP_NIL) {
            if (fed_mpr_nil (&d->reader))
                return -1;
        } else if ((peek != FED_MP_UINT && peek != FED_MP_INT)
                   || fed_mpr_int (&d->reader, &r->deadline_ms))
            return s_fail (d, "deadline_ms", "an integer or nil");
        else
            r->has_deadline = true;
        *seen |= F_DEADLINE;
    } else if (s_is (key, ks, "done") || s_is (key, ks, "total")) {
        bool is_done = ks == 4;
        if (s_uint (d, is_done ? "done" : "total", UINT64_MAX, is_done ? &r->done : &r->total))
            return -1;
        *seen |= is_done ? F_DONE : F_TOTAL;
    } else if (s_is (key, ks, "on_timeout")) {
        if (s_text (d, "on_timeout", 16, true, &r->on_timeout))
            return -1;
        *seen |= F_ON_TIMEOUT;
    } else if (fed_mpr_skip (&d->reader, NULL)) {
        fed_err_set (d->err, 0, "%s: malformed value", d->type);
        return -1;
    }
    return 0;
}

static const char *
s_field_name (uint32_t bit)
{
    static const char *names [] = {"run",
                                   "step",
                                   "attempt",
                                   "node",
                                   "agent",
                                   "params",
                                   "output",
                                   "timeout_ms",
                                   "ms",
                                   "why",
                                   "code",
                                   "message",
                                   "workflow",
                                   "version",
                                   "hash",
                                   "by",
                                   "value",
                                   "outcome",
                                   "approvers",
                                   "values",
                                   "min_approvals",
                                   "forbid_submitter",
                                   "deadline_ms",
                                   "on_timeout",
                                   "done",
                                   "total"};
    for (size_t i = 0; i < sizeof names / sizeof names [0]; i++)
        if (bit == (1u << i))
            return names [i];
    return "?";
}

fed_rev_t *
fed_rev_decode (const fed_event_t *event, fed_err_t *err)
{
    return fed_rev_decode_body (fed_rev_type (fed_event_type (event)), fed_event_origin (event),
                                fed_event_hlc (event), fed_event_body (event),
                                fed_event_body_size (event), err);
}

fed_rev_t *
fed_rev_decode_body (fed_rev_type_t type, const uint8_t origin [32], uint64_t hlc,
                     const uint8_t *body, size_t size, fed_err_t *err)
{
    if (type <= FED_REV_NONE || type >= FED_REV_TYPES) {
        fed_err_set (err, 0, "not a run event");
        return NULL;
    }
    fed_rev_t *r = fed_calloc (1, sizeof *r);
    r->type = type;
    memcpy (r->origin, origin, 32);
    r->hlc = hlc;
    r->ms_wall = fed_hlc_ms (r->hlc);
    s_dec_t d = {.err = err, .type = s_type_names [type]};
    fed_mpr_init (&d.reader, body, size);
    uint32_t count, seen = 0;
    if (fed_mpr_peek (&d.reader) != FED_MP_MAP || fed_mpr_map (&d.reader, &count)) {
        fed_err_set (err, 0, "%s: the body must be a map", d.type);
        goto err;
    }
    for (uint32_t i = 0; i < count; i++) {
        const char *key;
        uint32_t ks;
        if (fed_mpr_peek (&d.reader) != FED_MP_STR || fed_mpr_str (&d.reader, &key, &ks)) {
            fed_err_set (err, 0, "%s: keys must be strings", d.type);
            goto err;
        }
        if (s_member (&d, r, key, ks, &seen))
            goto err;
    }
    uint32_t missing = s_required [type] & ~seen;
    if (missing) {
        fed_err_set (err, 0, "%s: '%s' is missing", d.type, s_field_name (missing & -missing));
        goto err;
    }
    if (r->type == FED_REV_STEP_REJECTED && (!r->text || !*r->text)) {
        fed_err_set (err, 0, "step.rejected: 'comment' must give the reason");
        goto err;
    }
    return r;
err:
    fed_rev_destroy (&r);
    return NULL;
}

//  --- The view ------------------------------------------------------------------

static int
s_view_apply (void *state, fed_view_txn_t *txn, const fed_event_t *event)
{
    (void) state;
    fed_rev_type_t type = fed_rev_type (fed_event_type (event));
    if (type == FED_REV_NONE)
        return 0;
    fed_err_t err;
    fed_rev_t *rev = fed_rev_decode (event, &err);
    if (!rev)
        return 0; //  not a run event we can use: stored in the log, not in the view
    uint8_t key [2 + FED_RUN_ID_SIZE + 1 + 40];
    memcpy (key, "e/", 2);
    memcpy (key + 2, rev->run, FED_RUN_ID_SIZE);
    key [2 + FED_RUN_ID_SIZE] = '/';
    memcpy (key + 3 + FED_RUN_ID_SIZE, fed_event_origin (event), 32);
    fed_put_be64 (key + 3 + FED_RUN_ID_SIZE + 32, fed_event_seq (event));
    uint8_t type_byte = (uint8_t) type;
    fed_view_put (txn, key, sizeof key, &type_byte, 1);
    if (type == FED_REV_RUN_STARTED) {
        uint8_t tkey [2 + 8 + FED_RUN_ID_SIZE];
        memcpy (tkey, "t/", 2);
        fed_put_be64 (tkey + 2, rev->hlc);
        memcpy (tkey + 10, rev->run, FED_RUN_ID_SIZE);
        fed_view_put (txn, tkey, sizeof tkey, rev->origin, 32);
        //  The run is active until its coordinator ends it. Ends come from
        //  the same origin, after, so the two never race.
        char akey [2 + FED_RUN_ID_SIZE];
        memcpy (akey, "a/", 2);
        memcpy (akey + 2, rev->run, FED_RUN_ID_SIZE);
        uint8_t *held = NULL;
        size_t held_size = 0;
        if (fed_view_get (txn, akey, sizeof akey, &held, &held_size)) {
            fed_rev_destroy (&rev);
            return -1;
        }
        //  A second run.started for one id (another origin) never becomes
        //  the run: the first coordinator keeps it.
        if (!held)
            fed_view_put (txn, akey, sizeof akey, rev->origin, 32);
        free (held);
    } else if (type == FED_REV_RUN_COMPLETED || type == FED_REV_RUN_FAILED
               || type == FED_REV_RUN_CANCELLED) {
        char akey [2 + FED_RUN_ID_SIZE];
        memcpy (akey, "a/", 2);
        memcpy (akey + 2, rev->run, FED_RUN_ID_SIZE);
        uint8_t *held = NULL;
        size_t held_size = 0;
        if (fed_view_get (txn, akey, sizeof akey, &held, &held_size)) {
            fed_rev_destroy (&rev);
            return -1;
        }
        if (held && held_size == 32 && memcmp (held, rev->origin, 32) == 0)
            fed_view_delete (txn, akey, sizeof akey);
        free (held);
    }
    fed_rev_destroy (&rev);
    return 0;
}

int
fed_runs_register (fed_evlog_t *log, fed_err_t *err)
{
    static const fed_view_def_t def = {VIEW_NAME, VIEW_VERSION, s_view_apply, NULL};
    return fed_evlog_add_view (log, &def, err);
}

//  --- Listing --------------------------------------------------------------------

typedef struct {
    fed_runs_each_fn *each;
    void *arg;
    bool active;
    size_t limit, seen;
    char **ids; //  newest-first listing gathers, then calls in reverse
    size_t count, alloc;
} s_scan_t;

static int
s_scan_one (void *arg, const uint8_t *key, size_t key_size, const uint8_t *value, size_t value_size)
{
    (void) value;
    (void) value_size;
    s_scan_t *scan = (s_scan_t *) arg;
    if (key_size < FED_RUN_ID_SIZE)
        return 0;
    char id [FED_RUN_ID_SIZE + 1];
    memcpy (id, key + key_size - FED_RUN_ID_SIZE, FED_RUN_ID_SIZE);
    id [FED_RUN_ID_SIZE] = 0;
    if (!fed_run_id_valid (id, FED_RUN_ID_SIZE))
        return 0;
    if (scan->active)
        return scan->each (scan->arg, id);
    if (scan->count == scan->alloc) {
        scan->alloc = scan->alloc ? scan->alloc * 2 : 64;
        scan->ids = fed_realloc (scan->ids, scan->alloc * sizeof (char *));
    }
    scan->ids [scan->count++] = fed_strdup (id);
    return 0;
}

bool
fed_runs_active (fed_evlog_t *log, const char *run_id)
{
    char key [6 + FED_RUN_ID_SIZE + 1];
    snprintf (key, sizeof key, "run/a/%s", run_id);
    uint8_t *held = NULL;
    size_t size = 0;
    bool active = fed_evlog_view_get (log, key, strlen (key), &held, &size) == 0 && held;
    free (held);
    return active;
}

int
fed_runs_scan (fed_evlog_t *log, bool active_only, size_t limit, fed_runs_each_fn *each, void *arg,
               fed_err_t *err)
{
    s_scan_t scan = {each, arg, active_only, limit, 0, NULL, 0, 0};
    int rc = fed_evlog_view_scan (log, active_only ? "run/a/" : "run/t/", s_scan_one, &scan);
    if (rc < 0) {
        fed_err_set (err, -1, "the run view could not be read");
        return -1;
    }
    if (active_only)
        return rc;
    size_t called = 0;
    for (size_t i = scan.count; i-- > 0;) {
        if (rc == 0 && (!limit || called < limit)) {
            rc = each (arg, scan.ids [i]);
            called++;
        }
        free (scan.ids [i]);
    }
    free (scan.ids);
    return rc;
}

//  --- Packing -----------------------------------------------------------------------

static void
s_str (msgpack_packer *pk, const char *text)
{
    size_t size = text ? strlen (text) : 0;
    msgpack_pack_str (pk, size);
    msgpack_pack_str_body (pk, text ? text : "", size);
}

static void
s_kv (msgpack_packer *pk, const char *key, const char *value)
{
    s_str (pk, key);
    s_str (pk, value);
}

static void
s_kv_bin (msgpack_packer *pk, const char *key, const uint8_t *bin)
{
    s_str (pk, key);
    if (!bin) {
        msgpack_pack_nil (pk);
        return;
    }
    msgpack_pack_bin (pk, 32);
    msgpack_pack_bin_body (pk, bin, 32);
}

static void
s_kv_raw (msgpack_packer *pk, const char *key, const void *raw, size_t size)
{
    s_str (pk, key);
    if (!raw || !size)
        msgpack_pack_map (pk, 0);
    else
        msgpack_sbuffer_write ((msgpack_sbuffer *) pk->data, (const char *) raw, size);
}

static void
s_kv_uint (msgpack_packer *pk, const char *key, uint64_t value)
{
    s_str (pk, key);
    msgpack_pack_uint64 (pk, value);
}

static void
s_head (msgpack_packer *pk, msgpack_sbuffer *buffer, size_t fields, const char *run,
        const char *step)
{
    msgpack_packer_init (pk, buffer, msgpack_sbuffer_write);
    msgpack_pack_map (pk, fields + (step ? 2 : 1));
    s_kv (pk, "run", run);
    if (step)
        s_kv (pk, "step", step);
}

void
fed_rev_pack_run_started (msgpack_sbuffer *buffer, const char *run, const char *workflow,
                          const char *version, const uint8_t hash [32], const void *params,
                          size_t params_size, const uint8_t *by)
{
    msgpack_packer pk;
    s_head (&pk, buffer, 5, run, NULL);
    s_kv (&pk, "workflow", workflow);
    s_kv (&pk, "version", version);
    s_kv_bin (&pk, "hash", hash);
    s_kv_raw (&pk, "params", params, params_size);
    s_kv_bin (&pk, "by", by);
}

void
fed_rev_pack_waiting (msgpack_sbuffer *buffer, const char *run, const char *step,
                      const char *reason)
{
    msgpack_packer pk;
    s_head (&pk, buffer, 1, run, step);
    s_kv (&pk, "reason", reason);
}

void
fed_rev_pack_assigned (msgpack_sbuffer *buffer, const char *run, const char *step, uint32_t attempt,
                       const uint8_t node [32], const char *agent, const void *params,
                       size_t params_size, uint64_t timeout_ms, const char *why)
{
    msgpack_packer pk;
    s_head (&pk, buffer, 6, run, step);
    s_kv_uint (&pk, "attempt", attempt);
    s_kv_bin (&pk, "node", node);
    s_kv (&pk, "agent", agent);
    s_kv_raw (&pk, "params", params, params_size);
    s_kv_uint (&pk, "timeout_ms", timeout_ms);
    s_kv (&pk, "why", why);
}

void
fed_rev_pack_step_started (msgpack_sbuffer *buffer, const char *run, const char *step,
                           uint32_t attempt)
{
    msgpack_packer pk;
    s_head (&pk, buffer, 1, run, step);
    s_kv_uint (&pk, "attempt", attempt);
}

void
fed_rev_pack_completed (msgpack_sbuffer *buffer, const char *run, const char *step,
                        uint32_t attempt, const void *output, size_t output_size, uint64_t ms)
{
    msgpack_packer pk;
    s_head (&pk, buffer, 3, run, step);
    s_kv_uint (&pk, "attempt", attempt);
    s_kv_raw (&pk, "output", output, output_size);
    s_kv_uint (&pk, "ms", ms);
}

void
fed_rev_pack_failed (msgpack_sbuffer *buffer, const char *run, const char *step, uint32_t attempt,
                     const char *code, const char *message, uint64_t ms)
{
    msgpack_packer pk;
    s_head (&pk, buffer, 4, run, step);
    s_kv_uint (&pk, "attempt", attempt);
    s_kv (&pk, "code", code);
    s_kv (&pk, "message", message);
    s_kv_uint (&pk, "ms", ms);
}

static void
s_kv_strings (msgpack_packer *pk, const char *key, const char *const *list, size_t count)
{
    s_str (pk, key);
    msgpack_pack_array (pk, count);
    for (size_t i = 0; i < count; i++)
        s_str (pk, list [i]);
}

void
fed_rev_pack_awaiting (msgpack_sbuffer *buffer, const char *run, const char *step,
                       const char *message, const char *const *approvers, size_t approver_count,
                       uint32_t min_approvals, bool forbid_submitter, const char *const *values,
                       size_t value_count, int64_t deadline_ms, const char *on_timeout)
{
    msgpack_packer pk;
    s_head (&pk, buffer, 7, run, step);
    s_kv (&pk, "message", message);
    s_kv_strings (&pk, "approvers", approvers, approver_count);
    s_kv_uint (&pk, "min_approvals", min_approvals);
    s_str (&pk, "forbid_submitter");
    if (forbid_submitter)
        msgpack_pack_true (&pk);
    else
        msgpack_pack_false (&pk);
    s_kv_strings (&pk, "values", values, value_count);
    s_str (&pk, "deadline_ms");
    if (deadline_ms < 0)
        msgpack_pack_nil (&pk);
    else
        msgpack_pack_int64 (&pk, deadline_ms);
    s_kv (&pk, "on_timeout", on_timeout);
}

void
fed_rev_pack_vote (msgpack_sbuffer *buffer, const char *run, const char *step,
                   const uint8_t by [32], const char *comment, const char *value)
{
    msgpack_packer pk;
    s_head (&pk, buffer, 3, run, step);
    s_kv_bin (&pk, "by", by);
    s_kv (&pk, "comment", comment);
    s_str (&pk, "value");
    if (value)
        s_str (&pk, value);
    else
        msgpack_pack_nil (&pk);
}

void
fed_rev_pack_decided (msgpack_sbuffer *buffer, const char *run, const char *step,
                      const char *outcome, const char *value, const uint8_t (*by) [32],
                      size_t by_count, const char *comment)
{
    msgpack_packer pk;
    s_head (&pk, buffer, 4, run, step);
    s_kv (&pk, "outcome", outcome);
    s_str (&pk, "value");
    if (value)
        s_str (&pk, value);
    else
        msgpack_pack_nil (&pk);
    s_str (&pk, "by");
    msgpack_pack_array (&pk, by_count);
    for (size_t i = 0; i < by_count; i++) {
        msgpack_pack_bin (&pk, 32);
        msgpack_pack_bin_body (&pk, by [i], 32);
    }
    s_kv (&pk, "comment", comment);
}

void
fed_rev_pack_progress (msgpack_sbuffer *buffer, const char *run, const char *step, uint32_t attempt,
                       uint64_t done, uint64_t total, const char *text)
{
    msgpack_packer pk;
    s_head (&pk, buffer, 4, run, step);
    s_kv_uint (&pk, "attempt", attempt);
    s_kv_uint (&pk, "done", done);
    s_kv_uint (&pk, "total", total);
    s_kv (&pk, "message", text);
}

void
fed_rev_pack_escalated (msgpack_sbuffer *buffer, const char *run, const char *step)
{
    msgpack_packer pk;
    s_head (&pk, buffer, 0, run, step);
}

void
fed_rev_pack_cancel (msgpack_sbuffer *buffer, const char *run, const uint8_t *by,
                     const char *reason)
{
    msgpack_packer pk;
    s_head (&pk, buffer, 2, run, NULL);
    s_kv_bin (&pk, "by", by);
    s_kv (&pk, "reason", reason);
}

void
fed_rev_pack_run_completed (msgpack_sbuffer *buffer, const char *run, uint64_t ms)
{
    msgpack_packer pk;
    s_head (&pk, buffer, 1, run, NULL);
    s_kv_uint (&pk, "ms", ms);
}

void
fed_rev_pack_run_failed (msgpack_sbuffer *buffer, const char *run, const char *step,
                         const char *code, const char *message)
{
    msgpack_packer pk;
    s_head (&pk, buffer, 3, run, NULL);
    s_kv (&pk, "step", step);
    s_kv (&pk, "code", code);
    s_kv (&pk, "message", message);
}
