/*  node/runs.h: workflow runs as the log holds them (DESIGN §8,
    doc/protocol.md §1.4 and §3.4 "Runs").

    A run is a set of events written by three kinds of writers: its
    coordinator (run.started, step.waiting, step.assigned, step.awaiting,
    step.decided, step.escalated, run.completed|failed|cancelled), the node
    each step attempt was assigned to (step.started|completed|failed), and
    any node that took a vote or a cancel request (step.approved|rejected,
    run.cancel_requested). This module decodes those events, folds them
    into the "run" view, and builds a run's state from them.

    The state is a function of the SET of a run's events, never of the
    order they came in: events of different writers reach nodes in
    different orders (a worker's step.completed may arrive before the
    coordinator's step.assigned it answers), so every record is kept where
    it belongs and the state is derived when asked. An event counts only
    when its writer may write it: coordinator events from the coordinator,
    a step attempt's results from the node the attempt was assigned to.
    So every node holding the same events shows the same run.

    View "run" (version 1):
        e/RUN/ORIGIN(32)SEQ(8)  -> the type, one byte: every run event, so a
                                   run loads with one prefix scan (the
                                   bodies stay in the log, never copied)
        t/HLC(8)RUN             -> run.started's hlc: runs by start time
        a/RUN                   -> coordinator(32): runs not ended
    Run ids are 16 lowercase hex characters.
*/
#ifndef FED_RUNS_H_INCLUDED
#define FED_RUNS_H_INCLUDED

#include <msgpack.h>
#include "evlog.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FED_RUN_ID_SIZE 16
#define FED_RUN_TEXT_MAX 1024 //  message, comment, reason
#define FED_RUN_CODE_MAX 64

typedef enum {
    FED_REV_NONE = 0,
    FED_REV_RUN_STARTED,
    FED_REV_STEP_WAITING,
    FED_REV_STEP_ASSIGNED,
    FED_REV_STEP_STARTED,
    FED_REV_STEP_COMPLETED,
    FED_REV_STEP_FAILED,
    FED_REV_STEP_AWAITING,
    FED_REV_STEP_APPROVED,
    FED_REV_STEP_REJECTED,
    FED_REV_STEP_DECIDED,
    FED_REV_STEP_ESCALATED,
    FED_REV_RUN_CANCEL_REQUESTED,
    FED_REV_RUN_COMPLETED,
    FED_REV_RUN_FAILED,
    FED_REV_RUN_CANCELLED,
    FED_REV_STEP_PROGRESS,
    FED_REV_TYPES
} fed_rev_type_t;

//  The run event type named type, or FED_REV_NONE.
fed_rev_type_t fed_rev_type (const char *type);
//  The event type's name ("step.assigned").
const char *fed_rev_type_name (fed_rev_type_t type);

//  One decoded run event. Strings are NUL-terminated copies owned by the
//  record; blobs (msgpack) likewise; absent optional fields are NULL / 0.
typedef struct {
    fed_rev_type_t type;
    uint8_t origin [32]; //  the event's writer
    uint64_t hlc;
    int64_t ms_wall; //  hlc's wall clock part
    char run [FED_RUN_ID_SIZE + 1];
    char *step; //  step.* events
    uint32_t attempt;
    bool has_node;
    uint8_t node [32]; //  step.assigned
    char *agent;       //  step.assigned
    uint8_t *params;   //  run.started (bound params), step.assigned (resolved with)
    size_t params_size;
    uint8_t *output; //  step.completed
    size_t output_size;
    uint64_t timeout_ms;      //  step.assigned
    uint64_t ms;              //  step.completed|failed, run.completed
    uint64_t done, total;     //  step.progress
    char *why;                //  step.assigned
    char *code;               //  step.failed, run.failed
    char *text;               //  message, comment or reason
    char *workflow, *version; //  run.started
    uint8_t hash [32];        //  run.started
    bool has_by;
    uint8_t by [32];        //  run.started, step.approved|rejected, run.cancel_*
    char *value;            //  step.approved|decided (NULL: none)
    char *outcome;          //  step.decided
    uint8_t (*voters) [32]; //  step.decided's by
    size_t voter_count;
    char **approvers; //  step.awaiting
    size_t approver_count;
    char **values; //  step.awaiting
    size_t value_count;
    uint32_t min_approvals;
    bool forbid_submitter;
    bool has_deadline;
    int64_t deadline_ms;
    char *on_timeout;
} fed_rev_t;

//  Decodes a run event's body, checking every field's type and limit and
//  the fields its type requires. Returns the record (caller destroys it),
//  or NULL with err naming the field when the body is not one.
fed_rev_t *fed_rev_decode (const fed_event_t *event, fed_err_t *err);
//  The same from the parts of an event: its type, writer, hlc and body
//  (size bytes, which need not be checked msgpack).
fed_rev_t *fed_rev_decode_body (fed_rev_type_t type, const uint8_t origin [32], uint64_t hlc,
                                const uint8_t *body, size_t size, fed_err_t *err);
void fed_rev_destroy (fed_rev_t **self_p);

//  Registers the "run" view on log. Call before the log takes events.
int fed_runs_register (fed_evlog_t *log, fed_err_t *err) FED_MUST_USE;

//  --- A run's state ------------------------------------------------------------

typedef enum {
    FED_RUN_RUNNING = 1,
    FED_RUN_COMPLETED,
    FED_RUN_FAILED,
    FED_RUN_CANCELLED
} fed_run_state_t;
const char *fed_run_state_name (fed_run_state_t state);

typedef enum {
    FED_ATTEMPT_ASSIGNED = 1, //  not started yet
    FED_ATTEMPT_RUNNING,
    FED_ATTEMPT_COMPLETED,
    FED_ATTEMPT_FAILED
} fed_attempt_state_t;

//  One attempt of a step: its assignment and what its node reported.
typedef struct {
    uint32_t attempt;
    const fed_rev_t *assigned;  //  step.assigned, or NULL if not seen yet
    const fed_rev_t *started;   //  from the assigned node, or NULL
    const fed_rev_t *completed; //  likewise
    const fed_rev_t *failed;    //  likewise
    const fed_rev_t *progress;  //  the latest step.progress from it, or NULL
} fed_attempt_t;

//  The attempt's state (ASSIGNED when only results from other nodes, or
//  nothing, are held).
fed_attempt_state_t fed_attempt_state (const fed_attempt_t *attempt);

//  One step of a run, as its events say. Everything is borrowed from the run.
typedef struct {
    const char *id;
    fed_attempt_t *attempts; //  by attempt number, ascending
    size_t attempt_count;
    const fed_rev_t *waiting;   //  the latest step.waiting, or NULL
    const fed_rev_t *awaiting;  //  step.awaiting, or NULL
    const fed_rev_t *escalated; //  step.escalated, or NULL
    const fed_rev_t *decided;   //  step.decided, or NULL
    const fed_rev_t **votes;    //  step.approved|rejected, by hlc then origin
    size_t vote_count;
} fed_run_step_t;

typedef struct fed_run_t fed_run_t;

//  An empty run (no events yet). Caller owns it.
fed_run_t *fed_run_new (const char *run_id);
void fed_run_destroy (fed_run_t **self_p);

//  Adds one event of this run (takes rev; any order). Returns 1 when it
//  changed the run, 0 when it was ignored (a duplicate, or written by a
//  node that may not write it), in which case rev is destroyed.
int fed_run_add (fed_run_t *self, fed_rev_t **rev_p);

//  Loads run_id from log's view. Returns 1 with *run_p (caller owns), 0
//  when the log holds no event of that run, -1 with err.
int fed_run_load (fed_evlog_t *log, const char *run_id, fed_run_t **run_p,
                  fed_err_t *err) FED_MUST_USE;

//  The run.started record, or NULL when not held yet.
const fed_rev_t *fed_run_started (const fed_run_t *self);
//  The coordinator (run.started's origin); NULL when not held yet.
const uint8_t *fed_run_coordinator (const fed_run_t *self);
const char *fed_run_id (const fed_run_t *self);
//  The state and, when ended, the ending record (run.completed|failed|
//  cancelled), else NULL.
fed_run_state_t fed_run_state (const fed_run_t *self, const fed_rev_t **end_p);
//  The latest run.cancel_requested, or NULL.
const fed_rev_t *fed_run_cancel_request (const fed_run_t *self);
//  The step with id, or NULL when none of its events is held. Borrowed;
//  valid until the next fed_run_add.
const fed_run_step_t *fed_run_step (const fed_run_t *self, const char *id);
//  Every step with events held, in no particular order: *count_p entries
//  (the array is the caller's to free; the steps are borrowed, valid until
//  the next fed_run_add).
const fed_run_step_t **fed_run_steps (const fed_run_t *self, size_t *count_p);
//  Attempts of step that used up a retry: each failed one, and each given
//  up for silence (the attempt after it says why "timeout").
uint32_t fed_run_step_failures (const fed_run_step_t *step);
//  True for a step.decided outcome that lets the run go on ("approved",
//  "timeout_approved").
bool fed_run_approved (const char *outcome);
//  The latest attempt of step (NULL when none).
const fed_attempt_t *fed_run_step_latest (const fed_run_step_t *step);
//  The attempt numbered n of step, or NULL.
const fed_attempt_t *fed_run_step_attempt (const fed_run_step_t *step, uint32_t n);

//  --- Packing events ------------------------------------------------------------
//  Each packs a body (a msgpack map) into buffer (appended; caller owns it).
//  Strings are borrowed for the call; blobs are one msgpack object each.

void fed_rev_pack_run_started (msgpack_sbuffer *buffer, const char *run, const char *workflow,
                               const char *version, const uint8_t hash [32], const void *params,
                               size_t params_size, const uint8_t *by);
void fed_rev_pack_waiting (msgpack_sbuffer *buffer, const char *run, const char *step,
                           const char *reason);
void fed_rev_pack_assigned (msgpack_sbuffer *buffer, const char *run, const char *step,
                            uint32_t attempt, const uint8_t node [32], const char *agent,
                            const void *params, size_t params_size, uint64_t timeout_ms,
                            const char *why);
void fed_rev_pack_step_started (msgpack_sbuffer *buffer, const char *run, const char *step,
                                uint32_t attempt);
void fed_rev_pack_completed (msgpack_sbuffer *buffer, const char *run, const char *step,
                             uint32_t attempt, const void *output, size_t output_size, uint64_t ms);
void fed_rev_pack_failed (msgpack_sbuffer *buffer, const char *run, const char *step,
                          uint32_t attempt, const char *code, const char *message, uint64_t ms);
//  approvers/values: count strings each; deadline_ms < 0: none.
void fed_rev_pack_awaiting (msgpack_sbuffer *buffer, const char *run, const char *step,
                            const char *message, const char *const *approvers,
                            size_t approver_count, uint32_t min_approvals, bool forbid_submitter,
                            const char *const *values, size_t value_count, int64_t deadline_ms,
                            const char *on_timeout);
//  approve true: step.approved (value may be NULL); else step.rejected.
void fed_rev_pack_vote (msgpack_sbuffer *buffer, const char *run, const char *step,
                        const uint8_t by [32], const char *comment, const char *value);
void fed_rev_pack_decided (msgpack_sbuffer *buffer, const char *run, const char *step,
                           const char *outcome, const char *value, const uint8_t (*by) [32],
                           size_t by_count, const char *comment);
//  step.progress: done of total units (total 0: unknown), text ≤ 255 bytes.
void fed_rev_pack_progress (msgpack_sbuffer *buffer, const char *run, const char *step,
                            uint32_t attempt, uint64_t done, uint64_t total, const char *text);
void fed_rev_pack_escalated (msgpack_sbuffer *buffer, const char *run, const char *step);
//  run.cancel_requested and run.cancelled (by may be NULL for cancelled).
void fed_rev_pack_cancel (msgpack_sbuffer *buffer, const char *run, const uint8_t *by,
                          const char *reason);
void fed_rev_pack_run_completed (msgpack_sbuffer *buffer, const char *run, uint64_t ms);
void fed_rev_pack_run_failed (msgpack_sbuffer *buffer, const char *run, const char *step,
                              const char *code, const char *message);

//  --- Listing ----------------------------------------------------------------------

//  Calls each with the ids of runs, newest start first (at most limit;
//  0: all), or, active_only, of the runs not ended (in id order).
//  Non-zero from each stops. 0, -1 with err.
typedef int (fed_runs_each_fn) (void *arg, const char *run_id);
int fed_runs_scan (fed_evlog_t *log, bool active_only, size_t limit, fed_runs_each_fn *each,
                   void *arg, fed_err_t *err) FED_MUST_USE;

//  True when the view holds run_id as started and not ended (one key read;
//  false too on a storage error).
bool fed_runs_active (fed_evlog_t *log, const char *run_id);

//  True for a run id: 16 lowercase hex characters (size bytes at id).
bool fed_run_id_valid (const char *id, size_t size);

#ifdef __cplusplus
}
#endif
#endif
