/*  tests/unit/test_fedctl_members.c: `fedctl members` and its filters, end
    to end against a fake node, and the members table.

    The fake node is an actor holding a CURVE ROUTER (ZAP domain "control")
    that answers `members` the way the real command is meant to: it reads
    the filter with fed_member_filter_from_request, refuses unknown
    arguments, and returns those of four fixed members that match, in the
    full member shape of doc/protocol.md §3.4. The real fedctl binary is run
    against it, so what fedctl packs is checked by what the node's own
    parser makes of it. fed_print_members is also checked alone, on the
    smaller maps older nodes send.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "testutil.h"
#include <czmq.h>

#include "ctlmsg.h"
#include "curve.h"
#include "fedctl_print.h"
#include "memberfilter.h"

#define LABELS_MAX 2

//  One member of the fake cluster; NULL strings are nil.
typedef struct {
    const char *name;
    const char *state;
    uint64_t incarnation;
    const char *endpoint;
    bool self;
    uint64_t seq;
    const char *region, *zone, *site;
    const char *labels [LABELS_MAX][2]; //  key, value; unused entries NULL
} s_member_t;

static const s_member_t s_members [] = {
    {"alpha",
     "alive",
     3,
     "tcp://10.0.0.1:7701",
     true,
     12,
     "eu-west",
     "a",
     NULL,
     {{"tier", "gold"}}},
    {"beta",
     "suspect",
     1,
     "tcp://10.0.0.2:7701",
     false,
     7,
     "eu",
     "b",
     "rack-2",
     {{"tier", "silver"}}},
    {"gamma", "dead", 0, "tcp://10.0.0.3:7701", false, 1, "us-east", "", NULL, {{NULL, NULL}}},
    {"delta",
     "left",
     2,
     "tcp://10.0.0.4:7701",
     false,
     4,
     NULL,
     NULL,
     NULL,
     {{"tier", "gold"}, {"rack", "r1"}}},
};
#define S_MEMBER_COUNT (sizeof s_members / sizeof s_members [0])

typedef struct {
    fed_zap_t *zap;           //  the process's one ZAP handler
    fed_identity_t *server;   //  the fake node's identity
    fed_identity_t *operator; //  fedctl's key, trusted by the fake node
    zactor_t *node;           //  the fake node
    char endpoint [64];       //  where it listens
    char dir [64];            //  temp dir with the key files
} s_fixture_t;

//  --- The fake node -------------------------------------------------------------

static void
s_pack_str (msgpack_packer *pk, const char *text)
{
    if (text)
        msgpack_pack_str_with_body (pk, text, strlen (text));
    else
        msgpack_pack_nil (pk);
}

//  A member's tags as the node builds them: region, zone and site when set
//  and non-empty, then its labels. Returns how many.
static size_t
s_member_tags (const s_member_t *member, fed_member_tag_t *tags)
{
    size_t count = 0;
    const char *keys [] = {"region", "zone", "site"};
    const char *values [] = {member->region, member->zone, member->site};
    for (size_t i = 0; i < 3; i++)
        if (values [i] && *values [i])
            tags [count++] = (fed_member_tag_t){keys [i], values [i]};
    for (size_t i = 0; i < LABELS_MAX && member->labels [i][0]; i++)
        tags [count++] = (fed_member_tag_t){member->labels [i][0], member->labels [i][1]};
    return count;
}

static void
s_pack_member (msgpack_packer *pk, size_t index)
{
    const s_member_t *member = &s_members [index];
    uint8_t key [32];
    memset (key, (int) index + 1, sizeof key);
    char id [41];
    fed_z85_encode_key (id, key);
    msgpack_pack_map (pk, 9);
    s_pack_str (pk, "id");
    s_pack_str (pk, id);
    s_pack_str (pk, "name");
    s_pack_str (pk, member->name);
    s_pack_str (pk, "state");
    s_pack_str (pk, member->state);
    s_pack_str (pk, "incarnation");
    msgpack_pack_uint64 (pk, member->incarnation);
    s_pack_str (pk, "endpoint");
    s_pack_str (pk, member->endpoint);
    s_pack_str (pk, "self");
    if (member->self)
        msgpack_pack_true (pk);
    else
        msgpack_pack_false (pk);
    s_pack_str (pk, "since_ms");
    if (index == 0)
        msgpack_pack_nil (pk);
    else
        msgpack_pack_int64 (pk, 1700000000000 + (int64_t) index);
    s_pack_str (pk, "seq");
    msgpack_pack_uint64 (pk, member->seq);
    s_pack_str (pk, "location");
    msgpack_pack_map (pk, 6);
    s_pack_str (pk, "region");
    s_pack_str (pk, member->region);
    s_pack_str (pk, "zone");
    s_pack_str (pk, member->zone);
    s_pack_str (pk, "site");
    s_pack_str (pk, member->site);
    s_pack_str (pk, "lat");
    msgpack_pack_double (pk, 48.1);
    s_pack_str (pk, "lon");
    msgpack_pack_nil (pk);
    s_pack_str (pk, "labels");
    size_t labels = 0;
    while (labels < LABELS_MAX && member->labels [labels][0])
        labels++;
    msgpack_pack_map (pk, (uint32_t) labels);
    for (size_t i = 0; i < labels; i++) {
        s_pack_str (pk, member->labels [i][0]);
        s_pack_str (pk, member->labels [i][1]);
    }
}

//  The members command as the node runs it: filter, then list.
static void
s_members_command (msgpack_packer *pk, fed_ctl_request_t *request)
{
    fed_member_filter_t *filter = fed_member_filter_new ();
    fed_err_t err;
    if (fed_member_filter_from_request (filter, request, &err)
        || fed_ctl_args_all_used (request, &err))
        fed_ctl_reply_error (pk, "bad_request", err.text);
    else {
        bool matched [S_MEMBER_COUNT];
        uint32_t count = 0;
        for (size_t i = 0; i < S_MEMBER_COUNT; i++) {
            fed_member_tag_t tags [3 + LABELS_MAX];
            size_t tag_count = s_member_tags (&s_members [i], tags);
            matched [i] = fed_member_filter_match (filter, s_members [i].state, tags, tag_count);
            count += matched [i];
        }
        fed_ctl_reply_ok (pk);
        msgpack_pack_array (pk, count);
        for (size_t i = 0; i < S_MEMBER_COUNT; i++)
            if (matched [i])
                s_pack_member (pk, i);
    }
    fed_member_filter_destroy (&filter);
}

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
    if (!body)
        fed_ctl_reply_error (&pk, "bad_request", "expected an empty frame and a request");
    else if (fed_ctl_request_decode (zframe_data (body), zframe_size (body), &request, &code, &err))
        fed_ctl_reply_error (&pk, code, err.text);
    else if (streq (request.command, "members"))
        s_members_command (&pk, &request);
    else
        fed_ctl_reply_error (&pk, "unknown_command", "only members here");
    zmsg_t *reply = zmsg_new ();
    zmsg_append (reply, &routing);
    zmsg_addmem (reply, NULL, 0);
    zmsg_addmem (reply, buffer.data, buffer.size);
    zmsg_send (&reply, router);
    msgpack_sbuffer_destroy (&buffer);
    zframe_destroy (&delimiter);
    zframe_destroy (&body);
    zmsg_destroy (&msg);
}

static void
s_node_actor (zsock_t *pipe, void *arg)
{
    const fed_identity_t *identity = (const fed_identity_t *) arg;
    zsock_t *router = zsock_new (ZMQ_ROUTER);
    fed_socket_defaults (router, 1 << 20);
    fed_curve_server (router, fed_identity_curve_secret (identity),
                      fed_identity_curve_public (identity), "control");
    int port = zsock_bind (router, "tcp://127.0.0.1:*");
    zsock_signal (pipe, 0);
    zsock_send (pipe, "i", port);
    zpoller_t *poller = zpoller_new (pipe, router, NULL);
    while (zpoller_wait (poller, -1) == router)
        s_answer (router);
    zpoller_destroy (&poller);
    zsock_destroy (&router);
}

static int
s_group_setup (void **state)
{
    s_fixture_t *fixture = (s_fixture_t *) fed_calloc (1, sizeof *fixture);
    *state = fixture;
    fed_err_t err;
    fixture->zap = fed_zap_new (&err);
    if (!fixture->zap)
        return -1;
    fixture->server = fed_identity_generate ();
    fixture->operator= fed_identity_generate ();
    fed_zap_allow (fixture->zap, "control", fed_identity_curve_public (fixture->operator),
                   fed_identity_id (fixture->operator));
    snprintf (fixture->dir, sizeof fixture->dir, "/tmp/fed-test-members.XXXXXX");
    if (!mkdtemp (fixture->dir))
        return -1;
    char *key = fed_sprintf ("%s/operator.key", fixture->dir);
    char *pub = fed_sprintf ("%s/node.pub", fixture->dir);
    int rc = fed_identity_save (fixture->operator, key, &err)
        || fed_identity_save_public (fixture->server, pub, &err);
    free (key);
    free (pub);
    if (rc)
        return -1;
    fixture->node = zactor_new (s_node_actor, fixture->server);
    int port = -1;
    if (zsock_recv (fixture->node, "i", &port) || port <= 0)
        return -1;
    snprintf (fixture->endpoint, sizeof fixture->endpoint, "tcp://127.0.0.1:%d", port);
    return 0;
}

static int
s_group_teardown (void **state)
{
    s_fixture_t *fixture = (s_fixture_t *) *state;
    zactor_destroy (&fixture->node);
    fed_zap_destroy (&fixture->zap);
    fed_identity_destroy (&fixture->server);
    fed_identity_destroy (&fixture->operator);
    if (*fixture->dir)
        fed_test_rmtree (fixture->dir);
    free (fixture);
    return 0;
}

//  Runs `fedctl ... members ARGS` (args: single-quote-safe shell words)
//  against the fake node. Returns its exit status with stdout and stderr
//  in *output_p (caller frees).
static int
s_fedctl (s_fixture_t *fixture, const char *args, char **output_p)
{
    char *command = fed_sprintf ("'%s/fedctl' --endpoint '%s' --key '%s/operator.key' "
                                 "--server-key '%s/node.pub' --timeout 5s members %s 2>&1",
                                 FED_BUILDDIR, fixture->endpoint, fixture->dir, fixture->dir, args);
    FILE *pipe = popen (command, "r");
    assert_non_null (pipe);
    size_t size = 0, used = 0;
    char *output = NULL;
    do {
        if (used + 1024 > size)
            output = (char *) fed_realloc (output, size = 2 * size + 1024);
        used += fread (output + used, 1, size - used - 1, pipe);
    } while (!feof (pipe) && !ferror (pipe));
    output [used] = 0;
    int status = pclose (pipe);
    free (command);
    *output_p = output;
    return WIFEXITED (status) ? WEXITSTATUS (status) : -1;
}

//  Runs fedctl with args, expects exit 0 and exactly the members named
//  (a NULL-terminated list) in its table.
static void
s_expect_members (s_fixture_t *fixture, const char *args, ...)
{
    char *output;
    int rc = s_fedctl (fixture, args, &output);
    if (rc != 0) {
        print_error ("fedctl members %s: expected exit 0, got %d: %s\n", args, rc, output);
        fail ();
    }
    assert_contains (output, "INC  ENDPOINT");
    va_list names;
    size_t expected = 0;
    va_start (names, args);
    for (const char *name = va_arg (names, const char *); name;
         name = va_arg (names, const char *)) {
        char *cell = fed_sprintf ("  %s", name);
        assert_contains (output, cell);
        free (cell);
        expected++;
    }
    va_end (names);
    size_t lines = 0;
    for (const char *p = output; *p; p++)
        lines += *p == '\n';
    if (lines != expected + 1) {
        print_error ("fedctl members %s: expected %zu rows, got:\n%s\n", args, expected, output);
        fail ();
    }
    free (output);
}

//  --- fedctl members against the fake node -----------------------------------------

static void
test_no_filter (void **state)
{
    s_fixture_t *fixture = (s_fixture_t *) *state;
    s_expect_members (fixture, "", "alpha*", "beta", "gamma", "delta", NULL);
    char *output;
    assert_int_equal (s_fedctl (fixture, "", &output), 0);
    assert_contains (output,
                     "ID        NAME    STATE    INC  ENDPOINT             REGION   ZONE  "
                     "SITE    SEQ\n");
    //  The first 8 chars of the Z85 id; an empty zone and nil site show "-".
    assert_contains (output,
                     "  alpha*  alive    3    tcp://10.0.0.1:7701  eu-west  a     -    "
                     "   12\n");
    assert_contains (output,
                     "  gamma   dead     0    tcp://10.0.0.3:7701  us-east  -     -    "
                     "   1\n");
    free (output);
}

static void
test_status (void **state)
{
    s_fixture_t *fixture = (s_fixture_t *) *state;
    s_expect_members (fixture, "--status alive --status suspect", "alpha*", "beta", NULL);
    s_expect_members (fixture, "--status left", "delta", NULL);
}

static void
test_tags (void **state)
{
    s_fixture_t *fixture = (s_fixture_t *) *state;
    //  Anchored: eu is not eu-west.
    s_expect_members (fixture, "--tag region=eu", "beta", NULL);
    s_expect_members (fixture, "--tag 'region=eu.*'", "alpha*", "beta", NULL);
    s_expect_members (fixture, "--tag 'region=eu.*' --tag tier=gold", "alpha*", NULL);
    //  Labels are tags; a member without the tag does not match.
    s_expect_members (fixture, "--tag 'rack=.*'", "delta", NULL);
    s_expect_members (fixture, "--tag 'site=rack-[0-9]+' --status suspect", "beta", NULL);
    //  An empty zone is not a tag: zone=.* leaves gamma (zone "") and delta out.
    s_expect_members (fixture, "--tag 'zone=.*'", "alpha*", "beta", NULL);
    s_expect_members (fixture, "--tag tier=bronze", NULL);
}

static void
test_json (void **state)
{
    s_fixture_t *fixture = (s_fixture_t *) *state;
    char *output;
    assert_int_equal (s_fedctl (fixture, "--json --tag tier=gold", &output), 0);
    assert_contains (output, "\"name\": \"alpha\"");
    assert_contains (output, "\"name\": \"delta\"");
    assert_contains (output, "\"self\": true");
    assert_contains (output, "\"labels\": {");
    assert_null (strstr (output, "beta"));
    free (output);
}

//  Bad filters are usage errors (exit 2) caught by fedctl, with the node's
//  own messages.
static void
test_usage_errors (void **state)
{
    s_fixture_t *fixture = (s_fixture_t *) *state;
    struct {
        const char *args;
        const char *message;
    } cases [] = {
        {"--status running", "--status: status 'running' is not one of alive, suspect, dead, left"},
        {"--tag region", "--tag 'region' must be KEY=REGEXP"},
        {"--tag '=eu'", "tag key '' must be 1 to 64 bytes"},
        {"--tag 'region=(eu'", "tag 'region': bad regular expression '(eu'"},
        {"--tag region=eu --tag region=us", "tag 'region' is given twice"},
        {"--tag 'region=(a)\\1'", "back-references"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++) {
        char *output;
        int rc = s_fedctl (fixture, cases [i].args, &output);
        if (rc != 2) {
            print_error ("fedctl members %s: expected exit 2, got %d: %s\n", cases [i].args, rc,
                         output);
            fail ();
        }
        assert_contains (output, cases [i].message);
        assert_contains (output, "usage: fedctl [OPTIONS] members [--status S]...");
        free (output);
    }
}

//  --- The table alone ------------------------------------------------------------

//  fed_print_members of a packed result, as text. Caller frees.
static char *
s_print (msgpack_sbuffer *packed, int expect_rc)
{
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream (&text, &size);
    assert_non_null (out);
    assert_int_equal (
        fed_print_members (out, (fed_blob_t){(const uint8_t *) packed->data, packed->size}),
        expect_rc);
    fclose (out);
    msgpack_sbuffer_destroy (packed);
    return text;
}

//  Today's nodes send {id, state, seq, name, seed, location}: what is
//  missing shows as "-".
static void
test_print_older_shape (void **state)
{
    (void) state;
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    msgpack_pack_array (&pk, 2);
    msgpack_pack_map (&pk, 6);
    s_pack_str (&pk, "id");
    s_pack_str (&pk, "%7@/N[SQ*IuoGf4B{5CQLL{Ps(^R8F-roc)UvEoY");
    s_pack_str (&pk, "state");
    s_pack_str (&pk, "alive");
    s_pack_str (&pk, "seq");
    msgpack_pack_uint8 (&pk, 1);
    s_pack_str (&pk, "name");
    s_pack_str (&pk, "ff6d1e50");
    s_pack_str (&pk, "seed");
    s_pack_str (&pk, "%7@/N[SQ*IuoGf4B{5CQLL{Ps(^R8F-roc)UvEoY@tcp://127.0.0.1:7701");
    s_pack_str (&pk, "location");
    msgpack_pack_map (&pk, 3);
    s_pack_str (&pk, "region");
    s_pack_str (&pk, "eu");
    s_pack_str (&pk, "zone");
    msgpack_pack_nil (&pk);
    s_pack_str (&pk, "site");
    s_pack_str (&pk, "");
    //  A map with nothing in it at all, and a self that is not a bool.
    msgpack_pack_map (&pk, 1);
    s_pack_str (&pk, "self");
    msgpack_pack_uint8 (&pk, 1);
    char *text = s_print (&buffer, 0);
    assert_string_equal (text,
                         "ID        NAME      STATE  INC  ENDPOINT  REGION  ZONE  SITE  SEQ\n"
                         "%7@/N[SQ  ff6d1e50  alive  -    -         eu      -     -     1\n"
                         "-         -         -      -    -         -       -     -     -\n");
    free (text);
}

static void
test_print_not_an_array (void **state)
{
    (void) state;
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 0);
    char *text = s_print (&buffer, FED_MALFORMED);
    assert_string_equal (text, "");
    free (text);
}

int
main (void)
{
    zsys_init ();
    zsys_handler_set (NULL);
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_no_filter),
        cmocka_unit_test (test_status),
        cmocka_unit_test (test_tags),
        cmocka_unit_test (test_json),
        cmocka_unit_test (test_usage_errors),
        cmocka_unit_test (test_print_older_shape),
        cmocka_unit_test (test_print_not_an_array),
    };
    return cmocka_run_group_tests (tests, s_group_setup, s_group_teardown);
}
