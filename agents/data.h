/*  agents/data.h: the built-in data-preparation agents.

      data.ingest     files (CSV, TSV, JSONL, a glob of them), http(s) URLs,
                      SQLite and PostgreSQL queries -> one CSV table, with
                      malformed rows quarantined to rejects.csv
      data.clean      deduplication, missing values, whitespace and Unicode
                      normalization, type coercion, quantile clipping
      data.transform  tokens, vocabularies, hashing/ids/TF-IDF vectors,
                      scaling, one-hot; fitted parameters saved for reuse
      data.label      labelling functions by majority vote, confidence, a
                      low-confidence review file and a distribution report
      data.split      train/validation/test by seeded hash, stratified or
                      grouped
      data.export     JSONL (records, prompt/completion, messages), CSV, and
                      a manifest of schema, counts, checksums and parameters

    Each reads its input table through agents/dataio.h (paths confined to
    the run's directory and the operator's data roots), writes into the
    step's workspace, reports progress by bytes and rows, and completes
    with an output map holding its files as {path, rows, bytes, sha256}
    and the params it ran with. doc/agents-data.md is the reference.
*/
#ifndef FED_DATA_H_INCLUDED
#define FED_DATA_H_INCLUDED

#include "agentset.h"
#include "dataio.h"

#ifdef __cplusplus
extern "C" {
#endif

//  Adds the six agents to agents, each with config as its arg (not owned:
//  it must outlive every task). Returns 0, or -1 with err if a name is
//  taken.
int fed_data_register (fed_agentset_t *agents, const fed_data_config_t *config,
                       fed_err_t *err) FED_MUST_USE;

#ifdef __cplusplus
}
#endif
#endif
