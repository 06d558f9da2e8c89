/*  node/peer.c: the peer endpoint (see peer.h).

    Who sent a frame is never taken from the frame: on the ROUTER it is the
    key ZAP authenticated (User-Id: the hex ed25519 key of a trusted peer,
    or "pending:" and the hex CURVE key of an unknown one), checked against
    the trusted set again for every frame; on a DEALER it is the member we
    connected to with its key pinned. Everything sent from the actor loop
    uses ZMQ_DONTWAIT: a full queue loses the frame, which SWIM tolerates.
*/
#include "peer.h"
#include "coreviews.h"
#include "node_internal.h"
#include "jointoken.h"
#include "repl.h"
#include "log.h"

#include <errno.h>
#include <msgpack.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define PEER_SNDHWM 256        //  frames queued per connection before dropping
#define PEER_RCVHWM 4096       //  frames queued on the ROUTER
#define ERROR_INTERVAL_MS 1000 //  one ERROR a second per peer (protocol §4.3.9)
#define LOG_INTERVAL_MS 60000  //  one logged drop a minute per peer
#define NOTE_MAX 256           //  peers remembered for ERROR and log rate limits
#define SNAPSHOT_INTERVAL_MS 1000
#define SPENT_MAX 256     //  pending connections remembered as having used their HELLO
#define ROUTING_ID_MAX 16 //  bytes of a routing id kept (libzmq's are 5)

//  One outgoing connection: a DEALER to a member, its key pinned.
typedef struct {
    uint8_t id [32];
    char endpoint [257];
    zsock_t *dealer;
    bool is_seed;  //  from the seeds: our HELLO carries the join token
    bool answered; //  the peer sent something other than ERROR on it
    int64_t opened_ms;
    struct fed_peer_t *owner;
} conn_t;

//  Last time we sent an ERROR to, and logged a drop from, one peer.
typedef struct {
    uint8_t key [32]; //  ed25519 key, or CURVE key for a pending peer
    int64_t error_ms;
    int64_t log_ms;
} note_t;

struct fed_peer_t {
    fed_node_t *node;
    zloop_t *loop;
    zsock_t *router;
    char *endpoint; //  bound, owned
    fed_swim_t *swim;
    fed_repl_t *repl;     //  event replication over the same connections
    int flush_timer;      //  pending one-shot push flush, or -1
    int64_t trust_events; //  trust.added + trust.removed held at the last refresh
    conn_t **conns;       //  conn_count entries
    size_t conn_count;
    int timer_id;
    //  The frame being handled, for io->reply: a ROUTER routing id, or the
    //  DEALER it came on.
    zframe_t *reply_to;
    conn_t *reply_conn;
    bool joined;               //  a seed or member answered our HELLO
    bool joined_once;          //  the seeds were greeted at least once
    int64_t next_table_ask_ms; //  after a trust change: when we may ask for a table again
    //  A member being marked left because it lost the peer role: swim takes
    //  updates about trusted keys only, so s_io_trusted admits this one key
    //  for that one update. NULL otherwise.
    const uint8_t *untrusting;
    int64_t next_join_ms;
    bool snapshot_dirty;
    int64_t next_snapshot_ms;
    note_t notes [NOTE_MAX];
    size_t note_count;
    //  Pending connections whose one HELLO was refused, by routing id (a
    //  ring: the oldest is forgotten first). A new handshake, rate-limited
    //  by ZAP, is the only way to try another token.
    uint8_t spent [SPENT_MAX][ROUTING_ID_MAX + 1]; //  [0] = length
    size_t spent_next;
    int64_t refusal_log_ms;     //  last refused join logged
    uint64_t refusals_unlogged; //  refused since then
    msgpack_sbuffer buffer;     //  encoder scratch
    fed_peer_stats_t stats;
};

static int64_t
s_now (void)
{
    return fed_mono_ms ();
}

static note_t *
s_note (fed_peer_t *self, const uint8_t key [32])
{
    for (size_t i = 0; i < self->note_count; i++)
        if (memcmp (self->notes [i].key, key, 32) == 0)
            return &self->notes [i];
    //  Full: reuse the slot noted longest ago.
    size_t slot = self->note_count < NOTE_MAX ? self->note_count++ : 0;
    if (slot == 0 && self->note_count == NOTE_MAX)
        for (size_t i = 1; i < NOTE_MAX; i++)
            if (self->notes [i].log_ms + self->notes [i].error_ms
                < self->notes [slot].log_ms + self->notes [slot].error_ms)
                slot = i;
    memset (&self->notes [slot], 0, sizeof (note_t));
    memcpy (self->notes [slot].key, key, 32);
    self->notes [slot].error_ms = INT64_MIN / 2;
    self->notes [slot].log_ms = INT64_MIN / 2;
    return &self->notes [slot];
}

//  Encodes msg into the scratch buffer. False (logged) if it breaks the
//  protocol, which is a bug here.
static bool
s_encode (fed_peer_t *self, const fed_wire_msg_t *msg)
{
    self->buffer.size = 0;
    if (fed_wire_encode (msg, &self->buffer) == 0)
        return true;
    fed_error ("peer: could not encode a %s message (a bug)", fed_wire_type_name (msg->type));
    return false;
}

static void
s_send_frame (fed_peer_t *self, zsock_t *sock, zframe_t *routing_id)
{
    void *handle = zsock_resolve (sock);
    if (routing_id
        && zmq_send (handle, zframe_data (routing_id), zframe_size (routing_id),
                     ZMQ_SNDMORE | ZMQ_DONTWAIT)
            < 0) {
        self->stats.send_dropped++;
        return;
    }
    if (zmq_send (handle, self->buffer.data, self->buffer.size, ZMQ_DONTWAIT) < 0)
        self->stats.send_dropped++;
    else
        self->stats.sent++;
}

static void
s_send_on (fed_peer_t *self, conn_t *conn, const fed_wire_msg_t *msg)
{
    if (s_encode (self, msg))
        s_send_frame (self, conn->dealer, NULL);
}

//  This node's HELLO, with the join token when it goes to a seed we are
//  not yet admitted by.
static void
s_send_hello (fed_peer_t *self, conn_t *conn)
{
    fed_wire_msg_t msg;
    memset (&msg, 0, sizeof msg);
    msg.type = FED_WIRE_HELLO;
    fed_swim_self_hello (self->swim, &msg.u.hello);
    const char *token = self->node->config->join_token;
    if (conn->is_seed && !conn->answered && *token) {
        msg.u.hello.token.ptr = token;
        msg.u.hello.token.size = (uint32_t) strlen (token);
    }
    s_send_on (self, conn, &msg);
}

static int s_dealer_readable (zloop_t *loop, zsock_t *sock, void *arg);

static conn_t *
s_conn_find (fed_peer_t *self, const uint8_t id [32])
{
    for (size_t i = 0; i < self->conn_count; i++)
        if (memcmp (self->conns [i]->id, id, 32) == 0)
            return self->conns [i];
    return NULL;
}

static void
s_conn_close (fed_peer_t *self, conn_t *conn)
{
    for (size_t i = 0; i < self->conn_count; i++)
        if (self->conns [i] == conn) {
            self->conns [i] = self->conns [--self->conn_count];
            break;
        }
    if (self->reply_conn == conn)
        self->reply_conn = NULL;
    zloop_reader_end (self->loop, conn->dealer);
    zsock_destroy (&conn->dealer);
    free (conn);
}

//  Opens a DEALER to id at endpoint (the key pinned as the server key) and
//  says HELLO on it. NULL if the key has no CURVE form or the endpoint is
//  refused by ZeroMQ (logged).
static conn_t *
s_conn_open (fed_peer_t *self, const uint8_t id [32], const char *endpoint, bool is_seed)
{
    uint8_t server_key [32];
    if (fed_identity_curve_from_public (id, server_key)) {
        fed_warn ("peer: cannot connect to %s: the key has no CURVE form", endpoint);
        return NULL;
    }
    const fed_identity_t *identity = self->node->identity;
    zsock_t *dealer = zsock_new (ZMQ_DEALER);
    fed_socket_defaults (dealer, (int64_t) self->node->config->limits.wire_message);
    zsock_set_handshake_ivl (dealer, (int) self->node->config->limits.handshake_timeout_ms);
    zsock_set_sndhwm (dealer, PEER_SNDHWM);
    fed_curve_client (dealer, fed_identity_curve_secret (identity),
                      fed_identity_curve_public (identity), server_key);
    if (zsock_connect (dealer, "%s", endpoint) < 0) {
        fed_warn ("peer: cannot connect to %s: %s", endpoint, zmq_strerror (zmq_errno ()));
        zsock_destroy (&dealer);
        return NULL;
    }
    conn_t *conn = (conn_t *) fed_calloc (1, sizeof (conn_t));
    memcpy (conn->id, id, 32);
    snprintf (conn->endpoint, sizeof conn->endpoint, "%s", endpoint);
    conn->dealer = dealer;
    conn->is_seed = is_seed;
    conn->opened_ms = s_now ();
    conn->owner = self;
    zloop_reader (self->loop, dealer, s_dealer_readable, conn);
    self->conns = (conn_t **) fed_realloc (self->conns, (self->conn_count + 1) * sizeof (conn_t *));
    self->conns [self->conn_count++] = conn;
    s_send_hello (self, conn);
    return conn;
}

//  The connection to member id, opened on first use at the member's endpoint.
static conn_t *
s_conn_get (fed_peer_t *self, const uint8_t id [32])
{
    conn_t *conn = s_conn_find (self, id);
    if (conn)
        return conn;
    const fed_member_t *member = fed_swim_find (self->swim, id);
    if (!member || !*member->endpoint)
        return NULL;
    return s_conn_open (self, id, member->endpoint, false);
}

//  --- swim io ---------------------------------------------------------------

static void
s_io_send (void *arg, const uint8_t id [32], const fed_wire_msg_t *msg)
{
    fed_peer_t *self = (fed_peer_t *) arg;
    conn_t *conn = s_conn_get (self, id);
    if (conn)
        s_send_on (self, conn, msg);
}

static void
s_io_reply (void *arg, const fed_wire_msg_t *msg)
{
    fed_peer_t *self = (fed_peer_t *) arg;
    if (!s_encode (self, msg))
        return;
    if (self->reply_to)
        s_send_frame (self, self->router, self->reply_to);
    else if (self->reply_conn)
        s_send_frame (self, self->reply_conn->dealer, NULL);
}

static bool
s_io_trusted (void *arg, const uint8_t id [32])
{
    fed_peer_t *self = (fed_peer_t *) arg;
    if (self->untrusting && memcmp (self->untrusting, id, 32) == 0)
        return true;
    return fed_trust_is_peer (self->node->trust, id);
}

static size_t
s_io_peers (void *arg, uint8_t (*ids) [32], size_t max)
{
    fed_peer_t *self = (fed_peer_t *) arg;
    return fed_swim_pick (self->swim, ids, max);
}

//  Received events were stored: trust may have changed, parked requests
//  may be answered.
//  How many trust events the log holds: the trust set can only have
//  changed when this moves.
static int64_t
s_trust_events (fed_peer_t *self)
{
    return fed_coreviews_count (self->node->log, "type/trust.added")
        + fed_coreviews_count (self->node->log, "type/trust.removed");
}

static void
s_io_stored (void *arg, size_t count)
{
    fed_peer_t *self = (fed_peer_t *) arg;
    (void) count;
    //  Rebuilding trust costs a CURVE conversion per key and a ZAP update:
    //  only when a stored batch carried trust events.
    int64_t trust_events = s_trust_events (self);
    fed_node_log_changed (self->node, trust_events != self->trust_events);
    self->trust_events = trust_events;
}

static void
s_io_changed (void *arg, const fed_member_t *member, fed_wire_state_t old_state)
{
    fed_peer_t *self = (fed_peer_t *) arg;
    if (member->is_self)
        return;
    self->snapshot_dirty = true;
    conn_t *conn = s_conn_find (self, member->id);
    bool gone = member->state == FED_WIRE_DEAD || member->state == FED_WIRE_LEFT;
    //  One line per transition, for operators (and for bench_members,
    //  which times convergence from these lines).
    if (old_state == 0)
        fed_info ("peer: member %s (%s) joined: %s (incarnation %llu)", member->name,
                  member->endpoint, fed_wire_state_name (member->state),
                  (unsigned long long) member->incarnation);
    else
        fed_info ("peer: member %s (%s) is now %s (was %s; incarnation %llu)", member->name,
                  member->endpoint, fed_wire_state_name (member->state),
                  fed_wire_state_name (old_state), (unsigned long long) member->incarnation);
    if (gone) {
        if (conn)
            s_conn_close (self, conn);
        return;
    }
    //  A member that moved gets a new connection; a new member gets one now
    //  so that it hears our HELLO (and location) without waiting to be probed.
    if (conn && strcmp (conn->endpoint, member->endpoint) != 0 && *member->endpoint) {
        s_conn_close (self, conn);
        conn = NULL;
    }
    if (!conn && *member->endpoint)
        s_conn_open (self, member->id, member->endpoint, false);
}

//  --- members snapshot: rejoin after a restart, like Serf's snapshot ---------

static char *
s_snapshot_path (fed_peer_t *self)
{
    return fed_sprintf ("%s/members", self->node->config->data_dir);
}

static void
s_snapshot_write (fed_peer_t *self)
{
    char *path = s_snapshot_path (self);
    char *temp = fed_sprintf ("%s.tmp", path);
    FILE *file = fopen (temp, "w");
    if (file) {
        fprintf (file,
                 "# members last seen alive, one seed string a line (rewritten by fednode)\n");
        const fed_member_t *const *members;
        size_t count = fed_swim_members (self->swim, &members);
        for (size_t i = 0; i < count; i++) {
            const fed_member_t *member = members [i];
            if (member->is_self || !*member->endpoint
                || (member->state != FED_WIRE_ALIVE && member->state != FED_WIRE_SUSPECT))
                continue;
            char key [41];
            fed_z85_encode_key (key, member->id);
            fprintf (file, "%s@%s\n", key, member->endpoint);
        }
        if (fclose (file) == 0 && rename (temp, path) == 0)
            self->snapshot_dirty = false;
    }
    if (self->snapshot_dirty)
        fed_warn ("peer: cannot write %s: %s", path, strerror (errno));
    free (temp);
    free (path);
}

//  Says HELLO to the seeds and to the members of the last run.
static void
s_join (fed_peer_t *self)
{
    const fed_config_t *config = self->node->config;
    const uint8_t *me = fed_identity_public (self->node->identity);
    for (size_t i = 0; i < config->seed_count; i++) {
        if (memcmp (config->seeds [i].key, me, 32) == 0)
            continue;
        conn_t *conn = s_conn_find (self, config->seeds [i].key);
        if (conn)
            s_send_hello (self, conn);
        else
            s_conn_open (self, config->seeds [i].key, config->seeds [i].endpoint, true);
    }
    char *path = s_snapshot_path (self);
    FILE *file = fopen (path, "r");
    free (path);
    if (!file)
        return;
    char line [512];
    while (fgets (line, sizeof line, file)) {
        line [strcspn (line, "\r\n")] = 0;
        if (*line == '#' || !*line)
            continue;
        fed_config_t *scratch = fed_config_new ();
        fed_err_t err;
        if (fed_config_add_seed (scratch, line, &err) == 0
            && memcmp (scratch->seeds [0].key, me, 32) != 0
            && fed_trust_is_peer (self->node->trust, scratch->seeds [0].key)) {
            conn_t *conn = s_conn_find (self, scratch->seeds [0].key);
            if (conn)
                s_send_hello (self, conn);
            else
                s_conn_open (self, scratch->seeds [0].key, scratch->seeds [0].endpoint, false);
        }
        fed_config_destroy (&scratch);
    }
    fclose (file);
}

//  --- receiving ---------------------------------------------------------------

//  Answers ERROR code/text on the current connection, at most once a minute per peer.
static void
s_reply_error (fed_peer_t *self, const uint8_t key [32], const char *code, const char *text)
{
    note_t *note = s_note (self, key);
    int64_t now = s_now ();
    if (now - note->error_ms < ERROR_INTERVAL_MS)
        return;
    note->error_ms = now;
    fed_wire_msg_t msg;
    memset (&msg, 0, sizeof msg);
    msg.type = FED_WIRE_ERROR;
    msg.u.error.code.ptr = code;
    msg.u.error.code.size = (uint32_t) strlen (code);
    msg.u.error.text.ptr = text;
    msg.u.error.text.size =
        (uint32_t) (strlen (text) > FED_WIRE_TEXT_MAX ? FED_WIRE_TEXT_MAX : strlen (text));
    s_io_reply (self, &msg);
}

//  Logs a dropped frame, at most once a minute per peer.
static void
s_log_drop (fed_peer_t *self, const uint8_t key [32], const char *who, const char *why)
{
    note_t *note = s_note (self, key);
    int64_t now = s_now ();
    if (now - note->log_ms < LOG_INTERVAL_MS)
        return;
    note->log_ms = now;
    fed_warn ("peer: dropped a frame from %s: %s (further drops from it are counted, logged "
              "at most once a minute)",
              who, why);
}

static void
s_on_error (fed_peer_t *self, conn_t *conn, const uint8_t from [32], const fed_wire_error_t *error)
{
    char who [41];
    fed_z85_encode_key (who, from); //  first 8 chars are enough to name it
    who [8] = 0;
    fed_warn ("peer: %s refused this node: %.*s: %.*s", conn ? conn->endpoint : who,
              (int) error->code.size, error->code.ptr, (int) error->text.size, error->text.ptr);
    //  A seed that will not admit us while nobody else knows us: joining has
    //  failed, and waiting will not change that.
    bool final = (error->code.size == 5 && memcmp (error->code.ptr, "token", 5) == 0)
        || (error->code.size == 7 && memcmp (error->code.ptr, "version", 7) == 0)
        || (error->code.size == 8 && memcmp (error->code.ptr, "identity", 8) == 0);
    if (final && conn && conn->is_seed && !self->joined
        && fed_swim_count (self->swim, FED_WIRE_ALIVE) == 0)
        fed_node_fail (self->node, "seed %s refused to admit this node: %.*s: %.*s", conn->endpoint,
                       (int) error->code.size, error->code.ptr, (int) error->text.size,
                       error->text.ptr);
}

//  Handles one decoded message from a trusted peer (key), from either socket.
static void
s_dispatch (fed_peer_t *self, conn_t *conn, const uint8_t key [32], const fed_wire_msg_t *msg)
{
    int64_t now = s_now ();
    switch (msg->type) {
        case FED_WIRE_HELLO:
            if (memcmp (msg->u.hello.id, key, 32) != 0) {
                s_reply_error (self, key, "identity",
                               "HELLO 'id' is not the key this connection authenticated with");
                return;
            }
            if (fed_swim_hello (self->swim, &msg->u.hello, now) == 0)
                self->joined = true;
            return;
        case FED_WIRE_ERROR: s_on_error (self, conn, key, &msg->u.error); return;
        case FED_WIRE_MEMBERS:
        case FED_WIRE_ACK:
            //  An answer from a seed or a member: we are in.
            self->joined = true;
            fed_swim_receive (self->swim, key, msg, now);
            return;
        case FED_WIRE_PING:
        case FED_WIRE_PING_REQ:
        case FED_WIRE_BYE: fed_swim_receive (self->swim, key, msg, now); return;
        case FED_WIRE_DIGEST:
        case FED_WIRE_EVENTS:
        case FED_WIRE_WANT: fed_repl_receive (self->repl, key, msg); return;
        default: return;
    }
}

//  Decodes a frame; on failure counts it, logs it (rate-limited) and
//  answers ERROR version to a version mismatch. Returns 0 or -1.
static int
s_decode (fed_peer_t *self, zframe_t *frame, const uint8_t key [32], const char *who,
          fed_wire_msg_t *msg)
{
    fed_err_t err = {0};
    if (fed_wire_decode (zframe_data (frame), zframe_size (frame), msg, &err) == 0)
        return 0;
    fed_wire_drop_t reason = (fed_wire_drop_t) err.code;
    if (reason <= FED_WIRE_DROP_NONE || reason >= FED_WIRE_DROPS)
        reason = FED_WIRE_DROP_MALFORMED;
    self->stats.dropped [reason]++;
    s_log_drop (self, key, who, err.text);
    if (reason == FED_WIRE_DROP_VERSION) {
        char text [160];
        snprintf (text, sizeof text,
                  "this node speaks peer protocol version %d only; upgrade or downgrade to match",
                  FED_WIRE_VERSION);
        s_reply_error (self, key, "version", text);
    }
    return -1;
}

//  Appends trust.added {key, role: peer, name, token (when not NULL)}.
//  0, or -1 with err.
static int
s_append_trust_added (fed_peer_t *self, const uint8_t key [32], const char *name, size_t name_size,
                      const char *token, fed_err_t *err)
{
    msgpack_sbuffer body;
    msgpack_sbuffer_init (&body);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &body, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, token ? 4 : 3);
    msgpack_pack_str_with_body (&pk, "key", 3);
    msgpack_pack_bin_with_body (&pk, key, 32);
    msgpack_pack_str_with_body (&pk, "role", 4);
    msgpack_pack_str_with_body (&pk, "peer", 4);
    msgpack_pack_str_with_body (&pk, "name", 4);
    msgpack_pack_str_with_body (&pk, name, name_size);
    if (token) {
        msgpack_pack_str_with_body (&pk, "token", 5);
        msgpack_pack_str_with_body (&pk, token, strlen (token));
    }
    int rc =
        fed_node_append_local (self->node, "trust.added", body.data, body.size, NULL, NULL, err);
    msgpack_sbuffer_destroy (&body);
    return rc;
}

//  A node admitted by token trusts only its seed and accepts only the
//  seed's events. So that it comes to trust the same peers as the seed
//  (and they it, symmetrically: SWIM needs both ways), the seed writes a
//  signed trust.added for each peer its config trusts that no trust event
//  names yet. Done at each admission; a key already in the trust view
//  (added or removed) is left alone.
static void
s_publish_config_peers (fed_peer_t *self)
{
    const fed_trusted_t *entries;
    size_t count = fed_trust_entries (self->node->trust, &entries);
    //  Copy first: appending trust.added refreshes (and reallocates) the set.
    fed_trusted_t *peers = (fed_trusted_t *) fed_calloc (count + 1, sizeof (fed_trusted_t));
    size_t peer_count = 0;
    for (size_t i = 0; i < count; i++)
        if (entries [i].role == FED_ROLE_PEER && entries [i].source == FED_TRUST_CONFIG
            && memcmp (entries [i].key, fed_identity_public (self->node->identity), 32) != 0)
            peers [peer_count++] = entries [i];
    for (size_t i = 0; i < peer_count; i++) {
        fed_trust_record_t record;
        if (fed_trust_view_record (self->node->log, peers [i].key, false, &record)
            || record != FED_TRUST_RECORD_NONE)
            continue;
        const char *name = *peers [i].name ? peers [i].name : "config peer";
        fed_err_t err;
        if (s_append_trust_added (self, peers [i].key, name, strlen (name), NULL, &err))
            fed_warn ("peer: could not publish a configured peer's trust: %s", err.text);
    }
    free (peers);
}

//  A HELLO from a pending (unknown) key: admitted if it carries a live
//  join token for the key it authenticated with. Returns true when the key
//  is now a trusted peer (and *id holds it).
static bool
s_admit (fed_peer_t *self, const uint8_t curve [32], const fed_wire_hello_t *hello)
{
    uint8_t hello_curve [32];
    if (fed_identity_curve_from_public (hello->id, hello_curve)
        || memcmp (hello_curve, curve, 32) != 0) {
        s_reply_error (self, curve, "identity",
                       "HELLO 'id' is not the key this connection authenticated with");
        return false;
    }
    char id [FED_JOINTOKEN_ID_MAX + 1];
    fed_err_t err = {0};
    if (!hello->token.ptr)
        fed_err_set (&err, -1,
                     "this node does not trust your key and you sent no join token "
                     "(start with --join-token, from `fedctl token create` on a member)");
    else if (fed_jointoken_check (self->node->log, hello->token.ptr, hello->token.size,
                                  fed_wall_ms (), id, &err)
                 == 0
             && fed_jointoken_key_admissible (self->node->log, hello->id, &err) == 0) {
        //  Trust the key cluster-wide: trust.added replicates like any event.
        int rc =
            s_append_trust_added (self, hello->id, hello->name.ptr, hello->name.size, id, &err);
        if (rc == 0) {
            self->stats.admitted++;
            fed_info ("peer: admitted %.*s (%.*s) by join token %s", (int) hello->name.size,
                      hello->name.ptr, (int) hello->endpoint.size, hello->endpoint.ptr, id);
            s_publish_config_peers (self);
            return true;
        }
        fed_error ("peer: could not record trust.added for a joining node: %s", err.text);
        fed_err_set (&err, -1, "the seed could not record your admission; try again");
    }
    self->stats.refused_tokens++;
    //  Unauthenticated keys can cause this: one line a second at most.
    int64_t now = s_now ();
    if (now - self->refusal_log_ms >= 1000) {
        fed_warn ("peer: refused join from %.*s (%.*s): %s (and %llu more since the last line)",
                  (int) hello->name.size, hello->name.ptr, (int) hello->endpoint.size,
                  hello->endpoint.ptr, err.text, (unsigned long long) self->refusals_unlogged);
        self->refusal_log_ms = now;
        self->refusals_unlogged = 0;
    } else
        self->refusals_unlogged++;
    s_reply_error (self, curve, "token", err.text);
    return false;
}

//  The trusted peer whose CURVE key is curve, or false.
static bool
s_peer_by_curve (fed_peer_t *self, const uint8_t curve [32], uint8_t key [32])
{
    const fed_trusted_t *entries;
    size_t count = fed_trust_entries (self->node->trust, &entries);
    for (size_t i = 0; i < count; i++)
        if (entries [i].role == FED_ROLE_PEER && memcmp (entries [i].curve, curve, 32) == 0) {
            memcpy (key, entries [i].key, 32);
            return true;
        }
    return false;
}

//  Has the pending connection routing_id used its one HELLO? With mark,
//  records that it has.
static bool
s_spent (fed_peer_t *self, zframe_t *routing_id, bool mark)
{
    size_t size = zframe_size (routing_id);
    if (size > ROUTING_ID_MAX)
        size = ROUTING_ID_MAX;
    for (size_t i = 0; i < SPENT_MAX; i++)
        if (self->spent [i][0] == size && size
            && memcmp (self->spent [i] + 1, zframe_data (routing_id), size) == 0)
            return true;
    if (mark) {
        self->spent [self->spent_next][0] = (uint8_t) size;
        memcpy (self->spent [self->spent_next] + 1, zframe_data (routing_id), size);
        self->spent_next = (self->spent_next + 1) % SPENT_MAX;
    }
    return false;
}

static int
s_router_readable (zloop_t *loop, zsock_t *sock, void *arg)
{
    fed_peer_t *self = (fed_peer_t *) arg;
    zmsg_t *request = zmsg_recv (sock);
    if (!request)
        return 0;
    self->stats.received++;
    zframe_t *routing_id = zmsg_pop (request);
    zframe_t *frame = zmsg_pop (request);
    const char *user_id = frame ? zframe_meta (frame, "User-Id") : NULL;
    uint8_t key [32];
    bool trusted = false, pending = false;
    if (user_id && strlen (user_id) == 64 && fed_hex_decode (key, 32, user_id) == 0)
        trusted = fed_trust_is_peer (self->node->trust, key);
    else if (user_id && strncmp (user_id, "pending:", 8) == 0 && strlen (user_id) == 8 + 64
             && fed_hex_decode (key, 32, user_id + 8) == 0) {
        //  Admitted by token on this connection earlier, or by an event since?
        uint8_t curve [32];
        memcpy (curve, key, 32);
        trusted = s_peer_by_curve (self, curve, key);
        pending = !trusted;
    }
    self->reply_to = routing_id;
    self->reply_conn = NULL;
    fed_wire_msg_t msg;
    memset (&msg, 0, sizeof msg);
    if (!routing_id || !frame || zmsg_size (request) != 0) {
        self->stats.dropped [FED_WIRE_DROP_MALFORMED]++;
    } else if (!trusted && !pending) {
        self->stats.untrusted++; //  lost the peer role after connecting
    } else if (s_decode (self, frame, key, pending ? "a pending peer" : user_id, &msg) == 0) {
        if (!pending)
            s_dispatch (self, NULL, key, &msg);
        else if (msg.type != FED_WIRE_HELLO || s_spent (self, routing_id, false)) {
            //  One HELLO per pending connection: no token guessing on one handshake.
            self->stats.forbidden++;
            s_log_drop (self, key, "a pending peer", "only one HELLO with a join token is allowed");
            s_reply_error (self, key, "forbidden",
                           "this node does not trust your key: connect again and send one "
                           "HELLO with a join token");
        } else if (s_admit (self, key, &msg.u.hello))
            s_dispatch (self, NULL, msg.u.hello.id, &msg);
        else
            (void) s_spent (self, routing_id, true);
    }
    fed_wire_msg_clear (&msg);
    self->reply_to = NULL;
    zframe_destroy (&routing_id);
    zframe_destroy (&frame);
    zmsg_destroy (&request);
    return 0;
}

static int
s_dealer_readable (zloop_t *loop, zsock_t *sock, void *arg)
{
    conn_t *conn = (conn_t *) arg;
    fed_peer_t *self = conn->owner;
    zmsg_t *reply = zmsg_recv (sock);
    if (!reply)
        return 0;
    self->stats.received++;
    zframe_t *frame = zmsg_pop (reply);
    self->reply_to = NULL;
    self->reply_conn = conn;
    fed_wire_msg_t msg;
    memset (&msg, 0, sizeof msg);
    uint8_t key [32];
    memcpy (key, conn->id, 32); //  conn may close while handling
    if (!frame || zmsg_size (reply) != 0)
        self->stats.dropped [FED_WIRE_DROP_MALFORMED]++;
    else if (!fed_trust_is_peer (self->node->trust, key) && !conn->is_seed)
        self->stats.untrusted++;
    else if (s_decode (self, frame, key, conn->endpoint, &msg) == 0) {
        if (msg.type != FED_WIRE_ERROR)
            conn->answered = true; //  admitted: no more token in our HELLOs
        s_dispatch (self, conn, key, &msg);
    }
    fed_wire_msg_clear (&msg);
    self->reply_conn = NULL;
    zframe_destroy (&frame);
    zmsg_destroy (&reply);
    return 0;
}

//  --- timers ----------------------------------------------------------------

//  Closes connections that SWIM's reconnect opened to members still dead
//  a reconnect interval later (they would otherwise retry forever). Seeds
//  keep theirs: they are how a lone node finds the cluster.
static void
s_close_stale (fed_peer_t *self, int64_t now)
{
    int64_t grace = self->node->config->gossip.reconnect_interval_ms;
    for (size_t i = 0; i < self->conn_count;) {
        conn_t *conn = self->conns [i];
        const fed_member_t *member = fed_swim_find (self->swim, conn->id);
        if (!conn->is_seed && member
            && (member->state == FED_WIRE_DEAD || member->state == FED_WIRE_LEFT)
            && now - conn->opened_ms >= grace)
            s_conn_close (self, conn);
        else
            i++;
    }
}

//  Fires on the loop's next turn after a local append: the appends of this
//  turn go out together.
static int
s_flush_due (zloop_t *loop, int timer_id, void *arg)
{
    fed_peer_t *self = (fed_peer_t *) arg;
    self->flush_timer = -1; //  the next append schedules the next flush
    fed_repl_flush (self->repl);
    return 0;
}

static int
s_tick (zloop_t *loop, int timer_id, void *arg)
{
    fed_peer_t *self = (fed_peer_t *) arg;
    int64_t now = s_now ();
    fed_swim_tick (self->swim, now);
    fed_repl_tick (self->repl, now);
    s_close_stale (self, now);
    //  On the first tick, and again whenever alone: knock on the seeds (and
    //  last run's members). Being greeted by some node first must not cut
    //  us off from the seeds' side of the cluster.
    bool alone =
        fed_swim_count (self->swim, FED_WIRE_ALIVE) + fed_swim_count (self->swim, FED_WIRE_SUSPECT)
        == 0;
    if (now >= self->next_join_ms && (alone || !self->joined_once)) {
        if (alone)
            self->joined = false;
        self->joined_once = true;
        s_join (self);
        int64_t retry = self->node->config->gossip.probe_interval_ms * 2;
        self->next_join_ms = now + (retry < 1000 ? 1000 : retry);
    }
    if (self->snapshot_dirty && now >= self->next_snapshot_ms) {
        s_snapshot_write (self);
        self->next_snapshot_ms = now + SNAPSHOT_INTERVAL_MS;
    }
    return 0;
}

//  --- lifecycle ---------------------------------------------------------------

//  Self as a HELLO for the swim: id, name, advertised endpoint, location.
static void
s_self_hello (fed_peer_t *self, fed_wire_hello_t *hello, char *endpoint, size_t endpoint_size)
{
    const fed_config_t *config = self->node->config;
    memset (hello, 0, sizeof *hello);
    memcpy (hello->id, fed_identity_public (self->node->identity), 32);
    const char *name =
        *config->node.name ? config->node.name : fed_identity_short_id (self->node->identity);
    hello->name.ptr = name;
    hello->name.size = (uint32_t) strlen (name);
    //  Advertise what peers can reach: listen.advertise, else the bound
    //  endpoint with a wildcard host made concrete.
    if (*config->listen.advertise)
        snprintf (endpoint, endpoint_size, "%s", config->listen.advertise);
    else {
        //  The seed string is KEY@tcp://HOST:PORT with a 40-char Z85 key
        //  (which may itself hold '@'); its host, our bound port.
        char *seed = fed_node_seed_string (self->node->identity, config);
        const char *address = strlen (seed) > 41 ? seed + 41 : "tcp://127.0.0.1:0";
        const char *host_end = strrchr (address, ':');
        const char *port = strrchr (self->endpoint, ':');
        snprintf (endpoint, endpoint_size, "%.*s%s",
                  host_end ? (int) (host_end - address) : (int) strlen (address), address,
                  port ? port : "");
        free (seed);
    }
    hello->endpoint.ptr = endpoint;
    hello->endpoint.size = (uint32_t) strlen (endpoint);
    hello->location.region.ptr = config->node.region;
    hello->location.region.size = (uint32_t) strlen (config->node.region);
    hello->location.zone.ptr = config->node.zone;
    hello->location.zone.size = (uint32_t) strlen (config->node.zone);
    hello->location.site.ptr = config->node.site;
    hello->location.site.size = (uint32_t) strlen (config->node.site);
    hello->location.has_lat = hello->location.has_lon = config->node.has_latlon;
    hello->location.lat = config->node.lat;
    hello->location.lon = config->node.lon;
    for (size_t i = 0; i < config->node.label_count && i < FED_WIRE_LABELS_MAX; i++) {
        fed_wire_label_t *label = &hello->location.labels [hello->location.label_count++];
        label->key.ptr = config->node.labels [i].key;
        label->key.size = (uint32_t) strlen (config->node.labels [i].key);
        label->value.ptr = config->node.labels [i].value;
        label->value.size = (uint32_t) strlen (config->node.labels [i].value);
    }
    hello->protocol = FED_WIRE_VERSION;
}

fed_peer_t *
fed_peer_new (fed_node_t *node, zloop_t *loop, fed_err_t *err)
{
    fed_peer_t *self = (fed_peer_t *) fed_calloc (1, sizeof (fed_peer_t));
    self->node = node;
    self->loop = loop;
    self->flush_timer = -1;
    self->trust_events = s_trust_events (self);
    msgpack_sbuffer_init (&self->buffer);
    const fed_config_t *config = node->config;
    self->router = zsock_new (ZMQ_ROUTER);
    fed_socket_defaults (self->router, (int64_t) config->limits.wire_message);
    zsock_set_handshake_ivl (self->router, (int) config->limits.handshake_timeout_ms);
    zsock_set_rcvhwm (self->router, PEER_RCVHWM);
    zsock_set_sndhwm (self->router, PEER_SNDHWM * 4);
    fed_curve_server (self->router, fed_identity_curve_secret (node->identity),
                      fed_identity_curve_public (node->identity), FED_ZAP_PEER);
    if (zsock_bind (self->router, "%s", config->listen.peer) < 0) {
        fed_err_set (err, -1,
                     "cannot bind the peer endpoint %s: %s (config listen.peer, --peer-bind)",
                     config->listen.peer, zmq_strerror (zmq_errno ()));
        goto err;
    }
    self->endpoint = zsock_last_endpoint (self->router);
    zloop_reader (loop, self->router, s_router_readable, self);

    fed_swim_options_t options;
    fed_swim_options_default (&options);
    options.probe_interval_ms = config->gossip.probe_interval_ms;
    options.probe_timeout_ms = config->gossip.probe_timeout_ms;
    options.suspicion_timeout_ms = config->gossip.suspicion_timeout_ms;
    options.indirect_probes = config->gossip.indirect_probes;
    options.retransmit_mult = config->gossip.retransmit_mult;
    options.sync_interval_ms = config->gossip.sync_interval_ms;
    options.reconnect_interval_ms = config->gossip.reconnect_interval_ms;
    fed_swim_io_t io = {s_io_send, s_io_reply, s_io_trusted, s_io_changed, self};
    fed_wire_hello_t hello;
    char endpoint [300];
    s_self_hello (self, &hello, endpoint, sizeof endpoint);
    self->swim = fed_swim_new (&options, &io, &hello, s_now ());

    fed_repl_options_t repl_options;
    fed_repl_options_default (&repl_options);
    repl_options.fanout = config->gossip.fanout;
    repl_options.interval_ms = config->gossip.interval_ms;
    repl_options.push = config->gossip.push;
    //  Batches stay well inside the frame limit.
    if (repl_options.batch_bytes > config->limits.wire_message / 2)
        repl_options.batch_bytes = (size_t) config->limits.wire_message / 2;
    fed_repl_io_t repl_io = {s_io_send, s_io_reply, s_io_peers, s_io_stored, self};
    self->repl = fed_repl_new (node->log, &repl_options, &repl_io, s_now ());
    self->flush_timer = -1;

    int64_t tick = config->gossip.probe_timeout_ms / 4;
    tick = tick < 10 ? 10 : tick > 250 ? 250 : tick;
    self->timer_id = zloop_timer (loop, (size_t) tick, 0, s_tick, self);
    fed_info ("peer: listening on %s, advertising %s", self->endpoint, endpoint);
    self->next_join_ms = 0; //  the first tick joins
    return self;

err:
    fed_peer_destroy (&self);
    return NULL;
}

void
fed_peer_destroy (fed_peer_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    fed_peer_t *self = *self_p;
    if (self->swim) {
        //  BYE, so members mark us left rather than dead; give it time to leave.
        fed_swim_leave (self->swim, s_now ());
        for (size_t i = 0; i < self->conn_count; i++)
            zsock_set_linger (self->conns [i]->dealer, 500);
    }
    if (self->timer_id > 0)
        zloop_timer_end (self->loop, self->timer_id);
    if (self->flush_timer >= 0)
        zloop_timer_end (self->loop, self->flush_timer);
    if (self->repl)
        fed_repl_flush (self->repl); //  appends of the last turn still go out
    while (self->conn_count)
        s_conn_close (self, self->conns [0]);
    free (self->conns);
    if (self->router)
        zloop_reader_end (self->loop, self->router);
    zsock_destroy (&self->router);
    fed_swim_destroy (&self->swim);
    fed_repl_destroy (&self->repl);
    free (self->endpoint);
    msgpack_sbuffer_destroy (&self->buffer);
    free (self);
    *self_p = NULL;
}

const char *
fed_peer_endpoint (fed_peer_t *self)
{
    return self->endpoint;
}

fed_swim_t *
fed_peer_swim (fed_peer_t *self)
{
    return self->swim;
}

fed_repl_t *
fed_peer_repl (fed_peer_t *self)
{
    return self->repl;
}

void
fed_peer_stats (fed_peer_t *self, fed_peer_stats_t *stats)
{
    *stats = self->stats;
}

void
fed_peer_appended (fed_peer_t *self, uint64_t seq)
{
    if (fed_repl_push (self->repl, fed_identity_public (self->node->identity), seq)
        && self->flush_timer < 0)
        self->flush_timer = zloop_timer (self->loop, 0, 1, s_flush_due, self);
}

//  Marks left, at the incarnation held, every member held alive or suspect
//  that has lost the peer role (a configured seed excepted: it keeps its
//  connection). Such a member is never probed again, so nothing else would
//  ever move it from alive: it would be listed, counted and snapshotted as
//  alive for ever. Left, as Serf's force-leave does; the update is gossiped
//  like any other, and the member can come back at a higher incarnation if
//  it is trusted again.
static void
s_leave_untrusted (fed_peer_t *self)
{
    const fed_member_t *const *members;
    size_t count = fed_swim_members (self->swim, &members);
    fed_wire_update_t *updates =
        (fed_wire_update_t *) fed_calloc (count + 1, sizeof (fed_wire_update_t));
    size_t found = 0;
    for (size_t i = 0; i < count; i++) {
        const fed_member_t *member = members [i];
        conn_t *conn = s_conn_find (self, member->id);
        if (member->is_self || (conn && conn->is_seed)
            || (member->state != FED_WIRE_ALIVE && member->state != FED_WIRE_SUSPECT)
            || fed_trust_is_peer (self->node->trust, member->id))
            continue;
        fed_wire_update_t *update = &updates [found++];
        memcpy (update->node, member->id, 32);
        update->state = FED_WIRE_LEFT;
        update->incarnation = member->incarnation;
    }
    //  Applied after the walk: applying may change the table.
    for (size_t i = 0; i < found; i++) {
        self->untrusting = updates [i].node;
        bool changed = fed_swim_apply (self->swim, &updates [i], s_now ());
        self->untrusting = NULL;
        assert (changed); //  left overrides alive and suspect at the same incarnation
    }
    free (updates);
}

void
fed_peer_trust_changed (fed_peer_t *self)
{
    for (size_t i = 0; i < self->conn_count;) {
        conn_t *conn = self->conns [i];
        if (!conn->is_seed && !fed_trust_is_peer (self->node->trust, conn->id))
            s_conn_close (self, conn);
        else
            i++;
    }
    s_leave_untrusted (self);
    //  A peer trusted now but not in the table was ignored when gossip named
    //  it: ask a live member for its whole table (our HELLO is answered with
    //  MEMBERS), at most once a second.
    const fed_trusted_t *entries;
    size_t count = fed_trust_entries (self->node->trust, &entries);
    bool missing = false;
    for (size_t i = 0; i < count && !missing; i++)
        missing = entries [i].role == FED_ROLE_PEER && !fed_swim_find (self->swim, entries [i].key);
    int64_t now = s_now ();
    if (!missing || now < self->next_table_ask_ms)
        return;
    self->next_table_ask_ms = now + 1000;
    uint8_t partner [1][32];
    if (fed_swim_pick (self->swim, partner, 1) == 1) {
        conn_t *conn = s_conn_get (self, partner [0]);
        if (conn)
            s_send_hello (self, conn);
    }
}
