/*  agents/transform_internal.h: what data.transform's two files share.

    data_transform.c runs the passes and builds each output row;
    transform_spec.c reads the transform's description (from the params, or
    from a fitted.json) and writes and reads fitted.json. Both work on one
    fed_xform_t, which lives on the agent's stack for one task.
*/
#ifndef FED_TRANSFORM_INTERNAL_H_INCLUDED
#define FED_TRANSFORM_INTERNAL_H_INCLUDED

#include "data_internal.h"
#include "tokenize.h"
#include "transform_count.h"
#include "vocab.h"

typedef enum { FED_VEC_NONE = 0, FED_VEC_HASHING, FED_VEC_IDS, FED_VEC_TFIDF } fed_vec_t;
typedef enum { FED_SCALE_MINMAX = 0, FED_SCALE_ZSCORE } fed_scale_method_t;

//  The spec params, in the order fitted.json records them.
typedef enum {
    FED_XP_TOKENIZE = 0,
    FED_XP_VOCABULARY,
    FED_XP_VECTORIZE,
    FED_XP_SCALE,
    FED_XP_ONEHOT,
    FED_XP_COUNT
} fed_xparam_t;

extern const char *const fed_xparam_names [FED_XP_COUNT];

//  Default and largest vocabulary sizes: fitted.json goes through the JSON
//  layer, which caps a document at 1,000,000 values (tokens and counts are
//  two per entry, idf a third).
#define FED_VOCAB_DEFAULT_SIZE 100000
#define FED_VOCAB_MAX_SIZE 250000
#define FED_ONEHOT_DEFAULT_MAX 50
#define FED_ONEHOT_MAX 1000
#define FED_HASH_DIMS_MAX (1u << 24)

//  One scaled column.
typedef struct {
    char *name;                //  the column (owned)
    size_t index;              //  its index in the input
    fed_scale_method_t method; //  min-max or z-score
    uint64_t count;            //  numbers seen while fitting
    double min, max;           //  over them
    double mean, m2;           //  Welford's running mean and sum of squares
    double std;                //  population standard deviation (ddof 0)
    char text [40];            //  this row's scaled value
} fed_xscale_t;

//  One one-hot column.
typedef struct {
    char *name;                           //  the column (owned)
    size_t index;                         //  its index in the input
    uint64_t max_categories;              //  the cap
    fed_xcount_t *count;                  //  fitting: counts the values, spilling past its share
    fed_vocab_t *values;                  //  category -> position (fitting: and value -> count)
    size_t categories;                    //  categories kept, in byte order, ids 1..
    bool other;                           //  some values fell past the cap: a __other__ column
    const fed_vocab_entry_t *const *kept; //  fitting: the kept entries (owned by values)
    char **loaded;                        //  applying: the categories read from fitted.json (owned)
} fed_xonehot_t;

typedef struct {
    fed_task_t *task;              //  not owned
    uint64_t budget;               //  config agents.data_memory
    bool apply;                    //  param fitted: apply a fitted.json, one pass
    const char *origin;            //  "param" or "fitted param", for messages
    fed_blob_t raw [FED_XP_COUNT]; //  each spec param's msgpack, or empty
    uint8_t *doc;                  //  fitted.json as msgpack (owned), applying
    size_t doc_size;
    //  tokenize
    bool tokenize;
    char *tok_name; //  the text column (owned)
    size_t tok_index;
    fed_tokenize_options_t tok;
    char *pattern; //  owned
    fed_tokenizer_t *tokenizer;
    //  vocabulary and vectors
    bool vocabulary;                      //  build (or load) one
    uint64_t min_count;                   //  occurrences to be kept
    uint64_t max_size;                    //  entries kept
    fed_vec_t vec;                        //  the vectorizer
    uint32_t dims;                        //  hashing: the vector length
    fed_xcount_t *vocab_count;            //  fitting: counts the tokens, spilling past its share
    fed_vocab_t *vocab;                   //  token -> counts and id
    size_t vocab_kept;                    //  ids 1..vocab_kept
    const fed_vocab_entry_t *const *kept; //  fitting: the kept entries by id
    char **tokens;                        //  applying: the kept tokens by id - 1 (owned)
    double *idf;                          //  tfidf: idf [id], vocab_kept + 1 of them (owned)
    //  scale and one-hot
    fed_xscale_t *scales;
    size_t scale_count;
    fed_xonehot_t *onehots;
    size_t onehot_count;
    //  counts
    uint64_t docs;        //  rows fitted on (or the fitted file's)
    uint64_t tokens_seen; //  tokens written
    uint64_t oov;         //  tokens not in the vocabulary (ids, tfidf)
} fed_xform_t;

//  Reads the spec from self->raw (set from the params or the fitted file)
//  and finds its columns in reader. Returns 0, or -1 having failed the task
//  "bad_params" naming the param and what is wrong.
int fed_xform_spec_parse (fed_xform_t *self, const fed_data_reader_t *reader) FED_MUST_USE;

//  Applying: reads the fitted.json named by param fitted, takes its params
//  as the spec and checks any spec param the task gives against them.
//  Returns 0, or -1 having failed the task ("bad_params" naming what
//  differs, "not_found", "forbidden_path", "over_budget", "bad_input").
int fed_xform_fitted_open (fed_xform_t *self) FED_MUST_USE;

//  Applying, after fed_xform_spec_parse: loads the fitted values (the
//  vocabulary, idf, scale statistics, categories). Returns 0, or -1 having
//  failed the task.
int fed_xform_fitted_load (fed_xform_t *self) FED_MUST_USE;

//  Writes fitted.json (the spec params, rows, vocabulary, idf, statistics,
//  categories) and sets output key fitted. Returns 0, or -1 having failed
//  the task.
int fed_xform_fitted_write (fed_xform_t *self) FED_MUST_USE;

//  Frees what self owns (not the task).
void fed_xform_free (fed_xform_t *self);

#endif
