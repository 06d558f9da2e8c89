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
    rocksdb_t *db;                       //  for reads not covered by the batch; not owned
    rocksdb_column_family_handle_t *cf;  //  views column family; not owned
    rocksdb_writebatch_t *batch;         //  the log's batch; not owned
    rocksdb_readoptions_t *read_options; //  owned
    char prefix [FED_VIEW_NAME_MAX + 2]; //  "name/"
    size_t prefix_size;                  //  bytes in prefix
    bool failed;                         //  a storage error happened
    fed_view_batch_t *view_batch;        //  batch-wide view state; not owned
    uint8_t key [FED_VIEW_NAME_MAX + 2 + FED_VIEW_KEY_MAX]; //  scratch: prefix ‖ key
};

typedef struct {
    uint8_t *key; //  full key, owned
    size_t size;
    int64_t delta;
} counter_t;

typedef struct {
    uint8_t *key; //  full key, owned
    size_t key_size;
    uint8_t *value; //  owned; NULL: deleted in this batch
    size_t value_size;
} written_t;

struct fed_view_batch_t {
    counter_t *counters; //  owned array
    size_t counter_count;
    size_t counter_capacity;
    written_t *written; //  owned array, latest write per key
    size_t written_count;
    size_t written_capacity;
};

fed_view_batch_t *
fed_view_batch_new (void)
{
    return (fed_view_batch_t *) fed_calloc (1, sizeof (fed_view_batch_t));
}

void
fed_view_batch_clear (fed_view_batch_t *self)
{
    for (size_t i = 0; i < self->counter_count; i++)
        free (self->counters [i].key);
    self->counter_count = 0;
    for (size_t i = 0; i < self->written_count; i++) {
        free (self->written [i].key);
        free (self->written [i].value);
    }
    self->written_count = 0;
}

void
fed_view_batch_destroy (fed_view_batch_t **self_p)
{
    if (self_p && *self_p) {
        fed_view_batch_clear (*self_p);
        free ((*self_p)->counters);
        free ((*self_p)->written);
        free (*self_p);
        *self_p = NULL;
    }
}

//  Adds delta to the gathered counter for key.
static void
s_counter_add (fed_view_batch_t *self, const uint8_t *key, size_t size, int64_t delta)
{
    for (size_t i = self->counter_count; i-- > 0;)
        if (self->counters [i].size == size && memcmp (self->counters [i].key, key, size) == 0) {
            self->counters [i].delta += delta;
            return;
        }
    if (self->counter_count == self->counter_capacity) {
        self->counter_capacity = self->counter_capacity ? 2 * self->counter_capacity : 16;
        self->counters =
            (counter_t *) fed_realloc (self->counters, self->counter_capacity * sizeof (counter_t));
    }
    counter_t *item = &self->counters [self->counter_count++];
    item->key = (uint8_t *) fed_malloc (size);
    memcpy (item->key, key, size);
    item->size = size;
    item->delta = delta;
}

//  The latest write to key in this batch, or NULL.
static written_t *
s_written_find (fed_view_batch_t *self, const uint8_t *key, size_t size)
{
    for (size_t i = self->written_count; i-- > 0;)
        if (self->written [i].key_size == size && memcmp (self->written [i].key, key, size) == 0)
            return &self->written [i];
    return NULL;
}

//  Records a write (value NULL: a delete) so later reads in the batch see it.
static void
s_written_set (fed_view_batch_t *self, const uint8_t *key, size_t key_size, const void *value,
               size_t value_size)
{
    written_t *item = s_written_find (self, key, key_size);
    if (!item) {
        if (self->written_count == self->written_capacity) {
            self->written_capacity = self->written_capacity ? 2 * self->written_capacity : 16;
            self->written = (written_t *) fed_realloc (self->written,
                                                       self->written_capacity * sizeof (written_t));
        }
        item = &self->written [self->written_count++];
        item->key = (uint8_t *) fed_malloc (key_size);
        memcpy (item->key, key, key_size);
        item->key_size = key_size;
    } else
        free (item->value);
    item->value = NULL;
    item->value_size = 0;
    if (value) {
        item->value = (uint8_t *) fed_malloc (value_size ? value_size : 1);
        memcpy (item->value, value, value_size);
        item->value_size = value_size;
    }
}

void
fed_view_batch_flush (fed_view_batch_t *self, rocksdb_writebatch_t *batch,
                      rocksdb_column_family_handle_t *cf)
{
    for (size_t i = 0; i < self->counter_count; i++) {
        uint8_t operand [8];
        fed_put_be64 (operand, (uint64_t) self->counters [i].delta);
        rocksdb_writebatch_merge_cf (batch, cf, (const char *) self->counters [i].key,
                                     self->counters [i].size, (const char *) operand,
                                     sizeof operand);
    }
    fed_view_batch_clear (self);
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
fed_view_txn_new (rocksdb_t *db, rocksdb_column_family_handle_t *cf, rocksdb_writebatch_t *batch,
                  const char *name, fed_view_batch_t *view_batch)
{
    fed_view_txn_t *self = (fed_view_txn_t *) fed_calloc (1, sizeof (fed_view_txn_t));
    self->db = db;
    self->cf = cf;
    self->batch = batch;
    self->view_batch = view_batch;
    self->read_options = rocksdb_readoptions_create ();
    self->prefix_size = (size_t) snprintf (self->prefix, sizeof self->prefix, "%s/", name);
    return self;
}

void
fed_view_txn_bind (fed_view_txn_t *self, rocksdb_writebatch_t *batch)
{
    self->batch = batch;
    self->failed = false;
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
    written_t *written = s_written_find (self->view_batch, self->key, full);
    if (written) {
        if (written->value) {
            *value_p = (uint8_t *) fed_malloc (written->value_size ? written->value_size : 1);
            memcpy (*value_p, written->value, written->value_size);
            *size_p = written->value_size;
        }
        return 0;
    }
    char *error = NULL;
    char *value = rocksdb_get_cf (self->db, self->read_options, self->cf, (const char *) self->key,
                                  full, size_p, &error);
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
    if (full) {
        rocksdb_writebatch_put_cf (self->batch, self->cf, (const char *) self->key, full,
                                   (const char *) value, value_size);
        s_written_set (self->view_batch, self->key, full, value ? value : "", value_size);
    }
}

void
fed_view_delete (fed_view_txn_t *self, const void *key, size_t key_size)
{
    size_t full = s_full_key (self, key, key_size);
    if (full) {
        rocksdb_writebatch_delete_cf (self->batch, self->cf, (const char *) self->key, full);
        s_written_set (self->view_batch, self->key, full, NULL, 0);
    }
}

void
fed_view_add (fed_view_txn_t *self, const void *key, size_t key_size, int64_t delta)
{
    size_t full = s_full_key (self, key, key_size);
    if (full)
        s_counter_add (self->view_batch, self->key, full, delta);
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
            return 0; //  what is held was written later (or is this very write)
    } else
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
