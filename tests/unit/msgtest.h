/*  tests/unit/msgtest.h: the hostile-input scaffolding the two codec tests
    share (test_wire.c, test_agentwire.c).

    Both protocols frame a message as [version, type, body] with a keyed-map
    body (proto/msgbody.h), so both tests break a valid encoding the same
    way: rewrite one field path of the body (leave a key out, set its value,
    give it twice) and decode a heap copy of exactly the frame's size, so
    ASan sees any over-read. What stays in each test is what depends on the
    codec: its samples, its decode and its drop expectations.

    Header-only (static functions), like testutil.h; include it after
    cmocka.h. Every value built here is a packed_t whose buffer the caller
    destroys.
*/
#ifndef FED_MSGTEST_H_INCLUDED
#define FED_MSGTEST_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <msgpack.h>

#include "mpread.h"

//  A byte-string literal and its size (NULs inside count).
#define RAW(bytes) bytes, sizeof (bytes) - 1

//  A buffer and a packer that appends to it.
typedef struct {
    msgpack_sbuffer buffer;
    msgpack_packer pk;
} packed_t;

static inline void
fed_test_begin (packed_t *self)
{
    msgpack_sbuffer_init (&self->buffer);
    msgpack_packer_init (&self->pk, &self->buffer, msgpack_sbuffer_write);
}

//  A heap copy of exactly size bytes. Caller frees it.
static inline uint8_t *
fed_test_copy (const void *data, size_t size)
{
    uint8_t *copy = (uint8_t *) malloc (size ? size : 1);
    assert_non_null (copy);
    if (size)
        memcpy (copy, data, size);
    return copy;
}

typedef enum { OMIT, SET, DUP } op_t;

//  Copies the object at reader to out, applying op at path ("location.lat",
//  "agents.0.capabilities.1"; a number indexes an array): OMIT drops the
//  key, SET replaces its value with value (or adds the key), DUP keeps it
//  and adds the key again with value.
static inline void
fed_test_rewrite (fed_mpr_t *reader, msgpack_sbuffer *out, const char *path, op_t op,
                  const msgpack_sbuffer *value)
{
    const char *dot = strchr (path, '.');
    size_t head = dot ? (size_t) (dot - path) : strlen (path);
    msgpack_packer pk;
    msgpack_packer_init (&pk, out, msgpack_sbuffer_write);
    uint32_t count;
    if (fed_mpr_peek (reader) == FED_MP_ARRAY) {
        assert_int_equal (fed_mpr_array (reader, &count), 0);
        msgpack_pack_array (&pk, count);
        uint32_t index = (uint32_t) atoi (path);
        for (uint32_t i = 0; i < count; i++) {
            size_t start = reader->pos;
            if (i == index && dot)
                fed_test_rewrite (reader, out, dot + 1, op, value);
            else if (i == index && op == SET) {
                assert_int_equal (fed_mpr_skip (reader, NULL), 0);
                msgpack_sbuffer_write (out, value->data, value->size);
            } else {
                assert_int_equal (fed_mpr_skip (reader, NULL), 0);
                msgpack_sbuffer_write (out, (const char *) reader->data + start,
                                       reader->pos - start);
            }
        }
        return;
    }
    assert_int_equal (fed_mpr_map (reader, &count), 0);
    struct {
        const char *key;
        uint32_t key_size;
        size_t start, end;
    } entries [32];
    assert_true (count <= 32);
    bool found = false;
    for (uint32_t i = 0; i < count; i++) {
        assert_int_equal (fed_mpr_str (reader, &entries [i].key, &entries [i].key_size), 0);
        entries [i].start = reader->pos;
        assert_int_equal (fed_mpr_skip (reader, NULL), 0);
        entries [i].end = reader->pos;
        if (entries [i].key_size == head && memcmp (entries [i].key, path, head) == 0)
            found = true;
    }
    uint32_t total = count;
    if (!dot && op == OMIT && found)
        total--;
    if (!dot && ((op == SET && !found) || op == DUP))
        total++;
    msgpack_pack_map (&pk, total);
    for (uint32_t i = 0; i < count; i++) {
        bool here = entries [i].key_size == head && memcmp (entries [i].key, path, head) == 0;
        if (here && !dot && op == OMIT)
            continue;
        msgpack_pack_str_with_body (&pk, entries [i].key, entries [i].key_size);
        if (here && dot) {
            fed_mpr_t inner;
            fed_mpr_init (&inner, reader->data + entries [i].start,
                          entries [i].end - entries [i].start);
            fed_test_rewrite (&inner, out, dot + 1, op, value);
        } else if (here && op == SET)
            msgpack_sbuffer_write (out, value->data, value->size);
        else
            msgpack_sbuffer_write (out, (const char *) reader->data + entries [i].start,
                                   entries [i].end - entries [i].start);
    }
    if (!dot && ((op == SET && !found) || op == DUP)) {
        msgpack_pack_str_with_body (&pk, path, head);
        msgpack_sbuffer_write (out, value->data, value->size);
    }
}

//  valid, an encoded [version, type, body], with the body rewritten at path
//  (fed_test_rewrite), into out, which this begins.
static inline void
fed_test_mutate (const msgpack_sbuffer *valid, const char *path, op_t op,
                 const msgpack_sbuffer *value, packed_t *out)
{
    fed_mpr_t reader;
    fed_mpr_init (&reader, valid->data, valid->size);
    uint32_t count;
    uint64_t version;
    const char *name;
    uint32_t name_size;
    assert_int_equal (fed_mpr_array (&reader, &count), 0);
    assert_int_equal (fed_mpr_uint (&reader, &version), 0);
    assert_int_equal (fed_mpr_str (&reader, &name, &name_size), 0);
    fed_test_begin (out);
    msgpack_sbuffer_write (&out->buffer, valid->data, reader.pos);
    fed_test_rewrite (&reader, &out->buffer, path, op, value);
    assert_true (fed_mpr_done (&reader));
}

//  Values to put in fields.

static inline void
fed_test_value_raw (packed_t *value, const char *bytes, size_t size)
{
    fed_test_begin (value);
    msgpack_sbuffer_write (&value->buffer, bytes, size);
}

//  A str of size bytes of fill.
static inline void
fed_test_value_str (packed_t *value, size_t size, char fill)
{
    fed_test_begin (value);
    char *text = (char *) malloc (size + 1);
    assert_non_null (text);
    memset (text, fill, size);
    msgpack_pack_str_with_body (&value->pk, text, size);
    free (text);
}

//  n arrays nested inside each other around nil, after prefix_size bytes of
//  prefix (what encloses them, or nothing).
static inline void
fed_test_value_nested (packed_t *value, const char *prefix, size_t prefix_size, size_t n)
{
    fed_test_begin (value);
    if (prefix_size)
        msgpack_sbuffer_write (&value->buffer, prefix, prefix_size);
    for (size_t i = 0; i < n; i++)
        msgpack_pack_array (&value->pk, 1);
    msgpack_pack_nil (&value->pk);
}

//  Wrong values: true, -1, "x", bin "x", [], {}, 1.5, nil, a 32-byte str.
static const struct {
    const char *bytes;
    size_t size;
    fed_mp_type_t type;
} fed_test_wrong [] = {
    {RAW ("\xc3"), FED_MP_BOOL},
    {RAW ("\xff"), FED_MP_INT},
    {RAW ("\xa1x"), FED_MP_STR},
    {RAW ("\xc4\x01x"), FED_MP_BIN},
    {RAW ("\x90"), FED_MP_ARRAY},
    {RAW ("\x80"), FED_MP_MAP},
    {RAW ("\xcb\x3f\xf8\x00\x00\x00\x00\x00\x00"), FED_MP_FLOAT},
    {RAW ("\xc0"), FED_MP_NIL},
    {RAW ("\xd9\x20"
          "0123456789abcdef0123456789abcdef"),
     FED_MP_STR},
};

#define FED_TEST_WRONG_COUNT (sizeof fed_test_wrong / sizeof fed_test_wrong [0])

#endif
