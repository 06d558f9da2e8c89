/*  agents/task_internal.h: the task object behind agents/agent.h, as the
    pool and its workers see it. Not installed.

    Ownership moves with the task: fed_pool_submit creates it and hands it
    to the pool actor (through the actor's pipe), the actor queues it and
    hands it to one worker thread (through that worker's pipe), and the
    worker destroys it when the agent has returned. Only its holder touches
    it. The one thing shared is the worker it runs on (its cancel flag and
    state, agents/worker.h), which outlives the task.
*/
#ifndef FED_TASK_INTERNAL_H_INCLUDED
#define FED_TASK_INTERNAL_H_INCLUDED

#include "agent.h"
#include "pool.h"
#include "worker.h"

#define FED_TASK_MAX_TEXT 255     //  progress text bytes
#define FED_TASK_MAX_MESSAGE 1023 //  failure message bytes
#define FED_TASK_MAX_CODE 63      //  failure code chars

//  One key of the output map and its packed value.
typedef struct {
    char *key;      //  owned
    uint8_t *value; //  one msgpack object, owned
    size_t size;    //  bytes in value
} fed_task_out_t;

struct fed_task_t {
    //  Identity, fixed at submission.
    uint64_t id;   //  the pool's id
    char *agent;   //  agent name asked for, owned
    char *version; //  version asked for, owned; NULL for any
    char *run;     //  owned, never NULL
    char *step;    //  owned, never NULL
    uint32_t attempt;
    char *workspace; //  owned, never NULL

    //  Params: one msgpack map, owned (checked by fed_task_check_params).
    uint8_t *params;
    size_t params_size;

    //  Set by the actor before the task runs.
    fed_agent_fn fn;              //  the agent's entry point
    void *arg;                    //  its record's arg
    int64_t timeout_ms;           //  effective timeout
    int64_t progress_interval_ms; //  from the pool options
    size_t max_output;            //  from the pool options
    int64_t started_ms;           //  monotonic, when handed to a worker

    //  While running: only the worker thread touches these.
    fed_worker_t *worker; //  the worker running it, not owned
    fed_task_out_t *out;  //  output entries, in order first set
    size_t out_count;
    size_t out_capacity;
    char **strings; //  copies handed out by fed_task_param_str, owned
    size_t string_count;
    size_t string_capacity;
    int64_t progress_sent_ms; //  when the last progress report went out (0: none yet)
    bool progress_held;       //  a report is held back by the rate limit
    uint64_t held_done;       //  the held report
    uint64_t held_total;
    char held_text [FED_TASK_MAX_TEXT + 1];
    bool failed;                             //  fed_task_fail was called
    char code [FED_TASK_MAX_CODE + 1];       //  its code
    char message [FED_TASK_MAX_MESSAGE + 1]; //  its message
};

//  A task from spec (everything copied), id as given. Caller owns it.
fed_task_t *fed_task_new (uint64_t id, const fed_task_spec_t *spec);
//  Accepts NULL; sets *self_p to NULL.
void fed_task_destroy (fed_task_t **self_p);

//  Checks the params: one msgpack map within fed_mp_default_limits, keys
//  strings, no key twice. Returns 0, or -1 with the reason in why.
int fed_task_check_params (const fed_task_t *self, char *why, size_t why_size) FED_MUST_USE;

//  The identity fields every report about this task carries.
void fed_task_head (const fed_task_t *self, int64_t now_ms, fed_report_head_t *head);

//  Runs the agent on the calling (worker) thread, then packs the task's
//  final report into report (completed, or failed with the agent's code,
//  "agent_error" or "output_too_large"). A progress report held back by
//  the rate limit is sent first. Returns true if the report says completed.
bool fed_task_execute (fed_task_t *self, fed_worker_t *worker, msgpack_sbuffer *report);

#endif
