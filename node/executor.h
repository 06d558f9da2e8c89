/*  node/executor.h: the workflow executor (DESIGN §8): runs workflows as
    the event log says, on the node's loop.

    It plays two parts. As a **coordinator**, for each run this node
    started, it decides: places ready steps (step.assigned), says why a
    step cannot be placed (step.waiting), retries failed attempts after
    their backoff, reassigns attempts whose node died or went silent past
    the step's timeout, opens and decides approvals (step.awaiting,
    step.decided, step.escalated), and ends the run (run.completed|failed|
    cancelled). As a **worker**, for each attempt assigned to this node, it
    runs the agent (a built-in or an external process, node/tasks.h) and
    writes step.started and step.completed|failed.

    Everything it does follows from events, read in this node's arrival
    order (the log's feed), so a restarted node resumes from its log: the
    coordinator reloads its unfinished runs and decides again from what
    they hold; the worker runs again any attempt assigned to it that it
    never reported (tasks run at least once). Only the latest attempt of a
    step counts: a result of a superseded attempt is recorded and ignored.

    Actor thread only.
*/
#ifndef FED_EXECUTOR_H_INCLUDED
#define FED_EXECUTOR_H_INCLUDED

#include <czmq.h>
#include "report.h"
#include "runs.h"
#include "util.h"

typedef struct fed_node_t fed_node_t;
typedef struct fed_executor_t fed_executor_t;

//  Starts the executor on loop and resumes the runs the log holds. node is
//  borrowed. Returns NULL with err on a storage error.
fed_executor_t *fed_executor_new (fed_node_t *node, zloop_t *loop, fed_err_t *err);
//  Accepts NULL; sets *self_p to NULL. Tasks still running keep running in
//  the pool until it stops; their results are not written.
void fed_executor_destroy (fed_executor_t **self_p);

//  The log changed: on the loop's next turn (not inside the caller's
//  append), reads the events stored since the last round and acts.
void fed_executor_log_changed (fed_executor_t *self);

//  A report of a task the executor submitted (takes report).
void fed_executor_task_report (fed_executor_t *self, fed_report_t **report_p);

//  Starts a run of name@version (version NULL or "": the latest) with
//  params (one msgpack map, or NULL) for caller: writes run.started and
//  places the first steps. On success returns 0 and fills run_id, and
//  version_out and hash_hex (65 bytes) with what runs. On failure returns
//  -1 with *code_p ("not_found", "invalid", "bad_params", "failed") and
//  err.
int fed_executor_start (fed_executor_t *self, const char *name, const char *version,
                        const uint8_t *params, size_t params_size, const uint8_t caller [32],
                        char run_id [17], char version_out [33], char hash_hex [65],
                        const char **code_p, fed_err_t *err) FED_MUST_USE;

//  Cancels run_id for caller: run.cancelled when this node coordinates
//  it (*coordinated_p true), else run.cancel_requested. Returns 0, or -1
//  with *code_p ("not_found", "already_ended", "failed") and err.
int fed_executor_cancel (fed_executor_t *self, const char *run_id, const uint8_t caller [32],
                         const char *reason, bool *coordinated_p, const char **code_p,
                         fed_err_t *err) FED_MUST_USE;

//  The run run_id as this node, its coordinator, holds it, brought up to
//  date with the log; NULL when this node does not coordinate it (or it
//  ended). Borrowed: valid until the executor runs again (the next loop
//  turn or append).
const fed_run_t *fed_executor_run (fed_executor_t *self, const char *run_id);

typedef struct {
    uint64_t runs_started;   //  by this node
    uint64_t runs_ended;     //  by this node, any outcome
    uint64_t coordinating;   //  runs this node coordinates now
    uint64_t steps_assigned; //  attempts this node assigned
    uint64_t tasks_started;  //  attempts this node ran
    uint64_t tasks_running;  //  attempts running here now
    uint64_t reassigned;     //  attempts moved off a dead or silent node
} fed_executor_stats_t;
void fed_executor_stats (fed_executor_t *self, fed_executor_stats_t *stats);

#endif
