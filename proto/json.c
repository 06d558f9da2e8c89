/*  proto/json.c: JSON <-> msgpack. See json.h for the mapping.

    The parser is recursive descent over the text, run twice. msgpack puts a
    container's element count in front of its elements, and JSON only tells
    us the count at the closing bracket, so the first pass validates the
    whole document (syntax, UTF-8, duplicate keys, caps) and records every
    container's count in the order the containers open; the second pass,
    over text now known to be valid, packs with those counts. Both passes
    are linear and keep no tree.

    The renderer walks the bytes with the bounds-checked reader after
    fed_mp_check has accepted them, so it never allocates through msgpack-c.
*/
#include "json.h"

#include <assert.h>
#include <inttypes.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  --------------------------------------------------------------------------
//  Shared helpers

//  Length of the valid UTF-8 sequence at p (at most left bytes), or 0 if the
//  bytes there are not one (overlong, surrogate, above U+10FFFF, truncated).
static size_t
s_utf8_len (const uint8_t *p, size_t left)
{
    uint8_t b = p [0];
    if (b < 0x80)
        return 1;
    size_t len;
    uint8_t lo = 0x80, hi = 0xbf; //  allowed range of the second byte
    if (b >= 0xc2 && b <= 0xdf)
        len = 2;
    else if (b >= 0xe0 && b <= 0xef) {
        len = 3;
        if (b == 0xe0)
            lo = 0xa0; //  no overlongs
        else if (b == 0xed)
            hi = 0x9f; //  no UTF-16 surrogates
    } else if (b >= 0xf0 && b <= 0xf4) {
        len = 4;
        if (b == 0xf0)
            lo = 0x90;
        else if (b == 0xf4)
            hi = 0x8f; //  nothing above U+10FFFF
    } else
        return 0;
    if (left < len || p [1] < lo || p [1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if ((p [i] & 0xc0) != 0x80)
            return 0;
    return len;
}

//  Writes code point cp (at most U+10FFFF, not a surrogate) as UTF-8 into
//  dst, which holds 4 bytes. Returns the length.
static size_t
s_utf8_put (uint8_t *dst, uint32_t cp)
{
    if (cp < 0x80) {
        dst [0] = (uint8_t) cp;
        return 1;
    }
    if (cp < 0x800) {
        dst [0] = (uint8_t) (0xc0 | cp >> 6);
        dst [1] = (uint8_t) (0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        dst [0] = (uint8_t) (0xe0 | cp >> 12);
        dst [1] = (uint8_t) (0x80 | (cp >> 6 & 0x3f));
        dst [2] = (uint8_t) (0x80 | (cp & 0x3f));
        return 3;
    }
    dst [0] = (uint8_t) (0xf0 | cp >> 18);
    dst [1] = (uint8_t) (0x80 | (cp >> 12 & 0x3f));
    dst [2] = (uint8_t) (0x80 | (cp >> 6 & 0x3f));
    dst [3] = (uint8_t) (0x80 | (cp & 0x3f));
    return 4;
}

//  A growable byte buffer; memory from fed_realloc.
typedef struct {
    char *data;   //  bytes, owned
    size_t size;  //  bytes used
    size_t alloc; //  bytes allocated
} s_buf_t;

//  Makes room for extra more bytes and returns where they go.
static char *
s_buf_reserve (s_buf_t *self, size_t extra)
{
    if (self->alloc - self->size < extra) {
        size_t alloc = self->alloc ? self->alloc : 64;
        while (alloc - self->size < extra)
            alloc *= 2;
        self->data = (char *) fed_realloc (self->data, alloc);
        self->alloc = alloc;
    }
    return self->data + self->size;
}

static void
s_buf_put (s_buf_t *self, const void *bytes, size_t size)
{
    memcpy (s_buf_reserve (self, size), bytes, size);
    self->size += size;
}

static void
s_buf_putc (s_buf_t *self, char c)
{
    *s_buf_reserve (self, 1) = c;
    self->size++;
}

static void
s_buf_puts (s_buf_t *self, const char *s)
{
    s_buf_put (self, s, strlen (s));
}

//  The C library reads and writes numbers with the locale's decimal point;
//  JSON always uses '.'. Returns the locale's point ("." in the C locale).
static const char *
s_decimal_point (void)
{
    const char *point = localeconv ()->decimal_point;
    return point && *point ? point : ".";
}

//  --------------------------------------------------------------------------
//  JSON -> msgpack

//  A decoded member name on the duplicate-check stack.
typedef struct {
    size_t offset; //  where its bytes start in parser.keys
    size_t size;   //  its length
    uint64_t hash; //  FNV-1a of its bytes
} s_key_t;

typedef struct {
    const uint8_t *text;           //  input, not owned
    size_t size;                   //  bytes in text
    size_t pos;                    //  next byte to read
    const fed_mp_limits_t *limits; //  caps, not owned
    uint64_t objects;              //  values and keys seen so far (first pass)
    bool emit;                     //  false: validate and count; true: pack
    fed_err_t *err;                //  where the first pass reports, may be NULL
    uint32_t *counts;              //  element counts, in container opening order
    size_t counts_size;            //  counts recorded (first pass)
    size_t counts_alloc;           //  counts allocated
    size_t counts_next;            //  next count to use (second pass)
    s_buf_t scratch;               //  the string or number being decoded
    s_buf_t keys;                  //  bytes of the member names of open objects
    s_key_t *names;                //  member names of open objects, a stack
    size_t names_size;             //  names on the stack
    size_t names_alloc;            //  names allocated
    msgpack_sbuffer sbuf;          //  output (second pass)
    msgpack_packer packer;         //  packs into sbuf
} s_parser_t;

static int s_value (s_parser_t *self, uint32_t depth);

//  Reports a malformed input at byte offset pos and returns FED_MALFORMED.
//  The line and column are worked out here, on failure only.
static int FED_PRINTF (3, 4) s_fail (s_parser_t *self, size_t pos, const char *format, ...)
{
    assert (!self->emit); //  the second pass sees valid text only
    size_t line = 1, column = 1;
    for (size_t i = 0; i < pos && i < self->size; i++) {
        if (self->text [i] == '\n') {
            line++;
            column = 1;
        } else if ((self->text [i] & 0xc0) != 0x80)
            column++; //  count characters, not continuation bytes
    }
    char message [400];
    va_list args;
    va_start (args, format);
    vsnprintf (message, sizeof message, format, args);
    va_end (args);
    fed_err_set (self->err, FED_MALFORMED, "line %zu, column %zu: %s", line, column, message);
    return FED_MALFORMED;
}

//  Names the byte at pos for a message: 'x', byte 0xNN, or end of input.
static const char *
s_describe (const s_parser_t *self, char *buffer, size_t size)
{
    if (self->pos >= self->size)
        return "end of input";
    uint8_t c = self->text [self->pos];
    if (c >= 0x20 && c < 0x7f)
        snprintf (buffer, size, "'%c'", c);
    else
        snprintf (buffer, size, "byte 0x%02x", c);
    return buffer;
}

//  Reports that something else than what was expected is at pos.
static int
s_expected (s_parser_t *self, const char *what)
{
    if (self->pos >= self->size)
        return s_fail (self, self->pos, "unexpected end of input, expected %s", what);
    return s_fail (self, self->pos, "expected %s", what);
}

static void
s_skip_space (s_parser_t *self)
{
    while (self->pos < self->size) {
        uint8_t c = self->text [self->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            break;
        self->pos++;
    }
}

static bool
s_next_is (const s_parser_t *self, char c)
{
    return self->pos < self->size && self->text [self->pos] == (uint8_t) c;
}

//  msgpack-c write callback that aborts on out-of-memory, like fed_malloc.
static int
s_sbuffer_write (void *data, const char *buf, size_t len)
{
    if (msgpack_sbuffer_write (data, buf, len)) {
        fprintf (stderr, "fednode: out of memory growing a msgpack buffer\n");
        abort ();
    }
    return 0;
}

//  Counts one more value or key against the object cap.
static int
s_count_object (s_parser_t *self)
{
    if (!self->emit && ++self->objects > self->limits->max_objects)
        return s_fail (self, self->pos, "more than %u values", self->limits->max_objects);
    return 0;
}

//  Reads four hex digits at pos into *unit.
static bool
s_hex4 (const s_parser_t *self, size_t pos, uint32_t *unit)
{
    if (self->size - pos < 4)
        return false;
    uint32_t value = 0;
    for (size_t i = 0; i < 4; i++) {
        uint8_t c = self->text [pos + i];
        uint32_t digit;
        if (c >= '0' && c <= '9')
            digit = (uint32_t) (c - '0');
        else if (c >= 'a' && c <= 'f')
            digit = (uint32_t) (c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            digit = (uint32_t) (c - 'A' + 10);
        else
            return false;
        value = value << 4 | digit;
    }
    *unit = value;
    return true;
}

//  Decodes the \u escape (one code point, maybe a surrogate pair) whose
//  backslash is at pos into the scratch buffer.
static int
s_unicode_escape (s_parser_t *self)
{
    size_t start = self->pos;
    uint32_t cp, low;
    if (!s_hex4 (self, start + 2, &cp))
        return s_fail (self, start, "bad \\u escape: expected 4 hex digits");
    self->pos = start + 6;
    if (cp >= 0xdc00 && cp <= 0xdfff)
        return s_fail (self, start, "lone low surrogate \\u%04" PRIx32 " in a string", cp);
    if (cp >= 0xd800 && cp <= 0xdbff) {
        if (self->size - self->pos < 6 || self->text [self->pos] != '\\'
            || self->text [self->pos + 1] != 'u' || !s_hex4 (self, self->pos + 2, &low)
            || low < 0xdc00 || low > 0xdfff)
            return s_fail (self, start,
                           "lone high surrogate \\u%04" PRIx32 " in a string "
                           "(it must be followed by a \\udc00-\\udfff escape)",
                           cp);
        cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
        self->pos += 6;
    }
    uint8_t bytes [4];
    s_buf_put (&self->scratch, bytes, s_utf8_put (bytes, cp));
    return 0;
}

//  Decodes the string whose opening quote is at pos into the scratch buffer.
static int
s_string (s_parser_t *self)
{
    self->scratch.size = 0;
    self->pos++;
    while (true) {
        if (self->pos >= self->size)
            return s_fail (self, self->pos, "unexpected end of input inside a string");
        uint8_t c = self->text [self->pos];
        if (c == '"') {
            self->pos++;
            return 0;
        }
        if (c == '\\') {
            if (self->pos + 1 >= self->size)
                return s_fail (self, self->pos + 1, "unexpected end of input inside a string");
            uint8_t e = self->text [self->pos + 1];
            const char *simple = strchr ("\"\\/bfnrt", e);
            if (e == 'u') {
                if (s_unicode_escape (self))
                    return FED_MALFORMED;
                continue;
            }
            if (e == 0 || !simple)
                return s_fail (self, self->pos,
                               "invalid escape '\\%c' (use \\\" \\\\ \\/ \\b "
                               "\\f \\n \\r \\t or \\uXXXX)",
                               e >= 0x20 && e < 0x7f ? e : '?');
            s_buf_putc (&self->scratch, "\"\\/\b\f\n\r\t" [simple - "\"\\/bfnrt"]);
            self->pos += 2;
            continue;
        }
        if (c < 0x20)
            return s_fail (self, self->pos,
                           "control character 0x%02x inside a string "
                           "(write it as \\u%04x)",
                           c, c);
        size_t len = s_utf8_len (self->text + self->pos, self->size - self->pos);
        if (len == 0)
            return s_fail (self, self->pos, "invalid UTF-8 byte 0x%02x in a string", c);
        s_buf_put (&self->scratch, self->text + self->pos, len);
        self->pos += len;
    }
}

static int
s_literal (s_parser_t *self, const char *word)
{
    size_t len = strlen (word);
    if (self->size - self->pos < len || memcmp (self->text + self->pos, word, len) != 0)
        return s_fail (self, self->pos, "invalid literal, expected '%s'", word);
    self->pos += len;
    if (self->emit) {
        if (word [0] == 'n')
            msgpack_pack_nil (&self->packer);
        else if (word [0] == 't')
            msgpack_pack_true (&self->packer);
        else
            msgpack_pack_false (&self->packer);
    }
    return 0;
}

static bool
s_is_digit (const s_parser_t *self)
{
    return self->pos < self->size && self->text [self->pos] >= '0' && self->text [self->pos] <= '9';
}

static int
s_number (s_parser_t *self)
{
    size_t start = self->pos;
    bool negative = s_next_is (self, '-');
    if (negative)
        self->pos++;
    if (!s_is_digit (self))
        return s_expected (self, "a digit after '-'");
    if (self->text [self->pos] == '0' && self->pos + 1 < self->size
        && self->text [self->pos + 1] >= '0' && self->text [self->pos + 1] <= '9')
        return s_fail (self, start, "leading zeros are not allowed in numbers");
    //  The integer part, accumulated while it fits.
    uint64_t magnitude = 0;
    bool overflow = false;
    while (s_is_digit (self)) {
        uint64_t digit = (uint64_t) (self->text [self->pos++] - '0');
        if (magnitude > (UINT64_MAX - digit) / 10)
            overflow = true;
        else
            magnitude = magnitude * 10 + digit;
    }
    bool is_float = false;
    if (s_next_is (self, '.')) {
        is_float = true;
        self->pos++;
        if (!s_is_digit (self))
            return s_expected (self, "a digit after '.'");
        while (s_is_digit (self))
            self->pos++;
    }
    if (s_next_is (self, 'e') || s_next_is (self, 'E')) {
        is_float = true;
        self->pos++;
        if (s_next_is (self, '+') || s_next_is (self, '-'))
            self->pos++;
        if (!s_is_digit (self))
            return s_expected (self, "a digit in the exponent");
        while (s_is_digit (self))
            self->pos++;
    }
    if (!is_float && !overflow) {
        if (!negative) {
            if (self->emit)
                msgpack_pack_uint64 (&self->packer, magnitude);
            return 0;
        }
        if (magnitude <= (uint64_t) INT64_MAX + 1) {
            if (self->emit)
                msgpack_pack_int64 (&self->packer, magnitude ? -(int64_t) (magnitude - 1) - 1 : 0);
            return 0;
        }
    }
    //  strtod wants a NUL-terminated string with the locale's decimal point.
    const char *point = s_decimal_point ();
    self->scratch.size = 0;
    for (size_t i = start; i < self->pos; i++) {
        if (self->text [i] == '.')
            s_buf_puts (&self->scratch, point);
        else
            s_buf_putc (&self->scratch, (char) self->text [i]);
    }
    s_buf_putc (&self->scratch, 0);
    double value = strtod (self->scratch.data, NULL);
    if (isinf (value))
        return s_fail (self, start, "number out of range for a double");
    if (self->emit)
        msgpack_pack_double (&self->packer, value);
    return 0;
}

//  Reserves the next count slot (first pass) and returns its index.
static size_t
s_count_open (s_parser_t *self)
{
    if (self->emit)
        return self->counts_next++;
    if (self->counts_size == self->counts_alloc) {
        self->counts_alloc = self->counts_alloc ? 2 * self->counts_alloc : 16;
        self->counts =
            (uint32_t *) fed_realloc (self->counts, self->counts_alloc * sizeof (uint32_t));
    }
    self->counts [self->counts_size] = 0;
    return self->counts_size++;
}

static int
s_array (s_parser_t *self, uint32_t depth)
{
    if (depth > self->limits->max_depth)
        return s_fail (self, self->pos, "nested deeper than %u", self->limits->max_depth);
    self->pos++;
    size_t slot = s_count_open (self);
    if (self->emit)
        msgpack_pack_array (&self->packer, self->counts [slot]);
    uint32_t count = 0;
    s_skip_space (self);
    if (s_next_is (self, ']'))
        self->pos++;
    else
        while (true) {
            if (s_value (self, depth))
                return FED_MALFORMED;
            count++;
            s_skip_space (self);
            if (s_next_is (self, ',')) {
                self->pos++;
                continue;
            }
            if (s_next_is (self, ']')) {
                self->pos++;
                break;
            }
            return s_expected (self, "',' or ']' after array element");
        }
    if (!self->emit)
        self->counts [slot] = count;
    return 0;
}

static uint64_t
s_hash (const uint8_t *bytes, size_t size)
{
    uint64_t hash = 0xcbf29ce484222325u;
    for (size_t i = 0; i < size; i++)
        hash = (hash ^ bytes [i]) * 0x100000001b3u;
    return hash;
}

//  Duplicate-key state of one open object: an open-addressing table of
//  indexes (plus one, 0 = empty) into the parser's names stack.
typedef struct {
    size_t *slots;     //  table, owned; NULL until the first key
    size_t alloc;      //  slots, a power of two
    size_t used;       //  keys in the table
    size_t names_mark; //  names stack size when the object opened
    size_t keys_mark;  //  keys buffer size when the object opened
} s_members_t;

static bool
s_same_key (const s_parser_t *self, size_t index, const uint8_t *bytes, size_t size, uint64_t hash)
{
    const s_key_t *key = &self->names [index];
    return key->hash == hash && key->size == size
        && (size == 0 || memcmp (self->keys.data + key->offset, bytes, size) == 0);
}

//  Adds the name just decoded into scratch; false if the object has it.
static bool
s_members_add (s_parser_t *self, s_members_t *members)
{
    const uint8_t *bytes = (const uint8_t *) self->scratch.data;
    size_t size = self->scratch.size;
    uint64_t hash = s_hash (bytes, size);
    if (2 * (members->used + 1) > members->alloc) {
        //  Grow and rehash what this object already holds.
        size_t alloc = members->alloc ? 2 * members->alloc : 16;
        size_t *slots = (size_t *) fed_calloc (alloc, sizeof (size_t));
        for (size_t i = members->names_mark; i < self->names_size; i++) {
            size_t at = (size_t) self->names [i].hash & (alloc - 1);
            while (slots [at])
                at = (at + 1) & (alloc - 1);
            slots [at] = i + 1;
        }
        free (members->slots);
        members->slots = slots;
        members->alloc = alloc;
    }
    size_t at = (size_t) hash & (members->alloc - 1);
    while (members->slots [at]) {
        if (s_same_key (self, members->slots [at] - 1, bytes, size, hash))
            return false;
        at = (at + 1) & (members->alloc - 1);
    }
    if (self->names_size == self->names_alloc) {
        self->names_alloc = self->names_alloc ? 2 * self->names_alloc : 16;
        self->names = (s_key_t *) fed_realloc (self->names, self->names_alloc * sizeof (s_key_t));
    }
    self->names [self->names_size] = (s_key_t){self->keys.size, size, hash};
    members->slots [at] = ++self->names_size;
    members->used++;
    if (size)
        s_buf_put (&self->keys, bytes, size);
    return true;
}

static int
s_object_members (s_parser_t *self, uint32_t depth, s_members_t *members, uint32_t *count)
{
    s_skip_space (self);
    if (s_next_is (self, '}')) {
        self->pos++;
        return 0;
    }
    while (true) {
        s_skip_space (self);
        if (!s_next_is (self, '"'))
            return s_expected (self, "'\"' to start a member name");
        size_t key_pos = self->pos;
        if (s_count_object (self) || s_string (self))
            return FED_MALFORMED;
        if (self->emit) {
            msgpack_pack_str (&self->packer, self->scratch.size);
            if (self->scratch.size)
                msgpack_pack_str_body (&self->packer, self->scratch.data, self->scratch.size);
        } else if (!s_members_add (self, members))
            return s_fail (self, key_pos, "duplicate key \"%.*s\"",
                           self->scratch.size > 60 ? 60 : (int) self->scratch.size,
                           self->scratch.data);
        s_skip_space (self);
        if (!s_next_is (self, ':'))
            return s_expected (self, "':' after member name");
        self->pos++;
        if (s_value (self, depth))
            return FED_MALFORMED;
        (*count)++;
        s_skip_space (self);
        if (s_next_is (self, ',')) {
            self->pos++;
            continue;
        }
        if (s_next_is (self, '}')) {
            self->pos++;
            return 0;
        }
        return s_expected (self, "',' or '}' after object member");
    }
}

static int
s_object (s_parser_t *self, uint32_t depth)
{
    if (depth > self->limits->max_depth)
        return s_fail (self, self->pos, "nested deeper than %u", self->limits->max_depth);
    self->pos++;
    size_t slot = s_count_open (self);
    if (self->emit)
        msgpack_pack_map (&self->packer, self->counts [slot]);
    s_members_t members = {NULL, 0, 0, self->names_size, self->keys.size};
    uint32_t count = 0;
    int rc = s_object_members (self, depth, &members, &count);
    free (members.slots);
    self->names_size = members.names_mark;
    self->keys.size = members.keys_mark;
    if (rc == 0 && !self->emit)
        self->counts [slot] = count;
    return rc;
}

//  Parses one value; depth counts the containers open around it.
static int
s_value (s_parser_t *self, uint32_t depth)
{
    s_skip_space (self);
    if (self->pos >= self->size)
        return s_expected (self, "a JSON value");
    if (s_count_object (self))
        return FED_MALFORMED;
    uint8_t c = self->text [self->pos];
    char what [16];
    switch (c) {
        case '{': return s_object (self, depth + 1);
        case '[': return s_array (self, depth + 1);
        case 't': return s_literal (self, "true");
        case 'f': return s_literal (self, "false");
        case 'n': return s_literal (self, "null");
        case '"':
            if (s_string (self))
                return FED_MALFORMED;
            if (self->emit) {
                msgpack_pack_str (&self->packer, self->scratch.size);
                if (self->scratch.size)
                    msgpack_pack_str_body (&self->packer, self->scratch.data, self->scratch.size);
            }
            return 0;
        default:
            if (c == '-' || (c >= '0' && c <= '9'))
                return s_number (self);
            return s_fail (self, self->pos, "unexpected %s, expected a JSON value",
                           s_describe (self, what, sizeof what));
    }
}

//  One pass over the whole document.
static int
s_document (s_parser_t *self)
{
    self->pos = 0;
    if (s_value (self, 0))
        return FED_MALFORMED;
    s_skip_space (self);
    if (self->pos < self->size) {
        char what [16];
        return s_fail (self, self->pos, "unexpected %s after the JSON value",
                       s_describe (self, what, sizeof what));
    }
    return 0;
}

int
fed_json_to_msgpack (const char *text, size_t size, const fed_mp_limits_t *limits, uint8_t **out_p,
                     size_t *out_size_p, fed_err_t *err)
{
    assert (text || size == 0);
    assert (out_p && out_size_p);
    *out_p = NULL;
    *out_size_p = 0;
    s_parser_t self = {
        .text = (const uint8_t *) (text ? text : ""),
        .size = size,
        .limits = limits ? limits : &fed_mp_default_limits,
        .err = err,
    };
    int rc = s_document (&self);
    if (rc == 0) {
        self.emit = true;
        msgpack_sbuffer_init (&self.sbuf);
        msgpack_packer_init (&self.packer, &self.sbuf, s_sbuffer_write);
        rc = s_document (&self);
        assert (rc == 0 && self.counts_next == self.counts_size);
        *out_size_p = self.sbuf.size;
        *out_p = (uint8_t *) msgpack_sbuffer_release (&self.sbuf);
        msgpack_sbuffer_destroy (&self.sbuf);
    }
    free (self.counts);
    free (self.scratch.data);
    free (self.keys.data);
    free (self.names);
    return rc;
}

//  --------------------------------------------------------------------------
//  msgpack -> JSON

static void s_render (fed_mpr_t *reader, s_buf_t *out, bool pretty, int level);

//  Starts a new line indented to level (pretty output only).
static void
s_newline (s_buf_t *out, bool pretty, int level)
{
    if (!pretty)
        return;
    char *at = s_buf_reserve (out, 1 + 2 * (size_t) level);
    at [0] = '\n';
    memset (at + 1, ' ', 2 * (size_t) level);
    out->size += 1 + 2 * (size_t) level;
}

//  Writes bytes as a JSON string: quotes, escapes, \ufffd for bad UTF-8.
static void
s_render_string (s_buf_t *out, const uint8_t *bytes, size_t size)
{
    static const char digits [] = "0123456789abcdef";
    s_buf_putc (out, '"');
    size_t pos = 0;
    while (pos < size) {
        uint8_t c = bytes [pos];
        if (c == '"' || c == '\\') {
            s_buf_putc (out, '\\');
            s_buf_putc (out, (char) c);
            pos++;
        } else if (c < 0x20 || c == 0x7f) {
            char escape [6] = {'\\', 'u', '0', '0', digits [c >> 4], digits [c & 15]};
            s_buf_put (out, escape, sizeof escape);
            pos++;
        } else {
            size_t len = s_utf8_len (bytes + pos, size - pos);
            if (len == 0) {
                s_buf_puts (out, "\\ufffd");
                pos++;
            } else {
                s_buf_put (out, bytes + pos, len);
                pos += len;
            }
        }
    }
    s_buf_putc (out, '"');
}

static void
s_render_hex (s_buf_t *out, const uint8_t *bytes, size_t size)
{
    s_buf_putc (out, '"');
    fed_hex_encode (s_buf_reserve (out, 2 * size + 1), bytes, size);
    out->size += 2 * size;
    s_buf_putc (out, '"');
}

//  Writes a member name and its separator.
static void
s_render_name (s_buf_t *out, const char *name, bool pretty)
{
    s_render_string (out, (const uint8_t *) name, strlen (name));
    s_buf_puts (out, pretty ? ": " : ":");
}

//  Fewest significant digits that read back as the same value; the C
//  library formats with the locale's point, which becomes '.'.
static void
s_render_double (s_buf_t *out, double value, bool is_float32)
{
    if (!isfinite (value)) {
        s_buf_puts (out, "null");
        return;
    }
    char text [64];
    for (int digits = is_float32 ? 6 : 15; digits <= 17; digits++) {
        snprintf (text, sizeof text, "%.*g", digits, value);
        if (is_float32 ? strtof (text, NULL) == (float) value : strtod (text, NULL) == value)
            break;
    }
    const char *point = s_decimal_point ();
    char *at = strcmp (point, ".") ? strstr (text, point) : NULL;
    if (at) {
        size_t len = strlen (point);
        *at = '.';
        memmove (at + 1, at + len, strlen (at + len) + 1);
    }
    s_buf_puts (out, text);
    if (strspn (text, "-0123456789") == strlen (text))
        s_buf_puts (out, ".0"); //  keep it a float when read back
}

//  Renders an ext object; fed_mp_check has vouched for its lengths.
static void
s_render_ext (fed_mpr_t *reader, s_buf_t *out, bool pretty, int level)
{
    const uint8_t *at = reader->data + reader->pos;
    size_t header, size;
    if (at [0] >= 0xd4 && at [0] <= 0xd8) {
        header = 2;
        size = (size_t) 1 << (at [0] - 0xd4);
    } else if (at [0] == 0xc7) {
        header = 3;
        size = at [1];
    } else if (at [0] == 0xc8) {
        header = 4;
        size = (size_t) at [1] << 8 | at [2];
    } else {
        assert (at [0] == 0xc9);
        header = 6;
        size = (size_t) at [1] << 24 | (size_t) at [2] << 16 | (size_t) at [3] << 8 | at [4];
    }
    char type [8];
    snprintf (type, sizeof type, "%d", (int8_t) at [header - 1]);
    s_buf_putc (out, '{');
    s_newline (out, pretty, level + 1);
    s_render_name (out, "$ext", pretty);
    s_buf_puts (out, type);
    s_buf_putc (out, ',');
    s_newline (out, pretty, level + 1);
    s_render_name (out, "data", pretty);
    s_render_hex (out, at + header, size);
    s_newline (out, pretty, level);
    s_buf_putc (out, '}');
    reader->pos += header + size;
}

//  Renders a map key: strings as they are, anything else as its compact
//  JSON text inside a string.
static void
s_render_key (fed_mpr_t *reader, s_buf_t *out)
{
    const char *str;
    uint32_t len;
    if (fed_mpr_peek (reader) == FED_MP_STR && fed_mpr_str (reader, &str, &len) == 0) {
        s_render_string (out, (const uint8_t *) str, len);
        return;
    }
    s_buf_t text = {NULL, 0, 0};
    s_render (reader, &text, false, 0);
    s_render_string (out, (const uint8_t *) text.data, text.size);
    free (text.data);
}

//  Renders the next object, which fed_mp_check has vouched for, so reads
//  cannot fail; level is the indentation of the line it starts on.
static void
s_render (fed_mpr_t *reader, s_buf_t *out, bool pretty, int level)
{
    char text [32];
    uint64_t u;
    int64_t i;
    double d;
    bool flag;
    const uint8_t *bytes;
    uint32_t len, count;
    int rc = 0;
    switch (fed_mpr_peek (reader)) {
        case FED_MP_NIL:
            rc = fed_mpr_nil (reader);
            s_buf_puts (out, "null");
            break;
        case FED_MP_BOOL:
            rc = fed_mpr_bool (reader, &flag);
            s_buf_puts (out, flag ? "true" : "false");
            break;
        case FED_MP_UINT:
            rc = fed_mpr_uint (reader, &u);
            snprintf (text, sizeof text, "%" PRIu64, u);
            s_buf_puts (out, text);
            break;
        case FED_MP_INT:
            rc = fed_mpr_int (reader, &i);
            snprintf (text, sizeof text, "%" PRId64, i);
            s_buf_puts (out, text);
            break;
        case FED_MP_FLOAT: {
            bool is_float32 = reader->data [reader->pos] == 0xca;
            rc = fed_mpr_double (reader, &d);
            s_render_double (out, d, is_float32);
            break;
        }
        case FED_MP_STR:
            rc = fed_mpr_str (reader, (const char **) &bytes, &len);
            s_render_string (out, bytes, len);
            break;
        case FED_MP_BIN:
            rc = fed_mpr_bin (reader, &bytes, &len);
            s_buf_putc (out, '{');
            s_newline (out, pretty, level + 1);
            s_render_name (out, "$bin", pretty);
            s_render_hex (out, bytes, len);
            s_newline (out, pretty, level);
            s_buf_putc (out, '}');
            break;
        case FED_MP_EXT: s_render_ext (reader, out, pretty, level); break;
        case FED_MP_ARRAY:
            rc = fed_mpr_array (reader, &count);
            s_buf_putc (out, '[');
            for (uint32_t k = 0; k < count; k++) {
                if (k)
                    s_buf_putc (out, ',');
                s_newline (out, pretty, level + 1);
                s_render (reader, out, pretty, level + 1);
            }
            if (count)
                s_newline (out, pretty, level);
            s_buf_putc (out, ']');
            break;
        case FED_MP_MAP:
            rc = fed_mpr_map (reader, &count);
            s_buf_putc (out, '{');
            for (uint32_t k = 0; k < count; k++) {
                if (k)
                    s_buf_putc (out, ',');
                s_newline (out, pretty, level + 1);
                s_render_key (reader, out);
                s_buf_puts (out, pretty ? ": " : ":");
                s_render (reader, out, pretty, level + 1);
            }
            if (count)
                s_newline (out, pretty, level);
            s_buf_putc (out, '}');
            break;
        default: rc = FED_MALFORMED;
    }
    assert (rc == 0);
}

char *
fed_json_from_msgpack (const void *data, size_t size, bool pretty)
{
    if (!data || fed_mp_check (data, size, NULL, NULL, 0))
        return NULL;
    fed_mpr_t reader;
    fed_mpr_init (&reader, data, size);
    s_buf_t out = {NULL, 0, 0};
    s_render (&reader, &out, pretty, 0);
    assert (fed_mpr_done (&reader));
    s_buf_putc (&out, 0);
    return out.data;
}
