/*  agents/data_label.c: data.label (data.h, doc/agents-data.md).

    Weak supervision in one pass: each labelling function looks at a row
    and votes its label or abstains; the row's label is the majority vote,
    its confidence the winner's share of the votes cast. Rows the vote does
    not settle well enough (abstained, or under min_confidence) are copied
    to review.csv for a person (the workflow's HITL step), and report.json
    gives the label distribution and each function's coverage, overlaps and
    conflicts, as Snorkel's LF summary does.
*/
#include "data_internal.h"

#include <math.h>
#include <stdarg.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data_column.h"

#define LF_MAX 256
#define LABEL_MAX 256
#define KEYWORD_MAX 256

typedef enum { LF_KEYWORD = 0, LF_REGEX, LF_COMPARE } s_kind_t;
typedef enum { OP_GT = 0, OP_GE, OP_LT, OP_LE, OP_EQ } s_op_t;

//  One labelling function.
typedef struct {
    char *name;          //  unique, [A-Za-z0-9_.-]+ (owned)
    size_t label;        //  index into the labels
    s_kind_t kind;       //  what it tests
    size_t column;       //  the input column it reads
    char **keywords;     //  keyword: any of them, as substrings (owned)
    size_t *keyword_len; //  their lengths
    size_t keyword_count;
    bool case_sensitive; //  keyword and regex
    regex_t regex;       //  regex
    bool compiled;       //  regex holds a compiled pattern
    s_op_t op;           //  compare: value OP number
    double number;
    uint64_t votes, overlaps, conflicts; //  rows it voted on, with another, against another
} s_lf_t;

typedef struct {
    fed_task_t *task;
    fed_data_reader_t *reader;
    s_lf_t lfs [LF_MAX];
    size_t lf_count;
    char *labels [LABEL_MAX]; //  owned
    size_t label_count;
    bool labels_declared; //  param labels given
    const char *column;   //  output column name (borrowed from params)
    bool tie_first;       //  tie: first
    double min_confidence;
    int *vote;                   //  per function, this row: label index or -1
    uint64_t *tally;             //  per label, this row
    uint64_t counts [LABEL_MAX]; //  rows per winning label
    uint64_t abstained, low_confidence, rows;
    char *fold; //  a field folded to lower case
    size_t fold_cap;
    char *names; //  this row's voting function names
    size_t names_cap;
} s_label_t;

static int s_fail (s_label_t *self, size_t index, const char *format, ...) FED_PRINTF (3, 4);

//  Fails the task "bad_params", naming the function by its index.
static int
s_fail (s_label_t *self, size_t index, const char *format, ...)
{
    char what [400];
    va_list args;
    va_start (args, format);
    vsnprintf (what, sizeof what, format, args);
    va_end (args);
    return fed_task_fail (self->task, "bad_params", "param \"functions\": item %zu: %s", index,
                          what);
}

static bool
s_name_ok (const char *name, uint32_t len)
{
    if (len == 0 || len > 64)
        return false;
    for (uint32_t i = 0; i < len; i++)
        if (!((name [i] >= 'a' && name [i] <= 'z') || (name [i] >= 'A' && name [i] <= 'Z')
              || (name [i] >= '0' && name [i] <= '9') || name [i] == '_' || name [i] == '-'
              || name [i] == '.'))
            return false;
    return true;
}

//  The index of label (len bytes), adding it when labels were not declared.
//  Returns 0, or -1 having failed the task.
static int
s_label_index (s_label_t *self, size_t item, const char *label, uint32_t len, size_t *index)
{
    char *copy = fed_strndup (label, len);
    int rc = 0;
    for (*index = 0; *index < self->label_count; (*index)++)
        if (!strcmp (self->labels [*index], copy))
            goto done;
    if (len == 0 || memchr (label, 0, len) || !strcmp (copy, "abstain"))
        rc = s_fail (self, item, "label '%.100s' is empty or reserved (abstain)", copy);
    else if (self->labels_declared) {
        const char *near =
            fed_nearest_word (copy, (const char *const *) self->labels, self->label_count);
        char hint [160] = "";
        if (near)
            snprintf (hint, sizeof hint, "; did you mean '%.100s'?", near);
        rc = s_fail (self, item, "label '%.100s' is not in param \"labels\"%s", copy, hint);
    } else if (self->label_count == LABEL_MAX)
        rc = s_fail (self, item, "more than 256 labels");
    else
        self->labels [self->label_count++] = fed_strdup (copy);
done:
    free (copy);
    return rc;
}

static int
s_parse_keywords (s_label_t *self, size_t item, s_lf_t *lf, fed_mpr_t *r)
{
    uint32_t count = 1;
    bool list = fed_mpr_peek (r) == FED_MP_ARRAY;
    if (list && (fed_mpr_array (r, &count) || count == 0 || count > KEYWORD_MAX))
        return s_fail (self, item, "\"keyword\" must be a string or a list of 1 to 256");
    lf->keywords = (char **) fed_calloc (count, sizeof (char *));
    lf->keyword_len = (size_t *) fed_calloc (count, sizeof (size_t));
    for (uint32_t i = 0; i < count; i++) {
        const char *word;
        uint32_t len;
        if (fed_mpr_str (r, &word, &len) || len == 0)
            return s_fail (self, item, "a keyword must be a non-empty string");
        lf->keywords [i] = fed_strndup (word, len);
        lf->keyword_len [i] = len;
        lf->keyword_count++;
    }
    return 0;
}

//  Reads one function map. Returns 0, or -1 having failed the task.
static int
s_parse_lf (s_label_t *self, size_t item, s_lf_t *lf, fed_mpr_t *r)
{
    static const char *const keys [] = {"name", "label", "keyword", "regex", "column", "case",
                                        "gt",   "ge",    "lt",      "le",    "eq"};
    uint32_t count;
    if (fed_mpr_map (r, &count))
        return s_fail (self, item, "must be a map");
    const char *label = NULL, *column = NULL, *regex = NULL;
    uint32_t label_len = 0, column_len = 0, regex_len = 0;
    int tests = 0;
    bool case_given = false;
    lf->case_sensitive = false;
    for (uint32_t i = 0; i < count; i++) {
        const char *key, *text;
        uint32_t len, text_len;
        if (fed_mpr_str (r, &key, &len))
            return s_fail (self, item, "keys must be strings");
        char *name = fed_strndup (key, len);
        size_t k = 0;
        while (k < sizeof keys / sizeof keys [0] && strcmp (keys [k], name))
            k++;
        int rc = 0;
        if (k == sizeof keys / sizeof keys [0]) {
            const char *near = fed_nearest_word (name, keys, sizeof keys / sizeof keys [0]);
            rc = s_fail (self, item, "unknown key '%.100s'%s%s%s", name,
                         near ? "; did you mean '" : "", near ? near : "", near ? "'?" : "");
        } else if (k == 5) {
            case_given = true;
            if (fed_mpr_bool (r, &lf->case_sensitive))
                rc = s_fail (self, item, "\"%s\" must be true or false", name);
        } else if (k == 2) {
            lf->kind = LF_KEYWORD;
            tests++;
            rc = s_parse_keywords (self, item, lf, r);
        } else if (k >= 6) {
            lf->kind = LF_COMPARE;
            lf->op = (s_op_t) (k - 6);
            tests++;
            if (fed_mpr_double (r, &lf->number) || !isfinite (lf->number))
                rc = s_fail (self, item, "\"%s\" must be a number", name);
        } else if (fed_mpr_str (r, &text, &text_len) || memchr (text, 0, text_len))
            rc = s_fail (self, item, "\"%s\" must be a string", name);
        else if (k == 0) {
            if (!s_name_ok (text, text_len))
                rc = s_fail (self, item, "\"name\" must be 1 to 64 of [A-Za-z0-9_.-]");
            else
                lf->name = fed_strndup (text, text_len);
        } else if (k == 1)
            label = text, label_len = text_len;
        else if (k == 3) {
            lf->kind = LF_REGEX;
            tests++;
            regex = text, regex_len = text_len;
        } else
            column = text, column_len = text_len;
        free (name);
        if (rc)
            return -1;
    }
    if (!lf->name || !label || !column)
        return s_fail (self, item, "needs \"name\", \"label\" and \"column\"");
    if (tests != 1)
        return s_fail (self, item, "needs exactly one of \"keyword\", \"regex\", gt/ge/lt/le/eq");
    for (size_t i = 0; i < item; i++)
        if (!strcmp (self->lfs [i].name, lf->name))
            return s_fail (self, item, "name '%s' is used twice", lf->name);
    if (s_label_index (self, item, label, label_len, &lf->label))
        return -1;
    char where [64];
    snprintf (where, sizeof where, "param \"functions\": item %zu", item);
    if (fed_data_column_find (self->task, self->reader, where, column, column_len, &lf->column))
        return -1;
    if (lf->kind == LF_REGEX) {
        char *pattern = fed_strndup (regex, regex_len);
        if (!case_given)
            lf->case_sensitive = true;
        int flags = REG_EXTENDED | REG_NOSUB | (lf->case_sensitive ? 0 : REG_ICASE);
        int rc = regcomp (&lf->regex, pattern, flags);
        if (rc) {
            char why [256];
            regerror (rc, &lf->regex, why, sizeof why);
            s_fail (self, item, "regex '%.100s' does not compile: %s", pattern, why);
            free (pattern);
            return -1;
        }
        lf->compiled = true;
        free (pattern);
    }
    if (lf->kind == LF_KEYWORD && !lf->case_sensitive)
        for (size_t i = 0; i < lf->keyword_count; i++)
            for (char *p = lf->keywords [i]; *p; p++)
                if (*p >= 'A' && *p <= 'Z')
                    *p = (char) (*p - 'A' + 'a');
    return 0;
}

static int
s_parse (s_label_t *self)
{
    static const char *const known [] = {
        "input", "functions",      "labels",      "column",
        "tie",   "min_confidence", "max_rejects", "max_reject_ratio"};
    if (fed_data_check_params (self->task, known, sizeof known / sizeof known [0]))
        return -1;
    fed_mpr_t r;
    uint32_t count;
    if (fed_task_has (self->task, "labels")) {
        if (fed_task_require_array (self->task, "labels", &r, &count))
            return -1;
        if (count == 0 || count > LABEL_MAX)
            return fed_task_fail (self->task, "bad_params", "param \"labels\" must list 1 to 256");
        for (uint32_t i = 0; i < count; i++) {
            const char *label;
            uint32_t len;
            if (fed_mpr_str (&r, &label, &len) || len == 0 || memchr (label, 0, len)
                || fed_data_key_is (label, len, "abstain"))
                return fed_task_fail (self->task, "bad_params",
                                      "param \"labels\": item %u must be a non-empty string "
                                      "other than abstain",
                                      i);
            for (size_t k = 0; k < self->label_count; k++)
                if (fed_data_key_is (label, len, self->labels [k]))
                    return fed_task_fail (self->task, "bad_params",
                                          "param \"labels\": '%s' is there twice",
                                          self->labels [k]);
            self->labels [self->label_count++] = fed_strndup (label, len);
        }
        self->labels_declared = true;
    }
    self->column = "label";
    if (fed_task_has (self->task, "column")
        && (fed_task_require_str (self->task, "column", &self->column)))
        return -1;
    if (!*self->column)
        return fed_task_fail (self->task, "bad_params", "param \"column\" must not be empty");
    const char *tie = "abstain";
    if (fed_task_has (self->task, "tie") && fed_task_require_str (self->task, "tie", &tie))
        return -1;
    if (strcmp (tie, "abstain") && strcmp (tie, "first"))
        return fed_task_fail (self->task, "bad_params", "param \"tie\" must be abstain or first");
    self->tie_first = !strcmp (tie, "first");
    self->min_confidence = 0.5;
    if (fed_task_has (self->task, "min_confidence")
        && fed_task_require_double (self->task, "min_confidence", &self->min_confidence))
        return -1;
    if (!(self->min_confidence >= 0 && self->min_confidence <= 1))
        return fed_task_fail (self->task, "bad_params", "param \"min_confidence\" must be 0 to 1");
    if (fed_task_require_array (self->task, "functions", &r, &count))
        return -1;
    if (count == 0 || count > LF_MAX)
        return fed_task_fail (self->task, "bad_params", "param \"functions\" must list 1 to 256");
    for (uint32_t i = 0; i < count; i++) {
        self->lf_count++;
        if (s_parse_lf (self, i, &self->lfs [i], &r))
            return -1;
    }
    return 0;
}

//  True if the field at f holds one of lf's keywords.
static bool
s_keyword (s_label_t *self, const s_lf_t *lf, const fed_field_t *f)
{
    const char *text = f->ptr;
    if (!lf->case_sensitive) {
        if (f->len + 1 > self->fold_cap) {
            self->fold_cap = f->len + 1;
            self->fold = (char *) fed_realloc (self->fold, self->fold_cap);
        }
        for (size_t i = 0; i < f->len; i++)
            self->fold [i] = f->ptr [i] >= 'A' && f->ptr [i] <= 'Z'
                ? (char) (f->ptr [i] - 'A' + 'a')
                : f->ptr [i];
        text = self->fold;
    }
    for (size_t i = 0; i < lf->keyword_count; i++)
        if (memmem (text, f->len, lf->keywords [i], lf->keyword_len [i]))
            return true;
    return false;
}

static bool
s_compare (const s_lf_t *lf, const fed_field_t *f)
{
    fed_table_type_t type = fed_table_infer (f->ptr, f->len);
    if (type != FED_TYPE_INT && type != FED_TYPE_FLOAT)
        return false;
    double v = strtod (f->ptr, NULL);
    if (!isfinite (v))
        return false;
    switch (lf->op) {
        case OP_GT: return v > lf->number;
        case OP_GE: return v >= lf->number;
        case OP_LT: return v < lf->number;
        case OP_LE: return v <= lf->number;
        case OP_EQ: return v == lf->number;
    }
    return false;
}

static bool
s_votes (s_label_t *self, const s_lf_t *lf, const fed_field_t *fields)
{
    const fed_field_t *f = &fields [lf->column];
    if (lf->kind == LF_KEYWORD)
        return s_keyword (self, lf, f);
    if (lf->kind == LF_REGEX)
        return regexec (&lf->regex, f->ptr, 0, NULL, 0) == 0;
    return s_compare (lf, f);
}

static void
s_names_add (s_label_t *self, size_t *len, const char *name, const char *label)
{
    size_t need = *len + strlen (name) + (label ? strlen (label) + 1 : 0) + 2;
    if (need > self->names_cap) {
        self->names_cap = need * 2;
        self->names = (char *) fed_realloc (self->names, self->names_cap);
    }
    *len += (size_t) snprintf (self->names + *len, self->names_cap - *len, "%s%s%s%s",
                               *len ? " " : "", name, label ? "=" : "", label ? label : "");
}

//  Labels one row: returns the winning label's index or -1 (abstain),
//  *confidence set.
static int
s_decide (s_label_t *self, const fed_field_t *fields, double *confidence)
{
    memset (self->tally, 0, self->label_count * sizeof (uint64_t));
    uint64_t voters = 0;
    for (size_t i = 0; i < self->lf_count; i++) {
        s_lf_t *lf = &self->lfs [i];
        self->vote [i] = s_votes (self, lf, fields) ? (int) lf->label : -1;
        if (self->vote [i] >= 0) {
            self->tally [lf->label]++;
            voters++;
        }
    }
    for (size_t i = 0; i < self->lf_count; i++)
        if (self->vote [i] >= 0) {
            s_lf_t *lf = &self->lfs [i];
            lf->votes++;
            lf->overlaps += voters > 1;
            lf->conflicts += voters > self->tally [lf->label];
        }
    *confidence = 0;
    uint64_t best = 0;
    size_t ties = 0;
    int winner = -1;
    for (size_t l = 0; l < self->label_count; l++)
        if (self->tally [l] > best) {
            best = self->tally [l];
            winner = (int) l;
            ties = 1;
        } else if (best && self->tally [l] == best)
            ties++;
    if (ties > 1) {
        winner = -1;
        //  tie: first takes the label of the first function that voted
        //  one of the tied labels.
        for (size_t i = 0; self->tie_first && i < self->lf_count && winner < 0; i++)
            if (self->vote [i] >= 0 && self->tally [self->vote [i]] == best)
                winner = self->vote [i];
    }
    if (winner >= 0)
        *confidence = (double) best / (double) voters;
    return winner;
}

static void
s_run_free (s_label_t *self)
{
    for (size_t i = 0; i < self->lf_count; i++) {
        s_lf_t *lf = &self->lfs [i];
        free (lf->name);
        for (size_t k = 0; k < lf->keyword_count; k++)
            free (lf->keywords [k]);
        free (lf->keywords);
        free (lf->keyword_len);
        if (lf->compiled)
            regfree (&lf->regex);
    }
    for (size_t i = 0; i < self->label_count; i++)
        free (self->labels [i]);
    fed_data_reader_close (&self->reader);
    free (self->vote);
    free (self->tally);
    free (self->fold);
    free (self->names);
}

//  Packs {label: count, ..., abstain: n}.
static void
s_pack_distribution (s_label_t *self, msgpack_packer *pk)
{
    msgpack_pack_map (pk, self->label_count + 1);
    for (size_t l = 0; l < self->label_count; l++) {
        fed_data_pack_str (pk, self->labels [l]);
        msgpack_pack_uint64 (pk, self->counts [l]);
    }
    fed_data_pack_str (pk, "abstain");
    msgpack_pack_uint64 (pk, self->abstained);
}

static double
s_fraction (uint64_t part, uint64_t whole)
{
    return whole ? (double) part / (double) whole : 0.0;
}

//  Largest count over the smallest non-zero one, among the labels, rounded
//  to 3 decimals (2.667: a ratio people read); 0 when no row got a label.
static double
s_imbalance (const s_label_t *self)
{
    uint64_t most = 0, least = 0;
    for (size_t l = 0; l < self->label_count; l++) {
        uint64_t c = self->counts [l];
        most = c > most ? c : most;
        if (c && (!least || c < least))
            least = c;
    }
    return least ? round ((double) most / (double) least * 1000.0) / 1000.0 : 0.0;
}

static int
s_report (s_label_t *self)
{
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 10);
    fed_data_pack_str (&pk, "rows");
    msgpack_pack_uint64 (&pk, self->rows);
    fed_data_pack_str (&pk, "counts");
    s_pack_distribution (self, &pk);
    fed_data_pack_str (&pk, "fractions");
    msgpack_pack_map (&pk, self->label_count + 1);
    for (size_t l = 0; l <= self->label_count; l++) {
        fed_data_pack_str (&pk, l < self->label_count ? self->labels [l] : "abstain");
        msgpack_pack_double (
            &pk,
            s_fraction (l < self->label_count ? self->counts [l] : self->abstained, self->rows));
    }
    fed_data_pack_str (&pk, "imbalance_ratio");
    msgpack_pack_double (&pk, s_imbalance (self));
    fed_data_pack_str (&pk, "coverage");
    msgpack_pack_double (&pk, s_fraction (self->rows - self->abstained, self->rows));
    fed_data_pack_str (&pk, "low_confidence");
    msgpack_pack_uint64 (&pk, self->low_confidence);
    fed_data_pack_str (&pk, "min_confidence");
    msgpack_pack_double (&pk, self->min_confidence);
    fed_data_pack_str (&pk, "tie");
    fed_data_pack_str (&pk, self->tie_first ? "first" : "abstain");
    fed_data_pack_str (&pk, "labels");
    msgpack_pack_array (&pk, self->label_count);
    for (size_t l = 0; l < self->label_count; l++)
        fed_data_pack_str (&pk, self->labels [l]);
    fed_data_pack_str (&pk, "functions");
    msgpack_pack_array (&pk, self->lf_count);
    for (size_t i = 0; i < self->lf_count; i++) {
        const s_lf_t *lf = &self->lfs [i];
        msgpack_pack_map (&pk, 6);
        fed_data_pack_str (&pk, "name");
        fed_data_pack_str (&pk, lf->name);
        fed_data_pack_str (&pk, "label");
        fed_data_pack_str (&pk, self->labels [lf->label]);
        fed_data_pack_str (&pk, "votes");
        msgpack_pack_uint64 (&pk, lf->votes);
        fed_data_pack_str (&pk, "coverage");
        msgpack_pack_double (&pk, s_fraction (lf->votes, self->rows));
        fed_data_pack_str (&pk, "overlaps");
        msgpack_pack_double (&pk, s_fraction (lf->overlaps, self->rows));
        fed_data_pack_str (&pk, "conflicts");
        msgpack_pack_double (&pk, s_fraction (lf->conflicts, self->rows));
    }
    int rc = fed_data_write_json (self->task, "report.json", buffer.data, buffer.size, "report");
    msgpack_sbuffer_destroy (&buffer);
    if (rc)
        return -1;
    msgpack_sbuffer_init (&buffer);
    s_pack_distribution (self, &pk);
    if (fed_task_output_raw (self->task, "distribution", buffer.data, buffer.size))
        fed_task_output_nil (self->task, "distribution");
    msgpack_sbuffer_destroy (&buffer);
    fed_task_output_double (self->task, "imbalance_ratio", s_imbalance (self));
    fed_task_output_double (self->task, "coverage",
                            s_fraction (self->rows - self->abstained, self->rows));
    fed_task_output_int (self->task, "low_confidence", (int64_t) self->low_confidence);
    return 0;
}

//  Writes one good row to data.csv, and to review.csv when it is not settled.
static int
s_row (s_label_t *self, const fed_field_t *fields, size_t width, fed_field_t *out,
       fed_data_writer_t *data, fed_data_writer_t *review)
{
    double confidence;
    int winner = s_decide (self, fields, &confidence);
    self->rows++;
    if (winner >= 0)
        self->counts [winner]++;
    else
        self->abstained++;
    char conf_text [32], row_text [24];
    snprintf (conf_text, sizeof conf_text, "%.3g", confidence);
    size_t len = 0;
    self->names [0] = '\0';
    for (size_t i = 0; i < self->lf_count; i++)
        if (self->vote [i] >= 0)
            s_names_add (self, &len, self->lfs [i].name, NULL);
    const char *label = winner >= 0 ? self->labels [winner] : "";
    memcpy (out, fields, width * sizeof (fed_field_t));
    out [width] = (fed_field_t){label, strlen (label), FED_CELL_TEXT};
    out [width + 1] = (fed_field_t){conf_text, strlen (conf_text), FED_CELL_TEXT};
    out [width + 2] = (fed_field_t){self->names, len, FED_CELL_TEXT};
    if (fed_data_writer_row (data, out))
        return -1;
    if (winner >= 0 && confidence >= self->min_confidence)
        return 0;
    //  review.csv: row (its number in data.csv), the row, its label and
    //  confidence, and the votes as name=label.
    self->low_confidence++;
    snprintf (row_text, sizeof row_text, "%llu", (unsigned long long) self->rows);
    len = 0;
    for (size_t i = 0; i < self->lf_count; i++)
        if (self->vote [i] >= 0)
            s_names_add (self, &len, self->lfs [i].name, self->labels [self->vote [i]]);
    memmove (out + 1, out, (width + 2) * sizeof (fed_field_t));
    out [0] = (fed_field_t){row_text, strlen (row_text), FED_CELL_TEXT};
    out [width + 3] = (fed_field_t){self->names, len, FED_CELL_TEXT};
    return fed_data_writer_row (review, out);
}

//  The data and review columns. Returns 0, or -1 having failed the task.
static int
s_columns (s_label_t *self, char **names, fed_field_t *data_cols, fed_field_t *review_cols)
{
    size_t width;
    const fed_field_t *columns = fed_data_reader_columns (self->reader, &width);
    names [0] = fed_strdup (self->column);
    names [1] = fed_sprintf ("%s_confidence", self->column);
    names [2] = fed_sprintf ("%s_votes", self->column);
    for (size_t k = 0; k < 3; k++)
        if (fed_data_reader_column (self->reader, names [k]) >= 0)
            return fed_task_fail (self->task, "bad_params",
                                  "param \"column\": '%.100s' is already a column; choose "
                                  "another name",
                                  names [k]);
    memcpy (data_cols, columns, width * sizeof (fed_field_t));
    for (size_t k = 0; k < 3; k++)
        data_cols [width + k] = (fed_field_t){names [k], strlen (names [k]), FED_CELL_TEXT};
    review_cols [0] = (fed_field_t){"row", 3, FED_CELL_TEXT};
    memcpy (review_cols + 1, data_cols, (width + 2) * sizeof (fed_field_t));
    review_cols [width + 3] = (fed_field_t){"votes", 5, FED_CELL_TEXT};
    return 0;
}

int
fed_data_label_run (fed_task_t *task)
{
    s_label_t self;
    memset (&self, 0, sizeof self);
    self.task = task;
    fed_data_writer_t *data = NULL, *review = NULL;
    fed_data_rejects_t *rejects = NULL;
    fed_field_t *data_cols = NULL, *review_cols = NULL, *out = NULL;
    char *names [3] = {NULL, NULL, NULL};
    char path [PATH_MAX];
    if (fed_data_input_path (task, "input", path))
        goto err;
    self.reader = fed_data_reader_open (task, path, NULL);
    if (!self.reader)
        goto err;
    size_t width;
    fed_data_reader_columns (self.reader, &width);
    //  Empty input has no columns to check the functions against.
    if (width == 0 && fed_task_has (task, "functions")) {
        if (fed_task_param_type (task, "functions") != FED_MP_ARRAY) {
            fed_task_fail (task, "bad_params", "param \"functions\" must be a list");
            goto err;
        }
    } else if (s_parse (&self))
        goto err;
    self.names_cap = 256;
    self.names = (char *) fed_malloc (self.names_cap);
    self.vote = (int *) fed_calloc (self.lf_count + 1, sizeof (int));
    self.tally = (uint64_t *) fed_calloc (self.label_count + 1, sizeof (uint64_t));
    data_cols = (fed_field_t *) fed_calloc (width + 3, sizeof (fed_field_t));
    review_cols = (fed_field_t *) fed_calloc (width + 4, sizeof (fed_field_t));
    out = (fed_field_t *) fed_calloc (width + 4, sizeof (fed_field_t));
    if (width && s_columns (&self, names, data_cols, review_cols))
        goto err;
    data = fed_data_writer_open (task, "data.csv", data_cols, width ? width + 3 : 0);
    review =
        data ? fed_data_writer_open (task, "review.csv", review_cols, width ? width + 4 : 0) : NULL;
    rejects = review ? fed_data_rejects_open (task, "rejects.csv") : NULL;
    if (!rejects)
        goto err;
    const fed_field_t *fields;
    int rc;
    while ((rc = fed_data_reader_next (self.reader, &fields)) != 0) {
        if (rc == -1 || (rc == -2 && fed_data_rejects_malformed (rejects, self.reader))
            || (rc == 1 && s_row (&self, fields, width, out, data, review)))
            goto err;
    }
    if (fed_data_writer_close (&data, task, "data")
        || fed_data_writer_close (&review, task, "review")
        || fed_data_rejects_close (&rejects, task, self.rows, "rejects") || s_report (&self))
        goto err;
    fed_data_output_columns (task, "columns", data_cols, width ? width + 3 : 0);
    fed_data_output_params (task, "params");
    for (size_t k = 0; k < 3; k++)
        free (names [k]);
    free (data_cols);
    free (review_cols);
    free (out);
    s_run_free (&self);
    return 0;
err:
    fed_data_writer_abort (&data);
    fed_data_writer_abort (&review);
    if (rejects) {
        int ignored = fed_data_rejects_close (&rejects, task, 0, NULL); //  the task has failed
        (void) ignored;
    }
    for (size_t k = 0; k < 3; k++)
        free (names [k]);
    free (data_cols);
    free (review_cols);
    free (out);
    s_run_free (&self);
    return -1;
}
