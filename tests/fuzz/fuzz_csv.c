/*  tests/fuzz/fuzz_csv.c: libFuzzer target for the streaming CSV reader
    (agents/table.h), which reads files the data-preparation agents are
    handed: outside data of any shape.

    The first byte picks the dialect and the limits (delimiter, header,
    ragged rows, a read buffer of 16 bytes to the default, tight or loose
    field/record/field-count limits); the rest is the file. The reader must
    not crash, must return only 1, 0 or -2, and keep its promises: every
    record within the limits, NUL-terminated, valid UTF-8, its line and
    offset moving forward; every reject carrying a reason and a line >= 1.
    The good records (and the header) are then written with the CSV writer
    and read back: the same fields must come out, with no reject.

    fed_fuzz_csv is the target; the libFuzzer entry point is compiled in
    unless FED_FUZZ_SMOKE is defined.
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "table.h"

int fed_fuzz_csv (const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf (stderr, "fuzz_csv: %s:%d: invariant failed: %s\n", __FILE__, __LINE__,        \
                     #cond);                                                                       \
            abort ();                                                                              \
        }                                                                                          \
    } while (0)

//  A growing byte string of length-prefixed records, for comparing.
typedef struct {
    char *data;
    size_t size;
    FILE *file;
} s_log_t;

static void
s_log_open (s_log_t *log)
{
    log->data = NULL;
    log->size = 0;
    log->file = open_memstream (&log->data, &log->size);
    CHECK (log->file);
}

static void
s_log_record (s_log_t *log, const fed_field_t *fields, size_t count)
{
    fprintf (log->file, "%zu:", count);
    for (size_t i = 0; i < count; i++) {
        fprintf (log->file, "%zu:", fields [i].len);
        fwrite (fields [i].ptr, 1, fields [i].len, log->file);
    }
}

//  True if len bytes are UTF-8 (NUL allowed).
static bool
s_utf8 (const char *ptr, size_t len)
{
    size_t start = 0;
    for (size_t i = 0; i <= len; i++)
        if (i == len || ptr [i] == 0) {
            if (i > start && !fed_text_valid (ptr + start, i - start))
                return false;
            start = i + 1;
        }
    return true;
}

//  Reads everything; logs the good records (and the header) to good and,
//  when writer is set, writes them there. Returns the rejects seen.
static size_t
s_read_all (const uint8_t *data, size_t size, const fed_table_options_t *options, s_log_t *good,
            fed_table_writer_t *writer)
{
    FILE *file = size ? fmemopen ((void *) data, size, "rb") : tmpfile ();
    CHECK (file);
    fed_err_t err;
    fed_table_t *reader = fed_table_new_csv (file, options, &err);
    CHECK (reader);
    fed_record_t record;
    size_t rejects = 0;
    uint64_t last_line = 0, last_offset = 0;
    bool first = true, header_logged = false;
    while (true) {
        int rc = fed_table_next (reader, &record);
        CHECK (rc == 1 || rc == 0 || rc == FED_MALFORMED);
        if (rc == 0)
            break;
        if (rc == FED_MALFORMED) {
            const fed_table_reject_t *reject = fed_table_reject (reader);
            CHECK (reject->why != FED_TABLE_OK);
            CHECK (reject->line >= 1);
            CHECK (reject->offset <= size);
            CHECK (reject->text [0]);
            rejects++;
            size_t count;
            if (options->header && !fed_table_columns (reader, &count))
                break; //  a bad header fails every call
            continue;
        }
        size_t columns = 0;
        const fed_field_t *names = fed_table_columns (reader, &columns);
        if (names && !header_logged) {
            s_log_record (good, names, columns);
            if (writer)
                CHECK (fed_table_writer_columns (writer, names, columns) == 0);
            header_logged = true;
        }
        CHECK (record.count >= 1 && record.count <= options->max_fields);
        CHECK (record.line >= 1 && record.offset < size);
        CHECK (first || record.line > last_line);
        CHECK (first || record.offset > last_offset);
        first = false;
        last_line = record.line;
        last_offset = record.offset;
        size_t total = 0;
        for (size_t i = 0; i < record.count; i++) {
            const fed_field_t *f = &record.fields [i];
            CHECK (f->ptr && f->ptr [f->len] == 0);
            CHECK (f->len <= options->max_field);
            CHECK (f->kind == FED_CELL_TEXT);
            CHECK (s_utf8 (f->ptr, f->len));
            total += f->len;
        }
        CHECK (total <= options->max_record);
        s_log_record (good, record.fields, record.count);
        if (writer)
            CHECK (fed_table_write (writer, &record) == 0);
    }
    fed_table_destroy (&reader);
    fclose (file);
    return rejects;
}

int
fed_fuzz_csv (const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    static const char delimiters [] = {',', ';', '\t', '|'};
    static const size_t buffers [] = {16, 64, 4096, 0};
    static const size_t limits [][3] = {{8, 32, 4}, {64, 256, 16}, {1024, 8192, 256}, {0, 0, 0}};
    fed_table_options_t options;
    fed_table_options_default (&options);
    uint8_t pick = data [0];
    options.delimiter = delimiters [pick & 3];
    options.header = pick & 4;
    options.ragged = pick & 8;
    if (buffers [(pick >> 4) & 3])
        options.buffer_size = buffers [(pick >> 4) & 3];
    if (limits [pick >> 6][0]) {
        options.max_field = limits [pick >> 6][0];
        options.max_record = limits [pick >> 6][1];
        options.max_fields = limits [pick >> 6][2];
    }
    data++;
    size--;

    s_log_t first, second;
    s_log_open (&first);
    s_log_open (&second);
    char *text = NULL;
    size_t text_size = 0;
    FILE *out = open_memstream (&text, &text_size);
    CHECK (out);
    fed_table_writer_t *writer = fed_table_writer_new_csv (out, options.delimiter);
    CHECK (writer);
    (void) s_read_all (data, size, &options, &first, writer);
    fed_table_writer_destroy (&writer);
    CHECK (fclose (out) == 0);
    fclose (first.file);

    //  What was written reads back as the same fields, header as a row.
    options.header = false;
    options.ragged = true;
    CHECK (s_read_all ((const uint8_t *) text, text_size, &options, &second, NULL) == 0);
    fclose (second.file);
    CHECK (first.size == second.size);
    CHECK (memcmp (first.data, second.data, first.size) == 0);
    free (first.data);
    free (second.data);
    free (text);
    return 0;
}

#ifndef FED_FUZZ_SMOKE
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);
int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    return fed_fuzz_csv (data, size);
}
#endif
