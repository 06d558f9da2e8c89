/*  tests/bench/benchutil.h: what the bench programs share for timing and
    summarising samples. Header-only (static functions), like
    tests/unit/testutil.h: each bench program is one file plus this.
*/
#ifndef FED_BENCHUTIL_H_INCLUDED
#define FED_BENCHUTIL_H_INCLUDED

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

//  Monotonic nanoseconds.
static inline int64_t
fed_bench_now_ns (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline int
fed_bench_compare (const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return x < y ? -1 : x > y;
}

//  Sorts count samples (count ≥ 1) in place and returns their median.
static inline double
fed_bench_median (double *samples, size_t count)
{
    qsort (samples, count, sizeof (double), fed_bench_compare);
    return count % 2 ? samples [count / 2] : (samples [count / 2 - 1] + samples [count / 2]) / 2;
}

//  Sorts samples and gives their median and 99th percentile (the sample at
//  floor((count - 1) · 0.99)).
static inline void
fed_bench_stats (double *samples, size_t count, double *median, double *p99)
{
    *median = fed_bench_median (samples, count);
    *p99 = samples [(size_t) ((double) (count - 1) * 0.99)];
}

#endif
