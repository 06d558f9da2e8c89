/*  agents/data_export.c: data.export (data.h), the training files and their
    manifest.

    The last step of a data workflow: it turns each split table into the
    file a trainer reads, JSONL in one of three shapes or CSV, and writes
    manifest.json, the record a dataset is audited by: the schema, every
    file's rows, bytes and sha256 (computed as the file is written), the
    upstream steps' outputs and params as the workflow handed them in, and
    this step's own params.

    Shapes (param style):
      records            one object per row, values typed by the column's
                         inferred type (a first pass over every split), empty
                         fields null
      prompt_completion  {"prompt": ..., "completion": ...}
      messages           {"messages": [{"role": "system", ...}, {"role":
                         "user", ...}, {"role": "assistant", ...}]}, the
                         OpenAI chat fine-tuning format

    A text comes from a column, a literal, or a template whose {col}
    placeholders are filled from the row ({{ and }} are literal braces).
    Strings are escaped by the JSONL writer (agents/table.h) or, inside a
    messages array, by s_json_string here, the same rules. Input rows that
    are malformed, invalid UTF-8 among them, go to SPLIT.rejects.csv.

    Memory: one row, its rendered texts, and a type per column.
*/
#include "data_internal.h"
#include "data_column.h"
#include "datafilter.h"

#include <errno.h>
#include <math.h>
#include <msgpack.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define SPLITS_MAX 16
#define NAME_MAX_LEN 64

typedef enum { S_RECORDS = 0, S_PROMPT_COMPLETION, S_MESSAGES } s_style_t;
static const char *const s_style_names [] = {"records", "prompt_completion", "messages"};

//  One piece of a template: literal bytes, or a column's value.
typedef struct {
    char *text;   //  literal bytes or the column name, owned
    size_t len;   //  bytes in text
    bool column;  //  text names a column
    size_t index; //  that column's index, once resolved
} s_part_t;

//  Where a text comes from: a column, a literal or a template, all held as
//  a template (a column is one column part, a literal one literal part).
typedef struct {
    const char *param; //  the param it came from, for messages
    bool given;        //  the param was present
    s_part_t *parts;   //  owned
    size_t part_count; //  pieces
} s_source_t;

//  A growing byte buffer.
typedef struct {
    char *data;      //  owned
    size_t len;      //  bytes used
    size_t capacity; //  bytes allocated
} s_buf_t;

//  One split to export.
typedef struct {
    char name [NAME_MAX_LEN + 1]; //  its key in param splits ("data" for param input)
    char path [PATH_MAX];         //  the input, canonical
    bool jsonl;                   //  the input is JSONL (its strings stay strings)
    fed_data_reader_t *reader;    //  open from the first pass to the end
    fed_data_file_t file;         //  the written file
    fed_data_file_t rejects;      //  its rejects file
    uint64_t dropped;             //  rows skipped by drop_empty
    uint64_t filtered;            //  rows skipped by filter
} s_split_t;

typedef struct {
    fed_task_t *task;                   //  not owned
    s_split_t splits [SPLITS_MAX];      //  in the order given
    size_t split_count;                 //  1 to SPLITS_MAX
    fed_data_format_t format;           //  FED_DATA_JSONL or FED_DATA_CSV
    s_style_t style;                    //  the shape of a JSONL record
    bool drop_empty;                    //  skip rows whose completion is empty
    fed_data_filter_t filter;           //  keep rows whose column is in a range
    s_source_t prompt, completion;      //  prompt_completion
    s_source_t system, user, assistant; //  messages
    fed_data_reader_t *reference;       //  the first split with columns (borrowed)
    const fed_field_t *columns;         //  its columns, borrowed from it
    size_t column_count;                //  0 when every input is empty
    fed_table_coltype_t *types;         //  per column, records
    bool *strings;                      //  per column: a JSON string or nested value seen
    fed_cell_kind_t *kinds;             //  per column, records: how values are written
    fed_field_t *row;                   //  one row with its values typed
    char (*numbers) [32];               //  per column: a number's text, normalized
    s_buf_t texts [3];                  //  rendered texts of one row
    s_buf_t json;                       //  a messages array
} s_state_t;

//  --- Buffers ----------------------------------------------------------------

static void
s_buf_add (s_buf_t *self, const char *data, size_t len)
{
    if (self->len + len + 1 > self->capacity) {
        self->capacity = (self->len + len + 1) * 2;
        self->data = (char *) fed_realloc (self->data, self->capacity);
    }
    memcpy (self->data + self->len, data, len);
    self->len += len;
    self->data [self->len] = '\0';
}

//  Appends a JSON string: quotes, backslashes and control characters escaped
//  (the bytes are valid UTF-8, as the reader passed them).
static void
s_json_string (s_buf_t *self, const char *ptr, size_t len)
{
    s_buf_add (self, "\"", 1);
    size_t start = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char) ptr [i];
        if (c >= 0x20 && c != '"' && c != '\\' && c != 0x7f)
            continue;
        s_buf_add (self, ptr + start, i - start);
        char escape [8];
        if (c == '"' || c == '\\')
            snprintf (escape, sizeof escape, "\\%c", c);
        else if (c == '\n' || c == '\r' || c == '\t')
            snprintf (escape, sizeof escape, "\\%c", c == '\n' ? 'n' : c == '\r' ? 'r' : 't');
        else
            snprintf (escape, sizeof escape, "\\u%04x", c);
        s_buf_add (self, escape, strlen (escape));
        start = i + 1;
    }
    s_buf_add (self, ptr + start, len - start);
    s_buf_add (self, "\"", 1);
}

//  --- Sources ----------------------------------------------------------------

static void
s_part_add (s_source_t *self, const char *text, size_t len, bool column)
{
    self->parts =
        (s_part_t *) fed_realloc (self->parts, (self->part_count + 1) * sizeof (s_part_t));
    self->parts [self->part_count++] = (s_part_t){fed_strndup (text, len), len, column, 0};
}

static void
s_source_free (s_source_t *self)
{
    for (size_t i = 0; i < self->part_count; i++)
        free (self->parts [i].text);
    free (self->parts);
    self->parts = NULL;
    self->part_count = 0;
}

//  Splits template into parts. Returns 0, or -1 having failed the task.
static int
s_parse_template (fed_task_t *task, s_source_t *self, const char *text, size_t len)
{
    size_t start = 0, i = 0;
    while (i < len) {
        char c = text [i];
        if ((c == '{' || c == '}') && i + 1 < len && text [i + 1] == c) {
            s_part_add (self, text + start, i + 1 - start, false); //  up to one brace
            start = i = i + 2;
        } else if (c == '{') {
            const char *close = memchr (text + i, '}', len - i);
            if (!close || close == text + i + 1)
                return fed_task_fail (task, "bad_params",
                                      "param \"%s\": the template has %s at byte %zu; write {{ "
                                      "for a literal brace",
                                      self->param, close ? "an empty {}" : "an unclosed {", i);
            if (i > start)
                s_part_add (self, text + start, i - start, false);
            s_part_add (self, text + i + 1, (size_t) (close - text) - i - 1, true);
            start = i = (size_t) (close - text) + 1;
        } else if (c == '}')
            return fed_task_fail (task, "bad_params",
                                  "param \"%s\": the template has a lone } at byte %zu; write "
                                  "}} for a literal brace",
                                  self->param, i);
        else
            i++;
    }
    if (len > start)
        s_part_add (self, text + start, len - start, false);
    return 0;
}

//  Reads param name: a string (a column, or a literal when literal is
//  true), or a map {column: NAME}, {template: TEXT} or {text: TEXT}.
static int
s_parse_source (fed_task_t *task, const char *name, bool literal, s_source_t *self)
{
    self->param = name;
    self->given = fed_task_has (task, name);
    if (!self->given)
        return 0;
    const char *text;
    if (fed_task_param_type (task, name) == FED_MP_STR) {
        if (fed_task_require_str (task, name, &text))
            return -1;
        s_part_add (self, text, strlen (text), !literal);
        return 0;
    }
    fed_mpr_t mpr;
    uint32_t count;
    const char *key, *value;
    uint32_t klen, vlen;
    if (fed_task_param_type (task, name) != FED_MP_MAP
        || fed_task_param_map (task, name, &mpr, &count) || count != 1
        || fed_mpr_str (&mpr, &key, &klen) || fed_mpr_str (&mpr, &value, &vlen)
        || memchr (value, 0, vlen))
        return fed_task_fail (task, "bad_params",
                              "param \"%s\" must be %s, {column: NAME}, {template: \"... {col} "
                              "...\"} or {text: \"...\"}",
                              name, literal ? "a text" : "a column name");
    if (klen == 6 && !memcmp (key, "column", 6))
        s_part_add (self, value, vlen, true);
    else if (klen == 4 && !memcmp (key, "text", 4))
        s_part_add (self, value, vlen, false);
    else if (klen == 8 && !memcmp (key, "template", 8))
        return s_parse_template (task, self, value, vlen);
    else
        return fed_task_fail (task, "bad_params",
                              "param \"%s\": the key must be column, template or text, not "
                              "'%.*s'",
                              name, (int) klen, key);
    return 0;
}

//  Finds each column a source names among the input's columns.
static int
s_resolve_source (s_state_t *self, s_source_t *source)
{
    for (size_t i = 0; i < source->part_count; i++) {
        s_part_t *part = &source->parts [i];
        if (!part->column)
            continue;
        char where [80];
        snprintf (where, sizeof where, "param \"%.60s\"", source->param);
        if (fed_data_column_find (self->task, self->reference, where, part->text,
                                  strlen (part->text), &part->index))
            return -1;
    }
    return 0;
}

//  Renders source for a row into buf (cleared first).
static void
s_render (const s_source_t *source, const fed_field_t *fields, s_buf_t *buf)
{
    buf->len = 0;
    s_buf_add (buf, "", 0);
    for (size_t i = 0; i < source->part_count; i++) {
        const s_part_t *part = &source->parts [i];
        if (part->column)
            s_buf_add (buf, fields [part->index].ptr, fields [part->index].len);
        else
            s_buf_add (buf, part->text, part->len);
    }
}

//  --- Params -----------------------------------------------------------------

static bool
s_name_ok (const char *name, uint32_t len)
{
    if (len == 0 || len > NAME_MAX_LEN)
        return false;
    for (uint32_t i = 0; i < len; i++) {
        char c = name [i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'
              || c == '-'))
            return false;
    }
    return true;
}

//  Reads param splits (or input) into self->splits with canonical paths.
static int
s_parse_splits (s_state_t *self)
{
    fed_task_t *task = self->task;
    bool has_splits = fed_task_has (task, "splits");
    if (has_splits == fed_task_has (task, "input"))
        return fed_task_fail (task, "bad_params",
                              "give param \"splits\" (a map of split name to table) or "
                              "\"input\" (one table), one of them");
    if (!has_splits) {
        snprintf (self->splits [0].name, sizeof self->splits [0].name, "data");
        self->split_count = 1;
        return fed_data_input_path (task, "input", self->splits [0].path);
    }
    fed_mpr_t mpr;
    uint32_t count;
    if (fed_task_param_type (task, "splits") != FED_MP_MAP
        || fed_task_param_map (task, "splits", &mpr, &count) || count < 1 || count > SPLITS_MAX)
        return fed_task_fail (task, "bad_params",
                              "param \"splits\" must map 1 to %d split names to tables (a path "
                              "or {path})",
                              SPLITS_MAX);
    for (uint32_t i = 0; i < count; i++) {
        const char *name, *path = NULL;
        uint32_t len, path_len = 0, members;
        if (fed_mpr_str (&mpr, &name, &len) || !s_name_ok (name, len))
            return fed_task_fail (task, "bad_params",
                                  "param \"splits\": split %u needs a name of 1 to %d letters, "
                                  "digits, '_' or '-'",
                                  i + 1, NAME_MAX_LEN);
        s_split_t *split = &self->splits [self->split_count++];
        memcpy (split->name, name, len);
        split->name [len] = '\0';
        if (fed_mpr_peek (&mpr) == FED_MP_MAP) {
            if (fed_mpr_map (&mpr, &members))
                members = 0;
            for (uint32_t m = 0; m < members; m++) {
                const char *key;
                uint32_t klen;
                if (fed_mpr_str (&mpr, &key, &klen))
                    break;
                if (klen == 4 && !memcmp (key, "path", 4) && !path) {
                    if (fed_mpr_str (&mpr, &path, &path_len))
                        break;
                } else if (fed_mpr_skip (&mpr, NULL))
                    break;
            }
        } else if (fed_mpr_str (&mpr, &path, &path_len))
            path = NULL;
        if (!path || !path_len || memchr (path, 0, path_len))
            return fed_task_fail (task, "bad_params",
                                  "param \"splits\": '%s' must be a path or a map with a string "
                                  "\"path\"",
                                  split->name);
        char *given = fed_strndup (path, path_len);
        int rc = fed_data_check_path (task, given, split->path);
        free (given);
        if (rc)
            return -1;
    }
    return 0;
}

static int
s_parse_params (s_state_t *self)
{
    fed_task_t *task = self->task;
    static const char *const known [] = {"splits",    "input",       "format",          "style",
                                         "prompt",    "completion",  "system",          "user",
                                         "assistant", "drop_empty",  "filter",          "lineage",
                                         "name",      "max_rejects", "max_reject_ratio"};
    if (fed_data_check_params (task, known, sizeof known / sizeof known [0]))
        return -1;
    const char *text = "jsonl";
    if (fed_task_has (task, "format") && fed_task_require_str (task, "format", &text))
        return -1;
    if (fed_data_format_parse (text, &self->format) || self->format == FED_DATA_TSV)
        return fed_task_fail (task, "bad_params", "param \"format\" must be jsonl or csv");
    text = "records";
    if (fed_task_has (task, "style") && fed_task_require_str (task, "style", &text))
        return -1;
    size_t style = 0;
    while (style < 3 && strcmp (text, s_style_names [style]))
        style++;
    if (style == 3)
        return fed_task_fail (task, "bad_params",
                              "param \"style\" must be records, prompt_completion or messages");
    self->style = (s_style_t) style;
    if (self->format == FED_DATA_CSV && self->style == S_MESSAGES)
        return fed_task_fail (task, "bad_params",
                              "style messages is JSONL only (a list per row); use format jsonl");
    if (fed_task_has (task, "drop_empty")
        && fed_task_require_bool (task, "drop_empty", &self->drop_empty))
        return -1;
    if (self->drop_empty && self->style == S_RECORDS)
        return fed_task_fail (task, "bad_params",
                              "param \"drop_empty\" needs style prompt_completion or messages");
    if (fed_data_filter_parse (task, "filter", &self->filter))
        return -1;
    if (s_parse_source (task, "prompt", false, &self->prompt)
        || s_parse_source (task, "completion", false, &self->completion)
        || s_parse_source (task, "system", true, &self->system)
        || s_parse_source (task, "user", false, &self->user)
        || s_parse_source (task, "assistant", false, &self->assistant))
        return -1;
    if (self->style == S_PROMPT_COMPLETION && (!self->prompt.given || !self->completion.given))
        return fed_task_fail (task, "bad_params",
                              "style prompt_completion needs params \"prompt\" and "
                              "\"completion\"");
    if (self->style == S_MESSAGES && (!self->user.given || !self->assistant.given))
        return fed_task_fail (task, "bad_params",
                              "style messages needs params \"user\" and \"assistant\" "
                              "(\"system\" is optional)");
    return s_parse_splits (self);
}

//  --- Passes -----------------------------------------------------------------

//  True if two column lists have the same names in the same order.
static bool
s_same_columns (const fed_field_t *a, size_t a_count, const fed_field_t *b, size_t b_count)
{
    if (a_count != b_count)
        return false;
    for (size_t i = 0; i < a_count; i++)
        if (a [i].len != b [i].len || memcmp (a [i].ptr, b [i].ptr, a [i].len))
            return false;
    return true;
}

//  Opens every split's reader and checks they share one column list (an
//  empty input has none and fits any).
static int
s_open_inputs (s_state_t *self)
{
    for (size_t i = 0; i < self->split_count; i++) {
        s_split_t *split = &self->splits [i];
        fed_data_format_t format;
        split->jsonl = fed_data_format_of (split->path, &format) == 0 && format == FED_DATA_JSONL;
        split->reader = fed_data_reader_open (self->task, split->path, NULL);
        if (!split->reader)
            return -1;
        size_t count;
        const fed_field_t *columns = fed_data_reader_columns (split->reader, &count);
        if (count == 0)
            continue;
        if (self->column_count == 0) {
            self->columns = columns;
            self->column_count = count;
            self->reference = split->reader;
        } else if (!s_same_columns (self->columns, self->column_count, columns, count))
            return fed_task_fail (self->task, "bad_input",
                                  "split '%s' has other columns than the first non-empty split; "
                                  "every split must have the same columns",
                                  split->name);
    }
    if (self->column_count == 0)
        return 0;
    return fed_data_filter_resolve (self->task, "filter", &self->filter, self->reference)
        || s_resolve_source (self, &self->prompt) || s_resolve_source (self, &self->completion)
        || s_resolve_source (self, &self->system) || s_resolve_source (self, &self->user)
        || s_resolve_source (self, &self->assistant);
}

//  Records: the first pass, each column's type over every split.
static int
s_infer_types (s_state_t *self)
{
    size_t n = self->column_count;
    self->types = (fed_table_coltype_t *) fed_calloc (n, sizeof (fed_table_coltype_t));
    self->strings = (bool *) fed_calloc (n, sizeof (bool));
    self->kinds = (fed_cell_kind_t *) fed_calloc (n, sizeof (fed_cell_kind_t));
    self->row = (fed_field_t *) fed_calloc (n, sizeof (fed_field_t));
    self->numbers = (char (*) [32]) fed_calloc (n, 32);
    for (size_t c = 0; c < n; c++)
        fed_table_coltype_init (&self->types [c]);
    for (size_t i = 0; i < self->split_count; i++) {
        s_split_t *split = &self->splits [i];
        size_t count;
        fed_data_reader_columns (split->reader, &count);
        if (count == 0)
            continue;
        const fed_field_t *fields;
        int rc;
        while ((rc = fed_data_reader_next (split->reader, &fields)) != 0) {
            if (rc == -1)
                return -1;
            if (rc == -2)
                continue; //  refused in the second pass
            for (size_t c = 0; c < n; c++) {
                const fed_field_t *f = &fields [c];
                if (f->kind == FED_CELL_JSON || (f->kind == FED_CELL_TEXT && split->jsonl))
                    self->strings [c] = true;
                else
                    fed_table_coltype_add (&self->types [c], f->ptr, f->len);
            }
        }
        if (fed_data_reader_rewind (split->reader))
            return -1;
    }
    for (size_t c = 0; c < n; c++) {
        if (self->strings [c])
            self->types [c].type = FED_TYPE_STRING;
        fed_table_type_t type = self->types [c].type;
        self->kinds [c] = type == FED_TYPE_INT || type == FED_TYPE_FLOAT ? FED_CELL_NUMBER
            : type == FED_TYPE_BOOL                                      ? FED_CELL_BOOL
                                                                         : FED_CELL_TEXT;
    }
    return 0;
}

//  A number column's value as JSON: integers as they are, floats in the
//  fewest digits that read back the same (with ".0" so they stay floats),
//  NaN and infinities null.
static fed_field_t
s_number (s_state_t *self, size_t c, const fed_field_t *f)
{
    char *text = self->numbers [c];
    if (self->types [c].type == FED_TYPE_INT) {
        snprintf (text, 32, "%lld", strtoll (f->ptr, NULL, 10));
        return (fed_field_t){text, strlen (text), FED_CELL_NUMBER};
    }
    double value = strtod (f->ptr, NULL);
    if (!isfinite (value))
        return (fed_field_t){"", 0, FED_CELL_NULL};
    for (int digits = 15; digits <= 17; digits++) {
        snprintf (text, 32, "%.*g", digits, value);
        if (strtod (text, NULL) == value)
            break;
    }
    if (!strpbrk (text, ".eE"))
        strcat (text, ".0");
    return (fed_field_t){text, strlen (text), FED_CELL_NUMBER};
}

//  The row as records writes it: empty fields null, numbers normalized.
static const fed_field_t *
s_typed_row (s_state_t *self, const fed_field_t *fields)
{
    for (size_t c = 0; c < self->column_count; c++) {
        const fed_field_t *f = &fields [c];
        if (f->kind == FED_CELL_NULL || (f->len == 0 && !self->strings [c]))
            self->row [c] = (fed_field_t){"", 0, FED_CELL_NULL};
        else if (self->kinds [c] == FED_CELL_NUMBER && f->kind != FED_CELL_JSON)
            self->row [c] = s_number (self, c, f);
        else
            self->row [c] = *f;
    }
    return self->row;
}

//  The row as prompt_completion or messages writes it, in *out (one or two
//  fields). Returns false when drop_empty skips it.
static bool
s_shaped_row (s_state_t *self, const fed_field_t *fields, fed_field_t *out)
{
    if (self->style == S_PROMPT_COMPLETION) {
        s_render (&self->prompt, fields, &self->texts [0]);
        s_render (&self->completion, fields, &self->texts [1]);
        if (self->drop_empty && self->texts [1].len == 0)
            return false;
        out [0] = (fed_field_t){self->texts [0].data, self->texts [0].len, FED_CELL_TEXT};
        out [1] = (fed_field_t){self->texts [1].data, self->texts [1].len, FED_CELL_TEXT};
        return true;
    }
    s_render (&self->assistant, fields, &self->texts [2]);
    if (self->drop_empty && self->texts [2].len == 0)
        return false;
    s_render (&self->user, fields, &self->texts [1]);
    s_buf_t *json = &self->json;
    json->len = 0;
    s_buf_add (json, "[", 1);
    if (self->system.given) {
        s_render (&self->system, fields, &self->texts [0]);
        s_buf_add (json, "{\"role\":\"system\",\"content\":", 27);
        s_json_string (json, self->texts [0].data, self->texts [0].len);
        s_buf_add (json, "},", 2);
    }
    s_buf_add (json, "{\"role\":\"user\",\"content\":", 25);
    s_json_string (json, self->texts [1].data, self->texts [1].len);
    s_buf_add (json, "},{\"role\":\"assistant\",\"content\":", 32);
    s_json_string (json, self->texts [2].data, self->texts [2].len);
    s_buf_add (json, "}]", 2);
    out [0] = (fed_field_t){json->data, json->len, FED_CELL_JSON};
    return true;
}

//  The output's columns (count set), or NULL with count 0 for an empty
//  input exported as records.
static const fed_field_t *
s_out_columns (const s_state_t *self, size_t *count)
{
    static const fed_field_t pc [] = {{"prompt", 6, FED_CELL_TEXT},
                                      {"completion", 10, FED_CELL_TEXT}};
    static const fed_field_t messages [] = {{"messages", 8, FED_CELL_TEXT}};
    if (self->column_count == 0 && self->style == S_RECORDS) {
        *count = 0;
        return NULL;
    }
    if (self->style == S_RECORDS) {
        *count = self->column_count;
        return self->columns;
    }
    *count = self->style == S_MESSAGES ? 1 : 2;
    return self->style == S_MESSAGES ? messages : pc;
}

//  The second pass over one split: its file and its rejects.
static int
s_export_split (s_state_t *self, s_split_t *split)
{
    fed_task_t *task = self->task;
    char name [NAME_MAX_LEN + 16];
    size_t count;
    const fed_field_t *columns = s_out_columns (self, &count);
    snprintf (name, sizeof name, "%s.%s", split->name, fed_data_format_name (self->format));
    fed_data_writer_t *writer = fed_data_writer_open (task, name, columns, count);
    if (!writer)
        return -1;
    if (self->style == S_RECORDS && count)
        fed_data_writer_kinds (writer, self->kinds);
    snprintf (name, sizeof name, "%s.rejects.csv", split->name);
    fed_data_rejects_t *rejects = fed_data_rejects_open (task, name);
    if (!rejects) {
        fed_data_writer_abort (&writer);
        return -1;
    }
    size_t input_count;
    fed_data_reader_columns (split->reader, &input_count);
    const fed_field_t *fields;
    int rc = 0;
    while (input_count && (rc = fed_data_reader_next (split->reader, &fields)) != 0) {
        if (rc == -1)
            break;
        if (rc == -2) {
            if (fed_data_rejects_malformed (rejects, split->reader))
                break;
            continue;
        }
        fed_field_t shaped [2];
        if (!fed_data_filter_keeps (&self->filter, fields))
            split->filtered++;
        else if (self->style == S_RECORDS) {
            if (self->format == FED_DATA_JSONL)
                fields = s_typed_row (self, fields);
            if (fed_data_writer_row (writer, fields))
                break;
        } else if (!s_shaped_row (self, fields, shaped))
            split->dropped++;
        else if (fed_data_writer_row (writer, shaped))
            break;
    }
    if (rc) {
        fed_data_writer_abort (&writer);
        if (fed_data_rejects_close (&rejects, task, 0, NULL))
            return -1;
        return -1;
    }
    if (fed_data_writer_finish (&writer, task, NULL, &split->file)) {
        if (fed_data_rejects_close (&rejects, task, 0, NULL))
            return -1;
        return -1;
    }
    return fed_data_rejects_finish (
        &rejects, task, split->file.rows + split->dropped + split->filtered, NULL, &split->rejects);
}

//  --- Output -----------------------------------------------------------------

//  Packs {split: file} for each split (rejects files when rejects is true).
static void
s_pack_files (const s_state_t *self, msgpack_packer *pk, bool rejects)
{
    msgpack_pack_map (pk, self->split_count);
    for (size_t i = 0; i < self->split_count; i++) {
        fed_data_pack_str (pk, self->splits [i].name);
        fed_data_pack_file (pk, rejects ? &self->splits [i].rejects : &self->splits [i].file);
    }
}

//  Packs {split: n} of rows written (or dropped).
//  Per split: what 0 rows written, 1 dropped by drop_empty, 2 filtered.
static void
s_pack_counts (const s_state_t *self, msgpack_packer *pk, int what)
{
    msgpack_pack_map (pk, self->split_count);
    for (size_t i = 0; i < self->split_count; i++) {
        const s_split_t *split = &self->splits [i];
        fed_data_pack_str (pk, split->name);
        msgpack_pack_uint64 (pk,
                             what == 1       ? split->dropped
                                 : what == 2 ? split->filtered
                                             : split->file.rows);
    }
}

//  The exported records' fields and their types.
static void
s_pack_schema (const s_state_t *self, msgpack_packer *pk)
{
    if (self->style == S_RECORDS) {
        msgpack_pack_array (pk, self->column_count);
        for (size_t c = 0; c < self->column_count; c++) {
            msgpack_pack_map (pk, 2);
            fed_data_pack_str (pk, "name");
            fed_data_pack_str (pk, self->columns [c].ptr);
            fed_data_pack_str (pk, "type");
            fed_data_pack_str (pk, fed_table_type_name (self->types [c].type));
        }
        return;
    }
    size_t count;
    const fed_field_t *columns = s_out_columns (self, &count);
    msgpack_pack_array (pk, count);
    for (size_t c = 0; c < count; c++) {
        msgpack_pack_map (pk, 2);
        fed_data_pack_str (pk, "name");
        fed_data_pack_str (pk, columns [c].ptr);
        fed_data_pack_str (pk, "type");
        fed_data_pack_str (pk, self->style == S_MESSAGES ? "messages" : "string");
    }
}

//  Writes manifest.json and sets output key manifest.
static int
s_write_manifest (s_state_t *self)
{
    fed_task_t *task = self->task;
    const char *name = *fed_task_run (task) ? fed_task_run (task) : "dataset";
    if (fed_task_has (task, "name") && fed_task_require_str (task, "name", &name))
        return -1;
    char created [32];
    time_t now = (time_t) (fed_wall_ms () / 1000);
    struct tm tm;
    gmtime_r (&now, &tm);
    strftime (created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", &tm);
    uint64_t total = 0;
    for (size_t i = 0; i < self->split_count; i++)
        total += self->splits [i].file.rows;

    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 10 + self->drop_empty + self->filter.given);
    fed_data_pack_str (&pk, "name");
    fed_data_pack_str (&pk, name);
    fed_data_pack_str (&pk, "created_at");
    fed_data_pack_str (&pk, created);
    fed_data_pack_str (&pk, "format");
    fed_data_pack_str (&pk, fed_data_format_name (self->format));
    fed_data_pack_str (&pk, "style");
    fed_data_pack_str (&pk, s_style_names [self->style]);
    fed_data_pack_str (&pk, "schema");
    s_pack_schema (self, &pk);
    fed_data_pack_str (&pk, "splits");
    s_pack_files (self, &pk, false);
    fed_data_pack_str (&pk, "total_rows");
    msgpack_pack_uint64 (&pk, total);
    if (self->drop_empty) {
        fed_data_pack_str (&pk, "dropped");
        s_pack_counts (self, &pk, 1);
    }
    if (self->filter.given) {
        fed_data_pack_str (&pk, "filtered");
        s_pack_counts (self, &pk, 2);
    }
    fed_data_pack_str (&pk, "rejects");
    s_pack_files (self, &pk, true);
    const uint8_t *data;
    size_t size;
    fed_data_pack_str (&pk, "steps");
    if (fed_task_param_raw (task, "lineage", &data, &size) == 0)
        msgpack_sbuffer_write (&buffer, (const char *) data, size);
    else
        msgpack_pack_array (&pk, 0);
    fed_data_pack_str (&pk, "params");
    fed_task_params (task, &data, &size);
    msgpack_sbuffer_write (&buffer, (const char *) data, size);
    int rc = fed_data_write_json (task, "manifest.json", buffer.data, buffer.size, "manifest");
    msgpack_sbuffer_destroy (&buffer);
    return rc;
}

//  files, rows, dropped, rejects, schema, manifest (set by the caller), params.
static void
s_output (s_state_t *self)
{
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    struct {
        const char *key;
        int what; //  0 files, 1 rows, 2 dropped, 3 rejects, 4 schema, 5 filtered
    } outputs [] = {{"files", 0},    {"rows", 1},    {"dropped", 2},
                    {"filtered", 5}, {"rejects", 3}, {"schema", 4}};
    for (size_t i = 0; i < sizeof outputs / sizeof outputs [0]; i++) {
        int what = outputs [i].what;
        if ((what == 2 && !self->drop_empty) || (what == 5 && !self->filter.given))
            continue;
        if (what == 0 || what == 3)
            s_pack_files (self, &pk, what == 3);
        else if (what == 1 || what == 2 || what == 5)
            s_pack_counts (self, &pk, what == 1 ? 0 : what == 2 ? 1 : 2);
        else
            s_pack_schema (self, &pk);
        if (fed_task_output_raw (self->task, outputs [i].key, buffer.data, buffer.size))
            fed_task_fail (self->task, "agent_error", "output %s did not pack", outputs [i].key);
        msgpack_sbuffer_clear (&buffer);
    }
    msgpack_sbuffer_destroy (&buffer);
}

int
fed_data_export_run (fed_task_t *task)
{
    s_state_t *self = (s_state_t *) fed_calloc (1, sizeof *self);
    self->task = task;
    int rc = -1;
    if (s_parse_params (self) || s_open_inputs (self))
        goto err;
    if (self->style == S_RECORDS && s_infer_types (self))
        goto err;
    for (size_t i = 0; i < self->split_count; i++)
        if (s_export_split (self, &self->splits [i]))
            goto err;
    s_output (self);
    if (s_write_manifest (self))
        goto err;
    fed_data_output_params (task, "params");
    rc = 0;
err:
    for (size_t i = 0; i < self->split_count; i++)
        fed_data_reader_close (&self->splits [i].reader);
    s_source_free (&self->prompt);
    s_source_free (&self->completion);
    s_source_free (&self->system);
    s_source_free (&self->user);
    s_source_free (&self->assistant);
    for (size_t i = 0; i < 3; i++)
        free (self->texts [i].data);
    free (self->json.data);
    free (self->types);
    free (self->strings);
    free (self->kinds);
    free (self->row);
    free (self->numbers);
    free (self);
    return rc;
}
