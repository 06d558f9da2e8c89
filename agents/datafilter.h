/*  agents/datafilter.h: the `filter` param of a data agent: keep the rows
    whose numeric column lies in a range.

        filter: {column: label_confidence, min: 0.6}
        filter: {column: amount, min: "0", max: 500}

    min and max (either or both) are numbers, or texts that read as numbers
    so a person's choice in a HITL step (${steps.review.output.value}, a
    string) can set them. A row is kept when its value is a number (strtod,
    the whole field) with min <= value <= max; an empty or non-numeric
    value is filtered out. Used by data.export to drop the labels a
    reviewer judged too doubtful.
*/
#ifndef FED_DATAFILTER_H_INCLUDED
#define FED_DATAFILTER_H_INCLUDED

#include "dataio.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    bool given;        //  the param was there
    char column [256]; //  its column's name
    size_t index;      //  that column's index, once resolved
    double min, max;   //  -inf and +inf when not given
} fed_data_filter_t;

//  Reads param (absent: given stays false, returns 0). Returns 0, or -1
//  having failed the task "bad_params" naming the key at fault.
int fed_data_filter_parse (fed_task_t *task, const char *param,
                           fed_data_filter_t *filter) FED_MUST_USE;

//  Finds the filter's column among reader's. Returns 0 (also when not
//  given), or -1 having failed the task "bad_params" naming the nearest
//  column.
int fed_data_filter_resolve (fed_task_t *task, const char *param, fed_data_filter_t *filter,
                             fed_data_reader_t *reader) FED_MUST_USE;

//  True if the row (the reader's columns) passes, or the filter is not given.
bool fed_data_filter_keeps (const fed_data_filter_t *filter, const fed_field_t *fields);

#ifdef __cplusplus
}
#endif
#endif
