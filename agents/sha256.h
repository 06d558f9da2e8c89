/*  agents/sha256.h: SHA-256 with the CPU's SHA instructions when it has
    them.

    Every file a data agent writes is hashed as it is written (dataio.h),
    and libsodium's SHA-256 is portable C: about 200 MB/s, a fifth of the
    time data.clean takes on a large table. x86 CPUs with the SHA
    extensions (Intel since Goldmont/Ice Lake, AMD since Zen) hash several
    times faster. This module uses them when CPUID says they are there and
    libsodium's crypto_hash_sha256 otherwise; either way the digest is the
    same SHA-256 (FIPS 180-4), checked against libsodium in
    tests/unit/test_sha256.c.
*/
#ifndef FED_SHA256_H_INCLUDED
#define FED_SHA256_H_INCLUDED

#include <sodium.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

//  A hash in progress. Plain struct, no allocation.
typedef struct {
    bool native;                       //  the SHA instructions are used
    uint32_t state [8];                //  native: the chaining value
    uint8_t block [64];                //  native: bytes not yet compressed
    size_t used;                       //  how many
    uint64_t length;                   //  native: bytes hashed so far
    crypto_hash_sha256_state fallback; //  otherwise: libsodium's
} fed_sha256_t;

//  Starts a hash. Never fails.
void fed_sha256_init (fed_sha256_t *self);

//  Adds size bytes.
void fed_sha256_update (fed_sha256_t *self, const void *data, size_t size);

//  Writes the 32-byte digest. The state is spent.
void fed_sha256_final (fed_sha256_t *self, uint8_t *digest);

//  True if this CPU has the SHA instructions (what init uses).
bool fed_sha256_native (void);

#ifdef __cplusplus
}
#endif
#endif
