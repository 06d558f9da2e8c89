/*  node/control_workflow.c: the workflow commands (doc/protocol.md §3.4):
    workflow.publish checks a definition and writes it to the log as a
    workflow.published event; workflow.list and workflow.show read the
    catalog view (node/catalog.h), so any node answers them once the events
    have spread.

    workflow.publish refuses before anything is written: a definition with
    errors (every one of them in the reply's `errors`), one whose event
    would pass limits.event_body, and a version this node already holds
    with other content (versions are immutable). Publishing a version again
    with the same content writes nothing and says so.
*/
#include "control_internal.h"
#include "catalog.h"
#include "node_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FILE_NAME_MAX 256 //  bytes of the 'file' argument (a name for messages)

//  Packs "key": hex of 32 bytes.
static void
s_pack_hash (msgpack_packer *pk, const char *key, const uint8_t hash [32])
{
    char hex [65];
    fed_hex_encode (hex, hash, 32);
    fed_call_pack_kv (pk, key, hex);
}

//  Packs "key": a key as Z85, or nil.
static void
s_pack_key (msgpack_packer *pk, const char *key, const uint8_t *value)
{
    char z85 [41];
    if (value)
        fed_z85_encode_key (z85, value);
    fed_call_pack_kv (pk, key, value ? z85 : NULL);
}

//  The errors of a failed parse as one msgpack array of str, for the reply.
static void
s_pack_errors (fed_call_t *call, const fed_wf_errors_t *errors)
{
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    size_t count = fed_wf_errors_count (errors);
    msgpack_pack_array (&pk, (uint32_t) count);
    for (size_t i = 0; i < count; i++)
        fed_call_pack_str (&pk, fed_wf_errors_text (errors, i));
    call->errors = (uint8_t *) buffer.data; //  the server frees it
    call->errors_size = buffer.size;
}

//  The reply of a publish: what was (or already had been) published.
static void
s_pack_published (fed_call_t *call, const fed_workflow_t *wf, bool unchanged, uint64_t seq,
                  const uint8_t *id)
{
    msgpack_packer *pk = call->pk;
    msgpack_pack_map (pk, 7);
    fed_call_pack_kv (pk, "name", fed_workflow_name (wf));
    fed_call_pack_kv (pk, "version", fed_workflow_version (wf));
    s_pack_hash (pk, "hash", fed_workflow_hash (wf));
    fed_call_pack_str (pk, "steps");
    msgpack_pack_uint64 (pk, fed_workflow_step_count (wf));
    fed_call_pack_str (pk, "unchanged");
    if (unchanged)
        msgpack_pack_true (pk);
    else
        msgpack_pack_false (pk);
    fed_call_pack_str (pk, "id");
    if (id)
        msgpack_pack_bin_with_body (pk, id, 32);
    else
        msgpack_pack_nil (pk);
    fed_call_pack_str (pk, "seq");
    if (seq)
        msgpack_pack_uint64 (pk, seq);
    else
        msgpack_pack_nil (pk);
}

//  workflow.publish {yaml, file?, rid, exp}
int
fed_cmd_workflow_publish (fed_call_t *call)
{
    fed_node_t *node = call->node;
    const fed_config_t *config = node->config;
    const char *yaml, *file = NULL;
    uint32_t size, file_size = 0;
    int rc = fed_ctl_arg_str (call->request, "yaml", config->limits.wire_message, &yaml, &size,
                              &call->err);
    if (rc < 0)
        return fed_call_fail (call, "bad_request", "%s", call->err.text);
    if (rc == 1)
        return fed_call_fail (call, "bad_request", "send 'yaml': the workflow's text");
    if (fed_ctl_arg_str (call->request, "file", FILE_NAME_MAX, &file, &file_size, &call->err) < 0)
        return fed_call_fail (call, "bad_request", "%s", call->err.text);
    if (fed_ctl_args_all_used (call->request, &call->err))
        return fed_call_fail (call, "bad_request", "%s", call->err.text);
    char name [FILE_NAME_MAX + 1] = "workflow";
    if (file && file_size)
        snprintf (name, sizeof name, "%.*s", (int) file_size, file);
    fed_workflow_limits_t limits;
    fed_workflow_limits_from_config (&limits, config);
    fed_wf_errors_t *errors = fed_wf_errors_new ();
    fed_workflow_t *wf = fed_workflow_parse (yaml, size, name, &limits, errors);
    if (!wf) {
        size_t count = fed_wf_errors_count (errors);
        s_pack_errors (call, errors);
        if (count == 1)
            rc = fed_call_fail (call, "invalid", "%s", fed_wf_errors_text (errors, 0));
        else
            rc = fed_call_fail (call, "invalid", "%zu errors in %s; the first: %s", count, name,
                                fed_wf_errors_text (errors, 0));
        fed_wf_errors_destroy (&errors);
        return rc;
    }
    fed_wf_errors_destroy (&errors);

    //  The catalog first: a version is published once.
    fed_catalog_version_t held;
    fed_err_t err = {0, ""};
    int found = fed_catalog_find (node->log, fed_workflow_name (wf), fed_workflow_version (wf),
                                  &held, NULL, NULL, &err);
    if (found < 0)
        rc = fed_call_fail (call, "internal", "%s", err.text);
    else if (found && memcmp (held.entry.hash, fed_workflow_hash (wf), 32) == 0)
        s_pack_published (call, wf, true, 0, NULL);
    else if (found) {
        char hex [65], origin [41];
        fed_hex_encode (hex, held.entry.hash, 32);
        fed_z85_encode_key (origin, held.entry.origin);
        rc = fed_call_fail (call, "conflict",
                            "%s@%s is already published with other content (hash %.16s…, from "
                            "node %.8s…); versions are immutable: publish it as a new version",
                            fed_workflow_name (wf), fed_workflow_version (wf), hex, origin);
    } else {
        msgpack_sbuffer body;
        msgpack_sbuffer_init (&body);
        fed_catalog_body_encode (wf, call->caller, &body);
        if (body.size > config->limits.event_body)
            rc = fed_call_fail (call, "bad_request",
                                "the workflow's event would be %zu bytes, over the %llu-byte "
                                "limit (limits.event_body); make the workflow smaller or raise "
                                "the limit",
                                body.size, (unsigned long long) config->limits.event_body);
        else {
            uint64_t seq;
            uint8_t id [32];
            if (fed_node_append_local (node, "workflow.published", body.data, body.size, &seq, id,
                                       &err))
                rc = fed_call_fail (call, "failed", "%s", err.text);
            else
                s_pack_published (call, wf, false, seq, id);
        }
        msgpack_sbuffer_destroy (&body);
    }
    fed_workflow_destroy (&wf);
    return rc;
}

//  The fields every listing of a version has.
static void
s_pack_version (msgpack_packer *pk, const fed_catalog_version_t *version, uint32_t extra)
{
    const fed_catalog_entry_t *entry = &version->entry;
    msgpack_pack_map (pk, 8 + extra);
    fed_call_pack_kv (pk, "name", entry->name);
    fed_call_pack_kv (pk, "version", entry->version);
    s_pack_hash (pk, "hash", entry->hash);
    fed_call_pack_str (pk, "latest");
    if (version->latest)
        msgpack_pack_true (pk);
    else
        msgpack_pack_false (pk);
    fed_call_pack_str (pk, "published_ms");
    msgpack_pack_int64 (pk, entry->published_ms);
    s_pack_key (pk, "published_by", entry->has_publisher ? entry->published_by : NULL);
    s_pack_key (pk, "origin", entry->origin);
    fed_call_pack_str (pk, "conflicts");
    msgpack_pack_uint64 (pk, version->conflicts);
}

//  Reads an optional name argument ("" when absent). 0, or -1 with the call failed.
static int
s_name_arg (fed_call_t *call, const char *arg, size_t max, char *out)
{
    const char *text;
    uint32_t size;
    *out = 0;
    int rc = fed_ctl_arg_str (call->request, arg, max, &text, &size, &call->err);
    if (rc < 0)
        return fed_call_fail (call, "bad_request", "%s", call->err.text);
    if (rc == 0)
        snprintf (out, max + 1, "%.*s", (int) size, text);
    return 0;
}

//  workflow.list {name?}
int
fed_cmd_workflow_list (fed_call_t *call)
{
    char name [FED_WORKFLOW_NAME_MAX + 1];
    if (s_name_arg (call, "name", FED_WORKFLOW_NAME_MAX, name))
        return -1;
    if (fed_ctl_args_all_used (call->request, &call->err))
        return fed_call_fail (call, "bad_request", "%s", call->err.text);
    fed_catalog_version_t *versions;
    size_t count;
    fed_err_t err = {0, ""};
    if (fed_catalog_list (call->node->log, name, &versions, &count, &err))
        return fed_call_fail (call, "internal", "%s", err.text);
    msgpack_pack_array (call->pk, (uint32_t) count);
    for (size_t i = 0; i < count; i++)
        s_pack_version (call->pk, &versions [i], 0);
    free (versions);
    return 0;
}

//  workflow.show {name, version?}
int
fed_cmd_workflow_show (fed_call_t *call)
{
    char name [FED_WORKFLOW_NAME_MAX + 1], version [FED_WORKFLOW_VERSION_MAX + 1];
    if (s_name_arg (call, "name", FED_WORKFLOW_NAME_MAX, name)
        || s_name_arg (call, "version", FED_WORKFLOW_VERSION_MAX, version))
        return -1;
    if (!*name)
        return fed_call_fail (call, "bad_request", "send 'name': the workflow to show");
    if (fed_ctl_args_all_used (call->request, &call->err))
        return fed_call_fail (call, "bad_request", "%s", call->err.text);
    fed_evlog_t *log = call->node->log;
    fed_catalog_version_t found;
    fed_catalog_entry_t *others = NULL;
    size_t other_count = 0;
    fed_err_t err = {0, ""};
    int rc = fed_catalog_find (log, name, version, &found, &others, &other_count, &err);
    if (rc < 0)
        return fed_call_fail (call, "internal", "%s", err.text);
    if (rc == 0)
        return fed_call_fail (call, "not_found",
                              "no workflow %s%s%s in the catalog (workflow list "
                              "shows what there is)",
                              name, *version ? "@" : "", version);
    char *yaml = NULL;
    size_t size = 0;
    fed_catalog_version_t *versions = NULL;
    size_t count = 0;
    if (fed_catalog_source (log, found.entry.hash, &yaml, &size, &err) != 1
        || fed_catalog_list (log, name, &versions, &count, &err)) {
        free (others);
        free (yaml);
        return fed_call_fail (call, "internal", "reading the workflow catalog failed");
    }
    //  Whether this node's parser takes it (a newer node may have published
    //  what an older one cannot run), and what it says of itself.
    fed_workflow_limits_t limits;
    fed_workflow_limits_from_config (&limits, call->node->config);
    fed_workflow_t *wf = fed_workflow_parse (yaml, size, name, &limits, NULL);
    msgpack_packer *pk = call->pk;
    s_pack_version (pk, &found, 6);
    fed_call_pack_str (pk, "yaml");
    msgpack_pack_str_with_body (pk, yaml, size);
    fed_call_pack_str (pk, "valid");
    if (wf)
        msgpack_pack_true (pk);
    else
        msgpack_pack_false (pk);
    fed_call_pack_kv (pk, "description", wf ? fed_workflow_description (wf) : NULL);
    fed_call_pack_str (pk, "steps");
    if (wf)
        msgpack_pack_uint64 (pk, fed_workflow_step_count (wf));
    else
        msgpack_pack_nil (pk);
    fed_call_pack_str (pk, "versions");
    msgpack_pack_array (pk, (uint32_t) count);
    for (size_t i = 0; i < count; i++)
        fed_call_pack_str (pk, versions [i].entry.version);
    fed_call_pack_str (pk, "others");
    msgpack_pack_array (pk, (uint32_t) other_count);
    for (size_t i = 0; i < other_count; i++) {
        msgpack_pack_map (pk, 4);
        s_pack_hash (pk, "hash", others [i].hash);
        fed_call_pack_str (pk, "published_ms");
        msgpack_pack_int64 (pk, others [i].published_ms);
        s_pack_key (pk, "published_by", others [i].has_publisher ? others [i].published_by : NULL);
        s_pack_key (pk, "origin", others [i].origin);
    }
    fed_workflow_destroy (&wf);
    free (versions);
    free (others);
    free (yaml);
    return 0;
}
