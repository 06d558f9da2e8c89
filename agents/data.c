/*  agents/data.c: registers the data.* agents (data.h).
*/
#include "data_internal.h"

int
fed_data_register (fed_agentset_t *agents, const fed_data_config_t *config, fed_err_t *err)
{
    static const char *const capabilities [] = {"data", NULL};
    void *arg = (void *) config;
    const fed_agent_t records [] = {
        {"data.ingest", "1.0.0", "reads files, URLs or SQL queries into one CSV table",
         capabilities, fed_data_ingest_run, 0, arg},
        {"data.clean", "1.0.0", "deduplicates, fills, normalizes, coerces and clips a table",
         capabilities, fed_data_clean_run, 0, arg},
        {"data.transform", "1.0.0", "tokenizes, vectorizes, scales and one-hot encodes a table",
         capabilities, fed_data_transform_run, 0, arg},
        {"data.label", "1.0.0", "labels rows by voting labelling functions", capabilities,
         fed_data_label_run, 0, arg},
        {"data.split", "1.0.0", "splits a table into train, validation and test", capabilities,
         fed_data_split_run, 0, arg},
        {"data.export", "1.0.0", "writes JSONL or CSV for training and a manifest", capabilities,
         fed_data_export_run, 0, arg},
    };
    for (size_t i = 0; i < sizeof records / sizeof records [0]; i++)
        if (fed_agentset_add (agents, &records [i], err))
            return -1;
    return 0;
}
