/*  store/evlog.c: opening the RocksDB store, local appends, and reads.

    Meta keys (column family "meta"):
        "schema"               -> "1"
        "hlc"                  -> 8 bytes, big-endian: clock high-water mark
        "vv/" ‖ origin(32)     -> seq(8, big-endian) ‖ id(32)
        "q/" ‖ origin(32)      -> seq(8) ‖ held id(32) ‖ other id(32): quarantine
        "fork/" ‖ origin ‖ seq -> the conflicting event's bytes (evidence)
        "viewver/" ‖ name      -> 4 bytes, big-endian: folded view version
        "rebuilding"           -> present while a full rebuild runs
        "id/" ‖ id(32)         -> origin ‖ seq: where the event with this id is
        "idxdone"              -> n(8): arrivals up to n are in the id index
        "rid/" ‖ request id    -> expiry(8): control request ids already used
    Column family "arrivals":
        n(8, big-endian)       -> origin ‖ seq: the n-th event this node stored
*/
#include "evlog_internal.h"
#include "log.h"
#include "walcheck.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

static const char *s_cf_names [CF_COUNT] = {"default", "events", "meta", "views", "arrivals"};

void
fed_evlog_options_default (fed_evlog_options_t *options)
{
    memset (options, 0, sizeof *options);
    options->durability = FED_DURABILITY_SYNC;
    options->limits = fed_event_default_limits;
    options->pending_max = 10000;
    options->pending_bytes_max = 64 * 1024 * 1024;
    options->max_clock_drift_ms = 60000;
}

//  --- Origin table ---------------------------------------------------------

static size_t
s_origin_hash (const uint8_t origin [32])
{
    uint64_t h;
    memcpy (&h, origin, sizeof h);
    return (size_t) h;
}

fed_origin_t *
fed_origin_map_find (fed_origin_map_t *map, const uint8_t origin [32])
{
    if (map->capacity == 0)
        return NULL;
    size_t mask = map->capacity - 1;
    for (size_t i = s_origin_hash (origin) & mask;; i = (i + 1) & mask) {
        fed_origin_t *slot = &map->slots [i];
        if (!slot->used)
            return NULL;
        if (memcmp (slot->origin, origin, FED_KEY_BYTES) == 0)
            return slot;
    }
}

fed_origin_t *
fed_origin_map_upsert (fed_origin_map_t *map, const uint8_t origin [32])
{
    fed_origin_t *slot = fed_origin_map_find (map, origin);
    if (slot)
        return slot;
    if (2 * (map->count + 1) > map->capacity) {
        fed_origin_map_t bigger = {0};
        bigger.capacity = map->capacity ? 2 * map->capacity : 16;
        bigger.slots = (fed_origin_t *) fed_calloc (bigger.capacity, sizeof (fed_origin_t));
        for (size_t i = 0; i < map->capacity; i++)
            if (map->slots [i].used)
                *fed_origin_map_upsert (&bigger, map->slots [i].origin) = map->slots [i];
        free (map->slots);
        *map = bigger;
    }
    size_t mask = map->capacity - 1;
    size_t i = s_origin_hash (origin) & mask;
    while (map->slots [i].used)
        i = (i + 1) & mask;
    slot = &map->slots [i];
    memset (slot, 0, sizeof *slot);
    memcpy (slot->origin, origin, FED_KEY_BYTES);
    slot->used = true;
    map->count++;
    return slot;
}

void
fed_evlog_event_key (uint8_t key [EVENT_KEY_SIZE], const uint8_t origin [32], uint64_t seq)
{
    memcpy (key, origin, FED_KEY_BYTES);
    fed_put_be64 (key + FED_KEY_BYTES, seq);
}

//  --- Open and close -------------------------------------------------------

//  Reads one meta key. Returns the value (caller frees) or NULL; *failed set
//  on a storage error.
static char *
s_meta_get (fed_evlog_t *self, const char *key, size_t key_size, size_t *size_p, bool *failed)
{
    char *error = NULL;
    char *value = rocksdb_get_cf (self->db, self->read_options, self->cf [CF_META], key, key_size,
                                  size_p, &error);
    if (error) {
        fed_error ("event log %s: reading meta key failed: %s", self->path, error);
        free (error);
        *failed = true;
        return NULL;
    }
    return value;
}

//  Calls fn for each meta key under prefix. 0, or -1 with err.
typedef int (s_meta_fn) (fed_evlog_t *self, const uint8_t *key, size_t key_size,
                         const uint8_t *value, size_t value_size, fed_err_t *err);

static int
s_meta_scan (fed_evlog_t *self, const char *prefix, s_meta_fn *fn, fed_err_t *err)
{
    size_t prefix_size = strlen (prefix);
    rocksdb_iterator_t *it =
        rocksdb_create_iterator_cf (self->db, self->read_options, self->cf [CF_META]);
    int rc = 0;
    for (rocksdb_iter_seek (it, prefix, prefix_size); rocksdb_iter_valid (it) && rc == 0;
         rocksdb_iter_next (it)) {
        size_t key_size, value_size;
        const char *key = rocksdb_iter_key (it, &key_size);
        if (key_size < prefix_size || memcmp (key, prefix, prefix_size) != 0)
            break;
        const char *value = rocksdb_iter_value (it, &value_size);
        rc = fn (self, (const uint8_t *) key + prefix_size, key_size - prefix_size,
                 (const uint8_t *) value, value_size, err);
    }
    char *error = NULL;
    rocksdb_iter_get_error (it, &error);
    rocksdb_iter_destroy (it);
    if (error) {
        fed_err_set (err, -1, "event log %s: reading meta '%s' failed: %s", self->path, prefix,
                     error);
        free (error);
        return -1;
    }
    return rc;
}

static int
s_load_origin (fed_evlog_t *self, const uint8_t *key, size_t key_size, const uint8_t *value,
               size_t value_size, fed_err_t *err)
{
    if (key_size != FED_KEY_BYTES || value_size != 8 + FED_ID_BYTES) {
        fed_err_set (err, -1,
                     "event log %s: a version vector record has the wrong size: "
                     "the store is corrupt; restore it from a backup",
                     self->path);
        return -1;
    }
    fed_origin_t *origin = fed_origin_map_upsert (&self->origins, key);
    origin->seq = fed_get_be64 (value);
    memcpy (origin->id, value + 8, FED_ID_BYTES);
    self->count += origin->seq;
    return 0;
}

static int
s_load_quarantine (fed_evlog_t *self, const uint8_t *key, size_t key_size, const uint8_t *value,
                   size_t value_size, fed_err_t *err)
{
    if (key_size == FED_KEY_BYTES)
        fed_origin_map_upsert (&self->origins, key)->quarantined = true;
    return 0;
}

//  Loads the version vector, quarantine set, HLC mark and count. 0 or -1.
static int
s_load_state (fed_evlog_t *self, fed_err_t *err)
{
    bool failed = false;
    size_t size;
    char *value = s_meta_get (self, "schema", 6, &size, &failed);
    if (failed)
        goto storage;
    if (value && (size != 1 || value [0] != '0' + FED_SCHEMA_VERSION)) {
        fed_err_set (err, -1,
                     "event log %s has schema '%.*s', this fednode reads schema %d: "
                     "run the fednode release that wrote it, or export and import the log",
                     self->path, (int) (size > 8 ? 8 : size), value, FED_SCHEMA_VERSION);
        free (value);
        return -1;
    }
    free (value);
    value = s_meta_get (self, "hlc", 3, &size, &failed);
    if (failed)
        goto storage;
    fed_hlc_init (&self->hlc, value && size == 8 ? fed_get_be64 ((uint8_t *) value) : 0,
                  self->options.max_clock_drift_ms);
    free (value);

    if (s_meta_scan (self, "vv/", s_load_origin, err)
        || s_meta_scan (self, "q/", s_load_quarantine, err))
        return -1;
    //  The last arrival number: the greatest key of the arrivals family.
    rocksdb_iterator_t *it =
        rocksdb_create_iterator_cf (self->db, self->read_options, self->cf [CF_ARRIVALS]);
    rocksdb_iter_seek_to_last (it);
    if (rocksdb_iter_valid (it)) {
        size_t key_size;
        const char *key = rocksdb_iter_key (it, &key_size);
        if (key_size == 8)
            self->arrivals = fed_get_be64 ((const uint8_t *) key);
    }
    rocksdb_iter_destroy (it);
    value = s_meta_get (self, "idxdone", 7, &size, &failed);
    if (failed)
        goto storage;
    self->ids_indexed = value && size == 8 ? fed_get_be64 ((uint8_t *) value) : 0;
    free (value);
    return 0;

storage:
    fed_err_set (err, -1, "event log %s: reading meta failed (see the log above)", self->path);
    return -1;
}

//  A full rebuild cut off by a crash left some views half folded: forget
//  every view and every folded version, in one batch, so that each view is
//  refolded whole when it is registered.
static int
s_finish_interrupted_rebuild (fed_evlog_t *self, fed_err_t *err)
{
    bool failed = false;
    size_t size;
    char *mark = s_meta_get (self, "rebuilding", 10, &size, &failed);
    if (failed) {
        fed_err_set (err, -1, "event log %s: reading meta failed", self->path);
        return -1;
    }
    if (!mark)
        return 0;
    free (mark);
    fed_warn ("event log %s: a view rebuild was interrupted; every view will be refolded",
              self->path);
    rocksdb_writebatch_t *batch = rocksdb_writebatch_create ();
    rocksdb_writebatch_delete_range_cf (batch, self->cf [CF_VIEWS], "", 0, "\x7f", 1);
    rocksdb_writebatch_delete_range_cf (batch, self->cf [CF_META], "viewver/", 8, "viewver0", 8);
    rocksdb_writebatch_delete_cf (batch, self->cf [CF_META], "rebuilding", 10);
    char *error = NULL;
    rocksdb_write (self->db, self->sync_options, batch, &error);
    rocksdb_writebatch_destroy (batch);
    if (error) {
        fed_err_set (err, -1, "event log %s: clearing an interrupted rebuild failed: %s",
                     self->path, error);
        free (error);
        return -1;
    }
    return 0;
}

fed_evlog_t *
fed_evlog_open (const char *path, const fed_evlog_options_t *options, fed_err_t *err)
{
    fed_evlog_t *self = (fed_evlog_t *) fed_calloc (1, sizeof (fed_evlog_t));
    self->path = fed_strdup (path);
    if (options)
        self->options = *options;
    else
        fed_evlog_options_default (&self->options);

    self->view_batch = fed_view_batch_new ();
    self->db_options = rocksdb_options_create ();
    rocksdb_options_set_create_if_missing (self->db_options, !self->options.read_only);
    rocksdb_options_set_create_missing_column_families (self->db_options, !self->options.read_only);
    //  A record torn by a crash at the WAL tail is dropped (it was never
    //  acknowledged); corruption anywhere else refuses to open. Point-in-time
    //  recovery would silently stop replay at the corruption instead.
    rocksdb_options_set_wal_recovery_mode (self->db_options, 0);
    rocksdb_options_set_paranoid_checks (self->db_options, 1);
    rocksdb_options_set_keep_log_file_num (self->db_options, 4);
    rocksdb_options_set_info_log_level (self->db_options, 2); //  warn
    //  RocksDB starts this many threads per column family on every open, even
    //  with no table file to open (16 by default: 75 threads per restart).
    rocksdb_options_set_max_file_opening_threads (self->db_options, 2);
    for (int i = 0; i < CF_COUNT; i++) {
        self->cf_options [i] = rocksdb_options_create_copy (self->db_options);
        if (i == CF_VIEWS)
            rocksdb_options_set_merge_operator (self->cf_options [i],
                                                fed_view_counter_merge_operator ());
    }
    //  RocksDB would take a damaged record followed by intact ones, in the
    //  WAL's last block, for a torn tail and drop them: refuse first.
    if (fed_walcheck_dir (path, err))
        goto err;
    char *error = NULL;
    if (self->options.read_only)
        self->db = rocksdb_open_for_read_only_column_families (
            self->db_options, path, CF_COUNT, s_cf_names,
            (const rocksdb_options_t *const *) self->cf_options, self->cf, 0, &error);
    else
        self->db = rocksdb_open_column_families (
            self->db_options, path, CF_COUNT, s_cf_names,
            (const rocksdb_options_t *const *) self->cf_options, self->cf, &error);
    if (error) {
        const char *hint = strstr (error, "orrupt")
            ? "the store is corrupt (fednode refuses to skip damaged records); restore the data "
              "dir from a backup (fednode export/import) or let peers resend the log into a "
              "fresh data dir"
            : strstr (error, "lock") ? "another fednode is using this data dir; stop it first"
                                     : "check the path and its permissions";
        fed_err_set (err, -1, "cannot open event log %s: %s; %s", path, error, hint);
        free (error);
        goto err;
    }
    self->write_options = rocksdb_writeoptions_create ();
    rocksdb_writeoptions_set_sync (self->write_options,
                                   self->options.durability == FED_DURABILITY_SYNC);
    self->sync_options = rocksdb_writeoptions_create ();
    rocksdb_writeoptions_set_sync (self->sync_options, 1);
    self->read_options = rocksdb_readoptions_create ();
    if (s_load_state (self, err))
        goto err;
    if (!self->options.read_only && s_finish_interrupted_rebuild (self, err))
        goto err;
    if (!self->options.read_only) {
        rocksdb_put_cf (self->db, self->sync_options, self->cf [CF_META], "schema", 6, "1", 1,
                        &error);
        if (error) {
            fed_err_set (err, -1, "event log %s: writing schema failed: %s", path, error);
            free (error);
            goto err;
        }
    }
    return self;

err:
    fed_evlog_destroy (&self);
    return NULL;
}

void
fed_evlog_destroy (fed_evlog_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    fed_evlog_t *self = *self_p;
    if (self->db) {
        if (!self->options.read_only) {
            char *error = NULL;
            rocksdb_flush_wal (self->db, 1, &error);
            if (error) {
                fed_error ("event log %s: syncing the WAL on close failed: %s", self->path, error);
                free (error);
            }
        }
        for (int i = 0; i < CF_COUNT; i++)
            if (self->cf [i])
                rocksdb_column_family_handle_destroy (self->cf [i]);
        rocksdb_close (self->db);
    }
    for (int i = 0; i < CF_COUNT; i++)
        if (self->cf_options [i])
            rocksdb_options_destroy (self->cf_options [i]);
    if (self->db_options)
        rocksdb_options_destroy (self->db_options);
    if (self->write_options)
        rocksdb_writeoptions_destroy (self->write_options);
    if (self->sync_options)
        rocksdb_writeoptions_destroy (self->sync_options);
    if (self->read_options)
        rocksdb_readoptions_destroy (self->read_options);
    if (self->secret)
        sodium_free (self->secret); //  wipes before freeing
    for (size_t i = 0; i < self->pending_count; i++)
        fed_event_destroy (&self->pending [i]);
    free (self->pending);
    for (size_t i = 0; i < self->view_count; i++)
        free ((char *) self->views [i].name);
    for (size_t i = 0; i < self->view_count; i++)
        fed_view_txn_destroy (&self->view_txns [i]);
    free (self->view_txns);
    free (self->views);
    fed_view_batch_destroy (&self->view_batch);
    free (self->origins.slots);
    free (self->path);
    free (self);
    *self_p = NULL;
}

void
fed_evlog_set_signer (fed_evlog_t *self, const uint8_t public_key [32],
                      const uint8_t secret_key [64])
{
    if (sodium_init () < 0)
        abort ();
    if (!self->secret)
        self->secret = (uint8_t *) sodium_malloc (64);
    if (!self->secret) {
        fprintf (stderr, "fednode: cannot allocate guarded memory for the node key\n");
        abort ();
    }
    memcpy (self->secret, secret_key, 64);
    memcpy (self->origin, public_key, FED_KEY_BYTES);
    self->has_signer = true;
}

void
fed_evlog_set_trust (fed_evlog_t *self, fed_evlog_trust_fn *trust, void *arg)
{
    self->trust = trust;
    self->trust_arg = arg;
}

int
fed_evlog_add_view (fed_evlog_t *self, const fed_view_def_t *def, fed_err_t *err)
{
    if (!def->name || !fed_view_name_valid (def->name) || !def->apply) {
        fed_err_set (err, -1, "view name '%s' is invalid: expected 1..32 chars of [a-z0-9_]",
                     def->name ? def->name : "(null)");
        return -1;
    }
    for (size_t i = 0; i < self->view_count; i++)
        if (strcmp (self->views [i].name, def->name) == 0) {
            fed_err_set (err, -1, "view '%s' is already registered", def->name);
            return -1;
        }
    self->views =
        (fed_view_def_t *) fed_realloc (self->views, (self->view_count + 1) * sizeof *def);
    self->view_txns = (fed_view_txn_t **) fed_realloc (
        self->view_txns, (self->view_count + 1) * sizeof (fed_view_txn_t *));
    self->views [self->view_count] = *def;
    self->views [self->view_count].name = fed_strdup (def->name); //  owned
    self->view_txns [self->view_count++] =
        fed_view_txn_new (self->db, self->cf [CF_VIEWS], NULL, def->name, self->view_batch);
    if (self->options.read_only)
        return 0;

    //  Refold when the folded version is not this one, or a rebuild was cut off.
    char key [64];
    int key_size = snprintf (key, sizeof key, "viewver/%s", def->name);
    bool failed = false;
    size_t size;
    char *held = s_meta_get (self, key, (size_t) key_size, &size, &failed);
    bool current = held && size == 4
        && ((uint32_t) (uint8_t) held [0] << 24 | (uint32_t) (uint8_t) held [1] << 16
            | (uint32_t) (uint8_t) held [2] << 8 | (uint32_t) (uint8_t) held [3])
            == def->version;
    free (held);
    if (failed) {
        fed_err_set (err, -1, "event log %s: reading view versions failed", self->path);
        return -1;
    }
    if (current)
        return 0;
    return fed_evlog_refold (self, def->name, err);
}

//  --- Staging and committing writes -----------------------------------------

int
fed_evlog_stage_event (fed_evlog_t *self, rocksdb_writebatch_t *batch, const fed_event_t *event)
{
    uint8_t key [EVENT_KEY_SIZE];
    fed_evlog_event_key (key, fed_event_origin (event), fed_event_seq (event));
    rocksdb_writebatch_put_cf (batch, self->cf [CF_EVENTS], (const char *) key, sizeof key,
                               (const char *) fed_event_bytes (event), fed_event_size (event));
    //  The local arrival index (the id index is built after, from it: see
    //  fed_evlog_index_ids). The caller restores self->arrivals if the batch
    //  is not committed.
    uint8_t arrival [8];
    fed_put_be64 (arrival, ++self->arrivals);
    rocksdb_writebatch_put_cf (batch, self->cf [CF_ARRIVALS], (const char *) arrival,
                               sizeof arrival, (const char *) key, sizeof key);
    int rc = 0;
    for (size_t i = 0; i < self->view_count && rc == 0; i++)
        rc = fed_evlog_apply_view (self, i, batch, event);
    return rc;
}

int
fed_evlog_apply_view (fed_evlog_t *self, size_t i, rocksdb_writebatch_t *batch,
                      const fed_event_t *event)
{
    fed_view_txn_t *txn = self->view_txns [i];
    fed_view_txn_bind (txn, batch);
    if (self->views [i].apply (self->views [i].state, txn, event) || fed_view_txn_failed (txn))
        return -1;
    return 0;
}

void
fed_evlog_stage_origin (fed_evlog_t *self, rocksdb_writebatch_t *batch, const fed_origin_t *origin)
{
    uint8_t key [3 + FED_KEY_BYTES], value [8 + FED_ID_BYTES];
    memcpy (key, "vv/", 3);
    memcpy (key + 3, origin->origin, FED_KEY_BYTES);
    fed_put_be64 (value, origin->seq);
    memcpy (value + 8, origin->id, FED_ID_BYTES);
    rocksdb_writebatch_put_cf (batch, self->cf [CF_META], (const char *) key, sizeof key,
                               (const char *) value, sizeof value);
}

void
fed_evlog_stage_hlc (fed_evlog_t *self, rocksdb_writebatch_t *batch)
{
    uint8_t value [8];
    fed_put_be64 (value, self->hlc.last);
    rocksdb_writebatch_put_cf (batch, self->cf [CF_META], "hlc", 3, (const char *) value, 8);
}

int
fed_evlog_stage_local (fed_evlog_t *self, rocksdb_writebatch_t *batch, fed_origin_t *own,
                       const char *type, const void *body, size_t body_size, fed_event_t **event_p,
                       fed_err_t *err)
{
    uint64_t hlc = fed_hlc_now (&self->hlc, fed_wall_ms ());
    fed_event_t *event =
        fed_event_sign (self->secret, self->origin, own->seq + 1, own->seq ? own->id : NULL, hlc,
                        type, body, body_size, &self->options.limits, err);
    if (!event)
        return -1;
    if (fed_evlog_stage_event (self, batch, event)) {
        fed_err_set (err, -1, "event log %s: a view failed to fold event %s", self->path, type);
        fed_event_destroy (&event);
        return -1;
    }
    own->seq++;
    memcpy (own->id, fed_event_id (event), FED_ID_BYTES);
    *event_p = event;
    return 0;
}

int
fed_evlog_commit (fed_evlog_t *self, rocksdb_writebatch_t *batch, fed_err_t *err)
{
    fed_view_batch_flush (self->view_batch, batch, self->cf [CF_VIEWS]);
    char *error = NULL;
    rocksdb_write (self->db, self->write_options, batch, &error);
    if (error) {
        fed_err_set (err, -1, "event log %s: write failed: %s", self->path, error);
        fed_error ("%s", err ? err->text : error);
        free (error);
        return -1;
    }
    self->stats.batches++;
    return 0;
}

//  --- Local appends ----------------------------------------------------------

int
fed_evlog_append_many (fed_evlog_t *self, const fed_new_event_t *items, size_t count,
                       uint64_t *first_seq_p, fed_err_t *err)
{
    if (self->options.read_only || !self->has_signer) {
        fed_err_set (err, -1, "event log %s is %s: cannot append", self->path,
                     self->options.read_only ? "open read-only" : "without a signing key");
        return -1;
    }
    if (count == 0)
        return 0;
    fed_origin_t *slot = fed_origin_map_find (&self->origins, self->origin);
    fed_origin_t own = {0};
    if (slot)
        own = *slot;
    else
        memcpy (own.origin, self->origin, FED_KEY_BYTES);
    uint64_t first = own.seq + 1;
    uint64_t arrivals = self->arrivals;
    fed_view_batch_clear (self->view_batch);
    rocksdb_writebatch_t *batch = rocksdb_writebatch_create ();
    int rc = 0;
    for (size_t i = 0; i < count && rc == 0; i++) {
        fed_event_t *event = NULL;
        fed_err_t item_err;
        rc = fed_evlog_stage_local (self, batch, &own, items [i].type, items [i].body,
                                    items [i].body_size, &event, &item_err);
        if (rc)
            fed_err_set (err, item_err.code, "%s%s", count > 1 ? "in batch: " : "", item_err.text);
        fed_event_destroy (&event);
    }
    if (rc == 0) {
        fed_evlog_stage_origin (self, batch, &own);
        fed_evlog_stage_hlc (self, batch);
        rc = fed_evlog_commit (self, batch, err);
    }
    rocksdb_writebatch_destroy (batch);
    if (rc) {
        self->arrivals = arrivals;
        fed_view_batch_clear (self->view_batch);
        return -1;
    }
    own.used = true;
    *fed_origin_map_upsert (&self->origins, self->origin) = own;
    self->count += count;
    self->stats.appended += count;
    if (first_seq_p)
        *first_seq_p = first;
    return 0;
}

int
fed_evlog_append (fed_evlog_t *self, const char *type, const void *body, size_t body_size,
                  uint64_t *seq_p, fed_err_t *err)
{
    fed_new_event_t item = {type, body, body_size};
    return fed_evlog_append_many (self, &item, 1, seq_p, err);
}

//  --- Reads -----------------------------------------------------------------

//  Limits for decoding stored events. They were checked against the limits
//  in force when they came in, which may be above the defaults (and above
//  today's), so the body size is not capped again here.
static fed_event_limits_t
s_stored_limits (const fed_evlog_t *self)
{
    fed_event_limits_t limits = self->options.limits;
    limits.max_body = UINT32_MAX;
    return limits;
}

fed_event_t *
fed_evlog_get (fed_evlog_t *self, const uint8_t origin [32], uint64_t seq)
{
    uint8_t key [EVENT_KEY_SIZE];
    fed_evlog_event_key (key, origin, seq);
    char *error = NULL;
    size_t size;
    char *value = rocksdb_get_cf (self->db, self->read_options, self->cf [CF_EVENTS],
                                  (const char *) key, sizeof key, &size, &error);
    if (error) {
        fed_error ("event log %s: read failed: %s", self->path, error);
        free (error);
        return NULL;
    }
    if (!value)
        return NULL;
    fed_event_t *event = NULL;
    fed_err_t decode_err;
    uint8_t *bytes = (uint8_t *) value;
    //  Stored events were checked on the way in; a failure here is disk
    //  corruption, reported and never skipped silently.
    fed_event_limits_t limits = s_stored_limits (self);
    if (fed_event_decode_owned (&bytes, size, &limits, &event, &decode_err)) {
        fed_error ("event log %s: stored event (seq %llu) does not decode: %s", self->path,
                   (unsigned long long) seq, decode_err.text);
        return NULL;
    }
    return event;
}

int
fed_evlog_range (fed_evlog_t *self, const uint8_t *origin, uint64_t from, uint64_t to,
                 fed_evlog_each_fn *each, void *arg, fed_err_t *err)
{
    rocksdb_iterator_t *it =
        rocksdb_create_iterator_cf (self->db, self->read_options, self->cf [CF_EVENTS]);
    fed_event_limits_t limits = s_stored_limits (self);
    uint8_t start [EVENT_KEY_SIZE];
    if (origin) {
        fed_evlog_event_key (start, origin, from);
        rocksdb_iter_seek (it, (const char *) start, sizeof start);
    } else
        rocksdb_iter_seek_to_first (it);
    int rc = 0;
    for (; rocksdb_iter_valid (it); rocksdb_iter_next (it)) {
        size_t key_size, size;
        const uint8_t *key = (const uint8_t *) rocksdb_iter_key (it, &key_size);
        if (key_size != EVENT_KEY_SIZE) {
            fed_err_set (err, -1, "event log %s: event key of %zu bytes: store corrupt", self->path,
                         key_size);
            rc = -1;
            break;
        }
        uint64_t seq = fed_get_be64 (key + FED_KEY_BYTES);
        if (origin && (memcmp (key, origin, FED_KEY_BYTES) != 0 || (to && seq > to)))
            break;
        if (!origin && (seq < from || (to && seq > to)))
            continue;
        const char *value = rocksdb_iter_value (it, &size);
        fed_event_t *event = NULL;
        fed_err_t decode_err;
        if (fed_event_decode (value, size, &limits, &event, &decode_err)) {
            fed_err_set (err, -1,
                         "event log %s: stored event seq %llu does not decode (%s): "
                         "store corrupt; restore from a backup",
                         self->path, (unsigned long long) seq, decode_err.text);
            rc = -1;
            break;
        }
        rc = each (arg, event);
        fed_event_destroy (&event);
        if (rc)
            break;
    }
    char *error = NULL;
    rocksdb_iter_get_error (it, &error);
    rocksdb_iter_destroy (it);
    if (error) {
        fed_err_set (err, -1, "event log %s: read failed: %s", self->path, error);
        free (error);
        return -1;
    }
    return rc;
}

uint64_t
fed_evlog_seq (fed_evlog_t *self, const uint8_t origin [32])
{
    fed_origin_t *slot = fed_origin_map_find (&self->origins, origin);
    return slot ? slot->seq : 0;
}

bool
fed_evlog_head (fed_evlog_t *self, const uint8_t origin [32], uint64_t *seq_p, uint8_t id [32])
{
    fed_origin_t *slot = fed_origin_map_find (&self->origins, origin);
    if (!slot || slot->seq == 0)
        return false;
    if (seq_p)
        *seq_p = slot->seq;
    if (id)
        memcpy (id, slot->id, FED_ID_BYTES);
    return true;
}

static int
s_compare_entries (const void *a, const void *b)
{
    return memcmp (((const fed_vv_entry_t *) a)->origin, ((const fed_vv_entry_t *) b)->origin,
                   FED_KEY_BYTES);
}

size_t
fed_evlog_version_vector (fed_evlog_t *self, fed_vv_entry_t **entries_p)
{
    fed_vv_entry_t *entries =
        (fed_vv_entry_t *) fed_calloc (self->origins.count + 1, sizeof (fed_vv_entry_t));
    size_t count = 0;
    for (size_t i = 0; i < self->origins.capacity; i++) {
        fed_origin_t *slot = &self->origins.slots [i];
        if (slot->used && slot->seq > 0) {
            memcpy (entries [count].origin, slot->origin, FED_KEY_BYTES);
            entries [count].seq = slot->seq;
            memcpy (entries [count].id, slot->id, FED_ID_BYTES);
            count++;
        }
    }
    qsort (entries, count, sizeof *entries, s_compare_entries);
    *entries_p = entries;
    return count;
}

const uint8_t *
fed_evlog_origin (fed_evlog_t *self)
{
    return self->origin;
}

uint64_t
fed_evlog_count (fed_evlog_t *self)
{
    return self->count;
}

bool
fed_evlog_quarantined (fed_evlog_t *self, const uint8_t origin [32])
{
    fed_origin_t *slot = fed_origin_map_find (&self->origins, origin);
    return slot && slot->quarantined;
}

int
fed_evlog_view_get (fed_evlog_t *self, const void *key, size_t key_size, uint8_t **value_p,
                    size_t *size_p)
{
    char *error = NULL;
    *value_p = (uint8_t *) rocksdb_get_cf (self->db, self->read_options, self->cf [CF_VIEWS],
                                           (const char *) key, key_size, size_p, &error);
    if (error) {
        fed_error ("event log %s: view read failed: %s", self->path, error);
        free (error);
        return -1;
    }
    return 0;
}

int
fed_evlog_view_scan (fed_evlog_t *self, const char *prefix, fed_evlog_kv_fn *each, void *arg)
{
    size_t prefix_size = strlen (prefix);
    rocksdb_iterator_t *it =
        rocksdb_create_iterator_cf (self->db, self->read_options, self->cf [CF_VIEWS]);
    int rc = 0;
    for (rocksdb_iter_seek (it, prefix, prefix_size); rocksdb_iter_valid (it);
         rocksdb_iter_next (it)) {
        size_t key_size, size;
        const char *key = rocksdb_iter_key (it, &key_size);
        if (key_size < prefix_size || memcmp (key, prefix, prefix_size) != 0)
            break;
        const char *value = rocksdb_iter_value (it, &size);
        rc = each (arg, (const uint8_t *) key, key_size, (const uint8_t *) value, size);
        if (rc)
            break;
    }
    char *error = NULL;
    rocksdb_iter_get_error (it, &error);
    rocksdb_iter_destroy (it);
    if (error) {
        fed_error ("event log %s: view scan failed: %s", self->path, error);
        free (error);
        return -1;
    }
    return rc;
}

void
fed_evlog_stats (fed_evlog_t *self, fed_evlog_stats_t *stats)
{
    *stats = self->stats;
}

//  --- Local indexes ----------------------------------------------------------

uint64_t
fed_evlog_arrivals (fed_evlog_t *self)
{
    return self->arrivals;
}

int
fed_evlog_feed (fed_evlog_t *self, uint64_t after, size_t limit, fed_evlog_each_fn *each, void *arg,
                uint64_t *last_p, fed_err_t *err)
{
    *last_p = after;
    uint8_t start [8];
    fed_put_be64 (start, after + 1);
    rocksdb_iterator_t *it =
        rocksdb_create_iterator_cf (self->db, self->read_options, self->cf [CF_ARRIVALS]);
    int rc = 0;
    size_t walked = 0;
    for (rocksdb_iter_seek (it, (const char *) start, sizeof start);
         rocksdb_iter_valid (it) && walked < limit; rocksdb_iter_next (it)) {
        size_t key_size, value_size;
        const uint8_t *key = (const uint8_t *) rocksdb_iter_key (it, &key_size);
        if (key_size != 8) {
            fed_err_set (err, -1, "event log %s: arrival key of %zu bytes: store corrupt",
                         self->path, key_size);
            rc = -1;
            break;
        }
        const uint8_t *value = (const uint8_t *) rocksdb_iter_value (it, &value_size);
        if (value_size != EVENT_KEY_SIZE) {
            fed_err_set (err, -1,
                         "event log %s: arrival index entry of %zu bytes: store "
                         "corrupt",
                         self->path, value_size);
            rc = -1;
            break;
        }
        fed_event_t *event = fed_evlog_get (self, value, fed_get_be64 (value + FED_KEY_BYTES));
        if (!event) {
            fed_err_set (err, -1,
                         "event log %s: arrival index names an event that cannot be "
                         "read",
                         self->path);
            rc = -1;
            break;
        }
        *last_p = fed_get_be64 (key);
        walked++;
        rc = each (arg, event);
        fed_event_destroy (&event);
        if (rc)
            break;
    }
    rocksdb_iter_destroy (it);
    return rc;
}

//  Finds id among the events not yet in the id index (the tail of the
//  arrival feed the background indexing has not reached).
typedef struct {
    const uint8_t *id;
    fed_event_t *found;
} find_t;

static int
s_find_id (void *arg, const fed_event_t *event)
{
    find_t *self = (find_t *) arg;
    if (memcmp (fed_event_id (event), self->id, FED_ID_BYTES) != 0)
        return 0;
    self->found = fed_event_dup (event);
    return 1;
}

fed_event_t *
fed_evlog_get_by_id (fed_evlog_t *self, const uint8_t id [32])
{
    uint8_t key [3 + FED_ID_BYTES];
    memcpy (key, "id/", 3);
    memcpy (key + 3, id, FED_ID_BYTES);
    bool failed = false;
    size_t size;
    char *where = s_meta_get (self, (const char *) key, sizeof key, &size, &failed);
    fed_event_t *event = NULL;
    if (where && size == EVENT_KEY_SIZE)
        event = fed_evlog_get (self, (const uint8_t *) where,
                               fed_get_be64 ((const uint8_t *) where + FED_KEY_BYTES));
    free (where);
    if (!event && !failed) {
        find_t find = {id, NULL};
        uint64_t last;
        fed_err_t err;
        if (fed_evlog_feed (self, self->ids_indexed, SIZE_MAX, s_find_id, &find, &last, &err) < 0)
            fed_error ("%s", err.text);
        event = find.found;
    }
    return event;
}

typedef struct {
    fed_evlog_t *log;
    rocksdb_writebatch_t *batch;
} index_t;

static int
s_index_one (void *arg, const fed_event_t *event)
{
    index_t *self = (index_t *) arg;
    uint8_t key [3 + FED_ID_BYTES], where [EVENT_KEY_SIZE];
    memcpy (key, "id/", 3);
    memcpy (key + 3, fed_event_id (event), FED_ID_BYTES);
    fed_evlog_event_key (where, fed_event_origin (event), fed_event_seq (event));
    rocksdb_writebatch_put_cf (self->batch, self->log->cf [CF_META], (const char *) key, sizeof key,
                               (const char *) where, sizeof where);
    return 0;
}

size_t
fed_evlog_index_ids (fed_evlog_t *self, size_t max)
{
    if (self->options.read_only || self->ids_indexed >= self->arrivals)
        return 0;
    index_t index = {self, rocksdb_writebatch_create ()};
    uint64_t last = self->ids_indexed;
    fed_err_t err;
    size_t indexed = 0;
    if (fed_evlog_feed (self, self->ids_indexed, max, s_index_one, &index, &last, &err) < 0)
        fed_error ("%s", err.text);
    else if (last > self->ids_indexed) {
        //  The mark moves in the same batch as the entries: a crash loses
        //  both or neither, and indexing resumes from the mark.
        uint8_t mark [8];
        fed_put_be64 (mark, last);
        rocksdb_writebatch_put_cf (index.batch, self->cf [CF_META], "idxdone", 7,
                                   (const char *) mark, sizeof mark);
        char *error = NULL;
        rocksdb_write (self->db, self->write_options, index.batch, &error);
        if (error) {
            fed_error ("event log %s: writing the id index failed: %s", self->path, error);
            free (error);
        } else {
            indexed = (size_t) (last - self->ids_indexed);
            self->ids_indexed = last;
        }
    }
    rocksdb_writebatch_destroy (index.batch);
    return indexed;
}

int
fed_evlog_claim_request (fed_evlog_t *self, const uint8_t *rid, size_t size, int64_t expires_ms)
{
    if (self->options.read_only || size == 0 || size > 64)
        return -1;
    uint8_t key [4 + 64];
    memcpy (key, "rid/", 4);
    memcpy (key + 4, rid, size);
    bool failed = false;
    size_t held_size;
    char *held = s_meta_get (self, (const char *) key, 4 + size, &held_size, &failed);
    free (held);
    if (failed)
        return -1;
    if (held)
        return 1;
    uint8_t value [8];
    fed_put_be64 (value, (uint64_t) expires_ms);
    char *error = NULL;
    //  As durable as the events the command will write after it: synced
    //  under sync; under wal, in the same write-ahead log ahead of them, so
    //  a power loss that drops the claim drops the command's effects too
    //  (recovery keeps a prefix of the log), and a replay then re-applies a
    //  command that is really lost.
    rocksdb_put_cf (self->db, self->write_options, self->cf [CF_META], (const char *) key, 4 + size,
                    (const char *) value, sizeof value, &error);
    if (error) {
        fed_error ("event log %s: recording a request id failed: %s", self->path, error);
        free (error);
        return -1;
    }
    return 0;
}

size_t
fed_evlog_purge_requests (fed_evlog_t *self, int64_t now_ms)
{
    if (self->options.read_only)
        return 0;
    rocksdb_iterator_t *it =
        rocksdb_create_iterator_cf (self->db, self->read_options, self->cf [CF_META]);
    rocksdb_writebatch_t *batch = rocksdb_writebatch_create ();
    size_t purged = 0;
    for (rocksdb_iter_seek (it, "rid/", 4); rocksdb_iter_valid (it); rocksdb_iter_next (it)) {
        size_t key_size, value_size;
        const char *key = rocksdb_iter_key (it, &key_size);
        if (key_size < 4 || memcmp (key, "rid/", 4) != 0)
            break;
        const char *value = rocksdb_iter_value (it, &value_size);
        //  Kept ten minutes past expiry: a wall clock stepped back after a
        //  purge must not reopen the replay window of ids still unexpired.
        if (value_size == 8 && (int64_t) fed_get_be64 ((const uint8_t *) value) + 600000 < now_ms) {
            rocksdb_writebatch_delete_cf (batch, self->cf [CF_META], key, key_size);
            purged++;
        }
    }
    rocksdb_iter_destroy (it);
    if (purged) {
        char *error = NULL;
        rocksdb_write (self->db, self->write_options, batch, &error);
        if (error) {
            fed_error ("event log %s: purging request ids failed: %s", self->path, error);
            free (error);
            purged = 0;
        }
    }
    rocksdb_writebatch_destroy (batch);
    return purged;
}
