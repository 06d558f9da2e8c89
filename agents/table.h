/*  agents/table.h: streaming tables for the data-preparation agents.

    The built-in ingest/clean/transform/label/split/export agents read and
    write CSV and JSONL files in a step's workspace, files that may be far
    larger than RAM. This module reads them one record at a time through a
    fixed buffer, with memory bounded by limits the caller sets (field size,
    record size, fields per record), and writes them back the same way.
    Input is outside data: every malformed row is refused with the line it
    starts on, its byte offset and why, and the reader carries on with the
    next row so a caller can quarantine rejects and keep the rest.

    A record is an array of fields, each a (ptr, len) pair into the reader's
    record buffer, valid until the next call on the reader. Field bytes are
    valid UTF-8 (NUL is allowed; each field is also NUL-terminated for
    convenience, len is authoritative). Fields are copied once, from the
    read buffer (CSV, quotes unescaped) or the decoded object (JSONL) into
    the record buffer: a field can straddle read buffers and needs its
    quotes removed, so pointing into the read buffer is not possible. Column
    names are the CSV header's (fed_table_columns) or, in JSONL, each
    record's own keys.
*/
#ifndef FED_TABLE_H_INCLUDED
#define FED_TABLE_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "util.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _fed_table_t fed_table_t;
typedef struct _fed_table_writer_t fed_table_writer_t;

//  What a field holds. CSV fields are always TEXT; JSONL values keep their
//  JSON kind so a JSONL writer can write them back as they were.
typedef enum {
    FED_CELL_TEXT = 0, //  a string (CSV field, JSON string)
    FED_CELL_NUMBER,   //  a JSON number, as text ("42", "-1.5", "1e+30")
    FED_CELL_BOOL,     //  "true" or "false"
    FED_CELL_NULL,     //  JSON null; the text is empty
    FED_CELL_JSON      //  a nested JSON array or object, as compact JSON text
} fed_cell_kind_t;

//  One field. ptr is never NULL (an empty field points at "").
typedef struct {
    const char *ptr;      //  the bytes, NUL-terminated, not owned
    size_t len;           //  bytes before the terminator
    fed_cell_kind_t kind; //  see above
} fed_field_t;

//  One record, borrowed from the reader until its next call.
typedef struct {
    const fed_field_t *fields; //  count fields, not owned
    size_t count;              //  number of fields (>= 1)
    const fed_field_t *names;  //  JSONL: the keys, one per field; CSV: the
                               //  header (NULL without one), not owned
    uint64_t line;             //  line the record starts on (1-based)
    uint64_t offset;           //  byte offset of its first byte (0-based)
} fed_record_t;

//  Reader limits and dialect. Zero in any field means its default.
typedef struct {
    char delimiter;     //  CSV field separator, default ','; not '"', CR or LF, ASCII
    bool header;        //  CSV: the first row holds the column names
    bool ragged;        //  CSV with header: accept rows whose width differs from it
    size_t buffer_size; //  read buffer, default 64 KiB
    size_t max_field;   //  bytes in one field (unescaped), default 1 MiB
    size_t max_record;  //  bytes in one record's fields (JSONL: its line), default 4 MiB
    size_t max_fields;  //  fields in one record, default 4096
} fed_table_options_t;

//  Why a row was refused.
typedef enum {
    FED_TABLE_OK = 0,
    FED_TABLE_UNTERMINATED_QUOTE, //  input ends inside a quoted field
    FED_TABLE_TEXT_AFTER_QUOTE,   //  "a"b: bytes between a closing quote and the delimiter
    FED_TABLE_TOO_MANY_FIELDS,    //  more than max_fields
    FED_TABLE_FIELD_TOO_LONG,     //  a field over max_field
    FED_TABLE_RECORD_TOO_LONG,    //  a record over max_record
    FED_TABLE_BAD_UTF8,           //  invalid UTF-8 (overlong, surrogate, > U+10FFFF, truncated)
    FED_TABLE_WIDTH,              //  CSV: field count differs from the header's
    FED_TABLE_BAD_JSON            //  JSONL: not one JSON object (text says where)
} fed_table_why_t;

//  A malformed row's report.
typedef struct {
    fed_table_why_t why; //  the first thing wrong with the row
    uint64_t line;       //  line the row starts on (1-based)
    uint64_t offset;     //  byte offset of the row's first byte
    uint64_t at;         //  byte offset of the offending byte (or the row's end)
    char text [320];     //  "line 7 (byte 120): invalid UTF-8 at byte 131"
} fed_table_reject_t;

//  True if c can separate fields: an ASCII byte other than NUL, '"', CR, LF.
bool fed_table_delimiter_ok (char c);

//  Defaults for every option (delimiter ',', no header, strict width).
void fed_table_options_default (fed_table_options_t *options);

//  Opens a CSV reader (RFC 4180: quoted fields with "" escapes, embedded
//  delimiters and line breaks, CRLF or LF line ends; a bare CR also ends a
//  line; an optional UTF-8 BOM at the very start is skipped; blank lines
//  are skipped and counted). Reads file from its current position; does not
//  own or close it (use fdopen for a descriptor). options may be NULL.
//  Returns NULL, with err filled, if an option is invalid (a delimiter of
//  '"', CR, LF or non-ASCII). Caller owns the reader.
fed_table_t *fed_table_new_csv (FILE *file, const fed_table_options_t *options, fed_err_t *err);

//  Opens a JSONL reader: one JSON object per line (RFC 8259, via
//  proto/json.h), blank lines skipped, CRLF accepted, a BOM skipped. Each
//  member is a field named by its key: strings as their text, numbers as
//  JSON text, true/false, null (empty), nested arrays/objects as compact JSON.
//  A line that is not an object, has more than max_fields members, or is
//  longer than max_record is refused. Same ownership as fed_table_new_csv.
fed_table_t *fed_table_new_jsonl (FILE *file, const fed_table_options_t *options, fed_err_t *err);

//  Destroys the reader (not its file). Accepts NULL; sets *self_p to NULL.
void fed_table_destroy (fed_table_t **self_p);

//  Reads the next record into *record (borrowed until the next call).
//  Returns 1 with a record; 0 at the end of input; -1 on a read error (the
//  reader is then spent); -2 (FED_MALFORMED) for a malformed row, described
//  by fed_table_reject: the row has been consumed and the next call reads the
//  row after it. With the header option a malformed header row returns -2
//  and so does every later call.
int fed_table_next (fed_table_t *self, fed_record_t *record) FED_MUST_USE;

//  The last malformed row's report (why = FED_TABLE_OK if none yet).
//  Owned by the reader, valid until its next call.
const fed_table_reject_t *fed_table_reject (const fed_table_t *self);

//  CSV with the header option: the column names once the header has been
//  read (after the first fed_table_next), *count set; else NULL, *count 0.
//  Owned by the reader, valid until it is destroyed.
const fed_field_t *fed_table_columns (const fed_table_t *self, size_t *count);

//  Rows consumed so far, good and malformed (the header not counted).
uint64_t fed_table_rows (const fed_table_t *self);

//  Bytes consumed so far (the offset where the next row starts, counted
//  from where the reader began).
uint64_t fed_table_offset (const fed_table_t *self);

//  Opens a CSV writer on file (not owned). Fields are quoted only when
//  needed: they contain the delimiter, a quote, CR or LF, start or end with
//  a space or tab, start with a BOM, or are the only field and empty (a
//  blank line would be read as nothing). Lines end in LF. delimiter 0 means
//  ','. Returns NULL on a delimiter fed_table_new_csv would refuse. Caller
//  owns the writer.
fed_table_writer_t *fed_table_writer_new_csv (FILE *file, char delimiter);

//  Opens a JSONL writer on file (not owned): one object per line, keys from
//  the record's names or else from fed_table_writer_columns, values as their
//  kind says (TEXT as a JSON string). Caller owns the writer.
fed_table_writer_t *fed_table_writer_new_jsonl (FILE *file);

//  Destroys the writer (flushes nothing it does not own; the file stays
//  open). Accepts NULL; sets *self_p to NULL.
void fed_table_writer_destroy (fed_table_writer_t **self_p);

//  Sets the column names (copied): CSV writes them as the header row now;
//  JSONL uses them as keys for records without names. Returns 0, or -1 on a
//  write error or count 0.
int fed_table_writer_columns (fed_table_writer_t *self, const fed_field_t *names,
                              size_t count) FED_MUST_USE;

//  Writes one record (count >= 1). JSONL needs keys (record names or the
//  writer's columns, as many as the fields). Returns 0, or -1 on a write
//  error, count 0 or missing keys.
int fed_table_write (fed_table_writer_t *self, const fed_record_t *record) FED_MUST_USE;

//  Type inference, as pandas reads a column: what one field's text is.
typedef enum {
    FED_TYPE_EMPTY = 0, //  ""
    FED_TYPE_INT,       //  [+-]digits, within int64 ("1", "-2")
    FED_TYPE_FLOAT,     //  decimal or exponent ("3.5", "1e3", ".5", "1."), bigger
                        //  integers, nan/inf/infinity in any case, optionally signed
    FED_TYPE_BOOL,      //  true/false, True/False, TRUE/FALSE
    FED_TYPE_STRING     //  anything else (no whitespace is trimmed)
} fed_table_type_t;

//  Classifies len bytes at ptr. Never fails.
fed_table_type_t fed_table_infer (const char *ptr, size_t len);

//  Name of a type ("empty", "int", "float", "bool", "string").
const char *fed_table_type_name (fed_table_type_t type);

//  A column's type over the rows seen: starts EMPTY, widens int -> float ->
//  string; bool stays bool only with bools (bool with a number is string);
//  empty fields are counted and widen nothing. Plain struct, no allocation.
typedef struct {
    fed_table_type_t type; //  the widest seen so far
    uint64_t values;       //  fields seen
    uint64_t empty;        //  of which empty
} fed_table_coltype_t;

//  Starts an accumulator at EMPTY with no values.
void fed_table_coltype_init (fed_table_coltype_t *self);

//  Adds one field's text; returns the widened type.
fed_table_type_t fed_table_coltype_add (fed_table_coltype_t *self, const char *ptr, size_t len);

#ifdef __cplusplus
}
#endif
#endif
