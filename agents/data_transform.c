/*  agents/data_transform.c: data.transform (data.h, doc/agents-data.md).

    Fitting takes two passes over the input: the first counts (tokens,
    column statistics, categories) over the rows that will be written, the
    second writes data.csv with the fitted transform applied. Applying a
    fitted.json (param fitted) takes one pass. A row is written only when
    it is well formed and every scaled column holds a number or nothing;
    other rows go to rejects.csv (in the writing pass only, so once) and are
    left out of the fit, so the fitted values describe exactly the rows
    written.

    Memory: the vocabulary and each one-hot column count in a counter
    (transform_count.h) with an equal share of agents.data_memory; a full
    counter spills to sorted run files in the workspace and merges them
    after pass one. So the input may have any number of distinct tokens:
    only what is kept (max_size tokens, max_categories categories) must fit
    the budget for pass two, and when it does not the step fails
    "over_budget" naming the cap to lower.
*/
#include "transform_internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data_column.h"

//  One output row's growing text buffers.
typedef struct {
    char *text;
    size_t len, cap;
} s_buf_t;

typedef struct {
    fed_xform_t x;             //  the transform
    fed_data_reader_t *reader; //  the input
    fed_field_t *out;          //  one output row
    size_t out_count;          //  its width
    fed_field_t *header;       //  the output columns
    char **header_text;        //  names made here (owned), one per output column
    s_buf_t tokens;            //  this row's <col>_tokens
    s_buf_t vec;               //  this row's <col>_vec
    uint64_t *ids;             //  this row's token ids or hash indexes
    size_t id_cap;
    double *values;      //  this row's scaled columns' numbers
    bool *empty;         //  and which were empty
    char reason [200];   //  why the last row was refused
    const char *merging; //  what the counts being merged are, for progress
} s_run_t;

static void
s_buf_reserve (s_buf_t *buf, size_t more)
{
    if (buf->len + more + 1 <= buf->cap)
        return;
    size_t cap = buf->cap ? buf->cap : 256;
    while (cap < buf->len + more + 1)
        cap *= 2;
    buf->text = (char *) fed_realloc (buf->text, cap);
    buf->cap = cap;
}

//  Appends "id" or "id:value" (value with %.6g, or as an integer count),
//  after a space unless first.
static void
s_buf_pair (s_buf_t *buf, bool first, uint64_t id, bool pair, double value)
{
    s_buf_reserve (buf, 64);
    char *at = buf->text + buf->len;
    int n;
    if (!pair)
        n = snprintf (at, 64, "%s%llu", first ? "" : " ", (unsigned long long) id);
    else
        n = snprintf (at, 64, "%s%llu:%.6g", first ? "" : " ", (unsigned long long) id, value);
    buf->len += (size_t) n;
}

//  Parses a scaled column's field: a finite number, or empty. Returns 0,
//  or -1 with the row's reason set.
static int
s_numbers (s_run_t *self, const fed_field_t *fields)
{
    for (size_t i = 0; i < self->x.scale_count; i++) {
        const fed_field_t *f = &fields [self->x.scales [i].index];
        self->empty [i] = f->len == 0;
        if (f->len == 0)
            continue;
        fed_table_type_t type = fed_table_infer (f->ptr, f->len);
        char *end = NULL;
        double v = (type == FED_TYPE_INT || type == FED_TYPE_FLOAT) ? strtod (f->ptr, &end) : NAN;
        if (!isfinite (v) || end != f->ptr + f->len) {
            snprintf (self->reason, sizeof self->reason,
                      "column '%.60s': '%.60s' is not a finite number", self->x.scales [i].name,
                      f->ptr);
            return -1;
        }
        self->values [i] = v;
    }
    return 0;
}

//  A counter refused a string (ENOMEM: longer than its map may hold) or
//  could not write a spill file.
static int
s_count_failed (s_run_t *self, const char *what)
{
    if (errno == ENOMEM)
        return fed_task_fail (self->x.task, "over_budget",
                              "%s: a value of row %llu is longer than its share of config "
                              "agents.data_memory (%llu bytes); raise agents.data_memory",
                              what, (unsigned long long) fed_data_reader_rows (self->reader),
                              (unsigned long long) self->x.budget);
    return fed_task_fail (self->x.task, "io_error", "%s: writing spill files in the workspace: %s",
                          what, strerror (errno));
}

//  Pass one: counts one good row.
static int
s_fit_row (s_run_t *self, const fed_field_t *fields)
{
    fed_xform_t *x = &self->x;
    uint64_t doc = ++x->docs;
    if (x->vocabulary) {
        const fed_field_t *f = &fields [x->tok_index];
        size_t size, count;
        const char *joined = fed_tokenizer_run (x->tokenizer, f->ptr, f->len, &size, &count);
        for (const char *p = joined; *p;) {
            const char *space = strchr (p, ' ');
            size_t len = space ? (size_t) (space - p) : strlen (p);
            if (fed_xcount_add (x->vocab_count, p, len, doc))
                return s_count_failed (self, "the vocabulary");
            p += len + (space ? 1 : 0);
        }
    }
    for (size_t i = 0; i < x->scale_count; i++) {
        fed_xscale_t *s = &x->scales [i];
        if (self->empty [i])
            continue;
        double v = self->values [i];
        if (s->count == 0 || v < s->min)
            s->min = v;
        if (s->count == 0 || v > s->max)
            s->max = v;
        s->count++;
        double delta = v - s->mean;
        s->mean += delta / (double) s->count;
        s->m2 += delta * (v - s->mean);
    }
    for (size_t i = 0; i < x->onehot_count; i++) {
        fed_xonehot_t *o = &x->onehots [i];
        const fed_field_t *f = &fields [o->index];
        if (f->len && fed_xcount_add (o->count, f->ptr, f->len, doc))
            return s_count_failed (self, "the one-hot categories");
    }
    return 0;
}

static bool
s_merge_hook (void *arg, uint64_t done)
{
    s_run_t *self = (s_run_t *) arg;
    char text [120];
    snprintf (text, sizeof text, "%s: merging spilled counts", self->merging);
    fed_task_progress (self->x.task, done, 0, text);
    return !fed_task_cancelled (self->x.task);
}

//  Pass one's counters, each with an equal share of the budget, spilling
//  into the workspace.
static void
s_count_start (s_run_t *self)
{
    fed_xform_t *x = &self->x;
    size_t counters = (x->vocabulary ? 1 : 0) + x->onehot_count;
    uint64_t share = x->budget / (counters ? counters : 1);
    const char *dir = fed_task_workspace (x->task);
    if (x->vocabulary) {
        x->vocab_count = fed_xcount_new (dir, "transform-vocab", share);
        fed_xcount_set_hook (x->vocab_count, s_merge_hook, self);
    }
    for (size_t i = 0; i < x->onehot_count; i++) {
        char prefix [40];
        snprintf (prefix, sizeof prefix, "transform-onehot-%zu", i);
        x->onehots [i].count = fed_xcount_new (dir, prefix, share);
        fed_xcount_set_hook (x->onehots [i].count, s_merge_hook, self);
    }
}

//  The bytes the budget leaves counter for what it keeps: the budget less
//  every other counter's map and the kept maps made so far.
static uint64_t
s_count_left (const fed_xform_t *x, const fed_xcount_t *counter)
{
    uint64_t held = x->vocab ? fed_vocab_bytes (x->vocab) : 0;
    if (x->vocab_count && x->vocab_count != counter)
        held += fed_xcount_bytes (x->vocab_count);
    for (size_t i = 0; i < x->onehot_count; i++) {
        const fed_xonehot_t *o = &x->onehots [i];
        held += o->values ? fed_vocab_bytes (o->values) : 0;
        if (o->count && o->count != counter)
            held += fed_xcount_bytes (o->count);
    }
    return x->budget > held ? x->budget - held : 0;
}

//  fed_xcount_finish failed for what, kept at most cap_name = cap.
static int
s_finish_failed (s_run_t *self, const char *what, const char *cap_name, uint64_t cap)
{
    fed_task_t *task = self->x.task;
    if (errno == ENOMEM)
        return fed_task_fail (task, "over_budget",
                              "%s: what it keeps (%s %llu) needs more memory than config "
                              "agents.data_memory (%llu bytes) allows; lower %s or raise "
                              "agents.data_memory",
                              what, cap_name, (unsigned long long) cap,
                              (unsigned long long) self->x.budget, cap_name);
    if (errno == ECANCELED)
        return fed_task_fail (task, "cancelled", "cancelled while merging %s", what);
    return fed_task_fail (task, "io_error", "%s: reading spill files in the workspace: %s", what,
                          strerror (errno));
}

//  After pass one: categories, ids, idf, standard deviations. The one-hot
//  columns first: theirs are at most 1,000 kept, the vocabulary takes what
//  they leave. Returns 0, or -1 having failed the task.
static int
s_fit_finish (s_run_t *self)
{
    fed_xform_t *x = &self->x;
    for (size_t i = 0; i < x->onehot_count; i++) {
        fed_xonehot_t *o = &x->onehots [i];
        char what [160];
        snprintf (what, sizeof what, "one-hot column '%.100s'", o->name);
        self->merging = what;
        o->values = fed_xcount_finish (o->count, 1, o->max_categories, s_count_left (x, o->count));
        if (!o->values)
            return s_finish_failed (self, what, "max_categories", o->max_categories);
        size_t kept;
        fed_xcount_kept (o->count, &kept);
        o->other = fed_xcount_distinct (o->count) > kept;
        fed_xcount_destroy (&o->count);
        o->kept = fed_vocab_sort_bytes (o->values, &o->categories);
    }
    if (x->vocabulary) {
        self->merging = "the vocabulary";
        x->vocab = fed_xcount_finish (x->vocab_count, x->min_count, x->max_size,
                                      s_count_left (x, x->vocab_count));
        if (!x->vocab)
            return s_finish_failed (self, "the vocabulary", "vocabulary.max_size", x->max_size);
        x->kept = fed_xcount_kept (x->vocab_count, &x->vocab_kept);
        fed_xcount_destroy (&x->vocab_count);
        if (x->vec == FED_VEC_TFIDF) {
            x->idf = (double *) fed_calloc (x->vocab_kept + 1, sizeof (double));
            for (size_t i = 0; i < x->vocab_kept; i++)
                x->idf [i + 1] =
                    log ((1.0 + (double) x->docs) / (1.0 + (double) x->kept [i]->docs)) + 1.0;
        }
    }
    for (size_t i = 0; i < x->scale_count; i++) {
        fed_xscale_t *s = &x->scales [i];
        s->std = s->count ? sqrt (s->m2 / (double) s->count) : 0.0;
    }
    return 0;
}

static int
s_cmp_u64 (const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
    return x < y ? -1 : x > y;
}

//  The row's vector from its tokens (self->tokens): "i:v i:v" or "id id".
static void
s_vectorize (s_run_t *self)
{
    fed_xform_t *x = &self->x;
    self->vec.len = 0;
    size_t n = 0;
    for (const char *p = self->tokens.text; *p;) {
        const char *space = strchr (p, ' ');
        size_t len = space ? (size_t) (space - p) : strlen (p);
        if (n == self->id_cap) {
            self->id_cap = self->id_cap ? self->id_cap * 2 : 64;
            self->ids = (uint64_t *) fed_realloc (self->ids, self->id_cap * sizeof (uint64_t));
        }
        if (x->vec == FED_VEC_HASHING)
            self->ids [n++] = fed_fnv1a32 (p, len) % x->dims;
        else {
            const fed_vocab_entry_t *e = fed_vocab_find (x->vocab, p, len);
            uint64_t id = e ? e->id : 0;
            x->oov += id == 0;
            if (x->vec == FED_VEC_IDS)
                s_buf_pair (&self->vec, n == 0, id, false, 0);
            if (id || x->vec == FED_VEC_IDS)
                self->ids [n++] = id;
        }
        p += len + (space ? 1 : 0);
    }
    if (x->vec == FED_VEC_IDS)
        return;
    qsort (self->ids, n, sizeof (uint64_t), s_cmp_u64);
    double norm = 0;
    for (int round = 0; round < 2; round++)
        for (size_t i = 0, first = 1; i < n;) {
            size_t k = i;
            while (k < n && self->ids [k] == self->ids [i])
                k++;
            double tf = (double) (k - i);
            if (x->vec == FED_VEC_HASHING) {
                if (round == 1)
                    s_buf_pair (&self->vec, first, self->ids [i], true, tf);
            } else if (round == 0)
                norm += (tf * x->idf [self->ids [i]]) * (tf * x->idf [self->ids [i]]);
            else
                s_buf_pair (&self->vec, first, self->ids [i], true,
                            tf * x->idf [self->ids [i]] / sqrt (norm));
            if (round == 1)
                first = 0;
            i = k;
        }
}

static void
s_scale_text (fed_xscale_t *s, double v, bool empty)
{
    if (empty) {
        s->text [0] = '\0';
        return;
    }
    double out;
    if (s->method == FED_SCALE_MINMAX)
        out = s->max > s->min ? (v - s->min) / (s->max - s->min) : 0.0;
    else
        out = s->std > 0 ? (v - s->mean) / s->std : 0.0;
    if (out == 0)
        out = 0; //  no "-0"
    snprintf (s->text, sizeof s->text, "%.6g", out);
}

//  Pass two (or the one pass when applying): writes one good row.
static int
s_write_row (s_run_t *self, fed_data_writer_t *writer, const fed_field_t *fields)
{
    fed_xform_t *x = &self->x;
    size_t width;
    fed_data_reader_columns (self->reader, &width);
    memcpy (self->out, fields, width * sizeof (fed_field_t));
    size_t at = width;
    for (size_t i = 0; i < x->scale_count; i++) {
        fed_xscale_t *s = &x->scales [i];
        s_scale_text (s, self->values [i], self->empty [i]);
        self->out [s->index] = (fed_field_t){s->text, strlen (s->text), FED_CELL_TEXT};
    }
    if (x->tokenize) {
        const fed_field_t *f = &fields [x->tok_index];
        size_t size, count;
        const char *joined = fed_tokenizer_run (x->tokenizer, f->ptr, f->len, &size, &count);
        x->tokens_seen += count;
        self->tokens.len = 0;
        s_buf_reserve (&self->tokens, size);
        memcpy (self->tokens.text, joined, size + 1);
        self->tokens.len = size;
        self->out [at++] = (fed_field_t){self->tokens.text, size, FED_CELL_TEXT};
    }
    if (x->vec != FED_VEC_NONE) {
        s_buf_reserve (&self->vec, 0);
        s_vectorize (self);
        self->vec.text [self->vec.len] = '\0';
        self->out [at++] = (fed_field_t){self->vec.text, self->vec.len, FED_CELL_TEXT};
    }
    for (size_t i = 0; i < x->onehot_count; i++) {
        fed_xonehot_t *o = &x->onehots [i];
        const fed_field_t *f = &fields [o->index];
        const fed_vocab_entry_t *e = f->len ? fed_vocab_find (o->values, f->ptr, f->len) : NULL;
        uint64_t id = e ? e->id : 0;
        for (size_t k = 0; k < o->categories; k++)
            self->out [at++] = id == k + 1 ? (fed_field_t){"1", 1, FED_CELL_TEXT}
                                           : (fed_field_t){"0", 1, FED_CELL_TEXT};
        if (o->other)
            self->out [at++] = f->len && id == 0 ? (fed_field_t){"1", 1, FED_CELL_TEXT}
                                                 : (fed_field_t){"0", 1, FED_CELL_TEXT};
    }
    return fed_data_writer_row (writer, self->out);
}

//  Sets output column at to the name a + b (b_len bytes), made here.
static void
s_name (s_run_t *self, size_t at, const char *a, const char *b, size_t b_len)
{
    size_t a_len = strlen (a);
    char *name = (char *) fed_malloc (a_len + b_len + 1);
    memcpy (name, a, a_len);
    memcpy (name + a_len, b, b_len);
    name [a_len + b_len] = '\0';
    self->header_text [at] = name;
    self->header [at] = (fed_field_t){name, a_len + b_len, FED_CELL_TEXT};
}

//  The output columns: the input's, <col>_tokens, <col>_vec, one per
//  category. Returns 0, or -1 having failed the task on a name clash.
static int
s_header (s_run_t *self)
{
    fed_xform_t *x = &self->x;
    size_t width;
    const fed_field_t *columns = fed_data_reader_columns (self->reader, &width);
    size_t count = width + (x->tokenize ? 1 : 0) + (x->vec != FED_VEC_NONE ? 1 : 0);
    for (size_t i = 0; i < x->onehot_count; i++)
        count += x->onehots [i].categories + (x->onehots [i].other ? 1 : 0);
    self->out_count = count;
    self->out = (fed_field_t *) fed_calloc (count ? count : 1, sizeof (fed_field_t));
    self->header = (fed_field_t *) fed_calloc (count ? count : 1, sizeof (fed_field_t));
    self->header_text = (char **) fed_calloc (count ? count : 1, sizeof (char *));
    memcpy (self->header, columns, width * sizeof (fed_field_t));
    size_t at = width;
    if (x->tokenize)
        s_name (self, at++, x->tok_name, "_tokens", 7);
    if (x->vec != FED_VEC_NONE)
        s_name (self, at++, x->tok_name, "_vec", 4);
    for (size_t i = 0; i < x->onehot_count; i++) {
        fed_xonehot_t *o = &x->onehots [i];
        char *prefix = fed_sprintf ("%s=", o->name);
        for (size_t k = 0; k < o->categories; k++) {
            if (o->kept)
                s_name (self, at++, prefix, o->kept [k]->text, o->kept [k]->len);
            else
                s_name (self, at++, prefix, o->loaded [k], strlen (o->loaded [k]));
        }
        if (o->other)
            s_name (self, at++, prefix, "__other__", 9);
        free (prefix);
    }
    for (size_t i = width; i < count; i++)
        for (size_t k = 0; k < i; k++)
            if (self->header [k].len == self->header [i].len
                && !memcmp (self->header [k].ptr, self->header [i].ptr, self->header [i].len))
                return fed_task_fail (x->task, "bad_params",
                                      "output column '%.100s' is already a column; rename it "
                                      "first",
                                      self->header [i].ptr);
    return 0;
}

//  One pass over the input. write: write the good rows and the rejects;
//  else fit on the good rows. Returns 0, or -1 having failed the task.
static int
s_pass (s_run_t *self, fed_data_writer_t *writer, fed_data_rejects_t *rejects)
{
    const fed_field_t *fields;
    size_t width;
    fed_data_reader_columns (self->reader, &width);
    int rc;
    while ((rc = fed_data_reader_next (self->reader, &fields)) != 0) {
        if (rc == -1)
            return -1;
        if (rc == -2) {
            if (writer && fed_data_rejects_malformed (rejects, self->reader))
                return -1;
            continue;
        }
        if (s_numbers (self, fields)) {
            if (writer
                && fed_data_rejects_row (rejects, fed_data_reader_line (self->reader), 0,
                                         self->reason, fields, width))
                return -1;
            continue;
        }
        if (writer ? s_write_row (self, writer, fields) : s_fit_row (self, fields))
            return -1;
    }
    return 0;
}

static void
s_output_stats (s_run_t *self, uint64_t rows, uint64_t rejected)
{
    fed_xform_t *x = &self->x;
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    const char *keys [] = {"rows", "rejected", "fitted_rows", "tokens", "vocabulary", "oov"};
    uint64_t values [] = {rows, rejected, x->docs, x->tokens_seen, x->vocab_kept, x->oov};
    msgpack_pack_map (&pk, 6);
    for (size_t i = 0; i < 6; i++) {
        msgpack_pack_str (&pk, strlen (keys [i]));
        msgpack_pack_str_body (&pk, keys [i], strlen (keys [i]));
        msgpack_pack_uint64 (&pk, values [i]);
    }
    if (fed_task_output_raw (x->task, "stats", buffer.data, buffer.size))
        fed_task_output_nil (x->task, "stats");
    msgpack_sbuffer_destroy (&buffer);
}

//  Checks the top-level params against the ones data.transform takes.
static int
s_check_params (fed_task_t *task)
{
    static const char *const known [] = {"input",     "tokenize",    "vocabulary",
                                         "vectorize", "scale",       "onehot",
                                         "fitted",    "max_rejects", "max_reject_ratio"};
    return fed_data_check_params (task, known, sizeof known / sizeof known [0]);
}

static void
s_run_free (s_run_t *self)
{
    fed_xform_free (&self->x);
    fed_data_reader_close (&self->reader);
    for (size_t i = 0; self->header_text && i < self->out_count; i++)
        free (self->header_text [i]);
    free (self->header_text);
    free (self->header);
    free (self->out);
    free (self->tokens.text);
    free (self->vec.text);
    free (self->ids);
    free (self->values);
    free (self->empty);
}

int
fed_data_transform_run (fed_task_t *task)
{
    s_run_t self;
    memset (&self, 0, sizeof self);
    fed_xform_t *x = &self.x;
    x->task = task;
    x->budget = fed_data_config (task)->memory_budget;
    x->apply = fed_task_has (task, "fitted");
    x->origin = x->apply ? "fitted param" : "param";
    fed_data_writer_t *writer = NULL;
    fed_data_rejects_t *rejects = NULL;
    char path [PATH_MAX];
    if (s_check_params (task) || fed_data_input_path (task, "input", path))
        goto err;
    if (x->apply) {
        if (fed_xform_fitted_open (x))
            goto err;
    } else
        for (int p = 0; p < FED_XP_COUNT; p++) {
            const uint8_t *data;
            size_t size;
            if (fed_task_param_raw (task, fed_xparam_names [p], &data, &size) == 0)
                x->raw [p] = (fed_blob_t){data, size};
        }
    self.reader = fed_data_reader_open (task, path, NULL);
    if (!self.reader)
        goto err;
    //  Empty input (no columns) has nothing to check the spec against: it
    //  gives an empty data.csv and a fitted.json of no rows.
    size_t width;
    fed_data_reader_columns (self.reader, &width);
    if (width && fed_xform_spec_parse (x, self.reader))
        goto err;
    self.values = (double *) fed_calloc (x->scale_count + 1, sizeof (double));
    self.empty = (bool *) fed_calloc (x->scale_count + 1, sizeof (bool));
    if (width == 0)
        ;
    else if (x->apply) {
        if (fed_xform_fitted_load (x))
            goto err;
    } else {
        s_count_start (&self);
        if (s_pass (&self, NULL, NULL) || s_fit_finish (&self)
            || fed_data_reader_rewind (self.reader))
            goto err;
    }
    if (s_header (&self))
        goto err;
    writer = fed_data_writer_open (task, "data.csv", self.header, width ? self.out_count : 0);
    rejects = writer ? fed_data_rejects_open (task, "rejects.csv") : NULL;
    if (!rejects || s_pass (&self, writer, rejects))
        goto err;
    uint64_t good = fed_data_writer_rows (writer);
    uint64_t refused = fed_data_rejects_count (rejects);
    if (fed_data_writer_close (&writer, task, "data")
        || fed_data_rejects_close (&rejects, task, good, "rejects") || fed_xform_fitted_write (x))
        goto err;
    fed_data_output_columns (task, "columns", self.header, width ? self.out_count : 0);
    fed_data_output_params (task, "params");
    s_output_stats (&self, good, refused);
    s_run_free (&self);
    return 0;
err:
    fed_data_writer_abort (&writer);
    if (rejects) {
        int ignored = fed_data_rejects_close (&rejects, task, 0, NULL); //  the task has failed
        (void) ignored;
    }
    s_run_free (&self);
    return -1;
}
