/*  node/swim.h: cluster membership and failure detection (SWIM with
    suspicion), as a pure state machine.

    This module holds the member table and decides: whom to probe, when a
    silent member becomes suspect and then dead, how a member refutes a
    suspicion by raising its incarnation, and which membership updates ride
    on each outgoing message (each change is retransmitted a bounded number
    of times, retransmit_mult · ceil(log2(N + 1))). It owns no socket and
    reads no clock: the caller passes the monotonic time into every call and
    hands each outgoing message to io->send (to a member, by id) or
    io->reply (to the connection the message being handled came in on). So
    the same code runs in the node (node/peer.c) and in unit tests that
    simulate a whole cluster, with lost and delayed messages, on a virtual
    clock.

    Probing (one probe per probe_interval): members are probed round-robin
    in a shuffled order. A PING not ACKed within probe_timeout is followed
    by PING_REQs through indirect_probes other members; no ACK by the end of
    the probe interval makes the member suspect. A suspect not refuted
    within suspicion_timeout becomes dead. A node that finds itself
    stalled (a tick arriving more than max(probe_timeout, 50 ms) after the
    last one: SIGSTOP, swap, a blocked thread) delays its running suspicions by the stall and voids the
    probe in flight, so its own lateness never kills a healthy member
    (Lifeguard's local health awareness, in its simplest form).

    Only members that io->trusted admits (the peer role) enter the table;
    updates about others are ignored and counted. One fed_swim_t is used by
    one thread.
*/
#ifndef FED_SWIM_H_INCLUDED
#define FED_SWIM_H_INCLUDED

#include "wire.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fed_swim_t fed_swim_t;

typedef struct {
    int64_t probe_interval_ms;     //  one probe per interval
    int64_t probe_timeout_ms;      //  direct ACK wait before indirect probes
    int64_t suspicion_timeout_ms;  //  suspect -> dead when not refuted
    uint32_t indirect_probes;      //  PING_REQ fan-out (k)
    uint32_t retransmit_mult;      //  lambda in lambda·log2(N+1) retransmissions
    int64_t sync_interval_ms;      //  full-state MEMBERS to one member; 0 = never
                                   //  (the node's config allows 100 ms..1 d)
    int64_t reconnect_interval_ms; //  HELLO and table to one dead member (heals
                                   //  partitions); 0 = never
} fed_swim_options_t;

//  A member's location, as its HELLO gave it. Owned by the table.
typedef struct {
    char *region, *zone, *site; //  never NULL; "" when unset
    bool has_lat, has_lon;
    double lat, lon;
    char **label_keys; //  label_count each
    char **label_values;
    size_t label_count;
} fed_location_t;

//  One member as the table holds it. Borrowed by callers; valid until the
//  next call into the swim.
typedef struct {
    uint8_t id [32];         //  ed25519 public key
    char name [65];          //  as the member announced it
    char endpoint [257];     //  advertised peer endpoint
    fed_wire_state_t state;  //  alive, suspect, dead, left
    uint64_t incarnation;    //  the incarnation the state is about
    int64_t since_ms;        //  monotonic time of the last state change
    int64_t since_wall_ms;   //  wall clock of the same
    bool is_self;            //  this node
    bool has_location;       //  location came from the member's HELLO
    fed_location_t location; //  owned by the table
} fed_member_t;

typedef struct {
    //  Sends msg (borrowed, valid during the call) to member id over this
    //  node's own connection to it. Losing it is fine: SWIM tolerates loss.
    void (*send) (void *arg, const uint8_t id [32], const fed_wire_msg_t *msg);
    //  Answers the message being handled, on its connection.
    void (*reply) (void *arg, const fed_wire_msg_t *msg);
    //  True if id may be a member (holds the peer role here).
    bool (*trusted) (void *arg, const uint8_t id [32]);
    //  A member changed state, or appeared (old_state 0). May be NULL.
    void (*changed) (void *arg, const fed_member_t *member, fed_wire_state_t old_state);
    void *arg;
} fed_swim_io_t;

//  Counters for metrics and tests.
typedef struct {
    uint64_t probes;          //  PINGs sent as probes
    uint64_t indirect;        //  PING_REQs sent
    uint64_t suspected;       //  alive -> suspect transitions made here
    uint64_t declared_dead;   //  suspect -> dead transitions made here
    uint64_t refuted;         //  times this node raised its incarnation
    uint64_t reconnects;      //  dead members asked whether they are back
    uint64_t stalls;          //  ticks that found this node stalled
    uint64_t ignored_updates; //  updates about untrusted nodes
} fed_swim_stats_t;

//  Fills options with the defaults (1 s, 500 ms, 5 s, 3, 4, 30 s, 10 s).
void fed_swim_options_default (fed_swim_options_t *options);

//  A swim whose table holds only this node (self: its id, name, endpoint
//  and location; copied), alive at incarnation. io is copied; its arg is
//  borrowed. Caller owns the result. Never returns NULL.
fed_swim_t *fed_swim_new (const fed_swim_options_t *options, const fed_swim_io_t *io,
                          const fed_wire_hello_t *self, int64_t now_ms);
//  Accepts NULL; sets *self_p to NULL.
void fed_swim_destroy (fed_swim_t **self_p);

//  Runs timers: starts probes, sends indirect probes, suspects, declares
//  dead, syncs. Call at least every probe_timeout / 4.
void fed_swim_tick (fed_swim_t *self, int64_t now_ms);

//  Handles a HELLO from its author (the caller has checked that hello->id
//  is the key the connection authenticated): adds or refreshes the member
//  and its location, then replies the full table (MEMBERS). Returns 0, or
//  -1 when hello->id is not trusted (nothing changed, nothing sent).
int fed_swim_hello (fed_swim_t *self, const fed_wire_hello_t *hello, int64_t now_ms);

//  Handles PING, ACK, PING_REQ, MEMBERS or BYE from member from (an
//  authenticated, trusted sender). Other types are ignored.
void fed_swim_receive (fed_swim_t *self, const uint8_t from [32], const fed_wire_msg_t *msg,
                       int64_t now_ms);

//  This node leaves: marks itself left and sends BYE to every alive or
//  suspect member.
void fed_swim_leave (fed_swim_t *self, int64_t now_ms);

//  This node's HELLO (for a new connection): self's fields at the current
//  incarnation. Strings borrowed from the swim; token unset.
void fed_swim_self_hello (fed_swim_t *self, fed_wire_hello_t *hello);

//  Members, self included, in join order. Borrowed; valid until the next
//  call that changes the table.
size_t fed_swim_members (fed_swim_t *self, const fed_member_t *const **members_p);
//  The member with id, or NULL.
const fed_member_t *fed_swim_find (fed_swim_t *self, const uint8_t id [32]);
//  Members (self excluded) in state.
size_t fed_swim_count (fed_swim_t *self, fed_wire_state_t state);
void fed_swim_stats (fed_swim_t *self, fed_swim_stats_t *stats);
//  Up to max alive, trusted members (self excluded) chosen at random, their
//  ids copied into ids. Returns how many.
size_t fed_swim_pick (fed_swim_t *self, uint8_t (*ids) [32], size_t max);

//  Applies one update by SWIM order (doc/protocol.md §4.3): higher
//  incarnation wins; at equal incarnation dead > suspect > alive, and left
//  beats every state at the same or a lower incarnation. Exposed for tests.
//  Returns true when the table changed.
bool fed_swim_apply (fed_swim_t *self, const fed_wire_update_t *update, int64_t now_ms);

#ifdef __cplusplus
}
#endif
#endif
