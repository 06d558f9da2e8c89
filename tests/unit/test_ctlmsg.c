/*  tests/unit/test_ctlmsg.c: the control codec (doc/protocol.md §3.2).
    A request packed by a client decodes to the same command and arguments;
    the typed getters report present, absent and wrong type apart, naming
    the argument; every malformed request is refused with the code the spec
    gives and a message, before anything reads past the frame; replies round
    trip and copy their code and message safely into small buffers.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "testutil.h"

#include "ctlmsg.h"

//  --- Helpers ----------------------------------------------------------------

typedef struct {
    msgpack_sbuffer buffer;
    msgpack_packer pk;
} packed_t;

static void
s_begin (packed_t *self)
{
    msgpack_sbuffer_init (&self->buffer);
    msgpack_packer_init (&self->pk, &self->buffer, msgpack_sbuffer_write);
}

static void
s_str (packed_t *self, const char *text)
{
    msgpack_pack_str_with_body (&self->pk, text, strlen (text));
}

//  Decodes size bytes from a heap copy of exactly that size, so the
//  sanitizer catches any read past the frame. The request borrows from the
//  copy: *copy_p must be freed after use.
static int
s_decode (const void *data, size_t size, fed_ctl_request_t *request, const char **code,
          fed_err_t *err, uint8_t **copy_p)
{
    uint8_t *copy = malloc (size ? size : 1);
    assert_non_null (copy);
    if (size)
        memcpy (copy, data, size);
    *copy_p = copy;
    err->text [0] = 0;
    return fed_ctl_request_decode (copy, size, request, code, err);
}

//  Expects data to be refused with code and a message containing needle.
static void
s_expect_refused (const void *data, size_t size, const char *code, const char *needle)
{
    fed_ctl_request_t *request = malloc (sizeof *request);
    assert_non_null (request);
    const char *got_code = NULL;
    fed_err_t err = {0, ""};
    uint8_t *copy;
    int rc = s_decode (data, size, request, &got_code, &err, &copy);
    if (rc != FED_MALFORMED) {
        print_error ("expected FED_MALFORMED (%s: %s), got %d\n", code, needle, rc);
        fail ();
    }
    assert_non_null (got_code);
    assert_string_equal (got_code, code);
    assert_true (strlen (err.text) > 0);
    if (needle)
        assert_contains (err.text, needle);
    free (copy);
    free (request);
}

static void
s_expect_refused_packed (packed_t *packed, const char *code, const char *needle)
{
    s_expect_refused (packed->buffer.data, packed->buffer.size, code, needle);
    msgpack_sbuffer_destroy (&packed->buffer);
}

//  A request carrying one argument of every type the getters read.
static void
s_pack_full (packed_t *self)
{
    s_begin (self);
    fed_ctl_request_begin (&self->pk, "events.tail", 7);
    s_str (self, "type");
    s_str (self, "user.deploy");
    s_str (self, "limit");
    msgpack_pack_uint16 (&self->pk, 500);
    s_str (self, "follow");
    msgpack_pack_true (&self->pk);
    s_str (self, "origin");
    uint8_t origin [32];
    memset (origin, 0xab, sizeof origin);
    msgpack_pack_bin_with_body (&self->pk, origin, sizeof origin);
    s_str (self, "body");
    msgpack_pack_map (&self->pk, 1);
    s_str (self, "k");
    msgpack_pack_int8 (&self->pk, -1);
    s_str (self, "blob");
    msgpack_pack_bin_with_body (&self->pk, "xyz", 3);
    s_str (self, "neg");
    msgpack_pack_int8 (&self->pk, -5);
}

//  --- Requests -----------------------------------------------------------------

static void
test_request_round_trip (void **state)
{
    packed_t packed;
    s_pack_full (&packed);
    fed_ctl_request_t request;
    const char *code = NULL;
    fed_err_t err = {0, ""};
    uint8_t *copy;
    int rc = s_decode (packed.buffer.data, packed.buffer.size, &request, &code, &err, &copy);
    if (rc)
        print_error ("%s\n", err.text);
    assert_int_equal (rc, 0);
    assert_string_equal (request.command, "events.tail");
    assert_int_equal (request.arg_count, 7);
    assert_int_equal (request.args [0].key_size, 4);
    assert_memory_equal (request.args [0].key, "type", 4);
    assert_false (request.args [0].used);

    const char *text;
    uint32_t text_size;
    assert_int_equal (fed_ctl_arg_str (&request, "type", 64, &text, &text_size, &err), 0);
    assert_int_equal (text_size, 11);
    assert_memory_equal (text, "user.deploy", 11);
    assert_true (request.args [0].used);

    uint64_t limit;
    assert_int_equal (fed_ctl_arg_uint (&request, "limit", 1000, &limit, &err), 0);
    assert_int_equal (limit, 500);

    bool follow = false;
    assert_int_equal (fed_ctl_arg_bool (&request, "follow", &follow, &err), 0);
    assert_true (follow);

    const uint8_t *origin;
    uint32_t origin_size;
    assert_int_equal (fed_ctl_arg_bin (&request, "origin", 32, 0, &origin, &origin_size, &err), 0);
    assert_int_equal (origin_size, 32);
    assert_int_equal (origin [0], 0xab);
    assert_int_equal (origin [31], 0xab);

    fed_blob_t body;
    assert_int_equal (fed_ctl_arg_map (&request, "body", &body, &err), 0);
    const uint8_t expected_body [] = {0x81, 0xa1, 'k', 0xff};
    assert_int_equal (body.size, sizeof expected_body);
    assert_memory_equal (body.data, expected_body, sizeof expected_body);

    //  Any-size bin under a max.
    const uint8_t *blob;
    uint32_t blob_size;
    assert_int_equal (fed_ctl_arg_bin (&request, "blob", 0, 3, &blob, &blob_size, &err), 0);
    assert_int_equal (blob_size, 3);
    assert_memory_equal (blob, "xyz", 3);

    //  "neg" is still unread: all_used names it.
    assert_int_equal (fed_ctl_args_all_used (&request, &err), -1);
    assert_contains (err.text, "'neg'");
    assert_contains (err.text, "'events.tail'");
    //  A getter that fails still marks the argument read (it was known).
    assert_int_equal (fed_ctl_arg_uint (&request, "neg", 10, &limit, &err), -1);
    assert_int_equal (fed_ctl_args_all_used (&request, &err), 0);
    free (copy);
    msgpack_sbuffer_destroy (&packed.buffer);
}

static void
test_request_no_arguments (void **state)
{
    packed_t packed;
    s_begin (&packed);
    fed_ctl_request_begin (&packed.pk, "status", 0);
    fed_ctl_request_t request;
    const char *code;
    fed_err_t err = {0, ""};
    uint8_t *copy;
    assert_int_equal (
        s_decode (packed.buffer.data, packed.buffer.size, &request, &code, &err, &copy), 0);
    assert_string_equal (request.command, "status");
    assert_int_equal (request.arg_count, 0);
    assert_int_equal (fed_ctl_args_all_used (&request, &err), 0);
    const char *text;
    uint32_t size;
    assert_int_equal (fed_ctl_arg_str (&request, "x", 10, &text, &size, &err), 1);
    free (copy);
    msgpack_sbuffer_destroy (&packed.buffer);
}

static void
test_getters_absent_and_wrong_type (void **state)
{
    packed_t packed;
    s_pack_full (&packed);
    fed_ctl_request_t request;
    const char *code;
    fed_err_t err = {0, ""};
    uint8_t *copy;
    assert_int_equal (
        s_decode (packed.buffer.data, packed.buffer.size, &request, &code, &err, &copy), 0);

    //  Absent: 1, err untouched.
    const char *text;
    uint32_t size;
    uint64_t number;
    bool flag;
    const uint8_t *bytes;
    fed_blob_t blob;
    err.text [0] = 0;
    assert_int_equal (fed_ctl_arg_str (&request, "missing", 10, &text, &size, &err), 1);
    assert_int_equal (fed_ctl_arg_uint (&request, "missing", 10, &number, &err), 1);
    assert_int_equal (fed_ctl_arg_bool (&request, "missing", &flag, &err), 1);
    assert_int_equal (fed_ctl_arg_bin (&request, "missing", 32, 0, &bytes, &size, &err), 1);
    assert_int_equal (fed_ctl_arg_map (&request, "missing", &blob, &err), 1);
    assert_string_equal (err.text, "");
    //  A prefix of a key is not the key.
    assert_int_equal (fed_ctl_arg_str (&request, "typ", 10, &text, &size, &err), 1);

    //  Wrong type: -1, err names the argument.
    assert_int_equal (fed_ctl_arg_str (&request, "limit", 10, &text, &size, &err), -1);
    assert_contains (err.text, "'limit'");
    assert_contains (err.text, "string");
    assert_int_equal (fed_ctl_arg_uint (&request, "type", 10, &number, &err), -1);
    assert_contains (err.text, "'type'");
    assert_contains (err.text, "whole number");
    assert_int_equal (fed_ctl_arg_uint (&request, "neg", UINT64_MAX, &number, &err), -1);
    assert_contains (err.text, "'neg'");
    assert_int_equal (fed_ctl_arg_bool (&request, "limit", &flag, &err), -1);
    assert_contains (err.text, "'limit'");
    assert_contains (err.text, "true or false");
    assert_int_equal (fed_ctl_arg_bin (&request, "type", 0, 100, &bytes, &size, &err), -1);
    assert_contains (err.text, "'type'");
    assert_int_equal (fed_ctl_arg_map (&request, "origin", &blob, &err), -1);
    assert_contains (err.text, "'origin'");
    assert_contains (err.text, "map");

    //  Numbers as doubles: ints and uints are numbers, ranges are inclusive,
    //  other types and out-of-range values are refused with the range.
    double real;
    assert_int_equal (fed_ctl_arg_double (&request, "missing", 0, 1, &real, &err), 1);
    assert_int_equal (fed_ctl_arg_double (&request, "limit", 0, 500, &real, &err), 0);
    assert_true (real == 500.0);
    assert_int_equal (fed_ctl_arg_double (&request, "neg", -5, 0, &real, &err), 0);
    assert_true (real == -5.0);
    assert_int_equal (fed_ctl_arg_double (&request, "neg", -4.5, 0, &real, &err), -1);
    assert_contains (err.text, "argument 'neg' must be a number within -4.5..0");
    assert_int_equal (fed_ctl_arg_double (&request, "type", -90, 90, &real, &err), -1);
    assert_contains (err.text, "'type'");

    //  Limits: a str one byte over, a uint one over, a bin not exactly the size.
    assert_int_equal (fed_ctl_arg_str (&request, "type", 10, &text, &size, &err), -1);
    assert_contains (err.text, "'type'");
    assert_contains (err.text, "at most 10");
    assert_int_equal (fed_ctl_arg_str (&request, "type", 11, &text, &size, &err), 0);
    assert_int_equal (fed_ctl_arg_uint (&request, "limit", 499, &number, &err), -1);
    assert_contains (err.text, "'limit'");
    assert_contains (err.text, "499");
    assert_int_equal (fed_ctl_arg_uint (&request, "limit", 500, &number, &err), 0);
    assert_int_equal (fed_ctl_arg_bin (&request, "origin", 31, 0, &bytes, &size, &err), -1);
    assert_contains (err.text, "exactly 31");
    assert_int_equal (fed_ctl_arg_bin (&request, "origin", 33, 0, &bytes, &size, &err), -1);
    assert_contains (err.text, "'origin'");
    assert_int_equal (fed_ctl_arg_bin (&request, "blob", 0, 2, &bytes, &size, &err), -1);
    assert_contains (err.text, "'blob'");
    assert_contains (err.text, "at most 2");
    free (copy);
    msgpack_sbuffer_destroy (&packed.buffer);
}

//  fed_ctl_arg_array: the raw bytes of an array, -1 naming the argument for
//  anything else, 1 when absent.
static void
test_arg_array (void **state)
{
    packed_t packed;
    s_begin (&packed);
    fed_ctl_request_begin (&packed.pk, "members", 3);
    s_str (&packed, "status");
    msgpack_pack_array (&packed.pk, 2);
    s_str (&packed, "alive");
    s_str (&packed, "dead");
    s_str (&packed, "empty");
    msgpack_pack_array (&packed.pk, 0);
    s_str (&packed, "tags");
    msgpack_pack_map (&packed.pk, 0);
    fed_ctl_request_t request;
    const char *code;
    fed_err_t err = {0, ""};
    uint8_t *copy;
    assert_int_equal (
        s_decode (packed.buffer.data, packed.buffer.size, &request, &code, &err, &copy), 0);
    fed_blob_t value;
    assert_int_equal (fed_ctl_arg_array (&request, "status", &value, &err), 0);
    const uint8_t expected [] = {0x92, 0xa5, 'a', 'l', 'i', 'v', 'e', 0xa4, 'd', 'e', 'a', 'd'};
    assert_int_equal (value.size, sizeof expected);
    assert_memory_equal (value.data, expected, sizeof expected);
    assert_int_equal (fed_ctl_arg_array (&request, "empty", &value, &err), 0);
    assert_int_equal (value.size, 1);
    assert_int_equal (fed_ctl_arg_array (&request, "missing", &value, &err), 1);
    assert_int_equal (fed_ctl_arg_array (&request, "tags", &value, &err), -1);
    assert_contains (err.text, "argument 'tags' must be an array");
    assert_int_equal (fed_ctl_args_all_used (&request, &err), 0);
    free (copy);
    msgpack_sbuffer_destroy (&packed.buffer);
}

static void
test_refuses_wrong_shape (void **state)
{
    packed_t p;
    //  Not an array.
    s_begin (&p);
    msgpack_pack_map (&p.pk, 0);
    s_expect_refused_packed (&p, "bad_request", "array");
    const uint8_t nothing [] = {0};
    s_expect_refused (nothing, 0, "bad_request", "array");
    //  Arrays of 2 and 4.
    s_begin (&p);
    msgpack_pack_array (&p.pk, 2);
    msgpack_pack_uint8 (&p.pk, 1);
    s_str (&p, "status");
    s_expect_refused_packed (&p, "bad_request", "array");
    s_begin (&p);
    msgpack_pack_array (&p.pk, 4);
    msgpack_pack_uint8 (&p.pk, 1);
    s_str (&p, "status");
    msgpack_pack_map (&p.pk, 0);
    msgpack_pack_nil (&p.pk);
    s_expect_refused_packed (&p, "bad_request", "array");
    //  Version 2: the version code. As a str: a bad request.
    s_begin (&p);
    msgpack_pack_array (&p.pk, 3);
    msgpack_pack_uint8 (&p.pk, 2);
    s_str (&p, "status");
    msgpack_pack_map (&p.pk, 0);
    s_expect_refused_packed (&p, "version", "version 1");
    s_begin (&p);
    msgpack_pack_array (&p.pk, 3);
    msgpack_pack_uint64 (&p.pk, UINT64_MAX);
    s_str (&p, "status");
    msgpack_pack_map (&p.pk, 0);
    s_expect_refused_packed (&p, "version", "18446744073709551615");
    s_begin (&p);
    msgpack_pack_array (&p.pk, 3);
    s_str (&p, "1");
    s_str (&p, "status");
    msgpack_pack_map (&p.pk, 0);
    s_expect_refused_packed (&p, "bad_request", "version");
    s_begin (&p);
    msgpack_pack_array (&p.pk, 3);
    msgpack_pack_int8 (&p.pk, -1);
    s_str (&p, "status");
    msgpack_pack_map (&p.pk, 0);
    s_expect_refused_packed (&p, "bad_request", "version");
}

static void
test_refuses_bad_command (void **state)
{
    packed_t p;
    //  Not a str.
    s_begin (&p);
    msgpack_pack_array (&p.pk, 3);
    msgpack_pack_uint8 (&p.pk, 1);
    msgpack_pack_bin_with_body (&p.pk, "status", 6);
    msgpack_pack_map (&p.pk, 0);
    s_expect_refused_packed (&p, "bad_request", "command");
    //  Empty.
    s_begin (&p);
    fed_ctl_request_begin (&p.pk, "", 0);
    s_expect_refused_packed (&p, "bad_request", "command");
    //  64 bytes is the limit; 65 is over it.
    char name [66];
    memset (name, 'c', sizeof name);
    name [64] = 0;
    s_begin (&p);
    fed_ctl_request_begin (&p.pk, name, 0);
    fed_ctl_request_t request;
    const char *code;
    fed_err_t err;
    uint8_t *copy;
    assert_int_equal (s_decode (p.buffer.data, p.buffer.size, &request, &code, &err, &copy), 0);
    assert_int_equal (strlen (request.command), 64);
    free (copy);
    msgpack_sbuffer_destroy (&p.buffer);
    name [64] = 'c';
    name [65] = 0;
    s_begin (&p);
    fed_ctl_request_begin (&p.pk, name, 0);
    s_expect_refused_packed (&p, "bad_request", "1..64");
    //  Containing NUL.
    s_begin (&p);
    msgpack_pack_array (&p.pk, 3);
    msgpack_pack_uint8 (&p.pk, 1);
    msgpack_pack_str_with_body (&p.pk, "sta\0tus", 7);
    msgpack_pack_map (&p.pk, 0);
    s_expect_refused_packed (&p, "bad_request", "NUL");
}

static void
test_refuses_bad_arguments (void **state)
{
    packed_t p;
    //  Args not a map.
    s_begin (&p);
    msgpack_pack_array (&p.pk, 3);
    msgpack_pack_uint8 (&p.pk, 1);
    s_str (&p, "status");
    msgpack_pack_array (&p.pk, 0);
    s_expect_refused_packed (&p, "bad_request", "map");
    s_begin (&p);
    msgpack_pack_array (&p.pk, 3);
    msgpack_pack_uint8 (&p.pk, 1);
    s_str (&p, "status");
    msgpack_pack_nil (&p.pk);
    s_expect_refused_packed (&p, "bad_request", "map");

    //  64 arguments is the limit; 65 is over it.
    for (uint32_t count = 64; count <= 65; count++) {
        s_begin (&p);
        fed_ctl_request_begin (&p.pk, "status", count);
        for (uint32_t i = 0; i < count; i++) {
            char key [8];
            snprintf (key, sizeof key, "a%u", i);
            s_str (&p, key);
            msgpack_pack_uint32 (&p.pk, i);
        }
        if (count == 64) {
            fed_ctl_request_t request;
            const char *code;
            fed_err_t err;
            uint8_t *copy;
            int rc = s_decode (p.buffer.data, p.buffer.size, &request, &code, &err, &copy);
            if (rc)
                print_error ("%s\n", err.text);
            assert_int_equal (rc, 0);
            assert_int_equal (request.arg_count, 64);
            free (copy);
            msgpack_sbuffer_destroy (&p.buffer);
        } else
            s_expect_refused_packed (&p, "bad_request", "65 arguments");
    }

    //  Duplicate key.
    s_begin (&p);
    fed_ctl_request_begin (&p.pk, "events.tail", 3);
    s_str (&p, "limit");
    msgpack_pack_uint8 (&p.pk, 1);
    s_str (&p, "type");
    s_str (&p, "x");
    s_str (&p, "limit");
    msgpack_pack_uint8 (&p.pk, 2);
    s_expect_refused_packed (&p, "bad_request", "'limit' is given twice");

    //  Non-string key.
    s_begin (&p);
    fed_ctl_request_begin (&p.pk, "events.tail", 1);
    msgpack_pack_uint8 (&p.pk, 7);
    msgpack_pack_uint8 (&p.pk, 1);
    s_expect_refused_packed (&p, "bad_request", "strings");
    s_begin (&p);
    fed_ctl_request_begin (&p.pk, "events.tail", 1);
    msgpack_pack_bin_with_body (&p.pk, "limit", 5);
    msgpack_pack_uint8 (&p.pk, 1);
    s_expect_refused_packed (&p, "bad_request", "strings");

    //  Trailing bytes.
    s_begin (&p);
    fed_ctl_request_begin (&p.pk, "status", 0);
    msgpack_pack_nil (&p.pk);
    msgpack_pack_nil (&p.pk);
    s_expect_refused_packed (&p, "bad_request", "2 trailing bytes");
}

static void
test_refuses_every_truncation (void **state)
{
    packed_t packed;
    s_pack_full (&packed);
    for (size_t size = 0; size < packed.buffer.size; size++)
        s_expect_refused (packed.buffer.data, size, "bad_request", NULL);
    msgpack_sbuffer_destroy (&packed.buffer);
}

static void
test_refuses_hostile_sizes (void **state)
{
    //  An array32 declaring 4,294,967,295 elements in five bytes.
    const uint8_t huge [] = {0xdd, 0xff, 0xff, 0xff, 0xff};
    s_expect_refused (huge, sizeof huge, "bad_request", "array");
    //  A valid head whose args map32 declares 4 billion entries.
    const uint8_t huge_map [] = {0x93, 0x01, 0xa1, 's', 0xdf, 0xff, 0xff, 0xff, 0xff};
    s_expect_refused (huge_map, sizeof huge_map, "bad_request", NULL);
    //  A str8 command claiming more bytes than the frame holds.
    const uint8_t long_str [] = {0x93, 0x01, 0xd9, 0x20, 's', 't', 0x80};
    s_expect_refused (long_str, sizeof long_str, "bad_request", "command");

    //  100,000 levels of nesting inside one argument value.
    size_t depth = 100000;
    packed_t p;
    s_begin (&p);
    fed_ctl_request_begin (&p.pk, "events.publish", 1);
    s_str (&p, "body");
    for (size_t i = 0; i < depth; i++)
        msgpack_pack_array (&p.pk, 1);
    msgpack_pack_nil (&p.pk);
    s_expect_refused_packed (&p, "bad_request", "'body'");
}

//  --- Replies --------------------------------------------------------------

static void
test_reply_ok_round_trip (void **state)
{
    packed_t p;
    s_begin (&p);
    fed_ctl_reply_ok (&p.pk);
    size_t head = p.buffer.size;
    msgpack_pack_map (&p.pk, 1);
    s_str (&p, "seq");
    msgpack_pack_uint64 (&p.pk, 1234567890123ULL);
    bool ok = false;
    fed_blob_t result;
    char code [16] = "x", message [64] = "x";
    assert_int_equal (fed_ctl_reply_decode (p.buffer.data, p.buffer.size, &ok, &result, code,
                                            sizeof code, message, sizeof message),
                      0);
    assert_true (ok);
    assert_int_equal (result.size, p.buffer.size - head);
    assert_memory_equal (result.data, p.buffer.data + head, result.size);
    assert_string_equal (code, "");
    assert_string_equal (message, "");
    msgpack_sbuffer_destroy (&p.buffer);

    //  Any value is a result, nil included.
    s_begin (&p);
    fed_ctl_reply_ok (&p.pk);
    msgpack_pack_nil (&p.pk);
    assert_int_equal (
        fed_ctl_reply_decode (p.buffer.data, p.buffer.size, &ok, &result, NULL, 0, NULL, 0), 0);
    assert_true (ok);
    assert_int_equal (result.size, 1);
    msgpack_sbuffer_destroy (&p.buffer);
}

static void
test_reply_error_round_trip (void **state)
{
    packed_t p;
    s_begin (&p);
    fed_ctl_reply_error (&p.pk, "not_found", "no event with that id; see fedctl events tail");
    bool ok = true;
    fed_blob_t result;
    char code [32], message [128];
    assert_int_equal (fed_ctl_reply_decode (p.buffer.data, p.buffer.size, &ok, &result, code,
                                            sizeof code, message, sizeof message),
                      0);
    assert_false (ok);
    assert_string_equal (code, "not_found");
    assert_string_equal (message, "no event with that id; see fedctl events tail");
    assert_true (result.size > 0);
    assert_int_equal (result.data [0], 0x82);

    //  Small buffers: truncated and terminated, never overrun.
    char small_code [4];
    char small_message [8];
    char one [1] = {'z'};
    assert_int_equal (fed_ctl_reply_decode (p.buffer.data, p.buffer.size, &ok, &result, small_code,
                                            sizeof small_code, small_message, sizeof small_message),
                      0);
    assert_string_equal (small_code, "not");
    assert_string_equal (small_message, "no even");
    assert_int_equal (
        fed_ctl_reply_decode (p.buffer.data, p.buffer.size, &ok, &result, one, sizeof one, NULL, 0),
        0);
    assert_int_equal (one [0], 0);
    msgpack_sbuffer_destroy (&p.buffer);

    //  Members in another order, an extra member, a code of another type.
    s_begin (&p);
    msgpack_pack_array (&p.pk, 3);
    msgpack_pack_uint8 (&p.pk, 1);
    msgpack_pack_false (&p.pk);
    msgpack_pack_map (&p.pk, 3);
    s_str (&p, "message");
    s_str (&p, "m");
    s_str (&p, "extra");
    msgpack_pack_array (&p.pk, 1);
    msgpack_pack_nil (&p.pk);
    s_str (&p, "code");
    msgpack_pack_uint8 (&p.pk, 9);
    assert_int_equal (fed_ctl_reply_decode (p.buffer.data, p.buffer.size, &ok, &result, code,
                                            sizeof code, message, sizeof message),
                      0);
    assert_false (ok);
    assert_string_equal (code, "?");
    assert_string_equal (message, "m");
    msgpack_sbuffer_destroy (&p.buffer);
}

static void
s_expect_bad_reply (const void *data, size_t size)
{
    uint8_t *copy = malloc (size ? size : 1);
    assert_non_null (copy);
    if (size)
        memcpy (copy, data, size);
    bool ok;
    fed_blob_t result;
    char code [16], message [16];
    int rc =
        fed_ctl_reply_decode (copy, size, &ok, &result, code, sizeof code, message, sizeof message);
    if (rc != FED_MALFORMED) {
        print_error ("reply of %zu bytes: expected FED_MALFORMED, got %d\n", size, rc);
        fail ();
    }
    free (copy);
}

static void
test_reply_malformed (void **state)
{
    packed_t p;
    //  Not an array; wrong length; version 2; ok not a bool; error not a map.
    s_begin (&p);
    msgpack_pack_map (&p.pk, 0);
    s_expect_bad_reply (p.buffer.data, p.buffer.size);
    msgpack_sbuffer_destroy (&p.buffer);
    s_begin (&p);
    msgpack_pack_array (&p.pk, 2);
    msgpack_pack_uint8 (&p.pk, 1);
    msgpack_pack_true (&p.pk);
    s_expect_bad_reply (p.buffer.data, p.buffer.size);
    msgpack_sbuffer_destroy (&p.buffer);
    s_begin (&p);
    msgpack_pack_array (&p.pk, 3);
    msgpack_pack_uint8 (&p.pk, 2);
    msgpack_pack_true (&p.pk);
    msgpack_pack_nil (&p.pk);
    s_expect_bad_reply (p.buffer.data, p.buffer.size);
    msgpack_sbuffer_destroy (&p.buffer);
    s_begin (&p);
    msgpack_pack_array (&p.pk, 3);
    msgpack_pack_uint8 (&p.pk, 1);
    msgpack_pack_uint8 (&p.pk, 1);
    msgpack_pack_nil (&p.pk);
    s_expect_bad_reply (p.buffer.data, p.buffer.size);
    msgpack_sbuffer_destroy (&p.buffer);
    s_begin (&p);
    msgpack_pack_array (&p.pk, 3);
    msgpack_pack_uint8 (&p.pk, 1);
    msgpack_pack_false (&p.pk);
    s_str (&p, "failed");
    s_expect_bad_reply (p.buffer.data, p.buffer.size);
    msgpack_sbuffer_destroy (&p.buffer);
    //  Error map with a non-string key.
    s_begin (&p);
    msgpack_pack_array (&p.pk, 3);
    msgpack_pack_uint8 (&p.pk, 1);
    msgpack_pack_false (&p.pk);
    msgpack_pack_map (&p.pk, 1);
    msgpack_pack_uint8 (&p.pk, 1);
    s_str (&p, "x");
    s_expect_bad_reply (p.buffer.data, p.buffer.size);
    msgpack_sbuffer_destroy (&p.buffer);
    //  Trailing bytes.
    s_begin (&p);
    fed_ctl_reply_ok (&p.pk);
    msgpack_pack_nil (&p.pk);
    msgpack_pack_nil (&p.pk);
    s_expect_bad_reply (p.buffer.data, p.buffer.size);
    msgpack_sbuffer_destroy (&p.buffer);
    //  Hostile sizes, and a result nested 100,000 deep.
    const uint8_t huge [] = {0xdd, 0xff, 0xff, 0xff, 0xff};
    s_expect_bad_reply (huge, sizeof huge);
    const uint8_t huge_result [] = {0x93, 0x01, 0xc3, 0xdd, 0xff, 0xff, 0xff, 0xff};
    s_expect_bad_reply (huge_result, sizeof huge_result);
    s_begin (&p);
    fed_ctl_reply_ok (&p.pk);
    for (int i = 0; i < 100000; i++)
        msgpack_pack_array (&p.pk, 1);
    msgpack_pack_nil (&p.pk);
    s_expect_bad_reply (p.buffer.data, p.buffer.size);
    msgpack_sbuffer_destroy (&p.buffer);
    //  Every truncation of a valid error reply.
    s_begin (&p);
    fed_ctl_reply_error (&p.pk, "forbidden", "viewers may not publish");
    for (size_t size = 0; size < p.buffer.size; size++)
        s_expect_bad_reply (p.buffer.data, size);
    msgpack_sbuffer_destroy (&p.buffer);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_request_round_trip),
        cmocka_unit_test (test_request_no_arguments),
        cmocka_unit_test (test_getters_absent_and_wrong_type),
        cmocka_unit_test (test_arg_array),
        cmocka_unit_test (test_refuses_wrong_shape),
        cmocka_unit_test (test_refuses_bad_command),
        cmocka_unit_test (test_refuses_bad_arguments),
        cmocka_unit_test (test_refuses_every_truncation),
        cmocka_unit_test (test_refuses_hostile_sizes),
        cmocka_unit_test (test_reply_ok_round_trip),
        cmocka_unit_test (test_reply_error_round_trip),
        cmocka_unit_test (test_reply_malformed),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
