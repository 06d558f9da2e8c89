/*  tests/unit/test_workflow.c: the workflow parser (node/workflow.h).

    Each kind of error, alone in a file, gives exactly one error at the
    exact line and column of what is wrong (the expected position is found
    by searching the text for a marker, so the cases read as YAML); a file
    with five mistakes gives five errors; the example workflow validates
    into the model it describes; a 10,000-step chain and a 1,000-wide
    fan-out validate (timed loosely, printed, never asserted); the hash is
    BLAKE2b-256 of the bytes, stable, and changes with any change; versions
    order semver-ish.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <msgpack.h>

#include "testutil.h"

#include "json.h"
#include "workflow.h"

//  The head every small case starts from: lines 1 to 3.
#define HEAD "name: t\nversion: \"1\"\nsteps:\n"

//  "t.yaml:LINE:COLUMN: " for the nth (1-based) occurrence of marker in
//  text; "t.yaml: " when marker is NULL.
static void
s_position (const char *text, const char *marker, int nth, char *out, size_t size)
{
    if (!marker) {
        snprintf (out, size, "t.yaml: ");
        return;
    }
    const char *at = text - 1;
    for (int i = 0; i < nth; i++) {
        at = strstr (at + 1, marker);
        assert_non_null (at);
    }
    size_t line = 1, column = 1;
    for (const char *c = text; c < at; c++) {
        column++;
        if (*c == '\n') {
            line++;
            column = 1;
        }
    }
    snprintf (out, size, "t.yaml:%zu:%zu: ", line, column);
}

static void
s_print_errors (const fed_wf_errors_t *errors)
{
    for (size_t i = 0; i < fed_wf_errors_count (errors); i++)
        print_error ("  %s\n", fed_wf_errors_text (errors, i));
}

//  Parses yaml and expects exactly one error, at marker (nth occurrence),
//  holding phrase.
static void
s_expect_one (const char *yaml, const fed_workflow_limits_t *limits, const char *marker, int nth,
              const char *phrase)
{
    fed_wf_errors_t *errors = fed_wf_errors_new ();
    fed_workflow_t *wf = fed_workflow_parse (yaml, strlen (yaml), "t.yaml", limits, errors);
    char where [64];
    s_position (yaml, marker, nth, where, sizeof where);
    bool good = !wf && fed_wf_errors_count (errors) == 1
        && !strncmp (fed_wf_errors_text (errors, 0), where, strlen (where))
        && strstr (fed_wf_errors_text (errors, 0), phrase);
    if (!good) {
        print_error ("for YAML:\n%s\nexpected one error '%s…%s', got %zu:\n", yaml, where, phrase,
                     fed_wf_errors_count (errors));
        s_print_errors (errors);
    }
    assert_null (wf);
    assert_true (good);
    fed_wf_errors_destroy (&errors);
}

typedef struct {
    const char *yaml;
    const char *marker; //  where the error points (NULL: the file as a whole)
    int nth;            //  which occurrence of marker (0 means 1)
    const char *phrase; //  what the message must hold
} s_case_t;

static const s_case_t s_cases [] = {
    //  Unknown keys, with the nearest valid one.
    {HEAD "  - {id: a, agent: sys.echo}\ndescripton: x\n", "descripton", 0,
     "the workflow: key 'descripton' is unknown; did you mean 'description'?"},
    {HEAD "  - {id: a, agent: sys.echo, neds: [b]}\n  - {id: b, agent: sys.echo}\n", "neds", 0,
     "step 'a': key 'neds' is unknown; did you mean 'needs'?"},
    {HEAD "  - {id: a, agent: sys.echo, location: {regon: eu}}\n", "regon", 0,
     "step 'a': key 'location.regon' is unknown; did you mean 'region'?"},
    {HEAD "  - {id: a, agent: sys.echo, location: {prefer: {near: {}}}}\n", "near", 0,
     "key 'location.prefer.near' is unknown"},
    {HEAD "  - {id: a, hitl: {mesage: hi}}\n", "mesage", 0,
     "key 'hitl.mesage' is unknown; did you mean 'message'?"},
    {HEAD "  - {id: a, agent: sys.echo, backoff: {facter: 2}}\n", "facter", 0,
     "did you mean 'factor'?"},
    {"name: t\nversion: \"1\"\nparams: {n: {typ: int}}\nsteps: [{id: a, agent: sys.echo}]\n", "typ",
     0, "param 'n': key 'typ' is unknown; did you mean 'type'?"},
    {HEAD "  - {id: a, agent: sys.echo, zzzzzz: 1}\n", "zzzzzz", 0,
     "key 'zzzzzz' is unknown; valid keys are: id, agent, description, needs, with"},
    //  Wrong types.
    {HEAD "  - {id: a, agent: sys.echo, retries: many}\n", "many", 0,
     "step 'a': key 'retries': expected an integer from 0 to 100, got 'many'"},
    {HEAD "  - {id: a, agent: sys.echo, retries: \"3\"}\n", "\"3\"", 0, "drop the quotes"},
    {HEAD "  - {id: a, agent: sys.echo, retries: 101}\n", "101", 0, "101 is out of range"},
    {HEAD "  - {id: a, agent: sys.echo, needs: {b: 1}}\n", "{b: 1}", 0,
     "key 'needs': expected a list, like [fetch, clean], got a mapping"},
    {HEAD "  - {id: a, agent: sys.echo, with: [1, 2]}\n", "[1, 2]", 0,
     "key 'with': expected a mapping of the agent's params"},
    {HEAD "  - [a]\n", "[a]", 0, "steps[0]: expected a mapping like {id: fetch"},
    {"name: t\nversion: \"1\"\nsteps: {a: 1}\n", "{a: 1}", 0, "expected a list of steps"},
    {"name: [a]\nversion: \"1\"\nsteps: [{id: a, agent: sys.echo}]\n", "[a]", 0,
     "key 'name': expected text, got a list"},
    {"name: t\nversion: \"1\"\nparams: {n: {type: int, default: abc}}\nsteps: [{id: a, "
     "agent: sys.echo}]\n",
     "abc", 0, "param 'n': the default is not an int; give a whole number"},
    {"name: t\nversion: \"1\"\nparams: {n: {type: bool, default: 1}}\nsteps: [{id: a, "
     "agent: sys.echo}]\n",
     "1}", 0, "the default is not a bool"},
    {"name: t\nversion: \"1\"\nparams: {n: {type: text}}\nsteps: [{id: a, agent: sys.echo}]\n",
     "text", 0, "expected string, int, float, bool, list or map, got 'text'"},
    {"name: t\nversion: \"1\"\nparams: {n: {required: true, default: 3}}\nsteps: [{id: a, "
     "agent: sys.echo}]\n",
     "3}", 0, "is required and has a default"},
    {"name: t\nversion: \"1\"\nparams: {1n: {}}\nsteps: [{id: a, agent: sys.echo}]\n", "1n", 0,
     "a param name is 1 to 64 letters, digits and _"},
    {"name: t\nversion: \"1\"\nparams: [n]\nsteps: [{id: a, agent: sys.echo}]\n", "[n]", 0,
     "key 'params': expected a mapping of param names"},
    {HEAD "  - {id: a, hitl: maybe}\n", "maybe", 0, "key 'hitl': expected true or false"},
    {HEAD "  - {id: a, hitl: [x]}\n", "[x]", 0, "key 'hitl': expected true, or a mapping"},
    //  Step ids and needs.
    {HEAD "  - {id: a, agent: sys.echo}\n  - {id: a, agent: sys.echo}\n", "a, agent", 2,
     "step id 'a' is used twice (first at line 4, column 10)"},
    {HEAD "  - {id: fetch, agent: sys.echo}\n  - {id: b, agent: sys.echo, needs: [fecth]}\n",
     "fecth", 0, "step 'b': needs 'fecth', which is no step's id; did you mean 'fetch'?"},
    {HEAD "  - {id: a, agent: sys.echo}\n  - {id: b, agent: sys.echo, needs: [a, a]}\n", "a]", 0,
     "step 'b': needs 'a' twice"},
    {HEAD "  - {id: a, agent: sys.echo, needs: [a]}\n", "a]}", 0,
     "step 'a' needs itself: a cycle a -> a"},
    {HEAD "  - {id: a, agent: sys.echo, needs: [c]}\n  - {id: b, agent: sys.echo, needs: [a]}\n"
          "  - {id: c, agent: sys.echo, needs: b}\n",
     "a]}", 0, "cycle: a -> c -> b -> a (each step needs the next)"},
    {HEAD "  - {id: 'a b', agent: sys.echo}\n", "'a b'", 0,
     "id 'a b' must be 1 to 64 letters, digits, _ and -"},
    {HEAD "  - {agent: sys.echo}\n", "{agent", 0, "steps[0]: key 'id' is missing"},
    {HEAD "  - {id: a}\n", "{id: a}", 0,
     "step 'a': key 'agent' is missing; name the agent that runs it"},
    //  References.
    {HEAD "  - {id: a, agent: sys.echo}\n  - {id: b, agent: sys.echo, with: {x: "
          "\"v=${steps.a.output.k}\"}}\n",
     "${steps", 0,
     "step 'b': ${steps.a.output.k} refers to step 'a', which is not upstream of 'b' (not in "
     "its needs, directly or through other steps); add 'a' to the needs of 'b'"},
    {HEAD "  - {id: a, agent: sys.echo}\n  - {id: b, agent: sys.echo}\n  - {id: c, agent: "
          "sys.echo, needs: [b], with: {n: {deep: [\"${steps.a.output}\"]}}}\n",
     "${steps", 0, "which is not upstream of 'c'"},
    {HEAD "  - {id: a, agent: sys.echo, with: {x: \"${params.rows}\"}}\n", "${params", 0,
     "step 'a': ${params.rows}: no param 'rows' is declared; declare it under params:"},
    {"name: t\nversion: \"1\"\nparams: {rows: {default: 1}}\nsteps: [{id: a, agent: sys.echo, "
     "with: {x: \"${params.rws}\"}}]\n",
     "${params", 0, "no param 'rws' is declared (did you mean 'rows'?)"},
    {HEAD "  - {id: a, agent: sys.echo, with: {x: \"${steps.zz.output}\"}}\n", "${steps", 0,
     "no step has id 'zz'"},
    {HEAD "  - {id: a, agent: sys.echo, with: {x: \"${steps.a.output}\"}}\n", "${steps", 0,
     "refers to the step's own output"},
    {HEAD "  - {id: a, agent: sys.echo, with: {x: \"${foo}\"}}\n", "${foo", 0,
     "bad reference '${foo}': references are ${params.NAME} and ${steps.ID.output.KEY}"},
    {HEAD "  - {id: a, agent: sys.echo, with: {x: \"${steps.a.out}\"}}\n", "${steps", 0,
     "bad reference '${steps.a.out}': a step reference is ${steps.ID.output}"},
    {HEAD "  - {id: a, agent: sys.echo, with: {x: \"${params.n\"}}\n", "${params", 0,
     "reference '${params.n' has no closing '}'"},
    {HEAD "  - {id: a, hitl: {message: \"ok ${params.who}?\"}}\n", "${params", 0,
     "no param 'who' is declared"},
    //  Durations.
    {HEAD "  - {id: a, agent: sys.echo, timeout: 30}\n", "30", 0,
     "step 'a': key 'timeout': bad duration '30': give a unit, like 30s or 30ms"},
    {HEAD "  - {id: a, agent: sys.echo, timeout: 5 minutes}\n", "5 minutes", 0,
     "bad duration '5 minutes'; expected a whole number and a unit"},
    {HEAD "  - {id: a, agent: sys.echo, timeout: 31d}\n", "31d", 0,
     "duration 31d is out of range; expected 1ms to 30d"},
    {HEAD "  - {id: a, agent: sys.echo, backoff: soon}\n", "soon", 0, "bad duration 'soon'"},
    {HEAD "  - {id: a, agent: sys.echo, backoff: {initial: 5s, max: 1s}}\n", "1s", 0,
     "max (1000 ms) is below initial (5000 ms)"},
    {HEAD "  - {id: a, agent: sys.echo, backoff: {factor: 0.5}}\n", "0.5", 0,
     "0.5 is out of range; expected a number from 1 to 100"},
    {HEAD "  - {id: a, hitl: {timeout: 1ms}}\n", "1ms", 0, "expected 1s to 365d"},
    //  Agent, names, versions.
    {HEAD "  - {id: a, agent: Sys.Echo}\n", "Sys.Echo", 0,
     "key 'agent': 'Sys.Echo' is not an agent name"},
    {"name: Etl\nversion: \"1\"\nsteps: [{id: a, agent: sys.echo}]\n", "Etl", 0,
     "key 'name': 'Etl' is not a workflow name"},
    {"name: t\nversion: \"1 0\"\nsteps: [{id: a, agent: sys.echo}]\n", "\"1 0\"", 0,
     "key 'version': '1 0' is not a version"},
    {"name: t\nversion: \"\"\nsteps: [{id: a, agent: sys.echo}]\n", "\"\"", 0,
     "key 'version': is empty"},
    //  The top level.
    {"name: t\nversion: \"1\"\nsteps: []\n", "[]", 0, "the workflow has no steps"},
    {"name: t\nversion: \"1\"\nsteps:\n", "steps", 0, "the workflow has no steps"},
    {"name: t\nversion: \"1\"\n", "name", 0, "key 'steps' is missing"},
    {"version: \"1\"\nsteps: [{id: a, agent: sys.echo}]\n", "version", 0, "key 'name' is missing"},
    {"", "", 0, "the workflow is empty"},
    {"# nothing\n", "#", 0, "the workflow is empty"},
    {"- a\n", "- a", 0, "expected a mapping with name, version, params and steps, got a list"},
    {"name: t\nname: u\nversion: \"1\"\nsteps: [{id: a, agent: sys.echo}]\n", "name", 2,
     "key 'name' is given twice (first at line 1, column 1)"},
    //  Hostile YAML.
    {"name: &n t\nversion: \"1\"\nsteps: [{id: a, agent: sys.echo}]\n", "&n", 0,
     "anchor '&n' refused: anchors, aliases and tags are not allowed in a workflow"},
    {"name: t\nversion: *v\nsteps: [{id: a, agent: sys.echo}]\n", "*v", 0, "alias '*v' refused"},
    {"name: !!str t\nversion: \"1\"\nsteps: [{id: a, agent: sys.echo}]\n", "!!str", 0,
     "tag 'tag:yaml.org,2002:str' refused"},
    {"name: t\nversion: \"1\"\nsteps: [{id: a, agent: sys.echo}\nnext: 1\n", "next", 0,
     "YAML syntax error: did not find expected ',' or ']'"},
    {"name: t\n---\nname: u\n", "---", 0, "a second YAML document; a workflow holds one"},
    //  Location and approvals.
    {HEAD "  - {id: a, agent: sys.echo, location: {near: {lat: 48.8, lon: 2.3}}}\n", "{lat", 0,
     "key 'location.near': 'within_km' is missing"},
    {HEAD "  - {id: a, agent: sys.echo, location: {near: {lat: 95, lon: 2, within_km: 5}}}\n", "95",
     0, "key 'location.near.lat': 95 is out of range; expected a number from -90 to 90"},
    {HEAD "  - {id: a, agent: sys.echo, location: {near: {lat: 5, lon: 2, within_km: 0}}}\n", "0}",
     0, "within_km': must be above 0"},
    {HEAD "  - {id: a, agent: sys.echo, location: {labels: {'a b': x}}}\n", "'a b'", 0,
     "label 'a b' must be 1 to 64 letters, digits and _ . - / only"},
    {HEAD "  - {id: a, agent: sys.echo, location: {region: [eu]}}\n", "[eu]", 0,
     "key 'location.region': expected text, got a list"},
    {HEAD "  - {id: a, agent: sys.echo, location: {site: \"${params.site}\"}}\n", "\"${", 0,
     "key 'location.site': references are allowed only in with and hitl.message"},
    {HEAD "  - {id: a, hitl: {approvers: [bob]}}\n", "bob", 0,
     "'bob' is neither a role (approver, operator, admin) nor a public key"},
    {HEAD "  - {id: a, hitl: {approvers: [aprover]}}\n", "aprover", 0, "did you mean 'approver'?"},
    {HEAD "  - {id: a, hitl: {approvers: [viewer]}}\n", "viewer", 0,
     "role 'viewer' cannot approve"},
    {HEAD "  - {id: a, hitl: {approvers: [approver, approver]}}\n", "approver", 3,
     "'approver' is listed twice"},
    {HEAD "  - {id: a, hitl: {approvers: [0000000000000000000000000000000000000000000000000000"
          "000000000001], min_approvals: 2}}\n",
     "2}", 0, "min_approvals is 2 but only 1 approver keys are listed"},
    {HEAD "  - {id: a, hitl: {values: []}}\n", "[]", 0, "the list is empty"},
    {HEAD "  - {id: a, hitl: {values: [go, go]}}\n", "go", 2, "'go' is listed twice"},
    {HEAD "  - {id: a, hitl: {on_timeout: approve}}\n", "approve", 0,
     "on_timeout has no effect without a timeout"},
    {HEAD "  - {id: a, hitl: {timeout: 1h, on_timeout: maybe}}\n", "maybe", 0,
     "expected reject, approve or escalate, got 'maybe'"},
    {HEAD "  - {id: a, hitl: {min_approvals: 0}}\n", "0}", 0, "0 is out of range"},
    //  Keys that repeat inside with.
    {HEAD "  - {id: a, agent: sys.echo, with: {x: 1, x: 2}}\n", "x", 2, "key 'x' is given twice"},
};

static void
test_error_kinds (void **state)
{
    for (size_t i = 0; i < sizeof s_cases / sizeof s_cases [0]; i++)
        s_expect_one (s_cases [i].yaml, NULL, s_cases [i].marker,
                      s_cases [i].nth ? s_cases [i].nth : 1, s_cases [i].phrase);
}

//  Limits name themselves and their config key.
static void
test_limits (void **state)
{
    fed_workflow_limits_t limits = {64, 10000};
    s_expect_one (HEAD "  - {id: a, agent: sys.echo, description: a description too long}\n",
                  &limits, NULL, 1,
                  "the workflow is 94 bytes, over the 64 bytes limit (limits.yaml_file)");
    limits = (fed_workflow_limits_t){1024, 10000};
    char big [1100];
    memset (big, '#', sizeof big);
    big [sizeof big - 1] = 0;
    s_expect_one (big, &limits, NULL, 1, "over the 1KiB limit (limits.yaml_file)");
    limits = (fed_workflow_limits_t){1048576, 2};
    s_expect_one (HEAD "  - {id: a, agent: sys.echo}\n  - {id: b, agent: sys.echo}\n"
                       "  - {id: c, agent: sys.echo}\n",
                  &limits, "- {id: a", 1,
                  "key 'steps': 3 steps, over the limit of 2 (limits.workflow_steps)");
    //  Nesting past the fixed cap, in a param's default.
    char deep [400];
    size_t n =
        (size_t) snprintf (deep, sizeof deep, "name: t\nversion: \"1\"\nparams: {p: {default: ");
    for (int i = 0; i < 40; i++)
        deep [n++] = '[';
    deep [n] = 0;
    s_expect_one (deep, NULL, "[", 30, "nesting deeper than 32 levels: refused in a workflow");
    //  The billion laughs: refused at the first anchor.
    char *path = fed_sprintf ("%s/tests/data/workflows/bad_laughs.yaml", FED_SRCDIR);
    fed_wf_errors_t *errors = fed_wf_errors_new ();
    assert_null (fed_workflow_load (path, NULL, errors));
    assert_int_equal (fed_wf_errors_count (errors), 1);
    assert_contains (fed_wf_errors_text (errors, 0), "bad_laughs.yaml:3:7: anchor '&a' refused");
    //  A file that is not there, and one over the limit.
    assert_null (fed_workflow_load ("/nonexistent/flow.yaml", NULL, errors));
    assert_int_equal (fed_wf_errors_count (errors), 1);
    assert_string_equal (fed_wf_errors_text (errors, 0),
                         "/nonexistent/flow.yaml: cannot read the workflow: No such file or "
                         "directory");
    limits = (fed_workflow_limits_t){1024, 10};
    assert_null (fed_workflow_load (path, &limits, errors));
    assert_null (fed_workflow_load (path, &(fed_workflow_limits_t){100, 10}, errors));
    assert_int_equal (fed_wf_errors_count (errors), 1);
    assert_contains (
        fed_wf_errors_text (errors, 0),
        "bad_laughs.yaml: the workflow is over the 100 bytes limit (limits.yaml_file)");
    fed_wf_errors_destroy (&errors);
    free (path);
}

//  A file with five mistakes gives five errors, in file order.
static void
test_every_error (void **state)
{
    char *path = fed_sprintf ("%s/tests/data/workflows/bad_five.yaml", FED_SRCDIR);
    fed_wf_errors_t *errors = fed_wf_errors_new ();
    assert_null (fed_workflow_load (path, NULL, errors));
    static const char *expected [] = {
        ":9:14: step 'fetch': key 'timeout': bad duration '30': give a unit",
        ":14:20: step 'clean': needs 'fecth', which is no step's id; did you mean 'fetch'?",
        ":15:5: step 'clean': key 'retires' is unknown; did you mean 'retries'?",
        ":20:13: step 'report': ${steps.load.output.rows} refers to step 'load', which is not "
        "upstream of 'report'",
        ":21:9: step id 'load' is used twice (first at line 10, column 9)"};
    if (fed_wf_errors_count (errors) != 5)
        s_print_errors (errors);
    assert_int_equal (fed_wf_errors_count (errors), 5);
    for (size_t i = 0; i < 5; i++) {
        assert_contains (fed_wf_errors_text (errors, i), expected [i]);
        assert_int_equal (strncmp (fed_wf_errors_text (errors, i), path, strlen (path)), 0);
    }
    assert_int_equal (fed_wf_errors_line (errors, 0), 9);
    assert_int_equal (fed_wf_errors_column (errors, 0), 14);
    free (path);
    //  The cycle file: one error, the cycle's path.
    path = fed_sprintf ("%s/tests/data/workflows/bad_cycle.yaml", FED_SRCDIR);
    assert_null (fed_workflow_load (path, NULL, errors));
    assert_int_equal (fed_wf_errors_count (errors), 1);
    assert_contains (fed_wf_errors_text (errors, 0),
                     "bad_cycle.yaml:11:13: cycle: extract -> load -> transform -> extract");
    free (path);
    //  Past FED_WORKFLOW_ERRORS_MAX, one line counts the rest.
    size_t steps = FED_WORKFLOW_ERRORS_MAX + 50;
    char *text = (char *) fed_malloc (steps * 48 + 64);
    size_t n = (size_t) sprintf (text, HEAD);
    for (size_t i = 0; i < steps; i++)
        n += (size_t) sprintf (text + n, "  - {id: s%zu, agent: sys.echo, retries: x}\n", i);
    assert_null (fed_workflow_parse (text, n, "t.yaml", NULL, errors));
    assert_int_equal (fed_wf_errors_count (errors), FED_WORKFLOW_ERRORS_MAX + 1);
    assert_string_equal (fed_wf_errors_text (errors, FED_WORKFLOW_ERRORS_MAX),
                         "t.yaml: 50 more errors not shown (fix the ones above first)");
    free (text);
    //  NULL errors: still refused.
    assert_null (fed_workflow_parse ("x: 1", 4, "t.yaml", NULL, NULL));
    fed_wf_errors_destroy (&errors);
}

//  A step's with as compact JSON, into out.
static void
s_with_json (const fed_wf_step_t *step, char *out, size_t size)
{
    char *json = fed_json_from_msgpack (step->with, step->with_size, false);
    assert_non_null (json);
    snprintf (out, size, "%s", json);
    free (json);
}

//  location.same_node_as names one of the step's needs, whose index it
//  holds; anything else is refused where it stands.
static void
test_same_node_as (void **state)
{
    (void) state;
    const char *yaml = HEAD "  - {id: a, agent: sys.echo}\n"
                            "  - {id: b, agent: sys.echo, needs: a, location: {same_node_as: a}}\n";
    fed_wf_errors_t *errors = fed_wf_errors_new ();
    fed_workflow_t *wf = fed_workflow_parse (yaml, strlen (yaml), "t.yaml", NULL, errors);
    assert_non_null (wf);
    assert_int_equal (fed_workflow_step (wf, 1)->same_node_as, 0);
    assert_int_equal (fed_workflow_step (wf, 0)->same_node_as, SIZE_MAX);
    fed_workflow_destroy (&wf);
    fed_wf_errors_destroy (&errors);
    s_expect_one (HEAD "  - {id: a, agent: sys.echo}\n"
                       "  - {id: b, agent: sys.echo, location: {same_node_as: a}}\n",
                  NULL, "a}}", 1, "location.same_node_as 'a' must be one of the step's needs");
    s_expect_one (HEAD "  - {id: a, agent: sys.echo}\n"
                       "  - {id: b, agent: sys.echo, needs: a, location: {same_node_as: zz}}\n",
                  NULL, "zz", 1, "must be one of the step's needs");
    s_expect_one (HEAD "  - {id: a, agent: sys.echo}\n"
                       "  - {id: b, agent: sys.echo, needs: a, location: {node: n1, "
                       "same_node_as: a}}\n",
                  NULL, "a}}", 1, "both node and same_node_as");
    s_expect_one (HEAD "  - {id: a, agent: sys.echo}\n"
                       "  - {id: b, agent: sys.echo, needs: a, location: {same_node_as: [a]}}\n",
                  NULL, "[a]", 1, "same_node_as");
    s_expect_one (HEAD "  - {id: a, agent: sys.echo}\n"
                       "  - {id: b, agent: sys.echo, needs: a, location: {prefer: "
                       "{same_node_as: a}}}\n",
                  NULL, "same_node_as", 1, "is unknown");
}

static void
test_example (void **state)
{
    char *path = fed_sprintf ("%s/config/example_workflow.yaml", FED_SRCDIR);
    fed_wf_errors_t *errors = fed_wf_errors_new ();
    fed_workflow_t *wf = fed_workflow_load (path, NULL, errors);
    if (!wf)
        s_print_errors (errors);
    assert_non_null (wf);
    assert_int_equal (fed_wf_errors_count (errors), 0);
    assert_string_equal (fed_workflow_name (wf), "example.fanout");
    assert_string_equal (fed_workflow_version (wf), "1.0.0");
    assert_contains (fed_workflow_description (wf), "Splits a batch into three shards");
    assert_int_equal (fed_workflow_param_count (wf), 3);
    const fed_wf_param_t *rows = fed_workflow_param_find (wf, "rows");
    assert_non_null (rows);
    assert_int_equal (rows->type, FED_WF_INT);
    assert_int_equal (rows->fallback_size, 3); //  0xcd 0x03 0xe8: 1000
    assert_memory_equal (rows->fallback, "\xcd\x03\xe8", 3);
    assert_string_equal (fed_workflow_param (wf, 0)->description, "the batch to process");
    assert_null (fed_workflow_param_find (wf, "nope"));

    assert_int_equal (fed_workflow_step_count (wf), 7);
    static const char *ids [] = {"prepare", "shard-a", "shard-b", "shard-edge",
                                 "merge",   "review",  "publish"};
    const size_t *order = fed_workflow_order (wf);
    for (size_t i = 0; i < 7; i++) {
        assert_int_equal (fed_workflow_step_find (wf, ids [i]), i);
        assert_int_equal (order [i], i); //  already in a topological order
    }
    assert_int_equal (fed_workflow_step_find (wf, "nope"), SIZE_MAX);
    //  Fan-out, fan-in.
    const fed_wf_step_t *merge = fed_workflow_step (wf, 4);
    assert_int_equal (merge->need_count, 3);
    assert_int_equal (merge->needs [0], 1);
    assert_int_equal (merge->needs [2], 3);
    assert_int_equal (merge->ref_count, 4);
    assert_true (merge->refs [0].is_step);
    assert_int_equal (merge->refs [0].step, 1);
    assert_string_equal (merge->refs [0].name, "slept_ms");
    assert_false (merge->refs [3].is_step);
    assert_string_equal (merge->refs [3].name, "batch");
    char with [512];
    s_with_json (merge, with, sizeof with);
    assert_contains (with, "\"note\":\"merged ${params.batch}\"");
    //  Retries and backoff.
    const fed_wf_step_t *a = fed_workflow_step (wf, 1);
    assert_string_equal (a->agent, "sys.sleep");
    assert_int_equal (a->retries, 2);
    assert_int_equal (a->backoff.initial_ms, 500);
    assert_int_equal (a->backoff.max_ms, 5000);
    assert_true (a->backoff.factor == 2);
    assert_int_equal (a->timeout_ms, 60000);
    const fed_wf_step_t *b = fed_workflow_step (wf, 2);
    assert_int_equal (b->backoff.initial_ms, 1000); //  the default
    assert_int_equal (b->backoff.max_ms, 60000);
    //  The edge step's location, as placement takes it.
    const fed_wf_step_t *edge = fed_workflow_step (wf, 3);
    assert_string_equal (edge->require.region, "edge");
    assert_null (edge->require.zone);
    assert_false (edge->near.given);
    assert_int_equal (edge->prefer.label_count, 1);
    assert_string_equal (edge->prefer.labels [0].key, "tier");
    assert_string_equal (edge->prefer.labels [0].value, "edge");
    s_with_json (edge, with, sizeof with);
    assert_contains (with, "\"rows\":\"${params.rows}\"");
    //  The approval gate.
    const fed_wf_step_t *review = fed_workflow_step (wf, 5);
    assert_string_equal (review->agent, "");
    assert_true (review->hitl.enabled);
    assert_int_equal (review->hitl.approver_count, 1);
    assert_true (review->hitl.approvers [0].is_role);
    assert_int_equal (review->hitl.approvers [0].role, FED_ROLE_APPROVER);
    assert_string_equal (review->hitl.message, "Publish batch ${params.batch}?");
    assert_int_equal (review->hitl.value_count, 2);
    assert_string_equal (review->hitl.values [1], "hold");
    assert_int_equal (review->hitl.timeout_ms, 24 * 3600000LL);
    assert_int_equal (review->hitl.on_timeout, FED_WF_ON_TIMEOUT_REJECT);
    assert_int_equal (review->hitl.min_approvals, 1);
    assert_false (review->hitl.forbid_submitter);
    const fed_wf_step_t *publish = fed_workflow_step (wf, 6);
    assert_false (publish->hitl.enabled);
    assert_int_equal (publish->ref_count, 2);
    assert_int_equal (publish->refs [0].step, 5);
    assert_string_equal (publish->refs [0].name, "value");
    //  The hash is of the bytes, and the source is kept as given.
    size_t size;
    const char *source = fed_workflow_source (wf, &size);
    uint8_t hash [32];
    fed_workflow_hash_text (source, size, hash);
    assert_memory_equal (hash, fed_workflow_hash (wf), 32);
    assert_int_equal (source [size], 0);
    fed_workflow_destroy (&wf);
    fed_workflow_destroy (&wf);
    fed_workflow_destroy (NULL);
    fed_wf_errors_destroy (&errors);
    free (path);
}

//  Values in with keep their YAML types; params their declared ones.
static void
test_values (void **state)
{
    const char *yaml =
        "name: t\nversion: \"1\"\n"
        "params:\n"
        "  f: {type: float, default: 2}\n"
        "  s: {type: string, default: 42}\n"
        "  l: {default: [1, two]}\n"
        "  m: {type: map, default: {k: v}}\n"
        "  r: {required: true, description: needed}\n"
        "steps:\n"
        "  - id: a\n"
        "    agent: sys.echo\n"
        "    with: {i: 7, n: -3, h: 0x1f, f: 1.5, e: 1e3, t: true, z: ~, q: \"7\", big: "
        "18446744073709551615, s: text, lit: \"$${params.x}\", list: [1, [2]], map: {a: "
        "{b: c}}}\n"
        "    location: {node: n1, zone: z1, site: s1, labels: {gpu: a100}, near: {lat: 48.85, "
        "lon: 2.35, within_km: 50}, prefer: {region: eu, node: n2}}\n"
        "    hitl: {approvers: [operator, "
        "0000000000000000000000000000000000000000000000000000000000000001], "
        "forbid_submitter: true, min_approvals: 2, timeout: 2d, on_timeout: escalate, values: "
        "yes}\n";
    fed_wf_errors_t *errors = fed_wf_errors_new ();
    fed_workflow_t *wf = fed_workflow_parse (yaml, strlen (yaml), "t.yaml", NULL, errors);
    if (!wf)
        s_print_errors (errors);
    assert_non_null (wf);
    char *json = fed_json_from_msgpack (fed_workflow_param (wf, 0)->fallback,
                                        fed_workflow_param (wf, 0)->fallback_size, false);
    assert_string_equal (json, "2.0");
    free (json);
    json = fed_json_from_msgpack (fed_workflow_param (wf, 1)->fallback,
                                  fed_workflow_param (wf, 1)->fallback_size, false);
    assert_string_equal (json, "\"42\"");
    free (json);
    assert_int_equal (fed_workflow_param (wf, 2)->type, FED_WF_LIST);
    assert_int_equal (fed_workflow_param (wf, 3)->type, FED_WF_MAP);
    const fed_wf_param_t *r = fed_workflow_param (wf, 4);
    assert_true (r->required);
    assert_int_equal (r->type, FED_WF_STRING);
    assert_null (r->fallback);
    const fed_wf_step_t *step = fed_workflow_step (wf, 0);
    json = fed_json_from_msgpack (step->with, step->with_size, false);
    assert_non_null (json);
    assert_contains (json,
                     "\"i\":7,\"n\":-3,\"h\":31,\"f\":1.5,\"e\":1000.0,\"t\":true,\"z\":null,"
                     "\"q\":\"7\",\"big\":18446744073709551615,\"s\":\"text\"");
    assert_contains (json,
                     "\"lit\":\"$${params.x}\",\"list\":[1,[2]],\"map\":{\"a\":{\"b\":\"c\"}}");
    free (json);
    assert_int_equal (step->ref_count, 0); //  $${ is a literal
    assert_string_equal (step->require.node, "n1");
    assert_string_equal (step->require.zone, "z1");
    assert_string_equal (step->require.site, "s1");
    assert_null (step->require.region);
    assert_int_equal (step->require.label_count, 1);
    assert_true (step->near.given);
    assert_true (step->near.lat == 48.85 && step->near.lon == 2.35 && step->near.within_km == 50);
    assert_string_equal (step->prefer.region, "eu");
    assert_string_equal (step->prefer.node, "n2");
    assert_int_equal (step->hitl.approver_count, 2);
    assert_int_equal (step->hitl.approvers [0].role, FED_ROLE_OPERATOR);
    assert_false (step->hitl.approvers [1].is_role);
    assert_int_equal (step->hitl.approvers [1].key [31], 1);
    assert_true (step->hitl.forbid_submitter);
    assert_int_equal (step->hitl.min_approvals, 2);
    assert_int_equal (step->hitl.timeout_ms, 2 * 86400000LL);
    assert_int_equal (step->hitl.on_timeout, FED_WF_ON_TIMEOUT_ESCALATE);
    assert_int_equal (step->hitl.value_count, 1);
    assert_string_equal (step->hitl.values [0], "yes");
    assert_int_equal (step->need_count, 0);
    fed_workflow_destroy (&wf);
    fed_wf_errors_destroy (&errors);
}

//  Big graphs validate, and quickly (printed, not asserted).
static void
test_large (void **state)
{
    //  A 10,000-step chain; each step refers to its predecessor (a direct
    //  need) and to the first step (upstream through all the others).
    size_t steps = 10000;
    char *text = (char *) fed_malloc (steps * 160 + 64);
    size_t n = (size_t) sprintf (text, HEAD "  - {id: s0, agent: sys.echo}\n");
    for (size_t i = 1; i < steps; i++)
        n += (size_t) sprintf (text + n,
                               "  - {id: s%zu, agent: sys.echo, needs: s%zu, with: {p: "
                               "\"${steps.s%zu.output.k}\", f: \"${steps.s0.output}\"}}\n",
                               i, i - 1, i - 1);
    fed_workflow_limits_t limits = {4 * 1048576, 10000};
    fed_wf_errors_t *errors = fed_wf_errors_new ();
    int64_t started = fed_mono_ms ();
    fed_workflow_t *wf = fed_workflow_parse (text, n, "chain.yaml", &limits, errors);
    int64_t chain_ms = fed_mono_ms () - started;
    if (!wf)
        s_print_errors (errors);
    assert_non_null (wf);
    assert_int_equal (fed_workflow_step_count (wf), steps);
    for (size_t i = 0; i < steps; i++)
        assert_int_equal (fed_workflow_order (wf) [i], i);
    fed_workflow_destroy (&wf);
    //  The same chain in reverse file order: the order still puts needs first.
    n = (size_t) sprintf (text, HEAD);
    for (size_t i = steps - 1; i > 0; i--)
        n +=
            (size_t) sprintf (text + n, "  - {id: s%zu, agent: sys.echo, needs: s%zu}\n", i, i - 1);
    n += (size_t) sprintf (text + n, "  - {id: s0, agent: sys.echo}\n");
    wf = fed_workflow_parse (text, n, "reverse.yaml", &limits, errors);
    assert_non_null (wf);
    for (size_t i = 0; i < steps; i++) {
        char id [16];
        snprintf (id, sizeof id, "s%zu", i);
        assert_string_equal (fed_workflow_step (wf, fed_workflow_order (wf) [i])->id, id);
    }
    fed_workflow_destroy (&wf);
    //  A 1,000-wide fan-out and its fan-in.
    size_t width = 1000;
    n = (size_t) sprintf (text, HEAD "  - {id: root, agent: sys.echo}\n");
    for (size_t i = 0; i < width; i++)
        n += (size_t) sprintf (text + n,
                               "  - {id: w%zu, agent: sys.sleep, needs: root, with: {r: "
                               "\"${steps.root.output.r}\"}}\n",
                               i);
    n += (size_t) sprintf (text + n, "  - id: join\n    agent: sys.echo\n    needs: [");
    for (size_t i = 0; i < width; i++)
        n += (size_t) sprintf (text + n, "%sw%zu", i ? ", " : "", i);
    n += (size_t) sprintf (text + n, "]\n    with: {all: \"${steps.root.output}\"}\n");
    started = fed_mono_ms ();
    wf = fed_workflow_parse (text, n, "fan.yaml", NULL, errors);
    int64_t fan_ms = fed_mono_ms () - started;
    assert_non_null (wf);
    assert_int_equal (fed_workflow_step_count (wf), width + 2);
    const fed_wf_step_t *join = fed_workflow_step (wf, width + 1);
    assert_int_equal (join->need_count, width);
    assert_int_equal (fed_workflow_order (wf) [0], 0);
    assert_int_equal (fed_workflow_order (wf) [width + 1], width + 1);
    fed_workflow_destroy (&wf);
    //  A cycle through all 10,000: found, with its path cut short.
    n = (size_t) sprintf (text, HEAD);
    for (size_t i = 0; i < steps; i++)
        n += (size_t) sprintf (text + n, "  - {id: s%zu, agent: sys.echo, needs: s%zu}\n", i,
                               (i + steps - 1) % steps);
    started = fed_mono_ms ();
    assert_null (fed_workflow_parse (text, n, "ring.yaml", &limits, errors));
    int64_t ring_ms = fed_mono_ms () - started;
    assert_int_equal (fed_wf_errors_count (errors), 1);
    assert_contains (fed_wf_errors_text (errors, 0),
                     "cycle: s0 -> s9999 -> s9998 -> s9997 -> s9996 -> … (9990 more steps) -> "
                     "s4 -> s3 -> s2 -> s1 -> s0");
    printf ("# 10,000-step chain: %lld ms; 1,000-wide fan-out: %lld ms; 10,000-step ring: %lld "
            "ms\n",
            (long long) chain_ms, (long long) fan_ms, (long long) ring_ms);
    fed_wf_errors_destroy (&errors);
    free (text);
}

static void
test_hash (void **state)
{
    uint8_t hash [32];
    char hex [65];
    fed_workflow_hash_text ("abc", 3, hash);
    fed_hex_encode (hex, hash, 32);
    //  What `printf abc | b2sum -l 256` prints.
    assert_string_equal (hex, "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319");
    const char *yaml = HEAD "  - {id: a, agent: sys.echo}\n";
    fed_workflow_t *one = fed_workflow_parse (yaml, strlen (yaml), "a", NULL, NULL);
    fed_workflow_t *two = fed_workflow_parse (yaml, strlen (yaml), "b", NULL, NULL);
    assert_non_null (one);
    assert_non_null (two);
    assert_memory_equal (fed_workflow_hash (one), fed_workflow_hash (two), 32);
    fed_workflow_hash_text (yaml, strlen (yaml), hash);
    assert_memory_equal (fed_workflow_hash (one), hash, 32);
    //  Any change to the definition changes it, a comment included.
    const char *changed [] = {HEAD "  - {id: a, agent: sys.sleep}\n",
                              HEAD "  - {id: b, agent: sys.echo}\n",
                              HEAD "  - {id: a, agent: sys.echo} # note\n",
                              "name: t\nversion: \"2\"\nsteps:\n  - {id: a, agent: sys.echo}\n"};
    for (size_t i = 0; i < 4; i++) {
        fed_workflow_t *other =
            fed_workflow_parse (changed [i], strlen (changed [i]), "c", NULL, NULL);
        assert_non_null (other);
        assert_memory_not_equal (fed_workflow_hash (other), fed_workflow_hash (one), 32);
        fed_workflow_destroy (&other);
    }
    fed_workflow_destroy (&one);
    fed_workflow_destroy (&two);
}

static void
test_versions (void **state)
{
    //  Each row: a < b.
    static const char *less [][2] = {
        {"1", "2"},
        {"1.9", "1.10"},
        {"1.10", "2"},
        {"1.0-rc.2", "1.0-rc.10"},
        {"1.0-rc.10", "1.0"},
        {"1.0-alpha", "1.0-alpha.1"},
        {"1.0-alpha.1", "1.0-beta"},
        {"0.9.9", "1"},
        {"v2", "v10"},
        {"2024.06.01", "2024.10.01"},
        {"1.0", "1.0.1"},
        {"1a", "1b"},
        {"1", "1a"},
        {"9", "10"},
        {"007", "8"},
    };
    for (size_t i = 0; i < sizeof less / sizeof less [0]; i++) {
        if (!(fed_workflow_version_cmp (less [i][0], less [i][1]) < 0
              && fed_workflow_version_cmp (less [i][1], less [i][0]) > 0))
            print_error ("expected %s < %s\n", less [i][0], less [i][1]);
        assert_true (fed_workflow_version_cmp (less [i][0], less [i][1]) < 0);
        assert_true (fed_workflow_version_cmp (less [i][1], less [i][0]) > 0);
    }
    static const char *same [][2] = {
        {"1.0", "1.0.0"}, {"1.0+build7", "1.0"}, {"01", "1"}, {"2.1", "2.1"}};
    for (size_t i = 0; i < sizeof same / sizeof same [0]; i++)
        assert_int_equal (fed_workflow_version_cmp (same [i][0], same [i][1]), 0);
    assert_true (fed_workflow_version_valid ("1.0.0-rc.1+b2", 13));
    assert_false (fed_workflow_version_valid ("-1", 2));
    assert_false (fed_workflow_version_valid ("1 0", 3));
    assert_false (fed_workflow_version_valid ("", 0));
    assert_false (fed_workflow_version_valid ("123456789012345678901234567890123", 33));
    assert_true (fed_workflow_name_valid ("etl.daily_2-b", 13));
    assert_false (fed_workflow_name_valid ("Etl", 3));
    assert_false (fed_workflow_name_valid (".etl", 4));
    assert_false (fed_workflow_name_valid ("a/b", 3));
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_error_kinds),  cmocka_unit_test (test_limits),
        cmocka_unit_test (test_every_error),  cmocka_unit_test (test_example),
        cmocka_unit_test (test_values),       cmocka_unit_test (test_large),
        cmocka_unit_test (test_hash),         cmocka_unit_test (test_versions),
        cmocka_unit_test (test_same_node_as),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
