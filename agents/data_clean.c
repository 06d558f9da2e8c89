/*  agents/data_clean.c: data.clean (data.h; doc/agents-data.md).

    One row at a time, in a fixed order: whitespace (trim, normalize) ->
    coercion (types) -> missing values -> clipping -> deduplication. A
    fill by mean, median or mode and clipping to quantiles need the
    column's values first: a first pass over the input gathers them (in an
    external sort, so medians and quantiles are exact within the memory
    budget), then the reader rewinds and the second pass writes. Rows
    refused (malformed, or a value that does not coerce) go to rejects.csv
    with their line. Deduplication keeps 128-bit hashes of the keys seen
    (dedup.h), spilling to partition files past the budget.

    The row's fields are rewritten into one arena reused from row to row,
    sized before each row for the worst case, so no allocation happens per
    row once the buffers have grown to the widest row.
*/
#include "clean_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <msgpack.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleantext.h"
#include "dedup.h"

//  A row held back one row while the dedup set's slot for its hash is
//  fetched from memory (a cache miss per row otherwise), encoded as for the
//  spill.
typedef struct {
    bool full;                     //  holds a row
    uint8_t hash [FED_DEDUP_HASH]; //  its key's hash
    uint64_t row;                  //  its row number
    char *data;                    //  its encoded fields (owned)
    size_t size, cap;
} s_held_t;

//  The state of one run beside the plan.
typedef struct {
    fed_clean_t *plan;
    fed_task_t *task;
    fed_field_t *row; //  the row being cleaned
    double *num;      //  numeric columns: the row's values
    char *arena;      //  bytes the row's rewritten fields live in
    size_t arena_cap;
    char *key; //  the dedup key being built
    size_t key_cap;
    fed_field_t *decoded; //  a spilled or held row decoded for writing
    s_held_t held [2];    //  dedup: the row whose set slot is being fetched, and the next
    int which;            //  the one the next row goes into
    unsigned char hash_key [crypto_shorthash_siphashx24_KEYBYTES];
    char reason [600]; //  why the last row was refused
    bool counting;     //  the writing pass: count stats
    uint64_t rows_in, rows_out, dropped_missing, coerced_rejects, coerced_nulls, trimmed;
    uint64_t malformed, duplicates, spill_files;
} s_run_t;

static const char *const s_not_type [] = {"is not a number", "is not an int", "is not a float"};

static void
s_grow (char **buffer, size_t *cap, size_t need)
{
    if (need <= *cap)
        return;
    size_t size = *cap ? *cap : 4096;
    while (size < need)
        size *= 2;
    *buffer = (char *) fed_realloc (*buffer, size);
    *cap = size;
}

//  Refuses the row: sets the reason. Returns 1.
static int
s_refuse (s_run_t *self, size_t c, const fed_field_t *field, const char *why)
{
    snprintf (self->reason, sizeof self->reason, "column '%.100s': '%.*s' %s",
              self->plan->columns [c].ptr, (int) (field->len < 200 ? field->len : 200), field->ptr,
              why);
    return 1;
}

//  Stage 1: whitespace, then coercion. Returns 0, or 1 refused (reason set).
static int
s_prepare (s_run_t *self, const fed_field_t *fields)
{
    fed_clean_t *plan = self->plan;
    size_t need = 0;
    for (size_t c = 0; c < plan->ncols; c++)
        need += fields [c].len + FED_COERCE_MAX + 2;
    s_grow (&self->arena, &self->arena_cap, need);
    char *at = self->arena;
    for (size_t c = 0; c < plan->ncols; c++) {
        fed_clean_col_t *col = &plan->cols [c];
        fed_field_t field = fields [c];
        if (!self->counting && !col->values && !col->numeric && !col->type) {
            self->row [c] = field; //  the first pass needs nothing of it
            continue;
        }
        size_t start, trimmed;
        if (col->fold == FED_FOLD_TRIM && field.len
            && fed_trim_ascii (field.ptr, field.len, &start, &trimmed)) {
            //  Points into the reader's row, not NUL-terminated: every
            //  use below goes by length.
            if (trimmed != field.len) {
                field.ptr += start;
                field.len = trimmed;
                self->trimmed += self->counting;
            }
        } else if (col->fold && field.len) {
            size_t len = fed_fold (field.ptr, field.len, at, col->fold);
            if (len != field.len || memcmp (at, field.ptr, len)) {
                at [len] = '\0';
                field.ptr = at;
                field.len = len;
                if (field.kind == FED_CELL_NULL && len)
                    field.kind = FED_CELL_TEXT;
                at += len + 1;
                self->trimmed += self->counting;
            }
        }
        if (field.len && col->numeric) {
            int len = 0;
            int64_t integer;
            if (col->type == FED_CLEAN_TYPE_INT) {
                len = fed_coerce_int (field.ptr, field.len, at, &integer);
                self->num [c] = (double) integer;
            } else if (col->type == FED_CLEAN_TYPE_FLOAT)
                len = fed_coerce_float (field.ptr, field.len, at, &self->num [c]);
            else if (!fed_parse_double (field.ptr, field.len, &self->num [c]))
                len = -1;
            else
                len = -2; //  a number, kept as written
            if (len == -1) {
                if (!plan->bad_type_null)
                    return s_refuse (self, c, &field, s_not_type [col->type]);
                field = (fed_field_t){"", 0, FED_CELL_NULL};
                self->coerced_nulls += self->counting;
            } else if (len >= 0) {
                field = (fed_field_t){at, (size_t) len, FED_CELL_NUMBER};
                at += len + 1;
            }
        } else if (field.len && col->type == FED_CLEAN_TYPE_BOOL) {
            int len = fed_coerce_bool (field.ptr, field.len, at);
            if (len < 0) {
                if (!plan->bad_type_null)
                    return s_refuse (self, c, &field, "is not a bool");
                field = (fed_field_t){"", 0, FED_CELL_NULL};
                self->coerced_nulls += self->counting;
            } else {
                field = (fed_field_t){at, (size_t) len, FED_CELL_BOOL};
                at += len + 1;
            }
        }
        self->row [c] = field;
    }
    return 0;
}

//  Stage 2 and 3: missing values, clipping. Returns 0, or 1 when the row
//  is dropped for a missing value.
static int
s_complete (s_run_t *self)
{
    fed_clean_t *plan = self->plan;
    for (size_t c = 0; c < plan->ncols; c++)
        if (self->row [c].len == 0
            && (plan->drop_any_missing || plan->cols [c].missing == FED_CLEAN_MISS_DROP)) {
            self->dropped_missing++;
            return 1;
        }
    for (size_t c = 0; c < plan->ncols; c++) {
        fed_clean_col_t *col = &plan->cols [c];
        fed_field_t *field = &self->row [c];
        if (field->len == 0 && col->fill) {
            *field = (fed_field_t){col->fill, col->fill_len, col->fill_kind};
            self->num [c] = col->fill_value;
            col->filled++;
        }
        if (!col->clip || field->len == 0 || isnan (self->num [c]))
            continue;
        if (self->num [c] < col->lower) {
            *field = (fed_field_t){col->lower_text, col->lower_len, FED_CELL_NUMBER};
            col->clipped++;
        } else if (self->num [c] > col->upper) {
            *field = (fed_field_t){col->upper_text, col->upper_len, FED_CELL_NUMBER};
            col->clipped++;
        }
    }
    return 0;
}

//  The row's dedup key hash.
static void
s_hash (s_run_t *self, uint8_t *hash)
{
    fed_clean_t *plan = self->plan;
    size_t need = 0;
    for (size_t k = 0; k < plan->dedup_count; k++)
        need += self->row [plan->dedup_cols [k]].len + 4;
    s_grow (&self->key, &self->key_cap, need + 1);
    size_t n = 0;
    for (size_t k = 0; k < plan->dedup_count; k++) {
        const fed_field_t *field = &self->row [plan->dedup_cols [k]];
        size_t len = field->len;
        if (plan->dedup_normalize)
            len = fed_fold (field->ptr, field->len, self->key + n + 4,
                            FED_FOLD_COLLAPSE | FED_FOLD_CASE);
        else
            memcpy (self->key + n + 4, field->ptr, len);
        uint32_t len32 = (uint32_t) len;
        memcpy (self->key + n, &len32, 4);
        n += 4 + len;
    }
    crypto_shorthash_siphashx24 (hash, (const unsigned char *) self->key, n, self->hash_key);
}

//  Encodes the row into *buffer: per field [u32 len][u8 kind][bytes][NUL].
//  Returns the size.
static size_t
s_encode (s_run_t *self, char **buffer, size_t *cap)
{
    size_t need = 0;
    for (size_t c = 0; c < self->plan->ncols; c++)
        need += self->row [c].len + 6;
    s_grow (buffer, cap, need);
    char *out = *buffer;
    size_t n = 0;
    for (size_t c = 0; c < self->plan->ncols; c++) {
        uint32_t len = (uint32_t) self->row [c].len;
        memcpy (out + n, &len, 4);
        out [n + 4] = (char) self->row [c].kind;
        memcpy (out + n + 5, self->row [c].ptr, len);
        out [n + 5 + len] = '\0';
        n += 6 + len;
    }
    return n;
}

//  Decodes a spilled row into self->decoded, pointing into data.
static void
s_decode (s_run_t *self, const char *data)
{
    for (size_t c = 0; c < self->plan->ncols; c++) {
        uint32_t len;
        memcpy (&len, data, 4);
        self->decoded [c] = (fed_field_t){data + 5, len, (fed_cell_kind_t) data [4]};
        data += 6 + len;
    }
}

//  --- The first pass: statistics ------------------------------------------------

static bool
s_hook (void *arg, uint64_t done)
{
    s_run_t *self = (s_run_t *) arg;
    fed_task_progress (self->task, done, 0, "sorting spilled values");
    return !fed_task_cancelled (self->task);
}

//  The linear-interpolation quantile q of the n sorted values, as numpy's
//  percentile does with q given as q * 100 (pandas' Series.quantile).
typedef struct {
    double h;       //  the virtual index
    uint64_t below; //  floor (h)
    double a, b;    //  the values at below and below + 1
} s_rank_t;

static void
s_rank_init (s_rank_t *rank, double q, uint64_t n)
{
    q = q * 100.0 / 100.0;
    rank->h = (double) (n - 1) * q;
    rank->below = (uint64_t) floor (rank->h);
    if (rank->below > n - 1)
        rank->below = n - 1;
    rank->a = rank->b = NAN;
}

static void
s_rank_see (s_rank_t *rank, uint64_t i, double value)
{
    if (i == rank->below)
        rank->a = rank->b = value;
    else if (i == rank->below + 1)
        rank->b = value;
}

static double
s_rank_value (const s_rank_t *rank)
{
    double t = rank->h - (double) rank->below, diff = rank->b - rank->a;
    if (t == 0 || rank->a == rank->b)
        return rank->a;
    return t >= 0.5 ? rank->b - diff * (1 - t) : rank->a + diff * t;
}

//  Formats a statistic for column col into a new string.
static char *
s_stat_text (const fed_clean_col_t *col, double value, size_t *len)
{
    char text [FED_COERCE_MAX];
    if (col->type == FED_CLEAN_TYPE_INT && isfinite (value))
        value = nearbyint (value);
    if ((col->type == FED_CLEAN_TYPE_INT || (col->type == FED_CLEAN_TYPE_NONE && col->all_int))
        && value == floor (value) && fabs (value) < 0x1p63)
        snprintf (text, sizeof text, "%lld", (long long) value);
    else
        fed_format_double (value, text);
    *len = strlen (text);
    return fed_strndup (text, *len);
}

//  Walks column c's sorted values once: median, quantiles, mode.
static int
s_column_stats (s_run_t *self, size_t c)
{
    fed_clean_col_t *col = &self->plan->cols [c];
    uint64_t n = fed_extsort_count (col->values);
    fed_extsort_set_hook (col->values, s_hook, self);
    if (fed_extsort_sort (col->values))
        return fed_task_fail (self->task, errno == ECANCELED ? "cancelled" : "io_error",
                              "sorting column '%.100s': %s", self->plan->columns [c].ptr,
                              strerror (errno));
    if (n == 0)
        return 0; //  nothing to fill with, nothing to clip to
    s_rank_t median_low, median_high, lower, upper;
    s_rank_init (&median_low, 0, n);
    median_low.below = (n - 1) / 2;
    s_rank_init (&median_high, 0, n);
    median_high.below = n / 2;
    s_rank_init (&lower, col->q_lower, n);
    s_rank_init (&upper, col->q_upper, n);
    //  The mode: the longest run of equal values, the smallest on a tie.
    uint64_t best_key = 0, best_run = 0, run = 0, key = 0, last_key = 0, i = 0;
    char *best_text = NULL, *last = NULL;
    size_t best_size = 0, best_cap = 0, last_size = 0, last_cap = 0, size = 0;
    const void *data = NULL;
    bool best_is_last = false, keys = col->numeric;
    int rc;
    while ((rc = keys ? fed_extsort_next_key (col->values, &key)
                      : fed_extsort_next (col->values, &data, &size))
           == 1) {
        if (keys) {
            double value = fed_extsort_double_key (key);
            s_rank_see (&median_low, i, value);
            s_rank_see (&median_high, i, value);
            s_rank_see (&lower, i, value);
            s_rank_see (&upper, i, value);
        }
        bool same =
            i > 0 && (keys ? key == last_key : size == last_size && !memcmp (data, last, size));
        if (!same) {
            run = 0;
            best_is_last = false;
            last_key = key;
            if (!keys) {
                s_grow (&last, &last_cap, size + 1);
                memcpy (last, data, size);
                last_size = size;
            }
        }
        if (++run > best_run) {
            best_run = run;
            if (!best_is_last) {
                best_key = last_key;
                if (!keys) {
                    s_grow (&best_text, &best_cap, last_size + 1);
                    memcpy (best_text, last, last_size);
                    best_size = last_size;
                }
                best_is_last = true;
            }
        }
        if (++i % 65536 == 0 && fed_task_cancelled (self->task)) {
            rc = -1;
            errno = ECANCELED;
            break;
        }
    }
    free (last);
    if (rc < 0) {
        free (best_text);
        return fed_task_fail (self->task, errno == ECANCELED ? "cancelled" : "io_error",
                              "reading column '%.100s' sorted: %s", self->plan->columns [c].ptr,
                              strerror (errno));
    }
    double fill = NAN;
    if (col->missing == FED_CLEAN_MISS_MEAN)
        fill = (double) (col->sum / (long double) col->count);
    else if (col->missing == FED_CLEAN_MISS_MEDIAN)
        fill = median_low.below == median_high.below ? median_low.a
                                                     : (median_low.a + median_high.a) / 2;
    else if (col->missing == FED_CLEAN_MISS_MODE && keys)
        fill = fed_extsort_double_key (best_key);
    if (col->missing == FED_CLEAN_MISS_MODE && !keys) {
        col->fill = fed_strndup (best_text, best_size);
        col->fill_len = best_size;
        col->fill_kind = FED_CELL_TEXT;
    } else if (col->missing >= FED_CLEAN_MISS_MEAN && col->missing <= FED_CLEAN_MISS_MODE) {
        col->fill_value = fill;
        col->fill = s_stat_text (col, fill, &col->fill_len);
        col->fill_kind = FED_CELL_NUMBER;
    }
    free (best_text);
    if (col->clip) {
        col->lower = col->has_lower ? s_rank_value (&lower) : -INFINITY;
        col->upper = col->has_upper ? s_rank_value (&upper) : INFINITY;
        col->lower_text = s_stat_text (col, col->lower, &col->lower_len);
        col->upper_text = s_stat_text (col, col->upper, &col->upper_len);
    }
    fed_extsort_destroy (&col->values);
    return 0;
}

//  Reads the input once, gathering the values of every column a statistic
//  needs, computes the statistics and rewinds.
static int
s_first_pass (s_run_t *self)
{
    fed_clean_t *plan = self->plan;
    size_t stats = 0;
    for (size_t c = 0; c < plan->ncols; c++)
        stats += plan->cols [c].clip
            || (plan->cols [c].missing >= FED_CLEAN_MISS_MEAN
                && plan->cols [c].missing <= FED_CLEAN_MISS_MODE);
    size_t share = (size_t) (fed_data_config (self->task)->memory_budget / (stats ? stats : 1));
    for (size_t c = 0; c < plan->ncols; c++) {
        fed_clean_col_t *col = &plan->cols [c];
        if (!col->clip
            && (col->missing < FED_CLEAN_MISS_MEAN || col->missing > FED_CLEAN_MISS_MODE))
            continue;
        char prefix [32];
        snprintf (prefix, sizeof prefix, "clean-%zu", c);
        col->values =
            fed_extsort_new (fed_task_workspace (self->task), prefix, share, col->numeric ? 8 : 0);
        col->all_int = true;
    }
    const fed_field_t *fields;
    int rc;
    while ((rc = fed_data_reader_next (plan->reader, &fields)) != 0) {
        if (rc == -1)
            return -1;
        if (rc == -2 || s_prepare (self, fields))
            continue;
        for (size_t c = 0; c < plan->ncols; c++) {
            fed_clean_col_t *col = &plan->cols [c];
            const fed_field_t *field = &self->row [c];
            if (!col->values || field->len == 0)
                continue;
            int added;
            if (col->numeric) {
                double value = self->num [c];
                if (isnan (value))
                    continue;
                added = fed_extsort_add_key (col->values, fed_extsort_key_double (value));
                col->sum += value;
                col->count++;
                if (col->all_int && fed_table_infer (field->ptr, field->len) != FED_TYPE_INT)
                    col->all_int = false;
            } else
                added = fed_extsort_add (col->values, field->ptr, field->len);
            if (added)
                return fed_task_fail (self->task, "io_error", "spilling column '%.100s': %s",
                                      plan->columns [c].ptr, strerror (errno));
        }
    }
    for (size_t c = 0; c < plan->ncols; c++) {
        if (!plan->cols [c].values)
            continue;
        uint64_t runs = fed_extsort_runs (plan->cols [c].values);
        if (s_column_stats (self, c))
            return -1;
        self->spill_files += runs;
    }
    return fed_data_reader_rewind (plan->reader);
}

static bool
s_dedup_hook (void *arg, uint64_t done)
{
    s_run_t *self = (s_run_t *) arg;
    fed_task_progress (self->task, done, 0, "dedup: resolving spilled rows");
    return !fed_task_cancelled (self->task);
}

//  Decides a held row: writes it, spills it or drops it. Returns 0, or -1
//  having failed the task.
static int
s_release (s_run_t *self, s_held_t *held, fed_data_writer_t *writer, fed_dedup_t *dedup)
{
    if (!held->full)
        return 0;
    held->full = false;
    int seen = fed_dedup_check (dedup, held->hash);
    if (seen == 0)
        return 0;
    if (seen == 2) {
        if (fed_dedup_spill (dedup, held->hash, held->row, held->data, held->size))
            return fed_task_fail (self->task, "io_error", "dedup spill: %s", strerror (errno));
        return 0;
    }
    s_decode (self, held->data);
    return fed_data_writer_row (writer, self->decoded);
}

//  One row through every stage to the writer or the dedup spill. Returns
//  0, or -1 having failed the task.
static int
s_row (s_run_t *self, const fed_field_t *fields, fed_data_writer_t *writer,
       fed_data_rejects_t *rejects, fed_dedup_t *dedup)
{
    fed_clean_t *plan = self->plan;
    if (s_prepare (self, fields)) {
        self->coerced_rejects++;
        return fed_data_rejects_row (rejects, fed_data_reader_line (plan->reader),
                                     fed_data_reader_line_offset (plan->reader), self->reason,
                                     fields, plan->ncols);
    }
    if (s_complete (self))
        return 0;
    if (!dedup)
        return fed_data_writer_row (writer, self->row);
    //  Hold this row, fetch its slot, and decide the one held before.
    s_held_t *held = &self->held [self->which];
    s_hash (self, held->hash);
    fed_dedup_prefetch (dedup, held->hash);
    held->size = s_encode (self, &held->data, &held->cap);
    held->row = self->rows_in;
    held->full = true;
    self->which ^= 1;
    return s_release (self, &self->held [self->which], writer, dedup);
}

//  Writes the dedup's spilled survivors after the direct rows.
static int
s_spilled (s_run_t *self, fed_dedup_t *dedup, fed_data_writer_t *writer)
{
    fed_dedup_set_hook (dedup, s_dedup_hook, self);
    if (fed_dedup_finish (dedup))
        return fed_task_fail (self->task, errno == ECANCELED ? "cancelled" : "io_error",
                              "dedup: %s", strerror (errno));
    const void *data;
    size_t size;
    int rc;
    uint64_t done = 0;
    while ((rc = fed_dedup_next (dedup, &data, &size)) == 1) {
        s_decode (self, (const char *) data);
        if (fed_data_writer_row (writer, self->decoded))
            return -1;
        if (++done % 4096 == 0) {
            fed_task_progress (self->task, done, 0, "dedup: writing spilled rows");
            if (fed_task_cancelled (self->task))
                return fed_task_fail (self->task, "cancelled", "cancelled writing spilled rows");
        }
    }
    if (rc < 0)
        return fed_task_fail (self->task, "io_error", "dedup: %s", strerror (errno));
    return 0;
}

//  The writing pass.
static int
s_second_pass (s_run_t *self)
{
    fed_clean_t *plan = self->plan;
    fed_task_t *task = self->task;
    fed_dedup_t *dedup = NULL;
    fed_data_rejects_t *rejects = NULL;
    fed_data_writer_t *writer =
        fed_data_writer_open (task, plan->out_name, plan->columns, plan->ncols);
    if (!writer || !(rejects = fed_data_rejects_open (task, "rejects.csv")))
        goto err;
    fed_cell_kind_t *kinds = (fed_cell_kind_t *) fed_calloc (plan->ncols + 1, sizeof *kinds);
    for (size_t c = 0; c < plan->ncols; c++)
        kinds [c] =
            plan->cols [c].type == FED_CLEAN_TYPE_INT || plan->cols [c].type == FED_CLEAN_TYPE_FLOAT
            ? FED_CELL_NUMBER
            : plan->cols [c].type == FED_CLEAN_TYPE_BOOL ? FED_CELL_BOOL
                                                         : FED_CELL_TEXT;
    fed_data_writer_kinds (writer, kinds);
    free (kinds);
    if (plan->dedup) {
        uint64_t expected = fed_data_reader_rows (plan->reader);
        if (!plan->two_pass)
            expected = fed_data_reader_size (plan->reader) / 32;
        dedup = fed_dedup_new (fed_task_workspace (task),
                               (size_t) fed_data_config (task)->memory_budget, expected);
    }
    const fed_field_t *fields;
    int rc;
    while ((rc = fed_data_reader_next (plan->reader, &fields)) != 0) {
        self->rows_in++;
        if (rc == -1)
            goto err;
        if (rc == -2) {
            self->malformed++;
            if (fed_data_rejects_malformed (rejects, plan->reader))
                goto err;
        } else if (s_row (self, fields, writer, rejects, dedup))
            goto err;
    }
    if (dedup) {
        if (s_release (self, &self->held [self->which ^ 1], writer, dedup)
            || s_spilled (self, dedup, writer))
            goto err;
        self->duplicates = fed_dedup_duplicates (dedup);
        self->spill_files += fed_dedup_files (dedup);
        fed_dedup_destroy (&dedup);
    }
    self->rows_out = fed_data_writer_rows (writer);
    uint64_t good = self->rows_in - self->malformed - self->coerced_rejects;
    if (fed_data_writer_close (&writer, task, "data"))
        goto err;
    return fed_data_rejects_close (&rejects, task, good, "rejects");
err:
    fed_dedup_destroy (&dedup);
    fed_data_writer_abort (&writer);
    if (rejects && fed_data_rejects_close (&rejects, task, 0, NULL))
        return -1;
    return -1;
}

static void
s_pack_str (msgpack_packer *pk, const char *text, size_t len)
{
    msgpack_pack_str (pk, len);
    msgpack_pack_str_body (pk, text, len);
}

//  {col: count} for the columns where flag holds.
static void
s_pack_counts (s_run_t *self, msgpack_packer *pk, bool clipped)
{
    fed_clean_t *plan = self->plan;
    size_t n = 0;
    for (size_t c = 0; c < plan->ncols; c++)
        n += clipped ? plan->cols [c].clip : plan->cols [c].missing >= FED_CLEAN_MISS_MEAN;
    msgpack_pack_map (pk, n);
    for (size_t c = 0; c < plan->ncols; c++) {
        const fed_clean_col_t *col = &plan->cols [c];
        if (clipped ? !col->clip : col->missing < FED_CLEAN_MISS_MEAN)
            continue;
        s_pack_str (pk, plan->columns [c].ptr, plan->columns [c].len);
        msgpack_pack_uint64 (pk, clipped ? col->clipped : col->filled);
    }
}

static void
s_output_stats (s_run_t *self)
{
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    const struct {
        const char *name;
        uint64_t value;
    } counts [] = {{"rows_in", self->rows_in},
                   {"rows_out", self->rows_out},
                   {"duplicates", self->duplicates},
                   {"dropped_missing", self->dropped_missing},
                   {"coerced_rejects", self->coerced_rejects},
                   {"coerced_nulls", self->coerced_nulls},
                   {"trimmed", self->trimmed},
                   {"malformed", self->malformed},
                   {"spill_files", self->spill_files}};
    size_t n = sizeof counts / sizeof counts [0];
    msgpack_pack_map (&pk, n + 2);
    for (size_t i = 0; i < n; i++) {
        s_pack_str (&pk, counts [i].name, strlen (counts [i].name));
        msgpack_pack_uint64 (&pk, counts [i].value);
        if (i == 3) {
            s_pack_str (&pk, "filled", 6);
            s_pack_counts (self, &pk, false);
        } else if (i == 5) {
            s_pack_str (&pk, "clipped", 7);
            s_pack_counts (self, &pk, true);
        }
    }
    if (fed_task_output_raw (self->task, "stats", buffer.data, buffer.size))
        fed_task_output_nil (self->task, "stats");
    msgpack_sbuffer_destroy (&buffer);
}

int
fed_data_clean_run (fed_task_t *task)
{
    char path [PATH_MAX];
    if (fed_data_input_path (task, "input", path))
        return -1;
    fed_clean_t plan = {0};
    s_run_t run = {0};
    plan.task = task;
    plan.reader = fed_data_reader_open (task, path, NULL);
    if (!plan.reader)
        return -1;
    plan.columns = fed_data_reader_columns (plan.reader, &plan.ncols);
    run.plan = &plan;
    run.task = task;
    int rc = -1;
    if (fed_clean_params (&plan))
        goto done;
    run.row = (fed_field_t *) fed_calloc (plan.ncols + 1, sizeof (fed_field_t));
    run.decoded = (fed_field_t *) fed_calloc (plan.ncols + 1, sizeof (fed_field_t));
    run.num = (double *) fed_calloc (plan.ncols + 1, sizeof (double));
    randombytes_buf (run.hash_key, sizeof run.hash_key);
    if ((plan.two_pass && s_first_pass (&run)))
        goto done;
    run.counting = true;
    if (s_second_pass (&run))
        goto done;
    fed_data_output_columns (task, "columns", plan.columns, plan.ncols);
    fed_data_output_params (task, "params");
    s_output_stats (&run);
    rc = 0;
done:
    fed_clean_free (&plan);
    fed_data_reader_close (&plan.reader);
    free (run.row);
    free (run.decoded);
    free (run.num);
    free (run.arena);
    free (run.key);
    free (run.held [0].data);
    free (run.held [1].data);
    return rc;
}
