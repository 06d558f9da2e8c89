/*  agents/data_clean.c: data.clean (data.h). Being written.
*/
#include "data_internal.h"

int
fed_data_clean_run (fed_task_t *task)
{
    return fed_task_fail (task, "not_built", "data.clean is being written");
}
