/*  agents/table.c: the streaming CSV and JSONL readers for the
    data-preparation agents (see table.h; the writers and type inference
    are in table_write.c).

    The CSV reader is a byte-at-a-time state machine over a fixed read
    buffer, so a field or record of any size costs no more than the limits:
    bytes past a limit are not stored, the row is marked bad and the machine
    keeps running (quotes still tracked) until the row's end, so the next
    row starts where it really does. UTF-8 is validated on the same pass.
    The JSONL reader collects one line (bounded by max_record) and hands it
    to proto/json.h, which is strict and capped.
*/
#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "json.h"
#include "mpread.h"
#include "table.h"

#define DEFAULT_BUFFER (64 * 1024)
#define DEFAULT_FIELD (1024 * 1024)
#define DEFAULT_RECORD (4 * 1024 * 1024)
#define DEFAULT_FIELDS 4096
#define MIN_BUFFER 16

//  Where the CSV machine is within a record.
typedef enum {
    S_FIELD_START, //  before a field's first byte
    S_UNQUOTED,    //  inside an unquoted field
    S_QUOTED,      //  inside a quoted field
    S_QUOTE_SEEN,  //  a quote inside a quoted field: its end, or the first of ""
    S_CR           //  a CR outside quotes: the line ends, with or without LF
} s_state_t;

//  A field under construction: its length in the arena.
typedef struct {
    size_t len;           //  bytes, without the terminator
    size_t at;            //  offset of its first byte in the arena
    fed_cell_kind_t kind; //  its kind
} s_cell_t;

struct _fed_table_t {
    FILE *file;                //  input, not owned
    bool jsonl;                //  JSONL rather than CSV
    fed_table_options_t opt;   //  limits and dialect, defaults applied
    uint8_t *buf;              //  read buffer of opt.buffer_size bytes
    size_t buf_len;            //  bytes in buf
    size_t buf_pos;            //  next byte to read in buf
    bool eof;                  //  the file has no more bytes
    bool io_error;             //  a read failed; the reader is spent
    bool started;              //  the BOM check has been done
    uint64_t offset;           //  input offset of buf [buf_pos]
    uint64_t line;             //  line of the next byte (1-based)
    char *arena;               //  the record's field bytes, each NUL-terminated
    size_t arena_size;         //  bytes allocated
    size_t arena_used;         //  bytes used
    s_cell_t *cells;           //  the record's fields
    s_cell_t *keys;            //  JSONL: the record's keys
    size_t cells_size;         //  cells (and keys) allocated
    size_t cell_count;         //  fields so far
    fed_field_t *fields;       //  the record handed out, cells_size long
    fed_field_t *names;        //  JSONL: the keys handed out, cells_size long
    size_t field_start;        //  arena offset of the current field
    size_t record_bytes;       //  field bytes in the record so far
    s_state_t state;           //  CSV machine state
    bool any;                  //  the record has begun (a byte other than a line end)
    bool cr_blank;             //  S_CR ended a line that held nothing
    uint64_t rec_line;         //  line the record starts on
    uint64_t rec_offset;       //  offset of its first byte
    int u_need;                //  UTF-8 continuation bytes still expected
    uint32_t u_cp;             //  the code point so far
    uint32_t u_min;            //  smallest code point its length may encode
    uint64_t u_at;             //  offset of its lead byte
    bool bad;                  //  the record is malformed: store nothing more
    fed_table_reject_t reject; //  the last malformed row's report
    bool header_done;          //  the header has been read (or is not wanted)
    bool header_failed;        //  it was malformed: every call fails
    char *column_bytes;        //  the header's names, each NUL-terminated
    fed_field_t *columns;      //  the header's names
    size_t column_count;       //  how many
    uint64_t rows;             //  rows consumed, header excluded
};

static const char *s_why_text [] = {"ok",
                                    "unterminated quoted field",
                                    "text after a closing quote",
                                    "too many fields",
                                    "field over the size limit",
                                    "record over the size limit",
                                    "invalid UTF-8",
                                    "field count differs from the header's",
                                    "not a JSON object"};

void
fed_table_options_default (fed_table_options_t *options)
{
    memset (options, 0, sizeof *options);
    options->delimiter = ',';
    options->buffer_size = DEFAULT_BUFFER;
    options->max_field = DEFAULT_FIELD;
    options->max_record = DEFAULT_RECORD;
    options->max_fields = DEFAULT_FIELDS;
}

bool
fed_table_delimiter_ok (char delimiter)
{
    unsigned char c = (unsigned char) delimiter;
    return c && c < 0x80 && c != '"' && c != '\r' && c != '\n';
}

static fed_table_t *
s_new (FILE *file, const fed_table_options_t *options, bool jsonl, fed_err_t *err)
{
    fed_table_options_t opt;
    fed_table_options_default (&opt);
    if (options) {
        opt.header = options->header;
        opt.ragged = options->ragged;
        if (options->delimiter)
            opt.delimiter = options->delimiter;
        if (options->buffer_size)
            opt.buffer_size = options->buffer_size < MIN_BUFFER ? MIN_BUFFER : options->buffer_size;
        if (options->max_field)
            opt.max_field = options->max_field;
        if (options->max_record)
            opt.max_record = options->max_record;
        if (options->max_fields)
            opt.max_fields = options->max_fields;
    }
    if (!fed_table_delimiter_ok (opt.delimiter)) {
        fed_err_set (err, 0,
                     "table: delimiter 0x%02x refused: use an ASCII byte other than "
                     "'\"', CR or LF",
                     (unsigned char) opt.delimiter);
        return NULL;
    }
    fed_table_t *self = fed_calloc (1, sizeof *self);
    self->file = file;
    self->jsonl = jsonl;
    self->opt = opt;
    self->buf = fed_malloc (opt.buffer_size);
    self->line = 1;
    self->header_done = jsonl || !opt.header;
    return self;
}

fed_table_t *
fed_table_new_csv (FILE *file, const fed_table_options_t *options, fed_err_t *err)
{
    return s_new (file, options, false, err);
}

fed_table_t *
fed_table_new_jsonl (FILE *file, const fed_table_options_t *options, fed_err_t *err)
{
    return s_new (file, options, true, err);
}

void
fed_table_destroy (fed_table_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    fed_table_t *self = *self_p;
    free (self->buf);
    free (self->arena);
    free (self->cells);
    free (self->keys);
    free (self->fields);
    free (self->names);
    free (self->column_bytes);
    free (self->columns);
    free (self);
    *self_p = NULL;
}

const fed_table_reject_t *
fed_table_reject (const fed_table_t *self)
{
    return &self->reject;
}

const fed_field_t *
fed_table_columns (const fed_table_t *self, size_t *count)
{
    *count = self->column_count;
    return self->columns;
}

uint64_t
fed_table_offset (const fed_table_t *self)
{
    return self->offset;
}

uint64_t
fed_table_rows (const fed_table_t *self)
{
    return self->rows;
}

//  Refills the read buffer when it is empty. Returns false at the end of
//  input or on a read error (io_error set).
static bool
s_fill (fed_table_t *self)
{
    if (self->buf_pos < self->buf_len)
        return true;
    if (self->eof || self->io_error)
        return false;
    self->buf_len = fread (self->buf, 1, self->opt.buffer_size, self->file);
    self->buf_pos = 0;
    if (self->buf_len < self->opt.buffer_size) {
        if (ferror (self->file))
            self->io_error = true;
        else
            self->eof = true;
    }
    if (!self->started) {
        self->started = true;
        if (self->buf_len >= 3 && memcmp (self->buf, "\xef\xbb\xbf", 3) == 0) {
            self->buf_pos = 3;
            self->offset = 3;
        }
    }
    if (self->io_error)
        return false;
    return self->buf_pos < self->buf_len;
}

//  Marks the record malformed, unless it already is: the first fault wins.
static void
s_reject (fed_table_t *self, fed_table_why_t why, uint64_t at, const char *detail)
{
    if (self->bad)
        return;
    self->bad = true;
    self->reject.why = why;
    self->reject.line = self->rec_line;
    self->reject.offset = self->rec_offset;
    self->reject.at = at;
    snprintf (self->reject.text, sizeof self->reject.text,
              "line %" PRIu64 " (byte %" PRIu64 "): %s at byte %" PRIu64 "%s%s", self->rec_line,
              self->rec_offset, s_why_text [why], at, detail ? ": " : "", detail ? detail : "");
}

//  Starts a new record at the next byte.
static void
s_record_reset (fed_table_t *self)
{
    if (!self->started)
        (void) s_fill (self); //  skips a BOM, so the first record's offset is after it
    self->arena_used = 0;
    self->cell_count = 0;
    self->field_start = 0;
    self->record_bytes = 0;
    self->state = S_FIELD_START;
    self->any = false;
    self->bad = false;
    self->u_need = 0;
    self->rec_line = self->line;
    self->rec_offset = self->offset;
}

//  Makes room for n more arena bytes.
static void
s_arena_reserve (fed_table_t *self, size_t n)
{
    if (self->arena_used + n <= self->arena_size)
        return;
    size_t size = self->arena_size ? self->arena_size : 256;
    while (size < self->arena_used + n)
        size *= 2;
    self->arena = fed_realloc (self->arena, size);
    self->arena_size = size;
}

//  Makes room for one more cell.
static void
s_cells_reserve (fed_table_t *self)
{
    if (self->cell_count < self->cells_size)
        return;
    size_t size = self->cells_size ? self->cells_size * 2 : 16;
    self->cells = fed_realloc (self->cells, size * sizeof *self->cells);
    self->keys = fed_realloc (self->keys, size * sizeof *self->keys);
    self->fields = fed_realloc (self->fields, size * sizeof *self->fields);
    self->names = fed_realloc (self->names, size * sizeof *self->names);
    self->cells_size = size;
}

//  Checks one byte of UTF-8 at offset at; a fault marks the record.
static void
s_utf8 (fed_table_t *self, uint8_t c, uint64_t at)
{
    if (self->u_need) {
        if ((c & 0xc0) == 0x80) {
            self->u_cp = (self->u_cp << 6) | (c & 0x3f);
            if (--self->u_need == 0
                && (self->u_cp < self->u_min || (self->u_cp >= 0xd800 && self->u_cp <= 0xdfff)
                    || self->u_cp > 0x10ffff))
                s_reject (self, FED_TABLE_BAD_UTF8, self->u_at, NULL);
            return;
        }
        //  A sequence cut short; c starts afresh.
        s_reject (self, FED_TABLE_BAD_UTF8, self->u_at, "truncated sequence");
        self->u_need = 0;
    }
    if (c < 0x80)
        return;
    self->u_at = at;
    if (c >= 0xc2 && c <= 0xdf) {
        self->u_need = 1;
        self->u_cp = c & 0x1f;
        self->u_min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
        self->u_need = 2;
        self->u_cp = c & 0x0f;
        self->u_min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        self->u_need = 3;
        self->u_cp = c & 0x07;
        self->u_min = 0x10000;
    } else
        s_reject (self, FED_TABLE_BAD_UTF8, at, NULL);
}

//  Stores one byte of the current field, within the limits.
static void
s_put (fed_table_t *self, uint8_t c, uint64_t at)
{
    if (self->bad)
        return;
    if (self->arena_used - self->field_start + 1 > self->opt.max_field) {
        s_reject (self, FED_TABLE_FIELD_TOO_LONG, at, NULL);
        return;
    }
    if (self->record_bytes + 1 > self->opt.max_record) {
        s_reject (self, FED_TABLE_RECORD_TOO_LONG, at, NULL);
        return;
    }
    s_arena_reserve (self, 1);
    self->arena [self->arena_used++] = (char) c;
    self->record_bytes++;
}

//  The first byte at or after p, before end, that is special to an
//  unquoted field: a delimiter, LF, CR, or a byte with its high bit set
//  (UTF-8 to validate); end if there is none. Every other byte is plain
//  ASCII that the machine would store and move past without a state change.
static const uint8_t *
s_plain_end (const uint8_t *p, const uint8_t *end, uint8_t delim)
{
#if defined(__SSE2__)
    //  Sixteen bytes at a time: movemask gives the high bits directly, and
    //  a compare per special byte the rest.
    const __m128i d = _mm_set1_epi8 ((char) delim), lf = _mm_set1_epi8 ('\n'),
                  cr = _mm_set1_epi8 ('\r');
    while (end - p >= 16) {
        __m128i v = _mm_loadu_si128 ((const __m128i *) p);
        __m128i hit = _mm_or_si128 (_mm_or_si128 (_mm_cmpeq_epi8 (v, d), _mm_cmpeq_epi8 (v, lf)),
                                    _mm_or_si128 (_mm_cmpeq_epi8 (v, cr), v));
        unsigned mask = (unsigned) _mm_movemask_epi8 (hit);
        if (mask)
            return p + __builtin_ctz (mask);
        p += 16;
    }
#elif __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    //  Eight bytes at a time: a byte is special if its high bit is set or
    //  it equals the delimiter, LF or CR (the usual test for a zero byte,
    //  on the word xor each); the lowest flagged byte is exactly the first
    //  special one (a false flag can only follow a true one).
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    const uint64_t d = ones * delim, lf = ones * '\n', cr = ones * '\r';
    while (end - p >= 8) {
        uint64_t v;
        memcpy (&v, p, 8);
        uint64_t a = v ^ d, b = v ^ lf, c = v ^ cr;
        uint64_t x = (v | ((a - ones) & ~a) | ((b - ones) & ~b) | ((c - ones) & ~c)) & highs;
        if (x)
            return p + (__builtin_ctzll (x) >> 3);
        p += 8;
    }
#endif
    while (p < end && *p < 0x80 && *p != delim && *p != '\n' && *p != '\r')
        p++;
    return p;
}

//  The fast path of an unquoted field: copies at once the run of plain
//  ASCII bytes that follows in the read buffer, when the limits allow all
//  of it; anything else is left to the byte-by-byte machine.
static void
s_put_run (fed_table_t *self, uint8_t delim)
{
    if (self->bad || self->u_need)
        return;
    const uint8_t *start = self->buf + self->buf_pos;
    size_t n = (size_t) (s_plain_end (start, self->buf + self->buf_len, delim) - start);
    if (n == 0 || self->arena_used - self->field_start + n > self->opt.max_field
        || self->record_bytes + n > self->opt.max_record)
        return;
    s_arena_reserve (self, n);
    memcpy (self->arena + self->arena_used, start, n);
    self->arena_used += n;
    self->record_bytes += n;
    self->buf_pos += n;
    self->offset += n;
}

//  The fast path of whole fields, at a field's start in a good record: takes
//  every following field that is a run of plain bytes (not starting with a
//  quote) ended by the delimiter or LF inside the read buffer, within the
//  limits, as the machine would, storing each and its terminator at once.
//  Stops at anything else (a quote, CR, UTF-8, the buffer's end, a limit)
//  and leaves it to the machine, at a field's start. Returns true if it
//  ended the row (on an LF).
static bool
s_whole_fields (fed_table_t *self, uint8_t delim)
{
    const uint8_t *end = self->buf + self->buf_len;
    while (self->buf_pos < self->buf_len) {
        const uint8_t *start = self->buf + self->buf_pos;
        if (*start == '"')
            return false;
        const uint8_t *stop = s_plain_end (start, end, delim);
        size_t n = (size_t) (stop - start);
        if (stop == end || (*stop != delim && *stop != '\n'))
            return false;
        if (*stop == '\n' && n == 0 && !self->any)
            return false; //  a blank line: the machine skips it
        if (n > self->opt.max_field || self->record_bytes + n > self->opt.max_record
            || self->cell_count == self->opt.max_fields)
            return false; //  the machine reports it
        s_cells_reserve (self);
        s_arena_reserve (self, n + 1);
        s_cell_t *cell = &self->cells [self->cell_count++];
        cell->at = self->arena_used;
        cell->len = n;
        cell->kind = FED_CELL_TEXT;
        memcpy (self->arena + self->arena_used, start, n);
        self->arena [self->arena_used + n] = 0;
        self->arena_used += n + 1;
        self->field_start = self->arena_used;
        self->record_bytes += n;
        self->any = true;
        self->buf_pos += n + 1;
        self->offset += n + 1;
        if (*stop == '\n') {
            self->line++;
            return true;
        }
    }
    return false;
}

//  Ends the current field.
static void
s_end_field (fed_table_t *self, uint64_t at)
{
    if (self->bad)
        return;
    if (self->cell_count == self->opt.max_fields) {
        s_reject (self, FED_TABLE_TOO_MANY_FIELDS, at, NULL);
        return;
    }
    s_cells_reserve (self);
    s_arena_reserve (self, 1);
    s_cell_t *cell = &self->cells [self->cell_count++];
    cell->at = self->field_start;
    cell->len = self->arena_used - self->field_start;
    cell->kind = FED_CELL_TEXT;
    self->arena [self->arena_used++] = 0;
    self->field_start = self->arena_used;
}

//  Points the handed-out fields at the arena.
static void
s_publish (fed_table_t *self, fed_record_t *record, bool with_keys)
{
    for (size_t i = 0; i < self->cell_count; i++) {
        self->fields [i].ptr = self->arena + self->cells [i].at;
        self->fields [i].len = self->cells [i].len;
        self->fields [i].kind = self->cells [i].kind;
        if (with_keys) {
            self->names [i].ptr = self->arena + self->keys [i].at;
            self->names [i].len = self->keys [i].len;
            self->names [i].kind = FED_CELL_TEXT;
        }
    }
    record->fields = self->fields;
    record->count = self->cell_count;
    record->names = with_keys ? self->names : self->columns;
    record->line = self->rec_line;
    record->offset = self->rec_offset;
}

//  Keeps the record just read as the header.
static void
s_take_header (fed_table_t *self)
{
    self->column_bytes = fed_malloc (self->arena_used ? self->arena_used : 1);
    memcpy (self->column_bytes, self->arena, self->arena_used);
    self->columns = fed_calloc (self->cell_count, sizeof *self->columns);
    self->column_count = self->cell_count;
    for (size_t i = 0; i < self->cell_count; i++) {
        self->columns [i].ptr = self->column_bytes + self->cells [i].at;
        self->columns [i].len = self->cells [i].len;
        self->columns [i].kind = FED_CELL_TEXT;
    }
    self->header_done = true;
}

//  Runs the CSV machine to the end of one row. Returns 1 for a row (good or
//  bad, see self->bad), 0 at the end of input, -1 on a read error.
static int
s_csv_row (fed_table_t *self)
{
    s_record_reset (self);
    const uint8_t delim = (uint8_t) self->opt.delimiter;
    while (true) {
        if (!s_fill (self)) {
            if (self->io_error)
                return -1;
            break;
        }
        uint8_t c = self->buf [self->buf_pos];
        uint64_t at = self->offset;
        if (self->state == S_CR) {
            //  The line ended at the CR; an LF right after belongs to it.
            self->line++;
            if (c == '\n') {
                self->buf_pos++;
                self->offset++;
            }
            if (self->cr_blank) {
                s_record_reset (self);
                continue;
            }
            return 1;
        }
        if (self->state == S_FIELD_START && !self->bad && !self->u_need) {
            size_t before = self->buf_pos;
            if (s_whole_fields (self, delim))
                return 1;
            if (self->buf_pos != before)
                continue; //  the buffer may be spent: refill
        }
        self->buf_pos++;
        self->offset++;
        s_utf8 (self, c, at);
        switch (self->state) {
            case S_FIELD_START:
                if (c == '\n' || c == '\r') {
                    bool blank = !self->any;
                    if (!blank)
                        s_end_field (self, at);
                    if (c == '\r') {
                        self->state = S_CR;
                        self->cr_blank = blank;
                        break;
                    }
                    self->line++;
                    if (blank) {
                        s_record_reset (self);
                        break;
                    }
                    return 1;
                }
                self->any = true;
                if (c == '"')
                    self->state = S_QUOTED;
                else if (c == delim)
                    s_end_field (self, at);
                else {
                    s_put (self, c, at);
                    self->state = S_UNQUOTED;
                }
                break;
            case S_UNQUOTED:
            case S_QUOTE_SEEN:
                if (self->state == S_QUOTE_SEEN && c == '"') {
                    s_put (self, c, at);
                    self->state = S_QUOTED;
                } else if (c == delim) {
                    s_end_field (self, at);
                    self->state = S_FIELD_START;
                } else if (c == '\n') {
                    s_end_field (self, at);
                    self->line++;
                    return 1;
                } else if (c == '\r') {
                    s_end_field (self, at);
                    self->state = S_CR;
                    self->cr_blank = false;
                } else {
                    if (self->state == S_QUOTE_SEEN)
                        s_reject (self, FED_TABLE_TEXT_AFTER_QUOTE, at, NULL);
                    s_put (self, c, at);
                    self->state = S_UNQUOTED;
                    s_put_run (self, delim);
                }
                break;
            case S_QUOTED:
                if (c == '"')
                    self->state = S_QUOTE_SEEN;
                else {
                    if (c == '\n')
                        self->line++;
                    s_put (self, c, at);
                }
                break;
            case S_CR: break;
        }
    }
    //  End of input.
    if (self->u_need)
        s_reject (self, FED_TABLE_BAD_UTF8, self->u_at, "truncated sequence at end of input");
    switch (self->state) {
        case S_FIELD_START:
            if (!self->any)
                return 0;
            s_end_field (self, self->offset);
            return 1;
        case S_QUOTED: s_reject (self, FED_TABLE_UNTERMINATED_QUOTE, self->offset, NULL); return 1;
        case S_CR: self->line++; return self->cr_blank ? 0 : 1;
        default: s_end_field (self, self->offset); return 1;
    }
}

//  Copies len bytes into the arena, NUL-terminated; returns their offset.
static size_t
s_arena_put (fed_table_t *self, const void *ptr, size_t len)
{
    s_arena_reserve (self, len + 1);
    size_t at = self->arena_used;
    if (len)
        memcpy (self->arena + at, ptr, len);
    self->arena [at + len] = 0;
    self->arena_used += len + 1;
    return at;
}

//  Reads one line of JSONL into line_buf (a fresh allocation, bounded by
//  max_record). Returns 1 with a line, 0 at the end, -1 on a read error.
static int
s_jsonl_line (fed_table_t *self, char **line_p, size_t *len_p)
{
    while (true) {
        s_record_reset (self);
        size_t size = 0, cap = 0;
        char *line = NULL;
        bool got = false;
        while (s_fill (self)) {
            got = true;
            uint8_t *start = self->buf + self->buf_pos;
            size_t avail = self->buf_len - self->buf_pos;
            uint8_t *nl = memchr (start, '\n', avail);
            size_t take = nl ? (size_t) (nl - start) : avail;
            if (!self->bad && size + take > self->opt.max_record)
                s_reject (self, FED_TABLE_RECORD_TOO_LONG,
                          self->offset + (self->opt.max_record - size), NULL);
            if (!self->bad && take) {
                if (size + take > cap) {
                    cap = (size + take) * 2 > self->opt.max_record ? self->opt.max_record
                                                                   : (size + take) * 2;
                    line = fed_realloc (line, cap + 1);
                }
                memcpy (line + size, start, take);
                size += take;
            }
            self->buf_pos += take + (nl ? 1 : 0);
            self->offset += take + (nl ? 1 : 0);
            if (nl)
                break;
        }
        if (self->io_error) {
            free (line);
            return -1;
        }
        if (!got) {
            free (line);
            return 0;
        }
        self->line++;
        size_t blank = 0;
        while (blank < size
               && (line [blank] == ' ' || line [blank] == '\t' || line [blank] == '\r'))
            blank++;
        if (!self->bad && blank == size) {
            free (line);
            continue;
        }
        if (size && line [size - 1] == '\r')
            size--;
        *line_p = line;
        *len_p = size;
        return 1;
    }
}

//  Reads one JSONL row. Returns 1 (good or bad, see self->bad), 0, -1.
static int
s_jsonl_row (fed_table_t *self)
{
    char *line = NULL;
    size_t len = 0;
    int rc = s_jsonl_line (self, &line, &len);
    if (rc != 1 || self->bad) {
        free (line);
        return rc;
    }
    uint8_t *mp = NULL;
    size_t mp_size = 0;
    fed_err_t err = {0, ""};
    fed_mp_limits_t limits = fed_mp_default_limits;
    if (len + 1 < limits.max_objects)
        limits.max_objects = (uint32_t) len + 1;
    if (fed_json_to_msgpack (line, len, &limits, &mp, &mp_size, &err) != 0) {
        free (line);
        s_reject (self, FED_TABLE_BAD_JSON, self->rec_offset, err.text);
        return 1;
    }
    free (line);
    fed_mpr_t r;
    fed_mpr_init (&r, mp, mp_size);
    uint32_t count = 0;
    if (fed_mpr_peek (&r) != FED_MP_MAP || fed_mpr_map (&r, &count) != 0) {
        s_reject (self, FED_TABLE_BAD_JSON, self->rec_offset, fed_mp_type_name (fed_mpr_peek (&r)));
        goto done;
    }
    if (count > self->opt.max_fields) {
        s_reject (self, FED_TABLE_TOO_MANY_FIELDS, self->rec_offset, NULL);
        goto done;
    }
    for (uint32_t i = 0; i < count; i++) {
        //  json.h makes string keys and well-formed objects, so these reads
        //  cannot fail on its output: a failure is a bug.
        const char *key;
        uint32_t key_len;
        int ok = fed_mpr_str (&r, &key, &key_len);
        assert (ok == 0);
        s_cells_reserve (self);
        s_cell_t *cell = &self->cells [self->cell_count];
        self->keys [self->cell_count].at = s_arena_put (self, key, key_len);
        self->keys [self->cell_count].len = key_len;
        fed_mp_type_t type = fed_mpr_peek (&r);
        if (type == FED_MP_STR) {
            const char *str;
            uint32_t str_len;
            ok = fed_mpr_str (&r, &str, &str_len);
            assert (ok == 0);
            cell->at = s_arena_put (self, str, str_len);
            cell->len = str_len;
            cell->kind = FED_CELL_TEXT;
        } else if (type == FED_MP_NIL) {
            ok = fed_mpr_nil (&r);
            assert (ok == 0);
            cell->at = s_arena_put (self, "", 0);
            cell->len = 0;
            cell->kind = FED_CELL_NULL;
        } else {
            size_t from = r.pos;
            ok = fed_mpr_skip (&r, &limits);
            assert (ok == 0);
            char *text = fed_json_from_msgpack (mp + from, r.pos - from, false);
            assert (text);
            cell->len = strlen (text);
            cell->at = s_arena_put (self, text, cell->len);
            free (text);
            cell->kind = type == FED_MP_BOOL                 ? FED_CELL_BOOL
                : type == FED_MP_ARRAY || type == FED_MP_MAP ? FED_CELL_JSON
                                                             : FED_CELL_NUMBER;
        }
        if (cell->len > self->opt.max_field) {
            s_reject (self, FED_TABLE_FIELD_TOO_LONG, self->rec_offset, NULL);
            goto done;
        }
        self->cell_count++;
    }
    if (count == 0)
        s_reject (self, FED_TABLE_BAD_JSON, self->rec_offset, "an empty object has no fields");
done:
    free (mp);
    return 1;
}

int
fed_table_next (fed_table_t *self, fed_record_t *record)
{
    memset (record, 0, sizeof *record);
    if (self->io_error)
        return -1;
    if (self->header_failed)
        return FED_MALFORMED;
    while (true) {
        int rc = self->jsonl ? s_jsonl_row (self) : s_csv_row (self);
        if (rc != 1)
            return rc;
        if (!self->header_done) {
            if (self->bad) {
                self->header_failed = true;
                return FED_MALFORMED;
            }
            s_take_header (self);
            continue;
        }
        self->rows++;
        if (!self->bad && !self->jsonl && self->columns && !self->opt.ragged
            && self->cell_count != self->column_count) {
            char detail [64];
            snprintf (detail, sizeof detail, "%zu fields, the header has %zu", self->cell_count,
                      self->column_count);
            s_reject (self, FED_TABLE_WIDTH, self->offset, detail);
        }
        if (self->bad)
            return FED_MALFORMED;
        s_publish (self, record, self->jsonl);
        return 1;
    }
}
