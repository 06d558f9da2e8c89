/*  tests/fuzz/fuzz_runs.c: libFuzzer target for run event bodies
    (node/runs.h): the bodies of run.* and step.* events, which arrive from
    other nodes and are folded by every node.

    The first byte picks the event type and the writer (one of four fixed
    keys); the rest is the body, unchecked. fed_rev_decode_body must refuse
    it with a message or return a record that keeps its promises: a valid
    run id, the fields its type requires present, strings NUL-free within
    their limits. A record is then filed into a run that already holds a
    few events from the same writers, and the run's derived state is read
    (every step, its attempts and votes, the run's state): nothing a body
    holds may break the derivation.

    fed_fuzz_runs is the target; the libFuzzer entry point is compiled in
    unless FED_FUZZ_SMOKE is defined.
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runs.h"

int fed_fuzz_runs (const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf (stderr, "fuzz_runs: %s:%d: invariant failed: %s\n", __FILE__, __LINE__,       \
                     #cond);                                                                       \
            abort ();                                                                              \
        }                                                                                          \
    } while (0)

#define RUN "0123456789abcdef"

static void
s_check_text (const char *text, size_t max)
{
    if (text)
        CHECK (strlen (text) <= max);
}

//  A run holding a start, an assignment to writer 1 and an awaiting gate,
//  all by writer 0 (the coordinator).
static fed_run_t *
s_base_run (const uint8_t writers [4][32])
{
    fed_run_t *run = fed_run_new (RUN);
    msgpack_sbuffer b;
    uint8_t hash [32] = {1};
    fed_err_t err;
    msgpack_sbuffer_init (&b);
    fed_rev_pack_run_started (&b, RUN, "w", "1", hash, "\x80", 1, writers [3]);
    fed_rev_t *rev = fed_rev_decode_body (FED_REV_RUN_STARTED, writers [0], 1 << 16,
                                          (const uint8_t *) b.data, b.size, &err);
    CHECK (rev);
    fed_run_add (run, &rev);
    msgpack_sbuffer_clear (&b);
    fed_rev_pack_assigned (&b, RUN, "a", 1, writers [1], "sys.echo", "\x80", 1, 1000, "first");
    rev = fed_rev_decode_body (FED_REV_STEP_ASSIGNED, writers [0], 2 << 16,
                               (const uint8_t *) b.data, b.size, &err);
    CHECK (rev);
    fed_run_add (run, &rev);
    msgpack_sbuffer_clear (&b);
    fed_rev_pack_awaiting (&b, RUN, "gate", "ok?", NULL, 0, 2, true, NULL, 0, 5, "reject");
    rev = fed_rev_decode_body (FED_REV_STEP_AWAITING, writers [0], 3 << 16,
                               (const uint8_t *) b.data, b.size, &err);
    CHECK (rev);
    fed_run_add (run, &rev);
    msgpack_sbuffer_destroy (&b);
    return run;
}

int
fed_fuzz_runs (const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t writers [4][32];
    for (int w = 0; w < 4; w++)
        memset (writers [w], 0x10 + w, 32);
    fed_rev_type_t type = (fed_rev_type_t) (1 + data [0] % (FED_REV_TYPES - 1));
    const uint8_t *writer = writers [(data [0] >> 4) & 3];
    fed_err_t err = {0};
    fed_rev_t *rev = fed_rev_decode_body (type, writer, 4 << 16, data + 1, size - 1, &err);
    if (!rev) {
        CHECK (err.text [0] != 0);
        return 0;
    }
    CHECK (rev->type == type);
    CHECK (fed_run_id_valid (rev->run, strlen (rev->run)));
    if (type != FED_REV_RUN_STARTED && type != FED_REV_RUN_COMPLETED
        && type != FED_REV_RUN_CANCELLED && type != FED_REV_RUN_CANCEL_REQUESTED
        && type != FED_REV_RUN_FAILED)
        CHECK (rev->step && *rev->step && strlen (rev->step) <= 64);
    if (type == FED_REV_STEP_ASSIGNED || type == FED_REV_STEP_STARTED
        || type == FED_REV_STEP_COMPLETED || type == FED_REV_STEP_FAILED)
        CHECK (rev->attempt >= 1);
    if (type == FED_REV_STEP_ASSIGNED)
        CHECK (rev->has_node && rev->agent && rev->params && rev->why);
    if (type == FED_REV_STEP_COMPLETED)
        CHECK (rev->output && rev->output_size >= 1);
    if (type == FED_REV_STEP_REJECTED)
        CHECK (rev->text && *rev->text);
    CHECK (rev->approver_count <= 64 && rev->value_count <= 64 && rev->voter_count <= 64);
    s_check_text (rev->code, 64);
    s_check_text (rev->text, 4 * 1024);
    s_check_text (rev->value, 256);
    //  File it (when it is this run's) and read everything derived.
    fed_run_t *run = s_base_run (writers);
    bool ours = strcmp (rev->run, RUN) == 0;
    int added = fed_run_add (run, &rev);
    CHECK (rev == NULL);
    CHECK (ours || added == 0);
    size_t count = 0;
    const fed_run_step_t **steps = fed_run_steps (run, &count);
    for (size_t k = 0; k < count; k++) {
        const fed_run_step_t *st = steps [k];
        CHECK (st->id && *st->id);
        for (size_t a = 0; a < st->attempt_count; a++) {
            CHECK (st->attempts [a].assigned);
            CHECK (memcmp (st->attempts [a].assigned->origin, writers [0], 32) == 0);
            if (a)
                CHECK (st->attempts [a].attempt > st->attempts [a - 1].attempt);
            (void) fed_attempt_state (&st->attempts [a]);
        }
        for (size_t v = 1; v < st->vote_count; v++)
            CHECK (st->votes [v - 1]->hlc <= st->votes [v]->hlc);
        (void) fed_run_step_latest (st);
    }
    free (steps);
    const fed_rev_t *end = NULL;
    fed_run_state_t state = fed_run_state (run, &end);
    CHECK (state == FED_RUN_RUNNING || (end && memcmp (end->origin, writers [0], 32) == 0));
    CHECK (memcmp (fed_run_coordinator (run), writers [0], 32) == 0);
    fed_run_destroy (&run);
    return 0;
}

#ifndef FED_FUZZ_SMOKE
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);
int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    return fed_fuzz_runs (data, size);
}
#endif
