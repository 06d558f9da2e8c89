/*  agents/transform_count.c: counting strings with spills to an external
    sort (transform_count.h).

    A spilled entry is one string record:

        [u32 length][bytes][u64 first_doc][u64 last_doc][u64 count][u64 docs]

    all big-endian. The length comes first so that the records of one
    string sort next to each other whatever bytes it holds (one-hot values
    may hold NULs), and first_doc next so that they come back in the order
    the windows were filled. Windows follow one another in document order,
    so two consecutive windows of a string share a document exactly when
    the first's last_doc is the second's first_doc; that document was
    counted twice and is taken off once.

    The merge keeps the best max_size strings in a min-heap whose top is
    the worst kept (lowest count, then greatest bytes), charging each kept
    string what it will cost in the final map (fed_vocab_bytes_for), so the
    heap never holds more than the map that comes out of it may.
*/
#include "transform_count.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define RECORD_FIXED (4 + 4 * 8)
#define HOOK_EVERY 65536

//  One kept string in the heap.
typedef struct {
    uint64_t count; //  occurrences
    uint64_t docs;  //  documents
    uint32_t len;   //  bytes of text
    char text [];   //  not terminated
} s_item_t;

struct fed_xcount_t {
    fed_vocab_t *map;         //  the counting map of this window
    fed_extsort_t *sort;      //  the spilled windows
    uint64_t spills;          //  windows spilled
    uint8_t *record;          //  a record being built (owned)
    size_t record_cap;        //  bytes at record
    fed_extsort_hook_fn hook; //  called while merging, or NULL
    void *hook_arg;           //  its argument
    //  The merge
    s_item_t **heap;                      //  the kept strings, worst on top (owned)
    size_t heap_count, heap_cap;          //  held, allocated
    uint64_t heap_text;                   //  bytes of text held
    uint64_t distinct;                    //  distinct strings counted
    const fed_vocab_entry_t *const *kept; //  after finish: the kept entries by id
    size_t kept_count;                    //  how many
};

fed_xcount_t *
fed_xcount_new (const char *dir, const char *prefix, uint64_t budget)
{
    fed_xcount_t *self = (fed_xcount_t *) fed_calloc (1, sizeof *self);
    self->map = fed_vocab_new (budget / 2);
    self->sort = fed_extsort_new (dir, prefix, (size_t) (budget / 2), 0);
    return self;
}

static void
s_heap_free (fed_xcount_t *self)
{
    for (size_t i = 0; i < self->heap_count; i++)
        free (self->heap [i]);
    free (self->heap);
    self->heap = NULL;
    self->heap_count = self->heap_cap = 0;
}

void
fed_xcount_destroy (fed_xcount_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    fed_xcount_t *self = *self_p;
    fed_vocab_destroy (&self->map);
    fed_extsort_destroy (&self->sort);
    s_heap_free (self);
    free (self->record);
    free (self);
    *self_p = NULL;
}

void
fed_xcount_set_hook (fed_xcount_t *self, fed_extsort_hook_fn hook, void *arg)
{
    self->hook = hook;
    self->hook_arg = arg;
    if (self->sort)
        fed_extsort_set_hook (self->sort, hook, arg);
}

static void
s_put_be (uint8_t *at, uint64_t value, int bytes)
{
    for (int i = bytes - 1; i >= 0; i--) {
        at [i] = (uint8_t) value;
        value >>= 8;
    }
}

static uint64_t
s_get_be (const uint8_t *at, int bytes)
{
    uint64_t value = 0;
    for (int i = 0; i < bytes; i++)
        value = value << 8 | at [i];
    return value;
}

//  Empties the counting map into the sorter. Returns 0, or -1 with errno.
static int
s_spill (fed_xcount_t *self)
{
    size_t cursor = 0;
    const fed_vocab_entry_t *e;
    while ((e = fed_vocab_next (self->map, &cursor))) {
        size_t size = RECORD_FIXED + e->len;
        if (size > self->record_cap) {
            self->record_cap = size * 2;
            self->record = (uint8_t *) fed_realloc (self->record, self->record_cap);
        }
        s_put_be (self->record, e->len, 4);
        memcpy (self->record + 4, e->text, e->len);
        uint8_t *at = self->record + 4 + e->len;
        s_put_be (at, e->first_doc, 8);
        s_put_be (at + 8, e->last_doc, 8);
        s_put_be (at + 16, e->count, 8);
        s_put_be (at + 24, e->docs, 8);
        if (fed_extsort_add (self->sort, self->record, size))
            return -1;
    }
    fed_vocab_clear (self->map);
    self->spills++;
    return 0;
}

int
fed_xcount_add (fed_xcount_t *self, const char *text, size_t len, uint64_t doc)
{
    if (fed_vocab_add (self->map, text, len, doc) == 0)
        return 0;
    //  Full: a fresh map takes the string, unless nothing else was there.
    if (fed_vocab_size (self->map) == 0) {
        errno = ENOMEM;
        return -1;
    }
    if (s_spill (self))
        return -1;
    if (fed_vocab_add (self->map, text, len, doc)) {
        errno = ENOMEM;
        return -1;
    }
    return 0;
}

uint64_t
fed_xcount_bytes (const fed_xcount_t *self)
{
    return self->map ? fed_vocab_bytes (self->map) : 0;
}

uint64_t
fed_xcount_spills (const fed_xcount_t *self)
{
    return self->spills;
}

//  --- The merge ---------------------------------------------------------------

//  Whether a is worse than b: fewer occurrences, or as many and greater
//  bytes (memcmp, then the longer), as fed_vocab_freeze ranks them.
static bool
s_worse (const s_item_t *a, uint64_t b_count, const char *b_text, uint32_t b_len)
{
    if (a->count != b_count)
        return a->count < b_count;
    int c = memcmp (a->text, b_text, a->len < b_len ? a->len : b_len);
    if (c)
        return c > 0;
    return a->len > b_len;
}

static bool
s_item_worse (const s_item_t *a, const s_item_t *b)
{
    return s_worse (a, b->count, b->text, b->len);
}

static void
s_sift_down (fed_xcount_t *self, size_t at)
{
    while (true) {
        size_t worst = at, left = 2 * at + 1, right = left + 1;
        if (left < self->heap_count && s_item_worse (self->heap [left], self->heap [worst]))
            worst = left;
        if (right < self->heap_count && s_item_worse (self->heap [right], self->heap [worst]))
            worst = right;
        if (worst == at)
            return;
        s_item_t *swap = self->heap [at];
        self->heap [at] = self->heap [worst];
        self->heap [worst] = swap;
        at = worst;
    }
}

static void
s_sift_up (fed_xcount_t *self, size_t at)
{
    while (at > 0) {
        size_t parent = (at - 1) / 2;
        if (!s_item_worse (self->heap [at], self->heap [parent]))
            return;
        s_item_t *swap = self->heap [at];
        self->heap [at] = self->heap [parent];
        self->heap [parent] = swap;
        at = parent;
    }
}

static s_item_t *
s_item_new (const char *text, uint32_t len, uint64_t count, uint64_t docs)
{
    s_item_t *item = (s_item_t *) fed_malloc (sizeof (s_item_t) + len);
    item->count = count;
    item->docs = docs;
    item->len = len;
    memcpy (item->text, text, len);
    return item;
}

//  Offers one string's totals to the heap. Returns 0, or -1 with errno
//  ENOMEM when keeping it would take the final map past keep bytes.
static int
s_offer (fed_xcount_t *self, const char *text, uint32_t len, uint64_t count, uint64_t docs,
         uint64_t min_count, uint64_t max_size, uint64_t keep)
{
    self->distinct++;
    if (count < min_count)
        return 0;
    if (max_size == 0 || self->heap_count < max_size) {
        if (fed_vocab_bytes_for (self->heap_count + 1, self->heap_text + len) > keep) {
            errno = ENOMEM;
            return -1;
        }
        if (self->heap_count == self->heap_cap) {
            self->heap_cap = self->heap_cap ? self->heap_cap * 2 : 256;
            if (max_size && self->heap_cap > max_size)
                self->heap_cap = (size_t) max_size;
            self->heap =
                (s_item_t **) fed_realloc (self->heap, self->heap_cap * sizeof (s_item_t *));
        }
        self->heap [self->heap_count++] = s_item_new (text, len, count, docs);
        self->heap_text += len;
        s_sift_up (self, self->heap_count - 1);
        return 0;
    }
    s_item_t *top = self->heap [0];
    if (!s_worse (top, count, text, len))
        return 0;
    if (fed_vocab_bytes_for (self->heap_count, self->heap_text - top->len + len) > keep) {
        errno = ENOMEM;
        return -1;
    }
    self->heap_text = self->heap_text - top->len + len;
    free (top);
    self->heap [0] = s_item_new (text, len, count, docs);
    s_sift_down (self, 0);
    return 0;
}

//  Reads the sorted records back, summing each string's, and offers each
//  string's totals. Returns 0, or -1 with errno.
static int
s_merge (fed_xcount_t *self, uint64_t min_count, uint64_t max_size, uint64_t keep)
{
    if (fed_extsort_sort (self->sort))
        return -1;
    char *text = NULL; //  the current string (owned)
    size_t cap = 0;
    uint32_t len = 0;
    uint64_t count = 0, docs = 0, last = 0, done = 0;
    bool have = false;
    const void *data;
    size_t size;
    int rc;
    while ((rc = fed_extsort_next (self->sort, &data, &size)) == 1) {
        const uint8_t *record = (const uint8_t *) data;
        uint32_t record_len = size >= RECORD_FIXED ? (uint32_t) s_get_be (record, 4) : 0;
        if (size < RECORD_FIXED || size - RECORD_FIXED != record_len) {
            errno = EIO;
            goto err;
        }
        const uint8_t *at = record + 4 + record_len;
        uint64_t first_doc = s_get_be (at, 8), last_doc = s_get_be (at + 8, 8);
        uint64_t record_count = s_get_be (at + 16, 8), record_docs = s_get_be (at + 24, 8);
        if (have && record_len == len && memcmp (text, record + 4, len) == 0) {
            count += record_count;
            docs += record_docs - (first_doc == last ? 1 : 0);
            last = last_doc;
        } else {
            if (have && s_offer (self, text, len, count, docs, min_count, max_size, keep))
                goto err;
            if (record_len > cap) {
                cap = record_len * 2;
                text = (char *) fed_realloc (text, cap);
            }
            memcpy (text, record + 4, record_len);
            len = record_len;
            count = record_count;
            docs = record_docs;
            last = last_doc;
            have = true;
        }
        if (++done % HOOK_EVERY == 0 && self->hook && !self->hook (self->hook_arg, done)) {
            errno = ECANCELED;
            goto err;
        }
    }
    if (rc == -1)
        goto err;
    if (have && s_offer (self, text, len, count, docs, min_count, max_size, keep))
        goto err;
    free (text);
    return 0;
err:
    free (text);
    return -1;
}

fed_vocab_t *
fed_xcount_finish (fed_xcount_t *self, uint64_t min_count, uint64_t max_size, uint64_t keep)
{
    assert (self->map && self->sort); //  finish is called once
    fed_vocab_t *map = NULL;
    int saved;
    if (fed_extsort_count (self->sort) == 0 && fed_vocab_bytes (self->map) <= keep) {
        map = self->map;
        self->map = NULL;
        self->distinct = fed_vocab_size (map);
        self->kept = fed_vocab_freeze (map, min_count, max_size, &self->kept_count);
        fed_extsort_destroy (&self->sort);
        return map;
    }
    if (fed_vocab_size (self->map) && s_spill (self))
        goto err;
    fed_vocab_destroy (&self->map);
    if (s_merge (self, min_count, max_size, keep))
        goto err;
    fed_extsort_destroy (&self->sort);
    //  Worst first off the heap: the last id first.
    map = fed_vocab_new (keep);
    while (self->heap_count) {
        s_item_t *item = self->heap [0];
        self->heap [0] = self->heap [--self->heap_count];
        s_sift_down (self, 0);
        int rc = fed_vocab_put (map, item->text, item->len, item->count, item->docs,
                                self->heap_count + 1);
        assert (rc == 0); //  the heap was charged what the map takes
        (void) rc;
        free (item);
    }
    s_heap_free (self);
    self->kept = fed_vocab_freeze_ids (map, &self->kept_count);
    return map;
err:
    saved = errno; //  removing the spill files must not hide why
    fed_vocab_destroy (&map);
    fed_extsort_destroy (&self->sort);
    fed_vocab_destroy (&self->map);
    s_heap_free (self);
    errno = saved;
    return NULL;
}

const fed_vocab_entry_t *const *
fed_xcount_kept (const fed_xcount_t *self, size_t *kept)
{
    *kept = self->kept_count;
    return self->kept;
}

uint64_t
fed_xcount_distinct (const fed_xcount_t *self)
{
    return self->distinct;
}
