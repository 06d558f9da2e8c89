/*  tests/unit/testutil.h: helpers the unit test programs share: a text
    assertion that prints what it looked for, deterministic identities, and
    removing a test's temp dir. Header-only (static functions): each test
    program is one file plus this.
*/
#ifndef FED_TESTUTIL_H_INCLUDED
#define FED_TESTUTIL_H_INCLUDED

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "identity.h"

//  Fails, printing what was expected and what came back, unless text
//  contains needle.
#define assert_contains(text, needle)                                                              \
    do {                                                                                           \
        if (!strstr ((text), (needle))) {                                                          \
            print_error ("expected \"%s\" in: \"%s\"\n", (needle), (text));                        \
            fail ();                                                                               \
        }                                                                                          \
    } while (0)

//  An identity whose seed is 32 bytes of fill: the same keys every run.
//  Caller owns it.
static inline fed_identity_t *
fed_test_identity (uint8_t fill)
{
    uint8_t seed [32];
    memset (seed, fill, sizeof seed);
    return fed_identity_from_seed (seed);
}

static inline int
fed_test_remove_one (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void) st;
    (void) flag;
    (void) ftw;
    return remove (path);
}

//  Removes dir and everything under it. 0 or -1.
static inline int
fed_test_rmtree (const char *dir)
{
    return nftw (dir, fed_test_remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

//  Every key and value of a view scan, length-prefixed, for byte-for-byte
//  comparisons of views (fed_evlog_view_scan with fed_test_dump_one).
typedef struct {
    uint8_t *data; //  owned: free () it
    size_t size;
    size_t keys;
} fed_test_dump_t;

static inline int
fed_test_dump_one (void *arg, const uint8_t *key, size_t key_size, const uint8_t *value,
                   size_t value_size)
{
    fed_test_dump_t *dump = (fed_test_dump_t *) arg;
    dump->data = (uint8_t *) realloc (dump->data, dump->size + 16 + key_size + value_size);
    uint8_t *p = dump->data + dump->size;
    fed_put_be64 (p, key_size);
    memcpy (p + 8, key, key_size);
    fed_put_be64 (p + 8 + key_size, value_size);
    memcpy (p + 16 + key_size, value, value_size);
    dump->size += 16 + key_size + value_size;
    dump->keys++;
    return 0;
}

#endif
