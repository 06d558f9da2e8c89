/*  agents/datafilter.c: a numeric range filter on one column (datafilter.h).
*/
#include "datafilter.h"
#include "data_column.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

//  Reads a number, or a text holding only a number, at the reader.
static int
s_bound (fed_mpr_t *reader, double *value)
{
    fed_mp_type_t type = fed_mpr_peek (reader);
    if (type == FED_MP_STR) {
        const char *text;
        uint32_t len;
        char copy [64];
        if (fed_mpr_str (reader, &text, &len) || len == 0 || len >= sizeof copy)
            return -1;
        memcpy (copy, text, len);
        copy [len] = '\0';
        char *end;
        errno = 0;
        *value = strtod (copy, &end);
        return *end || errno || isnan (*value) ? -1 : 0;
    }
    return fed_mpr_double (reader, value);
}

int
fed_data_filter_parse (fed_task_t *task, const char *param, fed_data_filter_t *filter)
{
    memset (filter, 0, sizeof *filter);
    filter->min = -INFINITY;
    filter->max = INFINITY;
    if (!fed_task_has (task, param))
        return 0;
    fed_mpr_t reader;
    uint32_t count;
    if (fed_task_require_map (task, param, &reader, &count))
        return -1;
    bool have_column = false, have_bound = false;
    for (uint32_t i = 0; i < count; i++) {
        const char *key;
        uint32_t len;
        if (fed_mpr_str (&reader, &key, &len))
            return fed_task_fail (task, "bad_params", "param \"%s\": keys must be strings", param);
        if (len == 6 && !memcmp (key, "column", 6)) {
            const char *name;
            uint32_t name_len;
            if (fed_mpr_str (&reader, &name, &name_len) || name_len == 0
                || name_len >= sizeof filter->column || memchr (name, 0, name_len))
                return fed_task_fail (task, "bad_params",
                                      "param \"%s\": column must be a column's name", param);
            memcpy (filter->column, name, name_len);
            filter->column [name_len] = '\0';
            have_column = true;
        } else if (len == 3 && (!memcmp (key, "min", 3) || !memcmp (key, "max", 3))) {
            bool is_min = key [1] == 'i';
            if (s_bound (&reader, is_min ? &filter->min : &filter->max))
                return fed_task_fail (task, "bad_params",
                                      "param \"%s\": %s must be a number (or a text holding one)",
                                      param, is_min ? "min" : "max");
            have_bound = true;
        } else
            return fed_task_fail (task, "bad_params",
                                  "param \"%s\": unknown key '%.*s'; it takes column, min and max",
                                  param, (int) (len > 64 ? 64 : len), key);
    }
    if (!have_column || !have_bound)
        return fed_task_fail (task, "bad_params",
                              "param \"%s\" needs column and at least one of min and max", param);
    if (filter->min > filter->max)
        return fed_task_fail (task, "bad_params", "param \"%s\": min %g is over max %g", param,
                              filter->min, filter->max);
    filter->given = true;
    return 0;
}

int
fed_data_filter_resolve (fed_task_t *task, const char *param, fed_data_filter_t *filter,
                         fed_data_reader_t *reader)
{
    if (!filter->given)
        return 0;
    char where [80];
    snprintf (where, sizeof where, "param \"%.60s\"", param);
    return fed_data_column_find (task, reader, where, filter->column, strlen (filter->column),
                                 &filter->index);
}

bool
fed_data_filter_keeps (const fed_data_filter_t *filter, const fed_field_t *fields)
{
    if (!filter->given)
        return true;
    const fed_field_t *field = &fields [filter->index];
    if (field->len == 0 || field->len > 63)
        return false;
    char copy [64];
    memcpy (copy, field->ptr, field->len);
    copy [field->len] = '\0';
    char *end;
    double value = strtod (copy, &end);
    return !*end && !isnan (value) && value >= filter->min && value <= filter->max;
}
