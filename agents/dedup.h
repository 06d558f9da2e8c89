/*  agents/dedup.h: first-occurrence deduplication with bounded memory.

    data.clean drops rows whose key was seen before, keeping the first and
    the input's order, over tables larger than a task may hold. The caller
    hashes each row's key to 128 bits and asks check: while the set of seen
    hashes fits in half the budget, the answer is at once (new: write the
    row now; seen: drop it). Once the set is full, rows whose hash is not in
    it cannot be decided yet: the caller hands them over with their row
    number (spill), and they go to P partition files chosen by hash (P from
    the rows still expected, at most 256). finish then deduplicates each
    partition with an in-memory set (or, for a partition too big for one,
    by sorting it by hash and row), and an external sort by row number
    gives the survivors back in input order through next. Every row written
    before the set filled precedes every spilled row, so the caller's
    output is its direct rows followed by next's rows.

    Equal keys have equal hashes; different keys share one with chance
    about n^2 / 2^129 over n distinct keys (1.5e-21 for a billion), when
    one would be dropped as a duplicate wrongly.

    Files: DIR/dedup-P.part and the sort's DIR/dedup-N.run, all removed by
    finish or destroy.
*/
#ifndef FED_DEDUP_H_INCLUDED
#define FED_DEDUP_H_INCLUDED

#include "extsort.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _fed_dedup_t fed_dedup_t;

#define FED_DEDUP_HASH 16

//  Creates a deduplicator holding at most budget bytes (sets, buffers and
//  sort runs), spilling under dir; expected is the rows it will probably
//  see (0: unknown), used to size the partitions. Caller owns it.
fed_dedup_t *fed_dedup_new (const char *dir, size_t budget, uint64_t expected);

//  Removes every file it made and frees it. Accepts NULL; *self_p NULL.
void fed_dedup_destroy (fed_dedup_t **self_p);

//  A hook called during finish's long phases (may be NULL); false stops it.
void fed_dedup_set_hook (fed_dedup_t *self, fed_extsort_hook_fn hook, void *arg);

//  Decides one row by its key's hash: 1 the key is new (write the row
//  now), 0 a duplicate (drop it), 2 undecided: pass the row to
//  fed_dedup_spill. Never fails.
int fed_dedup_check (fed_dedup_t *self, const uint8_t *hash);

//  Starts fetching the set's slot for hash into the cache, for a check a
//  little later. Never fails; does nothing once spilling.
void fed_dedup_prefetch (const fed_dedup_t *self, const uint8_t *hash);

//  Keeps an undecided row (its bytes, opaque here) with its row number,
//  which must grow from call to call. Returns 0, or -1 with errno.
int fed_dedup_spill (fed_dedup_t *self, const uint8_t *hash, uint64_t row, const void *data,
                     size_t size) FED_MUST_USE;

//  Decides every spilled row. Returns 0, or -1 with errno (ECANCELED from
//  the hook). Call once, after the last check.
int fed_dedup_finish (fed_dedup_t *self) FED_MUST_USE;

//  The spilled rows that are first occurrences, in row order, after
//  finish: 1 with one (bytes borrowed until the next call), 0 at the end,
//  -1 with errno.
int fed_dedup_next (fed_dedup_t *self, const void **data, size_t *size) FED_MUST_USE;

//  Rows found duplicate so far (all of them after finish).
uint64_t fed_dedup_duplicates (const fed_dedup_t *self);

//  Files written: partitions and sort runs (0 when it all fit in memory).
uint64_t fed_dedup_files (const fed_dedup_t *self);

#ifdef __cplusplus
}
#endif
#endif
