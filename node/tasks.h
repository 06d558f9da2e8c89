/*  node/tasks.h: the node's built-in agents at work. Owns the agent set
    (sys.* and any the embedding program adds) and the worker pool that
    runs them (agents/pool.h), reads the pool's reports on the node's loop,
    keeps the final report of each task until it is collected, and keeps
    the registry in line with the agents this node has: agent.registered
    for each built-in agent not registered as it is, agent.deregistered for
    one this node registered as built-in and no longer has.

    Actor thread only, like the rest of the node's state.
*/
#ifndef FED_TASKS_H_INCLUDED
#define FED_TASKS_H_INCLUDED

#include <czmq.h>
#include "pool.h"
#include "report.h"
#include "extagents.h"

typedef struct fed_node_t fed_node_t;
typedef struct fed_tasks_t fed_tasks_t;

//  Starts the pool (config agents.workers; 0: one per CPU) with sys.* and
//  the agents registered with fed_node_register_agent, and reads its
//  reports on loop. node is borrowed. Returns NULL with err.
fed_tasks_t *fed_tasks_new (fed_node_t *node, zloop_t *loop, fed_err_t *err);
//  Stops the pool (agents/pool.h says how). Accepts NULL; sets *self_p NULL.
void fed_tasks_destroy (fed_tasks_t **self_p);

//  Brings the registry in line with the built-in agents (see above).
//  0, or -1 with err when an append fails.
int fed_tasks_register_builtins (fed_tasks_t *self, fed_err_t *err) FED_MUST_USE;

//  Runs a task on the built-in agent spec->agent names, else on an external
//  agent process offering it (node/extagents.h); returns the node's id for
//  it (≥ 1, increasing). Every outcome, refusals included, arrives as a
//  report numbered with that id (fed_tasks_result).
uint64_t fed_tasks_submit (fed_tasks_t *self, const fed_task_spec_t *spec);

//  The final report of task id once it has arrived, else NULL. Borrowed:
//  valid until fed_tasks_forget (id) or, for the oldest of more than 256
//  kept, until newer tasks end.
const fed_report_t *fed_tasks_result (fed_tasks_t *self, uint64_t id);
//  The pool's counters (a round trip to its actor).
void fed_tasks_stats (fed_tasks_t *self, fed_pool_stats_t *stats);

//  The external agents' counters, and the agent endpoint bound.
void fed_tasks_external_stats (fed_tasks_t *self, fed_extagents_stats_t *stats);
const char *fed_tasks_agent_endpoint (fed_tasks_t *self);
//  The external agent processes connected (fed_extagents_pack_processes).
void fed_tasks_pack_processes (fed_tasks_t *self, msgpack_packer *pk);

//  Cancels task id when it runs on the pool (its final report still
//  arrives, "cancelled" unless it ended first). A task on an external
//  agent runs on; its result is ignored by whoever cancelled it.
void fed_tasks_cancel (fed_tasks_t *self, uint64_t id);

//  Drops the kept result of id (collected).
void fed_tasks_forget (fed_tasks_t *self, uint64_t id);

#endif
