/*  agents/vocab.h: a counting map of byte strings under a memory budget.

    data.transform counts tokens for its vocabulary and a column's values for
    one-hot categories; both are unbounded input, so the map counts what it
    holds (every entry, its bytes, the slot array) and refuses a new string
    that would take it over its budget rather than grow without end. Nothing
    is ever pruned: the caller (transform_count.h) empties a full map into an
    external sort and starts it again, and merges the spilled counts at the
    end, so a vocabulary is always the one the whole input gives.

    Each entry counts occurrences and documents (the number of distinct
    documents it appears in, given that documents are numbered in rising
    order) and remembers its first and last document, so the counts of two
    maps filled one after the other add up exactly. It gets an id when the
    map is frozen.
*/
#ifndef FED_VOCAB_H_INCLUDED
#define FED_VOCAB_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fed_vocab_t fed_vocab_t;

//  One entry, owned by the map (read-only to callers).
typedef struct {
    uint64_t count;    //  occurrences added
    uint64_t docs;     //  distinct documents it occurred in
    uint64_t last_doc; //  the last document counted (for docs)
    union {
        uint64_t first_doc; //  while counting: the document it was added in
        uint64_t id;        //  once frozen or put: 1.. for kept entries, 0 for the rest
    };
    uint32_t hash; //  FNV-1a of text
    uint32_t len;  //  bytes of text
    char text [];  //  NUL-terminated
} fed_vocab_entry_t;

//  Creates an empty map that may hold budget bytes. Caller owns it.
fed_vocab_t *fed_vocab_new (uint64_t budget);

//  Destroys the map and its entries. Accepts NULL; sets *self_p to NULL.
void fed_vocab_destroy (fed_vocab_t **self_p);

//  Counts one occurrence of len bytes at text in document doc (documents
//  numbered from 1, added in rising order). Returns 0, or -1 when the
//  string is new and would take the map over its budget (nothing changes).
int fed_vocab_add (fed_vocab_t *self, const char *text, size_t len, uint64_t doc) FED_MUST_USE;

//  Adds an entry with the counts and id given (a vocabulary read back from
//  a fitted file). Returns 0, or -1 over the budget or if text is there.
int fed_vocab_put (fed_vocab_t *self, const char *text, size_t len, uint64_t count, uint64_t docs,
                   uint64_t id) FED_MUST_USE;

//  The entry for len bytes at text, or NULL. Owned by the map.
const fed_vocab_entry_t *fed_vocab_find (const fed_vocab_t *self, const char *text, size_t len);

//  Number of entries, and bytes held (what the budget is checked against).
size_t fed_vocab_size (const fed_vocab_t *self);
uint64_t fed_vocab_bytes (const fed_vocab_t *self);

//  The bytes a map holding entries strings of text_bytes bytes in all
//  counts, exactly as fed_vocab_bytes would: the entries fit a budget of
//  that many bytes and no fewer.
uint64_t fed_vocab_bytes_for (size_t entries, uint64_t text_bytes);

//  Walks the entries in no particular order: *cursor starts at 0; returns
//  the next entry (owned by the map), or NULL at the end. The map must not
//  change during the walk.
const fed_vocab_entry_t *fed_vocab_next (const fed_vocab_t *self, size_t *cursor);

//  Drops every entry (and any freeze): the map is as new, budget and all.
void fed_vocab_clear (fed_vocab_t *self);

//  Keeps the entries counted at least min_count times, at most max_size of
//  them (0: no cap), preferring higher counts and then smaller bytes
//  (memcmp, shorter first on a tie); gives them ids 1, 2, … in that order
//  and every other entry id 0. Returns the kept entries in id order
//  (entry [i] has id i + 1), *kept set; the array is owned by the map,
//  valid until it is destroyed or frozen again.
const fed_vocab_entry_t *const *fed_vocab_freeze (fed_vocab_t *self, uint64_t min_count,
                                                  uint64_t max_size, size_t *kept);

//  Takes the ids fed_vocab_put gave (1 to the map's size, each once) as a
//  freeze: returns the entries in id order, *kept set, as fed_vocab_freeze
//  does. Ids that are not 1..size, each once, are a bug (abort).
const fed_vocab_entry_t *const *fed_vocab_freeze_ids (fed_vocab_t *self, size_t *kept);

//  Re-numbers the kept entries of the last freeze in byte order (memcmp,
//  shorter first on a tie): entry [i] gets id i + 1. Returns them, *kept
//  set, as fed_vocab_freeze does (no entries before a freeze).
const fed_vocab_entry_t *const *fed_vocab_sort_bytes (fed_vocab_t *self, size_t *kept);

//  Orders two entries by their bytes (memcmp, then the shorter first), as
//  qsort wants pointers to entry pointers.
int fed_vocab_cmp_bytes (const void *a, const void *b);

#ifdef __cplusplus
}
#endif
#endif
