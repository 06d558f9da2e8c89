/*  agents/vocab.c: an open-addressing hash map of counted strings with a
    byte budget (vocab.h). Linear probing over a power-of-two slot array
    kept at most half full; entries are allocated one by one and never
    removed one by one (only all at once), so nothing needs tombstones.
*/
#include "vocab.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "tokenize.h"

struct fed_vocab_t {
    fed_vocab_entry_t **slots;  //  slot_count slots, NULL when empty
    size_t slot_count;          //  a power of two
    size_t size;                //  entries held
    uint64_t bytes;             //  entries' bytes plus the slot array's
    uint64_t budget;            //  the most bytes may grow to
    fed_vocab_entry_t **frozen; //  the kept entries after a freeze, or NULL
    size_t frozen_count;        //  how many
};

#define FIRST_SLOTS 64

fed_vocab_t *
fed_vocab_new (uint64_t budget)
{
    fed_vocab_t *self = (fed_vocab_t *) fed_calloc (1, sizeof *self);
    self->slot_count = FIRST_SLOTS;
    self->slots = (fed_vocab_entry_t **) fed_calloc (self->slot_count, sizeof (void *));
    self->bytes = self->slot_count * sizeof (void *);
    self->budget = budget;
    return self;
}

//  Frees the entries, the slots and any freeze.
static void
s_free_all (fed_vocab_t *self)
{
    for (size_t i = 0; i < self->slot_count; i++)
        free (self->slots [i]);
    free (self->slots);
    free (self->frozen);
}

void
fed_vocab_destroy (fed_vocab_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    s_free_all (*self_p);
    free (*self_p);
    *self_p = NULL;
}

void
fed_vocab_clear (fed_vocab_t *self)
{
    uint64_t budget = self->budget;
    s_free_all (self);
    memset (self, 0, sizeof *self);
    self->slot_count = FIRST_SLOTS;
    self->slots = (fed_vocab_entry_t **) fed_calloc (self->slot_count, sizeof (void *));
    self->bytes = self->slot_count * sizeof (void *);
    self->budget = budget;
}

//  The slot holding text, or the empty slot where it would go.
static size_t
s_slot (const fed_vocab_t *self, const char *text, size_t len, uint32_t hash)
{
    size_t mask = self->slot_count - 1;
    size_t i = hash & mask;
    while (self->slots [i]) {
        const fed_vocab_entry_t *e = self->slots [i];
        if (e->hash == hash && e->len == len && memcmp (e->text, text, len) == 0)
            break;
        i = (i + 1) & mask;
    }
    return i;
}

static uint64_t
s_entry_bytes (size_t len)
{
    return sizeof (fed_vocab_entry_t) + len + 1;
}

//  Makes room for one more entry of len bytes. Returns 0, or -1 when it
//  (with a grown slot array if one is due) would pass the budget.
static int
s_room (fed_vocab_t *self, size_t len)
{
    bool grow = (self->size + 1) * 2 > self->slot_count;
    uint64_t more = s_entry_bytes (len) + (grow ? self->slot_count * sizeof (void *) : 0);
    if (len > UINT32_MAX || self->bytes + more > self->budget)
        return -1;
    if (grow) {
        fed_vocab_entry_t **old = self->slots;
        size_t old_count = self->slot_count;
        self->slot_count *= 2;
        self->slots = (fed_vocab_entry_t **) fed_calloc (self->slot_count, sizeof (void *));
        for (size_t i = 0; i < old_count; i++)
            if (old [i]) {
                size_t mask = self->slot_count - 1;
                size_t k = old [i]->hash & mask;
                while (self->slots [k])
                    k = (k + 1) & mask;
                self->slots [k] = old [i];
            }
        free (old);
        self->bytes += old_count * sizeof (void *);
    }
    return 0;
}

static fed_vocab_entry_t *
s_insert (fed_vocab_t *self, const char *text, size_t len, uint32_t hash)
{
    fed_vocab_entry_t *e = (fed_vocab_entry_t *) fed_calloc (1, s_entry_bytes (len));
    e->hash = hash;
    e->len = (uint32_t) len;
    memcpy (e->text, text, len);
    self->slots [s_slot (self, text, len, hash)] = e;
    self->size++;
    self->bytes += s_entry_bytes (len);
    return e;
}

int
fed_vocab_add (fed_vocab_t *self, const char *text, size_t len, uint64_t doc)
{
    uint32_t hash = fed_fnv1a32 (text, len);
    fed_vocab_entry_t *e = self->slots [s_slot (self, text, len, hash)];
    if (!e) {
        if (s_room (self, len))
            return -1;
        e = s_insert (self, text, len, hash);
        e->first_doc = doc;
    }
    e->count++;
    if (e->last_doc != doc) {
        e->docs++;
        e->last_doc = doc;
    }
    return 0;
}

int
fed_vocab_put (fed_vocab_t *self, const char *text, size_t len, uint64_t count, uint64_t docs,
               uint64_t id)
{
    if (fed_vocab_find (self, text, len) || s_room (self, len))
        return -1;
    fed_vocab_entry_t *e = s_insert (self, text, len, fed_fnv1a32 (text, len));
    e->count = count;
    e->docs = docs;
    e->id = id;
    return 0;
}

const fed_vocab_entry_t *
fed_vocab_find (const fed_vocab_t *self, const char *text, size_t len)
{
    return self->slots [s_slot (self, text, len, fed_fnv1a32 (text, len))];
}

size_t
fed_vocab_size (const fed_vocab_t *self)
{
    return self->size;
}

uint64_t
fed_vocab_bytes (const fed_vocab_t *self)
{
    return self->bytes;
}

//  s_room grows the slots to the smallest power of two from FIRST_SLOTS
//  that is at least twice the entries; the arrays it drops stay counted
//  (FIRST_SLOTS + FIRST_SLOTS + 2 FIRST_SLOTS + ... = the last one), so the
//  slots cost the last array's size.
uint64_t
fed_vocab_bytes_for (size_t entries, uint64_t text_bytes)
{
    uint64_t slots = FIRST_SLOTS;
    while ((uint64_t) entries * 2 > slots)
        slots *= 2;
    return slots * sizeof (void *) + entries * s_entry_bytes (0) + text_bytes;
}

const fed_vocab_entry_t *
fed_vocab_next (const fed_vocab_t *self, size_t *cursor)
{
    while (*cursor < self->slot_count) {
        const fed_vocab_entry_t *e = self->slots [(*cursor)++];
        if (e)
            return e;
    }
    return NULL;
}

int
fed_vocab_cmp_bytes (const void *a, const void *b)
{
    const fed_vocab_entry_t *x = *(const fed_vocab_entry_t *const *) a;
    const fed_vocab_entry_t *y = *(const fed_vocab_entry_t *const *) b;
    int c = memcmp (x->text, y->text, x->len < y->len ? x->len : y->len);
    if (c)
        return c;
    return x->len < y->len ? -1 : x->len > y->len;
}

//  Higher count first, then bytes.
static int
s_cmp_count (const void *a, const void *b)
{
    const fed_vocab_entry_t *x = *(const fed_vocab_entry_t *const *) a;
    const fed_vocab_entry_t *y = *(const fed_vocab_entry_t *const *) b;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    return fed_vocab_cmp_bytes (a, b);
}

const fed_vocab_entry_t *const *
fed_vocab_freeze (fed_vocab_t *self, uint64_t min_count, uint64_t max_size, size_t *kept)
{
    free (self->frozen);
    self->frozen = (fed_vocab_entry_t **) fed_calloc (self->size ? self->size : 1, sizeof (void *));
    size_t n = 0;
    for (size_t i = 0; i < self->slot_count; i++)
        if (self->slots [i]) {
            self->slots [i]->id = 0;
            if (self->slots [i]->count >= min_count)
                self->frozen [n++] = self->slots [i];
        }
    qsort (self->frozen, n, sizeof (void *), s_cmp_count);
    if (max_size && n > max_size)
        n = max_size;
    for (size_t i = 0; i < n; i++)
        self->frozen [i]->id = i + 1;
    self->frozen_count = n;
    *kept = n;
    return (const fed_vocab_entry_t *const *) self->frozen;
}

const fed_vocab_entry_t *const *
fed_vocab_freeze_ids (fed_vocab_t *self, size_t *kept)
{
    free (self->frozen);
    self->frozen = (fed_vocab_entry_t **) fed_calloc (self->size ? self->size : 1, sizeof (void *));
    for (size_t i = 0; i < self->slot_count; i++) {
        fed_vocab_entry_t *e = self->slots [i];
        if (!e)
            continue;
        assert (e->id >= 1 && e->id <= self->size && !self->frozen [e->id - 1]);
        self->frozen [e->id - 1] = e;
    }
    self->frozen_count = self->size;
    *kept = self->size;
    return (const fed_vocab_entry_t *const *) self->frozen;
}

const fed_vocab_entry_t *const *
fed_vocab_sort_bytes (fed_vocab_t *self, size_t *kept)
{
    if (self->frozen_count)
        qsort (self->frozen, self->frozen_count, sizeof (void *), fed_vocab_cmp_bytes);
    for (size_t i = 0; i < self->frozen_count; i++)
        self->frozen [i]->id = i + 1;
    *kept = self->frozen_count;
    return (const fed_vocab_entry_t *const *) self->frozen;
}
