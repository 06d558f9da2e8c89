/*  node/extagents.h: the node's agent endpoint and the external agents
    connected to it (doc/protocol.md §5).

    Binds a CURVE ROUTER on listen.agents (default ipc://{data_dir}/
    agents.sock, ZAP domain "agents": keys with the agent role only), takes
    READY offers from agent processes, registers what they offer in the
    registry (kind external), sends them tasks, turns what they send back
    into the same reports the worker pool sends (agents/report.h), and
    fails their tasks over when a process goes silent or says BYE.

    Owned by the node's tasks module (node/tasks.c), which hands out task
    ids and decides between built-in and external agents. Actor thread
    only, like the rest of the node's state.
*/
#ifndef FED_EXTAGENTS_H_INCLUDED
#define FED_EXTAGENTS_H_INCLUDED

#include <czmq.h>
#include "agentset.h"
#include "pool.h"
#include "report.h"

typedef struct fed_node_t fed_node_t;
typedef struct fed_extagents_t fed_extagents_t;

//  Called with each report about an external task (progress, then one
//  final report per submitted id). The callee owns report.
typedef void (fed_extagents_report_fn) (void *arg, fed_report_t *report);

//  Binds the agent endpoint and reads it on loop. builtins (borrowed, must
//  outlive this) are the node's built-in agents, whose names no external
//  process may offer. Every report goes to on_report (arg is passed back).
//  Returns NULL with err naming the endpoint and config key.
fed_extagents_t *fed_extagents_new (fed_node_t *node, zloop_t *loop, const fed_agentset_t *builtins,
                                    fed_extagents_report_fn *on_report, void *arg, fed_err_t *err);
//  Says BYE to every ready process and unbinds. Tasks still held get no
//  more reports. Accepts NULL; sets *self_p to NULL.
void fed_extagents_destroy (fed_extagents_t **self_p);

//  Deregisters the external agents this node's previous run left in the
//  registry (no process offers them yet). 0, or -1 with err.
int fed_extagents_deregister_stale (fed_extagents_t *self, fed_err_t *err) FED_MUST_USE;

//  The endpoint bound (ipc://… or tcp://…), owned by self.
const char *fed_extagents_endpoint (fed_extagents_t *self);

//  Runs one task, numbered id by the caller (unique, never 0), on a
//  process offering spec->agent; every outcome, refusals included (code
//  "no_agent": no ready process offers it; "bad_params"), arrives as
//  reports. spec is copied.
void fed_extagents_submit (fed_extagents_t *self, uint64_t id, const fed_task_spec_t *spec);

typedef struct {
    size_t processes;     //  ready agent processes connected
    size_t running;       //  tasks on a process
    size_t queued;        //  tasks waiting for a free slot
    uint64_t submitted;   //  tasks submitted
    uint64_t completed;   //  final reports, by kind
    uint64_t failed;      //  (refusals, timeouts and agent_gone included)
    uint64_t timed_out;   //  of the failed, code "timeout"
    uint64_t failovers;   //  tasks moved off a process that went
    uint64_t gone;        //  processes forgotten after missed heartbeats
    uint64_t byes;        //  processes that said BYE
    uint64_t dropped [5]; //  messages dropped, by fed_aw_drop_t (agentwire.h)
    uint64_t refused;     //  READYs refused (conflict, limit, bad agent)
} fed_extagents_stats_t;

void fed_extagents_stats (fed_extagents_t *self, fed_extagents_stats_t *stats);

//  Packs the ready processes as an array of maps (doc/protocol.md §3.4,
//  agents.processes): label, key (Z85), slots, running, agents
//  ("name@version" each), ready_ms (wall clock), heard_ms_ago.
void fed_extagents_pack_processes (fed_extagents_t *self, msgpack_packer *pk);

#endif
