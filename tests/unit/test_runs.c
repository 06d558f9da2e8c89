/*  tests/unit/test_runs.c: run events (node/runs.h): every body packs and
    decodes back, every broken field is refused with its name, a run's
    state is the same whatever order its events come in, records from
    nodes not entitled to write them are ignored, and the "run" view lists
    and loads runs.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "testutil.h"
#include <sodium.h>

#include "coreviews.h"
#include "evlog.h"
#include "identity.h"
#include "runs.h"

#define RUN "00112233aabbccdd"

typedef struct {
    fed_identity_t *coordinator, *worker1, *worker2, *voter;
} keys_t;

static keys_t s_keys;

static int
s_group_setup (void **state)
{
    (void) state;
    s_keys.coordinator = fed_test_identity (1);
    s_keys.worker1 = fed_test_identity (2);
    s_keys.worker2 = fed_test_identity (3);
    s_keys.voter = fed_test_identity (4);
    return 0;
}

static int
s_group_teardown (void **state)
{
    (void) state;
    fed_identity_destroy (&s_keys.coordinator);
    fed_identity_destroy (&s_keys.worker1);
    fed_identity_destroy (&s_keys.worker2);
    fed_identity_destroy (&s_keys.voter);
    return 0;
}

//  Signs an event of type with body (takes the buffer's bytes) by who.
static fed_event_t *
s_event (fed_identity_t *who, uint64_t hlc, const char *type, msgpack_sbuffer *body)
{
    uint8_t prev [32] = {0};
    fed_err_t err;
    fed_event_t *event =
        fed_event_sign (fed_identity_secret (who), fed_identity_public (who), hlc, prev, hlc << 16,
                        type, body->data, body->size, &fed_event_default_limits, &err);
    assert_non_null (event);
    msgpack_sbuffer_destroy (body);
    return event;
}

static fed_rev_t *
s_rev (fed_identity_t *who, uint64_t hlc, const char *type, msgpack_sbuffer *body)
{
    fed_event_t *event = s_event (who, hlc, type, body);
    fed_err_t err;
    fed_rev_t *rev = fed_rev_decode (event, &err);
    if (!rev)
        fail_msg ("%s did not decode: %s", type, err.text);
    fed_event_destroy (&event);
    return rev;
}

//  --- Round trips ------------------------------------------------------------------

static void
test_every_type_round_trips (void **state)
{
    (void) state;
    msgpack_sbuffer b;
    uint8_t hash [32], node [32];
    memset (hash, 7, 32);
    memcpy (node, fed_identity_public (s_keys.worker1), 32);

    msgpack_sbuffer_init (&b);
    fed_rev_pack_run_started (&b, RUN, "etl", "1.2", hash, "\x81\xa1n\x05", 4,
                              fed_identity_public (s_keys.voter));
    fed_rev_t *r = s_rev (s_keys.coordinator, 1, "run.started", &b);
    assert_int_equal (r->type, FED_REV_RUN_STARTED);
    assert_string_equal (r->run, RUN);
    assert_string_equal (r->workflow, "etl");
    assert_string_equal (r->version, "1.2");
    assert_memory_equal (r->hash, hash, 32);
    assert_int_equal (r->params_size, 4);
    assert_true (r->has_by);
    fed_rev_destroy (&r);

    msgpack_sbuffer_init (&b);
    fed_rev_pack_assigned (&b, RUN, "fetch", 3, node, "sys.echo", "\x80", 1, 5000, "retry");
    r = s_rev (s_keys.coordinator, 2, "step.assigned", &b);
    assert_string_equal (r->step, "fetch");
    assert_int_equal (r->attempt, 3);
    assert_memory_equal (r->node, node, 32);
    assert_string_equal (r->agent, "sys.echo");
    assert_int_equal (r->timeout_ms, 5000);
    assert_string_equal (r->why, "retry");
    fed_rev_destroy (&r);

    msgpack_sbuffer_init (&b);
    fed_rev_pack_completed (&b, RUN, "fetch", 3, "\x81\xa1k\xa1v", 5, 42);
    r = s_rev (s_keys.worker1, 3, "step.completed", &b);
    assert_int_equal (r->output_size, 5);
    assert_int_equal (r->ms, 42);
    fed_rev_destroy (&r);

    msgpack_sbuffer_init (&b);
    fed_rev_pack_progress (&b, RUN, "fetch", 3, 250, 1000, "rows read");
    r = s_rev (s_keys.worker1, 3, "step.progress", &b);
    assert_int_equal (r->type, FED_REV_STEP_PROGRESS);
    assert_int_equal (r->done, 250);
    assert_int_equal (r->total, 1000);
    assert_string_equal (r->text, "rows read");
    fed_rev_destroy (&r);

    msgpack_sbuffer_init (&b);
    fed_rev_pack_failed (&b, RUN, "fetch", 1, "timeout", "took too long", 9);
    r = s_rev (s_keys.worker1, 4, "step.failed", &b);
    assert_string_equal (r->code, "timeout");
    assert_string_equal (r->text, "took too long");
    fed_rev_destroy (&r);

    const char *approvers [] = {"approver", "ops"};
    const char *values [] = {"go", "hold"};
    msgpack_sbuffer_init (&b);
    fed_rev_pack_awaiting (&b, RUN, "review", "Ship it?", approvers, 2, 2, true, values, 2, 99,
                           "escalate");
    r = s_rev (s_keys.coordinator, 5, "step.awaiting", &b);
    assert_string_equal (r->text, "Ship it?");
    assert_int_equal (r->approver_count, 2);
    assert_string_equal (r->approvers [1], "ops");
    assert_int_equal (r->min_approvals, 2);
    assert_true (r->forbid_submitter);
    assert_int_equal (r->value_count, 2);
    assert_true (r->has_deadline);
    assert_int_equal (r->deadline_ms, 99);
    assert_string_equal (r->on_timeout, "escalate");
    fed_rev_destroy (&r);

    msgpack_sbuffer_init (&b);
    fed_rev_pack_vote (&b, RUN, "review", fed_identity_public (s_keys.voter), "fine", "go");
    r = s_rev (s_keys.worker2, 6, "step.approved", &b);
    assert_string_equal (r->value, "go");
    assert_memory_equal (r->by, fed_identity_public (s_keys.voter), 32);
    fed_rev_destroy (&r);

    uint8_t voters [2][32];
    memset (voters, 9, sizeof voters);
    msgpack_sbuffer_init (&b);
    fed_rev_pack_decided (&b, RUN, "review", "approved", "go", (const uint8_t (*) [32]) voters, 2,
                          "ok");
    r = s_rev (s_keys.coordinator, 7, "step.decided", &b);
    assert_string_equal (r->outcome, "approved");
    assert_int_equal (r->voter_count, 2);
    fed_rev_destroy (&r);

    msgpack_sbuffer_init (&b);
    fed_rev_pack_run_failed (&b, RUN, "fetch", "timeout", "no result");
    r = s_rev (s_keys.coordinator, 8, "run.failed", &b);
    assert_string_equal (r->step, "fetch");
    assert_string_equal (r->code, "timeout");
    fed_rev_destroy (&r);

    msgpack_sbuffer_init (&b);
    fed_rev_pack_cancel (&b, RUN, NULL, "operator asked");
    r = s_rev (s_keys.coordinator, 9, "run.cancelled", &b);
    assert_false (r->has_by);
    assert_string_equal (r->text, "operator asked");
    fed_rev_destroy (&r);
}

//  --- Refusals ------------------------------------------------------------------------

typedef struct {
    const char *type;
    const char *json_like; //  what the case breaks, for the message
    const char *needle;    //  expected in the error
    void (*build) (msgpack_packer *pk);
} bad_case_t;

static void
s_str (msgpack_packer *pk, const char *text)
{
    msgpack_pack_str (pk, strlen (text));
    msgpack_pack_str_body (pk, text, strlen (text));
}

static void
b_no_run (msgpack_packer *pk)
{
    msgpack_pack_map (pk, 1);
    s_str (pk, "reason");
    s_str (pk, "x");
}
static void
b_bad_run (msgpack_packer *pk)
{
    msgpack_pack_map (pk, 1);
    s_str (pk, "run");
    s_str (pk, "NOT-HEX-AT-ALL!!");
}
static void
b_attempt_zero (msgpack_packer *pk)
{
    msgpack_pack_map (pk, 3);
    s_str (pk, "run");
    s_str (pk, RUN);
    s_str (pk, "step");
    s_str (pk, "a");
    s_str (pk, "attempt");
    msgpack_pack_uint64 (pk, 0);
}
static void
b_attempt_str (msgpack_packer *pk)
{
    msgpack_pack_map (pk, 3);
    s_str (pk, "run");
    s_str (pk, RUN);
    s_str (pk, "step");
    s_str (pk, "a");
    s_str (pk, "attempt");
    s_str (pk, "1");
}
static void
b_node_short (msgpack_packer *pk)
{
    msgpack_pack_map (pk, 2);
    s_str (pk, "run");
    s_str (pk, RUN);
    s_str (pk, "node");
    msgpack_pack_bin (pk, 3);
    msgpack_pack_bin_body (pk, "abc", 3);
}
static void
b_output_array (msgpack_packer *pk)
{
    msgpack_pack_map (pk, 4);
    s_str (pk, "run");
    s_str (pk, RUN);
    s_str (pk, "step");
    s_str (pk, "a");
    s_str (pk, "attempt");
    msgpack_pack_uint64 (pk, 1);
    s_str (pk, "output");
    msgpack_pack_array (pk, 1);
    msgpack_pack_nil (pk);
}
static void
b_long_step (msgpack_packer *pk)
{
    char step [100];
    memset (step, 's', 99);
    step [99] = 0;
    msgpack_pack_map (pk, 2);
    s_str (pk, "run");
    s_str (pk, RUN);
    s_str (pk, "step");
    s_str (pk, step);
}
static void
b_too_many_values (msgpack_packer *pk)
{
    msgpack_pack_map (pk, 2);
    s_str (pk, "run");
    s_str (pk, RUN);
    s_str (pk, "values");
    msgpack_pack_array (pk, 65);
    for (int i = 0; i < 65; i++)
        s_str (pk, "v");
}
static void
b_reject_no_reason (msgpack_packer *pk)
{
    uint8_t key [32] = {1};
    msgpack_pack_map (pk, 4);
    s_str (pk, "run");
    s_str (pk, RUN);
    s_str (pk, "step");
    s_str (pk, "a");
    s_str (pk, "by");
    msgpack_pack_bin (pk, 32);
    msgpack_pack_bin_body (pk, key, 32);
    s_str (pk, "comment");
    s_str (pk, "");
}
static void
b_key_not_str (msgpack_packer *pk)
{
    msgpack_pack_map (pk, 1);
    msgpack_pack_uint64 (pk, 7);
    s_str (pk, RUN);
}
static void
b_min_zero (msgpack_packer *pk)
{
    msgpack_pack_map (pk, 2);
    s_str (pk, "run");
    s_str (pk, RUN);
    s_str (pk, "min_approvals");
    msgpack_pack_uint64 (pk, 0);
}

static void
test_bad_bodies_are_refused_naming_the_field (void **state)
{
    (void) state;
    const bad_case_t cases [] = {
        {"run.cancelled", "{reason}", "'run' is missing", b_no_run},
        {"run.completed", "{run: bad}", "'run' must be", b_bad_run},
        {"step.started", "{attempt: 0}", "'attempt' must be 1 or more", b_attempt_zero},
        {"step.started", "{attempt: \"1\"}", "'attempt' must be", b_attempt_str},
        {"step.assigned", "{node: 3 bytes}", "'node' must be a bin of 32 bytes", b_node_short},
        {"step.completed", "{output: []}", "'output' must be a map", b_output_array},
        {"step.waiting", "{step: 99 bytes}", "'step' must be a string of 1..64 bytes", b_long_step},
        {"step.awaiting", "{values: 65}", "'values' must be an array of at most 64",
         b_too_many_values},
        {"step.rejected", "{comment: \"\"}", "must give the reason", b_reject_no_reason},
        {"run.completed", "{7: ...}", "keys must be strings", b_key_not_str},
        {"step.awaiting", "{min_approvals: 0}", "'min_approvals' must be 1 to 64", b_min_zero},
        {"step.assigned", "{run} only", "is missing", b_bad_run},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++) {
        msgpack_sbuffer b;
        msgpack_sbuffer_init (&b);
        msgpack_packer pk;
        msgpack_packer_init (&pk, &b, msgpack_sbuffer_write);
        cases [i].build (&pk);
        //  The last case: a valid run id, but nothing else step.assigned needs.
        if (i == sizeof cases / sizeof cases [0] - 1) {
            msgpack_sbuffer_clear (&b);
            msgpack_pack_map (&pk, 1);
            s_str (&pk, "run");
            s_str (&pk, RUN);
        }
        fed_event_t *event = s_event (s_keys.coordinator, 100 + i, cases [i].type, &b);
        fed_err_t err = {0};
        fed_rev_t *rev = fed_rev_decode (event, &err);
        fed_event_destroy (&event);
        if (rev)
            fail_msg ("case %zu (%s %s) decoded; expected a refusal", i, cases [i].type,
                      cases [i].json_like);
        if (!strstr (err.text, cases [i].needle))
            fail_msg ("case %zu (%s %s): expected '%s' in: %s", i, cases [i].type,
                      cases [i].json_like, cases [i].needle, err.text);
    }
    //  Not a run event at all.
    msgpack_sbuffer b;
    msgpack_sbuffer_init (&b);
    msgpack_sbuffer_write (&b, "\x80", 1);
    fed_event_t *event = s_event (s_keys.coordinator, 200, "step.exploded", &b);
    fed_err_t err;
    assert_null (fed_rev_decode (event, &err));
    assert_contains (err.text, "not a run event");
    fed_event_destroy (&event);
}

//  --- Order does not matter ----------------------------------------------------------

#define EVENT_MAX 32

//  The events of one run with two steps and a gate, from four writers,
//  including records nobody should count: a step.completed from a node
//  the attempt was not assigned to, a step.assigned from a worker, a
//  second run.started from another node.
static size_t
s_run_events (fed_event_t **events)
{
    size_t n = 0;
    msgpack_sbuffer b;
    uint8_t hash [32] = {3};
    const uint8_t *w1 = fed_identity_public (s_keys.worker1);
    const uint8_t *w2 = fed_identity_public (s_keys.worker2);
    const uint8_t *voter = fed_identity_public (s_keys.voter);
#define PUSH(who, hlc, type)                                                                       \
    events [n++] = s_event (s_keys.who, hlc, type, &b);                                            \
    msgpack_sbuffer_init (&b)
    msgpack_sbuffer_init (&b);
    fed_rev_pack_run_started (&b, RUN, "etl", "1", hash, "\x80", 1, voter);
    PUSH (coordinator, 10, "run.started");
    fed_rev_pack_assigned (&b, RUN, "a", 1, w1, "sys.echo", "\x80", 1, 1000, "first");
    PUSH (coordinator, 11, "step.assigned");
    fed_rev_pack_step_started (&b, RUN, "a", 1);
    PUSH (worker1, 12, "step.started");
    fed_rev_pack_completed (&b, RUN, "a", 1, "\x81\xa1x\x01", 4, 5);
    PUSH (worker1, 13, "step.completed");
    //  Not entitled: worker2 was not assigned a/1.
    fed_rev_pack_completed (&b, RUN, "a", 1, "\x81\xa1x\x02", 4, 5);
    PUSH (worker2, 14, "step.completed");
    fed_rev_pack_assigned (&b, RUN, "b", 1, w2, "sys.fail", "\x80", 1, 1000, "first");
    PUSH (coordinator, 15, "step.assigned");
    fed_rev_pack_failed (&b, RUN, "b", 1, "boom", "it failed", 3);
    PUSH (worker2, 16, "step.failed");
    fed_rev_pack_assigned (&b, RUN, "b", 2, w1, "sys.fail", "\x80", 1, 1000, "retry");
    PUSH (coordinator, 17, "step.assigned");
    fed_rev_pack_completed (&b, RUN, "b", 2, "\x80", 1, 1);
    PUSH (worker1, 18, "step.completed");
    //  Not entitled: a worker assigning.
    fed_rev_pack_assigned (&b, RUN, "b", 3, w1, "sys.fail", "\x80", 1, 1000, "retry");
    PUSH (worker1, 19, "step.assigned");
    const char *values [] = {"go"};
    fed_rev_pack_awaiting (&b, RUN, "gate", "ok?", NULL, 0, 1, false, values, 1, -1, "reject");
    PUSH (coordinator, 20, "step.awaiting");
    fed_rev_pack_vote (&b, RUN, "gate", voter, "yes", "go");
    PUSH (worker2, 21, "step.approved");
    fed_rev_pack_decided (&b, RUN, "gate", "approved", "go", (const uint8_t (*) [32]) voter, 1,
                          "yes");
    PUSH (coordinator, 22, "step.decided");
    fed_rev_pack_vote (&b, RUN, "gate", w1, "late", NULL);
    PUSH (worker1, 23, "step.rejected");
    //  A second run.started for the same id, later, from another node.
    fed_rev_pack_run_started (&b, RUN, "evil", "9", hash, "\x80", 1, NULL);
    PUSH (worker2, 24, "run.started");
    fed_rev_pack_run_completed (&b, RUN, 99);
    PUSH (coordinator, 25, "run.completed");
#undef PUSH
    msgpack_sbuffer_destroy (&b);
    return n;
}

//  A text that says everything the derived state holds.
static char *
s_describe (const fed_run_t *run)
{
    char *text = fed_calloc (1, 4096);
    size_t used = 0;
    const fed_rev_t *started = fed_run_started (run), *end;
    fed_run_state_t state = fed_run_state (run, &end);
    used +=
        (size_t) snprintf (text + used, 4096 - used, "run %s by %s state %s end %llu\n",
                           fed_run_id (run), started ? started->workflow : "-",
                           fed_run_state_name (state), end ? (unsigned long long) end->hlc : 0ULL);
    const char *ids [] = {"a", "b", "gate"};
    for (int s = 0; s < 3; s++) {
        const fed_run_step_t *st = fed_run_step (run, ids [s]);
        assert_non_null (st);
        used += (size_t) snprintf (text + used, 4096 - used, "step %s:", st->id);
        for (size_t k = 0; k < st->attempt_count; k++) {
            const fed_attempt_t *a = &st->attempts [k];
            used += (size_t) snprintf (text + used, 4096 - used, " [%u %llu s%llu c%llu f%llu %d]",
                                       a->attempt, (unsigned long long) a->assigned->hlc,
                                       a->started ? (unsigned long long) a->started->hlc : 0ULL,
                                       a->completed ? (unsigned long long) a->completed->hlc : 0ULL,
                                       a->failed ? (unsigned long long) a->failed->hlc : 0ULL,
                                       fed_attempt_state (a));
        }
        used += (size_t) snprintf (text + used, 4096 - used, " await %llu decided %s votes",
                                   st->awaiting ? (unsigned long long) st->awaiting->hlc : 0ULL,
                                   st->decided ? st->decided->outcome : "-");
        for (size_t k = 0; k < st->vote_count; k++)
            used += (size_t) snprintf (text + used, 4096 - used, " %llu",
                                       (unsigned long long) st->votes [k]->hlc);
        used += (size_t) snprintf (text + used, 4096 - used, "\n");
    }
    return text;
}

static void
test_state_is_the_same_in_any_order (void **state)
{
    (void) state;
    fed_event_t *events [EVENT_MAX];
    size_t n = s_run_events (events);
    char *expected = NULL;
    uint64_t seed = 0x9e3779b97f4a7c15ULL;
    for (int round = 0; round < 200; round++) {
        size_t order [EVENT_MAX];
        for (size_t i = 0; i < n; i++)
            order [i] = i;
        if (round > 0)
            for (size_t i = n - 1; i > 0; i--) {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                size_t j = seed % (i + 1);
                size_t t = order [i];
                order [i] = order [j];
                order [j] = t;
            }
        fed_run_t *run = fed_run_new (RUN);
        for (size_t i = 0; i < n; i++) {
            fed_err_t err;
            fed_rev_t *rev = fed_rev_decode (events [order [i]], &err);
            assert_non_null (rev);
            fed_run_add (run, &rev);
            assert_null (rev);
            //  Reading in between must not change what is derived later.
            if (i % 5 == 0)
                (void) fed_run_step (run, "b");
        }
        //  The same events again change nothing.
        for (size_t i = 0; i < n; i++) {
            fed_err_t err;
            fed_rev_t *rev = fed_rev_decode (events [i], &err);
            assert_int_equal (fed_run_add (run, &rev), 0);
        }
        char *got = s_describe (run);
        if (!expected)
            expected = got;
        else {
            if (strcmp (expected, got) != 0)
                fail_msg ("round %d differs:\nexpected:\n%s\ngot:\n%s", round, expected, got);
            free (got);
        }
        fed_run_destroy (&run);
    }
    //  What the derived state says, checked once.
    assert_contains (expected, "by etl state completed end");
    //  a: one attempt, completed by worker1 (worker2's claim ignored).
    assert_contains (expected, "step a: [1 720896 s786432 c851968 f0 3]");
    //  b: attempt 1 failed, attempt 2 completed; worker1's own attempt 3 ignored.
    assert_contains (expected, "step b: [1 983040 s0 c0 f1048576 4] [2 1114112 s0 c1179648 f0 3]");
    assert_contains (expected, "decided approved votes 1376256 1507328");
    free (expected);
    for (size_t i = 0; i < n; i++)
        fed_event_destroy (&events [i]);
}

//  --- The view ------------------------------------------------------------------------

typedef struct {
    char dir [64];
    fed_evlog_t *log;
} view_fixture_t;

static int
s_view_setup (void **state)
{
    view_fixture_t *f = fed_calloc (1, sizeof *f);
    snprintf (f->dir, sizeof f->dir, "/tmp/fed-test-runs.XXXXXX");
    assert_non_null (mkdtemp (f->dir));
    fed_evlog_options_t options;
    fed_evlog_options_default (&options);
    fed_err_t err;
    f->log = fed_evlog_open (f->dir, &options, &err);
    assert_non_null (f->log);
    fed_evlog_set_signer (f->log, fed_identity_public (s_keys.coordinator),
                          fed_identity_secret (s_keys.coordinator));
    assert_int_equal (fed_runs_register (f->log, &err), 0);
    *state = f;
    return 0;
}

static int
s_view_teardown (void **state)
{
    view_fixture_t *f = (view_fixture_t *) *state;
    fed_evlog_destroy (&f->log);
    fed_test_rmtree (f->dir);
    free (f);
    return 0;
}

static void
s_append (fed_evlog_t *log, const char *type, msgpack_sbuffer *b)
{
    fed_err_t err;
    if (fed_evlog_append (log, type, b->data, b->size, NULL, &err))
        fail_msg ("append %s: %s", type, err.text);
    msgpack_sbuffer_clear (b);
}

static int
s_collect (void *arg, const char *run_id)
{
    char *list = (char *) arg;
    strcat (list, run_id);
    strcat (list, " ");
    return 0;
}

static void
test_view_lists_and_loads_runs (void **state)
{
    view_fixture_t *f = (view_fixture_t *) *state;
    msgpack_sbuffer b;
    msgpack_sbuffer_init (&b);
    uint8_t hash [32] = {5};
    const char *ids [] = {"0000000000000001", "0000000000000002", "0000000000000003"};
    for (int i = 0; i < 3; i++) {
        fed_rev_pack_run_started (&b, ids [i], "etl", "1", hash, "\x80", 1, NULL);
        s_append (f->log, "run.started", &b);
    }
    fed_rev_pack_assigned (&b, ids [1], "a", 1, fed_identity_public (s_keys.coordinator),
                           "sys.echo", "\x80", 1, 1000, "first");
    s_append (f->log, "step.assigned", &b);
    fed_rev_pack_run_completed (&b, ids [0], 5);
    s_append (f->log, "run.completed", &b);
    //  A malformed run event stays in the log, out of the view.
    msgpack_sbuffer_write (&b,
                           "\x81\xa3"
                           "run"
                           "\xa3"
                           "bad",
                           9);
    s_append (f->log, "run.completed", &b);
    msgpack_sbuffer_destroy (&b);

    fed_err_t err;
    char list [256] = "";
    assert_int_equal (fed_runs_scan (f->log, false, 0, s_collect, list, &err), 0);
    assert_string_equal (list, "0000000000000003 0000000000000002 0000000000000001 ");
    *list = 0;
    assert_int_equal (fed_runs_scan (f->log, false, 2, s_collect, list, &err), 0);
    assert_string_equal (list, "0000000000000003 0000000000000002 ");
    *list = 0;
    assert_int_equal (fed_runs_scan (f->log, true, 0, s_collect, list, &err), 0);
    assert_string_equal (list, "0000000000000002 0000000000000003 ");

    fed_run_t *run = NULL;
    assert_int_equal (fed_run_load (f->log, ids [1], &run, &err), 1);
    assert_int_equal (fed_run_state (run, NULL), FED_RUN_RUNNING);
    const fed_run_step_t *st = fed_run_step (run, "a");
    assert_non_null (st);
    assert_int_equal (st->attempt_count, 1);
    assert_int_equal (fed_attempt_state (fed_run_step_latest (st)), FED_ATTEMPT_ASSIGNED);
    fed_run_destroy (&run);
    assert_int_equal (fed_run_load (f->log, ids [0], &run, &err), 1);
    assert_int_equal (fed_run_state (run, NULL), FED_RUN_COMPLETED);
    fed_run_destroy (&run);
    assert_int_equal (fed_run_load (f->log, "00000000000000ff", &run, &err), 0);
    assert_null (run);
    assert_int_equal (fed_run_load (f->log, "not a run id", &run, &err), 0);
    assert_true (fed_run_id_valid ("0123456789abcdef", 16));
    assert_false (fed_run_id_valid ("0123456789ABCDEF", 16));
    assert_false (fed_run_id_valid ("0123456789abcde", 15));
}

int
main (void)
{
    if (sodium_init () < 0)
        return 1;
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_every_type_round_trips),
        cmocka_unit_test (test_bad_bodies_are_refused_naming_the_field),
        cmocka_unit_test (test_state_is_the_same_in_any_order),
        cmocka_unit_test_setup_teardown (test_view_lists_and_loads_runs, s_view_setup,
                                         s_view_teardown),
    };
    return cmocka_run_group_tests (tests, s_group_setup, s_group_teardown);
}
