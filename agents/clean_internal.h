/*  agents/clean_internal.h: what data.clean's two files share: the plan
    its params describe (clean_params.c reads them) and the per-task state
    the passes work in (data_clean.c).
*/
#ifndef FED_CLEAN_INTERNAL_H_INCLUDED
#define FED_CLEAN_INTERNAL_H_INCLUDED

#include "data_internal.h"
#include "extsort.h"

typedef enum {
    FED_CLEAN_TYPE_NONE = 0,
    FED_CLEAN_TYPE_INT,
    FED_CLEAN_TYPE_FLOAT,
    FED_CLEAN_TYPE_BOOL,
    FED_CLEAN_TYPE_STRING
} fed_clean_type_t;

typedef enum {
    FED_CLEAN_MISS_KEEP = 0, //  leave empty values empty
    FED_CLEAN_MISS_DROP,     //  drop the row
    FED_CLEAN_MISS_MEAN,
    FED_CLEAN_MISS_MEDIAN,
    FED_CLEAN_MISS_MODE,
    FED_CLEAN_MISS_VALUE //  a given value
} fed_clean_miss_t;

//  What happens to one column.
typedef struct {
    int fold;                 //  FED_FOLD_TRIM / FED_FOLD_COLLAPSE, 0 for none
    fed_clean_type_t type;    //  coercion
    fed_clean_miss_t missing; //  what fills an empty value
    bool numeric;             //  values must be numbers (typed, or a statistic needs them)
    bool clip;                //  clip to quantiles
    bool has_lower, has_upper;
    double q_lower, q_upper; //  the quantiles asked for
    char *fill;              //  the text an empty value becomes (owned), NULL: none
    size_t fill_len;
    fed_cell_kind_t fill_kind;
    double fill_value;             //  its number, for a numeric column
    double lower, upper;           //  clip bounds (NaN: none)
    char *lower_text, *upper_text; //  their text (owned)
    size_t lower_len, upper_len;
    fed_extsort_t *values;    //  first pass: the values, sorted for order statistics
    long double sum;          //  first pass: their sum (mean)
    uint64_t count;           //  and how many
    bool all_int;             //  every value was an integer literal
    uint64_t filled, clipped; //  stats
} fed_clean_col_t;

//  One task's plan and state.
typedef struct {
    fed_task_t *task;
    fed_data_reader_t *reader;
    const fed_field_t *columns; //  the input's, owned by the reader
    size_t ncols;
    fed_clean_col_t *cols; //  ncols of them
    bool drop_any_missing; //  missing: drop
    bool bad_type_null;    //  on_bad_type: null
    bool dedup;            //  dedup requested
    bool dedup_normalize;  //  compare folded text
    size_t *dedup_cols;    //  the key columns (all columns when dedup_all)
    size_t dedup_count;
    const char *out_name; //  data.csv, data.tsv or data.jsonl
    bool two_pass;        //  a statistic needs a first pass
} fed_clean_t;

//  Reads every param into self (reader and columns set). Returns 0, or -1
//  having failed the task "bad_params". What it allocates is freed by
//  fed_clean_free.
int fed_clean_params (fed_clean_t *self);

//  Frees the plan's allocations (not the reader).
void fed_clean_free (fed_clean_t *self);

#endif
