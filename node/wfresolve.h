/*  node/wfresolve.h: the values a workflow run works with: a run's params
    bound against the params the workflow declares, and the references in a
    step's `with` (and in hitl.message) replaced by the values they name.

    Pure functions over msgpack bytes: no state, no I/O, no threads of their
    own; the executor calls them as each step becomes ready. The parser
    (workflow.h) already checked every reference, but the values come from
    the run and from agents, so every read here is bounded (proto/mpread.h)
    and nothing in the input can crash or overrun: a value that is not what
    it should be is an error with a message a person can act on.

    References are found again in each string at resolve time, with the
    parser's grammar: ${params.NAME}, ${steps.ID.output} (the whole output)
    and ${steps.ID.output.K1.K2...} (a walk through nested maps); $${ writes
    a literal ${.

    Cost: binding is O((G + P) log G) for G given and P declared params.
    Each reference to a step output walks that output from its start
    (skipping siblings on the way), so resolving is O(with + refs * output).
*/
#ifndef FED_WFRESOLVE_H_INCLUDED
#define FED_WFRESOLVE_H_INCLUDED

#include <msgpack.h>

#include "workflow.h"

#ifdef __cplusplus
extern "C" {
#endif

//  Binds the params given to a run (given: one msgpack map, str keys; NULL/0 = none) against wf's
//  declared params: every declared param once, in declaration order, into out (a msgpack map,
//  appended; caller owns out). A given value of the declared type passes (a float param is always
//  packed as a float 64); a str given for an int/float/bool param is converted ("100" -> 100,
//  "2.5", "true"/"false"/"yes"/"no", any case), an int for a float param becomes a float; a missing
//  param takes its default (fallback), or nil when it has none and is not required. A required
//  missing one, an unknown name (with the nearest declared name, by edit distance, when close), a
//  name given twice, a value of another type (nil included), a str that does not convert ("12x",
//  "1e999", an int past 64 bits), a str for a list or map param (give those as JSON with --params),
//  or a given that is not one valid msgpack map fails. Returns 0, or -1 with out as it was and err
//  saying which param and why: every problem, joined with "; " (as many as fit in err->text, then
//  how many more).
int fed_wf_bind_params (const fed_workflow_t *wf, const uint8_t *given, size_t given_size,
                        msgpack_sbuffer *out, fed_err_t *err) FED_MUST_USE;

//  The output of an upstream step, as one msgpack map (borrowed: valid until the resolve call
//  returns), or NULL when not known.
typedef const uint8_t *(fed_wf_output_fn) (void *arg, size_t step_index, size_t *size_p);

//  Resolves the references in step's `with` (a msgpack map, step->with/with_size) into out
//  (appended; caller owns out): a string that is exactly one reference ("${params.n}") becomes the
//  referred value with its type and its bytes as they are (an int stays an int, a map stays a map);
//  a string with references among other text gets each reference's value written as text (str as
//  is, ints in decimal, floats in the fewest digits that read back the same (up to %.17g, "nan",
//  "inf"), bool true/false, nil as "", arrays, maps, bin and ext as compact JSON (proto/json.h));
//  "$${" writes a literal "${". Map keys are not resolved. ${steps.ID.output} is the whole output;
//  ${steps.ID.output.a.b} walks nested maps. params: the bound params map (fed_wf_bind_params).
//  outputs/arg: how to read an upstream output. max_size: the most bytes the resolved map may take
//  (SIZE_MAX: no limit). Returns 0, or -1 with out as it was and err, which starts "step 'ID':
//  with.KEY: ${REF}: ": a step output not known, a key not in it (naming the step and the path, and
//  listing up to 10 keys the map there has), a path through a non-map, a param not in params, a
//  malformed with, params or output, a result over max_size bytes or nested deeper than 32 levels.
int fed_wf_resolve_with (const fed_workflow_t *wf, size_t step_index, const uint8_t *params,
                         size_t params_size, fed_wf_output_fn *outputs, void *arg, size_t max_size,
                         msgpack_sbuffer *out, fed_err_t *err) FED_MUST_USE;

//  The same for a text with references (hitl.message): every reference is written as text, even one
//  that is the whole text. Returns the text, NUL-terminated (caller owns it and frees it with
//  free ()), or NULL with err ("${REF}: why", as fed_wf_resolve_with). text NULL is "". A value
//  holding a NUL byte ends the text there for a C reader. No size limit: the text grows with the
//  values it refers to.
char *fed_wf_resolve_text (const fed_workflow_t *wf, const char *text, const uint8_t *params,
                           size_t params_size, fed_wf_output_fn *outputs, void *arg,
                           fed_err_t *err);

#ifdef __cplusplus
}
#endif
#endif
