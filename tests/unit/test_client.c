/*  tests/unit/test_client.c: the control client against a fake node.

    The fake node is an actor holding a CURVE ROUTER (ZAP domain "control")
    that answers by command name: "echo" succeeds with {command, args},
    "fail" answers not_found, "silent" never answers, "garbage" answers with
    bytes that are not a reply. One ZAP handler serves the whole program
    (one per process); it admits only the trusted client's key, so a second
    identity shows what a refused key looks like.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "testutil.h"
#include <czmq.h>
#include <sodium.h>

#include "client.h"
#include "ctlmsg.h"
#include "curve.h"
#include "json.h"

typedef struct {
    fed_zap_t *zap;           //  the process's one ZAP handler
    fed_identity_t *server;   //  the fake node's identity
    fed_identity_t *trusted;  //  a client key the ZAP handler admits
    fed_identity_t *stranger; //  a client key it refuses
    zactor_t *node;           //  the fake node
    char endpoint [64];       //  where it listens
} s_fixture_t;

//  Answers one request on the fake node's ROUTER.
static void
s_answer (zsock_t *router)
{
    zmsg_t *msg = zmsg_recv (router);
    if (!msg)
        return;
    zframe_t *routing = zmsg_pop (msg);
    zframe_t *delimiter = zmsg_pop (msg);
    zframe_t *body = zmsg_pop (msg);
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    fed_ctl_request_t request;
    const char *code;
    fed_err_t err;
    bool answer = true;
    if (!delimiter || zframe_size (delimiter) != 0 || !body)
        fed_ctl_reply_error (&pk, "bad_request", "expected an empty frame and a request");
    else if (fed_ctl_request_decode (zframe_data (body), zframe_size (body), &request, &code, &err))
        fed_ctl_reply_error (&pk, code, err.text);
    else if (streq (request.command, "fail"))
        fed_ctl_reply_error (&pk, "not_found", "no event has that id");
    else if (streq (request.command, "fail-list")) {
        //  ["a:1:1: one", "a:2:1: two"]
        static const char list [] = "\x92\xaa"
                                    "a:1:1: one"
                                    "\xaa"
                                    "a:2:1: two";
        fed_ctl_reply_error_list (&pk, "invalid", "2 errors", list, sizeof list - 1);
    } else if (streq (request.command, "silent"))
        answer = false;
    else if (streq (request.command, "garbage"))
        msgpack_pack_str_with_body (&pk, "nonsense", 8);
    else {
        //  The result: {"command": name, "args": the args map as sent}.
        fed_mpr_t reader;
        fed_mpr_init (&reader, zframe_data (body), zframe_size (body));
        uint32_t count;
        uint64_t version;
        const char *name;
        uint32_t name_size;
        assert_int_equal (fed_mpr_array (&reader, &count), 0);
        assert_int_equal (fed_mpr_uint (&reader, &version), 0);
        assert_int_equal (fed_mpr_str (&reader, &name, &name_size), 0);
        fed_ctl_reply_ok (&pk);
        msgpack_pack_map (&pk, 2);
        msgpack_pack_str_with_body (&pk, "command", 7);
        msgpack_pack_str_with_body (&pk, name, name_size);
        msgpack_pack_str_with_body (&pk, "args", 4);
        msgpack_sbuffer_write (&buffer, (const char *) reader.data + reader.pos,
                               reader.size - reader.pos);
    }
    if (answer) {
        zmsg_t *reply = zmsg_new ();
        zmsg_append (reply, &routing);
        zmsg_addmem (reply, NULL, 0);
        zmsg_addmem (reply, buffer.data, buffer.size);
        zmsg_send (&reply, router);
    }
    msgpack_sbuffer_destroy (&buffer);
    zframe_destroy (&routing);
    zframe_destroy (&delimiter);
    zframe_destroy (&body);
    zmsg_destroy (&msg);
}

//  The fake node: binds a CURVE ROUTER on a free port, reports the port,
//  answers until $TERM.
static void
s_node_actor (zsock_t *pipe, void *arg)
{
    const fed_identity_t *identity = (const fed_identity_t *) arg;
    zsock_t *router = zsock_new (ZMQ_ROUTER);
    fed_socket_defaults (router, FED_CLIENT_MAX_MESSAGE);
    fed_curve_server (router, fed_identity_curve_secret (identity),
                      fed_identity_curve_public (identity), "control");
    int port = zsock_bind (router, "tcp://127.0.0.1:*");
    zsock_signal (pipe, 0);
    zsock_send (pipe, "i", port);
    zpoller_t *poller = zpoller_new (pipe, router, NULL);
    while (true) {
        void *which = zpoller_wait (poller, -1);
        if (which == router)
            s_answer (router);
        else
            break; //  $TERM on the pipe, or interrupted
    }
    zpoller_destroy (&poller);
    zsock_destroy (&router);
}

static int
s_group_setup (void **state)
{
    s_fixture_t *fixture = (s_fixture_t *) fed_calloc (1, sizeof *fixture);
    fed_err_t err;
    fixture->zap = fed_zap_new (&err);
    if (!fixture->zap)
        return -1;
    fixture->server = fed_identity_generate ();
    fixture->trusted = fed_identity_generate ();
    fixture->stranger = fed_identity_generate ();
    fed_zap_allow (fixture->zap, "control", fed_identity_curve_public (fixture->trusted),
                   fed_identity_id (fixture->trusted));
    fixture->node = zactor_new (s_node_actor, fixture->server);
    int port = -1;
    if (zsock_recv (fixture->node, "i", &port) || port <= 0)
        return -1;
    snprintf (fixture->endpoint, sizeof fixture->endpoint, "tcp://127.0.0.1:%d", port);
    *state = fixture;
    return 0;
}

static int
s_group_teardown (void **state)
{
    s_fixture_t *fixture = (s_fixture_t *) *state;
    zactor_destroy (&fixture->node);
    fed_zap_destroy (&fixture->zap);
    fed_identity_destroy (&fixture->server);
    fed_identity_destroy (&fixture->trusted);
    fed_identity_destroy (&fixture->stranger);
    free (fixture);
    return 0;
}

//  Packs a request with no arguments (or rid and exp when replay is set).
static void
s_request (msgpack_sbuffer *buffer, const char *command, bool replay)
{
    msgpack_sbuffer_init (buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, buffer, msgpack_sbuffer_write);
    fed_ctl_request_begin (&pk, command, replay ? 2 : 0);
    if (replay)
        fed_client_pack_replay (&pk);
}

//  Calls command on a fresh client; returns the status and leaves the
//  reply's JSON (or the error) in out.
static fed_client_status_t
s_call (fed_client_t *client, const char *command, bool replay, int timeout_ms, char **json_p,
        char *code, fed_err_t *err)
{
    msgpack_sbuffer request;
    s_request (&request, command, replay);
    uint8_t *reply;
    size_t reply_size;
    fed_blob_t result;
    fed_client_status_t status = fed_client_call (client, request.data, request.size, timeout_ms,
                                                  &reply, &reply_size, &result, code, 32, err);
    msgpack_sbuffer_destroy (&request);
    *json_p = NULL;
    if (status == FED_CLIENT_OK) {
        assert_non_null (reply);
        assert_true (result.data >= reply && result.data + result.size <= reply + reply_size);
        *json_p = fed_json_from_msgpack (result.data, result.size, false);
        assert_non_null (*json_p);
        free (reply);
    } else
        assert_null (reply);
    return status;
}

static void
test_bad_arguments (void **state)
{
    s_fixture_t *fixture = (s_fixture_t *) *state;
    fed_err_t err;
    uint8_t bad_key [32] = {0};
    bad_key [31] = 0x80; //  not a point on the curve
    bad_key [0] = 2;
    assert_null (fed_client_new ("tcp://127.0.0.1:1", fixture->trusted, bad_key, &err));
    assert_contains (err.text, "not a valid ed25519");
    assert_null (
        fed_client_new ("nonsense", fixture->trusted, fed_identity_public (fixture->server), &err));
    assert_contains (err.text, "not a ZeroMQ endpoint");
    assert_null (
        fed_client_new (NULL, fixture->trusted, fed_identity_public (fixture->server), &err));
}

static void
test_ok (void **state)
{
    s_fixture_t *fixture = (s_fixture_t *) *state;
    fed_err_t err;
    fed_client_t *client = fed_client_new (fixture->endpoint, fixture->trusted,
                                           fed_identity_public (fixture->server), &err);
    assert_non_null (client);
    assert_string_equal (fed_client_endpoint (client), fixture->endpoint);
    char code [32];
    char *json;
    assert_int_equal (s_call (client, "status", false, 5000, &json, code, &err), FED_CLIENT_OK);
    assert_string_equal (json, "{\"command\":\"status\",\"args\":{}}");
    free (json);
    //  A second call on the same connection.
    assert_int_equal (s_call (client, "events.publish", true, 5000, &json, code, &err),
                      FED_CLIENT_OK);
    assert_contains (json, "\"rid\":{\"$bin\":\"");
    assert_contains (json, "\"exp\":");
    free (json);
    fed_client_destroy (&client);
    assert_null (client);
    fed_client_destroy (&client);
}

//  rid is 16 fresh bytes, exp now + 60 s.
static void
test_replay_args (void **state)
{
    (void) state;
    msgpack_sbuffer a, b;
    s_request (&a, "x", true);
    s_request (&b, "x", true);
    assert_int_equal (a.size, b.size);
    assert_memory_not_equal (a.data, b.data, a.size);
    fed_mpr_t reader;
    fed_mpr_init (&reader, a.data, a.size);
    uint32_t count;
    uint64_t version, exp;
    const char *text;
    const uint8_t *bin;
    uint32_t len;
    assert_int_equal (fed_mpr_array (&reader, &count), 0);
    assert_int_equal (fed_mpr_uint (&reader, &version), 0);
    assert_int_equal (fed_mpr_str (&reader, &text, &len), 0);
    assert_int_equal (fed_mpr_map (&reader, &count), 0);
    assert_int_equal (count, 2);
    assert_int_equal (fed_mpr_str (&reader, &text, &len), 0);
    assert_int_equal (len, 3);
    assert_memory_equal (text, "rid", 3);
    assert_int_equal (fed_mpr_bin (&reader, &bin, &len), 0);
    assert_int_equal (len, 16);
    assert_int_equal (fed_mpr_str (&reader, &text, &len), 0);
    assert_memory_equal (text, "exp", 3);
    assert_int_equal (fed_mpr_uint (&reader, &exp), 0);
    int64_t ahead = (int64_t) exp - fed_wall_ms ();
    assert_true (ahead > 55000 && ahead <= FED_CLIENT_EXP_MS);
    assert_true (fed_mpr_done (&reader));
    msgpack_sbuffer_destroy (&a);
    msgpack_sbuffer_destroy (&b);
}

static void
test_failed (void **state)
{
    s_fixture_t *fixture = (s_fixture_t *) *state;
    fed_err_t err;
    fed_client_t *client = fed_client_new (fixture->endpoint, fixture->trusted,
                                           fed_identity_public (fixture->server), &err);
    assert_non_null (client);
    char code [32];
    char *json;
    assert_int_equal (s_call (client, "fail", false, 5000, &json, code, &err), FED_CLIENT_FAILED);
    assert_string_equal (code, "not_found");
    assert_string_equal (err.text, "no event has that id");
    fed_blob_t failure = fed_client_last_error (client);
    assert_non_null (failure.data);
    //  A failure with every problem listed: the error map keeps them.
    assert_int_equal (s_call (client, "fail-list", false, 5000, &json, code, &err),
                      FED_CLIENT_FAILED);
    assert_string_equal (code, "invalid");
    assert_string_equal (err.text, "2 errors");
    failure = fed_client_last_error (client);
    char *map = fed_json_from_msgpack (failure.data, failure.size, false);
    assert_non_null (map);
    assert_contains (map, "\"errors\":[\"a:1:1: one\",\"a:2:1: two\"]");
    free (map);
    assert_int_equal (s_call (client, "garbage", false, 5000, &json, code, &err),
                      FED_CLIENT_FAILED);
    assert_string_equal (code, "bad_reply");
    assert_null (fed_client_last_error (client).data);
    //  Still usable afterwards.
    assert_int_equal (s_call (client, "status", false, 5000, &json, code, &err), FED_CLIENT_OK);
    assert_null (fed_client_last_error (client).data);
    free (json);
    fed_client_destroy (&client);
}

//  A node that never answers: UNREACHABLE after about the timeout, and the
//  next call on the same client gets its own reply, not a stale one.
static void
test_timeout (void **state)
{
    s_fixture_t *fixture = (s_fixture_t *) *state;
    fed_err_t err;
    fed_client_t *client = fed_client_new (fixture->endpoint, fixture->trusted,
                                           fed_identity_public (fixture->server), &err);
    assert_non_null (client);
    char code [32];
    char *json;
    int64_t start = fed_mono_ms ();
    assert_int_equal (s_call (client, "silent", false, 300, &json, code, &err),
                      FED_CLIENT_UNREACHABLE);
    int64_t took = fed_mono_ms () - start;
    if (took < 290 || took > 2000) {
        print_error ("expected a timeout after ~300 ms, took %lld ms\n", (long long) took);
        fail ();
    }
    assert_contains (err.text, fixture->endpoint);
    assert_contains (err.text, "no reply within 300 ms");
    assert_int_equal (s_call (client, "status", false, 5000, &json, code, &err), FED_CLIENT_OK);
    assert_string_equal (json, "{\"command\":\"status\",\"args\":{}}");
    free (json);
    fed_client_destroy (&client);
}

//  A key the node's ZAP handler refuses: UNREACHABLE at once, saying so.
static void
test_refused (void **state)
{
    s_fixture_t *fixture = (s_fixture_t *) *state;
    fed_err_t err;
    fed_client_t *client = fed_client_new (fixture->endpoint, fixture->stranger,
                                           fed_identity_public (fixture->server), &err);
    assert_non_null (client);
    char code [32];
    char *json;
    int64_t start = fed_mono_ms ();
    assert_int_equal (s_call (client, "status", false, 10000, &json, code, &err),
                      FED_CLIENT_UNREACHABLE);
    int64_t took = fed_mono_ms () - start;
    if (took > 4000) {
        print_error ("expected the refusal at once, took %lld ms\n", (long long) took);
        fail ();
    }
    assert_contains (err.text, "the node refused this key: it is not in its trusted set");
    //  Once trusted, the same client gets through.
    fed_zap_allow (fixture->zap, "control", fed_identity_curve_public (fixture->stranger),
                   fed_identity_id (fixture->stranger));
    assert_int_equal (s_call (client, "status", false, 5000, &json, code, &err), FED_CLIENT_OK);
    free (json);
    fed_zap_deny (fixture->zap, "control", fed_identity_curve_public (fixture->stranger));
    fed_client_destroy (&client);
}

//  Nobody listening: UNREACHABLE after the timeout, saying no connection.
static void
test_nobody_listening (void **state)
{
    s_fixture_t *fixture = (s_fixture_t *) *state;
    //  An IPC path nobody binds: a TCP port in the ephemeral range could
    //  connect to itself (TCP simultaneous open) and fail the handshake.
    char endpoint [64];
    snprintf (endpoint, sizeof endpoint, "ipc:///tmp/fed-test-client-nobody-%d", (int) getpid ());
    fed_err_t err;
    fed_client_t *client =
        fed_client_new (endpoint, fixture->trusted, fed_identity_public (fixture->server), &err);
    assert_non_null (client);
    char code [32];
    char *json;
    assert_int_equal (s_call (client, "status", false, 300, &json, code, &err),
                      FED_CLIENT_UNREACHABLE);
    assert_contains (err.text, endpoint);
    assert_contains (err.text, "no connection within 300 ms");
    fed_client_destroy (&client);
}

//  The wrong server key: the handshake never completes.
static void
test_wrong_server_key (void **state)
{
    s_fixture_t *fixture = (s_fixture_t *) *state;
    fed_err_t err;
    fed_client_t *client = fed_client_new (fixture->endpoint, fixture->trusted,
                                           fed_identity_public (fixture->stranger), &err);
    assert_non_null (client);
    char code [32];
    char *json;
    assert_int_equal (s_call (client, "status", false, 500, &json, code, &err),
                      FED_CLIENT_UNREACHABLE);
    assert_contains (err.text, "server key");
    fed_client_destroy (&client);
}

int
main (void)
{
    zsys_init ();
    zsys_handler_set (NULL);
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_bad_arguments),    cmocka_unit_test (test_ok),
        cmocka_unit_test (test_replay_args),      cmocka_unit_test (test_failed),
        cmocka_unit_test (test_timeout),          cmocka_unit_test (test_refused),
        cmocka_unit_test (test_nobody_listening), cmocka_unit_test (test_wrong_server_key),
    };
    return cmocka_run_group_tests (tests, s_group_setup, s_group_teardown);
}
