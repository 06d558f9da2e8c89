/*  node/fedctl.c: the fednode admin client (doc/fedctl.1).

    main only parses arguments and calls the library: the connection and
    the protocol are node/client.c, the settings file node/fedctl_config.c,
    the human output node/fedctl_print.c. Every command is one row of
    s_commands; its handler builds one control request (doc/protocol.md
    §3.4), sends it, and prints the result, as a table for people or as JSON
    with --json. Exit status: 0 ok, 1 the node refused or failed the
    command, 2 usage error, 3 node unreachable or timed out.
*/
#include "client.h"
#include "ctlmsg.h"
#include "fedctl_config.h"
#include "fedctl_internal.h"
#include "fedctl_print.h"
#include "json.h"
#include "memberfilter.h"
#include "node.h"
#include "workflow.h"

#include <czmq.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_ENDPOINT "tcp://127.0.0.1:7702"
#define DEFAULT_TIMEOUT_MS 5000
#define FOLLOW_WAIT_MS 10000

static int s_open (fed_fedctl_ctx_t *ctx);

//  --- Talking to the node ---------------------------------------------------

void
fed_fedctl_request_begin (fed_fedctl_request_t *request, const char *command, uint32_t arg_count)
{
    msgpack_sbuffer_init (&request->buffer);
    msgpack_packer_init (&request->pk, &request->buffer, msgpack_sbuffer_write);
    fed_ctl_request_begin (&request->pk, command, arg_count);
}

void
fed_fedctl_pack_str (msgpack_packer *pk, const char *key, const char *value)
{
    msgpack_pack_str_with_body (pk, key, strlen (key));
    msgpack_pack_str_with_body (pk, value, strlen (value));
}

void
fed_fedctl_pack_uint (msgpack_packer *pk, const char *key, uint64_t value)
{
    msgpack_pack_str_with_body (pk, key, strlen (key));
    msgpack_pack_uint64 (pk, value);
}

static void
s_pack_bin (msgpack_packer *pk, const char *key, const uint8_t *value, size_t size)
{
    msgpack_pack_str_with_body (pk, key, strlen (key));
    msgpack_pack_bin_with_body (pk, value, size);
}

//  Says why the node refused: every problem it listed ("errors", one per
//  line, as a compiler would), else its code and message.
static void
s_print_failure (fed_fedctl_ctx_t *ctx, const char *code, const fed_err_t *err)
{
    fed_blob_t failure = fed_client_last_error (ctx->client), errors;
    fed_mpr_t reader;
    uint32_t count = 0;
    if (failure.data && fed_print_get (failure, "errors", &errors) == 0) {
        fed_mpr_init (&reader, errors.data, errors.size);
        if (fed_mpr_array (&reader, &count))
            count = 0;
    }
    for (uint32_t i = 0; i < count; i++) {
        const char *line;
        uint32_t size;
        if (fed_mpr_str (&reader, &line, &size))
            break;
        fprintf (stderr, "%.*s\n", (int) size, line);
    }
    if (count)
        fprintf (stderr, "fedctl: %s: %u error%s\n", code, count, count == 1 ? "" : "s");
    else
        fprintf (stderr, "fedctl: %s: %s\n", code, err->text);
}

//  Sends the request (and frees its buffer) with extra_ms added to the
//  timeout. Returns 0 with *reply_p (caller frees) and *result, or the exit
//  code after printing why.
int
fed_fedctl_send (fed_fedctl_ctx_t *ctx, fed_fedctl_request_t *request, int64_t extra_ms,
                 uint8_t **reply_p, fed_blob_t *result)
{
    //  Connect only now, so that a command checks its arguments first.
    if (!ctx->client) {
        int rc = s_open (ctx);
        if (rc) {
            msgpack_sbuffer_destroy (&request->buffer);
            return rc;
        }
    }
    size_t reply_size;
    char code [64];
    fed_err_t err;
    int64_t timeout = ctx->timeout_ms + extra_ms;
    fed_client_status_t status =
        fed_client_call (ctx->client, request->buffer.data, request->buffer.size,
                         (int) (timeout > INT32_MAX ? INT32_MAX : timeout), reply_p, &reply_size,
                         result, code, sizeof code, &err);
    msgpack_sbuffer_destroy (&request->buffer);
    switch (status) {
        case FED_CLIENT_OK: return 0;
        case FED_CLIENT_FAILED: s_print_failure (ctx, code, &err); return EXIT_FAILED;
        case FED_CLIENT_INTERRUPTED: return EXIT_INTERRUPTED;
        default:
            fprintf (stderr,
                     "fedctl: cannot reach the node: %s\n"
                     "fedctl: tried %s, waiting %" PRId64 " ms, as key %s\n",
                     err.text, fed_client_endpoint (ctx->client), timeout,
                     fed_identity_id (ctx->identity));
            return EXIT_UNREACHABLE;
    }
}

//  Prints the result as pretty JSON. Returns 0 or EXIT_FAILED.
int
fed_fedctl_print_json (fed_blob_t result, bool pretty)
{
    char *json = fed_json_from_msgpack (result.data, result.size, pretty);
    if (!json) {
        fprintf (stderr, "fedctl: bad_reply: the result is not valid msgpack\n");
        return EXIT_FAILED;
    }
    printf ("%s\n", json);
    free (json);
    return 0;
}

//  Sends, then prints the result as JSON (--json) or through print. Returns
//  the exit code.
int
fed_fedctl_run_waiting (fed_fedctl_ctx_t *ctx, fed_fedctl_request_t *request, int64_t extra_ms,
                        int (*print) (fed_blob_t result))
{
    uint8_t *reply;
    fed_blob_t result;
    int rc = fed_fedctl_send (ctx, request, extra_ms, &reply, &result);
    if (rc)
        return rc;
    if (ctx->args->json)
        rc = fed_fedctl_print_json (result, true);
    else if (print (result)) {
        fprintf (stderr,
                 "fedctl: bad_reply: the result does not have the documented shape "
                 "(doc/protocol.md §3.4); try --json\n");
        rc = EXIT_FAILED;
    }
    free (reply);
    return rc;
}

//  Sends request, prints its result with print (or as JSON with --json).
int
fed_fedctl_run (fed_fedctl_ctx_t *ctx, fed_fedctl_request_t *request,
                int (*print) (fed_blob_t result))
{
    return fed_fedctl_run_waiting (ctx, request, 0, print);
}

//  --- Printers ---------------------------------------------------------------

static int
s_print_kv (fed_blob_t result)
{
    return fed_print_kv (stdout, result) ? -1 : 0;
}

static int
s_print_members (fed_blob_t result)
{
    return fed_print_members (stdout, result);
}

static void
s_trust_row (fed_blob_t entry, void *arg)
{
    fed_table_add ((fed_table_t *) arg, fed_print_field (entry, "key", 12),
                   fed_print_field (entry, "role", 0), fed_print_field (entry, "name", 0),
                   fed_print_field (entry, "source", 0));
}

static int
s_print_trust (fed_blob_t result)
{
    fed_table_t *table = fed_table_new ("KEY", "ROLE", "NAME", "SOURCE", NULL);
    int rc = fed_print_each (result, s_trust_row, table);
    if (rc == 0)
        fed_table_print (table, stdout);
    fed_table_destroy (&table);
    return rc;
}

static void
s_token_row (fed_blob_t token, void *arg)
{
    fed_table_add ((fed_table_t *) arg, fed_print_field (token, "id", 0),
                   fed_print_field (token, "name", 0), fed_print_time_field (token, "expires"),
                   fed_print_field (token, "uses", 0), fed_print_field (token, "revoked", 0));
}

static int
s_print_tokens (fed_blob_t result)
{
    fed_table_t *table = fed_table_new ("ID", "NAME", "EXPIRES", "USES", "REVOKED", NULL);
    int rc = fed_print_each (result, s_token_row, table);
    if (rc == 0)
        fed_table_print (table, stdout);
    fed_table_destroy (&table);
    return rc;
}

static void
s_process_row (fed_blob_t process, void *arg)
{
    char *heard = fed_print_field (process, "heard_ms_ago", 0);
    char *heard_text = fed_sprintf ("%s ms ago", heard);
    free (heard);
    fed_table_add ((fed_table_t *) arg, fed_print_field (process, "label", 24),
                   fed_print_field (process, "key", 8), fed_print_field (process, "slots", 0),
                   fed_print_field (process, "running", 0), fed_print_field (process, "agents", 60),
                   fed_print_time_field (process, "ready_ms"), heard_text);
}

static int
s_print_processes (fed_blob_t result)
{
    fed_table_t *table =
        fed_table_new ("LABEL", "KEY", "SLOTS", "RUNNING", "AGENTS", "READY SINCE", "HEARD", NULL);
    int rc = fed_print_each (result, s_process_row, table);
    if (rc == 0)
        fed_table_print (table, stdout);
    fed_table_destroy (&table);
    return rc;
}

static int
s_print_token (fed_blob_t result)
{
    if (fed_print_kv (stdout, result))
        return -1;
    fprintf (stderr, "fedctl: the token is shown this once; the node keeps only its hash\n");
    return 0;
}

static int
s_print_metrics (fed_blob_t result)
{
    fed_mpr_t reader;
    fed_mpr_init (&reader, result.data, result.size);
    const char *text;
    uint32_t len;
    if (fed_mpr_str (&reader, &text, &len))
        return -1;
    fwrite (text, 1, len, stdout);
    if (len && text [len - 1] != '\n')
        putchar ('\n');
    return 0;
}

//  One event as a line: ORIGIN(8) #SEQ TIME TYPE BODY.
static void
s_event_line (fed_blob_t event, void *arg)
{
    (void) arg;
    char *origin = fed_print_field (event, "origin", 8);
    char *seq = fed_print_field (event, "seq", 0);
    char *type = fed_print_field (event, "type", 0);
    char *body = fed_print_field (event, "body", 0);
    fed_blob_t hlc_value;
    uint64_t hlc = 0;
    fed_mpr_t reader;
    if (fed_print_get (event, "hlc", &hlc_value) == 0) {
        fed_mpr_init (&reader, hlc_value.data, hlc_value.size);
        if (fed_mpr_uint (&reader, &hlc))
            hlc = 0;
    }
    char *time = fed_print_time (hlc >> 16);
    char *seq_text = fed_sprintf ("#%s", seq);
    printf ("%-8s  %-7s  %-24s  %-16s  %s\n", origin, seq_text, time, type, body);
    free (seq_text);
    free (time);
    free (origin);
    free (seq);
    free (type);
    free (body);
}

static void
s_event_json_line (fed_blob_t event, void *arg)
{
    (void) arg;
    char *json = fed_json_from_msgpack (event.data, event.size, false);
    printf ("%s\n", json ? json : "null");
    free (json);
}

static int
s_print_event (fed_blob_t result)
{
    if (fed_print_kv (stdout, result))
        return -1;
    fed_blob_t hlc_value;
    uint64_t hlc;
    fed_mpr_t reader;
    if (fed_print_get (result, "hlc", &hlc_value) == 0) {
        fed_mpr_init (&reader, hlc_value.data, hlc_value.size);
        if (fed_mpr_uint (&reader, &hlc) == 0) {
            char *time = fed_print_time (hlc >> 16);
            printf ("time:    %s\n", time);
            free (time);
        }
    }
    return 0;
}

//  --- Command handlers --------------------------------------------------------

static int
s_cmd_simple (fed_fedctl_ctx_t *ctx, const char *command, int (*print) (fed_blob_t result))
{
    fed_fedctl_request_t request;
    fed_fedctl_request_begin (&request, command, 0);
    return fed_fedctl_run (ctx, &request, print);
}

static void
s_sync_row (fed_blob_t row, void *arg)
{
    fed_blob_t origin;
    bool in_sync = fed_print_get (row, "origin", &origin) != 0
        || (origin.size == 1 && origin.data [0] == 0xc0);
    char *age = fed_print_field (row, "age_ms", 0);
    char *age_text = fed_sprintf ("%s ms", age ? age : "-");
    free (age);
    if (in_sync)
        fed_table_add ((fed_table_t *) arg, fed_print_field (row, "peer", 8),
                       fed_print_field (row, "name", 0), age_text, fed_strdup ("(all)"),
                       fed_strdup ("-"), fed_strdup ("-"), fed_strdup ("in sync"));
    else {
        char *we = fed_print_field (row, "we_lack", 0),
             *they = fed_print_field (row, "they_lack", 0);
        char *state = we && strcmp (we, "0") != 0 ? fed_sprintf ("we lack %s", we)
                                                  : fed_sprintf ("they lack %s", they ? they : "?");
        free (we);
        free (they);
        fed_table_add ((fed_table_t *) arg, fed_print_field (row, "peer", 8),
                       fed_print_field (row, "name", 0), age_text,
                       fed_print_field (row, "origin", 8), fed_print_field (row, "ours", 0),
                       fed_print_field (row, "theirs", 0), state);
    }
}

//  sync status: per peer and origin, who lacks how many events.
static int
s_print_sync (fed_blob_t result)
{
    fed_table_t *table =
        fed_table_new ("PEER", "NAME", "DIGEST AGE", "ORIGIN", "OURS", "THEIRS", "STATE", NULL);
    int rc = fed_print_each (result, s_sync_row, table);
    if (rc == 0)
        fed_table_print (table, stdout);
    fed_table_destroy (&table);
    return rc;
}

static int
s_cmd_sync_status (fed_fedctl_ctx_t *ctx)
{
    return s_cmd_simple (ctx, "sync.status", s_print_sync);
}

static int
s_cmd_status (fed_fedctl_ctx_t *ctx)
{
    return s_cmd_simple (ctx, "status", s_print_kv);
}

//  members [--status S]... [--tag KEY=REGEXP]...: the filter is checked
//  here with the node's own rules (node/memberfilter.h), so a typo is a
//  usage error before anything is sent.
static int
s_cmd_members (fed_fedctl_ctx_t *ctx)
{
    fed_fedctl_args_t *args = ctx->args;
    fed_member_filter_t *filter = fed_member_filter_new ();
    fed_err_t err;
    int rc = 0;
    for (size_t i = 0; i < args->status_count && rc == 0; i++)
        if (fed_member_filter_add_status (filter, args->statuses [i], &err))
            rc = fed_fedctl_usage_error (ctx->command, "--status: %s", err.text);
    for (size_t i = 0; i < args->tag_count && rc == 0; i++) {
        const char *tag = args->tags [i];
        const char *equals = strchr (tag, '=');
        if (!equals)
            rc = fed_fedctl_usage_error (ctx->command,
                                         "--tag '%s' must be KEY=REGEXP, like region=eu-.*", tag);
        else {
            char *key = fed_strndup (tag, (size_t) (equals - tag));
            if (fed_member_filter_add_tag (filter, key, equals + 1, &err))
                rc = fed_fedctl_usage_error (ctx->command, "--tag: %s", err.text);
            free (key);
        }
    }
    fed_member_filter_destroy (&filter);
    if (rc)
        return rc;
    fed_fedctl_request_t request;
    fed_fedctl_request_begin (&request, "members",
                              (args->status_count ? 1 : 0) + (args->tag_count ? 1 : 0));
    if (args->status_count) {
        msgpack_pack_str_with_body (&request.pk, "status", 6);
        msgpack_pack_array (&request.pk, (uint32_t) args->status_count);
        for (size_t i = 0; i < args->status_count; i++)
            msgpack_pack_str_with_body (&request.pk, args->statuses [i],
                                        strlen (args->statuses [i]));
    }
    if (args->tag_count) {
        msgpack_pack_str_with_body (&request.pk, "tags", 4);
        msgpack_pack_map (&request.pk, (uint32_t) args->tag_count);
        for (size_t i = 0; i < args->tag_count; i++) {
            const char *equals = strchr (args->tags [i], '=');
            msgpack_pack_str_with_body (&request.pk, args->tags [i],
                                        (size_t) (equals - args->tags [i]));
            msgpack_pack_str_with_body (&request.pk, equals + 1, strlen (equals + 1));
        }
    }
    return fed_fedctl_run (ctx, &request, s_print_members);
}

static int
s_cmd_trust_list (fed_fedctl_ctx_t *ctx)
{
    return s_cmd_simple (ctx, "trust.list", s_print_trust);
}

static int
s_cmd_token_list (fed_fedctl_ctx_t *ctx)
{
    return s_cmd_simple (ctx, "token.list", s_print_tokens);
}

static int
s_cmd_agents_processes (fed_fedctl_ctx_t *ctx)
{
    return s_cmd_simple (ctx, "agents.processes", s_print_processes);
}

static int
s_cmd_metrics (fed_fedctl_ctx_t *ctx)
{
    return s_cmd_simple (ctx, "metrics", s_print_metrics);
}

//  Reads a key argument (Z85, hex, or a key file) into key. Returns 0 or
//  prints why and returns EXIT_USAGE.
static int
s_key_param (fed_fedctl_ctx_t *ctx, const char *what, const char *text, uint8_t key [32])
{
    fed_err_t err;
    if (fed_identity_read_public (text, key, &err) == 0)
        return 0;
    return fed_fedctl_usage_error (ctx->command, "%s: %s", what, err.text);
}

static int
s_cmd_events_tail (fed_fedctl_ctx_t *ctx)
{
    fed_fedctl_args_t *args = ctx->args;
    uint8_t origin [32];
    if (args->origin && s_key_param (ctx, "--origin", args->origin, origin))
        return EXIT_USAGE;
    if ((args->given & OPT_LIMIT) && (args->limit == 0 || args->limit > 1000))
        return fed_fedctl_usage_error (ctx->command, "--limit must be 1..1000");
    bool follow = args->given & OPT_FOLLOW;
    char *cursor = NULL;
    bool header = !args->json;
    int rc = 0;
    do {
        fed_fedctl_request_t request;
        uint32_t count = (cursor ? 1 : 0) + (follow ? 1 : 0) + ((args->given & OPT_LIMIT) ? 1 : 0)
            + (args->type ? 1 : 0) + (args->origin ? 1 : 0);
        fed_fedctl_request_begin (&request, "events.tail", count);
        if (cursor)
            fed_fedctl_pack_str (&request.pk, "after", cursor);
        if (follow)
            fed_fedctl_pack_uint (&request.pk, "wait_ms", FOLLOW_WAIT_MS);
        if (args->given & OPT_LIMIT)
            fed_fedctl_pack_uint (&request.pk, "limit", args->limit);
        if (args->type)
            fed_fedctl_pack_str (&request.pk, "type", args->type);
        if (args->origin)
            s_pack_bin (&request.pk, "origin", origin, 32);
        uint8_t *reply;
        fed_blob_t result;
        rc = fed_fedctl_send (ctx, &request, follow ? FOLLOW_WAIT_MS : 0, &reply, &result);
        if (rc)
            break;
        fed_blob_t events, next;
        if (fed_print_get (result, "events", &events) || fed_print_get (result, "cursor", &next)
            || fed_mpr_peek (&(fed_mpr_t){next.data, next.size, 0}) != FED_MP_STR) {
            fprintf (stderr,
                     "fedctl: bad_reply: events.tail result lacks 'events' or "
                     "'cursor' (doc/protocol.md §3.4)\n");
            free (reply);
            rc = EXIT_FAILED;
            break;
        }
        free (cursor);
        cursor = fed_print_text (next, 0);
        if (args->json && !follow)
            rc = fed_fedctl_print_json (result, true);
        else {
            if (header) {
                printf ("%-8s  %-7s  %-24s  %-16s  %s\n", "ORIGIN", "SEQ", "TIME", "TYPE", "BODY");
                header = false;
            }
            if (fed_print_each (events, args->json ? s_event_json_line : s_event_line, NULL)) {
                fprintf (stderr, "fedctl: bad_reply: 'events' is not an array\n");
                rc = EXIT_FAILED;
            }
        }
        fflush (stdout);
        free (reply);
    } while (follow && rc == 0 && !zsys_interrupted);
    free (cursor);
    //  Ctrl-C is how -f is meant to end.
    return follow && rc == EXIT_INTERRUPTED ? 0 : rc;
}

static int
s_cmd_events_show (fed_fedctl_ctx_t *ctx)
{
    uint8_t id [32];
    if (strlen (ctx->params [0]) != 64 || fed_hex_decode (id, 32, ctx->params [0]))
        return fed_fedctl_usage_error (ctx->command, "ID must be 64 hex characters (an event id)");
    fed_fedctl_request_t request;
    fed_fedctl_request_begin (&request, "events.show", 1);
    s_pack_bin (&request.pk, "id", id, 32);
    return fed_fedctl_run (ctx, &request, s_print_event);
}

static int
s_cmd_events_publish (fed_fedctl_ctx_t *ctx)
{
    const char *type = ctx->params [0];
    if (strncmp (type, "user.", 5) != 0 || strlen (type) < 6 || strlen (type) > 64)
        return fed_fedctl_usage_error (ctx->command,
                                       "TYPE must start with \"user.\" (e.g. user.deploy), "
                                       "at most 64 characters");
    uint8_t *body = NULL;
    size_t body_size = 0;
    const char *text = ctx->args->body ? ctx->args->body : "{}";
    fed_err_t err;
    if (fed_json_to_msgpack (text, strlen (text), NULL, &body, &body_size, &err))
        return fed_fedctl_usage_error (ctx->command, "--body: %s", err.text);
    fed_mpr_t reader;
    fed_mpr_init (&reader, body, body_size);
    if (fed_mpr_peek (&reader) != FED_MP_MAP) {
        free (body);
        return fed_fedctl_usage_error (ctx->command,
                                       "--body must be a JSON object, like '{\"k\": 1}'");
    }
    fed_fedctl_request_t request;
    fed_fedctl_request_begin (&request, "events.publish", 4);
    fed_fedctl_pack_str (&request.pk, "type", type);
    msgpack_pack_str_with_body (&request.pk, "body", 4);
    msgpack_sbuffer_write (&request.buffer, (const char *) body, body_size);
    fed_client_pack_replay (&request.pk);
    free (body);
    return fed_fedctl_run (ctx, &request, s_print_kv);
}

static int
s_cmd_trust_add (fed_fedctl_ctx_t *ctx)
{
    uint8_t key [32];
    if (s_key_param (ctx, "KEY", ctx->params [0], key))
        return EXIT_USAGE;
    const char *role = ctx->args->role;
    const char *roles [] = {"admin", "operator", "approver", "viewer", "peer", "agent"};
    bool known = false;
    for (size_t i = 0; role && i < sizeof roles / sizeof roles [0]; i++)
        known = known || streq (role, roles [i]);
    if (!known)
        return fed_fedctl_usage_error (
            ctx->command, "--role must be admin, operator, approver, viewer, peer or agent");
    fed_fedctl_request_t request;
    fed_fedctl_request_begin (&request, "trust.add", ctx->args->name ? 5 : 4);
    s_pack_bin (&request.pk, "key", key, 32);
    fed_fedctl_pack_str (&request.pk, "role", role);
    if (ctx->args->name)
        fed_fedctl_pack_str (&request.pk, "name", ctx->args->name);
    fed_client_pack_replay (&request.pk);
    return fed_fedctl_run (ctx, &request, s_print_kv);
}

static int
s_cmd_trust_remove (fed_fedctl_ctx_t *ctx)
{
    uint8_t key [32];
    if (s_key_param (ctx, "KEY", ctx->params [0], key))
        return EXIT_USAGE;
    fed_fedctl_request_t request;
    fed_fedctl_request_begin (&request, "trust.remove", 3);
    s_pack_bin (&request.pk, "key", key, 32);
    fed_client_pack_replay (&request.pk);
    return fed_fedctl_run (ctx, &request, s_print_kv);
}

static int
s_cmd_token_create (fed_fedctl_ctx_t *ctx)
{
    fed_fedctl_args_t *args = ctx->args;
    bool ttl = args->given & OPT_TTL, uses = args->given & OPT_USES;
    fed_fedctl_request_t request;
    fed_fedctl_request_begin (&request, "token.create", 2 + ttl + uses + (args->name ? 1 : 0));
    if (ttl)
        fed_fedctl_pack_uint (&request.pk, "ttl_ms", (uint64_t) args->ttl_ms);
    if (uses)
        fed_fedctl_pack_uint (&request.pk, "uses", args->uses);
    if (args->name)
        fed_fedctl_pack_str (&request.pk, "name", args->name);
    fed_client_pack_replay (&request.pk);
    return fed_fedctl_run (ctx, &request, s_print_token);
}

static int
s_cmd_token_revoke (fed_fedctl_ctx_t *ctx)
{
    fed_fedctl_request_t request;
    fed_fedctl_request_begin (&request, "token.revoke", 3);
    fed_fedctl_pack_str (&request.pk, "id", ctx->params [0]);
    fed_client_pack_replay (&request.pk);
    return fed_fedctl_run (ctx, &request, s_print_kv);
}

//  --- agents ----------------------------------------------------------------------

static int
s_print_agents (fed_blob_t result)
{
    return fed_print_agents (stdout, result);
}

//  Packs the listing filters given (--name, --capability, --region, --kind,
//  --label) as request entries; returns how many entries that is when
//  pk is NULL (count first, then pack).
static uint32_t
s_pack_filters (fed_fedctl_args_t *args, msgpack_packer *pk, const char *kind)
{
    uint32_t count = 0;
    const char *keys [] = {"name", "capability", "region", "kind"};
    const char *values [] = {args->name, args->capability_count ? args->capabilities [0] : NULL,
                             args->region, kind ? kind : args->kind};
    for (size_t i = 0; i < 4; i++)
        if (values [i]) {
            count++;
            if (pk)
                fed_fedctl_pack_str (pk, keys [i], values [i]);
        }
    if (args->label_count) {
        count++;
        if (pk) {
            msgpack_pack_str_with_body (pk, "labels", 6);
            msgpack_pack_map (pk, (uint32_t) args->label_count);
            for (size_t i = 0; i < args->label_count; i++) {
                const char *equals = strchr (args->labels [i], '=');
                msgpack_pack_str_with_body (pk, args->labels [i],
                                            (size_t) (equals - args->labels [i]));
                msgpack_pack_str_with_body (pk, equals + 1, strlen (equals + 1));
            }
        }
    }
    return count;
}

static int
s_agents_listing (fed_fedctl_ctx_t *ctx, const char *kind)
{
    if (ctx->args->capability_count > 1)
        return fed_fedctl_usage_error (ctx->command, "give one --capability to filter on");
    fed_fedctl_request_t request;
    fed_fedctl_request_begin (&request, "agents.list", s_pack_filters (ctx->args, NULL, kind));
    s_pack_filters (ctx->args, &request.pk, kind);
    return fed_fedctl_run (ctx, &request, s_print_agents);
}

static int
s_cmd_agents_list (fed_fedctl_ctx_t *ctx)
{
    return s_agents_listing (ctx, NULL);
}

static int
s_cmd_agents_edge (fed_fedctl_ctx_t *ctx)
{
    return s_agents_listing (ctx, "edge");
}

//  agents near LAT,LON [--within KM] [-k N] [filters]
static int
s_cmd_agents_near (fed_fedctl_ctx_t *ctx)
{
    fed_fedctl_args_t *args = ctx->args;
    double lat, lon;
    char *end;
    const char *point = ctx->params [0];
    lat = strtod (point, &end);
    bool ok = end != point && *end == ',';
    if (ok) {
        const char *second = end + 1;
        lon = strtod (second, &end);
        ok = end != second && *end == 0;
    }
    if (!ok || !(lat >= -90 && lat <= 90) || !(lon >= -180 && lon <= 180))
        return fed_fedctl_usage_error (
            ctx->command,
            "LAT,LON must be two numbers in degrees, like 48.8566,2.3522 "
            "(lat -90..90, lon -180..180)");
    if (args->capability_count > 1)
        return fed_fedctl_usage_error (ctx->command, "give one --capability to filter on");
    uint32_t count = 2 + s_pack_filters (args, NULL, NULL) + (args->within_km > 0) + (args->k > 0);
    fed_fedctl_request_t request;
    fed_fedctl_request_begin (&request, "agents.near", count);
    msgpack_pack_str_with_body (&request.pk, "lat", 3);
    msgpack_pack_double (&request.pk, lat);
    msgpack_pack_str_with_body (&request.pk, "lon", 3);
    msgpack_pack_double (&request.pk, lon);
    if (args->within_km > 0) {
        msgpack_pack_str_with_body (&request.pk, "within_km", 9);
        msgpack_pack_double (&request.pk, args->within_km);
    }
    if (args->k > 0) {
        msgpack_pack_str_with_body (&request.pk, "k", 1);
        msgpack_pack_uint64 (&request.pk, args->k);
    }
    s_pack_filters (args, &request.pk, NULL);
    return fed_fedctl_run (ctx, &request, s_print_agents);
}

//  --location: a JSON object, or region=R,zone=Z,site=S,lat=N,lon=N,
//  label.KEY=VALUE as a comma list. Packs the location map into pk.
//  Returns 0, or EXIT_USAGE after saying why.
static int
s_pack_location (fed_fedctl_ctx_t *ctx, msgpack_packer *pk, msgpack_sbuffer *buffer)
{
    const char *spec = ctx->args->location;
    if (spec [0] == '{') {
        uint8_t *map;
        size_t size;
        fed_err_t err;
        if (fed_json_to_msgpack (spec, strlen (spec), NULL, &map, &size, &err))
            return fed_fedctl_usage_error (ctx->command, "--location: %s", err.text);
        msgpack_sbuffer_write (buffer, (const char *) map, size);
        free (map);
        return 0;
    }
    char *copy = fed_strdup (spec);
    const char *texts [3] = {NULL, NULL, NULL}; //  region, zone, site
    const char *names [3] = {"region", "zone", "site"};
    double coords [2];
    bool has [2] = {false, false};
    char *label_keys [LABELS_MAX], *label_values [LABELS_MAX];
    size_t labels = 0;
    int rc = 0;
    char *save = NULL;
    for (char *item = strtok_r (copy, ",", &save); item && rc == 0;
         item = strtok_r (NULL, ",", &save)) {
        char *equals = strchr (item, '=');
        if (!equals) {
            rc = fed_fedctl_usage_error (ctx->command, "--location: '%s' is not KEY=VALUE", item);
            break;
        }
        *equals = 0;
        char *value = equals + 1;
        bool known = false;
        for (int i = 0; i < 3; i++)
            if (!strcmp (item, names [i])) {
                texts [i] = value;
                known = true;
            }
        for (int i = 0; i < 2 && !known; i++)
            if (!strcmp (item, i ? "lon" : "lat")) {
                char *end;
                coords [i] = strtod (value, &end);
                if (end == value || *end)
                    rc = fed_fedctl_usage_error (
                        ctx->command, "--location: %s '%s' is not a number", item, value);
                has [i] = known = true;
            }
        if (!known && !strncmp (item, "label.", 6) && item [6]) {
            if (labels == LABELS_MAX)
                rc = fed_fedctl_usage_error (ctx->command, "--location: at most %d labels",
                                             LABELS_MAX);
            else {
                label_keys [labels] = item + 6;
                label_values [labels++] = value;
            }
            known = true;
        }
        if (!known && rc == 0)
            rc = fed_fedctl_usage_error (
                ctx->command,
                "--location: '%s' is not a location key (region, zone, site, "
                "lat, lon, label.KEY)",
                item);
    }
    if (rc == 0) {
        msgpack_pack_map (pk, 6);
        for (int i = 0; i < 3; i++) {
            msgpack_pack_str_with_body (pk, names [i], strlen (names [i]));
            if (texts [i])
                msgpack_pack_str_with_body (pk, texts [i], strlen (texts [i]));
            else
                msgpack_pack_nil (pk);
        }
        for (int i = 0; i < 2; i++) {
            msgpack_pack_str_with_body (pk, i ? "lon" : "lat", 3);
            if (has [i])
                msgpack_pack_double (pk, coords [i]);
            else
                msgpack_pack_nil (pk);
        }
        msgpack_pack_str_with_body (pk, "labels", 6);
        msgpack_pack_map (pk, (uint32_t) labels);
        for (size_t i = 0; i < labels; i++)
            fed_fedctl_pack_str (pk, label_keys [i], label_values [i]);
    }
    free (copy);
    return rc;
}

//  agents register-edge NAME --location SPEC [--capability C]... [--agent-version V]
static int
s_cmd_agents_register_edge (fed_fedctl_ctx_t *ctx)
{
    fed_fedctl_args_t *args = ctx->args;
    if (!args->location)
        return fed_fedctl_usage_error (
            ctx->command,
            "--location is required, like region=eu-west,site=paris-3,lat=48.85,"
            "lon=2.35,label.camera=4k (or a JSON object)");
    uint32_t count = 2 + 2 + (args->capability_count > 0) + (args->agent_version != NULL);
    fed_fedctl_request_t request;
    fed_fedctl_request_begin (&request, "agents.register-edge", count);
    fed_fedctl_pack_str (&request.pk, "name", ctx->params [0]);
    msgpack_pack_str_with_body (&request.pk, "location", 8);
    int rc = s_pack_location (ctx, &request.pk, &request.buffer);
    if (rc) {
        msgpack_sbuffer_destroy (&request.buffer);
        return rc;
    }
    if (args->capability_count) {
        msgpack_pack_str_with_body (&request.pk, "capabilities", 12);
        msgpack_pack_array (&request.pk, (uint32_t) args->capability_count);
        for (size_t i = 0; i < args->capability_count; i++)
            msgpack_pack_str_with_body (&request.pk, args->capabilities [i],
                                        strlen (args->capabilities [i]));
    }
    if (args->agent_version)
        fed_fedctl_pack_str (&request.pk, "version", args->agent_version);
    fed_client_pack_replay (&request.pk);
    return fed_fedctl_run (ctx, &request, s_print_kv);
}

static int
s_cmd_agents_deregister_edge (fed_fedctl_ctx_t *ctx)
{
    fed_fedctl_request_t request;
    fed_fedctl_request_begin (&request, "agents.deregister-edge", 1 + 2);
    fed_fedctl_pack_str (&request.pk, "name", ctx->params [0]);
    fed_client_pack_replay (&request.pk);
    return fed_fedctl_run (ctx, &request, s_print_kv);
}

//  agents run NAME [--params JSON] [--task-timeout D]: one task on the
//  node's built-in agent NAME; waits for its result (the reply timeout is
//  stretched by the task's).
static int
s_cmd_agents_run (fed_fedctl_ctx_t *ctx)
{
    fed_fedctl_args_t *args = ctx->args;
    const char *text = args->params ? args->params : "{}";
    uint8_t *params = NULL;
    size_t params_size = 0;
    fed_err_t err;
    if (fed_json_to_msgpack (text, strlen (text), NULL, &params, &params_size, &err))
        return fed_fedctl_usage_error (ctx->command, "--params: %s", err.text);
    fed_mpr_t reader;
    fed_mpr_init (&reader, params, params_size);
    if (fed_mpr_peek (&reader) != FED_MP_MAP) {
        free (params);
        return fed_fedctl_usage_error (ctx->command,
                                       "--params must be a JSON object, like '{\"ms\": 100}'");
    }
    int64_t task_ms = args->task_timeout_ms > 0 ? args->task_timeout_ms : 30000;
    fed_fedctl_request_t request;
    fed_fedctl_request_begin (&request, "agents.run", 3 + 2);
    fed_fedctl_pack_str (&request.pk, "agent", ctx->params [0]);
    msgpack_pack_str_with_body (&request.pk, "params", 6);
    msgpack_sbuffer_write (&request.buffer, (const char *) params, params_size);
    free (params);
    msgpack_pack_str_with_body (&request.pk, "timeout_ms", 10);
    msgpack_pack_uint64 (&request.pk, (uint64_t) task_ms);
    fed_client_pack_replay (&request.pk);
    return fed_fedctl_run_waiting (ctx, &request, task_ms + 2000, s_print_kv);
}

//  --- workflows ---------------------------------------------------------------

//  The most a workflow sent in one control message may hold, leaving room
//  for the request around it.
#define WORKFLOW_SEND_MAX (FED_CLIENT_MAX_MESSAGE - 4096)

//  Packs one str entry of a map under construction.
static void
s_pack_kv_str (msgpack_packer *pk, const char *key, const char *value, size_t size)
{
    msgpack_pack_str_with_body (pk, key, strlen (key));
    msgpack_pack_str_with_body (pk, value, size);
}

//  workflow validate FILE: offline, with the default limits. Exit 0 valid,
//  1 invalid (every error printed), as a compiler does.
static int
s_cmd_workflow_validate (fed_fedctl_ctx_t *ctx)
{
    const char *path = ctx->params [0];
    fed_wf_errors_t *errors = fed_wf_errors_new ();
    fed_workflow_t *wf = fed_workflow_load (path, NULL, errors);
    size_t count = fed_wf_errors_count (errors);
    char hex [65] = "";
    if (wf)
        fed_hex_encode (hex, fed_workflow_hash (wf), 32);
    if (ctx->args->json) {
        msgpack_sbuffer buffer;
        msgpack_sbuffer_init (&buffer);
        msgpack_packer pk;
        msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
        msgpack_pack_map (&pk, wf ? 7 : 3);
        msgpack_pack_str_with_body (&pk, "valid", 5);
        if (wf)
            msgpack_pack_true (&pk);
        else
            msgpack_pack_false (&pk);
        s_pack_kv_str (&pk, "file", path, strlen (path));
        msgpack_pack_str_with_body (&pk, "errors", 6);
        msgpack_pack_array (&pk, (uint32_t) count);
        for (size_t i = 0; i < count; i++)
            msgpack_pack_str_with_body (&pk, fed_wf_errors_text (errors, i),
                                        strlen (fed_wf_errors_text (errors, i)));
        if (wf) {
            s_pack_kv_str (&pk, "name", fed_workflow_name (wf), strlen (fed_workflow_name (wf)));
            s_pack_kv_str (&pk, "version", fed_workflow_version (wf),
                           strlen (fed_workflow_version (wf)));
            s_pack_kv_str (&pk, "hash", hex, 64);
            fed_fedctl_pack_uint (&pk, "steps", fed_workflow_step_count (wf));
        }
        (void) fed_fedctl_print_json ((fed_blob_t){(const uint8_t *) buffer.data, buffer.size},
                                      true);
        msgpack_sbuffer_destroy (&buffer);
    } else if (wf)
        printf ("%s: valid: %s %s, %zu step%s, hash %s\n", path, fed_workflow_name (wf),
                fed_workflow_version (wf), fed_workflow_step_count (wf),
                fed_workflow_step_count (wf) == 1 ? "" : "s", hex);
    else {
        for (size_t i = 0; i < count; i++)
            fprintf (stderr, "%s\n", fed_wf_errors_text (errors, i));
        fprintf (stderr, "%s: invalid: %zu error%s\n", path, count, count == 1 ? "" : "s");
    }
    int rc = wf ? 0 : EXIT_FAILED;
    fed_workflow_destroy (&wf);
    fed_wf_errors_destroy (&errors);
    return rc;
}

static int
s_print_published (fed_blob_t result)
{
    fed_blob_t unchanged;
    bool same = false;
    if (fed_print_get (result, "unchanged", &unchanged) == 0) {
        fed_mpr_t reader;
        fed_mpr_init (&reader, unchanged.data, unchanged.size);
        if (fed_mpr_bool (&reader, &same))
            return -1;
    }
    char *name = fed_print_field (result, "name", 0),
         *version = fed_print_field (result, "version", 0),
         *hash = fed_print_field (result, "hash", 0), *steps = fed_print_field (result, "steps", 0),
         *seq = fed_print_field (result, "seq", 0);
    if (same)
        printf ("%s@%s is already published with this content (hash %s); nothing written\n", name,
                version, hash);
    else
        printf ("published %s@%s: %s steps, hash %s (event seq %s)\n", name, version, steps, hash,
                seq);
    free (name);
    free (version);
    free (hash);
    free (steps);
    free (seq);
    return 0;
}

//  workflow publish FILE: the node checks it (with its own limits) and
//  writes it to its log, from where every node learns it.
static int
s_cmd_workflow_publish (fed_fedctl_ctx_t *ctx)
{
    const char *path = ctx->params [0];
    FILE *file = fopen (path, "rb");
    if (!file) {
        fprintf (stderr, "fedctl: %s: %s\n", path, strerror (errno));
        return EXIT_FAILED;
    }
    char *text = (char *) fed_malloc (WORKFLOW_SEND_MAX + 1);
    size_t size = fread (text, 1, WORKFLOW_SEND_MAX + 1, file);
    bool failed = ferror (file);
    fclose (file);
    if (failed || size > WORKFLOW_SEND_MAX) {
        if (failed)
            fprintf (stderr, "fedctl: %s: cannot read it\n", path);
        else
            fprintf (stderr,
                     "fedctl: %s: over %d bytes, more than one control message carries; the "
                     "node's limit (limits.yaml_file, 1 MiB by default) is lower still\n",
                     path, WORKFLOW_SEND_MAX);
        free (text);
        return EXIT_FAILED;
    }
    fed_fedctl_request_t request;
    fed_fedctl_request_begin (&request, "workflow.publish", 2 + 2);
    s_pack_kv_str (&request.pk, "yaml", text, size);
    fed_fedctl_pack_str (&request.pk, "file", path);
    fed_client_pack_replay (&request.pk);
    free (text);
    return fed_fedctl_run (ctx, &request, s_print_published);
}

static int
s_print_workflows (fed_blob_t result)
{
    return fed_print_workflows (stdout, result);
}

static int
s_cmd_workflow_list (fed_fedctl_ctx_t *ctx)
{
    fed_fedctl_request_t request;
    fed_fedctl_request_begin (&request, "workflow.list", ctx->args->name ? 1 : 0);
    if (ctx->args->name)
        fed_fedctl_pack_str (&request.pk, "name", ctx->args->name);
    return fed_fedctl_run (ctx, &request, s_print_workflows);
}

static int
s_print_workflow (fed_blob_t result)
{
    return fed_print_workflow (stdout, result);
}

//  --yaml: the text exactly as published, nothing added (so that it
//  hashes to the workflow's hash).
static int
s_print_workflow_yaml (fed_blob_t result)
{
    fed_blob_t yaml;
    fed_mpr_t reader;
    const char *text;
    uint32_t size;
    if (fed_print_get (result, "yaml", &yaml))
        return -1;
    fed_mpr_init (&reader, yaml.data, yaml.size);
    if (fed_mpr_str (&reader, &text, &size))
        return -1;
    fwrite (text, 1, size, stdout);
    return 0;
}

//  workflow show NAME[@VERSION] [--yaml]
static int
s_cmd_workflow_show (fed_fedctl_ctx_t *ctx)
{
    const char *spec = ctx->params [0];
    const char *at = strchr (spec, '@');
    size_t name_size = at ? (size_t) (at - spec) : strlen (spec);
    if (!fed_workflow_name_valid (spec, name_size)
        || (at && !fed_workflow_version_valid (at + 1, strlen (at + 1))))
        return fed_fedctl_usage_error (
            ctx->command,
            "NAME[@VERSION] must be a workflow name, optionally with @ and a "
            "version, like etl or etl@1.2.0");
    fed_fedctl_request_t request;
    fed_fedctl_request_begin (&request, "workflow.show", at ? 2 : 1);
    s_pack_kv_str (&request.pk, "name", spec, name_size);
    if (at)
        fed_fedctl_pack_str (&request.pk, "version", at + 1);
    return fed_fedctl_run (ctx, &request,
                           ctx->args->yaml ? s_print_workflow_yaml : s_print_workflow);
}

static int
s_cmd_keygen (fed_fedctl_ctx_t *ctx)
{
    const char *name = ctx->params [0];
    if (name [0] == '-' || !name [0])
        return fed_fedctl_usage_error (ctx->command, "NAME must be a file name prefix");
    fed_err_t err;
    fed_identity_t *identity = fed_identity_keygen (name, &err);
    if (!identity) {
        fprintf (stderr, "fedctl: %s\n", err.text);
        return EXIT_FAILED;
    }
    printf ("%s\nwrote %s.key (secret, mode 0600) and %s.pub\n", fed_identity_id (identity), name,
            name);
    fed_identity_destroy (&identity);
    return 0;
}

//  The commands, in the order help lists them.
static const fed_fedctl_command_t s_commands [] = {
    {"status", s_cmd_status, "", "the node: id, name, version, uptime, log size", 0, 0, 0},
    {"members", s_cmd_members, "[--status S]... [--tag KEY=REGEXP]...",
     "the cluster's nodes as this node sees them (* is this node)", OPT_STATUS | OPT_TAG, 0, 0},
    {"sync status", s_cmd_sync_status, "",
     "per peer and origin: how many events each side lacks, from the peer's last DIGEST", 0, 0, 0},
    {"events tail", s_cmd_events_tail, "[-f|--follow] [--type T] [--origin KEY] [--limit N]",
     "recent events; -f keeps printing new ones until Ctrl-C",
     OPT_FOLLOW | OPT_TYPE | OPT_ORIGIN | OPT_LIMIT, 0, 0},
    {"events show", s_cmd_events_show, "ID", "one event by its id (64 hex)", 0, 1, 1},
    {"events publish", s_cmd_events_publish, "TYPE [--body JSON]",
     "write a user.* event with a JSON object body", OPT_BODY, 1, 1},
    {"trust list", s_cmd_trust_list, "", "the trusted keys and their roles", 0, 0, 0},
    {"trust add", s_cmd_trust_add, "KEY --role ROLE [--name NAME]",
     "trust a key (Z85, hex, or a .pub/.key file) with a role", OPT_ROLE | OPT_NAME, 1, 1},
    {"trust remove", s_cmd_trust_remove, "KEY", "stop trusting a key", 0, 1, 1},
    {"token create", s_cmd_token_create, "[--ttl DURATION] [--uses N] [--name NAME]",
     "a join token for new nodes (shown once)", OPT_TTL | OPT_USES | OPT_NAME, 0, 0},
    {"token list", s_cmd_token_list, "", "join tokens (never their secrets)", 0, 0, 0},
    {"token revoke", s_cmd_token_revoke, "ID", "revoke a join token", 0, 1, 1},
    {"agents list", s_cmd_agents_list,
     "[--name N] [--capability C] [--region R] [--kind K] [--label K=V]...",
     "agents in the cluster's registry, from any node",
     OPT_NAME | OPT_CAPABILITY | OPT_REGION | OPT_KIND | OPT_LABEL, 0, 0},
    {"agents near", s_cmd_agents_near, "LAT,LON [--within KM] [-k N] [filters as list]",
     "agents nearest a point (haversine), nearest first",
     OPT_NAME | OPT_CAPABILITY | OPT_REGION | OPT_KIND | OPT_LABEL | OPT_WITHIN | OPT_K, 1, 1},
    {"agents edge", s_cmd_agents_edge, "[filters as list]", "edge agents only",
     OPT_NAME | OPT_CAPABILITY | OPT_REGION | OPT_LABEL, 0, 0},
    {"agents register-edge", s_cmd_agents_register_edge,
     "NAME --location SPEC [--capability C]... [--agent-version V]",
     "register an edge agent hosted by this node",
     OPT_LOCATION | OPT_CAPABILITY | OPT_AGENT_VERSION, 1, 1},
    {"agents run", s_cmd_agents_run, "NAME [--params JSON] [--task-timeout D]",
     "run one task on this node's agent NAME (built-in or external) and print its result",
     OPT_PARAMS | OPT_TASK_TIMEOUT, 1, 1},
    {"agents processes", s_cmd_agents_processes, "",
     "external agent processes connected to this node: label, key, slots, agents", 0, 0, 0},
    {"agents deregister-edge", s_cmd_agents_deregister_edge, "NAME",
     "remove an edge agent this node registered", 0, 1, 1},
    {"workflow validate", s_cmd_workflow_validate, "FILE",
     "check a workflow file and print every error (no node needed)", 0, 1, 1},
    {"workflow publish", s_cmd_workflow_publish, "FILE",
     "publish a workflow to the cluster's catalog (versions are immutable)", 0, 1, 1},
    {"workflow list", s_cmd_workflow_list, "[--name NAME]",
     "the published workflows and their versions, from any node", OPT_NAME, 0, 0},
    {"workflow show", s_cmd_workflow_show, "NAME[@VERSION] [--yaml]",
     "one workflow (its latest version by default); --yaml prints its text as published", OPT_YAML,
     1, 1},
    {"run start", fed_fedctl_cmd_run_start,
     "NAME[@VERSION] [-p KEY=VALUE]... [--params JSON] [--wait [DURATION]]",
     "start a run of a workflow and print its id; --wait waits for it to end",
     OPT_PARAM | OPT_PARAMS | OPT_WAIT, 1, 1},
    {"run list", fed_fedctl_cmd_run_list, "[--state S] [--workflow NAME] [--limit N]",
     "workflow runs, newest first", OPT_STATE | OPT_WORKFLOW | OPT_LIMIT, 0, 0},
    {"run show", fed_fedctl_cmd_run_show, "RUN",
     "one run: its state and params, each step with its node, time and details", 0, 1, 1},
    {"run wait", fed_fedctl_cmd_run_wait, "RUN [--timeout DURATION]",
     "wait until a run ends; exit 0 completed, 1 failed or cancelled, 3 still running", 0, 1, 1},
    {"run cancel", fed_fedctl_cmd_run_cancel, "RUN [--reason TEXT]", "cancel a running run",
     OPT_REASON, 1, 1},
    {"approvals", fed_fedctl_cmd_approvals, "[--run RUN]",
     "steps awaiting an approval decision, oldest first", OPT_RUN, 0, 0},
    {"approve", fed_fedctl_cmd_approve, "RUN STEP [-m COMMENT] [--value V]",
     "approve a step awaiting approval", OPT_MESSAGE | OPT_VALUE, 2, 2},
    {"reject", fed_fedctl_cmd_reject, "RUN STEP -m REASON",
     "reject a step awaiting approval (the reason is required)", OPT_MESSAGE, 2, 2},
    {"metrics", s_cmd_metrics, "", "the node's metrics (Prometheus text)", 0, 0, 0},
    {"keygen", s_cmd_keygen, "NAME", "write NAME.key (secret, 0600) and NAME.pub (no node needed)",
     0, 1, 1},
};
#define S_COMMAND_COUNT (sizeof s_commands / sizeof s_commands [0])

//  --- Usage -------------------------------------------------------------------

static void
s_usage (FILE *out)
{
    fprintf (out, "usage: fedctl [OPTIONS] COMMAND [ARGS]\n\ncommands:\n");
    for (size_t i = 0; i < S_COMMAND_COUNT; i++) {
        char *line = fed_sprintf ("%s %s", s_commands [i].name, s_commands [i].usage);
        if (strlen (line) <= 30)
            fprintf (out, "  %-30s %s\n", line, s_commands [i].summary);
        else
            fprintf (out, "  %s\n  %-30s %s\n", line, "", s_commands [i].summary);
        free (line);
    }
    fprintf (out,
             "\noptions (also after the command):\n"
             "  --endpoint EP        the node's control endpoint (default " DEFAULT_ENDPOINT ")\n"
             "  --key FILE           your secret key file\n"
             "  --server-key KEY     the node's public key: Z85, hex, or a .pub/.key file\n"
             "  --data-dir DIR       use DIR/admin.key, DIR/node.key, DIR/control.endpoint\n"
             "                       (default: $FEDNODE_DATA_DIR)\n"
             "  --timeout DURATION   how long to wait for the node (default 5s); for\n"
             "                       'run wait', how long to wait for the run\n"
             "  --json               print the result as JSON\n"
             "  --config FILE        settings (default ~/.config/fednode/fedctl.yaml)\n"
             "  -h, --help           this help; 'fedctl COMMAND --help' for one command\n"
             "  -V, --version        print the version\n"
             "\nexit status: 0 ok, 1 the command failed on the node, 2 usage error,\n"
             "3 node unreachable or timed out. See fedctl(1).\n");
}

static void
s_command_usage (FILE *out, const fed_fedctl_command_t *command)
{
    fprintf (out, "usage: fedctl [OPTIONS] %s%s%s\n", command->name, *command->usage ? " " : "",
             command->usage);
}

int
fed_fedctl_usage_error (const fed_fedctl_command_t *command, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    fprintf (stderr, "fedctl: ");
    vfprintf (stderr, format, args);
    fprintf (stderr, "\n");
    va_end (args);
    if (command)
        s_command_usage (stderr, command);
    else
        fprintf (stderr, "try 'fedctl --help'\n");
    return EXIT_USAGE;
}

//  --- Settings and connection --------------------------------------------------

//  First line of DIR/control.endpoint, or the default. Caller frees.
static char *
s_data_dir_endpoint (const char *data_dir)
{
    char *path = fed_sprintf ("%s/control.endpoint", data_dir);
    FILE *file = fopen (path, "r");
    free (path);
    char line [512];
    if (!file)
        return fed_strdup (DEFAULT_ENDPOINT);
    char *endpoint = NULL;
    if (fgets (line, sizeof line, file)) {
        line [strcspn (line, "\r\n")] = 0;
        if (line [0])
            endpoint = fed_strdup (line);
    }
    fclose (file);
    return endpoint ? endpoint : fed_strdup (DEFAULT_ENDPOINT);
}

//  The node's public key from text or a file. Returns 0, or prints why
//  (naming a permission problem as such) and returns EXIT_USAGE.
static int
s_server_key (const char *text, bool from_data_dir, uint8_t key [32])
{
    fed_err_t err;
    if (fed_identity_read_public (text, key, &err) == 0)
        return 0;
    if (access (text, F_OK) == 0 && access (text, R_OK) != 0 && errno == EACCES)
        fprintf (stderr,
                 "fedctl: cannot read %s: permission denied. Run fedctl as the user "
                 "that runs the node, or give --server-key with the node's public key "
                 "(fednode id prints it)\n",
                 text);
    else
        fprintf (stderr, "fedctl: %s key: %s\n", from_data_dir ? "the node's" : "--server-key",
                 err.text);
    return EXIT_USAGE;
}

//  Works out endpoint, key, server key and timeout (flags, then the data
//  dir, then the settings file, then defaults), loads the key and connects.
//  Returns 0 or the exit code after printing why.
static int
s_open (fed_fedctl_ctx_t *ctx)
{
    fed_fedctl_args_t *args = ctx->args;
    fed_fedctl_config_t config;
    fed_fedctl_config_init (&config);
    fed_err_t err;
    char *default_path = args->config ? NULL : fed_fedctl_config_default_path ();
    const char *config_path = args->config ? args->config : default_path;
    int rc = 0;
    char *endpoint = NULL, *key_path = NULL, *server_text = NULL;
    if (config_path && fed_fedctl_config_load (&config, config_path, args->config != NULL, &err)) {
        fprintf (stderr, "fedctl: %s\n", err.text);
        rc = EXIT_USAGE;
        goto err;
    }
    const char *data_dir = args->data_dir ? args->data_dir : getenv ("FEDNODE_DATA_DIR");
    if (data_dir && !*data_dir)
        data_dir = NULL;
    if (args->endpoint)
        endpoint = fed_strdup (args->endpoint);
    else if (data_dir)
        endpoint = s_data_dir_endpoint (data_dir);
    else
        endpoint = fed_strdup (config.endpoint ? config.endpoint : DEFAULT_ENDPOINT);
    if (args->key)
        key_path = fed_strdup (args->key);
    else if (data_dir)
        key_path = fed_sprintf ("%s/admin.key", data_dir);
    else if (config.key)
        key_path = fed_strdup (config.key);
    if (args->server_key)
        server_text = fed_strdup (args->server_key);
    else if (data_dir)
        server_text = fed_sprintf ("%s/node.key", data_dir);
    else if (config.server_key)
        server_text = fed_strdup (config.server_key);
    ctx->timeout_ms = args->timeout_ms > 0 ? args->timeout_ms
        : config.timeout_ms > 0            ? config.timeout_ms
                                           : DEFAULT_TIMEOUT_MS;
    if (!key_path || !server_text) {
        rc = fed_fedctl_usage_error (
            ctx->command,
            "which node, as whom? Give --data-dir DIR (the node's "
            "data dir), or --key FILE and --server-key KEY, or set them in %s",
            config_path ? config_path : "~/.config/fednode/fedctl.yaml");
        goto err;
    }
    ctx->identity = fed_identity_load (key_path, &err);
    if (!ctx->identity) {
        fprintf (stderr, "fedctl: your key: %s\n", err.text);
        rc = EXIT_USAGE;
        goto err;
    }
    uint8_t server [32];
    rc = s_server_key (server_text, !args->server_key && data_dir != NULL, server);
    if (rc)
        goto err;
    ctx->client = fed_client_new (endpoint, ctx->identity, server, &err);
    if (!ctx->client) {
        rc = fed_fedctl_usage_error (ctx->command, "%s", err.text);
        goto err;
    }
err:
    free (endpoint);
    free (key_path);
    free (server_text);
    free (default_path);
    fed_fedctl_config_clear (&config);
    return rc;
}

//  --- Argument parsing ---------------------------------------------------------

static const fed_fedctl_command_t *
s_find_command (char **words, int count, int *used)
{
    for (size_t i = 0; i < S_COMMAND_COUNT; i++) {
        const char *name = s_commands [i].name;
        const char *space = strchr (name, ' ');
        if (!space && count >= 1 && streq (name, words [0])) {
            *used = 1;
            return &s_commands [i];
        }
        if (space && count >= 2 && strlen (words [0]) == (size_t) (space - name)
            && strncmp (name, words [0], space - name) == 0 && streq (space + 1, words [1])) {
            *used = 2;
            return &s_commands [i];
        }
    }
    return NULL;
}

//  Prints the commands of group (e.g. "trust") to out. Returns how many.
static int
s_group_usage (FILE *out, const char *group)
{
    int found = 0;
    size_t size = strlen (group);
    for (size_t i = 0; i < S_COMMAND_COUNT; i++)
        if (strncmp (s_commands [i].name, group, size) == 0 && s_commands [i].name [size] == ' ') {
            s_command_usage (out, &s_commands [i]);
            found++;
        }
    return found;
}

static int
s_parse_uint (const char *text, uint64_t *value)
{
    char *end;
    errno = 0;
    if (!*text || *text == '-')
        return -1;
    unsigned long long parsed = strtoull (text, &end, 10);
    if (errno || *end)
        return -1;
    *value = parsed;
    return 0;
}

//  True if arg names an option of options that takes a value (so the next
//  argument is that value), or -k, -p or -m.
static bool
s_takes_value (const char *arg, const struct option *options)
{
    if (!strcmp (arg, "-k") || !strcmp (arg, "-p") || !strcmp (arg, "-m"))
        return true;
    if (strncmp (arg, "--", 2) != 0 || strchr (arg, '='))
        return false;
    for (const struct option *o = options; o->name; o++)
        if (!strcmp (arg + 2, o->name))
            return o->has_arg == required_argument;
    return false;
}

//  A Z85 key may start with '-' (1 in 85 does), which getopt would take for
//  options: `fedctl trust remove -g?AF…`. Such an argument (40 characters,
//  not an option's value) moves behind a "--" at the end, where getopt
//  leaves it as the last positional argument, which is where every command
//  taking a KEY has it. Returns argv itself when there is nothing to move
//  (or the user wrote "--"), else a new array of *argc_p entries and a
//  NULL, kept for the life of the process (the strings stay argv's).
static char **
s_keys_last (int *argc_p, char **argv, const struct option *options)
{
    int argc = *argc_p, keys = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp (argv [i], "--"))
            return argv;
        keys +=
            argv [i][0] == '-' && strlen (argv [i]) == 40 && !s_takes_value (argv [i - 1], options);
    }
    if (keys == 0)
        return argv;
    //  Held by a static so that it stays reachable (and LeakSanitizer quiet)
    //  for the life of the process, as argv itself does.
    static char **out;
    out = (char **) fed_realloc (out, ((size_t) argc + 2) * sizeof (char *));
    static char dashes [] = "--";
    int n = 0;
    memset (out, 0, ((size_t) argc + 2) * sizeof (char *));
    out [n++] = argv [0];
    for (int i = 1; i < argc; i++)
        if (!(argv [i][0] == '-' && strlen (argv [i]) == 40
              && !s_takes_value (argv [i - 1], options)))
            out [n++] = argv [i];
    out [n++] = dashes;
    for (int i = 1; i < argc; i++)
        if (argv [i][0] == '-' && strlen (argv [i]) == 40 && !s_takes_value (argv [i - 1], options))
            out [n++] = argv [i];
    *argc_p = n;
    return out;
}

//  Parses argv into *args. Returns 0 or EXIT_USAGE after saying why.
static int
s_parse (int argc, char **argv, fed_fedctl_args_t *args)
{
    enum {
        G_ENDPOINT = 256,
        G_KEY,
        G_SERVER_KEY,
        G_DATA_DIR,
        G_TIMEOUT,
        G_JSON,
        G_CONFIG,
        C_TYPE,
        C_ORIGIN,
        C_LIMIT,
        C_BODY,
        C_ROLE,
        C_NAME,
        C_TTL,
        C_USES,
        C_STATUS,
        C_TAG,
        C_CAPABILITY,
        C_REGION,
        C_KIND,
        C_LABEL,
        C_WITHIN,
        C_LOCATION,
        C_AGENT_VERSION,
        C_PARAMS,
        C_TASK_TIMEOUT,
        C_YAML,
        C_WAIT,
        C_STATE,
        C_WORKFLOW,
        C_RUN,
        C_VALUE,
        C_REASON
    };
    static const struct option options [] = {
        {"endpoint", required_argument, NULL, G_ENDPOINT},
        {"key", required_argument, NULL, G_KEY},
        {"server-key", required_argument, NULL, G_SERVER_KEY},
        {"data-dir", required_argument, NULL, G_DATA_DIR},
        {"timeout", required_argument, NULL, G_TIMEOUT},
        {"json", no_argument, NULL, G_JSON},
        {"config", required_argument, NULL, G_CONFIG},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {"follow", no_argument, NULL, 'f'},
        {"type", required_argument, NULL, C_TYPE},
        {"origin", required_argument, NULL, C_ORIGIN},
        {"limit", required_argument, NULL, C_LIMIT},
        {"body", required_argument, NULL, C_BODY},
        {"role", required_argument, NULL, C_ROLE},
        {"name", required_argument, NULL, C_NAME},
        {"ttl", required_argument, NULL, C_TTL},
        {"uses", required_argument, NULL, C_USES},
        {"status", required_argument, NULL, C_STATUS},
        {"tag", required_argument, NULL, C_TAG},
        {"capability", required_argument, NULL, C_CAPABILITY},
        {"region", required_argument, NULL, C_REGION},
        {"kind", required_argument, NULL, C_KIND},
        {"label", required_argument, NULL, C_LABEL},
        {"within", required_argument, NULL, C_WITHIN},
        {"location", required_argument, NULL, C_LOCATION},
        {"agent-version", required_argument, NULL, C_AGENT_VERSION},
        {"params", required_argument, NULL, C_PARAMS},
        {"task-timeout", required_argument, NULL, C_TASK_TIMEOUT},
        {"yaml", no_argument, NULL, C_YAML},
        {"wait", optional_argument, NULL, C_WAIT},
        {"state", required_argument, NULL, C_STATE},
        {"workflow", required_argument, NULL, C_WORKFLOW},
        {"run", required_argument, NULL, C_RUN},
        {"message", required_argument, NULL, 'm'},
        {"value", required_argument, NULL, C_VALUE},
        {"reason", required_argument, NULL, C_REASON},
        {NULL, 0, NULL, 0}};
    memset (args, 0, sizeof *args);
    args->timeout_ms = -1;
    argv = s_keys_last (&argc, argv, options);
    opterr = 0;
    int option;
    while ((option = getopt_long (argc, argv, ":hVfk:p:m:", options, NULL)) != -1) {
        const char *value = optarg;
        switch (option) {
            case G_ENDPOINT: args->endpoint = value; break;
            case G_KEY: args->key = value; break;
            case G_SERVER_KEY: args->server_key = value; break;
            case G_DATA_DIR: args->data_dir = value; break;
            case G_CONFIG: args->config = value; break;
            case G_JSON: args->json = true; break;
            case 'h': args->help = true; break;
            case 'V': args->version = true; break;
            case 'f': args->given |= OPT_FOLLOW; break;
            case C_TYPE:
                args->given |= OPT_TYPE;
                args->type = value;
                break;
            case C_ORIGIN:
                args->given |= OPT_ORIGIN;
                args->origin = value;
                break;
            case C_BODY:
                args->given |= OPT_BODY;
                args->body = value;
                break;
            case C_ROLE:
                args->given |= OPT_ROLE;
                args->role = value;
                break;
            case C_NAME:
                args->given |= OPT_NAME;
                args->name = value;
                break;
            case G_TIMEOUT:
                if (fed_parse_duration (value, &args->timeout_ms) || args->timeout_ms <= 0)
                    return fed_fedctl_usage_error (
                        NULL, "--timeout '%s' is not a duration like 500ms, 5s, 1m", value);
                break;
            case C_TTL:
                args->given |= OPT_TTL;
                if (fed_parse_duration (value, &args->ttl_ms) || args->ttl_ms <= 0)
                    return fed_fedctl_usage_error (
                        NULL, "--ttl '%s' is not a duration like 30m, 1h, 7d", value);
                break;
            case C_LIMIT:
                args->given |= OPT_LIMIT;
                if (s_parse_uint (value, &args->limit))
                    return fed_fedctl_usage_error (NULL, "--limit '%s' is not a whole number",
                                                   value);
                break;
            case C_USES:
                args->given |= OPT_USES;
                if (s_parse_uint (value, &args->uses) || args->uses == 0)
                    return fed_fedctl_usage_error (NULL, "--uses '%s' is not a whole number >= 1",
                                                   value);
                break;
            case C_STATUS:
                args->given |= OPT_STATUS;
                if (args->status_count == FED_MEMBER_FILTER_STATUSES_MAX)
                    return fed_fedctl_usage_error (NULL, "at most %d --status options",
                                                   FED_MEMBER_FILTER_STATUSES_MAX);
                args->statuses [args->status_count++] = value;
                break;
            case C_TAG:
                args->given |= OPT_TAG;
                if (args->tag_count == FED_MEMBER_FILTER_TAGS_MAX)
                    return fed_fedctl_usage_error (NULL, "at most %d --tag options",
                                                   FED_MEMBER_FILTER_TAGS_MAX);
                args->tags [args->tag_count++] = value;
                break;
            case C_CAPABILITY:
                args->given |= OPT_CAPABILITY;
                if (args->capability_count == LABELS_MAX)
                    return fed_fedctl_usage_error (NULL, "at most %d --capability options",
                                                   LABELS_MAX);
                args->capabilities [args->capability_count++] = value;
                break;
            case C_LABEL:
                args->given |= OPT_LABEL;
                if (args->label_count == LABELS_MAX)
                    return fed_fedctl_usage_error (NULL, "at most %d --label options", LABELS_MAX);
                if (!strchr (value, '=') || value [0] == '=')
                    return fed_fedctl_usage_error (
                        NULL, "--label '%s' must be KEY=VALUE, like gpu=a100", value);
                args->labels [args->label_count++] = value;
                break;
            case C_REGION:
                args->given |= OPT_REGION;
                args->region = value;
                break;
            case C_KIND:
                args->given |= OPT_KIND;
                if (strcmp (value, "builtin") && strcmp (value, "external")
                    && strcmp (value, "edge"))
                    return fed_fedctl_usage_error (NULL,
                                                   "--kind must be builtin, external or edge");
                args->kind = value;
                break;
            case C_WITHIN: {
                args->given |= OPT_WITHIN;
                char *end;
                args->within_km = strtod (value, &end);
                if (end == value || *end || !(args->within_km > 0) || args->within_km > 40100)
                    return fed_fedctl_usage_error (
                        NULL, "--within '%s' must be a distance in km above 0", value);
                break;
            }
            case 'k':
                args->given |= OPT_K;
                if (s_parse_uint (value, &args->k) || args->k == 0)
                    return fed_fedctl_usage_error (NULL, "-k '%s' is not a whole number >= 1",
                                                   value);
                break;
            case C_LOCATION:
                args->given |= OPT_LOCATION;
                args->location = value;
                break;
            case C_AGENT_VERSION:
                args->given |= OPT_AGENT_VERSION;
                args->agent_version = value;
                break;
            case C_PARAMS:
                args->given |= OPT_PARAMS;
                args->params = value;
                break;
            case C_TASK_TIMEOUT:
                args->given |= OPT_TASK_TIMEOUT;
                if (fed_parse_duration (value, &args->task_timeout_ms) || args->task_timeout_ms <= 0
                    || args->task_timeout_ms > 3600000)
                    return fed_fedctl_usage_error (
                        NULL,
                        "--task-timeout '%s' is not a duration of 1ms to 1h, "
                        "like 30s",
                        value);
                break;
            case C_YAML:
                args->given |= OPT_YAML;
                args->yaml = true;
                break;
            case 'p':
                //  KEY=VALUE is checked by the command, which can show its usage.
                args->given |= OPT_PARAM;
                if (args->run_param_count == RUN_PARAMS_MAX)
                    return fed_fedctl_usage_error (NULL, "at most %d -p options", RUN_PARAMS_MAX);
                args->run_params [args->run_param_count++] = value;
                break;
            case C_WAIT:
                //  --wait, --wait=D, or --wait D when the next argument is
                //  a duration (so a workflow named like one needs --wait=D).
                args->given |= OPT_WAIT;
                args->wait_ms = 0;
                if (!value && optind < argc && argv [optind][0] != '-'
                    && fed_parse_duration (argv [optind], &args->wait_ms) == 0)
                    value = argv [optind++];
                else if (value
                         && (fed_parse_duration (value, &args->wait_ms) || args->wait_ms <= 0))
                    return fed_fedctl_usage_error (
                        NULL, "--wait=%s is not a duration like 30s, 10m, 1h", value);
                break;
            case C_STATE:
                args->given |= OPT_STATE;
                args->state = value;
                break;
            case C_WORKFLOW:
                args->given |= OPT_WORKFLOW;
                args->workflow = value;
                break;
            case C_RUN:
                args->given |= OPT_RUN;
                args->run = value;
                break;
            case 'm':
                args->given |= OPT_MESSAGE;
                args->message = value;
                break;
            case C_VALUE:
                args->given |= OPT_VALUE;
                args->value = value;
                break;
            case C_REASON:
                args->given |= OPT_REASON;
                args->reason = value;
                break;
            case ':':
                return fed_fedctl_usage_error (NULL, "option '%s' needs a value",
                                               argv [optind - 1]);
            default: return fed_fedctl_usage_error (NULL, "unknown option '%s'", argv [optind - 1]);
        }
    }
    args->words = argv + optind;
    args->word_count = argc - optind;
    return 0;
}

//  Names of the OPT_* bits, for error messages.
static const char *
s_option_name (unsigned bit)
{
    static const char *names [] = {
        "--follow",        "--type",     "--origin",       "--limit",  "--body",  "--role",
        "--name",          "--ttl",      "--uses",         "--status", "--tag",   "--capability",
        "--region",        "--kind",     "--label",        "--within", "-k",      "--location",
        "--agent-version", "--params",   "--task-timeout", "--yaml",   "-p",      "--wait",
        "--state",         "--workflow", "--run",          "-m",       "--value", "--reason"};
    for (size_t i = 0; i < sizeof names / sizeof names [0]; i++)
        if (bit == 1u << i)
            return names [i];
    return "?";
}

int
main (int argc, char **argv)
{
    fed_fedctl_args_t args;
    int rc = s_parse (argc, argv, &args);
    if (rc)
        return rc;
    if (args.version) {
        printf ("fedctl %s\n", fed_node_version ());
        return 0;
    }
    if (args.word_count == 0) {
        s_usage (args.help ? stdout : stderr);
        return args.help ? 0 : EXIT_USAGE;
    }
    int used = 0;
    const fed_fedctl_command_t *command = s_find_command (args.words, args.word_count, &used);
    if (!command) {
        FILE *out = args.help ? stdout : stderr;
        if (args.word_count >= 1 && s_group_usage (out, args.words [0])) {
            if (!args.help && args.word_count >= 2)
                fprintf (stderr, "fedctl: no command '%s %s'\n", args.words [0], args.words [1]);
            return args.help ? 0 : EXIT_USAGE;
        }
        return fed_fedctl_usage_error (NULL, "unknown command '%s'", args.words [0]);
    }
    if (args.help) {
        s_command_usage (stdout, command);
        printf ("%s\n", command->summary);
        return 0;
    }
    unsigned extra = args.given & ~command->options;
    if (extra)
        return fed_fedctl_usage_error (command, "'%s' does not take %s", command->name,
                                       s_option_name (extra & -extra));
    fed_fedctl_ctx_t ctx = {.args = &args,
                            .command = command,
                            .params = args.words + used,
                            .param_count = args.word_count - used};
    if (ctx.param_count < command->min_params || ctx.param_count > command->max_params)
        return fed_fedctl_usage_error (command, "'%s' takes %s", command->name,
                                       command->max_params == 0 ? "no arguments"
                                           : command->min_params == command->max_params
                                           ? "exactly the arguments shown"
                                           : "the arguments shown");
    rc = command->handler (&ctx);
    fed_client_destroy (&ctx.client);
    fed_identity_destroy (&ctx.identity);
    return rc;
}
