/*  tests/unit/test_wfresolve.c: binding a run's params and resolving
    references (node/wfresolve.h).

    Small workflows parsed from inline YAML; every result is compared byte
    for byte against msgpack built here (printed as JSON when it differs),
    every error against its exact text. Truncated and malformed inputs at
    every length must fail cleanly (run under the sanitizers).
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
#include "wfresolve.h"

static fed_workflow_t *
s_parse (const char *yaml)
{
    fed_wf_errors_t *errors = fed_wf_errors_new ();
    fed_workflow_t *wf = fed_workflow_parse (yaml, strlen (yaml), "t.yaml", NULL, errors);
    for (size_t i = 0; i < fed_wf_errors_count (errors); i++)
        print_error ("  %s\n", fed_wf_errors_text (errors, i));
    fed_wf_errors_destroy (&errors);
    assert_non_null (wf);
    return wf;
}

//  Fails unless the size bytes at got are the bytes of want.
static void
s_expect_bytes (const void *got, size_t size, const msgpack_sbuffer *want)
{
    if (size == want->size && !memcmp (got, want->data, size))
        return;
    char *g = fed_json_from_msgpack (got, size, false);
    char *w = fed_json_from_msgpack (want->data, want->size, false);
    print_error ("expected %s (%zu bytes)\n     got %s (%zu bytes)\n", w ? w : "(bad msgpack)",
                 want->size, g ? g : "(bad msgpack)", size);
    free (g);
    free (w);
    fail ();
}

static void
s_expect_text (const char *got, const char *want)
{
    if (strcmp (got, want)) {
        print_error ("expected: %s\n     got: %s\n", want, got);
        fail ();
    }
}

static void
s_str (msgpack_packer *pk, const char *text)
{
    msgpack_pack_str_with_body (pk, text, strlen (text));
}

//  Msgpack from JSON text, into a fresh buffer the caller destroys.
static void
s_json (msgpack_sbuffer *buffer, const char *json)
{
    uint8_t *data;
    size_t size;
    fed_err_t err;
    if (fed_json_to_msgpack (json, strlen (json), NULL, &data, &size, &err)) {
        print_error ("bad JSON %s: %s\n", json, err.text);
        fail ();
    }
    msgpack_sbuffer_init (buffer);
    msgpack_sbuffer_write (buffer, (const char *) data, size);
    free (data);
}

//  --------------------------------------------------------------------------
//  Binding

static const char *s_bind_yaml = "name: t\n"
                                 "version: \"1\"\n"
                                 "params:\n"
                                 "  rows: {type: int, default: 100}\n"
                                 "  source: {type: string, required: true}\n"
                                 "  ratio: {type: float}\n"
                                 "  dry: {type: bool, default: false}\n"
                                 "  tags: {type: list}\n"
                                 "  opts: {type: map}\n"
                                 "steps:\n"
                                 "  - id: a\n"
                                 "    agent: sys.echo\n";

//  Binds the params of JSON text (NULL: none) and expects the result of
//  want_json (NULL: an error with text want_error).
static void
s_bind (const fed_workflow_t *wf, const char *json, const char *want_json, const char *want_error)
{
    msgpack_sbuffer given = {0, NULL, 0}, out, want;
    if (json)
        s_json (&given, json);
    msgpack_sbuffer_init (&out);
    fed_err_t err = {0, ""};
    int rc = fed_wf_bind_params (wf, (const uint8_t *) given.data, given.size, &out, &err);
    if (want_json) {
        if (rc)
            print_error ("for %s: unexpected error: %s\n", json, err.text);
        assert_int_equal (rc, 0);
        s_json (&want, want_json);
        s_expect_bytes (out.data, out.size, &want);
        msgpack_sbuffer_destroy (&want);
    } else {
        if (!rc)
            print_error ("for %s: expected error %s\n", json, want_error);
        assert_int_equal (rc, -1);
        assert_int_equal (out.size, 0);
        s_expect_text (err.text, want_error);
    }
    msgpack_sbuffer_destroy (&out);
    msgpack_sbuffer_destroy (&given);
}

static void
test_bind_defaults (void **state)
{
    (void) state;
    fed_workflow_t *wf = s_parse (s_bind_yaml);
    //  Declaration order, whatever order they were given in; defaults; nil
    //  for an optional param without a default.
    s_bind (wf, "{\"source\": \"s3\"}",
            "{\"rows\": 100, \"source\": \"s3\", \"ratio\": null, \"dry\": false, \"tags\": null,"
            " \"opts\": null}",
            NULL);
    s_bind (wf,
            "{\"opts\": {\"a\": [1]}, \"tags\": [\"x\", 2], \"dry\": true, \"ratio\": 0.25,"
            " \"source\": \"\", \"rows\": -7}",
            "{\"rows\": -7, \"source\": \"\", \"ratio\": 0.25, \"dry\": true, \"tags\": [\"x\", 2],"
            " \"opts\": {\"a\": [1]}}",
            NULL);
    //  An int past INT64_MAX is an int as given.
    s_bind (wf, "{\"source\": \"s\", \"rows\": 18446744073709551615}",
            "{\"rows\": 18446744073709551615, \"source\": \"s\", \"ratio\": null, \"dry\": false,"
            " \"tags\": null, \"opts\": null}",
            NULL);
    //  Required and missing: none given, an empty map given.
    s_bind (wf, NULL, NULL, "param 'source' (string) is required; give it");
    s_bind (wf, "{}", NULL, "param 'source' (string) is required; give it");
    fed_workflow_destroy (&wf);

    //  A workflow without params binds to an empty map.
    wf = s_parse ("name: t\nversion: \"1\"\nsteps:\n  - id: a\n    agent: sys.echo\n");
    s_bind (wf, NULL, "{}", NULL);
    s_bind (wf, "{}", "{}", NULL);
    s_bind (wf, "{\"x\": 1}", NULL, "unknown param 'x': this workflow takes no params");
    fed_workflow_destroy (&wf);
}

static void
test_bind_convert (void **state)
{
    (void) state;
    fed_workflow_t *wf = s_parse (s_bind_yaml);
    s_bind (wf, "{\"source\": \"s\", \"rows\": \"12\", \"ratio\": \"2.5\", \"dry\": \"yes\"}",
            "{\"rows\": 12, \"source\": \"s\", \"ratio\": 2.5, \"dry\": true, \"tags\": null,"
            " \"opts\": null}",
            NULL);
    s_bind (
        wf,
        "{\"source\": \"s\", \"rows\": \"-9223372036854775808\", \"ratio\": \"-1e3\","
        " \"dry\": \"No\"}",
        "{\"rows\": -9223372036854775808, \"source\": \"s\", \"ratio\": -1000.0, \"dry\": false,"
        " \"tags\": null, \"opts\": null}",
        NULL);
    s_bind (wf, "{\"source\": \"s\", \"ratio\": \".5\", \"dry\": \"TRUE\"}",
            "{\"rows\": 100, \"source\": \"s\", \"ratio\": 0.5, \"dry\": true, \"tags\": null,"
            " \"opts\": null}",
            NULL);
    //  An int for a float param becomes a float.
    s_bind (wf, "{\"source\": \"s\", \"ratio\": 3}",
            "{\"rows\": 100, \"source\": \"s\", \"ratio\": 3.0, \"dry\": false, \"tags\": null,"
            " \"opts\": null}",
            NULL);
    //  Strings that do not convert: every problem, in declaration order.
    s_bind (wf, "{\"source\": \"s\", \"rows\": \"12x\", \"ratio\": \"1e999\", \"dry\": \"maybe\"}",
            NULL,
            "param 'rows' (int): '12x' is not a whole number; give digits, like 100; "
            "param 'ratio' (float): '1e999' is out of range for a float (at most about 1.8e308); "
            "param 'dry' (bool): 'maybe' is not a bool; give true, false, yes or no");
    s_bind (wf, "{\"source\": \"s\", \"rows\": \"9223372036854775808\"}", NULL,
            "param 'rows' (int): '9223372036854775808' is out of range for an int "
            "(-9223372036854775808 to 9223372036854775807)");
    s_bind (wf, "{\"source\": \"s\", \"rows\": \" 1\", \"ratio\": \"0x10\"}", NULL,
            "param 'rows' (int): ' 1' is not a whole number; give digits, like 100; "
            "param 'ratio' (float): '0x10' is not a number; give one like 2.5, -3 or 1e6");
    s_bind (wf, "{\"source\": \"s\", \"rows\": \"\", \"ratio\": \"nan\"}", NULL,
            "param 'rows' (int): '' is not a whole number; give digits, like 100; "
            "param 'ratio' (float): 'nan' is not a number; give one like 2.5, -3 or 1e6");
    fed_workflow_destroy (&wf);
}

static void
test_bind_refused (void **state)
{
    (void) state;
    fed_workflow_t *wf = s_parse (s_bind_yaml);
    //  Wrong types, nil included; str for a list or map.
    s_bind (wf,
            "{\"source\": 5, \"rows\": true, \"ratio\": [1], \"dry\": 1, \"tags\": \"a,b\","
            " \"opts\": [1]}",
            NULL,
            "param 'rows': expected an int, got a bool; param 'source': expected a string, got "
            "an int; param 'ratio': expected a float, got a list; param 'dry': expected a bool, "
            "got an int; param 'tags': expected a list, got the string 'a,b'; give list values as "
            "JSON with --params; param 'opts': expected a map, got a list");
    s_bind (wf, "{\"source\": null, \"rows\": 2.5, \"opts\": \"{}\"}", NULL,
            "param 'rows': expected an int, got a float; param 'source': expected a string, got "
            "nil; param 'opts': expected a map, got the string '{}'; give map values as JSON with "
            "--params");
    //  Unknown names: the nearest declared name when close, else the list.
    s_bind (wf, "{\"source\": \"s\", \"rwos\": 5}", NULL,
            "unknown param 'rwos'; did you mean 'rows'?");
    s_bind (wf, "{\"sorce\": \"s\", \"zzzzzz\": 1}", NULL,
            "unknown param 'sorce'; did you mean 'source'?; unknown param 'zzzzzz'; the params "
            "are: rows, source, ratio, dry, tags, opts; param 'source' (string) is required; give "
            "it");
    //  Not a map, not msgpack, a key not a string, a name given twice.
    s_bind (wf, "[1, 2]", NULL, "params: expected a map of param names to values, got a list");
    s_bind (wf, "\"rows\"", NULL, "params: expected a map of param names to values, got a string");
    msgpack_sbuffer out;
    msgpack_sbuffer_init (&out);
    fed_err_t err;
    assert_int_equal (fed_wf_bind_params (wf, (const uint8_t *) "\x81\xa1", 2, &out, &err), -1);
    assert_contains (err.text, "params: not one valid msgpack value: malformed msgpack");
    assert_int_equal (fed_wf_bind_params (wf, (const uint8_t *) "\x80\x80", 2, &out, &err), -1);
    assert_contains (err.text, "params: not one valid msgpack value: 1 trailing bytes");
    //  {1: 2, "source": "s"}
    assert_int_equal (
        fed_wf_bind_params (wf, (const uint8_t *) "\x82\x01\x02\xa6source\xa1s", 12, &out, &err),
        -1);
    s_expect_text (err.text, "params: a param name must be a string, got an int");
    //  {"source": "s", "rows": 1, "rows": 2}
    assert_int_equal (
        fed_wf_bind_params (wf, (const uint8_t *) "\x83\xa6source\xa1s\xa4rows\x01\xa4rows\x02", 22,
                            &out, &err),
        -1);
    s_expect_text (err.text, "param 'rows' is given twice");
    assert_int_equal (out.size, 0);
    //  Control bytes in a name are not printed as they are.
    assert_int_equal (fed_wf_bind_params (wf, (const uint8_t *) "\x82\xa6source\xa1s\xa2\x1b[\x01",
                                          14, &out, &err),
                      -1);
    s_expect_text (err.text,
                   "unknown param '?['; the params are: rows, source, ratio, dry, "
                   "tags, opts");

    //  Many problems: as many as fit, then how many more.
    msgpack_packer pk;
    msgpack_packer_init (&pk, &out, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 40);
    for (int i = 0; i < 40; i++) {
        char name [16];
        snprintf (name, sizeof name, "unknown_%02d", i);
        s_str (&pk, name);
        msgpack_pack_nil (&pk);
    }
    msgpack_sbuffer given = out;
    msgpack_sbuffer_init (&out);
    assert_int_equal (fed_wf_bind_params (wf, (const uint8_t *) given.data, given.size, &out, &err),
                      -1);
    assert_contains (err.text, "unknown param 'unknown_00'; the params are: rows,");
    assert_contains (err.text, " more");
    assert_true (strlen (err.text) < sizeof err.text - 1);
    print_message ("  40 unknown params: %s\n", err.text + strlen (err.text) - 40);

    //  Every truncation of a valid given fails cleanly.
    for (size_t size = 1; size < given.size; size++)
        assert_int_equal (fed_wf_bind_params (wf, (const uint8_t *) given.data, size, &out, &err),
                          -1);
    assert_int_equal (out.size, 0);
    msgpack_sbuffer_destroy (&given);
    msgpack_sbuffer_destroy (&out);
    fed_workflow_destroy (&wf);
}

//  --------------------------------------------------------------------------
//  Resolving

static const char *s_resolve_yaml =
    "name: t\n"
    "version: \"1\"\n"
    "params:\n"
    "  n: {type: int, default: 5}\n"
    "  neg: {type: int, default: -42}\n"
    "  ratio: {type: float, default: 2.5}\n"
    "  flag: {type: bool, default: true}\n"
    "  who: {type: string, default: bob}\n"
    "  tags: {type: list, default: [a, 1]}\n"
    "  opts: {type: map, default: {k: 1}}\n"
    "  none: {type: string}\n"
    "steps:\n"
    "  - id: a\n"
    "    agent: sys.echo\n"
    "  - id: b\n"
    "    agent: sys.echo\n"
    "    needs: [a]\n"
    "    with:\n"
    "      i: \"${params.n}\"\n"
    "      m: \"${params.opts}\"\n"
    "      l: \"${params.tags}\"\n"
    "      b: \"${params.flag}\"\n"
    "      z: \"${params.none}\"\n"
    "      f: \"${params.ratio}\"\n"
    "      o: \"${steps.a.output}\"\n"
    "      k: \"${steps.a.output.count}\"\n"
    "      nil: \"${steps.a.output.nothing}\"\n"
    "      lit: 7\n"
    "      s: plain $ text\n"
    "      nested: {x: [\"${params.n}\", \"${steps.a.output.sub.deep}\"]}\n"
    "      \"key${params.n}\": 1\n"
    "  - id: c\n"
    "    agent: sys.echo\n"
    "    needs: [b]\n"
    "    with:\n"
    "      t: \"n=${params.n} neg=${params.neg} r=${params.ratio} f=${params.flag} "
    "s=${params.who} z=[${params.none}] l=${params.tags} m=${params.opts}\"\n"
    "      o: \"out ${steps.a.output.sub} c=${steps.a.output.count} x=${steps.a.output.x} "
    "big=${steps.a.output.big} h=${steps.a.output.half} t=${steps.a.output.third}\"\n"
    "      e: \"$${params.n} costs $$5, $$$${x} and $\"\n"
    "      e2: \"$${params.n}\"\n"
    "    hitl: {message: \"Approve ${params.n} rows of ${steps.a.output.count}?\"}\n"
    "  - id: e1\n"
    "    agent: sys.echo\n"
    "    needs: [a]\n"
    "    with: {v: \"${steps.a.output.nope}\"}\n"
    "  - id: e2\n"
    "    agent: sys.echo\n"
    "    needs: [a]\n"
    "    with: {w: {x: [\"y ${steps.a.output.sub.nope}\"]}}\n"
    "  - id: e3\n"
    "    agent: sys.echo\n"
    "    needs: [a]\n"
    "    with: {v: \"${steps.a.output.count.x}\"}\n"
    "  - id: e4\n"
    "    agent: sys.echo\n"
    "    needs: [a]\n"
    "    with: {a: {b: [\"${steps.a.output}\"]}}\n";

//  Outputs by step index, for fed_wf_output_fn.
typedef struct {
    const msgpack_sbuffer *output [8];
} s_outputs_t;

static const uint8_t *
s_output (void *arg, size_t index, size_t *size_p)
{
    s_outputs_t *self = (s_outputs_t *) arg;
    if (index >= 8 || !self->output [index])
        return NULL;
    *size_p = self->output [index]->size;
    return (const uint8_t *) self->output [index]->data;
}

//  The output of step a: {count: 3, sub: {deep: {v: 42}}, x: 0.1 as a
//  float 32, big: UINT64_MAX, half: 100.0, third: 0.1 + 0.2, nothing: nil}.
static void
s_output_a (msgpack_sbuffer *buffer)
{
    msgpack_sbuffer_init (buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, buffer, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 7);
    s_str (&pk, "count");
    msgpack_pack_int64 (&pk, 3);
    s_str (&pk, "sub");
    msgpack_pack_map (&pk, 1);
    s_str (&pk, "deep");
    msgpack_pack_map (&pk, 1);
    s_str (&pk, "v");
    msgpack_pack_int64 (&pk, 42);
    s_str (&pk, "x");
    msgpack_pack_float (&pk, 0.1f);
    s_str (&pk, "big");
    msgpack_pack_uint64 (&pk, UINT64_MAX);
    s_str (&pk, "half");
    msgpack_pack_double (&pk, 100.0);
    s_str (&pk, "third");
    msgpack_pack_double (&pk, 0.1 + 0.2);
    s_str (&pk, "nothing");
    msgpack_pack_nil (&pk);
}

//  The default params of wf, bound.
static void
s_params (const fed_workflow_t *wf, msgpack_sbuffer *params)
{
    msgpack_sbuffer_init (params);
    fed_err_t err;
    if (fed_wf_bind_params (wf, NULL, 0, params, &err))
        print_error ("%s\n", err.text);
    assert_true (params->size > 0);
}

//  Resolves step id's with and expects want (NULL: the error want_error).
static void
s_resolve (const fed_workflow_t *wf, const char *id, const msgpack_sbuffer *params,
           s_outputs_t *outputs, size_t max_size, const msgpack_sbuffer *want,
           const char *want_error)
{
    size_t index = fed_workflow_step_find (wf, id);
    assert_true (index != SIZE_MAX);
    msgpack_sbuffer out;
    msgpack_sbuffer_init (&out);
    msgpack_sbuffer_write (&out, "\xc0", 1); //  what was there stays
    fed_err_t err = {0, ""};
    int rc = fed_wf_resolve_with (wf, index, params ? (const uint8_t *) params->data : NULL,
                                  params ? params->size : 0, outputs ? s_output : NULL, outputs,
                                  max_size, &out, &err);
    if (want) {
        if (rc)
            print_error ("step %s: unexpected error: %s\n", id, err.text);
        assert_int_equal (rc, 0);
        s_expect_bytes (out.data + 1, out.size - 1, want);
    } else {
        if (!rc)
            print_error ("step %s: expected error %s\n", id, want_error);
        assert_int_equal (rc, -1);
        assert_int_equal (out.size, 1);
        s_expect_text (err.text, want_error);
    }
    msgpack_sbuffer_destroy (&out);
}

static void
test_resolve_typed (void **state)
{
    (void) state;
    fed_workflow_t *wf = s_parse (s_resolve_yaml);
    msgpack_sbuffer params, output, want;
    s_params (wf, &params);
    s_output_a (&output);
    s_outputs_t outputs = {{&output}};

    msgpack_sbuffer_init (&want);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &want, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 13);
    s_str (&pk, "i");
    msgpack_pack_int64 (&pk, 5);
    s_str (&pk, "m");
    msgpack_pack_map (&pk, 1);
    s_str (&pk, "k");
    msgpack_pack_int64 (&pk, 1);
    s_str (&pk, "l");
    msgpack_pack_array (&pk, 2);
    s_str (&pk, "a");
    msgpack_pack_int64 (&pk, 1);
    s_str (&pk, "b");
    msgpack_pack_true (&pk);
    s_str (&pk, "z");
    msgpack_pack_nil (&pk);
    s_str (&pk, "f");
    msgpack_pack_double (&pk, 2.5);
    s_str (&pk, "o");
    msgpack_sbuffer_write (&want, output.data, output.size);
    s_str (&pk, "k");
    msgpack_pack_int64 (&pk, 3);
    s_str (&pk, "nil");
    msgpack_pack_nil (&pk);
    s_str (&pk, "lit");
    msgpack_pack_int64 (&pk, 7);
    s_str (&pk, "s");
    s_str (&pk, "plain $ text");
    s_str (&pk, "nested");
    msgpack_pack_map (&pk, 1);
    s_str (&pk, "x");
    msgpack_pack_array (&pk, 2);
    msgpack_pack_int64 (&pk, 5);
    msgpack_pack_map (&pk, 1);
    s_str (&pk, "v");
    msgpack_pack_int64 (&pk, 42);
    s_str (&pk, "key${params.n}");
    msgpack_pack_int64 (&pk, 1);
    s_resolve (wf, "b", &params, &outputs, SIZE_MAX, &want, NULL);

    //  max_size: the exact size passes, a byte less fails.
    s_resolve (wf, "b", &params, &outputs, want.size, &want, NULL);
    char expected [200];
    snprintf (expected, sizeof expected,
              "step 'b': with.key${params.n}: the result would take over %zu bytes, the most "
              "allowed",
              want.size - 1);
    s_resolve (wf, "b", &params, &outputs, want.size - 1, NULL, expected);
    //  A reference's value is measured before it is copied.
    s_resolve (wf, "b", &params, &outputs, 40, NULL,
               "step 'b': with.o: ${steps.a.output}: the result would take over 40 bytes, the "
               "most allowed");
    msgpack_sbuffer_destroy (&want);
    msgpack_sbuffer_destroy (&params);
    msgpack_sbuffer_destroy (&output);
    fed_workflow_destroy (&wf);
}

static void
test_resolve_text (void **state)
{
    (void) state;
    fed_workflow_t *wf = s_parse (s_resolve_yaml);
    msgpack_sbuffer params, output, want;
    s_params (wf, &params);
    s_output_a (&output);
    s_outputs_t outputs = {{&output}};

    msgpack_sbuffer_init (&want);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &want, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 4);
    s_str (&pk, "t");
    s_str (&pk, "n=5 neg=-42 r=2.5 f=true s=bob z=[] l=[\"a\",1] m={\"k\":1}");
    s_str (&pk, "o");
    s_str (&pk,
           "out {\"deep\":{\"v\":42}} c=3 x=0.1 big=18446744073709551615 h=100 "
           "t=0.30000000000000004");
    s_str (&pk, "e");
    s_str (&pk, "${params.n} costs $$5, $$${x} and $");
    s_str (&pk, "e2");
    s_str (&pk, "${params.n}");
    s_resolve (wf, "c", &params, &outputs, SIZE_MAX, &want, NULL);
    //  An interpolated string over max_size stops as it grows.
    s_resolve (wf, "c", &params, &outputs, 20, NULL,
               "step 'c': with.t: ${params.flag}: the result would take over 20 bytes, the most "
               "allowed");

    //  hitl.message, and a text that is one reference: still text.
    const fed_wf_step_t *step = fed_workflow_step (wf, fed_workflow_step_find (wf, "c"));
    fed_err_t err;
    char *text = fed_wf_resolve_text (wf, step->hitl.message, (const uint8_t *) params.data,
                                      params.size, s_output, &outputs, &err);
    assert_non_null (text);
    s_expect_text (text, "Approve 5 rows of 3?");
    free (text);
    text = fed_wf_resolve_text (wf, "${params.tags}", (const uint8_t *) params.data, params.size,
                                s_output, &outputs, &err);
    assert_non_null (text);
    s_expect_text (text, "[\"a\",1]");
    free (text);
    text = fed_wf_resolve_text (wf, "", NULL, 0, NULL, NULL, &err);
    assert_non_null (text);
    s_expect_text (text, "");
    free (text);
    text = fed_wf_resolve_text (wf, "$${x} ${params.n", (const uint8_t *) params.data, params.size,
                                s_output, &outputs, &err);
    assert_null (text);
    s_expect_text (err.text,
                   "${params.n: not a reference; write ${params.NAME} or "
                   "${steps.ID.output.KEY} (or $${ for a literal ${)");
    text = fed_wf_resolve_text (wf, "${steps.zz.output}", NULL, 0, s_output, &outputs, &err);
    assert_null (text);
    s_expect_text (err.text, "${steps.zz.output}: the workflow has no step 'zz'");
    text = fed_wf_resolve_text (wf, "${steps.c.output.x}", NULL, 0, s_output, &outputs, &err);
    assert_null (text);
    s_expect_text (err.text,
                   "${steps.c.output.x}: the output of step 'c' is not known (has it finished?)");
    msgpack_sbuffer_destroy (&want);
    msgpack_sbuffer_destroy (&params);
    msgpack_sbuffer_destroy (&output);
    fed_workflow_destroy (&wf);
}

static void
test_resolve_errors (void **state)
{
    (void) state;
    fed_workflow_t *wf = s_parse (s_resolve_yaml);
    msgpack_sbuffer params, output;
    s_params (wf, &params);
    s_output_a (&output);
    s_outputs_t outputs = {{&output}};

    s_resolve (wf, "e1", &params, &outputs, SIZE_MAX, NULL,
               "step 'e1': with.v: ${steps.a.output.nope}: the output of step 'a' has no key "
               "'nope'; it has the keys: count, sub, x, big, half, third, nothing");
    s_resolve (wf, "e2", &params, &outputs, SIZE_MAX, NULL,
               "step 'e2': with.w.x[0]: ${steps.a.output.sub.nope}: the output of step 'a' has "
               "no key 'sub.nope'; 'sub' has the keys: deep");
    s_resolve (wf, "e3", &params, &outputs, SIZE_MAX, NULL,
               "step 'e3': with.v: ${steps.a.output.count.x}: in the output of step 'a', 'count' "
               "is an int, not a map: it has no key 'x'");
    //  Params the step needs but the run lacks.
    s_resolve (wf, "b", NULL, &outputs, SIZE_MAX, NULL,
               "step 'b': with.i: ${params.n}: the run's params have no 'n'");
    s_resolve (wf, "b", &output, &outputs, SIZE_MAX, NULL,
               "step 'b': with.i: ${params.n}: the run's params have no 'n'");

    //  Output not known.
    s_outputs_t none = {{NULL}};
    s_resolve (wf, "e1", &params, &none, SIZE_MAX, NULL,
               "step 'e1': with.v: ${steps.a.output.nope}: the output of step 'a' is not known "
               "(has it finished?)");
    s_resolve (wf, "e1", &params, NULL, SIZE_MAX, NULL,
               "step 'e1': with.v: ${steps.a.output.nope}: the output of step 'a' is not known "
               "(has it finished?)");

    //  An output that is not a map; one with many keys; an empty one.
    msgpack_sbuffer other;
    s_json (&other, "[1]");
    outputs.output [0] = &other;
    s_resolve (wf, "e3", &params, &outputs, SIZE_MAX, NULL,
               "step 'e3': with.v: ${steps.a.output.count.x}: the output of step 'a' is a list, "
               "not a map: it has no key 'count'");
    msgpack_sbuffer_destroy (&other);
    s_json (&other,
            "{\"k00\":0,\"k01\":1,\"k02\":2,\"k03\":3,\"k04\":4,\"k05\":5,\"k06\":6,"
            "\"k07\":7,\"k08\":8,\"k09\":9,\"k10\":10,\"k11\":11}");
    s_resolve (wf, "e1", &params, &outputs, SIZE_MAX, NULL,
               "step 'e1': with.v: ${steps.a.output.nope}: the output of step 'a' has no key "
               "'nope'; it has the keys: k00, k01, k02, k03, k04, k05, k06, k07, k08, k09, ... (12 "
               "in all)");
    msgpack_sbuffer_destroy (&other);
    s_json (&other, "{}");
    s_resolve (wf, "e1", &params, &outputs, SIZE_MAX, NULL,
               "step 'e1': with.v: ${steps.a.output.nope}: the output of step 'a' has no key "
               "'nope'; it is an empty map");
    msgpack_sbuffer_destroy (&other);

    //  An output nested 31 deep is fine alone, too deep 3 levels into with.
    msgpack_sbuffer_init (&other);
    for (int i = 0; i < 30; i++)
        msgpack_sbuffer_write (&other, "\x91", 1);
    msgpack_sbuffer_write (&other, "\x90", 1);
    s_resolve (wf, "b", &params, &outputs, SIZE_MAX, NULL,
               "step 'b': with.k: ${steps.a.output.count}: the output of step 'a' is a list, not "
               "a map: it has no key 'count'");
    s_resolve (wf, "e4", &params, &outputs, SIZE_MAX, NULL,
               "step 'e4': with.a.b[0]: ${steps.a.output}: the value nests too deep for here: with "
               "may nest at most 32 levels");
    msgpack_sbuffer_destroy (&other);

    //  Every truncation of the output, and of the params, fails cleanly.
    outputs.output [0] = &other;
    for (size_t size = 0; size < output.size; size++) {
        msgpack_sbuffer_init (&other);
        if (size)
            msgpack_sbuffer_write (&other, output.data, size);
        fed_err_t err;
        msgpack_sbuffer out;
        msgpack_sbuffer_init (&out);
        for (size_t step = 0; step < fed_workflow_step_count (wf); step++) {
            int rc = fed_wf_resolve_with (wf, step, (const uint8_t *) params.data, params.size,
                                          s_output, &outputs, SIZE_MAX, &out, &err);
            if (rc == 0 && step > 0 && step != fed_workflow_step_find (wf, "e4")) {
                print_error ("truncated output of %zu bytes passed in step %zu\n", size, step);
                fail ();
            }
            out.size = 0;
            rc = fed_wf_resolve_with (wf, step, (const uint8_t *) params.data,
                                      size < params.size ? size : 0, s_output, &outputs, SIZE_MAX,
                                      &out, &err);
            (void) rc;
            out.size = 0;
        }
        msgpack_sbuffer_destroy (&out);
        msgpack_sbuffer_destroy (&other);
    }
    //  Every byte of the output and of the params replaced by a few
    //  troublesome values: errors or results, never a crash.
    static const uint8_t bytes [] = {0x00, 0x7f, 0xc1, 0xd9, 0xdd, 0xdf, 0xff};
    msgpack_sbuffer bad_params;
    msgpack_sbuffer_init (&other);
    msgpack_sbuffer_init (&bad_params);
    msgpack_sbuffer_write (&other, output.data, output.size);
    msgpack_sbuffer_write (&bad_params, params.data, params.size);
    size_t mutated = 0, passed = 0;
    for (size_t pos = 0; pos < output.size || pos < params.size; pos++)
        for (size_t b = 0; b < sizeof bytes; b++) {
            if (pos < output.size)
                other.data [pos] = (char) bytes [b];
            if (pos < params.size)
                bad_params.data [pos] = (char) bytes [b];
            for (size_t step = 0; step < fed_workflow_step_count (wf); step++) {
                fed_err_t err;
                msgpack_sbuffer out;
                msgpack_sbuffer_init (&out);
                passed += !fed_wf_resolve_with (wf, step, (const uint8_t *) bad_params.data,
                                                bad_params.size, s_output, &outputs, SIZE_MAX, &out,
                                                &err);
                mutated++;
                msgpack_sbuffer_destroy (&out);
            }
            if (pos < output.size)
                other.data [pos] = output.data [pos];
            if (pos < params.size)
                bad_params.data [pos] = params.data [pos];
        }
    print_message ("  %zu resolves of mutated inputs, %zu passed\n", mutated, passed);
    msgpack_sbuffer_destroy (&other);
    msgpack_sbuffer_destroy (&bad_params);

    fed_err_t err;
    msgpack_sbuffer out;
    msgpack_sbuffer_init (&out);
    assert_int_equal (fed_wf_resolve_with (wf, 99, NULL, 0, NULL, NULL, SIZE_MAX, &out, &err), -1);
    s_expect_text (err.text, "step 99: no such step (the workflow has 7)");
    msgpack_sbuffer_destroy (&out);
    msgpack_sbuffer_destroy (&params);
    msgpack_sbuffer_destroy (&output);
    fed_workflow_destroy (&wf);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_bind_defaults), cmocka_unit_test (test_bind_convert),
        cmocka_unit_test (test_bind_refused),  cmocka_unit_test (test_resolve_typed),
        cmocka_unit_test (test_resolve_text),  cmocka_unit_test (test_resolve_errors),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
