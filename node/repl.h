/*  node/repl.h: event replication between peers: push of new local events
    and push-pull anti-entropy (DESIGN §7, doc/protocol.md §4.3.6–4.3.8).

    Like node/swim.h this owns no socket and reads no clock: the peer
    transport hands it DIGEST, EVENTS and WANT messages from trusted peers
    and gives it io->send (to a member), io->reply (on the connection being
    handled) and io->peers (live members to gossip with).

    - Every interval: the version vector as DIGEST to fanout random live
      peers.
    - On DIGEST: EVENTS with what the sender lacks (each origin in seq
      order, at most batch_events and batch_bytes per message, at most
      reply_batches messages per DIGEST: a node far behind catches up over
      several rounds without starving live traffic), and a WANT for every
      origin where the sender is ahead, unless another peer is already
      sending that origin's events (a WANT in flight to it, for up to
      2 intervals): a node behind fetches each range from one peer.
    - On WANT: the range, in the same bounded batches.
    - On EVENTS: each event through fed_evlog_accept (signature, chain,
      trust, limits); gaps found are asked for with WANT; events new here
      are pushed on once to fanout peers (rumour spreading).
    - An answer cut short by reply_batches is followed by this node's own
      DIGEST, so the asker sees there is more and WANTs the next step at
      once: a node far behind is fed one bounded step per round trip,
      interleaved with live traffic, instead of one step per interval.
    - fed_repl_push: a new local event, queued; fed_repl_flush sends the
      queue (in as few EVENTS messages as the batch bounds allow) to
      fanout peers. The transport flushes once per turn of its loop, so a
      burst of appends travels as one message, and a lone append at once.

    One fed_repl_t is used by one thread (the node actor).
*/
#ifndef FED_REPL_H_INCLUDED
#define FED_REPL_H_INCLUDED

#include "evlog.h"
#include "wire.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fed_repl_t fed_repl_t;

typedef struct {
    uint32_t fanout;        //  peers per DIGEST round and per push
    int64_t interval_ms;    //  DIGEST round period
    uint32_t batch_events;  //  events per EVENTS message
    size_t batch_bytes;     //  event bytes per EVENTS message (under the frame limit)
    uint32_t reply_batches; //  EVENTS messages per DIGEST or WANT answered
    bool push;              //  push new events and forward new arrivals (false:
                            //  anti-entropy alone)
} fed_repl_options_t;

typedef struct {
    void (*send) (void *arg, const uint8_t id [32], const fed_wire_msg_t *msg);
    void (*reply) (void *arg, const fed_wire_msg_t *msg);
    //  Up to max live peers chosen at random, into ids. Returns how many.
    size_t (*peers) (void *arg, uint8_t (*ids) [32], size_t max);
    //  Events were stored (accepted or drained): refresh what depends on
    //  the log (trust, parked requests). May be NULL.
    void (*stored) (void *arg, size_t count);
    void *arg;
} fed_repl_io_t;

typedef struct {
    uint64_t digests_sent, digests_received;
    uint64_t events_sent, events_received, events_stored;
    uint64_t wants_sent, wants_received;
    uint64_t wants_suppressed; //  not sent: another peer is already sending that range
    uint64_t pushed;           //  flushes of this node's own new events
    uint64_t forwarded;        //  batches of events new here passed on (rumour spreading)
    uint64_t store_failures;
} fed_repl_stats_t;

//  Defaults: fanout 3, 1 s, 1,000 events, 1 MiB, 4 batches, push on.
void fed_repl_options_default (fed_repl_options_t *options);

//  Caller owns the result; log and io->arg are borrowed. Never NULL.
fed_repl_t *fed_repl_new (fed_evlog_t *log, const fed_repl_options_t *options,
                          const fed_repl_io_t *io, int64_t now_ms);
void fed_repl_destroy (fed_repl_t **self_p);

//  Runs the DIGEST round when due.
void fed_repl_tick (fed_repl_t *self, int64_t now_ms);

//  Handles DIGEST, EVENTS or WANT from trusted peer from; ignores others.
void fed_repl_receive (fed_repl_t *self, const uint8_t from [32], const fed_wire_msg_t *msg);

//  Queues the local event at (origin, seq) for the next flush. Returns
//  true when the queue was empty before (the caller schedules a flush).
//  Does nothing (and returns false) with push off.
bool fed_repl_push (fed_repl_t *self, const uint8_t origin [32], uint64_t seq);

//  Sends the queued events to fanout peers and empties the queue.
void fed_repl_flush (fed_repl_t *self);

void fed_repl_stats (fed_repl_t *self, fed_repl_stats_t *stats);

//  What a peer last said it holds: its latest DIGEST.
typedef struct {
    uint8_t id [32];              //  the peer
    int64_t at_wall_ms;           //  when its DIGEST arrived
    fed_wire_vv_entry_t *entries; //  count entries, origins ascending (owned by the repl)
    uint32_t count;
} fed_repl_peer_t;

//  The peers heard from, most recent DIGEST each (at most 256 peers, the
//  longest silent forgotten first). Borrowed; valid until the next call
//  into the repl.
size_t fed_repl_peers (fed_repl_t *self, const fed_repl_peer_t **peers_p);

#ifdef __cplusplus
}
#endif
#endif
