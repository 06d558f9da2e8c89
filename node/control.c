/*  node/control.c: the control server's socket, envelopes, dispatch and
    checks. The commands themselves are in control_cmds.c.

    Order of checks for each message: envelope (REQ's [id, "", request] or
    a delimiter-less [id, request]), size (ZMQ_MAXMSGSIZE already cut
    oversized frames), caller key (ZAP's User-Id) and its role now, decode,
    command known, role allowed, replay protection (rid/exp) for commands
    that change state, then the command. Each refusal is a reply with a
    code; nothing a client sends can stop the server.
*/
#include "control_internal.h"
#include "coreviews.h"
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define PARK_TICK_MS 100
#define REQUEST_WINDOW_MS 300000 //  exp at most this far ahead
#define PURGE_EVERY_MS 60000
#define PARK_PER_KEY 4 //  long polls one key may hold at once
#define PARK_MAX 256   //  and all keys together

//  A request held for a long poll.
typedef struct {
    zmsg_t *envelope;          //  routing frames to answer with, owned
    zframe_t *frame;           //  the request frame (the request borrows it), owned
    fed_ctl_request_t request; //  decoded
    uint8_t caller [32];
    int64_t deadline; //  monotonic ms
    uint64_t cursor;  //  how far its walk got: a re-run scans only what is new
} parked_t;

struct fed_control_t {
    fed_node_t *node;        //  not owned
    zloop_t *loop;           //  not owned
    zsock_t *router;         //  owned
    char *endpoint;          //  as bound, owned
    int tick_timer;          //  zloop timer id while armed (work to do), else 0
    int purge_timer;         //  zloop timer id of the request-id purge
    zlist_t *parked;         //  parked_t *, owned
    fed_ratelimit_t bad_log; //  rate limit for bad-request logs
    bool recheck_pending;    //  a re-run of parked requests is scheduled
};

static void s_arm_tick (fed_control_t *self);

int
fed_call_fail (fed_call_t *call, const char *code, const char *format, ...)
{
    call->code = code;
    //  Callers pass call->err.text itself as an argument (a getter's
    //  message): format apart, since vsnprintf's output may not overlap
    //  its arguments (glibc empties the buffer first).
    char text [sizeof call->err.text];
    va_list args;
    va_start (args, format);
    vsnprintf (text, sizeof text, format, args);
    va_end (args);
    memcpy (call->err.text, text, sizeof text);
    return -1;
}

void
fed_call_pack_raw (msgpack_packer *pk, const void *data, size_t size)
{
    msgpack_sbuffer_write (pk->data, (const char *) data, size);
}

void
fed_call_pack_event (msgpack_packer *pk, const fed_event_t *event)
{
    msgpack_pack_map (pk, 7);
    msgpack_pack_str_with_body (pk, "id", 2);
    msgpack_pack_bin_with_body (pk, fed_event_id (event), 32);
    msgpack_pack_str_with_body (pk, "origin", 6);
    msgpack_pack_bin_with_body (pk, fed_event_origin (event), 32);
    msgpack_pack_str_with_body (pk, "seq", 3);
    msgpack_pack_uint64 (pk, fed_event_seq (event));
    msgpack_pack_str_with_body (pk, "prev", 4);
    msgpack_pack_bin_with_body (pk, fed_event_prev (event), 32);
    msgpack_pack_str_with_body (pk, "hlc", 3);
    msgpack_pack_uint64 (pk, fed_event_hlc (event));
    msgpack_pack_str_with_body (pk, "type", 4);
    msgpack_pack_str_with_body (pk, fed_event_type (event), strlen (fed_event_type (event)));
    msgpack_pack_str_with_body (pk, "body", 4);
    fed_call_pack_raw (pk, fed_event_body (event), fed_event_body_size (event));
}

static void
s_count (fed_control_t *self, const char *command, const char *result)
{
    char labels [160];
    snprintf (labels, sizeof labels, "command=\"%s\",result=\"%s\"", command, result);
    fed_metrics_add (self->node->metrics, "fednode_control_requests_total", labels, 1);
}

//  Sends reply (consumed) under envelope (copied).
static void
s_send (fed_control_t *self, zmsg_t *envelope, msgpack_sbuffer *reply)
{
    zmsg_t *msg = zmsg_dup (envelope);
    zmsg_addmem (msg, reply->data, reply->size);
    //  Never block the loop: a client that stopped reading loses its reply.
    zsock_set_sndtimeo (self->router, 0);
    if (zmsg_send (&msg, self->router))
        zmsg_destroy (&msg);
    fed_metrics_add (self->node->metrics, "fednode_messages_total", "direction=\"out\"", 1);
}

//  Sends a failure reply; errors (size bytes of a packed array, or NULL)
//  lists every problem when the command gave them.
static void
s_send_error_list (fed_control_t *self, zmsg_t *envelope, const char *command, const char *code,
                   const char *message, const uint8_t *errors, size_t size)
{
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    fed_ctl_reply_error_list (&pk, code, message, errors, size);
    s_send (self, envelope, &buffer);
    msgpack_sbuffer_destroy (&buffer);
    s_count (self, command, code);
}

static void
s_send_error (fed_control_t *self, zmsg_t *envelope, const char *command, const char *code,
              const char *message)
{
    s_send_error_list (self, envelope, command, code, message, NULL, 0);
}

static const fed_command_t *
s_find_command (const char *name)
{
    for (size_t i = 0; i < fed_command_count; i++)
        if (streq (fed_commands [i].name, name))
            return &fed_commands [i];
    return NULL;
}

//  Checks rid and exp of a state-changing request; 0 or -1 with the call failed.
static int
s_check_replay (fed_control_t *self, fed_call_t *call)
{
    const uint8_t *rid;
    uint32_t rid_size;
    uint64_t exp;
    int rc = fed_ctl_arg_bin (call->request, "rid", 16, 16, &rid, &rid_size, &call->err);
    if (rc)
        return fed_call_fail (call, "bad_request", "%s",
                              rc < 0 ? call->err.text
                                     : "this command changes state: send 'rid' (16 random "
                                       "bytes) and 'exp' (expiry, ms since the epoch)");
    rc = fed_ctl_arg_uint (call->request, "exp", UINT64_MAX, &exp, &call->err);
    if (rc)
        return fed_call_fail (call, "bad_request", "%s",
                              rc < 0 ? call->err.text
                                     : "this command changes state: send 'exp' (expiry, ms "
                                       "since the epoch, at most 300 s ahead)");
    int64_t now = fed_wall_ms ();
    if ((int64_t) exp <= now || (int64_t) exp > now + REQUEST_WINDOW_MS)
        return fed_call_fail (call, "expired",
                              "request expiry %llu is %s (node clock %lld); send an 'exp' "
                              "in the next 300 s",
                              (unsigned long long) exp,
                              (int64_t) exp <= now ? "in the past" : "too far ahead",
                              (long long) now);
    rc = fed_evlog_claim_request (self->node->log, rid, rid_size, (int64_t) exp);
    if (rc == 1)
        return fed_call_fail (call, "replayed",
                              "this request id was already used; send a fresh random 'rid'");
    if (rc < 0)
        return fed_call_fail (call, "internal", "recording the request id failed");
    return 0;
}

//  Runs one decoded request. Returns 1 if it was parked (ownership of
//  envelope and frame passed to the parked entry), else 0.
static int
s_run (fed_control_t *self, zmsg_t **envelope_p, zframe_t **frame_p, fed_ctl_request_t *request,
       const uint8_t caller [32], parked_t *held)
{
    bool from_park = held != NULL;
    fed_node_t *node = self->node;
    const fed_command_t *command = s_find_command (request->command);
    if (!command) {
        char names [1024] = "";
        for (size_t i = 0; i < fed_command_count; i++)
            snprintf (names + strlen (names), sizeof names - strlen (names), "%s%s", i ? ", " : "",
                      fed_commands [i].name);
        char message [1200];
        snprintf (message, sizeof message, "unknown command '%.64s'; commands: %s",
                  request->command, names);
        s_send_error (self, *envelope_p, "unknown", "unknown_command", message);
        return 0;
    }
    fed_call_t call = {.node = node, .request = request, .role = FED_ROLE_VIEWER};
    memcpy (call.caller, caller, 32);
    if (held) {
        call.resuming = true;
        call.resume_after = held->cursor;
        call.expired = held->deadline == 0;
    }
    if (!fed_trust_role (node->trust, caller, &call.role) || call.role == FED_ROLE_PEER
        || call.role == FED_ROLE_AGENT) {
        s_send_error (self, *envelope_p, command->name, "forbidden",
                      "this key is not trusted for control commands (any more)");
        return 0;
    }
    if (call.role != FED_ROLE_ADMIN && !(command->roles & (1u << call.role))) {
        char message [200];
        snprintf (message, sizeof message, "role '%s' may not run '%s'", fed_role_name (call.role),
                  command->name);
        s_send_error (self, *envelope_p, command->name, "forbidden", message);
        return 0;
    }
    if (command->changes_state && !from_park && s_check_replay (self, &call)) {
        s_send_error (self, *envelope_p, command->name, call.code, call.err.text);
        return 0;
    }
    if (from_park) {
        //  The arguments were checked on arrival; the getters mark them again.
        for (size_t i = 0; i < request->arg_count; i++)
            request->args [i].used = false;
    }
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    fed_ctl_reply_ok (&pk);
    call.pk = &pk;
    //  Whether one more request of this caller may park, known before the
    //  command runs, so that one with a side effect (agents.run starts a
    //  task) can refuse before acting rather than act and then be refused.
    size_t mine = 0;
    if (!from_park) {
        for (parked_t *entry = (parked_t *) zlist_first (self->parked); entry;
             entry = (parked_t *) zlist_next (self->parked))
            mine += memcmp (entry->caller, caller, 32) == 0;
        call.park_full = mine >= PARK_PER_KEY || zlist_size (self->parked) >= PARK_MAX;
    }
    int rc = command->run (&call);
    int parked = 0;
    if (rc == 0 && call.wait_ms > 0 && !from_park) {
        if (call.park_full) {
            char message [200];
            snprintf (message, sizeof message,
                      "too many long polls waiting (%d per key, %d in all); wait for one to "
                      "end, or ask without 'wait_ms'",
                      PARK_PER_KEY, PARK_MAX);
            s_send_error (self, *envelope_p, command->name, "failed", message);
            rc = 1;
        }
    }
    if (rc == 0 && call.wait_ms > 0 && !from_park) {
        //  Nothing to say yet: hold the request.
        parked_t *entry = (parked_t *) fed_calloc (1, sizeof (parked_t));
        entry->envelope = *envelope_p;
        entry->frame = *frame_p;
        entry->request = *request;
        memcpy (entry->caller, caller, 32);
        entry->deadline = fed_mono_ms () + call.wait_ms;
        entry->cursor = call.cursor;
        *envelope_p = NULL;
        *frame_p = NULL;
        zlist_append (self->parked, entry);
        s_arm_tick (self);
        parked = 1;
    } else if (rc == 0 && call.wait_ms > 0 && from_park && fed_mono_ms () < held->deadline) {
        held->cursor = call.cursor;
        parked = 1; //  still nothing: stay parked
    } else if (rc == 0) {
        s_send (self, *envelope_p, &buffer);
        s_count (self, command->name, "ok");
    } else if (rc < 0)
        s_send_error_list (self, *envelope_p, command->name, call.code ? call.code : "internal",
                           call.err.text, call.errors, call.errors_size);
    free (call.errors);
    msgpack_sbuffer_destroy (&buffer);
    return parked;
}

//  One request from the router.
static void
s_on_one_request (fed_control_t *self, zsock_t *router)
{
    zmsg_t *msg = zmsg_recv (router);
    if (!msg)
        return;
    fed_metrics_add (self->node->metrics, "fednode_messages_total", "direction=\"in\"", 1);
    //  Envelope: [routing id, "", request] from REQ, or [routing id, request].
    zmsg_t *envelope = zmsg_new ();
    zframe_t *routing = zmsg_pop (msg);
    zmsg_append (envelope, &routing);
    zframe_t *frame = zmsg_pop (msg);
    if (frame && zframe_size (frame) == 0 && zmsg_size (msg) > 0) {
        zmsg_append (envelope, &frame);
        frame = zmsg_pop (msg);
    }
    if (!frame || zmsg_size (msg) != 0) {
        s_send_error (self, envelope, "invalid", "bad_request",
                      "a request is one frame (after REQ's empty delimiter)");
        goto done;
    }
    //  The key ZAP admitted: the hex ed25519 key it reported as User-Id.
    const char *user_id = zframe_meta (frame, "User-Id");
    uint8_t caller [32];
    if (!user_id || fed_hex_decode (caller, 32, user_id)) {
        s_send_error (self, envelope, "invalid", "forbidden", "the connection has no user id");
        goto done;
    }
    fed_ctl_request_t request;
    const char *code;
    fed_err_t err;
    if (fed_ctl_request_decode (zframe_data (frame), zframe_size (frame), &request, &code, &err)) {
        uint64_t suppressed;
        if (fed_ratelimit_allow (&self->bad_log, 60000, &suppressed))
            fed_warn ("control: bad request from %.16s…: %s (%llu more suppressed)", user_id,
                      err.text, (unsigned long long) suppressed);
        s_send_error (self, envelope, "invalid", code, err.text);
        goto done;
    }
    s_run (self, &envelope, &frame, &request, caller, NULL);
done:
    zmsg_destroy (&envelope);
    zframe_destroy (&frame);
    zmsg_destroy (&msg);
}

//  Reads up to DRAIN_MAX requests a wake-up, as the other sockets of the
//  loop do: one poll per request costs more than the request itself.
static int
s_on_request (zloop_t *loop, zsock_t *router, void *arg)
{
    (void) loop;
    fed_control_t *self = (fed_control_t *) arg;
    for (int n = 0; n < 256 && self->router == router && (zsock_events (router) & ZMQ_POLLIN); n++)
        s_on_one_request (self, router);
    return 0;
}

//  Re-runs parked requests: answered ones leave the list; expired ones get
//  their (empty) answer.
static void
s_recheck_parked (fed_control_t *self, bool timeout_only)
{
    int64_t now = fed_mono_ms ();
    parked_t *entry = (parked_t *) zlist_first (self->parked);
    while (entry) {
        parked_t *next = (parked_t *) zlist_next (self->parked);
        bool expired = now >= entry->deadline;
        if (expired || !timeout_only) {
            if (expired)
                entry->deadline = 0; //  answer now, events or not
            int still = s_run (self, &entry->envelope, &entry->frame, &entry->request,
                               entry->caller, entry);
            if (!still) {
                zlist_remove (self->parked, entry);
                zmsg_destroy (&entry->envelope);
                zframe_destroy (&entry->frame);
                free (entry);
            }
        }
        entry = next;
    }
}

//  The tick runs only while there is work: parked long polls to time out,
//  or ids still to index. An idle node then wakes for nothing (an edge
//  device on battery sleeps).
static int
s_on_tick (zloop_t *loop, int timer_id, void *arg)
{
    fed_control_t *self = (fed_control_t *) arg;
    s_recheck_parked (self, true);
    //  Keep the id index (events.show) close behind the log.
    size_t indexed = fed_evlog_index_ids (self->node->log, 5000);
    if (indexed == 0 && zlist_size (self->parked) == 0) {
        zloop_timer_end (loop, timer_id);
        self->tick_timer = 0;
    }
    return 0;
}

static void
s_arm_tick (fed_control_t *self)
{
    if (!self->tick_timer)
        self->tick_timer = zloop_timer (self->loop, PARK_TICK_MS, 0, s_on_tick, self);
}

static int
s_on_purge (zloop_t *loop, int timer_id, void *arg)
{
    fed_control_t *self = (fed_control_t *) arg;
    fed_evlog_purge_requests (self->node->log, fed_wall_ms ());
    return 0;
}

//  One-shot timer: re-runs parked requests after the append that scheduled
//  it has returned, so an append never waits on them. It is due at once
//  (delay 0: zloop runs it on its next turn); a 1 ms delay made every
//  agents.run and every woken long poll wait a millisecond or more.
static int
s_on_recheck (zloop_t *loop, int timer_id, void *arg)
{
    fed_control_t *self = (fed_control_t *) arg;
    self->recheck_pending = false;
    s_recheck_parked (self, false);
    return 0;
}

void
fed_control_log_changed (fed_control_t *self)
{
    if (self)
        s_arm_tick (self); //  new events to index
    if (self && zlist_size (self->parked) && !self->recheck_pending) {
        self->recheck_pending = true;
        zloop_timer (self->loop, 0, 1, s_on_recheck, self);
    }
}

static int
s_bind (fed_control_t *self, fed_err_t *err)
{
    fed_node_t *node = self->node;
    self->router = zsock_new (ZMQ_ROUTER);
    fed_socket_defaults (self->router, (int64_t) node->config->limits.wire_message);
    zsock_set_handshake_ivl (self->router, (int) node->config->limits.handshake_timeout_ms);
    fed_curve_server (self->router, fed_identity_curve_secret (node->identity),
                      fed_identity_curve_public (node->identity), FED_ZAP_CONTROL);
    //  Keep the port across rebinds: bind the endpoint that was bound.
    const char *endpoint = self->endpoint ? self->endpoint : node->config->listen.control;
    if (zsock_bind (self->router, "%s", endpoint) < 0) {
        fed_err_set (err, -1,
                     "cannot bind the control endpoint %s: %s (config listen.control, "
                     "--control-bind)",
                     endpoint, zmq_strerror (zmq_errno ()));
        zsock_destroy (&self->router);
        return -1;
    }
    if (!self->endpoint)
        self->endpoint = fed_strdup (zsock_endpoint (self->router));
    zloop_reader (self->loop, self->router, s_on_request, self);
    zloop_reader_set_tolerant (self->loop, self->router);
    return 0;
}

//  The metric families the node exports (doc/protocol.md §3.4, metrics).
static const struct {
    const char *name;
    fed_metric_kind_t kind;
    const char *help;
} s_families [] = {
    {"fednode_control_requests_total", FED_METRIC_COUNTER,
     "Control requests by command and result."},
    {"fednode_messages_total", FED_METRIC_COUNTER,
     "Messages received and sent on the node's sockets."},
    {"fednode_events", FED_METRIC_GAUGE, "Events held in the log."},
    {"fednode_events_appended_total", FED_METRIC_COUNTER, "Local events appended since start."},
    {"fednode_events_received_total", FED_METRIC_COUNTER,
     "Remote events since start, by outcome (ok, duplicate, refusals)."},
    {"fednode_events_pending", FED_METRIC_GAUGE, "Events waiting for a gap to fill."},
    {"fednode_forks_total", FED_METRIC_COUNTER, "Forks detected (origins quarantined)."},
    {"fednode_handshakes_total", FED_METRIC_COUNTER, "CURVE handshakes by ZAP result."},
    {"fednode_peers", FED_METRIC_GAUGE, "Other members by membership state."},
    {"fednode_peer_frames_received_total", FED_METRIC_COUNTER, "Frames received from peers."},
    {"fednode_peer_frames_sent_total", FED_METRIC_COUNTER, "Frames sent to peers."},
    {"fednode_peer_frames_dropped_total", FED_METRIC_COUNTER,
     "Peer frames dropped, by reason (malformed, version, type, limit, untrusted, forbidden)."},
    {"fednode_peer_send_dropped_total", FED_METRIC_COUNTER,
     "Frames not sent because a peer's queue was full."},
    {"fednode_joins_total", FED_METRIC_COUNTER, "Join tokens presented, by result."},
    {"fednode_replication_messages_total", FED_METRIC_COUNTER,
     "Replication messages: DIGEST and WANT sent and received, pushes of local events and "
     "forwards of new arrivals sent."},
    {"fednode_replication_events_total", FED_METRIC_COUNTER,
     "Events sent to peers, received from them, and stored from them."},
    {"fednode_replication_store_failures_total", FED_METRIC_COUNTER,
     "Received batches the store failed to write (asked for again later)."},
    {"fednode_agent_tasks_total", FED_METRIC_COUNTER,
     "Built-in agent tasks ended, by result (completed, failed, timeout, cancelled)."},
    {"fednode_agent_workers", FED_METRIC_GAUGE,
     "Worker threads of built-in agents: idle, busy, lost (stuck past a timeout)."},
    {"fednode_agent_tasks_queued", FED_METRIC_GAUGE, "Built-in agent tasks waiting for a worker."},
    {"fednode_external_processes", FED_METRIC_GAUGE,
     "External agent processes connected and ready."},
    {"fednode_external_processes_lost_total", FED_METRIC_COUNTER,
     "External agent processes forgotten, by why (gone: missed heartbeats; bye)."},
    {"fednode_external_tasks_total", FED_METRIC_COUNTER,
     "Tasks for agents not built in ended, by result (completed, failed, timeout); failed "
     "includes those refused because no process offers the agent."},
    {"fednode_external_tasks", FED_METRIC_GAUGE,
     "External agent tasks now, by state (running on a process, queued for a slot)."},
    {"fednode_external_failovers_total", FED_METRIC_COUNTER,
     "External agent tasks moved off a process that went away."},
    {"fednode_runs_total", FED_METRIC_COUNTER,
     "Workflow runs this node coordinated, by event (started, ended)."},
    {"fednode_runs_coordinating", FED_METRIC_GAUGE, "Unfinished runs this node coordinates."},
    {"fednode_steps_assigned_total", FED_METRIC_COUNTER,
     "Step attempts this node placed as a coordinator (reassigned: moved off a dead or silent "
     "node)."},
    {"fednode_steps_run_total", FED_METRIC_COUNTER, "Step attempts this node ran for a run."},
    {"fednode_steps_running", FED_METRIC_GAUGE, "Step attempts running on this node now."},
    {"fednode_agent_messages_dropped_total", FED_METRIC_COUNTER,
     "Agent protocol messages dropped, by reason (version, type, limit, malformed), and READYs "
     "refused (refused)."},
    {"fednode_membership_total", FED_METRIC_COUNTER,
     "SWIM events here: probes, indirect probes, suspicions, deaths declared, refutations, "
     "reconnects to dead members, stalls."},
    {"fednode_uptime_seconds", FED_METRIC_GAUGE, "Seconds since the node started."},
};

fed_control_t *
fed_control_new (fed_node_t *node, zloop_t *loop, fed_err_t *err)
{
    fed_control_t *self = (fed_control_t *) fed_calloc (1, sizeof (fed_control_t));
    self->node = node;
    self->loop = loop;
    self->parked = zlist_new ();
    if (s_bind (self, err)) {
        fed_control_destroy (&self);
        return NULL;
    }
    s_arm_tick (self); //  index what the last run left behind
    fed_evlog_purge_requests (node->log, fed_wall_ms ());
    self->purge_timer = zloop_timer (loop, PURGE_EVERY_MS, 0, s_on_purge, self);
    //  For `fedctl --data-dir`: where to reach this node.
    char *path = fed_sprintf ("%s/control.endpoint", node->config->data_dir);
    FILE *file = fopen (path, "w");
    if (file) {
        fprintf (file, "%s\n", self->endpoint);
        fclose (file);
    } else
        fed_warn ("cannot write %s: fedctl --data-dir will assume the default endpoint", path);
    free (path);
    for (size_t i = 0; i < sizeof s_families / sizeof s_families [0]; i++)
        fed_metrics_declare (node->metrics, s_families [i].name, s_families [i].kind,
                             s_families [i].help);
    fed_info ("control endpoint %s (CURVE, key %s)", self->endpoint,
              fed_identity_curve_public_z85 (node->identity));
    return self;
}

void
fed_control_destroy (fed_control_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    fed_control_t *self = *self_p;
    if (self->parked) {
        parked_t *entry;
        while ((entry = (parked_t *) zlist_pop (self->parked))) {
            zmsg_destroy (&entry->envelope);
            zframe_destroy (&entry->frame);
            free (entry);
        }
        zlist_destroy (&self->parked);
    }
    if (self->tick_timer)
        zloop_timer_end (self->loop, self->tick_timer);
    if (self->purge_timer)
        zloop_timer_end (self->loop, self->purge_timer);
    if (self->router) {
        zloop_reader_end (self->loop, self->router);
        zsock_destroy (&self->router);
    }
    free (self->endpoint);
    free (self);
    *self_p = NULL;
}

const char *
fed_control_endpoint (fed_control_t *self)
{
    return self->endpoint;
}
