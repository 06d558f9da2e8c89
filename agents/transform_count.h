/*  agents/transform_count.h: counting strings in bounded memory, for
    data.transform's vocabulary and one-hot categories.

    A counter fills a counting map (vocab.h) with the strings of an input
    far larger than memory. When the map is full its entries go to an
    external sort (extsort.h) as records and the map starts again; at the
    end the records of each string are merged (counts and documents summed)
    and the most frequent kept with a bounded heap. Only the kept entries
    must fit in memory, never every distinct string. When nothing spilled
    the counting map itself is frozen, and no file is made.

    Documents: each entry remembers the first and last document it was
    counted in, so a map may be emptied anywhere, even in the middle of a
    document; the merge subtracts the one document two windows share.
*/
#ifndef FED_TRANSFORM_COUNT_H_INCLUDED
#define FED_TRANSFORM_COUNT_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "extsort.h"
#include "util.h"
#include "vocab.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fed_xcount_t fed_xcount_t;

//  Creates a counter that may use budget bytes while counting: half for
//  the counting map, half for the sorter it spills into (which uses at
//  least 64 KiB whatever it is given). Spill files are DIR/PREFIX-N.run.
//  Never fails; caller owns it.
fed_xcount_t *fed_xcount_new (const char *dir, const char *prefix, uint64_t budget);

//  Destroys the counter and removes its spill files. Accepts NULL; sets
//  *self_p to NULL.
void fed_xcount_destroy (fed_xcount_t **self_p);

//  Sets a hook called every few thousand records while merging (may be
//  NULL); returning false stops the merge (ECANCELED).
void fed_xcount_set_hook (fed_xcount_t *self, fed_extsort_hook_fn hook, void *arg);

//  Counts one occurrence of len bytes at text in document doc (numbered
//  from 1, in rising order). Returns 0, or -1 with errno: ENOMEM when the
//  string alone is more than the counting map may hold, or an I/O error
//  from writing a spill file.
int fed_xcount_add (fed_xcount_t *self, const char *text, size_t len, uint64_t doc) FED_MUST_USE;

//  Bytes the counting map holds now, and how many times it was emptied
//  into the sorter.
uint64_t fed_xcount_bytes (const fed_xcount_t *self);
uint64_t fed_xcount_spills (const fed_xcount_t *self);

//  Ends counting. Keeps the strings counted at least min_count times, at
//  most max_size of them (0: no cap), preferring higher counts and then
//  smaller bytes, with ids 1, 2, ... in that order, exactly as
//  fed_vocab_freeze does. Returns a frozen map of at most keep bytes: the
//  counting map itself when nothing spilled and it fits (the strings not
//  kept are there with id 0), else a map of the kept entries only; either
//  way fed_vocab_find gives a kept string's id, and the map's kept entries
//  are those fed_vocab_freeze returned. Caller owns the map. Returns NULL
//  with errno: ENOMEM when the kept entries need more than keep bytes,
//  ECANCELED when the hook said stop, EIO for a spill file that does not
//  read back, or an I/O error. Spill files are removed either way. Call
//  once.
fed_vocab_t *fed_xcount_finish (fed_xcount_t *self, uint64_t min_count, uint64_t max_size,
                                uint64_t keep) FED_MUST_USE;

//  After fed_xcount_finish: the kept entries in id order (owned by the map
//  it returned), *kept set.
const fed_vocab_entry_t *const *fed_xcount_kept (const fed_xcount_t *self, size_t *kept);

//  After fed_xcount_finish: the distinct strings counted in all.
uint64_t fed_xcount_distinct (const fed_xcount_t *self);

#ifdef __cplusplus
}
#endif
#endif
