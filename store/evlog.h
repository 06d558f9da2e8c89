/*  store/evlog.h: the signed append-only event log in RocksDB.

    One log per node, in {data_dir}/db, with three column families:

        events   origin(32) ‖ seq(8, big-endian)  ->  the exact signed event bytes
        meta     version vector, HLC high-water mark, schema and view versions,
                 quarantined origins and fork evidence
        views    read models, each under its own "name/" prefix (store/view.h)

    Every local append and every received batch is one atomic write of
    events + version vector + view updates. Under FED_DURABILITY_SYNC the
    write is fsynced before the call returns (nothing acknowledged is ever
    lost); under FED_DURABILITY_WAL it is in the WAL but not fsynced
    (survives a process kill, not a power cut). A batch of appends shares one
    fsync (group commit).

    Received events are checked cheapest first (DESIGN §4, §12): size,
    decode, trusted origin, not quarantined, seq extends the chain, prev is
    the id of the previous event, and then one signature per contiguous run
    per origin: the last event's signature authenticates the whole run once
    the hash links check out. Events ahead of a gap wait in a bounded buffer;
    a second, different, validly signed event at a held (origin, seq) is a
    fork: it is refused, the origin quarantined, the evidence kept and an
    `origin.forked` event written.

    The log is not thread-safe: one thread (the node actor) owns it.
*/
#ifndef FED_EVLOG_H_INCLUDED
#define FED_EVLOG_H_INCLUDED

#include "event.h"
#include "view.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fed_evlog_t fed_evlog_t;

typedef enum {
    FED_DURABILITY_SYNC = 0, //  fsync per write batch
    FED_DURABILITY_WAL = 1   //  WAL written, not fsynced
} fed_durability_t;

typedef struct {
    fed_durability_t durability;
    fed_event_limits_t limits;  //  body size and shape caps (limits.event_body)
    size_t pending_max;         //  out-of-order events held (limits.pending_events)
    size_t pending_bytes_max;   //  and their total bytes
    int64_t max_clock_drift_ms; //  remote HLCs further ahead are not adopted
    bool read_only;             //  open beside a running node: no lock, no writes
} fed_evlog_options_t;

//  Defaults: sync, 1 MiB bodies, 10,000 pending events in at most 64 MiB,
//  60 s drift, read-write.
void fed_evlog_options_default (fed_evlog_options_t *options);

//  Opens (creating if absent, unless read-only) the log at path. Returns NULL
//  with err when the store cannot be opened: the message names the path and,
//  for corruption in the middle of the WAL or a newer schema, what to do. A
//  torn WAL tail (a crash mid-write) is not an error. Caller owns the log.
fed_evlog_t *fed_evlog_open (const char *path, const fed_evlog_options_t *options, fed_err_t *err);

//  Syncs the WAL and closes. Accepts NULL; sets *self_p to NULL.
void fed_evlog_destroy (fed_evlog_t **self_p);

//  Sets the identity local events are signed with; the 64-byte libsodium
//  secret key is copied into guarded memory and wiped on destroy.
void fed_evlog_set_signer (fed_evlog_t *self, const uint8_t public_key [32],
                           const uint8_t secret_key [64]);

//  Decides whether a remote origin is trusted. With no function set, only
//  the signer's own key is trusted. The log's own origin is always trusted.
typedef bool (fed_evlog_trust_fn) (void *arg, const uint8_t origin [32]);
void fed_evlog_set_trust (fed_evlog_t *self, fed_evlog_trust_fn *trust, void *arg);

//  Registers a view (the definition is copied; def->state stays the
//  caller's). If the view's stored version differs from def->version, or
//  the view is new, it is refolded from the whole log now. Returns 0, or -1
//  with err for a bad name, a duplicate name, or a storage error.
int fed_evlog_add_view (fed_evlog_t *self, const fed_view_def_t *def, fed_err_t *err) FED_MUST_USE;

//  --- Local appends --------------------------------------------------------

typedef struct {
    const char *type; //  event type, like "user.deploy"
    const void *body; //  one msgpack map, or NULL for {}
    size_t body_size;
} fed_new_event_t;

//  Signs and appends one event; durable per the durability mode when it
//  returns 0. *seq_p (if given) receives its seq. Returns -1 with err on a
//  bad type or body (nothing written) or a storage error.
int fed_evlog_append (fed_evlog_t *self, const char *type, const void *body, size_t body_size,
                      uint64_t *seq_p, fed_err_t *err) FED_MUST_USE;

//  Appends count events as one atomic batch with one fsync (group commit):
//  all or none. *first_seq_p (if given) receives the first seq.
int fed_evlog_append_many (fed_evlog_t *self, const fed_new_event_t *items, size_t count,
                           uint64_t *first_seq_p, fed_err_t *err) FED_MUST_USE;

//  --- Remote events --------------------------------------------------------

typedef struct {
    size_t accepted;                      //  stored now (including drained buffered ones)
    size_t by_status [FED_EVENT_REASONS]; //  every outcome, counted
    fed_err_t first_error;                //  the first refusal, with its reason
} fed_accept_report_t;

//  Checks and stores a batch of received events (exact bytes). Each event
//  ends accepted, duplicate, buffered, or refused with a reason, all counted
//  in *report (which is zeroed first). Returns 0 when every event was
//  handled, -1 when the store failed to write (then nothing of this batch
//  was stored and the caller may retry).
int fed_evlog_accept (fed_evlog_t *self, const fed_blob_t *events, size_t count,
                      fed_accept_report_t *report) FED_MUST_USE;

//  --- Reads ----------------------------------------------------------------

//  The event at (origin, seq), or NULL if absent. Caller owns it.
fed_event_t *fed_evlog_get (fed_evlog_t *self, const uint8_t origin [32], uint64_t seq);

//  Called per event in order; return non-zero to stop the walk. The event is
//  borrowed for the call.
typedef int (fed_evlog_each_fn) (void *arg, const fed_event_t *event);

//  Walks origin's events with from <= seq <= to (to = 0: to the end) in seq
//  order; origin NULL walks every origin in key order. Returns 0, the
//  callback's non-zero value if it stopped, or -1 on a storage or decode
//  error (with err).
int fed_evlog_range (fed_evlog_t *self, const uint8_t *origin, uint64_t from, uint64_t to,
                     fed_evlog_each_fn *each, void *arg, fed_err_t *err) FED_MUST_USE;

//  One entry of the version vector.
typedef struct {
    uint8_t origin [32];
    uint64_t seq;    //  highest contiguous seq held
    uint8_t id [32]; //  id of that event
} fed_vv_entry_t;

//  Highest contiguous seq held for origin (0 if none).
uint64_t fed_evlog_seq (fed_evlog_t *self, const uint8_t origin [32]);
//  The head of origin's chain, from memory: its highest contiguous seq and
//  that event's id. Returns false (and leaves both alone) if none is held.
bool fed_evlog_head (fed_evlog_t *self, const uint8_t origin [32], uint64_t *seq_p,
                     uint8_t id [32]);
//  The version vector, sorted by origin. Caller frees *entries_p (free ()).
size_t fed_evlog_version_vector (fed_evlog_t *self, fed_vv_entry_t **entries_p);
//  The node's own origin key (zeros if no signer is set).
const uint8_t *fed_evlog_origin (fed_evlog_t *self);
//  Total events held.
uint64_t fed_evlog_count (fed_evlog_t *self);

//  A missing run of one origin that buffered events wait for.
typedef struct {
    uint8_t origin [32];
    uint64_t from;
    uint64_t to;
} fed_gap_t;
//  The gaps in front of buffered events. Caller frees *gaps_p (free ()).
size_t fed_evlog_gaps (fed_evlog_t *self, fed_gap_t **gaps_p);
//  Events buffered ahead of gaps.
size_t fed_evlog_pending (fed_evlog_t *self);
//  True if origin forked and is quarantined.
bool fed_evlog_quarantined (fed_evlog_t *self, const uint8_t origin [32]);

//  Reads a view key (full key, "name/…"). Returns 0 with *value_p (caller
//  frees, NULL if absent) or -1 on a storage error.
int fed_evlog_view_get (fed_evlog_t *self, const void *key, size_t key_size, uint8_t **value_p,
                        size_t *size_p) FED_MUST_USE;
//  Called per view key under a prefix, in key order; non-zero stops.
typedef int (fed_evlog_kv_fn) (void *arg, const uint8_t *key, size_t key_size, const uint8_t *value,
                               size_t value_size);
int fed_evlog_view_scan (fed_evlog_t *self, const char *prefix, fed_evlog_kv_fn *each,
                         void *arg) FED_MUST_USE;

//  --- Local indexes ----------------------------------------------------------
//  Every stored event also gets an arrival number (1, 2, 3 … in the order
//  this node stored events, whatever their origin), and, shortly after, an
//  entry in an id -> position index. Both are local, like a mailbox: they are not views
//  and do not converge across nodes.

//  Highest arrival number so far (0: none).
uint64_t fed_evlog_arrivals (fed_evlog_t *self);

//  Walks events stored after arrival number `after`, in arrival order, at
//  most limit of them. *last_p receives the arrival number of the last
//  event passed to each (or `after` when none). Returns 0, the callback's
//  non-zero value if it stopped, or -1 with err.
int fed_evlog_feed (fed_evlog_t *self, uint64_t after, size_t limit, fed_evlog_each_fn *each,
                    void *arg, uint64_t *last_p, fed_err_t *err) FED_MUST_USE;

//  The event with this id, or NULL if not held. Looks in the id index, then
//  among the events the index has not reached yet. Caller owns it.
fed_event_t *fed_evlog_get_by_id (fed_evlog_t *self, const uint8_t id [32]);

//  Adds up to max events to the id index, from where it stopped. The index
//  is kept off the write path of appends (its random keys are costly to
//  insert): the node calls this on a timer. Returns how many were indexed.
size_t fed_evlog_index_ids (fed_evlog_t *self, size_t max);

//  Claims a request id (replay protection for control commands): records
//  it with its expiry, as durably as appends (synced under sync; under wal
//  in the write-ahead log ahead of the command's events, so the two share
//  one fate on a power loss). Returns 0 if it was fresh, 1 if it
//  was already claimed, -1 on a storage error.
int fed_evlog_claim_request (fed_evlog_t *self, const uint8_t *rid, size_t size,
                             int64_t expires_ms) FED_MUST_USE;
//  Forgets request ids that expired before now_ms. Returns how many.
size_t fed_evlog_purge_requests (fed_evlog_t *self, int64_t now_ms);

//  --- Maintenance ----------------------------------------------------------

//  Drops every view and refolds all registered views from the log. A crash
//  during a rebuild is finished by the next open. 0, or -1 with err.
int fed_evlog_rebuild (fed_evlog_t *self, fed_err_t *err) FED_MUST_USE;

typedef struct {
    uint64_t origins;      //  chains walked
    uint64_t events;       //  events checked
    uint64_t bad;          //  events that failed a check
    fed_err_t first_error; //  the first failure, naming origin and seq
} fed_verify_report_t;

//  Audits the whole log: every chain is contiguous from seq 1, every prev
//  links, every signature verifies, the version vector matches. Returns 0 if
//  all is well, -1 otherwise (details in *report).
int fed_evlog_verify (fed_evlog_t *self, fed_verify_report_t *report) FED_MUST_USE;

typedef struct {
    uint64_t appended;                     //  local events written
    uint64_t received [FED_EVENT_REASONS]; //  remote events by outcome
    uint64_t batches;                      //  write batches committed
    uint64_t forks;                        //  forks detected
} fed_evlog_stats_t;
void fed_evlog_stats (fed_evlog_t *self, fed_evlog_stats_t *stats);

#ifdef __cplusplus
}
#endif
#endif
