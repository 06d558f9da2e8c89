/*  agents/data_column.h: finding a column named inside a nested param
    (scale: {price: minmax}, functions: [{column: text}]), with the same
    "did you mean" message fed_data_param_columns gives top-level params.
*/
#ifndef FED_DATA_COLUMN_H_INCLUDED
#define FED_DATA_COLUMN_H_INCLUDED

#include "dataio.h"

#ifdef __cplusplus
extern "C" {
#endif

//  Sets *index to the reader's column named by len bytes at name. Returns
//  0, or -1 having failed the task "bad_params": `WHERE: no column 'x' in
//  the input; did you mean 'y'?` (where names the param, e.g. `param
//  "scale"`).
int fed_data_column_find (fed_task_t *task, const fed_data_reader_t *reader, const char *where,
                          const char *name, size_t len, size_t *index) FED_MUST_USE;

//  True if len bytes at key are the NUL-terminated word (msgpack map keys
//  are not NUL-terminated).
bool fed_data_key_is (const char *key, uint32_t len, const char *word);

#ifdef __cplusplus
}
#endif
#endif
