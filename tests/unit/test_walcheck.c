/*  tests/unit/test_walcheck.c: the pre-open WAL scan tells a torn tail
    (tolerated) from corruption followed by intact records (refused), on
    WAL images built here in RocksDB's legacy record format.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "walcheck.h"

#define BLOCK 32768

typedef struct {
    uint8_t data [4 * BLOCK];
    size_t size;
    size_t starts [64]; //  offset of each record written
    size_t count;
} wal_t;

//  Writes one fragment of type with length bytes of fill at the end.
static void
s_fragment (wal_t *wal, uint8_t type, size_t length, uint8_t fill)
{
    uint8_t *p = wal->data + wal->size;
    p [4] = (uint8_t) length;
    p [5] = (uint8_t) (length >> 8);
    p [6] = type;
    memset (p + 7, fill, length);
    uint32_t crc = fed_crc32c (0, p + 6, 1 + length);
    uint32_t masked = ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
    p [0] = (uint8_t) masked;
    p [1] = (uint8_t) (masked >> 8);
    p [2] = (uint8_t) (masked >> 16);
    p [3] = (uint8_t) (masked >> 24);
    wal->size += 7 + length;
}

//  Appends one record as RocksDB's log writer does: a block trailer under 7
//  bytes is zero padding; a record that does not fit is split into FIRST,
//  MIDDLE… and LAST fragments.
static void
s_add (wal_t *wal, size_t length, uint8_t fill)
{
    bool begin = true;
    size_t left = length;
    do {
        size_t room = BLOCK - wal->size % BLOCK;
        if (room < 7) {
            memset (wal->data + wal->size, 0, room);
            wal->size += room;
            continue;
        }
        size_t part = left < room - 7 ? left : room - 7;
        bool end = part == left;
        uint8_t type = begin && end ? 1 : begin ? 2 : end ? 4 : 3;
        if (begin)
            wal->starts [wal->count++] = wal->size;
        s_fragment (wal, type, part, fill);
        left -= part;
        begin = false;
    } while (left > 0);
}

static void
s_build (wal_t *wal, size_t records, size_t length)
{
    memset (wal, 0, sizeof *wal);
    for (size_t i = 0; i < records; i++)
        s_add (wal, length, (uint8_t) (i + 1));
}

static void
test_crc32c_known_value (void **state)
{
    //  The standard check value of CRC-32C.
    assert_int_equal (fed_crc32c (0, (const uint8_t *) "123456789", 9), 0xe3069283u);
}

static void
test_intact_and_torn_tails (void **state)
{
    static wal_t wal;
    s_build (&wal, 20, 3000); //  crosses a block boundary, with padding
    assert_int_equal (fed_walcheck_buffer (wal.data, wal.size, NULL), 0);
    //  Cut anywhere in the last record: a torn tail.
    size_t last = wal.starts [wal.count - 1];
    for (size_t cut = last; cut < wal.size; cut += 211)
        assert_int_equal (fed_walcheck_buffer (wal.data, cut, NULL), 0);
    //  Zeroed preallocation after the last record.
    memset (wal.data + wal.size, 0, 4000);
    assert_int_equal (fed_walcheck_buffer (wal.data, wal.size + 4000, NULL), 0);
    //  A bad checksum in the last record: nothing intact follows.
    wal.data [wal.size - 1] ^= 1;
    assert_int_equal (fed_walcheck_buffer (wal.data, wal.size, NULL), 0);
}

static void
test_damage_followed_by_intact_records (void **state)
{
    static wal_t wal;
    size_t damage = 0;
    //  Length field of a record in the last, partial block, records after
    //  it in the same block: what RocksDB alone takes for a torn tail.
    s_build (&wal, 30, 1500);
    size_t victim = wal.starts [27];
    assert_true (victim / BLOCK == (wal.size - 1) / BLOCK);
    assert_int_equal (wal.data [victim + 6], 1); //  a FULL record
    wal.data [victim + 4] = 0xff;
    wal.data [victim + 5] = 0xff;
    assert_int_equal (fed_walcheck_buffer (wal.data, wal.size, &damage), -1);
    assert_int_equal (damage, victim);
    //  A flipped payload byte in an early block, intact blocks after it.
    s_build (&wal, 30, 1500);
    wal.data [wal.starts [3] + 100] ^= 0x40;
    assert_int_equal (fed_walcheck_buffer (wal.data, wal.size, &damage), -1);
    assert_int_equal (damage, wal.starts [3]);
    //  The same damage in the second-to-last record: one intact record after.
    s_build (&wal, 30, 1500);
    wal.data [wal.starts [28] + 9] ^= 0x01;
    assert_int_equal (fed_walcheck_buffer (wal.data, wal.size, &damage), -1);
    assert_int_equal (damage, wal.starts [28]);
}

//  A damaged type byte that reads as a recyclable type (5..8) in the middle
//  is damage like any other: only the first record can say the file is in
//  the recyclable format.
static void
test_recyclable_type_in_the_middle_is_damage (void **state)
{
    static wal_t wal;
    size_t damage = 0;
    for (uint8_t type = 5; type <= 8; type++) {
        s_build (&wal, 30, 1500);
        wal.data [wal.starts [12] + 6] = type;
        assert_int_equal (fed_walcheck_buffer (wal.data, wal.size, &damage), -1);
        assert_int_equal (damage, wal.starts [12]);
    }
}

//  A torn last record whose payload (client-chosen event bytes) carries a
//  forged record with a valid checksum is still a torn tail: the scan never
//  probes inside a payload.
static void
test_forged_record_inside_a_torn_payload (void **state)
{
    static wal_t wal;
    s_build (&wal, 5, 1000);
    size_t last = wal.starts [wal.count - 1];
    //  Forge a FULL record of 16 bytes inside the last record's payload.
    uint8_t *fake = wal.data + last + 7 + 100;
    fake [4] = 16;
    fake [5] = 0;
    fake [6] = 1;
    memset (fake + 7, 0x33, 16);
    uint32_t crc = fed_crc32c (0, fake + 6, 17);
    uint32_t masked = ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
    fake [0] = (uint8_t) masked;
    fake [1] = (uint8_t) (masked >> 8);
    fake [2] = (uint8_t) (masked >> 16);
    fake [3] = (uint8_t) (masked >> 24);
    //  The last record is torn just after the forgery.
    size_t cut = last + 7 + 100 + 7 + 16 + 10;
    assert_int_equal (fed_walcheck_buffer (wal.data, cut, NULL), 0);
}

static void
test_empty_and_tiny (void **state)
{
    const uint8_t tiny [5] = {1, 2, 3, 4, 5};
    assert_int_equal (fed_walcheck_buffer (tiny, 0, NULL), 0);
    assert_int_equal (fed_walcheck_buffer (tiny, sizeof tiny, NULL), 0);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_crc32c_known_value),
        cmocka_unit_test (test_intact_and_torn_tails),
        cmocka_unit_test (test_damage_followed_by_intact_records),
        cmocka_unit_test (test_recyclable_type_in_the_middle_is_damage),
        cmocka_unit_test (test_forged_record_inside_a_torn_payload),
        cmocka_unit_test (test_empty_and_tiny),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
