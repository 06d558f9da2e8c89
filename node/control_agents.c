/*  node/control_agents.c: the agents commands (doc/protocol.md §3.4):
    agents.list and agents.near read the registry view (node/registry.h),
    agents.register-edge and agents.deregister-edge write to it.

    Every node answers from its own copy of the registry, so any node lists
    the same agents once the events have spread. An agent whose node is not
    alive in this node's membership table is listed as unavailable, never
    dropped: its registration stands until its node deregisters it.
*/
#include "control_internal.h"
#include "node_internal.h"
#include "placement.h"
#include "peer.h"
#include "registry.h"
#include "tasks.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LABELS_MAX FED_AGENT_LABELS_MAX

//  A listing request's filter and its storage (texts copied out of the
//  request so that they are NUL-terminated).
typedef struct {
    fed_agent_filter_t filter;
    char name [FED_AGENT_NAME_MAX + 1], capability [FED_AGENT_TEXT_MAX + 1],
        region [FED_AGENT_TEXT_MAX + 1], kind [16];
    char keys [LABELS_MAX][FED_AGENT_TEXT_MAX + 1], values [LABELS_MAX][FED_AGENT_TEXT_MAX + 1];
    const char *key_ptrs [LABELS_MAX], *value_ptrs [LABELS_MAX];
} filter_args_t;

//  Reads an optional string argument into out (size max + 1). Returns 0
//  (present or absent) or -1 with the call failed.
static int
s_text_arg (fed_call_t *call, const char *name, char *out, size_t max)
{
    const char *ptr;
    uint32_t size;
    *out = 0;
    int rc = fed_ctl_arg_str (call->request, name, max, &ptr, &size, &call->err);
    if (rc < 0)
        return fed_call_fail (call, "bad_request", "%s", call->err.text);
    if (rc == 0)
        snprintf (out, max + 1, "%.*s", (int) size, ptr);
    return 0;
}

static int
s_filter_args (fed_call_t *call, filter_args_t *args)
{
    memset (args, 0, sizeof *args);
    if (s_text_arg (call, "name", args->name, FED_AGENT_NAME_MAX)
        || s_text_arg (call, "capability", args->capability, FED_AGENT_TEXT_MAX)
        || s_text_arg (call, "region", args->region, FED_AGENT_TEXT_MAX)
        || s_text_arg (call, "kind", args->kind, sizeof args->kind - 1))
        return -1;
    if (*args->kind && strcmp (args->kind, "builtin") && strcmp (args->kind, "external")
        && strcmp (args->kind, "edge"))
        return fed_call_fail (call, "bad_request",
                              "'kind' must be builtin, external or edge, not '%s'", args->kind);
    fed_blob_t labels;
    int rc = fed_ctl_arg_map (call->request, "labels", &labels, &call->err);
    if (rc < 0)
        return fed_call_fail (call, "bad_request", "%s", call->err.text);
    if (rc == 0) {
        fed_mpr_t reader;
        fed_mpr_init (&reader, labels.data, labels.size);
        uint32_t count;
        if (fed_mpr_map (&reader, &count) || count > LABELS_MAX)
            return fed_call_fail (call, "bad_request",
                                  "'labels' must be a map of at most %d strings", LABELS_MAX);
        for (uint32_t i = 0; i < count; i++) {
            const char *key, *value;
            uint32_t key_size, value_size;
            if (fed_mpr_str (&reader, &key, &key_size) || fed_mpr_str (&reader, &value, &value_size)
                || key_size == 0 || key_size > FED_AGENT_TEXT_MAX
                || value_size > FED_AGENT_TEXT_MAX)
                return fed_call_fail (call, "bad_request",
                                      "'labels' entries must be strings: a key of 1 to %d bytes "
                                      "and a value of at most %d",
                                      FED_AGENT_TEXT_MAX, FED_AGENT_TEXT_MAX);
            snprintf (args->keys [i], sizeof args->keys [i], "%.*s", (int) key_size, key);
            snprintf (args->values [i], sizeof args->values [i], "%.*s", (int) value_size, value);
            args->key_ptrs [i] = args->keys [i];
            args->value_ptrs [i] = args->values [i];
        }
        args->filter.label_count = count;
    }
    args->filter.name = args->name;
    args->filter.capability = args->capability;
    args->filter.region = args->region;
    args->filter.kind = args->kind;
    args->filter.label_keys = args->key_ptrs;
    args->filter.label_values = args->value_ptrs;
    return 0;
}

//  One agent row, gathered before packing (agents.near sorts them).
typedef struct {
    fed_agent_record_t record;
    fed_agent_location_t location;
    bool inherited;                          //  location from the node, not the agent
    char node_name [FED_AGENT_TEXT_MAX + 1]; //  from its node's node.started, or ""
    double distance;                         //  km from the point asked about (agents.near), or NAN
} row_t;

typedef struct {
    fed_call_t *call;
    filter_args_t *args;
    row_t *rows;
    size_t count, alloc;
    bool near;
    double lat, lon, within_km;
} gather_t;

static int
s_gather_one (void *arg, const fed_agent_record_t *record)
{
    gather_t *gather = (gather_t *) arg;
    //  One read of the node's record gives its name and, when the agent
    //  states none, the location it inherits.
    fed_agent_location_t location;
    char node_name [FED_AGENT_TEXT_MAX + 1];
    bool found = fed_registry_node (gather->call->node->log, record->node, node_name,
                                    sizeof node_name, &location);
    if (record->has_location) {
        location = record->location;
        found = true;
    }
    if (!fed_agent_matches (record, &location, &gather->args->filter))
        return 0;
    double distance = NAN;
    if (gather->near) {
        if (!found || !location.has_lat || !location.has_lon)
            return 0; //  nowhere: cannot be near anything
        distance = fed_haversine_km (gather->lat, gather->lon, location.lat, location.lon);
        if (gather->within_km > 0 && distance > gather->within_km)
            return 0;
    }
    if (gather->count == gather->alloc) {
        gather->alloc = gather->alloc ? gather->alloc * 2 : 16;
        gather->rows = (row_t *) fed_realloc (gather->rows, gather->alloc * sizeof (row_t));
    }
    row_t *row = &gather->rows [gather->count++];
    row->record = *record;
    row->location = location;
    row->inherited = !record->has_location;
    memcpy (row->node_name, node_name, sizeof node_name);
    row->distance = distance;
    return 0;
}

//  Nearest first; ties by node, then name (stable across nodes).
static int
s_by_distance (const void *a, const void *b)
{
    const row_t *x = (const row_t *) a, *y = (const row_t *) b;
    if (x->distance != y->distance)
        return x->distance < y->distance ? -1 : 1;
    int order = memcmp (x->record.node, y->record.node, 32);
    return order ? order : strcmp (x->record.name, y->record.name);
}

static void
s_pack_row (fed_call_t *call, const row_t *row)
{
    msgpack_packer *pk = call->pk;
    fed_node_t *node = call->node;
    const fed_agent_record_t *record = &row->record;
    const char *state = "unknown";
    if (memcmp (record->node, fed_identity_public (node->identity), 32) == 0)
        state = "alive";
    else {
        const fed_member_t *member = fed_swim_find (fed_peer_swim (node->peer), record->node);
        if (member)
            state = fed_wire_state_name (member->state);
    }
    bool available = strcmp (state, "alive") == 0 || strcmp (state, "suspect") == 0;
    char id [41];
    fed_z85_encode_key (id, record->node);
    msgpack_pack_map (pk, isnan (row->distance) ? 11 : 12);
    fed_call_pack_kv (pk, "name", record->name);
    fed_call_pack_kv (pk, "version", record->version);
    fed_call_pack_kv (pk, "node", id);
    fed_call_pack_kv (pk, "node_name", row->node_name);
    fed_call_pack_kv (pk, "kind", fed_agent_kind_name (record->kind));
    fed_call_pack_str (pk, "capabilities");
    msgpack_pack_array (pk, record->capability_count);
    for (uint32_t i = 0; i < record->capability_count; i++)
        fed_call_pack_str (pk, record->capabilities [i]);
    fed_call_pack_str (pk, "location");
    fed_agent_location_pack (pk, &row->location);
    fed_call_pack_str (pk, "location_from_node");
    if (row->inherited)
        msgpack_pack_true (pk);
    else
        msgpack_pack_false (pk);
    fed_call_pack_kv (pk, "node_state", state);
    fed_call_pack_kv (pk, "status", available ? "available" : "unavailable");
    fed_call_pack_str (pk, "registered_ms");
    msgpack_pack_int64 (pk, record->registered_ms);
    if (!isnan (row->distance)) {
        fed_call_pack_str (pk, "distance_km");
        msgpack_pack_double (pk, row->distance);
    }
}

static int
s_list (fed_call_t *call, gather_t *gather, uint64_t limit)
{
    fed_err_t err;
    int rc = fed_registry_scan (call->node->log, s_gather_one, gather, &err);
    if (rc < 0) {
        free (gather->rows);
        return fed_call_fail (call, "internal", "%s", err.text);
    }
    if (gather->near)
        qsort (gather->rows, gather->count, sizeof (row_t), s_by_distance);
    size_t shown = limit && limit < gather->count ? (size_t) limit : gather->count;
    msgpack_pack_array (call->pk, (uint32_t) shown);
    for (size_t i = 0; i < shown; i++)
        s_pack_row (call, &gather->rows [i]);
    free (gather->rows);
    return 0;
}

//  agents.processes {}: the external agent processes connected here.
int
fed_cmd_agents_processes (fed_call_t *call)
{
    if (fed_ctl_args_all_used (call->request, &call->err))
        return fed_call_fail (call, "bad_request", "%s", call->err.text);
    fed_tasks_pack_processes (call->node->tasks, call->pk);
    return 0;
}

int
fed_cmd_agents_list (fed_call_t *call)
{
    filter_args_t *args = (filter_args_t *) fed_malloc (sizeof *args);
    int rc = s_filter_args (call, args);
    if (rc == 0 && fed_ctl_args_all_used (call->request, &call->err))
        rc = fed_call_fail (call, "bad_request", "%s", call->err.text);
    if (rc == 0) {
        gather_t gather = {call, args, NULL, 0, 0, false, 0, 0, 0};
        rc = s_list (call, &gather, 0);
    }
    free (args);
    return rc;
}

//  A number argument within lo..hi: 0 present, 1 absent, -1 with the call failed.
static int
s_number_arg (fed_call_t *call, const char *name, double lo, double hi, double *value)
{
    int rc = fed_ctl_arg_double (call->request, name, lo, hi, value, &call->err);
    if (rc < 0)
        return fed_call_fail (call, "bad_request", "%s", call->err.text);
    return rc;
}

int
fed_cmd_agents_near (fed_call_t *call)
{
    filter_args_t *args = (filter_args_t *) fed_malloc (sizeof *args);
    gather_t gather = {call, args, NULL, 0, 0, true, 0, 0, 0};
    uint64_t limit = 0;
    int rc = s_filter_args (call, args);
    int lat_rc = rc ? -1 : s_number_arg (call, "lat", -90, 90, &gather.lat);
    int lon_rc = lat_rc < 0 ? -1 : s_number_arg (call, "lon", -180, 180, &gather.lon);
    int within_rc = lon_rc < 0 ? -1 : s_number_arg (call, "within_km", 0, 40100, &gather.within_km);
    rc = rc || lat_rc < 0 || lon_rc < 0 || within_rc < 0 ? -1 : 0;
    if (rc == 0 && (lat_rc == 1 || lon_rc == 1))
        rc = fed_call_fail (call, "bad_request",
                            "send 'lat' and 'lon': the point to measure from, in degrees");
    if (rc == 0 && within_rc == 0 && gather.within_km <= 0)
        rc = fed_call_fail (call, "bad_request", "'within_km' must be above 0");
    if (rc == 0) {
        int k = fed_ctl_arg_uint (call->request, "k", 100000, &limit, &call->err);
        if (k < 0)
            rc = fed_call_fail (call, "bad_request", "%s", call->err.text);
    }
    if (rc == 0 && fed_ctl_args_all_used (call->request, &call->err))
        rc = fed_call_fail (call, "bad_request", "%s", call->err.text);
    if (rc == 0)
        rc = s_list (call, &gather, limit);
    free (args);
    return rc;
}

int
fed_cmd_agents_register_edge (fed_call_t *call)
{
    fed_agent_record_t *record = (fed_agent_record_t *) fed_calloc (1, sizeof *record);
    int rc = s_text_arg (call, "name", record->name, FED_AGENT_NAME_MAX);
    if (rc == 0)
        rc = s_text_arg (call, "version", record->version, FED_AGENT_VERSION_MAX);
    if (rc == 0 && !*record->name)
        rc = fed_call_fail (call, "bad_request", "send 'name', like \"camera.ingest\"");
    if (rc == 0 && !*record->version)
        strcpy (record->version, "1");
    fed_blob_t location;
    int has_location = rc ? -1 : fed_ctl_arg_map (call->request, "location", &location, &call->err);
    if (rc == 0 && has_location < 0)
        rc = fed_call_fail (call, "bad_request", "%s", call->err.text);
    if (rc == 0 && has_location == 1)
        rc = fed_call_fail (call, "bad_request",
                            "send 'location': where the edge agent is, {region, zone, site, lat, "
                            "lon, labels}");
    if (rc == 0) {
        fed_mpr_t reader;
        fed_mpr_init (&reader, location.data, location.size);
        fed_err_t err = {0, ""};
        if (fed_agent_location_read (&reader, &record->location, &err))
            rc = fed_call_fail (call, "bad_request", "%s", err.text);
        record->has_location = true;
    }
    fed_blob_t caps;
    int has_caps = rc ? -1 : fed_ctl_arg_array (call->request, "capabilities", &caps, &call->err);
    if (rc == 0 && has_caps < 0)
        rc = fed_call_fail (call, "bad_request", "%s", call->err.text);
    if (rc == 0 && has_caps == 0) {
        fed_mpr_t reader;
        fed_mpr_init (&reader, caps.data, caps.size);
        uint32_t count;
        if (fed_mpr_array (&reader, &count) || count > FED_AGENT_CAPS_MAX)
            rc = fed_call_fail (call, "bad_request",
                                "'capabilities' must be an array of at most %d strings",
                                FED_AGENT_CAPS_MAX);
        for (uint32_t i = 0; rc == 0 && i < count; i++) {
            const char *text;
            uint32_t size;
            if (fed_mpr_str (&reader, &text, &size) || size == 0 || size > FED_AGENT_TEXT_MAX)
                rc = fed_call_fail (call, "bad_request",
                                    "'capabilities' entries must be strings of 1 to %d bytes",
                                    FED_AGENT_TEXT_MAX);
            else
                snprintf (record->capabilities [i], sizeof record->capabilities [i], "%.*s",
                          (int) size, text);
        }
        record->capability_count = rc == 0 ? count : 0;
    }
    if (rc == 0 && fed_ctl_args_all_used (call->request, &call->err))
        rc = fed_call_fail (call, "bad_request", "%s", call->err.text);
    if (rc == 0) {
        record->kind = FED_AGENT_EDGE;
        memcpy (record->node, fed_identity_public (call->node->identity), 32);
        msgpack_sbuffer body;
        msgpack_sbuffer_init (&body);
        fed_err_t err = {0, ""};
        if (fed_agent_record_encode (record, &body, &err))
            rc = fed_call_fail (call, "bad_request", "%s", err.text);
        else
            rc = fed_call_append (call, "agent.registered", body.data, body.size);
        msgpack_sbuffer_destroy (&body);
    }
    free (record);
    return rc;
}

int
fed_cmd_agents_deregister_edge (fed_call_t *call)
{
    char name [FED_AGENT_NAME_MAX + 1];
    if (s_text_arg (call, "name", name, FED_AGENT_NAME_MAX))
        return -1;
    if (!*name)
        return fed_call_fail (call, "bad_request", "send 'name': the edge agent to remove");
    if (fed_ctl_args_all_used (call->request, &call->err))
        return fed_call_fail (call, "bad_request", "%s", call->err.text);
    const uint8_t *self = fed_identity_public (call->node->identity);
    fed_agent_record_t *record = (fed_agent_record_t *) fed_malloc (sizeof *record);
    fed_err_t err = {0, ""};
    int found = fed_registry_find (call->node->log, self, name, record, &err);
    bool edge = found == 1 && record->kind == FED_AGENT_EDGE;
    free (record);
    if (found < 0)
        return fed_call_fail (call, "internal", "%s", err.text);
    if (!edge)
        return fed_call_fail (call, "not_found",
                              "this node has registered no edge agent '%s' (agents edge lists "
                              "them)",
                              name);
    msgpack_sbuffer body;
    msgpack_sbuffer_init (&body);
    fed_agent_deregistered_encode (self, name, &body);
    int rc = fed_call_append (call, "agent.deregistered", body.data, body.size);
    msgpack_sbuffer_destroy (&body);
    return rc;
}

//  agents.run {agent, params?, timeout_ms?}: runs one of this node's
//  built-in agents and answers with its result. The request is parked until
//  the pool's final report for the task arrives (fed_tasks_result), at most
//  timeout + 1 s; past that it answers {task, status: "running"}.
int
fed_cmd_agents_run (fed_call_t *call)
{
    fed_tasks_t *tasks = call->node->tasks;
    if (call->resuming) {
        uint64_t id = call->resume_after;
        const fed_report_t *report = fed_tasks_result (tasks, id);
        call->cursor = id;
        if (!report) {
            call->wait_ms = 1; //  stay parked (answered "running" at the deadline)
            msgpack_pack_map (call->pk, 2);
            fed_call_pack_str (call->pk, "task");
            msgpack_pack_uint64 (call->pk, id);
            fed_call_pack_kv (call->pk, "status", "running");
            return 0;
        }
        bool completed = fed_report_kind (report) == FED_REPORT_COMPLETED;
        msgpack_pack_map (call->pk, completed ? 4 : 5);
        fed_call_pack_str (call->pk, "task");
        msgpack_pack_uint64 (call->pk, id);
        fed_call_pack_kv (call->pk, "status", completed ? "completed" : "failed");
        fed_call_pack_str (call->pk, "elapsed_ms");
        msgpack_pack_int64 (call->pk, fed_report_elapsed_ms (report));
        if (completed) {
            const uint8_t *output;
            size_t size;
            fed_report_output (report, &output, &size);
            fed_call_pack_str (call->pk, "output");
            fed_call_pack_raw (call->pk, output, size);
        } else {
            fed_call_pack_kv (call->pk, "code", fed_report_code (report));
            fed_call_pack_kv (call->pk, "message", fed_report_message (report));
        }
        fed_tasks_forget (tasks, id);
        call->wait_ms = 0;
        return 0;
    }
    char agent [FED_AGENT_NAME_MAX + 1];
    if (s_text_arg (call, "agent", agent, FED_AGENT_NAME_MAX))
        return -1;
    if (!*agent)
        return fed_call_fail (call, "bad_request", "send 'agent': a built-in agent, like sys.echo");
    fed_blob_t params = {(const uint8_t *) "\x80", 1};
    int rc = fed_ctl_arg_map (call->request, "params", &params, &call->err);
    if (rc < 0)
        return fed_call_fail (call, "bad_request", "%s", call->err.text);
    uint64_t timeout_ms = 30000;
    if (fed_ctl_arg_uint (call->request, "timeout_ms", 3600000, &timeout_ms, &call->err) < 0)
        return fed_call_fail (call, "bad_request", "%s", call->err.text);
    if (timeout_ms == 0)
        return fed_call_fail (call, "bad_request", "'timeout_ms' must be 1 to 3600000");
    if (fed_ctl_args_all_used (call->request, &call->err))
        return fed_call_fail (call, "bad_request", "%s", call->err.text);
    //  The answer waits parked: refuse now rather than start a task whose
    //  result nobody would collect.
    if (call->park_full)
        return fed_call_fail (call, "failed",
                              "too many requests of this key are waiting (long polls and "
                              "agents.run); wait for one to end");
    fed_task_spec_t spec;
    memset (&spec, 0, sizeof spec);
    spec.agent = agent;
    spec.params = params.data;
    spec.params_size = params.size;
    spec.timeout_ms = (int64_t) timeout_ms;
    //  A workspace for the task's files, {data_dir}/work/tasks/WALLMS-N/:
    //  the data.* agents write nowhere else.
    static uint64_t s_sequence;
    char *workspace = fed_sprintf ("%s/work/tasks/%" PRId64 "-%" PRIu64,
                                   call->node->config->data_dir, fed_wall_ms (), ++s_sequence);
    if (fed_make_dirs (workspace) == 0)
        spec.workspace = workspace;
    else
        fed_warn ("agents.run: cannot make the workspace %s: %s", workspace, strerror (errno));
    uint64_t id = fed_tasks_submit (tasks, &spec);
    free (workspace);
    call->cursor = id;
    call->wait_ms = (int64_t) timeout_ms + 1000;
    return 0;
}
