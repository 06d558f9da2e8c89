/*  agents/data_ingest.c: data.ingest (data.h). Being written.
*/
#include "data_internal.h"

int
fed_data_ingest_run (fed_task_t *task)
{
    return fed_task_fail (task, "not_built", "data.ingest is being written");
}
