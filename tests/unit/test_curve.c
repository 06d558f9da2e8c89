/*  tests/unit/test_curve.c: the ZAP handler with real CURVE sockets.

    Each test binds a CURVE ROUTER on 127.0.0.1 in a ZAP domain of its own
    and connects CURVE DEALER clients that each send one frame naming
    themselves. A client got through when its frame arrives; the server
    reads the User-Id the handler gave it from the frame. A client the
    handler refuses is given a long reconnect interval, so it makes one
    attempt and the handshake counters can be checked exactly. A handshake
    over the pending rate is held until the handshake timeout (ZAP status
    300), which the tests shorten to 1 s. One ZAP handler serves the whole
    program (one per process).
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "testutil.h"
#include <czmq.h>

#include "curve.h"

#define REFUSED_WAIT_MS 300   //  how long a refused client's frame is waited for
#define ARRIVAL_WAIT_MS 5000  //  deadline for a frame that should arrive
#define ONE_ATTEMPT_MS 600000 //  reconnect interval of clients meant to try once
#define HANDSHAKE_MS 1000     //  handshake timeout: an over-the-rate client waits this long

#define SOCKETS_MAX 16

typedef struct {
    fed_zap_t *zap;                 //  the process's one ZAP handler
    fed_identity_t *server;         //  the servers' identity
    zsock_t *sockets [SOCKETS_MAX]; //  the running test's sockets
    size_t socket_count;            //  closed after each test, failed or not
} s_fixture_t;

//  Keeps sock to be closed after the test, so that a failed test leaves no
//  client retrying into the next one.
static zsock_t *
s_keep (s_fixture_t *fixture, zsock_t *sock)
{
    assert_non_null (sock);
    assert_true (fixture->socket_count < SOCKETS_MAX);
    fixture->sockets [fixture->socket_count++] = sock;
    return sock;
}

//  Handshake counters, all four.
typedef struct {
    uint64_t admitted, refused, pending_admitted, pending_refused;
} s_counts_t;

static s_counts_t
s_counts (fed_zap_t *zap)
{
    s_counts_t counts;
    fed_zap_counts (zap, &counts.admitted, &counts.refused);
    fed_zap_pending_counts (zap, &counts.pending_admitted, &counts.pending_refused);
    return counts;
}

//  Waits until the counters have moved by exactly the deltas given from
//  before (handshakes finish on the handler's thread, a little after the
//  client sees the outcome), then checks they moved by no more.
static void
s_expect_counts (fed_zap_t *zap, s_counts_t before, uint64_t admitted, uint64_t refused,
                 uint64_t pending_admitted, uint64_t pending_refused)
{
    s_counts_t now;
    int64_t deadline = fed_mono_ms () + ARRIVAL_WAIT_MS;
    do {
        now = s_counts (zap);
        if (now.admitted - before.admitted == admitted && now.refused - before.refused == refused
            && now.pending_admitted - before.pending_admitted == pending_admitted
            && now.pending_refused - before.pending_refused == pending_refused)
            return;
        zclock_sleep (10);
    } while (fed_mono_ms () < deadline);
    print_error ("expected counts to move by admitted %llu, refused %llu, pending admitted %llu, "
                 "pending refused %llu; they moved by %llu, %llu, %llu, %llu\n",
                 (unsigned long long) admitted, (unsigned long long) refused,
                 (unsigned long long) pending_admitted, (unsigned long long) pending_refused,
                 (unsigned long long) (now.admitted - before.admitted),
                 (unsigned long long) (now.refused - before.refused),
                 (unsigned long long) (now.pending_admitted - before.pending_admitted),
                 (unsigned long long) (now.pending_refused - before.pending_refused));
    fail ();
}

//  A CURVE ROUTER in domain on a free port of 127.0.0.1, closed after the
//  test; its endpoint goes into endpoint (64 bytes).
static zsock_t *
s_server (s_fixture_t *fixture, const char *domain, char *endpoint)
{
    zsock_t *router = s_keep (fixture, zsock_new (ZMQ_ROUTER));
    fed_socket_defaults (router, 65536);
    zsock_set_handshake_ivl (router, HANDSHAKE_MS);
    fed_curve_server (router, fed_identity_curve_secret (fixture->server),
                      fed_identity_curve_public (fixture->server), domain);
    int port = zsock_bind (router, "tcp://127.0.0.1:*");
    assert_true (port > 0);
    snprintf (endpoint, 64, "tcp://127.0.0.1:%d", port);
    return router;
}

//  A CURVE DEALER as identity that connects to endpoint and sends name,
//  closed after the test. reconnect_ms: how soon it tries again after a
//  dropped handshake.
static void
s_client (s_fixture_t *fixture, const fed_identity_t *identity, const char *endpoint,
          const char *name, int reconnect_ms)
{
    zsock_t *dealer = s_keep (fixture, zsock_new (ZMQ_DEALER));
    fed_socket_defaults (dealer, 65536);
    zsock_set_handshake_ivl (dealer, HANDSHAKE_MS);
    zsock_set_reconnect_ivl (dealer, reconnect_ms);
    fed_curve_client (dealer, fed_identity_curve_secret (identity),
                      fed_identity_curve_public (identity),
                      fed_identity_curve_public (fixture->server));
    assert_int_equal (zsock_connect (dealer, "%s", endpoint), 0);
    assert_int_equal (zstr_send (dealer, name), 0);
}

//  Receives one client frame within timeout_ms. Returns 0 with the frame's
//  text and User-Id (caller frees both; User-Id "" if none), or -1 if
//  nothing came.
static int
s_receive (zsock_t *router, int timeout_ms, char **name_p, char **user_id_p)
{
    zsock_set_rcvtimeo (router, timeout_ms);
    zmsg_t *msg = zmsg_recv (router);
    if (!msg)
        return -1;
    assert_int_equal (zmsg_size (msg), 2);
    zframe_t *routing = zmsg_pop (msg);
    zframe_t *body = zmsg_pop (msg);
    const char *user_id = zframe_meta (body, "User-Id");
    *user_id_p = fed_strdup (user_id ? user_id : "");
    *name_p = zframe_strdup (body);
    zframe_destroy (&routing);
    zframe_destroy (&body);
    zmsg_destroy (&msg);
    return 0;
}

//  Expects the frame of client name to arrive with user_id.
static void
s_expect_arrival (zsock_t *router, const char *name, const char *user_id)
{
    char *got_name, *got_user_id;
    if (s_receive (router, ARRIVAL_WAIT_MS, &got_name, &got_user_id)) {
        print_error ("expected %s's frame (User-Id %s); nothing came within %d ms\n", name, user_id,
                     ARRIVAL_WAIT_MS);
        fail ();
    }
    assert_string_equal (got_name, name);
    assert_string_equal (got_user_id, user_id);
    free (got_name);
    free (got_user_id);
}

//  Expects no frame at all within REFUSED_WAIT_MS.
static void
s_expect_nothing (zsock_t *router, const char *why)
{
    char *got_name, *got_user_id;
    if (s_receive (router, REFUSED_WAIT_MS, &got_name, &got_user_id) == 0) {
        print_error ("expected nothing (%s); got \"%s\" with User-Id \"%s\"\n", why, got_name,
                     got_user_id);
        fail ();
    }
}

//  "pending:" and the hex of identity's CURVE public key.
static void
s_pending_id (const fed_identity_t *identity, char id [8 + 64 + 1])
{
    memcpy (id, "pending:", 8);
    fed_hex_encode (id + 8, fed_identity_curve_public (identity), 32);
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
    *state = fixture;
    return 0;
}

static int
s_group_teardown (void **state)
{
    s_fixture_t *fixture = (s_fixture_t *) *state;
    fed_zap_destroy (&fixture->zap);
    assert_null (fixture->zap);
    fed_zap_destroy (&fixture->zap);
    fed_identity_destroy (&fixture->server);
    free (fixture);
    return 0;
}

static int
s_teardown (void **state)
{
    s_fixture_t *fixture = (s_fixture_t *) *state;
    for (size_t i = 0; i < fixture->socket_count; i++)
        zsock_destroy (&fixture->sockets [i]);
    fixture->socket_count = 0;
    return 0;
}

//  A second handler in the same process is refused, saying why.
static void
test_one_handler_per_process (void **state)
{
    (void) state;
    fed_err_t err;
    assert_null (fed_zap_new (&err));
    assert_contains (err.text, "already bound");
}

//  A key in the allow table gets the User-Id its entry gives.
static void
test_trusted_user_id (void **state)
{
    s_fixture_t *fixture = (s_fixture_t *) *state;
    fed_identity_t *trusted = fed_identity_generate ();
    fed_zap_allow (fixture->zap, "trusted", fed_identity_curve_public (trusted), "trusted-user");
    s_counts_t before = s_counts (fixture->zap);
    char endpoint [64];
    zsock_t *router = s_server (fixture, "trusted", endpoint);
    s_client (fixture, trusted, endpoint, "trusted", 100);
    s_expect_arrival (router, "trusted", "trusted-user");
    s_expect_counts (fixture->zap, before, 1, 0, 0, 0);
    fed_identity_destroy (&trusted);
}

//  An unknown key in a domain without pending mode gets nothing through.
static void
test_unknown_refused (void **state)
{
    s_fixture_t *fixture = (s_fixture_t *) *state;
    fed_identity_t *stranger = fed_identity_generate ();
    s_counts_t before = s_counts (fixture->zap);
    char endpoint [64];
    zsock_t *router = s_server (fixture, "closed", endpoint);
    s_client (fixture, stranger, endpoint, "stranger", ONE_ATTEMPT_MS);
    s_expect_nothing (router, "an unknown key in a domain without pending mode");
    s_expect_counts (fixture->zap, before, 0, 1, 0, 0);
    fed_identity_destroy (&stranger);
}

//  In a pending domain an unknown key gets "pending:<hex curve key>" and a
//  trusted key its own User-Id; another domain still refuses the unknown
//  key.
static void
test_pending_user_id (void **state)
{
    s_fixture_t *fixture = (s_fixture_t *) *state;
    fed_identity_t *stranger = fed_identity_generate ();
    fed_identity_t *trusted = fed_identity_generate ();
    fed_zap_set_pending (fixture->zap, "open", 100, 10);
    fed_zap_allow (fixture->zap, "open", fed_identity_curve_public (trusted), "trusted-user");
    s_counts_t before = s_counts (fixture->zap);
    char endpoint [64], closed_endpoint [64], pending_id [73];
    s_pending_id (stranger, pending_id);
    zsock_t *router = s_server (fixture, "open", endpoint);
    zsock_t *closed = s_server (fixture, "closed-too", closed_endpoint);

    s_client (fixture, stranger, endpoint, "stranger", ONE_ATTEMPT_MS);
    s_expect_arrival (router, "stranger", pending_id);
    s_client (fixture, trusted, endpoint, "trusted", 100);
    s_expect_arrival (router, "trusted", "trusted-user");
    s_client (fixture, stranger, closed_endpoint, "stranger", ONE_ATTEMPT_MS);
    s_expect_nothing (closed, "an unknown key in a domain next to a pending one");
    s_expect_counts (fixture->zap, before, 2, 1, 1, 0);

    fed_zap_set_pending (fixture->zap, "open", 0, 0);
    fed_identity_destroy (&stranger);
    fed_identity_destroy (&trusted);
}

//  burst unknown keys get in at once, the next is refused, a trusted key is
//  not held up, and once a token is back (1 a second) an unknown key gets in
//  again.
static void
test_pending_rate (void **state)
{
    s_fixture_t *fixture = (s_fixture_t *) *state;
    enum { BURST = 3 };
    fed_identity_t *strangers [BURST + 2];
    for (size_t i = 0; i < BURST + 2; i++)
        strangers [i] = fed_identity_generate ();
    fed_identity_t *trusted = fed_identity_generate ();
    fed_zap_allow (fixture->zap, "limited", fed_identity_curve_public (trusted), "trusted-user");
    fed_zap_set_pending (fixture->zap, "limited", 1, BURST);
    s_counts_t before = s_counts (fixture->zap);
    char endpoint [64], pending_id [73], name [32];
    zsock_t *router = s_server (fixture, "limited", endpoint);

    //  One after the other, so which one finds the bucket empty is known.
    for (size_t i = 0; i < BURST; i++) {
        snprintf (name, sizeof name, "stranger-%zu", i);
        s_pending_id (strangers [i], pending_id);
        s_client (fixture, strangers [i], endpoint, name, ONE_ATTEMPT_MS);
        s_expect_arrival (router, name, pending_id);
    }
    int64_t emptied_ms = fed_mono_ms ();
    s_client (fixture, strangers [BURST], endpoint, "one-too-many", ONE_ATTEMPT_MS);
    s_expect_nothing (router, "the pending key after the burst");
    s_expect_counts (fixture->zap, before, BURST, 1, BURST, 1);

    s_client (fixture, trusted, endpoint, "trusted", 100);
    s_expect_arrival (router, "trusted", "trusted-user");

    //  A client that keeps trying gets in once the next token is earned,
    //  a second after the bucket emptied.
    s_pending_id (strangers [BURST + 1], pending_id);
    s_client (fixture, strangers [BURST + 1], endpoint, "patient", 50);
    s_expect_arrival (router, "patient", pending_id);
    int64_t waited = fed_mono_ms () - emptied_ms;
    if (waited < 500) {
        print_error ("expected the next pending key about 1 s after the burst; it got in after "
                     "%lld ms\n",
                     (long long) waited);
        fail ();
    }
    s_counts_t after = s_counts (fixture->zap);
    assert_int_equal (after.pending_admitted - before.pending_admitted, BURST + 1);
    assert_true (after.pending_refused - before.pending_refused >= 1);
    assert_int_equal (after.refused - before.refused,
                      after.pending_refused - before.pending_refused);
    assert_int_equal (after.admitted - before.admitted, BURST + 2);

    for (size_t i = 0; i < BURST + 2; i++) {
        fed_identity_destroy (&strangers [i]);
    }
    fed_zap_set_pending (fixture->zap, "limited", 0, 0);
    fed_identity_destroy (&trusted);
}

//  A denied key is pending in a pending domain and refused in another.
static void
test_deny (void **state)
{
    s_fixture_t *fixture = (s_fixture_t *) *state;
    fed_identity_t *key = fed_identity_generate ();
    fed_zap_set_pending (fixture->zap, "deny-open", 100, 10);
    fed_zap_allow (fixture->zap, "deny-open", fed_identity_curve_public (key), "its-user");
    fed_zap_allow (fixture->zap, "deny-closed", fed_identity_curve_public (key), "its-user");
    s_counts_t before = s_counts (fixture->zap);
    char open_endpoint [64], closed_endpoint [64], pending_id [73];
    s_pending_id (key, pending_id);
    zsock_t *open = s_server (fixture, "deny-open", open_endpoint);
    zsock_t *closed = s_server (fixture, "deny-closed", closed_endpoint);

    s_client (fixture, key, open_endpoint, "open-trusted", 100);
    s_expect_arrival (open, "open-trusted", "its-user");
    s_client (fixture, key, closed_endpoint, "closed-trusted", 100);
    s_expect_arrival (closed, "closed-trusted", "its-user");

    fed_zap_deny (fixture->zap, "deny-open", fed_identity_curve_public (key));
    fed_zap_deny (fixture->zap, "deny-closed", fed_identity_curve_public (key));
    s_client (fixture, key, open_endpoint, "open-denied", ONE_ATTEMPT_MS);
    s_expect_arrival (open, "open-denied", pending_id);
    s_client (fixture, key, closed_endpoint, "closed-denied", ONE_ATTEMPT_MS);
    s_expect_nothing (closed, "a denied key in a domain without pending mode");
    s_expect_counts (fixture->zap, before, 3, 1, 1, 0);

    fed_zap_set_pending (fixture->zap, "deny-open", 0, 0);
    fed_identity_destroy (&key);
}

//  rate 0 ends pending mode; a burst of 0 admits one.
static void
test_pending_off_and_burst_zero (void **state)
{
    s_fixture_t *fixture = (s_fixture_t *) *state;
    fed_identity_t *stranger = fed_identity_generate ();
    char endpoint [64], pending_id [73];
    s_pending_id (stranger, pending_id);
    zsock_t *router = s_server (fixture, "switch", endpoint);
    s_counts_t before = s_counts (fixture->zap);

    fed_zap_set_pending (fixture->zap, "switch", 100, 10);
    s_client (fixture, stranger, endpoint, "while-on", ONE_ATTEMPT_MS);
    s_expect_arrival (router, "while-on", pending_id);
    fed_zap_set_pending (fixture->zap, "switch", 0, 10);
    s_client (fixture, stranger, endpoint, "while-off", ONE_ATTEMPT_MS);
    s_expect_nothing (router, "an unknown key after pending mode was turned off");
    s_expect_counts (fixture->zap, before, 1, 1, 1, 0);

    //  Back on with burst 0: one, then none until a token is earned (1 s).
    fed_zap_set_pending (fixture->zap, "switch", 1, 0);
    s_client (fixture, stranger, endpoint, "first", ONE_ATTEMPT_MS);
    s_expect_arrival (router, "first", pending_id);
    s_client (fixture, stranger, endpoint, "second", ONE_ATTEMPT_MS);
    s_expect_nothing (router, "a second pending key with a burst of 0 (counted as 1)");
    s_expect_counts (fixture->zap, before, 2, 2, 2, 1);

    fed_zap_set_pending (fixture->zap, "switch", 0, 0);
    fed_identity_destroy (&stranger);
}

int
main (void)
{
    zsys_init ();
    zsys_handler_set (NULL);
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_one_handler_per_process),
        cmocka_unit_test_teardown (test_trusted_user_id, s_teardown),
        cmocka_unit_test_teardown (test_unknown_refused, s_teardown),
        cmocka_unit_test_teardown (test_pending_user_id, s_teardown),
        cmocka_unit_test_teardown (test_pending_rate, s_teardown),
        cmocka_unit_test_teardown (test_deny, s_teardown),
        cmocka_unit_test_teardown (test_pending_off_and_burst_zero, s_teardown),
    };
    return cmocka_run_group_tests (tests, s_group_setup, s_group_teardown);
}
