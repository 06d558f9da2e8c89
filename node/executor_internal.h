/*  node/executor_internal.h: what the executor's coordinator (executor.c)
    and worker (executor_worker.c) share. Not installed.
*/
#ifndef FED_EXECUTOR_INTERNAL_H_INCLUDED
#define FED_EXECUTOR_INTERNAL_H_INCLUDED

#include "executor.h"
#include "placer.h"
#include "runs.h"

#include <msgpack.h>

#define FED_EXEC_PROGRESS_EVERY_MS 1000 //  at most one step.progress per attempt this often
#define FED_EXEC_TASK_KEY_MAX (FED_RUN_ID_SIZE + 1 + 64 + 1 + 10 + 1)

//  An attempt running here.
typedef struct {
    uint64_t task; //  fed_tasks id
    char run [FED_RUN_ID_SIZE + 1];
    char *step;
    uint32_t attempt;
    int64_t progress_ms; //  when its last step.progress was written (mono), 0: never
} fed_exec_task_t;

struct fed_executor_t {
    fed_node_t *node;     //  borrowed
    zloop_t *loop;        //  borrowed
    int timer;            //  the tick
    zhashx_t *runs;       //  run id -> runs (executor.c): runs this node coordinates, owned
    zhashx_t *tasks;      //  "RUN/STEP/ATTEMPT" -> fed_exec_task_t: attempts running here, owned
    zhashx_t *dirty;      //  run ids whose pass is due (values unused)
    uint64_t cursor;      //  the log's arrival number read up to
    bool feeding;         //  inside a round (appends call back into log_changed)
    int deferred;         //  the one-shot timer of a round due on the next turn, or 0
    fed_placer_t *placer; //  candidates for this round, loaded on first need
    zhashx_t *active;     //  node hex -> active steps, this round, owned
    fed_executor_stats_t stats;
};

//  This node's key (borrowed).
const uint8_t *fed_exec_me (fed_executor_t *self);
//  Appends a local event of type with body (which it destroys), logging a
//  failure. 0, or -1.
int fed_exec_append (fed_executor_t *self, const char *type, msgpack_sbuffer *body);
//  The tasks table's key of an attempt: "RUN/STEP/ATTEMPT".
void fed_exec_task_key (char key [FED_EXEC_TASK_KEY_MAX], const char *run, const char *step,
                        uint32_t attempt);
//  The tasks table's destructor.
void fed_exec_task_destroy (void **item_p);
//  Runs the attempt assigned (borrowed) here, unless it already runs;
//  writes step.started first when write_started. Earlier attempts of the
//  step running here are cancelled.
void fed_exec_work (fed_executor_t *self, const fed_rev_t *assigned, bool write_started);
//  Cancels the attempts of run running here (the run ended).
void fed_exec_drop_tasks (fed_executor_t *self, const char *run);

#endif
