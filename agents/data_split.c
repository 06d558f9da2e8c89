/*  agents/data_split.c: data.split (data.h), train/validation/test by a
    seeded hash.

    A row's split is a function of its own bytes and the seed only, never of
    its position or of the other rows: rows appended to the input later, or
    the same rows in another order, land where they landed before. That is
    what lets a dataset grow without a row moving from test into train.

    The hash is SipHash-2-4 (libsodium crypto_shorthash) under a 16-byte key
    made of the seed as a little-endian 64-bit two's-complement integer
    followed by eight zero bytes. Its message is, for each hashed field in
    column order, the field's length as a little-endian 64-bit integer and
    then its bytes (the text as read: CSV unquoted, a JSON string's text, a
    JSON number's text). The fields hashed are the `key` columns, or the
    `group` column, or else the whole row. The 64-bit result h maps to
    u = (h >> 11) / 2^53 in [0, 1), and the row goes to the first split
    whose cumulative ratio exceeds u (the last split takes any rounding
    remainder).

    Stratification. A class's rows are placed by the same hash, and u is
    uniform whatever the class, so every class is split in the ratios in
    expectation; a class of n rows deviates from ratio r by about
    sqrt (r (1 - r) / n). Making the proportions exact would need to see
    the whole class first and would move old rows when new ones arrive, so
    data.split keeps the hash placement and reports by_class counts for the
    user to check.

    One pass, one read of each row, one write. Memory: the split writers'
    buffers, the hash buffer (one row), at most CLASSES_MAX classes, and a
    set of 64-bit group hashes bounded by config agents.data_memory (past
    it the group count is a lower bound, groups_exact false).
*/
#include "data_internal.h"

#include <math.h>
#include <msgpack.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define SPLITS_MAX 8
#define NAME_MAX_LEN 64
#define CLASSES_MAX 1000
#define CLASS_TEXT_MAX 200
#define CLASS_SLOTS 2048 //  a power of two over twice CLASSES_MAX
#define RATIO_SLACK 1e-9

//  One output split.
typedef struct {
    char name [NAME_MAX_LEN + 1]; //  from the ratios param
    double ratio;                 //  its share, > 0
    double upper;                 //  cumulative ratio up to and with this split
    fed_data_writer_t *writer;    //  open while rows are read
    fed_data_file_t file;         //  what the closed file reports
    uint64_t groups;              //  distinct groups placed here
} s_split_t;

//  One class of the stratify column.
typedef struct {
    char *value;                  //  its text, owned
    size_t len;                   //  bytes in value
    uint64_t counts [SPLITS_MAX]; //  rows per split
} s_class_t;

typedef struct {
    fed_task_t *task;                        //  not owned
    s_split_t splits [SPLITS_MAX];           //  in the order of the ratios param
    size_t split_count;                      //  1 to SPLITS_MAX
    uint8_t key [crypto_shorthash_KEYBYTES]; //  the seed, expanded
    int64_t seed;                            //  as given
    fed_data_columns_t key_columns;          //  param key (count 0: the whole row)
    ssize_t stratify;                        //  column index, -1 if none
    ssize_t group;                           //  column index, -1 if none
    bool stratified;                         //  param stratify given
    bool grouped;                            //  param group given
    uint8_t *buffer;                         //  the hashed message of one row
    size_t buffer_size;                      //  bytes allocated
    s_class_t classes [CLASSES_MAX];         //  in order of first appearance
    size_t class_count;                      //  classes used
    int16_t class_slots [CLASS_SLOTS];       //  open addressing: class index, -1 empty
    uint64_t *group_set;                     //  open addressing of group hashes, 0 empty
    size_t group_capacity;                   //  slots (a power of two), 0 before the first
    size_t group_max;                        //  slots the memory budget allows
    uint64_t group_count;                    //  distinct groups seen (a lower bound if capped)
    bool group_zero;                         //  the hash 0 was seen (it marks empty slots)
    bool group_capped;                       //  the set stopped growing at the budget
} s_state_t;

static const char *const s_reserved [] = {"splits",       "counts",          "by_class", "groups",
                                          "groups_exact", "groups_by_split", "rows",     "rejects",
                                          "columns",      "params",          NULL};

//  --- Params ---------------------------------------------------------------

static int
s_name_ok (const char *name, uint32_t len)
{
    if (len == 0 || len > NAME_MAX_LEN)
        return -1;
    for (uint32_t i = 0; i < len; i++) {
        char c = name [i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'
              || c == '-'))
            return -1;
    }
    for (size_t i = 0; s_reserved [i]; i++)
        if (strlen (s_reserved [i]) == len && !memcmp (s_reserved [i], name, len))
            return -1;
    return 0;
}

static void
s_split_add (s_state_t *self, const char *name, size_t len, double ratio)
{
    s_split_t *split = &self->splits [self->split_count++];
    memcpy (split->name, name, len);
    split->name [len] = '\0';
    split->ratio = ratio;
}

//  Reads param ratios into self->splits. Returns 0, or -1 having failed.
static int
s_parse_ratios (s_state_t *self)
{
    fed_task_t *task = self->task;
    if (!fed_task_has (task, "ratios")) {
        s_split_add (self, "train", 5, 0.8);
        s_split_add (self, "validation", 10, 0.1);
        s_split_add (self, "test", 4, 0.1);
    } else {
        fed_mpr_t mpr;
        uint32_t count;
        if (fed_task_param_type (task, "ratios") != FED_MP_MAP
            || fed_task_param_map (task, "ratios", &mpr, &count))
            return fed_task_fail (task, "bad_params",
                                  "param \"ratios\" must be a map of split name to share, "
                                  "e.g. {train: 0.8, validation: 0.1, test: 0.1}");
        if (count < 1 || count > SPLITS_MAX)
            return fed_task_fail (task, "bad_params",
                                  "param \"ratios\" must name 1 to %d splits, got %u", SPLITS_MAX,
                                  count);
        for (uint32_t i = 0; i < count; i++) {
            const char *name;
            uint32_t len;
            double ratio;
            if (fed_mpr_str (&mpr, &name, &len) || s_name_ok (name, len))
                return fed_task_fail (task, "bad_params",
                                      "param \"ratios\": split %u needs a name of 1 to %d "
                                      "letters, digits, '_' or '-', not one of the output's "
                                      "own keys (splits, counts, rejects, ...)",
                                      i + 1, NAME_MAX_LEN);
            fed_mp_type_t type = fed_mpr_peek (&mpr);
            if ((type != FED_MP_UINT && type != FED_MP_INT && type != FED_MP_FLOAT)
                || fed_mpr_double (&mpr, &ratio))
                return fed_task_fail (task, "bad_params",
                                      "param \"ratios\": the share of '%.*s' must be a number, "
                                      "got %s",
                                      (int) len, name, fed_mp_type_name (type));
            if (!(ratio > 0) || !isfinite (ratio))
                return fed_task_fail (task, "bad_params",
                                      "param \"ratios\": the share of '%.*s' must be above 0, "
                                      "got %g",
                                      (int) len, name, ratio);
            s_split_add (self, name, len, ratio);
        }
    }
    double sum = 0;
    for (size_t i = 0; i < self->split_count; i++) {
        sum += self->splits [i].ratio;
        self->splits [i].upper = sum;
    }
    if (fabs (sum - 1.0) > RATIO_SLACK)
        return fed_task_fail (task, "bad_params",
                              "param \"ratios\": the shares must sum to 1, they sum to %.12g", sum);
    self->splits [self->split_count - 1].upper = 2.0; //  takes whatever rounding leaves
    return 0;
}

//  Reads param name (one column) into *index. Returns 0, or -1 having failed.
static int
s_one_column (s_state_t *self, fed_data_reader_t *reader, const char *name, ssize_t *index)
{
    fed_data_columns_t columns;
    int rc = fed_data_param_columns (self->task, name, reader, &columns);
    if (rc == 0 && columns.count > 1)
        rc = fed_task_fail (self->task, "bad_params", "param \"%s\" must name one column", name);
    if (rc == 0 && columns.count == 1)
        *index = (ssize_t) columns.index [0];
    fed_data_columns_free (&columns);
    return rc;
}

//  The column params, checked against the input's columns. An input with
//  no columns (empty) has nothing to look up.
static int
s_parse_columns (s_state_t *self, fed_data_reader_t *reader)
{
    fed_task_t *task = self->task;
    size_t count;
    fed_data_reader_columns (reader, &count);
    if (fed_task_has (task, "key") && fed_task_has (task, "group"))
        return fed_task_fail (task, "bad_params",
                              "params \"key\" and \"group\" exclude each other: a grouped row "
                              "is placed by its group's value");
    self->stratified = fed_task_has (task, "stratify");
    self->grouped = fed_task_has (task, "group");
    if (count == 0)
        return 0;
    if (fed_data_param_columns (task, "key", reader, &self->key_columns)
        || s_one_column (self, reader, "stratify", &self->stratify)
        || s_one_column (self, reader, "group", &self->group))
        return -1;
    return 0;
}

//  --- Hashing --------------------------------------------------------------

static uint8_t *
s_put_le64 (uint8_t *at, uint64_t value)
{
    for (int i = 0; i < 8; i++)
        at [i] = (uint8_t) (value >> (8 * i));
    return at + 8;
}

//  The seeded hash of count fields (indexes into fields, or the first count
//  fields when index is NULL), as the file's header says.
static uint64_t
s_hash (s_state_t *self, const fed_field_t *fields, const size_t *index, size_t count)
{
    size_t need = 0;
    for (size_t i = 0; i < count; i++)
        need += 8 + fields [index ? index [i] : i].len;
    if (need > self->buffer_size) {
        self->buffer_size = need * 2;
        self->buffer = (uint8_t *) fed_realloc (self->buffer, self->buffer_size);
    }
    uint8_t *at = self->buffer;
    for (size_t i = 0; i < count; i++) {
        const fed_field_t *field = &fields [index ? index [i] : i];
        at = s_put_le64 (at, field->len);
        memcpy (at, field->ptr, field->len);
        at += field->len;
    }
    uint8_t out [crypto_shorthash_BYTES];
    crypto_shorthash (out, self->buffer, need, self->key);
    uint64_t h = 0;
    for (int i = 7; i >= 0; i--)
        h = (h << 8) | out [i];
    return h;
}

static size_t
s_pick (const s_state_t *self, uint64_t h)
{
    double u = (double) (h >> 11) * 0x1.0p-53;
    size_t i = 0;
    while (u >= self->splits [i].upper)
        i++;
    return i;
}

//  --- Classes and groups ---------------------------------------------------

//  Counts a row of the class in field under split. Returns 0, or -1 having
//  failed the task (too many classes, a class too long).
static int
s_class_count (s_state_t *self, const fed_field_t *field, size_t split)
{
    uint32_t h = 2166136261u; //  FNV-1a: the table is small and the keys are short
    for (size_t i = 0; i < field->len; i++)
        h = (h ^ (uint8_t) field->ptr [i]) * 16777619u;
    size_t slot = h & (CLASS_SLOTS - 1);
    while (self->class_slots [slot] >= 0) {
        s_class_t *known = &self->classes [self->class_slots [slot]];
        if (known->len == field->len && !memcmp (known->value, field->ptr, field->len)) {
            known->counts [split]++;
            return 0;
        }
        slot = (slot + 1) & (CLASS_SLOTS - 1);
    }
    if (self->class_count == CLASSES_MAX)
        return fed_task_fail (self->task, "bad_input",
                              "the stratify column has more than %d distinct values; it should "
                              "hold a class label",
                              CLASSES_MAX);
    if (field->len > CLASS_TEXT_MAX)
        return fed_task_fail (self->task, "bad_input",
                              "a value of the stratify column is over %d bytes; it should hold "
                              "a class label",
                              CLASS_TEXT_MAX);
    s_class_t *class = &self->classes [self->class_count];
    class->value = fed_strndup (field->ptr, field->len);
    class->len = field->len;
    class->counts [split] = 1;
    self->class_slots [slot] = (int16_t) self->class_count++;
    return 0;
}

static void
s_group_insert (uint64_t *set, size_t capacity, uint64_t h)
{
    size_t slot = h & (capacity - 1);
    while (set [slot] && set [slot] != h)
        slot = (slot + 1) & (capacity - 1);
    set [slot] = h;
}

//  Notes group hash h (placed in split); counts it if it is new.
static void
s_group_count (s_state_t *self, uint64_t h, size_t split)
{
    if (h == 0) {
        if (!self->group_zero) {
            self->group_zero = true;
            self->group_count++;
            self->splits [split].groups++;
        }
        return;
    }
    if (self->group_capacity) {
        size_t slot = h & (self->group_capacity - 1);
        while (self->group_set [slot]) {
            if (self->group_set [slot] == h)
                return;
            slot = (slot + 1) & (self->group_capacity - 1);
        }
    }
    //  New: grow at half full, within the budget, else stop counting.
    if ((self->group_count + 1) * 2 > self->group_capacity) {
        size_t capacity = self->group_capacity ? self->group_capacity * 2 : 1024;
        if (capacity > self->group_max) {
            self->group_capped = true;
            return;
        }
        uint64_t *set = (uint64_t *) fed_calloc (capacity, sizeof (uint64_t));
        for (size_t i = 0; i < self->group_capacity; i++)
            if (self->group_set [i])
                s_group_insert (set, capacity, self->group_set [i]);
        free (self->group_set);
        self->group_set = set;
        self->group_capacity = capacity;
    }
    s_group_insert (self->group_set, self->group_capacity, h);
    self->group_count++;
    self->splits [split].groups++;
}

//  --- Output ---------------------------------------------------------------

static void
s_pack_str (msgpack_packer *pk, const char *text, size_t len)
{
    msgpack_pack_str (pk, len);
    msgpack_pack_str_body (pk, text, len);
}

static void
s_output (s_state_t *self, const char *key, msgpack_sbuffer *buffer)
{
    if (fed_task_output_raw (self->task, key, buffer->data, buffer->size))
        fed_task_fail (self->task, "agent_error", "output %s did not pack", key); //  a bug
    msgpack_sbuffer_clear (buffer);
}

static int
s_class_order (const void *a, const void *b)
{
    const s_class_t *x = *(const s_class_t *const *) a, *y = *(const s_class_t *const *) b;
    int c = memcmp (x->value, y->value, x->len < y->len ? x->len : y->len);
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

//  splits, each split, counts, by_class, groups.
static void
s_output_splits (s_state_t *self)
{
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, self->split_count);
    for (size_t i = 0; i < self->split_count; i++) {
        s_pack_str (&pk, self->splits [i].name, strlen (self->splits [i].name));
        fed_data_pack_file (&pk, &self->splits [i].file);
    }
    s_output (self, "splits", &buffer);
    for (size_t i = 0; i < self->split_count; i++) {
        fed_data_pack_file (&pk, &self->splits [i].file);
        s_output (self, self->splits [i].name, &buffer);
    }
    msgpack_pack_map (&pk, self->split_count);
    for (size_t i = 0; i < self->split_count; i++) {
        s_pack_str (&pk, self->splits [i].name, strlen (self->splits [i].name));
        msgpack_pack_uint64 (&pk, self->splits [i].file.rows);
    }
    s_output (self, "counts", &buffer);
    if (self->stratified) {
        s_class_t *order [CLASSES_MAX];
        for (size_t c = 0; c < self->class_count; c++)
            order [c] = &self->classes [c];
        qsort (order, self->class_count, sizeof order [0], s_class_order);
        msgpack_pack_map (&pk, self->class_count);
        for (size_t c = 0; c < self->class_count; c++) {
            s_pack_str (&pk, order [c]->value, order [c]->len);
            msgpack_pack_map (&pk, self->split_count);
            for (size_t i = 0; i < self->split_count; i++) {
                s_pack_str (&pk, self->splits [i].name, strlen (self->splits [i].name));
                msgpack_pack_uint64 (&pk, order [c]->counts [i]);
            }
        }
        s_output (self, "by_class", &buffer);
    }
    if (self->grouped) {
        fed_task_output_int (self->task, "groups", (int64_t) self->group_count);
        fed_task_output_bool (self->task, "groups_exact", !self->group_capped);
        msgpack_pack_map (&pk, self->split_count);
        for (size_t i = 0; i < self->split_count; i++) {
            s_pack_str (&pk, self->splits [i].name, strlen (self->splits [i].name));
            msgpack_pack_uint64 (&pk, self->splits [i].groups);
        }
        s_output (self, "groups_by_split", &buffer);
    }
    msgpack_sbuffer_destroy (&buffer);
}

//  --- The agent ------------------------------------------------------------

//  Reads every row into its split. Returns 0, or -1 having failed.
static int
s_split_rows (s_state_t *self, fed_data_reader_t *reader, fed_data_rejects_t *rejects)
{
    size_t count;
    fed_data_reader_columns (reader, &count);
    const fed_field_t *fields;
    int rc;
    while ((rc = fed_data_reader_next (reader, &fields)) != 0) {
        if (rc == -1)
            return -1;
        if (rc == -2) {
            if (fed_data_rejects_malformed (rejects, reader))
                return -1;
            continue;
        }
        uint64_t h;
        if (self->group >= 0) {
            size_t index = (size_t) self->group;
            h = s_hash (self, fields, &index, 1);
        } else if (self->key_columns.count)
            h = s_hash (self, fields, self->key_columns.index, self->key_columns.count);
        else
            h = s_hash (self, fields, NULL, count);
        size_t split = s_pick (self, h);
        if (fed_data_writer_row (self->splits [split].writer, fields))
            return -1;
        if (self->group >= 0)
            s_group_count (self, h, split);
        if (self->stratify >= 0 && s_class_count (self, &fields [self->stratify], split))
            return -1;
    }
    return 0;
}

int
fed_data_split_run (fed_task_t *task)
{
    s_state_t *self = (s_state_t *) fed_calloc (1, sizeof *self);
    self->task = task;
    self->stratify = self->group = -1;
    memset (self->class_slots, 0xff, sizeof self->class_slots);
    self->group_max = fed_data_config (task)->memory_budget / sizeof (uint64_t);
    fed_data_reader_t *reader = NULL;
    fed_data_rejects_t *rejects = NULL;
    int rc = -1;

    static const char *const known [] = {"input",  "ratios",      "seed",
                                         "key",    "stratify",    "group",
                                         "format", "max_rejects", "max_reject_ratio"};
    char path [PATH_MAX];
    if (fed_data_check_params (task, known, sizeof known / sizeof known [0]))
        goto err;
    const char *format_name = "csv";
    fed_data_format_t format;
    if (fed_data_input_path (task, "input", path) || s_parse_ratios (self))
        goto err;
    if (fed_task_has (task, "seed") && fed_task_require_int (task, "seed", &self->seed))
        goto err;
    if (fed_task_has (task, "format") && fed_task_require_str (task, "format", &format_name))
        goto err;
    if (fed_data_format_parse (format_name, &format)) {
        fed_task_fail (task, "bad_params", "param \"format\" must be csv, tsv or jsonl");
        goto err;
    }
    memset (self->key, 0, sizeof self->key);
    s_put_le64 (self->key, (uint64_t) self->seed);

    reader = fed_data_reader_open (task, path, NULL);
    if (!reader || s_parse_columns (self, reader))
        goto err;
    size_t count;
    const fed_field_t *columns = fed_data_reader_columns (reader, &count);
    for (size_t i = 0; i < self->split_count; i++) {
        char name [NAME_MAX_LEN + 8];
        snprintf (name, sizeof name, "%s.%s", self->splits [i].name, format_name);
        self->splits [i].writer = fed_data_writer_open (task, name, columns, count);
        if (!self->splits [i].writer)
            goto err;
    }
    rejects = fed_data_rejects_open (task, "rejects.csv");
    if (!rejects || s_split_rows (self, reader, rejects))
        goto err;
    for (size_t i = 0; i < self->split_count; i++)
        if (fed_data_writer_finish (&self->splits [i].writer, task, NULL, &self->splits [i].file))
            goto err;
    uint64_t good = fed_data_reader_rows (reader);
    s_output_splits (self);
    fed_task_output_int (task, "rows", (int64_t) good);
    if (fed_data_rejects_close (&rejects, task, good, "rejects"))
        goto err;
    fed_data_output_columns (task, "columns", columns, count);
    fed_data_output_params (task, "params");
    rc = 0;
err:
    for (size_t i = 0; i < self->split_count; i++)
        fed_data_writer_abort (&self->splits [i].writer);
    if (rejects && fed_data_rejects_close (&rejects, task, 0, NULL))
        rc = -1; //  the task has failed already
    fed_data_reader_close (&reader);
    fed_data_columns_free (&self->key_columns);
    for (size_t c = 0; c < self->class_count; c++)
        free (self->classes [c].value);
    free (self->group_set);
    free (self->buffer);
    free (self);
    return rc;
}
