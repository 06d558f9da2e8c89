/*  store/view.c: the transaction a view writes through, LWW registers and
    commutative counters. See view.h for the convergence rules.
*/
#include "view.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FED_VIEW_NAME_MAX 32
#define FED_VIEW_KEY_MAX 1024

struct fed_view_txn_t {
    rocksdb_t *db;                      //  for reads not covered by the batch; not owned
    rocksdb_column_family_handle_t *cf; //  views column family; not owned
    rocksdb_writebatch_wi_t *batch;     //  the log's batch; not owned
    rocksdb_readoptions_t *read_options;    //  owned
    char prefix [FED_VIEW_NAME_MAX + 2];    //  "name/"
    size_t prefix_size;                 //  bytes in prefix
    bool failed;                        //  a storage error happened
    fed_view_counters_t *counters;      //  batch-wide counter deltas, or NULL; not owned
    uint8_t key [FED_VIEW_NAME_MAX + 2 + FED_VIEW_KEY_MAX];    //  scratch: prefix ‖ key
};

typedef struct {
    uint8_t *key;                       //  full key, owned
    size_t size;
    int64_t delta;
} counter_t;

struct fed_view_counters_t {
    counter_t *items;                   //  owned array
    size_t count;
    size_t capacity;
};

fed_view_counters_t *
fed_view_counters_new (void)
{
    return (fed_view_counters_t *) fed_calloc (1, sizeof (fed_view_counters_t));
}

void
fed_view_counters_clear (fed_view_counters_t *self)
{
    for (size_t i = 0; i < self->count; i++)
        free (self->items [i].key);
    self->count = 0;
}

void
fed_view_counters_destroy (fed_view_counters_t **self_p)
{
    if (self_p && *self_p) {
        fed_view_counters_clear (*self_p);
        free ((*self_p)->items);
        free (*self_p);
        *self_p = NULL;
    }
}

//  Adds delta to the gathered counter for key.
static void
s_counters_add (fed_view_counters_t *self, const uint8_t *key, size_t size, int64_t delta)
{
    for (size_t i = self->count; i-- > 0;)
        if (self->items [i].size == size && memcmp (self->items [i].key, key, size) == 0) {
            self->items [i].delta += delta;
            return;
        }
    if (self->count == self->capacity) {
        self->capacity = self->capacity ? 2 * self->capacity : 16;
        self->items = (counter_t *) fed_realloc (self->items, self->capacity * sizeof (counter_t));
    }
    counter_t *item = &self->items [self->count++];
    item->key = (uint8_t *) fed_malloc (size);
    memcpy (item->key, key, size);
    item->size = size;
    item->delta = delta;
}

void
fed_view_counters_flush (fed_view_counters_t *self, rocksdb_writebatch_wi_t *batch,
                         rocksdb_column_family_handle_t *cf)
{
    for (size_t i = 0; i < self->count; i++) {
        uint8_t operand [8];
        fed_put_be64 (operand, (uint64_t) self->items [i].delta);
        rocksdb_writebatch_wi_merge_cf (batch, cf, (const char *) self->items [i].key,
                                        self->items [i].size, (const char *) operand,
                                        sizeof operand);
    }
    fed_view_counters_clear (self);
}

bool
fed_view_name_valid (const char *name)
{
    size_t size = strlen (name);
    if (size == 0 || size > FED_VIEW_NAME_MAX)
        return false;
    for (size_t i = 0; i < size; i++)
        if (!((name [i] >= 'a' && name [i] <= 'z') || (name [i] >= '0' && name [i] <= '9')
              || name [i] == '_'))
            return false;
    return true;
}

fed_view_txn_t *
fed_view_txn_new (rocksdb_t *db, rocksdb_column_family_handle_t *cf,
                  rocksdb_writebatch_wi_t *batch, const char *name,
                  fed_view_counters_t *counters)
{
    fed_view_txn_t *self = (fed_view_txn_t *) fed_calloc (1, sizeof (fed_view_txn_t));
    self->db = db;
    self->cf = cf;
    self->batch = batch;
    self->counters = counters;
    self->read_options = rocksdb_readoptions_create ();
    self->prefix_size = (size_t) snprintf (self->prefix, sizeof self->prefix, "%s/", name);
    return self;
}

void
fed_view_txn_destroy (fed_view_txn_t **self_p)
{
    if (self_p && *self_p) {
        rocksdb_readoptions_destroy ((*self_p)->read_options);
        free (*self_p);
        *self_p = NULL;
    }
}

bool
fed_view_txn_failed (const fed_view_txn_t *self)
{
    return self->failed;
}

//  Builds prefix ‖ key in the scratch buffer; returns its size, or 0 when the
//  key is too long (a bug in the view: keys are made by code, not input).
static size_t
s_full_key (fed_view_txn_t *self, const void *key, size_t key_size)
{
    if (key_size > FED_VIEW_KEY_MAX) {
        self->failed = true;
        return 0;
    }
    memcpy (self->key, self->prefix, self->prefix_size);
    memcpy (self->key + self->prefix_size, key, key_size);
    return self->prefix_size + key_size;
}

int
fed_view_get (fed_view_txn_t *self, const void *key, size_t key_size, uint8_t **value_p,
              size_t *size_p)
{
    *value_p = NULL;
    *size_p = 0;
    size_t full = s_full_key (self, key, key_size);
    if (!full)
        return -1;
    char *error = NULL;
    char *value = rocksdb_writebatch_wi_get_from_batch_and_db_cf (
        self->batch, self->db, self->read_options, self->cf, (const char *) self->key, full,
        size_p, &error);
    if (error) {
        free (error);
        self->failed = true;
        return -1;
    }
    *value_p = (uint8_t *) value;
    return 0;
}

void
fed_view_put (fed_view_txn_t *self, const void *key, size_t key_size, const void *value,
              size_t value_size)
{
    size_t full = s_full_key (self, key, key_size);
    if (full)
        rocksdb_writebatch_wi_put_cf (self->batch, self->cf, (const char *) self->key, full,
                                      (const char *) value, value_size);
}

void
fed_view_delete (fed_view_txn_t *self, const void *key, size_t key_size)
{
    size_t full = s_full_key (self, key, key_size);
    if (full)
        rocksdb_writebatch_wi_delete_cf (self->batch, self->cf, (const char *) self->key, full);
}

void
fed_view_add (fed_view_txn_t *self, const void *key, size_t key_size, int64_t delta)
{
    size_t full = s_full_key (self, key, key_size);
    if (full && self->counters) {
        s_counters_add (self->counters, self->key, full, delta);
        return;
    }
    uint8_t operand [8];
    fed_put_be64 (operand, (uint64_t) delta);
    if (full)
        rocksdb_writebatch_wi_merge_cf (self->batch, self->cf, (const char *) self->key, full,
                                        (const char *) operand, sizeof operand);
}

int64_t
fed_view_counter (const uint8_t *value, size_t size)
{
    return size == 8 ? (int64_t) fed_get_be64 (value) : 0;
}

#define LWW_HEADER (8 + FED_KEY_BYTES)

int
fed_view_lww_put (fed_view_txn_t *self, const void *key, size_t key_size, const fed_event_t *event,
                  const void *value, size_t value_size)
{
    uint8_t *current;
    size_t current_size;
    if (fed_view_get (self, key, key_size, &current, &current_size))
        return -1;
    uint64_t hlc = fed_event_hlc (event);
    const uint8_t *origin = fed_event_origin (event);
    if (current && current_size >= LWW_HEADER) {
        uint64_t held_hlc = fed_get_be64 (current);
        int order = held_hlc > hlc ? 1 : held_hlc < hlc ? -1 : memcmp (current + 8, origin, 32);
        free (current);
        if (order >= 0)
            return 0;           //  what is held was written later (or is this very write)
    }
    else
        free (current);
    uint8_t *record = (uint8_t *) fed_malloc (LWW_HEADER + value_size);
    fed_put_be64 (record, hlc);
    memcpy (record + 8, origin, FED_KEY_BYTES);
    if (value_size)
        memcpy (record + LWW_HEADER, value, value_size);
    fed_view_put (self, key, key_size, record, LWW_HEADER + value_size);
    free (record);
    return 0;
}

const uint8_t *
fed_view_lww_value (const uint8_t *record, size_t size, size_t *value_size_p)
{
    if (size < LWW_HEADER)
        return NULL;
    *value_size_p = size - LWW_HEADER;
    return record + LWW_HEADER;
}

//  --- The counter merge operator -------------------------------------------
//  Values and operands are 8-byte big-endian signed counts; merging adds them.
//  A malformed stored value (not 8 bytes) reports failure rather than
//  guessing, which RocksDB surfaces as a corruption error on read.

static char *
s_sum (const char *existing, size_t existing_size, const char *const *operands,
       const size_t *operand_sizes, int count, unsigned char *success, size_t *size_p)
{
    uint64_t total = 0;
    if (existing) {
        if (existing_size != 8) {
            *success = 0;
            return NULL;
        }
        total = fed_get_be64 ((const uint8_t *) existing);
    }
    for (int i = 0; i < count; i++) {
        if (operand_sizes [i] != 8) {
            *success = 0;
            return NULL;
        }
        total += fed_get_be64 ((const uint8_t *) operands [i]);
    }
    char *result = (char *) malloc (8);
    if (!result) {
        *success = 0;
        return NULL;
    }
    fed_put_be64 ((uint8_t *) result, total);
    *success = 1;
    *size_p = 8;
    return result;
}

static char *
s_full_merge (void *state, const char *key, size_t key_size, const char *existing,
              size_t existing_size, const char *const *operands, const size_t *operand_sizes,
              int count, unsigned char *success, size_t *size_p)
{
    return s_sum (existing, existing_size, operands, operand_sizes, count, success, size_p);
}

static char *
s_partial_merge (void *state, const char *key, size_t key_size, const char *const *operands,
                 const size_t *operand_sizes, int count, unsigned char *success, size_t *size_p)
{
    return s_sum (NULL, 0, operands, operand_sizes, count, success, size_p);
}

static void
s_delete_value (void *state, const char *value, size_t size)
{
    free ((void *) value);
}

static const char *
s_merge_name (void *state)
{
    return "fed.counter.v1";
}

static void
s_merge_destroy (void *state)
{
}

rocksdb_mergeoperator_t *
fed_view_counter_merge_operator (void)
{
    return rocksdb_mergeoperator_create (NULL, s_merge_destroy, s_full_merge, s_partial_merge,
                                         s_delete_value, s_merge_name);
}
