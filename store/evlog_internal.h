/*  store/evlog_internal.h: the event log's private state, shared by the
    files that implement it (evlog.c: open, append, reads; evlog_accept.c:
    remote events; evlog_maint.c: rebuild and audit). Not installed.
*/
#ifndef FED_EVLOG_INTERNAL_H_INCLUDED
#define FED_EVLOG_INTERNAL_H_INCLUDED

#include "evlog.h"
#include "hlc.h"

#include <rocksdb/c.h>

//  Column families, in the order they are opened.
//  "arrivals" holds the local arrival index on its own: its keys only ever
//  grow, so RocksDB inserts them cheaply when no other keys interleave.
enum { CF_DEFAULT, CF_EVENTS, CF_META, CF_VIEWS, CF_ARRIVALS, CF_COUNT };

#define FED_SCHEMA_VERSION 1
#define EVENT_KEY_SIZE (FED_KEY_BYTES + 8)

//  One origin's place in the version vector.
typedef struct {
    uint8_t origin [FED_KEY_BYTES];
    uint64_t seq;              //  highest contiguous seq held (0: none yet)
    uint8_t id [FED_ID_BYTES]; //  id of that event
    bool quarantined;          //  forked: nothing more is taken from it
    bool used;                 //  slot holds an origin
} fed_origin_t;

//  Open-addressing table of origins (keys are random, so their first bytes
//  hash well).
typedef struct {
    fed_origin_t *slots; //  capacity slots, owned
    size_t capacity;     //  a power of two
    size_t count;        //  used slots
} fed_origin_map_t;

struct fed_evlog_t {
    char *path;                                    //  the db directory, owned
    fed_evlog_options_t options;                   //  as opened
    rocksdb_t *db;                                 //  owned
    rocksdb_options_t *db_options;                 //  owned
    rocksdb_options_t *cf_options [CF_COUNT];      //  owned
    rocksdb_column_family_handle_t *cf [CF_COUNT]; //  owned
    rocksdb_writeoptions_t *write_options;         //  sync or not, per durability; owned
    rocksdb_writeoptions_t *sync_options;          //  always sync (maintenance); owned
    rocksdb_readoptions_t *read_options;           //  owned
    bool has_signer;                               //  a key is set: local appends allowed
    uint8_t origin [FED_KEY_BYTES];                //  own public key
    uint8_t *secret;                               //  64-byte secret key, sodium_malloc'd, owned
    fed_evlog_trust_fn *trust;                     //  remote origin predicate (may be NULL)
    void *trust_arg;                               //  for trust
    fed_hlc_t hlc;                                 //  local clock
    fed_origin_map_t origins;                      //  the version vector, in memory
    uint64_t count;                                //  events held
    uint64_t arrivals;                             //  highest arrival number written
    uint64_t ids_indexed;                          //  arrivals up to here are in the id index
    fed_view_batch_t *view_batch;                  //  view state of the batch being built, owned
    fed_view_def_t *views;                         //  registered views, owned array
    fed_view_txn_t **view_txns;                    //  one transaction per view, reused; owned
    size_t view_count;                             //  entries in views
    fed_event_t **pending;                         //  events waiting for a gap, owned
    size_t pending_count;                          //  entries in pending
    size_t pending_bytes;                          //  their total size
    fed_evlog_stats_t stats;                       //  counters for metrics
};

//  The origin's slot, or NULL if unknown.
fed_origin_t *fed_origin_map_find (fed_origin_map_t *map, const uint8_t origin [32]);
//  The origin's slot, made (zeroed) if unknown.
fed_origin_t *fed_origin_map_upsert (fed_origin_map_t *map, const uint8_t origin [32]);

//  Event key: origin ‖ seq big-endian.
void fed_evlog_event_key (uint8_t key [EVENT_KEY_SIZE], const uint8_t origin [32], uint64_t seq);

//  Puts one event into the batch and folds it into every view. Returns 0,
//  or -1 if a view failed.
int fed_evlog_stage_event (fed_evlog_t *self, rocksdb_writebatch_t *batch,
                           const fed_event_t *event);

//  Folds event into view i through its reusable transaction, bound to batch.
//  0, or -1 if the view failed.
int fed_evlog_apply_view (fed_evlog_t *self, size_t i, rocksdb_writebatch_t *batch,
                          const fed_event_t *event);

//  Signs the next local event after *own (which is advanced) and stages it.
//  Caller owns *event_p on success. Returns 0 or -1 with err.
int fed_evlog_stage_local (fed_evlog_t *self, rocksdb_writebatch_t *batch, fed_origin_t *own,
                           const char *type, const void *body, size_t body_size,
                           fed_event_t **event_p, fed_err_t *err);

//  Stages the version-vector record of one origin and the HLC mark.
void fed_evlog_stage_origin (fed_evlog_t *self, rocksdb_writebatch_t *batch,
                             const fed_origin_t *origin);
void fed_evlog_stage_hlc (fed_evlog_t *self, rocksdb_writebatch_t *batch);

//  Writes the batch with the log's durability. 0, or -1 with err.
int fed_evlog_commit (fed_evlog_t *self, rocksdb_writebatch_t *batch, fed_err_t *err);

//  Refolds the named view (NULL: all views) from the log. 0 or -1 with err.
int fed_evlog_refold (fed_evlog_t *self, const char *name, fed_err_t *err);

#endif
