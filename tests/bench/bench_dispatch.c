/*  tests/bench/bench_dispatch.c: what a task costs through a running node,
    beside bare ZeroMQ round trips measured in the same run
    (doc/benchmarks.md).

    Built and run by `make bench` only; a measurement, not a test: it
    prints PASS or BELOW beside each goal and always exits 0 (1 only if
    something it measures fails outright).

    One node runs in-process (libfednode: a temp data dir, durability wal,
    the control socket on a loopback TCP port, the agent endpoint its
    default ipc socket in the data dir). Through its control socket, with
    the data dir's admin.key, the bench sends `agents.run` with params
    {"i": n} (doc/protocol.md §3.4) for two agents:

      built-in   sys.echo, run by the node's worker pool.
      external   bench.echo: sys.echo's own function under another name,
                 offered by an external agent client (agents/agentclient.h)
                 in this process, connected to the node's agent endpoint
                 with the data dir's agent.key, WINDOW slots.

    Baselines, each a bare ZeroMQ round trip with nothing done at the far
    end but answering:

      inproc     a PAIR ping-pong with an echo thread (a zactor's pipe),
                 messages of the agents.run request's size.
      tcp        a CURVE DEALER to a ROUTER echo thread over
                 tcp://127.0.0.1, the transport and socket types of the
                 control socket: the ROUTER has the node's CURVE keys in
                 ZAP domain "control" (the node's ZAP handler admits the
                 admin key there), the DEALER the admin's keys; it sends
                 the bytes of an agents.run request behind an empty
                 delimiter and gets a reply of the agents.run reply's size.
      ipc        the same over ipc in the temp dir, in ZAP domain "agents"
                 with the agent key, no delimiter: an encoded TASK out, an
                 encoded RESULT back (the hop an external task adds to the
                 built-in path).

    Latency: ROUNDS one at a time after WARMUP untimed ones, the five paths
    taking turns in blocks of BLOCK (a shared VM's cost of a wake-up changes
    from one moment to the next; all paths should see the same moments).
    The node paths go through fed_client_call, as fedctl does; each request
    (a fresh rid) is packed before the clock starts. Median and p99.

    Throughput: WINDOW requests in flight (a new one sent for each reply),
    COUNT after WARMUP untimed, on a raw CURVE DEALER with the admin key
    (fed_client_call takes one at a time). WINDOW is 4 because the node
    holds at most 4 waiting requests per key (doc/protocol.md §3.4): a
    client cannot keep more agents.run in flight on one key. The baselines
    run with the same window. Then the node's own ceiling: CLIENTS fresh
    operator keys (trust.add), a DEALER each, WINDOW in flight on each,
    MANY_COUNT built-in tasks, beside the tcp echo with the same keys and
    window.
*/
#include "benchutil.h"
#include <czmq.h>
#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sodium.h>

#include "agentclient.h"
#include "agentwire.h"
#include "client.h"
#include "config.h"
#include "ctlmsg.h"
#include "curve.h"
#include "identity.h"
#include "log.h"
#include "node.h"
#include "sys.h"

#define ROUNDS 2000
#define WARMUP 200
#define BLOCK 20
#define COUNT 4000
#define WINDOW 4 //  the node's long polls per key (node/control.c PARK_PER_KEY)
#define TIMEOUT_MS 5000
#define CLIENTS 16      //  keys for the many-clients rate
#define MANY_COUNT 8000 //  tasks in that rate
#define PORT_LOW 13000
#define PORT_HIGH 19000
//  Goals. Rate: the node's work per task (decode, role and replay checks,
//  the pool's four hand-offs, the task's report, re-running the parked
//  request) may cost it at most 4/5 of its rate next to a bare CURVE round
//  trip over the same transport. Latency: an external agent adds a
//  connection and a process of its own (its actor and pool); it may cost
//  at most as much again as the whole built-in path.
#define RATE_GOAL 0.20    //  built-in tasks/s >= this times the bare CURVE tcp rate
#define EXTERNAL_GOAL 2.0 //  external median <= this times the built-in median

enum { PATH_INPROC, PATH_TCP, PATH_IPC, PATH_BUILTIN, PATH_EXTERNAL, PATHS };

//  One measured path: where its requests go and what its replies must be.
typedef struct {
    char name [64];
    void *socket;           //  raw libzmq socket: PAIR (inproc) or CURVE DEALER; not owned
    bool delimiter;         //  an empty frame before each request, as REQ sends
    const char *agent;      //  agents.run of this agent; NULL: a baseline
    fed_client_t *client;   //  node paths, one at a time; not owned
    uint8_t *request;       //  baseline request bytes, owned
    size_t request_size;    //
    size_t reply_size;      //  baseline: the size every reply must have
    double *samples;        //  ROUNDS latencies (µs), owned
    double median, p99;     //  µs
    double rate;            //  round trips or tasks a second, WINDOW in flight
    uint64_t tasks;         //  node paths: tasks answered completed
    msgpack_sbuffer buffer; //  the next agents.run request
} path_t;

static void
s_fail (const char *what, const char *text)
{
    fprintf (stderr, "bench_dispatch: %s: %s\n", what, text);
    exit (1);
}

static int
s_remove_one (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove (path);
}

//  A loopback TCP port nobody listens on now, from *next on (in
//  PORT_LOW..PORT_HIGH, where *next started at a place picked from the
//  pid, so that benches running at once differ). Exits if none is free.
static int
s_free_port (int *next)
{
    for (int tries = 0; tries < PORT_HIGH - PORT_LOW; tries++) {
        int port = *next;
        *next = port + 1 > PORT_HIGH ? PORT_LOW : port + 1;
        zsock_t *probe = zsock_new (ZMQ_REP);
        int rc = zsock_bind (probe, "tcp://127.0.0.1:%d", port);
        zsock_destroy (&probe);
        if (rc == port)
            return port;
    }
    s_fail ("ports", "no free loopback port in 13000-19000");
    return -1;
}

//  --- Baselines: the echo threads --------------------------------------------------

//  Actor: sends back every message on its pipe until "$TERM" (raw calls).
static void
s_pair_echo (zsock_t *pipe, void *arg)
{
    (void) arg;
    zsock_signal (pipe, 0);
    void *handle = zsock_resolve (pipe);
    uint8_t message [256];
    while (true) {
        int size = zmq_recv (handle, message, sizeof message, 0);
        if (size < 0 || (size == 5 && memcmp (message, "$TERM", 5) == 0))
            break;
        if (zmq_send (handle, message, (size_t) size, 0) != size)
            break;
    }
}

typedef struct {
    const fed_identity_t *server; //  the node's identity: its CURVE keys; not owned
    const char *domain;           //  ZAP domain
    const char *endpoint;         //  to bind
    const uint8_t *reply;         //  what every answer carries; not owned
    size_t reply_size;
} router_args_t;

//  Actor: a CURVE ROUTER bound on args->endpoint (0 or -1 sent on the pipe
//  after the ready signal) answering every message with its envelope
//  (routing id, and the delimiter if there is one) and args->reply.
static void
s_router_echo (zsock_t *pipe, void *arg)
{
    router_args_t *args = (router_args_t *) arg;
    zsock_t *router = zsock_new (ZMQ_ROUTER);
    fed_socket_defaults (router, FED_CLIENT_MAX_MESSAGE);
    fed_curve_server (router, fed_identity_curve_secret (args->server),
                      fed_identity_curve_public (args->server), args->domain);
    int rc = zsock_bind (router, "%s", args->endpoint) < 0 ? -1 : 0;
    zsock_signal (pipe, 0);
    zsock_send (pipe, "i", rc);
    zmq_pollitem_t items [] = {{zsock_resolve (pipe), 0, ZMQ_POLLIN, 0},
                               {zsock_resolve (router), 0, ZMQ_POLLIN, 0}};
    void *handle = zsock_resolve (router);
    while (rc == 0 && zmq_poll (items, 2, -1) >= 0 && !(items [0].revents & ZMQ_POLLIN)) {
        //  Drain: with a window in flight several may be waiting.
        while (rc == 0) {
            zmq_msg_t parts [3];
            int count = 0, more = 1;
            for (; more && count < 3; count++) {
                zmq_msg_init (&parts [count]);
                if (zmq_msg_recv (&parts [count], handle, count ? 0 : ZMQ_DONTWAIT) < 0) {
                    zmq_msg_close (&parts [count]);
                    break;
                }
                more = zmq_msg_more (&parts [count]);
            }
            if (count == 0)
                break; //  nothing more waiting
            for (int i = 0; i < count - 1; i++)
                zmq_msg_send (&parts [i], handle, ZMQ_SNDMORE);
            zmq_msg_close (&parts [count - 1]);
            if (zmq_send (handle, args->reply, args->reply_size, 0) < 0)
                rc = -1;
        }
    }
    zsock_destroy (&router);
}

//  --- Requests and replies ----------------------------------------------------------

//  Packs agents.run {agent, params: {"i": n}, rid, exp} into path->buffer.
static void
s_pack_run (path_t *path, int64_t n)
{
    msgpack_sbuffer_clear (&path->buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &path->buffer, msgpack_sbuffer_write);
    fed_ctl_request_begin (&pk, "agents.run", 2 + 2);
    msgpack_pack_str_with_body (&pk, "agent", 5);
    msgpack_pack_str_with_body (&pk, path->agent, strlen (path->agent));
    msgpack_pack_str_with_body (&pk, "params", 6);
    msgpack_pack_map (&pk, 1);
    msgpack_pack_str_with_body (&pk, "i", 1);
    msgpack_pack_int64 (&pk, n);
    fed_client_pack_replay (&pk);
}

//  Checks an agents.run result: {task, status: "completed", elapsed_ms,
//  output}. Exits on anything else.
static void
s_check_result (path_t *path, const fed_blob_t *result)
{
    fed_mpr_t reader;
    fed_mpr_init (&reader, result->data, result->size);
    uint32_t count;
    bool completed = false;
    if (fed_mpr_map (&reader, &count))
        s_fail (path->name, "the agents.run result is not a map");
    for (uint32_t i = 0; i < count; i++) {
        const char *key, *value;
        uint32_t key_size, value_size;
        if (fed_mpr_str (&reader, &key, &key_size))
            s_fail (path->name, "the agents.run result has a key that is not a string");
        if (key_size == 6 && memcmp (key, "status", 6) == 0) {
            if (fed_mpr_str (&reader, &value, &value_size))
                s_fail (path->name, "the agents.run status is not a string");
            completed = value_size == 9 && memcmp (value, "completed", 9) == 0;
        } else if (fed_mpr_skip (&reader, NULL))
            s_fail (path->name, "the agents.run result is malformed");
    }
    if (!completed)
        s_fail (path->name, "a task did not complete");
    path->tasks++;
}

//  Sends the path's next request (for a node path, agents.run of n).
static void
s_send (path_t *path, int64_t n)
{
    const void *data = path->request;
    size_t size = path->request_size;
    if (path->agent) {
        s_pack_run (path, n);
        data = path->buffer.data;
        size = path->buffer.size;
    }
    if ((path->delimiter && zmq_send (path->socket, NULL, 0, ZMQ_SNDMORE) != 0)
        || zmq_send (path->socket, data, size, 0) != (int) size)
        s_fail (path->name, zmq_strerror (zmq_errno ()));
}

//  Receives one reply and checks it.
static void
s_recv (path_t *path)
{
    zmq_msg_t frame;
    zmq_msg_init (&frame);
    if (path->delimiter && (zmq_msg_recv (&frame, path->socket, 0) != 0 || !zmq_msg_more (&frame)))
        s_fail (path->name, "no reply within 5 s, or no delimiter before it");
    if (zmq_msg_recv (&frame, path->socket, 0) < 0)
        s_fail (path->name, "no reply within 5 s");
    if (path->agent) {
        bool ok;
        fed_blob_t result;
        char code [64], message [256];
        if (fed_ctl_reply_decode (zmq_msg_data (&frame), zmq_msg_size (&frame), &ok, &result, code,
                                  sizeof code, message, sizeof message))
            s_fail (path->name, "the reply is not a control reply");
        if (!ok)
            s_fail (path->name, message);
        s_check_result (path, &result);
    } else if (zmq_msg_size (&frame) != path->reply_size)
        s_fail (path->name, "a reply of the wrong size");
    zmq_msg_close (&frame);
}

//  One round trip (n: the task's param); returns its time in µs.
static double
s_round_trip (path_t *path, int64_t n)
{
    if (!path->client) {
        int64_t start = fed_bench_now_ns ();
        s_send (path, n);
        s_recv (path);
        return (double) (fed_bench_now_ns () - start) / 1000.0;
    }
    s_pack_run (path, n);
    uint8_t *reply;
    size_t reply_size;
    fed_blob_t result;
    char code [64];
    fed_err_t err;
    int64_t start = fed_bench_now_ns ();
    fed_client_status_t status =
        fed_client_call (path->client, path->buffer.data, path->buffer.size, TIMEOUT_MS, &reply,
                         &reply_size, &result, code, sizeof code, &err);
    int64_t end = fed_bench_now_ns ();
    if (status != FED_CLIENT_OK)
        s_fail (path->name, err.text);
    s_check_result (path, &result);
    free (reply);
    return (double) (end - start) / 1000.0;
}

//  Round trips (tasks) a second with WINDOW in flight, count in all.
static double
s_rate (path_t *path, int count)
{
    int64_t start = fed_bench_now_ns ();
    int sent = 0;
    for (; sent < WINDOW && sent < count; sent++)
        s_send (path, sent);
    for (int back = 0; back < count; back++) {
        s_recv (path);
        if (sent < count)
            s_send (path, sent++);
    }
    return (double) count / ((double) (fed_bench_now_ns () - start) / 1e9);
}

//  The same with clients connections (sockets), WINDOW in flight on each.
static double
s_rate_many (path_t *path, void **sockets, int clients, int count)
{
    zmq_pollitem_t *items = (zmq_pollitem_t *) fed_calloc (clients, sizeof (zmq_pollitem_t));
    int64_t start = fed_bench_now_ns ();
    int sent = 0, back = 0;
    for (int i = 0; i < clients; i++) {
        items [i].socket = path->socket = sockets [i];
        items [i].events = ZMQ_POLLIN;
        for (int j = 0; j < WINDOW && sent < count; j++)
            s_send (path, sent++);
    }
    while (back < count) {
        if (zmq_poll (items, clients, TIMEOUT_MS) <= 0)
            s_fail (path->name, "no reply within 5 s");
        for (int i = 0; i < clients; i++) {
            int events = 0;
            size_t size = sizeof events;
            path->socket = sockets [i];
            while (zmq_getsockopt (sockets [i], ZMQ_EVENTS, &events, &size) == 0
                   && (events & ZMQ_POLLIN)) {
                s_recv (path);
                back++;
                if (sent < count)
                    s_send (path, sent++);
            }
        }
    }
    free (items);
    return (double) count / ((double) (fed_bench_now_ns () - start) / 1e9);
}

//  Trusts identity as an operator on the node (trust.add through client).
static void
s_trust_operator (fed_client_t *client, const fed_identity_t *identity)
{
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    fed_ctl_request_begin (&pk, "trust.add", 2 + 2);
    msgpack_pack_str_with_body (&pk, "key", 3);
    msgpack_pack_bin_with_body (&pk, fed_identity_public (identity), 32);
    msgpack_pack_str_with_body (&pk, "role", 4);
    msgpack_pack_str_with_body (&pk, "operator", 8);
    fed_client_pack_replay (&pk);
    uint8_t *reply;
    size_t reply_size;
    fed_blob_t result;
    char code [64];
    fed_err_t err;
    if (fed_client_call (client, buffer.data, buffer.size, TIMEOUT_MS, &reply, &reply_size, &result,
                         code, sizeof code, &err)
        != FED_CLIENT_OK)
        s_fail ("trust.add", err.text);
    free (reply);
    msgpack_sbuffer_destroy (&buffer);
}

//  A CURVE DEALER with identity's keys to endpoint, pinning server's key.
//  Caller owns it.
static zsock_t *
s_dealer (const fed_identity_t *identity, const fed_identity_t *server, const char *endpoint)
{
    zsock_t *dealer = zsock_new (ZMQ_DEALER);
    fed_socket_defaults (dealer, FED_CLIENT_MAX_MESSAGE);
    fed_curve_client (dealer, fed_identity_curve_secret (identity),
                      fed_identity_curve_public (identity), fed_identity_curve_public (server));
    zsock_set_rcvtimeo (dealer, TIMEOUT_MS);
    if (zsock_connect (dealer, "%s", endpoint))
        s_fail ("connect", endpoint);
    return dealer;
}

//  The bytes of the TASK and RESULT of one bench.echo task, encoded as
//  the node and the agent client encode them. Caller destroys both.
static void
s_agent_messages (msgpack_sbuffer *task, msgpack_sbuffer *result)
{
    uint8_t params [8] = {0x81, 0xa1, 'i', 0x01}; //  {"i": 1}
    fed_aw_msg_t *msg = (fed_aw_msg_t *) fed_calloc (1, sizeof (fed_aw_msg_t));
    msg->type = FED_AW_TASK;
    msg->task = 1;
    snprintf (msg->agent, sizeof msg->agent, "bench.echo");
    snprintf (msg->version, sizeof msg->version, "1.0.0");
    msg->params = params;
    msg->params_size = 4;
    msg->timeout_ms = 30000;
    msgpack_sbuffer_init (task);
    fed_aw_encode (msg, task);
    memset (msg, 0, sizeof *msg);
    msg->type = FED_AW_RESULT;
    msg->task = 1;
    msg->output = params;
    msg->output_size = 4;
    msgpack_sbuffer_init (result);
    fed_aw_encode (msg, result);
    free (msg);
}

//  Starts an echo ROUTER thread on endpoint; exits if it cannot bind.
static zactor_t *
s_router_start (router_args_t *args)
{
    zactor_t *actor = zactor_new (s_router_echo, args);
    int rc = -1;
    if (zsock_recv (actor, "i", &rc) || rc)
        s_fail ("bind", args->endpoint);
    return actor;
}

static void
s_path_free (path_t *path)
{
    free (path->request);
    free (path->samples);
    msgpack_sbuffer_destroy (&path->buffer);
}

//  --- The run -----------------------------------------------------------------------

//  Everything one run holds.
typedef struct {
    char *dir;                      //  temp dir (the node's data dir and the ipc socket), owned
    char *data_dir;                 //  owned
    char *control;                  //  the node's control endpoint, owned
    char *peer;                     //  the node's peer endpoint, owned
    char *bare_tcp, *bare_ipc;      //  the baselines' endpoints, owned
    fed_config_t *config;           //  owned
    fed_node_t *node;               //  owned
    fed_identity_t *admin;          //  the data dir's admin.key, owned
    fed_identity_t *agent_key;      //  the data dir's agent.key, owned
    fed_agentset_t *sys;            //  sys.*, where bench.echo's record comes from, owned
    fed_agentset_t *offered;        //  bench.echo, owned
    fed_agent_client_t *agent;      //  the external agent, owned
    fed_client_t *client;           //  one at a time, admin key, owned
    zsock_t *control_dealer;        //  the window, admin key, owned
    zactor_t *pair_echo;            //  owned
    zactor_t *tcp_echo;             //  owned
    zactor_t *ipc_echo;             //  owned
    zsock_t *tcp_dealer;            //  admin key, owned
    zsock_t *ipc_dealer;            //  agent key, owned
    router_args_t tcp_args;         //  what the echo threads answer with
    router_args_t ipc_args;         //
    uint8_t *zeros;                 //  the tcp echo's reply, owned
    msgpack_sbuffer task;           //  an encoded TASK
    msgpack_sbuffer result;         //  an encoded RESULT (the ipc echo's reply)
    fed_identity_t *keys [CLIENTS]; //  operator keys, owned
    zsock_t *many_node [CLIENTS];   //  DEALERs with them to the node, owned
    zsock_t *many_bare [CLIENTS];   //  and to the tcp echo, owned
    double many_tcp_rate;           //  round trips/s, CLIENTS x WINDOW in flight
    double many_builtin_rate;       //  tasks/s, the same
    path_t paths [PATHS];
} bench_t;

//  Starts the node on a temp dir and free loopback ports.
static void
s_node_start (bench_t *self)
{
    const char *tmp = getenv ("TMPDIR");
    self->dir = fed_sprintf ("%s/fed-bench-dispatch-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp (self->dir))
        s_fail ("mkdtemp", strerror (errno));
    self->data_dir = fed_sprintf ("%s/node", self->dir);
    int next_port = PORT_LOW + (int) (getpid () % (PORT_HIGH - PORT_LOW));
    self->control = fed_sprintf ("tcp://127.0.0.1:%d", s_free_port (&next_port));
    self->peer = fed_sprintf ("tcp://127.0.0.1:%d", s_free_port (&next_port));
    self->bare_tcp = fed_sprintf ("tcp://127.0.0.1:%d", s_free_port (&next_port));
    self->bare_ipc = fed_sprintf ("ipc://%s/bare.sock", self->dir);
    fed_err_t err = {0};
    self->config = fed_config_new ();
    if (fed_config_set (self->config, "data_dir", self->data_dir, &err)
        || fed_config_set (self->config, "listen.control", self->control, &err)
        || fed_config_set (self->config, "listen.peer", self->peer, &err)
        || fed_config_set (self->config, "durability", "wal", &err)
        || fed_config_check (self->config, &err))
        s_fail ("config", err.text);
    self->node = fed_node_new (self->config, &err);
    if (!self->node || fed_node_start (self->node, &err))
        s_fail ("node", err.text);
    self->admin = fed_identity_open_admin (self->data_dir, NULL, &err);
    if (self->admin)
        self->agent_key = fed_identity_open_agent (self->data_dir, NULL, &err);
    if (!self->agent_key)
        s_fail ("keys", err.text);
}

//  Connects the external agent: sys.echo's function offered as bench.echo.
static void
s_agent_start (bench_t *self)
{
    fed_err_t err = {0};
    self->sys = fed_agentset_new ();
    self->offered = fed_agentset_new ();
    if (fed_sys_register (self->sys, &err))
        s_fail ("sys agents", err.text);
    fed_agent_t echo = *fed_agentset_find (self->sys, "sys.echo");
    echo.name = "bench.echo";
    if (fed_agentset_add (self->offered, &echo, &err))
        s_fail ("bench.echo", err.text);
    char *endpoint = fed_node_agent_endpoint (self->config, &err);
    if (!endpoint)
        s_fail ("agent endpoint", err.text);
    const fed_identity_t *server = fed_node_identity (self->node);
    fed_agent_client_options_t options;
    fed_agent_client_options_default (&options);
    snprintf (options.endpoint, sizeof options.endpoint, "%s", endpoint);
    memcpy (options.server_key, fed_identity_curve_public (server), 32);
    memcpy (options.public_key, fed_identity_curve_public (self->agent_key), 32);
    memcpy (options.secret_key, fed_identity_curve_secret (self->agent_key), 32);
    options.slots = WINDOW;
    snprintf (options.label, sizeof options.label, "bench_dispatch");
    self->agent = fed_agent_client_new (self->offered, &options, &err);
    fed_agent_client_options_wipe (&options);
    free (endpoint);
    if (!self->agent)
        s_fail ("agent client", err.text);
    if (fed_agent_client_wait_ready (self->agent, TIMEOUT_MS))
        s_fail ("agent client", "no WELCOME from the node within 5 s");
}

//  The two node paths, warmed up: one control client for one at a time,
//  one DEALER for the window, both with the admin key.
static void
s_node_paths (bench_t *self)
{
    fed_err_t err = {0};
    const fed_identity_t *server = fed_node_identity (self->node);
    self->client = fed_client_new (self->control, self->admin, fed_identity_public (server), &err);
    if (!self->client)
        s_fail ("control client", err.text);
    self->control_dealer = s_dealer (self->admin, server, self->control);
    path_t *builtin = &self->paths [PATH_BUILTIN], *external = &self->paths [PATH_EXTERNAL];
    snprintf (builtin->name, sizeof builtin->name, "built-in sys.echo via control");
    builtin->agent = "sys.echo";
    snprintf (external->name, sizeof external->name, "external bench.echo via control");
    external->agent = "bench.echo";
    for (int i = PATH_BUILTIN; i <= PATH_EXTERNAL; i++) {
        self->paths [i].client = self->client;
        self->paths [i].socket = zsock_resolve (self->control_dealer);
        self->paths [i].delimiter = true;
        for (int n = 0; n < WARMUP; n++)
            s_round_trip (&self->paths [i], n);
    }
}

//  The three baselines, warmed up, with the node paths' message sizes.
static void
s_baseline_paths (bench_t *self)
{
    const fed_identity_t *server = fed_node_identity (self->node);
    path_t *builtin = &self->paths [PATH_BUILTIN];
    path_t *inproc = &self->paths [PATH_INPROC], *tcp = &self->paths [PATH_TCP],
           *ipc = &self->paths [PATH_IPC];
    //  One more agents.run: its request's and its reply's sizes.
    s_pack_run (builtin, WARMUP);
    size_t request_size = builtin->buffer.size, reply_size;
    uint8_t *reply;
    fed_blob_t result;
    char code [64];
    fed_err_t err;
    if (fed_client_call (self->client, builtin->buffer.data, request_size, TIMEOUT_MS, &reply,
                         &reply_size, &result, code, sizeof code, &err)
        != FED_CLIENT_OK)
        s_fail (builtin->name, err.text);
    free (reply);

    self->pair_echo = zactor_new (s_pair_echo, NULL);
    snprintf (inproc->name, sizeof inproc->name, "baseline inproc PAIR (%zu B)", request_size);
    inproc->socket = zsock_resolve (self->pair_echo);
    inproc->request = (uint8_t *) fed_malloc (request_size);
    memcpy (inproc->request, builtin->buffer.data, request_size);
    inproc->request_size = inproc->reply_size = request_size;

    self->zeros = (uint8_t *) fed_calloc (1, reply_size);
    self->tcp_args = (router_args_t){server, "control", self->bare_tcp, self->zeros, reply_size};
    self->tcp_echo = s_router_start (&self->tcp_args);
    self->tcp_dealer = s_dealer (self->admin, server, self->bare_tcp);
    snprintf (tcp->name, sizeof tcp->name, "baseline CURVE tcp DEALER/ROUTER (%zu/%zu B)",
              request_size, reply_size);
    tcp->socket = zsock_resolve (self->tcp_dealer);
    tcp->delimiter = true;
    tcp->request = (uint8_t *) fed_malloc (request_size);
    memcpy (tcp->request, builtin->buffer.data, request_size);
    tcp->request_size = request_size;
    tcp->reply_size = reply_size;

    s_agent_messages (&self->task, &self->result);
    self->ipc_args = (router_args_t){server, "agents", self->bare_ipc,
                                     (const uint8_t *) self->result.data, self->result.size};
    self->ipc_echo = s_router_start (&self->ipc_args);
    self->ipc_dealer = s_dealer (self->agent_key, server, self->bare_ipc);
    snprintf (ipc->name, sizeof ipc->name, "baseline CURVE ipc DEALER/ROUTER (%zu/%zu B)",
              self->task.size, self->result.size);
    ipc->socket = zsock_resolve (self->ipc_dealer);
    ipc->request = (uint8_t *) fed_malloc (self->task.size);
    memcpy (ipc->request, self->task.data, self->task.size);
    ipc->request_size = self->task.size;
    ipc->reply_size = self->result.size;
    for (int i = PATH_INPROC; i <= PATH_IPC; i++)
        for (int n = 0; n < WARMUP; n++)
            s_round_trip (&self->paths [i], n);
}

//  CLIENTS operator keys, each with a DEALER to the node and one to the
//  tcp echo; tasks/s and round trips/s with WINDOW in flight on each.
static void
s_many_clients (bench_t *self)
{
    const fed_identity_t *server = fed_node_identity (self->node);
    void *node_sockets [CLIENTS], *bare_sockets [CLIENTS];
    for (int i = 0; i < CLIENTS; i++) {
        self->keys [i] = fed_identity_generate ();
        s_trust_operator (self->client, self->keys [i]);
    }
    for (int i = 0; i < CLIENTS; i++) {
        self->many_node [i] = s_dealer (self->keys [i], server, self->control);
        self->many_bare [i] = s_dealer (self->keys [i], server, self->bare_tcp);
        node_sockets [i] = zsock_resolve (self->many_node [i]);
        bare_sockets [i] = zsock_resolve (self->many_bare [i]);
    }
    path_t *tcp = &self->paths [PATH_TCP], *builtin = &self->paths [PATH_BUILTIN];
    void *tcp_socket = tcp->socket, *builtin_socket = builtin->socket;
    s_rate_many (tcp, bare_sockets, CLIENTS, WARMUP * CLIENTS);
    self->many_tcp_rate = s_rate_many (tcp, bare_sockets, CLIENTS, MANY_COUNT);
    s_rate_many (builtin, node_sockets, CLIENTS, WARMUP * CLIENTS);
    self->many_builtin_rate = s_rate_many (builtin, node_sockets, CLIENTS, MANY_COUNT);
    tcp->socket = tcp_socket;
    builtin->socket = builtin_socket;
}

static const char *
s_verdict (bool met)
{
    return met ? "PASS" : "BELOW";
}

static void
s_print (bench_t *self)
{
    path_t *paths = self->paths;
    path_t *inproc = &paths [PATH_INPROC], *tcp = &paths [PATH_TCP], *ipc = &paths [PATH_IPC];
    path_t *builtin = &paths [PATH_BUILTIN], *external = &paths [PATH_EXTERNAL];
    printf ("latency: %d one at a time after %d warm-up, the five taking turns in blocks of %d\n",
            ROUNDS, WARMUP, BLOCK);
    for (int i = 0; i < PATHS; i++) {
        printf ("%-46s median %7.1f us  p99 %7.1f us", paths [i].name, paths [i].median,
                paths [i].p99);
        if (i == PATH_BUILTIN)
            printf ("  ratio to tcp %5.2f, to inproc %6.1f", builtin->median / tcp->median,
                    builtin->median / inproc->median);
        else if (i == PATH_EXTERNAL) {
            double ratio = external->median / builtin->median;
            printf ("  ratio to built-in %4.2f  goal <= %.1f %s; adds %.0f us = %.1f x ipc", ratio,
                    EXTERNAL_GOAL, s_verdict (ratio <= EXTERNAL_GOAL),
                    external->median - builtin->median,
                    (external->median - builtin->median) / ipc->median);
        }
        printf ("\n");
    }
    printf ("throughput: %d in flight on one connection, %d after %d warm-up\n", WINDOW, COUNT,
            WARMUP);
    for (int i = 0; i < PATHS; i++) {
        printf ("%-46s %9.0f %s", paths [i].name, paths [i].rate,
                paths [i].agent ? "tasks/s      " : "round trips/s");
        if (i == PATH_BUILTIN) {
            double ratio = builtin->rate / tcp->rate;
            printf ("  ratio to tcp %5.3f, to inproc %5.3f  goal >= %.2f x tcp %s", ratio,
                    builtin->rate / inproc->rate, RATE_GOAL, s_verdict (ratio >= RATE_GOAL));
        } else if (i == PATH_EXTERNAL)
            printf ("  ratio to built-in %4.2f, to ipc %5.3f", external->rate / builtin->rate,
                    external->rate / ipc->rate);
        printf ("\n");
    }
    printf ("throughput: %d keys x %d in flight, %d after %d warm-up\n", CLIENTS, WINDOW,
            MANY_COUNT, WARMUP * CLIENTS);
    printf ("%-46s %9.0f round trips/s\n", "baseline CURVE tcp DEALER/ROUTER", self->many_tcp_rate);
    printf ("%-46s %9.0f tasks/s        ratio to tcp %5.3f\n", "built-in sys.echo via control",
            self->many_builtin_rate, self->many_builtin_rate / self->many_tcp_rate);
    fflush (stdout);
}

//  Stops everything and removes the temp dir.
static void
s_teardown (bench_t *self)
{
    for (int i = 0; i < CLIENTS; i++) {
        zsock_destroy (&self->many_node [i]);
        zsock_destroy (&self->many_bare [i]);
        fed_identity_destroy (&self->keys [i]);
    }
    zsock_destroy (&self->ipc_dealer);
    zactor_destroy (&self->ipc_echo);
    zsock_destroy (&self->tcp_dealer);
    zactor_destroy (&self->tcp_echo);
    zactor_destroy (&self->pair_echo);
    zsock_destroy (&self->control_dealer);
    fed_client_destroy (&self->client);
    fed_agent_client_destroy (&self->agent);
    fed_node_destroy (&self->node);
    for (int i = 0; i < PATHS; i++)
        s_path_free (&self->paths [i]);
    msgpack_sbuffer_destroy (&self->task);
    msgpack_sbuffer_destroy (&self->result);
    free (self->zeros);
    fed_agentset_destroy (&self->offered);
    fed_agentset_destroy (&self->sys);
    fed_identity_destroy (&self->agent_key);
    fed_identity_destroy (&self->admin);
    fed_config_destroy (&self->config);
    if (nftw (self->dir, s_remove_one, 16, FTW_DEPTH | FTW_PHYS))
        fprintf (stderr, "bench_dispatch: cannot remove %s\n", self->dir);
    free (self->bare_ipc);
    free (self->bare_tcp);
    free (self->peer);
    free (self->control);
    free (self->data_dir);
    free (self->dir);
}

int
main (void)
{
    if (sodium_init () < 0)
        return 1;
    fed_log_set_level (FED_LOG_WARN);
    bench_t *self = (bench_t *) fed_calloc (1, sizeof (bench_t));
    for (int i = 0; i < PATHS; i++) {
        self->paths [i].samples = (double *) fed_calloc (ROUNDS, sizeof (double));
        msgpack_sbuffer_init (&self->paths [i].buffer);
    }
    s_node_start (self);
    s_agent_start (self);
    s_node_paths (self);
    s_baseline_paths (self);
    printf ("bench_dispatch: agents.run {\"i\": n} through a node in-process (durability wal); "
            "control: CURVE over tcp://127.0.0.1; external agent: this process, CURVE over ipc, "
            "%d slots\n",
            WINDOW);
    fflush (stdout);

    //  Latency, taking turns.
    for (int block = 0; block < ROUNDS / BLOCK; block++)
        for (int i = 0; i < PATHS; i++)
            for (int n = block * BLOCK; n < (block + 1) * BLOCK; n++)
                self->paths [i].samples [n] = s_round_trip (&self->paths [i], n);
    for (int i = 0; i < PATHS; i++)
        fed_bench_stats (self->paths [i].samples, ROUNDS, &self->paths [i].median,
                         &self->paths [i].p99);

    //  Throughput, each after its own warm-up.
    for (int i = 0; i < PATHS; i++) {
        s_rate (&self->paths [i], WARMUP);
        self->paths [i].rate = s_rate (&self->paths [i], COUNT);
    }
    s_many_clients (self);
    s_print (self);

    //  Every external task the node answered, the agent ran.
    fed_agent_client_stats_t stats;
    fed_agent_client_stats (self->agent, &stats);
    uint64_t answered = self->paths [PATH_EXTERNAL].tasks;
    if (stats.tasks_completed != answered || stats.tasks_failed || stats.tasks_dropped)
        fprintf (stderr,
                 "bench_dispatch: the agent completed %" PRIu64 " tasks (failed %" PRIu64
                 ", dropped %" PRIu64 "); the node answered %" PRIu64 " completed\n",
                 stats.tasks_completed, stats.tasks_failed, stats.tasks_dropped, answered);
    s_teardown (self);
    free (self);
    return 0;
}
