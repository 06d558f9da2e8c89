/*  agents/data_ingest.c: data.ingest (data.h): its entry point and sink.

    data.ingest is the first step of a data workflow: it reads one source
    (a CSV, TSV or JSONL file or a glob of them, an http(s) URL, an SQLite
    or PostgreSQL query) into one table with a header, data.csv (or
    data.jsonl) in the step's workspace, and reports its schema. Nothing is
    dropped silently: a malformed row, or a value that does not parse as its
    column's declared type, goes to rejects.csv with where it came from,
    and max_rejects / max_reject_ratio fail the step past a threshold.

    This file holds the entry point (one source param, every param
    checked) and the sink every source feeds (declared types, schema
    inference, the data and rejects files, the outputs). The sources are
    data_ingest_files.c (a path or a glob), data_ingest_url.c and
    data_ingest_sql.c; doc/agents-data.md is the reference. The sink is
    owned by the entry point; sources borrow it.
*/
#include "data_ingest.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

//  --- The sink ------------------------------------------------------------------

struct fed_ingest_t {
    fed_task_t *task;
    fed_data_format_t format;      //  of the data file: CSV or JSONL
    fed_table_options_t options;   //  reader limits (max_field, max_record)
    fed_data_rejects_t *rejects;   //  rejects.csv, open from new to finish
    fed_data_writer_t *writer;     //  the data file, open once columns are set
    fed_field_t *columns;          //  the table's column names (owned copies)
    size_t count;                  //  how many
    char **type_names;             //  param types: column names (owned)
    fed_table_type_t *type_values; //  and their declared types
    size_t type_count;             //  how many
    int *declared;                 //  per column: its declared type, or -1
    fed_table_coltype_t *inferred; //  per column: the type of the rows written
    fed_field_t *row;              //  one row with declared kinds applied
    const char *unit;              //  what a reject's number counts: "line" or "row"
    uint8_t *source;               //  the source output (msgpack), owned
    size_t source_size;            //  its bytes
};

//  A size param: an integer of bytes or a text such as "64KiB". Returns 0
//  (value untouched when absent), or -1 having failed the task.
static int
s_param_size (fed_task_t *task, const char *name, uint64_t min, uint64_t *value)
{
    fed_mp_type_t type = fed_task_param_type (task, name);
    if (type == FED_MP_NONE)
        return 0;
    int64_t n;
    const char *text;
    uint64_t parsed;
    if (type == FED_MP_UINT && fed_task_param_int (task, name, &n) == 0)
        parsed = (uint64_t) n;
    else if (type == FED_MP_STR && fed_task_param_str (task, name, &text) == 0
             && fed_parse_size (text, &parsed) == 0)
        ;
    else
        return fed_task_fail (task, "bad_params",
                              "param \"%s\" must be a size in bytes (an integer, or text such as "
                              "\"64KiB\" or \"1GiB\")",
                              name);
    if (parsed < min)
        return fed_task_fail (task, "bad_params", "param \"%s\" must be at least %" PRIu64 " bytes",
                              name, min);
    *value = parsed;
    return 0;
}

static const char *s_type_names [] = {"int", "float", "bool", "string"};
static const fed_table_type_t s_type_values [] = {FED_TYPE_INT, FED_TYPE_FLOAT, FED_TYPE_BOOL,
                                                  FED_TYPE_STRING};

//  Reads param types: a map of column name -> int, float, bool or string.
static int
s_types_parse (fed_ingest_t *self)
{
    fed_task_t *task = self->task;
    if (!fed_task_has (task, "types"))
        return 0;
    fed_mpr_t mpr;
    uint32_t count;
    if (fed_task_param_type (task, "types") != FED_MP_MAP
        || fed_task_param_map (task, "types", &mpr, &count))
        return fed_task_fail (task, "bad_params",
                              "param \"types\" must be a map of column name to int, float, bool "
                              "or string");
    self->type_names = (char **) fed_calloc (count ? count : 1, sizeof (char *));
    self->type_values =
        (fed_table_type_t *) fed_calloc (count ? count : 1, sizeof *self->type_values);
    for (uint32_t i = 0; i < count; i++) {
        const char *key, *value;
        uint32_t klen, vlen;
        if (fed_mpr_str (&mpr, &key, &klen) || memchr (key, 0, klen))
            return fed_task_fail (task, "bad_params", "param \"types\": key %u is not a name", i);
        self->type_names [self->type_count++] = fed_strndup (key, klen);
        int found = -1;
        if (fed_mpr_peek (&mpr) == FED_MP_STR && fed_mpr_str (&mpr, &value, &vlen) == 0)
            for (int t = 0; t < 4; t++)
                if (strlen (s_type_names [t]) == vlen && !memcmp (value, s_type_names [t], vlen))
                    found = t;
        if (found < 0)
            return fed_task_fail (task, "bad_params",
                                  "param \"types\": column '%.100s' must be int, float, bool or "
                                  "string",
                                  self->type_names [i]);
        self->type_values [i] = s_type_values [found];
    }
    return 0;
}

fed_ingest_t *
fed_ingest_new (fed_task_t *task)
{
    fed_ingest_t *self = (fed_ingest_t *) fed_calloc (1, sizeof *self);
    self->task = task;
    self->format = FED_DATA_CSV;
    self->unit = "line";
    fed_table_options_default (&self->options);
    const char *format;
    if (fed_task_has (task, "format")) {
        if (fed_task_require_str (task, "format", &format))
            goto err;
        if (fed_data_format_parse (format, &self->format) || self->format == FED_DATA_TSV) {
            fed_task_fail (task, "bad_params", "param \"format\" must be \"csv\" or \"jsonl\"");
            goto err;
        }
    }
    uint64_t max_field = 1u << 20, max_record = 4u << 20;
    if (s_param_size (task, "max_field", 1, &max_field)
        || s_param_size (task, "max_record", 1, &max_record) || s_types_parse (self))
        goto err;
    self->options.max_field = max_field;
    self->options.max_record = max_record;
    self->rejects = fed_data_rejects_open (task, "rejects.csv");
    if (!self->rejects)
        goto err;
    return self;
err:
    fed_ingest_destroy (&self);
    return NULL;
}

void
fed_ingest_destroy (fed_ingest_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    fed_ingest_t *self = *self_p;
    fed_data_writer_abort (&self->writer);
    if (self->rejects) {
        //  kept: it shows the rows refused before the failure; the task has
        //  failed already and that first failure stands
        int rc = fed_data_rejects_close (&self->rejects, self->task, 0, NULL);
        (void) rc;
    }
    for (size_t i = 0; i < self->type_count; i++)
        free (self->type_names [i]);
    free (self->type_names);
    free (self->type_values);
    for (size_t i = 0; i < self->count; i++)
        free ((char *) self->columns [i].ptr);
    free (self->columns);
    free (self->declared);
    free (self->inferred);
    free (self->row);
    free (self->source);
    free (self);
    *self_p = NULL;
}

const fed_table_options_t *
fed_ingest_options (const fed_ingest_t *self)
{
    return &self->options;
}

bool
fed_ingest_has_columns (const fed_ingest_t *self)
{
    return self->columns != NULL;
}

//  Fails bad_params for a declared column that is not a column.
static int
s_types_unknown (fed_ingest_t *self, const char *name)
{
    const char **names =
        (const char **) fed_calloc (self->count ? self->count : 1, sizeof (char *));
    for (size_t i = 0; i < self->count; i++)
        names [i] = self->columns [i].ptr;
    const char *near = fed_nearest_word (name, names, self->count);
    char near_text [200] = "";
    if (near)
        snprintf (near_text, sizeof near_text, "; did you mean '%.100s'?", near);
    free (names);
    return fed_task_fail (self->task, "bad_params",
                          "param \"types\": no column '%.100s' in the input%s", name, near_text);
}

int
fed_ingest_columns (fed_ingest_t *self, const fed_field_t *columns, size_t count)
{
    assert (!self->columns);
    self->columns = (fed_field_t *) fed_calloc (count ? count : 1, sizeof (fed_field_t));
    self->count = count;
    for (size_t i = 0; i < count; i++)
        self->columns [i] = (fed_field_t){fed_strndup (columns [i].ptr, columns [i].len),
                                          columns [i].len, FED_CELL_TEXT};
    for (size_t i = 0; i < count; i++)
        for (size_t k = 0; k < i; k++)
            if (columns [i].len == columns [k].len
                && !memcmp (columns [i].ptr, columns [k].ptr, columns [i].len))
                return fed_task_fail (self->task, "bad_input",
                                      "column '%.100s' appears twice in the header",
                                      self->columns [i].ptr);
    self->declared = (int *) fed_calloc (count ? count : 1, sizeof (int));
    self->inferred =
        (fed_table_coltype_t *) fed_calloc (count ? count : 1, sizeof (fed_table_coltype_t));
    self->row = (fed_field_t *) fed_calloc (count ? count : 1, sizeof (fed_field_t));
    for (size_t i = 0; i < count; i++) {
        self->declared [i] = -1;
        fed_table_coltype_init (&self->inferred [i]);
    }
    for (size_t t = 0; t < self->type_count; t++) {
        size_t i = 0;
        while (i < count && strcmp (self->columns [i].ptr, self->type_names [t]))
            i++;
        if (i == count)
            return s_types_unknown (self, self->type_names [t]);
        self->declared [i] = (int) self->type_values [t];
    }
    self->writer = fed_data_writer_open (self->task,
                                         self->format == FED_DATA_JSONL ? "data.jsonl" : "data.csv",
                                         self->columns, count);
    if (!self->writer)
        return -1;
    if (self->format == FED_DATA_JSONL && self->type_count) {
        fed_cell_kind_t *kinds = (fed_cell_kind_t *) fed_calloc (count, sizeof *kinds);
        for (size_t i = 0; i < count; i++)
            kinds [i] = self->declared [i] == FED_TYPE_INT || self->declared [i] == FED_TYPE_FLOAT
                ? FED_CELL_NUMBER
                : self->declared [i] == FED_TYPE_BOOL ? FED_CELL_BOOL
                                                      : FED_CELL_TEXT;
        fed_data_writer_kinds (self->writer, kinds);
        free (kinds);
    }
    return 0;
}

int
fed_ingest_reject (fed_ingest_t *self, uint64_t line, uint64_t offset, const char *where,
                   const char *reason, const char *raw, size_t raw_len)
{
    char text [600];
    if (where) {
        snprintf (text, sizeof text, "%.200s: %s", where, reason);
        reason = text;
    }
    return fed_data_rejects_raw (self->rejects, line, offset, reason, raw, raw_len);
}

int
fed_ingest_refuse (fed_ingest_t *self, const fed_field_t *fields, uint64_t line, uint64_t offset,
                   const char *reason)
{
    return fed_data_rejects_row (self->rejects, line, offset, reason, fields, self->count);
}

//  True if a non-empty field reads as type.
static bool
s_parses (const fed_field_t *field, fed_table_type_t type)
{
    fed_table_type_t got = fed_table_infer (field->ptr, field->len);
    if (type == FED_TYPE_FLOAT)
        return got == FED_TYPE_INT || got == FED_TYPE_FLOAT;
    return type == FED_TYPE_STRING || got == type;
}

int
fed_ingest_row (fed_ingest_t *self, const fed_field_t *fields, uint64_t line, uint64_t offset,
                const char *where)
{
    for (size_t i = 0; i < self->count; i++) {
        const fed_field_t *f = &fields [i];
        char why [300];
        if (f->len > self->options.max_field)
            snprintf (why, sizeof why, "column '%.100s': a value of %zu bytes, over max_field %zu",
                      self->columns [i].ptr, f->len, self->options.max_field);
        else if (!fed_text_valid (f->ptr, f->len))
            snprintf (why, sizeof why, "column '%.100s': invalid UTF-8 or a NUL byte",
                      self->columns [i].ptr);
        else if (self->declared [i] >= 0 && f->len
                 && !s_parses (f, (fed_table_type_t) self->declared [i]))
            snprintf (why, sizeof why, "column '%.100s': '%.60s%s' is not %s %s",
                      self->columns [i].ptr, f->ptr, f->len > 60 ? "..." : "",
                      self->declared [i] == FED_TYPE_INT ? "an" : "a",
                      fed_table_type_name ((fed_table_type_t) self->declared [i]));
        else
            continue;
        char text [600];
        if (where)
            snprintf (text, sizeof text, "%.200s: %s %" PRIu64 ": %s", where, self->unit, line,
                      why);
        else
            snprintf (text, sizeof text, "%s %" PRIu64 ": %s", self->unit, line, why);
        return fed_data_rejects_row (self->rejects, line, offset, text, fields, self->count);
    }
    for (size_t i = 0; i < self->count; i++) {
        self->row [i] = fields [i];
        if (self->declared [i] == FED_TYPE_STRING && fields [i].kind != FED_CELL_NULL)
            self->row [i].kind = FED_CELL_TEXT;
        fed_table_coltype_add (&self->inferred [i], fields [i].ptr, fields [i].len);
    }
    return fed_data_writer_row (self->writer, self->row);
}

void
fed_ingest_unit (fed_ingest_t *self, const char *unit)
{
    self->unit = unit;
}

uint64_t
fed_ingest_rows (const fed_ingest_t *self)
{
    return self->writer ? fed_data_writer_rows (self->writer) : 0;
}

uint64_t
fed_ingest_rejected (const fed_ingest_t *self)
{
    return fed_data_rejects_count (self->rejects);
}

void
fed_ingest_source (fed_ingest_t *self, const void *data, size_t size)
{
    free (self->source);
    self->source = (uint8_t *) fed_malloc (size);
    memcpy (self->source, data, size);
    self->source_size = size;
}

//  Sets output schema: [{name, type}], a declared type or the inferred one.
static void
s_output_schema (fed_ingest_t *self)
{
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    msgpack_pack_array (&pk, self->count);
    for (size_t i = 0; i < self->count; i++) {
        msgpack_pack_map (&pk, 2);
        fed_data_pack_str (&pk, "name");
        fed_data_pack_str (&pk, self->columns [i].ptr);
        fed_data_pack_str (&pk, "type");
        fed_table_type_t type = self->declared [i] >= 0 ? (fed_table_type_t) self->declared [i]
                                                        : self->inferred [i].type;
        fed_data_pack_str (&pk, fed_table_type_name (type));
    }
    if (fed_task_output_raw (self->task, "schema", buffer.data, buffer.size))
        fed_task_output_nil (self->task, "schema");
    msgpack_sbuffer_destroy (&buffer);
}

int
fed_ingest_finish (fed_ingest_t *self)
{
    if (!self->columns && fed_ingest_columns (self, NULL, 0))
        return -1;
    uint64_t good = fed_data_writer_rows (self->writer);
    if (fed_data_writer_close (&self->writer, self->task, "data")
        || fed_data_rejects_close (&self->rejects, self->task, good, "rejects"))
        return -1;
    fed_data_output_columns (self->task, "columns", self->columns, self->count);
    s_output_schema (self);
    if (!self->source
        || fed_task_output_raw (self->task, "source", self->source, self->source_size))
        fed_task_output_nil (self->task, "source");
    return 0;
}

//  --- Reading one file ------------------------------------------------------------

int
fed_ingest_file (fed_ingest_t *self, const char *path, const char *where, uint64_t *rows,
                 uint64_t *rejects)
{
    uint64_t rows0 = fed_ingest_rows (self), rejects0 = fed_ingest_rejected (self);
    fed_data_reader_t *reader = fed_data_reader_open (self->task, path, &self->options);
    if (!reader)
        return -1;
    size_t count;
    const fed_field_t *columns = fed_data_reader_columns (reader, &count);
    size_t *map = (size_t *) fed_calloc (count ? count : 1, sizeof (size_t));
    int rc = 0;
    if (count && !self->columns)
        rc = fed_ingest_columns (self, columns, count);
    //  Each of the file's columns goes to the sink's column of its name.
    for (size_t i = 0; i < count && rc == 0; i++) {
        map [i] = SIZE_MAX;
        for (size_t c = 0; c < self->count && map [i] == SIZE_MAX; c++)
            if (!strcmp (columns [i].ptr, self->columns [c].ptr))
                map [i] = c;
        for (size_t k = 0; k < i && map [i] != SIZE_MAX; k++)
            if (map [k] == map [i])
                map [i] = SIZE_MAX - 1;
        if (map [i] >= SIZE_MAX - 1)
            rc = fed_task_fail (self->task, "bad_input", "%.300s: column '%.100s' %s",
                                where ? where : path, columns [i].ptr,
                                map [i] == SIZE_MAX ? "is not among the table's columns"
                                                    : "appears twice in the header");
    }
    static const fed_field_t empty = {"", 0, FED_CELL_NULL};
    fed_field_t *row = (fed_field_t *) fed_calloc (self->count ? self->count : 1, sizeof *row);
    const fed_field_t *fields;
    while (rc == 0 && (rc = fed_data_reader_next (reader, &fields)) != 0) {
        if (rc == 1) {
            for (size_t c = 0; c < self->count; c++)
                row [c] = empty;
            for (size_t i = 0; i < count; i++)
                row [map [i]] = fields [i];
            rc = fed_ingest_row (self, row, fed_data_reader_line (reader),
                                 fed_data_reader_line_offset (reader), where);
        } else if (rc == -2) {
            const char *raw;
            size_t raw_len;
            const fed_table_reject_t *reject = fed_data_reader_reject (reader, &raw, &raw_len);
            rc = fed_ingest_reject (self, reject->line, reject->offset, where, reject->text, raw,
                                    raw_len);
        }
    }
    free (row);
    free (map);
    fed_data_reader_close (&reader);
    *rows = fed_ingest_rows (self) - rows0;
    *rejects = fed_ingest_rejected (self) - rejects0;
    return rc;
}

//  --- The entry point ------------------------------------------------------------

//  The sources (exactly one is given) and every other param, with the
//  sources it applies to.
enum { SRC_INPUT = 1, SRC_URL = 2, SRC_SQLITE = 4, SRC_POSTGRES = 8, SRC_ALL = 15 };

typedef int (*s_source_fn) (fed_task_t *task, fed_ingest_t *sink);

static const struct {
    const char *name;
    int sources;    //  the sources it applies to
    s_source_fn fn; //  for a source param, its reader
} s_params [] = {
    {"input", SRC_INPUT, fed_ingest_input},
    {"url", SRC_URL, fed_ingest_url},
    {"sqlite", SRC_SQLITE, fed_ingest_sqlite},
    {"postgres", SRC_POSTGRES, fed_ingest_postgres},
    {"format", SRC_ALL, NULL},
    {"types", SRC_ALL, NULL},
    {"max_field", SRC_ALL, NULL},
    {"max_record", SRC_ALL, NULL},
    {"max_rejects", SRC_ALL, NULL},
    {"max_reject_ratio", SRC_ALL, NULL},
    {"union", SRC_INPUT, NULL},
    {"input_format", SRC_URL, NULL},
    {"max_bytes", SRC_URL, NULL},
    {"timeout", SRC_URL, NULL},
    {"blobs", SRC_SQLITE, NULL},
};
#define PARAM_COUNT (sizeof s_params / sizeof s_params [0])
#define SOURCE_COUNT 4

//  Finds the one source param, and checks that every param is known and
//  applies to it. Returns its index in s_params, or -1 having failed.
static int
s_pick_source (fed_task_t *task)
{
    int source = -1;
    for (int i = 0; i < SOURCE_COUNT; i++) {
        if (!fed_task_has (task, s_params [i].name))
            continue;
        if (source >= 0)
            return fed_task_fail (task, "bad_params", "give one source, not both \"%s\" and \"%s\"",
                                  s_params [source].name, s_params [i].name);
        source = i;
    }
    if (source < 0)
        return fed_task_fail (task, "bad_params",
                              "no source: give one of params \"input\" (a file or a glob), "
                              "\"url\", \"sqlite\" or \"postgres\"");
    const uint8_t *data;
    size_t size;
    fed_task_params (task, &data, &size);
    fed_mpr_t mpr;
    uint32_t count;
    fed_mpr_init (&mpr, data, size);
    if (fed_mpr_map (&mpr, &count))
        return fed_task_fail (task, "bad_params", "params must be a map");
    for (uint32_t k = 0; k < count; k++) {
        const char *key;
        uint32_t len;
        if (fed_mpr_str (&mpr, &key, &len) || fed_mpr_skip (&mpr, NULL))
            return fed_task_fail (task, "bad_params", "params must be a map with string keys");
        char name [64];
        snprintf (name, sizeof name, "%.*s", (int) (len < 63 ? len : 63), key);
        size_t i = 0;
        while (i < PARAM_COUNT && strcmp (s_params [i].name, name))
            i++;
        if (i == PARAM_COUNT) {
            const char *names [PARAM_COUNT];
            for (size_t p = 0; p < PARAM_COUNT; p++)
                names [p] = s_params [p].name;
            const char *near = fed_nearest_word (name, names, PARAM_COUNT);
            return fed_task_fail (task, "bad_params", "unknown param \"%s\"%s%s%s", name,
                                  near ? "; did you mean \"" : "", near ? near : "",
                                  near ? "\"?" : "");
        }
        if (!(s_params [i].sources & s_params [source].sources))
            return fed_task_fail (task, "bad_params",
                                  "param \"%s\" does not apply to source \"%s\"", name,
                                  s_params [source].name);
    }
    return source;
}

int
fed_data_ingest_run (fed_task_t *task)
{
    int source = s_pick_source (task);
    if (source < 0)
        return -1;
    fed_ingest_t *sink = fed_ingest_new (task);
    if (!sink)
        return -1;
    int rc = s_params [source].fn (task, sink);
    if (rc == 0)
        rc = fed_ingest_finish (sink);
    fed_ingest_destroy (&sink);
    if (rc == 0)
        fed_data_output_params (task, "params");
    return rc;
}
