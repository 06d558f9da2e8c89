/*  agents/data_internal.h: the entry points of the data.* agents, one per
    file (data_ingest.c, data_clean.c, ...), registered by data.c.
*/
#ifndef FED_DATA_INTERNAL_H_INCLUDED
#define FED_DATA_INTERNAL_H_INCLUDED

#include "data.h"

int fed_data_ingest_run (fed_task_t *task);
int fed_data_clean_run (fed_task_t *task);
int fed_data_transform_run (fed_task_t *task);
int fed_data_label_run (fed_task_t *task);
int fed_data_split_run (fed_task_t *task);
int fed_data_export_run (fed_task_t *task);

#endif
