/*  node/swim.c: SWIM membership with suspicion (see swim.h).

    The table is an array of pointers (stable addresses for callers), self
    first. Clusters are tens to hundreds of nodes, so lookups are linear;
    the cost that matters is messages, not table scans.
*/
#include "swim.h"
#include "log.h"

#include <assert.h>
#include <sodium.h>
#include <string.h>

#define FORWARDS_MAX 64 //  PING_REQs relayed at once
#define PIGGYBACK_MAX FED_WIRE_UPDATES_MAX
#define STALL_MIN_MS 50 //  smallest gap between ticks taken as a stall

typedef struct {
    fed_member_t pub;         //  what callers see
    uint32_t gossip_left;     //  piggyback transmissions still due
    int64_t suspect_deadline; //  when a suspect becomes dead
} member_t;

//  A PING_REQ being served: our own PING to the target, and whom to tell.
typedef struct {
    uint8_t requester [32];
    uint64_t requester_seq;
    uint64_t seq; //  our PING's seq
    int64_t deadline;
} forward_t;

struct fed_swim_t {
    fed_swim_options_t options;
    fed_swim_io_t io;
    member_t **members; //  count entries, [0] is self
    size_t count;
    uint64_t next_seq; //  probe numbers, never reused
    //  The probe in flight.
    bool probing;
    uint8_t probe_target [32];
    uint64_t probe_seq;
    int64_t probe_sent_ms;
    bool probe_indirect; //  PING_REQs already sent
    int64_t next_probe_ms;
    //  Round-robin probe order: ids, shuffled each round.
    uint8_t (*order) [32];
    size_t order_count, order_pos;
    forward_t forwards [FORWARDS_MAX];
    size_t forward_count;
    int64_t last_tick_ms;
    int64_t next_sync_ms;
    int64_t next_reconnect_ms;
    fed_swim_stats_t stats;
    fed_wire_update_t piggyback [PIGGYBACK_MAX]; //  scratch for outgoing updates
};

void
fed_swim_options_default (fed_swim_options_t *options)
{
    options->probe_interval_ms = 1000;
    options->probe_timeout_ms = 500;
    options->suspicion_timeout_ms = 5000;
    options->indirect_probes = 3;
    options->retransmit_mult = 4;
    options->sync_interval_ms = 30000;
    options->reconnect_interval_ms = 10000;
}

static char *
s_strndup (const char *ptr, size_t size)
{
    char *copy = (char *) fed_malloc (size + 1);
    if (size)
        memcpy (copy, ptr, size);
    copy [size] = 0;
    return copy;
}

static void
s_location_clear (fed_location_t *location)
{
    free (location->region);
    free (location->zone);
    free (location->site);
    for (size_t i = 0; i < location->label_count; i++) {
        free (location->label_keys [i]);
        free (location->label_values [i]);
    }
    free (location->label_keys);
    free (location->label_values);
    memset (location, 0, sizeof *location);
}

static void
s_location_set (fed_location_t *location, const fed_wire_location_t *from)
{
    s_location_clear (location);
    location->region = s_strndup (from->region.ptr, from->region.ptr ? from->region.size : 0);
    location->zone = s_strndup (from->zone.ptr, from->zone.ptr ? from->zone.size : 0);
    location->site = s_strndup (from->site.ptr, from->site.ptr ? from->site.size : 0);
    location->has_lat = from->has_lat;
    location->lat = from->lat;
    location->has_lon = from->has_lon;
    location->lon = from->lon;
    location->label_count = from->label_count;
    location->label_keys = (char **) fed_calloc (from->label_count + 1, sizeof (char *));
    location->label_values = (char **) fed_calloc (from->label_count + 1, sizeof (char *));
    for (uint32_t i = 0; i < from->label_count; i++) {
        location->label_keys [i] = s_strndup (from->labels [i].key.ptr, from->labels [i].key.size);
        location->label_values [i] =
            s_strndup (from->labels [i].value.ptr, from->labels [i].value.size);
    }
}

static void
s_copy_str (char *dest, size_t dest_size, fed_wire_str_t str)
{
    size_t size = str.ptr ? str.size : 0;
    if (size >= dest_size)
        size = dest_size - 1;
    if (size)
        memcpy (dest, str.ptr, size);
    dest [size] = 0;
}

static fed_wire_str_t
s_str (const char *text)
{
    fed_wire_str_t str = {text, (uint32_t) strlen (text)};
    return str;
}

static member_t *
s_find (fed_swim_t *self, const uint8_t id [32])
{
    for (size_t i = 0; i < self->count; i++)
        if (memcmp (self->members [i]->pub.id, id, 32) == 0)
            return self->members [i];
    return NULL;
}

static member_t *
s_add (fed_swim_t *self, const uint8_t id [32])
{
    member_t *member = (member_t *) fed_calloc (1, sizeof (member_t));
    memcpy (member->pub.id, id, 32);
    member->pub.location.region = fed_strdup ("");
    member->pub.location.zone = fed_strdup ("");
    member->pub.location.site = fed_strdup ("");
    self->members =
        (member_t **) fed_realloc (self->members, (self->count + 1) * sizeof (member_t *));
    self->members [self->count++] = member;
    return member;
}

//  How many times a change is piggybacked: lambda · ceil(log2(N + 1)).
static uint32_t
s_retransmits (fed_swim_t *self)
{
    uint32_t log2n = 0;
    while ((1ull << log2n) < (uint64_t) self->count + 1)
        log2n++;
    return self->options.retransmit_mult * (log2n ? log2n : 1);
}

static void
s_set_state (fed_swim_t *self, member_t *member, fed_wire_state_t state, uint64_t incarnation,
             int64_t now_ms)
{
    fed_wire_state_t old = member->pub.state;
    member->pub.state = state;
    member->pub.incarnation = incarnation;
    member->pub.since_ms = now_ms;
    member->pub.since_wall_ms = fed_wall_ms ();
    member->gossip_left = s_retransmits (self);
    if (state == FED_WIRE_SUSPECT)
        member->suspect_deadline = now_ms + self->options.suspicion_timeout_ms;
    if (self->io.changed && (old != state || old == 0))
        self->io.changed (self->io.arg, &member->pub, old);
}

//  SWIM precedence: does (state, incarnation) override the member's?
static bool
s_overrides (const member_t *member, fed_wire_state_t state, uint64_t incarnation)
{
    fed_wire_state_t old = member->pub.state;
    uint64_t old_inc = member->pub.incarnation;
    if (old == FED_WIRE_LEFT && incarnation <= old_inc)
        return false; //  left is final for its incarnation
    if (state == FED_WIRE_LEFT)
        return incarnation >= old_inc;
    if (incarnation != old_inc)
        return incarnation > old_inc;
    //  Same incarnation: dead > suspect > alive.
    static const int rank [] = {0, 0, 1, 2, 3};
    return rank [state] > rank [old];
}

//  An update about this node: refute anything but alive by out-numbering it.
static bool
s_apply_self (fed_swim_t *self, const fed_wire_update_t *update, int64_t now_ms)
{
    member_t *me = self->members [0];
    if (update->state == FED_WIRE_ALIVE) {
        if (update->incarnation > me->pub.incarnation) {
            //  An older life of ours was further along (we restarted): go past it.
            me->pub.incarnation = update->incarnation;
            me->gossip_left = s_retransmits (self);
            return true;
        }
        return false;
    }
    if (update->incarnation < me->pub.incarnation || me->pub.state == FED_WIRE_LEFT)
        return false;
    if (update->incarnation == UINT64_MAX) {
        //  Cannot be out-numbered: a forged rumour (no honest node gets
        //  there). Keep our incarnation rather than wrap it to 0.
        self->stats.ignored_updates++;
        return false;
    }
    me->pub.incarnation = update->incarnation + 1;
    me->gossip_left = s_retransmits (self);
    self->stats.refuted++;
    fed_info ("swim: refuting '%s' about this node: incarnation now %llu",
              fed_wire_state_name (update->state), (unsigned long long) me->pub.incarnation);
    return true;
}

bool
fed_swim_apply (fed_swim_t *self, const fed_wire_update_t *update, int64_t now_ms)
{
    if (memcmp (update->node, self->members [0]->pub.id, 32) == 0)
        return s_apply_self (self, update, now_ms);
    if (!self->io.trusted (self->io.arg, update->node)) {
        self->stats.ignored_updates++;
        return false;
    }
    member_t *member = s_find (self, update->node);
    bool is_new = member == NULL;
    if (!is_new && !s_overrides (member, update->state, update->incarnation))
        return false;
    if (is_new)
        member = s_add (self, update->node);
    if (update->endpoint.ptr && update->endpoint.size)
        s_copy_str (member->pub.endpoint, sizeof member->pub.endpoint, update->endpoint);
    if (update->name.ptr && update->name.size)
        s_copy_str (member->pub.name, sizeof member->pub.name, update->name);
    s_set_state (self, member, update->state, update->incarnation, now_ms);
    return true;
}

//  Fills the scratch piggyback list with the changes due most (fewest
//  sends so far first) and counts them as sent.
static void
s_piggyback (fed_swim_t *self, fed_wire_updates_t *updates)
{
    updates->count = 0;
    while (updates->count < PIGGYBACK_MAX) {
        member_t *best = NULL;
        for (size_t i = 0; i < self->count; i++) {
            member_t *member = self->members [i];
            bool taken = false;
            for (uint32_t j = 0; j < updates->count && !taken; j++)
                taken = memcmp (updates->items [j].node, member->pub.id, 32) == 0;
            if (!taken && member->gossip_left && (!best || member->gossip_left > best->gossip_left))
                best = member;
        }
        if (!best)
            break;
        best->gossip_left--;
        fed_wire_update_t *update = &updates->items [updates->count++];
        memcpy (update->node, best->pub.id, 32);
        update->state = best->pub.state;
        update->incarnation = best->pub.incarnation;
        update->endpoint = s_str (best->pub.endpoint);
        update->name = s_str (best->pub.name);
    }
}

static void
s_send_ping (fed_swim_t *self, const uint8_t to [32], uint64_t seq)
{
    fed_wire_msg_t msg;
    memset (&msg, 0, sizeof msg);
    msg.type = FED_WIRE_PING;
    msg.u.ping.seq = seq;
    msg.u.ping.incarnation = self->members [0]->pub.incarnation;
    s_piggyback (self, &msg.u.ping.updates);
    self->io.send (self->io.arg, to, &msg);
}

//  Sends (or replies, when to is NULL) the whole table as MEMBERS, 64 at a time.
static void
s_send_full_state (fed_swim_t *self, const uint8_t *to)
{
    fed_wire_msg_t msg;
    memset (&msg, 0, sizeof msg);
    msg.type = FED_WIRE_MEMBERS;
    fed_wire_updates_t *updates = &msg.u.members.updates;
    for (size_t i = 0; i < self->count; i++) {
        member_t *member = self->members [i];
        if (!*member->pub.endpoint)
            continue; //  known by id only: nothing a receiver could use
        fed_wire_update_t *update = &updates->items [updates->count++];
        memcpy (update->node, member->pub.id, 32);
        update->state = member->pub.state;
        update->incarnation = member->pub.incarnation;
        update->endpoint = s_str (member->pub.endpoint);
        update->name = s_str (member->pub.name);
        if (updates->count == FED_WIRE_UPDATES_MAX || i + 1 == self->count) {
            if (to)
                self->io.send (self->io.arg, to, &msg);
            else
                self->io.reply (self->io.arg, &msg);
            updates->count = 0;
        }
    }
    if (updates->count) {
        if (to)
            self->io.send (self->io.arg, to, &msg);
        else
            self->io.reply (self->io.arg, &msg);
    }
}

fed_swim_t *
fed_swim_new (const fed_swim_options_t *options, const fed_swim_io_t *io,
              const fed_wire_hello_t *hello, int64_t now_ms)
{
    fed_swim_t *self = (fed_swim_t *) fed_calloc (1, sizeof (fed_swim_t));
    self->options = *options;
    if (self->options.indirect_probes > 16)
        self->options.indirect_probes = 16;
    self->io = *io;
    member_t *me = s_add (self, hello->id);
    me->pub.is_self = true;
    s_copy_str (me->pub.name, sizeof me->pub.name, hello->name);
    s_copy_str (me->pub.endpoint, sizeof me->pub.endpoint, hello->endpoint);
    s_location_set (&me->pub.location, &hello->location);
    me->pub.has_location = true;
    me->pub.state = FED_WIRE_ALIVE;
    me->pub.incarnation = hello->incarnation;
    me->pub.since_ms = now_ms;
    me->pub.since_wall_ms = fed_wall_ms ();
    //  A random start: two nodes started together do not probe in lockstep.
    self->next_seq = 1;
    self->next_probe_ms =
        now_ms + (int64_t) randombytes_uniform ((uint32_t) options->probe_interval_ms + 1);
    self->next_sync_ms = now_ms + options->sync_interval_ms;
    self->next_reconnect_ms = now_ms + options->reconnect_interval_ms;
    self->last_tick_ms = now_ms;
    return self;
}

void
fed_swim_destroy (fed_swim_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    fed_swim_t *self = *self_p;
    for (size_t i = 0; i < self->count; i++) {
        s_location_clear (&self->members [i]->pub.location);
        free (self->members [i]);
    }
    free (self->members);
    free (self->order);
    free (self);
    *self_p = NULL;
}

static bool
s_probeable (fed_swim_t *self, const member_t *member)
{
    return member && !member->pub.is_self
        && (member->pub.state == FED_WIRE_ALIVE || member->pub.state == FED_WIRE_SUSPECT)
        && *member->pub.endpoint && self->io.trusted (self->io.arg, member->pub.id);
}

//  The next member to probe, round-robin over a shuffled order; NULL when
//  there is none.
static member_t *
s_next_target (fed_swim_t *self)
{
    for (int round = 0; round < 2; round++) {
        while (self->order_pos < self->order_count) {
            member_t *member = s_find (self, self->order [self->order_pos++]);
            if (s_probeable (self, member))
                return member;
        }
        //  A new round: every probeable member once, in a fresh random order.
        self->order = (uint8_t (*) [32]) fed_realloc (self->order, (self->count + 1) * 32);
        self->order_count = 0;
        self->order_pos = 0;
        for (size_t i = 0; i < self->count; i++)
            if (s_probeable (self, self->members [i]))
                memcpy (self->order [self->order_count++], self->members [i]->pub.id, 32);
        for (size_t i = self->order_count; i > 1; i--) {
            size_t j = randombytes_uniform ((uint32_t) i);
            uint8_t swap [32];
            memcpy (swap, self->order [i - 1], 32);
            memcpy (self->order [i - 1], self->order [j], 32);
            memcpy (self->order [j], swap, 32);
        }
        if (self->order_count == 0)
            return NULL;
    }
    return NULL;
}

//  Up to count alive members other than self and except, chosen at random.
static size_t
s_random_members (fed_swim_t *self, const uint8_t *except, member_t **out, size_t count)
{
    size_t found = 0, seen = 0;
    for (size_t i = 1; i < self->count; i++) {
        member_t *member = self->members [i];
        if (member->pub.state != FED_WIRE_ALIVE || !s_probeable (self, member)
            || (except && memcmp (member->pub.id, except, 32) == 0))
            continue;
        //  Reservoir sampling: each eligible member equally likely.
        seen++;
        if (found < count)
            out [found++] = member;
        else {
            size_t j = randombytes_uniform ((uint32_t) seen);
            if (j < count)
                out [j] = member;
        }
    }
    return found;
}

static void
s_suspect (fed_swim_t *self, member_t *member, int64_t now_ms)
{
    if (member->pub.state != FED_WIRE_ALIVE)
        return;
    self->stats.suspected++;
    fed_info ("swim: %s (%s) did not answer: suspect", member->pub.name, member->pub.endpoint);
    s_set_state (self, member, FED_WIRE_SUSPECT, member->pub.incarnation, now_ms);
}

static void
s_send_hello (fed_swim_t *self, const uint8_t to [32])
{
    fed_wire_msg_t msg;
    memset (&msg, 0, sizeof msg);
    msg.type = FED_WIRE_HELLO;
    fed_swim_self_hello (self, &msg.u.hello);
    self->io.send (self->io.arg, to, &msg);
}

//  Partitions heal here (Serf's reconnect): a member we hold dead may only
//  be cut off from us. Our HELLO and whole table go to one of them at
//  random; if it is up, it learns we hold it dead and refutes, its table
//  tells us we are dead to its side and we refute, and the HELLO we then
//  send it (s_on_members) makes each alive to the other. Members that left
//  said so themselves and are not asked.
static void
s_reconnect (fed_swim_t *self)
{
    member_t *pick = NULL;
    size_t seen = 0;
    for (size_t i = 1; i < self->count; i++) {
        member_t *member = self->members [i];
        if (member->pub.state != FED_WIRE_DEAD || !*member->pub.endpoint)
            continue;
        if (randombytes_uniform ((uint32_t) ++seen) == 0)
            pick = member;
    }
    if (!pick)
        return;
    self->stats.reconnects++;
    fed_debug ("swim: asking dead member %s (%s) whether it is back", pick->pub.name,
               pick->pub.endpoint);
    s_send_hello (self, pick->pub.id);
    s_send_full_state (self, pick->pub.id);
}

//  A tick long after the previous one means this node was not running:
//  nothing it failed to hear meanwhile says anything about the others.
static void
s_check_stall (fed_swim_t *self, int64_t now_ms)
{
    int64_t gap = now_ms - self->last_tick_ms;
    self->last_tick_ms = now_ms;
    //  Below STALL_MIN_MS a late tick is the loop being busy, not a stall.
    int64_t threshold = self->options.probe_timeout_ms;
    if (threshold < STALL_MIN_MS)
        threshold = STALL_MIN_MS;
    if (gap <= threshold)
        return;
    self->stats.stalls++;
    fed_warn ("swim: this node stalled for %lld ms; postponing suspicions and voiding the probe "
              "in flight",
              (long long) gap);
    for (size_t i = 1; i < self->count; i++)
        if (self->members [i]->pub.state == FED_WIRE_SUSPECT)
            self->members [i]->suspect_deadline += gap;
    self->probing = false;
    self->forward_count = 0;
    if (self->next_probe_ms < now_ms)
        self->next_probe_ms = now_ms;
}

void
fed_swim_tick (fed_swim_t *self, int64_t now_ms)
{
    s_check_stall (self, now_ms);
    //  Suspects not refuted in time are dead.
    for (size_t i = 1; i < self->count; i++) {
        member_t *member = self->members [i];
        if (member->pub.state == FED_WIRE_SUSPECT && now_ms >= member->suspect_deadline) {
            self->stats.declared_dead++;
            fed_warn ("swim: %s (%s) suspected for %lld ms without refuting: dead",
                      member->pub.name, member->pub.endpoint,
                      (long long) self->options.suspicion_timeout_ms);
            s_set_state (self, member, FED_WIRE_DEAD, member->pub.incarnation, now_ms);
        }
    }
    //  Relayed probes that got no answer are forgotten.
    for (size_t i = 0; i < self->forward_count;)
        if (now_ms >= self->forwards [i].deadline)
            self->forwards [i] = self->forwards [--self->forward_count];
        else
            i++;
    if (self->probing) {
        member_t *target = s_find (self, self->probe_target);
        if (!self->probe_indirect
            && now_ms >= self->probe_sent_ms + self->options.probe_timeout_ms) {
            self->probe_indirect = true;
            member_t *helpers [16];
            size_t count =
                s_random_members (self, self->probe_target, helpers, self->options.indirect_probes);
            for (size_t i = 0; i < count; i++) {
                fed_wire_msg_t msg;
                memset (&msg, 0, sizeof msg);
                msg.type = FED_WIRE_PING_REQ;
                msg.u.ping_req.seq = self->probe_seq;
                memcpy (msg.u.ping_req.target, self->probe_target, 32);
                s_piggyback (self, &msg.u.ping_req.updates);
                self->io.send (self->io.arg, helpers [i]->pub.id, &msg);
                self->stats.indirect++;
            }
        }
        if (now_ms >= self->probe_sent_ms + self->options.probe_interval_ms) {
            self->probing = false;
            if (target)
                s_suspect (self, target, now_ms);
        }
    }
    if (!self->probing && now_ms >= self->next_probe_ms) {
        //  Keep the schedule: counted from when the probe was due, not from
        //  this tick, so ticks never add up to a slower probe rate.
        self->next_probe_ms += self->options.probe_interval_ms;
        if (self->next_probe_ms <= now_ms)
            self->next_probe_ms = now_ms + self->options.probe_interval_ms;
        member_t *target = s_next_target (self);
        if (target) {
            self->probing = true;
            self->probe_indirect = false;
            self->probe_seq = self->next_seq++;
            self->probe_sent_ms = now_ms;
            memcpy (self->probe_target, target->pub.id, 32);
            self->stats.probes++;
            s_send_ping (self, target->pub.id, self->probe_seq);
        }
    }
    if (self->options.reconnect_interval_ms > 0 && now_ms >= self->next_reconnect_ms) {
        self->next_reconnect_ms = now_ms + self->options.reconnect_interval_ms;
        s_reconnect (self);
    }
    if (self->options.sync_interval_ms > 0 && now_ms >= self->next_sync_ms) {
        self->next_sync_ms = now_ms + self->options.sync_interval_ms;
        member_t *partner;
        if (s_random_members (self, NULL, &partner, 1) == 1)
            s_send_full_state (self, partner->pub.id);
    }
}

int
fed_swim_hello (fed_swim_t *self, const fed_wire_hello_t *hello, int64_t now_ms)
{
    if (memcmp (hello->id, self->members [0]->pub.id, 32) == 0)
        return -1; //  our own key from elsewhere: not a member
    if (!self->io.trusted (self->io.arg, hello->id))
        return -1;
    member_t *member = s_find (self, hello->id);
    if (!member || hello->incarnation >= member->pub.incarnation) {
        //  The node speaks for itself: its name, endpoint and location are current.
        fed_wire_update_t update;
        memset (&update, 0, sizeof update);
        memcpy (update.node, hello->id, 32);
        update.state = FED_WIRE_ALIVE;
        update.incarnation = hello->incarnation;
        update.endpoint = hello->endpoint;
        update.name = hello->name;
        if (!fed_swim_apply (self, &update, now_ms) && member) {
            s_copy_str (member->pub.endpoint, sizeof member->pub.endpoint, hello->endpoint);
            s_copy_str (member->pub.name, sizeof member->pub.name, hello->name);
        }
        member = s_find (self, hello->id);
        assert (member); //  a trusted id is always added
        s_location_set (&member->pub.location, &hello->location);
        member->pub.has_location = true;
    }
    //  A member we hold dead or left at its incarnation learns so from this
    //  and refutes.
    s_send_full_state (self, NULL);
    return 0;
}

static void
s_apply_all (fed_swim_t *self, const fed_wire_updates_t *updates, int64_t now_ms)
{
    for (uint32_t i = 0; i < updates->count; i++)
        fed_swim_apply (self, &updates->items [i], now_ms);
}

static void
s_on_ping (fed_swim_t *self, const uint8_t from [32], const fed_wire_ping_t *ping, int64_t now_ms)
{
    s_apply_all (self, &ping->updates, now_ms);
    //  A PING at a higher incarnation than we hold is the sender alive.
    member_t *sender = s_find (self, from);
    if (sender && ping->incarnation > sender->pub.incarnation) {
        fed_wire_update_t update;
        memset (&update, 0, sizeof update);
        memcpy (update.node, from, 32);
        update.state = FED_WIRE_ALIVE;
        update.incarnation = ping->incarnation;
        fed_swim_apply (self, &update, now_ms);
    }
    fed_wire_msg_t ack;
    memset (&ack, 0, sizeof ack);
    ack.type = FED_WIRE_ACK;
    ack.u.ack.seq = ping->seq;
    s_piggyback (self, &ack.u.ack.updates);
    self->io.reply (self->io.arg, &ack);
}

static void
s_on_ack (fed_swim_t *self, const fed_wire_ack_t *ack, int64_t now_ms)
{
    s_apply_all (self, &ack->updates, now_ms);
    if (self->probing && ack->seq == self->probe_seq)
        self->probing = false; //  answered, directly or through a helper
    for (size_t i = 0; i < self->forward_count; i++) {
        forward_t *forward = &self->forwards [i];
        if (forward->seq != ack->seq)
            continue;
        fed_wire_msg_t relay;
        memset (&relay, 0, sizeof relay);
        relay.type = FED_WIRE_ACK;
        relay.u.ack.seq = forward->requester_seq;
        s_piggyback (self, &relay.u.ack.updates);
        self->io.send (self->io.arg, forward->requester, &relay);
        self->forwards [i] = self->forwards [--self->forward_count];
        break;
    }
}

static void
s_on_ping_req (fed_swim_t *self, const uint8_t from [32], const fed_wire_ping_req_t *request,
               int64_t now_ms)
{
    s_apply_all (self, &request->updates, now_ms);
    member_t *target = s_find (self, request->target);
    if (!s_probeable (self, target) || self->forward_count == FORWARDS_MAX)
        return;
    forward_t *forward = &self->forwards [self->forward_count++];
    memcpy (forward->requester, from, 32);
    forward->requester_seq = request->seq;
    forward->seq = self->next_seq++;
    forward->deadline = now_ms + self->options.probe_interval_ms;
    s_send_ping (self, request->target, forward->seq);
}

static void
s_on_members (fed_swim_t *self, const uint8_t from [32], const fed_wire_members_t *members,
              int64_t now_ms)
{
    uint64_t incarnation = self->members [0]->pub.incarnation;
    s_apply_all (self, &members->updates, now_ms);
    //  The table said we are dead (or suspect). If its sender is dead to us
    //  too, the two of us were cut off from each other: our HELLO at the
    //  new incarnation makes us alive to it, and its answer (its table)
    //  makes it alive to us.
    member_t *sender = s_find (self, from);
    if (self->members [0]->pub.incarnation != incarnation && sender
        && sender->pub.state == FED_WIRE_DEAD)
        s_send_hello (self, from);
}

void
fed_swim_receive (fed_swim_t *self, const uint8_t from [32], const fed_wire_msg_t *msg,
                  int64_t now_ms)
{
    switch (msg->type) {
        case FED_WIRE_PING: s_on_ping (self, from, &msg->u.ping, now_ms); break;
        case FED_WIRE_ACK: s_on_ack (self, &msg->u.ack, now_ms); break;
        case FED_WIRE_PING_REQ: s_on_ping_req (self, from, &msg->u.ping_req, now_ms); break;
        case FED_WIRE_MEMBERS: s_on_members (self, from, &msg->u.members, now_ms); break;
        case FED_WIRE_BYE: {
            member_t *member = s_find (self, from);
            if (member) {
                fed_wire_update_t update;
                memset (&update, 0, sizeof update);
                memcpy (update.node, from, 32);
                update.state = FED_WIRE_LEFT;
                update.incarnation = member->pub.incarnation;
                if (fed_swim_apply (self, &update, now_ms))
                    fed_info ("swim: %s (%s) left the cluster", member->pub.name,
                              member->pub.endpoint);
            }
            break;
        }
        default: break;
    }
}

void
fed_swim_leave (fed_swim_t *self, int64_t now_ms)
{
    member_t *me = self->members [0];
    me->pub.state = FED_WIRE_LEFT;
    me->pub.since_ms = now_ms;
    fed_wire_msg_t bye;
    memset (&bye, 0, sizeof bye);
    bye.type = FED_WIRE_BYE;
    bye.u.bye.reason = s_str ("shutting down");
    for (size_t i = 1; i < self->count; i++) {
        member_t *member = self->members [i];
        if (member->pub.state == FED_WIRE_ALIVE || member->pub.state == FED_WIRE_SUSPECT)
            self->io.send (self->io.arg, member->pub.id, &bye);
    }
}

void
fed_swim_self_hello (fed_swim_t *self, fed_wire_hello_t *hello)
{
    const fed_member_t *me = &self->members [0]->pub;
    const fed_location_t *location = &me->location;
    memset (hello, 0, sizeof *hello);
    memcpy (hello->id, me->id, 32);
    hello->name = s_str (me->name);
    hello->endpoint = s_str (me->endpoint);
    hello->protocol = FED_WIRE_VERSION;
    hello->incarnation = me->incarnation;
    fed_wire_location_t *out = &hello->location;
    out->region = s_str (location->region);
    out->zone = s_str (location->zone);
    out->site = s_str (location->site);
    out->has_lat = location->has_lat;
    out->lat = location->lat;
    out->has_lon = location->has_lon;
    out->lon = location->lon;
    for (size_t i = 0; i < location->label_count && i < FED_WIRE_LABELS_MAX; i++) {
        out->labels [i].key = s_str (location->label_keys [i]);
        out->labels [i].value = s_str (location->label_values [i]);
        out->label_count++;
    }
}

size_t
fed_swim_members (fed_swim_t *self, const fed_member_t *const **members_p)
{
    //  member_t starts with its fed_member_t, so the pointer array serves both.
    *members_p = (const fed_member_t *const *) self->members;
    return self->count;
}

const fed_member_t *
fed_swim_find (fed_swim_t *self, const uint8_t id [32])
{
    member_t *member = s_find (self, id);
    return member ? &member->pub : NULL;
}

size_t
fed_swim_count (fed_swim_t *self, fed_wire_state_t state)
{
    size_t count = 0;
    for (size_t i = 1; i < self->count; i++)
        count += self->members [i]->pub.state == state;
    return count;
}

void
fed_swim_stats (fed_swim_t *self, fed_swim_stats_t *stats)
{
    *stats = self->stats;
}

size_t
fed_swim_pick (fed_swim_t *self, uint8_t (*ids) [32], size_t max)
{
    member_t *picked [64];
    if (max > 64)
        max = 64;
    size_t count = s_random_members (self, NULL, picked, max);
    for (size_t i = 0; i < count; i++)
        memcpy (ids [i], picked [i]->pub.id, 32);
    return count;
}
