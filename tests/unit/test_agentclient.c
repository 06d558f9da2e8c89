/*  tests/unit/test_agentclient.c: the external-agent client against a fake
    node: a CURVE ROUTER in ZAP domain "agents" that admits the test's agent
    key through fed_zap, driven message by message from the test. The
    client runs the sys.* agents: READY -> WELCOME -> TASK -> RESULT, FAIL
    (an agent's failure and the pool's refusals), PROGRESS and CANCEL of a
    sleep, reconnection with a fresh READY when the node goes silent, sends
    no WELCOME or says BYE, READY again on ERROR not_ready, a task dropped
    on ERROR unknown_task, malformed frames ignored, BYE on destroy; and the
    options read from the environment.

    No fixed sleeps: every wait is a poll with a deadline. Time bounds are
    looser under sanitizers (FED_SANITIZERS).
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <czmq.h>
#include <inttypes.h>

#include "agentclient.h"
#include "agentwire.h"
#include "curve.h"
#include "log.h"
#include "sys.h"
#include "testutil.h"

#define RAW(bytes) bytes, sizeof (bytes) - 1

static int64_t
s_slack (void)
{
    const char *san = getenv ("FED_SANITIZERS");
    return san && *san ? 5 : 1;
}

//  --- The fake node -----------------------------------------------------------

typedef struct {
    fed_zap_t *zap;             //  admits agent_public in domain "agents"
    uint8_t server_public [32]; //  the node's CURVE keys
    uint8_t server_secret [32]; //
    uint8_t agent_public [32];  //  the agent's
    uint8_t agent_secret [32];  //
    zsock_t *router;            //  bound on 127.0.0.1
    char endpoint [64];         //  where
    zframe_t *peer;             //  routing id of the last READY's connection
    bool beating;               //  sends the peer HEARTBEAT every beat_ms while waiting
    int64_t beat_ms;            //
    int64_t next_beat_ms;       //
    uint8_t *frame;             //  the last message received, which msg borrows
    fed_aw_msg_t msg;           //
    int seen [FED_AW_TYPES];    //  messages received, by type
    zframe_t *from;             //  routing id of the last message
} node_t;

static void
s_keypair (uint8_t public_key [32], uint8_t secret [32])
{
    char public_text [41], secret_text [41];
    assert_int_equal (zmq_curve_keypair (public_text, secret_text), 0);
    assert_int_equal (fed_key_decode (public_key, public_text), 0);
    assert_int_equal (fed_key_decode (secret, secret_text), 0);
}

static int
s_group_setup (void **state)
{
    node_t *node = (node_t *) fed_calloc (1, sizeof (node_t));
    fed_err_t err;
    node->zap = fed_zap_new (&err);
    if (!node->zap)
        return -1;
    s_keypair (node->server_public, node->server_secret);
    s_keypair (node->agent_public, node->agent_secret);
    fed_zap_allow (node->zap, "agents", node->agent_public, "agent-test");
    *state = node;
    return 0;
}

static int
s_group_teardown (void **state)
{
    node_t *node = (node_t *) *state;
    fed_zap_destroy (&node->zap);
    free (node);
    return 0;
}

static int
s_setup (void **state)
{
    node_t *node = (node_t *) *state;
    node->router = zsock_new (ZMQ_ROUTER);
    assert_non_null (node->router);
    fed_socket_defaults (node->router, 4 * 1024 * 1024);
    fed_curve_server (node->router, node->server_secret, node->server_public, "agents");
    int port = zsock_bind (node->router, "tcp://127.0.0.1:*");
    assert_true (port > 0);
    snprintf (node->endpoint, sizeof node->endpoint, "tcp://127.0.0.1:%d", port);
    node->beating = true;
    node->beat_ms = 100;
    memset (node->seen, 0, sizeof node->seen);
    return 0;
}

static int
s_teardown (void **state)
{
    node_t *node = (node_t *) *state;
    zsock_destroy (&node->router);
    zframe_destroy (&node->peer);
    zframe_destroy (&node->from);
    fed_aw_msg_clear (&node->msg);
    fed_free (&node->frame);
    return 0;
}

//  Waits up to timeout_ms (times the slack) for a message of type want,
//  counting and skipping others, and beating meanwhile. The message is in
//  node->msg, its sender in node->from; a READY's sender becomes the peer.
static bool
s_recv (node_t *node, fed_aw_type_t want, int64_t timeout_ms)
{
    int64_t deadline = fed_mono_ms () + timeout_ms * s_slack ();
    while (true) {
        int64_t now = fed_mono_ms ();
        if (node->beating && node->peer && now >= node->next_beat_ms) {
            msgpack_sbuffer out;
            msgpack_sbuffer_init (&out);
            fed_aw_msg_t beat = {.type = FED_AW_HEARTBEAT};
            fed_aw_encode (&beat, &out);
            zmsg_t *msg = zmsg_new ();
            zmsg_append (msg, &(zframe_t *){zframe_dup (node->peer)});
            zmsg_addmem (msg, out.data, out.size);
            zmsg_send (&msg, node->router);
            msgpack_sbuffer_destroy (&out);
            node->next_beat_ms = now + node->beat_ms;
        }
        if (now >= deadline)
            return false;
        int64_t wake = deadline;
        if (node->beating && node->peer && node->next_beat_ms < wake)
            wake = node->next_beat_ms;
        zmq_pollitem_t item = {zsock_resolve (node->router), 0, ZMQ_POLLIN, 0};
        if (zmq_poll (&item, 1, (long) (wake > now ? wake - now : 0)) <= 0)
            continue;
        zmsg_t *msg = zmsg_recv (node->router);
        assert_non_null (msg);
        assert_int_equal (zmsg_size (msg), 2);
        zframe_t *from = zmsg_pop (msg);
        zframe_t *body = zmsg_pop (msg);
        zmsg_destroy (&msg);
        fed_aw_msg_clear (&node->msg);
        fed_free (&node->frame);
        node->frame = (uint8_t *) fed_malloc (zframe_size (body));
        memcpy (node->frame, zframe_data (body), zframe_size (body));
        fed_err_t err;
        int rc = fed_aw_decode (node->frame, zframe_size (body), &node->msg, &err);
        zframe_destroy (&body);
        if (rc) {
            print_error ("the client sent a frame that does not decode: %s\n", err.text);
            fail ();
        }
        node->seen [node->msg.type]++;
        zframe_destroy (&node->from);
        node->from = from;
        if (node->msg.type == FED_AW_READY) {
            zframe_destroy (&node->peer);
            node->peer = zframe_dup (from);
        }
        if (node->msg.type == want)
            return true;
    }
}

//  Like s_recv, but fails the test when nothing comes.
static void
s_expect (node_t *node, fed_aw_type_t want, int64_t timeout_ms)
{
    if (!s_recv (node, want, timeout_ms)) {
        print_error ("expected %s from the client within %" PRId64 " ms, got none\n",
                     fed_aw_type_name (want), timeout_ms * s_slack ());
        fail ();
    }
}

static void
s_send_raw (node_t *node, const void *data, size_t size)
{
    zmsg_t *msg = zmsg_new ();
    zmsg_append (msg, &(zframe_t *){zframe_dup (node->peer)});
    zmsg_addmem (msg, data, size);
    assert_int_equal (zmsg_send (&msg, node->router), 0);
}

static void
s_send (node_t *node, const fed_aw_msg_t *msg)
{
    msgpack_sbuffer out;
    msgpack_sbuffer_init (&out);
    fed_aw_encode (msg, &out);
    s_send_raw (node, out.data, out.size);
    msgpack_sbuffer_destroy (&out);
}

static void
s_welcome (node_t *node, uint64_t heartbeat_ms, uint32_t liveness)
{
    fed_aw_msg_t msg = {.type = FED_AW_WELCOME, .heartbeat_ms = heartbeat_ms, .liveness = liveness};
    memset (msg.node, 0x4e, sizeof msg.node);
    s_send (node, &msg);
}

//  Sends TASK id for agent (version 1.0.0) with params (msgpack map bytes).
static void
s_task (node_t *node, uint64_t id, const char *agent, const char *params, size_t params_size,
        uint64_t timeout_ms)
{
    fed_aw_msg_t msg = {.type = FED_AW_TASK,
                        .task = id,
                        .params = (const uint8_t *) params,
                        .params_size = params_size,
                        .timeout_ms = timeout_ms,
                        .attempt = 1};
    snprintf (msg.agent, sizeof msg.agent, "%s", agent);
    snprintf (msg.version, sizeof msg.version, "1.0.0");
    snprintf (msg.run, sizeof msg.run, "run-1");
    s_send (node, &msg);
}

static void
s_options (node_t *node, fed_agent_client_options_t *options)
{
    fed_agent_client_options_default (options);
    snprintf (options->endpoint, sizeof options->endpoint, "%s", node->endpoint);
    memcpy (options->server_key, node->server_public, 32);
    memcpy (options->public_key, node->agent_public, 32);
    memcpy (options->secret_key, node->agent_secret, 32);
    options->pool.stop_grace_ms = 1000;
}

//  A client offering the sys.* agents. Caller destroys it.
static fed_agent_client_t *
s_client (const fed_agent_client_options_t *options)
{
    fed_agentset_t *agents = fed_agentset_new ();
    fed_err_t err;
    assert_int_equal (fed_sys_register (agents, &err), 0);
    fed_agent_client_t *client = fed_agent_client_new (agents, options, &err);
    if (!client) {
        print_error ("expected a client, got: %s\n", err.text);
        fail ();
    }
    fed_agentset_destroy (&agents);
    return client;
}

//  The liveness a test gives when it does not test liveness: the fake node
//  beats only while it waits for a message, so a test busy elsewhere (a
//  stats poll on a loaded machine) must not look like a silent node.
#define LIVENESS_LAX 50

//  A client that has sent READY and been welcomed (heartbeat 100 ms).
static fed_agent_client_t *
s_ready_client (node_t *node, uint32_t slots)
{
    fed_agent_client_options_t options;
    s_options (node, &options);
    options.slots = slots;
    fed_agent_client_t *client = s_client (&options);
    s_expect (node, FED_AW_READY, 2000);
    s_welcome (node, 100, LIVENESS_LAX);
    assert_int_equal (fed_agent_client_wait_ready (client, 2000 * s_slack ()), 0);
    return client;
}

//  Waits until the client's counter at offset reaches value.
static void
s_wait_stat (fed_agent_client_t *client, size_t offset, uint64_t value, const char *name)
{
    int64_t deadline = fed_mono_ms () + 2000 * s_slack ();
    fed_agent_client_stats_t stats;
    uint64_t got;
    do {
        fed_agent_client_stats (client, &stats);
        memcpy (&got, (const char *) &stats + offset, sizeof got);
        if (got == value)
            return;
        zclock_sleep (5); //  a poll interval, not a wait for an outcome
    } while (fed_mono_ms () < deadline);
    print_error ("expected %s to reach %" PRIu64 ", got %" PRIu64 "\n", name, value, got);
    fail ();
}

#define WAIT_STAT(client, field, value)                                                            \
    s_wait_stat ((client), offsetof (fed_agent_client_stats_t, field), (value), #field)

//  --- Tests -----------------------------------------------------------------------

static void
test_options_from_env (void **state)
{
    node_t *node = (node_t *) *state;
    char server [41], public_text [41], secret [41], other [41], other_secret [41];
    fed_z85_encode_key (server, node->server_public);
    fed_z85_encode_key (public_text, node->agent_public);
    fed_z85_encode_key (secret, node->agent_secret);
    assert_int_equal (zmq_curve_keypair (other, other_secret), 0);
    unsetenv ("FEDNODE_AGENT_ENDPOINT");
    unsetenv ("FEDNODE_SERVER_KEY");
    unsetenv ("FEDNODE_AGENT_PUBLIC");
    unsetenv ("FEDNODE_AGENT_SECRET");
    fed_agent_client_options_t options;
    fed_agent_client_options_default (&options);
    fed_err_t err;
    assert_int_equal (fed_agent_client_options_from_env (&options, &err), -1);
    assert_contains (err.text, "FEDNODE_AGENT_ENDPOINT is not set");
    assert_contains (err.text, "fednode agent-env");
    char long_endpoint [300];
    memset (long_endpoint, 'x', sizeof long_endpoint - 1);
    long_endpoint [sizeof long_endpoint - 1] = 0;
    setenv ("FEDNODE_AGENT_ENDPOINT", long_endpoint, 1);
    assert_int_equal (fed_agent_client_options_from_env (&options, &err), -1);
    assert_contains (err.text, "FEDNODE_AGENT_ENDPOINT is 299 characters, over the limit of 255");
    setenv ("FEDNODE_AGENT_ENDPOINT", "ipc:///tmp/agents.sock", 1);
    assert_int_equal (fed_agent_client_options_from_env (&options, &err), -1);
    assert_contains (err.text, "FEDNODE_SERVER_KEY is not set");
    setenv ("FEDNODE_SERVER_KEY", "not-a-key", 1);
    assert_int_equal (fed_agent_client_options_from_env (&options, &err), -1);
    assert_contains (err.text, "FEDNODE_SERVER_KEY is not a CURVE key");
    setenv ("FEDNODE_SERVER_KEY", server, 1);
    assert_int_equal (fed_agent_client_options_from_env (&options, &err), -1);
    assert_contains (err.text, "FEDNODE_AGENT_SECRET is not set");
    setenv ("FEDNODE_AGENT_SECRET", "0123", 1);
    assert_int_equal (fed_agent_client_options_from_env (&options, &err), -1);
    assert_contains (err.text, "FEDNODE_AGENT_SECRET is not a CURVE key (40 Z85 or 64 hex");
    assert_null (strstr (err.text, "0123"));
    setenv ("FEDNODE_AGENT_SECRET", secret, 1);
    setenv ("FEDNODE_AGENT_PUBLIC", other, 1);
    assert_int_equal (fed_agent_client_options_from_env (&options, &err), -1);
    assert_contains (err.text,
                     "FEDNODE_AGENT_PUBLIC is not the public key of FEDNODE_AGENT_SECRET");
    assert_null (strstr (err.text, secret));
    //  The public key may be left out: it is derived.
    unsetenv ("FEDNODE_AGENT_PUBLIC");
    fed_agent_client_options_default (&options);
    assert_int_equal (fed_agent_client_options_from_env (&options, &err), 0);
    assert_memory_equal (options.public_key, node->agent_public, 32);
    setenv ("FEDNODE_AGENT_PUBLIC", public_text, 1);
    fed_agent_client_options_default (&options);
    assert_int_equal (fed_agent_client_options_from_env (&options, &err), 0);
    assert_string_equal (options.endpoint, "ipc:///tmp/agents.sock");
    assert_memory_equal (options.server_key, node->server_public, 32);
    assert_memory_equal (options.public_key, node->agent_public, 32);
    assert_memory_equal (options.secret_key, node->agent_secret, 32);
    assert_int_equal (options.slots, 1);
    assert_int_equal (options.heartbeat_ms, 1000);
    fed_agent_client_options_wipe (&options);
    static const uint8_t zero [32] = {0};
    assert_memory_equal (options.secret_key, zero, 32);
    unsetenv ("FEDNODE_AGENT_ENDPOINT");
    unsetenv ("FEDNODE_SERVER_KEY");
    unsetenv ("FEDNODE_AGENT_PUBLIC");
    unsetenv ("FEDNODE_AGENT_SECRET");
}

static void
s_expect_refused (const fed_agentset_t *agents, const fed_agent_client_options_t *options,
                  const char *needle)
{
    fed_err_t err = {0, ""};
    fed_agent_client_t *client = fed_agent_client_new (agents, options, &err);
    if (client || !strstr (err.text, needle)) {
        print_error ("expected the client refused with \"%s\", got %s: \"%s\"\n", needle,
                     client ? "a client" : "NULL", err.text);
        fail ();
    }
}

static void
test_new_refuses (void **state)
{
    node_t *node = (node_t *) *state;
    fed_agentset_t *agents = fed_agentset_new ();
    fed_agent_client_options_t options;
    s_options (node, &options);
    s_expect_refused (agents, &options, "offers 1 to 64 agents, not 0");
    fed_err_t err;
    assert_int_equal (fed_sys_register (agents, &err), 0);
    options.slots = 0;
    s_expect_refused (agents, &options, "slots must be 1 to 256, not 0");
    options.slots = 257;
    s_expect_refused (agents, &options, "slots must be 1 to 256, not 257");
    options.slots = 1;
    options.location = (const uint8_t *) "\x91\x01";
    options.location_size = 2;
    s_expect_refused (agents, &options, "the location must be one msgpack map");
    options.location = (const uint8_t *) "\x81\xa1x\x01\xc0";
    options.location_size = 5;
    s_expect_refused (agents, &options, "trailing");
    uint8_t deep [32] = {0x81, 0xa1, 'x'};
    memset (deep + 3, 0x91, 12);
    deep [15] = 0xc0;
    options.location = deep;
    options.location_size = 16;
    s_expect_refused (agents, &options, "nested at most 12 levels");
    options.location_size = 15; //  one level less, and nil at the bottom
    deep [14] = 0xc0;
    fed_agent_client_t *client = fed_agent_client_new (agents, &options, &err);
    assert_non_null (client);
    fed_agent_client_destroy (&client);
    assert_null (client);
    fed_agent_client_destroy (&client);
    options.location = NULL;
    snprintf (options.endpoint, sizeof options.endpoint, "nowhere://x");
    s_expect_refused (agents, &options, "cannot connect to nowhere://x");
    options.endpoint [0] = 0;
    s_expect_refused (agents, &options, "no endpoint");
    fed_agentset_destroy (&agents);
}

//  READY with the whole offer, WELCOME, then sys.echo's RESULT, and
//  HEARTBEATs at the node's interval.
static void
test_ready_welcome_result (void **state)
{
    node_t *node = (node_t *) *state;
    static const char location [] = "\x81\xa6region\xa2"
                                    "eu";
    fed_agent_client_options_t options;
    s_options (node, &options);
    options.slots = 2;
    snprintf (options.label, sizeof options.label, "sys@test");
    options.location = (const uint8_t *) location;
    options.location_size = sizeof location - 1;
    fed_agent_client_t *client = s_client (&options);
    fed_agent_client_options_wipe (&options);
    s_expect (node, FED_AW_READY, 2000);
    const fed_aw_msg_t *ready = &node->msg;
    assert_int_equal (ready->agent_count, 3);
    assert_int_equal (ready->slots, 2);
    assert_string_equal (ready->label, "sys@test");
    static const char *names [] = {"sys.echo", "sys.sleep", "sys.fail"};
    for (int i = 0; i < 3; i++) {
        assert_string_equal (ready->agents [i].name, names [i]);
        assert_string_equal (ready->agents [i].version, "1.0.0");
        assert_int_equal (ready->agents [i].capability_count, 1);
        assert_string_equal (ready->agents [i].capabilities [0], "sys");
        assert_int_equal (ready->agents [i].location_size, sizeof location - 1);
        assert_memory_equal (ready->agents [i].location, location, sizeof location - 1);
    }
    assert_int_equal (fed_agent_client_wait_ready (client, 0), -1);
    assert_int_equal (fed_agent_client_wait_ready (client, 50), -1);
    s_welcome (node, 100, LIVENESS_LAX);
    assert_int_equal (fed_agent_client_wait_ready (client, 2000 * s_slack ()), 0);
    assert_int_equal (fed_agent_client_wait_ready (client, 0), 0);
    fed_agent_client_stats_t stats;
    fed_agent_client_stats (client, &stats);
    assert_true (stats.ready);
    assert_true (stats.connected);
    assert_int_equal (stats.heartbeat_ms, 100);
    assert_int_equal (stats.liveness, LIVENESS_LAX);
    assert_int_equal (stats.node [0], 0x4e);
    assert_int_equal (stats.readies, 1);
    static const char params [] = "\x82\xa1x\x01\xa1s\xa2hi";
    s_task (node, 41, "sys.echo", RAW (params), 60000);
    s_expect (node, FED_AW_RESULT, 2000);
    assert_int_equal (node->msg.task, 41);
    assert_int_equal (node->msg.output_size, sizeof params - 1);
    assert_memory_equal (node->msg.output, params, sizeof params - 1);
    //  HEARTBEATs every 100 ms: at least two in 400 ms.
    int before = node->seen [FED_AW_HEARTBEAT];
    int64_t until = fed_mono_ms () + 400;
    while (fed_mono_ms () < until)
        (void) s_recv (node, FED_AW_TYPES, until - fed_mono_ms ());
    assert_true (node->seen [FED_AW_HEARTBEAT] - before >= 2);
    fed_agent_client_stats (client, &stats);
    assert_int_equal (stats.tasks_received, 1);
    assert_int_equal (stats.tasks_completed, 1);
    assert_int_equal (stats.tasks_failed, 0);
    assert_int_equal (stats.tasks_running, 0);
    assert_int_equal (stats.reconnects, 0);
    assert_int_equal (stats.frames_dropped, 0);
    //  Destroy says BYE.
    fed_agent_client_destroy (&client);
    s_expect (node, FED_AW_BYE, 2000);
}

//  An agent's failure and the pool's refusals come back as FAIL.
static void
test_fail (void **state)
{
    node_t *node = (node_t *) *state;
    fed_agent_client_t *client = s_ready_client (node, 1);
    static const struct {
        const char *agent;
        const char *params;
        size_t params_size;
        uint64_t timeout_ms;
        const char *code;
        const char *message;
    } cases [] = {
        {"sys.fail",
         RAW ("\x82\xa4"
              "code\xa4nope\xa7message\xa5"
              "asked"),
         60000, "nope", "asked"},
        {"sys.nothing", RAW ("\x80"), 60000, "no_agent", "no agent sys.nothing"},
        {"sys.sleep", RAW ("\x81\xa2ms\xa1x"), 60000, "bad_params", "\"ms\""},
        {"sys.echo", RAW ("\x80"), 0, "timeout", "no time left"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++) {
        s_task (node, 100 + i, cases [i].agent, cases [i].params, cases [i].params_size,
                cases [i].timeout_ms);
        s_expect (node, FED_AW_FAIL, 2000);
        assert_int_equal (node->msg.task, 100 + i);
        assert_string_equal (node->msg.code, cases [i].code);
        assert_contains (node->msg.message, cases [i].message);
    }
    //  A version the process does not offer.
    fed_aw_msg_t task = {.type = FED_AW_TASK, .task = 200, .timeout_ms = 1000};
    strcpy (task.agent, "sys.echo");
    strcpy (task.version, "2.0");
    s_send (node, &task);
    s_expect (node, FED_AW_FAIL, 2000);
    assert_int_equal (node->msg.task, 200);
    assert_string_equal (node->msg.code, "no_agent");
    fed_agent_client_stats_t stats;
    fed_agent_client_stats (client, &stats);
    assert_int_equal (stats.tasks_received, 5);
    assert_int_equal (stats.tasks_failed, 5);
    assert_int_equal (stats.tasks_completed, 0);
    fed_agent_client_destroy (&client);
}

//  A long sleep reports PROGRESS; CANCEL stops it, sends nothing more
//  about it, and frees its slot for the next task.
static void
test_progress_and_cancel (void **state)
{
    node_t *node = (node_t *) *state;
    fed_agent_client_t *client = s_ready_client (node, 1);
    s_task (node, 7, "sys.sleep", RAW ("\x81\xa2ms\xcd\x27\x10"), 60000); //  10 s
    s_expect (node, FED_AW_PROGRESS, 2000);
    assert_int_equal (node->msg.task, 7);
    assert_int_equal (node->msg.total, 10000);
    assert_true (node->msg.done <= 10000);
    fed_aw_msg_t cancel = {.type = FED_AW_CANCEL, .task = 7};
    strcpy (cancel.code, "cancelled");
    s_send (node, &cancel);
    WAIT_STAT (client, tasks_dropped, 1);
    WAIT_STAT (client, tasks_running, 0);
    //  The one slot is free again.
    s_task (node, 8, "sys.echo", RAW ("\x81\xa1k\xc3"), 60000);
    s_expect (node, FED_AW_RESULT, 2000);
    assert_int_equal (node->msg.task, 8);
    assert_int_equal (node->seen [FED_AW_FAIL], 0);
    assert_int_equal (node->seen [FED_AW_RESULT], 1);
    //  A CANCEL of a task the process does not hold is ignored.
    cancel.task = 999;
    s_send (node, &cancel);
    s_task (node, 9, "sys.echo", RAW ("\x80"), 60000);
    s_expect (node, FED_AW_RESULT, 2000);
    fed_agent_client_stats_t stats;
    fed_agent_client_stats (client, &stats);
    assert_int_equal (stats.tasks_dropped, 1);
    assert_int_equal (stats.tasks_completed, 2);
    fed_agent_client_destroy (&client);
}

//  The node goes silent: the client drops its tasks and sends a fresh
//  READY on a new connection, and goes on working there.
static void
test_heartbeat_loss (void **state)
{
    node_t *node = (node_t *) *state;
    fed_agent_client_options_t options;
    s_options (node, &options);
    fed_agent_client_t *client = s_client (&options);
    s_expect (node, FED_AW_READY, 2000);
    node->beat_ms = 20;
    s_welcome (node, 50, 6);
    assert_int_equal (fed_agent_client_wait_ready (client, 2000 * s_slack ()), 0);
    zframe_t *first = zframe_dup (node->peer);
    s_task (node, 1, "sys.sleep", RAW ("\x81\xa2ms\xcd\x27\x10"), 60000);
    //  Alive while the node beats: 600 ms is twice the liveness window.
    assert_false (s_recv (node, FED_AW_READY, 600));
    fed_agent_client_stats_t stats;
    fed_agent_client_stats (client, &stats);
    assert_int_equal (stats.reconnects, 0);
    assert_int_equal (stats.tasks_running, 1);
    //  Silence.
    node->beating = false;
    int64_t silent = fed_mono_ms ();
    s_expect (node, FED_AW_READY, 2000);
    assert_true (fed_mono_ms () - silent >= 250);
    assert_false (zframe_eq (first, node->peer));
    zframe_destroy (&first);
    fed_agent_client_stats (client, &stats);
    assert_int_equal (stats.reconnects, 1);
    assert_int_equal (stats.readies, 2);
    assert_false (stats.ready);
    assert_int_equal (stats.tasks_dropped, 1);
    assert_int_equal (stats.tasks_running, 0);
    //  Welcomed again, it works on the new connection.
    node->beating = true;
    s_welcome (node, 50, 6);
    assert_int_equal (fed_agent_client_wait_ready (client, 2000 * s_slack ()), 0);
    s_task (node, 2, "sys.echo", RAW ("\x80"), 60000);
    s_expect (node, FED_AW_RESULT, 2000);
    assert_int_equal (node->msg.task, 2);
    fed_agent_client_destroy (&client);
}

//  No WELCOME within the timeout, or BYE from the node: a new connection
//  and READY again.
static void
test_no_welcome_and_bye (void **state)
{
    node_t *node = (node_t *) *state;
    fed_agent_client_options_t options;
    s_options (node, &options);
    options.welcome_timeout_ms = 150;
    fed_agent_client_t *client = s_client (&options);
    s_expect (node, FED_AW_READY, 2000);
    zframe_t *first = zframe_dup (node->peer);
    s_expect (node, FED_AW_READY, 2000);
    assert_false (zframe_eq (first, node->peer));
    zframe_destroy (&first);
    WAIT_STAT (client, reconnects, 1);
    //  Welcomed, then the node says BYE.
    s_welcome (node, 100, LIVENESS_LAX);
    assert_int_equal (fed_agent_client_wait_ready (client, 2000 * s_slack ()), 0);
    first = zframe_dup (node->peer);
    fed_aw_msg_t bye = {.type = FED_AW_BYE};
    s_send (node, &bye);
    s_expect (node, FED_AW_READY, 2000);
    assert_false (zframe_eq (first, node->peer));
    zframe_destroy (&first);
    fed_agent_client_stats_t stats;
    fed_agent_client_stats (client, &stats);
    assert_int_equal (stats.reconnects, 2);
    fed_agent_client_destroy (&client);
}

//  ERROR not_ready: READY again on the same connection; ERROR
//  unknown_task: that task is dropped; another ERROR is only logged.
static void
test_errors (void **state)
{
    node_t *node = (node_t *) *state;
    fed_agent_client_t *client = s_ready_client (node, 2);
    zframe_t *first = zframe_dup (node->peer);
    s_task (node, 5, "sys.sleep", RAW ("\x81\xa2ms\xcd\x27\x10"), 60000);
    s_task (node, 6, "sys.sleep", RAW ("\x81\xa2ms\xcd\x27\x10"), 60000);
    WAIT_STAT (client, tasks_running, 2);
    fed_aw_msg_t error = {.type = FED_AW_ERROR, .task = 5};
    strcpy (error.code, "unknown_task");
    strcpy (error.message, "no task 5 for this process");
    s_send (node, &error);
    WAIT_STAT (client, tasks_running, 1);
    error = (fed_aw_msg_t){.type = FED_AW_ERROR};
    strcpy (error.code, "conflict");
    strcpy (error.message, "sys.echo is offered by another process");
    s_send (node, &error);
    error = (fed_aw_msg_t){.type = FED_AW_ERROR};
    strcpy (error.code, "not_ready");
    strcpy (error.message, "send READY first");
    s_send (node, &error);
    s_expect (node, FED_AW_READY, 2000);
    assert_true (zframe_eq (first, node->peer));
    zframe_destroy (&first);
    fed_agent_client_stats_t stats;
    fed_agent_client_stats (client, &stats);
    assert_int_equal (stats.readies, 2);
    assert_int_equal (stats.reconnects, 0);
    assert_false (stats.ready);
    assert_int_equal (stats.tasks_dropped, 2); //  task 6 went with the node's memory of us
    assert_int_equal (stats.tasks_running, 0);
    //  A second not_ready before the WELCOME answers what was sent
    //  before the new READY: no third READY.
    s_send (node, &error);
    s_welcome (node, 100, LIVENESS_LAX);
    assert_int_equal (fed_agent_client_wait_ready (client, 2000 * s_slack ()), 0);
    fed_agent_client_stats (client, &stats);
    assert_int_equal (stats.readies, 2);
    assert_int_equal (node->seen [FED_AW_FAIL] + node->seen [FED_AW_RESULT], 0);
    fed_agent_client_destroy (&client);
}

//  Frames from the node that do not decode, or that a node does not send,
//  are ignored and counted; the client goes on.
static void
test_malformed_ignored (void **state)
{
    node_t *node = (node_t *) *state;
    fed_agent_client_t *client = s_ready_client (node, 1);
    static const struct {
        const char *bytes;
        size_t size;
    } frames [] = {
        {RAW ("")},
        {RAW ("garbage")},
        {RAW ("\x93\x02\xa9HEARTBEAT\x80")},                          //  version 2
        {RAW ("\x93\x01\xa4NOPE\x80")},                               //  unknown type
        {RAW ("\x93\x01\xa4TASK\x81\xa4task\x07")},                   //  missing keys
        {RAW ("\x93\x01\xa4TASK\x81\xa6params\xdf\xff\xff\xff\xff")}, //  a huge map
        {RAW ("\x93\x01\xa6RESULT\x82\xa4task\x07\xa6output\x80")},   //  an agent's message
        {RAW ("\x93\x01\xa5READY\x81\xa6"
              "agents\x91\x82\xa4name\xa1x\xa7version\xa1"
              "1")},
    };
    size_t count = sizeof frames / sizeof frames [0];
    for (size_t i = 0; i < count; i++)
        s_send_raw (node, frames [i].bytes, frames [i].size);
    //  A message of two frames.
    zmsg_t *msg = zmsg_new ();
    zmsg_append (msg, &(zframe_t *){zframe_dup (node->peer)});
    zmsg_addstr (msg, "\x93\x01\xa9HEARTBEAT\x80");
    zmsg_addstr (msg, "more");
    assert_int_equal (zmsg_send (&msg, node->router), 0);
    WAIT_STAT (client, frames_dropped, count + 1);
    s_task (node, 3, "sys.echo", RAW ("\x80"), 60000);
    s_expect (node, FED_AW_RESULT, 2000);
    assert_int_equal (node->msg.task, 3);
    fed_agent_client_stats_t stats;
    fed_agent_client_stats (client, &stats);
    assert_true (stats.ready);
    assert_int_equal (stats.reconnects, 0);
    assert_int_equal (stats.tasks_received, 1);
    fed_agent_client_destroy (&client);
}

int
main (void)
{
    zsys_init ();
    zsys_handler_set (NULL);
    fed_log_set_level (FED_LOG_WARN);
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_options_from_env),
        cmocka_unit_test_setup_teardown (test_new_refuses, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_ready_welcome_result, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_fail, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_progress_and_cancel, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_heartbeat_loss, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_no_welcome_and_bye, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_errors, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_malformed_ignored, s_setup, s_teardown),
    };
    return cmocka_run_group_tests (tests, s_group_setup, s_group_teardown);
}
