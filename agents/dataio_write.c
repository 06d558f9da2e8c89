/*  agents/dataio_write.c: the data.* agents' output files (dataio.h):
    writers that hash what they write, the rejects file and its
    thresholds, JSON side files and file checksums.
*/
#include "dataio.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <msgpack.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "json.h"
#include "sha256.h"

#define RAW_MAX FED_DATA_RAW_MAX
#define WRITE_BUFFER (256 * 1024)

//  --- Writing ----------------------------------------------------------------

//  A file written through stdio whose bytes are hashed on their way out.
typedef struct {
    int fd;
    fed_sha256_t sha; //  SHA instructions when the CPU has them
    uint64_t bytes;
} s_sink_t;

static ssize_t
s_sink_write (void *cookie, const char *data, size_t size)
{
    s_sink_t *sink = (s_sink_t *) cookie;
    size_t done = 0;
    while (done < size) {
        ssize_t n = write (sink->fd, data + done, size - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return done ? (ssize_t) done : -1;
        fed_sha256_update (&sink->sha, data + done, (size_t) n);
        done += (size_t) n;
        sink->bytes += (uint64_t) n;
    }
    return (ssize_t) done;
}

static int
s_sink_close (void *cookie)
{
    (void) cookie; //  the descriptor is closed by the owner, after fsync
    return 0;
}

//  An open hashed output file.
typedef struct {
    char path [PATH_MAX];
    FILE *file;
    s_sink_t sink;
} s_out_t;

static int
s_out_open (fed_task_t *task, const char *name, s_out_t *out)
{
    if (fed_data_output_path (task, name, out->path))
        return -1;
    out->sink.fd = open (out->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out->sink.fd < 0)
        return fed_task_fail (task, "io_error", "%.300s: %s", out->path, strerror (errno));
    fed_sha256_init (&out->sink.sha);
    out->sink.bytes = 0;
    cookie_io_functions_t io = {NULL, s_sink_write, NULL, s_sink_close};
    out->file = fopencookie (&out->sink, "w", io);
    if (!out->file) {
        close (out->sink.fd);
        return fed_task_fail (task, "io_error", "%.300s: %s", out->path, strerror (errno));
    }
    setvbuf (out->file, NULL, _IOFBF, WRITE_BUFFER);
    return 0;
}

//  Flushes, fsyncs and closes; on success sets hex to the sha256. Returns
//  0, or -1 with errno.
static int
s_out_close (s_out_t *out, char *hex)
{
    int rc = fclose (out->file) ? -1 : 0;
    int saved = errno;
    out->file = NULL;
    if (rc == 0 && fsync (out->sink.fd)) {
        rc = -1;
        saved = errno;
    }
    close (out->sink.fd);
    unsigned char digest [crypto_hash_sha256_BYTES];
    fed_sha256_final (&out->sink.sha, digest);
    if (hex)
        fed_hex_encode (hex, digest, sizeof digest);
    errno = saved;
    return rc;
}

static void
s_out_abort (s_out_t *out)
{
    if (out->file)
        fclose (out->file);
    out->file = NULL;
    close (out->sink.fd);
    unlink (out->path);
}

void
fed_data_pack_strn (msgpack_packer *pk, const char *text, size_t len)
{
    msgpack_pack_str (pk, len);
    msgpack_pack_str_body (pk, text, len);
}

void
fed_data_pack_str (msgpack_packer *pk, const char *text)
{
    fed_data_pack_strn (pk, text, strlen (text));
}

//  Sets output key to {path, [rows,] bytes, sha256}; rows < 0 leaves it out.
static void
s_output_file (fed_task_t *task, const char *key, const char *path, int64_t rows, uint64_t bytes,
               const char *hex)
{
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, rows < 0 ? 3 : 4);
    fed_data_pack_str (&pk, "path");
    fed_data_pack_str (&pk, path);
    if (rows >= 0) {
        fed_data_pack_str (&pk, "rows");
        msgpack_pack_int64 (&pk, rows);
    }
    fed_data_pack_str (&pk, "bytes");
    msgpack_pack_uint64 (&pk, bytes);
    fed_data_pack_str (&pk, "sha256");
    fed_data_pack_str (&pk, hex);
    if (fed_task_output_raw (task, key, buffer.data, buffer.size))
        fed_task_fail (task, "agent_error", "output %s did not pack", key); //  a bug
    msgpack_sbuffer_destroy (&buffer);
}

struct fed_data_writer_t {
    fed_task_t *task;
    s_out_t out;
    fed_table_writer_t *table;
    fed_data_format_t format;
    size_t column_count;
    fed_cell_kind_t *kinds; //  JSONL: per column, or NULL
    fed_field_t *typed;     //  JSONL: a row with kinds applied
    uint64_t rows;
};

fed_data_writer_t *
fed_data_writer_open (fed_task_t *task, const char *name, const fed_field_t *columns, size_t count)
{
    fed_data_format_t format;
    if (fed_data_format_of (name, &format)) {
        fed_task_fail (task, "bad_params", "output '%.100s': name it .csv, .tsv or .jsonl", name);
        return NULL;
    }
    fed_data_writer_t *self = (fed_data_writer_t *) fed_calloc (1, sizeof *self);
    self->task = task;
    self->format = format;
    self->column_count = count;
    if (s_out_open (task, name, &self->out)) {
        free (self);
        return NULL;
    }
    self->table = format == FED_DATA_JSONL
        ? fed_table_writer_new_jsonl (self->out.file)
        : fed_table_writer_new_csv (self->out.file, format == FED_DATA_TSV ? '\t' : ',');
    if (count && fed_table_writer_columns (self->table, columns, count)) {
        fed_task_fail (task, "io_error", "%.300s: cannot write the header", self->out.path);
        fed_data_writer_abort (&self);
        return NULL;
    }
    return self;
}

void
fed_data_writer_kinds (fed_data_writer_t *self, const fed_cell_kind_t *kinds)
{
    if (self->format != FED_DATA_JSONL || !self->column_count)
        return;
    free (self->kinds);
    self->kinds = (fed_cell_kind_t *) fed_malloc (self->column_count * sizeof *kinds);
    memcpy (self->kinds, kinds, self->column_count * sizeof *kinds);
    if (!self->typed)
        self->typed = (fed_field_t *) fed_calloc (self->column_count, sizeof (fed_field_t));
}

//  True if text is a JSON number (RFC 8259 grammar).
static bool
s_json_number (const char *p, size_t n)
{
    size_t i = 0;
    if (i < n && p [i] == '-')
        i++;
    if (i < n && p [i] == '0')
        i++;
    else if (i < n && p [i] >= '1' && p [i] <= '9')
        while (i < n && p [i] >= '0' && p [i] <= '9')
            i++;
    else
        return false;
    if (i < n && p [i] == '.') {
        size_t start = ++i;
        while (i < n && p [i] >= '0' && p [i] <= '9')
            i++;
        if (i == start)
            return false;
    }
    if (i < n && (p [i] == 'e' || p [i] == 'E')) {
        i++;
        if (i < n && (p [i] == '+' || p [i] == '-'))
            i++;
        size_t start = i;
        while (i < n && p [i] >= '0' && p [i] <= '9')
            i++;
        if (i == start)
            return false;
    }
    return i == n;
}

//  A TEXT field written as kind: numbers that are JSON numbers, booleans in
//  any case, empty as null; anything else stays text.
static fed_field_t
s_typed (fed_field_t field, fed_cell_kind_t kind)
{
    if (field.kind != FED_CELL_TEXT || kind == FED_CELL_TEXT)
        return field;
    if (field.len == 0)
        return (fed_field_t){"", 0, FED_CELL_NULL};
    if (kind == FED_CELL_NUMBER && s_json_number (field.ptr, field.len))
        field.kind = FED_CELL_NUMBER;
    else if (kind == FED_CELL_BOOL && (field.len == 4 || field.len == 5)) {
        if (!strcasecmp (field.ptr, "true"))
            return (fed_field_t){"true", 4, FED_CELL_BOOL};
        if (!strcasecmp (field.ptr, "false"))
            return (fed_field_t){"false", 5, FED_CELL_BOOL};
    }
    return field;
}

int
fed_data_writer_row (fed_data_writer_t *self, const fed_field_t *fields)
{
    fed_record_t record = {fields, self->column_count, NULL, 0, 0};
    if (self->kinds) {
        for (size_t i = 0; i < self->column_count; i++)
            self->typed [i] = s_typed (fields [i], self->kinds [i]);
        record.fields = self->typed;
    }
    if (fed_table_write (self->table, &record))
        return fed_task_fail (self->task, "io_error", "%.300s: write failed: %s", self->out.path,
                              strerror (errno));
    self->rows++;
    return 0;
}

uint64_t
fed_data_writer_rows (const fed_data_writer_t *self)
{
    return self->rows;
}

const char *
fed_data_writer_path (const fed_data_writer_t *self)
{
    return self->out.path;
}

static void
s_writer_free (fed_data_writer_t *self)
{
    fed_table_writer_destroy (&self->table);
    free (self->kinds);
    free (self->typed);
    free (self);
}

int
fed_data_writer_close (fed_data_writer_t **self_p, fed_task_t *task, const char *key)
{
    return fed_data_writer_finish (self_p, task, key, NULL);
}

int
fed_data_writer_finish (fed_data_writer_t **self_p, fed_task_t *task, const char *key,
                        fed_data_file_t *file)
{
    fed_data_writer_t *self = *self_p;
    *self_p = NULL;
    char hex [65];
    fed_table_writer_destroy (&self->table);
    int rc = s_out_close (&self->out, hex);
    if (rc)
        fed_task_fail (task, "io_error", "%.300s: %s", self->out.path, strerror (errno));
    else {
        if (key)
            s_output_file (task, key, self->out.path, (int64_t) self->rows, self->out.sink.bytes,
                           hex);
        if (file) {
            snprintf (file->path, sizeof file->path, "%s", self->out.path);
            file->rows = self->rows;
            file->bytes = self->out.sink.bytes;
            memcpy (file->sha256, hex, sizeof file->sha256);
        }
    }
    s_writer_free (self);
    return rc;
}

void
fed_data_pack_file (msgpack_packer *pk, const fed_data_file_t *file)
{
    msgpack_pack_map (pk, 4);
    fed_data_pack_str (pk, "path");
    fed_data_pack_str (pk, file->path);
    fed_data_pack_str (pk, "rows");
    msgpack_pack_uint64 (pk, file->rows);
    fed_data_pack_str (pk, "bytes");
    msgpack_pack_uint64 (pk, file->bytes);
    fed_data_pack_str (pk, "sha256");
    fed_data_pack_str (pk, file->sha256);
}

void
fed_data_writer_abort (fed_data_writer_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    fed_data_writer_t *self = *self_p;
    *self_p = NULL;
    fed_table_writer_destroy (&self->table);
    s_out_abort (&self->out);
    s_writer_free (self);
}

//  --- Rejects ----------------------------------------------------------------

struct fed_data_rejects_t {
    fed_task_t *task;
    fed_data_writer_t *writer;
    uint64_t count;
    int64_t max_rejects;     //  -1: no limit
    double max_reject_ratio; //  1: no limit
};

fed_data_rejects_t *
fed_data_rejects_open (fed_task_t *task, const char *name)
{
    int64_t max_rejects = -1;
    double ratio = 1.0;
    if (fed_task_has (task, "max_rejects")) {
        if (fed_task_require_int (task, "max_rejects", &max_rejects))
            return NULL;
        if (max_rejects < 0) {
            fed_task_fail (task, "bad_params", "param \"max_rejects\" must be 0 or more");
            return NULL;
        }
    }
    if (fed_task_has (task, "max_reject_ratio")) {
        if (fed_task_require_double (task, "max_reject_ratio", &ratio))
            return NULL;
        if (!(ratio >= 0 && ratio <= 1)) {
            fed_task_fail (task, "bad_params", "param \"max_reject_ratio\" must be 0 to 1");
            return NULL;
        }
    }
    static const fed_field_t columns [] = {{"line", 4, FED_CELL_TEXT},
                                           {"offset", 6, FED_CELL_TEXT},
                                           {"reason", 6, FED_CELL_TEXT},
                                           {"raw", 3, FED_CELL_TEXT}};
    fed_data_writer_t *writer = fed_data_writer_open (task, name, columns, 4);
    if (!writer)
        return NULL;
    fed_data_rejects_t *self = (fed_data_rejects_t *) fed_calloc (1, sizeof *self);
    self->task = task;
    self->writer = writer;
    self->max_rejects = max_rejects;
    self->max_reject_ratio = ratio;
    return self;
}

//  Writes one reject row, then checks max_rejects.
static int
s_reject_write (fed_data_rejects_t *self, uint64_t line, uint64_t offset, const char *reason,
                const char *raw, size_t raw_len)
{
    char line_text [24], offset_text [24];
    snprintf (line_text, sizeof line_text, "%" PRIu64, line);
    snprintf (offset_text, sizeof offset_text, "%" PRIu64, offset);
    //  Raw bytes may be invalid UTF-8 (that may be why the row was refused):
    //  they are written with each bad byte as U+FFFD so the rejects file
    //  itself is valid UTF-8; the line and offset find the original.
    char clean [RAW_MAX * 3 + 1];
    size_t n = 0;
    for (size_t i = 0; i < raw_len;) {
        //  the one valid character of 1 to 4 bytes at i, if any
        size_t len = 0;
        for (size_t k = 1; k <= 4 && i + k <= raw_len; k++)
            if (fed_text_valid (raw + i, k)) {
                len = k;
                break;
            }
        if (len) {
            memcpy (clean + n, raw + i, len);
            n += len;
            i += len;
        } else {
            memcpy (clean + n, "\xef\xbf\xbd", 3);
            n += 3;
            i++;
        }
    }
    clean [n] = '\0';
    fed_field_t fields [4] = {{line_text, strlen (line_text), FED_CELL_TEXT},
                              {offset_text, strlen (offset_text), FED_CELL_TEXT},
                              {reason, strlen (reason), FED_CELL_TEXT},
                              {clean, n, FED_CELL_TEXT}};
    if (fed_data_writer_row (self->writer, fields))
        return -1;
    self->count++;
    if (self->max_rejects >= 0 && self->count > (uint64_t) self->max_rejects)
        return fed_task_fail (self->task, "too_many_rejects",
                              "more than %" PRId64 " rows refused (param \"max_rejects\"); the "
                              "last at line %" PRIu64 ": %s",
                              self->max_rejects, line, reason);
    return 0;
}

int
fed_data_rejects_malformed (fed_data_rejects_t *self, fed_data_reader_t *reader)
{
    const char *raw;
    size_t raw_len;
    const fed_table_reject_t *reject = fed_data_reader_reject (reader, &raw, &raw_len);
    return s_reject_write (self, reject->line, reject->offset, reject->text, raw, raw_len);
}

int
fed_data_rejects_row (fed_data_rejects_t *self, uint64_t line, uint64_t offset, const char *reason,
                      const fed_field_t *fields, size_t count)
{
    //  The row's fields joined as one CSV line, cut at RAW_MAX.
    char raw [RAW_MAX];
    size_t n = 0;
    for (size_t i = 0; i < count && n < RAW_MAX; i++) {
        if (i)
            raw [n++] = ',';
        bool quote = memchr (fields [i].ptr, ',', fields [i].len)
            || memchr (fields [i].ptr, '"', fields [i].len)
            || memchr (fields [i].ptr, '\n', fields [i].len);
        if (quote && n < RAW_MAX)
            raw [n++] = '"';
        for (size_t k = 0; k < fields [i].len && n < RAW_MAX; k++) {
            if (fields [i].ptr [k] == '"' && n + 1 < RAW_MAX)
                raw [n++] = '"';
            raw [n++] = fields [i].ptr [k];
        }
        if (quote && n < RAW_MAX)
            raw [n++] = '"';
    }
    return s_reject_write (self, line, offset, reason, raw, n);
}

int
fed_data_rejects_raw (fed_data_rejects_t *self, uint64_t line, uint64_t offset, const char *reason,
                      const char *raw, size_t raw_len)
{
    return s_reject_write (self, line, offset, reason, raw, raw_len > RAW_MAX ? RAW_MAX : raw_len);
}

uint64_t
fed_data_rejects_count (const fed_data_rejects_t *self)
{
    return self->count;
}

int
fed_data_rejects_close (fed_data_rejects_t **self_p, fed_task_t *task, uint64_t good_rows,
                        const char *key)
{
    return fed_data_rejects_finish (self_p, task, good_rows, key, NULL);
}

int
fed_data_rejects_finish (fed_data_rejects_t **self_p, fed_task_t *task, uint64_t good_rows,
                         const char *key, fed_data_file_t *file)
{
    fed_data_rejects_t *self = *self_p;
    *self_p = NULL;
    int rc = fed_data_writer_finish (&self->writer, task, key, file);
    uint64_t total = good_rows + self->count;
    if (rc == 0 && total && self->max_reject_ratio < 1
        && (double) self->count > self->max_reject_ratio * (double) total)
        rc = fed_task_fail (task, "too_many_rejects",
                            "%" PRIu64 " of %" PRIu64 " rows refused, over param "
                            "\"max_reject_ratio\" %g; see %s",
                            self->count, total, self->max_reject_ratio, key ? key : "rejects");
    free (self);
    return rc;
}

int
fed_data_write_json (fed_task_t *task, const char *name, const void *data, size_t size,
                     const char *key)
{
    char *json = fed_json_from_msgpack (data, size, true);
    if (!json)
        return fed_task_fail (task, "agent_error", "%s: the document did not render", name);
    s_out_t out;
    if (s_out_open (task, name, &out)) {
        free (json);
        return -1;
    }
    fputs (json, out.file);
    fputc ('\n', out.file);
    free (json);
    char hex [65];
    if (s_out_close (&out, hex))
        return fed_task_fail (task, "io_error", "%.300s: %s", out.path, strerror (errno));
    if (key)
        s_output_file (task, key, out.path, -1, out.sink.bytes, hex);
    return 0;
}

int
fed_data_sha256_file (const char *path, char *hex)
{
    FILE *file = fopen (path, "rb");
    if (!file)
        return -1;
    fed_sha256_t sha;
    fed_sha256_init (&sha);
    unsigned char buffer [65536];
    size_t n;
    while ((n = fread (buffer, 1, sizeof buffer, file)) > 0)
        fed_sha256_update (&sha, buffer, n);
    int rc = ferror (file) ? -1 : 0;
    fclose (file);
    unsigned char digest [crypto_hash_sha256_BYTES];
    fed_sha256_final (&sha, digest);
    fed_hex_encode (hex, digest, sizeof digest);
    return rc;
}
