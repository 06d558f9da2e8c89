/*  tests/unit/test_sha256.c: agents/sha256.h gives libsodium's SHA-256
    digest for every length around the block and padding edges, for data
    fed in pieces of every size, and for the FIPS 180-4 examples; on a CPU
    without the SHA instructions it is libsodium itself, so the test then
    checks the fallback.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sha256.h"

static void
s_expect (const uint8_t *data, size_t size, size_t piece)
{
    uint8_t want [32], got [32];
    crypto_hash_sha256 (want, data, size);
    fed_sha256_t sha;
    fed_sha256_init (&sha);
    for (size_t at = 0; at < size; at += piece)
        fed_sha256_update (&sha, data + at, size - at < piece ? size - at : piece);
    fed_sha256_final (&sha, got);
    if (memcmp (want, got, 32))
        fail_msg ("digest of %zu bytes in pieces of %zu differs from libsodium's", size, piece);
}

static void
test_against_libsodium (void **state)
{
    (void) state;
    assert_int_equal (sodium_init () >= 0, 1);
    printf ("SHA instructions: %s\n", fed_sha256_native () ? "yes" : "no (libsodium)");
    size_t max = 4096 + 200;
    uint8_t *data = (uint8_t *) malloc (max);
    for (size_t i = 0; i < max; i++)
        data [i] = (uint8_t) (i * 131 + (i >> 8));
    for (size_t size = 0; size <= 300; size++)
        s_expect (data, size, size ? size : 1);
    static const size_t pieces [] = {1, 3, 55, 56, 63, 64, 65, 127, 1000};
    for (size_t k = 0; k < sizeof pieces / sizeof pieces [0]; k++)
        s_expect (data, max, pieces [k]);
    free (data);
}

static void
test_fips_examples (void **state)
{
    (void) state;
    uint8_t digest [32];
    char hex [65];
    fed_sha256_t sha;
    fed_sha256_init (&sha);
    fed_sha256_update (&sha, "abc", 3);
    fed_sha256_final (&sha, digest);
    sodium_bin2hex (hex, sizeof hex, digest, 32);
    assert_string_equal (hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    fed_sha256_init (&sha);
    fed_sha256_update (&sha, two, strlen (two));
    fed_sha256_final (&sha, digest);
    sodium_bin2hex (hex, sizeof hex, digest, 32);
    assert_string_equal (hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_against_libsodium),
        cmocka_unit_test (test_fips_examples),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
