/*  agents/dataio.h: what the data.* agents share.

    The data-preparation agents (data.ingest, data.clean, data.transform,
    data.label, data.split, data.export; agents/data.h) pass tables to each
    other as files. This module is the one place that decides:

      - where an agent may read: a path param is taken relative to the
        run's directory ({data_dir}/work/RUN/, the parent of the step's
        workspace), or is absolute; either way, once symlinks are resolved
        it must lie under the run's directory or under one of the
        operator's data roots (config agents.data_roots). Anything else
        fails the task with code "forbidden_path" naming that config key.
        An input param is a path string or a map with a "path" key (so a
        step can pass an upstream output such as ${steps.clean.output.data}
        as it is).
      - where it writes: only into the step's workspace, files it names
        itself (a task without a workspace fails "no_workspace").
      - the table format between steps: CSV with a header row (".csv"),
        TSV (".tsv") or JSONL (".jsonl", ".ndjson"), told by the extension.
        A reader yields every row aligned to one list of columns: the CSV
        header's, or for JSONL the keys of the first record, later records
        mapped by key (a missing key reads as empty; a key not among the
        columns makes the row malformed, so nothing is dropped silently).
      - what an output file reports: {path, rows, bytes, sha256}, the
        sha256 computed while the file is written.
      - progress: bytes read of the input's size, and rows, as "rows 120000,
        4.1 of 9.8 MiB", at most one report per 1,024 rows.
      - rejected rows: a rejects file (CSV: line, offset, reason, raw) where
        every malformed or refused row goes, with its line number, and a
        threshold (max_rejects / max_reject_ratio params) past which the
        step fails "too_many_rejects".

    Ownership. Readers and writers belong to the caller, who closes them;
    the task outlives them. Functions that fail the task (fed_task_fail)
    say so; the agent then returns -1.
*/
#ifndef FED_DATAIO_H_INCLUDED
#define FED_DATAIO_H_INCLUDED

#include <limits.h>
#include "agent.h"
#include "table.h"

#ifdef __cplusplus
extern "C" {
#endif

//  What the node gives every data agent (its record's arg). Owned by the
//  node; outlives every task.
typedef struct {
    const char *const *roots; //  directories inputs may lie under, besides the run's
    size_t root_count;        //  (config agents.data_roots)
    uint64_t memory_budget;   //  bytes one task may hold for hash sets, sort runs,
                              //  vocabularies (config agents.data_memory)
} fed_data_config_t;

//  The config of the agent running task (its record's arg); a default one
//  (no roots, 256 MiB) if the record has none.
const fed_data_config_t *fed_data_config (fed_task_t *task);

typedef enum { FED_DATA_CSV = 0, FED_DATA_TSV, FED_DATA_JSONL } fed_data_format_t;

//  The most raw bytes of a refused row kept in the rejects file.
#define FED_DATA_RAW_MAX 4096

//  The format a path's extension names (.csv, .tsv, .jsonl, .ndjson; any
//  case). Returns 0, or -1 for any other extension.
int fed_data_format_of (const char *path, fed_data_format_t *format) FED_MUST_USE;

//  "csv", "tsv" or "jsonl"; and back (0, or -1 for another name).
const char *fed_data_format_name (fed_data_format_t format);
int fed_data_format_parse (const char *name, fed_data_format_t *format) FED_MUST_USE;

//  --- Paths ----------------------------------------------------------------

//  Resolves the input named by param (a string or a map with "path") to a
//  canonical absolute path (realpath) that exists and is allowed, as above.
//  path has PATH_MAX bytes. Returns 0, or -1 having failed the task:
//  "bad_params" (missing, wrong type), "not_found", "forbidden_path".
int fed_data_input_path (fed_task_t *task, const char *param, char *path) FED_MUST_USE;

//  The same check for a path already in hand (e.g. one glob match).
int fed_data_check_path (fed_task_t *task, const char *given, char *path) FED_MUST_USE;

//  Sets path (PATH_MAX bytes) to WORKSPACE/name. Returns 0, or -1 having
//  failed the task "no_workspace" (or "bad_params" for a name with '/').
int fed_data_output_path (fed_task_t *task, const char *name, char *path) FED_MUST_USE;

//  --- Reading ------------------------------------------------------------

typedef struct fed_data_reader_t fed_data_reader_t;

//  Opens path (canonical, from fed_data_input_path) as a table in the
//  format of its extension; options may be NULL (defaults; header is forced
//  on for CSV/TSV). The column list is read at once (the header, or the
//  first JSONL record's keys, which that record is then read again for).
//  Returns the reader, or NULL having failed the task: "bad_params" for an
//  unknown extension, "io_error", "bad_input" for a malformed or missing
//  header (empty input is fine: no columns, no rows). Caller owns it.
fed_data_reader_t *fed_data_reader_open (fed_task_t *task, const char *path,
                                         const fed_table_options_t *options);

void fed_data_reader_close (fed_data_reader_t **self_p);

//  The column names (count set in *count; 0 for empty input). Owned by the
//  reader.
const fed_field_t *fed_data_reader_columns (const fed_data_reader_t *self, size_t *count);

//  Index of the column named name, or -1.
ssize_t fed_data_reader_column (const fed_data_reader_t *self, const char *name);

//  Reads the next row: 1 with *fields set to column-count fields (borrowed
//  until the next call; a JSONL key that was missing reads as an empty
//  FED_CELL_NULL field); 0 at the end; -2 for a malformed row, described by
//  fed_data_reader_reject (the caller sends it to its rejects file); -1 on a
//  read error, having failed the task "io_error". Reports progress every
//  1,024 rows, and returns -1 (the task cancelled) once it is cancelled.
int fed_data_reader_next (fed_data_reader_t *self, const fed_field_t **fields) FED_MUST_USE;

//  The malformed row's report, and its raw bytes (at most 4 KiB of them,
//  read back from the file), valid until the next call.
const fed_table_reject_t *fed_data_reader_reject (fed_data_reader_t *self, const char **raw,
                                                  size_t *raw_len);

//  The line and byte offset where the row last returned starts.
uint64_t fed_data_reader_line (const fed_data_reader_t *self);
uint64_t fed_data_reader_line_offset (const fed_data_reader_t *self);
//  Rows returned so far (good ones), malformed rows, bytes consumed, and
//  the file's size.
uint64_t fed_data_reader_rows (const fed_data_reader_t *self);
uint64_t fed_data_reader_malformed (const fed_data_reader_t *self);
uint64_t fed_data_reader_offset (const fed_data_reader_t *self);
uint64_t fed_data_reader_size (const fed_data_reader_t *self);

//  Rewinds to the first row, for a second pass (fitting then applying).
int fed_data_reader_rewind (fed_data_reader_t *self) FED_MUST_USE;

//  --- Writing ------------------------------------------------------------

typedef struct fed_data_writer_t fed_data_writer_t;

//  Creates name in the step's workspace (replacing a file of that name) in
//  the format of its extension, writing the header (CSV/TSV) or using the
//  columns as keys (JSONL). Returns the writer, or NULL having failed the
//  task ("no_workspace", "io_error", "bad_params"). Caller owns it.
fed_data_writer_t *fed_data_writer_open (fed_task_t *task, const char *name,
                                         const fed_field_t *columns, size_t count);

//  Writes one row of the writer's column count. JSONL writes each field as
//  its kind says; set kinds with fed_data_writer_kinds to write CSV text
//  as numbers or booleans. Returns 0, or -1 having failed the task.
int fed_data_writer_row (fed_data_writer_t *self, const fed_field_t *fields) FED_MUST_USE;

//  JSONL only: the JSON kind to write each column's TEXT fields as
//  (FED_CELL_NUMBER, FED_CELL_BOOL or FED_CELL_TEXT); an empty field of a
//  number or bool column is written as null. kinds has the column count.
void fed_data_writer_kinds (fed_data_writer_t *self, const fed_cell_kind_t *kinds);

//  Rows written so far.
uint64_t fed_data_writer_rows (const fed_data_writer_t *self);

//  Flushes and closes the file (fsync'd), and, when key is not NULL, sets
//  output key to {path, rows, bytes, sha256}. Returns 0, or -1 having
//  failed the task "io_error". Always frees the writer; *self_p is NULL.
int fed_data_writer_close (fed_data_writer_t **self_p, fed_task_t *task,
                           const char *key) FED_MUST_USE;

//  What fed_data_writer_close reports of a file, for an agent that nests
//  it in its output or a manifest rather than under one key.
typedef struct {
    char path [PATH_MAX]; //  in the workspace
    uint64_t rows;        //  rows written (the header not counted)
    uint64_t bytes;       //  bytes in the file
    char sha256 [65];     //  of those bytes, lowercase hex
} fed_data_file_t;

//  fed_data_writer_close that also fills *file (when not NULL) on success.
int fed_data_writer_finish (fed_data_writer_t **self_p, fed_task_t *task, const char *key,
                            fed_data_file_t *file) FED_MUST_USE;

//  Packs file as the map {path, rows, bytes, sha256} the outputs use.
void fed_data_pack_file (msgpack_packer *pk, const fed_data_file_t *file);

//  Packs a msgpack str: the NUL-terminated text, or len bytes at text.
void fed_data_pack_str (msgpack_packer *pk, const char *text);
void fed_data_pack_strn (msgpack_packer *pk, const char *text, size_t len);

//  Closes and removes the file (after a failure). Accepts NULL.
void fed_data_writer_abort (fed_data_writer_t **self_p);

//  The file's path (in the workspace).
const char *fed_data_writer_path (const fed_data_writer_t *self);

//  --- Rejects ------------------------------------------------------------

typedef struct fed_data_rejects_t fed_data_rejects_t;

//  Opens rejects.csv in the workspace (columns line, offset, reason, raw),
//  with the thresholds from params max_rejects (an integer, default
//  unlimited) and max_reject_ratio (0 to 1, default 1, checked at the end).
//  Returns NULL having failed the task. Caller owns it.
fed_data_rejects_t *fed_data_rejects_open (fed_task_t *task, const char *name);

//  Records one refused row: the reader's malformed row (reason from the
//  reject), or a row the agent refuses itself (reason given, raw = the row's
//  fields joined as CSV). Returns 0, or -1 having failed the task
//  "too_many_rejects" (naming the param) or "io_error".
int fed_data_rejects_malformed (fed_data_rejects_t *self, fed_data_reader_t *reader) FED_MUST_USE;
int fed_data_rejects_row (fed_data_rejects_t *self, uint64_t line, uint64_t offset,
                          const char *reason, const fed_field_t *fields, size_t count) FED_MUST_USE;

//  Records one refused row given as its raw bytes (not owned; at most
//  4 KiB are kept, invalid UTF-8 shown as U+FFFD) with the caller's reason:
//  a malformed row whose reason the caller words itself (data.ingest names
//  the file of a glob match), or a row from a source that is not a file.
//  Returns as fed_data_rejects_row.
int fed_data_rejects_raw (fed_data_rejects_t *self, uint64_t line, uint64_t offset,
                          const char *reason, const char *raw, size_t raw_len) FED_MUST_USE;

uint64_t fed_data_rejects_count (const fed_data_rejects_t *self);

//  Checks max_reject_ratio against rows (the good rows plus the rejects),
//  closes the file and sets output key to {path, rows, bytes, sha256}.
//  Returns 0, or -1 having failed the task. Always frees; *self_p NULL.
int fed_data_rejects_close (fed_data_rejects_t **self_p, fed_task_t *task, uint64_t good_rows,
                            const char *key) FED_MUST_USE;

//  fed_data_rejects_close that also fills *file (when not NULL) with the
//  rejects file's {path, rows, bytes, sha256}, for nesting in an output.
int fed_data_rejects_finish (fed_data_rejects_t **self_p, fed_task_t *task, uint64_t good_rows,
                             const char *key, fed_data_file_t *file) FED_MUST_USE;

//  --- Params and outputs ---------------------------------------------------

//  Copies the task's params into output key (as given: the manifest's
//  record of what every step was asked to do).
void fed_data_output_params (fed_task_t *task, const char *key);

//  Sets output key to the list of column names.
void fed_data_output_columns (fed_task_t *task, const char *key, const fed_field_t *columns,
                              size_t count);

//  Checks that every param's name is among the count names of known (an
//  agent's params, max_rejects and max_reject_ratio included when it takes
//  them). Returns 0, or -1 having failed the task "bad_params": `unknown
//  param "ratio"; did you mean "ratios"?`, or, with nothing near, the list.
int fed_data_check_params (fed_task_t *task, const char *const *known, size_t count) FED_MUST_USE;

//  Columns named by a param: a string ("text") or a list of strings
//  (["a", "b"]), each looked up in a reader's columns.
#define FED_DATA_COLUMNS_MAX 256
typedef struct {
    size_t count;                        //  names given (0: the param is absent)
    char *names [FED_DATA_COLUMNS_MAX];  //  NUL-terminated copies, owned here
    size_t index [FED_DATA_COLUMNS_MAX]; //  each one's column index in the reader
} fed_data_columns_t;

//  Reads param into *columns (zeroed first). Returns 0 (count 0 when the
//  param is absent), or -1 having failed the task "bad_params": not a
//  string or list of strings, more than FED_DATA_COLUMNS_MAX, or a name
//  that is not a column (naming the nearest one). Free with
//  fed_data_columns_free even after -1.
int fed_data_param_columns (fed_task_t *task, const char *param, fed_data_reader_t *reader,
                            fed_data_columns_t *columns) FED_MUST_USE;
void fed_data_columns_free (fed_data_columns_t *columns);

//  Writes one msgpack object as pretty JSON to name in the workspace (a
//  report, fitted parameters, a manifest) and, when key is not NULL, sets
//  output key to {path, bytes, sha256}. Returns 0, or -1 having failed
//  the task.
int fed_data_write_json (fed_task_t *task, const char *name, const void *data, size_t size,
                         const char *key) FED_MUST_USE;

//  The sha256 of a file as 64 lowercase hex digits (hex has 65 bytes).
//  Returns 0, or -1 with errno set.
int fed_data_sha256_file (const char *path, char *hex) FED_MUST_USE;

#ifdef __cplusplus
}
#endif
#endif
