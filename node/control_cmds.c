/*  node/control_cmds.c: the control commands, one function each, and the
    table that names them with the roles that may run them
    (doc/protocol.md §3.4). Each reads its arguments with the typed getters,
    refuses arguments it does not know, and packs one result object.
*/
#include "control_internal.h"
#include "coreviews.h"
#include "node_internal.h"
#include "peer.h"
#include "repl.h"
#include "tasks.h"
#include "executor.h"
#include "json.h"
#include "log.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define V (1u << FED_ROLE_VIEWER)
#define A (1u << FED_ROLE_APPROVER)
#define O (1u << FED_ROLE_OPERATOR)
#define ADMIN_ONLY 0u

#define TAIL_LIMIT_MAX 1000
#define TAIL_WAIT_MAX 30000
#define TAIL_SCAN_MAX 10000 //  events one call walks at most (a rare filter cannot stall the loop)
#define TOKEN_TTL_MAX (365LL * 86400 * 1000)

//  Fails with bad_request when a getter refused its argument (rc < 0).
#define ARG(call, expr)                                                                            \
    do {                                                                                           \
        if ((expr) < 0)                                                                            \
            return fed_call_fail ((call), "bad_request", "%s", (call)->err.text);                  \
    } while (0)

static int
s_no_unknown_args (fed_call_t *call)
{
    if (fed_ctl_args_all_used (call->request, &call->err))
        return fed_call_fail (call, "bad_request", "%s", call->err.text);
    return 0;
}

void
fed_call_pack_str (msgpack_packer *pk, const char *text)
{
    msgpack_pack_str_with_body (pk, text, strlen (text));
}

void
fed_call_pack_kv (msgpack_packer *pk, const char *key, const char *value)
{
    fed_call_pack_str (pk, key);
    if (value && *value)
        fed_call_pack_str (pk, value);
    else
        msgpack_pack_nil (pk);
}

//  Packs each named member of the msgpack map body as name: value (nil when
//  absent): how list results copy fields out of stored event bodies.
static void
s_pack_members (msgpack_packer *pk, const uint8_t *body, size_t size, const char *const *names,
                size_t count)
{
    for (size_t i = 0; i < count; i++) {
        fed_blob_t member;
        fed_call_pack_str (pk, names [i]);
        if (fed_coreviews_member (body, size, names [i], &member) == 0)
            fed_call_pack_raw (pk, member.data, member.size);
        else
            msgpack_pack_nil (pk);
    }
}

//  --- status, members, metrics ----------------------------------------------

static int
s_status (fed_call_t *call)
{
    if (s_no_unknown_args (call))
        return -1;
    fed_node_t *node = call->node;
    const fed_config_t *config = node->config;
    msgpack_packer *pk = call->pk;
    fed_vv_entry_t *entries;
    size_t origins = fed_evlog_version_vector (node->log, &entries);
    free (entries);
    msgpack_pack_map (pk, 14);
    fed_call_pack_kv (pk, "id", fed_identity_id (node->identity));
    fed_call_pack_kv (pk, "curve", fed_identity_curve_public_z85 (node->identity));
    fed_call_pack_kv (pk, "name",
                      *config->node.name ? config->node.name
                                         : fed_identity_short_id (node->identity));
    fed_call_pack_kv (pk, "version", fed_node_version ());
    fed_call_pack_str (pk, "uptime_ms");
    msgpack_pack_int64 (pk, fed_wall_ms () - node->started_ms);
    fed_call_pack_kv (pk, "data_dir", config->data_dir);
    fed_call_pack_kv (pk, "durability", config->durability_sync ? "sync" : "wal");
    fed_call_pack_str (pk, "events");
    msgpack_pack_uint64 (pk, fed_evlog_count (node->log));
    fed_call_pack_str (pk, "origins");
    msgpack_pack_uint64 (pk, origins);
    fed_call_pack_str (pk, "seq");
    msgpack_pack_uint64 (pk, fed_evlog_seq (node->log, fed_identity_public (node->identity)));
    fed_call_pack_str (pk, "pending");
    msgpack_pack_uint64 (pk, fed_evlog_pending (node->log));
    fed_call_pack_str (pk, "location");
    msgpack_pack_map (pk, 3);
    fed_call_pack_kv (pk, "region", config->node.region);
    fed_call_pack_kv (pk, "zone", config->node.zone);
    fed_call_pack_kv (pk, "site", config->node.site);
    fed_call_pack_str (pk, "endpoints");
    msgpack_pack_map (pk, 4);
    fed_call_pack_kv (pk, "peer", config->listen.peer);
    fed_call_pack_kv (pk, "control", fed_control_endpoint (node->control));
    fed_call_pack_kv (pk, "advertise", config->listen.advertise);
    fed_call_pack_kv (pk, "agents", fed_tasks_agent_endpoint (node->tasks));
    fed_call_pack_kv (pk, "role", fed_role_name (call->role));
    return 0;
}

//  Replication and membership counters (node/repl.h, node/swim.h).
static void
s_replication_metrics (fed_metrics_t *metrics, fed_repl_t *repl, fed_swim_t *swim)
{
    fed_repl_stats_t r;
    fed_repl_stats (repl, &r);
    const struct {
        const char *labels;
        uint64_t value;
    } messages [] = {
        {"kind=\"digest\",direction=\"sent\"", r.digests_sent},
        {"kind=\"digest\",direction=\"received\"", r.digests_received},
        {"kind=\"want\",direction=\"sent\"", r.wants_sent},
        {"kind=\"want\",direction=\"received\"", r.wants_received},
        {"kind=\"want\",direction=\"suppressed\"", r.wants_suppressed},
        {"kind=\"push\",direction=\"sent\"", r.pushed},
        {"kind=\"forward\",direction=\"sent\"", r.forwarded},
    };
    for (size_t i = 0; i < sizeof messages / sizeof messages [0]; i++)
        fed_metrics_set (metrics, "fednode_replication_messages_total", messages [i].labels,
                         (double) messages [i].value);
    fed_metrics_set (metrics, "fednode_replication_events_total", "what=\"sent\"",
                     (double) r.events_sent);
    fed_metrics_set (metrics, "fednode_replication_events_total", "what=\"received\"",
                     (double) r.events_received);
    fed_metrics_set (metrics, "fednode_replication_events_total", "what=\"stored\"",
                     (double) r.events_stored);
    fed_metrics_set (metrics, "fednode_replication_store_failures_total", "",
                     (double) r.store_failures);
    fed_swim_stats_t m;
    fed_swim_stats (swim, &m);
    const struct {
        const char *labels;
        uint64_t value;
    } events [] = {
        {"event=\"probe\"", m.probes},        {"event=\"indirect_probe\"", m.indirect},
        {"event=\"suspected\"", m.suspected}, {"event=\"declared_dead\"", m.declared_dead},
        {"event=\"refuted\"", m.refuted},     {"event=\"reconnect\"", m.reconnects},
        {"event=\"stall\"", m.stalls},
    };
    for (size_t i = 0; i < sizeof events / sizeof events [0]; i++)
        fed_metrics_set (metrics, "fednode_membership_total", events [i].labels,
                         (double) events [i].value);
}

//  The worker pool of built-in agents (agents/pool.h), the external agents
//  and the workflow executor.
static void
s_agent_metrics (fed_metrics_t *metrics, fed_tasks_t *tasks, fed_executor_t *executor)
{
    fed_pool_stats_t p;
    fed_tasks_stats (tasks, &p);
    fed_metrics_set (metrics, "fednode_agent_tasks_total", "result=\"completed\"",
                     (double) p.completed);
    fed_metrics_set (metrics, "fednode_agent_tasks_total", "result=\"failed\"",
                     (double) (p.failed - p.timed_out - p.cancelled));
    fed_metrics_set (metrics, "fednode_agent_tasks_total", "result=\"timeout\"",
                     (double) p.timed_out);
    fed_metrics_set (metrics, "fednode_agent_tasks_total", "result=\"cancelled\"",
                     (double) p.cancelled);
    fed_metrics_set (metrics, "fednode_agent_workers", "state=\"idle\"",
                     (double) (p.workers - p.busy));
    fed_metrics_set (metrics, "fednode_agent_workers", "state=\"busy\"", (double) p.busy);
    fed_metrics_set (metrics, "fednode_agent_workers", "state=\"lost\"", (double) p.lost);
    fed_metrics_set (metrics, "fednode_agent_tasks_queued", "", (double) p.queued);
    fed_extagents_stats_t x;
    fed_tasks_external_stats (tasks, &x);
    fed_metrics_set (metrics, "fednode_external_processes", "", (double) x.processes);
    fed_metrics_set (metrics, "fednode_external_processes_lost_total", "why=\"gone\"",
                     (double) x.gone);
    fed_metrics_set (metrics, "fednode_external_processes_lost_total", "why=\"bye\"",
                     (double) x.byes);
    fed_metrics_set (metrics, "fednode_external_tasks_total", "result=\"completed\"",
                     (double) x.completed);
    fed_metrics_set (metrics, "fednode_external_tasks_total", "result=\"failed\"",
                     (double) (x.failed - x.timed_out));
    fed_metrics_set (metrics, "fednode_external_tasks_total", "result=\"timeout\"",
                     (double) x.timed_out);
    fed_metrics_set (metrics, "fednode_external_tasks", "state=\"running\"", (double) x.running);
    fed_metrics_set (metrics, "fednode_external_tasks", "state=\"queued\"", (double) x.queued);
    fed_metrics_set (metrics, "fednode_external_failovers_total", "", (double) x.failovers);
    static const char *reasons [5] = {NULL, "version", "type", "limit", "malformed"};
    for (int i = 1; i < 5; i++) {
        char labels [40];
        snprintf (labels, sizeof labels, "reason=\"%s\"", reasons [i]);
        fed_metrics_set (metrics, "fednode_agent_messages_dropped_total", labels,
                         (double) x.dropped [i]);
    }
    fed_metrics_set (metrics, "fednode_agent_messages_dropped_total", "reason=\"refused\"",
                     (double) x.refused);
    fed_executor_stats_t e;
    fed_executor_stats (executor, &e);
    fed_metrics_set (metrics, "fednode_runs_total", "event=\"started\"", (double) e.runs_started);
    fed_metrics_set (metrics, "fednode_runs_total", "event=\"ended\"", (double) e.runs_ended);
    fed_metrics_set (metrics, "fednode_runs_coordinating", "", (double) e.coordinating);
    fed_metrics_set (metrics, "fednode_steps_assigned_total", "why=\"placed\"",
                     (double) (e.steps_assigned - e.reassigned));
    fed_metrics_set (metrics, "fednode_steps_assigned_total", "why=\"reassigned\"",
                     (double) e.reassigned);
    fed_metrics_set (metrics, "fednode_steps_run_total", "", (double) e.tasks_started);
    fed_metrics_set (metrics, "fednode_steps_running", "", (double) e.tasks_running);
}

static int
s_metrics (fed_call_t *call)
{
    if (s_no_unknown_args (call))
        return -1;
    fed_node_t *node = call->node;
    fed_metrics_t *metrics = node->metrics;
    fed_evlog_stats_t stats;
    fed_evlog_stats (node->log, &stats);
    fed_metrics_set (metrics, "fednode_events_appended_total", "", (double) stats.appended);
    for (int s = 0; s < FED_EVENT_REASONS; s++) {
        char labels [64];
        snprintf (labels, sizeof labels, "result=\"%s\"",
                  fed_event_status_name ((fed_event_status_t) s));
        fed_metrics_set (metrics, "fednode_events_received_total", labels,
                         (double) stats.received [s]);
    }
    fed_metrics_set (metrics, "fednode_events", "", (double) fed_evlog_count (node->log));
    fed_metrics_set (metrics, "fednode_events_pending", "", (double) fed_evlog_pending (node->log));
    fed_metrics_set (metrics, "fednode_forks_total", "", (double) stats.forks);
    uint64_t admitted = 0, refused = 0;
    fed_zap_counts (node->zap, &admitted, &refused);
    fed_metrics_set (metrics, "fednode_handshakes_total", "result=\"admitted\"", (double) admitted);
    fed_metrics_set (metrics, "fednode_handshakes_total", "result=\"refused\"", (double) refused);
    fed_swim_t *swim = fed_peer_swim (node->peer);
    static const fed_wire_state_t states [] = {FED_WIRE_ALIVE, FED_WIRE_SUSPECT, FED_WIRE_DEAD,
                                               FED_WIRE_LEFT};
    for (size_t i = 0; i < 4; i++) {
        char labels [32];
        snprintf (labels, sizeof labels, "state=\"%s\"", fed_wire_state_name (states [i]));
        fed_metrics_set (metrics, "fednode_peers", labels,
                         (double) fed_swim_count (swim, states [i]));
    }
    fed_peer_stats_t peer_stats;
    fed_peer_stats (node->peer, &peer_stats);
    for (int r = 1; r < FED_WIRE_DROPS; r++) {
        char labels [32];
        snprintf (labels, sizeof labels, "reason=\"%s\"", fed_wire_drop_name ((fed_wire_drop_t) r));
        fed_metrics_set (metrics, "fednode_peer_frames_dropped_total", labels,
                         (double) peer_stats.dropped [r]);
    }
    fed_metrics_set (metrics, "fednode_peer_frames_dropped_total", "reason=\"untrusted\"",
                     (double) peer_stats.untrusted);
    fed_metrics_set (metrics, "fednode_peer_frames_dropped_total", "reason=\"forbidden\"",
                     (double) peer_stats.forbidden);
    fed_metrics_set (metrics, "fednode_peer_frames_received_total", "",
                     (double) peer_stats.received);
    fed_metrics_set (metrics, "fednode_peer_frames_sent_total", "", (double) peer_stats.sent);
    fed_metrics_set (metrics, "fednode_peer_send_dropped_total", "",
                     (double) peer_stats.send_dropped);
    s_replication_metrics (metrics, fed_peer_repl (node->peer), swim);
    s_agent_metrics (metrics, node->tasks, node->executor);
    fed_metrics_set (metrics, "fednode_joins_total", "result=\"admitted\"",
                     (double) peer_stats.admitted);
    fed_metrics_set (metrics, "fednode_joins_total", "result=\"refused\"",
                     (double) peer_stats.refused_tokens);
    fed_metrics_set (metrics, "fednode_uptime_seconds", "",
                     (double) (fed_wall_ms () - node->started_ms) / 1000.0);
    char *text = fed_metrics_render (metrics);
    fed_call_pack_str (call->pk, text);
    free (text);
    return 0;
}

//  --- events ------------------------------------------------------------------

typedef struct {
    fed_call_t *call;
    const char *type; //  filter, or NULL
    uint32_t type_size;
    const uint8_t *origin; //  filter, or NULL
    size_t limit;
    size_t count;
    size_t skip;   //  matches to pass over before packing (newest-last tails)
    bool counting; //  a first pass that only counts matches
    msgpack_sbuffer items;
    msgpack_packer pk;
} tail_t;

static int
s_tail_event (void *arg, const fed_event_t *event)
{
    tail_t *self = (tail_t *) arg;
    if (self->type
        && (strlen (fed_event_type (event)) != self->type_size
            || memcmp (fed_event_type (event), self->type, self->type_size) != 0))
        return 0;
    if (self->origin && memcmp (fed_event_origin (event), self->origin, 32) != 0)
        return 0;
    if (self->counting) {
        self->count++;
        return 0;
    }
    if (self->skip > 0) {
        self->skip--;
        return 0;
    }
    fed_call_pack_event (&self->pk, event);
    return ++self->count >= self->limit ? 1 : 0;
}

static int
s_events_tail (fed_call_t *call)
{
    tail_t tail = {call, NULL, 0, NULL, 100, 0, 0, false, {0}, {0}};
    const char *after_text;
    uint32_t after_size, origin_size;
    uint64_t limit = 100, wait_ms = 0;
    int has_after =
        fed_ctl_arg_str (call->request, "after", 20, &after_text, &after_size, &call->err);
    ARG (call, has_after);
    ARG (call, fed_ctl_arg_uint (call->request, "limit", TAIL_LIMIT_MAX, &limit, &call->err));
    ARG (call,
         fed_ctl_arg_str (call->request, "type", FED_TYPE_MAX, &tail.type, &tail.type_size,
                          &call->err));
    ARG (call,
         fed_ctl_arg_bin (call->request, "origin", 32, 32, &tail.origin, &origin_size, &call->err));
    ARG (call, fed_ctl_arg_uint (call->request, "wait_ms", TAIL_WAIT_MAX, &wait_ms, &call->err));
    if (s_no_unknown_args (call))
        return -1;
    if (limit == 0)
        limit = 1;
    tail.limit = (size_t) limit;
    fed_evlog_t *log = call->node->log;
    uint64_t after;
    if (call->resuming)
        after = call->resume_after; //  a parked poll: only what arrived since
    else if (has_after == 0) {
        char text [21];
        snprintf (text, sizeof text, "%.*s", (int) after_size, after_text);
        char *end;
        after = strtoull (text, &end, 10);
        if (!*text || *end)
            return fed_call_fail (call, "bad_request",
                                  "argument 'after' must be a cursor returned by events.tail");
    } else {
        //  No cursor: the recent events, the last `limit` of them, or with a
        //  filter the matches among the last TAIL_SCAN_MAX.
        uint64_t arrivals = fed_evlog_arrivals (log);
        uint64_t window = (tail.type || tail.origin) ? TAIL_SCAN_MAX : limit;
        after = arrivals > window ? arrivals - window : 0;
        if (tail.type || tail.origin) {
            //  The newest `limit` matches: count them first, then skip the
            //  older ones.
            uint64_t last;
            tail.counting = true;
            tail.limit = SIZE_MAX;
            if (fed_evlog_feed (log, after, TAIL_SCAN_MAX, s_tail_event, &tail, &last, &call->err)
                < 0)
                return fed_call_fail (call, "internal", "%s", call->err.text);
            tail.skip = tail.count > limit ? tail.count - (size_t) limit : 0;
            tail.count = 0;
            tail.counting = false;
            tail.limit = (size_t) limit;
        }
    }
    msgpack_sbuffer_init (&tail.items);
    msgpack_packer_init (&tail.pk, &tail.items, msgpack_sbuffer_write);
    uint64_t cursor = after;
    int rc = 0;
    bool at_end = false;
    //  Walk in chunks, and at most TAIL_SCAN_MAX events: the cursor returned
    //  says where to go on, so a filter that matches rarely still ends.
    while (rc == 0 && tail.count < tail.limit && cursor - after < TAIL_SCAN_MAX) {
        uint64_t last;
        rc = fed_evlog_feed (log, cursor, 1000, s_tail_event, &tail, &last, &call->err);
        if (rc < 0)
            break;
        if (last == cursor) {
            at_end = true; //  nothing more
            break;
        }
        cursor = last;
    }
    if (rc < 0) {
        msgpack_sbuffer_destroy (&tail.items);
        return fed_call_fail (call, "internal", "%s", call->err.text);
    }
    call->cursor = cursor;
    if (tail.count == 0 && wait_ms > 0 && at_end)
        call->wait_ms = (int64_t) wait_ms; //  park: nothing yet
    msgpack_pack_map (call->pk, 2);
    fed_call_pack_str (call->pk, "events");
    msgpack_pack_array (call->pk, (uint32_t) tail.count);
    fed_call_pack_raw (call->pk, tail.items.data, tail.items.size);
    fed_call_pack_str (call->pk, "cursor");
    char cursor_text [24];
    snprintf (cursor_text, sizeof cursor_text, "%llu", (unsigned long long) cursor);
    fed_call_pack_str (call->pk, cursor_text);
    msgpack_sbuffer_destroy (&tail.items);
    return 0;
}

static int
s_events_show (fed_call_t *call)
{
    const uint8_t *id;
    uint32_t size;
    int rc = fed_ctl_arg_bin (call->request, "id", 32, 32, &id, &size, &call->err);
    ARG (call, rc);
    if (rc == 1)
        return fed_call_fail (call, "bad_request", "send 'id': the event id, bin of 32 bytes");
    if (s_no_unknown_args (call))
        return -1;
    fed_event_t *event = fed_evlog_get_by_id (call->node->log, id);
    if (!event) {
        char hex [65];
        fed_hex_encode (hex, id, 32);
        return fed_call_fail (call, "not_found", "no event with id %s on this node", hex);
    }
    fed_call_pack_event (call->pk, event);
    fed_event_destroy (&event);
    return 0;
}

int
fed_call_append (fed_call_t *call, const char *type, const void *body, size_t size)
{
    uint64_t seq;
    uint8_t id [32];
    fed_err_t err;
    if (fed_node_append_local (call->node, type, body, size, &seq, id, &err))
        return fed_call_fail (call, "failed", "%s", err.text);
    msgpack_pack_map (call->pk, 2);
    fed_call_pack_str (call->pk, "id");
    msgpack_pack_bin_with_body (call->pk, id, 32);
    fed_call_pack_str (call->pk, "seq");
    msgpack_pack_uint64 (call->pk, seq);
    return 0;
}

static int
s_events_publish (fed_call_t *call)
{
    const char *type;
    uint32_t type_size;
    fed_blob_t body = {(const uint8_t *) "\x80", 1};
    int rc = fed_ctl_arg_str (call->request, "type", FED_TYPE_MAX, &type, &type_size, &call->err);
    ARG (call, rc);
    if (rc == 1)
        return fed_call_fail (call, "bad_request", "send 'type', like \"user.deploy\"");
    ARG (call, fed_ctl_arg_map (call->request, "body", &body, &call->err));
    if (s_no_unknown_args (call))
        return -1;
    char name [FED_TYPE_MAX + 1];
    snprintf (name, sizeof name, "%.*s", (int) type_size, type);
    if (strncmp (name, "user.", 5) != 0 || !fed_event_type_valid (name, strlen (name)))
        return fed_call_fail (call, "bad_request",
                              "published events have types 'user.NAME' of [A-Za-z0-9._-], got "
                              "'%s'",
                              name);
    return fed_call_append (call, name, body.data, body.size);
}

//  --- trust -------------------------------------------------------------------

static int
s_trust_list (fed_call_t *call)
{
    if (s_no_unknown_args (call))
        return -1;
    const fed_trusted_t *entries;
    size_t count = fed_trust_entries (call->node->trust, &entries);
    msgpack_pack_array (call->pk, (uint32_t) count);
    for (size_t i = 0; i < count; i++) {
        msgpack_pack_map (call->pk, 4);
        fed_call_pack_str (call->pk, "key");
        msgpack_pack_bin_with_body (call->pk, entries [i].key, 32);
        fed_call_pack_kv (call->pk, "role", fed_role_name (entries [i].role));
        fed_call_pack_kv (call->pk, "name", entries [i].name);
        fed_call_pack_kv (call->pk, "source", fed_trust_source_name (entries [i].source));
    }
    return 0;
}

static int
s_trust_add (fed_call_t *call)
{
    const uint8_t *key;
    uint32_t key_size, role_size, name_size = 0;
    const char *role_text, *name = NULL;
    int rc = fed_ctl_arg_bin (call->request, "key", 32, 32, &key, &key_size, &call->err);
    ARG (call, rc);
    if (rc == 1)
        return fed_call_fail (call, "bad_request", "send 'key': an ed25519 public key, bin 32");
    rc = fed_ctl_arg_str (call->request, "role", 16, &role_text, &role_size, &call->err);
    ARG (call, rc);
    if (rc == 1)
        return fed_call_fail (call, "bad_request",
                              "send 'role': peer, admin, operator, approver, viewer or agent");
    ARG (call, fed_ctl_arg_str (call->request, "name", 64, &name, &name_size, &call->err));
    if (s_no_unknown_args (call))
        return -1;
    char role_name [17];
    snprintf (role_name, sizeof role_name, "%.*s", (int) role_size, role_text);
    fed_role_t role;
    if (fed_role_parse (role_name, &role))
        return fed_call_fail (call, "bad_request",
                              "role '%s' is unknown; roles: peer, admin, operator, approver, "
                              "viewer, agent",
                              role_name);
    uint8_t curve [32];
    if (fed_identity_curve_from_public (key, curve))
        return fed_call_fail (call, "bad_request", "'key' is not a valid ed25519 public key");
    const fed_trusted_t *entries;
    size_t count = fed_trust_entries (call->node->trust, &entries);
    for (size_t i = 0; i < count; i++)
        if (memcmp (entries [i].curve, curve, 32) == 0 && memcmp (entries [i].key, key, 32) != 0)
            return fed_call_fail (call, "bad_request",
                                  "this key has the same CURVE key as a trusted key (they differ "
                                  "only in the sign bit); use the trusted key itself");
    //  Its twin (the same CURVE key) may also have been trusted and removed:
    //  adding the twin would quietly re-admit the removed key's holder.
    fed_trust_record_t twin;
    if (fed_trust_view_record (call->node->log, key, true, &twin))
        return fed_call_fail (call, "internal", "reading the trust view failed");
    bool twin_known = twin != FED_TRUST_RECORD_NONE;
    if (twin_known)
        return fed_call_fail (call, "bad_request",
                              "this key has the same CURVE key as a key that is or was trusted "
                              "(they differ only in the sign bit); add that key itself if you "
                              "mean to trust its holder");
    msgpack_sbuffer body;
    msgpack_sbuffer_init (&body);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &body, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, name ? 3 : 2);
    fed_call_pack_str (&pk, "key");
    msgpack_pack_bin_with_body (&pk, key, 32);
    fed_call_pack_kv (&pk, "role", role_name);
    if (name) {
        fed_call_pack_str (&pk, "name");
        msgpack_pack_str_with_body (&pk, name, name_size);
    }
    rc = fed_call_append (call, "trust.added", body.data, body.size);
    msgpack_sbuffer_destroy (&body);
    return rc;
}

static int
s_trust_remove (fed_call_t *call)
{
    const uint8_t *key;
    uint32_t key_size;
    int rc = fed_ctl_arg_bin (call->request, "key", 32, 32, &key, &key_size, &call->err);
    ARG (call, rc);
    if (rc == 1)
        return fed_call_fail (call, "bad_request", "send 'key': an ed25519 public key, bin 32");
    if (s_no_unknown_args (call))
        return -1;
    if (!fed_trust_role (call->node->trust, key, NULL)) {
        char z85 [41];
        fed_z85_encode_key (z85, key);
        return fed_call_fail (call, "not_found", "key %s is not in the trusted set", z85);
    }
    msgpack_sbuffer body;
    msgpack_sbuffer_init (&body);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &body, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 1);
    fed_call_pack_str (&pk, "key");
    msgpack_pack_bin_with_body (&pk, key, 32);
    rc = fed_call_append (call, "trust.removed", body.data, body.size);
    msgpack_sbuffer_destroy (&body);
    return rc;
}

//  --- join tokens -------------------------------------------------------------

static int
s_token_create (fed_call_t *call)
{
    uint64_t ttl = 0, uses = 0;
    const char *name = NULL;
    uint32_t name_size = 0;
    int has_ttl =
        fed_ctl_arg_uint (call->request, "ttl_ms", (uint64_t) TOKEN_TTL_MAX, &ttl, &call->err);
    ARG (call, has_ttl);
    int has_uses = fed_ctl_arg_uint (call->request, "uses", 1000000, &uses, &call->err);
    ARG (call, has_uses);
    ARG (call, fed_ctl_arg_str (call->request, "name", 64, &name, &name_size, &call->err));
    if (s_no_unknown_args (call))
        return -1;
    if (has_uses == 0 && uses == 0)
        return fed_call_fail (call, "bad_request",
                              "'uses' must be 1 or more (or absent: "
                              "unlimited)");
    uint8_t id_bytes [4], secret [32];
    randombytes_buf (id_bytes, sizeof id_bytes);
    randombytes_buf (secret, sizeof secret);
    char id [9], secret_z85 [41];
    fed_hex_encode (id, id_bytes, sizeof id_bytes);
    fed_z85_encode_key (secret_z85, secret);
    sodium_memzero (secret, sizeof secret);
    char *token = fed_sprintf ("fedtok-%s-%s", id, secret_z85);
    sodium_memzero (secret_z85, sizeof secret_z85);
    uint8_t hash [32];
    crypto_generichash (hash, sizeof hash, (const unsigned char *) token, strlen (token), NULL, 0);
    int64_t expires = has_ttl == 0 ? fed_wall_ms () + (int64_t) ttl : 0;

    msgpack_sbuffer body;
    msgpack_sbuffer_init (&body);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &body, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 5);
    fed_call_pack_kv (&pk, "id", id);
    fed_call_pack_str (&pk, "hash");
    msgpack_pack_bin_with_body (&pk, hash, 32);
    fed_call_pack_str (&pk, "name");
    if (name)
        msgpack_pack_str_with_body (&pk, name, name_size);
    else
        msgpack_pack_nil (&pk);
    fed_call_pack_str (&pk, "expires");
    if (expires)
        msgpack_pack_int64 (&pk, expires);
    else
        msgpack_pack_nil (&pk);
    fed_call_pack_str (&pk, "uses");
    if (has_uses == 0)
        msgpack_pack_uint64 (&pk, uses);
    else
        msgpack_pack_nil (&pk);
    uint64_t seq;
    uint8_t event_id [32];
    fed_err_t err;
    int rc = fed_node_append_local (call->node, "token.created", body.data, body.size, &seq,
                                    event_id, &err);
    msgpack_sbuffer_destroy (&body);
    if (rc == 0) {
        msgpack_pack_map (call->pk, 3);
        fed_call_pack_kv (call->pk, "token", token);
        fed_call_pack_kv (call->pk, "id", id);
        fed_call_pack_str (call->pk, "expires");
        if (expires)
            msgpack_pack_int64 (call->pk, expires);
        else
            msgpack_pack_nil (call->pk);
    }
    sodium_memzero (token, strlen (token));
    free (token);
    return rc ? fed_call_fail (call, "failed", "%s", err.text) : 0;
}

typedef struct {
    fed_call_t *call;
    size_t count;
    msgpack_sbuffer items;
    msgpack_packer pk;
} tokens_t;

static int
s_token_item (void *arg, const uint8_t *key, size_t key_size, const uint8_t *value,
              size_t value_size)
{
    tokens_t *self = (tokens_t *) arg;
    //  "tokens/c/ID"
    if (key_size < 10 || key_size > 9 + 16)
        return 0;
    size_t body_size;
    const uint8_t *body = fed_view_lww_value (value, value_size, &body_size);
    if (!body)
        return 0;
    char revoked_key [32];
    int revoked_size =
        snprintf (revoked_key, sizeof revoked_key, "tokens/r/%.*s", (int) (key_size - 9), key + 9);
    uint8_t *revoked = NULL;
    size_t size;
    if (fed_evlog_view_get (self->call->node->log, revoked_key, (size_t) revoked_size, &revoked,
                            &size))
        return -1;
    msgpack_pack_map (&self->pk, 5);
    static const char *const fields [] = {"id", "name", "expires", "uses"};
    s_pack_members (&self->pk, body, body_size, fields, 4);
    fed_call_pack_str (&self->pk, "revoked");
    if (revoked)
        msgpack_pack_true (&self->pk);
    else
        msgpack_pack_false (&self->pk);
    free (revoked);
    self->count++;
    return 0;
}

static int
s_token_list (fed_call_t *call)
{
    if (s_no_unknown_args (call))
        return -1;
    tokens_t tokens = {call, 0, {0}, {0}};
    msgpack_sbuffer_init (&tokens.items);
    msgpack_packer_init (&tokens.pk, &tokens.items, msgpack_sbuffer_write);
    int rc = fed_evlog_view_scan (call->node->log, "tokens/c/", s_token_item, &tokens);
    if (rc == 0) {
        msgpack_pack_array (call->pk, (uint32_t) tokens.count);
        fed_call_pack_raw (call->pk, tokens.items.data, tokens.items.size);
    }
    msgpack_sbuffer_destroy (&tokens.items);
    return rc ? fed_call_fail (call, "internal", "reading the tokens view failed") : 0;
}

static int
s_token_revoke (fed_call_t *call)
{
    const char *id;
    uint32_t id_size;
    int rc = fed_ctl_arg_str (call->request, "id", 16, &id, &id_size, &call->err);
    ARG (call, rc);
    if (rc == 1)
        return fed_call_fail (call, "bad_request", "send 'id': the token id from token.list");
    if (s_no_unknown_args (call))
        return -1;
    char key [32];
    int key_size = snprintf (key, sizeof key, "tokens/c/%.*s", (int) id_size, id);
    uint8_t *held = NULL;
    size_t size;
    if (fed_evlog_view_get (call->node->log, key, (size_t) key_size, &held, &size))
        return fed_call_fail (call, "internal", "reading the tokens view failed");
    bool exists = held != NULL;
    free (held);
    if (!exists)
        return fed_call_fail (call, "not_found", "no token with id '%.*s'", (int) id_size, id);
    msgpack_sbuffer body;
    msgpack_sbuffer_init (&body);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &body, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 1);
    fed_call_pack_str (&pk, "id");
    msgpack_pack_str_with_body (&pk, id, id_size);
    rc = fed_call_append (call, "token.revoked", body.data, body.size);
    msgpack_sbuffer_destroy (&body);
    return rc;
}

const fed_command_t fed_commands [] = {
    {"status", V | A | O, false, s_status},
    {"members", V | A | O, false, fed_cmd_members},
    {"sync.status", V | A | O, false, fed_cmd_sync_status},
    {"metrics", V | A | O, false, s_metrics},
    {"events.tail", V | A | O, false, s_events_tail},
    {"events.show", V | A | O, false, s_events_show},
    {"events.publish", O, true, s_events_publish},
    {"trust.list", V | A | O, false, s_trust_list},
    {"trust.add", ADMIN_ONLY, true, s_trust_add},
    {"trust.remove", ADMIN_ONLY, true, s_trust_remove},
    {"token.create", ADMIN_ONLY, true, s_token_create},
    {"token.list", O, false, s_token_list},
    {"token.revoke", ADMIN_ONLY, true, s_token_revoke},
    {"agents.list", V | A | O, false, fed_cmd_agents_list},
    {"agents.near", V | A | O, false, fed_cmd_agents_near},
    {"agents.register-edge", O, true, fed_cmd_agents_register_edge},
    {"agents.deregister-edge", O, true, fed_cmd_agents_deregister_edge},
    {"agents.run", O, true, fed_cmd_agents_run},
    {"agents.processes", V | A | O, false, fed_cmd_agents_processes},
    {"workflow.publish", O, true, fed_cmd_workflow_publish},
    {"workflow.list", V | A | O, false, fed_cmd_workflow_list},
    {"workflow.show", V | A | O, false, fed_cmd_workflow_show},
    {"run.start", O, true, fed_cmd_run_start},
    {"run.list", V | A | O, false, fed_cmd_run_list},
    {"run.show", V | A | O, false, fed_cmd_run_show},
    {"run.wait", V | A | O, false, fed_cmd_run_wait},
    {"run.cancel", O, true, fed_cmd_run_cancel},
    {"approvals", V | A | O, false, fed_cmd_approvals},
    //  Any role may ask; the step's approvers decide who may vote.
    {"approve", V | A | O, true, fed_cmd_approve},
    {"reject", V | A | O, true, fed_cmd_reject},
};
const size_t fed_command_count = sizeof fed_commands / sizeof fed_commands [0];
