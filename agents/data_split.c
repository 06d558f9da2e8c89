/*  agents/data_split.c: data.split (data.h). Being written.
*/
#include "data_internal.h"

int
fed_data_split_run (fed_task_t *task)
{
    return fed_task_fail (task, "not_built", "data.split is being written");
}
