/*  agents/data_ingest.h: what the files of data.ingest share (internal).

    data.ingest reads one source (files, a URL, an SQLite or PostgreSQL
    query) into one table. Every source hands its rows to one sink, which
    checks them against the declared types, writes the good ones to
    data.csv (or data.jsonl), sends the refused ones to rejects.csv, infers
    the schema, and at the end sets the outputs. data_ingest.c holds the
    sink and the entry point; data_ingest_files.c the files and globs;
    data_ingest_url.c the download; data_ingest_sql.c the two databases.

    Ownership. The sink belongs to the entry point, which destroys it; a
    source borrows it. Every function that returns -1 has failed the task.
*/
#ifndef FED_DATA_INGEST_H_INCLUDED
#define FED_DATA_INGEST_H_INCLUDED

#include <msgpack.h>

#include "data_internal.h"

typedef struct fed_ingest_t fed_ingest_t;

//  Reads the params every source shares (format, types, max_field,
//  max_record, max_rejects, max_reject_ratio) and opens rejects.csv.
//  Returns the sink, or NULL having failed the task ("bad_params", ...).
fed_ingest_t *fed_ingest_new (fed_task_t *task);

//  Destroys the sink. When it was not finished the data file is removed
//  and rejects.csv kept (it says why the step failed). Accepts NULL.
void fed_ingest_destroy (fed_ingest_t **self_p);

//  The reader limits the params set (max_field, max_record).
const fed_table_options_t *fed_ingest_options (const fed_ingest_t *self);

//  Sets the table's columns (copied) and opens the data file. Called once,
//  before the first row. Returns 0, or -1 having failed the task:
//  "bad_input" for a name given twice, "bad_params" for a declared type of
//  a column that is not there.
int fed_ingest_columns (fed_ingest_t *self, const fed_field_t *columns, size_t count) FED_MUST_USE;

//  True once fed_ingest_columns was called.
bool fed_ingest_has_columns (const fed_ingest_t *self);

//  Adds one row of the column count (fields borrowed). A field that does
//  not parse as its column's declared type, or is longer than max_field,
//  refuses the row: it goes to rejects.csv at line and offset, its reason
//  prefixed with "where: " when where is not NULL. Returns 0 (written or
//  refused), or -1 having failed the task ("io_error", "too_many_rejects").
int fed_ingest_row (fed_ingest_t *self, const fed_field_t *fields, uint64_t line, uint64_t offset,
                    const char *where) FED_MUST_USE;

//  Refuses a row the source found malformed itself: reason (prefixed as
//  above) and its raw bytes. Returns as fed_ingest_row.
int fed_ingest_reject (fed_ingest_t *self, uint64_t line, uint64_t offset, const char *where,
                       const char *reason, const char *raw, size_t raw_len) FED_MUST_USE;

//  Refuses a row of the column count the source refuses itself, with
//  reason as it is; the raw column holds the fields joined as CSV.
int fed_ingest_refuse (fed_ingest_t *self, const fed_field_t *fields, uint64_t line,
                       uint64_t offset, const char *reason) FED_MUST_USE;

//  What the line numbers given to fed_ingest_row count, for its reasons:
//  "line" (the default, files) or "row" (a query's result rows). unit is
//  a literal, not copied.
void fed_ingest_unit (fed_ingest_t *self, const char *unit);

//  Rows written, and rows refused, so far.
uint64_t fed_ingest_rows (const fed_ingest_t *self);
uint64_t fed_ingest_rejected (const fed_ingest_t *self);

//  Sets the "source" output (size bytes of one msgpack map, copied), which
//  fed_ingest_finish puts after the schema.
void fed_ingest_source (fed_ingest_t *self, const void *data, size_t size);

//  Closes the files and sets the outputs data, rejects, columns, schema,
//  source and params. Returns 0, or -1 having failed the task (a write
//  error, max_reject_ratio).
int fed_ingest_finish (fed_ingest_t *self) FED_MUST_USE;

//  Reads the table in path (canonical; a file the task may read) into the
//  sink; where names it in rejects' reasons (NULL: not named). The first
//  file with columns sets the sink's; a later file's columns are mapped by
//  name onto them (the files source has checked that they are there, or
//  asked for the union). Sets *rows and *rejects to what this file gave.
//  Returns 0, or -1 having failed the task ("bad_input" for a column
//  named twice or not among the sink's).
int fed_ingest_file (fed_ingest_t *self, const char *path, const char *where, uint64_t *rows,
                     uint64_t *rejects) FED_MUST_USE;

//  The sources. Each reads its params, feeds the sink and sets the source
//  output. Returns 0, or -1 having failed the task.
int fed_ingest_input (fed_task_t *task, fed_ingest_t *sink) FED_MUST_USE;
int fed_ingest_url (fed_task_t *task, fed_ingest_t *sink) FED_MUST_USE;
int fed_ingest_sqlite (fed_task_t *task, fed_ingest_t *sink) FED_MUST_USE;
int fed_ingest_postgres (fed_task_t *task, fed_ingest_t *sink) FED_MUST_USE;

#endif
