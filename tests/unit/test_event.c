/*  tests/unit/test_event.c: events sign and decode to the same fields, the
    id is BLAKE2b-256 of the bytes, the signature covers every byte before
    it, and every malformed, truncated, oversized or hostile event is refused
    with the reason code and the field named, before anything large is
    allocated. Hostile events are hand-built with a tiny encoder here, so the
    decoder is not tested against its own encoder only.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <cmocka.h>

#include "testutil.h"
#include <sodium.h>

#include "event.h"
#include "identity.h"

#if defined(__SANITIZE_ADDRESS__)
//  Under ASan, any allocation over 64 MiB aborts the test: a decoder that
//  trusted a declared length would be caught here.
const char *__asan_default_options (void);
const char *
__asan_default_options (void)
{
    return "max_allocation_size_mb=64";
}
#endif

//  --- A tiny msgpack encoder, independent of the one under test ------------

typedef struct {
    uint8_t data [4096];
    size_t size;
} buf_t;

static void
s_raw (buf_t *b, const void *data, size_t size)
{
    assert_true (b->size + size <= sizeof b->data);
    memcpy (b->data + b->size, data, size);
    b->size += size;
}

static void
s_byte (buf_t *b, uint8_t byte)
{
    s_raw (b, &byte, 1);
}

static void
s_uint (buf_t *b, uint64_t value)
{
    if (value < 128)
        s_byte (b, (uint8_t) value);
    else {
        s_byte (b, 0xcf);
        for (int i = 7; i >= 0; i--)
            s_byte (b, (uint8_t) (value >> (8 * i)));
    }
}

static void
s_str (buf_t *b, const char *text)
{
    size_t size = strlen (text);
    if (size < 32)
        s_byte (b, (uint8_t) (0xa0 | size));
    else {
        s_byte (b, 0xd9);
        s_byte (b, (uint8_t) size);
    }
    s_raw (b, text, size);
}

//  bin of size bytes of fill, in the 8-bit (wide = false) or 16-bit form.
static void
s_bin (buf_t *b, uint8_t fill, size_t size, bool wide)
{
    if (wide) {
        s_byte (b, 0xc5);
        s_byte (b, (uint8_t) (size >> 8));
    } else
        s_byte (b, 0xc4);
    s_byte (b, (uint8_t) size);
    for (size_t i = 0; i < size; i++)
        s_byte (b, fill);
}

//  The fields of an event, each encoded on its own so a test can replace one.
enum { F_HEAD, F_V, F_ORIGIN, F_SEQ, F_PREV, F_HLC, F_TYPE, F_BODY, F_SIG, F_TAIL, F_COUNT };

typedef struct {
    buf_t part [F_COUNT];
    bool auto_sig; //  sign everything before F_SIG with the key
} parts_t;

//  A valid event of origin key: seq 1, hlc 1000, type "user.deploy", body {"n": 7}.
static void
s_parts (parts_t *p, const fed_identity_t *key)
{
    memset (p, 0, sizeof *p);
    s_byte (&p->part [F_HEAD], 0x98);
    s_uint (&p->part [F_V], 1);
    s_byte (&p->part [F_ORIGIN], 0xc4);
    s_byte (&p->part [F_ORIGIN], 32);
    s_raw (&p->part [F_ORIGIN], fed_identity_public (key), 32);
    s_uint (&p->part [F_SEQ], 1);
    s_bin (&p->part [F_PREV], 0, 32, false);
    s_uint (&p->part [F_HLC], 1000);
    s_str (&p->part [F_TYPE], "user.deploy");
    s_byte (&p->part [F_BODY], 0x81);
    s_str (&p->part [F_BODY], "n");
    s_uint (&p->part [F_BODY], 7);
    p->auto_sig = true;
}

//  Concatenates the parts into out, signing with key if auto_sig.
static void
s_assemble (parts_t *p, const fed_identity_t *key, buf_t *out)
{
    out->size = 0;
    for (int f = F_HEAD; f < F_SIG; f++)
        s_raw (out, p->part [f].data, p->part [f].size);
    if (p->auto_sig) {
        uint8_t sig [64];
        crypto_sign_detached (sig, NULL, out->data, out->size, fed_identity_secret (key));
        s_byte (out, 0xc4);
        s_byte (out, 64);
        s_raw (out, sig, 64);
    } else
        s_raw (out, p->part [F_SIG].data, p->part [F_SIG].size);
    s_raw (out, p->part [F_TAIL].data, p->part [F_TAIL].size);
}

//  Decoding out must fail with code and a message containing needle.
static void
s_expect_refused (const buf_t *out, int code, const char *needle)
{
    fed_event_t *event = NULL;
    fed_err_t err = {0, ""};
    int rc = fed_event_decode (out->data, out->size, NULL, &event, &err);
    if (rc != FED_MALFORMED)
        print_error ("expected the event to be refused with \"%s\"; it decoded\n", needle);
    assert_int_equal (rc, FED_MALFORMED);
    assert_null (event);
    assert_int_equal (err.code, code);
    assert_contains (err.text, needle);
}

//  --- Tests -----------------------------------------------------------------

static void
test_sign_decode_round_trip (void **state)
{
    fed_identity_t *key = fed_test_identity (1);
    uint8_t prev [32];
    memset (prev, 0xab, sizeof prev);
    //  {"name": "edge-1", "zone": [1, 2]}
    const uint8_t body [] = {0x82, 0xa4, 'n',  'a', 'm', 'e', 0xa6, 'e',  'd',  'g', 'e',
                             '-',  '1',  0xa4, 'z', 'o', 'n', 'e',  0x92, 0x01, 0x02};
    const char *type = "agent.registered.with-a-long_name.over-31-chars";
    uint64_t seq = 1099511627776ULL, hlc = (1700000000000ULL << 16) | 42;
    fed_err_t err = {0, ""};
    fed_event_t *signed_event =
        fed_event_sign (fed_identity_secret (key), fed_identity_public (key), seq, prev, hlc, type,
                        body, sizeof body, NULL, &err);
    assert_non_null (signed_event);

    fed_event_t *event = NULL;
    assert_int_equal (fed_event_decode (fed_event_bytes (signed_event),
                                        fed_event_size (signed_event), NULL, &event, &err),
                      0);
    assert_int_equal (fed_event_size (event), fed_event_size (signed_event));
    assert_memory_equal (fed_event_bytes (event), fed_event_bytes (signed_event),
                         fed_event_size (event));
    assert_memory_equal (fed_event_origin (event), fed_identity_public (key), 32);
    assert_true (fed_event_seq (event) == seq);
    assert_memory_equal (fed_event_prev (event), prev, 32);
    assert_true (fed_event_hlc (event) == hlc);
    assert_string_equal (fed_event_type (event), type);
    assert_int_equal (fed_event_body_size (event), sizeof body);
    assert_memory_equal (fed_event_body (event), body, sizeof body);
    //  sig is the last 64 bytes, after a bin8 header.
    size_t size = fed_event_size (event);
    assert_int_equal (fed_event_bytes (event) [size - 66], 0xc4);
    assert_int_equal (fed_event_bytes (event) [size - 65], 64);
    assert_ptr_equal (fed_event_sig (event), fed_event_bytes (event) + size - 64);
    assert_int_equal (crypto_sign_verify_detached (fed_event_sig (event), fed_event_bytes (event),
                                                   size - 66, fed_identity_public (key)),
                      0);
    assert_true (fed_event_verify (event));
    assert_memory_equal (fed_event_id (event), fed_event_id (signed_event), 32);
    //  The exact layout: fixarray 8, v 1, origin bin8 32.
    assert_int_equal (fed_event_bytes (event) [0], 0x98);
    assert_int_equal (fed_event_bytes (event) [1], 1);
    assert_int_equal (fed_event_bytes (event) [2], 0xc4);
    assert_int_equal (fed_event_bytes (event) [3], 32);

    //  seq 1 with no prev: prev is zeros; an empty body is {}.
    fed_event_t *first = fed_event_sign (fed_identity_secret (key), fed_identity_public (key), 1,
                                         NULL, 5, "a", NULL, 0, NULL, &err);
    assert_non_null (first);
    const uint8_t zeros [32] = {0};
    assert_memory_equal (fed_event_prev (first), zeros, 32);
    assert_int_equal (fed_event_body_size (first), 1);
    assert_int_equal (fed_event_body (first) [0], 0x80);
    assert_true (fed_event_hlc (first) == 5);
    assert_true (fed_event_verify (first));

    fed_event_destroy (&first);
    fed_event_destroy (&event);
    fed_event_destroy (&signed_event);
    assert_null (signed_event);
    fed_event_destroy (&signed_event); //  NULL is fine
    fed_identity_destroy (&key);
}

static void
test_id_is_blake2b_of_bytes (void **state)
{
    fed_identity_t *key = fed_test_identity (2);
    fed_err_t err = {0, ""};
    for (uint64_t seq = 1; seq <= 3; seq++) {
        uint8_t prev [32];
        memset (prev, (int) seq, sizeof prev);
        fed_event_t *event =
            fed_event_sign (fed_identity_secret (key), fed_identity_public (key), seq,
                            seq == 1 ? NULL : prev, seq * 100, "x.y", NULL, 0, NULL, &err);
        assert_non_null (event);
        uint8_t expected [32], hashed [32];
        crypto_generichash (expected, 32, fed_event_bytes (event), fed_event_size (event), NULL, 0);
        assert_memory_equal (fed_event_id (event), expected, 32);
        fed_event_hash (fed_event_bytes (event), fed_event_size (event), hashed);
        assert_memory_equal (hashed, expected, 32);
        fed_event_destroy (&event);
    }
    fed_identity_destroy (&key);
}

static void
test_signature_covers_every_byte (void **state)
{
    fed_identity_t *key = fed_test_identity (3);
    uint8_t prev [32];
    memset (prev, 9, sizeof prev);
    const uint8_t body [] = {0x81, 0xa1, 'k', 0xa3, 'a', 'b', 'c'};
    fed_err_t err = {0, ""};
    fed_event_t *event = fed_event_sign (fed_identity_secret (key), fed_identity_public (key), 300,
                                         prev, 70000, "kv.set", body, sizeof body, NULL, &err);
    assert_non_null (event);
    size_t size = fed_event_size (event);
    uint8_t *copy = malloc (size);
    size_t refused_by_decode = 0, refused_by_verify = 0;
    for (size_t i = 0; i < size; i++) {
        const uint8_t flips [] = {0x01, 0x80, 0xff};
        for (size_t f = 0; f < sizeof flips; f++) {
            memcpy (copy, fed_event_bytes (event), size);
            copy [i] ^= flips [f];
            fed_event_t *decoded = NULL;
            fed_err_t decode_err = {0, ""};
            if (fed_event_decode (copy, size, NULL, &decoded, &decode_err) != 0) {
                assert_null (decoded);
                refused_by_decode++;
                continue;
            }
            if (fed_event_verify (decoded))
                print_error ("flipping byte %zu with 0x%02x still decodes and verifies\n", i,
                             flips [f]);
            assert_false (fed_event_verify (decoded));
            refused_by_verify++;
            fed_event_destroy (&decoded);
        }
    }
    assert_int_equal (refused_by_decode + refused_by_verify, 3 * size);
    //  Flipping a signature byte never breaks decoding: those are all verify refusals.
    assert_true (refused_by_verify >= 3 * 64);
    free (copy);
    fed_event_destroy (&event);
    fed_identity_destroy (&key);
}

static void
test_truncated_at_every_length (void **state)
{
    fed_identity_t *key = fed_test_identity (4);
    fed_err_t err = {0, ""};
    const uint8_t body [] = {0x82, 0xa1, 'a', 0x01, 0xa1, 'b', 0x92, 0xc3, 0xc0};
    fed_event_t *event = fed_event_sign (fed_identity_secret (key), fed_identity_public (key), 1,
                                         NULL, 1, "t.t", body, sizeof body, NULL, &err);
    assert_non_null (event);
    size_t size = fed_event_size (event);
    for (size_t cut = 0; cut < size; cut++) {
        uint8_t *copy = malloc (cut + 1);
        memcpy (copy, fed_event_bytes (event), cut);
        fed_event_t *decoded = NULL;
        fed_err_t decode_err = {0, ""};
        int rc = fed_event_decode (copy, cut, NULL, &decoded, &decode_err);
        if (rc != FED_MALFORMED)
            print_error ("truncated at %zu of %zu: expected FED_MALFORMED, got %d\n", cut, size,
                         rc);
        assert_int_equal (rc, FED_MALFORMED);
        assert_null (decoded);
        assert_int_equal (decode_err.code, FED_EVENT_MALFORMED);
        free (copy);
    }
    fed_event_destroy (&event);
    fed_identity_destroy (&key);
}

//  A body {"b": bin of size bytes}.
static uint8_t *
s_bin_body (size_t data_size, size_t *size_p)
{
    uint8_t *body = malloc (data_size + 16);
    size_t n = 0;
    body [n++] = 0x81;
    body [n++] = 0xa1;
    body [n++] = 'b';
    body [n++] = 0xc6;
    for (int i = 3; i >= 0; i--)
        body [n++] = (uint8_t) (data_size >> (8 * i));
    memset (body + n, 0x5a, data_size);
    *size_p = n + data_size;
    return body;
}

static void
test_too_large (void **state)
{
    fed_identity_t *key = fed_test_identity (5);
    fed_err_t err = {0, ""};
    fed_event_limits_t small = fed_event_default_limits;
    small.max_body = 100;

    //  Signing a body over the limit.
    size_t body_size;
    uint8_t *body = s_bin_body (200, &body_size);
    fed_event_t *event = fed_event_sign (fed_identity_secret (key), fed_identity_public (key), 1,
                                         NULL, 1, "big.one", body, body_size, &small, &err);
    assert_null (event);
    assert_int_equal (err.code, FED_EVENT_TOO_LARGE);
    assert_contains (err.text, "limits.event_body");

    //  Decoding: a body just over the limit (the event still fits the
    //  overall bound, so the body check itself refuses it) ...
    event = fed_event_sign (fed_identity_secret (key), fed_identity_public (key), 1, NULL, 1,
                            "big.one", body, body_size, NULL, &err);
    assert_non_null (event);
    assert_true (fed_event_size (event) <= small.max_body + FED_EVENT_OVERHEAD);
    fed_event_t *decoded = NULL;
    err = (fed_err_t){0, ""};
    assert_int_equal (
        fed_event_decode (fed_event_bytes (event), fed_event_size (event), &small, &decoded, &err),
        FED_MALFORMED);
    assert_null (decoded);
    assert_int_equal (err.code, FED_EVENT_TOO_LARGE);
    assert_contains (err.text, "limits.event_body");
    assert_contains (err.text, "208 bytes");
    fed_event_destroy (&event);
    free (body);

    //  ... and an event far over the bound, refused on its size alone.
    body = s_bin_body (5000, &body_size);
    event = fed_event_sign (fed_identity_secret (key), fed_identity_public (key), 1, NULL, 1,
                            "big.one", body, body_size, NULL, &err);
    assert_non_null (event);
    err = (fed_err_t){0, ""};
    assert_int_equal (
        fed_event_decode (fed_event_bytes (event), fed_event_size (event), &small, &decoded, &err),
        FED_MALFORMED);
    assert_int_equal (err.code, FED_EVENT_TOO_LARGE);
    assert_contains (err.text, "limits.event_body");
    //  decode_owned takes the bytes on failure too.
    uint8_t *owned = malloc (fed_event_size (event));
    memcpy (owned, fed_event_bytes (event), fed_event_size (event));
    assert_int_equal (
        fed_event_decode_owned (&owned, fed_event_size (event), &small, &decoded, &err),
        FED_MALFORMED);
    assert_null (owned);
    assert_null (decoded);
    fed_event_destroy (&event);
    free (body);

    //  The default limit is 1 MiB: exactly 1 MiB of body is fine, one more byte is not.
    body = s_bin_body (1024 * 1024 - 8, &body_size);
    assert_int_equal (body_size, 1024 * 1024);
    event = fed_event_sign (fed_identity_secret (key), fed_identity_public (key), 1, NULL, 1,
                            "big.one", body, body_size, NULL, &err);
    assert_non_null (event);
    assert_int_equal (fed_event_body_size (event), 1024 * 1024);
    fed_event_destroy (&event);
    free (body);
    body = s_bin_body (1024 * 1024 - 7, &body_size);
    event = fed_event_sign (fed_identity_secret (key), fed_identity_public (key), 1, NULL, 1,
                            "big.one", body, body_size, NULL, &err);
    assert_null (event);
    assert_int_equal (err.code, FED_EVENT_TOO_LARGE);
    assert_contains (err.text, "limits.event_body");
    free (body);
    fed_identity_destroy (&key);
}

//  One malformed-field case: which part to replace and with what.
typedef struct {
    const char *what;        //  for the failure message
    int field;               //  F_* replaced
    void (*fill) (buf_t *b); //  the replacement
    int code;                //  expected err.code
    const char *needle;      //  expected in err.text
} bad_case_t;

static void
s_v_str (buf_t *b)
{
    s_str (b, "1");
}
static void
s_v_two (buf_t *b)
{
    s_uint (b, 2);
}
static void
s_v_zero (buf_t *b)
{
    s_uint (b, 0);
}
static void
s_origin_str (buf_t *b)
{
    s_str (b, "0123456789abcdef0123456789abcdef");
}
static void
s_origin_31 (buf_t *b)
{
    s_bin (b, 1, 31, false);
}
static void
s_origin_33 (buf_t *b)
{
    s_bin (b, 1, 33, false);
}
static void
s_origin_bin16 (buf_t *b)
{
    s_bin (b, 1, 32, true);
}
static void
s_seq_zero (buf_t *b)
{
    s_uint (b, 0);
}
static void
s_seq_negative (buf_t *b)
{
    s_byte (b, 0xff);
}
static void
s_seq_negative64 (buf_t *b)
{
    const uint8_t v [] = {0xd3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe};
    s_raw (b, v, sizeof v);
}
static void
s_seq_str (buf_t *b)
{
    s_str (b, "1");
}
static void
s_seq_float (buf_t *b)
{
    const uint8_t v [] = {0xcb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0};
    s_raw (b, v, sizeof v);
}
static void
s_prev_31 (buf_t *b)
{
    s_bin (b, 0, 31, false);
}
static void
s_prev_nil (buf_t *b)
{
    s_byte (b, 0xc0);
}
static void
s_prev_nonzero (buf_t *b)
{
    s_bin (b, 7, 32, false);
}
static void
s_hlc_str (buf_t *b)
{
    s_str (b, "1000");
}
static void
s_hlc_negative (buf_t *b)
{
    s_byte (b, 0xe0);
}
static void
s_type_empty (buf_t *b)
{
    s_str (b, "");
}
static void
s_type_65 (buf_t *b)
{
    char type [66];
    memset (type, 'a', 65);
    type [65] = 0;
    s_str (b, type);
}
static void
s_type_bad_chars (buf_t *b)
{
    s_str (b, "user deploy");
}
static void
s_type_slash (buf_t *b)
{
    s_str (b, "user/deploy");
}
static void
s_type_dotdot (buf_t *b)
{
    s_str (b, "a..b");
}
static void
s_type_leading_dot (buf_t *b)
{
    s_str (b, ".a");
}
static void
s_type_trailing_dot (buf_t *b)
{
    s_str (b, "a.");
}
static void
s_type_bin (buf_t *b)
{
    s_byte (b, 0xc4);
    s_byte (b, 3);
    s_raw (b, "a.b", 3);
}
static void
s_type_nul (buf_t *b)
{
    s_byte (b, 0xa3);
    s_raw (b, "a\0b", 3);
}
static void
s_body_array (buf_t *b)
{
    s_byte (b, 0x90);
}
static void
s_body_nil (buf_t *b)
{
    s_byte (b, 0xc0);
}
static void
s_body_str (buf_t *b)
{
    s_str (b, "body");
}
static void
s_body_truncated_map (buf_t *b)
{
    s_byte (b, 0x82);
    s_str (b, "a");
    s_uint (b, 1);
}
static void
s_sig_63 (buf_t *b)
{
    s_bin (b, 3, 63, false);
}
static void
s_sig_65 (buf_t *b)
{
    s_bin (b, 3, 65, false);
}
static void
s_sig_bin16 (buf_t *b)
{
    s_bin (b, 3, 64, true);
}
static void
s_sig_str (buf_t *b)
{
    s_byte (b, 0xd9);
    s_byte (b, 64);
    for (int i = 0; i < 64; i++)
        s_byte (b, 'x');
}
static void
s_tail_byte (buf_t *b)
{
    s_byte (b, 0xc0);
}
static void
s_head_9 (buf_t *b)
{
    s_byte (b, 0x99);
}
static void
s_head_7 (buf_t *b)
{
    s_byte (b, 0x97);
}
static void
s_head_array16 (buf_t *b)
{
    const uint8_t v [] = {0xdc, 0x00, 0x08};
    s_raw (b, v, sizeof v);
}
static void
s_head_map (buf_t *b)
{
    s_byte (b, 0x88);
}

static void
test_wrong_type_at_each_field (void **state)
{
    const bad_case_t cases [] = {
        {"v as str", F_V, s_v_str, FED_EVENT_MALFORMED, "'v'"},
        {"v = 2", F_V, s_v_two, FED_EVENT_BAD_VERSION, "version 2"},
        {"v = 0", F_V, s_v_zero, FED_EVENT_BAD_VERSION, "version 0"},
        {"origin as str", F_ORIGIN, s_origin_str, FED_EVENT_MALFORMED, "'origin'"},
        {"origin bin 31", F_ORIGIN, s_origin_31, FED_EVENT_MALFORMED, "'origin'"},
        {"origin bin 33", F_ORIGIN, s_origin_33, FED_EVENT_MALFORMED, "'origin'"},
        {"origin bin16", F_ORIGIN, s_origin_bin16, FED_EVENT_MALFORMED, "'origin'"},
        {"seq 0", F_SEQ, s_seq_zero, FED_EVENT_MALFORMED, "'seq'"},
        {"seq -1", F_SEQ, s_seq_negative, FED_EVENT_MALFORMED, "'seq'"},
        {"seq -2 int64", F_SEQ, s_seq_negative64, FED_EVENT_MALFORMED, "'seq'"},
        {"seq as str", F_SEQ, s_seq_str, FED_EVENT_MALFORMED, "'seq'"},
        {"seq as float", F_SEQ, s_seq_float, FED_EVENT_MALFORMED, "'seq'"},
        {"prev bin 31", F_PREV, s_prev_31, FED_EVENT_MALFORMED, "'prev'"},
        {"prev nil", F_PREV, s_prev_nil, FED_EVENT_MALFORMED, "'prev'"},
        {"prev non-zero at seq 1", F_PREV, s_prev_nonzero, FED_EVENT_MALFORMED, "'prev'"},
        {"hlc as str", F_HLC, s_hlc_str, FED_EVENT_MALFORMED, "'hlc'"},
        {"hlc negative", F_HLC, s_hlc_negative, FED_EVENT_MALFORMED, "'hlc'"},
        {"type empty", F_TYPE, s_type_empty, FED_EVENT_MALFORMED, "'type'"},
        {"type 65 chars", F_TYPE, s_type_65, FED_EVENT_MALFORMED, "'type'"},
        {"type with a space", F_TYPE, s_type_bad_chars, FED_EVENT_MALFORMED, "'type'"},
        {"type with a slash", F_TYPE, s_type_slash, FED_EVENT_MALFORMED, "'type'"},
        {"type a..b", F_TYPE, s_type_dotdot, FED_EVENT_MALFORMED, "'type'"},
        {"type .a", F_TYPE, s_type_leading_dot, FED_EVENT_MALFORMED, "'type'"},
        {"type a.", F_TYPE, s_type_trailing_dot, FED_EVENT_MALFORMED, "'type'"},
        {"type as bin", F_TYPE, s_type_bin, FED_EVENT_MALFORMED, "'type'"},
        {"type with NUL", F_TYPE, s_type_nul, FED_EVENT_MALFORMED, "'type'"},
        {"body as array", F_BODY, s_body_array, FED_EVENT_MALFORMED, "'body'"},
        {"body nil", F_BODY, s_body_nil, FED_EVENT_MALFORMED, "'body'"},
        {"body as str", F_BODY, s_body_str, FED_EVENT_MALFORMED, "'body'"},
        {"body map short of a pair", F_BODY, s_body_truncated_map, FED_EVENT_MALFORMED, "'body'"},
        {"sig bin 63", F_SIG, s_sig_63, FED_EVENT_MALFORMED, "'sig'"},
        {"sig bin 65", F_SIG, s_sig_65, FED_EVENT_MALFORMED, "'sig'"},
        {"sig bin16", F_SIG, s_sig_bin16, FED_EVENT_MALFORMED, "'sig'"},
        {"sig as str", F_SIG, s_sig_str, FED_EVENT_MALFORMED, "'sig'"},
        {"trailing byte", F_TAIL, s_tail_byte, FED_EVENT_MALFORMED, "trailing"},
        {"9-element array", F_HEAD, s_head_9, FED_EVENT_MALFORMED, "8 fields, got 9"},
        {"7-element array", F_HEAD, s_head_7, FED_EVENT_MALFORMED, "8 fields, got 7"},
        {"array16 of 8", F_HEAD, s_head_array16, FED_EVENT_MALFORMED, "8 fields"},
        {"map header", F_HEAD, s_head_map, FED_EVENT_MALFORMED, "not a msgpack array"},
    };
    fed_identity_t *key = fed_test_identity (6);
    parts_t parts;
    buf_t out;

    //  The unmodified parts make a valid event: the cases below differ by one field.
    s_parts (&parts, key);
    s_assemble (&parts, key, &out);
    fed_event_t *event = NULL;
    fed_err_t err = {0, ""};
    assert_int_equal (fed_event_decode (out.data, out.size, NULL, &event, &err), 0);
    assert_true (fed_event_verify (event));
    assert_true (fed_event_seq (event) == 1);
    assert_true (fed_event_hlc (event) == 1000);
    assert_string_equal (fed_event_type (event), "user.deploy");
    fed_event_destroy (&event);

    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++) {
        s_parts (&parts, key);
        parts.part [cases [i].field].size = 0;
        cases [i].fill (&parts.part [cases [i].field]);
        if (cases [i].field == F_SIG)
            parts.auto_sig = false;
        if (cases [i].field == F_HEAD && cases [i].fill == s_head_9)
            s_uint (&parts.part [F_BODY], 0); //  a ninth element before sig
        if (cases [i].field == F_HEAD && cases [i].fill == s_head_7)
            parts.part [F_HLC].size = 0; //  one element fewer
        s_assemble (&parts, key, &out);
        print_message ("case: %s\n", cases [i].what);
        s_expect_refused (&out, cases [i].code, cases [i].needle);
    }

    //  prev non-zero is fine at seq 2; zero prev at seq 2 is fine too.
    s_parts (&parts, key);
    parts.part [F_SEQ].size = 0;
    s_uint (&parts.part [F_SEQ], 2);
    parts.part [F_PREV].size = 0;
    s_bin (&parts.part [F_PREV], 7, 32, false);
    s_assemble (&parts, key, &out);
    assert_int_equal (fed_event_decode (out.data, out.size, NULL, &event, &err), 0);
    assert_true (fed_event_seq (event) == 2);
    assert_true (fed_event_verify (event));
    fed_event_destroy (&event);
    fed_identity_destroy (&key);
}

//  Lowers the address-space limit to what the process uses plus margin, so
//  any large allocation fails (and fed_malloc aborts). Returns the old
//  limit. Under ASan (which reserves terabytes of shadow) the allocator cap
//  set in __asan_default_options does this job instead.
static struct rlimit
s_cap_memory (void)
{
    struct rlimit old;
    assert_int_equal (getrlimit (RLIMIT_AS, &old), 0);
#if !defined(__SANITIZE_ADDRESS__)
    FILE *statm = fopen ("/proc/self/statm", "r");
    unsigned long pages = 0;
    if (statm) {
        if (fscanf (statm, "%lu", &pages) != 1)
            pages = 0;
        fclose (statm);
    }
    if (pages) {
        struct rlimit capped = old;
        capped.rlim_cur = (rlim_t) pages * 4096 + 64 * 1024 * 1024;
        if (old.rlim_cur == RLIM_INFINITY || capped.rlim_cur < old.rlim_cur)
            assert_int_equal (setrlimit (RLIMIT_AS, &capped), 0);
    }
#endif
    return old;
}

static void
s_uncap_memory (struct rlimit old)
{
    assert_int_equal (setrlimit (RLIMIT_AS, &old), 0);
}

static void
test_hostile_body (void **state)
{
    fed_identity_t *key = fed_test_identity (7);
    parts_t parts;
    buf_t out;
    struct rlimit saved = s_cap_memory ();

    //  A map declaring 4,294,967,295 entries in 5 bytes.
    const uint8_t huge_map [] = {0xdf, 0xff, 0xff, 0xff, 0xff};
    s_parts (&parts, key);
    parts.part [F_BODY].size = 0;
    s_raw (&parts.part [F_BODY], huge_map, sizeof huge_map);
    s_assemble (&parts, key, &out);
    s_expect_refused (&out, FED_EVENT_MALFORMED, "'body'");
    fed_err_t err = {0, ""};
    assert_null (fed_event_sign (fed_identity_secret (key), fed_identity_public (key), 1, NULL, 1,
                                 "x", huge_map, sizeof huge_map, NULL, &err));
    assert_int_equal (err.code, FED_EVENT_MALFORMED);
    assert_contains (err.text, "body");

    //  An array32 and a str32 declaring 4 GiB inside a small map.
    const uint8_t huge_inner [] = {0x82, 0xa1, 'a',  0xdd, 0xff, 0xff, 0xff, 0xff,
                                   0xa1, 'b',  0xdb, 0xff, 0xff, 0xff, 0xff};
    s_parts (&parts, key);
    parts.part [F_BODY].size = 0;
    s_raw (&parts.part [F_BODY], huge_inner, sizeof huge_inner);
    s_assemble (&parts, key, &out);
    s_expect_refused (&out, FED_EVENT_MALFORMED, "'body'");

    //  10,000 nested maps {"a": {"a": … {}}}: 30 KB, well under the size limit.
    size_t depth = 10000;
    uint8_t *nested = malloc (3 * depth + 1);
    for (size_t i = 0; i < depth; i++) {
        nested [3 * i] = 0x81;
        nested [3 * i + 1] = 0xa1;
        nested [3 * i + 2] = 'a';
    }
    nested [3 * depth] = 0x80;
    fed_event_t *event = fed_event_sign (fed_identity_secret (key), fed_identity_public (key), 1,
                                         NULL, 1, "deep", nested, 3 * depth + 1, NULL, &err);
    assert_null (event);
    assert_int_equal (err.code, FED_EVENT_MALFORMED);
    //  The same body in a hand-built (validly signed) event.
    size_t size = 0;
    uint8_t *deep = malloc (3 * depth + 256);
    s_parts (&parts, key);
    //  Build by hand: the fixed fields, the nested body, then sig.
    for (int f = F_HEAD; f < F_BODY; f++) {
        memcpy (deep + size, parts.part [f].data, parts.part [f].size);
        size += parts.part [f].size;
    }
    memcpy (deep + size, nested, 3 * depth + 1);
    size += 3 * depth + 1;
    deep [size++] = 0xc4;
    deep [size++] = 64;
    crypto_sign_detached (deep + size, NULL, deep, size - 2, fed_identity_secret (key));
    size += 64;
    fed_event_t *decoded = NULL;
    err = (fed_err_t){0, ""};
    assert_int_equal (fed_event_decode (deep, size, NULL, &decoded, &err), FED_MALFORMED);
    assert_null (decoded);
    assert_int_equal (err.code, FED_EVENT_MALFORMED);
    assert_contains (err.text, "'body'");

    //  At depth 32 (the default cap) the same shape is fine; at 33 it is not.
    for (size_t levels = 31; levels <= 33; levels++) {
        nested [3 * levels] = 0x80;
        event = fed_event_sign (fed_identity_secret (key), fed_identity_public (key), 1, NULL, 1,
                                "deep", nested, 3 * levels + 1, NULL, &err);
        if (levels < 32)
            assert_non_null (event);
        else
            assert_null (event);
        fed_event_destroy (&event);
        nested [3 * levels] = 0x81;
    }
    s_uncap_memory (saved);
    free (deep);
    free (nested);
    fed_identity_destroy (&key);
}

static void
test_dup (void **state)
{
    fed_identity_t *key = fed_test_identity (8);
    fed_err_t err = {0, ""};
    uint8_t prev [32];
    memset (prev, 0x33, sizeof prev);
    const uint8_t body [] = {0x81, 0xa3, 'k', 'e', 'y', 0xa1, 'v'};
    fed_event_t *event = fed_event_sign (fed_identity_secret (key), fed_identity_public (key), 9,
                                         prev, 123456, "kv.set", body, sizeof body, NULL, &err);
    assert_non_null (event);
    size_t size = fed_event_size (event);
    uint8_t *bytes = malloc (size);
    memcpy (bytes, fed_event_bytes (event), size);
    uint8_t id [32];
    memcpy (id, fed_event_id (event), 32);

    fed_event_t *copy = fed_event_dup (event);
    assert_non_null (copy);
    assert_ptr_not_equal (fed_event_bytes (copy), fed_event_bytes (event));
    fed_event_destroy (&event); //  the copy must not point into the original
    assert_int_equal (fed_event_size (copy), size);
    assert_memory_equal (fed_event_bytes (copy), bytes, size);
    assert_memory_equal (fed_event_id (copy), id, 32);
    assert_memory_equal (fed_event_origin (copy), fed_identity_public (key), 32);
    assert_memory_equal (fed_event_prev (copy), prev, 32);
    assert_true (fed_event_seq (copy) == 9);
    assert_true (fed_event_hlc (copy) == 123456);
    assert_string_equal (fed_event_type (copy), "kv.set");
    assert_int_equal (fed_event_body_size (copy), sizeof body);
    assert_memory_equal (fed_event_body (copy), body, sizeof body);
    assert_ptr_equal (fed_event_sig (copy), fed_event_bytes (copy) + size - 64);
    assert_true (fed_event_verify (copy));
    fed_event_destroy (&copy);
    free (bytes);
    fed_identity_destroy (&key);
}

static void
test_type_valid_table (void **state)
{
    const struct {
        const char *type;
        bool valid;
    } table [] = {
        {"a", true},
        {"user.deploy", true},
        {"agent.registered", true},
        {"step-1.done_2", true},
        {"A.B.C", true},
        {"9.x", true},
        {"a-b_c.d", true},
        {"", false},
        {".", false},
        {".a", false},
        {"a.", false},
        {"a..b", false},
        {"-a", false},
        {"_a", false},
        {"a.-b", false},
        {"a._b", false},
        {"a b", false},
        {"a/b", false},
        {"a:b", false},
        {"é", false},
        {"a\tb", false},
    };
    for (size_t i = 0; i < sizeof table / sizeof table [0]; i++) {
        bool got = fed_event_type_valid (table [i].type, strlen (table [i].type));
        if (got != table [i].valid)
            print_error ("type \"%s\": expected %s, got %s\n", table [i].type,
                         table [i].valid ? "valid" : "invalid", got ? "valid" : "invalid");
        assert_int_equal (got, table [i].valid);
    }
    char type [80];
    memset (type, 'x', sizeof type);
    assert_true (fed_event_type_valid (type, 64));
    assert_false (fed_event_type_valid (type, 65));
    //  The size is what counts, not a NUL.
    assert_true (fed_event_type_valid ("ab.cd", 2));
    assert_false (fed_event_type_valid ("ab.cd", 3));
    assert_false (fed_event_type_valid ("a\0b", 3));
}

static void
test_sign_refuses_bad_input (void **state)
{
    fed_identity_t *key = fed_test_identity (9);
    fed_err_t err = {0, ""};
    const uint8_t *secret = fed_identity_secret (key), *origin = fed_identity_public (key);
    assert_null (fed_event_sign (secret, origin, 1, NULL, 1, "a..b", NULL, 0, NULL, &err));
    assert_int_equal (err.code, FED_EVENT_MALFORMED);
    assert_contains (err.text, "'a..b'");
    assert_null (fed_event_sign (secret, origin, 0, NULL, 1, "a.b", NULL, 0, NULL, &err));
    assert_int_equal (err.code, FED_EVENT_MALFORMED);
    assert_contains (err.text, "seq");
    const uint8_t array [] = {0x91, 0x01};
    assert_null (
        fed_event_sign (secret, origin, 1, NULL, 1, "a.b", array, sizeof array, NULL, &err));
    assert_int_equal (err.code, FED_EVENT_MALFORMED);
    assert_contains (err.text, "map");
    const uint8_t trailing [] = {0x80, 0x80};
    assert_null (
        fed_event_sign (secret, origin, 1, NULL, 1, "a.b", trailing, sizeof trailing, NULL, &err));
    assert_int_equal (err.code, FED_EVENT_MALFORMED);
    const uint8_t short_map [] = {0x81, 0xa1, 'a'};
    assert_null (fed_event_sign (secret, origin, 1, NULL, 1, "a.b", short_map, sizeof short_map,
                                 NULL, &err));
    assert_int_equal (err.code, FED_EVENT_MALFORMED);
    //  Signed with another key: decodes, does not verify.
    fed_identity_t *other = fed_test_identity (10);
    fed_event_t *event = fed_event_sign (fed_identity_secret (other), origin, 1, NULL, 1, "a.b",
                                         NULL, 0, NULL, &err);
    assert_non_null (event);
    assert_false (fed_event_verify (event));
    fed_event_destroy (&event);
    fed_identity_destroy (&other);
    fed_identity_destroy (&key);
}

static void
test_status_names (void **state)
{
    assert_string_equal (fed_event_status_name (FED_EVENT_OK), "ok");
    assert_string_equal (fed_event_status_name (FED_EVENT_BAD_SIGNATURE), "bad_signature");
    assert_string_equal (fed_event_status_name (FED_EVENT_FORK), "fork");
    assert_string_equal (fed_event_status_name (FED_EVENT_OVERFLOW), "overflow");
    assert_string_equal (fed_event_status_name (FED_EVENT_REASONS), "unknown");
    assert_string_equal (fed_event_status_name ((fed_event_status_t) -1), "unknown");
}

int
main (void)
{
    if (sodium_init () < 0)
        return 1;
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_sign_decode_round_trip),
        cmocka_unit_test (test_id_is_blake2b_of_bytes),
        cmocka_unit_test (test_signature_covers_every_byte),
        cmocka_unit_test (test_truncated_at_every_length),
        cmocka_unit_test (test_too_large),
        cmocka_unit_test (test_wrong_type_at_each_field),
        cmocka_unit_test (test_hostile_body),
        cmocka_unit_test (test_dup),
        cmocka_unit_test (test_type_valid_table),
        cmocka_unit_test (test_sign_refuses_bad_input),
        cmocka_unit_test (test_status_names),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
