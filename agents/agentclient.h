/*  agents/agentclient.h: the C client for external agents (doc/protocol.md §5).

    An external agent is a process of its own that runs tasks for a node
    over the agent protocol, so a crash or a hang in it cannot take the node
    down. With this client such a program is written exactly as a built-in
    agent is (agents/agent.h): it fills a fed_agentset_t with its agents and
    hands it over, and the client does the rest:

        fed_agent_client_options_t options;
        fed_agent_client_options_default (&options);
        fed_err_t err;
        if (fed_agent_client_options_from_env (&options, &err))
            ...  //  err.text names the variable that is missing or wrong
        options.slots = 4;
        fed_agent_client_t *client = fed_agent_client_new (agents, &options, &err);
        fed_agent_client_options_wipe (&options);
        ...  //  wait for SIGTERM; fed_agent_client_stats for a status line
        fed_agent_client_destroy (&client);

    The client is a czmq actor: one thread owns a CURVE DEALER connected to
    the node and a worker pool (agents/pool.h) with one worker per slot.
    It sends READY with every agent of the set, answers TASK by running the
    agent on the pool, turns the pool's reports into PROGRESS, RESULT and
    FAIL (refusals too: no_agent, bad_params), stops a task on CANCEL or
    ERROR unknown_task, sends HEARTBEAT every heartbeat_ms of the node's
    WELCOME, and keeps the offer alive across node restarts: when nothing is
    heard from the node for heartbeat_ms × liveness, no WELCOME comes within
    welcome_timeout_ms, or the node says BYE, it closes the socket, opens a
    new one and sends READY again; on ERROR not_ready it sends READY again
    on the same socket. Tasks in flight when the node forgets this process
    are cancelled, since the node has already failed them over. Frames from
    the node that do not decode are logged (at most once a minute) and
    ignored.

    Call the front end (everything below but the options helpers) from one
    thread at a time.
*/
#ifndef FED_AGENTCLIENT_H_INCLUDED
#define FED_AGENTCLIENT_H_INCLUDED

#include "agentset.h"
#include "pool.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fed_agent_client_t fed_agent_client_t;

#define FED_AGENT_CLIENT_ENDPOINT_MAX 255
#define FED_AGENT_CLIENT_LABEL_MAX 64

typedef struct {
    //  Where and who: the node's agent endpoint (ipc://… or tcp://…), its
    //  CURVE public key, and this process's CURVE keypair (32 bytes each).
    char endpoint [FED_AGENT_CLIENT_ENDPOINT_MAX + 1];
    uint8_t server_key [32];
    uint8_t public_key [32];
    uint8_t secret_key [32]; //  wipe with fed_agent_client_options_wipe when done
    //  The offer: tasks run at once (1..256, also the pool's workers), a
    //  label for the node's logs (READY name; "" for none), and where the
    //  agents work, one msgpack map as in node.started (NULL: where the
    //  node is). location is read only by fed_agent_client_new, which
    //  copies it.
    uint32_t slots;
    char label [FED_AGENT_CLIENT_LABEL_MAX + 1];
    const uint8_t *location;
    size_t location_size;
    //  Liveness until a WELCOME gives the node's own values.
    int64_t heartbeat_ms;
    uint32_t liveness;
    //  No WELCOME this long after a READY: reconnect and send it again.
    int64_t welcome_timeout_ms;
    //  Largest frame taken from the node (ZMQ_MAXMSGSIZE).
    int64_t max_message;
    //  The worker pool's options; its size is always slots.
    fed_pool_options_t pool;
} fed_agent_client_options_t;

//  Defaults: no endpoint or keys, 1 slot, no label, no location, heartbeat
//  1000 ms, liveness 3, WELCOME timeout 5 s, 4 MiB frames (the node's
//  default limits.wire_message), the pool's defaults.
void fed_agent_client_options_default (fed_agent_client_options_t *options);

//  Fills endpoint and keys from the environment `fednode agent-env` sets
//  up: FEDNODE_AGENT_ENDPOINT, FEDNODE_SERVER_KEY, FEDNODE_AGENT_SECRET and
//  FEDNODE_AGENT_PUBLIC (keys as 40 Z85 or 64 hex chars; the public key may
//  be left unset, it is then derived from the secret). Returns 0, or -1
//  with err naming the variable that is unset, too long, not a key, or (the
//  public key) not the secret's; options is then partly filled. Never puts
//  a secret in err.
int fed_agent_client_options_from_env (fed_agent_client_options_t *options,
                                       fed_err_t *err) FED_MUST_USE;

//  Zeroes the secret key in options (the client keeps its own copy).
void fed_agent_client_options_wipe (fed_agent_client_options_t *options);

//  Starts the client: its pool, its connection, and a first READY. agents
//  and options are copied; the caller keeps both. Returns NULL with err
//  when the set is empty or holds more than 64 agents, an option is out of
//  range, location is not one msgpack map nested at most 12 levels, the
//  pool cannot start, or the endpoint cannot be connected to (a malformed
//  endpoint; a node that is not up yet is no error: the client keeps
//  trying). Caller owns the client.
fed_agent_client_t *fed_agent_client_new (const fed_agentset_t *agents,
                                          const fed_agent_client_options_t *options,
                                          fed_err_t *err);

//  Sends BYE (so the node fails this process's tasks over at once), stops
//  the pool (running agents are cancelled and given the pool's stop grace),
//  closes the connection and frees the client. Accepts NULL; sets *self_p
//  to NULL.
void fed_agent_client_destroy (fed_agent_client_t **self_p);

//  Waits until the node has welcomed the current READY, at most timeout_ms.
//  Returns 0 once welcomed (at once if it already is), -1 on timeout.
int fed_agent_client_wait_ready (fed_agent_client_t *self, int64_t timeout_ms) FED_MUST_USE;

typedef struct {
    bool connected;           //  a frame came from the node on the current connection
    bool ready;               //  the node welcomed the current READY
    uint8_t node [32];        //  the node's id, from the last WELCOME (zero before)
    int64_t heartbeat_ms;     //  in force: the node's, else the option
    uint32_t liveness;        //
    uint64_t reconnects;      //  connections opened after the first
    uint64_t readies;         //  READY messages sent
    uint64_t tasks_received;  //  TASK messages taken
    uint64_t tasks_completed; //  answered RESULT
    uint64_t tasks_failed;    //  answered FAIL (agent failures, refusals, timeouts)
    uint64_t tasks_dropped;   //  cancelled, unknown to the node, or lost with a connection
    uint64_t tasks_running;   //  in the pool now
    uint64_t frames_dropped;  //  frames from the node that did not decode
} fed_agent_client_stats_t;

//  The client's counters (a round trip to its thread).
void fed_agent_client_stats (fed_agent_client_t *self, fed_agent_client_stats_t *stats);

#ifdef __cplusplus
}
#endif
#endif
