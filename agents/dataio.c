/*  agents/dataio.c: formats, confined paths, aligned readers and param
    helpers shared by the data.* agents (dataio.h); the writers, rejects
    and checksums are in dataio_write.c.
*/
#include "dataio.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data_column.h"

#define PROGRESS_ROWS 1024
#define RAW_MAX FED_DATA_RAW_MAX

static const fed_data_config_t s_default_config = {NULL, 0, 256ull << 20};

const fed_data_config_t *
fed_data_config (fed_task_t *task)
{
    const fed_data_config_t *config = (const fed_data_config_t *) fed_task_arg (task);
    return config ? config : &s_default_config;
}

//  --- Formats ----------------------------------------------------------------

static const char *s_format_names [] = {"csv", "tsv", "jsonl"};

const char *
fed_data_format_name (fed_data_format_t format)
{
    return s_format_names [format];
}

int
fed_data_format_parse (const char *name, fed_data_format_t *format)
{
    for (int i = 0; i < 3; i++)
        if (!strcmp (name, s_format_names [i])) {
            *format = (fed_data_format_t) i;
            return 0;
        }
    return -1;
}

int
fed_data_format_of (const char *path, fed_data_format_t *format)
{
    const char *dot = strrchr (path, '.');
    const char *slash = strrchr (path, '/');
    if (!dot || (slash && dot < slash))
        return -1;
    dot++;
    if (!strcasecmp (dot, "csv"))
        *format = FED_DATA_CSV;
    else if (!strcasecmp (dot, "tsv"))
        *format = FED_DATA_TSV;
    else if (!strcasecmp (dot, "jsonl") || !strcasecmp (dot, "ndjson"))
        *format = FED_DATA_JSONL;
    else
        return -1;
    return 0;
}

//  --- Paths ------------------------------------------------------------------

//  True if path is dir or lies under it (both canonical).
static bool
s_under (const char *path, const char *dir)
{
    size_t length = strlen (dir);
    if (length > 1 && dir [length - 1] == '/')
        length--;
    return !strncmp (path, dir, length) && (path [length] == '/' || path [length] == '\0');
}

//  Sets run_dir (PATH_MAX) to the canonical parent of the workspace.
//  Returns 0, or -1 when the task has no workspace.
static int
s_run_dir (fed_task_t *task, char *run_dir)
{
    const char *workspace = fed_task_workspace (task);
    if (!*workspace)
        return -1;
    char parent [PATH_MAX];
    int n = snprintf (parent, sizeof parent, "%s/..", workspace);
    if (n < 0 || (size_t) n >= sizeof parent || !realpath (parent, run_dir))
        return -1;
    return 0;
}

int
fed_data_check_path (fed_task_t *task, const char *given, char *path)
{
    char joined [PATH_MAX];
    char run_dir [PATH_MAX];
    bool have_run = s_run_dir (task, run_dir) == 0;
    if (given [0] != '/') {
        if (!have_run)
            return fed_task_fail (task, "bad_params",
                                  "relative path '%.200s' needs a step workspace; give an "
                                  "absolute path",
                                  given);
        int n = snprintf (joined, sizeof joined, "%s/%s", run_dir, given);
        if (n < 0 || (size_t) n >= sizeof joined)
            return fed_task_fail (task, "bad_params", "path '%.200s' is too long", given);
        given = joined;
    }
    if (!realpath (given, path))
        return fed_task_fail (task, errno == ENOENT ? "not_found" : "io_error", "%.300s: %s", given,
                              strerror (errno));
    if (have_run && s_under (path, run_dir))
        return 0;
    const fed_data_config_t *config = fed_data_config (task);
    for (size_t i = 0; i < config->root_count; i++) {
        char root [PATH_MAX];
        if (realpath (config->roots [i], root) && s_under (path, root))
            return 0;
    }
    return fed_task_fail (task, "forbidden_path",
                          "%.300s is outside the run's directory and every data root; an "
                          "operator can allow it with config agents.data_roots",
                          path);
}

int
fed_data_input_path (fed_task_t *task, const char *param, char *path)
{
    const char *given = NULL;
    fed_mp_type_t type = fed_task_param_type (task, param);
    if (type == FED_MP_MAP) {
        fed_mpr_t reader;
        uint32_t count;
        if (fed_task_param_map (task, param, &reader, &count))
            return fed_task_fail (task, "bad_params", "param \"%s\" is malformed", param);
        for (uint32_t i = 0; i < count && !given; i++) {
            const char *key, *value;
            uint32_t klen, vlen;
            if (fed_mpr_str (&reader, &key, &klen))
                break;
            if (klen == 4 && !memcmp (key, "path", 4)) {
                if (fed_mpr_str (&reader, &value, &vlen) || memchr (value, 0, vlen))
                    break;
                given = fed_strndup (value, vlen);
            } else if (fed_mpr_skip (&reader, NULL))
                break;
        }
        if (!given)
            return fed_task_fail (task, "bad_params",
                                  "param \"%s\" must be a path or a map with a string \"path\"",
                                  param);
        int rc = fed_data_check_path (task, given, path);
        free ((char *) given);
        return rc;
    }
    if (type == FED_MP_NONE)
        return fed_task_fail (task, "bad_params", "param \"%s\" is missing: the input's path",
                              param);
    if (fed_task_require_str (task, param, &given))
        return -1;
    if (!*given)
        return fed_task_fail (task, "bad_params", "param \"%s\" is empty", param);
    return fed_data_check_path (task, given, path);
}

int
fed_data_output_path (fed_task_t *task, const char *name, char *path)
{
    const char *workspace = fed_task_workspace (task);
    if (!*workspace)
        return fed_task_fail (task, "no_workspace",
                              "%s writes files and needs a step workspace (run it in a workflow "
                              "or through agents run)",
                              fed_task_agent (task));
    if (!*name || strchr (name, '/') || !strcmp (name, ".") || !strcmp (name, ".."))
        return fed_task_fail (task, "bad_params", "output name '%.100s' must be a plain file name",
                              name);
    int n = snprintf (path, PATH_MAX, "%s/%s", workspace, name);
    if (n < 0 || n >= PATH_MAX)
        return fed_task_fail (task, "bad_params", "output path %s/%s is too long", workspace, name);
    return 0;
}

//  --- Reading ----------------------------------------------------------------

struct fed_data_reader_t {
    fed_task_t *task;
    char path [PATH_MAX];
    FILE *file;
    fed_table_t *table;
    fed_data_format_t format;
    fed_table_options_t options;
    uint64_t size;
    fed_field_t *columns; //  owned copies (names)
    char *column_text;    //  their bytes
    size_t column_count;
    fed_field_t *aligned; //  JSONL: one row mapped onto the columns
    fed_record_t record;  //  the last record read
    int pending;          //  a first call's result held back by open (0: none)
    fed_table_reject_t reject;
    bool own_reject; //  reject describes a row the table took as good
    char raw [RAW_MAX];
    size_t raw_len;
    uint64_t rows, malformed;
};

static int
s_reader_start (fed_data_reader_t *self)
{
    fed_err_t err = {0};
    self->table = self->format == FED_DATA_JSONL
        ? fed_table_new_jsonl (self->file, &self->options, &err)
        : fed_table_new_csv (self->file, &self->options, &err);
    if (!self->table)
        return fed_task_fail (self->task, "bad_params", "%s: %s", self->path, err.text);
    return 0;
}

//  Copies count names into the reader's own column list.
static void
s_set_columns (fed_data_reader_t *self, const fed_field_t *names, size_t count)
{
    size_t bytes = 0;
    for (size_t i = 0; i < count; i++)
        bytes += names [i].len + 1;
    self->columns = (fed_field_t *) fed_calloc (count ? count : 1, sizeof (fed_field_t));
    self->column_text = (char *) fed_malloc (bytes ? bytes : 1);
    char *at = self->column_text;
    for (size_t i = 0; i < count; i++) {
        memcpy (at, names [i].ptr, names [i].len);
        at [names [i].len] = '\0';
        self->columns [i] = (fed_field_t){at, names [i].len, FED_CELL_TEXT};
        at += names [i].len + 1;
    }
    self->column_count = count;
    self->aligned = (fed_field_t *) fed_calloc (count ? count : 1, sizeof (fed_field_t));
}

fed_data_reader_t *
fed_data_reader_open (fed_task_t *task, const char *path, const fed_table_options_t *options)
{
    fed_data_reader_t *self = (fed_data_reader_t *) fed_calloc (1, sizeof *self);
    self->task = task;
    snprintf (self->path, sizeof self->path, "%s", path);
    if (fed_data_format_of (path, &self->format)) {
        fed_task_fail (task, "bad_params",
                       "%.300s: unknown format; name the file .csv, .tsv, .jsonl or .ndjson", path);
        goto err;
    }
    if (options)
        self->options = *options;
    else
        fed_table_options_default (&self->options);
    self->options.header = self->format != FED_DATA_JSONL;
    if (self->format == FED_DATA_TSV)
        self->options.delimiter = '\t';
    self->file = fopen (path, "rb");
    struct stat st;
    if (!self->file || fstat (fileno (self->file), &st)) {
        fed_task_fail (task, "io_error", "%.300s: %s", path, strerror (errno));
        goto err;
    }
    self->size = (uint64_t) st.st_size;
    if (s_reader_start (self))
        goto err;
    //  The first call reads the header (CSV) or the first record (JSONL),
    //  which gives the columns; its result is handed out by the first next.
    int rc = fed_table_next (self->table, &self->record);
    size_t count = 0;
    const fed_field_t *header = fed_table_columns (self->table, &count);
    if (self->format != FED_DATA_JSONL && rc == -2 && !header) {
        fed_task_fail (task, "bad_input", "%.300s: the header row is malformed: %s", path,
                       fed_table_reject (self->table)->text);
        goto err;
    }
    if (rc == -1) {
        fed_task_fail (task, "io_error", "%.300s: %s", path, strerror (errno));
        goto err;
    }
    if (self->format == FED_DATA_JSONL)
        s_set_columns (self, rc == 1 ? self->record.names : NULL, rc == 1 ? self->record.count : 0);
    else
        s_set_columns (self, header, header ? count : 0);
    self->pending = rc == 0 ? 3 : rc == 1 ? 1 : 2; //  3: at the end already
    return self;
err:
    fed_data_reader_close (&self);
    return NULL;
}

void
fed_data_reader_close (fed_data_reader_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    fed_data_reader_t *self = *self_p;
    fed_table_destroy (&self->table);
    if (self->file)
        fclose (self->file);
    free (self->columns);
    free (self->column_text);
    free (self->aligned);
    free (self);
    *self_p = NULL;
}

const fed_field_t *
fed_data_reader_columns (const fed_data_reader_t *self, size_t *count)
{
    *count = self->column_count;
    return self->columns;
}

ssize_t
fed_data_reader_column (const fed_data_reader_t *self, const char *name)
{
    for (size_t i = 0; i < self->column_count; i++)
        if (!strcmp (self->columns [i].ptr, name))
            return (ssize_t) i;
    return -1;
}

//  Maps a JSONL record onto the columns. Returns 1, or -2 with own reject.
static int
s_align (fed_data_reader_t *self, const fed_field_t **fields)
{
    const fed_record_t *r = &self->record;
    bool same = r->count == self->column_count;
    for (size_t i = 0; same && i < r->count; i++)
        same = r->names [i].len == self->columns [i].len
            && !memcmp (r->names [i].ptr, self->columns [i].ptr, r->names [i].len);
    if (same) {
        *fields = r->fields;
        return 1;
    }
    static const fed_field_t empty = {"", 0, FED_CELL_NULL};
    for (size_t c = 0; c < self->column_count; c++)
        self->aligned [c] = empty;
    for (size_t i = 0; i < r->count; i++) {
        size_t c = 0;
        while (c < self->column_count
               && (r->names [i].len != self->columns [c].len
                   || memcmp (r->names [i].ptr, self->columns [c].ptr, r->names [i].len)))
            c++;
        if (c == self->column_count) {
            fed_table_reject_t *j = &self->reject;
            *j = (fed_table_reject_t){FED_TABLE_BAD_JSON, r->line, r->offset, r->offset, ""};
            snprintf (j->text, sizeof j->text,
                      "line %" PRIu64 " (byte %" PRIu64 "): key '%.100s' is not a column (the "
                      "columns are the first record's keys)",
                      r->line, r->offset, r->names [i].ptr);
            self->own_reject = true;
            return -2;
        }
        self->aligned [c] = r->fields [i];
    }
    *fields = self->aligned;
    return 1;
}

static void
s_progress (fed_data_reader_t *self)
{
    char text [128];
    snprintf (text, sizeof text, "rows %" PRIu64 ", %.1f of %.1f MiB", self->rows,
              (double) fed_table_offset (self->table) / 1048576.0, (double) self->size / 1048576.0);
    uint64_t done = fed_table_offset (self->table);
    fed_task_progress (self->task, done > self->size ? self->size : done, self->size, text);
}

int
fed_data_reader_next (fed_data_reader_t *self, const fed_field_t **fields)
{
    int rc;
    self->own_reject = false;
    self->raw_len = 0;
    if (self->pending) {
        rc = self->pending == 1 ? 1 : self->pending == 2 ? -2 : 0;
        self->pending = 0;
    } else
        rc = fed_table_next (self->table, &self->record);
    if (rc == -1)
        return fed_task_fail (self->task, "io_error", "%.300s: read error: %s", self->path,
                              strerror (errno));
    if (rc == 1) {
        if (self->format == FED_DATA_JSONL)
            rc = s_align (self, fields);
        else
            *fields = self->record.fields;
    }
    if (rc == 1)
        self->rows++;
    else if (rc == -2)
        self->malformed++;
    if (rc != 0 && (self->rows + self->malformed) % PROGRESS_ROWS == 0) {
        if (fed_task_cancelled (self->task))
            return fed_task_fail (self->task, "cancelled", "cancelled after %" PRIu64 " rows",
                                  self->rows);
        s_progress (self);
    }
    if (rc == 0)
        s_progress (self);
    return rc;
}

const fed_table_reject_t *
fed_data_reader_reject (fed_data_reader_t *self, const char **raw, size_t *raw_len)
{
    const fed_table_reject_t *reject =
        self->own_reject ? &self->reject : fed_table_reject (self->table);
    if (raw) {
        //  The row's bytes, read back: from its start to where the reader
        //  now is, without the line end, at most RAW_MAX.
        uint64_t end = fed_table_offset (self->table);
        if (end > reject->offset) {
            size_t want = end - reject->offset > RAW_MAX ? RAW_MAX : end - reject->offset;
            ssize_t got = pread (fileno (self->file), self->raw, want, (off_t) reject->offset);
            self->raw_len = got > 0 ? (size_t) got : 0;
            while (
                self->raw_len
                && (self->raw [self->raw_len - 1] == '\n' || self->raw [self->raw_len - 1] == '\r'))
                self->raw_len--;
        }
        *raw = self->raw;
        *raw_len = self->raw_len;
    }
    return reject;
}

uint64_t
fed_data_reader_line (const fed_data_reader_t *self)
{
    return self->record.line;
}

uint64_t
fed_data_reader_line_offset (const fed_data_reader_t *self)
{
    return self->record.offset;
}

uint64_t
fed_data_reader_rows (const fed_data_reader_t *self)
{
    return self->rows;
}

uint64_t
fed_data_reader_malformed (const fed_data_reader_t *self)
{
    return self->malformed;
}

uint64_t
fed_data_reader_offset (const fed_data_reader_t *self)
{
    return fed_table_offset (self->table);
}

uint64_t
fed_data_reader_size (const fed_data_reader_t *self)
{
    return self->size;
}

int
fed_data_reader_rewind (fed_data_reader_t *self)
{
    fed_table_destroy (&self->table);
    if (fseek (self->file, 0, SEEK_SET))
        return fed_task_fail (self->task, "io_error", "%.300s: %s", self->path, strerror (errno));
    if (s_reader_start (self))
        return -1;
    self->rows = self->malformed = 0;
    self->pending = 0;
    if (self->format != FED_DATA_JSONL || self->column_count == 0) {
        //  Consume the header again (CSV), handing the first row out next.
        int rc = fed_table_next (self->table, &self->record);
        if (rc == -1)
            return fed_task_fail (self->task, "io_error", "%.300s: %s", self->path,
                                  strerror (errno));
        self->pending = rc == 0 ? 3 : rc == 1 ? 1 : 2;
    }
    return 0;
}

//  --- Params and outputs -----------------------------------------------------

int
fed_data_check_params (fed_task_t *task, const char *const *known, size_t count)
{
    const uint8_t *data;
    size_t size;
    fed_task_params (task, &data, &size);
    fed_mpr_t reader;
    fed_mpr_init (&reader, data, size);
    uint32_t params;
    if (fed_mpr_map (&reader, &params))
        return fed_task_fail (task, "bad_params", "params must be a map");
    for (uint32_t i = 0; i < params; i++) {
        const char *key;
        uint32_t len;
        if (fed_mpr_str (&reader, &key, &len) || fed_mpr_skip (&reader, NULL))
            return fed_task_fail (task, "bad_params", "params must be a map with string keys");
        size_t k = 0;
        while (k < count && !(strlen (known [k]) == len && memcmp (known [k], key, len) == 0))
            k++;
        if (k < count)
            continue;
        char name [101];
        snprintf (name, sizeof name, "%.*s", (int) (len > 100 ? 100 : len), key);
        const char *near = fed_nearest_word (name, known, count);
        if (near)
            return fed_task_fail (task, "bad_params", "unknown param \"%s\"; did you mean \"%s\"?",
                                  name, near);
        char list [512] = "";
        for (k = 0; k < count; k++)
            snprintf (list + strlen (list), sizeof list - strlen (list), "%s%s", k ? ", " : "",
                      known [k]);
        return fed_task_fail (task, "bad_params", "unknown param \"%s\"; %s takes %s", name,
                              fed_task_agent (task), list);
    }
    return 0;
}

void
fed_data_output_params (fed_task_t *task, const char *key)
{
    const uint8_t *data;
    size_t size;
    fed_task_params (task, &data, &size);
    if (fed_task_output_raw (task, key, data, size))
        fed_task_output_nil (task, key);
}

void
fed_data_output_columns (fed_task_t *task, const char *key, const fed_field_t *columns,
                         size_t count)
{
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    msgpack_pack_array (&pk, count);
    for (size_t i = 0; i < count; i++) {
        msgpack_pack_str (&pk, columns [i].len);
        msgpack_pack_str_body (&pk, columns [i].ptr, columns [i].len);
    }
    if (fed_task_output_raw (task, key, buffer.data, buffer.size))
        fed_task_output_nil (task, key);
    msgpack_sbuffer_destroy (&buffer);
}

void
fed_data_columns_free (fed_data_columns_t *columns)
{
    for (size_t i = 0; i < columns->count; i++)
        free (columns->names [i]);
    columns->count = 0;
}

//  Adds one name and looks it up.
static int
s_column_add (fed_task_t *task, const char *param, fed_data_reader_t *reader,
              fed_data_columns_t *columns, const char *name, uint32_t len)
{
    if (memchr (name, 0, len))
        return fed_task_fail (task, "bad_params", "param \"%s\": a column name holds a NUL byte",
                              param);
    if (columns->count == FED_DATA_COLUMNS_MAX)
        return fed_task_fail (task, "bad_params", "param \"%s\" names more than %d columns", param,
                              FED_DATA_COLUMNS_MAX);
    char *copy = fed_strndup (name, len);
    columns->names [columns->count++] = copy;
    char where [80];
    snprintf (where, sizeof where, "param \"%.60s\"", param);
    return fed_data_column_find (task, reader, where, copy, len,
                                 &columns->index [columns->count - 1]);
}

int
fed_data_param_columns (fed_task_t *task, const char *param, fed_data_reader_t *reader,
                        fed_data_columns_t *columns)
{
    memset (columns, 0, sizeof *columns);
    fed_mp_type_t type = fed_task_param_type (task, param);
    if (type == FED_MP_NONE)
        return 0;
    if (type == FED_MP_STR) {
        const char *name;
        if (fed_task_require_str (task, param, &name))
            return -1;
        return s_column_add (task, param, reader, columns, name, (uint32_t) strlen (name));
    }
    fed_mpr_t mpr;
    uint32_t count;
    if (type != FED_MP_ARRAY || fed_task_param_array (task, param, &mpr, &count))
        return fed_task_fail (task, "bad_params",
                              "param \"%s\" must be a column name or a list of them", param);
    for (uint32_t i = 0; i < count; i++) {
        const char *name;
        uint32_t len;
        if (fed_mpr_str (&mpr, &name, &len))
            return fed_task_fail (task, "bad_params",
                                  "param \"%s\": item %u must be a column name (a string)", param,
                                  i);
        if (s_column_add (task, param, reader, columns, name, len))
            return -1;
    }
    return 0;
}
