/*  node/control_runs.c: the run commands (doc/protocol.md §3.4 "Runs"):
    run.start, run.list, run.show, run.wait, run.cancel, approvals,
    approve and reject.

    Reads go to the run view (node/runs.h), so every node answers alike
    for the events it holds; a run's steps are listed in its workflow's
    order, from the definition the run pinned (the catalog text with its
    hash). Starting and cancelling go through the executor; votes are
    checked here, on whichever node takes them, and written as events the
    coordinator then counts.
*/
#include "control_internal.h"
#include "catalog.h"
#include "executor.h"
#include "node_internal.h"
#include "registry.h"
#include "runs.h"
#include "workflow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_LIST_DEFAULT 100
#define S_LIST_MAX 1000
#define S_WAIT_MAX 30000
#define S_OUTPUT_SHOWN 65536 //  bytes of a step output run.show includes; more is summarized

//  --- Small helpers -----------------------------------------------------------------

static int
s_text_arg (fed_call_t *call, const char *name, char *out, size_t max, bool required)
{
    const char *ptr;
    uint32_t size;
    *out = 0;
    int rc = fed_ctl_arg_str (call->request, name, max, &ptr, &size, &call->err);
    if (rc < 0)
        return fed_call_fail (call, "bad_request", "%s", call->err.text);
    if (rc == 1 && required)
        return fed_call_fail (call, "bad_request", "send '%s'", name);
    if (rc == 0) {
        if (memchr (ptr, 0, size))
            return fed_call_fail (call, "bad_request", "argument '%s' holds a NUL byte", name);
        snprintf (out, max + 1, "%.*s", (int) size, ptr);
    }
    return 0;
}

static int
s_run_arg (fed_call_t *call, char run_id [FED_RUN_ID_SIZE + 1])
{
    char text [65];
    if (s_text_arg (call, "run", text, 64, true))
        return -1;
    if (!fed_run_id_valid (text, strlen (text)))
        return fed_call_fail (call, "bad_request",
                              "'run' must be a run id: 16 lowercase hex characters, as run.start "
                              "and run.list give");
    memcpy (run_id, text, FED_RUN_ID_SIZE + 1);
    return 0;
}

static void
s_kv_int (msgpack_packer *pk, const char *key, int64_t value)
{
    fed_call_pack_str (pk, key);
    msgpack_pack_int64 (pk, value);
}

static void
s_kv_uint (msgpack_packer *pk, const char *key, uint64_t value)
{
    fed_call_pack_str (pk, key);
    msgpack_pack_uint64 (pk, value);
}

static void
s_kv_opt_int (msgpack_packer *pk, const char *key, bool has, int64_t value)
{
    fed_call_pack_str (pk, key);
    if (has)
        msgpack_pack_int64 (pk, value);
    else
        msgpack_pack_nil (pk);
}

static void
s_kv_key (msgpack_packer *pk, const char *key, const uint8_t *id)
{
    fed_call_pack_str (pk, key);
    if (!id) {
        msgpack_pack_nil (pk);
        return;
    }
    char z85 [41];
    fed_z85_encode_key (z85, id);
    fed_call_pack_str (pk, z85);
}

static void
s_kv_bool (msgpack_packer *pk, const char *key, bool value)
{
    fed_call_pack_str (pk, key);
    if (value)
        msgpack_pack_true (pk);
    else
        msgpack_pack_false (pk);
}

//  A string that may be absent: nil.
static void
s_kv_opt (msgpack_packer *pk, const char *key, const char *value)
{
    fed_call_pack_str (pk, key);
    if (value)
        fed_call_pack_str (pk, value);
    else
        msgpack_pack_nil (pk);
}

static void
s_kv_node_name (msgpack_packer *pk, fed_node_t *node, const char *key, const uint8_t *id)
{
    char name [65] = "";
    fed_agent_location_t location;
    if (id)
        fed_registry_node (node->log, id, name, sizeof name, &location);
    s_kv_opt (pk, key, *name ? name : NULL);
}

//  The definition run pinned, parsed; NULL when this node cannot (then the
//  steps are listed as their events name them). Caller destroys it.
static fed_workflow_t *
s_definition (fed_node_t *node, const fed_rev_t *started)
{
    char *yaml = NULL;
    size_t size = 0;
    fed_err_t err;
    if (!started || fed_catalog_source (node->log, started->hash, &yaml, &size, &err) != 1)
        return NULL;
    fed_workflow_limits_t limits;
    fed_workflow_limits_from_config (&limits, node->config);
    fed_workflow_t *wf = fed_workflow_parse (yaml, size, started->workflow, &limits, NULL);
    free (yaml);
    return wf;
}

//  --- A step as people see it -----------------------------------------------------------

typedef struct {
    const char *state;
    bool done;          //  succeeded: dependents may run
    char waiting [640]; //  why it is not running, or ""
} s_step_view_t;

static void
s_view_step (const fed_run_t *run, const fed_workflow_t *wf, size_t index, const fed_run_step_t *st,
             s_step_view_t *view)
{
    memset (view, 0, sizeof *view);
    const fed_wf_step_t *step = wf ? fed_workflow_step (wf, index) : NULL;
    bool ended = fed_run_state (run, NULL) != FED_RUN_RUNNING;
    bool gate = step && !*step->agent;
    const fed_attempt_t *latest = fed_run_step_latest (st);
    if (st && st->decided) {
        const char *outcome = st->decided->outcome;
        if (!fed_run_approved (outcome)) {
            view->state = strcmp (outcome, "rejected") == 0 ? "rejected" : "timed_out";
            return;
        }
        if (gate || (!step && !latest)) {
            view->state = strcmp (outcome, "approved") == 0 ? "approved" : "timed_out";
            view->done = true;
            return;
        }
    } else if (st && st->awaiting) {
        view->state = ended ? "skipped" : st->escalated ? "escalated" : "awaiting_approval";
        if (!ended) {
            size_t approvals = 0;
            for (size_t k = 0; k < st->vote_count; k++)
                approvals += st->votes [k]->type == FED_REV_STEP_APPROVED;
            snprintf (view->waiting, sizeof view->waiting, "approval: %zu of %u%s", approvals,
                      st->awaiting->min_approvals,
                      st->escalated ? ", escalated: only admin keys may decide" : "");
        }
        return;
    }
    //  The coordinator took the attempt back (its node died or went
    //  silent) and could not place the step again: it waits, for the reason
    //  the coordinator wrote after that attempt.
    fed_attempt_state_t attempt_state =
        latest && latest->assigned ? fed_attempt_state (latest) : FED_ATTEMPT_ASSIGNED;
    if (!ended && latest && latest->assigned && st->waiting
        && st->waiting->hlc > latest->assigned->hlc
        && (attempt_state == FED_ATTEMPT_ASSIGNED || attempt_state == FED_ATTEMPT_RUNNING)) {
        view->state = "waiting";
        snprintf (view->waiting, sizeof view->waiting, "attempt %u was taken back; %s",
                  latest->attempt, st->waiting->text);
        return;
    }
    if (latest && latest->assigned) {
        switch (attempt_state) {
            case FED_ATTEMPT_COMPLETED:
                view->state = "completed";
                view->done = true;
                return;
            case FED_ATTEMPT_FAILED: {
                uint32_t failures = fed_run_step_failures (st);
                if (!ended && step && failures <= step->retries) {
                    view->state = "backoff";
                    snprintf (view->waiting, sizeof view->waiting,
                              "attempt %u failed (%s); retry %u of %u after its backoff",
                              latest->attempt, latest->failed->code, failures, step->retries);
                } else
                    view->state = "failed";
                return;
            }
            case FED_ATTEMPT_RUNNING: view->state = ended ? "cancelled" : "running"; return;
            case FED_ATTEMPT_ASSIGNED:
                view->state = ended ? "cancelled" : "assigned";
                if (!ended)
                    snprintf (view->waiting, sizeof view->waiting,
                              "assigned (attempt %u); its node has not started it yet",
                              latest->attempt);
                return;
        }
    }
    if (ended) {
        view->state = "skipped";
        return;
    }
    if (st && st->waiting) {
        view->state = "waiting";
        snprintf (view->waiting, sizeof view->waiting, "%s", st->waiting->text);
        return;
    }
    view->state = "pending";
    if (step && step->need_count) {
        size_t used = (size_t) snprintf (view->waiting, sizeof view->waiting, "needs");
        bool any = false;
        for (size_t d = 0; d < step->need_count && used < sizeof view->waiting; d++) {
            const fed_wf_step_t *need = fed_workflow_step (wf, step->needs [d]);
            s_step_view_t need_view;
            s_view_step (run, wf, step->needs [d], fed_run_step (run, need->id), &need_view);
            if (need_view.done)
                continue;
            used += (size_t) snprintf (view->waiting + used, sizeof view->waiting - used,
                                       "%s %s (%s)", any ? "," : "", need->id, need_view.state);
            any = true;
        }
        if (!any)
            snprintf (view->waiting, sizeof view->waiting, "its needs are done; being placed");
    }
}

//  Done steps of run (those that succeeded), and steps in all.
static void
s_count_steps (const fed_run_t *run, const fed_workflow_t *wf, size_t *steps_p, size_t *done_p)
{
    size_t count = 0;
    const fed_run_step_t **steps = fed_run_steps (run, &count);
    *steps_p = wf ? fed_workflow_step_count (wf) : count;
    *done_p = 0;
    for (size_t k = 0; k < count; k++) {
        size_t index = wf ? fed_workflow_step_find (wf, steps [k]->id) : 0;
        if (wf && index == SIZE_MAX)
            continue;
        s_step_view_t view;
        s_view_step (run, wf, index, steps [k], &view);
        *done_p += view.done;
    }
    free (steps);
}

//  --- Packing runs ------------------------------------------------------------------

//  The fields of a run summary but `steps`: 10 entries.
static void
s_pack_summary_fields (fed_node_t *node, msgpack_packer *pk, const fed_run_t *run)
{
    const fed_rev_t *started = fed_run_started (run), *end = NULL;
    fed_run_state_t state = fed_run_state (run, &end);
    fed_call_pack_kv (pk, "run", fed_run_id (run));
    fed_call_pack_kv (pk, "workflow", started ? started->workflow : NULL);
    fed_call_pack_kv (pk, "version", started ? started->version : NULL);
    fed_call_pack_kv (pk, "state", fed_run_state_name (state));
    s_kv_key (pk, "coordinator", started ? started->origin : NULL);
    s_kv_node_name (pk, node, "coordinator_name", started ? started->origin : NULL);
    s_kv_opt_int (pk, "started_ms", started != NULL, started ? started->ms_wall : 0);
    s_kv_opt_int (pk, "ended_ms", end != NULL, end ? end->ms_wall : 0);
    char reason [FED_RUN_TEXT_MAX + 96] = "";
    if (end && end->type == FED_REV_RUN_FAILED)
        snprintf (reason, sizeof reason, "%s: %s", end->code ? end->code : "failed",
                  end->text ? end->text : "");
    else if (end && end->type == FED_REV_RUN_CANCELLED)
        snprintf (reason, sizeof reason, "cancelled%s%s", end->text && *end->text ? ": " : "",
                  end->text ? end->text : "");
    s_kv_opt (pk, "reason", *reason ? reason : NULL);
}

static void
s_pack_summary (fed_node_t *node, msgpack_packer *pk, const fed_run_t *run,
                const fed_workflow_t *wf)
{
    msgpack_pack_map (pk, 11);
    s_pack_summary_fields (node, pk, run);
    size_t steps, done;
    s_count_steps (run, wf, &steps, &done);
    s_kv_uint (pk, "steps", steps);
    s_kv_uint (pk, "done", done);
}

static void
s_pack_approval (fed_node_t *node, msgpack_packer *pk, const fed_run_t *run,
                 const fed_run_step_t *st)
{
    const fed_rev_t *awaiting = st->awaiting, *decided = st->decided;
    const fed_rev_t *started = fed_run_started (run);
    msgpack_pack_map (pk, 15);
    fed_call_pack_kv (pk, "run", fed_run_id (run));
    fed_call_pack_kv (pk, "step", st->id);
    fed_call_pack_kv (pk, "workflow", started ? started->workflow : NULL);
    fed_call_pack_kv (pk, "message", awaiting->text);
    fed_call_pack_str (pk, "approvers");
    msgpack_pack_array (pk, awaiting->approver_count);
    for (size_t k = 0; k < awaiting->approver_count; k++)
        fed_call_pack_str (pk, awaiting->approvers [k]);
    s_kv_uint (pk, "min_approvals", awaiting->min_approvals);
    s_kv_bool (pk, "forbid_submitter", awaiting->forbid_submitter);
    fed_call_pack_str (pk, "values");
    msgpack_pack_array (pk, awaiting->value_count);
    for (size_t k = 0; k < awaiting->value_count; k++)
        fed_call_pack_str (pk, awaiting->values [k]);
    s_kv_int (pk, "since_ms", awaiting->ms_wall);
    s_kv_opt_int (pk, "deadline_ms", awaiting->has_deadline, awaiting->deadline_ms);
    s_kv_bool (pk, "escalated", st->escalated != NULL);
    s_kv_opt (pk, "outcome", decided ? decided->outcome : NULL);
    s_kv_opt (pk, "value", decided ? decided->value : NULL);
    s_kv_opt (pk, "comment", decided ? decided->text : NULL);
    fed_call_pack_str (pk, "votes");
    msgpack_pack_array (pk, st->vote_count);
    const fed_trusted_t *entries;
    size_t entry_count = fed_trust_entries (node->trust, &entries);
    for (size_t k = 0; k < st->vote_count; k++) {
        const fed_rev_t *vote = st->votes [k];
        const char *name = NULL;
        for (size_t e = 0; e < entry_count && !name; e++)
            if (memcmp (entries [e].key, vote->by, 32) == 0 && *entries [e].name)
                name = entries [e].name;
        msgpack_pack_map (pk, 7);
        s_kv_key (pk, "by", vote->by);
        s_kv_opt (pk, "name", name);
        fed_call_pack_kv (pk, "decision",
                          vote->type == FED_REV_STEP_APPROVED ? "approve" : "reject");
        s_kv_opt (pk, "comment", vote->text);
        s_kv_opt (pk, "value", vote->value);
        s_kv_int (pk, "ms", vote->ms_wall);
        s_kv_bool (pk, "late", decided && vote->hlc > decided->hlc);
    }
}

static void
s_pack_attempts (fed_node_t *node, msgpack_packer *pk, const fed_run_step_t *st)
{
    fed_call_pack_str (pk, "attempts");
    size_t count = st ? st->attempt_count : 0;
    msgpack_pack_array (pk, count);
    for (size_t k = 0; k < count; k++) {
        const fed_attempt_t *a = &st->attempts [k];
        const char *outcome;
        switch (fed_attempt_state (a)) {
            case FED_ATTEMPT_COMPLETED: outcome = "completed"; break;
            case FED_ATTEMPT_FAILED: outcome = "failed"; break;
            default: outcome = k + 1 < count ? "superseded" : "running";
        }
        if (k + 1 < count && a->completed)
            outcome = "superseded"; //  a late result: another attempt had been made
        msgpack_pack_map (pk, 6);
        s_kv_uint (pk, "attempt", a->attempt);
        s_kv_key (pk, "node", a->assigned->node);
        s_kv_node_name (pk, node, "node_name", a->assigned->node);
        fed_call_pack_kv (pk, "why", a->assigned->why);
        fed_call_pack_kv (pk, "outcome", outcome);
        s_kv_opt (pk, "code", a->failed ? a->failed->code : NULL);
    }
}

static void
s_pack_step (fed_node_t *node, msgpack_packer *pk, const fed_run_t *run, const fed_workflow_t *wf,
             size_t index, const char *id, const fed_run_step_t *st)
{
    s_step_view_t view;
    s_view_step (run, wf, index, st, &view);
    const fed_wf_step_t *step = wf ? fed_workflow_step (wf, index) : NULL;
    const fed_attempt_t *latest = fed_run_step_latest (st);
    msgpack_pack_map (pk, 16);
    fed_call_pack_kv (pk, "id", id);
    fed_call_pack_str (pk, "agent");
    fed_call_pack_str (pk, step ? step->agent : latest ? latest->assigned->agent : "");
    fed_call_pack_kv (pk, "state", view.state);
    s_kv_key (pk, "node", latest ? latest->assigned->node : NULL);
    s_kv_node_name (pk, node, "node_name", latest ? latest->assigned->node : NULL);
    s_kv_uint (pk, "attempt", latest ? latest->attempt : 0);
    s_kv_opt_int (pk, "assigned_ms", latest != NULL, latest ? latest->assigned->ms_wall : 0);
    s_kv_opt_int (pk, "started_ms", latest && latest->started,
                  latest && latest->started ? latest->started->ms_wall : 0);
    const fed_rev_t *ended =
        latest ? (latest->completed ? latest->completed : latest->failed) : NULL;
    if (!ended && st && st->decided && step && !*step->agent)
        ended = st->decided;
    s_kv_opt_int (pk, "ended_ms", ended != NULL, ended ? ended->ms_wall : 0);
    fed_call_pack_str (pk, "ms");
    if (latest && (latest->completed || latest->failed))
        msgpack_pack_uint64 (pk, latest->completed ? latest->completed->ms : latest->failed->ms);
    else
        msgpack_pack_nil (pk);
    fed_call_pack_str (pk, "output");
    if (latest && latest->completed) {
        if (latest->completed->output_size <= S_OUTPUT_SHOWN)
            fed_call_pack_raw (pk, latest->completed->output, latest->completed->output_size);
        else {
            msgpack_pack_map (pk, 1);
            s_kv_uint (pk, "(bytes not shown)", latest->completed->output_size);
        }
    } else if (st && st->decided && step && !*step->agent) {
        msgpack_pack_map (pk, 2);
        fed_call_pack_kv (pk, "decision", st->decided->outcome);
        s_kv_opt (pk, "value", st->decided->value);
    } else
        msgpack_pack_nil (pk);
    fed_call_pack_str (pk, "error");
    if (latest && latest->failed) {
        msgpack_pack_map (pk, 2);
        fed_call_pack_kv (pk, "code", latest->failed->code);
        fed_call_pack_kv (pk, "message", latest->failed->text);
    } else
        msgpack_pack_nil (pk);
    s_kv_opt (pk, "waiting", *view.waiting ? view.waiting : NULL);
    fed_call_pack_str (pk, "progress");
    const fed_rev_t *progress =
        latest && !latest->completed && !latest->failed ? latest->progress : NULL;
    if (progress) {
        msgpack_pack_map (pk, 4);
        s_kv_uint (pk, "done", progress->done);
        s_kv_uint (pk, "total", progress->total);
        s_kv_opt (pk, "text", progress->text && *progress->text ? progress->text : NULL);
        s_kv_int (pk, "ms", progress->ms_wall);
    } else
        msgpack_pack_nil (pk);
    fed_call_pack_str (pk, "approval");
    if (st && st->awaiting)
        s_pack_approval (node, pk, run, st);
    else
        msgpack_pack_nil (pk);
    s_pack_attempts (node, pk, st);
}

static void
s_pack_run (fed_node_t *node, msgpack_packer *pk, const fed_run_t *run, const fed_workflow_t *wf)
{
    const fed_rev_t *started = fed_run_started (run);
    msgpack_pack_map (pk, 14);
    s_pack_summary_fields (node, pk, run);
    size_t steps, done;
    s_count_steps (run, wf, &steps, &done);
    s_kv_uint (pk, "done", done);
    char hex [65] = "";
    if (started)
        fed_hex_encode (hex, started->hash, 32);
    s_kv_opt (pk, "hash", started ? hex : NULL);
    s_kv_key (pk, "by", started && started->has_by ? started->by : NULL);
    fed_call_pack_str (pk, "params");
    if (started)
        fed_call_pack_raw (pk, started->params, started->params_size);
    else
        msgpack_pack_map (pk, 0);
    fed_call_pack_str (pk, "steps");
    if (wf) {
        size_t n = fed_workflow_step_count (wf);
        msgpack_pack_array (pk, n);
        for (size_t i = 0; i < n; i++) {
            const char *id = fed_workflow_step (wf, i)->id;
            s_pack_step (node, pk, run, wf, i, id, fed_run_step (run, id));
        }
    } else {
        size_t count = 0;
        const fed_run_step_t **held = fed_run_steps (run, &count);
        msgpack_pack_array (pk, count);
        for (size_t k = 0; k < count; k++)
            s_pack_step (node, pk, run, NULL, 0, held [k]->id, held [k]);
        free (held);
    }
}

//  --- Commands ----------------------------------------------------------------------------

int
fed_cmd_run_start (fed_call_t *call)
{
    char spec [FED_WORKFLOW_NAME_MAX + FED_WORKFLOW_VERSION_MAX + 2];
    if (s_text_arg (call, "workflow", spec, sizeof spec - 1, true))
        return -1;
    fed_blob_t params = {NULL, 0};
    int rc = fed_ctl_arg_map (call->request, "params", &params, &call->err);
    if (rc < 0)
        return fed_call_fail (call, "bad_request", "%s", call->err.text);
    if (fed_ctl_args_all_used (call->request, &call->err))
        return fed_call_fail (call, "bad_request", "%s", call->err.text);
    char *at = strchr (spec, '@');
    const char *version = NULL;
    if (at) {
        *at = 0;
        version = at + 1;
    }
    if (!fed_workflow_name_valid (spec, strlen (spec))
        || (version && !fed_workflow_version_valid (version, strlen (version))))
        return fed_call_fail (call, "bad_request",
                              "'workflow' must be NAME or NAME@VERSION, as workflow.list shows");
    char run_id [17], version_out [33], hash [65];
    const char *code = "failed";
    if (fed_executor_start (call->node->executor, spec, version, params.data, params.size,
                            call->caller, run_id, version_out, hash, &code, &call->err))
        return fed_call_fail (call, code, "%s", call->err.text);
    msgpack_pack_map (call->pk, 5);
    fed_call_pack_kv (call->pk, "run", run_id);
    fed_call_pack_kv (call->pk, "workflow", spec);
    fed_call_pack_kv (call->pk, "version", version_out);
    fed_call_pack_kv (call->pk, "hash", hash);
    s_kv_key (call->pk, "coordinator", fed_identity_public (call->node->identity));
    return 0;
}

typedef struct {
    fed_call_t *call;
    const char *state;    //  "" any
    const char *workflow; //  "" any
    size_t limit, count;
    msgpack_sbuffer rows;
    msgpack_packer pk;
    zhashx_t *definitions; //  hash hex -> fed_workflow_t (or a marker when unparseable)
    fed_err_t err;
} s_list_t;

static void
s_definition_free (void **item_p)
{
    if (*item_p != (void *) 1)
        fed_workflow_destroy ((fed_workflow_t **) item_p);
    *item_p = NULL;
}

static int
s_list_one (void *arg, const char *run_id)
{
    s_list_t *list = (s_list_t *) arg;
    fed_run_t *run = NULL;
    int found = fed_run_load (list->call->node->log, run_id, &run, &list->err);
    if (found < 0)
        return -1;
    if (!found)
        return 0;
    const fed_rev_t *started = fed_run_started (run);
    bool keep = started != NULL;
    if (keep && *list->state)
        keep = strcmp (fed_run_state_name (fed_run_state (run, NULL)), list->state) == 0;
    if (keep && *list->workflow)
        keep = strcmp (started->workflow, list->workflow) == 0;
    if (keep) {
        char hex [65];
        fed_hex_encode (hex, started->hash, 32);
        void *wf = zhashx_lookup (list->definitions, hex);
        if (!wf) {
            wf = s_definition (list->call->node, started);
            zhashx_insert (list->definitions, hex, wf ? wf : (void *) 1);
        }
        s_pack_summary (list->call->node, &list->pk, run,
                        wf == (void *) 1 ? NULL : (const fed_workflow_t *) wf);
        list->count++;
    }
    fed_run_destroy (&run);
    return list->count >= list->limit ? 1 : 0;
}

int
fed_cmd_run_list (fed_call_t *call)
{
    char state [16], workflow [FED_WORKFLOW_NAME_MAX + 1];
    uint64_t limit = S_LIST_DEFAULT;
    if (s_text_arg (call, "state", state, sizeof state - 1, false)
        || s_text_arg (call, "workflow", workflow, sizeof workflow - 1, false))
        return -1;
    if (fed_ctl_arg_uint (call->request, "limit", S_LIST_MAX, &limit, &call->err) < 0
        || fed_ctl_args_all_used (call->request, &call->err))
        return fed_call_fail (call, "bad_request", "%s", call->err.text);
    if (*state && strcmp (state, "running") && strcmp (state, "completed")
        && strcmp (state, "failed") && strcmp (state, "cancelled"))
        return fed_call_fail (call, "bad_request",
                              "'state' must be running, completed, failed or cancelled");
    s_list_t list = {.call = call, .state = state, .workflow = workflow, .limit = limit};
    if (!list.limit)
        list.limit = S_LIST_DEFAULT;
    msgpack_sbuffer_init (&list.rows);
    msgpack_packer_init (&list.pk, &list.rows, msgpack_sbuffer_write);
    list.definitions = zhashx_new ();
    zhashx_set_destructor (list.definitions, s_definition_free);
    int rc = fed_runs_scan (call->node->log, false, 0, s_list_one, &list, &call->err);
    if (rc >= 0) {
        msgpack_pack_array (call->pk, list.count);
        fed_call_pack_raw (call->pk, list.rows.data, list.rows.size);
    }
    zhashx_destroy (&list.definitions);
    msgpack_sbuffer_destroy (&list.rows);
    if (rc < 0)
        return fed_call_fail (call, "failed", "%s", call->err.text);
    return 0;
}

//  Loads run_id; fails the call with
//  not_found when this node holds none of it.
static int
s_load_id (fed_call_t *call, const char *run_id, fed_run_t **run_p)
{
    int found = fed_run_load (call->node->log, run_id, run_p, &call->err);
    if (found < 0)
        return fed_call_fail (call, "failed", "%s", call->err.text);
    if (!found || !fed_run_started (*run_p)) {
        fed_run_destroy (run_p);
        return fed_call_fail (call, "not_found",
                              "no run %s on this node (fedctl run list; a run started elsewhere "
                              "shows once its events arrive)",
                              run_id);
    }
    return 0;
}

//  Loads the run the 'run' argument names, as s_load_id.
static int
s_load_arg (fed_call_t *call, char run_id [FED_RUN_ID_SIZE + 1], fed_run_t **run_p)
{
    return s_run_arg (call, run_id) ? -1 : s_load_id (call, run_id, run_p);
}

int
fed_cmd_run_show (fed_call_t *call)
{
    char run_id [FED_RUN_ID_SIZE + 1];
    fed_run_t *run = NULL;
    if (s_load_arg (call, run_id, &run))
        return -1;
    if (fed_ctl_args_all_used (call->request, &call->err)) {
        fed_run_destroy (&run);
        return fed_call_fail (call, "bad_request", "%s", call->err.text);
    }
    fed_workflow_t *wf = s_definition (call->node, fed_run_started (run));
    s_pack_run (call->node, call->pk, run, wf);
    fed_workflow_destroy (&wf);
    fed_run_destroy (&run);
    return 0;
}

int
fed_cmd_run_wait (fed_call_t *call)
{
    char run_id [FED_RUN_ID_SIZE + 1];
    uint64_t wait_ms = S_WAIT_MAX;
    if (s_run_arg (call, run_id))
        return -1;
    if (fed_ctl_arg_uint (call->request, "wait_ms", S_WAIT_MAX, &wait_ms, &call->err) < 0
        || fed_ctl_args_all_used (call->request, &call->err))
        return fed_call_fail (call, "bad_request", "%s", call->err.text);
    //  Parked, the request is re-run on every change to the log: look at
    //  the one key that says whether the run is still going before loading
    //  it (an unfinished run of 1,000 steps has thousands of events).
    if (call->resuming && !call->expired) {
        if (fed_runs_active (call->node->log, run_id)) {
            call->wait_ms = 1; //  still running: stay parked (nothing is sent)
            msgpack_pack_nil (call->pk);
            return 0;
        }
    }
    fed_run_t *run = NULL;
    int found = fed_run_load (call->node->log, run_id, &run, &call->err);
    if (found < 0)
        return fed_call_fail (call, "failed", "%s", call->err.text);
    if (!found || !fed_run_started (run)) {
        fed_run_destroy (&run);
        return fed_call_fail (call, "not_found", "no run %s on this node (fedctl run list)",
                              run_id);
    }
    fed_workflow_t *wf = s_definition (call->node, fed_run_started (run));
    s_pack_summary (call->node, call->pk, run, wf);
    bool running = fed_run_state (run, NULL) == FED_RUN_RUNNING;
    fed_workflow_destroy (&wf);
    fed_run_destroy (&run);
    call->wait_ms = running && wait_ms ? (int64_t) wait_ms : 0;
    return 0;
}

int
fed_cmd_run_cancel (fed_call_t *call)
{
    char run_id [FED_RUN_ID_SIZE + 1], reason [257];
    if (s_run_arg (call, run_id) || s_text_arg (call, "reason", reason, 256, false))
        return -1;
    if (fed_ctl_args_all_used (call->request, &call->err))
        return fed_call_fail (call, "bad_request", "%s", call->err.text);
    bool coordinated = false;
    const char *code = "failed";
    if (fed_executor_cancel (call->node->executor, run_id, call->caller, reason, &coordinated,
                             &code, &call->err))
        return fed_call_fail (call, code, "%s", call->err.text);
    msgpack_pack_map (call->pk, 2);
    fed_call_pack_kv (call->pk, "run", run_id);
    fed_call_pack_kv (call->pk, "state", coordinated ? "cancelled" : "cancelling");
    return 0;
}

typedef struct {
    fed_call_t *call;
    const char *only; //  one run, or ""
    size_t count;
    msgpack_sbuffer rows;
    msgpack_packer pk;
    fed_err_t err;
} s_approvals_t;

static int
s_approvals_one (void *arg, const char *run_id)
{
    s_approvals_t *list = (s_approvals_t *) arg;
    if (*list->only && strcmp (list->only, run_id) != 0)
        return 0;
    fed_run_t *run = NULL;
    int found = fed_run_load (list->call->node->log, run_id, &run, &list->err);
    if (found < 0)
        return -1;
    if (!found)
        return 0;
    size_t count = 0;
    const fed_run_step_t **steps = fed_run_steps (run, &count);
    for (size_t k = 0; k < count; k++)
        if (steps [k]->awaiting && !steps [k]->decided) {
            s_pack_approval (list->call->node, &list->pk, run, steps [k]);
            list->count++;
        }
    free (steps);
    fed_run_destroy (&run);
    return 0;
}

int
fed_cmd_approvals (fed_call_t *call)
{
    char only [65];
    if (s_text_arg (call, "run", only, 64, false))
        return -1;
    if (fed_ctl_args_all_used (call->request, &call->err))
        return fed_call_fail (call, "bad_request", "%s", call->err.text);
    s_approvals_t list = {.call = call, .only = only};
    msgpack_sbuffer_init (&list.rows);
    msgpack_packer_init (&list.pk, &list.rows, msgpack_sbuffer_write);
    int rc = fed_runs_scan (call->node->log, true, 0, s_approvals_one, &list, &call->err);
    if (rc >= 0) {
        msgpack_pack_array (call->pk, list.count);
        fed_call_pack_raw (call->pk, list.rows.data, list.rows.size);
    }
    msgpack_sbuffer_destroy (&list.rows);
    if (rc < 0)
        return fed_call_fail (call, "failed", "%s", call->err.text);
    return 0;
}

//  May the caller decide this step? 0, or -1 with the call failed
//  (forbidden).
static int
s_may_decide (fed_call_t *call, const fed_run_t *run, const fed_run_step_t *st)
{
    const fed_rev_t *awaiting = st->awaiting, *started = fed_run_started (run);
    if (awaiting->forbid_submitter && started->has_by
        && memcmp (started->by, call->caller, 32) == 0)
        return fed_call_fail (call, "forbidden",
                              "step %s forbids the submitter: the key that started run %s may "
                              "not decide it",
                              st->id, fed_run_id (run));
    if (call->role == FED_ROLE_ADMIN)
        return 0;
    if (st->escalated)
        return fed_call_fail (call, "forbidden",
                              "step %s was escalated when its approval timed out: only admin "
                              "keys may decide it now",
                              st->id);
    if (awaiting->approver_count == 0) {
        if (call->role == FED_ROLE_APPROVER)
            return 0;
        return fed_call_fail (call, "forbidden",
                              "step %s needs a key with the approver role; this key has the "
                              "role %s",
                              st->id, fed_role_name (call->role));
    }
    for (size_t k = 0; k < awaiting->approver_count; k++) {
        fed_role_t role;
        uint8_t key [32];
        if (fed_role_parse (awaiting->approvers [k], &role) == 0) {
            if (role == call->role)
                return 0;
        } else if (fed_key_decode (key, awaiting->approvers [k]) == 0
                   && memcmp (key, call->caller, 32) == 0)
            return 0;
    }
    char names [512] = "";
    for (size_t k = 0; k < awaiting->approver_count && strlen (names) < 400; k++)
        snprintf (names + strlen (names), sizeof names - strlen (names), "%s%s", k ? ", " : "",
                  awaiting->approvers [k]);
    return fed_call_fail (call, "forbidden",
                          "step %s may be decided only by: %s (a key, or a role it holds); this "
                          "key is neither",
                          st->id, names);
}

static int
s_vote (fed_call_t *call, bool approve)
{
    char run_id [FED_RUN_ID_SIZE + 1], step_id [65], comment [FED_RUN_TEXT_MAX + 1], value [257];
    bool has_value = false;
    fed_run_t *run = NULL;
    if (s_text_arg (call, "step", step_id, 64, true)
        || s_text_arg (call, "comment", comment, FED_RUN_TEXT_MAX, !approve))
        return -1;
    if (approve) {
        const char *ptr;
        uint32_t size;
        int rc = fed_ctl_arg_str (call->request, "value", 256, &ptr, &size, &call->err);
        if (rc < 0)
            return fed_call_fail (call, "bad_request", "%s", call->err.text);
        if (rc == 0) {
            snprintf (value, sizeof value, "%.*s", (int) size, ptr);
            has_value = true;
        }
    }
    if (!approve && !*comment)
        return fed_call_fail (call, "bad_request", "a rejection needs a 'comment': the reason");
    if (s_run_arg (call, run_id))
        return -1;
    //  The coordinator holds its runs up to date in memory: no need to load.
    const fed_run_t *held = fed_executor_run (call->node->executor, run_id);
    if (!held && s_load_id (call, run_id, &run))
        return -1;
    const fed_run_t *view = held ? held : run;
    int rc = -1;
    if (fed_ctl_args_all_used (call->request, &call->err)) {
        fed_call_fail (call, "bad_request", "%s", call->err.text);
        goto done;
    }
    const fed_run_step_t *st = fed_run_step (view, step_id);
    fed_run_state_t state = fed_run_state (view, NULL);
    if (!st || !st->awaiting) {
        fed_workflow_t *wf = s_definition (call->node, fed_run_started (view));
        bool exists = st || (wf && fed_workflow_step_find (wf, step_id) != SIZE_MAX);
        fed_workflow_destroy (&wf);
        if (!exists)
            fed_call_fail (call, "not_found", "run %s has no step %s", run_id, step_id);
        else
            fed_call_fail (call, "not_awaiting",
                           "step %s of run %s is not waiting for a decision (run: %s)", step_id,
                           run_id, fed_run_state_name (state));
        goto done;
    }
    if (st->decided) {
        char by [41] = "the deadline";
        if (st->decided->voter_count)
            fed_z85_encode_key (by, st->decided->voters [0]);
        fed_call_fail (call, "already_decided", "step %s of run %s was already decided: %s by %s%s",
                       step_id, run_id, st->decided->outcome, by,
                       st->decided->voter_count > 1 ? " and others" : "");
        goto done;
    }
    if (state != FED_RUN_RUNNING) {
        fed_call_fail (call, "not_awaiting", "run %s already ended: %s", run_id,
                       fed_run_state_name (state));
        goto done;
    }
    if (s_may_decide (call, view, st))
        goto done;
    const fed_rev_t *awaiting = st->awaiting;
    if (approve && awaiting->value_count) {
        bool listed = false;
        for (size_t k = 0; has_value && k < awaiting->value_count && !listed; k++)
            listed = strcmp (awaiting->values [k], value) == 0;
        if (!listed) {
            char values [600] = "";
            for (size_t k = 0; k < awaiting->value_count && strlen (values) < 500; k++)
                snprintf (values + strlen (values), sizeof values - strlen (values), "%s%s",
                          k ? ", " : "", awaiting->values [k]);
            fed_call_fail (call, "bad_value", "step %s takes a value, one of: %s%s", step_id,
                           values, has_value ? "" : " (send 'value')");
            goto done;
        }
    } else if (approve && has_value) {
        fed_call_fail (call, "bad_value", "step %s takes no value (its hitl lists no 'values')",
                       step_id);
        goto done;
    }
    size_t approvals = 0;
    for (size_t k = 0; k < st->vote_count; k++) {
        if (memcmp (st->votes [k]->by, call->caller, 32) == 0) {
            fed_call_fail (call, "duplicate", "this key already %s step %s of run %s",
                           st->votes [k]->type == FED_REV_STEP_APPROVED ? "approved" : "rejected",
                           step_id, run_id);
            goto done;
        }
        approvals += st->votes [k]->type == FED_REV_STEP_APPROVED;
    }
    msgpack_sbuffer body;
    msgpack_sbuffer_init (&body);
    fed_rev_pack_vote (&body, run_id, step_id, call->caller, comment,
                       approve && has_value ? value : NULL);
    uint8_t id [32];
    fed_err_t err;
    int appended = fed_node_append_local (call->node, approve ? "step.approved" : "step.rejected",
                                          body.data, body.size, NULL, id, &err);
    msgpack_sbuffer_destroy (&body);
    if (appended) {
        fed_call_fail (call, "failed", "%s", err.text);
        goto done;
    }
    msgpack_pack_map (call->pk, approve ? 5 : 3);
    fed_call_pack_kv (call->pk, "run", run_id);
    fed_call_pack_kv (call->pk, "step", step_id);
    if (approve) {
        s_kv_uint (call->pk, "approvals", approvals + 1);
        s_kv_uint (call->pk, "needed", awaiting->min_approvals);
    }
    fed_call_pack_str (call->pk, "id");
    msgpack_pack_bin_with_body (call->pk, id, 32);
    rc = 0;
done:
    fed_run_destroy (&run);
    return rc;
}

int
fed_cmd_approve (fed_call_t *call)
{
    return s_vote (call, true);
}

int
fed_cmd_reject (fed_call_t *call)
{
    return s_vote (call, false);
}
