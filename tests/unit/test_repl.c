/*  tests/unit/test_repl.c: event replication (node/repl.c) on a simulated
    cluster.

    Each node is a real event log in its own temp dir, signing with its own
    identity and trusting every node (and one extra origin, X, that is no
    node). Its repl's io puts messages on an in-memory network that encodes
    each one with the wire codec and decodes it on delivery, so the codec's
    limits and a frame size cap apply as on the real transport; a reply goes
    back to the sender of the message being handled. Delivery is first in,
    first out, until the network is quiet. Every packet is kept after
    delivery, so a test can read the whole conversation afterwards.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "testutil.h"

#include "evlog.h"
#include "log.h"
#include "repl.h"
#include "wire.h"

#define NODES_MAX 5
#define DELIVER_MAX 100000 //  a conversation longer than this is a loop
#define FRAME_MAX (4 * 1024 * 1024)

typedef struct {
    int from, to;
    fed_wire_type_t type;
    uint8_t *data; //  the encoded frame (owned)
    size_t size;
} packet_t;

typedef struct sim_t sim_t;

typedef struct {
    sim_t *sim;
    int index;
    fed_identity_t *identity;
    char *dir; //  temp dir, removed at the end
    fed_evlog_t *log;
    fed_repl_t *repl;
    bool links [NODES_MAX]; //  the members io->peers may pick
    size_t stored_calls, stored_events;
} sim_node_t;

struct sim_t {
    sim_node_t nodes [NODES_MAX];
    int count;
    fed_identity_t *extra;    //  X: trusted origin that is no node
    fed_identity_t *stranger; //  untrusted origin
    packet_t *packets;        //  everything ever sent, in order
    size_t sent, allocated;
    size_t next;      //  the next packet to deliver
    int current_from; //  sender of the packet being handled, or -1
    size_t frame_max; //  the transport's frame cap
    uint32_t rng;
};

//  --- The simulated network ----------------------------------------------

static uint32_t
s_rand (sim_t *sim)
{
    sim->rng = sim->rng * 1103515245u + 12345u;
    return (sim->rng >> 8) & 0xffffff;
}

static int
s_index_of (sim_t *sim, const uint8_t id [32])
{
    for (int i = 0; i < sim->count; i++)
        if (memcmp (fed_identity_public (sim->nodes [i].identity), id, 32) == 0)
            return i;
    return -1;
}

static const uint8_t *
s_id (sim_t *sim, int index)
{
    return fed_identity_public (sim->nodes [index].identity);
}

//  Puts a frame on the network (taking data).
static void
s_put (sim_t *sim, int from, int to, fed_wire_type_t type, uint8_t *data, size_t size)
{
    assert_true (from >= 0 && from < sim->count && to >= 0 && to < sim->count);
    assert_int_not_equal (from, to);
    if (size > sim->frame_max) {
        print_error ("node %d: %s of %zu bytes to node %d is over the frame cap %zu\n", from,
                     fed_wire_type_name (type), size, to, sim->frame_max);
        fail ();
    }
    if (sim->sent == sim->allocated) {
        sim->allocated = sim->allocated ? 2 * sim->allocated : 256;
        sim->packets = (packet_t *) realloc (sim->packets, sim->allocated * sizeof (packet_t));
    }
    sim->packets [sim->sent++] = (packet_t){from, to, type, data, size};
}

static void
s_enqueue (sim_t *sim, int from, int to, const fed_wire_msg_t *msg)
{
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    int rc = fed_wire_encode (msg, &buffer);
    if (rc)
        print_error ("node %d: %s to node %d does not encode\n", from,
                     fed_wire_type_name (msg->type), to);
    assert_int_equal (rc, 0);
    s_put (sim, from, to, msg->type, (uint8_t *) buffer.data, buffer.size);
}

//  The frame of packet index sent once more, from from to to.
static void
s_resend (sim_t *sim, size_t index, int from, int to)
{
    const packet_t *packet = &sim->packets [index];
    uint8_t *copy = (uint8_t *) malloc (packet->size);
    memcpy (copy, packet->data, packet->size);
    s_put (sim, from, to, packet->type, copy, packet->size);
}

static void
s_io_send (void *arg, const uint8_t id [32], const fed_wire_msg_t *msg)
{
    sim_node_t *node = (sim_node_t *) arg;
    int to = s_index_of (node->sim, id);
    assert_true (to >= 0);
    s_enqueue (node->sim, node->index, to, msg);
}

static void
s_io_reply (void *arg, const fed_wire_msg_t *msg)
{
    sim_node_t *node = (sim_node_t *) arg;
    //  A reply outside the handling of a message has nowhere to go.
    assert_true (node->sim->current_from >= 0);
    s_enqueue (node->sim, node->index, node->sim->current_from, msg);
}

//  Up to max linked nodes in random order, as fed_swim_pick does.
static size_t
s_io_peers (void *arg, uint8_t (*ids) [32], size_t max)
{
    sim_node_t *node = (sim_node_t *) arg;
    sim_t *sim = node->sim;
    int pick [NODES_MAX];
    size_t count = 0;
    for (int i = 0; i < sim->count; i++)
        if (i != node->index && node->links [i])
            pick [count++] = i;
    for (size_t i = count; i > 1; i--) {
        size_t j = s_rand (sim) % i;
        int swap = pick [i - 1];
        pick [i - 1] = pick [j];
        pick [j] = swap;
    }
    if (count > max)
        count = max;
    for (size_t i = 0; i < count; i++)
        memcpy (ids [i], s_id (sim, pick [i]), 32);
    return count;
}

static void
s_io_stored (void *arg, size_t count)
{
    sim_node_t *node = (sim_node_t *) arg;
    node->stored_calls++;
    node->stored_events += count;
}

static bool
s_trust (void *arg, const uint8_t origin [32])
{
    sim_t *sim = (sim_t *) arg;
    return s_index_of (sim, origin) >= 0
        || memcmp (origin, fed_identity_public (sim->extra), 32) == 0;
}

//  The defaults (fanout 3, 1 s, 1,000 events, 1 MiB, 4 batches, push on);
//  tests change fields.
static fed_repl_options_t
s_options (void)
{
    fed_repl_options_t options;
    fed_repl_options_default (&options);
    return options;
}

//  count nodes, every one linked to every other, each with options. The
//  sim is kept in *state, so the teardown removes it if the test fails.
static sim_t *
s_sim_new (void **state, int count, const fed_repl_options_t *options)
{
    assert_null (*state);
    assert_true (count >= 1 && count <= NODES_MAX);
    sim_t *sim = (sim_t *) calloc (1, sizeof (sim_t));
    *state = sim;
    sim->count = count;
    sim->current_from = -1;
    sim->frame_max = FRAME_MAX;
    sim->rng = 7;
    sim->extra = fed_test_identity (0x40);
    sim->stranger = fed_test_identity (0x41);
    fed_evlog_options_t log_options;
    fed_evlog_options_default (&log_options);
    log_options.durability = FED_DURABILITY_WAL;
    for (int i = 0; i < count; i++) {
        sim_node_t *node = &sim->nodes [i];
        node->sim = sim;
        node->index = i;
        node->identity = fed_test_identity ((uint8_t) (i + 1));
        for (int j = 0; j < count; j++)
            node->links [j] = j != i;
        char template [] = "/tmp/fed-repl-XXXXXX";
        assert_non_null (mkdtemp (template));
        node->dir = fed_strdup (template);
        char *path = fed_sprintf ("%s/db", template);
        fed_err_t err = {0, ""};
        node->log = fed_evlog_open (path, &log_options, &err);
        free (path);
        if (!node->log)
            print_error ("open failed: %s\n", err.text);
        assert_non_null (node->log);
        fed_evlog_set_signer (node->log, fed_identity_public (node->identity),
                              fed_identity_secret (node->identity));
        fed_evlog_set_trust (node->log, s_trust, sim);
        fed_repl_io_t io = {s_io_send, s_io_reply, s_io_peers, s_io_stored, node};
        node->repl = fed_repl_new (node->log, options, &io, 0);
    }
    return sim;
}

//  Destroys the sim in *state, if any, removing every node's temp dir.
//  Returns 0, or -1 if a dir could not be removed.
static int
s_sim_remove (void **state)
{
    sim_t *sim = (sim_t *) *state;
    if (!sim)
        return 0;
    int rc = 0;
    for (int i = 0; i < sim->count; i++) {
        sim_node_t *node = &sim->nodes [i];
        fed_repl_destroy (&node->repl);
        fed_evlog_destroy (&node->log);
        if (node->dir && fed_test_rmtree (node->dir))
            rc = -1;
        free (node->dir);
        fed_identity_destroy (&node->identity);
    }
    for (size_t i = 0; i < sim->sent; i++)
        free (sim->packets [i].data);
    free (sim->packets);
    fed_identity_destroy (&sim->extra);
    fed_identity_destroy (&sim->stranger);
    free (sim);
    *state = NULL;
    return rc;
}

static void
s_sim_destroy (void **state)
{
    assert_int_equal (s_sim_remove (state), 0);
}

//  Decodes a packet for inspection; the caller clears msg.
static void
s_decode (const packet_t *packet, fed_wire_msg_t *msg)
{
    fed_err_t err = {0, ""};
    int rc = fed_wire_decode (packet->data, packet->size, msg, &err);
    if (rc)
        print_error ("packet does not decode: %s\n", err.text);
    assert_int_equal (rc, 0);
}

//  Hands msg to node to's repl as if from node from, bypassing the codec.
static void
s_receive (sim_t *sim, int from, int to, const fed_wire_msg_t *msg)
{
    sim->current_from = from;
    fed_repl_receive (sim->nodes [to].repl, s_id (sim, from), msg);
    sim->current_from = -1;
}

//  Delivers packets in order until none is left. Returns how many.
static size_t
s_deliver_all (sim_t *sim)
{
    size_t delivered = 0;
    while (sim->next < sim->sent) {
        assert_true (delivered++ < DELIVER_MAX);
        packet_t packet = sim->packets [sim->next++]; //  the array may move
        fed_wire_msg_t msg;
        s_decode (&packet, &msg);
        s_receive (sim, packet.from, packet.to, &msg);
        fed_wire_msg_clear (&msg);
    }
    return delivered;
}

//  Packets sent since first of type (0: any) from and to (-1: anyone).
static size_t
s_packets (sim_t *sim, size_t first, fed_wire_type_t type, int from, int to)
{
    size_t count = 0;
    for (size_t i = first; i < sim->sent; i++) {
        const packet_t *packet = &sim->packets [i];
        if ((type == 0 || packet->type == type) && (from < 0 || packet->from == from)
            && (to < 0 || packet->to == to))
            count++;
    }
    return count;
}

//  --- Events --------------------------------------------------------------

//  Appends count events to node's log, bodies {"n": k} padded with a
//  string of pad bytes. Returns the first seq.
static uint64_t
s_append (sim_node_t *node, size_t count, size_t pad)
{
    assert_true (pad < 200);
    enum { CHUNK = 500, BODY = 256 };
    fed_new_event_t *items = (fed_new_event_t *) calloc (CHUNK, sizeof (fed_new_event_t));
    uint8_t (*bodies) [BODY] = calloc (CHUNK, BODY);
    uint64_t first = 0;
    for (size_t done = 0; done < count;) {
        size_t chunk = count - done < CHUNK ? count - done : CHUNK;
        for (size_t i = 0; i < chunk; i++) {
            uint8_t *body = bodies [i];
            uint16_t n = (uint16_t) (done + i + 1);
            uint8_t head [] = {0x82,        0xa1, 'n', 0xcd, (uint8_t) (n >> 8),
                               (uint8_t) n, 0xa1, 'p', 0xd9, (uint8_t) pad};
            memcpy (body, head, sizeof head);
            memset (body + sizeof head, 'x', pad);
            items [i] = (fed_new_event_t){"test.n", body, sizeof head + pad};
        }
        uint64_t seq = 0;
        fed_err_t err = {0, ""};
        int rc = fed_evlog_append_many (node->log, items, chunk, &seq, &err);
        if (rc)
            print_error ("append failed: %s\n", err.text);
        assert_int_equal (rc, 0);
        if (!first)
            first = seq;
        done += chunk;
    }
    free (items);
    free (bodies);
    return first;
}

//  Origin key's events 1..count, linked and signed, into events.
static void
s_sign_chain (const fed_identity_t *key, fed_event_t **events, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        uint8_t body [] = {0x81, 0xa1, 'n', (uint8_t) (i + 1)};
        fed_err_t err = {0, ""};
        events [i] = fed_event_sign (fed_identity_secret (key), fed_identity_public (key), i + 1,
                                     i ? fed_event_id (events [i - 1]) : NULL, 1000 + i, "test.x",
                                     body, sizeof body, NULL, &err);
        assert_non_null (events [i]);
    }
}

//  Stores events [0..count) in node's log directly (not through the repl).
static void
s_give (sim_node_t *node, fed_event_t **events, size_t count)
{
    fed_blob_t blobs [16];
    assert_true (count <= 16);
    for (size_t i = 0; i < count; i++)
        blobs [i] = (fed_blob_t){fed_event_bytes (events [i]), fed_event_size (events [i])};
    fed_accept_report_t report;
    assert_int_equal (fed_evlog_accept (node->log, blobs, count, &report), 0);
    assert_int_equal (report.accepted, count);
}

//  The exact bytes of every stored event of every origin must be the same
//  in logs a and b.
static void
s_assert_same_log (fed_evlog_t *a, fed_evlog_t *b)
{
    fed_vv_entry_t *va, *vb;
    size_t ca = fed_evlog_version_vector (a, &va);
    size_t cb = fed_evlog_version_vector (b, &vb);
    assert_int_equal (ca, cb);
    for (size_t i = 0; i < ca; i++) {
        assert_memory_equal (va [i].origin, vb [i].origin, 32);
        assert_int_equal (va [i].seq, vb [i].seq);
        assert_memory_equal (va [i].id, vb [i].id, 32);
    }
    assert_int_equal (fed_evlog_count (a), fed_evlog_count (b));
    assert_int_equal (fed_evlog_pending (a), 0);
    assert_int_equal (fed_evlog_pending (b), 0);
    free (va);
    free (vb);
}

//  An EVENTS packet's events: count, total bytes, and each event's (origin
//  node or -1, seq) checked against the genuine bytes the origin holds.
typedef struct {
    uint32_t count;
    size_t bytes;
    uint64_t first_seq, last_seq;
    bool genuine; //  every event byte-identical to the one its origin's log holds
} events_info_t;

static events_info_t
s_events_info (sim_t *sim, const packet_t *packet)
{
    events_info_t info = {0, 0, 0, 0, true};
    fed_wire_msg_t msg;
    s_decode (packet, &msg);
    assert_int_equal (msg.type, FED_WIRE_EVENTS);
    info.count = msg.u.events.count;
    for (uint32_t i = 0; i < msg.u.events.count; i++) {
        const fed_blob_t *blob = &msg.u.events.events [i];
        info.bytes += blob->size;
        fed_event_t *event = NULL;
        fed_err_t err = {0, ""};
        assert_int_equal (fed_event_decode (blob->data, blob->size, NULL, &event, &err), 0);
        uint64_t seq = fed_event_seq (event);
        if (i == 0)
            info.first_seq = seq;
        info.last_seq = seq;
        int origin = s_index_of (sim, fed_event_origin (event));
        fed_event_t *held = origin >= 0
            ? fed_evlog_get (sim->nodes [origin].log, fed_event_origin (event), seq)
            : NULL;
        if (!held || fed_event_size (held) != blob->size
            || memcmp (fed_event_bytes (held), blob->data, blob->size) != 0)
            info.genuine = false;
        fed_event_destroy (&held);
        fed_event_destroy (&event);
    }
    fed_wire_msg_clear (&msg);
    return info;
}

//  --- 1. Push coalescing --------------------------------------------------

static void
test_push_burst_travels_as_one_message (void **state)
{
    fed_repl_options_t options = s_options ();
    options.fanout = 3;
    for (int nodes = 3; nodes <= 5; nodes++) {
        sim_t *sim = s_sim_new (state, nodes, &options);
        sim_node_t *a = &sim->nodes [0];
        uint64_t first = s_append (a, 3, 0);
        assert_int_equal (first, 1);
        assert_true (fed_repl_push (a->repl, s_id (sim, 0), 1));
        assert_false (fed_repl_push (a->repl, s_id (sim, 0), 2));
        assert_false (fed_repl_push (a->repl, s_id (sim, 0), 3));
        assert_int_equal (sim->sent, 0); //  queued, not sent
        fed_repl_flush (a->repl);
        size_t expected =
            (size_t) (nodes - 1) < options.fanout ? (size_t) (nodes - 1) : options.fanout;
        if (sim->sent != expected)
            print_error ("%d nodes, fanout 3: expected %zu EVENTS, got %zu\n", nodes, expected,
                         sim->sent);
        assert_int_equal (sim->sent, expected);
        bool seen [NODES_MAX] = {false};
        for (size_t i = 0; i < sim->sent; i++) {
            const packet_t *packet = &sim->packets [i];
            assert_int_equal (packet->type, FED_WIRE_EVENTS);
            assert_int_equal (packet->from, 0);
            assert_false (seen [packet->to]); //  one message per peer
            seen [packet->to] = true;
            events_info_t info = s_events_info (sim, packet);
            assert_int_equal (info.count, 3);
            assert_int_equal (info.first_seq, 1);
            assert_int_equal (info.last_seq, 3);
            assert_true (info.genuine);
        }
        //  The queue is empty: a second flush sends nothing.
        fed_repl_flush (a->repl);
        assert_int_equal (sim->sent, expected);
        fed_repl_stats_t stats;
        fed_repl_stats (a->repl, &stats);
        assert_int_equal (stats.pushed, 1);
        //  Everyone ends with the three, by push and rumour.
        s_deliver_all (sim);
        for (int i = 1; i < nodes; i++)
            s_assert_same_log (a->log, sim->nodes [i].log);
        //  After a flush, the next append starts a new burst: push says so,
        //  which is what makes the transport schedule the next flush.
        s_append (a, 1, 0);
        assert_true (fed_repl_push (a->repl, s_id (sim, 0), 4));
        s_sim_destroy (state);
    }
}

static void
test_push_off_sends_nothing (void **state)
{
    fed_repl_options_t options = s_options ();
    options.push = false;
    sim_t *sim = s_sim_new (state, 3, &options);
    sim_node_t *a = &sim->nodes [0];
    s_append (a, 3, 0);
    for (uint64_t seq = 1; seq <= 3; seq++)
        assert_false (fed_repl_push (a->repl, s_id (sim, 0), seq));
    fed_repl_flush (a->repl);
    assert_int_equal (sim->sent, 0);
    fed_repl_stats_t stats;
    fed_repl_stats (a->repl, &stats);
    assert_int_equal (stats.pushed, 0);
    assert_int_equal (stats.events_sent, 0);
    //  Nor are events forwarded: B takes A's three through a DIGEST round
    //  and passes nothing on to C (anti-entropy alone, as configured).
    fed_repl_tick (sim->nodes [1].repl, options.interval_ms);
    s_deliver_all (sim);
    assert_int_equal (fed_evlog_count (sim->nodes [1].log), 3);
    assert_int_equal (s_packets (sim, 0, FED_WIRE_EVENTS, 1, 2), 0);
    assert_int_equal (fed_evlog_count (sim->nodes [2].log), 0);
    s_sim_destroy (state);
}

//  Pushes seq 1..count of node 0 (already appended) and flushes; every
//  EVENTS message must respect both bounds, be as full as they allow, and
//  reach every peer in order.
//  Returns the number of messages per peer.
static size_t
s_push_bounded (sim_t *sim, uint64_t count, const fed_repl_options_t *options)
{
    sim_node_t *a = &sim->nodes [0];
    for (uint64_t seq = 1; seq <= count; seq++)
        assert_true (fed_repl_push (a->repl, s_id (sim, 0), seq) == (seq == 1));
    fed_repl_flush (a->repl);
    uint64_t next [NODES_MAX] = {1, 1, 1, 1, 1};
    for (size_t i = 0; i < sim->sent; i++) {
        const packet_t *packet = &sim->packets [i];
        assert_int_equal (packet->type, FED_WIRE_EVENTS);
        events_info_t info = s_events_info (sim, packet);
        if (info.count > options->batch_events || info.bytes > options->batch_bytes) {
            print_error ("EVENTS of %u events, %zu bytes: over %u events or %zu bytes\n",
                         info.count, info.bytes, options->batch_events, options->batch_bytes);
            fail ();
        }
        assert_true (info.genuine);
        assert_int_equal (info.first_seq, next [packet->to]);
        next [packet->to] = info.last_seq + 1;
        //  Not cut short: the next event would not have fitted.
        if (info.last_seq < count && info.count < options->batch_events) {
            fed_event_t *after = fed_evlog_get (a->log, s_id (sim, 0), info.last_seq + 1);
            assert_true (info.bytes + fed_event_size (after) > options->batch_bytes);
            fed_event_destroy (&after);
        }
    }
    for (int i = 1; i < sim->count; i++)
        assert_int_equal (next [i], count + 1);
    return sim->sent / (size_t) (sim->count - 1);
}

static void
test_push_over_batch_is_several_bounded_messages (void **state)
{
    //  Bound by events: 25 in messages of 10, 10, 5.
    fed_repl_options_t options = s_options ();
    options.fanout = 2;
    options.batch_events = 10;
    sim_t *sim = s_sim_new (state, 3, &options);
    s_append (&sim->nodes [0], 25, 0);
    assert_int_equal (s_push_bounded (sim, 25, &options), 3);
    s_deliver_all (sim);
    s_assert_same_log (sim->nodes [0].log, sim->nodes [1].log);
    s_assert_same_log (sim->nodes [0].log, sim->nodes [2].log);
    s_sim_destroy (state);

    //  Bound by bytes: events of 313 to 315 bytes, at most 1,000 bytes a
    //  message: 3, 3, 3, 1.
    options.batch_events = 100;
    options.batch_bytes = 1000;
    sim = s_sim_new (state, 3, &options);
    s_append (&sim->nodes [0], 10, 150);
    fed_event_t *one = fed_evlog_get (sim->nodes [0].log, s_id (sim, 0), 1);
    size_t size = fed_event_size (one);
    fed_event_destroy (&one);
    assert_true (size * 3 <= 1000 && size * 4 > 1000); //  three per message
    assert_int_equal (s_push_bounded (sim, 10, &options), 4);
    s_deliver_all (sim);
    s_assert_same_log (sim->nodes [0].log, sim->nodes [2].log);
    s_sim_destroy (state);
}

//  --- 2. Rumour spreading -------------------------------------------------

static void
test_rumour_forwarded_once_never_back (void **state)
{
    //  Four nodes, all linked, fanout 3: A pushes one event to B, C and D;
    //  each forwards it once to the two others (not to A, its sender); the
    //  copies arriving later are duplicates and go no further.
    fed_repl_options_t options = s_options ();
    options.fanout = 3;
    sim_t *sim = s_sim_new (state, 4, &options);
    s_append (&sim->nodes [0], 1, 0);
    assert_true (fed_repl_push (sim->nodes [0].repl, s_id (sim, 0), 1));
    fed_repl_flush (sim->nodes [0].repl);
    s_deliver_all (sim);
    assert_int_equal (sim->sent, 3 + 3 * 2);
    assert_int_equal (s_packets (sim, 0, FED_WIRE_EVENTS, -1, -1), 9);
    assert_int_equal (s_packets (sim, 0, 0, -1, 0), 0); //  nothing back to A
    for (int i = 1; i < 4; i++) {
        sim_node_t *node = &sim->nodes [i];
        assert_int_equal (s_packets (sim, 0, FED_WIRE_EVENTS, i, -1), 2);
        assert_int_equal (s_packets (sim, 0, FED_WIRE_EVENTS, -1, i), 3);
        assert_int_equal (fed_evlog_count (node->log), 1);
        fed_repl_stats_t stats;
        fed_repl_stats (node->repl, &stats);
        assert_int_equal (stats.events_received, 3);
        assert_int_equal (stats.events_stored, 1);
        fed_evlog_stats_t log_stats;
        fed_evlog_stats (node->log, &log_stats);
        assert_int_equal (log_stats.received [FED_EVENT_OK], 1);
        assert_int_equal (log_stats.received [FED_EVENT_DUPLICATE], 2);
        assert_int_equal (node->stored_calls, 1);
        assert_int_equal (node->stored_events, 1);
        s_assert_same_log (sim->nodes [0].log, node->log);
    }
    for (size_t i = 0; i < sim->sent; i++)
        assert_true (s_events_info (sim, &sim->packets [i]).genuine);

    //  The same event once more, from C to B: stored already, so silent.
    size_t before = sim->sent;
    s_resend (sim, 0, 2, 1);
    s_deliver_all (sim);
    assert_int_equal (sim->sent, before + 1);
    assert_int_equal (fed_evlog_count (sim->nodes [1].log), 1);
    fed_repl_stats_t stats;
    fed_repl_stats (sim->nodes [1].repl, &stats);
    assert_int_equal (stats.events_received, 4);
    assert_int_equal (stats.events_stored, 1);
    s_sim_destroy (state);
}

static void
test_rumour_along_a_line (void **state)
{
    //  A - B - C - D: each hop forwards to the next and never back.
    fed_repl_options_t options = s_options ();
    sim_t *sim = s_sim_new (state, 4, &options);
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++)
            sim->nodes [i].links [j] = j == i - 1 || j == i + 1;
    s_append (&sim->nodes [0], 2, 0);
    assert_true (fed_repl_push (sim->nodes [0].repl, s_id (sim, 0), 1));
    assert_false (fed_repl_push (sim->nodes [0].repl, s_id (sim, 0), 2));
    fed_repl_flush (sim->nodes [0].repl);
    s_deliver_all (sim);
    assert_int_equal (sim->sent, 3);
    for (int hop = 0; hop < 3; hop++) {
        const packet_t *packet = &sim->packets [hop];
        assert_int_equal (packet->type, FED_WIRE_EVENTS);
        assert_int_equal (packet->from, hop);
        assert_int_equal (packet->to, hop + 1);
        events_info_t info = s_events_info (sim, packet);
        assert_int_equal (info.count, 2);
        assert_true (info.genuine);
    }
    for (int i = 1; i < 4; i++)
        s_assert_same_log (sim->nodes [0].log, sim->nodes [i].log);
    s_sim_destroy (state);
}

//  --- 3. Anti-entropy for a node far behind -------------------------------

//  The last seq of each EVENTS message when origin's seq 1..count are
//  packed in order under both bounds: what every answer must send. Caller
//  frees; *messages_p receives how many.
static uint64_t *
s_packing (fed_evlog_t *log, const uint8_t origin [32], uint64_t count,
           const fed_repl_options_t *options, size_t *messages_p)
{
    uint64_t *ends = (uint64_t *) calloc (count + 1, sizeof (uint64_t));
    size_t messages = 0, events = 0, bytes = 0;
    for (uint64_t seq = 1; seq <= count; seq++) {
        fed_event_t *event = fed_evlog_get (log, origin, seq);
        size_t size = fed_event_size (event);
        fed_event_destroy (&event);
        if (events == options->batch_events || (events && bytes + size > options->batch_bytes)) {
            ends [messages++] = seq - 1;
            events = bytes = 0;
        }
        events++;
        bytes += size;
    }
    ends [messages++] = count;
    *messages_p = messages;
    return ends;
}

//  B (empty) sends one DIGEST to A (holding count events); delivery alone,
//  with no further tick, must bring B to all of them. Every EVENTS must be
//  within the bounds and cut where packing says, and nothing sent twice.
//  Returns the round trips (B's DIGEST and WANTs).
static size_t
s_catch_up (void **state, size_t count, size_t pad, const fed_repl_options_t *options,
            size_t *messages_p)
{
    sim_t *sim = s_sim_new (state, 2, options);
    sim->frame_max = 2 * options->batch_bytes; //  as the node sizes batch_bytes
    sim_node_t *a = &sim->nodes [0], *b = &sim->nodes [1];
    s_append (a, count, pad);
    size_t expected;
    uint64_t *ends = s_packing (a->log, s_id (sim, 0), count, options, &expected);
    fed_repl_tick (b->repl, options->interval_ms - 1);
    assert_int_equal (sim->sent, 0); //  not due yet
    fed_repl_tick (b->repl, options->interval_ms);
    assert_int_equal (sim->sent, 1);
    assert_int_equal (sim->packets [0].type, FED_WIRE_DIGEST);
    s_deliver_all (sim);
    s_assert_same_log (a->log, b->log);
    assert_int_equal (fed_evlog_seq (b->log, s_id (sim, 0)), count);

    uint64_t next = 1;
    size_t messages = 0;
    for (size_t i = 0; i < sim->sent; i++) {
        const packet_t *packet = &sim->packets [i];
        if (packet->type != FED_WIRE_EVENTS)
            continue;
        assert_int_equal (packet->from, 0);
        events_info_t info = s_events_info (sim, packet);
        if (info.count > options->batch_events || info.bytes > options->batch_bytes) {
            print_error ("EVENTS of %u events, %zu bytes: over %u events or %zu bytes\n",
                         info.count, info.bytes, options->batch_events, options->batch_bytes);
            fail ();
        }
        assert_int_equal (info.first_seq, next); //  in order, nothing twice
        assert_true (messages < expected);
        assert_int_equal (info.last_seq, ends [messages]);
        next = info.last_seq + 1;
        messages++;
    }
    assert_int_equal (next, count + 1);
    assert_int_equal (messages, expected);
    free (ends);
    //  Only B asked: its one DIGEST, then WANTs.
    assert_int_equal (s_packets (sim, 0, FED_WIRE_DIGEST, 1, 0), 1);
    size_t trips = s_packets (sim, 0, 0, 1, 0);
    assert_int_equal (trips, 1 + s_packets (sim, 0, FED_WIRE_WANT, 1, 0));
    fed_repl_stats_t stats;
    fed_repl_stats (b->repl, &stats);
    assert_int_equal (stats.events_stored, count);
    assert_int_equal (stats.events_received, count);
    assert_int_equal (stats.digests_sent, 1);
    //  Each answer but the last was cut short and followed by A's DIGEST;
    //  so is the last when it used all its batches (A cannot tell that
    //  nothing is left).
    bool last_full = messages == trips * options->reply_batches;
    size_t answers_cut = trips - 1 + last_full;
    assert_int_equal (s_packets (sim, 0, FED_WIRE_DIGEST, 0, 1), answers_cut);
    assert_int_equal (sim->sent, trips + messages + answers_cut); //  nothing else
    *messages_p = messages;
    s_sim_destroy (state);
    return trips;
}

static void
test_anti_entropy_far_behind_one_round (void **state)
{
    fed_repl_options_t options = s_options ();
    options.batch_events = 100;
    options.reply_batches = 2;
    options.batch_bytes = 64 * 1024;
    size_t messages;
    size_t trips = s_catch_up (state, 10000, 0, &options, &messages);
    assert_int_equal (messages, 10000 / 100);
    assert_int_equal (trips, 10000 / (100 * 2));
}

static void
test_anti_entropy_bound_by_bytes (void **state)
{
    //  Events of 313 to 315 bytes, at most 2,600 bytes a message: 8 a
    //  message, not the 100 batch_events allows.
    fed_repl_options_t options = s_options ();
    options.batch_events = 100;
    options.reply_batches = 2;
    options.batch_bytes = 2600;
    size_t messages;
    size_t trips = s_catch_up (state, 1000, 150, &options, &messages);
    assert_int_equal (messages, 1000 / 8);
    assert_int_equal (trips, (messages + 1) / 2);
}

//  B is behind two peers that hold the same 120 events and sends its
//  DIGEST to both: each answers with a first bounded step, but only one
//  chain of WANTs goes on (a WANT in flight to one peer is not sent to
//  another), so B takes each event about once, not once per peer.
static void
test_catch_up_from_two_peers_fetches_once (void **state)
{
    fed_repl_options_t options = s_options ();
    options.batch_events = 10;
    options.reply_batches = 2;
    options.fanout = 2;
    sim_t *sim = s_sim_new (state, 3, &options);
    sim_node_t *a = &sim->nodes [0], *b = &sim->nodes [1], *c = &sim->nodes [2];
    enum { EVENTS = 120 }; //  s_sign_chain's bodies hold seq as a fixint
    fed_event_t **x = (fed_event_t **) calloc (EVENTS, sizeof (fed_event_t *));
    s_sign_chain (sim->extra, x, EVENTS);
    for (int i = 0; i < EVENTS; i += 10) {
        s_give (a, x + i, 10);
        s_give (c, x + i, 10);
    }
    fed_repl_tick (b->repl, options.interval_ms);
    s_deliver_all (sim);
    s_assert_same_log (a->log, b->log);
    fed_repl_stats_t stats;
    fed_repl_stats (b->repl, &stats);
    //  Both first answers (2 x 20), then one chain for the rest.
    if (stats.events_received > EVENTS + 20)
        print_error ("B received %llu events for %d\n", (unsigned long long) stats.events_received,
                     EVENTS);
    assert_true (stats.events_received <= EVENTS + 20);
    assert_true (stats.wants_suppressed >= 1);
    for (int i = 0; i < EVENTS; i++)
        fed_event_destroy (&x [i]);
    free (x);
    s_sim_destroy (state);
}

//  --- 4. Both directions --------------------------------------------------

static void
test_one_digest_converges_both_ways (void **state)
{
    //  A holds A 1..5 and X 1..3; B holds B 1..7 and X 1..6.
    fed_repl_options_t options = s_options ();
    sim_t *sim = s_sim_new (state, 2, &options);
    sim_node_t *a = &sim->nodes [0], *b = &sim->nodes [1];
    s_append (a, 5, 0);
    s_append (b, 7, 0);
    fed_event_t *x [6];
    s_sign_chain (sim->extra, x, 6);
    s_give (a, x, 3);
    s_give (b, x, 6);
    fed_repl_tick (a->repl, options.interval_ms);
    s_deliver_all (sim);
    s_assert_same_log (a->log, b->log);
    assert_int_equal (fed_evlog_count (a->log), 5 + 7 + 6);
    //  A's DIGEST; B's WANT for A 1..5 and EVENTS with B 1..7 and X 4..6;
    //  A's EVENTS with A 1..5. Nothing else.
    assert_int_equal (sim->sent, 4);
    assert_int_equal (s_packets (sim, 0, FED_WIRE_DIGEST, -1, -1), 1);
    assert_int_equal (s_packets (sim, 0, FED_WIRE_WANT, 1, 0), 1);
    assert_int_equal (s_packets (sim, 0, FED_WIRE_EVENTS, 1, 0), 1);
    assert_int_equal (s_packets (sim, 0, FED_WIRE_EVENTS, 0, 1), 1);
    for (size_t i = 0; i < sim->sent; i++) {
        const packet_t *packet = &sim->packets [i];
        if (packet->type == FED_WIRE_EVENTS)
            assert_int_equal (s_events_info (sim, packet).count, packet->from == 1 ? 10 : 5);
        if (packet->type == FED_WIRE_WANT) {
            fed_wire_msg_t msg;
            s_decode (packet, &msg);
            assert_memory_equal (msg.u.want.origin, s_id (sim, 0), 32);
            assert_int_equal (msg.u.want.from, 1);
            assert_int_equal (msg.u.want.to, 5);
            fed_wire_msg_clear (&msg);
        }
    }
    for (int i = 0; i < 6; i++)
        fed_event_destroy (&x [i]);
    s_sim_destroy (state);
}

//  --- 5. Gaps -------------------------------------------------------------

//  An EVENTS message holding origin node's seq from..to, as its log has them.
static void
s_enqueue_range (sim_t *sim, int origin, uint64_t from, uint64_t to, int sender, int receiver)
{
    fed_blob_t blobs [16];
    fed_event_t *events [16];
    size_t count = 0;
    for (uint64_t seq = from; seq <= to; seq++, count++) {
        events [count] = fed_evlog_get (sim->nodes [origin].log, s_id (sim, origin), seq);
        assert_non_null (events [count]);
        blobs [count] =
            (fed_blob_t){fed_event_bytes (events [count]), fed_event_size (events [count])};
    }
    fed_wire_msg_t msg = {.type = FED_WIRE_EVENTS};
    msg.u.events.events = blobs;
    msg.u.events.count = (uint32_t) count;
    s_enqueue (sim, sender, receiver, &msg);
    for (size_t i = 0; i < count; i++)
        fed_event_destroy (&events [i]);
}

static void
test_gap_is_asked_for_from_the_sender (void **state)
{
    fed_repl_options_t options = s_options ();
    sim_t *sim = s_sim_new (state, 3, &options);
    sim_node_t *a = &sim->nodes [0], *b = &sim->nodes [1];
    s_append (a, 10, 0);
    //  A's 5..10 reach B before 1..4.
    s_enqueue_range (sim, 0, 5, 10, 0, 1);
    s_deliver_all (sim);
    //  B held them back, asked A (not C) for 1..4 once, stored all ten,
    //  and forwarded them once to C (not back to A), which passed them to A.
    s_assert_same_log (a->log, b->log);
    s_assert_same_log (a->log, sim->nodes [2].log);
    assert_int_equal (sim->sent, 5);
    assert_int_equal (s_packets (sim, 0, FED_WIRE_WANT, -1, -1), 1);
    const packet_t *want = &sim->packets [1];
    assert_int_equal (want->type, FED_WIRE_WANT);
    assert_int_equal (want->from, 1);
    assert_int_equal (want->to, 0);
    fed_wire_msg_t msg;
    s_decode (want, &msg);
    assert_memory_equal (msg.u.want.origin, s_id (sim, 0), 32);
    assert_int_equal (msg.u.want.from, 1);
    assert_int_equal (msg.u.want.to, 4);
    fed_wire_msg_clear (&msg);
    events_info_t answer = s_events_info (sim, &sim->packets [2]);
    assert_int_equal (sim->packets [2].from, 0);
    assert_int_equal (answer.first_seq, 1);
    assert_int_equal (answer.last_seq, 4);
    assert_int_equal (s_packets (sim, 0, FED_WIRE_EVENTS, 1, 2), 1);
    assert_int_equal (s_events_info (sim, &sim->packets [3]).count, 10);
    assert_int_equal (s_packets (sim, 0, FED_WIRE_EVENTS, 1, 0), 0);
    fed_repl_stats_t stats;
    fed_repl_stats (b->repl, &stats);
    assert_int_equal (stats.events_stored, 10);
    assert_int_equal (stats.wants_sent, 1);
    assert_int_equal (b->stored_calls, 1); //  nothing stored by the first, ten by the second
    assert_int_equal (b->stored_events, 10);
    fed_gap_t *gaps;
    assert_int_equal (fed_evlog_gaps (b->log, &gaps), 0);
    free (gaps);
    s_sim_destroy (state);
}

//  --- 6. Bad input ---------------------------------------------------------

//  A copy of event's bytes with one byte flipped at offset at. Caller frees.
static uint8_t *
s_flipped (const fed_event_t *event, size_t at, uint8_t bits)
{
    uint8_t *copy = (uint8_t *) malloc (fed_event_size (event));
    memcpy (copy, fed_event_bytes (event), fed_event_size (event));
    copy [at] ^= bits;
    return copy;
}

//  Sends blobs as one EVENTS from A to B and delivers everything.
static void
s_bad_events (sim_t *sim, const fed_blob_t *blobs, uint32_t count)
{
    fed_wire_msg_t msg = {.type = FED_WIRE_EVENTS};
    msg.u.events.events = blobs;
    msg.u.events.count = count;
    s_enqueue (sim, 0, 1, &msg);
    s_deliver_all (sim);
}

static void
test_bad_input_is_refused_and_counted (void **state)
{
    fed_repl_options_t options = s_options ();
    sim_t *sim = s_sim_new (state, 3, &options);
    sim_node_t *a = &sim->nodes [0], *b = &sim->nodes [1];
    s_append (a, 3, 0);
    fed_event_t *ev [3];
    for (uint64_t seq = 1; seq <= 3; seq++)
        ev [seq - 1] = fed_evlog_get (a->log, s_id (sim, 0), seq);
    const uint8_t *x = fed_identity_public (sim->extra);

    //  A DIGEST naming an origin B has never heard of: B WANTs all of it
    //  from the sender (who has none of it either, so answers nothing).
    fed_wire_vv_entry_t entry;
    memcpy (entry.origin, x, 32);
    entry.seq = 4;
    fed_wire_msg_t digest = {.type = FED_WIRE_DIGEST};
    digest.u.digest.entries = &entry;
    digest.u.digest.count = 1;
    s_enqueue (sim, 0, 1, &digest);
    s_deliver_all (sim);
    assert_int_equal (sim->sent, 2);
    assert_int_equal (sim->packets [1].type, FED_WIRE_WANT);
    assert_int_equal (sim->packets [1].to, 0);
    fed_wire_msg_t want;
    s_decode (&sim->packets [1], &want);
    assert_memory_equal (want.u.want.origin, x, 32);
    assert_int_equal (want.u.want.from, 1);
    assert_int_equal (want.u.want.to, 4);
    fed_wire_msg_clear (&want);

    //  A body byte flipped (the low byte of "n", so the body is still a
    //  well-formed map); a signature bit flipped; an untrusted origin; an
    //  empty EVENTS. All refused, none answered, nothing forwarded.
    size_t n_at = (size_t) (fed_event_body (ev [0]) - fed_event_bytes (ev [0])) + 5;
    uint8_t *bad_body = s_flipped (ev [0], n_at, 0x01);
    uint8_t *bad_sig = s_flipped (ev [0], fed_event_size (ev [0]) - 1, 0x80);
    fed_event_t *foreign;
    s_sign_chain (sim->stranger, &foreign, 1);
    size_t sent = sim->sent;
    s_bad_events (sim, &(fed_blob_t){bad_body, fed_event_size (ev [0])}, 1);
    s_bad_events (sim, &(fed_blob_t){bad_sig, fed_event_size (ev [0])}, 1);
    s_bad_events (sim, &(fed_blob_t){fed_event_bytes (foreign), fed_event_size (foreign)}, 1);
    s_bad_events (sim, NULL, 0);
    assert_int_equal (sim->sent, sent + 4); //  just the four sent to B
    assert_int_equal (fed_evlog_count (b->log), 0);
    fed_evlog_stats_t log_stats;
    fed_evlog_stats (b->log, &log_stats);
    assert_int_equal (log_stats.received [FED_EVENT_BAD_SIGNATURE], 2);
    assert_int_equal (log_stats.received [FED_EVENT_UNTRUSTED], 1);
    assert_int_equal (log_stats.received [FED_EVENT_MALFORMED], 0);
    fed_repl_stats_t stats;
    fed_repl_stats (b->repl, &stats);
    assert_int_equal (stats.events_received, 3);
    assert_int_equal (stats.events_stored, 0);
    assert_int_equal (stats.store_failures, 0);
    assert_int_equal (b->stored_calls, 0);

    //  1, a tampered 2, 3: 1 is kept and forwarded, the tampered 2 is
    //  refused and never forwarded, 3 waits for the genuine 2, which B
    //  asks A for. B ends with the genuine three.
    uint8_t *bad_two = s_flipped (ev [1], n_at, 0x01);
    fed_blob_t mixed [3] = {{fed_event_bytes (ev [0]), fed_event_size (ev [0])},
                            {bad_two, fed_event_size (ev [1])},
                            {fed_event_bytes (ev [2]), fed_event_size (ev [2])}};
    sent = sim->sent;
    s_bad_events (sim, mixed, 3);
    s_assert_same_log (a->log, b->log);
    s_assert_same_log (a->log, sim->nodes [2].log);
    fed_evlog_stats (b->log, &log_stats);
    assert_int_equal (log_stats.received [FED_EVENT_BAD_SIGNATURE], 3);
    assert_int_equal (s_packets (sim, sent, FED_WIRE_WANT, 1, 0), 1);
    for (size_t i = sent + 1; i < sim->sent; i++)
        if (sim->packets [i].type == FED_WIRE_EVENTS)
            assert_true (s_events_info (sim, &sim->packets [i]).genuine);

    //  A WANT with from > to cannot be written or read by the codec; handed
    //  to the repl anyway, it is answered with nothing.
    fed_wire_msg_t backwards = {.type = FED_WIRE_WANT};
    memcpy (backwards.u.want.origin, s_id (sim, 0), 32);
    backwards.u.want.from = 2;
    backwards.u.want.to = 1;
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    assert_int_equal (fed_wire_encode (&backwards, &buffer), -1);
    assert_int_equal (buffer.size, 0);
    backwards.u.want.to = 3;
    assert_int_equal (fed_wire_encode (&backwards, &buffer), 0);
    //  Rewrite 'to' (the last byte, a fixint) to 1 and decode.
    assert_int_equal (buffer.data [buffer.size - 1], 3);
    buffer.data [buffer.size - 1] = 1;
    fed_wire_msg_t decoded;
    fed_err_t err = {0, ""};
    assert_int_equal (fed_wire_decode (buffer.data, buffer.size, &decoded, &err), FED_MALFORMED);
    assert_int_equal (err.code, FED_WIRE_DROP_MALFORMED);
    msgpack_sbuffer_destroy (&buffer);
    backwards.u.want.to = 1;
    sent = sim->sent;
    s_receive (sim, 2, 1, &backwards);
    assert_int_equal (sim->sent, sent);

    //  A WANT for an origin B does not hold: nothing to send.
    fed_wire_msg_t unknown = {.type = FED_WIRE_WANT};
    memcpy (unknown.u.want.origin, fed_identity_public (sim->stranger), 32);
    unknown.u.want.from = 1;
    unknown.u.want.to = 5;
    s_enqueue (sim, 2, 1, &unknown);
    s_deliver_all (sim);
    assert_int_equal (sim->sent, sent + 1);
    fed_repl_stats (b->repl, &stats);
    assert_int_equal (stats.wants_received, 2);
    assert_int_equal (stats.digests_received, 1);
    assert_int_equal (stats.store_failures, 0);

    //  No tampered or foreign event ever left B or reached C.
    for (size_t i = 0; i < sim->sent; i++) {
        const packet_t *packet = &sim->packets [i];
        if (packet->type == FED_WIRE_EVENTS && packet->from != 0)
            assert_true (s_events_info (sim, packet).genuine);
        if (packet->to == 2 && packet->type == FED_WIRE_EVENTS)
            assert_true (s_events_info (sim, packet).genuine);
    }
    free (bad_body);
    free (bad_sig);
    free (bad_two);
    fed_event_destroy (&foreign);
    for (int i = 0; i < 3; i++)
        fed_event_destroy (&ev [i]);
    s_sim_destroy (state);
}

//  --- 7. What peers said they hold ----------------------------------------

//  The DIGEST in packet must be what peer holds and what repl remembers.
static void
s_assert_remembered (sim_t *sim, const packet_t *packet, const fed_repl_peer_t *peer)
{
    fed_wire_msg_t msg;
    s_decode (packet, &msg);
    assert_int_equal (msg.type, FED_WIRE_DIGEST);
    assert_memory_equal (peer->id, s_id (sim, packet->from), 32);
    assert_int_equal (peer->count, msg.u.digest.count);
    for (uint32_t i = 0; i < msg.u.digest.count; i++) {
        assert_memory_equal (peer->entries [i].origin, msg.u.digest.entries [i].origin, 32);
        assert_int_equal (peer->entries [i].seq, msg.u.digest.entries [i].seq);
    }
    fed_wire_msg_clear (&msg);
}

static void
test_peers_remember_last_digest (void **state)
{
    //  A and C (not linked to each other) each send B one DIGEST. B answers
    //  and passes events on, but no other DIGEST reaches it.
    fed_repl_options_t options = s_options ();
    sim_t *sim = s_sim_new (state, 3, &options);
    sim->nodes [0].links [2] = sim->nodes [2].links [0] = false;
    sim_node_t *b = &sim->nodes [1];
    s_append (&sim->nodes [0], 4, 0);
    s_append (&sim->nodes [2], 2, 0);
    const fed_repl_peer_t *peers;
    assert_int_equal (fed_repl_peers (b->repl, &peers), 0);
    int64_t before = fed_wall_ms ();
    fed_repl_tick (sim->nodes [0].repl, options.interval_ms);
    fed_repl_tick (sim->nodes [2].repl, options.interval_ms);
    assert_int_equal (sim->sent, 2);
    s_deliver_all (sim);
    int64_t after = fed_wall_ms ();
    assert_int_equal (s_packets (sim, 0, FED_WIRE_DIGEST, -1, 1), 2);
    assert_int_equal (fed_repl_peers (b->repl, &peers), 2);
    for (size_t i = 0; i < 2; i++) {
        //  Packets 0 and 1 are the DIGESTs of A and C, in tick order.
        int from = s_index_of (sim, peers [i].id);
        assert_true (from == 0 || from == 2);
        s_assert_remembered (sim, &sim->packets [from == 0 ? 0 : 1], &peers [i]);
        assert_int_equal (peers [i].count, 1);
        assert_int_equal (peers [i].entries [0].seq, from == 0 ? 4 : 2);
        assert_true (peers [i].at_wall_ms >= before && peers [i].at_wall_ms <= after);
    }
    //  A's next DIGEST (A 1..5 and, passed on by B, C 1..2) replaces its
    //  first; C's stays as it was.
    s_append (&sim->nodes [0], 1, 0);
    size_t first = sim->sent;
    fed_repl_tick (sim->nodes [0].repl, 2 * options.interval_ms);
    assert_int_equal (s_packets (sim, first, FED_WIRE_DIGEST, 0, 1), 1);
    s_deliver_all (sim);
    assert_int_equal (s_packets (sim, first, FED_WIRE_DIGEST, -1, 1), 1);
    assert_int_equal (fed_repl_peers (b->repl, &peers), 2);
    for (size_t i = 0; i < 2; i++) {
        bool is_a = memcmp (peers [i].id, s_id (sim, 0), 32) == 0;
        s_assert_remembered (sim, &sim->packets [is_a ? first : 1], &peers [i]);
        assert_int_equal (peers [i].count, is_a ? 2 : 1);
    }
    s_sim_destroy (state);
}

//  --- 8. Fanout at its maximum ----------------------------------------------

//  An io with 70 live peers that, as its contract says, hands out up to
//  max of them; sends are counted, not delivered.
typedef struct {
    size_t asked_max; //  the largest max io->peers was asked for
    size_t sends;
} wide_io_t;

static size_t
s_wide_peers (void *arg, uint8_t (*ids) [32], size_t max)
{
    wide_io_t *wide = (wide_io_t *) arg;
    if (max > wide->asked_max)
        wide->asked_max = max;
    size_t count = max < 70 ? max : 70;
    for (size_t i = 0; i < count; i++) {
        memset (ids [i], 0x5a, 32);
        ids [i][0] = (uint8_t) (i + 1);
    }
    return count;
}

static void
s_wide_send (void *arg, const uint8_t id [32], const fed_wire_msg_t *msg)
{
    (void) id;
    (void) msg;
    ((wide_io_t *) arg)->sends++;
}

static void
s_wide_reply (void *arg, const fed_wire_msg_t *msg)
{
    (void) arg;
    (void) msg;
    fail (); //  nothing is being answered
}

//  The widest fanout the config allows (64) with more live peers than
//  that: a push or a forward asks io->peers for fanout + 1 ids (one more,
//  to leave the sender out); the repl must have room for all of them (an
//  overflow here was found by this test, and ASan names it).
static void
test_fanout_max_stays_in_bounds (void **state)
{
    fed_repl_options_t options = s_options ();
    options.fanout = 64;
    sim_t *sim = s_sim_new (state, 1, &options);
    s_append (&sim->nodes [0], 1, 0);
    wide_io_t wide = {0, 0};
    fed_repl_io_t io = {s_wide_send, s_wide_reply, s_wide_peers, NULL, &wide};
    fed_repl_t *repl = fed_repl_new (sim->nodes [0].log, &options, &io, 0);
    assert_true (fed_repl_push (repl, s_id (sim, 0), 1));
    fed_repl_flush (repl);
    fed_repl_destroy (&repl);
    assert_int_equal (wide.sends, 64);
    assert_true (wide.asked_max <= 65);
    s_sim_destroy (state);
}

int
main (void)
{
    fed_log_set_level (FED_LOG_ERROR);
    const struct CMUnitTest tests [] = {
        cmocka_unit_test_teardown (test_push_burst_travels_as_one_message, s_sim_remove),
        cmocka_unit_test_teardown (test_push_off_sends_nothing, s_sim_remove),
        cmocka_unit_test_teardown (test_push_over_batch_is_several_bounded_messages, s_sim_remove),
        cmocka_unit_test_teardown (test_rumour_forwarded_once_never_back, s_sim_remove),
        cmocka_unit_test_teardown (test_rumour_along_a_line, s_sim_remove),
        cmocka_unit_test_teardown (test_anti_entropy_far_behind_one_round, s_sim_remove),
        cmocka_unit_test_teardown (test_anti_entropy_bound_by_bytes, s_sim_remove),
        cmocka_unit_test_teardown (test_catch_up_from_two_peers_fetches_once, s_sim_remove),
        cmocka_unit_test_teardown (test_one_digest_converges_both_ways, s_sim_remove),
        cmocka_unit_test_teardown (test_gap_is_asked_for_from_the_sender, s_sim_remove),
        cmocka_unit_test_teardown (test_bad_input_is_refused_and_counted, s_sim_remove),
        cmocka_unit_test_teardown (test_peers_remember_last_digest, s_sim_remove),
        cmocka_unit_test_teardown (test_fanout_max_stays_in_bounds, s_sim_remove),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
