/*  node/fedctl_runs.c: fedctl's workflow-run commands (doc/fedctl.1).

    run start, run list, run show, run wait, run cancel, approvals, approve
    and reject: each checks its arguments (a usage error, exit 2, before
    anything is sent), sends its control request (doc/protocol.md §3.4,
    "Runs") and prints the result through node/fedctl_print_runs.c, or as
    JSON with --json. `run wait` (and `run start --wait`) repeats run.wait,
    a long poll of at most 30 s, until the run ends or its own deadline
    passes, and exits by how the run ended: 0 completed, 1 failed or
    cancelled, 3 still running.
*/
#include "fedctl_internal.h"
#include "fedctl_print.h"
#include "json.h"
#include "workflow.h"

#include <czmq.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_WAIT_SLICE_MS 30000 //  the most one run.wait may be held (§3.4)
#define S_REASON_MAX 256      //  run.cancel's reason
#define S_COMMENT_MAX 1024    //  approve's comment, reject's reason

//  A printer of node/fedctl_print_runs.c, as one shape.
typedef int (*s_printer_t) (FILE *out, fed_blob_t result, int64_t now_ms, fed_err_t *err);

static int
s_started (FILE *out, fed_blob_t result, int64_t now_ms, fed_err_t *err)
{
    (void) now_ms;
    return fed_print_run_started (out, result, err);
}

static int
s_cancelled (FILE *out, fed_blob_t result, int64_t now_ms, fed_err_t *err)
{
    (void) now_ms;
    return fed_print_run_cancel (out, result, err);
}

static int
s_approved (FILE *out, fed_blob_t result, int64_t now_ms, fed_err_t *err)
{
    (void) now_ms;
    return fed_print_decision (out, result, true, err);
}

static int
s_rejected (FILE *out, fed_blob_t result, int64_t now_ms, fed_err_t *err)
{
    (void) now_ms;
    return fed_print_decision (out, result, false, err);
}

//  Prints result through print, or says which field of command's result
//  was not of the documented shape. Returns 0 or EXIT_FAILED.
static int
s_print (const char *command, fed_blob_t result, s_printer_t print)
{
    fed_err_t err = {0, ""};
    if (print (stdout, result, fed_wall_ms (), &err) == 0)
        return 0;
    fprintf (stderr,
             "fedctl: bad_reply: unexpected %s result: %s (doc/protocol.md §3.4); "
             "try --json\n",
             command, err.text);
    return EXIT_FAILED;
}

//  Sends request (command's) and prints its result with print, or as JSON
//  with --json. Returns the exit code.
static int
s_call (fed_fedctl_ctx_t *ctx, fed_fedctl_request_t *request, const char *command,
        s_printer_t print)
{
    uint8_t *reply;
    fed_blob_t result;
    int rc = fed_fedctl_send (ctx, request, 0, &reply, &result);
    if (rc)
        return rc;
    rc = ctx->args->json ? fed_fedctl_print_json (result, true) : s_print (command, result, print);
    free (reply);
    return rc;
}

//  Checks a text argument's length (bytes). Returns 0 or EXIT_USAGE.
static int
s_check_text (fed_fedctl_ctx_t *ctx, const char *what, const char *text, size_t min, size_t max)
{
    size_t size = strlen (text);
    if (size >= min && size <= max)
        return 0;
    if (min)
        return fed_fedctl_usage_error (ctx->command, "%s must be %zu to %zu bytes (it is %zu)",
                                       what, min, max, size);
    return fed_fedctl_usage_error (ctx->command, "%s must be at most %zu bytes (it is %zu)", what,
                                   max, size);
}

//  --- run wait ------------------------------------------------------------------

//  The state of a run summary, as a str, or NULL (and bad_reply said) when
//  it has none. Caller frees.
static char *
s_state (fed_blob_t summary)
{
    fed_blob_t value;
    fed_mpr_t reader;
    const char *text;
    uint32_t size;
    if (fed_print_get (summary, "state", &value) == 0) {
        fed_mpr_init (&reader, value.data, value.size);
        if (fed_mpr_str (&reader, &text, &size) == 0)
            return fed_strndup (text, size);
    }
    fprintf (stderr,
             "fedctl: bad_reply: unexpected run.wait result: no 'state' str "
             "(doc/protocol.md §3.4); try --json\n");
    return NULL;
}

//  Waits for run to end, at most total_ms (0: for as long as it takes,
//  until Ctrl-C), asking run.wait in slices of at most 30 s; prints the
//  last summary. Returns 0 completed, EXIT_FAILED failed or cancelled (or
//  a refusal), EXIT_UNREACHABLE still running at the deadline or no
//  answer, EXIT_INTERRUPTED.
static int
s_wait (fed_fedctl_ctx_t *ctx, const char *run, int64_t total_ms)
{
    int64_t deadline = total_ms > 0 ? fed_mono_ms () + total_ms : 0;
    while (true) {
        int64_t slice = S_WAIT_SLICE_MS;
        if (deadline) {
            int64_t left = deadline - fed_mono_ms ();
            slice = left < 0 ? 0 : left < slice ? left : slice;
        }
        fed_fedctl_request_t request;
        fed_fedctl_request_begin (&request, "run.wait", 2);
        fed_fedctl_pack_str (&request.pk, "run", run);
        fed_fedctl_pack_uint (&request.pk, "wait_ms", (uint64_t) slice);
        uint8_t *reply;
        fed_blob_t result;
        int rc = fed_fedctl_send (ctx, &request, slice, &reply, &result);
        if (rc)
            return rc;
        char *state = s_state (result);
        bool running = state && streq (state, "running");
        bool timed_out = running && deadline && fed_mono_ms () >= deadline;
        if (!state)
            rc = EXIT_FAILED;
        else if (running && !timed_out && !zsys_interrupted) {
            free (state);
            free (reply);
            continue;
        } else if (ctx->args->json)
            rc = fed_fedctl_print_json (result, true);
        else
            rc = s_print ("run.wait", result, fed_print_run_summary);
        if (rc == 0 && timed_out) {
            char text [32];
            fed_format_duration (text, sizeof text, total_ms);
            fprintf (stderr, "fedctl: run %s is still running after %s\n", run, text);
            rc = EXIT_UNREACHABLE;
        } else if (rc == 0 && running)
            rc = EXIT_INTERRUPTED;
        else if (rc == 0 && !streq (state, "completed"))
            rc = EXIT_FAILED;
        free (state);
        free (reply);
        return rc;
    }
}

int
fed_fedctl_cmd_run_wait (fed_fedctl_ctx_t *ctx)
{
    //  --timeout is how long to wait for the run; each call to the node
    //  gets the usual reply timeout (settings, else 5 s) past its slice.
    int64_t total = ctx->args->timeout_ms > 0 ? ctx->args->timeout_ms : 0;
    ctx->args->timeout_ms = -1;
    if (!*ctx->params [0])
        return fed_fedctl_usage_error (ctx->command, "RUN must be a run id, as run list shows");
    return s_wait (ctx, ctx->params [0], total);
}

//  --- run start -----------------------------------------------------------------

//  The length of -p's KEY (before the first '='), or 0 after a usage
//  error when it has none.
static size_t
s_param_key (fed_fedctl_ctx_t *ctx, const char *param, int *rc)
{
    const char *equals = strchr (param, '=');
    if (!equals || equals == param) {
        *rc = fed_fedctl_usage_error (ctx->command,
                                      "-p '%s' must be KEY=VALUE, like -p region=eu-west", param);
        return 0;
    }
    return (size_t) (equals - param);
}

//  True if the -p option before index names key.
static bool
s_param_given (const fed_fedctl_args_t *args, size_t before, const char *key, size_t size)
{
    for (size_t i = 0; i < before; i++) {
        const char *other = args->run_params [i];
        if (strncmp (other, key, size) == 0 && other [size] == '=')
            return true;
    }
    return false;
}

//  Packs the params map: each -p KEY=VALUE as a str, then every entry of
//  --params that no -p replaces. Returns 0, or EXIT_USAGE after saying
//  why (a -p without '=', a key given twice, --params not a JSON object).
static int
s_pack_params (fed_fedctl_ctx_t *ctx, fed_fedctl_request_t *request)
{
    fed_fedctl_args_t *args = ctx->args;
    int rc = 0;
    for (size_t i = 0; i < args->run_param_count; i++) {
        const char *param = args->run_params [i];
        size_t size = s_param_key (ctx, param, &rc);
        if (rc)
            return rc;
        if (s_param_given (args, i, param, size))
            return fed_fedctl_usage_error (ctx->command, "-p %.*s is given twice", (int) size,
                                           param);
    }
    uint8_t *json = NULL;
    size_t json_size = 0;
    uint32_t json_count = 0;
    fed_err_t err;
    fed_mpr_t reader;
    if (args->params) {
        if (fed_json_to_msgpack (args->params, strlen (args->params), NULL, &json, &json_size,
                                 &err))
            return fed_fedctl_usage_error (ctx->command, "--params: %s", err.text);
        fed_mpr_init (&reader, json, json_size);
        if (fed_mpr_map (&reader, &json_count)) {
            free (json);
            return fed_fedctl_usage_error (
                ctx->command, "--params must be a JSON object, like '{\"rows\": 100}'");
        }
    }
    //  Count first (a map's size comes before its entries), then pack.
    uint32_t count = (uint32_t) args->run_param_count;
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1) {
            msgpack_pack_str_with_body (&request->pk, "params", 6);
            msgpack_pack_map (&request->pk, count);
            for (size_t i = 0; i < args->run_param_count; i++) {
                const char *param = args->run_params [i];
                const char *equals = strchr (param, '=');
                msgpack_pack_str_with_body (&request->pk, param, (size_t) (equals - param));
                msgpack_pack_str_with_body (&request->pk, equals + 1, strlen (equals + 1));
            }
        }
        fed_mpr_init (&reader, json, json_size);
        if (json && fed_mpr_map (&reader, &json_count))
            break;
        for (uint32_t i = 0; json && i < json_count; i++) {
            const char *key;
            uint32_t key_size;
            size_t start = reader.pos;
            bool is_str = fed_mpr_str (&reader, &key, &key_size) == 0;
            if (!is_str || fed_mpr_skip (&reader, NULL))
                break; //  fed_json_to_msgpack makes only str keys
            bool replaced = s_param_given (args, args->run_param_count, key, key_size);
            if (!replaced && pass == 0)
                count++;
            if (!replaced && pass == 1)
                msgpack_sbuffer_write (&request->buffer, (const char *) reader.data + start,
                                       reader.pos - start);
        }
    }
    free (json);
    return 0;
}

//  The run id of a run.start result, or NULL. Caller frees.
static char *
s_run_id (fed_blob_t result)
{
    fed_blob_t value;
    fed_mpr_t reader;
    const char *text;
    uint32_t size;
    if (fed_print_get (result, "run", &value))
        return NULL;
    fed_mpr_init (&reader, value.data, value.size);
    if (fed_mpr_str (&reader, &text, &size) || size == 0)
        return NULL;
    return fed_strndup (text, size);
}

int
fed_fedctl_cmd_run_start (fed_fedctl_ctx_t *ctx)
{
    fed_fedctl_args_t *args = ctx->args;
    const char *spec = ctx->params [0];
    const char *at = strchr (spec, '@');
    size_t name_size = at ? (size_t) (at - spec) : strlen (spec);
    if (!fed_workflow_name_valid (spec, name_size)
        || (at && !fed_workflow_version_valid (at + 1, strlen (at + 1))))
        return fed_fedctl_usage_error (ctx->command,
                                       "NAME[@VERSION] must be a workflow name, optionally with "
                                       "@ and a version, like etl or etl@1.2.0%s",
                                       (args->given & OPT_WAIT) && !args->wait_ms
                                           ? " (write --wait=DURATION if the name looks like one)"
                                           : "");
    bool with_params = args->run_param_count || args->params;
    fed_fedctl_request_t request;
    fed_fedctl_request_begin (&request, "run.start", 1 + (with_params ? 1 : 0) + 2);
    fed_fedctl_pack_str (&request.pk, "workflow", spec);
    if (with_params) {
        int rc = s_pack_params (ctx, &request);
        if (rc) {
            msgpack_sbuffer_destroy (&request.buffer);
            return rc;
        }
    }
    fed_client_pack_replay (&request.pk);
    if (!(args->given & OPT_WAIT))
        return s_call (ctx, &request, "run.start", s_started);

    uint8_t *reply;
    fed_blob_t result;
    int rc = fed_fedctl_send (ctx, &request, 0, &reply, &result);
    if (rc)
        return rc;
    char *run = s_run_id (result);
    if (!run)
        fprintf (stderr,
                 "fedctl: bad_reply: unexpected run.start result: no 'run' id "
                 "(doc/protocol.md §3.4); try --json\n");
    else if (!args->json) {
        //  The id first, so that the run can be found while it is waited for.
        printf ("%s\n", run);
        fflush (stdout);
    }
    free (reply);
    rc = run ? s_wait (ctx, run, args->wait_ms) : EXIT_FAILED;
    free (run);
    return rc;
}

//  --- run list, show, cancel --------------------------------------------------

int
fed_fedctl_cmd_run_list (fed_fedctl_ctx_t *ctx)
{
    fed_fedctl_args_t *args = ctx->args;
    const char *states [] = {"running", "completed", "failed", "cancelled"};
    bool known = !args->state;
    for (size_t i = 0; !known && i < sizeof states / sizeof states [0]; i++)
        known = streq (args->state, states [i]);
    if (!known)
        return fed_fedctl_usage_error (ctx->command,
                                       "--state must be running, completed, failed or cancelled");
    bool limit = args->given & OPT_LIMIT;
    if (limit && (args->limit == 0 || args->limit > 1000))
        return fed_fedctl_usage_error (ctx->command, "--limit must be 1..1000");
    if (args->workflow && !fed_workflow_name_valid (args->workflow, strlen (args->workflow)))
        return fed_fedctl_usage_error (ctx->command,
                                       "--workflow must be a workflow name (no @VERSION)");
    fed_fedctl_request_t request;
    fed_fedctl_request_begin (&request, "run.list",
                              (args->state ? 1 : 0) + (args->workflow ? 1 : 0) + (limit ? 1 : 0));
    if (args->state)
        fed_fedctl_pack_str (&request.pk, "state", args->state);
    if (args->workflow)
        fed_fedctl_pack_str (&request.pk, "workflow", args->workflow);
    if (limit)
        fed_fedctl_pack_uint (&request.pk, "limit", args->limit);
    return s_call (ctx, &request, "run.list", fed_print_runs);
}

int
fed_fedctl_cmd_run_show (fed_fedctl_ctx_t *ctx)
{
    if (!*ctx->params [0])
        return fed_fedctl_usage_error (ctx->command, "RUN must be a run id, as run list shows");
    fed_fedctl_request_t request;
    fed_fedctl_request_begin (&request, "run.show", 1);
    fed_fedctl_pack_str (&request.pk, "run", ctx->params [0]);
    return s_call (ctx, &request, "run.show", fed_print_run);
}

int
fed_fedctl_cmd_run_cancel (fed_fedctl_ctx_t *ctx)
{
    const char *reason = ctx->args->reason;
    if (!*ctx->params [0])
        return fed_fedctl_usage_error (ctx->command, "RUN must be a run id, as run list shows");
    if (reason && s_check_text (ctx, "--reason", reason, 0, S_REASON_MAX))
        return EXIT_USAGE;
    fed_fedctl_request_t request;
    fed_fedctl_request_begin (&request, "run.cancel", 1 + (reason ? 1 : 0) + 2);
    fed_fedctl_pack_str (&request.pk, "run", ctx->params [0]);
    if (reason)
        fed_fedctl_pack_str (&request.pk, "reason", reason);
    fed_client_pack_replay (&request.pk);
    return s_call (ctx, &request, "run.cancel", s_cancelled);
}

//  --- approvals, approve, reject ---------------------------------------------------

int
fed_fedctl_cmd_approvals (fed_fedctl_ctx_t *ctx)
{
    const char *run = ctx->args->run;
    fed_fedctl_request_t request;
    fed_fedctl_request_begin (&request, "approvals", run ? 1 : 0);
    if (run)
        fed_fedctl_pack_str (&request.pk, "run", run);
    return s_call (ctx, &request, "approvals", fed_print_approvals);
}

//  approve or reject RUN STEP: comment is -m (required to reject).
static int
s_decide (fed_fedctl_ctx_t *ctx, bool approve)
{
    fed_fedctl_args_t *args = ctx->args;
    const char *comment = args->message;
    if (!approve && !comment)
        return fed_fedctl_usage_error (ctx->command,
                                       "reject needs the reason: -m REASON, like -m \"wrong "
                                       "target\"");
    if (comment && s_check_text (ctx, "-m", comment, approve ? 0 : 1, S_COMMENT_MAX))
        return EXIT_USAGE;
    if (!*ctx->params [0] || !*ctx->params [1])
        return fed_fedctl_usage_error (ctx->command,
                                       "RUN and STEP must be a run id and a step id, as "
                                       "approvals shows");
    const char *value = approve ? args->value : NULL;
    fed_fedctl_request_t request;
    fed_fedctl_request_begin (&request, approve ? "approve" : "reject",
                              2 + (comment ? 1 : 0) + (value ? 1 : 0) + 2);
    fed_fedctl_pack_str (&request.pk, "run", ctx->params [0]);
    fed_fedctl_pack_str (&request.pk, "step", ctx->params [1]);
    if (comment)
        fed_fedctl_pack_str (&request.pk, "comment", comment);
    if (value)
        fed_fedctl_pack_str (&request.pk, "value", value);
    fed_client_pack_replay (&request.pk);
    return s_call (ctx, &request, approve ? "approve" : "reject",
                   approve ? s_approved : s_rejected);
}

int
fed_fedctl_cmd_approve (fed_fedctl_ctx_t *ctx)
{
    return s_decide (ctx, true);
}

int
fed_fedctl_cmd_reject (fed_fedctl_ctx_t *ctx)
{
    return s_decide (ctx, false);
}
