/*  agents/table_write.c: the streaming CSV and JSONL writers, and type
    inference, for the data-preparation agents (see table.h).

    The writers write each record as it comes, straight to the FILE, and
    keep nothing but the column names. The CSV writer quotes a field only
    when the reader would otherwise read it differently, so a file written
    here reads back field for field.
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "table.h"

//  A writer's file is its own, used by one thread: the unlocked stdio calls
//  save a lock per field (a tenth of data.clean's time on a large table).
#ifdef __GLIBC__
#define fputc fputc_unlocked
#define fwrite fwrite_unlocked
#define ferror ferror_unlocked
#endif

struct _fed_table_writer_t {
    FILE *file;           //  output, not owned
    bool jsonl;           //  JSONL rather than CSV
    char delimiter;       //  CSV separator
    char *column_bytes;   //  the column names, each NUL-terminated
    fed_field_t *columns; //  the column names
    size_t column_count;  //  how many
    char *row;            //  CSV: the row being formatted, written with one fwrite
    size_t row_cap;       //  bytes allocated at row
};

static fed_table_writer_t *
s_writer_new (FILE *file, bool jsonl, char delimiter)
{
    fed_table_writer_t *self = fed_calloc (1, sizeof *self);
    self->file = file;
    self->jsonl = jsonl;
    self->delimiter = delimiter;
    return self;
}

fed_table_writer_t *
fed_table_writer_new_csv (FILE *file, char delimiter)
{
    if (!delimiter)
        delimiter = ',';
    if (!fed_table_delimiter_ok (delimiter))
        return NULL;
    return s_writer_new (file, false, delimiter);
}

fed_table_writer_t *
fed_table_writer_new_jsonl (FILE *file)
{
    return s_writer_new (file, true, ',');
}

void
fed_table_writer_destroy (fed_table_writer_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    fed_table_writer_t *self = *self_p;
    free (self->column_bytes);
    free (self->columns);
    free (self->row);
    free (self);
    *self_p = NULL;
}

//  Bytes readable past the end of the row being formatted, so the scan for
//  special bytes can load whole blocks.
#define ROW_SLACK 16

//  True if the CSV field's n bytes at p (a copy in the row buffer, with
//  ROW_SLACK readable bytes after it) must be quoted to read back as itself.
static bool
s_needs_quotes (const fed_table_writer_t *self, const char *p, size_t n, bool only)
{
    if (n == 0)
        return only;
    if (p [0] == ' ' || p [0] == '\t' || p [n - 1] == ' ' || p [n - 1] == '\t')
        return true;
    if (n >= 3 && memcmp (p, "\xef\xbb\xbf", 3) == 0)
        return true;
#if defined(__SSE2__)
    //  Sixteen bytes at a time, the bytes of the last block past n masked
    //  off (they are the buffer's slack or the next field's room).
    const __m128i d = _mm_set1_epi8 (self->delimiter), q = _mm_set1_epi8 ('"'),
                  cr = _mm_set1_epi8 ('\r'), lf = _mm_set1_epi8 ('\n');
    for (size_t i = 0; i < n; i += 16) {
        __m128i v = _mm_loadu_si128 ((const __m128i *) (p + i));
        __m128i hit = _mm_or_si128 (_mm_or_si128 (_mm_cmpeq_epi8 (v, d), _mm_cmpeq_epi8 (v, q)),
                                    _mm_or_si128 (_mm_cmpeq_epi8 (v, cr), _mm_cmpeq_epi8 (v, lf)));
        unsigned mask = (unsigned) _mm_movemask_epi8 (hit);
        if (n - i < 16)
            mask &= (1u << (n - i)) - 1;
        if (mask)
            return true;
    }
    return false;
#else
    //  Eight bytes at a time (a zero byte in the word xor each special byte),
    //  then one by one.
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    const uint64_t d = ones * (uint8_t) self->delimiter, q = ones * '"', cr = ones * '\r',
                   lf = ones * '\n';
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t v;
        memcpy (&v, p + i, 8);
        uint64_t a = v ^ d, b = v ^ q, c = v ^ cr, e = v ^ lf;
        if ((((a - ones) & ~a) | ((b - ones) & ~b) | ((c - ones) & ~c) | ((e - ones) & ~e)) & highs)
            break;
    }
    for (; i < n; i++)
        if (p [i] == self->delimiter || p [i] == '"' || p [i] == '\r' || p [i] == '\n')
            return true;
    return false;
#endif
}

//  Formats one CSV field at out, which has room for 2 * len + 2 bytes (every
//  byte a quote, doubled, and the enclosing quotes) and ROW_SLACK more.
//  Returns the end. The field is copied first and checked in the copy.
static char *
s_format_csv_field (const fed_table_writer_t *self, const fed_field_t *field, bool only, char *out)
{
    memcpy (out, field->ptr, field->len);
    if (!s_needs_quotes (self, out, field->len, only))
        return out + field->len;
    *out++ = '"';
    const char *p = field->ptr, *end = field->ptr + field->len;
    while (p < end) {
        const char *quote = memchr (p, '"', (size_t) (end - p));
        size_t run = quote ? (size_t) (quote - p) + 1 : (size_t) (end - p);
        memcpy (out, p, run);
        out += run;
        if (quote)
            *out++ = '"';
        p += run;
    }
    *out++ = '"';
    return out;
}

//  Formats the row in the writer's buffer, then hands it to stdio in one
//  call: a call per field cost more than the formatting.
static void
s_write_csv (fed_table_writer_t *self, const fed_field_t *fields, size_t count)
{
    size_t need = count + 1 + ROW_SLACK;
    for (size_t i = 0; i < count; i++)
        need += 2 * fields [i].len + 2;
    if (need > self->row_cap) {
        size_t cap = self->row_cap ? self->row_cap : 1024;
        while (cap < need)
            cap *= 2;
        free (self->row);
        //  Zeroed, so the slack a scan reads past a field is never
        //  uninitialised memory.
        self->row = fed_calloc (1, cap);
        self->row_cap = cap;
    }
    char *out = self->row;
    for (size_t i = 0; i < count; i++) {
        if (i)
            *out++ = self->delimiter;
        out = s_format_csv_field (self, &fields [i], count == 1, out);
    }
    *out++ = '\n';
    fwrite (self->row, 1, (size_t) (out - self->row), self->file);
}

//  A JSON string: quotes, backslashes and control characters escaped.
static void
s_write_json_string (FILE *file, const char *ptr, size_t len)
{
    fputc ('"', file);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char) ptr [i];
        if (c == '"' || c == '\\') {
            fputc ('\\', file);
            fputc (c, file);
        } else if (c == '\n')
            fputs ("\\n", file);
        else if (c == '\r')
            fputs ("\\r", file);
        else if (c == '\t')
            fputs ("\\t", file);
        else if (c < 0x20 || c == 0x7f)
            fprintf (file, "\\u%04x", c);
        else
            fputc (c, file);
    }
    fputc ('"', file);
}

static void
s_write_jsonl (fed_table_writer_t *self, const fed_field_t *fields, const fed_field_t *names,
               size_t count)
{
    fputc ('{', self->file);
    for (size_t i = 0; i < count; i++) {
        if (i)
            fputc (',', self->file);
        s_write_json_string (self->file, names [i].ptr, names [i].len);
        fputc (':', self->file);
        const fed_field_t *f = &fields [i];
        if (f->kind == FED_CELL_NULL || (f->kind != FED_CELL_TEXT && f->len == 0))
            fputs ("null", self->file);
        else if (f->kind == FED_CELL_TEXT)
            s_write_json_string (self->file, f->ptr, f->len);
        else
            fwrite (f->ptr, 1, f->len, self->file);
    }
    fputs ("}\n", self->file);
}

int
fed_table_writer_columns (fed_table_writer_t *self, const fed_field_t *names, size_t count)
{
    if (count == 0)
        return -1;
    size_t bytes = 0;
    for (size_t i = 0; i < count; i++)
        bytes += names [i].len + 1;
    free (self->column_bytes);
    free (self->columns);
    self->column_bytes = fed_malloc (bytes);
    self->columns = fed_calloc (count, sizeof *self->columns);
    self->column_count = count;
    char *p = self->column_bytes;
    for (size_t i = 0; i < count; i++) {
        memcpy (p, names [i].ptr, names [i].len);
        p [names [i].len] = 0;
        self->columns [i].ptr = p;
        self->columns [i].len = names [i].len;
        self->columns [i].kind = FED_CELL_TEXT;
        p += names [i].len + 1;
    }
    if (!self->jsonl)
        s_write_csv (self, self->columns, count);
    return ferror (self->file) ? -1 : 0;
}

int
fed_table_write (fed_table_writer_t *self, const fed_record_t *record)
{
    if (record->count == 0)
        return -1;
    if (self->jsonl) {
        const fed_field_t *names = record->names;
        if (!names) {
            if (self->column_count != record->count)
                return -1;
            names = self->columns;
        }
        s_write_jsonl (self, record->fields, names, record->count);
    } else
        s_write_csv (self, record->fields, record->count);
    return ferror (self->file) ? -1 : 0;
}

//  Type inference.

static bool
s_word (const char *ptr, size_t len, const char *word)
{
    return strlen (word) == len && strncasecmp (ptr, word, len) == 0;
}

fed_table_type_t
fed_table_infer (const char *ptr, size_t len)
{
    if (len == 0)
        return FED_TYPE_EMPTY;
    if ((len == 4
         && (!memcmp (ptr, "true", 4) || !memcmp (ptr, "True", 4) || !memcmp (ptr, "TRUE", 4)))
        || (len == 5
            && (!memcmp (ptr, "false", 5) || !memcmp (ptr, "False", 5)
                || !memcmp (ptr, "FALSE", 5))))
        return FED_TYPE_BOOL;
    size_t i = 0;
    bool negative = false;
    if (ptr [0] == '+' || ptr [0] == '-') {
        negative = ptr [0] == '-';
        i++;
    }
    if (s_word (ptr + i, len - i, "nan") || s_word (ptr + i, len - i, "inf")
        || s_word (ptr + i, len - i, "infinity"))
        return FED_TYPE_FLOAT;
    size_t int_digits = 0, frac_digits = 0;
    uint64_t magnitude = 0;
    bool overflow = false;
    for (; i < len && ptr [i] >= '0' && ptr [i] <= '9'; i++, int_digits++) {
        unsigned d = (unsigned) (ptr [i] - '0');
        if (magnitude > (UINT64_MAX - d) / 10)
            overflow = true;
        else
            magnitude = magnitude * 10 + d;
    }
    if (i == len) {
        if (!int_digits)
            return FED_TYPE_STRING;
        uint64_t max = negative ? (uint64_t) INT64_MAX + 1 : (uint64_t) INT64_MAX;
        return overflow || magnitude > max ? FED_TYPE_FLOAT : FED_TYPE_INT;
    }
    if (ptr [i] == '.')
        for (i++; i < len && ptr [i] >= '0' && ptr [i] <= '9'; i++)
            frac_digits++;
    if (!int_digits && !frac_digits)
        return FED_TYPE_STRING;
    if (i < len && (ptr [i] == 'e' || ptr [i] == 'E')) {
        i++;
        if (i < len && (ptr [i] == '+' || ptr [i] == '-'))
            i++;
        size_t exp_digits = 0;
        for (; i < len && ptr [i] >= '0' && ptr [i] <= '9'; i++)
            exp_digits++;
        if (!exp_digits)
            return FED_TYPE_STRING;
    }
    return i == len ? FED_TYPE_FLOAT : FED_TYPE_STRING;
}

const char *
fed_table_type_name (fed_table_type_t type)
{
    static const char *names [] = {"empty", "int", "float", "bool", "string"};
    return (unsigned) type < 5 ? names [type] : "?";
}

void
fed_table_coltype_init (fed_table_coltype_t *self)
{
    memset (self, 0, sizeof *self);
    self->type = FED_TYPE_EMPTY;
}

fed_table_type_t
fed_table_coltype_add (fed_table_coltype_t *self, const char *ptr, size_t len)
{
    fed_table_type_t type = fed_table_infer (ptr, len);
    self->values++;
    if (type == FED_TYPE_EMPTY)
        self->empty++;
    else if (self->type == FED_TYPE_EMPTY || self->type == type)
        self->type = type;
    else if (self->type == FED_TYPE_STRING || type == FED_TYPE_STRING || self->type == FED_TYPE_BOOL
             || type == FED_TYPE_BOOL)
        self->type = FED_TYPE_STRING;
    else
        self->type = FED_TYPE_FLOAT; //  int with float, either way round
    return self->type;
}
