/*  agents/report.h: the messages a worker pool sends its caller.

    Every task submitted to a pool (agents/pool.h) yields zero or more
    progress reports and then exactly one final report, completed or failed,
    each one ZeroMQ frame holding one msgpack map with string keys:

        task     uint   the pool's task id
        kind     str    "progress" | "completed" | "failed"
        run      str    the run, step and attempt the submitter gave
        step     str
        attempt  uint
        ms       uint   milliseconds since the task started (0 if it never did)
      progress:
        done     uint   units finished
        total    uint   units in all (0 if unknown)
        text     str    at most 255 bytes
      completed:
        output   map    the agent's output
      failed:
        code     str    "timeout", "cancelled", "bad_params", "no_agent", …
        message  str    for people, at most 1,023 bytes

    This module packs and strictly decodes those maps (through the bounded
    reader of proto/mpread.h; unknown keys, missing keys and wrong types are
    refused).
*/
#ifndef FED_REPORT_H_INCLUDED
#define FED_REPORT_H_INCLUDED

#include <msgpack.h>
#include "util.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    FED_REPORT_PROGRESS = 1,
    FED_REPORT_COMPLETED = 2,
    FED_REPORT_FAILED = 3
} fed_report_kind_t;

//  The fields every report carries. Strings are borrowed; NULL packs as "".
typedef struct {
    uint64_t task;
    const char *run;
    const char *step;
    uint32_t attempt;
    int64_t elapsed_ms;
} fed_report_head_t;

//  Each packer appends one report to out (which the caller owns).
void fed_report_pack_progress (msgpack_sbuffer *out, const fed_report_head_t *head, uint64_t done,
                               uint64_t total, const char *text);
//  output is one msgpack map the caller has checked (NULL or empty: {}).
void fed_report_pack_completed (msgpack_sbuffer *out, const fed_report_head_t *head,
                                const void *output, size_t output_size);
void fed_report_pack_failed (msgpack_sbuffer *out, const fed_report_head_t *head, const char *code,
                             const char *message);

typedef struct fed_report_t fed_report_t;

//  Decodes one report. Returns NULL with err (code FED_MALFORMED) when data
//  is not one. Copies what it keeps: caller owns the report.
fed_report_t *fed_report_decode (const void *data, size_t size, fed_err_t *err);
//  Accepts NULL; sets *self_p to NULL.
void fed_report_destroy (fed_report_t **self_p);

//  Accessors. Strings belong to the report and are never NULL ("" when the
//  kind has no such field).
uint64_t fed_report_task (const fed_report_t *self);
fed_report_kind_t fed_report_kind (const fed_report_t *self);
const char *fed_report_run (const fed_report_t *self);
const char *fed_report_step (const fed_report_t *self);
uint32_t fed_report_attempt (const fed_report_t *self);
int64_t fed_report_elapsed_ms (const fed_report_t *self);
uint64_t fed_report_done (const fed_report_t *self);
uint64_t fed_report_total (const fed_report_t *self);
const char *fed_report_text (const fed_report_t *self);
const char *fed_report_code (const fed_report_t *self);
const char *fed_report_message (const fed_report_t *self);
//  The output map's msgpack bytes (completed), else an empty map. They
//  belong to the report.
void fed_report_output (const fed_report_t *self, const uint8_t **data, size_t *size);

//  "progress", "completed", "failed".
const char *fed_report_kind_name (fed_report_kind_t kind);
//  True for completed and failed: the task's last report.
bool fed_report_is_final (const fed_report_t *self);
//  Renumbers the report: a caller that hands out task ids of its own (the
//  node's, over pools and external agents) puts its id in place of the pool's.
void fed_report_set_task (fed_report_t *self, uint64_t task);

#ifdef __cplusplus
}
#endif
#endif
