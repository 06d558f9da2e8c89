/*  agents/data_export.c: data.export (data.h). Being written.
*/
#include "data_internal.h"

int
fed_data_export_run (fed_task_t *task)
{
    return fed_task_fail (task, "not_built", "data.export is being written");
}
