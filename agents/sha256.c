/*  agents/sha256.c: SHA-256 with the SHA instructions, or libsodium's
    (sha256.h).

    The native path is the usual SHA-NI arrangement: the state kept as the
    ABEF and CDGH halves sha256rnds2 works on, four rounds per step (two
    sha256rnds2 of two rounds each), the message schedule extended four
    words at a time with sha256msg1/sha256msg2. The functions that use the
    instructions are compiled for them with a target attribute, so the rest
    of the build needs no -msha; they run only after CPUID said yes.
*/
#include "sha256.h"

#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>
#include <immintrin.h>
#define HAVE_SHA_NI 1
#endif

#ifdef HAVE_SHA_NI

static const uint32_t s_k [64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

//  Compresses count 64-byte blocks into state.
__attribute__ ((target ("sha,sse4.1,ssse3"))) static void
s_blocks (uint32_t *state, const uint8_t *data, size_t count)
{
    const __m128i mask = _mm_set_epi64x (0x0c0d0e0f08090a0bull, 0x0405060700010203ull);
    __m128i tmp = _mm_loadu_si128 ((const __m128i *) &state [0]);
    __m128i state1 = _mm_loadu_si128 ((const __m128i *) &state [4]);
    tmp = _mm_shuffle_epi32 (tmp, 0xb1);               //  CDAB
    state1 = _mm_shuffle_epi32 (state1, 0x1b);         //  EFGH
    __m128i state0 = _mm_alignr_epi8 (tmp, state1, 8); //  ABEF
    state1 = _mm_blend_epi16 (state1, tmp, 0xf0);      //  CDGH
    while (count--) {
        __m128i abef = state0, cdgh = state1;
        __m128i w [4];
        for (int i = 0; i < 16; i++) {
            __m128i words;
            if (i < 4)
                words =
                    _mm_shuffle_epi8 (_mm_loadu_si128 ((const __m128i *) (data + 16 * i)), mask);
            else {
                //  w[t] = s1(w[t-2]) + w[t-7] + s0(w[t-15]) + w[t-16], four at a time
                __m128i w0 = w [i % 4], w1 = w [(i + 1) % 4], w2 = w [(i + 2) % 4],
                        w3 = w [(i + 3) % 4];
                words = _mm_add_epi32 (_mm_sha256msg1_epu32 (w0, w1), _mm_alignr_epi8 (w3, w2, 4));
                words = _mm_sha256msg2_epu32 (words, w3);
            }
            w [i % 4] = words;
            __m128i message =
                _mm_add_epi32 (words, _mm_loadu_si128 ((const __m128i *) &s_k [4 * i]));
            state1 = _mm_sha256rnds2_epu32 (state1, state0, message);
            message = _mm_shuffle_epi32 (message, 0x0e);
            state0 = _mm_sha256rnds2_epu32 (state0, state1, message);
        }
        state0 = _mm_add_epi32 (state0, abef);
        state1 = _mm_add_epi32 (state1, cdgh);
        data += 64;
    }
    tmp = _mm_shuffle_epi32 (state0, 0x1b);       //  FEBA
    state1 = _mm_shuffle_epi32 (state1, 0xb1);    //  DCHG
    state0 = _mm_blend_epi16 (tmp, state1, 0xf0); //  DCBA
    state1 = _mm_alignr_epi8 (state1, tmp, 8);    //  ABEF
    _mm_storeu_si128 ((__m128i *) &state [0], state0);
    _mm_storeu_si128 ((__m128i *) &state [4], state1);
}

bool
fed_sha256_native (void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid_count (7, 0, &a, &b, &c, &d) || !(b & (1u << 29)))
        return false; //  no SHA extensions
    if (!__get_cpuid (1, &a, &b, &c, &d))
        return false;
    return (c & (1u << 19)) && (c & (1u << 9)); //  SSE4.1 and SSSE3
}

#else

bool
fed_sha256_native (void)
{
    return false;
}

#endif

void
fed_sha256_init (fed_sha256_t *self)
{
    static const uint32_t h0 [8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                    0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    memset (self, 0, sizeof *self);
    self->native = fed_sha256_native ();
    if (self->native)
        memcpy (self->state, h0, sizeof h0);
    else
        crypto_hash_sha256_init (&self->fallback);
}

void
fed_sha256_update (fed_sha256_t *self, const void *data, size_t size)
{
#ifdef HAVE_SHA_NI
    if (self->native) {
        const uint8_t *p = (const uint8_t *) data;
        self->length += size;
        if (self->used) {
            size_t take = 64 - self->used < size ? 64 - self->used : size;
            memcpy (self->block + self->used, p, take);
            self->used += take;
            p += take;
            size -= take;
            if (self->used < 64)
                return;
            s_blocks (self->state, self->block, 1);
            self->used = 0;
        }
        if (size >= 64) {
            s_blocks (self->state, p, size / 64);
            p += size / 64 * 64;
            size %= 64;
        }
        if (size)
            memcpy (self->block, p, size);
        self->used = size;
        return;
    }
#endif
    crypto_hash_sha256_update (&self->fallback, (const unsigned char *) data, size);
}

void
fed_sha256_final (fed_sha256_t *self, uint8_t *digest)
{
#ifdef HAVE_SHA_NI
    if (self->native) {
        uint64_t bits = self->length * 8;
        uint8_t pad [72] = {0x80};
        size_t pad_len = (self->used < 56 ? 56 : 120) - self->used;
        for (int i = 0; i < 8; i++)
            pad [pad_len + (size_t) i] = (uint8_t) (bits >> (56 - 8 * i));
        uint64_t length = self->length;
        fed_sha256_update (self, pad, pad_len + 8);
        self->length = length;
        for (int i = 0; i < 8; i++) {
            digest [4 * i] = (uint8_t) (self->state [i] >> 24);
            digest [4 * i + 1] = (uint8_t) (self->state [i] >> 16);
            digest [4 * i + 2] = (uint8_t) (self->state [i] >> 8);
            digest [4 * i + 3] = (uint8_t) self->state [i];
        }
        return;
    }
#endif
    crypto_hash_sha256_final (&self->fallback, digest);
}
