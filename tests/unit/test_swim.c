/*  tests/unit/test_swim.c: SWIM membership on a simulated cluster.

    N swim instances share a virtual clock and an in-memory network that
    encodes every message with the wire codec and decodes it on delivery,
    with per-message latency, optional random loss, crashed nodes (silent,
    not ticked) and paused nodes (not ticked, messages held until they
    resume, as SIGSTOP does). Like the real transport, the first message on
    a new connection is the sender's HELLO.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "swim.h"
#include "log.h"

#include <stdlib.h>
#include <string.h>

#define NODES_MAX 16
#define QUEUE_MAX 65536
#define STEP_MS 5

typedef struct {
    int from, to;
    int64_t deliver_ms;
    uint8_t *data;
    size_t size;
} packet_t;

typedef struct sim_t sim_t;

typedef struct {
    sim_t *sim;
    int index;
    fed_swim_t *swim;
    uint8_t id [32];
    char name [16], endpoint [32];
    bool crashed, paused, untrusted;
    bool connected [NODES_MAX]; //  our connection to each node has said HELLO
    uint64_t dead_declared;     //  others declared dead, seen by changed ()
} sim_node_t;

struct sim_t {
    sim_node_t nodes [NODES_MAX];
    int count;
    int64_t now;
    packet_t *queue; //  QUEUE_MAX
    size_t queued;
    int current_from;    //  sender of the message being handled (for reply)
    uint32_t loss_per_k; //  messages lost per thousand
    bool partitioned;    //  messages between nodes of different sides are lost
    int side [NODES_MAX];
    uint32_t rng;
    uint64_t delivered;
};

static uint32_t
s_rand (sim_t *sim)
{
    sim->rng = sim->rng * 1103515245u + 12345u;
    return (sim->rng >> 8) & 0xffffff;
}

static sim_node_t *
s_by_id (sim_t *sim, const uint8_t id [32])
{
    for (int i = 0; i < sim->count; i++)
        if (memcmp (sim->nodes [i].id, id, 32) == 0)
            return &sim->nodes [i];
    return NULL;
}

static void
s_enqueue (sim_t *sim, int from, int to, const fed_wire_msg_t *msg)
{
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    assert_int_equal (fed_wire_encode (msg, &buffer), 0);
    if ((sim->loss_per_k && s_rand (sim) % 1000 < sim->loss_per_k)
        || (sim->partitioned && sim->side [from] != sim->side [to])) {
        msgpack_sbuffer_destroy (&buffer);
        return;
    }
    assert_true (sim->queued < QUEUE_MAX);
    packet_t *packet = &sim->queue [sim->queued++];
    packet->from = from;
    packet->to = to;
    packet->deliver_ms = sim->now + 1 + (int64_t) (s_rand (sim) % 3);
    packet->data = (uint8_t *) buffer.data;
    packet->size = buffer.size;
}

static void
s_send_hello (sim_node_t *node, int to)
{
    fed_wire_msg_t hello;
    memset (&hello, 0, sizeof hello);
    hello.type = FED_WIRE_HELLO;
    fed_swim_self_hello (node->swim, &hello.u.hello);
    s_enqueue (node->sim, node->index, to, &hello);
    node->connected [to] = true;
}

static void
s_io_send (void *arg, const uint8_t id [32], const fed_wire_msg_t *msg)
{
    sim_node_t *node = (sim_node_t *) arg;
    sim_node_t *peer = s_by_id (node->sim, id);
    assert_non_null (peer);
    if (node->crashed)
        return;
    if (!node->connected [peer->index])
        s_send_hello (node, peer->index);
    s_enqueue (node->sim, node->index, peer->index, msg);
}

static void
s_io_reply (void *arg, const fed_wire_msg_t *msg)
{
    sim_node_t *node = (sim_node_t *) arg;
    s_enqueue (node->sim, node->index, node->sim->current_from, msg);
}

static bool
s_io_trusted (void *arg, const uint8_t id [32])
{
    sim_node_t *node = (sim_node_t *) arg;
    sim_node_t *peer = s_by_id (node->sim, id);
    return peer && !peer->untrusted;
}

static void
s_io_changed (void *arg, const fed_member_t *member, fed_wire_state_t old_state)
{
    sim_node_t *node = (sim_node_t *) arg;
    //  Like the transport: a new member gets a connection and our HELLO.
    sim_node_t *peer = s_by_id (node->sim, member->id);
    if (old_state == 0 && peer && !member->is_self && !node->connected [peer->index])
        s_send_hello (node, peer->index);
    if (member->state == FED_WIRE_DEAD)
        node->dead_declared++;
}

static fed_swim_options_t
s_options (void)
{
    fed_swim_options_t options;
    fed_swim_options_default (&options);
    options.probe_interval_ms = 200;
    options.probe_timeout_ms = 80;
    options.suspicion_timeout_ms = 1000;
    options.sync_interval_ms = 2000;
    options.reconnect_interval_ms = 1000;
    return options;
}

//  (Re)starts node index with a fresh swim at incarnation 0.
static void
s_start_node (sim_t *sim, int index)
{
    sim_node_t *node = &sim->nodes [index];
    fed_swim_destroy (&node->swim);
    memset (node->connected, 0, sizeof node->connected);
    node->crashed = false;
    node->paused = false;
    fed_wire_hello_t self;
    memset (&self, 0, sizeof self);
    memcpy (self.id, node->id, 32);
    self.name.ptr = node->name;
    self.name.size = (uint32_t) strlen (node->name);
    self.endpoint.ptr = node->endpoint;
    self.endpoint.size = (uint32_t) strlen (node->endpoint);
    self.protocol = 1;
    fed_swim_options_t options = s_options ();
    fed_swim_io_t io = {s_io_send, s_io_reply, s_io_trusted, s_io_changed, node};
    node->swim = fed_swim_new (&options, &io, &self, sim->now);
}

static sim_t *
s_sim_new (int count)
{
    sim_t *sim = (sim_t *) calloc (1, sizeof (sim_t));
    sim->queue = (packet_t *) calloc (QUEUE_MAX, sizeof (packet_t));
    sim->count = count;
    sim->now = 1000;
    sim->rng = 42;
    for (int i = 0; i < count; i++) {
        sim_node_t *node = &sim->nodes [i];
        node->sim = sim;
        node->index = i;
        memset (node->id, 0, 32);
        node->id [0] = (uint8_t) (i + 1);
        node->id [31] = 0xa5;
        snprintf (node->name, sizeof node->name, "n%d", i);
        snprintf (node->endpoint, sizeof node->endpoint, "tcp://10.0.0.%d:7701", i + 1);
        s_start_node (sim, i);
    }
    return sim;
}

static void
s_sim_destroy (sim_t **sim_p)
{
    sim_t *sim = *sim_p;
    for (int i = 0; i < sim->count; i++)
        fed_swim_destroy (&sim->nodes [i].swim);
    for (size_t i = 0; i < sim->queued; i++)
        free (sim->queue [i].data);
    free (sim->queue);
    free (sim);
    *sim_p = NULL;
}

static void
s_deliver (sim_t *sim, packet_t *packet)
{
    sim_node_t *to = &sim->nodes [packet->to];
    fed_wire_msg_t msg;
    fed_err_t err;
    assert_int_equal (fed_wire_decode (packet->data, packet->size, &msg, &err), 0);
    sim->current_from = packet->from;
    sim->delivered++;
    const uint8_t *from_id = sim->nodes [packet->from].id;
    if (msg.type == FED_WIRE_HELLO)
        (void) fed_swim_hello (to->swim, &msg.u.hello, sim->now);
    else if (!sim->nodes [packet->from].untrusted)
        fed_swim_receive (to->swim, from_id, &msg, sim->now);
    fed_wire_msg_clear (&msg);
}

//  Advances the clock by ms, delivering and ticking as it goes.
static void
s_run (sim_t *sim, int64_t ms)
{
    int64_t end = sim->now + ms;
    while (sim->now < end) {
        sim->now += STEP_MS;
        //  Deliver what is due, in order; held packets stay. Handling may
        //  queue more packets past the old end: they wait for the next step.
        size_t old = sim->queued;
        for (size_t i = 0; i < old; i++) {
            packet_t packet = sim->queue [i];
            sim_node_t *to = &sim->nodes [packet.to];
            if (packet.deliver_ms > sim->now || to->paused)
                continue;
            sim->queue [i].data = NULL;
            if (!to->crashed && !sim->nodes [packet.from].crashed)
                s_deliver (sim, &packet);
            free (packet.data);
        }
        size_t write = 0;
        for (size_t i = 0; i < sim->queued; i++)
            if (sim->queue [i].data)
                sim->queue [write++] = sim->queue [i];
        sim->queued = write;
        for (int i = 0; i < sim->count; i++)
            if (!sim->nodes [i].crashed && !sim->nodes [i].paused)
                fed_swim_tick (sim->nodes [i].swim, sim->now);
    }
}

//  Node index's view of node about, or 0 when unknown.
static fed_wire_state_t
s_state (sim_t *sim, int index, int about)
{
    const fed_member_t *member = fed_swim_find (sim->nodes [index].swim, sim->nodes [about].id);
    return member ? member->state : (fed_wire_state_t) 0;
}

//  True when every running node other than about sees about in state.
static bool
s_all_see (sim_t *sim, int about, fed_wire_state_t state)
{
    for (int i = 0; i < sim->count; i++)
        if (i != about && !sim->nodes [i].crashed && s_state (sim, i, about) != state)
            return false;
    return true;
}

//  Runs until every running node sees about in state; returns the time it took, or -1.
static int64_t
s_run_until (sim_t *sim, int about, fed_wire_state_t state, int64_t limit_ms)
{
    int64_t start = sim->now;
    while (sim->now - start < limit_ms) {
        if (s_all_see (sim, about, state))
            return sim->now - start;
        s_run (sim, STEP_MS);
    }
    return s_all_see (sim, about, state) ? sim->now - start : -1;
}

static bool
s_all_alive (sim_t *sim)
{
    for (int about = 0; about < sim->count; about++)
        if (!sim->nodes [about].crashed && !s_all_see (sim, about, FED_WIRE_ALIVE))
            return false;
    return true;
}

//  Every node but the seed says HELLO to node 0, as --seed does.
static void
s_join_all (sim_t *sim)
{
    for (int i = 1; i < sim->count; i++)
        s_send_hello (&sim->nodes [i], 0);
    int64_t start = sim->now;
    while (!s_all_alive (sim) && sim->now - start < 10000)
        s_run (sim, STEP_MS);
    assert_true (s_all_alive (sim));
}

static uint64_t
s_dead_declared (sim_t *sim)
{
    uint64_t total = 0;
    for (int i = 0; i < sim->count; i++)
        total += sim->nodes [i].dead_declared;
    return total;
}

static void
test_join_through_one_seed (void **state)
{
    sim_t *sim = s_sim_new (8);
    s_join_all (sim);
    s_run (sim, 100); //  HELLOs sent on new connections arrive
    for (int i = 0; i < sim->count; i++) {
        const fed_member_t *const *members;
        assert_int_equal (fed_swim_members (sim->nodes [i].swim, &members), 8);
        //  Every node learnt every other's location through its HELLO.
        for (int j = 0; j < sim->count; j++)
            assert_true (fed_swim_find (sim->nodes [i].swim, sim->nodes [j].id)->has_location);
    }
    //  Quiet for a while: nobody suspected, nobody dead.
    s_run (sim, 5000);
    assert_true (s_all_alive (sim));
    assert_int_equal (s_dead_declared (sim), 0);
    s_sim_destroy (&sim);
}

static void
test_crash_is_dead_everywhere_within_bound (void **state)
{
    sim_t *sim = s_sim_new (6);
    s_join_all (sim);
    sim->nodes [3].crashed = true;
    //  The documented bound: suspicion_timeout + (2N + 2) probe intervals.
    fed_swim_options_t options = s_options ();
    int64_t bound = options.suspicion_timeout_ms + (2 * 6 + 2) * options.probe_interval_ms;
    int64_t took = s_run_until (sim, 3, FED_WIRE_DEAD, bound);
    assert_true (took >= 0);
    //  Nobody else was declared dead (one declaration per observer at most).
    for (int about = 0; about < sim->count; about++)
        if (about != 3)
            assert_true (s_all_see (sim, about, FED_WIRE_ALIVE));
    s_sim_destroy (&sim);
}

static void
test_restart_after_dead_refutes (void **state)
{
    sim_t *sim = s_sim_new (5);
    s_join_all (sim);
    sim->nodes [2].crashed = true;
    assert_true (s_run_until (sim, 2, FED_WIRE_DEAD, 10000) >= 0);
    const fed_member_t *dead = fed_swim_find (sim->nodes [0].swim, sim->nodes [2].id);
    uint64_t dead_incarnation = dead->incarnation;
    //  Restart with incarnation 0 and say HELLO to one member.
    s_start_node (sim, 2);
    s_send_hello (&sim->nodes [2], 4);
    assert_true (s_run_until (sim, 2, FED_WIRE_ALIVE, 5000) >= 0);
    for (int i = 0; i < sim->count; i++)
        assert_true (fed_swim_find (sim->nodes [i].swim, sim->nodes [2].id)->incarnation
                     > dead_incarnation);
    //  And the restarted node knows everyone again.
    s_run (sim, 2000);
    assert_true (s_all_alive (sim));
    s_sim_destroy (&sim);
}

static void
test_pause_is_suspected_then_refutes_no_false_dead (void **state)
{
    sim_t *sim = s_sim_new (6);
    s_join_all (sim);
    uint64_t dead_before = s_dead_declared (sim);
    //  Paused until suspected (at most 90% of the suspicion timeout), then
    //  resumed in time to refute.
    sim->nodes [1].paused = true;
    bool suspected = false;
    for (int step = 0; step < 900 / STEP_MS && !suspected; step++) {
        s_run (sim, STEP_MS);
        for (int i = 0; i < sim->count; i++)
            suspected |= i != 1 && s_state (sim, i, 1) == FED_WIRE_SUSPECT;
    }
    assert_true (suspected);
    sim->nodes [1].paused = false;
    assert_true (s_run_until (sim, 1, FED_WIRE_ALIVE, 3000) >= 0);
    s_run (sim, 3000);
    assert_true (s_all_alive (sim));
    //  Lifeguard's false-positive count: 0, from the paused node too.
    assert_int_equal (s_dead_declared (sim), dead_before);
    fed_swim_stats_t stats;
    fed_swim_stats (sim->nodes [1].swim, &stats);
    assert_true (stats.refuted >= 1);
    assert_true (stats.stalls >= 1);
    s_sim_destroy (&sim);
}

static void
test_loss_no_false_dead (void **state)
{
    sim_t *sim = s_sim_new (8);
    s_join_all (sim);
    //  10% of messages lost: indirect probes and refutation keep everyone alive.
    sim->loss_per_k = 100;
    s_run (sim, 30000);
    sim->loss_per_k = 0;
    s_run (sim, 3000);
    assert_int_equal (s_dead_declared (sim), 0);
    assert_true (s_all_alive (sim));
    s_sim_destroy (&sim);
}

//  True when every node holds every node of the other side dead, and its
//  own side alive.
static bool
s_sides_split (sim_t *sim)
{
    for (int i = 0; i < sim->count; i++)
        for (int j = 0; j < sim->count; j++)
            if (i != j
                && s_state (sim, i, j)
                    != (sim->side [i] == sim->side [j] ? FED_WIRE_ALIVE : FED_WIRE_DEAD))
                return false;
    return true;
}

//  2 | 4: each side declares the other dead; once traffic flows again the
//  reconnect (a dead member asked whether it is back) merges the sides.
static void
test_partition_heals (void **state)
{
    sim_t *sim = s_sim_new (6);
    s_join_all (sim);
    sim->side [0] = sim->side [1] = 1;
    sim->partitioned = true;
    fed_swim_options_t options = s_options ();
    int64_t bound = options.suspicion_timeout_ms + (2 * 6 + 2) * options.probe_interval_ms;
    int64_t start = sim->now;
    while (!s_sides_split (sim) && sim->now - start < 2 * bound)
        s_run (sim, STEP_MS);
    assert_true (s_sides_split (sim));
    //  Nothing heals while the partition lasts.
    s_run (sim, 3 * options.reconnect_interval_ms);
    assert_int_equal (s_state (sim, 2, 0), FED_WIRE_DEAD);
    assert_true (s_sides_split (sim));
    sim->partitioned = false;
    start = sim->now;
    while (!s_all_alive (sim) && sim->now - start < 20000)
        s_run (sim, STEP_MS);
    assert_true (s_all_alive (sim));
    //  One reconnect round and the gossip after it, not a full-state sync.
    assert_true (sim->now - start <= 2 * options.reconnect_interval_ms + bound);
    fed_swim_stats_t stats;
    fed_swim_stats (sim->nodes [0].swim, &stats);
    assert_true (stats.reconnects >= 1);
    s_run (sim, 3000);
    assert_true (s_all_alive (sim));
    s_sim_destroy (&sim);
}

static void
test_leave_is_left_not_dead (void **state)
{
    sim_t *sim = s_sim_new (5);
    s_join_all (sim);
    fed_swim_leave (sim->nodes [4].swim, sim->now);
    s_run (sim, 10);
    sim->nodes [4].crashed = true; //  the process is gone
    assert_true (s_run_until (sim, 4, FED_WIRE_LEFT, 3000) >= 0);
    s_run (sim, 5000);
    assert_true (s_all_see (sim, 4, FED_WIRE_LEFT));
    assert_int_equal (s_dead_declared (sim), 0);
    s_sim_destroy (&sim);
}

static void
test_untrusted_is_never_a_member (void **state)
{
    sim_t *sim = s_sim_new (4);
    sim->nodes [3].untrusted = true;
    for (int i = 1; i < 3; i++)
        s_send_hello (&sim->nodes [i], 0);
    s_send_hello (&sim->nodes [3], 0);
    s_run (sim, 3000);
    for (int i = 0; i < 3; i++) {
        assert_null (fed_swim_find (sim->nodes [i].swim, sim->nodes [3].id));
        const fed_member_t *const *members;
        assert_int_equal (fed_swim_members (sim->nodes [i].swim, &members), 3);
    }
    //  Gossip naming it is ignored and counted.
    fed_wire_update_t update;
    memset (&update, 0, sizeof update);
    memcpy (update.node, sim->nodes [3].id, 32);
    update.state = FED_WIRE_ALIVE;
    update.endpoint.ptr = "tcp://x:1";
    update.endpoint.size = 9;
    update.name.ptr = "x";
    update.name.size = 1;
    assert_false (fed_swim_apply (sim->nodes [0].swim, &update, sim->now));
    fed_swim_stats_t stats;
    fed_swim_stats (sim->nodes [0].swim, &stats);
    assert_true (stats.ignored_updates >= 1);
    s_sim_destroy (&sim);
}

//  SWIM order, one case per row: (from state, inc) then (update state, inc) -> applied?
static void
test_precedence_table (void **state)
{
    static const struct {
        fed_wire_state_t from;
        uint64_t from_inc;
        fed_wire_state_t to;
        uint64_t to_inc;
        bool applies;
    } cases [] = {
        {FED_WIRE_ALIVE, 1, FED_WIRE_ALIVE, 1, false},
        {FED_WIRE_ALIVE, 1, FED_WIRE_ALIVE, 2, true},
        {FED_WIRE_ALIVE, 2, FED_WIRE_ALIVE, 1, false},
        {FED_WIRE_ALIVE, 1, FED_WIRE_SUSPECT, 1, true},
        {FED_WIRE_ALIVE, 2, FED_WIRE_SUSPECT, 1, false},
        {FED_WIRE_SUSPECT, 1, FED_WIRE_ALIVE, 1, false},
        {FED_WIRE_SUSPECT, 1, FED_WIRE_ALIVE, 2, true},
        {FED_WIRE_SUSPECT, 1, FED_WIRE_DEAD, 1, true},
        {FED_WIRE_DEAD, 1, FED_WIRE_SUSPECT, 1, false},
        {FED_WIRE_DEAD, 1, FED_WIRE_ALIVE, 1, false},
        {FED_WIRE_DEAD, 1, FED_WIRE_ALIVE, 2, true},
        {FED_WIRE_DEAD, 1, FED_WIRE_LEFT, 1, true},
        {FED_WIRE_LEFT, 1, FED_WIRE_DEAD, 1, false},
        {FED_WIRE_LEFT, 1, FED_WIRE_ALIVE, 1, false},
        {FED_WIRE_LEFT, 1, FED_WIRE_ALIVE, 2, true},
        {FED_WIRE_ALIVE, 3, FED_WIRE_LEFT, 2, false},
        {FED_WIRE_ALIVE, 3, FED_WIRE_LEFT, 3, true},
        {FED_WIRE_LEFT, 2, FED_WIRE_LEFT, 2, false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++) {
        sim_t *sim = s_sim_new (2);
        fed_wire_update_t update;
        memset (&update, 0, sizeof update);
        memcpy (update.node, sim->nodes [1].id, 32);
        update.endpoint.ptr = "tcp://h:1";
        update.endpoint.size = 9;
        update.name.ptr = "n1";
        update.name.size = 2;
        update.state = cases [i].from;
        update.incarnation = cases [i].from_inc;
        assert_true (fed_swim_apply (sim->nodes [0].swim, &update, sim->now));
        update.state = cases [i].to;
        update.incarnation = cases [i].to_inc;
        bool applied = fed_swim_apply (sim->nodes [0].swim, &update, sim->now);
        if (applied != cases [i].applies) {
            print_error ("case %zu: %s@%llu then %s@%llu: expected %s\n", i,
                         fed_wire_state_name (cases [i].from),
                         (unsigned long long) cases [i].from_inc,
                         fed_wire_state_name (cases [i].to), (unsigned long long) cases [i].to_inc,
                         cases [i].applies ? "applied" : "ignored");
            fail ();
        }
        s_sim_destroy (&sim);
    }
}

static void
test_self_refutes_suspect_and_dead (void **state)
{
    sim_t *sim = s_sim_new (2);
    fed_swim_t *swim = sim->nodes [0].swim;
    fed_wire_update_t update;
    memset (&update, 0, sizeof update);
    memcpy (update.node, sim->nodes [0].id, 32);
    update.endpoint.ptr = "tcp://h:1";
    update.endpoint.size = 9;
    update.name.ptr = "n0";
    update.name.size = 2;
    update.state = FED_WIRE_SUSPECT;
    update.incarnation = 0;
    assert_true (fed_swim_apply (swim, &update, sim->now));
    assert_int_equal (fed_swim_find (swim, sim->nodes [0].id)->incarnation, 1);
    update.state = FED_WIRE_DEAD;
    update.incarnation = 7;
    assert_true (fed_swim_apply (swim, &update, sim->now));
    assert_int_equal (fed_swim_find (swim, sim->nodes [0].id)->incarnation, 8);
    assert_int_equal (fed_swim_find (swim, sim->nodes [0].id)->state, FED_WIRE_ALIVE);
    //  An old rumour changes nothing.
    update.incarnation = 3;
    assert_false (fed_swim_apply (swim, &update, sim->now));
    s_sim_destroy (&sim);
}

int
main (void)
{
    fed_log_set_level (FED_LOG_ERROR);
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_precedence_table),
        cmocka_unit_test (test_self_refutes_suspect_and_dead),
        cmocka_unit_test (test_join_through_one_seed),
        cmocka_unit_test (test_crash_is_dead_everywhere_within_bound),
        cmocka_unit_test (test_restart_after_dead_refutes),
        cmocka_unit_test (test_pause_is_suspected_then_refutes_no_false_dead),
        cmocka_unit_test (test_loss_no_false_dead),
        cmocka_unit_test (test_partition_heals),
        cmocka_unit_test (test_leave_is_left_not_dead),
        cmocka_unit_test (test_untrusted_is_never_a_member),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
