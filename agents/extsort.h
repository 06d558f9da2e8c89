/*  agents/extsort.h: an external sort with bounded memory.

    The data agents need exact order statistics (medians, quantiles, modes)
    and an order-restoring merge over more values than a task may hold. A
    sorter takes records one at a time, keeps them in memory up to its
    budget, and past it sorts what it holds into a run file; at the end it
    merges the runs (several levels when there are more than it can open at
    once) and hands the records back in order. When nothing spilled, the
    records are sorted in memory and no file is made.

    Two kinds of records:
      - keys (width 8): unsigned 64-bit integers, sorted numerically with a
        radix sort. fed_extsort_key_double maps doubles onto keys that sort
        in numeric order, for numeric columns.
      - strings (width 0): byte strings up to 4 GiB, sorted by memcmp, a
        prefix before the longer string. Records that start with a big-endian
        row number thus come back in row order.

    Memory: the records held, their index and the merge buffers stay within
    the budget (at least 64 KiB is used whatever the budget). Run files are
    DIR/PREFIX-N.run, removed as soon as they are merged and by destroy.
*/
#ifndef FED_EXTSORT_H_INCLUDED
#define FED_EXTSORT_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _fed_extsort_t fed_extsort_t;

//  Called every few thousand records during merges with the records merged
//  so far; returning false stops the sort (fed_extsort_sort returns -1 with
//  errno ECANCELED).
typedef bool (*fed_extsort_hook_fn) (void *arg, uint64_t done);

//  Creates a sorter of records of width 8 (keys) or 0 (strings), with run
//  files under dir named prefix-N.run. Never fails (files are made later).
//  Caller owns it and destroys it.
fed_extsort_t *fed_extsort_new (const char *dir, const char *prefix, size_t budget, size_t width);

//  Stops the sorter and removes its run files. Accepts NULL; sets *self_p
//  to NULL.
void fed_extsort_destroy (fed_extsort_t **self_p);

//  Sets a hook called during merges (may be NULL).
void fed_extsort_set_hook (fed_extsort_t *self, fed_extsort_hook_fn hook, void *arg);

//  Adds one key (width 8) or one string (width 0). Returns 0, or -1 with
//  errno set when a run could not be written. Only before fed_extsort_sort.
int fed_extsort_add_key (fed_extsort_t *self, uint64_t key) FED_MUST_USE;
int fed_extsort_add (fed_extsort_t *self, const void *data, size_t size) FED_MUST_USE;

//  Ends adding: sorts, merging runs down to one pass of reads. Returns 0,
//  or -1 with errno set (an I/O error, or ECANCELED from the hook).
int fed_extsort_sort (fed_extsort_t *self) FED_MUST_USE;

//  The next record in order, after fed_extsort_sort: 1 with it (a string's
//  bytes are borrowed until the next call), 0 at the end, -1 with errno on
//  a read error.
int fed_extsort_next_key (fed_extsort_t *self, uint64_t *key) FED_MUST_USE;
int fed_extsort_next (fed_extsort_t *self, const void **data, size_t *size) FED_MUST_USE;

//  Records added, and run files written so far (0: it all fit in memory).
uint64_t fed_extsort_count (const fed_extsort_t *self);
uint64_t fed_extsort_runs (const fed_extsort_t *self);

//  A key that sorts as the double does (-inf < ... < -0 < +0 < ... < inf;
//  NaNs are the caller's to keep out), and back.
uint64_t fed_extsort_key_double (double value);
double fed_extsort_double_key (uint64_t key);

#ifdef __cplusplus
}
#endif
#endif
