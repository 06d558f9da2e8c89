/*  node/fedctl_print.h: how fedctl shows results to people.

    Results arrive as msgpack; people read aligned tables and "key: value"
    lines. These helpers find fields in a result, turn one value into short
    text (keys as Z85, times as UTC dates, nested values as compact JSON)
    and line up columns. Scripts use --json instead, which bypasses this
    module. Part of fedctl only, not of the library.
*/
#ifndef FED_FEDCTL_PRINT_H_INCLUDED
#define FED_FEDCTL_PRINT_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "mpread.h"

//  Finds key in the msgpack map at map. Returns 0 with *value (borrowed from
//  map), 1 when the map lacks it, FED_MALFORMED when map is not a map.
int fed_print_get (fed_blob_t map, const char *key, fed_blob_t *value);

//  Calls fn for each element of the msgpack array at array (elements
//  borrowed). Returns 0, or FED_MALFORMED when array is not an array.
int fed_print_each (fed_blob_t array, void (*fn) (fed_blob_t element, void *arg), void *arg);

//  Text for one value, caller frees: str as is, bin of 32 bytes as Z85,
//  other bin as hex, numbers, true/false, nil as "-", arrays and maps as
//  compact JSON. width > 0 cuts the text to that many bytes (for key
//  columns). Never NULL.
char *fed_print_text (fed_blob_t value, size_t width);
//  fed_print_text of map[key], or "-" when absent.
char *fed_print_field (fed_blob_t map, const char *key, size_t width);
//  map[key] as a uint ms-since-epoch shown as UTC "2006-01-02 15:04:05.000";
//  "-" when absent or nil, "never" when 0. Caller frees.
char *fed_print_time_field (fed_blob_t map, const char *key);
//  ms since the Unix epoch as UTC text. Caller frees.
char *fed_print_time (uint64_t ms);

//  Prints a map as aligned "key: value" lines (fed_print_text values).
//  Returns 0, or FED_MALFORMED when it is not a map.
int fed_print_kv (FILE *out, fed_blob_t map);

//  Prints an agents.list or agents.near result (doc/protocol.md §3.4) as a
//  table: NAME, VERSION, NODE (its name, else its id's first 8 chars), KIND,
//  STATUS, REGION, SITE, LAT,LON and KM (agents.near's distance, else "-").
//  Returns 0, or FED_MALFORMED when result is not an array.
int fed_print_agents (FILE *out, fed_blob_t result);

//  Prints a members result (an array of member maps, doc/protocol.md §3.4)
//  as a table: ID (first 8 chars), NAME (with '*' after this node's),
//  STATE, INC, ENDPOINT, REGION, ZONE, SITE, SEQ. A missing or nil field
//  shows as "-", so older nodes' smaller maps print too. Returns 0, or
//  FED_MALFORMED when result is not an array.
int fed_print_members (FILE *out, fed_blob_t result);

//  Prints a workflow.list result (doc/protocol.md §3.4) as a table: NAME,
//  VERSION, LATEST ("*" for the name's latest), HASH (first 16 hex),
//  PUBLISHED (UTC), BY (the publisher's key, first 8 chars), CONFLICTS.
//  Returns 0, or FED_MALFORMED when result is not an array.
int fed_print_workflows (FILE *out, fed_blob_t result);

//  Prints a workflow.show result: "key: value" lines (name, version, hash,
//  latest, valid, steps, description, published, published_by, origin,
//  versions, and each refused publication), a blank line, then the YAML as
//  published. Returns 0, or FED_MALFORMED when result is not a map.
int fed_print_workflow (FILE *out, fed_blob_t result);

//  --- Workflow runs (node/fedctl_print_runs.c) ---
//
//  The results of run.start, run.list, run.show, run.wait, run.cancel,
//  approvals, approve and reject (doc/protocol.md §3.4 "Runs"). Each checks
//  the whole result before printing anything: a field may be absent or nil
//  (shown as "-"), but one of the wrong type leaves out nothing silently.
//  Each returns 0, or FED_MALFORMED with nothing printed and err naming
//  the field, like "steps[2]: 'state' is a uint, not a str". now_ms is the
//  wall clock (ms since the epoch) ages and deadlines are counted from.
//  Strings from the node are printed with control characters replaced, so
//  a message cannot move the cursor or fake a line.

//  run.start: the run id alone on one line, for RUN=$(fedctl run start …).
int fed_print_run_started (FILE *out, fed_blob_t result, fed_err_t *err);
//  run.list: RUN, WORKFLOW, VERSION, STATE, STEPS (done/total), STARTED
//  (age), COORDINATOR (its name, else its key's first 8 characters); "no
//  runs" for an empty array.
int fed_print_runs (FILE *out, fed_blob_t result, int64_t now_ms, fed_err_t *err);
//  run.show: "key: value" lines (run, workflow, state, coordinator, by,
//  started, ended, duration, params, reason), then a table of the steps
//  (STEP, AGENT, STATE, NODE, ATTEMPT, TIME) with, under a step, its error,
//  why it waits, its approval (message, votes, outcome) and its output as
//  compact JSON cut to about 100 characters.
int fed_print_run (FILE *out, fed_blob_t result, int64_t now_ms, fed_err_t *err);
//  A run summary (run.wait) as one line: "RUN NAME@VERSION STATE: DONE/STEPS
//  steps in DURATION", then "reason: …" when it has one.
int fed_print_run_summary (FILE *out, fed_blob_t result, int64_t now_ms, fed_err_t *err);
//  run.cancel: "cancelled RUN", or "cancelling RUN (…)" when another node
//  coordinates it.
int fed_print_run_cancel (FILE *out, fed_blob_t result, fed_err_t *err);
//  approvals: RUN, STEP, WORKFLOW, WAITING (age), VOTES (approvals/needed),
//  DEADLINE, MESSAGE, with the values a decision must name (and whether it
//  is escalated) on a line under the step; "no steps awaiting approval" for
//  an empty array.
int fed_print_approvals (FILE *out, fed_blob_t result, int64_t now_ms, fed_err_t *err);
//  approve (approve true) or reject: "approved RUN/STEP (1 of 2
//  approvals)", "rejected RUN/STEP".
int fed_print_decision (FILE *out, fed_blob_t result, bool approve, fed_err_t *err);

typedef struct fed_table_t fed_table_t;

//  A table with columns named by the NULL-terminated list of headers (at
//  most 16). Caller owns it.
fed_table_t *fed_table_new (const char *header, ...);
//  Adds one row, taking ownership of the column count strings given (NULL
//  shows as "-").
void fed_table_add (fed_table_t *self, ...);
//  Adds a line of text (owned by the table) under the last row added,
//  outside the columns: a step's error under the step. Several notes
//  print in the order added.
void fed_table_note (fed_table_t *self, char *text);
//  Prints header and rows with columns padded to their widest cell (in
//  characters: UTF-8 sequences count as one), each row followed by its
//  notes; a header of empty names is not printed.
void fed_table_print (fed_table_t *self, FILE *out);
//  Rows added so far.
size_t fed_table_rows (fed_table_t *self);
//  Frees the table and its cells. Accepts NULL; sets *self_p to NULL.
void fed_table_destroy (fed_table_t **self_p);

#endif
