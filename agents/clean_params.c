/*  agents/clean_params.c: reads data.clean's params into its plan
    (clean_internal.h). Every mistake fails the task "bad_params" naming the
    param, and for a misspelt name the nearest valid one.
*/
#include "clean_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleantext.h"

static const char *const s_param_names [] = {
    "input",   "format", "trim",  "normalize_whitespace", "types",           "on_bad_type",
    "missing", "clip",   "dedup", "max_rejects",          "max_reject_ratio"};
static const char *const s_type_names [] = {"int", "float", "bool", "string"};
static const char *const s_miss_names [] = {"drop", "mean", "median", "mode"};
#define COUNT(a) (sizeof (a) / sizeof (a) [0])

//  " (did you mean 'x'?)" for word among names, or "".
static void
s_near (const char *word, const char *const *names, size_t count, char *text, size_t size)
{
    const char *near = fed_nearest_word (word, names, count);
    if (near)
        snprintf (text, size, "; did you mean '%s'?", near);
    else
        text [0] = '\0';
}

//  Index of name (len bytes) among names, or fails the task naming param.
static int
s_choose (fed_clean_t *self, const char *param, const char *what, const char *name, uint32_t len,
          const char *const *names, size_t count)
{
    for (size_t i = 0; i < count; i++)
        if (strlen (names [i]) == len && !memcmp (names [i], name, len))
            return (int) i;
    char word [128], near [160], list [200] = "";
    snprintf (word, sizeof word, "%.*s", (int) (len < 100 ? len : 100), name);
    s_near (word, names, count, near, sizeof near);
    for (size_t i = 0; i < count; i++)
        snprintf (list + strlen (list), sizeof list - strlen (list), "%s%s", i ? ", " : "",
                  names [i]);
    fed_task_fail (self->task, "bad_params", "param \"%s\": unknown %s '%s'%s (one of %s)", param,
                   what, word, near, list);
    return -1;
}

//  The column named by key (len bytes), or -1 having failed naming param.
static ssize_t
s_column (fed_clean_t *self, const char *param, const char *name, uint32_t len)
{
    char copy [256];
    if (len >= sizeof copy || memchr (name, 0, len)) {
        fed_task_fail (self->task, "bad_params", "param \"%s\": a column name is too long", param);
        return -1;
    }
    memcpy (copy, name, len);
    copy [len] = '\0';
    ssize_t index = fed_data_reader_column (self->reader, copy);
    if (index >= 0)
        return index;
    const char **names = (const char **) fed_calloc (self->ncols + 1, sizeof (char *));
    for (size_t i = 0; i < self->ncols; i++)
        names [i] = self->columns [i].ptr;
    char near [200];
    s_near (copy, names, self->ncols, near, sizeof near);
    free (names);
    fed_task_fail (self->task, "bad_params", "param \"%s\": no column '%s' in the input%s", param,
                   copy, near);
    return -1;
}

static int
s_malformed (fed_clean_t *self, const char *param, const char *expected)
{
    return fed_task_fail (self->task, "bad_params", "param \"%s\" must be %s", param, expected);
}

//  trim / normalize_whitespace: true, false, or columns.
static int
s_fold_param (fed_clean_t *self, const char *param, int flag)
{
    fed_mp_type_t type = fed_task_param_type (self->task, param);
    if (type == FED_MP_NONE)
        return 0;
    if (type == FED_MP_BOOL) {
        bool on;
        if (fed_task_require_bool (self->task, param, &on))
            return -1;
        for (size_t c = 0; on && c < self->ncols; c++)
            self->cols [c].fold |= flag;
        return 0;
    }
    fed_data_columns_t named;
    int rc = fed_data_param_columns (self->task, param, self->reader, &named);
    for (size_t i = 0; rc == 0 && i < named.count; i++)
        self->cols [named.index [i]].fold |= flag;
    fed_data_columns_free (&named);
    return rc;
}

static int
s_types (fed_clean_t *self)
{
    const char *mode;
    if (fed_task_has (self->task, "on_bad_type")) {
        if (fed_task_require_str (self->task, "on_bad_type", &mode))
            return -1;
        static const char *const modes [] = {"reject", "null"};
        int m = s_choose (self, "on_bad_type", "choice", mode, (uint32_t) strlen (mode), modes, 2);
        if (m < 0)
            return -1;
        self->bad_type_null = m == 1;
    }
    fed_mpr_t mpr;
    uint32_t count;
    if (!fed_task_has (self->task, "types"))
        return 0;
    if (fed_task_require_map (self->task, "types", &mpr, &count))
        return -1;
    for (uint32_t i = 0; i < count; i++) {
        const char *key, *value;
        uint32_t klen, vlen;
        if (fed_mpr_str (&mpr, &key, &klen))
            return s_malformed (self, "types",
                                "a map of column names to int, float, bool or string");
        ssize_t c = s_column (self, "types", key, klen);
        if (c < 0)
            return -1;
        if (fed_mpr_str (&mpr, &value, &vlen))
            return s_malformed (self, "types",
                                "a map of column names to int, float, bool or string");
        int t = s_choose (self, "types", "type", value, vlen, s_type_names, COUNT (s_type_names));
        if (t < 0)
            return -1;
        self->cols [c].type = (fed_clean_type_t) (t + 1);
        self->cols [c].numeric = t + 1 == FED_CLEAN_TYPE_INT || t + 1 == FED_CLEAN_TYPE_FLOAT;
    }
    return 0;
}

//  {value: X}: X as the fill text of column c.
static int
s_fill_value (fed_clean_t *self, fed_clean_col_t *col, fed_mpr_t *mpr)
{
    uint32_t count;
    const char *key;
    uint32_t klen;
    static const char *const keys [] = {"value"};
    if (fed_mpr_map (mpr, &count) || count != 1 || fed_mpr_str (mpr, &key, &klen))
        return s_malformed (self, "missing", "drop, mean, median, mode or {value: X} per column");
    if (s_choose (self, "missing", "key", key, klen, keys, 1) < 0)
        return -1;
    char text [FED_COERCE_MAX];
    fed_mp_type_t type = fed_mpr_peek (mpr);
    col->missing = FED_CLEAN_MISS_VALUE;
    if (type == FED_MP_STR) {
        const char *value;
        uint32_t vlen;
        if (fed_mpr_str (mpr, &value, &vlen) || !fed_text_valid (value, vlen))
            return s_malformed (self, "missing", "a UTF-8 text value");
        col->fill = fed_strndup (value, vlen);
        col->fill_len = vlen;
        col->fill_kind = FED_CELL_TEXT;
        return 0;
    }
    if (type == FED_MP_UINT || type == FED_MP_INT) {
        int64_t value;
        if (fed_mpr_int (mpr, &value))
            return s_malformed (self, "missing", "a value that fits a 64-bit integer");
        snprintf (text, sizeof text, "%lld", (long long) value);
        col->fill_value = (double) value;
        col->fill_kind = FED_CELL_NUMBER;
    } else if (type == FED_MP_FLOAT) {
        double value;
        if (fed_mpr_double (mpr, &value))
            return -1;
        fed_format_double (value, text);
        col->fill_value = value;
        col->fill_kind = FED_CELL_NUMBER;
    } else if (type == FED_MP_BOOL) {
        bool value;
        if (fed_mpr_bool (mpr, &value))
            return -1;
        snprintf (text, sizeof text, "%s", value ? "true" : "false");
        col->fill_kind = FED_CELL_BOOL;
    } else
        return s_malformed (self, "missing", "{value: X} with X a string, number or boolean");
    col->fill = fed_strndup (text, strlen (text));
    col->fill_len = strlen (text);
    return 0;
}

static int
s_missing (fed_clean_t *self)
{
    fed_mp_type_t type = fed_task_param_type (self->task, "missing");
    if (type == FED_MP_NONE)
        return 0;
    if (type == FED_MP_STR) {
        const char *value;
        if (fed_task_require_str (self->task, "missing", &value))
            return -1;
        static const char *const whole [] = {"drop"};
        if (s_choose (self, "missing", "choice", value, (uint32_t) strlen (value), whole, 1) < 0)
            return -1;
        self->drop_any_missing = true;
        return 0;
    }
    fed_mpr_t mpr;
    uint32_t count;
    if (fed_task_require_map (self->task, "missing", &mpr, &count))
        return -1;
    for (uint32_t i = 0; i < count; i++) {
        const char *key, *value;
        uint32_t klen, vlen;
        if (fed_mpr_str (&mpr, &key, &klen))
            return s_malformed (self, "missing", "drop or a map of column names to what fills");
        ssize_t c = s_column (self, "missing", key, klen);
        if (c < 0)
            return -1;
        fed_clean_col_t *col = &self->cols [c];
        if (fed_mpr_peek (&mpr) == FED_MP_MAP) {
            if (s_fill_value (self, col, &mpr))
                return -1;
            continue;
        }
        if (fed_mpr_str (&mpr, &value, &vlen))
            return s_malformed (self, "missing",
                                "drop, mean, median, mode or {value: X} per column");
        int m = s_choose (self, "missing", "operation", value, vlen, s_miss_names,
                          COUNT (s_miss_names));
        if (m < 0)
            return -1;
        col->missing = (fed_clean_miss_t) (m + 1);
        if (col->missing == FED_CLEAN_MISS_MEAN || col->missing == FED_CLEAN_MISS_MEDIAN)
            col->numeric = true;
        if (col->missing >= FED_CLEAN_MISS_MEAN)
            self->two_pass = true;
    }
    return 0;
}

static int
s_clip (fed_clean_t *self)
{
    fed_mpr_t mpr;
    uint32_t count;
    if (!fed_task_has (self->task, "clip"))
        return 0;
    if (fed_task_require_map (self->task, "clip", &mpr, &count))
        return -1;
    static const char *const keys [] = {"lower", "upper"};
    for (uint32_t i = 0; i < count; i++) {
        const char *key;
        uint32_t klen, n;
        if (fed_mpr_str (&mpr, &key, &klen))
            return s_malformed (self, "clip", "a map of column names to {lower, upper}");
        ssize_t c = s_column (self, "clip", key, klen);
        if (c < 0)
            return -1;
        fed_clean_col_t *col = &self->cols [c];
        if (fed_mpr_map (&mpr, &n))
            return s_malformed (self, "clip", "{lower: q, upper: q} per column, q from 0 to 1");
        for (uint32_t k = 0; k < n; k++) {
            double q;
            if (fed_mpr_str (&mpr, &key, &klen))
                return s_malformed (self, "clip", "{lower: q, upper: q} per column");
            int which = s_choose (self, "clip", "key", key, klen, keys, 2);
            if (which < 0)
                return -1;
            if (fed_mpr_double (&mpr, &q) || !(q >= 0 && q <= 1))
                return s_malformed (self, "clip", "{lower: q, upper: q} with q from 0 to 1");
            *(which ? &col->has_upper : &col->has_lower) = true;
            *(which ? &col->q_upper : &col->q_lower) = q;
        }
        if (col->has_lower && col->has_upper && col->q_lower > col->q_upper)
            return s_malformed (self, "clip", "{lower, upper} with lower at most upper");
        col->clip = col->has_lower || col->has_upper;
        col->numeric |= col->clip;
        self->two_pass |= col->clip;
    }
    return 0;
}

static int
s_dedup (fed_clean_t *self)
{
    fed_mp_type_t type = fed_task_param_type (self->task, "dedup");
    if (type == FED_MP_NONE)
        return 0;
    if (type == FED_MP_BOOL) {
        if (fed_task_require_bool (self->task, "dedup", &self->dedup))
            return -1;
    } else {
        fed_mpr_t mpr;
        uint32_t count;
        if (fed_task_require_map (self->task, "dedup", &mpr, &count))
            return -1;
        static const char *const keys [] = {"columns", "normalize"};
        self->dedup = true;
        for (uint32_t i = 0; i < count; i++) {
            const char *key;
            uint32_t klen, n;
            if (fed_mpr_str (&mpr, &key, &klen))
                return s_malformed (self, "dedup", "true or {columns: [...], normalize: bool}");
            int which = s_choose (self, "dedup", "key", key, klen, keys, 2);
            if (which < 0)
                return -1;
            if (which == 1) {
                if (fed_mpr_bool (&mpr, &self->dedup_normalize))
                    return s_malformed (self, "dedup", "{normalize: true or false}");
                continue;
            }
            bool one = fed_mpr_peek (&mpr) == FED_MP_STR;
            if (!one && fed_mpr_array (&mpr, &n))
                return s_malformed (self, "dedup", "{columns: a column name or a list of them}");
            n = one ? 1 : n;
            free (self->dedup_cols);
            self->dedup_cols = (size_t *) fed_calloc (n + 1, sizeof (size_t));
            self->dedup_count = n;
            for (uint32_t k = 0; k < n; k++) {
                const char *name;
                if (fed_mpr_str (&mpr, &name, &klen))
                    return s_malformed (self, "dedup", "{columns: [column names]}");
                ssize_t c = s_column (self, "dedup", name, klen);
                if (c < 0)
                    return -1;
                self->dedup_cols [k] = (size_t) c;
            }
        }
    }
    if (self->dedup && !self->dedup_cols) {
        self->dedup_cols = (size_t *) fed_calloc (self->ncols + 1, sizeof (size_t));
        self->dedup_count = self->ncols;
        for (size_t c = 0; c < self->ncols; c++)
            self->dedup_cols [c] = c;
    }
    return 0;
}

//  Every param name is known; format is one.
static int
s_names (fed_clean_t *self)
{
    const uint8_t *data;
    size_t size;
    fed_task_params (self->task, &data, &size);
    fed_mpr_t mpr;
    uint32_t count;
    fed_mpr_init (&mpr, data, size);
    if (fed_mpr_map (&mpr, &count))
        return fed_task_fail (self->task, "bad_params", "params must be a map");
    for (uint32_t i = 0; i < count; i++) {
        const char *key;
        uint32_t klen;
        if (fed_mpr_str (&mpr, &key, &klen) || fed_mpr_skip (&mpr, NULL))
            return fed_task_fail (self->task, "bad_params", "params must be a map");
        if (s_choose (self, "params", "param", key, klen, s_param_names, COUNT (s_param_names)) < 0)
            return -1;
    }
    self->out_name = "data.csv";
    if (fed_task_has (self->task, "format")) {
        const char *format;
        static const char *const formats [] = {"csv", "tsv", "jsonl"};
        static const char *const names [] = {"data.csv", "data.tsv", "data.jsonl"};
        if (fed_task_require_str (self->task, "format", &format))
            return -1;
        int f = s_choose (self, "format", "format", format, (uint32_t) strlen (format), formats, 3);
        if (f < 0)
            return -1;
        self->out_name = names [f];
    }
    return 0;
}

int
fed_clean_params (fed_clean_t *self)
{
    self->cols = (fed_clean_col_t *) fed_calloc (self->ncols + 1, sizeof (fed_clean_col_t));
    for (size_t c = 0; c < self->ncols; c++)
        self->cols [c].lower = self->cols [c].upper = NAN;
    //  An empty input has no columns: nothing can name one, nothing to do.
    if (self->ncols == 0)
        return s_names (self);
    if (s_names (self) || s_fold_param (self, "trim", FED_FOLD_TRIM)
        || s_fold_param (self, "normalize_whitespace", FED_FOLD_COLLAPSE) || s_types (self)
        || s_missing (self) || s_clip (self) || s_dedup (self))
        return -1;
    for (size_t c = 0; c < self->ncols; c++) {
        fed_clean_col_t *col = &self->cols [c];
        if (col->numeric
            && (col->type == FED_CLEAN_TYPE_BOOL || col->type == FED_CLEAN_TYPE_STRING))
            return fed_task_fail (self->task, "bad_params",
                                  "column '%s' is typed %s, but its missing fill or clip needs "
                                  "numbers",
                                  self->columns [c].ptr, s_type_names [col->type - 1]);
    }
    return 0;
}

void
fed_clean_free (fed_clean_t *self)
{
    for (size_t c = 0; self->cols && c < self->ncols; c++) {
        free (self->cols [c].fill);
        free (self->cols [c].lower_text);
        free (self->cols [c].upper_text);
        fed_extsort_destroy (&self->cols [c].values);
    }
    free (self->cols);
    free (self->dedup_cols);
    self->cols = NULL;
    self->dedup_cols = NULL;
}
