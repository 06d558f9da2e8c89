/*  node/repl.c: push and push-pull anti-entropy (see repl.h).

    Nothing here trusts a peer's word about what it holds beyond choosing
    what to send: every event received goes through fed_evlog_accept, so a
    relay can neither forge nor alter another origin's events, and a
    duplicate delivered by several peers is stored once.
*/
#include "repl.h"
#include "log.h"

#include <sodium.h>

#include <stdlib.h>
#include <string.h>

#define WANTS_PER_RECEIPT 16 //  gaps asked for after one EVENTS
#define PEERS_MAX 64
#define KNOWN_MAX 256 //  peers whose last DIGEST is kept for sync status
#define QUEUE_MAX 16  //  runs of local events waiting for the next flush
#define WANTS_MAX 64  //  origins with a WANT in flight, remembered
#define WANT_TTL_MIN_MS 1000

//  A WANT in flight: peer is sending us origin's events up to `to`.
typedef struct {
    uint8_t origin [32];
    uint8_t peer [32];
    uint64_t to;
    uint64_t mine; //  the seq we held when we asked
    int64_t at_ms;
} want_t;

//  Events from..to of one origin, queued for push.
typedef struct {
    uint8_t origin [32];
    uint64_t from, to;
} run_t;

struct fed_repl_t {
    fed_evlog_t *log; //  borrowed
    fed_repl_options_t options;
    fed_repl_io_t io;
    int64_t next_round_ms;
    int64_t now_ms; //  as of the last tick (WANTs in flight expire by it)
    want_t wants [WANTS_MAX];
    size_t want_count;
    fed_repl_stats_t stats;
    fed_repl_peer_t known [KNOWN_MAX]; //  last DIGEST per peer
    size_t known_count;
    run_t queue [QUEUE_MAX]; //  local events not pushed yet
    size_t queued;
};

//  An EVENTS message being filled; sent when full.
typedef struct {
    fed_repl_t *repl;
    const uint8_t *to;     //  member to send to, or NULL (see spread)
    bool spread;           //  with to == NULL: to fanout peers (else: reply)
    const uint8_t *except; //  with spread: a peer left out (the sender), or NULL
    fed_blob_t *events;    //  count copies (owned)
    uint32_t count;
    size_t bytes;
    uint32_t batches_left; //  messages this answer may still send
} batch_t;

void
fed_repl_options_default (fed_repl_options_t *options)
{
    options->fanout = 3;
    options->interval_ms = 1000;
    options->batch_events = 1000;
    options->batch_bytes = 1024 * 1024;
    options->reply_batches = 4;
    options->push = true;
}

fed_repl_t *
fed_repl_new (fed_evlog_t *log, const fed_repl_options_t *options, const fed_repl_io_t *io,
              int64_t now_ms)
{
    fed_repl_t *self = (fed_repl_t *) fed_calloc (1, sizeof (fed_repl_t));
    self->log = log;
    self->options = *options;
    if (self->options.batch_events > FED_WIRE_EVENTS_MAX)
        self->options.batch_events = FED_WIRE_EVENTS_MAX;
    if (self->options.fanout > PEERS_MAX)
        self->options.fanout = PEERS_MAX;
    self->io = *io;
    self->next_round_ms = now_ms + self->options.interval_ms;
    self->now_ms = now_ms;
    return self;
}

void
fed_repl_destroy (fed_repl_t **self_p)
{
    if (self_p && *self_p) {
        for (size_t i = 0; i < (*self_p)->known_count; i++)
            free ((*self_p)->known [i].entries);
        free (*self_p);
        *self_p = NULL;
    }
}

//  Keeps from's DIGEST for sync status.
static void
s_remember (fed_repl_t *self, const uint8_t from [32], const fed_wire_digest_t *digest)
{
    fed_repl_peer_t *slot = NULL;
    for (size_t i = 0; i < self->known_count && !slot; i++)
        if (memcmp (self->known [i].id, from, 32) == 0)
            slot = &self->known [i];
    if (!slot && self->known_count < KNOWN_MAX)
        slot = &self->known [self->known_count++];
    if (!slot) { //  full: forget the longest silent
        slot = &self->known [0];
        for (size_t i = 1; i < KNOWN_MAX; i++)
            if (self->known [i].at_wall_ms < slot->at_wall_ms)
                slot = &self->known [i];
    }
    free (slot->entries);
    memcpy (slot->id, from, 32);
    slot->at_wall_ms = fed_wall_ms ();
    slot->count = digest->count;
    slot->entries =
        (fed_wire_vv_entry_t *) fed_calloc (digest->count + 1, sizeof (fed_wire_vv_entry_t));
    if (digest->count)
        memcpy (slot->entries, digest->entries, digest->count * sizeof (fed_wire_vv_entry_t));
}

size_t
fed_repl_peers (fed_repl_t *self, const fed_repl_peer_t **peers_p)
{
    *peers_p = self->known;
    return self->known_count;
}

//  Peers a push or forward goes to, with `live` peers alive: at least
//  fanout, and ⌈log2(live + 1)⌉ as the cluster grows. Each node forwards a
//  new event once, so a node is missed by every push with probability
//  about e^(−k) for k peers per forward: 5% with 3, which left one of 32
//  nodes waiting for anti-entropy in half the pushes measured
//  (bench_propagation); 0.7% with 5 for 32 nodes.
static size_t
s_push_fanout (fed_repl_t *self, size_t live)
{
    size_t k = 1;
    while (((size_t) 1 << k) < live + 1)
        k++;
    return k > self->options.fanout ? k : self->options.fanout;
}

//  Sends the batch (if not empty) and empties it.
static void
s_flush (batch_t *batch)
{
    if (batch->count == 0)
        return;
    fed_repl_t *self = batch->repl;
    fed_wire_msg_t msg;
    memset (&msg, 0, sizeof msg);
    msg.type = FED_WIRE_EVENTS;
    msg.u.events.events = batch->events;
    msg.u.events.count = batch->count;
    if (batch->to)
        self->io.send (self->io.arg, batch->to, &msg);
    else if (batch->spread) {
        uint8_t peers [PEERS_MAX][32];
        size_t count = self->io.peers (self->io.arg, peers, PEERS_MAX);
        size_t fanout = s_push_fanout (self, count);
        //  io.peers picks at random only when there are more than asked
        //  for: shuffle, so that each push goes to a random few.
        for (size_t i = count; i > 1; i--) {
            size_t j = randombytes_uniform ((uint32_t) i);
            uint8_t swap [32];
            memcpy (swap, peers [i - 1], 32);
            memcpy (peers [i - 1], peers [j], 32);
            memcpy (peers [j], swap, 32);
        }
        size_t sent = 0;
        for (size_t i = 0; i < count && sent < fanout; i++)
            if (!batch->except || memcmp (peers [i], batch->except, 32) != 0) {
                self->io.send (self->io.arg, peers [i], &msg);
                sent++;
            }
    } else
        self->io.reply (self->io.arg, &msg);
    self->stats.events_sent += batch->count;
    for (uint32_t i = 0; i < batch->count; i++)
        free ((void *) batch->events [i].data);
    batch->count = 0;
    batch->bytes = 0;
    if (batch->batches_left)
        batch->batches_left--;
}

//  Adds one event; returns non-zero when the answer has sent all it may.
static int
s_add (void *arg, const fed_event_t *event)
{
    batch_t *batch = (batch_t *) arg;
    fed_repl_t *self = batch->repl;
    size_t size = fed_event_size (event);
    if (batch->count == self->options.batch_events
        || (batch->count && batch->bytes + size > self->options.batch_bytes))
        s_flush (batch);
    if (batch->batches_left == 0)
        return 1;
    uint8_t *copy = (uint8_t *) fed_malloc (size);
    memcpy (copy, fed_event_bytes (event), size);
    batch->events [batch->count].data = copy;
    batch->events [batch->count].size = size;
    batch->count++;
    batch->bytes += size;
    return 0;
}

static void
s_batch_init (batch_t *batch, fed_repl_t *self, const uint8_t *to)
{
    memset (batch, 0, sizeof *batch);
    batch->repl = self;
    batch->to = to;
    batch->events = (fed_blob_t *) fed_calloc (self->options.batch_events, sizeof (fed_blob_t));
    batch->batches_left = self->options.reply_batches;
}

static void
s_batch_done (batch_t *batch)
{
    if (batch->batches_left)
        s_flush (batch);
    for (uint32_t i = 0; i < batch->count; i++)
        free ((void *) batch->events [i].data);
    free (batch->events);
}

//  Adds origin's events from..to (to 0: all) to the batch. Returns
//  non-zero when the batch may send no more.
static int
s_add_range (batch_t *batch, const uint8_t origin [32], uint64_t from, uint64_t to)
{
    fed_err_t err;
    int rc = fed_evlog_range (batch->repl->log, origin, from, to, s_add, batch, &err);
    if (rc < 0)
        fed_warn ("repl: reading events to send failed: %s", err.text);
    return rc != 0 || batch->batches_left == 0;
}

//  True if a WANT already in flight will bring origin's events from `from`
//  on, so that asking again would fetch them twice. Without this, every
//  DIGEST that found us behind started its own chain of WANTs (answers cut
//  short end with a DIGEST), and every pushed event landing beyond a gap
//  asked for the whole gap again: a node catching up under live traffic
//  took each event many times. In flight means: sent within 2 intervals
//  (at least 1 s), for a range reaching `from`, and
//    - a gap (gap): any such WANT covers it;
//    - after a DIGEST from another peer: that peer's chain covers it;
//    - after a DIGEST from the same peer: only if nothing arrived since we
//      asked (once events came in, this DIGEST ends that answer and the
//      chain goes on).
static bool
s_want_in_flight (fed_repl_t *self, const uint8_t peer [32], const uint8_t origin [32],
                  uint64_t from, bool gap)
{
    int64_t ttl = 2 * self->options.interval_ms;
    if (ttl < WANT_TTL_MIN_MS)
        ttl = WANT_TTL_MIN_MS;
    for (size_t i = 0; i < self->want_count; i++) {
        want_t *want = &self->wants [i];
        if (memcmp (want->origin, origin, 32) != 0)
            continue;
        if (want->to < from || self->now_ms - want->at_ms >= ttl)
            return false;
        if (gap || memcmp (want->peer, peer, 32) != 0)
            return true;
        return fed_evlog_seq (self->log, origin) <= want->mine;
    }
    return false;
}

static void
s_want_remember (fed_repl_t *self, const uint8_t peer [32], const uint8_t origin [32], uint64_t to)
{
    want_t *slot = NULL;
    for (size_t i = 0; i < self->want_count && !slot; i++)
        if (memcmp (self->wants [i].origin, origin, 32) == 0)
            slot = &self->wants [i];
    if (!slot && self->want_count < WANTS_MAX)
        slot = &self->wants [self->want_count++];
    if (!slot) { //  full: reuse the oldest
        slot = &self->wants [0];
        for (size_t i = 1; i < WANTS_MAX; i++)
            if (self->wants [i].at_ms < slot->at_ms)
                slot = &self->wants [i];
    }
    memcpy (slot->origin, origin, 32);
    memcpy (slot->peer, peer, 32);
    slot->to = to;
    slot->mine = fed_evlog_seq (self->log, origin);
    slot->at_ms = self->now_ms;
}

//  Asks peer (the sender of the message being handled) for origin's events
//  from..last: to it as a member for a gap (gap), else as a reply.
static void
s_send_want (fed_repl_t *self, const uint8_t peer [32], bool gap, const uint8_t origin [32],
             uint64_t from, uint64_t last)
{
    if (s_want_in_flight (self, peer, origin, from, gap)) {
        self->stats.wants_suppressed++;
        return;
    }
    s_want_remember (self, peer, origin, last);
    fed_wire_msg_t msg;
    memset (&msg, 0, sizeof msg);
    msg.type = FED_WIRE_WANT;
    memcpy (msg.u.want.origin, origin, 32);
    msg.u.want.from = from;
    msg.u.want.to = last;
    if (gap) //  asked after EVENTS: to the sender as a member
        self->io.send (self->io.arg, peer, &msg);
    else
        self->io.reply (self->io.arg, &msg);
    self->stats.wants_sent++;
}

//  Sends this node's version vector as DIGEST to member to, or as a reply
//  when to is NULL.
static void
s_send_digest (fed_repl_t *self, const uint8_t *to)
{
    fed_vv_entry_t *ours;
    size_t origins = fed_evlog_version_vector (self->log, &ours);
    if (origins > FED_WIRE_DIGEST_MAX)
        origins = FED_WIRE_DIGEST_MAX; //  the rest in later rounds, once origins are pruned
    fed_wire_vv_entry_t *entries =
        (fed_wire_vv_entry_t *) fed_calloc (origins + 1, sizeof (fed_wire_vv_entry_t));
    size_t used = 0;
    for (size_t i = 0; i < origins; i++)
        if (ours [i].seq) {
            memcpy (entries [used].origin, ours [i].origin, 32);
            entries [used++].seq = ours [i].seq;
        }
    fed_wire_msg_t msg;
    memset (&msg, 0, sizeof msg);
    msg.type = FED_WIRE_DIGEST;
    msg.u.digest.entries = entries;
    msg.u.digest.count = (uint32_t) used;
    if (to)
        self->io.send (self->io.arg, to, &msg);
    else
        self->io.reply (self->io.arg, &msg);
    self->stats.digests_sent++;
    free (entries);
    free (ours);
}

//  An answer that used all its batches may have left events out: our
//  DIGEST after it tells the asker what else there is, and its WANT comes
//  back at once for the next bounded step.
static void
s_answer_done (fed_repl_t *self, batch_t *batch)
{
    s_batch_done (batch);
    if (batch->batches_left == 0)
        s_send_digest (self, NULL);
}

static void
s_on_digest (fed_repl_t *self, const uint8_t from [32], const fed_wire_digest_t *digest)
{
    self->stats.digests_received++;
    s_remember (self, from, digest);
    fed_vv_entry_t *ours;
    size_t count = fed_evlog_version_vector (self->log, &ours);
    batch_t batch;
    s_batch_init (&batch, self, NULL);
    //  Both lists are sorted by origin: walk them together.
    size_t i = 0, j = 0;
    bool full = false;
    while (i < count || j < digest->count) {
        int order = i == count   ? 1
            : j == digest->count ? -1
                                 : memcmp (ours [i].origin, digest->entries [j].origin, 32);
        if (order < 0) { //  they hold nothing of this origin
            if (!full)
                full = s_add_range (&batch, ours [i].origin, 1, ours [i].seq);
            i++;
        } else if (order > 0) { //  we hold nothing of it
            s_send_want (self, from, false, digest->entries [j].origin, 1, digest->entries [j].seq);
            j++;
        } else {
            uint64_t mine = ours [i].seq, theirs = digest->entries [j].seq;
            if (mine > theirs && !full)
                full = s_add_range (&batch, ours [i].origin, theirs + 1, mine);
            else if (theirs > mine)
                s_send_want (self, from, false, ours [i].origin, mine + 1, theirs);
            i++;
            j++;
        }
    }
    s_answer_done (self, &batch);
    free (ours);
}

static void
s_on_want (fed_repl_t *self, const fed_wire_want_t *want)
{
    self->stats.wants_received++;
    batch_t batch;
    s_batch_init (&batch, self, NULL);
    (void) s_add_range (&batch, want->origin, want->from, want->to);
    s_answer_done (self, &batch);
}

static void
s_on_events (fed_repl_t *self, const uint8_t from [32], const fed_wire_events_t *events)
{
    self->stats.events_received += events->count;
    if (events->count == 0)
        return;
    fed_vv_entry_t *before;
    size_t before_count = fed_evlog_version_vector (self->log, &before);
    fed_accept_report_t report;
    if (fed_evlog_accept (self->log, events->events, events->count, &report)) {
        self->stats.store_failures++;
        fed_error ("repl: storing %u received events failed; they will come again", events->count);
        free (before);
        return;
    }
    if (report.accepted) {
        self->stats.events_stored += report.accepted;
        if (self->io.stored)
            self->io.stored (self->io.arg, report.accepted);
    }
    if (report.accepted && self->options.push) {
        //  Rumour spreading: what is new here goes on once, to other peers.
        fed_vv_entry_t *after;
        size_t after_count = fed_evlog_version_vector (self->log, &after);
        batch_t batch;
        s_batch_init (&batch, self, NULL);
        batch.spread = true;
        batch.except = from;
        batch.batches_left = 1;
        for (size_t a = 0, b = 0; a < after_count; a++) {
            while (b < before_count && memcmp (before [b].origin, after [a].origin, 32) < 0)
                b++;
            uint64_t old = b < before_count && memcmp (before [b].origin, after [a].origin, 32) == 0
                ? before [b].seq
                : 0;
            if (after [a].seq > old
                && s_add_range (&batch, after [a].origin, old + 1, after [a].seq))
                break;
        }
        s_batch_done (&batch);
        self->stats.forwarded++;
        free (after);
    }
    free (before);
    //  Events wait behind a gap: ask the sender for it.
    fed_gap_t *gaps;
    size_t gap_count = fed_evlog_gaps (self->log, &gaps);
    for (size_t i = 0; i < gap_count && i < WANTS_PER_RECEIPT; i++)
        s_send_want (self, from, true, gaps [i].origin, gaps [i].from, gaps [i].to);
    free (gaps);
}

void
fed_repl_receive (fed_repl_t *self, const uint8_t from [32], const fed_wire_msg_t *msg)
{
    switch (msg->type) {
        case FED_WIRE_DIGEST: s_on_digest (self, from, &msg->u.digest); break;
        case FED_WIRE_WANT: s_on_want (self, &msg->u.want); break;
        case FED_WIRE_EVENTS: s_on_events (self, from, &msg->u.events); break;
        default: break;
    }
}

void
fed_repl_tick (fed_repl_t *self, int64_t now_ms)
{
    self->now_ms = now_ms;
    if (now_ms < self->next_round_ms)
        return;
    self->next_round_ms = now_ms + self->options.interval_ms;
    uint8_t peers [PEERS_MAX][32];
    size_t count = self->io.peers (self->io.arg, peers, self->options.fanout);
    for (size_t i = 0; i < count; i++)
        s_send_digest (self, peers [i]);
}

bool
fed_repl_push (fed_repl_t *self, const uint8_t origin [32], uint64_t seq)
{
    if (!self->options.push)
        return false;
    bool was_empty = self->queued == 0;
    run_t *last = self->queued ? &self->queue [self->queued - 1] : NULL;
    if (last && last->to + 1 == seq && memcmp (last->origin, origin, 32) == 0) {
        last->to = seq;
        return false;
    }
    if (self->queued == QUEUE_MAX)
        fed_repl_flush (self);
    run_t *run = &self->queue [self->queued++];
    memcpy (run->origin, origin, 32);
    run->from = run->to = seq;
    return was_empty;
}

void
fed_repl_flush (fed_repl_t *self)
{
    if (self->queued == 0)
        return;
    batch_t batch;
    s_batch_init (&batch, self, NULL);
    batch.spread = true;
    batch.batches_left = UINT32_MAX;
    for (size_t i = 0; i < self->queued; i++)
        (void) s_add_range (&batch, self->queue [i].origin, self->queue [i].from,
                            self->queue [i].to);
    s_batch_done (&batch);
    self->queued = 0;
    self->stats.pushed++;
}

void
fed_repl_stats (fed_repl_t *self, fed_repl_stats_t *stats)
{
    *stats = self->stats;
}
