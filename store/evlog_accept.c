/*  store/evlog_accept.c: taking in events received from peers or imported.

    For a batch: decode and check each event alone (size, format, trusted
    origin, not quarantined); sort by (origin, seq); then walk each origin's
    events against its chain. Events that extend the chain form a run; a run
    is authenticated by the signature of its last event (its hash links
    authenticate the rest). If that signature fails, the longest validly
    signed prefix of the run is kept and the rest refused. Events ahead of a
    gap wait in the pending buffer and join the next batch that touches
    their origin. Everything accepted is written in one WriteBatch.
*/
#include "evlog_internal.h"
#include "log.h"

#include <stdlib.h>
#include <string.h>

//  A candidate event and where it came from.
typedef struct {
    fed_event_t *event; //  owned until handed on
    bool from_pending;  //  came out of the pending buffer
} candidate_t;

//  Working state of one accept call.
typedef struct {
    fed_evlog_t *log;
    fed_accept_report_t *report;
    rocksdb_writebatch_t *batch;
    fed_event_t **accepted; //  in order; owned
    size_t accepted_count;
    fed_event_t **buffer; //  to go (back) into pending; owned
    size_t buffer_count;
    size_t buffer_bytes;
    fed_origin_t *touched; //  working copies of origins changed
    size_t touched_count;
    fed_event_t **forks; //  validly signed conflicting events; owned
    size_t fork_count;
    bool failed; //  a view or storage failed
} accept_t;

static void
s_count (accept_t *self, fed_event_status_t status, const fed_event_t *event, const char *why)
{
    self->report->by_status [status]++;     //  into log stats once committed
    if (status == FED_EVENT_OK || status == FED_EVENT_DUPLICATE || status == FED_EVENT_BUFFERED)
        return;
    if (self->report->first_error.code == 0) {
        char origin [65] = "?";
        if (event)
            fed_hex_encode (origin, fed_event_origin (event), 8);
        fed_err_set (&self->report->first_error, status, "%s: event %s#%llu: %s",
                     fed_event_status_name (status), origin,
                     event ? (unsigned long long) fed_event_seq (event) : 0ULL, why);
    }
}

static bool
s_trusted (fed_evlog_t *log, const uint8_t origin [32])
{
    if (log->has_signer && memcmp (origin, log->origin, FED_KEY_BYTES) == 0)
        return true;
    return log->trust && log->trust (log->trust_arg, origin);
}

static int
s_compare_candidates (const void *a, const void *b)
{
    const fed_event_t *x = ((const candidate_t *) a)->event;
    const fed_event_t *y = ((const candidate_t *) b)->event;
    int order = memcmp (fed_event_origin (x), fed_event_origin (y), FED_KEY_BYTES);
    if (order)
        return order;
    if (fed_event_seq (x) != fed_event_seq (y))
        return fed_event_seq (x) < fed_event_seq (y) ? -1 : 1;
    order = memcmp (fed_event_id (x), fed_event_id (y), FED_ID_BYTES);
    if (order)
        return order;
    //  Copies of one event: the buffered one first, so it is the one kept.
    return (int) ((const candidate_t *) b)->from_pending
        - (int) ((const candidate_t *) a)->from_pending;
}

static void
s_accept_event (accept_t *self, fed_event_t **event_p)
{
    self->accepted = (fed_event_t **) fed_realloc (
        self->accepted, (self->accepted_count + 1) * sizeof (fed_event_t *));
    self->accepted [self->accepted_count++] = *event_p;
    *event_p = NULL;
}

//  The id of the event held at (origin, seq): accepted earlier in this
//  batch, or in the store. Returns false if it cannot be found.
static bool
s_held_id (accept_t *self, const uint8_t *origin, uint64_t seq, uint8_t id [32])
{
    for (size_t i = self->accepted_count; i-- > 0;) {
        const fed_event_t *event = self->accepted [i];
        if (fed_event_seq (event) == seq
            && memcmp (fed_event_origin (event), origin, FED_KEY_BYTES) == 0) {
            memcpy (id, fed_event_id (event), FED_ID_BYTES);
            return true;
        }
    }
    fed_event_t *held = fed_evlog_get (self->log, origin, seq);
    if (!held)
        return false;
    memcpy (id, fed_event_id (held), FED_ID_BYTES);
    fed_event_destroy (&held);
    return true;
}

//  Records a validly signed conflicting event: the origin is quarantined.
static void
s_fork (accept_t *self, fed_origin_t *working, fed_event_t **event_p)
{
    char origin [17];
    fed_hex_encode (origin, working->origin, 8);
    fed_warn ("origin %s forked at seq %llu: quarantined, evidence kept", origin,
              (unsigned long long) fed_event_seq (*event_p));
    s_count (self, FED_EVENT_FORK, *event_p,
             "a different validly signed event exists at this position: origin quarantined");
    working->quarantined = true;
    self->forks =
        (fed_event_t **) fed_realloc (self->forks, (self->fork_count + 1) * sizeof (fed_event_t *));
    self->forks [self->fork_count++] = *event_p;
    *event_p = NULL;
}

//  Authenticates and accepts a run of linked events of one origin. If the
//  last signature fails, keeps the longest validly signed prefix. *working
//  is rolled back to the last accepted event; *before is the origin's state
//  before the run.
static void
s_flush_run (accept_t *self, candidate_t *run, size_t count, fed_origin_t *working,
             const fed_origin_t *before)
{
    if (count == 0)
        return;
    size_t keep = count;
    while (keep > 0 && !fed_event_verify (run [keep - 1].event))
        keep--;
    for (size_t i = keep; i < count; i++) {
        s_count (self, FED_EVENT_BAD_SIGNATURE, run [i].event,
                 "signature does not verify: dropped");
        fed_event_destroy (&run [i].event);
    }
    *working = *before;
    for (size_t i = 0; i < keep; i++) {
        working->seq = fed_event_seq (run [i].event);
        memcpy (working->id, fed_event_id (run [i].event), FED_ID_BYTES);
        if (!run [i].from_pending)
            s_count (self, FED_EVENT_OK, run [i].event, NULL);
        self->report->accepted++;
        s_accept_event (self, &run [i].event);
    }
}

//  Holds an event ahead of a gap, unless the buffer is full.
static void
s_buffer (accept_t *self, candidate_t *candidate)
{
    fed_evlog_t *log = self->log;
    size_t size = fed_event_size (candidate->event);
    //  A buffered event is not linked to anything held yet, so its own
    //  signature is the only check it can pass now: without it, anyone who
    //  knows a trusted origin's key could fill the buffer with forgeries.
    if (!candidate->from_pending && !fed_event_verify (candidate->event)) {
        s_count (self, FED_EVENT_BAD_SIGNATURE, candidate->event,
                 "ahead of a gap and its signature does not verify: dropped");
        fed_event_destroy (&candidate->event);
        return;
    }
    if (self->buffer_count + 1 > log->options.pending_max
        || self->buffer_bytes + size > log->options.pending_bytes_max) {
        s_count (self, FED_EVENT_OVERFLOW, candidate->event,
                 "ahead of a gap and the pending buffer is full "
                 "(config limits.pending_events): dropped, will be asked for again");
        fed_event_destroy (&candidate->event);
        return;
    }
    if (!candidate->from_pending)
        s_count (self, FED_EVENT_BUFFERED, candidate->event, NULL);
    self->buffer = (fed_event_t **) fed_realloc (self->buffer,
                                                 (self->buffer_count + 1) * sizeof (fed_event_t *));
    self->buffer [self->buffer_count++] = candidate->event;
    self->buffer_bytes += size;
    candidate->event = NULL;
}

//  Walks one origin's candidates (sorted by seq, then id) against its chain.
static void
s_walk_origin (accept_t *self, candidate_t *list, size_t count, fed_origin_t *working)
{
    fed_origin_t before_run = *working;
    size_t run_start = 0, run_count = 0;
    for (size_t i = 0; i < count; i++) {
        candidate_t *c = &list [i];
        const fed_event_t *event = c->event;
        if (working->quarantined) {
            if (!c->from_pending)
                s_count (self, FED_EVENT_QUARANTINED, event, "origin is quarantined after a fork");
            fed_event_destroy (&c->event);
            continue;
        }
        uint64_t seq = fed_event_seq (event);
        if (seq == working->seq + 1
            && memcmp (fed_event_prev (event), working->id, FED_ID_BYTES) == 0) {
            if (run_count == 0) {
                run_start = i;
                before_run = *working;
            }
            run_count++;
            working->seq = seq;
            memcpy (working->id, fed_event_id (event), FED_ID_BYTES);
            continue;
        }
        //  The run ends here: authenticate it before judging this event
        //  against what was really accepted.
        s_flush_run (self, list + run_start, run_count, working, &before_run);
        run_count = 0;
        if (seq == working->seq + 1
            && memcmp (fed_event_prev (event), working->id, FED_ID_BYTES) == 0) {
            run_start = i;
            before_run = *working;
            run_count = 1;
            working->seq = seq;
            memcpy (working->id, fed_event_id (event), FED_ID_BYTES);
            continue;
        }
        if (seq <= working->seq) {
            uint8_t held [FED_ID_BYTES];
            if (!s_held_id (self, working->origin, seq, held)) {
                self->failed = true;
                s_count (self, FED_EVENT_MALFORMED, event, "held event could not be read");
                fed_event_destroy (&c->event);
            } else if (memcmp (held, fed_event_id (event), FED_ID_BYTES) == 0) {
                if (!c->from_pending)
                    s_count (self, FED_EVENT_DUPLICATE, event, NULL);
                fed_event_destroy (&c->event);
            } else if (fed_event_verify (event))
                s_fork (self, working, &c->event);
            else {
                s_count (self, FED_EVENT_BAD_SIGNATURE, event,
                         "differs from the held event at this seq and its signature does not "
                         "verify: dropped");
                fed_event_destroy (&c->event);
            }
        } else if (seq == working->seq + 1) {
            //  Right seq, wrong prev: signed by the origin, it is a fork;
            //  otherwise it is a forgery or damage.
            if (fed_event_verify (event))
                s_fork (self, working, &c->event);
            else {
                s_count (self, FED_EVENT_BAD_PREV, event,
                         "prev is not the id of the origin's previous event: dropped");
                fed_event_destroy (&c->event);
            }
        } else
            s_buffer (self, c);
    }
    s_flush_run (self, list + run_start, run_count, working, &before_run);
}

//  Writes evidence and an origin.forked event for each fork found.
static int
s_stage_forks (accept_t *self, fed_err_t *err)
{
    fed_evlog_t *log = self->log;
    //  The node's own chain as this batch leaves it: an import may have
    //  restored own events in this very batch.
    fed_origin_t own = {0};
    fed_origin_t *touched_own = NULL;
    for (size_t i = 0; i < self->touched_count; i++)
        if (memcmp (self->touched [i].origin, log->origin, FED_KEY_BYTES) == 0)
            touched_own = &self->touched [i];
    fed_origin_t *slot = fed_origin_map_find (&log->origins, log->origin);
    if (touched_own)
        own = *touched_own;
    else if (slot)
        own = *slot;
    memcpy (own.origin, log->origin, FED_KEY_BYTES);
    for (size_t i = 0; i < self->fork_count; i++) {
        const fed_event_t *other = self->forks [i];
        const uint8_t *origin = fed_event_origin (other);
        uint64_t seq = fed_event_seq (other);
        uint8_t key [5 + FED_KEY_BYTES + 8];
        memcpy (key, "fork/", 5);
        fed_evlog_event_key (key + 5, origin, seq);
        rocksdb_writebatch_put_cf (self->batch, log->cf [CF_META], (const char *) key, sizeof key,
                                   (const char *) fed_event_bytes (other), fed_event_size (other));
        uint8_t held [FED_ID_BYTES] = {0};
        uint64_t held_seq = seq;
        if (!s_held_id (self, origin, held_seq, held) && seq > 1)
            s_held_id (self, origin, --held_seq, held);
        uint8_t qkey [2 + FED_KEY_BYTES], qvalue [8 + 2 * FED_ID_BYTES];
        memcpy (qkey, "q/", 2);
        memcpy (qkey + 2, origin, FED_KEY_BYTES);
        fed_put_be64 (qvalue, seq);
        memcpy (qvalue + 8, held, FED_ID_BYTES);
        memcpy (qvalue + 8 + FED_ID_BYTES, fed_event_id (other), FED_ID_BYTES);
        rocksdb_writebatch_put_cf (self->batch, log->cf [CF_META], (const char *) qkey, sizeof qkey,
                                   (const char *) qvalue, sizeof qvalue);
        if (!log->has_signer || log->options.read_only)
            continue;
        //  origin.forked {origin: bin32, seq: uint, held: bin32, other: bin32}
        msgpack_sbuffer body;
        msgpack_sbuffer_init (&body);
        msgpack_packer pk;
        msgpack_packer_init (&pk, &body, msgpack_sbuffer_write);
        msgpack_pack_map (&pk, 4);
        msgpack_pack_str_with_body (&pk, "origin", 6);
        msgpack_pack_bin_with_body (&pk, origin, FED_KEY_BYTES);
        msgpack_pack_str_with_body (&pk, "seq", 3);
        msgpack_pack_uint64 (&pk, seq);
        msgpack_pack_str_with_body (&pk, "held", 4);
        msgpack_pack_bin_with_body (&pk, held, FED_ID_BYTES);
        msgpack_pack_str_with_body (&pk, "other", 5);
        msgpack_pack_bin_with_body (&pk, fed_event_id (other), FED_ID_BYTES);
        fed_event_t *event = NULL;
        int rc = fed_evlog_stage_local (log, self->batch, &own, "origin.forked", body.data,
                                        body.size, &event, err);
        msgpack_sbuffer_destroy (&body);
        if (rc)
            return -1;
        s_accept_event (self, &event);
    }
    if (self->fork_count && log->has_signer && !log->options.read_only) {
        own.used = true;
        if (touched_own) {
            *touched_own = own;
            return 0;
        }
        self->touched = (fed_origin_t *) fed_realloc (
            self->touched, (self->touched_count + 1) * sizeof (fed_origin_t));
        self->touched [self->touched_count++] = own;
    }
    return 0;
}

int
fed_evlog_accept (fed_evlog_t *log, const fed_blob_t *events, size_t count,
                  fed_accept_report_t *report)
{
    memset (report, 0, sizeof *report);
    if (log->options.read_only) {
        fed_err_set (&report->first_error, -1, "event log %s is open read-only", log->path);
        return -1;
    }
    accept_t self = {log, report, NULL, NULL, 0, NULL, 0, 0, NULL, 0, NULL, 0, false};
    uint64_t arrivals = log->arrivals; //  restored if nothing is committed
    fed_view_batch_clear (log->view_batch);
    candidate_t *list =
        (candidate_t *) fed_calloc (count + log->pending_count + 1, sizeof (candidate_t));
    size_t listed = 0;

    //  1. Each event alone, cheapest checks first.
    for (size_t i = 0; i < count; i++) {
        fed_event_t *event = NULL;
        fed_err_t err;
        if (fed_event_decode (events [i].data, events [i].size, &log->options.limits, &event,
                              &err)) {
            s_count (&self, (fed_event_status_t) err.code, NULL, err.text);
            continue;
        }
        if (!s_trusted (log, fed_event_origin (event))) {
            s_count (&self, FED_EVENT_UNTRUSTED, event, "origin is not in the trusted set");
            fed_event_destroy (&event);
            continue;
        }
        if (fed_evlog_quarantined (log, fed_event_origin (event))) {
            s_count (&self, FED_EVENT_QUARANTINED, event, "origin is quarantined after a fork");
            fed_event_destroy (&event);
            continue;
        }
        list [listed++] = (candidate_t){event, false};
    }
    size_t fresh = listed;

    //  2. Buffered events of the origins this batch touches join it. They
    //  join as copies: the log's buffer changes only when the batch commits,
    //  so a failed write loses nothing that was waiting. Events of an origin
    //  quarantined since they arrived are dropped here.
    for (size_t p = 0; p < log->pending_count; p++) {
        const fed_event_t *waiting = log->pending [p];
        if (fed_evlog_quarantined (log, fed_event_origin (waiting)))
            continue;
        bool touched = false;
        for (size_t i = 0; i < fresh && !touched; i++)
            touched = memcmp (fed_event_origin (list [i].event), fed_event_origin (waiting),
                              FED_KEY_BYTES)
                == 0;
        if (touched)
            list [listed++] = (candidate_t){fed_event_dup (waiting), true};
        else {
            self.buffer = (fed_event_t **) fed_realloc (
                self.buffer, (self.buffer_count + 1) * sizeof (fed_event_t *));
            self.buffer [self.buffer_count++] = fed_event_dup (waiting);
            self.buffer_bytes += fed_event_size (waiting);
        }
    }
    qsort (list, listed, sizeof (candidate_t), s_compare_candidates);

    //  The same event more than once (several peers sent it, or it is
    //  already buffered): keep one copy, so that a run of linked events
    //  stays contiguous in the list and the buffer never holds an event twice.
    size_t unique = 0;
    for (size_t i = 0; i < listed; i++) {
        if (unique > 0
            && memcmp (fed_event_id (list [unique - 1].event), fed_event_id (list [i].event),
                       FED_ID_BYTES)
                == 0) {
            if (!list [i].from_pending)
                s_count (&self, FED_EVENT_DUPLICATE, list [i].event, NULL);
            fed_event_destroy (&list [i].event);
            continue;
        }
        candidate_t moved = list [i];
        list [i].event = NULL;
        list [unique++] = moved;
    }
    listed = unique;

    //  3. Each origin against its chain.
    self.batch = rocksdb_writebatch_create ();
    self.touched = (fed_origin_t *) fed_calloc (listed + 1, sizeof (fed_origin_t));
    for (size_t i = 0; i < listed;) {
        size_t j = i;
        while (j < listed
               && memcmp (fed_event_origin (list [j].event), fed_event_origin (list [i].event),
                          FED_KEY_BYTES)
                   == 0)
            j++;
        fed_origin_t working = {0};
        fed_origin_t *held = fed_origin_map_find (&log->origins, fed_event_origin (list [i].event));
        if (held)
            working = *held;
        else
            memcpy (working.origin, fed_event_origin (list [i].event), FED_KEY_BYTES);
        working.used = true;
        s_walk_origin (&self, list + i, j - i, &working);
        self.touched [self.touched_count++] = working;
        i = j;
    }

    //  4. Stage and commit everything in one batch.
    fed_err_t err = {0};
    int rc = self.failed ? -1 : 0;
    for (size_t i = 0; i < self.accepted_count && rc == 0; i++) {
        fed_hlc_observe (&log->hlc, fed_event_hlc (self.accepted [i]), fed_wall_ms ());
        rc = fed_evlog_stage_event (log, self.batch, self.accepted [i]);
    }
    if (rc == 0)
        rc = s_stage_forks (&self, &err);
    if (rc == 0 && (self.accepted_count || self.fork_count)) {
        for (size_t i = 0; i < self.touched_count; i++)
            fed_evlog_stage_origin (log, self.batch, &self.touched [i]);
        fed_evlog_stage_hlc (log, self.batch);
        rc = fed_evlog_commit (log, self.batch, &err);
    }
    if (rc == 0) {
        for (size_t i = 0; i < self.touched_count; i++)
            *fed_origin_map_upsert (&log->origins, self.touched [i].origin) = self.touched [i];
        log->count += self.accepted_count;
        log->stats.forks += self.fork_count;
        for (int status = 0; status < FED_EVENT_REASONS; status++)
            log->stats.received [status] += report->by_status [status];
        for (size_t i = 0; i < log->pending_count; i++)
            fed_event_destroy (&log->pending [i]);
        free (log->pending);
        log->pending = self.buffer;
        log->pending_count = self.buffer_count;
        log->pending_bytes = self.buffer_bytes;
        self.buffer = NULL; //  now the log's
        self.buffer_count = 0;
    } else {
        //  Nothing of this batch is stored, and the pending buffer is as it
        //  was: the working copies are freed below.
        fed_err_set (&report->first_error, -1, "%s",
                     err.text [0] ? err.text : "a view or the store failed");
        report->accepted = 0;
        log->arrivals = arrivals;
        fed_view_batch_clear (log->view_batch);
    }
    for (size_t i = 0; i < self.accepted_count; i++)
        fed_event_destroy (&self.accepted [i]);
    for (size_t i = 0; i < self.fork_count; i++)
        fed_event_destroy (&self.forks [i]);
    for (size_t i = 0; i < self.buffer_count; i++)
        fed_event_destroy (&self.buffer [i]);
    for (size_t i = 0; i < listed; i++)
        fed_event_destroy (&list [i].event);
    free (self.buffer);
    free (self.accepted);
    free (self.forks);
    free (self.touched);
    free (list);
    rocksdb_writebatch_destroy (self.batch);
    return rc == 0 ? 0 : -1;
}

size_t
fed_evlog_pending (fed_evlog_t *self)
{
    return self->pending_count;
}

size_t
fed_evlog_gaps (fed_evlog_t *self, fed_gap_t **gaps_p)
{
    fed_gap_t *gaps = (fed_gap_t *) fed_calloc (self->pending_count + 1, sizeof (fed_gap_t));
    size_t count = 0;
    for (size_t p = 0; p < self->pending_count; p++) {
        const fed_event_t *event = self->pending [p];
        const uint8_t *origin = fed_event_origin (event);
        uint64_t seq = fed_event_seq (event);
        if (seq <= fed_evlog_seq (self, origin) + 1)
            continue;           //  no gap in front of it (any more)
        size_t g = 0;
        while (g < count && memcmp (gaps [g].origin, origin, FED_KEY_BYTES) != 0)
            g++;
        if (g == count) {
            memcpy (gaps [g].origin, origin, FED_KEY_BYTES);
            gaps [g].from = fed_evlog_seq (self, origin) + 1;
            gaps [g].to = seq - 1;
            count++;
        } else if (seq - 1 < gaps [g].to)
            gaps [g].to = seq - 1;
    }
    *gaps_p = gaps;
    return count;
}
