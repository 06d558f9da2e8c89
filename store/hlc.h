/*  store/hlc.h: a hybrid logical clock.

    Timestamps are (wall milliseconds << 16) | counter: they sort like wall
    time, never go backwards on one node, and move past every timestamp the
    node has seen from others, so last-writer-wins registers order causally
    related writes correctly even across skewed clocks. A remote timestamp
    more than max_drift_ms ahead of our wall clock is not adopted (a node
    with a broken clock must not drag the cluster into the future); the
    event carrying it is still stored.
*/
#ifndef FED_HLC_H_INCLUDED
#define FED_HLC_H_INCLUDED

#include "util.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    uint64_t last;        //  highest timestamp issued or adopted
    int64_t max_drift_ms; //  remote clocks further ahead are not adopted
} fed_hlc_t;

//  Starts a clock at the persisted high-water mark (0 if none).
void fed_hlc_init (fed_hlc_t *self, uint64_t high_water, int64_t max_drift_ms);
//  A new local timestamp, greater than every earlier one.
uint64_t fed_hlc_now (fed_hlc_t *self, int64_t wall_ms);
//  Takes in a timestamp seen on a remote event. Returns true if adopted.
bool fed_hlc_observe (fed_hlc_t *self, uint64_t remote, int64_t wall_ms);
//  Milliseconds part of a timestamp.
int64_t fed_hlc_ms (uint64_t hlc);

#ifdef __cplusplus
}
#endif
#endif
