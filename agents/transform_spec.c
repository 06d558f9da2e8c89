/*  agents/transform_spec.c: data.transform's description and its fitted
    file (transform_internal.h).

    The spec params (tokenize, vocabulary, vectorize, scale, onehot) are
    read from msgpack bytes, wherever they come from: the task's params when
    fitting, the "params" of a fitted.json when applying. So a fitted file
    replays exactly the transform it was fitted with, and a spec param the
    applying task gives as well must equal the file's (compared as compact
    JSON, so key order counts).
*/
#include "transform_internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data_column.h"
#include "json.h"

const char *const fed_xparam_names [FED_XP_COUNT] = {"tokenize", "vocabulary", "vectorize", "scale",
                                                     "onehot"};

//  Fitted files hold up to three values per vocabulary entry.
static const fed_mp_limits_t s_doc_limits = {32, 4000000};

//  --- Reading typed values -------------------------------------------------

static int
s_bad (fed_xform_t *self, fed_xparam_t param, const char *what)
{
    return fed_task_fail (self->task, "bad_params", "%s \"%s\": %s", self->origin,
                          fed_xparam_names [param], what);
}

//  A string value as a fresh NUL-terminated copy.
static int
s_str (fed_xform_t *self, fed_xparam_t param, fed_mpr_t *r, const char *key, char **out)
{
    const char *ptr;
    uint32_t len;
    if (fed_mpr_str (r, &ptr, &len) || memchr (ptr, 0, len)) {
        char why [120];
        snprintf (why, sizeof why, "\"%s\" must be a string", key);
        return s_bad (self, param, why);
    }
    free (*out);
    *out = fed_strndup (ptr, len);
    return 0;
}

//  An integer value in [low, high].
static int
s_uint (fed_xform_t *self, fed_xparam_t param, fed_mpr_t *r, const char *key, uint64_t low,
        uint64_t high, uint64_t *out)
{
    if (fed_mpr_uint (r, out) || *out < low || *out > high) {
        char why [160];
        snprintf (why, sizeof why, "\"%s\" must be an integer from %llu to %llu", key,
                  (unsigned long long) low, (unsigned long long) high);
        return s_bad (self, param, why);
    }
    return 0;
}

//  The map header of a spec param, or a failure naming it.
static int
s_map (fed_xform_t *self, fed_xparam_t param, fed_mpr_t *r, uint32_t *count)
{
    fed_mpr_init (r, self->raw [param].data, self->raw [param].size);
    if (fed_mpr_map (r, count))
        return s_bad (self, param, "must be a map");
    return 0;
}

static int
s_unknown_key (fed_xform_t *self, fed_xparam_t param, const char *key, uint32_t len,
               const char *const *known, size_t count)
{
    char *copy = fed_strndup (key, len);
    const char *near = fed_nearest_word (copy, known, count);
    char why [300];
    snprintf (why, sizeof why, "unknown key '%.100s'%s%.40s%s", copy,
              near ? "; did you mean '" : "", near ? near : "", near ? "'?" : "");
    free (copy);
    return s_bad (self, param, why);
}

//  --- The spec params ------------------------------------------------------

static int
s_parse_tokenize (fed_xform_t *self, const fed_data_reader_t *reader)
{
    static const char *const keys [] = {"column", "mode", "pattern", "lowercase", "ngrams"};
    fed_mpr_t r;
    uint32_t count;
    char *mode = NULL;
    if (s_map (self, FED_XP_TOKENIZE, &r, &count))
        return -1;
    self->tok.ngram_min = self->tok.ngram_max = 1;
    for (uint32_t i = 0; i < count; i++) {
        const char *key;
        uint32_t len;
        if (fed_mpr_str (&r, &key, &len))
            return s_bad (self, FED_XP_TOKENIZE, "keys must be strings");
        int rc = 0;
        if (fed_data_key_is (key, len, "column"))
            rc = s_str (self, FED_XP_TOKENIZE, &r, "column", &self->tok_name);
        else if (fed_data_key_is (key, len, "mode"))
            rc = s_str (self, FED_XP_TOKENIZE, &r, "mode", &mode);
        else if (fed_data_key_is (key, len, "pattern"))
            rc = s_str (self, FED_XP_TOKENIZE, &r, "pattern", &self->pattern);
        else if (fed_data_key_is (key, len, "lowercase")) {
            if (fed_mpr_bool (&r, &self->tok.lowercase))
                rc = s_bad (self, FED_XP_TOKENIZE, "\"lowercase\" must be true or false");
        } else if (fed_data_key_is (key, len, "ngrams")) {
            uint64_t low = 1, high = 1;
            uint32_t n;
            if (fed_mpr_peek (&r) == FED_MP_ARRAY) {
                if (fed_mpr_array (&r, &n) || n != 2
                    || s_uint (self, FED_XP_TOKENIZE, &r, "ngrams", 1, FED_TOKENIZE_NGRAM_MAX, &low)
                    || s_uint (self, FED_XP_TOKENIZE, &r, "ngrams", low, FED_TOKENIZE_NGRAM_MAX,
                               &high))
                    rc = s_bad (self, FED_XP_TOKENIZE,
                                "\"ngrams\" must be [min, max] with 1 <= min <= max <= 8");
            } else if (s_uint (self, FED_XP_TOKENIZE, &r, "ngrams", 1, FED_TOKENIZE_NGRAM_MAX,
                               &low))
                rc = -1;
            else
                high = low;
            if (rc == 0) {
                self->tok.ngram_min = (unsigned) low;
                self->tok.ngram_max = (unsigned) high;
            }
        } else
            rc = s_unknown_key (self, FED_XP_TOKENIZE, key, len, keys, 5);
        if (rc) {
            free (mode);
            return -1;
        }
    }
    int rc = 0;
    if (!mode || !strcmp (mode, "whitespace"))
        self->tok.mode = FED_TOKENIZE_WHITESPACE;
    else if (!strcmp (mode, "regex"))
        self->tok.mode = FED_TOKENIZE_REGEX;
    else
        rc = s_bad (self, FED_XP_TOKENIZE, "\"mode\" must be whitespace or regex");
    free (mode);
    if (rc)
        return -1;
    if (self->tok.mode == FED_TOKENIZE_REGEX && !self->pattern)
        return s_bad (self, FED_XP_TOKENIZE, "mode regex needs \"pattern\"");
    if (!self->tok_name)
        return s_bad (self, FED_XP_TOKENIZE, "\"column\" is missing");
    self->tok.pattern = self->pattern;
    fed_err_t err = {0};
    self->tokenizer = fed_tokenizer_new (&self->tok, &err);
    if (!self->tokenizer)
        return s_bad (self, FED_XP_TOKENIZE, err.text);
    char where [64];
    snprintf (where, sizeof where, "%s \"tokenize\"", self->origin);
    return fed_data_column_find (self->task, reader, where, self->tok_name, strlen (self->tok_name),
                                 &self->tok_index);
}

static int
s_parse_vocabulary (fed_xform_t *self)
{
    static const char *const keys [] = {"min_count", "max_size"};
    fed_mpr_t r;
    uint32_t count;
    if (s_map (self, FED_XP_VOCABULARY, &r, &count))
        return -1;
    for (uint32_t i = 0; i < count; i++) {
        const char *key;
        uint32_t len;
        if (fed_mpr_str (&r, &key, &len))
            return s_bad (self, FED_XP_VOCABULARY, "keys must be strings");
        if (fed_data_key_is (key, len, "min_count")) {
            if (s_uint (self, FED_XP_VOCABULARY, &r, "min_count", 1, UINT32_MAX, &self->min_count))
                return -1;
        } else if (fed_data_key_is (key, len, "max_size")) {
            if (s_uint (self, FED_XP_VOCABULARY, &r, "max_size", 1, FED_VOCAB_MAX_SIZE,
                        &self->max_size))
                return -1;
        } else
            return s_unknown_key (self, FED_XP_VOCABULARY, key, len, keys, 2);
    }
    return 0;
}

static int
s_parse_vectorize (fed_xform_t *self)
{
    static const char *const keys [] = {"method", "dims"};
    static const char *const methods [] = {"hashing", "ids", "tfidf"};
    fed_mpr_t r;
    uint32_t count;
    char *method = NULL;
    uint64_t dims = 1024;
    if (s_map (self, FED_XP_VECTORIZE, &r, &count))
        return -1;
    int rc = 0;
    for (uint32_t i = 0; i < count && rc == 0; i++) {
        const char *key;
        uint32_t len;
        if (fed_mpr_str (&r, &key, &len))
            rc = s_bad (self, FED_XP_VECTORIZE, "keys must be strings");
        else if (fed_data_key_is (key, len, "method"))
            rc = s_str (self, FED_XP_VECTORIZE, &r, "method", &method);
        else if (fed_data_key_is (key, len, "dims"))
            rc = s_uint (self, FED_XP_VECTORIZE, &r, "dims", 1, FED_HASH_DIMS_MAX, &dims);
        else
            rc = s_unknown_key (self, FED_XP_VECTORIZE, key, len, keys, 2);
    }
    if (rc == 0 && !method)
        rc = s_bad (self, FED_XP_VECTORIZE, "\"method\" is missing (hashing, ids or tfidf)");
    if (rc == 0) {
        for (size_t m = 0; m < 3; m++)
            if (!strcmp (method, methods [m]))
                self->vec = (fed_vec_t) (FED_VEC_HASHING + m);
        if (self->vec == FED_VEC_NONE) {
            const char *near = fed_nearest_word (method, methods, 3);
            char why [200];
            snprintf (why, sizeof why, "unknown method '%.60s'%s%s%s; use hashing, ids or tfidf",
                      method, near ? " (did you mean '" : "", near ? near : "", near ? "'?)" : "");
            rc = s_bad (self, FED_XP_VECTORIZE, why);
        }
    }
    free (method);
    self->dims = (uint32_t) dims;
    if (rc == 0 && !self->tokenize)
        rc = s_bad (self, FED_XP_VECTORIZE, "needs \"tokenize\" (the column to vectorize)");
    return rc;
}

static int
s_parse_scale (fed_xform_t *self, const fed_data_reader_t *reader)
{
    fed_mpr_t r;
    uint32_t count;
    if (s_map (self, FED_XP_SCALE, &r, &count))
        return -1;
    self->scales = (fed_xscale_t *) fed_calloc (count ? count : 1, sizeof (fed_xscale_t));
    char where [64];
    snprintf (where, sizeof where, "%s \"scale\"", self->origin);
    for (uint32_t i = 0; i < count; i++) {
        fed_xscale_t *s = &self->scales [i];
        const char *key;
        uint32_t len;
        if (fed_mpr_str (&r, &key, &len))
            return s_bad (self, FED_XP_SCALE, "keys must be column names");
        s->name = fed_strndup (key, len);
        self->scale_count++;
        if (fed_data_column_find (self->task, reader, where, key, len, &s->index))
            return -1;
        for (size_t k = 0; k < i; k++)
            if (self->scales [k].index == s->index)
                return s_bad (self, FED_XP_SCALE, "a column is named twice");
        char *method = NULL;
        if (s_str (self, FED_XP_SCALE, &r, s->name, &method))
            return -1;
        int rc = 0;
        if (!strcmp (method, "minmax"))
            s->method = FED_SCALE_MINMAX;
        else if (!strcmp (method, "zscore"))
            s->method = FED_SCALE_ZSCORE;
        else
            rc = s_bad (self, FED_XP_SCALE, "a method must be minmax or zscore");
        free (method);
        if (rc)
            return -1;
    }
    return 0;
}

static int
s_parse_onehot (fed_xform_t *self, const fed_data_reader_t *reader)
{
    fed_mpr_t r;
    fed_mpr_init (&r, self->raw [FED_XP_ONEHOT].data, self->raw [FED_XP_ONEHOT].size);
    uint32_t count;
    bool map = fed_mpr_peek (&r) == FED_MP_MAP;
    if (map ? fed_mpr_map (&r, &count) : fed_mpr_array (&r, &count))
        return s_bad (self, FED_XP_ONEHOT, "must be a list of columns or a map of them");
    self->onehots = (fed_xonehot_t *) fed_calloc (count ? count : 1, sizeof (fed_xonehot_t));
    char where [64];
    snprintf (where, sizeof where, "%s \"onehot\"", self->origin);
    for (uint32_t i = 0; i < count; i++) {
        fed_xonehot_t *o = &self->onehots [i];
        const char *name;
        uint32_t len;
        if (fed_mpr_str (&r, &name, &len))
            return s_bad (self, FED_XP_ONEHOT, "columns must be named by strings");
        o->name = fed_strndup (name, len);
        o->max_categories = FED_ONEHOT_DEFAULT_MAX;
        self->onehot_count++;
        if (fed_data_column_find (self->task, reader, where, name, len, &o->index))
            return -1;
        for (size_t k = 0; k < i; k++)
            if (self->onehots [k].index == o->index)
                return s_bad (self, FED_XP_ONEHOT, "a column is named twice");
        if (!map)
            continue;
        uint32_t options;
        if (fed_mpr_nil (&r) == 0)
            continue;
        if (fed_mpr_map (&r, &options))
            return s_bad (self, FED_XP_ONEHOT, "a column's options must be a map");
        for (uint32_t k = 0; k < options; k++) {
            const char *key;
            uint32_t key_len;
            static const char *const keys [] = {"max_categories"};
            if (fed_mpr_str (&r, &key, &key_len))
                return s_bad (self, FED_XP_ONEHOT, "keys must be strings");
            if (!fed_data_key_is (key, key_len, "max_categories"))
                return s_unknown_key (self, FED_XP_ONEHOT, key, key_len, keys, 1);
            if (s_uint (self, FED_XP_ONEHOT, &r, "max_categories", 1, FED_ONEHOT_MAX,
                        &o->max_categories))
                return -1;
        }
    }
    return 0;
}

int
fed_xform_spec_parse (fed_xform_t *self, const fed_data_reader_t *reader)
{
    self->tokenize = self->raw [FED_XP_TOKENIZE].size > 0;
    if (self->tokenize && s_parse_tokenize (self, reader))
        return -1;
    self->min_count = 1;
    self->max_size = FED_VOCAB_DEFAULT_SIZE;
    if (self->raw [FED_XP_VOCABULARY].size) {
        if (!self->tokenize)
            return s_bad (self, FED_XP_VOCABULARY, "needs \"tokenize\" (the tokens to count)");
        if (s_parse_vocabulary (self))
            return -1;
        self->vocabulary = true;
    }
    if (self->raw [FED_XP_VECTORIZE].size && s_parse_vectorize (self))
        return -1;
    if (self->vec == FED_VEC_IDS || self->vec == FED_VEC_TFIDF)
        self->vocabulary = true;
    if (self->raw [FED_XP_SCALE].size && s_parse_scale (self, reader))
        return -1;
    if (self->raw [FED_XP_ONEHOT].size && s_parse_onehot (self, reader))
        return -1;
    return 0;
}

//  --- The fitted file ------------------------------------------------------

//  Finds key in the msgpack map at r (not moved); *value is positioned on
//  its value. Returns 0, or -1 when r is not a map or has no such key.
static int
s_find (const fed_mpr_t *r, const char *key, fed_mpr_t *value)
{
    fed_mpr_t at = *r;
    uint32_t count;
    if (fed_mpr_map (&at, &count))
        return -1;
    for (uint32_t i = 0; i < count; i++) {
        const char *k;
        uint32_t len;
        if (fed_mpr_str (&at, &k, &len))
            return -1;
        if (fed_data_key_is (k, len, key)) {
            *value = at;
            return 0;
        }
        if (fed_mpr_skip (&at, &s_doc_limits))
            return -1;
    }
    return -1;
}

//  The bytes of the object at r.
static int
s_blob (fed_mpr_t r, fed_blob_t *blob)
{
    size_t start = r.pos;
    if (fed_mpr_skip (&r, &s_doc_limits))
        return -1;
    blob->data = r.data + start;
    blob->size = r.pos - start;
    return 0;
}

static int
s_bad_doc (fed_xform_t *self, const char *what)
{
    return fed_task_fail (self->task, "bad_params", "param \"fitted\": %s", what);
}

int
fed_xform_fitted_open (fed_xform_t *self)
{
    char path [PATH_MAX];
    if (fed_data_input_path (self->task, "fitted", path))
        return -1;
    FILE *file = fopen (path, "rb");
    struct stat st;
    char *text = NULL;
    fed_err_t err = {0};
    if (!file || fstat (fileno (file), &st)) {
        fed_task_fail (self->task, "io_error", "%.300s: %s", path, strerror (errno));
        goto err;
    }
    if ((uint64_t) st.st_size > self->budget) {
        fed_task_fail (self->task, "over_budget",
                       "%.300s: %llu bytes, more than config agents.data_memory (%llu bytes)", path,
                       (unsigned long long) st.st_size, (unsigned long long) self->budget);
        goto err;
    }
    text = (char *) fed_malloc ((size_t) st.st_size + 1);
    if (fread (text, 1, (size_t) st.st_size, file) != (size_t) st.st_size) {
        fed_task_fail (self->task, "io_error", "%.300s: %s", path, strerror (errno));
        goto err;
    }
    if (fed_json_to_msgpack (text, (size_t) st.st_size, &s_doc_limits, &self->doc, &self->doc_size,
                             &err)) {
        fed_task_fail (self->task, "bad_params", "param \"fitted\": %.300s is not JSON: %s", path,
                       err.text);
        goto err;
    }
    free (text);
    fclose (file);
    fed_mpr_t doc, value, params;
    fed_mpr_init (&doc, self->doc, self->doc_size);
    const char *agent;
    uint32_t len;
    uint64_t version;
    if (s_find (&doc, "agent", &value) || fed_mpr_str (&value, &agent, &len)
        || !fed_data_key_is (agent, len, "data.transform") || s_find (&doc, "version", &value)
        || fed_mpr_uint (&value, &version) || version != 1 || s_find (&doc, "params", &params))
        return s_bad_doc (self, "not a data.transform fitted.json of version 1");
    if (s_find (&doc, "rows", &value) || fed_mpr_uint (&value, &self->docs))
        return s_bad_doc (self, "\"rows\" is missing");
    //  The spec is the file's; any spec param given here must be the same.
    for (int p = 0; p < FED_XP_COUNT; p++) {
        bool there = s_find (&params, fed_xparam_names [p], &value) == 0;
        if (there && s_blob (value, &self->raw [p]))
            return s_bad_doc (self, "its params do not parse");
        const uint8_t *data;
        size_t size;
        if (fed_task_param_raw (self->task, fed_xparam_names [p], &data, &size))
            continue;
        char *mine = fed_json_from_msgpack (data, size, false);
        char *theirs =
            there ? fed_json_from_msgpack (self->raw [p].data, self->raw [p].size, false) : NULL;
        bool same = mine && theirs && !strcmp (mine, theirs);
        if (!same)
            fed_task_fail (self->task, "bad_params",
                           "param \"%s\" differs from the fitted file's: %.200s here, %.200s there",
                           fed_xparam_names [p], mine ? mine : "?", theirs ? theirs : "absent");
        free (mine);
        free (theirs);
        if (!same)
            return -1;
    }
    return 0;
err:
    free (text);
    if (file)
        fclose (file);
    return -1;
}

//  Reads an array of count doubles under key of map r into a fresh array.
static int
s_doubles (const fed_mpr_t *r, const char *key, size_t count, double **out)
{
    fed_mpr_t value;
    uint32_t n;
    if (s_find (r, key, &value) || fed_mpr_array (&value, &n) || n != count)
        return -1;
    *out = (double *) fed_calloc (count + 1, sizeof (double));
    for (uint32_t i = 0; i < n; i++)
        if (fed_mpr_double (&value, &(*out) [i + 1]))
            return -1;
    return 0;
}

static int
s_load_vocabulary (fed_xform_t *self, const fed_mpr_t *doc)
{
    fed_mpr_t map, tokens, counts;
    uint32_t n, m;
    if (s_find (doc, "vocabulary", &map) || s_find (&map, "tokens", &tokens)
        || fed_mpr_array (&tokens, &n) || s_find (&map, "counts", &counts)
        || fed_mpr_array (&counts, &m) || n != m || n > FED_VOCAB_MAX_SIZE)
        return s_bad_doc (self, "\"vocabulary\" is missing or not {tokens, counts} of one length");
    self->vocab = fed_vocab_new (self->budget);
    self->tokens = (char **) fed_calloc (n ? n : 1, sizeof (char *));
    self->vocab_kept = n;
    for (uint32_t i = 0; i < n; i++) {
        const char *token;
        uint32_t len;
        uint64_t count;
        if (fed_mpr_str (&tokens, &token, &len) || fed_mpr_uint (&counts, &count))
            return s_bad_doc (self, "a vocabulary token is not a string or its count not a count");
        self->tokens [i] = fed_strndup (token, len);
        if (fed_vocab_put (self->vocab, token, len, count, 0, i + 1)) {
            if (fed_vocab_find (self->vocab, token, len))
                return s_bad_doc (self, "a vocabulary token is there twice");
            return fed_task_fail (self->task, "over_budget",
                                  "the fitted vocabulary (%u tokens) needs more than config "
                                  "agents.data_memory (%llu bytes)",
                                  n, (unsigned long long) self->budget);
        }
    }
    if (self->vec == FED_VEC_TFIDF && s_doubles (doc, "idf", n, &self->idf))
        return s_bad_doc (self, "\"idf\" is missing or not one number per vocabulary token");
    return 0;
}

static int
s_load_scale (fed_xform_t *self, const fed_mpr_t *doc)
{
    fed_mpr_t all, one, value;
    if (s_find (doc, "scale", &all))
        return s_bad_doc (self, "\"scale\" is missing");
    for (size_t i = 0; i < self->scale_count; i++) {
        fed_xscale_t *s = &self->scales [i];
        double *fields [] = {&s->min, &s->max, &s->mean, &s->std};
        const char *names [] = {"min", "max", "mean", "std"};
        if (s_find (&all, s->name, &one) || s_find (&one, "count", &value)
            || fed_mpr_uint (&value, &s->count))
            return s_bad_doc (self, "\"scale\" lacks a column's statistics");
        for (size_t k = 0; k < 4; k++)
            if (s_find (&one, names [k], &value) || fed_mpr_double (&value, fields [k]))
                return s_bad_doc (self, "\"scale\" lacks a column's min, max, mean or std");
    }
    return 0;
}

static int
s_load_onehot (fed_xform_t *self, const fed_mpr_t *doc)
{
    fed_mpr_t all, one, value;
    if (s_find (doc, "onehot", &all))
        return s_bad_doc (self, "\"onehot\" is missing");
    for (size_t i = 0; i < self->onehot_count; i++) {
        fed_xonehot_t *o = &self->onehots [i];
        uint32_t n;
        if (s_find (&all, o->name, &one) || s_find (&one, "other", &value)
            || fed_mpr_bool (&value, &o->other) || s_find (&one, "categories", &value)
            || fed_mpr_array (&value, &n) || n > FED_ONEHOT_MAX)
            return s_bad_doc (self, "\"onehot\" lacks a column's categories");
        o->values = fed_vocab_new (self->budget);
        o->loaded = (char **) fed_calloc (n ? n : 1, sizeof (char *));
        o->categories = n;
        for (uint32_t k = 0; k < n; k++) {
            const char *text;
            uint32_t len;
            if (fed_mpr_str (&value, &text, &len))
                return s_bad_doc (self, "a category is not a string");
            o->loaded [k] = fed_strndup (text, len);
            if (fed_vocab_put (o->values, text, len, 0, 0, k + 1))
                return s_bad_doc (self, "a category is there twice, or over agents.data_memory");
        }
    }
    return 0;
}

int
fed_xform_fitted_load (fed_xform_t *self)
{
    fed_mpr_t doc;
    fed_mpr_init (&doc, self->doc, self->doc_size);
    if (self->vocabulary && s_load_vocabulary (self, &doc))
        return -1;
    if (self->scale_count && s_load_scale (self, &doc))
        return -1;
    if (self->onehot_count && s_load_onehot (self, &doc))
        return -1;
    return 0;
}

static void
s_pack_vocabulary (fed_xform_t *self, msgpack_packer *pk)
{
    fed_data_pack_str (pk, "vocabulary");
    msgpack_pack_map (pk, 3);
    fed_data_pack_str (pk, "size");
    msgpack_pack_uint64 (pk, self->vocab_kept);
    fed_data_pack_str (pk, "tokens");
    msgpack_pack_array (pk, self->vocab_kept);
    for (size_t i = 0; i < self->vocab_kept; i++)
        fed_data_pack_strn (pk, self->kept [i]->text, self->kept [i]->len);
    fed_data_pack_str (pk, "counts");
    msgpack_pack_array (pk, self->vocab_kept);
    for (size_t i = 0; i < self->vocab_kept; i++)
        msgpack_pack_uint64 (pk, self->kept [i]->count);
    if (self->vec == FED_VEC_TFIDF) {
        fed_data_pack_str (pk, "idf");
        msgpack_pack_array (pk, self->vocab_kept);
        for (size_t i = 0; i < self->vocab_kept; i++)
            msgpack_pack_double (pk, self->idf [i + 1]);
    }
}

static void
s_pack_scale (fed_xform_t *self, msgpack_packer *pk)
{
    fed_data_pack_str (pk, "scale");
    msgpack_pack_map (pk, self->scale_count);
    for (size_t i = 0; i < self->scale_count; i++) {
        const fed_xscale_t *s = &self->scales [i];
        fed_data_pack_str (pk, s->name);
        msgpack_pack_map (pk, 6);
        fed_data_pack_str (pk, "method");
        fed_data_pack_str (pk, s->method == FED_SCALE_MINMAX ? "minmax" : "zscore");
        fed_data_pack_str (pk, "count");
        msgpack_pack_uint64 (pk, s->count);
        fed_data_pack_str (pk, "min");
        msgpack_pack_double (pk, s->min);
        fed_data_pack_str (pk, "max");
        msgpack_pack_double (pk, s->max);
        fed_data_pack_str (pk, "mean");
        msgpack_pack_double (pk, s->mean);
        fed_data_pack_str (pk, "std");
        msgpack_pack_double (pk, s->std);
    }
}

static void
s_pack_onehot (fed_xform_t *self, msgpack_packer *pk)
{
    fed_data_pack_str (pk, "onehot");
    msgpack_pack_map (pk, self->onehot_count);
    for (size_t i = 0; i < self->onehot_count; i++) {
        const fed_xonehot_t *o = &self->onehots [i];
        fed_data_pack_str (pk, o->name);
        msgpack_pack_map (pk, 2);
        fed_data_pack_str (pk, "categories");
        msgpack_pack_array (pk, o->categories);
        for (size_t k = 0; k < o->categories; k++)
            fed_data_pack_strn (pk, o->kept [k]->text, o->kept [k]->len);
        fed_data_pack_str (pk, "other");
        if (o->other)
            msgpack_pack_true (pk);
        else
            msgpack_pack_false (pk);
    }
}

int
fed_xform_fitted_write (fed_xform_t *self)
{
    //  Applying writes the file it applied, as it was.
    if (self->apply)
        return fed_data_write_json (self->task, "fitted.json", self->doc, self->doc_size, "fitted");
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    size_t params = 0;
    for (int p = 0; p < FED_XP_COUNT; p++)
        params += self->raw [p].size > 0;
    msgpack_pack_map (&pk,
                      4 + (self->vocabulary ? 1 : 0)
                          + (self->vocabulary && self->vec == FED_VEC_TFIDF ? 1 : 0)
                          + (self->scale_count ? 1 : 0) + (self->onehot_count ? 1 : 0));
    fed_data_pack_str (&pk, "agent");
    fed_data_pack_str (&pk, "data.transform");
    fed_data_pack_str (&pk, "version");
    msgpack_pack_uint64 (&pk, 1);
    fed_data_pack_str (&pk, "params");
    msgpack_pack_map (&pk, params);
    for (int p = 0; p < FED_XP_COUNT; p++)
        if (self->raw [p].size) {
            fed_data_pack_str (&pk, fed_xparam_names [p]);
            msgpack_sbuffer_write (&buffer, (const char *) self->raw [p].data, self->raw [p].size);
        }
    fed_data_pack_str (&pk, "rows");
    msgpack_pack_uint64 (&pk, self->docs);
    if (self->vocabulary)
        s_pack_vocabulary (self, &pk);
    if (self->scale_count)
        s_pack_scale (self, &pk);
    if (self->onehot_count)
        s_pack_onehot (self, &pk);
    int rc = fed_data_write_json (self->task, "fitted.json", buffer.data, buffer.size, "fitted");
    msgpack_sbuffer_destroy (&buffer);
    return rc;
}

void
fed_xform_free (fed_xform_t *self)
{
    free (self->doc);
    free (self->tok_name);
    free (self->pattern);
    fed_tokenizer_destroy (&self->tokenizer);
    if (self->tokens)
        for (size_t i = 0; i < self->vocab_kept; i++)
            free (self->tokens [i]);
    free (self->tokens);
    fed_xcount_destroy (&self->vocab_count);
    fed_vocab_destroy (&self->vocab);
    free (self->idf);
    for (size_t i = 0; i < self->scale_count; i++)
        free (self->scales [i].name);
    free (self->scales);
    for (size_t i = 0; i < self->onehot_count; i++) {
        fed_xonehot_t *o = &self->onehots [i];
        free (o->name);
        fed_xcount_destroy (&o->count);
        fed_vocab_destroy (&o->values);
        if (o->loaded)
            for (size_t k = 0; k < o->categories; k++)
                free (o->loaded [k]);
        free (o->loaded);
    }
    free (self->onehots);
}
