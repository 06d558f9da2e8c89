/*  node/node.h: one fednode, as a library.

    The thin synchronous front end of the node (STYLE 9, after zyre): it
    loads the identity and opens the event log from a config, then hands
    them to an actor thread that owns them and runs the node's one event
    loop. Calls here talk to that actor over its pipe with typed messages.
    A field gateway embeds a node with fed_node_new, its own agents
    (fed_node_register_agent), fed_node_start and fed_node_destroy; the
    fednode daemon is exactly that, without agents of its own, plus
    signals. doc/examples/gateway.c is such a program.

    Threads and signals. fed_node_new and fed_node_start start the node's
    threads (RocksDB's, its event loop, the worker pool, ZeroMQ's I/O
    threads); they inherit the caller's signal mask. The node installs no
    signal handler and turns off czmq's (zsys_handler_set (NULL)), so
    SIGINT and SIGTERM are the program's: one that takes them blocks them
    before fed_node_new and waits for them with sigwait, as node/fednode.c
    does. The front-end calls here are for one thread at a time, except
    fed_node_failure.
*/
#ifndef FED_NODE_H_INCLUDED
#define FED_NODE_H_INCLUDED

#include "config.h"
#include "identity.h"
#include "evlog.h"
#include "agent.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fed_node_t fed_node_t;

//  The fednode release, like "0.1.0".
const char *fed_node_version (void);

//  Loads (creating on first start) the node key and admin key in
//  config->data_dir, and opens the event log. The config is copied. Returns
//  NULL with err when the data dir, a key or the log cannot be used; the
//  message names the file and the fix. Caller owns the node.
fed_node_t *fed_node_new (const fed_config_t *config, fed_err_t *err);

//  Adds a built-in agent of the embedding program to the node, beside its
//  own sys.* agents. Call it between fed_node_new and fed_node_start: the
//  agents are fixed when the node starts. At start the node registers each
//  of them in the cluster's registry (an agent.registered event, kind
//  builtin, only when it is new or its version or capabilities changed
//  since the last start) and `agents run` can run it; an agent registered
//  at an earlier start and not at this one is deregistered.
//
//  The record is copied (name, version, description, capabilities), so
//  the caller's may be freed on return; fn and arg are kept as given.
//  fn runs on the pool's worker threads, never on the caller's or the
//  node's loop, and several tasks of one agent may run at once: arg is
//  shared by all of them, so what it points to must be guarded if tasks
//  change it, and must stay valid until fed_node_destroy returns (longer
//  if an agent can hang past its timeout: agents/agent.h says why). The
//  node never frees arg.
//
//  Returns 0, or -1 with err naming the agent and the rule it broke: the
//  node was already started (or a start was tried); the name or version is
//  not valid (agents/agent.h); fn is NULL, the timeout negative or a
//  capability not a valid name; an agent of that name was registered
//  already; or the name is in the sys.* namespace, which belongs to the
//  node's own agents. On -1 nothing was added.
int fed_node_register_agent (fed_node_t *self, const fed_agent_t *agent,
                             fed_err_t *err) FED_MUST_USE;

//  Starts the node's actor thread and records node.started. 0, or -1 with err.
int fed_node_start (fed_node_t *self, fed_err_t *err) FED_MUST_USE;

//  Stops the actor (if started), syncs and closes the log. Accepts NULL;
//  sets *self_p to NULL.
void fed_node_destroy (fed_node_t **self_p);

//  Appends a local event through the actor (or directly if not started).
//  body is one msgpack map (NULL for {}). Durable per config durability
//  when it returns 0; *seq_p (if given) receives the seq. -1 with err.
int fed_node_append (fed_node_t *self, const char *type, const void *body, size_t body_size,
                     uint64_t *seq_p, fed_err_t *err) FED_MUST_USE;

//  NULL while the node runs normally; else why it cannot go on (for
//  example: its seed refused the join token), a string owned by the node.
//  The daemon polls this and exits. Safe from any thread.
const char *fed_node_failure (fed_node_t *self);

//  The node's identity (owned by the node).
const fed_identity_t *fed_node_identity (fed_node_t *self);

//  The event log, for use before fed_node_start or after the actor stopped
//  only: while the actor runs it owns the log. NULL if misused.
fed_evlog_t *fed_node_log (fed_node_t *self);

//  The seed string other nodes use to join this one:
//  "PUBKEY@tcp://HOST:PORT", from listen.advertise, else listen.peer with a
//  wildcard host replaced by this machine's host name. Caller frees.
char *fed_node_seed_string (const fed_identity_t *identity, const fed_config_t *config);

//  The agent endpoint external agents connect to (doc/protocol.md §5):
//  config listen.agents, else ipc://{absolute data dir}/agents.sock (the
//  data dir must exist). Returns NULL with err when the ipc path would be
//  over 107 bytes or the data dir cannot be resolved. Caller frees.
char *fed_node_agent_endpoint (const fed_config_t *config, fed_err_t *err);

//  The msgpack body of this node's node.started event (name, version,
//  location, endpoints). Caller frees *body_p.
void fed_node_info_body (const fed_identity_t *identity, const fed_config_t *config,
                         uint8_t **body_p, size_t *size_p);

//  Opens the event log of a data dir without starting a node (for the
//  offline commands: log, verify, rebuild, export, import). read_only opens
//  beside a running node. Trust follows config. Caller owns both results.
fed_evlog_t *fed_node_open_log (const fed_config_t *config, bool read_only,
                                fed_identity_t **identity_p, fed_err_t *err);

#ifdef __cplusplus
}
#endif
#endif
