/*  tests/bench/bench_workflow.c: what the workflow executor costs per step,
    and how long a person's approval takes to move a run on, each beside a
    baseline measured in the same run (doc/benchmarks.md).

    Built and run by `make bench` only; a measurement, not a test: it prints
    PASS or FAIL beside each goal and exits 0 (1 only if a node it starts
    fails, or a run it times does not complete).

    Every node is a real `fednode run` process (benchnode.c) on loopback
    ports in PORT_LOW..PORT_HIGH, durability wal unless a figure says sync;
    the bench talks to it over the control socket with the data dir's
    admin.key. Workflows are generated here and published with
    workflow.publish; every step is the built-in sys.echo with a constant
    `with` (no ${...} references).

      steps      a CHAIN-step chain (each step needs the one before) and a
                 WIDE-wide fan-out (WIDE independent steps, then one join
                 step that needs them all), timed from the run.start request
                 to the run.wait reply that says completed, as steps/s; the
                 median of STEP_RUNS runs. On
                 one node (wal; the chain under sync too) and on three
                 nodes joined through a seed, the run started on the first.
      baseline   BASE_CALLS agents.run of sys.echo, one after another,
                 through the same node's control socket: what a step costs
                 with no workflow machinery, as a client driving the agent
                 itself would pay. The ratio is workflow steps/s over these
                 calls/s: above 1, the executor runs a step faster than a
                 client round trip could.
      approval   GATE_RUNS runs of `gate` (hitl, no agent) -> `next`
                 (sys.echo) on one node. Each run is started, its gate seen
                 in `approvals`; a second connection parks events.tail
                 (type step.started, after the current end) and proves it
                 parked (a status request behind it on the same connection
                 answers first); then `approve` is sent on a third and both
                 replies are timestamped as they arrive (one zmq_poll over
                 both): (a) approve -> its reply, (b) approve -> the long
                 poll returning next's step.started.
      raw        a bare CURVE REQ/REP pair over tcp://127.0.0.1 in this
                 process: the node's CURVE keys in ZAP domain "control"
                 (a ZAP handler here admits the admin key), the approve
                 request's bytes out and a reply of the approve reply's
                 size back; RAW_PER_RUN after each approval run, so both
                 see the same moments of a shared machine. Beside them,
                 for scale, one events.publish per run on the approve's
                 connection: a command that appends one event.
*/
#include "benchutil.h"
#include "benchnode.h"
#include "benchecho.h"

#include <czmq.h>
#include <errno.h>
#include <ftw.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctlmsg.h"
#include "curve.h"
#include "log.h"

#define CHAIN 1000
#define WIDE 1000
#define BASE_CALLS 1000
#define GATE_RUNS 200
#define STEP_RUNS 3 //  runs of each step figure; the median is reported
#define GATE_WARMUP 10
#define RAW_PER_RUN 10
#define RUN_LIMIT_MS 30000 //  a run still going then is cancelled and reported cut off
#define CALL_MS 10000
#define TAIL_WAIT_MS 5000
#define PORT_LOW 45000
#define PORT_HIGH 45999
#define NODES 5 //  one (wal), one (sync), a, b, c
//  Goals (the issue's): the approver's reply at most 3 raw round trips
//  (median, wal); the next step started within 2 ms median, 10 ms p99.
#define APPROVE_GOAL 3.0
#define STARTED_MEDIAN_GOAL_MS 2.0
#define STARTED_P99_GOAL_MS 10.0

typedef struct {
    char *fednode;                  //  the real fednode binary, owned
    char *work;                     //  temp dir of data dirs, configs and logs, owned
    char *wal_config, *sync_config; //  config files, owned
    bench_node_t nodes [NODES];     //  one, sync, a, b, c
    int raw_port;                   //  the bare REQ/REP pair's port
} wf_t;

//  One timed run.
typedef struct {
    double steps_per_s;
    double seconds;
    size_t steps;
    uint64_t events; //  events the coordinator stored meanwhile
    char run [17];
} timed_t;

static void
s_fail (const char *what, const char *text)
{
    fprintf (stderr, "bench_workflow: %s: %s\n", what, text);
    exit (1);
}

static int
s_remove_one (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void) st;
    (void) flag;
    (void) ftw;
    return remove (path);
}

//  --- Control calls --------------------------------------------------------------

//  Sends request (destroyed here): 0 with *result reading the result, which
//  lives in *reply_p (caller frees it), or -1 with the refusal printed.
static int
s_call (fed_client_t *client, msgpack_sbuffer *request, int timeout_ms, uint8_t **reply_p,
        fed_mpr_t *result)
{
    size_t size;
    fed_blob_t blob;
    char code [64] = "";
    fed_err_t err = {0};
    fed_client_status_t status = fed_client_call (client, request->data, request->size, timeout_ms,
                                                  reply_p, &size, &blob, code, sizeof code, &err);
    msgpack_sbuffer_destroy (request);
    if (status != FED_CLIENT_OK) {
        fprintf (stderr, "bench_workflow: call refused: %s %s\n", code, err.text);
        return -1;
    }
    fed_mpr_init (result, blob.data, blob.size);
    return 0;
}

//  In the map at *reader (not moved): key's value as text (0), or -1.
static int
s_map_str (const fed_mpr_t *reader, const char *key, char *text, size_t size)
{
    fed_mpr_t at = *reader;
    uint32_t count, length;
    const char *value;
    if (fed_mpr_map (&at, &count) || bench_find (&at, count, key)
        || fed_mpr_str (&at, &value, &length) || length >= size)
        return -1;
    memcpy (text, value, length);
    text [length] = 0;
    return 0;
}

//  The same for an unsigned integer.
static int
s_map_uint (const fed_mpr_t *reader, const char *key, uint64_t *value)
{
    fed_mpr_t at = *reader;
    uint32_t count;
    return fed_mpr_map (&at, &count) || bench_find (&at, count, key) || fed_mpr_uint (&at, value)
        ? -1
        : 0;
}

static int
s_publish (fed_client_t *client, const char *yaml)
{
    msgpack_sbuffer request;
    msgpack_packer pk;
    bench_request (&request, &pk, "workflow.publish", 3);
    bench_pack_str (&pk, "yaml");
    bench_pack_str (&pk, yaml);
    fed_client_pack_replay (&pk);
    uint8_t *reply = NULL;
    fed_mpr_t result;
    int rc = s_call (client, &request, CALL_MS, &reply, &result);
    free (reply);
    return rc;
}

//  run.start of workflow; run receives its id. Returns 0 or -1.
static int
s_start (fed_client_t *client, const char *workflow, char run [17])
{
    msgpack_sbuffer request;
    msgpack_packer pk;
    bench_request (&request, &pk, "run.start", 3);
    bench_pack_str (&pk, "workflow");
    bench_pack_str (&pk, workflow);
    fed_client_pack_replay (&pk);
    uint8_t *reply = NULL;
    fed_mpr_t result;
    int rc = s_call (client, &request, CALL_MS, &reply, &result) == 0
            && s_map_str (&result, "run", run, 17) == 0
        ? 0
        : -1;
    free (reply);
    return rc;
}

//  run.wait until the run ends or limit_ms pass; state receives its last
//  state and *done its completed steps. Returns 0, or -1 (no answer).
static int
s_wait (fed_client_t *client, const char *run, int limit_ms, char state [16], uint64_t *done)
{
    int64_t deadline = bench_now_ns () + (int64_t) limit_ms * 1000000;
    snprintf (state, 16, "running");
    while (strcmp (state, "running") == 0 && !bench_interrupted) {
        int64_t left_ms = (deadline - bench_now_ns ()) / 1000000;
        if (left_ms <= 0)
            return 0;
        msgpack_sbuffer request;
        msgpack_packer pk;
        bench_request (&request, &pk, "run.wait", 2);
        bench_pack_str (&pk, "run");
        bench_pack_str (&pk, run);
        bench_pack_str (&pk, "wait_ms");
        msgpack_pack_uint64 (&pk, (uint64_t) (left_ms < 30000 ? left_ms : 30000));
        uint8_t *reply = NULL;
        fed_mpr_t result;
        int rc = s_call (client, &request, (int) left_ms + CALL_MS, &reply, &result) == 0
                && s_map_str (&result, "state", state, 16) == 0
                && s_map_uint (&result, "done", done) == 0
            ? 0
            : -1;
        free (reply);
        if (rc)
            return -1;
    }
    return 0;
}

static void
s_cancel (fed_client_t *client, const char *run)
{
    msgpack_sbuffer request;
    msgpack_packer pk;
    bench_request (&request, &pk, "run.cancel", 4);
    bench_pack_str (&pk, "run");
    bench_pack_str (&pk, run);
    bench_pack_str (&pk, "reason");
    bench_pack_str (&pk, "bench_workflow: past its time limit");
    fed_client_pack_replay (&pk);
    uint8_t *reply = NULL;
    fed_mpr_t result;
    if (s_call (client, &request, CALL_MS, &reply, &result))
        fprintf (stderr, "bench_workflow: could not cancel run %s\n", run);
    free (reply);
}

//  Hosts of agent the node lists as available (agents.list).
static size_t
s_hosts (fed_client_t *client, const char *agent)
{
    msgpack_sbuffer request;
    msgpack_packer pk;
    bench_request (&request, &pk, "agents.list", 1);
    bench_pack_str (&pk, "name");
    bench_pack_str (&pk, agent);
    uint8_t *reply = NULL;
    fed_mpr_t result;
    uint32_t count = 0;
    size_t hosts = 0;
    if (s_call (client, &request, CALL_MS, &reply, &result) == 0
        && fed_mpr_array (&result, &count) == 0)
        for (uint32_t i = 0; i < count; i++) {
            char status [32];
            if (s_map_str (&result, "status", status, sizeof status) == 0)
                hosts += strcmp (status, "available") == 0;
            if (fed_mpr_skip (&result, NULL))
                break;
        }
    free (reply);
    return hosts;
}

//  BASE_CALLS agents.run of sys.echo one after another: calls/s, or 0.
static double
s_agents_rate (fed_client_t *client)
{
    int64_t start = bench_now_ns ();
    for (int i = 0; i < BASE_CALLS; i++) {
        msgpack_sbuffer request;
        msgpack_packer pk;
        bench_request (&request, &pk, "agents.run", 4);
        bench_pack_str (&pk, "agent");
        bench_pack_str (&pk, "sys.echo");
        bench_pack_str (&pk, "params");
        msgpack_pack_map (&pk, 1);
        bench_pack_str (&pk, "i");
        msgpack_pack_int64 (&pk, i);
        fed_client_pack_replay (&pk);
        uint8_t *reply = NULL;
        fed_mpr_t result;
        char status [16] = "";
        int rc = s_call (client, &request, CALL_MS, &reply, &result) == 0
            ? s_map_str (&result, "status", status, sizeof status)
            : -1;
        free (reply);
        if (rc || strcmp (status, "completed") != 0)
            return 0;
    }
    return (double) BASE_CALLS * 1e9 / (double) (bench_now_ns () - start);
}

//  --- Workflows --------------------------------------------------------------------

//  The chain: s0 <- s1 <- ... (each needs the one before). Caller frees.
static char *
s_chain_yaml (const char *name, size_t steps)
{
    size_t room = 256 + steps * 80;
    char *yaml = (char *) fed_malloc (room);
    size_t used = (size_t) snprintf (yaml, room, "name: %s\nversion: \"1\"\nsteps:\n", name);
    used += (size_t) snprintf (yaml + used, room - used,
                               "  - {id: s0, agent: sys.echo, with: {i: 0}}\n");
    for (size_t i = 1; i < steps; i++)
        used += (size_t) snprintf (
            yaml + used, room - used,
            "  - {id: s%zu, agent: sys.echo, needs: [s%zu], with: {i: %zu}}\n", i, i - 1, i);
    return yaml;
}

//  The fan-out: f0 .. f(wide-1), independent, then `join` needing them all.
static char *
s_fan_yaml (const char *name, size_t wide)
{
    size_t room = 256 + wide * 80;
    char *yaml = (char *) fed_malloc (room);
    size_t used = (size_t) snprintf (yaml, room, "name: %s\nversion: \"1\"\nsteps:\n", name);
    for (size_t i = 0; i < wide; i++)
        used += (size_t) snprintf (yaml + used, room - used,
                                   "  - {id: f%zu, agent: sys.echo, with: {i: %zu}}\n", i, i);
    used += (size_t) snprintf (yaml + used, room - used,
                               "  - id: join\n    agent: sys.echo\n    needs: [");
    for (size_t i = 0; i < wide; i++)
        used += (size_t) snprintf (yaml + used, room - used, "%sf%zu", i ? ", " : "", i);
    snprintf (yaml + used, room - used, "]\n");
    return yaml;
}

static const char *S_GATE_YAML = "name: bench.gate\n"
                                 "version: \"1\"\n"
                                 "steps:\n"
                                 "  - id: gate\n"
                                 "    hitl: true\n"
                                 "  - id: next\n"
                                 "    agent: sys.echo\n"
                                 "    needs: [gate]\n"
                                 "    with: {ok: true}\n";

//  Publishes the bench's workflows on node (each once; the same text again
//  writes nothing). Exits on a refusal.
static void
s_publish_all (bench_node_t *node)
{
    char *chain = s_chain_yaml ("bench.chain", CHAIN);
    char *fan = s_fan_yaml ("bench.fan", WIDE);
    char *warm = s_chain_yaml ("bench.warm", 10);
    if (s_publish (node->client, chain) || s_publish (node->client, fan)
        || s_publish (node->client, warm) || s_publish (node->client, S_GATE_YAML))
        s_fail ("workflow.publish", "refused (see above)");
    free (chain);
    free (fan);
    free (warm);
}

//  Starts workflow on node and waits for its end: 0 with *timed filled, or
//  -1 (it failed, or was cut off at RUN_LIMIT_MS and cancelled).
static int
s_timed_run (bench_node_t *node, const char *workflow, size_t steps, timed_t *timed)
{
    memset (timed, 0, sizeof *timed);
    uint64_t before = 0, after = 0, done = 0;
    char state [16];
    if (bench_events (node->client, &before))
        return -1;
    int64_t start = bench_now_ns ();
    if (s_start (node->client, workflow, timed->run)
        || s_wait (node->client, timed->run, RUN_LIMIT_MS, state, &done))
        return -1;
    int64_t end = bench_now_ns ();
    if (bench_events (node->client, &after))
        return -1;
    timed->steps = steps;
    timed->seconds = (double) (end - start) / 1e9;
    timed->steps_per_s = (double) steps / timed->seconds;
    timed->events = after - before;
    if (strcmp (state, "completed") == 0 && done == steps)
        return 0;
    fprintf (stderr, "bench_workflow: %s run %s on %s: %s after %.1f s, %llu of %zu steps done\n",
             workflow, timed->run, node->name, state, timed->seconds, (unsigned long long) done,
             steps);
    if (strcmp (state, "running") == 0)
        s_cancel (node->client, timed->run);
    return -1;
}

static int
s_compare_timed (const void *a, const void *b)
{
    double x = ((const timed_t *) a)->steps_per_s, y = ((const timed_t *) b)->steps_per_s;
    return x < y ? -1 : x > y;
}

//  STEP_RUNS timed runs of workflow; *timed receives the median one (by
//  steps/s). Returns 0, or -1 if any failed.
static int
s_timed_median (bench_node_t *node, const char *workflow, size_t steps, timed_t *timed)
{
    timed_t runs [STEP_RUNS];
    for (int i = 0; i < STEP_RUNS; i++)
        if (s_timed_run (node, workflow, steps, &runs [i]))
            return -1;
    qsort (runs, STEP_RUNS, sizeof (timed_t), s_compare_timed);
    *timed = runs [STEP_RUNS / 2];
    return 0;
}

//  How many of run's steps ran on each of names (run.show node_name).
static void
s_spread (fed_client_t *client, const char *run, const char **names, size_t *counts, size_t n)
{
    memset (counts, 0, n * sizeof (size_t));
    msgpack_sbuffer request;
    msgpack_packer pk;
    bench_request (&request, &pk, "run.show", 1);
    bench_pack_str (&pk, "run");
    bench_pack_str (&pk, run);
    uint8_t *reply = NULL;
    fed_mpr_t result;
    uint32_t fields, steps;
    if (s_call (client, &request, CALL_MS, &reply, &result) == 0
        && fed_mpr_map (&result, &fields) == 0) {
        //  "steps" is both a count (summary) and an array (run map): the
        //  array is the one wanted.
        for (uint32_t f = 0; f < fields; f++) {
            const char *key;
            uint32_t size;
            if (fed_mpr_str (&result, &key, &size))
                break;
            if (size == 5 && memcmp (key, "steps", 5) == 0
                && fed_mpr_peek (&result) == FED_MP_ARRAY) {
                if (fed_mpr_array (&result, &steps))
                    break;
                for (uint32_t s = 0; s < steps; s++) {
                    char name [64];
                    if (s_map_str (&result, "node_name", name, sizeof name) == 0)
                        for (size_t i = 0; i < n; i++)
                            counts [i] += strcmp (name, names [i]) == 0;
                    if (fed_mpr_skip (&result, NULL))
                        break;
                }
                break;
            }
            if (fed_mpr_skip (&result, NULL))
                break;
        }
    }
    free (reply);
}

//  --- Approvals: raw connections ----------------------------------------------------

//  A CURVE DEALER with the admin's keys to the node's control socket.
static zsock_t *
s_dealer (const fed_identity_t *admin, const fed_identity_t *server, int port)
{
    zsock_t *dealer = zsock_new (ZMQ_DEALER);
    fed_socket_defaults (dealer, FED_CLIENT_MAX_MESSAGE);
    fed_curve_client (dealer, fed_identity_curve_secret (admin), fed_identity_curve_public (admin),
                      fed_identity_curve_public (server));
    zsock_set_rcvtimeo (dealer, TAIL_WAIT_MS + CALL_MS);
    if (zsock_connect (dealer, "tcp://127.0.0.1:%d", port) < 0)
        s_fail ("dealer", zmq_strerror (zmq_errno ()));
    return dealer;
}

//  Sends request (not destroyed) behind an empty delimiter, as REQ would.
static void
s_send (zsock_t *dealer, const msgpack_sbuffer *request)
{
    void *handle = zsock_resolve (dealer);
    if (zmq_send (handle, NULL, 0, ZMQ_SNDMORE) != 0
        || zmq_send (handle, request->data, request->size, 0) != (int) request->size)
        s_fail ("send", zmq_strerror (zmq_errno ()));
}

//  Receives one reply (delimiter, frame): 0 with *ok and *result borrowed
//  from frame (caller closes it), or -1 (none within the socket's timeout).
static int
s_recv (zsock_t *dealer, zmq_msg_t *frame, bool *ok, fed_mpr_t *result)
{
    void *handle = zsock_resolve (dealer);
    fed_blob_t blob;
    char code [64], message [256];
    if (zmq_msg_recv (frame, handle, 0) != 0 || !zmq_msg_more (frame)
        || zmq_msg_recv (frame, handle, 0) < 0)
        return -1;
    if (fed_ctl_reply_decode (zmq_msg_data (frame), zmq_msg_size (frame), ok, &blob, code,
                              sizeof code, message, sizeof message))
        return -1;
    if (!*ok)
        fprintf (stderr, "bench_workflow: refused: %s: %s\n", code, message);
    fed_mpr_init (result, blob.data, blob.size);
    return 0;
}

//  Whether an events.tail result holds one step.started of run's `next`.
static bool
s_is_next_started (const fed_mpr_t *result, const char *run)
{
    fed_mpr_t at = *result;
    uint32_t count, events;
    char step [16], of [17];
    if (fed_mpr_map (&at, &count) || bench_find (&at, count, "events")
        || fed_mpr_array (&at, &events) || events != 1 || fed_mpr_map (&at, &count)
        || bench_find (&at, count, "body"))
        return false;
    return s_map_str (&at, "step", step, sizeof step) == 0 && strcmp (step, "next") == 0
        && s_map_str (&at, "run", of, sizeof of) == 0 && strcmp (of, run) == 0;
}

//  count REQ/REP round trips of request to the echo; samples in ms.
static void
s_raw_rounds (zsock_t *req, const msgpack_sbuffer *request, double *samples, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        int64_t start = bench_now_ns ();
        zframe_t *frame = zframe_new (request->data, request->size);
        if (zframe_send (&frame, req, 0))
            s_fail ("raw send", zmq_strerror (zmq_errno ()));
        zframe_t *reply = zframe_recv (req);
        if (!reply)
            s_fail ("raw reply", "none within 5 s (ZAP refused the admin key?)");
        zframe_destroy (&reply);
        samples [i] = (double) (bench_now_ns () - start) / 1e6;
    }
}

//  --- Approvals: the rounds ---------------------------------------------------------

typedef struct {
    bench_node_t *node;           //  not owned
    fed_identity_t *admin;        //  the data dir's admin.key, owned
    fed_identity_t *server;       //  the node's key, owned
    zsock_t *tail, *vote;         //  DEALERs: the long poll and the approve, owned
    double *approve_ms, *next_ms; //  per timed run, owned
    double *raw_ms;               //  RAW_PER_RUN per timed run, owned
    double *publish_ms;           //  one events.publish per timed run, owned
    size_t runs;                  //  timed runs done
    size_t unparked;              //  runs whose long poll was not parked before the approve
    size_t request_size, reply_size;
} gate_t;

//  The cursor of the log's end: an unfiltered events.tail of one event
//  (a filtered one without `after` walks the last 10,000 events twice).
static int
s_end_cursor (fed_client_t *client, uint64_t *cursor)
{
    msgpack_sbuffer request;
    msgpack_packer pk;
    bench_request (&request, &pk, "events.tail", 1);
    bench_pack_str (&pk, "limit");
    msgpack_pack_uint64 (&pk, 1);
    uint8_t *reply = NULL;
    fed_mpr_t result;
    char text [24];
    int rc = s_call (client, &request, CALL_MS, &reply, &result) == 0
            && s_map_str (&result, "cursor", text, sizeof text) == 0
        ? 0
        : -1;
    free (reply);
    if (rc == 0)
        *cursor = strtoull (text, NULL, 10);
    return rc;
}

//  One run of bench.gate: started, its gate awaited, approved with the long
//  poll parked. Fills *approve_ms and *next_ms; returns 0, 1 (the long poll
//  was not parked: not timed), or -1.
static int
s_gate_round (gate_t *self, double *approve_ms, double *next_ms)
{
    fed_client_t *client = self->node->client;
    char run [17], state [16];
    uint64_t done, cursor = 0;
    if (s_start (client, "bench.gate", run))
        return -1;
    //  The gate is opened while run.start is handled; poll with a deadline.
    int64_t deadline = bench_now_ns () + (int64_t) CALL_MS * 1000000;
    for (uint32_t waiting = 0; !waiting;) {
        msgpack_sbuffer request;
        msgpack_packer pk;
        bench_request (&request, &pk, "approvals", 1);
        bench_pack_str (&pk, "run");
        bench_pack_str (&pk, run);
        uint8_t *reply = NULL;
        fed_mpr_t result;
        int rc = s_call (client, &request, CALL_MS, &reply, &result) == 0
                && fed_mpr_array (&result, &waiting) == 0
            ? 0
            : -1;
        free (reply);
        if (rc || (!waiting && bench_now_ns () > deadline))
            return -1;
    }
    if (s_end_cursor (client, &cursor))
        return -1;
    //  The long poll, then a status behind it on the same connection: the
    //  node reads one connection's requests in order, so the status reply
    //  coming first says the tail is parked.
    msgpack_sbuffer tail, status, approve;
    msgpack_packer pk;
    char after [24];
    snprintf (after, sizeof after, "%llu", (unsigned long long) cursor);
    bench_request (&tail, &pk, "events.tail", 4);
    bench_pack_str (&pk, "after");
    bench_pack_str (&pk, after);
    bench_pack_str (&pk, "type");
    bench_pack_str (&pk, "step.started");
    bench_pack_str (&pk, "limit");
    msgpack_pack_uint64 (&pk, 1);
    bench_pack_str (&pk, "wait_ms");
    msgpack_pack_uint64 (&pk, TAIL_WAIT_MS);
    bench_request (&status, &pk, "status", 0);
    bench_request (&approve, &pk, "approve", 4);
    bench_pack_str (&pk, "run");
    bench_pack_str (&pk, run);
    bench_pack_str (&pk, "step");
    bench_pack_str (&pk, "gate");
    fed_client_pack_replay (&pk);
    self->request_size = approve.size;
    s_send (self->tail, &tail);
    s_send (self->tail, &status);
    int rc = -1;
    bool ok, parked = false, tail_back = false, vote_back = false;
    zmq_msg_t frame;
    zmq_msg_init (&frame);
    fed_mpr_t result;
    if (s_recv (self->tail, &frame, &ok, &result) || !ok)
        goto done;
    parked = !s_is_next_started (&result, run);
    if (!parked) {
        //  The tail answered first: read the status reply too; not timed.
        if (s_recv (self->tail, &frame, &ok, &result))
            goto done;
        tail_back = true;
    }
    int64_t start = bench_now_ns (), approved = 0, started = 0;
    s_send (self->vote, &approve);
    zmq_pollitem_t items [] = {{zsock_resolve (self->vote), 0, ZMQ_POLLIN, 0},
                               {zsock_resolve (self->tail), 0, ZMQ_POLLIN, 0}};
    while (!vote_back || !tail_back) {
        if (zmq_poll (items, 2, TAIL_WAIT_MS + CALL_MS) <= 0)
            goto done;
        int64_t now = bench_now_ns ();
        if (items [0].revents & ZMQ_POLLIN) {
            approved = now;
            if (s_recv (self->vote, &frame, &ok, &result) || !ok)
                goto done;
            self->reply_size = zmq_msg_size (&frame);
            vote_back = true;
        }
        if (items [1].revents & ZMQ_POLLIN) {
            started = now;
            if (s_recv (self->tail, &frame, &ok, &result) || !ok
                || !s_is_next_started (&result, run)) {
                fprintf (stderr,
                         "bench_workflow: run %s: the long poll returned without "
                         "next's step.started\n",
                         run);
                goto done;
            }
            tail_back = true;
        }
    }
    *approve_ms = (double) (approved - start) / 1e6;
    *next_ms = (double) (started - start) / 1e6;
    if (s_wait (client, run, CALL_MS, state, &done) == 0 && strcmp (state, "completed") == 0)
        rc = parked ? 0 : 1;
    else
        fprintf (stderr, "bench_workflow: gate run %s: %s after the approval\n", run, state);
done:
    zmq_msg_close (&frame);
    msgpack_sbuffer_destroy (&tail);
    msgpack_sbuffer_destroy (&status);
    msgpack_sbuffer_destroy (&approve);
    return rc;
}

//  One events.publish (a command that appends one event) on the vote
//  connection: its round trip in ms, or -1.
static double
s_publish_once (gate_t *self)
{
    msgpack_sbuffer request;
    msgpack_packer pk;
    bench_request (&request, &pk, "events.publish", 4);
    bench_pack_str (&pk, "type");
    bench_pack_str (&pk, "user.bench");
    bench_pack_str (&pk, "body");
    msgpack_pack_map (&pk, 1);
    bench_pack_str (&pk, "ok");
    msgpack_pack_true (&pk);
    fed_client_pack_replay (&pk);
    zmq_msg_t frame;
    zmq_msg_init (&frame);
    bool ok = false;
    fed_mpr_t result;
    int64_t start = bench_now_ns ();
    s_send (self->vote, &request);
    int rc = s_recv (self->vote, &frame, &ok, &result);
    int64_t end = bench_now_ns ();
    zmq_msg_close (&frame);
    msgpack_sbuffer_destroy (&request);
    return rc == 0 && ok ? (double) (end - start) / 1e6 : -1;
}

//  GATE_WARMUP untimed runs, then GATE_RUNS timed, each followed by
//  RAW_PER_RUN raw round trips. Returns 0 or -1.
static int
s_gates (gate_t *self, int raw_port)
{
    fed_err_t err = {0};
    char *path = fed_sprintf ("%s/admin.key", self->node->dir);
    self->admin = fed_identity_load (path, &err);
    free (path);
    self->server = self->admin ? fed_identity_open (self->node->dir, NULL, &err) : NULL;
    if (!self->server)
        s_fail ("keys", err.text);
    fed_zap_t *zap = fed_zap_new (&err);
    if (!zap)
        s_fail ("ZAP handler", err.text);
    fed_zap_allow (zap, "control", fed_identity_curve_public (self->admin), "admin");
    self->tail = s_dealer (self->admin, self->server, self->node->control_port);
    self->vote = s_dealer (self->admin, self->server, self->node->control_port);
    self->approve_ms = (double *) fed_calloc (GATE_RUNS, sizeof (double));
    self->next_ms = (double *) fed_calloc (GATE_RUNS, sizeof (double));
    self->raw_ms = (double *) fed_calloc (GATE_RUNS * RAW_PER_RUN, sizeof (double));
    self->publish_ms = (double *) fed_calloc (GATE_RUNS, sizeof (double));
    double approve_ms, next_ms;
    int rc = 0;
    for (int i = 0; i < GATE_WARMUP && rc >= 0; i++)
        rc = s_gate_round (self, &approve_ms, &next_ms);
    //  The raw pair: the approve request's bytes, the approve reply's size.
    bench_echo_args_t args = {self->server, self->reply_size, raw_port};
    zactor_t *echo = zactor_new (bench_echo_actor, &args);
    int bound = -1;
    if (zsock_recv (echo, "i", &bound) || bound < 0)
        s_fail ("raw bind", "cannot bind the echo server");
    zsock_t *req = zsock_new (ZMQ_REQ);
    fed_socket_defaults (req, FED_CLIENT_MAX_MESSAGE);
    fed_curve_client (req, fed_identity_curve_secret (self->admin),
                      fed_identity_curve_public (self->admin),
                      fed_identity_curve_public (self->server));
    zsock_set_rcvtimeo (req, 5000);
    if (zsock_connect (req, "tcp://127.0.0.1:%d", raw_port) < 0)
        s_fail ("raw connect", zmq_strerror (zmq_errno ()));
    msgpack_sbuffer request;
    msgpack_sbuffer_init (&request);
    for (size_t i = 0; i < self->request_size; i++)
        msgpack_sbuffer_write (&request, "\0", 1);
    s_raw_rounds (req, &request, self->raw_ms, RAW_PER_RUN); //  warm-up, untimed
    for (int i = 0; rc >= 0 && self->runs < GATE_RUNS && i < 2 * GATE_RUNS; i++) {
        rc = s_gate_round (self, &self->approve_ms [self->runs], &self->next_ms [self->runs]);
        if (rc == 0) {
            s_raw_rounds (req, &request, self->raw_ms + self->runs * RAW_PER_RUN, RAW_PER_RUN);
            self->publish_ms [self->runs] = s_publish_once (self);
            if (self->publish_ms [self->runs] < 0)
                rc = -1;
            self->runs++;
        } else if (rc == 1)
            self->unparked++;
    }
    msgpack_sbuffer_destroy (&request);
    zsock_destroy (&req);
    zactor_destroy (&echo);
    zsock_destroy (&self->tail);
    zsock_destroy (&self->vote);
    fed_zap_destroy (&zap);
    return rc < 0 ? -1 : 0;
}

//  --- Nodes -----------------------------------------------------------------------------

static int
s_start_node (wf_t *self, bench_node_t *node, const char *config, const bench_node_t *seed)
{
    return bench_node_start (node, self->fednode, config, seed) || bench_node_connect (node, 10000)
        ? -1
        : 0;
}

//  Waits (up to 20 s) until a sees all three nodes alive and sys.echo on
//  each. Returns 0 or -1.
static int
s_cluster_ready (bench_node_t *a)
{
    int64_t deadline = bench_now_ns () + 20000000000LL;
    while (!bench_interrupted && bench_now_ns () < deadline) {
        size_t alive = 0;
        if (bench_members (a->client, NULL, NULL, &alive) == 0 && alive == 3
            && s_hosts (a->client, "sys.echo") == 3)
            return 0;
        usleep (20000);
    }
    fprintf (stderr, "bench_workflow: the three nodes did not see each other within 20 s\n");
    return -1;
}

static void
s_write_config (wf_t *self, char **path, const char *name, const char *durability)
{
    *path = fed_sprintf ("%s/%s.yaml", self->work, name);
    FILE *file = fopen (*path, "w");
    if (!file)
        s_fail (*path, strerror (errno));
    fprintf (file, "durability: %s\nlog_level: warn\ntrust:\n", durability);
    for (size_t i = 2; i < NODES; i++)
        fprintf (file, "  - {key: '%s', role: peer, name: %s}\n", self->nodes [i].id,
                 self->nodes [i].name);
    fclose (file);
}

//  --- Report ----------------------------------------------------------------------------

static void
s_print_steps (const char *name, const timed_t *timed, int rc, double baseline)
{
    if (rc) {
        printf ("%-36s not measured: the run did not complete (see above)\n", name);
        return;
    }
    printf ("%-36s %7.0f steps/s  baseline %6.0f calls/s  ratio %5.2f  (%.2f s, %.1f events "
            "a step)\n",
            name, timed->steps_per_s, baseline, timed->steps_per_s / baseline, timed->seconds,
            (double) timed->events / (double) timed->steps);
}

static const char *
s_verdict (bool met)
{
    return met ? "PASS" : "FAIL";
}

static void
s_print_gates (gate_t *gate)
{
    size_t raw_count = gate->runs * RAW_PER_RUN;
    double raw_median, raw_p99, approve_median, approve_p99, next_median, next_p99;
    double publish_median, publish_p99;
    fed_bench_stats (gate->publish_ms, gate->runs, &publish_median, &publish_p99);
    fed_bench_stats (gate->raw_ms, raw_count, &raw_median, &raw_p99);
    fed_bench_stats (gate->approve_ms, gate->runs, &approve_median, &approve_p99);
    fed_bench_stats (gate->next_ms, gate->runs, &next_median, &next_p99);
    double ratio = approve_median / raw_median;
    printf ("approval gate -> next (sys.echo), 1 node, durability wal: %zu runs after %d warm-up "
            "(%zu not timed: long poll not parked)\n",
            gate->runs, GATE_WARMUP, gate->unparked);
    printf ("%-36s median %6.3f ms  p99 %6.3f ms  (%zu)\n", "baseline raw CURVE REQ/REP tcp",
            raw_median, raw_p99, raw_count);
    printf ("  (%zu-byte request, %zu-byte reply: the approve request's and reply's sizes)\n",
            gate->request_size, gate->reply_size);
    printf ("%-36s median %6.3f ms  p99 %6.3f ms  ratio %5.2f  (one append, for scale)\n",
            "events.publish round trip", publish_median, publish_p99, publish_median / raw_median);
    printf ("%-36s median %6.3f ms  p99 %6.3f ms  ratio %5.2f  goal <= %.0f x raw %s\n",
            "approve -> its reply", approve_median, approve_p99, ratio, APPROVE_GOAL,
            s_verdict (ratio <= APPROVE_GOAL));
    printf ("%-36s median %6.3f ms  p99 %6.3f ms  ratio %5.2f  goal median <= %.0f ms %s, p99 "
            "<= %.0f ms %s\n",
            "approve -> next's step.started seen", next_median, next_p99, next_median / raw_median,
            STARTED_MEDIAN_GOAL_MS, s_verdict (next_median <= STARTED_MEDIAN_GOAL_MS),
            STARTED_P99_GOAL_MS, s_verdict (next_p99 <= STARTED_P99_GOAL_MS));
}

//  --- The bench -------------------------------------------------------------------------

static int
s_run (wf_t *self)
{
    bench_node_t *one = &self->nodes [0], *sync = &self->nodes [1];
    bench_node_t *a = &self->nodes [2], *b = &self->nodes [3], *c = &self->nodes [4];
    timed_t warm, chain1, fan1, chain_sync, chain3, fan3;
    int rc_chain1, rc_fan1, rc_sync, rc_chain3, rc_fan3;
    gate_t gate = {.node = one};

    //  One node, wal: the baseline, the two shapes, the approvals.
    if (s_start_node (self, one, self->wal_config, NULL))
        return -1;
    s_publish_all (one);
    if (s_timed_run (one, "bench.warm", 10, &warm))
        return -1;
    double base1 = s_agents_rate (one->client);
    if (base1 <= 0)
        s_fail ("agents.run sys.echo", "a call failed (see above)");
    rc_chain1 = s_timed_median (one, "bench.chain", CHAIN, &chain1);
    rc_fan1 = s_timed_median (one, "bench.fan", WIDE + 1, &fan1);
    int rc_gates = s_gates (&gate, self->raw_port);
    bench_node_stop (one);

    //  One node, sync.
    if (s_start_node (self, sync, self->sync_config, NULL))
        return -1;
    s_publish_all (sync);
    if (s_timed_run (sync, "bench.warm", 10, &warm))
        return -1;
    double base_sync = s_agents_rate (sync->client);
    rc_sync = s_timed_median (sync, "bench.chain", CHAIN, &chain_sync);
    bench_node_stop (sync);

    //  Three nodes, wal, joined through a; runs started on a.
    if (s_start_node (self, a, self->wal_config, NULL)
        || s_start_node (self, b, self->wal_config, a)
        || s_start_node (self, c, self->wal_config, a) || s_cluster_ready (a))
        return -1;
    s_publish_all (a);
    if (s_timed_run (a, "bench.warm", 10, &warm))
        return -1;
    double base3 = s_agents_rate (a->client);
    rc_chain3 = s_timed_median (a, "bench.chain", CHAIN, &chain3);
    rc_fan3 = s_timed_median (a, "bench.fan", WIDE + 1, &fan3);
    const char *names [] = {"a", "b", "c"};
    size_t chain_on [3] = {0}, fan_on [3] = {0};
    if (rc_chain3 == 0)
        s_spread (a->client, chain3.run, names, chain_on, 3);
    if (rc_fan3 == 0)
        s_spread (a->client, fan3.run, names, fan_on, 3);
    bench_node_stop (c);
    bench_node_stop (b);
    bench_node_stop (a);

    printf ("bench_workflow: sys.echo steps, durability wal unless marked sync; baseline: %d "
            "agents.run sys.echo one after another through the same node's control socket; "
            "ratio = steps/s / calls/s; medians of %d runs\n",
            BASE_CALLS, STEP_RUNS);
    s_print_steps ("chain 1000, 1 node (wal)", &chain1, rc_chain1, base1);
    s_print_steps ("chain 1000, 1 node (sync)", &chain_sync, rc_sync, base_sync);
    s_print_steps ("fan-out 1000 + join, 1 node (wal)", &fan1, rc_fan1, base1);
    s_print_steps ("chain 1000, 3 nodes (wal)", &chain3, rc_chain3, base3);
    if (rc_chain3 == 0)
        printf ("  steps ran on a %zu, b %zu, c %zu\n", chain_on [0], chain_on [1], chain_on [2]);
    s_print_steps ("fan-out 1000 + join, 3 nodes (wal)", &fan3, rc_fan3, base3);
    if (rc_fan3 == 0)
        printf ("  steps ran on a %zu, b %zu, c %zu\n", fan_on [0], fan_on [1], fan_on [2]);
    if (gate.runs)
        s_print_gates (&gate);
    else
        printf ("approval gate: not measured (see above)\n");
    fflush (stdout);
    fed_identity_destroy (&gate.admin);
    fed_identity_destroy (&gate.server);
    free (gate.approve_ms);
    free (gate.next_ms);
    free (gate.raw_ms);
    free (gate.publish_ms);
    return rc_chain1 || rc_fan1 || rc_sync || rc_chain3 || rc_fan3 || rc_gates ? -1 : 0;
}

int
main (void)
{
    if (sodium_init () < 0)
        return 1;
    fed_log_set_level (FED_LOG_ERROR);
    bench_signals ();
    zsys_init ();
    wf_t self;
    memset (&self, 0, sizeof self);
    self.fednode = bench_fednode_path ("bench_workflow");
    const char *tmp = getenv ("TMPDIR");
    self.work = fed_sprintf ("%s/fed-bench-workflow-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp (self.work))
        s_fail ("mkdtemp", strerror (errno));
    int ports [2 * NODES + 1];
    bench_free_ports_in (ports, 2 * NODES + 1, PORT_LOW, PORT_HIGH, 0, "bench_workflow");
    const char *names [NODES] = {"one", "sync", "a", "b", "c"};
    for (int i = 0; i < NODES; i++)
        bench_node_init (&self.nodes [i], self.work, names [i], ports [2 * i], ports [2 * i + 1]);
    self.raw_port = ports [2 * NODES];
    s_write_config (&self, &self.wal_config, "wal", "wal");
    s_write_config (&self, &self.sync_config, "sync", "sync");
    int rc = s_run (&self);
    for (int i = 0; i < NODES; i++) {
        if (rc)
            bench_node_print_log (&self.nodes [i]);
        bench_node_free (&self.nodes [i]);
    }
    if (nftw (self.work, s_remove_one, 16, FTW_DEPTH | FTW_PHYS))
        fprintf (stderr, "bench_workflow: cannot remove %s\n", self.work);
    free (self.wal_config);
    free (self.sync_config);
    free (self.fednode);
    free (self.work);
    return rc ? 1 : 0;
}
