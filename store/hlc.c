/*  store/hlc.c: hybrid logical clock arithmetic. See hlc.h. */
#include "hlc.h"

void
fed_hlc_init (fed_hlc_t *self, uint64_t high_water, int64_t max_drift_ms)
{
    self->last = high_water;
    self->max_drift_ms = max_drift_ms;
}

uint64_t
fed_hlc_now (fed_hlc_t *self, int64_t wall_ms)
{
    uint64_t wall = (uint64_t) (wall_ms < 0 ? 0 : wall_ms) << 16;
    self->last = wall > self->last ? wall : self->last + 1;
    return self->last;
}

bool
fed_hlc_observe (fed_hlc_t *self, uint64_t remote, int64_t wall_ms)
{
    if (fed_hlc_ms (remote) > wall_ms + self->max_drift_ms)
        return false;
    if (remote > self->last)
        self->last = remote;
    return true;
}

int64_t
fed_hlc_ms (uint64_t hlc)
{
    return (int64_t) (hlc >> 16);
}
