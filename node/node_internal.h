/*  node/node_internal.h: the node's state, shared by the files that run on
    its actor thread (node.c, control.c, control_cmds.c). Not installed.
*/
#ifndef FED_NODE_INTERNAL_H_INCLUDED
#define FED_NODE_INTERNAL_H_INCLUDED

#include "node.h"
#include "trust.h"
#include "metrics.h"
#include "curve.h"
#include "agentset.h"

typedef struct fed_control_t fed_control_t;
typedef struct fed_peer_t fed_peer_t;
typedef struct fed_tasks_t fed_tasks_t;
typedef struct fed_executor_t fed_executor_t;

struct fed_node_t {
    fed_config_t *config;      //  copy of the config, owned
    fed_identity_t *identity;  //  node key, owned
    fed_identity_t *admin;     //  local operator key, owned
    fed_identity_t *agent_key; //  local external agents' key (agent.key), owned
    fed_evlog_t *log;          //  owned; the actor's while it runs
    fed_trust_t *trust;        //  the trusted set, owned; the actor's while it runs
    fed_metrics_t *metrics;    //  owned; the actor's while it runs
    fed_zap_t *zap;            //  the ZAP handler, owned
    zactor_t *actor;           //  the event loop thread, owned
    fed_control_t *control;    //  control server; made and used on the actor thread
    fed_peer_t *peer;          //  peer endpoint and membership; actor thread
    fed_tasks_t *tasks;        //  built-in agents and their worker pool; actor thread
    fed_executor_t *executor;  //  workflow runs; actor thread
    fed_agentset_t *agents;    //  the embedder's agents (fed_node_register_agent), owned;
                               //  fixed once start_called, then read by the actor
    bool start_called;         //  fed_node_start was called, even if it failed
    int64_t started_ms;        //  wall clock at start
    //  CURVE keys allowed per ZAP domain (control, peer, agents), owned
    uint8_t (*zap_domain_keys [3]) [32];
    size_t zap_domain_counts [3];
    char failure [512]; //  why the node cannot go on; set once, then failed
    int failed;         //  read and written atomically: the front end polls it
};

//  Records that the node cannot go on (a seed refused it, say) and logs
//  it; fed_node_failure reports it to the front end. Any thread; the first
//  call wins.
void fed_node_fail (fed_node_t *self, const char *format, ...)
    __attribute__ ((format (printf, 2, 3)));

//  Appends a local event and runs what follows any change to the log:
//  trust refresh for trust.* events, parked control requests answered.
//  Actor thread only. 0, or -1 with err.
int fed_node_append_local (fed_node_t *self, const char *type, const void *body, size_t size,
                           uint64_t *seq_p, uint8_t id [32], fed_err_t *err) FED_MUST_USE;

//  What follows any change to the log: a trust refresh (when trust_too, or
//  always for remote events whose types are not looked at), parked control
//  requests re-run. Actor thread only.
void fed_node_log_changed (fed_node_t *self, bool trust_too);

//  Recomputes the trusted set and brings the ZAP allow tables in line.
//  *revoked_p (if given) is true when a key lost access. 0, or -1 with err.
int fed_node_refresh_trust (fed_node_t *self, bool *revoked_p, fed_err_t *err) FED_MUST_USE;

#define FED_ZAP_CONTROL "control"
#define FED_ZAP_PEER "peer"
#define FED_ZAP_AGENTS "agents"

#endif
