/*  agents/extsort.c: external sort with bounded memory (extsort.h).

    Records gather in memory (a key array, or an arena of length-prefixed
    strings with an index of offsets) until the budget is reached, then are
    sorted and written to a run file. Sorting in memory is a radix sort for
    keys (8 byte passes, passes whose byte is the same everywhere skipped)
    and qsort_r over the index for strings. Runs are merged with a binary
    heap, at most fan_in at a time, each read through its own buffer; when
    there are more runs than that, groups are merged into longer runs first.
*/
#include "extsort.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MIN_BUDGET (64 * 1024)
#define HOOK_EVERY 4096

//  One run being read during a merge.
typedef struct {
    FILE *file;   //  open run file
    char *buffer; //  its stdio buffer (owned)
    uint64_t key; //  the current key (width 8)
    char *data;   //  the current string (width 0), owned, grown as needed
    size_t size;  //  its length
    size_t cap;   //  bytes allocated at data
} s_reader_t;

struct _fed_extsort_t {
    char dir [PATH_MAX - 128]; //  where run files go (room left for the names)
    char prefix [64];          //  their name prefix
    size_t budget;             //  bytes for records, index and buffers
    size_t width;              //  8: keys; 0: strings
    uint64_t count;            //  records added
    uint64_t *keys;            //  width 8: records held in memory
    size_t key_count, key_cap; //  held, allocated
    size_t key_max;            //  most held before a spill (a radix pass needs a copy)
    char *arena;               //  width 0: [u32 size][bytes] records
    size_t arena_len, arena_cap, arena_max;
    size_t *index; //  width 0: offsets of the records into arena
    size_t index_count, index_cap, index_max;
    uint64_t *runs; //  numbers of the live run files, oldest first
    size_t run_count, run_cap;
    uint64_t run_seq;      //  the next run file's number
    uint64_t runs_written; //  run files written in all
    size_t fan_in;         //  runs merged at once
    size_t read_buffer;    //  bytes of stdio buffer per run read
    bool sorted;           //  fed_extsort_sort done
    size_t pos;            //  in-memory walk: the next record
    s_reader_t *readers;   //  a merge's runs being read
    size_t reader_count;   //  how many
    size_t *heap;          //  reader indices, smallest on top
    size_t heap_count;
    bool heap_primed; //  the top was handed out and must advance
    fed_extsort_hook_fn hook;
    void *hook_arg;
};

static void
s_run_path (const fed_extsort_t *self, uint64_t number, char *path)
{
    snprintf (path, PATH_MAX, "%s/%s-%llu.run", self->dir, self->prefix,
              (unsigned long long) number);
}

fed_extsort_t *
fed_extsort_new (const char *dir, const char *prefix, size_t budget, size_t width)
{
    assert (width == 0 || width == 8);
    fed_extsort_t *self = (fed_extsort_t *) fed_calloc (1, sizeof *self);
    snprintf (self->dir, sizeof self->dir, "%s", dir);
    snprintf (self->prefix, sizeof self->prefix, "%s", prefix);
    self->budget = budget < MIN_BUDGET ? MIN_BUDGET : budget;
    self->width = width;
    self->key_max = self->budget / 16;
    self->arena_max = self->budget / 4 * 3;
    self->index_max = self->budget / 4 / sizeof (size_t);
    self->fan_in = self->budget / 16384;
    self->fan_in = self->fan_in < 4 ? 4 : self->fan_in > 64 ? 64 : self->fan_in;
    self->read_buffer = self->budget / (self->fan_in + 1);
    self->read_buffer = self->read_buffer > (1u << 20) ? (1u << 20) : self->read_buffer;
    return self;
}

static void
s_readers_free (fed_extsort_t *self)
{
    for (size_t i = 0; self->readers && i < self->reader_count; i++) {
        if (self->readers [i].file)
            fclose (self->readers [i].file);
        free (self->readers [i].buffer);
        free (self->readers [i].data);
    }
    free (self->readers);
    free (self->heap);
    self->readers = NULL;
    self->heap = NULL;
    self->heap_count = 0;
    self->reader_count = 0;
}

void
fed_extsort_destroy (fed_extsort_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    fed_extsort_t *self = *self_p;
    s_readers_free (self);
    for (size_t i = 0; i < self->run_count; i++) {
        char path [PATH_MAX];
        s_run_path (self, self->runs [i], path);
        unlink (path);
    }
    free (self->runs);
    free (self->keys);
    free (self->arena);
    free (self->index);
    free (self);
    *self_p = NULL;
}

void
fed_extsort_set_hook (fed_extsort_t *self, fed_extsort_hook_fn hook, void *arg)
{
    self->hook = hook;
    self->hook_arg = arg;
}

uint64_t
fed_extsort_count (const fed_extsort_t *self)
{
    return self->count;
}

uint64_t
fed_extsort_runs (const fed_extsort_t *self)
{
    return self->runs_written;
}

uint64_t
fed_extsort_key_double (double value)
{
    uint64_t bits;
    memcpy (&bits, &value, sizeof bits);
    //  Negative numbers: flip all bits (bigger magnitude sorts first);
    //  positive ones: set the sign bit so they sort after every negative.
    return (bits >> 63) ? ~bits : bits | (1ull << 63);
}

double
fed_extsort_double_key (uint64_t key)
{
    uint64_t bits = (key >> 63) ? key & ~(1ull << 63) : ~key;
    double value;
    memcpy (&value, &bits, sizeof value);
    return value;
}

//  --- Sorting in memory ------------------------------------------------------

//  LSD radix sort of count keys, one byte per pass, using scratch (count
//  keys) and skipping passes where every key has the same byte.
static void
s_radix_sort (uint64_t *keys, uint64_t *scratch, size_t count)
{
    size_t histogram [8][256];
    memset (histogram, 0, sizeof histogram);
    for (size_t i = 0; i < count; i++)
        for (int b = 0; b < 8; b++)
            histogram [b][(keys [i] >> (8 * b)) & 0xff]++;
    uint64_t *from = keys, *to = scratch;
    for (int b = 0; b < 8; b++) {
        size_t *h = histogram [b];
        if (h [(from [0] >> (8 * b)) & 0xff] == count)
            continue;
        size_t sum = 0;
        for (int v = 0; v < 256; v++) {
            size_t n = h [v];
            h [v] = sum;
            sum += n;
        }
        for (size_t i = 0; i < count; i++)
            to [h [(from [i] >> (8 * b)) & 0xff]++] = from [i];
        uint64_t *swap = from;
        from = to;
        to = swap;
    }
    if (from != keys)
        memcpy (keys, from, count * sizeof *keys);
}

static int
s_compare_strings (const void *a, const void *b, void *arg)
{
    const char *arena = (const char *) arg;
    const char *x = arena + *(const size_t *) a, *y = arena + *(const size_t *) b;
    uint32_t xn, yn;
    memcpy (&xn, x, 4);
    memcpy (&yn, y, 4);
    int rc = memcmp (x + 4, y + 4, xn < yn ? xn : yn);
    return rc ? rc : (xn > yn) - (xn < yn);
}

static void
s_sort_memory (fed_extsort_t *self)
{
    if (self->width == 8 && self->key_count > 1) {
        uint64_t *scratch = (uint64_t *) fed_malloc (self->key_count * sizeof (uint64_t));
        s_radix_sort (self->keys, scratch, self->key_count);
        free (scratch);
    } else if (self->width == 0 && self->index_count > 1)
        qsort_r (self->index, self->index_count, sizeof (size_t), s_compare_strings, self->arena);
}

//  --- Runs -------------------------------------------------------------------

//  Opens a new run file for writing; sets *number. Returns NULL with errno.
static FILE *
s_run_create (fed_extsort_t *self, uint64_t *number)
{
    char path [PATH_MAX];
    *number = self->run_seq++;
    s_run_path (self, *number, path);
    FILE *file = fopen (path, "wbx");
    if (file) {
        self->runs_written++;
        setvbuf (file, NULL, _IOFBF, 64 * 1024);
    }
    return file;
}

static void
s_run_add (fed_extsort_t *self, uint64_t number)
{
    if (self->run_count == self->run_cap) {
        self->run_cap = self->run_cap ? self->run_cap * 2 : 16;
        self->runs = (uint64_t *) fed_realloc (self->runs, self->run_cap * sizeof (uint64_t));
    }
    self->runs [self->run_count++] = number;
}

//  Closes a run written with s_run_create; on failure removes it. Returns
//  0, or -1 with errno.
static int
s_run_close (fed_extsort_t *self, FILE *file, uint64_t number, bool ok)
{
    int saved = errno;
    if (fclose (file) || !ok) {
        if (ok)
            saved = errno;
        char path [PATH_MAX];
        s_run_path (self, number, path);
        unlink (path);
        errno = saved ? saved : EIO;
        return -1;
    }
    s_run_add (self, number);
    return 0;
}

//  Sorts what memory holds and writes it as a run.
static int
s_spill (fed_extsort_t *self)
{
    s_sort_memory (self);
    uint64_t number;
    FILE *file = s_run_create (self, &number);
    if (!file)
        return -1;
    bool ok = true;
    if (self->width == 8)
        ok = fwrite (self->keys, sizeof (uint64_t), self->key_count, file) == self->key_count;
    else
        for (size_t i = 0; ok && i < self->index_count; i++) {
            const char *record = self->arena + self->index [i];
            uint32_t size;
            memcpy (&size, record, 4);
            ok = fwrite (record, 1, 4 + (size_t) size, file) == 4 + (size_t) size;
        }
    self->key_count = self->index_count = self->arena_len = 0;
    return s_run_close (self, file, number, ok);
}

int
fed_extsort_add_key (fed_extsort_t *self, uint64_t key)
{
    assert (self->width == 8 && !self->sorted);
    if (self->key_count == self->key_cap) {
        if (self->key_cap == self->key_max) {
            if (s_spill (self))
                return -1;
        } else {
            size_t cap = self->key_cap ? self->key_cap * 2 : 1024;
            self->key_cap = cap > self->key_max ? self->key_max : cap;
            self->keys = (uint64_t *) fed_realloc (self->keys, self->key_cap * sizeof (uint64_t));
        }
    }
    self->keys [self->key_count++] = key;
    self->count++;
    return 0;
}

int
fed_extsort_add (fed_extsort_t *self, const void *data, size_t size)
{
    assert (self->width == 0 && !self->sorted);
    if (size > UINT32_MAX) {
        errno = EFBIG;
        return -1;
    }
    size_t need = self->arena_len + 4 + size;
    if ((need > self->arena_max && self->index_count) || self->index_count == self->index_max) {
        if (s_spill (self))
            return -1;
        need = 4 + size;
    }
    if (need > self->arena_cap) {
        size_t cap = self->arena_cap ? self->arena_cap : 4096;
        while (cap < need)
            cap *= 2;
        //  One record bigger than the arena's share is still taken (alone).
        if (cap > self->arena_max && need <= self->arena_max)
            cap = self->arena_max;
        self->arena = (char *) fed_realloc (self->arena, cap);
        self->arena_cap = cap;
    }
    if (self->index_count == self->index_cap) {
        size_t cap = self->index_cap ? self->index_cap * 2 : 256;
        self->index_cap = cap > self->index_max ? self->index_max : cap;
        self->index = (size_t *) fed_realloc (self->index, self->index_cap * sizeof (size_t));
    }
    uint32_t size32 = (uint32_t) size;
    memcpy (self->arena + self->arena_len, &size32, 4);
    if (size)
        memcpy (self->arena + self->arena_len + 4, data, size);
    self->index [self->index_count++] = self->arena_len;
    self->arena_len += 4 + size;
    self->count++;
    return 0;
}

//  --- Merging ----------------------------------------------------------------

//  Reads reader r's next record. Returns 1, 0 at its end, -1 with errno.
static int
s_read (fed_extsort_t *self, s_reader_t *r)
{
    if (self->width == 8) {
        size_t n = fread (&r->key, sizeof r->key, 1, r->file);
        if (n == 1)
            return 1;
    } else {
        uint32_t size;
        if (fread (&size, 4, 1, r->file) == 1) {
            if (size > r->cap) {
                r->cap = size;
                r->data = (char *) fed_realloc (r->data, r->cap);
            }
            if (fread (r->data, 1, size, r->file) == size) {
                r->size = size;
                return 1;
            }
            if (!ferror (r->file))
                errno = EIO; //  a truncated run: our own file was cut
            return -1;
        }
    }
    if (ferror (r->file))
        return -1;
    return 0;
}

static bool
s_less (const fed_extsort_t *self, const s_reader_t *a, const s_reader_t *b)
{
    if (self->width == 8)
        return a->key < b->key;
    int rc = memcmp (a->data, b->data, a->size < b->size ? a->size : b->size);
    return rc ? rc < 0 : a->size < b->size;
}

static void
s_sift_down (fed_extsort_t *self, size_t at)
{
    size_t *heap = self->heap;
    while (true) {
        size_t left = 2 * at + 1, smallest = at;
        if (left < self->heap_count
            && s_less (self, &self->readers [heap [left]], &self->readers [heap [smallest]]))
            smallest = left;
        if (left + 1 < self->heap_count
            && s_less (self, &self->readers [heap [left + 1]], &self->readers [heap [smallest]]))
            smallest = left + 1;
        if (smallest == at)
            return;
        size_t swap = heap [at];
        heap [at] = heap [smallest];
        heap [smallest] = swap;
        at = smallest;
    }
}

//  Opens runs [first, first + count) for a merge into self->readers and
//  builds the heap. Returns 0, or -1 with errno.
static int
s_merge_open (fed_extsort_t *self, size_t first, size_t count)
{
    self->readers = (s_reader_t *) fed_calloc (count, sizeof (s_reader_t));
    self->reader_count = count;
    self->heap = (size_t *) fed_calloc (count, sizeof (size_t));
    self->heap_count = 0;
    self->heap_primed = false;
    for (size_t i = 0; i < count; i++) {
        char path [PATH_MAX];
        s_run_path (self, self->runs [first + i], path);
        s_reader_t *r = &self->readers [i];
        r->file = fopen (path, "rb");
        if (!r->file)
            return -1;
        r->cap = 64;
        r->data = (char *) fed_malloc (r->cap);
        r->buffer = (char *) fed_malloc (self->read_buffer);
        setvbuf (r->file, r->buffer, _IOFBF, self->read_buffer);
        int rc = s_read (self, r);
        if (rc < 0)
            return -1;
        if (rc == 1)
            self->heap [self->heap_count++] = i;
    }
    for (size_t i = self->heap_count; i-- > 0;)
        s_sift_down (self, i);
    return 0;
}

//  Advances the merge: the top reader reads its next record. Returns 0, or
//  -1 with errno.
static int
s_merge_advance (fed_extsort_t *self)
{
    s_reader_t *top = &self->readers [self->heap [0]];
    int rc = s_read (self, top);
    if (rc < 0)
        return -1;
    if (rc == 0)
        self->heap [0] = self->heap [--self->heap_count];
    if (self->heap_count)
        s_sift_down (self, 0);
    return 0;
}

//  Removes the files of runs [first, first + count) and drops them from
//  the list.
static void
s_runs_remove (fed_extsort_t *self, size_t first, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        char path [PATH_MAX];
        s_run_path (self, self->runs [first + i], path);
        unlink (path);
    }
    memmove (self->runs + first, self->runs + first + count,
             (self->run_count - first - count) * sizeof (uint64_t));
    self->run_count -= count;
}

//  Merges the first fan_in runs into one new run at the end of the list.
static int
s_merge_level (fed_extsort_t *self, uint64_t *done)
{
    size_t count = self->fan_in;
    uint64_t number;
    FILE *out = NULL;
    int rc = -1;
    if (s_merge_open (self, 0, count) || !(out = s_run_create (self, &number)))
        goto err;
    bool ok = true;
    while (ok && self->heap_count) {
        s_reader_t *top = &self->readers [self->heap [0]];
        if (self->width == 8)
            ok = fwrite (&top->key, 8, 1, out) == 1;
        else {
            uint32_t size = (uint32_t) top->size;
            ok = fwrite (&size, 4, 1, out) == 1 && fwrite (top->data, 1, size, out) == size;
        }
        if (++*done % HOOK_EVERY == 0 && self->hook && !self->hook (self->hook_arg, *done)) {
            errno = ECANCELED;
            ok = false;
        }
        if (ok && s_merge_advance (self))
            ok = false;
    }
    s_readers_free (self);
    rc = s_run_close (self, out, number, ok);
    out = NULL;
    if (rc == 0)
        s_runs_remove (self, 0, count);
err:
    if (out)
        fclose (out);
    s_readers_free (self);
    return rc;
}

int
fed_extsort_sort (fed_extsort_t *self)
{
    assert (!self->sorted);
    self->sorted = true;
    if (self->run_count == 0) {
        s_sort_memory (self);
        return 0;
    }
    if ((self->key_count || self->index_count) && s_spill (self))
        return -1;
    free (self->keys);
    free (self->arena);
    free (self->index);
    self->keys = NULL;
    self->arena = NULL;
    self->index = NULL;
    uint64_t done = 0;
    while (self->run_count > self->fan_in)
        if (s_merge_level (self, &done))
            return -1;
    return s_merge_open (self, 0, self->run_count);
}

//  The final merge's next record: the heap's top. Returns 1, 0, -1.
static int
s_merge_next (fed_extsort_t *self)
{
    if (self->heap_primed && self->heap_count && s_merge_advance (self))
        return -1;
    self->heap_primed = true;
    return self->heap_count ? 1 : 0;
}

int
fed_extsort_next_key (fed_extsort_t *self, uint64_t *key)
{
    assert (self->sorted && self->width == 8);
    if (!self->readers) {
        if (self->pos == self->key_count)
            return 0;
        *key = self->keys [self->pos++];
        return 1;
    }
    int rc = s_merge_next (self);
    if (rc == 1)
        *key = self->readers [self->heap [0]].key;
    return rc;
}

int
fed_extsort_next (fed_extsort_t *self, const void **data, size_t *size)
{
    assert (self->sorted && self->width == 0);
    if (!self->readers) {
        if (self->pos == self->index_count)
            return 0;
        const char *record = self->arena + self->index [self->pos++];
        uint32_t size32;
        memcpy (&size32, record, 4);
        *data = record + 4;
        *size = size32;
        return 1;
    }
    int rc = s_merge_next (self);
    if (rc == 1) {
        *data = self->readers [self->heap [0]].data;
        *size = self->readers [self->heap [0]].size;
    }
    return rc;
}
