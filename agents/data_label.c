/*  agents/data_label.c: data.label (data.h). Being written.
*/
#include "data_internal.h"

int
fed_data_label_run (fed_task_t *task)
{
    return fed_task_fail (task, "not_built", "data.label is being written");
}
