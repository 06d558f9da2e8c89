/*  node/executor.c: the workflow executor (see executor.h).

    One pass of the coordinator over a run walks its steps in topological
    order, so a step that becomes done unblocks its dependents in the same
    pass. Every decision is an event; nothing the coordinator decides lives
    only in memory, except what it can recompute (the last waiting reason
    written, a gate's output). Time-based decisions (a retry's backoff, a
    silent node, an approval's deadline) and decisions that depend on the
    registry or the membership (a step waiting for a node) are retried by a
    tick that re-runs the pass over every run this node coordinates.

    The worker's part is in executor_worker.c.
*/
#include "executor_internal.h"
#include "node_internal.h"
#include "catalog.h"
#include "peer.h"
#include "placer.h"
#include "registry.h"
#include "runs.h"
#include "tasks.h"
#include "wfresolve.h"
#include "workflow.h"
#include "log.h"

#include <errno.h>
#include <math.h>
#include <sys/stat.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define S_TICK_MS 200
#define S_FEED_BATCH 1024
#define S_DEFAULT_TIMEOUT_MS (60 * 60 * 1000) //  a step without `timeout`
#define S_SILENCE_GRACE_MS 5000               //  past an attempt's timeout before it is given up

//  A run this node coordinates.
typedef struct {
    fed_run_t *run;     //  its events, owned
    fed_workflow_t *wf; //  the definition it pinned, owned
    char **waiting;     //  per step index: the last step.waiting reason written, owned
    uint8_t **gate_out; //  per step index: a decided gate's output map, owned
    size_t *gate_size;
    bool *done;       //  per step index, during a pass
    uint64_t startup; //  ms since epoch of run.started
} s_run_t;

//  --- Small helpers ------------------------------------------------------------------

const uint8_t *
fed_exec_me (fed_executor_t *self)
{
    return fed_identity_public (self->node->identity);
}

int
fed_exec_append (fed_executor_t *self, const char *type, msgpack_sbuffer *body)
{
    fed_err_t err;
    int rc = fed_node_append_local (self->node, type, body->data, body->size, NULL, NULL, &err);
    if (rc)
        fed_error ("executor: could not write %s: %s", type, err.text);
    msgpack_sbuffer_destroy (body);
    return rc;
}

static void
s_run_destroy (void **item_p)
{
    s_run_t *r = (s_run_t *) *item_p;
    if (!r)
        return;
    size_t steps = r->wf ? fed_workflow_step_count (r->wf) : 0;
    for (size_t i = 0; i < steps; i++) {
        free (r->waiting [i]);
        free (r->gate_out [i]);
    }
    free (r->waiting);
    free (r->gate_out);
    free (r->gate_size);
    free (r->done);
    fed_workflow_destroy (&r->wf);
    fed_run_destroy (&r->run);
    free (r);
    *item_p = NULL;
}

//  The state of member node as this node sees it (self: alive; unknown: 0).
static fed_wire_state_t
s_node_state (fed_executor_t *self, const uint8_t node [32])
{
    if (memcmp (node, fed_exec_me (self), 32) == 0)
        return FED_WIRE_ALIVE;
    const fed_member_t *member =
        self->node->peer ? fed_swim_find (fed_peer_swim (self->node->peer), node) : NULL;
    return member ? member->state : (fed_wire_state_t) 0;
}

//  --- Coordinator --------------------------------------------------------------------

static s_run_t *
s_adopt (fed_executor_t *self, fed_run_t **run_p)
{
    fed_run_t *run = *run_p;
    *run_p = NULL;
    const fed_rev_t *started = fed_run_started (run);
    fed_err_t err;
    char *yaml = NULL;
    size_t size = 0;
    s_run_t *r = fed_calloc (1, sizeof *r);
    r->run = run;
    r->startup = (uint64_t) started->ms_wall;
    int found = fed_catalog_source (self->node->log, started->hash, &yaml, &size, &err);
    if (found == 1) {
        fed_workflow_limits_t limits;
        fed_workflow_limits_from_config (&limits, self->node->config);
        fed_wf_errors_t *errors = fed_wf_errors_new ();
        r->wf = fed_workflow_parse (yaml, size, started->workflow, &limits, errors);
        fed_wf_errors_destroy (&errors);
    }
    free (yaml);
    if (r->wf) {
        size_t n = fed_workflow_step_count (r->wf);
        r->waiting = fed_calloc (n + 1, sizeof (char *));
        r->gate_out = fed_calloc (n + 1, sizeof (uint8_t *));
        r->gate_size = fed_calloc (n + 1, sizeof (size_t));
        r->done = fed_calloc (n + 1, sizeof (bool));
    }
    zhashx_update (self->runs, fed_run_id (run), r);
    zhashx_update (self->dirty, fed_run_id (run), (void *) 1);
    self->stats.coordinating = zhashx_size (self->runs);
    return r;
}

static void
s_end (fed_executor_t *self, s_run_t *r, const char *type, msgpack_sbuffer *body)
{
    if (fed_exec_append (self, type, body) == 0)
        self->stats.runs_ended++;
    (void) r;
}

static void s_fail_run (fed_executor_t *self, s_run_t *r, const char *step, const char *code,
                        const char *format, ...) FED_PRINTF (5, 6);

static void
s_fail_run (fed_executor_t *self, s_run_t *r, const char *step, const char *code,
            const char *format, ...)
{
    char message [FED_RUN_TEXT_MAX];
    va_list args;
    va_start (args, format);
    vsnprintf (message, sizeof message, format, args);
    va_end (args);
    msgpack_sbuffer body;
    msgpack_sbuffer_init (&body);
    fed_rev_pack_run_failed (&body, fed_run_id (r->run), step, code, message);
    s_end (self, r, "run.failed", &body);
}

//  True when step i has succeeded: its latest attempt completed, or, for
//  an approval gate, it was approved.
static bool
s_step_done (s_run_t *r, size_t i, const fed_run_step_t *st)
{
    const fed_wf_step_t *step = fed_workflow_step (r->wf, i);
    if (!st)
        return false;
    if (!*step->agent)
        return st->decided && fed_run_approved (st->decided->outcome);
    const fed_attempt_t *latest = fed_run_step_latest (st);
    return latest && fed_attempt_state (latest) == FED_ATTEMPT_COMPLETED;
}

//  The gate's output: {decision, value, by: [Z85...], comment}.
static void
s_gate_output (s_run_t *r, size_t i, const fed_rev_t *decided)
{
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 4);
    const char *keys [] = {"decision", "value", "comment"};
    const char *values [] = {decided->outcome, decided->value, decided->text};
    for (int k = 0; k < 3; k++) {
        msgpack_pack_str (&pk, strlen (keys [k]));
        msgpack_pack_str_body (&pk, keys [k], strlen (keys [k]));
        if (values [k]) {
            msgpack_pack_str (&pk, strlen (values [k]));
            msgpack_pack_str_body (&pk, values [k], strlen (values [k]));
        } else
            msgpack_pack_nil (&pk);
    }
    msgpack_pack_str (&pk, 2);
    msgpack_pack_str_body (&pk, "by", 2);
    msgpack_pack_array (&pk, decided->voter_count);
    for (size_t v = 0; v < decided->voter_count; v++) {
        char z85 [41];
        fed_z85_encode_key (z85, decided->voters [v]);
        msgpack_pack_str (&pk, 40);
        msgpack_pack_str_body (&pk, z85, 40);
    }
    free (r->gate_out [i]);
    r->gate_out [i] = (uint8_t *) buffer.data; //  taken over from the buffer
    r->gate_size [i] = buffer.size;
}

//  fed_wf_output_fn: a step's output for references.
static const uint8_t *
s_output_of (void *arg, size_t index, size_t *size_p)
{
    s_run_t *r = (s_run_t *) arg;
    const fed_wf_step_t *step = fed_workflow_step (r->wf, index);
    const fed_run_step_t *st = fed_run_step (r->run, step->id);
    if (!st)
        return NULL;
    if (!*step->agent) {
        if (!st->decided)
            return NULL;
        if (!r->gate_out [index])
            s_gate_output (r, index, st->decided);
        *size_p = r->gate_size [index];
        return r->gate_out [index];
    }
    const fed_attempt_t *latest = fed_run_step_latest (st);
    if (!latest || !latest->completed)
        return NULL;
    *size_p = latest->completed->output_size;
    return latest->completed->output;
}

//  Delay before retry n (1-based) as the step's backoff says.
static int64_t
s_backoff_ms (const fed_wf_backoff_t *backoff, uint32_t n)
{
    double delay = (double) backoff->initial_ms;
    for (uint32_t k = 1; k < n && delay < (double) backoff->max_ms; k++)
        delay *= backoff->factor;
    if (delay > (double) backoff->max_ms)
        delay = (double) backoff->max_ms;
    return (int64_t) delay;
}

static int64_t
s_timeout_ms (const fed_wf_step_t *step)
{
    return step->timeout_ms > 0 ? step->timeout_ms : S_DEFAULT_TIMEOUT_MS;
}

//  The active steps per node among the runs this node coordinates.
static void
s_count_active (fed_executor_t *self)
{
    self->active = zhashx_new ();
    for (s_run_t *r = (s_run_t *) zhashx_first (self->runs); r;
         r = (s_run_t *) zhashx_next (self->runs)) {
        if (!r->wf)
            continue;
        for (size_t i = 0; i < fed_workflow_step_count (r->wf); i++) {
            const fed_run_step_t *st = fed_run_step (r->run, fed_workflow_step (r->wf, i)->id);
            const fed_attempt_t *latest = fed_run_step_latest (st);
            if (!latest || !latest->assigned)
                continue;
            fed_attempt_state_t state = fed_attempt_state (latest);
            if (state != FED_ATTEMPT_ASSIGNED && state != FED_ATTEMPT_RUNNING)
                continue;
            char hex [65];
            fed_hex_encode (hex, latest->assigned->node, 32);
            uintptr_t n = (uintptr_t) zhashx_lookup (self->active, hex);
            zhashx_update (self->active, hex, (void *) (n + 1));
        }
    }
}

//  Places attempt `attempt` of step i and writes step.assigned, or
//  step.waiting when it cannot be placed. Returns -1 when the run failed.
static int
s_assign (fed_executor_t *self, s_run_t *r, size_t i, uint32_t attempt, const char *why)
{
    const fed_wf_step_t *step = fed_workflow_step (r->wf, i);
    const fed_rev_t *started = fed_run_started (r->run);
    const char *run_id = fed_run_id (r->run);
    fed_err_t err;
    msgpack_sbuffer params;
    msgpack_sbuffer_init (&params);
    size_t max = self->node->config->limits.event_body;
    max = max > 4096 ? max - 4096 : max / 2;
    if (fed_wf_resolve_with (r->wf, i, started->params, started->params_size, s_output_of, r, max,
                             &params, &err)) {
        msgpack_sbuffer_destroy (&params);
        s_fail_run (self, r, step->id, "bad_reference", "step %s: %s", step->id, err.text);
        return -1;
    }
    if (!self->placer) {
        self->placer = fed_placer_load (self->node->log,
                                        self->node->peer ? fed_peer_swim (self->node->peer) : NULL,
                                        fed_exec_me (self), &err);
        if (!self->placer) {
            fed_error ("executor: %s", err.text);
            msgpack_sbuffer_destroy (&params);
            return 0;
        }
        s_count_active (self);
    }
    fed_placement_step_t want;
    memset (&want, 0, sizeof want);
    want.run_id = run_id;
    want.step_id = step->id;
    want.agent = step->agent;
    want.require = step->require;
    //  location.same_node_as: where that need completed, by its node id.
    char same_hex [65];
    if (step->same_node_as != SIZE_MAX) {
        const fed_wf_step_t *need = fed_workflow_step (r->wf, step->same_node_as);
        const fed_attempt_t *done = fed_run_step_latest (fed_run_step (r->run, need->id));
        if (!done || !done->assigned) {
            msgpack_sbuffer_destroy (&params);
            s_fail_run (self, r, step->id, "bad_location",
                        "step %s: location.same_node_as %s, which has no completed attempt",
                        step->id, need->id);
            return -1;
        }
        fed_hex_encode (same_hex, done->assigned->node, 32);
        want.require.node = same_hex;
    }
    want.near = step->near;
    want.prefer = step->prefer;
    fed_placement_result_t result;
    uint8_t node [32];
    //  A retry steers away from the node where the last attempt failed or
    //  went silent, unless the step's location or preferences rank that
    //  node first: counted as busier than any other, it loses the
    //  fewest-active-steps tie-break.
    char failed_hex [65] = "";
    uintptr_t failed_count = 0;
    const fed_attempt_t *previous =
        attempt > 1 ? fed_run_step_latest (fed_run_step (r->run, step->id)) : NULL;
    if (previous && previous->assigned
        && (strcmp (why, "retry") == 0 || strcmp (why, "timeout") == 0)) {
        fed_hex_encode (failed_hex, previous->assigned->node, 32);
        failed_count = (uintptr_t) zhashx_lookup (self->active, failed_hex);
        zhashx_update (self->active, failed_hex, (void *) (failed_count + 1000000));
    }
    int placed = fed_placer_place (self->placer, &want, self->active, &result, node, &err);
    if (*failed_hex)
        zhashx_update (self->active, failed_hex, (void *) failed_count);
    if (placed) {
        msgpack_sbuffer_destroy (&params);
        s_fail_run (self, r, step->id, "bad_location", "step %s: %s", step->id, err.text);
        return -1;
    }
    if (result.reason != FED_PLACEMENT_PLACED) {
        msgpack_sbuffer_destroy (&params);
        if (step->same_node_as != SIZE_MAX) {
            //  Say which node and why: its files are there.
            char name [80] = "";
            fed_agent_location_t where;
            uint8_t same [32];
            if (fed_hex_decode (same, sizeof same, same_hex) == 0)
                fed_registry_node (self->node->log, same, name, sizeof name, &where);
            char text [sizeof result.text];
            snprintf (text, sizeof text,
                      "runs where '%.64s' ran, on node %.64s (its files are there): %.300s",
                      fed_workflow_step (r->wf, step->same_node_as)->id, *name ? name : same_hex,
                      result.text);
            snprintf (result.text, sizeof result.text, "%s", text);
        }
        if (r->waiting [i] && strcmp (r->waiting [i], result.text) == 0)
            return 0;
        free (r->waiting [i]);
        r->waiting [i] = fed_strdup (result.text);
        msgpack_sbuffer body;
        msgpack_sbuffer_init (&body);
        fed_rev_pack_waiting (&body, run_id, step->id, result.text);
        fed_exec_append (self, "step.waiting", &body);
        return 0;
    }
    free (r->waiting [i]);
    r->waiting [i] = NULL;
    msgpack_sbuffer body;
    msgpack_sbuffer_init (&body);
    fed_rev_pack_assigned (&body, run_id, step->id, attempt, node, step->agent, params.data,
                           params.size, (uint64_t) s_timeout_ms (step), why);
    msgpack_sbuffer_destroy (&params);
    if (fed_exec_append (self, "step.assigned", &body) == 0) {
        self->stats.steps_assigned++;
        char hex [65];
        fed_hex_encode (hex, node, 32);
        uintptr_t n = (uintptr_t) zhashx_lookup (self->active, hex);
        zhashx_update (self->active, hex, (void *) (n + 1));
    }
    return 0;
}

//  Writes step.awaiting for hitl step i.
static void
s_open_approval (fed_executor_t *self, s_run_t *r, size_t i, int64_t now)
{
    const fed_wf_step_t *step = fed_workflow_step (r->wf, i);
    const fed_wf_hitl_t *hitl = &step->hitl;
    const fed_rev_t *started = fed_run_started (r->run);
    fed_err_t err;
    char *message = fed_wf_resolve_text (r->wf, hitl->message, started->params,
                                         started->params_size, s_output_of, r, &err);
    if (!message)
        message =
            fed_sprintf ("%s (a reference could not be resolved: %s)", hitl->message, err.text);
    const char **approvers = fed_calloc (hitl->approver_count + 1, sizeof (char *));
    for (size_t k = 0; k < hitl->approver_count; k++)
        approvers [k] = hitl->approvers [k].text;
    const char *on_timeout = hitl->on_timeout == FED_WF_ON_TIMEOUT_APPROVE ? "approve"
        : hitl->on_timeout == FED_WF_ON_TIMEOUT_ESCALATE                   ? "escalate"
                                                                           : "reject";
    msgpack_sbuffer body;
    msgpack_sbuffer_init (&body);
    fed_rev_pack_awaiting (&body, fed_run_id (r->run), step->id, message, approvers,
                           hitl->approver_count, hitl->min_approvals ? hitl->min_approvals : 1,
                           hitl->forbid_submitter, hitl->values, hitl->value_count,
                           hitl->timeout_ms > 0 ? now + hitl->timeout_ms : -1, on_timeout);
    fed_exec_append (self, "step.awaiting", &body);
    free (approvers);
    free (message);
}

static void
s_decide (fed_executor_t *self, s_run_t *r, const char *step, const char *outcome,
          const char *value, const uint8_t (*by) [32], size_t by_count, const char *comment)
{
    msgpack_sbuffer body;
    msgpack_sbuffer_init (&body);
    fed_rev_pack_decided (&body, fed_run_id (r->run), step, outcome, value, by, by_count,
                          comment ? comment : "");
    fed_exec_append (self, "step.decided", &body);
}

//  Counts the votes of an awaiting step and decides when they, or its
//  deadline, say so.
static void
s_weigh_votes (fed_executor_t *self, s_run_t *r, size_t i, const fed_run_step_t *st, int64_t now)
{
    const fed_wf_step_t *step = fed_workflow_step (r->wf, i);
    const fed_rev_t *awaiting = st->awaiting;
    const fed_rev_t *started = fed_run_started (r->run);
    uint8_t voters [64][32];
    const char *voter_values [64];
    size_t count = 0;
    const char *comment = NULL;
    for (size_t k = 0; k < st->vote_count; k++) {
        const fed_rev_t *vote = st->votes [k];
        //  The node that took the vote checked it; the submitter rule is
        //  checked again here, as it needs nothing but the run.
        if (awaiting->forbid_submitter && started->has_by
            && memcmp (vote->by, started->by, 32) == 0)
            continue;
        if (vote->type == FED_REV_STEP_REJECTED) {
            s_decide (self, r, step->id, "rejected", NULL, (const uint8_t (*) [32]) vote->by, 1,
                      vote->text);
            return;
        }
        bool seen = false;
        for (size_t v = 0; v < count && !seen; v++)
            seen = memcmp (voters [v], vote->by, 32) == 0;
        if (seen || count == 64)
            continue;
        memcpy (voters [count], vote->by, 32);
        voter_values [count++] = vote->value;
        comment = vote->text;
        if (count >= awaiting->min_approvals) {
            //  The value most approvals carry, the first recorded among equals.
            const char *value = NULL;
            size_t best = 0;
            for (size_t v = 0; v < count; v++) {
                size_t same = 0;
                for (size_t w = 0; w < count; w++)
                    same += voter_values [v] && voter_values [w]
                        && strcmp (voter_values [v], voter_values [w]) == 0;
                if (same > best) {
                    best = same;
                    value = voter_values [v];
                }
            }
            s_decide (self, r, step->id, "approved", value, (const uint8_t (*) [32]) voters, count,
                      comment);
            return;
        }
    }
    if (awaiting->has_deadline && now >= awaiting->deadline_ms && !st->escalated) {
        const char *on_timeout = awaiting->on_timeout ? awaiting->on_timeout : "reject";
        if (strcmp (on_timeout, "escalate") == 0) {
            msgpack_sbuffer body;
            msgpack_sbuffer_init (&body);
            fed_rev_pack_escalated (&body, fed_run_id (r->run), step->id);
            fed_exec_append (self, "step.escalated", &body);
        } else
            s_decide (self, r, step->id,
                      strcmp (on_timeout, "approve") == 0 ? "timeout_approved" : "timeout_rejected",
                      NULL, NULL, 0, "no decision before the deadline");
    }
}

//  One pass over a run: decides whatever its events now allow.
static void
s_pass (fed_executor_t *self, s_run_t *r)
{
    const fed_rev_t *end;
    const char *run_id = fed_run_id (r->run);
    if (fed_run_state (r->run, &end) != FED_RUN_RUNNING)
        return;
    if (!r->wf) {
        s_fail_run (self, r, "", "invalid",
                    "the definition this run pinned is not in this node's catalog, or does not "
                    "parse here");
        return;
    }
    const fed_rev_t *cancel = fed_run_cancel_request (r->run);
    if (cancel) {
        msgpack_sbuffer body;
        msgpack_sbuffer_init (&body);
        fed_rev_pack_cancel (&body, run_id, cancel->has_by ? cancel->by : NULL,
                             cancel->text ? cancel->text : "");
        s_end (self, r, "run.cancelled", &body);
        return;
    }
    int64_t now = fed_wall_ms ();
    size_t n = fed_workflow_step_count (r->wf);
    const size_t *order = fed_workflow_order (r->wf);
    bool all_done = true;
    for (size_t k = 0; k < n; k++) {
        size_t i = order [k];
        const fed_wf_step_t *step = fed_workflow_step (r->wf, i);
        const fed_run_step_t *st = fed_run_step (r->run, step->id);
        r->done [i] = s_step_done (r, i, st);
        if (r->done [i])
            continue;
        all_done = false;
        bool ready = true;
        for (size_t d = 0; d < step->need_count && ready; d++)
            ready = r->done [step->needs [d]];
        if (!ready)
            continue;
        if (step->hitl.enabled && !(st && st->decided)) {
            if (!st || !st->awaiting)
                s_open_approval (self, r, i, now);
            else
                s_weigh_votes (self, r, i, st, now);
            continue;
        }
        if (step->hitl.enabled && !fed_run_approved (st->decided->outcome)) {
            bool timed_out = strcmp (st->decided->outcome, "timeout_rejected") == 0;
            s_fail_run (self, r, step->id, timed_out ? "approval_timeout" : "rejected",
                        "step %s: %s", step->id,
                        timed_out ? "no decision before the deadline"
                                  : (st->decided->text && *st->decided->text ? st->decided->text
                                                                             : "no reason given"));
            return;
        }
        const fed_attempt_t *latest = fed_run_step_latest (st);
        if (!latest) {
            if (s_assign (self, r, i, 1, step->hitl.enabled ? "approved" : "first"))
                return;
            continue;
        }
        fed_attempt_state_t state = fed_attempt_state (latest);
        if (state == FED_ATTEMPT_FAILED) {
            uint32_t failures = fed_run_step_failures (st);
            if (failures > step->retries) {
                s_fail_run (self, r, step->id, latest->failed->code, "step %s, attempt %u: %s",
                            step->id, latest->attempt,
                            latest->failed->text ? latest->failed->text : "");
                return;
            }
            if (now >= latest->failed->ms_wall + s_backoff_ms (&step->backoff, failures)) {
                if (s_assign (self, r, i, latest->attempt + 1, "retry"))
                    return;
            }
            continue;
        }
        //  Assigned or running: is its node still there, and not silent?
        fed_wire_state_t node_state = s_node_state (self, latest->assigned->node);
        if (node_state == FED_WIRE_DEAD || node_state == FED_WIRE_LEFT) {
            self->stats.reassigned++;
            if (s_assign (self, r, i, latest->attempt + 1, "node_dead"))
                return;
            continue;
        }
        if (now > latest->assigned->ms_wall + (int64_t) latest->assigned->timeout_ms
                + S_SILENCE_GRACE_MS) {
            if (fed_run_step_failures (st) + 1 > step->retries) {
                s_fail_run (self, r, step->id, "timeout",
                            "step %s, attempt %u: no result from its node within its timeout",
                            step->id, latest->attempt);
                return;
            }
            self->stats.reassigned++;
            if (s_assign (self, r, i, latest->attempt + 1, "timeout"))
                return;
        }
    }
    if (all_done) {
        msgpack_sbuffer body;
        msgpack_sbuffer_init (&body);
        fed_rev_pack_run_completed (
            &body, run_id,
            (uint64_t) (now > (int64_t) r->startup ? now - (int64_t) r->startup : 0));
        s_end (self, r, "run.completed", &body);
    }
}

static void
s_round_end (fed_executor_t *self)
{
    fed_placer_destroy (&self->placer);
    zhashx_destroy (&self->active);
}

//  --- The feed -------------------------------------------------------------------------

static int
s_on_event (void *arg, const fed_event_t *event)
{
    fed_executor_t *self = (fed_executor_t *) arg;
    if (fed_rev_type (fed_event_type (event)) == FED_REV_NONE)
        return 0;
    fed_err_t err;
    fed_rev_t *rev = fed_rev_decode (event, &err);
    if (!rev)
        return 0; //  the view ignored it too
    if (rev->type == FED_REV_STEP_ASSIGNED && memcmp (rev->node, fed_exec_me (self), 32) == 0) {
        //  The coordinator wrote it after run.started and before any end
        //  (one origin, in order), so the run is live unless it ended.
        if (fed_runs_active (self->node->log, rev->run))
            fed_exec_work (self, rev, true);
    } else if (rev->type == FED_REV_RUN_COMPLETED || rev->type == FED_REV_RUN_FAILED
               || rev->type == FED_REV_RUN_CANCELLED)
        fed_exec_drop_tasks (self, rev->run);
    s_run_t *r = (s_run_t *) zhashx_lookup (self->runs, rev->run);
    if (r) {
        if (fed_run_add (r->run, &rev))
            zhashx_update (self->dirty, fed_run_id (r->run), (void *) 1);
    } else if (rev->type == FED_REV_RUN_STARTED
               && memcmp (rev->origin, fed_exec_me (self), 32) == 0) {
        fed_run_t *run = fed_run_new (rev->run);
        fed_run_add (run, &rev);
        s_adopt (self, &run);
    }
    fed_rev_destroy (&rev);
    return 0;
}

//  Reads every event stored since the cursor (s_on_event) and moves it on.
static void
s_feed (fed_executor_t *self)
{
    for (;;) {
        uint64_t last = self->cursor;
        fed_err_t err;
        if (fed_evlog_feed (self->node->log, self->cursor, S_FEED_BATCH, s_on_event, self, &last,
                            &err)) {
            fed_error ("executor: %s", err.text);
            return;
        }
        if (last == self->cursor)
            return;
        self->cursor = last;
    }
}

static void
s_evaluate (fed_executor_t *self)
{
    while (zhashx_size (self->dirty)) {
        zlistx_t *ids = zhashx_keys (self->dirty);
        zhashx_purge (self->dirty);
        for (const char *id = (const char *) zlistx_first (ids); id;
             id = (const char *) zlistx_next (ids)) {
            s_run_t *r = (s_run_t *) zhashx_lookup (self->runs, id);
            if (!r)
                continue;
            if (fed_run_state (r->run, NULL) != FED_RUN_RUNNING) {
                zhashx_delete (self->runs, id);
                continue;
            }
            s_pass (self, r);
        }
        zlistx_destroy (&ids);
        //  What the pass wrote is read before the next pass.
        s_feed (self);
    }
    //  Ended runs are forgotten after their end was read.
    zlistx_t *ids = zhashx_keys (self->runs);
    for (const char *id = (const char *) zlistx_first (ids); id;
         id = (const char *) zlistx_next (ids)) {
        s_run_t *r = (s_run_t *) zhashx_lookup (self->runs, id);
        if (r && fed_run_state (r->run, NULL) != FED_RUN_RUNNING)
            zhashx_delete (self->runs, id);
    }
    zlistx_destroy (&ids);
    self->stats.coordinating = zhashx_size (self->runs);
    s_round_end (self);
}

//  A round: reads what the log got since the last one and acts on it.
static void
s_round (fed_executor_t *self)
{
    self->feeding = true;
    s_feed (self);
    s_evaluate (self);
    self->feeding = false;
}

const fed_run_t *
fed_executor_run (fed_executor_t *self, const char *run_id)
{
    s_run_t *r = (s_run_t *) zhashx_lookup (self->runs, run_id);
    if (!r)
        return NULL;
    if (!self->feeding && fed_evlog_arrivals (self->node->log) != self->cursor) {
        //  Brings every run held up to date with the log; the decisions
        //  that follow are left to the round already due.
        self->feeding = true;
        s_feed (self);
        self->feeding = false;
        if (zhashx_size (self->dirty) && !self->deferred)
            fed_executor_log_changed (self);
        r = (s_run_t *) zhashx_lookup (self->runs, run_id);
    }
    return r ? r->run : NULL;
}

static int
s_on_deferred (zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    (void) timer_id;
    fed_executor_t *self = (fed_executor_t *) arg;
    self->deferred = 0;
    s_round (self);
    return 0;
}

void
fed_executor_log_changed (fed_executor_t *self)
{
    //  Inside a round, what was just written is read before it ends.
    //  Otherwise the round runs on the loop's next turn (a timer due at
    //  once), after whoever appended has finished: an approver's reply, or
    //  a batch of replicated events, never waits for the decisions that
    //  follow from it.
    if (!self || self->feeding || self->deferred)
        return;
    self->deferred = zloop_timer (self->loop, 0, 1, s_on_deferred, self);
    if (self->deferred < 0) {
        self->deferred = 0;
        s_round (self);
    }
}

static int
s_on_tick (zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    (void) timer_id;
    fed_executor_t *self = (fed_executor_t *) arg;
    if (self->feeding || !zhashx_size (self->runs))
        return 0;
    for (s_run_t *r = (s_run_t *) zhashx_first (self->runs); r;
         r = (s_run_t *) zhashx_next (self->runs))
        zhashx_update (self->dirty, fed_run_id (r->run), (void *) 1);
    self->feeding = true;
    s_evaluate (self);
    self->feeding = false;
    return 0;
}

//  --- Resume ----------------------------------------------------------------------------

typedef struct {
    fed_executor_t *self;
    fed_err_t *err;
} s_resume_t;

static int
s_resume_run (void *arg, const char *run_id)
{
    s_resume_t *resume = (s_resume_t *) arg;
    fed_executor_t *self = resume->self;
    fed_run_t *run = NULL;
    int found = fed_run_load (self->node->log, run_id, &run, resume->err);
    if (found < 0)
        return -1;
    if (!found || !fed_run_started (run) || fed_run_state (run, NULL) != FED_RUN_RUNNING) {
        fed_run_destroy (&run);
        return 0;
    }
    //  Attempts assigned here and not reported: run again.
    size_t count = 0;
    const fed_run_step_t **steps = fed_run_steps (run, &count);
    for (size_t k = 0; k < count; k++) {
        const fed_attempt_t *latest = fed_run_step_latest (steps [k]);
        if (latest && latest->assigned
            && memcmp (latest->assigned->node, fed_exec_me (self), 32) == 0 && !latest->completed
            && !latest->failed)
            fed_exec_work (self, latest->assigned, latest->started == NULL);
    }
    free (steps);
    if (memcmp (fed_run_coordinator (run), fed_exec_me (self), 32) == 0)
        s_adopt (self, &run);
    fed_run_destroy (&run);
    return 0;
}

fed_executor_t *
fed_executor_new (fed_node_t *node, zloop_t *loop, fed_err_t *err)
{
    fed_executor_t *self = fed_calloc (1, sizeof *self);
    self->node = node;
    self->loop = loop;
    self->runs = zhashx_new ();
    zhashx_set_destructor (self->runs, s_run_destroy);
    self->tasks = zhashx_new ();
    zhashx_set_destructor (self->tasks, fed_exec_task_destroy);
    self->dirty = zhashx_new ();
    //  Events stored from now on arrive through the feed; those stored
    //  before are in the view, read once here.
    self->cursor = fed_evlog_arrivals (node->log);
    s_resume_t resume = {self, err};
    self->feeding = true;
    if (fed_runs_scan (node->log, true, 0, s_resume_run, &resume, err)) {
        self->feeding = false;
        fed_executor_destroy (&self);
        return NULL;
    }
    self->feeding = false;
    if (zhashx_size (self->runs))
        fed_info ("executor: resuming %zu run%s", zhashx_size (self->runs),
                  zhashx_size (self->runs) == 1 ? "" : "s");
    self->timer = zloop_timer (loop, S_TICK_MS, 0, s_on_tick, self);
    return self;
}

void
fed_executor_destroy (fed_executor_t **self_p)
{
    fed_executor_t *self = *self_p;
    if (!self)
        return;
    if (self->timer > 0)
        zloop_timer_end (self->loop, self->timer);
    if (self->deferred > 0)
        zloop_timer_end (self->loop, self->deferred);
    zhashx_destroy (&self->runs);
    zhashx_destroy (&self->tasks);
    zhashx_destroy (&self->dirty);
    s_round_end (self);
    free (self);
    *self_p = NULL;
}

void
fed_executor_stats (fed_executor_t *self, fed_executor_stats_t *stats)
{
    *stats = self->stats;
    stats->coordinating = zhashx_size (self->runs);
    stats->tasks_running = zhashx_size (self->tasks);
}

//  --- Commands --------------------------------------------------------------------------

int
fed_executor_start (fed_executor_t *self, const char *name, const char *version,
                    const uint8_t *params, size_t params_size, const uint8_t caller [32],
                    char run_id [17], char version_out [33], char hash_hex [65],
                    const char **code_p, fed_err_t *err)
{
    fed_evlog_t *log = self->node->log;
    fed_catalog_version_t found;
    int rc = fed_catalog_find (log, name, version, &found, NULL, NULL, err);
    if (rc < 0) {
        *code_p = "failed";
        return -1;
    }
    if (rc == 0) {
        *code_p = "not_found";
        if (version && *version)
            fed_err_set (err, 0, "no workflow %s@%s in the catalog (fedctl workflow list)", name,
                         version);
        else
            fed_err_set (err, 0, "no workflow %s in the catalog (fedctl workflow list)", name);
        return -1;
    }
    char *yaml = NULL;
    size_t size = 0;
    if (fed_catalog_source (log, found.entry.hash, &yaml, &size, err) != 1) {
        *code_p = "failed";
        return -1;
    }
    fed_workflow_limits_t limits;
    fed_workflow_limits_from_config (&limits, self->node->config);
    fed_wf_errors_t *errors = fed_wf_errors_new ();
    fed_workflow_t *wf = fed_workflow_parse (yaml, size, name, &limits, errors);
    free (yaml);
    if (!wf) {
        *code_p = "invalid";
        fed_err_set (err, 0, "%s@%s does not parse on this node: %s", name, found.entry.version,
                     fed_wf_errors_count (errors) ? fed_wf_errors_text (errors, 0) : "?");
        fed_wf_errors_destroy (&errors);
        return -1;
    }
    fed_wf_errors_destroy (&errors);
    msgpack_sbuffer bound;
    msgpack_sbuffer_init (&bound);
    if (fed_wf_bind_params (wf, params, params_size, &bound, err)) {
        *code_p = "bad_params";
        msgpack_sbuffer_destroy (&bound);
        fed_workflow_destroy (&wf);
        return -1;
    }
    fed_workflow_destroy (&wf);
    uint8_t random [8];
    randombytes_buf (random, sizeof random);
    fed_hex_encode (run_id, random, 8);
    msgpack_sbuffer body;
    msgpack_sbuffer_init (&body);
    fed_rev_pack_run_started (&body, run_id, name, found.entry.version, found.entry.hash,
                              bound.data, bound.size, caller);
    msgpack_sbuffer_destroy (&bound);
    rc = fed_node_append_local (self->node, "run.started", body.data, body.size, NULL, NULL, err);
    msgpack_sbuffer_destroy (&body);
    if (rc) {
        *code_p = "failed";
        return -1;
    }
    self->stats.runs_started++;
    snprintf (version_out, 33, "%s", found.entry.version);
    fed_hex_encode (hash_hex, found.entry.hash, 32);
    return 0;
}

int
fed_executor_cancel (fed_executor_t *self, const char *run_id, const uint8_t caller [32],
                     const char *reason, bool *coordinated_p, const char **code_p, fed_err_t *err)
{
    fed_run_t *run = NULL;
    int found = fed_run_load (self->node->log, run_id, &run, err);
    if (found < 0) {
        *code_p = "failed";
        return -1;
    }
    if (!found || !fed_run_started (run)) {
        fed_run_destroy (&run);
        *code_p = "not_found";
        fed_err_set (err, 0, "no run %s on this node (fedctl run list)", run_id);
        return -1;
    }
    fed_run_state_t state = fed_run_state (run, NULL);
    bool coordinated = memcmp (fed_run_coordinator (run), fed_exec_me (self), 32) == 0;
    fed_run_destroy (&run);
    if (state != FED_RUN_RUNNING) {
        *code_p = "already_ended";
        fed_err_set (err, 0, "run %s already ended: %s", run_id, fed_run_state_name (state));
        return -1;
    }
    msgpack_sbuffer body;
    msgpack_sbuffer_init (&body);
    fed_rev_pack_cancel (&body, run_id, caller, reason ? reason : "");
    int rc =
        fed_node_append_local (self->node, coordinated ? "run.cancelled" : "run.cancel_requested",
                               body.data, body.size, NULL, NULL, err);
    msgpack_sbuffer_destroy (&body);
    if (rc) {
        *code_p = "failed";
        return -1;
    }
    *coordinated_p = coordinated;
    return 0;
}
