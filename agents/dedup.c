/*  agents/dedup.c: first-occurrence deduplication with bounded memory
    (dedup.h).

    The set is open addressing with linear probing over 16-byte slots, an
    all-zero slot meaning empty (a hash that is all zero is stored with its
    lowest bit set, which only merges it with one other value). It grows by
    doubling while it stays within its half of the budget, at most three
    quarters full. Partition files hold [hash 16][row 8, big-endian][size
    4][bytes]; the survivors' sort holds [row 8, big-endian][bytes] so byte
    order is row order.
*/
#include "dedup.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_PARTITIONS 256
#define MIN_BUFFER 512
#define HEADER (FED_DEDUP_HASH + 8 + 4)

//  A set of 128-bit hashes.
typedef struct {
    uint64_t *slots; //  2 words per slot
    size_t cap;      //  slots (a power of two)
    size_t count;    //  used
    size_t max_cap;  //  the most slots the budget allows
} s_set_t;

struct _fed_dedup_t {
    char dir [PATH_MAX - 64]; //  where spill files go (room left for the names)
    size_t budget;            //  bytes in all
    uint64_t expected;        //  rows expected (0: unknown)
    uint64_t seen;            //  rows checked
    uint64_t duplicates;      //  rows dropped
    s_set_t set;              //  the hashes seen before spilling began
    bool spilling;            //  the set is full: new hashes are spilled
    size_t partitions;        //  P, once spilling
    FILE **parts;             //  P partition files being written
    char **part_buffers;      //  their stdio buffers
    uint64_t *part_rows;      //  records in each
    uint64_t files;           //  files written
    char *record;             //  one partition record read back (grown)
    size_t record_cap;
    fed_extsort_t *survivors; //  spilled first occurrences, by row
    bool finished;
    fed_extsort_hook_fn hook;
    void *hook_arg;
};

static void
s_part_path (const fed_dedup_t *self, size_t p, char *path)
{
    snprintf (path, PATH_MAX, "%s/dedup-%zu.part", self->dir, p);
}

//  --- The set ----------------------------------------------------------------

static void
s_set_init (s_set_t *set, size_t budget)
{
    memset (set, 0, sizeof *set);
    set->max_cap = 64;
    while (set->max_cap * 2 * 16 <= budget)
        set->max_cap *= 2;
}

//  The most hashes a set within budget holds.
static uint64_t
s_set_room (const s_set_t *set)
{
    return set->max_cap / 4 * 3;
}

static void
s_set_free (s_set_t *set)
{
    free (set->slots);
    set->slots = NULL;
    set->cap = set->count = 0;
}

//  The slot holding (a, b) or the empty slot where it would go.
static size_t
s_set_find (const s_set_t *set, uint64_t a, uint64_t b)
{
    size_t mask = set->cap - 1;
    size_t i = (size_t) a & mask;
    while (true) {
        const uint64_t *slot = set->slots + 2 * i;
        if ((slot [0] == a && slot [1] == b) || (slot [0] == 0 && slot [1] == 0))
            return i;
        i = (i + 1) & mask;
    }
}

//  Doubles the set. False when the budget does not allow it.
static bool
s_set_grow (s_set_t *set)
{
    size_t cap = set->cap ? set->cap * 2 : 1024;
    if (cap > set->max_cap)
        return false;
    s_set_t bigger = *set;
    bigger.cap = cap;
    bigger.slots = (uint64_t *) fed_calloc (cap * 2, sizeof (uint64_t));
    for (size_t i = 0; i < set->cap; i++) {
        const uint64_t *slot = set->slots + 2 * i;
        if (slot [0] || slot [1]) {
            size_t at = s_set_find (&bigger, slot [0], slot [1]);
            bigger.slots [2 * at] = slot [0];
            bigger.slots [2 * at + 1] = slot [1];
        }
    }
    free (set->slots);
    *set = bigger;
    return true;
}

static void
s_set_words (const uint8_t *hash, uint64_t *a, uint64_t *b)
{
    memcpy (a, hash, 8);
    memcpy (b, hash + 8, 8);
    if (*a == 0 && *b == 0)
        *a = 1;
}

//  1: added; 0: was there; 2: not there and no room.
static int
s_set_add (s_set_t *set, const uint8_t *hash)
{
    uint64_t a, b;
    s_set_words (hash, &a, &b);
    size_t at = 0;
    if (set->cap) {
        at = s_set_find (set, a, b);
        if (set->slots [2 * at] || set->slots [2 * at + 1])
            return 0;
    }
    if ((set->count + 1) * 4 > set->cap * 3) {
        if (!s_set_grow (set))
            return 2;
        at = s_set_find (set, a, b);
    }
    set->slots [2 * at] = a;
    set->slots [2 * at + 1] = b;
    set->count++;
    return 1;
}

static bool
s_set_has (const s_set_t *set, const uint8_t *hash)
{
    uint64_t a, b;
    s_set_words (hash, &a, &b);
    if (!set->cap)
        return false;
    size_t at = s_set_find (set, a, b);
    return set->slots [2 * at] || set->slots [2 * at + 1];
}

//  --- The deduplicator ---------------------------------------------------------

fed_dedup_t *
fed_dedup_new (const char *dir, size_t budget, uint64_t expected)
{
    fed_dedup_t *self = (fed_dedup_t *) fed_calloc (1, sizeof *self);
    snprintf (self->dir, sizeof self->dir, "%s", dir);
    self->budget = budget < 64 * 1024 ? 64 * 1024 : budget;
    self->expected = expected;
    s_set_init (&self->set, self->budget / 2);
    //  Sized for the rows expected at once, rather than grown and rehashed
    //  step by step (as far as the budget allows).
    size_t cap = 1024;
    while (cap < self->set.max_cap && cap / 4 * 3 < expected)
        cap *= 2;
    self->set.cap = cap;
    self->set.slots = (uint64_t *) fed_calloc (cap * 2, sizeof (uint64_t));
    return self;
}

static void
s_parts_close (fed_dedup_t *self)
{
    for (size_t p = 0; self->parts && p < self->partitions; p++) {
        if (self->parts [p])
            fclose (self->parts [p]);
        free (self->part_buffers [p]);
        char path [PATH_MAX];
        s_part_path (self, p, path);
        unlink (path);
    }
    free (self->parts);
    free (self->part_buffers);
    free (self->part_rows);
    self->parts = NULL;
    self->part_buffers = NULL;
    self->part_rows = NULL;
}

void
fed_dedup_destroy (fed_dedup_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    fed_dedup_t *self = *self_p;
    s_set_free (&self->set);
    s_parts_close (self);
    fed_extsort_destroy (&self->survivors);
    free (self->record);
    free (self);
    *self_p = NULL;
}

void
fed_dedup_set_hook (fed_dedup_t *self, fed_extsort_hook_fn hook, void *arg)
{
    self->hook = hook;
    self->hook_arg = arg;
}

uint64_t
fed_dedup_duplicates (const fed_dedup_t *self)
{
    return self->duplicates;
}

uint64_t
fed_dedup_files (const fed_dedup_t *self)
{
    return self->files + (self->survivors ? fed_extsort_runs (self->survivors) : 0);
}

int
fed_dedup_check (fed_dedup_t *self, const uint8_t *hash)
{
    assert (!self->finished);
    self->seen++;
    if (self->spilling) {
        if (s_set_has (&self->set, hash)) {
            self->duplicates++;
            return 0;
        }
        return 2;
    }
    int rc = s_set_add (&self->set, hash);
    if (rc == 0)
        self->duplicates++;
    else if (rc == 2)
        self->spilling = true;
    return rc;
}

void
fed_dedup_prefetch (const fed_dedup_t *self, const uint8_t *hash)
{
    if (!self->set.cap || self->spilling)
        return;
    uint64_t a, b;
    s_set_words (hash, &a, &b);
    __builtin_prefetch (self->set.slots + 2 * ((size_t) a & (self->set.cap - 1)));
}

//  Opens the partition files, sized for the rows still expected.
static int
s_parts_open (fed_dedup_t *self)
{
    uint64_t left = self->expected > self->seen ? self->expected - self->seen : self->seen;
    uint64_t per_part = s_set_room (&self->set); //  what one partition's set holds
    size_t p = 2;
    while (p < MAX_PARTITIONS && (uint64_t) p * per_part < left + left / 2)
        p *= 2;
    self->partitions = p;
    self->parts = (FILE **) fed_calloc (p, sizeof (FILE *));
    self->part_buffers = (char **) fed_calloc (p, sizeof (char *));
    self->part_rows = (uint64_t *) fed_calloc (p, sizeof (uint64_t));
    size_t buffer = self->budget / 2 / p;
    buffer = buffer < MIN_BUFFER ? MIN_BUFFER : buffer;
    for (size_t i = 0; i < p; i++) {
        char path [PATH_MAX];
        s_part_path (self, i, path);
        self->parts [i] = fopen (path, "w+b");
        if (!self->parts [i])
            return -1;
        self->files++;
        self->part_buffers [i] = (char *) fed_malloc (buffer);
        setvbuf (self->parts [i], self->part_buffers [i], _IOFBF, buffer);
    }
    return 0;
}

static void
s_put_be64 (uint8_t *at, uint64_t value)
{
    for (int i = 7; i >= 0; i--) {
        at [i] = (uint8_t) value;
        value >>= 8;
    }
}

int
fed_dedup_spill (fed_dedup_t *self, const uint8_t *hash, uint64_t row, const void *data,
                 size_t size)
{
    assert (self->spilling);
    if (size > UINT32_MAX) {
        errno = EFBIG;
        return -1;
    }
    if (!self->parts && s_parts_open (self))
        return -1;
    size_t p = hash [15] % self->partitions;
    uint8_t header [HEADER];
    memcpy (header, hash, FED_DEDUP_HASH);
    s_put_be64 (header + FED_DEDUP_HASH, row);
    uint32_t size32 = (uint32_t) size;
    memcpy (header + FED_DEDUP_HASH + 8, &size32, 4);
    FILE *file = self->parts [p];
    if (fwrite (header, HEADER, 1, file) != 1 || (size && fwrite (data, 1, size, file) != size))
        return -1;
    self->part_rows [p]++;
    return 0;
}

//  Reads one partition record into self->record as [hash][row][bytes];
//  sets *size to the bytes' length. Returns 1, 0 at the end, -1 with errno.
static int
s_record_read (fed_dedup_t *self, FILE *file, size_t *size)
{
    uint8_t header [HEADER];
    size_t got = fread (header, 1, HEADER, file);
    if (got == 0 && !ferror (file))
        return 0;
    if (got != HEADER) {
        errno = ferror (file) ? errno : EIO;
        return -1;
    }
    uint32_t size32;
    memcpy (&size32, header + FED_DEDUP_HASH + 8, 4);
    if ((size_t) size32 + 24 > self->record_cap) {
        self->record_cap = (size_t) size32 + 24;
        self->record = (char *) fed_realloc (self->record, self->record_cap);
    }
    memcpy (self->record, header, 24);
    if (size32 && fread (self->record + 24, 1, size32, file) != size32) {
        errno = ferror (file) ? errno : EIO;
        return -1;
    }
    *size = size32;
    return 1;
}

static bool
s_tick (fed_dedup_t *self, uint64_t *done)
{
    if (++*done % 4096 || !self->hook)
        return true;
    if (self->hook (self->hook_arg, *done))
        return true;
    errno = ECANCELED;
    return false;
}

//  Dedups partition file with a set: its records are in row order, so the
//  first of each hash is the first occurrence.
static int
s_part_by_set (fed_dedup_t *self, FILE *file, uint64_t *done)
{
    s_set_t set;
    s_set_init (&set, self->budget / 2);
    int rc;
    size_t size;
    while ((rc = s_record_read (self, file, &size)) == 1) {
        int added = s_set_add (&set, (const uint8_t *) self->record);
        assert (added != 2); //  the caller checked the partition fits
        if (added == 0)
            self->duplicates++;
        else if (fed_extsort_add (self->survivors, self->record + FED_DEDUP_HASH, 8 + size))
            rc = -1;
        if (rc == -1 || !s_tick (self, done)) {
            rc = -1;
            break;
        }
    }
    s_set_free (&set);
    return rc;
}

//  Dedups a partition too big for a set: sorted by hash then row, the
//  first record of each hash is the first occurrence.
static int
s_part_by_sort (fed_dedup_t *self, FILE *file, uint64_t *done)
{
    fed_extsort_t *sort = fed_extsort_new (self->dir, "dedup-hash", self->budget / 2, 0);
    fed_extsort_set_hook (sort, self->hook, self->hook_arg);
    int rc;
    size_t size;
    while ((rc = s_record_read (self, file, &size)) == 1)
        if (fed_extsort_add (sort, self->record, 24 + size) || !s_tick (self, done)) {
            rc = -1;
            break;
        }
    if (rc == 0 && fed_extsort_sort (sort))
        rc = -1;
    uint8_t last [FED_DEDUP_HASH];
    bool have_last = false;
    const void *data;
    while (rc == 0 && (rc = fed_extsort_next (sort, &data, &size)) == 1) {
        rc = 0;
        if (have_last && !memcmp (last, data, FED_DEDUP_HASH))
            self->duplicates++;
        else if (fed_extsort_add (self->survivors, (const char *) data + FED_DEDUP_HASH,
                                  size - FED_DEDUP_HASH))
            rc = -1;
        memcpy (last, data, FED_DEDUP_HASH);
        have_last = true;
        if (rc == 0 && !s_tick (self, done))
            rc = -1;
    }
    self->files += fed_extsort_runs (sort);
    fed_extsort_destroy (&sort);
    return rc;
}

int
fed_dedup_finish (fed_dedup_t *self)
{
    assert (!self->finished);
    self->finished = true;
    s_set_free (&self->set);
    self->survivors = fed_extsort_new (self->dir, "dedup", self->budget / 2, 0);
    fed_extsort_set_hook (self->survivors, self->hook, self->hook_arg);
    uint64_t done = 0;
    uint64_t fits = s_set_room (&self->set);
    for (size_t p = 0; self->parts && p < self->partitions; p++) {
        FILE *file = self->parts [p];
        if (fflush (file) || fseek (file, 0, SEEK_SET))
            return -1;
        int rc = self->part_rows [p] <= fits ? s_part_by_set (self, file, &done)
                                             : s_part_by_sort (self, file, &done);
        if (rc)
            return -1;
        //  Done with it: free its space now rather than at the end.
        fclose (file);
        self->parts [p] = NULL;
        char path [PATH_MAX];
        s_part_path (self, p, path);
        unlink (path);
    }
    s_parts_close (self);
    return fed_extsort_sort (self->survivors);
}

int
fed_dedup_next (fed_dedup_t *self, const void **data, size_t *size)
{
    assert (self->finished);
    int rc = fed_extsort_next (self->survivors, data, size);
    if (rc == 1) {
        *data = (const char *) *data + 8;
        *size -= 8;
    }
    return rc;
}
