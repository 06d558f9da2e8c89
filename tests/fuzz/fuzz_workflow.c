/*  tests/fuzz/fuzz_workflow.c: libFuzzer target for the workflow parser
    (node/workflow.h).

    Every byte string is a possible workflow file or workflow.publish
    argument, so fed_workflow_parse must either refuse it with at least one
    error, each pointing inside the text, or return a model that keeps its
    promises: at least one step; ids unique and found by
    fed_workflow_step_find; every need and every step reference a valid
    index; the order a permutation with every step after its needs and
    every referred-to step before the step that refers to it; each step's
    `with` one msgpack map; the hash BLAKE2b-256 of the bytes. Parsing the
    same bytes again gives the same answer (no hidden state).

    The checks are invariants of the parser, so a violation aborts: that is
    what the fuzzer reports. fed_fuzz_workflow is the target; the libFuzzer
    entry point is compiled in unless FED_FUZZ_SMOKE is defined, so
    fuzz_smoke can link this file next to the others.
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpread.h"
#include "workflow.h"

int fed_fuzz_workflow (const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf (stderr, "fuzz_workflow: %s:%d: invariant failed: %s\n", __FILE__, __LINE__,   \
                     #cond);                                                                       \
            abort ();                                                                              \
        }                                                                                          \
    } while (0)

//  Small limits, so that the fuzzer also meets them.
static const fed_workflow_limits_t s_limits = {65536, 200};

//  An upper bound on the lines libyaml sees: it breaks lines at LF, CR,
//  NEL (C2 85), LS and PS (E2 80 A8/A9).
static size_t
s_lines (const uint8_t *data, size_t size)
{
    size_t lines = 1;
    for (size_t i = 0; i < size; i++)
        lines += data [i] == '\n' || data [i] == '\r' || data [i] == 0x85 || data [i] == 0xa8
            || data [i] == 0xa9;
    return lines;
}

static void
s_check_model (const fed_workflow_t *wf, const uint8_t *data, size_t size)
{
    size_t count = fed_workflow_step_count (wf);
    CHECK (count >= 1 && count <= s_limits.workflow_steps);
    CHECK (fed_workflow_name_valid (fed_workflow_name (wf), strlen (fed_workflow_name (wf))));
    CHECK (
        fed_workflow_version_valid (fed_workflow_version (wf), strlen (fed_workflow_version (wf))));
    uint8_t hash [32];
    fed_workflow_hash_text (data, size, hash);
    CHECK (memcmp (hash, fed_workflow_hash (wf), 32) == 0);
    size_t source_size;
    const char *source = fed_workflow_source (wf, &source_size);
    CHECK (source_size == size && memcmp (source, data, size) == 0 && source [size] == 0);
    //  The order is a permutation; position [i] is where step i is in it.
    size_t *position = (size_t *) calloc (count, sizeof (size_t));
    CHECK (position);
    for (size_t i = 0; i < count; i++)
        position [i] = SIZE_MAX;
    for (size_t k = 0; k < count; k++) {
        size_t step = fed_workflow_order (wf) [k];
        CHECK (step < count && position [step] == SIZE_MAX);
        position [step] = k;
    }
    for (size_t i = 0; i < count; i++) {
        const fed_wf_step_t *step = fed_workflow_step (wf, i);
        CHECK (step->id && *step->id && fed_workflow_step_find (wf, step->id) == i);
        CHECK (step->agent && (*step->agent || step->hitl.enabled));
        for (size_t k = 0; k < step->need_count; k++) {
            CHECK (step->needs [k] < count && step->needs [k] != i);
            CHECK (position [step->needs [k]] < position [i]);
        }
        for (size_t k = 0; k < step->ref_count; k++) {
            const fed_wf_ref_t *ref = &step->refs [k];
            CHECK (ref->name);
            if (ref->is_step)
                CHECK (ref->step < count && position [ref->step] < position [i]);
            else
                CHECK (fed_workflow_param_find (wf, ref->name));
        }
        fed_mpr_t reader;
        fed_mpr_init (&reader, step->with, step->with_size);
        CHECK (fed_mpr_peek (&reader) == FED_MP_MAP);
        CHECK (fed_mpr_skip (&reader, NULL) == 0 && fed_mpr_done (&reader));
        CHECK (step->retries <= FED_WORKFLOW_RETRIES_MAX);
        CHECK (step->backoff.initial_ms >= 1 && step->backoff.max_ms >= step->backoff.initial_ms);
        CHECK (step->hitl.min_approvals >= 1);
        if (step->near.given)
            CHECK (step->near.within_km > 0);
    }
    for (size_t i = 0; i < fed_workflow_param_count (wf); i++) {
        const fed_wf_param_t *param = fed_workflow_param (wf, i);
        CHECK (param->type >= FED_WF_STRING && param->type <= FED_WF_MAP);
        CHECK (!(param->required && param->fallback));
        if (param->fallback) {
            fed_mpr_t reader;
            fed_mpr_init (&reader, param->fallback, param->fallback_size);
            CHECK (fed_mpr_skip (&reader, NULL) == 0 && fed_mpr_done (&reader));
        }
    }
    free (position);
}

int
fed_fuzz_workflow (const uint8_t *data, size_t size)
{
    fed_wf_errors_t *errors = fed_wf_errors_new ();
    fed_workflow_t *wf = fed_workflow_parse ((const char *) data, size, "fuzz", &s_limits, errors);
    size_t count = fed_wf_errors_count (errors), lines = s_lines (data, size);
    if (!wf) {
        CHECK (count >= 1 && count <= FED_WORKFLOW_ERRORS_MAX + 1);
        for (size_t i = 0; i < count; i++) {
            CHECK (strncmp (fed_wf_errors_text (errors, i), "fuzz:", 5) == 0);
            //  Positions point inside the text (libyaml may point just past
            //  its end, on the line after the last newline).
            CHECK (fed_wf_errors_line (errors, i) <= lines + 1);
        }
    } else {
        CHECK (count == 0);
        s_check_model (wf, data, size);
    }
    //  The same bytes, the same answer.
    fed_wf_errors_t *again_errors = fed_wf_errors_new ();
    fed_workflow_t *again =
        fed_workflow_parse ((const char *) data, size, "fuzz", &s_limits, again_errors);
    CHECK ((again == NULL) == (wf == NULL));
    CHECK (fed_wf_errors_count (again_errors) == count);
    for (size_t i = 0; i < count; i++)
        CHECK (strcmp (fed_wf_errors_text (errors, i), fed_wf_errors_text (again_errors, i)) == 0);
    if (wf)
        CHECK (fed_workflow_step_count (again) == fed_workflow_step_count (wf));
    fed_workflow_destroy (&again);
    fed_wf_errors_destroy (&again_errors);
    fed_workflow_destroy (&wf);
    fed_wf_errors_destroy (&errors);
    return 0;
}

#ifndef FED_FUZZ_SMOKE
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    return fed_fuzz_workflow (data, size);
}
#endif
