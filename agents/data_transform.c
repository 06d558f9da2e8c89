/*  agents/data_transform.c: data.transform (data.h). Being written.
*/
#include "data_internal.h"

int
fed_data_transform_run (fed_task_t *task)
{
    return fed_task_fail (task, "not_built", "data.transform is being written");
}
