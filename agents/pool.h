/*  agents/pool.h: the worker pool that runs built-in agents.

    Built-in agents run on worker threads, never on the node's event loop
    (DESIGN §9). The pool is a czmq-style actor: fed_pool_new starts one
    thread that owns all of the pool's state (the queue, the workers, their
    deadlines) and the worker threads it starts. The caller (the node's
    loop) talks to it only through this front end, from one thread:

      - fed_pool_submit hands over a task and returns its id at once; it
        never waits for the actor and never fails for bad input;
      - everything about a task comes back as reports (agents/report.h) on
        fed_pool_socket, a socket the caller adds to its zloop or zpoller
        and reads with fed_pool_recv: zero or more progress reports, then
        exactly one final report, completed or failed, per submitted id.
        Refusals are failed reports too, sent at once: code "no_agent"
        (unknown name or version), "bad_params" (params not a msgpack map
        with unique string keys), "pool_exhausted" (see lost workers).

    Timeouts. A task that runs past its timeout (the submitter's, else the
    agent's default, else the pool's) is reported failed, code "timeout", as
    soon as the actor sees the deadline pass. Its thread cannot be stopped
    safely, so the worker is marked lost: it is left to finish on its own,
    anything it reports from then on is dropped, fed_task_cancelled tells
    it to stop, and a replacement worker starts at once. When the stuck
    agent returns, its thread exits and is joined. At most max_lost workers
    may be lost at a time with a replacement; past that the pool stops
    taking tasks (every submission fails "pool_exhausted") until one comes
    back, so a hanging agent cannot make the process grow threads without
    bound. An agent that never returns keeps its thread until the process
    ends; see agent.h for what cannot be isolated in-process.

    Cancellation. fed_pool_cancel of a queued task drops it; of a running
    one, it raises the task's cancel flag (fed_task_cancelled). Either way
    the failed report, code "cancelled", goes out at once, and what the
    agent returns later is dropped. A cancelled agent that keeps running
    still holds its worker until it returns or its timeout makes it lost.

    Destroy stops the pool: queued tasks are dropped, running ones are
    cancelled and given options.stop_grace_ms to return; worker threads are
    joined. Threads still stuck after that are left behind (logged), since
    killing one would leave the process in an unknown state.
*/
#ifndef FED_POOL_H_INCLUDED
#define FED_POOL_H_INCLUDED

#include <czmq.h>
#include "agentset.h"
#include "report.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fed_pool_t fed_pool_t;

typedef struct {
    size_t size;                  //  worker threads; 0: one per online CPU
    size_t max_lost;              //  lost workers replaced before the pool stops taking tasks
    int64_t default_timeout_ms;   //  for tasks whose submitter and agent give none
    int64_t progress_interval_ms; //  at most one progress report per task this often
    int64_t stop_grace_ms;        //  destroy waits this long for running agents to return
    size_t max_output;            //  bytes of output map; more fails "output_too_large"
} fed_pool_options_t;

//  Defaults: one worker per online CPU, 4 lost workers, 1 h timeout,
//  100 ms progress interval, 2 s stop grace, 1 MiB output (the default
//  event body limit, since an output ends up in a step.completed event).
void fed_pool_options_default (fed_pool_options_t *options);

//  One task to run. Everything is copied by fed_pool_submit.
typedef struct {
    const char *agent;     //  agent name (required)
    const char *version;   //  required version, or NULL for the one registered
    const void *params;    //  one msgpack map; NULL or size 0: {}
    size_t params_size;    //  bytes in params
    const char *run;       //  the run, step and attempt, echoed in reports; may be NULL
    const char *step;      //
    uint32_t attempt;      //
    const char *workspace; //  directory the agent may use (fed_task_workspace); may be NULL
    int64_t timeout_ms;    //  0: the agent's default, else the pool's
} fed_task_spec_t;

//  Starts the pool and its workers. agents is copied: the caller keeps its
//  set. Returns NULL with err when an option is out of range (size over
//  256, a timeout, interval or grace not positive, max_output under 16) or
//  a thread cannot be started. Caller owns the pool.
fed_pool_t *fed_pool_new (const fed_agentset_t *agents, const fed_pool_options_t *options,
                          fed_err_t *err);

//  Stops the pool as described above, then frees it; reports not yet read
//  are dropped. Accepts NULL; sets *self_p to NULL.
void fed_pool_destroy (fed_pool_t **self_p);

//  Queues a task and returns its id (≥ 1, increasing). Never blocks on
//  agent work; every outcome, refusals included, arrives as reports. spec
//  must name an agent (a NULL name is a bug and aborts).
uint64_t fed_pool_submit (fed_pool_t *self, const fed_task_spec_t *spec) FED_MUST_USE;

//  Cancels task id (see above). Unknown or finished ids are ignored.
void fed_pool_cancel (fed_pool_t *self, uint64_t id);

//  The socket reports arrive on, for a zloop reader or a zpoller. Belongs
//  to the pool; read it only through fed_pool_recv.
zsock_t *fed_pool_socket (fed_pool_t *self);

//  Reads one report, waiting for it if none is ready. Returns NULL when
//  interrupted (or, a bug, if a report does not decode; logged). Caller
//  owns the report.
fed_report_t *fed_pool_recv (fed_pool_t *self);

typedef struct {
    size_t workers;      //  live worker threads, idle or busy
    size_t busy;         //  of which running a task
    size_t queued;       //  tasks waiting for a worker
    size_t lost;         //  threads stuck in tasks that timed out, not yet returned
    uint64_t submitted;  //  tasks submitted
    uint64_t completed;  //  final reports sent, by kind
    uint64_t failed;     //  (includes refusals, timeouts, cancellations)
    uint64_t timed_out;  //  of the failed, code "timeout"
    uint64_t cancelled;  //  of the failed, code "cancelled"
    uint64_t lost_total; //  workers ever lost
} fed_pool_stats_t;

//  Asks the actor for its counters (a round trip; for metrics and tests).
void fed_pool_stats (fed_pool_t *self, fed_pool_stats_t *stats);

#ifdef __cplusplus
}
#endif
#endif
