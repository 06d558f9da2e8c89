/*  tests/unit/test_fedctl_runs.c: how fedctl prints workflow runs and
    approvals (node/fedctl_print_runs.c).

    Each reply is written as JSON, turned into msgpack as the node would
    send it, and printed into memory at a fixed clock, so the text can be
    compared whole. Replies follow doc/protocol.md §3.4 "Runs", with nil
    fields, long outputs, UTF-8 and control characters; then replies of the
    wrong shape, which must give an error naming the field and print
    nothing, whatever printer they reach. The commands' argument checks
    are tested on the built fedctl (usage errors need no node).
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

#include "fedctl_print.h"
#include "json.h"

//  The clock every test prints at: 2026-05-28 20:26:40 UTC.
#define NOW 1780000000000LL

typedef enum {
    P_STARTED,
    P_RUNS,
    P_RUN,
    P_SUMMARY,
    P_CANCEL,
    P_APPROVALS,
    P_APPROVE,
    P_REJECT
} s_printer_t;

static int
s_call (s_printer_t printer, FILE *out, fed_blob_t result, fed_err_t *err)
{
    switch (printer) {
        case P_STARTED: return fed_print_run_started (out, result, err);
        case P_RUNS: return fed_print_runs (out, result, NOW, err);
        case P_RUN: return fed_print_run (out, result, NOW, err);
        case P_SUMMARY: return fed_print_run_summary (out, result, NOW, err);
        case P_CANCEL: return fed_print_run_cancel (out, result, err);
        case P_APPROVALS: return fed_print_approvals (out, result, NOW, err);
        case P_APPROVE: return fed_print_decision (out, result, true, err);
        case P_REJECT: return fed_print_decision (out, result, false, err);
    }
    return -1;
}

//  Prints the msgpack bytes with printer; checks the return code and, when
//  it is FED_MALFORMED, that nothing was printed and err says something.
//  Returns the text (caller frees) and copies err's text to why.
static char *
s_print_bytes (s_printer_t printer, const uint8_t *data, size_t size, int expect_rc, char *why)
{
    char *text = NULL;
    size_t text_size = 0;
    FILE *out = open_memstream (&text, &text_size);
    assert_non_null (out);
    fed_err_t err = {0, ""};
    int rc = s_call (printer, out, (fed_blob_t){data, size}, &err);
    fclose (out);
    if (rc != expect_rc) {
        print_error ("printer %d: expected %d, got %d (err '%s') after printing:\n%s\n",
                     (int) printer, expect_rc, rc, err.text, text);
        fail ();
    }
    if (rc) {
        assert_string_equal (text, "");
        assert_true (strlen (err.text) > 0);
    }
    if (why)
        strcpy (why, err.text);
    return text;
}

//  s_print_bytes of a reply written as JSON.
static char *
s_print (s_printer_t printer, const char *json, int expect_rc, char *why)
{
    uint8_t *data;
    size_t size;
    fed_err_t err;
    if (fed_json_to_msgpack (json, strlen (json), NULL, &data, &size, &err)) {
        print_error ("bad test JSON: %s\n%s\n", err.text, json);
        fail ();
    }
    char *text = s_print_bytes (printer, data, size, expect_rc, why);
    free (data);
    return text;
}

//  Fails showing both texts unless they are equal.
static void
s_expect (const char *printer_json_note, char *text, const char *expected)
{
    if (strcmp (text, expected) != 0) {
        //  cmocka cuts long messages: the whole texts go to files too.
        FILE *file = fopen ("test_fedctl_runs.got", "w");
        if (file) {
            fprintf (file, "%s", text);
            fclose (file);
        }
        file = fopen ("test_fedctl_runs.expected", "w");
        if (file) {
            fprintf (file, "%s", expected);
            fclose (file);
        }
        print_error ("%s: expected:\n%s\n--- got:\n%s\n--- (diff test_fedctl_runs.expected "
                     "test_fedctl_runs.got)\n",
                     printer_json_note, expected, text);
        fail ();
    }
    free (text);
}

#define KEY_A "rq:O9aDk4%C3}a=l!7Rw(y0j4yHsfiYkz8X<gR2&"
#define KEY_B "Hx3-d&fS2kA0:p1}qv.[zZ]oW7cn4)Tr9[b(L@5+"

//  --- run.start, run.cancel, approve, reject ------------------------------------

static void
test_started (void **state)
{
    (void) state;
    s_expect ("run.start",
              s_print (P_STARTED,
                       "{\"run\": \"0f3a9c21d4e5b6a7\", \"workflow\": \"etl\", \"version\": "
                       "\"1.2.0\", \"hash\": \"ab\", \"coordinator\": \"" KEY_A "\"}",
                       0, NULL),
              "0f3a9c21d4e5b6a7\n");
    char why [512];
    free (s_print (P_STARTED, "{\"workflow\": \"etl\"}", FED_MALFORMED, why));
    assert_contains (why, "'run' (the run id) is missing");
    free (s_print (P_STARTED, "{\"run\": 42}", FED_MALFORMED, why));
    assert_string_equal (why, "'run' is a uint, not a str");
    free (s_print (P_STARTED, "[\"0f3a\"]", FED_MALFORMED, why));
    assert_string_equal (why, "the result is an array, not a map");
}

static void
test_cancel_and_decisions (void **state)
{
    (void) state;
    s_expect ("cancel here",
              s_print (P_CANCEL, "{\"run\": \"r1\", \"state\": \"cancelled\"}", 0, NULL),
              "cancelled r1\n");
    s_expect ("cancel elsewhere",
              s_print (P_CANCEL, "{\"run\": \"r1\", \"state\": \"cancelling\"}", 0, NULL),
              "cancelling r1 (another node coordinates it and will cancel it)\n");
    s_expect ("approve",
              s_print (P_APPROVE,
                       "{\"run\": \"r1\", \"step\": \"deploy\", \"approvals\": 1, \"needed\": 2, "
                       "\"id\": null}",
                       0, NULL),
              "approved r1/deploy (1 of 2 approvals)\n");
    s_expect ("approve, one needed",
              s_print (P_APPROVE,
                       "{\"run\": \"r1\", \"step\": \"go\", \"approvals\": 1, \"needed\": 1}", 0,
                       NULL),
              "approved r1/go (1 of 1 approval)\n");
    s_expect ("approve, older node",
              s_print (P_APPROVE, "{\"run\": \"r1\", \"step\": \"go\"}", 0, NULL),
              "approved r1/go\n");
    s_expect ("reject", s_print (P_REJECT, "{\"run\": \"r1\", \"step\": \"deploy\"}", 0, NULL),
              "rejected r1/deploy\n");
    char why [512];
    free (s_print (P_APPROVE, "{\"run\": \"r1\", \"step\": \"go\", \"approvals\": \"1\"}",
                   FED_MALFORMED, why));
    assert_string_equal (why, "'approvals' is a str, not an integer");
    free (s_print (P_CANCEL, "{\"run\": \"r1\", \"state\": true}", FED_MALFORMED, why));
    assert_string_equal (why, "'state' is a bool, not a str");
}

//  --- run.list and run.wait summaries ------------------------------------------------

static const char *s_runs =
    "[{\"run\": \"0f3a9c21d4e5b6a7\", \"workflow\": \"etl\", \"version\": \"1.2.0\", "
    "\"state\": \"running\", \"coordinator\": \"" KEY_A "\", \"coordinator_name\": \"alpha\", "
    "\"started_ms\": 1779999808000, \"ended_ms\": null, \"steps\": 4, \"done\": 1, "
    "\"reason\": null},"
    " {\"run\": \"77aa00bb11cc22dd\", \"workflow\": \"déploiement\", \"version\": \"2.0-rc.1\", "
    "\"state\": \"failed\", \"coordinator\": \"" KEY_B "\", \"coordinator_name\": null, "
    "\"started_ms\": 1779990000000, \"ended_ms\": 1779990072500, \"steps\": 3, \"done\": 2, "
    "\"reason\": \"step_failed: load: timeout\"},"
    " {\"run\": \"1111222233334444\", \"workflow\": \"etl\", \"version\": \"1.0\", "
    "\"state\": \"completed\", \"coordinator\": \"" KEY_A "\", \"coordinator_name\": \"alpha\", "
    "\"started_ms\": 1779500000000, \"ended_ms\": 1779500001000, \"extra\": [1, 2]}]";

static void
test_runs (void **state)
{
    (void) state;
    s_expect ("run.list", s_print (P_RUNS, s_runs, 0, NULL),
              "RUN               WORKFLOW     VERSION   STATE      STEPS  STARTED    COORDINATOR\n"
              "0f3a9c21d4e5b6a7  etl          1.2.0     running    1/4    3m12s ago  alpha\n"
              "77aa00bb11cc22dd  déploiement  2.0-rc.1  failed     2/3    2h46m ago  Hx3-d&fS\n"
              "1111222233334444  etl          1.0       completed  -      5d18h ago  alpha\n");
    s_expect ("run.list empty", s_print (P_RUNS, "[]", 0, NULL), "no runs\n");
    char why [512];
    free (s_print (P_RUNS, "[{\"run\": \"a\"}, 7]", FED_MALFORMED, why));
    assert_string_equal (why, "[1] is a uint, not a map (a run summary)");
    free (
        s_print (P_RUNS, "[{\"run\": \"a\", \"started_ms\": \"yesterday\"}]", FED_MALFORMED, why));
    assert_string_equal (why, "[0]: 'started_ms' is a str, not an integer");
    free (s_print (P_RUNS, "{\"runs\": []}", FED_MALFORMED, why));
    assert_string_equal (why, "the result is a map, not an array of run summaries");
}

static void
test_summary (void **state)
{
    (void) state;
    s_expect (
        "completed",
        s_print (P_SUMMARY,
                 "{\"run\": \"r1\", \"workflow\": \"etl\", \"version\": \"1.2.0\", \"state\": "
                 "\"completed\", \"started_ms\": 1779999928000, \"ended_ms\": "
                 "1779999990250, \"steps\": 3, \"done\": 3, \"reason\": null}",
                 0, NULL),
        "r1 etl@1.2.0 completed: 3/3 steps done in 1m02s\n");
    s_expect (
        "failed",
        s_print (P_SUMMARY,
                 "{\"run\": \"r1\", \"workflow\": \"etl\", \"version\": \"1.2.0\", \"state\": "
                 "\"failed\", \"started_ms\": 1779999999000, \"ended_ms\": 1779999999850, "
                 "\"steps\": 3, \"done\": 1, \"reason\": \"step_failed: load:\\nboom\"}",
                 0, NULL),
        "r1 etl@1.2.0 failed: 1/3 steps done in 850ms\n"
        "reason: step_failed: load: boom\n");
    s_expect (
        "running",
        s_print (P_SUMMARY,
                 "{\"run\": \"r1\", \"workflow\": \"etl\", \"version\": \"1.2.0\", \"state\": "
                 "\"running\", \"started_ms\": 1779999970000, \"steps\": 3, \"done\": 0}",
                 0, NULL),
        "r1 etl@1.2.0 still running: 0/3 steps done, running for 30.0s\n");
    char why [512];
    free (
        s_print (P_SUMMARY, "{\"run\": \"r1\", \"done\": -1, \"steps\": [3]}", FED_MALFORMED, why));
    assert_string_equal (why, "'steps' is an array, not an integer");
}

//  --- run.show ----------------------------------------------------------------------

//  A run of five steps: one done (with an output far over 100 characters),
//  one failed and retried, one running, one waiting for its needs, and an
//  approval gate with two votes, one late, on names and comments in UTF-8.
static const char *s_run_map =
    "{\"run\": \"0f3a9c21d4e5b6a7\", \"workflow\": \"etl\", \"version\": \"1.2.0\", "
    "\"state\": \"running\", \"coordinator\": \"" KEY_A "\", \"coordinator_name\": \"alpha\", "
    "\"started_ms\": 1779999808000, \"ended_ms\": null, \"done\": 1, \"reason\": null, "
    "\"hash\": \"00ff\", \"by\": \"" KEY_B "\", "
    "\"params\": {\"rows\": \"100\", \"city\": \"Zürich\"}, "
    "\"steps\": ["
    "{\"id\": \"fetch\", \"agent\": \"http\", \"state\": \"completed\", \"node\": \"" KEY_A "\", "
    "\"node_name\": \"alpha\", \"attempt\": 1, \"assigned_ms\": 1779999808100, \"started_ms\": "
    "1779999808200, \"ended_ms\": 1779999808420, \"ms\": 212, "
    "\"output\": {\"body\": \"" /* 150 characters */
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\", \"status\": 200}, "
    "\"error\": null, \"waiting\": null, \"approval\": null, \"attempts\": []},"
    "{\"id\": \"load\", \"agent\": \"sql\", \"state\": \"backoff\", \"node\": \"" KEY_B "\", "
    "\"node_name\": null, \"attempt\": 2, \"ms\": 30001, \"output\": null, "
    "\"error\": {\"code\": \"timeout\", \"message\": \"no answer in 30s\"}, "
    "\"waiting\": \"retry in 4s (attempt 3 of 5)\", \"approval\": null},"
    "{\"id\": \"transform\", \"agent\": \"python\", \"state\": \"running\", \"node\": \"" KEY_A
    "\", \"node_name\": \"alpha\", \"attempt\": 1, \"started_ms\": 1779999995000, \"ms\": null},"
    "{\"id\": \"report\", \"agent\": \"mail\", \"state\": \"pending\", \"node\": null, "
    "\"attempt\": 0, \"waiting\": \"needs transform, deploy\"},"
    "{\"id\": \"deploy\", \"agent\": \"\", \"state\": \"awaiting_approval\", \"node\": null, "
    "\"attempt\": 0, \"output\": null, \"approval\": {\"run\": \"0f3a9c21d4e5b6a7\", \"step\": "
    "\"deploy\", \"workflow\": \"etl\", \"message\": \"Déployer en production ?\", "
    "\"approvers\": [\"approver\", \"ops-lead\"], \"min_approvals\": 2, \"forbid_submitter\": "
    "true, \"values\": [\"canary\", \"full\"], \"since_ms\": 1779999900000, \"deadline_ms\": "
    "1780000300000, \"escalated\": false, \"outcome\": null, \"value\": null, \"votes\": ["
    "{\"by\": \"" KEY_B "\", \"name\": \"Zoë\", \"decision\": \"approve\", \"comment\": "
    "\"ok\\u001b[31m 👍\", \"value\": \"canary\", \"ms\": 1779999950000, \"late\": false}]}}"
    "]}";

static void
test_run_show (void **state)
{
    (void) state;
    s_expect (
        "run.show", s_print (P_RUN, s_run_map, 0, NULL),
        "run:          0f3a9c21d4e5b6a7\n"
        "workflow:     etl@1.2.0\n"
        "state:        running\n"
        "coordinator:  alpha (" KEY_A ")\n"
        "started by:   " KEY_B "\n"
        "started:      2026-05-28 20:23:28.000Z (3m12s ago)\n"
        "ended:        -\n"
        "duration:     running for 3m12s\n"
        "params:       {\"rows\":\"100\",\"city\":\"Zürich\"}\n"
        "reason:       -\n"
        "\n"
        "STEP       AGENT       STATE              NODE      ATTEMPT  TIME\n"
        "fetch      http        completed          alpha     1        212ms\n"
        "    output: {\"body\":\"" //  100 characters in all, the ellipsis included
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa…\n"
        "load       sql         backoff            Hx3-d&fS  2        30.0s\n"
        "    error: timeout: no answer in 30s\n"
        "    waiting: retry in 4s (attempt 3 of 5)\n"
        "transform  python      running            alpha     1        running for 5.0s\n"
        "report     mail        pending            -         -        -\n"
        "    waiting: needs transform, deploy\n"
        "deploy     (approval)  awaiting_approval  -         -        -\n"
        "    approval: Déployer en production ?\n"
        "      1 of 2 approvals; values: canary, full; approvers: approver, ops-lead; deadline in "
        "5m00s\n"
        "      approve by Zoë: \"ok?[31m 👍\" (value canary)\n");
}

//  Ended runs: the duration is from start to end; an approval decided,
//  with a late vote, and a node's own output for a gate.
static void
test_run_show_ended (void **state)
{
    (void) state;
    s_expect ("run.show ended",
              s_print (P_RUN,
                       "{\"run\": \"r2\", \"workflow\": \"w\", \"version\": \"1\", \"state\": "
                       "\"cancelled\", \"coordinator\": \"" KEY_A "\", \"started_ms\": "
                       "1779999000000, \"ended_ms\": 1779999090000, \"params\": {}, \"reason\": "
                       "\"cancelled: by hand\", \"steps\": [{\"id\": \"gate\", \"agent\": \"\", "
                       "\"state\": \"rejected\", \"output\": {\"decision\": \"rejected\", "
                       "\"value\": null}, \"approval\": {\"message\": \"go?\", \"min_approvals\": "
                       "1, \"values\": [], \"escalated\": true, \"outcome\": \"rejected\", "
                       "\"votes\": [{\"by\": \"" KEY_B "\", \"decision\": \"reject\", "
                       "\"comment\": \"no\"}, {\"by\": \"" KEY_A
                       "\", \"name\": \"\", \"decision\": "
                       "\"approve\", \"comment\": null, \"late\": true}]}}]}",
                       0, NULL),
              "run:          r2\n"
              "workflow:     w@1\n"
              "state:        cancelled\n"
              "coordinator:  " KEY_A "\n"
              "started by:   -\n"
              "started:      2026-05-28 20:10:00.000Z (16m40s ago)\n"
              "ended:        2026-05-28 20:11:30.000Z (15m10s ago)\n"
              "duration:     1m30s\n"
              "params:       {}\n"
              "reason:       cancelled: by hand\n"
              "\n"
              "STEP  AGENT       STATE     NODE  ATTEMPT  TIME\n"
              "gate  (approval)  rejected  -     -        -\n"
              "    approval: go?\n"
              "      1 of 1 approvals\n"
              "      escalated: only an admin may decide now\n"
              "      reject by Hx3-d&fS: \"no\"\n"
              "      approve by rq:O9aDk [late]\n"
              "      outcome: rejected\n"
              "    output: {\"decision\":\"rejected\",\"value\":null}\n");
    //  A node that sends no steps: the header alone.
    s_expect ("run.show no steps", s_print (P_RUN, "{\"run\": \"r3\"}", 0, NULL),
              "run:          r3\n"
              "workflow:     -@-\n"
              "state:        -\n"
              "coordinator:  -\n"
              "started by:   -\n"
              "started:      -\n"
              "ended:        -\n"
              "duration:     -\n"
              "params:       -\n"
              "reason:       -\n");
}

//  Wrong types deep in a run map: an error naming where, nothing printed.
static void
test_run_show_bad (void **state)
{
    (void) state;
    struct {
        const char *json;
        const char *why;
    } cases [] = {
        {"{\"run\": \"r\", \"steps\": [{\"id\": \"a\"}, {\"id\": \"b\", \"state\": 3}]}",
         "steps[1]: 'state' is a uint, not a str"},
        {"{\"run\": \"r\", \"steps\": {\"a\": 1}}", "'steps' is a map, not an array of step maps"},
        {"{\"run\": \"r\", \"steps\": [\"a\"]}", "steps[0] is a str, not a map (a step)"},
        {"{\"run\": \"r\", \"steps\": [{\"id\": \"a\", \"error\": \"boom\"}]}",
         "steps[0]: 'error' is a str, not a map"},
        {"{\"run\": \"r\", \"steps\": [{\"id\": \"a\", \"error\": {\"code\": 1}}]}",
         "steps[0]: 'code' is a uint, not a str"},
        {"{\"run\": \"r\", \"steps\": [{\"id\": \"a\", \"approval\": {\"votes\": [{\"late\": "
         "\"no\"}]}}]}",
         "steps[0].votes[0]: 'late' is a str, not a bool"},
        {"{\"run\": \"r\", \"steps\": [{\"id\": \"a\", \"approval\": {\"votes\": [null]}}]}",
         "steps[0].votes[0] is nil, not a map (a vote)"},
        {"{\"run\": \"r\", \"steps\": [{\"id\": \"a\", \"approval\": {\"values\": [\"x\", 2]}}]}",
         "steps[0]: 'values' is a uint, not an array of str"},
        {"{\"run\": \"r\", \"params\": [1]}", "'params' is an array, not a map"},
        {"{\"run\": \"r\", \"started_ms\": 1.5}", "'started_ms' is a float, not an integer"},
        {"{\"run\": \"r\", \"steps\": [{\"id\": \"a\", \"attempt\": 18446744073709551615}]}",
         "steps[0]: 'attempt' is a uint, not an integer that fits 64 bits"},
        {"\"not found\"", "the result is a str, not a map (a run map)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++) {
        char why [512];
        free (s_print (P_RUN, cases [i].json, FED_MALFORMED, why));
        if (strcmp (why, cases [i].why) != 0) {
            print_error ("case %zu: expected '%s', got '%s'\n", i, cases [i].why, why);
            fail ();
        }
    }
}

//  --- approvals -----------------------------------------------------------------------

static void
test_approvals (void **state)
{
    (void) state;
    s_expect ("approvals",
              s_print (P_APPROVALS,
                       "[{\"run\": \"0f3a9c21d4e5b6a7\", \"step\": \"deploy\", \"workflow\": "
                       "\"etl\", \"message\": \"Deploy build 4411 to production? This replaces "
                       "the running version in every region at once.\", \"approvers\": [], "
                       "\"min_approvals\": 2, \"forbid_submitter\": true, \"values\": "
                       "[\"canary\", \"full\"], \"since_ms\": 1779999900000, \"deadline_ms\": "
                       "1780000300000, \"escalated\": false, \"outcome\": null, \"value\": null, "
                       "\"votes\": [{\"by\": \"" KEY_B "\", \"decision\": \"approve\"}]},"
                       " {\"run\": \"77aa00bb11cc22dd\", \"step\": \"sign-off\", \"workflow\": "
                       "\"payroll\", \"message\": \"Prüfen\", \"min_approvals\": 1, \"values\": "
                       "[], \"since_ms\": 1779996400000, \"deadline_ms\": null, \"escalated\": "
                       "true, \"votes\": []}]",
                       0, NULL),
              "RUN               STEP      WORKFLOW  WAITING    VOTES  DEADLINE  MESSAGE\n"
              "0f3a9c21d4e5b6a7  deploy    etl       1m40s ago  1/2    in 5m00s  Deploy build 4411 "
              "to production? This replaces the running …\n"
              "  values: canary, full (--value V)\n"
              "77aa00bb11cc22dd  sign-off  payroll   1h00m ago  0/1    -         Prüfen\n"
              "  escalated: only an admin may decide now\n");
    s_expect ("approvals empty", s_print (P_APPROVALS, "[]", 0, NULL),
              "no steps awaiting approval\n");
    char why [512];
    free (s_print (P_APPROVALS, "[{\"run\": \"r\", \"votes\": {}}]", FED_MALFORMED, why));
    assert_string_equal (why, "[0]: 'votes' is a map, not an array");
    free (
        s_print (P_APPROVALS, "[{\"run\": \"r\", \"deadline_ms\": \"soon\"}]", FED_MALFORMED, why));
    assert_string_equal (why, "[0]: 'deadline_ms' is a str, not an integer");
}

//  --- any printer, any garbage ----------------------------------------------------------

//  Every printer given every kind of wrong reply, including msgpack cut
//  short, refuses it with a reason and prints nothing (and, under the
//  sanitizers, reads nothing it should not).
static void
test_garbage (void **state)
{
    (void) state;
    static const struct {
        const char *bytes;
        size_t size;
    } garbage [] = {
        {"\xc0", 1}, //  nil
        {"\xa3"
         "abc",
         4},                                 //  str
        {"\x2a", 1},                         //  42
        {"\x91\xc0", 2},                     //  [nil]
        {"\x91\x91\x01", 3},                 //  [[1]]
        {"\x81\xa3run\xc3", 6},              //  {run: true}
        {"\x85\xa3run", 5},                  //  a map of 5 cut after its first key
        {"\x92\x81\xa3run\xa1r", 8},         //  an array of 2 holding 1
        {"\x81\xa5steps\x91\x81\xa2id", 12}, //  a step cut inside
        {"", 0},                             //  nothing
        {"\xc1", 1},                         //  a reserved byte
    };
    for (int printer = P_STARTED; printer <= P_REJECT; printer++)
        for (size_t i = 0; i < sizeof garbage / sizeof garbage [0]; i++) {
            //  A fresh copy, so that the sanitizers see a read past its end.
            uint8_t *copy = (uint8_t *) malloc (garbage [i].size ? garbage [i].size : 1);
            memcpy (copy, garbage [i].bytes, garbage [i].size);
            char why [512] = "";
            char *text = NULL;
            size_t text_size = 0;
            FILE *out = open_memstream (&text, &text_size);
            fed_err_t err = {0, ""};
            int rc =
                s_call ((s_printer_t) printer, out, (fed_blob_t){copy, garbage [i].size}, &err);
            fclose (out);
            strcpy (why, err.text);
            //  {run: true} and similar are fine for a printer that never
            //  reads run (there is none), so every case must fail.
            if (rc != FED_MALFORMED || *text || !*why) {
                print_error ("printer %d, garbage %zu: rc %d, err '%s', printed '%s'\n", printer, i,
                             rc, why, text);
                fail ();
            }
            free (text);
            free (copy);
        }
}

//  --- tables --------------------------------------------------------------------------

static void
test_table_utf8_and_notes (void **state)
{
    (void) state;
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream (&text, &size);
    fed_table_t *table = fed_table_new ("NAME", "CITY", NULL);
    fed_table_add (table, fed_strdup ("Zoë"), fed_strdup ("Zürich"));
    fed_table_note (table, fed_strdup ("  a note"));
    fed_table_note (table, fed_strdup ("  another"));
    fed_table_add (table, fed_strdup ("Bob"), NULL);
    fed_table_print (table, out);
    fed_table_destroy (&table);
    fed_table_destroy (&table);
    fclose (out);
    s_expect ("table", text,
              "NAME  CITY\n"
              "Zoë   Zürich\n"
              "  a note\n"
              "  another\n"
              "Bob   -\n");
}

//  --- the commands' argument checks ------------------------------------------------

//  Runs the built fedctl with args; returns its exit status, and its
//  stderr and stdout in *output (caller frees).
static int
s_fedctl (const char *args, char **output)
{
    char *command =
        fed_sprintf ("'%s/fedctl' --endpoint tcp://127.0.0.1:1 %s 2>&1", FED_BUILDDIR, args);
    FILE *pipe = popen (command, "r");
    free (command);
    assert_non_null (pipe);
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream (&text, &size);
    char buffer [4096];
    size_t got;
    while ((got = fread (buffer, 1, sizeof buffer, pipe)) > 0)
        fwrite (buffer, 1, got, out);
    fclose (out);
    int status = pclose (pipe);
    *output = text;
    return WIFEXITED (status) ? WEXITSTATUS (status) : -1;
}

static void
test_usage_errors (void **state)
{
    (void) state;
    struct {
        const char *args;
        const char *message;
    } cases [] = {
        {"run start etl -p rows", "-p 'rows' must be KEY=VALUE"},
        {"run start etl -p =1", "-p '=1' must be KEY=VALUE"},
        {"run start etl -p a=1 -p b=2 -p a=3", "-p a is given twice"},
        {"run start etl --params '{\"a\": '", "--params: "},
        {"run start etl --params '[1]'", "--params must be a JSON object"},
        {"run start Etl!", "NAME[@VERSION] must be a workflow name"},
        {"run start etl --wait=soon", "--wait=soon is not a duration"},
        {"run list --state done", "--state must be running, completed, failed or cancelled"},
        {"run list --limit 5000", "--limit must be 1..1000"},
        {"run show", "'run show' takes exactly the arguments shown"},
        {"run cancel r1 -m x", "'run cancel' does not take -m"},
        {"reject r1 deploy", "reject needs the reason: -m REASON"},
        {"reject r1 deploy -m ''", "-m must be 1 to 1024 bytes"},
        {"approve r1", "'approve' takes exactly the arguments shown"},
        {"approvals --state running", "'approvals' does not take --state"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++) {
        char *output;
        int rc = s_fedctl (cases [i].args, &output);
        if (rc != 2) {
            print_error ("fedctl %s: expected exit 2, got %d: %s\n", cases [i].args, rc, output);
            fail ();
        }
        assert_contains (output, cases [i].message);
        free (output);
    }
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_started),      cmocka_unit_test (test_cancel_and_decisions),
        cmocka_unit_test (test_runs),         cmocka_unit_test (test_summary),
        cmocka_unit_test (test_run_show),     cmocka_unit_test (test_run_show_ended),
        cmocka_unit_test (test_run_show_bad), cmocka_unit_test (test_approvals),
        cmocka_unit_test (test_garbage),      cmocka_unit_test (test_table_utf8_and_notes),
        cmocka_unit_test (test_usage_errors),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
