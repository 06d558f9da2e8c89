/*  tests/unit/test_table.c: the CSV and JSONL readers return exactly the
    records a text holds (RFC 4180's examples, quotes, line breaks, BOM),
    refuse each malformed row with its line, offset and reason and carry on
    with the next, stay within their limits on a field far bigger than the
    read buffer, and read back what the writers wrote; type inference
    classifies and widens as pandas does.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "table.h"

//  Appends field bytes to out, line breaks shown as \n and \r.
static void
s_show (char *out, size_t cap, const fed_field_t *field)
{
    size_t n = strlen (out);
    for (size_t i = 0; i < field->len && n + 3 < cap; i++) {
        char c = field->ptr [i];
        if (c == '\n' || c == '\r') {
            out [n++] = '\\';
            out [n++] = c == '\n' ? 'n' : 'r';
        } else
            out [n++] = c;
    }
    out [n] = 0;
}

//  Reads every record of a reader into a transcript: "L1@0 a|b\n" per
//  record (JSONL: "k=v" pairs), "!L2@4 why\n" per reject, "-1\n" on a read
//  error, "$" at the end.
static char *
s_transcript (fed_table_t *reader)
{
    size_t cap = 1 << 16;
    char *out = calloc (1, cap);
    fed_record_t record;
    while (true) {
        int rc = fed_table_next (reader, &record);
        size_t n = strlen (out);
        if (rc == 0) {
            snprintf (out + n, cap - n, "$");
            break;
        }
        if (rc == -1) {
            snprintf (out + n, cap - n, "-1\n$");
            break;
        }
        if (rc == FED_MALFORMED) {
            const fed_table_reject_t *reject = fed_table_reject (reader);
            assert_true (reject->line >= 1);
            snprintf (out + n, cap - n, "!L%llu@%llu %s\n", (unsigned long long) reject->line,
                      (unsigned long long) reject->offset, reject->text);
            continue;
        }
        assert_int_equal (rc, 1);
        assert_true (record.count >= 1);
        snprintf (out + n, cap - n, "L%llu@%llu ", (unsigned long long) record.line,
                  (unsigned long long) record.offset);
        for (size_t i = 0; i < record.count; i++) {
            assert_int_equal (record.fields [i].ptr [record.fields [i].len], 0);
            if (i)
                strcat (out, "|");
            if (record.names && fed_table_columns (reader, &(size_t){0}) == NULL) {
                s_show (out, cap, &record.names [i]);
                strcat (out, "=");
            }
            s_show (out, cap, &record.fields [i]);
        }
        strcat (out, "\n");
    }
    return out;
}

//  Reads size bytes of text with the options and checks the transcript.
static void
s_expect (const char *text, size_t size, const fed_table_options_t *options, bool jsonl,
          const char *expected)
{
    //  fmemopen refuses size 0 on older C libraries.
    FILE *file = size ? fmemopen ((void *) text, size, "rb") : tmpfile ();
    assert_non_null (file);
    fed_err_t err;
    fed_table_t *reader =
        jsonl ? fed_table_new_jsonl (file, options, &err) : fed_table_new_csv (file, options, &err);
    assert_non_null (reader);
    char *got = s_transcript (reader);
    if (strcmp (got, expected) != 0)
        print_error ("reading \"%s\":\nexpected:\n%s\ngot:\n%s\n", text, expected, got);
    assert_string_equal (got, expected);
    free (got);
    fed_table_destroy (&reader);
    assert_null (reader);
    fclose (file);
}

#define CSV(text, expected) s_expect (text, sizeof text - 1, NULL, false, expected)

static void
test_rfc4180 (void **state)
{
    (void) state;
    CSV ("aaa,bbb,ccc\r\nzzz,yyy,xxx\r\n", "L1@0 aaa|bbb|ccc\nL2@13 zzz|yyy|xxx\n$");
    CSV ("aaa,bbb,ccc\r\nzzz,yyy,xxx", "L1@0 aaa|bbb|ccc\nL2@13 zzz|yyy|xxx\n$");
    CSV ("\"aaa\",\"bbb\",\"ccc\"\r\nzzz,yyy,xxx", "L1@0 aaa|bbb|ccc\nL2@19 zzz|yyy|xxx\n$");
    CSV ("\"aaa\",\"b\r\nbb\",\"ccc\"\r\nzzz,yyy,xxx",
         "L1@0 aaa|b\\r\\nbb|ccc\nL3@21 zzz|yyy|xxx\n$");
    CSV ("\"aaa\",\"b\"\"bb\",\"ccc\"\n", "L1@0 aaa|b\"bb|ccc\n$");
    CSV ("a,\"x,y\",\"\"\"\"\n", "L1@0 a|x,y|\"\n$");
    //  LF only, a bare CR, a quote inside an unquoted field kept as text.
    CSV ("a\nb\rc\r\nd", "L1@0 a\nL2@2 b\nL3@4 c\nL4@7 d\n$");
    CSV ("ab\"c,d\n", "L1@0 ab\"c|d\n$");
}

static void
test_empty (void **state)
{
    (void) state;
    CSV ("", "$");
    CSV ("\n\r\n\n", "$");
    CSV (",,\n", "L1@0 ||\n$");
    CSV ("a,,c\n,\n", "L1@0 a||c\nL2@5 |\n$");
    CSV ("\"\"\n\n\"\"", "L1@0 \nL3@4 \n$");
    CSV ("a,\n", "L1@0 a|\n$");
    CSV ("a,", "L1@0 a|\n$");
    CSV ("\n\na\n\n", "L3@2 a\n$");
}

static void
test_header (void **state)
{
    (void) state;
    fed_table_options_t options;
    fed_table_options_default (&options);
    options.header = true;
    const char *text = "field_name,field_name2\r\naaa,bbb\r\n";
    FILE *file = fmemopen ((void *) text, strlen (text), "rb");
    fed_table_t *reader = fed_table_new_csv (file, &options, NULL);
    fed_record_t record;
    size_t count = 9;
    assert_null (fed_table_columns (reader, &count));
    assert_int_equal (count, 0);
    assert_int_equal (fed_table_next (reader, &record), 1);
    const fed_field_t *columns = fed_table_columns (reader, &count);
    assert_int_equal (count, 2);
    assert_string_equal (columns [0].ptr, "field_name");
    assert_string_equal (columns [1].ptr, "field_name2");
    assert_ptr_equal (record.names, columns);
    assert_int_equal (record.line, 2);
    assert_string_equal (record.fields [1].ptr, "bbb");
    assert_int_equal (fed_table_next (reader, &record), 0);
    assert_int_equal (fed_table_rows (reader), 1);
    fed_table_destroy (&reader);
    fclose (file);

    //  Header only: no records.
    s_expect ("a,b\n", 4, &options, false, "$");
    s_expect ("a,b", 3, &options, false, "$");
    //  A malformed header: every call fails.
    text = "\"a,b\nc,d\n";
    file = fmemopen ((void *) text, strlen (text), "rb");
    reader = fed_table_new_csv (file, &options, NULL);
    assert_int_equal (fed_table_next (reader, &record), FED_MALFORMED);
    assert_int_equal (fed_table_reject (reader)->why, FED_TABLE_UNTERMINATED_QUOTE);
    assert_int_equal (fed_table_next (reader, &record), FED_MALFORMED);
    fed_table_destroy (&reader);
    fclose (file);
}

static void
test_ragged (void **state)
{
    (void) state;
    fed_table_options_t options;
    fed_table_options_default (&options);
    options.header = true;
    const char *text = "a,b\n1,2\n3\n4,5,6\n7,8\n";
    s_expect (text, strlen (text), &options, false,
              "L2@4 1|2\n"
              "!L3@8 line 3 (byte 8): field count differs from the header's at byte 10: 1 "
              "fields, the header has 2\n"
              "!L4@10 line 4 (byte 10): field count differs from the header's at byte 16: 3 "
              "fields, the header has 2\n"
              "L5@16 7|8\n$");
    options.ragged = true;
    s_expect (text, strlen (text), &options, false, "L2@4 1|2\nL3@8 3\nL4@10 4|5|6\nL5@16 7|8\n$");
}

static void
test_malformed (void **state)
{
    (void) state;
    CSV ("\"a\"b,c\nd,e\n",
         "!L1@0 line 1 (byte 0): text after a closing quote at byte 3\nL2@7 d|e\n$");
    CSV ("x\n\"abc\nd,e", "L1@0 x\n!L2@2 line 2 (byte 2): unterminated quoted field at byte 10\n$");
    //  After that reject the row is unquoted text: it ends at the line break,
    //  and a quote inside unquoted text is kept as text.
    CSV ("\"a\"b\"\nstill\",x\nnext\n",
         "!L1@0 line 1 (byte 0): text after a closing quote at byte 3\nL2@6 still\"|x\n"
         "L3@15 next\n$");
    fed_table_options_t options;
    fed_table_options_default (&options);
    options.max_fields = 3;
    const char *text = "1,2,3\n1,2,3,4\n5,6\n";
    s_expect (text, strlen (text), &options, false,
              "L1@0 1|2|3\n!L2@6 line 2 (byte 6): too many fields at byte 13\nL3@14 5|6\n$");
    fed_table_options_default (&options);
    options.max_field = 4;
    options.max_record = 6;
    text = "abcd,ef\nabcde\nabc,def,g\nab,cd\n";
    s_expect (text, strlen (text), &options, false,
              "L1@0 abcd|ef\n!L2@8 line 2 (byte 8): field over the size limit at byte 12\n"
              "!L3@14 line 3 (byte 14): record over the size limit at byte 22\nL4@24 ab|cd\n$");
    fed_err_t err;
    options.delimiter = '"';
    assert_null (fed_table_new_csv (stdin, &options, &err));
    assert_non_null (strstr (err.text, "delimiter 0x22 refused"));
}

static void
test_delimiters (void **state)
{
    (void) state;
    fed_table_options_t options;
    fed_table_options_default (&options);
    options.delimiter = ';';
    s_expect ("a;b,c;\"d;e\"\n", 12, &options, false, "L1@0 a|b,c|d;e\n$");
    options.delimiter = '\t';
    s_expect ("a\tb c\t\n", 7, &options, false, "L1@0 a|b c|\n$");
}

static void
test_utf8 (void **state)
{
    (void) state;
    CSV ("\xc3\xa9,\xe2\x82\xac,\xf0\x9f\x98\x80\n",
         "L1@0 \xc3\xa9|\xe2\x82\xac|\xf0\x9f\x98\x80\n$");
    CSV ("a,\xff\nb,c\n", "!L1@0 line 1 (byte 0): invalid UTF-8 at byte 2\nL2@4 b|c\n$");
    CSV ("ok\nx\xc0\xaf\ny\n",
         "L1@0 ok\n!L2@3 line 2 (byte 3): invalid UTF-8 at byte 4\nL3@7 y\n$");
    CSV ("\xed\xa0\x80\ny\n", "!L1@0 line 1 (byte 0): invalid UTF-8 at byte 0\nL2@4 y\n$");
    CSV ("\"\xf4\x90\x80\x80\"\ny\n", "!L1@0 line 1 (byte 0): invalid UTF-8 at byte 1\nL2@7 y\n$");
    CSV ("\xe0\x80\x80\n", "!L1@0 line 1 (byte 0): invalid UTF-8 at byte 0\n$");
    CSV ("a\xe2\x82\nb\n",
         "!L1@0 line 1 (byte 0): invalid UTF-8 at byte 1: truncated sequence\nL2@4 b\n$");
    CSV ("a\xe2\x82",
         "!L1@0 line 1 (byte 0): invalid UTF-8 at byte 1: truncated sequence at end of input\n$");
    //  A BOM at the start is skipped; elsewhere it is text.
    CSV ("\xef\xbb\xbf"
         "a,b\n\xef\xbb\xbf\n",
         "L1@3 a|b\nL2@7 \xef\xbb\xbf\n$");
    CSV ("\xef\xbb\xbf", "$");
}

//  A 1 MiB quoted field, with line breaks, in a file read through a 64-byte
//  buffer with a 1 KiB field limit: refused with its line, and the rows on
//  either side come through.
static void
test_huge_field (void **state)
{
    (void) state;
    FILE *file = tmpfile ();
    assert_non_null (file);
    fputs ("id,text\n1,short\n2,\"", file);
    for (int i = 0; i < 1024 * 1024; i++)
        fputc (i % 1000 == 999 ? '\n' : 'a' + i % 26, file);
    fputs ("\"\n3,after\n", file);
    rewind (file);
    fed_table_options_t options;
    fed_table_options_default (&options);
    options.header = true;
    options.buffer_size = 64;
    options.max_field = 1024;
    options.max_record = 2048;
    fed_table_t *reader = fed_table_new_csv (file, &options, NULL);
    char *got = s_transcript (reader);
    assert_string_equal (got,
                         "L2@8 1|short\n"
                         "!L3@16 line 3 (byte 16): field over the size limit at byte 1043\n"
                         "L1052@1048597 3|after\n$");
    free (got);
    fed_table_destroy (&reader);
    fclose (file);
}

//  Random CSV read with read buffers of several sizes gives the same
//  transcript each time: the fast paths that copy a run of plain bytes or
//  whole fields stop where the byte-by-byte machine would, at every buffer
//  boundary and limit (field size, record size, fields per record).
static void
test_buffer_sizes_agree (void **state)
{
    (void) state;
    static const char *const pieces [] = {"a", "bcdefghij", ",",    "\"",       "\n",        "\r",
                                          " ", "\xc3\xa9",  "\xff", "\xe2\x82", "0123456789"};
    uint32_t seed = 7;
    for (int round = 0; round < 400; round++) {
        char text [700] = "";
        size_t n = 0;
        while (n < 500) {
            seed = seed * 1103515245u + 12345u;
            const char *piece = pieces [(seed >> 16) % (sizeof pieces / sizeof pieces [0])];
            memcpy (text + n, piece, strlen (piece));
            n += strlen (piece);
        }
        char *first = NULL;
        static const size_t sizes [] = {65536, 7, 8, 9, 16, 64};
        for (size_t k = 0; k < sizeof sizes / sizeof sizes [0]; k++) {
            FILE *file = tmpfile ();
            fwrite (text, 1, n, file);
            rewind (file);
            fed_table_options_t options;
            fed_table_options_default (&options);
            options.ragged = true;
            options.buffer_size = sizes [k];
            options.max_field = round % 2 ? 12 : 0;
            options.max_fields = round % 3 == 1 ? 3 : 0;
            options.max_record = round % 5 == 2 ? 30 : 0;
            fed_table_t *reader = fed_table_new_csv (file, &options, NULL);
            char *got = s_transcript (reader);
            if (!first)
                first = got;
            else {
                if (strcmp (first, got))
                    fail_msg ("round %d, buffer %zu: '%s' != '%s'", round, sizes [k], got, first);
                free (got);
            }
            fed_table_destroy (&reader);
            fclose (file);
        }
        free (first);
    }
}

static void
test_read_error (void **state)
{
    (void) state;
    //  A directory opens for reading but every read fails (EISDIR).
    FILE *file = fopen ("/", "r");
    assert_non_null (file);
    fed_table_t *reader = fed_table_new_csv (file, NULL, NULL);
    fed_record_t record;
    assert_int_equal (fed_table_next (reader, &record), -1);
    assert_int_equal (fed_table_next (reader, &record), -1);
    fed_table_destroy (&reader);
    fclose (file);
}

static void
test_jsonl (void **state)
{
    (void) state;
    const char *text = "{\"a\":1,\"b\":\"x,y\"}\n"
                       "\n"
                       "not json\n"
                       "[1,2]\n"
                       "{\"a\":null,\"b\":true,\"c\":[1,{\"d\":2}],\"e\":1.5,\"f\":-7}\r\n"
                       "{}\n"
                       "{\"a\":1,\"a\":2}\n"
                       "{\"s\":\"\\u00e9\\n\"}";
    s_expect (text, strlen (text), NULL, true,
              "L1@0 a=1|b=x,y\n"
              "!L3@19 line 3 (byte 19): not a JSON object at byte 19: line 1, column 1: "
              "invalid literal, expected 'null'\n"
              "!L4@28 line 4 (byte 28): not a JSON object at byte 28: array\n"
              "L5@34 a=|b=true|c=[1,{\"d\":2}]|e=1.5|f=-7\n"
              "!L6@86 line 6 (byte 86): not a JSON object at byte 86: an empty object has no "
              "fields\n"
              "!L7@89 line 7 (byte 89): not a JSON object at byte 89: line 1, column 8: "
              "duplicate key \"a\"\n"
              "L8@103 s=\xc3\xa9\\n\n$");
    //  Kinds survive.
    text = "{\"n\":null,\"b\":false,\"x\":2,\"s\":\"2\"}";
    FILE *file = fmemopen ((void *) text, strlen (text), "rb");
    fed_table_t *reader = fed_table_new_jsonl (file, NULL, NULL);
    fed_record_t record;
    assert_int_equal (fed_table_next (reader, &record), 1);
    assert_int_equal (record.count, 4);
    assert_int_equal (record.fields [0].kind, FED_CELL_NULL);
    assert_int_equal (record.fields [1].kind, FED_CELL_BOOL);
    assert_int_equal (record.fields [2].kind, FED_CELL_NUMBER);
    assert_int_equal (record.fields [3].kind, FED_CELL_TEXT);
    assert_int_equal (fed_table_next (reader, &record), 0);
    fed_table_destroy (&reader);
    fclose (file);
    //  Limits: a long line, too many members.
    fed_table_options_t options;
    fed_table_options_default (&options);
    options.max_record = 20;
    options.max_fields = 2;
    options.buffer_size = 16;
    text = "{\"a\":\"0123456789abcdef\"}\n{\"a\":1,\"b\":2,\"c\":3}\n{\"a\":1}\n";
    s_expect (text, strlen (text), &options, true,
              "!L1@0 line 1 (byte 0): record over the size limit at byte 20\n"
              "!L2@25 line 2 (byte 25): too many fields at byte 25\n"
              "L3@45 a=1\n$");
}

//  Writes records, checks the exact text, reads it back.
static void
test_round_trip (void **state)
{
    (void) state;
    fed_field_t names [3] = {
        {"id", 2, FED_CELL_TEXT}, {"text", 4, FED_CELL_TEXT}, {"n", 1, FED_CELL_TEXT}};
    fed_field_t rows [][3] = {
        {{"1", 1, 0}, {"plain", 5, 0}, {"", 0, 0}},
        {{"2", 1, 0}, {"a,b", 3, 0}, {"say \"hi\"", 8, 0}},
        {{"3", 1, 0}, {"two\nlines\r\n", 11, 0}, {" pad ", 5, 0}},
        {{"4", 1, 0}, {"\xef\xbb\xbfx", 4, 0}, {"\t", 1, 0}},
    };
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream (&text, &size);
    fed_table_writer_t *writer = fed_table_writer_new_csv (out, 0);
    assert_int_equal (fed_table_writer_columns (writer, names, 3), 0);
    for (int i = 0; i < 4; i++) {
        fed_record_t record = {rows [i], 3, NULL, 0, 0};
        assert_int_equal (fed_table_write (writer, &record), 0);
    }
    fed_field_t empty = {"", 0, 0};
    fed_record_t lone = {&empty, 1, NULL, 0, 0};
    assert_int_equal (fed_table_write (writer, &lone), 0);
    lone.count = 0;
    assert_int_equal (fed_table_write (writer, &lone), -1);
    fed_table_writer_destroy (&writer);
    assert_null (writer);
    fclose (out);
    assert_string_equal (text,
                         "id,text,n\n"
                         "1,plain,\n"
                         "2,\"a,b\",\"say \"\"hi\"\"\"\n"
                         "3,\"two\nlines\r\n\",\" pad \"\n"
                         "4,\"\xef\xbb\xbfx\",\"\t\"\n"
                         "\"\"\n");
    fed_table_options_t options;
    fed_table_options_default (&options);
    options.header = true;
    options.ragged = true;
    FILE *in = fmemopen (text, size, "rb");
    fed_table_t *reader = fed_table_new_csv (in, &options, NULL);
    fed_record_t record;
    for (int i = 0; i < 4; i++) {
        assert_int_equal (fed_table_next (reader, &record), 1);
        assert_int_equal (record.count, 3);
        for (int k = 0; k < 3; k++) {
            assert_int_equal (record.fields [k].len, rows [i][k].len);
            assert_memory_equal (record.fields [k].ptr, rows [i][k].ptr, rows [i][k].len);
        }
    }
    assert_int_equal (fed_table_next (reader, &record), 1);
    assert_int_equal (record.count, 1);
    assert_int_equal (record.fields [0].len, 0);
    assert_int_equal (fed_table_next (reader, &record), 0);
    fed_table_destroy (&reader);
    fclose (in);

    //  JSONL: keys from the writer's columns, kinds kept.
    free (text);
    out = open_memstream (&text, &size);
    writer = fed_table_writer_new_jsonl (out);
    fed_record_t record2 = {rows [2], 3, NULL, 0, 0};
    assert_int_equal (fed_table_write (writer, &record2), -1); //  no keys
    assert_int_equal (fed_table_writer_columns (writer, names, 3), 0);
    assert_int_equal (fed_table_write (writer, &record2), 0);
    fed_field_t typed [3] = {
        {"12", 2, FED_CELL_NUMBER}, {"\x01\"\\", 3, FED_CELL_TEXT}, {"", 0, FED_CELL_NULL}};
    fed_record_t record3 = {typed, 3, NULL, 0, 0};
    assert_int_equal (fed_table_write (writer, &record3), 0);
    fed_table_writer_destroy (&writer);
    fclose (out);
    assert_string_equal (text,
                         "{\"id\":\"3\",\"text\":\"two\\nlines\\r\\n\",\"n\":\" pad \"}\n"
                         "{\"id\":12,\"text\":\"\\u0001\\\"\\\\\",\"n\":null}\n");
    in = fmemopen (text, size, "rb");
    reader = fed_table_new_jsonl (in, NULL, NULL);
    assert_int_equal (fed_table_next (reader, &record), 1);
    for (int k = 0; k < 3; k++) {
        assert_int_equal (record.fields [k].len, rows [2][k].len);
        assert_memory_equal (record.fields [k].ptr, rows [2][k].ptr, rows [2][k].len);
        assert_string_equal (record.names [k].ptr, names [k].ptr);
    }
    assert_int_equal (fed_table_next (reader, &record), 1);
    for (int k = 0; k < 3; k++) {
        assert_int_equal (record.fields [k].kind, typed [k].kind);
        assert_int_equal (record.fields [k].len, typed [k].len);
        assert_memory_equal (record.fields [k].ptr, typed [k].ptr, typed [k].len);
    }
    assert_int_equal (fed_table_next (reader, &record), 0);
    fed_table_destroy (&reader);
    fclose (in);
    free (text);
    assert_null (fed_table_writer_new_csv (stdout, '\n'));
}

static void
test_infer (void **state)
{
    (void) state;
    static const struct {
        const char *text;
        fed_table_type_t type;
    } cases [] = {
        {"", FED_TYPE_EMPTY},
        {"1", FED_TYPE_INT},
        {"-2", FED_TYPE_INT},
        {"+7", FED_TYPE_INT},
        {"007", FED_TYPE_INT},
        {"9223372036854775807", FED_TYPE_INT},
        {"-9223372036854775808", FED_TYPE_INT},
        {"9223372036854775808", FED_TYPE_FLOAT},
        {"123456789012345678901234567890", FED_TYPE_FLOAT},
        {"3.5", FED_TYPE_FLOAT},
        {"1e3", FED_TYPE_FLOAT},
        {"-1.5E-7", FED_TYPE_FLOAT},
        {".5", FED_TYPE_FLOAT},
        {"1.", FED_TYPE_FLOAT},
        {"NaN", FED_TYPE_FLOAT},
        {"-inf", FED_TYPE_FLOAT},
        {"Infinity", FED_TYPE_FLOAT},
        {"true", FED_TYPE_BOOL},
        {"False", FED_TYPE_BOOL},
        {"TRUE", FED_TYPE_BOOL},
        {"tRUE", FED_TYPE_STRING},
        {"yes", FED_TYPE_STRING},
        {".", FED_TYPE_STRING},
        {"-", FED_TYPE_STRING},
        {"1e", FED_TYPE_STRING},
        {"e3", FED_TYPE_STRING},
        {" 1", FED_TYPE_STRING},
        {"1 ", FED_TYPE_STRING},
        {"1,5", FED_TYPE_STRING},
        {"0x10", FED_TYPE_STRING},
        {"1.2.3", FED_TYPE_STRING},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++) {
        fed_table_type_t got = fed_table_infer (cases [i].text, strlen (cases [i].text));
        if (got != cases [i].type)
            print_error ("\"%s\": expected %s, got %s\n", cases [i].text,
                         fed_table_type_name (cases [i].type), fed_table_type_name (got));
        assert_int_equal (got, cases [i].type);
    }
    static const struct {
        const char *values [4];
        fed_table_type_t type;
    } columns [] = {
        {{"", "", NULL}, FED_TYPE_EMPTY},          {{"1", "", "2", NULL}, FED_TYPE_INT},
        {{"1", "2.5", "3", NULL}, FED_TYPE_FLOAT}, {{"2.5", "1", NULL}, FED_TYPE_FLOAT},
        {{"1", "2.5", "x", "4"}, FED_TYPE_STRING}, {{"true", "", "false", NULL}, FED_TYPE_BOOL},
        {{"true", "1", NULL}, FED_TYPE_STRING},    {{"1.5", "false", NULL}, FED_TYPE_STRING},
    };
    for (size_t i = 0; i < sizeof columns / sizeof columns [0]; i++) {
        fed_table_coltype_t acc;
        fed_table_coltype_init (&acc);
        uint64_t n = 0, empty = 0;
        for (int k = 0; k < 4 && columns [i].values [k]; k++, n++) {
            empty += !*columns [i].values [k];
            (void) fed_table_coltype_add (&acc, columns [i].values [k],
                                          strlen (columns [i].values [k]));
        }
        if (acc.type != columns [i].type)
            print_error ("column %zu: expected %s, got %s\n", i,
                         fed_table_type_name (columns [i].type), fed_table_type_name (acc.type));
        assert_int_equal (acc.type, columns [i].type);
        assert_int_equal (acc.values, n);
        assert_int_equal (acc.empty, empty);
    }
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_rfc4180),
        cmocka_unit_test (test_empty),
        cmocka_unit_test (test_header),
        cmocka_unit_test (test_ragged),
        cmocka_unit_test (test_malformed),
        cmocka_unit_test (test_delimiters),
        cmocka_unit_test (test_utf8),
        cmocka_unit_test (test_huge_field),
        cmocka_unit_test (test_buffer_sizes_agree),
        cmocka_unit_test (test_read_error),
        cmocka_unit_test (test_jsonl),
        cmocka_unit_test (test_round_trip),
        cmocka_unit_test (test_infer),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
