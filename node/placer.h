/*  node/placer.h: the placement candidates of a cluster, as this node sees
    it: every registered agent with its node's membership state and the
    location that applies to it (its own, else its node's), ready for
    fed_placement_decide (node/placement.h), which stays a pure function.

    The coordinator loads the candidates once per round of decisions (the
    registry and the membership change between rounds, not within one) and
    places any number of steps against them.
*/
#ifndef FED_PLACER_H_INCLUDED
#define FED_PLACER_H_INCLUDED

#include <czmq.h>
#include "evlog.h"
#include "placement.h"
#include "swim.h"

typedef struct fed_placer_t fed_placer_t;

//  Loads the registry from log, with each hosting node's state from swim
//  (self is alive; a node swim does not know is unknown, so not live).
//  swim may be NULL (every other node unknown). Returns NULL with err on
//  a storage error. Caller owns the result.
fed_placer_t *fed_placer_load (fed_evlog_t *log, fed_swim_t *swim, const uint8_t self [32],
                               fed_err_t *err);
void fed_placer_destroy (fed_placer_t **self_p);

//  Places step: 0 with result filled (placed, *node_p the chosen node, or
//  why the step waits), or -1 with err for a malformed step.
//  active (may be NULL) maps a node's 64-hex id to its count of active
//  steps (a uintptr_t in the value).
int fed_placer_place (fed_placer_t *self, const fed_placement_step_t *step, zhashx_t *active,
                      fed_placement_result_t *result, uint8_t node [32],
                      fed_err_t *err) FED_MUST_USE;

//  Candidates loaded.
size_t fed_placer_size (fed_placer_t *self);

#endif
