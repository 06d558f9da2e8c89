/*  store/view.h: read models folded from the event log (CQRS).

    A view is a named fold: the log calls its apply function with every
    event it stores, inside the same RocksDB WriteBatch as the event and the
    version vector, so a crash never leaves a view ahead of or behind the
    log. A view writes only under its own key prefix ("NAME/") in the views
    column family; reads inside apply see the writes made earlier in the
    same batch.

    Views must converge: two nodes holding the same events, folded in any
    order that keeps each origin's events in seq order, must hold identical
    bytes. So a view's state must not depend on how events of different
    origins interleave: use last-writer-wins registers ordered by
    (hlc, origin) (fed_view_lww_put), commutative counters (fed_view_add),
    or keys that only one origin writes.

    Bumping a view's version makes the log refold that view from scratch
    when it is registered; `fednode rebuild` refolds every view.
*/
#ifndef FED_VIEW_H_INCLUDED
#define FED_VIEW_H_INCLUDED

#include <rocksdb/c.h>
#include "event.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fed_view_txn_t fed_view_txn_t;

//  Folds one event into the view. Returns 0, or -1 to fail the whole batch
//  (storage trouble only: an event the view does not care about is 0).
typedef int (fed_view_apply_fn) (void *state, fed_view_txn_t *txn, const fed_event_t *event);

typedef struct {
    const char *name;         //  [a-z0-9_]+, ≤ 32 chars: also the key prefix "name/"
    uint32_t version;         //  bump when apply changes meaning; the view is refolded
    fed_view_apply_fn *apply; //  the fold
    void *state;              //  passed to apply; owned by whoever registered the view
} fed_view_def_t;

//  Reads key (under this view's prefix) as of this batch: the store, with
//  the writes made earlier in the batch on top. Returns 0 and sets
//  *value_p (caller frees) and *size_p, or *value_p = NULL when absent;
//  -1 on a storage error.
int fed_view_get (fed_view_txn_t *txn, const void *key, size_t key_size, uint8_t **value_p,
                  size_t *size_p) FED_MUST_USE;
//  Writes key = value under this view's prefix.
void fed_view_put (fed_view_txn_t *txn, const void *key, size_t key_size, const void *value,
                   size_t value_size);
//  Deletes key under this view's prefix.
void fed_view_delete (fed_view_txn_t *txn, const void *key, size_t key_size);
//  Adds delta to the signed 64-bit counter at key (absent = 0). Commutative:
//  needs no read. Deltas are gathered over the batch and written as one
//  merge per key at commit, so reads in the same batch do not see them, and
//  a counter key must never also be written with put or delete.
void fed_view_add (fed_view_txn_t *txn, const void *key, size_t key_size, int64_t delta);
//  Last-writer-wins register: stores value at key unless the key already
//  holds a value written at a later (hlc, origin). Returns 0 (written or
//  older), -1 on a storage error. The stored bytes are
//  hlc(8, big-endian) ‖ origin(32) ‖ value; read them back with
//  fed_view_lww_value.
int fed_view_lww_put (fed_view_txn_t *txn, const void *key, size_t key_size,
                      const fed_event_t *event, const void *value, size_t value_size) FED_MUST_USE;
//  The value part of a stored LWW register (NULL if the record is too short).
const uint8_t *fed_view_lww_value (const uint8_t *record, size_t size, size_t *value_size_p);

//  Decodes a counter written by fed_view_add (8 bytes big-endian). 0 if size
//  is not 8.
int64_t fed_view_counter (const uint8_t *value, size_t size);

//  --- For the event log only ---------------------------------------------

//  The views' state for one write batch: counter deltas gathered so that N
//  events touching one counter cost one merge, and the values views wrote,
//  so that reads inside the batch see them (the batch itself is a plain
//  WriteBatch: cheaper than one with an index, and only the rare LWW reads
//  need to see writes).
typedef struct fed_view_batch_t fed_view_batch_t;
//  Caller owns the result.
fed_view_batch_t *fed_view_batch_new (void);
void fed_view_batch_destroy (fed_view_batch_t **self_p);
//  Writes one merge per counter touched into batch, then forgets all state.
void fed_view_batch_flush (fed_view_batch_t *self, rocksdb_writebatch_t *batch,
                           rocksdb_column_family_handle_t *cf);
//  Forgets all state (a batch that will not be written).
void fed_view_batch_clear (fed_view_batch_t *self);

//  A transaction over a write batch, for one view's prefix. The batch,
//  handles and view batch stay owned by the caller. Caller owns the result.
fed_view_txn_t *fed_view_txn_new (rocksdb_t *db, rocksdb_column_family_handle_t *cf,
                                  rocksdb_writebatch_t *batch, const char *name,
                                  fed_view_batch_t *view_batch);
//  Points the transaction at another batch (it is made once per view and
//  reused for every event) and clears its failure flag.
void fed_view_txn_bind (fed_view_txn_t *self, rocksdb_writebatch_t *batch);
void fed_view_txn_destroy (fed_view_txn_t **self_p);
//  True if a storage error happened inside the transaction.
bool fed_view_txn_failed (const fed_view_txn_t *self);
//  The merge operator that fed_view_add needs; set on the views column
//  family's options. Caller owns it (RocksDB takes it over when set).
rocksdb_mergeoperator_t *fed_view_counter_merge_operator (void);
//  True if name is a valid view name.
bool fed_view_name_valid (const char *name);

#ifdef __cplusplus
}
#endif
#endif
