/*  node/runstate.c: a run's state, derived from the set of its events (see
    runs.h).

    Each step owns the records that name it; the run owns the run-level
    ones. fed_run_add only files a record (refusing exact duplicates: an
    origin's hlc names one of its events); which records count is decided
    when a step is read, because that depends on records that may come
    later (the coordinator is known from run.started, an attempt's node
    from step.assigned).
*/
#include "runs.h"

#include <czmq.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    fed_run_step_t pub; //  what readers get; rebuilt when dirty
    fed_rev_t **recs;   //  every record naming this step, owned
    size_t rec_count, rec_alloc;
    bool dirty;
} s_step_t;

struct fed_run_t {
    char id [FED_RUN_ID_SIZE + 1];
    fed_rev_t **recs; //  run-level records (run.*), owned
    size_t rec_count, rec_alloc;
    zhashx_t *steps; //  step id -> s_step_t, owned
};

static void
s_step_destroy (void **item_p)
{
    s_step_t *step = (s_step_t *) *item_p;
    if (!step)
        return;
    for (size_t i = 0; i < step->rec_count; i++)
        fed_rev_destroy (&step->recs [i]);
    free (step->recs);
    free (step->pub.attempts);
    free (step->pub.votes);
    free (step);
    *item_p = NULL;
}

fed_run_t *
fed_run_new (const char *run_id)
{
    fed_run_t *self = fed_calloc (1, sizeof *self);
    snprintf (self->id, sizeof self->id, "%s", run_id);
    self->steps = zhashx_new ();
    zhashx_set_destructor (self->steps, s_step_destroy);
    return self;
}

void
fed_run_destroy (fed_run_t **self_p)
{
    fed_run_t *self = *self_p;
    if (!self)
        return;
    for (size_t i = 0; i < self->rec_count; i++)
        fed_rev_destroy (&self->recs [i]);
    free (self->recs);
    zhashx_destroy (&self->steps);
    free (self);
    *self_p = NULL;
}

static bool
s_same_event (const fed_rev_t *a, const fed_rev_t *b)
{
    return a->hlc == b->hlc && memcmp (a->origin, b->origin, 32) == 0;
}

static void
s_push (fed_rev_t ***recs, size_t *count, size_t *alloc, fed_rev_t *rev)
{
    if (*count == *alloc) {
        *alloc = *alloc ? *alloc * 2 : 4;
        *recs = fed_realloc (*recs, *alloc * sizeof (fed_rev_t *));
    }
    (*recs) [(*count)++] = rev;
}

int
fed_run_add (fed_run_t *self, fed_rev_t **rev_p)
{
    fed_rev_t *rev = *rev_p;
    *rev_p = NULL;
    if (strcmp (rev->run, self->id) != 0) {
        fed_rev_destroy (&rev);
        return 0;
    }
    bool run_level = rev->type == FED_REV_RUN_STARTED || rev->type == FED_REV_RUN_FAILED
        || rev->type == FED_REV_RUN_COMPLETED || rev->type == FED_REV_RUN_CANCELLED
        || rev->type == FED_REV_RUN_CANCEL_REQUESTED;
    if (run_level) {
        for (size_t i = 0; i < self->rec_count; i++)
            if (s_same_event (self->recs [i], rev)) {
                fed_rev_destroy (&rev);
                return 0;
            }
        s_push (&self->recs, &self->rec_count, &self->rec_alloc, rev);
        //  run.failed names a step, but the step's own records say nothing
        //  of it; and the coordinator changes what every step shows.
        zhashx_t *steps = self->steps;
        for (s_step_t *step = (s_step_t *) zhashx_first (steps); step;
             step = (s_step_t *) zhashx_next (steps))
            step->dirty = true;
        return 1;
    }
    s_step_t *step = (s_step_t *) zhashx_lookup (self->steps, rev->step);
    if (!step) {
        step = fed_calloc (1, sizeof *step);
        zhashx_insert (self->steps, rev->step, step);
    }
    //  Recent records are the likely duplicates: look from the end.
    for (size_t i = step->rec_count; i-- > 0;)
        if (s_same_event (step->recs [i], rev)) {
            fed_rev_destroy (&rev);
            return 0;
        }
    s_push (&step->recs, &step->rec_count, &step->rec_alloc, rev);
    step->pub.id = step->recs [0]->step;
    step->dirty = true;
    return 1;
}

const fed_rev_t *
fed_run_started (const fed_run_t *self)
{
    //  The first run.started by (hlc, origin): a second one for the same id
    //  (another node's, by accident or malice) never takes the run over.
    const fed_rev_t *best = NULL;
    for (size_t i = 0; i < self->rec_count; i++) {
        const fed_rev_t *rev = self->recs [i];
        if (rev->type == FED_REV_RUN_STARTED
            && (!best || rev->hlc < best->hlc
                || (rev->hlc == best->hlc && memcmp (rev->origin, best->origin, 32) < 0)))
            best = rev;
    }
    return best;
}

const uint8_t *
fed_run_coordinator (const fed_run_t *self)
{
    const fed_rev_t *started = fed_run_started (self);
    return started ? started->origin : NULL;
}

const char *
fed_run_id (const fed_run_t *self)
{
    return self->id;
}

static bool
s_from (const fed_rev_t *rev, const uint8_t *writer)
{
    return writer && memcmp (rev->origin, writer, 32) == 0;
}

fed_run_state_t
fed_run_state (const fed_run_t *self, const fed_rev_t **end_p)
{
    const uint8_t *coordinator = fed_run_coordinator (self);
    const fed_rev_t *end = NULL;
    for (size_t i = 0; i < self->rec_count; i++) {
        const fed_rev_t *rev = self->recs [i];
        if ((rev->type == FED_REV_RUN_COMPLETED || rev->type == FED_REV_RUN_FAILED
             || rev->type == FED_REV_RUN_CANCELLED)
            && s_from (rev, coordinator) && (!end || rev->hlc < end->hlc))
            end = rev;
    }
    if (end_p)
        *end_p = end;
    if (!end)
        return FED_RUN_RUNNING;
    return end->type == FED_REV_RUN_COMPLETED ? FED_RUN_COMPLETED
        : end->type == FED_REV_RUN_FAILED     ? FED_RUN_FAILED
                                              : FED_RUN_CANCELLED;
}

const char *
fed_run_state_name (fed_run_state_t state)
{
    switch (state) {
        case FED_RUN_RUNNING: return "running";
        case FED_RUN_COMPLETED: return "completed";
        case FED_RUN_FAILED: return "failed";
        case FED_RUN_CANCELLED: return "cancelled";
    }
    return "?";
}

const fed_rev_t *
fed_run_cancel_request (const fed_run_t *self)
{
    const fed_rev_t *latest = NULL;
    for (size_t i = 0; i < self->rec_count; i++)
        if (self->recs [i]->type == FED_REV_RUN_CANCEL_REQUESTED
            && (!latest || self->recs [i]->hlc > latest->hlc))
            latest = self->recs [i];
    return latest;
}

fed_attempt_state_t
fed_attempt_state (const fed_attempt_t *attempt)
{
    if (attempt->completed)
        return FED_ATTEMPT_COMPLETED;
    if (attempt->failed)
        return FED_ATTEMPT_FAILED;
    if (attempt->started)
        return FED_ATTEMPT_RUNNING;
    return FED_ATTEMPT_ASSIGNED;
}

static int
s_vote_cmp (const void *a, const void *b)
{
    const fed_rev_t *x = *(const fed_rev_t *const *) a, *y = *(const fed_rev_t *const *) b;
    if (x->hlc != y->hlc)
        return x->hlc < y->hlc ? -1 : 1;
    return memcmp (x->origin, y->origin, 32);
}

static fed_attempt_t *
s_attempt (s_step_t *step, uint32_t n)
{
    for (size_t i = 0; i < step->pub.attempt_count; i++)
        if (step->pub.attempts [i].attempt == n)
            return &step->pub.attempts [i];
    return NULL;
}

static int
s_attempt_cmp (const void *a, const void *b)
{
    uint32_t x = ((const fed_attempt_t *) a)->attempt, y = ((const fed_attempt_t *) b)->attempt;
    return x < y ? -1 : x > y;
}

//  Keeps the earlier of two records (by hlc) in *slot.
static void
s_first (const fed_rev_t **slot, const fed_rev_t *rev)
{
    if (!*slot || rev->hlc < (*slot)->hlc)
        *slot = rev;
}

static void
s_rebuild (const fed_run_t *run, s_step_t *step)
{
    const uint8_t *coordinator = fed_run_coordinator (run);
    fed_run_step_t *pub = &step->pub;
    free (pub->attempts);
    free (pub->votes);
    pub->attempts = fed_calloc (step->rec_count + 1, sizeof (fed_attempt_t));
    pub->votes = fed_calloc (step->rec_count + 1, sizeof (fed_rev_t *));
    pub->attempt_count = pub->vote_count = 0;
    pub->waiting = pub->awaiting = pub->escalated = pub->decided = NULL;
    //  Assignments first: they say whose results count.
    for (size_t i = 0; i < step->rec_count; i++) {
        const fed_rev_t *rev = step->recs [i];
        if (rev->type != FED_REV_STEP_ASSIGNED || !s_from (rev, coordinator))
            continue;
        fed_attempt_t *attempt = s_attempt (step, rev->attempt);
        if (!attempt) {
            attempt = &pub->attempts [pub->attempt_count++];
            attempt->attempt = rev->attempt;
        }
        s_first (&attempt->assigned, rev);
    }
    for (size_t i = 0; i < step->rec_count; i++) {
        const fed_rev_t *rev = step->recs [i];
        fed_attempt_t *attempt;
        switch (rev->type) {
            case FED_REV_STEP_PROGRESS:
                attempt = s_attempt (step, rev->attempt);
                if (attempt && s_from (rev, attempt->assigned->node)
                    && (!attempt->progress || rev->hlc > attempt->progress->hlc))
                    attempt->progress = rev;
                break;
            case FED_REV_STEP_STARTED:
            case FED_REV_STEP_COMPLETED:
            case FED_REV_STEP_FAILED:
                attempt = s_attempt (step, rev->attempt);
                if (!attempt || !s_from (rev, attempt->assigned->node))
                    break;
                s_first (rev->type == FED_REV_STEP_STARTED         ? &attempt->started
                             : rev->type == FED_REV_STEP_COMPLETED ? &attempt->completed
                                                                   : &attempt->failed,
                         rev);
                break;
            case FED_REV_STEP_WAITING:
                if (s_from (rev, coordinator) && (!pub->waiting || rev->hlc > pub->waiting->hlc))
                    pub->waiting = rev;
                break;
            case FED_REV_STEP_AWAITING:
                if (s_from (rev, coordinator))
                    s_first (&pub->awaiting, rev);
                break;
            case FED_REV_STEP_ESCALATED:
                if (s_from (rev, coordinator))
                    s_first (&pub->escalated, rev);
                break;
            case FED_REV_STEP_DECIDED:
                if (s_from (rev, coordinator))
                    s_first (&pub->decided, rev);
                break;
            case FED_REV_STEP_APPROVED:
            case FED_REV_STEP_REJECTED: pub->votes [pub->vote_count++] = rev; break;
            default: break;
        }
    }
    //  An attempt that both completed and failed (a node's bug) counts as
    //  what it said first.
    for (size_t i = 0; i < pub->attempt_count; i++) {
        fed_attempt_t *attempt = &pub->attempts [i];
        if (attempt->completed && attempt->failed) {
            if (attempt->failed->hlc < attempt->completed->hlc)
                attempt->completed = NULL;
            else
                attempt->failed = NULL;
        }
    }
    qsort (pub->attempts, pub->attempt_count, sizeof (fed_attempt_t), s_attempt_cmp);
    qsort (pub->votes, pub->vote_count, sizeof (fed_rev_t *), s_vote_cmp);
    step->dirty = false;
}

const fed_run_step_t *
fed_run_step (const fed_run_t *self, const char *id)
{
    s_step_t *step = (s_step_t *) zhashx_lookup (self->steps, id);
    if (!step)
        return NULL;
    if (step->dirty)
        s_rebuild (self, step);
    return &step->pub;
}

const fed_run_step_t **
fed_run_steps (const fed_run_t *self, size_t *count_p)
{
    size_t count = zhashx_size (self->steps);
    const fed_run_step_t **steps = fed_calloc (count + 1, sizeof (fed_run_step_t *));
    size_t n = 0;
    for (s_step_t *step = (s_step_t *) zhashx_first (self->steps); step && n < count;
         step = (s_step_t *) zhashx_next (self->steps)) {
        if (step->dirty)
            s_rebuild (self, step);
        steps [n++] = &step->pub;
    }
    *count_p = n;
    return steps;
}

uint32_t
fed_run_step_failures (const fed_run_step_t *step)
{
    uint32_t failures = 0;
    for (size_t k = 0; k < step->attempt_count; k++) {
        const fed_attempt_t *a = &step->attempts [k];
        if (a->failed)
            failures++;
        else if (k + 1 < step->attempt_count && step->attempts [k + 1].assigned
                 && strcmp (step->attempts [k + 1].assigned->why, "timeout") == 0)
            failures++;
    }
    return failures;
}

bool
fed_run_approved (const char *outcome)
{
    return outcome
        && (strcmp (outcome, "approved") == 0 || strcmp (outcome, "timeout_approved") == 0);
}

const fed_attempt_t *
fed_run_step_latest (const fed_run_step_t *step)
{
    return step && step->attempt_count ? &step->attempts [step->attempt_count - 1] : NULL;
}

const fed_attempt_t *
fed_run_step_attempt (const fed_run_step_t *step, uint32_t n)
{
    for (size_t i = 0; step && i < step->attempt_count; i++)
        if (step->attempts [i].attempt == n)
            return &step->attempts [i];
    return NULL;
}

//  --- Loading ------------------------------------------------------------------

typedef struct {
    fed_evlog_t *log;
    fed_run_t *run;
    size_t events;
} s_load_t;

static int
s_load_one (void *arg, const uint8_t *key, size_t key_size, const uint8_t *value, size_t value_size)
{
    (void) value;
    (void) value_size;
    s_load_t *load = (s_load_t *) arg;
    //  "run/e/RUN/" then origin(32) seq(8)
    if (key_size < 40)
        return 0;
    const uint8_t *tail = key + key_size - 40;
    fed_event_t *event = fed_evlog_get (load->log, tail, fed_get_be64 (tail + 32));
    if (!event)
        return 0;
    fed_err_t err;
    fed_rev_t *rev = fed_rev_decode (event, &err);
    fed_event_destroy (&event);
    if (rev) {
        fed_run_add (load->run, &rev);
        load->events++;
    }
    return 0;
}

int
fed_run_load (fed_evlog_t *log, const char *run_id, fed_run_t **run_p, fed_err_t *err)
{
    *run_p = NULL;
    if (!fed_run_id_valid (run_id, strlen (run_id)))
        return 0;
    char prefix [64];
    snprintf (prefix, sizeof prefix, "run/e/%s/", run_id);
    s_load_t load = {log, fed_run_new (run_id), 0};
    if (fed_evlog_view_scan (log, prefix, s_load_one, &load)) {
        fed_err_set (err, -1, "run %s: the run view could not be read", run_id);
        fed_run_destroy (&load.run);
        return -1;
    }
    if (!load.events) {
        fed_run_destroy (&load.run);
        return 0;
    }
    *run_p = load.run;
    return 1;
}
