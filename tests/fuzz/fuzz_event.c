/*  tests/fuzz/fuzz_event.c: libFuzzer target for the event decoder.

    Every byte string is a possible event from the network or a damaged
    disk, so fed_event_decode must either refuse it (FED_MALFORMED with a
    reason and a message) or return an event whose accessors all point
    inside its own bytes and agree with them. A decoded event is also put
    through fed_event_verify, fed_event_dup and the owning decoder.

    The checks here are invariants of the decoder, so a violation aborts:
    that is what the fuzzer reports. Built by tests/fuzz/Makemodule.am as
    the libFuzzer binary (with --enable-fuzzing) and linked into fuzz_smoke.
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf (stderr, "fuzz_event: %s:%d: invariant failed: %s\n", __FILE__, __LINE__,      \
                     #cond);                                                                       \
            abort ();                                                                              \
        }                                                                                          \
    } while (0)

//  True if [p, p + n) lies inside the event's bytes.
static int
s_inside (const fed_event_t *event, const uint8_t *p, size_t n)
{
    const uint8_t *bytes = fed_event_bytes (event);
    return p >= bytes && n <= fed_event_size (event)
        && (size_t) (p - bytes) <= fed_event_size (event) - n;
}

static void
s_check_event (const fed_event_t *event, const uint8_t *data, size_t size)
{
    CHECK (fed_event_size (event) == size);
    CHECK (memcmp (fed_event_bytes (event), data, size) == 0);
    CHECK (s_inside (event, fed_event_origin (event), FED_KEY_BYTES));
    CHECK (s_inside (event, fed_event_prev (event), FED_ID_BYTES));
    CHECK (s_inside (event, fed_event_body (event), fed_event_body_size (event)));
    //  The signature is the last 64 bytes.
    CHECK (fed_event_sig (event) == fed_event_bytes (event) + size - FED_SIG_BYTES);
    CHECK (fed_event_seq (event) >= 1);
    const char *type = fed_event_type (event);
    size_t type_size = strlen (type);
    CHECK (type_size >= 1 && type_size <= FED_TYPE_MAX);
    CHECK (fed_event_type_valid (type, type_size));
    CHECK (fed_event_body_size (event) >= 1);
    CHECK ((fed_event_body (event) [0] & 0xf0) == 0x80 || fed_event_body (event) [0] == 0xde
           || fed_event_body (event) [0] == 0xdf);
    uint8_t id [FED_ID_BYTES];
    fed_event_hash (data, size, id);
    CHECK (memcmp (id, fed_event_id (event), FED_ID_BYTES) == 0);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    fed_event_t *event = NULL;
    fed_err_t err = {0};
    int rc = fed_event_decode (data, size, NULL, &event, &err);
    if (rc != 0) {
        CHECK (rc == FED_MALFORMED);
        CHECK (event == NULL);
        CHECK (err.code == FED_EVENT_MALFORMED || err.code == FED_EVENT_TOO_LARGE
               || err.code == FED_EVENT_BAD_VERSION);
        CHECK (err.text [0] != 0);
    } else {
        CHECK (event != NULL);
        s_check_event (event, data, size);
        bool verified = fed_event_verify (event);
        fed_event_t *copy = fed_event_dup (event);
        CHECK (copy && fed_event_size (copy) == size);
        CHECK (memcmp (fed_event_id (copy), fed_event_id (event), FED_ID_BYTES) == 0);
        CHECK (fed_event_verify (copy) == verified);
        fed_event_destroy (&copy);
        CHECK (copy == NULL);
        fed_event_destroy (&event);
        CHECK (event == NULL);
    }
    //  The owning decoder must agree and always consume its input.
    uint8_t *owned = malloc (size ? size : 1);
    CHECK (owned != NULL);
    if (size)
        memcpy (owned, data, size);
    fed_err_t owned_err = {0};
    int owned_rc = fed_event_decode_owned (&owned, size, NULL, &event, &owned_err);
    CHECK (owned == NULL);
    CHECK (owned_rc == rc);
    CHECK (rc != 0 || (event && memcmp (fed_event_bytes (event), data, size) == 0));
    CHECK (rc == 0 || owned_err.code == err.code);
    fed_event_destroy (&event);
    return 0;
}
