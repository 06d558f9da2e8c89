/*  store/evlog_maint.c: refolding views from the log, and the full audit
    behind `fednode verify`.

    A full rebuild marks meta "rebuilding" (synced) before it deletes the
    views and clears the mark only when every event is folded, so a crash
    mid-rebuild makes the next open rebuild again instead of serving
    half-folded views.
*/
#include "evlog_internal.h"
#include "log.h"

#include <stdlib.h>
#include <string.h>

#define REFOLD_BATCH 1024

typedef struct {
    fed_evlog_t *log;
    fed_view_def_t *views; //  the views being refolded (borrowed)
    size_t view_count;
    rocksdb_writebatch_t *batch;
    size_t in_batch; //  events staged in batch
    fed_err_t *err;
} refold_t;

static int
s_refold_flush (refold_t *self)
{
    if (self->in_batch == 0)
        return 0;
    int rc = fed_evlog_commit (self->log, self->batch, self->err);
    rocksdb_writebatch_clear (self->batch);
    self->in_batch = 0;
    return rc;
}

static int
s_refold_event (void *arg, const fed_event_t *event)
{
    refold_t *self = (refold_t *) arg;
    fed_evlog_t *log = self->log;
    for (size_t i = 0; i < self->view_count; i++) {
        //  The views being refolded are a contiguous slice of the log's.
        size_t index = (size_t) (self->views - log->views) + i;
        if (fed_evlog_apply_view (log, index, self->batch, event)) {
            fed_err_set (self->err, -1, "view '%s' failed to fold event seq %llu",
                         self->views [i].name, (unsigned long long) fed_event_seq (event));
            return -1;
        }
    }
    if (++self->in_batch >= REFOLD_BATCH)
        return s_refold_flush (self);
    return 0;
}

static int
s_meta_write (fed_evlog_t *self, const char *key, const void *value, size_t size, bool remove,
              fed_err_t *err)
{
    char *error = NULL;
    if (remove)
        rocksdb_delete_cf (self->db, self->sync_options, self->cf [CF_META], key, strlen (key),
                           &error);
    else
        rocksdb_put_cf (self->db, self->sync_options, self->cf [CF_META], key, strlen (key),
                        (const char *) value, size, &error);
    if (error) {
        fed_err_set (err, -1, "event log %s: writing meta '%s' failed: %s", self->path, key, error);
        free (error);
        return -1;
    }
    return 0;
}

int
fed_evlog_refold (fed_evlog_t *self, const char *name, fed_err_t *err)
{
    if (self->options.read_only) {
        fed_err_set (err, -1, "event log %s is open read-only: cannot refold views", self->path);
        return -1;
    }
    refold_t refold = {self, self->views, self->view_count, NULL, 0, err};
    char start [40], limit [40];
    if (name) {
        for (size_t i = 0; i < self->view_count; i++)
            if (strcmp (self->views [i].name, name) == 0) {
                refold.views = &self->views [i];
                refold.view_count = 1;
            }
        //  Keys "name/…" sort between "name/" and "name0" ('0' follows '/').
        snprintf (start, sizeof start, "%s/", name);
        snprintf (limit, sizeof limit, "%s0", name);
    } else {
        if (s_meta_write (self, "rebuilding", "1", 1, false, err))
            return -1;
        snprintf (start, sizeof start, "%s", "");
        snprintf (limit, sizeof limit, "%s", "\x7f");
    }
    char *error = NULL;
    rocksdb_delete_range_cf (self->db, self->sync_options, self->cf [CF_VIEWS], start,
                             strlen (start), limit, strlen (limit), &error);
    if (error) {
        fed_err_set (err, -1, "event log %s: clearing views failed: %s", self->path, error);
        free (error);
        return -1;
    }
    fed_info ("refolding %s from %llu events", name ? name : "all views",
              (unsigned long long) self->count);
    refold.batch = rocksdb_writebatch_create ();
    fed_view_batch_clear (self->view_batch);
    int rc = fed_evlog_range (self, NULL, 0, 0, s_refold_event, &refold, err);
    if (rc == 0)
        rc = s_refold_flush (&refold);
    fed_view_batch_clear (self->view_batch);
    rocksdb_writebatch_destroy (refold.batch);
    if (rc)
        return -1;
    for (size_t i = 0; i < refold.view_count; i++) {
        char key [64];
        snprintf (key, sizeof key, "viewver/%s", refold.views [i].name);
        uint8_t version [4] = {
            (uint8_t) (refold.views [i].version >> 24), (uint8_t) (refold.views [i].version >> 16),
            (uint8_t) (refold.views [i].version >> 8), (uint8_t) refold.views [i].version};
        if (s_meta_write (self, key, version, 4, false, err))
            return -1;
    }
    if (!name && s_meta_write (self, "rebuilding", NULL, 0, true, err))
        return -1;
    return 0;
}

int
fed_evlog_rebuild (fed_evlog_t *self, fed_err_t *err)
{
    return fed_evlog_refold (self, NULL, err);
}

//  --- Audit ---------------------------------------------------------------

typedef struct {
    fed_evlog_t *log;
    fed_verify_report_t *report;
    uint8_t origin [FED_KEY_BYTES]; //  chain being walked
    uint64_t seq;                   //  last seq seen in it (0: none)
    uint8_t id [FED_ID_BYTES];      //  its id
} audit_t;

static void
s_audit_bad (audit_t *self, const uint8_t *origin, uint64_t seq, const char *what)
{
    self->report->bad++;
    if (self->report->first_error.code == 0) {
        char hex [17];
        fed_hex_encode (hex, origin, 8);
        fed_err_set (&self->report->first_error, 1, "origin %s seq %llu: %s", hex,
                     (unsigned long long) seq, what);
    }
}

//  Checks that the chain just finished ends where the version vector says.
static void
s_audit_chain_end (audit_t *self)
{
    if (self->seq == 0)
        return;
    fed_origin_t *held = fed_origin_map_find (&self->log->origins, self->origin);
    if (!held || held->seq != self->seq || memcmp (held->id, self->id, FED_ID_BYTES) != 0)
        s_audit_bad (self, self->origin, self->seq,
                     "the version vector does not match the last stored event");
}

static int
s_audit_event (void *arg, const fed_event_t *event)
{
    audit_t *self = (audit_t *) arg;
    const uint8_t *origin = fed_event_origin (event);
    uint64_t seq = fed_event_seq (event);
    if (self->seq == 0 || memcmp (origin, self->origin, FED_KEY_BYTES) != 0) {
        s_audit_chain_end (self);
        self->report->origins++;
        memcpy (self->origin, origin, FED_KEY_BYTES);
        self->seq = 0;
        memset (self->id, 0, FED_ID_BYTES);
    }
    self->report->events++;
    if (seq != self->seq + 1)
        s_audit_bad (self, origin, seq, "chain has a gap or a repeat");
    else if (memcmp (fed_event_prev (event), self->id, FED_ID_BYTES) != 0)
        s_audit_bad (self, origin, seq, "prev is not the id of the previous event");
    else if (!fed_event_verify (event))
        s_audit_bad (self, origin, seq, "signature does not verify");
    self->seq = seq;
    memcpy (self->id, fed_event_id (event), FED_ID_BYTES);
    return 0;
}

int
fed_evlog_verify (fed_evlog_t *self, fed_verify_report_t *report)
{
    memset (report, 0, sizeof *report);
    audit_t audit = {self, report, {0}, 0, {0}};
    fed_err_t err;
    if (fed_evlog_range (self, NULL, 0, 0, s_audit_event, &audit, &err)) {
        report->bad++;
        report->first_error = err;
        return -1;
    }
    s_audit_chain_end (&audit);
    //  Every origin in the version vector must have been walked.
    uint64_t expected = 0;
    for (size_t i = 0; i < self->origins.capacity; i++)
        if (self->origins.slots [i].used && self->origins.slots [i].seq > 0)
            expected++;
    if (expected != report->origins && report->first_error.code == 0) {
        report->bad++;
        fed_err_set (&report->first_error, 1,
                     "the version vector names %llu origins, the log holds %llu",
                     (unsigned long long) expected, (unsigned long long) report->origins);
    }
    return report->bad ? -1 : 0;
}
